"""Training data by the paper's Algorithm 1 and codec training.

:func:`training_blocks` solves the forward problem for velocities drawn from
a prior (a smooth Gaussian random field around a background model), cuts the
stored quantity of each solve into blocks exactly as
:class:`~randla.apps.compress.Compressed` will, and keeps a random fraction
of them (Wittmer et al. 2023, Algorithm 1: the autoencoder only has to work
on states the prior can produce). :func:`train_codec` fits a codec to such
blocks: backpropagation with LAMB or Adam and the paper's schedule for an
:class:`~randla.apps.compress.AutoencoderCodec` (Table 2), a randomized SVD
for a :class:`~randla.apps.compress.LowRankCodec`.

References
----------
S. Wittmer et al., Inverse Problems 39, 2023, Section 3.3.1, Algorithm 1, Table 2.
"""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from randla.backend import check_finite, check_float, check_positive_int, from_host, namespace, to_host
from randla.random import as_generator
from randla.apps.wave import Geometry, Model, WavefieldHistory, smooth
from randla.apps.wave.propagator import Propagator

from .blocking import Blocking, _normalize
from .codecs import AutoencoderCodec, Codec, ErrorBounded, LowRankCodec
from .optim import LAMB, Adam, step_decay
from .strategy import QUANTITIES, _WindowStream

__all__ = ["prior_velocity", "train_codec", "training_blocks"]


def prior_velocity(model: Model, /, *, std: float = 0.05, correlation_length: float = 10.0,
                   rng: Any = None) -> Any:
    """One draw ``vp = vp_bg (1 + std * g)`` with ``g`` a smooth unit-variance Gaussian field.

    Parameters
    ----------
    model : Model
        Background (its ``vp``, grid and backend).
    std : float
        Relative standard deviation of the perturbation.
    correlation_length : float
        Smoothing width of the white noise in grid points.
    rng : int, numpy Generator or None

    Returns
    -------
    array
        Velocity on the model's grid and backend, clipped to
        ``[0.5 vmin, vmax]`` of the background so the background's time step
        stays stable.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import layered_model
    >>> from randla.apps.compress import prior_velocity
    >>> model = layered_model((40, 30), spacing=10.0, nbl=4)
    >>> vp = prior_velocity(model, std=0.05, rng=0)
    >>> vp.shape, bool(np.max(vp) <= np.max(model.vp))
    ((40, 30), True)
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
    if not (math.isfinite(std) and std >= 0):
        raise ValueError(f"std must be non-negative, got {std!r}")
    if not (math.isfinite(correlation_length) and correlation_length >= 0):
        raise ValueError(f"correlation_length must be non-negative, got {correlation_length!r}")
    gen = as_generator(rng)
    noise = smooth(gen.standard_normal(model.shape), sigma=correlation_length)
    noise = noise / max(float(np.std(noise)), 1e-300)
    bg = to_host(model.vp).astype(np.float64)
    vp = np.clip(bg * (1.0 + std * noise), 0.5 * bg.min(), bg.max())
    return from_host(vp, model.xp, dtype=model.dtype, device=model.device)


class _Collector(WavefieldHistory):
    """Forward-only history keeping a random fraction of each window's blocks."""

    def __init__(self, blocking: Blocking, quantity: str, keep_fraction: float, gen: np.random.Generator) -> None:
        super().__init__()
        self.blocking, self.quantity = blocking, quantity
        self.keep_fraction, self.gen = keep_fraction, gen
        self.kept: list = []

    def setup(self, context: Any) -> None:
        super().setup(context)
        self._stream = _WindowStream(context, self.blocking, self.quantity)

    def observe(self, t: int, u: Any, /) -> None:
        if self._stream.push(t, u):
            xp = self.context.xp
            blocks = self.blocking.to_blocks(self._stream.stack)
            keep = np.flatnonzero(self.gen.random(int(blocks.shape[0])) < self.keep_fraction)
            if keep.size:
                idx = from_host(keep, xp, dtype=xp.int64, device=self.context.device)
                self.kept.append(xp.take(blocks, idx, axis=0))

    def correlate(self, t: int, v: Any, /) -> None:  # pragma: no cover - forward only
        raise RuntimeError("the training collector runs forward sweeps only")

    def gradient(self) -> Any:  # pragma: no cover - forward only
        return None

    @property
    def nbytes(self) -> int:
        return 0


