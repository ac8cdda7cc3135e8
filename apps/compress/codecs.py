"""Block codecs behind one interface: autoencoder, low rank, zfp, SZ3, float16, raw.

Every codec compresses a batch of blocks ``(n, *block_shape)`` (see
:class:`~randla.apps.compress.Blocking`) into an :class:`Encoded` record and
back::

    encoded = codec.encode(blocks)     # validates: shape, finite, trained
    blocks2 = codec.decode(encoded)    # same shape, dtype, namespace, device
    encoded.nbytes                     # every stored byte (codes, scales, masks, streams)
    encoded.ratio                      # float32 bytes of the blocks / encoded.nbytes

Learned codecs (:class:`AutoencoderCodec`, :class:`LowRankCodec`) work on
min-max normalised blocks (:func:`~randla.apps.compress.normalize`); their
weights / basis are model parameters shared by every history and not counted
in ``nbytes`` (they are reported as the training cost instead). Blocks whose
range is below ``beta`` are stored as their offset only (a bit mask says
which), which zfp and SZ3 get for free on quiet regions.

:class:`ErrorBounded` wraps any codec with a per-block pointwise tolerance:
blocks that miss it store an SZ-style quantised residual (entropy-coded with
zlib) or, failing that, the raw values (AE-SZ, Liu et al. 2021).

zfp and SZ3 (optional extras ``zfpy``, ``pysz``) and the residual coding run
on the host: they copy explicitly with :func:`randla.backend.to_host` and back
with :func:`randla.backend.from_host`. The others run on the blocks' backend.

References
----------
S. Wittmer et al., Inverse Problems 39, 2023.

P. Lindstrom, "Fixed-rate compressed floating-point arrays", IEEE TVCG 20(12),
2674-2683, 2014 (zfp).

X. Liang, K. Zhao, S. Di et al., "SZ3: a modular framework for composing
prediction-based error-bounded lossy compressors", IEEE Trans. Big Data, 2022.

J. Liu, S. Di, K. Zhao et al., "Exploring autoencoder-based error-bounded
compression for scientific data", IEEE CLUSTER 2021 (AE-SZ).
"""

from __future__ import annotations

import dataclasses
import math
import zlib
from typing import Any, ClassVar

import numpy as np

from randla.backend import check_finite, check_float, check_positive_int, from_host, namespace, nbytes, to_host

from .autoencoder import Autoencoder
from .blocking import BETA, _denormalize, _normalize

__all__ = [
    "AutoencoderCodec",
    "Codec",
    "Encoded",
    "ErrorBounded",
    "Float16Codec",
    "LowRankCodec",
    "RawCodec",
    "SZ3Codec",
    "ZfpCodec",
    "evaluate_codec",
]


@dataclasses.dataclass
class Encoded:
    """One encoded batch of blocks.

    Attributes
    ----------
    payload : dict
        The stored arrays / byte strings (codec-specific).
    shape : tuple of int
        Shape of the encoded blocks ``(n, *block_shape)``.
    nbytes : int
        Every stored byte.
    dtype, xp, device
        Of the blocks (what :meth:`Codec.decode` returns).
    info : dict
        Codec-specific counters (e.g. fallbacks of :class:`ErrorBounded`).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import RawCodec
    >>> enc = RawCodec().encode(np.ones((3, 8), dtype=np.float32))
    >>> enc.shape, enc.nbytes
    ((3, 8), 96)
    """

    payload: dict
    shape: tuple
    nbytes: int
    dtype: Any
    xp: Any
    device: Any
    info: dict = dataclasses.field(default_factory=dict)

    @property
    def ratio(self) -> float:
        """Compression ratio against float32: ``4 * size / nbytes``."""
        return 4.0 * math.prod(self.shape) / max(self.nbytes, 1)


def _mask_bytes(n: int) -> int:
    return (n + 7) // 8


def _expand(xp: Any, compact: Any, mask: Any) -> Any:
    """Rows of ``compact`` placed at the True entries of ``mask`` (zeros elsewhere)."""
    n = int(mask.shape[0])
    shape = (n, *compact.shape[1:])
    if int(compact.shape[0]) == 0:
        return xp.zeros(shape, dtype=compact.dtype, device=compact.device if hasattr(compact, "device") else None)
    pos = xp.cumulative_sum(xp.astype(mask, xp.int64)) - 1
    pos = xp.maximum(pos, xp.zeros_like(pos))
    full = xp.take(compact, pos, axis=0)
    keep = xp.reshape(mask, (n,) + (1,) * (len(shape) - 1))
    return xp.where(keep, full, xp.zeros_like(full))


