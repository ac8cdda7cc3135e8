"""Solver: every method equals its module function; dot and Taylor tests; GaussNewtonOperator."""

import numpy as np
import pytest

from randla import dot_test
from randla.apps.wave import (
    Checkpointing,
    FullStorage,
    GaussNewtonOperator,
    Geometry,
    Solver,
    WavefieldHistory,
    adjoint,
    born,
    forward,
    gauss_newton,
    gradient,
    jacobian_adjoint,
    layered_anomaly_model,
    smooth,
)

from wave_helpers import rel_mismatch, small_problem


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(20)
    model, geom = small_problem(rng, shape=(26, 22), tn=0.1, nrec=5, nbl=5)
    dm = 1e-8 * rng.standard_normal(model.shape)
    dd = rng.standard_normal((geom.nt, geom.nrec))
    return model, geom, dm, dd


def test_methods_equal_module_functions(problem):
    model, geom, dm, dd = problem
    solver = Solver(model, geom)
    np.testing.assert_array_equal(solver.forward(), forward(model, geom))
    d_s, u_s = solver.forward(save=True)
    d_f, u_f = forward(model, geom, save=True)
    np.testing.assert_array_equal(u_s, u_f)
    np.testing.assert_array_equal(solver.adjoint(dd), adjoint(model, geom, dd))
    np.testing.assert_array_equal(solver.born(dm), born(model, geom, dm))
    np.testing.assert_array_equal(solver.jacobian(dm), born(model, geom, dm))
    np.testing.assert_array_equal(solver.jacobian_adjoint(dd), jacobian_adjoint(model, geom, dd))
    f_s, g_s = solver.gradient(0.5 * d_f)
    f_f, g_f = gradient(model, geom, 0.5 * d_f)
    assert f_s == f_f
    np.testing.assert_array_equal(g_s, g_f)
    np.testing.assert_array_equal(solver.gauss_newton(dm), gauss_newton(model, geom, dm))


def test_forward_with_wavelet_equals_geometry_wavelet(problem):
    model, geom, _, _ = problem
    q = np.random.default_rng(1).standard_normal((geom.nt, geom.nsrc))
    np.testing.assert_array_equal(Solver(model, geom).forward(wavelet=q),
                                  forward(model, geom.with_wavelet(q)))
    with pytest.raises(ValueError, match="wavelet"):
        Solver(model, geom).forward(wavelet=q[1:])


@pytest.mark.parametrize("history", [None, Checkpointing(3)], ids=["full", "checkpointing"])
def test_born_jacobian_adjoint_dot_test(problem, history):
    model, geom, dm, dd = problem
    solver = Solver(model, geom)
    lhs = float(np.sum(solver.born(dm) * dd))
    rhs = float(np.sum(dm * solver.jacobian_adjoint(dd, history=history)))
    assert rel_mismatch(lhs, rhs) <= 1e-10


def test_taylor_test_of_solver_gradient():
    """f(m + h dm) - f(m) - h <g, dm> = O(h^2) for Solver.gradient."""
    rng = np.random.default_rng(21)
    true = layered_anomaly_model((30, 26), spacing=10.0, nbl=6, anomaly=0.2, dtype=np.float64)
    start = true.with_vp(smooth(true.vp, sigma=3.0))
    geom = Geometry(true, src_positions=[[140.0, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, 290.0, 10)], tn=0.25, f0=15.0,
                    dt=0.9 * start.critical_dt)
    d_obs = Solver(true, geom).forward()
    f0, g = Solver(start, geom).gradient(d_obs)
    dm = 0.02 * np.asarray(start.m) * smooth(rng.standard_normal(start.shape), sigma=2.0)
    slope = float(np.sum(g * dm))
    second = []
    for h in (1.0, 0.5, 0.25):
        fh, _ = Solver(start.with_m(start.m + h * dm), geom).gradient(d_obs)
        second.append(abs(fh - f0 - h * slope))
    ratios = [second[0] / second[1], second[1] / second[2]]
    assert all(3.5 < r < 4.5 for r in ratios), ratios


def test_gradient_hands_observed_data_to_the_strategy(problem):
    model, geom, _, dd = problem

    class Seen(FullStorage):
        def setup(self, context):
            super().setup(context)
            self.d_obs = context.d_obs

    strategy = Seen()
    Solver(model, geom).gradient(dd, history=strategy)
    assert strategy.d_obs is dd
    Solver(model, geom).jacobian_adjoint(dd, history=strategy)
    assert strategy.d_obs is None


def test_gauss_newton_operator_equals_gauss_newton_and_is_symmetric(problem):
    model, geom, dm, _ = problem
    H = GaussNewtonOperator(model, geom)
    assert H.shape == (model.shape[0] * model.shape[1],) * 2 and H.symmetric
    np.testing.assert_array_equal(np.reshape(H.matvec(dm.reshape(-1)), model.shape),
                                  gauss_newton(model, geom, dm))
    lhs, rhs = dot_test(H, rng=3, rtol=1e-10)  # raises above rtol
    assert rel_mismatch(lhs, rhs) <= 1e-10
    # positive semi-definite
    assert float(dm.reshape(-1) @ H.matvec(dm.reshape(-1))) > 0


def test_gauss_newton_operator_costs_two_sweeps_per_product(problem):
    model, geom, dm, _ = problem
    nt = geom.nt
    solver = Solver(model, geom)
    solver.gauss_newton(dm)
    per_call = solver.propagator.num_steps
    H = solver.gauss_newton_operator()
    setup = solver.propagator.num_steps - per_call
    H.matvec(dm.reshape(-1))
    H.matvec(dm.reshape(-1))
    per_product = (solver.propagator.num_steps - per_call - setup) / 2
    # forward-sweep units (nt - 1 steps; the adjoint sweep runs nt)
    assert per_call == 3 * (nt - 1) + 1
    assert setup == nt - 1
    assert per_product == 2 * (nt - 1) + 1


def test_gauss_newton_operator_needs_a_replayable_strategy(problem):
    model, geom, _, _ = problem

    class Forgetful(WavefieldHistory):
        def observe(self, t, u):
            pass

    with pytest.raises(TypeError, match="Forgetful cannot replay"):
        GaussNewtonOperator(model, geom, history=Forgetful())
    with pytest.raises(TypeError, match="cannot replay"):
        Forgetful().replay(0)
    with pytest.raises(TypeError, match="cannot replay"):
        Forgetful().restart_adjoint()
    with pytest.raises(TypeError, match="WavefieldHistory"):
        Solver(model, geom).gauss_newton_operator(history="full")


def test_solver_validates_its_arguments(problem):
    model, geom, _, _ = problem
    with pytest.raises(TypeError, match="Model"):
        Solver(np.ones((3, 3)), geom)
    with pytest.raises(TypeError, match="Geometry"):
        Solver(model, "geometry")
    with pytest.raises(ValueError, match="kernel"):
        Solver(model, geom, kernel="fortran")
    with pytest.raises(ValueError, match="num_threads"):
        Solver(model, geom, num_threads=0)
    with pytest.raises(TypeError, match="num_threads"):
        Solver(model, geom, num_threads=1.5)
    other = layered_anomaly_model((20, 20), spacing=10.0, nbl=5, dtype=np.float64)
    with pytest.raises(ValueError, match="another grid"):
        Solver(other, geom)
    solver = Solver(model, geom)
    with pytest.raises(ValueError, match="shape"):
        solver.born(np.zeros((3, 3)))
    with pytest.raises(ValueError, match="shape"):
        solver.gradient(np.zeros((geom.nt + 1, geom.nrec)))
