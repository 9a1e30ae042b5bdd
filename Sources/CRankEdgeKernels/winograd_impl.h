/*
 * Winograd F(2x2, 3x3), F(2x2, 5x5) and F(4x4, 3x3) transforms (Lavin & Gray), written once with 8-wide vector
 * extensions and instantiated per ISA by conv_kernels.c after conv_kernels_impl.h (whose load,
 * store, splat and activate helpers they use). Channels are innermost (NHWC), so one vector covers
 * 8 channels of one tile position and no transposes are needed. Not a public header.
 *
 *   input   V = Bᵀ d B   (d: alpha x alpha patch)
 *   output  Y = Aᵀ M A   (Y: m x m outputs)
 *   output gradient (the weight gradient's)  U = A dY Aᵀ
 * with the matrices of conv_kernels.c (WinogradTransform in Swift builds the same ones and computes
 * the weight transform U = G g Gᵀ). The sizes and tables are compile-time constants at every call,
 * so the loops unroll and the zero and unit coefficients fold away: the result is the written-out
 * transform.
 */

#define RE_CAT2(a, b) a##_##b
#define RE_CAT(a, b) RE_CAT2(a, b)
#define RE_FN(name) RE_CAT(name, RE_SUFFIX)
#define RE_INLINE static inline __attribute__((always_inline)) RE_ATTR

/* Loads or stores the first n (1..8) floats at each of count places (the i-th at p[i] + offset, or
 * at p + i * stride); a partial load fills the other lanes with zeros, so channel tails go through
 * the same vector code as full groups. The test of n stays outside the loops. */
RE_INLINE void RE_FN(load_each)(re_v8 *x, size_t count, const float *const *p, size_t offset, size_t n) {
    if (n == 8) {
        for (size_t i = 0; i < count; i++) x[i] = RE_FN(load)(p[i] + offset);
    } else {
        for (size_t i = 0; i < count; i++) {
            x[i] = RE_FN(splat)(0.0f);
            memcpy(&x[i], p[i] + offset, n * sizeof(float));
        }
    }
}

RE_INLINE void RE_FN(load_strided)(re_v8 *x, size_t count, const float *p, size_t stride, size_t n) {
    if (n == 8) {
        for (size_t i = 0; i < count; i++) x[i] = RE_FN(load)(p + i * stride);
    } else {
        for (size_t i = 0; i < count; i++) {
            x[i] = RE_FN(splat)(0.0f);
            memcpy(&x[i], p + i * stride, n * sizeof(float));
        }
    }
}

RE_INLINE void RE_FN(store_strided)(float *p, size_t stride, const re_v8 *x, size_t count, size_t n) {
    if (n == 8) {
        for (size_t i = 0; i < count; i++) RE_FN(store)(p + i * stride, x[i]);
    } else {
        for (size_t i = 0; i < count; i++) memcpy(p + i * stride, &x[i], n * sizeof(float));
    }
}

/* One side of a two-sided transform, with coef row-major:
 *   left:   out[i][j] = Σk coef[i][k] · x[k][j]   (x: inner x cols, coef: rows x inner)
 *   right:  out[i][j] = Σk coef[j][k] · x[i][k]   (x: rows x inner, coef: cols x inner)
 * so M ↦ C M Cᵀ is a left pass then a right pass. Sums start from -0.0, which adding a first term
 * leaves exactly that term, so a coefficient of 1 costs nothing. */
RE_INLINE void RE_FN(wino_pass)(const int right, const size_t rows, const size_t cols, const size_t inner,
                                const float *coef, const re_v8 *x, re_v8 *out) {
#pragma clang loop unroll(full)
    for (size_t i = 0; i < rows; i++)
#pragma clang loop unroll(full)
        for (size_t j = 0; j < cols; j++) {
            re_v8 acc = RE_FN(splat)(-0.0f);
#pragma clang loop unroll(full)
            for (size_t k = 0; k < inner; k++) {
                const float c = right ? coef[j * inner + k] : coef[i * inner + k];
                if (c != 0.0f) acc += RE_FN(splat)(c) * (right ? x[i * inner + k] : x[k * cols + j]);
            }
            out[i * cols + j] = acc;
        }
}

