/*
 * The elementwise activations beyond ReLU (sigmoid, tanh, hard sigmoid, hard swish, SiLU, erf,
 * GELU): one body (unary_kernels_impl.h) instantiated per ISA, and the dispatch by re_isa. The AVX2
 * instance is compiled through a target attribute only and called only when the CPU supports it.
 */
#include <string.h>
#include "kernels_internal.h"

typedef float re_v8 __attribute__((vector_size(32)));
typedef int re_v8i __attribute__((vector_size(32)));

#define RE_INSTANCE_BODY "unary_kernels_impl.h"
#include "isa_instances.h"

void re_unary(int isa, int function, const float *x, float *y, size_t n, float alpha, float beta) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2)) { re_unary_avx2(function, x, y, n, alpha, beta); return; }
#endif
#if defined(__aarch64__)
    if (isa == RE_ISA_NEON) { re_unary_neon(function, x, y, n, alpha, beta); return; }
#endif
    (void)isa;
    re_unary_scalar(function, x, y, n, alpha, beta);
}
