"""Sphinx configuration: numpydoc API reference and an executed sphinx-gallery.

The API pages are generated from each public module's ``__all__`` (the core,
``randla.random``, ``randla.backend``, ``randla.kernels`` and every
application under ``randla.apps``), grouped by topic, so adding a public
function never means editing an index by hand and moving a private module
changes nothing here. The build needs no network and no torch: without torch
the names that need it are listed with a note and the examples that train
with torch are skipped; math is typeset by a MathJax copy served from
the build (``sphinx-mathjax-offline``); intersphinx links to NumPy, SciPy and
torch are made only when their inventories can be read (a local copy in
``docs/_intersphinx/NAME.inv`` or the network).
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import pkgutil
import re
import sys
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

import randla  # noqa: E402
import randla.apps  # noqa: E402

project = "randla"
author = "randla developers"
copyright = "2026, randla developers"
release = randla.__version__
version = release

HAVE_TORCH = importlib.util.find_spec("torch") is not None

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "sphinx.ext.viewcode",
    "numpydoc",
    "sphinx_gallery.gen_gallery",
]
if importlib.util.find_spec("sphinx-mathjax-offline") is not None:
    extensions.append("sphinx-mathjax-offline")  # MathJax 3 copied into _static: no CDN

autosummary_generate = True
autosummary_imported_members = True
numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_xref_param_type = False
autodoc_default_options = {"members": False}
autodoc_member_order = "bysource"
templates_path = ["_templates"]
exclude_patterns = ["_build", "generated/*.examples", "auto_examples/*.ipynb",
                    "auto_examples/*.py", "auto_examples/*.zip", "**/*.codeobj.json",
                    "sg_execution_times.rst", "auto_examples/sg_execution_times.rst",
                    "_intersphinx"]
html_theme = "pydata_sphinx_theme"
html_static_path = ["_static"]
html_title = f"randla {release}"
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "header_links_before_dropdown": 6,
}

# -- intersphinx: only with an inventory that can be read (offline builds stay -W clean)

_INVENTORIES = {
    "numpy": "https://numpy.org/doc/stable/",
    "scipy": "https://docs.scipy.org/doc/scipy/",
    "torch": "https://docs.pytorch.org/docs/stable/",
    "python": "https://docs.python.org/3/",
}


def _reachable(url: str) -> bool:
    if os.environ.get("RANDLA_DOCS_OFFLINE"):
        return False
    import urllib.request

    try:
        with urllib.request.urlopen(url + "objects.inv", timeout=3) as response:
            return response.status == 200
    except Exception:  # noqa: BLE001 - any failure means: no link, no warning
        return False


intersphinx_mapping = {}
for _name, _url in _INVENTORIES.items():
    _local = HERE / "_intersphinx" / f"{_name}.inv"
    if _local.exists():
        intersphinx_mapping[_name] = (_url, str(_local))
    elif _reachable(_url):
        intersphinx_mapping[_name] = (_url, None)
if intersphinx_mapping:
    extensions.append("sphinx.ext.intersphinx")

# -- gallery ----------------------------------------------------------------------

_needs_torch = [p.name for p in sorted((HERE.parent / "examples").glob("plot_*.py"))
                if re.search(r"^\s*(import torch|from torch)", p.read_text(), re.M)]
sphinx_gallery_conf = {
    "examples_dirs": str(HERE.parent / "examples"),
    "gallery_dirs": "auto_examples",
    "filename_pattern": r"/plot_",
    # examples that train with torch run only where torch is installed
    "ignore_pattern": ("|".join(re.escape(n) for n in _needs_torch)
                       if _needs_torch and not HAVE_TORCH else r"__init__\.py"),
    "download_all_examples": False,
    "remove_config_comments": True,
    "matplotlib_animations": False,
    "write_computation_times": False,
    "abort_on_example_error": True,
    # "examples using this" on every API page (the templates add a minigallery)
    "backreferences_dir": "generated",
    "doc_module": ("randla",),
}

# -- API pages generated from __all__, grouped by topic ------------------------------

#: Topics of each module's ``__all__`` (names not listed land in "Other"; listed
#: names that a module no longer exports are skipped, so renames never break the build).
TOPICS = {
    "randla": [
        ("Operators", "as_operator LinearOperator dot_test"),
        ("Trace estimation",
         "trace hutchinson hutchpp na_hutchpp xtrace xnystrace TraceEstimate TRACE_METHODS"),
        ("Diagonal estimation", "diagonal_hutchinson xdiag DiagonalEstimate"),
        ("Range finders and low-rank factorizations",
         "range_finder adaptive_range_finder RangeFinderResult rsvd nystrom rqr single_pass_svd"),
        ("Sketching", "sketch"),
        ("Shift-probe estimators",
         "shift_trace shift_trace_exact sketch_grid shift_correlate shift_trace_from_sketch "
         "kernel_offsets"),
    ],
    "randla.random": [
        ("Random number generators", "as_generator seed_from"),
        ("Probe and sketch distributions",
         "gaussian rademacher sphere orthonormal srft srft_draw sparse_sign sparse_sign_indices"),
        ("The probe registry",
         "draw_probes PROBE_KINDS ProbeKind probe_kind probe_kinds register_probe_kind"),
    ],
    "randla.backend": [
        ("Namespaces and devices",
         "namespace array_namespace device_of is_array is_numpy is_cupy is_torch"),
        ("Argument checks",
         "check_on check_float check_finite check_positive_int check_same_device check_square"),
        ("Dtypes, sizes and explicit transfers",
         "numpy_dtype real_dtype nbytes from_host to_host"),
    ],
    "randla.apps.wave": [
        ("Models", "Model layered_model layered_anomaly_model overthrust_model smooth"),
        ("Acquisition", "Geometry TimeAxis PointInterpolator ricker"),
        ("Modelling, adjoints and gradients",
         "forward adjoint born jacobian_adjoint gradient gauss_newton forward_shots born_shots "
         "jacobian_adjoint_shots gradient_shots gauss_newton_shots forward_operator "
         "jacobian_operator Propagator ForwardState"),
        ("Wavefield histories (the gradient seam)",
         "WavefieldHistory HistoryContext FullStorage Checkpointing revolve_schedule"),
        ("Stencils", "SPACE_ORDERS fornberg_weights second_derivative_weights stencil_bound "
                     "reference_step"),
    ],
    "randla.apps.fwi": [
        ("Wavefield-history strategies", "Probed OnTheFlyDFT make_strategy"),
        ("Time probes", "PROBE_KINDS time_probes data_qr_probes dft_basis dft_probes "
                        "nyquist_subsample second_difference_adjoint"),
        ("Imaging conditions",
         "ImagingCondition CrossCorrelation ISIC KSpaceFilter kspace_filter spatial_gradient"),
        ("Objective, RTM and FWI", "objective shot_objective ObjectiveInfo rtm fwi FWIResult"),
        ("Many shots", "ShotExecutor shot_map shot_seeds have_dask"),
    ],
    "randla.apps.xconv": [
        ("Array-API estimators",
         "sketch_input weight_grad conv_weight_grad InputSketch conv_geometry ConvGeometry"),
        ("Probes", "MODES PROBES ProbeLayout probe_layout draw_conv_probes"),
        ("torch layers (need torch)",
         "XConv1d XConv2d XConv3d BitReLU bit_relu convert_net ConversionReport LayerReport "
         "SavedTensorMeter"),
    ],
}


def _documented_elsewhere(modname: str, name: str, obj: object) -> bool:
    """A name one application re-exports from another (documented there once:
    two pages for one class are duplicate object descriptions)."""
    home = getattr(obj, "__module__", None) or ""
    if not home.startswith("randla.apps.") or home == modname or home.startswith(modname + "."):
        return False
    package = importlib.import_module(".".join(home.split(".")[:3]))
    return name in getattr(package, "__all__", ())


def _safe_getattr(module, name):
    """The attribute, or None when it needs a missing optional dependency (torch)."""
    try:
        return getattr(module, name)
    except ImportError:
        return None


def _is_constant(obj) -> bool:
    return isinstance(obj, (tuple, list, frozenset, set, dict, str, int, float))


def _constant_doc(package: str, name: str) -> list[str]:
    """The ``#:`` comment above ``NAME = ...`` in the package's sources."""
    from sphinx.pycode import ModuleAnalyzer

    root = importlib.import_module(package)
    modules = [package]
    if hasattr(root, "__path__"):
        modules += [m.name for m in pkgutil.walk_packages(root.__path__, package + ".")]
    for modname in modules:
        try:
            docs = ModuleAnalyzer.for_module(modname).find_attr_docs()
        except Exception:  # noqa: BLE001 - a module without source
            continue
        if ("", name) in docs:
            return [line for line in docs["", name] if line.strip()]
    return []


