"""Probed convolution weight gradients on any array-API array (XConv).

Forward: store ``Xs = Z^T X`` (a few numbers per sample) and a seed instead of
the layer input ``X``. Backward: regenerate ``Z`` from the seed and estimate

.. math:: dW_k \\approx \\frac1r \\operatorname{tr}\\big((Z^T X)(dY^T S_k Z)\\big)

for every kernel tap ``k``, where ``S_k`` is the strided, dilated, zero-padded
gather of tap ``k`` (a shift ``T_{-k}`` in the paper's stride-1 notation). The
estimate is unbiased for every stride, padding, dilation and groups value; the
estimators and their variances are derived in :mod:`randla.apps.xconv.probes`.

Cost of the backward pass (``B`` batch, ``C``/``C_o`` channels, ``K`` taps,
``N_o`` output pixels) against the exact ``B C C_o K N_o``:

* ``per_channel``: ``B C_o r K N_o`` (correlate ``dY`` with the probes) +
  ``B C C_o r K`` -- a win when ``r < C``;
* ``multi_channel``: ``r B C_o N_o`` (``H = Xs^T dY``) + ``max(r, C) C_o K N_o``
  (correlate ``H`` with the probes) -- a win when ``r < C K`` and ``r << B``.

Both phases are the core's shift-probe primitives: :func:`randla.sketch_grid`
forward, :func:`randla.shift_correlate` (a Numba kernel on host arrays, NumPy
and CPU torch alike; numba.cuda on CUDA arrays) and
:func:`randla.shift_trace_from_sketch` backward.

References
----------
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021).
"""

from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any

import numpy as np

from randla.backend import (
    check_float, check_positive_int, device_of, from_host, namespace, nbytes,
)
from randla.random import seed_from
from randla.shift import kernel_offsets, shift_correlate, shift_trace_from_sketch, sketch_grid

from .exact import check_conv_input, check_conv_pair, check_finite_sum
from .geometry import ConvGeometry, conv_geometry
from .probes import ProbeLayout, draw_conv_probes, probe_layout

__all__ = ["InputSketch", "sketch_input", "weight_grad"]


@dataclasses.dataclass(frozen=True)
class InputSketch:
    """What a probed convolution keeps of its input between forward and backward.

    Attributes
    ----------
    values : array
        ``Z^T X``: shape ``(batch, channels, num_probes)`` for
        ``mode="per_channel"``, ``(batch, num_probes)`` for ``"multi_channel"``.
    seed : int
        Regenerates the probes ``Z`` (:func:`~randla.apps.xconv.probes.draw_conv_probes`).
    num_probes : int
    probe : str
    mode : str
    input_shape : tuple of int
        ``(batch, channels, *spatial)`` of the sketched input.
    native : bool
        Probes drawn with the backend's own generator (see :mod:`randla.random`).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.xconv import sketch_input
    >>> s = sketch_input(np.ones((4, 3, 8, 8)), 6, mode="per_channel", rng=2)
    >>> s.values.shape, s.seed, s.layout.block_sizes, s.nbytes
    ((4, 3, 6), 2, (6, 6, 6), 576)
    """

    values: Any
    seed: int
    num_probes: int
    probe: str
    mode: str
    input_shape: tuple[int, ...]
    native: bool = False

    @property
    def layout(self) -> ProbeLayout:
        """The :class:`~randla.apps.xconv.probes.ProbeLayout` of the probes."""
        return probe_layout(self.mode, self.num_probes, self.input_shape[1],
                            math.prod(self.input_shape[2:]), probe=self.probe)

    @property
    def nbytes(self) -> int:
        """Bytes of :attr:`values` (the seed adds 8)."""
        return nbytes(self.values)


def _seed(rng: Any) -> int:
    if isinstance(rng, numbers.Integral) and not isinstance(rng, bool):
        return check_positive_int(rng, "rng seed", minimum=0)
    return seed_from(rng)


def _probes(xp: Any, layout: ProbeLayout, probe: str, seed: int, native: bool, dtype: Any,
            device: Any) -> Any:
    """The probes as :mod:`randla.shift` takes them: ``(N, r)`` shared by all
    channels (``per_channel``) or ``(C, N, m)`` one block per channel."""
    Z = draw_conv_probes(layout, probe, seed, xp=xp, dtype=dtype, device=device, native=native)
    if layout.mode == "per_channel":
        return xp.permute_dims(Z, (1, 0))
    if layout.mode == "dense":
        return Z                                    # (r, C, N), rearranged by the caller
    return xp.permute_dims(Z, (0, 2, 1))


