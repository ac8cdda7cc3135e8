"""Operators: dot-product tests, Taylor test, reciprocity, Gauss-Newton, multi-shot, errors."""

import numpy as np
import pytest

from randla import dot_test
from randla.apps.wave import (
    Checkpointing,
    FullStorage,
    Geometry,
    adjoint,
    born,
    born_shots,
    forward,
    forward_operator,
    forward_shots,
    gauss_newton,
    gauss_newton_shots,
    gradient,
    gradient_shots,
    jacobian_adjoint,
    jacobian_adjoint_shots,
    jacobian_operator,
    layered_anomaly_model,
    layered_model,
    smooth,
)

from wave_helpers import random_positions, rel_mismatch, small_problem


def _random_shape(rng, ndim):
    if ndim == 2:
        return tuple(int(n) for n in rng.integers(30, 50, size=2))
    return tuple(int(n) for n in rng.integers(12, 17, size=3))


@pytest.mark.parametrize("ndim,seed", [(2, 0), (2, 1), (2, 2), (3, 3)])
def test_forward_adjoint_dot_test_float32(ndim, seed):
    """<F q, d> = <q, F^T d> to float32 precision, random sizes and positions."""
    rng = np.random.default_rng(seed)
    shape = _random_shape(rng, ndim)
    model, geom = small_problem(rng, shape=shape, dtype=np.float32, nsrc=int(rng.integers(1, 4)),
                                nrec=int(rng.integers(3, 12)), tn=0.12 if ndim == 2 else 0.06,
                                nbl=int(rng.integers(4, 10)))
    q = rng.standard_normal((geom.nt, geom.nsrc)).astype(np.float32)
    d = rng.standard_normal((geom.nt, geom.nrec)).astype(np.float32)
    Fq = forward(model, geom.with_wavelet(q))
    FTd = adjoint(model, geom, d)
    lhs = float(np.sum(Fq.astype(np.float64) * d))
    rhs = float(np.sum(q.astype(np.float64) * FTd))
    assert rel_mismatch(lhs, rhs) <= 1e-4


@pytest.mark.parametrize("ndim,seed", [(2, 10), (2, 11), (3, 12)])
def test_born_dot_test_float32(ndim, seed):
    """<J dm, dd> = <dm, J^T dd> to float32 precision."""
    rng = np.random.default_rng(seed)
    shape = _random_shape(rng, ndim)
    model, geom = small_problem(rng, shape=shape, dtype=np.float32, nrec=int(rng.integers(3, 12)),
                                tn=0.12 if ndim == 2 else 0.06, nbl=int(rng.integers(4, 10)))
    dm = (1e-8 * rng.standard_normal(model.shape)).astype(np.float32)
    dd = rng.standard_normal((geom.nt, geom.nrec)).astype(np.float32)
    lhs = float(np.sum(born(model, geom, dm).astype(np.float64) * dd))
    rhs = float(np.sum(dm.astype(np.float64) * jacobian_adjoint(model, geom, dd)))
    assert rel_mismatch(lhs, rhs) <= 1e-4


def test_linear_operator_views_pass_dot_test():
    rng = np.random.default_rng(3)
    model, geom = small_problem(rng, shape=(20, 18), nrec=4, tn=0.06, nbl=4)
    F = forward_operator(model, geom)
    assert F.shape == (geom.nt * geom.nrec, geom.nt * geom.nsrc)
    lhs, rhs = dot_test(F, rng=1, rtol=1e-10)  # raises AssertionError above rtol
    assert rel_mismatch(lhs, rhs) <= 1e-10 and lhs != 0.0
    J = jacobian_operator(model, [geom, geom], history=Checkpointing(2))
    assert J.shape == (2 * geom.nt * geom.nrec, 20 * 18)
    lhs, rhs = dot_test(J, rng=2, rtol=1e-10)
    assert rel_mismatch(lhs, rhs) <= 1e-10 and lhs != 0.0


def test_born_is_the_derivative_of_forward():
    """(F(m + h dm) - F(m)) / h - J dm = O(h)."""
    rng = np.random.default_rng(4)
    model, geom = small_problem(rng, shape=(30, 26), tn=0.15)
    dm = 0.05 * np.asarray(model.m) * rng.standard_normal(model.shape)
    d0 = forward(model, geom)
    jdm = born(model, geom, dm)
    errs = []
    for h in (1e-1, 5e-2, 2.5e-2):
        dh = forward(model.with_m(model.m + h * dm), geom)
        errs.append(np.linalg.norm((dh - d0) / h - jdm) / np.linalg.norm(jdm))
    assert errs[0] < 0.05
    assert errs[1] / errs[0] == pytest.approx(0.5, abs=0.05)
    assert errs[2] / errs[1] == pytest.approx(0.5, abs=0.05)


def test_taylor_test_of_fwi_gradient():
    """f(m + h dm) - f(m) - h <g, dm> decays like h^2 (and f(m + h dm) - f(m) like h)."""
    rng = np.random.default_rng(5)
    true = layered_anomaly_model((36, 30), spacing=10.0, nbl=8, anomaly=0.2, dtype=np.float64)
    start = true.with_vp(smooth(true.vp, sigma=4.0))
    geom = Geometry(true, src_positions=[[170.0, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, 350.0, 12)], tn=0.3, f0=15.0,
                    dt=0.9 * start.critical_dt)
    d_obs = forward(true, geom)
    f0, g = gradient(start, geom, d_obs)
    dm = 0.02 * np.asarray(start.m) * smooth(rng.standard_normal(start.shape), sigma=2.0)
    slope = float(np.sum(g * dm))
    first, second = [], []
    for h in (1.0, 0.5, 0.25, 0.125):
        fh, _ = gradient(start.with_m(start.m + h * dm), geom, d_obs)
        first.append(abs(fh - f0))
        second.append(abs(fh - f0 - h * slope))
    r1 = [first[k] / first[k + 1] for k in range(3)]
    r2 = [second[k] / second[k + 1] for k in range(3)]
    assert all(1.7 < r < 2.3 for r in r1), r1
    assert all(3.5 < r < 4.5 for r in r2), r2


