/*
 * Cross-checks one ISA's GEMM micro-kernels against the portable scalar kernel, and both against a
 * double-precision reference; then every conv-kernel entry of that ISA (re_conv_kernel_at) against its formula, and the activation kernel (re_unary) against libm. Built by tools/check_neon_qemu.sh for AArch64 and run under qemu.
 * A small C driver (same loop structure as the Swift one: K blocks, packed or unpacked A, zero-padded
 * panels by each ISA's own packers, epilogue on the last K block only) runs each kernel over odd sizes that leave edge tiles in
 * every direction. Exit status 1 on any mismatch.
 */
#include "CRankEdgeKernels.h"
#include "rankedge_conv_kernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int use_rowa;        /* unpacked row-major A instead of packed panels */
    int b_transposed;    /* pack B from [N x K] storage */
    size_t kc_block;     /* K block size: smaller than K exercises accumulation */
    int activation;
    int with_bias;
    int with_residual;
    int use_panel_loop;  /* re_gemm_panel instead of one micro-kernel call per tile */
    int use_rows_loop;   /* re_gemm_block_by_rows over the whole width */
} variant;

static unsigned long long rng_state = 0x9E3779B97F4A7C15ull;
static float next_uniform(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xFFFFFF) / (float)0x1000000 * 2.0f - 1.0f;
}

static size_t round_up(size_t x, size_t r) { return (x + r - 1) / r * r; }

/* C = A.B (+ epilogue) with the given kernels; A is m x k (lda), B k x n (ldb) or n x k if transposed. */
static void run_gemm(const re_gemm_kernels *ks, const variant *v, size_t m, size_t n, size_t k,
                     const float *a, size_t lda, const float *b, size_t ldb, float *c, size_t ldc,
                     const float *bias, const float *residual, size_t ldr) {
    const size_t mr = ks->mr, nr = ks->nr;
    float *bp = aligned_alloc(64, round_up(round_up(n, nr) * k * sizeof(float) + 64, 64));
    float *ap = aligned_alloc(64, round_up(round_up(m, mr) * v->kc_block * sizeof(float) + 64, 64));
    for (size_t p0 = 0; p0 < k; p0 += v->kc_block) {
        const size_t kc = k - p0 < v->kc_block ? k - p0 : v->kc_block;
        if (v->b_transposed) re_pack_b_transposed(nr, kc, n, b + p0, (ptrdiff_t)ldb, bp);
        else ks->pack_b(kc, n, b + p0 * ldb, (ptrdiff_t)ldb, bp);
        if (!v->use_rowa) ks->pack_a(m, kc, a + p0, (ptrdiff_t)lda, ap);
        const int last = p0 + kc == k;
        unsigned flags = p0 > 0 ? RE_FLAG_ACCUMULATE : 0;
        if (last) flags |= RE_FLAG_EPILOGUE | ((unsigned)v->activation << RE_FLAGS_ACTIVATION_SHIFT);
        if (v->use_rows_loop) {
            re_gemm_block_by_rows(ks, kc, m, v->use_rowa ? a + p0 : ap, v->use_rowa ? (ptrdiff_t)lda : 0, 0, bp, n, c,
                                  (ptrdiff_t)ldc, flags, bias, residual, (ptrdiff_t)ldr);
            continue;
        }
        for (size_t j = 0; j < n; j += nr) {
            const size_t nn = n - j < nr ? n - j : nr;
            if (v->use_panel_loop) {
                const float *next = j + nr < n ? bp + (j + nr) * kc : NULL;
                re_gemm_panel(ks, kc, m, v->use_rowa ? a + p0 : ap, v->use_rowa ? (ptrdiff_t)lda : 0, 0, bp + j * kc, next,
                              c + j, (ptrdiff_t)ldc, nn, flags, bias ? bias + j : NULL,
                              residual ? residual + j : NULL, (ptrdiff_t)ldr);
                continue;
            }
            for (size_t i = 0; i < m; i += mr) {
                const size_t mm = m - i < mr ? m - i : mr;
                const float *bias_t = bias ? bias + j : NULL;
                const float *res_t = residual ? residual + i * ldr + j : NULL;
                if (v->use_rowa) {
                    ks->ukernel_rowa(kc, a + i * lda + p0, (ptrdiff_t)lda, bp + j * kc, c + i * ldc + j,
                                     (ptrdiff_t)ldc, mm, nn, flags, bias_t, res_t, (ptrdiff_t)ldr);
                } else {
                    ks->ukernel_packed(kc, ap + i * kc, bp + j * kc, c + i * ldc + j, (ptrdiff_t)ldc,
                                       mm, nn, flags, bias_t, res_t, (ptrdiff_t)ldr);
                }
            }
        }
    }
    free(ap);
    free(bp);
}

static double activate(double x, int act) {
    if (act == RE_ACT_RELU) return x > 0 ? x : 0;
    if (act == RE_ACT_RELU6) return x < 0 ? 0 : (x > 6 ? 6 : x);
    return x;
}

/* The separable rank-L kernel at one tiling (rows, block, group) with bias and ReLU, against a
 * double evaluation of y = relu(bias + sum_c sum_l sum_i a * sum_j b * x). Returns 1 when it matches. */
static int check_rankconv(re_isa isa, size_t h, size_t w, size_t c, size_t s, size_t k, size_t rank, size_t stride,
                          size_t rows, size_t block, size_t group) {
    const ptrdiff_t pad = (ptrdiff_t)(k / 2);
    const size_t oh = (h + 2 * (size_t)pad - k) / stride + 1, ow = (w + 2 * (size_t)pad - k) / stride + 1;
    const size_t sp = round_up(s, 8), factors = c * k * rank * sp;
    float *x = malloc(h * w * c * sizeof(float)), *bh = malloc(factors * sizeof(float));
    float *av = malloc(factors * sizeof(float)), *bias = malloc(s * sizeof(float));
    float *y = malloc(oh * ow * s * sizeof(float));
    for (size_t i = 0; i < h * w * c; i++) x[i] = next_uniform();
    for (size_t i = 0; i < factors; i++) { bh[i] = i % sp < s ? next_uniform() : 0; av[i] = i % sp < s ? next_uniform() : 0; }
    for (size_t i = 0; i < s; i++) bias[i] = next_uniform();
    re_rankconv_params p = {h, w, c, oh, ow, s, rank, k, stride, stride, pad, pad, sp, bh, av, bias, RE_ACT_RELU};
    float *planar = malloc(re_rankconv_planar_floats(&p) * sizeof(float));
    float *scratch = malloc(re_rankconv_scratch_floats(&p, rows, block, group) * sizeof(float));
    re_rankconv_planar(&p, x, planar, 0, c);
    for (size_t oy0 = 0; oy0 < oh; oy0 += rows)
        for (size_t o0 = 0; o0 < sp; o0 += block)
            re_rankconv_tile((int)isa, &p, planar, y, NULL, oy0, oy0 + rows < oh ? oy0 + rows : oh, o0,
                             o0 + block < sp ? o0 + block : sp, group, scratch);
    int ok = 1;
    for (size_t oy = 0; oy < oh && ok; oy++)
    for (size_t ox = 0; ox < ow && ok; ox++)
    for (size_t o = 0; o < s && ok; o++) {
        double exact = bias[o], bound = fabs(bias[o]);
        for (size_t ch = 0; ch < c; ch++)
        for (size_t l = 0; l < rank; l++)
        for (size_t i = 0; i < k; i++) {
            const ptrdiff_t iy = (ptrdiff_t)(oy * stride + i) - pad;
            if (iy < 0 || iy >= (ptrdiff_t)h) continue;
            double t = 0, tb = 0;
            for (size_t j = 0; j < k; j++) {
                const ptrdiff_t ix = (ptrdiff_t)(ox * stride + j) - pad;
                if (ix < 0 || ix >= (ptrdiff_t)w) continue;
                const double term = (double)bh[((ch * k + j) * rank + l) * sp + o] * x[((size_t)iy * w + (size_t)ix) * c + ch];
                t += term; tb += fabs(term);
            }
            const double av_ = av[((ch * rank + l) * k + i) * sp + o];
            exact += av_ * t; bound += fabs(av_) * tb;
        }
        exact = activate(exact, RE_ACT_RELU);
        const float got = y[(oy * ow + ox) * s + o];
        if (fabs(got - exact) > (double)(2 * c * rank * k + 2) * 1.2e-7 * bound + 1e-30) {
            ok = 0;
            fprintf(stderr, "rankconv mismatch h=%zu w=%zu c=%zu s=%zu k=%zu L=%zu stride=%zu rows=%zu block=%zu group=%zu "
                    "at (%zu,%zu,%zu): %.9g exact %.9g\n", h, w, c, s, k, rank, stride, rows, block, group, oy, ox, o, got, exact);
        }
    }
    free(x); free(bh); free(av); free(bias); free(y); free(planar); free(scratch);
    return ok;
}

