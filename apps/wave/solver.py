"""The solver object: one model, one shot geometry, every modelling operator.

Notation (one shot; ``d[t] = P u^t`` with ``P`` receiver interpolation):
``F q`` (source wavelets -> record, :meth:`Solver.forward`), ``F^T d``
(:meth:`Solver.adjoint`), ``J dm`` (Born, :meth:`Solver.born`) for a
squared-slowness perturbation on the physical grid, ``J^T dd``
(:meth:`Solver.jacobian_adjoint`, through a wavefield-history strategy), the
gradient of ``f = 1/2 ||d - d_obs||^2`` (:meth:`Solver.gradient`) and
``J^T J dm`` (:meth:`Solver.gauss_newton`, :class:`GaussNewtonOperator`).

``m = 1/vp^2`` is the parameter; derivatives are taken with the sponge
``damp`` frozen and ``m`` extended into the absorbing layer by edge
replication (so ``J^T`` sums the layer into the edge cells).

A solver owns its :class:`~randla.apps.wave.Propagator` (backend choice,
thread count, interpolation tables). The compiled kernels are cached on disk
by Numba, the leapfrog coefficients on the :class:`~randla.apps.wave.Model`
(for its last time step), so making a solver per call costs next to
nothing: the module-level functions (:func:`forward`, :func:`adjoint`,
:func:`born`, :func:`jacobian_adjoint`, :func:`gradient`,
:func:`gauss_newton`) are ``Solver(model, geometry, kernel=...,
num_threads=...).method(...)``.

References
----------
M. Louboutin et al., "Devito (v3.1.0): an embedded domain-specific language
for finite differences and geophysical exploration", Geoscientific Model
Development 12, 1165-1187, 2019 (``AcousticWaveSolver``).
"""

from __future__ import annotations

from typing import Any

from randla.operators import LinearOperator

from .geometry import Geometry
from .history import FullStorage, WavefieldHistory
from .model import Model
from .propagator import Propagator

__all__ = [
    "GaussNewtonOperator",
    "Solver",
    "adjoint",
    "born",
    "forward",
    "gauss_newton",
    "gradient",
    "jacobian_adjoint",
]


def _check_pair(model: Any, geometry: Any) -> None:
    if not isinstance(model, Model):
        raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
    if not isinstance(geometry, Geometry):
        raise TypeError(f"geometry must be a randla.apps.wave.Geometry, got {type(geometry).__name__}")
    geometry.check_model(model)


def _history(history: Any) -> WavefieldHistory:
    """The one normalisation of the ``history`` argument (default :class:`FullStorage`)."""
    if history is None:
        return FullStorage()
    if not isinstance(history, WavefieldHistory):
        raise TypeError(
            f"history must be a WavefieldHistory strategy (FullStorage(), Checkpointing(n), ...), "
            f"got {type(history).__name__}"
        )
    return history


