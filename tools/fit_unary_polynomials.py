#!/usr/bin/env python3
"""Fits the polynomials of Sources/CRankEdgeKernels/unary_kernels_impl.h (exp, tanh near 0, erf)
by weighted least squares at Chebyshev nodes, and prints each one's worst relative error in double.
The kernel uses the degrees marked with '<-' (coefficients rounded to float32)."""
from math import erf, erfc, exp, log

import numpy as np


def chebyshev_nodes(a, b, n=2000):
    k = np.arange(n)
    return (a + b) / 2 + (b - a) / 2 * np.cos((2 * k + 1) * np.pi / (2 * n))


def show(name, degree, chosen, error, coefficients_high_first):
    mark = " <-" if degree == chosen else ""
    print(f"{name} degree {degree}: worst relative error {error:.2e}{mark}")
    if mark:
        print("   Horner order (highest first):", ", ".join(f"{c:.8g}" for c in coefficients_high_first))


# e^r = 1 + r + r²·P(r) on |r| <= ln2/2 (after x = n·ln2 + r).
r = chebyshev_nodes(-log(2) / 2, log(2) / 2)
target = (np.expm1(r) - r) / r**2
for degree in (4, 5):
    c = np.polyfit(r, target, degree, w=r**2 / np.exp(r))
    show("exp", degree, 4, np.max(np.abs((1 + r + r**2 * np.polyval(c, r)) / np.exp(r) - 1)), c)

# tanh(a) = a + a·z·P(z), z = a², on [0, 0.625).
a = chebyshev_nodes(1e-4, 0.625)
z = a * a
for degree in (3, 4, 5):
    c = np.polyfit(z, (np.tanh(a) / a - 1) / z, degree, w=z / np.tanh(a) * a)
    show("tanh", degree, 4, np.max(np.abs((a + a * z * np.polyval(c, z)) / np.tanh(a) - 1)), c)

# erf(a) = a·P(a²) on [0, 1).
a = chebyshev_nodes(1e-4, 1.0)
z = a * a
exact = np.array([erf(v) for v in a])
for degree in (5, 6, 7):
    c = np.polyfit(z, exact / a, degree)
    show("erf", degree, 6, np.max(np.abs(a * np.polyval(c, z) / exact - 1)), c)

# erfc(a)·e^(a²) = Q(1/a) on [1, 4]; erf = 1 - Q·e^(-a²).
a = chebyshev_nodes(1.0, 4.0)
exact = np.array([erfc(v) * exp(v * v) for v in a])
for degree in (6, 7, 8):
    c = np.polyfit(1 / a, exact, degree, w=1 / exact)
    show("erfc·e^(a²)", degree, 7, np.max(np.abs(np.polyval(c, 1 / a) / exact - 1)), c)
