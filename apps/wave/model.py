"""Velocity models on regular grids with an absorbing sponge layer.

Conventions
-----------
* SI units: velocity in m/s, spacing and positions in m, time in s.
* Axis order ``(x, z)`` in 2-D and ``(x, y, z)`` in 3-D: depth ``z`` is the
  last (contiguous) axis, as in Devito.
* The computational ("padded") grid extends the physical grid by ``nbl`` points
  on every side. The squared slowness ``m = 1 / vp**2`` is extended into the
  layer by edge replication (the linear map :meth:`Model.pad`, whose adjoint
  :meth:`Model.pad_adjoint` maps padded-grid gradients back to the physical
  grid), and the layer carries the sponge damping ``damp`` of the equation
  ``m u_tt - lap(u) + damp u_t = q``.

Sponge layer
------------
``damp = m * eta`` with the quadratic damping rate
``eta(x) = 3 vp ln(1/R) / L * sum_axes (d_a / L_a)^2``, where ``d_a`` is the
distance into the layer along axis ``a`` and ``L_a = nbl * h_a``: a plane wave
crossing the layer twice is attenuated by ``R`` (``reflection``, default 0.03)
in the continuous limit. ``damp`` is computed once from the model's velocity
and then *frozen*: :meth:`Model.with_vp` keeps it, so ``damp`` does not depend
on ``m`` and gradients with respect to ``m`` are exact.

Measured reflection level (2-D, space order 8, 10 m grid, vp = 2000 m/s,
15 Hz Ricker, source 60 m below the top of a 400 m x 400 m domain, receiver
150 m away at the same depth; largest difference to a reference computed on a
domain large enough that nothing returns in 0.45 s, relative to the direct
wave's peak; ``tests/apps/wave/test_wave_model.py::test_sponge_reflection_level``):

=====  ================  ==================
nbl    reflection level  (in dB)
=====  ================  ==================
10     8.9 %             -21 dB
20     2.4 %             -32 dB
40     0.33 %            -50 dB
=====  ================  ==================

Most of what returns is reflected by the onset of the damping inside the
layer, not transmitted through it: a smaller ``R`` (stronger damping) reflects
*more* on thin layers (``R = 1e-3``: 12.8 %, 3.8 %, 0.64 %).

References
----------
C. Cerjan, D. Kosloff, R. Kosloff and M. Reshef, "A nonreflecting boundary
condition for discrete acoustic and elastic wave equations", Geophysics 50(4),
705-708, 1985.

M. Louboutin et al., "Devito (v3.1.0): an embedded domain-specific language
for finite differences and geophysical exploration", Geoscientific Model
Development 12, 1165-1187, 2019.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from randla._compat import (
    array_namespace,
    check_finite,
    check_float,
    device_of,
    from_host,
    is_numpy,
    namespace,
    numpy_dtype,
)

from .stencil import _check_space_order, stencil_bound

__all__ = [
    "Model",
    "layered_anomaly_model",
    "layered_model",
    "overthrust_model",
    "smooth",
]


def _as_tuple(value: Any, ndim: int, name: str, *, positive: bool) -> tuple[float, ...]:
    if np.isscalar(value):
        vals = (float(value),) * ndim
    else:
        vals = tuple(float(v) for v in value)
    if len(vals) != ndim:
        raise ValueError(f"{name} must have {ndim} entries (one per axis), got {len(vals)}")
    for v in vals:
        if not math.isfinite(v) or (positive and v <= 0):
            kind = "positive and finite" if positive else "finite"
            raise ValueError(f"{name} entries must be {kind}, got {vals}")
    return vals


def _index(ndim_total: int, axis: int, sl: slice) -> tuple:
    idx = [slice(None)] * ndim_total
    idx[axis] = sl
    return tuple(idx)


class Model:
    """Velocity model on a regular grid, with an absorbing sponge layer.

    Parameters
    ----------
    vp : array, shape (nx, nz) or (nx, ny, nz)
        P-wave velocity in m/s on the physical grid; float32 or float64, any
        array-API backend (NumPy, CuPy, torch, ...). Must be positive and finite.
    spacing : float or sequence of float
        Grid spacing per axis (m).
    origin : sequence of float, optional
        Physical coordinates of grid point 0 (default zeros).
    nbl : int, default 40
        Number of absorbing-layer points added on every side.
    space_order : int, default 8
        Even spatial order 2..16 of the Laplacian.
    reflection : float, default 0.03
        Target (continuous) round-trip reflection coefficient of the sponge.

    Attributes
    ----------
    shape, padded_shape : tuple of int
        Physical and computational grid shapes (``padded = shape + 2 nbl``).
    m : array
        Squared slowness ``1 / vp**2`` on the physical grid (the parameter
        the Jacobian and gradients refer to).
    damp : array
        Sponge coefficient on the padded grid (zero in the physical region).
    critical_dt : float
        Largest stable time step (s) of the leapfrog scheme.

    Raises
    ------
    ValueError
        On non-positive or non-finite velocity, wrong ``spacing``/``origin``
        length, negative ``nbl``, unsupported ``space_order``, or a grid axis
        with fewer than 2 points.
    TypeError
        If ``vp`` is not a float32/float64 array.

    Notes
    -----
    Treat a model as immutable: change the velocity with :meth:`with_vp` /
    :meth:`with_m` (which keep the sponge), never by writing into ``vp``. The
    operators cache the coefficient arrays of the two most recently used
    models.

    References
    ----------
    J. Virieux and S. Operto, "An overview of full-waveform inversion in
    exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Model
    >>> model = Model(np.full((50, 40), 1500.0, dtype=np.float32), spacing=10.0, nbl=10)
    >>> model.padded_shape
    (70, 60)
    >>> round(model.critical_dt * 1e3, 4)  # ms
    3.6975
    """

    def __init__(
        self,
        vp: Any,
        /,
        *,
        spacing: float | Sequence[float],
        origin: Sequence[float] | None = None,
        nbl: int = 40,
        space_order: int = 8,
        reflection: float = 0.03,
    ) -> None:
        xp = namespace(vp=vp)
        check_float(vp, "vp")
        if vp.ndim not in (2, 3):
            raise ValueError(f"vp must be 2-D or 3-D, got shape {tuple(vp.shape)}")
        if any(int(n) < 2 for n in vp.shape):
            raise ValueError(f"vp needs at least 2 points per axis, got shape {tuple(vp.shape)}")
        check_finite(vp, "vp")
        vmin = float(xp.min(vp))
        if vmin <= 0:
            raise ValueError(f"vp must be positive everywhere, found minimum {vmin}")
        ndim = vp.ndim
        self._spacing = _as_tuple(spacing, ndim, "spacing", positive=True)
        self._origin = _as_tuple(0.0 if origin is None else origin, ndim, "origin", positive=False)
        if int(nbl) != nbl or nbl < 0:
            raise ValueError(f"nbl must be a non-negative integer, got {nbl!r}")
        self._nbl = int(nbl)
        self._space_order = _check_space_order(space_order)
        reflection = float(reflection)
        if not 0.0 < reflection < 1.0:
            raise ValueError(f"reflection must be in (0, 1), got {reflection}")
        self._reflection = reflection
        self._xp = xp
        self._vp = vp
        self._vmax = float(xp.max(vp))
        self._damp = self._make_damp()

    # -- construction helpers ------------------------------------------------

    def _make_damp(self) -> Any:
        xp, nbl = self._xp, self._nbl
        pshape = self.padded_shape
        total = None
        for axis, (n, h) in enumerate(zip(self.shape, self._spacing)):
            prof = np.zeros(pshape[axis], dtype=np.float64)
            if nbl > 0:
                length = nbl * h
                dist = np.arange(nbl, 0, -1, dtype=np.float64)  # nbl..1 grid points into the layer
                val = 3.0 * math.log(1.0 / self._reflection) / length * (dist / nbl) ** 2
                prof[:nbl] = val
                prof[nbl + n:] = val[::-1]
            shp = [1] * self.ndim
            shp[axis] = pshape[axis]
            arr = from_host(prof.reshape(shp), xp, dtype=self.dtype, device=self.device)
            total = arr if total is None else total + arr
        # damp = m * eta with eta = (3 vp ln(1/R) / L) (d/L)^2  ->  damp = profile / vp
        damp = total / self.pad(self._vp)
        return damp

    def with_vp(self, vp: Any, /) -> "Model":
        """Same grid, sponge (``damp`` frozen) and space order; new velocity.

        Raises
        ------
        ValueError
            If ``vp`` has another shape or is not positive and finite.
        TypeError
            If ``vp`` lives on another backend or has another dtype.
        """
        xp = namespace(vp=vp, model_vp=self._vp)
        check_float(vp, "vp")
        if tuple(vp.shape) != self.shape:
            raise ValueError(f"vp must have shape {self.shape}, got {tuple(vp.shape)}")
        if vp.dtype != self.dtype:
            raise TypeError(f"vp must have dtype {self.dtype}, got {vp.dtype}")
        check_finite(vp, "vp")
        vmin = float(xp.min(vp))
        if vmin <= 0:
            raise ValueError(f"vp must be positive everywhere, found minimum {vmin}")
        new = object.__new__(Model)
        new.__dict__.update(self.__dict__)
        new._vp = vp
        new._vmax = float(xp.max(vp))
        new.__dict__.pop("_m", None)
        return new

    def with_m(self, m: Any, /) -> "Model":
        """:meth:`with_vp` from the squared slowness ``m = 1 / vp**2`` (s^2/m^2)."""
        xp = namespace(m=m)
        check_float(m, "m")
        check_finite(m, "m")
        mmin = float(xp.min(m))
        if mmin <= 0:
            raise ValueError(f"m must be positive everywhere, found minimum {mmin}")
        return self.with_vp(1.0 / xp.sqrt(m))

    # -- properties -----------------------------------------------------------

    @property
    def xp(self) -> Any:
        """Array namespace of the model's arrays."""
        return self._xp

    @property
    def device(self) -> Any:
        """Device of the model's arrays."""
        return device_of(self._vp)

    @property
    def dtype(self) -> Any:
        """float32 or float64 (of the model's namespace)."""
        return self._vp.dtype

    @property
    def vp(self) -> Any:
        """Velocity (m/s) on the physical grid."""
        return self._vp

    @property
    def m(self) -> Any:
        """Squared slowness ``1 / vp**2`` on the physical grid."""
        if "_m" not in self.__dict__:
            self._m = 1.0 / (self._vp * self._vp)
        return self._m

    @property
    def damp(self) -> Any:
        """Sponge coefficient on the padded grid (units of ``m`` / s)."""
        return self._damp

    @property
    def ndim(self) -> int:
        return self._vp.ndim

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(int(n) for n in self._vp.shape)

    @property
    def padded_shape(self) -> tuple[int, ...]:
        return tuple(n + 2 * self._nbl for n in self.shape)

    @property
    def spacing(self) -> tuple[float, ...]:
        return self._spacing

    @property
    def origin(self) -> tuple[float, ...]:
        return self._origin

    @property
    def nbl(self) -> int:
        return self._nbl

    @property
    def space_order(self) -> int:
        return self._space_order

    @property
    def reflection(self) -> float:
        return self._reflection

    @property
    def vmax(self) -> float:
        """Largest velocity (m/s)."""
        return self._vmax

    @property
    def domain_size(self) -> tuple[float, ...]:
        """Physical extent ``(n - 1) * h`` per axis (m)."""
        return tuple((n - 1) * h for n, h in zip(self.shape, self._spacing))

    @property
    def critical_dt(self) -> float:
        """CFL limit ``2 / (vmax sqrt(bound * sum_a 1/h_a^2))`` in s.

        ``bound`` is :func:`~randla.apps.wave.stencil_bound` (the spectral
        radius of the 1-D stencil times ``h^2``), so the limit is sharp for a
        homogeneous model; the sponge only adds dissipation.
        """
        bound = stencil_bound(self._space_order)
        lam = bound * sum(1.0 / (h * h) for h in self._spacing)
        return 2.0 / (self._vmax * math.sqrt(lam))

    def grid_key(self) -> tuple:
        """Hashable description of the grid (shape, spacing, origin, nbl, order)."""
        return (self.shape, self._spacing, self._origin, self._nbl, self._space_order)

    def __repr__(self) -> str:
        return (f"Model(shape={self.shape}, spacing={self._spacing}, origin={self._origin}, "
                f"nbl={self._nbl}, space_order={self._space_order}, "
                f"dtype={numpy_dtype(self._xp, self.dtype)}, vmax={self._vmax:g})")

    # -- padding maps ----------------------------------------------------------

    def _check_field(self, x: Any, name: str, shape: tuple[int, ...]) -> Any:
        xp = namespace(**{name: x, "model_vp": self._vp})
        if tuple(x.shape[-self.ndim:]) != shape or x.ndim < self.ndim:
            raise ValueError(f"{name} must end with shape {shape}, got {tuple(x.shape)}")
        return xp

    def pad(self, x: Any, /) -> Any:
        """Edge-replicate the last ``ndim`` axes of ``x`` from the physical to
        the padded grid (the linear map ``E``; leading axes are batch axes).

        Examples
        --------
        >>> import numpy as np
        >>> from randla.apps.wave import Model
        >>> model = Model(np.full((3, 4), 2000.0), spacing=5.0, nbl=1)
        >>> model.pad(np.arange(12.0).reshape(3, 4)).shape
        (5, 6)
        """
        xp = self._check_field(x, "x", self.shape)
        return _edge_pad(x, self._nbl, self.ndim, xp)

    def pad_adjoint(self, x: Any, /) -> Any:
        """Adjoint ``E^T`` of :meth:`pad`: sums the layer into the edge cells.

        Examples
        --------
        >>> import numpy as np
        >>> from randla.apps.wave import Model
        >>> model = Model(np.full((3, 4), 2000.0), spacing=5.0, nbl=2)
        >>> float(model.pad_adjoint(np.ones(model.padded_shape)).sum())
        56.0
        """
        xp = self._check_field(x, "x", self.padded_shape)
        nbl, ndim = self._nbl, self.ndim
        if nbl == 0:
            return x
        out = x
        for k in range(ndim):
            axis = out.ndim - ndim + k
            n = self.shape[k]
            first = xp.sum(out[_index(out.ndim, axis, slice(0, nbl + 1))], axis=axis, keepdims=True)
            last = xp.sum(out[_index(out.ndim, axis, slice(nbl + n - 1, None))], axis=axis, keepdims=True)
            core = out[_index(out.ndim, axis, slice(nbl + 1, nbl + n - 1))]
            out = xp.concat([first, core, last], axis=axis)
        return out

    def crop(self, x: Any, /) -> Any:
        """The physical part of a padded-grid array (last ``ndim`` axes)."""
        self._check_field(x, "x", self.padded_shape)
        nbl = self._nbl
        idx = (Ellipsis,) + tuple(slice(nbl, nbl + n) for n in self.shape)
        return x[idx]


