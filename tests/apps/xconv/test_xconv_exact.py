"""Exact weight gradient, geometry and argument checking (randla.apps.xconv)."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

from randla.backend import to_host
from randla.apps.xconv import (
    conv_geometry, conv_weight_grad, draw_conv_probes, probe_layout, sketch_input, weight_grad,
)
from randla.apps.xconv.exact import correlate

# (input shape, out channels, kernel, stride, padding, dilation, groups)
CONFIGS = [
    ((2, 3, 17), 4, 3, 2, 1, 1, 1),
    ((2, 4, 16), 2, 4, 1, "same", 2, 2),
    ((3, 2, 9, 7), 4, 3, 1, 1, 1, 2),
    ((2, 4, 10, 13), 6, (3, 2), (2, 3), (1, 0), (2, 1), 2),
    ((2, 3, 8, 6), 3, 2, 1, "same", 1, 3),
    ((1, 2, 7, 9), 2, 5, 3, "valid", 1, 1),
    ((2, 2, 5, 4, 6), 4, 3, (1, 2, 1), 1, (1, 1, 2), 2),
    ((1, 4, 6, 5, 4), 4, 2, 2, 1, 1, 4),
]


def _torch_grad(shape, cout, k, s, p, d, g, seed=0):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(seed)
    X = torch.tensor(rng.standard_normal(shape), requires_grad=True)
    dims = len(shape) - 2
    conv = {1: torch.nn.Conv1d, 2: torch.nn.Conv2d, 3: torch.nn.Conv3d}[dims](
        shape[1], cout, k, stride=s, padding=p, dilation=d, groups=g, bias=False,
        dtype=torch.float64)
    Y = conv(X)
    dY = torch.tensor(rng.standard_normal(tuple(Y.shape)))
    Y.backward(dY)
    return X.detach().numpy(), dY.numpy(), conv.weight.grad.numpy()


@pytest.mark.parametrize("config", CONFIGS)
def test_conv_weight_grad_matches_torch_autograd(xp, to_xp, config):
    X, dY, ref = _torch_grad(*config)
    _, _, k, s, p, d, g = config
    got = conv_weight_grad(to_xp(X), to_xp(dY), kernel_size=k, stride=s, padding=p,
                           dilation=d, groups=g)
    np.testing.assert_allclose(to_host(got), ref, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("config", CONFIGS)
def test_generic_and_native_torch_correlation_agree(config):
    torch = pytest.importorskip("torch")
    from array_api_compat import array_namespace

    X, dY, ref = _torch_grad(*config)
    _, _, k, s, p, d, g = config
    geom = conv_geometry(X.ndim - 2, k, stride=s, padding=p, dilation=d, groups=g)
    xp = array_namespace(torch.empty(0))
    Xt, dYt = torch.tensor(X), torch.tensor(dY)
    native = correlate(xp, Xt, dYt, geom, native=True)
    generic = correlate(xp, Xt, dYt, geom, native=False)
    np.testing.assert_allclose(native.numpy(), ref, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(generic.numpy(), ref, rtol=1e-10, atol=1e-12)


def test_torch_grad_helpers_match_functional():
    # torch.nn.grad.conv2d_weight is the same as autograd (our reference above)
    torch = pytest.importorskip("torch")
    X, dY, ref = _torch_grad((2, 3, 9, 8), 4, 3, 2, 1, 1, 1)
    got = torch.nn.grad.conv2d_weight(torch.tensor(X), (4, 3, 3, 3), torch.tensor(dY),
                                      stride=2, padding=1)
    np.testing.assert_allclose(got.numpy(), ref, rtol=1e-12)


def test_float32_input():
    rng = np.random.default_rng(0)
    X = rng.standard_normal((2, 2, 6, 6)).astype(np.float32)
    dY = rng.standard_normal((2, 3, 6, 6)).astype(np.float32)
    got = conv_weight_grad(X, dY, kernel_size=3, padding=1)
    assert got.dtype == np.float32
    ref = conv_weight_grad(X.astype(np.float64), dY.astype(np.float64), kernel_size=3, padding=1)
    np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def test_geometry_same_padding_is_torch_rule():
    g = conv_geometry(2, (4, 3), padding="same", dilation=(1, 3))
    assert g.pad_lo == (1, 3) and g.pad_hi == (2, 3)
    assert g.output_shape((9, 10)) == (9, 10)
    assert conv_geometry(1, 3, padding="valid").pad_lo == (0,)
    assert conv_geometry(2, 3, padding=((1, 2), (0, 1))).pad_hi == (2, 1)


@pytest.mark.parametrize("kwargs, error, match", [
    (dict(kernel_size=3, padding="same", stride=2), ValueError, "same"),
    (dict(kernel_size=3, padding="full"), ValueError, "padding"),
    (dict(kernel_size=0), ValueError, "kernel_size"),
    (dict(kernel_size=3, stride=0), ValueError, "stride"),
    (dict(kernel_size=3, padding=-1), ValueError, "padding"),
    (dict(kernel_size=(3, 3, 3)), ValueError, "kernel_size"),
    (dict(kernel_size=3, groups=0), ValueError, "groups"),
    (dict(kernel_size=3.0), ValueError, "kernel_size"),
    (dict(kernel_size=(3, 2.5)), TypeError, "kernel_size"),
])
def test_geometry_errors(kwargs, error, match):
    X = np.zeros((1, 2, 6, 6))
    dY = np.zeros((1, 2, 4, 4))
    with pytest.raises(error, match=match):
        conv_weight_grad(X, dY, **kwargs)


def test_shape_errors():
    X = np.zeros((2, 4, 6, 6))
    with pytest.raises(ValueError, match="batch"):
        conv_weight_grad(X, np.zeros((3, 2, 4, 4)), kernel_size=3)
    with pytest.raises(ValueError, match="does not match"):
        conv_weight_grad(X, np.zeros((2, 2, 5, 4)), kernel_size=3)
    with pytest.raises(ValueError, match="divisible by groups"):
        conv_weight_grad(X, np.zeros((2, 3, 4, 4)), kernel_size=3, groups=2)
    with pytest.raises(ValueError, match="smaller than the dilated kernel"):
        conv_weight_grad(X, np.zeros((2, 2, 1, 1)), kernel_size=3, dilation=3)
    with pytest.raises(ValueError, match="spatial"):
        conv_weight_grad(np.zeros((2, 4)), np.zeros((2, 4)), kernel_size=3)
    with pytest.raises(ValueError, match="axes"):
        conv_weight_grad(X, np.zeros((2, 2, 16)), kernel_size=3)
    with pytest.raises(ValueError, match="NaN"):
        conv_weight_grad(X + np.nan, np.zeros((2, 2, 4, 4)), kernel_size=3,
                         check_finite_values=True)


def test_dtype_and_backend_errors():
    X = np.zeros((1, 2, 6, 6))
    dY = np.zeros((1, 2, 4, 4))
    with pytest.raises(TypeError, match="dtype"):
        conv_weight_grad(X.astype(np.int64), dY, kernel_size=3)
    with pytest.raises(TypeError, match="dtype"):
        conv_weight_grad(X.astype(np.float16), dY, kernel_size=3)
    with pytest.raises(TypeError, match="share a dtype"):
        conv_weight_grad(X.astype(np.float32), dY, kernel_size=3)
    torch = pytest.importorskip("torch")
    with pytest.raises(TypeError, match="mixed array backends"):
        conv_weight_grad(X, torch.zeros(1, 2, 4, 4, dtype=torch.float64), kernel_size=3)
    sk = sketch_input(X, 2, rng=0)
    with pytest.raises(TypeError, match="mixed array backends"):
        weight_grad(sk, torch.zeros(1, 2, 4, 4, dtype=torch.float64), kernel_size=3)


def test_sketch_argument_errors():
    X = np.random.default_rng(0).standard_normal((2, 3, 4, 5))
    with pytest.raises(ValueError, match="num_probes must be >= 1"):
        sketch_input(X, 0)
    with pytest.raises(ValueError, match="num_probes must be >= 1"):
        sketch_input(X, -3)
    with pytest.raises(TypeError, match="num_probes"):
        sketch_input(X, 2.0)
    with pytest.raises(ValueError, match="mode"):
        sketch_input(X, 2, mode="all")
    with pytest.raises(ValueError, match="probe"):
        sketch_input(X, 2, probe="sparse_sign")
    with pytest.raises(ValueError, match="exceeds the 20 input pixels"):
        sketch_input(X, 21, probe="orthonormal", mode="per_channel")
    with pytest.raises(ValueError, match="exceeds"):
        sketch_input(X, 61, probe="orthonormal", mode="multi_channel")
    sketch_input(X, 60, probe="orthonormal", mode="multi_channel")  # 20 per channel is fine
    with pytest.raises(ValueError, match="rng seed"):
        sketch_input(X, 2, rng=-1)
    with pytest.raises(TypeError, match="InputSketch"):
        weight_grad(X, np.zeros((2, 3, 2, 3)), kernel_size=3)
    sk = sketch_input(X, 2, rng=0)
    with pytest.raises(ValueError, match="does not match"):
        weight_grad(sk, np.zeros((2, 3, 4, 5)), kernel_size=3)
    with pytest.raises(ValueError, match="batch"):
        weight_grad(sk, np.zeros((1, 3, 2, 3)), kernel_size=3)
    with pytest.raises(TypeError, match="share a dtype"):
        weight_grad(sk, np.zeros((2, 3, 2, 3), dtype=np.float32), kernel_size=3)


def test_layout_is_disjoint_and_scaled():
    lay = probe_layout("multi_channel", 10, 4, 50)
    assert lay.block_sizes == (2, 3, 2, 3)
    cols = lay.slot_columns()
    used = cols[cols >= 0]
    assert sorted(used.tolist()) == list(range(10))        # every column exactly once
    np.testing.assert_allclose(lay.slot_scales()[cols >= 0] ** 2 * np.repeat(
        lay.block_sizes, [(c >= 0).sum() for c in cols]), 10.0)
    shared = probe_layout("multi_channel", 3, 7, 50)
    assert shared.block_sizes == (1,) * 7 and shared.slots_per_column == 3
    per_col = np.bincount(shared.slot_columns()[:, 0], minlength=3)
    assert per_col.max() - per_col.min() <= 1              # balanced sharing
    # column view and slot view are inverse
    flat = shared.column_slots().reshape(-1)
    rows = shared.slot_rows().reshape(-1)
    for slot, row in enumerate(rows):
        if row < flat.size:
            assert flat[row] == slot


def test_draw_conv_probes_regenerates_the_layout(xp, device):
    """Same seed -> same probes (per backend); padding slots are zero; a channel
    block equals the channel's own draw from the same stream."""
    lay = probe_layout("multi_channel", 5, 2, 10)
    Z = to_host(draw_conv_probes(lay, "gaussian", 7, xp=xp, dtype=xp.float64, device=device))
    again = to_host(draw_conv_probes(lay, "gaussian", 7, xp=xp, dtype=xp.float64, device=device))
    np.testing.assert_array_equal(Z, again)
    assert Z.shape == (2, 3, 10)
    assert np.all(Z[0, 2] == 0) and np.all(Z[0, :2] != 0)     # block sizes (2, 3)
    # iid columns: one host draw of 2 * 3 columns cut into channel blocks
    host = np.random.default_rng(7).standard_normal((10, 6)).T.reshape(2, 3, 10)
    host[0, 2] = 0.0
    np.testing.assert_allclose(Z, host, rtol=0, atol=0)
    per = probe_layout("per_channel", 4, 3, 10)
    Zp = to_host(draw_conv_probes(per, "rademacher", 1, xp=xp, dtype=xp.float64, device=device))
    assert Zp.shape == (4, 10) and set(np.unique(Zp)) <= {-1.0, 1.0}


