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

from randla.backend import (
    check_finite,
    check_float,
    device_of,
    from_host,
    is_numpy,
    namespace,
    numpy_dtype,
)

from .stencil import _check_space_order, stencil_bound

__all__ = ["Model"]


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
    :meth:`with_m` (which keep the sponge), never by writing into ``vp``. A
    model keeps the two coefficient arrays of the leapfrog update for the last
    time step it ran with (so repeated operator calls on one model do not
    recompute them; they are dropped by :meth:`with_vp` and by pickling).

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

    # -- pickling: the namespace module is not picklable; rebuild it from vp --

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_xp"] = None
        state.pop("_leapfrog_cache", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._xp = namespace(vp=self._vp)

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
        xp = self._check_like(vp, "vp", self.shape, f"shape {self.shape}")
        vmin = float(xp.min(vp))
        if vmin <= 0:
            raise ValueError(f"vp must be positive everywhere, found minimum {vmin}")
        new = object.__new__(Model)
        new.__dict__.update(self.__dict__)
        new._vp = vp
        new._vmax = float(xp.max(vp))
        new.__dict__.pop("_m", None)
        new.__dict__.pop("_leapfrog_cache", None)
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

    # -- leapfrog coefficients ---------------------------------------------------

    def _leapfrog(self, dt: float) -> tuple[Any, Any]:
        """``a = dt^2 / (m + damp dt/2)`` and ``b = 2 m / (m + damp dt/2)`` on
        the kernels' storage grid (the padded grid plus a zero halo of
        ``space_order // 2`` points), cached for the last ``dt``."""
        hit = self.__dict__.get("_leapfrog_cache")
        if hit is not None and hit[0] == dt:
            return hit[1], hit[2]
        xp, radius = self._xp, self._space_order // 2
        storage = tuple(n + 2 * radius for n in self.padded_shape)
        inner = tuple(slice(radius, radius + n) for n in self.padded_shape)
        m_pad = self.pad(self.m)
        half = self._damp * (dt / 2.0)
        if is_numpy(xp):  # in place, into the storage arrays: no full-size temporaries
            a = np.zeros(storage, dtype=m_pad.dtype)
            b = np.zeros(storage, dtype=m_pad.dtype)
            a_in, b_in = a[inner], b[inner]
            np.add(m_pad, half, out=a_in)
            np.divide(dt * dt, a_in, out=a_in)
            np.multiply(m_pad, a_in, out=b_in)
            b_in *= 2.0 / (dt * dt)
        else:
            denom = m_pad + half
            a = xp.zeros(storage, dtype=self.dtype, device=self.device)
            b = xp.zeros(storage, dtype=self.dtype, device=self.device)
            a[inner] = (dt * dt) / denom
            b[inner] = (2.0 * m_pad) / denom
        self._leapfrog_cache = (dt, a, b)
        return a, b

    # -- padding maps ----------------------------------------------------------

    def _check_like(self, x: Any, name: str, shape: tuple[int, ...], expected: str) -> Any:
        """``x`` on the model's backend and device, of ``shape`` (``expected``
        describes it in the error) and the model's dtype, finite; returns xp."""
        xp = namespace(**{name: x, "model_vp": self._vp})
        check_float(x, name)
        if tuple(x.shape) != shape:
            raise ValueError(f"{name} must have {expected}, got {tuple(x.shape)}")
        if x.dtype != self.dtype:
            raise TypeError(f"{name} must have the model's dtype {self.dtype}, got {x.dtype}")
        check_finite(x, name)
        return xp

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
