"""Gaussian priors ``N(mean, Gamma)`` with precision, covariance and square-root actions.

* :class:`ScaledIdentityPrior` -- ``Gamma = variance * I`` (any array-API backend).
* :class:`DenseGaussianPrior` -- a dense SPD covariance, Cholesky-factored once
  (any array-API backend; for small problems and tests).
* :class:`BiLaplacianPrior` -- ``Gamma = variance * A^{-2}`` with the sparse
  elliptic operator ``A = delta I - gamma Laplacian`` (Neumann boundary) on a
  1-D/2-D/3-D grid; actions through one sparse LU of ``A``
  (:func:`scipy.sparse.linalg.factorized`). NumPy only.

Every prior acts on a vector ``(N,)`` or a block ``(N, k)`` and exposes
``precision``, ``covariance``, ``sqrt_covariance`` (a factor ``S`` with
``S S^T = Gamma``), ``sample`` (explicit ``rng``) and ``to_dense``.

References
----------
A. M. Stuart, "Inverse problems: a Bayesian perspective", Acta Numerica 19
(2010), 451-559 (Gaussian priors); F. Lindgren, H. Rue, J. Lindstroem, "An
explicit link between Gaussian fields and Gaussian Markov random fields: the
SPDE approach", JRSS B 73(4) (2011) (the BiLaplacian ``A^{-2}`` covariance).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from randla.backend import check_finite, check_float, check_positive_int, from_host, namespace, to_host
from randla.random import as_generator

__all__ = ["BiLaplacianPrior", "DenseGaussianPrior", "GaussianPrior", "ScaledIdentityPrior"]


def _check_mean(mean: Any) -> Any:
    xp = namespace(mean=mean)
    check_float(mean, "mean")
    if mean.ndim != 1:
        raise ValueError(f"mean must be a vector of shape (N,), got shape {tuple(mean.shape)}")
    check_finite(mean, "mean")
    return xp


def _check_positive(value: Any, name: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be positive and finite (the prior must be SPD), got {value}")
    return value


class GaussianPrior:
    """Base class: a Gaussian prior ``N(mean, Gamma)`` on ``R^N``.

    Subclasses implement ``_precision``, ``_covariance`` and ``_sqrt`` on
    blocks ``(N, k)``; the public methods accept vectors or blocks, check
    shape, backend and device once, and return the same shape.

    Attributes
    ----------
    mean : array, shape (N,)
    size : int
    xp, dtype, device
        Namespace, dtype and device of the vectors the prior acts on.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import ScaledIdentityPrior
    >>> prior = ScaledIdentityPrior(np.zeros(4), variance=2.0)   # a GaussianPrior
    >>> prior.sample(rng=0).shape
    (4,)
    """

    mean: Any

    @property
    def size(self) -> int:
        """Dimension ``N``."""
        return int(self.mean.shape[0])

    @property
    def dtype(self) -> Any:
        return self.mean.dtype

    @property
    def device(self) -> Any:
        from randla.backend import device_of

        return device_of(self.mean)

    def _block(self, X: Any, name: str) -> tuple[Any, bool]:
        from randla.backend import check_on

        check_on(X, self.xp, self.device, name, "the prior")
        if X.ndim not in (1, 2) or X.shape[0] != self.size:
            raise ValueError(f"{name} must have shape ({self.size},) or ({self.size}, k), got {tuple(X.shape)}")
        if X.ndim == 1:
            return self.xp.reshape(X, (-1, 1)), True
        return X, False

    def _apply(self, body: Any, X: Any, name: str) -> Any:
        B, vector = self._block(X, name)
        out = body(B)
        return out[:, 0] if vector else out

    def precision(self, X: Any, /) -> Any:
        """``Gamma^{-1} X`` for ``X`` of shape ``(N,)`` or ``(N, k)``."""
        return self._apply(self._precision, X, "X")

    def covariance(self, X: Any, /) -> Any:
        """``Gamma X``."""
        return self._apply(self._covariance, X, "X")

    def sqrt_covariance(self, X: Any, /) -> Any:
        """``S X`` with ``S S^T = Gamma`` (the factor used by :meth:`sample`)."""
        return self._apply(self._sqrt, X, "X")

    def sample(self, num_samples: int | None = None, /, *, rng: Any = None) -> Any:
        """Draws ``mean + S z`` with ``z ~ N(0, I)`` drawn on the host from ``rng``.

        Parameters
        ----------
        num_samples : int, optional
            ``None``: one draw of shape ``(N,)``; else ``(N, num_samples)``.
        rng : int, numpy.random.Generator or None

        Returns
        -------
        array
        """
        k = 1 if num_samples is None else check_positive_int(num_samples, "num_samples")
        z = as_generator(rng).standard_normal((self.size, k))
        Z = from_host(z, self.xp, dtype=self.dtype, device=self.device)
        U = self.xp.reshape(self.mean, (-1, 1)) + self._sqrt(Z)
        return U[:, 0] if num_samples is None else U

    def to_dense(self) -> Any:
        """The dense covariance ``Gamma`` (``N x N``; small problems and tests only)."""
        eye = self.xp.eye(self.size, dtype=self.dtype, device=self.device)
        C = self._covariance(eye)
        return 0.5 * (C + C.T)

    def __repr__(self) -> str:
        return f"<{type(self).__name__} N={self.size} dtype={self.dtype}>"


class ScaledIdentityPrior(GaussianPrior):
    """``N(mean, variance * I)`` on any array-API backend.

    Parameters
    ----------
    mean : array, shape (N,)
        Prior mean; fixes namespace, dtype and device.
    variance : float, default 1.0
        ``> 0``.

    Raises
    ------
    ValueError
        A non-positive ``variance`` (not SPD) or a non-vector ``mean``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import ScaledIdentityPrior
    >>> prior = ScaledIdentityPrior(np.zeros(3), variance=4.0)
    >>> prior.precision(np.ones(3)).tolist()
    [0.25, 0.25, 0.25]
    """

    def __init__(self, mean: Any, /, *, variance: float = 1.0) -> None:
        self.xp = _check_mean(mean)
        self.mean = mean
        self.variance = _check_positive(variance, "variance")
        self._std = math.sqrt(self.variance)

    def _precision(self, X: Any) -> Any:
        return X / self.variance

    def _covariance(self, X: Any) -> Any:
        return X * self.variance

    def _sqrt(self, X: Any) -> Any:
        return X * self._std


class DenseGaussianPrior(GaussianPrior):
    """``N(mean, covariance)`` with a dense SPD covariance, Cholesky-factored once.

    Parameters
    ----------
    mean : array, shape (N,)
    covariance : array, shape (N, N)
        Symmetric positive definite, same backend as ``mean``.

    Raises
    ------
    ValueError
        Wrong shape, asymmetric or not positive definite ``covariance``.

    Notes
    -----
    Uses ``xp.linalg.cholesky`` and ``xp.linalg.inv`` of the array API
    ``linalg`` extension (the precision matrix is formed once, ``O(N^3)``):
    meant for small ``N``; use :class:`BiLaplacianPrior` for grids.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import DenseGaussianPrior
    >>> prior = DenseGaussianPrior(np.zeros(2), np.array([[2.0, 1.0], [1.0, 2.0]]))
    >>> np.round(prior.precision(prior.covariance(np.array([1.0, -1.0]))), 12).tolist()
    [1.0, -1.0]
    """

    def __init__(self, mean: Any, covariance: Any, /) -> None:
        self.xp = xp = _check_mean(mean)
        namespace(mean=mean, covariance=covariance)
        check_float(covariance, "covariance")
        n = int(mean.shape[0])
        if tuple(covariance.shape) != (n, n):
            raise ValueError(f"covariance must have shape ({n}, {n}) to match mean, got {tuple(covariance.shape)}")
        check_finite(covariance, "covariance")
        scale = float(xp.max(xp.abs(covariance)))
        if float(xp.max(xp.abs(covariance - covariance.T))) > 1e-10 * max(scale, 1e-300):
            raise ValueError("covariance is not symmetric (a prior covariance must be SPD)")
        try:
            L = xp.linalg.cholesky(covariance)
        except Exception as exc:  # noqa: BLE001 - LinAlgError of numpy/torch/...
            raise ValueError("covariance is not positive definite (Cholesky failed)") from exc
        if not bool(xp.all(xp.isfinite(L))):
            raise ValueError("covariance is not positive definite (Cholesky failed)")
        self.mean = mean
        self._cov = covariance
        self._L = L
        Linv = xp.linalg.inv(L)
        self._prec = Linv.T @ Linv

    def _precision(self, X: Any) -> Any:
        return self._prec @ X

    def _covariance(self, X: Any) -> Any:
        return self._cov @ X

    def _sqrt(self, X: Any) -> Any:
        return self._L @ X


def _laplacian_1d(n: int, h: float) -> Any:
    import scipy.sparse as sp

    main = np.full(n, 2.0)
    main[0] = main[-1] = 1.0  # Neumann (zero-flux) ends
    off = -np.ones(n - 1)
    return sp.diags([off, main, off], [-1, 0, 1], format="csr") / (h * h)


def neumann_laplacian(grid_shape: Sequence[int], spacing: float | Sequence[float] = 1.0) -> Any:
    """Sparse ``-Laplacian`` (PSD, Neumann boundary) on a C-ordered grid.

    Parameters
    ----------
    grid_shape : sequence of int
    spacing : float or sequence of float

    Returns
    -------
    scipy.sparse.csr_matrix, shape (prod(grid_shape), prod(grid_shape))

    Examples
    --------
    >>> from randla.apps.dias.priors import neumann_laplacian
    >>> K = neumann_laplacian((3, 2))
    >>> K.shape, float(abs(K.sum(axis=1)).max())
    ((6, 6), 0.0)
    """
    import scipy.sparse as sp

    dims = [check_positive_int(n, "grid_shape") for n in grid_shape]
    h = [float(spacing)] * len(dims) if np.isscalar(spacing) else [float(s) for s in spacing]
    if len(h) != len(dims):
        raise ValueError(f"spacing needs one entry per grid axis ({len(dims)}), got {len(h)}")
    K = None
    for axis, n in enumerate(dims):
        parts = [sp.identity(m, format="csr") for m in dims]
        parts[axis] = _laplacian_1d(n, h[axis]) if n > 1 else sp.csr_matrix((1, 1))
        term = parts[0]
        for p in parts[1:]:
            term = sp.kron(term, p, format="csr")
        K = term if K is None else K + term
    return K.tocsr()


class BiLaplacianPrior(GaussianPrior):
    """``N(mean, variance * A^{-2})``, ``A = delta I - gamma Laplacian`` (Neumann), sparse.

    The elliptic operator ``A`` is sparse and SPD for ``gamma, delta > 0``;
    it is LU-factored once (:func:`scipy.sparse.linalg.factorized`, SuperLU
    or UMFPACK). Precision: two sparse products ``A (A X) / variance``;
    covariance: two solves; square root: ``sqrt(variance) A^{-1}`` (the
    symmetric square root). The correlation length is about
    ``sqrt(8 nu gamma / delta)`` with ``nu = 2 - d/2``.

    Parameters
    ----------
    mean : numpy.ndarray, shape (N,)
        NumPy only (SciPy sparse factorisations).
    grid_shape : sequence of int, optional
        The C-ordered grid the vector lives on (default ``(N,)``).
    gamma, delta : float, default 1.0
        Diffusion and reaction coefficients, both ``> 0`` (else not SPD).
    variance : float, default 1.0
        Overall scale.
    spacing : float or sequence of float, default 1.0

    Raises
    ------
    ValueError
        Non-positive ``gamma``/``delta``/``variance``, ``grid_shape`` not
        matching ``mean``.
    TypeError
        ``mean`` not a NumPy float array.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import BiLaplacianPrior
    >>> prior = BiLaplacianPrior(np.zeros(50), gamma=0.1, delta=1.0)
    >>> x = np.random.default_rng(0).standard_normal(50)
    >>> bool(np.allclose(prior.precision(prior.covariance(x)), x))
    True
    >>> prior.sample(4, rng=0).shape
    (50, 4)
    """

    def __init__(self, mean: Any, /, *, grid_shape: Sequence[int] | None = None, gamma: float = 1.0,
                 delta: float = 1.0, variance: float = 1.0, spacing: float | Sequence[float] = 1.0) -> None:
        from randla.backend import is_numpy
        from scipy.sparse import identity
        from scipy.sparse.linalg import factorized

        xp = _check_mean(mean)
        if not is_numpy(xp):
            raise TypeError("BiLaplacianPrior works on NumPy arrays only (SciPy sparse factorisations); "
                            f"mean is a {xp.__name__} array")
        n = int(mean.shape[0])
        grid = (n,) if grid_shape is None else tuple(check_positive_int(g, "grid_shape") for g in grid_shape)
        if math.prod(grid) != n:
            raise ValueError(f"grid_shape {grid} has {math.prod(grid)} points but mean has {n}")
        self.xp = xp
        self.mean = mean
        self.grid_shape = grid
        self.gamma = _check_positive(gamma, "gamma")
        self.delta = _check_positive(delta, "delta")
        self.variance = _check_positive(variance, "variance")
        dtype = np.dtype(mean.dtype)
        K = neumann_laplacian(grid, spacing)
        self.operator = (self.delta * identity(n, format="csr") + self.gamma * K).astype(dtype).tocsc()
        self._solve = factorized(self.operator)
        self._std = math.sqrt(self.variance)

    def _solve_block(self, X: Any) -> Any:
        X = np.asarray(X)
        out = np.empty_like(X)
        for j in range(X.shape[1]):
            out[:, j] = self._solve(np.ascontiguousarray(X[:, j]))
        return out

    def _precision(self, X: Any) -> Any:
        return (self.operator @ (self.operator @ X)) / self.variance

    def _covariance(self, X: Any) -> Any:
        return self._solve_block(self._solve_block(X)) * self.variance

    def _sqrt(self, X: Any) -> Any:
        return self._solve_block(X) * self._std

    def pointwise_variance(self) -> np.ndarray:
        """Exact diagonal of ``Gamma`` (dense solve; small grids only)."""
        return to_host(self.to_dense()).diagonal().copy()
