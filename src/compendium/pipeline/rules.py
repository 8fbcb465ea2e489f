"""Write the make rules for the notebook runs listed in ``notebooks/runs.toml``.

Runs with the standard library alone (``PYTHONPATH=src python3 -m
compendium.pipeline.rules REGISTRY OUTDIR``) so that make can read the rules
before the project's environment exists. The rules also carry the build's
layout (:mod:`compendium.layout`) as make variables. Each
run's parameters go to a small file that is rewritten only when they change,
so editing one run's parameters re-runs that run alone.
"""

from __future__ import annotations

import json
import sys
import tomllib
from pathlib import Path

from compendium import layout
from compendium.errors import CompendiumError, os_problem
from compendium.fileio import atomic_write, write_if_changed
from compendium.importgraph import import_graph, imports_in_source, module_names, reachable
from compendium.userfile import read_text

#: The module that executes every run (papermill, staging, the manifest): its code
#: and everything it imports shape each run's outputs alongside the notebook's own.
RUN_EXECUTOR = "compendium.pipeline.runs"
#: The module whose validation `compendium validate` (the build's first step) runs.
VALIDATOR = "compendium.dataset"
PACKAGE = "compendium"


def notebook_imports(notebook: Path, known: set[str]) -> set[str]:
    """The package's modules the code cells of ``notebook`` import.

    An ``.ipynb`` file is JSON, so the standard library reads it: the rules are
    written before the project's environment (and nbformat) exists.
    """
    cells = json.loads(notebook.read_text(encoding="utf-8")).get("cells", [])
    found: set[str] = set()
    for number, cell in enumerate(cells, 1):
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = "".join(source) if isinstance(source, list) else source
        found |= imports_in_source(source, known, f"{notebook}, cell {number}")
    return found


def run_code_modules(package_dir: Path, notebook: Path,
                     graph: dict[str, set[str]] | None = None) -> list[str]:
    """The dotted names of the modules a run of ``notebook`` depends on, sorted.

    What the notebook imports, directly or through other modules, and what the
    run executor imports, found by walking the imports (:mod:`compendium.importgraph`).
    Importers, the synthetic generator and the command line only make data, so
    they count only where a notebook reaches them; data changes are tracked
    through the dataset's own files.
    """
    graph = graph if graph is not None else import_graph(package_dir, PACKAGE)
    start = notebook_imports(notebook, set(graph)) | {RUN_EXECUTOR}
    return sorted(reachable(graph, start))


def module_files(package_dir: Path, modules: list[str],
                 graph: dict[str, set[str]] | None = None) -> list[Path]:
    """The source files of ``modules`` and of every module they reach, sorted."""
    graph = graph if graph is not None else import_graph(package_dir, PACKAGE)
    names = module_names(package_dir, PACKAGE)
    return sorted(names[m] for m in reachable(graph, set(modules)))


def run_code_files(package_dir: Path, notebook: Path,
                   graph: dict[str, set[str]] | None = None) -> list[Path]:
    """The source files a run of ``notebook`` depends on, sorted (see :func:`run_code_modules`)."""
    names = module_names(package_dir, PACKAGE)
    return sorted(names[m] for m in run_code_modules(package_dir, notebook, graph))