/* Input transform of 8 channels (n of them real) of one tile. */
RE_INLINE void RE_FN(wino_input_group)(const size_t alpha, const float *bt, const float *const *d, size_t ch, size_t n,
                                       float *v, size_t stride) {
    re_v8 x[RE_WINO_MAX_ALPHA * RE_WINO_MAX_ALPHA], t[RE_WINO_MAX_ALPHA * RE_WINO_MAX_ALPHA];
    RE_FN(load_each)(x, alpha * alpha, d, ch, n);
    RE_FN(wino_pass)(0, alpha, alpha, alpha, bt, x, t);
    RE_FN(wino_pass)(1, alpha, alpha, alpha, bt, t, x);
    RE_FN(store_strided)(v + ch, stride, x, alpha * alpha, n);
}

/* Input transform of one tile over all channels (see re_winograd_f23_input). With 8 channels or
 * more, a tail of n < 8 is done as the full group ending at the last channel: it recomputes a few
 * channels bit for bit instead of going through partial loads and stores. */
RE_INLINE void RE_FN(wino_input)(const size_t alpha, const float *bt, const float *const *d, size_t c, float *v,
                                 size_t stride) {
    if (c < 8) {
        RE_FN(wino_input_group)(alpha, bt, d, 0, c, v, stride);
        return;
    }
    size_t ch = 0;
    for (; ch + 8 <= c; ch += 8) RE_FN(wino_input_group)(alpha, bt, d, ch, 8, v, stride);
    if (ch < c) RE_FN(wino_input_group)(alpha, bt, d, c - 8, 8, v, stride);
}

/* Output transform of 8 output channels (n of them real) of one tile, with bias, residual and
 * activation, into out[m * m]. */
RE_INLINE void RE_FN(wino_output_group)(const size_t alpha, const size_t m, const float *at, const float *mp,
                                        size_t stride, size_t o, size_t n, const float *bias, const float *const *r,
                                        int act, re_v8 *out) {
    re_v8 x[RE_WINO_MAX_ALPHA * RE_WINO_MAX_ALPHA], half[RE_WINO_MAX_ALPHA * RE_WINO_MAX_ALPHA], add[RE_WINO_MAX_M * RE_WINO_MAX_M];
    RE_FN(load_strided)(x, alpha * alpha, mp + o, stride, n);
    RE_FN(wino_pass)(0, m, alpha, alpha, at, x, half);
    RE_FN(wino_pass)(1, m, m, alpha, at, half, out);
    re_v8 b = RE_FN(splat)(0.0f);
    if (bias) RE_FN(load_strided)(&b, 1, bias + o, 0, n);
    for (size_t i = 0; i < m * m; i++) out[i] += b;
    if (r) {
        RE_FN(load_each)(add, m * m, r, o, n);
        for (size_t i = 0; i < m * m; i++) out[i] += add[i];
    }
    for (size_t i = 0; i < m * m; i++) out[i] = RE_FN(activate)(out[i], act);
}

RE_INLINE void RE_FN(wino_store_group)(float *const *y, size_t o, size_t n, const re_v8 *out, size_t count) {
    if (n == 8) {
        for (size_t i = 0; i < count; i++) RE_FN(store)(y[i] + o, out[i]);
    } else {
        for (size_t i = 0; i < count; i++) memcpy(y[i] + o, &out[i], n * sizeof(float));
    }
}

/* Output transform of one tile over all output channels, with bias, residual and activation (see
 * re_winograd_f23_output). With 8 channels or more, a tail of n < 8 is the full group ending at the
 * last channel. It is computed first, while the residual (which may be y itself) is still
 * unwritten, and stored last, where its overlap with the previous group writes the same values. */
RE_INLINE void RE_FN(wino_output)(const size_t alpha, const size_t m, const float *at, const float *mp, size_t stride,
                                  size_t s, const float *bias, float *const *y, const float *const *r, int act) {
    re_v8 out[RE_WINO_MAX_M * RE_WINO_MAX_M];
    if (s < 8) {
        RE_FN(wino_output_group)(alpha, m, at, mp, stride, 0, s, bias, r, act, out);
        RE_FN(wino_store_group)(y, 0, s, out, m * m);
        return;
    }
    const size_t full = s / 8 * 8;
    re_v8 tail[RE_WINO_MAX_M * RE_WINO_MAX_M];
    if (full < s) RE_FN(wino_output_group)(alpha, m, at, mp, stride, s - 8, 8, bias, r, act, tail);
    for (size_t o = 0; o < full; o += 8) {
        RE_FN(wino_output_group)(alpha, m, at, mp, stride, o, 8, bias, r, act, out);
        RE_FN(wino_store_group)(y, o, 8, out, m * m);
    }
    if (full < s) RE_FN(wino_store_group)(y, s - 8, 8, tail, m * m);
}