/* The depthwise conv (one filter per channel) with bias, residual and ReLU6 against a double
 * evaluation, at a stride, dilation and padding; channel counts cover the kernel's blocks of 32 and 8
 * and its scalar tail. */
static int check_depthwise(re_isa isa, size_t h, size_t w, size_t c, size_t k, size_t stride, size_t dilation, ptrdiff_t pad) {
    const size_t span = (k - 1) * dilation + 1;
    const size_t oh = (h + 2 * (size_t)pad - span) / stride + 1, ow = (w + 2 * (size_t)pad - span) / stride + 1;
    float *x = malloc(h * w * c * sizeof(float)), *wt = malloc(k * k * c * sizeof(float));
    float *bias = malloc(c * sizeof(float)), *res = malloc(oh * ow * c * sizeof(float)), *y = malloc(oh * ow * c * sizeof(float));
    for (size_t i = 0; i < h * w * c; i++) x[i] = 4.0f * next_uniform();
    for (size_t i = 0; i < k * k * c; i++) wt[i] = next_uniform();
    for (size_t i = 0; i < c; i++) bias[i] = next_uniform();
    for (size_t i = 0; i < oh * ow * c; i++) res[i] = next_uniform();
    re_depthwise_params p = {h, w, c, oh, ow, k, k, stride, stride, pad, pad, dilation, dilation, wt, bias, RE_ACT_RELU6};
    re_depthwise_rows((int)isa, &p, x, y, res, 0, oh);
    int ok = 1;
    for (size_t oy = 0; oy < oh && ok; oy++)
    for (size_t ox = 0; ox < ow && ok; ox++)
    for (size_t ch = 0; ch < c && ok; ch++) {
        double exact = (double)bias[ch] + res[(oy * ow + ox) * c + ch];
        double bound = fabs(bias[ch]) + fabs(res[(oy * ow + ox) * c + ch]);
        for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            const ptrdiff_t iy = (ptrdiff_t)(oy * stride + i * dilation) - pad, ix = (ptrdiff_t)(ox * stride + j * dilation) - pad;
            if (iy < 0 || ix < 0 || iy >= (ptrdiff_t)h || ix >= (ptrdiff_t)w) continue;
            const double term = (double)wt[(i * k + j) * c + ch] * x[((size_t)iy * w + (size_t)ix) * c + ch];
            exact += term; bound += fabs(term);
        }
        exact = activate(exact, RE_ACT_RELU6);
        const float got = y[(oy * ow + ox) * c + ch];
        if (fabs(got - exact) > (double)(k * k + 2) * 1.2e-7 * bound + 1e-30) {
            ok = 0;
            fprintf(stderr, "depthwise mismatch h=%zu w=%zu c=%zu k=%zu stride=%zu at (%zu,%zu,%zu): %.9g exact %.9g\n",
                    h, w, c, k, stride, oy, ox, ch, got, exact);
        }
    }
    /* The residual in y's place (each pixel read before it is written, so a row's last run may not
     * overlap the one before): the same bits. */
    float *inplace = malloc(oh * ow * c * sizeof(float));
    memcpy(inplace, res, oh * ow * c * sizeof(float));
    re_depthwise_rows((int)isa, &p, x, inplace, inplace, 0, oh);
    if (ok && memcmp(inplace, y, oh * ow * c * sizeof(float)) != 0) {
        ok = 0;
        fprintf(stderr, "depthwise h=%zu w=%zu c=%zu k=%zu stride=%zu: the residual in place gives other values\n", h, w, c, k, stride);
    }
    free(inplace);
    free(x); free(wt); free(bias); free(res); free(y);
    return ok;
}

/* The grouped conv's direct kernel with bias, residual and ReLU6 against a double evaluation: groups
 * of sg outputs (a multiple of 8) and cg inputs, at a stride, dilation and padding. */
