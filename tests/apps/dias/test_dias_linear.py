"""Linear solves: closed form equals CG; DIAS keeps its accuracy at huge weights where
Tikhonov collapses to the prior mean; errors name the argument."""

import numpy as np
import pytest

from randla.apps.dias import (
    DIASRegularizer,
    LinearProblem,
    ScaledIdentityPrior,
    Tikhonov,
    deconvolution_problem,
    matrix_free_subspace,
    solve_linear,
)
from randla.backend import to_host

from dias_helpers import linear_problem


def test_direct_equals_dense_normal_equations(xp, to_xp):
    prob_np = linear_problem(rng=2)
    F = prob_np.operator.matmat(np.eye(prob_np.size))
    prob = LinearProblem(to_xp(F), to_xp(prob_np.data), noise_variance=prob_np.noise_variance)
    mean = np.linspace(0, 1, prob.size)
    prior = ScaledIdentityPrior(to_xp(mean), variance=0.5)
    reg = Tikhonov(prior, weight=3.0)
    u = to_host(solve_linear(prob, reg))
    A = F.T @ F / prob.noise_variance + 3.0 / 0.5 * np.eye(prob.size)
    b = F.T @ prob_np.data / prob.noise_variance + 3.0 / 0.5 * mean
    np.testing.assert_allclose(u, np.linalg.solve(A, b), rtol=1e-9)


def test_cg_equals_direct():
    prob = linear_problem(rng=3)
    prior = ScaledIdentityPrior(np.zeros(prob.size))
    sub = matrix_free_subspace(prob.gradient_covariance(prior), rank=4, rng=0)
    for reg in (Tikhonov(prior, weight=10.0), DIASRegularizer(prior, sub, weight=10.0)):
        ud = solve_linear(prob, reg)
        uc = solve_linear(prob, reg, method="cg", rtol=1e-12, maxiter=2000)
        np.testing.assert_allclose(uc, ud, rtol=1e-6, atol=1e-8 * np.abs(ud).max())


def test_dias_robust_to_weight():
    """The point of DIAS: at weight 1e8 Tikhonov returns (almost) the prior mean, DIAS does not."""
    prob = deconvolution_problem(60, rng=0)
    prior = ScaledIdentityPrior(np.zeros(prob.size))
    sub = matrix_free_subspace(prob.gradient_covariance(prior), rank=8, rng=0)
    tik = prob.relative_error(solve_linear(prob, Tikhonov(prior, weight=1e8)))
    dias = prob.relative_error(solve_linear(prob, DIASRegularizer(prior, sub, weight=1e8)))
    assert tik > 0.9
    assert dias < 0.25


def test_cg_warns_when_not_converged():
    prob = linear_problem(rng=4)
    with pytest.warns(RuntimeWarning, match="CG stopped"):
        solve_linear(prob, Tikhonov(ScaledIdentityPrior(np.zeros(prob.size)), weight=1e-6), method="cg", maxiter=2)


def test_errors():
    prob = linear_problem(rng=5)
    with pytest.raises(ValueError, match="prior has size"):
        solve_linear(prob, Tikhonov(ScaledIdentityPrior(np.zeros(prob.size + 1))))
    with pytest.raises(ValueError, match="method"):
        solve_linear(prob, None, method="lu")
    with pytest.raises(ValueError, match="data must have shape"):
        LinearProblem(np.eye(3), np.ones(2))
    with pytest.raises(ValueError, match="noise_variance"):
        LinearProblem(np.eye(2), np.ones(2), noise_variance=0.0)
    with pytest.raises(ValueError, match="prior has size"):
        prob.gradient_covariance(ScaledIdentityPrior(np.zeros(3)))
    torch = pytest.importorskip("torch")
    tprob = LinearProblem(torch.eye(2, dtype=torch.float64), torch.ones(2, dtype=torch.float64))
    with pytest.raises(TypeError, match="NumPy"):
        solve_linear(tprob, None, method="cg")