def _first_line(module) -> str:
    doc = (module.__doc__ or "").strip().splitlines()
    return doc[0] if doc else ""


def _module_page(modname: str, title: str) -> str:
    module = importlib.import_module(modname)
    names = list(getattr(module, "__all__", []))
    again = [n for n in names if _documented_elsewhere(modname, n, _safe_getattr(module, n))]
    names = [n for n in names if n not in again]
    lines = [title, "=" * len(title), "",
             f".. automodule:: {modname}", "   :no-members:", "",
             f".. currentmodule:: {modname}", ""]
    if again:
        lines += ["Also exports " + ", ".join(f"``{n}``" for n in again)
                  + " (documented where they are defined).", ""]
    topics = [(t, [n for n in spec.split() if n in names]) for t, spec in TOPICS.get(modname, [])]
    listed = {n for _, group in topics for n in group}
    rest = sorted(n for n in names if n not in listed)
    if rest:
        topics.append(("Other" if topics else "Contents", rest))
    for topic, group in topics:
        if not group:
            continue
        lines += [topic, "-" * len(topic), ""]
        missing = [n for n in group if _safe_getattr(module, n) is None]
        constants = [n for n in group if _is_constant(_safe_getattr(module, n))]
        others = [n for n in group if n not in constants and n not in missing]
        if missing:
            lines += [".. note::", "",
                      "   " + ", ".join(f"``{n}``" for n in missing)
                      + " need torch, which is not installed where this page was built;",
                      "   their reference appears when the docs are built with torch.", ""]
        if others:
            lines += [".. autosummary::", "   :toctree: ../generated", ""]
            lines += [f"   {n}" for n in others] + [""]
        for n in constants:
            value = getattr(module, n)
            lines += [f".. data:: {n}", f"   :value: {value!r}", ""]
            lines += [f"   {line}" for line in _constant_doc(modname.split(".apps.")[0]
                                                         if ".apps." not in modname
                                                         else modname, n)] + [""]
    return "\n".join(lines)


