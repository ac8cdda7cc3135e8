"""numba.cuda shift-correlation kernel against the array-API reference.

Run under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, NumPy arrays stand in
for device arrays) or on a GPU; tiny sizes, the simulator runs every thread in
Python. numba.cuda is imported inside the tests, never at collection.
"""

from __future__ import annotations

import numpy as np
import pytest

from randla.kernels import reference

from _cuda_testing import to_device, to_host

pytestmark = pytest.mark.cudasim


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("shape, r, offsets", [
    ((2, 1, 1, 11), 9, [(0, 0, -3), (0, 0, 11)]),          # two probe chunks, empty offset
    ((3, 1, 3, 4), 2, [(0, 1, -1), (0, -2, 2)]),
    ((1, 2, 2, 3), 3, [(1, -1, 1), (0, 0, 0)]),
])
def test_matches_reference(shape, r, offsets, dtype):
    from randla.kernels import gpu_shift

    rng = np.random.default_rng(r)
    Y = rng.standard_normal(shape).astype(dtype)
    Z = rng.standard_normal((int(np.prod(shape[1:])), r)).astype(dtype)
    offs = np.array(offsets, dtype=np.int64)
    expected = reference.shift_correlate(Y.astype(np.float64), Z.astype(np.float64), offs)
    got = to_host(gpu_shift.shift_correlate(to_device(Y), to_device(Z), offs, threads_per_block=8))
    assert got.shape == expected.shape and got.dtype == dtype
    tol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got, expected, rtol=tol, atol=tol)


def test_rejects_bad_block_size():
    from randla.kernels import gpu_shift

    Y, Z = np.zeros((1, 1, 1, 4)), np.zeros((4, 1))
    with pytest.raises(ValueError, match="threads_per_block"):
        gpu_shift.shift_correlate(Y, Z, np.zeros((1, 3), dtype=np.int64), threads_per_block=12)


@pytest.mark.parametrize("shape, grid, stride, r, offsets", [
    ((2, 3, 1, 1, 5), (1, 1, 11), (1, 1, 2), 1, [(0, 0, -1), (0, 0, 3)]),
    ((2, 2, 1, 2, 3), (1, 5, 7), (1, 2, 2), 3, [(0, 1, -1), (0, 0, 2)]),
])
def test_strided_per_group_matches_reference(shape, grid, stride, r, offsets):
    from randla.kernels import gpu_shift

    rng = np.random.default_rng(r)
    Y = rng.standard_normal(shape)
    Z = rng.standard_normal((shape[1], int(np.prod(grid)), r))
    offs = np.array(offsets, dtype=np.int64)
    expected = reference.shift_correlate(Y, Z, offs, grid=grid, stride=stride)
    got = to_host(gpu_shift.shift_correlate(to_device(Y), to_device(Z), offs, grid=grid,
                                            stride=stride, threads_per_block=8))
    assert got.shape == expected.shape and np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_dispatch_through_shift_trace(monkeypatch):
    """The CUDA branch of randla.shift end to end: device arrays (NumPy arrays under
    the simulator, forced onto the CUDA branch) against the host kernel."""
    import randla.shift
    from randla import shift_trace
    from randla.kernels import _dispatch

    rng = np.random.default_rng(0)
    X, Y = rng.standard_normal((1, 2, 3, 4)), rng.standard_normal((1, 1, 3, 4))
    offsets = [(0, 1), (-1, 0)]
    expected = shift_trace(X, Y, offsets, num_probes=3, rng=5)
    monkeypatch.setattr(_dispatch, "host_views", lambda *arrays: None)
    monkeypatch.setattr(_dispatch, "cuda_arrays", lambda *arrays: True)
    got = to_host(shift_trace(to_device(X), to_device(Y), offsets, num_probes=3, rng=5))
    assert randla.shift._dispatch is _dispatch
    np.testing.assert_allclose(got, expected, rtol=1e-12)
