"""Modelling operators as functions: forward, adjoint, Born (J), J^T, FWI gradient, Gauss-Newton.

Each function is a thin wrapper: ``f(model, geometry, x, **options)`` is
``Solver(model, geometry, kernel=..., num_threads=...).f(x, ...)``
(:class:`~randla.apps.wave.Solver` has the notation and conventions).
Multi-shot loops and the :class:`randla.LinearOperator` views live in
:mod:`randla.apps.wave.shots`.
"""

from __future__ import annotations

from typing import Any

from .geometry import Geometry
from .history import WavefieldHistory
from .model import Model
from .solver import Solver

__all__ = [
    "adjoint",
    "born",
    "forward",
    "gauss_newton",
    "gradient",
    "jacobian_adjoint",
]


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
    return Solver(model, geometry, kernel=kernel, num_threads=num_threads).forward(save=save)


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
    return Solver(model, geometry, kernel=kernel, num_threads=num_threads).adjoint(data, save=save)


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
    return Solver(model, geometry, kernel=kernel, num_threads=num_threads).born(dm)


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
    solver = Solver(model, geometry, kernel=kernel, num_threads=num_threads)
    return solver.jacobian_adjoint(dd, history=history)


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
    return Solver(model, geometry, kernel=kernel, num_threads=num_threads).gradient(d_obs, history=history)


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
    solver = Solver(model, geometry, kernel=kernel, num_threads=num_threads)
    return solver.gauss_newton(dm, history=history)
