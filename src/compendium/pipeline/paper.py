"""Assembling and rendering the paper from the notebook runs' artefacts.

The manuscript ``paper/paper.md`` is pandoc Markdown with three additions:

- ``{{key}}`` is replaced by a computed value (from a run's values or the
  build's own, such as the dataset hash); an unknown key stops the build;
- a line ``{{figure fig-id}}`` or ``{{table tbl-id}}`` places an artefact with
  its caption, label and the notebook run that made it; a figure may carry
  classes (``{{figure fig-id .float}}``), which the PDF's look
  (``build_assets/paper.typ``) gives a meaning;
- a line ``{{interview-guide}}`` places the dataset's interview guide.

Cross-references are written ``@fig-id`` / ``@tbl-id`` and resolved by the
project's pandoc filter, which also numbers displays and keeps
``::: if-synthetic`` / ``::: if-real`` blocks for the right kind of dataset.
Pandoc (from the pypandoc-binary wheel) reads the assembled manuscript once,
resolving cross-references and citations, and writes HTML, DOCX and Typst from
that one document at the same time; Typst (the typst wheel's Python API, in this
process) writes the PDF. No LaTeX is involved.
"""

from __future__ import annotations

import difflib
import os
import re
from importlib import metadata, resources
from pathlib import Path
from typing import Any

from ..errors import CompendiumError
from ..fileio import atomic_write, publish, remove_tree, sha256_file, staging_dir
from ..layout import FORMATS, Layout
from .pandoc import finish_pandoc, pandoc_version, reference_docx, start_pandoc
from .runs import REPOSITORY, load_runs

VALUE = re.compile(r"\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}")
DIRECTIVE = re.compile(r"^\{\{\s*(figure|table)\s+([A-Za-z0-9_.-]+)"
                       r"((?:\s+\.[A-Za-z][A-Za-z0-9_-]*)*)\s*\}\}\s*$")
GUIDE = re.compile(r"^\{\{\s*interview-guide\s*\}\}\s*$")
#: Fixed zip timestamps inside the DOCX (pandoc honours SOURCE_DATE_EPOCH): 2010-01-01.
DOCX_EPOCH = "1262304000"
VERSIONED_PACKAGES = ("pandas", "numpy", "scipy", "matplotlib", "seaborn", "krippendorff",
                      "scikit-learn", "papermill", "nbformat", "frictionless", "typst",
                      "pypandoc-binary")


def assets() -> Path:
    """The folder of the pandoc filters, the PDF's look (Typst) and the HTML style sheet."""
    return Path(str(resources.files("compendium") / "build_assets"))


def git_commit(root: Path) -> str:
    """The commit the build recorded in its stamp, or 'unknown'."""
    stamp = Layout(root).commit
    if stamp.exists():
        return stamp.read_text(encoding="utf-8").strip() or "unknown"
    return "unknown"


def package_versions() -> str:
    """The versions of the packages that shape the results, as printed in the colophon."""
    versions = []
    for name in VERSIONED_PACKAGES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            continue
    return ", ".join(versions)


# --------------------------------------------------------------------------
# Values


def collect_values(build: Path, registry: Path, data: Path) -> dict[str, dict[str, Any]]:
    """Every value the paper may print: the runs' values and the build's own."""
    # The descriptor alone: the build validated the dataset before any run.
    from ..dataset.datapackage import dataset_hash, is_synthetic, read_descriptor

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
    synthetic = is_synthetic(descriptor)
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
    """Each artefact id with its manifest entry and the manifest of the run that made it."""
    index = {}
    for manifest in manifests:
        for artefact in manifest["artefacts"]:
            index[artefact["id"]] = (artefact, manifest)
    return index


