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
    >>> from randla.demo import mean_relative_error
    >>> A = np.diag(np.arange(1.0, 11.0))
    >>> mean_relative_error(A, 55.0, "hutchinson", 4, reps=3, seed=0)  # Rademacher: exact
    0.0
    """
    from .estimation import diagonal_hutchinson, trace, xdiag

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


def demo_config(quick: bool) -> dict:
    """Sizes of :func:`run_core_demo`: ``n``, ``budgets``, ``table_budget``,
    ``reps``, ``matrix_seed``, ``seed`` and the ``spectra`` shown."""
    if quick:
        return {"n": 200, "budgets": (12, 24, 48, 80), "table_budget": 48, "reps": 3,
                "matrix_seed": 0, "seed": 1000, "spectra": ("flat", "poly", "slowexp", "fastexp")}
    return {"n": 1000, "budgets": (20, 50, 100, 200, 300), "table_budget": 100,
            "reps": 10, "matrix_seed": 0, "seed": 1000,
            "spectra": ("flat", "poly", "slowexp", "fastexp")}


def run_core_demo(*, out: str, quick: bool) -> None:
    """Print the error table and write ``core_trace_errors.png`` into ``out``.

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
    names = cfg["spectra"]
    mats = {}
    for j, name in enumerate(names):
        lam = spectrum(name, n)
        mats[name] = (matrix_with_spectrum(lam, rng=cfg["matrix_seed"] + j), float(lam.sum()))

    m = cfg["table_budget"]
    print(f"randla core demo: mean relative error over {reps} seeds, n = {n}, "
          f"{m} matrix-vector products")
    header = f"{'estimator':<20}" + "".join(f"{name:>11}" for name in names)
    print(header)
    print("-" * len(header))
    for method in _TRACE_METHODS:
        errs = [mean_relative_error(A, tr, method, m, reps=reps, seed=seed)
                for A, tr in mats.values()]
        print(f"{method:<20}" + "".join(f"{e:>11.2e}" for e in errs))
    for method in ("diagonal_hutchinson", "xdiag"):
        errs = [mean_relative_error(A, np.diag(A).copy(), method, m, reps=reps, seed=seed)
                for A, _ in mats.values()]
        print(f"{method:<20}" + "".join(f"{e:>11.2e}" for e in errs))

    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 3.6), sharex=True)
    for ax, (name, (A, tr)) in zip(axes, mats.items()):
        for method in _TRACE_METHODS:
            curve = [mean_relative_error(A, tr, method, b, reps=reps, seed=seed)
                     for b in cfg["budgets"]]
            ax.semilogy(cfg["budgets"], np.maximum(curve, 1e-17), marker="o", ms=3,
                        label=method)
        ax.set_title(name)
        ax.set_xlabel("matrix-vector products")
    axes[0].set_ylabel("mean relative error")
    axes[-1].legend(fontsize=7)
    fig.tight_layout()
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "core_trace_errors.png")
    fig.savefig(path, dpi=90)
    plt.close(fig)
    print(f"wrote {path}")