class Codec:
    """Base class: validation and the encode / decode protocol.

    Subclasses set ``lossless`` and implement ``_encode(xp, blocks)`` and
    ``_decode(encoded)``. ``block_shape`` (or only ``block_size``) restricts the
    accepted blocks; ``trained`` must be True before encoding.

    Attributes
    ----------
    block_shape : tuple of int or None
        Required ``blocks.shape[1:]`` (None: any).
    block_size : int or None
        Required ``prod(blocks.shape[1:])`` (None: any).
    trained : bool
        Whether the codec may encode.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import Float16Codec
    >>> codec = Float16Codec()                      # a concrete Codec
    >>> x = np.linspace(0, 1, 16, dtype=np.float32).reshape(2, 8)
    >>> enc = codec.encode(x)
    >>> enc.ratio, bool(np.allclose(codec.decode(enc), x, atol=1e-3))
    (2.0, True)
    """

    lossless: ClassVar[bool] = False

    def __init__(self) -> None:
        self.block_shape: tuple | None = None
        self.block_size: int | None = None
        self.trained = True

    def check_block_shape(self, block_shape: tuple, /) -> None:
        """Raise ``ValueError`` unless blocks of ``block_shape`` fit this codec."""
        block_shape = tuple(int(s) for s in block_shape)
        if self.block_shape is not None and block_shape != tuple(self.block_shape):
            raise ValueError(f"{type(self).__name__} was built for blocks of shape {tuple(self.block_shape)}, "
                             f"got blocks of shape {block_shape}: use the blocking it was trained with")
        if self.block_size is not None and math.prod(block_shape) != self.block_size:
            raise ValueError(f"{type(self).__name__} takes blocks of {self.block_size} values, got blocks of "
                             f"shape {block_shape} ({math.prod(block_shape)} values)")

    def encode(self, blocks: Any, /) -> Encoded:
        """Compress ``blocks`` of shape ``(n, *block_shape)``.

        Raises
        ------
        ValueError
            For blocks of the wrong shape or with NaN / inf values.
        RuntimeError
            If the codec is not trained.
        """
        xp = namespace(blocks=blocks)
        check_float(blocks, "blocks")
        if blocks.ndim < 2:
            raise ValueError(f"blocks must have shape (n, *block_shape), got {tuple(blocks.shape)}")
        self.check_block_shape(tuple(blocks.shape[1:]))
        if not self.trained:
            raise RuntimeError(f"{type(self).__name__} is not trained: call "
                               "randla.apps.compress.train_codec(codec, blocks) or load trained weights")
        check_finite(blocks, "blocks")
        return self._encode(xp, blocks)

    def decode(self, encoded: Encoded, /) -> Any:
        """Blocks back from :meth:`encode`'s record."""
        if not isinstance(encoded, Encoded):
            raise TypeError(f"encoded must be an Encoded record, got {type(encoded).__name__}")
        return self._decode(encoded)

    def _encode(self, xp: Any, blocks: Any) -> Encoded:  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode(self, encoded: Encoded) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


def _record(xp: Any, blocks: Any, payload: dict, stored: int, info: dict | None = None) -> Encoded:
    return Encoded(payload, tuple(int(s) for s in blocks.shape), int(stored), blocks.dtype, xp,
                   getattr(blocks, "device", None), info or {})


class RawCodec(Codec):
    """Lossless: keeps a copy of the blocks (ratio 1 for float32 blocks).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import RawCodec
    >>> x = np.ones((3, 8), dtype=np.float32)
    >>> enc = RawCodec().encode(x)
    >>> enc.ratio, bool(np.array_equal(RawCodec().decode(enc), x))
    (1.0, True)
    """

    lossless: ClassVar[bool] = True

    def _encode(self, xp: Any, blocks: Any) -> Encoded:
        copy = xp.asarray(blocks, copy=True)
        return _record(xp, blocks, {"values": copy}, nbytes(copy))

    def _decode(self, encoded: Encoded) -> Any:
        return encoded.payload["values"]


