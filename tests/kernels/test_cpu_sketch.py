"""Numba sparse-sign kernels against the dense sparse sign matrix."""

from __future__ import annotations

import numpy as np
import pytest

from randla.kernels import cpu_sketch
from randla.random import sparse_sign, sparse_sign_indices

# (m, n, k, nnz_per_row): row-block tails (m % 64), a single column, k = nnz
SIZES = [(5, 7, 3, None), (130, 70, 9, 2), (64, 1, 1, None), (3, 600, 20, 8), (200, 30, 4, 4)]


# the parallel variant in float64 only: every (dtype, variant) pair is a Numba compile
@pytest.mark.parametrize("dtype, parallel", [
    (np.float64, False), (np.float64, True), (np.float32, False), (np.complex128, False),
], ids=["float64-serial", "float64-parallel", "float32-serial", "complex128-serial"])
@pytest.mark.parametrize("m, n, k, nnz", SIZES)
def test_matches_dense(m, n, k, nnz, parallel, dtype):
    rng = np.random.default_rng(m + n)
    A = rng.standard_normal((m, n))
    if np.dtype(dtype).kind == "c":
        A = A + 1j * rng.standard_normal((m, n))
    A = A.astype(dtype)
    tol = 1e-4 if dtype == np.float32 else 1e-12
    cols, signs, scale = sparse_sign_indices(n, k, nnz_per_row=nnz, rng=1)
    S = sparse_sign(n, k, nnz_per_row=nnz, rng=1)
    right = cpu_sketch.sparse_sign_right(A, cols, signs, scale, k, parallel=parallel)
    assert right.shape == (m, k) and right.dtype == dtype
    np.testing.assert_allclose(right, A @ S, rtol=tol, atol=tol)
    cols, signs, scale = sparse_sign_indices(m, k, nnz_per_row=nnz, rng=2)
    S = sparse_sign(m, k, nnz_per_row=nnz, rng=2)
    left = cpu_sketch.sparse_sign_left(A, cols, signs, scale, k, parallel=parallel)
    assert left.shape == (k, n) and left.dtype == dtype
    np.testing.assert_allclose(left, S.T @ A, rtol=tol, atol=tol)


def test_noncontiguous_input():
    rng = np.random.default_rng(3)
    A = rng.standard_normal((40, 90))[:, ::3]
    cols, signs, scale = sparse_sign_indices(30, 6, rng=4)
    np.testing.assert_allclose(cpu_sketch.sparse_sign_right(A, cols, signs, scale, 6),
                               A @ sparse_sign(30, 6, rng=4), rtol=1e-12, atol=1e-12)
