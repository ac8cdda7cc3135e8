"""Small problems shared by the wave tests (kept tiny: the suite has a time budget)."""

from __future__ import annotations

import numpy as np

from randla.apps.wave import Geometry, layered_anomaly_model


def random_positions(rng, model, num):
    """Uniform random off-grid positions inside the physical domain."""
    lo = np.asarray(model.origin)
    hi = lo + np.asarray(model.domain_size)
    return rng.uniform(lo, hi, size=(num, model.ndim))


def small_problem(rng, *, shape=(40, 50), dtype=np.float64, nsrc=1, nrec=9, tn=0.25,
                  space_order=8, nbl=10, f0=15.0):
    """Layered + anomaly model and a geometry with random source/receiver positions."""
    model = layered_anomaly_model(shape, spacing=10.0, nbl=nbl, space_order=space_order,
                                  dtype=dtype)
    geom = Geometry(model, src_positions=random_positions(rng, model, nsrc),
                    rec_positions=random_positions(rng, model, nrec), tn=tn, f0=f0)
    return model, geom


def rel_mismatch(a, b):
    return abs(a - b) / max(abs(a), abs(b))
