"""DIAS tables: 1-D deconvolution, X-ray tomography and small-grid FWI.

Prints relative errors ``||u - u_true|| / ||u_true||`` of DIAS (centred /
uncentred C; F and A forms) against Tikhonov, truncated SVD and DI (the
TSVD-based data-informed regulariser: the prior on the complement of the r
leading right singular vectors of F) for regularisation weights 1e-2..1e8,
then the tomography table with the best-tuned Tikhonov as reference, then
nonlinear FWI (MAP vs DIAS, the cost of the active-subspace step per
wavefield strategy, matrix-free vs sampled subspace at equal PDE cost).

Run: ``python benchmarks/dias_tables.py [--quick]`` (one BLAS thread).
"""

from __future__ import annotations

import argparse
import time

import numpy as np


def _one_thread():
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover
        return
    threadpool_limits(1)


def _row(label, values, fmt="{:8.3f}"):
    print(f"{label:>10} " + " ".join(fmt.format(v) for v in values))


def _dense_solve(Hd, b, Rd, w, mean):
    from scipy.linalg import cho_factor, cho_solve

    A = Hd + w * Rd
    return cho_solve(cho_factor(A), b + w * (Rd @ mean))


def deconvolution(quick):
    from randla.apps.dias import (BiLaplacianPrior, DIASRegularizer, ScaledIdentityPrior, Tikhonov,
                                  deconvolution_problem, matrix_free_subspace)

    n = 60 if quick else 100
    prob = deconvolution_problem(n, noise_level=0.05, rng=0)
    F = prob.operator.matmat(np.eye(n))
    Hd = F.T @ F / prob.noise_variance
    b = F.T @ prob.data / prob.noise_variance
    weights = [10.0**k for k in range(-2, 9)]
    r = 10
    _, s, Vt = np.linalg.svd(F)
    tsvd = Vt[:r].T @ ((Vt[:r] @ (F.T @ prob.data)) / s[:r] ** 2)
    for name, prior in [("identity", ScaledIdentityPrior(np.zeros(n))),
                        ("BiLaplacian", BiLaplacianPrior(np.zeros(n), gamma=1e-3, delta=1.0, spacing=1.0 / n))]:
        eye = np.eye(n)
        regs = {"Tikhonov": Tikhonov(prior).hessian(eye),
                "DI": DIASRegularizer(prior, np.ascontiguousarray(Vt[:r].T)).hessian(eye)}
        ranks = {}
        for centred in (True, False):
            sub = matrix_free_subspace(prob.gradient_covariance(prior, centred=centred), num_eigenvalues=30,
                                       power_iters=2, rng=0)
            tag = "c" if centred else "u"
            ranks[tag] = sub.rank
            for rr in sorted({r, 2 * r, sub.rank}):
                s_r = sub.with_rank(rr)
                for form in "FA":
                    regs[f"{form}-{tag}{rr}"] = DIASRegularizer(prior, s_r, form=form).hessian(eye)
        print(f"\n1-D deconvolution, n = {n}, 5% noise, {name} prior; TSVD/DI r = {r}; "
              f"energy rule (0.99) r: centred {ranks['c']}, uncentred {ranks['u']}  (F-c10 = DIAS-F, centred C, r = 10)")
        print(f"{'weight':>10} " + " ".join(f"{k:>8}" for k in ["TSVD", *regs]))
        for w in weights:
            errs = [prob.relative_error(tsvd)]
            errs += [prob.relative_error(_dense_solve(Hd, b, R, w, prior.mean)) for R in regs.values()]
            _row(f"{w:.0e}", errs)


def tomography(quick):
    from randla.apps.dias import ScaledIdentityPrior, matrix_free_subspace, tomography_problem

    n = 32 if quick else 64
    prob = tomography_problem(n, num_angles=30 if not quick else 16, noise_level=0.01, rng=0)
    N = prob.size
    prior = ScaledIdentityPrior(np.zeros(N))
    t0 = time.perf_counter()
    F = prob.operator.matmat(np.eye(N))  # the assembled projector, densified for direct solves
    Hd = F.T @ F / prob.noise_variance
    b = F.T @ prob.data / prob.noise_variance
    weights = [10.0**k for k in (-2, 0, 2, 4, 6, 8)]
    tik = {w: prob.relative_error(_dense_solve(Hd, b, np.eye(N), w, prior.mean)) for w in
           [10.0**k for k in np.arange(-3, 9, 0.5)]}
    best_w = min(tik, key=tik.get)
    print(f"\nX-ray tomography, {n}x{n} Shepp-Logan, {prob.operator.shape[0]} rays (30 angles), 1% noise, "
          f"identity prior (DIAS-F = DIAS-A here); best Tikhonov: {tik[best_w]:.3f} at weight {best_w:.1e}")
    ranks = (25, 50, 100) if quick else (100, 200, 400)
    cols, subs = {}, {}
    for centred in (True, False):
        C = prob.gradient_covariance(prior, centred=centred)
        t1 = time.perf_counter()
        sub = matrix_free_subspace(C, num_eigenvalues=max(ranks), power_iters=1, rng=0)
        t_sub = time.perf_counter() - t1
        for r in ranks:
            W = sub.eigenvectors[:, :r]
            cols[f"{'c' if centred else 'u'}{r}"] = np.eye(N) - W @ W.T
        subs["c" if centred else "u"] = (sub.num_matvecs, t_sub)
    print("matrix-free subspaces (k = %d): centred %d C-products %.1f s, uncentred %d C-products %.1f s"
          % (max(ranks), *subs["c"], *subs["u"]))
    print(f"{'weight':>10} {'Tikhonov':>8} " + " ".join(f"{k:>8}" for k in cols))
    for w in weights:
        errs = [prob.relative_error(_dense_solve(Hd, b, np.eye(N), w, prior.mean))]
        errs += [prob.relative_error(_dense_solve(Hd, b, R, w, prior.mean)) for R in cols.values()]
        _row(f"{w:.0e}", errs)
    print(f"(tomography section {time.perf_counter() - t0:.0f} s)")


