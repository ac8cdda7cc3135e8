"""Demo: one shot's FWI gradient, exact and probed, side by side.

Run with ``python -m randla demo fwi [--quick] [--out DIR]``: prints memory,
time and similarity to the exact gradient for full storage, optimal
checkpointing, the on-the-fly DFT and probing (``data_qr`` and Rademacher
probes), and saves the exact and probed gradients as a PNG.
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

from .objective import make_strategy
from .strategies import OnTheFlyDFT, Probed

__all__ = ["run"]


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


def _problem(quick: bool) -> tuple:
    n = 101 if quick else 301
    model = layered_anomaly_model((n, n), spacing=10.0, nbl=20 if quick else 40, anomaly=0.15)
    extent = (n - 1) * 10.0
    geom = Geometry(model, src_positions=[[extent / 2, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, extent, n)],
                    tn=1.0 if quick else 2.5, f0=10.0)
    d_obs = forward(model, geom)
    m0 = model.with_vp(smooth(model.vp, sigma=5.0 if quick else 10.0))
    return model, m0, geom, d_obs


def run(*, out: str, quick: bool) -> None:
    """Print the comparison table and write ``fwi_gradients.png`` into ``out``.

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
    os.makedirs(out, exist_ok=True)
    _, m0, geom, d_obs = _problem(quick)
    freqs = np.arange(2.0, 31.0, 2.0)
    strategies: list[tuple[str, Any]] = [
        ("full storage (exact)", FullStorage()),
        ("checkpointing, 20 snapshots", Checkpointing(20)),
        (f"on-the-fly DFT, {len(freqs)} freqs", OnTheFlyDFT(freqs)),
        ("probed data_qr, r=32", Probed(32, "data_qr")),
        ("probed data_qr, r=64", Probed(64, "data_qr")),
        ("probed rademacher, r=64, Nyquist", Probed(64, "rademacher", subsample="auto")),
    ]
    full_bytes = geom.nt * int(np.prod(m0.padded_shape)) * np.dtype(np.float32).itemsize
    rows, images = [], {}
    exact = None
    for name, template in strategies:
        strategy = make_strategy(template, rng=0)
        start = time.perf_counter()
        _, g = gradient(m0, geom, d_obs, history=strategy)
        seconds = time.perf_counter() - start
        g = np.asarray(g, dtype=np.float64)
        if exact is None:
            exact = g
        held = int(strategy.nbytes)
        rows.append((name, held / 1e6, full_bytes / max(held, 1), seconds, _cosine(g, exact),
                     float(np.linalg.norm(g - exact) / np.linalg.norm(exact))))
        images[name] = g
    print(f"randla fwi demo: one shot, model {m0.shape}, nt = {geom.nt}, "
          f"full history {full_bytes / 1e6:.0f} MB")
    print(f"{'strategy':36s} {'memory MB':>10s} {'saving':>8s} {'time s':>8s} {'cosine':>8s} {'rel err':>8s}")
    for name, mb, saving, sec, cos, err in rows:
        print(f"{name:36s} {mb:10.1f} {saving:7.1f}x {sec:8.2f} {cos:8.4f} {err:8.3f}")
    _plot(images, [strategies[0][0], strategies[4][0]], os.path.join(out, "fwi_gradients.png"))


def _plot(images: dict, names: list, path: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, len(names), figsize=(5 * len(names), 4.2))
    clip = float(np.percentile(np.abs(images[names[0]]), 98))
    for ax, name in zip(axes, names):
        ax.imshow(images[name].T, cmap="seismic", vmin=-clip, vmax=clip, aspect="auto")
        ax.set_title(name)
        ax.set_xlabel("x (grid points)")
        ax.set_ylabel("z (grid points)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
