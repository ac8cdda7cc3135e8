"""Pure array-API references of the kernels (any backend; tests compare with them).

These are also the implementations used for backends without a dedicated
kernel (torch, array_api_strict, ...). They work on the canonical layouts of
the kernels:

* shift correlation: ``Y`` of shape ``(M, D0, D1, D2)``, probes ``Z`` of shape
  ``(D0 * D1 * D2, r)``, integer offsets ``(K, 3)`` on the host, result
  ``(M, K, r)``;
* sparse-sign sketch: the structure of :func:`randla.random.sparse_sign_indices`
  (host arrays), applied to a dense 2-D ``A``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import array_namespace, device_of, from_host, numpy_dtype, real_dtype

__all__ = ["shift_correlate", "shifted_probes", "sparse_sign_matrix", "valid_slices"]


def valid_slices(grid: tuple[int, ...], offset: tuple[int, ...]):
    """Slices ``(dst, src)`` with ``dst`` the points ``x`` and ``src`` the points
    ``x + offset`` for which both lie in the grid; ``None`` when none do."""
    dst, src = [], []
    for size, k in zip(grid, offset):
        lo, hi = max(0, -k), min(size, size - k)
        if hi <= lo:
            return None
        dst.append(slice(lo, hi))
        src.append(slice(lo + k, hi + k))
    return tuple(dst), tuple(src)


def shifted_probes(Z: Any, grid: tuple[int, ...], offset: tuple[int, ...]) -> Any:
    """``T_k Z``: row ``x`` holds ``Z[x + offset]``, zero where that leaves the grid."""
    xp = array_namespace(Z)
    r = Z.shape[1]
    out = xp.zeros((*grid, r), dtype=Z.dtype, device=device_of(Z))
    slices = valid_slices(grid, offset)
    if slices is not None:
        dst, src = slices
        out[dst + (slice(None),)] = xp.reshape(Z, (*grid, r))[src + (slice(None),)]
    return xp.reshape(out, (math.prod(grid), r))


def shift_correlate(Y: Any, Z: Any, offsets: np.ndarray) -> Any:
    """``out[m, k, j] = sum_x Y[m, x] Z[x + offsets[k], j]`` with a zero boundary.

    One matrix product ``Y (M, N) @ T_k Z (N, r)`` per offset.
    """
    xp = array_namespace(Y, Z)
    M = Y.shape[0]
    grid = tuple(int(d) for d in Y.shape[1:])
    Yf = xp.reshape(Y, (M, math.prod(grid)))
    cols = [Yf @ shifted_probes(Z, grid, tuple(int(a) for a in k)) for k in offsets]
    return xp.stack(cols, axis=1)


def sparse_sign_matrix(
    cols: np.ndarray, signs: np.ndarray, scale: float, num_cols: int, xp: Any, *,
    dtype: Any, device: Any,
) -> Any:
    """The dense ``(n, num_cols)`` sparse sign matrix, built on the host and moved
    once with :func:`randla.backend.from_host` (as :func:`randla.random.sparse_sign`)."""
    n = cols.shape[0]
    dense = np.zeros((n, num_cols), dtype=numpy_dtype(xp, real_dtype(xp, dtype)))
    np.put_along_axis(dense, cols, signs * scale, axis=1)
    return from_host(dense, xp, dtype=real_dtype(xp, dtype), device=device)
