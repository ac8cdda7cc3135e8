"""Apply a random test matrix to a matrix with the fastest path for its kind.

:func:`sketch` computes ``A @ Omega`` (or ``Omega^T @ A``) for a test matrix
``Omega`` of any registered probe kind (:func:`randla.random.probe_kinds`),
drawn exactly as :func:`randla.random.draw_probes` draws it from the same
``rng``, so the result equals ``A @ draw_probes(probe, n, num_cols, rng=rng)``
to rounding:

* ``sparse_sign``: never formed; where the array's backend has a compiled
  kernel (:func:`randla.kernels._dispatch.kernel_backend`: Numba for NumPy,
  numba.cuda for CuPy) it is applied in ``O(nnz_per_row * m * n)``; other
  backends multiply by the dense matrix.
* ``srft``: the FFT of the array API ``fft`` extension on ``A * signs``
  (``O(m n log n)``), picking the cosine/sine components of the columns that
  :func:`randla.random.srft` selects; dense product when the namespace has no
  ``fft``.
* every other kind (gaussian, rademacher, sphere, orthonormal, kinds that
  applications register): one matrix product.
* operators (:func:`randla.as_operator` inputs): ``matmat`` / ``rmatmat`` with
  the dense test matrix.

References
----------
Woolfe, Liberty, Rokhlin, Tygert, "A fast randomized algorithm for the
approximation of matrices", ACHA 25 (2008) (SRFT).
Meng, Mahoney, "Low-distortion subspace embeddings in input-sparsity time and
applications to robust linear regression", STOC (2013); Tropp, Yurtsever,
Udell, Cevher, "Practical sketching algorithms for low-rank matrix
approximation", SIMAX 38 (2017) (sparse sign).
"""

from __future__ import annotations

import math
import warnings
from typing import Any

import numpy as np

from .backend import (
    check_finite,
    check_float,
    check_positive_int,
    device_of,
    from_host,
    is_array,
    namespace,
    real_dtype,
)
from .kernels import reference as _reference
from .kernels._dispatch import CUDA, NUMBA, kernel_backend
from .operators import as_operator
from .random import (
    _real_dft_columns,
    draw_probes,
    probe_kind,
    sparse_sign_indices,
    srft_draw,
)

__all__ = ["sketch"]

_SIDES = ("right", "left")


def _check_options(num_cols: Any, kind: Any, side: Any, nnz_per_row: Any) -> int:
    probe_kind(kind)
    if side not in _SIDES:
        raise ValueError(f"side must be 'right' (A @ Omega) or 'left' (Omega^T @ A), got {side!r}")
    num_cols = check_positive_int(num_cols, "num_cols")
    if nnz_per_row is not None and kind != "sparse_sign":
        raise ValueError(f"nnz_per_row applies to probe='sparse_sign' only, got probe={kind!r}")
    return num_cols


def _check_size(num_cols: int, n: int, kind: str, side: str) -> None:
    if probe_kind(kind).orthogonal and num_cols > n:
        axis = "columns" if side == "right" else "rows"
        raise ValueError(
            f"num_cols must be <= the number of {axis} of A ({n}) for probe={kind!r}, "
            f"got {num_cols}"
        )


def _apply_dense(xp: Any, A: Any, Omega: Any, side: str) -> Any:
    if Omega.dtype != A.dtype:
        Omega = xp.astype(Omega, A.dtype)
    if side == "right":
        return A @ Omega
    return xp.permute_dims(Omega, (1, 0)) @ A


