"""Exact convolution weight gradients: the reference of every probed estimate.

:func:`conv_weight_grad` (and :func:`correlate`, its unchecked body, which the
torch layers use for ``num_probes=0``) has

* a pure array-API body: zero-pad once, then for every kernel tap one strided
  slice and one batched GEMM (``prod(kernel_size)`` GEMMs, no per-pixel loops);
* a native fast path for torch tensors (``torch.nn.grad.conv*d_weight``, i.e.
  oneDNN / cuDNN), used automatically for torch input.

The probed gradient does not use it: it runs on :mod:`randla.shift`.

References
----------
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021).
"""

from __future__ import annotations

import itertools
import math
from typing import Any

from randla.backend import check_finite, check_float, is_torch, namespace

from .geometry import ConvGeometry, conv_geometry

__all__ = ["conv_weight_grad", "correlate"]


def _pad(xp: Any, x: Any, geom: ConvGeometry) -> Any:
    """Zero-pad the spatial axes of ``x`` by ``geom.pad_lo`` / ``geom.pad_hi``."""
    if not any(geom.pad_lo) and not any(geom.pad_hi):
        return x
    spatial = x.shape[2:]
    shape = tuple(x.shape[:2]) + tuple(
        n + lo + hi for n, lo, hi in zip(spatial, geom.pad_lo, geom.pad_hi))
    out = xp.zeros(shape, dtype=x.dtype, device=x.device)
    idx = (slice(None), slice(None)) + tuple(
        slice(lo, lo + n) for n, lo in zip(spatial, geom.pad_lo))
    out[idx] = x
    return out


def _correlate_generic(xp: Any, inp: Any, dy: Any, geom: ConvGeometry) -> Any:
    batch, cin = inp.shape[0], inp.shape[1]
    cout, out = dy.shape[1], tuple(dy.shape[2:])
    groups = geom.groups
    cig, cog = cin // groups, cout // groups
    nout = math.prod(out)
    padded = _pad(xp, inp, geom)
    # (G, C_out/G, B * N_out): the contraction runs over batch and output pixels
    dyg = xp.reshape(
        xp.permute_dims(xp.reshape(dy, (batch, groups, cog, nout)), (1, 2, 0, 3)),
        (groups, cog, batch * nout))
    taps = []
    for tap in itertools.product(*(range(k) for k in geom.kernel_size)):
        idx = (slice(None), slice(None)) + tuple(
            slice(d * k, d * k + s * (o - 1) + 1, s)
            for k, d, s, o in zip(tap, geom.dilation, geom.stride, out))
        shifted = xp.reshape(padded[idx], (batch, groups, cig, nout))
        shifted = xp.reshape(xp.permute_dims(shifted, (1, 0, 3, 2)), (groups, batch * nout, cig))
        taps.append(xp.matmul(dyg, shifted))  # (G, C_out/G, C_in/G)
    grad = xp.stack(taps, axis=-1)
    return xp.reshape(grad, (cout, cig) + tuple(geom.kernel_size))


