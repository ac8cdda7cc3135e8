"""One linear-operator protocol for every estimator: ``matmat`` / ``rmatmat``.

:func:`as_operator` turns dense arrays of any array-API backend, SciPy sparse
matrices and ``LinearOperator`` objects, and plain callables into a
:class:`LinearOperator` with ``shape``, ``dtype``, ``device`` and ``xp``
(its array namespace). Estimators only ever call ``matmat(X)`` (``A @ X``) and
``rmatmat(Y)`` (``A^H @ Y``) with blocks of vectors, so matrix-free use is the
norm, and each operator counts the matrix-vector products it performed.

Every operator carries a dot-product test, :func:`dot_test`, checking
``<A x, y> = <x, A^H y>`` (Claerbout's test, as in PyLops).
"""

from __future__ import annotations

import numbers
import warnings
from typing import Any, Callable

import numpy as np

from .backend import (
    array_namespace,
    check_finite,
    check_float,
    check_on,
    check_positive_int,
    device_of,
    is_array,
    namespace,
)

__all__ = ["LinearOperator", "as_operator", "dot_test"]


class LinearOperator:
    """A linear map given by its action on blocks of vectors.

    Parameters
    ----------
    shape : tuple of int
        ``(m, n)``.
    matmat : callable
        ``X (n, k) -> A @ X (m, k)``.
    rmatmat : callable, optional
        ``Y (m, k) -> A^H @ Y (n, k)``. Required by methods that need the
        adjoint (range finders with power iterations, rSVD, rQR); for a
        ``symmetric`` operator ``matmat`` is used.
    dtype : dtype
        Of the operator's namespace (float32/float64/complex64/complex128).
    xp : namespace
        Array namespace of the vectors the operator acts on (a library module
        such as ``numpy`` or ``torch``, or its array-api-compat namespace).
    device : optional
        Device of those vectors.
    symmetric : bool
        Declares ``A == A^H`` (used as the adjoint when ``rmatmat`` is absent).

    Attributes
    ----------
    num_matvecs, num_rmatvecs : int
        Columns processed by ``matmat`` / ``rmatmat`` so far.

    Raises
    ------
    ValueError
        A ``shape`` that is not two positive integers; blocks of the wrong
        shape, backend or device passed to ``matmat`` / ``rmatmat``.
    TypeError
        ``rmatmat`` of an operator without adjoint; blocks that are not arrays.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with
    randomness: probabilistic algorithms for constructing approximate matrix
    decompositions", SIAM Review 53 (2011), Section 1.4 (randomized methods need only products with
    blocks of vectors).

    Examples
    --------
    >>> from randla import LinearOperator
    >>> op = LinearOperator((3, 2), lambda X: np.ones((3, 2)) @ X,
    ...                     rmatmat=lambda Y: np.ones((2, 3)) @ Y, dtype=np.float64, xp=np)
    >>> op.matmat(np.eye(2)).shape, op.rmatvec(np.ones(3)).tolist(), op.num_matvecs
    ((3, 2), [3.0, 3.0], 2)
    """

    def __init__(
        self,
        shape: tuple[int, int],
        matmat: Callable[[Any], Any],
        *,
        rmatmat: Callable[[Any], Any] | None = None,
        dtype: Any,
        xp: Any,
        device: Any = None,
        symmetric: bool = False,
    ) -> None:
        self.shape = _check_shape(shape)
        self._matmat = matmat
        self._rmatmat = rmatmat
        self.dtype = dtype
        self.xp = _normalize_namespace(xp)
        self.device = device
        self.symmetric = bool(symmetric)
        self.num_matvecs = 0
        self.num_rmatvecs = 0

    def __repr__(self) -> str:
        m, n = self.shape
        return f"<{m}x{n} LinearOperator dtype={self.dtype} device={self.device}>"

    @property
    def has_adjoint(self) -> bool:
        """Whether ``rmatmat`` is available."""
        return self._rmatmat is not None or self.symmetric

    def _check_block(self, X: Any, rows: int, name: str) -> int:
        check_on(X, self.xp, self.device, name, "the operator")
        if X.ndim != 2 or X.shape[0] != rows:
            raise ValueError(f"{name} must have shape ({rows}, k), got {tuple(X.shape)}")
        return int(X.shape[1])

    def matmat(self, X: Any, /) -> Any:
        """``A @ X`` for a block ``X`` of shape ``(n, k)``."""
        k = self._check_block(X, self.shape[1], "X")
        self.num_matvecs += k
        return self._matmat(X)

    def rmatmat(self, Y: Any, /) -> Any:
        """``A^H @ Y`` for a block ``Y`` of shape ``(m, k)``."""
        if self._rmatmat is None:
            if self.symmetric:
                k = self._check_block(Y, self.shape[0], "Y")
                self.num_rmatvecs += k
                return self._matmat(Y)
            raise TypeError(
                "this operator has no adjoint: pass rmatmat= to as_operator "
                "(or symmetric=True) for methods that need A^H"
            )
        k = self._check_block(Y, self.shape[0], "Y")
        self.num_rmatvecs += k
        return self._rmatmat(Y)

    def matvec(self, x: Any, /) -> Any:
        """``A @ x`` for a vector ``x`` of shape ``(n,)``."""
        return self.matmat(self.xp.reshape(x, (-1, 1)))[:, 0]

    def rmatvec(self, y: Any, /) -> Any:
        """``A^H @ y`` for a vector ``y`` of shape ``(m,)``."""
        return self.rmatmat(self.xp.reshape(y, (-1, 1)))[:, 0]

    def __matmul__(self, X: Any) -> Any:
        return self.matvec(X) if X.ndim == 1 else self.matmat(X)

    @property
    def H(self) -> "LinearOperator":
        """The adjoint ``A^H`` as an operator."""
        if not self.has_adjoint:
            raise TypeError("this operator has no adjoint (pass rmatmat= to as_operator)")
        m, n = self.shape
        return LinearOperator(
            (n, m), self.rmatmat, rmatmat=self.matmat, dtype=self.dtype,
            xp=self.xp, device=self.device, symmetric=self.symmetric,
        )

    T = H


