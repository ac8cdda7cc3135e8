"""numba.cuda kernels applying a sparse sign matrix without forming it (CuPy).

Same contract as :mod:`randla.kernels.cpu_sketch`. The host-drawn structure
of :func:`randla.random.sparse_sign_indices` is regrouped by output column
(compressed sparse columns: ``indptr``, ``rows``, ``vals``) on the host and
moved once, explicitly, to the device (``O(n * nnz_per_row)`` numbers, the
same documented transfer as any host-drawn probe). Then one thread per
output entry ``(c, j)`` gathers ``sum_p vals[p] * A[rows[p], j]``: threads of
a warp read consecutive ``j`` (coalesced), no atomics, deterministic.
``A @ S`` is computed as ``(S^T A^T)^T`` after a device-local transposed copy
of ``A``.

Imported only when a CuPy array reaches :func:`randla.sketch`, or by the tests
under the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``).
"""

from __future__ import annotations

import numpy as np
from numba import cuda

from ..backend import array_namespace, device_of, from_host, numpy_dtype, real_dtype
from ._gpu_common import contiguous

__all__ = ["sparse_sign_left", "sparse_sign_right"]

#: threads per block along the columns of ``A``
THREADS_PER_BLOCK = 256
_MAX_GRID_Y = 65535


@cuda.jit
def _left_kernel(A, indptr, rows, vals, out, zero):
    j = cuda.blockIdx.x * cuda.blockDim.x + cuda.threadIdx.x
    if j >= A.shape[1]:
        return
    for c in range(cuda.blockIdx.y, out.shape[0], cuda.gridDim.y):
        s = zero
        for p in range(indptr[c], indptr[c + 1]):
            s += vals[p] * A[rows[p], j]
        out[c, j] = s


def csc_structure(cols, signs, scale, num_cols):
    """Group the sparse sign structure by output column (host arrays).

    Returns
    -------
    indptr : ndarray of int64, shape (num_cols + 1,)
    rows : ndarray of int64, shape (n * nnz_per_row,)
    vals : ndarray of float64, shape (n * nnz_per_row,)
    """
    nnz = cols.shape[1]
    flat = np.asarray(cols, dtype=np.int64).ravel()
    order = np.argsort(flat, kind="stable")
    rows = (order // nnz).astype(np.int64)
    vals = np.asarray(signs, dtype=np.float64).ravel()[order] * scale
    indptr = np.zeros(num_cols + 1, dtype=np.int64)
    np.cumsum(np.bincount(flat, minlength=num_cols), out=indptr[1:])
    return indptr, rows, vals


def sparse_sign_left(A, cols, signs, scale, num_cols, *, threads_per_block=THREADS_PER_BLOCK):
    """``S^T @ A`` for ``A`` of shape ``(n, p)`` on the device.

    Parameters
    ----------
    A : cupy.ndarray, shape (n, p)
        float32/float64/complex64/complex128 (NumPy under the CUDA simulator).
    cols, signs, scale, num_cols
        From :func:`randla.random.sparse_sign_indices` (host).
    threads_per_block : int

    Returns
    -------
    cupy.ndarray, shape (num_cols, p)
    """
    xp = array_namespace(A)
    device = device_of(A)
    rdt = real_dtype(xp, A.dtype)
    indptr, rows, vals = csc_structure(cols, signs, scale, num_cols)
    indptr = from_host(indptr, xp, dtype=xp.int64, device=device)
    rows = from_host(rows, xp, dtype=xp.int64, device=device)
    vals = from_host(vals, xp, dtype=rdt, device=device)
    Ac = contiguous(A)
    p = int(A.shape[1])
    out = xp.empty((num_cols, p), dtype=A.dtype, device=device)
    if p and num_cols:
        zero = np.zeros((), dtype=numpy_dtype(xp, A.dtype))[()]
        grid = ((p + threads_per_block - 1) // threads_per_block, min(num_cols, _MAX_GRID_Y))
        _left_kernel[grid, threads_per_block](Ac, indptr, rows, vals, out, zero)
    return out


def sparse_sign_right(A, cols, signs, scale, num_cols, *, threads_per_block=THREADS_PER_BLOCK):
    """``A @ S`` for ``A`` of shape ``(m, n)``: ``(S^T A^T)^T`` on the device.

    Parameters are those of :func:`sparse_sign_left`.

    Returns
    -------
    cupy.ndarray, shape (m, num_cols)
    """
    xp = array_namespace(A)
    At = contiguous(xp.permute_dims(A, (1, 0)))
    out = sparse_sign_left(At, cols, signs, scale, num_cols, threads_per_block=threads_per_block)
    return contiguous(xp.permute_dims(out, (1, 0)))
