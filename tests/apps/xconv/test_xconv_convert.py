"""convert_net, the 1-bit ReLU and SavedTensorMeter (randla.apps.xconv)."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")

from torch import nn  # noqa: E402

from randla.apps.xconv import (  # noqa: E402
    BitReLU, SavedTensorMeter, XConv1d, XConv2d, XConv3d, bit_relu, convert_net,
)
from randla.apps.xconv.relu import pack_bits, unpack_bits  # noqa: E402


class _Custom(nn.Conv2d):
    pass


def _net():
    torch.manual_seed(0)  # test-side initialisation only
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1, bias=False), nn.ReLU(),
        nn.Conv2d(16, 16, 3, stride=2, padding=1, groups=2), nn.ReLU(inplace=True),
        nn.Conv2d(16, 8, 3, padding=1, padding_mode="reflect"), nn.ReLU(),
        _Custom(8, 8, 1),
        nn.Conv2d(8, 4, 1),
    )


def test_convert_keeps_everything_and_reports_bytes():
    net = _net().double()
    net.eval()
    conv0 = net[0]
    weight_id = id(net[2].weight)
    calls = []
    net[2].register_forward_hook(lambda *a: calls.append(1))
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    x = torch.randn(4, 3, 16, 16, dtype=torch.float64)
    with torch.no_grad():
        before = net(x)
    report = convert_net(net, 8, relu=True, rng=0, example_input=x)
    assert type(net[0]) is XConv2d and net[0] is conv0
    assert type(net[2]) is XConv2d and id(net[2].weight) == weight_id
    assert net[2].stride == (2, 2) and net[2].groups == 2 and net[2].padding == (1, 1)
    assert net[0].weight.dtype == torch.float64 and not net.training
    assert type(net[4]) is nn.Conv2d                   # reflect padding stays
    assert type(net[6]) is _Custom                     # subclasses are not touched
    assert type(net[1]) is BitReLU and net[3].inplace
    with torch.no_grad():
        torch.testing.assert_close(net(x), before)     # same function
    assert calls                                       # hooks survive
    # the last 1x1 conv sees 8x8 pixels and 8 channels: multi-channel r=8 saves memory
    by_name = {layer.name: layer for layer in report.layers}
    assert by_name["0"].converted and by_name["0"].input_shape == (4, 3, 16, 16)
    assert by_name["0"].exact_bytes == 4 * 3 * 16 * 16 * 8
    assert by_name["0"].probed_bytes == 4 * 8 * 8 + 8   # float64 sketch + seed
    assert not by_name["4"].converted and "reflect" in by_name["4"].reason
    assert not by_name["6"].converted
    assert by_name["1"].probed_bytes == 4 * 16 * 16 * 16 // 8
    assert report.saved_bytes == sum(layer.saved_bytes for layer in report.layers) > 0
    assert f"stored for backward: before {report.measured_before / 2**20:.3f} MiB, after" in str(report)
    assert str(report).endswith("MiB (measured)")
    # the optimizer still drives the converted parameters
    net.train()
    net(x).sum().backward()
    w = net[2].weight.detach().clone()
    optimizer.step()
    assert not torch.equal(w, net[2].weight)


def test_convert_leaves_layers_exact_when_probing_saves_nothing():
    net = nn.Sequential(nn.Conv2d(4, 4, 3, padding=1), nn.Conv2d(4, 4, 1))
    x = torch.randn(2, 4, 3, 3)                          # 9 pixels
    report = convert_net(net, 9, mode="per_channel", example_input=x)  # sketch = input + seed
    assert report.converted == []
    assert all(layer.reason == "probing would not save memory" for layer in report.layers)
    assert report.saved_bytes == 0
    report = convert_net(net, 4, probe="orthonormal", mode="multi_channel", example_input=x)
    assert report.converted == ["0", "1"]
    # more orthonormal columns per channel than pixels never saves memory either
    net2 = nn.Sequential(nn.Conv2d(1, 1, 3, padding=1))
    report = convert_net(net2, 10, probe="orthonormal", example_input=torch.randn(2, 1, 3, 3))
    assert not report.layers[0].converted
    assert type(net2[0]) is nn.Conv2d


def test_convert_without_example_and_other_dimensions():
    net = nn.Sequential(nn.Conv1d(2, 2, 3), nn.Conv3d(2, 2, 3), XConv2d(2, 2, 3))
    report = convert_net(net, 4, mode="per_channel", probe="rademacher", rng=1)
    assert type(net[0]) is XConv1d and type(net[1]) is XConv3d
    assert report.converted == ["0", "1"]
    assert report.layers[0].exact_bytes is None and report.saved_bytes == 0
    assert report.layers[2].reason == "already probed"
    assert net[0].mode == "per_channel" and net[1].probe == "rademacher"
    root = nn.Conv2d(2, 2, 3)
    convert_net(root, 2)
    assert type(root) is XConv2d


def test_convert_errors():
    with pytest.raises(TypeError, match="Module"):
        convert_net(lambda x: x, 4)
    with pytest.raises(ValueError, match="num_probes"):
        convert_net(nn.Conv2d(1, 1, 1), -2)
    with pytest.raises(ValueError, match="mode"):
        convert_net(nn.Conv2d(1, 1, 1), 2, mode="all")


def test_converted_network_saves_little_for_backward():
    net = nn.Sequential(*[m for _ in range(4) for m in (nn.Conv2d(8, 8, 3, padding=1), nn.ReLU())])
    x = torch.randn(4, 8, 32, 32, requires_grad=True)
    with SavedTensorMeter(exclude=net.parameters()) as exact:
        net(x)
    convert_net(net, 8, relu=True, rng=0)
    with SavedTensorMeter(exclude=net.parameters()) as probed:
        net(x)
    act = 4 * 8 * 32 * 32 * 4
    # exact: x plus three conv inputs that are also the ReLU outputs, plus the last ReLU output
    assert exact.nbytes == act + 4 * act
    # probed: 4 sketches (4 x 8 floats) + 4 seeds + 4 bit masks
    assert probed.nbytes == 4 * (4 * 8 * 4 + 8) + 4 * (act // 4 // 8)
    assert len(probed.records) == 12


@pytest.mark.parametrize("inplace", [False, True])
def test_bit_relu_equals_relu(inplace):
    x = torch.randn(3, 5, 7, dtype=torch.float64)
    x[0, 0, :3] = 0.0                                    # ties at zero
    a = x.clone().requires_grad_()
    b = x.clone().requires_grad_()
    ya = nn.ReLU(inplace=inplace)(a * 1.0)
    yb = BitReLU(inplace=inplace)(b * 1.0)
    torch.testing.assert_close(ya, yb, rtol=0, atol=0)
    g = torch.randn_like(ya)
    ya.backward(g)
    yb.backward(g)
    torch.testing.assert_close(a.grad, b.grad, rtol=0, atol=0)


def test_bit_relu_saves_one_bit_per_element():
    x = torch.randn(4, 3, 10, 10, requires_grad=True)
    with SavedTensorMeter() as meter:
        bit_relu(x * 2)
    assert meter.records == [((150,), torch.uint8, 150)]   # 1200 elements / 8
    with torch.no_grad():
        with SavedTensorMeter() as meter:
            bit_relu(x)
    assert meter.records == []


@pytest.mark.parametrize("numel", [1, 7, 8, 9, 64, 1001])
def test_pack_bits_round_trip(numel):
    mask = torch.rand(numel, generator=torch.Generator().manual_seed(numel)) > 0.5
    packed = pack_bits(mask)
    assert packed.dtype == torch.uint8 and packed.numel() == -(-numel // 8)
    assert torch.equal(unpack_bits(packed, mask.shape), mask)


def test_bit_relu_rejects_non_tensors():
    with pytest.raises(TypeError, match="input must be a torch.Tensor"):
        bit_relu([1.0, -1.0])


def test_convert_summary_measures_shared_storages_once():
    """conv -> ReLU -> conv: the ReLU output is saved by the ReLU and by the second
    conv; the measured total counts it once, the per-layer sum twice."""
    net = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.ReLU(), nn.Conv2d(8, 8, 3, padding=1))
    x = torch.randn(2, 3, 16, 16)
    with SavedTensorMeter(exclude=net.parameters()) as meter:
        net(x)
    per_layer = (2 * 3 * 16 * 16 + 2 * 8 * 16 * 16 + 2 * 8 * 16 * 16) * 4
    assert meter.nbytes < per_layer
    report = convert_net(net, 4, rng=0, example_input=x)
    assert report.measured_before == meter.nbytes
    with SavedTensorMeter(exclude=net.parameters()) as after:
        net(x)
    assert report.measured_after == after.nbytes < report.measured_before
    assert "(measured)" in str(report)
    assert "not measured" in str(convert_net(nn.Sequential(nn.Conv2d(1, 1, 3)), 2))
