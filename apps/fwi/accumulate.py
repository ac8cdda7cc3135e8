"""Blocked accumulation of wavefield histories against probe matrices.

The naive probed update ``ubar[k, x] += Z[t, k] u^t[x]`` for every step is a
rank-1 update that streams the whole ``r x N`` accumulator through memory at
every time step (``8 r`` bytes per grid point and step in single precision):
it is bandwidth bound and runs many times slower than the wave propagation
itself. Here the fields are instead combined into *rows* of a sparse
time-mixing matrix ``C`` (``num_rows x nt``), buffered ``block`` rows at a
time, and every full block is applied with one matrix product (a GEMM)::

    acc (R x N) += P[rows]^T (R x B) @ W (B x N),    W = C[rows] U

so the accumulator is read and written once per ``block`` rows. ``C`` is the
identity (every step is a row) or a sampling of every ``k``-th step, possibly
combined with the seam's second difference (``u^t - 2 u^{t-1} + u^{t-2}``), so
that only ``nt / k`` rows reach the GEMM.

The adjoint side of a cross-correlation never forms ``vbar`` (``r x N``):
:class:`Correlator` decompresses the forward accumulator row block by row
block, ``image += sum_b (P_adj[rows] @ ubar)[b] * W[b]``, which is the same
estimate at the same cost with half the memory.

The code is written against the array API; NumPy arrays take a fast path
(BLAS ``gemm`` with ``beta = 1`` into the accumulator, tiled products).
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Sequence

import numpy as np
from numba import njit

from randla.backend import from_host, is_numpy, nbytes

__all__ = ["Accumulator", "Correlator", "RowStream", "TimeMap", "blas_threads"]

#: Columns per tile of the decompress-and-correlate product (NumPy path).
TILE = 8192

_CONTROLLER: list = []


def blas_threads(num_threads: int | None, /) -> Any:
    """Context manager limiting BLAS to ``num_threads`` (no-op for ``None``
    or without threadpoolctl). The engine's kernels are single-threaded by
    default and shots run in parallel, so the accumulation GEMMs use one
    thread by default: on a busy machine a multi-threaded OpenBLAS spinning
    against the propagator can be an order of magnitude slower."""
    if num_threads is None:
        return contextlib.nullcontext()
    if not _CONTROLLER:
        try:
            from threadpoolctl import ThreadpoolController
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            _CONTROLLER.append(None)
        else:
            _CONTROLLER.append(ThreadpoolController())
    controller = _CONTROLLER[0]
    if controller is None:  # pragma: no cover
        return contextlib.nullcontext()
    return controller.limit(limits=int(num_threads), user_api="blas")


class TimeMap:
    """Sparse time-mixing rows: row ``j`` is ``sum_(t, c) c * u^t`` over its taps.

    Parameters
    ----------
    nt : int
        Number of time indices.
    taps : sequence of sequence of (int, float)
        Taps of every row. Rows must be ordered in time and may share at
        most one end point (``max t`` of row ``j`` <= ``min t`` of row
        ``j + 1``), so a sweep has at most one unfinished row at a time.

    Raises
    ------
    ValueError
        For taps outside ``[0, nt)``, empty rows or overlapping rows.
    """

    def __init__(self, nt: int, taps: Sequence[Sequence[tuple[int, float]]], /) -> None:
        self.nt = int(nt)
        rows = [sorted((int(t), float(c)) for t, c in row) for row in taps]
        by_time: list[list[tuple[int, float]]] = [[] for _ in range(self.nt)]
        last = -1
        for j, row in enumerate(rows):
            if not row:
                raise ValueError(f"row {j} of the time map has no taps")
            if row[0][0] < last:
                raise ValueError("time-map rows overlap in time")
            last = row[-1][0]
            for t, c in row:
                if not 0 <= t < self.nt:
                    raise ValueError(f"tap time {t} outside [0, {self.nt})")
                by_time[t].append((j, c))
        self.num_rows = len(rows)
        self.counts = np.array([len(r) for r in rows], dtype=np.int64)
        self.forward_taps = [tuple(sorted(x)) for x in by_time]
        self.reverse_taps = [tuple(sorted(x, reverse=True)) for x in by_time]
        self.rows = rows

    @classmethod
    def identity(cls, nt: int) -> "TimeMap":
        """Every time index is its own row."""
        return cls(nt, [[(t, 1.0)] for t in range(int(nt))])

    @classmethod
    def sampled(cls, nt: int, stride: int, offset: int, *, second_difference: bool = False) -> "TimeMap":
        """Rows at ``t_j = offset + j * stride``: ``u^{t_j}``, or with
        ``second_difference`` the seam's ``u^{t_j} - 2 u^{t_j - 1} + u^{t_j - 2}``
        (taps before 0 dropped: ``u^{-1} = u^{-2} = 0``)."""
        times = range(int(offset), int(nt), int(stride))
        if second_difference:
            taps = [[(t - s, c) for s, c in ((0, 1.0), (1, -2.0), (2, 1.0)) if t - s >= 0] for t in times]
        else:
            taps = [[(t, 1.0)] for t in times]
        return cls(nt, taps)

    def as_matrix(self) -> np.ndarray:
        """Dense ``(num_rows, nt)`` matrix (for tests and small problems)."""
        out = np.zeros((self.num_rows, self.nt))
        for j, row in enumerate(self.rows):
            for t, c in row:
                out[j, t] += c
        return out


@njit(cache=True, fastmath=True, nogil=True)
def _add_rowdot(img, a, b):  # pragma: no cover - compiled
    """``img[x] += sum_i a[i, x] * b[i, x]``."""
    nb, n = a.shape
    for i in range(nb):
        for x in range(n):
            img[x] += a[i, x] * b[i, x]


class RowStream:
    """Buffers the rows of a :class:`TimeMap` during one sweep.

    Fields arrive through :meth:`push` in sweep order (increasing ``t`` when
    ``reverse`` is false, decreasing otherwise). Completed rows fill a
    ``(block, size)`` buffer; when ``block`` rows are complete (and at
    :meth:`finish`) ``on_flush(lo, hi, rows)`` is called with ``rows`` the
    buffer rows of map rows ``lo .. hi - 1`` in increasing order.
    """

    def __init__(self, tmap: TimeMap, /, *, reverse: bool, buffer: Any, xp: Any,
                 on_flush: Callable[[int, int, Any], None]) -> None:
        self.tmap = tmap
        self.reverse = bool(reverse)
        self.buffer = buffer
        self.block = int(buffer.shape[0])
        self.xp = xp
        self.numpy = is_numpy(xp)
        self.on_flush = on_flush
        self.remaining = tmap.counts.copy()
        self.taps = tmap.reverse_taps if reverse else tmap.forward_taps
        self.started = 0      # rows started in the current block
        self.first = -1       # map row of the first started row of the block
        self.done = 0         # rows completed in the current block
        self.rows_flushed = 0

    def _slot(self, j: int) -> int:
        if self.reverse:
            return self.block - 1 - (self.first - j)
        return j - self.first

    def push(self, t: int, u: Any, /) -> None:
        """Add the field ``u = u^t`` (any shape with ``size`` points)."""
        for j, c in self.taps[t]:
            if self.remaining[j] == self.tmap.counts[j]:  # first tap of row j
                if self.started == 0:
                    self.first = j
                expected = self.first - self.started if self.reverse else self.first + self.started
                if j != expected or self.started >= self.block:
                    raise RuntimeError("rows of the time map arrived out of order")
                self.started += 1
                self._write(self._slot(j), u, c, assign=True)
            else:
                self._write(self._slot(j), u, c, assign=False)
            self.remaining[j] -= 1
            if self.remaining[j] == 0:
                self.done += 1
                if self.done == self.block:
                    self._flush()

    def _write(self, slot: int, u: Any, c: float, *, assign: bool) -> None:
        if self.numpy:
            row = self.buffer[slot].reshape(u.shape)
            if assign:
                if c == 1.0:
                    np.copyto(row, u)
                else:
                    np.multiply(u, c, out=row)
            else:
                row += c * u if c != 1.0 else u
            return
        xp = self.xp
        val = xp.reshape(u if c == 1.0 else c * u, (-1,))
        if assign:
            self.buffer[slot, ...] = val
        else:
            self.buffer[slot, ...] = self.buffer[slot, ...] + val

    def _flush(self) -> None:
        if self.done == 0:
            return
        if self.done != self.started:
            raise RuntimeError("flush with an unfinished row in the block")
        n = self.done
        if self.reverse:
            lo, hi = self.first - n + 1, self.first + 1
            rows = self.buffer[self.block - n:, ...]
        else:
            lo, hi = self.first, self.first + n
            rows = self.buffer[:n, ...]
        self.on_flush(lo, hi, rows)
        self.rows_flushed += n
        self.started = self.done = 0
        self.first = -1

    def finish(self) -> None:
        """Flush the last (partial) block; every row must be complete."""
        self._flush()
        if self.rows_flushed != self.tmap.num_rows:
            raise RuntimeError(
                f"sweep ended with {self.tmap.num_rows - self.rows_flushed} incomplete rows"
            )


def _device_probes(probes: np.ndarray, xp: Any, dtype: Any, device: Any) -> Any:
    if is_numpy(xp):
        return np.ascontiguousarray(probes, dtype=np.dtype(dtype))
    return from_host(probes, xp, dtype=dtype, device=device)


class Accumulator:
    """``acc (R x N) += P[lo:hi]^T @ rows`` for every flushed block.

    Parameters
    ----------
    probes : ndarray, shape (num_rows, R)
        Host probe rows (one per time-map row); moved once to the backend.
    size : int
        Points per field ``N``.
    xp, dtype, device
        Backend of the fields.
    threads : int or None, default 1
        BLAS threads of the NumPy path (:func:`blas_threads`).
    """

    def __init__(self, probes: np.ndarray, size: int, /, *, xp: Any, dtype: Any, device: Any,
                 threads: int | None = 1) -> None:
        self.xp = xp
        self.threads = threads
        self.numpy = is_numpy(xp)
        self.probes = _device_probes(probes, xp, dtype, device)
        self.acc = xp.zeros((probes.shape[1], int(size)), dtype=dtype, device=device)
        if self.numpy:
            from scipy.linalg.blas import get_blas_funcs

            self._gemm = get_blas_funcs("gemm", (self.acc,))

    def __call__(self, lo: int, hi: int, rows: Any) -> None:
        blk = self.probes[lo:hi, ...]
        if self.numpy:
            # Fortran view: acc^T (N x R) += rows^T (N x b) @ blk (b x R), in place
            with blas_threads(self.threads):
                self._gemm(1.0, rows.T, np.asfortranarray(blk), beta=1.0, c=self.acc.T, overwrite_c=True)
            return
        xp = self.xp
        self.acc += xp.matmul(xp.permute_dims(blk, (1, 0)), rows)

    @property
    def nbytes(self) -> int:
        return nbytes(self.acc) + nbytes(self.probes)


class Correlator:
    """Decompress-and-correlate: ``image += sum_b (P[lo:hi] @ ubar)[b] * rows[b]``.

    Parameters
    ----------
    probes : ndarray, shape (num_rows, r)
        Host adjoint-side probe rows.
    ubar : array, shape (r, N)
        The forward accumulator (read only).
    block : int
        Rows per flush (sizes the NumPy scratch tile).
    threads : int or None, default 1
        BLAS threads of the NumPy path (:func:`blas_threads`).
    """

    def __init__(self, probes: np.ndarray, ubar: Any, /, *, block: int, xp: Any, dtype: Any,
                 device: Any, threads: int | None = 1) -> None:
        self.xp = xp
        self.threads = threads
        self.numpy = is_numpy(xp)
        self.probes = _device_probes(probes, xp, dtype, device)
        self.ubar = ubar
        size = int(ubar.shape[1])
        self.image = xp.zeros((size,), dtype=dtype, device=device)
        self.tile = min(size, TILE)
        self.scratch = (np.empty((int(block), self.tile), dtype=np.dtype(dtype))
                        if self.numpy else None)

    def __call__(self, lo: int, hi: int, rows: Any) -> None:
        blk = self.probes[lo:hi, ...]
        if self.numpy:
            n, b = self.image.shape[0], hi - lo
            with blas_threads(self.threads):
                for start in range(0, n, self.tile):
                    stop = min(n, start + self.tile)
                    work = self.scratch[:b, : stop - start]
                    np.matmul(blk, self.ubar[:, start:stop], out=work)
                    _add_rowdot(self.image[start:stop], work, rows[:, start:stop])
            return
        xp = self.xp
        self.image += xp.sum(xp.matmul(blk, self.ubar) * rows, axis=0)

    @property
    def nbytes(self) -> int:
        total = nbytes(self.image) + nbytes(self.probes)
        if self.scratch is not None:
            total += int(self.scratch.nbytes)
        return total
