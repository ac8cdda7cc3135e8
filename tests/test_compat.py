import numpy as np
import pytest

from randla._compat import check_finite, check_float, from_host, namespace, to_host


def test_namespace_rejects_mixed_backends():
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="X is numpy.*Y is torch"):
        namespace(X=np.zeros(3), Y=torch.zeros(3))


def test_namespace_rejects_non_arrays():
    with pytest.raises(TypeError, match="X must be an array"):
        namespace(X=[1.0, 2.0])


def test_namespace_rejects_mixed_devices():
    xs = pytest.importorskip("array_api_strict")
    a = xs.asarray([1.0], device=xs.Device("CPU_DEVICE"))
    b = xs.asarray([1.0], device=xs.Device("device1"))
    with pytest.raises(ValueError, match="different devices"):
        namespace(A=a, B=b)


@pytest.mark.parametrize("dtype", ["int64", "float16", "bool"])
def test_check_float_rejects(dtype, xp, to_xp):
    x = xp.asarray(np.ones(3).astype(dtype)) if hasattr(xp, dtype) else None
    if x is None:
        pytest.skip(f"{dtype} not in namespace")
    with pytest.raises(TypeError, match="X must have dtype float32 or float64"):
        check_float(x, "X")


def test_check_finite(xp, to_xp):
    with pytest.raises(ValueError, match="A contains NaN"):
        check_finite(to_xp(np.array([1.0, np.nan])), "A")
    check_finite(to_xp(np.array([1.0, 2.0])), "A")


def test_round_trip(xp, device):
    a = np.arange(6.0).reshape(2, 3)
    b = from_host(a, xp, dtype=xp.float64, device=device)
    np.testing.assert_array_equal(to_host(b), a)
