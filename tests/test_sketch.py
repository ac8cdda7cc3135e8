"""randla.sketch: equal to the dense product with draw_probes' matrix, every kind and path."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse

from randla import as_operator, sketch
from randla.backend import to_host
from randla.random import PROBE_KINDS, draw_probes, sparse_sign, srft


def _dense_reference(A, k, kind, rng, side):
    """A @ Omega or Omega^T @ A with the host-drawn dense Omega (NumPy float64)."""
    n = A.shape[1] if side == "right" else A.shape[0]
    Omega = draw_probes(kind, n, k, rng=rng)
    return A @ Omega if side == "right" else Omega.T @ A


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_equals_dense_product(xp, to_xp, kind, side):
    """Same seed -> A @ draw_probes(kind, ...) on every backend (host-drawn test matrices)."""
    A = np.random.default_rng(0).standard_normal((37, 24))
    got = sketch(to_xp(A), 7, probe=kind, rng=11, side=side)
    expected = _dense_reference(A, 7, kind, 11, side)
    assert got.shape == expected.shape
    np.testing.assert_allclose(to_host(got), expected, rtol=1e-11, atol=1e-11)


@pytest.mark.parametrize("n", [1, 2, 9, 10])
@pytest.mark.parametrize("side", ["right", "left"])
def test_srft_fft_equals_matrix_all_columns(xp, to_xp, n, side):
    """The FFT path picks exactly the cos/sin/Nyquist columns of random.srft (k = n)."""
    A = np.random.default_rng(n).standard_normal((n, n) if side == "left" else (3, n))
    got = to_host(sketch(to_xp(A), n, probe="srft", rng=4, side=side))
    Omega = srft(n, n, rng=4)
    np.testing.assert_allclose(got, A @ Omega if side == "right" else Omega.T @ A,
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("kind", ["srft", "sparse_sign", "gaussian"])
@pytest.mark.parametrize("side", ["right", "left"])
def test_complex_input(kind, side):
    rng = np.random.default_rng(2)
    A = rng.standard_normal((12, 10)) + 1j * rng.standard_normal((12, 10))
    got = sketch(A, 4, probe=kind, rng=3, side=side)
    assert got.dtype == np.complex128
    np.testing.assert_allclose(got, _dense_reference(A, 4, kind, 3, side), rtol=1e-12,
                               atol=1e-12)


@pytest.mark.parametrize("kind", PROBE_KINDS)
def test_float32(kind):
    A = np.random.default_rng(1).standard_normal((30, 20)).astype(np.float32)
    got = sketch(A, 5, probe=kind, rng=2)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, _dense_reference(A.astype(np.float64), 5, kind, 2, "right"),
                               rtol=1e-4, atol=1e-4)


def test_sparse_sign_options():
    A = np.random.default_rng(5).standard_normal((80, 50))
    for side in ("right", "left"):
        n = 50 if side == "right" else 80
        Omega = sparse_sign(n, 6, nnz_per_row=3, rng=8)
        expected = A @ Omega if side == "right" else Omega.T @ A
        for parallel in (False, True):
            got = sketch(A, 6, probe="sparse_sign", nnz_per_row=3, rng=8, side=side,
                         parallel=parallel)
            np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("side", ["right", "left"])
@pytest.mark.parametrize("kind", ["gaussian", "srft", "sparse_sign"])
def test_operators(kind, side):
    """Operators go through matmat / rmatmat with the same test matrix."""
    A = scipy.sparse.random(15, 11, density=0.3, random_state=0, format="csr")
    expected = _dense_reference(A.toarray(), 4, kind, 6, side)
    got = sketch(A, 4, probe=kind, rng=6, side=side)
    np.testing.assert_allclose(np.asarray(got), expected, rtol=1e-12, atol=1e-12)
    dense = A.toarray()
    op = as_operator(lambda X: dense @ X, shape=(15, 11), dtype=np.float64,
                     rmatmat=lambda Y: dense.T @ Y)
    np.testing.assert_allclose(sketch(op, 4, probe=kind, rng=6, side=side), expected,
                               rtol=1e-12, atol=1e-12)
    assert (op.num_matvecs if side == "right" else op.num_rmatvecs) == 4


def test_complex_operator_left():
    rng = np.random.default_rng(9)
    A = rng.standard_normal((6, 5)) + 1j * rng.standard_normal((6, 5))
    op = as_operator(lambda X: A @ X, shape=(6, 5), dtype=np.complex128,
                     rmatmat=lambda Y: A.conj().T @ Y)
    np.testing.assert_allclose(sketch(op, 3, rng=1, side="left"),
                               _dense_reference(A, 3, "gaussian", 1, "left"), rtol=1e-12)


def test_same_seed_same_result():
    A = np.random.default_rng(0).standard_normal((20, 15))
    for kind in PROBE_KINDS:
        np.testing.assert_array_equal(sketch(A, 5, probe=kind, rng=3), sketch(A, 5, probe=kind, rng=3))
    gen = np.random.default_rng(1)
    assert not np.allclose(sketch(A, 5, rng=gen), sketch(A, 5, rng=gen))


@pytest.mark.parametrize("kwargs, args, exc, match", [
    ({"probe": "bernoulli"}, (5,), ValueError, "probe"),
    ({"side": "top"}, (5,), ValueError, "side"),
    ({}, (0,), ValueError, "num_cols"),
    ({}, (2.5,), TypeError, "num_cols"),
    ({"probe": "orthonormal"}, (16,), ValueError, "num_cols"),
    ({"probe": "srft", "side": "left"}, (21,), ValueError, "num_cols"),
    ({"probe": "gaussian", "nnz_per_row": 2}, (5,), ValueError, "nnz_per_row"),
    ({"probe": "sparse_sign", "nnz_per_row": 9}, (5,), ValueError, "nnz_per_row"),
])
def test_option_errors(kwargs, args, exc, match):
    A = np.ones((20, 15))
    with pytest.raises(exc, match=match):
        sketch(A, *args, **kwargs)


def test_kind_is_a_deprecated_alias_of_probe():
    A = np.random.default_rng(0).standard_normal((20, 15))
    with pytest.warns(DeprecationWarning, match="probe"):
        got = sketch(A, 5, kind="srft", rng=3)
    np.testing.assert_array_equal(got, sketch(A, 5, probe="srft", rng=3))
    with pytest.raises(TypeError, match="kind"):
        sketch(A, 5, probe="srft", kind="srft")


def test_input_errors():
    with pytest.raises(TypeError, match="A"):
        sketch(np.ones((4, 3), dtype=np.int64), 2)
    with pytest.raises(TypeError, match="A"):
        sketch(np.ones((4, 3), dtype=np.float16), 2)
    with pytest.raises(ValueError, match="2-D"):
        sketch(np.ones((4, 3, 2)), 2)
    with pytest.raises(ValueError, match="A contains NaN"):
        sketch(np.array([[1.0, np.nan], [0.0, 1.0]]), 1)
    with pytest.raises(TypeError):
        sketch("not a matrix", 2)
