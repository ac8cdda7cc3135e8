"""Probed FWI gradients (randla.apps.fwi) side by side with the exact strategies.

Full size: 2-D layered + anomaly model 201 x 201 at 10 m (40-point sponge),
one surface shot, ~900 time steps, smoothed starting model, one BLAS thread
(the propagator is single-threaded). ``time_`` / ``peakmem_`` per gradient
for full storage, optimal checkpointing, the on-the-fly DFT and probing;
``track_cosine`` / ``track_relative_error`` of the probed gradient vs the
exact one for every probe kind; ``track_held_mb`` the memory each strategy
holds. ``benchmarks/fwi_gradients.py`` prints the full tables (301 x 301,
r = 4..256). Under ``RANDLA_ASV_QUICK=1`` sizes are tiny: only "does it run".
"""

import numpy as np

from ._common import QUICK, size

N_GRID = size(201, 31)
TN = size(1.5, 0.25)


def _single_thread():
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)


def _problem():
    from randla.apps.wave import Geometry, forward, layered_anomaly_model, smooth

    model = layered_anomaly_model((N_GRID, N_GRID), spacing=10.0, nbl=size(40, 8), anomaly=0.15)
    extent = (N_GRID - 1) * 10.0
    geom = Geometry(model, src_positions=[[extent / 2, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, extent, N_GRID)], tn=TN, f0=10.0)
    d_obs = forward(model, geom)
    m0 = model.with_vp(smooth(model.vp, sigma=size(8.0, 2.0)))
    return m0, geom, d_obs


def _strategy(name):
    from randla.apps.fwi import OnTheFlyDFT, Probed
    from randla.apps.wave import Checkpointing, FullStorage

    r = size(64, 8)
    return {
        "full_storage": lambda: FullStorage(),
        "checkpointing": lambda: Checkpointing(20),
        "dft_16": lambda: OnTheFlyDFT(np.arange(2.0, 33.0, 2.0) if not QUICK else [5.0, 10.0]),
        "probed_r64": lambda: Probed(r, "data_qr", rng=0),
        "probed_r64_nyquist": lambda: Probed(r, "data_qr", rng=0, subsample="auto"),
    }[name]()


def _gradient(m0, geom, d_obs, strategy):
    from randla.apps.wave import gradient

    return gradient(m0, geom, d_obs, history=strategy)[1]


class GradientStrategies:
    """Time, peak memory and held bytes of one gradient per strategy."""

    params = (["full_storage", "checkpointing", "dft_16", "probed_r64", "probed_r64_nyquist"],)
    param_names = ["strategy"]
    timeout = 600
    number = 1
    repeat = (1, 3, 60.0)

    def setup(self, name):
        _single_thread()
        self.m0, self.geom, self.d_obs = _problem()
        _gradient(self.m0, self.geom, self.d_obs, _strategy(name))  # JIT warm-up

    def time_gradient(self, name):
        _gradient(self.m0, self.geom, self.d_obs, _strategy(name))

    def peakmem_gradient(self, name):
        _gradient(self.m0, self.geom, self.d_obs, _strategy(name))

    def track_held_mb(self, name):
        s = _strategy(name)
        _gradient(self.m0, self.geom, self.d_obs, s)
        return s.nbytes / 1e6

    track_held_mb.unit = "MB"


class ProbedAccuracy:
    """Cosine similarity and relative error of probed gradients vs the exact one."""

    params = (["data_qr", "rademacher", "gaussian", "orthonormal", "dft"], size([16, 64], [4]))
    param_names = ["kind", "num_probes"]
    timeout = 600

    def setup_cache(self):
        _single_thread()
        from randla.apps.wave import FullStorage

        m0, geom, d_obs = _problem()
        # models hold their array namespace (a module): cache only the exact gradient
        return np.asarray(_gradient(m0, geom, d_obs, FullStorage()), dtype=np.float64)

    def setup(self, exact, kind, r):
        _single_thread()
        self.m0, self.geom, self.d_obs = _problem()

    def _probed(self, exact, kind, r):
        from randla.apps.fwi import Probed

        g = np.asarray(_gradient(self.m0, self.geom, self.d_obs, Probed(r, kind, rng=0)), dtype=np.float64)
        return g, exact

    def track_cosine(self, exact, kind, r):
        g, exact = self._probed(exact, kind, r)
        return float(np.sum(g * exact) / (np.linalg.norm(g) * np.linalg.norm(exact)))

    def track_relative_error(self, exact, kind, r):
        g, exact = self._probed(exact, kind, r)
        return float(np.linalg.norm(g - exact) / np.linalg.norm(exact))


class ReplayRounds:
    """One Gauss-Newton-style round on a stored background: a replay pass in
    forward order, an adjoint sweep and ``restart_adjoint`` (full storage
    reads memory, checkpointing recomputes; ``benchmarks/fwi_replay.py``
    prints the table). ``track_recomputed_sweeps``: forward steps recomputed
    per round, in sweeps of ``nt - 1`` steps."""

    params = (["full_storage", "checkpointing_20"],)
    param_names = ["strategy"]
    timeout = 600

    def setup(self, name):
        _single_thread()
        from randla.apps.wave import Checkpointing, FullStorage, Propagator

        m0, self.geom, d_obs = _problem()
        self.dd = d_obs
        self.prop = Propagator(m0, self.geom.dt)
        self.strategy = FullStorage() if name == "full_storage" else Checkpointing(20)
        self.prop.forward(self.geom, history=self.strategy)
        self._round()  # warm-up (and the first sweep, which needs no restart)

    def _round(self):
        s = self.strategy
        s.restart_adjoint()
        for t in range(self.geom.nt):
            s.replay(t)
        self.prop.adjoint(self.geom, self.dd, history=s)
        return s.gradient()

    def time_round(self, name):
        self._round()

    def track_recomputed_sweeps(self, name):
        before = self.strategy.num_recomputed_steps
        self._round()
        return (self.strategy.num_recomputed_steps - before) / (self.geom.nt - 1)

    track_recomputed_sweeps.unit = "sweeps"
