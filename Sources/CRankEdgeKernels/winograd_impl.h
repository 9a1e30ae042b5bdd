/*
 * Winograd F(2x2, 3x3) transforms (Lavin & Gray), written once with 8-wide vector extensions and
 * instantiated per ISA by conv_kernels.c after conv_kernels_impl.h (whose load, store, splat and
 * activate helpers they use). Channels are innermost (NHWC), so one vector covers 8 channels of one
 * tile position and no transposes are needed. Not a public header.
 *
 *   input   V = Bᵀ d B,  Bᵀ = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1]
 *   output  Y = Aᵀ M A,  Aᵀ = [1 1 1 0; 0 1 -1 -1]
 * (the weight transform U = G g Gᵀ runs once, at compile time, in Swift). F(2x2, 3x3) is written
 * out by hand; F(2x2, 5x5) goes through the matrix form below, with its tables from conv_kernels.c.
 */

#define RE_CAT2(a, b) a##_##b
#define RE_CAT(a, b) RE_CAT2(a, b)
#define RE_FN(name) RE_CAT(name, RE_SUFFIX)
#define RE_INLINE static inline __attribute__((always_inline)) RE_ATTR

/* The 16 transformed values of one 4x4 input patch (row-major). */
RE_INLINE void RE_FN(wino_input_tile)(const re_v8 d[16], re_v8 v[16]) {
    re_v8 t[16];
    for (int j = 0; j < 4; j++) {
        t[0 * 4 + j] = d[0 * 4 + j] - d[2 * 4 + j];
        t[1 * 4 + j] = d[1 * 4 + j] + d[2 * 4 + j];
        t[2 * 4 + j] = d[2 * 4 + j] - d[1 * 4 + j];
        t[3 * 4 + j] = d[1 * 4 + j] - d[3 * 4 + j];
    }
    for (int i = 0; i < 4; i++) {
        v[i * 4 + 0] = t[i * 4 + 0] - t[i * 4 + 2];
        v[i * 4 + 1] = t[i * 4 + 1] + t[i * 4 + 2];
        v[i * 4 + 2] = t[i * 4 + 2] - t[i * 4 + 1];
        v[i * 4 + 3] = t[i * 4 + 1] - t[i * 4 + 3];
    }
}

/* The 2x2 outputs (row-major) of one tile's 16 products. */
RE_INLINE void RE_FN(wino_output_tile)(const re_v8 m[16], re_v8 y[4]) {
    re_v8 s[8];
    for (int j = 0; j < 4; j++) {
        s[0 * 4 + j] = m[0 * 4 + j] + m[1 * 4 + j] + m[2 * 4 + j];
        s[1 * 4 + j] = m[1 * 4 + j] - m[2 * 4 + j] - m[3 * 4 + j];
    }
    for (int i = 0; i < 2; i++) {
        y[i * 2 + 0] = s[i * 4 + 0] + s[i * 4 + 1] + s[i * 4 + 2];
        y[i * 2 + 1] = s[i * 4 + 1] - s[i * 4 + 2] - s[i * 4 + 3];
    }
}

/* Loads n (1..8) floats into the low lanes of a zeroed vector: channel tails go through the same
 * vector code as full groups. */
RE_INLINE re_v8 RE_FN(load_n)(const float *p, size_t n) {
    re_v8 v = {0};
    memcpy(&v, p, n * sizeof(float));
    return v;
}

RE_INLINE void RE_FN(store_n)(float *p, re_v8 v, size_t n) { memcpy(p, &v, n * sizeof(float)); }

static RE_ATTR void RE_FN(winograd_f23_input)(const float *const *d, size_t c, float *v, size_t stride) {
    for (size_t ch = 0; ch < c; ch += 8) {
        const size_t n = c - ch < 8 ? c - ch : 8;
        re_v8 x[16], out[16];
        if (n == 8) {
            for (int i = 0; i < 16; i++) x[i] = RE_FN(load)(d[i] + ch);
        } else {
            for (int i = 0; i < 16; i++) x[i] = RE_FN(load_n)(d[i] + ch, n);
        }
        RE_FN(wino_input_tile)(x, out);
        if (n == 8) {
            for (int i = 0; i < 16; i++) RE_FN(store)(v + i * stride + ch, out[i]);
        } else {
            for (int i = 0; i < 16; i++) RE_FN(store_n)(v + i * stride + ch, out[i], n);
        }
    }
}

static RE_ATTR void RE_FN(winograd_f23_output)(const float *m, size_t stride, size_t s, const float *bias,
                                               float *const *y, const float *const *r, int act) {
    for (size_t o = 0; o < s; o += 8) {
        const size_t n = s - o < 8 ? s - o : 8;
        re_v8 x[16], out[4];
        if (n == 8) {
            for (int i = 0; i < 16; i++) x[i] = RE_FN(load)(m + i * stride + o);
        } else {
            for (int i = 0; i < 16; i++) x[i] = RE_FN(load_n)(m + i * stride + o, n);
        }
        RE_FN(wino_output_tile)(x, out);
        const re_v8 b = bias ? (n == 8 ? RE_FN(load)(bias + o) : RE_FN(load_n)(bias + o, n)) : RE_FN(splat)(0.0f);
        for (int i = 0; i < 4; i++) {
            re_v8 v = out[i] + b;
            if (r) v += n == 8 ? RE_FN(load)(r[i] + o) : RE_FN(load_n)(r[i] + o, n);
            v = RE_FN(activate)(v, act);
            if (n == 8) {
                RE_FN(store)(y[i] + o, v);
            } else {
                RE_FN(store_n)(y[i] + o, v, n);
            }
        }
    }
}

