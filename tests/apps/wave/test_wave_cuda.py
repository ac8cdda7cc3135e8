"""numba.cuda kernels agree with the CPU kernels and the reference (CUDA simulator, tiny grids)."""

import os

import numpy as np
import pytest

from randla.backend import to_host

from randla.apps.wave import Geometry, Model, adjoint, born, forward, layered_model, reference_step
from randla.apps.wave.stencil import _axis_weights

from wave_helpers import random_positions

pytestmark = pytest.mark.cudasim


def _device_model(model):
    """The model on the CUDA device: NumPy under the simulator, CuPy on a GPU."""
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return model, np.asarray
    cupy = pytest.importorskip("cupy")
    gpu = Model(cupy.asarray(model.vp), spacing=model.spacing, nbl=model.nbl,
                space_order=model.space_order)
    return gpu, cupy.asarray


def test_cuda_operators_match_numba_2d():
    rng = np.random.default_rng(0)
    model = layered_model((12, 10), spacing=10.0, nbl=2, space_order=4, dtype=np.float32)
    src, rec = random_positions(rng, model, 2), random_positions(rng, model, 3)
    geom = Geometry(model, src_positions=src, rec_positions=rec, tn=0.012, f0=40.0)
    gmodel, to_dev = _device_model(model)
    ggeom = Geometry(gmodel, src_positions=src, rec_positions=rec, tn=0.012, f0=40.0)
    host = to_host
    d_cpu = forward(model, geom)
    d_gpu = host(forward(gmodel, ggeom, kernel="cuda"))
    np.testing.assert_allclose(d_gpu, d_cpu, rtol=0, atol=1e-5 * np.abs(d_cpu).max())
    data = rng.standard_normal((geom.nt, geom.nrec)).astype(np.float32)
    q_cpu = adjoint(model, geom, data)
    q_gpu = host(adjoint(gmodel, ggeom, to_dev(data), kernel="cuda"))
    np.testing.assert_allclose(q_gpu, q_cpu, rtol=0, atol=1e-5 * np.abs(q_cpu).max())
    dm = (1e-8 * rng.standard_normal(model.shape)).astype(np.float32)
    b_cpu = born(model, geom, dm)
    b_gpu = host(born(gmodel, ggeom, to_dev(dm), kernel="cuda"))
    np.testing.assert_allclose(b_gpu, b_cpu, rtol=0, atol=1e-5 * np.abs(b_cpu).max())


def test_cuda_step_matches_reference_3d():
    from randla.apps.wave.kernels.gpu import get_cuda_kernels

    rng = np.random.default_rng(1)
    radius, shape = 2, (4, 3, 5)
    storage = tuple(n + 2 * radius for n in shape)
    inner = tuple(slice(radius, n - radius) for n in storage)
    u, up, a, b = (np.zeros(storage) for _ in range(4))
    u[inner], up[inner] = rng.standard_normal(shape), rng.standard_normal(shape)
    a[inner], b[inner] = 0.1 * rng.random(shape), 1.9 + 0.1 * rng.random(shape)
    w, c0 = _axis_weights(2 * radius, (10.0, 8.0, 6.0))
    expected = reference_step(u, up, a, b, weights=w, center=c0)
    out = up.reshape(-1).copy()
    step = get_cuda_kernels(3, radius)["step"]
    step[(1, 1, 1), (8, 8, 8)](u.reshape(-1), out, a.reshape(-1), b.reshape(-1),
                              w[0].copy(), w[1].copy(), w[2].copy(), c0, *storage)
    np.testing.assert_allclose(out.reshape(storage), expected, rtol=1e-12, atol=1e-12)


def test_cuda_injection_is_adjoint_of_interpolation():
    from randla.apps.wave.kernels.gpu import get_cuda_kernels

    rng = np.random.default_rng(2)
    model = Model(np.full((6, 5), 1500.0), spacing=10.0, nbl=1)
    pos = random_positions(rng, model, 4)
    pos[1] = pos[0]
    from randla.apps.wave import PointInterpolator

    interp = PointInterpolator(model, pos)
    idx = interp.flat_indices(model.padded_shape)
    ker = get_cuda_kernels(2, 1)
    u = rng.standard_normal(int(np.prod(model.padded_shape)))
    vals = rng.standard_normal(4)
    out = np.zeros(4)
    ker["interpolate"][1, 32](u, idx, interp.weights, out)
    field = np.zeros_like(u)
    ker["inject"][1, 32](field, np.ones_like(u), idx, interp.weights, vals)
    assert float(out @ vals) == pytest.approx(float(u @ field), rel=1e-12)
    np.testing.assert_allclose(out, interp.interpolate(u.reshape(model.padded_shape)), rtol=1e-12)