class Float16Codec(Codec):
    """Half precision: the trivial baseline (ratio 2 against float32).

    Raises
    ------
    TypeError
        When encoding arrays of a namespace without ``float16``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import Float16Codec
    >>> enc = Float16Codec().encode(np.full((2, 4), 1.0 / 3.0, dtype=np.float32))
    >>> enc.ratio
    2.0
    """

    def _encode(self, xp: Any, blocks: Any) -> Encoded:
        half = getattr(xp, "float16", None)
        if half is None:
            raise TypeError(f"{xp.__name__} has no float16 dtype: Float16Codec needs NumPy, CuPy or torch")
        values = xp.astype(blocks, half)
        return _record(xp, blocks, {"values": values}, 2 * math.prod(values.shape))

    def _decode(self, encoded: Encoded) -> Any:
        return encoded.xp.astype(encoded.payload["values"], encoded.dtype)


class _NormalizedCodec(Codec):
    """Min-max normalised blocks; blocks of range <= beta stored as offset only."""

    def __init__(self, *, beta: float = BETA) -> None:
        super().__init__()
        if not (math.isfinite(beta) and beta > 0):
            raise ValueError(f"beta must be positive, got {beta!r}")
        self.beta = float(beta)

    def _encode(self, xp: Any, blocks: Any) -> Encoded:
        n = int(blocks.shape[0])
        y, offset, scale = _normalize(xp, blocks, self.beta)
        active = scale > self.beta
        y_active = y[active, ...]
        codes = self._encode_normalized(xp, y_active)
        scale_active = scale[active]
        stored = nbytes(codes) + nbytes(offset) + nbytes(scale_active) + _mask_bytes(n)
        payload = {"codes": codes, "offset": offset, "scale": scale_active, "active": active}
        return _record(xp, blocks, payload, stored, {"num_constant": n - int(codes.shape[0])})

    def _decode(self, encoded: Encoded) -> Any:
        xp = encoded.xp
        p = encoded.payload
        n = encoded.shape[0]
        y_active = self._decode_normalized(xp, p["codes"])
        y_active = xp.astype(y_active, encoded.dtype)
        active = p["active"]
        y = _expand(xp, y_active, active)
        ones = xp.ones((n,), dtype=xp.float64, device=encoded.device)
        scale = xp.where(active, _expand(xp, p["scale"], active), ones * self.beta)
        out = _denormalize(xp, y, p["offset"], scale)
        return xp.reshape(out, encoded.shape)

    def _encode_normalized(self, xp: Any, y: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError

    def _decode_normalized(self, xp: Any, codes: Any) -> Any:  # pragma: no cover - abstract
        raise NotImplementedError


class AutoencoderCodec(_NormalizedCodec):
    """Latent codes of a trained :class:`~randla.apps.compress.Autoencoder`.

    Each non-constant block stores ``latent_size`` float32 values plus its
    offset and scale (float64): ``4 * latent + 16`` bytes against the
    ``4 * input_size`` of float32 (ratio 60 for the paper's 4096 -> 64).

    Parameters
    ----------
    autoencoder : Autoencoder
        Its ``input_size`` must equal the block size.
    block_shape : tuple of int, optional
        Fix the block shape (set by :func:`~randla.apps.compress.train_codec`).
    trained : bool
        Whether the weights are trained (``train_codec`` sets it; pass True for
        weights loaded from a file).
    beta : float
        Normalisation floor.

    Raises
    ------
    TypeError
        If ``autoencoder`` is not an :class:`Autoencoder`.

    References
    ----------
    S. Wittmer et al., Inverse Problems 39, 2023.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import Autoencoder, AutoencoderCodec
    >>> codec = AutoencoderCodec(Autoencoder(64, hidden=(16,), latent_size=4, rng=0), trained=True)
    >>> x = np.random.default_rng(0).random((10, 4, 4, 4), dtype=np.float32)
    >>> enc = codec.encode(x)
    >>> codec.decode(enc).shape, round(enc.ratio, 2)
    ((10, 4, 4, 4), 7.95)
    """

    def __init__(self, autoencoder: Autoencoder, /, *, block_shape: tuple | None = None, trained: bool = False,
                 beta: float = BETA) -> None:
        super().__init__(beta=beta)
        if not isinstance(autoencoder, Autoencoder):
            raise TypeError(f"autoencoder must be an Autoencoder, got {type(autoencoder).__name__}")
        self.autoencoder = autoencoder
        self.block_size = autoencoder.input_size
        self.block_shape = None if block_shape is None else tuple(int(s) for s in block_shape)
        if self.block_shape is not None:
            self.check_block_shape(self.block_shape)
        self.trained = bool(trained)

    def __repr__(self) -> str:
        a = self.autoencoder.architecture
        return f"AutoencoderCodec({a['input_size']} -> {a['hidden']} -> {a['latent_size']})"

    def _encode_normalized(self, xp: Any, y: Any) -> Any:
        ae = self.autoencoder
        namespace(blocks=y, weights=ae.params[0])
        return ae._run(xp.astype(y, ae.dtype), range(ae.num_encoder_layers))

    def _decode_normalized(self, xp: Any, codes: Any) -> Any:
        ae = self.autoencoder
        return ae._run(codes, range(ae.num_encoder_layers, len(ae._widths)))


class LowRankCodec(_NormalizedCodec):
    """Coefficients in a rank-``rank`` basis of the training blocks: the linear autoencoder.

    Fitted by :func:`~randla.apps.compress.train_codec` with
    :func:`randla.rsvd` of the centred, normalised training blocks (principal
    components); a block stores ``rank`` coefficients (in the blocks' dtype)
    plus offset and scale.

    Parameters
    ----------
    rank : int
        Number of basis vectors.
    oversample, power_iters : int
        Passed to :func:`randla.rsvd`.
    beta : float
        Normalisation floor.

    References
    ----------
    N. Halko, P.-G. Martinsson and J. A. Tropp, SIAM Review 53(2), 217-288, 2011.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import LowRankCodec, train_codec
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((200, 3)) @ rng.random((3, 16))).astype(np.float32)
    >>> codec = LowRankCodec(4)  # rank 3 plus the normalisation's offset direction
    >>> _ = train_codec(codec, x, rng=0, progress=False)
    >>> err = np.linalg.norm(codec.decode(codec.encode(x)) - x) / np.linalg.norm(x)
    >>> bool(err < 1e-4)
    True
    """

    def __init__(self, rank: int, *, oversample: int = 10, power_iters: int = 2, beta: float = BETA) -> None:
        super().__init__(beta=beta)
        self.rank = check_positive_int(rank, "rank")
        self.oversample = check_positive_int(oversample, "oversample", minimum=0)
        self.power_iters = check_positive_int(power_iters, "power_iters", minimum=0)
        self.basis = None
        self.mean = None
        self.trained = False

    def __repr__(self) -> str:
        return f"LowRankCodec(rank={self.rank})"

    def fit(self, blocks: Any, /, *, rng: Any = None) -> "LowRankCodec":
        """Basis of the normalised ``blocks`` ``(n, *block_shape)`` by :func:`randla.rsvd`."""
        from randla import rsvd

        xp = namespace(blocks=blocks)
        check_float(blocks, "blocks")
        check_finite(blocks, "blocks")
        n = int(blocks.shape[0])
        size = int(math.prod(blocks.shape[1:]))
        if self.rank > min(n, size):
            raise ValueError(f"rank={self.rank} exceeds min(num_blocks, block_size) = {min(n, size)}")
        y, _, scale = _normalize(xp, blocks, self.beta)
        y = y[scale > self.beta, ...]
        if int(y.shape[0]) < self.rank:
            raise ValueError(f"only {int(y.shape[0])} non-constant training blocks for rank {self.rank}")
        mean = xp.mean(y, axis=0)
        _, _, vt = rsvd(y - mean, self.rank, oversample=min(self.oversample, min(y.shape) - self.rank),
                        power_iters=self.power_iters, rng=rng)
        self.basis = vt.T
        self.mean = mean
        self.block_size = size
        self.block_shape = tuple(int(s) for s in blocks.shape[1:])
        self.trained = True
        return self

    def _encode_normalized(self, xp: Any, y: Any) -> Any:
        namespace(blocks=y, basis=self.basis)
        return (xp.astype(y, self.basis.dtype) - self.mean) @ self.basis

    def _decode_normalized(self, xp: Any, codes: Any) -> Any:
        return codes @ self.basis.T + self.mean


def _stacked(host: np.ndarray) -> np.ndarray:
    """Blocks as one array whose compressor blocks never straddle two tiles:
    ``(n, w, *tile)`` -> ``(n*w, *tile)``, and ``(n, 1, *tile)`` -> ``(n*t1, *tile[1:])``."""
    shape = host.shape
    if len(shape) >= 3 and shape[1] == 1:
        inner = shape[2:]
        if len(inner) == 1:
            return host.reshape(-1)
        return host.reshape((shape[0] * inner[0],) + tuple(inner[1:]))
    return host.reshape((shape[0] * shape[1],) + tuple(shape[2:]))


_CHUNK = 1 << 14


class _HostCodec(Codec):
    """Compressors of host arrays with an absolute tolerance ``tolerance * max|blocks|``."""

    def __init__(self, tolerance: float, *, relative: bool = True) -> None:
        super().__init__()
        if not (math.isfinite(tolerance) and tolerance > 0):
            raise ValueError(f"tolerance must be positive and finite, got {tolerance!r}")
        self.tolerance = float(tolerance)
        self.relative = bool(relative)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.tolerance:g})"

    def _encode(self, xp: Any, blocks: Any) -> Encoded:
        host = np.ascontiguousarray(to_host(blocks))
        peak = float(np.max(np.abs(host))) if host.size else 0.0
        tol = self.tolerance * peak if self.relative else self.tolerance
        streams = []
        if tol > 0:
            stacked = _stacked(host)
            # chunks keep every axis within the compressors' header limits (zfp: 2^16 per axis in 3-D)
            for i in range(0, stacked.shape[0], _CHUNK):
                streams.append(self._compress(np.ascontiguousarray(stacked[i:i + _CHUNK]), tol))
        stored = sum(len(s) for s in streams) + 8
        return _record(xp, blocks, {"streams": streams, "host_dtype": host.dtype}, stored)

    def _decode(self, encoded: Encoded) -> Any:
        p = encoded.payload
        if not p["streams"]:
            host = np.zeros(encoded.shape, dtype=p["host_dtype"])
        else:
            flat = _stacked(np.empty(encoded.shape, dtype=p["host_dtype"])).shape
            parts = []
            for k, stream in enumerate(p["streams"]):
                rows = min(_CHUNK, flat[0] - k * _CHUNK)
                parts.append(self._decompress(stream, p["host_dtype"], (rows, *flat[1:])).reshape(rows, *flat[1:]))
            host = np.concatenate(parts, axis=0).reshape(encoded.shape)
        return from_host(host, encoded.xp, dtype=encoded.dtype, device=encoded.device)


