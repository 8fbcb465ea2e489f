"""Lint: ruff (configured in pyproject.toml) finds nothing in src/, tests/ or the notebooks."""

from __future__ import annotations

import subprocess
import sys

from .conftest import ROOT


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                           "--output-format", "concise", *args],
                          cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = _ruff("src", "tests", "notebooks")
    assert result.returncode == 0, result.stdout + result.stderr