def training_blocks(model: Model, geometry: Geometry, blocking: Blocking, /, *, num_draws: int = 4,
                    keep_fraction: float = 0.1, quantity: str = "u", std: float = 0.05,
                    correlation_length: float = 10.0, rng: Any = None) -> Any:
    """Training blocks by Algorithm 1 of Wittmer et al. (2023).

    For each of ``num_draws`` velocities from :func:`prior_velocity`, one
    forward solve of ``geometry``'s shot; every full window of the stored
    quantity is cut into blocks and each block is kept with probability
    ``keep_fraction``.

    Parameters
    ----------
    model : Model
        Background model (the prior's mean; its grid, sponge and backend).
    geometry : Geometry
        The shot (source, receivers, time axis).
    blocking : Blocking
        The blocks the codec will see.
    num_draws : int
        Forward solves.
    keep_fraction : float
        Probability of keeping each block, in ``(0, 1]``.
    quantity : {"u", "u_tt"}
        As :class:`~randla.apps.compress.Compressed`.
    std, correlation_length : float
        Prior parameters (see :func:`prior_velocity`).
    rng : int, numpy Generator or None

    Returns
    -------
    array, shape ``(n, *blocking.block_shape)``
        On the model's backend.

    Raises
    ------
    ValueError
        For a bad fraction or quantity, or when no block was kept.

    References
    ----------
    S. Wittmer et al., Inverse Problems 39, 2023, Algorithm 1.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, layered_model
    >>> from randla.apps.compress import Blocking, training_blocks
    >>> model = layered_model((32, 32), spacing=10.0, nbl=8)
    >>> geom = Geometry(model, src_positions=[[160.0, 20.0]], rec_positions=[[100.0, 20.0]], tn=0.15)
    >>> blocks = training_blocks(model, geom, Blocking((8, 8), window=4), num_draws=2,
    ...                          keep_fraction=0.5, rng=0)
    >>> blocks.shape[1:]
    (4, 8, 8)
    """
    if not isinstance(model, Model):
        raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
    if not isinstance(blocking, Blocking):
        raise TypeError(f"blocking must be a Blocking, got {type(blocking).__name__}")
    num_draws = check_positive_int(num_draws, "num_draws")
    if not 0 < keep_fraction <= 1:
        raise ValueError(f"keep_fraction must be in (0, 1], got {keep_fraction!r}")
    if quantity not in QUANTITIES:
        raise ValueError(f"quantity must be one of {QUANTITIES}, got {quantity!r}")
    gen = as_generator(rng)
    collector = _Collector(blocking, quantity, float(keep_fraction), gen)
    for _ in range(num_draws):
        draw = model.with_vp(prior_velocity(model, std=std, correlation_length=correlation_length, rng=gen))
        Propagator(draw, geometry.dt).forward(geometry, history=collector)
    if not collector.kept:
        raise ValueError("no block was kept: raise keep_fraction, num_draws or the shot's duration")
    xp = model.xp
    return xp.concat(collector.kept, axis=0)


def _normalized_active(codec: Codec, blocks: Any) -> Any:
    xp = namespace(blocks=blocks)
    n = int(blocks.shape[0])
    y, _, scale = _normalize(xp, blocks, codec.beta)
    return xp.reshape(y, (n, -1))[scale > codec.beta, ...]


