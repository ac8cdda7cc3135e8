"""Backend helpers: the one place randla talks to :mod:`array_api_compat`.

Public because the applications in :mod:`randla.apps` (and code written on top
of randla) use them too: every array-API check and the two explicit transfers
between host and device live here, so the rest of the code is written once
against the array API standard.

Conventions
-----------
* ``namespace(X=X, Y=Y)`` returns the common namespace of the named arrays and
  raises a :class:`TypeError` naming the arguments when they mix backends, and
  a :class:`ValueError` when they live on different devices.
* ``check_on(x, xp, device, "x", "the model")`` checks one array against a
  namespace and device that an owner (an operator, a model) already fixed.
* ``check_float(x, "X")`` accepts float32/float64 (and complex64/128 when asked)
  and rejects integer, boolean and half-precision input with a :class:`TypeError`.
* ``check_finite(x, "X")`` raises a :class:`ValueError` on NaN or infinity.
* ``check_positive_int(value, "num_probes")`` is the one integer validator:
  a :class:`TypeError` for non-integers (bool included), a :class:`ValueError`
  below the minimum, both naming the argument.
* Nothing here copies data between host and device behind the caller's back.
  The explicit transfers are :func:`from_host` (host-drawn probe matrices onto
  the caller's device, where the documentation says so) and :func:`to_host`
  (for plotting, reports and SciPy).

Examples
--------
>>> from randla.backend import check_positive_int, namespace
>>> namespace(A=np.ones(3)).__name__
'array_api_compat.numpy'
>>> check_positive_int(4, "num_probes")
4
>>> check_positive_int(0, "num_probes")
Traceback (most recent call last):
    ...
ValueError: num_probes must be >= 1, got 0
"""

from __future__ import annotations

import math
from typing import Any

import array_api_compat as _aac
import numpy as np

__all__ = [
    "array_namespace",
    "check_finite",
    "check_float",
    "check_on",
    "check_positive_int",
    "check_same_device",
    "check_square",
    "device_of",
    "from_host",
    "is_array",
    "is_cupy",
    "is_numpy",
    "is_torch",
    "namespace",
    "nbytes",
    "numpy_dtype",
    "real_dtype",
    "to_host",
    "to_scalar",
]

def is_array(x: Any) -> bool:
    """True for an array of any array-API library (NumPy, CuPy, torch, ...).

    Examples
    --------
    >>> from randla.backend import is_array
    >>> is_array(np.ones(2)), is_array([1.0, 2.0])
    (True, False)
    """
    return _aac.is_array_api_obj(x)


def device_of(x: Any) -> Any:
    """The device of array ``x`` (``"cpu"`` for NumPy).

    Examples
    --------
    >>> from randla.backend import device_of
    >>> device_of(np.ones(2))
    'cpu'
    """
    return _aac.device(x)


def is_numpy(xp: Any) -> bool:
    """True for NumPy (also the array-api-compat wrapper).

    Examples
    --------
    >>> from randla.backend import is_numpy, namespace
    >>> is_numpy(namespace(x=np.ones(2))), is_numpy(np)
    (True, True)
    """
    return _aac.is_numpy_namespace(xp)


def is_cupy(xp: Any) -> bool:
    """True for CuPy (also the array-api-compat wrapper).

    Examples
    --------
    >>> from randla.backend import is_cupy
    >>> is_cupy(np)
    False
    """
    return _aac.is_cupy_namespace(xp)


def is_torch(xp: Any) -> bool:
    """True for PyTorch (also the array-api-compat wrapper).

    Examples
    --------
    >>> from randla.backend import is_torch
    >>> is_torch(np)
    False
    """
    return _aac.is_torch_namespace(xp)


def _backend_name(x: Any) -> str:
    mod = type(x).__module__.split(".")[0]
    return mod


def array_namespace(*arrays: Any) -> Any:
    """Common namespace of ``arrays`` (``None`` entries are ignored).

    Raises
    ------
    TypeError
        When the arrays belong to different libraries.

    Examples
    --------
    >>> from randla.backend import array_namespace
    >>> array_namespace(np.ones(2), None).__name__
    'array_api_compat.numpy'
    """
    arrs = [a for a in arrays if a is not None]
    try:
        return _aac.array_namespace(*arrs)
    except TypeError as exc:
        kinds = sorted({_backend_name(a) for a in arrs})
        raise TypeError(
            f"mixed array backends {kinds}: pass arrays of one library "
            "(randla never copies between backends silently)"
        ) from exc


