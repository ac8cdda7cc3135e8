"""The wavefield-history seam: how a gradient gets the forward field back.

An FWI gradient needs the forward wavefield ``u`` while the adjoint wavefield
``v`` runs backwards in time. Every way of providing it (full storage, optimal
checkpointing, and in :mod:`randla.apps.fwi` probing and the on-the-fly DFT)
is a *strategy*: a subclass of :class:`WavefieldHistory` that the engine
drives through a few calls and that owns the whole image, imaging condition
included. The engine never needs to know which strategy it is running.

Protocol (the exact contract)
-----------------------------
For one shot the engine calls, in this order::

    strategy.setup(context)                  # once; resets all previous state
    strategy.observe(t, u)   for t = 0, 1, ..., nt - 1    (forward sweep)
    strategy.end_forward()                   # once
    strategy.correlate(t, v) for t = nt - 1, ..., 1, 0    (adjoint sweep)
    g = strategy.gradient()                  # padded-grid image

* **Time index.** ``t`` indexes ``t_n = t0 + n dt``, ``n = 0..nt-1``
  (``context.nt``, ``context.dt``). ``u`` in ``observe(t, u)`` is the forward
  field ``u^t`` (``u^0 = 0``: the source sample ``q[n]`` first appears in
  ``u^{n+1}``); ``v`` in ``correlate(t, v)`` is the adjoint field ``v^t``
  (``v^t = 0`` for ``t >= nt``). Every index is visited once per sweep.
* **Arrays.** ``u`` and ``v`` have ``context.shape`` (the padded grid),
  ``context.dtype``, namespace ``context.xp``, on ``context.device``. They are
  *views into buffers the engine reuses*: valid only during the call. A
  strategy copies what it keeps and never writes into them; it works on them
  with ``context.xp`` only, so it runs on every backend the engine runs on.
* **Imaging condition.** Every strategy takes ``imaging=``
  (:mod:`randla.apps.wave.imaging`; default :class:`CrossCorrelation`). With
  the default, :meth:`WavefieldHistory.gradient` returns, on the padded grid,
  the gradient with respect to the padded squared slowness of
  ``f = 1/2 sum_t sum_r (d - d_obs)^2`` (``d[t] = P u^t``, no ``dt`` weight)
  when ``v`` is the adjoint field of the residual::

      g = -(1 / dt^2) * sum_{t=0}^{nt-1} v^t * (u^t - 2 u^{t-1} + u^{t-2})

  with ``u^{-1} = u^{-2} = 0``; by summation by parts this is
  ``-(1/dt^2) sum_t u^t (v^t - 2 v^{t+1} + v^{t+2})``. In matrix form
  ``g = s diag(V^T D2 U)`` with ``D2`` the lower-triangular second-difference
  matrix and ``s = context.imaging_scale = -1/dt^2``: exactly the adjoint of
  the Born operator. Other conditions (:class:`ISIC`,
  :class:`KSpaceFilter`) are evaluated from the channels ``"d2"`` (``D2 u``)
  and ``"id"`` (``u``, ``v``) by :meth:`ImagingCondition.correlate` and
  :meth:`ImagingCondition.finalize`. The engine maps the image to the
  physical grid with ``model.pad_adjoint``.
* **What v is.** With ``a = dt^2 / (m + damp dt/2)`` and
  ``b = 2 m / (m + damp dt/2)``, ``v^k = a lap(v^{k+1}) + b (v^{k+1} - v^{k+2})
  + v^{k+2} + a P^T r^k`` for ``k = nt-1 .. 0`` (``r`` the residual or a
  data-space vector): ``a`` times the Lagrange multiplier of the discrete
  forward recursion, hence the ``1/dt^2`` and no ``m`` above.
* **Context.** :class:`~randla.apps.wave.HistoryContext` gives ``nt``,
  ``dt``, ``shape``, ``ndim``, ``spacing``, ``dtype``, ``xp``, ``device``,
  ``model``, ``geometry`` (read only), ``d_obs`` (the shot's observed record
  ``(nt, nrec)`` when the sweep computes a data misfit, i.e. in
  :func:`~randla.apps.wave.gradient` and the multi-shot objectives; ``None``
  otherwise, e.g. in :func:`~randla.apps.wave.jacobian_adjoint`),
  ``imaging_scale``, ``num_advanced_steps``, and ``initial_state()``,
  ``new_state()``, ``capture(out=None)`` (inside ``observe`` only: copies the
  engine's state ``(u^t, u^{t-1})``) and ``advance(state, t, out=None,
  observe=None)`` (re-runs forward steps from a state to index ``t``, counted
  in ``num_advanced_steps``); states are :class:`~randla.apps.wave.ForwardState`.
* **Memory.** ``nbytes`` is the number of bytes the strategy holds, counted
  from its arrays' sizes, so strategies can be compared honestly.
* **Reuse and spawn.** ``setup`` resets a strategy, so one object may run
  many shots. ``spawn(rng=None)`` returns a fresh, unused strategy built with
  the same constructor arguments (randomized ones re-seeded from ``rng``):
  the multi-shot drivers give every shot its own. ``exact`` (class
  attribute) says whether ``gradient()`` is exact. Drop the context (or call
  ``setup``) before pickling a strategy to another process.
* **Replay** (optional, ``replayable = True``). After ``end_forward``,
  ``replay(t)`` gives the stored forward field ``u^t`` back (a view valid
  until the next call), for ``t = 0..nt-1`` in forward order, in any number
  of passes; ``restart_adjoint()`` forgets the image so that another adjoint
  sweep (``correlate(nt-1 .. 0)``, then ``gradient()``) runs against the same
  forward history. Gauss-Newton products use it to reuse one background
  field. :class:`FullStorage` replays from memory, :class:`Checkpointing` by
  recomputation; probed strategies cannot.
* **Sweeps.** :func:`~randla.apps.wave.gradient` and
  :func:`~randla.apps.wave.jacobian_adjoint` drive ``observe`` with the
  forward sweep, :func:`~randla.apps.wave.gauss_newton` with the background
  field of its Born sweep.

References
----------
A. Griewank and A. Walther, "Algorithm 799: revolve: an implementation of
checkpointing for the reverse or adjoint mode of computational
differentiation", ACM Transactions on Mathematical Software 26(1), 19-45, 2000.
"""

