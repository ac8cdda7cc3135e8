"""Multi-shot loops and :class:`randla.LinearOperator` views of the modelling operators.

Every ``*_shots`` function runs the single-shot operator of
:mod:`randla.apps.wave.solver` once per shot, serially, and sums gradients
(:mod:`randla.apps.fwi` distributes the same per-shot calls with Dask).
:func:`forward_operator` and :func:`jacobian_operator` wrap ``F`` and ``J``
as linear operators on flattened vectors, one modelling run per column, for
the matrix-free core (:func:`randla.dot_test`, range finders, trace
estimators).

References
----------
J. Virieux and S. Operto, "An overview of full-waveform inversion in
exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.
"""

from __future__ import annotations

from typing import Any, Sequence

from randla.operators import LinearOperator

from .geometry import Geometry
from .history import WavefieldHistory
from .model import Model
from .solver import Solver, _history, born, forward, gauss_newton, gradient, jacobian_adjoint

__all__ = [
    "born_shots",
    "forward_operator",
    "forward_shots",
    "gauss_newton_shots",
    "gradient_shots",
    "jacobian_adjoint_shots",
    "jacobian_operator",
]


def _check_shots(geometries: Any) -> list[Geometry]:
    if isinstance(geometries, Geometry):
        raise TypeError("geometries must be a sequence of Geometry (one per shot); "
                        "use the single-shot function for one Geometry")
    shots = list(geometries)
    if not shots:
        raise ValueError("geometries must hold at least one shot")
    return shots


def _per_shot(values: Any, shots: list, name: str) -> list:
    vals = list(values)
    if len(vals) != len(shots):
        raise ValueError(f"{name} must hold one array per shot ({len(shots)}), got {len(vals)}")
    return vals


# -- multi-shot (serial) ---------------------------------------------------------------


def forward_shots(model: Model, geometries: Sequence[Geometry], /, **options: Any) -> list:
    """:func:`forward` for every shot (serial loop); returns a list of records.

    Parameters
    ----------
    model : Model
    geometries : sequence of Geometry
        One geometry per shot (at least one).
    **options
        Keyword arguments of :func:`forward` (``kernel``, ``num_threads``).

    Returns
    -------
    list of array
        One shot record ``(nt, nrec)`` per geometry.

    Raises
    ------
    TypeError
        A single :class:`Geometry` instead of a sequence, and as :func:`forward`.
    ValueError
        An empty ``geometries``, and as :func:`forward`.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, forward_shots, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> shots = [Geometry(model, src_positions=[[x, 20.0]], rec_positions=[[200.0, 20.0]], tn=0.1)
    ...          for x in (100.0, 300.0)]
    >>> len(forward_shots(model, shots))
    2
    """
    return [forward(model, geom, **options) for geom in _check_shots(geometries)]


def born_shots(model: Model, geometries: Sequence[Geometry], dm: Any, /, **options: Any) -> list:
    """:func:`born` for every shot; returns a list of linearized records.

    Parameters
    ----------
    model, geometries
        As for :func:`forward_shots`.
    dm : array, model.shape
        The same perturbation for every shot.
    **options
        Keyword arguments of :func:`born` (``kernel``, ``num_threads``).

    Returns
    -------
    list of array
        ``J_s dm`` of shape ``(nt, nrec)`` per shot.

    Raises
    ------
    TypeError, ValueError
        As :func:`forward_shots`, and as :func:`born`.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, born_shots, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> shots = [Geometry(model, src_positions=[[x, 20.0]], rec_positions=[[200.0, 20.0]], tn=0.1)
    ...          for x in (100.0, 300.0)]
    >>> [d.shape for d in born_shots(model, shots, np.zeros(model.shape, np.float32))] == [(shots[0].nt, 1)] * 2
    True
    """
    return [born(model, geom, dm, **options) for geom in _check_shots(geometries)]


def _by_column(xp: Any, X: Any, column: Any) -> Any:
    """``X`` (rows, k) -> the flattened ``column(X[:, j])`` stacked as k columns."""
    return xp.stack([xp.reshape(column(X[:, j]), (-1,)) for j in range(X.shape[1])], axis=1)


def _sum_images(images: list) -> Any:
    total = images[0]
    for img in images[1:]:
        total = total + img
    return total


