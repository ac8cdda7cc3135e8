"""Reverse-time migration and full-waveform inversion drivers.

* :func:`rtm`: the image ``sum_i J_i^T (d_i - F_i(m0) q_i)`` in a smooth
  background (minus the gradient: the direct wave cancels in the residual),
  optionally Laplacian-filtered.
* :func:`fwi`: bound-constrained minimisation of the multi-shot objective
  with SciPy's L-BFGS-B in the squared slowness (bounds from velocity
  bounds), with any wavefield-history strategy. Per-iteration logging
  (``logging`` logger ``randla.apps.fwi``) and a tqdm progress bar.

The optimiser works on the host (SciPy): model and gradient are copied
explicitly with :func:`randla.backend.to_host` / ``from_host`` once per
evaluation.

References
----------
J. Virieux and S. Operto, "An overview of full-waveform inversion in
exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

import numpy as np

from randla.backend import from_host, to_host
from randla.apps.wave import Geometry, Model, kspace_filter

from .objectives import _check_template, _executor, _spawn, objective
from .parallel import shot_seeds

__all__ = ["FWIResult", "fwi", "rtm"]

logger = logging.getLogger("randla.apps.fwi")


def rtm(model: Model, geometries: Sequence[Geometry], d_obs: Sequence[Any], /, *, history: Any = None,
        rng: Any = None, laplacian: bool = False, parallel: Any = None, progress: bool = False,
        kernel: str = "auto") -> Any:
    """Reverse-time migration image ``sum_i J_i^T (d_i - F_i(m0) q_i)``.

    Parameters
    ----------
    model : Model
        Smooth background (no reflectors).
    geometries, d_obs
        Shots and their observed records (see :func:`objective`).
    history : WavefieldHistory, callable or None
        Strategy template: exact (default), :class:`Probed` (with
        ``imaging=ISIC()`` for the inverse-scattering condition), ...
    rng : int, numpy.random.Generator or None
    laplacian : bool, default False
        Apply the Laplacian (``|k|^2``) filter to the image.
    parallel, progress, kernel
        As :func:`objective`.

    Returns
    -------
    array, model.shape

    Raises
    ------
    ValueError, TypeError
        As :func:`objective`.

    Examples
    --------
    >>> from randla.apps.wave import Geometry, forward, layered_model, smooth
    >>> from randla.apps.fwi import Probed, rtm
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> shots = [Geometry(model, src_positions=[[200.0, 20.0]],
    ...                   rec_positions=[[r, 20.0] for r in range(0, 400, 20)], tn=0.3)]
    >>> d_obs = [forward(model, g) for g in shots]
    >>> m0 = model.with_vp(smooth(model.vp, sigma=5.0))
    >>> rtm(m0, shots, d_obs, history=Probed(16, "data_qr"), rng=0, parallel="serial").shape
    (40, 30)
    """
    _, g = objective(model, geometries, d_obs, history=history, rng=rng, parallel=parallel,
                     progress=progress, kernel=kernel)
    image = -g
    if laplacian:
        image = kspace_filter(image, spacing=model.spacing, power=2.0)
    return image


@dataclass
class FWIResult:
    """Outcome of :func:`fwi`.

    Attributes
    ----------
    model : Model
        Final model.
    vp : array
        Its velocity (physical grid).
    history : list of dict
        One entry per iteration (and one for the start): ``iteration``,
        ``objective``, ``grad_norm``, ``evaluations``, ``seconds`` and, with
        ``true_vp``, ``model_error`` (relative L2 error of the velocity).
    num_iterations, num_evaluations : int
    success : bool
    message : str
        From L-BFGS-B.
    max_nbytes : int
        Largest per-shot strategy memory seen.

    Examples
    --------
    >>> from randla.apps.fwi import FWIResult
    >>> res = FWIResult(model=None, vp=None, history=[{"objective": 1.0}, {"objective": 0.25}])
    >>> res.objective
    0.25
    """

    model: Model
    vp: Any
    history: list = field(default_factory=list)
    num_iterations: int = 0
    num_evaluations: int = 0
    success: bool = False
    message: str = ""
    max_nbytes: int = 0

    @property
    def objective(self) -> float:
        """Final objective value."""
        return float(self.history[-1]["objective"]) if self.history else math.nan

    @property
    def model_error(self) -> float:
        """Final relative model error (needs ``true_vp``)."""
        return float(self.history[-1].get("model_error", math.nan)) if self.history else math.nan


def _check_bounds(model0: Model, geometries: list, vmin: float | None, vmax: float | None) -> tuple[float, float]:
    vp = to_host(model0.vp)
    lo = float(vp.min()) * 0.8 if vmin is None else float(vmin)
    if vmax is None:
        # the largest velocity every geometry's dt keeps stable (critical dt ~ 1/vmax)
        dt = max(g.dt for g in geometries)
        hi = min(float(vp.max()) * 1.25, model0.vmax * model0.critical_dt / dt * (1 - 1e-9))
    else:
        hi = float(vmax)
    if not (math.isfinite(lo) and math.isfinite(hi) and 0 < lo < hi):
        raise ValueError(f"velocity bounds need 0 < vmin < vmax, got vmin={lo}, vmax={hi}")
    fast = model0.with_vp(from_host(np.full(model0.shape, hi), model0.xp, dtype=model0.dtype,
                                    device=model0.device))
    for i, geom in enumerate(geometries):
        if geom.dt > fast.critical_dt * (1 + 1e-12):
            raise ValueError(
                f"vmax = {hi:g} m/s allows velocities for which the time step dt = {geom.dt:g} s of "
                f"geometries[{i}] is unstable (critical dt {fast.critical_dt:g} s): lower vmax or "
                "build the geometries with a smaller dt"
            )
    return lo, hi


def fwi(model0: Model, geometries: Sequence[Geometry], d_obs: Sequence[Any], /, *, history: Any = None,
        rng: Any = None, maxiter: int = 20, vmin: float | None = None, vmax: float | None = None,
        mask: Any = None, redraw: bool = False, true_vp: Any = None, parallel: Any = None,
        progress: bool = True, callback: Callable[[dict], None] | None = None, kernel: str = "auto",
        lbfgs_memory: int = 10) -> FWIResult:
    """Full-waveform inversion with L-BFGS-B, velocity bounds and any strategy.

    Minimises ``f(m) = sum_i 1/2 ||F_i(m) q_i - d_i||^2`` over the squared
    slowness ``m`` (scaled by its mean; the objective is divided by its
    starting value) subject to ``1/vmax^2 <= m <= 1/vmin^2``.

    Parameters
    ----------
    model0 : Model
        Starting model (e.g. a smoothed true model).
    geometries, d_obs
        Shots and observed records.
    history : WavefieldHistory, callable or None
        Strategy template (exact full storage by default; e.g.
        ``Probed(32, "data_qr")``). Its imaging condition must give the
        gradient (``imaging.is_gradient``: cross-correlation).
    rng : int, numpy.random.Generator or None
        Per-shot probe seeds. With ``redraw=False`` every evaluation reuses
        the same seeds, so the approximate gradient is a deterministic
        function of the model (what L-BFGS-B's line search expects).
    maxiter : int, default 20
        L-BFGS-B iterations.
    vmin, vmax : float, optional
        Velocity bounds (m/s); default 0.8 x min of ``model0`` and 1.25 x
        its max, capped at the largest velocity every geometry's ``dt``
        keeps stable. An explicit ``vmax`` must keep every ``dt`` stable.
    mask : array of bool, model.shape, optional
        True where the model may change; masked cells keep their starting
        values (equal bounds), so they must be right: a water layer or a
        known near surface around sources and receivers. Freezing a 1-2 cell
        frame on the other edges is advisable too: edge cells also collect
        the gradient summed over the absorbing layer.
    redraw : bool, default False
        New probes at every evaluation (stochastic gradients).
    true_vp : array, model.shape, optional
        Reports the relative model error per iteration.
    parallel : as :func:`objective`
        One executor (cluster) is kept for the whole inversion.
    progress : bool, default True
        tqdm bar over iterations.
    callback : callable, optional
        Called with each iteration's record (dict).
    kernel : str
        As :func:`randla.apps.wave.gradient`.
    lbfgs_memory : int, default 10
        L-BFGS-B memory (``maxcor``).

    Returns
    -------
    FWIResult

    Raises
    ------
    ValueError
        For bad bounds (or a ``vmax`` violating CFL), ``maxiter < 1``, a
        mask of the wrong shape, an imaging condition that is not the
        gradient, and as
        :func:`objective`.

    Examples
    --------
    >>> from randla.apps.wave import Geometry, forward, layered_anomaly_model, smooth
    >>> from randla.apps.fwi import Probed, fwi
    >>> true = layered_anomaly_model((40, 30), spacing=10.0, nbl=8, anomaly=0.1)
    >>> shots = [Geometry(true, src_positions=[[x, 20.0]],
    ...                   rec_positions=[[r, 20.0] for r in range(0, 400, 20)], tn=0.3)
    ...          for x in (100.0, 300.0)]
    >>> d_obs = [forward(true, g) for g in shots]
    >>> m0 = true.with_vp(smooth(true.vp, sigma=3.0))
    >>> res = fwi(m0, shots, d_obs, history=Probed(16, "data_qr"), rng=0, maxiter=3,
    ...           true_vp=true.vp, parallel="serial", progress=False)
    >>> res.objective < 1.0, res.num_iterations <= 3
    (True, True)
    """
    from scipy.optimize import Bounds, minimize

    shots = list(geometries)
    if int(maxiter) != maxiter or maxiter < 1:
        raise ValueError(f"maxiter must be a positive integer, got {maxiter!r}")
    history = _check_template(history)
    imaging = _spawn(history, 0).imaging  # a factory is called once here, to check it
    if not imaging.is_gradient:
        raise ValueError(f"fwi needs the gradient: the strategy's imaging condition must be one whose "
                         f"image is the gradient (CrossCorrelation()), got {imaging!r}")
    lo, hi = _check_bounds(model0, shots, vmin, vmax)
    shape = model0.shape
    m0 = np.asarray(to_host(model0.m), dtype=np.float64)
    m_ref = float(m0.mean())
    x0 = (m0 / m_ref).ravel()
    lower = np.full(x0.size, 1.0 / (hi * hi) / m_ref)
    upper = np.full(x0.size, 1.0 / (lo * lo) / m_ref)
    x0 = np.clip(x0, lower, upper)
    if mask is not None:
        keep = np.asarray(to_host(mask) if not isinstance(mask, np.ndarray) else mask).astype(bool)
        if keep.shape != shape:
            raise ValueError(f"mask must have the model's shape {shape}, got {keep.shape}")
        frozen = ~keep.ravel()
        lower[frozen] = x0[frozen]
        upper[frozen] = x0[frozen]
    vp_true = None if true_vp is None else np.asarray(to_host(true_vp), dtype=np.float64)
    base_seed = shot_seeds(rng, 1)[0]
    xp, dtype, device = model0.xp, model0.dtype, model0.device
    state = {"evals": 0, "scale": None, "last": None, "nbytes": 0, "start": time.perf_counter()}

    def to_model(x: np.ndarray) -> Model:
        m = from_host((x * m_ref).reshape(shape), xp, dtype=dtype, device=device)
        return model0.with_m(m)

    executor, owned = _executor(parallel)

    def fun(x: np.ndarray) -> tuple[float, np.ndarray]:
        seed = base_seed + state["evals"] if redraw else base_seed
        f, g, info = objective(to_model(x), shots, d_obs, history=history, rng=seed, parallel=executor,
                               kernel=kernel, return_info=True)
        state["evals"] += 1
        state["nbytes"] = max(state["nbytes"], info.max_nbytes)
        if state["scale"] is None:
            state["scale"] = f if f > 0 else 1.0
        grad = np.asarray(to_host(g), dtype=np.float64).ravel() * (m_ref / state["scale"])
        value = f / state["scale"]
        state["last"] = (x.copy(), value, grad)
        return value, grad

    records: list = []

    def record(x: np.ndarray, iteration: int) -> dict:
        last = state["last"]
        if last is None or not np.array_equal(last[0], x):
            value, grad = fun(x)
        else:
            value, grad = last[1], last[2]
        entry = {"iteration": iteration, "objective": float(value),
                 "grad_norm": float(np.linalg.norm(grad)), "evaluations": state["evals"],
                 "seconds": time.perf_counter() - state["start"]}
        if vp_true is not None:
            vp = 1.0 / np.sqrt(x.reshape(shape) * m_ref)
            entry["model_error"] = float(np.linalg.norm(vp - vp_true) / np.linalg.norm(vp_true))
        records.append(entry)
        msg = "fwi iteration %d: objective %.6g, |g| %.3g, evaluations %d" % (
            iteration, entry["objective"], entry["grad_norm"], entry["evaluations"])
        if "model_error" in entry:
            msg += ", model error %.4f" % entry["model_error"]
        logger.info(msg)
        if callback is not None:
            callback(entry)
        return entry

    bar = None
    if progress:
        try:
            from tqdm import tqdm

            bar = tqdm(total=int(maxiter), desc="fwi", leave=False)
        except ImportError:  # pragma: no cover
            bar = None
    try:
        record(x0, 0)

        def on_iteration(xk: np.ndarray) -> None:
            entry = record(np.asarray(xk), len(records))
            if bar is not None:
                bar.update(1)
                bar.set_postfix(objective=f"{entry['objective']:.4g}")

        result = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=Bounds(lower, upper),
                          callback=on_iteration,
                          options={"maxiter": int(maxiter), "maxcor": int(lbfgs_memory),
                                   "ftol": 1e-12, "gtol": 1e-12, "maxfun": 4 * int(maxiter) + 10})
    finally:
        if bar is not None:
            bar.close()
        if owned:
            executor.close()
    final = to_model(np.asarray(result.x))
    return FWIResult(model=final, vp=final.vp, history=records, num_iterations=int(result.nit),
                     num_evaluations=state["evals"], success=bool(result.success),
                     message=str(result.message), max_nbytes=int(state["nbytes"]))
