"""Executing the registry's notebook runs with papermill, and reading finished runs.

A run executes one notebook with one set of parameters into its own folder
under ``BUILD/runs/<id>/``: the executed notebook, its figures, tables and
values, and a manifest recording where they came from. The notebook writes
into a staging folder, and the run step moves it into place with one atomic
rename only when the notebook finished and produced exactly the artefacts the
registry promises; so make never mistakes a failed or killed run for a
current one.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

from ..dataset.datapackage import (
    check_dataset_folder,
    check_outside_dataset,
    read_descriptor,
    resource_hashes,
)
from ..errors import CompendiumError, shortened
from ..fileio import (
    atomic_write,
    replace_dir,
    sha256_file,
    sha256_text,
    sha256_tree,
    staging_dir,
)
from ..layout import VALIDATED_HASH_ENV, Layout
from ..userfile import read_notebook
from .rules import load_registry, run_code_files
from .warm import KERNEL_DIED_AT_START, SOCKET_ENV, warm_kernel_manager

KERNEL = "python3"
PACKAGE_DIR = Path(__file__).resolve().parent.parent
#: The repository the package runs from (``src/compendium`` sits two levels below it).
REPOSITORY = PACKAGE_DIR.parent.parent
LOCK_FILE = "requirements.lock"


def find_run(registry: Path, run_id: str) -> dict[str, Any]:
    """The registry's entry for ``run_id``."""
    for run in load_registry(registry):
        if run["id"] == run_id:
            return run
    raise CompendiumError(f"{registry}: no run with id '{shortened(run_id, 80)}'")


def run_code(notebook: Path) -> tuple[str, dict[str, str]]:
    """The code a run of ``notebook`` depends on: one hash over it, and each file's hash.

    The files are those the generated make rules list for the run
    (:func:`compendium.pipeline.rules.run_code_files`), named relative to the
    package, so a later comparison of two builds can say which module changed.
    """
    files = run_code_files(PACKAGE_DIR, notebook)
    return (sha256_tree(files, PACKAGE_DIR),
            {f.relative_to(PACKAGE_DIR).as_posix(): sha256_file(f) for f in files})


def run_inputs(run: dict[str, Any], notebook: Path, data: Path, dataset_hash: str,
               code_sha256: str) -> dict[str, Any]:
    """What a run was made from, detailed enough for ``compendium diff`` to name a cause.

    Beside the three hashes make's rules act on (dataset, notebook, code; each
    module's hash is recorded beside, under ``run.code_files``), it records the
    dataset's folder (relative to the repository, so a build reads the same in
    every clone) with each file's sha256 from the dataset's descriptor, the
    lock's sha256 and each extra input folder's hash: a diff of two builds can
    then say which file or folder changed, and read the rows of the dataset's
    tables that did.
    """
    files = resource_hashes(read_descriptor(data))
    lock = REPOSITORY / LOCK_FILE
    extra = {}
    for folder in run.get("inputs", []):
        found = sorted(p for p in (REPOSITORY / folder).rglob("*") if p.is_file())
        extra[folder] = sha256_tree(found, REPOSITORY / folder)
    return {
        "dataset_sha256": dataset_hash,
        "notebook_sha256": sha256_file(notebook),
        "code_sha256": code_sha256,
        "dataset_path": Path(os.path.relpath(data.resolve(), REPOSITORY)).as_posix(),
        "dataset_files": files,
        "lock_sha256": sha256_file(lock) if lock.exists() else None,
        "extra_inputs": extra,
    }


def read_run_manifest(build: Path, run_id: str) -> dict[str, Any]:
    """The manifest of a finished run, or a one-line error saying what to run.

    A run folder is only ever moved into place whole, so a missing or unreadable
    manifest means the folder was made by something else (an older build, a hand
    edit); the error names the folder to delete.
    """
    path = Layout(build).manifest(run_id)
    if not path.exists():
        raise CompendiumError(f"{path}: missing; run `make paper` to execute run '{run_id}'")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
        complete = isinstance(manifest, dict) and manifest.get("run", {}).get("id") == run_id
    except (UnicodeDecodeError, json.JSONDecodeError, AttributeError):
        complete = False
    if not complete:
        raise CompendiumError(f"{path}: incomplete run (not finished by the build); delete it "
                              f"with `rm -rf {path.parent}` and run `make paper`")
    return manifest


