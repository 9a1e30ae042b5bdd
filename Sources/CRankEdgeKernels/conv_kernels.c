/*
 * Depthwise and separable rank-L conv kernels: one body (conv_kernels_impl.h) instantiated per ISA,
 * and the dispatch by re_isa. The AVX2 instance is compiled through a target attribute only and
 * is called only when re_cpu_supports(RE_ISA_AVX2) holds.
 */
#include <string.h>
#include "kernels_internal.h"

typedef float re_v8 __attribute__((vector_size(32)));

/* The largest Winograd input tile the matrix-form transforms take (F(2x2, 5x5) and F(4x4, 3x3)),
 * and the largest output tile (F(4x4, 3x3)). */
#define RE_WINO_MAX_ALPHA 6
#define RE_WINO_MAX_M 4

/* Winograd F(2x2, 3x3) at the points 0, 1, -1 and infinity (Lavin & Gray's matrices), and F(2x2, 5x5)
 * at 0, 1, -1, 2, -2 and infinity. WinogradTransform in Swift builds the same matrices, and its
 * tests compare them with these. */
const float re_winograd_f23_bt[16] = {
    1, 0, -1, 0,
    0, 1, 1, 0,
    0, -1, 1, 0,
    0, 1, 0, -1,
};
const float re_winograd_f23_at[8] = {
    1, 1, 1, 0,
    0, 1, -1, -1,
};
const float re_winograd_f25_bt[36] = {
    4, 0, -5, 0, 1, 0,
    0, 4, 4, -1, -1, 0,
    0, -4, 4, 1, -1, 0,
    0, -2, -1, 2, 1, 0,
    0, 2, -1, -2, 1, 0,
    0, 4, 0, -5, 0, 1,
};
const float re_winograd_f25_at[12] = {
    1, 1, 1, 1, 1, 0,
    0, 1, -1, 2, -2, 1,
};
/* F(4x4, 3x3) has F(2x2, 5x5)'s points, so its Bᵀ is re_winograd_f25_bt. */
const float re_winograd_f43_at[24] = {
    1, 1, 1, 1, 1, 0,
    0, 1, -1, 2, -2, 0,
    0, 1, 1, 4, 4, 0,
    0, 1, -1, 8, -8, 1,
};
/* A = (Aᵀ)ᵀ (alpha x m), for the output-gradient transform A dY Aᵀ of the weight gradient. */
const float re_winograd_f23_a[8] = {
    1, 0,
    1, 1,
    1, -1,
    0, -1,
};
const float re_winograd_f43_a[24] = {
    1, 0, 0, 0,
    1, 1, 1, 1,
    1, -1, 1, -1,
    1, 2, 4, 8,
    1, -2, 4, -8,
    0, 0, 0, 1,
};
const float re_winograd_f25_a[12] = {
    1, 0,
    1, 1,
    1, -1,
    1, 2,
    1, -2,
    0, 1,
};

static inline size_t re_round16(size_t n) { return (n + 15) / 16 * 16; }

/* Rows of horizontal results a tile keeps: k + 1 with stride 1, whose vertical pass takes output
 * rows in pairs, else k. */
static inline size_t re_rankconv_ring_rows(const re_rankconv_params *p) { return p->stride_h == 1 ? p->k + 1 : p->k; }

/* One zero-padded input plane: every row and column some output reads. */
static inline size_t re_rankconv_plane_floats(const re_rankconv_params *p) {
    return ((p->oh - 1) * p->stride_h + p->k) * ((p->ow - 1) * p->stride_w + p->k);
}

size_t re_rankconv_planar_floats(const re_rankconv_params *p) { return re_round16(p->c * re_rankconv_plane_floats(p)); }

size_t re_rankconv_scratch_floats(const re_rankconv_params *p, size_t rows, size_t ob, size_t group) {
    return re_round16(re_rankconv_ring_rows(p) * group * p->ow * p->rank * ob) + re_round16(rows * p->ow * ob);
}

/* Zero-padded planes [c][hp][wp] of an NHWC image whose pixel (0, 0) lands at (top, left).
 * Channels go 16 at a time (one cache line of an NHWC pixel), so each input line is fetched once. */