class ZfpCodec(_HostCodec):
    """zfp in fixed-accuracy mode (optional extra ``zfpy``).

    Parameters
    ----------
    tolerance : float
        Absolute error bound; with ``relative=True`` (default) it is relative
        to the largest magnitude of the encoded batch (8 bytes stored).
    relative : bool

    References
    ----------
    P. Lindstrom, IEEE TVCG 20(12), 2674-2683, 2014.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import ZfpCodec
    >>> x = np.sin(np.linspace(0, 20, 4 * 16 * 16, dtype=np.float32)).reshape(4, 4, 8, 8)
    >>> codec = ZfpCodec(1e-3)
    >>> bool(np.max(np.abs(codec.decode(codec.encode(x)) - x)) <= 1e-3)
    True
    """

    def __init__(self, tolerance: float, *, relative: bool = True) -> None:
        import zfpy  # noqa: F401 - fail at construction when the extra is missing

        super().__init__(tolerance, relative=relative)

    def _compress(self, host: np.ndarray, tol: float) -> bytes:
        import zfpy

        return zfpy.compress_numpy(host, tolerance=tol)

    def _decompress(self, stream: bytes, dtype: Any, shape: tuple) -> np.ndarray:
        import zfpy

        return zfpy.decompress_numpy(stream)


