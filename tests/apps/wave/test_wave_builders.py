"""Model builders and smoothing (apps/wave/builders.py)."""

import numpy as np
import pytest

from randla.apps.wave import layered_anomaly_model, layered_model, overthrust_model, smooth


def test_layered_model_interfaces():
    model = layered_model((10, 11), spacing=10.0, velocities=(1500.0, 2000.0, 3000.0),
                          interfaces=(25.0, 60.0), nbl=2, dtype=np.float64)
    col = np.asarray(model.vp)[3]
    assert col.tolist() == [1500.0] * 3 + [2000.0] * 3 + [3000.0] * 5
    assert np.all(np.asarray(model.vp) == col)  # horizontal layers
    with pytest.raises(ValueError, match="interfaces"):
        layered_model((10, 11), spacing=10.0, velocities=(1500.0, 2000.0), interfaces=(1.0, 2.0))
    with pytest.raises(ValueError, match="velocities"):
        layered_model((10, 11), spacing=10.0, velocities=(1500.0, -1.0))
    with pytest.raises(ValueError, match="shape"):
        layered_model((10,), spacing=10.0)


def test_layered_anomaly_model_perturbs_a_disc():
    base = layered_model((41, 31), spacing=10.0, velocities=(2000.0,), nbl=2, dtype=np.float64)
    model = layered_anomaly_model((41, 31), spacing=10.0, velocities=(2000.0,), anomaly=-0.1,
                                  center=(200.0, 150.0), radius=50.0, nbl=2, dtype=np.float64)
    diff = np.asarray(model.vp) != np.asarray(base.vp)
    x, z = np.meshgrid(np.arange(41) * 10.0, np.arange(31) * 10.0, indexing="ij")
    np.testing.assert_array_equal(diff, (x - 200.0) ** 2 + (z - 150.0) ** 2 <= 50.0 ** 2)
    assert float(np.asarray(model.vp)[20, 15]) == pytest.approx(1800.0)
    with pytest.raises(ValueError, match="anomaly"):
        layered_anomaly_model((41, 31), spacing=10.0, anomaly=-1.0)


def test_overthrust_model_is_deterministic_and_in_range():
    a = overthrust_model((40, 20), spacing=25.0, vmin=2000.0, vmax=5000.0, nbl=2)
    b = overthrust_model((40, 20), spacing=25.0, vmin=2000.0, vmax=5000.0, nbl=2)
    np.testing.assert_array_equal(np.asarray(a.vp), np.asarray(b.vp))
    assert 2000.0 <= float(a.vp.min()) < float(a.vp.max()) <= 5000.0
    assert overthrust_model((12, 10, 8), spacing=25.0, nbl=1).shape == (12, 10, 8)
    with pytest.raises(ValueError, match="vmin"):
        overthrust_model((40, 20), spacing=25.0, vmin=3000.0, vmax=2000.0)


def test_smooth_on_backends(xp, to_xp):
    rng = np.random.default_rng(0)
    x = rng.standard_normal((15, 12))
    y = np.asarray(smooth(to_xp(x), sigma=(1.5, 0.0)))
    np.testing.assert_array_equal(y[:, 3], np.asarray(smooth(to_xp(x[:, 3]), sigma=1.5)))
    # constants are preserved, the kernel is normalised
    np.testing.assert_allclose(np.asarray(smooth(to_xp(np.full((7, 5), 3.0)), sigma=2.0)), 3.0,
                               rtol=1e-14)
    # the interior of a smoothed spike is a Gaussian of variance sigma^2
    spike = np.zeros(41)
    spike[20] = 1.0
    s = np.asarray(smooth(to_xp(spike), sigma=2.0))
    var = float(np.sum(s * (np.arange(41) - 20.0) ** 2))
    assert var == pytest.approx(4.0, rel=0.02)
    with pytest.raises(ValueError, match="sigma"):
        smooth(to_xp(x), sigma=-1.0)
