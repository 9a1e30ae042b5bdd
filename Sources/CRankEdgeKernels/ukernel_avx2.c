/*
 * x86-64 AVX2 + FMA3 micro-kernel: a 6 x 16 tile in 12 ymm accumulators, leaving 4 registers for
 * two B vectors and the A broadcast. Two FMA ports with 4-cycle latency need 8 independent chains;
 * 12 keeps both ports busy. Compiled for AVX2 through target attributes only, and called only after
 * re_cpu_supports(RE_ISA_AVX2) says the CPU and OS allow it.
 */
#include "kernels_internal.h"

#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>

#define AVX2_MR 6
#define AVX2_NR 16
#define AVX2_TARGET __attribute__((target("avx2,fma")))
#define AVX2_INLINE static inline __attribute__((always_inline, target("avx2,fma")))

/* Lane masks for the first n columns of a 16-wide row (n in 1...16). */
AVX2_INLINE void avx2_column_masks(size_t n, __m256i *lo, __m256i *hi) {
    const __m256i lanes = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
    const __m256i count = _mm256_set1_epi32((int)n);
    *lo = _mm256_cmpgt_epi32(count, lanes);
    *hi = _mm256_cmpgt_epi32(count, _mm256_add_epi32(lanes, _mm256_set1_epi32(8)));
}

AVX2_INLINE __m256 avx2_activate(__m256 v, int act) {
    if (act == RE_ACT_RELU) return _mm256_max_ps(v, _mm256_setzero_ps());
    if (act == RE_ACT_RELU6) return _mm256_min_ps(_mm256_max_ps(v, _mm256_setzero_ps()), _mm256_set1_ps(6.0f));
    return v;
}

/* Everything a row store needs that does not change from row to row. */
typedef struct {
    int full;  /* n == 16: plain loads and stores */
    __m256i mask_lo, mask_hi;
    int accumulate, epilogue, act;
    __m256 bias_lo, bias_hi;
    const float *residual;
    ptrdiff_t residual_ld;
} avx2_store_plan;

AVX2_INLINE avx2_store_plan avx2_plan(size_t n, unsigned flags, const float *bias, const float *residual,
                                      ptrdiff_t residual_ld) {
    avx2_store_plan s;
    s.full = n == AVX2_NR;
    avx2_column_masks(n, &s.mask_lo, &s.mask_hi);
    s.accumulate = (flags & RE_FLAG_ACCUMULATE) != 0;
    s.epilogue = (flags & RE_FLAG_EPILOGUE) != 0;
    s.act = RE_ACTIVATION_OF(flags);
    s.bias_lo = _mm256_setzero_ps();
    s.bias_hi = _mm256_setzero_ps();
    if (s.epilogue && bias) {
        if (s.full) {
            s.bias_lo = _mm256_loadu_ps(bias);
            s.bias_hi = _mm256_loadu_ps(bias + 8);
        } else {
            s.bias_lo = _mm256_maskload_ps(bias, s.mask_lo);
            s.bias_hi = _mm256_maskload_ps(bias + 8, s.mask_hi);
        }
    }
    s.residual = s.epilogue ? residual : NULL;
    s.residual_ld = residual_ld;
    return s;
}

AVX2_INLINE void avx2_store_row(const avx2_store_plan *s, float *crow, size_t row, __m256 lo, __m256 hi) {
    const float *rrow = s->residual ? s->residual + (ptrdiff_t)row * s->residual_ld : NULL;
    if (s->full) {
        if (s->accumulate) {
            lo = _mm256_add_ps(lo, _mm256_loadu_ps(crow));
            hi = _mm256_add_ps(hi, _mm256_loadu_ps(crow + 8));
        }
        if (s->epilogue) {
            lo = _mm256_add_ps(lo, s->bias_lo);
            hi = _mm256_add_ps(hi, s->bias_hi);
            if (rrow) {
                lo = _mm256_add_ps(lo, _mm256_loadu_ps(rrow));
                hi = _mm256_add_ps(hi, _mm256_loadu_ps(rrow + 8));
            }
            lo = avx2_activate(lo, s->act);
            hi = avx2_activate(hi, s->act);
        }
        _mm256_storeu_ps(crow, lo);
        _mm256_storeu_ps(crow + 8, hi);
    } else {
        if (s->accumulate) {
            lo = _mm256_add_ps(lo, _mm256_maskload_ps(crow, s->mask_lo));
            hi = _mm256_add_ps(hi, _mm256_maskload_ps(crow + 8, s->mask_hi));
        }
        if (s->epilogue) {
            lo = _mm256_add_ps(lo, s->bias_lo);
            hi = _mm256_add_ps(hi, s->bias_hi);
            if (rrow) {
                lo = _mm256_add_ps(lo, _mm256_maskload_ps(rrow, s->mask_lo));
                hi = _mm256_add_ps(hi, _mm256_maskload_ps(rrow + 8, s->mask_hi));
            }
            lo = avx2_activate(lo, s->act);
            hi = avx2_activate(hi, s->act);
        }
        _mm256_maskstore_ps(crow, s->mask_lo, lo);
        _mm256_maskstore_ps(crow + 8, s->mask_hi, hi);
    }
}

