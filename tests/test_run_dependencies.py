"""Each run depends on exactly the package modules its notebook reaches through imports.

The make rules are generated from an import walk (``compendium.importgraph``),
not from a hand-kept list, so an edit to a module re-runs exactly the runs whose
notebooks import it, directly or through other modules, and an edit to a module
no notebook reaches re-runs nothing.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from compendium.importgraph import import_graph, module_names
from compendium.pipeline.rules import (
    PACKAGE,
    RUN_EXECUTOR,
    load_registry,
    notebook_imports,
    run_code_modules,
)

from .conftest import ROOT, make

PACKAGE_DIR = ROOT / "src" / "compendium"
REGISTRY = ROOT / "notebooks" / "runs.toml"
RULES_FILE = "build/.rules/runs.mk"


def _runs_make_would_execute(build: Path, newer: Path) -> set[str]:
    """The runs ``make -n`` would execute if ``newer`` had just been edited.

    ``-W`` pretends the file is new without touching it, and ``-o`` keeps make
    from writing the rules again on its account, so nothing in the repository or
    the shared build changes.
    """
    result = make("-n", "-o", RULES_FILE, "-W", str(newer.relative_to(ROOT)),
                  "runs-unlocked", f"BUILD={build}")
    assert result.returncode == 0, result.stderr[-2000:]
    return set(re.findall(r"compendium run (\S+) ", result.stdout))


def test_an_edit_reruns_exactly_the_runs_that_import_the_module(built: Path):
    # The shared build is current: nothing to do before any edit.
    assert _runs_make_would_execute(built, REGISTRY) == set()
    graph = import_graph(PACKAGE_DIR, PACKAGE)
    runs = load_registry(REGISTRY)
    reached = {run["id"]: set(run_code_modules(PACKAGE_DIR, REGISTRY.parent / run["notebook"],
                                               graph))
               for run in runs}
    files = module_names(PACKAGE_DIR, PACKAGE)
    # every module of the package, each pretended edited in turn
    jobs = {module: path for module, path in sorted(files.items())}
    with ThreadPoolExecutor(max_workers=4) as pool:
        found = dict(zip(jobs, pool.map(lambda p: _runs_make_would_execute(built, p),
                                        jobs.values()), strict=True))
    wrong = {module: (sorted(found[module]),
                      sorted(r for r, mods in reached.items() if module in mods))
             for module in jobs
             if found[module] != {r for r, mods in reached.items() if module in mods}}
    assert not wrong, f"module: (runs make would re-run, runs that import it): {wrong}"


def test_hand_checked_cases():
    """Cases worked out by reading the notebooks, independent of the import walk."""
    graph = import_graph(PACKAGE_DIR, PACKAGE)
    runs = load_registry(REGISTRY)

    def runs_reaching(module: str) -> set[str]:
        return {r["id"] for r in runs
                if module in run_code_modules(PACKAGE_DIR, REGISTRY.parent / r["notebook"], graph)}

    every = {r["id"] for r in runs}
    agreement = {"agreement", "agreement-character", "agreement-unitized", "agreement-overlap"}
    # notebook 08 imports the synthetic class; it was missing from the old hand list
    assert runs_reaching("compendium.classroom.synthetic_class") == {"class-agreement"}
    assert runs_reaching("compendium.steps.agreement") == agreement
    # the command line and the importers only make data: no run imports them
    assert runs_reaching("compendium.cli") == set()
    assert runs_reaching("compendium.qda.refi") == set()
    # the executor, and everything every notebook loads, feed every run
    assert runs_reaching(RUN_EXECUTOR) == every
    assert runs_reaching("compendium.dataset.core") == every


#: One process loads each notebook's imports in a fork of its own, so that one notebook's
#: modules never count for another; it imports the libraries first (they load no module of
#: the package), which each fork then shares instead of importing them again.
LOADED_BY = """
import json, os, sys
import numpy, pandas, scipy.stats, matplotlib.pyplot, seaborn
assert not [m for m in sys.modules if m == "compendium" or m.startswith("compendium.")]
result = {}
for notebook, imports in json.loads(sys.argv[1]).items():
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(read)
        import importlib
        for name in imports:
            importlib.import_module(name)
        loaded = sorted(m for m in sys.modules if m == "compendium" or m.startswith("compendium."))
        os.write(write, json.dumps(loaded).encode())
        os._exit(0)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        result[notebook] = json.loads(pipe.read())
    assert os.waitpid(pid, 0)[1] == 0, notebook
print(json.dumps(result))
"""


@pytest.fixture(scope="module")
def loaded_by() -> dict[str, set[str]]:
    """The package modules Python actually loads for each notebook's import lines."""
    known = set(module_names(PACKAGE_DIR, PACKAGE))
    imports = {notebook: sorted(notebook_imports(REGISTRY.parent / notebook, known))
               for notebook in NOTEBOOKS}
    out = subprocess.run([sys.executable, "-c", LOADED_BY, json.dumps(imports)], cwd=ROOT,
                         capture_output=True, text=True, check=True,
                         env={**os.environ, "PYTHONPATH": str(ROOT / "src"), "MPLBACKEND": "Agg"})
    return {notebook: set(loaded) for notebook, loaded in json.loads(out.stdout).items()}


NOTEBOOKS = sorted({r["notebook"] for r in load_registry(REGISTRY)})


@pytest.mark.parametrize("notebook", NOTEBOOKS)
def test_the_walk_covers_every_module_a_notebook_loads(notebook: str,
                                                       loaded_by: dict[str, set[str]]):
    # A second opinion from Python itself: every module that importing the
    # notebook's imports loads must be among the run's dependencies (the walk
    # may list more: imports inside functions count too).
    path = REGISTRY.parent / notebook
    assert "compendium.dataset.core" in loaded_by[notebook]  # the fork imported something
    missing = loaded_by[notebook] - set(run_code_modules(PACKAGE_DIR, path))
    assert not missing, f"{notebook} loads modules its runs do not depend on: {sorted(missing)}"


def test_notebook_imports_skip_magics_and_read_every_code_cell(tmp_path: Path):
    nb = {"cells": [
        {"cell_type": "markdown", "source": "import compendium.cli"},
        {"cell_type": "code",
         "source": ["%matplotlib inline\n", "from compendium.displays import tables\n"]},
        {"cell_type": "code", "source": "!ls\nimport compendium.analysis.saturation as s\n"},
    ], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    path = tmp_path / "x.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    known = set(module_names(PACKAGE_DIR, PACKAGE))
    assert notebook_imports(path, known) == {"compendium.displays", "compendium.displays.tables",
                                             "compendium.analysis.saturation"}


def test_validation_depends_on_every_module_it_reads_through(tmp_path: Path):
    # userfile.py reads every file of a dataset since validation went through one
    # reader; a hand-kept list had left it out, so an edit to it did not re-validate.
    from compendium.pipeline.rules import rules_text

    text = rules_text(load_registry(REGISTRY), REGISTRY, tmp_path)
    line = next(li for li in text.splitlines() if li.startswith("VALIDATION_CODE := "))
    files = set(line.split(" := ")[1].split())
    assert {"src/compendium/dataset/core.py", "src/compendium/userfile.py",
            "src/compendium/dataset/anonymity.py", "src/compendium/dataset/tableio.py"} <= files
    assert "src/compendium/cli.py" not in files  # the command line does not validate
