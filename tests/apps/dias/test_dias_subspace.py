"""Active subspaces: the Monte-Carlo C converges to the closed form on a linear problem,
the matrix-free subspace matches dense eigenvectors, bootstrap intervals cover, rank rules."""

import numpy as np
import pytest

from randla.apps.dias import (
    ScaledIdentityPrior,
    DenseGaussianPrior,
    choose_rank,
    gradient_covariance,
    matrix_free_subspace,
    sampled_subspace,
)
from randla.backend import to_host

from dias_helpers import linear_problem, random_spd, subspace_distance


def _exact_C(prob, prior, centred):
    n = prob.size
    H = prob.hessian_operator().matmat(np.eye(n))
    G = prior.to_dense()
    C = H @ G @ H
    if not centred:
        g0 = prob.gradient(prior.mean)
        C = C + np.outer(g0, g0)
    return C


@pytest.mark.parametrize("centred", [False, True])
def test_closed_form_operator(centred):
    prob = linear_problem(rng=1)
    prior = DenseGaussianPrior(np.zeros(prob.size), random_spd(prob.size, rng=2, decay=0.9))
    C = prob.gradient_covariance(prior, centred=centred).matmat(np.eye(prob.size))
    np.testing.assert_allclose(C, _exact_C(prob, prior, centred), rtol=1e-10, atol=1e-10 * np.abs(C).max())


@pytest.mark.parametrize("M", [200, 3200])
def test_monte_carlo_converges_to_closed_form(M):
    """g = H (u - u0) + g0 with u ~ N(u0, Gamma) is Gaussian N(g0, S), S = H Gamma H, so
    E||C_M - C||_F^2 = (E||g||^4 - ||C||_F^2) / M with
    E||g||^4 = a^2 + 2 a tr S + 4 g0^T S g0 + (tr S)^2 + 2 tr S^2,  a = ||g0||^2.
    Chebyshev: the error exceeds 4 standard deviations with probability <= 1/16."""
    prob = linear_problem(n=15, m=10, rng=3, decay=0.8)
    prior = ScaledIdentityPrior(0.1 * np.ones(prob.size), variance=0.5)
    S = _exact_C(prob, prior, centred=True)
    g0 = prob.gradient(prior.mean)
    C = S + np.outer(g0, g0)
    a = g0 @ g0
    e4 = a * a + 2 * a * np.trace(S) + 4 * g0 @ S @ g0 + np.trace(S) ** 2 + 2 * np.trace(S @ S)
    sd = np.sqrt((e4 - np.sum(C * C)) / M)
    U = prior.sample(M, rng=7)
    G = prob.gradient(U)
    CM = G @ G.T / M
    err = np.linalg.norm(CM - C)
    assert err < 4 * sd
    assert sd < 0.1 * np.linalg.norm(C) or M == 200  # the bound is informative at the larger M
    # the sampled subspace (through randla.rsvd) agrees with the eigenvalues of C_M
    sub = sampled_subspace(G, rank=3, num_eigenvalues=5, bootstrap=0, rng=0)
    np.testing.assert_allclose(sub.eigenvalues, np.linalg.eigvalsh(CM)[::-1][:5], rtol=1e-8)


def test_sampled_subspace_converges_and_bootstrap_covers():
    prob = linear_problem(n=15, m=10, rng=3, decay=0.5)
    prior = ScaledIdentityPrior(np.zeros(prob.size))
    C = _exact_C(prob, prior, centred=False)
    w, V = np.linalg.eigh(C)
    w, V = w[::-1], V[:, ::-1]
    G = prob.gradient(prior.sample(400, rng=11))
    sub = sampled_subspace(G, rank=2, num_eigenvalues=4, bootstrap=100, confidence=0.95, rng=1)
    assert subspace_distance(sub.basis, V[:, :2]) < 0.1
    lo, hi = sub.eigenvalue_intervals
    assert np.all(lo[:2] <= w[:2] * 1.05) and np.all(hi[:2] >= w[:2] * 0.95)
    assert np.all(lo <= to_host(sub.eigenvalues) + 1e-12) and np.all(hi >= to_host(sub.eigenvalues) - 1e-12)
    mean, dlo, dhi = sub.subspace_distances
    assert np.all((0 <= dlo) & (dlo <= mean + 1e-12) & (mean <= dhi + 1e-12) & (dhi <= 1 + 1e-12))
    assert mean[1] < 0.2  # the 2-D subspace is well determined
    assert sub.num_gradients == 400 and sub.with_rank(3).basis.shape == (15, 3)


