/*
 * ARM64 AdvSIMD micro-kernel: an 8 x 12 tile in 24 q-register accumulators (8 rows x 3 vectors of
 * 4 columns), leaving 8 of the 32 registers for the two A vectors and three B vectors. NEON is
 * baseline on AArch64, so this file needs no target attribute; it is empty on other architectures.
 */
#include "kernels_internal.h"

#if defined(__aarch64__)

#include <arm_neon.h>

#define NEON_MR 8
#define NEON_NR 12

static inline float32x4_t neon_activate(float32x4_t v, int act) {
    /* FMAX / FMIN return NaN when either operand is NaN, as the reference does. */
    if (act == RE_ACT_RELU) return vmaxq_f32(v, vdupq_n_f32(0.0f));
    if (act == RE_ACT_RELU6) return vminq_f32(vmaxq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(6.0f));
    return v;
}

/*
 * The tile computation for a compile-time row count M (1..8) and width V (1..3 vectors of 4
 * columns), so edge tiles pay only for what they compute: with NR = 12, thin GEMMs end in 4- or
 * 8-column panels (N = 16, 64, 128, 512...) and M = 49 or 196 ends in short row tiles. Tiles with
 * fewer than 8 accumulator chains (4-cycle FMA latency, two pipes) split k into P phases.
 * `packed`: A is a packed panel (row i of step p at a[p*8 + i]); otherwise rows at a + i*lda.
 */
#define NEON_UNROLL _Pragma("GCC unroll 8")
#define NEON_PHASES(CHAINS) ((CHAINS) >= 8 ? 1 : ((CHAINS) >= 4 ? 2 : 4))

/* Row I (a literal, so the lane is a constant) of one packed k step into phase Q. */
#define NEON_PACKED_ROW(I, AV)                                                                     \
    if (M > (I)) {                                                                                 \
        NEON_UNROLL                                                                                \
        for (int v = 0; v < V; v++) acc[q][I][v] = vfmaq_laneq_f32(acc[q][I][v], bv[v], AV, (I) & 3); \
    }

