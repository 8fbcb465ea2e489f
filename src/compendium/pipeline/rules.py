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
from compendium.fileio import atomic_write, write_if_changed

#: The modules whose code shapes a notebook run's outputs. Importers, the
#: synthetic generator and the command line are left out: they only make data,
#: and data changes are tracked through the dataset's own files.
RUN_CODE_PARTS = ("analysis",)
RUN_CODE_MODULES = ("__init__.py", "artefacts.py", "datapackage.py", "dataset.py", "errors.py",
                    "agreement_report.py", "classroom.py", "coding_widget.py", "design.py",
                    "figures.py", "fileio.py", "formatting.py", "layout.py", "narrative.py",
                    "notebook.py", "notebook_steps.py", "tableio.py", "tables.py",
                    "pipeline/runs.py")


def run_code_files(package_dir: Path) -> list[Path]:
    """The source files a notebook run depends on, sorted."""
    files = [package_dir / name for name in RUN_CODE_MODULES if (package_dir / name).exists()]
    for part in RUN_CODE_PARTS:
        files += [p for p in (package_dir / part).rglob("*.py") if "__pycache__" not in p.parts]
    return sorted(set(files))


def load_registry(path: Path) -> list[dict]:
    """The registry's runs, each with its parameters (empty when not given); checked for ids."""
    with open(path, "rb") as handle:
        registry = tomllib.load(handle)
    runs = registry.get("runs", [])
    seen: set[str] = set()
    for run in runs:
        for key in ("id", "notebook", "artefacts"):
            if key not in run:
                raise SystemExit(f"{path}: run {run.get('id', '?')} lacks '{key}'")
        if run["id"] in seen:
            raise SystemExit(f"{path}: run id '{run['id']}' is listed twice")
        seen.add(run["id"])
        run.setdefault("parameters", {})
        inputs = run.setdefault("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(i, str) for i in inputs):
            raise SystemExit(f"{path}: run {run['id']}: 'inputs' must be a list of paths")
    return runs


def rules_text(runs: list[dict], registry: Path, outdir: Path) -> str:
    """The make rules: the layout's variables, the run code, and one rule per run."""
    package_dir = Path(__file__).resolve().parent.parent
    code = [p.relative_to(package_dir.parent.parent).as_posix()
            for p in run_code_files(package_dir)]
    lines = [
        f"# Generated from {registry} by src/compendium/pipeline/rules.py; do not edit.",
        layout.make_variables(),
        "RUN_CODE := " + " ".join(code),
        "RUN_IDS := " + " ".join(r["id"] for r in runs),
        "RUN_MANIFESTS = " + " ".join(layout.run_target(r["id"]) for r in runs),
        "NOTEBOOKS := " + " ".join(sorted({f"notebooks/{r['notebook']}" for r in runs})),
        "",
    ]
    for run in runs:
        params = outdir / f"params-{run['id']}.json"
        # A run's own inputs besides the dataset (a folder's files, found when make runs,
        # so a file added later counts too).
        extra = "".join(f" $(shell find {folder} -type f -not -name '.*' 2>/dev/null)"
                        for folder in run.get("inputs", []))
        lines += [
            f"{layout.run_target(run['id'])}: notebooks/{run['notebook']} "
            f"{params.as_posix()}{extra} $(RUN_INPUTS)",
            f"\t$(COMPENDIUM) run {run['id']} --data $(DATA) --build $(BUILD)",
            "",
        ]
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    """``rules REGISTRY OUTDIR``: write one parameters file per run and the rules file."""
    registry, outdir = Path(argv[1]), Path(argv[2])
    outdir.mkdir(parents=True, exist_ok=True)
    runs = load_registry(registry)
    for run in runs:
        write_if_changed(outdir / f"params-{run['id']}.json",
                          json.dumps({"notebook": run["notebook"],
                                      "parameters": run["parameters"],
                                      "artefacts": run["artefacts"]}, sort_keys=True) + "\n")
    # Always rewritten: make compares its time with the registry's.
    atomic_write(outdir / layout.RULES_FILE, rules_text(runs, registry, outdir))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