def _edge_pad(x: Any, nbl: int, ndim: int, xp: Any) -> Any:
    if nbl == 0:
        return x
    if is_numpy(xp):  # native fast path: one allocation
        return np.pad(np.asarray(x), [(0, 0)] * (x.ndim - ndim) + [(nbl, nbl)] * ndim, mode="edge")
    out = x
    for k in range(ndim):
        axis = out.ndim - ndim + k
        shape = list(out.shape)
        shape[axis] = nbl
        lo = xp.broadcast_to(out[_index(out.ndim, axis, slice(0, 1))], tuple(shape))
        hi = xp.broadcast_to(out[_index(out.ndim, axis, slice(-1, None))], tuple(shape))
        out = xp.concat([lo, out, hi], axis=axis)
    return out


# -- smoothing ----------------------------------------------------------------------


def smooth(x: Any, /, *, sigma: float | Sequence[float]) -> Any:
    """Gaussian smoothing with edge replication (e.g. for starting models).

    Parameters
    ----------
    x : array
        Field to smooth (any array-API backend, float dtype).
    sigma : float or sequence of float
        Standard deviation in grid points, per axis or for all; 0 leaves an
        axis untouched. The kernel is truncated at 3 sigma and normalised, so
        constants are preserved.

    Returns
    -------
    array
        Smoothed field, same shape, dtype and backend.

    Raises
    ------
    ValueError
        If ``sigma`` is negative or has the wrong length.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import smooth
    >>> x = np.zeros(11); x[5] = 1.0
    >>> y = smooth(x, sigma=1.0)
    >>> round(float(y.sum()), 6), round(float(y[5]), 4)
    (1.0, 0.3991)
    """
    xp = namespace(x=x)
    check_float(x, "x")
    sig = _as_tuple(sigma, x.ndim, "sigma", positive=False)
    if any(s < 0 for s in sig):
        raise ValueError(f"sigma must be >= 0, got {sig}")
    out = x
    for axis, s in enumerate(sig):
        if s == 0:
            continue
        half = max(1, int(math.ceil(3.0 * s)))
        taps = np.exp(-0.5 * (np.arange(-half, half + 1) / s) ** 2)
        taps /= taps.sum()
        n = out.shape[axis]
        shape = list(out.shape)
        shape[axis] = half
        lo = xp.broadcast_to(out[_index(out.ndim, axis, slice(0, 1))], tuple(shape))
        hi = xp.broadcast_to(out[_index(out.ndim, axis, slice(-1, None))], tuple(shape))
        padded = xp.concat([lo, out, hi], axis=axis)
        acc = None
        for k, wk in enumerate(taps):
            term = float(wk) * padded[_index(out.ndim, axis, slice(k, k + n))]
            acc = term if acc is None else acc + term
        out = acc
    return out


