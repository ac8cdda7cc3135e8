"""Imaging conditions on (time-compressed) wavefield histories.

An imaging condition maps the forward history ``U`` and the adjoint history
``V`` (``nt x N`` each) to an image. Every condition here is a sum over time
of products of *spatial* operators applied to time-filtered fields,
``I[x] = sum_t (A T_u U)[t, x] (B T_v V)[t, x]``. Spatial operators commute
with any linear map in time, in particular with a probe matrix ``Z``:
``Z^T (A u) = A (Z^T u)``. So each condition is evaluated *on the compressed
fields* ``Ubar = Z^T T_u U`` and ``Vbar = Z^T V`` (``r x N``) with the same
formula as on the full histories, and the trace-estimation identity
``sum_t a[t] b[t] ~ (1/r) sum_k abar[k] bbar[k]`` gives the estimate. With
``Z = I`` (``r = nt``, ``weight = 1``) the formulas *are* the exact
conditions, which is how the tests check them.

Channels name the time filters a condition needs: ``"d2"`` is the seam's
second difference ``(D2 u)[t] = u[t] - 2u[t-1] + u[t-2]`` and ``"id"`` the
field itself. ``context`` is the engine's
:class:`~randla.apps.wave.HistoryContext` (``imaging_scale = -1/dt^2``,
``spacing``, ``model``).

Conditions
----------
:class:`CrossCorrelation`
    ``s * sum_t v (D2 u)``: the FWI gradient (exact adjoint of Born).
:class:`ISIC`
    Inverse-scattering imaging condition
    ``sum_t [u_t v_t - (1/m) grad u . grad v]``: the time-derivative
    correlation (equal to the cross-correlation by summation by parts) minus
    the spatial-gradient correlation, which cancels the low-wavenumber
    "backscattering" artefacts where source and receiver wavefields travel in
    the same direction.
:class:`KSpaceFilter`
    Any condition followed by the wavenumber filter ``|k|^p`` (``p = 2`` is
    the Laplacian filter ``-lap``).

References
----------
W. A. Mulder and R.-E. Plessix, "A comparison between one-way and two-way
wave-equation migration", Geophysics 69(6), 1491-1504, 2004 (Laplacian filter).

N. D. Whitmore and S. Crawley, "Applications of RTM inverse scattering
imaging conditions", SEG Technical Program Expanded Abstracts, 2012.

T. J. P. M. Op 't Root, C. C. Stolk and M. V. de Hoop, "Linearized inverse
scattering based on seismic reverse time migration", Journal de
Mathematiques Pures et Appliquees 98(2), 211-238, 2012.

M. Louboutin and F. J. Herrmann, SEG 2021 (imaging conditions on
time-compressed fields).
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


def _check_spacing(spacing: Any, ndim_max: int) -> tuple[float, ...]:
    try:
        h = tuple(float(s) for s in spacing)
    except TypeError:
        raise TypeError("spacing must be a sequence of floats (one per spatial axis)") from None
    if not 1 <= len(h) <= ndim_max or not all(math.isfinite(s) and s > 0 for s in h):
        raise ValueError(f"spacing must hold 1..{ndim_max} positive values, got {spacing!r}")
    return h


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
    >>> from randla.apps.fwi import spatial_gradient
    >>> x = np.add.outer(np.arange(4.0), 3 * np.arange(5.0))   # x + 3 z
    >>> gx, gz = spatial_gradient(x, spacing=(1.0, 1.0))
    >>> float(gx.mean()), float(gz.mean())
    (1.0, 3.0)
    """
    xp = array_namespace(x)
    check_float(x, "x")
    h = _check_spacing(spacing, x.ndim)
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
    low-wavenumber (backscattering) energy of reverse-time-migration images.
    The filter is linear and acts in space only, so it commutes with time
    probing and may be applied to compressed fields or to the final image.

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

    References
    ----------
    W. A. Mulder and R.-E. Plessix, Geophysics 69(6), 1491-1504, 2004.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import kspace_filter
    >>> x = np.cos(2 * np.pi * np.arange(16) / 8)[:, None] * np.ones((1, 4))
    >>> y = kspace_filter(x, spacing=(1.0, 1.0))           # -lap of a cosine
    >>> bool(np.allclose(y, (2 * np.pi / 8) ** 2 * x))
    True
    """
    xp = array_namespace(x)
    check_float(x, "x")
    h = _check_spacing(spacing, x.ndim)
    power = float(power)
    if not (math.isfinite(power) and power > 0):
        raise ValueError(f"power must be positive, got {power}")
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


class ImagingCondition:
    """Base class: an image from compressed (or full) histories.

    Attributes
    ----------
    forward_channels : tuple of str
        Time filters of the forward field the condition needs (``"d2"``,
        ``"id"``).
    adjoint_channels : tuple of str
        Time filters of the adjoint field (``("id",)``).
    pointwise : bool
        True when the condition is ``s * sum_t v (D2 u)`` followed by
        :meth:`finalize`; strategies then correlate on the fly and never
        store the compressed adjoint field.

    References
    ----------
    M. Louboutin and F. J. Herrmann, SEG 2021 (imaging conditions on
    time-compressed fields).

    Examples
    --------
    >>> from randla.apps.fwi import CrossCorrelation, ImagingCondition
    >>> isinstance(CrossCorrelation(), ImagingCondition), CrossCorrelation().pointwise
    (True, True)
    """

    forward_channels: ClassVar[tuple[str, ...]] = ("d2",)
    adjoint_channels: ClassVar[tuple[str, ...]] = ("id",)
    pointwise: ClassVar[bool] = False

    def combine(self, forward: dict, adjoint: dict, /, *, context: Any, weight: float = 1.0) -> Any:
        """Image from ``forward[channel]`` and ``adjoint[channel]`` arrays of
        shape ``(r, *context.shape)``; ``weight`` multiplies the probe sums
        (``1/r`` for probed fields, 1 for full histories)."""
        raise NotImplementedError  # pragma: no cover - abstract

    def finalize(self, image: Any, /, *, context: Any) -> Any:
        """Post-processing of the image (identity unless filtered)."""
        return image

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _correlate(a: Any, b: Any) -> Any:
    xp = array_namespace(a, b)
    return xp.sum(a * b, axis=0)


class CrossCorrelation(ImagingCondition):
    """Cross-correlation ``s * sum_t v^t (u^t - 2u^{t-1} + u^{t-2})``, ``s = -1/dt^2``.

    The gradient of ``1/2 ||d - d_obs||^2`` w.r.t. the padded squared
    slowness (the seam's imaging condition); pointwise.

    Examples
    --------
    >>> import numpy as np
    >>> from types import SimpleNamespace
    >>> from randla.apps.fwi import CrossCorrelation
    >>> u, v = np.ones((3, 2)), np.ones((3, 2))
    >>> ctx = SimpleNamespace(imaging_scale=-1.0)
    >>> CrossCorrelation().combine({"d2": u}, {"id": v}, context=ctx)
    array([-3., -3.])
    """

    forward_channels = ("d2",)
    adjoint_channels = ("id",)
    pointwise = True

    def combine(self, forward: dict, adjoint: dict, /, *, context: Any, weight: float = 1.0) -> Any:
        image = _correlate(forward["d2"], adjoint["id"])
        return self.finalize((context.imaging_scale * weight) * image, context=context)


class ISIC(ImagingCondition):
    """Inverse-scattering imaging condition on the padded grid.

    ``I = s sum_t v (D2 u) - (1/m) sum_t grad u . grad v`` with
    ``s = -1/dt^2``. By summation by parts the first term is exactly
    ``sum_t (u^t - u^{t-1})(v^{t+1} - v^t) / dt^2``, the correlation of time
    derivatives ``u_t v_t``; for a plane wave ``m omega^2 = |k|^2``, so the two
    terms cancel where forward and adjoint waves travel in the same direction
    (transmission/backscattering artefacts) and add up for reflections.
    Spatial gradients are second-order (:func:`spatial_gradient`), ``m`` is
    the padded squared slowness of the context's model.

    References
    ----------
    N. D. Whitmore and S. Crawley, SEG 2012; T. J. P. M. Op 't Root et al.,
    J. Math. Pures Appl. 98(2), 2012.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import ISIC
    >>> ISIC().forward_channels, ISIC().adjoint_channels
    (('d2', 'id'), ('id',))
    """

    forward_channels = ("d2", "id")
    adjoint_channels = ("id",)
    pointwise = False

    def combine(self, forward: dict, adjoint: dict, /, *, context: Any, weight: float = 1.0) -> Any:
        model = context.model
        spacing = tuple(context.spacing)
        image = (context.imaging_scale * weight) * _correlate(forward["d2"], adjoint["id"])
        grads_u = spatial_gradient(forward["id"], spacing=spacing)
        grads_v = spatial_gradient(adjoint["id"], spacing=spacing)
        transmission = None
        for gu, gv in zip(grads_u, grads_v):
            term = _correlate(gu, gv)
            transmission = term if transmission is None else transmission + term
        m_pad = model.pad(model.m)
        return self.finalize(image - (weight * transmission) / m_pad, context=context)


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
    >>> from randla.apps.fwi import ISIC, KSpaceFilter
    >>> KSpaceFilter(ISIC()).forward_channels
    ('d2', 'id')
    """

    def __init__(self, base: ImagingCondition | None = None, *, power: float = 2.0) -> None:
        base = CrossCorrelation() if base is None else base
        if not isinstance(base, ImagingCondition):
            raise TypeError(f"base must be an ImagingCondition, got {type(base).__name__}")
        power = float(power)
        if not (math.isfinite(power) and power > 0):
            raise ValueError(f"power must be positive, got {power}")
        self.base = base
        self.power = power

    @property
    def forward_channels(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.base.forward_channels

    @property
    def adjoint_channels(self) -> tuple[str, ...]:  # type: ignore[override]
        return self.base.adjoint_channels

    @property
    def pointwise(self) -> bool:  # type: ignore[override]
        return self.base.pointwise

    def combine(self, forward: dict, adjoint: dict, /, *, context: Any, weight: float = 1.0) -> Any:
        image = self.base.combine(forward, adjoint, context=context, weight=weight)
        return kspace_filter(image, spacing=tuple(context.spacing), power=self.power)

    def finalize(self, image: Any, /, *, context: Any) -> Any:
        image = self.base.finalize(image, context=context)
        return kspace_filter(image, spacing=tuple(context.spacing), power=self.power)

    def __repr__(self) -> str:
        return f"KSpaceFilter({self.base!r}, power={self.power:g})"