def _check_shape(shape: Any) -> tuple[int, int]:
    try:
        m, n = shape
    except (TypeError, ValueError):
        raise ValueError(f"shape must be a pair (m, n), got {shape!r}") from None
    for v in (m, n):
        if not isinstance(v, numbers.Integral) or isinstance(v, bool) or v < 1:
            raise ValueError(f"shape must hold two positive integers, got {shape!r}")
    return int(m), int(n)


def _normalize_namespace(xp: Any) -> Any:
    """The array-api-compat namespace for a raw library module or a namespace."""
    try:
        return array_namespace(xp.empty((0,)))
    except Exception as exc:
        raise TypeError(f"xp must be an array namespace, got {xp!r}") from exc


def _quiet(product: Callable) -> Callable:
    """``product`` without floating-point RuntimeWarnings (its result is checked)."""
    def quiet(X: Any) -> Any:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)
            return product(X)
    return quiet


def _dense_operator(A: Any, symmetric: bool, check: bool) -> LinearOperator:
    xp = namespace(A=A)
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D array, got {A.ndim}-D with shape {tuple(A.shape)}")
    check_float(A, "A", allow_complex=True)
    if check:
        check_finite(A, "A")
    is_complex = A.dtype in (xp.complex64, xp.complex128)
    AH = xp.conj(A).T if is_complex else A.T
    matmat, rmatmat = (lambda X: A @ X), (lambda Y: AH @ Y)
    if not check:
        # unchecked A: the caller checks the (small) products instead of A, so
        # NumPy's "invalid value in matmul" warning would only precede that error
        matmat, rmatmat = _quiet(matmat), _quiet(rmatmat)
    return LinearOperator(
        tuple(A.shape), matmat, rmatmat=rmatmat,
        dtype=A.dtype, xp=xp, device=device_of(A), symmetric=symmetric,
    )


