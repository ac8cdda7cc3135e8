"""randla.__all__ is sorted and lists exactly the public names."""

import inspect

import randla


def _public_names(module):
    return {
        name for name, value in vars(module).items()
        if not name.startswith("_") and not inspect.ismodule(value)
        and name not in {"annotations"}
    }


def test_all_is_sorted():
    assert list(randla.__all__) == sorted(randla.__all__)


def test_all_equals_public_names():
    assert set(randla.__all__) == _public_names(randla)


def test_all_names_resolve():
    for name in randla.__all__:
        assert getattr(randla, name) is not None


def test_apps_import_lazily():
    import importlib

    apps = importlib.import_module("randla.apps")
    assert randla.apps is apps