def _correlate_torch(inp: Any, dy: Any, geom: ConvGeometry) -> Any:
    import torch
    import torch.nn.functional as F

    weight_grad = {1: torch.nn.grad.conv1d_weight, 2: torch.nn.grad.conv2d_weight,
                   3: torch.nn.grad.conv3d_weight}[geom.ndim]
    padding = geom.pad_lo
    if not geom.symmetric:
        pads = []
        for lo, hi in zip(reversed(geom.pad_lo), reversed(geom.pad_hi)):
            pads += [lo, hi]
        inp = F.pad(inp, pads)
        padding = (0,) * geom.ndim
    shape = (dy.shape[1], inp.shape[1] // geom.groups) + tuple(geom.kernel_size)
    return weight_grad(inp, shape, dy, stride=geom.stride, padding=padding,
                       dilation=geom.dilation, groups=geom.groups)


def correlate(xp: Any, inp: Any, dy: Any, geom: ConvGeometry, *, native: bool = True) -> Any:
    """Unchecked ``dW[o, c', k] = sum_b <dy[b, o], S_k inp[b, g(o) C_in/G + c']>``.

    ``inp`` is ``(B, C_in, *in)``, ``dy`` is ``(B, C_out, *out)`` with ``out``
    the output shape of ``geom``; the result is ``(C_out, C_in / G, *kernel)``.
    ``native=False`` forces the array-API body (tests compare both).
    """
    if native and is_torch(xp):
        return _correlate_torch(inp, dy, geom)
    return _correlate_generic(xp, inp, dy, geom)


def check_finite_sum(x: Any, name: str) -> None:
    """:func:`randla.backend.check_finite` behind a one-pass screen: a finite sum
    means every entry is finite; only a non-finite sum runs the full check."""
    xp = namespace(**{name: x})
    if not bool(xp.isfinite(xp.sum(x))):
        check_finite(x, name)


def check_conv_input(X: Any) -> None:
    """``X`` real floating, of shape ``(batch, channels, *spatial)`` with 1 to 3 spatial axes."""
    check_float(X, "X")
    if X.ndim not in (3, 4, 5):
        raise ValueError(
            f"X must have shape (batch, channels, *spatial) with 1 to 3 spatial axes, got "
            f"shape {tuple(X.shape)}"
        )


def check_conv_pair(xp: Any, X: Any, grad_output: Any, geom: ConvGeometry,
                    x_name: str = "X") -> None:
    """Validate ``X`` (or its recorded shape) against ``grad_output``."""
    shape = tuple(X) if isinstance(X, tuple) else tuple(X.shape)
    if len(shape) != geom.ndim + 2:
        raise ValueError(
            f"{x_name} must have shape (batch, channels, *spatial) with {geom.ndim} spatial "
            f"axes for a {geom.ndim}-d kernel, got shape {shape}"
        )
    if grad_output.ndim != geom.ndim + 2:
        raise ValueError(
            f"grad_output must have {geom.ndim + 2} axes (batch, channels, *spatial), got "
            f"shape {tuple(grad_output.shape)}"
        )
    if grad_output.shape[0] != shape[0]:
        raise ValueError(
            f"batch sizes differ: {x_name} has {shape[0]}, grad_output has "
            f"{grad_output.shape[0]}"
        )
    for name, channels in ((f"{x_name} channels", shape[1]),
                           ("grad_output channels", grad_output.shape[1])):
        if channels % geom.groups:
            raise ValueError(f"{name} ({channels}) must be divisible by groups={geom.groups}")
    expected = geom.output_shape(shape[2:], x_name)
    if tuple(grad_output.shape[2:]) != expected:
        raise ValueError(
            f"grad_output spatial shape {tuple(grad_output.shape[2:])} does not match the "
            f"convolution output {expected} of {x_name} {shape[2:]} with kernel "
            f"{geom.kernel_size}, stride {geom.stride}, padding {geom.pad_lo}/{geom.pad_hi}, "
            f"dilation {geom.dilation}"
        )


def conv_weight_grad(
    X: Any, grad_output: Any, /, *, kernel_size: Any, stride: Any = 1, padding: Any = 0,
    dilation: Any = 1, groups: int = 1, check_finite_values: bool = False,
) -> Any:
    """Exact weight gradient of an N-d convolution (1-, 2- or 3-d).

    For ``Y = conv(X, W)`` (PyTorch's cross-correlation convention, zero
    padding) returns ``dW = dL/dW`` given ``grad_output = dL/dY``:

    .. math:: dW[o, c', k] = \\sum_b \\sum_y dY[b, o, y]\\, X[b, c, s y + d k - p]

    with ``c = g(o) C_in / G + c'``; out-of-range input indices read zero.

    Parameters
    ----------
    X : array, shape ``(batch, in_channels, *spatial)``
        Layer input (NumPy, CuPy, torch or any array-API array).
    grad_output : array, shape ``(batch, out_channels, *out_spatial)``
        Gradient of the loss with respect to the layer output.
    kernel_size, stride, padding, dilation, groups
        As for ``torch.nn.Conv*d``; ``padding`` may also be a tuple of
        ``(lo, hi)`` pairs (see :func:`~randla.apps.xconv.geometry.conv_geometry`).
    check_finite_values : bool
        Also reject NaN / infinity in the inputs (one extra pass).

    Returns
    -------
    dW : array, shape ``(out_channels, in_channels / groups, *kernel_size)``

    Raises
    ------
    TypeError
        Mixed backends, integer / half-precision dtypes, or different dtypes.
    ValueError
        Inconsistent shapes (batch, channels vs groups, output size), bad
        geometry arguments, or non-finite values when checked.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.xconv import conv_weight_grad
    >>> X = np.arange(10.0).reshape(1, 1, 10)
    >>> dY = np.ones((1, 1, 8))
    >>> conv_weight_grad(X, dY, kernel_size=3)  # sums of the 3 shifted windows
    array([[[28., 36., 44.]]])
    """
    xp = namespace(X=X, grad_output=grad_output)
    check_conv_input(X)
    check_float(grad_output, "grad_output")
    if X.dtype != grad_output.dtype:
        raise TypeError(f"X ({X.dtype}) and grad_output ({grad_output.dtype}) must share a dtype")
    geom = conv_geometry(X.ndim - 2, kernel_size, stride=stride, padding=padding,
                         dilation=dilation, groups=groups)
    check_conv_pair(xp, X, grad_output, geom)
    if check_finite_values:
        check_finite(X, "X")
        check_finite(grad_output, "grad_output")
    return correlate(xp, X, grad_output, geom)
