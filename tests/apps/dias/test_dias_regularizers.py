"""DIAS-F is (P2 Gamma P2)^+, DIAS-A is P2 Gamma^-1 P2 (equal for scaled-identity Gamma only);
Taylor tests of every regulariser's gradient and Hessian; errors."""

import numpy as np
import pytest

from randla.apps.dias import (
    BiLaplacianPrior,
    DenseGaussianPrior,
    DIASRegularizer,
    ScaledIdentityPrior,
    Tikhonov,
    matrix_free_subspace,
)
from randla.backend import to_host

from dias_helpers import orthonormal, random_spd

N, R = 12, 3


def _priors(to_xp):
    mean = to_xp(np.linspace(-1.0, 1.0, N))
    return {
        "identity": ScaledIdentityPrior(mean, variance=0.3),
        "dense": DenseGaussianPrior(mean, to_xp(random_spd(N, rng=3, decay=0.8))),
    }


@pytest.mark.parametrize("kind", ["identity", "dense"])
def test_full_form_is_pseudoinverse(kind, xp, to_xp):
    prior = _priors(to_xp)[kind]
    W1 = orthonormal(N, R, rng=2)
    reg = DIASRegularizer(prior, to_xp(W1), form="F", weight=1.0)
    got = to_host(reg.hessian(to_xp(np.eye(N))))
    G = to_host(prior.to_dense())
    P2 = np.eye(N) - W1 @ W1.T
    np.testing.assert_allclose(got, np.linalg.pinv(P2 @ G @ P2, rcond=1e-10), atol=1e-8 * np.abs(got).max())
    # W2 form of eq. (8): W2 (W2^T Gamma W2)^-1 W2^T
    W2 = np.linalg.svd(P2)[0][:, : N - R]
    np.testing.assert_allclose(got, W2 @ np.linalg.solve(W2.T @ G @ W2, W2.T), atol=1e-8 * np.abs(got).max())


def test_approx_equals_full_for_scaled_identity_only(xp, to_xp):
    W1 = to_xp(orthonormal(N, R, rng=4))
    priors = _priors(to_xp)
    eye = to_xp(np.eye(N))
    dense = {k: [to_host(DIASRegularizer(p, W1, form=f).hessian(eye)) for f in "FA"] for k, p in priors.items()}
    F, A = dense["identity"]
    np.testing.assert_allclose(A, F, atol=1e-12 * np.abs(F).max())
    F, A = dense["dense"]
    assert np.abs(A - F).max() > 1e-2 * np.abs(F).max()
    # both vanish on the active subspace
    W = to_host(W1)
    np.testing.assert_allclose(F @ W, 0.0, atol=1e-9 * np.abs(F).max())
    np.testing.assert_allclose(A @ W, 0.0, atol=1e-9 * np.abs(A).max())


def _taylor(reg, u, v, to_xp):
    """First-order Taylor remainders |R(u + h v) - R(u) - h g.v| for h = 2^-k: O(h^2)."""
    R0 = reg.value(u)
    gv = float(np.sum(to_host(reg.gradient(u)) * to_host(v)))
    hs = [2.0**-k for k in range(1, 6)]
    errs = [abs(reg.value(u + h * v) - R0 - h * gv) for h in hs]
    return hs, errs


@pytest.mark.parametrize("which", ["tikhonov", "F", "A"])
@pytest.mark.parametrize("kind", ["identity", "dense"])
def test_taylor(which, kind, xp, to_xp):
    prior = _priors(to_xp)[kind]
    reg = (Tikhonov(prior, weight=3.0) if which == "tikhonov"
           else DIASRegularizer(prior, to_xp(orthonormal(N, R, rng=5)), form=which, weight=3.0))
    g = np.random.default_rng(6)
    u, v = to_xp(g.standard_normal(N)), to_xp(g.standard_normal(N))
    hs, errs = _taylor(reg, u, v, to_xp)
    # quadratic: the remainder is exactly h^2/2 v^T Hess v
    vHv = float(np.sum(to_host(reg.hessian(v)) * to_host(v)))
    assert vHv > 0
    np.testing.assert_allclose(errs, [0.5 * h * h * vHv for h in hs], rtol=1e-6)
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    np.testing.assert_allclose(rates, 2.0, atol=1e-3)
    # Hessian: g(u + v) - g(u) = Hess v
    np.testing.assert_allclose(to_host(reg.gradient(u + v) - reg.gradient(u)), to_host(reg.hessian(v)),
                               atol=1e-9 * float(np.abs(to_host(reg.hessian(v))).max()))


def test_bilaplacian_regularizers():
    n = 40
    prior = BiLaplacianPrior(np.zeros(n), gamma=0.05, delta=1.0)
    W1 = orthonormal(n, 4, rng=0)
    F = DIASRegularizer(prior, W1, form="F").hessian(np.eye(n))
    A = DIASRegularizer(prior, W1, form="A").hessian(np.eye(n))
    P2 = np.eye(n) - W1 @ W1.T
    np.testing.assert_allclose(F, np.linalg.pinv(P2 @ prior.to_dense() @ P2, rcond=1e-12), rtol=1e-6,
                               atol=1e-8 * np.abs(F).max())
    assert np.abs(F - A).max() > 1e-3 * np.abs(F).max()
    hs, errs = _taylor(DIASRegularizer(prior, W1, weight=2.0), np.ones(n), np.linspace(0, 1, n), None)
    assert np.all(np.diff(np.log2(errs)) < -1.9)


def test_accepts_active_subspace():
    prior = ScaledIdentityPrior(np.zeros(10))
    sub = matrix_free_subspace(np.diag(np.arange(10.0, 0.0, -1.0)), rank=2, rng=0)
    reg = DIASRegularizer(prior, sub, form="A")
    assert reg.rank == 2 and "r=2" in repr(reg)


def test_errors():
    prior = ScaledIdentityPrior(np.zeros(6))
    with pytest.raises(ValueError, match="r = 6 must be < N"):
        DIASRegularizer(prior, np.eye(6))
    with pytest.raises(ValueError, match="prior has size 6"):
        DIASRegularizer(prior, np.eye(7)[:, :2])
    with pytest.raises(ValueError, match="orthonormal"):
        DIASRegularizer(prior, 2 * np.eye(6)[:, :2])
    with pytest.raises(ValueError, match="form"):
        DIASRegularizer(prior, np.eye(6)[:, :2], form="B")
    with pytest.raises(ValueError, match="weight"):
        Tikhonov(prior, weight=-1.0)
    with pytest.raises(TypeError, match="prior"):
        Tikhonov(np.eye(3))
    with pytest.raises(ValueError, match="u must have shape"):
        Tikhonov(prior).value(np.zeros(5))
