"""Modelling operators: forward, adjoint, Born (J), J^T, FWI gradient, Gauss-Newton.

Notation (one shot; ``d[t] = P u^t`` with ``P`` receiver interpolation):

* ``F q``: source wavelets ``q`` (nt, nsrc) -> shot record (nt, nrec)
  (:func:`forward` with the geometry's wavelet, :func:`forward_operator`).
* ``F^T d``: shot record -> source-side data (:func:`adjoint`).
* ``J dm``: linearized (Born) data for a squared-slowness perturbation
  ``dm`` on the physical grid (:func:`born`).
* ``J^T dd``: (:func:`jacobian_adjoint`), through a wavefield-history strategy.
* ``gradient``: ``f = 1/2 ||d - d_obs||^2`` (plain sum over samples and
  receivers) and ``df/dm = J^T (d - d_obs)``.
* ``gauss_newton``: ``J^T J dm``.

``m = 1/vp^2`` is the parameter; derivatives are taken with the sponge
``damp`` frozen and ``m`` extended into the absorbing layer by edge
replication (so ``J^T`` sums the layer into the edge cells). Every ``*_shots``
function loops serially over shots and sums gradients (:mod:`randla.apps.fwi`
distributes the same per-shot calls with Dask).

References
----------
J. Virieux and S. Operto, "An overview of full-waveform inversion in
exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.

M. Louboutin et al., "Devito (v3.1.0): an embedded domain-specific language
for finite differences and geophysical exploration", Geoscientific Model
Development 12, 1165-1187, 2019.
"""

from __future__ import annotations

import weakref
from typing import Any, Sequence

from randla.operators import LinearOperator

from .geometry import Geometry
from .history import FullStorage, WavefieldHistory
from .model import Model
from .propagator import Propagator

__all__ = [
    "adjoint",
    "born",
    "born_shots",
    "forward",
    "forward_operator",
    "forward_shots",
    "gauss_newton",
    "gauss_newton_shots",
    "gradient",
    "gradient_shots",
    "jacobian_adjoint",
    "jacobian_adjoint_shots",
    "jacobian_operator",
]


# -- validation ---------------------------------------------------------------------


def _check_pair(model: Any, geometry: Any) -> None:
    if not isinstance(model, Model):
        raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
    if not isinstance(geometry, Geometry):
        raise TypeError(f"geometry must be a randla.apps.wave.Geometry, got {type(geometry).__name__}")
    geometry.check_model(model)


def _check_traces(x: Any, model: Model, shape: tuple[int, int], name: str) -> None:
    model._check_like(x, name, shape, f"shape {shape} (nt, num_points)")


def _check_dm(dm: Any, model: Model) -> None:
    model._check_like(dm, "dm", model.shape, f"the model's shape {model.shape}")


def _history(history: Any) -> WavefieldHistory:
    if history is None:
        return FullStorage()
    if not isinstance(history, WavefieldHistory):
        raise TypeError(
            f"history must be a WavefieldHistory strategy (FullStorage(), Checkpointing(n), ...), "
            f"got {type(history).__name__}"
        )
    return history


_CACHE: list = []  # [(weakref to model, dt, kernel, num_threads, propagator)], most recent first
_CACHE_SIZE = 2


def _propagator(model: Model, geometry: Geometry, kernel: str, num_threads: int | None) -> Propagator:
    """The propagator of (model, dt, kernel, threads), reused across calls on the
    same model object (its coefficient arrays cost a few passes over the grid);
    the two most recent ones are kept."""
    dt = geometry.dt
    for k, (ref, dt_k, kernel_k, threads_k, prop) in enumerate(_CACHE):
        if ref() is model and dt_k == dt and kernel_k == kernel and threads_k == num_threads:
            _CACHE.insert(0, _CACHE.pop(k))
            return prop
    prop = Propagator(model, dt, kernel=kernel, num_threads=num_threads)
    _CACHE.insert(0, (weakref.ref(model), dt, kernel, num_threads, prop))
    del _CACHE[_CACHE_SIZE:]
    return prop


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


# -- single shot ----------------------------------------------------------------------


