"""Shared fixtures: one ``xp`` fixture runs a test over every array backend.

``backend`` is parametrised over NumPy, array_api_strict and torch (CPU), plus
CuPy and torch-cuda entries marked ``gpu`` that skip with a reason when no GPU
is present. ``xp``, ``device`` and ``to_xp`` all derive from it, so a test that
asks for several of them sees one consistent backend.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import numpy as np
import pytest


@dataclasses.dataclass(frozen=True)
class Backend:
    name: str
    xp: Any
    device: Any

    def asarray(self, a: Any, dtype: Any = None) -> Any:
        """Explicit host -> backend copy of test data."""
        from randla.backend import from_host

        a = np.asarray(a)
        if dtype is None:
            dtype = self.xp.float32 if a.dtype == np.float32 else self.xp.float64
        return from_host(a, self.xp, dtype=dtype, device=self.device)


def _cuda_reason() -> str | None:
    try:
        import cupy

        if cupy.cuda.runtime.getDeviceCount() > 0:
            return None
    except Exception as exc:  # noqa: BLE001 - any failure means no usable GPU
        return f"needs CuPy and a CUDA GPU ({type(exc).__name__})"
    return "needs a CUDA GPU (none visible to CuPy)"


def _make_backend(name: str) -> Backend:
    from array_api_compat import array_namespace

    if name == "numpy":
        return Backend(name, array_namespace(np.empty(0)), "cpu")
    if name == "array_api_strict":
        xs = pytest.importorskip("array_api_strict")
        return Backend(name, xs, xs.Device("CPU_DEVICE"))
    if name == "torch":
        torch = pytest.importorskip("torch", reason="torch is an optional extra")
        return Backend(name, array_namespace(torch.empty(0)), torch.device("cpu"))
    if name == "cupy":
        reason = _cuda_reason()
        if reason:
            pytest.skip(reason)
        import cupy

        return Backend(name, array_namespace(cupy.empty(0)), cupy.cuda.Device(0))
    if name == "torch-cuda":
        torch = pytest.importorskip("torch", reason="torch is an optional extra")
        if not torch.cuda.is_available():
            pytest.skip("needs a CUDA GPU (torch.cuda.is_available() is False)")
        return Backend(name, array_namespace(torch.empty(0)), torch.device("cuda", 0))
    raise ValueError(name)


BACKENDS = [
    pytest.param("numpy", id="numpy"),
    pytest.param("array_api_strict", id="array_api_strict"),
    pytest.param("torch", id="torch"),
    pytest.param("cupy", id="cupy", marks=pytest.mark.gpu),
    pytest.param("torch-cuda", id="torch-cuda", marks=pytest.mark.gpu),
]


@pytest.fixture(params=BACKENDS)
def backend(request) -> Backend:
    return _make_backend(request.param)


@pytest.fixture
def xp(backend: Backend) -> Any:
    return backend.xp


@pytest.fixture
def device(backend: Backend) -> Any:
    return backend.device


@pytest.fixture
def to_xp(backend: Backend):
    """``to_xp(numpy_array, dtype=None)`` -> array of the current backend."""
    return backend.asarray


def pytest_collection_modifyitems(config, items):
    sim = os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"
    cuda_ok = None
    for item in items:
        if "cudasim" in item.keywords:
            if cuda_ok is None:
                try:
                    from numba import cuda

                    cuda_ok = bool(cuda.is_available())
                except Exception:  # noqa: BLE001
                    cuda_ok = False
            if not cuda_ok:
                item.add_marker(pytest.mark.skip(
                    reason="numba.cuda kernel test: run with NUMBA_ENABLE_CUDASIM=1 "
                    "(the README test command does) or on a CUDA GPU"))
        elif sim and "cudasim" not in item.keywords:
            # under the simulator only the kernel tests are meaningful
            item.add_marker(pytest.mark.skip(reason="NUMBA_ENABLE_CUDASIM=1 run: kernel tests only"))


@pytest.fixture
def torch():
    """The torch module, for tests about torch itself (mixing it with NumPy, ...)."""
    return pytest.importorskip("torch", reason="torch is an optional extra")


@pytest.fixture
def xs():
    """array_api_strict, for tests of its multi-device support."""
    return pytest.importorskip("array_api_strict")
