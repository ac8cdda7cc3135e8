"""Wavefield-history strategies side by side: one table like Wittmer et al. (2023), Table 8.

One 2-D acoustic shot, one background model, the same gradient through every
strategy on the engine's seam: full storage (the reference), binomial
checkpointing, probing (data_qr and rademacher at the same memory), zfp,
SZ3, float16, low rank (randla.rsvd) and the autoencoder (plain and
error-bounded), all storing ``u`` in time blocks (``--quantities`` adds
``u_tt`` rows for the stored-quantity comparison).

Columns: compression ratio of the stored history against float32 (every
stored byte), achieved relative block error (a separate forward-only pass),
gradient relative error and cosine against full storage, time per gradient
in seconds and in forward-sweep units (one plain forward solve), peak traced
memory of the gradient (tracemalloc), and for learned codecs the training
cost (data generation by Algorithm 1 + fitting) and the number of gradients
over which it pays back against checkpointing(20) (``-`` when it never does).

Usage::

    python benchmarks/compress_table.py --quick          # seconds
    python benchmarks/compress_table.py                  # 512^2 grid, ~1000 steps
    python benchmarks/compress_table.py --figure front.png

Timings are wall-clock on a shared machine: compare ratios within one run.
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np

from randla.apps.compress import (
    Autoencoder,
    AutoencoderCodec,
    Blocking,
    Compressed,
    ErrorBounded,
    Float16Codec,
    LowRankCodec,
    SZ3Codec,
    ZfpCodec,
    train_codec,
    training_blocks,
)
from randla.apps.fwi import Probed
from randla.apps.wave import Checkpointing, FullStorage, Geometry, Propagator, gradient, layered_model, smooth


def problem(n: int, tn: float):
    true = layered_model((n, n), spacing=10.0, nbl=20, dtype=np.float32,
                         velocities=(1500.0, 2000.0, 2500.0, 3000.0))
    vp = np.array(true.vp, copy=True)
    x, z = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    vp *= 1.0 + 0.1 * np.exp(-((x - n / 2) ** 2 + (z - 0.6 * n) ** 2) / (0.08 * n) ** 2)
    true = true.with_vp(vp.astype(np.float32))
    model = true.with_vp(smooth(true.vp, sigma=n / 32))
    src = [[n * 5.0, 20.0]]
    rec = [[float(xr), 20.0] for xr in np.linspace(0, 10.0 * (n - 1), max(n // 4, 8))]
    geom = Geometry(model, src_positions=src, rec_positions=rec, tn=tn, f0=15.0)
    d_obs, _ = Propagator(true, geom.dt).forward(geom)
    return model, geom, d_obs


def run_gradient(model, geom, d_obs, history):
    tracemalloc.start()
    start = time.perf_counter()
    _, g = gradient(model, geom, d_obs, history=history)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return g, seconds, peak


def block_error(model, geom, codec, blocking, quantity):
    h = Compressed(codec, blocking=blocking, quantity=quantity, measure_error=True)
    Propagator(model, geom.dt).forward(geom, history=h)
    return h.block_error, h


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small grid and few steps (CI)")
    parser.add_argument("--n", type=int, default=None, help="grid points per axis (default 512, quick 96)")
    parser.add_argument("--tn", type=float, default=None, help="final time in ms (default 1400, quick 500)")
    parser.add_argument("--epochs", type=int, default=None, help="autoencoder epochs (default 8, quick 3)")
    parser.add_argument("--latent", type=int, default=24, help="autoencoder latent size")
    parser.add_argument("--optimizer", default="lamb", choices=("lamb", "adam"), help="autoencoder optimiser")
    parser.add_argument("--learning-rate", type=float, default=1e-3, help="initial learning rate (paper: 1e-3)")
    parser.add_argument("--decay-every", type=int, default=5, help="halve the learning rate every ... epochs")
    parser.add_argument("--quantities", action="store_true", help="add u_tt rows (stored-quantity study)")
    parser.add_argument("--figure", default=None, help="write the memory-time-accuracy front to this file")
    args = parser.parse_args(argv)
    n = args.n or (96 if args.quick else 512)
    tn = args.tn or (500.0 if args.quick else 1400.0)
    epochs = args.epochs or (3 if args.quick else 8)
    model, geom, d_obs = problem(n, tn / 1000.0)
    N = math.prod(model.padded_shape)
    print(f"grid {n}x{n} (padded {model.padded_shape}), nt = {geom.nt}, dt = {geom.dt * 1e3:.3f} ms, "
          f"history {4 * N * geom.nt / 2**20:.1f} MiB float32")

    prop = Propagator(model, geom.dt)
    prop.forward(geom)  # compile
    start = time.perf_counter()
    prop.forward(geom)
    t_fwd = time.perf_counter() - start
    print(f"forward sweep {t_fwd:.2f} s ({t_fwd / geom.nt * 1e3:.2f} ms/step)")

    blocking = Blocking((8, 8), window=16)
    rows = []

    def add(name, history, *, train=None, quantity="u", codec=None):
        g, seconds, peak = run_gradient(model, geom, d_obs, history)
        rows.append(dict(name=name, history=history, g=g, seconds=seconds, peak=peak, train=train,
                         quantity=quantity, codec=codec))
        print(f"  {name:28s} {seconds:7.2f} s", flush=True)

    add("full storage", FullStorage())
    g_ref = rows[0]["g"]
    for s in (10, 20, 50):
        add(f"checkpointing({s})", Checkpointing(s))
    num_probes = max(4, geom.nt // 32)
    for kind in ("data_qr", "rademacher"):
        p = Probed(num_probes, kind, rng=0)
        p.bind(d_obs, geometry=geom)
        add(f"probed {kind}(r={num_probes})", p)
    for tol in (1e-2, 1e-3, 1e-4, 1e-5):
        add(f"zfp {tol:g}", Compressed(ZfpCodec(tol), blocking=blocking), codec=ZfpCodec(tol))
    for tol in (1e-2, 1e-3, 1e-4):
        add(f"sz3 {tol:g}", Compressed(SZ3Codec(tol), blocking=blocking), codec=SZ3Codec(tol))
    add("float16", Compressed(Float16Codec(), blocking=blocking), codec=Float16Codec())

    # learned codecs: Algorithm 1 training data (prior draws around the background)
    start = time.perf_counter()
    keep = min(1.0, 12000 / (blocking.num_blocks(model.padded_shape) * (geom.nt // 16) * 3))
    train = training_blocks(model, geom, blocking, num_draws=3, keep_fraction=keep, rng=0)
    valid = training_blocks(model, geom, blocking, num_draws=1, keep_fraction=keep / 3, rng=1)
    t_data = time.perf_counter() - start
    print(f"training data: {train.shape[0]} blocks ({t_data:.1f} s), validation {valid.shape[0]}")
    lowrank = LowRankCodec(args.latent)
    fit = train_codec(lowrank, train, rng=0, progress=False)
    add(f"low rank(r={args.latent})", Compressed(lowrank, blocking=blocking), train=t_data + fit["seconds"],
        codec=lowrank)
    ae = AutoencoderCodec(Autoencoder(blocking.block_size, hidden=(256, 128), latent_size=args.latent, rng=0))
    fit = train_codec(ae, train, validation=valid, epochs=epochs, batch_size=256, optimizer=args.optimizer,
                      learning_rate=args.learning_rate, decay_every=args.decay_every, rng=0, progress=True)
    print(f"autoencoder: {fit['seconds']:.1f} s, train loss {fit['train_loss'][-1]:.3g}, "
          f"validation {fit['validation_loss'][-1]:.3g}")
    add(f"autoencoder({args.latent})", Compressed(ae, blocking=blocking), train=t_data + fit["seconds"], codec=ae)
    for tol in (1e-1, 2e-2):
        eb = ErrorBounded(ae, tol)
        add(f"autoencoder+EB({tol:g})", Compressed(eb, blocking=blocking), train=t_data + fit["seconds"],
            codec=eb)
    if args.quantities:
        for tol in (1e-2, 1e-3):
            add(f"zfp {tol:g} [u_tt]", Compressed(ZfpCodec(tol), blocking=blocking, quantity="u_tt"),
                codec=ZfpCodec(tol), quantity="u_tt")
        train_tt = training_blocks(model, geom, blocking, num_draws=3, keep_fraction=keep, quantity="u_tt", rng=0)
        lr_tt = LowRankCodec(args.latent)
        train_codec(lr_tt, train_tt, rng=0, progress=False)
        add(f"low rank(r={args.latent}) [u_tt]", Compressed(lr_tt, blocking=blocking, quantity="u_tt"),
            codec=lr_tt, quantity="u_tt")

    t_ckpt = next(r["seconds"] for r in rows if r["name"] == "checkpointing(20)")
    full_bytes = 4 * N * geom.nt
    print()
    header = (f"{'strategy':30s} {'ratio':>7s} {'blk err':>8s} {'grad err':>9s} {'cosine':>8s} "
              f"{'t (s)':>7s} {'t/fwd':>6s} {'peak MiB':>9s} {'train s':>8s} {'payback':>8s}")
    print(header)
    print("-" * len(header))
    for r in rows:
        h, g = r["history"], r["g"]
        err = float(np.linalg.norm(g - g_ref) / np.linalg.norm(g_ref))
        cos = float(np.vdot(g, g_ref) / (np.linalg.norm(g) * np.linalg.norm(g_ref)))
        if isinstance(h, Compressed):
            ratio = h.compression_ratio
            be, h_err = block_error(model, geom, r["codec"], blocking, r["quantity"])
            blk = f"{be:8.1e}"
            if isinstance(r["codec"], ErrorBounded):
                r["name"] += f" fb={h_err.num_corrected}+{h_err.num_raw}"
        elif isinstance(h, Checkpointing):
            ratio = full_bytes / (2 * 4 * N * h.num_snapshots)
            blk = "exact"
        elif isinstance(h, Probed):
            ratio = geom.nt / num_probes
            blk = "-"
        else:
            ratio, blk = 1.0, "exact"
        train, payback = "-", "-"
        if r["train"] is not None:
            train = f"{r['train']:8.1f}"
            gain = t_ckpt - r["seconds"]
            payback = f"{math.ceil(r['train'] / gain):8d}" if gain > 0 else "never"
        r.update(ratio=ratio, err=err)
        print(f"{r['name']:30s} {ratio:7.1f} {blk:>8s} {err:9.2e} {cos:8.5f} {r['seconds']:7.2f} "
              f"{r['seconds'] / t_fwd:6.2f} {r['peak'] / 2**20:9.1f} {train:>8s} {payback:>8s}")
    if args.figure:
        plot_front(rows, t_fwd, args.figure)
        print(f"figure written to {args.figure}")


def plot_front(rows, t_fwd, path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from matplotlib.colors import LogNorm

    units = [r["seconds"] / t_fwd for r in rows]
    norm = LogNorm(vmin=min(units), vmax=max(units))
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for r, unit in zip(rows, units):
        err = max(r["err"], 1e-8)
        sc = ax.scatter(r["peak"] / 2**20, err, c=[unit], cmap="viridis", norm=norm, s=40)
        ax.annotate(r["name"], (r["peak"] / 2**20, err), fontsize=6, xytext=(3, 2), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("peak memory of one gradient (MiB)")
    ax.set_ylabel("gradient relative error vs full storage (exact: 1e-8)")
    fig.colorbar(sc, label="time per gradient (forward sweeps)")
    ax.set_title("wavefield-history strategies: memory, time, accuracy")
    fig.tight_layout()
    fig.savefig(path, dpi=130)


if __name__ == "__main__":
    main()
