"""Time-stepping driver: coefficients, the backend choice and the three sweeps.

The stencil lives in the kernels (:mod:`.kernels_cpu`, :mod:`.kernels_gpu`,
:mod:`.reference`); this module only drives them. A :class:`Propagator` is
built for one model and one time step ``dt`` and runs

* the forward sweep ``u^{n+1} = a lap(u^n) + b (u^n - u^{n-1}) + u^{n-1} + a S q^n``,
  recording ``d^n = P u^n``;
* the adjoint sweep ``v^k = a lap(v^{k+1}) + b (v^{k+1} - v^{k+2}) + v^{k+2} + a P^T d^k``
  (the exact discrete adjoint: same kernel, data injected with the same ``a``
  scaling), returning ``S^T v^{n+1}`` for each source sample ``n``;
* the Born sweep, which adds ``-(a/dt^2) dm (u^{n+1} - 2u^n + u^{n-1})`` to the
  scattered field's update.

It drives a :class:`~randla.apps.wave.WavefieldHistory` through the seam and
gives it a :class:`HistoryContext` for recomputation.

Backends are chosen by the array namespace of the model: NumPy -> Numba CPU
kernels, CuPy -> numba.cuda kernels, anything else (torch, array_api_strict)
-> the array-API reference stepper. ``kernel=`` forces one. Each kernel module
carries its backend adapter: :class:`.kernels_cpu.NumbaBackend`,
:class:`.kernels_gpu.CudaBackend`, :class:`.reference.ReferenceBackend`.
"""

from __future__ import annotations

import os
from typing import Any, Callable

import numpy as np

from randla.backend import is_cupy, is_numpy, nbytes

from . import kernels_cpu
from .geometry import Geometry, PointInterpolator, check_cfl
from .kernels_cpu import NumbaBackend
from .model import Model
from .reference import ReferenceBackend
from .stencil import _axis_weights

__all__ = ["ForwardState", "HistoryContext", "Propagator"]

KERNELS = ("auto", "numba", "cuda", "reference")


class ForwardState:
    """One state ``(u^t, u^{t-1})`` of the forward recursion (a checkpoint).

    Created by :meth:`HistoryContext.new_state` / :meth:`~HistoryContext.initial_state`;
    filled by :meth:`HistoryContext.capture` and :meth:`HistoryContext.advance`.

    Attributes
    ----------
    t : int
        Time index of ``field`` (``-1`` while empty).
    is_zero : bool
        The initial rest state (t = 0, no memory).

    References
    ----------
    A. Griewank and A. Walther, "Algorithm 799: revolve: an implementation of
    checkpointing for the reverse or adjoint mode of computational
    differentiation", ACM Trans. Math. Softw. 26(1), 19-45, 2000.

    Examples
    --------
    A strategy that keeps the state of step 5 and restarts from it:

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
    ...     def gradient(self):
    ...         return None
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
    d_obs : array (nt, nrec) or None
        The shot's observed record when the sweep computes a data misfit
        (:func:`~randla.apps.wave.gradient`), else None.
    imaging_scale : float
        ``-1 / dt^2``, the factor of the cross-correlation imaging condition.
    num_advanced_steps : int
        Forward steps run by :meth:`advance` so far.

    References
    ----------
    R.-E. Plessix, "A review of the adjoint-state method for computing the
    gradient of a functional with geophysical applications", Geophys. J. Int.
    167(2), 495-503, 2006.

    Examples
    --------
    The context a strategy receives in :meth:`WavefieldHistory.setup`:

    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, Propagator, WavefieldHistory, layered_model
    >>> class Inspect(WavefieldHistory):
    ...     def setup(self, context):
    ...         super().setup(context)
    ...         self.seen = (context.nt, context.shape, context.imaging_scale < 0)
    ...     def observe(self, t, u):
    ...         pass
    ...     def correlate(self, t, v):
    ...         pass
    ...     def gradient(self):
    ...         return None
    >>> model = layered_model((20, 20), spacing=10.0, nbl=4, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[100.0, 20.0]], rec_positions=[[50.0, 20.0]], tn=0.05)
    >>> strategy = Inspect()
    >>> _ = Propagator(model, geom.dt).forward(geom, history=strategy)
    >>> strategy.seen == (geom.nt, model.padded_shape, True)
    True
    """

    def __init__(self, prop: "Propagator", geometry: Geometry, wavelet: Any, *, d_obs: Any = None) -> None:
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
        be = self._prop.backend
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
        src = self._prop._points(self.geometry.src)
        for n in range(state.t, t):
            prev = be.step(cur, prev)
            prev = be.inject(prev, src, self._wavelet[n, ...])
            cur, prev = prev, cur
            self.num_advanced_steps += 1
            if observe is not None:
                observe(n + 1, be.view(cur))
        out._cur, out._prev, out.t = cur, prev, t
        return out


