"""One public-API test for every public module of randla and its applications.

For each module: ``__all__`` is sorted and unique and lists every public name
the module defines, every name resolves, every public callable has a numpydoc
docstring with an Examples section that runs code, and no submodule shares its
name with a public function of its parent (``randla.trace`` was both once).
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import pkgutil
import re

import pytest

MODULES = [
    "randla",
    "randla.backend",
    "randla.estimation",
    "randla.lowrank",
    "randla.random",
    "randla.apps.compress",
    "randla.apps.dias",
    "randla.apps.fwi",
    "randla.apps.wave",
    "randla.apps.xconv",
]

_EXAMPLES = re.compile(r"^Examples\n-{8,}\n(?:.*\n)*?>>> ", re.MULTILINE)


@pytest.fixture(params=MODULES)
def module(request):
    try:
        return importlib.import_module(request.param)
    except ModuleNotFoundError as err:
        if err.name == request.param:
            pytest.skip(f"{request.param} does not exist yet")
        raise


def _resolve(module, name):
    """``getattr``; names that need torch skip where torch is not installed."""
    try:
        return getattr(module, name)
    except ImportError:
        if importlib.util.find_spec("torch") is None:
            pytest.skip(f"{module.__name__}.{name} needs torch")
        raise


def _defined_public_names(module):
    """Public functions and classes the module (or its private submodules) defines."""
    return {
        name for name, value in vars(module).items()
        if not name.startswith("_") and (inspect.isfunction(value) or inspect.isclass(value))
        and getattr(value, "__module__", "").startswith(module.__name__)
    }


def test_all_sorted_unique_and_complete(module):
    names = list(module.__all__)
    assert names == sorted(names)
    assert len(set(names)) == len(names)
    assert _defined_public_names(module) <= set(names)


def test_every_name_resolves(module):
    for name in module.__all__:
        _resolve(module, name)  # raises AttributeError for a stale entry


def test_public_callables_have_runnable_examples(module):
    missing = []
    for name in module.__all__:
        value = _resolve(module, name)
        if callable(value) and not _EXAMPLES.search((inspect.getdoc(value) or "") + "\n"):
            missing.append(name)
    assert not missing, f"{module.__name__}: no numpydoc Examples section in {missing}"


def test_no_submodule_named_like_a_public_function(module):
    parent_name, _, own = module.__name__.rpartition(".")
    clashes = []
    if parent_name:
        parent = importlib.import_module(parent_name)
        if callable(getattr(parent, own, None)):
            clashes.append(module.__name__)
    for info in pkgutil.iter_modules(getattr(module, "__path__", [])):
        if info.name in module.__all__ and callable(_resolve(module, info.name)):
            clashes.append(f"{module.__name__}.{info.name}")
    assert clashes == []


def test_trace_module_path_is_the_function():
    import randla

    assert callable(randla.trace) and randla.trace.__name__ == "trace"
    assert importlib.util.find_spec("randla.trace") is None


def test_apps_import_lazily():
    import randla

    assert randla.apps is importlib.import_module("randla.apps")
