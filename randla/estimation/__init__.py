"""Stochastic trace and diagonal estimation: one driver, estimators as small pieces.

Every estimator works matrix-free through :func:`randla.as_operator` (only
products ``A @ X`` with blocks of test vectors), counts its budget in
matrix-vector products ``num_matvecs`` and returns a :class:`TraceEstimate` or
a :class:`DiagonalEstimate`. Inside, one driver (``_driver.run``) validates the
input, draws probe blocks from :mod:`randla.random`, applies the operator and
accumulates through a small integrand, as in matfree; the leave-one-out
algebra of the exchangeable estimators lives in ``_exchangeable``.

Which trace estimator to use (``m`` = ``num_matvecs``):

* :func:`hutchinson` -- error ``~ ||A - tr(A)/n I||_F / sqrt(m)``; best on a
  flat spectrum (no low-rank structure to exploit);
* :func:`hutchpp`, :func:`na_hutchpp` -- a rank ``~m/3`` part taken exactly
  plus Hutchinson on the rest; ``O(1/m)`` error for PSD matrices with a
  decaying spectrum (Meyer, Musco, Musco, Woodruff, SOSA 2021);
* :func:`xtrace` -- every product serves both the low-rank part and the
  residual; best on decaying spectra;
* :func:`xnystrace` -- positive semidefinite ``A``: the most accurate there;
* :func:`trace` -- dispatch by name, ``method="auto"`` chooses between
  Hutchinson and XTrace from the first block of products.

Diagonals: :func:`diagonal_hutchinson` (Bekas, Kokiopoulou, Saad 2007) and
:func:`xdiag`. The reference behind the exchangeable estimators (XTrace,
XNysTrace, XDiag): E. N. Epperly, J. A. Tropp, R. J. Webber, "XTrace: making
the most of every sample in stochastic trace estimation", SIAM J. Matrix
Anal. Appl. 45 (2024). Every result carries a calibrated ``std_error`` and a
confidence ``interval`` (``confidence=``, default 0.95), and the adaptive
estimators stop on that interval; the semantics are documented once, in
``docs/error_estimates.rst``. All names are re-exported by :mod:`randla`.
"""

from __future__ import annotations

from ._diagonal_estimators import DiagonalEstimate, diagonal_hutchinson, xdiag
from ._driver import TraceEstimate
from ._trace_estimators import (
    TRACE_METHODS,
    hutchinson,
    hutchpp,
    na_hutchpp,
    trace,
    xnystrace,
    xtrace,
)

__all__ = [
    "DiagonalEstimate",
    "TRACE_METHODS",
    "TraceEstimate",
    "diagonal_hutchinson",
    "hutchinson",
    "hutchpp",
    "na_hutchpp",
    "trace",
    "xdiag",
    "xnystrace",
    "xtrace",
]
