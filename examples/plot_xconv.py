"""
Low-memory CNN training with probed weight gradients (XConv)
============================================================

A convolution layer must keep its input ``X`` for the weight gradient
``dW_k = tr(X dY^T T_{-k})``. XConv (Louboutin, Siahkoohi, Wang, Herrmann,
2021) keeps only a sketch ``Z^T X`` with a few random probes and a seed, and
estimates the gradient without bias:

.. math:: dW_k \\approx \\frac1r \\operatorname{tr}\\big((Z^T X)(dY^T T_{-k} Z)\\big).

Input and bias gradients stay exact. This example converts a small CNN,
measures the memory autograd keeps, the gradient error against the number of
probes ``r``, and trains on scikit-learn's digits with exact and probed
gradients.
"""

# %%
# Data and network
# ----------------
# The 8x8 digits are upsampled to 16x16 so the convolutions have a few hundred
# pixels to probe. The network is all-convolutional (strided convolutions
# instead of max-pooling): a max-pool keeps its input and indices for backward
# and would dominate the memory left after probing -- the network saving is
# only as good as its weakest link.
import copy

import matplotlib.pyplot as plt
import numpy as np
import torch
import torch.nn.functional as F
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
from torch import nn

from randla.apps.xconv import SavedTensorMeter, convert_net, sketch_input, weight_grad

torch.set_num_threads(1)
torch.manual_seed(0)  # the example's own initial weights

digits = load_digits()
images = torch.tensor(digits.images / 16.0, dtype=torch.float32)[:, None]
images = F.interpolate(images, size=(16, 16), mode="bilinear", align_corners=False)
images = (images - images.mean()) / images.std()
labels = torch.tensor(digits.target)
train_idx, test_idx = train_test_split(np.arange(len(labels)), test_size=0.25,
                                       random_state=0, stratify=digits.target)
x_train, y_train = images[train_idx], labels[train_idx]
x_test, y_test = images[test_idx], labels[test_idx]

model = nn.Sequential(
    nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
    nn.Conv2d(16, 32, 3, stride=2, padding=1), nn.ReLU(),
    nn.Conv2d(32, 32, 3, stride=2, padding=1), nn.ReLU(),
    nn.Flatten(), nn.Linear(32 * 4 * 4, 10),
)
initial = copy.deepcopy(model.state_dict())

# %%
# Convert the network
# -------------------
# :func:`~randla.apps.xconv.convert_net` changes every ``nn.Conv2d`` into an
# :class:`~randla.apps.xconv.XConv2d` in place (same parameters, so a
# ``state_dict`` or an optimizer keeps working) and, with ``relu=True``, every
# ``nn.ReLU`` into the 1-bit :class:`~randla.apps.xconv.BitReLU`. With an
# example batch it reports what each layer keeps for backward.
probed = copy.deepcopy(model)
report = convert_net(probed, 16, relu=True, rng=0, example_input=x_train[:64])
print(report)

# %%
# What autograd really keeps, measured with ``saved_tensors_hooks``
# (parameters excluded): the network input of every conv and every ReLU
# output for the exact model; sketches, seeds and bit masks for the probed one.
batch = x_train[:64]
measured = {}
for name, net in (("exact", model), ("probed r=16", probed)):
    with SavedTensorMeter(exclude=net.parameters()) as meter:
        F.cross_entropy(net(batch), y_train[:64])
    measured[name] = meter.nbytes
    print(f"{name:>12}: {meter.nbytes / 1024:8.1f} KiB saved for backward")

fig, ax = plt.subplots(figsize=(4.5, 3))
ax.bar(list(measured), [v / 1024 for v in measured.values()], color=["C0", "C1"])
ax.set_ylabel("KiB kept for backward (batch 64)")
ax.set_title(f"{measured['exact'] / measured['probed r=16']:.0f}x less activation memory")
fig.tight_layout()

# %%
# Gradient error against the number of probes
# --------------------------------------------
# For the second convolution (16 -> 32 channels, stride 2) record its input and output
# gradient on one batch, then compare the probed estimate with the exact
# gradient. The error falls like ``1/sqrt(r)``; ``per_channel`` keeps ``C``
# times more numbers than ``multi_channel`` and is ``sqrt(C)`` times more
# accurate at the same ``r``.
record = {}
conv = model[2]
hooks = [conv.register_forward_hook(lambda m, a, o: record.update(x=a[0].detach())),
         conv.register_full_backward_hook(lambda m, gi, go: record.update(dy=go[0].detach()))]
model.zero_grad()
F.cross_entropy(model(x_train[:128]), y_train[:128]).backward()
for h in hooks:
    h.remove()
exact = conv.weight.grad.detach().clone()

num_probes = [2, 4, 8, 16, 32, 64, 128]
fig, ax = plt.subplots(figsize=(5, 3.5))
for mode in ("multi_channel", "per_channel"):
    errors = []
    for r in num_probes:
        sq = [float((weight_grad(sketch_input(record["x"], r, mode=mode, rng=s, native=True),
                                 record["dy"], kernel_size=3, stride=2, padding=1)
                     - exact).norm() ** 2)
              for s in range(6)]
        errors.append(np.sqrt(np.mean(sq)) / float(exact.norm()))
    slope = np.polyfit(np.log(num_probes), np.log(errors), 1)[0]
    ax.loglog(num_probes, errors, "o-", label=f"{mode} (slope {slope:.2f})")
ref = errors[0] * np.sqrt(num_probes[0] / np.array(num_probes))
ax.loglog(num_probes, ref, "k--", label=r"$1/\sqrt{r}$")
ax.set_xlabel("num_probes r")
ax.set_ylabel("relative gradient error")
ax.legend()
fig.tight_layout()

# %%
# Training: exact vs probed gradients
# -----------------------------------
# Same initial weights, data order and epochs. The probed gradient is noisy
# per step but unbiased; Adam averages the noise over steps and the test
# accuracy ends up close to exact training.


def train(net, epochs=6, batch_size=32):
    optimizer = torch.optim.Adam(net.parameters(), lr=2e-3)
    order = np.random.default_rng(0)
    accuracy = []
    for _ in range(epochs):
        net.train()
        perm = torch.from_numpy(order.permutation(len(y_train)))
        for start in range(0, len(perm), batch_size):
            idx = perm[start:start + batch_size]
            optimizer.zero_grad()
            F.cross_entropy(net(x_train[idx]), y_train[idx]).backward()
            optimizer.step()
        net.eval()
        with torch.no_grad():
            accuracy.append(float((net(x_test).argmax(1) == y_test).float().mean()))
    return accuracy


curves = {}
for name, r in (("exact", 0), ("probed r=8", 8), ("probed r=32", 32)):
    net = copy.deepcopy(model)
    net.load_state_dict(initial)
    if r:
        convert_net(net, r, relu=True, rng=1)
    curves[name] = train(net)
    print(f"{name:>12}: test accuracy per epoch {np.round(curves[name], 4)}")

fig, ax = plt.subplots(figsize=(5, 3.5))
for name, acc in curves.items():
    ax.plot(range(1, len(acc) + 1), acc, "o-", label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("test accuracy")
ax.set_ylim(0.8, 1.0)
ax.legend()
fig.tight_layout()
plt.show()
