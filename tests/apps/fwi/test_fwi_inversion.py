"""RTM and FWI drivers: descent, bounds, mask, logging, errors."""

import logging

import numpy as np
import pytest
from fwi_helpers import cosine

from randla.apps.fwi import Probed, fwi, rtm
from randla.apps.wave import ISIC, FullStorage, Geometry, forward, kspace_filter, layered_anomaly_model, smooth


@pytest.fixture(scope="module")
def problem():
    true = layered_anomaly_model((48, 36), spacing=10.0, nbl=10, anomaly=0.12, dtype=np.float64)
    geoms = [Geometry(true, src_positions=[[x, 20.0]],
                      rec_positions=[[r, 20.0] for r in np.linspace(0, 470, 24)], tn=0.4, f0=12.0,
                      dt=0.75 * true.critical_dt)
             for x in (80.0, 240.0, 400.0)]
    d_obs = [forward(true, g) for g in geoms]
    start = true.with_vp(smooth(true.vp, sigma=4.0))
    return true, start, geoms, d_obs


def test_fwi_decreases_objective_and_model_error(problem, caplog):
    true, start, geoms, d_obs = problem
    seen = []
    with caplog.at_level(logging.INFO, logger="randla.apps.fwi"):
        res = fwi(start, geoms, d_obs, maxiter=4, true_vp=true.vp, parallel="serial", progress=True,
                  callback=seen.append)
    assert res.history[0]["objective"] == pytest.approx(1.0)
    assert res.objective < 0.5
    assert res.model_error < res.history[0]["model_error"]
    assert 1 <= res.num_iterations <= 4 and len(seen) == len(res.history)
    assert "fwi iteration 1" in caplog.text


def test_fwi_probed_bounds_and_mask(problem):
    true, start, geoms, d_obs = problem
    mask = np.ones(true.shape, dtype=bool)
    mask[:, :6] = False
    vmin, vmax = 1400.0, 3200.0
    res = fwi(start, geoms, d_obs, history=Probed(16, "data_qr"), rng=0, maxiter=3, vmin=vmin, vmax=vmax,
              mask=mask, parallel="serial", progress=False)
    vp = np.asarray(res.vp)
    assert vp.min() >= vmin * (1 - 1e-6) and vp.max() <= vmax * (1 + 1e-6)
    np.testing.assert_allclose(vp[:, :6], np.asarray(start.vp)[:, :6], rtol=1e-6)
    assert res.objective < 1.0 and res.max_nbytes > 0


def test_fwi_errors(problem):
    true, start, geoms, d_obs = problem
    with pytest.raises(ValueError, match="unstable"):
        fwi(start, geoms, d_obs, vmax=9000.0, parallel="serial", progress=False)
    with pytest.raises(ValueError, match="vmin < vmax"):
        fwi(start, geoms, d_obs, vmin=3000.0, vmax=2000.0, parallel="serial", progress=False)
    with pytest.raises(ValueError, match="gradient"):
        fwi(start, geoms, d_obs, history=Probed(8, imaging=ISIC()), parallel="serial", progress=False)
    with pytest.raises(ValueError, match="gradient"):
        fwi(start, geoms, d_obs, history=lambda: FullStorage(imaging=ISIC()), parallel="serial", progress=False)
    with pytest.raises(ValueError, match="mask"):
        fwi(start, geoms, d_obs, mask=np.ones((3, 3), bool), parallel="serial", progress=False)
    with pytest.raises(ValueError, match="maxiter"):
        fwi(start, geoms, d_obs, maxiter=0, parallel="serial", progress=False)


def test_rtm_exact_vs_probed(problem):
    true, start, geoms, d_obs = problem
    smooth_bg = true.with_vp(smooth(true.vp, sigma=8.0))
    exact = rtm(smooth_bg, geoms, d_obs, parallel="serial")
    probed = rtm(smooth_bg, geoms, d_obs, history=Probed(32, "data_qr"), rng=0, parallel="serial")
    assert cosine(probed, exact) > 0.95
    filtered = rtm(smooth_bg, geoms, d_obs, laplacian=True, parallel="serial")
    np.testing.assert_allclose(filtered, kspace_filter(exact, spacing=true.spacing), rtol=1e-10,
                               atol=1e-10 * np.abs(filtered).max())
