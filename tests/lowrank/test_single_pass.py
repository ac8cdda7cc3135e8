"""single_pass_svd: one pass over A, Tropp et al. (2017) error bounds."""

from __future__ import annotations

import math

import numpy as np
import pytest

from randla import as_operator, single_pass_svd

from lowrank_helpers import f_ratio, host, known_matrix

METHODS = ("tropp", "generalized_nystrom")


class _CountingMatrix:
    """A matrix seen only through counted block products."""

    def __init__(self, A):
        self.A = A
        self.forward_calls = 0
        self.adjoint_calls = 0

    def matmat(self, X):
        self.forward_calls += 1
        return self.A @ X

    def rmatmat(self, Y):
        self.adjoint_calls += 1
        return self.A.T @ Y


@pytest.mark.parametrize("method", METHODS)
def test_touches_A_exactly_once(method):
    A = known_matrix(60, 50, 0.7 ** np.arange(50), seed=1)
    counted = _CountingMatrix(A)
    op = as_operator(counted.matmat, shape=A.shape, rmatmat=counted.rmatmat)
    U, S, Vh = single_pass_svd(op, 5, oversample=5, method=method, rng=0)
    assert (counted.forward_calls, counted.adjoint_calls) == (1, 1)
    assert (op.num_matvecs, op.num_rmatvecs) == (10, 21)  # s = 10, l = 2 s + 1
    assert U.shape == (60, 5) and S.shape == (5,) and Vh.shape == (5, 50)


@pytest.mark.parametrize("method", METHODS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exact_rank(xp, to_xp, method, dtype):
    sigma = np.array([5.0, 3, 2, 1, 0.5, 0.1])
    A = known_matrix(50, 40, sigma, seed=2)
    U, S, Vh = (host(x) for x in single_pass_svd(to_xp(A.astype(dtype)), 6, oversample=2,
                                                 method=method, rng=1))
    tol = 1e-11 if dtype == np.float64 else 1e-4
    np.testing.assert_allclose(U.T @ U, np.eye(6), atol=tol)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(6), atol=tol)
    np.testing.assert_allclose(S, sigma, rtol=tol)
    assert np.linalg.norm(A - (U * S) @ Vh, 2) <= tol * sigma[0]


@pytest.mark.parametrize("method", METHODS)
def test_tropp_expected_error_bounds(xp, to_xp, method):
    # Tropp, Yurtsever, Udell, Cevher (SIMAX 2017), Thm. 4.3, Gaussian maps,
    # range sketch s, co-range sketch l > s + 1, f(a, b) = a / (b - a - 1):
    #   E||A - Q X||_F^2 <= (1 + f(s, l)) min_{rho < s-1} (1 + f(rho, s)) tau_{rho+1}^2
    # and (their Prop. 6.1 with Jensen) for the rank-r truncation:
    #   E||A - [[Q X]]_r||_F <= tau_{r+1} + 2 sqrt(E||A - Q X||_F^2).
    # The generalized Nystrom form equals Q X in exact arithmetic (Y (Psi Y)^+ =
    # Q (Psi Q)^+ for full-rank Y), so the same bounds hold. Means over 8 seeds.
    sigma = 1.0 / np.arange(1, 61)
    A = known_matrix(80, 60, sigma, seed=3)
    s, l, r = 12, 25, 5
    tau2 = lambda j: float(np.sum(sigma[j:] ** 2))  # noqa: E731
    full_bound = (1 + f_ratio(s, l)) * min((1 + f_ratio(rho, s)) * tau2(rho)
                                          for rho in range(s - 1))
    full, trunc = [], []
    for seed in range(8):
        U, S, Vh = (host(x) for x in single_pass_svd(to_xp(A), s, oversample=0,
                                                     corange_size=l, method=method, rng=seed))
        full.append(np.linalg.norm(A - (U * S) @ Vh, "fro") ** 2)
        U, S, Vh = (host(x) for x in single_pass_svd(to_xp(A), r, oversample=s - r,
                                                     corange_size=l, method=method, rng=seed))
        trunc.append(np.linalg.norm(A - (U * S) @ Vh, "fro"))
        assert trunc[-1] >= math.sqrt(tau2(r)) * (1 - 1e-12)
    assert np.mean(full) <= full_bound
    assert np.mean(trunc) <= math.sqrt(tau2(r)) + 2 * math.sqrt(full_bound)


def test_methods_agree_and_same_seed_across_backends(xp, to_xp):
    A = known_matrix(50, 40, 0.7 ** np.arange(40), seed=4)
    ref = single_pass_svd(A, 5, rng=5)
    gn = single_pass_svd(A, 5, method="generalized_nystrom", rng=5)
    for r, g in zip(ref, gn):
        np.testing.assert_allclose(g, r, atol=1e-9)
    for method in METHODS:
        expected = single_pass_svd(A, 5, method=method, rng=5)
        got = single_pass_svd(to_xp(A), 5, method=method, rng=5)
        for r, g in zip(expected, got):
            np.testing.assert_allclose(host(g), r, atol=1e-10)


def test_wide_matrix(xp, to_xp):
    sigma = np.array([4.0, 2, 1, 0.5, 0.25])
    A = known_matrix(30, 70, sigma, seed=6)
    for method in METHODS:
        U, S, Vh = (host(x) for x in single_pass_svd(to_xp(A), 5, method=method, rng=0))
        np.testing.assert_allclose((U * S) @ Vh, A, atol=1e-11)


def test_errors(xp, to_xp):
    A = to_xp(known_matrix(30, 20, np.ones(20)))
    with pytest.raises(ValueError, match="rank must satisfy"):
        single_pass_svd(A, 21)
    with pytest.raises(ValueError, match="corange_size must satisfy"):
        single_pass_svd(A, 5, oversample=5, corange_size=9)
    with pytest.raises(ValueError, match="corange_size must satisfy"):
        single_pass_svd(A, 5, corange_size=31)
    with pytest.raises(ValueError, match="method must be one of"):
        single_pass_svd(A, 5, method="nystrom")
    with pytest.raises(TypeError, match="probe must be a probe kind"):
        single_pass_svd(A, 5, probe=A)
    bad = known_matrix(30, 20, np.ones(20))
    bad[4, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        single_pass_svd(to_xp(bad), 3)
    M = known_matrix(30, 20, np.ones(20))
    with pytest.raises(TypeError, match="single_pass_svd needs the adjoint"):
        single_pass_svd(as_operator(lambda X: M @ X, shape=M.shape), 3)
