"""Dense autoencoder on the Python array API: layers, ELU, backpropagation, ``.npz`` I/O.

No deep-learning framework is needed to train or run it: the forward pass is
``sigma(h W + b)`` per layer (Wittmer et al. 2023, eq. (5)) and the backward
pass is written out by hand, so the same code runs on NumPy, CuPy and torch
arrays (anything :func:`randla.backend.namespace` accepts). Hidden layers use
the exponential linear unit; the latent layer and the output layer are affine
(the data are min-max normalised to ``[0, 1]``, see
:mod:`randla.apps.compress.blocking`).

The default architecture is the paper's (Table 1): ``4096 -> [512, 256, 256,
256, 128, 64, 64] -> 64`` and a mirrored decoder. Smaller ones are one
argument away; ``hidden=()`` is the linear autoencoder (PCA).

References
----------
S. Wittmer, T. Badger, H. Sundar and T. Bui-Thanh, "An autoencoder compression
approach for accelerating large-scale inverse problems", Inverse Problems 39,
2023 (Section 3.3, Table 1).
"""

from __future__ import annotations

import importlib
import json
import math
from typing import Any, Sequence

import numpy as np

from randla.backend import check_finite, check_float, check_positive_int, from_host, namespace, to_host
from randla.random import as_generator

__all__ = ["PAPER_HIDDEN", "Autoencoder", "elu"]

#: Encoder hidden widths of Wittmer et al. (2023), Table 1.
PAPER_HIDDEN = (512, 256, 256, 256, 128, 64, 64)

_FORMAT = "randla.apps.compress.Autoencoder/1"


def _elu(xp: Any, z: Any) -> Any:
    return xp.where(z > 0, z, xp.expm1(xp.minimum(z, 0.0)))


def _elu_derivative(xp: Any, z: Any) -> Any:
    return xp.where(z > 0, xp.ones_like(z), xp.exp(xp.minimum(z, 0.0)))


def elu(x: Any, /) -> Any:
    """Exponential linear unit ``x`` for ``x > 0``, ``exp(x) - 1`` otherwise.

    Parameters
    ----------
    x : array
        Real floating array.

    Returns
    -------
    array
        ``ELU(x)``, same shape and dtype.

    References
    ----------
    D.-A. Clevert, T. Unterthiner and S. Hochreiter, "Fast and accurate deep
    network learning by exponential linear units (ELUs)", ICLR 2016.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import elu
    >>> np.round(elu(np.array([-1.0, 0.0, 2.0])), 4)
    array([-0.6321,  0.    ,  2.    ])
    """
    xp = namespace(x=x)
    check_float(x, "x")
    return _elu(xp, x)


def _widths(input_size: int, hidden: Sequence[int], latent_size: int,
            decoder_hidden: Sequence[int] | None) -> tuple[list[int], list[int]]:
    enc = [input_size, *hidden, latent_size]
    dec_hidden = list(reversed(list(hidden))) if decoder_hidden is None else list(decoder_hidden)
    dec = [latent_size, *dec_hidden, input_size]
    return enc, dec


