#ifndef CLINALG_H
#define CLINALG_H

// The trainer's dense linear algebra (SVD) through Armadillo/LAPACK, behind a C interface Swift
// can import. The runtime never links this.

#ifdef __cplusplus
extern "C" {
#endif

/// Thin SVD of the row-major rows x cols matrix a: a = u * diag(s) * vt with r = min(rows, cols),
/// u rows x r and vt r x cols (row-major), s descending. Returns 0 on success, non-zero when
/// LAPACK fails to converge or the arguments are invalid.
int clinalg_svd(const float *a, int rows, int cols, float *u, float *s, float *vt);

#ifdef __cplusplus
}
#endif

#endif
