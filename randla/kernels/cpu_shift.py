"""Numba kernel for the shift-probe correlation (host arrays).

For rows ``Y[p, g]`` on an output grid ``(D0, D1, D2)``, probe sets
``Z[g]`` on an input grid ``(E0, E1, E2)``, strides ``s`` and offsets ``a_k``::

    out[p, g, k, j] = sum_x Y[p, g, x] * Z[g, s * x + a_k, j]     (zero outside the grid)

(``G = 1`` and ``s = 1`` is the plain ``Y^T T_k Z`` of
:func:`randla.shift_correlate`). 1-D and 2-D grids are padded with leading
unit axes by the caller. The array-API reference it is tested against is
:func:`randla.kernels.reference.shift_correlate`.

Implementation: the output is tiled in 4 rows x 4 probes held in registers
(4 x 1 and 1 x 4 tiles for the tails), and every tile streams over contiguous
grid rows of ``Y`` and of the transposed probes (a register-blocked dot
product, vectorised by LLVM with ``fastmath`` reassociation). A stride ``s``
on the last axis is absorbed by splitting the probes into ``s`` phases
(``Z[s t + q] -> P[q, t]``), so the inner loop stays unit-stride. The zero
boundary is handled by clipping the row ranges per offset, never by padding.
``parallel=True`` distributes (group, row block, offset) units over Numba
threads with ``prange``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["offset_table", "shift_correlate"]

# reassociation lets LLVM vectorise the reductions; no nnan/ninf assumptions
_FASTMATH = {"reassoc", "contract"}
_TILE = 4


def offset_table(offsets, out_grid, in_grid, stride):
    """Per offset: ``lo0, hi0, lo1, hi1, lo2, hi2`` (valid output ranges), ``a0, a1``
    (input row = ``s * x + a``) and ``q2, b2`` (phase and shift on the last axis).

    Output point ``x`` reads input ``s x + a``, valid for
    ``ceil(-a / s) <= x <= floor((E - 1 - a) / s)``.
    """
    offs = np.asarray(offsets, dtype=np.int64)
    table = np.zeros((offs.shape[0], 10), dtype=np.int64)
    for axis in range(3):
        a, s = offs[:, axis], int(stride[axis])
        D, E = int(out_grid[axis]), int(in_grid[axis])
        table[:, 2 * axis] = np.maximum(0, -(a // s))           # ceil(-a / s)
        table[:, 2 * axis + 1] = np.minimum(D, (E - 1 - a) // s + 1)
    table[:, 6] = offs[:, 0]
    table[:, 7] = offs[:, 1]
    table[:, 8] = offs[:, 2] % int(stride[2])
    table[:, 9] = offs[:, 2] // int(stride[2])
    return table


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _tile_4x4(Y, P, tab, s0, s1, out, p0, g, k, j0, zero):
    lo0, hi0, lo1, hi1, lo2, hi2 = tab[k, 0], tab[k, 1], tab[k, 2], tab[k, 3], tab[k, 4], tab[k, 5]
    a0, a1, q2, b2 = tab[k, 6], tab[k, 7], tab[k, 8], tab[k, 9]
    s00 = zero; s01 = zero; s02 = zero; s03 = zero  # noqa: E702
    s10 = zero; s11 = zero; s12 = zero; s13 = zero  # noqa: E702
    s20 = zero; s21 = zero; s22 = zero; s23 = zero  # noqa: E702
    s30 = zero; s31 = zero; s32 = zero; s33 = zero  # noqa: E702
    if hi0 > lo0 and hi1 > lo1 and hi2 > lo2:
        n = hi2 - lo2
        for d0 in range(lo0, hi0):
            e0 = s0 * d0 + a0
            for d1 in range(lo1, hi1):
                e1 = s1 * d1 + a1
                y0 = Y[p0, g, d0, d1, lo2:hi2]
                y1 = Y[p0 + 1, g, d0, d1, lo2:hi2]
                y2 = Y[p0 + 2, g, d0, d1, lo2:hi2]
                y3 = Y[p0 + 3, g, d0, d1, lo2:hi2]
                z0 = P[g, j0, e0, e1, q2, lo2 + b2:hi2 + b2]
                z1 = P[g, j0 + 1, e0, e1, q2, lo2 + b2:hi2 + b2]
                z2 = P[g, j0 + 2, e0, e1, q2, lo2 + b2:hi2 + b2]
                z3 = P[g, j0 + 3, e0, e1, q2, lo2 + b2:hi2 + b2]
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
    out[p0, g, k, j0] = s00; out[p0, g, k, j0 + 1] = s01  # noqa: E702
    out[p0, g, k, j0 + 2] = s02; out[p0, g, k, j0 + 3] = s03  # noqa: E702
    out[p0 + 1, g, k, j0] = s10; out[p0 + 1, g, k, j0 + 1] = s11  # noqa: E702
    out[p0 + 1, g, k, j0 + 2] = s12; out[p0 + 1, g, k, j0 + 3] = s13  # noqa: E702
    out[p0 + 2, g, k, j0] = s20; out[p0 + 2, g, k, j0 + 1] = s21  # noqa: E702
    out[p0 + 2, g, k, j0 + 2] = s22; out[p0 + 2, g, k, j0 + 3] = s23  # noqa: E702
    out[p0 + 3, g, k, j0] = s30; out[p0 + 3, g, k, j0 + 1] = s31  # noqa: E702
    out[p0 + 3, g, k, j0 + 2] = s32; out[p0 + 3, g, k, j0 + 3] = s33  # noqa: E702


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _tile_4x1(Y, P, tab, s0, s1, out, p0, g, k, j, zero):
    lo0, hi0, lo1, hi1, lo2, hi2 = tab[k, 0], tab[k, 1], tab[k, 2], tab[k, 3], tab[k, 4], tab[k, 5]
    a0, a1, q2, b2 = tab[k, 6], tab[k, 7], tab[k, 8], tab[k, 9]
    t0 = zero
    t1 = zero
    t2 = zero
    t3 = zero
    if hi0 > lo0 and hi1 > lo1 and hi2 > lo2:
        n = hi2 - lo2
        for d0 in range(lo0, hi0):
            e0 = s0 * d0 + a0
            for d1 in range(lo1, hi1):
                e1 = s1 * d1 + a1
                y0 = Y[p0, g, d0, d1, lo2:hi2]
                y1 = Y[p0 + 1, g, d0, d1, lo2:hi2]
                y2 = Y[p0 + 2, g, d0, d1, lo2:hi2]
                y3 = Y[p0 + 3, g, d0, d1, lo2:hi2]
                z = P[g, j, e0, e1, q2, lo2 + b2:hi2 + b2]
                for x in range(n):
                    v = z[x]
                    t0 += y0[x] * v
                    t1 += y1[x] * v
                    t2 += y2[x] * v
                    t3 += y3[x] * v
    out[p0, g, k, j] = t0
    out[p0 + 1, g, k, j] = t1
    out[p0 + 2, g, k, j] = t2
    out[p0 + 3, g, k, j] = t3


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _tile_1x4(Y, P, tab, s0, s1, out, p, g, k, j0, zero):
    lo0, hi0, lo1, hi1, lo2, hi2 = tab[k, 0], tab[k, 1], tab[k, 2], tab[k, 3], tab[k, 4], tab[k, 5]
    a0, a1, q2, b2 = tab[k, 6], tab[k, 7], tab[k, 8], tab[k, 9]
    t0 = zero
    t1 = zero
    t2 = zero
    t3 = zero
    if hi0 > lo0 and hi1 > lo1 and hi2 > lo2:
        n = hi2 - lo2
        for d0 in range(lo0, hi0):
            e0 = s0 * d0 + a0
            for d1 in range(lo1, hi1):
                e1 = s1 * d1 + a1
                y = Y[p, g, d0, d1, lo2:hi2]
                z0 = P[g, j0, e0, e1, q2, lo2 + b2:hi2 + b2]
                z1 = P[g, j0 + 1, e0, e1, q2, lo2 + b2:hi2 + b2]
                z2 = P[g, j0 + 2, e0, e1, q2, lo2 + b2:hi2 + b2]
                z3 = P[g, j0 + 3, e0, e1, q2, lo2 + b2:hi2 + b2]
                for x in range(n):
                    u = y[x]
                    t0 += u * z0[x]
                    t1 += u * z1[x]
                    t2 += u * z2[x]
                    t3 += u * z3[x]
    out[p, g, k, j0] = t0
    out[p, g, k, j0 + 1] = t1
    out[p, g, k, j0 + 2] = t2
    out[p, g, k, j0 + 3] = t3


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _tile_1x1(Y, P, tab, s0, s1, out, p, g, k, j, zero):
    lo0, hi0, lo1, hi1, lo2, hi2 = tab[k, 0], tab[k, 1], tab[k, 2], tab[k, 3], tab[k, 4], tab[k, 5]
    a0, a1, q2, b2 = tab[k, 6], tab[k, 7], tab[k, 8], tab[k, 9]
    t = zero
    if hi0 > lo0 and hi1 > lo1 and hi2 > lo2:
        n = hi2 - lo2
        for d0 in range(lo0, hi0):
            e0 = s0 * d0 + a0
            for d1 in range(lo1, hi1):
                e1 = s1 * d1 + a1
                y = Y[p, g, d0, d1, lo2:hi2]
                z = P[g, j, e0, e1, q2, lo2 + b2:hi2 + b2]
                for x in range(n):
                    t += y[x] * z[x]
    out[p, g, k, j] = t


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _unit(Y, P, tab, s0, s1, out, unit, zero):
    """One work unit: a group, a block of up to 4 rows and one offset."""
    rows, G = Y.shape[0], Y.shape[1]
    r = P.shape[1]
    K = tab.shape[0]
    k = unit % K
    g = (unit // K) % G
    p0 = (unit // (K * G)) * _TILE
    r4 = r - r % _TILE
    if p0 + _TILE <= rows:
        for j0 in range(0, r4, _TILE):
            _tile_4x4(Y, P, tab, s0, s1, out, p0, g, k, j0, zero)
        for j in range(r4, r):
            _tile_4x1(Y, P, tab, s0, s1, out, p0, g, k, j, zero)
    else:
        for p in range(p0, rows):
            for j0 in range(0, r4, _TILE):
                _tile_1x4(Y, P, tab, s0, s1, out, p, g, k, j0, zero)
            for j in range(r4, r):
                _tile_1x1(Y, P, tab, s0, s1, out, p, g, k, j, zero)


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _correlate_serial(Y, P, tab, s0, s1, out, zero):
    num_units = ((Y.shape[0] + _TILE - 1) // _TILE) * Y.shape[1] * tab.shape[0]
    for unit in range(num_units):
        _unit(Y, P, tab, s0, s1, out, unit, zero)


@njit(cache=True, fastmath=_FASTMATH, nogil=True, parallel=True)
def _correlate_parallel(Y, P, tab, s0, s1, out, zero):
    num_units = ((Y.shape[0] + _TILE - 1) // _TILE) * Y.shape[1] * tab.shape[0]
    for unit in prange(num_units):
        _unit(Y, P, tab, s0, s1, out, unit, zero)


def _phases(Z, in_grid, s2):
    """``(G, N, r)`` probes -> ``(G, r, E0, E1, s2, T)`` with ``[..., q, t] = Z[s2 t + q]``."""
    G, _, r = Z.shape
    E0, E1, E2 = in_grid
    Zt = np.ascontiguousarray(np.transpose(Z, (0, 2, 1))).reshape(G, r, E0, E1, E2)
    if s2 == 1:
        return Zt.reshape(G, r, E0, E1, 1, E2)
    T = -(-E2 // s2)
    padded = np.zeros((G, r, E0, E1, T * s2), dtype=Z.dtype)
    padded[..., :E2] = Zt
    return np.ascontiguousarray(
        np.swapaxes(padded.reshape(G, r, E0, E1, T, s2), 4, 5))


def shift_correlate(Y, Z, offsets, *, grid=None, stride=(1, 1, 1), parallel=False):
    """``out[.., k, j] = sum_x Y[.., x] Z[.., s x + offsets[k], j]`` (zero boundary).

    Parameters
    ----------
    Y : numpy.ndarray, shape (M, D0, D1, D2) or (P, G, D0, D1, D2)
        Rows on a canonical 3-D output grid; float32 or float64.
    Z : numpy.ndarray, shape (E0 * E1 * E2, r) or (G, E0 * E1 * E2, r)
        Probes (grid points in C order), shared by all rows or one set per
        group ``g`` (the second axis of a 5-D ``Y``); same dtype as ``Y``.
    offsets : numpy.ndarray of int64, shape (K, 3)
    grid : tuple of 3 int, optional
        The input grid ``(E0, E1, E2)`` of ``Z``; the output grid by default.
    stride : tuple of 3 int
    parallel : bool
        Use the ``prange`` variant (Numba threads).

    Returns
    -------
    numpy.ndarray, shape (M, K, r) or (P, G, K, r)
    """
    grouped = Z.ndim == 3
    Y5 = Y if grouped else Y[:, None]
    Z3 = Z if grouped else Z[None]
    out_grid = tuple(int(d) for d in Y5.shape[2:])
    in_grid = out_grid if grid is None else tuple(int(e) for e in grid)
    stride = tuple(int(s) for s in stride)
    r = int(Z3.shape[2])
    tab = offset_table(offsets, out_grid, in_grid, stride)
    Yc = np.ascontiguousarray(Y5)
    P = _phases(Z3, in_grid, stride[2])
    out = np.empty((Yc.shape[0], Yc.shape[1], tab.shape[0], r), dtype=Y.dtype)
    zero = Y.dtype.type(0)
    kernel = _correlate_parallel if parallel else _correlate_serial
    kernel(Yc, P, tab, np.int64(stride[0]), np.int64(stride[1]), out, zero)
    return out if grouped else out[:, 0]
