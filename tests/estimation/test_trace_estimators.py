"""Trace estimators against exact traces of matrices with known spectra.

Matrices are ``A = Q diag(lam) Q^T`` with a Haar ``Q`` (randla.demo), so the
exact trace is ``sum(lam)``. Statistical tests use fixed seeds and tolerances
derived from the estimator's variance; each test states its derivation.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import randla
from randla import TraceEstimate, as_operator, hutchinson, hutchpp, na_hutchpp, trace
from randla import xnystrace, xtrace
from randla.backend import to_host
from randla.demo import matrix_with_spectrum

ESTIMATORS = {
    "hutchinson": hutchinson,
    "hutchpp": hutchpp,
    "na_hutchpp": na_hutchpp,
    "xtrace": xtrace,
    "xnystrace": xnystrace,
}


def _psd(n, lam_fn, seed=0):
    lam = lam_fn(np.arange(n, dtype=float))
    return matrix_with_spectrum(lam, rng=seed), float(lam.sum())


def _low_rank(n, rank, seed=0):
    lam = np.zeros(n)
    lam[:rank] = np.linspace(2.0, 1.0, rank)
    return matrix_with_spectrum(lam, rng=seed), float(lam.sum())


# -- exact cases, every backend --------------------------------------------------


@pytest.mark.parametrize("method,budget", [
    ("hutchpp", 24),      # sketch of 8 > rank 5: Q spans range(A), residual 0
    ("na_hutchpp", 60),   # range sketch of 10 > rank 5: generalized Nyström exact
    ("xtrace", 24),       # 12 test vectors: every leave-one-out basis spans range(A)
    ("xnystrace", 12),    # 11 > rank 5 vectors in each leave-one-out Nyström
    ("auto", 40),         # a rank-5 matrix is fully captured by the pilot: XTrace
])
def test_exact_on_low_rank(xp, to_xp, method, budget):
    A, exact = _low_rank(50, 5)
    res = trace(to_xp(A), budget, method=method, rng=0)
    assert isinstance(res, TraceEstimate)
    assert res.num_matvecs == budget
    assert abs(res.estimate - exact) <= 1e-10 * exact
    assert res.std_error <= 1e-10 * exact
    if method == "auto":
        assert res.method == "auto:xtrace"


def test_hutchinson_exact_with_all_orthonormal_probes(xp, to_xp):
    # orthonormal probes with m = n: sum_j z_j^T A z_j = n tr(A Q Q^T) / n = tr(A)
    A, exact = _psd(30, lambda i: 1.0 + np.cos(i))
    res = hutchinson(to_xp(A), num_matvecs=30, probe="orthonormal", rng=1)
    assert abs(res.estimate - exact) <= 1e-12 * abs(exact)


def test_rademacher_exact_on_diagonal(xp, to_xp):
    # Rademacher variance 2 (||A||_F^2 - sum A_ii^2) vanishes for diagonal A
    d = np.linspace(-1.0, 4.0, 25)
    res = hutchinson(to_xp(np.diag(d)), num_matvecs=3, rng=0)
    assert res.estimate == pytest.approx(d.sum(), rel=1e-14)
    assert res.std_error == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("method", sorted(ESTIMATORS) + ["auto"])
def test_every_method_accurate_on_decaying_spectrum(xp, to_xp, method):
    # 0.6^i, n = 60, 40 products. Every method must be within 6 of its own
    # standard errors (5 sigma plus slack for XTrace's slightly optimistic error
    # estimate, see test_unbiased_and_std_error_calibrated). The low-rank methods
    # must also beat Hutchinson's typical error sqrt(2 ||A||_F^2 / 40) ~ 0.11 tr
    # at least twice (NA-Hutch++ spends only m/6 = 6 vectors on its range
    # sketch and is the weakest: ~0.02 tr here).
    A, exact = _psd(60, lambda i: 0.6**i)
    res = trace(to_xp(A), 40, method=method, rng=2)
    assert math.isfinite(res.estimate) and res.num_matvecs == 40
    err = abs(res.estimate - exact)
    assert err <= 6 * res.std_error + 1e-12 * exact
    if method != "hutchinson":
        assert err <= 0.05 * exact
    value = res.value
    assert value.ndim == 0 and type(value).__module__.split(".")[0] in (
        "numpy", "torch", "array_api_strict")
    assert float(res) == res.estimate


def test_float32(xp, to_xp):
    # float32 runs the same estimator: same seed, same probes, so the result
    # matches float64 to float32 rounding (eps 1.2e-7; a few hundred
    # operations on n = 60 numbers of size <= 1: allow 1e-4 relative).
    A, exact = _psd(60, lambda i: 0.6**i)
    A32 = to_xp(A.astype(np.float32))
    for method in randla.TRACE_METHODS:
        res = trace(A32, 40, method=method, rng=3)
        ref = trace(A, 40, method=method, rng=3)
        assert res.value.dtype == xp.float32 and res.method == ref.method
        assert abs(res.estimate - ref.estimate) <= 1e-4 * exact


def test_nonsymmetric_input(xp, to_xp):
    # Hutchinson, Hutch++, NA-Hutch++ and XTrace are unbiased for any square A;
    # a rank-4 nonsymmetric matrix is resolved exactly by the low-rank ones.
    rng = np.random.default_rng(4)
    A = rng.standard_normal((40, 4)) @ rng.standard_normal((4, 40))
    exact = float(np.trace(A))
    for method, m in (("hutchpp", 18), ("na_hutchpp", 36), ("xtrace", 16)):
        res = trace(to_xp(A), m, method=method, rng=5)
        assert res.estimate == pytest.approx(exact, rel=1e-10, abs=1e-10)


def test_matrix_free_inputs():
    import scipy.sparse as sp
    import scipy.sparse.linalg as spla

    A, exact = _low_rank(40, 3)
    sparse = sp.csr_matrix(A)
    for operand in (sparse, spla.aslinearoperator(sparse),
                    as_operator(lambda X: A @ X, shape=(40, 40), symmetric=True)):
        for method, m in (("hutchpp", 12), ("xtrace", 12), ("xnystrace", 12),
                          ("na_hutchpp", 24)):  # range sketch m // 6 = 4 > rank 3
            res = trace(operand, m, method=method, rng=0)
            assert res.estimate == pytest.approx(exact, rel=1e-10)
    op = as_operator(lambda X: A @ X, shape=(40, 40))
    res = xtrace(op, num_matvecs=12, rng=0)
    assert op.num_matvecs == res.num_matvecs == 12


def test_odd_budget_and_counters():
    A, _ = _psd(30, lambda i: 0.9**i)
    assert xtrace(A, num_matvecs=11, rng=0).num_matvecs == 10
    for method in ("hutchinson", "hutchpp", "na_hutchpp", "xnystrace", "auto"):
        assert trace(A, 11, method=method, rng=0).num_matvecs == 11


# -- statistics (numpy: the estimators are the same code on every backend) ------

REPS = 300


def _repeat(func, A, m, **kw):
    res = [func(A, num_matvecs=m, rng=1000 + r, **kw) for r in range(REPS)]
    return np.array([r.estimate for r in res]), np.array([r.std_error for r in res])


@pytest.mark.parametrize("probe", ["rademacher", "gaussian"])
def test_hutchinson_mean_and_variance(probe):
    # Known per-estimate variance with m probes (symmetric A):
    #   Rademacher: 2 (||A||_F^2 - sum_i A_ii^2) / m;  Gaussian: 2 ||A||_F^2 / m.
    # Mean of REPS estimates: |mean - tr| <= 5 sigma / sqrt(REPS) (CLT, 5 sigma).
    # Sample variance: s^2 / sigma^2 has sd sqrt(2 / (REPS - 1) + kurt / REPS),
    # kurt the excess kurtosis of one estimate, <= 3 / m for Gaussian quadratic
    # forms (3 sum lam^4 / (sum lam^2)^2 <= 3); allow 5 such sd.
    A, exact = _psd(40, lambda i: np.linspace(-1.0, 3.0, 40)[i.astype(int)])
    m = 10
    fro2 = float(np.sum(A * A))
    var1 = 2 * (fro2 - float(np.sum(np.diag(A) ** 2))) if probe == "rademacher" else 2 * fro2
    sigma = math.sqrt(var1 / m)
    est, se = _repeat(hutchinson, A, m, probe=probe)
    assert abs(est.mean() - exact) <= 5 * sigma / math.sqrt(REPS)
    ratio = est.var(ddof=1) / sigma**2
    tol = 5 * math.sqrt(2 / (REPS - 1) + 3 / (m * REPS))
    assert abs(ratio - 1) <= tol
    # the reported std_error is the sample sd / sqrt(m): E[se^2] = sigma^2
    assert abs(np.mean(se**2) / sigma**2 - 1) <= tol


@pytest.mark.parametrize("method", ["hutchpp", "na_hutchpp", "xtrace", "xnystrace"])
@pytest.mark.parametrize("spectrum", ["exp", "flat"])
def test_unbiased_and_std_error_calibrated(method, spectrum):
    # No closed-form variance: use the empirical sd s of REPS seeded estimates.
    # Unbiasedness (all four are unbiased, XTrace/XNysTrace also with the sphere
    # rescaling): by the CLT the mean of REPS estimates is within 5 s / sqrt(REPS)
    # of tr(A) except with probability ~6e-7.
    # Calibration: Hutch++ and NA-Hutch++ are conditionally unbiased given the
    # sketch, so their std_error (sample sd of the residual Hutchinson terms)
    # has E[se^2] = Var(estimate); for XTrace/XNysTrace se^2 = s^2/k + max(0, c)
    # with E[s^2/k + c] = Var(estimate) (docs/error_estimates.rst), the clamp
    # only adding. RMS(se) of REPS runs is itself noisy (se is a k-sample
    # statistic), so all four are required within a factor 2 of the empirical
    # spread; the coverage tests in test_error_estimates.py are the sharp check.
    lam = (lambda i: 0.8**i) if spectrum == "exp" else (lambda i: 1.0 + 2.0 * i / 39)
    A, exact = _psd(40, lam, seed=1)
    est, se = _repeat(ESTIMATORS[method], A, 12)
    s = est.std(ddof=1)
    assert abs(est.mean() - exact) <= 5 * s / math.sqrt(REPS)
    assert 0.5 <= math.sqrt(np.mean(se**2)) / s <= 2.0


def test_xtrace_beats_hutchinson_on_decay():
    # Not a timing claim: mean error over 30 seeds on 0.8^i, n = 80, m = 40.
    A, exact = _psd(80, lambda i: 0.8**i)
    errs = {}
    for name in ("hutchinson", "hutchpp", "xtrace", "xnystrace"):
        est, _ = zip(*[(ESTIMATORS[name](A, num_matvecs=40, rng=r).estimate, 0)
                       for r in range(30)])
        errs[name] = np.mean(np.abs(np.array(est) - exact))
    assert errs["xnystrace"] < errs["xtrace"] < errs["hutchpp"] < errs["hutchinson"]


# -- adaptive stopping ------------------------------------------------------------


def _half_width(res):
    lo, hi = res.interval
    return 0.5 * (hi - lo)


@pytest.mark.parametrize("func,block,per_block", [(hutchinson, 10, 10), (xtrace, 4, 8)])
def test_adaptive_stops_at_tolerance(xp, to_xp, func, block, per_block):
    # The stop rule (issue 12): the half-width of the 95% interval, q * std_error
    # with q the Student-t quantile, is <= max(atol, rtol |estimate|).
    A, exact = _psd(60, lambda i: 0.85**i)
    Ax = to_xp(A)
    rtol = 2e-2 if func is hutchinson else 1e-4
    res = func(Ax, num_matvecs=4000 if func is hutchinson else 120, rtol=rtol,
               block_size=block, rng=3)
    cap = 4000 if func is hutchinson else 120
    q = stats.t.ppf(0.975, res.dof)
    assert _half_width(res) == pytest.approx(q * res.std_error, rel=1e-12)
    assert res.confidence == 0.95
    assert _half_width(res) <= rtol * abs(res.estimate)
    assert res.num_matvecs < cap and res.num_matvecs % per_block == 0
    assert abs(res.estimate - exact) <= 5 * res.std_error
    # one block less would not have met the tolerance (it stopped at the first chance)
    if res.num_matvecs > per_block:
        prev = func(Ax, num_matvecs=res.num_matvecs - per_block, rtol=rtol,
                    block_size=block, rng=3)
        assert _half_width(prev) > rtol * abs(prev.estimate)
    # a lower confidence stops no later
    low = func(Ax, num_matvecs=cap, rtol=rtol, block_size=block, rng=3, confidence=0.5)
    assert low.num_matvecs <= res.num_matvecs
    # atol works the same way, and an unreachable tolerance stops at the cap
    res_abs = func(Ax, num_matvecs=cap, atol=rtol * exact, block_size=block, rng=3)
    assert _half_width(res_abs) <= rtol * exact
    capped = func(Ax, num_matvecs=40, rtol=1e-14, atol=0.0, block_size=block, rng=3)
    assert capped.num_matvecs == 40 and _half_width(capped) > 1e-14 * abs(capped.estimate)


def test_adaptive_via_trace_and_exact_stops_immediately():
    A, exact = _low_rank(40, 3)
    res = trace(A, 80, method="xtrace", rtol=1e-8, block_size=5)
    assert res.num_matvecs == 10 and res.estimate == pytest.approx(exact, rel=1e-10)


# -- method="auto" -----------------------------------------------------------------


def test_auto_branches():
    n = 400
    flat, _ = _psd(n, lambda i: 1.0 + 2.0 * i / (n - 1))
    decay, _ = _psd(n, lambda i: 0.9**i)
    step, _ = _psd(n, lambda i: np.where(i < 20, 1.0, 1e-3))
    for seed in range(3):
        assert trace(flat, 100, rng=seed).method == "auto:hutchinson"
        assert trace(decay, 100, rng=seed).method == "auto:xtrace"
        # a rank-20 plateau: the pilot (25 vectors) sees it all
        assert trace(step, 100, rng=seed).method == "auto:xtrace"
        assert trace(step, 100, rng=seed).num_matvecs == 100
        assert trace(flat, 100, rng=seed).num_matvecs == 100
    assert trace(decay, 8, rng=0).method == "auto:hutchinson"  # too small to pilot


def test_auto_matches_hutchinson_on_flat():
    # auto on a flat spectrum must be Hutchinson in distribution (pilot products
    # reused as probes): mean error within 25% of sphere Hutchinson's over 200
    # seeds. Both means have relative sd ~0.75 / sqrt(200) = 5%, so the ratio of
    # two equal-mean estimates exceeds 1.25 with probability < 1e-3.
    A, exact = _psd(200, lambda i: 1.0 + 2.0 * i / 199)
    auto = [abs(trace(A, 40, rng=r).estimate - exact) for r in range(200)]
    hutch = [abs(hutchinson(A, num_matvecs=40, probe="sphere", rng=r + 10**6).estimate
                 - exact) for r in range(200)]
    assert np.mean(auto) <= 1.25 * np.mean(hutch)


# -- reproducibility -----------------------------------------------------------------


@pytest.mark.parametrize("method", list(randla.TRACE_METHODS))
def test_same_seed_same_result_across_backends(method, xp, to_xp):
    """Probes are drawn on the host: a seed gives the NumPy numbers on every backend
    (to rounding: another BLAS may sum in another order)."""
    A, _ = _psd(50, lambda i: 0.85**i)
    ref = trace(A, 30, method=method, rng=7)
    got = trace(to_xp(A), 30, method=method, rng=7)
    again = trace(A, 30, method=method, rng=np.random.default_rng(7))
    assert (got.method, got.num_matvecs) == (ref.method, ref.num_matvecs)
    assert got.estimate == pytest.approx(ref.estimate, rel=1e-12)
    assert got.std_error == pytest.approx(ref.std_error, rel=1e-8)
    assert again.estimate == ref.estimate
    assert trace(A, 30, method=method, rng=8).estimate != ref.estimate


# -- errors -------------------------------------------------------------------------


def test_errors_shape_dtype_finite(xp, to_xp):
    with pytest.raises(ValueError, match="A must be a square"):
        hutchinson(to_xp(np.ones((3, 4))), num_matvecs=2)
    with pytest.raises(ValueError, match="NaN"):
        xtrace(to_xp(np.array([[1.0, np.nan], [0.0, 1.0]])), num_matvecs=4)
    if hasattr(xp, "int64"):
        with pytest.raises(TypeError, match="A must have dtype"):
            trace(xp.asarray(np.eye(3, dtype=np.int64)), 4)
    if hasattr(xp, "float16"):
        with pytest.raises(TypeError, match="A must have dtype"):
            trace(xp.asarray(np.eye(3, dtype=np.float16)), 4)
    if hasattr(xp, "complex128"):
        with pytest.raises(TypeError, match="A must have dtype float32 or float64"):
            hutchpp(xp.asarray(np.eye(3, dtype=np.complex128)), num_matvecs=3)


@pytest.mark.parametrize("probe", ["rademacher", "sparse_sign", "srft", "orthonormal"])
@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_entry_detected(bad, probe):
    # a dense A is not pre-scanned: one bad entry must still surface through the
    # first product, also for probes with exact zeros (sparse sign, SRFT)
    A = np.eye(16)
    A[5, 11] = bad
    for method in randla.TRACE_METHODS:
        with pytest.raises(ValueError, match="NaN or infinite"):
            trace(A, 8, method=method, probe=probe, rng=0)


@pytest.mark.parametrize("method,too_small", [
    ("hutchinson", 0), ("hutchpp", 2), ("na_hutchpp", 2), ("xtrace", 3), ("xnystrace", 1),
    ("auto", 0),
])
def test_budget_too_small(method, too_small):
    A = np.eye(10)
    with pytest.raises(ValueError, match=rf"num_matvecs must be >= {too_small + 1}"):
        trace(A, too_small, method=method)
    with pytest.raises(TypeError, match="num_matvecs must be an integer"):
        trace(A, 10.0, method=method)


def test_budget_too_large():
    A = np.eye(10)
    with pytest.raises(ValueError, match="num_matvecs must be <= 2n"):
        xtrace(A, num_matvecs=22)
    with pytest.raises(ValueError, match="num_matvecs must be <= n"):
        xnystrace(A, num_matvecs=11)
    with pytest.raises(ValueError, match="num_matvecs must be <= 3n"):
        hutchpp(A, num_matvecs=33)


def test_option_errors():
    A = np.eye(10)
    with pytest.raises(ValueError, match="method must be one of"):
        trace(A, 10, method="hutch")
    with pytest.raises(ValueError, match="probe must be one of"):
        hutchinson(A, num_matvecs=4, probe="uniform")
    with pytest.raises(ValueError, match="probe must be one of"):
        trace(A, 10, probe="normal")
    with pytest.raises(ValueError, match="rtol must be a finite number"):
        hutchinson(A, num_matvecs=4, rtol=-1.0)
    with pytest.raises(ValueError, match="adaptive stopping is available"):
        trace(A, 10, method="hutchpp", rtol=0.1)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        xtrace(A, num_matvecs=10, rtol=0.1, block_size=0)
    with pytest.raises(TypeError, match="rng must be"):
        hutchinson(A, num_matvecs=4, rng="seed")


def test_not_psd_and_no_adjoint():
    with pytest.raises(ValueError, match="positive semidefinite"):
        xnystrace(-np.eye(20), num_matvecs=5, rng=0)
    op = as_operator(lambda X: 2.0 * X, shape=(20, 20))  # no adjoint, not declared
    with pytest.raises(TypeError, match="needs products with A\\^T"):
        na_hutchpp(op, num_matvecs=12)
    sym = as_operator(lambda X: 2.0 * X, shape=(20, 20), symmetric=True)
    res = na_hutchpp(sym, num_matvecs=12, rng=0)  # A^T products through matmat
    assert res.num_matvecs == 12 and sym.num_matvecs == 12
    assert abs(res.estimate - 40.0) <= 5 * res.std_error


def test_callable_mixing_backends_or_devices(torch):
    # declared NumPy, returns torch
    op = as_operator(lambda X: torch.asarray(X), shape=(8, 8))
    with pytest.raises(TypeError, match="mixed array backends"):
        hutchinson(op, num_matvecs=2, rng=0)
    # declared torch on the CPU, returns a tensor on another device ("meta")
    op = as_operator(lambda X: torch.empty(X.shape, dtype=X.dtype, device="meta"),
                     shape=(8, 8), xp=torch, device=torch.device("cpu"))
    with pytest.raises(ValueError, match="on device"):
        xtrace(op, num_matvecs=4, rng=0)
    # wrong shape, dtype and non-finite output are refused too
    bad_shape = as_operator(lambda X: X[:4], shape=(8, 8))
    with pytest.raises(ValueError, match="shape"):
        hutchinson(bad_shape, num_matvecs=2, rng=0)
    bad_dtype = as_operator(lambda X: X.astype(np.float32), shape=(8, 8))
    with pytest.raises(TypeError, match="dtype"):
        hutchinson(bad_dtype, num_matvecs=2, rng=0)
    nan = as_operator(lambda X: X * np.nan, shape=(8, 8))
    with pytest.raises(ValueError, match="NaN or infinite"):
        hutchinson(nan, num_matvecs=2, rng=0)


def test_value_on_backend(xp, to_xp):
    A, _ = _psd(20, lambda i: 0.5**i)
    res = xtrace(to_xp(A), num_matvecs=8, rng=0)
    assert float(to_host(res.value)) == res.estimate


@pytest.mark.parametrize("func", [*ESTIMATORS.values(), randla.diagonal_hutchinson, randla.xdiag])
def test_budget_is_positional_or_keyword(func):
    """``num_matvecs`` may be passed positionally, as ``rank`` in ``rsvd``."""
    A, _ = _psd(40, lambda i: 0.8**i)
    positional, keyword = func(A, 12, rng=3), func(A, num_matvecs=12, rng=3)
    assert np.array_equal(np.asarray(positional.estimate), np.asarray(keyword.estimate))


def test_integer_input_says_what_is_accepted():
    for func in (hutchinson, xtrace, randla.xdiag):
        with pytest.raises(TypeError, match="A must have dtype float32 or float64, got int64") as err:
            func(np.eye(6, dtype=np.int64), 4)
        assert "complex" not in str(err.value)


def test_tensor_requiring_grad_gives_no_torch_warning(torch):
    import warnings

    A = torch.tensor(_psd(20, lambda i: 0.8**i)[0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for func in (*ESTIMATORS.values(), trace, randla.diagonal_hutchinson, randla.xdiag):
            func(A, 8, rng=0)
