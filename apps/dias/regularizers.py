"""Quadratic regularisers: Tikhonov (the full prior) and DIAS-F / DIAS-A.

All are ``R(u) = weight/2 (u - u0)^T R (u - u0)`` with a symmetric PSD ``R``
applied matrix-free; ``u0`` is the prior mean.

* :class:`Tikhonov` -- ``R = Gamma^{-1}``.
* :class:`DIASRegularizer` with ``form="F"`` -- the exact DIAS form
  ``1/2 ||P2 (u - u0)||^2`` in the ``(P2 Gamma P2)^+`` metric, computed as the
  prior precision minus a rank-r correction,
  ``Gamma^{-1} - Gamma^{-1} W1 (W1^T Gamma^{-1} W1)^{-1} W1^T Gamma^{-1}``
  (``= W2 (W2^T Gamma W2)^{-1} W2^T``), so no ``W2`` is ever formed.
* ``form="A"`` -- the paper's large-scale approximation ``P2 Gamma^{-1} P2``
  with ``P2 = I - W1 W1^T`` (exact when ``Gamma`` is a scaled identity).

Value, gradient and Hessian action run on any array-API backend where the
prior does (:class:`~randla.apps.dias.BiLaplacianPrior` is NumPy only).

References
----------
H. Nguyen, J. Wittmer, T. Bui-Thanh, "DIAS: a data-informed active subspace
regularization framework for inverse problems", Computation 10(3):38 (2022);
J. Wittmer et al. (2023), Section 4.3, eqs. (8)-(12).
"""

from __future__ import annotations

from typing import Any

from randla import LinearOperator
from randla.backend import check_on, check_positive_int

from .subspace import ActiveSubspace

__all__ = ["DIASRegularizer", "Tikhonov"]

FORMS = ("A", "F")


def _check_weight(weight: Any) -> float:
    if isinstance(weight, bool) or not isinstance(weight, (int, float)) and not hasattr(weight, "__float__"):
        raise TypeError(f"weight must be a real number, got {type(weight).__name__}")
    weight = float(weight)
    if not weight >= 0 or weight == float("inf"):
        raise ValueError(f"weight must be finite and >= 0, got {weight}")
    return weight


def _check_prior(prior: Any) -> None:
    for attr in ("precision", "covariance", "mean", "size"):
        if not hasattr(prior, attr):
            raise TypeError(f"prior must be a GaussianPrior (precision, covariance, mean), got {type(prior).__name__}")


class _Quadratic:
    """``weight/2 (u - u0)^T R (u - u0)``; subclasses define ``_apply`` (R on blocks)."""

    prior: Any
    weight: float

    def _block(self, X: Any, name: str) -> tuple[Any, bool]:
        xp, n = self.prior.xp, self.prior.size
        check_on(X, xp, self.prior.device, name, "the regulariser")
        if X.ndim not in (1, 2) or X.shape[0] != n:
            raise ValueError(f"{name} must have shape ({n},) or ({n}, k), got {tuple(X.shape)}")
        return (xp.reshape(X, (-1, 1)), True) if X.ndim == 1 else (X, False)

    def _vector(self, u: Any) -> Any:
        B, vec = self._block(u, "u")
        if not vec:
            raise ValueError(f"u must be a vector of shape ({self.prior.size},), got {tuple(u.shape)}")
        return B - self.prior.xp.reshape(self.prior.mean, (-1, 1))

    def value(self, u: Any, /) -> float:
        """``R(u)``."""
        e = self._vector(u)
        return 0.5 * self.weight * float(self.prior.xp.sum(e * self._apply(e)))

    def gradient(self, u: Any, /) -> Any:
        """``weight R (u - u0)``, shape ``(N,)``."""
        return self.weight * self._apply(self._vector(u))[:, 0]

    def hessian(self, X: Any, /) -> Any:
        """``weight R X`` for ``X`` of shape ``(N,)`` or ``(N, k)``."""
        B, vec = self._block(X, "X")
        out = self.weight * self._apply(B)
        return out[:, 0] if vec else out

    def hessian_operator(self) -> LinearOperator:
        """``weight R`` as a symmetric :class:`randla.LinearOperator`."""
        n = self.prior.size
        return LinearOperator((n, n), lambda X: self.weight * self._apply(X), dtype=self.prior.dtype,
                              xp=self.prior.xp, device=self.prior.device, symmetric=True)


