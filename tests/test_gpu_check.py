"""benchmarks/gpu_check.py says when there is no GPU and exits 0."""

import os
import subprocess
import sys
from pathlib import Path

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


def test_without_a_gpu_it_says_so_and_exits_0():
    env = dict(os.environ, CUDA_VISIBLE_DEVICES="")  # hides any GPU from CuPy and torch
    proc = subprocess.run([sys.executable, str(SCRIPT), "--quick"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "no CUDA GPU is visible" in proc.stdout
