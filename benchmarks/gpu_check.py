"""One command for a GPU machine: tests, peers, roofline and gradient overhead.

Usage (from the repository root)::

    python benchmarks/gpu_check.py            # about 3-8 minutes on one GPU
    python benchmarks/gpu_check.py --quick    # small sizes, skips nothing
    python benchmarks/gpu_check.py --no-tests # only the measurements

In one run it

1. runs the ``gpu``-marked tests (``pytest -m gpu``);
2. measures the device's memory bandwidth (a CuPy, else torch, copy and
   triad kernel on arrays far larger than the caches);
3. prints ``randla.rsvd`` and ``randla.hutchinson`` on CuPy and on torch-CUDA
   side by side with ``torch.svd_lowrank`` (same rank, oversampling and power
   iterations) and a plain torch Hutchinson;
4. prints the wave engine's 2-D and 3-D forward throughput
   (``randla.apps.wave.forward(..., kernel=...)``) in GPts/s and as a
   fraction of the bandwidth roofline (a time step moves at least 16 bytes per
   grid point: read ``u^t``, ``u^{t-1}`` and one coefficient, write
   ``u^{t+1}``, float32);
5. prints the probed gradient's time (``randla.apps.fwi.Probed``) against a
   plain forward plus adjoint on the same model.

On a machine without a CUDA GPU it says so and exits 0. Exit status 1 if the
tests fail or a measurement raises.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import traceback

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _cupy():
    try:
        import cupy

        return cupy if cupy.cuda.runtime.getDeviceCount() > 0 else None
    except Exception:  # noqa: BLE001 - not installed, no driver, no device
        return None


def _torch_cuda():
    try:
        import torch

        return torch if torch.cuda.is_available() else None
    except Exception:  # noqa: BLE001
        return None


def _sync(cp, torch) -> None:
    if cp is not None:
        cp.cuda.Device().synchronize()
    if torch is not None:
        torch.cuda.synchronize()


def _best(func, sync, repeats: int = 3) -> float:
    """Best wall time of ``repeats`` calls after one warm-up call (synchronised)."""
    func()
    sync()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        func()
        sync()
        times.append(time.perf_counter() - start)
    return min(times)


def run_tests(timeout: int) -> bool:
    print("== 1. gpu-marked tests: pytest -m gpu", flush=True)
    cmd = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-m", "gpu",
           "tests"]
    try:
        proc = subprocess.run(cmd, cwd=ROOT, timeout=timeout, capture_output=True, text=True)
    except subprocess.TimeoutExpired:
        print(f"   timed out after {timeout} s")
        return False
    tail = (proc.stdout + proc.stderr).strip().splitlines()[-8:]
    print("\n".join("   " + line for line in tail))
    return proc.returncode in (0, 5)  # 5: no test selected


def bandwidth(cp, torch, sync, quick: bool) -> float:
    """Best of copy (2 arrays) and triad (3 arrays) in bytes per second."""
    n = (1 << 24) if quick else (1 << 27)  # 64 MiB / 512 MiB per float32 array
    if cp is not None:
        a, b, c = (cp.ones(n, dtype=cp.float32) for _ in range(3))
        copy = lambda: cp.copyto(a, b)  # noqa: E731
        triad = lambda: cp.multiply(c, 2.0, out=a).__iadd__(b)  # noqa: E731
        # a = 2 c (r c, w a) then a += b (r a, r b, w a): 5 transfers of n floats
        library = "CuPy"
    else:
        a, b, c = (torch.ones(n, dtype=torch.float32, device="cuda") for _ in range(3))
        copy = lambda: a.copy_(b)  # noqa: E731
        triad = lambda: torch.add(b, c, alpha=2.0, out=a)  # noqa: E731
        library = "torch"
    t_copy = _best(copy, sync, 5)
    t_triad = _best(triad, sync, 5)
    triad_bytes = (5 if cp is not None else 3) * 4 * n
    bw_copy, bw_triad = 2 * 4 * n / t_copy, triad_bytes / t_triad
    print(f"== 2. memory bandwidth ({library}, {4 * n / 2**20:.0f} MiB arrays): copy "
          f"{bw_copy / 1e9:.0f} GB/s, triad {bw_triad / 1e9:.0f} GB/s", flush=True)
    del a, b, c
    return max(bw_copy, bw_triad)


def lowrank_and_trace(cp, torch, sync, quick: bool) -> None:
    import randla

    m, n, rank = (2000, 1500, 32) if quick else (8000, 6000, 64)
    oversample, power_iters, budget = 10, 2, 200
    rng = np.random.default_rng(0)
    sigma = 1.0 / np.arange(1, n + 1)
    U, _ = np.linalg.qr(rng.standard_normal((m, n)).astype(np.float32))
    V, _ = np.linalg.qr(rng.standard_normal((n, n)).astype(np.float32))
    host = np.ascontiguousarray((U * sigma.astype(np.float32)) @ V.T)
    sym = np.ascontiguousarray(host[:n] @ host[:n].T)  # PSD, n x n
    print(f"== 3. rsvd ({m} x {n}, float32, rank {rank}, oversample {oversample}, "
          f"{power_iters} power iterations) and hutchinson ({n} x {n}, {budget} products)")
    print(f"   {'call':44s} {'time ms':>9s} {'vs torch.svd_lowrank':>21s} {'sigma rel err':>14s}")
    rows = []
    if torch is not None:
        At = torch.asarray(host, device="cuda")
        q = rank + oversample
        t_peer = _best(lambda: torch.svd_lowrank(At, q=q, niter=power_iters), sync)
        S = torch.svd_lowrank(At, q=q, niter=power_iters)[1][:rank].cpu().numpy()
        rows.append(("torch.svd_lowrank (peer)", t_peer, S))
    else:
        t_peer = None
    backends = []
    if cp is not None:
        backends.append(("CuPy", cp.asarray(host), cp.asarray(sym)))
    if torch is not None:
        backends.append(("torch-cuda", torch.asarray(host, device="cuda"),
                         torch.asarray(sym, device="cuda")))
    for label, A, _ in backends:
        def call(A=A):
            return randla.rsvd(A, rank, oversample=oversample, power_iters=power_iters, rng=0)
        t = _best(call, sync)
        S = np.asarray(randla.backend.to_host(call()[1]))
        rows.append((f"randla.rsvd on {label}", t, S))
    for label, t, S in rows:
        err = float(np.max(np.abs(S[:rank] - sigma[:rank]) / sigma[:rank]))
        ratio = f"{t / t_peer:.2f}x" if t_peer else "n/a"
        print(f"   {label:44s} {t * 1e3:9.2f} {ratio:>21s} {err:14.1e}")
    exact = float(np.trace(sym.astype(np.float64)))
    print(f"   {'call':44s} {'time ms':>9s} {'vs torch Hutchinson':>21s} {'trace rel err':>14s}")
    t_ref = None
    if torch is not None:
        St = torch.asarray(sym, device="cuda")

        def plain():
            Z = torch.randint(0, 2, (n, budget), device="cuda", dtype=torch.float32) * 2 - 1
            return float((Z * (St @ Z)).sum() / budget)
        t_ref = _best(plain, sync)
        print(f"   {'plain torch Rademacher Hutchinson (peer)':44s} {t_ref * 1e3:9.2f} "
              f"{'1.00x':>21s} {abs(plain() - exact) / exact:14.1e}")
    for label, _, S_dev in backends:
        def call(S_dev=S_dev):
            return randla.hutchinson(S_dev, num_matvecs=budget, rng=0)
        t = _best(call, sync)
        err = abs(float(call().estimate) - exact) / exact
        ratio = f"{t / t_ref:.2f}x" if t_ref else "n/a"
        print(f"   {'randla.hutchinson on ' + label:44s} {t * 1e3:9.2f} {ratio:>21s} {err:14.1e}")


def _wave_models(cp, torch, ndim: int, quick: bool):
    from randla.apps.wave import layered_model

    if ndim == 2:
        shape, nt = ((500, 500), 300) if quick else ((2000, 2000), 1000)
    else:
        shape, nt = ((100, 100, 100), 100) if quick else ((300, 300, 300), 300)
    cases = []
    if cp is not None:
        for kernel in ("cuda", "reference"):
            cases.append((f"CuPy, kernel={kernel!r}", cp, None, kernel))
    if torch is not None:
        cases.append(("torch-cuda, kernel='reference'", torch, "cuda", "reference"))
    built = []
    for label, xp, device, kernel in cases:
        model = layered_model(shape, spacing=10.0, nbl=20, xp=xp, device=device,
                              dtype=np.float32)
        built.append((label, model, kernel, nt))
    return built


def _geometry(model, nt_target: int):
    from randla.apps.wave import Geometry

    size = [(s - 1) * 10.0 for s in model.shape]
    src = [[*(x / 2 for x in size[:-1]), 20.0]]
    nrec = 101
    xs = np.linspace(0.0, size[0], nrec)
    if model.ndim == 2:
        rec = [[x, 20.0] for x in xs]
    else:
        rec = [[x, size[1] / 2, 20.0] for x in xs]
    geom = Geometry(model, src_positions=src, rec_positions=rec, tn=1.0, f0=10.0)
    tn = nt_target * geom.dt
    return Geometry(model, src_positions=src, rec_positions=rec, tn=tn, f0=10.0)


def wave_throughput(cp, torch, sync, bw: float, quick: bool) -> None:
    from randla.apps.wave import forward

    roofline = bw / 16.0  # grid-point updates per second at 16 bytes each
    print(f"== 4. wave engine forward throughput (float32, space order 8); roofline "
          f"{roofline / 1e9:.1f} GPts/s = bandwidth / 16 B per point-update")
    print(f"   {'case':44s} {'grid':>16s} {'nt':>6s} {'time s':>8s} {'GPts/s':>8s} {'of roofline':>12s}")
    for ndim in (2, 3):
        for label, model, kernel, nt in _wave_models(cp, torch, ndim, quick):
            geom = _geometry(model, nt)
            t = _best(lambda: forward(model, geom, kernel=kernel), sync, 2)
            points = float(np.prod(model.padded_shape)) * geom.nt
            rate = points / t
            grid = " x ".join(str(s) for s in model.padded_shape)
            print(f"   {label + f', {ndim}-D':44s} {grid:>16s} {geom.nt:6d} {t:8.3f} "
                  f"{rate / 1e9:8.2f} {rate / roofline:11.0%}", flush=True)


def probed_overhead(cp, torch, sync, quick: bool) -> None:
    from randla.apps.fwi import Probed, make_strategy
    from randla.apps.wave import adjoint, forward, gradient, smooth

    print("== 5. probed gradient against a plain forward + adjoint (2-D, same model)")
    for label, model, kernel, nt in _wave_models(cp, torch, 2, quick)[:2]:
        geom = _geometry(model, nt)
        d_obs = forward(model, geom, kernel=kernel)
        m0 = model.with_vp(smooth(model.vp, sigma=10.0))
        t_plain = _best(lambda: adjoint(m0, geom, forward(m0, geom, kernel=kernel),
                                        kernel=kernel), sync, 2)
        for r in (16, 64):
            def probed(r=r):
                strategy = make_strategy(Probed(r, "rademacher"), rng=0)
                return gradient(m0, geom, d_obs, history=strategy, kernel=kernel)
            t = _best(probed, sync, 2)
            print(f"   {label + f', r = {r}':44s} forward+adjoint {t_plain:7.3f} s, "
                  f"probed gradient {t:7.3f} s: overhead {t / t_plain - 1:+.0%}", flush=True)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes")
    parser.add_argument("--no-tests", action="store_true", help="skip pytest -m gpu")
    parser.add_argument("--test-timeout", type=int, default=300,
                        help="seconds for the gpu-marked tests (default: 300)")
    args = parser.parse_args(argv)

    cp, torch = _cupy(), _torch_cuda()
    if cp is None and torch is None:
        print("gpu_check: no CUDA GPU is visible (neither CuPy nor torch.cuda finds a "
              "device); nothing to check on this machine.")
        return 0
    names = []
    if cp is not None:
        props = cp.cuda.runtime.getDeviceProperties(0)
        names.append(f"CuPy {cp.__version__} on {props['name'].decode()}")
    if torch is not None:
        names.append(f"torch {torch.__version__} on {torch.cuda.get_device_name(0)}")
    print("gpu_check: " + "; ".join(names), flush=True)
    sync = lambda: _sync(cp, torch)  # noqa: E731
    start = time.perf_counter()
    ok = True if args.no_tests else run_tests(args.test_timeout)
    bw = None
    for step in ("bandwidth", "lowrank_and_trace", "wave_throughput", "probed_overhead"):
        try:
            if step == "bandwidth":
                bw = bandwidth(cp, torch, sync, args.quick)
            elif step == "lowrank_and_trace":
                lowrank_and_trace(cp, torch, sync, args.quick)
            elif step == "wave_throughput":
                wave_throughput(cp, torch, sync, bw or float("nan"), args.quick)
            else:
                probed_overhead(cp, torch, sync, args.quick)
        except Exception:  # noqa: BLE001 - report and go on to the next measurement
            ok = False
            print(f"   {step} FAILED:\n" + traceback.format_exc(), flush=True)
    print(f"gpu_check: {'ok' if ok else 'FAILED'} in {time.perf_counter() - start:.0f} s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
