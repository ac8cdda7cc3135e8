"""Small problems shared by the dias tests (tiny: the suite has a time budget)."""

from __future__ import annotations

import numpy as np


def random_spd(n, *, rng, decay=0.7):
    """SPD matrix with eigenvalues ``decay**i`` (i = 0..n-1) and random eigenvectors."""
    g = np.random.default_rng(rng)
    Q, _ = np.linalg.qr(g.standard_normal((n, n)))
    return (Q * decay ** np.arange(n)) @ Q.T


def orthonormal(n, r, *, rng):
    Q, _ = np.linalg.qr(np.random.default_rng(rng).standard_normal((n, r)))
    return Q


def subspace_distance(A, B):
    """``||P_A - P_B||_2`` of the spans of orthonormal A, B (same dimension)."""
    return float(np.linalg.norm(A @ A.T - B @ B.T, 2))


def linear_problem(n=30, m=20, *, rng=0, decay=0.6):
    """Forward operator with singular values ``decay**i``, data from a random truth."""
    from randla.apps.dias import LinearProblem

    g = np.random.default_rng(rng)
    U, _ = np.linalg.qr(g.standard_normal((m, m)))
    V, _ = np.linalg.qr(g.standard_normal((n, m)))
    F = (U * decay ** np.arange(m)) @ V.T
    truth = g.standard_normal(n)
    data = F @ truth + 0.01 * g.standard_normal(m)
    return LinearProblem(F, data, noise_variance=1e-4, truth=truth)
