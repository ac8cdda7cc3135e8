"""The driver of every trace and diagonal estimator, and the checks they start with.

An estimator is a small *integrand* (what one block of test vectors and its
products contribute: quadratic forms for Hutchinson, a growing leave-one-out
sketch for XTrace) plus this driver, which validates ``A``, the budget, the
probe kind and the tolerances once, draws probe blocks on the operator's
namespace and device, applies the operator (checking what a callable returns),
accumulates through the integrand and stops at the budget or a tolerance
(:func:`run`). The design follows matfree's driver-plus-integrand stochastic
trace estimation.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

from ..backend import (
    array_namespace,
    check_float,
    check_positive_int,
    check_square,
    device_of,
    is_array,
    to_scalar,
)
from ..operators import LinearOperator, as_operator
from ..random import draw_probes, probe_kind, probe_kinds

__all__ = [
    "QuadraticForms",
    "TraceEstimate",
    "apply",
    "check_block_size",
    "check_budget",
    "check_confidence",
    "check_estimator_args",
    "check_probe",
    "check_tolerances",
    "counter",
    "draw",
    "eps",
    "interval",
    "mean_and_std_error",
    "prepare",
    "quantile",
    "result",
    "run",
    "transpose_apply",
]

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
    if is_array(A):
        check_float(A, "A")  # real only: the message must not offer complex
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
    try:
        return check_positive_int(num_matvecs, "num_matvecs", minimum=minimum)
    except ValueError as err:
        raise ValueError(f"{err} for {method} ({why})") from None


def check_probe(probe: Any) -> str:
    """``probe`` as a registered unbiased kind (:func:`randla.random.probe_kind`)."""
    kind = probe_kind(probe)
    if not kind.unbiased:
        raise ValueError(
            f"probe must be an unbiased kind {probe_kinds(unbiased=True)} for the "
            f"trace and diagonal estimators, got {probe!r}"
        )
    return kind.name

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



def check_confidence(confidence: Any) -> float:
    """``confidence`` as a float in ``(0, 1)`` or a clear error naming it."""
    if not isinstance(confidence, numbers.Real) or isinstance(confidence, bool):
        raise TypeError(f"confidence must be a float in (0, 1), got "
                        f"{type(confidence).__name__}")
    value = float(confidence)
    if not 0.0 < value < 1.0:
        raise ValueError(f"confidence must be in (0, 1) (e.g. 0.95), got {value}")
    return value


def quantile(confidence: float, dof: float) -> float:
    """Two-sided Student-t multiplier: ``P(|T_dof| <= q) = confidence``.

    ``dof = inf`` gives the normal quantile; ``dof < 1`` (fewer than two
    samples) gives ``nan``. scipy's ``stdtrit`` (the t inverse CDF).
    """
    from scipy.special import ndtri, stdtrit

    p = 0.5 * (1.0 + confidence)
    if math.isinf(dof):
        return float(ndtri(p))
    if not dof >= 1:
        return math.nan
    return float(stdtrit(dof, p))


def interval(estimate: float, std_error: float, confidence: float,
             dof: float) -> tuple[float, float]:
    """``estimate -+ quantile(confidence, dof) std_error`` (``nan`` if unknown)."""
    half = quantile(confidence, dof) * std_error
    if not math.isfinite(half):
        return (math.nan, math.nan)
    return (estimate - half, estimate + half)


def check_block_size(block_size: Any, default: int) -> int:
    """``block_size`` as a positive int (``default`` for ``None``)."""
    return default if block_size is None else check_positive_int(block_size, "block_size")


def draw(op: LinearOperator, kind: str, num: int, rng: Any) -> Any:
    """``(n, num)`` probes of ``kind`` in the operator's namespace and dtype.

    Orthogonal kinds (at most ``n`` columns per draw: orthonormal, SRFT) are
    drawn in independent blocks of at most ``n`` columns.
    """
    n = op.shape[1]
    xp = op.xp
    if probe_kind(kind).orthogonal and num > n:
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
    return mean, math.sqrt(max(to_scalar(var), 0.0) / k)

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
        two independent samples exist. Per method (the one place with the
        derivations is ``docs/error_estimates.rst``):

        * ``hutchinson``: sample standard deviation of the ``m`` quadratic forms
          ``z_j^T A z_j`` over ``sqrt(m)`` (for orthonormal or SRFT probes,
          whose columns are not independent, this overstates the error);
        * ``hutchpp``, ``na_hutchpp``: the same for the Hutchinson part on the
          residual; given the sketch the estimator is unbiased, so this
          conditional error is the whole error (``E[std_error^2] = Var``);
        * ``xtrace``, ``xnystrace``: the calibrated exchangeable estimate
          ``sqrt(s^2 / k + max(0, c))``: ``s / sqrt(k)`` is the spread of the
          ``k`` leave-one-out estimates (Epperly, Tropp, Webber 2024, Section
          2.3), ``c`` an unbiased estimate of their covariance from the
          leave-two-out estimates, which ``s / sqrt(k)`` misses (it is
          optimistic on decaying spectra without it);
        * ``auto``: that of the branch it took.
    num_matvecs : int
        Matrix-vector products actually used (products with ``A^T`` included).
    method : str
        The estimator; ``"auto:hutchinson"`` or ``"auto:xtrace"`` for
        ``method="auto"``.
    value : array
        The estimate as a 0-d array of ``A``'s namespace and device.
    confidence : float
        Level of ``interval`` (the ``confidence=`` argument, default 0.95).
    interval : tuple of float
        ``(lower, upper) = estimate -+ q std_error`` with ``q`` the two-sided
        Student-t quantile at ``confidence`` with ``dof`` degrees of freedom;
        ``(nan, nan)`` when ``std_error`` is ``nan``. See
        ``docs/error_estimates.rst`` for what the coverage means.
    dof : float
        Degrees of freedom of the quantile (number of independent samples
        behind ``std_error`` minus one).

    References
    ----------
    M. F. Hutchinson, Commun. Stat. Simul. Comput. 18 (1989) (the sample
    standard error); E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace", SIAM
    J. Matrix Anal. Appl. 45 (2024), Section 2.3 (the exchangeable estimate,
    corrected here by its covariance term).

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> res = randla.hutchinson(np.eye(50), num_matvecs=10, rng=0)
    >>> float(res), res.std_error, res.num_matvecs, res.method
    (50.0, 0.0, 10, 'hutchinson')
    >>> res.interval, res.confidence, res.dof
    ((50.0, 50.0), 0.95, 9.0)
    """

    estimate: float
    std_error: float
    num_matvecs: int
    method: str
    value: Any = dataclasses.field(repr=False, compare=False)
    confidence: float = 0.95
    interval: tuple[float, float] = (math.nan, math.nan)
    dof: float = math.nan

    def __float__(self) -> float:
        return self.estimate


