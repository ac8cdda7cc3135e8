"""Diagonal estimators against exact diagonals of matrices with known spectra."""

from __future__ import annotations

import math

import numpy as np
import pytest

from randla import DiagonalEstimate, as_operator, diagonal_hutchinson, xdiag
from randla.backend import to_host
from randla.demo import matrix_with_spectrum


def _matrix(n, lam_fn, seed=0):
    return matrix_with_spectrum(lam_fn(np.arange(n, dtype=float)), rng=seed)


def test_exact_with_all_orthonormal_probes(xp, to_xp):
    # sum_j z_j z_j^T = n I for n orthonormal probes scaled by sqrt(n), so both
    # sum_j z_j * (A z_j) = n diag(A) and sum_j z_j * z_j = n exactly
    A = np.random.default_rng(0).standard_normal((30, 30))
    res = diagonal_hutchinson(to_xp(A), num_matvecs=30, probe="orthonormal", rng=1)
    assert isinstance(res, DiagonalEstimate) and res.num_matvecs == 30
    np.testing.assert_allclose(to_host(res.estimate), np.diag(A), rtol=1e-12, atol=1e-12)


def test_rademacher_exact_on_diagonal_matrix(xp, to_xp):
    # entry i has variance sum_{l != i} A_il^2 / m: zero for a diagonal matrix
    d = np.linspace(-2.0, 3.0, 20)
    res = diagonal_hutchinson(to_xp(np.diag(d)), num_matvecs=2, rng=0)
    np.testing.assert_allclose(to_host(res.estimate), d, rtol=1e-14)
    np.testing.assert_allclose(to_host(res.std_error), 0.0, atol=1e-14)


def test_xdiag_exact_on_low_rank(xp, to_xp):
    # rank 4 < k - 1 = 9: every leave-one-out basis spans range(A), so
    # diag(P_i A) = diag(A) and the residual term vanishes
    lam = np.zeros(40)
    lam[:4] = [3.0, 2.0, 1.0, 0.5]
    A = matrix_with_spectrum(lam, rng=2)
    res = xdiag(to_xp(A), num_matvecs=20, rng=0)
    assert res.num_matvecs == 20 and res.method == "xdiag"
    np.testing.assert_allclose(to_host(res.estimate), np.diag(A), atol=1e-12)
    assert float(np.max(to_host(res.std_error))) <= 1e-12


def test_xdiag_nonsymmetric_rank_deficient(xp, to_xp):
    rng = np.random.default_rng(3)
    A = rng.standard_normal((30, 3)) @ rng.standard_normal((3, 30))
    res = xdiag(to_xp(A), num_matvecs=12, rng=1)
    np.testing.assert_allclose(to_host(res.estimate), np.diag(A), atol=1e-10)


def test_float32_matches_float64(xp, to_xp):
    A = _matrix(40, lambda i: 0.7**i)
    for func in (diagonal_hutchinson, xdiag):
        r32 = func(to_xp(A.astype(np.float32)), num_matvecs=20, rng=4)
        r64 = func(to_xp(A), num_matvecs=20, rng=4)
        assert r32.estimate.dtype == xp.float32
        np.testing.assert_allclose(to_host(r32.estimate), to_host(r64.estimate), atol=1e-5)


REPS = 300


def test_diagonal_hutchinson_unbiased_known_variance():
    # Rademacher probes: entry i of one estimate z_i (A z)_i = A_ii + sum_{l != i}
    # A_il z_i z_l has variance sigma_i^2 = sum_{l != i} A_il^2. The mean of
    # REPS estimates with m probes each is within 5 sigma_i / sqrt(m REPS) of A_ii
    # for every i (n = 30 entries, 5 sigma: failure probability < 3e-5).
    A = _matrix(30, lambda i: np.linspace(-1.0, 2.0, 30)[i.astype(int)])
    m = 8
    sigma = np.sqrt(np.sum(A**2, axis=1) - np.diag(A) ** 2)
    res = [diagonal_hutchinson(A, num_matvecs=m, rng=r) for r in range(REPS)]
    est = np.array([r.estimate for r in res])
    se = np.array([r.std_error for r in res])
    assert np.all(np.abs(est.mean(axis=0) - np.diag(A)) <= 5 * sigma / math.sqrt(m * REPS))
    # std_error^2 is the unbiased sample variance over m: E[se_i^2] = sigma_i^2 / m;
    # its average over REPS has relative sd <= sqrt((2 + kurt) / ((m - 1) REPS))
    # ~ 0.03, so a 30% band is > 5 sd for every entry's summary below.
    ratio = np.mean(se**2, axis=0) / (sigma**2 / m)
    assert np.all(np.abs(ratio - 1) <= 0.3)


