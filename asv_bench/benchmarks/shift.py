"""Shift-probe correlation: Numba kernel (serial, parallel) vs the array-API
reference on NumPy vs the exact shift traces, on a conv-like size.

Full size: batch 32, 16 channels in and out, a 128 x 128 grid, the 9 offsets of
a 3 x 3 kernel, r = 16 probes (the probed weight gradient of one XConv layer).
The ``correlate_*`` benchmarks time the backward-pass hot loop
``Ybar_k = Y^T T_k Z`` alone; ``time_probed_gradient`` the whole estimate
(sketch + correlate + combine), ``time_exact`` the exact gradient it replaces;
``track_stored_*`` the bytes kept between forward and backward pass.
"""

import numpy as np

import randla
from randla.kernels import cpu_shift, reference

from ._common import size

BATCH, CHANNELS, SIDE, NUM_PROBES = size((32, 16, 128, 16), (2, 2, 16, 4))


class ShiftCorrelate:
    timeout = 300

    def setup(self):
        rng = np.random.default_rng(0)
        grid = (SIDE, SIDE)
        self.offsets = randla.kernel_offsets((3, 3))
        self.X = rng.standard_normal((BATCH, CHANNELS, *grid))
        self.Y = rng.standard_normal((BATCH, CHANNELS, *grid))
        self.Z = randla.random.draw_probes("rademacher", SIDE * SIDE, NUM_PROBES, rng=1)
        self.Y4 = self.Y.reshape(BATCH * CHANNELS, 1, *grid)
        self.offsets3 = np.array([(0, *k) for k in self.offsets], dtype=np.int64)
        half = (SIDE // 2, SIDE // 2)
        self.Y_strided = rng.standard_normal((BATCH, CHANNELS, *half))
        self.Z_per_channel = rng.standard_normal((CHANNELS, SIDE * SIDE, NUM_PROBES))
        self.offsets_strided = randla.kernel_offsets((3, 3), padding=1)
        # compile outside the timings
        self.time_correlate_strided_per_channel()
        cpu_shift.shift_correlate(self.Y4[:1], self.Z, self.offsets3)
        cpu_shift.shift_correlate(self.Y4[:1], self.Z, self.offsets3, parallel=True)

    def time_correlate_numba(self):
        cpu_shift.shift_correlate(self.Y4, self.Z, self.offsets3)

    def time_correlate_numba_parallel(self):
        cpu_shift.shift_correlate(self.Y4, self.Z, self.offsets3, parallel=True)

    def time_correlate_strided_per_channel(self):
        """A stride-2 layer's backward with one probe set per channel (xconv's layouts)."""
        randla.shift_correlate(self.Y_strided, self.Z_per_channel, self.offsets_strided,
                               grid=(SIDE, SIDE), stride=2, check_finite=False)

    def time_correlate_reference_numpy(self):
        reference.shift_correlate(self.Y4, self.Z, self.offsets3)

    def time_probed_gradient(self):
        randla.shift_trace(self.X, self.Y, self.offsets, num_probes=NUM_PROBES, rng=1)

    def time_exact(self):
        randla.shift_trace_exact(self.X, self.Y, self.offsets)

    def track_stored_bytes_exact(self):
        return self.X.nbytes

    def track_stored_bytes_probed(self):
        return randla.sketch_grid(self.X, self.Z, grid_ndim=2).nbytes

    track_stored_bytes_exact.unit = "bytes"
    track_stored_bytes_probed.unit = "bytes"
