"""Doctest collection of the sources (``python -m pytest --doctest-modules randla apps``).

The applications live in ``apps/`` but import as ``randla.apps``. Left alone,
pytest would import ``apps/wave/model.py`` a second time as ``apps.wave.model``
(a copy with its own classes and module state); here every ``apps.*`` module
is an alias of the installed ``randla.apps.*`` one, so the doctests run on the
modules users import. A module that needs a missing optional dependency
(torch for the XConv layers, ...) is skipped instead of failing to import.
The fixtures of the test suite live in ``tests/conftest.py``.
"""

from __future__ import annotations

import importlib
import sys
from pathlib import Path

import pytest

APPS = Path(__file__).parent / "apps"
#: optional dependencies whose absence skips a module's doctests
OPTIONAL = frozenset({"torch", "cupy", "dask", "distributed", "matplotlib", "pyrevolve"})


def _alias(path: Path) -> bool:
    """Import ``randla.apps.<x>`` for ``apps/<x>.py`` and alias it as ``apps.<x>``
    (with its parent packages); False when an optional dependency is missing."""
    parts = path.relative_to(APPS.parent).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    for depth in range(1, len(parts) + 1):
        name = ".".join(parts[:depth])
        if name not in sys.modules:
            try:
                sys.modules[name] = importlib.import_module("randla." + name)
            except ModuleNotFoundError as exc:
                if (exc.name or "").split(".")[0] in OPTIONAL:
                    return False
                raise
    return True


def pytest_ignore_collect(collection_path, config):
    path = Path(collection_path)
    if path.suffix == ".py" and APPS in path.parents and path.name != "conftest.py":
        return True if not _alias(path) else None
    return None


@pytest.fixture(autouse=True)
def _doctest_names(doctest_namespace):
    """Every docstring example may use ``np`` and ``randla`` without importing them."""
    import numpy

    import randla

    doctest_namespace["np"] = numpy
    doctest_namespace["randla"] = randla
