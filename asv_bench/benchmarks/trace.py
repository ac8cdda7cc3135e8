"""Trace estimators: accuracy on the XTrace test suite and speed against imate.

* ``TraceSuite.track_mean_relative_error``: mean relative error of every
  estimator (hutchinson, hutchpp, na_hutchpp, xtrace, xnystrace, auto) on the
  XTrace paper's spectra (flat, poly, slowexp, fastexp, step; n = 1000,
  ``A = Q diag(lambda) Q^T``) for m = 20..300 products, over a fixed number
  of seeded repetitions. ``benchmarks/trace_suite.py`` prints the same table
  with the m = 100 targets.
* ``TraceCoverage.track_coverage``: empirical coverage of the 95% interval
  (``result.interval``) of every estimator at m = 50 on the same matrices,
  over a fixed number of seeds (``benchmarks/trace_calibration.py`` prints
  the full table with binomial standard errors and the adaptive stop).
* ``HutchinsonVsImate``: 100-probe Hutchinson on a 5000 x 5000 SPD matrix,
  randla and imate side by side, one BLAS thread; ``TraceInverseVsImate``:
  the same for ``tr(A^{-1})`` (smaller n: imate refactorises A per probe).
  See ``benchmarks/hutchinson_vs_imate.py`` for the fairness argument and
  the ratio printout.

Under ``RANDLA_ASV_QUICK=1`` every size is tiny (n = 100, 2 repetitions).
"""

import numpy as np
import scipy.linalg as sla

import randla
from randla.demo import matrix_with_spectrum, mean_relative_error, spectrum

from ._common import one_thread, size

try:
    import imate
except ImportError:  # optional peer: its benchmarks are skipped
    imate = None

SPECTRA = ("flat", "poly", "slowexp", "fastexp", "step")
METHODS = ("hutchinson", "hutchpp", "na_hutchpp", "xtrace", "xnystrace", "auto")


class TraceSuite:
    """Mean relative error |estimate - tr(A)| / tr(A) (XTrace paper, Section 6)."""

    params = (SPECTRA, METHODS, list(size((20, 50, 100, 200, 300), (20,))))
    param_names = ["spectrum", "method", "num_matvecs"]
    unit = "relative error"
    timeout = 600

    def setup_cache(self):
        n = size(1000, 100)
        mats = {}
        for j, name in enumerate(SPECTRA):
            lam = spectrum(name, n)
            mats[name] = (matrix_with_spectrum(lam, rng=j), float(lam.sum()))
        return mats

    def setup(self, mats, spectrum, method, num_matvecs):
        one_thread()

    def track_mean_relative_error(self, mats, spectrum, method, num_matvecs):
        A, exact = mats[spectrum]
        return mean_relative_error(A, exact, method, num_matvecs, reps=size(20, 2),
                                   seed=1000)

    track_mean_relative_error.unit = "relative error"


class TraceCoverage:
    """P(tr(A) in result.interval) at confidence 0.95, m = 50 (issue 12)."""

    params = (SPECTRA, METHODS)
    param_names = ["spectrum", "method"]
    unit = "coverage"
    timeout = 600

    def setup_cache(self):
        n = size(1000, 100)
        mats = {}
        for j, name in enumerate(SPECTRA):
            lam = spectrum(name, n)
            mats[name] = (matrix_with_spectrum(lam, rng=j), float(lam.sum()))
        return mats

    def setup(self, mats, spectrum, method):
        one_thread()

    def track_coverage(self, mats, spectrum, method):
        A, exact = mats[spectrum]
        seeds = size(100, 4)
        hits = 0
        for r in range(seeds):
            lo, hi = randla.trace(A, size(50, 20), method=method, rng=1000 + r).interval
            hits += lo <= exact <= hi
        return hits / seeds

    track_coverage.unit = "coverage"


def _spd(n):
    B = np.random.default_rng(0).uniform(-1.0, 1.0, (n, n))
    A = 0.5 * (B + B.T)
    A[np.diag_indices(n)] += n
    return A


class HutchinsonVsImate:
    """tr(A), 100 probes, n = 5000 SPD, one thread: randla vs imate (same probes)."""

    params = (["randla", "randla-rademacher", "imate"],)
    param_names = ["library"]
    timeout = 300
    number = 1
    repeat = (3, 7, 120.0)

    def setup(self, library):
        if library == "imate" and imate is None:
            raise NotImplementedError("imate is not installed")
        one_thread()
        self.n = size(5000, 100)
        self.num_probes = size(100, 10)
        self.A = _spd(self.n)

    def time_hutchinson(self, library):
        if library == "imate":
            imate.traceinv(self.A, p=-1, method="hutchinson", assume_matrix="sym_pos",
                           min_num_samples=self.num_probes,
                           max_num_samples=self.num_probes, orthogonalize=True,
                           num_threads=1, seed=0)
        else:
            probe = "rademacher" if library == "randla-rademacher" else "orthonormal"
            randla.hutchinson(self.A, num_matvecs=self.num_probes, probe=probe, rng=0)


class TraceInverseVsImate:
    """tr(A^{-1}), 100 probes, SPD, one thread: imate solves per probe, randla
    applies one Cholesky factorisation as a matrix-free operator."""

    params = (["randla", "imate"],)
    param_names = ["library"]
    timeout = 600
    number = 1
    repeat = (1, 3, 300.0)

    def setup(self, library):
        if library == "imate" and imate is None:
            raise NotImplementedError("imate is not installed")
        one_thread()
        self.n = size(1000, 100)
        self.num_probes = size(100, 10)
        self.A = _spd(self.n)

    def time_traceinv(self, library):
        if library == "imate":
            imate.traceinv(self.A, p=1, method="hutchinson", assume_matrix="sym_pos",
                           min_num_samples=self.num_probes,
                           max_num_samples=self.num_probes, orthogonalize=True,
                           num_threads=1, seed=0)
        else:
            factor = sla.cho_factor(self.A)
            op = randla.as_operator(lambda X: sla.cho_solve(factor, X), shape=self.A.shape,
                                    symmetric=True)
            randla.hutchinson(op, num_matvecs=self.num_probes, probe="orthonormal", rng=0)


class TraceEstimatorTime:
    """Wall time of each estimator at m = 100 on the slowexp matrix (n = 1000)."""

    params = (METHODS,)
    param_names = ["method"]

    def setup(self, method):
        one_thread()
        self.A = matrix_with_spectrum(spectrum("slowexp", size(1000, 100)), rng=0)

    def time_trace(self, method):
        randla.trace(self.A, size(100, 20), method=method, rng=0)
