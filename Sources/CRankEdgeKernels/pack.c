/* Packing of A and B blocks into the zero-padded panels the micro-kernels read. */
#include "kernels_internal.h"

#include <string.h>

void re_pack_a(size_t mr, size_t mc, size_t kc, const float *a, ptrdiff_t lda, float *dst) {
    for (size_t i0 = 0; i0 < mc; i0 += mr) {
        const size_t rows = mc - i0 < mr ? mc - i0 : mr;
        const float *src = a + (ptrdiff_t)i0 * lda;
        if (rows == mr && mr == 6) {
            /* The AVX2 panel height, spelled out so the compiler keeps six row streams in registers. */
            const float *r0 = src, *r1 = src + lda, *r2 = src + 2 * lda, *r3 = src + 3 * lda,
                        *r4 = src + 4 * lda, *r5 = src + 5 * lda;
            for (size_t p = 0; p < kc; p++) {
                dst[0] = r0[p]; dst[1] = r1[p]; dst[2] = r2[p];
                dst[3] = r3[p]; dst[4] = r4[p]; dst[5] = r5[p];
                dst += 6;
            }
            continue;
        }
        for (size_t p = 0; p < kc; p++) {
            size_t i = 0;
            for (; i < rows; i++) dst[i] = src[(ptrdiff_t)i * lda + (ptrdiff_t)p];
            for (; i < mr; i++) dst[i] = 0.0f;
            dst += mr;
        }
    }
}

void re_pack_rows(size_t mr, const float *const *rows, size_t count, float *dst) {
    for (size_t i = 0; i < mr; i++) {
        const float *src = rows[i];
        if (src) {
            for (size_t p = 0; p < count; p++) dst[p * mr + i] = src[p];
        } else {
            for (size_t p = 0; p < count; p++) dst[p * mr + i] = 0.0f;
        }
    }
}

void re_pack_b(size_t nr, size_t kc, size_t nc, const float *b, ptrdiff_t ldb, float *dst) {
    for (size_t j0 = 0; j0 < nc; j0 += nr) {
        const size_t cols = nc - j0 < nr ? nc - j0 : nr;
        const float *src = b + j0;
        for (size_t p = 0; p < kc; p++) {
            memcpy(dst, src + (ptrdiff_t)p * ldb, cols * sizeof(float));
            for (size_t j = cols; j < nr; j++) dst[j] = 0.0f;
            dst += nr;
        }
    }
}

void re_pack_b_transposed(size_t nr, size_t kc, size_t nc, const float *bt, ptrdiff_t ldbt, float *dst) {
    for (size_t j0 = 0; j0 < nc; j0 += nr) {
        const size_t cols = nc - j0 < nr ? nc - j0 : nr;
        for (size_t p = 0; p < kc; p++) {
            size_t j = 0;
            for (; j < cols; j++) dst[j] = bt[(ptrdiff_t)(j0 + j) * ldbt + (ptrdiff_t)p];
            for (; j < nr; j++) dst[j] = 0.0f;
            dst += nr;
        }
    }
}
