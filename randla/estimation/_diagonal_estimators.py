"""Stochastic diagonal estimators: Bekas-Kokiopoulou-Saad and XDiag.

Both work matrix-free through :func:`randla.as_operator` and return a
:class:`DiagonalEstimate` with the estimated diagonal (an array of ``A``'s
namespace and device), an entrywise error estimate and the number of
matrix-vector products used.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..random import as_generator
from ._driver import (
    apply,
    check_confidence,
    check_estimator_args,
    counter,
    draw,
    eps,
    quantile,
    transpose_apply,
)
from ._exchangeable import loo_directions

__all__ = ["DiagonalEstimate", "diagonal_hutchinson", "xdiag"]


@dataclasses.dataclass(frozen=True)
class DiagonalEstimate:
    """Result of a diagonal estimator.

    Attributes
    ----------
    estimate : array of shape (n,)
        Estimated ``diag(A)``, in ``A``'s namespace and on its device.
    std_error : array of shape (n,) or None
        Entrywise error estimate, ``None`` when fewer than two samples exist.
        ``diagonal_hutchinson``: the delta-method standard error of the ratio
        estimator (the sample standard deviation of ``z_j * (A z_j)`` over
        ``sqrt(m)`` for Rademacher probes). ``xdiag``: the calibrated
        exchangeable estimate described in :func:`xdiag` (sample variance of
        the ``k`` leave-one-out estimates over ``k`` plus a leave-two-out
        covariance term), entrywise.
    num_matvecs : int
        Products with ``A`` and ``A^T`` used.
    method : str
        ``"diagonal_hutchinson"`` or ``"xdiag"``.
    confidence : float
        Level of ``interval`` (the ``confidence=`` argument, default 0.95).
    interval : tuple of two arrays or None
        Entrywise ``(lower, upper) = estimate -+ q std_error``, ``q`` the
        two-sided Student-t quantile with ``dof`` degrees of freedom; each
        entry is covered with probability about ``confidence`` (not all
        entries at once). ``None`` when ``std_error`` is.
    dof : float
        Degrees of freedom of the quantile (``m - 1``, ``k - 1``).

    References
    ----------
    C. Bekas, E. Kokiopoulou, Y. Saad, "An estimator for the diagonal of a
    matrix", Appl. Numer. Math. 57 (2007). E. N. Epperly, J. A. Tropp, R. J.
    Webber, "XTrace", SIAM J. Matrix Anal. Appl. 45 (2024), Section 4.

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> est = randla.diagonal_hutchinson(np.diag([1.0, 2.0, 3.0]), num_matvecs=8, rng=0)
    >>> est.estimate.tolist(), est.num_matvecs, est.method
    ([1.0, 2.0, 3.0], 8, 'diagonal_hutchinson')
    """

    estimate: Any
    std_error: Any
    num_matvecs: int
    method: str
    confidence: float = 0.95
    interval: Any = dataclasses.field(default=None, repr=False)
    dof: float = float("nan")


def _result(estimate, std_error, used, method, confidence, dof):
    """A :class:`DiagonalEstimate` with its entrywise interval."""
    bounds = None
    if std_error is not None:
        half = quantile(confidence, dof) * std_error
        bounds = (estimate - half, estimate + half)
    return DiagonalEstimate(estimate, std_error, int(used), method, confidence, bounds,
                            float(dof))


def _diagonal_hutchinson_body(op, m, probe, rng, confidence):
    xp = op.xp
    start = counter(op)
    Z = draw(op, probe, m, rng)
    X = Z * apply(op, Z)  # column j: z_j * (A z_j), E = diag(A) for isotropic z_j
    V = Z * Z
    denom = xp.sum(V, axis=1)
    estimate = xp.sum(X, axis=1) / denom
    std_error = None
    if m >= 2:
        # ratio estimator sum(x) / sum(v): Var ~ Var(x - r v) / (m mean(v)^2)
        dev = X - estimate[:, None] * V
        dev = dev - xp.mean(dev, axis=1, keepdims=True)
        var = xp.sum(dev * dev, axis=1) / (m - 1)
        std_error = xp.sqrt(var * m) / denom
    return _result(estimate, std_error, counter(op) - start, "diagonal_hutchinson",
                   confidence, m - 1)


def diagonal_hutchinson(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
                        rng: Any = None, confidence: float = 0.95) -> DiagonalEstimate:
    """Diagonal estimator of Bekas, Kokiopoulou and Saad.

    ``diag(A) ~ (sum_j z_j * (A z_j)) / (sum_j z_j * z_j)`` (entrywise
    products and division) with ``m`` probes ``z_j``. For Rademacher probes
    the denominator is ``m`` and entry ``i`` has variance
    ``sum_{l != i} A_il^2 / m``; with orthonormal (or SRFT) probes and
    ``m = n`` the estimate is exact.

    Parameters
    ----------
    A : operator-like
        Square matrix or anything :func:`randla.as_operator` accepts.
    num_matvecs : int
        Number of probes ``m >= 1``.
    probe : str
        Any of :data:`randla.random.PROBE_KINDS` (default Rademacher).
    rng : int, numpy.random.Generator or None
    confidence : float
        Level of the entrywise ``result.interval`` (default 0.95; Student-t
        with ``m - 1`` degrees of freedom).

    Returns
    -------
    DiagonalEstimate

    Raises
    ------
    ValueError
        Non-square or non-finite ``A``; ``num_matvecs < 1``; unknown probe.
    TypeError
        Integer, half-precision or complex ``A``; mixed backends.

    References
    ----------
    C. Bekas, E. Kokiopoulou, Y. Saad, "An estimator for the diagonal of a
    matrix", Appl. Numer. Math. 57 (2007).

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> A = np.random.default_rng(0).standard_normal((50, 50))
    >>> est = randla.diagonal_hutchinson(A, num_matvecs=50, probe="orthonormal", rng=0)
    >>> bool(np.allclose(est.estimate, np.diag(A)))
    True
    >>> est = randla.diagonal_hutchinson(A, num_matvecs=400, rng=0)
    >>> bool(np.all(np.abs(est.estimate - np.diag(A)) < 5 * est.std_error))
    True
    """
    op, _, m, probe = check_estimator_args(A, num_matvecs, probe, method="diagonal_hutchinson",
                                           minimum=1, why="one probe")
    return _diagonal_hutchinson_body(op, m, probe, as_generator(rng),
                                     check_confidence(confidence))


def _xdiag_body(op, m, probe, rng, confidence):
    xp = op.xp
    start = counter(op)
    k = m // 2
    Omega = draw(op, probe, k, rng)
    Y = apply(op, Omega)
    Q, R = xp.linalg.qr(Y)
    Z = transpose_apply(op, Q, "xdiag")  # A^T Q
    S = loo_directions(xp, R)
    QS, ZS = Q @ S, Z @ S
    # estimate i: diag(P_i A) + omega_i * ((I - P_i) A omega_i), with
    # P_i = Q Q^T - Q s_i s_i^T Q^T; diag(Q Q^T A) = rowsum(Q * Z) and,
    # since (I - Q Q^T) y_i = 0, (I - P_i) y_i = Q s_i (s_i^T r_i).
    low_rank = xp.sum(Q * Z, axis=1)
    per_vector = (low_rank[:, None] - QS * ZS
                  + Omega * QS * xp.sum(S * R, axis=0)[None, :])
    estimate = xp.mean(per_vector, axis=1)
    dev = per_vector - estimate[:, None]
    var = xp.sum(dev * dev, axis=1) / ((k - 1) * k)
    cov = _xdiag_covariance(xp, Omega, R, S, QS, ZS, low_rank, per_vector)
    floor = 2.0 * eps(xp, estimate.dtype) * xp.mean(xp.abs(per_vector), axis=1)
    std_error = xp.sqrt(var + xp.where(cov > 0, cov, xp.zeros_like(cov)) + floor * floor)
    return _result(estimate, std_error, counter(op) - start, "xdiag", confidence, k - 1)


def _xdiag_covariance(xp, Omega, R, S, QS, ZS, low_rank, single):
    """Entrywise ``mean_{i != j} d_ij d_ji``, ``d_ij = t_i - t_ij`` (leave two out).

    ``t_ij`` projects onto ``range(Y without columns i, j)``: the removed
    plane is ``span(Q s_i, Q s_j)`` with Gram ``[[1, g], [g, 1]]``, ``g =
    s_i^T s_j``, so ``diag(P_ij A)`` loses ``(QS_i ZS_i + QS_j ZS_j - g (QS_i
    ZS_j + QS_j ZS_i)) / (1 - g^2)`` and, since ``s_j^T r_i = 0`` for ``j !=
    i``, ``(I - P_ij) y_i = (s_i^T r_i) (Q s_i - g Q s_j) / (1 - g^2)``. One
    ``n x k`` pass per ``j`` gives ``d_ij`` and ``d_ji`` for every ``i``:
    ``O(n k^2)`` work, no product with ``A``.
    """
    k = int(Omega.shape[1])
    G = S.T @ S
    sigma = xp.sum(S * R, axis=0)  # s_i^T r_i
    floor = 4.0 * eps(xp, G.dtype)
    own = QS * ZS
    total = xp.zeros_like(low_rank)
    for j in range(k):
        g = G[j, :][None, :]  # g_ij for every i (column i)
        det = 1.0 - g * g
        det = xp.where(det > floor, det, xp.full_like(det, floor))
        qj, zj, oj = QS[:, j:j + 1], ZS[:, j:j + 1], Omega[:, j:j + 1]
        lr = low_rank[:, None] - (own + qj * zj - g * (QS * zj + qj * ZS)) / det
        t_ij = lr + Omega * (QS - g * qj) * (sigma[None, :] / det)  # probe i, j out
        t_ji = lr + oj * (qj - g * QS) * (sigma[j] / det)  # probe j, i out
        d_ij = single - t_ij
        d_ji = single[:, j:j + 1] - t_ji
        prod = d_ij * d_ji
        total = total + xp.sum(prod, axis=1) - prod[:, j]
    return total / (k * (k - 1))


def xdiag(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
          rng: Any = None, confidence: float = 0.95) -> DiagonalEstimate:
    """XDiag: exchangeable low-rank + residual diagonal estimator.

    With ``k = num_matvecs // 2`` test vectors and ``Y = A Omega = Q R``, XDiag
    averages over ``i`` the estimates ``diag(P_i A) + omega_i * ((I - P_i) A
    omega_i)``, ``P_i`` the projector onto the range of ``Y`` without column
    ``i`` (the diagonal analogue of XTrace). Needs ``k`` products with ``A``
    and ``k`` with ``A^T``. Exact when ``rank(A) < k``.

    Parameters
    ----------
    A : operator-like
        Square matrix or operator; products with ``A^T`` are needed (arrays
        provide them; for callables pass ``rmatmat=`` or ``symmetric=True`` to
        :func:`randla.as_operator`).
    num_matvecs : int
        Budget ``m >= 4`` (two test vectors, to leave one out), products with
        ``A^T`` included; an odd budget leaves one product unused;
        ``m // 2 <= n``.
    probe : str
        Test-vector kind (default Rademacher, as in the paper).
    rng : int, numpy.random.Generator or None
    confidence : float
        Level of the entrywise ``result.interval`` (default 0.95).

    Returns
    -------
    DiagonalEstimate
        ``std_error`` (entrywise) is the calibrated exchangeable estimate
        ``sqrt(s^2 / k + max(0, mean_{i != j} d_ij d_ji))`` with ``s^2`` the
        sample variance of the ``k`` leave-one-out estimates ``t_i`` and
        ``d_ij = t_i - t_ij`` the change when ``omega_j`` also leaves the
        low-rank part; as for :func:`randla.xtrace`, ``E[d_ij d_ji] =
        Cov(t_i, t_j)``, the term the plain spread ``s / sqrt(k)`` (Epperly,
        Tropp, Webber 2024, Section 4) misses. ``interval`` uses ``k - 1``
        degrees of freedom.

    Raises
    ------
    ValueError
        ``num_matvecs < 4`` or ``num_matvecs // 2 > n``; non-square or
        non-finite ``A``; unknown probe.
    TypeError
        An operator without adjoint that is not declared symmetric; integer,
        half-precision or complex ``A``; mixed backends.

    References
    ----------
    E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace: making the most of every
    sample in stochastic trace estimation", SIAM J. Matrix Anal. Appl. 45
    (2024), Section 4 (XDiag).

    Examples
    --------
    >>> import numpy as np
    >>> import randla
    >>> rng = np.random.default_rng(0)
    >>> U = rng.standard_normal((200, 10))
    >>> A = U @ U.T                                   # rank 10
    >>> est = randla.xdiag(A, num_matvecs=30, rng=1)
    >>> bool(np.allclose(est.estimate, np.diag(A))), est.num_matvecs
    (True, 30)
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="xdiag", minimum=4,
        why="two test vectors and two adjoint products", vectors_per_matvec=2)
    return _xdiag_body(op, m, probe, as_generator(rng), check_confidence(confidence))
