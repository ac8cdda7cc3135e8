"""Which implementation runs for a given array namespace.

NumPy arrays go to the Numba kernels (``cpu_*``), CuPy arrays to the
``numba.cuda`` kernels (``gpu_*``, imported only when a CuPy array arrives),
anything else (torch, array_api_strict, ...) to the pure array-API reference
(:mod:`randla.kernels.reference`). Data never moves between host and device
to reach a kernel: each implementation works where the arrays live.
"""

from __future__ import annotations

from typing import Any

from ..backend import is_cupy, is_numpy

__all__ = ["CUDA", "NUMBA", "REFERENCE", "kernel_backend"]

NUMBA = "numba"
CUDA = "cuda"
REFERENCE = "reference"


def kernel_backend(xp: Any) -> str:
    """:data:`NUMBA` for NumPy, :data:`CUDA` for CuPy, :data:`REFERENCE` otherwise."""
    if is_numpy(xp):
        return NUMBA
    if is_cupy(xp):
        return CUDA
    return REFERENCE