def jacobian_adjoint_shots(model: Model, geometries: Sequence[Geometry], dd: Sequence[Any], /,
                           **options: Any) -> Any:
    """Sum over shots of :func:`jacobian_adjoint` (``dd`` is one record per shot).

    Parameters
    ----------
    model, geometries
        As for :func:`forward_shots`.
    dd : sequence of array
        One ``(nt, nrec)`` record per shot.
    **options
        Keyword arguments of :func:`jacobian_adjoint` (``kernel``, ``num_threads``,
        ``history``).

    Returns
    -------
    array, model.shape
        ``sum_s J_s^T dd_s``.

    Raises
    ------
    TypeError, ValueError
        As :func:`forward_shots` and :func:`jacobian_adjoint`; ``dd`` needs one
        entry per shot.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, jacobian_adjoint_shots, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> shots = [Geometry(model, src_positions=[[x, 20.0]], rec_positions=[[200.0, 20.0]], tn=0.1)
    ...          for x in (100.0, 300.0)]
    >>> dd = [np.ones((g.nt, g.nrec), np.float32) for g in shots]
    >>> jacobian_adjoint_shots(model, shots, dd).shape
    (40, 30)
    """
    shots = _check_shots(geometries)
    vals = _per_shot(dd, shots, "dd")
    return _sum_images([jacobian_adjoint(model, g, x, **options) for g, x in zip(shots, vals)])


def gradient_shots(model: Model, geometries: Sequence[Geometry], d_obs: Sequence[Any], /,
                   **options: Any) -> tuple[float, Any]:
    """Summed objective and gradient over shots (serial loop).

    Parameters
    ----------
    model, geometries
        As for :func:`forward_shots`.
    d_obs : sequence of array
        One observed ``(nt, nrec)`` record per shot.
    **options
        Keyword arguments of :func:`gradient` (``kernel``, ``num_threads``, ``history``).

    Returns
    -------
    f : float
        ``sum_s 1/2 ||d_s - d_obs_s||^2``.
    g : array, model.shape
        The summed gradient.

    Raises
    ------
    TypeError, ValueError
        As :func:`forward_shots` and :func:`gradient`; ``d_obs`` needs one
        entry per shot.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, forward_shots, gradient_shots, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> shots = [Geometry(model, src_positions=[[x, 20.0]], rec_positions=[[200.0, 20.0]], tn=0.1)
    ...          for x in (100.0, 300.0)]
    >>> f, g = gradient_shots(model, shots, forward_shots(model, shots))
    >>> f, g.shape
    (0.0, (40, 30))
    """
    shots = _check_shots(geometries)
    vals = _per_shot(d_obs, shots, "d_obs")
    total_f, images = 0.0, []
    for geom, obs in zip(shots, vals):
        f, g = gradient(model, geom, obs, **options)
        total_f += f
        images.append(g)
    return total_f, _sum_images(images)


def gauss_newton_shots(model: Model, geometries: Sequence[Geometry], dm: Any, /, **options: Any) -> Any:
    """Sum over shots of :func:`gauss_newton`.

    Parameters
    ----------
    model, geometries
        As for :func:`forward_shots`.
    dm : array, model.shape
        The model-space vector.
    **options
        Keyword arguments of :func:`gauss_newton` (``kernel``, ``num_threads``, ``history``).

    Returns
    -------
    array, model.shape
        ``sum_s J_s^T J_s dm``.

    Raises
    ------
    TypeError, ValueError
        As :func:`forward_shots`, and as :func:`gauss_newton`.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, gauss_newton_shots, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> shots = [Geometry(model, src_positions=[[x, 20.0]], rec_positions=[[200.0, 20.0]], tn=0.1)
    ...          for x in (100.0, 300.0)]
    >>> gauss_newton_shots(model, shots, np.zeros(model.shape, np.float32)).any()
    np.False_
    """
    shots = _check_shots(geometries)
    return _sum_images([gauss_newton(model, g, dm, **options) for g in shots])


# -- LinearOperator views ---------------------------------------------------------------