def train_codec(codec: Codec, blocks: Any, /, *, validation: Any = None, epochs: int = 20, batch_size: int = 512,
                optimizer: str = "lamb", learning_rate: float = 1e-3, decay: float = 0.5, decay_every: int = 5,
                rng: Any = None, progress: bool = True) -> dict:
    """Fit ``codec`` to training ``blocks`` (and report the validation loss).

    :class:`~randla.apps.compress.AutoencoderCodec`: minibatch
    backpropagation of the mean squared error of the normalised blocks, with
    LAMB (default) or Adam, learning rate ``learning_rate`` multiplied by
    ``decay`` every ``decay_every`` epochs; the paper's Table 2 is the
    default (1e-3, halved every 5 epochs, 20 epochs, batch 512).
    :class:`~randla.apps.compress.LowRankCodec`: one randomized SVD.
    :class:`~randla.apps.compress.ErrorBounded`: trains its inner codec.
    Other codecs need no training (returned unchanged).

    Parameters
    ----------
    codec : Codec
    blocks : array, shape ``(n, *block_shape)``
        Training blocks (e.g. from :func:`training_blocks`).
    validation : array, optional
        Held-out blocks (e.g. from another prior draw) for the validation loss.
    epochs, batch_size : int
    optimizer : {"lamb", "adam"}
    learning_rate, decay : float
    decay_every : int
    rng : int, numpy Generator or None
        Shuffling (and the randomized SVD).
    progress : bool
        Show a tqdm progress bar over the epochs.

    Returns
    -------
    dict
        ``train_loss`` and ``validation_loss`` (lists, one entry per epoch;
        normalised-block mean squared error), ``seconds`` (wall time), and
        ``num_blocks``.

    Raises
    ------
    ValueError
        For blocks of the wrong shape, non-finite blocks or bad options.

    References
    ----------
    S. Wittmer et al., Inverse Problems 39, 2023, Table 2.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import Autoencoder, AutoencoderCodec, train_codec
    >>> rng = np.random.default_rng(0)
    >>> x = (rng.random((256, 2)) @ rng.random((2, 16))).astype(np.float32)
    >>> codec = AutoencoderCodec(Autoencoder(16, hidden=(8,), latent_size=2, rng=0))
    >>> history = train_codec(codec, x, epochs=3, batch_size=32, rng=0, progress=False)
    >>> codec.trained, len(history["train_loss"])
    (True, 3)
    """
    if not isinstance(codec, Codec):
        raise TypeError(f"codec must be a Codec, got {type(codec).__name__}")
    namespace(blocks=blocks)
    check_float(blocks, "blocks")
    if blocks.ndim < 2:
        raise ValueError(f"blocks must have shape (n, *block_shape), got {tuple(blocks.shape)}")
    check_finite(blocks, "blocks")
    codec.check_block_shape(tuple(blocks.shape[1:]))
    if validation is not None:
        namespace(blocks=blocks, validation=validation)
        check_float(validation, "validation")
        if tuple(validation.shape[1:]) != tuple(blocks.shape[1:]):
            raise ValueError(f"validation blocks must have shape (m, {tuple(blocks.shape[1:])}), "
                             f"got {tuple(validation.shape)}")
        check_finite(validation, "validation")
    epochs = check_positive_int(epochs, "epochs")
    batch_size = check_positive_int(batch_size, "batch_size")
    decay_every = check_positive_int(decay_every, "decay_every")
    if optimizer not in ("lamb", "adam"):
        raise ValueError(f"optimizer must be 'lamb' or 'adam', got {optimizer!r}")
    if isinstance(codec, ErrorBounded):
        return train_codec(codec.codec, blocks, validation=validation, epochs=epochs, batch_size=batch_size,
                           optimizer=optimizer, learning_rate=learning_rate, decay=decay,
                           decay_every=decay_every, rng=rng, progress=progress)
    start = time.perf_counter()
    result = {"train_loss": [], "validation_loss": [], "num_blocks": int(blocks.shape[0])}
    if isinstance(codec, LowRankCodec):
        codec.fit(blocks, rng=rng)
        result["train_loss"].append(_loss(codec, _normalized_active(codec, blocks)))
        if validation is not None:
            result["validation_loss"].append(_loss(codec, _normalized_active(codec, validation)))
    elif isinstance(codec, AutoencoderCodec):
        _train_autoencoder(codec, blocks, validation, result, epochs=epochs, batch_size=batch_size,
                           optimizer=optimizer, learning_rate=learning_rate, decay=decay,
                           decay_every=decay_every, rng=rng, progress=progress)
    result["seconds"] = time.perf_counter() - start
    return result


def _loss(codec: Codec, y: Any) -> float:
    xp = namespace(y=y)
    if int(y.shape[0]) == 0:
        return 0.0
    rec = xp.astype(codec._decode_normalized(xp, codec._encode_normalized(xp, y)), y.dtype)
    diff = rec - y
    return float(xp.mean(diff * diff))


def _train_autoencoder(codec: AutoencoderCodec, blocks: Any, validation: Any, result: dict, *, epochs: int,
                       batch_size: int, optimizer: str, learning_rate: float, decay: float, decay_every: int,
                       rng: Any, progress: bool) -> None:
    ae = codec.autoencoder
    xp = namespace(blocks=blocks, weights=ae.params[0])
    y = xp.astype(_normalized_active(codec, blocks), ae.dtype)
    y_val = None if validation is None else xp.astype(_normalized_active(codec, validation), ae.dtype)
    n = int(y.shape[0])
    if n == 0:
        raise ValueError("every training block is constant (range <= beta): nothing to learn")
    gen = as_generator(rng)
    opt = (LAMB if optimizer == "lamb" else Adam)(learning_rate=learning_rate)
    epochs_iter = range(epochs)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(epochs_iter, desc=f"train {codec!r}", unit="epoch")
        epochs_iter = bar
    device = getattr(blocks, "device", None)
    for epoch in epochs_iter:
        opt.learning_rate = step_decay(epoch, learning_rate=learning_rate, factor=decay, every=decay_every)
        order = from_host(gen.permutation(n), xp, dtype=xp.int64, device=device)
        total = 0.0
        for start in range(0, n, batch_size):
            batch = xp.take(y, order[start:start + batch_size], axis=0)
            loss, grads = ae._loss_and_gradient(xp, batch)
            if not math.isfinite(loss):
                raise FloatingPointError(f"training diverged at epoch {epoch} (loss {loss}): lower learning_rate")
            ae.params = opt.step(ae.params, grads)
            total += loss * int(batch.shape[0])
        result["train_loss"].append(total / n)
        if y_val is not None:
            result["validation_loss"].append(_loss(codec, y_val))
        if bar is not None:
            post = {"loss": f"{total / n:.3g}"}
            if y_val is not None:
                post["val"] = f"{result['validation_loss'][-1]:.3g}"
            bar.set_postfix(post)
    codec.block_shape = tuple(int(s) for s in blocks.shape[1:])
    codec.trained = True