def _sketch_body(xp: Any, X: Any, layout: ProbeLayout, probe: str, seed: int,
                 native: bool) -> Any:
    batch = X.shape[0]
    dev = device_of(X)
    Z = _probes(xp, layout, probe, seed, native, X.dtype, dev)
    if layout.mode == "dense":  # the joint (channel, pixel) space is the grid
        joint = layout.num_channels * layout.num_pixels
        Zj = xp.permute_dims(xp.reshape(Z, (layout.num_probes, joint)), (1, 0))
        return sketch_grid(xp.reshape(X, (batch, joint)), Zj, grid_ndim=1, check_finite=False)
    proj = sketch_grid(X, Z, grid_ndim=X.ndim - 2, check_finite=False)  # (B, C, r or m)
    if layout.mode == "per_channel":
        return proj
    # multi_channel: scale each channel's block and place it in its sketch columns
    r, cols = layout.num_probes, layout.slots_per_column
    proj = xp.reshape(proj, (batch, layout.num_channels * layout.slots_per_channel))
    scales = from_host(layout.slot_scales().reshape(-1), xp, dtype=X.dtype, device=dev)
    proj = xp.concat([proj * scales, xp.zeros((batch, 1), dtype=X.dtype, device=dev)], axis=1)
    index = from_host(layout.column_slots().reshape(-1), xp, dtype=xp.int64, device=dev)
    gathered = xp.take(proj, index, axis=1)
    if cols == 1:
        return gathered
    return xp.sum(xp.reshape(gathered, (batch, r, cols)), axis=2)


def sketch_input(
    X: Any, num_probes: int, /, *, probe: str = "gaussian", mode: str = "multi_channel",
    rng: Any = None, native: bool = False,
) -> InputSketch:
    """Sketch a convolution input: ``Z^T X`` and the seed that regenerates ``Z``.

    Parameters
    ----------
    X : array, shape ``(batch, channels, *spatial)``
        Convolution input, 1 to 3 spatial axes (NumPy, CuPy, torch, ...).
    num_probes : int
        Sketch columns ``r >= 1``.
    probe : {"gaussian", "rademacher", "orthonormal", "sphere", "srft"}
        Probe distribution (all with ``E[z z^T] = I``).
    mode : {"multi_channel", "per_channel", "dense"}
        ``"multi_channel"`` keeps ``batch * r`` numbers (disjoint column
        blocks per channel); ``"dense"`` keeps ``batch * r`` with every
        channel seeing every column; ``"per_channel"`` keeps ``batch * channels * r``
        with ``r`` probes per channel. See :mod:`randla.apps.xconv.probes`.
    rng : int, numpy.random.Generator or None
        An int is the probe seed itself; otherwise a seed is drawn from it.
    native : bool
        Draw probes with the backend's generator on the array's device
        (reproducible per backend; no host-to-device copy of ``Z``).

    Returns
    -------
    InputSketch

    Raises
    ------
    TypeError
        Non-array / integer / half-precision ``X``; non-integer ``num_probes``.
    ValueError
        Wrong rank, ``num_probes < 1``, unknown ``probe`` / ``mode``, or more
        orthonormal / srft columns per channel than pixels.

    Notes
    -----
    For output channel ``o``, input channel ``c`` and tap ``k`` the exact
    gradient is ``tr M`` with ``M = sum_b X[b, c] (S_k^T dY[b, o])^T``
    (``N x N``, ``N`` input pixels) and the probed one is Hutchinson's
    estimate of that trace. Per entry, with ``||M_s||_F^2 = (||M||_F^2 + tr M^2)/2``:

    ==============  ==================================================
    probe           variance with ``m`` probes on the channel
    ==============  ==================================================
    gaussian        ``2 ||M_s||_F^2 / m``
    rademacher      ``2 (||M_s||_F^2 - sum_i M_ii^2) / m``
    sphere          ``2N/(N+2) (||M_s||_F^2 - (tr M)^2/N) / m``
    orthonormal     sphere value ``x (N - m)/(N - 1)`` (exact at ``m = N``)
    ==============  ==================================================

    ``per_channel`` has ``m = r``; ``multi_channel`` gives channel ``c`` a
    disjoint block of ``m_c ~ r / C`` columns (scaled by ``sqrt(r/m_c)``), so
    at equal memory both modes have the same variance. With ``r < C`` channels
    share columns (one each) and the variance gains
    ``sum_{c'} ||sum_b X[b, c'] (S_k^T dY[b, o])^T||_F^2`` over the channels
    ``c'`` sharing the column. Derivations: :mod:`randla.apps.xconv.probes`.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.xconv import sketch_input
    >>> X = np.random.default_rng(0).standard_normal((8, 3, 16, 16))
    >>> s = sketch_input(X, 4, rng=1)
    >>> s.values.shape, s.seed, s.nbytes < X.nbytes
    ((8, 4), 1, True)
    """
    xp = namespace(X=X)
    check_conv_input(X)
    num_probes = check_positive_int(num_probes, "num_probes")
    check_finite_sum(X, "X")
    layout = probe_layout(mode, num_probes, X.shape[1], math.prod(X.shape[2:]), probe=probe)
    seed = _seed(rng)
    values = _sketch_body(xp, X, layout, probe, seed, bool(native))
    return InputSketch(values, seed, num_probes, probe, mode, tuple(X.shape), bool(native))