class Solver:
    """Acoustic modelling operators for one model and one shot geometry.

    Parameters
    ----------
    model : Model
    geometry : Geometry
        Built for ``model``'s grid; its ``dt`` must be stable for ``model``.
    kernel : {"auto", "numba", "cuda", "reference"}
        ``auto``: Numba for NumPy, numba.cuda for CuPy, the array-API
        reference for other namespaces.
    num_threads : int, optional
        Threads of the Numba kernels (default one).

    Attributes
    ----------
    model, geometry, kernel, num_threads
    propagator : Propagator
        The time-stepping driver (``propagator.num_steps`` counts the steps run).

    Raises
    ------
    TypeError
        Wrong argument types, or a ``kernel`` that cannot run on the model's arrays.
    ValueError
        A geometry of another grid, an unstable ``dt``, an unknown ``kernel``
        or ``num_threads < 1``.

    References
    ----------
    J. Virieux and S. Operto, "An overview of full-waveform inversion in
    exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, Solver, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]], rec_positions=[[100.0, 20.0]], tn=0.2)
    >>> solver = Solver(model, geom)
    >>> d = solver.forward()
    >>> f, g = solver.gradient(0.5 * d)
    >>> d.shape == (geom.nt, 1), g.shape, f > 0
    (True, (40, 30), True)
    """

    def __init__(self, model: Model, geometry: Geometry, *, kernel: str = "auto",
                 num_threads: int | None = None) -> None:
        _check_pair(model, geometry)
        self.model = model
        self.geometry = geometry
        self.propagator = Propagator(model, geometry.dt, kernel=kernel, num_threads=num_threads)
        self.kernel = kernel
        self.num_threads = self.propagator.num_threads

    def __repr__(self) -> str:
        return f"Solver({self.model!r}, {self.geometry!r}, backend={self.propagator.backend.name!r})"

    def _check_traces(self, x: Any, name: str, npts: int) -> None:
        shape = (self.geometry.nt, npts)
        self.model._check_like(x, name, shape, f"shape {shape} (nt, num_points)")

    def _check_dm(self, dm: Any) -> None:
        self.model._check_like(dm, "dm", self.model.shape, f"the model's shape {self.model.shape}")

    def forward(self, *, wavelet: Any = None, save: bool = False) -> Any:
        """Shot record ``F q`` of the source wavelets.

        Parameters
        ----------
        wavelet : array, shape (nt, nsrc), optional
            Source time functions (default the geometry's).
        save : bool, default False
            Also return the forward wavefield ``(nt, *model.padded_shape)``.

        Returns
        -------
        d : array, shape (nt, nrec)
            ``d[t] = P u^t`` (``d[0] = 0``).
        u : array
            Only with ``save=True``.
        """
        if wavelet is not None:
            self._check_traces(wavelet, "wavelet", self.geometry.nsrc)
        d, u = self.propagator.forward(self.geometry, wavelet=wavelet, save=bool(save))
        return (d, u) if save else d

    def adjoint(self, data: Any, /, *, save: bool = False) -> Any:
        """Adjoint modelling ``F^T data``: receiver data back to the sources.

        Returns ``q`` (nt, nsrc) with ``q[n] = S^T v^{n+1}`` (``q[nt-1] = 0``),
        so that ``<F q', data> = <q', q>``; and the adjoint wavefield with
        ``save=True``.
        """
        self._check_traces(data, "data", self.geometry.nrec)
        q, v = self.propagator.adjoint(self.geometry, data, save=bool(save))
        return (q, v) if save else q

    def born(self, dm: Any, /) -> Any:
        """Linearized (Born) data ``J dm`` (nt, nrec) for a perturbation ``dm``
        of ``m = 1/vp^2`` on the physical grid: two sweeps (background and
        scattered field)."""
        self._check_dm(dm)
        dd, _ = self.propagator.born(self.geometry, self.model.pad(dm))
        return dd

    jacobian = born

    def jacobian_adjoint(self, dd: Any, /, *, history: WavefieldHistory | None = None) -> Any:
        """``J^T dd`` on the physical grid, through a wavefield-history strategy
        (default :class:`~randla.apps.wave.FullStorage`): a forward and an adjoint sweep."""
        self._check_traces(dd, "dd", self.geometry.nrec)
        strategy = _history(history)
        prop = self.propagator
        prop.forward(self.geometry, history=strategy)
        prop.adjoint(self.geometry, dd, history=strategy)
        return self.model.pad_adjoint(strategy.gradient())

    def gradient(self, d_obs: Any, /, *, history: WavefieldHistory | None = None) -> tuple[float, Any]:
        """FWI objective ``f = 1/2 ||d - d_obs||^2`` (plain sum) and its gradient
        ``J^T (d - d_obs)`` on the physical grid.

        ``d_obs`` (nt, nrec) reaches the strategy as ``context.d_obs``.
        """
        self._check_traces(d_obs, "d_obs", self.geometry.nrec)
        strategy = _history(history)
        prop = self.propagator
        d, _ = prop.forward(self.geometry, history=strategy, d_obs=d_obs)
        residual = d - d_obs
        f = 0.5 * float(self.model.xp.sum(residual * residual))
        prop.adjoint(self.geometry, residual, history=strategy)
        return f, self.model.pad_adjoint(strategy.gradient())

    def gauss_newton(self, dm: Any, /, *, history: WavefieldHistory | None = None) -> Any:
        """Gauss-Newton product ``J^T J dm``: a Born sweep (background and
        scattered field, the background shown to the strategy) and an adjoint
        sweep. For many products at one model use :meth:`gauss_newton_operator`."""
        self._check_dm(dm)
        strategy = _history(history)
        prop = self.propagator
        dd, _ = prop.born(self.geometry, self.model.pad(dm), history=strategy)
        prop.adjoint(self.geometry, dd, history=strategy)
        return self.model.pad_adjoint(strategy.gradient())

    def gauss_newton_operator(self, *, history: WavefieldHistory | None = None) -> "GaussNewtonOperator":
        """:class:`GaussNewtonOperator` of this solver (one background sweep now,
        two sweeps per product)."""
        return GaussNewtonOperator._of(self, _history(history))


