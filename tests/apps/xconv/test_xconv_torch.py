"""The torch layers XConv1d/2d/3d (randla.apps.xconv.torch)."""

from __future__ import annotations

import copy

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402
from torch.utils.checkpoint import checkpoint  # noqa: E402

from randla.apps.xconv import (  # noqa: E402
    XConv1d, XConv2d, XConv3d, conv_weight_grad, sketch_input, weight_grad,
)

pytestmark = pytest.mark.filterwarnings("ignore:Using padding='same':UserWarning")

LAYERS = {1: (nn.Conv1d, XConv1d), 2: (nn.Conv2d, XConv2d), 3: (nn.Conv3d, XConv3d)}
# (dims, in, out, kernel, stride, padding, dilation, groups, input spatial)
CONFIGS = [
    (1, 4, 6, 3, 2, 1, 1, 2, (19,)),
    (2, 3, 5, 3, 1, 1, 1, 1, (9, 7)),
    (2, 4, 4, 4, 1, "same", 2, 2, (8, 11)),
    (2, 2, 6, (3, 2), (2, 1), (0, 1), (1, 2), 2, (10, 9)),
    (3, 2, 4, 3, (1, 2, 1), 1, 1, 1, (5, 6, 4)),
]


def _pair(config, *, num_probes=4, mode="multi_channel", probe="gaussian", bias=True,
          dtype=torch.float64, native=True):
    dims, cin, cout, k, s, p, d, g, spatial = config
    base, probed = LAYERS[dims]
    torch.manual_seed(0)  # test-side initialisation only
    conv = base(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias, dtype=dtype)
    xconv = probed(cin, cout, k, stride=s, padding=p, dilation=d, groups=g, bias=bias,
                   dtype=dtype, num_probes=num_probes, mode=mode, probe=probe, native=native,
                   rng=3)
    xconv.load_state_dict(conv.state_dict())
    x = torch.tensor(np.random.default_rng(1).standard_normal((3, cin) + spatial), dtype=dtype)
    return conv, xconv, x


def _run(layer, x, dy=None):
    x = x.clone().requires_grad_()
    y = layer(x)
    if dy is None:
        dy = torch.tensor(np.random.default_rng(2).standard_normal(tuple(y.shape)), dtype=y.dtype)
    y.backward(dy)
    return y.detach(), x.grad, dy


