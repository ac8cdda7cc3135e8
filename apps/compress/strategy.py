"""The ``Compressed`` wavefield-history strategy: store the forward history through a codec.

During the forward sweep the strategy forms the stored quantity of each step,
buffers ``window`` steps, cuts them into blocks (:class:`Blocking`) and
encodes them; the last partial window is kept raw. During the adjoint sweep
it decodes one window at a time (newest first) and correlates. No forward
step is ever recomputed, and the stored history can be replayed in forward
order (:meth:`Compressed.replay`) for Gauss-Newton products: compress once at
a model, decompress per product.

Which quantity to store
-----------------------
The seam's image is ``s * sum_t v^t (D2 u)^t`` with ``D2`` the second time
difference. Compressing ``u`` with error ``e`` perturbs it by
``s * sum_t e^t (D2^T v)^t`` (summation by parts), bounded by
``|s| |E|_F |D2^T V|_F``; compressing ``D2 u`` with error ``e`` perturbs it by
``s * sum_t v^t e^t``, bounded by ``|s| |E|_F |V|_F``. Since ``D2`` damps the
smooth wavefield by about ``(omega dt)^2``, the same *relative* error costs
more on ``D2 u`` (it is smaller) unless the error is itself broadband and
uncorrelated in time with ``D2^T v``. Measured on a 2-D layered shot
(``benchmarks/compress_table.py --quantities``), storing ``u`` gave smaller
gradient errors than storing ``D2 u`` at equal or higher ratios for every
codec tried (512^2 grid, 843 steps: zfp 1e-2 5.3e-4 against 4.0e-2 at ratios
55 / 49; low rank 0.12 against 1.04), and time blocks (a tile over a window
of steps) beat space blocks for the learned codecs. So the default is
``quantity="u"`` with blocks in time; ``"u_tt"`` remains available (its
:meth:`Compressed.replay` rebuilds ``u`` by the exact inverse recursion
``u^t = (D2 u)^t + 2 u^{t-1} - u^{t-2}``).

References
----------
S. Wittmer et al., Inverse Problems 39, 2023.
"""

from __future__ import annotations

import math
from typing import Any, ClassVar

from randla.backend import nbytes
from randla.apps.wave import WavefieldHistory

from .blocking import Blocking
from .codecs import Codec, Encoded

__all__ = ["QUANTITIES", "Compressed"]

#: What a :class:`Compressed` history may store.
QUANTITIES = ("u", "u_tt")


def _cross_correlation_types() -> tuple:
    types = []
    for mod in ("randla.apps.wave.imaging", "randla.apps.fwi.imaging"):
        try:
            module = __import__(mod, fromlist=["CrossCorrelation"])
        except ImportError:
            continue
        cls = getattr(module, "CrossCorrelation", None)
        if cls is not None:
            types.append(cls)
    return tuple(types)


def _check_imaging(imaging: Any) -> Any:
    if imaging is None:
        return None
    types = _cross_correlation_types()
    if types and isinstance(imaging, types):
        return imaging
    raise ValueError(f"Compressed supports the cross-correlation imaging condition only (it stores "
                     f"D2 u or u, not the spatial derivatives ISIC needs), got {type(imaging).__name__}")


