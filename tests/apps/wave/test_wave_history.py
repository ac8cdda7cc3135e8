"""The wavefield-history seam: protocol, conventions, full storage, revolve checkpointing."""

from functools import lru_cache

import numpy as np
import pytest

from randla.apps.wave import (
    ISIC,
    Checkpointing,
    CrossCorrelation,
    FullStorage,
    KSpaceFilter,
    WavefieldHistory,
    adjoint,
    forward,
    gradient,
    jacobian_adjoint,
    revolve_schedule,
)
from randla.apps.wave.history import _schedule_cost
from randla.backend import to_host

from wave_helpers import small_problem


@lru_cache(maxsize=None)
def _optimal_cost(length, free):
    """Minimal forward steps to reverse ``length`` states from a stored start
    with ``free`` extra checkpoint slots (dynamic programming over the split)."""
    if length == 1:
        return 0
    if free == 0:
        return length * (length - 1) // 2
    return min(j + _optimal_cost(length - j, free - 1) + _optimal_cost(j, free)
               for j in range(1, length))


@pytest.mark.parametrize("snaps", [1, 2, 3, 5])
def test_revolve_schedule_is_optimal(snaps):
    for nt in range(1, 70):
        actions = revolve_schedule(nt, snaps)
        first, recomputed = _schedule_cost(actions, snaps)
        assert first == nt - 1                      # the engine's own forward sweep
        assert recomputed == _optimal_cost(nt, snaps) - (nt - 1)
        # every adjoint index exactly once, in decreasing order
        adj = [a[1] for a in actions if a[0] == "adjoint"]
        assert adj == list(range(nt - 1, -1, -1))
        # never more than `snaps` slots (+ the work state) in use
        used = {a[3] for a in actions if a[0] == "advance"}
        assert used <= set(range(snaps + 1))


def test_revolve_schedule_errors():
    with pytest.raises(ValueError, match="num_snapshots"):
        revolve_schedule(10, 0)
    with pytest.raises(ValueError, match="nt"):
        revolve_schedule(0, 3)
    with pytest.raises(ValueError, match="num_snapshots"):
        Checkpointing(0)
    with pytest.raises(TypeError, match="num_snapshots"):
        Checkpointing(2.5)


class _Recorder(WavefieldHistory):
    """Records the calls and copies of the fields (to check the documented contract)."""

    def setup(self, context):
        super().setup(context)
        self.calls, self.u, self.v = [], {}, {}

    def observe(self, t, u):
        self.calls.append(("observe", t))
        self.u[t] = np.array(u, copy=True)

    def end_forward(self):
        self.calls.append(("end_forward", None))

    def correlate(self, t, v):
        self.calls.append(("correlate", t))
        self.v[t] = np.array(v, copy=True)

    def gradient(self):
        # summation by parts: -(1/dt^2) sum_t u^t (v^t - 2 v^{t+1} + v^{t+2})
        nt, zero = self.context.nt, np.zeros(self.context.shape)
        v = [self.v[t] for t in range(nt)] + [zero, zero]
        total = sum(self.u[t] * (v[t] - 2 * v[t + 1] + v[t + 2]) for t in range(nt))
        return self.context.imaging_scale * total

    @property
    def nbytes(self):
        return sum(x.nbytes for x in self.u.values()) + sum(x.nbytes for x in self.v.values())


