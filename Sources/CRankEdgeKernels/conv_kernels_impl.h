/*
 * Bodies of the depthwise and separable rank-L kernels, written once with 8-wide vector
 * extensions and instantiated per ISA by conv_kernels.c (through isa_instances.h), which defines before each inclusion:
 *   RE_SUFFIX  the name suffix (scalar, avx2, neon)
 *   RE_ATTR    the function attributes that pick the instruction set (target("avx2,fma") or none)
 * On AVX2 a vector is one ymm register; on NEON two q registers; the portable build lets the
 * compiler lower it to whatever the baseline has. Not a public header.
 */

#include "vec8_impl.h"

/* Comparisons select, not max/min (maxnum drops a NaN): lanes below 0 become 0, above 6 become 6,
 * and a NaN, which compares false either way, stays NaN as in the reference. */
RE_INLINE re_v8 RE_FN(activate)(re_v8 v, int act) {
    typedef __typeof__(v < v) mask;
    if (act != RE_ACT_RELU && act != RE_ACT_RELU6) return v;
    v = (re_v8)((mask)v & ~(v < 0.0f));
    if (act == RE_ACT_RELU6) {
        const mask high = v > 6.0f;
        v = (re_v8)(((mask)v & ~high) | ((mask)RE_FN(splat)(6.0f) & high));
    }
    return v;
}

