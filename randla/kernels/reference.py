"""Pure array-API references of the kernels (any backend; tests compare with them).

These are also the implementations used for backends without a dedicated
kernel (torch, array_api_strict, ...). They work on the canonical layouts of
the kernels:

* shift correlation: ``Y`` of shape ``(M, D0, D1, D2)`` with probes ``Z`` of
  shape ``(E0 * E1 * E2, r)``, or ``(P, G, D0, D1, D2)`` with one probe set per
  group, ``Z`` of shape ``(G, E0 * E1 * E2, r)``; integer offsets ``(K, 3)`` and
  strides on the host; result ``(M, K, r)`` or ``(P, G, K, r)``;
* sparse-sign sketch: the structure of :func:`randla.random.sparse_sign_indices`
  (host arrays), applied to a dense 2-D ``A``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import array_namespace, device_of, from_host, numpy_dtype, real_dtype

__all__ = ["shift_correlate", "shifted_probes", "sparse_sign_matrix", "valid_slices"]


def valid_slices(grid: tuple[int, ...], offset: tuple[int, ...], *,
                 in_grid: tuple[int, ...] | None = None,
                 stride: tuple[int, ...] | None = None):
    """Slices ``(dst, src)``: ``dst`` the output points ``x`` and ``src`` the input
    points ``s x + offset`` for which both lie in their grids; ``None`` when none do.

    ``grid`` is the output grid, ``in_grid`` the input grid (``grid`` by
    default), ``stride`` 1 per axis by default.
    """
    in_grid = grid if in_grid is None else in_grid
    stride = (1,) * len(grid) if stride is None else stride
    dst, src = [], []
    for size, e, k, s in zip(grid, in_grid, offset, stride):
        lo, hi = max(0, -(k // s)), min(size, (e - 1 - k) // s + 1)
        if hi <= lo:
            return None
        dst.append(slice(lo, hi))
        src.append(slice(s * lo + k, s * (hi - 1) + k + 1, s))
    return tuple(dst), tuple(src)


def shifted_probes(Z: Any, grid: tuple[int, ...], offset: tuple[int, ...], *,
                   in_grid: tuple[int, ...] | None = None,
                   stride: tuple[int, ...] | None = None) -> Any:
    """``T_k Z`` on the output grid: row ``x`` holds ``Z[s x + offset]``, zero where
    that leaves the input grid. ``Z`` is ``(*batch, N_in, r)``."""
    xp = array_namespace(Z)
    in_grid = grid if in_grid is None else in_grid
    lead, r = tuple(Z.shape[:-2]), Z.shape[-1]
    out = xp.zeros((*lead, *grid, r), dtype=Z.dtype, device=device_of(Z))
    slices = valid_slices(grid, offset, in_grid=in_grid, stride=stride)
    if slices is not None:
        dst, src = slices
        keep = (slice(None),) * len(lead)
        out[keep + dst + (slice(None),)] = xp.reshape(Z, (*lead, *in_grid, r))[
            keep + src + (slice(None),)]
    return xp.reshape(out, (*lead, math.prod(grid), r))


def shift_correlate(Y: Any, Z: Any, offsets: np.ndarray, *, grid: Any = None,
                    stride: Any = (1, 1, 1)) -> Any:
    """``out[.., k, j] = sum_x Y[.., x] Z[.., s x + offsets[k], j]`` with a zero boundary.

    The contract of :func:`randla.kernels.cpu_shift.shift_correlate`: ``Y`` is
    ``(M, D0, D1, D2)`` with ``Z`` of shape ``(N_in, r)``, or ``(P, G, D0, D1, D2)``
    with one probe set per group, ``Z`` of shape ``(G, N_in, r)``. One (batched)
    matrix product per offset.
    """
    xp = array_namespace(Y, Z)
    grouped = Z.ndim == 3
    out_grid = tuple(int(d) for d in Y.shape[-3:])
    in_grid = out_grid if grid is None else tuple(int(e) for e in grid)
    stride = tuple(int(s) for s in stride)
    lead = tuple(Y.shape[:-3])
    nout = math.prod(out_grid)
    if grouped:  # (G, P, N_out) @ (G, N_out, r) per offset
        Yg = xp.permute_dims(xp.reshape(Y, (lead[0], lead[1], nout)), (1, 0, 2))
    else:
        Yg = xp.reshape(Y, (lead[0], nout))
    cols = []
    for k in offsets:
        TkZ = shifted_probes(Z, out_grid, tuple(int(a) for a in k), in_grid=in_grid,
                             stride=stride)
        prod = Yg @ TkZ
        cols.append(xp.permute_dims(prod, (1, 0, 2)) if grouped else prod)
    return xp.stack(cols, axis=-2)


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
