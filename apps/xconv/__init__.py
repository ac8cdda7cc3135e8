"""Low-memory CNN training with probed convolution weight gradients (XConv).

A probed convolution computes its forward pass exactly but keeps only a
sketch ``Z^T X`` of its input and a seed; the weight gradient is the unbiased
randomized-trace estimate ``dW_k ~ (1/r) tr((Z^T X)(dY^T S_k Z))``, while input
and bias gradients stay exact, so the noise does not compound down the network.

* Array API (NumPy, CuPy, torch): :func:`sketch_input`, :func:`weight_grad`
  and the exact reference :func:`conv_weight_grad`, for 1-, 2- and 3-d
  convolutions with any stride, zero padding, dilation and groups.
* torch (imported on first use, the package itself does not need torch):
  drop-in layers :class:`XConv1d`, :class:`XConv2d`, :class:`XConv3d`, the
  1-bit :class:`BitReLU`, :func:`convert_net` to convert a model in place, and
  :class:`SavedTensorMeter` to measure what autograd keeps for backward.

The estimators, their variances and the probe layouts are derived in
:mod:`randla.apps.xconv.probes`.

References
----------
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021).
"""

from __future__ import annotations

import importlib as _importlib

from .core import InputSketch, sketch_input, weight_grad
from .exact import conv_weight_grad
from .geometry import ConvGeometry, conv_geometry
from .probes import MODES, PROBES, ProbeLayout, draw_conv_probes, probe_layout

__all__ = [
    "BitReLU",
    "ConvGeometry",
    "ConversionReport",
    "InputSketch",
    "LayerReport",
    "MODES",
    "PROBES",
    "ProbeLayout",
    "SavedTensorMeter",
    "XConv1d",
    "XConv2d",
    "XConv3d",
    "bit_relu",
    "conv_geometry",
    "conv_weight_grad",
    "convert_net",
    "draw_conv_probes",
    "probe_layout",
    "sketch_input",
    "weight_grad",
]

# names that need torch, loaded on first access
_LAZY = {
    "BitReLU": "relu",
    "bit_relu": "relu",
    "ConversionReport": "convert",
    "LayerReport": "convert",
    "SavedTensorMeter": "convert",
    "convert_net": "convert",
    "XConv1d": "torch",
    "XConv2d": "torch",
    "XConv3d": "torch",
}


def __getattr__(name: str):
    if name in _LAZY:
        module = _importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(__all__))
