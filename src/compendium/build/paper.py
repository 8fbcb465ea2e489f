"""Assembling and rendering the paper from the notebook runs' artefacts.

The manuscript ``paper/paper.md`` is pandoc Markdown with three additions:

- ``{{key}}`` is replaced by a computed value (from a run's values or the
  build's own, such as the dataset hash); an unknown key stops the build;
- a line ``{{figure fig-id}}`` or ``{{table tbl-id}}`` places an artefact with
  its caption, label and the notebook run that made it;
- a line ``{{interview-guide}}`` places the dataset's interview guide.

Cross-references are written ``@fig-id`` / ``@tbl-id`` and resolved by the
project's pandoc filter, which also numbers displays and keeps
``::: if-synthetic`` / ``::: if-real`` blocks for the right kind of dataset.
Pandoc (from the pypandoc-binary wheel) writes HTML, DOCX and Typst; Typst
(from the typst wheel) writes the PDF. No LaTeX is involved.
"""

from __future__ import annotations

import difflib
import json
import os
import re
import subprocess
import tempfile
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from ..errors import CompendiumError
from .rules import load_registry

VALUE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
DIRECTIVE = re.compile(r"^\{\{\s*(figure|table)\s+([A-Za-z0-9_.-]+)\s*\}\}\s*$")
GUIDE = re.compile(r"^\{\{\s*interview-guide\s*\}\}\s*$")
ASSEMBLED = "paper.assembled.md"
#: Fixed zip timestamps inside the DOCX (pandoc honours SOURCE_DATE_EPOCH): 2010-01-01.
DOCX_EPOCH = "1262304000"
VERSIONED_PACKAGES = ("pandas", "numpy", "scipy", "matplotlib", "seaborn", "krippendorff",
                      "scikit-learn", "papermill", "nbformat", "frictionless", "typst",
                      "pypandoc-binary")


def _assets() -> Path:
    return Path(str(resources.files("compendium") / "build_assets"))


def _atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data.encode("utf-8") if isinstance(data, str) else data)
    os.chmod(tmp, 0o644)  # mkstemp creates owner-only files; outputs are for everyone to read
    os.replace(tmp, path)


def load_runs(build: Path, registry: Path) -> list[dict[str, Any]]:
    """The manifests of every run in the registry, in registry order."""
    manifests = []
    for run in load_registry(registry):
        path = build / "runs" / run["id"] / "manifest.json"
        if not path.exists():
            raise CompendiumError(f"{path}: missing; run `make paper` to execute run '{run['id']}'")
        manifests.append(json.loads(path.read_text(encoding="utf-8")))
    return manifests


def git_commit(root: Path) -> str:
    stamp = root / "commit.txt"
    if stamp.exists():
        return stamp.read_text(encoding="utf-8").strip() or "unknown"
    return "unknown"


def package_versions() -> str:
    versions = []
    for name in VERSIONED_PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(versions)


def pandoc_path() -> str:
    import pypandoc

    return pypandoc.get_pandoc_path()


def pandoc_version() -> str:
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()[0].split()[-1]


# --------------------------------------------------------------------------
# Values


def collect_values(build: Path, registry: Path, data: Path) -> dict[str, dict[str, Any]]:
    """Every value the paper may print: the runs' values and the build's own."""
    from ..dataset import read_descriptor
    from ..datapackage import dataset_hash

    values: dict[str, dict[str, Any]] = {}
    for manifest in load_runs(build, registry):
        run_id = manifest["run"]["id"]
        for key, entry in manifest["values"].items():
            if key in values:
                raise CompendiumError(f"value '{key}' is made by both run '{values[key]['run']}' "
                                      f"and run '{run_id}'; give one of them another name")
            values[key] = {**entry, "run": run_id}
    descriptor = read_descriptor(data)
    digest = dataset_hash(descriptor)
    synthetic = bool(descriptor.get("compendium", {}).get("synthetic"))
    build_values = {
        "dataset.name": descriptor.get("name", data.name),
        "dataset.title": descriptor.get("title", data.name),
        "dataset.hash": digest,
        "dataset.hash_short": digest[:12],
        "dataset.kind": "synthetic" if synthetic else "real (not synthetic)",
        "build.commit": git_commit(build),
        "build.versions": package_versions(),
        "build.pandoc": pandoc_version(),
    }
    for key, text in build_values.items():
        values[key] = {"value": text, "text": text, "run": "build"}
    return values


