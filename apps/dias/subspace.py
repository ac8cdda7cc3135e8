"""Active subspaces of ``C = E_prior[grad f grad f^T]``: sampled and matrix-free.

* :func:`sampled_subspace` -- from ``M`` gradient samples ``G`` (``N x M``):
  ``C ~ G G^T / M`` (centred: the sample covariance), eigenpairs from
  :func:`randla.rsvd` of ``G / sqrt(M)``, with bootstrap intervals on the
  eigenvalues and on the subspace distance for every dimension (Constantine
  2015, Section 3.3; as ATHENA does).
* :func:`matrix_free_subspace` -- ``C`` never formed: a randomized
  eigensolver of the core (:func:`randla.rsvd` with power iterations, or
  :func:`randla.nystrom`) on an operator applying ``C``.
* :func:`gradient_covariance` -- that operator for a linear(ised) problem:
  ``C v = H (Gamma (H v)) + g0 (g0^T v)`` (centred: ``C_c = H Gamma H``),
  two Hessian products and one prior product per column.
* :func:`choose_rank` -- rules for the dimension ``r`` from the eigenvalue decay.

References
----------
P. G. Constantine, "Active subspaces: emerging ideas for dimension reduction
in parameter studies", SIAM (2015), Sections 3.2-3.3. H. Nguyen, J. Wittmer,
T. Bui-Thanh, "DIAS: a data-informed active subspace regularization framework
for inverse problems", Computation 10(3):38 (2022).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

import randla
from randla.backend import check_finite, check_float, check_positive_int, namespace, to_host
from randla.random import as_generator

__all__ = ["ActiveSubspace", "choose_rank", "gradient_covariance", "matrix_free_subspace", "sampled_subspace"]

RANK_RULES = ("energy", "gap", "threshold")


@dataclass
class ActiveSubspace:
    """Leading eigenpairs of ``C`` and the chosen active subspace ``W1``.

    Attributes
    ----------
    basis : array, shape (N, rank)
        ``W1``, orthonormal columns.
    eigenvalues : array, shape (k,)
        The ``k >= rank`` leading eigenvalue estimates (the decay), descending.
    eigenvectors : array, shape (N, k)
        All computed eigenvectors (``basis`` is the first ``rank``).
    rank : int
    centred : bool
        Whether ``C`` is the centred (covariance) form.
    num_gradients : int
        Gradient samples used (0 for the matrix-free route).
    num_matvecs : int
        Products with ``C`` (0 for the sampled route).
    eigenvalue_intervals : numpy.ndarray, shape (2, k), optional
        Bootstrap ``[low, high]`` interval of each eigenvalue.
    subspace_distances : numpy.ndarray, shape (3, k), optional
        Bootstrap mean, low, high of ``||W_j W_j^T - W_j* W_j*^T||_2`` (sine of
        the largest principal angle) for dimensions ``j = 1..k``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import sampled_subspace
    >>> G = np.outer(np.eye(5)[0], np.arange(1.0, 9.0))   # gradients along e_0
    >>> sub = sampled_subspace(G, rank=1)                 # an ActiveSubspace
    >>> sub.basis.shape, round(abs(float(sub.basis[0, 0])), 6)
    ((5, 1), 1.0)
    """

    basis: Any
    eigenvalues: Any
    eigenvectors: Any
    rank: int
    centred: bool = False
    num_gradients: int = 0
    num_matvecs: int = 0
    eigenvalue_intervals: Any = None
    subspace_distances: Any = None

    def with_rank(self, rank: int, /) -> "ActiveSubspace":
        """The same eigenpairs with another dimension ``1 <= rank <= k``, ``rank < N``."""
        k = int(self.eigenvectors.shape[1])
        rank = _check_rank(rank, int(self.eigenvectors.shape[0]), k)
        return replace(self, basis=self.eigenvectors[:, :rank], rank=rank)


def _check_rank(rank: Any, n: int, k: int, what: str = "computed eigenpairs") -> int:
    rank = check_positive_int(rank, "rank")
    if rank >= n:
        raise ValueError(f"rank must be < N = {n} (an active subspace of dimension N leaves nothing to "
                         f"regularise), got {rank}")
    if rank > k:
        raise ValueError(f"rank must be <= {k}, the number of {what}, got {rank}")
    return rank


def choose_rank(eigenvalues: Any, /, *, rule: str = "energy", energy: float = 0.99, tol: float = 1e-2,
                max_rank: int | None = None) -> int:
    """Dimension ``r`` of the active subspace from the eigenvalue decay.

    Parameters
    ----------
    eigenvalues : array, shape (k,)
        Descending, non-negative.
    rule : {"energy", "gap", "threshold"}, default "energy"
        ``"energy"`` (robust when the spectrum has no gap, e.g. smoothing
        kernels): see below; ``"gap"``: the largest spectral gap ``lambda_j / lambda_{j+1}``
        (Constantine 2015, Sec. 3.2), among eigenvalues above ``1e-12
        lambda_1``; ``"energy"``: the smallest ``r`` with ``sum_{i<=r}
        lambda_i >= energy * sum_i lambda_i``; ``"threshold"``: the number of
        ``lambda_j >= tol * lambda_1``.
    energy : float, default 0.99
    tol : float, default 1e-2
    max_rank : int, optional
        Upper bound (e.g. ``N - 1``).

    Returns
    -------
    int

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import choose_rank
    >>> lam = np.array([10.0, 9.0, 8.0, 0.01, 0.009])
    >>> choose_rank(lam), choose_rank(lam, rule="threshold", tol=0.5), choose_rank(lam, rule="energy")
    (3, 3, 3)
    """
    lam = np.asarray(to_host(eigenvalues) if not isinstance(eigenvalues, np.ndarray) else eigenvalues,
                     dtype=float).ravel()
    if lam.size == 0:
        raise ValueError("eigenvalues must not be empty")
    if not np.all(np.isfinite(lam)):
        raise ValueError("eigenvalues contain NaN or infinite values")
    if rule not in RANK_RULES:
        raise ValueError(f"rule must be one of {RANK_RULES}, got {rule!r}")
    lam = np.maximum(lam, 0.0)
    top = lam[0]
    if top <= 0:
        return 1
    if rule == "gap":
        keep = int(np.sum(lam > 1e-12 * top))
        if keep <= 1:
            r = 1
        else:
            ratios = np.log(lam[: keep - 1]) - np.log(lam[1:keep])
            r = int(np.argmax(ratios)) + 1
            if keep < lam.size and r == keep - 1 and np.log(lam[keep - 1] / max(lam[keep], 1e-300 * top)) > ratios[-1]:
                r = keep
    elif rule == "energy":
        if not 0 < energy <= 1:
            raise ValueError(f"energy must be in (0, 1], got {energy}")
        cum = np.cumsum(lam) / np.sum(lam)
        r = int(np.searchsorted(cum, energy * (1 - 1e-12))) + 1
    else:
        if not tol > 0:
            raise ValueError(f"tol must be > 0, got {tol}")
        r = max(1, int(np.sum(lam >= tol * top)))
    r = min(r, lam.size)
    if max_rank is not None:
        r = min(r, check_positive_int(max_rank, "max_rank"))
    return r


def _leading_eigh(B: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    w, V = np.linalg.eigh(B)
    order = np.argsort(w)[::-1][:k]
    return np.maximum(w[order], 0.0), V[:, order]


def _bootstrap(gram: np.ndarray, proj: np.ndarray, k: int, centred: bool, num: int, confidence: float,
               gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap over the columns of G, in the M-dimensional sample space.

    ``gram = G^T G / M`` and ``proj = W^T G / sqrt(M)`` (host); a replicate
    resamples columns: its eigenpairs come from the resampled Gram matrix and
    ``W_j^T W*_j = proj_b V_b / s_b``.
    """
    m = gram.shape[0]
    evals = np.empty((num, k))
    dists = np.empty((num, k))
    for b in range(num):
        idx = gen.integers(0, m, size=m)
        Gb = gram[np.ix_(idx, idx)]
        Pb = proj[:, idx]
        if centred:
            J = np.eye(m) - 1.0 / m
            Gb = J @ Gb @ J * (m / (m - 1))
            Pb = Pb @ J * math.sqrt(m / (m - 1))
        lam, V = _leading_eigh(Gb, k)
        s = np.sqrt(lam)
        safe = np.where(s > 1e-150, s, np.inf)
        cross = (Pb @ V) / safe  # W^T W*_b, k x k
        evals[b] = lam
        for j in range(1, k + 1):
            sv = np.linalg.svd(cross[:j, :j], compute_uv=False)
            dists[b, j - 1] = math.sqrt(max(0.0, 1.0 - min(1.0, float(sv[-1])) ** 2))
    alpha = (1.0 - confidence) / 2
    ev = np.quantile(evals, [alpha, 1 - alpha], axis=0)
    ds = np.vstack([dists.mean(axis=0), np.quantile(dists, [alpha, 1 - alpha], axis=0)])
    return ev, ds


