"""Linear inverse problems ``d = F u + e``, ``e ~ N(0, noise_variance I)``, and their solvers.

:class:`LinearProblem` bundles the forward operator and the data and gives the
misfit ``f(u) = 1/2 ||F u - d||^2 / noise_variance``, its gradient, its
Hessian ``H = F^T F / noise_variance`` as an operator and the exact gradient
covariance ``C = H Gamma H + g0 g0^T`` of a prior. :func:`solve_linear`
minimises ``f(u) + R(u)`` for any quadratic regulariser ``R``
(:class:`~randla.apps.dias.Tikhonov`,
:class:`~randla.apps.dias.DIASRegularizer`) in closed form (normal
equations, dense, any array-API backend) or by conjugate gradients
(:func:`scipy.sparse.linalg.cg` on a LinearOperator, NumPy only).

References
----------
H. Nguyen, J. Wittmer, T. Bui-Thanh, Computation 10(3):38 (2022), Section 3
(linear DIAS in closed form).
"""

from __future__ import annotations

from typing import Any

import randla
from randla.backend import check_finite, check_float, check_on, is_numpy, namespace

__all__ = ["LinearProblem", "solve_linear"]


class LinearProblem:
    """``d = F u + e`` with white Gaussian noise of variance ``noise_variance``.

    Parameters
    ----------
    forward : operator-like
        ``F`` (``m x N``), anything :func:`randla.as_operator` accepts; needs the adjoint.
    data : array, shape (m,)
    noise_variance : float, default 1.0
    truth : array, shape (N,), optional
        Kept for error reports of test problems.

    Attributes
    ----------
    operator : randla.LinearOperator
    size : int
        ``N``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import LinearProblem
    >>> prob = LinearProblem(np.eye(2), np.array([1.0, 2.0]), noise_variance=0.5)
    >>> prob.misfit(np.zeros(2)), prob.gradient(np.zeros(2)).tolist()
    (5.0, [-2.0, -4.0])
    """

    def __init__(self, forward: Any, data: Any, /, *, noise_variance: float = 1.0, truth: Any = None) -> None:
        op = randla.as_operator(forward)
        if not op.has_adjoint:
            raise TypeError("forward needs an adjoint (rmatmat) for gradients and Hessians")
        namespace(data=data)
        check_float(data, "data")
        m, n = op.shape
        if tuple(data.shape) != (m,):
            raise ValueError(f"data must have shape ({m},) for a {m} x {n} forward operator, got {tuple(data.shape)}")
        check_finite(data, "data")
        check_on(data, op.xp, op.device, "data", "the forward operator")
        noise_variance = float(noise_variance)
        if not noise_variance > 0:
            raise ValueError(f"noise_variance must be > 0, got {noise_variance}")
        self.operator = op
        self.data = data
        self.noise_variance = noise_variance
        self.truth = truth
        self.size = n
        self.xp = op.xp

    def _col(self, u: Any, name: str = "u") -> Any:
        check_on(u, self.xp, self.operator.device, name, "the problem")
        if tuple(u.shape) != (self.size,):
            raise ValueError(f"{name} must have shape ({self.size},), got {tuple(u.shape)}")
        return self.xp.reshape(u, (-1, 1))

    def residual(self, u: Any, /) -> Any:
        """``F u - d``."""
        return self.operator.matmat(self._col(u))[:, 0] - self.data

    def misfit(self, u: Any, /) -> float:
        """``1/2 ||F u - d||^2 / noise_variance``."""
        r = self.residual(u)
        return 0.5 * float(self.xp.sum(r * r)) / self.noise_variance

    def gradient(self, u: Any, /) -> Any:
        """``F^T (F u - d) / noise_variance``; ``u`` of shape ``(N,)`` or a block ``(N, M)``."""
        if getattr(u, "ndim", 1) == 2:
            R = self.operator.matmat(u) - self.xp.reshape(self.data, (-1, 1))
            return self.operator.rmatmat(R) / self.noise_variance
        r = self.xp.reshape(self.residual(u), (-1, 1))
        return self.operator.rmatmat(r)[:, 0] / self.noise_variance

    def hessian_operator(self) -> randla.LinearOperator:
        """``H = F^T F / noise_variance`` (symmetric; one forward and one adjoint per column)."""
        op, s = self.operator, self.noise_variance
        return randla.LinearOperator((self.size, self.size), lambda X: op.rmatmat(op.matmat(X)) / s,
                                     dtype=op.dtype, xp=op.xp, device=op.device, symmetric=True)

    def gradient_covariance(self, prior: Any, /, *, centred: bool = False) -> randla.LinearOperator:
        """Exact ``C = E_prior[g g^T] = H Gamma H + g0 g0^T`` (centred: ``H Gamma H``) as an operator.

        ``g0`` is the gradient at the prior mean. See
        :func:`randla.apps.dias.gradient_covariance`.
        """
        from .subspace import gradient_covariance

        if prior.size != self.size:
            raise ValueError(f"prior has size {prior.size} but the problem has N = {self.size} parameters")
        g0 = None if centred else self.gradient(prior.mean)
        return gradient_covariance(self.hessian_operator(), prior, gradient=g0)

    def relative_error(self, u: Any, /) -> float:
        """``||u - truth|| / ||truth||`` (needs ``truth``)."""
        if self.truth is None:
            raise ValueError("this problem has no truth")
        xp = self.xp
        return float(xp.linalg.vector_norm(u - self.truth) / xp.linalg.vector_norm(self.truth))


