"""randla.apps.wave against Devito, in one run: forward throughput and gradients.

Prints three tables with ratios (randla / Devito; > 1 means randla is faster):

1. STREAM-style triad ``a = b + s c`` (Numba, one thread): this machine's
   memory bandwidth, the yardstick for the kernels.
2. Forward modelling throughput (grid points of the padded grid times time
   steps per second) on the same problem for both engines, one thread:
   2-D 501 x 501 + 40-point absorbing layer, space order 8, float32, 1000 steps;
   3-D 200^3 + 20-point layer, space order 8, float32 (fewer steps). Devito runs
   its seismic ``AcousticWaveSolver`` with ``DEVITO_LANGUAGE=C``,
   ``DEVITO_ARCH=gcc`` (no OpenMP). Runs are interleaved A/B and the medians of
   the per-run CPU times are compared (the machine is shared; wall-clock
   medians are printed too). The fraction of the triad bandwidth counts the
   minimum traffic of one update, 20 bytes per point in float32 (read u, u_prev,
   a, b; write u_next); the 2-D working set fits in the last-level cache, so
   that fraction can exceed what DRAM alone allows.
3. FWI gradient of 1/2||d - d_obs||^2 on the 2-D problem (nt = 1000): time and
   peak memory of randla full storage and checkpointing with 10, 20, 50
   snapshots, and Devito's gradient (forward with ``save=True`` plus its
   gradient operator; and its pyrevolve checkpointing with the same numbers of
   snapshots, which needs a forward run for the residual first). Each
   configuration runs in a fresh process (peak RSS increase over the RSS
   before the first call), after one warm-up call that also triggers JIT
   compilation.

Devito is a benchmark-only peer: nothing in ``randla`` imports it.

Usage::

    python benchmarks/wave_vs_devito.py            # everything (~5 minutes)
    python benchmarks/wave_vs_devito.py --quick    # small sizes, checks that it runs
    python benchmarks/wave_vs_devito.py --only forward2d,forward3d,gradient
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time

for _key, _value in (("DEVITO_LANGUAGE", "C"), ("DEVITO_ARCH", "gcc"), ("DEVITO_LOGGING", "ERROR"),
                     ("OMP_NUM_THREADS", "1"), ("NUMBA_NUM_THREADS", "1"),
                     ("OPENBLAS_NUM_THREADS", "1"), ("MKL_NUM_THREADS", "1")):
    os.environ.setdefault(_key, _value)

import numpy as np  # noqa: E402

BYTES_PER_POINT = 20  # float32: read u, u_prev, a, b; write u_next


# -- problems --------------------------------------------------------------------------------


def problem(ndim: int, quick: bool) -> dict:
    if ndim == 2:
        shape, nbl, nt = ((101, 101), 10, 200) if quick else ((501, 501), 40, 1000)
    else:
        shape, nbl, nt = ((40, 40, 40), 5, 20) if quick else ((200, 200, 200), 20, 60)
    spacing = 10.0
    vp = np.full(shape, 2000.0, dtype=np.float32)
    vp[..., shape[-1] // 2:] = 3000.0
    extent = [(n - 1) * spacing for n in shape]
    src = np.array([[e / 2 for e in extent[:-1]] + [20.0]])
    nrec = shape[0]
    rec = np.zeros((nrec, ndim))
    rec[:, 0] = np.linspace(0.0, extent[0], nrec)
    for axis in range(1, ndim - 1):
        rec[:, axis] = extent[axis] / 2
    rec[:, -1] = 20.0
    return dict(ndim=ndim, shape=shape, nbl=nbl, nt=nt, spacing=spacing, vp=vp, src=src, rec=rec,
                space_order=8, f0=10.0)


def devito_dt(spec: dict) -> float:
    """Devito's critical dt (ms) for the problem; both engines use it."""
    from examples.seismic import Model as DModel

    dmodel = DModel(vp=spec["vp"] / 1000.0, origin=(0.0,) * spec["ndim"], shape=spec["shape"],
                    spacing=(spec["spacing"],) * spec["ndim"], space_order=spec["space_order"],
                    nbl=spec["nbl"], dtype=np.float32, bcs="damp")
    return float(dmodel.critical_dt)


