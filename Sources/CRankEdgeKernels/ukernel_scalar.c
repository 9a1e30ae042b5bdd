/* Portable 4 x 4 micro-kernel: the reference every SIMD kernel is checked against. */
#include "kernels_internal.h"

#define SCALAR_MR 4
#define SCALAR_NR 4

static void scalar_ukernel_packed(size_t kc, const float *a, const float *b, float *c, ptrdiff_t ldc,
                                  size_t m, size_t n, unsigned flags, const float *bias,
                                  const float *residual, ptrdiff_t residual_ld) {
    float acc[SCALAR_MR][SCALAR_NR] = {{0}};
    for (size_t p = 0; p < kc; p++) {
        const float *ap = a + p * SCALAR_MR;
        const float *bp = b + p * SCALAR_NR;
        for (int i = 0; i < SCALAR_MR; i++) {
            for (int j = 0; j < SCALAR_NR; j++) acc[i][j] += ap[i] * bp[j];
        }
    }
    re_store_tile_scalar(&acc[0][0], SCALAR_NR, c, ldc, m, n, flags, bias, residual, residual_ld);
}

static void scalar_ukernel_rowa(size_t kc, const float *a, ptrdiff_t lda, const float *b, float *c,
                                ptrdiff_t ldc, size_t m, size_t n, unsigned flags, const float *bias,
                                const float *residual, ptrdiff_t residual_ld) {
    float acc[SCALAR_MR][SCALAR_NR] = {{0}};
    for (size_t i = 0; i < m; i++) {
        const float *arow = a + (ptrdiff_t)i * lda;
        for (size_t p = 0; p < kc; p++) {
            const float *bp = b + p * SCALAR_NR;
            for (int j = 0; j < SCALAR_NR; j++) acc[i][j] += arow[p] * bp[j];
        }
    }
    re_store_tile_scalar(&acc[0][0], SCALAR_NR, c, ldc, m, n, flags, bias, residual, residual_ld);
}

static void scalar_pack_a(size_t mc, size_t kc, const float *a, ptrdiff_t lda, float *dst) {
    re_pack_a(SCALAR_MR, mc, kc, a, lda, dst);
}

static void scalar_pack_rows(const float *const *rows, size_t count, float *dst) {
    re_pack_rows(SCALAR_MR, rows, count, dst);
}

static void scalar_pack_b(size_t kc, size_t nc, const float *b, ptrdiff_t ldb, float *dst) {
    re_pack_b(SCALAR_NR, kc, nc, b, ldb, dst);
}

const re_gemm_kernels re_kernels_scalar = {
    .isa = RE_ISA_SCALAR,
    .mr = SCALAR_MR,
    .nr = SCALAR_NR,
    .ukernel_packed = scalar_ukernel_packed,
    .ukernel_rowa = scalar_ukernel_rowa,
    .pack_a = scalar_pack_a,
    .pack_b = scalar_pack_b,
    .pack_rows = scalar_pack_rows,
};