static void re_pad_planes(const float *x, size_t h, size_t w, size_t c, ptrdiff_t top, ptrdiff_t left,
                          size_t hp, size_t wp, float *planar, size_t c0, size_t c1) {
    const size_t plane = hp * wp;
    /* Columns [col0, col1) of a plane row hold input pixels; the rest are padding. */
    const size_t col0 = left < 0 ? 0 : ((size_t)left < wp ? (size_t)left : wp);
    const ptrdiff_t end = left + (ptrdiff_t)w;
    const size_t col1 = end < (ptrdiff_t)col0 ? col0 : ((size_t)end < wp ? (size_t)end : wp);
    for (size_t g0 = c0; g0 < c1; g0 += 16) {
        const size_t g1 = g0 + 16 < c1 ? g0 + 16 : c1;
        for (size_t row = 0; row < hp; row++) {
            const ptrdiff_t iy = (ptrdiff_t)row - top;
            const int inside = iy >= 0 && iy < (ptrdiff_t)h;
            for (size_t ch = g0; ch < g1; ch++) {
                float *dst = planar + ch * plane + row * wp;
                if (!inside) { memset(dst, 0, wp * sizeof(float)); continue; }
                /* Borders are a few floats: a loop, not two library calls per row. */
                for (size_t col = 0; col < col0; col++) dst[col] = 0.0f;
                for (size_t col = col1; col < wp; col++) dst[col] = 0.0f;
            }
            /* No pixel columns (padding wider than the plane): nothing to copy, and the source
             * pointer below would point before x. */
            if (!inside || col1 == col0) continue;
            /* Channel by channel along the row: sequential writes, and the row's input lines
             * (read with a stride of c) stay in L1 for the group's 16 channels. */
            const float *src = x + ((size_t)iy * w + (size_t)((ptrdiff_t)col0 - left)) * c;
            for (size_t ch = g0; ch < g1; ch++) {
                float *dst = planar + ch * plane + row * wp;
                for (size_t col = col0; col < col1; col++) dst[col] = src[(col - col0) * c + ch];
            }
        }
    }
}

void re_rankconv_planar(const re_rankconv_params *p, const float *x, float *planar, size_t c0, size_t c1) {
    re_pad_planes(x, p->h, p->w, p->c, p->pad_top, p->pad_left, (p->oh - 1) * p->stride_h + p->k,
                  (p->ow - 1) * p->stride_w + p->k, planar, c0, c1);
}

/* Plane width: whole 8-pixel vectors of output columns, plus the taps' reach. */
static inline size_t re_narrowconv_wp(const re_narrowconv_params *p) { return (p->ow + 7) / 8 * 8 + p->kw - 1; }

size_t re_narrowconv_planar_floats(const re_narrowconv_params *p) {
    return re_round16(p->c * (p->oh + p->kh - 1) * re_narrowconv_wp(p));
}

void re_narrowconv_planar(const re_narrowconv_params *p, const float *x, float *planar, size_t c0, size_t c1) {
    re_pad_planes(x, p->h, p->w, p->c, p->pad_top, p->pad_left, p->oh + p->kh - 1, re_narrowconv_wp(p), planar, c0, c1);
}

/* The portable instance: every helper is always_inline, so 8-wide vectors never cross a call and
 * the ABI note clang gives for them without AVX does not apply. */
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wpsabi"
#define RE_SUFFIX scalar
#define RE_ATTR
#include "conv_kernels_impl.h"
#include "winograd_impl.h"
#undef RE_SUFFIX
#undef RE_ATTR
#pragma clang diagnostic pop

#if defined(__x86_64__) || defined(_M_X64)
#define RE_SUFFIX avx2
#define RE_ATTR __attribute__((target("avx2,fma")))
#include "conv_kernels_impl.h"
#include "winograd_impl.h"
#undef RE_SUFFIX
#undef RE_ATTR
#endif

#if defined(__aarch64__)
#define RE_SUFFIX neon
#define RE_ATTR
#include "conv_kernels_impl.h"
#include "winograd_impl.h"
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

void re_narrowconv_rows(int isa, const re_narrowconv_params *p, const float *planar, float *y, const float *residual,
                        size_t oy0, size_t oy1) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2)) { narrowconv_rows_avx2(p, planar, y, residual, oy0, oy1); return; }
#endif
#if defined(__aarch64__)
    if (isa == RE_ISA_NEON) { narrowconv_rows_neon(p, planar, y, residual, oy0, oy1); return; }
#endif
    narrowconv_rows_scalar(p, planar, y, residual, oy0, oy1);
}

void re_rankconv_tile(int isa, const re_rankconv_params *p, const float *planar, float *y, const float *residual,
                      size_t oy0, size_t oy1, size_t o0, size_t o1, size_t group, float *scratch) {
    if (oy1 <= oy0 || o1 <= o0) return;
    if (group == 0) group = 1;
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2)) { rankconv_tile_avx2(p, planar, y, residual, oy0, oy1, o0, o1, group, scratch); return; }
#endif
#if defined(__aarch64__)
    if (isa == RE_ISA_NEON) { rankconv_tile_neon(p, planar, y, residual, oy0, oy1, o0, o1, group, scratch); return; }
