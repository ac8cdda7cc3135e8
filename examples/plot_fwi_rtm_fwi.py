"""
RTM and FWI with probed gradients on an overthrust-like model
=============================================================

Reverse-time migration is the gradient of the data misfit in a smooth
background; full-waveform inversion minimises the misfit with it. Both only
need the gradient, so any wavefield-history strategy plugs in: exact full
storage or probing in time (``randla.apps.fwi.Probed``) at ``r N`` memory.
The shots run serially here; ``parallel=None`` (the default) would run them
on a Dask ``LocalCluster``, with identical results.
"""

# %%
# Model and data
# --------------
import matplotlib.pyplot as plt
import numpy as np

from randla.apps.fwi import Probed, fwi, rtm
from randla.apps.wave import ISIC, FullStorage, Geometry, forward, overthrust_model, smooth

true = overthrust_model((121, 41), spacing=25.0, nbl=15)
extent = 120 * 25.0
receivers = [[x, 50.0] for x in np.linspace(0.0, extent, 121)]
dt = 0.8 * true.critical_dt  # room for the inversion's velocity bounds
shots = [Geometry(true, src_positions=[[x, 50.0]], rec_positions=receivers, tn=1.5, f0=8.0, dt=dt)
         for x in np.linspace(150.0, extent - 150.0, 6)]
d_obs = [forward(true, g) for g in shots]
print(f"{len(shots)} shots, nt = {shots[0].nt}, grid {true.shape}")

# %%
# RTM: exact vs probed
# --------------------
# ``data_qr`` probes (``Q = orth(D D^T S)`` from each shot's data) with
# ``r = 32`` keep ``nt / 32`` times less than full storage. The Laplacian
# (``|k|^2``) filter and the inverse-scattering imaging condition (ISIC) act
# in space only, so they commute with probing in time and are evaluated on
# the compressed fields.
background = true.with_vp(smooth(true.vp, sigma=6.0))
images = {
    "exact": rtm(background, shots, d_obs, laplacian=True, parallel="serial"),
    "probed r=32": rtm(background, shots, d_obs, history=Probed(32, "data_qr"), rng=0,
                       laplacian=True, parallel="serial"),
    "probed r=32, ISIC": rtm(background, shots, d_obs, history=Probed(32, "data_qr", imaging=ISIC()),
                             rng=0, parallel="serial"),
}


def cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


# The edges are left out of the display: the top rows hold the source and
# receiver imprint, and the edge cells collect the image of the absorbing layer.
inner = (slice(3, -3), slice(4, -3))
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2))
for ax, (name, img) in zip(axes, images.items()):
    img = np.asarray(img)[inner]
    clip = np.percentile(np.abs(img), 98)
    ax.imshow(img.T, cmap="gray", vmin=-clip, vmax=clip, aspect="auto")
    if name.endswith("ISIC"):
        ax.set_title(name)
    elif name != "exact":
        ax.set_title(f"{name} (cos {cosine(img, np.asarray(images['exact'])[inner]):.3f})")
    else:
        ax.set_title("exact, Laplacian filter")
fig.tight_layout()

# %%
# FWI: exact vs probed gradients
# ------------------------------
# Eight L-BFGS-B iterations from a smoothed model, velocity bounds
# 2000-6000 m/s. The near surface (top 100 m, around sources and receivers)
# is taken as known, like a water layer, and stays fixed together with a
# 2-cell frame (edge cells also collect the gradient of the absorbing layer).
# The probes of each shot are drawn from a seed fixed per shot, so the
# approximate gradient is a deterministic function of the model, as the line
# search expects.
vp0 = np.asarray(smooth(true.vp, sigma=4.0)).copy()
vp0[:, :4] = np.asarray(true.vp)[:, :4]
start = true.with_vp(vp0)
mask = np.zeros(true.shape, dtype=bool)
mask[2:-2, 4:-2] = True
runs = {}
for name, strategy in (("exact", FullStorage()), ("probed data_qr r=32", Probed(32, "data_qr"))):
    runs[name] = fwi(start, shots, d_obs, history=strategy, rng=0, maxiter=8, vmin=2000.0, vmax=6000.0,
                     mask=mask, true_vp=true.vp, parallel="serial", progress=False)
    res = runs[name]
    print(f"{name}: model error {res.history[0]['model_error']:.4f} -> {res.model_error:.4f}, "
          f"{res.num_evaluations} gradients, {res.max_nbytes / 1e6:.1f} MB per shot")

fig, axes = plt.subplots(2, 2, figsize=(11, 5.5))
vmin, vmax = float(np.min(true.vp)), float(np.max(true.vp))
panels = [("true", true.vp), ("start", start.vp)] + [(n, r.vp) for n, r in runs.items()]
for ax, (name, vp) in zip(axes.ravel(), panels):
    ax.imshow(np.asarray(vp).T, cmap="viridis", vmin=vmin, vmax=vmax, aspect="auto")
    ax.set_title(name)
fig.tight_layout()

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, res in runs.items():
    ax.plot([h["model_error"] for h in res.history], "o-", label=name)
ax.set(xlabel="iteration", ylabel="relative model error", title="FWI convergence")
ax.legend()
fig.tight_layout()
plt.show()