# -- model builders ---------------------------------------------------------------


def _builder_namespace(xp: Any, device: Any, dtype: Any) -> tuple[Any, Any, Any]:
    if xp is None:
        xp = array_namespace(np.empty(0))
    if dtype is None:
        dtype = xp.float32
    if dtype not in (xp.float32, xp.float64):
        raise TypeError(f"dtype must be float32 or float64 of the namespace, got {dtype!r}")
    return xp, device, dtype


def _check_shape(shape: Sequence[int]) -> tuple[int, ...]:
    shp = tuple(int(n) for n in shape)
    if len(shp) not in (2, 3) or any(n < 2 for n in shp) or shp != tuple(shape):
        raise ValueError(f"shape must be 2 or 3 integers >= 2, got {tuple(shape)}")
    return shp


def _layer_velocity(depth_index: np.ndarray, interfaces: np.ndarray, velocities: np.ndarray) -> np.ndarray:
    layer = np.searchsorted(interfaces, depth_index, side="right")
    return velocities[layer]


def _check_velocities(velocities: Sequence[float]) -> np.ndarray:
    v = np.asarray(velocities, dtype=np.float64).ravel()
    if v.size < 1 or not np.all(np.isfinite(v)) or np.any(v <= 0):
        raise ValueError(f"velocities must be positive and finite, got {velocities!r}")
    return v