RE_INLINE float RE_FN(activate1)(float v, int act) {
    if (act == RE_ACT_RELU) return v < 0.0f ? 0.0f : v;
    if (act == RE_ACT_RELU6) return v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
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

/* One output pixel over channels [ch0, c), with only the taps inside the image: the whole pixel for
 * the shapes depthwise_row does not take, the last c mod 8 channels for those it does. */
RE_INLINE void RE_FN(depthwise_pixel)(const re_depthwise_params *p, const float *x, float *out, const float *res,
                                      ptrdiff_t iy0, size_t ky0, size_t ky1, ptrdiff_t ix0, size_t ch0) {
    const size_t c = p->c;
    size_t kx0, kx1;
    RE_FN(valid_taps)(ix0, p->dilation_w, p->kw, p->w, &kx0, &kx1);
    size_t ch = ch0;
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

/*
 * PX output pixels of one row (stride SW, undilated, KW taps wide) over 8·NV channels from ch.
 * Column j of the run (0 <= j < SW·(PX-1) + KW), at image column ix0 + j, feeds pixel q through tap
 * kx = j - SW·q: each input vector is loaded once per tap row, against 1 + 1/PX loads per
 * multiply-add when every pixel loads its own taps, and the tap row's KW weight vectors stay in
 * registers. Columns outside [jlo, jhi) are padding: skipped. xrow points at the first valid tap
 * row, wt at that tap row's weights; taps_y tap rows are inside the image.
 */
RE_INLINE void RE_FN(depthwise_run)(const re_depthwise_params *p, const float *xrow, ptrdiff_t ix0, const float *wt, float *out,
                                    const float *res, size_t ch, int NV, int PX, int SW, int KW, size_t taps_y, ptrdiff_t jlo, ptrdiff_t jhi) {
    const size_t c = p->c, row = p->w * c;
    re_v8 acc[4][2];
    for (int v = 0; v < NV; v++) {
        const re_v8 b = p->bias ? RE_FN(load)(p->bias + ch + 8 * v) : RE_FN(splat)(0.0f);
        for (int q = 0; q < PX; q++) acc[q][v] = b;
    }
    for (size_t ky = 0; ky < taps_y; ky++) {
        const float *s = xrow + (size_t)(ix0 + jlo) * c + ky * row + ch;
        const float *wk = wt + ky * (size_t)KW * c + ch;
        re_v8 wv[7][2];
        _Pragma("clang loop unroll(full)")
        for (int kx = 0; kx < KW; kx++)
            for (int v = 0; v < NV; v++) wv[kx][v] = RE_FN(load)(wk + (size_t)kx * c + 8 * v);
        _Pragma("clang loop unroll(full)")
        for (int j = 0; j < SW * (PX - 1) + KW; j++) {
            if (j < jlo || j >= jhi) continue;
            for (int v = 0; v < NV; v++) {
                const re_v8 in = RE_FN(load)(s + (size_t)(j - jlo) * c + 8 * v);
                _Pragma("clang loop unroll(full)")
                for (int q = 0; q < PX; q++) {
                    const int kx = j - SW * q;
                    if (kx >= 0 && kx < KW) acc[q][v] += in * wv[kx][v];
                }
            }
        }
    }
    for (int q = 0; q < PX; q++)
        for (int v = 0; v < NV; v++) {
            re_v8 r = acc[q][v];
            if (res) r += RE_FN(load)(res + (size_t)q * c + ch + 8 * v);
            RE_FN(store)(out + (size_t)q * c + ch + 8 * v, RE_FN(activate)(r, p->activation));
        }
}

/* The runs of PX pixels over the channels in 16- and 8-channel blocks; the last c mod 8 channels go
 * through depthwise_pixel. */
RE_INLINE void RE_FN(depthwise_runs)(const re_depthwise_params *p, const float *x, const float *xrow, const float *wt, float *out,
                                     const float *res, int PX, int SW, int KW, size_t taps_y, ptrdiff_t jlo, ptrdiff_t jhi,
                                     ptrdiff_t iy0, size_t ky0, size_t ky1, ptrdiff_t ix0) {
    const size_t c = p->c;
    size_t ch = 0;
    /* 16 channels at a time while the run's accumulators and weights fit the 16 AVX2 registers
     * (measured: 5 taps at stride 2 spill and run at half speed); 8 otherwise. */
    for (; KW * SW <= 7 && ch + 16 <= c; ch += 16) RE_FN(depthwise_run)(p, xrow, ix0, wt, out, res, ch, 2, PX, SW, KW, taps_y, jlo, jhi);
    for (; ch + 8 <= c; ch += 8) RE_FN(depthwise_run)(p, xrow, ix0, wt, out, res, ch, 1, PX, SW, KW, taps_y, jlo, jhi);
    if (ch < c)
        for (int q = 0; q < PX; q++)
            RE_FN(depthwise_pixel)(p, x, out + (size_t)q * c, res ? res + (size_t)q * c : NULL, iy0, ky0, ky1, ix0 + SW * q, ch);
}

/*
 * The end of a row that is not a whole number of 4-pixel runs (7- and 14-pixel rows: the last stages
 * of mobile networks). With AVX2's 16 registers a 4-pixel run of 5 or 7 taps keeps some sums in
 * memory, so x86 runs the last 2 or 3 pixels as one shorter run (1.1-1.5x faster than pixel by pixel
 * on 7×7 and 14×14 maps, docs/BENCHMARKS.md session 22). NEON's 32 registers hold a 4-pixel run,
 * so AArch64 ends the row with one more 4-pixel run overlapping the one before, which adds no code
 * to a board's library (the shorter runs would add 40 KB).
 */
#if defined(__x86_64__) || defined(_M_X64)
#define RE_DEPTHWISE_SHORT_TAILS 1
#endif

/* One output row, four pixels at a time: runs whose columns are all inside the image take the
 * unguarded form (jlo, jhi constants), the border runs the guarded one. */
RE_INLINE void RE_FN(depthwise_row)(const re_depthwise_params *p, const float *x, float *yrow, const float *resrow,
                                    ptrdiff_t iy0, size_t ky0, size_t ky1, int SW, int KW) {
    const size_t c = p->c, taps_y = ky1 - ky0;
    const float *wt = p->weights + ky0 * (size_t)KW * c;
    const float *xrow = x + (size_t)(iy0 + (ptrdiff_t)ky0) * p->w * c;
    const ptrdiff_t w = (ptrdiff_t)p->w, span4 = SW * 3 + KW;
#ifdef RE_DEPTHWISE_SHORT_TAILS
    size_t ox = 0;
    for (; ox + 4 <= p->ow; ox += 4) {
#else
    /* A row that is not a whole number of runs ends with a run over its last four pixels, which
     * overlaps the run before: the pixels they share are written twice with the same value (a
     * pixel's sum takes the same taps in the same order in any run). Not when the residual is y
     * itself, whose shared pixels the first run has already replaced. */
    const size_t runs_end = p->ow >= 4 && resrow != yrow ? p->ow : p->ow / 4 * 4;
    size_t ox = 0;
    for (; ox < runs_end; ox += 4) {
        if (ox + 4 > p->ow) ox = p->ow - 4;
#endif
        const ptrdiff_t ix0 = (ptrdiff_t)(ox * (size_t)SW) - p->pad_left;
        float *out = yrow + ox * c;
        const float *res = resrow ? resrow + ox * c : NULL;
        const ptrdiff_t jlo = ix0 < 0 ? -ix0 : 0, jhi = w - ix0 < span4 ? w - ix0 : span4;
        if (jlo == 0 && jhi == span4)
            RE_FN(depthwise_runs)(p, x, xrow, wt, out, res, 4, SW, KW, taps_y, 0, span4, iy0, ky0, ky1, ix0);
        else
            RE_FN(depthwise_runs)(p, x, xrow, wt, out, res, 4, SW, KW, taps_y, jlo, jhi, iy0, ky0, ky1, ix0);
    }
#ifdef RE_DEPTHWISE_SHORT_TAILS
    if (p->ow - ox >= 2) {
        const ptrdiff_t ix0 = (ptrdiff_t)(ox * (size_t)SW) - p->pad_left;
        float *out = yrow + ox * c;
        const float *res = resrow ? resrow + ox * c : NULL;
        const int px = p->ow - ox == 3 ? 3 : 2;
        const ptrdiff_t span = SW * (px - 1) + KW, jlo = ix0 < 0 ? -ix0 : 0, jhi = w - ix0 < span ? w - ix0 : span;
        if (px == 3) RE_FN(depthwise_runs)(p, x, xrow, wt, out, res, 3, SW, KW, taps_y, jlo, jhi, iy0, ky0, ky1, ix0);
        else RE_FN(depthwise_runs)(p, x, xrow, wt, out, res, 2, SW, KW, taps_y, jlo, jhi, iy0, ky0, ky1, ix0);
        ox += (size_t)px;
    }
#endif
    /* What is left (one pixel, or a row under four): pixel by pixel, 32 channels per pass (four
     * independent sums, where a one-pixel run of 8 channels would wait on every multiply-add). */
    for (; ox < p->ow; ox++)
        RE_FN(depthwise_pixel)(p, x, yrow + ox * c, resrow ? resrow + ox * c : NULL, iy0, ky0, ky1,
                               (ptrdiff_t)(ox * (size_t)SW) - p->pad_left, 0);
}

RE_ATTR void RE_ENTRY(depthwise_rows)(const re_depthwise_params *p, const float *x, float *y,
                                         const float *residual, size_t oy0, size_t oy1) {
    const size_t c = p->c;
    /* The run form: undilated along x, stride 1 or 2, 3, 5 or 7 taps wide (the kernels of mobile
     * networks); every other shape one pixel at a time. */
#ifdef RE_PORTABLE_INSTANCE
    const int form = 0;   /* the fallback keeps the small per-pixel form (isa_instances.h) */
#else
    const int form = p->dilation_w != 1 || (p->stride_w != 1 && p->stride_w != 2) ? 0
                   : p->kw == 3 ? 3 : p->kw == 5 ? 5 : p->kw == 7 ? 7 : 0;
#endif
    for (size_t oy = oy0; oy < oy1; oy++) {
        const ptrdiff_t iy0 = (ptrdiff_t)(oy * p->stride_h) - p->pad_top;
        size_t ky0, ky1;
        RE_FN(valid_taps)(iy0, p->dilation_h, p->kh, p->h, &ky0, &ky1);
        float *yrow = y + oy * p->ow * c;
        const float *resrow = residual ? residual + oy * p->ow * c : NULL;
        if (form && p->dilation_h == 1 && ky1 > ky0) {
            const int sw2 = p->stride_w == 2;
            switch (form) {
            case 3: sw2 ? RE_FN(depthwise_row)(p, x, yrow, resrow, iy0, ky0, ky1, 2, 3) : RE_FN(depthwise_row)(p, x, yrow, resrow, iy0, ky0, ky1, 1, 3); break;
            case 5: sw2 ? RE_FN(depthwise_row)(p, x, yrow, resrow, iy0, ky0, ky1, 2, 5) : RE_FN(depthwise_row)(p, x, yrow, resrow, iy0, ky0, ky1, 1, 5); break;
            default: sw2 ? RE_FN(depthwise_row)(p, x, yrow, resrow, iy0, ky0, ky1, 2, 7) : RE_FN(depthwise_row)(p, x, yrow, resrow, iy0, ky0, ky1, 1, 7); break;
            }
            continue;
        }
        for (size_t ox = 0; ox < p->ow; ox++)
            RE_FN(depthwise_pixel)(p, x, yrow + ox * c, resrow ? resrow + ox * c : NULL, iy0, ky0, ky1,
                                   (ptrdiff_t)(ox * p->stride_w) - p->pad_left, 0);
    }
}

/* ---- Grouped ------------------------------------------------------------------------------- */

/* PX output pixels from ox0 of row oy, the NV vectors (8·NV outputs) from output o0 of group g. */
RE_INLINE void RE_FN(grouped_run)(const re_grouped_params *p, const float *x, float *yrow, const float *resrow,
                                  size_t oy, size_t ox0, size_t g, size_t o0, int PX, int NV) {
    const size_t c = p->c, cg = p->cg, sg = p->sg, s = p->s;
    re_v8 acc[8][2];
    for (int v = 0; v < NV; v++) {
        const re_v8 b = p->bias ? RE_FN(load)(p->bias + g * sg + o0 + 8 * v) : RE_FN(splat)(0.0f);
        for (int q = 0; q < PX; q++) acc[q][v] = b;
    }
    const ptrdiff_t iy0 = (ptrdiff_t)(oy * p->stride_h) - p->pad_top;
    /* One group, undilated, every tap column of the run inside the image: a tap row of a pixel is
     * kw·c consecutive floats, so it goes as one run of multiply-adds from one pointer (the stem
     * convs, with c = 3, would otherwise set up PX pointers per 3 inputs). */
    const ptrdiff_t first_ix = (ptrdiff_t)(ox0 * p->stride_w) - p->pad_left;
    const int flat = p->groups == 1 && p->dilation_w == 1 && first_ix >= 0
        && first_ix + (ptrdiff_t)((size_t)(PX - 1) * p->stride_w + p->kw) <= (ptrdiff_t)p->w;
    for (size_t ky = 0; ky < p->kh; ky++) {
        const ptrdiff_t iy = iy0 + (ptrdiff_t)(ky * p->dilation_h);
        if (iy < 0 || iy >= (ptrdiff_t)p->h) continue;
        const float *xrow = x + (size_t)iy * p->w * c + g * cg;
        if (flat) {
            const float *src = xrow + (size_t)first_ix * c;
            const size_t step = p->stride_w * c, depth = p->kw * c;
            const float *wk = p->weights + ky * depth * sg + o0;
            for (size_t i = 0; i < depth; i++) {
                re_v8 wv[2];
                for (int v = 0; v < NV; v++) wv[v] = RE_FN(load)(wk + i * sg + 8 * v);
                for (int q = 0; q < PX; q++) {
                    const re_v8 a = RE_FN(splat)(src[(size_t)q * step + i]);
                    for (int v = 0; v < NV; v++) acc[q][v] += a * wv[v];
                }
            }
            continue;
        }
        for (size_t kx = 0; kx < p->kw; kx++) {
            const float *src[8];
            for (int q = 0; q < PX; q++) {
                const ptrdiff_t ix = (ptrdiff_t)((ox0 + (size_t)q) * p->stride_w + kx * p->dilation_w) - p->pad_left;
                src[q] = ix >= 0 && ix < (ptrdiff_t)p->w ? xrow + (size_t)ix * c : re_grouped_zeros;
            }
            const float *wk = p->weights + ((g * p->kh + ky) * p->kw + kx) * cg * sg + o0;
            for (size_t i = 0; i < cg; i++) {
                re_v8 wv[2];
                for (int v = 0; v < NV; v++) wv[v] = RE_FN(load)(wk + i * sg + 8 * v);
                for (int q = 0; q < PX; q++) {
                    const re_v8 a = RE_FN(splat)(src[q][i]);
                    for (int v = 0; v < NV; v++) acc[q][v] += a * wv[v];
                }
            }
        }
    }
    for (int q = 0; q < PX; q++) {
        float *out = yrow + (ox0 + (size_t)q) * s + g * sg + o0;
        const float *res = resrow ? resrow + (ox0 + (size_t)q) * s + g * sg + o0 : NULL;
        for (int v = 0; v < NV; v++) {
            re_v8 r = acc[q][v];
            if (res) r += RE_FN(load)(res + 8 * v);
            RE_FN(store)(out + 8 * v, RE_FN(activate)(r, p->activation));
        }
    }
}

/* Output block o0 of one row, group by group (the block's weights stay in L1 along the row), PX
 * pixels at a time with PX·NV accumulators (12 of the 16 AVX2 registers for 16 outputs, 8 for 8),
 * then the last ow mod PX pixels as one shorter run: one pixel at a time would wait on each
 * multiply-add's latency (14-pixel rows lost a third of their speed that way). */
RE_INLINE void RE_FN(grouped_block_row)(const re_grouped_params *p, const float *x, float *yrow, const float *resrow, size_t oy,
                                        size_t o0, int PX, int NV) {
    for (size_t g = 0; g < p->groups; g++) {
        size_t ox = 0;
        for (; ox + (size_t)PX <= p->ow; ox += (size_t)PX) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, PX, NV);
        /* (PX is a literal here: the cases at or past it are never instantiated.) */
        const size_t rest = p->ow - ox;
        if (rest == 1) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, 1, NV);
        else if (rest == 2 && PX > 2) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, 2, NV);
        else if (rest == 3 && PX > 3) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, 3, NV);
        else if (rest == 4 && PX > 4) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, 4, NV);
        else if (rest == 5 && PX > 5) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, 5, NV);
        else if (rest == 6 && PX > 6) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, 6, NV);
        else if (rest == 7 && PX > 7) RE_FN(grouped_run)(p, x, yrow, resrow, oy, ox, g, o0, 7, NV);
    }
}

