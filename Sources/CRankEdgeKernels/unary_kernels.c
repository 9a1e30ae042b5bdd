/*
 * The elementwise activations beyond ReLU (sigmoid, tanh, hard sigmoid, hard swish, SiLU, erf,
 * GELU), the channel scaling of SE blocks and layer norm: one body (unary_kernels_impl.h) instantiated per ISA, and the dispatch by re_isa. The x86
 * instances are compiled through target attributes only and called only when the CPU supports them.
 */
#include <string.h>
#include "kernels_internal.h"

typedef float re_v8 __attribute__((vector_size(32)));
typedef int re_v8i __attribute__((vector_size(32)));

#define RE_INSTANCE_BODY "unary_kernels_impl.h"
#include "isa_instances.h"

void re_unary(int isa, int function, const float *x, float *y, size_t n, float alpha, float beta) {
#if defined(__x86_64__) || defined(_M_X64)
    /* AVX-512 models use the AVX2 instance (isa_instances.h). */
    if ((isa == RE_ISA_AVX2 || isa == RE_ISA_AVX512) && re_cpu_supports(RE_ISA_AVX2)) { re_unary_avx2(function, x, y, n, alpha, beta); return; }
#endif
#if defined(__aarch64__)
    /* Every ISA value: AArch64 has no portable instance (isa_instances.h). */
    (void)isa;
    re_unary_neon(function, x, y, n, alpha, beta);
#else
    (void)isa;
    re_unary_scalar(function, x, y, n, alpha, beta);
#endif
}

void re_scale_rows(int isa, const float *x, const float *gate, float *y, size_t c, size_t rows_per_gate, size_t row0, size_t row1) {
#if defined(__x86_64__) || defined(_M_X64)
    if ((isa == RE_ISA_AVX2 || isa == RE_ISA_AVX512) && re_cpu_supports(RE_ISA_AVX2)) { re_scale_rows_avx2(x, gate, y, c, rows_per_gate, row0, row1); return; }
#endif
    (void)isa;
#if defined(__aarch64__)
    re_scale_rows_neon(x, gate, y, c, rows_per_gate, row0, row1);
#else
    re_scale_rows_scalar(x, gate, y, c, rows_per_gate, row0, row1);
#endif
}

void re_layer_norm_rows(int isa, const float *x, float *y, size_t c, const float *scale, const float *bias, float eps,
                        size_t row0, size_t row1) {
#if defined(__x86_64__) || defined(_M_X64)
    if ((isa == RE_ISA_AVX2 || isa == RE_ISA_AVX512) && re_cpu_supports(RE_ISA_AVX2)) { re_layer_norm_rows_avx2(x, y, c, scale, bias, eps, row0, row1); return; }
#endif
    (void)isa;
#if defined(__aarch64__)
    re_layer_norm_rows_neon(x, y, c, scale, bias, eps, row0, row1);
#else
    re_layer_norm_rows_scalar(x, y, c, scale, bias, eps, row0, row1);
#endif
}
