"""Plumbing shared by the trace and diagonal estimators.

Validation of the operator, the matvec budget, the probe kind and the
tolerances; probe draws on the operator's namespace and device; a checked
``A @ X`` that refuses a callable returning another backend, device, dtype or
shape; sample statistics; the leave-one-out direction matrix ``S`` used by
every exchangeable estimator (XTrace, XNysTrace, XDiag); the result type
:class:`TraceEstimate` and the Hutchinson body (which ``method="auto"``
continues with).

Nothing here is public: :mod:`randla.trace` and :mod:`randla.diagonal`
validate their arguments with these helpers, then call private bodies.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

from .backend import (
    array_namespace,
    check_square,
    device_of,
    is_array,
)
from .operators import LinearOperator, as_operator
from .random import PROBE_KINDS, draw_probes

__all__ = [
    "TraceEstimate",
    "apply",
    "check_block_size",
    "check_budget",
    "check_estimator_args",
    "check_probe",
    "check_tolerances",
    "counter",
    "draw",
    "eps",
    "hutchinson_body",
    "hutchinson_samples",
    "loo_directions",
    "loo_residual_norms",
    "mean_and_std_error",
    "prepare",
    "regularized_inverse",
    "result",
    "transpose_apply",
]

#: probe kinds whose columns must number at most ``n`` per draw
_AT_MOST_N = ("orthonormal", "srft")


def prepare(A: Any) -> tuple[LinearOperator, int]:
    """``as_operator(A)``, checked square and real floating; returns ``(op, n)``.

    Raises
    ------
    TypeError
        Integer, boolean, half-precision or complex ``A`` (via
        :func:`randla.as_operator` for arrays), or unsupported input types.
    ValueError
        Non-square ``A`` (non-finite entries are reported by the first
        product, see :func:`apply`).
    """
    # Dense arrays are not scanned for NaN/inf here: every product A @ X is
    # checked instead (apply below). A non-finite A_ij enters every entry of
    # row i of A @ X (IEEE: nan * 0 = nan, inf * 0 = nan, inf - inf = nan), so
    # the first product detects it, and the estimators skip a full extra pass
    # over A, which costs ~10% of a 100-probe Hutchinson run on a dense matrix.
    op = as_operator(A, check_finite=not is_array(A))
    n = check_square(op.shape, "A")
    xp = op.xp
    if op.dtype not in (xp.float32, xp.float64):
        raise TypeError(
            f"A must have dtype float32 or float64, got {op.dtype}; the trace "
            "and diagonal estimators are real (split a complex matrix into parts)"
        )
    return op, n


def check_budget(num_matvecs: Any, minimum: int, method: str, why: str) -> int:
    """``num_matvecs`` as an ``int >= minimum`` or a clear error naming it."""
    if not isinstance(num_matvecs, numbers.Integral) or isinstance(num_matvecs, bool):
        raise TypeError(
            f"num_matvecs must be an integer, got {type(num_matvecs).__name__}"
        )
    if int(num_matvecs) < minimum:
        raise ValueError(
            f"num_matvecs must be >= {minimum} for {method} ({why}), got {num_matvecs}"
        )
    return int(num_matvecs)


def check_probe(probe: Any, allowed: tuple[str, ...] = PROBE_KINDS) -> str:
    """``probe`` as one of ``allowed`` or a ``ValueError`` naming it."""
    if not isinstance(probe, str) or probe not in allowed:
        raise ValueError(f"probe must be one of {allowed}, got {probe!r}")
    return probe


def check_estimator_args(
    A: Any, num_matvecs: Any, probe: Any, *, method: str, minimum: int, why: str,
    vectors_per_matvec: int | None = None, note: str = "",
) -> tuple[LinearOperator, int, int, str]:
    """The checks every estimator starts with; returns ``(op, n, m, probe)``.

    :func:`prepare` on ``A``, :func:`check_budget` (``num_matvecs >= minimum``,
    ``why`` says what the minimum buys), with ``vectors_per_matvec = c`` the
    upper bound ``num_matvecs // c <= n`` (the error message says ``<= cn``
    and adds ``note``), then :func:`check_probe`.
    """
    op, n = prepare(A)
    m = check_budget(num_matvecs, minimum, method, why)
    c = vectors_per_matvec
    if c is not None and m // c > n:
        bound = f"{c}n = {c * n}" if c > 1 else f"n = {n}"
        raise ValueError(f"num_matvecs must be <= {bound} for {method}{note}, got {m}")
    return op, n, m, check_probe(probe)


def check_tolerances(rtol: Any, atol: Any) -> tuple[float | None, float | None]:
    """Non-negative finite floats (or ``None``) for ``rtol`` and ``atol``."""
    out = []
    for name, value in (("rtol", rtol), ("atol", atol)):
        if value is None:
            out.append(None)
            continue
        if not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise TypeError(f"{name} must be a float or None, got {type(value).__name__}")
        value = float(value)
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{name} must be a finite number >= 0, got {value}")
        out.append(value)
    return out[0], out[1]


def check_block_size(block_size: Any, default: int) -> int:
    """``block_size`` as a positive int (``default`` for ``None``)."""
    if block_size is None:
        return default
    if not isinstance(block_size, numbers.Integral) or isinstance(block_size, bool):
        raise TypeError(f"block_size must be an integer, got {type(block_size).__name__}")
    if int(block_size) < 1:
        raise ValueError(f"block_size must be >= 1, got {block_size}")
    return int(block_size)


def draw(op: LinearOperator, kind: str, num: int, rng: Any) -> Any:
    """``(n, num)`` probes of ``kind`` in the operator's namespace and dtype.

    Kinds limited to ``n`` columns per draw (orthonormal, SRFT) are drawn in
    independent blocks of at most ``n`` columns.
    """
    n = op.shape[1]
    xp = op.xp
    if kind in _AT_MOST_N and num > n:
        blocks, left = [], num
        while left > 0:
            size = min(n, left)
            blocks.append(draw_probes(kind, n, size, rng=rng, xp=xp, dtype=op.dtype,
                                      device=op.device))
            left -= size
        return xp.concat(blocks, axis=1)
    return draw_probes(kind, n, num, rng=rng, xp=xp, dtype=op.dtype, device=op.device)


def _check_output(op: LinearOperator, X: Any, Y: Any, what: str) -> Any:
    if not is_array(Y):
        raise TypeError(f"A returned a {type(Y).__name__} for {what}, expected an array")
    if array_namespace(Y) is not op.xp:
        raise TypeError(
            f"mixed array backends: A works on {op.xp.__name__} arrays but returned "
            f"{type(Y).__module__.split('.')[0]} for {what}; randla never converts "
            "between backends silently"
        )
    if device_of(Y) != device_of(X):
        raise ValueError(
            f"A returned {what} on device {device_of(Y)} for input on {device_of(X)}; "
            "randla never copies between devices silently"
        )
    expected = (op.shape[0], X.shape[1])
    if tuple(Y.shape) != expected:
        raise ValueError(f"A returned {what} of shape {tuple(Y.shape)}, expected {expected}")
    if Y.dtype != X.dtype:
        raise TypeError(
            f"A returned {what} with dtype {Y.dtype} for input of dtype {X.dtype}"
        )
    xp = op.xp
    if not bool(xp.all(xp.isfinite(Y))):
        raise ValueError(
            f"A contains NaN or infinite values, or produced them in {what}"
        )
    return Y


def apply(op: LinearOperator, X: Any) -> Any:
    """``A @ X`` through the operator, with the output checked.

    NumPy's floating-point warnings (``inf - inf`` in the product of a
    non-finite ``A``) are silenced here: the output check turns them into one
    clear ``ValueError``.
    """
    with np.errstate(invalid="ignore", over="ignore"):
        Y = op.matmat(X)
    return _check_output(op, X, Y, "A @ X")


def transpose_apply(op: LinearOperator, X: Any, method: str) -> Any:
    """``A^T @ X`` (``A @ X`` for a symmetric operator), output checked."""
    if op.symmetric:
        return apply(op, X)
    if not op.has_adjoint:
        raise TypeError(
            f"{method} needs products with A^T: pass an array, an operator with "
            "rmatmat=, or declare symmetric=True in randla.as_operator"
        )
    with np.errstate(invalid="ignore", over="ignore"):
        Y = op.rmatmat(X)
    return _check_output(op, X, Y, "A^T @ X")


def eps(xp: Any, dtype: Any) -> float:
    """Machine epsilon of ``dtype``."""
    return float(xp.finfo(dtype).eps)


def mean_and_std_error(xp: Any, samples: Any) -> tuple[Any, float]:
    """Sample mean (0-d array) and its standard error (``nan`` for one sample).

    The standard error is ``sqrt(sum((x - mean)^2) / (k (k - 1)))``.
    """
    k = int(samples.shape[0])
    mean = xp.mean(samples)
    if k < 2:
        return mean, math.nan
    var = xp.sum((samples - mean) ** 2) / (k - 1)
    return mean, math.sqrt(max(float(var), 0.0) / k)


def regularized_inverse(xp: Any, R: Any) -> Any:
    """Inverse of an upper-triangular ``R`` with tiny diagonal entries lifted.

    Diagonal entries smaller than ``k eps max|R|`` (rank-deficient sketches)
    are replaced by that floor, with their sign kept, so the inverse exists;
    the directions it produces for such columns are arbitrary unit vectors,
    which is all the exchangeable estimators need there.
    """
    k = int(R.shape[0])
    dtype = R.dtype
    scale = float(xp.max(xp.abs(R))) if k > 0 else 0.0
    floor = k * eps(xp, dtype) * scale if scale > 0 else 1.0
    diag = xp.linalg.diagonal(R)
    up = xp.full_like(diag, floor)
    lifted = xp.where(xp.abs(diag) < floor, xp.where(diag >= 0, up, -up), diag)
    eye = xp.eye(k, dtype=dtype, device=device_of(R))
    return xp.linalg.inv(R + eye * (lifted - diag)[None, :])


def loo_directions(xp: Any, R: Any) -> Any:
    """Unit vectors ``S[:, i]`` orthogonal to every column of ``R`` but the i-th.

    For ``Y = Q R`` (reduced QR), ``Q S[:, i]`` is the unit direction of
    ``range(Y)`` orthogonal to the other columns of ``Y``: removing it from
    ``Q`` gives an orthonormal basis of ``range(Y without column i)``. The
    columns are the normalised columns of ``R^{-T}`` (Epperly, Tropp, Webber
    2024, Section 2.1), i.e. the normalised rows of ``R^{-1}``.
    """
    rinv = regularized_inverse(xp, R)
    rows = rinv.T  # column i is row i of R^{-1}
    big = xp.max(xp.abs(rows), axis=0, keepdims=True)
    rows = rows / big
    return rows / xp.sqrt(xp.sum(rows * rows, axis=0, keepdims=True))


def loo_residual_norms(xp: Any, R: Any) -> Any:
    """``||(I - P_{-i}) y_i||`` for ``Y = Q R``: distance of column i to the others.

    Equals ``1 / ||row i of R^{-1}||``; zero (up to rounding) when the column
    lies in the span of the others.
    """
    rinv = regularized_inverse(xp, R)
    big = xp.max(xp.abs(rinv), axis=1)
    scaled = rinv / big[:, None]
    return (1.0 / big) / xp.sqrt(xp.sum(scaled * scaled, axis=1))


# -- the result type -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class TraceEstimate:
    """Result of a trace estimator.

    Attributes
    ----------
    estimate : float
        The trace estimate (``float(result)`` returns it).
    std_error : float
        Estimated standard deviation of ``estimate``; ``nan`` when fewer than
        two independent samples exist. Per method:

        * ``hutchinson``: sample standard deviation of the ``m`` quadratic forms
          ``z_j^T A z_j`` over ``sqrt(m)`` (for orthonormal or SRFT probes,
          whose columns are not independent, this overstates the error);
        * ``hutchpp``, ``na_hutchpp``: the same for the Hutchinson part on the
          residual; given the sketch the estimator is unbiased, so this
          conditional error is the whole error (``E[std_error^2] = Var``);
        * ``xtrace``, ``xnystrace``: the exchangeable error estimate
          ``std(t_1..t_k) / sqrt(k)`` of the ``k`` leave-one-out estimates
          (Epperly, Tropp, Webber 2024, Section 2.3). It is a heuristic, not a
          proven bound, and tends to be optimistic: on the XTrace test suite
          its RMS is 0.7-1.0 times the true RMS error for XTrace and 0.3-0.9
          times for XNysTrace (the low end on fast-decaying spectra, where
          the error itself is tiny);
        * ``auto``: that of the branch it took.
    num_matvecs : int
        Matrix-vector products actually used (products with ``A^T`` included).
    method : str
        The estimator; ``"auto:hutchinson"`` or ``"auto:xtrace"`` for
        ``method="auto"``.
    value : array
        The estimate as a 0-d array of ``A``'s namespace and device.

    References
    ----------
    M. F. Hutchinson, Commun. Stat. Simul. Comput. 18 (1989) (the sample
    standard error); E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace", SIAM
    J. Matrix Anal. Appl. 45 (2024), Section 2.3 (the exchangeable estimate).

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> res = randla.hutchinson(np.eye(50), num_matvecs=10, rng=0)
    >>> float(res), res.std_error, res.num_matvecs, res.method
    (50.0, 0.0, 10, 'hutchinson')
    """

    estimate: float
    std_error: float
    num_matvecs: int
    method: str
    value: Any = dataclasses.field(repr=False, compare=False)

    def __float__(self) -> float:
        return self.estimate


def result(op: LinearOperator, start: int, method: str, value: Any,
           std_error: float) -> TraceEstimate:
    """A :class:`TraceEstimate` with the products used since ``start``."""
    used = op.num_matvecs + op.num_rmatvecs - start
    estimate = float(value)
    if not math.isfinite(estimate):
        raise ValueError(f"{method}: the estimate is not finite; check A")
    return TraceEstimate(estimate, float(std_error), int(used), method, value)


def counter(op: LinearOperator) -> int:
    """Products with ``A`` and ``A^T`` performed by ``op`` so far."""
    return op.num_matvecs + op.num_rmatvecs


# -- Hutchinson (here because method="auto" continues with it) -------------------


def hutchinson_samples(op: LinearOperator, probe: str, num: int, rng: Any) -> Any:
    """``num`` quadratic forms ``z^T A z`` for fresh probes ``z``."""
    Z = draw(op, probe, num, rng)
    return op.xp.sum(Z * apply(op, Z), axis=0)


def hutchinson_body(op, m, probe, rng, rtol, atol, block_size, method="hutchinson"):
    """Hutchinson with ``m`` probes, or adaptive blocks up to ``m`` with a tolerance."""
    xp = op.xp
    start = counter(op)
    adaptive = rtol is not None or atol is not None
    if not adaptive:
        samples = hutchinson_samples(op, probe, m, rng)
        mean, se = mean_and_std_error(xp, samples)
        return result(op, start, method, mean, se)
    tol_abs, tol_rel = atol or 0.0, rtol or 0.0
    parts, used = [], 0
    while used < m:
        b = min(block_size if used else max(2, block_size), m - used)
        parts.append(hutchinson_samples(op, probe, b, rng))
        used += b
        mean, se = mean_and_std_error(xp, xp.concat(parts))
        if se <= max(tol_abs, tol_rel * abs(float(mean))):
            break
    return result(op, start, method, mean, se)
