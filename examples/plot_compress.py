"""
Compressed wavefield histories: the memory-time-accuracy front
==============================================================

An FWI gradient needs the forward wavefield history while the adjoint runs
backwards in time. ``randla.apps.compress.Compressed`` stores that history
through a codec (Wittmer, Badger, Sundar and Bui-Thanh 2023): an autoencoder
trained on forward solves for velocities drawn from a prior (their
Algorithm 1), a low-rank basis from ``randla.rsvd`` (the linear autoencoder),
or the error-bounded compressors zfp and SZ3. Here every strategy on the
engine's seam computes the same gradient of a small 2-D shot, and we plot
its memory, time and error against full storage.
"""

# %%
# One shot, one background model
# ------------------------------
import time
import tracemalloc

import matplotlib.pyplot as plt
import numpy as np

from randla.apps.compress import (
    Autoencoder,
    AutoencoderCodec,
    Blocking,
    Compressed,
    ErrorBounded,
    LowRankCodec,
    SZ3Codec,
    ZfpCodec,
    train_codec,
    training_blocks,
)
from randla.apps.fwi import Probed
from randla.apps.wave import Checkpointing, FullStorage, Geometry, Propagator, gradient, layered_model, smooth

n = 80
true = layered_model((n, n), spacing=10.0, nbl=16, dtype=np.float32)
vp = np.array(true.vp, copy=True)
vp[35:45, 40:50] *= 1.1
true = true.with_vp(vp)
model = true.with_vp(smooth(true.vp, sigma=3.0))
geom = Geometry(model, src_positions=[[400.0, 20.0]],
                rec_positions=[[x, 20.0] for x in np.linspace(0, 790, 40)], tn=0.45, f0=15.0)
d_obs, _ = Propagator(true, geom.dt).forward(geom)

# %%
# Train the learned codecs on prior draws (Algorithm 1)
# -----------------------------------------------------
# Blocks are 8 x 8 tiles over 16 time steps (compression "in time"); each
# block is min-max normalised and stored as a 24-value code plus its offset
# and scale.
blocking = Blocking((8, 8), window=16)
start = time.perf_counter()
train = training_blocks(model, geom, blocking, num_draws=3, keep_fraction=0.5, rng=0)
valid = training_blocks(model, geom, blocking, num_draws=1, keep_fraction=0.2, rng=1)
lowrank = LowRankCodec(24)
train_codec(lowrank, train, rng=0, progress=False)
ae = AutoencoderCodec(Autoencoder(blocking.block_size, hidden=(128,), latent_size=24, rng=0))
fit = train_codec(ae, train, validation=valid, epochs=6, batch_size=128, optimizer="adam", rng=0, progress=False)
print(f"training: {train.shape[0]} blocks, {time.perf_counter() - start:.1f} s, "
      f"validation loss {fit['validation_loss'][0]:.3g} -> {fit['validation_loss'][-1]:.3g}")

# %%
# Every strategy, the same gradient
# ---------------------------------
strategies = {
    "full storage": FullStorage(),
    "checkpointing(10)": Checkpointing(10),
    "probed rademacher(r=8)": Probed(8, "rademacher", rng=0),
    "zfp 1e-2": Compressed(ZfpCodec(1e-2), blocking=blocking),
    "zfp 1e-4": Compressed(ZfpCodec(1e-4), blocking=blocking),
    "sz3 1e-2": Compressed(SZ3Codec(1e-2), blocking=blocking),
    "low rank(24)": Compressed(lowrank, blocking=blocking),
    "autoencoder(24)": Compressed(ae, blocking=blocking),
    "autoencoder + EB(0.05)": Compressed(ErrorBounded(ae, 0.05), blocking=blocking),
}
results = {}
for name, history in strategies.items():
    tracemalloc.start()
    start = time.perf_counter()
    _, g = gradient(model, geom, d_obs, history=history)
    seconds = time.perf_counter() - start
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    results[name] = (g, seconds, peak)
g_ref = results["full storage"][0]
for name, (g, seconds, peak) in results.items():
    err = np.linalg.norm(g - g_ref) / np.linalg.norm(g_ref)
    ratio = getattr(strategies[name], "compression_ratio", float("nan"))
    print(f"{name:24s} ratio {ratio:6.1f}  gradient error {err:8.1e}  {seconds:5.2f} s  {peak / 2**20:6.1f} MiB")

# %%
# The front
# ---------
# Lower left is better; the colour is the time of one gradient. Exact
# strategies are drawn at error 1e-8.
fig, ax = plt.subplots(figsize=(7, 4.5))
for name, (g, seconds, peak) in results.items():
    err = max(np.linalg.norm(g - g_ref) / np.linalg.norm(g_ref), 1e-8)
    sc = ax.scatter(peak / 2**20, err, c=[seconds], cmap="viridis",
                    vmin=min(r[1] for r in results.values()), vmax=max(r[1] for r in results.values()))
    ax.annotate(name, (peak / 2**20, err), fontsize=7, xytext=(3, 2), textcoords="offset points")
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("peak memory of one gradient (MiB)")
ax.set_ylabel("relative gradient error")
fig.colorbar(sc, label="seconds per gradient")
fig.tight_layout()
plt.show()
