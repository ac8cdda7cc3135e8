"""Imaging conditions: what a wavefield-history strategy makes of ``u`` and ``v``.

Every strategy of the seam (:mod:`randla.apps.wave.history`) takes
``imaging=``. A condition is a sum over time of products of *spatial*
operators applied to time-filtered fields,
``I[x] = sum_t (A T_u U)[t, x] (B T_v V)[t, x]``, followed by an optional
spatial post-filter (:meth:`ImagingCondition.finalize`). Spatial operators
commute with any linear map in time (``Z^T (A u) = A (Z^T u)``), so the same
formula evaluates a condition on full histories (the exact strategies, one
time step at a time) and on time-compressed fields ``Z^T T U`` (probing,
on-the-fly DFT, with ``weight = 1/r``).

Channels name the time filters a condition needs: forward ``"d2"`` is the
seam's second difference ``u^t - 2u^{t-1} + u^{t-2}`` and ``"id"`` the field
itself; the adjoint channel is ``"id"``. ``context`` is the engine's
:class:`~randla.apps.wave.HistoryContext` (``imaging_scale = -1/dt^2``,
``spacing``, ``model``).

:class:`CrossCorrelation`
    ``s sum_t v (D2 u)``: the FWI gradient (the exact adjoint of Born), the default.
:class:`ISIC`
    ``s sum_t v (D2 u) - (1/m) sum_t grad u . grad v``: removes the
    low-wavenumber backscattering artefacts of reverse-time migration.
:class:`KSpaceFilter`
    Any condition followed by the wavenumber filter ``|k|^p`` (``p = 2``: ``-lap``).

References
----------
N. D. Whitmore and S. Crawley, "Applications of RTM inverse scattering
imaging conditions", SEG Technical Program Expanded Abstracts, 2012.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar, Sequence

import numpy as np

from randla.backend import array_namespace, check_float, device_of, from_host

__all__ = [
    "CrossCorrelation",
    "ISIC",
    "ImagingCondition",
    "KSpaceFilter",
    "kspace_filter",
    "spatial_gradient",
]

#: Channels the strategies can produce.
FORWARD_CHANNELS = ("d2", "id")
ADJOINT_CHANNELS = ("id",)


def _check_spacing(spacing: Any, ndim_max: int) -> tuple[float, ...]:
    try:
        h = tuple(float(s) for s in spacing)
    except TypeError:
        raise TypeError("spacing must be a sequence of floats (one per spatial axis)") from None
    if not 1 <= len(h) <= ndim_max or not all(math.isfinite(s) and s > 0 for s in h):
        raise ValueError(f"spacing must hold 1..{ndim_max} positive values, got {spacing!r}")
    return h


def _check_power(power: Any) -> float:
    power = float(power)
    if not (math.isfinite(power) and power > 0):
        raise ValueError(f"power must be positive, got {power}")
    return power


def _index(ndim: int, axis: int, sl: slice) -> tuple:
    idx = [slice(None)] * ndim
    idx[axis] = sl
    return tuple(idx)


def spatial_gradient(x: Any, /, *, spacing: Sequence[float]) -> list:
    """Second-order finite-difference gradient over the last ``len(spacing)`` axes.

    Centred differences inside, one-sided at the two edges of every axis;
    leading axes (e.g. the probe axis of a compressed field) are batch axes.

    Parameters
    ----------
    x : array, shape (..., n_1, ..., n_d)
        At least 2 points per differentiated axis.
    spacing : sequence of float
        Grid spacing of the ``d`` spatial axes.

    Returns
    -------
    list of arrays
        ``[d x / d x_1, ..., d x / d x_d]``, each shaped like ``x``.

    Raises
    ------
    ValueError
        For bad spacing or fewer than 2 points on an axis.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import spatial_gradient
    >>> gx, gz = spatial_gradient(np.add.outer(np.arange(4.0), 3 * np.arange(5.0)), spacing=(1.0, 1.0))
    >>> float(gx.mean()), float(gz.mean())
    (1.0, 3.0)
    """
    check_float(x, "x")
    h = _check_spacing(spacing, x.ndim)
    return _spatial_gradient(x, h)


def _spatial_gradient(x: Any, h: tuple[float, ...]) -> list:
    xp = array_namespace(x)
    out = []
    for k, step in enumerate(h):
        axis = x.ndim - len(h) + k
        n = int(x.shape[axis])
        if n < 2:
            raise ValueError(f"spatial_gradient needs >= 2 points along axis {axis}, got {n}")
        first = (x[_index(x.ndim, axis, slice(1, 2))] - x[_index(x.ndim, axis, slice(0, 1))]) / step
        last = (x[_index(x.ndim, axis, slice(n - 1, n))] - x[_index(x.ndim, axis, slice(n - 2, n - 1))]) / step
        parts = [first]
        if n > 2:
            inner = (x[_index(x.ndim, axis, slice(2, n))] - x[_index(x.ndim, axis, slice(0, n - 2))]) / (2 * step)
            parts.append(inner)
        parts.append(last)
        out.append(xp.concat(parts, axis=axis))
    return out


def kspace_filter(x: Any, /, *, spacing: Sequence[float], power: float = 2.0) -> Any:
    """Wavenumber filter ``|k|^power`` over the last ``len(spacing)`` axes (FFT).

    ``power = 2`` is the spectral Laplacian filter ``-lap`` that removes the
    low-wavenumber energy of reverse-time-migration images (Mulder and
    Plessix, Geophysics 69(6), 2004). Linear and spatial only, so it commutes
    with time probing.

    Parameters
    ----------
    x : array, shape (..., n_1, ..., n_d)
        Real image(s); leading axes are batch axes.
    spacing : sequence of float
        Grid spacing (m) of the ``d`` filtered axes.
    power : float, default 2
        Exponent of ``|k|`` (rad/m); must be > 0.

    Returns
    -------
    array
        Real, same shape and dtype as ``x``.

    Raises
    ------
    ValueError
        For a non-positive ``power`` or bad ``spacing``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import kspace_filter
    >>> x = np.cos(2 * np.pi * np.arange(16) / 8)[:, None] * np.ones((1, 4))
    >>> bool(np.allclose(kspace_filter(x, spacing=(1.0, 1.0)), (2 * np.pi / 8) ** 2 * x))
    True
    """
    check_float(x, "x")
    return _kspace_filter(x, _check_spacing(spacing, x.ndim), _check_power(power))


def _kspace_filter(x: Any, h: tuple[float, ...], power: float) -> Any:
    xp = array_namespace(x)
    axes = tuple(range(x.ndim - len(h), x.ndim))
    dev = device_of(x)
    sizes = [int(x.shape[a]) for a in axes]
    ksq = None
    for k, (axis, step) in enumerate(zip(axes, h)):
        n = sizes[k]
        last = k == len(axes) - 1
        # small host vector of wavenumbers, moved once (float64 accuracy on every backend)
        freq = np.fft.rfftfreq(n, d=step) if last else np.fft.fftfreq(n, d=step)
        shape = [1] * x.ndim
        shape[axis] = freq.size
        kk = from_host(((2.0 * math.pi * freq) ** 2).reshape(shape), xp, dtype=x.dtype, device=dev)
        ksq = kk if ksq is None else ksq + kk
    mult = ksq if power == 2.0 else ksq ** (power / 2.0)
    spec = xp.fft.rfftn(x, axes=axes)
    return xp.astype(xp.fft.irfftn(spec * mult, s=sizes, axes=axes), x.dtype)


def _correlate(a: Any, b: Any) -> Any:
    xp = array_namespace(a, b)
    return xp.sum(a * b, axis=0)


class ImagingCondition:
    """Base class: an image from full or time-compressed histories.

    A condition is *bilinear* in (forward, adjoint): :meth:`correlate` sums
    its products over the leading (time or probe) axis, so the exact
    strategies may call it one time step at a time and add the results.

    Attributes
    ----------
    forward_channels : tuple of str
        Time filters of the forward field it needs (``"d2"``, ``"id"``).
    adjoint_channels : tuple of str
        Time filters of the adjoint field (``("id",)``).
    pointwise : bool
        The condition is ``s sum_t v (D2 u)`` followed by :meth:`finalize`:
        strategies then correlate on the fly with their fast kernels and never
        store the adjoint side.
    is_gradient : bool
        The image is the gradient of the data misfit (what
        :func:`randla.apps.fwi.fwi` needs).

    Examples
    --------
    >>> from randla.apps.wave import CrossCorrelation, ISIC
    >>> CrossCorrelation().pointwise, ISIC().pointwise, ISIC().is_gradient
    (True, False, False)
    """

    forward_channels: ClassVar[tuple[str, ...]] = ("d2",)
    adjoint_channels: ClassVar[tuple[str, ...]] = ("id",)
    pointwise: ClassVar[bool] = False
    is_gradient: ClassVar[bool] = False

    def correlate(self, forward: dict, adjoint: dict, /, *, context: Any) -> Any:
        """Image before :meth:`finalize` from ``forward[channel]`` and
        ``adjoint[channel]`` arrays of shape ``(k, *context.shape)``, summed
        over the leading axis."""
        raise NotImplementedError  # pragma: no cover - abstract

    def finalize(self, image: Any, /, *, context: Any) -> Any:
        """Post-processing of the summed image (identity unless filtered)."""
        return image

    def combine(self, forward: dict, adjoint: dict, /, *, context: Any, weight: float = 1.0) -> Any:
        """The final image: ``finalize(weight * correlate(forward, adjoint))``
        (``weight = 1/r`` for probed fields, 1 for full histories)."""
        return self.finalize(weight * self.correlate(forward, adjoint, context=context), context=context)

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class CrossCorrelation(ImagingCondition):
    """Cross-correlation ``s sum_t v^t (u^t - 2u^{t-1} + u^{t-2})``, ``s = -1/dt^2``.

    The gradient of ``1/2 ||d - d_obs||^2`` w.r.t. the padded squared
    slowness: the seam's default condition.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from randla.apps.wave import CrossCorrelation
    >>> ctx = SimpleNamespace(imaging_scale=-1.0)
    >>> CrossCorrelation().combine({"d2": np.ones((3, 2))}, {"id": np.ones((3, 2))}, context=ctx)
    array([-3., -3.])
    """

    forward_channels = ("d2",)
    adjoint_channels = ("id",)
    pointwise = True
    is_gradient = True

    def correlate(self, forward: dict, adjoint: dict, /, *, context: Any) -> Any:
        return context.imaging_scale * _correlate(forward["d2"], adjoint["id"])


class ISIC(ImagingCondition):
    """Inverse-scattering imaging condition on the padded grid.

    ``I = s sum_t v (D2 u) - (1/m) sum_t grad u . grad v``, ``s = -1/dt^2``.
    By summation by parts the first term is the correlation of time
    derivatives ``u_t v_t``; for a plane wave ``m omega^2 = |k|^2``, so the two
    terms cancel where forward and adjoint waves travel in the same direction
    (transmission) and add up for reflections. Spatial gradients are
    second-order (:func:`spatial_gradient`), ``m`` is the padded squared
    slowness of the context's model.

    References
    ----------
    T. J. P. M. Op 't Root, C. C. Stolk and M. V. de Hoop, "Linearized inverse
    scattering based on seismic reverse time migration", J. Math. Pures Appl.
    98(2), 211-238, 2012.

    Examples
    --------
    >>> from randla.apps.wave import ISIC
    >>> ISIC().forward_channels, ISIC().adjoint_channels
    (('d2', 'id'), ('id',))
    """

    forward_channels = ("d2", "id")
    adjoint_channels = ("id",)
    pointwise = False

    def correlate(self, forward: dict, adjoint: dict, /, *, context: Any) -> Any:
        model = context.model
        spacing = tuple(context.spacing)
        image = context.imaging_scale * _correlate(forward["d2"], adjoint["id"])
        grads_u = _spatial_gradient(forward["id"], spacing)
        grads_v = _spatial_gradient(adjoint["id"], spacing)
        transmission = None
        for gu, gv in zip(grads_u, grads_v):
            term = _correlate(gu, gv)
            transmission = term if transmission is None else transmission + term
        return image - transmission / model.pad(model.m)


class KSpaceFilter(ImagingCondition):
    """A base condition followed by the wavenumber filter ``|k|^power``.

    Parameters
    ----------
    base : ImagingCondition, default CrossCorrelation()
    power : float, default 2
        ``2`` is the Laplacian filter ``-lap`` (:func:`kspace_filter`).

    Raises
    ------
    TypeError
        If ``base`` is not an :class:`ImagingCondition`.
    ValueError
        For a non-positive ``power``.

    Examples
    --------
    >>> from randla.apps.wave import ISIC, KSpaceFilter
    >>> KSpaceFilter(ISIC()).forward_channels
    ('d2', 'id')
    """

    is_gradient = False

    def __init__(self, base: ImagingCondition | None = None, *, power: float = 2.0) -> None:
        base = CrossCorrelation() if base is None else base
        if not isinstance(base, ImagingCondition):
            raise TypeError(f"base must be an ImagingCondition, got {type(base).__name__}")
        self.base = base
        self.power = _check_power(power)

    @property
    def forward_channels(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.base.forward_channels

    @property
    def adjoint_channels(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.base.adjoint_channels

    @property
    def pointwise(self) -> bool:  # type: ignore[override]
        return self.base.pointwise

    def correlate(self, forward: dict, adjoint: dict, /, *, context: Any) -> Any:
        return self.base.correlate(forward, adjoint, context=context)

    def finalize(self, image: Any, /, *, context: Any) -> Any:
        image = self.base.finalize(image, context=context)
        return _kspace_filter(image, tuple(float(s) for s in context.spacing), self.power)

    def __repr__(self) -> str:
        return f"KSpaceFilter({self.base!r}, power={self.power:g})"


def check_imaging(imaging: Any, /) -> ImagingCondition:
    """``imaging`` checked (``None``: :class:`CrossCorrelation`): an
    :class:`ImagingCondition` whose channels the strategies can produce."""
    imaging = CrossCorrelation() if imaging is None else imaging
    if not isinstance(imaging, ImagingCondition):
        raise TypeError(f"imaging must be an ImagingCondition (CrossCorrelation(), ISIC(), ...), "
                        f"got {type(imaging).__name__}")
    bad = set(imaging.adjoint_channels) - set(ADJOINT_CHANNELS)
    if bad:
        raise ValueError(f"unsupported adjoint channels {sorted(bad)} (supported: {ADJOINT_CHANNELS})")
    bad = set(imaging.forward_channels) - set(FORWARD_CHANNELS)
    if bad:
        raise ValueError(f"unsupported forward channels {sorted(bad)} (supported: {FORWARD_CHANNELS})")
    return imaging
