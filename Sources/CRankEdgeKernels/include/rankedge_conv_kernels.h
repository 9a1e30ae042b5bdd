/*
 * Convolution kernels of the runtime that are not GEMMs: depthwise conv and the separable form of
 * the rank-L spatial conv (METHODS.md section 1). Activations are NHWC float32, one image per call.
 * Each kernel exists for every ISA of re_isa; pass the one the model was compiled for.
 */
#ifndef RANKEDGE_CONV_KERNELS_H
#define RANKEDGE_CONV_KERNELS_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Depthwise conv: groups == channels, one filter per channel. */
typedef struct {
    size_t h, w, c;                 /* input image */
    size_t oh, ow;                  /* output image (c channels) */
    size_t kh, kw;
    size_t stride_h, stride_w;
    ptrdiff_t pad_top, pad_left;
    size_t dilation_h, dilation_w;
    const float *weights;           /* [kh][kw][c] */
    const float *bias;              /* [c] or NULL */
    int activation;                 /* re_activation */
} re_depthwise_params;

/* Output rows [oy0, oy1) of one image; residual (same layout as y) may be NULL. */
void re_depthwise_rows(int isa, const re_depthwise_params *p, const float *x, float *y,
                       const float *residual, size_t oy0, size_t oy1);

/*
 * Grouped conv with a multiple of 8 outputs per group and at most RE_GROUPED_MAX_CG inputs per group
 * (RegNet's group widths, and as one group the 3-channel stem convs of image models): per group, a
 * run of output pixels along a row times 16 (or the last 8) of the group's outputs is one register
 * tile of multiply-adds, whose A operand is read straight from the NHWC input through one pixel
 * pointer per tap (taps in the padding point at zeros), so nothing is copied into an im2col matrix.
 */
#define RE_GROUPED_MAX_CG 64
typedef struct {
    size_t h, w, c;                 /* input image, c = groups * cg */
    size_t oh, ow, s;               /* output image, s = groups * sg */
    size_t kh, kw;
    size_t stride_h, stride_w;
    ptrdiff_t pad_top, pad_left;
    size_t dilation_h, dilation_w;
    size_t groups, cg, sg;          /* sg: a multiple of 8; cg <= RE_GROUPED_MAX_CG */
    const float *weights;           /* [groups][kh][kw][cg][sg] */
    const float *bias;              /* [s] or NULL */
    int activation;                 /* re_activation */
} re_grouped_params;

/* Output rows [oy0, oy1) of one image; residual (same layout as y) may be NULL. */
void re_grouped_rows(int isa, const re_grouped_params *p, const float *x, float *y,
                     const float *residual, size_t oy0, size_t oy1);

/*
 * Rank-L spatial conv in separable form:
 *   y[oy, ox, o] = bias[o] + sum_c sum_l sum_i a[o,c,l,i] * (sum_j b[o,c,l,j] * x[oy*sh+i-pt, ox*sw+j-pl, c])
 * The horizontal factors b are applied first (T), then the vertical factors a; 2*L*k multiply-adds
 * per (output, input channel) pair instead of k*k.
 */
typedef struct {
    size_t h, w, c;                 /* input image */
    size_t oh, ow, s;               /* output image */
    size_t rank, k;
    size_t stride_h, stride_w;
    ptrdiff_t pad_top, pad_left;
    size_t sp;                      /* s rounded up to a multiple of 8 */
    const float *bh;                /* horizontal factors b: [c][k][rank][sp], zero for o >= s */
    const float *av;                /* vertical factors a: [c][rank][k][sp], zero for o >= s */
    const float *bias;              /* [s] or NULL */
    int activation;                 /* re_activation */
} re_rankconv_params;

/* Kernel sizes the separable kernel takes (larger ones run as reconstructed dense convs). */
#define RE_RANKCONV_MAX_K 16

/*
 * The tiles read one image's input as zero-padded planes, c planes of ((oh-1)*sh + k) x
 * ((ow-1)*sw + k) floats (re_rankconv_planar_floats in all), which re_rankconv_planar writes from
 * the NHWC image x, channels [c0, c1) per call so threads can share the work.
 */
