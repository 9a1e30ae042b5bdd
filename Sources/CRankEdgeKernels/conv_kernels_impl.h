/*
 * Bodies of the depthwise and separable rank-L kernels, written once with 8-wide vector
 * extensions and instantiated per ISA by conv_kernels.c, which defines before each inclusion:
 *   RE_SUFFIX  the name suffix (scalar, avx2, neon)
 *   RE_ATTR    the function attributes that pick the instruction set (target("avx2,fma") or none)
 * On AVX2 a vector is one ymm register; on NEON two q registers; the portable build lets the
 * compiler lower it to whatever the baseline has. Not a public header.
 */

#define RE_CAT2(a, b) a##_##b
#define RE_CAT(a, b) RE_CAT2(a, b)
#define RE_FN(name) RE_CAT(name, RE_SUFFIX)
#define RE_INLINE static inline __attribute__((always_inline)) RE_ATTR

RE_INLINE re_v8 RE_FN(load)(const float *p) { re_v8 v; memcpy(&v, p, sizeof v); return v; }
RE_INLINE void RE_FN(store)(float *p, re_v8 v) { memcpy(p, &v, sizeof v); }
RE_INLINE re_v8 RE_FN(splat)(float x) { re_v8 v = {x, x, x, x, x, x, x, x}; return v; }

RE_INLINE re_v8 RE_FN(activate)(re_v8 v, int act) {
    const re_v8 zero = {0};
    if (act == RE_ACT_RELU) return __builtin_elementwise_max(v, zero);
    if (act == RE_ACT_RELU6) return __builtin_elementwise_min(__builtin_elementwise_max(v, zero), RE_FN(splat)(6.0f));
    return v;
}

RE_INLINE float RE_FN(activate1)(float v, int act) {
    if (act == RE_ACT_RELU) return v > 0.0f ? v : 0.0f;
    if (act == RE_ACT_RELU6) { v = v > 0.0f ? v : 0.0f; return v < 6.0f ? v : 6.0f; }
    return v;
}

/* ---- Depthwise ---------------------------------------------------------------------------- */

/* NV vectors (8·NV channels from ch) of one output pixel over the valid taps. */
RE_INLINE void RE_FN(depthwise_block)(const re_depthwise_params *p, const float *x, const float *wt,
                                      float *out, const float *res, size_t ch, int NV,
                                      ptrdiff_t iy0, size_t ky0, size_t ky1, ptrdiff_t ix0, size_t kx0, size_t kx1) {
    re_v8 acc[4];
    for (int v = 0; v < NV; v++) acc[v] = p->bias ? RE_FN(load)(p->bias + ch + 8 * v) : RE_FN(splat)(0.0f);
    for (size_t ky = ky0; ky < ky1; ky++) {
        const ptrdiff_t iy = iy0 + (ptrdiff_t)(ky * p->dilation_h);
        for (size_t kx = kx0; kx < kx1; kx++) {
            const ptrdiff_t ix = ix0 + (ptrdiff_t)(kx * p->dilation_w);
            const float *src = x + ((size_t)iy * p->w + (size_t)ix) * p->c + ch;
            const float *wk = wt + (ky * p->kw + kx) * p->c + ch;
            for (int v = 0; v < NV; v++) acc[v] += RE_FN(load)(src + 8 * v) * RE_FN(load)(wk + 8 * v);
        }
    }
    for (int v = 0; v < NV; v++) {
        re_v8 r = acc[v];
        if (res) r += RE_FN(load)(res + ch + 8 * v);
        RE_FN(store)(out + ch + 8 * v, RE_FN(activate)(r, p->activation));
    }
}

/* The taps k with 0 <= base + k*step < size, as [first, last). */
RE_INLINE void RE_FN(valid_taps)(ptrdiff_t base, size_t step, size_t taps, size_t size, size_t *first, size_t *last) {
    size_t k0 = 0, k1 = taps;
    while (k0 < taps && base + (ptrdiff_t)(k0 * step) < 0) k0++;
    while (k1 > k0 && base + (ptrdiff_t)((k1 - 1) * step) >= (ptrdiff_t)size) k1--;
    *first = k0;
    *last = k1;
}