def _scipy_operator(A: Any, symmetric: bool, check: bool) -> LinearOperator | None:
    try:
        import scipy.sparse as sp
        import scipy.sparse.linalg as spla
    except ImportError:  # pragma: no cover - scipy is a dependency
        return None
    xp = array_namespace(np.empty(0))
    if sp.issparse(A):
        if A.ndim != 2:
            raise ValueError("A must be a 2-D sparse matrix")
        if A.dtype not in (np.float32, np.float64, np.complex64, np.complex128):
            raise TypeError(f"A must have a float32/float64 dtype, got {A.dtype}")
        if check and not np.all(np.isfinite(A.data)):
            raise ValueError("A contains NaN or infinite values")
        if A.format not in ("csr", "csc"):
            A = A.tocsr()  # COO, DOK, ...: one conversion to a compressed format
        AT = A.T  # a view in the other compressed format: A is never copied
        if np.iscomplexobj(A.data):
            def rmatmat(Y):  # A^H Y = conj(A^T conj(Y))
                return np.conj(np.asarray(AT @ np.conj(Y)))
        else:
            def rmatmat(Y):
                return np.asarray(AT @ Y)
        return LinearOperator(
            A.shape, lambda X: np.asarray(A @ X), rmatmat=rmatmat,
            dtype=xp.asarray(np.empty(0, A.dtype)).dtype, xp=xp, device="cpu",
            symmetric=symmetric,
        )
    if isinstance(A, spla.LinearOperator):
        if A.dtype is None or np.dtype(A.dtype) not in (
            np.float32, np.float64, np.complex64, np.complex128
        ):
            raise TypeError(f"A must have a float32/float64 dtype, got {A.dtype}")
        return LinearOperator(
            A.shape, lambda X: np.asarray(A.matmat(X)),
            rmatmat=lambda Y: np.asarray(A.rmatmat(Y)),
            dtype=np.dtype(A.dtype), xp=xp, device="cpu", symmetric=symmetric,
        )
    return None


def as_operator(
    A: Any,
    /,
    *,
    shape: tuple[int, int] | None = None,
    dtype: Any = None,
    rmatmat: Callable[[Any], Any] | None = None,
    xp: Any = None,
    device: Any = None,
    symmetric: bool = False,
    check_finite: bool = True,
) -> LinearOperator:
    """Wrap ``A`` as a :class:`LinearOperator`.

    Parameters
    ----------
    A : array, scipy sparse matrix, scipy LinearOperator, LinearOperator or callable
        Dense 2-D arrays of any array-API library (NumPy, CuPy, torch, ...),
        SciPy sparse matrices and ``scipy.sparse.linalg.LinearOperator`` (NumPy
        vectors), an existing :class:`LinearOperator` (returned unchanged), or a
        callable ``X (n, k) -> A @ X (m, k)`` acting on blocks.
    shape : (int, int), optional
        Required for callables.
    dtype : dtype, optional
        For callables; defaults to ``xp.float64``.
    rmatmat : callable, optional
        For callables: ``Y (m, k) -> A^H @ Y``.
    xp : namespace, optional
        For callables: namespace of the vectors (NumPy by default).
    device : optional
        For callables: device of the vectors.
    symmetric : bool
        Declare ``A`` Hermitian (then ``matmat`` serves as the adjoint).
    check_finite : bool
        For dense and sparse input: reject NaN or infinity (one pass over A).

    Returns
    -------
    LinearOperator

    Raises
    ------
    TypeError
        Callables without ``shape``; integer or half-precision input; unknown types.
    ValueError
        Non-2-D arrays, non-finite entries, bad shapes.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with
    randomness: probabilistic algorithms for constructing approximate matrix
    decompositions", SIAM Review 53 (2011), Section 1.4 (matrix-free use: only ``A @ X`` and
    ``A^H @ Y`` with blocks).

    Examples
    --------
    >>> from randla import as_operator
    >>> op = as_operator(np.eye(3))
    >>> op.matmat(np.ones((3, 2))).shape
    (3, 2)
    >>> op2 = as_operator(lambda X: 2 * X, shape=(3, 3), symmetric=True)
    >>> float(op2.matvec(np.ones(3))[0])
    2.0
    """
    if isinstance(A, LinearOperator):
        return A
    if is_array(A):
        return _dense_operator(A, symmetric, check_finite)
    op = _scipy_operator(A, symmetric, check_finite)
    if op is not None:
        return op
    if callable(A):
        if shape is None:
            raise TypeError("A is a callable: pass shape=(m, n) (and dtype=, xp=, device=)")
        xp = array_namespace(np.empty(0)) if xp is None else _normalize_namespace(xp)
        if dtype is None:
            dtype = xp.float64
        if dtype not in (xp.float32, xp.float64, xp.complex64, xp.complex128):
            raise TypeError(f"dtype must be a float32/float64 (or complex) dtype, got {dtype!r}")
        return LinearOperator(
            shape, A, rmatmat=rmatmat, dtype=dtype, xp=xp, device=device, symmetric=symmetric
        )
    raise TypeError(
        "A must be an array, a scipy sparse matrix or LinearOperator, a randla "
        f"LinearOperator or a callable, got {type(A).__name__}"
    )


