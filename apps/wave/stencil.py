"""Finite-difference weights (Fornberg's algorithm) and the Laplacian stencil.

The wave engine discretises the Laplacian with the centred second-derivative
stencil of even order ``space_order`` (2, 4, ..., 16) along every axis, i.e.
``radius = space_order // 2`` neighbours on each side. The weights are computed
exactly in rational arithmetic by Fornberg's recursion and then rounded once.
"""

from __future__ import annotations

import functools
from fractions import Fraction
from typing import Sequence

import numpy as np

__all__ = ["SPACE_ORDERS", "fornberg_weights", "second_derivative_weights", "stencil_bound"]

#: Space orders the engine supports.
SPACE_ORDERS = (2, 4, 6, 8, 10, 12, 14, 16)


def fornberg_weights(derivative: int, points: Sequence[float], /, *, x0: float = 0.0) -> np.ndarray:
    """Finite-difference weights for the ``derivative``-th derivative at ``x0``.

    Parameters
    ----------
    derivative : int
        Order of the derivative (>= 0).
    points : sequence of float
        Distinct stencil abscissae (at least ``derivative + 1`` of them).
        Integers and :class:`fractions.Fraction` are handled exactly.
    x0 : float, default 0
        Where the derivative is approximated.

    Returns
    -------
    numpy.ndarray
        ``w`` (float64, one weight per point) with
        ``f^(derivative)(x0) ~ sum_j w[j] f(points[j])``.

    Raises
    ------
    ValueError
        If ``derivative < 0``, too few points, or repeated points.

    References
    ----------
    B. Fornberg, "Generation of finite difference formulas on arbitrarily
    spaced grids", Mathematics of Computation 51(184), 699-706, 1988.

    Examples
    --------
    >>> from randla.apps.wave import fornberg_weights
    >>> fornberg_weights(2, [-1, 0, 1]).tolist()
    [1.0, -2.0, 1.0]
    >>> fornberg_weights(1, [-1, 0, 1]).tolist()
    [-0.5, 0.0, 0.5]
    """
    derivative = int(derivative)
    if derivative < 0:
        raise ValueError(f"derivative must be >= 0, got {derivative}")
    pts = list(points)
    if len(pts) < derivative + 1:
        raise ValueError(
            f"points needs at least derivative + 1 = {derivative + 1} abscissae, got {len(pts)}"
        )
    if len(set(pts)) != len(pts):
        raise ValueError("points must be distinct")
    exact = all(isinstance(p, (int, Fraction, np.integer)) for p in pts) and (
        isinstance(x0, (int, Fraction, np.integer)) or float(x0).is_integer()
    )
    conv = (lambda v: Fraction(int(v)) if isinstance(v, np.integer) else Fraction(v)) if exact else float
    z = conv(int(x0)) if exact else float(x0)
    x = [conv(p) for p in pts]
    return _fornberg_body(derivative, x, z)


def _fornberg_body(m: int, x: list, z) -> np.ndarray:
    n = len(x) - 1
    zero = x[0] * 0
    c = [[zero] * (m + 1) for _ in range(n + 1)]
    c1 = zero + 1
    c4 = x[0] - z
    c[0][0] = zero + 1
    for i in range(1, n + 1):
        mn = min(i, m)
        c2 = zero + 1
        c5 = c4
        c4 = x[i] - z
        for j in range(i):
            c3 = x[i] - x[j]
            c2 = c2 * c3
            if j == i - 1:
                for k in range(mn, 0, -1):
                    c[i][k] = c1 * (k * c[i - 1][k - 1] - c5 * c[i - 1][k]) / c2
                c[i][0] = -c1 * c5 * c[i - 1][0] / c2
            for k in range(mn, 0, -1):
                c[j][k] = (c4 * c[j][k] - k * c[j][k - 1]) / c3
            c[j][0] = c4 * c[j][0] / c3
        c1 = c2
    return np.array([float(c[j][m]) for j in range(n + 1)], dtype=np.float64)


def _check_space_order(space_order: int) -> int:
    try:
        so = int(space_order)
    except (TypeError, ValueError):
        raise TypeError(f"space_order must be an integer, got {space_order!r}") from None
    if so != space_order or so not in SPACE_ORDERS:
        raise ValueError(f"space_order must be one of {SPACE_ORDERS}, got {space_order!r}")
    return so


def second_derivative_weights(space_order: int, /) -> np.ndarray:
    """Centred second-derivative weights of even order ``space_order``.

    Parameters
    ----------
    space_order : int
        One of 2, 4, ..., 16.

    Returns
    -------
    numpy.ndarray
        ``w`` of length ``radius + 1`` (``radius = space_order // 2``):
        ``f''(0) h^2 ~ w[0] f(0) + sum_{k>=1} w[k] (f(kh) + f(-kh))``.

    Raises
    ------
    ValueError
        If ``space_order`` is not an even integer in [2, 16].

    References
    ----------
    B. Fornberg, Mathematics of Computation 51(184), 699-706, 1988.

    Examples
    --------
    >>> from randla.apps.wave import second_derivative_weights
    >>> second_derivative_weights(4).round(6).tolist()
    [-2.5, 1.333333, -0.083333]
    """
    return np.array(_centred_weights(_check_space_order(space_order)))


@functools.lru_cache(maxsize=None)
def _centred_weights(space_order: int) -> tuple[float, ...]:
    """The weights of :func:`second_derivative_weights`, computed once per order
    (exact rational arithmetic costs milliseconds; every solver needs them)."""
    radius = space_order // 2
    return tuple(fornberg_weights(2, list(range(-radius, radius + 1)))[radius:].tolist())


def stencil_bound(space_order: int, /) -> float:
    """Sum of the absolute weights of the full centred stencil.

    It is the largest eigenvalue magnitude of the 1-D operator times ``h^2``
    (reached at the Nyquist wavenumber).

    Used for the CFL limit: the leapfrog scheme with Laplacian ``L`` is stable
    iff ``dt^2 c_max^2 rho(-L) <= 4``, and ``rho(-L) <= sum_axes bound / h_axis^2``.

    Parameters
    ----------
    space_order : int
        Even order in ``[2, 16]``.

    Returns
    -------
    float
        ``|w_0| + 2 sum_{k >= 1} |w_k|`` of :func:`second_derivative_weights`.

    Raises
    ------
    ValueError
        If ``space_order`` is not an even integer in [2, 16].

    References
    ----------
    B. Fornberg, Mathematics of Computation 51(184), 699-706, 1988.
    R. Courant, K. Friedrichs and H. Lewy, "Über die partiellen
    Differenzengleichungen der mathematischen Physik", Math. Ann. 100, 32-74,
    1928.

    Examples
    --------
    >>> from randla.apps.wave import stencil_bound
    >>> stencil_bound(2)
    4.0
    """
    w = second_derivative_weights(space_order)
    return float(abs(w[0]) + 2.0 * np.sum(np.abs(w[1:])))


def _axis_weights(space_order: int, spacing: Sequence[float]) -> tuple[np.ndarray, float]:
    """Per-axis weights ``w_k / h_a^2`` (shape (ndim, radius+1), column 0 zero)
    and the centre coefficient ``sum_a w_0 / h_a^2``."""
    w = second_derivative_weights(space_order)
    out = np.zeros((len(spacing), w.size), dtype=np.float64)
    centre = 0.0
    for axis, h in enumerate(spacing):
        out[axis, 1:] = w[1:] / (h * h)
        centre += w[0] / (h * h)
    return out, float(centre)
