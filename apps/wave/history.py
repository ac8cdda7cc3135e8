"""The wavefield-history seam: how a gradient gets the forward field back.

An FWI gradient needs the forward wavefield ``u`` while the adjoint wavefield
``v`` runs backwards in time. Every way of providing it (full storage, optimal
checkpointing, and in :mod:`randla.apps.fwi` probing, on-the-fly DFT and
compressed storage) is a *strategy*: a subclass of :class:`WavefieldHistory`
that the propagator drives through four calls. The engine never needs to know
which strategy it is running.

Protocol (the exact contract)
-----------------------------
For one shot the propagator calls, in this order::

    strategy.setup(context)                  # once; resets all previous state
    strategy.observe(t, u)   for t = 0, 1, ..., nt - 1    (forward sweep)
    strategy.end_forward()                   # once
    strategy.correlate(t, v) for t = nt - 1, ..., 1, 0    (adjoint sweep)
    g = strategy.gradient()                  # padded-grid image

* **Time index.** ``t`` is the index of the time axis, ``t_n = t0 + n dt``,
  ``n = 0..nt-1`` (``context.nt``, ``context.dt``). ``u`` passed to
  ``observe(t, u)`` is the forward field ``u^t`` (so ``u^0 = 0``: the field
  starts at rest and the source sample ``q[n]`` first appears in ``u^{n+1}``).
  ``v`` passed to ``correlate(t, v)`` is the adjoint field ``v^t`` of the same
  index; ``v^t = 0`` for ``t >= nt``. Every index is visited exactly once per
  sweep, in the order shown.
* **Arrays.** ``u`` and ``v`` are arrays of ``context.shape`` (the padded grid,
  ``model.padded_shape``), dtype ``context.dtype``, namespace ``context.xp``,
  on ``context.device``. They are *views into buffers the engine reuses in
  place*: they are valid only during the call. A strategy must copy whatever
  it keeps (e.g. ``xp.asarray(u, copy=True)`` or into its own preallocated
  storage) and must not write into them.
* **Imaging condition.** :meth:`WavefieldHistory.gradient` returns, on the
  padded grid, the gradient with respect to the padded squared slowness of
  ``f = 1/2 sum_t sum_r (d - d_obs)^2`` (no ``dt`` weighting; ``d[t] = P u^t``)
  when ``v`` is the adjoint field of the residual ``d - d_obs``::

      g = -(1 / dt^2) * sum_{t=0}^{nt-1} v^t * (u^t - 2 u^{t-1} + u^{t-2})

  with ``u^{-1} = u^{-2} = 0``. By summation by parts this equals
  ``-(1/dt^2) sum_t u^t * (v^t - 2 v^{t+1} + v^{t+2})`` (``v^{nt} = v^{nt+1} =
  0``), so a strategy may accumulate ``u`` instead of ``u_tt``. In matrix
  form, with ``U`` and ``V`` the ``(nt, N)`` histories and ``D2`` the
  lower-triangular Toeplitz second-difference matrix (1 on the diagonal, -2
  on the first and 1 on the second subdiagonal): ``g = -(1/dt^2) diag(V^T D2 U)``;
  ``context.imaging_scale`` is ``-1/dt^2``. The result is exact for this
  discretisation: it is the adjoint of the Born operator to rounding. The
  engine then maps ``g`` to the physical grid with ``model.pad_adjoint``.
* **What v is.** With ``a = dt^2 / (m + damp dt/2)`` and
  ``b = 2 m / (m + damp dt/2)`` (padded grid), the engine computes
  ``v^k = a lap(v^{k+1}) + b (v^{k+1} - v^{k+2}) + v^{k+2} + a P^T r^k`` for
  ``k = nt-1 .. 0`` (``r`` the residual or data-space vector); ``v`` is ``a``
  times the Lagrange multiplier of the discrete forward recursion, which is
  why the imaging condition above carries ``1/dt^2`` and no ``m``.
* **Context.** :class:`~randla.apps.wave.HistoryContext` gives ``nt``,
  ``dt``, ``shape``, ``ndim``, ``spacing``, ``dtype``, ``xp``, ``device``,
  ``model``, ``geometry`` (read only), ``imaging_scale`` and
  ``num_advanced_steps``, and the methods ``initial_state()``,
  ``new_state()``, ``capture(out=None)`` and
  ``advance(state, t, out=None, observe=None)``
  (states are :class:`~randla.apps.wave.ForwardState`: ``t``, ``field``,
  ``previous``, ``is_zero``, ``nbytes``).
* **Memory.** ``nbytes`` is the number of bytes the strategy currently holds
  (stored fields, snapshots, accumulators, scratch), counted from the arrays'
  sizes; strategies report it honestly so they can be compared.
* **Recomputation.** Strategies that need the forward field again (like
  :class:`Checkpointing`) use the context: ``context.capture(out=state)``
  (inside ``observe`` only) copies the engine's current forward state
  ``(u^t, u^{t-1})``; ``context.advance(state, t, out=...)`` re-runs forward
  steps from a captured (or the initial zero) state to index ``t``, injecting
  the same source, without touching the adjoint sweep's buffers. Steps run by
  ``advance`` are counted in ``context.num_advanced_steps``.
* **Reuse.** A strategy object may be reused for another shot; ``setup``
  must reset it. ``exact`` (class attribute) says whether ``gradient()`` is
  exact (True here; randomized strategies set False). The context holds the
  engine's buffers: drop it (or call ``setup`` again) before pickling a
  strategy to another process.
* **Sweeps.** :func:`~randla.apps.wave.gradient` and
  :func:`~randla.apps.wave.jacobian_adjoint` drive ``observe`` with the
  forward sweep, :func:`~randla.apps.wave.gauss_newton` with the background
  field of its Born sweep; the adjoint sweep is driven by the residual
  (respectively by the data-space vector).
* **Backends.** ``u`` and ``v`` live on the model's backend (NumPy, CuPy, a
  torch tensor...): a strategy works on them with ``context.xp`` only, so it
  runs wherever the engine runs.

Writing a new strategy (e.g. a probed one) needs only this module; see
:class:`FullStorage` for the simplest complete example.

References
----------
A. Griewank and A. Walther, "Algorithm 799: revolve: an implementation of
checkpointing for the reverse or adjoint mode of computational
differentiation", ACM Transactions on Mathematical Software 26(1), 19-45, 2000.

J. Virieux and S. Operto, "An overview of full-waveform inversion in
exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np

from randla.backend import is_numpy, nbytes

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
    :meth:`gradient` and :attr:`nbytes`; :meth:`end_forward` is optional.

    Attributes
    ----------
    exact : bool
        Whether :meth:`gradient` is exact (class attribute).
    context : HistoryContext or None
        Set by :meth:`setup`.

    References
    ----------
    M. Louboutin and F. J. Herrmann, "Ultra-low memory seismic inversion with
    randomized trace estimation", 2021 (probed strategies built on this seam).

    Examples
    --------
    A complete strategy in a few lines: keep every field (copies!) and apply
    the imaging condition in its summation-by-parts form.

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
    ...         ctx, zero = self.context, 0.0
    ...         v = lambda t: self.v.get(t, zero)
    ...         image = sum(self.u[t] * (v(t) - 2 * v(t + 1) + v(t + 2)) for t in range(ctx.nt))
    ...         return ctx.imaging_scale * image
    ...     @property
    ...     def nbytes(self):
    ...         return sum(x.nbytes for x in (*self.u.values(), *self.v.values()))
    >>> model = layered_model((30, 24), spacing=10.0, nbl=5, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[150.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 300, 30)], tn=0.1)
    >>> d_obs = np.zeros((geom.nt, geom.nrec))
    >>> _, g1 = gradient(model, geom, d_obs, history=KeepAll())
    >>> _, g2 = gradient(model, geom, d_obs, history=FullStorage())
    >>> bool(np.allclose(g1, g2, rtol=1e-10, atol=0))
    True
    """

    exact: ClassVar[bool] = True
    #: Whether :meth:`replay` and :meth:`restart_adjoint` are available.
    replayable: ClassVar[bool] = False

    def __init__(self) -> None:
        self.context = None

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
        """Padded-grid gradient ``-(1/dt^2) sum_t v^t (u^t - 2u^{t-1} + u^{t-2})``."""
        raise NotImplementedError

    @property
    def nbytes(self) -> int:  # pragma: no cover - abstract
        """Bytes held by the strategy."""
        raise NotImplementedError

    @property
    def num_recomputed_steps(self) -> int:
        """Forward time steps recomputed during the adjoint sweep (0 unless the
        strategy re-runs the forward)."""
        return 0

    def replay(self, t: int, /) -> Any:
        """After ``end_forward``: the forward field ``u^t`` (padded grid; a view
        valid until the next call), for any ``t`` in ``0..nt-1``, repeatedly
        (``replayable`` strategies only)."""
        raise TypeError(f"{type(self).__name__} cannot replay the forward field (replayable is False)")

    def restart_adjoint(self) -> None:
        """Forget what ``correlate`` accumulated, so that another adjoint sweep
        runs against the same forward history (``replayable`` strategies only)."""
        raise TypeError(f"{type(self).__name__} cannot replay the forward field (replayable is False)")

    def _require_context(self) -> Any:
        if self.context is None:
            raise RuntimeError(f"{type(self).__name__}.setup(context) has not been called")
        return self.context