def result(op: LinearOperator, start: int, method: str, value: Any,
           std_error: float, dof: float, confidence: float) -> TraceEstimate:
    """A :class:`TraceEstimate` with the products used since ``start``."""
    used = op.num_matvecs + op.num_rmatvecs - start
    estimate = to_scalar(value)
    if not math.isfinite(estimate):
        raise ValueError(f"{method}: the estimate is not finite; check A")
    se = to_scalar(std_error)
    return TraceEstimate(estimate, se, int(used), method, value, confidence,
                         interval(estimate, se, confidence, dof), float(dof))


def counter(op: LinearOperator) -> int:
    """Products with ``A`` and ``A^T`` performed by ``op`` so far."""
    return op.num_matvecs + op.num_rmatvecs


# -- the driver ------------------------------------------------------------------


class QuadraticForms:
    """Hutchinson's integrand: one quadratic form ``z^T A z`` per probe."""

    def __init__(self, op: LinearOperator) -> None:
        self.xp = op.xp
        self.parts: list[Any] = []
        self.num_vectors = 0

    def add(self, Z: Any, AZ: Any) -> None:
        self.parts.append(self.xp.sum(Z * AZ, axis=0))
        self.num_vectors += int(Z.shape[1])

    def samples(self) -> Any:
        return self.parts[0] if len(self.parts) == 1 else self.xp.concat(self.parts)

    def stats(self) -> tuple[Any, float, int]:
        """``(mean, std_error, dof)`` of the quadratic forms (``dof = m - 1``)."""
        mean, se = mean_and_std_error(self.xp, self.samples())
        return mean, se, self.num_vectors - 1


def run(op: LinearOperator, integrand: Any, probe: str, rng: Any, *, cap: int,
        rtol: float | None = None, atol: float | None = None,
        block_size: int = 1, confidence: float = 0.95) -> tuple[Any, float, int]:
    """Draw probe blocks, apply ``A``, feed ``integrand`` until ``cap`` vectors.

    Without a tolerance one block fills the integrand up to ``cap`` test
    vectors. With ``rtol`` or ``atol`` blocks of ``block_size`` (the first of
    at least two) are added until the half-width of the interval at
    ``confidence``, ``quantile(confidence, dof) std_error``, is
    ``<= max(atol, rtol |estimate|)``. ``integrand.add(Omega, A @ Omega)``
    accumulates; ``integrand.stats()`` gives ``(estimate, std_error, dof)``,
    which is returned.
    """
    adaptive = rtol is not None or atol is not None
    tol_abs, tol_rel = atol or 0.0, rtol or 0.0
    stats = None
    while integrand.num_vectors < cap:
        k = integrand.num_vectors
        b = cap - k if not adaptive else min(block_size if k else max(2, block_size), cap - k)
        Omega = draw(op, probe, b, rng)
        integrand.add(Omega, apply(op, Omega))
        if not adaptive and integrand.num_vectors < cap:
            continue
        stats = integrand.stats()
        half = quantile(confidence, stats[2]) * stats[1]
        if adaptive and half <= max(tol_abs, tol_rel * abs(to_scalar(stats[0]))):
            break
    return stats if stats is not None else integrand.stats()
