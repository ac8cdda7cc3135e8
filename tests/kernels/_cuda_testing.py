"""Helpers of the numba.cuda kernel tests (CUDA simulator or a real GPU)."""

from __future__ import annotations

from randla.backend import to_host

__all__ = ["to_device", "to_host"]


def to_device(a):
    """NumPy under the simulator, CuPy on a real GPU (the kernels' contract)."""
    from numba import config

    if config.ENABLE_CUDASIM:
        return a
    import cupy

    return cupy.asarray(a)
