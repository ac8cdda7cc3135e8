"""Error estimates and confidence intervals of the estimators (issue 12).

Coverage tests: with ``K`` fixed seeds and an interval of nominal coverage
0.95, the number of covered runs of a calibrated estimator is Binomial(K, p)
with ``p >= 0.95`` (up to the small approximation error of the Student-t
quantile), so it is below ``binom.ppf(0.001, K, 0.95)`` with probability at
most about 0.1%. The bound is computed, not tuned. Each test also checks that
the same bound rejects the plain exchangeable estimate ``s / sqrt(k)``
(Epperly, Tropp, Webber 2024) where that one is optimistic, so the test can
fail. Matrices: ``A = Q diag(lam) Q^T`` with Haar ``Q`` and a decaying
spectrum (where the plain estimate fails), n = 60.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import randla
from randla import diagonal_hutchinson, hutchinson, hutchpp, na_hutchpp, trace, xdiag
from randla import xnystrace, xtrace
from randla.backend import to_host
from randla.demo import matrix_with_spectrum

K = 300
LOWER = int(stats.binom.ppf(0.001, K, 0.95))  # 273 for K = 300


def _matrix(lam):
    return matrix_with_spectrum(lam, rng=7), float(np.sum(lam))


SPECTRA = {
    "slowexp": 0.85 ** np.arange(60.0),
    "step": np.r_[np.ones(6), np.full(54, 1e-3)],
}
FUNCS = {"hutchinson": hutchinson, "hutchpp": hutchpp, "na_hutchpp": na_hutchpp,
         "xtrace": xtrace, "xnystrace": xnystrace,
         "auto": lambda A, m, **kw: trace(A, m, method="auto", **kw)}


@pytest.mark.parametrize("spectrum", list(SPECTRA))
@pytest.mark.parametrize("method", list(FUNCS))
def test_trace_interval_coverage_binomial(method, spectrum):
    A, exact = _matrix(SPECTRA[spectrum])
    covered = 0
    for r in range(K):
        lo, hi = FUNCS[method](A, 20, rng=5000 + r).interval
        covered += lo <= exact <= hi
    assert covered >= LOWER, f"{covered}/{K} covered, binomial 0.1% bound {LOWER}"


def test_plain_exchangeable_estimate_fails_the_same_bound():
    # The test above has power: the plain estimate s / sqrt(k) of the leave-one-
    # out estimates (randla before issue 12) gives too short intervals here.
    from randla.estimation._driver import draw, apply
    from randla.estimation._exchangeable import XTraceSketch
    from randla.random import as_generator

    A, exact = _matrix(SPECTRA["step"])
    op = randla.as_operator(A)
    covered = 0
    for r in range(K):
        sketch = XTraceSketch(op, improved=True)
        Omega = draw(op, "sphere", 10, as_generator(5000 + r))
        sketch.add(Omega, apply(op, Omega))
        t = to_host(sketch.samples())
        half = stats.t.ppf(0.975, 9) * t.std(ddof=1) / math.sqrt(10)
        covered += abs(t.mean() - exact) <= half
    assert covered < LOWER


@pytest.mark.parametrize("func,m", [(diagonal_hutchinson, 20), (xdiag, 20)])
def test_diagonal_interval_coverage_binomial(func, m):
    # Entries of one run are dependent: count one entry (the largest) per seed,
    # so the count is binomial.
    A, _ = _matrix(SPECTRA["slowexp"])
    i = int(np.argmax(np.diag(A)))
    covered = 0
    for r in range(K):
        lo, hi = func(A, m, rng=5000 + r).interval
        covered += bool(lo[i] <= A[i, i] <= hi[i])
    assert covered >= LOWER, f"{covered}/{K} covered, binomial 0.1% bound {LOWER}"


# -- the result fields, every backend ---------------------------------------------


@pytest.mark.parametrize("method", ["hutchinson", "hutchpp", "na_hutchpp", "xtrace",
                                    "xnystrace", "auto"])
def test_interval_is_student_t(xp, to_xp, method):
    A, _ = _matrix(SPECTRA["slowexp"])
    for confidence in (0.95, 0.5):
        res = trace(to_xp(A), 30, method=method, rng=1, confidence=confidence)
        q = stats.t.ppf(0.5 + confidence / 2, res.dof)
        lo, hi = res.interval
        assert res.confidence == confidence and res.dof >= 1
        assert lo == pytest.approx(res.estimate - q * res.std_error, rel=1e-12, abs=1e-14)
        assert hi == pytest.approx(res.estimate + q * res.std_error, rel=1e-12, abs=1e-14)
    # the estimate itself does not depend on the confidence
    assert trace(to_xp(A), 30, method=method, rng=1, confidence=0.5).estimate == \
        trace(to_xp(A), 30, method=method, rng=1).estimate


def test_diagonal_interval_fields(xp, to_xp):
    A, _ = _matrix(SPECTRA["slowexp"])
    for func in (diagonal_hutchinson, xdiag):
        res = func(to_xp(A), 20, rng=1, confidence=0.9)
        q = stats.t.ppf(0.95, res.dof)
        lo, hi = (to_host(b) for b in res.interval)
        est, se = to_host(res.estimate), to_host(res.std_error)
        np.testing.assert_allclose(hi - est, q * se, rtol=1e-10, atol=1e-14)
        np.testing.assert_allclose(est - lo, q * se, rtol=1e-10, atol=1e-14)
    assert diagonal_hutchinson(A, 1, rng=0).interval is None


def test_interval_nan_with_one_sample():
    res = hutchinson(np.eye(5), 1, rng=0)
    assert all(math.isnan(b) for b in res.interval)


def test_exact_cases_have_tiny_intervals():
    # rank 3 < test vectors: exact estimate; the interval is a few ulp wide
    lam = np.r_[np.linspace(2.0, 1.0, 3), np.zeros(37)]
    A, exact = _matrix(lam)
    for method in ("xtrace", "xnystrace"):
        lo, hi = trace(A, 20, method=method, rng=0).interval
        assert lo <= exact <= hi and hi - lo <= 1e-12 * exact


@pytest.mark.parametrize("bad,err", [(0.0, ValueError), (1.0, ValueError), (1.5, ValueError),
                                     (float("nan"), ValueError), ("0.9", TypeError),
                                     (True, TypeError)])
def test_confidence_validated(bad, err):
    A = np.eye(10)
    for func in (hutchinson, hutchpp, na_hutchpp, xtrace, xnystrace, diagonal_hutchinson,
                 xdiag):
        with pytest.raises(err, match="confidence"):
            func(A, 8, confidence=bad)
    with pytest.raises(err, match="confidence"):
        trace(A, 8, confidence=bad)


# -- the leave-two-out algebra against brute force --------------------------------


def _nonsymmetric(n=40, seed=0):
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, n)))
    return (Q * 0.8 ** np.arange(n)) @ Q.T + 0.05 * rng.standard_normal((n, n))


@pytest.mark.parametrize("improved", [False, True])
def test_xtrace_leave_two_out_matches_refit(improved):
    # t_ij (probe i, columns i and j out of the basis) equals the leave-one-out
    # estimate i of XTrace refitted on the test vectors without j.
    from randla.estimation._exchangeable import XTraceSketch, xtrace_leave_two_out

    A = _nonsymmetric()
    n, k = A.shape[0], 7
    Omega = np.random.default_rng(1).standard_normal((n, k))
    if improved:
        Omega *= math.sqrt(n) / np.linalg.norm(Omega, axis=0)
    sketch = XTraceSketch(randla.as_operator(A), improved=improved)
    sketch.add(Omega[:, :3], A @ Omega[:, :3])  # two blocks: the downdated QR too
    sketch.add(Omega[:, 3:], A @ Omega[:, 3:])
    pairs = xtrace_leave_two_out(sketch)
    for j in range(k):
        keep = [i for i in range(k) if i != j]
        refit = XTraceSketch(randla.as_operator(A), improved=improved)
        refit.add(Omega[:, keep], A @ Omega[:, keep])
        np.testing.assert_allclose(pairs[keep, j], refit.samples(), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("improved", [False, True])
def test_xnystrace_leave_two_out_matches_refit(improved):
    from randla.estimation._exchangeable import xnystrace_estimates

    A, _ = _matrix(SPECTRA["slowexp"])
    n, k = A.shape[0], 7
    Omega = np.random.default_rng(1).standard_normal((n, k))
    if improved:
        Omega *= math.sqrt(n) / np.linalg.norm(Omega, axis=0)
    single, pairs = xnystrace_estimates(np, Omega, A @ Omega, improved, leave_two_out=True)
    np.testing.assert_array_equal(single, xnystrace_estimates(np, Omega, A @ Omega, improved))
    for j in range(k):
        keep = [i for i in range(k) if i != j]
        refit = xnystrace_estimates(np, Omega[:, keep], A @ Omega[:, keep], improved)
        # the stabilising shift nu depends on the sketch: agreement to ~1e-13
        np.testing.assert_allclose(pairs[keep, j], refit, rtol=1e-10, atol=1e-12)


def test_xdiag_covariance_matches_refit():
    from randla.estimation._diagonal_estimators import _xdiag_covariance
    from randla.estimation._exchangeable import loo_directions

    A = _nonsymmetric()
    n, k = A.shape[0], 6
    Omega = np.random.default_rng(2).choice([-1.0, 1.0], (n, k))

    def per_vector(Om):
        Q, R = np.linalg.qr(A @ Om)
        Z = A.T @ Q
        S = loo_directions(np, R)
        QS, ZS = Q @ S, Z @ S
        low_rank = np.sum(Q * Z, axis=1)
        t = low_rank[:, None] - QS * ZS + Om * QS * np.sum(S * R, axis=0)[None, :]
        return t, (R, S, QS, ZS, low_rank)

    single, (R, S, QS, ZS, low_rank) = per_vector(Omega)
    refits = {j: per_vector(np.delete(Omega, j, axis=1))[0] for j in range(k)}

    def t_pair(i, j):  # probe i, j left out
        return refits[j][:, i - (i > j)]

    ref = sum((single[:, i] - t_pair(i, j)) * (single[:, j] - t_pair(j, i))
              for i in range(k) for j in range(k) if i != j) / (k * (k - 1))
    got = _xdiag_covariance(np, Omega, R, S, QS, ZS, low_rank, single)
    np.testing.assert_allclose(got, ref, rtol=1e-9, atol=1e-12 * np.max(np.abs(ref)))
