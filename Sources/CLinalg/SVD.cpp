#include "CLinalg.h"

#include <armadillo>

int clinalg_svd(const float *a, int rows, int cols, float *u, float *s, float *vt) {
    if (rows <= 0 || cols <= 0 || !a || !u || !s || !vt) return 1;
    // Double precision: the factors feed initialisations and decompositions whose error budgets
    // are far below float rounding of the products.
    arma::mat m(rows, cols);
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j) m(i, j) = a[i * cols + j];
    arma::mat U, V;
    arma::vec sigma;
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
