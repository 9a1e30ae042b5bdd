/*
 * x86-64 AVX-512 (F + VL) micro-kernel: a 12 x 16 tile, one zmm accumulator per row.
 *
 * NR stays 16, AVX2's width, on purpose:
 * - B panels are laid out exactly as for AVX2 (16-column panels, the same kc), so weights packed
 *   for one are the other's too, and thin GEMMs (low-rank factors with N = 17, 25, 40 ...) waste
 *   no more padding than they do today;
 * - one zmm per row leaves 32 - 12 = 20 registers free, and the A value of each FMA comes straight
 *   from memory as an embedded broadcast ({1to16}), so a k step is one B load and 12 FMAs.
 * Twelve independent chains cover two 512-bit FMA pipes of 4-cycle latency (8 needed); on cores
 * that split a zmm FMA into two 256-bit halves (AMD Zen 4) the peak equals AVX2's, and the gain
 * is fewer instructions per flop and cheap masked edges. Compiled through target attributes only,
 * and called only after re_cpu_supports(RE_ISA_AVX512) says the CPU and OS allow it.
 */
#include "kernels_internal.h"

#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>
#include "x86_transpose.h"

#define AVX512_MR 12
#define AVX512_NR 16
#define AVX512_TARGET __attribute__((target("avx512f,avx512vl,avx2,fma")))
#define AVX512_INLINE static inline __attribute__((always_inline, target("avx512f,avx512vl,avx2,fma")))

/* The first n (1...16) lanes. */
AVX512_INLINE __mmask16 avx512_columns(size_t n) { return (__mmask16)((1u << n) - 1u); }

/* VMAXPS / VMINPS return their second operand when either is NaN: v goes second, so a NaN stays
 * NaN as in the reference. */
AVX512_INLINE __m512 avx512_activate(__m512 v, int act) {
    if (act == RE_ACT_RELU) return _mm512_max_ps(_mm512_setzero_ps(), v);
    if (act == RE_ACT_RELU6) return _mm512_min_ps(_mm512_set1_ps(6.0f), _mm512_max_ps(_mm512_setzero_ps(), v));
    return v;
}

/*
 * The tile for a compile-time row count M (1..12). Tiles with fewer than 8 rows have fewer
 * accumulator chains than the FMA pipes need, so they split k into P interleaved phases with
 * their own accumulators, added at the end (as the AVX2 kernel does).
 * `packed`: A is a packed panel (row i of step p at a[p*12 + i]); otherwise rows at a + i*lda.
 */
#define AVX512_UNROLL _Pragma("GCC unroll 12")
#define AVX512_PHASES(CHAINS) ((CHAINS) >= 8 ? 1 : ((CHAINS) >= 4 ? 2 : 4))

AVX512_INLINE void avx512_tile(const int M, const int packed, size_t kc, const float *a, ptrdiff_t lda,
                               const float *b, float *c, ptrdiff_t ldc, size_t n, unsigned flags,
                               const float *bias, const float *residual, ptrdiff_t residual_ld) {
    const int P = AVX512_PHASES(M);
    __m512 acc[4][AVX512_MR];
    AVX512_UNROLL
    for (int q = 0; q < P; q++) {
        AVX512_UNROLL
        for (int i = 0; i < M; i++) acc[q][i] = _mm512_setzero_ps();
    }
    const float *rows[AVX512_MR];
    const float *residual_rows = (flags & RE_FLAG_EPILOGUE) ? residual : NULL;
    AVX512_UNROLL
    for (int i = 0; i < M; i++) {
        rows[i] = packed ? a + i : a + (ptrdiff_t)i * lda;
        _mm_prefetch((const char *)(c + (ptrdiff_t)i * ldc), _MM_HINT_T0);
        if (residual_rows) _mm_prefetch((const char *)(residual_rows + (ptrdiff_t)i * residual_ld), _MM_HINT_T0);
    }
    const ptrdiff_t a_step = packed ? AVX512_MR : 1;
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {
        AVX512_UNROLL
        for (int u = 0; u < 4; u++) {
            const int q = u % P;
            const __m512 bv = _mm512_loadu_ps(b + u * AVX512_NR);
            AVX512_UNROLL
            for (int i = 0; i < M; i++) acc[q][i] = _mm512_fmadd_ps(_mm512_set1_ps(rows[i][u * a_step]), bv, acc[q][i]);
        }
        AVX512_UNROLL
        for (int i = 0; i < M; i++) rows[i] += 4 * a_step;
        b += 4 * AVX512_NR;
    }
    for (; p < kc; p++) {
        const __m512 bv = _mm512_loadu_ps(b);
        AVX512_UNROLL
        for (int i = 0; i < M; i++) {
            acc[0][i] = _mm512_fmadd_ps(_mm512_set1_ps(rows[i][0]), bv, acc[0][i]);
            rows[i] += a_step;
        }
        b += AVX512_NR;
    }
    AVX512_UNROLL
    for (int q = 1; q < P; q++) {
        AVX512_UNROLL
        for (int i = 0; i < M; i++) acc[0][i] = _mm512_add_ps(acc[0][i], acc[q][i]);
    }

    /* The store: masked loads and stores never touch the lanes past n (and AVX-512's are fast). */
    const __mmask16 mask = avx512_columns(n);
    const int accumulate = (flags & RE_FLAG_ACCUMULATE) != 0;
    const int epilogue = (flags & RE_FLAG_EPILOGUE) != 0;
    const int act = RE_ACTIVATION_OF(flags);
    const __m512 bias_v = epilogue && bias ? _mm512_maskz_loadu_ps(mask, bias) : _mm512_setzero_ps();
    AVX512_UNROLL
    for (int i = 0; i < M; i++) {
        float *crow = c + (ptrdiff_t)i * ldc;
        __m512 v = acc[0][i];
        if (accumulate) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, crow));
        if (epilogue) {
            v = _mm512_add_ps(v, bias_v);
            if (residual_rows) v = _mm512_add_ps(v, _mm512_maskz_loadu_ps(mask, residual_rows + (ptrdiff_t)i * residual_ld));
            v = avx512_activate(v, act);
        }
        _mm512_mask_storeu_ps(crow, mask, v);
    }
}

