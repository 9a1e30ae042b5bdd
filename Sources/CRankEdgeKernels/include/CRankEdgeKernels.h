/*
 * CRankEdgeKernels: the only code in RankEdge that uses SIMD intrinsics.
 *
 * It holds GEMM micro-kernels (one MR x NR register tile per ISA), the packing routines that lay
 * operands out in the panels those kernels read, and run-time CPU feature detection. The Swift
 * driver (Sources/RankEdge/GEMM) owns every loop above the micro-kernel.
 *
 * ISA-specific code is compiled with __attribute__((target(...))) rather than global flags, so one
 * x86-64 binary carries the AVX2 and AVX-512 kernels and only calls each when the CPU and OS support it.
 */
#ifndef CRANKEDGEKERNELS_H
#define CRANKEDGEKERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Kernel families; the numeric values are part of the Swift API mapping. */
typedef enum {
    RE_ISA_SCALAR = 0,
    RE_ISA_AVX2 = 1,  /* x86-64 AVX2 + FMA3, 6 x 16 tile */
    RE_ISA_NEON = 2,  /* ARMv8 AdvSIMD, 8 x 12 tile */
    RE_ISA_AVX512 = 3,  /* x86-64 AVX-512 F + VL (with AVX2 + FMA3), 12 x 16 tile */
} re_isa;

/* Activation applied in the epilogue, after bias and residual. */
typedef enum {
    RE_ACT_NONE = 0,
    RE_ACT_RELU = 1,
    RE_ACT_RELU6 = 2,
} re_activation;

/* Bits of a micro-kernel's `flags` argument. */
enum {
    /* C = C + A.B instead of C = A.B (used for every K block after the first). */
    RE_FLAG_ACCUMULATE = 1,
    /* Add bias / residual and apply the activation: set only on the last K block. */
    RE_FLAG_EPILOGUE = 2,
};
/* The activation occupies bits 8..15 of `flags` when RE_FLAG_EPILOGUE is set. */
#define RE_FLAGS_ACTIVATION_SHIFT 8

/*
 * Micro-kernel, packed A:
 *   tile = a_panel (kc x MR, element (i,p) at a[p*MR + i]) times b_panel (kc x NR, element (p,j)
 *   at b[p*NR + j]); both panels are zero-padded to full MR / NR width by the packers.
 *   Only the top-left m x n corner (1 <= m <= MR, 1 <= n <= NR) of the tile is stored to c
 *   (row-major, leading dimension ldc), so edge tiles never touch memory outside C.
 *   With RE_FLAG_EPILOGUE:
 *     C[i][j] = act( (accumulate ? C[i][j] : 0) + tile[i][j] + bias[j] + residual[i*residual_ld + j] )
 *   where bias / residual may be NULL (treated as 0). bias points at the tile's first column,
 *   residual at the tile's top-left element.
 */
typedef void (*re_ukernel_packed_fn)(size_t kc, const float *a_panel, const float *b_panel,
                                     float *c, ptrdiff_t ldc, size_t m, size_t n, unsigned flags,
                                     const float *bias, const float *residual, ptrdiff_t residual_ld);

/*
 * Micro-kernel, unpacked row-major A: row i of the tile reads a[i*lda + p] for p < kc.
 * Rows i >= m are never read, so A needs no padding. Used when A would be reused too few times
 * to pay for packing (thin N).
 */
typedef void (*re_ukernel_rowa_fn)(size_t kc, const float *a, ptrdiff_t lda, const float *b_panel,
                                   float *c, ptrdiff_t ldc, size_t m, size_t n, unsigned flags,
                                   const float *bias, const float *residual, ptrdiff_t residual_ld);

/* Packs an mc x kc block of row-major A into MR-row panels (the layout re_pack_a documents). */
typedef void (*re_pack_a_fn)(size_t mc, size_t kc, const float *a, ptrdiff_t lda, float *dst);
/* Packs a kc x nc block of row-major B into NR-column panels (the layout re_pack_b documents). */
typedef void (*re_pack_b_fn)(size_t kc, size_t nc, const float *b, ptrdiff_t ldb, float *dst);
/*
 * Packs `count` consecutive floats of each of MR rows into a stretch of one A panel:
 * dst[p*MR + i] = rows[i][p] (p < count); a NULL row packs as zeros. A convolution uses it to write
 * its im2col patches straight into packed panels, one tap run of MR output pixels at a time.
 */
typedef void (*re_pack_rows_fn)(const float *const *rows, size_t count, float *dst);

/* One ISA's kernels, its packers and its tile shape. */
typedef struct {
    re_isa isa;
    size_t mr;
    size_t nr;
    re_ukernel_packed_fn ukernel_packed;
    re_ukernel_rowa_fn ukernel_rowa;
    /* Same results as re_pack_a(mr, ...) / re_pack_b(nr, ...), possibly faster. */
    re_pack_a_fn pack_a;
    re_pack_b_fn pack_b;
    /* Same results as re_pack_rows(mr, ...), possibly faster. */
    re_pack_rows_fn pack_rows;
} re_gemm_kernels;