static int check_grouped(re_isa isa, size_t h, size_t w, size_t groups, size_t cg, size_t sg, size_t k, size_t stride,
                         size_t dilation, ptrdiff_t pad) {
    const size_t span = (k - 1) * dilation + 1, c = groups * cg, s = groups * sg;
    const size_t oh = (h + 2 * (size_t)pad - span) / stride + 1, ow = (w + 2 * (size_t)pad - span) / stride + 1;
    float *x = malloc(h * w * c * sizeof(float)), *wt = malloc(groups * k * k * cg * sg * sizeof(float));
    float *bias = malloc(s * sizeof(float)), *res = malloc(oh * ow * s * sizeof(float)), *y = malloc(oh * ow * s * sizeof(float));
    for (size_t i = 0; i < h * w * c; i++) x[i] = 4.0f * next_uniform();
    for (size_t i = 0; i < groups * k * k * cg * sg; i++) wt[i] = next_uniform();
    for (size_t i = 0; i < s; i++) bias[i] = next_uniform();
    for (size_t i = 0; i < oh * ow * s; i++) res[i] = next_uniform();
    re_grouped_params p = {h, w, c, oh, ow, s, k, k, stride, stride, pad, pad, dilation, dilation, groups, cg, sg, wt, bias, RE_ACT_RELU6};
    re_grouped_rows((int)isa, &p, x, y, res, 0, oh);
    int ok = 1;
    for (size_t oy = 0; oy < oh && ok; oy++)
    for (size_t ox = 0; ox < ow && ok; ox++)
    for (size_t o = 0; o < s && ok; o++) {
        const size_t g = o / sg, j = o % sg;
        double exact = (double)bias[o] + res[(oy * ow + ox) * s + o];
        double bound = fabs(bias[o]) + fabs(res[(oy * ow + ox) * s + o]);
        for (size_t ky = 0; ky < k; ky++)
        for (size_t kx = 0; kx < k; kx++) {
            const ptrdiff_t iy = (ptrdiff_t)(oy * stride + ky * dilation) - pad, ix = (ptrdiff_t)(ox * stride + kx * dilation) - pad;
            if (iy < 0 || ix < 0 || iy >= (ptrdiff_t)h || ix >= (ptrdiff_t)w) continue;
            for (size_t i = 0; i < cg; i++) {
                const double term = (double)wt[(((g * k + ky) * k + kx) * cg + i) * sg + j] * x[((size_t)iy * w + (size_t)ix) * c + g * cg + i];
                exact += term; bound += fabs(term);
            }
        }
        exact = activate(exact, RE_ACT_RELU6);
        const float got = y[(oy * ow + ox) * s + o];
        if (fabs(got - exact) > (double)(k * k * cg + 2) * 1.2e-7 * bound + 1e-30) {
            ok = 0;
            fprintf(stderr, "grouped mismatch h=%zu w=%zu groups=%zu cg=%zu sg=%zu k=%zu stride=%zu at (%zu,%zu,%zu): %.9g exact %.9g\n",
                    h, w, groups, cg, sg, k, stride, oy, ox, o, got, exact);
        }
    }
    free(x); free(wt); free(bias); free(res); free(y);
    return ok;
}

/* The narrow direct conv (stride 1) with bias, residual and ReLU against a double evaluation. */
static int check_narrowconv(re_isa isa, size_t h, size_t w, size_t c, size_t s, size_t k, ptrdiff_t pt, ptrdiff_t pl) {
    const size_t oh = h + 2 * (size_t)pt - k + 1, ow = w + 2 * (size_t)pl - k + 1;
    float *x = malloc(h * w * c * sizeof(float)), *wt = malloc(c * k * k * s * sizeof(float));
    float *bias = malloc(s * sizeof(float)), *res = malloc(oh * ow * s * sizeof(float)), *y = malloc(oh * ow * s * sizeof(float));
    for (size_t i = 0; i < h * w * c; i++) x[i] = next_uniform();
    for (size_t i = 0; i < c * k * k * s; i++) wt[i] = next_uniform();
    for (size_t i = 0; i < s; i++) bias[i] = next_uniform();
    for (size_t i = 0; i < oh * ow * s; i++) res[i] = next_uniform();
    re_narrowconv_params p = {h, w, c, oh, ow, s, k, k, pt, pl, wt, bias, RE_ACT_RELU};
    float *planar = malloc(re_narrowconv_planar_floats(&p) * sizeof(float));
    re_narrowconv_planar(&p, x, planar, 0, c);
    re_narrowconv_rows((int)isa, &p, planar, y, res, 0, oh);
    int ok = 1;
    for (size_t oy = 0; oy < oh && ok; oy++)
    for (size_t ox = 0; ox < ow && ok; ox++)
    for (size_t o = 0; o < s && ok; o++) {
        double exact = (double)bias[o] + res[(oy * ow + ox) * s + o];
        double bound = fabs(bias[o]) + fabs(res[(oy * ow + ox) * s + o]);
        for (size_t ch = 0; ch < c; ch++)
        for (size_t i = 0; i < k; i++)
        for (size_t j = 0; j < k; j++) {
            const ptrdiff_t iy = (ptrdiff_t)(oy + i) - pt, ix = (ptrdiff_t)(ox + j) - pl;
            if (iy < 0 || ix < 0 || iy >= (ptrdiff_t)h || ix >= (ptrdiff_t)w) continue;
            const double term = (double)wt[((ch * k + i) * k + j) * s + o] * x[((size_t)iy * w + (size_t)ix) * c + ch];
            exact += term; bound += fabs(term);
        }
        exact = activate(exact, RE_ACT_RELU);
        const float got = y[(oy * ow + ox) * s + o];
        if (fabs(got - exact) > (double)(c * k * k + 2) * 1.2e-7 * bound + 1e-30) {
            ok = 0;
            fprintf(stderr, "narrowconv mismatch h=%zu w=%zu c=%zu s=%zu k=%zu at (%zu,%zu,%zu): %.9g exact %.9g\n",
                    h, w, c, s, k, oy, ox, o, got, exact);
        }
    }
    free(x); free(wt); free(bias); free(res); free(y); free(planar);
    return ok;
}

/* The narrow Tucker chain (1x1 C -> r1, k x k r1 -> r2, 1x1 r2 -> s, residual, ReLU) against a double
 * evaluation of the three convs in turn; the core's zero padding applies to the projected input. */
