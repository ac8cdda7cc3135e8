"""randla.apps.xconv: probed conv weight gradients vs torch's exact ones.

* ``WeightGrad``: time of torch's exact ``conv2d_weight`` next to the probed
  backward and the probed forward sketch (same tensors, same run);
* ``NumpyWeightGrad``: the pure array-API path on NumPy arrays;
* ``SavedMemory``: bytes kept for backward by 4 conv layers (the XConv slides'
  recipe, batch scaled down), exact vs probed;
* ``GradientError``: relative error of the probed gradient vs num_probes.

Under ``RANDLA_ASV_QUICK=1`` every size is tiny (CI only checks they run).
"""

import numpy as np

from ._common import size


def _torch():
    try:
        import torch
    except ImportError as exc:  # asv skips benchmarks whose setup raises this
        raise NotImplementedError("torch is not installed") from exc
    torch.set_num_threads(1)
    return torch


class WeightGrad:
    params = ([size(128, 16), size(512, 24)], [4, 32], [4, 16])
    param_names = ["image", "channels", "num_probes"]
    timeout = 300

    def setup(self, image, channels, num_probes):
        torch = _torch()
        from randla.apps.xconv import sketch_input

        batch = size(64, 2)
        if batch * channels * image * image * 4 > 2**30:
            raise NotImplementedError("skipped: more than 1 GiB per tensor")
        gen = torch.Generator().manual_seed(0)
        self.X = torch.randn(batch, channels, image, image, generator=gen)
        self.dY = torch.randn(batch, channels, image, image, generator=gen)
        self.sketch = sketch_input(self.X, num_probes, rng=0, native=True)

    def time_exact_conv2d_weight(self, image, channels, num_probes):
        import torch

        torch.nn.grad.conv2d_weight(self.X, (channels, channels, 3, 3), self.dY, padding=1)

    def time_probed_backward(self, image, channels, num_probes):
        from randla.apps.xconv import weight_grad

        weight_grad(self.sketch, self.dY, kernel_size=3, padding=1)

    def time_probed_sketch(self, image, channels, num_probes):
        from randla.apps.xconv import sketch_input

        sketch_input(self.X, num_probes, rng=0, native=True)


class NumpyWeightGrad:
    params = ([size(64, 12)], ["multi_channel", "per_channel"])
    param_names = ["image", "mode"]

    def setup(self, image, mode):
        from randla.apps.xconv import sketch_input

        rng = np.random.default_rng(0)
        batch = size(16, 2)
        self.X = rng.standard_normal((batch, 8, image, image))
        self.dY = rng.standard_normal((batch, 8, image, image))
        self.sketch = sketch_input(self.X, 8, mode=mode, rng=0)

    def time_exact(self, image, mode):
        from randla.apps.xconv import conv_weight_grad

        conv_weight_grad(self.X, self.dY, kernel_size=3, padding=1)

    def time_probed_backward(self, image, mode):
        from randla.apps.xconv import weight_grad

        weight_grad(self.sketch, self.dY, kernel_size=3, padding=1)


class SavedMemory:
    params = ([8, 64], ["multi_channel", "per_channel"])
    param_names = ["num_probes", "mode"]
    unit = "bytes"

    def setup(self, num_probes, mode):
        torch = _torch()
        torch.manual_seed(0)
        channels = 16
        self.net = torch.nn.Sequential(*[torch.nn.Conv2d(channels, channels, 3, padding=1,
                                                         bias=False) for _ in range(4)])
        self.x = torch.randn(size(8, 2), channels, size(256, 16), size(256, 16),
                             requires_grad=True)

    def _saved(self, net):
        from randla.apps.xconv import SavedTensorMeter

        with SavedTensorMeter(exclude=net.parameters()) as meter:
            net(self.x)
        return meter.nbytes

    def track_exact_saved_bytes(self, num_probes, mode):
        return self._saved(self.net)

    def track_probed_saved_bytes(self, num_probes, mode):
        import copy

        from randla.apps.xconv import convert_net

        net = copy.deepcopy(self.net)
        convert_net(net, num_probes, mode=mode, rng=0)
        return self._saved(net)


class GradientError:
    params = ([4, 16, 64], ["multi_channel", "per_channel"])
    param_names = ["num_probes", "mode"]
    unit = "relative error"

    def setup(self, num_probes, mode):
        from randla.apps.xconv import conv_weight_grad

        rng = np.random.default_rng(0)
        n = size(32, 8)
        # positive, smooth activations (post-ReLU like) and a structured output gradient
        base = np.abs(rng.standard_normal((1, 8, n, n))).cumsum(axis=3) / n
        self.X = base + 0.1 * rng.standard_normal((16, 8, n, n))
        self.dY = 0.5 + 0.1 * rng.standard_normal((16, 8, n, n))
        self.exact = conv_weight_grad(self.X, self.dY, kernel_size=3, padding=1)

    def track_relative_error(self, num_probes, mode):
        from randla.apps.xconv import sketch_input, weight_grad

        errors = [np.linalg.norm(weight_grad(sketch_input(self.X, num_probes, mode=mode, rng=s),
                                             self.dY, kernel_size=3, padding=1) - self.exact)
                  for s in range(8)]
        return float(np.sqrt(np.mean(np.square(errors))) / np.linalg.norm(self.exact))