class Autoencoder:
    """Dense ELU autoencoder whose encoder and decoder are plain array operations.

    Parameters
    ----------
    input_size : int
        Length of one (flattened, normalised) block. Default 4096 (the paper).
    hidden : sequence of int
        Encoder hidden widths (ELU). Default :data:`PAPER_HIDDEN`. ``()`` gives
        the linear autoencoder ``x -> x W1 + b1 -> z W2 + b2``.
    latent_size : int
        Code length (affine latent layer). Default 64.
    decoder_hidden : sequence of int, optional
        Decoder hidden widths; default the mirror of ``hidden``.
    xp, device : optional
        Namespace and device of the weights (default NumPy on the CPU).
    dtype : optional
        Floating dtype of the weights; default ``xp.float32`` (the paper's
        precision).
    rng : int, numpy Generator or None
        Seed of the (Glorot-normal) initial weights.

    Attributes
    ----------
    params : list of arrays
        ``[W_1, b_1, W_2, b_2, ...]``, encoder layers first; ``W_i`` has shape
        ``(fan_in, fan_out)``.
    num_encoder_layers : int
        The first ``num_encoder_layers`` layers form the encoder.
    architecture : dict
        What :meth:`save` records and :meth:`load_weights` checks.

    Raises
    ------
    ValueError
        For a non-positive width.

    References
    ----------
    S. Wittmer et al., Inverse Problems 39, 2023, Table 1.
    G. E. Hinton and R. R. Salakhutdinov, Science 313(5786), 504-507, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.compress import Autoencoder
    >>> ae = Autoencoder(64, hidden=(32,), latent_size=8, rng=0)
    >>> x = np.random.default_rng(1).random((5, 64), dtype=np.float32)
    >>> ae.encode(x).shape, ae.reconstruct(x).shape, ae.reconstruct(x).dtype
    ((5, 8), (5, 64), dtype('float32'))
    """

    def __init__(self, input_size: int = 4096, *, hidden: Sequence[int] = PAPER_HIDDEN, latent_size: int = 64,
                 decoder_hidden: Sequence[int] | None = None, xp: Any = None, device: Any = None,
                 dtype: Any = None, rng: Any = None) -> None:
        input_size = check_positive_int(input_size, "input_size")
        latent_size = check_positive_int(latent_size, "latent_size")
        hidden = tuple(check_positive_int(h, "hidden") for h in hidden)
        if decoder_hidden is not None:
            decoder_hidden = tuple(check_positive_int(h, "decoder_hidden") for h in decoder_hidden)
        if xp is None:
            xp = namespace(x=np.empty(0, dtype=np.float32))
            device = "cpu" if device is None else device
        self.xp = xp
        self.device = device
        self.dtype = xp.float32 if dtype is None else dtype
        enc, dec = _widths(input_size, hidden, latent_size, decoder_hidden)
        self.architecture = {
            "input_size": input_size,
            "hidden": list(hidden),
            "latent_size": latent_size,
            "decoder_hidden": list(dec[1:-1]),
        }
        self.num_encoder_layers = len(enc) - 1
        self._widths = list(zip(enc[:-1], enc[1:])) + list(zip(dec[:-1], dec[1:]))
        # ELU on hidden layers; the latent (last encoder) and output layers are affine
        n_enc = self.num_encoder_layers
        self._activated = [i != n_enc - 1 for i in range(n_enc)] + [
            i != len(dec) - 2 for i in range(len(dec) - 1)]
        gen = as_generator(rng)
        params = []
        for fan_in, fan_out in self._widths:
            std = math.sqrt(2.0 / (fan_in + fan_out))
            w = gen.standard_normal((fan_in, fan_out)) * std
            params.append(self._from_host(w))
            params.append(xp.zeros((fan_out,), dtype=self.dtype, device=device))
        self.params = params

    # -- construction helpers -------------------------------------------------

    def _from_host(self, a: np.ndarray) -> Any:
        return from_host(np.asarray(a), self.xp, dtype=self.dtype, device=self.device)

    @property
    def input_size(self) -> int:
        return int(self.architecture["input_size"])

    @property
    def latent_size(self) -> int:
        return int(self.architecture["latent_size"])

    @property
    def num_parameters(self) -> int:
        """Number of weights and biases."""
        return sum(int(math.prod(p.shape)) for p in self.params)

    # -- forward / backward ---------------------------------------------------

    def _check_input(self, x: Any, size: int, name: str) -> Any:
        xp = namespace(**{name: x})
        check_float(x, name)
        if x.ndim != 2 or int(x.shape[1]) != size:
            raise ValueError(f"{name} must have shape (batch, {size}) for this autoencoder, "
                             f"got {tuple(x.shape)}")
        if x.dtype != self.dtype:
            raise TypeError(f"{name} has dtype {x.dtype} but the weights are {self.dtype}")
        return xp

    def _run(self, h: Any, layers: range, cache: list | None = None) -> Any:
        xp = self.xp
        for i in layers:
            z = h @ self.params[2 * i] + self.params[2 * i + 1]
            if cache is not None:
                cache.append((h, z))
            h = _elu(xp, z) if self._activated[i] else z
        return h

    def encode(self, x: Any, /) -> Any:
        """Latent codes ``(batch, latent_size)`` of normalised blocks ``x``."""
        self._check_input(x, self.input_size, "x")
        return self._run(x, range(self.num_encoder_layers))

    def decode(self, z: Any, /) -> Any:
        """Blocks ``(batch, input_size)`` from latent codes ``z``."""
        self._check_input(z, self.latent_size, "z")
        return self._run(z, range(self.num_encoder_layers, len(self._widths)))

    def reconstruct(self, x: Any, /) -> Any:
        """``decode(encode(x))``."""
        self._check_input(x, self.input_size, "x")
        return self._run(x, range(len(self._widths)))

    def loss_and_gradient(self, x: Any, /) -> tuple[float, list]:
        """Mean squared reconstruction error and its gradient (backpropagation).

        Parameters
        ----------
        x : array, shape (batch, input_size)

        Returns
        -------
        loss : float
            ``mean((reconstruct(x) - x)^2)`` over batch and features.
        grads : list of arrays
            Gradients of ``loss`` with respect to :attr:`params`, same order.
        """
        xp = self._check_input(x, self.input_size, "x")
        return self._loss_and_gradient(xp, x)

    def _loss_and_gradient(self, xp: Any, x: Any) -> tuple[float, list]:
        cache: list = []
        out = self._run(x, range(len(self._widths)), cache)
        diff = out - x
        count = float(math.prod(x.shape))
        loss = float(xp.sum(diff * diff)) / count
        g = diff * (2.0 / count)
        grads: list = [None] * len(self.params)
        for i in range(len(self._widths) - 1, -1, -1):
            h, z = cache[i]
            if self._activated[i]:
                g = g * _elu_derivative(xp, z)
            grads[2 * i] = h.T @ g
            grads[2 * i + 1] = xp.sum(g, axis=0)
            if i > 0:
                g = g @ self.params[2 * i].T
        return loss, grads

    # -- persistence ----------------------------------------------------------

    def __getstate__(self) -> dict:
        # the array namespace is a module: pickle it by name (trained codecs
        # travel to worker processes and to asv's setup cache)
        state = dict(self.__dict__)
        state["xp"] = self.xp.__name__
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        state["xp"] = importlib.import_module(state["xp"])
        self.__dict__.update(state)

    def save(self, path: Any, /) -> None:
        """Write weights and architecture to a plain ``.npz`` file.

        Examples
        --------
        >>> import os, tempfile
        >>> from randla.apps.compress import Autoencoder
        >>> ae = Autoencoder(16, hidden=(8,), latent_size=4, rng=0)
        >>> path = os.path.join(tempfile.mkdtemp(), "ae.npz")
        >>> ae.save(path)
        >>> Autoencoder.load(path).architecture == ae.architecture
        True
        """
        arrays = {f"param_{i}": to_host(p) for i, p in enumerate(self.params)}
        meta = json.dumps({"format": _FORMAT, **self.architecture})
        np.savez(path, architecture=np.array(meta), **arrays)

    @classmethod
    def load(cls, path: Any, /, *, xp: Any = None, device: Any = None, dtype: Any = None) -> "Autoencoder":
        """Build the autoencoder recorded in ``path`` (written by :meth:`save`)."""
        arch = _read_architecture(path)
        ae = cls(arch["input_size"], hidden=arch["hidden"], latent_size=arch["latent_size"],
                 decoder_hidden=arch["decoder_hidden"], xp=xp, device=device, dtype=dtype, rng=0)
        ae.load_weights(path)
        return ae

    def load_weights(self, path: Any, /) -> None:
        """Load weights saved by :meth:`save` into this autoencoder.

        Raises
        ------
        ValueError
            If the file records another architecture (or is no autoencoder file).
        """
        arch = _read_architecture(path)
        if arch != self.architecture:
            raise ValueError(f"{path} holds weights of architecture {arch}, this autoencoder is "
                             f"{self.architecture}: build Autoencoder.load(path) instead")
        with np.load(path) as data:
            params = [self._from_host(data[f"param_{i}"]) for i in range(len(self.params))]
        for p, q in zip(self.params, params):
            if tuple(p.shape) != tuple(q.shape):  # pragma: no cover - guarded by the architecture
                raise ValueError("weight shapes do not match the recorded architecture")
        for q in params:
            check_finite(q, "weights")
        self.params = params


def _read_architecture(path: Any) -> dict:
    with np.load(path) as data:
        if "architecture" not in data.files:
            raise ValueError(f"{path} is not an autoencoder file (no 'architecture' entry)")
        meta = json.loads(str(data["architecture"]))
    if meta.pop("format", None) != _FORMAT:
        raise ValueError(f"{path} is not an autoencoder file written by Autoencoder.save")
    return meta
