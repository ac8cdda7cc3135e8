"""Plain array-API reference stepper (any backend; used by the tests).

It computes exactly what the Numba and CUDA kernels compute, written with
standard array operations only (slicing, arithmetic, ``zeros``), so it runs on
NumPy, torch, CuPy and ``array_api_strict``. It allocates a new array per step
and is meant for small grids and for checking the fast kernels.
"""

from __future__ import annotations

from typing import Any, Sequence

from randla._compat import check_float, device_of, namespace

__all__ = ["reference_step"]


def reference_step(
    u: Any,
    u_prev: Any,
    a: Any,
    b: Any,
    /,
    *,
    weights: Sequence[Sequence[float]],
    center: float,
) -> Any:
    """One leapfrog step ``u_next = a lap(u) + b (u - u_prev) + u_prev``.

    Parameters
    ----------
    u, u_prev : array, storage shape
        Fields at ``t`` and ``t - 1`` on the storage grid: the padded grid plus
        a halo of ``radius`` zero points on every side.
    a, b : array, storage shape
        ``dt^2 / (m + damp dt/2)`` and ``2 m / (m + damp dt/2)``.
    weights : sequence of sequences of float
        ``weights[axis][k] = w_k / h_axis^2`` for ``k = 0..radius`` (entry 0
        ignored): the Laplacian is
        ``center u + sum_axis sum_k weights[axis][k] (u[+k] + u[-k])``.
    center : float
        Centre coefficient ``sum_axis w_0 / h_axis^2``.

    Returns
    -------
    array
        ``u_next`` (storage shape, halo zero), same backend and dtype.

    Raises
    ------
    ValueError
        If the arrays' shapes differ or the grid is smaller than the stencil.

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import reference_step
    >>> u = np.zeros((5, 5)); u[2, 2] = 1.0
    >>> a = np.full((5, 5), 0.1); b = np.full((5, 5), 2.0)
    >>> w = [[0.0, 1.0], [0.0, 1.0]]
    >>> out = reference_step(u, np.zeros((5, 5)), a, b, weights=w, center=-4.0)
    >>> float(out[2, 2]), float(out[1, 2])
    (1.6, 0.1)
    """
    xp = namespace(u=u, u_prev=u_prev, a=a, b=b)
    check_float(u, "u")
    shape = tuple(u.shape)
    for name, arr in (("u_prev", u_prev), ("a", a), ("b", b)):
        if tuple(arr.shape) != shape:
            raise ValueError(f"{name} must have the shape of u {shape}, got {tuple(arr.shape)}")
    ndim = u.ndim
    if len(weights) != ndim:
        raise ValueError(f"weights needs one row per axis ({ndim}), got {len(weights)}")
    radius = len(weights[0]) - 1
    if any(n <= 2 * radius for n in shape):
        raise ValueError(f"grid {shape} too small for stencil radius {radius}")
    inner = tuple(slice(radius, n - radius) for n in shape)
    lap = float(center) * u[inner]
    for axis in range(ndim):
        for k in range(1, radius + 1):
            plus = list(inner)
            minus = list(inner)
            plus[axis] = slice(radius + k, shape[axis] - radius + k)
            minus[axis] = slice(radius - k, shape[axis] - radius - k)
            lap = lap + float(weights[axis][k]) * (u[tuple(plus)] + u[tuple(minus)])
    up = u_prev[inner]
    new = a[inner] * lap + b[inner] * (u[inner] - up) + up
    out = xp.zeros(shape, dtype=u.dtype, device=device_of(u))
    out[inner] = new
    return out
