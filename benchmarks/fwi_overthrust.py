"""RTM and FWI on an overthrust-like model: exact gradients vs probed (data_qr) ones.

Default problem: ``overthrust_model((201, 81), spacing=15 m)`` (3 km x 1.2 km,
20-point sponge), 16 surface shots with 201 receivers, 8 Hz Ricker, 2 s of
recording (~1800 time steps at 0.8 x the critical dt), starting model = the
true model smoothed with a 6-cell Gaussian except the top 90 m (6 rows, the
near surface around sources and receivers, taken as known like a water
layer), which stay fixed together with a 2-cell frame on the other edges.

Printed:

1. RTM (background = true model smoothed with 8 cells): cosine similarity of
   the probed images (r = 32, 64) to the exact one, raw and Laplacian-filtered,
   with the per-shot memory each strategy holds;
2. FWI with 20 L-BFGS-B iterations (velocity bounds 2000-6000 m/s): exact
   gradient vs probed ``data_qr`` r = 32 (and r = 32 with Nyquist time
   subsampling): objective and relative model error per iteration, final
   error ratio probed / exact, wall time and memory.

Usage: ``python benchmarks/fwi_overthrust.py [--quick] [--maxiter N] [--shots N] [--parallel serial|dask] [--save FILE.npz]``
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

from randla.apps.fwi import Probed, ShotExecutor, fwi, make_strategy, rtm
from randla.apps.wave import FullStorage, Geometry, forward, gradient, overthrust_model, smooth


def problem(shape, spacing, shots, tn, f0):
    true = overthrust_model(shape, spacing=spacing, nbl=20)
    extent = (shape[0] - 1) * spacing
    dt = 0.8 * true.critical_dt  # room for the FWI's velocity bound
    recs = [[x, 2 * spacing] for x in np.linspace(0.0, extent, shape[0])]
    geoms = [Geometry(true, src_positions=[[x, 2 * spacing]], rec_positions=recs, tn=tn, f0=f0, dt=dt)
             for x in np.linspace(0.05 * extent, 0.95 * extent, shots)]
    d_obs = [forward(true, g) for g in geoms]
    return true, geoms, d_obs


def cosine(a, b) -> float:
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))


def held_bytes(template, model, geom, d) -> int:
    s = make_strategy(template, rng=0)
    gradient(model, geom, d, history=s)
    return int(s.nbytes)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small model, 4 shots, 3 iterations")
    parser.add_argument("--maxiter", type=int, default=20)
    parser.add_argument("--shots", type=int, default=16)
    parser.add_argument("--parallel", default="serial", help="serial, dask (LocalCluster) or an address")
    parser.add_argument("--save", default=None, help="write the images and models to this .npz")
    parser.add_argument("--skip-fwi", action="store_true")
    parser.add_argument("--skip-rtm", action="store_true")
    args = parser.parse_args(argv)
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if args.quick:
        shape, spacing, shots, tn, maxiter = (101, 41), 30.0, 4, 1.5, 3
    else:
        shape, spacing, shots, tn, maxiter = (201, 81), 15.0, args.shots, 2.0, args.maxiter
    true, geoms, d_obs = problem(shape, spacing, shots, tn, 8.0)
    nt = geoms[0].nt
    print(f"overthrust {true.shape} at {spacing:g} m (+{true.nbl} sponge), {len(geoms)} shots, "
          f"{geoms[0].nrec} receivers, nt = {nt}, dt = {geoms[0].dt * 1e3:.3f} ms")
    saved = {"true_vp": np.asarray(true.vp)}
    with ShotExecutor(args.parallel) as ex:
        # -- RTM -----------------------------------------------------------------------
        rtm_runs = () if args.skip_rtm else (("exact (full storage)", FullStorage()),
                                             ("probed data_qr r=32", Probed(32, "data_qr")),
                                             ("probed data_qr r=64", Probed(64, "data_qr")),
                                             ("probed rademacher r=32", Probed(32, "rademacher")),
                                             ("probed rademacher r=64", Probed(64, "rademacher")))
        background = true.with_vp(smooth(true.vp, sigma=8.0))
        print("\n== RTM (smooth background), images vs the exact image ==")
        print(f"{'strategy':28s} {'seconds':>8s} {'MB/shot':>8s} {'nt N/held':>9s} {'cosine':>8s} "
              f"{'cos lap':>8s}")
        full_mb = held_bytes(FullStorage(), background, geoms[0], d_obs[0])
        images = {}
        for name, template in rtm_runs:
            start = time.perf_counter()
            img = np.asarray(rtm(background, geoms, d_obs, history=template, rng=0, parallel=ex))
            sec = time.perf_counter() - start
            lap = np.asarray(rtm(background, geoms, d_obs, history=template, rng=0, laplacian=True,
                                 parallel=ex))
            images[name] = (img, lap)
            held = held_bytes(template, background, geoms[0], d_obs[0])
            ref_img, ref_lap = images["exact (full storage)"]
            print(f"{name:28s} {sec:8.1f} {held / 1e6:8.1f} {full_mb / held:8.1f}x "
                  f"{cosine(img, ref_img):8.4f} {cosine(lap, ref_lap):8.4f}")
            sys.stdout.flush()
            saved[f"rtm {name}"] = img
            saved[f"rtm lap {name}"] = lap
        if args.skip_fwi:
            return
        # -- FWI -----------------------------------------------------------------------
        # start: the true model smoothed, except a known near surface (the top rows,
        # like a water layer), which stays fixed together with a 2-cell frame (edge
        # cells also collect the gradient summed over the absorbing layer)
        top = int(round(90.0 / spacing))
        vp0 = np.asarray(smooth(true.vp, sigma=6.0 * 15.0 / spacing)).copy()
        vp0[:, :top] = np.asarray(true.vp)[:, :top]
        start_model = true.with_vp(vp0)
        mask = np.zeros(true.shape, dtype=bool)
        mask[2:-2, top:-2] = True
        saved["start_vp"] = np.asarray(start_model.vp)
        print(f"\n== FWI, {maxiter} L-BFGS-B iterations, bounds 2000-6000 m/s ==")
        runs = {}
        for name, template in (("exact (full storage)", FullStorage()),
                               ("probed data_qr r=32", Probed(32, "data_qr")),
                               ("probed data_qr r=32 Nyquist", Probed(32, "data_qr", subsample="auto"))):
            start = time.perf_counter()
            res = fwi(start_model, geoms, d_obs, history=template, rng=0, maxiter=maxiter, vmin=2000.0,
                      vmax=6000.0, mask=mask, true_vp=true.vp, parallel=ex, progress=False)
            sec = time.perf_counter() - start
            runs[name] = (res, sec)
            saved[f"fwi {name}"] = np.asarray(res.vp)
            errs = " ".join(f"{h['model_error']:.4f}" for h in res.history)
            print(f"{name}: {sec:.0f} s, {res.num_iterations} iterations, {res.num_evaluations} "
                  f"evaluations, {res.max_nbytes / 1e6:.1f} MB/shot held, objective "
                  f"{res.history[0]['objective']:.3f} -> {res.objective:.4f}")
            print(f"  model error per iteration: {errs}")
            sys.stdout.flush()
        ref, _ = runs["exact (full storage)"]
        e0 = ref.history[0]["model_error"]
        print(f"\n{'FWI run':32s} {'final err':>9s} {'/exact':>7s} {'err drop':>9s} {'memory':>10s}")
        for name, (res, sec) in runs.items():
            drop = (e0 - res.model_error) / (e0 - ref.model_error)
            print(f"{name:32s} {res.model_error:9.4f} {res.model_error / ref.model_error:7.3f} "
                  f"{drop:8.1%} {ref.max_nbytes / res.max_nbytes:9.1f}x")
        print(f"(starting model error {e0:.4f}; nt / r = {nt / 32:.1f} for r = 32)")
    if args.save:
        np.savez_compressed(args.save, **{k.replace(" ", "_"): v for k, v in saved.items()})


if __name__ == "__main__":
    main()
