/*
 * Times the separable rank-L kernel and the narrow direct conv on one layer alone, outside the
 * runtime: the planar copy plus every tile, single-threaded, minimum over repetitions (the one
 * statistic a shared host repeats). Built and run by tools/bench_conv_kernels.sh.
 *   bench_conv_kernels rank   H C S K L ROWS BLOCK GROUP   (stride 1, "same" padding)
 *   bench_conv_kernels narrow H C S K                      (stride 1, "same" padding, bias + ReLU)
 *   bench_conv_kernels list                                 (every entry of the conv-kernel table)
 *   bench_conv_kernels kernel NAME H C S K [STRIDE]         (any table entry by name, on its own ISA:
 *       depthwise H x H x C, k x k, at STRIDE (default 1); grouped C -> C in groups of S inputs and S outputs (S = 8 or 16);
 *       narrow conv and rank conv (L = 1) C -> S; narrow chain C -> S -> S -> C;
 *       Winograd transforms of every tile of an H x H image of C channels, S outputs)
 */
#define _POSIX_C_SOURCE 199309L
#include "rankedge_conv_kernels.h"
#include "CRankEdgeKernels.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* 64-byte aligned, as the runtime's arena and weights are (malloc's 16 bytes split vectors across
 * cache lines, which the runtime never does). */
