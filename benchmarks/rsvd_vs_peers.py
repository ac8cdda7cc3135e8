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

Timings interleave the methods (the order rotates every repeat) and report
min and median over the repeats; ratios are medians over the fastest peer's
median. The error ``||A - U diag(S) Vh||_2 / sigma_51`` is measured once per
method with ARPACK (``scipy.sparse.linalg.svds``, tol 1e-9) on the residual
operator, in float64.

Run:  python benchmarks/rsvd_vs_peers.py [--repeats 15] [--quick]
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
    parser.add_argument("--repeats", type=int, default=15)
    parser.add_argument("--quick", action="store_true", help="tiny sizes (smoke test)")
    args = parser.parse_args(argv)
    m, n = (400, 300) if args.quick else (4000, 3000)
    k = 10 if args.quick else RANK
    spectra = {"1/i": lambda i: 1.0 / i, "i^-1/2": lambda i: i ** -0.5}
    targets = {"1/i": 1.05, "i^-1/2": 1.10}
    threadpool_limits(1)
    methods = {"randla": lambda A, kk, seed: randla.rsvd(
        A, kk, oversample=OVERSAMPLE, power_iters=POWER_ITERS, rng=seed)}
    methods.update(_peers())
    t0 = time.perf_counter()
    mats = make_matrices(m, n, spectra)
    print(f"# {m}x{n}, rank {k}, oversample {OVERSAMPLE}, power_iters {POWER_ITERS}, "
          f"1 BLAS thread, {args.repeats} interleaved repeats (setup {time.perf_counter() - t0:.1f} s)")
    print(f"# numpy {np.__version__}, randla {randla.__version__}, python {sys.version.split()[0]}")
    header = (f"{'spectrum':8} {'dtype':8} {'method':8} {'min ms':>8} {'median ms':>10} "
              f"{'/fastest peer':>14} {'err/sigma_k+1':>14}")
    print(header)
    print("-" * len(header))
    summary = []
    medians = {}
    for spec, (A64, sigma) in mats.items():
        for dtype in (np.float64, np.float32):
            A = A64.astype(dtype)
            names = list(methods)
            times = {name: [] for name in names}
            for name in names:  # warm-up (imports, first-touch allocations)
                methods[name](A, k, 0)
            for rep in range(args.repeats):
                order = names[rep % len(names):] + names[:rep % len(names)]
                for name in order:
                    t = time.perf_counter()
                    methods[name](A, k, rep + 1)
                    times[name].append(time.perf_counter() - t)
            med = {name: statistics.median(v) for name, v in times.items()}
            peers = [v for name, v in med.items() if name != "randla"]
            fastest = min(peers) if peers else float("nan")
            for name in names:
                U, S, Vh = methods[name](A, k, 12345)
                err = residual_norm(A, U, S, Vh) / sigma[k]
                medians[(spec, np.dtype(dtype).name, name)] = med[name]
                print(f"{spec:8} {np.dtype(dtype).name:8} {name:8} {1e3 * min(times[name]):8.1f} "
                      f"{1e3 * med[name]:10.1f} {med[name] / fastest:14.3f} {err:14.4f}")
                if name == "randla":
                    summary.append((spec, np.dtype(dtype).name, med[name] / fastest, err))
            sys.stdout.flush()
    print()
    print("# acceptance (issue 2)")
    for spec, dtype, ratio, err in summary:
        target = targets[spec] if dtype == "float64" else 1.10
        print(f"{spec:8} {dtype:8} randla/fastest peer = {ratio:.3f} (<= 1.05: "
              f"{'yes' if ratio <= 1.05 else 'NO'}), err/sigma_51 = {err:.4f} "
              f"(<= {target}: {'yes' if err <= target else 'NO'})")
    for spec in spectra:
        speedup = medians[(spec, "float64", "randla")] / medians[(spec, "float32", "randla")]
        print(f"{spec:8} randla float64/float32 median time = {speedup:.2f} "
              f"(>= 1.7: {'yes' if speedup >= 1.7 else 'NO'})")


if __name__ == "__main__":
    main()