from __future__ import annotations

import inspect
from typing import Any, ClassVar

import numpy as np

from randla.backend import check_positive_int, is_numpy, nbytes

from .imaging import CrossCorrelation, ImagingCondition, check_imaging
from .kernels.cpu import accumulate_checkpoint, accumulate_imaging

__all__ = [
    "Checkpointing",
    "FullStorage",
    "WavefieldHistory",
    "revolve_schedule",
]


class WavefieldHistory:
    """Base class of wavefield-history strategies (see the module docstring).

    Subclasses implement :meth:`setup`, :meth:`observe`, :meth:`correlate`,
    :meth:`gradient` and :attr:`nbytes`; :meth:`end_forward` is optional, and
    replayable ones set ``replayable = True`` and implement :meth:`replay` and
    :meth:`restart_adjoint`.

    Parameters
    ----------
    imaging : ImagingCondition, optional
        Default :class:`~randla.apps.wave.CrossCorrelation` (the gradient).

    Attributes
    ----------
    exact, replayable : bool
        Class attributes: ``gradient()`` is exact; the strategy can replay
        its forward history.
    imaging : ImagingCondition
    context : HistoryContext or None
        Set by :meth:`setup`.

    Examples
    --------
    A complete strategy: keep every field (copies!) and apply the imaging
    condition in its summation-by-parts form.

    >>> import numpy as np
    >>> from randla.apps.wave import (FullStorage, Geometry, WavefieldHistory,
    ...                               gradient, layered_model)
    >>> class KeepAll(WavefieldHistory):
    ...     def setup(self, context):
    ...         super().setup(context)
    ...         self.u, self.v = {}, {}
    ...     def observe(self, t, u):
    ...         self.u[t] = np.array(u, copy=True)
    ...     def correlate(self, t, v):
    ...         self.v[t] = np.array(v, copy=True)
    ...     def gradient(self):
    ...         v = lambda t: self.v.get(t, 0.0)
    ...         image = sum(u * (v(t) - 2 * v(t + 1) + v(t + 2)) for t, u in self.u.items())
    ...         return self.context.imaging_scale * image
    ...     nbytes = property(lambda self: sum(x.nbytes for x in (*self.u.values(), *self.v.values())))
    >>> model = layered_model((30, 24), spacing=10.0, nbl=5, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[150.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 300, 30)], tn=0.1)
    >>> d_obs = np.zeros((geom.nt, geom.nrec))
    >>> _, g1 = gradient(model, geom, d_obs, history=KeepAll())
    >>> _, g2 = gradient(model, geom, d_obs, history=FullStorage())
    >>> bool(np.allclose(g1, g2, rtol=1e-10, atol=0)), KeepAll().spawn().replayable
    (True, False)
    """

    exact: ClassVar[bool] = True
    replayable: ClassVar[bool] = False
    context: Any = None
    imaging: ImagingCondition = CrossCorrelation()

    def __new__(cls, *args: Any, **kwargs: Any) -> "WavefieldHistory":
        self = super().__new__(cls)
        # the constructor arguments, for spawn()
        self._arguments = (args, dict(kwargs))
        return self

    def __init__(self, *, imaging: ImagingCondition | None = None) -> None:
        self.imaging = check_imaging(imaging)
        self.context = None

    def spawn(self, rng: Any = None) -> "WavefieldHistory":
        """A fresh, unused strategy with the same options, for one shot.

        Built by calling the class again with the arguments this one was
        constructed with; a constructor that takes ``rng`` gets the new
        ``rng`` (int, numpy Generator or None) instead of the old one.
        """
        args, kwargs = getattr(self, "_arguments", ((), {}))
        cls = type(self)
        signature = inspect.signature(cls.__init__)
        if "rng" in signature.parameters:
            bound = signature.bind(self, *args, **kwargs)
            bound.arguments["rng"] = rng
            args, kwargs = bound.args[1:], bound.kwargs
        return cls(*args, **kwargs)

    def setup(self, context: Any) -> None:
        """Start a new shot: keep ``context`` and reset all state."""
        self.context = context

    def observe(self, t: int, u: Any, /) -> None:  # pragma: no cover - abstract
        """Forward sweep, field ``u = u^t`` (valid during the call only)."""
        raise NotImplementedError

    def end_forward(self) -> None:
        """Called once after ``observe(nt - 1, .)`` (flush buffers here)."""

    def correlate(self, t: int, v: Any, /) -> None:  # pragma: no cover - abstract
        """Adjoint sweep, field ``v = v^t`` (valid during the call only)."""
        raise NotImplementedError

    def gradient(self) -> Any:  # pragma: no cover - abstract
        """The padded-grid image of the strategy's imaging condition."""
        raise NotImplementedError

    def replay(self, t: int, /) -> Any:
        """The forward field ``u^t`` after ``end_forward`` (replayable strategies only).

        Raises
        ------
        TypeError
            For a strategy that is not replayable.
        """
        raise TypeError(f"{type(self).__name__} cannot replay its forward history "
                        "(replayable = False): use FullStorage or Checkpointing")

    def restart_adjoint(self) -> None:
        """Forget the image so another adjoint sweep can run (replayable strategies only).

        Raises
        ------
        TypeError
            For a strategy that is not replayable.
        """
        raise TypeError(f"{type(self).__name__} cannot replay its forward history "
                        "(replayable = False): use FullStorage or Checkpointing")

    @property
    def nbytes(self) -> int:  # pragma: no cover - abstract
        """Bytes held by the strategy."""
        raise NotImplementedError

    @property
    def num_recomputed_steps(self) -> int:
        """Forward time steps recomputed since :meth:`setup` (0 unless the
        strategy re-runs the forward)."""
        return 0

    def _require_context(self) -> Any:
        if self.context is None:
            raise RuntimeError(f"{type(self).__name__}.setup(context) has not been called")
        return self.context


