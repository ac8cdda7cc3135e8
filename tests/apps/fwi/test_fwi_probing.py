"""Probe matrices in time: normalisation, exact structure, errors."""

import numpy as np
import pytest
from fwi_helpers import second_difference

from randla.apps.fwi import (
    PROBE_KINDS,
    data_qr_probes,
    dft_basis,
    dft_probes,
    nyquist_subsample,
    second_difference_adjoint,
    time_probes,
)
from randla.apps.wave import ricker


def test_dft_probes_are_isotropic():
    """Random signs make every cos/sin pair's diagonal constant: diag(Z Z^T)
    equals r exactly for every draw, and the off-diagonal averages out."""
    n, r, draws = 30, 6, 400
    mean = np.zeros((n, n))
    for seed in range(draws):
        z = dft_probes(n, r, rng=seed)
        np.testing.assert_allclose(np.diag(z @ z.T), r, rtol=1e-12)
        mean += z @ z.T / draws
    # off-diagonal entries: mean of `draws` terms of variance <= (sum_k |z_ik z_jk|)^2 <= (2r)^2
    off = mean - np.diag(np.diag(mean))
    assert np.abs(off).max() < 5 * 2 * r / np.sqrt(draws)


@pytest.mark.parametrize("kind", ["rademacher", "gaussian", "orthonormal", "dft"])
def test_unbiased_kinds_second_moment(kind):
    """E[Z Z^T] = r I: the empirical mean over draws approaches r I within a
    5-sigma bound. Per draw, an entry (Z Z^T)_ij has variance at most 2r for
    Gaussian (r off the diagonal, 2r on it), Rademacher (r, 0) and Haar
    orthonormal columns (<= 2r), and at most r^2 for the DFT pairs (|entry|
    <= r), so sigma <= sqrt((r^2 + 2r) / draws)."""
    n, r, draws = 12, 4, 1500
    mean = np.zeros((n, n))
    rng = np.random.default_rng(5)
    for _ in range(draws):
        z = time_probes(kind, n, r, rng=rng)
        mean += z @ z.T / draws
    bound = 5 * np.sqrt((r * r + 2 * r) / draws)
    assert np.abs(mean - r * np.eye(n)).max() < bound


def test_data_qr_is_orthonormal_and_spans_the_data():
    rng = np.random.default_rng(0)
    n = 80
    d = rng.standard_normal((n, 3)) @ rng.standard_normal((3, 20))  # rank 3
    z = data_qr_probes(d, 3, rng=1)
    np.testing.assert_allclose(z.T @ z, 3 * np.eye(3), atol=1e-10)
    q = z / np.sqrt(3)
    np.testing.assert_allclose(q @ (q.T @ d), d, atol=1e-9 * np.abs(d).max())
    assert np.array_equal(data_qr_probes(d, 3, rng=1), z)


def test_second_difference_adjoint_matches_dense():
    z = np.random.default_rng(1).standard_normal((9, 3))
    np.testing.assert_allclose(second_difference_adjoint(z), second_difference(9).T @ z, atol=1e-14)


