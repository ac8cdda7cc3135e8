"""Probed FWI gradients vs the exact one: accuracy, memory and time in one run.

Model: 2-D layered + anomaly (default 301 x 301 at 10 m, 40-point sponge),
one surface shot, 301 receivers, ~1500 time steps, smoothed starting model.

Tables printed:

1. accuracy: cosine similarity and relative error of the probed gradient vs
   the exact one for every probe kind and r = 4 .. 256 (and the memory
   saving nt / r of the accumulator), plus the fitted decay exponent of the
   Rademacher error (theory: -1/2);
2. time and memory per gradient: full storage, optimal checkpointing, the
   on-the-fly DFT and probing (``block=1`` is the naive per-step rank-1
   update), as ratios to full storage (median of
   interleaved repeats, BLAS on one thread like the single-threaded
   propagator), with the bytes each strategy holds and the peak of traced
   allocations during the gradient (tracemalloc).

Usage: ``python benchmarks/fwi_gradients.py [--quick] [--repeats N] [--skip-accuracy] [--skip-timing]``
"""

from __future__ import annotations

import argparse
import gc
import math
import sys
import time
import tracemalloc

import numpy as np

from randla.apps.fwi import OnTheFlyDFT, Probed, make_strategy
from randla.apps.wave import Checkpointing, FullStorage, Geometry, forward, gradient, layered_anomaly_model, smooth


def problem(n: int, tn: float):
    model = layered_anomaly_model((n, n), spacing=10.0, nbl=40, anomaly=0.15)
    extent = (n - 1) * 10.0
    geom = Geometry(model, src_positions=[[extent / 2, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, extent, n)], tn=tn, f0=10.0)
    d_obs = forward(model, geom)
    m0 = model.with_vp(smooth(model.vp, sigma=10.0))
    return m0, geom, d_obs


def cosine(a, b) -> float:
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def run_strategy(template, m0, geom, d_obs, seed=0):
    strategy = make_strategy(template, rng=seed)
    start = time.perf_counter()
    _, g = gradient(m0, geom, d_obs, history=strategy)
    return time.perf_counter() - start, np.asarray(g, dtype=np.float64), strategy


def accuracy(m0, geom, d_obs, exact, probes, subsample):
    print(f"\n== accuracy vs r (subsample={subsample!r}), nt = {geom.nt} ==")
    print(f"{'kind':12s} {'r':>5s} {'nt/r':>7s} {'stride':>6s} {'cosine':>8s} {'rel err':>8s}")
    decay = {}
    for kind in ("data_qr", "rademacher", "gaussian", "orthonormal", "dft"):
        for r in probes:
            if r > geom.nt:
                continue
            try:
                _, g, s = run_strategy(Probed(r, kind, subsample=subsample), m0, geom, d_obs)
            except ValueError as exc:  # e.g. r above the subsampled length for orthogonal kinds
                print(f"{kind:12s} {r:5d}    skipped: {exc}")
                continue
            err = float(np.linalg.norm(g - exact) / np.linalg.norm(exact))
            decay.setdefault(kind, []).append((r, err))
            print(f"{kind:12s} {r:5d} {geom.nt / r:7.1f} {s.stride:6d} {cosine(g, exact):8.4f} {err:8.3f}")
            sys.stdout.flush()
    for kind, pts in decay.items():
        if len(pts) >= 3:
            rs, errs = np.array(pts).T
            slope = np.polyfit(np.log(rs), np.log(errs), 1)[0]
            print(f"fitted error ~ r^{slope:.2f} for {kind}")


def peak_traced(template, m0, geom, d_obs) -> tuple[int, int]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    _, _, s = run_strategy(template, m0, geom, d_obs)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    return peak, int(s.nbytes)


def timing(m0, geom, d_obs, exact, repeats, entries):
    n_points = int(np.prod(m0.padded_shape))
    full_bytes = geom.nt * n_points * 4
    print(f"\n== time and memory per gradient (padded grid {m0.padded_shape}, nt = {geom.nt}, "
          f"full history {full_bytes / 1e6:.0f} MB) ==")
    times = {name: [] for name, _ in entries}
    results = {}
    for rep in range(repeats + 1):  # first round warms up (JIT, page faults)
        for name, template in entries:
            sec, g, s = run_strategy(template, m0, geom, d_obs)
            if rep:
                times[name].append(sec)
            results[name] = (g, s)
            del g
            gc.collect()
    t_full = float(np.median(times[entries[0][0]]))
    print(f"{'strategy':40s} {'median s':>9s} {'/full':>7s} {'held MB':>9s} {'saving':>8s} "
          f"{'peak MB':>9s} {'cosine':>8s}")
    for name, template in entries:
        g, s = results[name]
        med = float(np.median(times[name]))
        peak, held = peak_traced(template, m0, geom, d_obs)
        print(f"{name:40s} {med:9.3f} {med / t_full:7.2f} {held / 1e6:9.1f} {full_bytes / held:7.1f}x "
              f"{peak / 1e6:9.1f} {cosine(g, exact):8.4f}")
        sys.stdout.flush()


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small model (101 x 101, ~600 steps)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-accuracy", action="store_true")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)  # the propagator is single-threaded: compare like with like
    n, tn = (101, 1.0) if args.quick else (301, 2.5)
    m0, geom, d_obs = problem(n, tn)
    _, exact, _ = run_strategy(FullStorage(), m0, geom, d_obs)
    print(f"model {m0.shape} (+{m0.nbl} sponge), nt = {geom.nt}, dt = {geom.dt * 1e3:.3f} ms, "
          f"{geom.nrec} receivers")
    probes = (4, 8, 16, 32, 64, 128, 256)
    if not args.skip_accuracy:
        accuracy(m0, geom, d_obs, exact, probes, 1)
        accuracy(m0, geom, d_obs, exact, (16, 64), "auto")
    if not args.skip_timing:
        freqs = np.arange(2.0, 33.0, 2.0)
        snaps = max(2, int(math.ceil(math.log2(geom.nt))) * 2)
        entries = [
            ("full storage", FullStorage()),
            (f"checkpointing ({snaps} snapshots)", Checkpointing(snaps)),
            (f"on-the-fly DFT ({len(freqs)} freqs)", OnTheFlyDFT(freqs)),
            ("probed data_qr r=16", Probed(16, "data_qr")),
            ("probed data_qr r=32", Probed(32, "data_qr")),
            ("probed data_qr r=64", Probed(64, "data_qr")),
            ("probed data_qr r=64 block=64", Probed(64, "data_qr", block=64)),
            ("probed data_qr r=64 block=1 (rank-1/step)", Probed(64, "data_qr", block=1)),
            ("probed data_qr r=64 Nyquist subsample", Probed(64, "data_qr", subsample="auto")),
            ("probed rademacher r=64 Nyquist", Probed(64, "rademacher", subsample="auto")),
        ]
        timing(m0, geom, d_obs, exact, args.repeats, entries)


if __name__ == "__main__":
    main()