size_t re_rankconv_planar_floats(const re_rankconv_params *p);
void re_rankconv_planar(const re_rankconv_params *p, const float *x, float *planar, size_t c0, size_t c1);

/* Per-call scratch floats re_rankconv_tile needs for `rows` output rows, an output-channel block
 * of `ob` and `group` input channels per pass. */
size_t re_rankconv_scratch_floats(const re_rankconv_params *p, size_t rows, size_t ob, size_t group);

/*
 * Output rows [oy0, oy1) and output channels [o0, o1) of one image (o0, o1 multiples of 8, o1 <= sp;
 * channels >= s are computed but not stored) from the image's planes, `group` input channels per
 * pass (more channels per pass read and write the accumulators less often but need a larger ring).
 * residual (same layout as y) may be NULL.
 */
void re_rankconv_tile(int isa, const re_rankconv_params *p, const float *planar, float *y, const float *residual,
                      size_t oy0, size_t oy1, size_t o0, size_t o1, size_t group, float *scratch);

/*
 * Direct conv for outputs with few channels (groups 1, stride 1, dilation 1): vectors run over 8
 * output pixels of a row instead of over output channels, so 9 or 19 channels fill the lanes that
 * a channel-vectorised GEMM tile would leave half empty; the accumulators of up to 12 output
 * channels stay in registers while every input channel and tap streams past.
 *   y[oy, ox, o] = act(bias[o] + residual + sum_c sum_i sum_j w[c,i,j,o] * x[oy+i-pt, ox+j-pl, c])
 */
typedef struct {
    size_t h, w, c;                 /* input image */
    size_t oh, ow, s;               /* output image */
    size_t kh, kw;
    ptrdiff_t pad_top, pad_left;
    const float *weights;           /* [c][kh][kw][s] */
    const float *bias;              /* [s] or NULL */
    int activation;                 /* re_activation */
} re_narrowconv_params;

/* Like the rank kernel, this one reads one image's input as zero-padded planes: c planes of
 * (oh + kh - 1) x (ow rounded up to 8, + kw - 1) floats, channels [c0, c1) written per call. */
size_t re_narrowconv_planar_floats(const re_narrowconv_params *p);
void re_narrowconv_planar(const re_narrowconv_params *p, const float *x, float *planar, size_t c0, size_t c1);

/* Output rows [oy0, oy1) of one image from its planes; residual (same layout as y) may be NULL. */
void re_narrowconv_rows(int isa, const re_narrowconv_params *p, const float *planar, float *y, const float *residual,
                        size_t oy0, size_t oy1);

/*
 * A low-rank chain 1x1 (C -> R1) -> narrow k x k core (R1 -> R2) -> 1x1 (R2 -> S) in one pass,
 * no nonlinearity inside (a Tucker-2 factorisation):
 *   - the first 1x1 writes the core's zero-padded planes directly (it replaces the planar copy);
 *   - the core runs as re_narrowconv_rows, a row at a time, into a planar row buffer;
 *   - the last 1x1 reads that row buffer (tiles of 6 pixels x 16 channels, like the GEMM's), adds
 *     bias and residual, applies the activation and stores NHWC.
 * The two narrow intermediates never reach memory in NHWC form.
 */
typedef struct {
    re_narrowconv_params core;      /* c = R1, s = R2; its bias is the core's, its activation unused */
    size_t c;                       /* chain input channels */
    const float *in_weights;        /* [R1][c] */
    const float *in_bias;           /* [R1] or NULL */
    size_t s;                       /* chain output channels */
    const float *out_weights;       /* [R2][s16], s16 = s rounded up to 16, zero padded */
    const float *out_bias;          /* [s16], zero padded, or NULL */
    int activation;                 /* re_activation, after the residual */
} re_narrowchain_params;

/* Plane rows [row0, row1) of one image's core input (re_narrowconv_planar_floats(&p->core) floats
 * for all rows), projected from the NHWC input x by the first 1x1. */
void re_narrowchain_project(int isa, const re_narrowchain_params *p, const float *x, float *planar, size_t row0, size_t row1);

/* Floats of the per-thread row buffer re_narrowchain_rows needs. */
size_t re_narrowchain_row_floats(const re_narrowchain_params *p);

