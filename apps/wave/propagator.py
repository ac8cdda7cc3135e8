"""Time-stepping driver: the one leapfrog recurrence and the three sweeps built on it.

A :class:`Propagator` is built for one model and one time step ``dt``. The
recurrence ``u^{n+1} = a lap(u^n) + b (u^n - u^{n-1}) + u^{n-1} + source^n``
is written once (:meth:`Propagator._steps`, a generator over the steps); the
sweeps only say what the source is and what to do with each new field:

* forward: source ``a S q^n``, record ``d^{n+1} = P u^{n+1}``, ``observe``;
* adjoint: source ``a P^T d^k`` run backwards (the exact discrete adjoint),
  record ``q^{k-1} = S^T v^k``, ``correlate``;
* Born: source ``-(a/dt^2) dm (u^{n+1} - 2u^n + u^{n-1})`` on the scattered
  field, the background ``u`` coming from a forward recurrence run alongside
  or from a strategy's :meth:`~randla.apps.wave.WavefieldHistory.replay`.

Backends (:mod:`randla.apps.wave.kernels`) provide the pieces; one that
declares ``compiled_sweep`` runs sweeps no strategy needs to see without
Python in the time loop.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

import numpy as np

from randla.backend import check_positive_int, nbytes

from .geometry import Geometry, PointInterpolator, check_cfl
from .kernels import KERNELS, backend_class
from .model import Model
from .stencil import _axis_weights

__all__ = ["ForwardState", "HistoryContext", "Propagator"]


class ForwardState:
    """One state ``(u^t, u^{t-1})`` of the forward recursion (a checkpoint).

    Made by :meth:`HistoryContext.new_state` / :meth:`~HistoryContext.initial_state`,
    filled by :meth:`HistoryContext.capture` and :meth:`HistoryContext.advance`.

    Attributes
    ----------
    t : int
        Time index of ``field`` (``-1`` while empty).
    is_zero : bool
        The initial rest state (t = 0, no memory).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, Propagator, WavefieldHistory, layered_model
    >>> class KeepStep5(WavefieldHistory):
    ...     def setup(self, context):
    ...         super().setup(context)
    ...         self.state = context.new_state()
    ...     def observe(self, t, u):
    ...         if t == 5:
    ...             self.context.capture(out=self.state)
    ...     def correlate(self, t, v):
    ...         pass
    >>> model = layered_model((20, 20), spacing=10.0, nbl=4, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[100.0, 20.0]], rec_positions=[[50.0, 20.0]], tn=0.05)
    >>> strategy = KeepStep5()
    >>> _ = Propagator(model, geom.dt).forward(geom, history=strategy)
    >>> strategy.state.t, strategy.state.is_zero, strategy.state.field.shape == model.padded_shape
    (5, False, True)
    """

    __slots__ = ("t", "_cur", "_prev", "_backend")

    def __init__(self, t: int, cur: Any, prev: Any, backend: Any) -> None:
        self.t = t
        self._cur = cur
        self._prev = prev
        self._backend = backend

    @property
    def is_zero(self) -> bool:
        return self._cur is None

    @property
    def field(self) -> Any:
        """``u^t`` on the padded grid (a view; valid until the state changes)."""
        return self._backend.view(self._cur)

    @property
    def previous(self) -> Any:
        """``u^{t-1}`` on the padded grid."""
        return self._backend.view(self._prev)

    @property
    def nbytes(self) -> int:
        if self._cur is None:
            return 0
        return nbytes(self._cur) + nbytes(self._prev)


class HistoryContext:
    """What a wavefield-history strategy may know and do (one shot).

    Attributes
    ----------
    nt, dt : int, float
        Time axis (index ``t`` = time ``t0 + t dt``).
    shape : tuple of int
        Padded grid shape of the fields passed to ``observe``/``correlate``.
    ndim, spacing, dtype, xp, device
        Grid dimension and spacing, and the fields' dtype, namespace, device.
    model, geometry : Model, Geometry
        The shot being propagated (read only).
    d_obs : array or None
        The shot's observed data ``(nt, nrec)`` on the model's backend when the
        sweep computes a misfit gradient (:func:`~randla.apps.wave.gradient`),
        else ``None`` (``jacobian_adjoint``, ``gauss_newton``).
    imaging_scale : float
        ``-1 / dt^2``, the factor of the cross-correlation imaging condition.
    num_advanced_steps : int
        Forward steps run by :meth:`advance` so far.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, Propagator, WavefieldHistory, layered_model
    >>> class Inspect(WavefieldHistory):
    ...     def setup(self, context):
    ...         super().setup(context)
    ...         self.seen = (context.nt, context.shape, context.d_obs)
    ...     def observe(self, t, u):
    ...         pass
    >>> model = layered_model((20, 20), spacing=10.0, nbl=4, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[100.0, 20.0]], rec_positions=[[50.0, 20.0]], tn=0.05)
    >>> strategy = Inspect()
    >>> _ = Propagator(model, geom.dt).forward(geom, history=strategy)
    >>> strategy.seen == (geom.nt, model.padded_shape, None)
    True
    """

    def __init__(self, prop: "Propagator", geometry: Geometry, wavelet: Any, d_obs: Any = None) -> None:
        model = prop.model
        self.model = model
        self.geometry = geometry
        self.d_obs = d_obs
        self.nt = geometry.nt
        self.dt = prop.dt
        self.shape = model.padded_shape
        self.ndim = model.ndim
        self.spacing = model.spacing
        self.dtype = model.dtype
        self.xp = model.xp
        self.device = model.device
        self.imaging_scale = -1.0 / (prop.dt * prop.dt)
        self.num_advanced_steps = 0
        self._prop = prop
        self._wavelet = wavelet
        self._cur = None
        self._prev = None
        self._t = -1
        self._in_forward = False

    def initial_state(self) -> ForwardState:
        """The rest state at ``t = 0`` (``u^0 = u^{-1} = 0``); holds no memory."""
        return ForwardState(0, None, None, self._prop.backend)

    def new_state(self) -> ForwardState:
        """An empty state with its own (zeroed) storage, to be filled by
        :meth:`capture` or :meth:`advance`."""
        be = self._prop.backend
        return ForwardState(-1, be.zeros(), be.zeros(), be)

    def capture(self, *, out: ForwardState | None = None) -> ForwardState:
        """Copy the engine's current forward state ``(u^t, u^{t-1})``.

        Only valid inside ``observe(t, u)`` of the forward sweep.
        """
        if not self._in_forward or self._cur is None:
            raise RuntimeError("capture() is only valid inside observe() during the forward sweep")
        be = self._prop.backend
        if out is None:
            out = self.new_state()
        out._cur = be.copy(out._cur, self._cur)
        out._prev = be.copy(out._prev, self._prev)
        out.t = self._t
        return out

    def advance(
        self,
        state: ForwardState,
        t: int,
        /,
        *,
        out: ForwardState | None = None,
        observe: Callable[[int, Any], None] | None = None,
    ) -> ForwardState:
        """Re-run the forward recursion from ``state`` to time index ``t``.

        Parameters
        ----------
        state : ForwardState
            Start (not modified unless ``out is state``).
        t : int
            Target index, ``state.t <= t <= nt - 1``.
        out : ForwardState, optional
            Where to put the result (allocated when omitted; may be ``state``).
        observe : callable, optional
            Called as ``observe(n, u^n)`` for every new index ``n`` reached.

        Returns
        -------
        ForwardState
            The state at ``t``.
        """
        if state.t < 0:
            raise ValueError("cannot advance from an empty state")
        if not state.t <= t <= self.nt - 1:
            raise ValueError(f"t must be in [{state.t}, {self.nt - 1}], got {t}")
        prop = self._prop
        be = prop.backend
        if out is None:
            out = self.new_state()
        if out is not state:
            if state.is_zero:
                cur, prev = be.fill_zero(out._cur), be.fill_zero(out._prev)
            else:
                cur, prev = be.copy(out._cur, state._cur), be.copy(out._prev, state._prev)
        else:
            if state.is_zero:
                raise ValueError("advance the initial state into a new state (pass out=)")
            cur, prev = state._cur, state._prev
        start = state.t
        source = prop._injection(prop._points(self.geometry.src), self._wavelet, start)
        for s, cur, prev in prop._steps(cur, prev, t - start, source):
            self.num_advanced_steps += 1
            if observe is not None:
                observe(start + s + 1, be.view(cur))
        out._cur, out._prev, out.t = cur, prev, t
        return out


class Propagator:
    """Drives the kernels for one model and one time step.

    Parameters
    ----------
    model : Model
        Velocity model (its namespace picks the backend).
    dt : float
        Time step (s); must satisfy the CFL limit.
    kernel : {"auto", "numba", "cuda", "reference"}
        ``auto``: Numba for NumPy, numba.cuda for CuPy, the array-API
        reference for other namespaces.
    num_threads : int, optional
        ``None`` or 1: single-threaded Numba kernels (default). ``> 1``: the
        ``prange`` kernels with that many threads.

    Attributes
    ----------
    backend : kernels.Backend
        The backend running the steps (``backend.name``).
    num_steps : int
        Time steps run so far (forward, adjoint, Born scattered and background,
        recomputation): the cost meter of the sweeps.

    Raises
    ------
    ValueError
        For an unstable ``dt``, an unknown ``kernel`` or a bad ``num_threads``.
    TypeError
        If ``kernel`` does not match the model's array namespace.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Model, Propagator
    >>> model = Model(np.full((30, 30), 1500.0), spacing=10.0, nbl=5)
    >>> Propagator(model, 1e-3).backend.name
    'numba'
    """

    def __init__(self, model: Model, dt: float, *, kernel: str = "auto", num_threads: int | None = None) -> None:
        if not isinstance(model, Model):
            raise TypeError(f"model must be a randla.apps.wave.Model, got {type(model).__name__}")
        if kernel not in KERNELS:
            raise ValueError(f"kernel must be one of {KERNELS}, got {kernel!r}")
        if num_threads is not None:
            num_threads = check_positive_int(num_threads, "num_threads")
        dt = float(dt)
        if not dt > 0:
            raise ValueError(f"dt must be positive, got {dt}")
        check_cfl(model, dt)
        self.model = model
        self.dt = dt
        self.num_threads = num_threads
        self.xp = model.xp
        self.dtype = model.dtype
        self.device = model.device
        self.ndim = model.ndim
        self.radius = model.space_order // 2
        R = self.radius
        self.storage_shape = tuple(n + 2 * R for n in model.padded_shape)
        self.inner = tuple(slice(R, R + n) for n in model.padded_shape)
        self.weights, self.center = _axis_weights(model.space_order, model.spacing)
        self.a_storage, self.b_storage = model._leapfrog(dt)
        self._a_padded = self.a_storage[self.inner]
        self.np_dtype = np.float32 if self.dtype == self.xp.float32 else np.float64
        self.backend = backend_class(kernel, self.xp)(self)
        self.num_steps = 0
        self._point_cache: dict = {}

    def _points(self, interp: PointInterpolator) -> Any:
        key = id(interp)
        hit = self._point_cache.get(key)
        if hit is None or hit[0] is not interp:
            hit = (interp, self.backend.points(interp))
            self._point_cache[key] = hit
        return hit[1]

    # -- the recurrence --------------------------------------------------------------

    def _steps(self, cur: Any, prev: Any, num_steps: int, source: Callable[[int, Any], Any]
               ) -> Iterator[tuple[int, Any, Any]]:
        """The leapfrog recurrence: for ``s < num_steps``, ``prev <- step(cur,
        prev)``, ``prev <- source(s, prev)``, swap; yields ``(s, cur, prev)``
        (the new field and the one before; views valid until the next step)."""
        step = self.backend.step
        for s in range(num_steps):
            prev = step(cur, prev)
            prev = source(s, prev)
            cur, prev = prev, cur
            self.num_steps += 1
            yield s, cur, prev

    def _injection(self, pts: Any, values: Any, first: int = 0) -> Callable[[int, Any], Any]:
        """The source ``a P^T values[first + s]`` of step ``s``."""
        inject = self.backend.inject
        return lambda s, field: inject(field, pts, values[first + s, ...])

    def _run_compiled(self, inj: Any, values: Any, rec: Any, num_steps: int) -> Any:
        """:meth:`_steps` with injection and recording, as one compiled sweep;
        returns the ``(num_steps, npts)`` rows recorded."""
        be = self.backend
        rows = be.new_record(num_steps, rec[0].shape[0])
        with be.threads():
            be.sweep(be.zeros(), be.zeros(), inj, values, rec, rows)
        self.num_steps += num_steps
        return rows

    # -- sweeps ---------------------------------------------------------------------

    def forward(self, geometry: Geometry, *, wavelet: Any = None, history: Any = None,
                save: bool = False, d_obs: Any = None) -> tuple[Any, Any]:
        """Forward sweep: returns ``(d, U)``, ``d`` of shape (nt, nrec) and
        ``U`` of shape ``(nt, *padded_shape)`` if ``save`` else ``None``.
        ``d_obs`` (observed data) is handed to ``history`` in its context."""
        be = self.backend
        nt = geometry.nt
        wavelet = geometry.wavelet if wavelet is None else wavelet
        src, rec = self._points(geometry.src), self._points(geometry.rec)
        if history is None and not save and be.compiled_sweep:
            d = be.new_record(nt, geometry.nrec)
            d[1:] = self._run_compiled(src, wavelet[: nt - 1], rec, nt - 1)
            return d, None
        notify = self._forward_observer(geometry, wavelet, history, save, d_obs)
        u, up = be.zeros(), be.zeros()
        d = be.new_record(nt, geometry.nrec)
        with be.threads():
            notify(0, u, up)
            for s, u, up in self._steps(u, up, nt - 1, self._injection(src, wavelet)):
                d = be.set_row(d, s + 1, u, rec)
                notify(s + 1, u, up)
        return be.finish_record(d), notify.finish()

    def _forward_observer(self, geometry: Geometry, wavelet: Any, history: Any, save: bool,
                          d_obs: Any) -> "_Observer":
        ctx = None
        if history is not None:
            ctx = HistoryContext(self, geometry, wavelet, d_obs)
            history.setup(ctx)
        return _Observer(self, ctx, history, save)

    def adjoint(self, geometry: Geometry, data: Any, *, history: Any = None,
                save: bool = False) -> tuple[Any, Any]:
        """Adjoint sweep driven by receiver data (nt, nrec): returns
        ``(q, V)``, ``q[n] = S^T v^{n+1}`` (nt, nsrc; ``q[nt-1] = 0``) and the
        adjoint fields ``V`` of shape ``(nt, *padded_shape)`` if ``save``."""
        be = self.backend
        nt = geometry.nt
        src, rec = self._points(geometry.src), self._points(geometry.rec)
        q = be.new_record(nt, geometry.nsrc)
        if history is None and not save and be.compiled_sweep:
            q[: nt - 1] = self._run_compiled(rec, data[::-1][: nt - 1], src, nt - 1)[::-1]
            return q, None
        saved = [None] * nt if save else None
        inject = be.inject

        def backwards(s: int, field: Any) -> Any:
            return inject(field, rec, data[nt - 1 - s, ...])

        with be.threads():
            for s, v, _ in self._steps(be.zeros(), be.zeros(), nt, backwards):
                k = nt - 1 - s
                if k >= 1:
                    q = be.set_row(q, k - 1, v, src)
                if saved is not None:
                    saved[k] = self.xp.asarray(be.view(v), copy=True)
                if history is not None:
                    history.correlate(k, be.view(v))
        return be.finish_record(q), (None if saved is None else self.xp.stack(saved, axis=0))

    def born(self, geometry: Geometry, dm_padded: Any, *, history: Any = None,
             replay: Any = None) -> tuple[Any, Any]:
        """Born sweep for a padded-grid perturbation: returns ``(dd, d)``,
        linearized and background shot records (nt, nrec).

        The background field is computed alongside (and shown to ``history``)
        or, with ``replay=`` a replayable strategy that has run the forward
        sweep at this model, read back from it (``d`` is then ``None``).
        """
        be = self.backend
        nt = geometry.nt
        rec = self._points(geometry.rec)
        sdm = be.from_padded(dm_padded * (self._a_padded * (1.0 / (self.dt * self.dt))))
        notify = d = None
        if replay is not None:
            background = _replayed(be, replay, nt)
        else:
            notify = self._forward_observer(geometry, geometry.wavelet, history, False, None)
            u, up = be.zeros(), be.zeros()
            notify(0, u, up)
            source = self._injection(self._points(geometry.src), geometry.wavelet)
            background = _alongside(self, be, u, up, source, nt)
            d = be.new_record(nt, geometry.nrec)
        dd = be.new_record(nt, geometry.nrec)
        now: list = [None]

        def scattering(s: int, field: Any) -> Any:
            now[0] = u_next, u_cur, u_prev = next(background)
            return be.born_source(field, u_next, u_cur, u_prev, sdm)

        with be.threads():
            for s, du, _ in self._steps(be.zeros(), be.zeros(), nt - 1, scattering):
                dd = be.set_row(dd, s + 1, du, rec)
                if notify is not None:
                    u_next, u_cur, _ = now[0]
                    d = be.set_row(d, s + 1, u_next, rec)
                    notify(s + 1, u_next, u_cur)
        if notify is None:
            return be.finish_record(dd), None
        notify.finish()
        return be.finish_record(dd), be.finish_record(d)


class _Observer:
    """Shows each new forward field to a strategy (and keeps copies for ``save``)."""

    def __init__(self, prop: Propagator, ctx: HistoryContext | None, history: Any, save: bool) -> None:
        self.prop, self.ctx, self.history = prop, ctx, history
        self.saved = [] if save else None

    def __call__(self, t: int, u: Any, up: Any) -> None:
        view = self.prop.backend.view
        if self.saved is not None:
            self.saved.append(self.prop.xp.asarray(view(u), copy=True))
        if self.ctx is not None:
            ctx = self.ctx
            ctx._cur, ctx._prev, ctx._t, ctx._in_forward = u, up, t, True
            self.history.observe(t, view(u))

    def finish(self) -> Any:
        if self.ctx is not None:
            self.ctx._in_forward = False
            self.history.end_forward()
        return None if self.saved is None else self.prop.xp.stack(self.saved, axis=0)


def _alongside(prop: Propagator, be: Any, u: Any, up: Any, source: Callable, nt: int) -> Iterator:
    """Background fields ``(u^{s+1}, u^s, u^{s-1})`` from the forward recurrence
    run step by step next to the scattered field (a copy per step keeps ``u^{s-1}``)."""
    keep = be.zeros()
    steps = prop._steps(u, up, nt - 1, source)
    prev = up
    for _ in range(nt - 1):
        keep = be.copy(keep, prev)
        _, cur, prev = next(steps)
        yield cur, prev, keep


def _replayed(be: Any, history: Any, nt: int) -> Iterator:
    """Background fields ``(u^{s+1}, u^s, u^{s-1})`` read back with ``history.replay``
    into three rotating storage buffers (one copy per step, no stencil)."""
    older, cur, new = be.zeros(), be.zeros(), be.zeros()
    cur = be.load(cur, history.replay(0))
    for s in range(nt - 1):
        new = be.load(new, history.replay(s + 1))
        yield new, cur, older
        older, cur, new = cur, new, older
