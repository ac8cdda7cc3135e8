"""Numba kernel for the shift-probe correlation (NumPy arrays).

Computes, for every row ``m`` of ``Y``, every grid offset ``k`` and every
probe ``j``::

    out[m, k, j] = sum_x Y[m, x] * Z[x + k, j]      (zero outside the grid)

on a canonical 3-D grid ``(D0, D1, D2)`` (1-D and 2-D grids are padded with
leading unit axes by the caller). This is the hot loop of
:func:`randla.shift_correlate`, i.e. ``Ybar_k = Y^T T_k Z`` in Louboutin et al.
(2021). The array-API reference it is tested against is
:func:`randla.kernels.reference.shift_correlate`.

Implementation: the output is tiled in 4 rows x 4 probes held in registers,
and every tile streams over contiguous grid rows of ``Y`` and of the
transposed probes ``Z^T`` (a register-blocked dot product, vectorised by LLVM
with ``fastmath`` reassociation). The zero boundary is handled by clipping
the row ranges per offset, never by padding. ``parallel=True`` distributes
(row block, offset) pairs over Numba threads with ``prange``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["shift_correlate"]

# reassociation lets LLVM vectorise the reductions; no nnan/ninf assumptions
_FASTMATH = {"reassoc", "contract"}
_TILE = 4


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _bounds(offsets, k, D0, D1, D2):
    a0 = offsets[k, 0]
    a1 = offsets[k, 1]
    a2 = offsets[k, 2]
    lo0 = max(0, -a0)
    hi0 = min(D0, D0 - a0)
    lo1 = max(0, -a1)
    hi1 = min(D1, D1 - a1)
    lo2 = max(0, -a2)
    hi2 = min(D2, D2 - a2)
    empty = hi0 <= lo0 or hi1 <= lo1 or hi2 <= lo2
    return a0, a1, a2, lo0, hi0, lo1, hi1, lo2, hi2, empty


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _tile_4x4(Y, Zt, offsets, out, m0, k, j0, zero):
    D0, D1, D2 = Y.shape[1], Y.shape[2], Y.shape[3]
    a0, a1, a2, lo0, hi0, lo1, hi1, lo2, hi2, empty = _bounds(offsets, k, D0, D1, D2)
    s00 = zero; s01 = zero; s02 = zero; s03 = zero  # noqa: E702
    s10 = zero; s11 = zero; s12 = zero; s13 = zero  # noqa: E702
    s20 = zero; s21 = zero; s22 = zero; s23 = zero  # noqa: E702
    s30 = zero; s31 = zero; s32 = zero; s33 = zero  # noqa: E702
    if not empty:
        n = hi2 - lo2
        for d0 in range(lo0, hi0):
            e0 = d0 + a0
            for d1 in range(lo1, hi1):
                e1 = d1 + a1
                y0 = Y[m0, d0, d1, lo2:hi2]
                y1 = Y[m0 + 1, d0, d1, lo2:hi2]
                y2 = Y[m0 + 2, d0, d1, lo2:hi2]
                y3 = Y[m0 + 3, d0, d1, lo2:hi2]
                z0 = Zt[j0, e0, e1, lo2 + a2:hi2 + a2]
                z1 = Zt[j0 + 1, e0, e1, lo2 + a2:hi2 + a2]
                z2 = Zt[j0 + 2, e0, e1, lo2 + a2:hi2 + a2]
                z3 = Zt[j0 + 3, e0, e1, lo2 + a2:hi2 + a2]
                for x in range(n):
                    u0 = y0[x]
                    u1 = y1[x]
                    u2 = y2[x]
                    u3 = y3[x]
                    v0 = z0[x]
                    v1 = z1[x]
                    v2 = z2[x]
                    v3 = z3[x]
                    s00 += u0 * v0; s01 += u0 * v1; s02 += u0 * v2; s03 += u0 * v3  # noqa: E702
                    s10 += u1 * v0; s11 += u1 * v1; s12 += u1 * v2; s13 += u1 * v3  # noqa: E702
                    s20 += u2 * v0; s21 += u2 * v1; s22 += u2 * v2; s23 += u2 * v3  # noqa: E702
                    s30 += u3 * v0; s31 += u3 * v1; s32 += u3 * v2; s33 += u3 * v3  # noqa: E702
    out[m0, k, j0] = s00; out[m0, k, j0 + 1] = s01  # noqa: E702
    out[m0, k, j0 + 2] = s02; out[m0, k, j0 + 3] = s03  # noqa: E702
    out[m0 + 1, k, j0] = s10; out[m0 + 1, k, j0 + 1] = s11  # noqa: E702
    out[m0 + 1, k, j0 + 2] = s12; out[m0 + 1, k, j0 + 3] = s13  # noqa: E702
    out[m0 + 2, k, j0] = s20; out[m0 + 2, k, j0 + 1] = s21  # noqa: E702
    out[m0 + 2, k, j0 + 2] = s22; out[m0 + 2, k, j0 + 3] = s23  # noqa: E702
    out[m0 + 3, k, j0] = s30; out[m0 + 3, k, j0 + 1] = s31  # noqa: E702
    out[m0 + 3, k, j0 + 2] = s32; out[m0 + 3, k, j0 + 3] = s33  # noqa: E702


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _tile_1x4(Y, Zt, offsets, out, m, k, j0, zero):
    D0, D1, D2 = Y.shape[1], Y.shape[2], Y.shape[3]
    a0, a1, a2, lo0, hi0, lo1, hi1, lo2, hi2, empty = _bounds(offsets, k, D0, D1, D2)
    s0 = zero
    s1 = zero
    s2 = zero
    s3 = zero
    if not empty:
        n = hi2 - lo2
        for d0 in range(lo0, hi0):
            e0 = d0 + a0
            for d1 in range(lo1, hi1):
                e1 = d1 + a1
                y = Y[m, d0, d1, lo2:hi2]
                z0 = Zt[j0, e0, e1, lo2 + a2:hi2 + a2]
                z1 = Zt[j0 + 1, e0, e1, lo2 + a2:hi2 + a2]
                z2 = Zt[j0 + 2, e0, e1, lo2 + a2:hi2 + a2]
                z3 = Zt[j0 + 3, e0, e1, lo2 + a2:hi2 + a2]
                for x in range(n):
                    u = y[x]
                    s0 += u * z0[x]
                    s1 += u * z1[x]
                    s2 += u * z2[x]
                    s3 += u * z3[x]
    out[m, k, j0] = s0
    out[m, k, j0 + 1] = s1
    out[m, k, j0 + 2] = s2
    out[m, k, j0 + 3] = s3


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _tile_1x1(Y, Zt, offsets, out, m, k, j, zero):
    D0, D1, D2 = Y.shape[1], Y.shape[2], Y.shape[3]
    a0, a1, a2, lo0, hi0, lo1, hi1, lo2, hi2, empty = _bounds(offsets, k, D0, D1, D2)
    s = zero
    if not empty:
        n = hi2 - lo2
        for d0 in range(lo0, hi0):
            e0 = d0 + a0
            for d1 in range(lo1, hi1):
                e1 = d1 + a1
                y = Y[m, d0, d1, lo2:hi2]
                z = Zt[j, e0, e1, lo2 + a2:hi2 + a2]
                for x in range(n):
                    s += y[x] * z[x]
    out[m, k, j] = s


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _unit(Y, Zt, offsets, out, unit, zero):
    """One work unit: a block of up to 4 rows of ``Y`` and one offset."""
    M = Y.shape[0]
    r = Zt.shape[0]
    K = offsets.shape[0]
    m0 = (unit // K) * _TILE
    k = unit % K
    r4 = r - r % _TILE
    if m0 + _TILE <= M:
        for j0 in range(0, r4, _TILE):
            _tile_4x4(Y, Zt, offsets, out, m0, k, j0, zero)
        for m in range(m0, m0 + _TILE):
            for j in range(r4, r):
                _tile_1x1(Y, Zt, offsets, out, m, k, j, zero)
    else:
        for m in range(m0, M):
            for j0 in range(0, r4, _TILE):
                _tile_1x4(Y, Zt, offsets, out, m, k, j0, zero)
            for j in range(r4, r):
                _tile_1x1(Y, Zt, offsets, out, m, k, j, zero)


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _correlate_serial(Y, Zt, offsets, out, zero):
    num_units = ((Y.shape[0] + _TILE - 1) // _TILE) * offsets.shape[0]
    for unit in range(num_units):
        _unit(Y, Zt, offsets, out, unit, zero)


@njit(cache=True, fastmath=_FASTMATH, nogil=True, parallel=True)
def _correlate_parallel(Y, Zt, offsets, out, zero):
    num_units = ((Y.shape[0] + _TILE - 1) // _TILE) * offsets.shape[0]
    for unit in prange(num_units):
        _unit(Y, Zt, offsets, out, unit, zero)


def shift_correlate(Y, Z, offsets, *, parallel=False):
    """``out[m, k, j] = sum_x Y[m, x] Z[x + offsets[k], j]`` (zero boundary).

    Parameters
    ----------
    Y : numpy.ndarray, shape (M, D0, D1, D2)
        Rows to correlate, on a canonical 3-D grid; float32 or float64.
    Z : numpy.ndarray, shape (D0 * D1 * D2, r)
        Probe matrix (grid points in C order), same dtype as ``Y``.
    offsets : numpy.ndarray of int64, shape (K, 3)
    parallel : bool
        Use the ``prange`` variant (Numba threads).

    Returns
    -------
    numpy.ndarray, shape (M, K, r)
    """
    M, D0, D1, D2 = Y.shape
    r = Z.shape[1]
    Yc = np.ascontiguousarray(Y)
    Zt = np.ascontiguousarray(Z.T).reshape(r, D0, D1, D2)
    offs = np.ascontiguousarray(offsets, dtype=np.int64)
    out = np.empty((M, offs.shape[0], r), dtype=Y.dtype)
    zero = Y.dtype.type(0)
    if parallel:
        _correlate_parallel(Yc, Zt, offs, out, zero)
    else:
        _correlate_serial(Yc, Zt, offs, out, zero)
    return out
