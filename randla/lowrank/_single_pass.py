"""Single-pass (streaming) low-rank approximation from two linear sketches.

:func:`single_pass_svd` reads A exactly once: one block product with A (the
range sketch ``Y = A Omega``) and one with A^T (the co-range sketch
``W = Psi A``), which can be formed in the same sweep over A's entries or
accumulated from a stream of linear updates. The approximation is then
reconstructed from the sketches alone (Tropp, Yurtsever, Udell, Cevher 2017),
optionally in the generalized Nyström form (Nakatsukasa 2020).
"""

from __future__ import annotations

from typing import Any

from ..backend import array_namespace, check_positive_int
from ..operators import LinearOperator
from ..random import as_generator
from ._dense import eps, flip_signs, qr_factor, solve_triangular_upper, svd_small
from ._inputs import as_lowrank_operator, check_samples, check_sketch, draw, resolve_probe

__all__ = ["single_pass_svd"]

METHODS = ("generalized_nystrom", "tropp")


def single_pass_svd(
    A: Any,
    /,
    rank: int,
    *,
    oversample: int = 10,
    corange_size: int | None = None,
    method: str = "tropp",
    probe: str = "gaussian",
    rng: Any = None,
) -> tuple[Any, Any, Any]:
    """Rank-``rank`` SVD of A from one pass over A (range and co-range sketches).

    Sketches (one product each with A and A^T, nothing else touches A):
    ``Y = A Omega`` (``m x s``, ``s = rank + oversample``) and
    ``W = Psi A`` (``l x n``, ``l = corange_size``, default ``2 s + 1``).
    Reconstructions:

    * ``method="tropp"`` (Tropp et al. 2017, Alg. 7 and Sec. 5): ``Q =
      orth(Y)``, ``X = (Psi Q)^+ W`` by QR, ``A ≈ Q X``; the SVD of the small
      ``X`` truncated to ``rank``. Error bound (Gaussian maps, their Thm. 4.3):
      ``E||A - Q X||_F^2 <= (1 + f(s, l)) min_{r < s-1} (1 + f(r, s))
      tau_{r+1}^2(A)`` with ``f(a, b) = a / (b - a - 1)`` and
      ``tau_{r+1}^2`` the tail energy ``sum_{j > r} sigma_j^2``.
    * ``method="generalized_nystrom"`` (Nakatsukasa 2020): ``A ≈ Y (Psi Y)^+
      W`` with the epsilon-truncated pseudo-inverse of the ``l x s`` core
      ``Psi Y = Psi A Omega`` (stable form), then the SVD of the low-rank
      product.

    Parameters
    ----------
    A : array, scipy sparse matrix or LinearOperator, LinearOperator or callable
        The ``m x n`` matrix (real float32/float64); needs the adjoint.
    rank : int
        ``1 <= rank <= min(m, n)``.
    oversample : int, default 10
        Range sketch size ``s = min(rank + oversample, m, n)``.
    corange_size : int, optional
        Co-range sketch size ``l`` with ``s <= l <= m``; default
        ``min(2 s + 1, m)`` (Tropp et al. 2017, Sec. 4.5).
    method : {"tropp", "generalized_nystrom"}, default "tropp"
    probe : str, default "gaussian"
        Kind of both test matrices (:func:`randla.random.draw_probes`).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    U : array, shape (m, rank)
    S : array, shape (rank,)
    Vh : array, shape (rank, n)
        Orthonormal factors, singular values descending; the largest entry of
        each column of ``U`` is positive.

    Raises
    ------
    ValueError
        ``rank`` outside ``[1, min(m, n)]``, negative ``oversample``,
        ``corange_size`` outside ``[s, m]``, unknown ``method``, non-finite A.
    TypeError
        Integer, float16 or complex A; an operator without adjoint.

    Notes
    -----
    The triangular solve of ``method="tropp"`` uses SciPy (NumPy),
    ``torch.linalg.solve_triangular`` (torch), ``cupyx.scipy.linalg`` (CuPy)
    and ``xp.linalg.solve`` on other namespaces (the array API has no
    triangular solve). The test matrices are drawn on the host (same seed,
    same sketches on every backend) and moved once to A's device.

    References
    ----------
    J. A. Tropp, A. Yurtsever, M. Udell, V. Cevher, "Practical sketching
    algorithms for low-rank matrix approximation", SIAM J. Matrix Anal. Appl.
    38(4) (2017).
    Y. Nakatsukasa, "Fast and stable randomized low-rank matrix
    approximation", arXiv:2009.11392 (2020).

    Examples
    --------
    >>> from randla import as_operator, single_pass_svd
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((120, 5)) @ rng.standard_normal((5, 90))
    >>> op = as_operator(A)
    >>> U, S, Vh = single_pass_svd(op, 5, rng=0)
    >>> bool(np.allclose((U * S) @ Vh, A))
    True
    >>> op.num_matvecs, op.num_rmatvecs  # one block with A, one with A^T
    (15, 31)
    """
    op = as_lowrank_operator(A, method="single_pass_svd", need_adjoint=True)
    m, n = op.shape
    rank, range_size = check_samples(op, rank, oversample)
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if corange_size is None:
        corange_size = min(2 * range_size + 1, m)
    corange_size = check_positive_int(corange_size, "corange_size", minimum=1)
    if not range_size <= corange_size <= m:
        raise ValueError(
            f"corange_size must satisfy rank + oversample = {range_size} <= corange_size "
            f"<= m = {m}, got {corange_size}"
        )
    if not isinstance(probe, str):
        raise TypeError("probe must be a probe kind (str) for single_pass_svd")
    resolve_probe(probe, op, A, n, range_size)
    gen = as_generator(rng)
    omega = draw(probe, n, range_size, op, gen)
    psi_t = draw(probe, m, corange_size, op, gen)
    Y = op.matmat(omega)        # the pass over A ...
    W_t = op.rmatmat(psi_t)     # ... (Psi A)^T, n x l
    check_sketch(Y)
    check_sketch(W_t, "Psi @ A")
    if method == "tropp":
        return _tropp(Y, W_t, psi_t, rank)
    return _generalized_nystrom(Y, W_t, psi_t, rank, op)


