"""Sketching a dense matrix: sparse sign (Numba kernel, serial and parallel)
vs a dense Gaussian test matrix (matmul, includes the draw) vs SRFT (FFT).

Full size: A of 4000 x 3000 float64 sketched to 60 columns (``A @ Omega``,
side="right") or rows (``Omega^T @ A``, side="left").
"""

import numpy as np

import randla

from ._common import size

ROWS, COLS, NUM_COLS = size((4000, 3000, 60), (200, 150, 10))


class Sketch:
    params = (["right", "left"],)
    param_names = ["side"]
    timeout = 300

    def setup(self, side):
        self.A = np.random.default_rng(0).standard_normal((ROWS, COLS))
        for kind in ("sparse_sign", "srft", "gaussian"):   # compile / warm up
            randla.sketch(self.A[:70, :70], 8, probe=kind, rng=0, side=side)
        randla.sketch(self.A[:70, :70], 8, probe="sparse_sign", rng=0, side=side, parallel=True)

    def time_sparse_sign(self, side):
        randla.sketch(self.A, NUM_COLS, probe="sparse_sign", rng=0, side=side)

    def time_sparse_sign_parallel(self, side):
        randla.sketch(self.A, NUM_COLS, probe="sparse_sign", rng=0, side=side, parallel=True)

    def time_gaussian(self, side):
        randla.sketch(self.A, NUM_COLS, probe="gaussian", rng=0, side=side)

    def time_srft(self, side):
        randla.sketch(self.A, NUM_COLS, probe="srft", rng=0, side=side)
