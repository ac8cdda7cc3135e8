"""range_finder and adaptive_range_finder against matrices with known spectra."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla
from scipy.stats import binom

import randla
from randla import adaptive_range_finder, as_operator, range_finder
from randla.backend import to_host

from lowrank_helpers import (
    hmt_frobenius_bound,
    hmt_power_bound,
    host,
    known_matrix,
)

NORMALIZERS = ("lu", "qr", "none")


def _projection_error(A, Q, ord=2):
    Qh = host(Q)
    return float(np.linalg.norm(A - Qh @ (Qh.T @ A), ord))


@pytest.mark.parametrize("normalizer", NORMALIZERS)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_orthonormal_basis(xp, to_xp, normalizer, dtype):
    A = known_matrix(60, 40, 1.0 / np.arange(1, 41))
    Q = range_finder(to_xp(A.astype(dtype)), 8, oversample=4, normalizer=normalizer, rng=0)
    assert Q.shape == (60, 12)
    assert Q.dtype == (xp.float32 if dtype == np.float32 else xp.float64)
    Qh = host(Q)
    tol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(Qh.T @ Qh, np.eye(12), atol=tol)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_exact_rank_is_recovered(xp, to_xp, normalizer):
    A = known_matrix(50, 40, np.array([5.0, 3, 2, 1, 0.5, 0.1]), seed=3)
    # without normalisation (HMT Alg. 4.3) the block (A A^T)^q A Omega has
    # condition ~ (sigma_1/sigma_6)^(2q+1) = 50^5 for q = 2, so only q = 0 is
    # exact to rounding; see test_normalizer_keeps_small_directions
    power_iters = 0 if normalizer == "none" else 2
    for oversample in (0, 3):
        Q = range_finder(to_xp(A), 6, oversample=oversample, power_iters=power_iters,
                         normalizer=normalizer, rng=1)
        assert _projection_error(A, Q) <= 1e-10 * 5.0


def test_normalizer_keeps_small_directions():
    # rounding in the unnormalised block loses directions with
    # (sigma_j / sigma_1)^(2q+1) below machine precision: LU and QR keep them
    A = known_matrix(50, 40, np.array([5.0, 3, 2, 1, 0.5, 0.1]), seed=3)
    errors = {norm: _projection_error(A, range_finder(A, 6, oversample=0, power_iters=4,
                                                      normalizer=norm, rng=1))
              for norm in NORMALIZERS}
    assert errors["lu"] <= 1e-13 and errors["qr"] <= 1e-13
    assert errors["none"] > 1e3 * max(errors["lu"], errors["qr"])


@pytest.mark.parametrize("power_iters", [0, 1, 2])
def test_hmt_average_error_bound(xp, to_xp, power_iters):
    # HMT 2011 Cor. 10.10 (Thm. 10.6 for q = 0) bounds the EXPECTED spectral
    # error of the (k + p)-column basis; we compare the mean over 8 seeds.
    # The optimal error of any rank-(k+p) basis, sigma_{k+p+1}, is a floor.
    sigma = 1.0 / np.arange(1, 81)
    A = known_matrix(100, 80, sigma, seed=1)
    k, p = 10, 5
    Ax = to_xp(A)
    errors = [_projection_error(A, range_finder(Ax, k, oversample=p, power_iters=power_iters,
                                                 rng=seed)) for seed in range(8)]
    assert np.mean(errors) <= hmt_power_bound(sigma, k, p, power_iters)
    assert min(errors) >= sigma[k + p] * (1 - 1e-12)
    if power_iters == 0:  # HMT Thm. 10.5 (Frobenius, expected value)
        fro = [_projection_error(A, range_finder(Ax, k, oversample=p, power_iters=0, rng=seed),
                                 "fro") for seed in range(8)]
        assert np.mean(fro) <= hmt_frobenius_bound(sigma, k, p)


@pytest.mark.parametrize("normalizer", NORMALIZERS)
def test_same_seed_same_basis_across_backends(xp, to_xp, normalizer):
    # "identical" = equal to rounding: the same host-drawn test matrix on every
    # backend and Q fixed by diag(R) >= 0, so Q itself agrees. Exception: with
    # normalizer="lu" on a namespace without an LU (array_api_strict uses QR)
    # the final block is a different basis of the same span, so Q differs by
    # a rotation and the projector Q Q^T is what agrees.
    A = known_matrix(70, 50, 0.8 ** np.arange(50), seed=2)
    Q_ref = range_finder(A, 6, oversample=4, normalizer=normalizer, rng=7)
    Q = host(range_finder(to_xp(A), 6, oversample=4, normalizer=normalizer, rng=7))
    # signs included, also where the namespace has no native LU (array_api_strict)
    np.testing.assert_allclose(Q, Q_ref, atol=1e-12)


def test_operator_inputs():
    A = known_matrix(40, 30, 0.5 ** np.arange(30), seed=4)
    ref = range_finder(A, 5, rng=3)
    for a in (sp.csr_matrix(A), spla.aslinearoperator(A),
              as_operator(lambda X: A @ X, shape=A.shape, rmatmat=lambda Y: A.T @ Y)):
        np.testing.assert_allclose(range_finder(a, 5, rng=3), ref, atol=1e-12)
    # power_iters = 0 only needs products with A
    forward_only = as_operator(lambda X: A @ X, shape=A.shape)
    Q = range_finder(forward_only, 5, power_iters=0, rng=3)
    assert forward_only.num_matvecs == 15 and forward_only.num_rmatvecs == 0
    assert _projection_error(A, Q) < 1e-2
    with pytest.raises(TypeError, match="adjoint"):
        range_finder(forward_only, 5, power_iters=1)


def test_counts_products():
    A = known_matrix(40, 30, 0.5 ** np.arange(30))
    op = as_operator(A)
    range_finder(op, 5, oversample=3, power_iters=2, rng=0)
    assert (op.num_matvecs, op.num_rmatvecs) == (3 * 8, 2 * 8)


def test_probe_array_and_kinds(xp, to_xp):
    A = known_matrix(30, 20, 0.5 ** np.arange(20))
    omega = np.random.default_rng(0).standard_normal((20, 8))
    Q = range_finder(to_xp(A), 5, oversample=3, probe=to_xp(omega))
    Qh = host(Q)
    assert _projection_error(A, Qh) < 1e-2
    for kind in ("rademacher", "srft", "sparse_sign", "orthonormal"):
        Q = range_finder(to_xp(A), 5, oversample=3, probe=kind, rng=0)
        assert _projection_error(A, Q) < 1e-2
    with pytest.raises(ValueError, match=r"probe must have shape \(20, 8\)"):
        range_finder(to_xp(A), 5, oversample=3, probe=to_xp(omega[:, :7]))
    with pytest.raises(ValueError, match="probe must be one of"):
        range_finder(to_xp(A), 5, probe="uniform")


def test_mixed_backends_named(torch):
    A = known_matrix(30, 20, 0.5 ** np.arange(20))
    with pytest.raises(TypeError, match="mixed array backends.*probe"):
        range_finder(torch.from_numpy(A), 5, oversample=3, probe=np.ones((20, 8)))
    with pytest.raises(TypeError, match="mixed array backends"):
        range_finder(as_operator(A), 5, oversample=3, probe=torch.ones(20, 8, dtype=torch.float64))


def test_mixed_devices_named(xs):
    A = known_matrix(30, 20, 0.5 ** np.arange(20))
    probe = xs.asarray(np.ones((20, 8)), device=xs.Device("device1"))
    with pytest.raises(ValueError, match="different devices.*probe"):
        range_finder(xs.asarray(A), 5, oversample=3, probe=probe)
    with pytest.raises(ValueError, match="different devices"):
        range_finder(as_operator(xs.asarray(A)), 5, oversample=3, probe=probe)


def test_errors(xp, to_xp):
    A = to_xp(known_matrix(12, 10, np.ones(10)))
    for bad in (0, 11, -1):
        with pytest.raises(ValueError, match="rank must satisfy 1 <= rank <= min"):
            range_finder(A, bad)
    with pytest.raises(TypeError, match="rank must be an integer"):
        range_finder(A, 2.0)
    with pytest.raises(ValueError, match="oversample must be >= 0"):
        range_finder(A, 2, oversample=-1)
    with pytest.raises(ValueError, match="power_iters must be >= 0"):
        range_finder(A, 2, power_iters=-1)
    with pytest.raises(ValueError, match="normalizer must be one of"):
        range_finder(A, 2, normalizer="cholesky")
    bad = known_matrix(12, 10, np.ones(10))
    bad[3, 4] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        range_finder(to_xp(bad), 2)
    bad[3, 4] = np.inf
    with pytest.raises(ValueError, match="NaN or infinite"):
        range_finder(to_xp(bad), 2, power_iters=0)
    with pytest.raises(TypeError, match="A must have dtype"):
        range_finder(xp.asarray(np.ones((4, 4), dtype=np.int64)), 2)
    if hasattr(xp, "float16"):
        with pytest.raises(TypeError, match="A must have dtype"):
            range_finder(xp.asarray(np.ones((4, 4), dtype=np.float16)), 2)


# -- adaptive ---------------------------------------------------------------------


def test_adaptive_spectral_meets_tol(xp, to_xp):
    sigma = 0.8 ** np.arange(60)
    A = known_matrix(80, 60, sigma, seed=5)
    tol = 1e-3
    for seed in range(4):
        res = adaptive_range_finder(to_xp(A), tol, block_size=10, rng=seed)
        true = _projection_error(A, res.Q)
        assert res.converged and res.norm == 2
        # P(true > estimate) <= 10**-10 (HMT Lemma 4.1 with alpha = 10, r = 10)
        assert true <= res.error_estimate <= tol
        Qh = host(res.Q)
        np.testing.assert_allclose(Qh.T @ Qh, np.eye(res.rank), atol=1e-12)
        # every block joined the basis except the final check
        assert res.num_matvecs == res.rank + 10
        assert res.failure_probability == 1e-10


@pytest.mark.parametrize("norm", [2, "fro"])
def test_adaptive_same_seed_across_backends(xp, to_xp, norm):
    A = known_matrix(50, 40, 0.7 ** np.arange(40), seed=11)
    ref = adaptive_range_finder(A, 1e-4, block_size=3, norm=norm, rng=4)
    got = adaptive_range_finder(to_xp(A), 1e-4, block_size=3, norm=norm, rng=4)
    assert (got.rank, got.num_matvecs, got.converged) == (ref.rank, ref.num_matvecs, ref.converged)
    np.testing.assert_allclose(host(got.Q), ref.Q, atol=1e-10)
    assert got.error_estimate == pytest.approx(ref.error_estimate, rel=1e-6)


def test_adaptive_estimate_failure_rate(xp, to_xp):
    # With one probe per check, HMT Lemma 4.1 (alpha = 10, r = 1) gives
    # P(true error > estimate) <= 0.1 at the stopping check. Over N seeds the
    # number of failures is at most Binomial(N, 0.1); we allow its 1 - 1e-6
    # quantile, so a correct implementation fails this test with p < 1e-6,
    # while an estimate missing its 10 sqrt(2/pi) factor fails most seeds.
    A = known_matrix(40, 30, 0.6 ** np.arange(30), seed=6)
    Ax = to_xp(A)
    n_seeds = 40
    failures = 0
    for seed in range(n_seeds):
        res = adaptive_range_finder(Ax, 1e-3, block_size=1, rng=seed)
        failures += _projection_error(A, res.Q) > res.error_estimate
    assert failures <= binom.ppf(1 - 1e-6, n_seeds, 0.1)


def test_adaptive_frobenius_is_exact(xp, to_xp):
    sigma = 1.0 / np.arange(1, 51) ** 1.5
    A = known_matrix(70, 50, sigma, seed=7)
    tol = 0.02
    res = adaptive_range_finder(to_xp(A), tol, block_size=4, norm="fro", rng=0)
    true = _projection_error(A, res.Q, "fro")
    assert res.converged and res.norm == "fro" and res.failure_probability == 0.0
    # ||A||_F^2 - ||B||_F^2 in floating point: absolute error ~ a few eps ||A||_F^2
    assert abs(res.error_estimate ** 2 - true ** 2) <= 100 * 2.2e-16 * np.sum(sigma ** 2)
    assert true <= tol
    # the basis is minimal up to one block: dropping the last block misses tol
    assert _projection_error(A, host(res.Q)[:, :res.rank - 4], "fro") > tol
    assert res.num_matvecs == 2 * res.rank  # A Omega and A^T Q_i per block


def test_adaptive_max_rank_and_exact_rank(xp, to_xp):
    A = known_matrix(60, 50, 1.0 / np.arange(1, 51), seed=8)
    with pytest.warns(randla.ConvergenceWarning, match="max_rank=12"):
        res = adaptive_range_finder(to_xp(A), 1e-12, block_size=5, max_rank=12, rng=1)
    assert not res.converged and res.rank == 12
    assert _projection_error(A, res.Q) <= res.error_estimate
    low = known_matrix(60, 50, np.array([4.0, 2, 1, 0.5, 0.25, 0.1, 0.05]), seed=9)
    res = adaptive_range_finder(to_xp(low), 1e-8, block_size=5, rng=2)
    assert res.converged and res.rank == 10
    assert _projection_error(low, res.Q) <= 1e-12
    res = adaptive_range_finder(to_xp(low), 10.0, norm="fro", rng=2)
    assert res.converged and res.rank == 0  # ||A||_F <= tol: nothing to add


def test_adaptive_power_iterations_reduce_rank():
    # power iterations sharpen each block, so fewer columns meet the same tol
    A = known_matrix(120, 100, 1.0 / np.arange(1, 101) ** 2, seed=10)
    for seed in range(2):
        plain = adaptive_range_finder(A, 0.03, block_size=5, rng=seed)
        power = adaptive_range_finder(A, 0.03, block_size=5, power_iters=2, rng=seed)
        assert plain.converged and power.converged
        assert power.rank < plain.rank
        assert _projection_error(A, power.Q) <= power.error_estimate


def test_adaptive_errors(xp, to_xp):
    A = to_xp(known_matrix(12, 10, np.ones(10)))
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="tol must be a finite number > 0"):
            adaptive_range_finder(A, bad)
    with pytest.raises(ValueError, match="block_size must be >= 1"):
        adaptive_range_finder(A, 0.1, block_size=0)
    with pytest.raises(ValueError, match="max_rank must satisfy"):
        adaptive_range_finder(A, 0.1, max_rank=11)
    with pytest.raises(ValueError, match="norm must be 2 or 'fro'"):
        adaptive_range_finder(A, 0.1, norm="nuc")
    with pytest.raises(ValueError, match="probe must be 'gaussian'"):
        adaptive_range_finder(A, 0.1, probe="rademacher")
    M = to_host(A)
    op = as_operator(lambda X: M @ X, shape=M.shape, rmatmat=lambda Y: M.T @ Y)
    with pytest.raises(ValueError, match="norm='fro' needs"):
        adaptive_range_finder(op, 0.1, norm="fro")
    forward_only = as_operator(lambda X: M @ X, shape=M.shape)
    with pytest.raises(TypeError, match="adjoint"):
        adaptive_range_finder(forward_only, 0.1, power_iters=1)
    assert adaptive_range_finder(forward_only, 0.1, rng=0).rank >= 1


def test_adaptive_warns_when_max_rank_stops_it():
    A = np.random.default_rng(0).standard_normal((40, 30))
    assert not issubclass(randla.ConvergenceWarning, RuntimeWarning)
    with pytest.warns(randla.ConvergenceWarning, match=r"max_rank=5.*tol"):
        res = adaptive_range_finder(A, 1e-8, max_rank=5, rng=0)
    assert not res.converged and res.rank == 5


def test_result_repr_shows_the_shape_of_q_not_its_entries():
    A = np.random.default_rng(0).standard_normal((400, 300))
    with pytest.warns(randla.ConvergenceWarning):
        res = adaptive_range_finder(A, 1e-8, max_rank=50, rng=0)
    text = repr(res)
    assert "shape (400, 50)" in text and len(text) < 300 and "converged=False" in text


def test_tensor_requiring_grad_gives_no_torch_warning(torch):
    import warnings

    A = torch.tensor(known_matrix(30, 20, 0.5 ** np.arange(20)), requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for func in (randla.rsvd, randla.rqr, randla.single_pass_svd, range_finder):
            func(A, 3, rng=0)
        randla.nystrom(A @ A.T, 3, rng=0)
        adaptive_range_finder(A, 1e-3, rng=0)
