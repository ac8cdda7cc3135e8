"""
Acoustic modelling and FWI gradients on an overthrust-like model
================================================================

:mod:`randla.apps.wave` solves the constant-density acoustic wave equation
``m u_tt - lap(u) + damp u_t = q`` (``m = 1/vp^2``) with Numba kernels, and
provides its exact adjoint, the Born operator ``J`` and FWI gradients
``J^T (d - d_obs)``. Every gradient goes through a *wavefield-history
strategy*; here we compare storing the whole forward wavefield with optimal
(binomial, "revolve") checkpointing, which keeps a handful of states and
recomputes forward steps instead.

This example shows shot records and wavefield snapshots on a folded and
faulted model, checks the adjoints with dot-product tests, and computes the
same gradient both ways, printing time and memory.
"""

# %%
# A folded and faulted model
# --------------------------
# ``overthrust_model`` builds nine folded layers cut by a thrust fault and a
# normal fault (SI units: m, m/s). A smoothed copy is the starting model of a
# full-waveform inversion.
import time

import matplotlib.pyplot as plt
import numpy as np

from randla.apps.wave import (
    Checkpointing,
    FullStorage,
    Geometry,
    adjoint,
    born,
    forward,
    gradient,
    jacobian_adjoint,
    overthrust_model,
    smooth,
)

true = overthrust_model((241, 81), spacing=20.0, nbl=30)
start = true.with_vp(smooth(true.vp, sigma=6.0))
extent = (0.0, true.domain_size[0] / 1e3, true.domain_size[1] / 1e3, 0.0)

vmin, vmax = float(np.min(true.vp)), float(np.max(true.vp))
fig, axes = plt.subplots(2, 1, figsize=(8, 5.6), sharex=True, layout="constrained")
for ax, model, title in ((axes[0], true, "true velocity"), (axes[1], start, "smoothed start")):
    im = ax.imshow(np.asarray(model.vp).T, extent=extent, cmap="viridis", aspect="auto",
                   vmin=vmin, vmax=vmax)
    ax.set_title(title)
    ax.set_ylabel("depth (km)")
axes[1].set_xlabel("x (km)")
fig.colorbar(im, ax=axes, label="P-wave velocity (m/s)", shrink=0.9)

# %%
# Shot records
# ------------
# Three shots near the surface, 241 receivers at 20 m depth, a 10 Hz Ricker
# wavelet and 1.6 s of recording. ``dt`` defaults to 90% of the CFL limit.
rec = np.stack([np.linspace(0.0, true.domain_size[0], 241), np.full(241, 20.0)], axis=1)
shots = [Geometry(true, src_positions=[[x, 20.0]], rec_positions=rec, tn=1.6, f0=10.0)
         for x in (1200.0, 2400.0, 3600.0)]
geom = shots[1]
print(f"nt = {geom.nt}, dt = {geom.dt * 1e3:.3f} ms, padded grid {true.padded_shape}")

records = [forward(true, shot) for shot in shots]
fig, axes = plt.subplots(1, 3, figsize=(9, 4.5), sharey=True, layout="constrained")
clip = np.percentile(np.abs(records[1]), 98)  # one scale for the three shots
for ax, d, shot in zip(axes, records, shots):
    im = ax.imshow(d, aspect="auto", cmap="gray", vmin=-clip, vmax=clip,
                   extent=(0.0, true.domain_size[0] / 1e3, geom.time_axis.stop, 0.0))
    ax.set_title(f"shot at x = {shot.src_positions[0, 0] / 1e3:.1f} km")
    ax.set_xlabel("receiver x (km)")
axes[0].set_ylabel("time (s)")
fig.colorbar(im, ax=axes, label="pressure (unit-amplitude source)", shrink=0.9)

# %%
# Wavefield snapshots
# -------------------
# ``save=True`` also returns the wavefield on the padded grid (the absorbing
# layer included); ``model.crop`` keeps the physical part.
d, u = forward(true, geom, save=True)
fig, axes = plt.subplots(3, 1, figsize=(8, 7), sharex=True, layout="constrained")
clip = np.abs(np.asarray(true.crop(u[int(round(0.8 / geom.dt))]))).max() / 4
for ax, t in zip(axes, (0.4, 0.8, 1.2)):
    snap = np.asarray(true.crop(u[int(round(t / geom.dt))]))
    im = ax.imshow(snap.T, extent=extent, cmap="seismic", vmin=-clip, vmax=clip, aspect="auto")
    ax.set_title(f"u at t = {t:.1f} s")
    ax.set_ylabel("depth (km)")
