"""numba.cuda sparse-sign kernels against the dense sparse sign matrix.

Run under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) or on a GPU; tiny sizes.
"""

from __future__ import annotations

import numpy as np
import pytest

from randla.random import sparse_sign, sparse_sign_indices

from _cuda_testing import to_device, to_host

pytestmark = pytest.mark.cudasim


@pytest.mark.parametrize("dtype", [np.float64, np.float32, np.complex128])
def test_matches_dense(dtype):
    from randla.kernels import gpu_sketch

    rng = np.random.default_rng(0)
    m, n, k = 6, 9, 4
    A = rng.standard_normal((m, n))
    if np.dtype(dtype).kind == "c":
        A = A + 1j * rng.standard_normal((m, n))
    A = A.astype(dtype)
    tol = 1e-5 if dtype == np.float32 else 1e-12
    cols, signs, scale = sparse_sign_indices(n, k, nnz_per_row=2, rng=1)
    right = to_host(gpu_sketch.sparse_sign_right(to_device(A), cols, signs, scale, k,
                                               threads_per_block=8))
    assert right.shape == (m, k) and right.dtype == dtype
    np.testing.assert_allclose(right, A @ sparse_sign(n, k, nnz_per_row=2, rng=1), rtol=tol,
                               atol=tol)
    cols, signs, scale = sparse_sign_indices(m, k, rng=2)
    left = to_host(gpu_sketch.sparse_sign_left(to_device(A), cols, signs, scale, k,
                                             threads_per_block=8))
    assert left.shape == (k, n) and left.dtype == dtype
    np.testing.assert_allclose(left, sparse_sign(m, k, rng=2).T @ A, rtol=tol, atol=tol)


def test_csc_structure_matches_dense():
    from randla.kernels import gpu_sketch

    cols, signs, scale = sparse_sign_indices(7, 5, nnz_per_row=3, rng=3)
    indptr, rows, vals = gpu_sketch.csc_structure(cols, signs, scale, 5)
    dense = np.zeros((7, 5))
    for c in range(5):
        for p in range(indptr[c], indptr[c + 1]):
            dense[rows[p], c] = vals[p]
    np.testing.assert_array_equal(dense, sparse_sign(7, 5, nnz_per_row=3, rng=3))


@pytest.mark.parametrize("side", ["right", "left"])
def test_dispatch_through_sketch(monkeypatch, side):
    """The CUDA branch of randla.sketch end to end (NumPy arrays under the simulator)."""
    from numba import config

    if not config.ENABLE_CUDASIM:
        pytest.skip("dispatch forced onto NumPy arrays: simulator only")
    import importlib

    from randla.kernels import _dispatch

    # the module randla.sketching (randla.sketch is the function)
    sketch_module = importlib.import_module("randla.sketching")
    A = np.random.default_rng(0).standard_normal((5, 4))
    expected = sketch_module.sketch(A, 3, probe="sparse_sign", rng=2, side=side)
    monkeypatch.setattr(sketch_module, "kernel_backend", lambda xp: _dispatch.CUDA)
    got = sketch_module.sketch(A, 3, probe="sparse_sign", rng=2, side=side)
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
