"""Geometry: time axis, Ricker, off-grid interpolation/injection, clear errors."""

import numpy as np
import pytest

from randla.apps.wave import (
    Geometry,
    Model,
    PointInterpolator,
    TimeAxis,
    forward,
    layered_model,
    ricker,
)

from wave_helpers import random_positions


def test_time_axis():
    axis = TimeAxis.from_stop(0.0, 1.0, 0.3)
    assert axis.num == 5 and axis.stop == pytest.approx(1.2)
    np.testing.assert_allclose(axis.values, [0.0, 0.3, 0.6, 0.9, 1.2])
    with pytest.raises(ValueError, match="step"):
        TimeAxis(0.0, -1.0, 10)
    with pytest.raises(ValueError, match="2 samples"):
        TimeAxis(0.0, 1.0, 1)
    with pytest.raises(ValueError, match="stop"):
        TimeAxis.from_stop(1.0, 0.5, 0.1)


def test_ricker(xp, to_xp):
    t = to_xp(np.linspace(0.0, 0.3, 301))
    w = np.asarray(ricker(t, f0=10.0))
    assert w.argmax() == 100 and w.max() == pytest.approx(1.0)
    # zero crossings of (1 - 2 a) at t = delay +- 1 / (pi f0 sqrt 2)
    tz = 0.1 + 1 / (np.pi * 10.0 * np.sqrt(2.0))
    assert np.asarray(ricker(to_xp(np.array([tz])), f0=10.0))[0] == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ValueError, match="f0"):
        ricker(t, f0=-1.0)


@pytest.mark.parametrize("shape", [(9, 11), (7, 6, 8)])
def test_interpolation_exact_for_linear_fields(shape):
    rng = np.random.default_rng(2)
    model = Model(np.full(shape, 2000.0), spacing=[10.0, 7.0, 5.0][: len(shape)],
                  origin=[100.0, -50.0, 3.0][: len(shape)], nbl=2)
    pos = random_positions(rng, model, 13)
    coef = rng.standard_normal(len(shape))
    grids = np.meshgrid(*[model.origin[k] + model.spacing[k] * (np.arange(n) - model.nbl)
                          for k, n in enumerate(model.padded_shape)], indexing="ij")
    field = 3.0 + sum(c * g for c, g in zip(coef, grids))
    got = PointInterpolator(model, pos).interpolate(field)
    np.testing.assert_allclose(got, 3.0 + pos @ coef, rtol=1e-12)


@pytest.mark.parametrize("shape", [(9, 11), (5, 6, 4)])
def test_injection_is_adjoint_of_interpolation(xp, to_xp, shape):
    rng = np.random.default_rng(4)
    model = Model(to_xp(np.full(shape, 2000.0)), spacing=10.0, nbl=2)
    pos = random_positions(rng, model, 7)
    pos[0] = pos[1]                       # coincident points add up
    pos[2] = model.origin                 # domain corners are inside
    pos[3] = np.asarray(model.origin) + np.asarray(model.domain_size)
    interp = PointInterpolator(model, pos)
    u = to_xp(rng.standard_normal((3,) + model.padded_shape))
    d = to_xp(rng.standard_normal((3, 7)))
    lhs = float(xp.sum(interp.interpolate(u) * d))
    rhs = float(xp.sum(u * interp.inject(d)))
    assert lhs == pytest.approx(rhs, rel=1e-12)
    np.testing.assert_allclose(interp.weights.sum(axis=1), 1.0)


def test_positions_outside_domain():
    model = Model(np.full((10, 12), 2000.0), spacing=10.0, origin=(50.0, 0.0), nbl=3)
    with pytest.raises(ValueError, match=r"src_positions\[1\].*outside"):
        Geometry(model, src_positions=[[60.0, 10.0], [40.0, 10.0]], rec_positions=[[60.0, 0.0]], tn=0.1)
    with pytest.raises(ValueError, match=r"rec_positions\[0\].*outside"):
        Geometry(model, src_positions=[[60.0, 10.0]], rec_positions=[[60.0, 110.5]], tn=0.1)
    with pytest.raises(ValueError, match="shape"):
        PointInterpolator(model, np.zeros((3, 3)))
    with pytest.raises(ValueError, match="NaN"):
        PointInterpolator(model, [[np.nan, 1.0]])


def test_dt_above_cfl_and_other_geometry_errors():
    model = layered_model((20, 20), spacing=10.0, nbl=4)
    kw = dict(src_positions=[[100.0, 20.0]], rec_positions=[[50.0, 20.0]], tn=0.2)
    with pytest.raises(ValueError, match="CFL"):
        Geometry(model, dt=1.01 * model.critical_dt, **kw)
    Geometry(model, dt=model.critical_dt, **kw)  # the limit itself is allowed
    with pytest.raises(ValueError, match="dt"):
        Geometry(model, dt=-1e-3, **kw)
    with pytest.raises(ValueError, match="Nyquist"):
        Geometry(model, f0=1.0 / model.critical_dt, **kw)
    geom = Geometry(model, **kw)
    with pytest.raises(ValueError, match="wavelet"):
        Geometry(model, wavelet=np.zeros((geom.nt + 1, 1), np.float32), **kw)
    with pytest.raises(TypeError, match="dtype"):
        Geometry(model, wavelet=np.zeros((geom.nt, 1), np.float64), **kw)
    with pytest.raises(TypeError, match="Model"):
        Geometry(np.ones((3, 3)), **kw)


def test_wavelet_on_other_backend_rejected():
    torch = pytest.importorskip("torch")
    model = layered_model((20, 20), spacing=10.0, nbl=4)
    kw = dict(src_positions=[[100.0, 20.0]], rec_positions=[[50.0, 20.0]], tn=0.2)
    nt = Geometry(model, **kw).nt
    with pytest.raises(TypeError, match="mixed array backends"):
        Geometry(model, wavelet=torch.zeros(nt, 1), **kw)


def test_geometry_checked_against_model_at_use():
    model = layered_model((20, 20), spacing=10.0, nbl=4)
    geom = Geometry(model, src_positions=[[100.0, 20.0]], rec_positions=[[50.0, 20.0]], tn=0.1,
                    dt=0.95 * model.critical_dt)
    other = layered_model((20, 21), spacing=10.0, nbl=4)
    with pytest.raises(ValueError, match="another grid"):
        forward(other, geom)
    faster = model.with_vp(np.asarray(model.vp) * 1.2)   # dt no longer stable
    with pytest.raises(ValueError, match="CFL"):
        forward(faster, geom)
