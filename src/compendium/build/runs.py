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
    nb.metadata.get("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    return nb


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], cwd: Path) -> None:
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # The kernel process writes start-up and shut-down chatter to the inherited
    # stderr; keep it in a log beside the output and show it only on failure.
    log_path = output.with_name(output.stem + ".kernel.log")
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
            f"(executed copy with the error: {output}; kernel log: {log_path})") from None
    finally:
        os.close(saved)
    log_path.unlink(missing_ok=True)
    nb = nbformat.read(output, as_version=4)
    nbformat.write(strip_execution_metadata(nb), output)


def execute_run(run_id: str, *, data: Path, build: Path, registry: Path) -> Path:
    """Execute one run of the registry; return its folder."""
    run = find_run(registry, run_id)
    notebook = registry.parent / run["notebook"]
    if not notebook.exists():
        raise CompendiumError(f"{registry}: run '{run_id}' names {notebook}, which does not exist")
    runs_dir = build / "runs"
    runs_dir.mkdir(parents=True, exist_ok=True)
    final = runs_dir / run_id
    staging = Path(tempfile.mkdtemp(prefix=f".{run_id}.", dir=runs_dir))
    try:
        parameters = dict(run["parameters"])
        parameters.update({"data": str(data.resolve()), "output_dir": str(staging.resolve())})
        executed = staging / "notebook.ipynb"
        _execute(notebook, executed, parameters, cwd=notebook.parent.resolve())
        manifest_path = staging / "manifest.json"
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
        os.chmod(staging, 0o755)
        if final.exists():
            shutil.rmtree(final)
        staging.rename(final)
    except BaseException:
        failed = runs_dir / f"{run_id}.failed.ipynb"
        if (staging / "notebook.ipynb").exists():
            shutil.copyfile(staging / "notebook.ipynb", failed)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return final


def refresh_committed_notebooks(registry: Path, names: list[str] | None = None) -> list[Path]:
    """Re-execute the committed notebooks in place with their default parameters.

    The committed copies keep their outputs so reviewers can read them without
    running anything; nbval later checks that re-executing reproduces them.
    """
    runs = load_registry(registry)
    notebooks = sorted({registry.parent / r["notebook"] for r in runs})
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