def _offsets(geom: ConvGeometry) -> tuple[tuple[int, ...], ...]:
    return kernel_offsets(geom.kernel_size, padding=geom.pad_lo, dilation=geom.dilation)


def _weight_grad_body(xp: Any, sketch: InputSketch, dy: Any, geom: ConvGeometry, *,
                      parallel: bool = False) -> Any:
    batch, channels = sketch.input_shape[:2]
    spatial = tuple(sketch.input_shape[2:])
    out = tuple(dy.shape[2:])
    cout = dy.shape[1]
    groups = geom.groups
    cig = channels // groups
    taps = geom.num_taps
    layout = sketch.layout
    r = layout.num_probes
    values = sketch.values
    dev = device_of(values)
    Z = _probes(xp, layout, sketch.probe, sketch.seed, sketch.native, values.dtype, dev)
    kernel = tuple(geom.kernel_size)
    opts = dict(grid=spatial, stride=geom.stride, parallel=parallel, check_finite=False)
    if layout.mode == "per_channel":
        ybar = shift_correlate(dy, Z, _offsets(geom), **opts)          # (B, C_o, K, r)
        grad = shift_trace_from_sketch(values, ybar, groups=groups)     # (C_o, C_in/G, K)
        return xp.reshape(grad, (cout, cig) + kernel)
    m, n = layout.slots_per_channel, layout.slots_per_column
    nout = math.prod(out)
    # H[o, j] = sum_b Xs[b, j] dY[b, o]: the batch contraction first (r rows, not B)
    # (one GEMM over the contiguous dY, then a transpose of the small H to (C_o, r, ...))
    H = xp.matmul(xp.permute_dims(values, (1, 0)), xp.reshape(dy, (batch, cout * nout)))
    H = xp.reshape(xp.permute_dims(xp.reshape(H, (r, cout, nout)), (1, 0, 2)), (cout, r) + out)
    if layout.mode == "dense":  # column j correlates with its C channel probes: (r, N, C)
        D = shift_correlate(H, xp.permute_dims(Z, (0, 2, 1)), _offsets(geom), **opts)
        grad = xp.permute_dims(xp.sum(D, axis=1) / r, (0, 2, 1))     # (C_o, C, K)
        if groups > 1:
            cog = cout // groups
            grad = xp.reshape(grad, (groups, cog, groups, cig, taps))
            grad = xp.stack([grad[g, :, g] for g in range(groups)], axis=0)
        return xp.reshape(grad, (cout, cig) + kernel)
    # column j correlates with the probes of the channels it holds: (r, N, n)
    slots = xp.reshape(xp.permute_dims(Z, (0, 2, 1)), (channels * m, math.prod(spatial)))
    slots = xp.concat([slots, xp.zeros((1, slots.shape[1]), dtype=values.dtype, device=dev)])
    index = from_host(layout.column_slots().reshape(-1), xp, dtype=xp.int64, device=dev)
    by_column = xp.reshape(xp.take(slots, index, axis=0), (r, n, math.prod(spatial)))
    D = shift_correlate(H, xp.permute_dims(by_column, (0, 2, 1)), _offsets(geom), **opts)
    D = xp.reshape(xp.permute_dims(D, (1, 3, 0, 2)), (r * n, cout * taps))  # (C_o, r, K, n)
    D = xp.concat([D, xp.zeros((1, cout * taps), dtype=values.dtype, device=dev)])
    rows = from_host(layout.slot_rows().reshape(-1), xp, dtype=xp.int64, device=dev)
    per_slot = xp.reshape(xp.take(D, rows, axis=0), (channels, m, cout * taps))
    weights = from_host(layout.slot_scales()[:, :, None] / r, xp, dtype=values.dtype, device=dev)
    per_channel = xp.sum(per_slot * weights, axis=1)             # (C, C_o K)
    per_channel = xp.reshape(xp.permute_dims(xp.reshape(per_channel, (channels, cout, taps)),
                                             (1, 0, 2)), (cout * channels, taps))
    if groups == 1:
        return xp.reshape(per_channel, (cout, cig) + kernel)
    cog = cout // groups
    o = np.arange(cout)[:, None]
    pick = o * channels + (o // cog) * cig + np.arange(cig)[None, :]
    pick = from_host(pick.reshape(-1), xp, dtype=xp.int64, device=dev)
    return xp.reshape(xp.take(per_channel, pick, axis=0), (cout, cig) + kernel)


def weight_grad(
    sketch: InputSketch, grad_output: Any, /, *, kernel_size: Any, stride: Any = 1,
    padding: Any = 0, dilation: Any = 1, groups: int = 1,
) -> Any:
    """Unbiased estimate of a convolution weight gradient from an input sketch.

    ``dW[o, c', k] ~ (1/r) tr((Z^T X_c)(dY_o^T S_k Z))``: regenerate the probes
    ``Z`` from ``sketch.seed``, correlate them with ``grad_output`` through
    every tap ``k`` (zero padding, stride, dilation) and contract with the
    stored ``Z^T X``. ``E[weight_grad(...)] = conv_weight_grad(X, grad_output, ...)``.

    Parameters
    ----------
    sketch : InputSketch
        From :func:`sketch_input` on the layer input ``X``.
    grad_output : array, shape ``(batch, out_channels, *out_spatial)``
        Same backend, device and dtype as ``sketch.values``.
    kernel_size, stride, padding, dilation, groups
        The convolution's arguments (as for ``torch.nn.Conv*d``; ``padding``
        may be ``"same"``, ``"valid"`` or ``(lo, hi)`` pairs).

    Returns
    -------
    dW : array, shape ``(out_channels, in_channels / groups, *kernel_size)``

    Raises
    ------
    TypeError
        ``sketch`` is not an :class:`InputSketch`, mixed backends, or dtypes differ.
    ValueError
        ``grad_output`` inconsistent with the sketched input shape and the geometry.

    Examples
    --------
    The mean of many seeded estimates approaches the exact gradient:

    >>> import numpy as np
    >>> from randla.apps.xconv import conv_weight_grad, sketch_input, weight_grad
    >>> rng = np.random.default_rng(0)
    >>> X, dY = rng.standard_normal((4, 2, 6, 5)), rng.standard_normal((4, 3, 6, 5))
    >>> exact = conv_weight_grad(X, dY, kernel_size=3, padding=1)
    >>> est = np.mean([weight_grad(sketch_input(X, 8, rng=s), dY, kernel_size=3, padding=1)
    ...                for s in range(2000)], axis=0)
    >>> bool(np.linalg.norm(est - exact) < 0.1 * np.linalg.norm(exact))
    True
    """
    if not isinstance(sketch, InputSketch):
        raise TypeError(f"sketch must be an InputSketch (from sketch_input), got "
                        f"{type(sketch).__name__}")
    xp = namespace(sketch=sketch.values, grad_output=grad_output)
    check_float(grad_output, "grad_output")
    if grad_output.dtype != sketch.values.dtype:
        raise TypeError(f"grad_output ({grad_output.dtype}) and the sketch "
                        f"({sketch.values.dtype}) must share a dtype")
    geom = conv_geometry(len(sketch.input_shape) - 2, kernel_size, stride=stride,
                         padding=padding, dilation=dilation, groups=groups)
    check_conv_pair(xp, tuple(sketch.input_shape), grad_output, geom, "the sketched input")
    check_finite_sum(grad_output, "grad_output")
    check_finite_sum(sketch.values, "sketch.values")
    return _weight_grad_body(xp, sketch, grad_output, geom)
