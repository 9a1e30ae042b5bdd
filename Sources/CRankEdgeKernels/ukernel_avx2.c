/*
 * x86-64 AVX2 + FMA3 micro-kernel: a 6 x 16 tile in 12 ymm accumulators, leaving 4 registers for
 * two B vectors and the A broadcast. Two FMA ports with 4-cycle latency need 8 independent chains;
 * 12 keeps both ports busy. Compiled for AVX2 through target attributes only, and called only after
 * re_cpu_supports(RE_ISA_AVX2) says the CPU and OS allow it.
 */
#include "kernels_internal.h"

#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>
#include "x86_transpose.h"

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

/* MAXPS / MINPS return their second operand when either is NaN: v goes second, so a NaN stays NaN
 * as in the reference (a ReLU that turned NaN into 0 would hide bad input). */
AVX2_INLINE __m256 avx2_activate(__m256 v, int act) {
    if (act == RE_ACT_RELU) return _mm256_max_ps(_mm256_setzero_ps(), v);
    if (act == RE_ACT_RELU6) return _mm256_min_ps(_mm256_set1_ps(6.0f), _mm256_max_ps(_mm256_setzero_ps(), v));
    return v;
}

/* Everything a row store needs that does not change from row to row. */
typedef struct {
    int full;  /* n == 16: plain loads and stores */
    size_t n;
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
    s.n = n;
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

/*
 * Stores the first `count` (1..7) floats of v. AVX2's masked store (vmaskmovps) is microcoded and
 * slow on AMD cores, and N-edge tiles are hot in thin GEMMs (N = 25 spends 9 of 25 columns there),
 * so partial rows are written with at most three plain stores instead.
 */
AVX2_INLINE void avx2_store_partial(float *dst, __m256 v, size_t count) {
    __m128 part = _mm256_castps256_ps128(v);
    if (count >= 4) {
        _mm_storeu_ps(dst, part);
        dst += 4;
        count -= 4;
        part = _mm256_extractf128_ps(v, 1);
    }
    if (count >= 2) {
        _mm_storel_pi((__m64 *)dst, part);
        dst += 2;
        count -= 2;
        part = _mm_movehl_ps(part, part);
    }
    if (count) _mm_store_ss(dst, part);
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
        /* Masked loads are cheap and never fault on the masked-off lanes. */
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
        if (s->n >= 8) {
            _mm256_storeu_ps(crow, lo);
            if (s->n > 8) avx2_store_partial(crow + 8, hi, s->n - 8);
        } else {
            avx2_store_partial(crow, lo, s->n);
        }
    }
}

/*
 * The tile computation for a compile-time row count M (1..6) and width V (1 or 2 vectors of 8
 * columns). Edge tiles would otherwise pay for the full 6 x 16:
 * - rows: convolution GEMMs have M = H·W, which is 1 or 4 more than a multiple of 6 for every
 *   square power-of-two feature map (49, 196, 784, 3136, 1024...), so short tiles are common;
 * - columns: thin GEMMs end in a narrow panel (N = 17, 33, 100, 309 leave 1, 1, 4, 5 columns), and
 *   one vector of 8 is enough for it.
 * Two FMA pipes with 4-cycle latency need 8 independent accumulator chains; tiles with fewer
 * (M·V < 8) split k into P interleaved phases with their own accumulators, added at the end.
 *
 * `packed`: A is a packed panel (row i of step p at a[p*6 + i]); otherwise rows at a + i*lda.
 */
/* Loops over rows, phases and unrolled steps must vanish, or the accumulators spill to memory. */
#define AVX2_UNROLL _Pragma("GCC unroll 8")
#define AVX2_PHASES(CHAINS) ((CHAINS) >= 8 ? 1 : ((CHAINS) >= 4 ? 2 : 4))

