"""Train a small CNN on scikit-learn's digits with exact and probed conv gradients.

Reproduces the XConv MNIST study (Louboutin et al. 2021) at laptop scale:
8x8 digits upsampled to 16x16, three 3x3 conv layers (1->16->32->32, the
last two with stride 2) with ReLU, a linear classifier; the same initial weights, data
order and epochs for every run. Every conv layer is converted with
``convert_net(model, r)`` for the probed runs (the ReLUs become 1-bit ReLUs).

Prints the test accuracy (final and best epoch) for exact gradients and
r = 8, 16, 32 probes in both sketch modes, then the accuracy gap to exact
for r = 8 at batch sizes 16, 64 and 256, averaged over initialisations (the
"larger batches offset the gradient noise" claim; the gradient error itself vs
batch size is in ``xconv_error.py``).

Usage::

    python benchmarks/xconv_digits.py [--epochs 15] [--threads 1]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from randla.apps.xconv import convert_net


def digits(size: int = 16):
    """Train / test tensors of the digits images, upsampled to ``size`` x ``size``."""
    data = load_digits()
    x = torch.tensor(data.images / 16.0, dtype=torch.float32)[:, None]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False)
    x = (x - x.mean()) / x.std()
    y = torch.tensor(data.target)
    idx_train, idx_test = train_test_split(np.arange(len(y)), test_size=0.25, random_state=0,
                                           stratify=data.target)
    return x[idx_train], y[idx_train], x[idx_test], y[idx_test]


def make_cnn(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)  # benchmark script: same initial weights for every run
    return nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
        nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
    )


def train(model, data, *, epochs: int, batch_size: int, lr: float = 2e-3, seed: int = 0):
    """Adam on cross-entropy; returns the test accuracy after every epoch."""
    x_train, y_train, x_test, y_test = data
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    order = np.random.default_rng(seed)
    accuracy = []
    for _ in range(epochs):
        model.train()
        perm = torch.from_numpy(order.permutation(len(y_train)))
        for start in range(0, len(perm), batch_size):
            batch = perm[start:start + batch_size]
            optimizer.zero_grad()
            F.cross_entropy(model(x_train[batch]), y_train[batch]).backward()
            optimizer.step()
        model.eval()
        with torch.no_grad():
            accuracy.append(float((model(x_test).argmax(1) == y_test).float().mean()))
    return accuracy


def run(variant, data, *, epochs, batch_size, mode="multi_channel"):
    model = make_cnn()
    if variant != "exact":
        convert_net(model, variant, mode=mode, relu=True, rng=1, example_input=data[0][:batch_size])
    t0 = time.perf_counter()
    acc = train(model, data, epochs=epochs, batch_size=batch_size)
    return acc, time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=15)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch-seeds", type=int, default=2)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    data = digits()
    print(f"digits 16x16: {len(data[1])} train / {len(data[3])} test images, "
          f"{args.epochs} epochs, batch {args.batch_size}, Adam, {args.threads} thread(s)")
    print(f"{'gradient':<24}{'final acc':>10}{'best acc':>10}{'gap (pp)':>10}{'time s':>8}")
    exact_acc, t = run("exact", data, epochs=args.epochs, batch_size=args.batch_size)
    print(f"{'exact':<24}{exact_acc[-1]:>10.4f}{max(exact_acc):>10.4f}{0:>10.2f}{t:>8.1f}")
    for mode in ("multi_channel", "per_channel"):
        for r in (8, 16, 32):
            acc, t = run(r, data, epochs=args.epochs, batch_size=args.batch_size, mode=mode)
            gap = 100 * (acc[-1] - exact_acc[-1])
            print(f"{f'r={r} {mode}':<24}{acc[-1]:>10.4f}{max(acc):>10.4f}{gap:>10.2f}{t:>8.1f}")
    print(f"\nbatch size vs probing noise (r=8, multi_channel; lr scaled with sqrt(batch/32); "
          f"mean over {args.batch_seeds} initialisations / data orders)")
    print(f"{'batch':>6}{'exact acc':>11}{'probed acc':>12}{'gap (pp)':>10}")
    for batch_size in (16, 64, 256):
        accs = {"exact": [], 8: []}
        for seed in range(args.batch_seeds):
            for variant in accs:
                model = make_cnn(seed)
                if variant != "exact":
                    convert_net(model, variant, relu=True, rng=seed + 1)
                accs[variant].append(train(model, data, epochs=args.epochs,
                                           batch_size=batch_size, seed=seed,
                                           lr=2e-3 * (batch_size / 32) ** 0.5)[-1])
        exact, probed = np.mean(accs["exact"]), np.mean(accs[8])
        print(f"{batch_size:>6}{exact:>11.4f}{probed:>12.4f}{100 * (probed - exact):>10.2f}")

if __name__ == "__main__":
    main()
