"""Shift-probe estimators: exact values, unbiasedness, exactness, phases, errors."""

from __future__ import annotations

import math

import numpy as np
import pytest

import randla
from randla import (
    kernel_offsets,
    shift_correlate,
    shift_trace,
    shift_trace_exact,
    shift_trace_from_sketch,
    sketch_grid,
)
from randla.backend import to_host
from randla.random import PROBE_KINDS, draw_probes

# -- brute-force references (plain loops) -------------------------------------------


def brute_force(X, Y, offsets):
    """Channel layout: X (B, Ci, *grid), Y (B, Co, *grid) -> (Co, Ci, K) by loops."""
    grid = X.shape[2:]
    out = np.zeros((Y.shape[1], X.shape[1], len(offsets)))
    for kk, k in enumerate(offsets):
        for x in np.ndindex(*grid):
            xk = tuple(a + b for a, b in zip(x, k))
            if all(0 <= c < n for c, n in zip(xk, grid)):
                idx_y = (slice(None), slice(None)) + x
                idx_x = (slice(None), slice(None)) + xk
                out[:, :, kk] += Y[idx_y].T @ X[idx_x]
    return out


def brute_force_wrap(X, Y, offsets):
    """Same sum with periodic (wrap-around) boundaries: what a boundary bug gives."""
    grid = X.shape[2:]
    out = np.zeros((Y.shape[1], X.shape[1], len(offsets)))
    for kk, k in enumerate(offsets):
        for x in np.ndindex(*grid):
            xk = tuple((a + b) % n for a, b, n in zip(x, k, grid))
            out[:, :, kk] += Y[(slice(None), slice(None)) + x].T @ X[(slice(None), slice(None)) + xk]
    return out


def shift_matrix(grid, k):
    """Dense T_k: (T_k v)[x] = v[x + k], zero outside the grid."""
    N = math.prod(grid)
    T = np.zeros((N, N))
    for x in np.ndindex(*grid):
        xk = tuple(a + b for a, b in zip(x, k))
        if all(0 <= c < n for c, n in zip(xk, grid)):
            T[np.ravel_multi_index(x, grid), np.ravel_multi_index(xk, grid)] = 1.0
    return T


# Layouts: "grid" (*grid), "batch" (batch, *grid), "channel" (batch, c, *grid).
# Each case: (layout, grid, batch, c_in, c_out, offsets). Offsets include
# zero, negative, positive, mixed-sign and out-of-grid shifts.
CASES = [
    pytest.param("batch", (12,), 2, 1, 1, [(-3,), (0,), (2,), (9,), (12,)], id="1d-batch"),
    pytest.param("channel", (4, 5), 2, 2, 3, [(-1, 1), (0, 0), (2, -3), (3, 4), (0, -5)],
                 id="2d-channel"),
    pytest.param("grid", (3, 3, 4), 1, 1, 1, [(1, 0, -1), (0, -2, 3), (0, 0, 0), (2, 2, 2)],
                 id="3d-grid"),
    pytest.param("channel", (3, 2, 4), 3, 1, 2, [(-1, 1, 2), (0, 0, -1)], id="3d-channel"),
]


def make_fields(layout, grid, batch, c_in, c_out, *, seed=0, mean=0.0):
    """Fields in the requested layout, plus their channel-layout views."""
    rng = np.random.default_rng(seed)
    X = mean + rng.standard_normal((batch, c_in, *grid))
    Y = mean + rng.standard_normal((batch, c_out, *grid))
    if layout == "channel":
        return X, Y, X, Y
    if layout == "batch":
        return X[:, 0], Y[:, 0], X, Y
    return X[0, 0], Y[0, 0], X, Y


def as_layout(est, layout):
    """Exact (Co, Ci, K) -> the result shape of the layout."""
    return est if layout == "channel" else est[0, 0]


# -- exact ---------------------------------------------------------------------------


