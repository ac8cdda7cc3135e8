"""A ReLU that keeps one bit per element for backward: :class:`BitReLU`.

``torch.nn.ReLU`` saves its output (4 bytes per element in float32) to form
its gradient. Once the following convolution only keeps a sketch, that saved
output is what dominates the memory of a conv/ReLU network. :class:`BitReLU`
saves the sign mask ``y > 0`` bit-packed into ``uint8`` (1/32 of the float32
output), and its forward and backward equal ``torch.nn.ReLU``'s exactly
(including the zero gradient at 0).

References
----------
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021)
(the XConv code's byte-mask ReLU; here packed to bits).
"""

from __future__ import annotations

import torch
from torch import nn
from torch.autograd.function import once_differentiable

__all__ = ["BitReLU", "bit_relu", "pack_bits", "unpack_bits"]


def _shifts(device: torch.device) -> torch.Tensor:
    return torch.arange(8, dtype=torch.uint8, device=device)


def pack_bits(mask: torch.Tensor) -> torch.Tensor:
    """Pack a boolean tensor into ``ceil(numel / 8)`` bytes (little-endian bit order).

    Examples
    --------
    >>> import torch
    >>> from randla.apps.xconv.relu import pack_bits, unpack_bits
    >>> m = torch.tensor([True, False, True, True, False, False, False, False, True])
    >>> pack_bits(m).tolist()
    [13, 1]
    >>> bool(torch.equal(unpack_bits(pack_bits(m), m.shape), m))
    True
    """
    flat = mask.reshape(-1).to(torch.uint8)
    pad = (-flat.numel()) % 8
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    return (flat.view(-1, 8) << _shifts(flat.device)).sum(dim=1, dtype=torch.uint8)


def unpack_bits(packed: torch.Tensor, shape: torch.Size | tuple[int, ...]) -> torch.Tensor:
    """Inverse of :func:`pack_bits`: a boolean tensor of ``shape``."""
    numel = 1
    for n in shape:
        numel *= int(n)
    bits = (packed.unsqueeze(1) >> _shifts(packed.device)) & 1
    return bits.reshape(-1)[:numel].reshape(shape).bool()


class _BitReLUFunction(torch.autograd.Function):
    @staticmethod
    def forward(ctx, input, inplace):  # noqa: A002 - torch's name
        if inplace:
            ctx.mark_dirty(input)
            output = input.relu_()
        else:
            output = torch.relu(input)
        ctx.shape = output.shape
        ctx.save_for_backward(pack_bits(output > 0))
        return output

    @staticmethod
    @once_differentiable
    def backward(ctx, grad_output):
        (packed,) = ctx.saved_tensors
        mask = unpack_bits(packed, ctx.shape)
        return grad_output * mask.to(grad_output.dtype), None


def bit_relu(input: torch.Tensor, inplace: bool = False) -> torch.Tensor:  # noqa: A002
    """``torch.relu`` whose backward keeps only a bit-packed sign mask.

    Parameters
    ----------
    input : torch.Tensor
    inplace : bool
        Overwrite ``input`` (as ``torch.nn.ReLU(inplace=True)``).

    Returns
    -------
    torch.Tensor
        ``max(input, 0)``.

    Raises
    ------
    TypeError
        ``input`` is not a ``torch.Tensor``.

    Examples
    --------
    >>> import torch
    >>> from randla.apps.xconv import bit_relu
    >>> x = torch.tensor([-1.0, 2.0], requires_grad=True)
    >>> bit_relu(x).sum().backward()
    >>> x.grad.tolist()
    [0.0, 1.0]
    """
    if not isinstance(input, torch.Tensor):
        raise TypeError(f"input must be a torch.Tensor, got {type(input).__name__}")
    if torch.is_grad_enabled() and input.requires_grad:
        return _BitReLUFunction.apply(input, inplace)
    return torch.relu_(input) if inplace else torch.relu(input)


class BitReLU(nn.ReLU):
    """Drop-in ``torch.nn.ReLU`` that saves 1 bit per element for backward.

    Parameters
    ----------
    inplace : bool
        As for ``torch.nn.ReLU``.

    Examples
    --------
    >>> import torch
    >>> from randla.apps.xconv import BitReLU
    >>> x = torch.randn(2, 3, requires_grad=True)
    >>> torch.equal(BitReLU()(x), torch.relu(x))
    True
    """

    def forward(self, input: torch.Tensor) -> torch.Tensor:  # noqa: A002
        return bit_relu(input, self.inplace)