def forward(model: Model, geometry: Geometry, /, *, save: bool = False, kernel: str = "auto",
            num_threads: int | None = None) -> Any:
    """Shot record of the geometry's source wavelets (``F q``).

    Parameters
    ----------
    model : Model
    geometry : Geometry
    save : bool, default False
        Also return the forward wavefield on the padded grid.
    kernel : {"auto", "numba", "cuda", "reference"}
        See :class:`Propagator`.
    num_threads : int, optional
        Threads for the Numba kernels (default: one).

    Returns
    -------
    d : array, shape (nt, nrec)
        ``d[t] = P u^t`` (``d[0] = 0``).
    u : array, shape ``(nt, *model.padded_shape)``
        Only with ``save=True``.

    Raises
    ------
    ValueError
        If the geometry belongs to another grid or its ``dt`` violates the
        CFL limit of ``model``.
    TypeError
        For wrong argument types.

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, forward, layered_model
    >>> model = layered_model((60, 40), spacing=10.0, nbl=10)
    >>> geom = Geometry(model, src_positions=[[300.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 600, 10)], tn=0.4, f0=12.0)
    >>> d = forward(model, geom)
    >>> d.shape == (geom.nt, 60), d.dtype
    (True, dtype('float32'))
    """
    _check_pair(model, geometry)
    prop = _propagator(model, geometry, kernel, num_threads)
    d, u = prop.forward(geometry, save=bool(save))
    return (d, u) if save else d


def adjoint(model: Model, geometry: Geometry, data: Any, /, *, save: bool = False,
            kernel: str = "auto", num_threads: int | None = None) -> Any:
    """Adjoint modelling ``F^T d``: receiver data back to the sources.

    Parameters
    ----------
    data : array, shape (nt, nrec)
        Receiver data, same backend and dtype as the model.
    save : bool, default False
        Also return the adjoint wavefield ``v``, shape ``(nt, *padded_shape)``.
    Other parameters
        As :func:`forward`.

    Returns
    -------
    q : array, shape (nt, nsrc)
        ``q[n] = S^T v^{n+1}`` (``q[nt-1] = 0``): satisfies
        ``<F q', data> = <q', q>`` for every source wavelet ``q'``.
    v : array
        Only with ``save=True``.

    Raises
    ------
    ValueError, TypeError
        On data of the wrong shape, dtype or backend, and as :func:`forward`.

    References
    ----------
    R.-E. Plessix, "A review of the adjoint-state method for computing the
    gradient of a functional with geophysical applications", Geophys. J. Int.
    167(2), 495-503, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, adjoint, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> adjoint(model, geom, np.ones((geom.nt, geom.nrec), np.float32)).shape == (geom.nt, 1)
    True
    """
    _check_pair(model, geometry)
    _check_traces(data, model, (geometry.nt, geometry.nrec), "data")
    prop = _propagator(model, geometry, kernel, num_threads)
    q, v = prop.adjoint(geometry, data, save=bool(save))
    return (q, v) if save else q


def born(model: Model, geometry: Geometry, dm: Any, /, *, kernel: str = "auto",
         num_threads: int | None = None) -> Any:
    """Linearized (Born) data ``J dm`` for a squared-slowness perturbation.

    Parameters
    ----------
    dm : array, model.shape
        Perturbation of ``m = 1/vp^2`` on the physical grid.
    Other parameters
        As :func:`forward`.

    Returns
    -------
    array, shape (nt, nrec)
        The directional derivative of :func:`forward`'s record along ``dm``.

    Raises
    ------
    ValueError, TypeError
        On ``dm`` of the wrong shape, dtype or backend, and as :func:`forward`.

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009. (Section "linearized
    inversion").

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, born, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> born(model, geom, np.zeros(model.shape, np.float32)).any()
    np.False_
    """
    _check_pair(model, geometry)
    _check_dm(dm, model)
    prop = _propagator(model, geometry, kernel, num_threads)
    dd, _ = prop.born(geometry, model.pad(dm))
    return dd