AVX2_INLINE void avx2_tile(const int M, const int V, const int packed, size_t kc, const float *a,
                           ptrdiff_t lda, const float *b, float *c, ptrdiff_t ldc, size_t n,
                           unsigned flags, const float *bias, const float *residual,
                           ptrdiff_t residual_ld) {
    const int P = AVX2_PHASES(M * V);
    __m256 acc[4][AVX2_MR][2];
    AVX2_UNROLL
    for (int q = 0; q < P; q++) {
        AVX2_UNROLL
        for (int i = 0; i < M; i++) {
            AVX2_UNROLL
            for (int v = 0; v < V; v++) acc[q][i][v] = _mm256_setzero_ps();
        }
    }
    const float *rows[AVX2_MR];
    /* The residual is read only at the store, 300+ FMA cycles later on thin K: fetch it now. */
    const float *residual_rows = (flags & RE_FLAG_EPILOGUE) ? residual : NULL;
    AVX2_UNROLL
    for (int i = 0; i < M; i++) {
        rows[i] = packed ? a + i : a + (ptrdiff_t)i * lda;
        _mm_prefetch((const char *)(c + (ptrdiff_t)i * ldc), _MM_HINT_T0);
        if (residual_rows) _mm_prefetch((const char *)(residual_rows + (ptrdiff_t)i * residual_ld), _MM_HINT_T0);
    }
    const ptrdiff_t a_step = packed ? AVX2_MR : 1;  /* A floats per k step */
    size_t p = 0;
    for (; p + 4 <= kc; p += 4) {  /* 4 steps: a multiple of every phase count */
        AVX2_UNROLL
        for (int u = 0; u < 4; u++) {
            const int q = u % P;
            __m256 bv[2];
            AVX2_UNROLL
            for (int v = 0; v < V; v++) bv[v] = _mm256_loadu_ps(b + u * AVX2_NR + 8 * v);
            AVX2_UNROLL
            for (int i = 0; i < M; i++) {
                const __m256 av = _mm256_broadcast_ss(rows[i] + u * a_step);
                AVX2_UNROLL
                for (int v = 0; v < V; v++) acc[q][i][v] = _mm256_fmadd_ps(av, bv[v], acc[q][i][v]);
            }
        }
        AVX2_UNROLL
        for (int i = 0; i < M; i++) rows[i] += 4 * a_step;
        b += 4 * AVX2_NR;
    }
    for (; p < kc; p++) {
        __m256 bv[2];
        AVX2_UNROLL
        for (int v = 0; v < V; v++) bv[v] = _mm256_loadu_ps(b + 8 * v);
        AVX2_UNROLL
        for (int i = 0; i < M; i++) {
            const __m256 av = _mm256_broadcast_ss(rows[i]);
            AVX2_UNROLL
            for (int v = 0; v < V; v++) acc[0][i][v] = _mm256_fmadd_ps(av, bv[v], acc[0][i][v]);
            rows[i] += a_step;
        }
        b += AVX2_NR;
    }
    AVX2_UNROLL
    for (int q = 1; q < P; q++) {
        AVX2_UNROLL
        for (int i = 0; i < M; i++) {
            AVX2_UNROLL
            for (int v = 0; v < V; v++) acc[0][i][v] = _mm256_add_ps(acc[0][i][v], acc[q][i][v]);
        }
    }
    const avx2_store_plan plan = avx2_plan(n, flags, bias, residual, residual_ld);
    AVX2_UNROLL
    for (int i = 0; i < M; i++) {
        avx2_store_row(&plan, c + (ptrdiff_t)i * ldc, (size_t)i, acc[0][i][0],
                       V == 2 ? acc[0][i][1] : _mm256_setzero_ps());
    }
}

/*
 * One packed-A and one row-A entry point per (rows, vectors) shape, with exactly the micro-kernel's
 * signature: the dispatchers below then compile to a jump that leaves the (partly stack-passed)
 * arguments in place, instead of re-pushing them for a second call.
 */