def _finish(vp: np.ndarray, xp: Any, device: Any, dtype: Any, spacing, origin, nbl, space_order) -> Model:
    arr = from_host(vp, xp, dtype=dtype, device=device)
    return Model(arr, spacing=spacing, origin=origin, nbl=nbl, space_order=space_order)


def layered_model(
    shape: Sequence[int],
    /,
    *,
    spacing: float | Sequence[float],
    velocities: Sequence[float] = (1500.0, 2000.0, 2500.0, 3000.0),
    interfaces: Sequence[float] | None = None,
    origin: Sequence[float] | None = None,
    nbl: int = 40,
    space_order: int = 8,
    xp: Any = None,
    device: Any = None,
    dtype: Any = None,
) -> Model:
    """Horizontally layered model (velocity constant per layer).

    Parameters
    ----------
    shape : tuple of int
        Physical grid shape ``(nx, nz)`` or ``(nx, ny, nz)``.
    spacing : float or sequence of float
        Grid spacing (m).
    velocities : sequence of float
        Velocity of each layer from top to bottom (m/s).
    interfaces : sequence of float, optional
        Depths (m, relative to the origin) of the ``len(velocities) - 1``
        interfaces; default: equally spaced.
    origin, nbl, space_order
        See :class:`Model`.
    xp, device, dtype
        Namespace, device and dtype of the model (default NumPy, float32). The
        model is built on the host and moved once with
        :func:`randla._compat.from_host`.

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        On bad shapes, velocities or interfaces.

    Examples
    --------
    >>> from randla.apps.wave import layered_model
    >>> model = layered_model((60, 40), spacing=10.0, velocities=(1500.0, 2500.0), nbl=10)
    >>> float(model.vp[0, 0]), float(model.vp[0, -1])
    (1500.0, 2500.0)
    """
    xp, device, dtype = _builder_namespace(xp, device, dtype)
    shp = _check_shape(shape)
    h = _as_tuple(spacing, len(shp), "spacing", positive=True)
    v = _check_velocities(velocities)
    depth = np.arange(shp[-1]) * h[-1]
    if interfaces is None:
        zi = np.linspace(0.0, depth[-1], v.size + 1)[1:-1]
    else:
        zi = np.asarray(interfaces, dtype=np.float64).ravel()
        if zi.size != v.size - 1 or np.any(np.diff(zi) < 0):
            raise ValueError(
                f"interfaces must be {v.size - 1} non-decreasing depths (one fewer than "
                f"velocities), got {interfaces!r}"
            )
    col = _layer_velocity(depth, zi, v)
    vp = np.broadcast_to(col, shp).copy()
    return _finish(vp, xp, device, dtype, h, origin, nbl, space_order)