def _zeros(context: Any, shape: tuple[int, ...]) -> Any:
    xp = context.xp
    return xp.zeros(shape, dtype=context.dtype, device=context.device)


def _one(xp: Any, x: Any) -> Any:
    return xp.expand_dims(x, axis=0)


def _step_image(imaging: ImagingCondition, context: Any, d2: Any, u: Any, v: Any) -> Any:
    """One time step of a (non-pointwise) condition, before ``finalize``."""
    xp = context.xp
    fwd = {"d2": _one(xp, d2), "id": _one(xp, u)}
    return imaging.correlate(fwd, {"id": _one(xp, v)}, context=context)


class FullStorage(WavefieldHistory):
    """Store every forward field (``nt * N`` values): the exact reference.

    Replayable: :meth:`replay` hands the stored fields back.

    Parameters
    ----------
    imaging : ImagingCondition, optional
        Default :class:`~randla.apps.wave.CrossCorrelation` (the gradient);
        :class:`~randla.apps.wave.ISIC` and
        :class:`~randla.apps.wave.KSpaceFilter` are evaluated exactly, one
        time step at a time.

    References
    ----------
    R.-E. Plessix, "A review of the adjoint-state method for computing the
    gradient of a functional with geophysical applications", Geophys. J. Int.
    167(2), 495-503, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import FullStorage, Geometry, forward, gradient, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> history = FullStorage()
    >>> f, g = gradient(model, geom, np.zeros((geom.nt, geom.nrec)), history=history)
    >>> _, u = forward(model, geom, save=True)
    >>> g.shape, bool(np.array_equal(history.replay(geom.nt - 1), u[-1]))
    ((40, 30), True)
    """

    replayable: ClassVar[bool] = True

    def __init__(self, *, imaging: ImagingCondition | None = None) -> None:
        super().__init__(imaging=imaging)

    def setup(self, context: Any) -> None:
        super().setup(context)
        nt, shape = context.nt, tuple(context.shape)
        self._fields = _zeros(context, (nt,) + shape)
        self._image = _zeros(context, shape)
        self._numpy = is_numpy(context.xp)
        self._zero = _zeros(context, shape)
        self._forward_done = False

    def observe(self, t: int, u: Any, /) -> None:
        self._require_context()
        if self._numpy:
            np.copyto(self._fields[t], u)
        else:
            self._fields[t, ...] = u

    def end_forward(self) -> None:
        self._require_context()
        self._forward_done = True

    def correlate(self, t: int, v: Any, /) -> None:
        ctx = self._require_context()
        u0 = self._fields[t, ...]
        u1 = self._fields[t - 1, ...] if t >= 1 else self._zero
        u2 = self._fields[t - 2, ...] if t >= 2 else self._zero
        if not self.imaging.pointwise:
            self._image = self._image + _step_image(self.imaging, ctx, u0 - 2 * u1 + u2, u0, v)
        elif self._numpy:
            accumulate_imaging(self._image, v, u0, u1, u2)
        else:
            self._image = self._image + v * (u0 - 2 * u1 + u2)

    def gradient(self) -> Any:
        ctx = self._require_context()
        if self.imaging.pointwise:
            return self.imaging.finalize(ctx.imaging_scale * self._image, context=ctx)
        return self.imaging.finalize(self._image, context=ctx)

    def replay(self, t: int, /) -> Any:
        """The stored ``u^t`` (a view; ``0 <= t < nt``, after ``end_forward``)."""
        ctx = self._require_context()
        if not self._forward_done:
            raise RuntimeError("replay() before end_forward(): the forward sweep must run first")
        if not 0 <= t < ctx.nt:
            raise ValueError(f"t must be in [0, {ctx.nt - 1}], got {t}")
        return self._fields[t, ...]

    def restart_adjoint(self) -> None:
        """Zero the image: the next ``correlate`` sweep starts a new one."""
        ctx = self._require_context()
        if not self._forward_done:
            raise RuntimeError("restart_adjoint() before end_forward(): the forward sweep must run first")
        self._image = _zeros(ctx, tuple(ctx.shape))

    @property
    def nbytes(self) -> int:
        if self.context is None:
            return 0
        return nbytes(self._fields) + nbytes(self._image) + nbytes(self._zero)


