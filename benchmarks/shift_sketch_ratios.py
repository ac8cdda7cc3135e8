"""Print time ratios of the shift-probe and sketch kernels against their peers.

Interleaved in one process (A B C A B C ...), medians over the repeats, so a
drifting machine moves every candidate alike. Run with one BLAS thread for a
like-for-like comparison with the single-threaded Numba kernels::

    OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 python benchmarks/shift_sketch_ratios.py

``--quick`` uses tiny sizes (checks that the script runs).
"""

from __future__ import annotations

import argparse
import time

import numpy as np

import randla
from randla.kernels import cpu_shift, reference


def interleaved(candidates: dict, repeats: int) -> dict:
    for fn in candidates.values():         # warm-up: compile, page in
        fn()
    times = {name: [] for name in candidates}
    for _ in range(repeats):
        for name, fn in candidates.items():
            t0 = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - t0)
    return {name: float(np.median(ts)) for name, ts in times.items()}


def report(title: str, medians: dict, baseline: str) -> None:
    print(f"\n{title}  (median seconds; ratio = baseline / candidate, >1 is faster)")
    for name, t in medians.items():
        print(f"  {name:34s} {t:9.4f} s   x{medians[baseline] / t:6.2f} vs {baseline}")


def shift_bench(batch, channels, side, num_probes, repeats):
    rng = np.random.default_rng(0)
    X = rng.standard_normal((batch, channels, side, side))
    Y = rng.standard_normal((batch, channels, side, side))
    offsets = randla.kernel_offsets((3, 3))
    Z = randla.random.draw_probes("rademacher", side * side, num_probes, rng=1)
    Y4 = Y.reshape(batch * channels, 1, side, side)
    offs3 = np.array([(0, *k) for k in offsets], dtype=np.int64)
    medians = interleaved({
        "correlate: array-API reference": lambda: reference.shift_correlate(Y4, Z, offs3),
        "correlate: numba": lambda: cpu_shift.shift_correlate(Y4, Z, offs3),
        "correlate: numba parallel": lambda: cpu_shift.shift_correlate(Y4, Z, offs3, parallel=True),
        "gradient: shift_trace_exact": lambda: randla.shift_trace_exact(X, Y, offsets),
        "gradient: shift_trace (probed)": lambda: randla.shift_trace(
            X, Y, offsets, num_probes=num_probes, rng=1),
    }, repeats)
    report(f"shift-probe correlation, batch {batch}, {channels} channels, {side}x{side}, "
           f"9 offsets, r={num_probes}", medians, "correlate: array-API reference")
    print(f"  probed gradient vs exact: x{medians['gradient: shift_trace_exact'] / medians['gradient: shift_trace (probed)']:.2f}"
          f"; stored bytes exact/probed: {X.nbytes / (batch * channels * num_probes * 8):.0f}")


def sketch_bench(rows, cols, num_cols, repeats):
    A = np.random.default_rng(0).standard_normal((rows, cols))
    for side in ("right", "left"):
        medians = interleaved({
            kind if not par else f"{kind} parallel": (
                lambda kind=kind, par=par: randla.sketch(A, num_cols, probe=kind, rng=0, side=side,
                                                         parallel=par))
            for kind, par in (("gaussian", False), ("sparse_sign", False),
                              ("sparse_sign", True), ("srft", False))
        }, repeats)
        report(f"sketch {rows}x{cols} -> {num_cols}, side={side}", medians, "gaussian")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    if args.quick:
        shift_bench(2, 2, 16, 4, 2)
        sketch_bench(200, 150, 10, 2)
    else:
        shift_bench(32, 16, 128, 16, args.repeats)
        sketch_bench(4000, 3000, 60, args.repeats)


if __name__ == "__main__":
    main()