class SZ3Codec(_HostCodec):
    """SZ3 with an absolute error bound (optional extra ``pysz``).

    Parameters
    ----------
    tolerance : float
        Error bound; relative to the batch's largest magnitude by default.
    relative : bool

    References
    ----------
    X. Liang et al., IEEE Trans. Big Data, 2022.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import SZ3Codec
    >>> x = np.sin(np.linspace(0, 20, 4 * 16 * 16, dtype=np.float32)).reshape(4, 4, 8, 8)
    >>> codec = SZ3Codec(1e-3)
    >>> bool(np.max(np.abs(codec.decode(codec.encode(x)) - x)) <= 1.0001e-3)
    True
    """

    def __init__(self, tolerance: float, *, relative: bool = True) -> None:
        import pysz  # noqa: F401 - fail at construction when the extra is missing

        super().__init__(tolerance, relative=relative)

    def _compress(self, host: np.ndarray, tol: float) -> bytes:
        import pysz

        config = pysz.szConfig(host.shape)
        config.errorBoundMode = pysz.szErrorBoundMode.ABS
        config.absErrorBound = tol
        stream, _ = pysz.sz.compress(host, config)
        return stream.tobytes()

    def _decompress(self, stream: bytes, dtype: Any, shape: tuple) -> np.ndarray:
        import pysz

        out, _ = pysz.sz.decompress(np.frombuffer(stream, dtype=np.uint8), dtype, shape)
        return out