def _bootstrap_tall(G: np.ndarray, W: np.ndarray, k: int, centred: bool, num: int, confidence: float,
                    gen: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Bootstrap in the N-dimensional parameter space (used when N < M)."""
    n, m = G.shape
    evals = np.empty((num, k))
    dists = np.empty((num, k))
    for b in range(num):
        Gb = G[:, gen.integers(0, m, size=m)]
        if centred:
            Gb = (Gb - Gb.mean(axis=1, keepdims=True)) * math.sqrt(m / (m - 1))
        lam, V = _leading_eigh(Gb @ Gb.T, k)
        cross = W.T @ V
        evals[b] = lam
        for j in range(1, k + 1):
            sv = np.linalg.svd(cross[:j, :j], compute_uv=False)
            dists[b, j - 1] = math.sqrt(max(0.0, 1.0 - min(1.0, float(sv[-1])) ** 2))
    alpha = (1.0 - confidence) / 2
    ev = np.quantile(evals, [alpha, 1 - alpha], axis=0)
    ds = np.vstack([dists.mean(axis=0), np.quantile(dists, [alpha, 1 - alpha], axis=0)])
    return ev, ds


def sampled_subspace(G: Any, /, *, rank: int | None = None, num_eigenvalues: int | None = None,
                     centred: bool = False, bootstrap: int = 100, confidence: float = 0.9,
                     rank_rule: str = "energy", power_iters: int = 2, rng: Any = None) -> ActiveSubspace:
    """Active subspace from ``M`` gradient samples (the ``N x M`` matrix ``G``).

    ``C ~ G G^T / M`` (uncentred) or the sample covariance
    ``(G - gbar)(G - gbar)^T / (M - 1)`` (centred); its leading ``k``
    eigenpairs are the squared singular values and left singular vectors of
    ``G / sqrt(M)`` from :func:`randla.rsvd` (``G`` is touched
    ``2 power_iters + 2`` times, never ``C``).

    Parameters
    ----------
    G : array, shape (N, M)
        Gradient samples as columns (any array-API backend).
    rank : int, optional
        Dimension ``r`` of ``W1``; default :func:`choose_rank` with ``rank_rule``.
    num_eigenvalues : int, optional
        ``k``, eigenvalues computed and returned (default ``min(M', N - 1, 100)``
        with ``M' = M`` or ``M - 1`` centred).
    centred : bool, default False
    bootstrap : int, default 100
        Bootstrap replicates (0: none). Computed on the host in the smaller
        of the sample space (``G^T G`` and ``W^T G`` copied explicitly,
        ``O(M^3)`` per replicate) and the parameter space (``G`` copied,
        ``O(N^2 M + N^3)`` per replicate).
    confidence : float, default 0.9
        Level of the bootstrap intervals.
    rank_rule : str, default "energy"
        See :func:`choose_rank`.
    power_iters : int, default 2
        Of :func:`randla.rsvd`.
    rng : int, numpy.random.Generator or None
        Seeds the sketch and the bootstrap.

    Returns
    -------
    ActiveSubspace

    Raises
    ------
    ValueError
        ``rank >= N``, ``rank > M'`` (fewer samples than the dimension), ``M``
        too small, non-finite ``G``.
    TypeError
        Integer or half-precision ``G``.

    References
    ----------
    P. G. Constantine, "Active subspaces", SIAM (2015), Algorithm 3.1 and
    Section 3.3 (bootstrap).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import sampled_subspace
    >>> rng = np.random.default_rng(0)
    >>> a = np.zeros(20); a[0] = 1.0
    >>> G = np.outer(a, rng.standard_normal(30)) + 1e-3 * rng.standard_normal((20, 30))
    >>> sub = sampled_subspace(G, rank=1, bootstrap=20, rng=0)
    >>> round(abs(float(sub.basis[0, 0])), 4), sub.eigenvalue_intervals.shape
    (1.0, (2, 19))
    """
    namespace(G=G)
    check_float(G, "G")
    if G.ndim != 2:
        raise ValueError(f"G must be a 2-D array (N, M) of gradient columns, got shape {tuple(G.shape)}")
    check_finite(G, "G")
    n, m = (int(s) for s in G.shape)
    if n < 2:
        raise ValueError(f"G must have N >= 2 rows, got {n}")
    usable = m - 1 if centred else m
    if usable < 1:
        raise ValueError(f"need at least {2 if centred else 1} gradient samples (columns of G), got {m}")
    k = min(usable, n - 1, 100) if num_eigenvalues is None else check_positive_int(num_eigenvalues, "num_eigenvalues")
    if k > min(usable, n):
        raise ValueError(f"num_eigenvalues must be <= {min(usable, n)} (M = {m} samples, N = {n}), got {k}")
    if rank is not None:
        rank = check_positive_int(rank, "rank")
        if rank >= n:
            _check_rank(rank, n, k)
        if rank > usable:
            raise ValueError(f"rank = {rank} needs at least {rank + int(centred)} gradient samples, got M = {m}")
        k = max(k, rank)
        _check_rank(rank, n, k)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    bootstrap = check_positive_int(bootstrap, "bootstrap", minimum=0)
    return _sampled(G, rank, k, centred, bootstrap, confidence, rank_rule, power_iters, as_generator(rng))


def _sampled(G, rank, k, centred, bootstrap, confidence, rank_rule, power_iters, gen) -> ActiveSubspace:
    n, m = (int(s) for s in G.shape)
    xp = namespace(G=G)
    if centred:
        X = (G - xp.mean(G, axis=1, keepdims=True)) / math.sqrt(m - 1)
    else:
        X = G / math.sqrt(m)
    U, S, _ = randla.rsvd(X, k, power_iters=power_iters, rng=gen)
    lam = S * S
    if rank is None:
        rank = choose_rank(lam, rule=rank_rule, max_rank=min(k, n - 1))
    ev = ds = None
    if bootstrap:
        Graw = G / math.sqrt(m)
        if m <= n:
            gram = to_host(Graw.T @ Graw)
            proj = to_host(U.T @ Graw)
            ev, ds = _bootstrap(gram, proj, k, centred, bootstrap, confidence, gen)
        else:
            ev, ds = _bootstrap_tall(to_host(Graw), to_host(U), k, centred, bootstrap, confidence, gen)
    return ActiveSubspace(basis=U[:, :rank], eigenvalues=lam, eigenvectors=U, rank=rank, centred=centred,
                          num_gradients=m, eigenvalue_intervals=ev, subspace_distances=ds)


def gradient_covariance(hessian: Any, prior: Any, /, *, gradient: Any = None) -> randla.LinearOperator:
    """The operator ``C v = H (Gamma (H v)) + g0 (g0^T v)`` of a linear(ised) problem.

    For ``f(u) = 1/2 ||F u - d||^2_{Gamma_noise^{-1}}`` and ``u ~ N(u0, Gamma)``
    the gradient is ``H (u - u0) + g0`` with ``H = F^T Gamma_noise^{-1} F`` and
    ``g0`` the gradient at the prior mean, so ``E[g g^T] = H Gamma H + g0 g0^T``
    exactly (centred: ``H Gamma H``). For a nonlinear problem, ``H`` the
    (Gauss-Newton) Hessian and ``g0`` the gradient at a point give the
    linearised ``C`` there. Each column costs two Hessian products and one
    prior product.

    Parameters
    ----------
    hessian : operator-like
        Symmetric ``N x N`` (anything :func:`randla.as_operator` accepts; a
        callable is wrapped with ``symmetric=True``).
    prior : GaussianPrior
        Of size ``N``; its backend must match the operator's.
    gradient : array, shape (N,), optional
        ``g0``; ``None`` gives the centred ``C_c = H Gamma H``.

    Returns
    -------
    randla.LinearOperator
        Symmetric PSD; ``num_matvecs`` counts the ``C`` products.

    Raises
    ------
    ValueError
        A prior or gradient of the wrong size, a non-square Hessian.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import ScaledIdentityPrior, gradient_covariance
    >>> H = np.diag([2.0, 1.0]); prior = ScaledIdentityPrior(np.zeros(2), variance=3.0)
    >>> C = gradient_covariance(H, prior, gradient=np.array([1.0, 0.0]))
    >>> C.matmat(np.eye(2)).tolist()
    [[13.0, 0.0], [0.0, 3.0]]
    """
    if callable(hessian) and not isinstance(hessian, randla.LinearOperator) and not hasattr(hessian, "shape"):
        n = prior.size
        op = randla.as_operator(hessian, shape=(n, n), xp=prior.xp, dtype=prior.dtype, device=prior.device,
                                symmetric=True)
    else:
        op = randla.as_operator(hessian, symmetric=True) if not isinstance(hessian, randla.LinearOperator) \
            else hessian
    m, n = op.shape
    if m != n:
        raise ValueError(f"hessian must be square, got shape {op.shape}")
    if getattr(prior, "size", None) != n:
        raise ValueError(f"prior has size {getattr(prior, 'size', None)} but the Hessian is {n} x {n}")
    g = None
    if gradient is not None:
        namespace(gradient=gradient, mean=prior.mean)
        if tuple(gradient.shape) != (n,):
            raise ValueError(f"gradient must have shape ({n},), got {tuple(gradient.shape)}")
        check_finite(gradient, "gradient")
        g = prior.xp.reshape(gradient, (-1, 1))

    def matmat(X: Any) -> Any:
        Y = op.matmat(prior.covariance(op.matmat(X)))
        if g is not None:
            Y = Y + g @ (g.T @ X)
        return Y

    return randla.LinearOperator((n, n), matmat, dtype=op.dtype, xp=op.xp, device=op.device, symmetric=True)


def matrix_free_subspace(C: Any, /, *, rank: int | None = None, num_eigenvalues: int | None = None,
                         method: str = "rsvd", oversample: int = 10, power_iters: int = 1,
                         rank_rule: str = "energy", centred: bool = False, rng: Any = None) -> ActiveSubspace:
    """Active subspace from products with ``C`` only (``C`` never formed).

    Parameters
    ----------
    C : operator-like
        Symmetric PSD ``N x N`` operator, e.g. :func:`gradient_covariance`.
    rank : int, optional
        Dimension ``r``; default :func:`choose_rank` with ``rank_rule``.
    num_eigenvalues : int, optional
        ``k >= rank`` eigenpairs computed (default ``max(rank, 20)`` capped at ``N - 1``).
    method : {"rsvd", "nystrom"}, default "rsvd"
        :func:`randla.rsvd` (``(2 power_iters + 2)(k + oversample)``
        products; accurate for slow decay) or :func:`randla.nystrom`
        (``k + oversample`` products, one pass).
    oversample, power_iters
        Of the core solvers.
    rank_rule : str, default "energy"
    centred : bool, default False
        Recorded in the result (the operator decides what ``C`` is).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ActiveSubspace
        ``num_matvecs`` holds the products with ``C``.

    Raises
    ------
    ValueError
        ``rank >= N``, ``rank > num_eigenvalues``, unknown ``method``.

    References
    ----------
    N. Halko, P.-G. Martinsson, J. A. Tropp, SIAM Review 53 (2011), Sections
    4-5 (randomized eigensolvers of symmetric operators).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import matrix_free_subspace
    >>> C = np.diag(10.0 ** -np.arange(30.0))
    >>> sub = matrix_free_subspace(C, rank=3, rng=0)
    >>> np.allclose(np.abs(sub.basis), np.eye(30)[:, :3], atol=1e-6), sub.num_matvecs
    (True, 120)
    """
    op = C if isinstance(C, randla.LinearOperator) else randla.as_operator(C, symmetric=True)
    n, n2 = op.shape
    if n != n2:
        raise ValueError(f"C must be square, got shape {op.shape}")
    if method not in ("rsvd", "nystrom"):
        raise ValueError(f"method must be 'rsvd' or 'nystrom', got {method!r}")
    if rank is not None:
        rank = check_positive_int(rank, "rank")
        if rank >= n:
            _check_rank(rank, n, n)
    if num_eigenvalues is None:
        k = min(max(rank or 0, 20), n - 1)
    else:
        k = check_positive_int(num_eigenvalues, "num_eigenvalues")
        if k > n:
            raise ValueError(f"num_eigenvalues must be <= N = {n}, got {k}")
    if rank is not None:
        _check_rank(rank, n, k)
    start = op.num_matvecs + op.num_rmatvecs
    gen = as_generator(rng)
    if method == "rsvd":
        U, lam, _ = randla.rsvd(op, k, oversample=oversample, power_iters=power_iters, rng=gen)
    else:
        U, lam = randla.nystrom(op, k, oversample=oversample, rng=gen)
    used = op.num_matvecs + op.num_rmatvecs - start
    if rank is None:
        rank = choose_rank(lam, rule=rank_rule, max_rank=min(k, n - 1))
    return ActiveSubspace(basis=U[:, :rank], eigenvalues=lam, eigenvectors=U, rank=rank, centred=centred,
                          num_matvecs=int(used))