class RandlaCase:
    def __init__(self, spec: dict, dt_ms: float) -> None:
        from randla.apps.wave import Geometry, Model

        self.spec = spec
        self.model = Model(spec["vp"], spacing=spec["spacing"], nbl=spec["nbl"],
                           space_order=spec["space_order"])
        dt = dt_ms * 1e-3
        self.geometry = Geometry(self.model, src_positions=spec["src"], rec_positions=spec["rec"],
                                 tn=dt * (spec["nt"] - 1), dt=dt, f0=spec["f0"])
        self.steps = self.geometry.nt - 1
        self.points = int(np.prod(self.model.padded_shape))

    def forward(self):
        from randla.apps.wave import forward

        return forward(self.model, self.geometry)


class DevitoCase:
    def __init__(self, spec: dict, dt_ms: float) -> None:
        from examples.seismic import AcquisitionGeometry
        from examples.seismic import Model as DModel
        from examples.seismic.acoustic import AcousticWaveSolver

        ndim = spec["ndim"]
        self.model = DModel(vp=spec["vp"] / 1000.0, origin=(0.0,) * ndim, shape=spec["shape"],
                            spacing=(spec["spacing"],) * ndim, space_order=spec["space_order"],
                            nbl=spec["nbl"], dtype=np.float32, bcs="damp")
        tn = dt_ms * (spec["nt"] - 1)
        self.geometry = AcquisitionGeometry(self.model, spec["rec"], spec["src"], 0.0, tn,
                                            f0=spec["f0"] / 1000.0, src_type="Ricker")
        self.dt = dt_ms
        self.solver = AcousticWaveSolver(self.model, self.geometry, space_order=spec["space_order"])
        self.steps = self.geometry.nt - 1
        self.points = int(np.prod(self.model.grid.shape))

    def forward(self):
        return self.solver.forward(dt=self.dt)


# -- 1. STREAM triad ---------------------------------------------------------------------------


def triad(quick: bool) -> float:
    from numba import njit

    @njit(fastmath=True, boundscheck=False, nogil=True)
    def kernel(a, b, c, s):
        for i in range(a.shape[0]):
            a[i] = b[i] + s * c[i]

    n = (1 << 22) if quick else (1 << 26)
    a = np.zeros(n, np.float32)
    b = np.ones(n, np.float32)
    c = np.full(n, 2.0, np.float32)
    kernel(a, b, c, np.float32(3.0))
    times = []
    for _ in range(5 if quick else 10):
        t = time.perf_counter()
        kernel(a, b, c, np.float32(3.0))
        times.append(time.perf_counter() - t)
    return 3 * 4 * n / min(times) / 1e9  # STREAM counts 3 arrays x 4 bytes


# -- 2. forward throughput -------------------------------------------------------------------------


def forward_table(ndim: int, quick: bool, repeats: int, bandwidth: float) -> dict:
    spec = problem(ndim, quick)
    dt_ms = devito_dt(spec)
    ours, theirs = RandlaCase(spec, dt_ms), DevitoCase(spec, dt_ms)
    ours.forward()
    theirs.forward()  # JIT compilation of both engines, not timed
    cpu = {"randla": [], "devito": []}
    wall = {"randla": [], "devito": []}
    for _ in range(repeats):
        for name, case in (("randla", ours), ("devito", theirs)):
            w, c = time.perf_counter(), time.process_time()
            case.forward()
            cpu[name].append(time.process_time() - c)
            wall[name].append(time.perf_counter() - w)
    rows = {}
    for name, case in (("randla", ours), ("devito", theirs)):
        work = case.points * case.steps
        rows[name] = dict(points=case.points, steps=case.steps,
                          gpts_cpu=work / statistics.median(cpu[name]) / 1e9,
                          gpts_wall=work / statistics.median(wall[name]) / 1e9)
    label = "x".join(str(n) for n in spec["shape"]) + f" + nbl {spec['nbl']}"
    print(f"\n== forward {ndim}-D: {label}, space order 8, float32, one thread, {repeats} interleaved runs")
    print(f"{'engine':8s} {'points':>10s} {'steps':>6s} {'GPts/s (cpu)':>13s} {'GPts/s (wall)':>14s} "
          f"{'GB/s':>7s} {'of triad':>9s}")
    for name, row in rows.items():
        gbs = row["gpts_cpu"] * BYTES_PER_POINT
        print(f"{name:8s} {row['points']:10d} {row['steps']:6d} {row['gpts_cpu']:13.3f} "
              f"{row['gpts_wall']:14.3f} {gbs:7.1f} {gbs / bandwidth:9.2f}")
    ratio = rows["randla"]["gpts_cpu"] / rows["devito"]["gpts_cpu"]
    ratio_wall = rows["randla"]["gpts_wall"] / rows["devito"]["gpts_wall"]
    print(f"ratio randla/devito: {ratio:.2f} (cpu-time medians), {ratio_wall:.2f} (wall medians)")
    return dict(rows=rows, ratio=ratio, ratio_wall=ratio_wall)


