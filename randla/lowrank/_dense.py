"""The small dense kernels of the low-rank routines, with their per-backend fast paths.

Range finders, rSVD, rQR, Nyström and the single-pass sketches reduce ``A`` to
small or tall-skinny matrices; the factorizations of those are here.

Per-backend behaviour (dispatch by namespace, never by strings):

=================  ==============================  ==============================
operation          NumPy (host)                    other backends
=================  ==============================  ==============================
QR (tall-skinny)   ``scipy.linalg.qr`` economic,   ``xp.linalg.qr`` (reduced)
                   ``check_finite=False``
LU basis ``P L``   ``scipy.linalg.lu_factor``      torch: ``torch.linalg.lu_factor_ex``;
                   (getrf) + row permutation       CuPy: ``cupyx.scipy.linalg.lu``
                                                   (``permute_l``); otherwise QR
SVD (small)        ``scipy.linalg.svd`` (gesdd)    ``xp.linalg.svd``
triangular solve   ``scipy.linalg.solve_           torch / CuPy native; otherwise
                   triangular``                    ``xp.linalg.solve``
pivoted QR         ``scipy.linalg.qr(pivoting)``   pivoted Gram-Schmidt written in
(small sketch)     (geqp3)                         the array API (:func:`cpqr_pivots`)
=================  ==============================  ==============================

Nothing here copies an array between host and device. Pivot indices (a few
integers) are read as Python ints where an algorithm branches on them.
"""

from __future__ import annotations

import warnings
from typing import Any

import numpy as np

from ..backend import array_namespace, device_of, from_host, is_cupy, is_numpy, is_torch, to_scalar

__all__: list[str] = []

# -- orthonormalisation -------------------------------------------------------------


def _sign_of_diag(xp: Any, R: Any) -> Any:
    d = xp.linalg.diagonal(R) if hasattr(xp.linalg, "diagonal") else xp.diagonal(R)
    return xp.where(d < 0, -xp.ones_like(d), xp.ones_like(d))


def qr_factor(Y: Any, *, sign_fix: bool = True) -> tuple[Any, Any]:
    """Reduced QR ``Y = Q R``; with ``sign_fix`` the diagonal of R is >= 0.

    The sign convention makes Q unique for full-rank Y, hence reproducible
    across backends that use different LAPACK builds.
    """
    xp = array_namespace(Y)
    if is_numpy(xp):
        import scipy.linalg

        Q, R = scipy.linalg.qr(Y, mode="economic", overwrite_a=True, check_finite=False)
    else:
        Q, R = xp.linalg.qr(Y, mode="reduced")
    if sign_fix:
        s = _sign_of_diag(xp, R)
        Q = Q * s[None, :]
        R = R * s[:, None]
    return Q, R


def orthonormalize(Y: Any) -> Any:
    """Orthonormal basis of ``range(Y)`` (Q of a reduced QR, diag(R) >= 0)."""
    return qr_factor(Y)[0]


def _permute_rows_from_pivots(L: Any, piv: list[int], xp: Any) -> Any:
    """``P L`` from LAPACK-style sequential row-swap pivots (0-based, host ints)."""
    m = L.shape[0]
    perm = np.arange(m)
    for i, p in enumerate(piv):
        if p != i:
            perm[i], perm[p] = perm[p], perm[i]
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(m)
    if is_numpy(xp):
        return L[inverse]
    return xp.take(L, xp.asarray(inverse, device=device_of(L)), axis=0)


def _permute_rows_torch(L: Any, piv: Any) -> Any:
    """``P L`` with the row swaps applied on L's device (no host round trip)."""
    import torch

    m = L.shape[0]
    perm = torch.arange(m, device=L.device)
    steps = torch.arange(piv.shape[0], device=L.device)
    for i in range(piv.shape[0]):
        pair = torch.stack((steps[i], piv[i]))
        perm[pair] = perm[pair.flip(0)]
    out = torch.empty_like(L)
    out[perm] = L
    return out