@pytest.mark.parametrize("mode", ["multi_channel", "per_channel"])
@pytest.mark.parametrize("config", CONFIGS)
def test_forward_input_and_bias_gradients_equal_conv(config, mode):
    conv, xconv, x = _pair(config, mode=mode)
    y_ref, dx_ref, dy = _run(conv, x)
    y, dx, _ = _run(xconv, x, dy)
    torch.testing.assert_close(y, y_ref, rtol=0, atol=0)
    torch.testing.assert_close(dx, dx_ref, rtol=1e-12, atol=1e-12)
    torch.testing.assert_close(xconv.bias.grad, conv.bias.grad, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("native", [True, False])
@pytest.mark.parametrize("mode", ["multi_channel", "per_channel", "dense"])
@pytest.mark.parametrize("config", CONFIGS)
def test_weight_gradient_is_array_api_estimate_for_the_same_seed(config, mode, native):
    conv, xconv, x = _pair(config, mode=mode, native=native)
    seed = xconv.probe_seed
    _, _, dy = _run(xconv, x)
    dims, cin, cout, k, s, p, d, g, spatial = config
    geo = dict(kernel_size=k, stride=s, padding=p, dilation=d, groups=g)
    expected = weight_grad(sketch_input(x, 4, mode=mode, rng=seed, native=native), dy, **geo)
    torch.testing.assert_close(xconv.weight.grad, expected, rtol=1e-12, atol=1e-12)
    # and the host-drawn probes give the same estimate on NumPy
    if not native:
        host = weight_grad(sketch_input(x.numpy(), 4, mode=mode, rng=seed), dy.numpy(), **geo)
        np.testing.assert_allclose(xconv.weight.grad.numpy(), host, rtol=1e-10, atol=1e-12)
    assert xconv.probe_seed != seed  # the next step draws new probes


@pytest.mark.parametrize("config", CONFIGS)
def test_exact_path_matches_conv_and_passes_gradcheck(config):
    conv, xconv, x = _pair(config, num_probes=0)
    _run(conv, x)
    _run(xconv, x)
    torch.testing.assert_close(xconv.weight.grad, conv.weight.grad, rtol=1e-12, atol=1e-12)
    # gradcheck differentiates numerically: one sample on a small crop keeps it fast
    crop = (slice(0, 1), slice(None)) + tuple(slice(0, min(n, 7)) for n in x.shape[2:])
    small = x[crop].clone().requires_grad_()
    weight = xconv.weight.detach().clone().requires_grad_()
    bias = xconv.bias.detach().clone().requires_grad_()
    plan = xconv._plan(small)
    from randla.apps.xconv.torch import probed_conv

    assert torch.autograd.gradcheck(lambda a, w, b: probed_conv(a, w, b, plan),
                                    (small, weight, bias), eps=1e-6, atol=1e-7)


def _saved(fn):
    saved = []

    def pack(t):
        saved.append(t)
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn()
    return saved, out


@pytest.mark.parametrize("mode, shape", [("multi_channel", (3, 8)), ("per_channel", (3, 4, 8))])
def test_saves_only_the_sketch_and_the_seed(mode, shape):
    layer = XConv2d(4, 6, 3, padding=1, num_probes=8, mode=mode, rng=0)
    x = torch.randn(3, 4, 16, 16, requires_grad=True)
    seed = layer.probe_seed
    saved, y = _saved(lambda: layer(x))
    assert len(saved) == 2
    sketch, seed_tensor = saved
    assert tuple(sketch.shape) == shape and sketch.dtype == torch.float32
    assert seed_tensor.dtype == torch.int64 and seed_tensor.numel() == 1
    assert int(seed_tensor) == seed
    y.sum().backward()  # the saved pair suffices for backward
    assert layer.weight.grad is not None
    # for contrast: torch's Conv2d keeps the input (and the weight)
    conv = nn.Conv2d(4, 6, 3, padding=1)
    saved_conv, _ = _saved(lambda: conv(x))
    assert any(t.shape == x.shape for t in saved_conv)


def test_exact_fallbacks_save_the_input_or_nothing():
    x = torch.randn(2, 3, 4, 4, requires_grad=True)
    exact = XConv2d(3, 3, 3, padding=1, num_probes=0)
    saved, _ = _saved(lambda: exact(x))
    assert len(saved) == 1 and saved[0].shape == x.shape
    # 16 pixels per channel: 16 per-channel probes would not save memory
    auto = XConv2d(3, 3, 3, padding=1, num_probes=16, mode="per_channel")
    saved, _ = _saved(lambda: auto(x))
    assert len(saved) == 1 and saved[0].shape == x.shape
    frozen = XConv2d(3, 3, 3, padding=1, num_probes=2)
    frozen.weight.requires_grad_(False)
    seed = frozen.probe_seed
    saved, y = _saved(lambda: frozen(x))
    assert saved == []
    y.sum().backward()
    assert x.grad is not None and frozen.probe_seed == seed
    with torch.no_grad():
        saved, _ = _saved(lambda: exact(x))
    assert saved == []


@pytest.mark.parametrize("use_reentrant", [False, True])
def test_activation_checkpointing_gives_the_same_gradient(use_reentrant):
    net = nn.Sequential(XConv2d(3, 8, 3, padding=1, num_probes=4, rng=1), nn.ReLU(),
                        XConv2d(8, 8, 3, padding=1, num_probes=4, rng=2), nn.ReLU(),
                        XConv2d(8, 2, 3, stride=2, num_probes=4, rng=3))
    net_ckpt = copy.deepcopy(net)  # same weights, same seed generators
    x = torch.randn(2, 3, 12, 12, requires_grad=True)
    net(x).square().sum().backward()
    x2 = x.detach().clone().requires_grad_()
    out = checkpoint(net_ckpt, x2, use_reentrant=use_reentrant)
    out.square().sum().backward()
    for a, b in zip(net.parameters(), net_ckpt.parameters()):
        torch.testing.assert_close(a.grad, b.grad, rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(x.grad, x2.grad)
    for a, b in zip(net, net_ckpt):
        if isinstance(a, XConv2d):
            assert a.probe_seed == b.probe_seed


def test_state_dict_round_trip_with_conv():
    conv = nn.Conv2d(3, 4, 3, padding=1)
    xconv = XConv2d(3, 4, 3, padding=1, num_probes=4)
    assert list(xconv.state_dict()) == list(conv.state_dict())
    xconv.load_state_dict(conv.state_dict())
    back = nn.Conv2d(3, 4, 3, padding=1)
    back.load_state_dict(xconv.state_dict())
    torch.testing.assert_close(back.weight, conv.weight)
    assert isinstance(xconv, nn.Conv2d)
    assert [n for n, _ in xconv.named_parameters()] == ["weight", "bias"]
    assert "num_probes=4" in repr(xconv)


def test_autocast_keeps_a_float32_sketch():
    layer = XConv2d(4, 4, 3, padding=1, num_probes=8, rng=0)
    conv = nn.Conv2d(4, 4, 3, padding=1)
    conv.load_state_dict(layer.state_dict())
    x = torch.randn(2, 4, 10, 10)
    seed = layer.probe_seed
    with torch.autocast("cpu", dtype=torch.bfloat16):
        saved, y = _saved(lambda: layer(x.requires_grad_()))
        y_ref = conv(x)
    assert y.dtype == torch.bfloat16 == y_ref.dtype
    torch.testing.assert_close(y, y_ref)
    assert saved[0].dtype == torch.float32
    torch.testing.assert_close(saved[0], sketch_input(x.detach(), 8, rng=seed, native=True).values)
    dy = torch.randn(y.shape).to(torch.bfloat16)
    y.backward(dy)
    assert layer.weight.grad.dtype == torch.float32
    expected = weight_grad(sketch_input(x.detach(), 8, rng=seed, native=True), dy.float(),
                           kernel_size=3, padding=1)
    torch.testing.assert_close(layer.weight.grad, expected, rtol=1e-5, atol=1e-5)


def test_unbatched_input_and_1d_3d_shapes():
    layer = XConv1d(2, 3, 3, num_probes=2, rng=0)
    x = torch.randn(2, 10, requires_grad=True)
    y = layer(x)
    assert y.shape == (3, 8)
    y.sum().backward()
    assert layer.weight.grad.shape == layer.weight.shape
    layer3 = XConv3d(2, 2, 2, num_probes=3, rng=0)
    y3 = layer3(torch.randn(1, 2, 4, 4, 4, requires_grad=True))
    y3.sum().backward()
    assert layer3.weight.grad.shape == (2, 2, 2, 2, 2)


def test_seeds_are_reproducible_and_private():
    a = XConv2d(2, 2, 3, num_probes=2, rng=7)
    b = XConv2d(2, 2, 3, num_probes=2, rng=7)
    assert a.probe_seed == b.probe_seed
    x = torch.randn(1, 2, 6, 6, requires_grad=True)
    state = np.random.get_state()[1][:4].copy()
    torch_state = torch.get_rng_state()
    a(x).sum().backward()
    assert np.array_equal(np.random.get_state()[1][:4], state)   # no global numpy state used
    assert torch.equal(torch.get_rng_state(), torch_state)       # nor torch's
    assert a.probe_seed != b.probe_seed


def test_weight_modified_in_place_is_an_error():
    layer = XConv2d(2, 2, 3, num_probes=2, rng=0)
    y = layer(torch.randn(1, 2, 6, 6))
    with torch.no_grad():
        layer.weight.mul_(2)
    with pytest.raises(RuntimeError, match="modified in place"):
        y.sum().backward()


def test_constructor_and_forward_errors():
    with pytest.raises(ValueError, match="padding_mode"):
        XConv2d(2, 2, 3, padding_mode="reflect")
    with pytest.raises(ValueError, match="num_probes must be >= 0"):
        XConv2d(2, 2, 3, num_probes=-1)
    with pytest.raises(TypeError, match="num_probes"):
        XConv2d(2, 2, 3, num_probes=2.5)
    with pytest.raises(ValueError, match="probe"):
        XConv2d(2, 2, 3, probe="dft")
    with pytest.raises(ValueError, match="mode"):
        XConv2d(2, 2, 3, mode="all")
    layer = XConv2d(2, 2, 3, num_probes=40, probe="orthonormal", mode="per_channel",
                    auto_exact=False)
    with pytest.raises(ValueError, match="exceeds the 36 input pixels"):
        layer(torch.randn(1, 2, 6, 6, requires_grad=True))
    with pytest.raises(ValueError, match="spatial axes"):
        XConv2d(2, 2, 3)(torch.randn(1, 1, 2, 6, 6))
    with pytest.raises(TypeError, match="Conv2d"):
        XConv2d.from_conv(nn.Conv1d(2, 2, 3))
    with pytest.raises(ValueError, match="padding_mode"):
        XConv2d.from_conv(nn.Conv2d(2, 2, 3, padding=1, padding_mode="circular"))


@pytest.mark.parametrize("bad", [float("nan"), float("inf")])
def test_non_finite_input_is_rejected_naming_it(bad):
    layer = XConv2d(2, 3, 3, padding=1, num_probes=2, rng=0)
    x = torch.randn(2, 2, 6, 6)
    x[1, 0, 2, 3] = bad
    with pytest.raises(ValueError, match="input contains NaN or infinite"):
        layer(x)
