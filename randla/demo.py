"""Core demo: trace and diagonal estimators on matrices with known spectra.

``python -m randla demo core [--quick] [--out DIR]`` runs :func:`run_core_demo`:
it builds ``A = Q diag(lambda) Q^T`` (Haar ``Q``) for a flat, a polynomially and
two exponentially decaying spectra, prints a table of each estimator's mean
relative error against the exact trace (and diagonal), and writes a PNG plot
of the error against the number of matrix-vector products.

The helpers :func:`spectrum`, :func:`matrix_with_spectrum` and
:func:`mean_relative_error` are shared with the benchmarks
(``benchmarks/trace_suite.py``, ``asv_bench/benchmarks/trace.py``) and the
gallery, so every number the project reports comes from the same code.
"""

from __future__ import annotations

import os
import time
from typing import Any

import numpy as np

__all__ = [
    "SPECTRA",
    "demo_config",
    "matrix_with_spectrum",
    "mean_relative_error",
    "run_core_demo",
    "spectrum",
]

#: The XTrace paper's test spectra (Epperly, Tropp, Webber 2024, Section 6).
SPECTRA = ("flat", "poly", "slowexp", "fastexp", "step")

#: Trace estimators shown by the demo, in table order.
_TRACE_METHODS = ("hutchinson", "hutchpp", "na_hutchpp", "xtrace", "xnystrace", "auto")