#define AVX2_DEFINE_TILES(M, V)                                                                       \
    AVX2_TARGET static void avx2_packed_##M##x##V(size_t kc, const float *a, const float *b, float *c, \
                                                  ptrdiff_t ldc, size_t m, size_t n, unsigned flags,   \
                                                  const float *bias, const float *residual,            \
                                                  ptrdiff_t residual_ld) {                             \
        (void)m;                                                                                      \
        avx2_tile(M, V, 1, kc, a, 0, b, c, ldc, n, flags, bias, residual, residual_ld);               \
    }                                                                                                 \
    AVX2_TARGET static void avx2_rowa_##M##x##V(size_t kc, const float *a, ptrdiff_t lda,             \
                                                const float *b, float *c, ptrdiff_t ldc, size_t m,     \
                                                size_t n, unsigned flags, const float *bias,           \
                                                const float *residual, ptrdiff_t residual_ld) {        \
        (void)m;                                                                                      \
        avx2_tile(M, V, 0, kc, a, lda, b, c, ldc, n, flags, bias, residual, residual_ld);             \
    }
AVX2_DEFINE_TILES(1, 1) AVX2_DEFINE_TILES(2, 1) AVX2_DEFINE_TILES(3, 1)
AVX2_DEFINE_TILES(4, 1) AVX2_DEFINE_TILES(5, 1) AVX2_DEFINE_TILES(6, 1)
AVX2_DEFINE_TILES(1, 2) AVX2_DEFINE_TILES(2, 2) AVX2_DEFINE_TILES(3, 2)
AVX2_DEFINE_TILES(4, 2) AVX2_DEFINE_TILES(5, 2) AVX2_DEFINE_TILES(6, 2)

/* Indexed by [vectors - 1][rows - 1]. */
static const re_ukernel_packed_fn avx2_packed_tiles[2][AVX2_MR] = {
    {avx2_packed_1x1, avx2_packed_2x1, avx2_packed_3x1, avx2_packed_4x1, avx2_packed_5x1, avx2_packed_6x1},
    {avx2_packed_1x2, avx2_packed_2x2, avx2_packed_3x2, avx2_packed_4x2, avx2_packed_5x2, avx2_packed_6x2},
};
static const re_ukernel_rowa_fn avx2_rowa_tiles[2][AVX2_MR] = {
    {avx2_rowa_1x1, avx2_rowa_2x1, avx2_rowa_3x1, avx2_rowa_4x1, avx2_rowa_5x1, avx2_rowa_6x1},
    {avx2_rowa_1x2, avx2_rowa_2x2, avx2_rowa_3x2, avx2_rowa_4x2, avx2_rowa_5x2, avx2_rowa_6x2},
};

static void avx2_ukernel_packed(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                size_t m, size_t n, unsigned flags, const float *bias,
                                const float *residual, ptrdiff_t residual_ld) {
    avx2_packed_tiles[n > 8][m - 1](kc, a, b, c, ldc, m, n, flags, bias, residual, residual_ld);
}

/* Only rows below m are read, so A needs no padding. */
static void avx2_ukernel_rowa(size_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                              ptrdiff_t ldc, size_t m, size_t n, unsigned flags, const float *bias,
                              const float *residual, ptrdiff_t residual_ld) {
    avx2_rowa_tiles[n > 8][m - 1](kc, a, lda, b, c, ldc, m, n, flags, bias, residual, residual_ld);
}

/*
 * Packing A is a 6-row transpose; done with scalar moves it costs as much as a sixth of the
 * multiply on thin GEMMs (N of a few panels reuses each A panel only a few times). Here eight
 * k-columns at a time: six row loads and an 8 x 8 in-register transpose (avx2_store_panel8).
 */
/*
 * Eight k-steps of a 6-row panel from six row vectors r[0..5]: transposed in registers (rows 6 and 7
 * zero), then eight overlapping stores of which each keeps its first six floats (the next store
 * overwrites the 2 extra; the last writes exactly 6).
 */
AVX2_INLINE void avx2_store_panel8(__m256 *r, float *dst) {
    r[6] = _mm256_setzero_ps();
    r[7] = _mm256_setzero_ps();
    re_transpose8x8(r);
    for (int q = 0; q < 7; q++) _mm256_storeu_ps(dst + q * AVX2_MR, r[q]);
    _mm_storeu_ps(dst + 7 * AVX2_MR, _mm256_castps256_ps128(r[7]));
    _mm_storel_pi((__m64 *)(dst + 7 * AVX2_MR + 4), _mm256_extractf128_ps(r[7], 1));
}