def load_runs(build: Path, registry: Path) -> list[dict[str, Any]]:
    """The manifests of every run in the registry, in registry order."""
    return [read_run_manifest(build, run["id"]) for run in load_registry(registry)]


def strip_execution_metadata(nb):
    """Remove timings and other run-to-run noise that papermill and nbclient record."""
    nb.metadata.pop("papermill", None)
    for cell in nb.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        # papermill gives the cell it injects a random id; a fixed one keeps runs identical
        if "injected-parameters" in cell.metadata.get("tags", []):
            cell["id"] = "injected-parameters"
    return nb


def _notebook_text(nb) -> str:
    """A notebook as ``nbformat.write`` saves it (ending with one newline)."""
    import nbformat

    text = nbformat.writes(nb)
    return text if text.endswith("\n") else text + "\n"


def _execute(notebook: Path, output: Path, parameters: dict[str, Any], cwd: Path,
             rename: tuple[str, str] | None = None) -> None:
    """Execute ``notebook`` into ``output`` with papermill, then strip run-to-run noise.

    ``rename`` = (staged, final) replaces a path the notebook was given while it
    ran in a staging folder by the path where its outputs end up, so the executed
    copy reads the same as if it had run in place.
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    # The kernel process writes start-up and shut-down chatter to the inherited
    # stderr; keep it in a log beside the output and show it only on failure.
    log_path = output.with_name(output.stem + ".kernel.log")
    # Nobody watches a build: notebooks show no widgets (compendium.classroom.is_headless).
    os.environ["COMPENDIUM_HEADLESS"] = "1"
    # Under `make paper` a fork server has the libraries imported already
    # (compendium.pipeline.warm); without one, each run starts a fresh kernel.
    managers: list[dict[str, Any]] = [{}]
    if os.environ.get(SOCKET_ENV):
        managers.insert(0, {"kernel_manager_class": warm_kernel_manager()})
    saved = os.dup(2)
    try:
        for attempt, manager in enumerate(managers, 1):
            with open(log_path, "w") as log:
                os.dup2(log.fileno(), 2)
                try:
                    # absolute paths: papermill reads a path that starts with "-" as
                    # standard input or output (a build folder named "-" printed the notebook)
                    pm.execute_notebook(
                        os.path.abspath(notebook), os.path.abspath(output),
                        parameters=parameters, kernel_name=KERNEL,
                        cwd=str(cwd), progress_bar=False, log_output=False,
                        request_save_on_cell_execute=False, **manager,
                    )
                    break
                except RuntimeError as err:
                    # A kernel that dies before it answers (jupyter_client's wording) ran
                    # none of the notebook; a fresh kernel runs it again from the start,
                    # with the same outputs (a warmed kernel's are a fresh one's, tested).
                    if KERNEL_DIED_AT_START not in str(err) or attempt == len(managers):
                        raise
                finally:
                    os.dup2(saved, 2)
            print(f"{notebook}: the warmed kernel died while starting; running it again in "
                  f"a fresh kernel. Its log:\n{log_path.read_text(errors='replace')}",
                  file=sys.stderr)
    except PapermillExecutionError as err:
        raise CompendiumError(
            f"{notebook}: failed in cell {err.exec_count}: {err.ename}: {err.evalue} "
            f"(kernel log: {log_path})") from None
    finally:
        os.close(saved)
    log_path.unlink(missing_ok=True)
    nb = strip_execution_metadata(nbformat.read(output, as_version=4))
    text = _notebook_text(nb)
    if rename:
        text = text.replace(json.dumps(rename[0])[1:-1], json.dumps(rename[1])[1:-1])
    atomic_write(output, text)


def execute_run(run_id: str, *, data: Path, build: Path, registry: Path) -> Path:
    """Execute one run of the registry; return its folder.

    The notebook writes into ``BUILD/runs/.<id>.staging/``; the paths it is
    given are relative to the notebooks folder, so the executed notebook reads
    the same in every clone. Once the notebook finished and its manifest lists
    exactly the promised artefacts, the run step completes the manifest and
    moves the whole folder to ``BUILD/runs/<id>/`` with one rename. A failed or
    killed run leaves only the staging folder, which the next run replaces.

    The dataset hash that ``compendium validate`` recorded in the build's
    stamp reaches the kernel through an environment variable, so the notebook
    checks the dataset against it instead of validating everything again.
    """
    run = find_run(registry, run_id)
    notebook = registry.parent / run["notebook"]
    if not notebook.exists():
        raise CompendiumError(f"{registry}: run '{run_id}' names {notebook}, which does not exist")
    check_dataset_folder(data)  # before a kernel starts; data.resolve() below needs it too
    check_outside_dataset(build, data)
    paths = Layout(build)
    final = paths.run(run_id)
    staging = staging_dir(final)
    executed = staging / paths.executed_notebook(run_id).name
    runs_dir = paths.runs
    cwd = notebook.parent.resolve()
    validated = paths.validated.read_text(encoding="utf-8").strip() \
        if paths.validated.exists() else ""
    try:
        parameters = dict(run["parameters"])
        staged_rel = os.path.relpath(staging.resolve(), cwd)
        final_rel = os.path.relpath(final.resolve(), cwd)
        parameters.update({"data": os.path.relpath(data.resolve(), cwd),
                           "output_dir": staged_rel})
        if len(validated) == 64:
            os.environ[VALIDATED_HASH_ENV] = validated
        _execute(notebook, executed, parameters, cwd=cwd, rename=(staged_rel, final_rel))
        manifest_path = staging / paths.manifest(run_id).name
        if not manifest_path.exists():
            raise CompendiumError(f"{notebook}: finished without saving its outputs "
                                  "(the notebook must call outputs.close())")
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        made = [a["id"] for a in manifest["artefacts"]]
        if sorted(made) != sorted(run["artefacts"]):
            raise CompendiumError(
                f"{registry}: run '{run_id}' promises artefacts {sorted(run['artefacts'])} "
                f"but {notebook.name} made {sorted(made)}")
        code_sha256, code_files = run_code(notebook)
        manifest["run"] = {
            "id": run_id,
            "notebook": f"notebooks/{run['notebook']}",
            "executed_notebook": paths.executed_notebook(run_id).relative_to(build).as_posix(),
            "parameters": run["parameters"],
            "inputs": run_inputs(run, notebook, data, manifest["dataset"]["hash"],
                                 code_sha256),
            "code_files": code_files,
        }
        atomic_write(manifest_path, json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
        replace_dir(staging, final)
        _forget_failure(runs_dir, run_id)
    except BaseException as err:
        _keep_for_inspection(err, staging, executed, runs_dir, run_id)
        raise
    return final


#: What a failed run keeps beside its outputs for inspection, by the run's stem.
FAILED_NOTEBOOK, FAILED_LOG = "{stem}.failed.ipynb", "{stem}.kernel.log"


def _forget_failure(beside: Path, stem: str) -> None:
    """After a run succeeds: remove what an earlier failure of it kept for inspection."""
    for name in (FAILED_NOTEBOOK, FAILED_LOG):
        (beside / name.format(stem=stem)).unlink(missing_ok=True)


def _keep_for_inspection(err: BaseException, staging: Path, executed: Path, beside: Path,
                         stem: str) -> None:
    """After a failed run: keep what helps to debug beside its outputs, remove the rest.

    The executed copy and the kernel's log in ``staging`` are copied to
    ``beside/STEM.failed.ipynb`` and ``beside/STEM.kernel.log`` (outputs only
    appear whole, so these carry other names), then the staging folder is removed.
    A CompendiumError is raised again naming the kept files.
    """
    kept = []
    for source, target in ((executed, FAILED_NOTEBOOK.format(stem=stem)),
                           (executed.with_name(executed.stem + ".kernel.log"),
                            FAILED_LOG.format(stem=stem))):
        if source.exists():
            beside.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, beside / target)
            kept.append(str(beside / target))
    shutil.rmtree(staging, ignore_errors=True)
    if isinstance(err, CompendiumError) and kept:
        raise CompendiumError(f"{str(err).split(' (kernel log:')[0]} "
                              f"(kept for inspection: {', '.join(kept)})") from None


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
        missing = sorted(wanted - {n.name for n in notebooks})
        if missing:  # checked before any runs: a typo would otherwise refresh nothing, silently
            raise CompendiumError(f"{registry.parent}: no notebook {', '.join(missing)} to "
                                  "refresh (the committed notebooks are the *.ipynb there)")
        notebooks = [n for n in notebooks if n.name in wanted]
    import nbformat

    done = []
    for notebook in notebooks:
        with tempfile.TemporaryDirectory() as tmp:
            executed = Path(tmp) / notebook.name
            _execute(notebook, executed, {}, cwd=notebook.parent.resolve())
            nb = nbformat.read(executed, as_version=4)
            # papermill tags the parameters cell's neighbours; keep the source cells as they were
            nb.cells = [c for c in nb.cells
                        if "injected-parameters" not in c.metadata.get("tags", [])]
            atomic_write(notebook, _notebook_text(nb))
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

    nb = read_notebook(notebook)
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            tree = ast.parse(cell.source)
            return [t.id for node in tree.body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
    return []


def adhoc_folder_name(notebook: Path, label: str) -> str:
    """The results folder of a notebook run with parameters ``label`` (``theme=outcomes``).

    The name is the notebook's stem and the parameters, with characters a file name
    should not hold replaced; a name past 150 bytes (a file name may have 255) keeps its
    first 100 bytes and a hash of the whole, so every parameter set has its own.
    """
    safe = "".join(ch if ch.isalnum() or ch in "=-_." else "_" for ch in label)
    name = f"{notebook.stem}--{safe}"
    if len(name.encode("utf-8")) > 150:
        start = name.encode("utf-8")[:100].decode("utf-8", "ignore")  # whole characters
        name = f"{start}--{sha256_text(label)[:12]}"
    return name


def execute_adhoc(notebook: Path, assignments: list[str], *, data: Path, build: Path) -> Path:
    """Run one notebook with other parameters into BUILD/notebooks/, leaving the committed copy.

    The committed notebook itself is not touched.
    """
    if not notebook.exists():
        raise CompendiumError(f"{notebook}: no such notebook")
    parameters = dict(parse_parameter(a) for a in assignments)
    known = notebook_parameters(notebook)
    unknown = sorted(set(parameters) - set(known))
    if unknown:
        raise CompendiumError(f"{notebook.name} has no parameter {', '.join(unknown)}; "
                              f"its parameters are {', '.join(known)}")
    check_dataset_folder(data)
    check_outside_dataset(build, data)
    label = "-".join(f"{k}={v}" for k, v in sorted(parameters.items())) or "defaults"
    adhoc = Layout(build).adhoc
    folder = adhoc / adhoc_folder_name(notebook, label)
    # Run in a staging folder, swapped in whole at the end: a run that fails, or is
    # killed, leaves the last good result with these parameters as it was.
    staging = staging_dir(folder)
    parameters.setdefault("data", str(data.resolve()))
    parameters["output_dir"] = str(staging.resolve())
    executed = staging / notebook.name
    try:
        _execute(notebook, executed, parameters, cwd=notebook.parent.resolve(),
                 rename=(str(staging.resolve()), str(folder.resolve())))
        replace_dir(staging, folder)
        _forget_failure(adhoc, folder.name)
    except BaseException as err:
        _keep_for_inspection(err, staging, executed, adhoc, folder.name)
        raise
    output = folder / notebook.name
    print(f"{output}: executed with {label}; outputs in {folder}")
    return output