def _srft_columns(n: int, cols: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """For each selected real-DFT column: frequency, is-sine flag, scale.

    Matches :func:`randla.random._real_dft_columns` times ``sqrt(n)``: column 0
    is the constant (scale 1), then cosine/sine pairs (scale sqrt(2)), and for
    even ``n`` the Nyquist column last (scale 1).
    """
    half = (n - 1) // 2
    cols = np.asarray(cols, dtype=np.int64)
    freq = np.where(cols == 0, 0, np.where(cols <= 2 * half, (cols + 1) // 2, n // 2))
    is_sin = (cols > 0) & (cols <= 2 * half) & (cols % 2 == 0)
    scale = np.where((cols == 0) | (cols > 2 * half), 1.0, math.sqrt(2.0))
    return freq.astype(np.int64), is_sin, scale


def _srft_fft(xp: Any, A: Any, signs: np.ndarray, cols: np.ndarray, side: str) -> Any:
    axis = 1 if side == "right" else 0
    n = int(A.shape[axis])
    device = device_of(A)
    rdt = real_dtype(xp, A.dtype)
    freq, is_sin, scale = _srft_columns(n, cols)
    shape = (1, n) if side == "right" else (n, 1)
    sel = (1, -1) if side == "right" else (-1, 1)
    B = A * xp.reshape(from_host(signs, xp, dtype=rdt, device=device), shape)
    f_idx = from_host(freq, xp, dtype=xp.int64, device=device)
    mask = xp.reshape(from_host(is_sin, xp, dtype=xp.bool, device=device), sel)
    scl = xp.reshape(from_host(scale, xp, dtype=rdt, device=device), sel)
    if xp.isdtype(A.dtype, "real floating"):
        R = xp.take(xp.fft.rfft(B, axis=axis), f_idx, axis=axis)
        return xp.where(mask, -xp.imag(R), xp.real(R)) * scl
    # complex A: sum_x b[x] cos = (F[f] + F[-f]) / 2, sum_x b[x] sin = (F[-f] - F[f]) / (2i)
    F = xp.fft.fft(B, axis=axis)
    neg_idx = from_host((-freq) % n, xp, dtype=xp.int64, device=device)
    Fp = xp.take(F, f_idx, axis=axis)
    Fm = xp.take(F, neg_idx, axis=axis)
    cos_part = (Fp + Fm) * 0.5
    sin_part = (Fm - Fp) * (-0.5j)
    return xp.where(mask, sin_part, cos_part) * xp.astype(scl, A.dtype)


def _numba_sparse_sign(side: str) -> Any:
    from .kernels import cpu_sketch

    return cpu_sketch.sparse_sign_right if side == "right" else cpu_sketch.sparse_sign_left


def _cuda_sparse_sign(side: str) -> Any:
    from .kernels import gpu_sketch

    fn = gpu_sketch.sparse_sign_right if side == "right" else gpu_sketch.sparse_sign_left
    return lambda A, cols, signs, scale, num_cols, *, parallel: fn(A, cols, signs, scale, num_cols)


#: compiled sparse-sign kernels by kernel backend (loaded on first use); a
#: backend without an entry multiplies by the dense matrix
_SPARSE_SIGN_KERNELS = {NUMBA: _numba_sparse_sign, CUDA: _cuda_sparse_sign}


def _sparse_sign_body(xp: Any, A: Any, num_cols: int, side: str, nnz_per_row: Any,
                      rng: Any, parallel: bool) -> Any:
    n = int(A.shape[1] if side == "right" else A.shape[0])
    cols, signs, scale = sparse_sign_indices(n, num_cols, nnz_per_row=nnz_per_row, rng=rng)
    kernel = _SPARSE_SIGN_KERNELS.get(kernel_backend(xp))
    if kernel is not None:
        return kernel(side)(A, cols, signs, scale, num_cols, parallel=parallel)
    Omega = _reference.sparse_sign_matrix(cols, signs, scale, num_cols, xp, dtype=A.dtype,
                                          device=device_of(A))
    return _apply_dense(xp, A, Omega, side)


def _srft_body(xp: Any, A: Any, num_cols: int, side: str, nnz_per_row: Any,
               rng: Any, parallel: bool) -> Any:
    n = int(A.shape[1] if side == "right" else A.shape[0])
    signs, cols = srft_draw(n, num_cols, rng=rng)
    if hasattr(xp, "fft"):  # the array API fft extension
        return _srft_fft(xp, A, signs, cols, side)
    dense = math.sqrt(n) * signs[:, None] * _real_dft_columns(n, cols)
    Omega = from_host(dense, xp, dtype=real_dtype(xp, A.dtype), device=device_of(A))
    return _apply_dense(xp, A, Omega, side)


#: probe kinds with a fast path that never forms Omega densely on the host
_FAST_PATHS = {"sparse_sign": _sparse_sign_body, "srft": _srft_body}


def _dense_body(xp: Any, A: Any, num_cols: int, kind: str, side: str, nnz_per_row: Any,
                rng: Any, parallel: bool) -> Any:
    fast = _FAST_PATHS.get(kind)
    if fast is not None:
        return fast(xp, A, num_cols, side, nnz_per_row, rng, parallel)
    n = int(A.shape[1] if side == "right" else A.shape[0])
    Omega = draw_probes(kind, n, num_cols, rng=rng, xp=xp, dtype=real_dtype(xp, A.dtype),
                        device=device_of(A))
    return _apply_dense(xp, A, Omega, side)


def _operator_body(op: Any, num_cols: int, kind: str, side: str, nnz_per_row: Any,
                   rng: Any) -> Any:
    xp = op.xp
    n = int(op.shape[1] if side == "right" else op.shape[0])
    _check_size(num_cols, n, kind, side)
    rdt = real_dtype(xp, op.dtype)
    options = {} if nnz_per_row is None else {"nnz_per_row": nnz_per_row}
    Omega = draw_probes(kind, n, num_cols, rng=rng, xp=xp, dtype=rdt, device=op.device, **options)
    if Omega.dtype != op.dtype:
        Omega = xp.astype(Omega, op.dtype)
    if side == "right":
        return op.matmat(Omega)
    # Omega^T A = (A^T Omega)^T = conj(A^H Omega)^T for a real Omega
    out = op.rmatmat(Omega)
    if xp.isdtype(out.dtype, "complex floating"):
        out = xp.conj(out)
    return xp.permute_dims(out, (1, 0))


def sketch(
    A: Any, num_cols: int, /, *, probe: str = "gaussian", rng: Any = None,
    side: str = "right", nnz_per_row: int | None = None, parallel: bool = False,
    kind: str | None = None,
) -> Any:
    """Sketch ``A`` with a random test matrix: ``A @ Omega`` or ``Omega^T @ A``.

    ``Omega`` is the matrix ``randla.random.draw_probes(probe, n, num_cols,
    rng=rng)`` (``n`` the number of columns of ``A`` for ``side="right"``, of
    rows for ``side="left"``), applied through the fast path of its kind:
    a sparse sign kernel (never formed), the FFT for ``srft``, a matrix product
    for dense kinds, ``matmat``/``rmatmat`` for operators.

    Parameters
    ----------
    A : array of shape (m, n), or anything :func:`randla.as_operator` accepts
        float32, float64, complex64 or complex128 (the test matrix is real).
    num_cols : int
        Number of columns of ``Omega`` (the sketch size), ``>= 1``; at most
        ``n`` for ``orthonormal`` and ``srft``.
    probe : str, default "gaussian"
        A registered probe kind (:func:`randla.random.probe_kinds`): the core's
        gaussian, rademacher, sphere, orthonormal, srft, sparse_sign.
    rng : int, numpy.random.Generator or None
        Source of randomness; the same seed gives the same ``Omega`` as
        :func:`randla.random.draw_probes`.
    side : {"right", "left"}
        ``"right"``: ``A @ Omega``, shape ``(m, num_cols)``; ``"left"``:
        ``Omega^T @ A``, shape ``(num_cols, n)``.
    nnz_per_row : int, optional
        Nonzeros per row of a sparse sign ``Omega`` (default ``min(num_cols,
        8)``, as :func:`randla.random.sparse_sign_indices`).
    parallel : bool
        NumPy only: the multi-threaded sparse sign kernel.
    kind : str, optional
        Deprecated alias of ``probe`` (one release; DeprecationWarning).

    Returns
    -------
    array
        In the namespace and on the device of ``A``.

    Raises
    ------
    ValueError
        Unknown ``probe``/``side``, ``num_cols < 1`` or too large, ``A`` not
        2-D, non-finite entries, ``nnz_per_row`` with a non sparse-sign kind.
        ``TypeError`` for ``kind`` together with ``probe``.
    TypeError
        Integer/float16 ``A``, non-integer ``num_cols``, unsupported ``A``.

    References
    ----------
    Woolfe, Liberty, Rokhlin, Tygert, ACHA 25 (2008) (SRFT); Meng, Mahoney,
    STOC (2013) and Tropp, Yurtsever, Udell, Cevher, SIMAX 38 (2017) (sparse
    sign); Halko, Martinsson, Tropp, SIAM Review 53 (2011).

    Examples
    --------
    >>> from randla import sketch
    >>> from randla.random import draw_probes
    >>> A = np.random.default_rng(0).standard_normal((50, 40))
    >>> Y = sketch(A, 5, probe="srft", rng=3)
    >>> bool(np.allclose(Y, A @ draw_probes("srft", 40, 5, rng=3)))
    True
    >>> sketch(A, 5, probe="sparse_sign", rng=3, side="left").shape
    (5, 40)
    """
    if kind is not None:
        if probe != "gaussian":
            raise TypeError("sketch got both probe= and its deprecated alias kind=; pass probe= only")
        warnings.warn("sketch(kind=...) is deprecated; use probe=...", DeprecationWarning,
                      stacklevel=2)
        probe = kind
    kind = probe
    num_cols = _check_options(num_cols, kind, side, nnz_per_row)
    if not is_array(A):
        return _operator_body(as_operator(A), num_cols, kind, side, nnz_per_row, rng)
    xp = namespace(A=A)
    check_float(A, "A", allow_complex=True)
    if A.ndim != 2:
        raise ValueError(f"A must be a 2-D array, got shape {tuple(A.shape)}")
    n = int(A.shape[1] if side == "right" else A.shape[0])
    _check_size(num_cols, n, kind, side)
    if min(A.shape) == 0:
        raise ValueError(f"A must not be empty, got shape {tuple(A.shape)}")
    check_finite(A, "A")
    return _dense_body(xp, A, num_cols, kind, side, nnz_per_row, rng, bool(parallel))
