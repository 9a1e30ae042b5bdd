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

/* NB output columns from ox of the paired vertical pass below (NB a literal at every call). */
RE_INLINE void RE_KFN(vertical_pair_block)(const float *const *taps, const float *av, size_t terms, size_t sp,
                                          size_t vb, size_t lstride, float *b0, float *b1, size_t ox, const int NB,
                                          const int K) {
    re_v8 s0[RE_RANK_NP], s1[RE_RANK_NP];
    RE_UNROLL for (int q = 0; q < NB; q++) {
        s0[q] = RE_FN(load)(b0 + (ox + (size_t)q) * 8);
        s1[q] = RE_FN(load)(b1 + (ox + (size_t)q) * 8);
    }
    for (size_t l = 0; l < terms; l++) {
        const float *al = av + l * (size_t)K * sp + vb * 8;
        RE_UNROLL for (int i = 0; i <= K; i++) {
            const float *tr = taps[i] + l * lstride + ox * 8;
            const re_v8 a0 = i < K ? RE_FN(load)(al + (size_t)i * sp) : RE_FN(splat)(0.0f);
            const re_v8 a1 = i > 0 ? RE_FN(load)(al + (size_t)(i - 1) * sp) : RE_FN(splat)(0.0f);
            RE_UNROLL for (int q = 0; q < NB; q++) {
                const re_v8 t = RE_FN(load)(tr + (size_t)q * 8);
                if (i < K) s0[q] += a0 * t;
                if (i > 0) s1[q] += a1 * t;
            }
        }
    }
    RE_UNROLL for (int q = 0; q < NB; q++) {
        RE_FN(store)(b0 + (ox + (size_t)q) * 8, s0[q]);
        RE_FN(store)(b1 + (ox + (size_t)q) * 8, s1[q]);
    }
}

/* Vertical pass of output rows t and t + 1 (stride 1) for vector vb: taps[i], i = 0..K, is T row
 * t + i. Row t takes taps 0..K-1 and row t + 1 taps 1..K, so every T vector loaded feeds both
 * rows: K + 1 loads per 2K multiply-adds instead of one load per multiply-add, which is what
 * bounds the single-row pass. The terms (rank terms of one or more channels) are summed in
 * registers, so the accumulators are read and written once per pass. Columns go in blocks of 6,
 * the rest in blocks of 4, 2 and 1, so narrow images lose little to the remainder. */
RE_INLINE void RE_KFN(vertical_pair)(const float *const *taps, const float *av, size_t terms, size_t sp,
                                    size_t vb, float *acc0, float *acc1, size_t nvb, size_t ow, const int K) {
    const size_t lstride = nvb * ow * 8, off = vb * ow * 8;
    const float *tv[17];
    RE_UNROLL for (int i = 0; i <= K; i++) tv[i] = taps[i] + off;
    float *b0 = acc0 + off, *b1 = acc1 + off;
    size_t ox = 0;
    for (; ox + RE_RANK_NP <= ow; ox += RE_RANK_NP)
        RE_KFN(vertical_pair_block)(tv, av, terms, sp, vb, lstride, b0, b1, ox, RE_RANK_NP, K);
    if (ox + 4 <= ow) { RE_KFN(vertical_pair_block)(tv, av, terms, sp, vb, lstride, b0, b1, ox, 4, K); ox += 4; }
    if (ox + 2 <= ow) { RE_KFN(vertical_pair_block)(tv, av, terms, sp, vb, lstride, b0, b1, ox, 2, K); ox += 2; }
    if (ox < ow) RE_KFN(vertical_pair_block)(tv, av, terms, sp, vb, lstride, b0, b1, ox, 1, K);
}

/* G consecutive input channels through both passes, for a kernel size K known at compile time
 * when inlined. xc is the first channel's zero-padded plane from the tile's first input row. A
 * ring slot holds one input row's horizontal results for all G channels, [g][l][vb][ox][8], so
 * the vertical pass sees G·rank terms laid out like rank terms of one channel (the factors of
 * consecutive channels are consecutive too) and reads and writes the accumulators once per G
 * channels. With stride 1 the ring keeps K + 1 rows and output rows go through the vertical pass
 * in pairs (the last one alone when the tile has an odd count); other strides keep K rows and
 * take one output row at a time. */
RE_INLINE void RE_KFN(rank_channels)(const re_rankconv_params *p, const float *xc, size_t plane, size_t G,
                                    size_t wp, size_t rows_in, ptrdiff_t iy_first, size_t rows, const float *bh,
                                    const float *av, float *ring, float *acc, size_t ob, const int K) {
    const size_t ow = p->ow, rank = p->rank, sp = p->sp, sh = p->stride_h, sw = p->stride_w;
    const size_t nvb = ob / 8, channel_floats = ow * rank * ob, row_floats = G * channel_floats;
    const size_t slots = sh == 1 ? (size_t)K + 1 : (size_t)K, terms = G * rank;
    for (size_t r = 0; r < rows_in; r++) {
        /* With a stride above k some input rows feed no output row. */
        if (sh > (size_t)K && r % sh >= (size_t)K) continue;
        float *slot = ring + (r % slots) * row_floats;
        const ptrdiff_t iy = iy_first + (ptrdiff_t)r;
        if (iy < 0 || iy >= (ptrdiff_t)p->h) {
            /* A padding row: its horizontal result is zero, no need to compute it. */
            memset(slot, 0, row_floats * sizeof(float));
        } else {
            for (size_t g = 0; g < G; g++)
                for (size_t l = 0; l < rank; l++)
                    for (size_t vb = 0; vb < nvb; vb++)
                        RE_KFN(horizontal_row)(xc + g * plane + r * wp, sw, bh + g * (size_t)K * rank * sp, rank, sp, l, vb,
                                               slot + g * channel_floats, nvb, ow, K);
        }
        if (r + 1 < (size_t)K || (r + 1 - (size_t)K) % sh != 0) continue;
        const size_t t = (r + 1 - (size_t)K) / sh;
        if (t >= rows) continue;
        const float *taps[17];
        if (sh == 1 && t % 2 == 1) {
            for (int i = 0; i <= K; i++) taps[i] = ring + ((t - 1 + (size_t)i) % slots) * row_floats;
            for (size_t vb = 0; vb < nvb; vb++)
                RE_KFN(vertical_pair)(taps, av, terms, sp, vb, acc + (t - 1) * ow * ob, acc + t * ow * ob, nvb, ow, K);
        } else if (sh != 1 || t + 1 == rows) {
            for (int i = 0; i < K; i++) taps[i] = ring + ((t * sh + (size_t)i) % slots) * row_floats;
            for (size_t vb = 0; vb < nvb; vb++) RE_KFN(vertical_row)(taps, av, terms, sp, vb, acc + t * ow * ob, nvb, ow, K);
        }
    }
}

#undef RE_KFN
#undef RE_KCAT
#undef RE_KCAT2