class _WindowStream:
    """Forward side: the stored quantity of each step, gathered into window stacks."""

    def __init__(self, context: Any, blocking: Blocking, quantity: str) -> None:
        xp, dtype, device = context.xp, context.dtype, context.device
        self.xp = xp
        self.blocking = blocking
        self.quantity = quantity
        self.grid = tuple(int(n) for n in context.shape)
        if len(self.grid) != len(blocking.tile):
            raise ValueError(f"blocking tile {blocking.tile} has {len(blocking.tile)} axes but the grid "
                             f"{self.grid} has {len(self.grid)}")
        self.padded = blocking.padded_shape(self.grid)
        self.inner = tuple(slice(0, n) for n in self.grid)
        self.stack = xp.zeros((blocking.window, *self.padded), dtype=dtype, device=device)
        self.prev1 = xp.zeros(self.grid, dtype=dtype, device=device)
        self.prev2 = xp.zeros(self.grid, dtype=dtype, device=device)
        self.next_t = 0

    def push(self, t: int, u: Any) -> bool:
        """Store step ``t``; True when the window stack is full."""
        if t != self.next_t:
            raise RuntimeError(f"forward steps must arrive in order: expected t={self.next_t}, got {t}")
        self.next_t += 1
        k = t % self.blocking.window
        if self.quantity == "u_tt":
            self.stack[(k, *self.inner)] = u - 2 * self.prev1 + self.prev2
            self.prev1, self.prev2 = self.prev2, self.prev1
            self.prev1[...] = u
        else:
            self.stack[(k, *self.inner)] = u
        return k == self.blocking.window - 1

    @property
    def nbytes(self) -> int:
        return nbytes(self.stack) + nbytes(self.prev1) + nbytes(self.prev2)


