"""FWI objective and gradient over many shots, with any wavefield-history strategy.

``f(m) = sum_i 1/2 ||F_i(m) q_i - d_i||^2`` and ``g = sum_i J_i^T (F_i(m) q_i - d_i)``
(plain sums over samples and receivers, gradient w.r.t. the squared slowness
on the physical grid). Every shot gets its *own* strategy, spawned from a
template (any :class:`~randla.apps.wave.WavefieldHistory`: full storage by
default, checkpointing, probing, the on-the-fly DFT; or a zero-argument
factory) with a seed derived from ``rng`` and the shot index
(:func:`shot_seeds`), so the result does not depend on how the shots are
scheduled (serially or on Dask). The shot's observed record reaches the
strategy through the engine's context (``context.d_obs``).

References
----------
J. Virieux and S. Operto, "An overview of full-waveform inversion in
exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.
"""

from __future__ import annotations

import contextlib
import time
from dataclasses import dataclass, field
from typing import Any, Sequence

from randla.apps.wave import FullStorage, Geometry, Model, WavefieldHistory
from randla.apps.wave import gradient as _wave_gradient

from .parallel import ShotExecutor, shot_map, shot_seeds

__all__ = ["ObjectiveInfo", "make_strategy", "objective", "shot_objective"]


@dataclass
class ObjectiveInfo:
    """Per-evaluation report of :func:`objective`.

    Attributes
    ----------
    num_shots : int
    misfits : list of float
        Per-shot objective values.
    nbytes : list of int
        Bytes held by each shot's strategy at the end of its gradient.
    seconds : list of float
        Wall time of each shot's task (on its worker).

    Examples
    --------
    >>> from randla.apps.fwi import ObjectiveInfo
    >>> ObjectiveInfo(num_shots=2, nbytes=[10, 30]).max_nbytes
    30
    """

    num_shots: int
    misfits: list = field(default_factory=list)
    nbytes: list = field(default_factory=list)
    seconds: list = field(default_factory=list)

    @property
    def max_nbytes(self) -> int:
        """Largest per-shot strategy memory (what one worker holds)."""
        return max(self.nbytes) if self.nbytes else 0


def make_strategy(history: Any = None, /, *, rng: Any = None) -> WavefieldHistory:
    """A fresh strategy for one shot from a template.

    Parameters
    ----------
    history : WavefieldHistory, callable or None
        ``None``: :class:`~randla.apps.wave.FullStorage`. A strategy:
        ``history.spawn(rng)`` (a fresh copy with the same options). A
        callable: called with no arguments.
    rng : int, numpy.random.Generator or None
        Seeds the spawned strategy.

    Returns
    -------
    WavefieldHistory

    Raises
    ------
    TypeError
        For anything else, or a factory that returns something else.

    Examples
    --------
    >>> from randla.apps.fwi import Probed, make_strategy
    >>> template = Probed(8, "rademacher")
    >>> s = make_strategy(template, rng=1)
    >>> s is template, s.num_probes
    (False, 8)
    """
    return _spawn(_check_template(history), rng)


def _check_template(history: Any) -> Any:
    if history is None or isinstance(history, WavefieldHistory) or callable(history):
        return history
    raise TypeError(f"history must be a WavefieldHistory, a factory or None, got {type(history).__name__}")


def _spawn(template: Any, rng: Any) -> WavefieldHistory:
    if template is None:
        return FullStorage()
    if isinstance(template, WavefieldHistory):
        return template.spawn(rng)
    made = template()
    if not isinstance(made, WavefieldHistory):
        raise TypeError(f"the history factory returned {type(made).__name__}, not a WavefieldHistory")
    return made


def _check_shot(geometry: Any, d_obs: Any, index: int | None = None) -> None:
    where = "" if index is None else f"[{index}]"
    if not isinstance(geometry, Geometry):
        raise TypeError(f"geometries{where} must be a randla.apps.wave.Geometry, got {type(geometry).__name__}")
    shape = tuple(getattr(d_obs, "shape", ()))
    want = (int(geometry.nt), int(geometry.nrec))
    if shape != want:
        raise ValueError(f"d_obs{where} has shape {shape} but its geometry records (nt, nrec) = {want}")


