"""Probe matrices in time for randomized trace estimation of imaging conditions.

The FWI gradient at a grid point ``x`` is a trace over time,
``g[x] = s * sum_t v[t, x] (D2 u)[t, x] = s * diag(V^T D2 U)[x]``, so a probe
matrix ``Z`` of shape ``(nt, r)`` turns the ``nt``-long histories into ``r``
numbers per point: ``diag(V^T D2 U) ~ (1/r) diag((Z^T V)^T (Z^T D2 U))``.

Every matrix returned here is a host (NumPy float64) array normalised to the
convention of :mod:`randla.random`: for the *unbiased* kinds ``E[Z Z^T] = r I``
(Hutchinson), so the estimate is unbiased whatever the fields are; for the
*projection* kinds (``data_qr`` and the deterministic DFT basis)
``Z = sqrt(r) Q`` with orthonormal ``Q``, so ``(1/r) Z Z^T = Q Q^T`` is an
orthogonal projector and the estimate is exact when ``r`` reaches the number
of time samples.

Kinds
-----
``rademacher``, ``gaussian``, ``orthonormal``
    Drawn by :func:`randla.random.draw_probes` (unbiased).
``dft``
    Random cosine/sine *pairs* of the real DFT basis times random signs in
    time: ``Z = sqrt(n) D [cos_f, sin_f]_{f in S}``. Because
    ``cos^2 + sin^2 = 1`` every pair has a constant diagonal, so with the
    random signs ``E[Z Z^T] = r I`` exactly (unbiased); ``r`` must be even.
``data_qr``
    TimeProbeSeismic's default: ``Q = orth(D D^T S)`` from the shot's
    observed data ``D`` (``n x nrec``) and random signs ``S`` (one power
    iteration of a randomized range finder on ``D``). The data are the
    wavefield restricted to the receivers and span the same temporal
    subspace, so ``Q Q^T`` keeps most of the energy of the histories: the
    estimate is **biased** (it is ``diag(V^T Q Q^T D2 U)``, a projection) but
    has a much lower variance than the unbiased kinds at the same ``r``.

References
----------
M. Louboutin and F. J. Herrmann, "Ultra-low memory seismic inversion with
randomized trace estimation", SEG Technical Program Expanded Abstracts, 2021
(and TimeProbeSeismic.jl).

M. F. Hutchinson, "A stochastic estimator of the trace of the influence
matrix for Laplacian smoothing splines", Communications in Statistics -
Simulation and Computation 18(3), 1059-1076, 1989.

P. A. Witte, M. Louboutin, F. Luporini, G. J. Gorman and F. J. Herrmann,
"Compressive least-squares migration with on-the-fly Fourier transforms",
Geophysics 84(5), R655-R672, 2019.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

import numpy as np

from randla.backend import to_host
from randla.random import as_generator, draw_probes

__all__ = [
    "PROBE_KINDS",
    "data_qr_probes",
    "dft_basis",
    "dft_probes",
    "nyquist_subsample",
    "second_difference_adjoint",
    "time_probes",
]

#: Probe kinds accepted by :func:`time_probes` and :class:`~randla.apps.fwi.Probed`.
PROBE_KINDS = ("data_qr", "dft", "gaussian", "orthonormal", "rademacher")

#: Kinds with ``E[Z Z^T] = r I`` (the estimate is unbiased).
UNBIASED_KINDS = ("dft", "gaussian", "orthonormal", "rademacher")

#: Kinds whose columns are orthogonal (need ``num_probes <= n``).
ORTHOGONAL_KINDS = ("data_qr", "dft", "orthonormal")


def check_num_probes(num_probes: Any, /) -> int:
    """Validate a probe count (positive integer) and return it as ``int``."""
    if not isinstance(num_probes, numbers.Integral) or isinstance(num_probes, bool):
        raise TypeError(f"num_probes must be an integer, got {type(num_probes).__name__}")
    if int(num_probes) < 1:
        raise ValueError(f"num_probes must be >= 1, got {num_probes}")
    return int(num_probes)


def check_kind(kind: Any, /) -> str:
    """Validate a probe kind."""
    if not isinstance(kind, str) or kind not in PROBE_KINDS:
        raise ValueError(f"kind must be one of {PROBE_KINDS}, got {kind!r}")
    return kind


def _check_sizes(kind: str, n: int, num_probes: int) -> None:
    if num_probes > n:
        raise ValueError(
            f"num_probes = {num_probes} exceeds the number of time samples n = {n} "
            f"(probing saves memory only for num_probes < n)"
        )
    if kind == "dft":
        if num_probes % 2:
            raise ValueError(f"kind='dft' uses cosine/sine pairs: num_probes must be even, got {num_probes}")
        if num_probes > 2 * ((n - 1) // 2):
            raise ValueError(
                f"kind='dft' has only {(n - 1) // 2} cosine/sine pairs for n = {n} samples; "
                f"num_probes = {num_probes} is too large"
            )


def dft_probes(n: int, num_probes: int, /, *, rng: Any = None) -> np.ndarray:
    """Random real-DFT cosine/sine pairs with random signs (unbiased).

    Parameters
    ----------
    n : int
        Number of time samples.
    num_probes : int
        Even number of columns (``num_probes / 2`` frequencies).
    rng : int, numpy.random.Generator or None

    Returns
    -------
    ndarray, shape (n, num_probes)
        ``sqrt(n) * signs[:, None] * [cos_f, sin_f, ...]`` with orthonormal
        ``sqrt(2/n) cos(2 pi f t / n)``, ``sqrt(2/n) sin(...)`` columns and
        frequencies ``f`` drawn without replacement from ``1 .. (n-1)//2``:
        ``E[Z Z^T] = num_probes I``.

    Raises
    ------
    ValueError
        If ``num_probes`` is odd or exceeds ``2 * ((n - 1) // 2)``.

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import dft_probes
    >>> z = dft_probes(9, 8, rng=0)          # all 4 pairs: orthogonal columns
    >>> bool(np.allclose(z.T @ z, 9 * np.eye(8)))
    True
    """
    num_probes = check_num_probes(num_probes)
    _check_sizes("dft", int(n), num_probes)
    gen = as_generator(rng)
    signs = 2.0 * gen.integers(0, 2, size=n) - 1.0
    freqs = np.sort(gen.choice(np.arange(1, (n - 1) // 2 + 1), size=num_probes // 2, replace=False))
    t = np.arange(n, dtype=np.float64)[:, None]
    phase = 2.0 * math.pi * t * freqs[None, :] / n
    z = np.empty((n, num_probes))
    z[:, 0::2] = np.cos(phase)
    z[:, 1::2] = np.sin(phase)
    return math.sqrt(n) * math.sqrt(2.0 / n) * signs[:, None] * z


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
        ``sqrt(r) Q`` with ``Q`` the orthonormal factor of ``D (D^T S)``.
        ``(1/r) Z Z^T = Q Q^T`` projects onto (a randomized estimate of) the
        dominant temporal range of the data: the trace estimate is biased but
        has low variance. When ``r > rank(D)`` the QR completes ``Q`` with
        further orthonormal directions; ``r = n`` gives an orthogonal ``Q``
        and the exact gradient.

    Raises
    ------
    ValueError
        If ``data`` is not 2-D, is identically zero, is not finite, or
        ``num_probes > n``.

    References
    ----------
    M. Louboutin and F. J. Herrmann, "Ultra-low memory seismic inversion with
    randomized trace estimation", SEG 2021; TimeProbeSeismic.jl (``qr_data``).

    Examples
    --------
    >>> import numpy as np
    >>> from randla.apps.fwi import data_qr_probes
    >>> d = np.random.default_rng(0).standard_normal((50, 3))
    >>> z = data_qr_probes(d, 4, rng=0)
    >>> bool(np.allclose(z.T @ z, 4 * np.eye(4)))
    True
    """
    num_probes = check_num_probes(num_probes)
    d = np.asarray(to_host(data) if not isinstance(data, np.ndarray) else data, dtype=np.float64)
    if d.ndim != 2:
        raise ValueError(f"data must be a 2-D (nt, nrec) record, got shape {d.shape}")
    if not np.all(np.isfinite(d)):
        raise ValueError("data contains NaN or infinity")
    n = d.shape[0]
    _check_sizes("data_qr", n, num_probes)
    scale = float(np.max(np.abs(d)))
    if scale == 0.0:
        raise ValueError("data is identically zero: data_qr probes need the shot's observed data")
    gen = as_generator(rng)
    signs = 2.0 * gen.integers(0, 2, size=(n, num_probes)) - 1.0
    d = d / scale
    y = d @ (d.T @ signs)
    q, _ = np.linalg.qr(y)
    return math.sqrt(num_probes) * q


def time_probes(kind: str, n: int, num_probes: int, /, *, rng: Any = None, data: Any = None) -> np.ndarray:
    """Draw an ``(n, num_probes)`` probe matrix in time (host float64).

    Parameters
    ----------
    kind : {"data_qr", "dft", "gaussian", "orthonormal", "rademacher"}
        See the module docstring.
    n : int
        Number of time samples the probes act on.
    num_probes : int
        ``1 <= num_probes <= n`` (even for ``dft``).
    rng : int, numpy.random.Generator or None
    data : array, shape (n, nrec), optional
        Observed data on the same time grid; required for ``data_qr``.

    Returns
    -------
    ndarray, shape (n, num_probes)
        ``E[Z Z^T] = num_probes I`` for the unbiased kinds, ``Z = sqrt(r) Q``
        (orthonormal ``Q``) for ``data_qr``.

    Raises
    ------
    ValueError
        For an unknown kind, ``num_probes < 1`` or ``> n``, or ``data_qr``
        without data or with data of another length.

    Examples
    --------
    >>> from randla.apps.fwi import time_probes
    >>> time_probes("rademacher", 100, 8, rng=0).shape
    (100, 8)
    """
    kind = check_kind(kind)
    num_probes = check_num_probes(num_probes)
    if not isinstance(n, numbers.Integral) or int(n) < 1:
        raise ValueError(f"n must be a positive integer, got {n!r}")
    n = int(n)
    _check_sizes(kind, n, num_probes)
    if kind == "data_qr":
        if data is None:
            raise ValueError("kind='data_qr' needs the shot's observed data (data=)")
        if int(data.shape[0]) != n:
            raise ValueError(f"data has {data.shape[0]} time samples, the probes need n = {n}")
        return data_qr_probes(data, num_probes, rng=rng)
    if kind == "dft":
        return dft_probes(n, num_probes, rng=rng)
    return np.asarray(draw_probes(kind, n, num_probes, rng=as_generator(rng)), dtype=np.float64)


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
