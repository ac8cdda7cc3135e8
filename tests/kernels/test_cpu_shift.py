"""Numba shift-correlation kernel against the array-API reference."""

from __future__ import annotations

import numpy as np
import pytest

from randla.kernels import cpu_shift, reference

# (M, D0, D1, D2), r, offsets (K, 3): row tails (M % 4), probe tails (r % 4),
# 1-D / 2-D / 3-D canonical grids, out-of-grid offsets, long 1-D rows.
SHAPES = [
    ((1, 1, 1, 17), 3, [(0, 0, -2), (0, 0, 0), (0, 0, 5), (0, 0, 17), (0, 0, -20)]),
    ((4, 1, 1, 9), 4, [(0, 0, 1)]),
    ((7, 1, 6, 5), 9, [(0, a, b) for a in (-1, 0, 1) for b in (-2, 0, 1)]),
    ((9, 3, 4, 5), 8, [(1, -1, 2), (0, 0, 0), (-3, 2, -5), (-2, -3, 4), (2, 0, 0)]),
    ((6, 1, 1, 300), 5, [(0, 0, -7), (0, 0, 133)]),
]


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("shape, r, offsets", SHAPES)
def test_matches_reference(shape, r, offsets, parallel):
    rng = np.random.default_rng(len(offsets))
    Y = rng.standard_normal(shape)
    Z = rng.standard_normal((np.prod(shape[1:]), r))
    offs = np.array(offsets, dtype=np.int64)
    expected = reference.shift_correlate(Y, Z, offs)
    got = cpu_shift.shift_correlate(Y, Z, offs, parallel=parallel)
    assert got.shape == (shape[0], len(offsets), r) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


def test_float32_and_noncontiguous():
    rng = np.random.default_rng(1)
    Y = rng.standard_normal((5, 1, 8, 12))[:, :, :, ::2]          # strided grid axis
    Z = np.asfortranarray(rng.standard_normal((48, 6)))
    offs = np.array([(0, 1, -1), (0, -2, 3)], dtype=np.int64)
    expected = reference.shift_correlate(Y, Z, offs)
    np.testing.assert_allclose(cpu_shift.shift_correlate(Y, Z, offs), expected, rtol=1e-12)
    got = cpu_shift.shift_correlate(Y.astype(np.float32), Z.astype(np.float32), offs)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


# (P, G, out grid), (in grid), stride, r, offsets: strided reads, per-group probes,
# one probe per group (the 4 x 1 tiles), row tails
STRIDED = [
    ((5, 1, 1, 1, 7), (1, 1, 13), (1, 1, 2), 6, [(0, 0, -2), (0, 0, 0), (0, 0, 5), (0, 0, 13)]),
    ((6, 3, 1, 3, 4), (1, 7, 9), (1, 2, 3), 1, [(0, -1, 0), (0, 2, 3), (0, 1, -2)]),
    ((9, 2, 2, 3, 3), (3, 5, 7), (2, 2, 3), 5, [(0, 0, 0), (1, -1, 2), (-1, 2, 1)]),
    ((4, 2, 1, 4, 5), (1, 4, 5), (1, 1, 1), 4, [(0, 1, -1), (0, 0, 0)]),
]


@pytest.mark.parametrize("parallel", [False, True], ids=["serial", "parallel"])
@pytest.mark.parametrize("shape, grid, stride, r, offsets", STRIDED)
def test_strided_per_group_matches_reference(shape, grid, stride, r, offsets, parallel):
    rng = np.random.default_rng(r)
    Y = rng.standard_normal(shape)
    Z = rng.standard_normal((shape[1], int(np.prod(grid)), r))
    offs = np.array(offsets, dtype=np.int64)
    expected = reference.shift_correlate(Y, Z, offs, grid=grid, stride=stride)
    got = cpu_shift.shift_correlate(Y, Z, offs, grid=grid, stride=stride, parallel=parallel)
    assert got.shape == (shape[0], shape[1], len(offsets), r)
    assert np.abs(expected).max() > 0
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)
    # group g of a grouped call is a shared-probe call with Z[g]
    for g in range(shape[1]):
        one = cpu_shift.shift_correlate(Y[:, g], Z[g], offs, grid=grid, stride=stride)
        np.testing.assert_allclose(got[:, g], one, rtol=1e-12, atol=1e-12)
