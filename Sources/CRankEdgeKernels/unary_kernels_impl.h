/*
 * Body of the elementwise activation kernel (re_unary), the channel scaling (re_scale_rows) and the
 * layer norm (re_layer_norm_rows), written once with 8-wide vector extensions
 * and instantiated per ISA by unary_kernels.c through isa_instances.h, as the conv kernels are.
 * Not a public header.
 *
 * exp, tanh and erf are evaluated with polynomials fitted for this file (least squares at Chebyshev
 * nodes, relative weights; tools/fit_unary_polynomials.py reproduces them), so a vector of 8 costs
 * a few dozen multiply-adds instead of 8 libm calls. Accuracy against libm, float32: exp a few ulp,
 * sigmoid / SiLU / tanh below 1e-6 relative, erf / GELU below 2e-7 absolute.
 * NaN inputs give NaN outputs, as the reference functions do (UnaryFunction in Swift).
 */

#include "vec8_impl.h"

RE_INLINE re_v8 RE_FN(abs)(re_v8 x) { return (re_v8)((re_v8i)x & 0x7fffffff); }
/* |magnitude| with the sign of `sign`. */
RE_INLINE re_v8 RE_FN(with_sign_of)(re_v8 magnitude, re_v8 sign) {
    return (re_v8)(((re_v8i)magnitude & 0x7fffffff) | ((re_v8i)sign & (int)0x80000000));
}
/* mask ? a : b, lane by lane (mask lanes all ones or all zeros, as comparisons give). */
RE_INLINE re_v8 RE_FN(select)(re_v8i mask, re_v8 a, re_v8 b) { return (re_v8)(((re_v8i)a & mask) | ((re_v8i)b & ~mask)); }
/* The result where x is a number, x itself (a NaN) where it is not. */
RE_INLINE re_v8 RE_FN(keep_nan)(re_v8 x, re_v8 result) { return RE_FN(select)(x != x, x, result); }
RE_INLINE re_v8 RE_FN(clamp01)(re_v8 t) {
    return __builtin_elementwise_min(__builtin_elementwise_max(t, RE_FN(splat)(0.0f)), RE_FN(splat)(1.0f));
}

/*
 * e^x for x <= 0 (larger x are not passed). x = n·ln 2 + r with |r| <= ln2/2, e^r by a degree-6
 * polynomial, 2^n put into the exponent bits. Below -87.33 the result stays at about 2^-126 (the
 * smallest normal float) rather than going subnormal: callers add it to 1 or multiply it by x.
 */
RE_INLINE re_v8 RE_FN(exp_nonpositive)(re_v8 x) {
    x = __builtin_elementwise_max(x, RE_FN(splat)(-87.33654f));
    /* x·log2(e) - 1/2 is negative, so truncation rounds it up: n = round(x·log2(e)), ties down. */
    const re_v8i n = __builtin_convertvector(x * 1.44269504f - 0.5f, re_v8i);
    const re_v8 nf = __builtin_convertvector(n, re_v8);
    /* ln 2 in two parts, the first exact in 9 bits, so n·ln2_hi is exact. */
    re_v8 r = x - nf * 0.693359375f;
    r = r - nf * -2.12194440e-4f;
    re_v8 p = RE_FN(splat)(0.0013751408f);
    p = p * r + 0.0083689163f;
    p = p * r + 0.041669533f;
    p = p * r + 0.16666518f;
    p = p * r + 0.49999989f;
    const re_v8 er = 1.0f + r + r * r * p;
    return er * (re_v8)((n + 127) << 23);
}

/* 1/(1 + e^-x) from e^-|x| only, so nothing overflows and small results keep their precision. */
RE_INLINE re_v8 RE_FN(sigmoid)(re_v8 x) {
    const re_v8 e = RE_FN(exp_nonpositive)(-RE_FN(abs)(x));
    const re_v8 s = 1.0f / (1.0f + e);
    return RE_FN(select)(x < 0.0f, e * s, s);
}

RE_INLINE re_v8 RE_FN(tanh)(re_v8 x) {
    const re_v8 a = RE_FN(abs)(x);
    /* Near 0, (1 - e^-2a)/(1 + e^-2a) would lose the low bits: an odd polynomial there. */
    const re_v8 z = a * a;
    re_v8 p = RE_FN(splat)(-0.0057189789f);
    p = p * z + 0.020653141f;
    p = p * z - 0.053744664f;
    p = p * z + 0.13331513f;
    p = p * z - 0.33333285f;
    const re_v8 small = a + a * z * p;
    const re_v8 t = RE_FN(exp_nonpositive)(-2.0f * a);
    const re_v8 large = (1.0f - t) / (1.0f + t);
    return RE_FN(with_sign_of)(RE_FN(select)(a < 0.625f, small, large), x);
}

