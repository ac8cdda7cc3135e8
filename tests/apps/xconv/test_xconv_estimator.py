"""Statistical tests of the probed weight gradient (randla.apps.xconv.core / probes).

Tolerances come from the estimator's variance:

* unbiasedness: the mean of ``S`` seeded estimates has per-entry standard
  error ``sigma / sqrt(S)`` (CLT; ``sigma`` is the sample standard deviation,
  S >= 150 so the t and normal quantiles agree). We assert every entry lies
  within 6 standard errors: per entry ``P(|t| > 6) < 1e-8``, so over the
  ~1e4 entries tested the family-wise false-alarm rate is < 1e-4. The same
  statistic flags the wrap-around and repeated-index estimators of the
  original XConv code (power check below), so the bound is not vacuous.
* variance: ``T = sum_entries (est - exact)^2`` has ``E[T] =`` the derived total
  variance (formulas in ``randla.apps.xconv.probes``); the mean of ``S``
  draws of ``T`` is within 6 of its standard errors.
* rate: ``E[T] = V / r`` for Gaussian probes, so ``log mean T`` is linear in
  ``log r`` with slope -1 (RMS error slope -1/2); the slope tolerance is 5
  standard errors propagated from each point's standard error (delta method).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from xconv_helpers import estimator_variance, exact_from_taps, structured_data

from randla.backend import to_host
from randla.apps.xconv import (
    PROBES, conv_geometry, conv_weight_grad, probe_layout, sketch_input, weight_grad,
)

Z_BOUND = 6.0

# (spatial shape, kernel, stride, padding, dilation, groups, channels, out channels, r)
# covering 1-, 2-, 3-d; stride 1..3; padding 0, symmetric, "same" (asymmetric for even
# kernels), explicit (lo, hi); dilation 1..2; groups 1, 2, 4; non-square images;
# r < C (shared columns), r = C, r > C with unequal blocks.
GEOMETRIES = [
    ((11,), 3, 1, 1, 1, 1, 2, 3, 5),
    ((12,), 4, 1, "same", 1, 2, 4, 2, 3),
    ((13,), 3, 3, 2, 2, 1, 3, 2, 7),
    ((6, 5), 3, 1, 1, 1, 1, 2, 3, 4),
    ((7, 5), 3, 2, 0, 1, 2, 4, 4, 6),
    ((6, 7), 2, 1, "same", 2, 1, 3, 2, 2),
    ((7, 6), (3, 2), (2, 1), ((2, 0), (1, 1)), (1, 2), 4, 4, 4, 4),
    ((8, 5), 3, (1, 2), "valid", 2, 2, 2, 4, 3),
    ((4, 5, 3), 3, 1, 1, 1, 1, 2, 2, 5),
    ((5, 4, 4), 2, 2, (1, 0, 1), 1, 2, 2, 4, 1),
    ((4, 3, 5), (3, 1, 2), 1, "same", (1, 1, 2), 1, 3, 2, 4),
]


def _case(index, seed=0, structured=True):
    spatial, k, s, p, d, g, c, co, r = GEOMETRIES[index]
    geom = conv_geometry(len(spatial), k, stride=s, padding=p, dilation=d, groups=g)
    out = geom.output_shape(spatial)
    rng = np.random.default_rng(seed)
    if structured:
        X, dY = structured_data(rng, 3, c, co, spatial, out)
    else:
        X, dY = rng.standard_normal((3, c) + spatial), rng.standard_normal((3, co) + out)
    kwargs = dict(kernel_size=k, stride=s, padding=p, dilation=d, groups=g)
    return X, dY, geom, kwargs, r


def _estimates(X, dY, kwargs, r, probe, mode, seeds):
    return np.stack([weight_grad(sketch_input(X, r, probe=probe, mode=mode, rng=int(s)), dY,
                                 **kwargs) for s in seeds])


def _max_z(estimates, exact):
    S = estimates.shape[0]
    se = estimates.std(axis=0, ddof=1) / math.sqrt(S)
    assert np.all(se > 0)
    return float(np.max(np.abs(estimates.mean(axis=0) - exact) / se))


def test_reference_matches_dense_tap_matrices():
    # the exact gradient used below equals an independent dense construction
    for i in range(len(GEOMETRIES)):
        X, dY, geom, kwargs, _ = _case(i)
        np.testing.assert_allclose(conv_weight_grad(X, dY, **kwargs),
                                   exact_from_taps(X, dY, geom), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["per_channel", "multi_channel"])
@pytest.mark.parametrize("probe", PROBES)
@pytest.mark.parametrize("case", range(len(GEOMETRIES)))
def test_unbiased(case, probe, mode):
    X, dY, geom, kwargs, r = _case(case)
    n = math.prod(X.shape[2:])
    if probe in ("orthonormal", "srft"):
        r = min(r, n)
    exact = conv_weight_grad(X, dY, **kwargs)
    est = _estimates(X, dY, kwargs, r, probe, mode, range(1000, 1150))
    assert _max_z(est, exact) < Z_BOUND


def _wraparound_estimate(X, dY, r, seed):
    """The original XConv backward: periodic shifts (roll) of the flattened grid.

    2-d, 3x3 kernel, stride 1, padding 1, per-channel Gaussian probes.
    """
    B, C, nx, ny = X.shape
    N = nx * ny
    Z = np.random.default_rng(seed).standard_normal((N, r))
    Xs = np.einsum("bcn,nj->bcj", X.reshape(B, C, N), Z)
    dYf = dY.reshape(B, dY.shape[1], N)
    out = np.zeros((dY.shape[1], C, 3, 3))
    for a in range(3):
        for b in range(3):
            shifted = np.roll(Z, -((a - 1) * ny + (b - 1)), axis=0)
            Ybar = np.einsum("bon,nj->boj", dYf, shifted)
            out[:, :, a, b] = np.einsum("boj,bcj->oc", Ybar, Xs) / r
    return out


def _repeated_index_estimate(X, dY, r, seed):
    """The original multi-channel sampling: 8 columns per channel from randperm(8C) % r."""
    B, C, nx, ny = X.shape
    N = nx * ny
    gen = np.random.default_rng(seed)
    Z = np.zeros((C, N, r))
    idx = np.split(gen.permutation(8 * C) % r, C)
    for c in range(C):
        block = np.zeros((N, r))
        block[:, idx[c]] = gen.standard_normal((N, 8))  # repeated columns overwrite
        Z[c] = math.sqrt(r / 8) * block
    Xs = np.einsum("bcn,cnj->bj", X.reshape(B, C, N), Z)
    dYf = dY.reshape(B, dY.shape[1], nx, ny)
    pad = np.pad(Z.reshape(C, nx, ny, r), ((0, 0), (1, 1), (1, 1), (0, 0)))
    out = np.zeros((dY.shape[1], C, 3, 3))
    for a in range(3):
        for b in range(3):
            shifted = pad[:, a:a + nx, b:b + ny, :]
            Ybar = np.einsum("boxy,cxyj->bocj", dYf, shifted)
            out[:, :, a, b] = np.einsum("bocj,bj->oc", Ybar, Xs) / r
    return out


def test_bound_detects_biased_estimators():
    # power check: the bound used above rejects the two known biases of the
    # original implementation on data where ours passes
    rng = np.random.default_rng(3)
    X, dY = structured_data(rng, 3, 2, 2, (6, 5), (6, 5))
    exact = conv_weight_grad(X, dY, kernel_size=3, padding=1)
    seeds = range(2000, 2150)
    wrap = np.stack([_wraparound_estimate(X, dY, 8, s) for s in seeds])
    assert _max_z(wrap, exact) > Z_BOUND
    repeated = np.stack([_repeated_index_estimate(X, dY, 4, s) for s in seeds])
    assert _max_z(repeated, exact) > Z_BOUND
    ours = _estimates(X, dY, dict(kernel_size=3, padding=1), 8, "gaussian", "per_channel", seeds)
    assert _max_z(ours, exact) < Z_BOUND


@pytest.mark.parametrize("mode", ["per_channel", "multi_channel"])
@pytest.mark.parametrize("probe", ["gaussian", "rademacher", "sphere", "orthonormal"])
@pytest.mark.parametrize("case", [1, 4])  # r < C (shared columns); r > C, unequal blocks
def test_variance_matches_derivation(case, probe, mode):
    # unstructured data: T has light tails, so 500 draws pin E[T] to a few percent
    X, dY, geom, kwargs, r = _case(case, seed=7, structured=False)
    exact = conv_weight_grad(X, dY, **kwargs)
    n = math.prod(X.shape[2:])
    layout = probe_layout(mode, r, X.shape[1], n, probe=probe)
    predicted = estimator_variance(X, dY, geom, probe, mode, r, layout)
    est = _estimates(X, dY, kwargs, r, probe, mode, range(5000, 5500))
    T = np.sum((est - exact) ** 2, axis=tuple(range(1, est.ndim)))
    se = T.std(ddof=1) / math.sqrt(T.size)
    assert abs(T.mean() - predicted) < Z_BOUND * se
    # and the bound is informative: it would catch a 30% error in the formula
    assert Z_BOUND * se < 0.3 * predicted


@pytest.mark.parametrize("mode", ["per_channel", "multi_channel"])
def test_error_decreases_like_inverse_sqrt_probes(mode):
    rng = np.random.default_rng(11)
    X = rng.standard_normal((4, 2, 9, 8))
    dY = rng.standard_normal((4, 3, 9, 8))
    kwargs = dict(kernel_size=3, padding=1)
    exact = conv_weight_grad(X, dY, **kwargs)
    num_probes = np.array([4, 8, 16, 32, 64, 128])
    logs, sds = [], []
    for r in num_probes:
        est = _estimates(X, dY, kwargs, int(r), "gaussian", mode, range(40))
        T = np.sum((est - exact) ** 2, axis=(1, 2, 3, 4))
        logs.append(math.log(T.mean()))
        sds.append(T.std(ddof=1) / math.sqrt(T.size) / T.mean())  # sd of log(mean T)
    x = np.log(num_probes)
    w = (x - x.mean()) / np.sum((x - x.mean()) ** 2)
    slope = float(np.sum(w * np.array(logs))) / 2          # RMS error slope
    slope_se = float(np.sqrt(np.sum(w**2 * np.array(sds) ** 2))) / 2
    assert slope_se < 0.05                                  # the fit can tell -1/2 from -1/4
    assert abs(slope + 0.5) < 5 * slope_se


@pytest.mark.parametrize("case", [0, 3, 6, 9])
def test_orthonormal_exact_with_all_pixels(case):
    X, dY, geom, kwargs, _ = _case(case)
    C, n = X.shape[1], math.prod(X.shape[2:])
    exact = conv_weight_grad(X, dY, **kwargs)
    per = weight_grad(sketch_input(X, n, probe="orthonormal", mode="per_channel", rng=1), dY,
                      **kwargs)
    np.testing.assert_allclose(per, exact, rtol=1e-9, atol=1e-9 * np.abs(exact).max())
    multi = weight_grad(sketch_input(X, C * n, probe="orthonormal", mode="multi_channel", rng=2),
                        dY, **kwargs)
    np.testing.assert_allclose(multi, exact, rtol=1e-9, atol=1e-9 * np.abs(exact).max())
    # one column fewer is no longer exact
    fewer = weight_grad(sketch_input(X, n - 1, probe="orthonormal", mode="per_channel", rng=1),
                        dY, **kwargs)
    assert np.abs(fewer - exact).max() > 1e-6 * np.abs(exact).max()


@pytest.mark.parametrize("mode", ["per_channel", "multi_channel"])
@pytest.mark.parametrize("case", [2, 6, 9])
def test_same_seed_same_estimate_on_every_backend(xp, to_xp, case, mode):
    X, dY, geom, kwargs, r = _case(case)
    ref = weight_grad(sketch_input(X, r, mode=mode, rng=5), dY, **kwargs)
    sk = sketch_input(to_xp(X), r, mode=mode, rng=5)
    ref_sketch = sketch_input(X, r, mode=mode, rng=5).values
    np.testing.assert_allclose(to_host(sk.values), ref_sketch, rtol=1e-12, atol=1e-12)
    got = weight_grad(sk, to_xp(dY), **kwargs)

    np.testing.assert_allclose(to_host(got), ref, rtol=1e-10, atol=1e-10 * np.abs(ref).max())
    # the unbiased-in-expectation estimate also reproduces for the same seed
    again = weight_grad(sketch_input(to_xp(X), r, mode=mode, rng=5), to_xp(dY), **kwargs)
    np.testing.assert_array_equal(to_host(again), to_host(got))


@pytest.mark.parametrize("probe", ["gaussian", "rademacher"])
@pytest.mark.parametrize("case", range(len(GEOMETRIES)))
def test_dense_mode_unbiased(case, probe):
    """mode="dense": every channel sees every column of one joint probe."""
    X, dY, geom, kwargs, r = _case(case)
    exact = conv_weight_grad(X, dY, **kwargs)
    est = _estimates(X, dY, kwargs, r, probe, "dense", range(2000, 2150))
    assert _max_z(est, exact) < Z_BOUND


@pytest.mark.parametrize("case", [0, 4, 6, 9])
def test_dense_mode_exact_with_a_full_orthonormal_frame(case):
    X, dY, geom, kwargs, _ = _case(case)
    joint = X.shape[1] * math.prod(X.shape[2:])
    sketch = sketch_input(X, joint, probe="orthonormal", mode="dense", rng=3)
    assert sketch.values.shape == (X.shape[0], joint)
    np.testing.assert_allclose(weight_grad(sketch, dY, **kwargs),
                               conv_weight_grad(X, dY, **kwargs), rtol=1e-10, atol=1e-10)
    with pytest.raises(ValueError, match="channels x pixels"):
        sketch_input(X, joint + 1, probe="orthonormal", mode="dense")
