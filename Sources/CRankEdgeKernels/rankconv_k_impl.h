/*
 * The two passes of the separable rank-L kernel for one kernel size, included by
 * conv_kernels_impl.h once per size with:
 *   RE_KNAME   the name suffix (k3, k5, k7, kany)
 *   RE_UNROLL  a full-unroll pragma where K is a literal at the call site, else nothing
 * Not a public header.
 */
#define RE_KCAT2(a, b) a##_##b
#define RE_KCAT(a, b) RE_KCAT2(a, b)
#define RE_KFN(name) RE_FN(RE_KCAT(name, RE_KNAME))

/*
 * Layouts (ob = the unit's output channels, nvb = ob / 8 vectors): a T row is [l][vb][ox][8] and
 * the accumulators are [row][vb][ox][8], so neighbouring output columns are 32 bytes apart and
 * every access in the blocked loops is a base register plus a constant.
 */

/* Horizontal pass of one row, one rank term l, one vector vb of 8 output channels, K taps. */
RE_INLINE void RE_KFN(horizontal_row)(const float *xr, size_t sw, const float *bh, size_t rank, size_t sp,
                                     size_t l, size_t vb, float *trow, size_t nvb, size_t ow, const int K) {
    re_v8 b[16];
    RE_UNROLL for (int j = 0; j < K; j++) b[j] = RE_FN(load)(bh + ((size_t)j * rank + l) * sp + vb * 8);
    float *t = trow + (l * nvb + vb) * ow * 8;
    size_t ox = 0;
    if (sw == 1) {
        for (; ox + RE_RANK_NQ <= ow; ox += RE_RANK_NQ) {
            re_v8 acc[RE_RANK_NQ];
            RE_UNROLL for (int q = 0; q < RE_RANK_NQ; q++) acc[q] = RE_FN(splat)(0.0f);
            /* Input column ox + e feeds output q = e - j for every tap j: broadcast it once. */
            RE_UNROLL for (int e = 0; e < RE_RANK_NQ + K - 1; e++) {
                const re_v8 s = RE_FN(splat)(xr[ox + (size_t)e]);
                RE_UNROLL for (int j = 0; j < K; j++) {
                    const int q = e - j;
                    if (q >= 0 && q < RE_RANK_NQ) acc[q] += s * b[j];
                }
            }
            RE_UNROLL for (int q = 0; q < RE_RANK_NQ; q++) RE_FN(store)(t + (ox + (size_t)q) * 8, acc[q]);
        }
    }
    for (; ox < ow; ox++) {
        re_v8 acc = RE_FN(splat)(0.0f);
        RE_UNROLL for (int j = 0; j < K; j++) acc += RE_FN(splat)(xr[ox * sw + (size_t)j]) * b[j];
        RE_FN(store)(t + ox * 8, acc);
    }
}

/* Vertical pass of one output row for vector vb: rows[i] points at the T row for tap i. */
RE_INLINE void RE_KFN(vertical_row)(const float *const *rows, const float *av, size_t rank, size_t sp,
                                   size_t vb, float *acc, size_t nvb, size_t ow, const int K) {
    float *base = acc + vb * ow * 8;
    for (size_t l = 0; l < rank; l++) {
        re_v8 a[16];
        const float *tr[16];
        RE_UNROLL for (int i = 0; i < K; i++) {
            a[i] = RE_FN(load)(av + (l * (size_t)K + (size_t)i) * sp + vb * 8);
            tr[i] = rows[i] + (l * nvb + vb) * ow * 8;
        }
        size_t ox = 0;
        for (; ox + RE_RANK_NQ <= ow; ox += RE_RANK_NQ) {
            re_v8 sum[RE_RANK_NQ];
            RE_UNROLL for (int q = 0; q < RE_RANK_NQ; q++) sum[q] = RE_FN(load)(base + (ox + (size_t)q) * 8);
            RE_UNROLL for (int i = 0; i < K; i++) {
                RE_UNROLL for (int q = 0; q < RE_RANK_NQ; q++) sum[q] += a[i] * RE_FN(load)(tr[i] + (ox + (size_t)q) * 8);
            }
            RE_UNROLL for (int q = 0; q < RE_RANK_NQ; q++) RE_FN(store)(base + (ox + (size_t)q) * 8, sum[q]);
        }
        for (; ox < ow; ox++) {
            re_v8 sum = RE_FN(load)(base + ox * 8);
            RE_UNROLL for (int i = 0; i < K; i++) sum += a[i] * RE_FN(load)(tr[i] + ox * 8);
            RE_FN(store)(base + ox * 8, sum);
        }
    }
}

/* One input channel through both passes, for a kernel size K known at compile time when inlined. */
RE_INLINE void RE_KFN(rank_channel)(const re_rankconv_params *p, const float *xc, size_t wp, size_t rows_in,
                                   ptrdiff_t iy_first, size_t rows, const float *bh, const float *av, float *ring,
                                   float *acc, size_t ob, const int K) {
    const size_t ow = p->ow, rank = p->rank, sp = p->sp, sh = p->stride_h, sw = p->stride_w;
    const size_t nvb = ob / 8, row_floats = ow * rank * ob;
    for (size_t r = 0; r < rows_in; r++) {
        /* With a stride above k some input rows feed no output row. */
        if (sh > (size_t)K && r % sh >= (size_t)K) continue;
        float *slot = ring + (r % (size_t)K) * row_floats;
        const ptrdiff_t iy = iy_first + (ptrdiff_t)r;
        if (iy < 0 || iy >= (ptrdiff_t)p->h) {
            /* A padding row: its horizontal result is zero, no need to compute it. */
            memset(slot, 0, row_floats * sizeof(float));
        } else {
            for (size_t l = 0; l < rank; l++)
                for (size_t vb = 0; vb < nvb; vb++) RE_KFN(horizontal_row)(xc + r * wp, sw, bh, rank, sp, l, vb, slot, nvb, ow, K);
        }
        if (r + 1 < (size_t)K || (r + 1 - (size_t)K) % sh != 0) continue;
        const size_t t = (r + 1 - (size_t)K) / sh;
        if (t >= rows) continue;
        const float *taps[16];
        for (int i = 0; i < K; i++) taps[i] = ring + ((t * sh + (size_t)i) % (size_t)K) * row_floats;
        for (size_t vb = 0; vb < nvb; vb++) RE_KFN(vertical_row)(taps, av, rank, sp, vb, acc + t * ow * ob, nvb, ow, K);
    }
}

#undef RE_KFN
#undef RE_KCAT
#undef RE_KCAT2