# -- optimal (binomial) checkpointing --------------------------------------------


def _split(steps: int, snaps: int) -> int:
    """Revolve's optimal first split for reversing ``steps`` states with
    ``snaps`` checkpoints (counting the one at the start): offset in
    ``[1, steps - 1]`` (Griewank & Walther 2000, routine ``numforw``)."""
    reps, rng = 0, 1
    while rng < steps:
        reps += 1
        rng = rng * (reps + snaps) // reps
    bino1 = rng * reps // (snaps + reps)
    bino2 = bino1 * snaps // (snaps + reps - 1) if snaps > 1 else 1
    if snaps == 1:
        bino3 = 0
    else:
        bino3 = bino2 * (snaps - 1) // (snaps + reps - 2) if snaps > 2 else 1
    bino4 = bino2 * (reps - 1) // snaps
    if snaps < 3:
        bino5 = 0
    else:
        bino5 = bino3 * (snaps - 2) // reps if snaps > 3 else 1
    if steps <= bino1 + bino3:
        j = bino4
    elif steps >= rng - bino5:
        j = bino1
    else:
        j = steps - bino2 - bino3
    return int(min(max(j, 1), steps - 1))


ZERO = -1  # the initial (all-zero) forward state at t = 0


def revolve_schedule(nt: int, num_snapshots: int, /) -> list[tuple]:
    """Binomial checkpointing schedule for reversing ``nt`` forward states.

    Parameters
    ----------
    nt : int
        Number of time indices (states ``0 .. nt-1``); state 0 is the
        zero initial state and costs no memory.
    num_snapshots : int
        Checkpoint slots (each holds one state ``(u^t, u^{t-1})``).

    Returns
    -------
    list of tuple
        Actions in execution order: ``("advance", src, t, dst)`` (recompute
        the state at ``t`` from the state held by ``src`` into ``dst``; slots
        are ``0 .. num_snapshots-1``, ``num_snapshots`` is the work state,
        ``-1`` the zero initial state) and ``("adjoint", t, src)`` (the adjoint
        step at ``t`` reads the state held by ``src``). The leading run of
        ``advance`` actions happens during the engine's forward sweep.

    Raises
    ------
    ValueError, TypeError
        If ``nt`` or ``num_snapshots`` is not a positive integer.

    Examples
    --------
    >>> from randla.apps.wave import revolve_schedule
    >>> revolve_schedule(3, 1)
    [('advance', -1, 1, 0), ('advance', 0, 2, 1), ('adjoint', 2, 1), ('adjoint', 1, 0), ('adjoint', 0, -1)]
    """
    nt = check_positive_int(nt, "nt")
    num_snapshots = check_positive_int(num_snapshots, "num_snapshots")
    work = int(num_snapshots)
    free = list(range(int(num_snapshots) - 1, -1, -1))
    actions: list[tuple] = []
    # explicit stack instead of recursion: frames (a, b, s, src) or markers
    stack: list[tuple] = [("rev", 0, int(nt), int(num_snapshots), ZERO)]
    while stack:
        frame = stack.pop()
        if frame[0] == "free":
            free.append(frame[1])
            continue
        _, a, b, s, src = frame
        length = b - a
        if length == 1:
            actions.append(("adjoint", a, src))
            continue
        if s == 0:
            for t in range(b - 1, a, -1):
                actions.append(("advance", src, t, work))
                actions.append(("adjoint", t, work))
            actions.append(("adjoint", a, src))
            continue
        j = _split(length, s + 1)
        slot = free.pop()
        actions.append(("advance", src, a + j, slot))
        # reverse [a+j, b) with one slot fewer, then free it, then reverse [a, a+j)
        stack.append(("rev", a, a + j, s, src))
        stack.append(("free", slot))
        stack.append(("rev", a + j, b, s - 1, slot))
    return actions


