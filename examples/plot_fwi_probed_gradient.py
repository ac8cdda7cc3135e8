"""
Probed FWI gradients: accuracy and memory against the number of probes
======================================================================

The FWI gradient is a trace over time at every grid point,
``g[x] = s * sum_t v[t, x] (D2 u)[t, x]``, so it needs the whole forward
wavefield ``u`` (``nt x N`` values) while the adjoint ``v`` runs backwards.
Randomized trace estimation (Louboutin and Herrmann, 2021) keeps only
``Z^T D2 U`` for ``r`` probe vectors ``Z`` in time (``r x N``) and estimates

.. math:: g \\approx \\frac{s}{r}\\,\\operatorname{diag}\\big((Z^T V)^T (Z^T D_2 U)\\big),

unbiased when ``E[Z Z^T] = r I``. ``randla.apps.fwi.Probed`` plugs this into
the wave engine's wavefield-history seam. Here we compare its probe kinds with
the exact gradient on a layered model with a velocity anomaly.
"""

# %%
# One shot on a layered model with an anomaly
# -------------------------------------------
import time

import matplotlib.pyplot as plt
import numpy as np

from randla.apps.fwi import Probed, make_strategy
from randla.apps.wave import FullStorage, Geometry, forward, gradient, layered_anomaly_model, smooth

model = layered_anomaly_model((101, 101), spacing=10.0, nbl=20, anomaly=0.15)
geom = Geometry(model, src_positions=[[500.0, 20.0]],
                rec_positions=[[x, 20.0] for x in np.linspace(0.0, 1000.0, 101)], tn=1.0, f0=10.0)
d_obs = forward(model, geom)
m0 = model.with_vp(smooth(model.vp, sigma=5.0))


def run(template):
    """One gradient through a fresh copy of the strategy (the observed data
    reach it through the engine's context)."""
    strategy = make_strategy(template, rng=0)
    start = time.perf_counter()
    _, g = gradient(m0, geom, d_obs, history=strategy)
    return np.asarray(g, dtype=np.float64), strategy.nbytes, time.perf_counter() - start


exact, full_bytes, full_seconds = run(FullStorage())
print(f"nt = {geom.nt}, padded grid {m0.padded_shape}: full storage holds {full_bytes / 1e6:.1f} MB")


def cosine(a, b):
    return float(np.sum(a * b) / (np.linalg.norm(a) * np.linalg.norm(b)))


# %%
# Accuracy against r
# ------------------
# ``data_qr`` (TimeProbeSeismic's default) builds ``Q = orth(D D^T S)`` from
# the shot's observed data: biased (a projection) but with a far lower
# variance than the unbiased Rademacher, Gaussian or random cos/sin (``dft``)
# probes, whose error decays like ``1/sqrt(r)``.
probe_counts = [4, 8, 16, 32, 64]
kinds = ["data_qr", "rademacher", "dft"]
results = {kind: [] for kind in kinds}
for kind in kinds:
    for r in probe_counts:
        g, held, _ = run(Probed(r, kind))
        results[kind].append((cosine(g, exact), np.linalg.norm(g - exact) / np.linalg.norm(exact), held))
        print(f"{kind:10s} r = {r:3d}: cosine {results[kind][-1][0]:.4f}, "
              f"rel. error {results[kind][-1][1]:.3f}, memory {held / 1e6:.1f} MB")

fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for kind in kinds:
    cos, err, _ = np.array(results[kind]).T
    axes[0].semilogx(probe_counts, cos, "o-", label=kind)
    axes[1].loglog(probe_counts, err, "o-", label=kind)
r = np.array(probe_counts, dtype=float)
axes[1].loglog(r, results["rademacher"][0][1] * np.sqrt(r[0] / r), "k--", label=r"$\propto r^{-1/2}$")
axes[0].set(xlabel="probes r", ylabel="cosine similarity to exact", title="gradient similarity")
axes[1].set(xlabel="probes r", ylabel="relative error", title="gradient error")
for ax in axes:
    ax.set_xticks(probe_counts, [str(r) for r in probe_counts])
    ax.minorticks_off()
    ax.legend()
    ax.grid(True, which="both", alpha=0.3)
fig.tight_layout()

# %%
# Memory: the accumulator holds ``r N`` values (plus a ``block x N`` buffer for
# the GEMMs and the image) instead of ``nt N``.
held_mb = [h / 1e6 for _, _, h in results["data_qr"]]
fig, ax = plt.subplots(figsize=(5, 3.5))
ax.loglog(probe_counts, held_mb, "o-", label="probed (held)")
ax.set_xticks(probe_counts, [str(r) for r in probe_counts])
ax.minorticks_off()
ax.axhline(full_bytes / 1e6, color="k", ls="--", label="full storage")
ax.set(xlabel="probes r", ylabel="MB held per shot", title=f"memory (nt = {geom.nt})")
ax.legend()
fig.tight_layout()

# %%
# Time subsampling at the data's Nyquist rate
# -------------------------------------------
# The fields are band-limited, so summing every ``k``-th step with a random
# offset is unbiased and, when ``1/(k dt)`` exceeds twice the highest
# frequency, exact for every offset. ``subsample="auto"`` picks ``k`` from the
# data and divides the accumulation cost by ``k``.
g_sub, held_sub, sec_sub = run(Probed(32, "data_qr", subsample="auto"))
g_32, held_32, sec_32 = run(Probed(32, "data_qr"))
print(f"data_qr r = 32: cosine {cosine(g_32, exact):.4f} in {sec_32:.2f} s; "
      f"with Nyquist subsampling {cosine(g_sub, exact):.4f} in {sec_sub:.2f} s "
      f"(full storage {full_seconds:.2f} s)")

fig, axes = plt.subplots(1, 3, figsize=(12, 3.6))
clip = np.percentile(np.abs(exact), 98)
for ax, img, title in zip(axes, (exact, g_32, g_sub),
                          ("exact", "data_qr r=32", "data_qr r=32, Nyquist subsampling")):
    ax.imshow(img.T, cmap="seismic", vmin=-clip, vmax=clip, aspect="auto")
    ax.set_title(title)
    ax.set_xlabel("x (cells)")
axes[0].set_ylabel("z (cells)")
fig.tight_layout()
plt.show()
