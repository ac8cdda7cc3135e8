"""randla.apps.dias keeps a sorted __all__ equal to its public names."""

import inspect

import randla.apps.dias as dias


def test_all_sorted_and_complete():
    public = {name for name, value in vars(dias).items()
              if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"}
    assert list(dias.__all__) == sorted(dias.__all__)
    assert set(dias.__all__) == public


def test_no_module_shares_a_public_name():
    import pkgutil

    modules = {m.name for m in pkgutil.iter_modules(dias.__path__)}
    assert not modules & set(dias.__all__)
