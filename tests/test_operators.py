"""as_operator: every input kind passes the dot-product test; errors are clear."""

import numpy as np
import pytest
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from randla import LinearOperator, as_operator, dot_test


def test_dense_dot_test(xp, to_xp):
    a = to_xp(np.random.default_rng(0).standard_normal((7, 5)))
    op = as_operator(a)
    assert op.shape == (7, 5) and op.xp is xp
    dot_test(op, rng=1, num_vectors=3, rtol=1e-12)
    assert op.num_matvecs == 3 and op.num_rmatvecs == 3


def test_adjoint_operator(xp, to_xp):
    a = np.random.default_rng(0).standard_normal((4, 6))
    op = as_operator(to_xp(a)).H
    assert op.shape == (6, 4)
    y = op.matmat(to_xp(np.eye(4)))
    from randla.backend import to_host

    np.testing.assert_allclose(to_host(y), a.T)


def test_scipy_inputs():
    a = sp.random(30, 20, density=0.2, random_state=0, format="csr")
    dot_test(a, rng=0, rtol=1e-12)
    lo = spla.aslinearoperator(a)
    dot_test(lo, rng=0, rtol=1e-12)
    np.testing.assert_allclose(as_operator(lo).matmat(np.eye(20)), a.toarray())


def test_callable():
    m = np.random.default_rng(1).standard_normal((5, 3))
    op = as_operator(lambda X: m @ X, shape=(5, 3), rmatmat=lambda Y: m.T @ Y)
    dot_test(op, rng=2, rtol=1e-12)
    with pytest.raises(TypeError, match="pass shape="):
        as_operator(lambda X: X)
    no_adj = as_operator(lambda X: m @ X, shape=(5, 3))
    with pytest.raises(TypeError, match="no adjoint"):
        no_adj.rmatmat(np.ones((5, 1)))


def test_errors(xp, to_xp):
    with pytest.raises(ValueError, match="2-D"):
        as_operator(to_xp(np.ones(3)))
    with pytest.raises(ValueError, match="NaN"):
        as_operator(to_xp(np.array([[1.0, np.inf]])))
    if hasattr(xp, "int64"):
        with pytest.raises(TypeError, match="A must have dtype"):
            as_operator(xp.asarray(np.ones((2, 2), dtype=np.int64)))
    op = as_operator(to_xp(np.eye(3)))
    with pytest.raises(ValueError, match=r"X must have shape \(3, k\)"):
        op.matmat(to_xp(np.ones((4, 1))))
    with pytest.raises(TypeError, match="A must be an array"):
        as_operator("matrix")


def test_mixed_backend_block(torch):
    op = as_operator(np.eye(3))
    with pytest.raises(TypeError, match="torch.*never converts"):
        op.matmat(torch.ones(3, 1, dtype=torch.float64))


def test_linear_operator_is_returned_unchanged():
    op = as_operator(np.eye(2))
    assert as_operator(op) is op and isinstance(op, LinearOperator)


def test_dot_test_argument_errors():
    A = np.arange(6.0).reshape(2, 3)
    with pytest.raises(ValueError, match="num_vectors must be >= 1"):
        dot_test(A, num_vectors=0)
    with pytest.raises(TypeError, match="num_vectors must be an integer"):
        dot_test(A, num_vectors=1.5)
    with pytest.raises(ValueError, match="rtol must be >= 0"):
        dot_test(A, rtol=-1.0)
    with pytest.raises(TypeError, match="rtol must be a float"):
        dot_test(A, rtol="tight")
    with pytest.raises(TypeError, match="no adjoint"):
        dot_test(as_operator(lambda X: X, shape=(3, 3)))
    wrong = as_operator(lambda X: A @ X, shape=(2, 3), rmatmat=lambda Y: 2 * (A.T @ Y))
    with pytest.raises(AssertionError, match="dot test failed"):
        dot_test(wrong, rng=0, rtol=1e-6)


def test_linear_operator_accepts_a_library_module(torch):
    """``xp=numpy`` (the module) works like its array-api-compat namespace."""
    A = np.arange(6.0).reshape(2, 3)
    op = LinearOperator((2, 3), lambda X: A @ X, rmatmat=lambda Y: A.T @ Y,
                        dtype=np.float64, xp=np)
    np.testing.assert_array_equal(op.matmat(np.eye(3)), A)
    lhs, rhs = dot_test(op, rng=0, rtol=1e-12)
    assert lhs == pytest.approx(rhs, rel=1e-12)
    At = torch.from_numpy(A)
    top = LinearOperator((2, 3), lambda X: At @ X, dtype=torch.float64, xp=torch)
    np.testing.assert_array_equal(top.matmat(torch.eye(3, dtype=torch.float64)).numpy(), A)


@pytest.mark.parametrize("dtype", [np.float64, np.complex128])
def test_scipy_sparse_adjoint_without_a_transposed_copy(dtype):
    """``A^H Y`` of a sparse matrix runs on a view of A: no copy of A is kept."""
    import tracemalloc

    import scipy.sparse as sp

    A = sp.random(3000, 2000, density=0.01, format="csr", dtype=np.float64, random_state=0)
    if dtype is np.complex128:
        A = A + 1j * sp.random(3000, 2000, density=0.01, format="csr", random_state=1)
    Y = np.random.default_rng(0).standard_normal((3000, 3))
    as_operator(sp.eye(3, format="csr", dtype=dtype)).rmatmat(np.ones((3, 1)))  # imports
    tracemalloc.start()
    op = as_operator(A)
    got = op.rmatmat(Y)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    np.testing.assert_allclose(got, A.conj().T @ Y, rtol=1e-12)
    assert peak < 0.25 * (A.data.nbytes + A.indices.nbytes)
