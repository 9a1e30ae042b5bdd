/* The loop over the row tiles of one B panel, shared by every ISA. */
#include "kernels_internal.h"

void re_gemm_panel(const re_gemm_kernels *ks, size_t kc, size_t mc, const float *a, ptrdiff_t lda,
                   size_t a_panel_stride, const float *b_panel, const float *b_next, float *c, ptrdiff_t ldc,
                   size_t n, unsigned flags, const float *bias, const float *residual, ptrdiff_t residual_ld) {
    const size_t mr = ks->mr;
    const size_t panel_stride = a_panel_stride ? a_panel_stride : kc * mr;
    const size_t tiles = (mc + mr - 1) / mr;
    /* The next panel is streamed from L3 by the first tile that uses it unless it is already on
     * its way: each tile here prefetches its share of it, so it arrives spread over this sweep. */
    const size_t next_bytes = b_next ? kc * ks->nr * sizeof(float) : 0;
    const size_t share = tiles ? (next_bytes / tiles + 63) / 64 * 64 : 0;
    size_t prefetched = 0;
    for (size_t ir = 0, t = 0; ir < mc; ir += mr, t++) {
        const size_t rows = mc - ir < mr ? mc - ir : mr;
        for (size_t end = prefetched + share; prefetched < end && prefetched < next_bytes; prefetched += 64) {
            __builtin_prefetch((const char *)b_next + prefetched, 0, 3);
        }
        const float *res = residual ? residual + (ptrdiff_t)ir * residual_ld : NULL;
        if (lda == 0) {
            ks->ukernel_packed(kc, a + t * panel_stride, b_panel, c + (ptrdiff_t)ir * ldc, ldc, rows, n, flags, bias, res,
                               residual_ld);
        } else {
            ks->ukernel_rowa(kc, a + (ptrdiff_t)ir * lda, lda, b_panel, c + (ptrdiff_t)ir * ldc, ldc, rows, n, flags,
                             bias, res, residual_ld);
        }
    }
}

void re_gemm_block_by_rows(const re_gemm_kernels *ks, size_t kc, size_t mc, const float *a, ptrdiff_t lda,
                           size_t a_panel_stride, const float *b_block, size_t n, float *c, ptrdiff_t ldc,
                           unsigned flags, const float *bias, const float *residual, ptrdiff_t residual_ld) {
    const size_t mr = ks->mr, nr = ks->nr;
    const size_t panel_stride = a_panel_stride ? a_panel_stride : kc * mr;
    for (size_t ir = 0, t = 0; ir < mc; ir += mr, t++) {
        const size_t rows = mc - ir < mr ? mc - ir : mr;
        const float *a_tile = lda == 0 ? a + t * panel_stride : a + (ptrdiff_t)ir * lda;
        float *c_row = c + (ptrdiff_t)ir * ldc;
        const float *res_row = residual ? residual + (ptrdiff_t)ir * residual_ld : NULL;
        for (size_t j = 0; j < n; j += nr) {
            const size_t cols = n - j < nr ? n - j : nr;
            const float *b_panel = b_block + (j / nr) * kc * nr;
            const float *bias_j = bias ? bias + j : NULL;
            const float *res_j = res_row ? res_row + j : NULL;
            if (lda == 0) {
                ks->ukernel_packed(kc, a_tile, b_panel, c_row + j, ldc, rows, cols, flags, bias_j, res_j, residual_ld);
            } else {
                ks->ukernel_rowa(kc, a_tile, lda, b_panel, c_row + j, ldc, rows, cols, flags, bias_j, res_j, residual_ld);
            }
        }
    }
}
