"""Convolution geometry: kernel size, stride, zero padding, dilation and groups.

A :class:`ConvGeometry` describes one N-d cross-correlation (PyTorch's
``conv*d`` convention) on channels-first arrays ``(batch, channels, *spatial)``:

.. math::

    Y[b, o, y] = \\sum_{c' < C_{in}/G} \\sum_{k} W[o, c', k]\\,
                 X[b, g(o) C_{in}/G + c', s\\,y + d\\,k - p_{lo}]

with stride ``s``, dilation ``d``, lower padding ``p_lo`` per spatial axis and
``g(o) = o // (C_out / G)`` the group of output channel ``o``. Input indices
outside ``[0, n)`` read zero (zero-padding semantics; nothing wraps around
across rows, unlike the periodic shifts of the original XConv code). The
padding may be asymmetric (``p_lo != p_hi``), which is what ``padding="same"``
needs for even kernels.

For tap ``k`` the gather ``(S_k x)[y] = x[s y + d k - p_lo]`` maps the input
grid to the output grid; the weight gradient of tap ``k`` is
``dW[o, c', k] = sum_b <dY[b, o], S_k X[b, c]>``.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

from randla.backend import check_positive_int

__all__ = ["ConvGeometry", "conv_geometry"]


@dataclasses.dataclass(frozen=True)
class ConvGeometry:
    """Geometry of an N-d convolution (``N = len(kernel_size)``).

    Attributes
    ----------
    kernel_size, stride, dilation : tuple of int
        One entry per spatial axis.
    pad_lo, pad_hi : tuple of int
        Zero padding before and after each spatial axis.
    groups : int
        Number of channel groups.

    Examples
    --------
    >>> from randla.apps.xconv import conv_geometry
    >>> g = conv_geometry(2, 3, stride=2, padding=1)
    >>> g.num_taps, g.symmetric, g.output_shape((8, 7))
    (9, True, (4, 4))
    """

    kernel_size: tuple[int, ...]
    stride: tuple[int, ...]
    dilation: tuple[int, ...]
    pad_lo: tuple[int, ...]
    pad_hi: tuple[int, ...]
    groups: int = 1

    @property
    def ndim(self) -> int:
        """Number of spatial axes."""
        return len(self.kernel_size)

    @property
    def num_taps(self) -> int:
        """Number of kernel taps ``prod(kernel_size)``."""
        return math.prod(self.kernel_size)

    @property
    def symmetric(self) -> bool:
        """True when ``pad_lo == pad_hi`` (expressible as PyTorch ``padding``)."""
        return self.pad_lo == self.pad_hi

    def output_shape(self, spatial: tuple[int, ...], name: str = "X") -> tuple[int, ...]:
        """Spatial shape of the output for an input of spatial shape ``spatial``.

        Raises
        ------
        ValueError
            If the (padded) input is smaller than the dilated kernel.
        """
        if len(spatial) != self.ndim:
            raise ValueError(
                f"{name} has {len(spatial)} spatial axes but the kernel has {self.ndim}"
            )
        out = []
        for n, k, s, d, lo, hi in zip(spatial, self.kernel_size, self.stride,
                                      self.dilation, self.pad_lo, self.pad_hi):
            span = n + lo + hi - d * (k - 1) - 1
            if span < 0:
                raise ValueError(
                    f"{name} spatial shape {tuple(spatial)} is smaller than the dilated "
                    f"kernel {self.kernel_size} (dilation {self.dilation}, padding "
                    f"{self.pad_lo}/{self.pad_hi})"
                )
            out.append(span // s + 1)
        return tuple(out)

    def with_groups(self, groups: int) -> "ConvGeometry":
        """The same geometry with another ``groups``."""
        return dataclasses.replace(self, groups=int(groups))


def _tuple(value: Any, ndim: int, name: str, minimum: int) -> tuple[int, ...]:
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        value = (int(value),) * ndim
    if not isinstance(value, (tuple, list)) or len(value) != ndim:
        raise ValueError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}")
    return tuple(check_positive_int(v, f"{name} entry in {value!r}", minimum=minimum)
                 for v in value)


def _padding(padding: Any, ndim: int, kernel: tuple[int, ...], stride: tuple[int, ...],
             dilation: tuple[int, ...]) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if isinstance(padding, str):
        if padding == "valid":
            return (0,) * ndim, (0,) * ndim
        if padding == "same":
            if any(s != 1 for s in stride):
                raise ValueError(
                    "padding='same' needs stride 1 (as in torch.nn.Conv*d), got "
                    f"stride {stride}"
                )
            total = [d * (k - 1) for d, k in zip(dilation, kernel)]
            lo = tuple(t // 2 for t in total)
            return lo, tuple(t - low for t, low in zip(total, lo))
        raise ValueError(f"padding must be 'same', 'valid', an int or a tuple, got {padding!r}")
    if (isinstance(padding, (tuple, list)) and len(padding) == ndim
            and all(isinstance(p, (tuple, list)) for p in padding)):
        pairs = [_tuple(tuple(p), 2, "padding pair", 0) for p in padding]
        return tuple(p[0] for p in pairs), tuple(p[1] for p in pairs)
    sym = _tuple(padding, ndim, "padding", 0)
    return sym, sym


def conv_geometry(
    ndim: int, kernel_size: Any, *, stride: Any = 1, padding: Any = 0,
    dilation: Any = 1, groups: int = 1,
) -> ConvGeometry:
    """Validate convolution arguments and return a :class:`ConvGeometry`.

    Parameters
    ----------
    ndim : {1, 2, 3}
        Number of spatial axes.
    kernel_size, stride, dilation : int or tuple of int
        PyTorch ``Conv*d`` meaning; ints are repeated over the axes.
    padding : int, tuple of int, tuple of (lo, hi) pairs, "same" or "valid"
        Zero padding. ``"same"`` follows PyTorch (``lo = d (k - 1) // 2``,
        the remainder after), and needs stride 1.
    groups : int
        Channel groups (``in_channels`` and ``out_channels`` must be multiples).

    Returns
    -------
    ConvGeometry

    Raises
    ------
    ValueError
        For a dimension other than 1, 2, 3, non-positive sizes, negative
        padding, an unknown padding string, or ``"same"`` with stride > 1.
    TypeError
        For non-integer entries.

    Examples
    --------
    >>> from randla.apps.xconv.geometry import conv_geometry
    >>> g = conv_geometry(2, 4, padding="same")
    >>> g.pad_lo, g.pad_hi
    ((1, 1), (2, 2))
    >>> g.output_shape((7, 5))
    (7, 5)
    """
    if ndim not in (1, 2, 3):
        raise ValueError(f"only 1-, 2- and 3-d convolutions are supported, got ndim={ndim}")
    kernel = _tuple(kernel_size, ndim, "kernel_size", 1)
    stride_t = _tuple(stride, ndim, "stride", 1)
    dilation_t = _tuple(dilation, ndim, "dilation", 1)
    lo, hi = _padding(padding, ndim, kernel, stride_t, dilation_t)
    groups = check_positive_int(groups, "groups")
    return ConvGeometry(kernel, stride_t, dilation_t, lo, hi, groups)
