"""A small-grid FWI test problem for nonlinear DIAS, on :mod:`randla.apps.wave` / :mod:`randla.apps.fwi`.

The parameter is the squared slowness in s^2/km^2 (``u = 1e6 m``, values
~0.1-0.5, so optimisers see O(1) numbers), flattened in C order. The misfit
is ``sum_shots 1/2 ||F_s(m) q_s - d_s||^2 / noise_variance`` with 1% white
noise on the data; its gradient comes from :func:`randla.apps.fwi.objective`
with any wavefield-history strategy (full storage, checkpointing, probed,
...), and Gauss-Newton products from
:func:`randla.apps.wave.gauss_newton_shots`. NumPy, float64.

References
----------
J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26 (2009); J. Wittmer et
al. (2023), Section 4.3 (DIAS for seismic inversion).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from randla.backend import check_positive_int
from randla.random import as_generator

from .priors import BiLaplacianPrior

__all__ = ["FWIProblem"]

SCALE = 1e6  # u = SCALE * m  (s^2/m^2 -> s^2/km^2)
VMAX = 4500.0  # m/s: velocities are capped here (u >= SCALE / VMAX^2)


class FWIProblem:
    """Surface-seismic FWI on a layered model with a Gaussian anomaly, small grid.

    Parameters
    ----------
    shape : (int, int), default (30, 30)
    spacing : float, default 10.0
    nbl : int, default 10
    num_shots : int, default 3
    nrec : int, default 15
    tn : float, default 0.35
        Recording time (s).
    f0 : float, default 12.0
        Ricker peak frequency (Hz).
    noise_level : float, default 0.01
    history : WavefieldHistory or factory, optional
        Strategy template for the gradients (default full storage).
    parallel : default "serial"
        Shot scheduling inside one misfit evaluation (see :func:`randla.apps.fwi.objective`).
    rng : int, numpy.random.Generator or None
        Noise and the strategy seeds (fixed for the problem: the misfit is deterministic).

    Attributes
    ----------
    truth, start : numpy.ndarray, shape (N,)
        True and smooth starting squared slowness (s^2/km^2).
    size : int
    num_gradients : int
        Misfit evaluations so far (in this process).

    Examples
    --------
    >>> from randla.apps.dias import FWIProblem
    >>> prob = FWIProblem((20, 20), num_shots=1, nrec=8, tn=0.2, rng=0)
    >>> f, g = prob.misfit(prob.start)
    >>> f > 0, g.shape
    (True, (400,))
    """

    def __init__(self, shape: Sequence[int] = (30, 30), /, *, spacing: float = 10.0, nbl: int = 10,
                 num_shots: int = 3, nrec: int = 15, tn: float = 0.35, f0: float = 12.0,
                 noise_level: float = 0.01, history: Any = None, parallel: Any = "serial", rng: Any = None) -> None:
        from randla.apps.wave import Geometry, forward, layered_anomaly_model, smooth

        shape = tuple(check_positive_int(s, "shape", minimum=4) for s in shape)
        num_shots = check_positive_int(num_shots, "num_shots")
        nrec = check_positive_int(nrec, "nrec", minimum=2)
        gen = as_generator(rng)
        model = layered_anomaly_model(shape, spacing=spacing, nbl=nbl, anomaly=0.15, dtype=np.float64)
        extent = (shape[0] - 1) * spacing
        xs = np.linspace(0.0, extent, num_shots + 2)[1:-1]
        # a time step stable up to VMAX, so prior samples and line searches stay stable
        dt = 0.95 * model.critical_dt * model.vmax / VMAX
        self.geometries = [Geometry(model, src_positions=[[x, 2 * spacing]],
                                    rec_positions=[[r, 2 * spacing] for r in np.linspace(0.0, extent, nrec)],
                                    tn=tn, f0=f0, dt=dt) for x in xs]
        clean = [np.asarray(forward(model, g)) for g in self.geometries]
        sigma = noise_level * math.sqrt(sum(float(np.sum(c * c)) for c in clean) / sum(c.size for c in clean))
        self.d_obs = [c + sigma * gen.standard_normal(c.shape) for c in clean]
        self.noise_variance = sigma * sigma
        self.model = model
        self.shape = shape
        self.spacing = float(spacing)
        self.truth = SCALE * np.asarray(model.m, dtype=float).ravel()
        self.start = SCALE * np.asarray(model.with_vp(smooth(model.vp, sigma=4.0)).m, dtype=float).ravel()
        self.size = self.truth.size
        self.history = history
        self.parallel = parallel
        self.seed = int(gen.integers(2**31))
        self.num_gradients = 0

    def _model(self, u: np.ndarray) -> Any:
        u = np.asarray(u, dtype=float)
        if u.shape != (self.size,):
            raise ValueError(f"u must have shape ({self.size},), got {u.shape}")
        u = np.maximum(u, SCALE / VMAX**2)  # cap the velocity (prior samples, line searches)
        return self.model.with_m(u.reshape(self.shape) / SCALE)

    def misfit(self, u: np.ndarray, /) -> tuple[float, np.ndarray]:
        """``(f, grad f)`` at ``u`` (one gradient per shot through the strategy template)."""
        from randla.apps.fwi import objective

        self.num_gradients += 1
        f, g = objective(self._model(u), self.geometries, self.d_obs, history=self.history, rng=self.seed,
                         parallel=self.parallel)
        s = self.noise_variance
        return float(f) / s, np.asarray(g, dtype=float).ravel() / (SCALE * s)

    __call__ = misfit

    def gauss_newton(self, u: np.ndarray, V: np.ndarray, /) -> np.ndarray:
        """``J^T J V / noise_variance`` at ``u`` for a block ``V`` (N, k) (Born + adjoint per column and shot)."""
        from randla.apps.wave import gauss_newton_shots

        model = self._model(u)
        V = np.asarray(V, dtype=float).reshape(self.size, -1)
        cols = [np.asarray(gauss_newton_shots(model, self.geometries, V[:, j].reshape(self.shape) / SCALE))
                for j in range(V.shape[1])]
        return np.stack([c.ravel() for c in cols], axis=1) / (SCALE * self.noise_variance)

    def prior(self, *, std: float = 0.02, correlation: float = 60.0) -> BiLaplacianPrior:
        """A BiLaplacian prior centred at the smooth start with pointwise std about ``std`` (s^2/km^2).

        ``correlation`` is the correlation length in metres.
        """
        nu = 2 - len(self.shape) / 2
        kappa = math.sqrt(8 * nu) / correlation
        gamma, delta = 1.0, kappa * kappa
        prior = BiLaplacianPrior(self.start.copy(), grid_shape=self.shape, gamma=gamma, delta=delta,
                                 spacing=self.spacing)
        var = float(np.median(prior.pointwise_variance())) if self.size <= 2500 else 1.0 / (
            4 * math.pi * gamma * delta)  # 2-D continuum value
        return BiLaplacianPrior(self.start.copy(), grid_shape=self.shape, gamma=gamma, delta=delta,
                                variance=std * std / var, spacing=self.spacing)

    def relative_error(self, u: np.ndarray, /) -> float:
        """``||u - truth|| / ||truth - start||`` (1 at the starting model)."""
        return float(np.linalg.norm(u - self.truth) / np.linalg.norm(self.truth - self.start))