RE_ATTR void RE_ENTRY(grouped_rows)(const re_grouped_params *p, const float *x, float *y,
                                       const float *residual, size_t oy0, size_t oy1) {
    for (size_t oy = oy0; oy < oy1; oy++) {
        float *yrow = y + oy * p->ow * p->s;
        const float *resrow = residual ? residual + oy * p->ow * p->s : NULL;
        /* Each group's outputs in blocks of 16 (two vectors), the last 8 as one. */
        for (size_t o0 = 0; o0 < p->sg; o0 += 16) {
            const int wide = p->sg - o0 >= 16;
#ifdef RE_PORTABLE_INSTANCE
            /* The fallback: one pixel per run, a fraction of the code (isa_instances.h). */
            if (wide) RE_FN(grouped_block_row)(p, x, yrow, resrow, oy, o0, 1, 2);
            else RE_FN(grouped_block_row)(p, x, yrow, resrow, oy, o0, 1, 1);
#else
            if (wide) RE_FN(grouped_block_row)(p, x, yrow, resrow, oy, o0, 6, 2);
            else RE_FN(grouped_block_row)(p, x, yrow, resrow, oy, o0, 8, 1);
#endif
        }
    }
}

/* ---- Separable rank-L ----------------------------------------------------------------------- */

/*
 * Per input channel, each input row r of the tile goes through the horizontal pass into a ring of
 * the last rows (k, or k + 1 for stride 1),
 *     T[r][ox][l][v] = sum_j x[r][ox*sw + j] * b[j][l][v],
 * and as soon as the k rows an output row needs are in the ring, the vertical pass adds
 *     acc[oy][ox][v] += sum_l sum_i a[l][i][v] * T[oy*sh + i][ox][l][v].
 * The ring stays in L1, so both passes read their operands from L1 and no T row is computed
 * twice. The input comes as zero-padded planes (re_rankconv_planar), written once per image and
 * shared by every tile. Vectors run over 8 output channels (v); in the horizontal pass blocks of
 * 8 output columns share one load of the k factor vectors, which stay in registers.
 */