static int check_narrowchain(re_isa isa, size_t h, size_t w, size_t c, size_t r1, size_t r2, size_t s, size_t k, ptrdiff_t pad) {
    const size_t oh = h + 2 * (size_t)pad - k + 1, ow = w + 2 * (size_t)pad - k + 1;
    float *x = malloc(h * w * c * sizeof(float)), *win = malloc(r1 * c * sizeof(float)), *bin = malloc(r1 * sizeof(float));
    float *wc = malloc(r1 * k * k * r2 * sizeof(float)), *bc = malloc(r2 * sizeof(float));
    const size_t s16 = (s + 15) / 16 * 16;
    float *wout = calloc(r2 * s16, sizeof(float)), *bout = calloc(s16, sizeof(float));
    float *res = malloc(oh * ow * s * sizeof(float)), *y = malloc(oh * ow * s * sizeof(float));
    for (size_t i = 0; i < h * w * c; i++) x[i] = next_uniform();
    for (size_t i = 0; i < r1 * c; i++) win[i] = next_uniform();
    for (size_t i = 0; i < r1; i++) bin[i] = next_uniform();
    for (size_t i = 0; i < r1 * k * k * r2; i++) wc[i] = next_uniform();
    for (size_t i = 0; i < r2; i++) bc[i] = next_uniform();
    for (size_t r = 0; r < r2; r++)
        for (size_t o = 0; o < s; o++) wout[r * s16 + o] = next_uniform();
    for (size_t i = 0; i < s; i++) bout[i] = next_uniform();
    for (size_t i = 0; i < oh * ow * s; i++) res[i] = next_uniform();
    re_narrowchain_params p = {{h, w, r1, oh, ow, r2, k, k, pad, pad, wc, bc, RE_ACT_NONE}, c, win, bin, s, wout, bout, RE_ACT_RELU};
    const size_t hp = oh + k - 1;
    float *planar = malloc(re_narrowconv_planar_floats(&p.core) * sizeof(float));
    float *rowbuf = malloc(re_narrowchain_row_floats(&p) * sizeof(float));
    re_narrowchain_project((int)isa, &p, x, planar, 0, hp / 2);
    re_narrowchain_project((int)isa, &p, x, planar, hp / 2, hp);
    re_narrowchain_rows((int)isa, &p, planar, y, res, 0, oh, rowbuf);
    /* Double references: t1 = 1x1(x) (h x w x r1), t2 = core(t1) (oh x ow x r2), then the output. */
    double *t1 = malloc(h * w * r1 * sizeof(double)), *t2 = malloc(oh * ow * r2 * sizeof(double));
    for (size_t px = 0; px < h * w; px++)
        for (size_t r = 0; r < r1; r++) {
            double v = bin[r];
            for (size_t ch = 0; ch < c; ch++) v += (double)win[r * c + ch] * x[px * c + ch];
            t1[px * r1 + r] = v;
        }
    for (size_t oy = 0; oy < oh; oy++)
        for (size_t ox = 0; ox < ow; ox++)
            for (size_t o = 0; o < r2; o++) {
                double v = bc[o];
                for (size_t ch = 0; ch < r1; ch++)
                    for (size_t i = 0; i < k; i++)
                        for (size_t j = 0; j < k; j++) {
                            const ptrdiff_t iy = (ptrdiff_t)(oy + i) - pad, ix = (ptrdiff_t)(ox + j) - pad;
                            if (iy < 0 || ix < 0 || iy >= (ptrdiff_t)h || ix >= (ptrdiff_t)w) continue;
                            v += (double)wc[((ch * k + i) * k + j) * r2 + o] * t1[((size_t)iy * w + (size_t)ix) * r1 + ch];
                        }
                t2[(oy * ow + ox) * r2 + o] = v;
            }
    int ok = 1;
    double scale = 1e-30;
    for (size_t i = 0; i < oh * ow * s && ok; i++) {
        const size_t px = i / s, o = i % s;
        double v = (double)bout[o] + res[i];
        for (size_t r = 0; r < r2; r++) v += (double)wout[r * s16 + o] * t2[px * r2 + r];
        v = activate(v, RE_ACT_RELU);
        if (fabs(v) > scale) scale = fabs(v);
        if (fabs(y[i] - v) > 1e-4 * (1.0 + fabs(v)) * (double)(c + r1 * k * k + r2)) {
            ok = 0;
            fprintf(stderr, "narrowchain mismatch h=%zu w=%zu c=%zu r1=%zu r2=%zu s=%zu k=%zu at %zu: %.9g exact %.9g\n",
                    h, w, c, r1, r2, s, k, i, y[i], v);
        }
    }
    free(x); free(win); free(bin); free(wc); free(bc); free(wout); free(bout); free(res); free(y);
    free(planar); free(rowbuf); free(t1); free(t2);
    return ok;
}

/* The ISA's row packer (im2col straight into A panels) against re_pack_rows, with NULL (padding) rows. */
static int check_pack_rows(const re_gemm_kernels *ks, size_t count, unsigned null_mask) {
    const size_t mr = ks->mr;
    /* got has a guard band of 8 floats after the stretch, to catch stores past its end. */
    float *src = malloc(mr * count * sizeof(float)), *want = malloc(mr * count * sizeof(float)),
          *got = malloc((mr * count + 8) * sizeof(float));
    const float *rows[8];
    for (size_t i = 0; i < mr * count; i++) src[i] = next_uniform();
    for (size_t i = 0; i < mr; i++) rows[i] = (null_mask >> i) & 1 ? NULL : src + i * count;
    for (size_t i = 0; i < mr * count + 8; i++) got[i] = -1.0f;
    re_pack_rows(mr, rows, count, want);
    ks->pack_rows(rows, count, got);
    int ok = memcmp(want, got, mr * count * sizeof(float)) == 0;
    for (size_t i = mr * count; i < mr * count + 8; i++) ok = ok && got[i] == -1.0f;
    if (!ok) fprintf(stderr, "pack_rows count %zu null mask %x: mismatch\n", count, null_mask);
    free(src); free(want); free(got);
    return ok;
}

/* The Winograd G (alpha x r, Toom-Cook at 0, 1, -1, 2, -2 and infinity, alpha = m + r - 1) in
 * double, with the kernels' sign convention (WinogradTransform): each finite row leads with a
 * positive value. */
static void winograd_g(size_t m, size_t r, double G[6][5]) {
    const size_t alpha = m + r - 1;
    static const double points[] = {0, 1, -1, 2, -2};
    for (size_t j = 0; j < 6; j++) for (size_t k = 0; k < 5; k++) G[j][k] = 0;
    for (size_t j = 0; j + 1 < alpha; j++) {
        double f = 1;
        for (size_t l = 0; l + 1 < alpha; l++) if (l != j) f *= points[j] - points[l];
        double p = 1;
        for (size_t k = 0; k < r; k++) { G[j][k] = p / f; p *= points[j]; }
        size_t lead = 0;
        while (G[j][lead] == 0) lead++;
        if (G[j][lead] < 0) for (size_t k = 0; k < r; k++) G[j][k] = -G[j][k];
    }
    G[alpha - 1][r - 1] = 1;
}

/* Winograd F(m x m, r x r) (F(2,3), F(2,5), F(4,3)) for one tile, channel by channel: input
 * transform, products with G g Gᵀ, output transform with bias, residual and ReLU, against the
 * direct r x r correlation of the patch in double. Then the weight gradient's pieces: the
 * output-gradient transform A dY Aᵀ times the input transform, folded back by G, against the direct
 * sums dy ⋆ d. Channel counts cover whole and partial vectors. */
