"""Low rank: randla.rsvd side by side with scikit-learn, torch and fbpca, plus
the other low-rank routines against their natural baselines.

Full size (issue 2): ``A = U diag(sigma) V^T``, 4000 x 3000, ``sigma_i = 1/i``
and ``i^(-1/2)``, rank 50, oversample 10, 2 power iterations, one BLAS thread.
Every rSVD does the same work (60-column test matrix, 2 power iterations):
scikit-learn ``randomized_svd(n_oversamples=10, n_iter=2)`` (its default
``n_iter="auto"`` would do 7), ``torch.svd_lowrank(q=60, niter=2)``,
``fbpca.pca(raw=True, n_iter=2, l=60)`` (its default ``l`` is ``k + 2``).

U and V here are products of two Householder reflectors, so A is dense with an
exactly known SVD and is built in O(mn) (``benchmarks/rsvd_vs_peers.py`` uses
Haar U, V). Gaussian test matrices are rotation invariant, so the error
distribution does not depend on U and V, and dense GEMM time does not either.
``track_*_error`` report ``||A - approx||_2 / sigma_{k+1}`` (1 is optimal).
Under ``RANDLA_ASV_QUICK=1`` sizes are tiny: only "does it run".
"""

import numpy as np

import randla

from ._common import QUICK, one_thread, size

M, N, RANK = size((4000, 3000, 50), (200, 150, 10))
OVERSAMPLE, POWER_ITERS = 10, 2
SPECTRA = {"1/i": lambda i: 1.0 / i, "i^-1/2": lambda i: i ** -0.5}


def _reflector(rows, rng):
    v = rng.standard_normal(rows)
    return v / np.linalg.norm(v)


def known_matrix(m, n, sigma, seed=0):
    """``A = H_u [diag(sigma); 0] H_v`` with ``H = (I - 2 a a^T)(I - 2 b b^T)``."""
    rng = np.random.default_rng(seed)
    A = np.zeros((m, n))
    r = min(m, n)
    A[np.arange(r), np.arange(r)] = sigma
    for u in (_reflector(m, rng), _reflector(m, rng)):
        A -= 2.0 * np.outer(u, u @ A)
    for v in (_reflector(n, rng), _reflector(n, rng)):
        A -= 2.0 * np.outer(A @ v, v)
    return np.ascontiguousarray(A)


def spectral_norm(A, U, S, Vh):
    """``||A - U diag(S) Vh||_2`` by ARPACK on the residual operator."""
    from scipy.sparse.linalg import LinearOperator, svds

    A = np.asarray(A, dtype=np.float64)
    U, S, Vh = (np.asarray(x, dtype=np.float64) for x in (U, S, Vh))
    Sc = S[:, None]
    mv = lambda x: A @ x - U @ (Sc * (Vh @ x)) if x.ndim == 2 else A @ x - U @ (S * (Vh @ x))  # noqa: E731
    rmv = lambda y: A.T @ y - Vh.T @ (Sc * (U.T @ y)) if y.ndim == 2 else A.T @ y - Vh.T @ (S * (U.T @ y))  # noqa: E731
    op = LinearOperator(A.shape, matvec=mv, rmatvec=rmv, matmat=mv, rmatmat=rmv, dtype=np.float64)
    return float(svds(op, k=1, tol=1e-9, maxiter=20000, return_singular_vectors=False,
                      random_state=0)[0])


def _rsvd_method(name):
    if name == "randla":
        return lambda A, k, seed: randla.rsvd(A, k, oversample=OVERSAMPLE,
                                              power_iters=POWER_ITERS, rng=seed)
    if name == "sklearn":
        try:
            from sklearn.utils.extmath import randomized_svd
        except ImportError:
            raise NotImplementedError("scikit-learn is not installed") from None
        return lambda A, k, seed: randomized_svd(A, k, n_oversamples=OVERSAMPLE,
                                                 n_iter=POWER_ITERS, random_state=seed)
    if name == "torch":
        try:
            import torch
        except ImportError:
            raise NotImplementedError("torch is not installed") from None

        def run(A, k, seed):
            U, S, V = torch.svd_lowrank(torch.from_numpy(A), q=k + OVERSAMPLE, niter=POWER_ITERS)
            return U[:, :k].numpy(), S[:k].numpy(), V[:, :k].T.numpy()

        return run
    if name == "fbpca":
        try:
            import fbpca
        except ImportError:
            raise NotImplementedError("fbpca is not installed") from None
        return lambda A, k, seed: fbpca.pca(A, k, raw=True, n_iter=POWER_ITERS, l=k + OVERSAMPLE)
    raise ValueError(name)


class RSVDPeers:
    """rSVD, same work for every method; one BLAS thread."""

    params = (list(SPECTRA), ["randla", "sklearn", "torch", "fbpca"], ["float64", "float32"])
    param_names = ["spectrum", "method", "dtype"]
    timeout = 600
    number = 1
    repeat = (3, 15, 60.0)
    warmup_time = 0.0

    def setup_cache(self):
        r = min(M, N)
        i = np.arange(1, r + 1, dtype=np.float64)
        return {name: known_matrix(M, N, f(i), seed=0) for name, f in SPECTRA.items()}

    def setup(self, cache, spectrum, method, dtype):
        one_thread(torch=True)
        self.run = _rsvd_method(method)
        self.A = cache[spectrum].astype(dtype)
        self.sigma = SPECTRA[spectrum](np.arange(1, min(M, N) + 1, dtype=np.float64))
        self.run(self.A, RANK, 0)  # warm-up

    def time_rsvd(self, cache, spectrum, method, dtype):
        self.run(self.A, RANK, 1)

    def peakmem_rsvd(self, cache, spectrum, method, dtype):
        self.run(self.A, RANK, 1)

    def track_rsvd_error(self, cache, spectrum, method, dtype):
        return spectral_norm(self.A, *self.run(self.A, RANK, 2)) / self.sigma[RANK]

    track_rsvd_error.unit = "sigma_{k+1}"