def solve_linear(problem: LinearProblem, regularizer: Any, /, *, method: str = "direct", rtol: float = 1e-10,
                 maxiter: int | None = None, x0: Any = None) -> Any:
    """Minimiser of ``f(u) + R(u)`` for a linear problem and a quadratic regulariser.

    Solves the normal equations ``(H + weight R) u = F^T d / sigma^2 + weight R u0``.

    Parameters
    ----------
    problem : LinearProblem
    regularizer : Tikhonov, DIASRegularizer or None
        ``None``: plain least squares (direct only; ``H`` must be invertible).
    method : {"direct", "cg"}, default "direct"
        ``"direct"``: the ``N x N`` system is formed from ``N`` products and
        solved with ``xp.linalg.solve`` (any backend; small ``N``). ``"cg"``:
        :func:`scipy.sparse.linalg.cg` on a LinearOperator (NumPy only).
    rtol, maxiter, x0
        For CG.

    Returns
    -------
    array, shape (N,)

    Warns
    -----
    RuntimeWarning
        CG stopped at ``maxiter`` before reaching ``rtol`` (gives the residual).

    Raises
    ------
    ValueError
        A regulariser whose prior has another size; unknown ``method``.
    TypeError
        CG on a non-NumPy problem.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.dias import LinearProblem, ScaledIdentityPrior, Tikhonov, solve_linear
    >>> prob = LinearProblem(np.eye(2), np.array([2.0, 4.0]))
    >>> reg = Tikhonov(ScaledIdentityPrior(np.zeros(2)), weight=1.0)
    >>> solve_linear(prob, reg).tolist(), solve_linear(prob, reg, method="cg").round(8).tolist()
    ([1.0, 2.0], [1.0, 2.0])
    """
    if not isinstance(problem, LinearProblem):
        raise TypeError(f"problem must be a LinearProblem, got {type(problem).__name__}")
    if method not in ("direct", "cg"):
        raise ValueError(f"method must be 'direct' or 'cg', got {method!r}")
    n, xp = problem.size, problem.xp
    if regularizer is not None and regularizer.prior.size != n:
        raise ValueError(f"the regulariser's prior has size {regularizer.prior.size} but the problem has N = {n}")
    op = problem.operator
    rhs = op.rmatmat(xp.reshape(problem.data, (-1, 1)))[:, 0] / problem.noise_variance
    if regularizer is not None:
        rhs = rhs - regularizer.gradient(xp.zeros(n, dtype=op.dtype, device=op.device))
    H = problem.hessian_operator()

    def system(X: Any) -> Any:
        Y = H.matmat(X)
        return Y if regularizer is None else Y + regularizer.hessian(X)

    if method == "direct":
        A = system(xp.eye(n, dtype=op.dtype, device=op.device))
        A = 0.5 * (A + A.T)
        return xp.linalg.solve(A, xp.reshape(rhs, (-1, 1)))[:, 0]
    if not is_numpy(xp):
        raise TypeError("method='cg' uses scipy.sparse.linalg.cg and needs NumPy arrays; use method='direct'")
    import numpy as np
    from scipy.sparse.linalg import LinearOperator as SciPyOperator, cg

    A = SciPyOperator((n, n), matvec=lambda v: system(np.reshape(v, (-1, 1)))[:, 0], dtype=np.dtype(op.dtype))
    sol, info = cg(A, np.asarray(rhs), x0=x0, rtol=rtol, atol=0.0, maxiter=maxiter)
    if info > 0:
        res = np.linalg.norm(A.matvec(sol) - rhs) / np.linalg.norm(rhs)
        import warnings

        warnings.warn(f"CG stopped after {info} iterations at relative residual {res:.2e} > rtol = {rtol:g}; "
                      "raise maxiter or rtol", RuntimeWarning, stacklevel=2)
    return sol