static float *random_floats(size_t n) {
    float *p = aligned_alloc(64, (n * sizeof(float) + 63) / 64 * 64);
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

/* Times one entry of the conv-kernel table, called through its own ISA's table. */
static int bench_entry(const char *name, size_t h, size_t c, size_t s, size_t k, size_t stride) {
    const re_conv_kernel_entry *e = re_conv_kernel_named(name);
    if (!e) { fprintf(stderr, "no conv kernel named %s (bench_conv_kernels list shows them)\n", name); return 2; }
    const re_conv_kernels *t = re_conv_kernels_get(e->isa);
    if (!t) { fprintf(stderr, "%s: this CPU cannot run its ISA\n", name); return 2; }
    const ptrdiff_t pad = (ptrdiff_t)(k / 2);
    const size_t widest = (c > s ? c : s) * 36;
    float *x = random_floats(h * h * widest), *y = random_floats(h * h * widest), *w = random_floats(c * k * k * s + widest);
    float *bias = random_floats(widest), *scratch = malloc(h * h * widest * 4 * sizeof(float));
    double best = 1e30, macs = 0;
    for (int rep = 0; rep < 200; rep++) {
        const double t0 = now();
        switch (e->operation) {
        case RE_CONV_DEPTHWISE_ROWS: {
            const size_t oh = (h + 2 * (size_t)pad - k) / stride + 1;
            re_depthwise_params p = {h, h, c, oh, oh, k, k, stride, stride, pad, pad, 1, 1, w, bias, RE_ACT_RELU};
            t->depthwise_rows(&p, x, y, NULL, 0, oh);
            macs = (double)oh * oh * c * k * k;
            break;
        }
        case RE_CONV_GROUPED_ROWS: {
            re_grouped_params p = {h, h, c, h, h, c, k, k, 1, 1, pad, pad, 1, 1, c / s, s, s, w, bias, RE_ACT_RELU};
            t->grouped_rows(&p, x, y, NULL, 0, h);
            macs = (double)h * h * c * k * k * s;
            break;
        }
        case RE_CONV_NARROWCONV_ROWS: {
            re_narrowconv_params p = {h, h, c, h, h, s, k, k, pad, pad, w, bias, RE_ACT_RELU};
            t->narrowconv_rows(&p, x, y, NULL, 0, h);  /* x stands in for the planes: timing only */
            macs = (double)h * h * s * c * k * k;
            break;
        }
        case RE_CONV_RANKCONV_TILE: {
            const size_t sp = (s + 7) / 8 * 8;
            re_rankconv_params p = {h, h, c, h, h, s, 1, k, 1, 1, pad, pad, sp, w, w, NULL, 0};
            t->rankconv_tile(&p, x, y, NULL, 0, h, 0, sp, 4, scratch);
            macs = (double)h * h * s * c * 2 * k;
            break;
        }
        case RE_CONV_NARROWCHAIN_PROJECT: case RE_CONV_NARROWCHAIN_ROWS: {
            re_narrowchain_params p = {{h, h, s, h, h, s, k, k, pad, pad, w, NULL, RE_ACT_NONE}, c, w, NULL, c, w, NULL, RE_ACT_RELU};
            if (e->operation == RE_CONV_NARROWCHAIN_PROJECT) {
                t->narrowchain_project(&p, x, scratch, 0, h + k - 1);
                macs = (double)(h + k - 1) * h * c * s;
            } else {
                t->narrowchain_rows(&p, scratch, y, NULL, 0, h, scratch + h * h * widest * 2);
                macs = (double)h * h * s * (s * k * k + c);
            }
            break;
        }
        default: {
            /* m x m output tiles of the image; rows of the transform point into x and y. */
            const int m = e->winograd == RE_WINOGRAD_F43 ? 4 : 2, r = e->winograd == RE_WINOGRAD_F25 ? 5 : 3;
            const size_t alpha = (size_t)(m + r - 1), tiles = (h / (size_t)m) * (h / (size_t)m);
            const float *rows[36];
            float *outs[16];
            for (size_t i = 0; i < 36; i++) rows[i] = x + (i % h) * c;
            for (size_t i = 0; i < 16; i++) outs[i] = y + i * s;
            for (size_t tile = 0; tile < tiles; tile++) {
                if (e->operation == RE_CONV_WINOGRAD_INPUT) t->winograd_input[e->winograd](rows, c, scratch, c);
                else if (e->operation == RE_CONV_WINOGRAD_OUTPUT) t->winograd_output[e->winograd](x, s, s, bias, outs, NULL, RE_ACT_RELU);
                else t->winograd_output_gradient[e->winograd](rows, s, scratch, s);
            }
            macs = (double)tiles * alpha * alpha * (e->operation == RE_CONV_WINOGRAD_INPUT ? c : s);
        }
        }
        const double dt = now() - t0;
        if (dt < best) best = dt;
    }
    printf("%s H=%zu C=%zu S=%zu k=%zu: %.4f ms, %.2f G values/s\n", name, h, c, s, k, best * 1e3, macs / best * 1e-9);
    return 0;
}

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "list") == 0) {
        for (size_t i = 0; i < re_conv_kernel_count(); i++) {
            const re_conv_kernel_entry *e = re_conv_kernel_at(i);
            printf("%-38s %s\n", e->name, re_conv_kernels_get(e->isa) ? "runs here" : "not on this CPU");
        }
        return 0;
    }
    if ((argc == 7 || argc == 8) && strcmp(argv[1], "kernel") == 0) {
        const int stride = argc == 8 ? atoi(argv[7]) : 1;
        if (stride < 1) { fprintf(stderr, "stride must be at least 1\n"); return 2; }
        return bench_entry(argv[2], (size_t)atoi(argv[3]), (size_t)atoi(argv[4]), (size_t)atoi(argv[5]), (size_t)atoi(argv[6]),
                           (size_t)stride);
    }
    const int isa = re_cpu_supports(RE_ISA_AVX2) ? RE_ISA_AVX2 : (re_cpu_supports(RE_ISA_NEON) ? RE_ISA_NEON : RE_ISA_SCALAR);
    const int rank = argc == 10 && strcmp(argv[1], "rank") == 0, narrow = argc == 6 && strcmp(argv[1], "narrow") == 0;
    if (!rank && !narrow) {
        fprintf(stderr, "usage: bench_conv_kernels rank H C S K L ROWS BLOCK GROUP | narrow H C S K | list | kernel NAME H C S K [STRIDE]\n");
        return 2;
    }
    const size_t h = (size_t)atoi(argv[2]), c = (size_t)atoi(argv[3]), s = (size_t)atoi(argv[4]), k = (size_t)atoi(argv[5]);
    const ptrdiff_t pad = (ptrdiff_t)(k / 2);
    float *x = random_floats(h * h * c), *y = malloc(h * h * s * sizeof(float));
    double best = 1e30, macs;
    if (rank) {
        const size_t l = (size_t)atoi(argv[6]), rows = (size_t)atoi(argv[7]), block = (size_t)atoi(argv[8]), group = (size_t)atoi(argv[9]);
        const size_t sp = (s + 7) / 8 * 8;
        float *bh = random_floats(c * k * l * sp), *av = random_floats(c * k * l * sp);
        re_rankconv_params p = {h, h, c, h, h, s, l, k, 1, 1, pad, pad, sp, bh, av, NULL, 0};
        float *planar = malloc(re_rankconv_planar_floats(&p) * sizeof(float));
        float *scratch = malloc(re_rankconv_scratch_floats(&p, rows, block, group) * sizeof(float));
        for (int rep = 0; rep < 300; rep++) {
            const double t0 = now();
            re_rankconv_planar(&p, x, planar, 0, c);
            for (size_t oy = 0; oy < h; oy += rows)
                for (size_t o = 0; o < sp; o += block)
                    re_rankconv_tile(isa, &p, planar, y, NULL, oy, oy + rows < h ? oy + rows : h, o, o + block < sp ? o + block : sp,
                                     group, scratch);
            const double t = now() - t0;
            if (t < best) best = t;
        }
        macs = (double)h * h * s * c * 2 * l * k;
        printf("rank   %zux%zux%zu->%zu k=%zu L=%zu rows=%zu block=%zu group=%zu: %.4f ms, %.1f GMAC/s\n",
               h, h, c, s, k, l, rows, block, group, best * 1e3, macs / best * 1e-9);
    } else {
        float *w = random_floats(c * k * k * s), *bias = random_floats(s);
        re_narrowconv_params p = {h, h, c, h, h, s, k, k, pad, pad, w, bias, RE_ACT_RELU};
        float *planar = malloc(re_narrowconv_planar_floats(&p) * sizeof(float));
        for (int rep = 0; rep < 1000; rep++) {
            const double t0 = now();
            re_narrowconv_planar(&p, x, planar, 0, c);
            re_narrowconv_rows(isa, &p, planar, y, NULL, 0, h);
            const double t = now() - t0;
            if (t < best) best = t;
        }
        macs = (double)h * h * s * c * k * k;
        printf("narrow %zux%zux%zu->%zu k=%zu: %.4f ms, %.1f GMAC/s\n", h, h, c, s, k, best * 1e3, macs / best * 1e-9);
    }
    return 0;
}
