"""Package discovery: the core ``randla`` and the applications in ``apps/``.

The applications live in the top-level ``apps/`` folder but import as
``randla.apps``; the mapping below is understood by regular and editable
installs alike. Everything else is declared in pyproject.toml.
"""

from setuptools import find_packages, setup

core = find_packages(include=["randla", "randla.*"])
apps = ["randla.apps"] + [f"randla.apps.{name}" for name in find_packages("apps")]

setup(packages=core + apps, package_dir={"randla.apps": "apps"})
