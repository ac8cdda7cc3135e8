"""Bytes kept for backward by a conv network: exact vs probed (the XConv slides' recipe).

Four 3x3 convolutions 16 -> 16 (padding 1, no bias) on an input of
128 x 16 x 256 x 256 (float32), as in the XConv memory profile
(``mem_prof.py``: ~1.5 GB of conv state for ``nn.Conv2d`` vs ~2 MB for
``Xconv2D``). What autograd keeps is measured with
``torch.autograd.graph.saved_tensors_hooks`` (:class:`SavedTensorMeter`,
parameters excluded, each storage counted once), during one forward pass.

The slides report a GPU memory delta, which does not include the network
input (allocated before the forward pass), so the table gives both "all
saved" and "excluding the input". A second table puts a ReLU after every
convolution and compares ``nn.ReLU`` with the 1-bit :class:`BitReLU`.

Usage::

    python benchmarks/xconv_memory.py [--batch 128] [--size 256] [--threads 1]
"""

from __future__ import annotations

import argparse
import copy
import time

import torch
from torch import nn

from randla.apps.xconv import SavedTensorMeter, convert_net

MiB = 2**20


def human(nbytes):
    """Bytes as KiB / MiB text."""
    return f"{nbytes / MiB:.1f} MiB" if nbytes >= MiB else f"{nbytes / 1024:.1f} KiB"


def saved_bytes(net, x):
    """Bytes saved for backward by one forward pass: all, and without the input ``x``."""
    with SavedTensorMeter(exclude=net.parameters()) as meter:
        out = net(x)
    del out
    input_bytes = x.numel() * x.element_size() if meter.saved(x) else 0
    return meter.nbytes, meter.nbytes - input_bytes


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--batch", type=int, default=128)
    parser.add_argument("--size", type=int, default=256)
    parser.add_argument("--channels", type=int, default=16)
    parser.add_argument("--probes", type=int, nargs="*", default=[8, 16, 32, 64])
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    C, B, n = args.channels, args.batch, args.size
    torch.manual_seed(0)  # benchmark script
    base = nn.Sequential(*[nn.Conv2d(C, C, 3, padding=1, bias=False) for _ in range(4)])
    x = torch.randn(B, C, n, n, requires_grad=True)
    print(f"4 x Conv2d({C}, {C}, 3, padding=1, bias=False), input {tuple(x.shape)} float32 "
          f"({x.numel() * 4 / MiB:.0f} MiB)")
    print(f"{'network':<34}{'saved':>12}{'excl. input':>14}{'vs exact':>10}{'fwd s':>8}")
    t0 = time.perf_counter()
    exact_all, exact_wo = saved_bytes(base, x)
    print(f"{'nn.Conv2d (exact)':<34}{human(exact_all):>12}{human(exact_wo):>14}"
          f"{1:>10.0f}{time.perf_counter() - t0:>8.1f}", flush=True)
    for mode in ("multi_channel", "per_channel"):
        for r in args.probes:
            net = copy.deepcopy(base)
            convert_net(net, r, mode=mode, rng=0)
            t0 = time.perf_counter()
            total, wo = saved_bytes(net, x)
            print(f"{f'XConv2d r={r} {mode}':<34}{human(total):>12}{human(wo):>14}"
                  f"{exact_all / total:>10.0f}{time.perf_counter() - t0:>8.1f}", flush=True)
    print("\nwith a ReLU after every convolution")
    relu_net = nn.Sequential(*[m for conv in base for m in (conv, nn.ReLU())])
    exact_all, _ = saved_bytes(relu_net, x)
    print(f"{'Conv2d + ReLU (exact)':<34}{human(exact_all):>12}")
    for r, bit in ((8, False), (8, True)):
        net = copy.deepcopy(relu_net)
        convert_net(net, r, relu=bit, rng=0)
        total, _ = saved_bytes(net, x)
        name = f"XConv2d r={r} + {'BitReLU' if bit else 'ReLU'}"
        print(f"{name:<34}{human(total):>12}{'':>14}{exact_all / total:>10.1f}")


if __name__ == "__main__":
    main()