static inline __attribute__((always_inline)) void neon_tile(const int M, const int V, const int packed,
                                                            size_t kc, const float *a, ptrdiff_t lda,
                                                            const float *b, float *c, ptrdiff_t ldc,
                                                            size_t n, unsigned flags, const float *bias,
                                                            const float *residual, ptrdiff_t residual_ld) {
    const int P = NEON_PHASES(M * V);
    float32x4_t acc[4][NEON_MR][3];
    NEON_UNROLL
    for (int q = 0; q < P; q++) {
        NEON_UNROLL
        for (int i = 0; i < M; i++) {
            NEON_UNROLL
            for (int v = 0; v < V; v++) acc[q][i][v] = vdupq_n_f32(0.0f);
        }
    }
    const float *rows[NEON_MR];
    NEON_UNROLL
    for (int i = 0; i < M; i++) rows[i] = a + (ptrdiff_t)i * lda;
    /* One k step into phase Q (a constant once the loops below are unrolled). */
#define NEON_K_STEP(Q, STEP)                                                                        \
    do {                                                                                             \
        const int q = (Q);                                                                           \
        float32x4_t bv[3];                                                                           \
        NEON_UNROLL                                                                                  \
        for (int v = 0; v < V; v++) bv[v] = vld1q_f32(b + (STEP) * NEON_NR + 4 * v);                \
        if (packed) {                                                                                \
            const float32x4_t a_lo = vld1q_f32(a + (STEP) * NEON_MR);                                \
            const float32x4_t a_hi = M > 4 ? vld1q_f32(a + (STEP) * NEON_MR + 4) : a_lo;             \
            NEON_PACKED_ROW(0, a_lo) NEON_PACKED_ROW(1, a_lo) NEON_PACKED_ROW(2, a_lo)               \
            NEON_PACKED_ROW(3, a_lo) NEON_PACKED_ROW(4, a_hi) NEON_PACKED_ROW(5, a_hi)               \
            NEON_PACKED_ROW(6, a_hi) NEON_PACKED_ROW(7, a_hi)                                        \
        } else {                                                                                     \
            NEON_UNROLL                                                                              \
            for (int i = 0; i < M; i++) {                                                            \
                const float32x4_t av = vld1q_dup_f32(rows[i] + (STEP));                             \
                NEON_UNROLL                                                                          \
                for (int v = 0; v < V; v++) acc[q][i][v] = vfmaq_f32(acc[q][i][v], bv[v], av);     \
            }                                                                                        \
        }                                                                                            \
    } while (0)
    size_t p = 0;
    /* Four steps per iteration only when phases need them: with 24 accumulators live, unrolling
     * would make the compiler spill. */
    for (; P > 1 && p + 4 <= kc; p += 4) {  /* 4 steps: a multiple of every phase count */
        NEON_UNROLL
        for (int u = 0; u < 4; u++) NEON_K_STEP(u % P, u);
        if (packed) {
            a += 4 * NEON_MR;
        } else {
            NEON_UNROLL
            for (int i = 0; i < M; i++) rows[i] += 4;
        }
        b += 4 * NEON_NR;
    }
    for (; p < kc; p++) {
        NEON_K_STEP(0, 0);
        if (packed) {
            a += NEON_MR;
        } else {
            NEON_UNROLL
            for (int i = 0; i < M; i++) rows[i] += 1;
        }
        b += NEON_NR;
    }
#undef NEON_K_STEP
    NEON_UNROLL
    for (int q = 1; q < P; q++) {
        NEON_UNROLL
        for (int i = 0; i < M; i++) {
            NEON_UNROLL
            for (int v = 0; v < V; v++) acc[0][i][v] = vaddq_f32(acc[0][i][v], acc[q][i][v]);
        }
    }

    if (n == (size_t)(4 * V)) {
        /* Whole vectors: the epilogue runs on registers. */
        const int accumulate = (flags & RE_FLAG_ACCUMULATE) != 0;
        const int epilogue = (flags & RE_FLAG_EPILOGUE) != 0;
        const int act = RE_ACTIVATION_OF(flags);
        float32x4_t bias_v[3];
        NEON_UNROLL
        for (int v = 0; v < V; v++) bias_v[v] = epilogue && bias ? vld1q_f32(bias + 4 * v) : vdupq_n_f32(0.0f);
        NEON_UNROLL
        for (int i = 0; i < M; i++) {
            float *crow = c + (ptrdiff_t)i * ldc;
            NEON_UNROLL
            for (int v = 0; v < V; v++) {
                float32x4_t x = acc[0][i][v];
                if (accumulate) x = vaddq_f32(x, vld1q_f32(crow + 4 * v));
                if (epilogue) {
                    x = vaddq_f32(x, bias_v[v]);
                    if (residual) x = vaddq_f32(x, vld1q_f32(residual + (ptrdiff_t)i * residual_ld + 4 * v));
                    x = neon_activate(x, act);
                }
                vst1q_f32(crow + 4 * v, x);
            }
        }
        return;
    }
    /* A partial last vector: through a buffer and the scalar store, which writes exactly n columns. */
    float tile[NEON_MR * NEON_NR];
    NEON_UNROLL
    for (int i = 0; i < M; i++) {
        NEON_UNROLL
        for (int v = 0; v < V; v++) vst1q_f32(tile + i * NEON_NR + 4 * v, acc[0][i][v]);
    }
    re_store_tile_scalar(tile, NEON_NR, c, ldc, (size_t)M, n, flags, bias, residual, residual_ld);
}

