"""Multi-shot objective: Taylor test, serial vs Dask, strategy templates, errors."""

import numpy as np
import pytest
from fwi_helpers import small_shot

from randla.apps.fwi import OnTheFlyDFT, Probed, make_strategy, objective, shot_objective, shot_seeds
from randla.apps.wave import Checkpointing, FullStorage, Geometry, forward, gradient


@pytest.fixture(scope="module")
def shots():
    model, m0, geom, _ = small_shot(shape=(50, 40), tn=0.35)
    extent = 490.0
    geoms = [Geometry(model, src_positions=[[x, 20.0]],
                      rec_positions=[[r, 20.0] for r in np.linspace(0, extent, 25)], tn=0.35, f0=12.0,
                      dt=0.8 * model.critical_dt)
             for x in (100.0, 250.0, 400.0)]
    return model, m0, geoms, [forward(model, g) for g in geoms]


def test_taylor_multi_shot_exact(shots):
    """f(m + h dm) - f(m) - h <g, dm> = O(h^2) with the exact strategy: the
    first-order residual drops ~4x when h halves, the zeroth-order ~2x."""
    _, m0, geoms, d_obs = shots
    f0, g = objective(m0, geoms, d_obs, history=FullStorage(), parallel="serial")
    rng = np.random.default_rng(0)
    dm = rng.standard_normal(m0.shape) * 0.02 * float(np.abs(m0.m).max())
    slope = float(np.sum(g * dm))
    err0, err1 = [], []
    for h in (1.0, 0.5, 0.25):
        fh, _ = objective(m0.with_m(m0.m + h * dm), geoms, d_obs, parallel="serial")
        err0.append(abs(fh - f0))
        err1.append(abs(fh - f0 - h * slope))
    rates0 = np.log2(np.array(err0[:-1]) / np.array(err0[1:]))
    rates1 = np.log2(np.array(err1[:-1]) / np.array(err1[1:]))
    assert np.all(np.abs(rates0 - 1) < 0.2)
    assert np.all(np.abs(rates1 - 2) < 0.2)


def test_objective_is_sum_of_shots(shots):
    _, m0, geoms, d_obs = shots
    f, g, info = objective(m0, geoms, d_obs, history=Checkpointing(4), parallel="serial", return_info=True)
    parts = [shot_objective(m0, gm, d) for gm, d in zip(geoms, d_obs)]
    assert f == pytest.approx(sum(p[0] for p in parts), rel=1e-12)
    np.testing.assert_allclose(g, sum(p[1] for p in parts), rtol=1e-10, atol=1e-12 * np.abs(g).max())
    assert info.num_shots == 3 and len(info.nbytes) == 3 and info.max_nbytes > 0
    assert info.misfits == pytest.approx([p[0] for p in parts], rel=1e-12)


def test_serial_and_dask_identical(shots):
    distributed = pytest.importorskip("distributed")
    _, m0, geoms, d_obs = shots
    template = Probed(12, "data_qr", subsample="auto")
    f_s, g_s = objective(m0, geoms, d_obs, history=template, rng=7, parallel="serial")
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  dashboard_address=None) as cluster, distributed.Client(cluster) as client:
        f_d, g_d = objective(m0, geoms, d_obs, history=template, rng=7, parallel=client, progress=True)
        f_a, g_a = objective(m0, geoms, d_obs, history=template, rng=7, parallel=cluster.scheduler_address)
    assert f_s == f_d == f_a
    assert np.array_equal(g_s, g_d) and np.array_equal(g_s, g_a)


def test_seeds_are_per_shot_and_deterministic(shots):
    _, m0, geoms, d_obs = shots
    a = objective(m0, geoms, d_obs, history=Probed(8), rng=3, parallel="serial")[1]
    b = objective(m0, geoms, d_obs, history=Probed(8), rng=3, parallel="serial")[1]
    c = objective(m0, geoms, d_obs, history=Probed(8), rng=4, parallel="serial")[1]
    assert np.array_equal(a, b) and not np.array_equal(a, c)
    # shot i's probes come from seed shot_seeds(rng, n)[i] alone (scheduling independent)
    total = 0.0
    for geom, d, seed in zip(geoms, d_obs, shot_seeds(3, len(geoms))):
        strategy = make_strategy(Probed(8), rng=seed)
        total = total + gradient(m0, geom, d, history=strategy)[1]
    np.testing.assert_allclose(a, total, rtol=1e-6, atol=1e-6 * np.abs(a).max())


def test_make_strategy_templates():
    assert isinstance(make_strategy(None), FullStorage)
    ck = make_strategy(Checkpointing(3))
    assert isinstance(ck, Checkpointing) and ck.num_snapshots == 3
    p = Probed(4, "gaussian", subsample=2, block=3)
    q = make_strategy(p, rng=1)
    assert q is not p and (q.probe, q.subsample, q.block) == ("gaussian", 2, 3)
    d = make_strategy(OnTheFlyDFT([5.0, 10.0]))
    assert list(d.frequencies) == [5.0, 10.0]
    assert isinstance(make_strategy(lambda: Checkpointing(2)), Checkpointing)
    used = Checkpointing(2)
    used.context = object()       # a strategy that has run spawns a fresh copy
    fresh = make_strategy(used)
    assert fresh is not used and fresh.context is None and fresh.num_snapshots == 2
    with pytest.raises(TypeError, match="factory"):
        make_strategy(lambda: 3)
    with pytest.raises(TypeError, match="history"):
        make_strategy("full")


def test_objective_errors(shots):
    _, m0, geoms, d_obs = shots
    with pytest.raises(ValueError, match="one record per shot"):
        objective(m0, geoms, d_obs[:2], parallel="serial")
    with pytest.raises(ValueError, match="at least one"):
        objective(m0, [], [], parallel="serial")
    with pytest.raises(ValueError, match=r"d_obs\[1\] has shape"):
        objective(m0, geoms, [d_obs[0], d_obs[1][:-1], d_obs[2]], parallel="serial")
    with pytest.raises(TypeError, match="sequence of Geometry"):
        objective(m0, geoms[0], d_obs, parallel="serial")
    with pytest.raises(ValueError, match="has shape"):
        shot_objective(m0, geoms[0], d_obs[0].T)
    with pytest.raises(TypeError, match="parallel"):
        objective(m0, geoms, d_obs, parallel=3.5)