def _cudasim() -> bool:
    return os.environ.get("NUMBA_ENABLE_CUDASIM") == "1"


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
        reference for other namespaces. ``numba`` needs NumPy arrays,
        ``cuda`` CuPy arrays (or NumPy under the CUDA simulator).
    num_threads : int, optional
        ``None`` or 1: single-threaded Numba kernels (default). ``> 1``: the
        ``prange`` kernels with that many threads.

    Notes
    -----
    The reference backend injects and interpolates with dense
    ``(num_points, N)`` matrices and allocates a new field per step: it is
    meant for small grids (tests, torch/array_api_strict checks), not for
    production runs.

    Raises
    ------
    ValueError
        For an unstable ``dt``, an unknown ``kernel`` or a bad ``num_threads``.
    TypeError
        If ``kernel`` does not match the model's array namespace.

    References
    ----------
    J. Virieux and S. Operto, "An overview of full-waveform inversion in
    exploration geophysics", Geophysics 74(6), WCC1-WCC26, 2009.
    C. Cerjan, D. Kosloff, R. Kosloff and M. Reshef, "A nonreflecting boundary
    condition for discrete acoustic and elastic wave equations", Geophysics
    50(4), 705-708, 1985 (the sponge layer).

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
        if num_threads is not None and (int(num_threads) != num_threads or num_threads < 1):
            raise ValueError(f"num_threads must be a positive integer or None, got {num_threads!r}")
        dt = float(dt)
        if not dt > 0:
            raise ValueError(f"dt must be positive, got {dt}")
        check_cfl(model, dt)
        self.model = model
        self.dt = dt
        self.num_threads = None if num_threads is None else int(num_threads)
        xp = model.xp
        self.xp = xp
        self.dtype = model.dtype
        self.device = model.device
        self.ndim = model.ndim
        self.radius = model.space_order // 2
        R = self.radius
        self.storage_shape = tuple(n + 2 * R for n in model.padded_shape)
        self.inner = tuple(slice(R, R + n) for n in model.padded_shape)
        w, c0 = _axis_weights(model.space_order, model.spacing)
        self.weights = w
        self.center = c0
        m_pad = model.pad(model.m)
        self._m_padded = m_pad
        half = model.damp * (dt / 2.0)
        if is_numpy(xp):
            # in place, into the storage arrays: no full-size temporaries
            self.a_storage = np.zeros(self.storage_shape, dtype=m_pad.dtype)
            self.b_storage = np.zeros(self.storage_shape, dtype=m_pad.dtype)
            a_in, b_in = self.a_storage[self.inner], self.b_storage[self.inner]
            np.add(m_pad, half, out=a_in)
            np.divide(dt * dt, a_in, out=a_in)                   # a = dt^2 / (m + damp dt/2)
            np.multiply(m_pad, a_in, out=b_in)
            b_in *= 2.0 / (dt * dt)                              # b = 2 m / (m + damp dt/2)
            self._a_padded = a_in
        else:
            denom = m_pad + half
            self._a_padded = (dt * dt) / denom
            self.a_storage = self._embed(self._a_padded)
            self.b_storage = self._embed((2.0 * m_pad) / denom)
        self.np_dtype = np.float32 if self.dtype == xp.float32 else np.float64
        self.backend = self._make_backend(kernel)
        self._point_cache: dict = {}

    def _embed(self, x: Any) -> Any:
        xp = self.xp
        out = xp.zeros(self.storage_shape, dtype=self.dtype, device=self.device)
        out[self.inner] = x
        return out

    def _make_backend(self, kernel: str) -> Any:
        xp = self.xp
        if kernel == "auto":
            kernel = "numba" if is_numpy(xp) else ("cuda" if is_cupy(xp) else "reference")
        if kernel == "numba":
            if not is_numpy(xp):
                raise TypeError("kernel='numba' needs a model with NumPy arrays")
            parallel = self.num_threads is not None and self.num_threads > 1
            return NumbaBackend(self, parallel)
        if kernel == "cuda":
            if not (is_cupy(xp) or (is_numpy(xp) and _cudasim())):
                raise TypeError("kernel='cuda' needs CuPy arrays (or NumPy under NUMBA_ENABLE_CUDASIM=1)")
            from .kernels_gpu import CudaBackend

            return CudaBackend(self)
        return ReferenceBackend(self)

    def _points(self, interp: PointInterpolator) -> Any:
        key = id(interp)
        hit = self._point_cache.get(key)
        if hit is None or hit[0] is not interp:
            hit = (interp, self.backend.points(interp))
            self._point_cache[key] = hit
        return hit[1]

    # -- sweeps ---------------------------------------------------------------------

    def forward(self, geometry: Geometry, *, wavelet: Any = None, history: Any = None,
                save: bool = False, d_obs: Any = None) -> tuple[Any, Any]:
        """Forward sweep: returns ``(d, U)``, ``d`` of shape (nt, nrec) and
        ``U`` of shape ``(nt, *padded_shape)`` if ``save`` else ``None``
        (``d_obs`` is handed to the history's context)."""
        be = self.backend
        nt = geometry.nt
        wavelet = geometry.wavelet if wavelet is None else wavelet
        src = self._points(geometry.src)
        rec = self._points(geometry.rec)
        if history is None and not save and be.name == "numba":
            return self._fast_sweep(src, wavelet[: nt - 1], rec, nt, reverse=False), None
        ctx = HistoryContext(self, geometry, wavelet, d_obs=d_obs) if history is not None else None
        if history is not None:
            history.setup(ctx)
        saved = [] if save else None
        u, up = be.zeros(), be.zeros()
        d = be.new_record(nt, geometry.nrec)
        with be.threads():
            self._notify(ctx, history, saved, 0, u, up)
            for n in range(nt - 1):
                up = be.step(u, up)
                up = be.inject(up, src, wavelet[n, ...])
                u, up = up, u
                d = be.set_row(d, n + 1, u, rec)
                self._notify(ctx, history, saved, n + 1, u, up)
        if ctx is not None:
            ctx._in_forward = False
            history.end_forward()
        return be.finish_record(d), self._stack(saved)

    def _notify(self, ctx, history, saved, t, u, up) -> None:
        if saved is not None:
            saved.append(self.xp.asarray(self.backend.view(u), copy=True))
        if history is not None:
            ctx._cur, ctx._prev, ctx._t, ctx._in_forward = u, up, t, True
            history.observe(t, self.backend.view(u))

    def _stack(self, saved: list | None) -> Any:
        if saved is None:
            return None
        return self.xp.stack(saved, axis=0)

    def adjoint(self, geometry: Geometry, data: Any, *, history: Any = None,
                save: bool = False) -> tuple[Any, Any]:
        """Adjoint sweep driven by receiver data (nt, nrec): returns
        ``(q, V)``, ``q[n] = S^T v^{n+1}`` (nt, nsrc; ``q[nt-1] = 0``) and the
        adjoint fields ``V`` of shape ``(nt, *padded_shape)`` if ``save``."""
        be = self.backend
        nt = geometry.nt
        src = self._points(geometry.src)
        rec = self._points(geometry.rec)
        if history is None and not save and be.name == "numba":
            rows = self._fast_sweep(rec, data[::-1][: nt - 1], src, nt, reverse=True)
            return rows, None
        saved = [None] * nt if save else None
        v, vp = be.zeros(), be.zeros()
        q = be.new_record(nt, geometry.nsrc)
        with be.threads():
            for k in range(nt - 1, -1, -1):
                vp = be.step(v, vp)
                vp = be.inject(vp, rec, data[k, ...])
                v, vp = vp, v
                if k >= 1:
                    q = be.set_row(q, k - 1, v, src)
                if saved is not None:
                    saved[k] = self.xp.asarray(be.view(v), copy=True)
                if history is not None:
                    history.correlate(k, be.view(v))
        return be.finish_record(q), self._stack(saved)

    def _fast_sweep(self, inj: tuple, inj_vals: Any, rec: tuple, nt: int, *, reverse: bool) -> np.ndarray:
        be = self.backend
        sweep = kernels_cpu.get_sweep(self.ndim, be.parallel)
        u, up = be.zeros(), be.zeros()
        vals = np.ascontiguousarray(inj_vals, dtype=be.dtype)
        rows = np.zeros((nt - 1, rec[0].shape[0]), dtype=be.dtype)
        with be.threads():
            sweep(u, up, *be.args, inj[0], inj[1], vals, rec[0], rec[1], rows)
        out = np.zeros((nt, rec[0].shape[0]), dtype=be.dtype)
        if reverse:
            out[: nt - 1] = rows[::-1]
        else:
            out[1:] = rows
        return out

    def born(self, geometry: Geometry, dm_padded: Any, *, history: Any = None) -> tuple[Any, Any]:
        """Born sweep for a padded-grid perturbation: returns ``(dd, d)``,
        linearized and background shot records (nt, nrec)."""
        be = self.backend
        nt = geometry.nt
        wavelet = geometry.wavelet
        src = self._points(geometry.src)
        rec = self._points(geometry.rec)
        sdm = be.from_padded(dm_padded * (self._a_padded * (1.0 / (self.dt * self.dt))))
        ctx = HistoryContext(self, geometry, wavelet) if history is not None else None
        if history is not None:
            history.setup(ctx)
        u_prev, u, u_next = be.zeros(), be.zeros(), be.zeros()
        du, dup = be.zeros(), be.zeros()
        d = be.new_record(nt, geometry.nrec)
        dd = be.new_record(nt, geometry.nrec)
        with be.threads():
            self._notify(ctx, history, None, 0, u, u_prev)
            for n in range(nt - 1):
                u_next = be.copy(u_next, u_prev)
                u_next = be.step(u, u_next)
                u_next = be.inject(u_next, src, wavelet[n, ...])
                dup = be.step(du, dup)
                dup = be.born_source(dup, u_next, u, u_prev, sdm)
                u_prev, u, u_next = u, u_next, u_prev
                du, dup = dup, du
                d = be.set_row(d, n + 1, u, rec)
                dd = be.set_row(dd, n + 1, du, rec)
                self._notify(ctx, history, None, n + 1, u, u_prev)
        if ctx is not None:
            ctx._in_forward = False
            history.end_forward()
        return be.finish_record(dd), be.finish_record(d)
