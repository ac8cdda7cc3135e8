"""randla: randomized linear algebra on any array-API array.

Trace and diagonal estimators, randomized range finders and low-rank
factorizations, probe and sketch generators, and shift-probe estimators,
written once against the Python array API standard so NumPy, CuPy and torch
arrays all work. Applications (XConv, wave-equation imaging, compression,
DIAS) live in :mod:`randla.apps`, imported lazily.
"""

from __future__ import annotations

import importlib as _importlib

from . import random
from .lowrank import nystrom, rqr, rsvd
from .operators import LinearOperator, as_operator, dot_test
from .rangefinder import RangeFinderResult, adaptive_range_finder, range_finder
from .streaming import single_pass_svd

__version__ = "0.1.0"

__all__ = [
    "LinearOperator",
    "RangeFinderResult",
    "adaptive_range_finder",
    "as_operator",
    "dot_test",
    "nystrom",
    "range_finder",
    "rqr",
    "rsvd",
    "single_pass_svd",
]


def __getattr__(name: str):
    if name == "apps":
        return _importlib.import_module("randla.apps")
    raise AttributeError(f"module 'randla' has no attribute {name!r}")
