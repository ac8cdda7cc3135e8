"""randla.apps.wave: acoustic wave-equation engine (2-D/3-D, Numba CPU and CUDA kernels).

Constant-density acoustic modelling ``m u_tt - lap(u) + damp u_t = q`` with
``m = 1/vp^2``, second order in time and orders 2..16 in space, its exact
discrete adjoint, Born (``J``) and ``J^T`` operators, FWI gradients and
Gauss-Newton products, all methods of one :class:`Solver`. Gradients go through one seam, the wavefield-history
strategy (:mod:`randla.apps.wave.history`), which owns the whole image,
imaging condition included (:mod:`randla.apps.wave.imaging`):
:class:`FullStorage` and optimal :class:`Checkpointing` here, probed
strategies in :mod:`randla.apps.fwi`.

References
----------
J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.
M. Louboutin et al., Geoscientific Model Development 12, 1165-1187, 2019.
"""

from __future__ import annotations

from .builders import layered_anomaly_model, layered_model, overthrust_model, smooth
from .geometry import Geometry, PointInterpolator, TimeAxis, ricker
from .history import Checkpointing, FullStorage, WavefieldHistory, revolve_schedule
from .imaging import ISIC, CrossCorrelation, ImagingCondition, KSpaceFilter, kspace_filter, spatial_gradient
from .model import Model
from .kernels.reference import reference_step
from .propagator import ForwardState, HistoryContext, Propagator
from .shots import (
    born_shots,
    forward_operator,
    forward_shots,
    gauss_newton_shots,
    gradient_shots,
    jacobian_adjoint_shots,
    jacobian_operator,
)
from .solver import (
    GaussNewtonOperator,
    Solver,
    adjoint,
    born,
    forward,
    gauss_newton,
    gradient,
    jacobian_adjoint,
)
from .stencil import SPACE_ORDERS, fornberg_weights, second_derivative_weights, stencil_bound

__all__ = [
    "Checkpointing",
    "CrossCorrelation",
    "ForwardState",
    "FullStorage",
    "GaussNewtonOperator",
    "Geometry",
    "HistoryContext",
    "ISIC",
    "ImagingCondition",
    "KSpaceFilter",
    "Model",
    "PointInterpolator",
    "Propagator",
    "SPACE_ORDERS",
    "Solver",
    "TimeAxis",
    "WavefieldHistory",
    "adjoint",
    "born",
    "born_shots",
    "fornberg_weights",
    "forward",
    "forward_operator",
    "forward_shots",
    "gauss_newton",
    "gauss_newton_shots",
    "gradient",
    "gradient_shots",
    "jacobian_adjoint",
    "jacobian_adjoint_shots",
    "jacobian_operator",
    "kspace_filter",
    "layered_anomaly_model",
    "layered_model",
    "overthrust_model",
    "reference_step",
    "revolve_schedule",
    "ricker",
    "second_derivative_weights",
    "smooth",
    "spatial_gradient",
    "stencil_bound",
]
