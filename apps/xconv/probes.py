"""Probe layouts for probed convolution weight gradients, and their draws.

Everything random about a probed gradient is a function of one integer seed:
:func:`draw_conv_probes` regenerates bit-identical probe vectors from it, so a
layer only stores the sketch ``Z^T X`` and the seed between forward and backward.
The probe kinds are those of :mod:`randla.random` with ``E[z z^T] = I`` per
column.

The estimator
-------------
Fix an output channel ``o``, input channel ``c`` and tap ``k``. With
``u_b = X[b, c]`` (flattened input grid, ``N`` pixels) and ``v_b = S_k^T dY[b, o]``
(the output gradient scattered back onto the input grid through tap ``k``;
positions that fall into the padding are dropped), the exact gradient is a trace

.. math:: dW[o, c', k] = \\sum_b u_b^T v_b = \\operatorname{tr} M,\\qquad
          M = \\sum_b u_b v_b^T \\in \\mathbb{R}^{N\\times N}.

Probes live on the *unpadded* input grid: the sketch ``z^T X`` only sees real
pixels, and ``S_k z`` reads zero where ``S_k`` points into the padding. Probing
the padded grid would stay unbiased (``X`` is zero there) but adds variance, and
orthonormal probes would need ``N_padded`` columns to become exact.

``mode="per_channel"``
    ``r`` probe vectors ``z_j`` shared by all channels; the sketch is
    ``Xs[b, c, j] = z_j^T X[b, c]`` (``B C r`` numbers) and
    ``dW ~ (1/r) sum_j z_j^T M z_j`` -- Hutchinson's estimator of ``tr M``.
    Per-entry variance (``M_s = (M + M^T)/2``, ``||M_s||_F^2 = (||M||_F^2 + tr M^2)/2``):

    * gaussian:    ``2 ||M_s||_F^2 / r``
    * rademacher:  ``2 (||M_s||_F^2 - sum_i M_ii^2) / r``
    * sphere:      ``(2N/(N+2)) (||M_s||_F^2 - (tr M)^2 / N) / r``
    * orthonormal: the sphere value times ``(N - r)/(N - 1)`` (``r`` columns of a
      Haar frame; exchangeability and ``Var(sum of all N) = 0`` give the factor), so
      ``r = N`` is exact.

    Sharing ``Z`` across channels correlates entries of different ``c`` but
    changes neither the per-entry variance nor ``E ||dW_est - dW||_F^2``.

``mode="multi_channel"``
    One probe on the joint ``C x N`` space with block structure: the ``r``
    sketch columns are split into contiguous, *disjoint* blocks, block ``c`` of
    size ``m_c`` (``floor(c r / C) <= j < floor((c+1) r / C)``) holding
    independent probes ``g_j`` of channel ``c`` scaled by ``sqrt(r / m_c)``, so
    that ``E[Z Z^T] = r I`` on the joint space. The sketch is
    ``Xs[b, j] = sqrt(r/m_c) g_j^T X[b, c(j)]`` (``B r`` numbers, independent of
    ``C``) and ``dW ~ (1/r) sum_{j in block c} sqrt(r/m_c) <H_j, S_k g_j>`` with
    ``H_j = sum_b Xs[b, j] dY[b, o]`` -- exactly the per-channel estimator with
    ``m_c`` independent probes, so the variance is the per-channel formula with
    ``r -> m_c ~ r / C``: at equal memory both modes have the same variance.
    ``m_c = N`` orthonormal probes per channel (``r = C N``) are exact.

    When ``r < C`` blocks cannot be disjoint; every channel then gets one column
    ``floor(c r / C)`` (no index repeats within a channel) scaled by
    ``sqrt(r)``, and the channels ``J(c)`` sharing a column add uncorrelated,
    zero-mean cross terms: ``dW ~ g_c^T M g_c + sum_{c' in J(c)} g_{c'}^T M_{c'c} g_c``
    with ``M_{c'c} = sum_b X[b, c'] v_b^T`` and
    ``Var = Var_1(M) + sum_{c' in J(c)} ||M_{c'c}||_F^2``.
    Still unbiased. (The original XConv code instead drew 8 column indices per
    channel as ``randperm(8 C) % r``; repeats inside one channel overwrite a
    column while the ``sqrt(r/8)`` scale assumes 8 distinct ones, which biases
    the estimate. That sampling is not used here.)

``mode="dense"``
    One probe on the joint ``C x N`` space, every channel seeing every column
    (XConv's Gaussian mode, with the zero boundary): ``Xs[b, j] = sum_c
    z_{j,c}^T X[b, c]`` (``B r`` numbers) and ``dW[o, c, k] ~ (1/r) sum_j
    <H_j, S_k z_{j,c}>``, ``H_j = sum_b Xs[b, j] dY[b, o]``. Unbiased because
    ``E[z_{j,c} z_{j,c'}^T] = delta_{cc'} I``; each entry is the per-channel
    estimator with ``r`` probes plus the zero-mean cross terms
    ``(1/r) sum_j sum_{c' != c} z_{j,c'}^T M_{c'c} z_{j,c}``, so (Gaussian)
    ``Var = (2 ||M_s||_F^2 + sum_{c' != c} ||M_{c'c}||_F^2) / r``: more cross
    terms than ``multi_channel`` but ``r`` (not ``r / C``) probes per channel.
    Backward cost ``r B C_o N_o + r C C_o K N_o``.

References
----------
Hutchinson, "A stochastic estimator of the trace of the influence matrix for
Laplacian smoothing splines", Comm. Stat. Sim. Comp. 18 (1989).
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np

from randla.backend import check_positive_int, from_host
from randla.random import as_generator, draw_probes

__all__ = ["MODES", "PROBES", "ProbeLayout", "draw_conv_probes", "probe_layout"]

#: Sketch modes (see the module docstring for the estimators and their variance).
MODES = ("dense", "multi_channel", "per_channel")
#: Probe kinds (``randla.random`` draws with ``E[z z^T] = I``).
PROBES = ("gaussian", "orthonormal", "rademacher", "sphere", "srft")
_IID_COLUMNS = ("gaussian", "rademacher", "sphere")
_AT_MOST_N = ("orthonormal", "srft")


@dataclasses.dataclass(frozen=True)
class ProbeLayout:
    """Which probe column belongs to which input channel.

    Attributes
    ----------
    mode : {"multi_channel", "per_channel"}
    num_probes : int
        Sketch columns ``r``.
    num_channels : int
        Input channels ``C``.
    num_pixels : int
        Input grid size ``N`` (product of the spatial shape, unpadded).

    Examples
    --------
    >>> from randla.apps.xconv import probe_layout
    >>> lay = probe_layout("multi_channel", 8, 3, 100)
    >>> lay.block_sizes, lay.slots_per_channel, lay.sketch_shape_per_sample
    ((2, 3, 3), 3, (8,))
    """

    mode: str
    num_probes: int
    num_channels: int
    num_pixels: int

    @property
    def block_sizes(self) -> tuple[int, ...]:
        """Probe columns per channel ``m_c`` (``multi_channel``)."""
        r, c = self.num_probes, self.num_channels
        if self.mode in ("per_channel", "dense"):
            return (r,) * c
        if r < c:
            return (1,) * c
        return tuple((i + 1) * r // c - i * r // c for i in range(c))

    @property
    def slots_per_channel(self) -> int:
        """``max_c m_c``: probe vectors drawn per channel (shorter blocks are zero-padded)."""
        return max(self.block_sizes)

    @property
    def slots_per_column(self) -> int:
        """Channels sharing a sketch column at most (1 when blocks are disjoint)."""
        r, c = self.num_probes, self.num_channels
        if self.mode == "dense":
            return c
        return 1 if r >= c else -(-c // r)

    @property
    def sketch_shape_per_sample(self) -> tuple[int, ...]:
        """Shape of one sample's sketch: ``(C, r)`` or ``(r,)``."""
        if self.mode == "per_channel":
            return (self.num_channels, self.num_probes)
        return (self.num_probes,)

    @functools.cached_property
    def _tables(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        if self.mode != "multi_channel":
            raise ValueError("slot tables describe the multi_channel layout only")
        c, r, m = self.num_channels, self.num_probes, self.slots_per_channel
        cols = np.full((c, m), -1, dtype=np.int64)
        scales = np.zeros((c, m))
        sizes = self.block_sizes
        for ch in range(c):
            start = ch * r // c
            cols[ch, :sizes[ch]] = start + np.arange(sizes[ch])
            scales[ch, :sizes[ch]] = math.sqrt(r / sizes[ch])
        n = self.slots_per_column
        pad = c * m  # index of an all-zero slot
        by_column = np.full((r, n), pad, dtype=np.int64)
        rows = np.full((c, m), r * n, dtype=np.int64)
        fill = np.zeros(r, dtype=np.int64)
        for ch in range(c):
            for i in range(sizes[ch]):
                j = cols[ch, i]
                by_column[j, fill[j]] = ch * m + i
                rows[ch, i] = j * n + fill[j]
                fill[j] += 1
        return cols, scales, by_column, rows

    def slot_columns(self) -> np.ndarray:
        """``(C, m_max)`` sketch column of each probe slot (-1 for padding)."""
        return self._tables[0]

    def slot_scales(self) -> np.ndarray:
        """``(C, m_max)`` scale ``sqrt(r / m_c)`` of each slot (0 for padding)."""
        return self._tables[1]

    def column_slots(self) -> np.ndarray:
        """``(r, n_max)`` flat slot index ``c m_max + i`` per column (``C m_max`` = none)."""
        return self._tables[2]

    def slot_rows(self) -> np.ndarray:
        """``(C, m_max)`` flat position ``j n_max + p`` of each slot in the column view
        (``r n_max`` for padding): the inverse of :meth:`column_slots`."""
        return self._tables[3]


def probe_layout(mode: str, num_probes: int, num_channels: int, num_pixels: int, *,
                 probe: str = "gaussian") -> ProbeLayout:
    """Validated :class:`ProbeLayout`.

    Parameters
    ----------
    mode : {"multi_channel", "per_channel"}
        Sketch mode (see :func:`~randla.apps.xconv.sketch_input`).
    num_probes : int
        Sketch columns ``r >= 1``.
    num_channels : int
        Input channels ``C >= 1``.
    num_pixels : int
        Input grid size ``N >= 1`` (unpadded).
    probe : {"gaussian", "orthonormal", "rademacher", "sphere", "srft"}
        Probe kind; orthonormal and srft allow at most ``N`` columns per channel.

    Returns
    -------
    ProbeLayout

    Raises
    ------
    ValueError
        Unknown ``mode`` or ``probe``; ``num_probes``, ``num_channels`` or
        ``num_pixels`` below 1; orthonormal / srft probes with more columns
        per channel than pixels.
    TypeError
        Non-integer sizes.

    Examples
    --------
    >>> from randla.apps.xconv.probes import probe_layout
    >>> probe_layout("multi_channel", 8, 3, 100).block_sizes
    (2, 3, 3)
    """
    if not isinstance(mode, str) or mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if not isinstance(probe, str) or probe not in PROBES:
        raise ValueError(f"probe must be one of {PROBES}, got {probe!r}")
    num_probes = check_positive_int(num_probes, "num_probes")
    layout = _layout(mode, num_probes, check_positive_int(num_channels, "num_channels"),
                     check_positive_int(num_pixels, "num_pixels"))
    if probe in _AT_MOST_N and mode == "dense":
        if num_probes > num_channels * num_pixels:
            raise ValueError(
                f"{probe} probes need at most one column per input entry: num_probes="
                f"{num_probes} exceeds channels x pixels = {num_channels * num_pixels}"
            )
    elif probe in _AT_MOST_N and layout.slots_per_channel > layout.num_pixels:
        where = ("" if mode == "per_channel" else
                 f" (multi_channel puts {layout.slots_per_channel} of the {num_probes} "
                 f"columns on one of the {num_channels} channels)")
        raise ValueError(
            f"{probe} probes need at most one column per pixel: num_probes={num_probes} "
            f"exceeds the {num_pixels} input pixels{where}"
        )
    return layout


@functools.lru_cache(maxsize=256)
def _layout(mode: str, num_probes: int, num_channels: int, num_pixels: int) -> ProbeLayout:
    return ProbeLayout(mode, num_probes, num_channels, num_pixels)  # tables cached per shape


def draw_conv_probes(layout: ProbeLayout, probe: str, seed: int, /, *, xp: Any,
                     dtype: Any, device: Any, native: bool = False) -> Any:
    """Regenerate the probes of ``layout`` from ``seed``, one probe per row.

    Parameters
    ----------
    layout : ProbeLayout
        From :func:`probe_layout`.
    probe : {"gaussian", "orthonormal", "rademacher", "sphere", "srft"}
        Probe kind.
    seed : int
        Non-negative seed; the same seed gives the same probes.
    xp : namespace
        Array namespace of the result.
    dtype, device
        Of the result (``dtype`` float32 or float64 of ``xp``).
    native : bool
        Draw with the backend's own generator (see :mod:`randla.random`).

    Returns
    -------
    Z : array
        ``(r, N)`` for ``per_channel``; ``(r, C, N)`` for ``dense``; ``(C, m_max, N)``
        for ``multi_channel``
        (unscaled channel blocks; padding slots are zero). Rows are probe
        vectors on the flattened, unpadded input grid (C-contiguous, so the
        sketch ``Z X^T`` is a GEMM with a long inner dimension).

    Raises
    ------
    TypeError
        ``layout`` not a :class:`ProbeLayout`; a non-integer ``seed``; a bad
        ``dtype``.
    ValueError
        Unknown ``probe``; a negative ``seed``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.xconv.probes import draw_conv_probes, probe_layout
    >>> lay = probe_layout("multi_channel", 5, 2, 10)
    >>> Z = draw_conv_probes(lay, "gaussian", 7, xp=np, dtype=np.float64, device="cpu")
    >>> Z.shape, bool(np.all(Z[0, 2] == 0))  # channel 0 has 2 probes, channel 1 has 3
    ((2, 3, 10), True)
    """
    if not isinstance(layout, ProbeLayout):
        raise TypeError(f"layout must be a ProbeLayout (from probe_layout), got "
                        f"{type(layout).__name__}")
    if not isinstance(probe, str) or probe not in PROBES:
        raise ValueError(f"probe must be one of {PROBES}, got {probe!r}")
    seed = check_positive_int(seed, "seed", minimum=0)
    gen = as_generator(int(seed))
    n = layout.num_pixels
    opts = dict(xp=xp, dtype=dtype, device=device, native=native)
    if layout.mode == "per_channel":
        z = draw_probes(probe, n, layout.num_probes, rng=gen, **opts)
        return xp.reshape(xp.permute_dims(z, (1, 0)), (layout.num_probes, n))
    if layout.mode == "dense":  # one probe on the joint (channel, pixel) space
        c = layout.num_channels
        z = draw_probes(probe, c * n, layout.num_probes, rng=gen, **opts)
        return xp.reshape(xp.permute_dims(z, (1, 0)), (layout.num_probes, c, n))
    c, m = layout.num_channels, layout.slots_per_channel
    if probe in _IID_COLUMNS:  # independent columns: one draw, cut into blocks
        z = draw_probes(probe, n, c * m, rng=gen, **opts)
    else:  # blocks with orthogonal columns are drawn one channel at a time
        z = xp.concat([draw_probes(probe, n, m, rng=gen, **opts) for _ in range(c)], axis=1)
    z = xp.reshape(xp.permute_dims(z, (1, 0)), (c, m, n))
    sizes = layout.block_sizes
    if min(sizes) < m:  # zero the padding slots (marginals of the rest are unchanged)
        mask = (np.arange(m)[None, :] < np.asarray(sizes)[:, None]).astype(np.float64)
        z = z * from_host(mask[:, :, None], xp, dtype=dtype, device=device)
    return z
