"""Convert a torch model to probed convolutions in place, and measure what it saves.

:func:`convert_net` turns every eligible ``torch.nn.Conv1d/2d/3d`` of a model
into the matching :class:`~randla.apps.xconv.XConv2d` (same module object,
parameters, hooks, device, dtype and training flag: only the class changes) and
optionally every ``torch.nn.ReLU`` into the 1-bit :class:`~randla.apps.xconv.BitReLU`.
:class:`SavedTensorMeter` counts the bytes autograd keeps for backward through
``torch.autograd.graph.saved_tensors_hooks``.

References
----------
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021).
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Iterable

import torch
from torch import nn

from randla.random import as_generator, seed_from

from .relu import BitReLU
from .torch import XConv1d, XConv2d, XConv3d, _check_options, _ProbedConvMixin, sketch_nbytes

__all__ = ["ConversionReport", "LayerReport", "SavedTensorMeter", "convert_net"]

_TARGET = {nn.Conv1d: XConv1d, nn.Conv2d: XConv2d, nn.Conv3d: XConv3d}


@dataclasses.dataclass(frozen=True)
class LayerReport:
    """What :func:`convert_net` did with one layer.

    Attributes
    ----------
    name : str
        Qualified module name (``""`` for the model itself).
    kind : str
        Original class name.
    converted : bool
    reason : str
        Why the layer was (not) converted.
    input_shape : tuple of int or None
        From ``example_input`` (None when not given or the layer was not called).
    exact_bytes, probed_bytes : int or None
        Bytes kept for backward by the original and by the converted layer
        (parameters excluded), for ``example_input``.

    Examples
    --------
    >>> from randla.apps.xconv import LayerReport
    >>> LayerReport("conv1", "Conv2d", True, "probed", (8, 3, 32, 32), 98304, 256).saved_bytes
    98048
    """

    name: str
    kind: str
    converted: bool
    reason: str
    input_shape: tuple[int, ...] | None = None
    exact_bytes: int | None = None
    probed_bytes: int | None = None

    @property
    def saved_bytes(self) -> int:
        """``exact_bytes - probed_bytes`` when converted and known, else 0."""
        if not self.converted or self.exact_bytes is None or self.probed_bytes is None:
            return 0
        return self.exact_bytes - self.probed_bytes


@dataclasses.dataclass(frozen=True)
class ConversionReport:
    """Per-layer outcome of :func:`convert_net`; ``str()`` gives a table.

    Per-layer bytes count a storage shared by two layers (a ReLU output that is
    also the next convolution's input) for each of them; the summary line gives
    what the whole network stores for backward, measured with
    :class:`SavedTensorMeter` (each storage once, parameters excluded).

    Attributes
    ----------
    layers : tuple of LayerReport
        One entry per inspected layer, in module order.
    measured_before, measured_after : int or None
        Bytes the network stores for backward for ``example_input``, before
        and after conversion (None without ``example_input``).

    Examples
    --------
    >>> import torch
    >>> from randla.apps.xconv import convert_net
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 8, 3, padding=1))
    >>> report = convert_net(net, 4, rng=0, example_input=torch.randn(2, 3, 16, 16))
    >>> report.converted, report.saved_bytes > 0
    (['0'], True)
    """

    layers: tuple[LayerReport, ...]
    measured_before: int | None = None
    measured_after: int | None = None

    @property
    def converted(self) -> list[str]:
        """Names of the converted layers."""
        return [layer.name for layer in self.layers if layer.converted]

    @property
    def saved_bytes(self) -> int:
        """Total bytes saved for backward (known layers only)."""
        return sum(layer.saved_bytes for layer in self.layers)

    @property
    def exact_bytes(self) -> int:
        """Bytes the listed layers keep before conversion (known layers only)."""
        return sum(layer.exact_bytes or 0 for layer in self.layers)

    def __str__(self) -> str:
        def fmt(n: int | None) -> str:
            return "?" if n is None else f"{n / 2**20:.3f}"

        rows = [("layer", "kind", "converted", "exact MiB", "probed MiB", "reason")]
        for layer in self.layers:
            probed = layer.probed_bytes if layer.converted else layer.exact_bytes
            rows.append((layer.name or "<model>", layer.kind, "yes" if layer.converted else "no",
                         fmt(layer.exact_bytes), fmt(probed), layer.reason))
        widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths)).rstrip()
                 for row in rows]
        if self.measured_before is not None and self.measured_after is not None:
            lines.append(f"stored for backward: before {fmt(self.measured_before)} MiB, "
                         f"after {fmt(self.measured_after)} MiB (measured)")
        else:
            lines.append("stored for backward: not measured (pass example_input)")
        return "\n".join(lines)


class SavedTensorMeter:
    """Context manager counting the tensors autograd saves for backward.

    Every tensor packed by ``torch.autograd.graph.saved_tensors_hooks`` inside
    the ``with`` block is recorded; :attr:`nbytes` counts each underlying
    storage once, leaving out the storages of ``exclude`` (e.g. the model's
    parameters, which exist anyway).

    Parameters
    ----------
    exclude : iterable of torch.Tensor
        Tensors whose storage is not counted.

    Attributes
    ----------
    records : list of (shape, dtype, nbytes)
        One entry per packed tensor, in packing order (excluded ones omitted).

    Examples
    --------
    >>> import torch
    >>> from randla.apps.xconv import SavedTensorMeter
    >>> conv = torch.nn.Conv2d(2, 2, 3)
    >>> x = torch.randn(1, 2, 8, 8, requires_grad=True)
    >>> with SavedTensorMeter(exclude=conv.parameters()) as meter:
    ...     y = conv(x)
    >>> meter.nbytes == x.numel() * 4
    True
    """

    def __init__(self, exclude: Iterable[torch.Tensor] = ()) -> None:
        self._exclude = {t.untyped_storage().data_ptr() for t in exclude}
        self.records: list[tuple[tuple[int, ...], torch.dtype, int]] = []
        self._storages: dict[tuple[str, int], int] = {}
        self._hooks: Any = None

    def _pack(self, tensor: torch.Tensor) -> torch.Tensor:
        storage = tensor.untyped_storage()
        ptr = storage.data_ptr()
        if ptr not in self._exclude or ptr == 0:
            self.records.append((tuple(tensor.shape), tensor.dtype,
                                 tensor.numel() * tensor.element_size()))
            self._storages[(str(tensor.device), ptr)] = storage.nbytes()
        return tensor

    @staticmethod
    def _unpack(tensor: torch.Tensor) -> torch.Tensor:
        return tensor

    @property
    def nbytes(self) -> int:
        """Bytes of the distinct storages saved for backward."""
        return sum(self._storages.values())

    def saved(self, tensor: torch.Tensor) -> bool:
        """Whether the storage of ``tensor`` was saved for backward."""
        key = (str(tensor.device), tensor.untyped_storage().data_ptr())
        return key in self._storages

    def __enter__(self) -> "SavedTensorMeter":
        self._hooks = torch.autograd.graph.saved_tensors_hooks(self._pack, self._unpack)
        self._hooks.__enter__()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._hooks.__exit__(*exc)


def _record_inputs(model: nn.Module, example_input: Any, kinds: tuple[type, ...]
                   ) -> dict[str, tuple[tuple[int, ...], torch.dtype]]:
    """Input shape and dtype of every module of ``kinds`` for one eval forward."""
    seen: dict[str, tuple[tuple[int, ...], torch.dtype]] = {}
    handles = []
    for name, module in model.named_modules():
        if type(module) in kinds:
            def hook(mod, args, _name=name):
                seen[_name] = (tuple(args[0].shape), args[0].dtype)
            handles.append(module.register_forward_pre_hook(hook))
    modes = {m: m.training for m in model.modules()}
    try:
        model.eval()
        with torch.no_grad():
            if isinstance(example_input, (tuple, list)):
                model(*example_input)
            else:
                model(example_input)
    finally:
        for handle in handles:
            handle.remove()
        for module, mode in modes.items():
            module.training = mode
    return seen


def _measure(model: nn.Module, example_input: Any) -> int:
    """Bytes stored for backward by one training-mode forward pass (each storage
    once, parameters excluded); buffers, training flags and torch's RNG state
    are restored, so the measurement leaves no trace."""
    args = tuple(example_input) if isinstance(example_input, (tuple, list)) else (example_input,)
    buffers = [(b, b.detach().clone()) for b in model.buffers()]
    modes = {m: m.training for m in model.modules()}
    try:
        model.train()
        with torch.random.fork_rng(devices=[]), torch.enable_grad():
            with SavedTensorMeter(exclude=model.parameters()) as meter:
                out = model(*args)
            del out
    finally:
        with torch.no_grad():
            for buf, saved in buffers:
                buf.copy_(saved)
        for module, mode in modes.items():
            module.training = mode
    return meter.nbytes


def convert_net(
    model: nn.Module, num_probes: int, *, probe: str = "gaussian", mode: str = "multi_channel",
    native: bool = True, auto_exact: bool = True, relu: bool = False, rng: Any = None,
    example_input: Any = None,
) -> ConversionReport:
    """Swap every eligible convolution of ``model`` for a probed one, in place.

    Exactly-typed ``torch.nn.Conv1d``, ``Conv2d`` and ``Conv3d`` modules with
    ``padding_mode="zeros"`` become :class:`~randla.apps.xconv.XConv1d` /
    ``XConv2d`` / ``XConv3d`` by changing their class: the same objects keep
    their parameters (optimizers stay valid), buffers, hooks, stride,
    padding, dilation, groups, device, dtype and training flag. With
    ``example_input`` a layer whose sketch would not be smaller than its input
    is left exact, and the report gives the bytes kept for backward per layer.

    Parameters
    ----------
    model : torch.nn.Module
    num_probes : int
        Probe columns per layer (0: exact gradients through the same layers).
    probe, mode, native, auto_exact
        Passed to every converted layer (see :class:`~randla.apps.xconv.XConv2d`).
    relu : bool
        Also turn every ``torch.nn.ReLU`` into the 1-bit :class:`~randla.apps.xconv.BitReLU`.
    rng : int, numpy.random.Generator or None
        Each converted layer's private seed generator is seeded from it in
        module order (reproducible conversions).
    example_input : torch.Tensor or tuple, optional
        One batch; run once in eval mode under ``torch.no_grad()`` (training
        flags restored) to record every layer's input shape.

    Returns
    -------
    ConversionReport

    Raises
    ------
    TypeError
        ``model`` is not a ``torch.nn.Module``; non-integer ``num_probes``.
    ValueError
        ``num_probes < 0``, unknown ``probe`` or ``mode``.

    Examples
    --------
    >>> import torch
    >>> from randla.apps.xconv import convert_net
    >>> net = torch.nn.Sequential(torch.nn.Conv2d(3, 16, 3, padding=1), torch.nn.ReLU(),
    ...                           torch.nn.Conv2d(16, 16, 3, padding=1))
    >>> report = convert_net(net, 8, relu=True, rng=0,
    ...                      example_input=torch.randn(4, 3, 32, 32))
    >>> report.converted
    ['0', '1', '2']
    >>> type(net[2]).__name__
    'XConv2d'
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be a torch.nn.Module, got {type(model).__name__}")
    num_probes = _check_options(num_probes, probe, mode)
    kinds: tuple[type, ...] = tuple(_TARGET) + ((nn.ReLU,) if relu else ())
    seen = (_record_inputs(model, example_input, kinds + (BitReLU,) + tuple(_TARGET.values()))
            if example_input is not None else {})
    before = _measure(model, example_input) if example_input is not None else None
    gen = as_generator(rng)
    reports = []
    for name, module in model.named_modules():
        kind = type(module).__name__
        shape, dtype = seen.get(name, (None, None))
        if isinstance(module, _ProbedConvMixin):
            reports.append(LayerReport(name, kind, False, "already probed", shape))
            continue
        if relu and type(module) is nn.ReLU:
            exact = probed = None
            if shape is not None:
                exact = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
                probed = -(-math.prod(shape) // 8)
            module.__class__ = BitReLU
            reports.append(LayerReport(name, kind, True, "1-bit mask", shape, exact, probed))
            continue
        if isinstance(module, nn.modules.conv._ConvNd) and type(module) not in _TARGET:
            reports.append(LayerReport(name, kind, False, "not a plain Conv1d/2d/3d", shape))
            continue
        if type(module) not in _TARGET:
            continue
        if module.padding_mode != "zeros":
            reports.append(LayerReport(name, kind, False,
                                       f"padding_mode={module.padding_mode!r} unsupported", shape))
            continue
        target = _TARGET[type(module)]
        exact = probed = None
        reason = f"r={num_probes}, {mode}, {probe}" if num_probes else "exact (num_probes=0)"
        if shape is not None:
            exact = math.prod(shape) * torch.empty((), dtype=dtype).element_size()
            probed = sketch_nbytes(shape, dtype, num_probes, mode, target._spatial_dims)
            if num_probes and probed >= exact:
                reports.append(LayerReport(name, kind, False, "probing would not save memory",
                                           shape, exact, exact))
                continue
        target.from_conv(module, num_probes=num_probes, probe=probe, mode=mode, native=native,
                         auto_exact=auto_exact, rng=seed_from(gen))
        reports.append(LayerReport(name, kind, True, reason, shape, exact, probed))
    after = _measure(model, example_input) if example_input is not None else None
    return ConversionReport(tuple(reports), before, after)