def jacobian_adjoint(model: Model, geometry: Geometry, dd: Any, /, *, history: WavefieldHistory | None = None,
                     kernel: str = "auto", num_threads: int | None = None) -> Any:
    """``J^T dd``: adjoint of :func:`born` through a wavefield-history strategy.

    Parameters
    ----------
    dd : array, shape (nt, nrec)
        Data-space vector.
    history : WavefieldHistory, optional
        How the forward field is made available (default :class:`FullStorage`).
    Other parameters
        As :func:`forward`.

    Returns
    -------
    array, model.shape
        Gradient-like image on the physical grid.

    Raises
    ------
    ValueError, TypeError
        As :func:`adjoint`; ``TypeError`` for a ``history`` that is not a
        :class:`WavefieldHistory`.

    References
    ----------
    R.-E. Plessix, "A review of the adjoint-state method for computing the
    gradient of a functional with geophysical applications", Geophys. J. Int.
    167(2), 495-503, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, jacobian_adjoint, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> jacobian_adjoint(model, geom, np.ones((geom.nt, geom.nrec), np.float32)).shape
    (40, 30)
    """
    _check_pair(model, geometry)
    _check_traces(dd, model, (geometry.nt, geometry.nrec), "dd")
    strategy = _history(history)
    prop = _propagator(model, geometry, kernel, num_threads)
    prop.forward(geometry, history=strategy)
    prop.adjoint(geometry, dd, history=strategy)
    return model.pad_adjoint(strategy.gradient())


def gradient(model: Model, geometry: Geometry, d_obs: Any, /, *, history: WavefieldHistory | None = None,
             kernel: str = "auto", num_threads: int | None = None) -> tuple[float, Any]:
    """FWI objective ``f = 1/2 ||d - d_obs||^2`` and its gradient w.r.t. ``m``.

    Parameters
    ----------
    d_obs : array, shape (nt, nrec)
        Observed data on the geometry's time axis.
    history : WavefieldHistory, optional
        :class:`FullStorage` (default), :class:`Checkpointing`, or any
        strategy of :mod:`randla.apps.fwi`.
    Other parameters
        As :func:`forward`.

    Returns
    -------
    f : float
        Objective (plain sum of squares, no ``dt`` weight).
    g : array, model.shape
        ``J^T (d - d_obs)`` on the physical grid.

    Raises
    ------
    ValueError, TypeError
        As :func:`jacobian_adjoint`.

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, forward, gradient, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> f, g = gradient(model, geom, forward(model, geom))
    >>> f, float(abs(g).max())
    (0.0, 0.0)
    """
    _check_pair(model, geometry)
    _check_traces(d_obs, model, (geometry.nt, geometry.nrec), "d_obs")
    strategy = _history(history)
    prop = _propagator(model, geometry, kernel, num_threads)
    d, _ = prop.forward(geometry, history=strategy)
    residual = d - d_obs
    xp = model.xp
    f = 0.5 * float(xp.sum(residual * residual))
    prop.adjoint(geometry, residual, history=strategy)
    return f, model.pad_adjoint(strategy.gradient())