def lu_basis(Y: Any) -> Any:
    """A well-conditioned basis ``P L`` of ``range(Y)`` from a partially pivoted LU.

    ``Y = P L U`` with L unit lower trapezoidal, so ``P L`` spans ``range(Y)``
    for full-rank Y (Rokhlin, Szlam, Tygert 2009; used by fbpca and
    scikit-learn between power iterations). About a quarter of the flops of a
    QR. NumPy: ``scipy.linalg.lu_factor`` (getrf) and the row permutation
    applied to L, i.e. the ``P L`` of ``scipy.linalg.lu(permute_l=True)`` at a
    fraction of its cost. torch: ``torch.linalg.lu_factor_ex``; on CPU the pivots
    are host memory already, on CUDA the swaps are applied on the device.
    CuPy: ``cupyx.scipy.linalg.lu(permute_l=True)``. Other namespaces have no
    LU: :func:`_lu_basis_standard` computes the same ``P L`` in the array API,
    so a seed gives the same basis (signs included) everywhere.
    """
    xp = array_namespace(Y)
    l = Y.shape[1]
    if is_numpy(xp):
        import scipy.linalg

        with warnings.catch_warnings():
            # an exactly singular U is harmless here: P L has full column rank
            warnings.simplefilter("ignore", scipy.linalg.LinAlgWarning)
            LU, piv = scipy.linalg.lu_factor(Y, overwrite_a=True, check_finite=False)
        rows, cols = np.triu_indices(l)
        LU[rows, cols] = 0.0
        LU[np.arange(l), np.arange(l)] = 1.0
        return _permute_rows_from_pivots(LU, piv.tolist(), xp)
    if is_torch(xp):
        import torch

        LU, piv, _ = torch.linalg.lu_factor_ex(Y)  # no error on exactly singular U
        L = torch.tril(LU, -1)
        L.diagonal().fill_(1)
        piv = piv.to(torch.int64) - 1
        if Y.device.type == "cpu":
            return _permute_rows_from_pivots(L, piv.tolist(), xp)
        return _permute_rows_torch(L, piv)
    if is_cupy(xp):
        import cupyx.scipy.linalg

        return cupyx.scipy.linalg.lu(Y, permute_l=True, check_finite=False)[0]
    return _lu_basis_standard(Y)


def _lu_basis_standard(Y: Any) -> Any:
    """``P L`` of a partially pivoted LU of the tall ``m x l`` Y, in the array API.

    Right-looking elimination with the pivot rule of LAPACK's getrf (largest
    magnitude, first index on ties): ``l`` rank-one updates, one pivot index
    read per column. The QR basis would span the same space, but the basis
    differs from LU's by a triangular factor whose signs reach the final Q.
    """
    xp = array_namespace(Y)
    m, l = int(Y.shape[0]), int(Y.shape[1])
    dev = device_of(Y)
    LU = xp.asarray(Y, copy=True)
    perm = np.arange(m)
    for k in range(l):
        p = k + int(xp.argmax(xp.abs(LU[k:, k])))
        if p != k:
            row = xp.asarray(LU[k, :], copy=True)
            LU[k, :] = LU[p, :]
            LU[p, :] = row
            perm[[k, p]] = perm[[p, k]]
        pivot = LU[k, k]
        if to_scalar(pivot) != 0.0 and k + 1 < m:
            LU[k + 1:, k] = LU[k + 1:, k] / pivot
            LU[k + 1:, k + 1:] = LU[k + 1:, k + 1:] - LU[k + 1:, k:k + 1] @ LU[k:k + 1, k + 1:]
    L = xp.tril(LU, k=-1) + xp.eye(m, l, dtype=Y.dtype, device=dev)
    inverse = np.empty_like(perm)
    inverse[perm] = np.arange(m)
    return xp.take(L, index_array(inverse, xp, dev), axis=0)


def normalize(Y: Any, normalizer: str) -> Any:
    """Normalise an intermediate power-iteration block."""
    if normalizer == "lu":
        return lu_basis(Y)
    if normalizer == "qr":
        return qr_factor(Y, sign_fix=False)[0]
    return Y


# -- small dense factorizations -----------------------------------------------------


def svd_small(M: Any) -> tuple[Any, Any, Any]:
    """Reduced SVD of a small or thin matrix."""
    xp = array_namespace(M)
    if is_numpy(xp):
        import scipy.linalg

        return scipy.linalg.svd(M, full_matrices=False, overwrite_a=True, check_finite=False)
    return xp.linalg.svd(M, full_matrices=False)


#: Largest ``(sigma_1 / sigma_k)^2`` for which :func:`top_svd_tall` uses the
#: Gram matrix (float64 only): the squared condition number multiplies the
#: rounding error, so this keeps ~1e-12 relative accuracy (12 of 16 digits).
GRAM_CONDITION_LIMIT = 1e4