def substitute_values(text: str, values: dict[str, dict[str, Any]], source: str) -> str:
    """Replace each ``{{key}}``; an unknown key is an error naming its line."""
    problems = []
    for number, line in enumerate(text.splitlines(), start=1):
        if DIRECTIVE.match(line) or GUIDE.match(line):
            continue
        for match in VALUE.finditer(line):
            key = match.group(1)
            if key not in values:
                close = difflib.get_close_matches(key, list(values), n=3)
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                problems.append(f"{source}:{number}: unknown value '{key}'{hint}")
    if problems:
        raise CompendiumError("\n".join(problems))

    def replace(match: re.Match) -> str:
        return str(values[match.group(1)]["text"])

    lines = []
    for line in text.splitlines(keepends=True):
        lines.append(line if DIRECTIVE.match(line) or GUIDE.match(line)
                     else VALUE.sub(replace, line))
    return "".join(lines)


# --------------------------------------------------------------------------
# Assembly


def _describe_run(manifest: dict[str, Any]) -> str:
    """The caption's source note: notebook, run parameters and dataset, with a link.

    The link points at the executed notebook rendered beside the paper
    (``notebooks/<run>.html``), so a reader of the HTML paper can open the run
    that made the display; the PDF and DOCX print the same words.
    """
    run = manifest["run"]
    params = ", ".join(f"{k} = {v}" for k, v in run["parameters"].items())
    notebook = Path(run["notebook"]).name
    label = f"notebook {notebook}" + (f" ({params})" if params else "")
    kind = "synthetic data" if manifest["dataset"]["synthetic"] else "dataset"
    return (f"*Source:* [{label}](notebooks/{run['id']}.html); {kind} "
            f"{manifest['dataset']['name']} (sha256 {manifest['dataset']['hash'][:12]}).")


def artefact_index(manifests: list[dict[str, Any]]) -> dict[str, tuple[dict, dict]]:
    index = {}
    for manifest in manifests:
        for artefact in manifest["artefacts"]:
            index[artefact["id"]] = (artefact, manifest)
    return index


def place_artefact(kind: str, artefact_id: str, index: dict, build: Path, source: str,
                   line: int) -> str:
    if artefact_id not in index:
        close = difflib.get_close_matches(artefact_id, list(index), n=3)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CompendiumError(f"{source}:{line}: no {kind} '{artefact_id}' was made by any "
                              f"run in the registry{hint}")
    artefact, manifest = index[artefact_id]
    if artefact["kind"] != kind:
        raise CompendiumError(f"{source}:{line}: '{artefact_id}' is a {artefact['kind']}, "
                              f"not a {kind}")
    run_dir = f"../runs/{manifest['run']['id']}"
    caption = f"{artefact['caption']} {_describe_run(manifest)}"
    if kind == "figure":
        svg = next(f for f in artefact["files"] if f.endswith(".svg"))
        return f"![{caption}]({run_dir}/{svg}){{#{artefact_id}}}\n"
    table_md = (build / "runs" / manifest["run"]["id"] / f"{artefact_id}.md").read_text(
        encoding="utf-8")
    note = f" {artefact['note']}" if artefact.get("note") else ""
    return f"{table_md}\n: {caption}{note} {{#{artefact_id}}}\n"


def interview_guide_block(data: Path) -> str:
    guide = data / "interview_guide.md"
    if not guide.exists():
        return "The dataset does not include an interview guide.\n"
    lines = guide.read_text(encoding="utf-8").splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    # The guide's own sections sit under the appendix heading, one level down,
    # and like the rest of the appendix they are not numbered.
    return "\n".join("#" + line + " {.unnumbered}" if line.startswith("## ") else line
                      for line in lines) + "\n"


def assemble(paper_md: Path, values: dict, manifests: list[dict], build: Path,
             data: Path) -> str:
    source = paper_md.as_posix()
    text = substitute_values(paper_md.read_text(encoding="utf-8"), values, source)
    index = artefact_index(manifests)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        directive = DIRECTIVE.match(line)
        if directive:
            out.append(place_artefact(directive.group(1), directive.group(2), index, build,
                                      source, number))
        elif GUIDE.match(line):
            out.append(interview_guide_block(data))
        else:
            out.append(line + "\n")
    return "".join(out)


# --------------------------------------------------------------------------
# Rendering


