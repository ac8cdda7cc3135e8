"""Fast paths for the core, each with an array-API reference tests compare to.

``cpu_*`` modules hold Numba ``@njit`` kernels for NumPy arrays; ``gpu_*``
modules hold ``numba.cuda`` kernels for CuPy arrays (tested in CI under the
CUDA simulator, ``NUMBA_ENABLE_CUDASIM=1``). Dispatch is by array type:
NumPy -> Numba, CuPy -> CUDA kernel, anything else -> the array-API reference.
"""
