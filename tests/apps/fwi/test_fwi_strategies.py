"""Probed and DFT strategies on the wave engine: exactness, unbiasedness, errors."""

import warnings

import numpy as np
import pytest
from fwi_helpers import second_difference, small_shot

from randla.apps.fwi import OnTheFlyDFT, Probed
from randla.apps.wave import ISIC, FullStorage, adjoint, forward, gradient, jacobian_adjoint


@pytest.fixture(scope="module")
def shot():
    return small_shot()


@pytest.fixture(scope="module")
def exact(shot):
    _, m0, geom, d_obs = shot
    return gradient(m0, geom, d_obs, history=FullStorage())[1]


def _rel(a, b):
    return float(np.linalg.norm(a - b) / np.linalg.norm(b))


def test_orthonormal_full_rank_is_exact(shot, exact):
    _, m0, geom, d_obs = shot
    _, g = gradient(m0, geom, d_obs, history=Probed(geom.nt, "orthonormal", rng=0))
    assert _rel(g, exact) < 1e-10


def test_data_qr_full_rank_is_exact(shot, exact):
    _, m0, geom, d_obs = shot
    _, g = gradient(m0, geom, d_obs, history=Probed(geom.nt, "data_qr", rng=0))
    assert _rel(g, exact) < 1e-10