/* Output rows [oy0, oy1) of one image from its projected planes; residual may be NULL. */
void re_narrowchain_rows(int isa, const re_narrowchain_params *p, const float *planar, float *y, const float *residual,
                         size_t oy0, size_t oy1, float *row_buffer);

/* ---- Winograd F(2x2, 3x3), F(2x2, 5x5) and F(4x4, 3x3) ------------------------------------- */
/* Each transform is named by its output tile m and kernel r (alpha = m + r - 1); other pairs do
 * nothing. */

/* Input transform of one tile: d holds the alpha² pixels of its alpha x alpha input patch
 * (row-major), each a pointer to c channels (a zero row where the patch leaves the image). Writes
 * transformed value i of channel ch to v[i * stride + ch]: row t of the alpha² GEMM A matrices
 * when v points at row t. */
void re_winograd_input(int isa, int m, int r, const float *const *d, size_t c, float *v, size_t stride);

/* Output transform of one tile: products mp[i * stride + o] (i < alpha², o < s) become the m x m
 * outputs y[0..m²) (row-major; a throwaway row where the tile overhangs the image), plus bias (may
 * be NULL), plus residual[0..m²) (residual may be NULL, or y itself), then the activation
 * (re_activation). */
void re_winograd_output(int isa, int m, int r, const float *mp, size_t stride, size_t s, const float *bias, float *const *y,
                        const float *const *residual, int activation);

/* The weight gradient's transform of one tile's output gradient, U = A dY Aᵀ: dy holds the m²
 * gradient pixels (row-major; a zero row where the tile overhangs the output), each s channels;
 * writes position i of channel o to u[i * stride + o]. */
void re_winograd_output_gradient(int isa, int m, int r, const float *const *dy, size_t s, float *u, size_t stride);

/* The transforms' matrices, row-major: Bᵀ (alpha x alpha), Aᵀ (m x alpha) and A (alpha x m). */
extern const float re_winograd_f23_bt[16];
extern const float re_winograd_f23_at[8];
extern const float re_winograd_f25_bt[36];
extern const float re_winograd_f25_at[12];
extern const float re_winograd_f43_at[24];
extern const float re_winograd_f23_a[8];
extern const float re_winograd_f25_a[12];
extern const float re_winograd_f43_a[24];


/* ---- Elementwise activations ---------------------------------------------------------------- */

/* The functions re_unary computes; the values are part of the Swift mapping (UnaryFunction). */
typedef enum {
    RE_UNARY_SIGMOID = 0,
    RE_UNARY_TANH = 1,
    RE_UNARY_HARD_SIGMOID = 2, /* max(0, min(1, alpha·x + beta)) */
    RE_UNARY_HARD_SWISH = 3,   /* x · max(0, min(1, x/6 + 1/2)) */
    RE_UNARY_SILU = 4,         /* x · sigmoid(x) */
    RE_UNARY_ERF = 5,
    RE_UNARY_GELU = 6,         /* x · (1 + erf(x/√2)) / 2 */
} re_unary_function;

/* y[i] = function(x[i]) for i < n (y may be x); alpha and beta are hard sigmoid's, unused otherwise.
 * NaN stays NaN. re_unary_<isa> are the per-ISA instances re_unary dispatches to. */
void re_unary(int isa, int function, const float *x, float *y, size_t n, float alpha, float beta);
#if !defined(__aarch64__)   /* on AArch64 the scalar ISA runs the NEON functions */
void re_unary_scalar(int function, const float *x, float *y, size_t n, float alpha, float beta);
#endif
#if defined(__x86_64__) || defined(_M_X64)
void re_unary_avx2(int function, const float *x, float *y, size_t n, float alpha, float beta);
#endif
#if defined(__aarch64__)
void re_unary_neon(int function, const float *x, float *y, size_t n, float alpha, float beta);
#endif

/* Rows row0 ..< row1 of a [rows, c] tensor scaled channel by channel (an SE block's gate):
 * y[r·c + k] = x[r·c + k] · gate[(r / rows_per_gate)·c + k]; y may be x. re_scale_rows_<isa> are
 * the per-ISA instances it dispatches to. */
