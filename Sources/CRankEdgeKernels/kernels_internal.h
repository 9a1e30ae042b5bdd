/* Helpers shared by the kernel files; not part of the public header. */
#ifndef RE_KERNELS_INTERNAL_H
#define RE_KERNELS_INTERNAL_H

#include "CRankEdgeKernels.h"

#define RE_ACTIVATION_OF(flags) ((int)(((flags) >> RE_FLAGS_ACTIVATION_SHIFT) & 0xffu))

/*
 * Stores an m x n tile held row-major in `tile` (row stride tile_ld) into C, applying the
 * accumulate flag and the epilogue exactly as the micro-kernel contract says. The vector kernels
 * use it for edge tiles; the scalar kernel for every tile.
 */
static inline void re_store_tile_scalar(const float *tile, size_t tile_ld, float *c, ptrdiff_t ldc,
                                        size_t m, size_t n, unsigned flags, const float *bias,
                                        const float *residual, ptrdiff_t residual_ld) {
    const int accumulate = (flags & RE_FLAG_ACCUMULATE) != 0;
    const int epilogue = (flags & RE_FLAG_EPILOGUE) != 0;
    const int act = RE_ACTIVATION_OF(flags);
    for (size_t i = 0; i < m; i++) {
        float *crow = c + (ptrdiff_t)i * ldc;
        const float *trow = tile + i * tile_ld;
        for (size_t j = 0; j < n; j++) {
            float v = trow[j];
            if (accumulate) v += crow[j];
            if (epilogue) {
                if (bias) v += bias[j];
                if (residual) v += residual[(ptrdiff_t)i * residual_ld + (ptrdiff_t)j];
                /* Written with < and > so a NaN stays NaN, as in the reference. */
                if (act == RE_ACT_RELU) {
                    v = v < 0.0f ? 0.0f : v;
                } else if (act == RE_ACT_RELU6) {
                    v = v < 0.0f ? 0.0f : (v > 6.0f ? 6.0f : v);
                }
            }
            crow[j] = v;
        }
    }
}

/* Per-ISA kernel tables, defined in the ukernel_*.c files. */
extern const re_gemm_kernels re_kernels_scalar;
#if defined(__x86_64__) || defined(_M_X64)
extern const re_gemm_kernels re_kernels_avx2;
extern const re_gemm_kernels re_kernels_avx512;
#endif
#if defined(__aarch64__)
extern const re_gemm_kernels re_kernels_neon;
#endif

#endif
