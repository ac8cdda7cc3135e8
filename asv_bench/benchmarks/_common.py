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
