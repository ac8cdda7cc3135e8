"""Time-compressed wavefield-history strategies: probing and on-the-fly DFT.

Both strategies plug into the engine's seam
(:class:`randla.apps.wave.WavefieldHistory`): during the forward sweep they
accumulate ``Ubar = Z^T T U`` (``r x N``, ``T`` the time filter of each
channel the imaging condition needs, e.g. the seam's second difference), and
during the adjoint sweep they either correlate on the fly (cross-correlation:
``image += (Z[t] @ Ubar) * v^t``, no ``Vbar`` is stored) or accumulate
``Vbar = Z^T V`` for conditions with spatial operators (ISIC). Memory is
``r N`` (``2 r N`` / ``3 r N`` for ISIC) plus one ``block x N`` buffer instead
of the ``nt N`` of full storage.

Three things make the accumulation fast (:mod:`randla.apps.fwi.accumulate`):

* **Blocking.** ``block`` time rows are buffered and applied with one GEMM.
* **Summation by parts.** The seam's image is ``s diag(V^T D2 U)``; since
  ``Z^T D2 U = (D2^T Z)^T U`` the second difference is folded into the
  forward probes (exactly, boundary rows included: ``D2`` is the full
  lower-triangular matrix with ``u^{-1} = u^{-2} = 0``), so only ``u`` is
  accumulated, never ``u_tt``. Folding does not touch ``E[Z Z^T]``, so the
  estimator stays unbiased.
* **Time subsampling** (``subsample = k``). Only the steps
  ``t_j = o + j k`` enter: the forward rows are ``(D2 U)[t_j]`` (three taps
  each), the adjoint rows ``V[t_j]``, and both sides use ``sqrt(k) Zc``
  with ``Zc`` drawn on the coarse grid. The offset ``o`` is drawn uniformly
  in ``[0, k)``: every ``t`` is sampled with probability ``1/k`` and weight
  ``k``, so the effective probe ``Z = sqrt(k) S_o^T Zc`` still has
  ``E[Z Z^T] = r I`` and the estimator stays **exactly unbiased** for any
  fields. (Piecewise-constant or interpolated coarse probes would not: they
  give ``E[Z Z^T] = r K`` with a smoothing kernel ``K`` and estimate a
  low-passed correlation.) When the fields are band-limited below ``f_max``
  and ``1/(k dt) > 2 f_max`` (the data's Nyquist rate,
  :func:`~randla.apps.fwi.nyquist_subsample`, ``subsample="auto"``) the
  subsampled time sum equals the full one for every offset, so subsampling
  adds no variance and divides the accumulation cost by ``k``.

References
----------
M. Louboutin and F. J. Herrmann, "Ultra-low memory seismic inversion with
randomized trace estimation", SEG Technical Program Expanded Abstracts, 2021;
TimeProbeSeismic.jl.
"""

from __future__ import annotations

import math
import warnings
from typing import Any, ClassVar, Sequence

import numpy as np

from randla.backend import check_positive_int, nbytes, to_host
from randla.apps.wave import ImagingCondition, WavefieldHistory
from randla.random import as_generator, probe_kind

from .accumulate import Accumulator, Correlator, RowStream, TimeMap, blas_threads
from .probing import (
    DATA_KINDS,
    _time_probes,
    check_frequencies,
    dft_basis,
    dft_limit,
    nyquist_subsample,
    second_difference_adjoint,
)

__all__ = ["OnTheFlyDFT", "Probed"]


def _check_block(block: Any) -> int | str:
    if isinstance(block, str) and block == "auto":
        return block
    return check_positive_int(block, "block")