def test_reciprocity():
    """Swapping a point source and a receiver gives the same trace (discrete
    Green's function symmetric; damping included)."""
    rng = np.random.default_rng(6)
    model = layered_anomaly_model((40, 36), spacing=10.0, nbl=8, dtype=np.float64)
    a, b = random_positions(rng, model, 2)
    g_ab = Geometry(model, src_positions=[a], rec_positions=[b], tn=0.3, f0=12.0)
    g_ba = Geometry(model, src_positions=[b], rec_positions=[a], tn=0.3, f0=12.0)
    d_ab, d_ba = forward(model, g_ab)[:, 0], forward(model, g_ba)[:, 0]
    assert np.abs(d_ab).max() > 0
    np.testing.assert_allclose(d_ab, d_ba, rtol=0, atol=1e-12 * np.abs(d_ab).max())


def test_gauss_newton():
    rng = np.random.default_rng(7)
    model, geom = small_problem(rng, shape=(26, 24), tn=0.12, nrec=6)
    dm1 = 1e-8 * rng.standard_normal(model.shape)
    dm2 = 1e-8 * rng.standard_normal(model.shape)
    h1 = gauss_newton(model, geom, dm1)
    np.testing.assert_allclose(h1, jacobian_adjoint(model, geom, born(model, geom, dm1)),
                               rtol=1e-10, atol=1e-10 * np.abs(h1).max())
    h2 = gauss_newton(model, geom, dm2, history=Checkpointing(3))
    assert rel_mismatch(float(np.sum(dm2 * h1)), float(np.sum(dm1 * h2))) < 1e-10
    assert float(np.sum(dm1 * h1)) == pytest.approx(float(np.sum(born(model, geom, dm1) ** 2)), rel=1e-10)


def test_multi_shot_sums_single_shots():
    rng = np.random.default_rng(8)
    model = layered_anomaly_model((30, 24), spacing=10.0, nbl=6, dtype=np.float64)
    rec = random_positions(rng, model, 5)
    shots = [Geometry(model, src_positions=random_positions(rng, model, 1), rec_positions=rec, tn=0.1)
             for _ in range(3)]
    obs = [0.5 * d for d in forward_shots(model, shots)]
    f, g = gradient_shots(model, shots, obs, history=Checkpointing(4))
    singles = [gradient(model, s, o) for s, o in zip(shots, obs)]
    assert f == pytest.approx(sum(x[0] for x in singles), rel=1e-12)
    np.testing.assert_allclose(g, sum(x[1] for x in singles), rtol=1e-10, atol=1e-12 * np.abs(g).max())
    dm = 1e-8 * rng.standard_normal(model.shape)
    dd = born_shots(model, shots, dm)
    assert len(dd) == 3
    jt = jacobian_adjoint_shots(model, shots, dd)
    np.testing.assert_allclose(gauss_newton_shots(model, shots, dm), jt, rtol=1e-10,
                               atol=1e-12 * np.abs(jt).max())
    with pytest.raises(ValueError, match="one array per shot"):
        gradient_shots(model, shots, obs[:2])
    with pytest.raises(TypeError, match="sequence"):
        forward_shots(model, shots[0])
    with pytest.raises(ValueError, match="at least one"):
        forward_shots(model, [])


def test_operator_input_errors():
    rng = np.random.default_rng(9)
    model, geom = small_problem(rng, shape=(20, 18), tn=0.05, nrec=3, dtype=np.float32)
    good = np.zeros((geom.nt, geom.nrec), np.float32)
    with pytest.raises(ValueError, match="shape"):
        adjoint(model, geom, np.zeros((geom.nt + 1, geom.nrec), np.float32))
    with pytest.raises(TypeError, match="dtype"):
        adjoint(model, geom, good.astype(np.float64))
    with pytest.raises(TypeError, match="dtype"):
        adjoint(model, geom, good.astype(np.int32))
    bad = good.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        gradient(model, geom, bad)
    with pytest.raises(ValueError, match="shape"):
        born(model, geom, np.zeros((20, 17), np.float32))
    with pytest.raises(TypeError, match="WavefieldHistory"):
        jacobian_adjoint(model, geom, good, history="full")
    with pytest.raises(TypeError, match="Geometry"):
        forward(model, "geometry")
    with pytest.raises(TypeError, match="Model"):
        forward(np.ones((3, 3)), geom)


def test_operator_rejects_mixed_backends():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(10)
    model, geom = small_problem(rng, shape=(20, 18), tn=0.05, nrec=3, dtype=np.float32)
    with pytest.raises(TypeError, match="mixed array backends"):
        gradient(model, geom, torch.zeros(geom.nt, geom.nrec))


def test_strategies_agree_on_the_gradient_float32():
    rng = np.random.default_rng(11)
    model, geom = small_problem(rng, shape=(30, 28), tn=0.15, dtype=np.float32)
    obs = np.zeros((geom.nt, geom.nrec), np.float32)
    f_full, g_full = gradient(model, geom, obs, history=FullStorage())
    f_ck, g_ck = gradient(model, geom, obs, history=Checkpointing(5))
    assert f_full == f_ck
    np.testing.assert_allclose(g_ck, g_full, rtol=0, atol=1e-5 * np.abs(g_full).max())