#define RE_RANK_NQ 8
/* Output columns per block of the paired vertical pass: two rows of accumulators, two factor
 * vectors and one T vector fill 15 of the 16 AVX2 registers. */
#define RE_RANK_NP 6

/* Register-blocked loops with trip counts fixed at compile time (K is a literal where the k3, k5,
 * k7 instances are called) unroll fully, which keeps the accumulator and factor arrays in registers
 * instead of on the stack; the kany instance serves every other size with plain loops. */
#define RE_UNROLL _Pragma("clang loop unroll(full)")
#define RE_KNAME k3
#include "rankconv_k_impl.h"
#undef RE_KNAME
#define RE_KNAME k5
#include "rankconv_k_impl.h"
#undef RE_KNAME
#define RE_KNAME k7
#include "rankconv_k_impl.h"
#undef RE_KNAME
#undef RE_UNROLL
#define RE_UNROLL
#define RE_KNAME kany
#include "rankconv_k_impl.h"
#undef RE_KNAME
#undef RE_UNROLL

RE_ATTR void RE_ENTRY(rankconv_tile)(const re_rankconv_params *p, const float *planar, float *y,
                                        const float *residual, size_t oy0, size_t oy1, size_t o0, size_t o1,
                                        size_t group, float *scratch) {
    const size_t rows = oy1 - oy0, k = p->k, rank = p->rank, sp = p->sp, c = p->c, ow = p->ow;
    const size_t sh = p->stride_h, ob = o1 - o0;
    const size_t rows_in = (rows - 1) * sh + k, wp = (ow - 1) * p->stride_w + k;
    const size_t plane = re_rankconv_plane_floats(p);
    float *ring = scratch;
    float *acc = ring + re_round16(re_rankconv_ring_rows(p) * group * ow * rank * ob);
    const ptrdiff_t iy_first = (ptrdiff_t)(oy0 * sh) - p->pad_top;
    memset(acc, 0, rows * ow * ob * sizeof(float));

    for (size_t ch = 0; ch < c; ch += group) {
        const size_t G = c - ch < group ? c - ch : group;
        const float *xc = planar + ch * plane + oy0 * sh * wp;
        const float *bh = p->bh + ch * k * rank * sp + o0;
        const float *av = p->av + ch * rank * k * sp + o0;
        switch (k) {
        case 3: RE_FN(rank_channels_k3)(p, xc, plane, G, wp, rows_in, iy_first, rows, bh, av, ring, acc, ob, 3); break;
        case 5: RE_FN(rank_channels_k5)(p, xc, plane, G, wp, rows_in, iy_first, rows, bh, av, ring, acc, ob, 5); break;
        case 7: RE_FN(rank_channels_k7)(p, xc, plane, G, wp, rows_in, iy_first, rows, bh, av, ring, acc, ob, 7); break;
        default: RE_FN(rank_channels_kany)(p, xc, plane, G, wp, rows_in, iy_first, rows, bh, av, ring, acc, ob, (int)k); break;
        }
    }

    /* Epilogue: bias, residual, activation, and the store of the real channels. Everything it
     * reads is hoisted out of p, since stores through y could otherwise alias it. */
    const size_t o_end = o1 < p->s ? o1 : p->s, s_out = p->s;
    const float *bias = p->bias;
    const int act = p->activation;
    for (size_t t = 0; t < rows; t++) {
        for (size_t ox = 0; ox < ow; ox++) {
            const size_t pixel = (oy0 + t) * ow + ox;
            float *out = y + pixel * s_out;
            const float *res = residual ? residual + pixel * s_out : NULL;
            /* Accumulators are [row][vb][ox][8]: vector vb of this pixel is at (vb·ow + ox)·8. */
            const float *a = acc + t * ow * ob + ox * 8;
            size_t o = o0;
            for (; o + 8 <= o_end; o += 8) {
                re_v8 v = RE_FN(load)(a + (o - o0) * ow);
                if (bias) v += RE_FN(load)(bias + o);
                if (res) v += RE_FN(load)(res + o);
                RE_FN(store)(out + o, RE_FN(activate)(v, act));
            }
            for (; o < o_end; o++) {
                const size_t i = o - o0;
                float v = a[(i / 8) * ow * 8 + i % 8];
                if (bias) v += bias[o];
                if (res) v += res[o];
                out[o] = RE_FN(activate1)(v, act);
            }
        }
    }
}