/* One packed-A and one row-A entry point per row count, with exactly the micro-kernel's signature
 * (the dispatchers below then compile to a jump). */
#define AVX512_DEFINE_TILES(M)                                                                          \
    AVX512_TARGET static void avx512_packed_##M(size_t kc, const float *a, const float *b, float *c,     \
                                                ptrdiff_t ldc, size_t m, size_t n, unsigned flags,       \
                                                const float *bias, const float *residual,                \
                                                ptrdiff_t residual_ld) {                                 \
        (void)m;                                                                                        \
        avx512_tile(M, 1, kc, a, 0, b, c, ldc, n, flags, bias, residual, residual_ld);                  \
    }                                                                                                   \
    AVX512_TARGET static void avx512_rowa_##M(size_t kc, const float *a, ptrdiff_t lda, const float *b, \
                                              float *c, ptrdiff_t ldc, size_t m, size_t n,               \
                                              unsigned flags, const float *bias, const float *residual,  \
                                              ptrdiff_t residual_ld) {                                   \
        (void)m;                                                                                        \
        avx512_tile(M, 0, kc, a, lda, b, c, ldc, n, flags, bias, residual, residual_ld);                \
    }
AVX512_DEFINE_TILES(1) AVX512_DEFINE_TILES(2) AVX512_DEFINE_TILES(3) AVX512_DEFINE_TILES(4)
AVX512_DEFINE_TILES(5) AVX512_DEFINE_TILES(6) AVX512_DEFINE_TILES(7) AVX512_DEFINE_TILES(8)
AVX512_DEFINE_TILES(9) AVX512_DEFINE_TILES(10) AVX512_DEFINE_TILES(11) AVX512_DEFINE_TILES(12)

/* Indexed by rows - 1. */
static const re_ukernel_packed_fn avx512_packed_tiles[AVX512_MR] = {
    avx512_packed_1, avx512_packed_2, avx512_packed_3, avx512_packed_4, avx512_packed_5, avx512_packed_6,
    avx512_packed_7, avx512_packed_8, avx512_packed_9, avx512_packed_10, avx512_packed_11, avx512_packed_12,
};
static const re_ukernel_rowa_fn avx512_rowa_tiles[AVX512_MR] = {
    avx512_rowa_1, avx512_rowa_2, avx512_rowa_3, avx512_rowa_4, avx512_rowa_5, avx512_rowa_6,
    avx512_rowa_7, avx512_rowa_8, avx512_rowa_9, avx512_rowa_10, avx512_rowa_11, avx512_rowa_12,
};

static void avx512_ukernel_packed(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                  size_t m, size_t n, unsigned flags, const float *bias,
                                  const float *residual, ptrdiff_t residual_ld) {
    avx512_packed_tiles[m - 1](kc, a, b, c, ldc, m, n, flags, bias, residual, residual_ld);
}

/* Only rows below m are read, so A needs no padding. */
static void avx512_ukernel_rowa(size_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                                ptrdiff_t ldc, size_t m, size_t n, unsigned flags, const float *bias,
                                const float *residual, ptrdiff_t residual_ld) {
    avx512_rowa_tiles[m - 1](kc, a, lda, b, c, ldc, m, n, flags, bias, residual, residual_ld);
}

/*
 * Eight k-steps of a 12-row panel from twelve row vectors: rows 0-7 and rows 8-11 (plus four
 * zero rows) transposed in registers; step q is then 8 floats of the first and 4 of the second.
 */
