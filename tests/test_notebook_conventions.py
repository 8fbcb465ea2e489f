"""House rules for the notebooks: documented parameters, a data banner, narration, an exercise."""

from __future__ import annotations

import ast
from pathlib import Path

import nbformat
import pytest

from compendium.importgraph import imports_in_source, module_names
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
    # start_run shows the banner; a notebook may also show it itself
    assert "start_run(" in code or "dataset_banner(ds)" in code, \
        "every notebook says which data it shows"
    assert "Exercise" in nb.cells[-1].source


#: Longest code cell, in lines: a notebook cell should call, show and save, no more.
MAX_CELL_LINES = 12
_DEFINITIONS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)


def logic_in_cells(nb: nbformat.NotebookNode) -> list[str]:
    """Code cells that define a function or class (a lambda too) or run past MAX_CELL_LINES."""
    found = []
    for number, cell in enumerate(nb.cells, 1):
        if cell.cell_type != "code":
            continue
        source = cell.source.strip()
        # IPython magics and shell escapes are not Python; leave them out of the parse
        python = "\n".join("" if line.lstrip().startswith(("%", "!")) else line
                           for line in source.splitlines())
        for node in ast.walk(ast.parse(python)):
            if isinstance(node, _DEFINITIONS):
                what = "a lambda" if isinstance(node, ast.Lambda) else f"'{node.name}'"
                found.append(f"cell {number} defines {what}: move it into src/compendium and "
                             "test it there")
        lines = len(source.splitlines())
        if lines > MAX_CELL_LINES:
            found.append(f"cell {number} has {lines} lines (at most {MAX_CELL_LINES}): split it, "
                         "or move the logic into a tested function")
    return found


#: Notebooks allowed to break the rule for now (none): strict, so an entry is removed
#: as soon as its notebook follows the rule.
PENDING: set[str] = set()


@pytest.mark.parametrize("path", [
    pytest.param(p, marks=pytest.mark.xfail(strict=True, reason="refactored on another branch"))
    if p.name in PENDING else p for p in NOTEBOOKS], ids=lambda p: p.name)
def test_notebook_cells_only_call_show_and_save(path: Path):
    found = logic_in_cells(nbformat.read(path, as_version=4))
    assert not found, f"{path.name}: " + "; ".join(found)


def test_the_cell_check_finds_definitions_and_long_cells():
    def notebook(*sources: str) -> nbformat.NotebookNode:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell("# T\n" + "text\n" * 30)]
        nb.cells += [nbformat.v4.new_code_cell(s) for s in sources]
        return nb

    assert logic_in_cells(notebook("x = 1", "%matplotlib inline\nshow(x)")) == []
    assert logic_in_cells(notebook("\n".join(f"x{i} = {i}" for i in range(12)))) == []
    found = logic_in_cells(notebook(
        "def statistic(a, b):\n    return a",
        "class Thing:\n    pass",
        "rows = frame.map(lambda v: v + 1)",
        "\n".join(f"x{i} = {i}" for i in range(13)),
    ))
    assert [f.split(":")[0] for f in found] == [
        "cell 2 defines 'statistic'", "cell 3 defines 'Thing'", "cell 4 defines a lambda",
        "cell 5 has 13 lines (at most 12)"]


def test_every_registered_notebook_exists_and_closes_its_outputs():
    for run in load_registry(ROOT / "notebooks" / "runs.toml"):
        nb = nbformat.read(ROOT / "notebooks" / run["notebook"], as_version=4)
        code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
        assert "out.close()" in code
        for artefact in run["artefacts"]:
            # the id is written in the notebook, literally or from the theme parameter
            stem = artefact.rsplit("-", 1)[0] if run["parameters"].get("theme") else artefact
            if run["parameters"].get("measure", "segment") != "segment":
                stem = "tbl-agreement"  # tbl-agreement-<measure>
            assert stem in code, (run["id"], artefact)


def test_committed_notebooks_have_outputs_and_no_papermill_timings():
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        assert any(c.get("outputs") for c in nb.cells if c.cell_type == "code"), path.name
        assert "papermill" not in nb.metadata
        assert not any("execution" in c.metadata or "papermill" in c.metadata for c in nb.cells)


#: The package's modules, which a notebook's imports are resolved against.
MODULES = set(module_names(ROOT / "src" / "compendium", "compendium"))


def steps_module_of(notebook: str) -> str:
    """A notebook's steps module, from its file name: ``NN-some-words.ipynb`` ->
    ``compendium.steps.some_words`` (src/compendium/README.md, "Which notebook calls which
    steps module")."""
    number, _, words = Path(notebook).stem.partition("-")
    assert number.isdigit() and words, f"{notebook}: not named NN-words.ipynb"
    return "compendium.steps." + words.replace("-", "_")


def compendium_imports(nb: nbformat.NotebookNode) -> set[str]:
    """The package's modules a notebook's cells import, each named once, most specifically
    (``from compendium.steps import x`` names ``compendium.steps.x``, not also its package)."""
    code = "\n".join(c.source for c in nb.cells if c.cell_type == "code")
    found = imports_in_source(code, MODULES)
    return {m for m in found if not any(other.startswith(m + ".") for other in found)}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_imports_only_its_own_steps_module(path: Path):
    own = steps_module_of(path.name)
    assert own in MODULES, f"{path.name}: its steps module {own} does not exist"
    assert compendium_imports(nbformat.read(path, as_version=4)) == {own}, \
        f"{path.name} must import only {own} (which may re-export what the notebook calls)"


def test_the_import_check_finds_other_modules():
    def notebook(*sources: str) -> nbformat.NotebookNode:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
        return nb

    assert steps_module_of("04-framework-and-cooccurrence.ipynb") == \
        "compendium.steps.framework_and_cooccurrence"
    own = "from compendium.steps import saturation as steps"
    assert compendium_imports(notebook(own, "import pandas as pd")) == \
        {"compendium.steps.saturation"}
    assert compendium_imports(notebook(own, "from compendium import analysis")) == \
        {"compendium.steps.saturation", "compendium.analysis"}
    assert compendium_imports(notebook("from compendium.steps.theme_matrix import start_run",
                                       "import compendium.displays.figures")) == \
        {"compendium.steps.theme_matrix", "compendium.displays.figures"}
    assert compendium_imports(notebook("import compendium")) == {"compendium"}