RE_INLINE re_v8 RE_FN(erf)(re_v8 x) {
    const re_v8 a = __builtin_elementwise_min(RE_FN(abs)(x), RE_FN(splat)(4.0f));
    /* [0, 1): erf(a)/a as a polynomial in a². */
    const re_v8 z = a * a;
    re_v8 p = RE_FN(splat)(7.9334860e-05f);
    p = p * z - 0.00080348440f;
    p = p * z + 0.0051912180f;
    p = p * z - 0.026855399f;
    p = p * z + 0.11283626f;
    p = p * z - 0.37612630f;
    p = p * z + 1.1283792f;
    const re_v8 small = a * p;
    /* [1, 4]: erfc(a)·e^(a²) as a polynomial in 1/a (erf(4) is 1 to float precision). */
    const re_v8 u = 1.0f / __builtin_elementwise_max(a, RE_FN(splat)(1.0f));
    re_v8 q = RE_FN(splat)(-0.016946796f);
    q = q * u + 0.11689749f;
    q = q * u - 0.34758890f;
    q = q * u + 0.56949303f;
    q = q * u - 0.50241528f;
    q = q * u + 0.049870148f;
    q = q * u + 0.55793833f;
    q = q * u + 0.00033560430f;
    const re_v8 large = 1.0f - q * RE_FN(exp_nonpositive)(-z);
    return RE_FN(with_sign_of)(RE_FN(select)(a < 1.0f, small, large), x);
}

/* One vector of `function` (re_unary_function). */
RE_INLINE re_v8 RE_FN(apply)(int function, re_v8 x, float alpha, float beta) {
    re_v8 y;
    switch (function) {
    case RE_UNARY_SIGMOID: y = RE_FN(sigmoid)(x); break;
    case RE_UNARY_TANH: y = RE_FN(tanh)(x); break;
    case RE_UNARY_HARD_SIGMOID: y = RE_FN(clamp01)(x * alpha + beta); break;
    case RE_UNARY_HARD_SWISH: y = x * RE_FN(clamp01)(x * (1.0f / 6.0f) + 0.5f); break;
    case RE_UNARY_SILU: y = x * RE_FN(sigmoid)(x); break;
    case RE_UNARY_ERF: y = RE_FN(erf)(x); break;
    case RE_UNARY_GELU: y = 0.5f * x * (1.0f + RE_FN(erf)(x * 0.70710678f)); break;
    default: y = x; break;
    }
    return RE_FN(keep_nan)(x, y);
}

/* The switch is hoisted out of the loop by instantiating the loop once per function. */
#define RE_UNARY_LOOP(function)                                                              \
    for (; i + 8 <= n; i += 8) RE_FN(store)(y + i, RE_FN(apply)(function, RE_FN(load)(x + i), alpha, beta)); \
    if (i < n) {                                                                             \
        float tail[8] = {0};                                                                 \
        memcpy(tail, x + i, (n - i) * sizeof(float));                                       \
        RE_FN(store)(tail, RE_FN(apply)(function, RE_FN(load)(tail), alpha, beta));         \
        memcpy(y + i, tail, (n - i) * sizeof(float));                                       \
    }

RE_ATTR void RE_ENTRY(unary)(int function, const float *x, float *y, size_t n, float alpha, float beta) {
    size_t i = 0;
    switch (function) {
    case RE_UNARY_SIGMOID: RE_UNARY_LOOP(RE_UNARY_SIGMOID) break;
    case RE_UNARY_TANH: RE_UNARY_LOOP(RE_UNARY_TANH) break;
    case RE_UNARY_HARD_SIGMOID: RE_UNARY_LOOP(RE_UNARY_HARD_SIGMOID) break;
    case RE_UNARY_HARD_SWISH: RE_UNARY_LOOP(RE_UNARY_HARD_SWISH) break;
    case RE_UNARY_SILU: RE_UNARY_LOOP(RE_UNARY_SILU) break;
    case RE_UNARY_ERF: RE_UNARY_LOOP(RE_UNARY_ERF) break;
    case RE_UNARY_GELU: RE_UNARY_LOOP(RE_UNARY_GELU) break;
    default: if (x != y) memmove(y, x, n * sizeof(float)); break;
    }
}

