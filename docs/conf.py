"""Sphinx configuration: numpydoc API reference and an executed sphinx-gallery.

The API pages are generated from each package's ``__all__`` (the core and every
application under ``randla.apps``), so adding a public function never means
editing an index by hand.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))

import randla  # noqa: E402
import randla.apps  # noqa: E402

project = "randla"
author = "randla developers"
copyright = "2026, randla developers"
release = randla.__version__

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]

autosummary_generate = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_default_options = {"members": False}
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "**/*.codeobj.json",
                    "sg_execution_times.rst", "auto_examples/sg_execution_times.rst"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_theme_options = {"navigation_with_keys": False}

sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "write_computation_times": False,
    "abort_on_example_error": True,
}

# -- API pages generated from __all__ -------------------------------------------


def _documented_elsewhere(modname: str, name: str, obj: object) -> bool:
    """A name one application re-exports from another (documented there once:
    two pages for one class are duplicate object descriptions)."""
    home = getattr(obj, "__module__", None) or ""
    if not home.startswith("randla.apps.") or home == modname or home.startswith(modname + "."):
        return False
    package = importlib.import_module(".".join(home.split(".")[:3]))
    return name in getattr(package, "__all__", ())


def _module_block(modname: str, title: str) -> str:
    module = importlib.import_module(modname)
    names = sorted(getattr(module, "__all__", []))
    again = [n for n in names if _documented_elsewhere(modname, n, getattr(module, n))]
    names = [n for n in names if n not in again]
    lines = [title, "-" * len(title), "", f".. currentmodule:: {modname}", ""]
    doc = (module.__doc__ or "").strip().splitlines()
    if doc:
        lines += [doc[0], ""]
    if again:
        lines += ["Also exports " + ", ".join(f"``{n}``" for n in again)
                  + " (documented where they are defined).", ""]
    if names:
        lines += [".. autosummary::", "   :toctree: generated", ""]
        lines += [f"   {name}" for name in names]
        lines.append("")
    return "\n".join(lines)


def _write_api() -> None:
    blocks = ["API reference", "=============", "",
              "Generated from ``__all__`` of the core and of each application.", ""]
    blocks.append(_module_block("randla", "Core: randla"))
    blocks.append(_module_block("randla.random", "Probes and sketches: randla.random"))
    for info in sorted(pkgutil.iter_modules(randla.apps.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        modname = f"randla.apps.{info.name}"
        try:
            blocks.append(_module_block(modname, f"Application: {modname}"))
        except ImportError as exc:  # an optional dependency (torch) is missing
            blocks.append(f"{modname}\n{'-' * len(modname)}\n\nNot documented here: {exc}\n")
    text = "\n".join(blocks)
    target = HERE / "api.rst"
    if not target.exists() or target.read_text() != text:
        target.write_text(text)


_write_api()
