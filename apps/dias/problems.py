"""Linear test problems: 1-D deconvolution and 2-D parallel-beam X-ray tomography.

Both return a :class:`~randla.apps.dias.LinearProblem` with ``truth`` set and
noisy data ``d = F u_true + e``, ``e ~ N(0, sigma^2 I)`` with
``sigma = noise_level ||F u_true|| / sqrt(m)`` (so ``||e|| ~ noise_level
||F u_true||``). NumPy, float64.

References
----------
H. Nguyen, J. Wittmer, T. Bui-Thanh, Computation 10(3):38 (2022), Section 5
(deconvolution and X-ray tomography); L. A. Shepp, B. F. Logan, IEEE Trans.
Nucl. Sci. 21(3) (1974) and P. Toft, PhD thesis (1996) (the modified phantom).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from randla.backend import check_positive_int
from randla.random import as_generator

from .linear import LinearProblem
from .radon import radon_operator

__all__ = ["deconvolution_problem", "shepp_logan", "tomography_problem"]

# Toft's modified Shepp-Logan: intensity, semi-axes a, b, centre x, y, rotation (degrees)
_ELLIPSES = (
    (1.0, 0.69, 0.92, 0.0, 0.0, 0.0),
    (-0.8, 0.6624, 0.8740, 0.0, -0.0184, 0.0),
    (-0.2, 0.1100, 0.3100, 0.22, 0.0, -18.0),
    (-0.2, 0.1600, 0.4100, -0.22, 0.0, 18.0),
    (0.1, 0.2100, 0.2500, 0.0, 0.35, 0.0),
    (0.1, 0.0460, 0.0460, 0.0, 0.1, 0.0),
    (0.1, 0.0460, 0.0460, 0.0, -0.1, 0.0),
    (0.1, 0.0460, 0.0230, -0.08, -0.605, 0.0),
    (0.1, 0.0230, 0.0230, 0.0, -0.606, 0.0),
    (0.1, 0.0230, 0.0460, 0.06, -0.605, 0.0),
)


def shepp_logan(n: int, /) -> np.ndarray:
    """The modified Shepp-Logan phantom on an ``n x n`` grid over ``[-1, 1]^2`` (values in [0, 1]).

    Examples
    --------
    >>> from randla.apps.dias import shepp_logan
    >>> P = shepp_logan(64)
    >>> P.shape, float(P.max()) <= 1.0, float(P.min()) >= 0.0
    ((64, 64), True, True)
    """
    n = check_positive_int(n, "n")
    c = (np.arange(n) + 0.5) * (2.0 / n) - 1.0
    X, Y = np.meshgrid(c, -c)  # row 0 at the top (y = +1)
    img = np.zeros((n, n))
    for value, a, b, x0, y0, phi in _ELLIPSES:
        t = math.radians(phi)
        xr = (X - x0) * math.cos(t) + (Y - y0) * math.sin(t)
        yr = -(X - x0) * math.sin(t) + (Y - y0) * math.cos(t)
        img[(xr / a) ** 2 + (yr / b) ** 2 <= 1.0] += value
    return np.clip(img, 0.0, None)


def _noisy(op: Any, truth: np.ndarray, noise_level: float, gen: np.random.Generator) -> tuple[np.ndarray, float]:
    if not noise_level > 0:
        raise ValueError(f"noise_level must be > 0, got {noise_level}")
    clean = op.matmat(truth[:, None])[:, 0]
    sigma = noise_level * float(np.linalg.norm(clean)) / math.sqrt(clean.size)
    return clean + sigma * gen.standard_normal(clean.size), sigma * sigma


def deconvolution_problem(n: int = 100, /, *, kernel_width: float = 0.03, noise_level: float = 0.05,
                          rng: Any = None) -> LinearProblem:
    """1-D deconvolution on ``[0, 1]``: Gaussian blur of ``u(t) = 10 (t - 1/2) exp(-50 (t - 1/2)^2) - 0.8 + 1.6 t``.

    ``F_ij = h / (sqrt(2 pi) beta) exp(-(t_i - t_j)^2 / (2 beta^2))`` at the
    midpoints ``t_i`` of ``n`` cells (``h = 1/n``, ``beta = kernel_width``).

    Parameters
    ----------
    n : int, default 100
    kernel_width : float, default 0.03
    noise_level : float, default 0.05
    rng : int, numpy.random.Generator or None

    Returns
    -------
    LinearProblem
        Dense forward matrix; ``truth`` set; ``grid`` attribute (the ``t_i``).

    Examples
    --------
    >>> from randla.apps.dias import deconvolution_problem
    >>> prob = deconvolution_problem(50, rng=0)
    >>> prob.operator.shape, prob.truth.shape
    ((50, 50), (50,))
    """
    n = check_positive_int(n, "n", minimum=2)
    if not kernel_width > 0:
        raise ValueError(f"kernel_width must be > 0, got {kernel_width}")
    h = 1.0 / n
    t = (np.arange(n) + 0.5) * h
    F = h / (math.sqrt(2 * math.pi) * kernel_width) * np.exp(-((t[:, None] - t[None, :]) ** 2) / (2 * kernel_width**2))
    truth = 10 * (t - 0.5) * np.exp(-50 * (t - 0.5) ** 2) - 0.8 + 1.6 * t
    data, var = _noisy(_dense(F), truth, noise_level, as_generator(rng))
    prob = LinearProblem(F, data, noise_variance=var, truth=truth)
    prob.grid = t
    return prob


def _dense(F: np.ndarray) -> Any:
    from randla import as_operator

    return as_operator(F)


def tomography_problem(n: int = 64, /, *, num_angles: int = 30, max_angle: float = math.pi,
                       noise_level: float = 0.01, sparse: bool = True, rng: Any = None) -> LinearProblem:
    """Parallel-beam X-ray tomography of the ``n x n`` modified Shepp-Logan phantom.

    Parameters
    ----------
    n : int, default 64
    num_angles : int, default 30
        Equispaced angles in ``[0, max_angle)``.
    max_angle : float, default pi
        Less than ``pi`` gives a limited-angle problem.
    noise_level : float, default 0.01
    sparse : bool, default True
        Assemble the projector once (:func:`radon_operator` with ``sparse=True``).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    LinearProblem
        ``truth`` is the flattened phantom; ``image_shape`` attribute.

    Examples
    --------
    >>> from randla.apps.dias import tomography_problem
    >>> prob = tomography_problem(16, num_angles=6, rng=0)
    >>> prob.operator.shape
    (138, 256)
    """
    n = check_positive_int(n, "n", minimum=2)
    num_angles = check_positive_int(num_angles, "num_angles")
    angles = np.linspace(0.0, float(max_angle), num_angles, endpoint=False)
    op = radon_operator((n, n), angles, sparse=sparse)
    truth = shepp_logan(n).ravel()
    data, var = _noisy(op, truth, noise_level, as_generator(rng))
    prob = LinearProblem(op, data, noise_variance=var, truth=truth)
    prob.image_shape = (n, n)
    return prob