void re_scale_rows(int isa, const float *x, const float *gate, float *y, size_t c, size_t rows_per_gate, size_t row0, size_t row1);
#if !defined(__aarch64__)
void re_scale_rows_scalar(const float *x, const float *gate, float *y, size_t c, size_t rows_per_gate, size_t row0, size_t row1);
#endif
#if defined(__x86_64__) || defined(_M_X64)
void re_scale_rows_avx2(const float *x, const float *gate, float *y, size_t c, size_t rows_per_gate, size_t row0, size_t row1);
#endif
#if defined(__aarch64__)
void re_scale_rows_neon(const float *x, const float *gate, float *y, size_t c, size_t rows_per_gate, size_t row0, size_t row1);
#endif

/* Rows row0 ..< row1 of a [rows, c] tensor, each normalised over its c values (layer norm over the
 * last axis): y = (x - mean) / sqrt(var + eps) · scale[k] + bias[k]; y may be x. */
void re_layer_norm_rows(int isa, const float *x, float *y, size_t c, const float *scale, const float *bias, float eps,
                        size_t row0, size_t row1);
#if !defined(__aarch64__)
void re_layer_norm_rows_scalar(const float *x, float *y, size_t c, const float *scale, const float *bias, float eps, size_t row0, size_t row1);
#endif
#if defined(__x86_64__) || defined(_M_X64)
void re_layer_norm_rows_avx2(const float *x, float *y, size_t c, const float *scale, const float *bias, float eps, size_t row0, size_t row1);
#endif
#if defined(__aarch64__)
void re_layer_norm_rows_neon(const float *x, float *y, size_t c, const float *scale, const float *bias, float eps, size_t row0, size_t row1);
#endif

/* ---- The kernel table ---------------------------------------------------------------------- */
/* Every kernel above exists once per ISA under a public name, re_<operation>_<isa> (re_depthwise_rows_avx2,
 * re_winograd_f43_output_neon, ...). re_conv_kernels_get gives one ISA's set, resolved once per
 * process; the re_* functions above that take an `isa` argument dispatch through it.
 * re_conv_kernel_at enumerates every entry of this build by name, for tests and benchmarks. */

typedef void (*re_depthwise_rows_fn)(const re_depthwise_params *p, const float *x, float *y, const float *residual,
                                     size_t oy0, size_t oy1);
typedef void (*re_grouped_rows_fn)(const re_grouped_params *p, const float *x, float *y, const float *residual,
                                   size_t oy0, size_t oy1);
typedef void (*re_narrowconv_rows_fn)(const re_narrowconv_params *p, const float *planar, float *y, const float *residual,
                                      size_t oy0, size_t oy1);
typedef void (*re_rankconv_tile_fn)(const re_rankconv_params *p, const float *planar, float *y, const float *residual,
                                    size_t oy0, size_t oy1, size_t o0, size_t o1, size_t group, float *scratch);
typedef void (*re_narrowchain_project_fn)(const re_narrowchain_params *p, const float *x, float *planar, size_t row0, size_t row1);
typedef void (*re_narrowchain_rows_fn)(const re_narrowchain_params *p, const float *planar, float *y, const float *residual,
                                       size_t oy0, size_t oy1, float *row_buffer);
typedef void (*re_winograd_input_fn)(const float *const *d, size_t c, float *v, size_t stride);
typedef void (*re_winograd_output_fn)(const float *mp, size_t stride, size_t s, const float *bias, float *const *y,
                                      const float *const *residual, int activation);
typedef void (*re_winograd_output_gradient_fn)(const float *const *dy, size_t s, float *u, size_t stride);

/* The Winograd algorithms, indexing the tables' Winograd entries. F(4x4, 3x3) shares F(2x2, 5x5)'s
 * input transform (the same points). */
typedef enum { RE_WINOGRAD_F23 = 0, RE_WINOGRAD_F25 = 1, RE_WINOGRAD_F43 = 2 } re_winograd_algorithm;
#define RE_WINOGRAD_ALGORITHMS 3