# -- 3. gradients (one configuration per process) ---------------------------------------------------


def _rss_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _peak_rss_bytes() -> int:
    """High-water mark of this process's own memory (``VmHWM``; unlike
    ``ru_maxrss`` it is not inherited from the parent across fork/exec)."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def gradient_worker(config: str, quick: bool) -> dict:
    """Run in a fresh process: one warm-up gradient, then one timed gradient."""
    spec = problem(2, quick)
    dt_ms = devito_dt(spec)
    result: dict = {"config": config}
    if config.startswith("randla"):
        from randla.apps.wave import Checkpointing, FullStorage, forward, gradient

        case = RandlaCase(spec, dt_ms)
        d_obs = 0.9 * forward(case.model, case.geometry)  # any data: the cost does not depend on it
        kind = config.split(":")[1]

        def strategy():
            return FullStorage() if kind == "full" else Checkpointing(int(kind))

        base = _rss_bytes()
        gradient(case.model, case.geometry, d_obs, history=strategy())
        history = strategy()
        w, c = time.perf_counter(), time.process_time()
        gradient(case.model, case.geometry, d_obs, history=history)
        result.update(cpu=time.process_time() - c, wall=time.perf_counter() - w,
                      nbytes=history.nbytes, recomputed=history.num_recomputed_steps)
    else:
        from devito import CheckpointOperator, DevitoCheckpoint, Function, Revolver, TimeFunction

        case = DevitoCase(spec, dt_ms)
        d_obs = 0.9 * np.array(case.forward()[0].data)
        kind = config.split(":")[1]
        solver = case.solver

        def run() -> int:
            if kind == "full":
                rec, u, _ = solver.forward(save=True, dt=case.dt)
                rec.data[:] -= d_obs
                solver.jacobian_adjoint(rec, u, dt=case.dt)
                return 0
            rec, _, _ = solver.forward(dt=case.dt)       # the residual needs a forward first
            rec.data[:] -= d_obs
            so = spec["space_order"]
            u = TimeFunction(name="u", grid=case.model.grid, time_order=2, space_order=so)
            v = TimeFunction(name="v", grid=case.model.grid, time_order=2, space_order=so)
            grad = Function(name="grad", grid=case.model.grid)
            params = case.model.physical_params()
            fwd = CheckpointOperator(solver.op_fwd(save=False), src=case.geometry.src, u=u,
                                     dt=case.dt, **params)
            rev = CheckpointOperator(solver.op_grad(save=False), u=u, v=v, rec=rec, dt=case.dt,
                                     grad=grad, **params)
            revolver = Revolver(DevitoCheckpoint([u]), fwd, rev, int(kind), rec.data.shape[0] - 2)
            revolver.apply_forward()
            revolver.apply_reverse()
            return 0

        base = _rss_bytes()
        run()
        w, c = time.perf_counter(), time.process_time()
        run()
        result.update(cpu=time.process_time() - c, wall=time.perf_counter() - w, nbytes=None, recomputed=None)
    peak = _peak_rss_bytes()
    result.update(peak_increase=max(0, peak - base), nt=spec["nt"])
    return result


def gradient_table(quick: bool, rounds: int, snapshots: tuple[int, ...]) -> dict:
    configs = (["randla:full"] + [f"randla:{s}" for s in snapshots]
               + ["devito:full"] + [f"devito:{s}" for s in snapshots])
    runs: dict = {c: [] for c in configs}
    for _ in range(rounds):
        for config in configs:
            cmd = [sys.executable, __file__, "--worker", config] + (["--quick"] if quick else [])
            out = subprocess.run(cmd, capture_output=True, text=True, check=False)
            line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
            if out.returncode != 0 or not line:
                runs[config].append({"error": (out.stderr or out.stdout)[-400:]})
                continue
            runs[config].append(json.loads(line[-1]))
    spec = problem(2, quick)
    print(f"\n== FWI gradient, 2-D {spec['shape'][0]}x{spec['shape'][1]} + nbl {spec['nbl']}, nt = {spec['nt']}, "
          f"float32, one thread; medians over {rounds} fresh processes")
    print(f"{'configuration':14s} {'cpu s':>7s} {'wall s':>7s} {'peak MiB':>9s} {'held MiB':>9s} "
          f"{'recomputed':>10s} {'speed vs devito':>16s} {'mem vs devito':>14s} {'speed vs devito full':>21s}")
    summary = {}
    for config in configs:
        ok = [r for r in runs[config] if "error" not in r]
        if not ok:
            print(f"{config:14s} failed: {runs[config][-1].get('error', '')[-200:]!r}")
            continue
        summary[config] = dict(cpu=statistics.median(r["cpu"] for r in ok),
                               wall=statistics.median(r["wall"] for r in ok),
                               peak=statistics.median(r["peak_increase"] for r in ok),
                               nbytes=ok[-1]["nbytes"], recomputed=ok[-1]["recomputed"])
    full = summary.get("devito:full")
    for config, row in summary.items():
        held = "" if row["nbytes"] is None else f"{row['nbytes'] / 2**20:.0f}"
        rec = "" if row["recomputed"] is None else str(row["recomputed"])
        peer = summary.get("devito:" + config.split(":")[1]) if config.startswith("randla") else None
        same_t = f"{peer['cpu'] / row['cpu']:.2f}" if peer else ""
        same_m = f"{row['peak'] / peer['peak']:.2f}" if peer and peer["peak"] else ""
        vs_full = f"{full['cpu'] / row['cpu']:.2f}" if full else ""
        print(f"{config:14s} {row['cpu']:7.2f} {row['wall']:7.2f} {row['peak'] / 2**20:9.0f} {held:>9s} "
              f"{rec:>10s} {same_t:>16s} {same_m:>14s} {vs_full:>21s}")
    print("speed vs devito: Devito's cpu time / randla's for the same strategy (full storage, or "
          "checkpointing with as many snapshots); mem: randla peak / Devito peak; speed vs devito "
          "full: Devito full-storage time / this time. peak = RSS high-water increase over the RSS "
          "before the first gradient call; held = bytes the randla strategy reports (nbytes).")
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (checks that it runs)")
    parser.add_argument("--repeats", type=int, default=7, help="interleaved forward runs per engine")
    parser.add_argument("--rounds", type=int, default=3, help="fresh processes per gradient configuration")
    parser.add_argument("--only", default="triad,forward2d,forward3d,gradient")
    parser.add_argument("--worker", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(gradient_worker(args.worker, args.quick)))
        return
    parts = set(args.only.split(","))
    bandwidth = triad(args.quick)
    print(f"== STREAM triad (Numba, one thread, float32): {bandwidth:.1f} GB/s")
    if "forward2d" in parts:
        forward_table(2, args.quick, args.repeats, bandwidth)
    if "forward3d" in parts:
        forward_table(3, args.quick, max(3, args.repeats // 2), bandwidth)
    if "gradient" in parts:
        gradient_table(args.quick, args.rounds, (10, 20, 50))


if __name__ == "__main__":
    main()