axes[-1].set_xlabel("x (km)")
fig.colorbar(im, ax=axes, label="pressure (unit-amplitude source)", shrink=0.9)

# %%
# Adjoint (dot-product) tests
# ---------------------------
# The adjoint sweep is the exact discrete adjoint of the forward sweep, and
# ``jacobian_adjoint`` the exact adjoint of ``born``: ``<F q, d> = <q, F^T d>``
# and ``<J dm, dd> = <dm, J^T dd>`` hold to float32 rounding.
rng = np.random.default_rng(0)
q = rng.standard_normal((geom.nt, 1)).astype(np.float32)
dd = rng.standard_normal((geom.nt, geom.nrec)).astype(np.float32)
lhs = float(np.dot(forward(start, geom.with_wavelet(q)).ravel().astype(np.float64), dd.ravel()))
rhs = float(np.dot(q.ravel().astype(np.float64), adjoint(start, geom, dd).ravel()))
print(f"<F q, d> = {lhs:.6e}   <q, F^T d> = {rhs:.6e}   relative mismatch {abs(lhs - rhs) / abs(lhs):.1e}")
dm = (1e-9 * rng.standard_normal(start.shape)).astype(np.float32)
lhs = float(np.dot(born(start, geom, dm).ravel().astype(np.float64), dd.ravel()))
rhs = float(np.dot(dm.ravel().astype(np.float64), jacobian_adjoint(start, geom, dd).ravel()))
print(f"<J dm, d> = {lhs:.6e}   <dm, J^T d> = {rhs:.6e}   relative mismatch {abs(lhs - rhs) / abs(lhs):.1e}")

# %%
# Gradient: full storage vs optimal checkpointing
# -----------------------------------------------
# The gradient of ``f(m) = 1/2 ||d(m) - d_obs||^2`` at the smoothed model,
# computed by storing all ``nt`` forward fields, then by checkpointing with a
# few snapshots (each holds two fields) and recomputing forward steps along
# the optimal binomial schedule. The gradients agree to rounding.
d_obs = records[1]
rows = []
images = {}
for name, strategy in (("full storage", FullStorage()), ("checkpointing, 5", Checkpointing(5)),
                       ("checkpointing, 20", Checkpointing(20))):
    t0 = time.perf_counter()
    f, g = gradient(start, geom, d_obs, history=strategy)
    rows.append((name, time.perf_counter() - t0, strategy.nbytes / 2**20, strategy.num_recomputed_steps))
    images[name] = g
print(f"objective f = {f:.4e}")
print(f"{'strategy':18s} {'time (s)':>9s} {'memory (MiB)':>13s} {'recomputed steps':>17s}")
for name, seconds, mib, recomputed in rows:
    print(f"{name:18s} {seconds:9.2f} {mib:13.1f} {recomputed:17d}")
full = images["full storage"]
for name in ("checkpointing, 5", "checkpointing, 20"):
    err = np.abs(images[name] - full).max() / np.abs(full).max()
    print(f"max |g_ckpt - g_full| / max |g_full| ({name}): {err:.1e}")

fig, axes = plt.subplots(2, 1, figsize=(8, 5.6), sharex=True, layout="constrained")
clip = np.percentile(np.abs(full), 99)
for ax, name in zip(axes, ("full storage", "checkpointing, 5")):
    im = ax.imshow(images[name].T, extent=extent, cmap="seismic", vmin=-clip, vmax=clip,
                   aspect="auto")
    ax.set_title(f"gradient, {name}")
    ax.set_ylabel("depth (km)")
axes[-1].set_xlabel("x (km)")
fig.colorbar(im, ax=axes, label="∂f/∂m, m = 1/vp² ((data unit)² m²/s²)", shrink=0.9)
plt.show()
