/*
 * Depthwise and separable rank-L conv kernels: one body (conv_kernels_impl.h) instantiated per ISA,
 * and the dispatch by re_isa. The AVX2 instance is compiled through a target attribute only and
 * is called only when re_cpu_supports(RE_ISA_AVX2) holds.
 */
#include <string.h>
#include "kernels_internal.h"

typedef float re_v8 __attribute__((vector_size(32)));

static inline size_t re_round16(size_t n) { return (n + 15) / 16 * 16; }

size_t re_rankconv_scratch_floats(const re_rankconv_params *p, size_t rows, size_t ob) {
    const size_t rows_in = (rows - 1) * p->stride_h + p->k;
    const size_t wp = (p->ow - 1) * p->stride_w + p->k;
    return re_round16(p->c * rows_in * wp) + re_round16(p->k * p->ow * p->rank * ob) + re_round16(rows * p->ow * ob);
}

/* The portable instance: every helper is always_inline, so 8-wide vectors never cross a call and
 * the ABI note clang gives for them without AVX does not apply. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"
#define RE_SUFFIX scalar
#define RE_ATTR
#include "conv_kernels_impl.h"
#undef RE_SUFFIX
#undef RE_ATTR
#pragma clang diagnostic pop

#if defined(__x86_64__) || defined(_M_X64)
#define RE_SUFFIX avx2
#define RE_ATTR __attribute__((target("avx2,fma")))
#include "conv_kernels_impl.h"
#undef RE_SUFFIX
#undef RE_ATTR
#endif

#if defined(__aarch64__)
#define RE_SUFFIX neon
#define RE_ATTR
#include "conv_kernels_impl.h"
#undef RE_SUFFIX
#undef RE_ATTR
#endif

void re_depthwise_rows(int isa, const re_depthwise_params *p, const float *x, float *y,
                       const float *residual, size_t oy0, size_t oy1) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2)) { depthwise_rows_avx2(p, x, y, residual, oy0, oy1); return; }
#endif
#if defined(__aarch64__)
    if (isa == RE_ISA_NEON) { depthwise_rows_neon(p, x, y, residual, oy0, oy1); return; }
#endif
    depthwise_rows_scalar(p, x, y, residual, oy0, oy1);
}

void re_rankconv_tile(int isa, const re_rankconv_params *p, const float *x, float *y, const float *residual,
                      size_t oy0, size_t oy1, size_t o0, size_t o1, float *scratch) {
    if (oy1 <= oy0 || o1 <= o0) return;
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2)) { rankconv_tile_avx2(p, x, y, residual, oy0, oy1, o0, o1, scratch); return; }
#endif
#if defined(__aarch64__)
    if (isa == RE_ISA_NEON) { rankconv_tile_neon(p, x, y, residual, oy0, oy1, o0, o1, scratch); return; }
#endif
    rankconv_tile_scalar(p, x, y, residual, oy0, oy1, o0, o1, scratch);
}
