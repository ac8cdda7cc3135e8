"""Validation shared by the low-rank routines, and their test matrix.

Each public routine of :mod:`randla.lowrank` wraps ``A`` once
(:func:`as_lowrank_operator`), checks its integer options with
:func:`randla.backend.check_positive_int` and its probe through the one
registry :func:`randla.random.probe_kind`, then calls a private body.
"""

from __future__ import annotations

import math
import numbers
from typing import Any

import numpy as np

from ..backend import array_namespace, check_float, check_on, check_positive_int, is_array, namespace
from ..operators import LinearOperator, as_operator
from ..random import draw_probes, probe_kind

__all__: list[str] = []

NORMALIZERS = ("lu", "none", "qr")


def check_rank(rank: Any, shape: tuple[int, int], *, name: str = "rank") -> int:
    """``1 <= rank <= min(m, n)`` or a ValueError naming ``rank``."""
    rank = check_positive_int(rank, name, minimum=-math.inf)
    limit = min(shape)
    if not 1 <= rank <= limit:
        raise ValueError(
            f"{name} must satisfy 1 <= {name} <= min(m, n) = {limit} for A of shape "
            f"{tuple(shape)}, got {rank}"
        )
    return rank


def check_samples(op: LinearOperator, rank: Any, oversample: Any, *,
                  limit: int | None = None) -> tuple[int, int]:
    """``(rank, num_samples)``: ``num_samples = min(rank + oversample, limit)``,
    ``limit = min(m, n)`` by default."""
    rank = check_rank(rank, op.shape)
    oversample = check_positive_int(oversample, "oversample", minimum=0)
    return rank, min(rank + oversample, min(op.shape) if limit is None else limit)


def check_power(power_iters: Any, normalizer: Any) -> tuple[int, str]:
    """``(power_iters, normalizer)``: an int ``>= 0`` and one of :data:`NORMALIZERS`."""
    return (check_positive_int(power_iters, "power_iters", minimum=0),
            check_normalizer(normalizer))


def check_positive(value: Any, name: str) -> float:
    """A finite real number ``> 0`` or a ValueError naming ``name``."""
    if not isinstance(value, numbers.Real) or isinstance(value, bool):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    if not math.isfinite(float(value)) or float(value) <= 0:
        raise ValueError(f"{name} must be a finite number > 0, got {value}")
    return float(value)


def check_normalizer(normalizer: Any) -> str:
    if normalizer not in NORMALIZERS:
        raise ValueError(f"normalizer must be one of {NORMALIZERS}, got {normalizer!r}")
    return normalizer


def as_lowrank_operator(A: Any, *, method: str, need_adjoint: bool) -> LinearOperator:
    """Wrap ``A`` (anything :func:`randla.as_operator` accepts) for a low-rank method.

    Dense input is not scanned for NaN/inf here (that would be one more pass
    over A): every method checks its first sketch instead, see
    :func:`check_sketch`. Complex operators are rejected with a TypeError.
    """
    if is_array(A):
        namespace(A=A)  # clear TypeError for unsupported array types
        check_float(A, "A")  # real only: the message must not offer complex
    op = as_operator(A, check_finite=False)
    xp = op.xp
    if op.dtype not in (xp.float32, xp.float64):
        raise TypeError(
            f"A must be real float32 or float64 for {method}, got {op.dtype}; "
            "complex operators are not supported by the low-rank routines"
        )
    if need_adjoint and not op.has_adjoint:
        raise TypeError(
            f"{method} needs the adjoint of A (products A^T Y): pass rmatmat= (or "
            "symmetric=True) to randla.as_operator"
        )
    return op


def check_sketch(Y: Any, what: str = "A @ Omega") -> None:
    """Raise ValueError if a sketch of A is not finite.

    A NaN or infinity anywhere in A reaches every sketch ``A @ Omega`` (IEEE
    arithmetic propagates NaN even through zero weights), so checking the
    small sketch replaces a pass over A.
    """
    xp = array_namespace(Y)
    if not bool(xp.all(xp.isfinite(Y))):
        raise ValueError(
            f"A contains NaN or infinite values (the sketch {what} is not finite; "
            "entries so large that the product overflows land here too)"
        )


def resolve_probe(probe: Any, op: LinearOperator, A: Any, rows: int, cols: int,
                  *, name: str = "probe") -> Any:
    """Validate ``probe``: a registered kind (:func:`randla.random.probe_kind`)
    or an explicit ``(rows, cols)`` test matrix of A's namespace and device."""
    if isinstance(probe, str):
        return probe_kind(probe, argument=name).name
    if not is_array(probe):
        raise TypeError(f"{name} must be a probe kind (str) or an array, got {type(probe).__name__}")
    check_on(probe, op.xp, op.device, name, "A")
    if tuple(probe.shape) != (rows, cols):
        raise ValueError(f"{name} must have shape ({rows}, {cols}), got {tuple(probe.shape)}")
    if probe.dtype != op.dtype:
        raise TypeError(f"{name} must have the dtype of A ({op.dtype}), got {probe.dtype}")
    return probe


def draw(probe: Any, rows: int, cols: int, op: LinearOperator, gen: np.random.Generator) -> Any:
    """The test matrix: ``probe`` itself if it is an array, else a host draw."""
    if not isinstance(probe, str):
        return probe
    return draw_probes(probe, rows, cols, rng=gen, xp=op.xp, dtype=op.dtype, device=op.device)
