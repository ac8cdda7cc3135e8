"""numba.cuda backend of the acoustic engine, for CuPy arrays.

Same arithmetic as :mod:`.cpu` (one thread per grid point, the
contiguous axis mapped to ``threadIdx.x`` for coalesced access; sources
injected with ``cuda.atomic.add`` so coincident corners add up). Tested under
the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``) on small grids, where NumPy
arrays stand in for device arrays.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

import numpy as np
from numba import cuda

from randla.backend import from_host, is_cupy, is_numpy

from . import Backend

__all__ = ["CudaBackend", "get_cuda_kernels"]

_KERNELS: dict = {}
_BLOCK2 = (32, 8)
_BLOCK3 = (32, 4, 2)


def _make_kernels(ndim: int, radius: int) -> dict:
    R = radius

    @cuda.jit
    def step2(u, up, a, b, w0, w1, c0, n0, n1):
        j, i = cuda.grid(2)
        i += R
        j += R
        if i < n0 - R and j < n1 - R:
            p = i * n1 + j
            lap = c0 * u[p]
            for k in range(1, R + 1):
                lap += w1[k] * (u[p - k] + u[p + k]) + w0[k] * (u[p - k * n1] + u[p + k * n1])
            up[p] = a[p] * lap + b[p] * (u[p] - up[p]) + up[p]

    @cuda.jit
    def step3(u, up, a, b, w0, w1, w2, c0, n0, n1, n2):
        k2, j, i = cuda.grid(3)
        i += R
        j += R
        k2 += R
        if i < n0 - R and j < n1 - R and k2 < n2 - R:
            s0 = n1 * n2
            p = i * s0 + j * n2 + k2
            lap = c0 * u[p]
            for k in range(1, R + 1):
                lap += (w2[k] * (u[p - k] + u[p + k]) + w1[k] * (u[p - k * n2] + u[p + k * n2])
                        + w0[k] * (u[p - k * s0] + u[p + k * s0]))
            up[p] = a[p] * lap + b[p] * (u[p] - up[p]) + up[p]

    return {"step": step2 if ndim == 2 else step3}


@cuda.jit
def _inject(up, a, idx, wts, values):
    t = cuda.grid(1)
    ncorner = idx.shape[1]
    if t < idx.shape[0] * ncorner:
        p = t // ncorner
        c = t - p * ncorner
        q = idx[p, c]
        cuda.atomic.add(up, q, a[q] * wts[p, c] * values[p])


@cuda.jit
def _interpolate(u, idx, wts, out):
    p = cuda.grid(1)
    if p < idx.shape[0]:
        acc = 0.0
        for c in range(idx.shape[1]):
            acc += wts[p, c] * u[idx[p, c]]
        out[p] = acc


@cuda.jit
def _born_source(du, u_next, u_cur, u_prev, sdm):
    p = cuda.grid(1)
    if p < du.shape[0]:
        du[p] -= sdm[p] * (u_next[p] - 2 * u_cur[p] + u_prev[p])


def get_cuda_kernels(ndim: int, radius: int) -> dict:
    """The step kernel for (ndim, radius) plus the point and Born kernels."""
    key = (ndim, radius)
    if key not in _KERNELS:
        ker = _make_kernels(ndim, radius)
        ker.update(inject=_inject, interpolate=_interpolate, born_source=_born_source)
        _KERNELS[key] = ker
    return _KERNELS[key]


def _blocks(n: int, threads: int = 128) -> tuple[int, int]:
    return max(1, math.ceil(n / threads)), threads


class CudaBackend(Backend):
    """numba.cuda kernels on CuPy (or, under the simulator, NumPy) flat storage arrays."""

    name = "cuda"
    requirement: ClassVar[str] = "CuPy arrays (or NumPy under NUMBA_ENABLE_CUDASIM=1)"

    @classmethod
    def accepts(cls, xp: Any) -> bool:
        from numba import config

        return is_cupy(xp) or (is_numpy(xp) and bool(config.ENABLE_CUDASIM))

    def __init__(self, prop: Any) -> None:
        super().__init__(prop)
        self.size = int(np.prod(prop.storage_shape))
        self.np_dtype = np.dtype(prop.np_dtype)
        self.a = self.xp.reshape(prop.a_storage, (-1,))
        self.b = self.xp.reshape(prop.b_storage, (-1,))
        self.w = [from_host(np.asarray(row), self.xp, dtype=prop.dtype, device=prop.device)
                  for row in prop.weights]
        self.c0 = self.np_dtype.type(prop.center)
        self.kernels = get_cuda_kernels(prop.ndim, prop.radius)
        inner = [n - 2 * prop.radius for n in prop.storage_shape]
        if prop.ndim == 2:
            block = _BLOCK2
            self.grid = (math.ceil(inner[1] / block[0]), math.ceil(inner[0] / block[1]))
        else:
            block = _BLOCK3
            self.grid = (math.ceil(inner[2] / block[0]), math.ceil(inner[1] / block[1]),
                         math.ceil(inner[0] / block[2]))
        self.block = block

    def zeros(self) -> Any:
        return self.xp.zeros((self.size,), dtype=self.prop.dtype, device=self.prop.device)

    def fill_zero(self, x: Any) -> Any:
        x[...] = 0
        return x

    def copy(self, dst: Any, src: Any) -> Any:
        dst[...] = src
        return dst

    def step(self, u: Any, up: Any) -> Any:
        args = (u, up, self.a, self.b, *self.w, self.c0, *self.storage_shape)
        self.kernels["step"][self.grid, self.block](*args)
        return up

    def points(self, interp: Any) -> tuple:
        idx = interp.flat_indices(self.storage_shape, offset=self.prop.radius)
        xp, dev = self.xp, self.prop.device
        return (from_host(idx, xp, dtype=xp.int64, device=dev),
                from_host(interp.weights, xp, dtype=self.prop.dtype, device=dev))

    def inject(self, up: Any, pts: tuple, values: Any) -> Any:
        n = int(pts[0].shape[0] * pts[0].shape[1])
        blocks, threads = _blocks(n)
        self.kernels["inject"][blocks, threads](up, self.a, pts[0], pts[1], values)
        return up

    def view(self, u: Any) -> Any:
        return self.xp.reshape(u, self.storage_shape)[self.inner]

    def load(self, dst: Any, x: Any) -> Any:
        self.xp.reshape(dst, self.storage_shape)[self.inner] = x
        return dst

    def from_padded(self, x: Any) -> Any:
        return self.load(self.zeros(), x)

    def born_source(self, du, u_next, u_cur, u_prev, sdm):
        blocks, threads = _blocks(self.size, 256)
        self.kernels["born_source"][blocks, threads](du, u_next, u_cur, u_prev, sdm)
        return du

    def new_record(self, nt: int, npts: int) -> Any:
        return self.xp.zeros((nt, npts), dtype=self.prop.dtype, device=self.prop.device)

    def set_row(self, rec: Any, n: int, u: Any, pts: tuple) -> Any:
        blocks, threads = _blocks(int(pts[0].shape[0]))
        self.kernels["interpolate"][blocks, threads](u, pts[0], pts[1], rec[n])
        return rec
