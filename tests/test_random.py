"""Probe draws: shapes, normalisation E[Z Z^T] = k I, reproducibility, errors."""

import math

import numpy as np
import pytest

from randla.backend import to_host
from randla.random import (
    PROBE_KINDS,
    as_generator,
    draw_probes,
    orthonormal,
    seed_from,
    sparse_sign,
    sparse_sign_indices,
    srft,
    srft_draw,
)


def test_as_generator_types():
    g = np.random.default_rng(3)
    assert as_generator(g) is g
    assert as_generator(5).integers(1000) == np.random.default_rng(5).integers(1000)
    assert isinstance(as_generator(None), np.random.Generator)
    with pytest.raises(TypeError, match="rng must be"):
        as_generator(np.random.RandomState(0))
    with pytest.raises(TypeError, match="rng must be"):
        as_generator(1.5)
    with pytest.raises(ValueError, match="non-negative"):
        as_generator(-1)


def test_global_state_untouched():
    np.random.seed(123)
    before = np.random.get_state()[1].copy()
    for kind in PROBE_KINDS:
        draw_probes(kind, 16, 4, rng=1)
    np.testing.assert_array_equal(np.random.get_state()[1], before)


@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_shape_dtype_device(kind, xp, device):
    z = draw_probes(kind, 12, 5, rng=0, xp=xp, dtype=xp.float32, device=device)
    assert z.shape == (12, 5) and z.dtype == xp.float32


@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_same_seed_same_probes_across_backends(kind, xp, device):
    ref = draw_probes(kind, 20, 6, rng=42)
    z = draw_probes(kind, 20, 6, rng=42, xp=xp, dtype=xp.float64, device=device)
    np.testing.assert_array_equal(to_host(z), ref)


@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_isotropic_normalisation(kind):
    """E[Z Z^T] = k I: the Monte Carlo mean of Z Z^T / k is within 6 standard
    errors of I entrywise (fourth moments of every kind are bounded by 3 n^2/k
    per entry for these n, k)."""
    n, k, reps = 8, 4, 4000
    rng = np.random.default_rng(7)
    acc = np.zeros((n, n))
    acc2 = np.zeros((n, n))
    for _ in range(reps):
        z = draw_probes(kind, n, k, rng=rng)
        m = z @ z.T / k
        acc += m
        acc2 += m * m
    mean = acc / reps
    sem = np.sqrt(np.maximum(acc2 / reps - mean**2, 1e-12) / reps)
    assert np.all(np.abs(mean - np.eye(n)) <= 6 * sem + 1e-12)


def test_orthonormal_and_srft_full_rank_are_exact():
    a = np.random.default_rng(0).standard_normal((9, 9))
    for draw in (orthonormal, srft):
        z = draw(9, 9, rng=3)
        assert math.isclose(np.trace(z.T @ a @ z) / 9, np.trace(a), rel_tol=1e-12, abs_tol=1e-12)


def test_sparse_sign_structure():
    cols, signs, scale = sparse_sign_indices(50, 10, nnz_per_row=3, rng=0)
    assert cols.shape == (50, 3) and np.all(np.diff(cols, axis=1) > 0)
    assert set(np.unique(signs)) <= {-1.0, 1.0}
    z = sparse_sign(50, 10, nnz_per_row=3, rng=0)
    assert np.allclose(np.abs(z[z != 0]), scale)


@pytest.mark.parametrize("bad", [0, -3])
def test_bad_sizes(bad):
    with pytest.raises(ValueError, match="num_probes must be >= 1"):
        draw_probes("gaussian", 5, bad, rng=0)
    with pytest.raises(ValueError, match="n must be >= 1"):
        draw_probes("gaussian", bad, 2, rng=0)


def test_bad_kind_and_too_many_orthonormal():
    with pytest.raises(ValueError, match="probe must be one of"):
        draw_probes("uniform", 5, 2, rng=0)
    with pytest.raises(ValueError, match="num_probes <= n"):
        orthonormal(3, 4, rng=0)
    with pytest.raises(TypeError, match="num_probes must be an integer"):
        draw_probes("gaussian", 5, 2.0, rng=0)


def test_native_draw_reproducible_torch(torch):
    from array_api_compat import array_namespace

    xt = array_namespace(torch.empty(0))
    for kind in ("gaussian", "rademacher", "sphere", "orthonormal"):
        a = draw_probes(kind, 10, 3, rng=5, xp=xt, dtype=torch.float64, device="cpu", native=True)
        b = draw_probes(kind, 10, 3, rng=5, xp=xt, dtype=torch.float64, device="cpu", native=True)
        assert torch.equal(a, b)