def test_sampled_subspace_backends(xp, to_xp):
    g = np.random.default_rng(0)
    G = np.outer(np.eye(8)[0], g.standard_normal(40)) + 0.01 * g.standard_normal((8, 40))
    sub = sampled_subspace(to_xp(G), rank=1, centred=True, bootstrap=10, rng=0)
    assert abs(float(to_host(sub.basis)[0, 0])) > 0.999
    ref = sampled_subspace(G, rank=1, centred=True, bootstrap=10, rng=0)
    np.testing.assert_allclose(to_host(sub.eigenvalues), ref.eigenvalues, rtol=1e-10)


@pytest.mark.parametrize("method", ["rsvd", "nystrom"])
@pytest.mark.parametrize("centred", [False, True])
def test_matrix_free_matches_dense_eigenvectors(method, centred):
    prob = linear_problem(n=60, m=40, rng=5, decay=0.7)
    prior = DenseGaussianPrior(np.zeros(prob.size), random_spd(prob.size, rng=6, decay=0.97))
    C = prob.gradient_covariance(prior, centred=centred)
    dense = _exact_C(prob, prior, centred)
    w, V = np.linalg.eigh(dense)
    w, V = w[::-1], V[:, ::-1]
    r = 5
    sub = matrix_free_subspace(C, rank=r, num_eigenvalues=10, method=method, power_iters=2, rng=0)
    # gap w[r]/w[r-1] <= 0.49^2 (singular values 0.7^i squared twice): tight agreement
    assert subspace_distance(sub.basis, V[:, :r]) < 1e-4
    np.testing.assert_allclose(sub.eigenvalues[:r], w[:r], rtol=1e-6)
    assert sub.num_matvecs == C.num_matvecs + C.num_rmatvecs > 0


def test_matrix_free_backends(xp, to_xp):
    lam = 0.5 ** np.arange(20)
    Q = np.linalg.qr(np.random.default_rng(1).standard_normal((20, 20)))[0]
    sub = matrix_free_subspace(to_xp((Q * lam) @ Q.T), rank=3, rng=0)
    assert subspace_distance(to_host(sub.basis), Q[:, :3]) < 1e-6


def test_gradient_covariance_callable_and_errors():
    prior = ScaledIdentityPrior(np.zeros(4), variance=2.0)
    C = gradient_covariance(lambda X: 3.0 * X, prior)
    np.testing.assert_allclose(C.matmat(np.eye(4)), 18.0 * np.eye(4))
    with pytest.raises(ValueError, match="prior has size 4"):
        gradient_covariance(np.eye(5), prior)
    with pytest.raises(ValueError, match="gradient must have shape"):
        gradient_covariance(np.eye(4), prior, gradient=np.ones(3))


def test_errors():
    G = np.random.default_rng(0).standard_normal((6, 4))
    with pytest.raises(ValueError, match="rank must be < N"):
        sampled_subspace(G, rank=6)
    with pytest.raises(ValueError, match="rank = 5 needs at least 5 gradient samples, got M = 4"):
        sampled_subspace(G, rank=5)
    with pytest.raises(ValueError, match="at least 5 gradient samples"):
        sampled_subspace(G, rank=4, centred=True)
    with pytest.raises(ValueError, match="NaN"):
        sampled_subspace(np.full((3, 3), np.nan))
    with pytest.raises(TypeError, match="G must"):
        sampled_subspace(np.ones((3, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="rank must be < N"):
        matrix_free_subspace(np.eye(5), rank=5)
    with pytest.raises(ValueError, match="method"):
        matrix_free_subspace(np.eye(5), rank=1, method="lanczos")
    with pytest.raises(ValueError, match="rule"):
        choose_rank(np.ones(3), rule="elbow")


def test_choose_rank_rules():
    lam = np.array([1.0, 0.9, 0.8, 1e-3, 9e-4, 8e-4])
    assert choose_rank(lam) == 3
    assert choose_rank(lam, rule="threshold", tol=0.5) == 3
    assert choose_rank(lam, rule="energy", energy=0.5) == 2
    assert choose_rank(lam, max_rank=2) == 2
    assert choose_rank(np.array([1.0, 0.0, 0.0])) == 1