class RangeFinders:
    """Fixed-rank range finder by normaliser, and the adaptive one (norm 2 / fro)."""

    params = (["lu", "qr", "none"],)
    param_names = ["normalizer"]
    timeout = 300
    number = 1
    repeat = (3, 10, 30.0)

    def setup(self, normalizer):
        one_thread(torch=True)
        i = np.arange(1, min(M, N) + 1, dtype=np.float64)
        self.A = known_matrix(M, N, 1.0 / i, seed=1)
        self.sigma = 1.0 / i

    def time_range_finder(self, normalizer):
        randla.range_finder(self.A, RANK, normalizer=normalizer, rng=0)

    def track_range_finder_error(self, normalizer):
        Q = randla.range_finder(self.A, RANK, normalizer=normalizer, rng=0)
        B = Q.T @ self.A
        return spectral_norm(self.A, Q, np.ones(Q.shape[1]), B) / self.sigma[RANK + OVERSAMPLE]

    track_range_finder_error.unit = "sigma_{l+1}"


class AdaptiveRangeFinder:
    params = ([2, "fro"],)
    param_names = ["norm"]
    timeout = 300
    number = 1
    repeat = (2, 5, 30.0)

    def setup(self, norm):
        one_thread(torch=True)
        i = np.arange(1, min(M, N) + 1, dtype=np.float64)
        self.A = known_matrix(M, N, 1.0 / i ** 2, seed=2)
        self.tol = 1e-3 if norm == 2 else 1e-2

    def time_adaptive(self, norm):
        randla.adaptive_range_finder(self.A, self.tol, block_size=10, norm=norm, rng=0)

    def track_adaptive_rank(self, norm):
        return randla.adaptive_range_finder(self.A, self.tol, block_size=10, norm=norm,
                                            rng=0).rank

    track_adaptive_rank.unit = "columns"


class Nystrom:
    """PSD Nystrom (one pass) vs rsvd (2 power iterations) on A = V diag(1/i) V^T."""

    timeout = 300
    number = 1
    repeat = (3, 10, 30.0)

    def setup(self):
        one_thread(torch=True)
        n = N
        lam = 1.0 / np.arange(1, n + 1, dtype=np.float64)
        V = known_matrix(n, n, np.ones(n), seed=3)  # an orthogonal matrix
        self.A = np.ascontiguousarray((V * lam) @ V.T)
        self.lam = lam

    def time_nystrom(self):
        randla.nystrom(self.A, RANK, rng=0)

    def time_rsvd_same_rank(self):
        randla.rsvd(self.A, RANK, rng=0)

    def track_nystrom_error(self):
        U, ev = randla.nystrom(self.A, RANK, rng=0)
        return spectral_norm(self.A, U, ev, U.T) / self.lam[RANK]

    track_nystrom_error.unit = "lambda_{k+1}"


class RQR:
    """Randomized column-pivoted QR vs LAPACK's deterministic CPQR (geqp3)."""

    timeout = 300
    number = 1
    repeat = (2, 5, 60.0)

    def setup(self):
        one_thread(torch=True)
        i = np.arange(1, min(M, N) + 1, dtype=np.float64)
        self.A = known_matrix(M, N, 1.0 / i ** 2, seed=4)
        self.sigma = 1.0 / i ** 2

    def time_rqr(self):
        randla.rqr(self.A, RANK, rng=0)

    def time_scipy_cpqr(self):
        import scipy.linalg

        scipy.linalg.qr(self.A, mode="r", pivoting=True, check_finite=False)

    def track_rqr_error(self):
        Q, R, perm = randla.rqr(self.A, RANK, rng=0)
        B = Q.T @ self.A
        return spectral_norm(self.A, Q, np.ones(RANK), B) / self.sigma[RANK]

    track_rqr_error.unit = "sigma_{k+1}"


class SinglePass:
    params = (["tropp", "generalized_nystrom"],)
    param_names = ["method"]
    timeout = 300
    number = 1
    repeat = (3, 10, 30.0)

    def setup(self, method):
        one_thread(torch=True)
        i = np.arange(1, min(M, N) + 1, dtype=np.float64)
        self.A = known_matrix(M, N, 1.0 / i ** 2, seed=5)
        self.sigma = 1.0 / i ** 2

    def time_single_pass(self, method):
        randla.single_pass_svd(self.A, RANK, method=method, rng=0)

    def track_single_pass_error(self, method):
        U, S, Vh = randla.single_pass_svd(self.A, RANK, method=method, rng=0)
        return spectral_norm(self.A, U, S, Vh) / self.sigma[RANK]

    track_single_pass_error.unit = "sigma_{k+1}"


if QUICK:  # keep CI's "does it run" pass short
    RSVDPeers.repeat = 1
    RangeFinders.repeat = AdaptiveRangeFinder.repeat = Nystrom.repeat = 1
    RQR.repeat = SinglePass.repeat = 1
