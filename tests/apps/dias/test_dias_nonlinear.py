"""Nonlinear DIAS: the two-step algorithm on a small analytic problem, gradient samples on Dask
equal the serial ones, the FWI problem's gradient passes a Taylor test and its Gauss-Newton
product a symmetry (dot) test."""

import numpy as np
import pytest

from randla.apps.dias import FWIProblem, ScaledIdentityPrior, Tikhonov, gradient_samples, minimize, two_step


class Exp:
    """f(u) = 1/2 ||exp(F u) - d||^2 / s2 (picklable, for Dask)."""

    def __init__(self, n=12, m=6, seed=0):
        g = np.random.default_rng(seed)
        U, _ = np.linalg.qr(g.standard_normal((n, m)))
        self.F = (U * 0.5 ** np.arange(m)).T
        self.truth = 0.5 * g.standard_normal(n)
        self.d = np.exp(self.F @ self.truth)
        self.s2 = 1e-4

    def __call__(self, u):
        e = np.exp(self.F @ u)
        r = e - self.d
        return 0.5 * r @ r / self.s2, self.F.T @ (e * r) / self.s2

    def gauss_newton(self, u, V):
        e = np.exp(self.F @ u)[:, None]
        return self.F.T @ (e * e * (self.F @ V)) / self.s2


def test_two_step_sampled_and_matrix_free():
    f = Exp()
    prior = ScaledIdentityPrior(np.zeros(12), variance=0.25)
    res = two_step(f, prior, weight=1e6, rank=4, num_samples=12, map_iters=100, dias_iters=100, rng=0)
    assert res.num_gradients["subspace"] == 12 and res.subspace.rank == 4
    # a huge weight: Tikhonov collapses to the prior mean, DIAS still fits the data
    tik, _ = minimize(f, Tikhonov(prior, weight=1e6), np.zeros(12), maxiter=100)
    assert f(res.u_dias)[0] < 0.01 * f(tik)[0]
    mf = two_step(f, prior, weight=1e6, rank=4, hessian=f.gauss_newton, num_eigenvalues=6, power_iters=2,
                  map_iters=100, dias_iters=100, rng=0)
    assert mf.subspace.num_matvecs > 0 and mf.num_gradients["subspace"] == 1
    np.testing.assert_allclose(mf.u_map, res.u_map)
    with pytest.raises(ValueError, match="needs at least 5 gradient samples"):
        two_step(f, prior, weight=1.0, rank=5, num_samples=4)
    with pytest.raises(ValueError, match="rank must be < N"):
        two_step(f, prior, weight=1.0, rank=12)


def test_gradient_samples_on_dask_equal_serial():
    distributed = pytest.importorskip("distributed")
    f = Exp()
    U = np.random.default_rng(1).standard_normal((12, 5))
    serial = gradient_samples(f, U)
    with distributed.LocalCluster(n_workers=1, threads_per_worker=1, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        dask = gradient_samples(f, U, parallel=client)
    np.testing.assert_array_equal(dask, serial)


@pytest.fixture(scope="module")
def fwi_problem():
    return FWIProblem((16, 16), num_shots=1, nrec=8, tn=0.15, nbl=6, rng=0)


def test_fwi_gradient_taylor(fwi_problem):
    prob = fwi_problem
    u = prob.start
    v = np.random.default_rng(0).standard_normal(prob.size) * 1e-2
    f0, g0 = prob.misfit(u)
    hs = [2.0**-k for k in range(2, 6)]
    errs = [abs(prob.misfit(u + h * v)[0] - f0 - h * (g0 @ v)) for h in hs]
    rates = np.log2(np.array(errs[:-1]) / np.array(errs[1:]))
    assert np.all(rates > 1.8), rates


def test_fwi_gauss_newton_symmetric(fwi_problem):
    prob = fwi_problem
    g = np.random.default_rng(2)
    X, Y = g.standard_normal((prob.size, 1)), g.standard_normal((prob.size, 1))
    a = float(Y[:, 0] @ prob.gauss_newton(prob.start, X)[:, 0])
    b = float(X[:, 0] @ prob.gauss_newton(prob.start, Y)[:, 0])
    assert abs(a - b) <= 1e-6 * max(abs(a), abs(b))
    prior = prob.prior()
    assert prior.size == prob.size


def test_fwi_gauss_newton_matches_gradient_difference():
    """At the true model (1e-6 noise: residual ~0) the Gauss-Newton Hessian is the Hessian:
    g(u + v) - g(u) = H v + O(||v||^2)."""
    prob = FWIProblem((16, 16), num_shots=1, nrec=8, tn=0.15, nbl=6, noise_level=1e-6, rng=0)
    u = prob.truth.copy()
    v = np.random.default_rng(0).standard_normal(prob.size) * 1e-3
    dg = prob.misfit(u + v)[1] - prob.misfit(u)[1]
    Hv = prob.gauss_newton(u, v[:, None])[:, 0]
    assert np.linalg.norm(dg - Hv) < 0.05 * np.linalg.norm(Hv)
