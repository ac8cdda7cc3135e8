"""Fast paths for the core, each with an array-API reference tests compare to.

``cpu_*`` modules hold Numba ``@njit`` kernels for host arrays; ``gpu_*``
modules hold ``numba.cuda`` kernels for CUDA arrays (tested in CI under the
CUDA simulator, ``NUMBA_ENABLE_CUDASIM=1``). Dispatch is by capability
(:mod:`randla.kernels._dispatch`): host memory NumPy can view without a copy
(NumPy, CPU torch, ...) -> Numba, ``__cuda_array_interface__`` -> numba.cuda,
anything else -> the array-API reference.
"""
