"""Randomized low-rank approximation: range finders and the factorizations built on them.

One home for low-rank factorization, in four private modules:

* ``_range_finders`` -- :func:`range_finder` (fixed rank, power iterations)
  and :func:`adaptive_range_finder` (grown to a tolerance), the basis under
  everything else;
* ``_factorizations`` -- :func:`rsvd`, :func:`nystrom` (PSD) and :func:`rqr`
  (column-pivoted QR);
* ``_single_pass`` -- :func:`single_pass_svd`, reading A once;
* ``_inputs`` (validation, test matrices) and ``_dense`` (the small dense
  kernels with their per-backend fast paths).

Every function accepts anything :func:`randla.as_operator` accepts and returns
arrays of A's namespace, dtype and device. All names are re-exported by
:mod:`randla`. The reference behind the module is N. Halko, P.-G. Martinsson,
J. A. Tropp, "Finding structure with randomness", SIAM Review 53 (2011).
"""

from __future__ import annotations

from ._factorizations import nystrom, rqr, rsvd
from ._range_finders import ConvergenceWarning, RangeFinderResult, adaptive_range_finder, range_finder
from ._single_pass import single_pass_svd

__all__ = [
    "ConvergenceWarning",
    "RangeFinderResult",
    "adaptive_range_finder",
    "nystrom",
    "range_finder",
    "rqr",
    "rsvd",
    "single_pass_svd",
]