def place_artefact(kind: str, artefact_id: str, index: dict, build: Path, source: str,
                   line: int, classes: str = "") -> str:
    """The Markdown that places one figure or table, with its caption and source note.

    ``classes`` (such as ``" .float"``, as written after a figure's id) are kept
    on the figure for the filter; a table takes none.
    """
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
        return f"![{caption}]({run_dir}/{svg}){{#{artefact_id}{classes}}}\n"
    if classes.strip():
        raise CompendiumError(f"{source}:{line}: a table takes no classes "
                              f"('{classes.strip()}'); only figures do")
    table_md = (Layout(build).run(manifest["run"]["id"]) / f"{artefact_id}.md").read_text(
        encoding="utf-8")
    note = f" {artefact['note']}" if artefact.get("note") else ""
    return f"{table_md}\n: {caption}{note} {{#{artefact_id}}}\n"


def interview_guide_block(data: Path) -> str:
    """The dataset's interview guide as an appendix section, or a sentence saying there is none."""
    from ..dataset.datapackage import INTERVIEW_GUIDE
    from ..dataset.tableio import read_transcript_text

    guide = data / INTERVIEW_GUIDE
    if not guide.exists():
        return "The dataset does not include an interview guide.\n"
    lines = read_transcript_text(guide, str(guide)).splitlines()
    if lines and lines[0].startswith("# "):
        lines = lines[1:]
    # The guide's own sections sit under the appendix heading, one level down,
    # and like the rest of the appendix they are not numbered.
    return "\n".join("#" + line + " {.unnumbered}" if line.startswith("## ") else line
                      for line in lines) + "\n"


def assemble(paper_md: Path, values: dict, manifests: list[dict], build: Path,
             data: Path) -> str:
    """The manuscript with every value, display and the interview guide in place."""
    source = paper_md.as_posix()
    text = substitute_values(paper_md.read_text(encoding="utf-8"), values, source)
    index = artefact_index(manifests)
    out = []
    for number, line in enumerate(text.splitlines(), start=1):
        directive = DIRECTIVE.match(line)
        if directive:
            out.append(place_artefact(directive.group(1), directive.group(2), index, build,
                                      source, number, directive.group(3)))
        elif GUIDE.match(line):
            out.append(interview_guide_block(data))
        else:
            out.append(line + "\n")
    return "".join(out)


# --------------------------------------------------------------------------
# Rendering


def conditions(values: dict, synthetic: bool) -> tuple[bool, str, tuple[str, ...]]:
    """What the filter's conditional blocks follow: ``synthetic`` and the runs' recorded values.

    Whether the data are synthetic is given as a value (the descriptor's flag,
    or what the runs recorded), never worked out from a printed text; the study
    the dataset's design names and the keys of the values recorded as true (for
    ``::: if-value`` blocks) come from ``values``.
    """
    study = values.get("design.study", {}).get("text") or ""
    true_values = tuple(sorted(k for k, v in values.items() if v.get("value") is True))
    return synthetic, study, true_values


def filter_metadata(synthetic: bool, study: str = "",
                    true_values: tuple[str, ...] = ()) -> list[str]:
    """Pandoc's ``--metadata`` options that the filter's conditional blocks read."""
    return [
        "--metadata", f"synthetic={'true' if synthetic else 'false'}",
        # the study whose design the dataset declares: ::: if-study blocks follow it
        "--metadata", f"study={study}",
        # the values the runs recorded as true: ::: if-value / unless-value blocks follow them
        "--metadata", f"true-values={','.join(true_values)}",
    ]


def _common_args(paper_dir: Path, synthetic: bool, study: str = "",
                 true_values: tuple[str, ...] = ()) -> list[str]:
    return [
        "--from", "markdown",
        "--lua-filter", str(assets() / "crossref.lua"),
        "--citeproc",
        "--bibliography", str((paper_dir / "references.bib").resolve()),
        *filter_metadata(synthetic, study, true_values),
        "--metadata", "link-citations=true",
        "--resource-path", ".",
        "--standalone",
    ]