/* ---- Narrow direct conv ------------------------------------------------------------------- */

#define RE_NARROW_UNROLL _Pragma("clang loop unroll(full)")

/* NS output channels from s0 for NV·8 output pixels from ox of row oy (NS and NV literals at every
 * call): each accumulator is one channel over 8 pixels, so a tap costs NV input vector loads and NS
 * broadcasts for NS·NV multiply-adds. Broadcasts are what bound the one-vector form (one per
 * multiply-add); two vectors halve them, with at most 6 channels so 12 accumulators fit the
 * registers. Only the first `valid` pixels are stored (the row's last block). */
RE_INLINE void RE_FN(narrow_block)(const re_narrowconv_params *p, const float *planar, size_t hp, size_t wp,
                                   float *y, const float *residual, size_t s0, size_t oy, size_t ox, size_t valid,
                                   const int NS, const int NV, float *rowbuf, size_t ow8) {
    const size_t kh = p->kh, kw = p->kw, s = p->s;
    re_v8 acc[12];
    RE_NARROW_UNROLL for (int q = 0; q < NS * NV; q++) acc[q] = RE_FN(splat)(0.0f);
    for (size_t ch = 0; ch < p->c; ch++) {
        const float *xc = planar + (ch * hp + oy) * wp + ox;
        const float *wc = p->weights + ch * kh * kw * s + s0;
        for (size_t i = 0; i < kh; i++) {
            for (size_t j = 0; j < kw; j++) {
                re_v8 xv[2];
                RE_NARROW_UNROLL for (int v = 0; v < NV; v++) xv[v] = RE_FN(load)(xc + i * wp + j + (size_t)v * 8);
                const float *wt = wc + (i * kw + j) * s;
                RE_NARROW_UNROLL for (int q = 0; q < NS; q++) {
                    const re_v8 b = RE_FN(splat)(wt[q]);
                    RE_NARROW_UNROLL for (int v = 0; v < NV; v++) acc[v * NS + q] += b * xv[v];
                }
            }
        }
    }
    if (rowbuf) {
        /* A chain's core: channel-major into the row buffer, for the closing 1x1 to read. */
        RE_NARROW_UNROLL for (int v = 0; v < NV; v++) {
            RE_NARROW_UNROLL for (int q = 0; q < NS; q++) {
                re_v8 a = acc[v * NS + q];
                if (p->bias) a += RE_FN(splat)(p->bias[s0 + (size_t)q]);
                RE_FN(store)(rowbuf + (s0 + (size_t)q) * ow8 + ox + (size_t)v * 8, a);
            }
        }
        return;
    }
    /* The accumulators hold channels in lanes of pixels and the output is pixel-major: bias and
     * (without a residual) the activation go on whole vectors, then a scalar transpose through
     * t stores the valid pixels; at most 12 x 8 values a block do not pay for shuffles. */
    const int act = p->activation;
    float t[12 * 8];
    RE_NARROW_UNROLL for (int v = 0; v < NV; v++) {
        RE_NARROW_UNROLL for (int q = 0; q < NS; q++) {
            re_v8 a = acc[v * NS + q];
            if (p->bias) a += RE_FN(splat)(p->bias[s0 + (size_t)q]);
            if (!residual) a = RE_FN(activate)(a, act);
            RE_FN(store)(t + (v * NS + q) * 8, a);
        }
    }
    for (size_t e = 0; e < valid; e++) {
        const size_t pixel = oy * p->ow + ox + e;
        const float *te = t + (e / 8) * (size_t)NS * 8 + e % 8;
        float *out = y + pixel * s + s0;
        if (residual) {
            const float *res = residual + pixel * s + s0;
            RE_NARROW_UNROLL for (int q = 0; q < NS; q++) out[q] = RE_FN(activate1)(te[q * 8] + res[q], act);
        } else {
            RE_NARROW_UNROLL for (int q = 0; q < NS; q++) out[q] = te[q * 8];
        }
    }
}