#endif
    rankconv_tile_scalar(p, planar, y, residual, oy0, oy1, o0, o1, group, scratch);
}

/* The row buffer [R2][ow8], plus one vector of slack for the last channel's 6-pixel tiles. */
size_t re_narrowchain_row_floats(const re_narrowchain_params *p) { return re_round16(p->core.s * ((p->core.ow + 7) / 8 * 8) + 8); }

void re_narrowchain_project(int isa, const re_narrowchain_params *p, const float *x, float *planar, size_t row0, size_t row1) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2)) { narrowchain_project_avx2(p, x, planar, row0, row1); return; }
#endif
#if defined(__aarch64__)
    if (isa == RE_ISA_NEON) { narrowchain_project_neon(p, x, planar, row0, row1); return; }
#endif
    narrowchain_project_scalar(p, x, planar, row0, row1);
}

void re_narrowchain_rows(int isa, const re_narrowchain_params *p, const float *planar, float *y, const float *residual,
                         size_t oy0, size_t oy1, float *row_buffer) {
#if defined(__x86_64__) || defined(_M_X64)
    if (isa == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2)) { narrowchain_rows_avx2(p, planar, y, residual, oy0, oy1, row_buffer); return; }
#endif
#if defined(__aarch64__)
    if (isa == RE_ISA_NEON) { narrowchain_rows_neon(p, planar, y, residual, oy0, oy1, row_buffer); return; }
#endif
    narrowchain_rows_scalar(p, planar, y, residual, oy0, oy1, row_buffer);
}

/* Which transform (m, r) names: 0 F(2x2, 3x3), 1 F(2x2, 5x5), 2 F(4x4, 3x3), -1 none. */
static int re_winograd_kind(int m, int r) {
    if (m == 2 && r == 3) return 0;
    if (m == 2 && r == 5) return 1;
    if (m == 4 && r == 3) return 2;
    return -1;
}

#if defined(__x86_64__) || defined(_M_X64)
#define RE_WINO_AVX2(isa) ((isa) == RE_ISA_AVX2 && re_cpu_supports(RE_ISA_AVX2))
#else
#define RE_WINO_AVX2(isa) 0
#endif
#if defined(__aarch64__)
#define RE_WINO_NEON(isa) ((isa) == RE_ISA_NEON)
#else
#define RE_WINO_NEON(isa) 0
#endif

/* Calls the ISA's instance of winograd_<kind>_<what>, else the portable one. */
#if defined(__x86_64__) || defined(_M_X64)
#define RE_WINO_DISPATCH(isa, fn, ...) do { if (RE_WINO_AVX2(isa)) { fn##_avx2(__VA_ARGS__); return; } fn##_scalar(__VA_ARGS__); return; } while (0)
#elif defined(__aarch64__)
#define RE_WINO_DISPATCH(isa, fn, ...) do { if (RE_WINO_NEON(isa)) { fn##_neon(__VA_ARGS__); return; } fn##_scalar(__VA_ARGS__); return; } while (0)
#else
#define RE_WINO_DISPATCH(isa, fn, ...) do { fn##_scalar(__VA_ARGS__); return; } while (0)
#endif

void re_winograd_input(int isa, int m, int r, const float *const *d, size_t c, float *v, size_t stride) {
    switch (re_winograd_kind(m, r)) {
    case 0: RE_WINO_DISPATCH(isa, winograd_f23_input, d, c, v, stride);
    case 1: case 2: RE_WINO_DISPATCH(isa, winograd_f25_input, d, c, v, stride);
    default: return;
    }
}

void re_winograd_output(int isa, int m, int r, const float *mp, size_t stride, size_t s, const float *bias, float *const *y,
                        const float *const *residual, int activation) {
    switch (re_winograd_kind(m, r)) {
    case 0: RE_WINO_DISPATCH(isa, winograd_f23_output, mp, stride, s, bias, y, residual, activation);
    case 1: RE_WINO_DISPATCH(isa, winograd_f25_output, mp, stride, s, bias, y, residual, activation);
    case 2: RE_WINO_DISPATCH(isa, winograd_f43_output, mp, stride, s, bias, y, residual, activation);
    default: return;
    }
}

void re_winograd_output_gradient(int isa, int m, int r, const float *const *dy, size_t s, float *u, size_t stride) {
    switch (re_winograd_kind(m, r)) {
    case 0: RE_WINO_DISPATCH(isa, winograd_f23_output_gradient, dy, s, u, stride);
    case 1: RE_WINO_DISPATCH(isa, winograd_f25_output_gradient, dy, s, u, stride);
    case 2: RE_WINO_DISPATCH(isa, winograd_f43_output_gradient, dy, s, u, stride);
    default: return;
    }
}