def test_dft_all_frequencies_is_exact(shot, exact):
    _, m0, geom, d_obs = shot
    freqs = np.arange(geom.nt // 2 + 1) / (geom.nt * geom.dt)
    _, g = gradient(m0, geom, d_obs, history=OnTheFlyDFT(freqs))
    assert _rel(g, exact) < 1e-10


def test_data_qr_is_accurate_at_low_rank(shot, exact):
    """The low-variance claim: data_qr at r = nt/10 is far closer to the exact
    gradient than Rademacher probes of the same size (TimeProbeSeismic)."""
    _, m0, geom, d_obs = shot
    r = geom.nt // 10
    errs = {}
    for kind in ("data_qr", "rademacher"):
        p = Probed(r, kind, rng=1)
        errs[kind] = _rel(gradient(m0, geom, d_obs, history=p)[1], exact)
    assert errs["data_qr"] < 0.3 < errs["rademacher"]


def _hutchinson_variance(v, w, k, kind):
    """Variance of one probe's estimate z^T (v w^T) z per grid point, for the
    effective probe sqrt(k) S_o^T zc with a uniform offset o (k = 1: plain
    Hutchinson). For fixed o and A = v_o w_o^T (v_o = sqrt(k) v[o::k]):
    Gaussian Var = |v|^2 |w|^2 + (v.w)^2; Rademacher subtracts
    2 sum_i v_i^2 w_i^2. Law of total variance over o: the mean of the
    conditional variances (divided by r when r probes share o) plus the
    variance of the conditional means k sum_j v(t_j) w(t_j)."""
    cond_var, cond_mean = [], []
    for o in range(k):
        vo, wo = np.sqrt(k) * v[o::k], np.sqrt(k) * w[o::k]
        var = (vo**2).sum(0) * (wo**2).sum(0) + ((vo * wo).sum(0)) ** 2
        if kind == "rademacher":
            var -= 2 * (vo**2 * wo**2).sum(0)
        cond_var.append(var)
        cond_mean.append((vo * wo).sum(0))
    return np.mean(cond_var, axis=0), np.var(cond_mean, axis=0)


@pytest.mark.parametrize("kind,k", [("rademacher", 1), ("gaussian", 2)])
def test_probed_gradient_is_unbiased(shot, kind, k):
    """The average of M probed padded-grid images approaches the exact one
    within a tolerance derived from the estimator's variance: every grid
    point's z-score (mean - exact) / sigma stays below 5.5 (sigma^2 =
    s^2 (E_o[Var|o] / r + Var_o) / M, computed exactly from the saved
    histories), while a factor-2 error (e.g. a lost normalisation) is rejected by the same test."""
    _, m0, geom, d_obs = shot
    d, U = forward(m0, geom, save=True)
    _, V = adjoint(m0, geom, d - d_obs, save=True)
    W = np.tensordot(second_difference(geom.nt), U, axes=1)
    scale = -1.0 / geom.dt**2
    full = FullStorage()
    gradient(m0, geom, d_obs, history=full)
    g_exact = full.gradient()
    np.testing.assert_allclose(scale * np.sum(V * W, axis=0), g_exact, rtol=1e-9,
                               atol=1e-9 * np.abs(g_exact).max())
    r, M = 8, 40
    mean = 0.0
    rng = np.random.default_rng(123)
    for _ in range(M):
        p = Probed(r, kind, rng=rng, subsample=k)
        gradient(m0, geom, d_obs, history=p)
        mean = mean + p.gradient() / M
    e_var, var_mean = _hutchinson_variance(V, W, k, kind)
    sigma = np.abs(scale) * np.sqrt((e_var / r + var_mean) / M)
    live = sigma > 1e-12 * sigma.max()
    z = (mean - g_exact)[live] / sigma[live]
    assert np.max(np.abs(z)) < 5.5
    z_biased = (2.0 * mean - g_exact)[live] / sigma[live]
    assert np.max(np.abs(z_biased)) > 5.5


def test_same_probes_forward_and_adjoint_and_fresh_per_shot(shot):
    _, m0, geom, d_obs = shot
    p = Probed(6, "rademacher", rng=0)
    gradient(m0, geom, d_obs, history=p)
    first = p.probes.copy()
    gradient(m0, geom, d_obs, history=p)
    assert p.probes.shape == first.shape and not np.array_equal(p.probes, first)
    q = Probed(6, "rademacher", rng=0)
    gradient(m0, geom, d_obs, history=q)
    np.testing.assert_array_equal(q.probes, first)


def test_isic_runs_on_engine(shot):
    """ISIC with full-rank probes equals the image computed from the saved
    histories on the padded grid."""
    _, m0, geom, d_obs = shot
    d, U = forward(m0, geom, save=True)
    _, V = adjoint(m0, geom, d - d_obs, save=True)
    p = Probed(geom.nt, "orthonormal", rng=0, imaging=ISIC())
    gradient(m0, geom, d_obs, history=p)
    W = np.tensordot(second_difference(geom.nt), U, axes=1)
    want = ISIC().combine({"d2": W, "id": U}, {"id": V}, context=p.context)
    np.testing.assert_allclose(p.gradient(), want, rtol=1e-8, atol=1e-8 * np.abs(want).max())


# -- errors ------------------------------------------------------------------------


def test_constructor_errors():
    with pytest.raises(ValueError, match="num_probes"):
        Probed(0)
    with pytest.raises(TypeError, match="num_probes"):
        Probed(2.5)
    with pytest.raises(ValueError, match="probe"):
        Probed(4, "hadamard")
    with pytest.raises(ValueError, match="block"):
        Probed(4, block=0)
    with pytest.raises(ValueError, match="subsample"):
        Probed(4, subsample=0)
    with pytest.raises(ValueError, match="subsample"):
        Probed(4, subsample="nyquist")
    with pytest.raises(TypeError, match="imaging"):
        Probed(4, imaging="isic")
    with pytest.raises(ValueError, match=">= 0"):
        OnTheFlyDFT([-1.0, 5.0])
    with pytest.raises(ValueError, match="distinct"):
        OnTheFlyDFT([5.0, 5.0])
    with pytest.raises(ValueError, match="blas_threads"):
        Probed(4, blas_threads=0)


def test_setup_errors(shot):
    _, m0, geom, d_obs = shot
    with pytest.raises(ValueError, match="exceeds the number of time steps"):
        gradient(m0, geom, d_obs, history=Probed(geom.nt + 1, "rademacher"))
    with pytest.raises(ValueError, match="needs num_probes <="):
        gradient(m0, geom, d_obs, history=Probed(geom.nt // 2, "orthonormal", subsample=3))
    with pytest.raises(ValueError, match="Nyquist"):
        gradient(m0, geom, d_obs, history=OnTheFlyDFT([10.0, 1.0 / geom.dt]))
    with pytest.raises(ValueError, match="Nyquist"):
        gradient(m0, geom, d_obs, history=OnTheFlyDFT([0.45 / geom.dt], subsample=2))
    with pytest.raises(ValueError, match="d_obs is None"):
        jacobian_adjoint(m0, geom, d_obs, history=Probed(8, "data_qr"))
    with pytest.raises(ValueError, match="zero"):
        gradient(m0, geom, 0 * d_obs, history=Probed(8, "data_qr"))
    with pytest.raises(ValueError, match="even"):
        gradient(m0, geom, d_obs, history=Probed(7, "dft"))


def test_data_qr_probes_come_from_each_shots_data(shot):
    """One data_qr strategy object runs shots of other lengths and geometries:
    every setup builds its probes from that shot's record (context.d_obs)."""
    from randla.apps.fwi import data_qr_probes

    _, m0, geom, d_obs = shot
    _, _, longer, d_long = small_shot(tn=0.6, src_x=100.0)
    p = Probed(8, "data_qr", rng=0)
    gen = np.random.default_rng(0)     # the same stream: one draw of signs per shot
    for g, d in ((geom, d_obs), (longer, d_long)):
        gradient(m0, g, d, history=p)
        assert p.probes.shape == (g.nt, 8)
        np.testing.assert_array_equal(p.probes, data_qr_probes(d, 8, rng=gen))


def test_deprecated_kind_and_positional_rng(shot):
    _, m0, geom, d_obs = shot
    with pytest.warns(DeprecationWarning, match="probe="):
        old = Probed(6, kind="gaussian")
    assert old.probe == "gaussian"
    with pytest.warns(DeprecationWarning, match="Probed.probe"):
        assert old.kind == "gaussian"
    with pytest.warns(DeprecationWarning, match="rng"):
        positional = Probed(6, "gaussian", 3)
    gradient(m0, geom, d_obs, history=positional)
    keyword = Probed(6, "gaussian", rng=3)
    gradient(m0, geom, d_obs, history=keyword)
    np.testing.assert_array_equal(positional.probes, keyword.probes)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again = positional.spawn(rng=3)     # rebuilt from the normalised arguments
    gradient(m0, geom, d_obs, history=again)
    np.testing.assert_array_equal(again.probes, keyword.probes)
    with pytest.warns(DeprecationWarning, match="context"):
        assert keyword.bind(d_obs, geometry=geom) is keyword
    with pytest.raises(TypeError, match="kind"):
        Probed(6, "gaussian", kind="rademacher")
    with pytest.raises(TypeError, match="rng"):
        Probed(6, "gaussian", 3, rng=4)


def test_protocol_errors(shot):
    _, m0, geom, d_obs = shot
    p = Probed(4)
    with pytest.raises(RuntimeError, match="setup"):
        p.observe(0, np.zeros(m0.padded_shape))
    assert p.nbytes == 0


def test_engine_backends_probed_equals_exact(xp, device):
    """On every backend (the engine's array-API reference stepper for torch
    and array_api_strict) full-rank probes reproduce the exact gradient (full
    storage on the NumPy twin), and the Nyquist-subsampled data_qr gradient
    runs."""
    from randla.backend import to_host
    from randla.apps.wave import Geometry, layered_model

    model = layered_model((24, 18), spacing=10.0, nbl=4, dtype=xp.float64, xp=xp, device=device)
    geom = Geometry(model, src_positions=[[120.0, 20.0]],
                    rec_positions=[[x, 20.0] for x in range(0, 240, 20)], tn=0.12, f0=20.0)
    true = layered_model((24, 18), spacing=10.0, nbl=4, dtype=xp.float64, xp=xp, device=device,
                         velocities=(1500.0, 2100.0, 2600.0, 3000.0))
    d_obs = forward(true, geom)
    _, g_p = gradient(model, geom, d_obs, history=Probed(geom.nt, "orthonormal", rng=0))
    # reference: full storage on the NumPy twin of the problem
    model_np = layered_model((24, 18), spacing=10.0, nbl=4, dtype=np.float64)
    geom_np = Geometry(model_np, src_positions=[[120.0, 20.0]],
                       rec_positions=[[x, 20.0] for x in range(0, 240, 20)], tn=0.12, f0=20.0)
    _, g = gradient(model_np, geom_np, to_host(d_obs), history=FullStorage())
    g_p = to_host(g_p)
    np.testing.assert_allclose(g_p, g, rtol=1e-9, atol=1e-9 * np.abs(g).max())
    p = Probed(8, "data_qr", rng=0, subsample="auto")
    assert to_host(gradient(model, geom, d_obs, history=p)[1]).shape == (24, 18)


def test_gauss_newton_through_probed(shot):
    """The Born sweep drives the same seam: J^T J dm with full-rank probes
    equals full storage."""
    from randla.apps.wave import gauss_newton

    _, m0, geom, _ = shot
    dm = np.zeros(m0.shape)
    dm[25:35, 30:40] = 1e-8
    exact = gauss_newton(m0, geom, dm, history=FullStorage())
    probed = gauss_newton(m0, geom, dm, history=Probed(geom.nt, "orthonormal", rng=2))
    assert _rel(probed, exact) < 1e-10