static int check_winograd(re_isa isa, size_t m_tile, size_t r, size_t c) {
    const size_t alpha = m_tile + r - 1, n2 = alpha * alpha, outs_n = m_tile * m_tile;
    double G[6][5];
    winograd_g(m_tile, r, G);
    float *d = malloc(n2 * c * sizeof(float)), *g = malloc(r * r * c * sizeof(float)), *v = malloc(n2 * c * sizeof(float));
    float *m = malloc(n2 * c * sizeof(float)), *bias = malloc(c * sizeof(float)), *res = malloc(outs_n * c * sizeof(float));
    float *y = malloc(outs_n * c * sizeof(float)), *u = malloc(n2 * c * sizeof(float));
    for (size_t i = 0; i < n2 * c; i++) d[i] = next_uniform();
    for (size_t i = 0; i < r * r * c; i++) g[i] = next_uniform();
    for (size_t i = 0; i < c; i++) bias[i] = next_uniform();
    for (size_t i = 0; i < outs_n * c; i++) res[i] = next_uniform();
    const float *rows[36];
    for (size_t i = 0; i < n2; i++) rows[i] = d + i * c;
    re_winograd_input((int)isa, (int)m_tile, (int)r, rows, c, v, c);
    for (size_t ch = 0; ch < c; ch++)
    for (size_t i = 0; i < alpha; i++)
    for (size_t j = 0; j < alpha; j++) {
        double w = 0;
        for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) w += G[i][a] * g[(a * r + b) * c + ch] * G[j][b];
        m[(i * alpha + j) * c + ch] = (float)(w * v[(i * alpha + j) * c + ch]);
    }
    float *outs[16];
    const float *resp[16];
    int ok = 1;
    /* The transforms scale each of up to alpha² terms by coefficients of at most 5 (F(2,5)'s Bᵀ) or
     * 8 (F(4,3)'s Aᵀ) before they cancel: allow that much float32 rounding on the terms' size. */
    const double largest = m_tile == 4 ? 8 : 5;
    const double slack = (double)n2 * largest * largest * 1.2e-7;
    /* The residual apart from the output, then the output itself holding the residual (how an
     * accumulating conv calls it): a channel tail's overlapping group must not add it twice. */
    for (int aliased = 0; aliased < 2 && ok; aliased++) {
    if (aliased) memcpy(y, res, outs_n * c * sizeof(float));
    for (size_t i = 0; i < outs_n; i++) { outs[i] = y + i * c; resp[i] = aliased ? outs[i] : res + i * c; }
    re_winograd_output((int)isa, (int)m_tile, (int)r, m, c, c, bias, outs, resp, RE_ACT_RELU);
    for (size_t ch = 0; ch < c && ok; ch++)
    for (size_t oy = 0; oy < m_tile && ok; oy++)
    for (size_t ox = 0; ox < m_tile && ok; ox++) {
        double exact = (double)bias[ch] + res[(oy * m_tile + ox) * c + ch], bound = fabs(exact);
        for (size_t a = 0; a < r; a++)
        for (size_t b = 0; b < r; b++) {
            const double term = (double)g[(a * r + b) * c + ch] * d[((oy + a) * alpha + ox + b) * c + ch];
            exact += term; bound += fabs(term);
        }
        exact = activate(exact, RE_ACT_RELU);
        const float got = y[(oy * m_tile + ox) * c + ch];
        if (fabs(got - exact) > slack * (bound + (double)n2) + 1e-30) {
            ok = 0;
            fprintf(stderr, "winograd F(%zu,%zu) mismatch c=%zu%s at (%zu,%zu,%zu): %.9g exact %.9g\n", m_tile, r, c,
                    aliased ? " (residual in place)" : "", oy, ox, ch, got, exact);
        }
    }
    }
    /* Weight gradient: dg[a][b] = Σ_ξ,η G[ξ][a] G[η][b] U[ξη] V[ξη], with U = A dY Aᵀ (dY: the
     * tile's m x m output gradient; the random residual values serve as its data). */
    float *dy = res;
    const float *dys[16];
    for (size_t i = 0; i < outs_n; i++) dys[i] = dy + i * c;
    re_winograd_output_gradient((int)isa, (int)m_tile, (int)r, dys, c, u, c);
    for (size_t ch = 0; ch < c && ok; ch++)
    for (size_t a = 0; a < r && ok; a++)
    for (size_t b = 0; b < r && ok; b++) {
        double got = 0, exact = 0, bound = 0;
        for (size_t i = 0; i < alpha; i++)
        for (size_t j = 0; j < alpha; j++) got += G[i][a] * G[j][b] * (double)u[(i * alpha + j) * c + ch] * v[(i * alpha + j) * c + ch];
        for (size_t oy = 0; oy < m_tile; oy++)
        for (size_t ox = 0; ox < m_tile; ox++) {
            const double term = (double)dy[(oy * m_tile + ox) * c + ch] * d[((oy + a) * alpha + ox + b) * c + ch];
            exact += term; bound += fabs(term);
        }
        if (fabs(got - exact) > slack * (bound + (double)n2) + 1e-30) {
            ok = 0;
            fprintf(stderr, "winograd F(%zu,%zu) weight-gradient mismatch c=%zu at (%zu,%zu,%zu): %.9g exact %.9g\n",
                    m_tile, r, c, a, b, ch, got, exact);
        }
    }
    free(d); free(g); free(v); free(m); free(bias); free(res); free(y); free(u);
    return ok;
}

/* The checks of one conv-kernel entry's operation (the Winograd checks run input, output and weight
 * gradient transforms together, for each algorithm the entry takes part in). */