@pytest.mark.parametrize("func,probe", [(diagonal_hutchinson, "gaussian"),
                                        (diagonal_hutchinson, "sphere"),
                                        (xdiag, "rademacher"), (xdiag, "sphere")])
def test_unbiased_and_calibrated_empirically(func, probe):
    # Gaussian/sphere probes (ratio estimator) and XDiag have no simple closed
    # form: use the empirical sd s_i of REPS estimates. Unbiasedness: by the
    # CLT, |mean_i - A_ii| <= 5 s_i / sqrt(REPS) for all 30 entries (the ratio
    # estimator's O(1/m) bias is far below this for m = 12). Calibration: the
    # RMS of the reported std_error within a factor 2 of s_i, for the median entry
    # (XDiag's is a heuristic, see the DiagonalEstimate docs).
    A = _matrix(30, lambda i: 0.8**i, seed=5)
    res = [func(A, num_matvecs=12, probe=probe, rng=r) for r in range(REPS)]
    est = np.array([r.estimate for r in res])
    se = np.array([r.std_error for r in res])
    s = est.std(axis=0, ddof=1)
    assert np.all(np.abs(est.mean(axis=0) - np.diag(A)) <= 5 * s / math.sqrt(REPS))
    ratio = np.median(np.sqrt(np.mean(se**2, axis=0)) / s)
    assert 0.5 <= ratio <= 2.0


def test_xdiag_beats_hutchinson_on_decay():
    # 0.5^i decays fast: with 30 products XDiag captures the dominant part
    A = _matrix(60, lambda i: 0.5**i, seed=6)
    d = np.diag(A)
    err = {f.__name__: np.mean([np.linalg.norm(f(A, num_matvecs=30, rng=r).estimate - d)
                                for r in range(10)]) for f in (diagonal_hutchinson, xdiag)}
    assert err["xdiag"] < 1e-2 * err["diagonal_hutchinson"]


def test_same_seed_across_backends(xp, to_xp):
    A = _matrix(30, lambda i: 0.8**i)
    for func in (diagonal_hutchinson, xdiag):
        ref = func(A, num_matvecs=12, rng=9)
        got = func(to_xp(A), num_matvecs=12, rng=9)
        np.testing.assert_allclose(to_host(got.estimate), ref.estimate, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(to_host(got.std_error), ref.std_error, rtol=1e-8, atol=1e-14)
        np.testing.assert_array_equal(func(A, num_matvecs=12, rng=9).estimate, ref.estimate)


def test_matrix_free_and_adjoint():
    A = _matrix(20, lambda i: 0.5**i)
    sym = as_operator(lambda X: A @ X, shape=(20, 20), symmetric=True)
    res = xdiag(sym, num_matvecs=20, rng=0)
    np.testing.assert_allclose(res.estimate, xdiag(A, num_matvecs=20, rng=0).estimate)
    assert sym.num_matvecs == 20  # 10 with A, 10 with A^T = A
    no_adj = as_operator(lambda X: A @ X, shape=(20, 20))
    with pytest.raises(TypeError, match="needs products with A\\^T"):
        xdiag(no_adj, num_matvecs=8)
    assert diagonal_hutchinson(no_adj, num_matvecs=5, rng=0).num_matvecs == 5


def test_errors(xp, to_xp):
    with pytest.raises(ValueError, match="A must be a square"):
        diagonal_hutchinson(to_xp(np.ones((3, 2))), num_matvecs=2)
    with pytest.raises(ValueError, match="NaN"):
        xdiag(to_xp(np.full((3, 3), np.inf)), num_matvecs=4)
    if hasattr(xp, "int32"):
        with pytest.raises(TypeError, match="A must have dtype"):
            xdiag(xp.asarray(np.eye(3, dtype=np.int32)), num_matvecs=4)
    A = to_xp(np.eye(6))
    with pytest.raises(ValueError, match="num_matvecs must be >= 1"):
        diagonal_hutchinson(A, num_matvecs=0)
    with pytest.raises(ValueError, match="num_matvecs must be >= 4"):
        xdiag(A, num_matvecs=3)
    with pytest.raises(ValueError, match="num_matvecs must be <= 2n"):
        xdiag(A, num_matvecs=14)
    with pytest.raises(ValueError, match="probe must be one of"):
        xdiag(A, num_matvecs=4, probe="signs")
    assert diagonal_hutchinson(A, num_matvecs=1, rng=0).std_error is None
