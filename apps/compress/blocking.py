"""Blocks of a wavefield history and their per-vector min-max normalisation.

A *block* is what a codec compresses at once: a spatial tile of the grid over
a window of ``window`` consecutive time steps, shape ``(window, *tile)``.
``window = 1`` is the paper's compression "in space" (a tile at one time
step, Section 3.1), ``window > 1`` its compression "in time" (Section 3.2:
64 nodes x 16 steps x 4 Runge-Kutta stages = 4096 there; here e.g. an
``8 x 8`` tile over 64 steps, or ``16 x 16`` over 16). The grid is padded
with zeros up to a multiple of the tile. The last, partial time window of a
history is not compressed (the paper stores it raw;
:class:`~randla.apps.compress.Compressed` does too).

Normalisation (Section 3.3.1): each block ``y_true`` is mapped to
``y = (y_true - min) / r`` with ``r = max(max - min, beta)``, ``beta = 1e-7``;
the offset ``min`` and scale ``r`` are kept in float64 (16 bytes per block,
counted in every compression ratio).

References
----------
S. Wittmer et al., Inverse Problems 39, 2023, Sections 3.1-3.3.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from randla.backend import check_float, check_positive_int, namespace

__all__ = ["BETA", "Blocking", "denormalize", "normalize"]

#: The paper's floor on a block's range ``r`` (Section 3.3.1).
BETA = 1e-7


class Blocking:
    """How a stack of fields is cut into blocks ``(window, *tile)``.

    Parameters
    ----------
    tile : sequence of int
        Spatial tile, one entry per grid axis (2-D or 3-D).
    window : int
        Time steps per block (1: "in space"; > 1: "in time").

    Attributes
    ----------
    block_shape : tuple of int
        ``(window, *tile)``.
    block_size : int
        ``window * prod(tile)`` (the autoencoder's input size).

    Raises
    ------
    ValueError
        For a tile that is not 1-3 positive integers, or a bad window.

    References
    ----------
    S. Wittmer et al., Inverse Problems 39, 2023, Sections 3.1-3.2.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import Blocking
    >>> blocking = Blocking((4, 4), window=2)
    >>> stack = np.arange(2 * 6 * 8, dtype=np.float32).reshape(2, 6, 8)
    >>> padded = blocking.padded_shape((6, 8))
    >>> full = np.zeros((2, *padded), dtype=np.float32); full[:, :6, :8] = stack
    >>> blocks = blocking.to_blocks(full)
    >>> blocks.shape, bool(np.array_equal(blocking.from_blocks(blocks, padded), full))
    ((4, 2, 4, 4), True)
    """

    def __init__(self, tile: Sequence[int], *, window: int = 1) -> None:
        try:
            tile = tuple(tile)
        except TypeError:
            raise TypeError(f"tile must be a sequence of integers, got {tile!r}") from None
        if not 1 <= len(tile) <= 3:
            raise ValueError(f"tile must have 1 to 3 entries (one per grid axis), got {tile!r}")
        self.tile = tuple(check_positive_int(t, "tile") for t in tile)
        self.window = check_positive_int(window, "window")
        self.block_shape = (self.window, *self.tile)
        self.block_size = int(math.prod(self.block_shape))

    def __repr__(self) -> str:
        return f"Blocking(tile={self.tile}, window={self.window})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Blocking) and other.block_shape == self.block_shape

    def __hash__(self) -> int:
        return hash(self.block_shape)

    def padded_shape(self, grid_shape: Sequence[int], /) -> tuple[int, ...]:
        """Grid shape rounded up to a multiple of the tile."""
        grid_shape = tuple(int(n) for n in grid_shape)
        if len(grid_shape) != len(self.tile):
            raise ValueError(f"grid has {len(grid_shape)} axes but the tile {self.tile} has {len(self.tile)}")
        return tuple(-(-n // t) * t for n, t in zip(grid_shape, self.tile))

    def num_blocks(self, grid_shape: Sequence[int], /) -> int:
        """Blocks per time window on a grid of ``grid_shape``."""
        return int(math.prod(n // t for n, t in zip(self.padded_shape(grid_shape), self.tile)))

    def to_blocks(self, stack: Any, /) -> Any:
        """``(window, *padded_grid)`` -> ``(num_blocks, window, *tile)`` (a copy)."""
        xp = namespace(stack=stack)
        d = len(self.tile)
        shape = tuple(int(n) for n in stack.shape)
        if len(shape) != d + 1 or shape[0] != self.window or any(n % t for n, t in zip(shape[1:], self.tile)):
            raise ValueError(f"stack must have shape (window={self.window}, *grid) with every grid axis a "
                             f"multiple of the tile {self.tile}, got {shape}")
        counts = [n // t for n, t in zip(shape[1:], self.tile)]
        split = [self.window]
        for c, t in zip(counts, self.tile):
            split += [c, t]
        x = xp.reshape(stack, tuple(split))
        order = tuple(1 + 2 * k for k in range(d)) + (0,) + tuple(2 + 2 * k for k in range(d))
        x = xp.permute_dims(x, order)
        return xp.reshape(x, (int(math.prod(counts)), *self.block_shape))

    def from_blocks(self, blocks: Any, grid_shape: Sequence[int], /) -> Any:
        """Inverse of :meth:`to_blocks`: ``(window, *grid_shape)`` (padded grid)."""
        xp = namespace(blocks=blocks)
        d = len(self.tile)
        grid_shape = tuple(int(n) for n in grid_shape)
        if any(n % t for n, t in zip(grid_shape, self.tile)) or len(grid_shape) != d:
            raise ValueError(f"grid_shape {grid_shape} is not a multiple of the tile {self.tile}")
        counts = [n // t for n, t in zip(grid_shape, self.tile)]
        if tuple(blocks.shape) != (math.prod(counts), *self.block_shape):
            raise ValueError(f"blocks must have shape {(math.prod(counts), *self.block_shape)}, "
                             f"got {tuple(blocks.shape)}")
        x = xp.reshape(blocks, (*counts, *self.block_shape))
        # axes now: c_1..c_d, window, t_1..t_d  ->  window, c_1, t_1, ..., c_d, t_d
        order = (d,)
        for k in range(d):
            order += (k, d + 1 + k)
        x = xp.permute_dims(x, order)
        return xp.reshape(x, (self.window, *grid_shape))


def normalize(blocks: Any, /, *, beta: float = BETA) -> tuple[Any, Any, Any]:
    """Per-block min-max normalisation to ``[0, 1]`` (Wittmer et al. 2023, Section 3.3.1).

    Parameters
    ----------
    blocks : array, shape (n, ...)
        Real blocks; every trailing axis is flattened.
    beta : float
        Floor of the range ``r = max(max - min, beta)``.

    Returns
    -------
    y : array, shape (n, size)
        ``(blocks - offset) / scale``, in the blocks' dtype.
    offset, scale : arrays, shape (n,)
        Per-block minimum and range, float64.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import denormalize, normalize
    >>> x = np.array([[1.0, 3.0, 2.0], [5.0, 5.0, 5.0]], dtype=np.float32)
    >>> y, offset, scale = normalize(x)
    >>> y[0].tolist(), scale.tolist()
    ([0.0, 1.0, 0.5], [2.0, 1e-07])
    >>> bool(np.allclose(denormalize(y, offset, scale), x))
    True
    """
    xp = namespace(blocks=blocks)
    check_float(blocks, "blocks")
    if blocks.ndim < 2:
        raise ValueError(f"blocks must have shape (n, ...), got {tuple(blocks.shape)}")
    if not (math.isfinite(beta) and beta > 0):
        raise ValueError(f"beta must be positive, got {beta!r}")
    return _normalize(xp, blocks, float(beta))


def _normalize(xp: Any, blocks: Any, beta: float) -> tuple[Any, Any, Any]:
    n = int(blocks.shape[0])
    flat = xp.reshape(blocks, (n, -1))
    wide = xp.astype(flat, xp.float64)
    offset = xp.min(wide, axis=1)
    scale = xp.maximum(xp.max(wide, axis=1) - offset, beta)
    y = xp.astype((wide - offset[:, None]) / scale[:, None], blocks.dtype)
    return y, offset, scale


def denormalize(y: Any, offset: Any, scale: Any, /) -> Any:
    """``y * scale + offset`` per row, in ``y``'s dtype (inverse of :func:`normalize`).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import denormalize, normalize
    >>> x = np.array([[1.0, 3.0, 2.0]], dtype=np.float32)
    >>> denormalize(*normalize(x)).tolist()
    [[1.0, 3.0, 2.0]]
    """
    xp = namespace(y=y, offset=offset, scale=scale)
    if y.ndim != 2 or tuple(offset.shape) != (y.shape[0],) or tuple(scale.shape) != (y.shape[0],):
        raise ValueError("y must be (n, size) and offset, scale of shape (n,)")
    return _denormalize(xp, y, offset, scale)


def _denormalize(xp: Any, y: Any, offset: Any, scale: Any) -> Any:
    out = xp.astype(y, xp.float64) * scale[:, None] + offset[:, None]
    return xp.astype(out, y.dtype)