static void check_conv_entry(re_isa isa, const re_conv_kernel_entry *entry, long *passed, long *failed) {
    switch (entry->operation) {
    case RE_CONV_DEPTHWISE_ROWS: {
        /* Channels 8 (one vector), 37 and 29 (16- and 8-channel blocks and a tail), 5 (tail only); 3, 5 and
         * 7 taps at strides 1 and 2 (the run form), rows narrower than a run; dilation 2 and stride 3 (the
         * per-pixel form); padding none, same, and wider than the taps reach. */
        static const size_t dc[][7] = {
            {7, 9, 8, 3, 1, 1, 1}, {11, 8, 37, 3, 2, 1, 1}, {9, 9, 5, 5, 1, 1, 2}, {12, 10, 40, 3, 1, 2, 2},
            {6, 7, 16, 5, 2, 1, 0}, {1, 1, 9, 3, 1, 1, 1}, {9, 13, 29, 3, 1, 1, 1}, {10, 11, 24, 7, 1, 1, 3},
            {9, 15, 21, 7, 2, 1, 3}, {7, 9, 33, 5, 2, 1, 2}, {8, 3, 16, 5, 2, 1, 2}, {5, 2, 19, 3, 2, 1, 1},
            {9, 9, 12, 3, 3, 1, 1}, {6, 7, 70, 5, 1, 1, 2}, {9, 27, 40, 5, 2, 1, 2},
        };
        for (size_t i = 0; i < sizeof dc / sizeof dc[0]; i++) {
            const size_t *r = dc[i];
            if (check_depthwise(isa, r[0], r[1], r[2], r[3], r[4], r[5], (ptrdiff_t)r[6])) (*passed)++; else (*failed)++;
        }
        return;
    }
    case RE_CONV_GROUPED_ROWS: {
        /* Outputs per group 8, 16, and 24, 40, 64 in one group; inputs per group 1, 3, 4, 5, 7, 16, 64; rows of
         * 13, 11 and 7 pixels (runs and a shorter one), 2 (shorter only); strides 1 and 2; dilation 2;
         * padding none, same, and wider than the taps reach. */
        static const size_t gc[][9] = {
            {9, 13, 2, 16, 16, 3, 1, 1, 1}, {7, 7, 3, 5, 8, 3, 2, 1, 1}, {8, 11, 2, 7, 16, 3, 1, 1, 0},
            {6, 9, 3, 16, 8, 3, 1, 2, 2}, {5, 2, 4, 1, 8, 5, 2, 1, 3}, {5, 6, 2, 64, 16, 1, 1, 1, 0},
            /* Stem convs as one group: blocks of 16 and a last 8, rows through the image and into the padding. */
            {17, 19, 1, 3, 24, 3, 2, 1, 1}, {13, 29, 1, 3, 64, 7, 2, 1, 3}, {10, 23, 1, 4, 40, 5, 1, 1, 2},
        };
        for (size_t i = 0; i < sizeof gc / sizeof gc[0]; i++) {
            const size_t *r = gc[i];
            if (check_grouped(isa, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], (ptrdiff_t)r[8])) (*passed)++; else (*failed)++;
        }
        return;
    }
    case RE_CONV_RANKCONV_TILE: {
    /* Rank conv: k = 3, 5, 7 (unrolled bodies) and 4, 9 (generic), strides 1 and 2, odd row tiles
         * (the paired vertical pass's lone last row), partial channel groups, every column remainder. */
        static const size_t rc[][10] = {
            {1, 1, 1, 1, 3, 1, 1, 1, 8, 1},   {7, 13, 5, 9, 3, 1, 1, 3, 16, 2},  {9, 11, 7, 17, 5, 2, 1, 9, 8, 4},
            {8, 15, 3, 8, 7, 3, 1, 8, 8, 8},  {11, 9, 4, 13, 3, 2, 2, 2, 8, 3},  {13, 13, 6, 24, 4, 2, 1, 5, 24, 4},
            {10, 8, 9, 8, 9, 1, 2, 4, 8, 2},  {6, 14, 11, 31, 5, 5, 1, 6, 32, 5}, {12, 12, 16, 16, 7, 1, 1, 12, 16, 2},
        };
        for (size_t i = 0; i < sizeof rc / sizeof rc[0]; i++) {
            const size_t *r = rc[i];
            if (check_rankconv(isa, r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9])) (*passed)++; else (*failed)++;
        }
        return;
    }
    case RE_CONV_NARROWCONV_ROWS: {
    /* Narrow direct conv: 1, 9, 12, 13 and 19 output channels (blocks of 12 + remainder), widths
         * of whole and partial 8-pixel vectors, 3×3 and 5×5, asymmetric padding by the pad pair. */
        static const size_t nc[][7] = {
            {1, 1, 1, 1, 1, 0, 0}, {9, 8, 9, 9, 3, 1, 1}, {7, 11, 5, 19, 3, 1, 1}, {6, 21, 17, 12, 5, 2, 2},
            {12, 16, 3, 13, 3, 2, 0}, {5, 9, 20, 1, 3, 0, 1},
        };
        for (size_t i = 0; i < sizeof nc / sizeof nc[0]; i++) {
            const size_t *r = nc[i];
            if (check_narrowconv(isa, r[0], r[1], r[2], r[3], r[4], (ptrdiff_t)r[5], (ptrdiff_t)r[6])) (*passed)++; else (*failed)++;
        }
        return;
    }
    case RE_CONV_WINOGRAD_INPUT: case RE_CONV_WINOGRAD_OUTPUT: case RE_CONV_WINOGRAD_OUTPUT_GRADIENT: {
        static const size_t wc[] = {1, 7, 8, 13, 24, 33};
        /* The F(2x2, 5x5) input transform is also F(4x4, 3x3)'s. */
        const int shared_input = entry->operation == RE_CONV_WINOGRAD_INPUT && entry->winograd == RE_WINOGRAD_F25;
        for (size_t i = 0; i < sizeof wc / sizeof wc[0]; i++) {
            if (entry->winograd == RE_WINOGRAD_F23) { if (check_winograd(isa, 2, 3, wc[i])) (*passed)++; else (*failed)++; }
            if (entry->winograd == RE_WINOGRAD_F25) { if (check_winograd(isa, 2, 5, wc[i])) (*passed)++; else (*failed)++; }
            if (entry->winograd == RE_WINOGRAD_F43 || shared_input) { if (check_winograd(isa, 4, 3, wc[i])) (*passed)++; else (*failed)++; }
        }
        return;
    }
    case RE_CONV_NARROWCHAIN_PROJECT: case RE_CONV_NARROWCHAIN_ROWS: {
    /* Narrow chain: input channels 1, 16, 20 (a transpose and a tail) and 70 (two blocks of 64);
         * cores 9 -> 9, 7 -> 11 and 19 -> 19; outputs 16, 13 (tail) and 32; widths 8, 11, 32; 3 x 3 and 5 x 5. */
        static const size_t ch[][8] = {
            {8, 8, 16, 9, 9, 16, 3, 1}, {9, 11, 20, 7, 11, 13, 3, 1}, {12, 32, 16, 9, 9, 16, 3, 1},
            {6, 9, 70, 19, 19, 32, 5, 2}, {5, 8, 1, 3, 4, 5, 3, 0},
        };
        for (size_t i = 0; i < sizeof ch / sizeof ch[0]; i++) {
            const size_t *r = ch[i];
            if (check_narrowchain(isa, r[0], r[1], r[2], r[3], r[4], r[5], r[6], (ptrdiff_t)r[7])) (*passed)++; else (*failed)++;
        }
        return;
    }
    }
}

/* re_unary of this ISA against libm in double: every function over [-12, 12] and the points where
 * the polynomials switch, at a length with a vector tail, out of place and in place; NaN stays NaN. */
static double unary_exact(int f, double x) {
    switch (f) {
    case RE_UNARY_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case RE_UNARY_TANH: return tanh(x);
    case RE_UNARY_HARD_SIGMOID: { const double t = 0.2 * x + 0.5; return t < 0 ? 0 : (t > 1 ? 1 : t); }
    case RE_UNARY_HARD_SWISH: { const double t = x / 6 + 0.5; return x * (t < 0 ? 0 : (t > 1 ? 1 : t)); }
    case RE_UNARY_SILU: return x / (1.0 + exp(-x));
    case RE_UNARY_ERF: return erf(x);
    default: return 0.5 * x * (1.0 + erf(x / sqrt(2.0)));
    }
}

