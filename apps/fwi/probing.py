"""Probe matrices in time for randomized trace estimation of imaging conditions.

The FWI gradient at a grid point ``x`` is a trace over time,
``g[x] = s * sum_t v[t, x] (D2 u)[t, x] = s * diag(V^T D2 U)[x]``, so a probe
matrix ``Z`` of shape ``(nt, r)`` turns the ``nt``-long histories into ``r``
numbers per point: ``diag(V^T D2 U) ~ (1/r) diag((Z^T V)^T (Z^T D2 U))``.

Probe kinds live in the one registry of :mod:`randla.random`; this module
registers two time-probe kinds there at import, so every kind is drawn by
:func:`randla.random.draw_probes` and :func:`time_probes` accepts any
registered kind (:func:`randla.random.probe_kinds`):

``dft`` (unbiased, orthogonal)
    Random cosine/sine *pairs* of the real DFT basis times random signs in
    time: every pair has a constant diagonal, so ``E[Z Z^T] = r I`` exactly;
    ``r`` must be even.
``data_qr`` (biased, orthogonal; needs ``data=``)
    TimeProbeSeismic's default ``sqrt(r) orth(D D^T S)`` from the shot's
    observed record ``D`` and random signs ``S``. The data span the temporal
    range of the wavefield, so the projection ``Q Q^T`` keeps most of the
    energy: a biased estimate with much lower variance than the unbiased
    kinds at the same ``r`` (exact at ``r = nt``).

Matrices returned here are host (NumPy float64) arrays with the convention
of :mod:`randla.random`: ``E[Z Z^T] = r I`` for the unbiased kinds,
``Z = sqrt(r) Q`` with orthonormal ``Q`` for the projection kinds.

References
----------
M. Louboutin and F. J. Herrmann, "Ultra-low memory seismic inversion with
randomized trace estimation", SEG Technical Program Expanded Abstracts, 2021
(and TimeProbeSeismic.jl).
"""

from __future__ import annotations

import math
from typing import Any, Sequence

import numpy as np

from randla.backend import check_positive_int, from_host, to_host
from randla.random import as_generator, draw_probes, probe_kind, probe_kinds, register_probe_kind

__all__ = [
    "PROBE_KINDS",
    "data_qr_probes",
    "dft_basis",
    "dft_probes",
    "nyquist_subsample",
    "second_difference_adjoint",
    "time_probes",
]

#: The kinds this module registers whose draw needs the shot's record (``data=``).
DATA_KINDS = ("data_qr",)


def _check_dft(n: int, num_probes: int) -> None:
    if num_probes % 2:
        raise ValueError(f"probe='dft' uses cosine/sine pairs: num_probes must be even, got {num_probes}")
    if num_probes > dft_limit(n):
        raise ValueError(f"probe='dft' has only {(n - 1) // 2} cosine/sine pairs for n = {n} samples; "
                         f"num_probes = {num_probes} is too large")