/* Output channels go in blocks of up to 12 over one vector of pixels or, where two whole vectors
 * of the row remain, in balanced blocks of up to 6 over two (9 = 5 + 4, 19 = 5 + 5 + 5 + 4).
 * Output row oy, to y (NHWC) or, with rowbuf, to a channel-major row buffer [s][ow8]. */
RE_INLINE void RE_FN(narrowconv_row)(const re_narrowconv_params *p, const float *planar, float *y,
                                     const float *residual, size_t oy, float *rowbuf) {
    const size_t hp = p->oh + p->kh - 1, ow8 = (p->ow + 7) / 8 * 8, wp = ow8 + p->kw - 1;
    const size_t pairs = (p->s + 5) / 6, pair_block = (p->s + pairs - 1) / pairs;
    size_t ox = 0;
    for (; ox + 16 <= ow8; ox += 16) {
        const size_t valid = p->ow - ox < 16 ? p->ow - ox : 16;
        for (size_t s0 = 0; s0 < p->s; s0 += pair_block) {
            const size_t ns = p->s - s0 < pair_block ? p->s - s0 : pair_block;
            switch (ns) {
#define RE_NARROW_CASE(n) case n: RE_FN(narrow_block)(p, planar, hp, wp, y, residual, s0, oy, ox, valid, n, 2, rowbuf, ow8); break;
            RE_NARROW_CASE(1) RE_NARROW_CASE(2) RE_NARROW_CASE(3) RE_NARROW_CASE(4) RE_NARROW_CASE(5) RE_NARROW_CASE(6)
#undef RE_NARROW_CASE
            default: break;
            }
        }
    }
    for (; ox < p->ow; ox += 8) {
        const size_t valid = p->ow - ox < 8 ? p->ow - ox : 8;
        for (size_t s0 = 0; s0 < p->s; s0 += 12) {
            const size_t ns = p->s - s0 < 12 ? p->s - s0 : 12;
            switch (ns) {
#define RE_NARROW_CASE(n) case n: RE_FN(narrow_block)(p, planar, hp, wp, y, residual, s0, oy, ox, valid, n, 1, rowbuf, ow8); break;
            RE_NARROW_CASE(1) RE_NARROW_CASE(2) RE_NARROW_CASE(3) RE_NARROW_CASE(4) RE_NARROW_CASE(5) RE_NARROW_CASE(6)
            RE_NARROW_CASE(7) RE_NARROW_CASE(8) RE_NARROW_CASE(9) RE_NARROW_CASE(10) RE_NARROW_CASE(11) RE_NARROW_CASE(12)
#undef RE_NARROW_CASE
            default: break;
            }
        }
    }
}

RE_ATTR void RE_ENTRY(narrowconv_rows)(const re_narrowconv_params *p, const float *planar, float *y,
                                          const float *residual, size_t oy0, size_t oy1) {
    for (size_t oy = oy0; oy < oy1; oy++) RE_FN(narrowconv_row)(p, planar, y, residual, oy, NULL);
}