static int check_unary(re_isa isa, int f, size_t n) {
    static const float edges[] = {0.0f, -0.0f, 0.625f, -0.625f, 1.0f, -1.0f, 4.0f, -4.0f, 87.5f, -87.5f, 200.0f, -200.0f};
    const size_t ne = sizeof edges / sizeof edges[0];
    float *x = malloc((n + ne + 1) * sizeof(float)), *y = malloc((n + ne + 1) * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = -12.0f + 24.0f * (float)i / (float)(n - 1);
    for (size_t i = 0; i < ne; i++) x[n + i] = edges[i];
    x[n + ne] = NAN;
    const size_t total = n + ne + 1;
    re_unary((int)isa, f, x, y, total, 0.2f, 0.5f);
    int ok = 1;
    for (size_t i = 0; i + 1 < total && ok; i++) {
        const double want = unary_exact(f, x[i]);
        if (fabs(y[i] - want) > 3e-7 * (fabs(want) > 1 ? fabs(want) : 1)) {
            ok = 0;
            fprintf(stderr, "unary %d at x=%.9g: %.9g exact %.9g\n", f, x[i], y[i], want);
        }
    }
    if (!isnan(y[total - 1])) { ok = 0; fprintf(stderr, "unary %d: NaN became %g\n", f, y[total - 1]); }
    re_unary((int)isa, f, x, x, total, 0.2f, 0.5f);
    if (memcmp(x, y, (total - 1) * sizeof(float)) != 0) { ok = 0; fprintf(stderr, "unary %d: in place differs\n", f); }
    free(x); free(y);
    return ok;
}

/* re_scale_rows of this ISA against the product written out: rows × c with a gate row per
 * rows_per_gate rows, a slice of rows, out of place and in place (exact: one multiply each). */
static int check_scale_rows(re_isa isa, size_t rows, size_t c, size_t rows_per_gate) {
    const size_t n = rows * c, gates = (rows + rows_per_gate - 1) / rows_per_gate;
    float *x = malloc(n * sizeof(float)), *g = malloc(gates * c * sizeof(float)), *y = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) { x[i] = next_uniform(); y[i] = -7.0f; }
    for (size_t i = 0; i < gates * c; i++) g[i] = next_uniform();
    const size_t r0 = rows > 2 ? 1 : 0, r1 = rows > 2 ? rows - 1 : rows;
    re_scale_rows((int)isa, x, g, y, c, rows_per_gate, r0, r1);
    int ok = 1;
    for (size_t r = 0; r < rows && ok; r++)
        for (size_t k = 0; k < c && ok; k++) {
            const float want = (r >= r0 && r < r1) ? x[r * c + k] * g[(r / rows_per_gate) * c + k] : -7.0f;
            if (y[r * c + k] != want) { ok = 0; fprintf(stderr, "scale_rows %zux%zu/%zu at (%zu,%zu): %g want %g\n", rows, c, rows_per_gate, r, k, y[r * c + k], want); }
        }
    re_scale_rows((int)isa, x, g, x, c, rows_per_gate, r0, r1);
    for (size_t r = r0; r < r1 && ok; r++)
        if (memcmp(x + r * c, y + r * c, c * sizeof(float)) != 0) { ok = 0; fprintf(stderr, "scale_rows %zux%zu: in place differs\n", rows, c); }
    free(x); free(g); free(y);
    return ok;
}

/* re_layer_norm_rows of this ISA against doubles, on rows about 1000 from zero mean, and in place. */
static int check_layer_norm(re_isa isa, size_t rows, size_t c) {
    const size_t n = rows * c;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float)), *scale = malloc(c * sizeof(float)), *bias = malloc(c * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = 1000.0f + next_uniform();
    for (size_t k = 0; k < c; k++) { scale[k] = 1.0f + 0.5f * next_uniform(); bias[k] = next_uniform(); }
    re_layer_norm_rows((int)isa, x, y, c, scale, bias, 1e-5f, 0, rows);
    int ok = 1;
    for (size_t r = 0; r < rows && ok; r++) {
        double mean = 0, var = 0;
        for (size_t k = 0; k < c; k++) mean += x[r * c + k];
        mean /= (double)c;
        for (size_t k = 0; k < c; k++) var += (x[r * c + k] - mean) * (x[r * c + k] - mean);
        const double inv = 1.0 / sqrt(var / (double)c + 1e-5);
        for (size_t k = 0; k < c && ok; k++) {
            const double want = (x[r * c + k] - mean) * inv * scale[k] + bias[k];
            if (fabs(y[r * c + k] - want) > 2e-3) { ok = 0; fprintf(stderr, "layer_norm %zux%zu at (%zu,%zu): %g want %g\n", rows, c, r, k, y[r * c + k], want); }
        }
    }
    re_layer_norm_rows((int)isa, x, x, c, scale, bias, 1e-5f, 0, rows);
    if (ok && memcmp(x, y, n * sizeof(float)) != 0) { ok = 0; fprintf(stderr, "layer_norm %zux%zu: in place differs\n", rows, c); }
    free(x); free(y); free(scale); free(bias);
    return ok;
}

/* NaN through the fused ReLU / ReLU6 of the micro-kernels (full and edge tiles) and of the depthwise
 * kernel: a NaN in row 2 of A makes row 2 of C NaN, and a NaN input pixel makes the depthwise
 * outputs that read it NaN; every other output stays a number. */
static int check_nan(re_isa isa, const re_gemm_kernels *ks, int act) {
    int ok = 1;
    const size_t m = 9, n = 21, k = 13;
    float *a = malloc(m * k * sizeof(float)), *b = malloc(k * n * sizeof(float)), *c = malloc(m * n * sizeof(float));
    for (size_t i = 0; i < m * k; i++) a[i] = next_uniform();
    for (size_t i = 0; i < k * n; i++) b[i] = next_uniform();
    a[2 * k + 5] = NAN;
    variant v = {0};
    v.kc_block = k;
    v.activation = act;
    v.use_panel_loop = 1;
    run_gemm(ks, &v, m, n, k, a, k, b, n, c, n, NULL, NULL, n);
    for (size_t i = 0; i < m && ok; i++)
        for (size_t j = 0; j < n && ok; j++)
            if (isnan(c[i * n + j]) != (i == 2)) { ok = 0; fprintf(stderr, "gemm NaN act %d: C(%zu,%zu) = %g\n", act, i, j, c[i * n + j]); }
    free(a); free(b); free(c);
    const size_t h = 7, w = 9, ch = 19;
    float *x = malloc(h * w * ch * sizeof(float)), *wt = malloc(9 * ch * sizeof(float)), *y = malloc(h * w * ch * sizeof(float));
    for (size_t i = 0; i < h * w * ch; i++) x[i] = next_uniform();
    for (size_t i = 0; i < 9 * ch; i++) wt[i] = next_uniform();
    x[(3 * w + 4) * ch + 11] = NAN;  /* pixel (3, 4), channel 11 */
    re_depthwise_params p = {h, w, ch, h, w, 3, 3, 1, 1, 1, 1, 1, 1, wt, NULL, act};
    re_depthwise_rows((int)isa, &p, x, y, NULL, 0, h);
    for (size_t oy = 0; oy < h && ok; oy++)
        for (size_t ox = 0; ox < w && ok; ox++)
            for (size_t o = 0; o < ch && ok; o++) {
                const int reads = o == 11 && oy + 1 >= 3 && oy <= 4 && ox + 1 >= 4 && ox <= 5;
                if (isnan(y[(oy * w + ox) * ch + o]) != reads) { ok = 0; fprintf(stderr, "depthwise NaN act %d at (%zu,%zu,%zu)\n", act, oy, ox, o); }
            }
    free(x); free(wt); free(y);
    return ok;
}

