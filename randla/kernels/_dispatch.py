"""Which implementation runs for given arrays, decided by what the arrays can do.

* Host memory that NumPy can view without a copy (NumPy arrays, and CPU arrays
  of other libraries exported through DLPack: torch, array_api_strict) runs the
  Numba kernels (``cpu_*``) on that view, in float32 or float64; the result
  goes back through the namespace's ``from_dlpack``, again without a copy.
* Arrays exposing ``__cuda_array_interface__`` (CuPy, torch on a GPU) run the
  ``numba.cuda`` kernels (``gpu_*``, imported only when such an array arrives).
* Anything else runs the pure array-API reference
  (:mod:`randla.kernels.reference`).

Data never moves between host and device to reach a kernel: each
implementation works where the arrays live.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..backend import device_of, is_cupy, is_numpy

__all__ = [
    "CUDA",
    "NUMBA",
    "NUMBA_DTYPES",
    "REFERENCE",
    "cuda_arrays",
    "from_host_view",
    "host_views",
    "kernel_backend",
]

#: dtypes the Numba kernels are compiled for
NUMBA_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))
_DLPACK_CPU = 1

# kept for randla.sketching (which still selects by these labels)
NUMBA = "numba"
CUDA = "cuda"
REFERENCE = "reference"


def _host_view(x: Any) -> np.ndarray | None:
    if isinstance(x, np.ndarray):
        return x
    try:
        if x.__dlpack_device__()[0] != _DLPACK_CPU:
            return None
        view = np.from_dlpack(x)
    except (AttributeError, BufferError, TypeError, RuntimeError, ValueError):
        return None  # no DLPack, or an export the library refuses (e.g. requires_grad)
    return view


def host_views(*arrays: Any) -> tuple[np.ndarray, ...] | None:
    """Zero-copy NumPy views of ``arrays`` when all live in host memory with a
    dtype the Numba kernels handle; ``None`` otherwise."""
    views = []
    for x in arrays:
        view = _host_view(x)
        if view is None or view.dtype not in NUMBA_DTYPES:
            return None
        views.append(view)
    return tuple(views)


def from_host_view(out: np.ndarray, xp: Any, like: Any) -> Any:
    """A kernel's NumPy result as an array of ``xp`` on the device of ``like``
    (the inverse of :func:`host_views`; no copy)."""
    if isinstance(like, np.ndarray):
        return out
    return xp.from_dlpack(out, device=device_of(like))


def cuda_arrays(*arrays: Any) -> bool:
    """True when every array exposes ``__cuda_array_interface__`` (numba.cuda reads
    it in place)."""
    for x in arrays:
        try:
            x.__cuda_array_interface__
        except (AttributeError, RuntimeError):  # torch refuses tensors requiring grad
            return False
    return True


def kernel_backend(xp: Any) -> str:
    """:data:`NUMBA` for NumPy, :data:`CUDA` for CuPy, :data:`REFERENCE` otherwise.

    Kept for :mod:`randla.sketching`; new code selects with :func:`host_views`
    and :func:`cuda_arrays`, which look at what the arrays can do.
    """
    if is_numpy(xp):
        return NUMBA
    if is_cupy(xp):
        return CUDA
    return REFERENCE