def top_svd_tall(M: Any, rank: int) -> tuple[Any, Any, Any]:
    """Leading ``rank`` singular triplets ``M ≈ W diag(S) Zh`` of a tall ``n x l`` M.

    float64 fast path: ``eigh`` of the ``l x l`` Gram matrix ``M^T M`` (a
    symmetric rank-l update, an ``l x l`` eigensolver and one ``n x l x rank``
    product, about a quarter of the cost of LAPACK's gesdd here), used only
    when ``(sigma_1/sigma_rank)^2 <= GRAM_CONDITION_LIMIT``, so that ``S`` and
    the orthogonality of ``W`` stay accurate to ~1e-12. Otherwise (and for
    float32) the SVD of :func:`svd_small`.
    """
    xp = array_namespace(M)
    if M.dtype == xp.float64:
        lam, V = xp.linalg.eigh(M.T @ M)  # ascending
        top, kth = to_scalar(lam[-1]), to_scalar(lam[-rank])
        if kth > 0.0 and top <= GRAM_CONDITION_LIMIT * kth:
            lam = xp.flip(lam[-rank:], axis=0)
            V = xp.flip(V[:, -rank:], axis=1)
            S = xp.sqrt(lam)
            return (M @ V) / S[None, :], S, V.T
    W, S, Zh = svd_small(M)
    return W[:, :rank], S[:rank], Zh[:rank, :]


def solve_triangular_upper(R: Any, B: Any) -> Any:
    """``R^{-1} B`` for upper-triangular square ``R``."""
    xp = array_namespace(R, B)
    if is_numpy(xp):
        import scipy.linalg

        return scipy.linalg.solve_triangular(R, B, lower=False, check_finite=False)
    if is_torch(xp):
        import torch

        return torch.linalg.solve_triangular(R, B, upper=True)
    if is_cupy(xp):
        import cupyx.scipy.linalg

        return cupyx.scipy.linalg.solve_triangular(R, B, lower=False)
    return xp.linalg.solve(R, B)  # standard: no triangular solve in the array API


def flip_signs(U: Any, Vh: Any) -> tuple[Any, Any]:
    """Deterministic signs: the largest-magnitude entry of each column of U is > 0.

    The same convention as scikit-learn's ``svd_flip`` (U-based), written
    without a gather: column ``j`` is flipped when ``-min(U[:, j]) > max(U[:, j])``.
    """
    xp = array_namespace(U)
    flip = -xp.min(U, axis=0) > xp.max(U, axis=0)
    s = xp.where(flip, -xp.ones_like(U[0, :]), xp.ones_like(U[0, :]))
    U = U * s[None, :]
    if Vh is not None:
        Vh = Vh * s[:, None]
    return U, Vh


def cpqr_pivots(S: Any, k: int) -> list[int]:
    """First ``k`` column pivots of a column-pivoted QR of the small sketch ``S``.

    NumPy: LAPACK geqp3 through ``scipy.linalg.qr(pivoting=True)``. Other
    backends: greedy column pivoting with Gram-Schmidt updates of the residual
    sketch, written in the array API (``S`` is ``l x n`` with small ``l``, so
    ``k`` rank-one updates cost ``O(k l n)``); each step reads one pivot index.
    Both pick the column of largest residual norm, ties to the lowest index.
    """
    xp = array_namespace(S)
    if is_numpy(xp):
        import scipy.linalg

        _, piv = scipy.linalg.qr(S, mode="r", pivoting=True, check_finite=False)
        return [int(p) for p in piv[:k]]
    n = S.shape[1]
    dev = device_of(S)
    index = xp.arange(n, device=dev)
    chosen = xp.zeros((n,), dtype=xp.bool, device=dev)
    residual = S
    pivots: list[int] = []
    for _ in range(k):
        norms = xp.sum(residual * residual, axis=0)
        norms = xp.where(chosen, -xp.ones_like(norms), norms)
        p = int(xp.argmax(norms))
        pivots.append(p)
        chosen = chosen | (index == p)
        col = residual[:, p]
        nrm = to_scalar(xp.sqrt(xp.sum(col * col)))
        if nrm == 0.0:
            continue
        q = col / nrm
        residual = residual - q[:, None] * (q[None, :] @ residual)
    return pivots


def index_array(values: np.ndarray, xp: Any, device: Any) -> Any:
    """Host integer indices as an int64 array of ``xp`` on ``device``."""
    return from_host(np.asarray(values, dtype=np.int64), xp, dtype=xp.int64, device=device)


def eps(xp: Any, dtype: Any) -> float:
    return float(xp.finfo(dtype).eps)