def namespace(**arrays: Any) -> Any:
    """Common namespace of named arrays, with errors that name the arguments.

    Parameters
    ----------
    **arrays
        ``name=array`` pairs; ``None`` values are skipped.

    Returns
    -------
    xp
        The array-api-compat namespace shared by all arrays.

    Raises
    ------
    TypeError
        If an argument is not an array, or the arrays mix backends.
    ValueError
        If the arrays live on different devices.

    Examples
    --------
    >>> from randla.backend import namespace
    >>> namespace(A=np.ones((2, 2)), x=np.ones(2)).__name__
    'array_api_compat.numpy'
    >>> namespace(A=[[1.0]])
    Traceback (most recent call last):
        ...
    TypeError: A must be an array (numpy, cupy, torch or another array-API library), got list
    """
    named = {k: v for k, v in arrays.items() if v is not None}
    for name, value in named.items():
        if not is_array(value):
            raise TypeError(
                f"{name} must be an array (numpy, cupy, torch or another "
                f"array-API library), got {type(value).__name__}"
            )
    if not named:
        raise TypeError("at least one array argument is required")
    backends = {name: _backend_name(v) for name, v in named.items()}
    if len(set(backends.values())) > 1:
        desc = ", ".join(f"{k} is {v}" for k, v in backends.items())
        raise TypeError(
            f"mixed array backends ({desc}): pass arrays of one library; "
            "randla never copies between backends silently"
        )
    xp = array_namespace(*named.values())
    check_same_device(**named)
    return xp


def check_same_device(**arrays: Any) -> Any:
    """Return the common device of named arrays or raise ``ValueError``.

    Examples
    --------
    >>> from randla.backend import check_same_device
    >>> check_same_device(A=np.ones(2), B=np.ones(3))
    'cpu'
    """
    named = {k: v for k, v in arrays.items() if v is not None}
    devices = {name: device_of(v) for name, v in named.items()}
    first = next(iter(devices.values()), None)
    for name, dev in devices.items():
        if dev != first:
            desc = ", ".join(f"{k} on {v}" for k, v in devices.items())
            raise ValueError(
                f"arrays on different devices ({desc}); move them explicitly, "
                "randla never copies between devices silently"
            )
    return first


def check_on(x: Any, xp: Any, device: Any, name: str, owner: str) -> None:
    """``x`` is an array of namespace ``xp`` on ``device`` (``None``: any), as
    ``owner`` (an operator, a matrix) needs; errors name both.

    Raises
    ------
    TypeError
        If ``x`` is not an array or belongs to another backend.
    ValueError
        If ``x`` is on another device.

    Examples
    --------
    >>> from randla.backend import check_on, namespace
    >>> check_on(np.ones(2), namespace(A=np.ones(2)), "cpu", "x", "the operator")
    """
    if not is_array(x):
        raise TypeError(f"{name} must be an array, got {type(x).__name__}")
    other = array_namespace(x)
    if other is not xp:
        raise TypeError(
            f"mixed array backends: {owner} works on {xp.__name__} arrays but {name} is a "
            f"{other.__name__} array; randla never converts between backends silently"
        )
    if device is not None and device_of(x) != device:
        raise ValueError(
            f"arrays on different devices: {owner} on {device}, {name} on {device_of(x)}; "
            "move them explicitly, randla never copies between devices silently"
        )


def _dtype_name(dtype: Any) -> str:
    return str(dtype).rsplit(".", 1)[-1]


def check_float(x: Any, name: str, *, allow_complex: bool = False) -> None:
    """Require a single- or double-precision floating dtype.

    Raises
    ------
    TypeError
        For integer, boolean, half precision (float16, bfloat16) and, unless
        ``allow_complex``, complex input.

    Examples
    --------
    >>> from randla.backend import check_float
    >>> check_float(np.ones(2, dtype=np.float32), "X")
    >>> check_float(np.ones(2, dtype=np.int64), "X")
    Traceback (most recent call last):
        ...
    TypeError: X must have dtype float32 or float64, got int64; convert it explicitly (half precision is not accurate enough for randomized estimators)
    """
    xp = array_namespace(x)
    allowed = [xp.float32, xp.float64]
    if allow_complex:
        allowed += [xp.complex64, xp.complex128]
    if x.dtype not in allowed:
        kinds = "float32 or float64" + (" (or complex64/complex128)" if allow_complex else "")
        raise TypeError(
            f"{name} must have dtype {kinds}, got {_dtype_name(x.dtype)}; "
            "convert it explicitly (half precision is not accurate enough for "
            "randomized estimators)"
        )


def check_finite(x: Any, name: str) -> None:
    """Raise ``ValueError`` if ``x`` holds NaN or infinity.

    Examples
    --------
    >>> from randla.backend import check_finite
    >>> check_finite(np.array([1.0, np.inf]), "x")
    Traceback (most recent call last):
        ...
    ValueError: x contains NaN or infinite values
    """
    xp = array_namespace(x)
    if not bool(xp.all(xp.isfinite(x))):
        raise ValueError(f"{name} contains NaN or infinite values")


