"""Shared test fixtures: paths to the repository, the demo dataset and shared fixtures."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "synthetic"
SHARED = ROOT.parent / "shared"

# Nobody watches the notebooks the tests run (nbval, papermill): they show no
# widgets and use their worked examples (compendium.classroom.is_headless).
# Set before any kernel starts, so every kernel inherits it.
os.environ["COMPENDIUM_HEADLESS"] = "1"


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A writable copy of the demonstration dataset."""
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    return target