/*
 * Runs the micro-kernel down one B panel: the mc rows of C starting at c, columns [0, n) (n <= NR),
 * one MR-row tile after another. A is packed (lda == 0: panels of kc x MR, as re_pack_a lays
 * them out, a_panel_stride floats apart, or kc*MR when it is 0 - a larger stride reads a K block
 * out of panels packed over a deeper K) or read in place (lda > 0: row-major). bias / residual /
 * flags as for the micro-kernel, residual pointing at the block's first row. While it runs it
 * prefetches the kc x NR panel at b_next (if not NULL), the one the caller will use next.
 */
void re_gemm_panel(const re_gemm_kernels *ks, size_t kc, size_t mc, const float *a, ptrdiff_t lda,
                   size_t a_panel_stride, const float *b_panel, const float *b_next, float *c, ptrdiff_t ldc,
                   size_t n, unsigned flags, const float *bias, const float *residual, ptrdiff_t residual_ld);

/*
 * Runs the micro-kernel over an mc x n block of C row tile by row tile, each row tile across all
 * the block's B panels (consecutive, kc x NR floats apart from b_block): the order for thin N,
 * where the whole B block stays in L1 and each A row is then read once. Arguments as for
 * re_gemm_panel, with bias and residual pointing at the block's first column.
 */
void re_gemm_block_by_rows(const re_gemm_kernels *ks, size_t kc, size_t mc, const float *a, ptrdiff_t lda,
                           size_t a_panel_stride, const float *b_block, size_t n, float *c, ptrdiff_t ldc, unsigned flags,
                           const float *bias, const float *residual, ptrdiff_t residual_ld);

/*
 * The kernels for `isa`, or NULL when this build has no kernels for it (NEON on x86) or the CPU /
 * OS cannot run them (AVX2 without AVX2, FMA or OS-enabled YMM state; AVX-512 without F, VL or
 * OS-enabled ZMM and mask state).
 */
const re_gemm_kernels *re_gemm_kernels_get(re_isa isa);

/* Whether the running CPU (and OS) can execute the kernels for `isa`. */
int re_cpu_supports(re_isa isa);

/* A short pause for spin-wait loops (x86 PAUSE, ARM YIELD). */
void re_cpu_relax(void);

/* A set of cores by number (bit c of bits[c / 64]), for pinning threads (Linux only). */
#define RE_MAX_CORES 1024
typedef struct { unsigned long long bits[RE_MAX_CORES / 64]; } re_core_set;

/* Cores online now (1 where the OS cannot tell). */
int re_online_cores(void);
/* Pins the thread (a pointer to its pthread_t) or the calling thread to one core. These return 0
 * or an errno value: EINVAL for a core the machine lacks, ENOSYS where pinning is unsupported. */
int re_pin_thread(const void *pthread_handle, int core);
int re_pin_current_thread(int core);
/* Whether `core` is in the set. */
int re_core_set_has(const re_core_set *set, int core);
/* The core the calling thread runs on now, or -1 where the OS cannot tell. */
int re_current_core(void);
/* The calling thread's allowed cores, read and restored around a pinned measurement. */
int re_current_thread_cores(re_core_set *out);
int re_set_current_thread_cores(const re_core_set *cores);

/*
 * Packs rows [0, mc) x columns [0, kc) of row-major A (leading dimension lda) into ceil(mc/mr)
 * panels of kc x mr floats each (element (i,p) of panel q at dst[q*kc*mr + p*mr + i]); rows past mc
 * are zero. dst must hold ceil(mc/mr)*mr*kc floats.
 */
void re_pack_a(size_t mr, size_t mc, size_t kc, const float *a, ptrdiff_t lda, float *dst);

/* The panel stretch re_pack_rows_fn documents, for any MR (rows holds mr pointers). */
void re_pack_rows(size_t mr, const float *const *rows, size_t count, float *dst);

/*
 * Packs rows [0, kc) x columns [0, nc) of row-major B (leading dimension ldb) into ceil(nc/nr)
 * panels of kc x nr floats (element (p,j) of panel q at dst[q*kc*nr + p*nr + j]); columns past nc
 * are zero. dst must hold ceil(nc/nr)*nr*kc floats.
 */
void re_pack_b(size_t nr, size_t kc, size_t nc, const float *b, ptrdiff_t ldb, float *dst);

/*
 * Same panels as re_pack_b, but reading B transposed: element (p,j) of B is bt[j*ldbt + p]. This is
 * how weights are stored (output channel major: [N x K]), so they pack without a transpose copy.
 */
void re_pack_b_transposed(size_t nr, size_t kc, size_t nc, const float *bt, ptrdiff_t ldbt, float *dst);

#ifdef __cplusplus
}
#endif

/* The runtime's non-GEMM conv kernels (depthwise, separable rank-L). */
#include "rankedge_conv_kernels.h"

#endif
