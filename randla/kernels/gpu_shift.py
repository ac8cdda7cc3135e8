"""numba.cuda kernel for the shift-probe correlation (CuPy arrays).

Same contract as :func:`randla.kernels.cpu_shift.shift_correlate`::

    out[m, k, j] = sum_x Y[m, x] * Z[x + k, j]      (zero outside the grid)

on a canonical 3-D grid. One thread block per (row ``m``, offset ``k``): its
threads stride over the contiguous last grid axis (coalesced loads of ``Y``
and of the transposed probes), keep a chunk of 8 probe sums in registers,
and reduce them in shared memory. Accumulation is in the input precision.

Imported only when a CuPy array reaches :func:`randla.shift_correlate`, or by
the tests under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``), where NumPy
arrays stand in for device arrays.
"""

from __future__ import annotations

from functools import lru_cache

import numba
import numpy as np
from numba import cuda

from ..backend import array_namespace, device_of, from_host
from ._gpu_common import contiguous

__all__ = ["shift_correlate"]

#: threads per block (a power of two, >= the probe chunk)
THREADS_PER_BLOCK = 128
_PROBE_CHUNK = 8


@lru_cache(maxsize=None)
def _kernel(threads: int, chunk: int, dtype: str):
    acc_type = numba.from_dtype(np.dtype(dtype))

    @cuda.jit
    def kernel(Y, Zt, offsets, out):
        m = cuda.blockIdx.x
        k = cuda.blockIdx.y
        tid = cuda.threadIdx.x
        D0, D1, D2 = Y.shape[1], Y.shape[2], Y.shape[3]
        r = Zt.shape[0]
        a0 = offsets[k, 0]
        a1 = offsets[k, 1]
        a2 = offsets[k, 2]
        lo0 = max(0, -a0)
        hi0 = min(D0, D0 - a0)
        lo1 = max(0, -a1)
        hi1 = min(D1, D1 - a1)
        lo2 = max(0, -a2)
        hi2 = min(D2, D2 - a2)
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
                            acc[q] += y * Zt[j0 + q, d0 + a0, d1 + a1, d2 + a2]
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


def shift_correlate(Y, Z, offsets, *, threads_per_block=THREADS_PER_BLOCK):
    """``out[m, k, j] = sum_x Y[m, x] Z[x + offsets[k], j]`` on the device.

    Parameters
    ----------
    Y : cupy.ndarray, shape (M, D0, D1, D2)
        float32 or float64 (NumPy arrays under the CUDA simulator).
    Z : cupy.ndarray, shape (D0 * D1 * D2, r)
        Same dtype and device as ``Y``.
    offsets : numpy.ndarray of int64, shape (K, 3)
        Host offsets, moved explicitly to the device of ``Y`` (a few bytes).
    threads_per_block : int
        A power of two >= 8.

    Returns
    -------
    cupy.ndarray, shape (M, K, r)
    """
    if threads_per_block < _PROBE_CHUNK or threads_per_block & (threads_per_block - 1):
        raise ValueError(f"threads_per_block must be a power of two >= {_PROBE_CHUNK}, "
                         f"got {threads_per_block}")
    xp = array_namespace(Y, Z)
    device = device_of(Y)
    M, D0, D1, D2 = (int(s) for s in Y.shape)
    r = int(Z.shape[1])
    Yc = contiguous(Y)
    Zt = xp.reshape(contiguous(xp.permute_dims(Z, (1, 0))), (r, D0, D1, D2))
    offs = from_host(np.ascontiguousarray(offsets, dtype=np.int64), xp, dtype=xp.int64,
                     device=device)
    K = int(offs.shape[0])
    out = xp.empty((M, K, r), dtype=Y.dtype, device=device)
    if M and K and r:
        kernel = _kernel(int(threads_per_block), _PROBE_CHUNK, np.dtype(str(Y.dtype)).name)
        kernel[(M, K), threads_per_block](Yc, Zt, offs, out)
    return out
