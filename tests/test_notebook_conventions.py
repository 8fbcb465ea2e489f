"""House rules for the notebooks: documented parameters, a data banner, narration, an exercise."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from compendium.pipeline.rules import load_registry

from .conftest import ROOT

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_follows_the_house_rules(path: Path):
    nb = nbformat.read(path, as_version=4)
    assert nb.cells[0].cell_type == "markdown" and nb.cells[0].source.startswith("# ")
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    source = tagged[0].source
    tree = ast.parse(source)
    assigned = [t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets]
    assert assigned[:2] == ["data", "output_dir"]
    for line in source.splitlines():
        if "=" in line.split("#")[0]:
            assert "#" in line, f"parameter without a comment: {line}"
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    # start_run shows the banner itself
    assert "dataset_banner(ds)" in code or "start_run(" in code, \
        "every notebook says which data it shows"
    assert "Exercise" in nb.cells[-1].source


def test_every_registered_notebook_exists_and_closes_its_outputs():
    for run in load_registry(ROOT / "notebooks" / "runs.toml"):
        nb = nbformat.read(ROOT / "notebooks" / run["notebook"], as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "out.close()" in code
        for artefact in run["artefacts"]:
            # the id is written in the notebook, literally or from the theme parameter
            stem = artefact.rsplit("-", 1)[0] if run["parameters"].get("theme") else artefact
            assert stem in code, (run["id"], artefact)


def test_committed_notebooks_have_outputs_and_no_papermill_timings():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name
        assert "papermill" not in nb.metadata
        assert not any("execution" in c.metadata or "papermill" in c.metadata for c in nb.cells)