class GaussNewtonOperator(LinearOperator):
    """``J^T J`` at a fixed model as a symmetric :class:`randla.LinearOperator`.

    The background forward field is computed once, at construction, into a
    replayable wavefield history; every product ``J^T J dm`` is then a Born
    sweep whose background is read back with ``history.replay(t)`` and an
    adjoint sweep against the same history (``restart_adjoint``): two sweeps
    per product instead of the three of :func:`~randla.apps.wave.gauss_newton`.

    Parameters
    ----------
    model : Model
    geometry : Geometry
    history : WavefieldHistory, optional
        A strategy with ``replayable = True`` (default
        :class:`~randla.apps.wave.FullStorage`).
    kernel, num_threads
        As :class:`Solver`.

    Attributes
    ----------
    solver : Solver
    history : WavefieldHistory
        Holds the background field.

    Raises
    ------
    TypeError
        A strategy that cannot replay, and as :class:`Solver`.

    References
    ----------
    R. G. Pratt, C. Shin and G. J. Hicks, "Gauss-Newton and full Newton
    methods in frequency-space seismic waveform inversion", Geophys. J. Int.
    133(2), 341-362, 1998.

    Examples
    --------
    >>> import numpy as np
    >>> from randla import dot_test
    >>> from randla.apps.wave import GaussNewtonOperator, Geometry, layered_model
    >>> model = layered_model((24, 20), spacing=10.0, nbl=4, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[120.0, 20.0]], rec_positions=[[60.0, 20.0]], tn=0.1)
    >>> H = GaussNewtonOperator(model, geom)
    >>> H.shape, H.symmetric
    ((480, 480), True)
    >>> lhs, rhs = dot_test(H, rng=0, rtol=1e-10)
    """

    def __init__(self, model: Model, geometry: Geometry, /, *, history: WavefieldHistory | None = None,
                 kernel: str = "auto", num_threads: int | None = None) -> None:
        solver = Solver(model, geometry, kernel=kernel, num_threads=num_threads)
        self._setup(solver, _history(history))

    @classmethod
    def _of(cls, solver: Solver, history: WavefieldHistory) -> "GaussNewtonOperator":
        op = cls.__new__(cls)
        op._setup(solver, history)
        return op

    def _setup(self, solver: Solver, history: WavefieldHistory) -> None:
        if not history.replayable:
            raise TypeError(
                f"{type(history).__name__} cannot replay the forward field, which GaussNewtonOperator "
                "needs: use FullStorage() or Checkpointing(n), or call gauss_newton per product"
            )
        model = solver.model
        n = 1
        for k in model.shape:
            n *= k
        super().__init__((n, n), self._products, dtype=model.dtype, xp=model.xp, device=model.device,
                         symmetric=True)
        self.solver = solver
        self.history = history
        solver.propagator.forward(solver.geometry, history=history)

    def _products(self, X: Any) -> Any:
        model = self.solver.model
        model._check_like(X, "X", tuple(X.shape), f"shape {tuple(X.shape)}")
        xp = model.xp
        return xp.stack([xp.reshape(self._product(xp.reshape(X[:, j], model.shape)), (-1,))
                         for j in range(X.shape[1])], axis=1)

    def _product(self, dm: Any) -> Any:
        solver, history = self.solver, self.history
        prop, geometry, model = solver.propagator, solver.geometry, solver.model
        dd, _ = prop.born(geometry, model.pad(dm), replay=history)
        history.restart_adjoint()
        prop.adjoint(geometry, dd, history=history)
        return model.pad_adjoint(history.gradient())


# -- the operators as functions (one solver per call) ------------------------------------


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
