"""Radon transform: dot tests (matrix-free and assembled), line integrals of known images."""

import numpy as np
import pytest

from randla import dot_test
from randla.apps.dias import RadonTransform, radon_operator, shepp_logan, tomography_problem


@pytest.mark.parametrize("sparse", [False, True])
@pytest.mark.parametrize("shape", [(16, 16), (12, 20)])
def test_dot_test(sparse, shape):
    angles = np.linspace(0.0, np.pi, 7, endpoint=False) + 0.1
    R = radon_operator(shape, angles, sparse=sparse, samples_per_pixel=2)
    dot_test(R, rng=0, num_vectors=3, rtol=1e-12)


def test_matrix_free_equals_assembled():
    angles = np.linspace(0.0, np.pi, 5, endpoint=False)
    radon = RadonTransform((10, 10), angles)
    X = np.random.default_rng(0).standard_normal((100, 2))
    np.testing.assert_allclose(radon.matmat(X), radon.to_sparse() @ X, rtol=1e-12, atol=1e-12)


def test_disc_line_integrals():
    """A disc of radius 0.5: the chord at offset s has length 2 sqrt(0.25 - s^2) at every angle."""
    n = 128
    c = (np.arange(n) + 0.5) * (2.0 / n) - 1.0
    X, Y = np.meshgrid(c, -c)
    disc = (X**2 + Y**2 <= 0.25).astype(float)
    radon = RadonTransform((n, n), [0.0, 0.7, 2.0], samples_per_pixel=2)
    sino = radon.forward(disc)
    s = radon.detectors
    exact = 2 * np.sqrt(np.clip(0.25 - s**2, 0, None))
    inner = np.abs(s) < 0.4
    assert np.abs(sino[:, inner] - exact[inner]).max() < 3 * (2.0 / n)


def test_phantom_and_problem():
    P = shepp_logan(32)
    assert P.shape == (32, 32) and P.max() == pytest.approx(1.0) and P.min() == 0.0
    prob = tomography_problem(16, num_angles=8, rng=0)
    clean = prob.operator.matmat(prob.truth[:, None])[:, 0]
    rel = np.linalg.norm(prob.data - clean) / np.linalg.norm(clean)
    assert 0.5e-2 < rel < 1.5e-2  # 1% noise


def test_errors():
    with pytest.raises(ValueError, match="image_shape"):
        RadonTransform((4, 4, 4), [0.0])
    with pytest.raises(ValueError, match="angles"):
        RadonTransform((4, 4), [])
    with pytest.raises(ValueError, match="samples_per_pixel"):
        RadonTransform((4, 4), [0.0], samples_per_pixel=0)
