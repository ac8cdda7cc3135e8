"""The diagonal estimators: Bekas-Kokiopoulou-Saad (``diagonal_hutchinson``) and XDiag.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ..random import as_generator
from ._driver import apply, check_estimator_args, counter, draw, transpose_apply
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
        Entrywise error estimate (``None`` for one sample): the delta-method
        standard error of the ratio estimator for ``diagonal_hutchinson``, the
        spread of the leave-one-out estimates over ``sqrt(k)`` for ``xdiag``
        (a heuristic, like XTrace's).
    num_matvecs : int
        Products with ``A`` and ``A^T`` used.
    method : str

    Examples
    --------
    >>> est = randla.diagonal_hutchinson(np.diag([1.0, 2.0, 3.0]), 8, rng=0)
    >>> est.estimate.tolist(), est.num_matvecs, est.method
    ([1.0, 2.0, 3.0], 8, 'diagonal_hutchinson')
    """

    estimate: Any
    std_error: Any
    num_matvecs: int
    method: str


def _diagonal_hutchinson_body(op, m, probe, rng):
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
    return DiagonalEstimate(estimate, std_error, counter(op) - start, "diagonal_hutchinson")


def diagonal_hutchinson(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
                        rng: Any = None) -> DiagonalEstimate:
    """Diagonal estimator ``diag(A) ~ sum_j z_j * (A z_j) / sum_j z_j * z_j`` (entrywise).

    For Rademacher probes entry ``i`` has variance ``sum_{l != i} A_il^2 / m``;
    orthonormal (or SRFT) probes with ``m = n`` give the exact diagonal.

    Parameters
    ----------
    A : operator-like
        Square matrix or anything :func:`randla.as_operator` accepts.
    num_matvecs : int
        Number of probes ``m >= 1``.
    probe : str
        An unbiased kind of :func:`randla.random.probe_kinds` (default Rademacher).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    DiagonalEstimate

    Raises
    ------
    ValueError, TypeError
        As :func:`randla.hutchinson`.

    References
    ----------
    C. Bekas, E. Kokiopoulou, Y. Saad, "An estimator for the diagonal of a
    matrix", Appl. Numer. Math. 57 (2007).

    Examples
    --------
    >>> A = np.random.default_rng(0).standard_normal((50, 50))
    >>> est = randla.diagonal_hutchinson(A, 50, probe="orthonormal", rng=0)
    >>> bool(np.allclose(est.estimate, np.diag(A)))
    True
    """
    op, _, m, probe = check_estimator_args(A, num_matvecs, probe, method="diagonal_hutchinson",
                                           minimum=1, why="one probe")
    return _diagonal_hutchinson_body(op, m, probe, as_generator(rng))


def _xdiag_body(op, m, probe, rng):
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
    std_error = xp.sqrt(xp.sum(dev * dev, axis=1) / ((k - 1) * k))
    return DiagonalEstimate(estimate, std_error, counter(op) - start, "xdiag")


def xdiag(A: Any, /, num_matvecs: int, *, probe: str = "rademacher",
          rng: Any = None) -> DiagonalEstimate:
    """XDiag: exchangeable low-rank + residual diagonal estimator (XTrace for diagonals).

    With ``k = num_matvecs // 2`` test vectors and ``Y = A Omega = Q R``, XDiag
    averages ``diag(P_i A) + omega_i * ((I - P_i) A omega_i)`` over ``i``, ``P_i``
    the projector onto ``range(Y)`` without column ``i``. Needs ``k`` products
    with ``A`` and ``k`` with ``A^T``; exact when ``rank(A) < k``.

    Parameters
    ----------
    A : operator-like
        Products with ``A^T`` are needed (see :func:`randla.na_hutchpp`).
    num_matvecs : int
        Budget ``m >= 4``, ``m // 2 <= n``, products with ``A^T`` included.
    probe : str
        Test-vector kind (default Rademacher, as in the paper).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    DiagonalEstimate

    Raises
    ------
    ValueError, TypeError
        As :func:`randla.xtrace`; ``TypeError`` for an operator without adjoint.

    References
    ----------
    Epperly, Tropp, Webber, "XTrace", SIAM J. Matrix Anal. Appl. 45 (2024), Section 4.

    Examples
    --------
    >>> U = np.random.default_rng(0).standard_normal((200, 10))
    >>> est = randla.xdiag(U @ U.T, 30, rng=1)
    >>> bool(np.allclose(est.estimate, np.diag(U @ U.T))), est.num_matvecs
    (True, 30)
    """
    op, _, m, probe = check_estimator_args(
        A, num_matvecs, probe, method="xdiag", minimum=4,
        why="two test vectors and two adjoint products", vectors_per_matvec=2)
    return _xdiag_body(op, m, probe, as_generator(rng))
