"""Propagator: the one recurrence behind forward, adjoint, Born, advance and replay."""

import numpy as np
import pytest

from randla.apps.wave import FullStorage, Geometry, Model, Propagator, WavefieldHistory, layered_model

from wave_helpers import random_positions, small_problem


@pytest.fixture(scope="module")
def problem():
    rng = np.random.default_rng(30)
    model, geom = small_problem(rng, shape=(24, 20), tn=0.08, nrec=4, nbl=4)
    return model, geom, Propagator(model, geom.dt)


def test_python_loop_equals_compiled_sweep(problem):
    model, geom, prop = problem
    d_fast, _ = prop.forward(geom)
    d_loop, u = prop.forward(geom, save=True)
    np.testing.assert_allclose(d_loop, d_fast, rtol=0, atol=1e-12 * np.abs(d_fast).max())
    data = np.random.default_rng(1).standard_normal((geom.nt, geom.nrec))
    q_fast, _ = prop.adjoint(geom, data)
    q_loop, v = prop.adjoint(geom, data, save=True)
    np.testing.assert_allclose(q_loop, q_fast, rtol=0, atol=1e-12 * np.abs(q_fast).max())
    assert u.shape == v.shape == (geom.nt, *model.padded_shape)
    assert not u[0].any() and u[-1].any()


def test_advance_reproduces_the_forward_fields(problem):
    model, geom, prop = problem

    class Replayer(WavefieldHistory):
        def setup(self, context):
            super().setup(context)
            self.seen = {}
            self.state = context.new_state()

        def observe(self, t, u):
            if t == 3:
                self.context.capture(out=self.state)

    _, u = prop.forward(geom, save=True)
    strategy = Replayer()
    prop.forward(geom, history=strategy)
    ctx = strategy.context
    fields = {}
    end = ctx.advance(strategy.state, geom.nt - 1, observe=lambda t, f: fields.__setitem__(t, f.copy()))
    assert sorted(fields) == list(range(4, geom.nt)) and ctx.num_advanced_steps == geom.nt - 4
    for t, f in fields.items():
        np.testing.assert_array_equal(f, u[t])
    np.testing.assert_array_equal(end.field, u[-1])
    np.testing.assert_array_equal(end.previous, u[-2])
    from_rest = ctx.advance(ctx.initial_state(), 5)
    np.testing.assert_array_equal(from_rest.field, u[5])
    with pytest.raises(ValueError, match="t must be"):
        ctx.advance(end, 2)
    with pytest.raises(RuntimeError, match="capture"):
        ctx.capture()


def test_born_from_replay_equals_born_alongside(problem):
    model, geom, prop = problem
    dm = 1e-8 * np.random.default_rng(2).standard_normal(model.padded_shape)
    dd, d = prop.born(geom, dm)
    np.testing.assert_array_equal(d, prop.forward(geom)[0])
    history = FullStorage()
    prop.forward(geom, history=history)
    steps = prop.num_steps
    dd_replay, none = prop.born(geom, dm, replay=history)
    assert none is None and prop.num_steps - steps == geom.nt - 1  # the scattered field only
    np.testing.assert_array_equal(dd_replay, dd)


def test_reference_backend_dot_test(xp, to_xp):
    """<F q, d> = <q, F^T d> through the reference backend on every namespace."""
    rng = np.random.default_rng(3)
    vp = np.asarray(layered_model((12, 10), spacing=10.0, nbl=2, dtype=np.float64).vp)
    model = Model(to_xp(vp), spacing=10.0, nbl=2, space_order=4)
    geom = Geometry(model, src_positions=random_positions(rng, model, 2),
                    rec_positions=random_positions(rng, model, 3), tn=0.04, f0=30.0)
    prop = Propagator(model, geom.dt, kernel="reference")
    assert prop.backend.name == "reference" and not prop.backend.compiled_sweep
    q = rng.standard_normal((geom.nt, geom.nsrc))
    d = rng.standard_normal((geom.nt, geom.nrec))
    fq, _ = prop.forward(geom, wavelet=to_xp(q))
    ftd, _ = prop.adjoint(geom, to_xp(d))
    lhs, rhs = float(np.sum(np.asarray(fq) * d)), float(np.sum(q * np.asarray(ftd)))
    assert abs(lhs - rhs) <= 1e-12 * abs(lhs)
    dm = 1e-8 * rng.standard_normal(model.padded_shape)
    history = FullStorage()
    prop.forward(geom, history=history)
    dd_replay, _ = prop.born(geom, to_xp(dm), replay=history)
    dd, _ = prop.born(geom, to_xp(dm))
    np.testing.assert_allclose(np.asarray(dd_replay), np.asarray(dd), rtol=1e-12, atol=0)


def test_backend_choice_by_capability():
    model = layered_model((14, 12), spacing=10.0, nbl=3)
    prop = Propagator(model, 1e-3)
    assert prop.backend.name == "numba" and prop.backend.compiled_sweep
    assert Propagator(model, 1e-3, kernel="reference").backend.name == "reference"
    with pytest.raises(TypeError, match="CuPy"):
        Propagator(model, 1e-3, kernel="cuda")