def layered_anomaly_model(
    shape: Sequence[int],
    /,
    *,
    spacing: float | Sequence[float],
    velocities: Sequence[float] = (1500.0, 2000.0, 2500.0, 3000.0),
    anomaly: float = 0.15,
    center: Sequence[float] | None = None,
    radius: float | None = None,
    origin: Sequence[float] | None = None,
    nbl: int = 40,
    space_order: int = 8,
    xp: Any = None,
    device: Any = None,
    dtype: Any = None,
) -> Model:
    """Layered model with a circular (spherical) velocity anomaly.

    Parameters
    ----------
    anomaly : float, default 0.15
        Relative velocity perturbation inside the anomaly (``> -1``).
    center : sequence of float, optional
        Anomaly centre in m relative to the origin (default: grid centre).
    radius : float, optional
        Anomaly radius in m (default: an eighth of the smallest extent).
    Other parameters
        As :func:`layered_model`.

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        If ``anomaly <= -1`` or ``radius <= 0``, and as :func:`layered_model`.

    Examples
    --------
    >>> from randla.apps.wave import layered_anomaly_model
    >>> model = layered_anomaly_model((61, 41), spacing=10.0, anomaly=0.2, nbl=5)
    >>> float(model.vp[30, 20]), float(model.vp[0, 20])  # 2500 m/s layer, +20% inside
    (3000.0, 2500.0)
    """
    base = layered_model(shape, spacing=spacing, velocities=velocities, origin=origin, nbl=nbl,
                         space_order=space_order, dtype=None)
    shp, h = base.shape, base.spacing
    if not anomaly > -1.0:
        raise ValueError(f"anomaly must be > -1 (relative perturbation), got {anomaly}")
    ext = [(n - 1) * s for n, s in zip(shp, h)]
    c = [e / 2 for e in ext] if center is None else list(_as_tuple(center, len(shp), "center", positive=False))
    r = min(ext) / 8.0 if radius is None else float(radius)
    if not r > 0:
        raise ValueError(f"radius must be positive, got {radius}")
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shp, h)], indexing="ij")
    dist2 = sum((g - ci) ** 2 for g, ci in zip(grids, c))
    vp = np.asarray(base.vp, dtype=np.float64).copy()
    vp[dist2 <= r * r] *= 1.0 + anomaly
    xp, device, dtype = _builder_namespace(xp, device, dtype)
    return _finish(vp, xp, device, dtype, h, origin, nbl, space_order)


