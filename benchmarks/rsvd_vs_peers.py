"""randla.rsvd against scikit-learn, torch and fbpca, side by side in one run.

Problem (issue 2): ``A = U diag(sigma) V^T``, 4000 x 3000, Haar ``U, V``,
``sigma_i = 1/i`` and ``sigma_i = i^(-1/2)``; rank 50, oversample 10, two power
iterations, ONE BLAS thread. Every method does the same work: a 60-column
test matrix, 2 power iterations (6 products with A or A^T), the SVD of the
60 x 3000 projection, truncation to rank 50.

* ``randla``  -- ``randla.rsvd(A, 50, oversample=10, power_iters=2)``
  (LU between power iterations, QR at the end).
* ``sklearn`` -- ``randomized_svd(A, 50, n_oversamples=10, n_iter=2)``; its
  default ``power_iteration_normalizer="auto"`` means NO normalisation for
  ``n_iter <= 2`` (cheaper, but loses accuracy in float32, see the table).
  ``n_iter`` must be given: its default "auto" would do 7 iterations here.
* ``torch``   -- ``torch.svd_lowrank(A, q=60, niter=2)`` (QR at every step).
* ``fbpca``   -- ``fbpca.pca(A, 50, raw=True, n_iter=2, l=60)`` (LU, then QR;
  its default ``l`` is ``k + 2``). fbpca draws float64 test matrices, so on
  float32 input it computes in float64.

Timings interleave every (method, dtype) pair of a spectrum (the order
rotates every repeat) and report min and median over the repeats. ``ratio`` is
the method's median over the fastest peer's median (same dtype); ``paired`` is
the median over repeats of the method's time over that fastest peer's time in
the same repeat (both ran moments apart, so bursts of load on a shared
machine cancel in the ratio). The error
``||A - U diag(S) Vh||_2 / sigma_51`` is measured for several seeds with
ARPACK (``scipy.sparse.linalg.svds``, tol 1e-9) on the residual operator in
float64; mean and max are printed. The error is a random variable: for
``i^(-1/2)`` its spread over seeds is about 1.05-1.12 for every method, so the
acceptance uses the mean.

Run:  python benchmarks/rsvd_vs_peers.py [--repeats 15] [--error-seeds 5] [--quick]
"""

from __future__ import annotations

import os

for _var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402
from threadpoolctl import threadpool_limits  # noqa: E402

import randla  # noqa: E402

RANK, OVERSAMPLE, POWER_ITERS = 50, 10, 2


def _peers():
    peers = {}
    try:
        from sklearn.utils.extmath import randomized_svd

        peers["sklearn"] = lambda A, k, seed: randomized_svd(
            A, k, n_oversamples=OVERSAMPLE, n_iter=POWER_ITERS, random_state=seed)
    except ImportError:
        print("# scikit-learn not installed: skipped")
    try:
        import torch

        torch.set_num_threads(1)

        def run_torch(A, k, seed):
            At = torch.from_numpy(A)  # zero-copy view
            gen_state = torch.random.get_rng_state()
            torch.manual_seed(seed)  # benchmark only: torch.svd_lowrank has no rng argument
            U, S, V = torch.svd_lowrank(At, q=k + OVERSAMPLE, niter=POWER_ITERS)
            torch.random.set_rng_state(gen_state)
            return U[:, :k].numpy(), S[:k].numpy(), V[:, :k].T.numpy()

        peers["torch"] = run_torch
    except ImportError:
        print("# torch not installed: skipped")
    try:
        import fbpca

        def run_fbpca(A, k, seed):
            np.random.seed(seed)  # benchmark only: fbpca draws from the global state
            return fbpca.pca(A, k, raw=True, n_iter=POWER_ITERS, l=k + OVERSAMPLE)

        peers["fbpca"] = run_fbpca
    except ImportError:
        print("# fbpca not installed: skipped")
    return peers


def make_matrices(m, n, spectra, seed=0):
    """``U diag(sigma) V^T`` with Haar U, V for each spectrum (float64)."""
    rng = np.random.default_rng(seed)

    def haar(rows, cols):
        q, r = np.linalg.qr(rng.standard_normal((rows, cols)))
        return q * np.sign(np.diag(r))

    U0, V0 = haar(m, min(m, n)), haar(n, min(m, n))
    i = np.arange(1, min(m, n) + 1, dtype=np.float64)
    out = {}
    for name, sigma in spectra.items():
        out[name] = (np.ascontiguousarray((U0 * sigma(i)) @ V0.T), sigma(i))
    return out


