"""Randomized low-rank factorizations: SVD, Nyström for PSD matrices, pivoted QR.

* :func:`rsvd` — randomized SVD (Halko, Martinsson, Tropp 2011, Alg. 5.1) on
  the basis of :func:`randla.range_finder`.
* :func:`nystrom` — Nyström approximation of a positive-semidefinite matrix in
  the numerically stable shifted form (Tropp, Yurtsever, Udell, Cevher 2017;
  Li et al. 2017).
* :func:`rqr` — randomized column-pivoted QR: pivots from a column-pivoted QR
  of the small sketch ``Omega A`` (Duersch, Gu 2017; Martinsson et al. 2017).

All accept anything :func:`randla.as_operator` accepts (dense arrays of any
array-API backend, SciPy sparse matrices and LinearOperators, callables) and
return arrays of A's namespace, dtype and device. Single-pass (streaming)
sketches are in :func:`randla.single_pass_svd`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from ..backend import check_square, is_array, to_scalar
from ..operators import LinearOperator
from ..random import as_generator
from ._dense import (
    cpqr_pivots,
    eps,
    flip_signs,
    index_array,
    orthonormalize,
    qr_factor,
    svd_small,
    top_svd_tall,
)
from ._inputs import as_lowrank_operator, check_power, check_samples, check_sketch, draw, resolve_probe
from ._range_finders import _range_finder

__all__ = ["nystrom", "rqr", "rsvd"]


def rsvd(
    A: Any,
    /,
    rank: int,
    *,
    oversample: int = 10,
    power_iters: int = 2,
    normalizer: str = "lu",
    probe: Any = "gaussian",
    rng: Any = None,
) -> tuple[Any, Any, Any]:
    """Randomized truncated SVD ``A ≈ U diag(S) Vh`` of rank ``rank``.

    Computes the basis ``Q = range_finder(A, rank, ...)`` (``l = rank +
    oversample`` columns, ``power_iters`` products with ``A A^T``), then
    ``B = Q^T A`` (as ``A^T Q``), the SVD of the small ``B`` and keeps the
    leading ``rank`` triplets. It touches A ``2 power_iters + 2`` times.

    Parameters
    ----------
    A : array, scipy sparse matrix or LinearOperator, LinearOperator or callable
        The ``m x n`` matrix (real float32 or float64); anything
        :func:`randla.as_operator` accepts. Needs the adjoint.
    rank : int
        Number ``k`` of singular triplets, ``1 <= k <= min(m, n)``.
    oversample : int, default 10
        Extra samples ``p >= 0`` (``l = min(k + p, m, n)``).
    power_iters : int, default 2
        Power (subspace) iterations ``q >= 0``; the error decays like
        ``(sigma_{l+1} / sigma_k)^(2q+1)`` (HMT Cor. 10.10).
    normalizer : {"lu", "qr", "none"}, default "lu"
        Normalisation between power iterations, see :func:`randla.range_finder`
        (LU where the backend has one, QR otherwise; always QR at the end).
    probe : str or array, default "gaussian"
        Test matrix kind or the ``n x l`` test matrix.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    U : array, shape (m, k)
        Orthonormal left singular vectors.
    S : array, shape (k,)
        Singular values, descending.
    Vh : array, shape (k, n)
        Orthonormal right singular vectors (rows).

    Raises
    ------
    ValueError
        ``rank`` outside ``[1, min(m, n)]``, negative ``oversample`` /
        ``power_iters``, unknown ``normalizer`` / ``probe``, non-finite A.
    TypeError
        Integer, float16 or complex A, mixed backends, no adjoint.

    Notes
    -----
    The signs are deterministic: the entry of largest magnitude of each
    column of ``U`` is positive, so a seed gives the same factors (to
    rounding) on NumPy, torch and array_api_strict. Per backend: NumPy uses
    SciPy's LAPACK wrappers with ``check_finite=False`` (``lu_factor``, the
    economic ``qr``, ``svd`` of the tall ``B^T``); in float64, when
    ``(S_1/S_k)^2 <= 1e4``, the small SVD comes from ``eigh`` of the
    ``l x l`` Gram matrix instead (4x cheaper, ~1e-12 relative accuracy,
    i.e. at most 4 of 16 digits lost); torch uses
    ``torch.linalg`` (``lu_factor_ex``, ``qr``, ``svd``); CuPy uses
    ``cupyx.scipy.linalg.lu`` and ``xp.linalg``; any other array-API
    namespace uses ``xp.linalg.qr`` in place of the LU and ``xp.linalg.svd``.
    No array is copied between host and device, and A is never copied or
    transposed in memory (``A^T Q`` is a transposed-operand product). A is
    not scanned for NaN/inf: its first sketch is checked instead.

    References
    ----------
    Halko, Martinsson, Tropp (2011), Algorithms 4.4 and 5.1.

    Examples
    --------
    >>> sigma = 1.0 / np.arange(1, 201)
    >>> A = randla.demo.matrix_with_spectrum(sigma, rng=0)
    >>> U, S, Vh = randla.rsvd(A, 10, rng=0)
    >>> bool(np.allclose(S, sigma[:10], rtol=1e-3))
    True
    >>> bool(np.linalg.norm(A - (U * S) @ Vh, 2) < 1.05 * sigma[10])
    True
    """
    op = as_lowrank_operator(A, method="rsvd", need_adjoint=True)
    rank, num_samples = check_samples(op, rank, oversample)
    power_iters, normalizer = check_power(power_iters, normalizer)
    probe = resolve_probe(probe, op, A, op.shape[1], num_samples)
    return _rsvd(op, rank, num_samples, power_iters, normalizer, probe, as_generator(rng))


def _rsvd(op: LinearOperator, rank: int, num_samples: int, power_iters: int,
          normalizer: str, probe: Any, gen: Any) -> tuple[Any, Any, Any]:
    """Body of :func:`rsvd`."""
    Q = _range_finder(op, num_samples, power_iters, normalizer, probe, gen)
    # B^T = A^T Q (n x l), a transposed-operand product: neither A nor B is
    # ever transposed in memory. B^T = W diag(S) Zh  =>  A ≈ (Q Zh^T) S W^T.
    W, S, Zh = top_svd_tall(op.rmatmat(Q), rank)
    U, Vh = flip_signs(Q @ Zh.T, W.T)
    return U, S, Vh


def nystrom(
    A: Any,
    /,
    rank: int,
    *,
    oversample: int = 10,
    probe: Any = "gaussian",
    rng: Any = None,
) -> tuple[Any, Any]:
    """Randomized Nyström approximation ``A ≈ U diag(eigenvalues) U^T`` of a PSD matrix.

    With an orthonormal test matrix ``Omega`` (``l = rank + oversample``
    columns) and the sketch ``Y = A Omega``, the Nyström approximation is
    ``Y (Omega^T Y)^+ Y^T``. It is evaluated in the stable shifted form of
    Tropp et al. (2017, Alg. 3): ``Y_nu = Y + nu Omega`` with
    ``nu = sqrt(n) eps ||Y||_F``, the core ``B = Omega^T Y_nu``,
    ``E = Y_nu B^{-1/2}``, ``E = U Sigma V^T`` and eigenvalues
    ``max(Sigma^2 - nu, 0)``, truncated to ``rank``. The inverse square
    root uses ``eigh`` of the ``l x l`` core (instead of the Cholesky factor
    of the paper: the same ``E E^T``, and no failure when rounding leaves
    the core indefinite). A is touched once (``l`` products); only
    ``matmat`` is needed.

    Parameters
    ----------
    A : array, scipy sparse matrix or LinearOperator, LinearOperator or callable
        Symmetric positive-semidefinite ``n x n`` matrix (not checked; the
        result of an indefinite A is meaningless), real float32/float64.
    rank : int
        ``1 <= rank <= n``.
    oversample : int, default 10
        ``l = min(rank + oversample, n)``.
    probe : str or array, default "gaussian"
        Test matrix kind (orthonormalised by QR) or the ``n x l`` matrix.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    U : array, shape (n, rank)
        Orthonormal eigenvectors (largest entry of each column positive).
    eigenvalues : array, shape (rank,)
        Non-negative, descending.

    Raises
    ------
    ValueError
        Non-square A, ``rank`` outside ``[1, n]``, negative ``oversample``,
        non-finite A.
    TypeError
        Integer, float16 or complex A, mixed backends.

    References
    ----------
    J. A. Tropp, A. Yurtsever, M. Udell, V. Cevher, "Fixed-rank approximation
    of a positive-semidefinite matrix from streaming data", NeurIPS (2017),
    Algorithm 3 and Theorem 4.1.
    H. Li, G. C. Linderman, A. Szlam, K. P. Stanton, Y. Kluger, M. Tygert,
    "Algorithm 971: an implementation of a randomized algorithm for principal
    component analysis", ACM TOMS 43(3) (2017).

    Examples
    --------
    >>> from randla import nystrom
    >>> rng = np.random.default_rng(0)
    >>> V, _ = np.linalg.qr(rng.standard_normal((200, 200)))
    >>> lam = 0.5 ** np.arange(200)
    >>> A = (V * lam) @ V.T
    >>> U, ev = nystrom(A, 10, rng=0)
    >>> bool(np.allclose(ev, lam[:10], rtol=1e-2))
    True
    >>> err = np.linalg.norm(A - (U * ev) @ U.T, 2)  # best possible: lam[10]
    >>> bool(err < 1.01 * lam[10])
    True
    """
    op = as_lowrank_operator(A, method="nystrom", need_adjoint=False)
    n = check_square(op.shape, "A")
    rank, num_samples = check_samples(op, rank, oversample)
    probe = resolve_probe(probe, op, A, n, num_samples)
    return _nystrom(op, rank, num_samples, probe, as_generator(rng))


def _nystrom(op: LinearOperator, rank: int, num_samples: int, probe: Any,
             gen: Any) -> tuple[Any, Any]:
    """Body of :func:`nystrom`."""
    xp = op.xp
    n = op.shape[0]
    omega = orthonormalize(draw(probe, n, num_samples, op, gen))
    Y = op.matmat(omega)
    check_sketch(Y)
    shift = math.sqrt(n) * eps(xp, op.dtype) * to_scalar(xp.linalg.vector_norm(Y))
    Y = Y + shift * omega
    core = omega.T @ Y
    core = 0.5 * (core + core.T)
    d, V = xp.linalg.eigh(core)
    # pseudo-inverse square root: d >= shift > 0 in exact arithmetic; entries at
    # rounding level relative to the largest one are dropped
    keep = d > eps(xp, op.dtype) * num_samples * xp.max(d)
    inv_sqrt = xp.where(keep, 1.0 / xp.sqrt(xp.where(keep, d, xp.ones_like(d))), xp.zeros_like(d))
    E = Y @ (V * inv_sqrt[None, :])
    U, sigma, _ = svd_small(E)
    eigenvalues = xp.maximum(sigma[:rank] ** 2 - shift, xp.zeros_like(sigma[:rank]))
    U, _ = flip_signs(U[:, :rank], None)
    return U, eigenvalues


def rqr(
    A: Any,
    /,
    rank: int,
    *,
    oversample: int = 10,
    probe: Any = "gaussian",
    rng: Any = None,
) -> tuple[Any, Any, Any]:
    """Randomized column-pivoted QR: ``A[:, perm] ≈ Q R`` with ``Q`` of rank ``rank``.

    1. Sketch ``S = Omega A`` with ``l = rank + oversample`` random rows
       (computed as ``A^T Omega^T``).
    2. Choose ``rank`` pivots by a column-pivoted QR of the small ``l x n``
       sketch (its column norms and geometry mimic A's: Duersch, Gu 2017).
    3. ``Q R_11 = A[:, J]`` for the chosen columns ``J``, and
       ``R = Q^T A[:, perm]`` for all columns (``R[:, :rank] = R_11``).

    ``perm`` lists the pivots first, then the other columns in increasing
    order. ``Q Q^T A`` is the projection of A onto the span of the chosen
    columns. A is touched twice (``l`` products with A^T, ``rank`` with
    A^T) plus the column extraction (free for dense arrays, ``rank``
    products with A for operators).

    Parameters
    ----------
    A : array, scipy sparse matrix or LinearOperator, LinearOperator or callable
        The ``m x n`` matrix (real float32/float64). Needs the adjoint.
    rank : int
        Number of pivots, ``1 <= rank <= min(m, n)``.
    oversample : int, default 10
        Extra sketch rows (``l = min(rank + oversample, m)``).
    probe : str or array, default "gaussian"
        Kind of the sketch (``Omega^T`` is drawn as an ``m x l`` probe matrix)
        or that ``m x l`` matrix itself.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    Q : array, shape (m, rank)
        Orthonormal columns spanning ``A[:, perm[:rank]]`` (``diag(R) >= 0``).
    R : array, shape (rank, n)
        Upper trapezoidal.
    perm : array of int64, shape (n,)
        Column permutation, in A's namespace and device.

    Raises
    ------
    ValueError
        ``rank`` outside ``[1, min(m, n)]``, negative ``oversample``,
        non-finite A.
    TypeError
        Integer, float16 or complex A, mixed backends, no adjoint.

    Notes
    -----
    The pivoted QR of the sketch is LAPACK geqp3 (``scipy.linalg.qr``) on
    NumPy; elsewhere a greedy pivoted Gram-Schmidt on the small sketch written
    in the array API (the same pivots in exact arithmetic, ties to the lowest
    index). The ``rank`` pivots are read as host integers (one scalar per
    step), and the index array ``perm`` is created on A's device from them;
    no matrix data crosses between host and device.

    References
    ----------
    J. A. Duersch, M. Gu, "Randomized QR with column pivoting", SIAM J. Sci.
    Comput. 39(4) (2017).
    P.-G. Martinsson, G. Quintana-Ortí, N. Heavner, R. van de Geijn,
    "Householder QR factorization with randomization for column pivoting
    (HQRRP)", SIAM J. Sci. Comput. 39(2) (2017).

    Examples
    --------
    >>> from randla import rqr
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((100, 6)) @ rng.standard_normal((6, 80))
    >>> Q, R, perm = rqr(A, 6, rng=0)
    >>> Q.shape, R.shape, perm.shape
    ((100, 6), (6, 80), (80,))
    >>> bool(np.allclose(A[:, perm], Q @ R))
    True
    """
    op = as_lowrank_operator(A, method="rqr", need_adjoint=True)
    m = op.shape[0]
    rank, num_rows = check_samples(op, rank, oversample, limit=m)
    probe = resolve_probe(probe, op, A, m, num_rows)
    return _rqr(op, A if is_array(A) else None, rank, num_rows, probe, as_generator(rng))


def _rqr(op: LinearOperator, dense: Any, rank: int, num_rows: int, probe: Any,
         gen: Any) -> tuple[Any, Any, Any]:
    """Body of :func:`rqr`; ``dense`` is A itself when it is an array."""
    xp = op.xp
    m, n = op.shape
    sketch_t = op.rmatmat(draw(probe, m, num_rows, op, gen))  # (Omega A)^T, n x l
    check_sketch(sketch_t, "Omega @ A")
    pivots = np.asarray(cpqr_pivots(sketch_t.T, rank), dtype=np.int64)
    rest = np.setdiff1d(np.arange(n, dtype=np.int64), pivots, assume_unique=True)
    perm = index_array(np.concatenate((pivots, rest)), xp, op.device)
    chosen = perm[:rank]
    if dense is not None:
        columns = xp.take(dense, chosen, axis=1)
    else:
        index = xp.arange(n, device=op.device)
        columns = op.matmat(xp.astype(index[:, None] == chosen[None, :], op.dtype))
    Q, R11 = qr_factor(columns)
    R_rest = xp.take(op.rmatmat(Q), perm[rank:], axis=0).T  # Q^T A[:, perm[rank:]]
    R = xp.concat((R11, R_rest), axis=1)
    return Q, R, perm

