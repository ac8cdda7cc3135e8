"""Demo: one shot's FWI gradient, exact and compressed, side by side.

Run with ``python -m randla demo fwi [--quick] [--out DIR]``: computes the
same gradient with full storage, optimal checkpointing, the on-the-fly DFT
and probing (``data_qr`` and Rademacher probes), prints memory, time and the
similarity to the exact gradient with one line per strategy saying what it
trades, and saves the exact and compressed gradients as a PNG.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

from randla.apps.wave import (
    Checkpointing,
    FullStorage,
    Geometry,
    forward,
    gradient,
    layered_anomaly_model,
    smooth,
)

from .objectives import make_strategy
from .strategies import OnTheFlyDFT, Probed

__all__ = ["run"]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _problem(quick: bool, n: int | None = None) -> tuple:
    if n is None:
        n = 101 if quick else 301
    spacing = 10.0
    model = layered_anomaly_model((n, n), spacing=spacing, nbl=20 if quick else 40, anomaly=0.15)
    extent = (n - 1) * spacing
    geom = Geometry(model, src_positions=[[extent / 2, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, extent, n)],
                    tn=1.0 if quick else 2.5, f0=10.0)
    d_obs = forward(model, geom)
    m0 = model.with_vp(smooth(model.vp, sigma=5.0 if quick else 10.0))
    return model, m0, geom, d_obs


def _strategies(geom: Any) -> list[tuple[str, str, Any]]:
    """(row name, what it trades, template) for every strategy of the table."""
    duration = geom.nt * geom.dt
    df = 1.0 / duration  # the DFT's resolution: coarser spacing wraps the correlation in time
    freqs = np.arange(df, 25.0 + 0.5 * df, df)  # the band of a 10 Hz Ricker wavelet
    return [
        ("full storage", "exact reference: keeps all nt forward wavefields",
         FullStorage()),
        ("checkpointing, 20 snapshots",
         "exact: keeps 20 states and recomputes forward steps (the revolve schedule)",
         Checkpointing(20)),
        (f"on-the-fly DFT, {len(freqs)} freqs",
         f"deterministic: keeps the wavefields at {freqs[0]:.1f}-{freqs[-1]:.0f} Hz "
         f"(step 1/T = {df:.2f} Hz); drops the rest of the band", OnTheFlyDFT(freqs)),
        ("probed data_qr, r=32",
         "probes spanning the recorded data: biased, low variance, memory 32 fields",
         Probed(32, "data_qr")),
        ("probed data_qr, r=64",
         "as above with twice the memory: closer to exact", Probed(64, "data_qr")),
        ("probed rademacher, r=64, Nyquist",
         "unbiased and data-free, but noisy for one shot: the noise averages out "
         "over shots and iterations", Probed(64, "rademacher", subsample="auto")),
    ]


def _warm_up() -> None:
    """Compile the engine's kernels on a tiny problem so the timings are steady."""
    _, m0, geom, d_obs = _problem(True, n=31)
    for _, _, template in _strategies(geom):
        strategy = make_strategy(template, rng=0)
        gradient(m0, geom, d_obs, history=strategy)


