"""Nonlinear DIAS: the two-step algorithm (MAP, then the DIAS solve from u_MAP).

1. ``u_MAP = argmin f(u) + 1/2 ||u - u0||^2_{Gamma^{-1}}`` (full prior, L-BFGS);
2. the active subspace at ``u_MAP`` from gradients at prior samples
   re-centred at ``u_MAP`` (``u_MAP + S z``), or matrix-free from a
   Gauss-Newton Hessian (:func:`~randla.apps.dias.gradient_covariance`), then
   ``u_DIAS = argmin f(u) + weight/2 ||P2 (u - u0)||^2`` (DIAS-A by default,
   eq. 12; DIAS-F with ``form="F"``) started from ``u_MAP``.

The misfit is any callable ``u -> (f, grad f)`` on NumPy vectors (the
optimiser is SciPy's L-BFGS-B). Gradient samples are mapped with
:func:`randla.apps.fwi.shot_map` when ``parallel`` is given (a Dask address,
``Client``, cluster or :class:`randla.apps.fwi.ShotExecutor`), serially
otherwise; ``misfit`` must then be picklable.

References
----------
J. Wittmer, J. Badger, H. Sundar, T. Bui-Thanh (2023), Section 4.3, eqs. (11)-(12).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np

from randla.backend import check_positive_int

from .regularizers import DIASRegularizer, Tikhonov
from .subspace import ActiveSubspace, gradient_covariance, matrix_free_subspace, sampled_subspace

__all__ = ["TwoStepResult", "gradient_samples", "minimize", "two_step"]


@dataclass
class TwoStepResult:
    """Output of :func:`two_step`.

    Attributes
    ----------
    u_map, u_dias : numpy.ndarray
    subspace : ActiveSubspace
    num_gradients : dict
        Misfit gradient evaluations per step (``"map"``, ``"subspace"``, ``"dias"``).
    seconds : dict
        Wall time per step.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import ScaledIdentityPrior, two_step
    >>> misfit = lambda u: (0.5 * float(np.sum((u - 1.0) ** 2)), u - 1.0)
    >>> res = two_step(misfit, ScaledIdentityPrior(np.zeros(3)), weight=1.0, rank=1, num_samples=4, rng=0)
    >>> res.u_dias.shape
    (3,)
    """

    u_map: Any
    u_dias: Any
    subspace: ActiveSubspace
    num_gradients: dict = field(default_factory=dict)
    seconds: dict = field(default_factory=dict)


def _evaluate(misfit: Callable, u: np.ndarray) -> np.ndarray:
    return np.asarray(misfit(u)[1], dtype=float)


def gradient_samples(misfit: Callable, samples: np.ndarray, /, *, parallel: Any = None) -> np.ndarray:
    """Gradients ``grad f(u_i)`` at the columns of ``samples`` (``N x M``), as columns.

    Parameters
    ----------
    misfit : callable
        ``u -> (f, g)``.
    samples : numpy.ndarray, shape (N, M)
    parallel : None or as :class:`randla.apps.fwi.ShotExecutor`
        ``None``: a serial loop; otherwise one task per sample through
        :func:`randla.apps.fwi.shot_map` (Dask).

    Returns
    -------
    numpy.ndarray, shape (N, M)

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import gradient_samples
    >>> gradient_samples(lambda u: (0.5 * u @ u, u), np.eye(2)).tolist()
    [[1.0, 0.0], [0.0, 1.0]]
    """
    U = np.asarray(samples, dtype=float)
    if U.ndim != 2:
        raise ValueError(f"samples must be a 2-D array (N, M), got shape {U.shape}")
    cols = [U[:, j].copy() for j in range(U.shape[1])]
    if parallel is None:
        out = [_evaluate(misfit, u) for u in cols]
    else:
        from randla.apps.fwi import shot_map

        out = shot_map(_evaluate, [(u,) for u in cols], parallel=parallel, shared=(misfit,), desc="gradients")
    return np.stack(out, axis=1)


def minimize(misfit: Callable, regularizer: Any, x0: np.ndarray, /, *, maxiter: int = 50,
             gtol: float = 1e-8) -> tuple[np.ndarray, int]:
    """``argmin f(u) + R(u)`` with SciPy's L-BFGS-B from ``x0``.

    Parameters
    ----------
    misfit : callable
        ``u -> (f, g)`` on NumPy vectors.
    regularizer : Tikhonov, DIASRegularizer or None
        On NumPy.
    x0 : numpy.ndarray, shape (N,)
    maxiter : int, default 50
    gtol : float, default 1e-8

    Returns
    -------
    u : numpy.ndarray
    num_gradients : int
        Misfit evaluations (each one gradient).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import ScaledIdentityPrior, Tikhonov, minimize
    >>> reg = Tikhonov(ScaledIdentityPrior(np.zeros(2)))
    >>> u, _ = minimize(lambda u: (0.5 * np.sum((u - 2) ** 2), u - 2), reg, np.zeros(2))
    >>> np.round(u, 6).tolist()
    [1.0, 1.0]
    """
    from scipy.optimize import minimize as _scipy_minimize

    maxiter = check_positive_int(maxiter, "maxiter")
    count = [0]

    def fun(u: np.ndarray) -> tuple[float, np.ndarray]:
        count[0] += 1
        f, g = misfit(u)
        g = np.asarray(g, dtype=float).ravel()
        if regularizer is not None:
            f = f + regularizer.value(u)
            g = g + regularizer.gradient(u)
        return float(f), g

    res = _scipy_minimize(fun, np.asarray(x0, dtype=float), jac=True, method="L-BFGS-B",
                          options={"maxiter": maxiter, "gtol": gtol})
    return res.x, count[0]


def two_step(misfit: Callable, prior: Any, /, *, weight: float, rank: int | None = None, num_samples: int = 30,
             form: str = "A", centred: bool = False, hessian: Callable | None = None, num_eigenvalues: int = 20,
             power_iters: int = 1, map_iters: int = 50, dias_iters: int = 50, x0: Any = None,
             parallel: Any = None, bootstrap: int = 0, rng: Any = None) -> TwoStepResult:
    """The two-step nonlinear DIAS algorithm.

    Parameters
    ----------
    misfit : callable
        ``u -> (f, g)`` on NumPy vectors of size ``prior.size``.
    prior : GaussianPrior
        NumPy; ``N(u0, Gamma)``.
    weight : float
        Of the DIAS regulariser (the MAP step uses weight 1: the Bayesian prior).
    rank : int, optional
        Active-subspace dimension (default: :func:`choose_rank`).
    num_samples : int, default 30
        ``M`` gradient samples at ``u_MAP + S z_i`` (the sampled route).
    form : {"A", "F"}, default "A"
        The paper's eq. (12) uses DIAS-A.
    centred : bool, default False
    hessian : callable, optional
        ``(u, V) -> H(u) V`` (Gauss-Newton Hessian on blocks): the matrix-free
        route, ``C ~ H Gamma H + g g^T`` at ``u_MAP`` through
        :func:`matrix_free_subspace` (``num_eigenvalues``, ``power_iters``).
    map_iters, dias_iters : int, default 50
        L-BFGS iterations of each solve.
    x0 : numpy.ndarray, optional
        Start of the MAP solve (default: the prior mean).
    parallel : optional
        Dask target for the gradient samples (see :func:`gradient_samples`).
    bootstrap : int, default 0
        Bootstrap replicates of :func:`sampled_subspace`.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    TwoStepResult

    Raises
    ------
    ValueError
        ``rank >= N`` or ``rank > M``, as :func:`sampled_subspace`.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import ScaledIdentityPrior, two_step
    >>> F = np.diag([1.0, 1e-3, 1e-6]); d = F @ np.array([1.0, 1.0, 1.0])
    >>> misfit = lambda u: (0.5e4 * np.sum((F @ u - d) ** 2), 1e4 * F.T @ (F @ u - d))
    >>> res = two_step(misfit, ScaledIdentityPrior(np.zeros(3)), weight=1e6, rank=1, num_samples=5, rng=0)
    >>> round(float(res.u_dias[0]), 3), res.num_gradients["subspace"]
    (1.0, 5)
    """

    from randla.random import as_generator

    gen = as_generator(rng)
    n = prior.size
    num_samples = check_positive_int(num_samples, "num_samples")
    if rank is not None:
        rank = check_positive_int(rank, "rank")
        if rank >= n:
            raise ValueError(f"rank must be < N = {n}, got {rank}")
        if hessian is None and rank > num_samples - int(centred):
            raise ValueError(f"rank = {rank} needs at least {rank + int(centred)} gradient samples, "
                             f"got num_samples = {num_samples}")
    start = np.asarray(prior.mean if x0 is None else x0, dtype=float)
    t0 = time.perf_counter()
    u_map, n_map = minimize(misfit, Tikhonov(prior, weight=1.0), start, maxiter=map_iters)
    t1 = time.perf_counter()
    if hessian is None:
        U = u_map[:, None] + prior.sqrt_covariance(gen.standard_normal((n, num_samples)))
        G = gradient_samples(misfit, U, parallel=parallel)
        sub = sampled_subspace(G, rank=rank, centred=centred, bootstrap=bootstrap, rng=gen)
        n_sub = num_samples
    else:
        g_map = None if centred else np.asarray(misfit(u_map)[1], dtype=float)
        C = gradient_covariance(lambda V: hessian(u_map, V), prior, gradient=g_map)
        sub = matrix_free_subspace(C, rank=rank, num_eigenvalues=max(num_eigenvalues, rank or 1),
                                   power_iters=power_iters, centred=centred, rng=gen)
        n_sub = int(not centred)  # the gradient at u_MAP; Hessian products are counted in sub.num_matvecs
    t2 = time.perf_counter()
    reg = DIASRegularizer(prior, sub, form=form, weight=weight)
    u_dias, n_dias = minimize(misfit, reg, u_map, maxiter=dias_iters)
    t3 = time.perf_counter()
    return TwoStepResult(u_map=u_map, u_dias=u_dias, subspace=sub,
                         num_gradients={"map": n_map, "subspace": n_sub, "dias": n_dias},
                         seconds={"map": t1 - t0, "subspace": t2 - t1, "dias": t3 - t2})
