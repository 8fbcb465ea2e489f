"""Executing the registry's notebook runs with papermill.

A run executes one notebook with one set of parameters into its own folder
under ``BUILD/runs/<id>/``: the executed notebook, its figures, tables and
values, and a manifest recording where they came from. The run is written to
a staging folder and moved into place only when the notebook finished and
produced exactly the artefacts the registry promises, so make never mistakes a
failed run for a current one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import nbformat

from ..errors import CompendiumError
from .rules import load_registry, run_code_files

KERNEL = "python3"
PACKAGE_DIR = Path(__file__).resolve().parent.parent


def find_run(registry: Path, run_id: str) -> dict[str, Any]:
    for run in load_registry(registry):
        if run["id"] == run_id:
            return run
    raise CompendiumError(f"{registry}: no run with id '{run_id}'")


def sha256_path(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def analysis_code_hash() -> str:
    """One hash of the code a notebook run depends on (see ``rules.run_code_files``)."""
    digest = hashlib.sha256()
    for path in run_code_files(PACKAGE_DIR):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(b"\0")
        digest.update(path.read_bytes())
    return digest.hexdigest()


def strip_execution_metadata(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Remove timings and other run-to-run noise that papermill and nbclient record."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        # papermill gives the cell it injects a random id; a fixed one keeps runs identical
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    return nb


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], cwd: Path) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # The kernel process writes start-up and shut-down chatter to the inherited
    # stderr; keep it in a log beside the output and show it only on failure.
    log_path = output.with_name(output.stem + ".kernel.log")
    # Nobody watches a build: notebooks show no widgets (compendium.classroom.is_headless).
    os.environ["COMPENDIUM_HEADLESS"] = "1"
    saved = os.dup(2)
    try:
        with open(log_path, "w") as log:
            os.dup2(log.fileno(), 2)
            try:
                pm.execute_notebook(
                    str(notebook), str(output), parameters=parameters, kernel_name=KERNEL,
                    cwd=str(cwd), progress_bar=False, log_output=False,
                    request_save_on_cell_execute=False,
                )
            finally:
                os.dup2(saved, 2)
    except PapermillExecutionError as err:
        raise CompendiumError(
            f"{notebook}: failed in cell {err.exec_count}: {err.ename}: {err.evalue} "
            f"(kernel log: {log_path})") from None
    finally:
        os.close(saved)
    log_path.unlink(missing_ok=True)
    nb = nbformat.read(output, as_version=4)
    nbformat.write(strip_execution_metadata(nb), output)


def execute_run(run_id: str, *, data: Path, build: Path, registry: Path) -> Path:
    """Execute one run of the registry; return its folder.

    The notebook writes straight into ``BUILD/runs/<id>/`` (emptied first), and
    the paths it is given are relative to the notebooks folder, so the executed
    notebook reads the same in every clone. The run counts as done only when its
    manifest exists; on any failure the folder is removed, so make never takes
    a half-written run for a current one.
    """
    run = find_run(registry, run_id)
    notebook = registry.parent / run["notebook"]
    if not notebook.exists():
        raise CompendiumError(f"{registry}: run '{run_id}' names {notebook}, which does not exist")
    runs_dir = build / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    final = runs_dir / run_id
    if final.exists():
        shutil.rmtree(final)
    final.mkdir()
    cwd = notebook.parent.resolve()
    try:
        parameters = dict(run["parameters"])
        parameters.update({"data": os.path.relpath(data.resolve(), cwd),
                           "output_dir": os.path.relpath(final.resolve(), cwd)})
        executed = final / "notebook.ipynb"
        _execute(notebook, executed, parameters, cwd=cwd)
        manifest_path = final / "manifest.json"
        if not manifest_path.exists():
            raise CompendiumError(f"{notebook}: finished without saving its outputs "
                                  "(the notebook must call outputs.close())")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        made = [a["id"] for a in manifest["artefacts"]]
        if sorted(made) != sorted(run["artefacts"]):
            raise CompendiumError(
                f"{registry}: run '{run_id}' promises artefacts {sorted(run['artefacts'])} "
                f"but {notebook.name} made {sorted(made)}")
        manifest["run"] = {
            "id": run_id,
            "notebook": f"notebooks/{run['notebook']}",
            "executed_notebook": f"runs/{run_id}/notebook.ipynb",
            "parameters": run["parameters"],
            "inputs": {
                "dataset_sha256": manifest["dataset"]["hash"],
                "notebook_sha256": sha256_path(notebook),
                "code_sha256": analysis_code_hash(),
            },
        }
        tmp = manifest_path.with_name(".manifest.json.tmp")
        tmp.write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        os.replace(tmp, manifest_path)
    except BaseException as err:
        # Keep what helps to debug (the executed copy and the kernel's log) beside
        # the runs, then remove the run itself so nothing looks current.
        kept = []
        for name, target in (("notebook.ipynb", f"{run_id}.failed.ipynb"),
                             ("notebook.kernel.log", f"{run_id}.kernel.log")):
            if (final / name).exists():
                shutil.copyfile(final / name, runs_dir / target)
                kept.append(str(runs_dir / target))
        shutil.rmtree(final, ignore_errors=True)
        if isinstance(err, CompendiumError) and kept:
            raise CompendiumError(f"{str(err).split(' (kernel log:')[0]} "
                                  f"(kept for inspection: {', '.join(kept)})") from None
        raise
    return final


def refresh_committed_notebooks(registry: Path, names: list[str] | None = None) -> list[Path]:
    """Re-execute the committed notebooks in place with their default parameters.

    The committed copies keep their outputs so reviewers can read them without
    running anything; nbval later checks that re-executing reproduces them.
    """
    # Every notebook in the folder: the registry's, and teaching notebooks that
    # make no artefact for the paper but are checked by nbval all the same.
    notebooks = sorted(registry.parent.glob("*.ipynb"))
    if names:
        wanted = {Path(n).name for n in names}
        notebooks = [n for n in notebooks if n.name in wanted]
    done = []
    for notebook in notebooks:
        with tempfile.TemporaryDirectory() as tmp:
            executed = Path(tmp) / notebook.name
            _execute(notebook, executed, {}, cwd=notebook.parent.resolve())
            nb = nbformat.read(executed, as_version=4)
            # papermill tags the parameters cell's neighbours; keep the source cells as they were
            nb.cells = [c for c in nb.cells if "injected-parameters" not in c.metadata.get("tags", [])]
            staging = notebook.with_name(f".{notebook.name}.tmp")
            nbformat.write(nb, staging)
            staging.replace(notebook)
        done.append(notebook)
        print(f"{notebook}: outputs refreshed")
    return done


def parse_parameter(text: str) -> tuple[str, Any]:
    """``name=value`` from the command line, with the value read as Python would write it.

    Numbers become numbers, ``None``/``true``/``false`` their Python values, and
    anything else a string, so ``theme=outcomes min_interviewees=3`` needs no quoting.
    """
    if "=" not in text:
        raise CompendiumError(f"parameter '{text}' is not of the form name=value")
    name, raw = text.split("=", 1)
    name = name.strip()
    if not name.isidentifier():
        raise CompendiumError(f"parameter name '{name}' is not a valid Python name")
    literals = {"None": None, "none": None, "null": None, "True": True, "true": True,
                "False": False, "false": False}
    if raw in literals:
        return name, literals[raw]
    for kind in (int, float):
        try:
            return name, kind(raw)
        except ValueError:
            pass
    return name, raw


def notebook_parameters(notebook: Path) -> list[str]:
    """Names the notebook's tagged parameters cell assigns."""
    import ast

    nb = nbformat.read(notebook, as_version=4)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return [t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
    return []


def execute_adhoc(notebook: Path, assignments: list[str], *, data: Path, build: Path) -> Path:
    """Run one notebook with other parameters into BUILD/notebooks/, leaving the committed copy alone."""
    if not notebook.exists():
        raise CompendiumError(f"{notebook}: no such notebook")
    parameters = dict(parse_parameter(a) for a in assignments)
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise CompendiumError(f"{notebook.name} has no parameter {', '.join(unknown)}; "
                              f"its parameters are {', '.join(known)}")
    label = "-".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "defaults"
    safe = "".join(ch if ch.isalnum() or ch in "=-_." else "_" for ch in label)
    folder = build / "notebooks" / f"{notebook.stem}--{safe}"
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    parameters.setdefault("data", str(data.resolve()))
    parameters["output_dir"] = str(folder.resolve())
    output = folder / notebook.name
    _execute(notebook, output, parameters, cwd=notebook.parent.resolve())
    print(f"{output}: executed with {label}; outputs in {folder}")
    return output
