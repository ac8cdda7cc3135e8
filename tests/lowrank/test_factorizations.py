"""rsvd, nystrom and rqr against matrices with known spectra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse as sp

from randla import as_operator, nystrom, rqr, rsvd
from randla.backend import to_host
from randla.lowrank._dense import cpqr_pivots

from lowrank_helpers import haar, hmt_power_bound, host, known_matrix, psd_matrix

# -- rsvd -------------------------------------------------------------------------


def _check_svd_factors(U, S, Vh, m, n, k, tol):
    U, S, Vh = host(U), host(S), host(Vh)
    assert U.shape == (m, k) and S.shape == (k,) and Vh.shape == (k, n)
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=tol)
    np.testing.assert_allclose(Vh @ Vh.T, np.eye(k), atol=tol)
    assert np.all(np.diff(S) <= 0) and np.all(S >= 0)
    return U, S, Vh


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rsvd_exact_rank(xp, to_xp, dtype):
    sigma = np.array([5.0, 3, 2, 1, 0.5, 0.1])
    A = known_matrix(50, 40, sigma, seed=1)
    U, S, Vh = rsvd(to_xp(A.astype(dtype)), 6, oversample=2, rng=0)
    assert S.dtype == (xp.float32 if dtype == np.float32 else xp.float64)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    U, S, Vh = _check_svd_factors(U, S, Vh, 50, 40, 6, tol)
    np.testing.assert_allclose(S, sigma, rtol=tol * 100)
    assert np.linalg.norm(A - (U * S) @ Vh, 2) <= tol * 100 * sigma[0]


@pytest.mark.parametrize("power_iters", [0, 2])
def test_rsvd_hmt_average_error_bound(xp, to_xp, power_iters):
    # E||A - U S Vh||_2 <= sigma_{k+1} + E||(I - QQ^T) A||_2 (HMT Sec. 9.4 and
    # Cor. 10.10), checked on the mean over 6 seeds; and S_i <= sigma_i always
    # (singular values of the compression Q^T A interlace those of A).
    sigma = 1.0 / np.arange(1, 81)
    A = known_matrix(100, 80, sigma, seed=2)
    k, p = 10, 5
    errors = []
    for seed in range(6):
        U, S, Vh = _check_svd_factors(
            *rsvd(to_xp(A), k, oversample=p, power_iters=power_iters, rng=seed), 100, 80, k, 1e-12)
        errors.append(np.linalg.norm(A - (U * S) @ Vh, 2))
        assert np.all(S <= sigma[:k] * (1 + 1e-12))
    assert np.mean(errors) <= sigma[k] + hmt_power_bound(sigma, k, p, power_iters)
    assert min(errors) >= sigma[k] * (1 - 1e-12)


@pytest.mark.parametrize("normalizer", ["lu", "qr", "none"])
def test_rsvd_same_seed_across_backends(xp, to_xp, normalizer):
    # "identical" = equal to rounding (well separated spectrum, so singular
    # vectors are well conditioned): same host-drawn test matrix, signs fixed
    # by the largest entry of each column of U.
    A = known_matrix(60, 45, 0.7 ** np.arange(45), seed=3)
    ref = rsvd(A, 5, oversample=5, normalizer=normalizer, rng=11)
    got = rsvd(to_xp(A), 5, oversample=5, normalizer=normalizer, rng=11)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(host(g), r, atol=1e-10)


def test_rsvd_operator_inputs_and_counts():
    A = known_matrix(40, 30, 0.6 ** np.arange(30), seed=4)
    ref = rsvd(A, 4, oversample=3, power_iters=1, rng=5)
    op = as_operator(lambda X: A @ X, shape=A.shape, rmatmat=lambda Y: A.T @ Y)
    for a in (sp.csc_matrix(A), op):
        for r, g in zip(ref, rsvd(a, 4, oversample=3, power_iters=1, rng=5)):
            np.testing.assert_allclose(g, r, atol=1e-12)
    # (q + 1) products with A, (q + 1) with A^T, l = 7 columns each
    assert (op.num_matvecs, op.num_rmatvecs) == (14, 14)
    with pytest.raises(TypeError, match="rsvd needs the adjoint"):
        rsvd(as_operator(lambda X: A @ X, shape=A.shape), 4)


def test_wide_matrices(xp, to_xp):
    sigma = np.array([4.0, 2, 1, 0.5, 0.25])
    A = known_matrix(30, 70, sigma, seed=12)  # m < n
    U, S, Vh = _check_svd_factors(*rsvd(to_xp(A), 5, rng=0), 30, 70, 5, 1e-12)
    np.testing.assert_allclose((U * S) @ Vh, A, atol=1e-12)
    Q, R, perm = _check_qr_factors(A, *rqr(to_xp(A), 5, rng=0), 5)
    np.testing.assert_allclose(Q @ R, A[:, perm], atol=1e-12)


def test_rsvd_zero_matrix(xp, to_xp):
    U, S, Vh = rsvd(to_xp(np.zeros((20, 15))), 3, rng=0)
    _check_svd_factors(U, S, Vh, 20, 15, 3, 1e-12)
    assert np.all(host(S) == 0)


def test_rsvd_errors(xp, to_xp):
    A = to_xp(known_matrix(12, 10, np.ones(10)))
    for bad in (0, 11):
        with pytest.raises(ValueError, match="rank must satisfy"):
            rsvd(A, bad)
    with pytest.raises(ValueError, match="oversample must be >= 0"):
        rsvd(A, 2, oversample=-2)
    with pytest.raises(ValueError, match="power_iters must be >= 0"):
        rsvd(A, 2, power_iters=-1)
    with pytest.raises(TypeError, match="power_iters must be an integer"):
        rsvd(A, 2, power_iters=1.5)
    with pytest.raises(ValueError, match="normalizer must be one of"):
        rsvd(A, 2, normalizer="LU")
    with pytest.raises(TypeError, match="A must have dtype"):
        rsvd(xp.asarray(np.ones((5, 4), dtype=np.int32)), 2)
    if hasattr(xp, "complex128"):
        with pytest.raises(TypeError, match="complex"):
            rsvd(xp.asarray(np.ones((5, 4), dtype=np.complex128)), 2)
    bad = known_matrix(12, 10, np.ones(10))
    bad[0, 0] = -np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        rsvd(to_xp(bad), 2)


# -- nystrom ----------------------------------------------------------------------


def test_nystrom_exact_rank(xp, to_xp):
    lam = np.array([4.0, 2, 1, 0.5, 0.1])
    A = psd_matrix(40, lam, seed=1)
    U, ev = nystrom(to_xp(A), 5, oversample=3, rng=0)
    U, ev = host(U), host(ev)
    np.testing.assert_allclose(U.T @ U, np.eye(5), atol=1e-12)
    # the shift nu = sqrt(n) eps ||Y||_F perturbs the result by O(nu)
    np.testing.assert_allclose(ev, lam, rtol=1e-10)
    np.testing.assert_allclose((U * ev) @ U.T, A, atol=1e-10)


def test_nystrom_trace_norm_bounds(xp, to_xp):
    # Untruncated Nystrom with l columns: A - A_nys = A^(1/2) (I - P) A^(1/2)
    # is PSD and E tr(A - A_nys) <= min_rho (1 + rho/(l - rho - 1)) sum_{j>rho}
    # lam_j (HMT Thm. 10.5 applied to A^(1/2)). Truncated to rank r (Tropp et
    # al. 2017, Thm. 4.1): E||A - [[A_nys]]_r||_* <= (1 + r/(l - r - 1))
    # ||A - [[A]]_r||_*. Eigenvalues never exceed A's (0 <= A_nys <= A).
    lam = 1.0 / np.arange(1, 81)
    A = psd_matrix(80, lam, seed=2)
    l, r = 15, 5
    full, trunc = [], []
    for seed in range(8):
        U, ev = (host(x) for x in nystrom(to_xp(A), l, oversample=0, rng=seed))
        full.append(np.trace(A - (U * ev) @ U.T))
        assert np.all(ev <= lam[:l] * (1 + 1e-10))
        U, ev = (host(x) for x in nystrom(to_xp(A), r, oversample=l - r, rng=seed))
        resid = A - (U * ev) @ U.T
        trunc.append(np.sum(np.abs(np.linalg.eigvalsh(resid))))
        assert np.linalg.norm(resid, 2) >= lam[r] * (1 - 1e-10)  # best rank-r PSD error
    bound_full = min((1 + rho / (l - rho - 1)) * lam[rho:].sum() for rho in range(l - 1))
    assert np.mean(full) <= bound_full
    assert np.mean(trunc) <= (1 + r / (l - r - 1)) * lam[r:].sum()


def test_nystrom_same_seed_and_matrix_free(xp, to_xp):
    A = psd_matrix(50, 0.6 ** np.arange(50), seed=3)
    ref = nystrom(A, 6, rng=4)
    got = nystrom(to_xp(A), 6, rng=4)
    for r, g in zip(ref, got):
        np.testing.assert_allclose(host(g), r, atol=1e-10)
    # only products with A are needed: a forward-only callable works
    op = as_operator(lambda X: A @ X, shape=A.shape)
    for r, g in zip(ref, nystrom(op, 6, rng=4)):
        np.testing.assert_allclose(g, r, atol=1e-12)
    assert (op.num_matvecs, op.num_rmatvecs) == (16, 0)


def test_nystrom_errors(xp, to_xp):
    with pytest.raises(ValueError, match="A must be a square matrix"):
        nystrom(to_xp(np.ones((5, 4))), 2)
    A = to_xp(np.eye(6))
    with pytest.raises(ValueError, match="rank must satisfy"):
        nystrom(A, 7)
    with pytest.raises(ValueError, match="oversample must be >= 0"):
        nystrom(A, 2, oversample=-1)
    bad = np.eye(6)
    bad[2, 3] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        nystrom(to_xp(bad), 2)


# -- rqr --------------------------------------------------------------------------


def _check_qr_factors(A, Q, R, perm, k):
    Q, R, perm = host(Q), host(R), np.asarray(to_host(perm))
    m, n = A.shape
    assert Q.shape == (m, k) and R.shape == (k, n) and perm.shape == (n,)
    assert np.array_equal(np.sort(perm), np.arange(n))
    np.testing.assert_allclose(Q.T @ Q, np.eye(k), atol=1e-12)
    assert np.all(np.tril(R[:, :k], -1) == 0) and np.all(np.diag(R) >= 0)
    # R is Q^T A[:, perm]: Q R is the projection of A[:, perm] onto range(Q)
    np.testing.assert_allclose(R, Q.T @ A[:, perm], atol=1e-12 * np.abs(A).max())
    return Q, R, perm


def test_rqr_exact_rank(xp, to_xp):
    A = known_matrix(50, 40, np.array([5.0, 3, 2, 1, 0.5, 0.1]), seed=5)
    Q, R, perm = _check_qr_factors(A, *rqr(to_xp(A), 6, rng=0), 6)
    np.testing.assert_allclose(Q @ R, A[:, perm], atol=1e-12)


def test_rqr_recovers_well_separated_pivots(xp, to_xp):
    rng = np.random.default_rng(6)
    m, n, k = 60, 50, 5
    A = 1e-3 * rng.standard_normal((m, n))
    strong = rng.choice(n, k, replace=False)
    A[:, strong] = haar(m, k, rng) * np.array([10.0, 8, 6, 4, 3])
    for seed in range(4):
        Q, R, perm = _check_qr_factors(A, *rqr(to_xp(A), k, oversample=5, rng=seed), k)
        assert set(perm[:k].tolist()) == set(strong.tolist())


def test_rqr_quality_matches_deterministic_cpqr(xp, to_xp):
    # Randomized pivots are CPQR pivots of a sketch whose column geometry
    # mimics A's (Duersch & Gu 2017): the residual stays within a small factor
    # of LAPACK's deterministic CPQR on A, and above sigma_{k+1}.
    sigma = 1.0 / np.arange(1, 61) ** 2
    A = known_matrix(80, 60, sigma, seed=7)
    k = 10
    _, _, piv = scipy.linalg.qr(A, pivoting=True)
    Qd, _ = np.linalg.qr(A[:, piv[:k]])
    det = np.linalg.norm(A - Qd @ (Qd.T @ A), 2)
    for seed in range(4):
        Q, R, perm = _check_qr_factors(A, *rqr(to_xp(A), k, rng=seed), k)
        err = np.linalg.norm(A[:, perm] - Q @ R, 2)
        assert sigma[k] * (1 - 1e-12) <= err <= 2.0 * det


def test_rqr_same_seed_across_backends(xp, to_xp):
    # the same pivots exactly (geqp3 on NumPy, the array-API pivoted
    # Gram-Schmidt elsewhere), and Q, R equal to rounding
    A = known_matrix(40, 35, 0.8 ** np.arange(35), seed=8)
    Q0, R0, p0 = rqr(A, 7, rng=9)
    Q, R, p = rqr(to_xp(A), 7, rng=9)
    assert np.array_equal(np.asarray(to_host(p)), p0)
    np.testing.assert_allclose(host(Q), Q0, atol=1e-10)
    np.testing.assert_allclose(host(R), R0, atol=1e-10)


def test_cpqr_pivots_array_api_matches_lapack(xs):
    rng = np.random.default_rng(10)
    for trial in range(5):
        S = rng.standard_normal((12, 200)) * rng.uniform(0.1, 10, 200)
        assert cpqr_pivots(xs.asarray(S), 12) == cpqr_pivots(S, 12)


def test_rqr_operator_input_and_counts():
    A = known_matrix(40, 30, 0.7 ** np.arange(30), seed=11)
    ref = rqr(A, 5, oversample=4, rng=1)
    op = as_operator(lambda X: A @ X, shape=A.shape, rmatmat=lambda Y: A.T @ Y)
    got = rqr(op, 5, oversample=4, rng=1)
    np.testing.assert_array_equal(got[2], ref[2])
    np.testing.assert_allclose(got[0], ref[0], atol=1e-12)
    np.testing.assert_allclose(got[1], ref[1], atol=1e-12)
    # sketch: 9 products with A^T; columns: 5 with A; R: 5 with A^T
    assert (op.num_matvecs, op.num_rmatvecs) == (5, 14)
    with pytest.raises(TypeError, match="rqr needs the adjoint"):
        rqr(as_operator(lambda X: A @ X, shape=A.shape), 3)


def test_rqr_errors(xp, to_xp):
    A = to_xp(np.ones((6, 8)))
    with pytest.raises(ValueError, match="rank must satisfy"):
        rqr(A, 7)
    with pytest.raises(ValueError, match="oversample must be >= 0"):
        rqr(A, 2, oversample=-1)
    with pytest.raises(ValueError, match=r"probe must have shape \(6, 4\)"):
        rqr(A, 2, oversample=2, probe=to_xp(np.ones((8, 4))))