@pytest.mark.parametrize("layout, grid, batch, c_in, c_out, offsets", CASES)
def test_exact_matches_brute_force(xp, to_xp, layout, grid, batch, c_in, c_out, offsets):
    X, Y, Xc, Yc = make_fields(layout, grid, batch, c_in, c_out)
    got = shift_trace_exact(to_xp(X), to_xp(Y), offsets)
    expected = as_layout(brute_force(Xc, Yc, offsets), layout)
    assert got.shape == expected.shape
    np.testing.assert_allclose(to_host(got), expected, rtol=1e-12, atol=1e-12)


def test_exact_out_of_grid_offsets_vanish(xp, to_xp):
    X = to_xp(np.ones((2, 3, 4)))
    got = to_host(shift_trace_exact(X, X, [(3, 0), (0, -4), (-2, 1)]))
    np.testing.assert_array_equal(got[:2], 0.0)
    assert got[2] == 2 * 1 * 3     # batch 2, rows 2..2 valid (1 row), columns 0..2 valid (3)


def test_exact_equals_dense_trace():
    """tr(X Y^T T_k) with the dense shift matrix (the definition)."""
    grid, k = (3, 4), (1, -2)
    X, Y, _, _ = make_fields("batch", grid, 3, 1, 1)
    Xm, Ym = X.reshape(3, -1).T, Y.reshape(3, -1).T
    expected = np.trace(Xm @ Ym.T @ shift_matrix(grid, k))
    np.testing.assert_allclose(shift_trace_exact(X, Y, [k])[0], expected, rtol=1e-12)


