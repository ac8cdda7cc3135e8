"""Relative error of probed conv weight gradients vs num_probes and batch size.

The XConv "accuracy" study (Louboutin et al. 2021, slides: "error decreases
with batch size b and number of probing vectors r"), on real activations: a
small CNN is trained for two epochs on scikit-learn's digits (16x16), then for
the middle conv layer (16 -> 32 channels, 3x3, stride 2, 16x16 images) the exact
minibatch gradient ``g_B`` is compared with the probed estimate ``g_hat``
(``sketch_input`` + ``weight_grad`` on the layer's recorded input and output
gradient) for r = 4..256 and B = 1..256.

Tables (RMS over 8 seeds x 4 minibatches):

1. ``||g_hat - g_B|| / ||g_B||`` per (B, r) and the fitted log-log slope in r
   (1/sqrt(r) is -0.5);
2. the error against the full-data gradient ``g``: SGD noise
   ``||g_B - g|| / ||g||`` next to probed SGD ``||g_hat - g|| / ||g||``: how
   much the probing adds to the minibatch noise, and how a larger batch
   offsets it.

Usage::

    python benchmarks/xconv_error.py [--mode multi_channel|per_channel] [--threads 1]
"""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

from randla.apps.xconv import sketch_input, weight_grad

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xconv_digits import digits, make_cnn, train  # noqa: E402

BATCHES = (1, 4, 16, 64, 256)
PROBES = (4, 8, 16, 32, 64, 128, 256)
LAYER = 2  # model[2]: Conv2d(16, 32, 3, stride=2, padding=1) on 16x16 images


def layer_io(model, x, y):
    """Input and output gradient of ``model[LAYER]`` for the batch ``(x, y)``."""
    record = {}
    conv = model[LAYER]
    h1 = conv.register_forward_hook(lambda m, a, out: record.update(x=a[0].detach()))
    h2 = conv.register_full_backward_hook(lambda m, gi, go: record.update(dy=go[0].detach()))
    model.zero_grad()
    F.cross_entropy(model(x), y, reduction="sum").backward()
    h1.remove()
    h2.remove()
    return record["x"], record["dy"], conv.weight.grad.detach().clone()


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mode", default="multi_channel", choices=["multi_channel", "per_channel"])
    parser.add_argument("--probe", default="gaussian")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = digits()
    model = make_cnn()
    train(model, data, epochs=2, batch_size=32)
    model.eval()  # no dropout/batchnorm here; eval only fixes the mode
    x_train, y_train = data[0], data[1]
    _, _, g_full = layer_io(model, x_train, y_train)
    g_full /= len(y_train)
    gen = np.random.default_rng(0)
    geo = dict(kernel_size=3, stride=2, padding=1)
    rel, sgd, probed_sgd = {}, {}, {}
    for B in BATCHES:
        batches = [torch.from_numpy(gen.choice(len(y_train), B, replace=False)) for _ in range(4)]
        io = [layer_io(model, x_train[b], y_train[b]) for b in batches]
        sgd[B] = np.sqrt(np.mean([float((g / B - g_full).norm() ** 2) for _, _, g in io])) \
            / float(g_full.norm())
        for r in PROBES:
            err, err_full = [], []
            for x, dy, g in io:
                for seed in range(args.seeds):
                    est = weight_grad(sketch_input(x, r, probe=args.probe, mode=args.mode,
                                                   rng=seed, native=True), dy, **geo)
                    err.append(float((est - g).norm() ** 2 / g.norm() ** 2))
                    err_full.append(float((est / B - g_full).norm() ** 2))
            rel[B, r] = np.sqrt(np.mean(err))
            probed_sgd[B, r] = np.sqrt(np.mean(err_full)) / float(g_full.norm())
    print(f"layer {model[LAYER]}, 16x16 inputs, {args.mode}, {args.probe} probes, "
          f"{args.seeds} seeds x 4 minibatches")
    print("\n1. relative error ||g_hat - g_B|| / ||g_B|| (RMS)")
    print(f"{'B/r':>6}" + "".join(f"{r:>8}" for r in PROBES) + f"{'slope':>8}")
    logr = np.log(PROBES)
    for B in BATCHES:
        errs = np.array([rel[B, r] for r in PROBES])
        slope = np.polyfit(logr, np.log(errs), 1)[0]
        print(f"{B:>6}" + "".join(f"{e:>8.3f}" for e in errs) + f"{slope:>8.3f}")
    print("\n2. error against the full-data gradient: SGD noise vs probed SGD")
    print(f"{'B':>6}{'SGD':>8}" + "".join(f"{f'r={r}':>8}" for r in PROBES))
    for B in BATCHES:
        print(f"{B:>6}{sgd[B]:>8.3f}" + "".join(f"{probed_sgd[B, r]:>8.3f}" for r in PROBES))
    slope_b = {r: np.polyfit(np.log(BATCHES), np.log([probed_sgd[B, r] for B in BATCHES]), 1)[0]
               for r in PROBES}
    print("\nslope of the probed-SGD error in B (log-log): "
          + ", ".join(f"r={r}: {s:.2f}" for r, s in slope_b.items()))


if __name__ == "__main__":
    main()
