"""randla.apps.compress: compressed wavefield histories for gradients and Gauss-Newton products.

Store the forward wavefield history through a codec instead of
checkpointing, so gradients (and, through :meth:`Compressed.replay`,
Gauss-Newton products) need no forward recomputation and little memory
(Wittmer, Badger, Sundar and Bui-Thanh 2023). Pieces, one module each:

* :mod:`~randla.apps.compress.autoencoder` -- dense ELU autoencoder on the
  array API (the paper's Table 1 architecture by default), backpropagation,
  ``.npz`` save/load;
* :mod:`~randla.apps.compress.optim` -- Adam, LAMB and the step-decay schedule;
* :mod:`~randla.apps.compress.blocking` -- blocks in space / in time and the
  per-block min-max normalisation;
* :mod:`~randla.apps.compress.codecs` -- one codec interface: autoencoder, low
  rank (``randla.rsvd``), zfp, SZ3, float16, raw, and the error-bounded wrapper;
* :mod:`~randla.apps.compress.training` -- training data by the paper's
  Algorithm 1 and :func:`train_codec`;
* :mod:`~randla.apps.compress.strategy` -- the :class:`Compressed`
  wavefield-history strategy on the engine's seam.

References
----------
S. Wittmer, T. Badger, H. Sundar and T. Bui-Thanh, "An autoencoder compression
approach for accelerating large-scale inverse problems", Inverse Problems 39, 2023.
"""

from __future__ import annotations

from .autoencoder import PAPER_HIDDEN, Autoencoder, elu
from .blocking import BETA, Blocking, denormalize, normalize
from .codecs import (
    AutoencoderCodec,
    Codec,
    Encoded,
    ErrorBounded,
    Float16Codec,
    LowRankCodec,
    RawCodec,
    SZ3Codec,
    ZfpCodec,
    evaluate_codec,
)
from .optim import LAMB, Adam, step_decay
from .strategy import QUANTITIES, Compressed
from .training import prior_velocity, train_codec, training_blocks

__all__ = [
    "Adam",
    "Autoencoder",
    "AutoencoderCodec",
    "BETA",
    "Blocking",
    "Codec",
    "Compressed",
    "Encoded",
    "ErrorBounded",
    "Float16Codec",
    "LAMB",
    "LowRankCodec",
    "PAPER_HIDDEN",
    "QUANTITIES",
    "RawCodec",
    "SZ3Codec",
    "ZfpCodec",
    "denormalize",
    "elu",
    "evaluate_codec",
    "normalize",
    "prior_velocity",
    "step_decay",
    "train_codec",
    "training_blocks",
]