@pytest.mark.parametrize("ndim", [1, 2, 3])
def test_exact_is_conv_weight_gradient(ndim):
    """kernel_offsets + shift_trace_exact = torch's conv weight gradient (padding 'same')."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(ndim)
    grid, ksize = (7, 6, 5)[:ndim], (3, 1, 3)[:ndim]
    X = torch.tensor(rng.standard_normal((2, 3, *grid)))
    W = torch.tensor(rng.standard_normal((4, 3, *ksize)), requires_grad=True)
    G = torch.tensor(rng.standard_normal((2, 4, *grid)))
    conv = getattr(torch.nn.functional, f"conv{ndim}d")
    (conv(X, W, padding=tuple(s // 2 for s in ksize)) * G).sum().backward()
    got = shift_trace_exact(X, G, kernel_offsets(ksize)).reshape(W.shape)
    np.testing.assert_allclose(got.numpy(), W.grad.numpy(), rtol=1e-10, atol=1e-10)


def test_kernel_offsets():
    assert kernel_offsets((3, 3))[0] == (-1, -1) and kernel_offsets((3, 3))[-1] == (1, 1)
    assert len(kernel_offsets((3, 5, 1))) == 15
    assert kernel_offsets(4, padding=0) == ((0,), (1,), (2,), (3,))
    with pytest.raises(ValueError, match="kernel_size"):
        kernel_offsets((0, 3))
    with pytest.raises(ValueError, match="padding"):
        kernel_offsets((3, 3), padding=(1,))
    with pytest.raises(TypeError, match="kernel_size"):
        kernel_offsets((3.0,))


# -- estimator -------------------------------------------------------------------------

NUM_REPEATS = 100
NUM_PROBES = 4


def hutchinson_variance(Xc, Yc, offsets, probe, r):
    """Variance of one estimate per entry (c_out, c_in, K) for Gaussian/Rademacher.

    Each entry is (1/r) sum_j z_j^T M z_j with M = sum_b X_b Y_b^T T_k (N x N, not
    symmetric) and independent columns z_j. With S = (M + M^T)/2 (z^T M z =
    z^T S z): Gaussian Var(z^T S z) = 2 ||S||_F^2; Rademacher
    2 (||S||_F^2 - sum_i S_ii^2) (Hutchinson 1989). Divide by r for the mean of r.
    """
    grid = Xc.shape[2:]
    B = Xc.shape[0]
    var = np.zeros((Yc.shape[1], Xc.shape[1], len(offsets)))
    for kk, k in enumerate(offsets):
        T = shift_matrix(grid, k)
        for o in range(Yc.shape[1]):
            for i in range(Xc.shape[1]):
                Xm = Xc[:, i].reshape(B, -1).T
                Ym = Yc[:, o].reshape(B, -1).T
                M = Xm @ Ym.T @ T
                S = (M + M.T) / 2
                v = 2 * np.sum(S * S)
                if probe == "rademacher":
                    v -= 2 * np.sum(np.diag(S) ** 2)
                var[o, i, kk] = v / r
    return var


@pytest.mark.parametrize("probe", PROBE_KINDS)
@pytest.mark.parametrize("layout, grid, batch, c_in, c_out, offsets", CASES[:3])
def test_unbiased(xp, to_xp, probe, layout, grid, batch, c_in, c_out, offsets):
    """Mean of NUM_REPEATS independent seeded estimates is within 5 sigma of exact.

    sigma of the mean = sqrt(Var / NUM_REPEATS). Var is derived in closed form for
    Gaussian and Rademacher probes (hutchinson_variance); for sphere, orthonormal,
    SRFT and sparse sign it is the sample variance of the repeats (CLT bound:
    |mean - exact| <= 5 s / sqrt(R) with R = 100; for orthonormal/SRFT with r < N
    the variance is positive). The fields have mean 1 so that the wrap-around
    (periodic) sum differs from the zero-boundary one by more than 10 sigma on at
    least one entry: a boundary bug could not pass.
    """
    X, Y, Xc, Yc = make_fields(layout, grid, batch, c_in, c_out, seed=3, mean=1.0)
    Xd, Yd = to_xp(X), to_xp(Y)
    est = np.stack([
        to_host(shift_trace(Xd, Yd, offsets, num_probes=NUM_PROBES, probe=probe, rng=seed))
        for seed in range(NUM_REPEATS)
    ])
    exact = as_layout(brute_force(Xc, Yc, offsets), layout)
    if probe in ("gaussian", "rademacher"):
        var = as_layout(hutchinson_variance(Xc, Yc, offsets, probe, NUM_PROBES), layout)
        # the closed form agrees with the sample variance (chi-square-like spread)
        sample = est.var(axis=0, ddof=1)
        big = var > 1e-8 * np.max(var)
        assert np.all(sample[big] / var[big] > 1 / 3) and np.all(sample[big] / var[big] < 3)
    else:
        var = est.var(axis=0, ddof=1)
    sigma = np.sqrt(var / NUM_REPEATS)
    scale = np.max(np.abs(exact))
    np.testing.assert_array_less(np.abs(est.mean(axis=0) - exact), 5 * sigma + 1e-9 * scale)
    wrap = as_layout(brute_force_wrap(Xc, Yc, offsets), layout)
    assert np.max(np.abs(wrap - exact) / (sigma + 1e-300)) > 10


@pytest.mark.parametrize("probe", ["orthonormal", "srft"])
@pytest.mark.parametrize("layout, grid, batch, c_in, c_out, offsets", CASES)
def test_exact_at_full_rank(xp, to_xp, probe, layout, grid, batch, c_in, c_out, offsets):
    """Orthonormal / SRFT probes with num_probes = N: Z Z^T = N I, the estimate is exact."""
    X, Y, Xc, Yc = make_fields(layout, grid, batch, c_in, c_out, seed=5)
    N = math.prod(grid)
    got = shift_trace(to_xp(X), to_xp(Y), offsets, num_probes=N, probe=probe, rng=7)
    exact = as_layout(brute_force(Xc, Yc, offsets), layout)
    np.testing.assert_allclose(to_host(got), exact, rtol=1e-10, atol=1e-10 * np.max(np.abs(exact)))


def test_not_exact_below_full_rank():
    """Sanity: with r < N the orthonormal estimate is random (the exactness test is not vacuous)."""
    X, Y, _, _ = make_fields("batch", (12,), 2, 1, 1, seed=5)
    a = shift_trace(X, Y, [(1,)], num_probes=11, probe="orthonormal", rng=1)
    assert not np.allclose(a, shift_trace_exact(X, Y, [(1,)]), rtol=1e-6)


@pytest.mark.parametrize("probe", PROBE_KINDS)
def test_same_seed_same_result_across_backends(xp, to_xp, probe):
    X, Y, _, _ = make_fields("channel", (5, 6), 3, 2, 2, seed=11)
    offsets = kernel_offsets((3, 3))
    ref = shift_trace(X, Y, offsets, num_probes=6, probe=probe, rng=42)
    got = shift_trace(to_xp(X), to_xp(Y), offsets, num_probes=6, probe=probe, rng=42)
    np.testing.assert_allclose(to_host(got), ref, rtol=1e-12, atol=1e-12 * np.max(np.abs(ref)))
    again = shift_trace(to_xp(X), to_xp(Y), offsets, num_probes=6, probe=probe, rng=42)
    np.testing.assert_array_equal(to_host(again), to_host(got))


def test_phases_compose(xp, to_xp):
    """shift_trace = shift_trace_from_sketch(sketch_grid(X, Z), shift_correlate(Y, Z))."""
    X, Y, _, _ = make_fields("channel", (4, 5), 2, 3, 2, seed=2)
    offsets = [(0, 1), (-1, 0), (1, 1)]
    Xd, Yd = to_xp(X), to_xp(Y)
    Z = draw_probes("sphere", 20, 5, rng=9, xp=xp, dtype=Xd.dtype, device=randla.backend.device_of(Xd))
    Xbar = sketch_grid(Xd, Z, grid_ndim=2)
    Ybar = shift_correlate(Yd, Z, offsets)
    assert Xbar.shape == (2, 3, 5) and Ybar.shape == (2, 2, 3, 5)
    got = to_host(shift_trace_from_sketch(Xbar, Ybar))
    expected = to_host(shift_trace(Xd, Yd, offsets, num_probes=5, probe="sphere", rng=9))
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    # the phases themselves against their definitions
    Zh = to_host(Z)
    np.testing.assert_allclose(to_host(Xbar), X.reshape(2, 3, 20) @ Zh, rtol=1e-12)
    T = shift_matrix((4, 5), (1, 1))
    np.testing.assert_allclose(to_host(Ybar)[:, :, 2], Y.reshape(2, 2, 20) @ T @ Zh,
                               rtol=1e-12, atol=1e-12)


def test_single_field_layouts_agree():
    X, Y, _, _ = make_fields("channel", (6, 5), 3, 1, 1, seed=4)
    offsets = [(0, 0), (1, -1)]
    chan = shift_trace(X, Y, offsets, num_probes=3, rng=1)
    batch = shift_trace(X[:, 0], Y[:, 0], offsets, num_probes=3, rng=1)
    assert chan.shape == (1, 1, 2) and batch.shape == (2,)
    np.testing.assert_allclose(chan[0, 0], batch, rtol=1e-13)


def test_parallel_and_float32():
    X, Y, Xc, Yc = make_fields("channel", (9, 8), 5, 3, 2, seed=6)
    offsets = kernel_offsets((3, 3))
    serial = shift_trace(X, Y, offsets, num_probes=7, rng=3)
    par = shift_trace(X, Y, offsets, num_probes=7, rng=3, parallel=True)
    np.testing.assert_allclose(par, serial, rtol=1e-12)
    got = shift_trace(X.astype(np.float32), Y.astype(np.float32), offsets, num_probes=72,
                      probe="orthonormal", rng=3)
    assert got.dtype == np.float32
    exact = brute_force(Xc, Yc, offsets)
    np.testing.assert_allclose(got, exact, rtol=1e-4, atol=1e-4 * np.max(np.abs(exact)))


# -- errors -----------------------------------------------------------------------------


def _fields():
    rng = np.random.default_rng(0)
    return rng.standard_normal((2, 3, 4, 5)), rng.standard_normal((2, 1, 4, 5))


@pytest.mark.parametrize("mutate, exc, match", [
    (lambda X, Y, o: (X[:1], Y, o), ValueError, "batch"),
    (lambda X, Y, o: (X[..., :4], Y, o), ValueError, "grid"),
    (lambda X, Y, o: (X[:, 0], Y, o), ValueError, "layout"),
    (lambda X, Y, o: (X, Y, [(0, 1), (1,)]), ValueError, r"offsets\[1\]"),
    (lambda X, Y, o: (X, Y, [(0, 1, 0, 1)]), ValueError, "offsets"),
    (lambda X, Y, o: (X, Y, []), ValueError, "at least one offset"),
    (lambda X, Y, o: (X, Y, [(0.5, 1)]), TypeError, "offsets"),
    (lambda X, Y, o: (X, Y, "01"), TypeError, "offsets"),
    (lambda X, Y, o: (X, Y, [(0, 0, 0, 0, 0)]), ValueError, "offsets"),
    (lambda X, Y, o: (X.astype(np.int64), Y, o), TypeError, "X"),
    (lambda X, Y, o: (X, Y.astype(np.float16), o), TypeError, "Y"),
    (lambda X, Y, o: (X.astype(np.float32), Y, o), TypeError, "same dtype"),
    (lambda X, Y, o: (np.where(X > 1, np.nan, X), Y, o), ValueError, "X"),
    (lambda X, Y, o: (X, np.where(Y > 1, np.inf, Y), o), ValueError, "Y"),
    (lambda X, Y, o: (X.tolist(), Y, o), TypeError, "X"),
])
def test_errors(mutate, exc, match):
    X, Y = _fields()
    args = mutate(X, Y, [(0, 1), (1, 0)])
    with pytest.raises(exc, match=match):
        shift_trace_exact(*args)
    with pytest.raises(exc, match=match):
        shift_trace(*args, num_probes=2, rng=0)


def test_errors_num_probes_and_probe():
    X, Y = _fields()
    for bad, exc in ((0, ValueError), (-1, ValueError), (2.0, TypeError), (True, TypeError)):
        with pytest.raises(exc, match="num_probes"):
            shift_trace(X, Y, [(0, 0)], num_probes=bad)
    for probe in ("orthonormal", "srft"):
        with pytest.raises(ValueError, match="num_probes"):
            shift_trace(X, Y, [(0, 0)], num_probes=21, probe=probe)
    with pytest.raises(ValueError, match="probe"):
        shift_trace(X, Y, [(0, 0)], num_probes=2, probe="bernoulli")


def test_errors_mixed_backends():
    torch = pytest.importorskip("torch")
    X, Y = _fields()
    with pytest.raises(TypeError, match="mixed array backends"):
        shift_trace(X, torch.asarray(Y), [(0, 0)], num_probes=2)
    with pytest.raises(TypeError, match="mixed array backends"):
        shift_correlate(torch.asarray(Y), draw_probes("gaussian", 20, 2, rng=0), [(0, 0)])


def test_errors_phases():
    X, Y = _fields()
    Z = draw_probes("gaussian", 20, 3, rng=0)
    with pytest.raises(ValueError, match="Z must have shape"):
        sketch_grid(X, Z[:19], grid_ndim=2)
    with pytest.raises(ValueError, match="grid_ndim"):
        sketch_grid(X, Z, grid_ndim=4)
    with pytest.raises(ValueError, match="Z must have shape"):
        shift_correlate(Y, Z, [(0,)])       # 1-D grid of 5 points, Z has 20 rows
    with pytest.raises(TypeError, match="same dtype"):
        shift_correlate(Y, Z.astype(np.float32), [(0, 0)])
    Xbar, Ybar = sketch_grid(X, Z, grid_ndim=2), shift_correlate(Y, Z, [(0, 0)])
    with pytest.raises(ValueError, match="more axis"):
        shift_trace_from_sketch(Xbar, Ybar[:, 0])
    with pytest.raises(ValueError, match="probes"):
        shift_trace_from_sketch(Xbar[..., :2], Ybar)
    with pytest.raises(ValueError, match="batch"):
        shift_trace_from_sketch(Xbar[:1], Ybar)


def test_native_probes_exact_at_full_rank(xp, to_xp):
    """native=True draws on the backend's generator; orthonormal at r = N is still exact."""
    X, Y, Xc, Yc = make_fields("channel", (3, 4), 2, 2, 1, seed=8)
    got = shift_trace(to_xp(X), to_xp(Y), [(0, 1), (1, -1)], num_probes=12,
                      probe="orthonormal", rng=3, native=True)
    np.testing.assert_allclose(to_host(got), brute_force(Xc, Yc, [(0, 1), (1, -1)]),
                               rtol=1e-10, atol=1e-10)