def test_dft_basis_orthonormal_and_partial():
    dt, n = 2e-3, 11
    t = dt * np.arange(n)
    b = dft_basis(np.arange(n // 2 + 1) / (n * dt), t)
    assert b.shape == (n, n)
    np.testing.assert_allclose(b.T @ b, np.eye(n), atol=1e-12)
    assert dft_basis([0.0, 25.0], t).shape == (n, 3)
    with pytest.raises(ValueError, match="Nyquist"):
        dft_basis([300.0], t)
    with pytest.raises(ValueError, match=">= 0"):
        dft_basis([-1.0], t)


def test_nyquist_subsample_of_a_ricker():
    """f0 = 10 Hz: the Ricker spectrum (f/f0)^2 exp(-(f/f0)^2) holds 1e-6 of
    its energy above ~32 Hz, so the stride keeps 1/(k dt) > 2 f_max."""
    dt = 1e-3
    t = np.arange(2000) * dt
    k = nyquist_subsample(ricker(t, f0=10.0), dt)
    assert 10 <= k <= 18
    spec = np.abs(np.fft.rfft(ricker(t, f0=10.0))) ** 2
    freqs = np.fft.rfftfreq(t.size, dt)
    # the energy above the half sampling rate of the product (1/(2 k dt) / ... ) is tiny
    assert spec[freqs >= 1.0 / (2 * k * dt)].sum() <= 1e-6 * spec.sum()
    assert nyquist_subsample(np.zeros(50), dt) == 1
    with pytest.raises(ValueError, match="dt"):
        nyquist_subsample(t, 0.0)


def test_time_kinds_live_in_the_one_registry():
    """fwi registers dft (unbiased, orthogonal) and data_qr (biased, orthogonal)
    in randla.random; PROBE_KINDS / ORTHOGONAL_KINDS derive from the registry
    and every kind draws through draw_probes."""
    from randla.apps.fwi.probing import ORTHOGONAL_KINDS
    from randla.random import draw_probes, probe_kind, probe_kinds

    assert {"data_qr", "dft", "gaussian", "orthonormal", "rademacher"} <= set(PROBE_KINDS) <= set(probe_kinds())
    assert set(ORTHOGONAL_KINDS) == set(PROBE_KINDS) & set(probe_kinds(orthogonal=True))
    assert (probe_kind("dft").unbiased, probe_kind("dft").orthogonal) == (True, True)
    assert (probe_kind("data_qr").unbiased, probe_kind("data_qr").orthogonal) == (False, True)
    assert "data_qr" in probe_kinds(unbiased=False)
    d = np.random.default_rng(2).standard_normal((30, 4))
    np.testing.assert_array_equal(time_probes("dft", 30, 6, rng=3), draw_probes("dft", 30, 6, rng=3))
    np.testing.assert_array_equal(time_probes("data_qr", 30, 5, rng=3, data=d),
                                  draw_probes("data_qr", 30, 5, rng=3, data=d))
    np.testing.assert_array_equal(data_qr_probes(d, 5, rng=3), draw_probes("data_qr", 30, 5, rng=3, data=d))
    for kind in PROBE_KINDS:
        if kind != "data_qr":
            assert time_probes(kind, 16, 4, rng=0).shape == (16, 4)


@pytest.mark.parametrize("kind", ["dft", "data_qr"])
def test_time_kinds_draw_on_every_backend(xp, device, kind):
    from randla.backend import to_host
    from randla.random import draw_probes

    d = np.random.default_rng(4).standard_normal((20, 3))
    options = {"data": d} if kind == "data_qr" else {}
    z = draw_probes(kind, 20, 4, rng=1, xp=xp, dtype=xp.float64, device=device, **options)
    assert z.shape == (20, 4) and z.dtype == xp.float64
    np.testing.assert_allclose(to_host(z), time_probes(kind, 20, 4, rng=1, **options), rtol=1e-15)


def test_probe_errors():
    with pytest.raises(ValueError, match="probe"):
        time_probes("hadamard", 10, 2)
    with pytest.raises(ValueError, match="num_probes"):
        time_probes("gaussian", 10, 0)
    with pytest.raises(TypeError, match="num_probes"):
        dft_probes(10, 2.0)
    with pytest.raises(ValueError, match="exceeds"):
        time_probes("gaussian", 10, 11)
    with pytest.raises(ValueError, match="even"):
        time_probes("dft", 10, 3)
    with pytest.raises(ValueError, match="data"):
        time_probes("data_qr", 10, 2)
    with pytest.raises(ValueError, match="time samples"):
        time_probes("data_qr", 10, 2, data=np.ones((9, 2)))
    with pytest.raises(ValueError, match="zero"):
        data_qr_probes(np.zeros((10, 2)), 2)
    with pytest.raises(ValueError, match="NaN"):
        data_qr_probes(np.full((10, 2), np.nan), 2)
    with pytest.raises(ValueError, match="2-D"):
        data_qr_probes(np.ones(10), 2)
    with pytest.raises(ValueError, match="num_probes <= 10"):
        data_qr_probes(np.ones((10, 2)), 11)
