"""Acoustic wave engine: kernel time per step and throughput, forward modelling
against Devito side by side, and gradients by full storage vs checkpointing.

Full sizes are the issue's: 2-D 501 x 501 + 40-point absorbing layer and 3-D
200^3 + 20, space order 8, float32, one thread. ``track_gpts_*`` report grid
points (padded grid) times steps per second. The Devito benchmarks run the
same problem with its seismic ``AcousticWaveSolver`` (``DEVITO_LANGUAGE=C``,
no OpenMP) and are skipped when Devito is not installed.
``benchmarks/wave_vs_devito.py`` prints the ratios in one run.
"""

import os
import time

import numpy as np

from randla.apps.wave import (
    Checkpointing,
    FullStorage,
    Geometry,
    Model,
    Propagator,
    forward,
    gradient,
)

from ._common import size

SHAPE_2D, NBL_2D, NT_2D = size(((501, 501), 40, 1000), ((41, 41), 4, 20))
SHAPE_3D, NBL_3D, NT_3D = size(((200, 200, 200), 20, 30), ((16, 16, 16), 2, 5))
NT_GRAD = size(300, 20)
STEPS = size(20, 2)


def _problem(shape, nbl, nt, dtype=np.float32):
    vp = np.full(shape, 2000.0, dtype=dtype)
    vp[..., shape[-1] // 2:] = 3000.0
    model = Model(vp, spacing=10.0, nbl=nbl, space_order=8)
    extent = [(n - 1) * 10.0 for n in shape]
    src = [[e / 2 for e in extent[:-1]] + [20.0]]
    rec = np.zeros((shape[0], len(shape)))
    rec[:, 0] = np.linspace(0.0, extent[0], shape[0])
    rec[:, 1:-1] = extent[1] / 2 if len(shape) == 3 else 0.0
    rec[:, -1] = 20.0
    dt = 0.8 * model.critical_dt
    geom = Geometry(model, src_positions=src, rec_positions=rec, tn=dt * (nt - 1), dt=dt, f0=10.0)
    return model, geom


class KernelStep:
    """One in-place time step of the Numba kernel (no sources)."""

    params = ([2, 3],)
    param_names = ["ndim"]
    timeout = 300

    def setup(self, ndim):
        shape, nbl = (SHAPE_2D, NBL_2D) if ndim == 2 else (SHAPE_3D, NBL_3D)
        model, geom = _problem(shape, nbl, 3)
        self.prop = Propagator(model, geom.dt)
        be = self.prop.backend
        self.u, self.up = be.zeros(), be.zeros()
        self.u[self.u.size // 2] = 1.0
        self.points = int(np.prod(model.padded_shape))
        be.step(self.u, self.up)  # compile (cached on disk)

    def time_step(self, ndim):
        self.prop.backend.step(self.u, self.up)

    def track_gpts(self, ndim):
        be = self.prop.backend
        be.step(self.u, self.up)
        best = np.inf
        for _ in range(3):
            t = time.perf_counter()
            for _ in range(STEPS):
                be.step(self.u, self.up)
            best = min(best, time.perf_counter() - t)
        return self.points * STEPS / best / 1e9

    track_gpts.unit = "GPts/s"


class ForwardModelling:
    """Whole forward run with source injection and receivers (2-D, NT_2D steps)."""

    timeout = 600

    def setup(self):
        self.model, self.geom = _problem(SHAPE_2D, NBL_2D, NT_2D)
        forward(self.model, self.geom)

    def time_forward(self):
        forward(self.model, self.geom)

    def track_gpts_forward(self):
        t = time.perf_counter()
        forward(self.model, self.geom)
        return int(np.prod(self.model.padded_shape)) * (self.geom.nt - 1) / (time.perf_counter() - t) / 1e9

    track_gpts_forward.unit = "GPts/s"


class DevitoForward:
    """The same forward problem with Devito (peer; skipped without Devito)."""

    timeout = 600

    def setup(self):
        try:
            os.environ.setdefault("DEVITO_LANGUAGE", "C")
            os.environ.setdefault("DEVITO_ARCH", "gcc")
            os.environ.setdefault("DEVITO_LOGGING", "ERROR")
            from examples.seismic import AcquisitionGeometry
            from examples.seismic import Model as DModel
            from examples.seismic.acoustic import AcousticWaveSolver
        except ImportError as exc:
            raise NotImplementedError(f"Devito is not installed ({exc})") from exc
        model, geom = _problem(SHAPE_2D, NBL_2D, NT_2D)
        ndim = model.ndim
        dmodel = DModel(vp=np.asarray(model.vp) / 1000.0, origin=(0.0,) * ndim, shape=model.shape,
                        spacing=(10.0,) * ndim, space_order=8, nbl=NBL_2D, dtype=np.float32, bcs="damp")
        dt_ms = geom.dt * 1e3
        dgeom = AcquisitionGeometry(dmodel, geom.rec_positions, geom.src_positions, 0.0,
                                    dt_ms * (NT_2D - 1), f0=0.010, src_type="Ricker")
        self.solver = AcousticWaveSolver(dmodel, dgeom, space_order=8)
        self.dt = dt_ms
        self.work = int(np.prod(dmodel.grid.shape)) * (dgeom.nt - 1)
        self.solver.forward(dt=self.dt)  # JIT compile

    def time_forward_devito(self):
        self.solver.forward(dt=self.dt)

    def track_gpts_forward_devito(self):
        t = time.perf_counter()
        self.solver.forward(dt=self.dt)
        return self.work / (time.perf_counter() - t) / 1e9

    track_gpts_forward_devito.unit = "GPts/s"


class Gradient:
    """FWI gradient by full storage vs optimal checkpointing (2-D, NT_GRAD steps)."""

    params = (["full", "10", "50"],)
    param_names = ["history"]
    timeout = 600

    def setup(self, history):
        self.model, self.geom = _problem(SHAPE_2D, NBL_2D, NT_GRAD)
        self.d_obs = 0.9 * forward(self.model, self.geom)
        gradient(self.model, self.geom, self.d_obs, history=self._strategy(history))

    @staticmethod
    def _strategy(history):
        return FullStorage() if history == "full" else Checkpointing(int(history))

    def time_gradient(self, history):
        gradient(self.model, self.geom, self.d_obs, history=self._strategy(history))

    def peakmem_gradient(self, history):
        gradient(self.model, self.geom, self.d_obs, history=self._strategy(history))

    def track_held_bytes(self, history):
        strategy = self._strategy(history)
        gradient(self.model, self.geom, self.d_obs, history=strategy)
        return strategy.nbytes

    track_held_bytes.unit = "bytes"

