"""Accumulator-level checks on synthetic histories (every array backend).

The strategies are driven through the seam protocol with random histories
``U``, ``V`` and compared with the dense formula
``(s/r) diag(V^T Z Z^T D2 U)`` built from the strategy's own probes.
"""

import numpy as np
import pytest
from fwi_helpers import drive, effective_probes, fake_context, second_difference

from randla.backend import to_host
from randla.apps.fwi import OnTheFlyDFT, Probed
from randla.apps.wave import ISIC, CrossCorrelation, KSpaceFilter, kspace_filter
from randla.apps.fwi.accumulate import TimeMap

NT, SHAPE = 37, (5, 6)


def _histories(seed=0):
    rng = np.random.default_rng(seed)
    return rng.standard_normal((NT,) + SHAPE), rng.standard_normal((NT,) + SHAPE)


def _dense(U, V, Z, scale):
    """(scale / r) diag(V^T Z Z^T D2 U) on the grid."""
    W = np.tensordot(second_difference(NT), U, axes=1)
    ubar = np.tensordot(Z.T, W, axes=1)
    vbar = np.tensordot(Z.T, V, axes=1)
    return scale / Z.shape[1] * np.sum(ubar * vbar, axis=0)


@pytest.mark.parametrize("subsample", [1, 2, 3, 5])
@pytest.mark.parametrize("block", [1, 4])
def test_probed_equals_dense_formula(xp, device, subsample, block):
    U, V = _histories()
    ctx = fake_context(xp, device, nt=NT, shape=SHAPE)
    p = Probed(6, "rademacher", rng=3, subsample=subsample, block=block)
    g = to_host(drive(p, ctx, U, V))
    want = _dense(U, V, effective_probes(p, NT), ctx.imaging_scale)
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_exact_with_orthonormal_full_rank(xp, device):
    U, V = _histories(1)
    ctx = fake_context(xp, device, nt=NT, shape=SHAPE)
    g = to_host(drive(Probed(NT, "orthonormal", rng=0), ctx, U, V))
    want = _dense(U, V, np.sqrt(NT) * np.eye(NT), ctx.imaging_scale)
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_random_offset_average_is_exact():
    """Subsampling every k-th step with a uniformly random offset is unbiased:
    with r = (number of kept samples) orthonormal probes each offset gives the
    subsampled quadrature k sum_j v(t_j) (D2 u)(t_j) exactly, and the average
    over the k offsets is the full time sum."""
    import array_api_compat

    xp = array_api_compat.array_namespace(np.empty(0))
    U, V = _histories(2)
    ctx = fake_context(xp, "cpu", nt=NT, shape=SHAPE)
    k = 3
    total, seen = 0.0, set()
    seed = 0
    while len(seen) < k:
        offset = int(np.random.default_rng(seed).integers(0, k))  # the strategy's first draw
        if offset not in seen:
            seen.add(offset)
            rows = len(range(offset, NT, k))
            p = Probed(rows, "orthonormal", rng=seed, subsample=k)
            total = total + drive(p, ctx, U, V)
            assert p.offset == offset
        seed += 1
    want = _dense(U, V, np.sqrt(NT) * np.eye(NT), ctx.imaging_scale)
    np.testing.assert_allclose(total / k, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_dft_all_frequencies_exact(xp, device):
    U, V = _histories(3)
    dt = 2e-3
    ctx = fake_context(xp, device, nt=NT, shape=SHAPE, dt=dt)
    freqs = np.arange(NT // 2 + 1) / (NT * dt)
    p = OnTheFlyDFT(freqs)
    g = to_host(drive(p, ctx, U, V))
    assert p.num_probes == NT
    want = _dense(U, V, np.sqrt(NT) * np.eye(NT), ctx.imaging_scale)
    np.testing.assert_allclose(g, want, rtol=1e-10, atol=1e-10 * np.abs(want).max())


def test_isic_and_kspace_on_compressed_fields(xp, device):
    """Full-rank orthonormal probes reproduce ISIC and the filtered image
    evaluated on the full histories (spatial operators commute with probing)."""
    U, V = _histories(4)
    ctx = fake_context(xp, device, nt=NT, shape=SHAPE)
    W = np.tensordot(second_difference(NT), U, axes=1)
    full = {"d2": W, "id": U}
    host_ctx = fake_context(__import__("array_api_compat").array_namespace(np.empty(0)), "cpu",
                            nt=NT, shape=SHAPE)
    for imaging in (ISIC(), KSpaceFilter(), KSpaceFilter(ISIC(), power=1.0)):
        want = imaging.combine(full, {"id": V}, context=host_ctx)
        g = to_host(drive(Probed(NT, "orthonormal", rng=1, imaging=imaging), ctx, U, V))
        np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())
    cc = CrossCorrelation().combine(full, {"id": V}, context=host_ctx)
    np.testing.assert_allclose(KSpaceFilter().combine(full, {"id": V}, context=host_ctx),
                               kspace_filter(cc, spacing=host_ctx.spacing), rtol=1e-12)


def test_isic_probed_matches_dense(xp, device):
    """ISIC from r < nt probes with subsampling equals ISIC of the dense
    compressed fields built from the same effective probes."""
    U, V = _histories(5)
    ctx = fake_context(xp, device, nt=NT, shape=SHAPE)
    p = Probed(5, "gaussian", rng=7, subsample=2, imaging=ISIC(), block=3)
    g = to_host(drive(p, ctx, U, V))
    Z = effective_probes(p, NT)
    W = np.tensordot(second_difference(NT), U, axes=1)
    comp = {"d2": np.tensordot(Z.T, W, axes=1), "id": np.tensordot(Z.T, U, axes=1)}
    host_ctx = fake_context(__import__("array_api_compat").array_namespace(np.empty(0)), "cpu",
                            nt=NT, shape=SHAPE)
    want = ISIC().combine(comp, {"id": np.tensordot(Z.T, V, axes=1)}, context=host_ctx, weight=1 / 5)
    np.testing.assert_allclose(g, want, rtol=1e-9, atol=1e-9 * np.abs(want).max())


def test_memory_is_probes_times_points_plus_bookkeeping():
    """Cross-correlation holds r N (forward accumulator) + block N (row buffer)
    + N (image) + block * min(N, TILE) (scratch) values, plus the adjoint
    probe rows; ISIC holds 2 r N + r N accumulators instead."""
    import array_api_compat

    from randla.apps.fwi.accumulate import TILE

    xp = array_api_compat.array_namespace(np.empty(0))
    U, V = _histories(6)
    n = int(np.prod(SHAPE))
    item = 8
    for r, block, k in ((4, 4, 1), (8, 3, 2)):
        ctx = fake_context(xp, "cpu", nt=NT, shape=SHAPE)
        p = Probed(r, "rademacher", rng=0, block=block, subsample=k)
        drive(p, ctx, U, V)
        rows = len(range(p.offset, NT, k))
        want = item * (r * n + block * n + n + block * min(n, TILE) + rows * r)
        assert p.nbytes == want
    freqs = [10.0, 20.0, 30.0]
    p = OnTheFlyDFT(freqs, block=4)
    drive(p, fake_context(xp, "cpu", nt=NT, shape=SHAPE), U, V)
    ncols = 2 * len(freqs)
    assert p.nbytes == item * (ncols * n + 4 * n + n + 4 * min(n, TILE) + NT * ncols)
    p = Probed(4, "rademacher", rng=0, block=4, imaging=ISIC())
    drive(p, fake_context(xp, "cpu", nt=NT, shape=SHAPE), U, V)
    assert p.nbytes == item * (2 * 4 * n + 4 * n + 4 * n + 4 * NT)


def test_time_map_rows():
    tm = TimeMap.sampled(10, 3, 1, second_difference=True)
    dense = tm.as_matrix()
    d2 = second_difference(10)
    np.testing.assert_array_equal(dense, d2[[1, 4, 7]])
    with pytest.raises(ValueError, match="overlap"):
        TimeMap(5, [[(0, 1.0), (2, 1.0)], [(1, 1.0)]])
    with pytest.raises(ValueError, match="outside"):
        TimeMap(3, [[(3, 1.0)]])
