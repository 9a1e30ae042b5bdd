/* Run-time CPU feature detection and the kernel table lookup. */
#include "kernels_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include <cpuid.h>
#include <stdatomic.h>

/* XGETBV(0): which register states the OS saves on context switch. Encoded so no xsave target is needed. */
static unsigned long long read_xcr0(void) {
    unsigned int eax, edx;
    __asm__ volatile(".byte 0x0f, 0x01, 0xd0" : "=a"(eax), "=d"(edx) : "c"(0));
    return ((unsigned long long)edx << 32) | eax;
}

static int x86_has_avx2_fma(void) {
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx)) return 0;
    const int fma = (ecx >> 12) & 1;
    const int osxsave = (ecx >> 27) & 1;
    const int avx = (ecx >> 28) & 1;
    if (!(fma && osxsave && avx)) return 0;
    /* The OS must save XMM (bit 1) and YMM (bit 2) state, or using ymm registers corrupts them. */
    if ((read_xcr0() & 0x6) != 0x6) return 0;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    return (ebx >> 5) & 1;
}

/* AVX-512 F and VL on top of AVX2 + FMA, with the OS saving the opmask and both halves of the
 * ZMM file (XCR0 bits 5-7) as well as XMM and YMM. */
static int x86_has_avx512(void) {
    if (!x86_has_avx2_fma()) return 0;
    if ((read_xcr0() & 0xe6) != 0xe6) return 0;
    unsigned int eax, ebx, ecx, edx;
    if (!__get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx)) return 0;
    const int f = (ebx >> 16) & 1;
    const int vl = (ebx >> 31) & 1;
    return f && vl;
}

/* CPUID traps to the hypervisor on VMs (microseconds), so each question is asked once. */
static int x86_cached(_Atomic int *cached, int (*probe)(void)) {
    int value = atomic_load_explicit(cached, memory_order_relaxed);
    if (value < 0) {
        value = probe();
        atomic_store_explicit(cached, value, memory_order_relaxed);
    }
    return value;
}
#endif

int re_cpu_supports(re_isa isa) {
    switch (isa) {
    case RE_ISA_SCALAR:
        return 1;
    case RE_ISA_AVX2:
#if defined(__x86_64__) || defined(_M_X64)
        {
            static _Atomic int cached = -1;
            return x86_cached(&cached, x86_has_avx2_fma);
        }
#else
        return 0;
#endif
    case RE_ISA_AVX512:
#if defined(__x86_64__) || defined(_M_X64)
        {
            static _Atomic int cached = -1;
            return x86_cached(&cached, x86_has_avx512);
        }
#else
        return 0;
#endif
    case RE_ISA_NEON:
#if defined(__aarch64__)
        return 1;
#else
        return 0;
#endif
    }
    return 0;
}

const re_gemm_kernels *re_gemm_kernels_get(re_isa isa) {
    if (!re_cpu_supports(isa)) return NULL;
    switch (isa) {
    case RE_ISA_SCALAR:
        return &re_kernels_scalar;
    case RE_ISA_AVX2:
#if defined(__x86_64__) || defined(_M_X64)
        return &re_kernels_avx2;
#else
        return NULL;
#endif
    case RE_ISA_AVX512:
#if defined(__x86_64__) || defined(_M_X64)
        return &re_kernels_avx512;
#else
        return NULL;
#endif
    case RE_ISA_NEON:
#if defined(__aarch64__)
        return &re_kernels_neon;
#else
        return NULL;
#endif
    }
    return NULL;
}

void re_cpu_relax(void) {
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("pause");
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
