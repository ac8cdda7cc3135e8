"""Backends of the wave engine: one small protocol, three implementations.

The :class:`~randla.apps.wave.Propagator` writes the leapfrog recurrence once
(``Propagator._steps``) and asks a backend for the pieces:

================  ==============================================================
``step(u, up)``   ``up <- a lap(u) + b (u - up) + up`` (returns the new field)
``inject``        ``up += a P^T values`` at source/receiver points
``set_row``       ``record[n] = P u`` (``new_record`` / ``finish_record`` around it)
``born_source``   ``du -= (a dm / dt^2) (u^{n+1} - 2 u^n + u^{n-1})``
fields            ``zeros``, ``fill_zero``, ``copy``, ``view`` (padded-grid view of
                  a storage field), ``load`` (padded field into a storage field),
                  ``from_padded``, ``points`` (a geometry's interpolator in the
                  backend's form), ``threads()`` (a context for the thread count)
================  ==============================================================

Fields live on the *storage* grid (the padded grid plus a zero halo of
``radius`` points). A backend may return a new array from ``step``,
``inject`` and ``born_source`` (functional backends) or update in place and
return its argument.

Capabilities are class attributes, never names: :meth:`Backend.accepts` says
which array namespaces a backend runs on, and ``compiled_sweep = True`` says
that :meth:`Backend.sweep` runs many steps of the same recurrence without
Python in the time loop (used when no strategy needs to see the fields).

* :mod:`.cpu`: Numba ``@njit`` kernels on NumPy arrays (compiled sweep).
* :mod:`.gpu`: ``numba.cuda`` kernels on CuPy arrays (NumPy under the CUDA
  simulator); imported when first selected.
* :mod:`.reference`: standard array-API operations on any namespace
  (:func:`reference_step`); small grids and cross-checks.
"""

from __future__ import annotations

import contextlib
from typing import Any, ClassVar

__all__ = ["KERNELS", "Backend", "backend_class"]

#: Values of the ``kernel=`` option.
KERNELS = ("auto", "numba", "cuda", "reference")


class Backend:
    """Base class of the engine's backends (see the module docstring).

    Parameters
    ----------
    prop : Propagator
        Gives the storage layout (``storage_shape``, ``inner``, ``radius``,
        ``ndim``), the coefficients (``a_storage``, ``b_storage``, ``weights``,
        ``center``), ``xp``, ``dtype``, ``device`` and ``num_threads``.
    """

    name: ClassVar[str] = "backend"
    #: True when :meth:`sweep` is available.
    compiled_sweep: ClassVar[bool] = False

    def __init__(self, prop: Any) -> None:
        self.prop = prop
        self.xp = prop.xp
        self.storage_shape = prop.storage_shape
        self.inner = prop.inner

    @classmethod
    def accepts(cls, xp: Any) -> bool:  # pragma: no cover - abstract
        """Whether this backend runs on arrays of namespace ``xp``."""
        raise NotImplementedError

    def sweep(self, u: Any, up: Any, inj: Any, values: Any, rec: Any, out: Any) -> None:
        """``len(out)`` steps: step ``s`` injects ``values[s]`` at ``inj`` and
        records ``out[s]`` at ``rec`` from the new field (``compiled_sweep``)."""
        raise TypeError(f"the {self.name} backend has no compiled sweep")

    def threads(self) -> Any:
        return contextlib.nullcontext()

    def finish_record(self, rec: Any) -> Any:
        return rec


_MODULES = {"numba": ("cpu", "NumbaBackend"), "cuda": ("gpu", "CudaBackend"),
            "reference": ("reference", "ReferenceBackend")}


def _load(kernel: str) -> type:
    import importlib

    module, name = _MODULES[kernel]
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def backend_class(kernel: str, xp: Any) -> type:
    """The backend class for ``kernel=`` and arrays of namespace ``xp``.

    ``"auto"`` takes the first of Numba, CUDA, reference that accepts ``xp``.

    Raises
    ------
    ValueError
        An unknown ``kernel``.
    TypeError
        A ``kernel`` that cannot run on ``xp`` arrays.
    """
    if kernel not in KERNELS:
        raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
    if kernel == "auto":
        for candidate in ("numba", "cuda", "reference"):
            cls = _load(candidate)
            if cls.accepts(xp):
                return cls
    cls = _load(kernel)
    if not cls.accepts(xp):
        raise TypeError(f"kernel={kernel!r} needs {cls.requirement}")
    return cls