typedef struct {
    int isa;                        /* re_isa */
    re_depthwise_rows_fn depthwise_rows;
    re_grouped_rows_fn grouped_rows;
    re_narrowconv_rows_fn narrowconv_rows;
    re_rankconv_tile_fn rankconv_tile;
    re_narrowchain_project_fn narrowchain_project;
    re_narrowchain_rows_fn narrowchain_rows;
    re_winograd_input_fn winograd_input[RE_WINOGRAD_ALGORITHMS];
    re_winograd_output_fn winograd_output[RE_WINOGRAD_ALGORITHMS];
    re_winograd_output_gradient_fn winograd_output_gradient[RE_WINOGRAD_ALGORITHMS];
} re_conv_kernels;

/* One ISA's kernels (an re_isa value), or NULL when this build has none for it or the CPU cannot run them. */
const re_conv_kernels *re_conv_kernels_get(int isa);

typedef enum {
    RE_CONV_DEPTHWISE_ROWS, RE_CONV_NARROWCONV_ROWS, RE_CONV_RANKCONV_TILE, RE_CONV_NARROWCHAIN_PROJECT,
    RE_CONV_NARROWCHAIN_ROWS, RE_CONV_WINOGRAD_INPUT, RE_CONV_WINOGRAD_OUTPUT, RE_CONV_WINOGRAD_OUTPUT_GRADIENT,
    RE_CONV_GROUPED_ROWS
} re_conv_operation;

typedef struct {
    const char *name;               /* the function's own name */
    int isa;                        /* re_isa */
    re_conv_operation operation;
    int winograd;                   /* re_winograd_algorithm of a Winograd entry, -1 otherwise */
} re_conv_kernel_entry;

/* Entries of this build (every ISA it compiled, runnable on this CPU or not), by index or name. */
size_t re_conv_kernel_count(void);
const re_conv_kernel_entry *re_conv_kernel_at(size_t index);
const re_conv_kernel_entry *re_conv_kernel_named(const char *name);

#define RE_DECLARE_CONV_KERNELS(isa) \
    void re_depthwise_rows_##isa(const re_depthwise_params *p, const float *x, float *y, const float *residual, size_t oy0, size_t oy1); \
    void re_grouped_rows_##isa(const re_grouped_params *p, const float *x, float *y, const float *residual, size_t oy0, size_t oy1); \
    void re_narrowconv_rows_##isa(const re_narrowconv_params *p, const float *planar, float *y, const float *residual, size_t oy0, size_t oy1); \
    void re_rankconv_tile_##isa(const re_rankconv_params *p, const float *planar, float *y, const float *residual, size_t oy0, size_t oy1, \
                                size_t o0, size_t o1, size_t group, float *scratch); \
    void re_narrowchain_project_##isa(const re_narrowchain_params *p, const float *x, float *planar, size_t row0, size_t row1); \
    void re_narrowchain_rows_##isa(const re_narrowchain_params *p, const float *planar, float *y, const float *residual, size_t oy0, \
                                   size_t oy1, float *row_buffer); \
    void re_winograd_f23_input_##isa(const float *const *d, size_t c, float *v, size_t stride); \
    void re_winograd_f25_input_##isa(const float *const *d, size_t c, float *v, size_t stride); \
    void re_winograd_f23_output_##isa(const float *mp, size_t stride, size_t s, const float *bias, float *const *y, \
                                      const float *const *residual, int activation); \
    void re_winograd_f25_output_##isa(const float *mp, size_t stride, size_t s, const float *bias, float *const *y, \
                                      const float *const *residual, int activation); \
    void re_winograd_f43_output_##isa(const float *mp, size_t stride, size_t s, const float *bias, float *const *y, \
                                      const float *const *residual, int activation); \
    void re_winograd_f23_output_gradient_##isa(const float *const *dy, size_t s, float *u, size_t stride); \
    void re_winograd_f25_output_gradient_##isa(const float *const *dy, size_t s, float *u, size_t stride); \
    void re_winograd_f43_output_gradient_##isa(const float *const *dy, size_t s, float *u, size_t stride);

#if !defined(__aarch64__)   /* on AArch64 the scalar ISA runs the NEON functions */
RE_DECLARE_CONV_KERNELS(scalar)
#endif
#if defined(__x86_64__) || defined(_M_X64)
RE_DECLARE_CONV_KERNELS(avx2)
#endif
#if defined(__aarch64__)
RE_DECLARE_CONV_KERNELS(neon)
#endif

#ifdef __cplusplus
}
#endif

#endif