RE_ATTR static void RE_FN(depthwise_rows)(const re_depthwise_params *p, const float *x, float *y,
                                         const float *residual, size_t oy0, size_t oy1) {
    const size_t c = p->c;
    for (size_t oy = oy0; oy < oy1; oy++) {
        const ptrdiff_t iy0 = (ptrdiff_t)(oy * p->stride_h) - p->pad_top;
        size_t ky0, ky1;
        RE_FN(valid_taps)(iy0, p->dilation_h, p->kh, p->h, &ky0, &ky1);
        for (size_t ox = 0; ox < p->ow; ox++) {
            const ptrdiff_t ix0 = (ptrdiff_t)(ox * p->stride_w) - p->pad_left;
            size_t kx0, kx1;
            RE_FN(valid_taps)(ix0, p->dilation_w, p->kw, p->w, &kx0, &kx1);
            float *out = y + (oy * p->ow + ox) * c;
            const float *res = residual ? residual + (oy * p->ow + ox) * c : NULL;
            size_t ch = 0;
            for (; ch + 32 <= c; ch += 32) RE_FN(depthwise_block)(p, x, p->weights, out, res, ch, 4, iy0, ky0, ky1, ix0, kx0, kx1);
            for (; ch + 8 <= c; ch += 8) RE_FN(depthwise_block)(p, x, p->weights, out, res, ch, 1, iy0, ky0, ky1, ix0, kx0, kx1);
            for (; ch < c; ch++) {
                float acc = p->bias ? p->bias[ch] : 0.0f;
                for (size_t ky = ky0; ky < ky1; ky++) {
                    const size_t iy = (size_t)(iy0 + (ptrdiff_t)(ky * p->dilation_h));
                    for (size_t kx = kx0; kx < kx1; kx++) {
                        const size_t ix = (size_t)(ix0 + (ptrdiff_t)(kx * p->dilation_w));
                        acc += x[(iy * p->w + ix) * c + ch] * p->weights[(ky * p->kw + kx) * c + ch];
                    }
                }
                if (res) acc += res[ch];
                out[ch] = RE_FN(activate1)(acc, p->activation);
            }
        }
    }
}

/* ---- Separable rank-L ----------------------------------------------------------------------- */

/*
 * Horizontal pass, one input channel: T[r][ox][l][v] = sum_j xr[r][ox*sw + j] * b[j][l][v] for a
 * block of NQ output columns and NV vectors of output channels. b loads are shared by the NQ
 * columns; each x value is broadcast once per NV vectors.
 */
RE_INLINE void RE_FN(horizontal_block)(const float *xr, size_t sw, const float *bh, size_t rank, size_t sp,
                                       size_t k, float *t, size_t ob, size_t ox, size_t l, size_t v,
                                       int NQ, int NV) {
    re_v8 acc[4][2];
    for (int q = 0; q < NQ; q++) for (int n = 0; n < NV; n++) acc[q][n] = RE_FN(splat)(0.0f);
    for (size_t j = 0; j < k; j++) {
        re_v8 b[2];
        for (int n = 0; n < NV; n++) b[n] = RE_FN(load)(bh + (j * rank + l) * sp + v + 8 * n);
        for (int q = 0; q < NQ; q++) {
            const re_v8 s = RE_FN(splat)(xr[(ox + (size_t)q) * sw + j]);
            for (int n = 0; n < NV; n++) acc[q][n] += s * b[n];
        }
    }
    for (int q = 0; q < NQ; q++)
        for (int n = 0; n < NV; n++) RE_FN(store)(t + ((ox + (size_t)q) * rank + l) * ob + v + 8 * n, acc[q][n]);
}

/*
 * Vertical pass, one input channel: acc[t][ox][v] += sum_l sum_i a[l][i][v] * T[t*sh + i][ox][l][v]
 * for a block of NQ output columns and NV vectors of output channels.
 */
RE_INLINE void RE_FN(vertical_block)(const float *tt, size_t row_floats, size_t sh, const float *av, size_t rank,
                                     size_t sp, size_t k, float *acc, size_t ob, size_t t, size_t ow, size_t ox,
                                     size_t v, int NQ, int NV) {
    re_v8 sum[4][2];
    float *base = acc + (t * ow + ox) * ob + v;
    for (int q = 0; q < NQ; q++) for (int n = 0; n < NV; n++) sum[q][n] = RE_FN(load)(base + (size_t)q * ob + 8 * n);
    for (size_t l = 0; l < rank; l++) {
        for (size_t i = 0; i < k; i++) {
            re_v8 a[2];
            for (int n = 0; n < NV; n++) a[n] = RE_FN(load)(av + (l * k + i) * sp + v + 8 * n);
            const float *trow = tt + (t * sh + i) * row_floats + l * ob + v;
            for (int q = 0; q < NQ; q++)
                for (int n = 0; n < NV; n++) sum[q][n] += a[n] * RE_FN(load)(trow + (ox + (size_t)q) * rank * ob + 8 * n);
        }
    }
    for (int q = 0; q < NQ; q++) for (int n = 0; n < NV; n++) RE_FN(store)(base + (size_t)q * ob + 8 * n, sum[q][n]);
}