def load_registry(path: Path) -> list[dict]:
    """The registry's runs, each with its parameters (empty when not given); checked for ids.

    Any problem (the file unreadable, not TOML, a run without its keys) is one
    CompendiumError naming the file.
    """
    try:
        registry = tomllib.loads(read_text(path, str(path)))
    except tomllib.TOMLDecodeError as err:
        raise CompendiumError(f"{path}: not valid TOML ({err})") from None
    runs = registry.get("runs", [])
    if not isinstance(runs, list) or not all(isinstance(run, dict) for run in runs):
        raise CompendiumError(f"{path}: 'runs' must be a list of tables ([[runs]])")
    seen: set[str] = set()
    for run in runs:
        for key in ("id", "notebook", "artefacts"):
            if key not in run:
                raise CompendiumError(f"{path}: run {run.get('id', '?')} lacks '{key}'")
        if run["id"] in seen:
            raise CompendiumError(f"{path}: run id '{run['id']}' is listed twice")
        seen.add(run["id"])
        run.setdefault("parameters", {})
        inputs = run.setdefault("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise CompendiumError(f"{path}: run {run['id']}: 'inputs' must be a list of paths")
    return runs


def start_order(runs: list[dict]) -> list[dict]:
    """The runs in the order make starts them: those that draw more figures first.

    Drawing and saving figures is most of what a run costs beyond its kernel, so
    the longest runs start first, and the last to finish does not run alone while
    the other cores wait (the order of a prerequisite list is the order make
    starts its jobs in). Runs that draw as many keep the registry's order; what a
    run writes does not depend on when it ran.
    """
    def figures(run: dict) -> int:
        return sum(str(artefact).startswith("fig-") for artefact in run["artefacts"])

    return sorted(runs, key=figures, reverse=True)


def rules_text(runs: list[dict], registry: Path, outdir: Path) -> str:
    """The make rules: the layout's variables and one rule per run, with the code it imports."""
    package_dir = Path(__file__).resolve().parent.parent
    graph = import_graph(package_dir, PACKAGE)
    lines = [
        f"# Generated from {registry} by src/compendium/pipeline/rules.py; do not edit.",
        layout.make_variables(),
        # `compendium validate` runs compendium.dataset's validation: its code is
        # every module that module reaches, found by the same walk as the runs'.
        "VALIDATION_CODE := " + " ".join(
            p.relative_to(package_dir.parent.parent).as_posix()
            for p in module_files(package_dir, [VALIDATOR])),
        "RUN_IDS := " + " ".join(r["id"] for r in runs),
        "RUN_MANIFESTS = " + " ".join(layout.run_target(r["id"]) for r in start_order(runs)),
        "NOTEBOOKS := " + " ".join(sorted({f"notebooks/{r['notebook']}" for r in runs})),
    ]
    # A run's own inputs besides the dataset: a folder's files, found when make runs (so
    # a file added later counts too), once for every run that reads the folder, through
    # the Makefile's `listed` (the make you start finds them and hands them down).
    folders = sorted({folder for run in runs for folder in run.get("inputs", [])})
    listed = {folder: f"FILES_IN_{folder.strip('/')}" for folder in folders}
    lines.append("RUN_INPUT_LISTS := " + " ".join(listed.values()))
    lines += [f"{var} := $(call listed,{var},find {folder} -type f -not -name '.*' 2>/dev/null)"
              for folder, var in listed.items()]
    lines.append("")
    for run in runs:
        params = outdir / f"params-{run['id']}.json"
        extra = "".join(f" $({listed[folder]})" for folder in run.get("inputs", []))
        notebook = registry.parent / run["notebook"]
        code = " ".join(p.relative_to(package_dir.parent.parent).as_posix()
                        for p in run_code_files(package_dir, notebook, graph)) \
            if notebook.exists() else ""
        lines += [
            f"{layout.run_target(run['id'])}: notebooks/{run['notebook']} "
            f"{params.as_posix()}{extra} {code} $(RUN_INPUTS)",
            f"\t$(COMPENDIUM) run {run['id']} --data $(DATA) --build $(BUILD)",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``rules REGISTRY OUTDIR``: write one parameters file per run and the rules file.

    Returns 0, or 1 with one line on stderr for a registry it cannot use or a
    folder it cannot write, and 2 with the usage line for other arguments.
    """
    if len(argv) != 3:
        print("usage: python -m compendium.pipeline.rules REGISTRY OUTDIR", file=sys.stderr)
        return 2
    registry, outdir = Path(argv[1]), Path(argv[2])
    try:
        runs = load_registry(registry)
        outdir.mkdir(parents=True, exist_ok=True)
        for run in runs:
            write_if_changed(outdir / f"params-{run['id']}.json",
                             json.dumps({"notebook": run["notebook"],
                                         "parameters": run["parameters"],
                                         "artefacts": run["artefacts"]}, sort_keys=True) + "\n")
        # Always rewritten: make compares its time with the registry's.
        atomic_write(outdir / layout.RULES_FILE, rules_text(runs, registry, outdir))
    except CompendiumError as err:
        print(err, file=sys.stderr)
        return 1
    except OSError as err:
        print(os_problem(err), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
