"""Replay cost of the wavefield-history strategies, in forward sweeps.

A Gauss-Newton product ``J^T J dm`` on a stored background needs the forward
field twice per product: in forward order for the Born sweep (``replay``) and
in reverse order for the adjoint sweep (``correlate``). Full storage reads
both from memory; checkpointing recomputes them from its snapshots. This
script runs one forward sweep, then several (replay pass + adjoint sweep +
``restart_adjoint``) rounds as a Gauss-Newton operator would, and prints the
forward steps each strategy recomputes per round, in units of one sweep
(``nt - 1`` steps), with its memory, and the time per round as a ratio to
full storage.

Usage: ``python benchmarks/fwi_replay.py [--quick]``
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from randla.apps.wave import Checkpointing, FullStorage, Geometry, Propagator, layered_anomaly_model


def rounds(strategy, prop, geom, dd, num_rounds):
    prop.forward(geom, history=strategy)
    per_round, seconds = [], []
    for k in range(num_rounds):
        before = strategy.num_recomputed_steps
        start = time.perf_counter()
        if k:
            strategy.restart_adjoint()
        for t in range(geom.nt):
            strategy.replay(t)
        prop.adjoint(geom, dd, history=strategy)
        strategy.gradient()
        seconds.append(time.perf_counter() - start)
        per_round.append(strategy.num_recomputed_steps - before)
    return per_round, float(np.median(seconds))


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args(argv)
    n, tn = (61, 0.5) if args.quick else (151, 1.5)
    model = layered_anomaly_model((n, n), spacing=10.0, nbl=20, anomaly=0.15)
    extent = (n - 1) * 10.0
    geom = Geometry(model, src_positions=[[extent / 2, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, extent, n)], tn=tn, f0=10.0)
    dd = np.random.default_rng(0).standard_normal((geom.nt, geom.nrec)).astype(np.float32)
    prop = Propagator(model, geom.dt)
    sweep = geom.nt - 1
    print(f"model {model.shape}, nt = {geom.nt}; 4 rounds of (replay pass + adjoint sweep) after one forward")
    print(f"{'strategy':24s} {'MB':>8s} {'recomputed/round (sweeps)':>28s} {'time/round vs full':>20s}")
    base = None
    for name, make in [("full storage", FullStorage)] + [
            (f"checkpointing({s})", lambda s=s: Checkpointing(s)) for s in (5, 20, 80)]:
        strategy = make()
        per_round, sec = rounds(strategy, prop, geom, dd, 4)
        base = sec if base is None else base
        units = " ".join(f"{r / sweep:.2f}" for r in per_round)
        print(f"{name:24s} {strategy.nbytes / 1e6:8.1f} {units:>28s} {sec / base:19.2f}x")


if __name__ == "__main__":
    main()