# -- strided / per-channel phases (the primitives under randla.apps.xconv) ------------


def brute_force_correlate(Y, Z, offsets, grid, stride):
    """Ybar[.., k, j] = sum_x Y[.., x] Z[(c,) s x + k, j] by loops over the output grid."""
    d = len(grid)
    out_grid = Y.shape[Y.ndim - d:]
    lead = Y.shape[:Y.ndim - d]
    r = Z.shape[-1]
    Zg = Z.reshape(Z.shape[:-2] + tuple(grid) + (r,))
    out = np.zeros(lead + (len(offsets), r))
    for kk, k in enumerate(offsets):
        for x in np.ndindex(*out_grid):
            e = tuple(s * a + b for s, a, b in zip(stride, x, k))
            if all(0 <= c < n for c, n in zip(e, grid)):
                y = Y[(Ellipsis,) + x][..., None]                  # (*lead, 1)
                z = Zg[(slice(None),) * (Z.ndim - 2) + e]           # (r,) or (C, r)
                out[..., kk, :] += y * z
    return out


@pytest.mark.parametrize("per_channel", [False, True], ids=["shared", "per_channel"])
@pytest.mark.parametrize("out_grid, grid, stride, offsets", [
    ((6,), (13,), (2,), [(-2,), (0,), (3,), (13,)]),
    ((3, 4), (7, 9), (2, 2), [(-1, 0), (0, 2), (2, -3)]),
    ((2, 3, 2), (4, 7, 5), (2, 3, 2), [(0, 0, 0), (1, -1, 2), (-2, 2, 1)]),
    ((4, 5), (4, 5), (1, 1), [(0, 1), (-1, -1)]),
])
def test_correlate_strided_matches_brute_force(xp, to_xp, per_channel, out_grid, grid, stride,
                                               offsets):
    rng = np.random.default_rng(len(out_grid))
    Y = rng.standard_normal((2, 3) + out_grid)
    N = math.prod(grid)
    Z = rng.standard_normal((3, N, 2) if per_channel else (N, 5))
    got = shift_correlate(to_xp(Y), to_xp(Z), offsets, grid=grid, stride=stride)
    np.testing.assert_allclose(to_host(got), brute_force_correlate(Y, Z, offsets, grid, stride),
                               rtol=1e-12, atol=1e-12)


