/*
 * Times re_unary (the activation kernel) per ISA against a plain libm loop of the same function,
 * and reports each one's worst error against double-precision libm, over 200 001 values evenly
 * spaced in [-30, 30]. Built and run by tools/bench_unary.sh. Output: one line per function and
 * engine, "function engine ns/value worst-error".
 */
#include "CRankEdgeKernels.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static const char *names[] = {"sigmoid", "tanh", "hardSigmoid", "hardSwish", "silu", "erf", "gelu"};

static double exact(int f, double x) {
    switch (f) {
    case RE_UNARY_SIGMOID: return 1 / (1 + exp(-x));
    case RE_UNARY_TANH: return tanh(x);
    case RE_UNARY_HARD_SIGMOID: { double t = 0.2 * x + 0.5; return t < 0 ? 0 : (t > 1 ? 1 : t); }
    case RE_UNARY_HARD_SWISH: { double t = x / 6 + 0.5; return x * (t < 0 ? 0 : (t > 1 ? 1 : t)); }
    case RE_UNARY_SILU: return x / (1 + exp(-x));
    case RE_UNARY_ERF: return erf(x);
    default: return 0.5 * x * (1 + erf(x / sqrt(2.0)));
    }
}

/* What the runtime did before the kernel: one float libm call per value. */
static void libm_loop(int f, const float *x, float *y, size_t n) {
    for (size_t i = 0; i < n; i++) {
        const float v = x[i];
        switch (f) {
        case RE_UNARY_SIGMOID: y[i] = 1 / (1 + expf(-v)); break;
        case RE_UNARY_TANH: y[i] = tanhf(v); break;
        case RE_UNARY_HARD_SIGMOID: { float t = 0.2f * v + 0.5f; y[i] = t < 0 ? 0 : (t > 1 ? 1 : t); break; }
        case RE_UNARY_HARD_SWISH: { float t = v / 6 + 0.5f; y[i] = v * (t < 0 ? 0 : (t > 1 ? 1 : t)); break; }
        case RE_UNARY_SILU: y[i] = v / (1 + expf(-v)); break;
        case RE_UNARY_ERF: y[i] = erff(v); break;
        default: y[i] = 0.5f * v * (1 + erff(v * 0.70710678f)); break;
        }
    }
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(void) {
    const size_t n = 200001;
    const int reps = 50;
    float *x = malloc(n * sizeof(float)), *y = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)(-30.0 + 60.0 * (double)i / (double)(n - 1));
    for (int f = RE_UNARY_SIGMOID; f <= RE_UNARY_GELU; f++) {
        for (int engine = -1; engine <= RE_ISA_NEON; engine++) {
            if (engine >= 0 && engine != RE_ISA_SCALAR && !re_cpu_supports((re_isa)engine)) continue;
            const char *label = engine < 0 ? "libm-loop" : (engine == RE_ISA_SCALAR ? "portable" : (engine == RE_ISA_AVX2 ? "avx2" : "neon"));
            double best = 1e300;
            for (int round = 0; round < 3; round++) {
                const double t0 = now_ns();
                for (int r = 0; r < reps; r++) {
                    if (engine < 0) libm_loop(f, x, y, n); else re_unary(engine, f, x, y, n, 0.2f, 0.5f);
                }
                const double ns = (now_ns() - t0) / reps / (double)n;
                if (ns < best) best = ns;
            }
            double worst = 0;
            for (size_t i = 0; i < n; i++) {
                const double e = exact(f, x[i]), err = fabs(y[i] - e) / (fabs(e) > 1 ? fabs(e) : 1);
                if (err > worst) worst = err;
            }
            printf("%-12s %-10s %6.3f ns/value  worst error %.1e x max(1, |y|)\n", names[f], label, best, worst);
        }
    }
    free(x); free(y);
    return 0;
}
