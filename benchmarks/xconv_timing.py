"""CPU time of the probed conv weight gradient vs torch's exact one.

For 3x3 convolutions (C -> C channels, padding 1, batch 64) on images of
64^2 .. 1024^2 pixels and C = 4 .. 32, times

* exact: ``torch.nn.grad.conv2d_weight(X, W.shape, dY)`` (what ``nn.Conv2d``
  runs in backward for the weight; oneDNN);
* probed backward: ``weight_grad(sketch, dY)`` (regenerate the probes from the
  seed, correlate, contract);
* probed total: ``sketch_input(X)`` (the extra forward work) + backward;

and prints speed-up ratios ``exact / probed`` (median of interleaved repeats).
Configurations whose input would exceed ``--max-gib`` are skipped (the grid is
subsampled at 1024^2 and 512^2 so that X and dY fit in memory).

Usage::

    python benchmarks/xconv_timing.py [--threads 1] [--mode multi_channel] [--repeats 3]
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from randla.apps.xconv import sketch_input, weight_grad

SIZES = (64, 128, 256, 512, 1024)
CHANNELS = (4, 8, 16, 32)
PROBES = (2, 4, 8, 16, 32)


def _time(fn):
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--mode", default="multi_channel", choices=["multi_channel", "per_channel", "dense"])
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--max-gib", type=float, default=1.0)
    parser.add_argument("--sizes", type=int, nargs="*", default=SIZES)
    parser.add_argument("--channels", type=int, nargs="*", default=CHANNELS)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    B = args.batch
    print(f"3x3 conv C->C, padding 1, batch {B}, float32, {args.mode}, gaussian probes, "
          f"{args.threads} thread(s), median of {args.repeats}")
    print("ratio = exact conv2d_weight time / probed time (> 1: probing is faster)")
    head = f"{'image':>10}{'C':>4}{'exact ms':>10}"
    head += "".join(f"{f'bwd r={r}':>10}" for r in PROBES)
    head += "".join(f"{f'tot r={r}':>10}" for r in PROBES)
    print(head)
    gen = torch.Generator().manual_seed(0)
    for nx in args.sizes:
        for C in args.channels:
            gib = B * C * nx * nx * 4 / 2**30
            if gib > args.max_gib:
                continue
            X = torch.randn(B, C, nx, nx, generator=gen)
            dY = torch.randn(B, C, nx, nx, generator=gen)
            sketches = {r: sketch_input(X, r, mode=args.mode, rng=r, native=True) for r in PROBES}
            times = {key: [] for key in ["exact"] + [("s", r) for r in PROBES]
                     + [("b", r) for r in PROBES]}
            for _ in range(args.repeats):  # interleave A/B runs
                times["exact"].append(_time(lambda: torch.nn.grad.conv2d_weight(
                    X, (C, C, 3, 3), dY, padding=1)))
                for r in PROBES:
                    times[("s", r)].append(_time(lambda: sketch_input(
                        X, r, mode=args.mode, rng=r, native=True)))
                    times[("b", r)].append(_time(lambda: weight_grad(
                        sketches[r], dY, kernel_size=3, padding=1)))
            med = {k: statistics.median(v) for k, v in times.items()}
            line = f"{f'{nx}x{nx}':>10}{C:>4}{1e3 * med['exact']:>10.1f}"
            line += "".join(f"{med['exact'] / med[('b', r)]:>10.2f}" for r in PROBES)
            line += "".join(f"{med['exact'] / (med[('b', r)] + med[('s', r)]):>10.2f}"
                            for r in PROBES)
            print(line, flush=True)
            del X, dY, sketches


if __name__ == "__main__":
    main()