def spectrum(name: str, n: int) -> np.ndarray:
    """Eigenvalues of the XTrace test suite, largest first.

    ``flat``: ``linspace(1, 3, n)`` (reversed); ``poly``: ``i^-2``; ``slowexp``:
    ``0.9^i``; ``fastexp``: ``0.7^i`` (``i = 0, 1, ...`` for the exponentials,
    ``i = 1, 2, ...`` for ``poly``); ``step``: ``1`` for the first
    ``ceil(n / 20)`` eigenvalues, ``1e-3`` after (the paper's "smallstep").

    Examples
    --------
    >>> from randla.demo import spectrum
    >>> spectrum("step", 40)[:3]
    array([1.   , 1.   , 0.001])
    """
    i = np.arange(n, dtype=np.float64)
    if name == "flat":
        return np.linspace(3.0, 1.0, n)
    if name == "poly":
        return (i + 1.0) ** -2
    if name == "slowexp":
        return 0.9**i
    if name == "fastexp":
        return 0.7**i
    if name == "step":
        return np.where(i < -(-n // 20), 1.0, 1e-3)
    raise ValueError(f"name must be one of {SPECTRA}, got {name!r}")


def matrix_with_spectrum(eigenvalues: np.ndarray, /, *, rng: Any = None) -> np.ndarray:
    """Symmetric ``A = Q diag(eigenvalues) Q^T`` with a Haar-random orthogonal ``Q``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.demo import matrix_with_spectrum
    >>> A = matrix_with_spectrum(np.array([3.0, 2.0, 1.0]), rng=0)
    >>> bool(np.isclose(np.trace(A), 6.0)), bool(np.allclose(A, A.T))
    (True, True)
    """
    from .random import orthonormal

    lam = np.asarray(eigenvalues, dtype=np.float64)
    n = lam.shape[0]
    Q = orthonormal(n, n, rng=rng) / np.sqrt(n)
    A = (Q * lam) @ Q.T
    return 0.5 * (A + A.T)


def mean_relative_error(A: Any, exact: float, method: str, num_matvecs: int, /, *,
                        reps: int, seed: int) -> float:
    """Mean of ``|estimate - exact| / |exact|`` over ``reps`` seeds ``seed + r``.

    ``method`` is a :data:`randla.TRACE_METHODS` name, or ``"diagonal_hutchinson"``
    / ``"xdiag"`` (then ``exact`` is the diagonal and the error is
    ``||d - diag(A)|| / ||diag(A)||``).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.demo import mean_relative_error
    >>> A = np.diag(np.arange(1.0, 11.0))
    >>> mean_relative_error(A, 55.0, "hutchinson", 4, reps=3, seed=0)  # Rademacher: exact
    0.0
    """
    from randla import diagonal_hutchinson, trace, xdiag  # public names only

    errors = []
    for r in range(reps):
        if method in ("diagonal_hutchinson", "xdiag"):
            func = diagonal_hutchinson if method == "diagonal_hutchinson" else xdiag
            d = np.asarray(func(A, num_matvecs=num_matvecs, rng=seed + r).estimate)
            errors.append(np.linalg.norm(d - exact) / np.linalg.norm(exact))
        else:
            est = trace(A, num_matvecs, method=method, rng=seed + r).estimate
            errors.append(abs(est - exact) / abs(exact))
    return float(np.mean(errors))


#: What each spectrum of the demo looks like (figure titles and the table legend).
_SPECTRUM_LABELS = {
    "flat": "flat: λ in [1, 3]",
    "poly": "poly: λ_i = i^-2",
    "slowexp": "slowexp: λ_i = 0.9^i",
    "fastexp": "fastexp: λ_i = 0.7^i",
    "step": "step: 5% at 1, rest 1e-3",
}

#: One line per estimator: what it is and when it pays.
_METHOD_LEGEND = {
    "hutchinson": "plain Monte Carlo; error ~ ||A||_F / sqrt(m), best on flat spectra",
    "hutchpp": "low-rank part exact + Hutchinson on the rest; wins on decaying spectra",
    "na_hutchpp": "Hutch++ in one pass over A (non-adaptive); a little less accurate",
    "xtrace": "exchangeable Hutch++: same budget, lower error, error estimate included",
    "xnystrace": "XTrace for PSD matrices through Nystrom; the best when A is PSD",
    "auto": "randla.trace's default: picks an estimator from the matrix and budget",
    "diagonal_hutchinson": "diagonal, plain Monte Carlo (Bekas et al.)",
    "xdiag": "diagonal, exchangeable low-rank + Monte Carlo (XDiag)",
}

_DIAGONAL_METHODS = ("diagonal_hutchinson", "xdiag")


def demo_config(quick: bool) -> dict:
    """Sizes of :func:`run_core_demo`: ``n``, ``budgets``, ``table_budget``,
    ``reps``, ``matrix_seed``, ``seed`` and the ``spectra`` shown."""
    if quick:
        return {"n": 200, "budgets": (12, 24, 48, 80), "table_budget": 48, "reps": 3,
                "matrix_seed": 0, "seed": 1000, "spectra": ("flat", "poly", "slowexp", "fastexp")}
    return {"n": 1000, "budgets": (20, 50, 100, 200), "table_budget": 100,
            "reps": 6, "matrix_seed": 0, "seed": 1000,
            "spectra": ("flat", "poly", "slowexp", "fastexp")}


def _progress(total: int, desc: str):
    """A tqdm bar on stderr when tqdm is installed, else a no-op counter."""
    try:
        from tqdm.auto import tqdm
    except ImportError:  # the demo extra installs tqdm; the demo runs without it too
        class _Silent:
            def update(self, k=1):
                pass

            def write(self, text):
                print(text, flush=True)

            def close(self):
                pass
        return _Silent()
    # disable=None: a bar on terminals only; the phase lines below tell logs the progress
    return tqdm(total=total, desc=desc, unit="run", leave=False, disable=None)


def _takeaway(table: dict, names: tuple) -> str:
    """One line: how much the best trace estimator beats Hutchinson per spectrum."""
    parts = []
    for j, name in enumerate(names):
        best = min((m for m in _TRACE_METHODS if m != "hutchinson"), key=lambda m: table[m][j])
        ratio = table["hutchinson"][j] / max(table[best][j], 1e-300)
        parts.append(f"{name} {best} {ratio:.0f}x" if ratio >= 2 else f"{name} ~1x")
    return ("takeaway: the faster the spectrum decays, the more the low-rank estimators beat "
            "Hutchinson (error ratio, best vs Hutchinson: " + ", ".join(parts) + "); "
            "with an unknown spectrum call randla.trace(A, m), which picks one.")


def run_core_demo(*, out: str, quick: bool) -> None:
    """Trace and diagonal estimators on matrices with known spectra: error table and figure.

    Prints each estimator's mean relative error against the exact trace (and
    diagonal) at a fixed budget of matrix-vector products, then writes
    ``core_trace_errors.png`` (error against budget, one panel per spectrum)
    into ``out``.

    Parameters
    ----------
    out : str
        Folder for the figure (created if missing).
    quick : bool
        Small sizes (n = 200, 3 repetitions) for CI.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cfg = demo_config(quick)
    n, reps, seed = cfg["n"], cfg["reps"], cfg["seed"]
    names = tuple(cfg["spectra"])
    m = cfg["table_budget"]
    print(f"randla core demo: trace and diagonal estimators on {len(names)} symmetric "
          f"{n} x {n} matrices A = Q diag(λ) Q^T with known spectra", flush=True)
    mats = {}
    for j, name in enumerate(names):
        lam = spectrum(name, n)
        mats[name] = (matrix_with_spectrum(lam, rng=cfg["matrix_seed"] + j), float(lam.sum()))

    print(f"\n[1/2] mean relative error over {reps} seeds with {m} matrix-vector products "
          "(|estimate - trace| / |trace|; diagonal rows: ||d - diag A|| / ||diag A||)",
          flush=True)
    header = f"{'estimator':<20}" + "".join(f"{name:>11}" for name in names)
    print(header)
    print("-" * len(header), flush=True)
    table = {}
    for method in _TRACE_METHODS + _DIAGONAL_METHODS:
        diag = method in _DIAGONAL_METHODS
        bar = _progress(len(mats), method)
        table[method] = []
        for A, tr in mats.values():
            table[method].append(mean_relative_error(
                A, np.diag(A).copy() if diag else tr, method, m, reps=reps, seed=seed))
            bar.update(1)
        bar.close()
        print(f"{method:<20}" + "".join(f"{e:>11.2e}" for e in table[method]), flush=True)
    print("spectra:   " + "; ".join(_SPECTRUM_LABELS[name] for name in names))
    print("estimators:")
    for method in _TRACE_METHODS + _DIAGONAL_METHODS:
        print(f"  {method:<20} {_METHOD_LEGEND[method]}")
    print(_takeaway(table, names), flush=True)

    budgets = cfg["budgets"]
    methods = _TRACE_METHODS + _DIAGONAL_METHODS
    total = len(names) * len(methods) * len(budgets)
    print(f"\n[2/2] error against budget for the figure: {len(methods)} estimators x "
          f"{len(names)} spectra x {len(budgets)} budgets x {reps} seeds", flush=True)
    bar = _progress(total, "error curves")
    curves: dict = {}
    started = time.perf_counter()
    for name, (A, tr) in mats.items():
        for method in methods:
            exact = np.diag(A).copy() if method in _DIAGONAL_METHODS else tr
            points = []
            for b in budgets:
                points.append(mean_relative_error(A, exact, method, b, reps=reps, seed=seed))
                bar.update(1)
            curves[name, method] = points
        bar.write(f"      {name} done ({time.perf_counter() - started:.0f} s)")
    bar.close()

    path = _plot_core(plt, curves, names, budgets, n, reps, out)
    print(f"wrote {os.path.abspath(path)}", flush=True)


def _plot_core(plt, curves: dict, names: tuple, budgets, n: int, reps: int, out: str) -> str:
    fig, axes = plt.subplots(2, len(names), figsize=(3.3 * len(names) + 2.4, 6.4),
                             sharex=True, squeeze=False)
    markers = "osD^v*"
    for col, name in enumerate(names):
        for row, methods in enumerate((_TRACE_METHODS, _DIAGONAL_METHODS)):
            ax = axes[row, col]
            for k, method in enumerate(methods):
                ax.semilogy(budgets, np.maximum(curves[name, method], 1e-17),
                            marker=markers[k % len(markers)], ms=4, label=method)
            ax.grid(True, which="major", alpha=0.3)
            if row == 0:
                ax.set_title(_SPECTRUM_LABELS[name], fontsize=10)
            else:
                ax.set_xlabel("matrix-vector products m")
        axes[0, 0].set_ylabel("trace: mean relative error")
        axes[1, 0].set_ylabel("diagonal: mean rel. error")
    for row in range(2):
        handles, labels = axes[row, 0].get_legend_handles_labels()
        axes[row, -1].legend(handles, labels, loc="center left", bbox_to_anchor=(1.03, 0.5),
                             fontsize=8, frameon=False)
    fig.suptitle(f"Trace (top) and diagonal (bottom) estimators on n = {n} matrices with "
                 f"known spectra, mean over {reps} seeds")
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "core_trace_errors.png")
    fig.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(fig)
    return path
