"""Imaging conditions of the seam: spatial gradient, k-space filter, ISIC (array API)."""

import math

import numpy as np
import pytest

from randla.backend import to_host
from randla.apps.wave import ISIC, CrossCorrelation, ImagingCondition, KSpaceFilter, kspace_filter, spatial_gradient


def test_spatial_gradient_is_exact_on_quadratics(xp, device, to_xp):
    x = np.arange(7.0)[:, None] * 2.0
    z = np.arange(5.0)[None, :] * 3.0
    f = 2 * x + x * x + 0.5 * z  # centred differences are exact for quadratics inside
    gx, gz = spatial_gradient(to_xp(np.stack([f, -f])), spacing=(2.0, 3.0))
    gx, gz = to_host(gx), to_host(gz)
    np.testing.assert_allclose(gx[0, 1:-1], (2 + 2 * x * np.ones_like(z))[1:-1], atol=1e-12)
    np.testing.assert_allclose(gz[0], 0.5 / 3.0 * 3.0 * np.ones_like(f), atol=1e-12)
    np.testing.assert_allclose(gx[1], -gx[0])


def test_kspace_filter_is_minus_laplacian_on_cosines(xp, device, to_xp):
    n0, n1, h = 16, 12, (5.0, 2.0)
    i, j = np.meshgrid(np.arange(n0), np.arange(n1), indexing="ij")
    k0, k1 = 2 * math.pi * 3 / (n0 * h[0]), 2 * math.pi * 2 / (n1 * h[1])
    f = np.cos(k0 * i * h[0]) * np.cos(k1 * j * h[1])
    out = to_host(kspace_filter(to_xp(f), spacing=h))
    np.testing.assert_allclose(out, (k0**2 + k1**2) * f, atol=1e-10)
    half = to_host(kspace_filter(to_xp(f), spacing=h, power=1.0))
    np.testing.assert_allclose(half, math.sqrt(k0**2 + k1**2) * f, atol=1e-10)
    with pytest.raises(ValueError, match="power"):
        kspace_filter(to_xp(f), spacing=h, power=0.0)


def test_isic_cancels_same_direction_plane_waves():
    """For u = v = a plane wave with m omega^2 = |k|^2 (transmission), the
    time-derivative and the spatial-gradient correlations cancel; for a
    reflected adjoint wave (k_z flipped, angle theta to the reflector) the
    image is (1 - cos(2 theta)) times the cross-correlation (the
    (m omega^2 - k.k') / (m omega^2) obliquity factor)."""
    from types import SimpleNamespace

    dt, h, nt = 1e-4, (2.0, 2.0), 400
    vel, f = 2000.0, 25.0
    omega = 2 * math.pi * f
    kx, kz = omega / vel * math.cos(0.4), omega / vel * math.sin(0.4)
    x, z = np.meshgrid(np.arange(30) * h[0], np.arange(30) * h[1], indexing="ij")
    t = dt * np.arange(nt)[:, None, None]
    u = np.cos(kx * x + kz * z - omega * t)
    v_trans = u.copy()
    v_refl = np.cos(kx * x - kz * z - omega * t)
    d2 = u - 2 * np.roll(u, 1, 0) + np.roll(u, 2, 0)
    d2[:2] = 0.0
    m = np.full(x.shape, 1.0 / vel**2)
    ctx = SimpleNamespace(imaging_scale=-1 / dt**2, spacing=h, model=SimpleNamespace(m=m, pad=lambda a: a))
    inner = (slice(2, -2), slice(2, -2))
    cc = CrossCorrelation().combine({"d2": d2}, {"id": v_trans}, context=ctx)[inner]
    trans = ISIC().combine({"d2": d2, "id": u}, {"id": v_trans}, context=ctx)[inner]
    refl = ISIC().combine({"d2": d2, "id": u}, {"id": v_refl}, context=ctx)[inner]
    cc_refl = CrossCorrelation().combine({"d2": d2}, {"id": v_refl}, context=ctx)[inner]
    assert np.abs(trans).max() < 0.02 * np.abs(cc).max()
    np.testing.assert_allclose(refl, (1 - math.cos(0.8)) * cc_refl, atol=0.02 * np.abs(cc_refl).max())


def test_imaging_errors():
    with pytest.raises(TypeError, match="base"):
        KSpaceFilter("laplacian")
    with pytest.raises(ValueError, match="power"):
        KSpaceFilter(power=-1.0)
    with pytest.raises(ValueError, match="spacing"):
        spatial_gradient(np.zeros((4, 4)), spacing=(1.0, 0.0))
    with pytest.raises(ValueError, match="points"):
        spatial_gradient(np.zeros((1, 4)), spacing=(1.0, 1.0))
    assert repr(KSpaceFilter(ISIC())) == "KSpaceFilter(ISIC(), power=2)"


def test_fwi_reexports_the_same_objects():
    import randla.apps.fwi as fwi
    import randla.apps.wave as wave

    for name in ("CrossCorrelation", "ISIC", "ImagingCondition", "KSpaceFilter", "kspace_filter",
                 "spatial_gradient"):
        assert getattr(fwi, name) is getattr(wave, name)


def test_check_imaging_channels():
    from randla.apps.wave.imaging import check_imaging

    class Velocity(ImagingCondition):
        forward_channels = ("dt",)

    class Twice(ImagingCondition):
        adjoint_channels = ("d2",)

    assert isinstance(check_imaging(None), CrossCorrelation)
    with pytest.raises(ValueError, match="forward channels"):
        check_imaging(Velocity())
    with pytest.raises(ValueError, match="adjoint channels"):
        check_imaging(Twice())
    assert CrossCorrelation().is_gradient and not ISIC().is_gradient and not KSpaceFilter().is_gradient
