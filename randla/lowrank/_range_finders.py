"""Randomized range finders: fixed rank with power iterations, and adaptive to a tolerance.

A range finder returns a matrix ``Q`` with orthonormal columns such that
``A ≈ Q Q^T A``. :func:`range_finder` samples ``rank + oversample`` random
directions and sharpens them with power (subspace) iterations (Halko,
Martinsson, Tropp 2011, Algorithms 4.3/4.4). :func:`adaptive_range_finder`
grows ``Q`` block by block until an error estimate meets a tolerance (Halko et
al. 2011, Algorithm 4.2; Yu, Gu, Li 2018).

Both accept anything :func:`randla.as_operator` accepts and run on any
array-API backend; the per-backend dense kernels are listed in
``randla.lowrank._dense``.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any

from ..backend import array_namespace, check_positive_int, is_array, to_scalar
from ..operators import LinearOperator
from ..random import as_generator
from ._dense import normalize, orthonormalize
from ._inputs import (
    as_lowrank_operator,
    check_positive,
    check_power,
    check_rank,
    check_samples,
    check_sketch,
    draw,
    resolve_probe,
)

__all__ = ["ConvergenceWarning", "RangeFinderResult", "adaptive_range_finder", "range_finder"]


def range_finder(
    A: Any,
    /,
    rank: int,
    *,
    oversample: int = 10,
    power_iters: int = 2,
    normalizer: str = "lu",
    probe: Any = "gaussian",
    rng: Any = None,
) -> Any:
    """Orthonormal basis of the approximate range of ``A`` (randomized subspace iteration).

    Draws a test matrix ``Omega`` with ``l = min(rank + oversample, m, n)``
    columns and returns ``Q = orth((A A^T)^q A Omega)`` with ``q = power_iters``,
    normalising the block between products with A and A^T.

    Parameters
    ----------
    A : array, scipy sparse matrix or LinearOperator, LinearOperator or callable
        The ``m x n`` matrix; anything :func:`randla.as_operator` accepts
        (real float32 or float64). Power iterations need its adjoint.
    rank : int
        Target rank ``k``, ``1 <= k <= min(m, n)``.
    oversample : int, default 10
        Extra samples ``p >= 0``; the basis has ``min(k + p, m, n)`` columns.
    power_iters : int, default 2
        Number ``q >= 0`` of products with ``A A^T``.
    normalizer : {"lu", "qr", "none"}, default "lu"
        How the block is normalised between products: ``"lu"`` keeps the
        ``P L`` factor of a partially pivoted LU (cheap, as fbpca and
        scikit-learn); ``"qr"`` orthonormalises (subspace iteration, HMT
        Alg. 4.4); ``"none"`` does nothing (HMT Alg. 4.3; loses the small
        singular directions once ``(sigma_l / sigma_1)^(2q+1)`` nears machine
        precision). The final basis is always orthonormalised by QR. With
        ``"lu"``: NumPy uses ``scipy.linalg.lu_factor`` (getrf), torch
        ``torch.linalg.lu_factor_ex``, CuPy ``cupyx.scipy.linalg.lu``; other
        namespaces (array_api_strict, ...) have no LU and use QR instead.
        Nothing is ever copied to the host.
    probe : str or array, default "gaussian"
        Kind of test matrix (see :func:`randla.random.draw_probes`), or the
        ``n x l`` test matrix itself (A's namespace, device and dtype).
    rng : int, numpy.random.Generator or None
        Source of randomness. The test matrix is drawn on the host, so a seed
        gives the same ``Omega`` on every backend.

    Returns
    -------
    Q : array, shape (m, l)
        Orthonormal columns, in A's namespace, dtype and device. Sign
        convention: ``Q`` is the factor of a QR with ``diag(R) >= 0``, so a seed
        gives the same ``Q`` (to rounding) on every backend.

    Raises
    ------
    ValueError
        ``rank`` outside ``[1, min(m, n)]``, negative ``oversample`` or
        ``power_iters``, unknown ``normalizer``/``probe``, non-finite A, a
        probe array of the wrong shape, arrays on different devices.
    TypeError
        Integer, float16 or complex A; mixed backends; ``power_iters > 0``
        on an operator without adjoint.

    See Also
    --------
    adaptive_range_finder : basis grown until a tolerance is met.
    rsvd : randomized SVD built on this basis.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with
    randomness: probabilistic algorithms for constructing approximate matrix
    decompositions", SIAM Review 53(2) (2011), Algorithms 4.3 and 4.4.
    V. Rokhlin, A. Szlam, M. Tygert, "A randomized algorithm for principal
    component analysis", SIMAX 31(3) (2009) (LU normalisation).

    Examples
    --------
    >>> from randla import range_finder
    >>> rng = np.random.default_rng(0)
    >>> A = rng.standard_normal((200, 8)) @ rng.standard_normal((8, 100))
    >>> Q = range_finder(A, 8, oversample=2, rng=0)
    >>> Q.shape
    (200, 10)
    >>> bool(np.allclose(Q @ (Q.T @ A), A))
    True
    """
    op = as_lowrank_operator(A, method="range_finder", need_adjoint=False)
    rank, num_samples = check_samples(op, rank, oversample)
    power_iters, normalizer = check_power(power_iters, normalizer)
    if power_iters > 0 and not op.has_adjoint:
        raise TypeError(
            "range_finder with power_iters > 0 needs the adjoint of A: pass rmatmat= "
            "(or symmetric=True) to randla.as_operator, or use power_iters=0"
        )
    probe = resolve_probe(probe, op, A, op.shape[1], num_samples)
    return _range_finder(op, num_samples, power_iters, normalizer, probe, as_generator(rng))


def _range_finder(op: LinearOperator, num_samples: int, power_iters: int,
                  normalizer: str, probe: Any, gen: Any) -> Any:
    """Body of :func:`range_finder` on a validated operator."""
    omega = draw(probe, op.shape[1], num_samples, op, gen)
    Y = op.matmat(omega)
    check_sketch(Y)
    for _ in range(power_iters):
        Z = op.rmatmat(normalize(Y, normalizer))
        Y = op.matmat(normalize(Z, normalizer))
    return orthonormalize(Y)


# -- adaptive ---------------------------------------------------------------------


class ConvergenceWarning(UserWarning):
    """An iterative method stopped at its cap before reaching its tolerance.

    A :class:`UserWarning`, not a :class:`RuntimeWarning`: it reports a
    result, not a numerical accident.

    Examples
    --------
    >>> import warnings
    >>> A = np.random.default_rng(0).standard_normal((40, 30))
    >>> with warnings.catch_warnings(record=True) as caught:
    ...     warnings.simplefilter("always")
    ...     res = randla.adaptive_range_finder(A, 1e-8, max_rank=5, rng=0)
    >>> res.converged, caught[0].category is randla.ConvergenceWarning
    (False, True)
    """


@dataclasses.dataclass(frozen=True)
class RangeFinderResult:
    """Result of :func:`adaptive_range_finder`.

    Attributes
    ----------
    Q : array, shape (m, r)
        Orthonormal basis.
    error_estimate : float
        Estimate of ``||A - Q Q^T A||`` in the requested norm (see
        :func:`adaptive_range_finder` for its guarantee).
    num_matvecs : int
        Products with A and A^T spent (columns of all blocks).
    converged : bool
        Whether ``error_estimate <= tol`` (False when ``max_rank`` stopped it).
    norm : {2, "fro"}
        The norm of the estimate.
    failure_probability : float
        Upper bound on ``P(||A - Q Q^T A|| > error_estimate)`` for ``norm=2``
        (``10**-block_size``); 0 for the deterministic ``"fro"`` indicator.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with
    randomness: probabilistic algorithms for constructing approximate matrix
    decompositions", SIAM Review 53 (2011), Algorithm 4.2. W. Yu, Y. Gu, Y. Li, "Efficient randomized
    algorithms for the fixed-precision low-rank matrix approximation", SIAM J.
    Matrix Anal. Appl. 39 (2018).

    Examples
    --------
    >>> from randla import adaptive_range_finder
    >>> A = np.random.default_rng(0).standard_normal((60, 8)) @ np.ones((8, 40))
    >>> res = adaptive_range_finder(A, 1e-8, block_size=4, rng=0)
    >>> res.converged, res.rank <= 12, float(res) <= 1e-8
    (True, True, True)
    """

    Q: Any
    error_estimate: float
    num_matvecs: int
    converged: bool
    norm: Any
    failure_probability: float

    @property
    def rank(self) -> int:
        """Number of columns of ``Q``."""
        return int(self.Q.shape[1])

    def __float__(self) -> float:
        return float(self.error_estimate)

    def __repr__(self) -> str:  # Q by its shape and dtype, never its entries
        return (
            f"RangeFinderResult(Q=<{type(self.Q).__name__} of shape {tuple(self.Q.shape)}, "
            f"{self.Q.dtype}>, error_estimate={self.error_estimate!r}, "
            f"num_matvecs={self.num_matvecs}, converged={self.converged}, "
            f"norm={self.norm!r}, failure_probability={self.failure_probability!r})"
        )


def adaptive_range_finder(
    A: Any,
    /,
    tol: float,
    *,
    block_size: int = 10,
    max_rank: int | None = None,
    power_iters: int = 0,
    norm: Any = 2,
    probe: str = "gaussian",
    rng: Any = None,
) -> RangeFinderResult:
    """Blocked randomized range finder that stops when ``||A - Q Q^T A|| <= tol``.

    Each step draws a fresh Gaussian block ``Omega`` (``block_size`` columns),
    forms ``R = (I - Q Q^T) A Omega`` (block Gram-Schmidt, twice) and, unless
    the tolerance is met, appends an orthonormal basis of ``R`` to ``Q``
    (after ``power_iters`` products with the deflated ``(I - Q Q^T) A A^T``).

    Error estimates:

    * ``norm=2`` (any operator; Halko, Martinsson, Tropp 2011, Alg. 4.2 and
      Lemma 4.1): before a block joins the basis it estimates the error of the
      current basis, ``est = 10 sqrt(2/pi) max_j ||R[:, j]||``, and
      ``P(||A - Q Q^T A||_2 > est) <= 10**-block_size`` for Gaussian probes.
      The checking block is not wasted: it is the next block of the basis.
      Stopping costs one block that is not kept.
    * ``norm="fro"`` (explicit matrices: dense arrays and SciPy sparse;
      Yu, Gu, Li 2018, randQB_EI): with ``B = Q^T A`` kept block by block,
      ``||A - Q Q^T A||_F^2 = ||A||_F^2 - ||B||_F^2`` exactly, so the
      indicator is deterministic (costs ``block_size`` products with A^T per
      block). Cancellation limits it to ``tol >~ sqrt(eps) ||A||_F``.

    Parameters
    ----------
    A : array, scipy sparse matrix or LinearOperator, LinearOperator or callable
        The ``m x n`` matrix (real float32/float64); anything
        :func:`randla.as_operator` accepts. ``power_iters > 0`` and
        ``norm="fro"`` need its adjoint.
    tol : float
        Absolute tolerance ``> 0`` on ``||A - Q Q^T A||`` in ``norm``.
    block_size : int, default 10
        Columns per block ``b >= 1``.
    max_rank : int, optional
        Upper bound on the rank of ``Q``; default ``min(m, n)``.
    power_iters : int, default 0
        Power iterations per block (helps slowly decaying spectra).
    norm : {2, "fro"}, default 2
        Norm of the tolerance and of the estimate.
    probe : {"gaussian"}, default "gaussian"
        Only Gaussian probes carry the ``norm=2`` guarantee.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    RangeFinderResult
        ``Q``, ``error_estimate``, ``num_matvecs``, ``converged``, ``norm``,
        ``failure_probability``.

    Warns
    -----
    ConvergenceWarning
        When ``max_rank`` stops the basis before ``tol`` is met
        (``result.converged`` is then False).

    Raises
    ------
    ValueError
        ``tol <= 0``, ``block_size < 1``, ``max_rank`` outside
        ``[1, min(m, n)]``, ``norm="fro"`` for a matrix-free operator, bad
        ``norm``, non-finite A.
    TypeError
        Integer, float16 or complex A; no adjoint when needed.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, "Finding structure with
    randomness", SIAM Review 53(2) (2011), Algorithm 4.2 and Lemma 4.1.
    W. Yu, Y. Gu, Y. Li, "Efficient randomized algorithms for the
    fixed-precision low-rank matrix approximation", SIMAX 39(3) (2018).

    Examples
    --------
    >>> from randla import adaptive_range_finder
    >>> rng = np.random.default_rng(0)
    >>> U, _ = np.linalg.qr(rng.standard_normal((300, 60)))
    >>> V, _ = np.linalg.qr(rng.standard_normal((200, 60)))
    >>> A = (U * 0.5 ** np.arange(60)) @ V.T
    >>> res = adaptive_range_finder(A, 1e-6, block_size=5, rng=0)
    >>> res.converged, res.error_estimate <= 1e-6
    (True, True)
    >>> err = np.linalg.norm(A - res.Q @ (res.Q.T @ A), 2)
    >>> bool(err <= res.error_estimate)
    True
    """
    needs_frobenius = norm == "fro"
    if not needs_frobenius and norm != 2:
        raise ValueError(f"norm must be 2 or 'fro', got {norm!r}")
    op = as_lowrank_operator(
        A, method="adaptive_range_finder", need_adjoint=needs_frobenius or power_iters != 0
    )
    m, n = op.shape
    tol = check_positive(tol, "tol")
    block_size = check_positive_int(block_size, "block_size", minimum=1)
    max_rank = min(m, n) if max_rank is None else check_rank(max_rank, op.shape, name="max_rank")
    power_iters = check_positive_int(power_iters, "power_iters", minimum=0)
    if probe != "gaussian":
        raise ValueError(f"probe must be 'gaussian' (the estimate assumes it), got {probe!r}")
    fro_sq = None
    if needs_frobenius:
        fro_sq = _frobenius_squared(A)
    gen = as_generator(rng)
    return _adaptive(op, tol, block_size, max_rank, power_iters, fro_sq, gen)


def _frobenius_squared(A: Any) -> float:
    if is_array(A):
        xp = array_namespace(A)
        return to_scalar(xp.linalg.vector_norm(A)) ** 2  # all entries, no copy of A
    try:
        import scipy.sparse as sp
    except ImportError:  # pragma: no cover
        sp = None
    if sp is not None and sp.issparse(A):
        data = A.tocsr().data
        return float((data * data).sum())
    raise ValueError(
        "norm='fro' needs ||A||_F, which a matrix-free operator does not give: pass "
        "a dense array or a SciPy sparse matrix, or use norm=2"
    )


def _project_out(Y: Any, Q: Any) -> Any:
    """``(I - Q Q^T) Y`` by block classical Gram-Schmidt, twice ("twice is enough")."""
    if Q is None:
        return Y
    Y = Y - Q @ (Q.T @ Y)
    return Y - Q @ (Q.T @ Y)


def _adaptive(op: LinearOperator, tol: float, block_size: int, max_rank: int,
              power_iters: int, fro_sq: float | None, gen: Any) -> RangeFinderResult:
    """Body of :func:`adaptive_range_finder` on a validated operator."""
    xp = op.xp
    m, n = op.shape
    start = op.num_matvecs + op.num_rmatvecs
    factor = 10.0 * math.sqrt(2.0 / math.pi)
    Q = None
    rank = 0
    remaining_sq = fro_sq
    estimate = math.inf
    converged = False
    first = True
    if fro_sq is not None and math.sqrt(fro_sq) <= tol:
        estimate, converged = math.sqrt(fro_sq), True
    while not converged:
        take = block_size if fro_sq is None else min(block_size, max_rank - rank)
        Y = op.matmat(draw("gaussian", n, take, op, gen))
        if first:
            check_sketch(Y)
            first = False
        R = _project_out(Y, Q)
        if fro_sq is None:
            # HMT Lemma 4.1 with alpha = 10, r = block_size
            estimate = factor * to_scalar(xp.max(xp.sqrt(xp.sum(R * R, axis=0))))
            if estimate <= tol:
                converged = True
                break
            if rank >= max_rank:
                break
            take = min(block_size, max_rank - rank)
            R = R[:, :take]
        for _ in range(power_iters):
            Z = op.rmatmat(orthonormalize(R))
            R = _project_out(op.matmat(orthonormalize(Z)), Q)
        Qi = orthonormalize(R)
        if Q is not None:
            # re-orthogonalise the orthonormal block: columns of R at rounding
            # level come out of the QR with O(1) components in range(Q)
            Qi = orthonormalize(_project_out(Qi, Q))
        Q = Qi if Q is None else xp.concat((Q, Qi), axis=1)
        rank += take
        if fro_sq is not None:
            Bi = op.rmatmat(Qi)  # rows of B = Q^T A for this block, transposed
            remaining_sq -= to_scalar(xp.sum(Bi * Bi))
            estimate = math.sqrt(max(remaining_sq, 0.0))
            if estimate <= tol:
                converged = True
                break
            if rank >= max_rank:
                break
    if not converged:
        warnings.warn(
            f"adaptive_range_finder reached max_rank={max_rank} with error estimate "
            f"{estimate:.3g} > tol={tol:.3g}; raise max_rank or tol (result.converged "
            "is False)", ConvergenceWarning, stacklevel=3)
    if Q is None:  # converged before any block: the zero basis
        Q = xp.zeros((m, 0), dtype=op.dtype, device=op.device)
    return RangeFinderResult(
        Q=Q,
        error_estimate=estimate,
        num_matvecs=op.num_matvecs + op.num_rmatvecs - start,
        converged=converged,
        norm=2 if fro_sq is None else "fro",
        failure_probability=10.0 ** (-block_size) if fro_sq is None else 0.0,
    )