def auto_block(num_probes: int, /) -> int:
    """Default rows per GEMM: ``num_probes // 2`` clipped to ``[4, 32]`` (the
    row buffer then costs at most half the accumulator for ``r >= 8``)."""
    return int(min(32, max(4, num_probes // 2)))


def _check_subsample(subsample: Any) -> int | str:
    if isinstance(subsample, str):
        if subsample != "auto":
            raise ValueError(f"subsample must be a positive integer or 'auto', got {subsample!r}")
        return subsample
    return check_positive_int(subsample, "subsample")


class _TimeCompressed(WavefieldHistory):
    """Shared machinery of :class:`Probed` and :class:`OnTheFlyDFT`."""

    exact: ClassVar[bool] = False

    def __init__(self, *, imaging: ImagingCondition | None, block: int | str, subsample: int | str,
                 blas_threads: int | None) -> None:
        super().__init__(imaging=imaging)
        self.blas_threads = None if blas_threads is None else check_positive_int(blas_threads, "blas_threads")
        self.block = _check_block(block)
        self.subsample = _check_subsample(subsample)
        self._reset()

    def _reset(self) -> None:
        self.probes = None
        self.stride = None
        self.offset = None
        self._forward: list = []
        self._channels: dict = {}
        self._buffers: list = []
        self._adjoint = None
        self._adj_stream = None
        self._state = "idle"

    def bind(self, d_obs: Any, /, *, geometry: Any = None) -> "_TimeCompressed":
        """Deprecated, does nothing: the observed data now reach the strategy
        through the engine's context (``context.d_obs``, set by
        :func:`~randla.apps.wave.gradient` and the fwi objectives). Returns
        ``self``; removed in the next release."""
        warnings.warn("bind() is deprecated and ignored: the observed data reach the strategy through "
                      "the engine's context (context.d_obs)", DeprecationWarning, stacklevel=2)
        return self

    # -- hooks ---------------------------------------------------------------------

    def _draw(self, context: Any, stride: int, offset: int, num_rows: int) -> np.ndarray:
        raise NotImplementedError  # pragma: no cover - abstract

    def _offset(self, stride: int) -> int:
        return 0

    def _min_rows(self) -> int:
        """Fewest kept time samples the probes need (``subsample="auto"``)."""
        return 1

    def _stride(self, context: Any) -> int:
        if self.subsample != "auto":
            return int(self.subsample)
        traces = context.d_obs if context.d_obs is not None else context.geometry.wavelet
        nyquist = nyquist_subsample(traces, context.dt)
        # keep at least as many samples as probes: every offset keeps >= nt // k rows
        return max(1, min(nyquist, int(context.nt) // self._min_rows()))

    # -- the seam ------------------------------------------------------------------

    def setup(self, context: Any) -> None:
        super().setup(context)
        self._reset()
        nt = int(context.nt)
        stride = min(self._stride(context), nt)
        offset = self._offset(stride)
        num_rows = len(range(offset, nt, stride))
        with blas_threads(self.blas_threads):
            z = np.asarray(self._draw(context, stride, offset, num_rows), dtype=np.float64)
        self.probes, self.stride, self.offset = z, stride, offset
        r = z.shape[1]
        xp, dtype, device = context.xp, context.dtype, context.device
        size = math.prod(context.shape)
        block = auto_block(r) if self.block == "auto" else self.block
        block = min(block, num_rows)
        weight = math.sqrt(stride)
        channels = tuple(self.imaging.forward_channels)
        if stride == 1:
            cols = [second_difference_adjoint(z) if ch == "d2" else z for ch in channels]
            groups = [(TimeMap.identity(nt), np.concatenate(cols, axis=1), channels)]
            adj_map, adj_probes = TimeMap.identity(nt), z
        else:
            groups = [(TimeMap.sampled(nt, stride, offset, second_difference=(ch == "d2")), weight * z, (ch,))
                      for ch in channels]
            adj_map, adj_probes = TimeMap.sampled(nt, stride, offset), weight * z
        self._buffers = [xp.zeros((block, size), dtype=dtype, device=device) for _ in groups]
        for (tmap, probes, names), buf in zip(groups, self._buffers):
            acc = Accumulator(probes, size, xp=xp, dtype=dtype, device=device, threads=self.blas_threads)
            stream = RowStream(tmap, reverse=False, buffer=buf, xp=xp, on_flush=acc)
            self._forward.append((stream, acc))
            for i, name in enumerate(names):
                self._channels[name] = (acc, slice(i * r, (i + 1) * r))
        self._adj_map, self._adj_probes, self._num_probes = adj_map, adj_probes, r
        self._state = "forward"

    def observe(self, t: int, u: Any, /) -> None:
        self._require_context()
        if self._state != "forward":
            raise RuntimeError("observe() outside the forward sweep (call setup first)")
        for stream, _ in self._forward:
            stream.push(t, u)

    def end_forward(self) -> None:
        ctx = self._require_context()
        for stream, _ in self._forward:
            stream.finish()
        xp = ctx.xp
        buf = self._buffers[0]
        self._buffers = [buf]
        if self.imaging.pointwise:
            acc, sl = self._channels["d2"]
            self._adjoint = Correlator(self._adj_probes, acc.acc[sl, ...], block=buf.shape[0], xp=xp,
                                       dtype=ctx.dtype, device=ctx.device, threads=self.blas_threads)
        else:
            self._adjoint = Accumulator(self._adj_probes, buf.shape[1], xp=xp, dtype=ctx.dtype,
                                        device=ctx.device, threads=self.blas_threads)
        self._adj_stream = RowStream(self._adj_map, reverse=True, buffer=buf, xp=xp, on_flush=self._adjoint)
        # forward probe rows are no longer needed
        for _, acc in self._forward:
            acc.probes = acc.probes[:0, ...]
        self._state = "adjoint"

    def correlate(self, t: int, v: Any, /) -> None:
        self._require_context()
        if self._state != "adjoint":
            raise RuntimeError("correlate() before end_forward() (the forward sweep must run first)")
        self._adj_stream.push(t, v)
        if t == 0:
            self._adj_stream.finish()
            self._state = "done"

    def compressed_fields(self) -> tuple[dict, dict]:
        """The compressed histories ``({channel: Ubar}, {channel: Vbar})``,
        each ``(r, *context.shape)`` (``Vbar`` is empty for pointwise
        conditions, which never store it)."""
        ctx = self._require_context()
        shape = (self._num_probes,) + tuple(ctx.shape)
        xp = ctx.xp
        fwd = {name: xp.reshape(acc.acc[sl, ...], shape) for name, (acc, sl) in self._channels.items()}
        adj = {}
        if isinstance(self._adjoint, Accumulator):
            adj["id"] = xp.reshape(self._adjoint.acc, shape)
        return fwd, adj

    def gradient(self) -> Any:
        ctx = self._require_context()
        if self._state != "done":
            raise RuntimeError("gradient() before the adjoint sweep reached t = 0")
        weight = 1.0 / self._num_probes
        xp = ctx.xp
        if self.imaging.pointwise:
            corr = xp.reshape(self._adjoint.image, tuple(ctx.shape))
            return self.imaging.finalize((ctx.imaging_scale * weight) * corr, context=ctx)
        fwd, adj = self.compressed_fields()
        return self.imaging.combine(fwd, adj, context=ctx, weight=weight)

    @property
    def num_probes(self) -> int:
        """Columns of the probe matrix: those of the current shot after
        :meth:`setup`, the requested number before."""
        return int(self.probes.shape[1]) if self.probes is not None else int(self._requested)

    @property
    def nbytes(self) -> int:
        """Bytes held: accumulators, the row buffer, probe rows, the image and scratch."""
        if self.context is None:
            return 0
        total = sum(nbytes(b) for b in self._buffers)
        total += sum(acc.nbytes for _, acc in self._forward)
        if self._adjoint is not None:
            total += self._adjoint.nbytes
        return int(total)


_NO_PROBE = "rademacher"


class Probed(_TimeCompressed):
    """Randomized trace estimation of the imaging condition (probing in time).

    The forward sweep accumulates ``Ubar = Z^T D2 U`` (``r x N``), the adjoint
    sweep correlates ``Z^T V`` against it; the image is
    ``(s/r) diag((Z^T V)^T (Z^T D2 U))``, an unbiased estimate of the exact
    ``s diag(V^T D2 U)`` for the unbiased kinds (``E[Z Z^T] = r I``). The same
    ``Z`` (drawn in every :meth:`setup`) serves both sweeps. See the module
    docstring for blocking, summation by parts and time subsampling.

    Parameters
    ----------
    num_probes : int
        ``r >= 1``; at most ``nt`` (and at most the number of kept time
        samples for the orthogonal kinds).
    probe : str, default "rademacher"
        Probe distribution: any kind of :func:`randla.random.probe_kinds`
        (``rademacher``, ``gaussian``, ``orthonormal``, ``dft``, ``data_qr``,
        ...). ``data_qr`` is biased but low-variance and builds its probes from
        the shot's observed record (``context.d_obs``: available in
        :func:`~randla.apps.wave.gradient` and the multi-shot objectives).
    rng : int, numpy.random.Generator or None
        Source of the probes and of the subsampling offset.
    imaging : ImagingCondition, optional
        :class:`~randla.apps.wave.CrossCorrelation` (default, the gradient),
        :class:`~randla.apps.wave.ISIC`, :class:`~randla.apps.wave.KSpaceFilter`.
    block : int or "auto", default "auto"
        Time rows per GEMM (``block * N`` values of buffer); ``"auto"``:
        ``num_probes // 2`` clipped to ``[4, 32]``.
    subsample : int or "auto", default 1
        Keep every ``k``-th time step (random offset, unbiased); ``"auto"``
        takes the Nyquist rate of the shot's record (or of the wavelet when
        there is none, :func:`~randla.apps.fwi.nyquist_subsample`), capped so
        that at least ``num_probes`` samples remain.
    blas_threads : int or None, default 1
        BLAS threads of the accumulation GEMMs (NumPy path); ``None`` leaves
        BLAS alone.
    kind : str, optional
        Deprecated alias of ``probe``.

    Attributes
    ----------
    probes : ndarray (num_rows, r)
        The coarse probe matrix of the current shot (host).
    stride, offset : int
        Time subsampling of the current shot.

    Raises
    ------
    ValueError, TypeError
        For a bad ``num_probes``, unknown ``probe``, bad ``block`` or
        ``subsample``; at :meth:`setup` for ``num_probes > nt`` (or above the
        kept samples for orthogonal kinds) and ``data_qr`` without ``d_obs``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, forward, gradient, layered_model, smooth
    >>> from randla.apps.fwi import Probed
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> d_obs, m0 = forward(model, geom), model.with_vp(smooth(model.vp, sigma=3.0))
    >>> _, g = gradient(m0, geom, d_obs)
    >>> _, g_r = gradient(m0, geom, d_obs, history=Probed(geom.nt, "orthonormal", rng=0))  # r = nt: exact
    >>> bool(np.allclose(g_r, g, rtol=1e-8, atol=1e-8 * abs(g).max()))
    True
    """

    def __init__(self, num_probes: int, probe: str | None = None, *args: Any, rng: Any = None,
                 imaging: ImagingCondition | None = None, block: int | str = "auto",
                 subsample: int | str = 1, blas_threads: int | None = 1, kind: str | None = None) -> None:
        if args:
            if len(args) > 1:
                raise TypeError(f"Probed takes at most 3 positional arguments, got {2 + len(args)}")
            if rng is not None:
                raise TypeError("Probed got rng both positionally and as a keyword")
            warnings.warn("passing rng positionally to Probed is deprecated; use Probed(..., rng=...)",
                          DeprecationWarning, stacklevel=2)
            rng = args[0]
        if kind is not None:
            if probe is not None:
                raise TypeError("Probed got both probe= and its deprecated alias kind=")
            warnings.warn("Probed(kind=...) is deprecated; use probe=...", DeprecationWarning, stacklevel=2)
            probe = kind
        probe = _NO_PROBE if probe is None else probe
        self._requested = check_positive_int(num_probes, "num_probes")
        self.probe = probe_kind(probe, argument="probe").name
        super().__init__(imaging=imaging, block=block, subsample=subsample, blas_threads=blas_threads)
        self._rng = as_generator(rng)
        if type(self) is Probed:
            # spawn() rebuilds from the normalised arguments (no deprecated forms)
            self._arguments = ((self._requested, self.probe), {
                "rng": rng, "imaging": imaging, "block": block, "subsample": subsample,
                "blas_threads": blas_threads})

    @property
    def kind(self) -> str:
        """Deprecated alias of :attr:`probe`."""
        warnings.warn("Probed.kind is deprecated; use Probed.probe", DeprecationWarning, stacklevel=2)
        return self.probe

    def _offset(self, stride: int) -> int:
        return int(self._rng.integers(0, stride)) if stride > 1 else 0

    def _min_rows(self) -> int:
        r = self._requested
        return r + 2 if self.probe == "dft" else r

    def _draw(self, context: Any, stride: int, offset: int, num_rows: int) -> np.ndarray:
        r, nt = self._requested, int(context.nt)
        if r > nt:
            raise ValueError(f"num_probes = {r} exceeds the number of time steps nt = {nt}")
        entry = probe_kind(self.probe, argument="probe")
        limit = num_probes_limit(self.probe, num_rows)
        if entry.orthogonal and r > limit:
            raise ValueError(f"probe={self.probe!r} needs num_probes <= {limit} (the {num_rows} time "
                             f"samples kept with subsample={stride}), got {r}")
        data = None
        if self.probe in DATA_KINDS:
            if context.d_obs is None:
                raise ValueError(
                    f"probe={self.probe!r} builds its probes from the shot's observed data, and this sweep "
                    "has none (context.d_obs is None): use it through gradient() or the fwi objectives, "
                    "not jacobian_adjoint() or gauss_newton()"
                )
            data = to_host(context.d_obs)[offset::stride]
        return _time_probes(entry, num_rows, r, self._rng, data)

    def __repr__(self) -> str:
        return (f"Probed({self._requested}, probe={self.probe!r}, imaging={self.imaging!r}, "
                f"block={self.block!r}, subsample={self.subsample!r})")


def num_probes_limit(probe: str, num_rows: int) -> int:
    """Largest ``num_probes`` a kind supports on ``num_rows`` time samples."""
    return dft_limit(num_rows) if probe == "dft" else num_rows


class OnTheFlyDFT(_TimeCompressed):
    """On-the-fly discrete Fourier transform of the wavefields (Witte et al. 2019).

    The forward sweep accumulates the real and imaginary parts of the DFT of
    ``D2 u`` at the chosen frequencies (``2 nf`` real fields of ``N`` values:
    cosine and sine columns, one column at 0 Hz and at Nyquist), the adjoint
    sweep correlates the DFT of ``v`` against them. The probe matrix is the
    orthonormal real DFT basis ``F`` at these frequencies scaled by
    ``sqrt(ncols)``, so the image is ``s diag(V^T F F^T D2 U)``: a projection
    on the selected frequencies (biased, deterministic); all ``nt//2 + 1``
    frequencies ``k / (nt dt)`` give the exact gradient.

    Parameters
    ----------
    frequencies : sequence of float
        Distinct frequencies (Hz), ``0 <= f <= 1/(2 k dt)`` (Nyquist of the
        possibly subsampled time step).
    imaging, block, blas_threads
        As :class:`Probed`.
    subsample : int, default 1
        Accumulate every ``k``-th step (offset 0, weight ``k``; deterministic).

    Raises
    ------
    ValueError
        For negative or repeated frequencies (at construction) and
        frequencies above Nyquist (at :meth:`setup`, when ``dt`` is known).

    References
    ----------
    P. A. Witte, M. Louboutin, F. Luporini, G. J. Gorman and F. J. Herrmann,
    "Compressive least-squares migration with on-the-fly Fourier transforms",
    Geophysics 84(5), R655-R672, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import Geometry, forward, gradient, layered_model, smooth
    >>> from randla.apps.fwi import OnTheFlyDFT
    >>> model = layered_model((40, 30), spacing=10.0, nbl=8, dtype=np.float64)
    >>> geom = Geometry(model, src_positions=[[200.0, 20.0]],
    ...                 rec_positions=[[x, 20.0] for x in range(0, 400, 20)], tn=0.2)
    >>> d_obs, m0 = forward(model, geom), model.with_vp(smooth(model.vp, sigma=3.0))
    >>> _, g = gradient(m0, geom, d_obs)
    >>> every = np.arange(geom.nt // 2 + 1) / (geom.nt * geom.dt)     # all frequencies
    >>> _, g_dft = gradient(m0, geom, d_obs, history=OnTheFlyDFT(every))
    >>> bool(np.allclose(g_dft, g, rtol=1e-8, atol=1e-8 * abs(g).max()))
    True
    """

    def __init__(self, frequencies: Sequence[float], *, imaging: ImagingCondition | None = None,
                 block: int | str = "auto", subsample: int = 1, blas_threads: int | None = 1) -> None:
        freqs = check_frequencies(frequencies, None)
        self._requested = 2 * freqs.size - int(np.count_nonzero(freqs == 0.0))
        if subsample == "auto":
            raise ValueError("OnTheFlyDFT needs an integer subsample (its frequencies fix the band)")
        super().__init__(imaging=imaging, block=block, subsample=subsample, blas_threads=blas_threads)
        self.frequencies = freqs

    def _draw(self, context: Any, stride: int, offset: int, num_rows: int) -> np.ndarray:
        times = (offset + stride * np.arange(num_rows)) * float(context.dt)
        basis = dft_basis(self.frequencies, times)  # validates Nyquist of the kept steps
        if basis.shape[1] > num_rows:
            raise ValueError(f"{basis.shape[1]} DFT columns exceed the {num_rows} time samples")
        return math.sqrt(basis.shape[1]) * basis

    def __repr__(self) -> str:
        return (f"OnTheFlyDFT({len(self.frequencies)} frequencies, imaging={self.imaging!r}, "
                f"block={self.block!r}, subsample={self.subsample})")
