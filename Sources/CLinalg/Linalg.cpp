#include "CLinalg.h"

#include <armadillo>

// OpenBLAS, when it is the LAPACK underneath Armadillo (Debian's default once libopenblas is
// installed). Weak: with another LAPACK these stay null and nothing is changed.
extern "C" {
void openblas_set_num_threads(int) __attribute__((weak));
int openblas_get_num_threads(void) __attribute__((weak));
}

namespace {
// One BLAS thread for the length of a factorization. The matrices here are small (a layer's
// weight, a Gram matrix); OpenBLAS's threads spin-wait between calls, and on a 2-core machine
// running anything else a threaded SVD measured 2.3x slower in wall time than a single-threaded
// one (ResNet-50 `compress --rank ratio:2`: 699 s against 301 s, half of it in the kernel).
struct SingleThreadedBLAS {
    int previous = 0;
    SingleThreadedBLAS() {
        if (openblas_get_num_threads && openblas_set_num_threads) {
            previous = openblas_get_num_threads();
            if (previous != 1) openblas_set_num_threads(1);
        }
    }
    ~SingleThreadedBLAS() {
        if (previous > 1) openblas_set_num_threads(previous);
    }
};
}  // namespace

int clinalg_svd(const float *a, int rows, int cols, float *u, float *s, float *vt) {
    if (rows <= 0 || cols <= 0 || !a || !u || !s || !vt) return 1;
    // Double precision: the factors feed initialisations and decompositions whose error budgets
    // are far below float rounding of the products.
    arma::mat m(rows, cols);
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) m(i, j) = a[i * cols + j];
    arma::mat U, V;
    arma::vec sigma;
    SingleThreadedBLAS one_thread;
    try {
        if (!arma::svd_econ(U, sigma, V, m, "both", "dc")) return 2;
    } catch (...) {
        return 3;
    }
    const int r = rows < cols ? rows : cols;
    for (int i = 0; i < rows; ++i)
        for (int l = 0; l < r; ++l) u[i * r + l] = static_cast<float>(U(i, l));
    for (int l = 0; l < r; ++l) s[l] = static_cast<float>(sigma(l));
    for (int l = 0; l < r; ++l)
        for (int j = 0; j < cols; ++j) vt[l * cols + j] = static_cast<float>(V(j, l));
    return 0;
}

int clinalg_symmetric_eigen(const double *a, int n, double *w, double *v) {
    if (n <= 0 || !a || !w || !v) return 1;
    arma::mat m(n, n);
    for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) m(i, j) = a[i * n + j];
    // Symmetrise: accumulated Gram matrices can differ from their transpose in the last bits.
    m = 0.5 * (m + m.t());
    arma::vec values;
    arma::mat vectors;
    SingleThreadedBLAS one_thread;
    try {
        if (!arma::eig_sym(values, vectors, m, "dc")) return 2;
    } catch (...) {
        return 3;
    }
    // Armadillo returns ascending eigenvalues; callers want the largest first.
    for (int l = 0; l < n; ++l) {
        const int src = n - 1 - l;
        w[l] = values(src);
        for (int i = 0; i < n; ++i) v[i * n + l] = vectors(i, src);
    }
    return 0;
}