def _schedule_cost(actions: list[tuple], num_snapshots: int) -> tuple[int, int]:
    """(forward steps in the first sweep, steps recomputed afterwards)."""
    times = {ZERO: 0}
    first, recomputed, in_first = 0, 0, True
    for act in actions:
        if act[0] == "adjoint":
            in_first = False
            continue
        _, src, t, dst = act
        steps = t - times[src]
        if in_first:
            first += steps
        else:
            recomputed += steps
        times[dst] = t
    return first, recomputed


class Checkpointing(WavefieldHistory):
    """Optimal binomial checkpointing (revolve): ``num_snapshots`` states.

    During the forward sweep the strategy copies the engine's state at the
    checkpoint times of the revolve schedule; during the adjoint sweep it
    restores checkpoints and re-runs forward steps through
    ``context.advance`` so that ``u^t`` and ``u^{t-1}`` are at hand when
    ``v^t`` arrives. The image equals :class:`FullStorage`'s to rounding.
    Replayable: :meth:`replay` recomputes ``u^t`` from the nearest
    checkpoint.

    Parameters
    ----------
    num_snapshots : int
        Number of checkpoint slots (>= 1), two fields each; the zero initial
        state is free.
    imaging : ImagingCondition, optional
        As :class:`FullStorage`; non-pointwise conditions hold two more fields.

    Attributes
    ----------
    num_recomputed_steps : int
        Forward steps re-run since :meth:`setup` (adjoint sweeps and
        replays); after one gradient, the optimum of Griewank's binomial bound.

    Raises
    ------
    ValueError, TypeError
        If ``num_snapshots`` is not a positive integer.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Checkpointing, FullStorage, Geometry, gradient, layered_model
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> d_obs = np.zeros((geom.nt, geom.nrec))
    >>> _, g_full = gradient(model, geom, d_obs, history=FullStorage())
    >>> ckpt = Checkpointing(5)
    >>> _, g_ckpt = gradient(model, geom, d_obs, history=ckpt)
    >>> bool(np.allclose(g_ckpt, g_full, rtol=1e-10, atol=0)), ckpt.num_recomputed_steps > 0
    (True, True)
    """

    replayable: ClassVar[bool] = True

    def __init__(self, num_snapshots: int, *, imaging: ImagingCondition | None = None) -> None:
        super().__init__(imaging=imaging)
        self.num_snapshots = check_positive_int(num_snapshots, "num_snapshots")
        self._recomputed = 0
        self._states: dict = {}
        self._replay_state = None

    def setup(self, context: Any) -> None:
        super().setup(context)
        actions = revolve_schedule(context.nt, self.num_snapshots)
        first = 0
        while first < len(actions) and actions[first][0] == "advance":
            first += 1
        self._captures = {act[2]: act[3] for act in actions[:first]}
        self._actions = actions[first:]
        self._states = {ZERO: context.initial_state()}
        self._replay_state = None
        self._recomputed = 0
        shape = tuple(context.shape)
        self._numpy = is_numpy(context.xp)
        self._zero = None
        self._image = _zeros(context, shape)
        self._v_next = _zeros(context, shape)  # v^{t+1}
        # non-pointwise conditions see time t + 1 at step t, when u^{t-1} is at hand
        self._u_next = None if self.imaging.pointwise else _zeros(context, shape)
        self._start_adjoint()
        self._phase = "forward"

    def _start_adjoint(self) -> None:
        self._cursor = 0
        self._has_next = False

    def _state(self, slot: int) -> Any:
        if slot not in self._states:
            self._states[slot] = self.context.new_state()
        return self._states[slot]

    def _advance(self, state: Any, t: int, out: Any) -> Any:
        ctx = self.context
        before = ctx.num_advanced_steps
        out = ctx.advance(state, t, out=out)
        self._recomputed += ctx.num_advanced_steps - before
        return out

    def observe(self, t: int, u: Any, /) -> None:
        ctx = self._require_context()
        dst = self._captures.get(t)
        if dst is not None:
            ctx.capture(out=self._state(dst))

    def end_forward(self) -> None:
        self._require_context()
        self._phase = "ready"

    def _closest(self, t: int, *, extra: Any = None) -> Any:
        """The held state with the largest time ``<= t``."""
        best = self._states[ZERO]
        for state in (*self._states.values(), extra):
            if state is not None and best.t < state.t <= t:
                best = state
        return best

    def _refresh(self, until: int) -> Any:
        """Recompute the forward sweep's checkpoints up to time ``until`` that
        an adjoint sweep overwrote; returns the latest one (or None)."""
        last = None
        for tc in sorted(self._captures):
            if tc > until:
                break
            slot = self._state(self._captures[tc])
            if slot.t != tc:
                self._advance(self._closest(tc, extra=self._replay_state), tc, slot)
            last = slot
        return last

    def correlate(self, t: int, v: Any, /) -> None:
        ctx = self._require_context()
        if self._phase == "ready":
            self._refresh(ctx.nt - 1)
            self._phase = "adjoint"
        state = None
        while self._cursor < len(self._actions):
            act = self._actions[self._cursor]
            self._cursor += 1
            if act[0] == "advance":
                _, src, t_dst, dst = act
                self._advance(self._states[src], t_dst, self._state(dst))
                continue
            _, t_adj, src = act
            if t_adj != t:
                raise RuntimeError(f"checkpointing schedule out of sync: expected t={t_adj}, got {t}")
            state = self._states[src]
            break
        if state is None:
            raise RuntimeError(f"checkpointing schedule exhausted at t={t}")
        if state.t != t:
            raise RuntimeError(f"checkpoint holds t={state.t}, needed t={t}")
        if t == 0:
            self._phase = "done"
        if not self.imaging.pointwise:
            self._correlate_step(state, v)
        elif state.is_zero:
            # u^0 = u^{-1} = 0: nothing to add, only remember v^t
            self._store_v(v)
        elif self._numpy:
            # g += v^t (u^t - 2 u^{t-1}) + v^{t+1} u^{t-1}  (the u^{t-2} term, shifted)
            accumulate_checkpoint(self._image, v, state.field, state.previous, self._v_next)
        else:
            u_t, u_tm1 = state.field, state.previous
            self._image = self._image + v * (u_t - 2 * u_tm1) + self._v_next * u_tm1
            self._store_v(v)

    def _correlate_step(self, state: Any, v: Any) -> None:
        """Non-pointwise conditions: add time ``t + 1``, whose ``D2 u`` needs
        ``u^{t-1}`` (held now); time 0 adds nothing (``u^0 = 0``)."""
        ctx, xp = self.context, self.context.xp
        if state.is_zero:
            u_t = u_tm1 = self._zeros()
        else:
            u_t, u_tm1 = state.field, state.previous
        if self._has_next:
            d2 = self._u_next - 2 * u_t + u_tm1
            self._image = self._image + _step_image(self.imaging, ctx, d2, self._u_next, self._v_next)
        self._u_next = xp.asarray(u_t, copy=True)
        self._v_next = xp.asarray(v, copy=True)
        self._has_next = True

    def _zeros(self) -> Any:
        if self._zero is None:
            self._zero = _zeros(self.context, tuple(self.context.shape))
        return self._zero

    def _store_v(self, v: Any) -> None:
        if self._numpy:
            np.copyto(self._v_next, v)
        else:
            self._v_next = self.context.xp.asarray(v, copy=True)

    def gradient(self) -> Any:
        ctx = self._require_context()
        if self.imaging.pointwise:
            return self.imaging.finalize(ctx.imaging_scale * self._image, context=ctx)
        return self.imaging.finalize(self._image, context=ctx)

    def replay(self, t: int, /) -> Any:
        """``u^t`` recomputed from the closest checkpoint (a view valid until
        the next call; ``0 <= t < nt``, after ``end_forward``). Between
        adjoint sweeps it also restores the checkpoints the last sweep
        overwrote, so one pass in forward order costs ``nt - 1`` steps."""
        ctx = self._require_context()
        if self._phase == "forward":
            raise RuntimeError("replay() before end_forward(): the forward sweep must run first")
        if not 0 <= t < ctx.nt:
            raise ValueError(f"t must be in [0, {ctx.nt - 1}], got {t}")
        if t == 0:
            return self._zeros()
        if self._phase == "ready":
            self._refresh(t)
        if self._replay_state is None:
            self._replay_state = ctx.new_state()
        self._advance(self._closest(t, extra=self._replay_state), t, self._replay_state)
        return self._replay_state.field

    def restart_adjoint(self) -> None:
        """Zero the image and rewind the revolve schedule; checkpoints that
        the last sweep overwrote are recomputed when next needed."""
        ctx = self._require_context()
        if self._phase == "forward":
            raise RuntimeError("restart_adjoint() before end_forward(): the forward sweep must run first")
        shape = tuple(ctx.shape)
        self._image = _zeros(ctx, shape)
        self._v_next = _zeros(ctx, shape)
        self._start_adjoint()
        self._phase = "ready"

    @property
    def num_recomputed_steps(self) -> int:
        return self._recomputed

    @property
    def nbytes(self) -> int:
        if self.context is None:
            return 0
        held = [self._image, self._v_next, self._u_next, self._zero]
        total = sum(nbytes(x) for x in held if x is not None)
        total += sum(state.nbytes for state in self._states.values())
        if self._replay_state is not None:
            total += self._replay_state.nbytes
        return total
