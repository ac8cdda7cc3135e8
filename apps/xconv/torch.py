"""Drop-in probed convolutions for PyTorch: :class:`XConv1d`, :class:`XConv2d`, :class:`XConv3d`.

Each layer is a subclass of the matching ``torch.nn.Conv*d`` with the same
constructor arguments, parameters and ``state_dict`` keys, plus
``num_probes``, ``probe``, ``mode``, ``native``, ``auto_exact`` and ``rng``.
The forward pass is the exact convolution; what autograd keeps for backward is
only the input sketch ``Z^T X`` and a 64-bit seed (two tensors). Input and bias
gradients are exact (computed from the weight and the output gradient alone);
the weight gradient is the unbiased probed estimate of
:func:`randla.apps.xconv.weight_grad`.

Seeds and activation checkpointing
----------------------------------
Each layer owns a private :class:`numpy.random.Generator` (from ``rng``). The
*current* seed is drawn from it at construction and redrawn after every
backward pass through the layer. A forward pass therefore uses the same seed
until its gradient has been computed: when ``torch.utils.checkpoint``
recomputes a forward during backward, the recomputation regenerates the same
probes and the same sketch, and the gradient equals the one without
checkpointing. (Several forward passes through one layer before a backward
share their probes: each estimate stays unbiased, they are just correlated.)

Mixed precision
---------------
Under ``torch.autocast`` the convolution runs in the autocast dtype like
``torch.nn.Conv*d``, but the sketch ``Z^T X`` is accumulated in float32 (float64
input stays float64) and the weight gradient is computed in float32.

The weight is referenced by the autograd context (it is a parameter the module
holds anyway) rather than saved with ``save_for_backward``; an in-place change
of the weight between forward and backward raises the same kind of error as
PyTorch's own check.

References
----------
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn
from torch.autograd.function import once_differentiable

from randla.backend import array_namespace, check_positive_int
from randla.random import seed_from

from .core import InputSketch, _sketch_body, _weight_grad_body
from .exact import check_finite_sum, correlate
from .geometry import ConvGeometry, conv_geometry
from .probes import MODES, PROBES, probe_layout

__all__ = ["ProbeSeeder", "XConv1d", "XConv2d", "XConv3d", "probed_conv", "sketch_nbytes"]

_CONV = {1: F.conv1d, 2: F.conv2d, 3: F.conv3d}
_CONV_INPUT = {1: torch.nn.grad.conv1d_input, 2: torch.nn.grad.conv2d_input,
               3: torch.nn.grad.conv3d_input}


class ProbeSeeder:
    """Private source of a layer's probe seeds.

    ``current`` is the seed the next forward pass uses; :meth:`advance` draws
    the next one (called by the layer's backward pass).

    Parameters
    ----------
    rng : int, numpy.random.Generator or None
        Seeds the private generator (a generator passed in is advanced once).
    """

    def __init__(self, rng: Any = None) -> None:
        self._generator = np.random.default_rng(seed_from(rng))
        self.current = seed_from(self._generator)

    def advance(self) -> int:
        """Draw and return the next seed."""
        self.current = seed_from(self._generator)
        return self.current


@dataclasses.dataclass(frozen=True, eq=False)
class _Plan:
    geom: ConvGeometry
    padding: Any          # as given to F.conv*d
    num_probes: int       # 0: exact
    probe: str
    mode: str
    native: bool
    seeder: ProbeSeeder | None


def _accumulation_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def _input_grad(input_shape: tuple[int, ...], weight: torch.Tensor, dy: torch.Tensor,
                geom: ConvGeometry) -> torch.Tensor:
    conv_input = _CONV_INPUT[geom.ndim]
    if geom.symmetric:
        return conv_input(input_shape, weight, dy, stride=geom.stride, padding=geom.pad_lo,
                          dilation=geom.dilation, groups=geom.groups)
    padded = tuple(input_shape[:2]) + tuple(
        n + lo + hi for n, lo, hi in zip(input_shape[2:], geom.pad_lo, geom.pad_hi))
    grad = conv_input(padded, weight, dy, stride=geom.stride, padding=0,
                      dilation=geom.dilation, groups=geom.groups)
    idx = (slice(None), slice(None)) + tuple(
        slice(lo, lo + n) for n, lo in zip(input_shape[2:], geom.pad_lo))
    return grad[idx]


class _ProbedConvFunction(torch.autograd.Function):
    """Exact convolution forward; saves ``(sketch, seed)`` (or the input when exact)."""

    @staticmethod
    def forward(ctx, input, weight, bias, plan):  # noqa: A002 - torch's name
        output = _CONV[plan.geom.ndim](input, weight, bias, plan.geom.stride, plan.padding,
                                       plan.geom.dilation, plan.geom.groups)
        ctx.plan = plan
        ctx.input_shape = tuple(input.shape)
        ctx.input_dtype = input.dtype
        ctx.weight = weight
        ctx.weight_version = weight._version
        ctx.bias_dtype = None if bias is None else bias.dtype
        if not ctx.needs_input_grad[1]:
            ctx.save_for_backward()
        elif plan.num_probes == 0:
            ctx.save_for_backward(input)
        else:
            seed = plan.seeder.current
            x = input.detach().to(_accumulation_dtype(input.dtype))
            xp = array_namespace(x)
            layout = probe_layout(plan.mode, plan.num_probes, ctx.input_shape[1],
                                  math.prod(ctx.input_shape[2:]), probe=plan.probe)
            with torch.autocast(device_type=input.device.type, enabled=False):
                values = _sketch_body(xp, x, layout, plan.probe, seed, plan.native)
            ctx.save_for_backward(values, torch.tensor(seed, dtype=torch.int64))
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        plan, weight = ctx.plan, ctx.weight
        if weight._version != ctx.weight_version:
            raise RuntimeError(
                "the weight of a probed convolution was modified in place between forward "
                f"and backward (version {ctx.weight_version} -> {weight._version})"
            )
        geom = plan.geom
        grad_input = grad_weight = grad_bias = None
        with torch.autocast(device_type=grad_output.device.type, enabled=False):
            if ctx.needs_input_grad[0]:
                grad_input = _input_grad(ctx.input_shape, weight.to(grad_output.dtype),
                                         grad_output, geom).to(ctx.input_dtype)
            if ctx.needs_input_grad[1]:
                saved = ctx.saved_tensors
                acc = _accumulation_dtype(saved[0].dtype)
                dy = grad_output.to(acc)
                xp = array_namespace(dy)
                if plan.num_probes == 0:
                    grad_weight = correlate(xp, saved[0].to(acc), dy, geom)
                else:
                    values, seed = saved
                    sketch = InputSketch(values, int(seed), plan.num_probes, plan.probe,
                                         plan.mode, ctx.input_shape, plan.native)
                    grad_weight = _weight_grad_body(xp, sketch, dy, geom,
                                                    parallel=torch.get_num_threads() > 1)
                    plan.seeder.advance()
                grad_weight = grad_weight.to(weight.dtype)
            if ctx.bias_dtype is not None and ctx.needs_input_grad[2]:
                dims = (0,) + tuple(range(2, grad_output.dim()))
                grad_bias = grad_output.sum(dim=dims).to(ctx.bias_dtype)
        return grad_input, grad_weight, grad_bias, None


def sketch_nbytes(input_shape: tuple[int, ...], dtype: torch.dtype, num_probes: int,
                  mode: str, spatial_dims: int) -> int:
    """Bytes a probed convolution keeps for backward (the input itself when exact)."""
    shape = tuple(input_shape)
    if len(shape) == spatial_dims + 1:
        shape = (1,) + shape
    if num_probes == 0:
        return math.prod(shape) * torch.empty((), dtype=dtype).element_size()
    per_sample = num_probes * (shape[1] if mode == "per_channel" else 1)
    acc = torch.empty((), dtype=_accumulation_dtype(dtype)).element_size()
    return shape[0] * per_sample * acc + 8


def probed_conv(input: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None,  # noqa: A002
                plan: Any) -> torch.Tensor:
    """Apply the probed convolution autograd function (``plan`` from a layer)."""
    return _ProbedConvFunction.apply(input, weight, bias, plan)


def _check_options(num_probes: Any, probe: Any, mode: Any) -> int:
    num_probes = check_positive_int(num_probes, "num_probes", minimum=0)  # 0: exact
    if not isinstance(probe, str) or probe not in PROBES:
        raise ValueError(f"probe must be one of {PROBES}, got {probe!r}")
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return int(num_probes)


class _ProbedConvMixin:
    """Probing state and forward shared by :class:`XConv1d`, :class:`XConv2d`, :class:`XConv3d`."""

    _spatial_dims: int
    _torch_base: type

    def _setup_probing(self, num_probes: int, probe: str, mode: str, native: bool,
                       auto_exact: bool, rng: Any) -> None:
        if self.padding_mode != "zeros":
            raise ValueError(
                f"padding_mode={self.padding_mode!r} is not supported by probed convolutions "
                "(only 'zeros'); keep this layer a torch.nn.Conv"
            )
        self.num_probes = _check_options(num_probes, probe, mode)
        self.probe = probe
        self.mode = mode
        self.native = bool(native)
        self.auto_exact = bool(auto_exact)
        self.seeder = ProbeSeeder(rng)

    @property
    def probe_seed(self) -> int:
        """Seed of the probes the next forward pass draws."""
        return self.seeder.current

    def geometry(self) -> ConvGeometry:
        """The layer's :class:`~randla.apps.xconv.geometry.ConvGeometry`."""
        return conv_geometry(self._spatial_dims, self.kernel_size, stride=self.stride,
                             padding=self.padding, dilation=self.dilation, groups=self.groups)

    def sketch_nbytes(self, input_shape: tuple[int, ...], dtype: torch.dtype) -> int:
        """Bytes this layer keeps for backward for an input of this shape and dtype."""
        return sketch_nbytes(input_shape, dtype, self.num_probes, self.mode, self._spatial_dims)

    def probing_saves_memory(self, input_shape: tuple[int, ...], dtype: torch.dtype) -> bool:
        """True when the sketch (plus seed) is smaller than the input it replaces."""
        if self.num_probes == 0:
            return False
        itemsize = torch.empty((), dtype=dtype).element_size()
        return self.sketch_nbytes(input_shape, dtype) < math.prod(input_shape) * itemsize

    def _plan(self, input: torch.Tensor) -> _Plan:  # noqa: A002
        num_probes = self.num_probes
        if num_probes and self.auto_exact and not self.probing_saves_memory(input.shape,
                                                                            input.dtype):
            num_probes = 0
        return _Plan(self.geometry(), self.padding, num_probes, self.probe, self.mode,
                     self.native, self.seeder)

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        if input.dim() not in (self._spatial_dims + 1, self._spatial_dims + 2):
            raise ValueError(
                f"{type(self).__name__} expects (batch, channels, *spatial) or (channels, "
                f"*spatial) input with {self._spatial_dims} spatial axes, got shape "
                f"{tuple(input.shape)}"
            )
        if not torch.is_grad_enabled() or not (
                input.requires_grad or self.weight.requires_grad
                or (self.bias is not None and self.bias.requires_grad)):
            return self._conv_forward(input, self.weight, self.bias)
        check_finite_sum(input.detach(), "input")  # a NaN sketch would give NaN weight gradients
        unbatched = input.dim() == self._spatial_dims + 1
        batched = input.unsqueeze(0) if unbatched else input
        out = probed_conv(batched, self.weight, self.bias, self._plan(batched))
        return out.squeeze(0) if unbatched else out

    def extra_repr(self) -> str:
        extra = f", num_probes={self.num_probes}"
        if self.num_probes:
            extra += f", probe={self.probe!r}, mode={self.mode!r}"
        return super().extra_repr() + extra

    @classmethod
    def from_conv(cls, conv: nn.Module, *, num_probes: int = 16, probe: str = "gaussian",
                  mode: str = "multi_channel", native: bool = True, auto_exact: bool = True,
                  rng: Any = None):
        """Turn ``conv`` (a ``torch.nn.Conv*d`` of the same dimension) into this class in place.

        The module object, its parameters (so optimizers keep working), hooks,
        device, dtype and training flag are all kept; only its class changes.

        Raises
        ------
        TypeError
            If ``conv`` is not exactly the matching ``torch.nn.Conv*d``.
        ValueError
            Unsupported ``padding_mode`` or invalid probing options (``conv``
            is left unchanged).
        """
        base = cls._torch_base
        if type(conv) is not base:
            raise TypeError(f"{cls.__name__}.from_conv needs a {base.__module__}."
                            f"{base.__name__}, got {type(conv).__name__}")
        if conv.padding_mode != "zeros":
            raise ValueError(f"padding_mode={conv.padding_mode!r} is not supported by probed "
                             "convolutions (only 'zeros')")
        _check_options(num_probes, probe, mode)
        conv.__class__ = cls
        conv._setup_probing(num_probes, probe, mode, native, auto_exact, rng)
        return conv


_DOC_PARAMS = """
    Parameters
    ----------
    in_channels, out_channels, kernel_size, stride, padding, dilation, groups, bias, \
padding_mode, device, dtype
        As for ``torch.nn.{base}`` (``padding_mode`` must be ``"zeros"``;
        ``padding`` may be ``"same"`` or ``"valid"``).
    num_probes : int, default 16
        Probe columns ``r``; 0 computes the exact weight gradient.
    probe : {{"gaussian", "rademacher", "orthonormal", "sphere", "srft"}}
    mode : {{"multi_channel", "per_channel"}}
        Sketch of ``batch * r`` or ``batch * in_channels * r`` numbers (see
        :mod:`randla.apps.xconv.probes`).
    native : bool, default True
        Draw probes with torch's generator on the input's device (no host copy).
    auto_exact : bool, default True
        Fall back to the exact gradient for inputs where the sketch would not
        be smaller than the input.
    rng : int, numpy.random.Generator or None
        Seeds the layer's private probe-seed generator.

    Raises
    ------
    ValueError
        ``padding_mode`` other than ``"zeros"``, ``num_probes < 0``, unknown
        ``probe`` or ``mode``; at forward, NaN or infinity in the input and
        orthonormal / srft probes with more columns per channel than input pixels.
    TypeError
        Non-integer ``num_probes``.

"""


def _make(base: type, dims: int) -> type:
    def __init__(self, in_channels, out_channels, kernel_size, stride=1, padding=0,
                 dilation=1, groups=1, bias=True, padding_mode="zeros", device=None,
                 dtype=None, *, num_probes=16, probe="gaussian", mode="multi_channel",
                 native=True, auto_exact=True, rng=None):
        if padding_mode != "zeros":
            raise ValueError(f"padding_mode={padding_mode!r} is not supported by probed "
                             "convolutions (only 'zeros')")
        _check_options(num_probes, probe, mode)
        base.__init__(self, in_channels, out_channels, kernel_size, stride=stride,
                      padding=padding, dilation=dilation, groups=groups, bias=bias,
                      padding_mode=padding_mode, device=device, dtype=dtype)
        self._setup_probing(num_probes, probe, mode, native, auto_exact, rng)

    name = f"XConv{dims}d"
    example = {1: "(4, 3, 32)", 2: "(4, 3, 16, 16)", 3: "(2, 3, 8, 8, 8)"}[dims]
    doc = (f"Drop-in ``torch.nn.{base.__name__}`` with a probed weight gradient.\n"
           + _DOC_PARAMS.format(base=base.__name__) + f"""
    Examples
    --------
    >>> import torch
    >>> from randla.apps.xconv import {name}
    >>> layer = {name}(3, 8, 3, padding=1, num_probes=4, rng=0)
    >>> x = torch.randn{example}
    >>> layer(x).sum().backward()
    >>> layer.weight.grad.shape == layer.weight.shape
    True
""")
    cls = type(name, (_ProbedConvMixin, base), {
        "__init__": __init__, "__doc__": doc, "__module__": __name__,
        "_spatial_dims": dims, "_torch_base": base, "__qualname__": name})
    return cls


XConv1d = _make(nn.Conv1d, 1)
XConv2d = _make(nn.Conv2d, 2)
XConv3d = _make(nn.Conv3d, 3)
