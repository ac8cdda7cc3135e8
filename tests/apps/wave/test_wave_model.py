"""Models: validation, padding maps, CFL limit, sponge reflection, builders, smoothing."""

import math

import numpy as np
import pytest

from randla.apps.wave import (
    Geometry,
    Model,
    forward,
    layered_anomaly_model,
    layered_model,
    overthrust_model,
    reference_step,
    smooth,
)
from randla.apps.wave.stencil import _axis_weights


def _const(shape, value=2000.0, dtype=np.float64):
    return np.full(shape, value, dtype=dtype)


# -- validation ------------------------------------------------------------------------


@pytest.mark.parametrize("value", [0.0, -1500.0])
def test_nonpositive_velocity_rejected(value):
    vp = _const((10, 12))
    vp[3, 4] = value
    with pytest.raises(ValueError, match="positive"):
        Model(vp, spacing=10.0)


def test_nonfinite_velocity_rejected():
    vp = _const((10, 12))
    vp[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        Model(vp, spacing=10.0)


def test_bad_model_arguments():
    with pytest.raises(TypeError, match="vp"):
        Model(np.full((10, 12), 1500, dtype=np.int64), spacing=10.0)
    with pytest.raises(TypeError, match="array"):
        Model([[1500.0] * 3] * 3, spacing=10.0)
    with pytest.raises(ValueError, match="2-D or 3-D"):
        Model(_const((10,)), spacing=10.0)
    with pytest.raises(ValueError, match="at least 2"):
        Model(_const((1, 10)), spacing=10.0)
    with pytest.raises(ValueError, match="spacing"):
        Model(_const((10, 12)), spacing=(10.0, 10.0, 10.0))
    with pytest.raises(ValueError, match="spacing"):
        Model(_const((10, 12)), spacing=-1.0)
    with pytest.raises(ValueError, match="origin"):
        Model(_const((10, 12)), spacing=10.0, origin=(0.0, np.inf))
    with pytest.raises(ValueError, match="nbl"):
        Model(_const((10, 12)), spacing=10.0, nbl=-1)
    with pytest.raises(ValueError, match="space_order"):
        Model(_const((10, 12)), spacing=10.0, space_order=5)
    with pytest.raises(ValueError, match="reflection"):
        Model(_const((10, 12)), spacing=10.0, reflection=1.5)


def test_model_properties():
    model = Model(_const((10, 12)), spacing=(5.0, 10.0), origin=(100.0, 0.0), nbl=3)
    assert model.shape == (10, 12) and model.padded_shape == (16, 18)
    assert model.domain_size == (45.0, 110.0)
    np.testing.assert_allclose(model.m, 1 / 2000.0 ** 2)
    damp = np.asarray(model.damp)
    assert damp.shape == (16, 18)
    assert np.all(model.crop(damp) == 0) and np.all(damp[0] > 0) and np.all(damp[:, -1] > 0)
    assert "Model(" in repr(model)


def test_with_vp_freezes_damp_and_checks():
    model = layered_model((20, 16), spacing=10.0, nbl=4, dtype=np.float64)
    faster = model.with_vp(np.asarray(model.vp) * 1.3)
    assert faster.damp is model.damp
    assert faster.vmax == pytest.approx(1.3 * model.vmax)
    np.testing.assert_allclose(faster.m, 1 / (1.3 * np.asarray(model.vp)) ** 2)
    again = model.with_m(faster.m)
    np.testing.assert_allclose(again.vp, faster.vp)
    with pytest.raises(ValueError, match="shape"):
        model.with_vp(_const((20, 15)))
    with pytest.raises(TypeError, match="dtype"):
        model.with_vp(np.asarray(model.vp, dtype=np.float32))
    with pytest.raises(ValueError, match="positive"):
        model.with_vp(-np.asarray(model.vp))
    with pytest.raises(ValueError, match="positive"):
        model.with_m(np.zeros(model.shape))


def test_with_vp_rejects_other_backend():
    torch = pytest.importorskip("torch")
    model = layered_model((20, 16), spacing=10.0, nbl=4, dtype=np.float64)
    with pytest.raises(TypeError, match="mixed array backends"):
        model.with_vp(torch.ones(20, 16, dtype=torch.float64))


# -- padding maps (array API) ---------------------------------------------------------------


@pytest.mark.parametrize("shape", [(6, 5), (4, 3, 5)])
def test_pad_adjoint_is_adjoint(xp, to_xp, shape):
    rng = np.random.default_rng(1)
    model = Model(to_xp(_const(shape)), spacing=10.0, nbl=3)
    x = to_xp(rng.standard_normal(shape))
    y = to_xp(rng.standard_normal(model.padded_shape))
    lhs = float(xp.sum(model.pad(x) * y))
    rhs = float(xp.sum(x * model.pad_adjoint(y)))
    assert lhs == pytest.approx(rhs, rel=1e-12)
    np.testing.assert_allclose(np.asarray(model.crop(model.pad(x))), np.asarray(x))
    # edge replication
    padded = np.asarray(model.pad(x))
    np.testing.assert_allclose(padded[0], padded[3])


def test_pad_batch_axes_and_errors():
    model = Model(_const((6, 5)), spacing=10.0, nbl=2)
    batch = np.ones((3, 6, 5))
    assert model.pad(batch).shape == (3, 10, 9)
    assert model.pad_adjoint(model.pad(batch)).shape == (3, 6, 5)
    with pytest.raises(ValueError, match="shape"):
        model.pad(np.ones((5, 5)))


# -- CFL -------------------------------------------------------------------------------------


def _grow(model, factor, steps=300):
    """Max amplitude after ``steps`` undamped steps from a random start at
    ``factor * critical_dt`` (homogeneous, zero boundary)."""
    rng = np.random.default_rng(0)
    dt = factor * model.critical_dt
    radius = model.space_order // 2
    shape = tuple(n + 2 * radius for n in model.padded_shape)
    w, c0 = _axis_weights(model.space_order, model.spacing)
    a = np.full(shape, dt * dt * model.vmax ** 2)
    b = np.full(shape, 2.0)
    inner = tuple(slice(radius, n - radius) for n in shape)
    u = np.zeros(shape)
    u[inner] = rng.standard_normal(model.padded_shape)
    up = u.copy()
    for _ in range(steps):
        u, up = reference_step(u, up, a, b, weights=w, center=c0), u
    return float(np.abs(u).max())


@pytest.mark.parametrize("space_order", [2, 8, 16])
def test_critical_dt_is_the_stability_limit(space_order):
    model = Model(_const((24, 20)), spacing=(10.0, 12.0), nbl=0, space_order=space_order)
    assert _grow(model, 0.98) < 50.0          # bounded (energy conserved)
    assert _grow(model, 1.06) > 1e6           # Nyquist mode grows geometrically


def test_critical_dt_formula():
    model = Model(_const((10, 10), 1500.0), spacing=10.0, nbl=0, space_order=2)
    # 2nd order, 2-D: dt = h / (c sqrt(2))
    assert model.critical_dt == pytest.approx(10.0 / (1500.0 * math.sqrt(2.0)), rel=1e-14)


# -- sponge ------------------------------------------------------------------------------------


def _trace(nbl, pad):
    n = 41 + 2 * pad
    model = Model(_const((n, n)), spacing=10.0, nbl=nbl, space_order=8)
    o = pad * 10.0
    geom = Geometry(model, src_positions=[[o + 200.0, o + 60.0]],
                    rec_positions=[[o + 350.0, o + 60.0]], tn=0.45, f0=15.0, dt=0.8e-3)
    return forward(model, geom)[:, 0]


def test_sponge_reflection_level():
    """The levels documented in randla.apps.wave.model (8.9 %, 2.4 %, 0.33 %)."""
    far = _trace(10, pad=60)  # boundaries 600 m further: nothing returns within 0.45 s
    levels = {nbl: float(np.abs(_trace(nbl, 0) - far).max() / np.abs(far).max())
              for nbl in (10, 20, 40)}
    assert levels[10] < 0.092 and levels[20] < 0.025 and levels[40] < 0.0035
    assert levels[40] < levels[20] < levels[10]


# -- builders and smoothing -------------------------------------------------------------------------


def test_layered_model_values():
    model = layered_model((30, 41), spacing=10.0, velocities=(1500.0, 2500.0, 3500.0),
                          interfaces=(100.0, 250.0), nbl=2, dtype=np.float64)
    vp = np.asarray(model.vp)
    assert vp[0, 9] == 1500.0 and vp[0, 10] == 2500.0 and vp[5, 25] == 3500.0
    assert np.all(vp == vp[:1])  # laterally invariant
    with pytest.raises(ValueError, match="interfaces"):
        layered_model((30, 41), spacing=10.0, velocities=(1500.0, 2500.0), interfaces=(1.0, 2.0))
    with pytest.raises(ValueError, match="velocities"):
        layered_model((30, 41), spacing=10.0, velocities=(1500.0, -2.0))
    with pytest.raises(ValueError, match="shape"):
        layered_model((30,), spacing=10.0)


def test_layered_anomaly_and_overthrust():
    base = layered_model((61, 41), spacing=10.0, nbl=2, dtype=np.float64)
    model = layered_anomaly_model((61, 41), spacing=10.0, anomaly=0.2, radius=50.0, nbl=2,
                                  dtype=np.float64)
    ratio = np.asarray(model.vp) / np.asarray(base.vp)
    assert ratio[30, 20] == pytest.approx(1.2) and ratio[0, 0] == 1.0
    assert np.sum(ratio > 1.1) == pytest.approx(np.pi * 5 ** 2, rel=0.15)
    with pytest.raises(ValueError, match="anomaly"):
        layered_anomaly_model((61, 41), spacing=10.0, anomaly=-1.0)
    with pytest.raises(ValueError, match="radius"):
        layered_anomaly_model((61, 41), spacing=10.0, radius=-5.0)

    over = overthrust_model((120, 60), spacing=25.0, nbl=2)
    vp = np.asarray(over.vp)
    assert vp.dtype == np.float32 and 2200.0 <= vp.min() and vp.max() <= 6000.0
    assert len(np.unique(np.round(vp[:, 30], -1))) > 3    # laterally varying (folded, faulted)
    assert np.mean(vp[:, -1]) > np.mean(vp[:, 0])           # faster at depth
    over3 = overthrust_model((20, 16, 12), spacing=50.0, nbl=1)
    assert over3.shape == (20, 16, 12)
    with pytest.raises(ValueError, match="vmin"):
        overthrust_model((20, 20), spacing=10.0, vmin=3000.0, vmax=2000.0)


def test_builder_on_other_backend():
    torch = pytest.importorskip("torch")
    from array_api_compat import array_namespace

    xp = array_namespace(torch.empty(0))
    model = layered_model((12, 10), spacing=10.0, nbl=2, xp=xp, dtype=xp.float64)
    assert isinstance(model.vp, torch.Tensor) and model.damp.dtype == torch.float64
    with pytest.raises(TypeError, match="dtype"):
        layered_model((12, 10), spacing=10.0, xp=xp, dtype=xp.int64)


def test_smooth(xp, to_xp):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((20, 15))
    y = smooth(to_xp(x), sigma=(2.0, 1.0))
    y = np.asarray(y)
    assert y.shape == x.shape
    assert np.var(y) < 0.5 * np.var(x)
    const = np.asarray(smooth(to_xp(np.full((8, 9), 3.0)), sigma=2.5))
    np.testing.assert_allclose(const, 3.0, rtol=1e-14)
    np.testing.assert_allclose(np.asarray(smooth(to_xp(x), sigma=(0.0, 0.0))), x)
    with pytest.raises(ValueError, match="sigma"):
        smooth(to_xp(x), sigma=-1.0)
    with pytest.raises(ValueError, match="sigma"):
        smooth(to_xp(x), sigma=(1.0, 1.0, 1.0))


def test_model_and_geometry_pickle(xp, to_xp):
    """Models travel to worker processes with the standard pickle (asv's
    setup_cache, multiprocessing): the copy models the same shot record."""
    import pickle

    from randla.backend import to_host

    vp = to_xp(np.linspace(1500.0, 2500.0, 12 * 10).reshape(12, 10))
    model = Model(vp, spacing=10.0, nbl=4, space_order=4)
    geom = Geometry(model, src_positions=[[60.0, 20.0]], rec_positions=[[30.0, 10.0], [80.0, 10.0]],
                    tn=0.05)
    model2 = pickle.loads(pickle.dumps(model))
    geom2 = pickle.loads(pickle.dumps(geom))
    assert model2.xp is model.xp
    np.testing.assert_array_equal(to_host(forward(model2, geom2)), to_host(forward(model, geom)))
