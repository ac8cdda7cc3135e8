"""Multi-shot loops and the LinearOperator views of apps/wave/shots.py."""

import numpy as np
import pytest

from randla.apps.wave import (
    Checkpointing,
    Geometry,
    born,
    born_shots,
    forward,
    forward_operator,
    forward_shots,
    gauss_newton,
    gauss_newton_shots,
    jacobian_adjoint,
    jacobian_adjoint_shots,
    jacobian_operator,
    layered_anomaly_model,
)

from wave_helpers import random_positions


@pytest.fixture(scope="module")
def shots():
    rng = np.random.default_rng(40)
    model = layered_anomaly_model((22, 18), spacing=10.0, nbl=4, dtype=np.float64)
    rec = random_positions(rng, model, 4)
    geoms = [Geometry(model, src_positions=random_positions(rng, model, 1), rec_positions=rec, tn=0.07)
             for _ in range(2)]
    return model, geoms, 1e-8 * rng.standard_normal(model.shape)


def test_shot_functions_apply_the_single_shot_function(shots):
    model, geoms, dm = shots
    for got, geom in zip(forward_shots(model, geoms), geoms):
        np.testing.assert_array_equal(got, forward(model, geom))
    dd = born_shots(model, geoms, dm)
    for got, geom in zip(dd, geoms):
        np.testing.assert_array_equal(got, born(model, geom, dm))
    image = jacobian_adjoint_shots(model, geoms, dd, history=Checkpointing(2))
    expected = sum(jacobian_adjoint(model, g, x) for g, x in zip(geoms, dd))
    np.testing.assert_allclose(image, expected, rtol=1e-12, atol=1e-14 * np.abs(expected).max())
    np.testing.assert_allclose(gauss_newton_shots(model, geoms, dm),
                               sum(gauss_newton(model, g, dm) for g in geoms), rtol=1e-12, atol=0)


def test_operator_views_match_the_functions(shots):
    model, geoms, dm = shots
    J = jacobian_operator(model, geoms)
    stacked = np.concatenate([born(model, g, dm).reshape(-1) for g in geoms])
    np.testing.assert_array_equal(J.matvec(dm.reshape(-1)), stacked)
    geom = geoms[0]
    F = forward_operator(model, geom)
    q = np.random.default_rng(1).standard_normal((geom.nt, geom.nsrc))
    np.testing.assert_array_equal(F.matvec(q.reshape(-1)), forward(model, geom.with_wavelet(q)).reshape(-1))


def test_shot_argument_errors(shots):
    model, geoms, dm = shots
    with pytest.raises(TypeError, match="sequence"):
        born_shots(model, geoms[0], dm)
    with pytest.raises(ValueError, match="at least one"):
        gauss_newton_shots(model, [], dm)
    with pytest.raises(ValueError, match="one array per shot"):
        jacobian_adjoint_shots(model, geoms, [np.zeros((geoms[0].nt, 4))])
    with pytest.raises(TypeError, match="WavefieldHistory"):
        jacobian_operator(model, geoms, history="full")
