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
    if (act == RE_ACT_RELU) return vmaxq_f32(v, vdupq_n_f32(0.0f));
    if (act == RE_ACT_RELU6) return vminq_f32(vmaxq_f32(v, vdupq_n_f32(0.0f)), vdupq_n_f32(6.0f));
    return v;
}

/*
 * Full tiles store straight from registers with the epilogue vectorised; edge tiles go through a
 * small buffer and the scalar store, which is simpler and costs little since edges are rare.
 */
static inline void neon_store(float32x4_t acc[NEON_MR][3], float *c, ptrdiff_t ldc, size_t m, size_t n,
                              unsigned flags, const float *bias, const float *residual,
                              ptrdiff_t residual_ld) {
    if (m == NEON_MR && n == NEON_NR) {
        const int accumulate = (flags & RE_FLAG_ACCUMULATE) != 0;
        const int epilogue = (flags & RE_FLAG_EPILOGUE) != 0;
        const int act = RE_ACTIVATION_OF(flags);
        float32x4_t bv[3] = {vdupq_n_f32(0.0f), vdupq_n_f32(0.0f), vdupq_n_f32(0.0f)};
        if (epilogue && bias) {
            bv[0] = vld1q_f32(bias);
            bv[1] = vld1q_f32(bias + 4);
            bv[2] = vld1q_f32(bias + 8);
        }
        for (size_t i = 0; i < NEON_MR; i++) {
            float *crow = c + (ptrdiff_t)i * ldc;
            for (size_t v = 0; v < 3; v++) {
                float32x4_t x = acc[i][v];
                if (accumulate) x = vaddq_f32(x, vld1q_f32(crow + 4 * v));
                if (epilogue) {
                    x = vaddq_f32(x, bv[v]);
                    if (residual) x = vaddq_f32(x, vld1q_f32(residual + (ptrdiff_t)i * residual_ld + 4 * v));
                    x = neon_activate(x, act);
                }
                vst1q_f32(crow + 4 * v, x);
            }
        }
        return;
    }
    float tile[NEON_MR * NEON_NR];
    for (size_t i = 0; i < NEON_MR; i++) {
        for (size_t v = 0; v < 3; v++) vst1q_f32(tile + i * NEON_NR + 4 * v, acc[i][v]);
    }
    re_store_tile_scalar(tile, NEON_NR, c, ldc, m, n, flags, bias, residual, residual_ld);
}

static void neon_ukernel_packed(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                size_t m, size_t n, unsigned flags, const float *bias,
                                const float *residual, ptrdiff_t residual_ld) {
    float32x4_t acc[NEON_MR][3];
    for (size_t i = 0; i < NEON_MR; i++) {
        for (size_t v = 0; v < 3; v++) acc[i][v] = vdupq_n_f32(0.0f);
    }
    for (size_t p = 0; p < kc; p++) {
        const float32x4_t a_lo = vld1q_f32(a);
        const float32x4_t a_hi = vld1q_f32(a + 4);
        const float32x4_t b0 = vld1q_f32(b);
        const float32x4_t b1 = vld1q_f32(b + 4);
        const float32x4_t b2 = vld1q_f32(b + 8);
#define NEON_ROW(i, AV, LANE)                                      \
        acc[i][0] = vfmaq_laneq_f32(acc[i][0], b0, AV, LANE);      \
        acc[i][1] = vfmaq_laneq_f32(acc[i][1], b1, AV, LANE);      \
        acc[i][2] = vfmaq_laneq_f32(acc[i][2], b2, AV, LANE)
        NEON_ROW(0, a_lo, 0); NEON_ROW(1, a_lo, 1); NEON_ROW(2, a_lo, 2); NEON_ROW(3, a_lo, 3);
        NEON_ROW(4, a_hi, 0); NEON_ROW(5, a_hi, 1); NEON_ROW(6, a_hi, 2); NEON_ROW(7, a_hi, 3);
#undef NEON_ROW
        a += NEON_MR;
        b += NEON_NR;
    }
    neon_store(acc, c, ldc, m, n, flags, bias, residual, residual_ld);
}

static void neon_ukernel_rowa(size_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                              ptrdiff_t ldc, size_t m, size_t n, unsigned flags, const float *bias,
                              const float *residual, ptrdiff_t residual_ld) {
    float32x4_t acc[NEON_MR][3];
    const float *rows[NEON_MR];
    for (size_t i = 0; i < NEON_MR; i++) {
        /* Rows past m re-read row 0, so A needs no padding; their results are never stored. */
        rows[i] = i < m ? a + (ptrdiff_t)i * lda : a;
        for (size_t v = 0; v < 3; v++) acc[i][v] = vdupq_n_f32(0.0f);
    }
    for (size_t p = 0; p < kc; p++) {
        const float32x4_t b0 = vld1q_f32(b);
        const float32x4_t b1 = vld1q_f32(b + 4);
        const float32x4_t b2 = vld1q_f32(b + 8);
        for (size_t i = 0; i < NEON_MR; i++) {
            const float ai = rows[i][p];
            acc[i][0] = vfmaq_n_f32(acc[i][0], b0, ai);
            acc[i][1] = vfmaq_n_f32(acc[i][1], b1, ai);
            acc[i][2] = vfmaq_n_f32(acc[i][2], b2, ai);
        }
        b += NEON_NR;
    }
    neon_store(acc, c, ldc, m, n, flags, bias, residual, residual_ld);
}

const re_gemm_kernels re_kernels_neon = {
    .isa = RE_ISA_NEON,
    .mr = NEON_MR,
    .nr = NEON_NR,
    .ukernel_packed = neon_ukernel_packed,
    .ukernel_rowa = neon_ukernel_rowa,
};

#endif