class ErrorBounded(Codec):
    """Any codec plus a per-block pointwise error bound (AE-SZ style).

    Every decoded block satisfies ``max|x - x~| <= tolerance * r`` with
    ``r = max(max(x) - min(x), beta)`` the block's range. Blocks the inner
    codec reconstructs within the bound cost nothing extra; the others store
    the residual quantised with step ``2 tolerance r`` (integers, zlib
    entropy-coded, plus the 8-byte step), and blocks whose quantised residual
    would not fit int16 or still miss the bound after rounding are stored raw.

    Parameters
    ----------
    codec : Codec
        The inner codec (typically :class:`AutoencoderCodec`).
    tolerance : float
        Pointwise bound relative to each block's range.
    beta : float
        Range floor (as in the normalisation).

    Attributes
    ----------
    num_blocks, num_corrected, num_raw : int
        Blocks encoded, corrected and stored raw since construction (or
        :meth:`reset_counts`); each :class:`Encoded` also carries its own in ``info``.

    References
    ----------
    J. Liu, S. Di, K. Zhao et al., IEEE CLUSTER 2021 (AE-SZ).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import ErrorBounded, Float16Codec
    >>> x = np.random.default_rng(0).random((20, 64)).astype(np.float32) * 1000
    >>> codec = ErrorBounded(Float16Codec(), 1e-5)
    >>> y = codec.decode(codec.encode(x))
    >>> bool(np.all(np.max(np.abs(y - x), axis=1) <= 1e-5 * np.ptp(x, axis=1))), codec.num_blocks
    (True, 20)
    """

    def __init__(self, codec: Codec, tolerance: float, *, beta: float = BETA) -> None:
        super().__init__()
        if not isinstance(codec, Codec):
            raise TypeError(f"codec must be a Codec, got {type(codec).__name__}")
        if not (math.isfinite(tolerance) and tolerance > 0):
            raise ValueError(f"tolerance must be positive and finite, got {tolerance!r}")
        self.codec = codec
        self.tolerance = float(tolerance)
        self.beta = float(beta)
        self.reset_counts()

    def __repr__(self) -> str:
        return f"ErrorBounded({self.codec!r}, {self.tolerance:g})"

    @property
    def block_shape(self) -> tuple | None:  # type: ignore[override]
        return self.codec.block_shape

    @block_shape.setter
    def block_shape(self, value: Any) -> None:
        pass

    @property
    def block_size(self) -> int | None:  # type: ignore[override]
        return self.codec.block_size

    @block_size.setter
    def block_size(self, value: Any) -> None:
        pass

    @property
    def trained(self) -> bool:  # type: ignore[override]
        return self.codec.trained

    @trained.setter
    def trained(self, value: Any) -> None:
        pass

    def reset_counts(self) -> None:
        """Zero :attr:`num_blocks`, :attr:`num_corrected`, :attr:`num_raw`."""
        self.num_blocks = self.num_corrected = self.num_raw = 0

    def _bound(self, xp: Any, flat: Any) -> Any:
        wide = xp.astype(flat, xp.float64)
        return self.tolerance * xp.maximum(xp.max(wide, axis=1) - xp.min(wide, axis=1), self.beta)

    def _encode(self, xp: Any, blocks: Any) -> Encoded:
        n = int(blocks.shape[0])
        inner = self.codec._encode(xp, blocks)
        flat = xp.reshape(blocks, (n, -1))
        rec = xp.reshape(self.codec._decode(inner), (n, -1))
        bound = self._bound(xp, flat)
        res = xp.astype(flat, xp.float64) - xp.astype(rec, xp.float64)
        bad = xp.max(xp.abs(res), axis=1) > bound
        payload: dict = {"inner": inner, "corrected": bad, "raw": xp.zeros((n,), dtype=xp.bool, device=bad.device)}
        stored = inner.nbytes + 2 * _mask_bytes(n)
        num_bad = int(xp.sum(xp.astype(bad, xp.int64)))
        num_raw = 0
        if num_bad:
            step = 2.0 * bound[bad]
            q = xp.round(res[bad, ...] / step[:, None])
            fits = xp.max(xp.abs(q), axis=1) <= 32767
            q = xp.where(fits[:, None], q, xp.zeros_like(q))
            fixed = xp.astype(xp.astype(rec[bad, ...], xp.float64) + q * step[:, None], blocks.dtype)
            err = xp.max(xp.abs(xp.astype(fixed, xp.float64) - xp.astype(flat[bad, ...], xp.float64)), axis=1)
            ok = fits & (err <= bound[bad])
            raw_in_bad = ~ok
            raw = _expand(xp, raw_in_bad, bad)
            corrected = bad & ~raw
            q_host = to_host(q[ok, ...]).astype(np.int16)
            stream = zlib.compress(q_host.tobytes(), 6)
            raw_values = xp.asarray(flat[raw, ...], copy=True)
            num_raw = int(xp.sum(xp.astype(raw, xp.int64)))
            payload.update(corrected=corrected, raw=raw, stream=stream, step=step[ok], raw_values=raw_values,
                           num_corrected=num_bad - num_raw)
            stored += len(stream) + nbytes(step[ok]) + nbytes(raw_values)
        info = {"num_corrected": num_bad - num_raw, "num_raw": num_raw, **inner.info}
        self.num_blocks += n
        self.num_corrected += num_bad - num_raw
        self.num_raw += num_raw
        return _record(xp, blocks, payload, stored, info)

    def _decode(self, encoded: Encoded) -> Any:
        xp = encoded.xp
        p = encoded.payload
        n = encoded.shape[0]
        out = xp.reshape(self.codec._decode(p["inner"]), (n, -1))
        if "stream" in p:
            size = int(out.shape[1])
            corrected, raw = p["corrected"], p["raw"]
            if p["num_corrected"]:
                q = np.frombuffer(zlib.decompress(p["stream"]), dtype=np.int16).reshape(-1, size)
                q = from_host(q.astype(np.float64), xp, dtype=xp.float64, device=encoded.device)
                delta = _expand(xp, q * p["step"][:, None], corrected)
                out = xp.astype(xp.astype(out, xp.float64) + delta, encoded.dtype)
            if int(p["raw_values"].shape[0]):
                out = xp.where(raw[:, None], _expand(xp, p["raw_values"], raw), out)
        return xp.reshape(out, encoded.shape)