def _writer_args(fmt: str, staged: Path) -> tuple[list[str], dict[str, str] | None]:
    """Pandoc's options for one output format (for the PDF: the Typst source)."""
    # The filter runs again on the parsed document for what depends on the
    # output format (Typst keywords, PNG figures in DOCX); numbering and
    # cross-references were resolved in the parse and are not redone.
    common = ["--from", "json", "--lua-filter", str(assets() / "crossref.lua"),
              "--resource-path", ".", "--standalone"]
    if fmt == "html":
        return [*common, "--to", "html5", "--embed-resources",
                "--css", str(assets() / "paper.css"), "--toc", "--number-sections",
                "--output", str(staged)], None
    if fmt == "docx":
        # pandoc's reference document, with the table text style the filter uses
        return [*common, "--to", "docx", "--toc", "--number-sections",
                "--reference-doc", str(reference_docx(staged.parent / "reference.docx")),
                "--output", str(staged)], {"SOURCE_DATE_EPOCH": DOCX_EPOCH}
    if fmt == "pdf":
        # The page, type and every other part of the PDF's look are paper.typ's.
        # Without its `smart` extension the Typst writer keeps ’ and quoted text as
        # the typographic marks themselves; with it, it wrote straight marks and left
        # the choice to Typst's smart quotes, which pick the opening form after a
        # full stop, and every illustrative quote closed with an opening mark.
        return [*common, "--to", "typst-citations-smart",
                "--include-in-header", str(assets() / "paper.typ"),
                "--output", str(staged)], None
    raise CompendiumError(f"unknown output format '{fmt}'")


def render(build: Path, paper_dir: Path, synthetic: bool,
           formats: tuple[str, ...] = FORMATS, study: str = "",
           true_values: tuple[str, ...] = ()) -> list[Path]:
    """Render the assembled paper to every format from one pandoc parse; return the files.

    Pandoc parses the manuscript once (filter and citations included) into its
    document tree; the writers for HTML, DOCX and Typst then run side by side
    on that tree, and Typst compiles the PDF in this process. Each file is
    staged and renamed into place, and the ``.rendered`` stamp, make's target,
    is written last, so a render killed half-way is redone in full.
    """
    paths = Layout(build)
    out_dir = paths.paper
    # A fixed staging name, emptied first: a render killed before it finished
    # leaves nothing behind once the next one ran.
    tmp = staging_dir(out_dir / "render").resolve()
    try:
        # pandoc runs inside out_dir, so every path handed to it must be absolute
        parse = start_pandoc([paths.assembled.name,
                              *_common_args(paper_dir, synthetic, study, true_values),
                              "--to", "json", "--output", str(tmp / "paper.json")], cwd=out_dir)
        try:
            if "pdf" in formats:
                _warm_typst(build)
            finish_pandoc(parse)
        finally:
            if parse.poll() is None:
                parse.kill()
        staged = {fmt: tmp / ("paper.typ" if fmt == "pdf" else f"paper.{fmt}")
                  for fmt in formats}
        # The Typst writer is started first and awaited first, so that the PDF
        # compiles in this process while pandoc still writes HTML and DOCX.
        order = sorted(formats, key=lambda fmt: fmt != "pdf")
        writers = {}
        try:
            for fmt in order:
                args, env = _writer_args(fmt, staged[fmt])
                writers[fmt] = start_pandoc([str(tmp / "paper.json"), *args], cwd=out_dir,
                                            env=env)
            for fmt in order:
                finish_pandoc(writers[fmt])
                if fmt == "pdf":
                    staged["pdf"] = _compile_pdf(build, staged["pdf"], tmp)
        finally:
            for process in writers.values():
                if process.poll() is None:
                    process.kill()
        targets = []
        for fmt in formats:
            target = paths.rendered_paper(fmt)
            publish(staged[fmt], target)
            targets.append(target)
    finally:
        remove_tree(tmp)
    atomic_write(paths.rendered, "".join(f"{t.name}\n" for t in targets))
    return targets


def _typst_source(build: Path) -> Path:
    """Where the PDF's Typst source is compiled from: beside the assembled Markdown, so that
    Typst, which resolves image paths against it, finds '../runs/...' in the build folder."""
    return Layout(build).paper / ".paper.typ"