def dot_test(
    A: Any, /, *, rng: Any = None, num_vectors: int = 1, rtol: float | None = None,
) -> tuple[float, float]:
    """Dot-product (adjoint) test ``<A x, y> = <x, A^H y>`` for random ``x, y``.

    Parameters
    ----------
    A : operator-like
        Anything :func:`as_operator` accepts; it must have an adjoint.
    rng : int, numpy.random.Generator or None
    num_vectors : int
        Columns of the random blocks.
    rtol : float, optional
        If given, raise ``AssertionError`` when the relative mismatch exceeds it.

    Returns
    -------
    (lhs, rhs) : tuple of float
        ``<A x, y>`` and ``<x, A^H y>``.

    Raises
    ------
    AssertionError
        With ``rtol``: the relative mismatch exceeds it.
    TypeError
        An operator without adjoint; a non-integer ``num_vectors``; a
        non-numeric ``rtol``; as :func:`as_operator`.
    ValueError
        ``num_vectors < 1``; a negative ``rtol``; as :func:`as_operator`.

    References
    ----------
    J. F. Claerbout, "Earth Soundings Analysis: Processing versus Inversion",
    Blackwell (1992), Section 5.1 (the dot-product test).

    Examples
    --------
    >>> from randla import dot_test
    >>> lhs, rhs = dot_test(np.arange(6.0).reshape(2, 3), rng=0)
    >>> abs(lhs - rhs) < 1e-12 * abs(lhs)
    True
    """
    from .random import gaussian

    num_vectors = check_positive_int(num_vectors, "num_vectors")
    if rtol is not None:
        if not isinstance(rtol, numbers.Real) or isinstance(rtol, bool):
            raise TypeError(f"rtol must be a float or None, got {type(rtol).__name__}")
        if not rtol >= 0:
            raise ValueError(f"rtol must be >= 0, got {rtol}")
    op = as_operator(A)
    m, n = op.shape
    xp = op.xp
    real = xp.float32 if op.dtype in (xp.float32, xp.complex64) else xp.float64
    x = gaussian(n, num_vectors, rng=rng, xp=xp, dtype=real, device=op.device)
    y = gaussian(m, num_vectors, rng=rng if not isinstance(rng, numbers.Integral) else rng + 1,
                 xp=xp, dtype=real, device=op.device)
    lhs = float(xp.sum(op.matmat(x) * y))
    rhs = float(xp.sum(x * op.rmatmat(y)))
    if rtol is not None:
        mismatch = abs(lhs - rhs) / max(abs(lhs), abs(rhs), np.finfo(float).tiny)
        if mismatch > rtol:
            raise AssertionError(f"dot test failed: <Ax,y>={lhs!r} <x,A^H y>={rhs!r} ({mismatch:.2e})")
    return lhs, rhs