def fwi(quick):
    from randla.apps.dias import (DIASRegularizer, FWIProblem, Tikhonov, gradient_covariance, gradient_samples,
                                  matrix_free_subspace, minimize, sampled_subspace)
    from randla.apps.fwi import Probed
    from randla.apps.wave import Checkpointing, FullStorage

    shape = (20, 20) if quick else (30, 30)
    prob = FWIProblem(shape, num_shots=2 if quick else 3, nrec=10 if quick else 15, tn=0.25 if quick else 0.35,
                      rng=0)
    prior = prob.prior()
    iters = 10 if quick else 30
    M, r = (10, 5) if quick else (20, 10)
    t0 = time.perf_counter()
    u_map, n_map = minimize(prob.misfit, Tikhonov(prior), prior.mean, maxiter=iters)
    t_map = time.perf_counter() - t0
    print(f"\nFWI {shape[0]}x{shape[1]}, {len(prob.geometries)} shots, 1% noise, BiLaplacian prior; "
          f"MAP (weight 1): error {prob.relative_error(u_map):.3f} (start 1.000), {n_map} gradients, {t_map:.1f} s")
    gen = np.random.default_rng(1)
    U = u_map[:, None] + prior.sqrt_covariance(gen.standard_normal((prob.size, M)))
    print(f"active-subspace step, M = {M} gradients at u_MAP + prior samples, r = {r}:")
    print(f"{'strategy':>22} {'seconds':>8} {'grads':>6} {'dist vs full':>12} {'lam_1':>10}")
    ref = None
    subs = {}
    for name, hist in [("full storage", FullStorage()), ("checkpointing(8)", Checkpointing(8)),
                       ("probed(16, data_qr)", Probed(16, "data_qr"))]:
        prob.history = hist
        t1 = time.perf_counter()
        G = gradient_samples(prob.misfit, U)
        sec = time.perf_counter() - t1
        sub = sampled_subspace(G, rank=r, bootstrap=0, rng=0)
        ref = sub if ref is None else ref
        dist = float(np.linalg.norm(sub.basis @ sub.basis.T - ref.basis @ ref.basis.T, 2))
        subs[name] = sub
        print(f"{name:>22} {sec:8.2f} {M:6d} {dist:12.3f} {sub.eigenvalues[0]:10.3e}")
    prob.history = None
    # matrix-free: C ~ H Gamma H + g g^T at u_MAP with Gauss-Newton H; one GN product is ~1.5 gradients
    # (forward + Born + adjoint vs forward + adjoint); l C-products = 2 l GN products ~ 3 l gradients
    l = max(r // 2 + 1, round(M / 3))
    t1 = time.perf_counter()
    g_map = prob.misfit(u_map)[1]
    C = gradient_covariance(lambda V: prob.gauss_newton(u_map, V), prior, gradient=g_map)
    mf = matrix_free_subspace(C, rank=min(r, l - 1), num_eigenvalues=min(r, l - 1), method="nystrom",
                              oversample=l - min(r, l - 1), rng=0)
    sec = time.perf_counter() - t1
    print(f"{'matrix-free (Nystrom)':>22} {sec:8.2f} {'~' + str(3 * mf.num_matvecs + 1):>6} "
          f"{'-':>12} {mf.eigenvalues[0]:10.3e}   ({mf.num_matvecs} C-products = "
          f"{2 * mf.num_matvecs} GN products, rank {mf.rank})")
    print(f"{'weight':>10} {'MAP(w)':>8} {'DIAS-A':>8} {'DIAS-F':>8} {'DIAS-A mf':>9}")
    for w in ([1.0, 1e2] if quick else [1.0, 1e1, 1e2, 1e4]):
        tik, _ = minimize(prob.misfit, Tikhonov(prior, weight=w), prior.mean, maxiter=iters)
        out = [prob.relative_error(tik)]
        for sub, form in [(subs["full storage"], "A"), (subs["full storage"], "F"), (mf, "A")]:
            u, _ = minimize(prob.misfit, DIASRegularizer(prior, sub, form=form, weight=w), u_map, maxiter=iters)
            out.append(prob.relative_error(u))
        _row(f"{w:.0e}", out)
    print(f"(FWI section {time.perf_counter() - t0:.0f} s)")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (seconds)")
    parser.add_argument("--only", choices=["deconvolution", "tomography", "fwi"], default=None)
    args = parser.parse_args(argv)
    _one_thread()
    for name, fn in [("deconvolution", deconvolution), ("tomography", tomography), ("fwi", fwi)]:
        if args.only in (None, name):
            fn(args.quick)


if __name__ == "__main__":
    main()