def run(*, out: str, quick: bool) -> None:
    """One shot's FWI gradient by six wavefield-history strategies: memory, time, accuracy.

    Prints a table (memory, saving against full storage, time, cosine and
    relative error to the exact gradient) with one line per strategy saying
    what it trades, and writes ``fwi_gradients.png`` into ``out``.

    Parameters
    ----------
    out : str
        Output folder (created if needed).
    quick : bool
        Small model (101 x 101, ~600 time steps) for CI.

    Examples
    --------
    >>> from randla.apps.fwi.demo import run
    >>> run(out="randla_demo_out", quick=True)  # doctest: +SKIP
    """
    print("\nrandla fwi demo: one shot's FWI gradient, exact and from compressed "
          "wavefield histories", flush=True)
    print("[1/3] modelling the observed data and compiling the kernels", flush=True)
    _, m0, geom, d_obs = _problem(quick)
    _warm_up()
    strategies = _strategies(geom)
    print(f"[2/3] {len(strategies)} gradients on a {m0.shape[0]} x {m0.shape[1]} model "
          f"(padded {m0.padded_shape[0]} x {m0.padded_shape[1]}), {geom.nt} time steps, "
          f"{geom.nrec} receivers", flush=True)
    rows, images = [], {}
    exact = full_bytes = None
    for name, trade, template in strategies:
        strategy = make_strategy(template, rng=0)
        start = time.perf_counter()
        _, g = gradient(m0, geom, d_obs, history=strategy)
        seconds = time.perf_counter() - start
        g = np.asarray(g, dtype=np.float64)
        held = int(strategy.nbytes)
        if exact is None:
            exact, full_bytes = g, held
        rows.append((name, trade, held / 1e6, full_bytes / max(held, 1), seconds,
                     _cosine(g, exact), float(np.linalg.norm(g - exact) / np.linalg.norm(exact))))
        images[name] = g
        print(f"      {name}: {seconds:.1f} s", flush=True)

    print(f"[3/3] results (memory: what the strategy holds; saving: full storage's "
          f"{full_bytes / 1e6:.1f} MB / memory; cosine and relative error: against the "
          "exact gradient)")
    print(f"{'strategy':36s} {'memory MB':>10s} {'saving':>8s} {'time s':>8s} "
          f"{'cosine':>8s} {'rel err':>8s}")
    for name, trade, mb, saving, sec, cos, err in rows:
        print(f"{name:36s} {mb:10.1f} {saving:7.1f}x {sec:8.2f} {cos:8.4f} {err:8.3f}")
        print(f"    -> {trade}")
    best = max(rows[2:], key=lambda r: r[5])
    print(f"takeaway: checkpointing is exact at {rows[1][3]:.0f}x less memory for extra "
          f"forward steps; {best[0]} holds {best[3]:.0f}x less than full storage with "
          f"cosine {best[5]:.3f} to the exact gradient.")
    shown = [strategies[0][0], strategies[2][0], strategies[4][0], strategies[5][0]]
    cosines = {r[0]: r[5] for r in rows}
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "fwi_gradients.png")
    _plot(images, cosines, shown, m0, geom, path)
    print(f"wrote {os.path.abspath(path)}", flush=True)


def _plot(images: dict, cosines: dict, names: list, model: Any, geom: Any, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 2, figsize=(10, 8.4), sharex=True, sharey=True,
                             layout="constrained")
    exact = images[names[0]]
    clip = float(np.percentile(np.abs(exact), 98))
    x_km, z_km = (np.asarray(model.domain_size, dtype=float) / 1e3)[:2]
    extent = (0.0, x_km, z_km, 0.0)
    src = np.asarray(geom.src_positions, dtype=float)
    for ax, name in zip(axes.flat, names):
        im = ax.imshow(images[name].T, cmap="seismic", vmin=-clip, vmax=clip, aspect="auto", extent=extent)
        ax.plot(src[:, 0] / 1e3, src[:, 1] / 1e3, "k*", ms=10, label="source")
        title = name if name == names[0] else f"{name}\ncosine to exact = {cosines[name]:.3f}"
        ax.set_title(title, fontsize=10)
    for ax in axes[-1]:
        ax.set_xlabel("x (km)")
    for ax in axes[:, 0]:
        ax.set_ylabel("depth (km)")
    axes[0, 0].set_title(f"{names[0]} (exact)", fontsize=10)
    fig.colorbar(im, ax=axes, shrink=0.8,
                 label="∂f/∂m, f = ½‖d − d_obs‖², m = 1/vp²  [(data unit)² m²/s²]")
    fig.suptitle(f"FWI gradient of one shot ({geom.nt} time steps, {geom.nrec} receivers), "
                 "exact and from compressed histories")
    fig.savefig(path, dpi=100)
    plt.close(fig)
