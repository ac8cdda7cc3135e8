"""randla.apps.wave keeps a sorted __all__ equal to its public names."""

import inspect

import randla.apps.wave as wave


def test_all_sorted_and_complete():
    public = {name for name, value in vars(wave).items()
              if not name.startswith("_") and not inspect.ismodule(value) and name != "annotations"}
    assert list(wave.__all__) == sorted(wave.__all__)
    assert set(wave.__all__) == public
    for name in wave.__all__:
        assert getattr(wave, name) is not None


def test_library_does_not_import_devito():
    """Devito is a benchmark-only peer: no module of the package imports it."""
    import pathlib

    folder = pathlib.Path(wave.__file__).parent
    source = "".join(p.read_text() for p in folder.glob("*.py"))
    assert "import devito" not in source and "from devito" not in source
