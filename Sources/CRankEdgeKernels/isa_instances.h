/*
 * Compiles a kernel body once per ISA this build targets, under the names its RE_ENTRY gives:
 * the portable instance, AVX2 on x86-64 (through a target attribute only, so one binary carries
 * it and calls it only after re_cpu_supports), NEON on AArch64. The including file defines
 * RE_INSTANCE_BODY (and optionally RE_INSTANCE_BODY_2), header names of bodies written with the
 * RE_SUFFIX / RE_ATTR macros this file sets, and RE_PORTABLE_INSTANCE in the portable instance:
 * a fallback, where a body may give up speed for size. Not a public header.
 *
 * The bodies are written for 8-lane vectors, and AVX-512 models use the AVX2 instance: compiled
 * for AVX-512 as they are, the depthwise and narrow direct kernels measured 10 % slower on AMD
 * Zen 4 (docs/BENCHMARKS.md); AVX-512 has its own GEMM micro-kernel and packers only.
 */

/* The portable instance (not on AArch64: there the baseline is NEON, the portable body compiled
 * the same vector code as the NEON instance, and the scalar tables take the NEON functions, which
 * halves the kernels in a board's library). Every helper is always_inline, so 8-wide vectors never cross a call and
 * the ABI note clang gives for them without AVX does not apply. */
#if !defined(__aarch64__)
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"
#define RE_SUFFIX scalar
#define RE_ATTR
#define RE_PORTABLE_INSTANCE 1
#include RE_INSTANCE_BODY
#ifdef RE_INSTANCE_BODY_2
#include RE_INSTANCE_BODY_2
#endif
#undef RE_SUFFIX
#undef RE_ATTR
#undef RE_PORTABLE_INSTANCE
#pragma clang diagnostic pop
#endif

#if defined(__x86_64__) || defined(_M_X64)
#define RE_SUFFIX avx2
#define RE_ATTR __attribute__((target("avx2,fma")))
#include RE_INSTANCE_BODY
#ifdef RE_INSTANCE_BODY_2
#include RE_INSTANCE_BODY_2
#endif
#undef RE_SUFFIX
#undef RE_ATTR
#endif

#if defined(__aarch64__)
#define RE_SUFFIX neon
#define RE_ATTR
#include RE_INSTANCE_BODY
#ifdef RE_INSTANCE_BODY_2
#include RE_INSTANCE_BODY_2
#endif
#undef RE_SUFFIX
#undef RE_ATTR
#endif