def gauss_newton(model: Model, geometry: Geometry, dm: Any, /, *, history: WavefieldHistory | None = None,
                 kernel: str = "auto", num_threads: int | None = None) -> Any:
    """Gauss-Newton Hessian-vector product ``J^T J dm``.

    One Born sweep (which also produces the background field for the
    strategy) and one adjoint sweep.

    Parameters
    ----------
    dm : array, model.shape
    history : WavefieldHistory, optional
        Default :class:`FullStorage`.
    Other parameters
        As :func:`forward`.

    Returns
    -------
    array, model.shape

    Raises
    ------
    ValueError, TypeError
        As :func:`born`.

    References
    ----------
    R. G. Pratt, C. Shin and G. J. Hicks, "Gauss-Newton and full Newton
    methods in frequency-space seismic waveform inversion", Geophys. J. Int.
    133(2), 341-362, 1998.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, gauss_newton, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> dm = np.zeros(model.shape); dm[20, 15] = 1e-8
    >>> float((dm * gauss_newton(model, geom, dm)).sum()) > 0  # J^T J is PSD
    True
    """
    _check_pair(model, geometry)
    _check_dm(dm, model)
    strategy = _history(history)
    prop = _propagator(model, geometry, kernel, num_threads)
    dd, _ = prop.born(geometry, model.pad(dm), history=strategy)
    prop.adjoint(geometry, dd, history=strategy)
    return model.pad_adjoint(strategy.gradient())


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

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.

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
    model : Model
    geometries : sequence of Geometry
        One geometry per shot (at least one).
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
    TypeError
        A single :class:`Geometry` instead of a sequence, and as :func:`born`.
    ValueError
        An empty ``geometries``, and as :func:`born`.

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.

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
    model : Model
    geometries : sequence of Geometry
        One geometry per shot (at least one).
    dd : sequence of array
        One ``(nt, nrec)`` record per shot.
    **options
        Keyword arguments of :func:`jacobian_adjoint` (``kernel``, ``num_threads``, ``history``).

    Returns
    -------
    array, model.shape
        ``sum_s J_s^T dd_s``.

    Raises
    ------
    TypeError
        A single :class:`Geometry` instead of a sequence, and as :func:`jacobian_adjoint`.
    ValueError
        An empty ``geometries``; ``dd`` without one entry per shot, and as :func:`jacobian_adjoint`.

    References
    ----------
    R.-E. Plessix, "A review of the adjoint-state method for computing the
    gradient of a functional with geophysical applications", Geophys. J. Int.
    167(2), 495-503, 2006.

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
    model : Model
    geometries : sequence of Geometry
        One geometry per shot (at least one).
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
    TypeError
        A single :class:`Geometry` instead of a sequence, and as :func:`gradient`.
    ValueError
        An empty ``geometries``; ``d_obs`` without one entry per shot, and as :func:`gradient`.

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.

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
    model : Model
    geometries : sequence of Geometry
        One geometry per shot (at least one).
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
    TypeError
        A single :class:`Geometry` instead of a sequence, and as :func:`gauss_newton`.
    ValueError
        An empty ``geometries``, and as :func:`gauss_newton`.

    References
    ----------
    R. G. Pratt, C. Shin and G. J. Hicks, "Gauss-Newton and full Newton
    methods in frequency-space seismic waveform inversion", Geophys. J. Int.
    133(2), 341-362, 1998.

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

    References
    ----------
    J. F. Claerbout, "Earth Soundings Analysis: Processing versus Inversion",
    Blackwell, 1992 (operators and their adjoints, the dot-product test).

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
    _check_pair(model, geometry)
    xp = model.xp
    nt, ns, nr = geometry.nt, geometry.nsrc, geometry.nrec

    def record(q: Any) -> Any:
        return forward(model, geometry.with_wavelet(xp.reshape(q, (nt, ns))), kernel=kernel)

    def source_side(d: Any) -> Any:
        return adjoint(model, geometry, xp.reshape(d, (nt, nr)), kernel=kernel)

    def matmat(X: Any) -> Any:
        return _by_column(xp, X, record)

    def rmatmat(Y: Any) -> Any:
        return _by_column(xp, Y, source_side)

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

    References
    ----------
    J. Virieux and S. Operto, Geophysics 74(6), WCC1-WCC26, 2009.
    J. F. Claerbout, "Earth Soundings Analysis: Processing versus Inversion",
    Blackwell, 1992 (operators and their adjoints, the dot-product test).

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
    for geom in shots:
        _check_pair(model, geom)
    xp = model.xp
    sizes = [g.nt * g.nrec for g in shots]
    n = 1
    for k in model.shape:
        n *= k

    starts = [sum(sizes[:i]) for i in range(len(shots))]

    def records(x: Any) -> Any:
        dm = xp.reshape(x, model.shape)
        return xp.concat([xp.reshape(born(model, g, dm, kernel=kernel), (-1,)) for g in shots])

    def image(y: Any) -> Any:
        return _sum_images([
            jacobian_adjoint(model, g, xp.reshape(y[start:start + size], (g.nt, g.nrec)),
                             history=history, kernel=kernel)
            for g, start, size in zip(shots, starts, sizes)])

    def matmat(X: Any) -> Any:
        return _by_column(xp, X, records)

    def rmatmat(Y: Any) -> Any:
        return _by_column(xp, Y, image)

    return LinearOperator((sum(sizes), n), matmat, rmatmat=rmatmat, dtype=model.dtype, xp=xp,
                          device=model.device)
