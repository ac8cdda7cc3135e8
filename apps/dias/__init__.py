"""randla.apps.dias: data-informed active subspace (DIAS) regularisation.

DIAS regularises only the directions the data do not inform: the prior acts
on the complement of the active subspace ``W1`` of
``C = E_prior[grad f grad f^T]``, so the solution stays accurate when the
regularisation weight is far too large, where Tikhonov collapses to the prior
mean. This package has

* Gaussian priors (:class:`ScaledIdentityPrior`, :class:`DenseGaussianPrior`,
  the sparse :class:`BiLaplacianPrior`);
* active subspaces from gradient samples (:func:`sampled_subspace`, through
  :func:`randla.rsvd`, with bootstrap intervals) or matrix-free
  (:func:`matrix_free_subspace` on :func:`gradient_covariance`), and
  :func:`choose_rank`;
* the regularisers :class:`Tikhonov` and :class:`DIASRegularizer` (DIAS-F,
  exact, and DIAS-A, ``P2 Gamma^{-1} P2``);
* solvers: :func:`solve_linear` (closed form or CG) and the nonlinear
  two-step algorithm :func:`two_step` (gradient samples on Dask);
* test problems: :func:`deconvolution_problem`, :func:`tomography_problem`
  (matrix-free :func:`radon_operator`), and :class:`FWIProblem` (small-grid
  FWI through :mod:`randla.apps.wave` / :mod:`randla.apps.fwi`).

References
----------
H. Nguyen, J. Wittmer, T. Bui-Thanh, "DIAS: a data-informed active subspace
regularization framework for inverse problems", Computation 10(3):38 (2022).
J. Wittmer, J. Badger, H. Sundar, T. Bui-Thanh, "An autoencoder compression
approach for accelerating large-scale inverse problems" (2023), Section 4.3.
"""

from __future__ import annotations

from .linear import LinearProblem, solve_linear
from .nonlinear import TwoStepResult, gradient_samples, minimize, two_step
from .priors import BiLaplacianPrior, DenseGaussianPrior, GaussianPrior, ScaledIdentityPrior
from .problems import deconvolution_problem, shepp_logan, tomography_problem
from .radon import RadonTransform, radon_operator
from .regularizers import DIASRegularizer, Tikhonov
from .seismic import FWIProblem
from .subspace import ActiveSubspace, choose_rank, gradient_covariance, matrix_free_subspace, sampled_subspace

__all__ = [
    "ActiveSubspace",
    "BiLaplacianPrior",
    "DIASRegularizer",
    "DenseGaussianPrior",
    "FWIProblem",
    "GaussianPrior",
    "LinearProblem",
    "RadonTransform",
    "ScaledIdentityPrior",
    "Tikhonov",
    "TwoStepResult",
    "choose_rank",
    "deconvolution_problem",
    "gradient_covariance",
    "gradient_samples",
    "matrix_free_subspace",
    "minimize",
    "radon_operator",
    "sampled_subspace",
    "shepp_logan",
    "solve_linear",
    "tomography_problem",
    "two_step",
]
