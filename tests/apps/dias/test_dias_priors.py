"""Priors: precision/covariance/square root are consistent, samples have the right
covariance, bad input raises errors naming the argument."""

import numpy as np
import pytest

from randla.apps.dias import BiLaplacianPrior, DenseGaussianPrior, ScaledIdentityPrior

from dias_helpers import random_spd


def _dense(apply, n, to_xp):
    from randla.backend import to_host

    return to_host(apply(to_xp(np.eye(n))))


@pytest.mark.parametrize("kind", ["identity", "dense"])
def test_actions_consistent(kind, xp, to_xp):
    n = 7
    mean = to_xp(np.linspace(0.0, 1.0, n))
    if kind == "identity":
        prior = ScaledIdentityPrior(mean, variance=2.5)
        cov = 2.5 * np.eye(n)
    else:
        cov = random_spd(n, rng=1)
        prior = DenseGaussianPrior(mean, to_xp(cov))
    C = _dense(prior.covariance, n, to_xp)
    P = _dense(prior.precision, n, to_xp)
    S = _dense(prior.sqrt_covariance, n, to_xp)
    np.testing.assert_allclose(C, cov, atol=1e-12)
    np.testing.assert_allclose(P @ C, np.eye(n), atol=1e-9)
    np.testing.assert_allclose(S @ S.T, cov, atol=1e-12)
    v = to_xp(np.ones(n))
    assert tuple(prior.precision(v).shape) == (n,)


@pytest.mark.parametrize("grid", [(40,), (8, 6)])
def test_bilaplacian_actions_and_samples(grid):
    n = int(np.prod(grid))
    prior = BiLaplacianPrior(np.zeros(n), grid_shape=grid, gamma=0.5, delta=2.0, variance=3.0, spacing=0.5)
    A = prior.operator.toarray()
    cov = 3.0 * np.linalg.inv(A @ A)
    np.testing.assert_allclose(prior.to_dense(), cov, rtol=1e-10, atol=1e-14)
    np.testing.assert_allclose(prior.precision(np.eye(n)) @ cov, np.eye(n), atol=1e-9)
    S = prior.sqrt_covariance(np.eye(n))
    np.testing.assert_allclose(S @ S.T, cov, rtol=1e-10, atol=1e-14)
    # samples: the Monte-Carlo covariance of M draws; each entry has sd <= sqrt(2/M) max(diag)
    M = 4000
    X = prior.sample(M, rng=0)
    emp = X @ X.T / M
    tol = 5 * np.sqrt(2.0 / M) * cov.diagonal().max()
    assert np.abs(emp - cov).max() < tol
    np.testing.assert_array_equal(prior.sample(3, rng=5), prior.sample(3, rng=5))


def test_sample_same_seed_same_result(xp, to_xp):
    prior = ScaledIdentityPrior(to_xp(np.zeros(5)), variance=4.0)
    from randla.backend import to_host

    a, b = to_host(prior.sample(3, rng=1)), to_host(prior.sample(3, rng=1))
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(a, 2.0 * np.random.default_rng(1).standard_normal((5, 3)))


def test_errors():
    with pytest.raises(ValueError, match="variance"):
        ScaledIdentityPrior(np.zeros(3), variance=0.0)
    with pytest.raises(ValueError, match="positive definite"):
        DenseGaussianPrior(np.zeros(2), np.array([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="symmetric"):
        DenseGaussianPrior(np.zeros(2), np.array([[1.0, 0.5], [0.0, 1.0]]))
    with pytest.raises(ValueError, match="shape"):
        DenseGaussianPrior(np.zeros(3), np.eye(2))
    with pytest.raises(ValueError, match="delta"):
        BiLaplacianPrior(np.zeros(4), delta=-1.0)
    with pytest.raises(ValueError, match="grid_shape"):
        BiLaplacianPrior(np.zeros(10), grid_shape=(3, 3))
    with pytest.raises(ValueError, match="mean"):
        ScaledIdentityPrior(np.zeros((2, 2)))
    with pytest.raises(TypeError, match="mean"):
        ScaledIdentityPrior(np.zeros(3, dtype=np.int64))
    prior = ScaledIdentityPrior(np.zeros(3))
    with pytest.raises(ValueError, match="X must have shape"):
        prior.precision(np.zeros(4))


def test_bilaplacian_numpy_only():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="NumPy"):
        BiLaplacianPrior(torch.zeros(4, dtype=torch.float64))