/* One k step: two B vectors, six broadcasts of A (A_AT(i) is the address of row i's element). */
#define AVX2_K_STEP(BPTR, A_AT)                                                   \
    do {                                                                          \
        const __m256 b_lo = _mm256_loadu_ps(BPTR);                                \
        const __m256 b_hi = _mm256_loadu_ps((BPTR) + 8);                          \
        __m256 av;                                                                \
        av = _mm256_broadcast_ss(A_AT(0));                                        \
        c0l = _mm256_fmadd_ps(av, b_lo, c0l); c0h = _mm256_fmadd_ps(av, b_hi, c0h); \
        av = _mm256_broadcast_ss(A_AT(1));                                        \
        c1l = _mm256_fmadd_ps(av, b_lo, c1l); c1h = _mm256_fmadd_ps(av, b_hi, c1h); \
        av = _mm256_broadcast_ss(A_AT(2));                                        \
        c2l = _mm256_fmadd_ps(av, b_lo, c2l); c2h = _mm256_fmadd_ps(av, b_hi, c2h); \
        av = _mm256_broadcast_ss(A_AT(3));                                        \
        c3l = _mm256_fmadd_ps(av, b_lo, c3l); c3h = _mm256_fmadd_ps(av, b_hi, c3h); \
        av = _mm256_broadcast_ss(A_AT(4));                                        \
        c4l = _mm256_fmadd_ps(av, b_lo, c4l); c4h = _mm256_fmadd_ps(av, b_hi, c4h); \
        av = _mm256_broadcast_ss(A_AT(5));                                        \
        c5l = _mm256_fmadd_ps(av, b_lo, c5l); c5h = _mm256_fmadd_ps(av, b_hi, c5h); \
    } while (0)

#define AVX2_DECLARE_ACCUMULATORS                                                 \
    __m256 c0l = _mm256_setzero_ps(), c0h = _mm256_setzero_ps();                  \
    __m256 c1l = _mm256_setzero_ps(), c1h = _mm256_setzero_ps();                  \
    __m256 c2l = _mm256_setzero_ps(), c2h = _mm256_setzero_ps();                  \
    __m256 c3l = _mm256_setzero_ps(), c3h = _mm256_setzero_ps();                  \
    __m256 c4l = _mm256_setzero_ps(), c4h = _mm256_setzero_ps();                  \
    __m256 c5l = _mm256_setzero_ps(), c5h = _mm256_setzero_ps()

#define AVX2_STORE_TILE                                                           \
    do {                                                                          \
        const avx2_store_plan plan = avx2_plan(n, flags, bias, residual, residual_ld); \
        avx2_store_row(&plan, c, 0, c0l, c0h);                                    \
        if (m > 1) avx2_store_row(&plan, c + ldc, 1, c1l, c1h);                   \
        if (m > 2) avx2_store_row(&plan, c + 2 * ldc, 2, c2l, c2h);               \
        if (m > 3) avx2_store_row(&plan, c + 3 * ldc, 3, c3l, c3h);               \
        if (m > 4) avx2_store_row(&plan, c + 4 * ldc, 4, c4l, c4h);               \
        if (m > 5) avx2_store_row(&plan, c + 5 * ldc, 5, c5l, c5h);               \
    } while (0)

AVX2_TARGET
static void avx2_ukernel_packed(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                size_t m, size_t n, unsigned flags, const float *bias,
                                const float *residual, ptrdiff_t residual_ld) {
    AVX2_DECLARE_ACCUMULATORS;
    for (size_t i = 0; i < 6; i++) _mm_prefetch((const char *)(c + (ptrdiff_t)i * ldc), _MM_HINT_T0);
    size_t p = 0;
#define PACKED_A(i) (a + (i))
    for (; p + 4 <= kc; p += 4) {
        AVX2_K_STEP(b, PACKED_A);
        a += AVX2_MR; b += AVX2_NR;
        AVX2_K_STEP(b, PACKED_A);
        a += AVX2_MR; b += AVX2_NR;
        AVX2_K_STEP(b, PACKED_A);
        a += AVX2_MR; b += AVX2_NR;
        AVX2_K_STEP(b, PACKED_A);
        a += AVX2_MR; b += AVX2_NR;
    }
    for (; p < kc; p++) {
        AVX2_K_STEP(b, PACKED_A);
        a += AVX2_MR; b += AVX2_NR;
    }
#undef PACKED_A
    AVX2_STORE_TILE;
}

AVX2_TARGET
static void avx2_ukernel_rowa(size_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                              ptrdiff_t ldc, size_t m, size_t n, unsigned flags, const float *bias,
                              const float *residual, ptrdiff_t residual_ld) {
    AVX2_DECLARE_ACCUMULATORS;
    /* Rows past m re-read row 0, so A needs no padding; their results are never stored. */
    const float *r0 = a;
    const float *r1 = m > 1 ? a + lda : a;
    const float *r2 = m > 2 ? a + 2 * lda : a;
    const float *r3 = m > 3 ? a + 3 * lda : a;
    const float *r4 = m > 4 ? a + 4 * lda : a;
    const float *r5 = m > 5 ? a + 5 * lda : a;
#define ROW_A_0 (r0 + p)
#define ROW_A(i) ROW_A_##i
#define ROW_A_1 (r1 + p)
#define ROW_A_2 (r2 + p)
#define ROW_A_3 (r3 + p)
#define ROW_A_4 (r4 + p)
#define ROW_A_5 (r5 + p)
    size_t p = 0;
    for (; p < kc; p++) {
        AVX2_K_STEP(b, ROW_A);
        b += AVX2_NR;
    }
#undef ROW_A
    AVX2_STORE_TILE;
}

const re_gemm_kernels re_kernels_avx2 = {
    .isa = RE_ISA_AVX2,
    .mr = AVX2_MR,
    .nr = AVX2_NR,
    .ukernel_packed = avx2_ukernel_packed,
    .ukernel_rowa = avx2_ukernel_rowa,
};

#endif
