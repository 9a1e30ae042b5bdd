/*
 * The conv kernels that are not GEMMs (depthwise, narrow direct, separable rank-L, narrow chain,
 * Winograd transforms): one body (conv_kernels_impl.h, winograd_impl.h) instantiated per ISA under
 * public names, the per-ISA tables, and the dispatch through them. The AVX2 instance is compiled
 * through a target attribute only, and its table is given out only when re_cpu_supports(RE_ISA_AVX2)
 * (or, for AVX-512 models, re_cpu_supports(RE_ISA_AVX512)) says so.
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

/* What the grouped kernel's padding taps read (re_grouped_params). */
static const float re_grouped_zeros[RE_GROUPED_MAX_CG];

#define RE_INSTANCE_BODY "conv_kernels_impl.h"
#define RE_INSTANCE_BODY_2 "winograd_impl.h"
#include "isa_instances.h"

#define RE_CONV_TABLE(isa_value, isa) {                                                                    \
    isa_value, re_depthwise_rows_##isa, re_grouped_rows_##isa, re_narrowconv_rows_##isa, re_rankconv_tile_##isa,                    \
    re_narrowchain_project_##isa, re_narrowchain_rows_##isa,                                                 \
    {re_winograd_f23_input_##isa, re_winograd_f25_input_##isa, re_winograd_f25_input_##isa},                 \
    {re_winograd_f23_output_##isa, re_winograd_f25_output_##isa, re_winograd_f43_output_##isa},              \
    {re_winograd_f23_output_gradient_##isa, re_winograd_f25_output_gradient_##isa,                           \
     re_winograd_f43_output_gradient_##isa}}

#if defined(__aarch64__)
/* No portable instance here (isa_instances.h): the scalar ISA runs the NEON functions. */
static const re_conv_kernels re_conv_scalar = RE_CONV_TABLE(RE_ISA_SCALAR, neon);
#else
static const re_conv_kernels re_conv_scalar = RE_CONV_TABLE(RE_ISA_SCALAR, scalar);
#endif
#if defined(__x86_64__) || defined(_M_X64)
static const re_conv_kernels re_conv_avx2 = RE_CONV_TABLE(RE_ISA_AVX2, avx2);
#endif
#if defined(__aarch64__)
static const re_conv_kernels re_conv_neon = RE_CONV_TABLE(RE_ISA_NEON, neon);
#endif

const re_conv_kernels *re_conv_kernels_get(int isa) {
    switch (isa) {
    case RE_ISA_SCALAR: return &re_conv_scalar;
#if defined(__x86_64__) || defined(_M_X64)
    case RE_ISA_AVX2: return re_cpu_supports(RE_ISA_AVX2) ? &re_conv_avx2 : NULL;
    /* AVX-512 has its own GEMM kernels only; these bodies run as the AVX2 instance (isa_instances.h). */
    case RE_ISA_AVX512: return re_cpu_supports(RE_ISA_AVX512) ? &re_conv_avx2 : NULL;
#endif
#if defined(__aarch64__)
    case RE_ISA_NEON: return &re_conv_neon;
#endif
    default: return NULL;
    }
}

/* The set the `isa` argument of the dispatching functions names, the portable one where it cannot run. */
static inline const re_conv_kernels *re_conv_for(int isa) {
    const re_conv_kernels *k = re_conv_kernels_get(isa);
    return k ? k : &re_conv_scalar;
}

#define RE_CONV_ENTRIES(isa_value, isa)                                                                     \
    {"re_depthwise_rows_" #isa, isa_value, RE_CONV_DEPTHWISE_ROWS, -1},                                      \
    {"re_grouped_rows_" #isa, isa_value, RE_CONV_GROUPED_ROWS, -1},                                          \
    {"re_narrowconv_rows_" #isa, isa_value, RE_CONV_NARROWCONV_ROWS, -1},                                    \
    {"re_rankconv_tile_" #isa, isa_value, RE_CONV_RANKCONV_TILE, -1},                                        \
    {"re_narrowchain_project_" #isa, isa_value, RE_CONV_NARROWCHAIN_PROJECT, -1},                            \
    {"re_narrowchain_rows_" #isa, isa_value, RE_CONV_NARROWCHAIN_ROWS, -1},                                  \
    {"re_winograd_f23_input_" #isa, isa_value, RE_CONV_WINOGRAD_INPUT, RE_WINOGRAD_F23},                     \
    {"re_winograd_f25_input_" #isa, isa_value, RE_CONV_WINOGRAD_INPUT, RE_WINOGRAD_F25},                     \
    {"re_winograd_f23_output_" #isa, isa_value, RE_CONV_WINOGRAD_OUTPUT, RE_WINOGRAD_F23},                   \
    {"re_winograd_f25_output_" #isa, isa_value, RE_CONV_WINOGRAD_OUTPUT, RE_WINOGRAD_F25},                   \
    {"re_winograd_f43_output_" #isa, isa_value, RE_CONV_WINOGRAD_OUTPUT, RE_WINOGRAD_F43},                   \
    {"re_winograd_f23_output_gradient_" #isa, isa_value, RE_CONV_WINOGRAD_OUTPUT_GRADIENT, RE_WINOGRAD_F23}, \
    {"re_winograd_f25_output_gradient_" #isa, isa_value, RE_CONV_WINOGRAD_OUTPUT_GRADIENT, RE_WINOGRAD_F25}, \
    {"re_winograd_f43_output_gradient_" #isa, isa_value, RE_CONV_WINOGRAD_OUTPUT_GRADIENT, RE_WINOGRAD_F43}

static const re_conv_kernel_entry re_conv_entries[] = {
    RE_CONV_ENTRIES(RE_ISA_SCALAR, scalar),
#if defined(__x86_64__) || defined(_M_X64)
    RE_CONV_ENTRIES(RE_ISA_AVX2, avx2),
#endif
#if defined(__aarch64__)
    RE_CONV_ENTRIES(RE_ISA_NEON, neon),
#endif
};

size_t re_conv_kernel_count(void) { return sizeof re_conv_entries / sizeof re_conv_entries[0]; }

const re_conv_kernel_entry *re_conv_kernel_at(size_t index) {
    return index < re_conv_kernel_count() ? &re_conv_entries[index] : NULL;
}

const re_conv_kernel_entry *re_conv_kernel_named(const char *name) {
    for (size_t i = 0; i < re_conv_kernel_count(); i++) {
        if (strcmp(re_conv_entries[i].name, name) == 0) return &re_conv_entries[i];
    }
    return NULL;
}

void re_depthwise_rows(int isa, const re_depthwise_params *p, const float *x, float *y,
                       const float *residual, size_t oy0, size_t oy1) {
    re_conv_for(isa)->depthwise_rows(p, x, y, residual, oy0, oy1);
}

void re_grouped_rows(int isa, const re_grouped_params *p, const float *x, float *y,
                     const float *residual, size_t oy0, size_t oy1) {
    re_conv_for(isa)->grouped_rows(p, x, y, residual, oy0, oy1);
}

void re_narrowconv_rows(int isa, const re_narrowconv_params *p, const float *planar, float *y, const float *residual,
                        size_t oy0, size_t oy1) {
    re_conv_for(isa)->narrowconv_rows(p, planar, y, residual, oy0, oy1);
}

void re_rankconv_tile(int isa, const re_rankconv_params *p, const float *planar, float *y, const float *residual,
                      size_t oy0, size_t oy1, size_t o0, size_t o1, size_t group, float *scratch) {
    if (oy1 <= oy0 || o1 <= o0) return;
    re_conv_for(isa)->rankconv_tile(p, planar, y, residual, oy0, oy1, o0, o1, group == 0 ? 1 : group, scratch);
}

/* The row buffer [R2][ow8], plus one vector of slack for the last channel's 6-pixel tiles. */
size_t re_narrowchain_row_floats(const re_narrowchain_params *p) { return re_round16(p->core.s * ((p->core.ow + 7) / 8 * 8) + 8); }

void re_narrowchain_project(int isa, const re_narrowchain_params *p, const float *x, float *planar, size_t row0, size_t row1) {
    re_conv_for(isa)->narrowchain_project(p, x, planar, row0, row1);
}

void re_narrowchain_rows(int isa, const re_narrowchain_params *p, const float *planar, float *y, const float *residual,
                         size_t oy0, size_t oy1, float *row_buffer) {
    re_conv_for(isa)->narrowchain_rows(p, planar, y, residual, oy0, oy1, row_buffer);
}

/* Which algorithm (m, r) names, -1 for none. */
static int re_winograd_kind(int m, int r) {
    if (m == 2 && r == 3) return RE_WINOGRAD_F23;
    if (m == 2 && r == 5) return RE_WINOGRAD_F25;
    if (m == 4 && r == 3) return RE_WINOGRAD_F43;
    return -1;
}

void re_winograd_input(int isa, int m, int r, const float *const *d, size_t c, float *v, size_t stride) {
    const int kind = re_winograd_kind(m, r);
    if (kind >= 0) re_conv_for(isa)->winograd_input[kind](d, c, v, stride);
}

void re_winograd_output(int isa, int m, int r, const float *mp, size_t stride, size_t s, const float *bias, float *const *y,
                        const float *const *residual, int activation) {
    const int kind = re_winograd_kind(m, r);
    if (kind >= 0) re_conv_for(isa)->winograd_output[kind](mp, stride, s, bias, y, residual, activation);
}

void re_winograd_output_gradient(int isa, int m, int r, const float *const *dy, size_t s, float *u, size_t stride) {
    const int kind = re_winograd_kind(m, r);
    if (kind >= 0) re_conv_for(isa)->winograd_output_gradient[kind](dy, s, u, stride);
}
