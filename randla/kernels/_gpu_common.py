"""Helpers shared by the ``numba.cuda`` kernel modules (``gpu_*``)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import array_namespace, is_cupy

__all__ = ["contiguous"]


def contiguous(x: Any) -> Any:
    """A C-contiguous ``x`` on its own device: CuPy on a GPU, NumPy under the
    CUDA simulator (where NumPy arrays stand in for device arrays)."""
    if is_cupy(array_namespace(x)):
        import cupy

        return cupy.ascontiguousarray(x)
    return np.ascontiguousarray(x)
