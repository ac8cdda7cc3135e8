"""randla.apps.fwi: probed imaging conditions, RTM and FWI at ``r N`` memory.

Wavefield-history strategies for the engine's seam
(:mod:`randla.apps.wave.history`) that compress the time axis:
:class:`Probed` (randomized trace estimation in time, Louboutin & Herrmann
2021, TimeProbeSeismic) and :class:`OnTheFlyDFT` (Witte et al. 2019), with
blocked GEMM accumulation, summation by parts and unbiased time subsampling;
imaging conditions evaluated on the compressed fields (cross-correlation,
ISIC, k-space filter); the multi-shot objective on Dask or serially; RTM and
L-BFGS-B FWI drivers.

References
----------
M. Louboutin and F. J. Herrmann, "Ultra-low memory seismic inversion with
randomized trace estimation", SEG Technical Program Expanded Abstracts, 2021.

P. A. Witte, M. Louboutin, F. Luporini, G. J. Gorman and F. J. Herrmann,
"Compressive least-squares migration with on-the-fly Fourier transforms",
Geophysics 84(5), R655-R672, 2019.
"""

from __future__ import annotations

from .imaging import CrossCorrelation, ImagingCondition, ISIC, KSpaceFilter, kspace_filter, spatial_gradient
from .inversion import FWIResult, fwi, rtm
from .objective import ObjectiveInfo, make_strategy, objective, shot_objective
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
