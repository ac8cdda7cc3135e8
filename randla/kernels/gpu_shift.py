"""numba.cuda kernel for the shift-probe correlation (CuPy arrays).

Same contract as :func:`randla.kernels.cpu_shift.shift_correlate`::

    out[p, g, k, j] = sum_x Y[p, g, x] * Z[g, s * x + a_k, j]    (zero outside the grid)

on canonical 3-D grids. One thread block per (row ``m``, offset ``k``): its
threads stride over the contiguous last grid axis (coalesced loads of ``Y``
and of the transposed probes), keep a chunk of 8 probe sums in registers,
and reduce them in shared memory. Accumulation is in the input precision.

Imported only when a CUDA array reaches :func:`randla.shift_correlate`, or by
the tests under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where NumPy
arrays stand in for device arrays.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numba
import numpy as np
from numba import cuda

from ..backend import array_namespace, device_of, from_host
from ._gpu_common import contiguous
from .cpu_shift import offset_table

__all__ = ["shift_correlate"]

#: threads per block (a power of two, >= the probe chunk)
THREADS_PER_BLOCK = 128
_PROBE_CHUNK = 8


@lru_cache(maxsize=None)
def _kernel(threads: int, chunk: int, dtype: str):
    acc_type = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def kernel(Y, Zt, tab, strides, out):
        m = cuda.blockIdx.x
        k = cuda.blockIdx.y
        tid = cuda.threadIdx.x
        g = m % Zt.shape[0]
        r = Zt.shape[1]
        lo0 = tab[k, 0]
        hi0 = tab[k, 1]
        lo1 = tab[k, 2]
        hi1 = tab[k, 3]
        lo2 = tab[k, 4]
        hi2 = tab[k, 5]
        a0 = tab[k, 6]
        a1 = tab[k, 7]
        a2 = tab[k, 10]
        s0 = strides[0]
        s1 = strides[1]
        s2 = strides[2]
        acc = cuda.local.array(chunk, acc_type)
        partial = cuda.shared.array((chunk, threads), acc_type)
        for j0 in range(0, r, chunk):
            jn = min(chunk, r - j0)
            for q in range(chunk):
                acc[q] = 0
            for d0 in range(lo0, hi0):
                for d1 in range(lo1, hi1):
                    for d2 in range(lo2 + tid, hi2, threads):
                        y = Y[m, d0, d1, d2]
                        for q in range(jn):
                            acc[q] += y * Zt[g, j0 + q, s0 * d0 + a0, s1 * d1 + a1,
                                             s2 * d2 + a2]
            for q in range(chunk):
                partial[q, tid] = acc[q]
            cuda.syncthreads()
            stride = threads // 2
            while stride > 0:
                if tid < stride:
                    for q in range(chunk):
                        partial[q, tid] += partial[q, tid + stride]
                cuda.syncthreads()
                stride //= 2
            if tid < jn:
                out[m, k, j0 + tid] = partial[tid, 0]
            cuda.syncthreads()

    return kernel


def shift_correlate(Y, Z, offsets, *, grid=None, stride=(1, 1, 1),
                    threads_per_block=THREADS_PER_BLOCK):
    """``out[.., k, j] = sum_x Y[.., x] Z[.., s x + offsets[k], j]`` on the device.

    Parameters
    ----------
    Y : device array, shape (M, D0, D1, D2) or (P, G, D0, D1, D2)
        float32 or float64 (NumPy arrays under the CUDA simulator).
    Z : device array, shape (E0 * E1 * E2, r) or (G, E0 * E1 * E2, r)
        Same dtype and device as ``Y``.
    offsets : numpy.ndarray of int64, shape (K, 3)
        Host offsets; their bounds table moves explicitly to the device (a few bytes).
    grid, stride : tuple of 3 int
        Input grid of ``Z`` (the output grid by default) and strides.
    threads_per_block : int
        A power of two >= 8.

    Returns
    -------
    device array, shape (M, K, r) or (P, G, K, r)
    """
    if threads_per_block < _PROBE_CHUNK or threads_per_block & (threads_per_block - 1):
        raise ValueError(f"threads_per_block must be a power of two >= {_PROBE_CHUNK}, "
                         f"got {threads_per_block}")
    xp = array_namespace(Y, Z)
    device = device_of(Y)
    grouped = Z.ndim == 3
    lead = tuple(int(s) for s in Y.shape[:-3])
    out_grid = tuple(int(s) for s in Y.shape[-3:])
    in_grid = out_grid if grid is None else tuple(int(e) for e in grid)
    M = math.prod(lead)
    G, r = (int(Z.shape[0]), int(Z.shape[2])) if grouped else (1, int(Z.shape[1]))
    Yc = contiguous(xp.reshape(Y, (M, *out_grid)))
    Z3 = Z if grouped else xp.reshape(Z, (1, *Z.shape))
    Zt = xp.reshape(contiguous(xp.permute_dims(Z3, (0, 2, 1))), (G, r, *in_grid))
    offs = np.ascontiguousarray(offsets, dtype=np.int64)
    table = np.concatenate([offset_table(offs, out_grid, in_grid, stride), offs[:, 2:]], axis=1)
    tab = from_host(table, xp, dtype=xp.int64, device=device)
    strides = from_host(np.asarray(stride, dtype=np.int64), xp, dtype=xp.int64, device=device)
    K = int(offs.shape[0])
    out = xp.empty((M, K, r), dtype=Y.dtype, device=device)
    if M and K and r:
        kernel = _kernel(int(threads_per_block), _PROBE_CHUNK, np.dtype(str(Y.dtype)).name)
        kernel[(M, K), threads_per_block](Yc, Zt, tab, strides, out)
    return xp.reshape(out, (*lead, K, r))