/* U = A dY Aᵀ of 8 channels (n of them real) of one tile's m x m output gradient. */
RE_INLINE void RE_FN(wino_output_gradient_group)(const size_t alpha, const size_t m, const float *a, const float *const *dy,
                                                 size_t o, size_t n, float *u, size_t stride) {
    re_v8 x[RE_WINO_MAX_M * RE_WINO_MAX_M], t[RE_WINO_MAX_ALPHA * RE_WINO_MAX_M], out[RE_WINO_MAX_ALPHA * RE_WINO_MAX_ALPHA];
    RE_FN(load_each)(x, m * m, dy, o, n);
    RE_FN(wino_pass)(0, alpha, m, m, a, x, t);
    RE_FN(wino_pass)(1, alpha, alpha, m, a, t, out);
    RE_FN(store_strided)(u + o, stride, out, alpha * alpha, n);
}

/* Over all s channels; a tail of n < 8 with 8 channels or more is the full group ending at the last
 * channel (its inputs are read only, so the overlap writes the same values twice). */
RE_INLINE void RE_FN(wino_output_gradient)(const size_t alpha, const size_t m, const float *a, const float *const *dy,
                                           size_t s, float *u, size_t stride) {
    if (s < 8) {
        RE_FN(wino_output_gradient_group)(alpha, m, a, dy, 0, s, u, stride);
        return;
    }
    size_t o = 0;
    for (; o + 8 <= s; o += 8) RE_FN(wino_output_gradient_group)(alpha, m, a, dy, o, 8, u, stride);
    if (o < s) RE_FN(wino_output_gradient_group)(alpha, m, a, dy, s - 8, 8, u, stride);
}

#ifndef RE_ENTRY
#error "winograd_impl.h is included after conv_kernels_impl.h, which defines the naming macros"
#endif

RE_ATTR void RE_ENTRY(winograd_f23_input)(const float *const *d, size_t c, float *v, size_t stride) {
    RE_FN(wino_input)(4, re_winograd_f23_bt, d, c, v, stride);
}

RE_ATTR void RE_ENTRY(winograd_f23_output)(const float *m, size_t stride, size_t s, const float *bias,
                                               float *const *y, const float *const *r, int act) {
    RE_FN(wino_output)(4, 2, re_winograd_f23_at, m, stride, s, bias, y, r, act);
}

RE_ATTR void RE_ENTRY(winograd_f25_input)(const float *const *d, size_t c, float *v, size_t stride) {
    RE_FN(wino_input)(6, re_winograd_f25_bt, d, c, v, stride);
}

RE_ATTR void RE_ENTRY(winograd_f25_output)(const float *m, size_t stride, size_t s, const float *bias,
                                               float *const *y, const float *const *r, int act) {
    RE_FN(wino_output)(6, 2, re_winograd_f25_at, m, stride, s, bias, y, r, act);
}

RE_ATTR void RE_ENTRY(winograd_f43_output)(const float *m, size_t stride, size_t s, const float *bias,
                                               float *const *y, const float *const *r, int act) {
    RE_FN(wino_output)(6, 4, re_winograd_f43_at, m, stride, s, bias, y, r, act);
}

RE_ATTR void RE_ENTRY(winograd_f23_output_gradient)(const float *const *dy, size_t s, float *u, size_t stride) {
    RE_FN(wino_output_gradient)(4, 2, re_winograd_f23_a, dy, s, u, stride);
}

RE_ATTR void RE_ENTRY(winograd_f25_output_gradient)(const float *const *dy, size_t s, float *u, size_t stride) {
    RE_FN(wino_output_gradient)(6, 2, re_winograd_f25_a, dy, s, u, stride);
}

RE_ATTR void RE_ENTRY(winograd_f43_output_gradient)(const float *const *dy, size_t s, float *u, size_t stride) {
    RE_FN(wino_output_gradient)(6, 4, re_winograd_f43_a, dy, s, u, stride);
}

#undef RE_INLINE
#undef RE_FN
#undef RE_ENTRY
#undef RE_CAT
#undef RE_CAT2