def check_positive_int(value: Any, name: str, *, minimum: int = 1) -> int:
    """Return ``value`` as ``int`` after checking it is an integer ``>= minimum``.

    Accepts Python and NumPy integers; rejects ``bool``, floats and strings.

    Raises
    ------
    TypeError
        If ``value`` is not an integer.
    ValueError
        If ``value < minimum``.

    Examples
    --------
    >>> from randla.backend import check_positive_int
    >>> check_positive_int(np.int64(3), "num_probes"), check_positive_int(0, "oversample", minimum=0)
    (3, 0)
    """
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, got {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def check_square(shape: tuple[int, ...], name: str) -> int:
    """Return ``n`` for an ``n x n`` shape or raise ``ValueError``.

    Examples
    --------
    >>> from randla.backend import check_square
    >>> check_square((3, 3), "A")
    3
    """
    if len(shape) != 2 or shape[0] != shape[1]:
        raise ValueError(f"{name} must be a square matrix, got shape {tuple(shape)}")
    return int(shape[0])


def real_dtype(xp: Any, dtype: Any) -> Any:
    """The real dtype with the precision of ``dtype``.

    Examples
    --------
    >>> from randla.backend import real_dtype
    >>> real_dtype(np, np.complex64)
    <class 'numpy.float32'>
    """
    if dtype in (xp.complex64,):
        return xp.float32
    if dtype in (xp.complex128,):
        return xp.float64
    return dtype


def numpy_dtype(xp: Any, dtype: Any) -> np.dtype:
    """NumPy dtype with the same meaning as ``dtype`` of namespace ``xp``.

    Examples
    --------
    >>> from randla.backend import numpy_dtype
    >>> numpy_dtype(np, np.float32)
    dtype('float32')
    """
    for name in ("float32", "float64", "complex64", "complex128", "int64", "int32", "bool"):
        if hasattr(xp, name) and dtype == getattr(xp, name):
            return np.dtype(name)
    raise TypeError(f"unsupported dtype {dtype!r}")


def from_host(array: np.ndarray, xp: Any, *, dtype: Any, device: Any) -> Any:
    """Explicitly move a host (NumPy) array into namespace ``xp`` on ``device``.

    This is the one documented host-to-device transfer in randla: probe and
    sketch matrices are drawn on the host by default so that every backend sees
    the same numbers for the same seed.

    Examples
    --------
    >>> from randla.backend import from_host
    >>> from_host(np.arange(3), np, dtype=np.float64, device="cpu")
    array([0., 1., 2.])
    """
    if is_numpy(xp):
        return np.asarray(array, dtype=numpy_dtype(xp, dtype))
    if is_torch(xp):
        import torch

        host = np.ascontiguousarray(array)
        if not host.flags.writeable:  # torch warns on read-only buffers
            host = host.copy()
        return torch.as_tensor(host, dtype=dtype, device=device)
    if is_cupy(xp):
        import cupy

        with cupy.cuda.Device(device.id if hasattr(device, "id") else device):
            return cupy.asarray(array, dtype=dtype)
    return xp.asarray(np.asarray(array), dtype=dtype, device=device)


def to_host(x: Any) -> np.ndarray:
    """Explicit copy of ``x`` to a NumPy array (for plotting, reports, scipy).

    Examples
    --------
    >>> from randla.backend import to_host
    >>> to_host(np.ones(2))
    array([1., 1.])
    """
    xp = array_namespace(x)
    if is_numpy(xp):
        return np.asarray(x)
    if is_torch(xp):
        return x.detach().cpu().numpy()
    if is_cupy(xp):
        return x.get()
    return np.from_dlpack(x).copy()


def nbytes(x: Any) -> int:
    """Bytes held by array ``x`` (element count times item size).

    Examples
    --------
    >>> from randla.backend import nbytes
    >>> nbytes(np.ones((10, 10)))
    800
    """
    size = math.prod(x.shape)
    return int(size * np.dtype(numpy_dtype(array_namespace(x), x.dtype)).itemsize)


def to_scalar(x: Any) -> float:
    """Python ``float`` of a 0-d (or one-element) array, leaving autograd alone.

    A torch tensor that requires grad is detached first, so reading a number
    for a branch or a report neither warns nor cuts the caller's graph.

    Examples
    --------
    >>> from randla.backend import to_scalar
    >>> to_scalar(np.sum(np.ones(3)))
    3.0
    """
    detach = getattr(x, "detach", None)
    return float(detach() if detach is not None else x)