@pytest.mark.parametrize("shape", [(200, 10), (200, 100), (200, 150), (30, 30)])
def test_orthonormal_is_the_signed_householder_q(shape):
    """Both code paths (CholeskyQR2 for tall blocks, Householder otherwise)
    return Q of g = QR with diag(R) > 0, the Haar construction."""
    n, k = shape
    z = orthonormal(n, k, rng=11)
    g = np.random.default_rng(11).standard_normal((n, k))
    q, r = np.linalg.qr(g)
    q = q * np.sign(np.diag(r))
    np.testing.assert_allclose(z / math.sqrt(n), q, atol=1e-12)


def test_seed_from():
    assert seed_from(7) == seed_from(7)
    assert seed_from(7) != seed_from(8)
    g = np.random.default_rng(1)
    first, second = seed_from(g), seed_from(g)  # a Generator advances
    assert first != second and 0 <= first < 2**63 - 1
    with pytest.raises(ValueError, match="non-negative"):
        seed_from(-1)
    with pytest.raises(TypeError, match="rng must be"):
        seed_from("seed")


def test_srft_draw_is_the_random_part_of_srft():
    """srft(n, k) = sqrt(n) diag(signs) F[:, cols] with (signs, cols) = srft_draw(n, k)."""
    n, k = 9, 4
    signs, cols = srft_draw(n, k, rng=3)
    assert signs.shape == (n,) and set(np.unique(signs)) <= {-1.0, 1.0}
    assert cols.shape == (k,) and np.all(np.diff(cols) > 0) and cols.max() < n
    z = srft(n, k, rng=3)
    # the columns cols of the orthonormal real DFT basis, recovered from z
    basis = z * signs[:, None] / math.sqrt(n)
    np.testing.assert_allclose(basis.T @ basis, np.eye(k), atol=1e-12)
    x = np.arange(n)
    for j, c in enumerate(cols):
        if c == 0:
            expected = np.full(n, 1.0 / math.sqrt(n))
        else:
            trig = np.cos if c % 2 == 1 else np.sin
            expected = math.sqrt(2.0 / n) * trig(2 * math.pi * ((c + 1) // 2) * x / n)
        np.testing.assert_allclose(basis[:, j], expected, atol=1e-12)


def test_srft_draw_and_sparse_sign_errors_name_the_argument():
    with pytest.raises(ValueError, match="num_probes <= n"):
        srft_draw(4, 5, rng=0)
    with pytest.raises(TypeError, match="n must be an integer"):
        srft_draw(4.0, 2, rng=0)
    with pytest.raises(ValueError, match="nnz_per_row"):
        sparse_sign_indices(10, 4, nnz_per_row=5, rng=0)
    with pytest.raises(ValueError, match="nnz_per_row"):
        sparse_sign_indices(10, 4, nnz_per_row=0, rng=0)
    with pytest.raises(ValueError, match="num_probes must be >= 1"):
        sparse_sign(10, 0, rng=0)


# -- the probe-kind registry ---------------------------------------------------------


def test_registry_holds_the_core_kinds():
    from randla.random import PROBE_KINDS, probe_kind, probe_kinds

    assert set(PROBE_KINDS) <= set(probe_kinds())
    assert {"orthonormal", "srft"} <= set(probe_kinds(orthogonal=True))
    assert not {"gaussian", "rademacher", "sphere"} & set(probe_kinds(orthogonal=True))
    assert all(probe_kind(k).unbiased for k in PROBE_KINDS)


def test_registered_kind_draws_with_options_through_draw_probes():
    from randla.random import draw_probes, probe_kind, probe_kinds, register_probe_kind

    def scaled(n, num_probes, /, *, scale, rng, xp, dtype, device, native):
        return scale * draw_probes("rademacher", n, num_probes, rng=rng, xp=xp, dtype=dtype, device=device)

    register_probe_kind("scaled_test", scaled, unbiased=False, replace=True)
    Z = draw_probes("scaled_test", 6, 3, rng=4, scale=2.0)
    np.testing.assert_array_equal(Z, 2.0 * draw_probes("rademacher", 6, 3, rng=4))
    assert not probe_kind("scaled_test").unbiased
    assert "scaled_test" in probe_kinds(unbiased=False)
    with pytest.raises(ValueError, match="already registered"):
        register_probe_kind("scaled_test", scaled)


def test_registry_errors_name_the_argument():
    from randla.random import draw_probes, probe_kind, register_probe_kind

    with pytest.raises(ValueError, match="probe must be one of"):
        draw_probes("nope", 4, 2)
    with pytest.raises(ValueError, match="kind must be one of"):
        probe_kind("nope", argument="kind")
    with pytest.raises(ValueError, match="belongs to the core"):
        register_probe_kind("gaussian", lambda *a, **k: None, replace=True)
    with pytest.raises(TypeError, match="draw must be callable"):
        register_probe_kind("x_test", 3)