def test_correlate_reference_path_matches_kernel(xp, to_xp, monkeypatch):
    """The array-API reference (arrays without a kernel) equals the kernel path."""
    from randla.kernels import _dispatch

    rng = np.random.default_rng(4)
    Y, Z = rng.standard_normal((2, 3, 3, 4)), rng.standard_normal((3, 63, 2))
    offsets = [(0, 1), (2, -1)]
    kernel = to_host(shift_correlate(to_xp(Y), to_xp(Z), offsets, grid=(7, 9), stride=2))
    monkeypatch.setattr(_dispatch, "host_views", lambda *a: None)
    monkeypatch.setattr(_dispatch, "cuda_arrays", lambda *a: False)
    ref = to_host(shift_correlate(to_xp(Y), to_xp(Z), offsets, grid=(7, 9), stride=2))
    np.testing.assert_allclose(ref, kernel, rtol=1e-12, atol=1e-12)


def test_sketch_grid_per_channel_probes(xp, to_xp):
    rng = np.random.default_rng(5)
    X, Z = rng.standard_normal((4, 3, 5, 2)), rng.standard_normal((3, 10, 2))
    got = to_host(sketch_grid(to_xp(X), to_xp(Z), grid_ndim=2))
    np.testing.assert_allclose(got, np.einsum("bcn,cnj->bcj", X.reshape(4, 3, 10), Z),
                               rtol=1e-12, atol=1e-12)