def overthrust_model(
    shape: Sequence[int],
    /,
    *,
    spacing: float | Sequence[float],
    vmin: float = 2200.0,
    vmax: float = 6000.0,
    origin: Sequence[float] | None = None,
    nbl: int = 40,
    space_order: int = 8,
    xp: Any = None,
    device: Any = None,
    dtype: Any = None,
) -> Model:
    """Folded and faulted layered model in the style of the SEG/EAGE overthrust.

    Nine layers (one velocity inversion) are folded into an anticline and a
    syncline, then cut by a thrust fault dipping ~30 degrees whose hanging wall
    is pushed up, plus a steep normal fault; velocity also grows gently with
    depth inside each layer. Deterministic (no randomness).

    Parameters
    ----------
    vmin, vmax : float
        Velocity range (m/s) of the layers (defaults as the overthrust model).
    Other parameters
        As :func:`layered_model`.

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        If ``0 < vmin < vmax`` fails, and as :func:`layered_model`.

    References
    ----------
    F. Aminzadeh, B. Jean and T. Kunz, "3-D salt and overthrust models",
    SEG/EAGE 3-D Modeling Series 1, 1997.

    Examples
    --------
    >>> from randla.apps.wave import overthrust_model
    >>> model = overthrust_model((120, 60), spacing=25.0, nbl=10)
    >>> 2200.0 <= float(model.vp.min()) < float(model.vp.max()) <= 6000.0
    True
    """
    xp, device, dtype = _builder_namespace(xp, device, dtype)
    shp = _check_shape(shape)
    h = _as_tuple(spacing, len(shp), "spacing", positive=True)
    if not 0 < vmin < vmax:
        raise ValueError(f"need 0 < vmin < vmax, got vmin={vmin}, vmax={vmax}")
    coords = np.meshgrid(*[np.linspace(0.0, 1.0, n) for n in shp], indexing="ij")
    x, z = coords[0], coords[-1]
    y = coords[1] if len(shp) == 3 else np.zeros_like(x)
    # folding: anticline + syncline, stronger at depth, gently varying along y
    fold = (0.10 * np.exp(-(((x - 0.35) / 0.16) ** 2 + ((y - 0.5) / 0.6) ** 2))
            - 0.06 * np.exp(-(((x - 0.78) / 0.12) ** 2)))
    strat = z + fold * (0.3 + z)
    # thrust fault: plane z = 0.15 + tan(30 deg) (x - 0.45) (+ slight strike change in y);
    # the hanging wall (above the plane) comes from deeper stratigraphy
    fault = 0.15 + np.tan(np.radians(30.0)) * (x - 0.45 - 0.1 * (y - 0.5))
    strat = np.where(z < fault, strat + 0.12, strat)
    # steep normal fault: the block right of it drops
    normal = x - 0.88 - 0.15 * (z - 0.5)
    strat = np.where(normal > 0, strat - 0.05, strat)
    interfaces = np.array([0.08, 0.18, 0.28, 0.37, 0.47, 0.58, 0.70, 0.83])
    frac = np.array([0.0, 0.12, 0.25, 0.18, 0.40, 0.55, 0.70, 0.85, 1.0])  # one inversion
    velocities = vmin + frac * (vmax - vmin)
    layer = np.searchsorted(interfaces, strat, side="right")
    vp = velocities[layer] * (1.0 + 0.04 * np.clip(strat, 0.0, 1.2))
    vp = np.clip(vp, vmin, vmax)
    return _finish(vp, xp, device, dtype, h, origin, nbl, space_order)
