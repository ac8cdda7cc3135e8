"""Array-API reference backend: the stepper on any namespace (and the tests' yardstick).

It computes exactly what the Numba and CUDA kernels compute, written with
standard array operations only (slicing, arithmetic, ``zeros``), so it runs on
NumPy, torch, CuPy and ``array_api_strict``. It allocates a new array per step
and is meant for small grids and for checking the fast kernels.
"""

from __future__ import annotations

from typing import Any, ClassVar, Sequence

from randla.backend import check_float, device_of, namespace

from . import Backend

__all__ = ["ReferenceBackend", "reference_step"]


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


class ReferenceBackend(Backend):
    """Any namespace: functional updates with :func:`reference_step` and dense
    ``(num_points, N)`` point matrices (small grids only)."""

    name = "reference"
    requirement: ClassVar[str] = "any array-API namespace"

    @classmethod
    def accepts(cls, xp: Any) -> bool:
        return True

    def __init__(self, prop: Any) -> None:
        super().__init__(prop)
        self.a = prop.a_storage
        self.b = prop.b_storage
        self.weights = [[float(x) for x in row] for row in prop.weights]
        self.center = float(prop.center)

    def zeros(self) -> Any:
        return self.xp.zeros(self.storage_shape, dtype=self.prop.dtype, device=self.prop.device)

    def fill_zero(self, x: Any) -> Any:
        return self.zeros()

    def copy(self, dst: Any, src: Any) -> Any:
        return self.xp.asarray(src, copy=True)

    def step(self, u: Any, up: Any) -> Any:
        return reference_step(u, up, self.a, self.b, weights=self.weights, center=self.center)

    def points(self, interp: Any) -> Any:
        prop = self.prop
        return interp._matrix(self.xp, prop.dtype, prop.device, shape=self.storage_shape,
                              offset=prop.radius)

    def inject(self, up: Any, pts: Any, values: Any) -> Any:
        xp = self.xp
        field = xp.reshape(xp.matmul(values, pts), self.storage_shape)
        return up + self.a * field

    def view(self, u: Any) -> Any:
        return u[self.inner]

    def load(self, dst: Any, x: Any) -> Any:
        return self.from_padded(x)

    def from_padded(self, x: Any) -> Any:
        out = self.zeros()
        out[self.inner] = x
        return out

    def born_source(self, du, u_next, u_cur, u_prev, sdm):
        return du - sdm * (u_next - 2 * u_cur + u_prev)

    def new_record(self, nt: int, npts: int) -> list:
        zero = self.xp.zeros((npts,), dtype=self.prop.dtype, device=self.prop.device)
        return [zero] * nt

    def set_row(self, rec: list, n: int, u: Any, pts: Any) -> list:
        rec[n] = self.xp.matmul(pts, self.xp.reshape(u, (-1,)))
        return rec

    def finish_record(self, rec: list) -> Any:
        return self.xp.stack(rec, axis=0)
