"""Make ``docs/_static/front.png``, the figure of the front page (run from the repo root).

Left: mean relative error of four trace estimators against the number of
matrix-vector products on ``A = Q diag(0.9^i) Q^T`` (n = 500, 5 seeds).
Right: one shot's FWI gradient, exact and probed (``data_qr``, r = 64), from
the quick FWI demo's problem.
"""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from randla.apps.fwi import Probed, make_strategy  # noqa: E402
from randla.apps.fwi.demo import _problem  # noqa: E402
from randla.apps.wave import gradient  # noqa: E402
from randla.demo import matrix_with_spectrum, mean_relative_error, spectrum  # noqa: E402

n, reps, budgets = 500, 5, (10, 20, 40, 80, 160)
lam = spectrum("slowexp", n)
A = matrix_with_spectrum(lam, rng=0)
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), layout="constrained")
for method, marker in (("hutchinson", "o"), ("hutchpp", "s"), ("xtrace", "^"), ("xnystrace", "v")):
    errs = [mean_relative_error(A, float(lam.sum()), method, m, reps=reps, seed=0) for m in budgets]
    axes[0].loglog(budgets, errs, marker=marker, label=method)
axes[0].set_xlabel("matrix-vector products")
axes[0].set_ylabel("mean relative error")
axes[0].set_title(f"trace of a {n} x {n} matrix, λ_i = 0.9^i")
axes[0].legend(fontsize=8)

_, m0, geom, d_obs = _problem(True)
_, exact = gradient(m0, geom, d_obs)
probed = make_strategy(Probed(64, "data_qr"), rng=0).bind(d_obs, geometry=geom)
_, g = gradient(m0, geom, d_obs, history=probed)
exact, g = np.asarray(exact), np.asarray(g)
cos = float(np.sum(exact * g) / np.linalg.norm(exact) / np.linalg.norm(g))
clip = np.percentile(np.abs(exact), 98)
x_km, z_km = np.asarray(m0.domain_size[:2], dtype=float) / 1e3
for ax, img, title in ((axes[1], exact, "FWI gradient, exact (48 MB history)"),
                       (axes[2], g, f"probed, r = 64 (9 MB): cosine {cos:.3f}")):
    im = ax.imshow(img.T, cmap="seismic", vmin=-clip, vmax=clip, aspect="auto",
                   extent=(0, x_km, z_km, 0))
    ax.set_title(title, fontsize=10)
    ax.set_xlabel("x (km)")
axes[1].set_ylabel("depth (km)")
fig.colorbar(im, ax=axes[1:], label="∂f/∂m")
fig.savefig("docs/_static/front.png", dpi=80)
