"""Numba CPU kernels and the sweeps agree with the array-API reference stepper."""

import numpy as np
import pytest

from randla.apps.wave import Geometry, Model, Propagator, forward, layered_model, reference_step
from randla.apps.wave.kernels import cpu as kernels_cpu
from randla.apps.wave.stencil import _axis_weights

from wave_helpers import random_positions


def _random_state(rng, shape, radius, dtype):
    storage = tuple(n + 2 * radius for n in shape)
    inner = tuple(slice(radius, n - radius) for n in storage)
    fields = []
    for scale, offset in ((1.0, 0.0), (1.0, 0.0), (0.2, 0.0), (0.05, 1.95)):
        x = np.zeros(storage, dtype=dtype)
        x[inner] = offset + scale * rng.standard_normal(shape)
        fields.append(x)
    return fields  # u, up, a, b (b near 2, i.e. lightly damped everywhere)


def _weights(space_order, spacing, dtype):
    w, c0 = _axis_weights(space_order, spacing)
    return w, c0, tuple(tuple(dtype(x) for x in row) for row in w)


@pytest.mark.parametrize("ndim,space_order", [(2, so) for so in (2, 4, 6, 8, 10, 12, 14, 16)]
                         + [(3, 2), (3, 16)])
def test_numba_step_matches_reference(ndim, space_order):
    rng = np.random.default_rng(space_order)
    shape = (13, 11, 9)[:ndim] if ndim == 3 else (23, 19)
    spacing = (10.0, 7.0, 5.0)[:ndim]
    radius = space_order // 2
    u, up, a, b = _random_state(rng, shape, radius, np.float64)
    w, c0, wt = _weights(space_order, spacing, np.float64)
    expected = reference_step(u, up, a, b, weights=w, center=c0)
    out = up.copy().reshape(-1)
    kernels_cpu.get_step(ndim)(u.reshape(-1), out, a.reshape(-1), b.reshape(-1), wt, c0,
                               tuple(u.shape))
    np.testing.assert_allclose(out.reshape(u.shape), expected, rtol=1e-12, atol=1e-12)


def test_reference_step_on_backends(xp, to_xp):
    rng = np.random.default_rng(7)
    u, up, a, b = _random_state(rng, (9, 8), 2, np.float64)
    w, c0, _ = _weights(4, (10.0, 10.0), np.float64)
    expected = reference_step(u, up, a, b, weights=w, center=c0)
    got = reference_step(to_xp(u), to_xp(up), to_xp(a), to_xp(b), weights=w, center=c0)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-13)
    with pytest.raises(ValueError, match="shape"):
        reference_step(to_xp(u), to_xp(up[:-1]), to_xp(a), to_xp(b), weights=w, center=c0)


def test_parallel_kernel_matches_serial():
    rng = np.random.default_rng(1)
    model = layered_model((30, 28), spacing=10.0, nbl=6, dtype=np.float64)
    geom = Geometry(model, src_positions=random_positions(rng, model, 1),
                    rec_positions=random_positions(rng, model, 5), tn=0.1)
    serial = forward(model, geom)
    parallel = forward(model, geom, num_threads=2)
    np.testing.assert_allclose(parallel, serial, rtol=1e-12, atol=1e-12 * np.abs(serial).max())
    with pytest.raises(ValueError, match="num_threads"):
        forward(model, geom, num_threads=0)


def test_fused_sweep_equals_step_loop():
    """The compiled multi-step sweep (no history) and the Python step loop agree."""
    rng = np.random.default_rng(5)
    model = layered_model((31, 27), spacing=10.0, nbl=5, dtype=np.float64)
    geom = Geometry(model, src_positions=random_positions(rng, model, 2),
                    rec_positions=random_positions(rng, model, 6), tn=0.15)
    fused = forward(model, geom)
    looped, u = forward(model, geom, save=True)
    scale = np.abs(fused).max()
    np.testing.assert_allclose(looped, fused, rtol=0, atol=1e-12 * scale)
    # the record is the interpolation of the saved field
    np.testing.assert_allclose(geom.rec.interpolate(u), fused, rtol=0, atol=1e-12 * scale)


def test_reference_backend_matches_numba(xp, to_xp):
    """The whole forward/adjoint on any array-API backend (reference stepper)."""
    rng = np.random.default_rng(9)
    vp = np.asarray(layered_model((14, 12), spacing=10.0, nbl=3, dtype=np.float64).vp)
    model_np = Model(vp, spacing=10.0, nbl=3, space_order=4)
    model_xp = Model(to_xp(vp), spacing=10.0, nbl=3, space_order=4)
    src, rec = random_positions(rng, model_np, 2), random_positions(rng, model_np, 3)
    g_np = Geometry(model_np, src_positions=src, rec_positions=rec, tn=0.05, f0=30.0)
    g_xp = Geometry(model_xp, src_positions=src, rec_positions=rec, tn=0.05, f0=30.0)
    d_np = forward(model_np, g_np)
    d_xp = forward(model_xp, g_xp, kernel="reference")
    np.testing.assert_allclose(np.asarray(d_xp), d_np, rtol=1e-10, atol=1e-12 * np.abs(d_np).max())
    data = rng.standard_normal(d_np.shape)
    from randla.apps.wave import adjoint

    q_np = adjoint(model_np, g_np, data)
    q_xp = adjoint(model_xp, g_xp, to_xp(data))
    np.testing.assert_allclose(np.asarray(q_xp), q_np, rtol=1e-10, atol=1e-12 * np.abs(q_np).max())


def test_kernel_choice_errors():
    model = layered_model((14, 12), spacing=10.0, nbl=3)
    with pytest.raises(ValueError, match="kernel"):
        Propagator(model, 1e-3, kernel="fortran")
    with pytest.raises(TypeError, match="cuda"):
        Propagator(model, 1e-3, kernel="cuda")
    with pytest.raises(ValueError, match="CFL"):
        Propagator(model, 1.0)