def _kernels_page() -> str:
    """randla.kernels has no __all__ of its own: one section per public kernel module."""
    import randla.kernels as kernels

    title = "Kernels: randla.kernels"
    lines = [title, "=" * len(title), "",
             ".. automodule:: randla.kernels", "   :no-members:", ""]
    for info in sorted(pkgutil.iter_modules(kernels.__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        modname = f"randla.kernels.{info.name}"
        module = importlib.import_module(modname)
        head = f"{modname}: {_first_line(module)}"
        lines += [head, "-" * len(head), "", f".. currentmodule:: {modname}", ""]
        names = list(getattr(module, "__all__", []))
        if names:
            lines += [".. autosummary::", "   :toctree: ../generated", ""]
            lines += [f"   {n}" for n in names] + [""]
    return "\n".join(lines)


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists() or path.read_text() != text:
        path.write_text(text)


def _write_api() -> None:
    pages = [("randla", "Core: randla"),
             ("randla.random", "Probes and sketches: randla.random"),
             ("randla.backend", "Backends and checks: randla.backend")]
    apps = [f"randla.apps.{i.name}" for i in sorted(pkgutil.iter_modules(randla.apps.__path__),
                                                     key=lambda i: i.name)
            if not i.name.startswith("_")]
    pages += [(m, f"Application: {m}") for m in apps]
    toc = []
    for modname, title in pages:
        _write(HERE / "api" / f"{modname}.rst", _module_page(modname, title))
        toc.append(f"   api/{modname}")
        if modname == "randla.backend":
            _write(HERE / "api" / "randla.kernels.rst", _kernels_page())
            toc.append("   api/randla.kernels")
    index = ["API reference", "=============", "",
             "Generated from the ``__all__`` of each public module and grouped by topic: the",
             "core first, then each application. Every page lists the gallery examples that",
             "use the object.", "",
             ".. toctree::", "   :maxdepth: 2", "", *toc, ""]
    _write(HERE / "api.rst", "\n".join(index))


_write_api()


def _own_methods() -> dict:
    """Public methods each documented class defines in randla (not nn.Module's ~50)."""
    import inspect

    table = {}
    for modname in ["randla", "randla.random", "randla.backend",
                    *(f"randla.apps.{i.name}" for i in pkgutil.iter_modules(randla.apps.__path__)
                      if not i.name.startswith("_"))]:
        module = importlib.import_module(modname)
        for name in getattr(module, "__all__", []):
            try:
                cls = getattr(module, name)
            except ImportError:  # needs torch: the template's own filter applies
                continue
            if not inspect.isclass(cls):
                continue
            own = []
            for klass in cls.__mro__:
                if not (getattr(klass, "__module__", "") or "").startswith("randla"):
                    continue
                for attr, value in vars(klass).items():
                    if (not attr.startswith("_") and attr not in own
                            and (inspect.isfunction(value) or isinstance(value, (classmethod, staticmethod)))):
                        own.append(attr)
            table[f"{modname}.{name}"] = sorted(own)
    return table


autosummary_context = {"randla_methods": _own_methods()}

def _benchmarks_page(app):
    from asv_tables import write_benchmarks_page

    write_benchmarks_page(HERE.parent / "asv_bench", HERE / "generated_benchmarks.inc")


def setup(app):
    app.connect("builder-inited", _benchmarks_page)
