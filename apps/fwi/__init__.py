"""randla.apps.fwi: probed imaging conditions, RTM and FWI at ``r N`` memory.

Wavefield-history strategies for the engine's seam
(:mod:`randla.apps.wave.history`) that compress the time axis:
:class:`Probed` (randomized trace estimation in time, Louboutin & Herrmann
2021, TimeProbeSeismic) and :class:`OnTheFlyDFT` (Witte et al. 2019), with
blocked GEMM accumulation, summation by parts and unbiased time subsampling;
the time-probe kinds ``dft`` and ``data_qr``, registered in
:mod:`randla.random` at import; the multi-shot objective on Dask or serially;
RTM and L-BFGS-B FWI drivers. The imaging conditions (cross-correlation,
ISIC, k-space filter) belong to the seam (:mod:`randla.apps.wave.imaging`)
and are re-exported here.

References
----------
M. Louboutin and F. J. Herrmann, "Ultra-low memory seismic inversion with
randomized trace estimation", SEG Technical Program Expanded Abstracts, 2021.
"""

from __future__ import annotations

from randla.apps.wave.imaging import (
    ISIC,
    CrossCorrelation,
    ImagingCondition,
    KSpaceFilter,
    kspace_filter,
    spatial_gradient,
)

from .inversion import FWIResult, fwi, rtm
from .objectives import ObjectiveInfo, make_strategy, objective, shot_objective
from .parallel import ShotExecutor, have_dask, shot_map, shot_seeds
from .probing import (
    PROBE_KINDS,
    data_qr_probes,
    dft_basis,
    dft_probes,
    nyquist_subsample,
    second_difference_adjoint,
    time_probes,
)
from .strategies import OnTheFlyDFT, Probed

__all__ = [
    "CrossCorrelation",
    "FWIResult",
    "ISIC",
    "ImagingCondition",
    "KSpaceFilter",
    "ObjectiveInfo",
    "OnTheFlyDFT",
    "PROBE_KINDS",
    "Probed",
    "ShotExecutor",
    "data_qr_probes",
    "dft_basis",
    "dft_probes",
    "fwi",
    "have_dask",
    "kspace_filter",
    "make_strategy",
    "nyquist_subsample",
    "objective",
    "rtm",
    "second_difference_adjoint",
    "shot_map",
    "shot_objective",
    "shot_seeds",
    "spatial_gradient",
    "time_probes",
]