def _pandoc(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    result = subprocess.run([pandoc_path(), *args], cwd=cwd, capture_output=True, text=True,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        message = " ".join(result.stderr.strip().split())
        raise CompendiumError(f"pandoc failed: {message}")


def _common_args(paper_dir: Path, synthetic: bool) -> list[str]:
    return [
        "--from", "markdown",
        "--lua-filter", str(_assets() / "crossref.lua"),
        "--citeproc",
        "--bibliography", str((paper_dir / "references.bib").resolve()),
        "--metadata", f"synthetic={'true' if synthetic else 'false'}",
        "--metadata", "link-citations=true",
        "--resource-path", ".",
        "--standalone",
    ]


def render(fmt: str, build: Path, paper_dir: Path, synthetic: bool) -> Path:
    out_dir = build / "paper"
    assembled = ASSEMBLED
    common = _common_args(paper_dir, synthetic)
    target = out_dir / f"paper.{fmt}"
    with tempfile.TemporaryDirectory(dir=out_dir, prefix=f".{fmt}.") as tmp_name:
        # pandoc runs inside out_dir, so every path handed to it must be absolute
        tmp = Path(tmp_name).resolve()
        staged = tmp / target.name
        if fmt == "html":
            _pandoc([assembled, *common, "--to", "html5", "--embed-resources",
                     "--css", str(_assets() / "paper.css"), "--toc", "--number-sections",
                     "--output", str(staged)], cwd=out_dir)
        elif fmt == "docx":
            _pandoc([assembled, *common, "--to", "docx", "--toc", "--number-sections",
                     "--output", str(staged)], cwd=out_dir, env={"SOURCE_DATE_EPOCH": DOCX_EPOCH})
        elif fmt == "pdf":
            typ = tmp / "paper.typ"
            _pandoc([assembled, *common, "--to", "typst",
                     "--include-in-header", str(_assets() / "typst-header.typ"),
                     "-V", "papersize=a4", "-V", "fontsize=11pt",
                     "-V", "section-numbering=1.1", "-V", "page-numbering=1",
                     "-V", "mainfont=Libertinus Serif",
                     "--output", str(typ)], cwd=out_dir)
            # Typst resolves image paths against the .typ file; keep it beside the
            # assembled Markdown so '../runs/...' points into the build folder.
            typ_final = out_dir / ".paper.typ"
            os.replace(typ, typ_final)
            import typst

            try:
                typst.compile(str(typ_final), output=str(staged), root=str(build.resolve()),
                              ignore_system_fonts=True)
            except Exception as err:  # typst raises its own error type with the message
                raise CompendiumError(f"typst failed on {typ_final}: {err}") from None
        else:
            raise CompendiumError(f"unknown output format '{fmt}'")
        os.replace(staged, target)
    return target


# --------------------------------------------------------------------------
# Provenance


def provenance(build: Path, registry: Path, paper_dir: Path, values: dict) -> dict[str, Any]:
    from .runs import sha256_path

    manifests = load_runs(build, registry)
    commit = git_commit(build)
    displays = []
    for manifest in manifests:
        run = manifest["run"]
        for artefact in manifest["artefacts"]:
            displays.append({
                "id": artefact["id"],
                "kind": artefact["kind"],
                "caption": artefact["caption"],
                "files": [f"runs/{run['id']}/{f}" for f in artefact["files"]],
                "run": run["id"],
                "notebook": run["notebook"],
                "executed_notebook": run["executed_notebook"],
                "parameters": run["parameters"],
                "inputs": run["inputs"],
                "commit": commit,
            })
    run_of = {m["run"]["id"]: m["run"] for m in manifests}
    value_records = []
    for key in sorted(values):
        entry = values[key]
        record = {"id": key, "kind": "value", "text": entry["text"], "run": entry["run"],
                  "commit": commit}
        if entry["run"] in run_of:
            run = run_of[entry["run"]]
            record.update({"notebook": run["notebook"], "parameters": run["parameters"],
                           "inputs": run["inputs"]})
        value_records.append(record)
    return {
        "commit": commit,
        "dataset": manifests[0]["dataset"] if manifests else None,
        "paper_sources": {
            "paper/paper.md": sha256_path(paper_dir / "paper.md"),
            "paper/references.bib": sha256_path(paper_dir / "references.bib"),
        },
        "displays": displays,
        "values": value_records,
    }


# --------------------------------------------------------------------------
# Entry point for make


def build_paper_step(step: str, *, data: Path, build: Path, registry: Path,
                     paper_dir: Path) -> Path:
    out_dir = build / "paper"
    out_dir.mkdir(parents=True, exist_ok=True)
    values_path = out_dir / "values.json"
    if step == "values":
        values = collect_values(build, registry, data)
        _atomic_write(values_path, json.dumps(values, indent=2, ensure_ascii=False,
                                              sort_keys=True) + "\n")
        return values_path
    if step == "notebooks":  # needs only the runs: make may run it beside the values step
        from .site import render_notebooks

        pages = render_notebooks(build, registry)
        stamp = out_dir / "notebooks" / ".rendered"
        _atomic_write(stamp, "".join(f"{p.name}\n" for p in pages))
        return stamp
    values = json.loads(values_path.read_text(encoding="utf-8"))
    if step == "assemble":
        text = assemble(paper_dir / "paper.md", values, load_runs(build, registry), build, data)
        target = out_dir / ASSEMBLED
        _atomic_write(target, text)
        return target
    if step == "provenance":
        target = out_dir / "provenance.json"
        record = provenance(build, registry, paper_dir, values)
        _atomic_write(target, json.dumps(record, indent=2, ensure_ascii=False) + "\n")
        return target
    if step == "site":
        from .site import build_site

        return build_site(build, registry, data)
    synthetic = values["dataset.kind"]["text"] == "synthetic"
    return render(step, build, paper_dir, synthetic)
