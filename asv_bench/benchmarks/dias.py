"""DIAS (randla.apps.dias): active subspaces and regularised solves.

Full size: 1-D deconvolution n = 400 (5% noise), identity and BiLaplacian
priors; ``time_`` of the matrix-free active subspace (randomized eigensolver
on ``C v = H Gamma H v + g0 g0^T v``, k = 20) against the dense
eigendecomposition of the formed ``C``, of the sampled subspace from M = 200
gradients (rSVD + 100 bootstrap replicates), and of one DIAS-F / DIAS-A
Hessian application; ``track_`` relative errors of DIAS vs Tikhonov at weight
1e6 (``benchmarks/dias_tables.py`` prints the full tables). Under
``RANDLA_ASV_QUICK=1`` sizes are tiny: only "does it run".
"""

import numpy as np

from ._common import one_thread, size

N = size(400, 40)
M = size(200, 20)
RANK = size(10, 4)


def _setup():
    from randla.apps.dias import BiLaplacianPrior, ScaledIdentityPrior, deconvolution_problem

    prob = deconvolution_problem(N, rng=0)
    priors = {"identity": ScaledIdentityPrior(np.zeros(N)),
              "bilaplacian": BiLaplacianPrior(np.zeros(N), gamma=1e-3, delta=1.0, spacing=1.0 / N)}
    return prob, priors


class ActiveSubspace:
    params = [["identity", "bilaplacian"]]
    param_names = ["prior"]

    def setup(self, prior):
        one_thread()
        self.prob, priors = _setup()
        self.prior = priors[prior]
        self.C = self.prob.gradient_covariance(self.prior)
        self.Cd = self.C.matmat(np.eye(N))
        self.G = self.prob.gradient(self.prior.sample(M, rng=0))

    def time_matrix_free(self, prior):
        from randla.apps.dias import matrix_free_subspace

        matrix_free_subspace(self.C, rank=RANK, num_eigenvalues=20, rng=0)

    def time_dense_eigh(self, prior):
        np.linalg.eigh(self.Cd)

    def time_sampled_bootstrap(self, prior):
        from randla.apps.dias import sampled_subspace

        sampled_subspace(self.G, rank=RANK, bootstrap=100, rng=0)


class Regularizers:
    params = [["identity", "bilaplacian"], ["F", "A"]]
    param_names = ["prior", "form"]

    def setup(self, prior, form):
        from randla.apps.dias import DIASRegularizer, matrix_free_subspace

        one_thread()
        self.prob, priors = _setup()
        self.prior = priors[prior]
        sub = matrix_free_subspace(self.prob.gradient_covariance(self.prior), rank=RANK, rng=0)
        self.reg = DIASRegularizer(self.prior, sub, form=form, weight=1e6)
        self.X = np.random.default_rng(0).standard_normal((N, 8))

    def time_hessian_block(self, prior, form):
        self.reg.hessian(self.X)

    def track_relative_error_weight_1e6(self, prior, form):
        from randla.apps.dias import solve_linear

        return self.prob.relative_error(solve_linear(self.prob, self.reg))

    def track_tikhonov_error_weight_1e6(self, prior, form):
        from randla.apps.dias import Tikhonov, solve_linear

        return self.prob.relative_error(solve_linear(self.prob, Tikhonov(self.prior, weight=1e6)))