def test_protocol_order_and_time_convention():
    rng = np.random.default_rng(0)
    model, geom = small_problem(rng, shape=(24, 20), tn=0.1, nbl=5)
    rec = _Recorder()
    d_obs = np.zeros((geom.nt, geom.nrec))
    f, g = gradient(model, geom, d_obs, history=rec)
    nt = geom.nt
    assert rec.calls == ([("observe", t) for t in range(nt)] + [("end_forward", None)]
                         + [("correlate", t) for t in range(nt - 1, -1, -1)])
    ctx = rec.context
    assert ctx.nt == nt and ctx.dt == geom.dt and ctx.shape == model.padded_shape
    assert ctx.imaging_scale == pytest.approx(-1.0 / geom.dt ** 2)
    # u passed to observe(t, .) is u^t of the saved forward field (u^0 = 0)
    d, u_saved = forward(model, geom, save=True)
    assert not rec.u[0].any()
    for t in (1, nt // 2, nt - 1):
        np.testing.assert_array_equal(rec.u[t], u_saved[t])
    # v passed to correlate(t, .) is v^t of the saved adjoint field of the residual
    _, v_saved = adjoint(model, geom, d - d_obs, save=True)
    for t in (0, nt // 2, nt - 1):
        np.testing.assert_array_equal(rec.v[t], v_saved[t])
    # and summation by parts reproduces the full-storage imaging condition
    _, g_full = gradient(model, geom, d_obs, history=FullStorage())
    np.testing.assert_allclose(g, g_full, rtol=1e-10, atol=1e-12 * np.abs(g_full).max())


@pytest.mark.parametrize("snaps", [1, 2, 7, 200])
def test_checkpointing_equals_full_storage(snaps):
    rng = np.random.default_rng(1)
    model, geom = small_problem(rng, shape=(26, 22), tn=0.12, nbl=5)
    dd = rng.standard_normal((geom.nt, geom.nrec))
    full = FullStorage()
    g_full = jacobian_adjoint(model, geom, dd, history=full)
    ckpt = Checkpointing(snaps)
    g_ck = jacobian_adjoint(model, geom, dd, history=ckpt)
    np.testing.assert_allclose(g_ck, g_full, rtol=1e-12, atol=1e-13 * np.abs(g_full).max())
    nt = geom.nt
    assert ckpt.num_recomputed_steps == _optimal_cost(nt, snaps) - (nt - 1)
    if snaps >= nt - 1:
        assert ckpt.num_recomputed_steps == 0
    field = int(np.prod(model.padded_shape)) * 8
    storage = int(np.prod([n + 8 for n in model.padded_shape])) * 8   # radius 4 halo
    assert full.nbytes == nt * field + 2 * field   # fields + image + a zero field
    assert ckpt.nbytes <= 2 * field + 2 * storage * (min(snaps, nt) + 1)
    assert ckpt.nbytes < full.nbytes or snaps >= nt - 1


def test_strategy_reuse_and_context_guards():
    rng = np.random.default_rng(2)
    model, geom = small_problem(rng, shape=(20, 18), tn=0.08, nbl=4)
    dd = rng.standard_normal((geom.nt, geom.nrec))
    ckpt = Checkpointing(3)
    first = jacobian_adjoint(model, geom, dd, history=ckpt)
    second = jacobian_adjoint(model, geom, dd, history=ckpt)
    np.testing.assert_array_equal(first, second)
    with pytest.raises(RuntimeError, match="observe"):
        ckpt.context.capture()
    with pytest.raises(RuntimeError, match="setup"):
        FullStorage().gradient()
    assert FullStorage().nbytes == 0 and Checkpointing(2).nbytes == 0


def test_context_advance_replays_the_forward():
    rng = np.random.default_rng(3)
    model, geom = small_problem(rng, shape=(22, 18), tn=0.1, nbl=4)
    _, u_saved = forward(model, geom, save=True)

    class Grab(_Recorder):
        def observe(self, t, u):
            super().observe(t, u)
            if t == 3:
                self.state = self.context.capture()

    grab = Grab()
    jacobian_adjoint(model, geom, np.zeros((geom.nt, geom.nrec)), history=grab)
    ctx = grab.context
    seen = {}
    state = ctx.advance(grab.state, geom.nt - 1, observe=lambda t, u: seen.setdefault(t, np.array(u)))
    assert state.t == geom.nt - 1 and sorted(seen) == list(range(4, geom.nt))
    np.testing.assert_allclose(state.field, u_saved[-1], rtol=0, atol=1e-13 * np.abs(u_saved).max())
    np.testing.assert_allclose(state.previous, u_saved[-2], rtol=0, atol=1e-13 * np.abs(u_saved).max())
    from_zero = ctx.advance(ctx.initial_state(), 5)
    np.testing.assert_allclose(from_zero.field, u_saved[5], rtol=0, atol=1e-13 * np.abs(u_saved).max())
    assert ctx.num_advanced_steps == (geom.nt - 1 - 3) + 5
    with pytest.raises(ValueError, match="t must be"):
        ctx.advance(from_zero, 2)


def test_strategies_on_every_backend(xp, to_xp):
    """Both strategies run through the seam on any array-API backend (reference
    stepper) and agree with the NumPy/Numba gradient."""
    from randla.apps.wave import Geometry, Model

    rng = np.random.default_rng(4)
    vp = 2000.0 + 300.0 * rng.random((12, 10))
    src, rec = [[50.0, 20.0]], [[20.0, 30.0], [90.0, 60.0]]
    model_np = Model(vp, spacing=10.0, nbl=2, space_order=4)
    model_xp = Model(to_xp(vp), spacing=10.0, nbl=2, space_order=4)
    g_np = Geometry(model_np, src_positions=src, rec_positions=rec, tn=0.03, f0=40.0)
    g_xp = Geometry(model_xp, src_positions=src, rec_positions=rec, tn=0.03, f0=40.0)
    d_obs = rng.standard_normal((g_np.nt, 2))
    _, expected = gradient(model_np, g_np, d_obs)
    _, isic = gradient(model_np, g_np, d_obs, history=FullStorage(imaging=ISIC()))
    for strategy, want in ((FullStorage(), expected), (Checkpointing(2), expected),
                           (FullStorage(imaging=ISIC()), isic), (Checkpointing(2, imaging=ISIC()), isic)):
        _, got = gradient(model_xp, g_xp, to_xp(d_obs), history=strategy)
        np.testing.assert_allclose(to_host(got), want, rtol=1e-9, atol=1e-11 * np.abs(want).max())


# -- imaging conditions on the exact strategies ----------------------------------------


@pytest.fixture(scope="module")
def shot():
    rng = np.random.default_rng(5)
    model, geom = small_problem(rng, shape=(26, 22), tn=0.12, nbl=5)
    d_obs = rng.standard_normal((geom.nt, geom.nrec))
    return model, geom, d_obs


@pytest.mark.parametrize("imaging", [ISIC(), KSpaceFilter(), KSpaceFilter(ISIC(), power=1.0)],
                         ids=["isic", "laplacian", "isic-k1"])
def test_exact_strategies_equal_the_probed_limit(shot, imaging):
    """ISIC and k-space filtered images of full storage and checkpointing equal
    the exact limit of the probed strategy (orthonormal probes, r = nt), which
    evaluates the condition on the compressed fields with Z Z^T = nt I."""
    from randla.apps.fwi import Probed

    model, geom, d_obs = shot
    _, g_full = gradient(model, geom, d_obs, history=FullStorage(imaging=imaging))
    _, g_ckpt = gradient(model, geom, d_obs, history=Checkpointing(3, imaging=imaging))
    _, g_probed = gradient(model, geom, d_obs, history=Probed(geom.nt, "orthonormal", rng=0, imaging=imaging))
    scale = np.abs(g_probed).max()
    np.testing.assert_allclose(g_full, g_probed, rtol=0, atol=1e-10 * scale)
    np.testing.assert_allclose(g_ckpt, g_full, rtol=0, atol=1e-12 * scale)
    _, g_cc = gradient(model, geom, d_obs)
    assert np.abs(g_full - g_cc).max() > 1e-3 * scale   # a different image indeed


def test_default_imaging_is_the_cross_correlation(shot):
    model, geom, d_obs = shot
    _, g = gradient(model, geom, d_obs)
    _, g_cc = gradient(model, geom, d_obs, history=FullStorage(imaging=CrossCorrelation()))
    np.testing.assert_array_equal(g, g_cc)
    assert isinstance(FullStorage().imaging, CrossCorrelation)
    assert isinstance(Checkpointing(2).imaging, CrossCorrelation)
    with pytest.raises(TypeError, match="imaging"):
        FullStorage(imaging="isic")


# -- spawn --------------------------------------------------------------------------


def test_spawn_rebuilds_with_the_same_arguments(shot):
    from randla.apps.fwi import Probed

    model, geom, d_obs = shot
    isic = ISIC()
    ran = FullStorage(imaging=isic)
    gradient(model, geom, d_obs, history=ran)
    fresh = ran.spawn()
    assert type(fresh) is FullStorage and fresh.imaging is isic and fresh.context is None
    ck = Checkpointing(4, imaging=isic).spawn(rng=3)
    assert (type(ck), ck.num_snapshots, ck.imaging) == (Checkpointing, 4, isic)

    class Scaled(FullStorage):
        def __init__(self, factor, *, imaging=None):
            super().__init__(imaging=imaging)
            self.factor = factor

    twin = Scaled(2.5, imaging=isic).spawn()
    assert (type(twin), twin.factor, twin.imaging) == (Scaled, 2.5, isic)

    class Seeded(_Recorder):
        def __init__(self, rng, scale=1.0):
            super().__init__()
            self.rng, self.scale = rng, scale

    again = Seeded(1, 2.0).spawn(rng=9)        # a positional rng is replaced too
    assert (type(again), again.rng, again.scale) == (Seeded, 9, 2.0)
    # randomized strategies are re-seeded from rng, the template untouched
    template = Probed(6, "gaussian", rng=0, block=3)
    a, b, c = template.spawn(rng=7), template.spawn(rng=7), template.spawn(rng=8)
    for p in (a, b, c):
        gradient(model, geom, d_obs, history=p)
    assert np.array_equal(a.probes, b.probes) and not np.array_equal(a.probes, c.probes)
    assert (a.probe, a.block, a.num_probes) == ("gaussian", 3, 6)


def test_observed_data_travel_in_the_context(shot):
    model, geom, d_obs = shot
    rec = _Recorder()
    gradient(model, geom, d_obs, history=rec)
    assert rec.context.d_obs is d_obs
    jacobian_adjoint(model, geom, d_obs, history=rec)
    assert rec.context.d_obs is None


# -- replay ---------------------------------------------------------------------------


def _sweep_again(prop, geom, strategy, dd):
    strategy.restart_adjoint()
    prop.adjoint(geom, dd, history=strategy)
    return model_grad(prop, strategy)


def model_grad(prop, strategy):
    return prop.model.pad_adjoint(strategy.gradient())


@pytest.mark.parametrize("make", [FullStorage, lambda: Checkpointing(3),
                                  lambda: Checkpointing(2, imaging=ISIC())],
                         ids=["full", "checkpointing", "checkpointing-isic"])
def test_replay_gives_the_forward_field_back(shot, make):
    """replay(t) is u^t of forward(save=True) for every t, in two passes (and
    again after an adjoint sweep); a second adjoint sweep after
    restart_adjoint gives the same image as a fresh strategy."""
    from randla.apps.wave import Propagator

    model, geom, d_obs = shot
    rng = np.random.default_rng(6)
    dd1, dd2 = rng.standard_normal((2, geom.nt, geom.nrec))
    _, u_saved = forward(model, geom, save=True)
    atol = 1e-13 * np.abs(u_saved).max()
    strategy = make()
    assert strategy.replayable
    prop = Propagator(model, geom.dt)
    prop.forward(geom, history=strategy)
    for _ in range(2):
        for t in range(geom.nt):
            np.testing.assert_allclose(strategy.replay(t), u_saved[t], rtol=0, atol=atol)
    prop.adjoint(geom, dd1, history=strategy)
    g1 = model_grad(prop, strategy)
    want1 = jacobian_adjoint(model, geom, dd1, history=make())
    np.testing.assert_allclose(g1, want1, rtol=0, atol=1e-12 * np.abs(want1).max())
    for t in (0, 1, geom.nt // 2, geom.nt - 1):
        np.testing.assert_allclose(strategy.replay(t), u_saved[t], rtol=0, atol=atol)
    g2 = _sweep_again(prop, geom, strategy, dd2)
    want2 = jacobian_adjoint(model, geom, dd2, history=make())
    np.testing.assert_allclose(g2, want2, rtol=0, atol=1e-12 * np.abs(want2).max())
    for t in range(geom.nt):   # a pass between sweeps restores the checkpoints on the way
        np.testing.assert_allclose(strategy.replay(t), u_saved[t], rtol=0, atol=atol)
    g3 = _sweep_again(prop, geom, strategy, dd1)
    np.testing.assert_allclose(g3, g1, rtol=0, atol=1e-12 * np.abs(want1).max())


def test_checkpointing_replay_cost():
    """One forward-order pass recomputes at most nt - 1 steps (fewer: it
    restarts from the checkpoints it passes), a second pass as many."""
    from randla.apps.wave import Propagator

    rng = np.random.default_rng(7)
    model, geom = small_problem(rng, shape=(20, 18), tn=0.08, nbl=4)
    ckpt = Checkpointing(3)
    Propagator(model, geom.dt).forward(geom, history=ckpt)
    assert ckpt.num_recomputed_steps == 0
    for t in range(geom.nt):
        ckpt.replay(t)
    first = ckpt.num_recomputed_steps
    assert 0 < first <= geom.nt - 1
    for t in range(geom.nt):
        ckpt.replay(t)
    assert ckpt.num_recomputed_steps == 2 * first


def test_replay_errors(shot):
    from randla.apps.fwi import OnTheFlyDFT, Probed

    model, geom, d_obs = shot
    for strategy in (Probed(4), OnTheFlyDFT([10.0]), _Recorder()):
        assert not strategy.replayable
        with pytest.raises(TypeError, match=f"{type(strategy).__name__} cannot replay"):
            strategy.replay(0)
        with pytest.raises(TypeError, match="cannot replay"):
            strategy.restart_adjoint()
    full = FullStorage()
    gradient(model, geom, d_obs, history=full)
    with pytest.raises(ValueError, match="t must be"):
        full.replay(geom.nt)
    with pytest.raises(RuntimeError, match="setup"):
        Checkpointing(2).replay(0)