/* ---- F(2x2, 5x5) in matrix form ------------------------------------------------------------- */

/* Bᵀ d B for one alpha x alpha patch of 8-channel vectors (bt: alpha x alpha, row-major), and Aᵀ M A
 * into m x m outputs (at: m x alpha). Called with constant sizes and tables, so the loops unroll
 * and the zero and unit coefficients fold away. */
RE_INLINE void RE_FN(wino_input_matrix)(const size_t alpha, const float *bt, const re_v8 *d, re_v8 *v) {
    re_v8 t[RE_WINO_MAX_ALPHA * RE_WINO_MAX_ALPHA];
    const re_v8 zero = {0};
#pragma clang loop unroll(full)
    for (size_t i = 0; i < alpha; i++)
#pragma clang loop unroll(full)
        for (size_t j = 0; j < alpha; j++) {
            re_v8 acc = zero;
#pragma clang loop unroll(full)
            for (size_t k = 0; k < alpha; k++)
                if (bt[i * alpha + k] != 0.0f) acc += RE_FN(splat)(bt[i * alpha + k]) * d[k * alpha + j];
            t[i * alpha + j] = acc;
        }
#pragma clang loop unroll(full)
    for (size_t i = 0; i < alpha; i++)
#pragma clang loop unroll(full)
        for (size_t j = 0; j < alpha; j++) {
            re_v8 acc = zero;
#pragma clang loop unroll(full)
            for (size_t k = 0; k < alpha; k++)
                if (bt[j * alpha + k] != 0.0f) acc += RE_FN(splat)(bt[j * alpha + k]) * t[i * alpha + k];
            v[i * alpha + j] = acc;
        }
}

RE_INLINE void RE_FN(wino_output_matrix)(const size_t alpha, const size_t m, const float *at, const re_v8 *x, re_v8 *y) {
    re_v8 s[RE_WINO_MAX_ALPHA * RE_WINO_MAX_ALPHA];
    const re_v8 zero = {0};
#pragma clang loop unroll(full)
    for (size_t i = 0; i < m; i++)
#pragma clang loop unroll(full)
        for (size_t j = 0; j < alpha; j++) {
            re_v8 acc = zero;
#pragma clang loop unroll(full)
            for (size_t k = 0; k < alpha; k++)
                if (at[i * alpha + k] != 0.0f) acc += RE_FN(splat)(at[i * alpha + k]) * x[k * alpha + j];
            s[i * alpha + j] = acc;
        }
#pragma clang loop unroll(full)
    for (size_t i = 0; i < m; i++)
#pragma clang loop unroll(full)
        for (size_t j = 0; j < m; j++) {
            re_v8 acc = zero;
#pragma clang loop unroll(full)
            for (size_t k = 0; k < alpha; k++)
                if (at[j * alpha + k] != 0.0f) acc += RE_FN(splat)(at[j * alpha + k]) * s[i * alpha + k];
            y[i * m + j] = acc;
        }
}

static RE_ATTR void RE_FN(winograd_f25_input)(const float *const *d, size_t c, float *v, size_t stride) {
    for (size_t ch = 0; ch < c; ch += 8) {
        const size_t n = c - ch < 8 ? c - ch : 8;
        re_v8 x[36], out[36];
        if (n == 8) {
            for (int i = 0; i < 36; i++) x[i] = RE_FN(load)(d[i] + ch);
        } else {
            for (int i = 0; i < 36; i++) x[i] = RE_FN(load_n)(d[i] + ch, n);
        }
        RE_FN(wino_input_matrix)(6, re_winograd_f25_bt, x, out);
        if (n == 8) {
            for (int i = 0; i < 36; i++) RE_FN(store)(v + i * stride + ch, out[i]);
        } else {
            for (int i = 0; i < 36; i++) RE_FN(store_n)(v + i * stride + ch, out[i], n);
        }
    }
}

static RE_ATTR void RE_FN(winograd_f25_output)(const float *m, size_t stride, size_t s, const float *bias,
                                               float *const *y, const float *const *r, int act) {
    for (size_t o = 0; o < s; o += 8) {
        const size_t n = s - o < 8 ? s - o : 8;
        re_v8 x[36], out[4];
        if (n == 8) {
            for (int i = 0; i < 36; i++) x[i] = RE_FN(load)(m + i * stride + o);
        } else {
            for (int i = 0; i < 36; i++) x[i] = RE_FN(load_n)(m + i * stride + o, n);
        }
        RE_FN(wino_output_matrix)(6, 2, re_winograd_f25_at, x, out);
        const re_v8 b = bias ? (n == 8 ? RE_FN(load)(bias + o) : RE_FN(load_n)(bias + o, n)) : RE_FN(splat)(0.0f);
        for (int i = 0; i < 4; i++) {
            re_v8 v = out[i] + b;
            if (r) v += n == 8 ? RE_FN(load)(r[i] + o) : RE_FN(load_n)(r[i] + o, n);
            v = RE_FN(activate)(v, act);
            if (n == 8) {
                RE_FN(store)(y[i] + o, v);
            } else {
                RE_FN(store_n)(y[i] + o, v, n);
            }
        }
    }
}

#undef RE_INLINE
#undef RE_FN
#undef RE_CAT
#undef RE_CAT2