def dft_limit(n: int, /) -> int:
    """Most columns of ``dft`` probes on ``n`` samples (all cosine/sine pairs)."""
    return 2 * ((n - 1) // 2)


def _host(data: Any, name: str) -> np.ndarray:
    d = np.asarray(data if isinstance(data, np.ndarray) else to_host(data), dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"{name} must be a 2-D (nt, nrec) record, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError(f"{name} contains NaN or infinity")
    return d


def _dft(n: int, num_probes: int, gen: np.random.Generator) -> np.ndarray:
    signs = 2.0 * gen.integers(0, 2, size=n) - 1.0
    freqs = np.sort(gen.choice(np.arange(1, (n - 1) // 2 + 1), size=num_probes // 2, replace=False))
    phase = 2.0 * math.pi * np.arange(n, dtype=np.float64)[:, None] * freqs[None, :] / n
    z = np.empty((n, num_probes))
    z[:, 0::2] = np.cos(phase)
    z[:, 1::2] = np.sin(phase)
    return math.sqrt(n) * math.sqrt(2.0 / n) * signs[:, None] * z


def _data_qr(d: np.ndarray, num_probes: int, gen: np.random.Generator) -> np.ndarray:
    n = d.shape[0]
    if num_probes > n:
        raise ValueError(f"probe='data_qr' needs num_probes <= {n} (the record's time samples), got {num_probes}")
    scale = float(np.max(np.abs(d)))
    if scale == 0.0:
        raise ValueError("data is identically zero: data_qr probes need the shot's observed data")
    signs = 2.0 * gen.integers(0, 2, size=(n, num_probes)) - 1.0
    d = d / scale
    q, _ = np.linalg.qr(d @ (d.T @ signs))
    return math.sqrt(num_probes) * q


def _finish(z: np.ndarray, xp: Any, dtype: Any, device: Any) -> Any:
    if xp is None:
        return z if dtype is None else z.astype(dtype, copy=False)
    return from_host(z, xp, dtype=xp.float64 if dtype is None else dtype, device=device)


def _draw_dft(n: int, num_probes: int, /, *, rng: Any = None, xp: Any = None, dtype: Any = None,
              device: Any = None, native: bool = False) -> Any:
    """The registry's ``dft`` draw (always on the host, then moved once)."""
    n, num_probes = check_positive_int(n, "n"), check_positive_int(num_probes, "num_probes")
    _check_dft(n, num_probes)
    return _finish(_dft(n, num_probes, as_generator(rng)), xp, dtype, device)


def _draw_data_qr(n: int, num_probes: int, /, *, data: Any = None, rng: Any = None, xp: Any = None,
                  dtype: Any = None, device: Any = None, native: bool = False) -> Any:
    """The registry's ``data_qr`` draw: needs ``data`` of ``n`` time samples."""
    n, num_probes = check_positive_int(n, "n"), check_positive_int(num_probes, "num_probes")
    if data is None:
        raise ValueError("probe='data_qr' needs the shot's observed data (data=)")
    d = _host(data, "data")
    if d.shape[0] != n:
        raise ValueError(f"data has {d.shape[0]} time samples, the probes need n = {n}")
    return _finish(_data_qr(d, num_probes, as_generator(rng)), xp, dtype, device)


register_probe_kind("dft", _draw_dft, unbiased=True, orthogonal=True, replace=True)
register_probe_kind("data_qr", _draw_data_qr, unbiased=False, orthogonal=True, replace=True)

#: Probe kinds registered when :mod:`randla.apps.fwi` is imported (any
#: registered kind works: :func:`randla.random.probe_kinds` is the live list).
PROBE_KINDS = probe_kinds()

#: Registered kinds whose columns are orthogonal (``num_probes <= n``).
ORTHOGONAL_KINDS = probe_kinds(orthogonal=True)


def dft_probes(n: int, num_probes: int, /, *, rng: Any = None) -> np.ndarray:
    """Random real-DFT cosine/sine pairs with random signs (unbiased).

    ``draw_probes("dft", n, num_probes, rng=rng)``: ``sqrt(n) * signs[:, None] *
    [cos_f, sin_f, ...]`` with orthonormal columns ``sqrt(2/n) cos(2 pi f t / n)``,
    ``sqrt(2/n) sin(...)`` and frequencies ``f`` drawn without replacement from
    ``1 .. (n-1)//2``, so ``E[Z Z^T] = num_probes I``.

    Parameters
    ----------
    n : int
        Number of time samples.
    num_probes : int
        Even, at most ``2 * ((n - 1) // 2)``.
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray, shape (n, num_probes)

    Raises
    ------
    ValueError
        If ``num_probes`` is odd or too large.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import dft_probes
    >>> z = dft_probes(9, 8, rng=0)          # all 4 pairs: orthogonal columns
    >>> bool(np.allclose(z.T @ z, 9 * np.eye(8)))
    True
    """
    return draw_probes("dft", n, num_probes, rng=rng)


def data_qr_probes(data: Any, num_probes: int, /, *, rng: Any = None) -> np.ndarray:
    """TimeProbeSeismic's data-adapted probes ``sqrt(r) orth(D D^T S)``.

    Parameters
    ----------
    data : array, shape (n, nrec)
        Observed shot record on the probes' time grid (any backend; copied to
        the host explicitly, it is small).
    num_probes : int
        ``r <= n``.
    rng : int, numpy.random.Generator or None
        Draws the random signs ``S`` (``n x r``).

    Returns
    -------
    ndarray, shape (n, num_probes)
        ``sqrt(r) Q`` with ``Q`` the orthonormal factor of ``D (D^T S)``: a
        projection onto the data's dominant temporal range (biased, low
        variance); ``r = n`` gives the exact gradient.

    Raises
    ------
    ValueError
        If ``data`` is not 2-D, is identically zero, is not finite, or
        ``num_probes > n``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import data_qr_probes
    >>> z = data_qr_probes(np.random.default_rng(0).standard_normal((50, 3)), 4, rng=0)
    >>> bool(np.allclose(z.T @ z, 4 * np.eye(4)))
    True
    """
    num_probes = check_positive_int(num_probes, "num_probes")
    return _data_qr(_host(data, "data"), num_probes, as_generator(rng))


def time_probes(probe: str, n: int, num_probes: int, /, *, rng: Any = None, data: Any = None) -> np.ndarray:
    """Draw an ``(n, num_probes)`` probe matrix in time (host float64).

    Parameters
    ----------
    probe : str
        A registered kind (:func:`randla.random.probe_kinds`), e.g.
        ``"rademacher"``, ``"gaussian"``, ``"orthonormal"``, ``"dft"``,
        ``"data_qr"``.
    n : int
        Number of time samples the probes act on.
    num_probes : int
        ``1 <= num_probes <= n`` (probing saves memory only below ``n``).
    rng : int, numpy.random.Generator or None
    data : array, shape (n, nrec), optional
        Observed record on the same time grid; needed by ``data_qr``.

    Returns
    -------
    ndarray, shape (n, num_probes)

    Raises
    ------
    ValueError
        For an unknown kind, ``num_probes`` out of range, or ``data_qr``
        without data or with data of another length.

    Examples
    --------
    >>> from randla.apps.fwi import time_probes
    >>> time_probes("rademacher", 100, 8, rng=0).shape
    (100, 8)
    """
    entry = probe_kind(probe, argument="probe")
    n, num_probes = check_positive_int(n, "n"), check_positive_int(num_probes, "num_probes")
    return _time_probes(entry, n, num_probes, as_generator(rng), data)


def _time_probes(entry: Any, n: int, num_probes: int, gen: np.random.Generator, data: Any) -> np.ndarray:
    if num_probes > n:
        raise ValueError(f"num_probes = {num_probes} exceeds the number of time samples n = {n} "
                         "(probing saves memory only for num_probes < n)")
    options = {"data": data} if entry.name in DATA_KINDS else {}
    return np.asarray(to_host(draw_probes(entry.name, n, num_probes, rng=gen, **options)), dtype=np.float64)


def dft_basis(frequencies: Sequence[float], times: Any, /) -> np.ndarray:
    """Orthonormal-normalised real DFT columns at given frequencies.

    Parameters
    ----------
    frequencies : sequence of float
        Frequencies in Hz, ``0 <= f <= 1 / (2 dt)`` with ``dt`` the spacing
        of ``times``; distinct.
    times : array-like, shape (n,)
        Uniformly spaced sample times (s).

    Returns
    -------
    ndarray, shape (n, ncols)
        For each frequency a cosine and a sine column scaled by ``sqrt(2/n)``;
        at ``f = 0`` and at the Nyquist frequency only the cosine (the sine
        vanishes), scaled by ``1/sqrt(n)``. With the ``n//2 + 1`` frequencies
        ``k / (n dt)`` the columns form an orthonormal basis (``ncols = n``).

    Raises
    ------
    ValueError
        For negative, repeated or above-Nyquist frequencies.

    References
    ----------
    P. A. Witte et al., Geophysics 84(5), R655-R672, 2019.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import dft_basis
    >>> t = 0.01 * np.arange(8)
    >>> f = np.arange(5) / (8 * 0.01)            # all frequencies
    >>> b = dft_basis(f, t)
    >>> b.shape, bool(np.allclose(b.T @ b, np.eye(8)))
    ((8, 8), True)
    """
    t = np.asarray(times, dtype=np.float64).ravel()
    n = t.size
    if n < 2:
        raise ValueError("times needs at least 2 samples")
    dt = float(t[1] - t[0])
    freqs = check_frequencies(frequencies, dt)
    nyq = 0.5 / dt
    tol = 1e-9 * nyq
    cols = []
    for f in freqs:
        phase = 2.0 * math.pi * f * (t - t[0])
        if f <= tol or abs(f - nyq) <= tol:
            cols.append(np.cos(phase) / math.sqrt(n))
        else:
            cols.append(math.sqrt(2.0 / n) * np.cos(phase))
            cols.append(math.sqrt(2.0 / n) * np.sin(phase))
    return np.stack(cols, axis=1)


def check_frequencies(frequencies: Any, dt: float | None, /) -> np.ndarray:
    """Validate DFT frequencies (finite, >= 0, distinct, and at most the
    Nyquist frequency ``1/(2 dt)`` unless ``dt`` is None)."""
    try:
        freqs = np.asarray(frequencies, dtype=np.float64).ravel()
    except (TypeError, ValueError):
        raise TypeError("frequencies must be a sequence of numbers (Hz)") from None
    if freqs.size == 0:
        raise ValueError("frequencies must hold at least one frequency")
    if not np.all(np.isfinite(freqs)):
        raise ValueError("frequencies must be finite")
    if np.any(freqs < 0):
        raise ValueError(f"frequencies must be >= 0 Hz, got {freqs[freqs < 0].tolist()}")
    if np.unique(freqs).size != freqs.size:
        raise ValueError("frequencies must be distinct")
    if dt is None:
        return freqs
    nyq = 0.5 / dt
    if np.any(freqs > nyq * (1 + 1e-9)):
        raise ValueError(
            f"frequencies above the Nyquist frequency {nyq:g} Hz of the time step "
            f"{dt:g} s: {freqs[freqs > nyq * (1 + 1e-9)].tolist()}"
        )
    return freqs


def second_difference_adjoint(z: np.ndarray, /) -> np.ndarray:
    """``D2^T z`` for the seam's second difference (host arrays).

    ``(D2 u)[t] = u[t] - 2 u[t-1] + u[t-2]`` with ``u[-1] = u[-2] = 0``, so
    ``(D2^T z)[t] = z[t] - 2 z[t+1] + z[t+2]`` with ``z[n] = z[n+1] = 0``
    (exactly, including the last two rows). Folding it into the forward
    probes lets a strategy accumulate ``u`` instead of ``u_tt``:
    ``Z^T D2 U = (D2^T Z)^T U``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import second_difference_adjoint
    >>> n = 6
    >>> d2 = np.eye(n) - 2 * np.eye(n, k=-1) + np.eye(n, k=-2)
    >>> z = np.random.default_rng(0).standard_normal((n, 2))
    >>> bool(np.allclose(second_difference_adjoint(z), d2.T @ z))
    True
    """
    z = np.asarray(z, dtype=np.float64)
    out = z.copy()
    out[:-1] -= 2.0 * z[1:]
    out[:-2] += z[2:]
    return out


def nyquist_subsample(traces: Any, dt: float, /, *, energy_tol: float = 1e-6) -> int:
    """Largest time stride that samples band-limited traces at their Nyquist rate.

    The highest significant frequency ``f_max`` is the smallest frequency
    above which the traces hold at most ``energy_tol`` of their energy. A
    product of two fields band-limited to ``f_max`` has no energy at or above
    ``2 f_max``, so summing it every ``k``-th step with ``1/(k dt) > 2 f_max``
    reproduces the full time sum (no aliasing onto zero frequency):
    ``k = max(1, ceil(1 / (2 f_max dt)) - 1)``.

    Parameters
    ----------
    traces : array, shape (nt,) or (nt, ntraces)
        Source wavelet or shot record (copied to the host; small).
    dt : float
        Sampling interval (s).
    energy_tol : float, default 1e-6
        Relative energy allowed above ``f_max``.

    Returns
    -------
    int
        The stride ``k >= 1`` (1 for all-zero or broadband traces).

    Raises
    ------
    ValueError
        For non-positive ``dt`` or ``energy_tol`` outside ``(0, 1)``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.wave import ricker
    >>> from randla.apps.fwi import nyquist_subsample
    >>> t = np.arange(1000) * 1e-3
    >>> nyquist_subsample(ricker(t, f0=10.0), 1e-3)  # f_max ~ 31 Hz: 1/(16 dt) = 62.5 Hz > 2 f_max
    16
    """
    dt = float(dt)
    if not (math.isfinite(dt) and dt > 0):
        raise ValueError(f"dt must be positive, got {dt}")
    if not 0.0 < energy_tol < 1.0:
        raise ValueError(f"energy_tol must be in (0, 1), got {energy_tol}")
    x = np.asarray(to_host(traces) if not isinstance(traces, np.ndarray) else traces, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[0] < 2:
        raise ValueError(f"traces must be (nt,) or (nt, ntraces) with nt >= 2, got shape {x.shape}")
    power = np.sum(np.abs(np.fft.rfft(x, axis=0)) ** 2, axis=1)
    total = float(power.sum())
    if total == 0.0 or not math.isfinite(total):
        return 1
    above = total - np.cumsum(power)  # energy strictly above bin i
    idx = int(np.argmax(above <= energy_tol * total))
    freqs = np.fft.rfftfreq(x.shape[0], d=dt)
    f_max = max(float(freqs[idx]), float(freqs[1]))
    return max(1, int(math.ceil(1.0 / (2.0 * f_max * dt))) - 1)
