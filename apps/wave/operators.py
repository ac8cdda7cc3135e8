"""Modelling operators: forward, adjoint, Born (J), J^T, FWI gradient, Gauss-Newton.

Notation (one shot; ``d[t] = P u^t`` with ``P`` receiver interpolation):

* ``F q``: source wavelets ``q`` (nt, nsrc) -> shot record (nt, nrec)
  (:func:`forward` with the geometry's wavelet;
  :func:`~randla.apps.wave.forward_operator` as a linear operator).
* ``F^T d``: shot record -> source-side data (:func:`adjoint`).
* ``J dm``: linearized (Born) data for a squared-slowness perturbation
  ``dm`` on the physical grid (:func:`born`).
* ``J^T dd``: (:func:`jacobian_adjoint`), through a wavefield-history strategy.
* ``gradient``: ``f = 1/2 ||d - d_obs||^2`` (plain sum over samples and
  receivers) and ``df/dm = J^T (d - d_obs)``.
* ``gauss_newton``: ``J^T J dm``.

``m = 1/vp^2`` is the parameter; derivatives are taken with the sponge
``damp`` frozen and ``m`` extended into the absorbing layer by edge
replication (so ``J^T`` sums the layer into the edge cells). Multi-shot
loops and the :class:`randla.LinearOperator` views live in
:mod:`randla.apps.wave.shots`.

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
from typing import Any

from .geometry import Geometry
from .history import FullStorage, WavefieldHistory
from .model import Model
from .propagator import Propagator

__all__ = [
    "adjoint",
    "born",
    "forward",
    "gauss_newton",
    "gradient",
    "jacobian_adjoint",
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
    d, _ = prop.forward(geometry, history=strategy, d_obs=d_obs)
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


# -- moved to .shots (still importable from here) ---------------------------------------

_SHOTS = ("born_shots", "forward_operator", "forward_shots", "gauss_newton_shots",
          "gradient_shots", "jacobian_adjoint_shots", "jacobian_operator")


def __getattr__(name: str) -> Any:
    if name in _SHOTS:
        from . import shots

        return getattr(shots, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
