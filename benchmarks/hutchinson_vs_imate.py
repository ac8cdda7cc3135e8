"""randla.hutchinson against imate's Hutchinson estimator: same quantity, same probes.

What imate computes: ``imate.traceinv(A, p, method="hutchinson")`` estimates
``tr(A^{-p})`` (imate 0.29, ``traceinv/_hutchinson_method.pyx``). It draws
``max_num_samples`` random vectors, orthonormalises them (``orthogonalize=True``,
so the probes are ``sqrt(n)`` times orthonormal columns), and for each vector in
turn applies the operator and accumulates ``n <e_i, A^{-p} e_i>``; for dense
``A`` every application of ``A^{-1}`` is a fresh ``scipy.linalg.solve`` (one
factorisation per probe), and ``p = -1`` applies ``A`` itself (``A @ e_i``).

Fair comparisons (one BLAS thread for both through threadpoolctl, imate's own
OpenMP pool set to ``num_threads=1``, ``min_num_samples = max_num_samples =
num_probes`` so that both use exactly the same number of probes, the same
estimator -- orthonormal probes -- and the same quantity):

1. ``tr(A)`` (the primary comparison: "Hutchinson on an SPD matrix"):
   imate ``traceinv(A, p=-1, method="hutchinson", assume_matrix="sym_pos")``
   vs ``randla.hutchinson(A, num_matvecs=100, probe="orthonormal")``. Both
   perform 100 products with ``A``: imate as 100 matrix-vector products,
   randla as one blocked product (``matmat``), which reads ``A`` once instead
   of 100 times. randla's time includes its input validation (the finiteness
   check of ``A``) and the host-side probe draw.
2. ``tr(A^{-1})`` (``--inverse``): imate ``traceinv(A, p=1, ...)`` vs
   ``randla.hutchinson`` on the matrix-free operator ``X -> A^{-1} X`` built
   from one Cholesky factorisation (``scipy.linalg.cho_factor``, timed) --
   what a user of a matrix-free library writes. The gap here comes from
   imate refactorising ``A`` for every probe.

The SPD test matrix is ``(B + B^T)/2 + n I`` with ``B`` uniform on [-1, 1]
(Gershgorin: eigenvalues in ``[n/2, 3n/2]``). Timings are medians over
interleaved repeats; the ratio is imate / randla (> 1: randla faster).

Usage::

    python benchmarks/hutchinson_vs_imate.py                 # tr(A), n = 5000
    python benchmarks/hutchinson_vs_imate.py --inverse       # + tr(A^{-1}) (imate: minutes)
    python benchmarks/hutchinson_vs_imate.py --n 1000 --repeats 3
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np


def spd_matrix(n: int, seed: int = 0) -> np.ndarray:
    """Dense SPD ``(B + B^T)/2 + n I`` (eigenvalues in ``[n/2, 3n/2]``)."""
    B = np.random.default_rng(seed).uniform(-1.0, 1.0, (n, n))
    A = 0.5 * (B + B.T)
    A[np.diag_indices(n)] += n
    return A


def randla_trace(A, num_probes, seed, probe="orthonormal"):
    import randla

    return randla.hutchinson(A, num_matvecs=num_probes, probe=probe, rng=seed).estimate


def imate_trace(A, num_probes, seed, p=-1):
    import imate

    return imate.traceinv(
        A, p=p, method="hutchinson", assume_matrix="sym_pos",
        min_num_samples=num_probes, max_num_samples=num_probes,
        orthogonalize=True, num_threads=1, seed=seed,
    )


def randla_traceinv(A, num_probes, seed, probe="orthonormal"):
    import scipy.linalg as sla

    import randla

    factor = sla.cho_factor(A)
    op = randla.as_operator(lambda X: sla.cho_solve(factor, X), shape=A.shape,
                            symmetric=True)
    return randla.hutchinson(op, num_matvecs=num_probes, probe=probe, rng=seed).estimate


def _time(func, *args):
    t = time.perf_counter()
    value = func(*args)
    return time.perf_counter() - t, value


def compare(label, fa, fb, args, repeats):
    """Interleaved A/B timings; returns (median_a, median_b, value_a, value_b)."""
    ta, tb = [], []
    for r in range(repeats):
        dt, va = _time(fa, *args, r)
        ta.append(dt)
        dt, vb = _time(fb, *args, r)
        tb.append(dt)
    ma, mb = statistics.median(ta), statistics.median(tb)
    print(f"{label:<34} randla {ma * 1e3:9.1f} ms   imate {mb * 1e3:9.1f} ms   "
          f"imate/randla = {mb / ma:6.1f}x")
    return ma, mb, va, vb


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=5000)
    parser.add_argument("--num-probes", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--inverse", action="store_true",
                        help="also compare tr(A^-1) (imate refactorises per probe)")
    parser.add_argument("--inverse-repeats", type=int, default=1)
    args = parser.parse_args(argv)
    try:
        import imate  # noqa: F401
    except ImportError:
        print("imate is not installed (pip install imate)")
        return 2
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    n, k = args.n, args.num_probes
    A = spd_matrix(n)
    exact = float(np.trace(A))
    print(f"n = {n}, {k} probes, one thread, median of {args.repeats} interleaved runs")
    _, _, va, vb = compare("tr(A), orthonormal probes", randla_trace, imate_trace,
                           (A, k), args.repeats)
    print(f"{'':<34} estimates: randla {va:.6e}  imate {vb:.6e}  exact {exact:.6e}")
    compare("tr(A), randla Rademacher probes",
            lambda A_, k_, s: randla_trace(A_, k_, s, probe="rademacher"), imate_trace,
            (A, k), args.repeats)
    if args.inverse:
        exact_inv = float(np.sum(1.0 / np.linalg.eigvalsh(A)))
        _, _, va, vb = compare(
            "tr(A^-1), orthonormal probes", randla_traceinv,
            lambda A_, k_, s: imate_trace(A_, k_, s, p=1), (A, k), args.inverse_repeats)
        print(f"{'':<34} estimates: randla {va:.6e}  imate {vb:.6e}  exact {exact_inv:.6e}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