/* Entry points with exactly the micro-kernel's signature, so the dispatchers are plain jumps. */
#define NEON_DEFINE_TILES(M, V)                                                                       \
    static void neon_packed_##M##x##V(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc, \
                                      size_t m, size_t n, unsigned flags, const float *bias,          \
                                      const float *residual, ptrdiff_t residual_ld) {                 \
        (void)m;                                                                                      \
        neon_tile(M, V, 1, kc, a, 0, b, c, ldc, n, flags, bias, residual, residual_ld);               \
    }                                                                                                 \
    static void neon_rowa_##M##x##V(size_t kc, const float *a, ptrdiff_t lda, const float *b, float *c, \
                                    ptrdiff_t ldc, size_t m, size_t n, unsigned flags, const float *bias, \
                                    const float *residual, ptrdiff_t residual_ld) {                   \
        (void)m;                                                                                      \
        neon_tile(M, V, 0, kc, a, lda, b, c, ldc, n, flags, bias, residual, residual_ld);             \
    }
#define NEON_DEFINE_ROWS(V)                                                                           \
    NEON_DEFINE_TILES(1, V) NEON_DEFINE_TILES(2, V) NEON_DEFINE_TILES(3, V) NEON_DEFINE_TILES(4, V)   \
    NEON_DEFINE_TILES(5, V) NEON_DEFINE_TILES(6, V) NEON_DEFINE_TILES(7, V) NEON_DEFINE_TILES(8, V)
NEON_DEFINE_ROWS(1)
NEON_DEFINE_ROWS(2)
NEON_DEFINE_ROWS(3)

#define NEON_ROW_TABLE(KIND, V)                                                                       \
    {neon_##KIND##_1x##V, neon_##KIND##_2x##V, neon_##KIND##_3x##V, neon_##KIND##_4x##V,              \
     neon_##KIND##_5x##V, neon_##KIND##_6x##V, neon_##KIND##_7x##V, neon_##KIND##_8x##V}
/* Indexed by [vectors - 1][rows - 1]. */
static const re_ukernel_packed_fn neon_packed_tiles[3][NEON_MR] = {
    NEON_ROW_TABLE(packed, 1), NEON_ROW_TABLE(packed, 2), NEON_ROW_TABLE(packed, 3)};
static const re_ukernel_rowa_fn neon_rowa_tiles[3][NEON_MR] = {
    NEON_ROW_TABLE(rowa, 1), NEON_ROW_TABLE(rowa, 2), NEON_ROW_TABLE(rowa, 3)};

static void neon_ukernel_packed(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                size_t m, size_t n, unsigned flags, const float *bias,
                                const float *residual, ptrdiff_t residual_ld) {
    neon_packed_tiles[(n + 3) / 4 - 1][m - 1](kc, a, b, c, ldc, m, n, flags, bias, residual, residual_ld);
}

/* Only rows below m are read, so A needs no padding. */
static void neon_ukernel_rowa(size_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                              ptrdiff_t ldc, size_t m, size_t n, unsigned flags, const float *bias,
                              const float *residual, ptrdiff_t residual_ld) {
    neon_rowa_tiles[(n + 3) / 4 - 1][m - 1](kc, a, lda, b, c, ldc, m, n, flags, bias, residual, residual_ld);
}

static void neon_pack_a(size_t mc, size_t kc, const float *a, ptrdiff_t lda, float *dst) {
    re_pack_a(NEON_MR, mc, kc, a, lda, dst);
}

static void neon_pack_rows(const float *const *rows, size_t count, float *dst) {
    re_pack_rows(NEON_MR, rows, count, dst);
}

static void neon_pack_b(size_t kc, size_t nc, const float *b, ptrdiff_t ldb, float *dst) {
    re_pack_b(NEON_NR, kc, nc, b, ldb, dst);
}

const re_gemm_kernels re_kernels_neon = {
    .isa = RE_ISA_NEON,
    .mr = NEON_MR,
    .nr = NEON_NR,
    .ukernel_packed = neon_ukernel_packed,
    .ukernel_rowa = neon_ukernel_rowa,
    .pack_a = neon_pack_a,
    .pack_b = neon_pack_b,
    .pack_rows = neon_pack_rows,
};

#endif
