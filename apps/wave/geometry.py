"""Acquisition geometry: time axis, Ricker wavelet, off-grid sources and receivers.

Sources and receivers sit anywhere inside the physical domain. Receivers read
the wavefield by multilinear (bilinear in 2-D, trilinear in 3-D) interpolation
``d = P u``; sources are injected with the transpose ``P^T``, so injection and
interpolation are exact adjoints of each other (tested to rounding).

Time convention: the time axis has ``nt`` samples ``t_n = t0 + n dt``; the
source sample ``q[n]`` drives the update from ``u^n`` to ``u^{n+1}`` and the
shot record holds ``d[n] = P u^n`` (so ``d[0] = 0``: the field starts at rest).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from randla.backend import check_finite, check_float, from_host, is_numpy, namespace

from .model import Model

__all__ = ["Geometry", "PointInterpolator", "TimeAxis", "ricker"]


@dataclass(frozen=True)
class TimeAxis:
    """Uniform time axis ``t_n = start + n step`` for ``0 <= n < num``.

    Parameters
    ----------
    start : float
        First sample time (s).
    step : float
        Time step (s), positive.
    num : int
        Number of samples (>= 2).

    Raises
    ------
    ValueError
        A non-positive or non-finite ``step``, a non-finite ``start``, or
        fewer than 2 samples.

    Examples
    --------
    >>> from randla.apps.wave import TimeAxis
    >>> axis = TimeAxis.from_stop(0.0, 1.0, 0.25)
    >>> axis.num, axis.stop
    (5, 1.0)
    """

    start: float
    step: float
    num: int

    def __post_init__(self) -> None:
        if not (math.isfinite(self.step) and self.step > 0):
            raise ValueError(f"time step must be positive and finite, got {self.step}")
        if not math.isfinite(self.start):
            raise ValueError(f"start time must be finite, got {self.start}")
        if int(self.num) != self.num or self.num < 2:
            raise ValueError(f"the time axis needs at least 2 samples, got num={self.num}")

    @classmethod
    def from_stop(cls, start: float, stop: float, step: float) -> "TimeAxis":
        """Axis from ``start`` to (at least) ``stop`` with spacing ``step``."""
        if not (math.isfinite(stop) and stop > start):
            raise ValueError(f"stop time must be > start, got start={start}, stop={stop}")
        if not (math.isfinite(step) and step > 0):
            raise ValueError(f"time step must be positive and finite, got {step}")
        num = int(math.ceil((stop - start) / step - 1e-9)) + 1
        return cls(float(start), float(step), max(num, 2))

    @property
    def stop(self) -> float:
        return self.start + (self.num - 1) * self.step

    @property
    def values(self) -> np.ndarray:
        """Sample times as a host float64 array."""
        return self.start + self.step * np.arange(self.num, dtype=np.float64)


def ricker(times: Any, /, *, f0: float, delay: float | None = None) -> Any:
    """Ricker wavelet ``(1 - 2 a) exp(-a)``, ``a = (pi f0 (t - delay))^2``.

    Parameters
    ----------
    times : array
        Sample times (s), any array-API backend.
    f0 : float
        Peak frequency (Hz), positive.
    delay : float, optional
        Time of the peak; default ``1 / f0``.

    Returns
    -------
    array
        Same shape, dtype and backend as ``times``.

    Raises
    ------
    ValueError
        If ``f0`` is not positive.

    References
    ----------
    N. Ricker, "Further developments in the wavelet theory of seismogram
    structure", Bulletin of the Seismological Society of America 33, 1943.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import ricker
    >>> w = ricker(np.linspace(0.0, 0.2, 201), f0=10.0)
    >>> round(float(w.max()), 6), int(np.argmax(w))
    (1.0, 100)
    """
    xp = namespace(times=times)
    check_float(times, "times")
    if not (math.isfinite(f0) and f0 > 0):
        raise ValueError(f"f0 must be positive, got {f0}")
    d = 1.0 / f0 if delay is None else float(delay)
    arg = (math.pi * f0 * (times - d)) ** 2
    return (1.0 - 2.0 * arg) * xp.exp(-arg)


def _as_positions(positions: Any, ndim: int, name: str) -> np.ndarray:
    try:
        pos = np.asarray(positions, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be an array of coordinates (host array-like)") from None
    if pos.ndim == 1:
        pos = pos.reshape(1, -1)
    if pos.ndim != 2 or pos.shape[1] != ndim or pos.shape[0] < 1:
        raise ValueError(f"{name} must have shape (num_points, {ndim}), got {np.shape(positions)}")
    if not np.all(np.isfinite(pos)):
        raise ValueError(f"{name} contains NaN or infinite coordinates")
    return pos


class PointInterpolator:
    """Multilinear interpolation at off-grid points, and its exact adjoint.

    Parameters
    ----------
    model : Model
        Grid the points live on.
    positions : array-like, shape (num_points, ndim)
        Physical coordinates (m). Each point must lie inside the physical
        domain ``[origin, origin + (shape - 1) spacing]`` (a relative tolerance
        of 1e-9 of the extent is allowed).
    name : str
        Used in error messages.

    Attributes
    ----------
    positions : numpy.ndarray
        The coordinates, (num_points, ndim) float64 on the host.
    indices : numpy.ndarray
        (num_points, 2**ndim, ndim) int64: the surrounding padded-grid points.
    weights : numpy.ndarray
        (num_points, 2**ndim) float64 multilinear weights (sum to one).

    Raises
    ------
    ValueError
        For points outside the domain or badly shaped coordinates.
    TypeError
        If ``model`` is not a :class:`Model`.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Model, PointInterpolator
    >>> model = Model(np.full((5, 5), 1500.0), spacing=10.0, nbl=0)
    >>> interp = PointInterpolator(model, [[15.0, 20.0]])
    >>> u = np.add.outer(np.arange(5.0), np.zeros(5))  # u = x / 10
    >>> interp.interpolate(u).tolist()
    [1.5]
    """

    def __init__(self, model: Model, positions: Any, *, name: str = "positions") -> None:
        if not isinstance(model, Model):
            raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
        ndim = model.ndim
        pos = _as_positions(positions, ndim, name)
        origin = np.asarray(model.origin)
        spacing = np.asarray(model.spacing)
        extent = np.asarray(model.domain_size)
        rel = (pos - origin) / spacing  # fractional physical-grid index
        tol = 1e-9 * (np.asarray(model.shape) - 1)
        bad = np.any((rel < -tol) | (rel > (np.asarray(model.shape) - 1) + tol), axis=1)
        if np.any(bad):
            k = int(np.argmax(bad))
            raise ValueError(
                f"{name}[{k}] = {pos[k].tolist()} lies outside the physical domain "
                f"[{origin.tolist()}, {(origin + extent).tolist()}]"
            )
        rel = np.clip(rel, 0.0, np.asarray(model.shape) - 1.0)
        base = np.minimum(np.floor(rel).astype(np.int64), np.asarray(model.shape) - 2)
        frac = rel - base
        corners = np.array(np.meshgrid(*([[0, 1]] * ndim), indexing="ij")).reshape(ndim, -1).T
        idx = base[:, None, :] + corners[None, :, :] + model.nbl
        w = np.prod(np.where(corners[None, :, :] == 1, frac[:, None, :], 1.0 - frac[:, None, :]), axis=2)
        self.positions = pos
        self.indices = idx
        self.weights = w
        self._model = model
        self._dense_cache: dict = {}

    @property
    def num_points(self) -> int:
        return int(self.positions.shape[0])

    def flat_indices(self, shape: Sequence[int], offset: int = 0) -> np.ndarray:
        """Flat C-order indices of the corners in an array of ``shape`` whose
        padded-grid origin sits at ``offset`` along every axis (kernels use
        ``offset = radius`` for their halo)."""
        idx = self.indices + offset
        flat = np.zeros(idx.shape[:2], dtype=np.int64)
        for axis, n in enumerate(shape):
            flat = flat * int(n) + idx[:, :, axis]
        return flat

    def _matrix(self, xp: Any, dtype: Any, device: Any, *, shape: Sequence[int] | None = None,
                offset: int = 0) -> Any:
        """Dense ``(num_points, prod(shape))`` interpolation matrix (array-API
        path) on a grid of ``shape`` (default the padded grid) whose padded
        origin sits at ``offset``; cached per namespace, dtype, device and grid."""
        shape = tuple(self._model.padded_shape if shape is None else shape)
        key = (id(xp), str(dtype), str(device), shape, offset)
        if key not in self._dense_cache:
            mat = np.zeros((self.num_points, int(np.prod(shape))), dtype=np.float64)
            flat = self.flat_indices(shape, offset)
            rows = np.repeat(np.arange(self.num_points), flat.shape[1])
            np.add.at(mat, (rows, flat.ravel()), self.weights.ravel())
            self._dense_cache[key] = from_host(mat, xp, dtype=dtype, device=device)
        return self._dense_cache[key]

    def interpolate(self, u: Any, /) -> Any:
        """Values at the points of a padded-grid field ``u`` (leading axes are
        batch axes): ``P u``, shape ``u.shape[:-ndim] + (num_points,)``."""
        model = self._model
        xp = namespace(u=u)
        check_float(u, "u")
        shape = model.padded_shape
        if tuple(u.shape[-model.ndim:]) != shape:
            raise ValueError(f"u must end with the padded grid shape {shape}, got {tuple(u.shape)}")
        lead = tuple(u.shape[:-model.ndim])
        flat = xp.reshape(u, lead + (-1,))
        if is_numpy(xp):
            idx = self.flat_indices(shape)
            vals = np.asarray(flat)[..., idx]  # (..., npts, corners)
            return np.sum(vals * self.weights.astype(vals.dtype), axis=-1)
        mat = self._matrix(xp, u.dtype, u.device if hasattr(u, "device") else None)
        return xp.matmul(flat, xp.permute_dims(mat, (1, 0)))

    def inject(self, values: Any, /) -> Any:
        """Padded-grid field ``P^T values`` (leading axes are batch axes)."""
        model = self._model
        xp = namespace(values=values)
        check_float(values, "values")
        if values.ndim < 1 or int(values.shape[-1]) != self.num_points:
            raise ValueError(f"values must end with num_points = {self.num_points}, got {tuple(values.shape)}")
        lead = tuple(values.shape[:-1])
        shape = model.padded_shape
        if is_numpy(xp):
            idx = self.flat_indices(shape)
            vals = np.asarray(values).reshape(-1, self.num_points)
            out = np.zeros((vals.shape[0], int(np.prod(shape))), dtype=vals.dtype)
            contrib = vals[:, :, None] * self.weights.astype(vals.dtype)
            for c in range(idx.shape[1]):
                np.add.at(out, (slice(None), idx[:, c]), contrib[:, :, c])
            return out.reshape(lead + shape)
        mat = self._matrix(xp, values.dtype, values.device if hasattr(values, "device") else None)
        return xp.reshape(xp.matmul(values, mat), lead + shape)


class Geometry:
    """One shot: source and receiver positions, time axis and source wavelets.

    Parameters
    ----------
    model : Model
        The grid (and velocity, for the CFL check and the default ``dt``).
    src_positions : array-like, shape (nsrc, ndim)
        Source coordinates (m); several sources fire simultaneously.
    rec_positions : array-like, shape (nrec, ndim)
        Receiver coordinates (m).
    tn : float
        Recording time (s): the axis runs from ``t0`` to at least ``tn``.
    dt : float, optional
        Time step (s). Default: ``0.9 * model.critical_dt`` (CFL).
    t0 : float, default 0
        Start time (s).
    f0 : float, default 10
        Peak frequency (Hz) of the default Ricker wavelet (delayed by ``1/f0``).
    wavelet : array, shape (nt, nsrc), optional
        Source time functions, same backend and device as ``model.vp``;
        replaces the Ricker wavelet.

    Attributes
    ----------
    time_axis : TimeAxis
    nt, dt : int, float
    src, rec : PointInterpolator
    wavelet : array (nt, nsrc)

    Raises
    ------
    ValueError
        If ``dt`` exceeds the CFL limit of the model, positions lie outside
        the domain, ``f0`` is not below the Nyquist frequency ``1 / (2 dt)``,
        or ``wavelet`` has the wrong shape.
    TypeError
        If ``wavelet`` lives on another backend than the model.

    References
    ----------
    M. Louboutin et al., "Devito (v3.1.0)", Geoscientific Model Development
    12, 1165-1187, 2019 (``AcquisitionGeometry``).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, Model
    >>> model = Model(np.full((50, 40), 1500.0, dtype=np.float32), spacing=10.0, nbl=10)
    >>> geom = Geometry(model, src_positions=[[250.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 500, 10)], tn=0.3, f0=15.0)
    >>> geom.nsrc, geom.nrec, geom.wavelet.shape == (geom.nt, 1)
    (1, 50, True)
    """

    def __init__(
        self,
        model: Model,
        /,
        *,
        src_positions: Any,
        rec_positions: Any,
        tn: float,
        dt: float | None = None,
        t0: float = 0.0,
        f0: float = 10.0,
        wavelet: Any = None,
    ) -> None:
        if not isinstance(model, Model):
            raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
        crit = model.critical_dt
        if dt is None:
            dt = 0.9 * crit
        dt = float(dt)
        if not (math.isfinite(dt) and dt > 0):
            raise ValueError(f"dt must be positive and finite, got {dt}")
        check_cfl(model, dt)
        self.time_axis = TimeAxis.from_stop(float(t0), float(tn), dt)
        self.src = PointInterpolator(model, src_positions, name="src_positions")
        self.rec = PointInterpolator(model, rec_positions, name="rec_positions")
        self.f0 = float(f0)
        if wavelet is None:
            if not (math.isfinite(self.f0) and 0 < self.f0 < 0.5 / dt):
                raise ValueError(f"f0 must be in (0, Nyquist = {0.5 / dt:g} Hz), got {f0}")
            times = from_host(self.time_axis.values, model.xp, dtype=model.dtype, device=model.device)
            w = ricker(times, f0=self.f0)
            wavelet = model.xp.broadcast_to(w[:, None], (self.nt, self.nsrc))
            wavelet = model.xp.asarray(wavelet, copy=True)
        else:
            namespace(wavelet=wavelet, model_vp=model.vp)
            check_float(wavelet, "wavelet")
            if tuple(wavelet.shape) != (self.nt, self.nsrc):
                raise ValueError(
                    f"wavelet must have shape (nt, nsrc) = {(self.nt, self.nsrc)}, got {tuple(wavelet.shape)}"
                )
            if wavelet.dtype != model.dtype:
                raise TypeError(f"wavelet must have the model's dtype {model.dtype}, got {wavelet.dtype}")
            check_finite(wavelet, "wavelet")
        self.wavelet = wavelet
        self._grid_key = model.grid_key()

    @property
    def nt(self) -> int:
        return self.time_axis.num

    @property
    def dt(self) -> float:
        return self.time_axis.step

    @property
    def nsrc(self) -> int:
        return self.src.num_points

    @property
    def nrec(self) -> int:
        return self.rec.num_points

    @property
    def src_positions(self) -> np.ndarray:
        return self.src.positions

    @property
    def rec_positions(self) -> np.ndarray:
        return self.rec.positions

    def with_wavelet(self, wavelet: Any, /) -> "Geometry":
        """Same positions and time axis, new source wavelets (nt, nsrc)."""
        new = object.__new__(Geometry)
        new.__dict__.update(self.__dict__)
        namespace(wavelet=wavelet, old=self.wavelet)
        check_float(wavelet, "wavelet")
        if tuple(wavelet.shape) != (self.nt, self.nsrc):
            raise ValueError(f"wavelet must have shape {(self.nt, self.nsrc)}, got {tuple(wavelet.shape)}")
        if wavelet.dtype != self.wavelet.dtype:
            raise TypeError(f"wavelet must have dtype {self.wavelet.dtype}, got {wavelet.dtype}")
        check_finite(wavelet, "wavelet")
        new.wavelet = wavelet
        return new

    def check_model(self, model: Model) -> None:
        """Raise ``ValueError`` unless ``model`` has this geometry's grid and
        ``dt`` is stable for its (possibly updated) velocity."""
        if not isinstance(model, Model):
            raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
        if model.grid_key() != self._grid_key:
            raise ValueError(
                "geometry was built for another grid (shape, spacing, origin, nbl or "
                f"space_order differ): {self._grid_key} vs {model.grid_key()}"
            )
        check_cfl(model, self.dt)

    def __repr__(self) -> str:
        return f"Geometry(nsrc={self.nsrc}, nrec={self.nrec}, nt={self.nt}, dt={self.dt:g})"


def check_cfl(model: Model, dt: float) -> None:
    """Raise ``ValueError`` if ``dt`` exceeds the CFL limit of ``model``."""
    crit = model.critical_dt
    if dt > crit * (1.0 + 1e-12):
        raise ValueError(
            f"dt = {dt:.6g} s exceeds the CFL stability limit {crit:.6g} s of this model "
            f"(vmax = {model.vmax:g} m/s, spacing = {model.spacing}, space_order = "
            f"{model.space_order}); use dt <= model.critical_dt"
        )
