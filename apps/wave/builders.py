"""Model builders (layered, layered with an anomaly, overthrust-like) and smoothing.

Builders compute the velocity on the host and move it once to the requested
namespace and device with :func:`randla.backend.from_host`; :func:`smooth`
works on any array-API backend (e.g. to make starting models for FWI).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from randla.backend import array_namespace, check_float, from_host, namespace

from .model import Model, _as_tuple, _index

__all__ = [
    "layered_anomaly_model",
    "layered_model",
    "overthrust_model",
    "smooth",
]


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
    TypeError
        Non-array, integer or half-precision ``x``.

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
        :func:`randla.backend.from_host`.

    Returns
    -------
    Model

    Raises
    ------
    ValueError
        On bad shapes, velocities or interfaces.
    TypeError
        A ``dtype`` other than float32 / float64 of ``xp``.

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
