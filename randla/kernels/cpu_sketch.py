"""Numba kernels applying a sparse sign matrix without forming it (NumPy arrays).

The sparse sign matrix ``S`` of shape ``(n, k)`` is given by the structure of
:func:`randla.random.sparse_sign_indices`: row ``x`` holds the values
``signs[x, s] * scale`` in columns ``cols[x, s]`` (``s < nnz_per_row``).

* :func:`sparse_sign_right` computes ``A @ S`` for ``A`` of shape ``(m, n)``:
  blocks of 64 rows of ``A`` are processed together, so that every nonzero of
  ``S`` updates a contiguous block of 64 accumulators (a vectorised axpy) and
  ``A`` is read once.
* :func:`sparse_sign_left` computes ``S^T @ A`` for ``A`` of shape ``(n, p)``:
  each row of ``A`` is scattered (axpy) into the ``nnz_per_row`` output rows it
  feeds, over column chunks so that the parallel variant has no write races.

Cost ``O(nnz_per_row * m * n)`` against ``O(k * m * n)`` for a dense test
matrix (Meng & Mahoney 2013; Tropp et al. 2017). ``parallel=True`` selects the
``prange`` variants.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

__all__ = ["sparse_sign_left", "sparse_sign_right"]

_FASTMATH = {"reassoc", "contract"}
_ROW_BLOCK = 64
_COL_CHUNK = 512


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _right_block(A, cols, vals, out, i0, nb):
    n = A.shape[1]
    nnz = cols.shape[1]
    k = out.shape[1]
    acc = np.zeros((k, _ROW_BLOCK), dtype=out.dtype)
    av = np.zeros(_ROW_BLOCK, dtype=A.dtype)
    for x in range(n):
        for t in range(nb):
            av[t] = A[i0 + t, x]
        for s in range(nnz):
            ac = acc[cols[x, s]]
            v = vals[x, s]
            for t in range(_ROW_BLOCK):
                ac[t] += v * av[t]
    for t in range(nb):
        for c in range(k):
            out[i0 + t, c] = acc[c, t]


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _right_serial(A, cols, vals, out):
    m = A.shape[0]
    for b in range((m + _ROW_BLOCK - 1) // _ROW_BLOCK):
        i0 = b * _ROW_BLOCK
        _right_block(A, cols, vals, out, i0, min(_ROW_BLOCK, m - i0))


@njit(cache=True, fastmath=_FASTMATH, nogil=True, parallel=True)
def _right_parallel(A, cols, vals, out):
    m = A.shape[0]
    for b in prange((m + _ROW_BLOCK - 1) // _ROW_BLOCK):
        i0 = b * _ROW_BLOCK
        _right_block(A, cols, vals, out, i0, min(_ROW_BLOCK, m - i0))


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _left_chunk(A, cols, vals, out, j0, j1):
    n = A.shape[0]
    nnz = cols.shape[1]
    for c in range(out.shape[0]):
        for j in range(j0, j1):
            out[c, j] = 0
    for x in range(n):
        ax = A[x, j0:j1]
        for s in range(nnz):
            oc = out[cols[x, s], j0:j1]
            v = vals[x, s]
            for j in range(j1 - j0):
                oc[j] += v * ax[j]


@njit(cache=True, fastmath=_FASTMATH, nogil=True)
def _left_serial(A, cols, vals, out):
    _left_chunk(A, cols, vals, out, 0, A.shape[1])


@njit(cache=True, fastmath=_FASTMATH, nogil=True, parallel=True)
def _left_parallel(A, cols, vals, out):
    p = A.shape[1]
    for b in prange((p + _COL_CHUNK - 1) // _COL_CHUNK):
        j0 = b * _COL_CHUNK
        _left_chunk(A, cols, vals, out, j0, min(p, j0 + _COL_CHUNK))


def _values(A, signs, scale):
    real = np.empty(0, dtype=A.dtype).real.dtype
    return np.ascontiguousarray(signs * scale, dtype=real)


def sparse_sign_right(A, cols, signs, scale, num_cols, *, parallel=False):
    """``A @ S`` for ``A`` of shape ``(m, n)`` and the ``(n, num_cols)`` sparse sign ``S``.

    Parameters
    ----------
    A : numpy.ndarray, shape (m, n)
        float32, float64, complex64 or complex128.
    cols, signs : numpy.ndarray, shape (n, nnz_per_row)
    scale : float
        From :func:`randla.random.sparse_sign_indices`.
    num_cols : int
    parallel : bool

    Returns
    -------
    numpy.ndarray, shape (m, num_cols)
    """
    Ac = np.ascontiguousarray(A)
    out = np.empty((A.shape[0], num_cols), dtype=A.dtype)
    vals = _values(A, signs, scale)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    (_right_parallel if parallel else _right_serial)(Ac, cols, vals, out)
    return out


def sparse_sign_left(A, cols, signs, scale, num_cols, *, parallel=False):
    """``S^T @ A`` for ``A`` of shape ``(n, p)`` and the ``(n, num_cols)`` sparse sign ``S``.

    Parameters are those of :func:`sparse_sign_right`.

    Returns
    -------
    numpy.ndarray, shape (num_cols, p)
    """
    Ac = np.ascontiguousarray(A)
    out = np.empty((num_cols, A.shape[1]), dtype=A.dtype)
    vals = _values(A, signs, scale)
    cols = np.ascontiguousarray(cols, dtype=np.int64)
    (_left_parallel if parallel else _left_serial)(Ac, cols, vals, out)
    return out
