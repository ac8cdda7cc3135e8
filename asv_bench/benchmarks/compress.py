"""Codecs of randla.apps.compress: encode / decode time, compression ratio and error.

Blocks are the stored field ``u`` of one 2-D layered shot (the same blocks
for every codec: 8 x 8 tiles over 16 time steps, one window of the whole
grid), so ratios and errors compare directly with
``benchmarks/compress_table.py``. The learned codecs are trained once per
setup on Algorithm-1 blocks (few epochs; the table script reports the full
training). Under ``RANDLA_ASV_QUICK=1`` the grid is tiny.
"""

import numpy as np

from ._common import one_thread, size

N_GRID = size(256, 32)
TN = size(0.6, 0.15)
CODECS = ["zfp_1e-3", "sz3_1e-3", "float16", "lowrank_24", "autoencoder_24", "autoencoder_eb"]


def _setup():
    from randla.apps.compress import (
        Autoencoder,
        AutoencoderCodec,
        Blocking,
        ErrorBounded,
        Float16Codec,
        LowRankCodec,
        SZ3Codec,
        ZfpCodec,
        train_codec,
        training_blocks,
    )
    from randla.apps.wave import Geometry, layered_model

    one_thread()
    model = layered_model((N_GRID, N_GRID), spacing=10.0, nbl=size(20, 4), dtype=np.float32)
    extent = (N_GRID - 1) * 10.0
    geom = Geometry(model, src_positions=[[extent / 2, 20.0]], rec_positions=[[extent / 3, 20.0]], tn=TN, f0=15.0)
    blocking = Blocking((8, 8), window=16)
    train = training_blocks(model, geom, blocking, num_draws=2, keep_fraction=size(0.02, 0.5), rng=0)
    blocks = training_blocks(model, geom, blocking, num_draws=1, keep_fraction=size(0.05, 1.0), rng=1)
    lowrank = LowRankCodec(24)
    train_codec(lowrank, train, rng=0, progress=False)
    ae = AutoencoderCodec(Autoencoder(blocking.block_size, hidden=(128,), latent_size=24, rng=0))
    train_codec(ae, train, epochs=size(4, 1), batch_size=256, optimizer="adam", rng=0, progress=False)
    codecs = {
        "zfp_1e-3": ZfpCodec(1e-3),
        "sz3_1e-3": SZ3Codec(1e-3),
        "float16": Float16Codec(),
        "lowrank_24": lowrank,
        "autoencoder_24": ae,
        "autoencoder_eb": ErrorBounded(ae, 0.05),
    }
    return codecs, blocks


class Codecs:
    params = [CODECS]
    param_names = ["codec"]
    timeout = 600

    def setup_cache(self):
        return _setup()

    def setup(self, cache, name):
        codecs, blocks = cache
        self.codec, self.blocks = codecs[name], blocks
        self.encoded = self.codec.encode(blocks)

    def time_encode(self, cache, name):
        self.codec.encode(self.blocks)

    def time_decode(self, cache, name):
        self.codec.decode(self.encoded)

    def track_ratio(self, cache, name):
        return self.encoded.ratio

    def track_relative_error(self, cache, name):
        from randla.apps.compress import evaluate_codec

        return evaluate_codec(self.codec, self.blocks)["error"]
