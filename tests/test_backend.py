import numpy as np
import pytest

import randla.backend
from randla.backend import (
    check_finite,
    check_float,
    check_positive_int,
    from_host,
    namespace,
    to_host,
)


def test_namespace_rejects_mixed_backends(torch):
    with pytest.raises(TypeError, match="X is numpy.*Y is torch"):
        namespace(X=np.zeros(3), Y=torch.zeros(3))


def test_namespace_rejects_non_arrays():
    with pytest.raises(TypeError, match="X must be an array"):
        namespace(X=[1.0, 2.0])


def test_namespace_rejects_mixed_devices(xs):
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


def test_backend_all_is_sorted_and_resolves():
    names = randla.backend.__all__
    assert list(names) == sorted(names)
    missing = [n for n in names if not hasattr(randla.backend, n)]
    assert missing == []


@pytest.mark.parametrize("value", [1, 7, np.int64(3), np.int32(12)])
def test_check_positive_int_accepts_integers(value):
    out = check_positive_int(value, "num_probes")
    assert type(out) is int and out == int(value)


@pytest.mark.parametrize("value", [True, 2.0, "3", None, np.float64(2)])
def test_check_positive_int_rejects_non_integers(value):
    with pytest.raises(TypeError, match="num_probes must be an integer"):
        check_positive_int(value, "num_probes")


def test_check_positive_int_minimum():
    with pytest.raises(ValueError, match="rank must be >= 1, got 0"):
        check_positive_int(0, "rank")
    assert check_positive_int(0, "oversample", minimum=0) == 0
    with pytest.raises(ValueError, match="oversample must be >= 0, got -1"):
        check_positive_int(-1, "oversample", minimum=0)