def test_probe_layout_and_draw_errors_name_the_argument():
    with pytest.raises(ValueError, match="num_channels must be >= 1"):
        probe_layout("per_channel", 2, 0, 10)
    with pytest.raises(ValueError, match="num_pixels must be >= 1"):
        probe_layout("per_channel", 2, 3, 0)
    with pytest.raises(TypeError, match="num_probes must be an integer"):
        probe_layout("per_channel", 2.5, 3, 10)
    lay = probe_layout("per_channel", 2, 3, 10)
    opts = dict(xp=np, dtype=np.float64, device="cpu")
    with pytest.raises(TypeError, match="layout must be a ProbeLayout"):
        draw_conv_probes(("per_channel", 2, 3, 10), "gaussian", 0, **opts)
    with pytest.raises(ValueError, match="probe must be one of"):
        draw_conv_probes(lay, "sparse_sign", 0, **opts)
    with pytest.raises(ValueError, match="seed must be >= 0"):
        draw_conv_probes(lay, "gaussian", -1, **opts)
    with pytest.raises(TypeError, match="seed must be an integer"):
        draw_conv_probes(lay, "gaussian", 1.5, **opts)


def _forward_from_taps(X, W, geom):
    """conv(X, W) built from the dense tap matrices of the test helpers (independent)."""
    from xconv_helpers import tap_matrices

    B, C = X.shape[:2]
    Co, G = W.shape[0], geom.groups
    S = tap_matrices(geom, X.shape[2:])                      # (K, N_out, N_in)
    Wf = W.reshape(Co, C // G, -1)
    Xf = X.reshape(B, G, C // G, -1)
    Y = np.zeros((B, Co, S.shape[1]))
    for o in range(Co):
        g = o // (Co // G)
        Y[:, o] = np.einsum("ck,kyn,bcn->by", Wf[o], S, Xf[:, g])
    return Y.reshape((B, Co) + geom.output_shape(X.shape[2:]))


@pytest.mark.parametrize("config", CONFIGS[::2])
def test_dot_product_and_taylor(config):
    # conv_weight_grad is the adjoint of W -> conv(X, W): <conv(X, W), dY> = <W, dW>
    shape, cout, k, s, p, d, g = config
    geom = conv_geometry(len(shape) - 2, k, stride=s, padding=p, dilation=d, groups=g)
    rng = np.random.default_rng(5)
    X = rng.standard_normal(shape)
    W = rng.standard_normal((cout, shape[1] // g) + geom.kernel_size)
    Y = _forward_from_taps(X, W, geom)
    dY = rng.standard_normal(Y.shape)
    kwargs = dict(kernel_size=k, stride=s, padding=p, dilation=d, groups=g)
    dW = conv_weight_grad(X, dY, **kwargs)
    lhs, rhs = float(np.sum(Y * dY)), float(np.sum(W * dW))
    assert abs(lhs - rhs) <= 1e-12 * (abs(lhs) + np.linalg.norm(Y) * np.linalg.norm(dY))
    # Taylor test of L(W) = |conv(X, W) - T|^2 / 2 with dL/dW = conv_weight_grad(X, residual):
    # the first-order remainder is O(h^2) (halving h divides it by 4)
    T = rng.standard_normal(Y.shape)
    V = rng.standard_normal(W.shape)

    def loss(w):
        return 0.5 * float(np.sum((_forward_from_taps(X, w, geom) - T) ** 2))

    grad = conv_weight_grad(X, Y - T, **kwargs)
    remainders = [abs(loss(W + h * V) - loss(W) - h * float(np.sum(grad * V)))
                  for h in (1e-2, 5e-3, 2.5e-3)]
    ratios = np.array(remainders[:-1]) / np.array(remainders[1:])
    np.testing.assert_allclose(ratios, 4.0, rtol=0.05)


@pytest.mark.parametrize("bad", [np.nan, np.inf])
def test_non_finite_values_are_rejected_naming_the_argument(xp, to_xp, bad):
    rng = np.random.default_rng(0)
    X, dY = rng.standard_normal((2, 3, 5, 4)), rng.standard_normal((2, 2, 5, 4))
    Xbad, dYbad = X.copy(), dY.copy()
    Xbad[1, 2, 3, 0] = bad
    dYbad[0, 1, 0, 2] = bad
    with pytest.raises(ValueError, match="X contains NaN or infinite"):
        sketch_input(to_xp(Xbad), 2, rng=0)
    sketch = sketch_input(to_xp(X), 2, rng=0)
    with pytest.raises(ValueError, match="grad_output contains NaN or infinite"):
        weight_grad(sketch, to_xp(dYbad), kernel_size=3, padding=1)