class Compressed(WavefieldHistory):
    """Wavefield history stored through a codec (autoencoder, low rank, zfp, SZ3...).

    Parameters
    ----------
    codec : Codec
        A trained codec whose block shape matches ``blocking``.
    blocking : Blocking
        Tile and time window of the blocks (must be the codec's).
    quantity : {"u", "u_tt"}
        Stored quantity: the field ``u`` (default, see the module docstring)
        or its second time difference ``D2 u``.
    imaging : optional
        Imaging condition; ``None`` or cross-correlation (the only one this
        strategy supports).
    measure_error : bool
        Decode each window right after encoding it and record the achieved
        error (:attr:`block_error`, :attr:`max_block_error`); costs one decode
        per window.

    Attributes
    ----------
    exact : bool
        True only for a lossless codec.
    replayable : bool
        True: :meth:`replay` gives the stored forward field back.
    compression_ratio : float
        float32 bytes of the stored quantity's history over the stored bytes.
    block_error, max_block_error : float or None
        Relative Frobenius error of all encoded windows and the largest
        per-block relative error (``measure_error=True`` only).
    num_corrected, num_raw : int
        Blocks corrected / stored raw by an :class:`ErrorBounded` codec.

    Raises
    ------
    TypeError
        For a codec or blocking of the wrong type.
    ValueError
        If the codec's block shape does not match the blocking, for an
        unknown quantity or an unsupported imaging condition.
    RuntimeError
        If the codec is not trained.

    References
    ----------
    S. Wittmer, T. Badger, H. Sundar and T. Bui-Thanh, Inverse Problems 39, 2023.

    Examples
    --------
    A lossless codec gives the exact gradient:

    >>> import numpy as np
    >>> from randla.apps.wave import FullStorage, Geometry, gradient, layered_model
    >>> from randla.apps.compress import Blocking, Compressed, RawCodec
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> d_obs = np.zeros((geom.nt, geom.nrec))
    >>> history = Compressed(RawCodec(), blocking=Blocking((8, 8), window=4))
    >>> _, g = gradient(model, geom, d_obs, history=history)
    >>> _, g_full = gradient(model, geom, d_obs, history=FullStorage())
    >>> bool(np.allclose(g, g_full, rtol=1e-10, atol=0))
    True
    """

    exact: ClassVar[bool] = False
    replayable: ClassVar[bool] = True

    def __init__(self, codec: Codec, /, *, blocking: Blocking, quantity: str = "u", imaging: Any = None,
                 measure_error: bool = False) -> None:
        super().__init__()
        if not isinstance(codec, Codec):
            raise TypeError(f"codec must be a randla.apps.compress Codec, got {type(codec).__name__}")
        if not isinstance(blocking, Blocking):
            raise TypeError(f"blocking must be a Blocking, got {type(blocking).__name__}")
        codec.check_block_shape(blocking.block_shape)
        if not codec.trained:
            raise RuntimeError(f"{type(codec).__name__} is not trained: call train_codec(codec, blocks) first")
        if quantity not in QUANTITIES:
            raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
        self.codec = codec
        self.blocking = blocking
        self.quantity = quantity
        self.imaging = _check_imaging(imaging)
        self.measure_error = bool(measure_error)
        self.exact = bool(codec.lossless)  # type: ignore[misc]
        self._reset()

    def __repr__(self) -> str:
        return f"Compressed({self.codec!r}, blocking={self.blocking!r}, quantity={self.quantity!r})"

    def spawn(self, rng: Any = None) -> "Compressed":
        """A fresh strategy for another shot (same codec, blocking and options)."""
        return Compressed(self.codec, blocking=self.blocking, quantity=self.quantity, imaging=self.imaging,
                          measure_error=self.measure_error)

    def _reset(self) -> None:
        self._stream: _WindowStream | None = None
        self._encoded: list[Encoded] = []
        self._tail = None
        self._ended = False
        self._image = None
        self._v1 = self._v2 = None
        self._cache: dict = {}
        self._replay: dict = {}
        self._err2 = self._norm2 = 0.0
        self._max_err = 0.0

    # -- the seam ------------------------------------------------------------------

    def setup(self, context: Any) -> None:
        super().setup(context)
        self._reset()
        self._stream = _WindowStream(context, self.blocking, self.quantity)

    def observe(self, t: int, u: Any, /) -> None:
        self._require_context()
        stream = self._stream
        if stream.push(t, u):
            blocks = self.blocking.to_blocks(stream.stack)
            encoded = self.codec.encode(blocks)
            self._encoded.append(encoded)
            if self.measure_error:
                self._measure(blocks, self.codec.decode(encoded))

    def _measure(self, blocks: Any, decoded: Any) -> None:
        xp = self.context.xp
        n = int(blocks.shape[0])
        x = xp.astype(xp.reshape(blocks, (n, -1)), xp.float64)
        e = xp.astype(xp.reshape(decoded, (n, -1)), xp.float64) - x
        err2, norm2 = xp.sum(e * e, axis=1), xp.sum(x * x, axis=1)
        self._err2 += float(xp.sum(err2))
        self._norm2 += float(xp.sum(norm2))
        nonzero = norm2 > 0
        if bool(xp.any(nonzero)):
            self._max_err = max(self._max_err, float(xp.max(xp.sqrt(err2[nonzero] / norm2[nonzero]))))

    def end_forward(self) -> None:
        ctx = self._require_context()
        stream = self._stream
        rest = ctx.nt % self.blocking.window
        if stream.next_t != ctx.nt:
            raise RuntimeError(f"end_forward after {stream.next_t} of {ctx.nt} steps")
        # the last partial window is stored raw (as the paper does)
        self._tail = ctx.xp.asarray(stream.stack[(slice(0, rest), *stream.inner)], copy=True) if rest else None
        # the forward buffers are not needed any more
        self._stream = None
        self._grid = stream.grid
        self._padded = stream.padded
        self._inner = stream.inner
        self._ended = True
        self.restart_adjoint()

    def _stored(self, t: int, cache: dict) -> Any:
        """Stored quantity at step ``t`` (decoding its window into ``cache``)."""
        w = self.blocking.window
        k = t // w
        if k >= len(self._encoded):
            return self._tail[t - k * w, ...]
        if cache.get("window") != k:
            cache.clear()
            decoded = self.codec.decode(self._encoded[k])
            cache["stack"] = self.blocking.from_blocks(decoded, self._padded)
            cache["window"] = k
        return cache["stack"][(t % w, *self._inner)]

    def correlate(self, t: int, v: Any, /) -> None:
        self._require_context()
        if not self._ended:
            raise RuntimeError("correlate() before end_forward()")
        field = self._stored(t, self._cache)
        if self.quantity == "u_tt":
            self._image = self._image + v * field
        else:
            # summation by parts: sum_t u^t (v^t - 2 v^{t+1} + v^{t+2})
            self._image = self._image + field * (v - 2 * self._v1 + self._v2)
            self._v2 = self._v1
            self._v1 = self.context.xp.asarray(v, copy=True)

    def gradient(self) -> Any:
        ctx = self._require_context()
        return ctx.imaging_scale * self._image

    # -- replay (Gauss-Newton products) ----------------------------------------------

    def restart_adjoint(self) -> None:
        """Forget the accumulated image so another adjoint sweep can run against
        the same stored history."""
        ctx = self._require_context()
        if not self._ended:
            raise RuntimeError("restart_adjoint() before end_forward()")
        zeros = lambda: ctx.xp.zeros(tuple(ctx.shape), dtype=ctx.dtype, device=ctx.device)  # noqa: E731
        self._image = zeros()
        if self.quantity == "u":
            self._v1, self._v2 = zeros(), zeros()
        self._cache.clear()

    def replay(self, t: int, /) -> Any:
        """The stored forward field ``u^t`` (after :meth:`end_forward`).

        Calls in forward order (``t = 0, 1, ...``) cost one step each; any other
        order restarts from ``t = 0`` (repeatable). With ``quantity="u_tt"`` the
        field is rebuilt by ``u^t = (D2 u)^t + 2 u^{t-1} - u^{t-2}``. The
        returned array is valid until the next call.

        Raises
        ------
        RuntimeError
            Before the forward sweep has ended.
        ValueError
            For ``t`` outside ``[0, nt - 1]``.
        """
        ctx = self._require_context()
        if not self._ended:
            raise RuntimeError("replay() needs a finished forward sweep (after end_forward)")
        if int(t) != t or not 0 <= t < ctx.nt:
            raise ValueError(f"t must be an integer in [0, {ctx.nt - 1}], got {t!r}")
        t = int(t)
        if self.quantity == "u":
            return self._stored(t, self._replay)
        state = self._replay.setdefault("state", {"next": 0, "u1": None, "u2": None})
        if t < state["next"]:
            state.update(next=0, u1=None, u2=None)
        xp = ctx.xp
        while state["next"] <= t:
            d2 = self._stored(state["next"], self._replay)
            u = xp.asarray(d2, copy=True)
            if state["u1"] is not None:
                u = u + 2 * state["u1"]
            if state["u2"] is not None:
                u = u - state["u2"]
            state["u2"], state["u1"] = state["u1"], u
            state["next"] += 1
        return state["u1"]

    # -- accounting ------------------------------------------------------------------

    @property
    def stored_nbytes(self) -> int:
        """Bytes of the compressed history (all encoded windows and the raw tail)."""
        total = sum(e.nbytes for e in self._encoded)
        return total + (nbytes(self._tail) if self._tail is not None else 0)

    @property
    def compression_ratio(self) -> float:
        ctx = self._require_context()
        full = 4 * ctx.nt * math.prod(ctx.shape)
        return full / max(self.stored_nbytes, 1)

    @property
    def block_error(self) -> float | None:
        if not self.measure_error:
            return None
        return math.sqrt(self._err2 / self._norm2) if self._norm2 > 0 else 0.0

    @property
    def max_block_error(self) -> float | None:
        return self._max_err if self.measure_error else None

    @property
    def num_corrected(self) -> int:
        return sum(int(e.info.get("num_corrected", 0)) for e in self._encoded)

    @property
    def num_raw(self) -> int:
        return sum(int(e.info.get("num_raw", 0)) for e in self._encoded)

    @property
    def nbytes(self) -> int:
        if self.context is None:
            return 0
        total = self.stored_nbytes
        if self._stream is not None:
            total += self._stream.nbytes
        for arr in (self._image, self._v1, self._v2):
            if arr is not None:
                total += nbytes(arr)
        for cache in (self._cache, self._replay):
            if "stack" in cache:
                total += nbytes(cache["stack"])
            state = cache.get("state")
            if state:
                total += sum(nbytes(state[k]) for k in ("u1", "u2") if state[k] is not None)
        return total
