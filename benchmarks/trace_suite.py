"""The XTrace paper's test suite: mean relative error of every trace estimator.

Prints, for n = 1000 and A = Q diag(lambda) Q^T (Haar Q) with the spectra of
:func:`randla.demo.spectrum` (flat linspace(1, 3), poly i^-2, slowexp 0.9^i,
fastexp 0.7^i, step: 1 for the first n/20 = 50 eigenvalues then 1e-3), the mean
relative error |estimate - tr(A)| / tr(A) over seeded repetitions for
m = 20..300 matrix-vector products, then checks the targets at m = 100 with
more repetitions (500 seeds per compared cell, so that the Monte Carlo
error of each ratio is a few percent):

* xtrace <= 1/3 of hutchpp's error on slowexp and <= 1/50 on fastexp;
* method="auto" within 1.25x of hutchinson on flat;
* method="auto" within 2x of xtrace on the decaying spectra (poly, slowexp,
  fastexp, step).

Usage (from the repository root)::

    python benchmarks/trace_suite.py            # full: n = 1000
    python benchmarks/trace_suite.py --quick    # n = 100, 2 repetitions (smoke test)

One BLAS thread (threadpoolctl). Exit status 1 if a target is missed.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from randla import trace
from randla.demo import SPECTRA, matrix_with_spectrum, mean_relative_error, spectrum

METHODS = ("hutchinson", "hutchpp", "na_hutchpp", "xtrace", "xnystrace", "auto")
DECAYING = ("poly", "slowexp", "fastexp", "step")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="n = 100, 2 repetitions")
    parser.add_argument("--reps", type=int, default=30, help="repetitions per table cell")
    parser.add_argument("--target-reps", type=int, default=500,
                        help="repetitions for the m = 100 target checks")
    args = parser.parse_args(argv)
    n = 100 if args.quick else 1000
    reps = 2 if args.quick else args.reps
    target_reps = 2 if args.quick else args.target_reps
    budgets = (20, 50, 100) if args.quick else (20, 50, 100, 200, 300)

    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    start = time.perf_counter()
    mats = {}
    for j, name in enumerate(SPECTRA):
        lam = spectrum(name, n)
        mats[name] = (matrix_with_spectrum(lam, rng=j), float(lam.sum()))

    print(f"XTrace suite: n = {n}, mean relative error over {reps} seeds (seeds 1000+r)")
    for name, (A, tr) in mats.items():
        print(f"\n{name}")
        print(f"{'m':>5}" + "".join(f"{meth:>12}" for meth in METHODS))
        for m in budgets:
            errs = [mean_relative_error(A, tr, meth, m, reps=reps, seed=1000) for meth in METHODS]
            print(f"{m:>5}" + "".join(f"{e:>12.2e}" for e in errs))

    print(f"\nTargets at m = 100 ({target_reps} seeds per cell, seeds 5000+r; ratio +- 1 sd "
          "of its Monte Carlo error):")
    cells = {}

    def cell(name, meth):
        if (name, meth) not in cells:
            A, tr = mats[name]
            errs = np.array([abs(trace(A, 100, method=meth, rng=5000 + r).estimate - tr) / tr
                             for r in range(target_reps)])
            cells[name, meth] = (errs.mean(), errs.std(ddof=1) / np.sqrt(errs.size))
        return cells[name, meth]

    def ratio(name, num, den):
        (a, sa), (b, sb) = cell(name, num), cell(name, den)
        r = a / b
        return r, r * float(np.hypot(sa / a, sb / b)) if a > 0 and b > 0 else 0.0

    checks = [("xtrace / hutchpp on slowexp", ratio("slowexp", "xtrace", "hutchpp"), 1 / 3),
              ("xtrace / hutchpp on fastexp", ratio("fastexp", "xtrace", "hutchpp"), 1 / 50),
              ("auto / hutchinson on flat", ratio("flat", "auto", "hutchinson"), 1.25)]
    checks += [(f"auto / xtrace on {name}", ratio(name, "auto", "xtrace"), 2.0)
               for name in DECAYING]
    ok = True
    for label, (value, sd), limit in checks:
        passed = value <= limit
        ok &= passed
        print(f"  {label:<30} {value:9.3g} +- {sd:7.2g}   target <= {limit:.3g}   "
              f"{'PASS' if passed else 'FAIL'}")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