class Tikhonov(_Quadratic):
    """``weight/2 ||u - u0||^2_{Gamma^{-1}}``: the full Gaussian prior.

    Parameters
    ----------
    prior : GaussianPrior
    weight : float, default 1.0

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import ScaledIdentityPrior, Tikhonov
    >>> reg = Tikhonov(ScaledIdentityPrior(np.zeros(3), variance=0.5), weight=2.0)
    >>> reg.value(np.ones(3)), reg.gradient(np.ones(3)).tolist()
    (6.0, [4.0, 4.0, 4.0])
    """

    def __init__(self, prior: Any, /, *, weight: float = 1.0) -> None:
        _check_prior(prior)
        self.prior = prior
        self.weight = _check_weight(weight)

    def _apply(self, X: Any) -> Any:
        return self.prior._precision(X)

    def __repr__(self) -> str:
        return f"Tikhonov(weight={self.weight:g}, N={self.prior.size})"


class DIASRegularizer(_Quadratic):
    """DIAS regulariser: the prior acting only on the inactive subspace.

    Parameters
    ----------
    prior : GaussianPrior
        ``N(u0, Gamma)`` of size ``N``.
    basis : array of shape (N, r) or ActiveSubspace
        ``W1`` with orthonormal columns, ``1 <= r < N``.
    form : {"F", "A"}, default "F"
        ``"F"``: exact, ``(P2 Gamma P2)^+ = Gamma^{-1} - Gamma^{-1} W1
        (W1^T Gamma^{-1} W1)^{-1} W1^T Gamma^{-1}`` (one ``N x r`` block
        ``Gamma^{-1} W1`` stored, an ``r x r`` solve per application).
        ``"A"``: ``P2 Gamma^{-1} P2`` (two projections around one precision).
    weight : float, default 1.0

    Raises
    ------
    ValueError
        ``r >= N``, a prior of another size, ``W1`` not orthonormal, unknown form.
    TypeError
        A basis of another backend than the prior.

    Notes
    -----
    ``x^T (P2 Gamma P2)^+ x = ||W2^T x||^2_{(W2^T Gamma W2)^{-1}}`` (Schott 2016,
    Thm. 5.8), and by the Schur complement of ``Gamma^{-1}`` in the basis
    ``[W1 W2]``, ``W2 (W2^T Gamma W2)^{-1} W2^T`` is the rank-r corrected
    precision above. ``form="A"`` drops the coupling
    ``W2^T Gamma W1 (W1^T Gamma W1)^{-1} W1^T Gamma W2``, zero only for a
    scaled identity ``Gamma``.

    References
    ----------
    J. Wittmer, J. Badger, H. Sundar, T. Bui-Thanh (2023), Section 4.3, eqs. (9)-(10).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import DIASRegularizer, ScaledIdentityPrior
    >>> prior = ScaledIdentityPrior(np.zeros(3))
    >>> reg = DIASRegularizer(prior, np.eye(3)[:, :1], weight=1.0)
    >>> reg.hessian(np.eye(3)).tolist()  # the prior on span(e2, e3) only
    [[0.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]]
    """

    def __init__(self, prior: Any, basis: Any, /, *, form: str = "F", weight: float = 1.0) -> None:
        _check_prior(prior)
        if isinstance(basis, ActiveSubspace):
            basis = basis.basis
        if form not in FORMS:
            raise ValueError(f"form must be 'F' (exact) or 'A' (approximate), got {form!r}")
        xp, n = prior.xp, prior.size
        check_on(basis, xp, prior.device, "basis", "the prior")
        if basis.ndim != 2:
            raise ValueError(f"basis must be a 2-D array (N, r), got shape {tuple(basis.shape)}")
        if basis.shape[0] != n:
            raise ValueError(f"prior has size {n} but basis has {basis.shape[0]} rows: the prior must be of size N")
        r = check_positive_int(int(basis.shape[1]), "basis columns")
        if r >= n:
            raise ValueError(f"the subspace dimension r = {r} must be < N = {n} (r = N regularises nothing)")
        gram = basis.T @ basis
        tol = 1e-3 if basis.dtype == xp.float32 else 1e-8
        if float(xp.max(xp.abs(gram - xp.eye(r, dtype=basis.dtype, device=prior.device)))) > tol:
            raise ValueError("basis must have orthonormal columns (W1^T W1 = I)")
        self.prior = prior
        self.basis = basis
        self.rank = r
        self.form = form
        self.weight = _check_weight(weight)
        if form == "F":
            self._PW = prior._precision(basis)  # Gamma^{-1} W1, N x r
            K = basis.T @ self._PW
            self._K = 0.5 * (K + K.T)

    def _project(self, X: Any) -> Any:
        return X - self.basis @ (self.basis.T @ X)

    def _apply(self, X: Any) -> Any:
        if self.form == "A":
            return self._project(self.prior._precision(self._project(X)))
        xp = self.prior.xp
        return self.prior._precision(X) - self._PW @ xp.linalg.solve(self._K, self._PW.T @ X)

    def __repr__(self) -> str:
        return f"DIASRegularizer(form={self.form!r}, r={self.rank}, weight={self.weight:g}, N={self.prior.size})"