/* Rows row0 ..< row1 of a [rows, c] tensor scaled channel by channel:
 * y[r·c + k] = x[r·c + k] · gate[(r / rows_per_gate)·c + k] (an SE block's gate over each sample's
 * positions; rows_per_gate = rows and c = the whole length for two tensors of one shape). y may be x. */
RE_ATTR void RE_ENTRY(scale_rows)(const float *x, const float *gate, float *y, size_t c, size_t rows_per_gate,
                                  size_t row0, size_t row1) {
    for (size_t r = row0; r < row1; r++) {
        const float *src = x + r * c, *g = gate + (r / rows_per_gate) * c;
        float *dst = y + r * c;
        size_t k = 0;
        for (; k + 16 <= c; k += 16) {
            const re_v8 a = RE_FN(load)(src + k) * RE_FN(load)(g + k), b = RE_FN(load)(src + k + 8) * RE_FN(load)(g + k + 8);
            RE_FN(store)(dst + k, a);
            RE_FN(store)(dst + k + 8, b);
        }
        for (; k + 8 <= c; k += 8) RE_FN(store)(dst + k, RE_FN(load)(src + k) * RE_FN(load)(g + k));
        for (; k < c; k++) dst[k] = src[k] * g[k];
    }
}

/* Σ v[k] (SQUARES 0) or Σ (v[k] - mean)² (SQUARES 1) over n floats: four 8-lane partial sums
 * (independent chains), then the lanes pairwise and the tail. */
RE_INLINE float RE_FN(row_sum)(const float *v, size_t n, float mean, const int SQUARES) {
    re_v8 a0 = RE_FN(splat)(0.0f), a1 = a0, a2 = a0, a3 = a0;
    const re_v8 m = RE_FN(splat)(mean);
    size_t k = 0;
    for (; k + 32 <= n; k += 32) {
        re_v8 d0 = RE_FN(load)(v + k), d1 = RE_FN(load)(v + k + 8), d2 = RE_FN(load)(v + k + 16), d3 = RE_FN(load)(v + k + 24);
        if (SQUARES) {
            d0 -= m; d1 -= m; d2 -= m; d3 -= m;
            d0 *= d0; d1 *= d1; d2 *= d2; d3 *= d3;
        }
        a0 += d0; a1 += d1; a2 += d2; a3 += d3;
    }
    for (; k + 8 <= n; k += 8) {
        re_v8 d = RE_FN(load)(v + k);
        if (SQUARES) { d -= m; d *= d; }
        a0 += d;
    }
    const re_v8 t = (a0 + a1) + (a2 + a3);
    float total = ((t[0] + t[1]) + (t[2] + t[3])) + ((t[4] + t[5]) + (t[6] + t[7]));
    for (; k < n; k++) total += SQUARES ? (v[k] - mean) * (v[k] - mean) : v[k];
    return total;
}

/* Rows row0 ..< row1 of a [rows, c] tensor, each normalised over its c values (layer norm):
 * y = (x - mean) / sqrt(var + eps) · scale + bias, the mean and the variance in two passes. y may be
 * x (a row is read whole before it is written). */
RE_ATTR void RE_ENTRY(layer_norm_rows)(const float *x, float *y, size_t c, const float *scale, const float *bias, float eps,
                                       size_t row0, size_t row1) {
    for (size_t r = row0; r < row1; r++) {
        const float *src = x + r * c;
        float *dst = y + r * c;
        const float mean = RE_FN(row_sum)(src, c, 0.0f, 0) / (float)c;
        /* The square root as a vector instruction: no libm call (the board library has no libm). */
        const re_v8 inv = 1.0f / __builtin_elementwise_sqrt(RE_FN(splat)(RE_FN(row_sum)(src, c, mean, 1) / (float)c + eps));
        const float inverse = inv[0];
        const re_v8 m = RE_FN(splat)(mean);
        size_t k = 0;
        for (; k + 8 <= c; k += 8)
            RE_FN(store)(dst + k, (RE_FN(load)(src + k) - m) * inv * RE_FN(load)(scale + k) + RE_FN(load)(bias + k));
        for (; k < c; k++) dst[k] = (src[k] - mean) * inverse * scale[k] + bias[k];
    }
}

#undef RE_UNARY_LOOP
#undef RE_CAT2
#undef RE_CAT
#undef RE_FN
#undef RE_ENTRY
#undef RE_INLINE
