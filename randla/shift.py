r"""Shift-probe estimators: traces ``tr(X Y^T T_k)`` over a set of grid offsets.

For fields ``X`` and ``Y`` on a 1-D, 2-D or 3-D grid, with a batch axis and
optionally a channel axis, and a grid offset ``k``, the quantity

.. math::

    t_k = \operatorname{tr}(X Y^\top T_k) = \sum_b \sum_x X_b[x + k]\, Y_b[x]

sums over the batch and over the grid points ``x`` for which ``x + k`` is in
the grid (zero boundary, *not* wrap-around): ``(T_k v)[x] = v[x + k]`` and 0
outside. With channels, ``t[o, i, k] = sum_b sum_x X[b, i, x + k] Y[b, o, x]``
is the weight gradient of a stride-1 convolution layer (``X`` its input,
``Y`` the back-propagated residual, :func:`kernel_offsets` the taps), and the
zero-lag term is the cross-correlation imaging condition.

Randomized trace estimation with ``N x r`` probes ``Z``, ``E[Z Z^T] = r I``,
inserted between ``T_k`` and ``X`` gives the unbiased estimate

.. math::

    t_k \approx \frac1r \operatorname{tr}\big(\bar X\, \bar Y_k^\top\big),
    \qquad \bar X = Z^\top X, \quad \bar Y_k^\top = Y^\top T_k Z,

in two phases, so that only the small sketch ``Xbar`` (and the seed of ``Z``)
has to be stored between a forward and a backward pass:

1. :func:`sketch_grid` -- ``Xbar = Z^T X`` (forward pass; what XConv stores),
2. :func:`shift_correlate` -- ``Ybar_k = Y^T T_k Z`` for all offsets (backward
   pass; the hot loop, a Numba / CUDA kernel). With a ``stride`` ``s`` and an
   input ``grid`` it reads ``Z[s x + k]`` from a grid other than ``Y``'s: the
   taps of a strided, dilated, padded convolution (:func:`kernel_offsets`).
3. :func:`shift_trace_from_sketch` -- ``(1/r) tr(Xbar Ybar_k^T)``.

:func:`shift_trace` runs the three phases with probes
``Z = randla.random.draw_probes(probe, N, num_probes, rng=rng, ...)`` for
``N`` grid points; :func:`shift_trace_exact` is the exact counterpart.

Shape conventions (``d = len(offsets[0])`` is the grid dimension, 1 to 3):

========================  ==========================  =====================
``X``                     ``Y``                       result
========================  ==========================  =====================
``(*grid)``               ``(*grid)``                 ``(K,)``
``(batch, *grid)``        ``(batch, *grid)``          ``(K,)``
``(batch, c_in, *grid)``  ``(batch, c_out, *grid)``   ``(c_out, c_in, K)``
========================  ==========================  =====================

References
----------
Louboutin, Siahkoohi, Wang, Herrmann, "Low-memory stochastic backpropagation
with multi-channel randomized trace estimation", arXiv:2106.06998 (2021).
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from ._shift_common import (
    as_axes,
    as_offsets,
    check_arrays,
    check_entries,
    check_fields,
    check_finite_sum,
    check_num_probes,
    check_probes,
    lead_and_grid,
)
from .backend import check_positive_int, device_of
from .kernels import _dispatch
from .kernels import reference as _reference
from .random import draw_probes

__all__ = [
    "kernel_offsets",
    "shift_correlate",
    "shift_trace",
    "shift_trace_exact",
    "shift_trace_from_sketch",
    "sketch_grid",
]

_EXACT_CHUNK = 1 << 21


# -- bodies ----------------------------------------------------------------------


def _sketch_body(xp: Any, X: Any, Z: Any, lead: tuple[int, ...]) -> Any:
    N, r = Z.shape[-2], Z.shape[-1]
    if Z.ndim == 2:
        # (Z^T X^T)^T: the long grid axis is the GEMM's inner dimension
        X2 = xp.reshape(X, (math.prod(lead), N))
        Xbar = xp.permute_dims(xp.matmul(xp.permute_dims(Z, (1, 0)),
                                         xp.permute_dims(X2, (1, 0))), (1, 0))
        return xp.reshape(Xbar, (*lead, r))
    G = Z.shape[0]  # one probe set per entry of the last lead axis
    X3 = xp.reshape(X, (math.prod(lead[:-1]), G, N))
    proj = xp.matmul(xp.permute_dims(Z, (0, 2, 1)), xp.permute_dims(X3, (1, 2, 0)))  # (G, r, P)
    return xp.reshape(xp.permute_dims(proj, (2, 0, 1)), (*lead, r))


def _correlate_body(xp: Any, Y: Any, Z: Any, offs: np.ndarray, lead: tuple[int, ...],
                    out_grid: tuple[int, ...], in_grid: tuple[int, ...],
                    stride: tuple[int, ...], parallel: bool) -> Any:
    d = len(out_grid)
    pad = (1,) * (3 - d)
    offs3 = np.zeros((offs.shape[0], 3), dtype=np.int64)
    offs3[:, 3 - d:] = offs
    opts = dict(grid=pad + tuple(in_grid), stride=pad + tuple(stride))
    if Z.ndim == 2:
        Yc = xp.reshape(Y, (math.prod(lead), *pad, *out_grid))
    else:
        Yc = xp.reshape(Y, (math.prod(lead[:-1]), lead[-1], *pad, *out_grid))
    views = _dispatch.host_views(Yc, Z)
    if views is not None:
        from .kernels import cpu_shift

        out = cpu_shift.shift_correlate(*views, offs3, parallel=parallel, **opts)
        out = _dispatch.from_host_view(out, xp, Y)
    elif _dispatch.cuda_arrays(Yc, Z):
        from .kernels import gpu_shift

        out = gpu_shift.shift_correlate(Yc, Z, offs3, **opts)
    else:
        out = _reference.shift_correlate(Yc, Z, offs3, **opts)
    return xp.reshape(out, (*lead, offs.shape[0], Z.shape[-1]))


def _from_sketch_body(xp: Any, Xbar: Any, Ybar: Any, groups: int) -> Any:
    """(batch, c_in, r) x (batch, c_out, K, r) -> (c_out, c_in / groups, K)."""
    batch, c_in, r = Xbar.shape
    c_out, K = Ybar.shape[1], Ybar.shape[2]
    cig, cog = c_in // groups, c_out // groups
    Yg = xp.reshape(Ybar, (batch, groups, cog * K, r))
    Yg = xp.reshape(xp.permute_dims(Yg, (1, 2, 0, 3)), (groups, cog * K, batch * r))
    Xg = xp.reshape(Xbar, (batch, groups, cig, r))
    Xg = xp.reshape(xp.permute_dims(Xg, (1, 0, 3, 2)), (groups, batch * r, cig))
    est = xp.reshape(xp.matmul(Yg, Xg), (groups, cog, K, cig))
    return xp.reshape(xp.permute_dims(est, (0, 1, 3, 2)), (c_out, cig, K)) / r


def _exact_body(xp: Any, X: Any, Y: Any, offs: np.ndarray, batch: int, c_in: int,
                c_out: int, grid: tuple[int, ...]) -> Any:
    Xc = xp.reshape(X, (batch, c_in, *grid))
    Yc = xp.reshape(Y, (batch, c_out, *grid))
    axes = [0] + list(range(2, 2 + len(grid)))
    # batch chunks of about _EXACT_CHUNK elements bound the temporaries that
    # tensordot makes of the (non-contiguous) shifted windows
    step = max(1, _EXACT_CHUNK // ((c_in + c_out) * math.prod(grid)))
    cols = []
    for k in offs:
        acc = xp.zeros((c_out, c_in), dtype=X.dtype, device=device_of(X))
        slices = _reference.valid_slices(grid, tuple(int(a) for a in k))
        if slices is not None:
            dst, src = slices
            for b0 in range(0, batch, step):
                rows = (slice(b0, min(batch, b0 + step)), slice(None))
                acc = acc + xp.tensordot(Yc[rows + dst], Xc[rows + src], axes=(axes, axes))
        cols.append(acc)
    return xp.stack(cols, axis=-1)


def _finish(xp: Any, est: Any, channel_form: bool) -> Any:
    return est if channel_form else xp.reshape(est, (est.shape[-1],))


# -- public API ------------------------------------------------------------------


def kernel_offsets(kernel_size: int | Sequence[int], /, *,
                   padding: int | Sequence[int] | None = None,
                   dilation: int | Sequence[int] = 1) -> tuple[tuple[int, ...], ...]:
    """Grid offsets of the taps of a convolution kernel, in C order.

    Tap ``(i_1, ..., i_d)`` of a kernel with ``padding`` ``p`` and dilation
    ``q`` reads the input at ``s x + q i - p``, so its offset is ``q i - p``.
    With these offsets ``shift_trace_exact(X, dY, offsets)``, reshaped to
    ``(c_out, c_in, *kernel_size)``, is the weight gradient of a stride-1
    ``torch.nn.Conv{d}d`` whose output grid equals its input grid; with
    ``shift_correlate(..., stride=s, grid=...)`` any stride.

    Parameters
    ----------
    kernel_size : int or sequence of int
        Kernel extent per grid axis (1 to 3 axes).
    padding : int or sequence of int, optional
        Zero padding before each axis; ``size // 2`` by default ("same" for
        odd sizes, dilation 1).
    dilation : int or sequence of int
        Spacing of the taps.

    Returns
    -------
    tuple of tuple of int
        ``prod(kernel_size)`` offsets, the last axis varying fastest.

    Raises
    ------
    ValueError
        Non-positive sizes or dilations, negative padding, mismatched lengths.
    TypeError
        Non-integer entries.

    Examples
    --------
    >>> from randla import kernel_offsets
    >>> kernel_offsets(3)
    ((-1,), (0,), (1,))
    >>> kernel_offsets((2, 3), padding=(0, 1))
    ((0, -1), (0, 0), (0, 1), (1, -1), (1, 0), (1, 1))
    >>> kernel_offsets(3, padding=2, dilation=2)
    ((-2,), (0,), (2,))
    """
    sizes = (kernel_size,) if isinstance(kernel_size, numbers.Integral) else tuple(kernel_size)
    if not 1 <= len(sizes) <= 3:
        raise ValueError(f"kernel_size must have 1 to 3 entries, got {len(sizes)}")
    sizes = check_entries(sizes, kernel_size, "kernel_size", 1)
    dil = as_axes(dilation, len(sizes), "dilation", 1)
    if padding is None:
        pads = tuple(s // 2 for s in sizes)
    else:
        pads = as_axes(padding, len(sizes), "padding", 0)
    return tuple(
        tuple(q * i - p for i, p, q in zip(idx, pads, dil)) for idx in np.ndindex(*sizes)
    )


def shift_trace_exact(X: Any, Y: Any, offsets: Any, /) -> Any:
    r"""Exact ``tr(X Y^T T_k) = sum_b sum_x X[b, .., x + k] Y[b, .., x]`` per offset.

    Zero boundary: terms with ``x + k`` outside the grid vanish. See the
    module documentation for the shape conventions.

    Parameters
    ----------
    X, Y : array
        Shapes ``(*grid)``, ``(batch, *grid)`` or ``(batch, c_in, *grid)`` /
        ``(batch, c_out, *grid)`` (both in the same layout), float32 or float64,
        same namespace, device and dtype.
    offsets : sequence of tuple of int
        ``K`` grid offsets, each of length ``d`` (the grid dimension, 1 to 3);
        plain integers are accepted for 1-D grids.

    Returns
    -------
    array
        ``(c_out, c_in, K)`` in the channel layout, ``(K,)`` otherwise.

    Raises
    ------
    ValueError
        Mismatched grids (e.g. offsets with one entry too many), batch sizes or
        layouts, offsets of inconsistent length, non-finite values, mixed devices.
    TypeError
        Non-array input, mixed backends, integer/float16 input, mixed dtypes.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import shift_trace_exact
    >>> x = np.arange(1.0, 5.0)          # 1-D grid of 4 points
    >>> y = np.ones(4)
    >>> shift_trace_exact(x, y, [-1, 0, 1])   # sums of x[x+k] over valid x
    array([ 6., 10.,  9.])
    """
    xp, offs, batch, c_in, c_out, grid, channel_form = check_fields(X, Y, offsets)
    est = _exact_body(xp, X, Y, offs, batch, c_in, c_out, grid)
    return _finish(xp, est, channel_form)


def sketch_grid(X: Any, Z: Any, /, *, grid_ndim: int, check_finite: bool = True) -> Any:
    """Forward phase: the probe sketch ``Xbar = Z^T X`` of fields on a grid.

    Parameters
    ----------
    X : array, shape ``(*lead, *grid)``
        The last ``grid_ndim`` axes are the grid (``N`` points in C order).
    Z : array, shape ``(N, r)`` or ``(C, N, r)``
        Probes, e.g. ``randla.random.draw_probes(kind, N, r, rng=seed, ...)``,
        shared by all of ``X``, or one set per entry of the last lead axis of
        ``X`` (``C = lead[-1]``: per-channel probes). Same namespace, device
        and dtype as ``X``.
    grid_ndim : int
        1, 2 or 3.
    check_finite : bool
        Reject NaN and infinity (one pass over ``X`` and ``Z``); callers that
        validated already pass False.

    Returns
    -------
    array, shape ``(*lead, r)``
        ``Xbar[..., c, j] = sum_x X[..., c, x] Z[(c,) x, j]``.

    Raises
    ------
    ValueError
        ``Z`` of the wrong shape, bad ``grid_ndim``, non-finite values.
    TypeError
        Mixed backends or dtypes, integer/float16 input.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import sketch_grid
    >>> from randla.random import draw_probes
    >>> X = np.ones((2, 3, 4, 5))             # (batch, channels, 4 x 5 grid)
    >>> Z = draw_probes("rademacher", 20, 6, rng=0)
    >>> sketch_grid(X, Z, grid_ndim=2).shape
    (2, 3, 6)
    """
    xp = check_arrays(X=X, Z=Z)
    grid_ndim = check_positive_int(grid_ndim, "grid_ndim")
    if grid_ndim > 3:
        raise ValueError(f"grid_ndim must be 1, 2 or 3, got {grid_ndim}")
    lead, grid = lead_and_grid(X, "X", grid_ndim)
    check_probes(Z, grid, lead, "X")
    if check_finite:
        check_finite_sum(X, "X")
        check_finite_sum(Z, "Z")
    return _sketch_body(xp, X, Z, lead)


def shift_correlate(
    Y: Any, Z: Any, offsets: Any, /, *, grid: Any = None, stride: Any = 1,
    parallel: bool = False, check_finite: bool = True,
) -> Any:
    """Backward phase: shifted probes correlated with ``Y``, ``Ybar_k = Y^T T_k Z``.

    ``Ybar[..., k, j] = sum_x Y[..., x] Z[s x + offsets[k], j]``, zero where
    ``s x + offsets[k]`` leaves the probes' grid. Host arrays (NumPy, CPU
    torch, ...) run a Numba kernel, CUDA arrays a numba.cuda kernel, others
    the array-API reference (one matrix product per offset).

    Parameters
    ----------
    Y : array, shape ``(*lead, *out_grid)``
        The last ``d = len(offsets[0])`` axes are the grid.
    Z : array, shape ``(N, r)`` or ``(C, N, r)``
        Probes on ``grid`` (``N`` points), shared or one set per entry of the
        last lead axis of ``Y`` (``C = lead[-1]``), as in :func:`sketch_grid`.
    offsets : sequence of tuple of int
        ``K`` offsets of length ``d`` (1 to 3).
    grid : sequence of int, optional
        The grid of ``Z``; ``Y``'s grid by default.
    stride : int or sequence of int
        ``s`` per axis (a strided convolution's stride).
    parallel : bool
        Host arrays only: the multi-threaded (``prange``) Numba kernel.
    check_finite : bool
        Reject NaN and infinity in ``Y`` and ``Z``.

    Returns
    -------
    array, shape ``(*lead, K, r)``

    Raises
    ------
    ValueError
        ``Z`` of the wrong shape, bad offsets, grid or stride, non-finite values.
    TypeError
        Mixed backends or dtypes, integer/float16 input.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import shift_correlate
    >>> Y = np.array([[1.0, 2.0, 3.0]])
    >>> Z = np.eye(3)
    >>> shift_correlate(Y, Z, [0, 1])[0]       # row k is sum_x Y[x] Z[x + k]
    array([[1., 2., 3.],
           [0., 1., 2.]])
    """
    xp = check_arrays(Y=Y, Z=Z)
    offs = as_offsets(offsets)
    d = offs.shape[1]
    lead, out_grid = lead_and_grid(Y, "Y", d)
    in_grid = out_grid if grid is None else as_axes(grid, d, "grid", 1)
    strides = as_axes(stride, d, "stride", 1)
    check_probes(Z, in_grid, lead, "Y")
    if check_finite:
        check_finite_sum(Y, "Y")
        check_finite_sum(Z, "Z")
    return _correlate_body(xp, Y, Z, offs, lead, out_grid, in_grid, strides, bool(parallel))


def shift_trace_from_sketch(Xbar: Any, Ybar: Any, /, *, groups: int = 1) -> Any:
    """Combine the phases: ``(1/r) sum_{b, j} Xbar[b, i, j] Ybar[b, o, k, j]``.

    Parameters
    ----------
    Xbar : array
        From :func:`sketch_grid`: ``(batch, c_in, r)``, ``(batch, r)`` or ``(r,)``.
    Ybar : array
        From :func:`shift_correlate`: ``(batch, c_out, K, r)``, ``(batch, K, r)``
        or ``(K, r)`` (one more axis than ``Xbar``).
    groups : int
        Channel layout only: output channel ``o`` pairs with the input
        channels of its group (a grouped convolution), ``c_in`` and ``c_out``
        multiples of ``groups``.

    Returns
    -------
    array
        ``(c_out, c_in / groups, K)`` for the channel layout, ``(K,)`` otherwise.

    Raises
    ------
    ValueError
        Inconsistent shapes or ``groups``.
    TypeError
        Mixed backends or dtypes, integer/float16 input.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import shift_correlate, shift_trace_from_sketch, sketch_grid
    >>> from randla.random import draw_probes
    >>> X, Y = np.arange(1.0, 5.0)[None], np.ones((1, 4))      # batch of one
    >>> Z = draw_probes("orthonormal", 4, 4, rng=0)            # exact at r = N
    >>> est = shift_trace_from_sketch(sketch_grid(X, Z, grid_ndim=1),
    ...                               shift_correlate(Y, Z, [-1, 0, 1]))
    >>> np.round(est, 12)
    array([ 6., 10.,  9.])
    """
    xp = check_arrays(Xbar=Xbar, Ybar=Ybar)
    if not 1 <= Xbar.ndim <= 3 or Ybar.ndim != Xbar.ndim + 1:
        raise ValueError(
            "Xbar must have shape (batch, c_in, r), (batch, r) or (r,) and Ybar one "
            f"more axis (the offsets), got {tuple(Xbar.shape)} and {tuple(Ybar.shape)}"
        )
    if Xbar.shape[-1] != Ybar.shape[-1] or Xbar.shape[-1] < 1:
        raise ValueError(f"Xbar and Ybar must hold the same number of probes r >= 1, got "
                         f"{Xbar.shape[-1]} and {Ybar.shape[-1]}")
    if Xbar.ndim >= 2 and Xbar.shape[0] != Ybar.shape[0]:
        raise ValueError(f"Xbar and Ybar must have the same batch size, got "
                         f"{Xbar.shape[0]} and {Ybar.shape[0]}")
    groups = check_positive_int(groups, "groups")
    channel_form = Xbar.ndim == 3
    r = int(Xbar.shape[-1])
    batch = int(Xbar.shape[0]) if Xbar.ndim >= 2 else 1
    c_in = int(Xbar.shape[1]) if channel_form else 1
    c_out = int(Ybar.shape[1]) if channel_form else 1
    if c_in % groups or c_out % groups:
        raise ValueError(f"groups={groups} must divide the channels of Xbar ({c_in}) and "
                         f"Ybar ({c_out})")
    K = int(Ybar.shape[-2])
    est = _from_sketch_body(xp, xp.reshape(Xbar, (batch, c_in, r)),
                            xp.reshape(Ybar, (batch, c_out, K, r)), groups)
    return _finish(xp, est, channel_form)


def shift_trace(
    X: Any, Y: Any, offsets: Any, /, *, num_probes: int, probe: str = "rademacher",
    rng: Any = None, parallel: bool = False, native: bool = False,
) -> Any:
    r"""Randomized estimate of ``tr(X Y^T T_k)`` for every grid offset ``k``.

    Draws ``Z = draw_probes(probe, N, num_probes, rng=rng)`` on the grid's
    ``N`` points (``E[Z Z^T] = num_probes I``) and returns
    ``shift_trace_from_sketch(sketch_grid(X, Z), shift_correlate(Y, Z, offsets))``,
    i.e. ``(1/r) tr(Z^T X Y^T T_k Z)`` summed over the batch. Unbiased for
    every probe kind; exact for ``probe="orthonormal"`` or ``"srft"`` with
    ``num_probes = N``. For Gaussian probes the variance of each entry is
    ``2 ||S_k||_F^2 / r`` with ``S_k`` the symmetric part of
    ``A_k = sum_b X_b Y_b^T T_k`` (Rademacher: minus ``2 sum_i (S_k)_{ii}^2 / r``).

    Parameters
    ----------
    X, Y : array
        As in :func:`shift_trace_exact`.
    offsets : sequence of tuple of int
        ``K`` offsets of length ``d`` (the grid dimension, 1 to 3).
    num_probes : int
        ``r >= 1`` (``<= N`` for orthonormal and srft probes).
    probe : {"rademacher", "gaussian", "sphere", "orthonormal", "srft", "sparse_sign"}
    rng : int, numpy.random.Generator or None
        Seed of the probes; the same seed gives the same estimate on NumPy,
        torch and array_api_strict (probes drawn on the host).
    parallel : bool
        Host arrays only: multi-threaded Numba correlation kernel.
    native : bool
        Draw the probes on the device with the backend's generator.

    Returns
    -------
    array
        ``(c_out, c_in, K)`` for the channel layout, ``(K,)`` otherwise.

    Raises
    ------
    ValueError
        Mismatched shapes, offsets with the wrong number of entries,
        ``num_probes < 1`` (or ``> N`` for orthonormal/srft), unknown ``probe``,
        non-finite values, mixed devices.
    TypeError
        Mixed backends or dtypes, integer/float16 input.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import shift_trace, shift_trace_exact
    >>> rng = np.random.default_rng(0)
    >>> X = rng.standard_normal((8, 3, 16, 16))       # (batch, c_in, 16 x 16 grid)
    >>> Y = rng.standard_normal((8, 2, 16, 16))       # (batch, c_out, grid)
    >>> offsets = [(-1, 0), (0, 0), (0, 1)]
    >>> est = shift_trace(X, Y, offsets, num_probes=32, rng=1)
    >>> est.shape
    (2, 3, 3)
    >>> exact = shift_trace(X, Y, offsets, num_probes=256, probe="orthonormal", rng=1)
    >>> bool(np.allclose(exact, shift_trace_exact(X, Y, offsets)))
    True
    """
    xp, offs, batch, c_in, c_out, grid, channel_form = check_fields(X, Y, offsets)
    N = math.prod(grid)
    r = check_num_probes(num_probes, probe, N)
    Z = draw_probes(probe, N, r, rng=rng, xp=xp, dtype=X.dtype, device=device_of(X),
                    native=native)
    Xbar = _sketch_body(xp, X, Z, (batch, c_in))
    Ybar = _correlate_body(xp, Y, Z, offs, (batch, c_out), grid, grid, (1,) * len(grid),
                           bool(parallel))
    return _finish(xp, _from_sketch_body(xp, Xbar, Ybar, 1), channel_form)