def residual_norm(A, U, S, Vh):
    """``||A - U diag(S) Vh||_2`` by ARPACK on the residual operator (float64)."""
    from scipy.sparse.linalg import LinearOperator, svds

    A = np.asarray(A, dtype=np.float64)
    U, S, Vh = (np.asarray(x, dtype=np.float64) for x in (U, S, Vh))

    def mv(x):
        return A @ x - U @ (S.reshape(-1, *([1] * (x.ndim - 1))) * (Vh @ x))

    def rmv(y):
        return A.T @ y - Vh.T @ (S.reshape(-1, *([1] * (y.ndim - 1))) * (U.T @ y))

    op = LinearOperator(A.shape, matvec=mv, rmatvec=rmv, matmat=mv, rmatmat=rmv, dtype=np.float64)
    return float(svds(op, k=1, tol=1e-9, maxiter=20000, return_singular_vectors=False,
                      random_state=0)[0])


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved timing repeats")
    parser.add_argument("--error-seeds", type=int, default=5, help="seeds for the error mean/max")
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    m, n = (400, 300) if args.quick else (4000, 3000)
    k = 10 if args.quick else RANK
    spectra = {"1/i": lambda i: 1.0 / i, "i^-1/2": lambda i: i ** -0.5}
    targets = {("1/i", "float64"): 1.05, ("i^-1/2", "float64"): 1.10,
               ("1/i", "float32"): 1.10, ("i^-1/2", "float32"): 1.10}
    threadpool_limits(1)
    methods = {"randla": lambda A, kk, seed: randla.rsvd(
        A, kk, oversample=OVERSAMPLE, power_iters=POWER_ITERS, rng=seed)}
    methods.update(_peers())
    t0 = time.perf_counter()
    mats = make_matrices(m, n, spectra)
    print(f"# {m}x{n}, rank {k}, oversample {OVERSAMPLE}, power_iters {POWER_ITERS}, "
          f"1 BLAS thread; {args.repeats} interleaved repeats of every (method, dtype); "
          f"errors over {args.error_seeds} seeds (setup {time.perf_counter() - t0:.1f} s)")
    print(f"# numpy {np.__version__}, randla {randla.__version__}, python {sys.version.split()[0]}")
    print("# ratio = median(method) / median(fastest peer, same dtype); paired = median "
          "over repeats of t(method) / t(fastest peer) within the same repeat")
    header = (f"{'spectrum':8} {'dtype':8} {'method':8} {'min ms':>8} {'median ms':>10} "
              f"{'ratio':>7} {'paired':>7} {'err mean':>9} {'err max':>8}")
    print(header)
    print("-" * len(header))
    verdicts = []
    for spec, (A64, sigma) in mats.items():
        data = {np.dtype(dt).name: A64.astype(dt) for dt in (np.float64, np.float32)}
        combos = [(name, dt) for dt in data for name in methods]
        times = {c: [] for c in combos}
        for name, dt in combos:  # warm-up: imports, first-touch allocations
            methods[name](data[dt], k, 0)
        for rep in range(args.repeats):
            shift = rep % len(combos)
            for name, dt in combos[shift:] + combos[:shift]:
                t = time.perf_counter()
                methods[name](data[dt], k, rep + 1)
                times[(name, dt)].append(time.perf_counter() - t)
        times = {c: np.array(v) for c, v in times.items()}
        for dt in data:
            peers = [name for name in methods if name != "randla"]
            fastest_name = min(peers, key=lambda p: np.median(times[(p, dt)]), default=None)
            fastest = np.median(times[(fastest_name, dt)]) if peers else float("nan")
            for name in methods:
                t = times[(name, dt)]
                errs = []
                for seed in range(args.error_seeds):
                    U, S, Vh = methods[name](data[dt], k, 1000 + seed)
                    errs.append(residual_norm(data[dt], U, S, Vh) / sigma[k])
                ratio = np.median(t) / fastest
                paired = (np.median(t / times[(fastest_name, dt)]) if peers
                          else float("nan"))
                print(f"{spec:8} {dt:8} {name:8} {1e3 * t.min():8.1f} {1e3 * np.median(t):10.1f} "
                      f"{ratio:7.3f} {paired:7.3f} {np.mean(errs):9.4f} {np.max(errs):8.4f}")
                sys.stdout.flush()
                if name == "randla":
                    verdicts.append((spec, dt, ratio, paired, np.mean(errs), np.max(errs)))
        f64, f32 = times[("randla", "float64")], times[("randla", "float32")]
        verdicts.append((spec, "f64/f32", np.median(f64) / np.median(f32), np.median(f64 / f32)))
    print()
    print(f"# acceptance (issue 2); errors are ||A - U S Vh||_2 / sigma_{k + 1}")
    for v in verdicts:
        if v[1] == "f64/f32":
            spec, _, ratio, paired = v
            print(f"{spec:8} randla float64/float32 time: {ratio:.2f} (paired {paired:.2f}); "
                  f">= 1.7: {'yes' if ratio >= 1.7 else 'NO'}")
            continue
        spec, dt, ratio, paired, err_mean, err_max = v
        target = targets[(spec, dt)]
        print(f"{spec:8} {dt:8} randla/fastest peer {ratio:.3f} (paired {paired:.3f}); <= 1.05: "
              f"{'yes' if ratio <= 1.05 else 'NO'} | error mean {err_mean:.4f} "
              f"max {err_max:.4f}; mean <= {target}: {'yes' if err_mean <= target else 'NO'}")


if __name__ == "__main__":
    main()