def _tropp(Y: Any, W_t: Any, psi_t: Any, rank: int) -> tuple[Any, Any, Any]:
    """``Q = orth(Y)``, ``X = (Psi Q)^+ W`` (QR least squares), SVD of X."""
    Q, _ = qr_factor(Y)
    Q2, R2 = qr_factor(psi_t.T @ Q)              # Psi Q = Q2 R2, l x s
    X = solve_triangular_upper(R2, (W_t @ Q2).T)  # s x n
    Ux, S, Vh = svd_small(X)
    U, Vh = flip_signs(Q @ Ux[:, :rank], Vh[:rank, :])
    return U, S[:rank], Vh


def _generalized_nystrom(Y: Any, W_t: Any, psi_t: Any, rank: int,
                         op: LinearOperator) -> tuple[Any, Any, Any]:
    """``A ≈ Y (Psi Y)^+_eps W`` (Nakatsukasa 2020), evaluated factor by factor."""
    xp = array_namespace(Y)
    core = psi_t.T @ Y                            # Psi A Omega, l x s
    U1, s1, V1h = svd_small(core)
    # epsilon-truncated pseudo-inverse: singular values of the core at rounding
    # level are not inverted (their directions get weight 0)
    large = s1 > eps(xp, op.dtype) * max(core.shape) * s1[0]
    keep = min(max(int(xp.sum(xp.astype(large, xp.int64))), rank), s1.shape[0])
    inv = xp.where(large, 1.0 / xp.where(large, s1, xp.ones_like(s1)), xp.zeros_like(s1))
    left = Y @ (V1h[:keep, :].T * inv[None, :keep])  # Y V1 S1^+, m x keep
    right_t = W_t @ U1[:, :keep]                  # (U1^T W)^T, n x keep
    Qc, Rc = qr_factor(left)
    Qd, Rd = qr_factor(right_t)
    Us, S, Vsh = svd_small(Rc @ Rd.T)
    U, Vh = flip_signs(Qc @ Us[:, :rank], (Qd @ Vsh[:rank, :].T).T)
    return U, S[:rank], Vh