def _warm_typst(build: Path) -> None:
    """Compile the last render's Typst source, if there is one, and throw the PDF away.

    Called while pandoc parses the manuscript: Typst keeps in this process what
    it worked out (fonts, figures, the layout of what did not change), so the
    new source, compiled from the same path, takes a fifth of the time. What
    it keeps changes no byte of the PDF (``tests/test_build.py`` compares the
    two); a source that no longer compiles only goes unused.
    """
    import typst

    source = _typst_source(build)
    if source.is_file():
        try:
            typst.compile(str(source), root=str(build.resolve()), ignore_system_fonts=True)
        except Exception:  # noqa: BLE001 - the compile that counts comes later and reports
            pass


def _compile_pdf(build: Path, typ: Path, tmp: Path) -> Path:
    """Compile the Typst source with the typst wheel's Python API; return the staged PDF."""
    import typst

    typ_final = _typst_source(build)
    publish(typ, typ_final)
    staged = tmp / "paper.pdf"
    try:
        typst.compile(str(typ_final), output=str(staged), root=str(build.resolve()),
                      ignore_system_fonts=True)
    except Exception as err:  # typst raises its own error type with the message
        raise CompendiumError(f"typst failed on {typ_final}: {err}") from None
    return staged


# --------------------------------------------------------------------------
# Provenance

HEADING = re.compile(r"^#{1,6}\s+(.*?)\s*(\{[^}]*\})?\s*$")


def value_places(paper_md: Path) -> dict[str, list[str]]:
    """For each value key, the headings of the sections of ``paper.md`` that print it."""
    places: dict[str, list[str]] = {}
    heading = "(before the first heading)"
    for line in paper_md.read_text(encoding="utf-8").splitlines():
        found = HEADING.match(line)
        if found:
            heading = VALUE.sub(lambda m: m.group(1), found.group(1))
            continue
        if DIRECTIVE.match(line) or GUIDE.match(line):
            continue
        for match in VALUE.finditer(line):
            where = places.setdefault(match.group(1), [])
            if heading not in where:
                where.append(heading)
    return places


def provenance(build: Path, registry: Path, paper_dir: Path, values: dict) -> dict[str, Any]:
    """Every display and value of the paper with the run, parameters and inputs that made it.

    Each display and value carries its run's three input hashes; the run's full
    record of inputs (each dataset file, module and the lock, by hash) is given
    once per run, under ``runs``.
    """
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
                "inputs": _input_hashes(run),
                "commit": commit,
            })
    run_of = {m["run"]["id"]: m["run"] for m in manifests}
    places = value_places(paper_dir / "paper.md")
    value_records = []
    for key in sorted(values):
        entry = values[key]
        record = {"id": key, "kind": "value", "text": entry["text"], "run": entry["run"],
                  "commit": commit, "places": places.get(key, [])}
        if entry["run"] in run_of:
            run = run_of[entry["run"]]
            record.update({"notebook": run["notebook"], "parameters": run["parameters"],
                           "inputs": _input_hashes(run)})
        value_records.append(record)
    return {
        "commit": commit,
        "dataset": manifests[0]["dataset"] if manifests else None,
        # The manuscript's folder, relative to the repository (as runs record their dataset),
        # so `compendium diff` can find the bibliography the assembled text cites.
        "paper_dir": Path(os.path.relpath(paper_dir.resolve(), REPOSITORY)).as_posix(),
        "paper_sources": {
            "paper/paper.md": sha256_file(paper_dir / "paper.md"),
            "paper/references.bib": sha256_file(paper_dir / "references.bib"),
        },
        "displays": displays,
        "values": value_records,
        "runs": {m["run"]["id"]: {key: m["run"][key]
                                  for key in ("notebook", "parameters", "inputs", "code_files")
                                  if key in m["run"]}
                 for m in manifests},
    }


def _input_hashes(run: dict[str, Any]) -> dict[str, str]:
    """The three hashes make acts on (dataset, notebook, code), for each display and value."""
    return {key: run["inputs"][key] for key in ("dataset_sha256", "notebook_sha256",
                                                 "code_sha256") if key in run["inputs"]}