/* ---- Narrow Tucker chain ------------------------------------------------------------------ */

/* r[i][j] -> r[j][i] for an 8 x 8 block held as 8 vectors. */
RE_INLINE void RE_FN(transpose8)(re_v8 r[8]) {
    re_v8 t[8], u[8];
    for (int i = 0; i < 8; i += 2) {
        t[i] = __builtin_shufflevector(r[i], r[i + 1], 0, 8, 1, 9, 4, 12, 5, 13);
        t[i + 1] = __builtin_shufflevector(r[i], r[i + 1], 2, 10, 3, 11, 6, 14, 7, 15);
    }
    for (int i = 0; i < 8; i += 4) {
        u[i] = __builtin_shufflevector(t[i], t[i + 2], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 1] = __builtin_shufflevector(t[i], t[i + 2], 2, 3, 10, 11, 6, 7, 14, 15);
        u[i + 2] = __builtin_shufflevector(t[i + 1], t[i + 3], 0, 1, 8, 9, 4, 5, 12, 13);
        u[i + 3] = __builtin_shufflevector(t[i + 1], t[i + 3], 2, 3, 10, 11, 6, 7, 14, 15);
    }
    for (int i = 0; i < 4; i++) {
        r[i] = __builtin_shufflevector(u[i], u[i + 4], 0, 1, 2, 3, 8, 9, 10, 11);
        r[i + 4] = __builtin_shufflevector(u[i], u[i + 4], 4, 5, 6, 7, 12, 13, 14, 15);
    }
}

/* NQ (a literal) projected channels from r0 over 8 pixels: NQ independent accumulators, so the
 * multiply-adds over the input channels do not wait on each other. */
RE_INLINE void RE_FN(project_block)(const re_narrowchain_params *p, const re_v8 *xt, size_t cn, size_t c0, size_t r0,
                                    const int NQ, float *dst, size_t plane, size_t n) {
    re_v8 acc[8];
    RE_NARROW_UNROLL for (int q = 0; q < NQ; q++)
        acc[q] = RE_FN(splat)(c0 == 0 && p->in_bias ? p->in_bias[r0 + (size_t)q] : 0.0f);
    const float *w = p->in_weights + r0 * p->c + c0;
    for (size_t j = 0; j < cn; j++) {
        const re_v8 xv = xt[j];
        RE_NARROW_UNROLL for (int q = 0; q < NQ; q++) acc[q] += RE_FN(splat)(w[(size_t)q * p->c + j]) * xv;
    }
    RE_NARROW_UNROLL for (int q = 0; q < NQ; q++) {
        float *d = dst + (r0 + (size_t)q) * plane;
        if (c0 > 0) {
            /* A second block of 64 input channels adds to the first. */
            for (size_t e = 0; e < n; e++) d[e] += acc[q][e];
        } else if (n == 8) {
            RE_FN(store)(d, acc[q]);
        } else {
            for (size_t e = 0; e < n; e++) d[e] = acc[q][e];
        }
    }
}

/* The first 1x1 over plane rows [row0, row1): 8 input pixels at a time are turned into one vector
 * per input channel (8 x 8 transposes; a scalar gather for a channel tail or a short last block),
 * then every R1 output is a sum of broadcast weights times those vectors. */
RE_ATTR void RE_ENTRY(narrowchain_project)(const re_narrowchain_params *p, const float *x, float *planar,
                                              size_t row0, size_t row1) {
    const re_narrowconv_params *q = &p->core;
    const size_t hp = q->oh + q->kh - 1, wp = (q->ow + 7) / 8 * 8 + q->kw - 1, plane = hp * wp;
    const size_t c = p->c, r1 = q->c;
    /* Balanced blocks of at most 8 projected channels: 9 = 5 + 4, 19 = 7 + 6 + 6. */
    const size_t block = (r1 + (r1 + 7) / 8 - 1) / ((r1 + 7) / 8);
    const size_t col0 = (size_t)q->pad_left < wp ? (size_t)q->pad_left : wp;
    const size_t col1 = col0 + q->w < wp ? col0 + q->w : wp;
    re_v8 xt[64];
    for (size_t row = row0; row < row1; row++) {
        const ptrdiff_t iy = (ptrdiff_t)row - q->pad_top;
        if (iy < 0 || iy >= (ptrdiff_t)q->h) {
            for (size_t r = 0; r < r1; r++) memset(planar + r * plane + row * wp, 0, wp * sizeof(float));
            continue;
        }
        for (size_t r = 0; r < r1; r++) {
            float *dst = planar + r * plane + row * wp;
            for (size_t col = 0; col < col0; col++) dst[col] = 0.0f;
            for (size_t col = col1; col < wp; col++) dst[col] = 0.0f;
        }
        const float *src = x + (size_t)iy * q->w * c;
        for (size_t ix = 0; ix < col1 - col0; ix += 8) {
            const size_t n = col1 - col0 - ix < 8 ? col1 - col0 - ix : 8;
            const float *px = src + ix * c;
            for (size_t c0 = 0; c0 < c; c0 += 64) {
                const size_t cn = c - c0 < 64 ? c - c0 : 64;
                size_t g = 0;
                if (n == 8) {
                    for (; g + 8 <= cn; g += 8) {
                        re_v8 b[8];
                        for (int e = 0; e < 8; e++) b[e] = RE_FN(load)(px + (size_t)e * c + c0 + g);
                        RE_FN(transpose8)(b);
                        for (int j = 0; j < 8; j++) xt[g + (size_t)j] = b[j];
                    }
                }
                for (; g < cn; g++) {
                    re_v8 v = RE_FN(splat)(0.0f);
                    for (size_t e = 0; e < n; e++) v[e] = px[e * c + c0 + g];
                    xt[g] = v;
                }
                float *dst = planar + row * wp + col0 + ix;
                for (size_t r0 = 0; r0 < r1; r0 += block) {
                    const size_t nq = r1 - r0 < block ? r1 - r0 : block;
                    switch (nq) {
#define RE_PROJECT_CASE(NQ) case NQ: RE_FN(project_block)(p, xt, cn, c0, r0, NQ, dst, plane, n); break;
                    RE_PROJECT_CASE(1) RE_PROJECT_CASE(2) RE_PROJECT_CASE(3) RE_PROJECT_CASE(4)
                    RE_PROJECT_CASE(5) RE_PROJECT_CASE(6) RE_PROJECT_CASE(7) RE_PROJECT_CASE(8)
#undef RE_PROJECT_CASE
                    default: break;
                    }
                }
            }
        }
    }
}

