"""Helpers shared by the ``numba.cuda`` kernel modules (``gpu_*``)."""

from __future__ import annotations

from typing import Any

from ..backend import array_namespace

__all__ = ["contiguous"]


def contiguous(x: Any) -> Any:
    """A C-contiguous ``x`` on its own device (a device-local copy only when
    ``x`` is a strided view): flattening in C order either views a contiguous
    array or copies it, and the reshape back is a view."""
    xp = array_namespace(x)
    return xp.reshape(xp.reshape(x, (-1,)), tuple(x.shape))