RE_ATTR static void RE_FN(rankconv_tile)(const re_rankconv_params *p, const float *x, float *y,
                                        const float *residual, size_t oy0, size_t oy1, size_t o0, size_t o1,
                                        float *scratch) {
    const size_t rows = oy1 - oy0, k = p->k, rank = p->rank, sp = p->sp, c = p->c, ow = p->ow;
    const size_t sh = p->stride_h, sw = p->stride_w, ob = o1 - o0;
    const size_t rows_in = (rows - 1) * sh + k, wp = (ow - 1) * sw + k;
    float *planar = scratch;
    float *tbuf = planar + re_round16(c * rows_in * wp);
    float *acc = tbuf + re_round16(rows_in * ow * rank * ob);
    const size_t row_floats = ow * rank * ob;

    /* The tile's input, zero-padded, one plane per channel: contiguous rows for the horizontal pass. */
    const ptrdiff_t iy_first = (ptrdiff_t)(oy0 * sh) - p->pad_top;
    for (size_t r = 0; r < rows_in; r++) {
        const ptrdiff_t iy = iy_first + (ptrdiff_t)r;
        for (size_t col = 0; col < wp; col++) {
            const ptrdiff_t ix = (ptrdiff_t)col - p->pad_left;
            float *dst = planar + r * wp + col;
            if (iy < 0 || iy >= (ptrdiff_t)p->h || ix < 0 || ix >= (ptrdiff_t)p->w) {
                for (size_t ch = 0; ch < c; ch++) dst[ch * rows_in * wp] = 0.0f;
            } else {
                const float *src = x + ((size_t)iy * p->w + (size_t)ix) * c;
                for (size_t ch = 0; ch < c; ch++) dst[ch * rows_in * wp] = src[ch];
            }
        }
    }
    memset(acc, 0, rows * ow * ob * sizeof(float));

    for (size_t ch = 0; ch < c; ch++) {
        const float *xc = planar + ch * rows_in * wp;
        const float *bh = p->bh + ch * k * rank * sp + o0;
        const float *av = p->av + ch * rank * k * sp + o0;
        for (size_t r = 0; r < rows_in; r++) {
            const float *xr = xc + r * wp;
            float *tr = tbuf + r * row_floats;
            size_t ox = 0;
            for (; ox + 4 <= ow; ox += 4) {
                for (size_t l = 0; l < rank; l++) {
                    size_t v = 0;
                    for (; v + 16 <= ob; v += 16) RE_FN(horizontal_block)(xr, sw, bh, rank, sp, k, tr, ob, ox, l, v, 4, 2);
                    if (v < ob) RE_FN(horizontal_block)(xr, sw, bh, rank, sp, k, tr, ob, ox, l, v, 4, 1);
                }
            }
            for (; ox < ow; ox++) {
                for (size_t l = 0; l < rank; l++) {
                    size_t v = 0;
                    for (; v + 16 <= ob; v += 16) RE_FN(horizontal_block)(xr, sw, bh, rank, sp, k, tr, ob, ox, l, v, 1, 2);
                    if (v < ob) RE_FN(horizontal_block)(xr, sw, bh, rank, sp, k, tr, ob, ox, l, v, 1, 1);
                }
            }
        }
        for (size_t t = 0; t < rows; t++) {
            size_t ox = 0;
            for (; ox + 4 <= ow; ox += 4) {
                size_t v = 0;
                for (; v + 16 <= ob; v += 16) RE_FN(vertical_block)(tbuf, row_floats, sh, av, rank, sp, k, acc, ob, t, ow, ox, v, 4, 2);
                if (v < ob) RE_FN(vertical_block)(tbuf, row_floats, sh, av, rank, sp, k, acc, ob, t, ow, ox, v, 4, 1);
            }
            for (; ox < ow; ox++) {
                size_t v = 0;
                for (; v + 16 <= ob; v += 16) RE_FN(vertical_block)(tbuf, row_floats, sh, av, rank, sp, k, acc, ob, t, ow, ox, v, 1, 2);
                if (v < ob) RE_FN(vertical_block)(tbuf, row_floats, sh, av, rank, sp, k, acc, ob, t, ow, ox, v, 1, 1);
            }
        }
    }

    const size_t o_end = o1 < p->s ? o1 : p->s;
    for (size_t t = 0; t < rows; t++) {
        for (size_t ox = 0; ox < ow; ox++) {
            const size_t pixel = (oy0 + t) * ow + ox;
            float *out = y + pixel * p->s;
            const float *res = residual ? residual + pixel * p->s : NULL;
            const float *a = acc + (t * ow + ox) * ob - o0;
            for (size_t o = o0; o < o_end; o++) {
                float v = a[o];
                if (p->bias) v += p->bias[o];
                if (res) v += res[o];
                out[o] = RE_FN(activate1)(v, p->activation);
            }
        }
    }
}

#undef RE_INLINE
#undef RE_FN
#undef RE_CAT
#undef RE_CAT2