/* The last 1x1 for NP (a literal, up to 6) pixels from p0 of the row buffer and 16 output channels
 * from s0: 2·NP accumulators, each core channel costing 2 weight-vector loads and NP broadcasts for
 * 2·NP multiply-adds (the GEMM micro-kernel's shape, reading the channel-major row buffer). */
RE_INLINE void RE_FN(chain_out_tile)(const re_narrowchain_params *p, const float *rowbuf, size_t ow8, size_t oy, size_t p0,
                                     size_t s0, const int NP, float *y, const float *residual) {
    const size_t r2 = p->core.s, s = p->s, s16 = (s + 15) / 16 * 16;
    re_v8 acc[6][2];
    const re_v8 b0 = p->out_bias ? RE_FN(load)(p->out_bias + s0) : RE_FN(splat)(0.0f);
    const re_v8 b1 = p->out_bias ? RE_FN(load)(p->out_bias + s0 + 8) : RE_FN(splat)(0.0f);
    RE_NARROW_UNROLL for (int i = 0; i < NP; i++) { acc[i][0] = b0; acc[i][1] = b1; }
    const float *w = p->out_weights + s0;
    const float *x = rowbuf + p0;
    for (size_t r = 0; r < r2; r++) {
        const re_v8 w0 = RE_FN(load)(w + r * s16), w1 = RE_FN(load)(w + r * s16 + 8);
        RE_NARROW_UNROLL for (int i = 0; i < NP; i++) {
            const re_v8 xv = RE_FN(splat)(x[r * ow8 + (size_t)i]);
            acc[i][0] += xv * w0;
            acc[i][1] += xv * w1;
        }
    }
    const size_t ns = s - s0 < 16 ? s - s0 : 16;
    RE_NARROW_UNROLL for (int i = 0; i < NP; i++) {
        const size_t pixel = oy * p->core.ow + p0 + (size_t)i;
        float *out = y + pixel * s + s0;
        const float *res = residual ? residual + pixel * s + s0 : NULL;
        if (ns == 16) {
            re_v8 v0 = acc[i][0], v1 = acc[i][1];
            if (res) { v0 += RE_FN(load)(res); v1 += RE_FN(load)(res + 8); }
            RE_FN(store)(out, RE_FN(activate)(v0, p->activation));
            RE_FN(store)(out + 8, RE_FN(activate)(v1, p->activation));
        } else {
            for (size_t j = 0; j < ns; j++) {
                const float v = (j < 8 ? acc[i][0][j] : acc[i][1][j - 8]) + (res ? res[j] : 0.0f);
                out[j] = RE_FN(activate1)(v, p->activation);
            }
        }
    }
}

/* Core output row by row into the row buffer, then the last 1x1 in tiles of 6 pixels x 16 channels,
 * with bias, residual and activation. */
RE_ATTR void RE_ENTRY(narrowchain_rows)(const re_narrowchain_params *p, const float *planar, float *y,
                                           const float *residual, size_t oy0, size_t oy1, float *rowbuf) {
    const re_narrowconv_params *q = &p->core;
    const size_t ow = q->ow, ow8 = (ow + 7) / 8 * 8, s = p->s;
    for (size_t oy = oy0; oy < oy1; oy++) {
        RE_FN(narrowconv_row)(q, planar, NULL, NULL, oy, rowbuf);
        for (size_t s0 = 0; s0 < s; s0 += 16) {
            size_t p0 = 0;
            for (; p0 + 6 <= ow; p0 += 6) RE_FN(chain_out_tile)(p, rowbuf, ow8, oy, p0, s0, 6, y, residual);
            switch (ow - p0) {
#define RE_OUT_CASE(n) case n: RE_FN(chain_out_tile)(p, rowbuf, ow8, oy, p0, s0, n, y, residual); break;
            RE_OUT_CASE(1) RE_OUT_CASE(2) RE_OUT_CASE(3) RE_OUT_CASE(4) RE_OUT_CASE(5)
#undef RE_OUT_CASE
            default: break;
            }
        }
    }
}

#undef RE_NARROW_UNROLL
#undef RE_INLINE
#undef RE_FN
#undef RE_CAT
#undef RE_CAT2
