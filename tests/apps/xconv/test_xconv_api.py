"""randla.apps.xconv: lazy torch names, no torch needed (shared API checks: tests/test_public_api.py)."""

from __future__ import annotations

import inspect
import subprocess
import sys
import textwrap

import pytest

import randla.apps.xconv as xconv


def test_all_lists_exactly_the_public_names():
    eager = {name for name, value in vars(xconv).items()
             if not name.startswith("_") and not inspect.ismodule(value)
             and name != "annotations"}
    assert eager | set(xconv._LAZY) == set(xconv.__all__)


def test_unknown_name_raises_attribute_error():
    with pytest.raises(AttributeError):
        xconv.not_a_name  # noqa: B018


def test_package_imports_without_torch():
    code = textwrap.dedent("""
        import sys
        class Block:
            def find_spec(self, name, path=None, target=None):
                if name == "torch" or name.startswith("torch."):
                    raise ImportError("torch blocked for this test")
        sys.meta_path.insert(0, Block())
        import numpy as np
        import randla.apps.xconv as xc
        X = np.ones((2, 2, 5, 5))
        g = xc.weight_grad(xc.sketch_input(X, 3, rng=0), np.ones((2, 2, 3, 3)), kernel_size=3)
        assert g.shape == (2, 2, 3, 3)
        assert "torch" not in sys.modules
        try:
            xc.XConv2d
        except ImportError:
            print("ok")
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"