def _one_blas_thread() -> Any:
    """One BLAS thread inside a shot task: parallelism is across shots, and
    OpenBLAS/LAPACK results depend (in the last bits) on the thread count, so
    this keeps serial and Dask runs bit-identical (Dask workers run with one
    thread too). No-op without threadpoolctl."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        return contextlib.nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _shot_task(model: Model, template: Any, geometry: Geometry, d_obs: Any, seed: int, kernel: str,
               num_threads: int | None) -> tuple:
    start = time.perf_counter()
    with _one_blas_thread():
        strategy = _spawn(template, seed)
        f, g = _wave_gradient(model, geometry, d_obs, history=strategy, kernel=kernel, num_threads=num_threads)
    return f, g, int(strategy.nbytes), time.perf_counter() - start


def shot_objective(model: Model, geometry: Geometry, d_obs: Any, /, *, history: Any = None, rng: Any = None,
                   kernel: str = "auto", num_threads: int | None = None) -> tuple[float, Any]:
    """Objective and gradient of one shot through a strategy spawned from a template.

    Parameters
    ----------
    model : Model
    geometry : Geometry
    d_obs : array, shape (geometry.nt, geometry.nrec)
        Observed data on the computational time axis.
    history : WavefieldHistory, callable or None
        Template (see :func:`make_strategy`); default full storage.
    rng : int, numpy.random.Generator or None
        Seed of the shot's strategy.
    kernel, num_threads
        As :func:`randla.apps.wave.gradient`.

    Returns
    -------
    f : float
    g : array, model.shape

    Raises
    ------
    ValueError
        If ``d_obs`` is shaped unlike the geometry, and as
        :func:`randla.apps.wave.gradient`.

    Examples
    --------
    >>> from randla.apps.wave import Geometry, forward, layered_model, smooth
    >>> from randla.apps.fwi import Probed, shot_objective
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> d_obs, m0 = forward(model, geom), model.with_vp(smooth(model.vp, sigma=3.0))
    >>> f, g = shot_objective(m0, geom, d_obs, history=Probed(16, "data_qr"), rng=0)
    >>> f > 0, g.shape
    (True, (40, 30))
    """
    _check_shot(geometry, d_obs)
    history = _check_template(history)
    f, g, _, _ = _shot_task(model, history, geometry, d_obs, shot_seeds(rng, 1)[0], kernel, num_threads)
    return f, g


def objective(model: Model, geometries: Sequence[Geometry], d_obs: Sequence[Any], /, *, history: Any = None,
              rng: Any = None, parallel: Any = None, progress: bool = False, kernel: str = "auto",
              num_threads: int | None = None, return_info: bool = False) -> tuple:
    """Summed objective and gradient over shots, serially or on Dask.

    Parameters
    ----------
    model : Model
    geometries : sequence of Geometry
        One per shot.
    d_obs : sequence of arrays
        One ``(nt, nrec)`` record per shot.
    history : WavefieldHistory, callable or None
        Strategy template (:func:`make_strategy`); each shot gets its own.
    rng : int, numpy.random.Generator or None
        Per-shot seeds come from :func:`shot_seeds` (scheduling independent).
    parallel : None, "serial", "dask", address, Client, cluster or ShotExecutor
        See :class:`ShotExecutor` (default: a Dask ``LocalCluster`` when Dask
        is installed, else serial). Pass a :class:`ShotExecutor` to reuse one
        cluster across many evaluations.
    progress : bool, default False
        tqdm bar over shots.
    kernel, num_threads
        As :func:`randla.apps.wave.gradient`.
    return_info : bool, default False
        Also return an :class:`ObjectiveInfo`.

    Returns
    -------
    f : float
    g : array, model.shape
        Sum of the shots' gradients, added in shot order (identical on every
        scheduler).
    info : ObjectiveInfo
        Only with ``return_info=True``.

    Raises
    ------
    ValueError
        For no shots, a different number of records and geometries, or a
        record shaped unlike its geometry.
    TypeError
        For a bad ``history`` or ``parallel``.

    Examples
    --------
    >>> from randla.apps.wave import Geometry, forward, layered_model, smooth
    >>> from randla.apps.fwi import Probed, objective
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> shots = [Geometry(model, src_positions=[[x, 20.0]],
    ...                   rec_positions=[[r, 20.0] for r in range(0, 400, 20)], tn=0.2)
    ...          for x in (100.0, 300.0)]
    >>> d_obs = [forward(model, g) for g in shots]
    >>> m0 = model.with_vp(smooth(model.vp, sigma=3.0))
    >>> f, g = objective(m0, shots, d_obs, history=Probed(8), rng=0, parallel="serial")
    >>> f > 0, g.shape
    (True, (40, 30))
    """
    if isinstance(geometries, Geometry):
        raise TypeError("geometries must be a sequence of Geometry (one per shot); use shot_objective for one")
    shots = list(geometries)
    records = list(d_obs)
    if not shots:
        raise ValueError("geometries must hold at least one shot")
    if len(records) != len(shots):
        raise ValueError(f"d_obs must hold one record per shot ({len(shots)}), got {len(records)}")
    for i, (geom, rec) in enumerate(zip(shots, records)):
        _check_shot(geom, rec, i)
    history = _check_template(history)
    seeds = shot_seeds(rng, len(shots))
    tasks = [(geom, rec, seed, kernel, num_threads) for geom, rec, seed in zip(shots, records, seeds)]
    results = shot_map(_shot_task, tasks, parallel=parallel, shared=(model, history), progress=progress,
                       desc="shots")
    total_f, total_g = 0.0, None
    info = ObjectiveInfo(num_shots=len(shots))
    for f, g, nb, sec in results:
        total_f += f
        total_g = g if total_g is None else total_g + g
        info.misfits.append(f)
        info.nbytes.append(nb)
        info.seconds.append(sec)
    return (total_f, total_g, info) if return_info else (total_f, total_g)


def _executor(parallel: Any) -> tuple[ShotExecutor, bool]:
    if isinstance(parallel, ShotExecutor):
        return parallel, False
    return ShotExecutor(parallel), True
