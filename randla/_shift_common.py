"""Input validation of the shift-probe estimators (:mod:`randla.shift`).

Offsets as a host ``(K, d)`` int64 array, the ``(X, Y)`` layouts
``(*grid)``, ``(batch, *grid)`` and ``(batch, channels, *grid)``, the probe
matrix ``Z`` of shape ``(N, r)``, and the probe count. Nothing here is
public: :mod:`randla.shift` validates with these helpers, then calls its
private bodies.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from .backend import check_finite, check_float, check_positive_int, namespace
from .random import PROBE_KINDS

__all__ = [
    "LAYOUTS",
    "as_axes",
    "as_offsets",
    "check_arrays",
    "check_entries",
    "check_fields",
    "check_finite_sum",
    "check_num_probes",
    "check_pair",
    "check_probes",
    "lead_and_grid",
]

LAYOUTS = "(*grid), (batch, *grid) or (batch, channels, *grid)"


def as_offsets(offsets: Any) -> np.ndarray:
    """Normalise ``offsets`` to a host int64 array of shape ``(K, d)``, 1 <= d <= 3."""
    if isinstance(offsets, np.ndarray):
        if offsets.dtype.kind not in "iu":
            raise TypeError(f"offsets must hold integers, got dtype {offsets.dtype}")
        arr = offsets.reshape(-1, 1) if offsets.ndim == 1 else offsets
        if arr.ndim != 2:
            raise ValueError(f"offsets must have shape (num_offsets, ndim), got {offsets.shape}")
    else:
        if isinstance(offsets, (str, bytes)) or not isinstance(offsets, Sequence):
            raise TypeError(
                "offsets must be a sequence of integer tuples (one per offset, of "
                f"length the grid dimension), got {type(offsets).__name__}"
            )
        rows = []
        for i, off in enumerate(offsets):
            entries = (off,) if isinstance(off, numbers.Integral) else off
            if isinstance(entries, (str, bytes)) or not isinstance(entries, (Sequence, np.ndarray)):
                raise TypeError(f"offsets[{i}] must be a tuple of integers, got {off!r}")
            for e in entries:
                if not isinstance(e, numbers.Integral) or isinstance(e, bool):
                    raise TypeError(f"offsets[{i}] must be a tuple of integers, got {off!r}")
            if rows and len(entries) != len(rows[0]):
                raise ValueError(
                    f"offsets[{i}] has length {len(entries)} but offsets[0] has length "
                    f"{len(rows[0])}: all offsets need one entry per grid axis"
                )
            rows.append(tuple(int(e) for e in entries))
        if not rows:
            raise ValueError("offsets must hold at least one offset")
        arr = np.array(rows, dtype=np.int64)
    if arr.shape[0] == 0:
        raise ValueError("offsets must hold at least one offset")
    if not 1 <= arr.shape[1] <= 3:
        raise ValueError(f"offsets must have 1, 2 or 3 entries (the grid dimension), "
                         f"got {arr.shape[1]}")
    return np.ascontiguousarray(arr, dtype=np.int64)


def lead_and_grid(A: Any, name: str, grid_ndim: int) -> tuple[tuple[int, ...], tuple[int, ...]]:
    if A.ndim < grid_ndim:
        raise ValueError(
            f"{name} has {A.ndim} axes but the offsets (or grid_ndim) give a "
            f"{grid_ndim}-D grid: each offset needs one entry per grid axis"
        )
    shape = tuple(int(s) for s in A.shape)
    lead, grid = shape[: A.ndim - grid_ndim], shape[A.ndim - grid_ndim:]
    if math.prod(grid) == 0:
        raise ValueError(f"{name} has an empty grid {grid}")
    return lead, grid


def check_pair(X: Any, Y: Any, grid_ndim: int):
    """Validate the (X, Y) pair; return (batch, c_in, c_out, grid, channel_form)."""
    for A, name in ((X, "X"), (Y, "Y")):
        if not 0 <= A.ndim - grid_ndim <= 2:
            raise ValueError(
                f"{name} must have shape {LAYOUTS} for offsets with {grid_ndim} entries "
                f"(a {grid_ndim}-D grid), got shape {tuple(A.shape)}"
            )
    if X.ndim != Y.ndim:
        raise ValueError(
            f"X and Y must use the same layout {LAYOUTS}; got shapes "
            f"{tuple(X.shape)} and {tuple(Y.shape)}"
        )
    lead_x, grid = lead_and_grid(X, "X", grid_ndim)
    lead_y, grid_y = lead_and_grid(Y, "Y", grid_ndim)
    if grid != grid_y:
        raise ValueError(
            f"the offsets have {grid_ndim} entries, so the last {grid_ndim} axes of X and Y "
            f"are the grid, and they differ: {grid} and {grid_y}. Give each offset one "
            f"entry per grid axis (X and Y must share one grid)"
        )
    if lead_x[:1] != lead_y[:1]:
        raise ValueError(f"X and Y must have the same batch size, got {lead_x[0]} and {lead_y[0]}")
    batch = lead_x[0] if lead_x else 1
    c_in = lead_x[1] if len(lead_x) == 2 else 1
    c_out = lead_y[1] if len(lead_y) == 2 else 1
    return batch, c_in, c_out, grid, len(lead_x) == 2


def check_arrays(**arrays: Any):
    xp = namespace(**arrays)
    names = list(arrays)
    for name in names:
        check_float(arrays[name], name)
    first = names[0]
    for name in names[1:]:
        if arrays[name].dtype != arrays[first].dtype:
            raise TypeError(
                f"{first} and {name} must have the same dtype, got {arrays[first].dtype} "
                f"and {arrays[name].dtype}; convert one explicitly"
            )
    return xp


def check_num_probes(num_probes: Any, probe: Any, grid_size: int) -> int:
    if not isinstance(probe, str) or probe not in PROBE_KINDS:
        raise ValueError(f"probe must be one of {PROBE_KINDS}, got {probe!r}")
    num_probes = check_positive_int(num_probes, "num_probes")
    if probe in ("orthonormal", "srft") and num_probes > grid_size:
        raise ValueError(
            f"num_probes must be <= the number of grid points ({grid_size}) for "
            f"probe={probe!r}, got {num_probes}"
        )
    return int(num_probes)


def check_entries(entries: tuple, given: Any, name: str, minimum: int) -> tuple[int, ...]:
    """Every entry an integer ``>= minimum``, or an error quoting ``given``."""
    return tuple(check_positive_int(e, f"{name} entry in {given!r}", minimum=minimum)
                 for e in entries)


def as_axes(value: Any, ndim: int, name: str, minimum: int) -> tuple[int, ...]:
    """An int (repeated) or a sequence of ``ndim`` ints ``>= minimum``."""
    entries = (value,) * ndim if isinstance(value, numbers.Integral) else value
    if isinstance(entries, (str, bytes)) or not isinstance(entries, Sequence):
        raise TypeError(f"{name} must be an int or a sequence of {ndim} ints, got {value!r}")
    if len(entries) != ndim:
        raise ValueError(f"{name} must have {ndim} entries (one per grid axis of the "
                         f"offsets), got {value!r}")
    return check_entries(tuple(entries), value, name, minimum)


def check_finite_sum(x: Any, name: str) -> None:
    """:func:`randla.backend.check_finite` behind a one-pass screen: a finite sum
    means every entry is finite (NaN and infinity propagate through a sum); only a
    non-finite sum (bad entries, or an overflow of finite ones) runs the full check."""
    xp = namespace(**{name: x})
    if not bool(xp.isfinite(xp.sum(x))):
        check_finite(x, name)


def check_fields(X: Any, Y: Any, offsets: Any):
    """Validate ``shift_trace*`` input; return ``(xp, offs, batch, c_in, c_out, grid,
    channel_form)``."""
    xp = check_arrays(X=X, Y=Y)
    offs = as_offsets(offsets)
    batch, c_in, c_out, grid, channel_form = check_pair(X, Y, offs.shape[1])
    check_finite_sum(X, "X")
    check_finite_sum(Y, "Y")
    return xp, offs, batch, c_in, c_out, grid, channel_form


def check_probes(Z: Any, grid: tuple[int, ...], lead: tuple[int, ...], name: str) -> int:
    """``Z`` of shape ``(N, r)``, or ``(G, N, r)`` with ``G`` the last lead axis of
    ``name`` (one probe set per channel)."""
    N = math.prod(grid)
    if Z.ndim not in (2, 3) or Z.shape[-2] != N:
        raise ValueError(
            f"Z must have shape (num_grid_points, num_probes) = ({N}, r) for the grid "
            f"{grid}, or (channels, {N}, r), got {tuple(Z.shape)}"
        )
    if Z.ndim == 3 and (not lead or Z.shape[0] != lead[-1]):
        raise ValueError(
            f"Z of shape {tuple(Z.shape)} holds {Z.shape[0]} probe sets, one per entry of "
            f"the last axis before the grid of {name}, whose leading shape is {lead}"
        )
    if Z.shape[-1] < 1:
        raise ValueError("Z must hold at least one probe (column)")
    return int(Z.shape[-1])