def forward_operator(model: Model, geometry: Geometry, /, *, kernel: str = "auto") -> LinearOperator:
    """``F`` as a :class:`randla.LinearOperator` from flattened source wavelets
    (nt * nsrc) to flattened records (nt * nrec), with ``F^T`` as adjoint.

    Every column of a block is one :func:`forward` (or :func:`adjoint`) run.

    Parameters
    ----------
    model : Model
    geometry : Geometry
        Its wavelet is replaced by each input column.
    kernel : {"auto", "numba", "cuda", "reference"}
        See :class:`Propagator`.

    Returns
    -------
    randla.LinearOperator
        Shape ``(nt * nrec, nt * nsrc)``, the model's dtype, namespace and device.

    Raises
    ------
    TypeError
        ``model`` / ``geometry`` of the wrong type.
    ValueError
        A geometry of another grid.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import dot_test
    >>> from randla.apps.wave import Geometry, forward_operator, layered_model
    >>> model = layered_model((30, 30), spacing=10.0, nbl=5, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[150.0, 20.0]], rec_positions=[[100.0, 30.0]], tn=0.1)
    >>> lhs, rhs = dot_test(forward_operator(model, geom), rng=0, rtol=1e-10)
    >>> abs(lhs - rhs) <= 1e-10 * abs(lhs)
    True
    """
    solver = Solver(model, geometry, kernel=kernel)
    xp = model.xp
    nt, ns, nr = geometry.nt, geometry.nsrc, geometry.nrec

    def matmat(X: Any) -> Any:
        return _by_column(xp, X, lambda q: solver.forward(wavelet=xp.reshape(q, (nt, ns))))

    def rmatmat(Y: Any) -> Any:
        return _by_column(xp, Y, lambda d: solver.adjoint(xp.reshape(d, (nt, nr))))

    return LinearOperator((nt * nr, nt * ns), matmat, rmatmat=rmatmat, dtype=model.dtype, xp=xp,
                          device=model.device)


def jacobian_operator(model: Model, geometries: Geometry | Sequence[Geometry], /, *,
                      history: WavefieldHistory | None = None, kernel: str = "auto") -> LinearOperator:
    """``J`` (one or several shots stacked) as a :class:`randla.LinearOperator`
    from flattened ``dm`` to the concatenated flattened records.

    Every column is one :func:`born` run per shot (``matmat``) or one
    :func:`jacobian_adjoint` run per shot (``rmatmat``).

    Parameters
    ----------
    model : Model
    geometries : Geometry or sequence of Geometry
        One shot or several (their records are stacked).
    history : WavefieldHistory, optional
        Strategy of the adjoint (default :class:`FullStorage`).
    kernel : {"auto", "numba", "cuda", "reference"}
        See :class:`Propagator`.

    Returns
    -------
    randla.LinearOperator
        Shape ``(sum_s nt_s * nrec_s, prod(model.shape))``.

    Raises
    ------
    TypeError
        ``model`` / geometries of the wrong type.
    ValueError
        An empty sequence of geometries, or one of another grid.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import dot_test
    >>> from randla.apps.wave import Geometry, jacobian_operator, layered_model
    >>> model = layered_model((30, 30), spacing=10.0, nbl=5, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[150.0, 20.0]], rec_positions=[[100.0, 30.0]], tn=0.1)
    >>> J = jacobian_operator(model, geom)
    >>> J.shape == (geom.nt, 900)
    True
    >>> lhs, rhs = dot_test(J, rng=0, rtol=1e-10)
    >>> abs(lhs - rhs) <= 1e-10 * abs(lhs)
    True
    """
    shots = [geometries] if isinstance(geometries, Geometry) else _check_shots(geometries)
    solvers = [Solver(model, geom, kernel=kernel) for geom in shots]
    if history is not None:
        _history(history)
    xp = model.xp
    sizes = [g.nt * g.nrec for g in shots]
    starts = [sum(sizes[:i]) for i in range(len(shots))]
    n = 1
    for k in model.shape:
        n *= k

    def records(x: Any) -> Any:
        dm = xp.reshape(x, model.shape)
        return xp.concat([xp.reshape(s.born(dm), (-1,)) for s in solvers])

    def image(y: Any) -> Any:
        return _sum_images([
            s.jacobian_adjoint(xp.reshape(y[start:start + size], (s.geometry.nt, s.geometry.nrec)),
                               history=history)
            for s, start, size in zip(solvers, starts, sizes)])

    def matmat(X: Any) -> Any:
        return _by_column(xp, X, records)

    def rmatmat(Y: Any) -> Any:
        return _by_column(xp, Y, image)

    return LinearOperator((sum(sizes), n), matmat, rmatmat=rmatmat, dtype=model.dtype, xp=xp,
                          device=model.device)