def test_from_sketch_groups_is_block_diagonal(xp, to_xp):
    rng = np.random.default_rng(6)
    Xbar, Ybar = rng.standard_normal((3, 4, 5)), rng.standard_normal((3, 6, 2, 5))
    full = np.einsum("bij,bokj->oik", Xbar, Ybar) / 5
    got = to_host(shift_trace_from_sketch(to_xp(Xbar), to_xp(Ybar), groups=2))
    assert got.shape == (6, 2, 2)
    np.testing.assert_allclose(got[:3], full[:3, :2], rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(got[3:], full[3:, 2:], rtol=1e-12, atol=1e-12)
    with pytest.raises(ValueError, match="groups=3"):
        shift_trace_from_sketch(to_xp(Xbar), to_xp(Ybar), groups=3)


def test_kernel_offsets_dilation():
    assert kernel_offsets(3, padding=2, dilation=2) == ((-2,), (0,), (2,))
    assert kernel_offsets((2, 2), padding=0, dilation=(1, 3)) == ((0, 0), (0, 3), (1, 0), (1, 3))
    with pytest.raises(ValueError, match="dilation"):
        kernel_offsets(3, dilation=0)


def test_errors_offsets_of_the_wrong_dimension_name_the_offsets():
    X, Y = _fields()                                # (2, 3, 4, 5) and (2, 1, 4, 5): 2-D grid
    for fn in (shift_trace_exact, lambda *a: shift_trace(*a, num_probes=2, rng=0)):
        with pytest.raises(ValueError, match="offsets have 3 entries"):
            fn(X, Y, [(0, 0, 1)])
    Z = draw_probes("gaussian", 20, 3, rng=0)
    with pytest.raises(ValueError, match="offsets"):
        shift_correlate(Y[0, 0], Z, [(0, 0, 1)])


def test_errors_strided_phases():
    Y = np.zeros((2, 3, 4))
    Z = draw_probes("gaussian", 63, 2, rng=0)
    with pytest.raises(ValueError, match="stride"):
        shift_correlate(Y, Z, [(0, 0)], grid=(7, 9), stride=(2,))
    with pytest.raises(ValueError, match="stride"):
        shift_correlate(Y, Z, [(0, 0)], grid=(7, 9), stride=0)
    with pytest.raises(ValueError, match="grid"):
        shift_correlate(Y, Z, [(0, 0)], grid=(7, 8))
    with pytest.raises(ValueError, match="probe sets"):
        shift_correlate(Y, np.zeros((3, 63, 2)), [(0, 0)], grid=(7, 9))
    with pytest.raises(ValueError, match="probe sets"):
        sketch_grid(np.zeros((2, 3, 10)), np.zeros((2, 10, 2)), grid_ndim=1)
