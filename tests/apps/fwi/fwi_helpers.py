"""Small problems shared by the fwi tests (tiny: the suite has a time budget)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np

from randla.backend import from_host
from randla.apps.wave import Geometry, forward, layered_anomaly_model, smooth


def small_shot(*, shape=(60, 60), nbl=10, tn=0.5, f0=12.0, dtype=np.float64, src_x=None, nrec=30):
    """(true model, smooth start, geometry, observed data) for one surface shot."""
    model = layered_anomaly_model(shape, spacing=10.0, nbl=nbl, anomaly=0.15, dtype=dtype)
    extent = (shape[0] - 1) * 10.0
    sx = extent / 2 if src_x is None else src_x
    geom = Geometry(model, src_positions=[[sx, 20.0]],
                    rec_positions=[[x, 20.0] for x in np.linspace(0.0, extent, nrec)], tn=tn, f0=f0)
    d_obs = forward(model, geom)
    m0 = model.with_vp(smooth(model.vp, sigma=4.0))
    return model, m0, geom, d_obs


def fake_context(xp, device, *, nt, shape, dt=1e-3, dtype=None, spacing=None):
    """A minimal HistoryContext to drive strategies on synthetic histories."""
    dtype = xp.float64 if dtype is None else dtype
    spacing = (10.0,) * len(shape) if spacing is None else spacing
    m = from_host(np.full(shape, 1.0 / 2000.0**2), xp, dtype=dtype, device=device)
    model = SimpleNamespace(m=m, pad=lambda x: x)
    wavelet = from_host(np.zeros((nt, 1)), xp, dtype=dtype, device=device)
    return SimpleNamespace(nt=nt, dt=dt, shape=tuple(shape), ndim=len(shape), spacing=tuple(spacing),
                           dtype=dtype, xp=xp, device=device, imaging_scale=-1.0 / dt**2,
                           model=model, geometry=SimpleNamespace(wavelet=wavelet), d_obs=None)


def drive(strategy, context, U, V):
    """Run the seam protocol on host histories U, V of shape (nt, *shape)."""
    xp = context.xp
    strategy.setup(context)
    for t in range(context.nt):
        strategy.observe(t, from_host(U[t], xp, dtype=context.dtype, device=context.device))
    strategy.end_forward()
    for t in range(context.nt - 1, -1, -1):
        strategy.correlate(t, from_host(V[t], xp, dtype=context.dtype, device=context.device))
    return strategy.gradient()


def second_difference(nt):
    return np.eye(nt) - 2 * np.eye(nt, k=-1) + np.eye(nt, k=-2)


def effective_probes(strategy, nt):
    """Fine-grid probe matrix sqrt(k) S_o^T Zc of the strategy's current shot."""
    k, o, z = strategy.stride, strategy.offset, strategy.probes
    full = np.zeros((nt, z.shape[1]))
    full[o::k] = np.sqrt(k) * z
    return full


def cosine(a, b):
    a, b = np.ravel(a), np.ravel(b)
    return float(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
