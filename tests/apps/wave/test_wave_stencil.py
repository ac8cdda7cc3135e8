"""Fornberg weights against known values and exactness on polynomials."""

from fractions import Fraction

import numpy as np
import pytest

from randla.apps.wave import (
    SPACE_ORDERS,
    fornberg_weights,
    second_derivative_weights,
    stencil_bound,
)


def test_known_second_derivative_weights():
    assert second_derivative_weights(2).tolist() == [-2.0, 1.0]
    np.testing.assert_allclose(second_derivative_weights(4), [-5 / 2, 4 / 3, -1 / 12], rtol=1e-15)
    np.testing.assert_allclose(second_derivative_weights(6), [-49 / 18, 3 / 2, -3 / 20, 1 / 90],
                               rtol=1e-15)
    np.testing.assert_allclose(second_derivative_weights(8),
                               [-205 / 72, 8 / 5, -1 / 5, 8 / 315, -1 / 560], rtol=1e-15)


def test_known_first_derivative_and_one_sided():
    np.testing.assert_allclose(fornberg_weights(1, [-2, -1, 0, 1, 2]),
                               [1 / 12, -2 / 3, 0, 2 / 3, -1 / 12], atol=1e-15)
    # one-sided second-order first derivative
    np.testing.assert_allclose(fornberg_weights(1, [0, 1, 2]), [-1.5, 2.0, -0.5], atol=1e-15)
    # interpolation (derivative 0) at a midpoint: linear weights
    np.testing.assert_allclose(fornberg_weights(0, [0.0, 1.0], x0=0.5), [0.5, 0.5])
    assert fornberg_weights(2, [Fraction(-1), Fraction(0), Fraction(1)]).tolist() == [1.0, -2.0, 1.0]


@pytest.mark.parametrize("space_order", SPACE_ORDERS)
def test_weights_exact_on_polynomials(space_order):
    """Centred weights of order p differentiate x^k exactly for k <= p + 1."""
    w = second_derivative_weights(space_order)
    radius = space_order // 2
    offsets = np.arange(-radius, radius + 1, dtype=np.float64)
    full = np.concatenate([w[:0:-1], w])
    for k in range(space_order + 2):
        exact = 2.0 if k == 2 else 0.0
        approx = float(np.sum(full * offsets ** k))
        assert abs(approx - exact) <= 1e-9 * max(1.0, float(np.sum(np.abs(full * offsets ** k))))
    # and not for k = p + 2 (the order is exactly p)
    k = space_order + 2
    assert abs(float(np.sum(full * offsets ** k))) > 1e-6


def test_stencil_bound_is_nyquist_symbol():
    for so in SPACE_ORDERS:
        w = second_derivative_weights(so)
        symbol = w[0] + 2 * sum(w[k] * np.cos(k * np.pi) for k in range(1, w.size))
        assert stencil_bound(so) == pytest.approx(abs(symbol), rel=1e-13)
    assert stencil_bound(2) == 4.0


@pytest.mark.parametrize("bad", [0, 1, 3, 18, -2, 2.5])
def test_bad_space_order(bad):
    with pytest.raises(ValueError, match="space_order"):
        second_derivative_weights(bad)


def test_bad_space_order_type():
    with pytest.raises(TypeError, match="space_order"):
        second_derivative_weights("eight")


def test_fornberg_errors():
    with pytest.raises(ValueError, match="derivative"):
        fornberg_weights(-1, [0, 1])
    with pytest.raises(ValueError, match="at least"):
        fornberg_weights(2, [0, 1])
    with pytest.raises(ValueError, match="distinct"):
        fornberg_weights(1, [0, 1, 1])
