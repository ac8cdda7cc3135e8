"""randla: randomized linear algebra on any array-API array.

Written once against the Python array API standard, so NumPy, CuPy and torch
arrays all work. Every public name is re-exported here from its home:

* :mod:`randla.estimation` -- stochastic trace and diagonal estimation;
* :mod:`randla.lowrank` -- range finders, rSVD, Nyström, rQR, single pass;
* :mod:`randla.random` -- probe kinds (one registry) and ``rng`` handling;
* :mod:`randla.operators`, :mod:`randla.sketching`, :mod:`randla.shift`;
* :mod:`randla.backend` -- the array-API checks the applications use too.

The applications (XConv, wave-equation imaging and FWI, wavefield compression,
DIAS regularisation) live in
:mod:`randla.apps`, imported lazily. Docstring examples assume ``import numpy
as np`` and ``import randla``.
"""

from __future__ import annotations

import importlib as _importlib

from . import random
from .estimation import (
    TRACE_METHODS,
    DiagonalEstimate,
    TraceEstimate,
    diagonal_hutchinson,
    hutchinson,
    hutchpp,
    na_hutchpp,
    trace,
    xdiag,
    xnystrace,
    xtrace,
)
from .lowrank import (
    ConvergenceWarning,
    RangeFinderResult,
    adaptive_range_finder,
    nystrom,
    range_finder,
    rqr,
    rsvd,
    single_pass_svd,
)
from .operators import LinearOperator, as_operator, dot_test
from .shift import (
    kernel_offsets,
    shift_correlate,
    shift_trace,
    shift_trace_exact,
    shift_trace_from_sketch,
    sketch_grid,
)
from .sketching import sketch

__version__ = "0.1.0"

__all__ = [
    "ConvergenceWarning",
    "DiagonalEstimate",
    "LinearOperator",
    "RangeFinderResult",
    "TRACE_METHODS",
    "TraceEstimate",
    "adaptive_range_finder",
    "as_operator",
    "diagonal_hutchinson",
    "dot_test",
    "hutchinson",
    "hutchpp",
    "kernel_offsets",
    "na_hutchpp",
    "nystrom",
    "range_finder",
    "rqr",
    "rsvd",
    "shift_correlate",
    "shift_trace",
    "shift_trace_exact",
    "shift_trace_from_sketch",
    "single_pass_svd",
    "sketch",
    "sketch_grid",
    "trace",
    "xdiag",
    "xnystrace",
    "xtrace",
]


def __getattr__(name: str):
    if name in ("apps", "demo"):
        return _importlib.import_module(f"randla.{name}")
    raise AttributeError(f"module 'randla' has no attribute {name!r}")