def evaluate_codec(codec: Codec, blocks: Any, /) -> dict:
    """Compression ratio and achieved error of ``codec`` on ``blocks``.

    Returns
    -------
    dict
        ``ratio`` (float32 bytes / stored bytes), ``error`` (relative
        Frobenius error of the whole batch), ``max_block_error`` (largest
        per-block relative l2 error over blocks with nonzero norm) and
        ``max_abs_error``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import Float16Codec, evaluate_codec
    >>> x = np.random.default_rng(0).random((10, 32)).astype(np.float32)
    >>> stats = evaluate_codec(Float16Codec(), x)
    >>> stats["ratio"], bool(stats["error"] < 1e-3)
    (2.0, True)
    """
    if not isinstance(codec, Codec):
        raise TypeError(f"codec must be a Codec, got {type(codec).__name__}")
    xp = namespace(blocks=blocks)
    encoded = codec.encode(blocks)
    decoded = codec.decode(encoded)
    n = int(blocks.shape[0])
    x = xp.astype(xp.reshape(blocks, (n, -1)), xp.float64)
    e = xp.astype(xp.reshape(decoded, (n, -1)), xp.float64) - x
    err2 = xp.sum(e * e, axis=1)
    norm2 = xp.sum(x * x, axis=1)
    total = float(xp.sum(norm2))
    nonzero = norm2 > 0
    per_block = xp.sqrt(err2[nonzero] / norm2[nonzero])
    return {
        "ratio": encoded.ratio,
        "error": math.sqrt(float(xp.sum(err2)) / total) if total > 0 else 0.0,
        "max_block_error": float(xp.max(per_block)) if int(per_block.shape[0]) else 0.0,
        "max_abs_error": float(xp.max(xp.abs(e))) if n else 0.0,
        "info": dict(encoded.info),
    }
