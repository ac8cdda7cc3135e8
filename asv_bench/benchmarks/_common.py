"""Helpers shared by the benchmark modules.

``QUICK`` is true when ``RANDLA_ASV_QUICK=1`` (CI): benchmark modules then use
small problem sizes so that ``asv run --quick`` only checks that every
benchmark runs. Reported numbers always come from full-size runs.
"""

import os

QUICK = os.environ.get("RANDLA_ASV_QUICK") == "1"


def size(full, quick):
    """``quick`` under RANDLA_ASV_QUICK=1, else ``full``."""
    return quick if QUICK else full


def one_thread(*, torch=False):
    """One BLAS thread (threadpoolctl, which ships with scikit-learn), and one
    torch thread with ``torch=True`` when torch is installed."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl ships with scikit-learn
        pass
    else:
        threadpool_limits(1)
    if torch:
        try:
            import torch as _torch
        except ImportError:
            return
        _torch.set_num_threads(1)