AVX512_INLINE void avx512_store_panel8(__m256 *lo, __m256 *hi, float *dst) {
    hi[4] = hi[5] = hi[6] = hi[7] = _mm256_setzero_ps();
    re_transpose8x8(lo);
    re_transpose8x8(hi);
    for (int q = 0; q < 8; q++) {
        _mm256_storeu_ps(dst + q * AVX512_MR, lo[q]);
        _mm_storeu_ps(dst + q * AVX512_MR + 8, _mm256_castps256_ps128(hi[q]));
    }
}

AVX512_TARGET
static void avx512_pack_a(size_t mc, size_t kc, const float *a, ptrdiff_t lda, float *dst) {
    size_t i0 = 0;
    for (; i0 + AVX512_MR <= mc; i0 += AVX512_MR) {
        const float *src = a + (ptrdiff_t)i0 * lda;
        size_t p = 0;
        for (; p + 8 <= kc; p += 8) {
            __m256 lo[8], hi[8];
            for (int i = 0; i < 8; i++) lo[i] = _mm256_loadu_ps(src + (ptrdiff_t)i * lda + (ptrdiff_t)p);
            for (int i = 0; i < 4; i++) hi[i] = _mm256_loadu_ps(src + (ptrdiff_t)(8 + i) * lda + (ptrdiff_t)p);
            avx512_store_panel8(lo, hi, dst);
            dst += 8 * AVX512_MR;
        }
        for (; p < kc; p++) {
            for (int i = 0; i < AVX512_MR; i++) dst[i] = src[(ptrdiff_t)i * lda + (ptrdiff_t)p];
            dst += AVX512_MR;
        }
    }
    if (i0 < mc) re_pack_a(AVX512_MR, mc - i0, kc, a + (ptrdiff_t)i0 * lda, lda, dst);
}

/* The same transpose from MR row pointers (an output pixel's input taps each); NULL rows are zeros. */
AVX512_TARGET
static void avx512_pack_rows(const float *const *rows, size_t count, float *dst) {
    size_t p = 0;
    for (; p + 8 <= count; p += 8) {
        __m256 lo[8], hi[8];
        for (int i = 0; i < 8; i++) lo[i] = rows[i] ? _mm256_loadu_ps(rows[i] + p) : _mm256_setzero_ps();
        for (int i = 0; i < 4; i++) hi[i] = rows[8 + i] ? _mm256_loadu_ps(rows[8 + i] + p) : _mm256_setzero_ps();
        avx512_store_panel8(lo, hi, dst);
        dst += 8 * AVX512_MR;
    }
    for (; p < count; p++) {
        for (int i = 0; i < AVX512_MR; i++) dst[i] = rows[i] ? rows[i][p] : 0.0f;
        dst += AVX512_MR;
    }
}

/*
 * Packing B copies 16-float row segments, one zmm each, reading each source row across a strip of
 * four panels at once (as the AVX2 packer does); a masked load zeroes the last panel's padding.
 */
AVX512_TARGET
static void avx512_pack_b(size_t kc, size_t nc, const float *b, ptrdiff_t ldb, float *dst) {
    const size_t full_panels = nc / AVX512_NR;
    const size_t panel_floats = kc * AVX512_NR;
    for (size_t q0 = 0; q0 < full_panels; q0 += 4) {
        const size_t strip = full_panels - q0 < 4 ? full_panels - q0 : 4;
        for (size_t p = 0; p < kc; p++) {
            const float *row = b + (ptrdiff_t)p * ldb + q0 * AVX512_NR;
            float *out = dst + q0 * panel_floats + p * AVX512_NR;
            for (size_t q = 0; q < strip; q++) _mm512_storeu_ps(out + q * panel_floats, _mm512_loadu_ps(row + q * AVX512_NR));
        }
    }
    const size_t cols = nc - full_panels * AVX512_NR;
    if (cols > 0) {
        const __mmask16 mask = avx512_columns(cols);
        const float *src = b + full_panels * AVX512_NR;
        float *out = dst + full_panels * panel_floats;
        for (size_t p = 0; p < kc; p++) {
            _mm512_storeu_ps(out, _mm512_maskz_loadu_ps(mask, src + (ptrdiff_t)p * ldb));
            out += AVX512_NR;
        }
    }
}

const re_gemm_kernels re_kernels_avx512 = {
    .isa = RE_ISA_AVX512,
    .mr = AVX512_MR,
    .nr = AVX512_NR,
    .ukernel_packed = avx512_ukernel_packed,
    .ukernel_rowa = avx512_ukernel_rowa,
    .pack_a = avx512_pack_a,
    .pack_b = avx512_pack_b,
    .pack_rows = avx512_pack_rows,
};

#endif
