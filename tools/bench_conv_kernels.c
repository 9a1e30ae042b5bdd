/*
 * Times the separable rank-L kernel and the narrow direct conv on one layer alone, outside the
 * runtime: the planar copy plus every tile, single-threaded, minimum over repetitions (the one
 * statistic a shared host repeats). Built and run by tools/bench_conv_kernels.sh.
 *   bench_conv_kernels rank   H C S K L ROWS BLOCK GROUP   (stride 1, "same" padding)
 *   bench_conv_kernels narrow H C S K                      (stride 1, "same" padding, bias + ReLU)
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

static float *random_floats(size_t n) {
    float *p = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) p[i] = (float)rand() / (float)RAND_MAX - 0.5f;
    return p;
}

int main(int argc, char **argv) {
    const int isa = re_cpu_supports(RE_ISA_AVX2) ? RE_ISA_AVX2 : (re_cpu_supports(RE_ISA_NEON) ? RE_ISA_NEON : RE_ISA_SCALAR);
    const int rank = argc == 10 && strcmp(argv[1], "rank") == 0, narrow = argc == 6 && strcmp(argv[1], "narrow") == 0;
    if (!rank && !narrow) {
        fprintf(stderr, "usage: bench_conv_kernels rank H C S K L ROWS BLOCK GROUP | narrow H C S K\n");
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
