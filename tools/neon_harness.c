/*
 * Cross-checks one ISA's GEMM micro-kernels against the portable scalar kernel, and both against a
 * double-precision reference. Built by tools/check_neon_qemu.sh for AArch64 and run under qemu.
 * A small C driver (same loop structure as the Swift one: K blocks, packed or unpacked A, zero-padded
 * panels by each ISA's own packers, epilogue on the last K block only) runs each kernel over odd sizes that leave edge tiles in
 * every direction. Exit status 1 on any mismatch.
 */
#include "CRankEdgeKernels.h"

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
            re_gemm_block_by_rows(ks, kc, m, v->use_rowa ? a + p0 : ap, v->use_rowa ? (ptrdiff_t)lda : 0, bp, n, c,
                                  (ptrdiff_t)ldc, flags, bias, residual, (ptrdiff_t)ldr);
            continue;
        }
        for (size_t j = 0; j < n; j += nr) {
            const size_t nn = n - j < nr ? n - j : nr;
            if (v->use_panel_loop) {
                const float *next = j + nr < n ? bp + (j + nr) * kc : NULL;
                re_gemm_panel(ks, kc, m, v->use_rowa ? a + p0 : ap, v->use_rowa ? (ptrdiff_t)lda : 0, bp + j * kc, next,
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
    printf("%s: %ld passed, %ld failed\n", isa_name, passed, failed);
    return failed == 0 ? 0 : 1;
}