int main(int argc, char **argv) {
    const re_isa isa = argc > 1 && strcmp(argv[1], "avx2") == 0 ? RE_ISA_AVX2 : RE_ISA_NEON;
    const char *isa_name = isa == RE_ISA_AVX2 ? "avx2" : "neon";
    const re_gemm_kernels *fast = re_gemm_kernels_get(isa);
    const re_gemm_kernels *scalar = re_gemm_kernels_get(RE_ISA_SCALAR);
    if (!fast || !scalar) {
        fprintf(stderr, "%s kernels are not available in this build or on this CPU\n", isa_name);
        return 2;
    }
    /* Every row-tile remainder of MR = 6 and 8 (1..MR) and every column remainder of NR = 12 and 16
     * in 4- and 8-column vector steps, plus whole tiles and multi-tile sizes. */
    static const size_t ms[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 12, 13, 14, 16, 17, 24, 31, 33};
    static const size_t ns[] = {1, 2, 3, 4, 5, 7, 8, 10, 11, 12, 13, 16, 17, 20, 24, 25, 37};
    static const size_t ks_[] = {1, 2, 3, 7, 16, 17, 64, 100, 257};
    const size_t nm = sizeof ms / sizeof ms[0], nn_ = sizeof ns / sizeof ns[0], nk = sizeof ks_ / sizeof ks_[0];
    long passed = 0, failed = 0;
    unsigned variant_index = 0;
    for (size_t im = 0; im < nm; im++)
    for (size_t in = 0; in < nn_; in++)
    for (size_t ik = 0; ik < nk; ik++) {
        const size_t m = ms[im], n = ns[in], k = ks_[ik];
        /* Rotate through the variants so each appears with every size class; padding makes strides odd. */
        variant v;
        const unsigned s = variant_index++;
        v.use_rowa = s & 1;
        v.b_transposed = (s >> 1) & 1;
        v.kc_block = ((s >> 2) & 1) && k > 5 ? (k + 1) / 3 : k;
        v.activation = (int)((s / 8) % 3);
        v.with_bias = ((s / 3) & 1) == 0;
        v.with_residual = ((s / 5) & 1) == 0;
        v.use_panel_loop = ((s / 7) & 1) == 0;
        v.use_rows_loop = !v.use_panel_loop && (s / 11) % 2 == 0;
        const size_t lda = k + (s % 3), ldc = n + (s % 4), ldr = n + 1 + (s % 2);
        const size_t ldb = v.b_transposed ? k + (s % 2) : n + (s % 5);
        const size_t b_rows = v.b_transposed ? n : k;
        float *a = malloc(m * lda * sizeof(float));
        float *b = malloc(b_rows * ldb * sizeof(float));
        float *bias = malloc(n * sizeof(float));
        float *res = malloc(m * ldr * sizeof(float));
        float *c_fast = malloc(m * ldc * sizeof(float));
        float *c_ref = malloc(m * ldc * sizeof(float));
        for (size_t i = 0; i < m * lda; i++) a[i] = next_uniform();
        for (size_t i = 0; i < b_rows * ldb; i++) b[i] = next_uniform();
        for (size_t i = 0; i < n; i++) bias[i] = next_uniform();
        for (size_t i = 0; i < m * ldr; i++) res[i] = next_uniform();
        /* Sentinels in the padding between rows of C must survive untouched. */
        for (size_t i = 0; i < m * ldc; i++) c_fast[i] = c_ref[i] = 1234.5f;
        const float *bias_p = v.with_bias ? bias : NULL;
        const float *res_p = v.with_residual ? res : NULL;
        run_gemm(fast, &v, m, n, k, a, lda, b, ldb, c_fast, ldc, bias_p, res_p, ldr);
        run_gemm(scalar, &v, m, n, k, a, lda, b, ldb, c_ref, ldc, bias_p, res_p, ldr);
        int ok = 1;
        for (size_t i = 0; i < m && ok; i++) {
            for (size_t j = 0; j < ldc && ok; j++) {
                const float got = c_fast[i * ldc + j], want = c_ref[i * ldc + j];
                if (j >= n) {
                    if (got != 1234.5f) { ok = 0; fprintf(stderr, "padding overwritten at (%zu,%zu)\n", i, j); }
                    continue;
                }
                double exact = 0, bound = 0;
                for (size_t p = 0; p < k; p++) {
                    const double bv = v.b_transposed ? b[j * ldb + p] : b[p * ldb + j];
                    exact += (double)a[i * lda + p] * bv;
                    bound += fabs((double)a[i * lda + p] * bv);
                }
                if (bias_p) { exact += bias_p[j]; bound += fabs(bias_p[j]); }
                if (res_p) { exact += res_p[i * ldr + j]; bound += fabs(res_p[i * ldr + j]); }
                exact = activate(exact, v.activation);
                /* Float32 summation of k+2 terms in any order: |error| <= (k+2) * eps * sum|terms|. */
                const double tol = (double)(k + 2) * 1.2e-7 * bound + 1e-30;
                if (fabs(got - exact) > tol || fabs(want - exact) > tol) {
                    ok = 0;
                    fprintf(stderr, "mismatch m=%zu n=%zu k=%zu variant=%u at (%zu,%zu): %s %.9g scalar %.9g exact %.9g\n",
                            m, n, k, s, i, j, isa_name, got, want, exact);
                }
            }
        }
        if (ok) passed++; else failed++;
        free(a); free(b); free(bias); free(res); free(c_fast); free(c_ref);
    }
    /* Every conv-kernel entry of this ISA, by name: each runs the checks of its operation. */
    long entries = 0;
    for (size_t e = 0; e < re_conv_kernel_count(); e++) {
        const re_conv_kernel_entry *entry = re_conv_kernel_at(e);
        if (entry->isa != (int)isa) continue;
        const long before = passed + failed, failed_before = failed;
        check_conv_entry(isa, entry, &passed, &failed);
        entries++;
        printf("%-36s %ld checks, %ld failed\n", entry->name, passed + failed - before, failed - failed_before);
        if (passed + failed == before) { fprintf(stderr, "%s: no check for this entry\n", entry->name); failed++; }
    }
    if (entries == 0) { fprintf(stderr, "no conv-kernel entries for %s\n", isa_name); failed++; }
    static const size_t counts[] = {1, 3, 7, 8, 9, 21, 64, 67};
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        for (unsigned mask = 0; mask < 4; mask++) {
            if (check_pack_rows(fast, counts[i], mask * 0x25u)) passed++; else failed++;
        }
    }
    for (int act = RE_ACT_RELU; act <= RE_ACT_RELU6; act++) {
        if (check_nan(isa, fast, act)) passed++; else failed++;
    }
    for (int f = RE_UNARY_SIGMOID; f <= RE_UNARY_GELU; f++) {
        static const size_t lengths[] = {1, 7, 8, 4099};
        for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
            if (check_unary(isa, f, lengths[i] < 2 ? 2 : lengths[i])) passed++; else failed++;
        }
    }
    static const size_t scale_shapes[][3] = {{1, 1, 1}, {5, 7, 5}, {9, 8, 3}, {6, 16, 6}, {7, 33, 2}, {4, 144, 4}, {3, 1000, 1}};
    for (size_t i = 0; i < sizeof scale_shapes / sizeof scale_shapes[0]; i++) {
        if (check_scale_rows(isa, scale_shapes[i][0], scale_shapes[i][1], scale_shapes[i][2])) passed++; else failed++;
    }
    static const size_t norm_shapes[][2] = {{1, 1}, {3, 7}, {2, 8}, {4, 33}, {2, 96}, {3, 100}, {2, 768}};
    for (size_t i = 0; i < sizeof norm_shapes / sizeof norm_shapes[0]; i++) {
        if (check_layer_norm(isa, norm_shapes[i][0], norm_shapes[i][1])) passed++; else failed++;
    }
    printf("%s: %ld passed, %ld failed\n", isa_name, passed, failed);
    return failed == 0 ? 0 : 1;
}