def _zeros(context: Any, shape: tuple[int, ...]) -> Any:
    xp = context.xp
    return xp.zeros(shape, dtype=context.dtype, device=context.device)


class FullStorage(WavefieldHistory):
    """Store every forward field (``nt * N`` values): the exact reference.

    References
    ----------
    R.-E. Plessix, "A review of the adjoint-state method for computing the
    gradient of a functional with geophysical applications", Geophys. J. Int.
    167(2), 495-503, 2006.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import (FullStorage, Geometry, gradient,
    ...                               layered_model)
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> d_obs = np.zeros((geom.nt, geom.nrec))
    >>> history = FullStorage()
    >>> f, g = gradient(model, geom, d_obs, history=history)
    >>> g.shape, history.nbytes >= geom.nt * int(np.prod(model.padded_shape)) * 8
    ((40, 30), True)
    """

    replayable = True

    def setup(self, context: Any) -> None:
        super().setup(context)
        nt, shape = context.nt, tuple(context.shape)
        self._fields = _zeros(context, (nt,) + shape)
        self._image = _zeros(context, shape)
        self._numpy = is_numpy(context.xp)
        self._zero = _zeros(context, shape)

    def observe(self, t: int, u: Any, /) -> None:
        self._require_context()
        if self._numpy:
            np.copyto(self._fields[t], u)
        else:
            self._fields[t, ...] = u

    def correlate(self, t: int, v: Any, /) -> None:
        self._require_context()
        u0 = self._fields[t, ...]
        u1 = self._fields[t - 1, ...] if t >= 1 else self._zero
        u2 = self._fields[t - 2, ...] if t >= 2 else self._zero
        if self._numpy:
            accumulate_imaging(self._image, v, u0, u1, u2)
        else:
            self._image = self._image + v * (u0 - 2 * u1 + u2)

    def replay(self, t: int, /) -> Any:
        self._require_context()
        return self._fields[t, ...]

    def restart_adjoint(self) -> None:
        self._image = _zeros(self._require_context(), tuple(self.context.shape))

    def gradient(self) -> Any:
        ctx = self._require_context()
        return ctx.imaging_scale * self._image

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
    ValueError
        If ``nt < 1`` or ``num_snapshots < 1``.

    References
    ----------
    A. Griewank and A. Walther, ACM TOMS 26(1), 19-45, 2000.

    Examples
    --------
    >>> from randla.apps.wave import revolve_schedule
    >>> revolve_schedule(3, 1)
    [('advance', -1, 1, 0), ('advance', 0, 2, 1), ('adjoint', 2, 1), ('adjoint', 1, 0), ('adjoint', 0, -1)]
    """
    if int(nt) != nt or nt < 1:
        raise ValueError(f"nt must be a positive integer, got {nt!r}")
    if int(num_snapshots) != num_snapshots or num_snapshots < 1:
        raise ValueError(f"num_snapshots must be a positive integer, got {num_snapshots!r}")
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
    ``v^t`` arrives. The gradient equals :class:`FullStorage`'s to rounding.

    Parameters
    ----------
    num_snapshots : int
        Number of checkpoint slots (>= 1). Each holds two storage-grid fields.
        The zero initial state is free.

    Attributes
    ----------
    num_recomputed_steps : int
        Forward steps re-run during the last adjoint sweep (the optimum of
        Griewank's binomial bound for this ``nt`` and ``num_snapshots``).

    Raises
    ------
    ValueError
        If ``num_snapshots < 1``.

    References
    ----------
    A. Griewank and A. Walther, ACM TOMS 26(1), 19-45, 2000.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import (Checkpointing, FullStorage, Geometry,
    ...                               gradient, layered_model)
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

    def __init__(self, num_snapshots: int) -> None:
        super().__init__()
        if int(num_snapshots) != num_snapshots or num_snapshots < 1:
            raise ValueError(f"num_snapshots must be a positive integer, got {num_snapshots!r}")
        self.num_snapshots = int(num_snapshots)
        self._recomputed = 0
        self._states: dict = {}

    def setup(self, context: Any) -> None:
        super().setup(context)
        actions = revolve_schedule(context.nt, self.num_snapshots)
        first = 0
        while first < len(actions) and actions[first][0] == "advance":
            first += 1
        self._captures = {act[2]: act[3] for act in actions[:first]}
        self._actions = actions[first:]
        self._cursor = 0
        self._states = {ZERO: context.initial_state()}
        self._recomputed = 0
        shape = tuple(context.shape)
        self._image = _zeros(context, shape)
        self._v_next = _zeros(context, shape)  # v^{t+1}
        self._numpy = is_numpy(context.xp)
        self._expected = _schedule_cost(actions, self.num_snapshots)[1]

    def _state(self, slot: int) -> Any:
        if slot not in self._states:
            self._states[slot] = self.context.new_state()
        return self._states[slot]

    def observe(self, t: int, u: Any, /) -> None:
        ctx = self._require_context()
        dst = self._captures.get(t)
        if dst is not None:
            ctx.capture(out=self._state(dst))

    def correlate(self, t: int, v: Any, /) -> None:
        ctx = self._require_context()
        state = None
        while self._cursor < len(self._actions):
            act = self._actions[self._cursor]
            self._cursor += 1
            if act[0] == "advance":
                _, src, t_dst, dst = act
                before = ctx.num_advanced_steps
                ctx.advance(self._states[src], t_dst, out=self._state(dst))
                self._recomputed += ctx.num_advanced_steps - before
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
        if state.is_zero:
            # u^0 = u^{-1} = 0: nothing to add, only remember v^t
            self._store_v(v)
            return
        # g += v^t (u^t - 2 u^{t-1}) + v^{t+1} u^{t-1}  (the u^{t-2} term, shifted)
        u_t, u_tm1 = state.field, state.previous
        if self._numpy:
            accumulate_checkpoint(self._image, v, u_t, u_tm1, self._v_next)
        else:
            self._image = self._image + v * (u_t - 2 * u_tm1) + self._v_next * u_tm1
            self._store_v(v)

    def _store_v(self, v: Any) -> None:
        if self._numpy:
            np.copyto(self._v_next, v)
        else:
            self._v_next = self.context.xp.asarray(v, copy=True)

    def gradient(self) -> Any:
        ctx = self._require_context()
        return ctx.imaging_scale * self._image

    @property
    def num_recomputed_steps(self) -> int:
        return self._recomputed

    @property
    def nbytes(self) -> int:
        if self.context is None:
            return 0
        total = nbytes(self._image) + nbytes(self._v_next)
        total += sum(state.nbytes for state in self._states.values())
        return total