AVX2_TARGET
static void avx2_pack_a(size_t mc, size_t kc, const float *a, ptrdiff_t lda, float *dst) {
    size_t i0 = 0;
    for (; i0 + AVX2_MR <= mc; i0 += AVX2_MR) {
        const float *src = a + (ptrdiff_t)i0 * lda;
        size_t p = 0;
        for (; p + 8 <= kc; p += 8) {
            __m256 r[8];
            for (int i = 0; i < AVX2_MR; i++) r[i] = _mm256_loadu_ps(src + (ptrdiff_t)i * lda + (ptrdiff_t)p);
            avx2_store_panel8(r, dst);
            dst += 8 * AVX2_MR;
        }
        for (; p < kc; p++) {
            for (int i = 0; i < AVX2_MR; i++) dst[i] = src[(ptrdiff_t)i * lda + (ptrdiff_t)p];
            dst += AVX2_MR;
        }
    }
    if (i0 < mc) re_pack_a(AVX2_MR, mc - i0, kc, a + (ptrdiff_t)i0 * lda, lda, dst);
}

/* The same transpose from MR row pointers (an output pixel's input taps each); NULL rows are zeros. */
AVX2_TARGET
static void avx2_pack_rows(const float *const *rows, size_t count, float *dst) {
    size_t p = 0;
    for (; p + 8 <= count; p += 8) {
        __m256 r[8];
        for (int i = 0; i < AVX2_MR; i++) r[i] = rows[i] ? _mm256_loadu_ps(rows[i] + p) : _mm256_setzero_ps();
        avx2_store_panel8(r, dst);
        dst += 8 * AVX2_MR;
    }
    for (; p < count; p++) {
        for (int i = 0; i < AVX2_MR; i++) dst[i] = rows[i] ? rows[i][p] : 0.0f;
        dst += AVX2_MR;
    }
}

/*
 * Packing B is a copy of 16-float row segments. Each source row is read across a strip of four
 * panels at once (four 64-byte pieces of one row, rather than one piece from each of 256 rows
 * 4 KB or more apart), which halves the time on wide B; masked loads zero the last panel's padding.
 */
AVX2_TARGET
static void avx2_pack_b(size_t kc, size_t nc, const float *b, ptrdiff_t ldb, float *dst) {
    const size_t full_panels = nc / AVX2_NR;
    const size_t panel_floats = kc * AVX2_NR;
    for (size_t q0 = 0; q0 < full_panels; q0 += 4) {
        const size_t strip = full_panels - q0 < 4 ? full_panels - q0 : 4;
        for (size_t p = 0; p < kc; p++) {
            const float *row = b + (ptrdiff_t)p * ldb + q0 * AVX2_NR;
            float *out = dst + q0 * panel_floats + p * AVX2_NR;
            for (size_t q = 0; q < strip; q++) {
                _mm256_storeu_ps(out + q * panel_floats, _mm256_loadu_ps(row + q * AVX2_NR));
                _mm256_storeu_ps(out + q * panel_floats + 8, _mm256_loadu_ps(row + q * AVX2_NR + 8));
            }
        }
    }
    const size_t cols = nc - full_panels * AVX2_NR;
    if (cols > 0) {
        __m256i lo, hi;
        avx2_column_masks(cols, &lo, &hi);
        const float *src = b + full_panels * AVX2_NR;
        float *out = dst + full_panels * panel_floats;
        for (size_t p = 0; p < kc; p++) {
            const float *row = src + (ptrdiff_t)p * ldb;
            _mm256_storeu_ps(out, _mm256_maskload_ps(row, lo));
            _mm256_storeu_ps(out + 8, _mm256_maskload_ps(row + 8, hi));
            out += AVX2_NR;
        }
    }
}

const re_gemm_kernels re_kernels_avx2 = {
    .isa = RE_ISA_AVX2,
    .mr = AVX2_MR,
    .nr = AVX2_NR,
    .ukernel_packed = avx2_ukernel_packed,
    .ukernel_rowa = avx2_ukernel_rowa,
    .pack_a = avx2_pack_a,
    .pack_b = avx2_pack_b,
    .pack_rows = avx2_pack_rows,
};

#endif
