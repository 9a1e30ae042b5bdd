#ifndef CLINALG_H
#define CLINALG_H

// Dense linear algebra (SVD, symmetric eigendecomposition) through Armadillo/LAPACK, behind a C
// interface Swift can import: the compressor and the trainer use it; the runtime never links this.

#ifdef __cplusplus
extern "C" {
#endif

/// Thin SVD of the row-major rows x cols matrix a: a = u * diag(s) * vt with r = min(rows, cols),
/// u rows x r and vt r x cols (row-major), s descending. Returns 0 on success, non-zero when
/// LAPACK fails to converge or the arguments are invalid.
int clinalg_svd(const float *a, int rows, int cols, float *u, float *s, float *vt);

/// Eigendecomposition of the symmetric n x n matrix a (row-major, double precision: Gram matrices
/// accumulate many products): a = v * diag(w) * v^T with w descending and v's columns the matching
/// eigenvectors (row-major n x n). Returns 0 on success, non-zero on failure or invalid arguments.
int clinalg_symmetric_eigen(const double *a, int n, double *w, double *v);

#ifdef __cplusplus
}
#endif

#endif
