"""The build as a Workflow Run RO-Crate: ``BUILD/crate/``, and ``make crate``'s zip.

The crate describes what ``make paper`` did in the research-object standard that
archives read (RO-Crate 1.3, Workflow Run Crate 0.5 and, through it, Process Run
Crate 0.5 and Workflow RO-Crate 1.0). It is built with the ``rocrate`` library
(ro-crate-py) from what the build already recorded, never from hand-written
JSON-LD:

- the root dataset: name, description, the two licences (MIT for the code,
  CC BY 4.0 for text and data), authors and citations from ``CITATION.cff``;
- the dataset's files with their sha256, media type and the Frictionless
  descriptor; transcripts only when the dataset is synthetic or when asked
  for, so a real study's transcripts never leave by accident;
- the software: the build (``Makefile``) as the main workflow, each notebook as
  a ``ComputationalWorkflow`` with its parameters as ``FormalParameter``s, the
  run registry, the lock file and the package;
- each run as a ``CreateAction`` (instrument: its notebook; object: its inputs
  and parameter values; result: its executed notebook, figures, tables and
  manifest of values), and the render as the main workflow's action, whose
  results are the paper in three formats and its provenance;
- ``ro-crate-preview.html``, the metadata as a page a person reads
  (:mod:`compendium.pipeline.crate_preview`).

Times are those of the build's commit (the reproducible-builds convention
``SOURCE_DATE_EPOCH`` when set), or the times a run's manifest records, so the
crate is byte-identical wherever the build is. Every path in it is relative.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import zipfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..dataset.datapackage import (
    DESCRIPTOR,
    file_matches_hash,
    is_synthetic,
    read_descriptor,
)
from ..errors import CompendiumError
from ..fileio import (
    atomic_write,
    remove_tree,
    replace_dir,
    sha256_file,
    staged_file,
    staging_dir,
)
from ..layout import CRATE_PREVIEW, FORMATS, Layout
from .crate_preview import preview_html
from .rules import load_registry
from .runs import load_runs

#: The profiles the crate conforms to (versioned permalinks).
PROFILES = {
    "https://w3id.org/ro/wfrun/process/0.5": ("Process Run Crate", "0.5"),
    "https://w3id.org/ro/wfrun/workflow/0.5": ("Workflow Run Crate", "0.5"),
    "https://w3id.org/workflowhub/workflow-ro-crate/1.0": ("Workflow RO-Crate", "1.0"),
}
WORKFLOW_RO_CRATE = "https://w3id.org/workflowhub/workflow-ro-crate/1.0"
WORKFLOW_TYPE = ["File", "SoftwareSourceCode", "ComputationalWorkflow"]
RO_CRATE_VERSION = "1.1"
#: schema.org's sha256, which the RO-Crate 1.1 context does not name: an extra term.
SHA256 = "sha256"
FORMAL_PARAMETER = "https://bioschemas.org/profiles/FormalParameter/1.0-RELEASE"
COMPUTATIONAL_WORKFLOW = "https://bioschemas.org/profiles/ComputationalWorkflow/1.0-RELEASE"
LICENCES = {
    "code": ("https://spdx.org/licenses/MIT", "MIT License", "LICENSE"),
    "text": ("https://creativecommons.org/licenses/by/4.0/",
             "Creative Commons Attribution 4.0 International", "LICENSE-data-text.md"),
}
#: Used when neither SOURCE_DATE_EPOCH nor git gives a time: 2010-01-01 (as the DOCX's).
FALLBACK_EPOCH = 1262304000
MEDIA_TYPES = {".ipynb": "application/x-ipynb+json", ".svg": "image/svg+xml",
               ".png": "image/png", ".csv": "text/csv", ".md": "text/markdown",
               ".json": "application/json", ".pdf": "application/pdf",
               ".html": "text/html", ".toml": "application/toml", ".txt": "text/plain",
               ".bib": "application/x-bibtex", ".cff": "application/x-yaml",
               ".docx": "application/vnd.openxmlformats-officedocument."
                        "wordprocessingml.document"}
#: Files of the package that are build products, not source.
NOT_SOURCE = ("__pycache__", ".pyc")


def build_time(repo: Path, commit: str) -> str:
    """The build's deterministic time, ISO 8601 in UTC.

    ``SOURCE_DATE_EPOCH`` when set (reproducible-builds.org), else the
    committer time of the commit the build records, else a fixed date: never
    the clock, so two builds of one commit give the same bytes.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None and commit not in ("", "unknown"):
        result = subprocess.run(["git", "log", "-1", "--format=%ct", commit.split("-")[0]],
                                cwd=repo, capture_output=True, text=True)
        epoch = result.stdout.strip() if result.returncode == 0 else None
    seconds = int(epoch) if epoch and epoch.isdigit() else FALLBACK_EPOCH
    return datetime.fromtimestamp(seconds, tz=UTC).isoformat()


def media_type(path: str | Path) -> str:
    """The IANA media type the crate records for a file."""
    return MEDIA_TYPES.get(Path(path).suffix.lower(), "application/octet-stream")


def notebook_parameters(notebook: Path) -> list[str]:
    """Names the notebook's cell tagged ``parameters`` assigns.

    Read as plain JSON rather than with nbformat, whose import alone would
    double the crate's share of the build time.
    """
    import ast

    nb = json.loads(notebook.read_text(encoding="utf-8"))
    for cell in nb.get("cells", []):
        if cell.get("cell_type") == "code" and "parameters" in cell.get("metadata", {}).get(
                "tags", []):
            source = cell["source"] if isinstance(cell["source"], str) else "".join(cell["source"])
            return [t.id for node in ast.parse(source).body if isinstance(node, ast.Assign)
                    for t in node.targets if isinstance(t, ast.Name)]
    return []


def _parameter_type(value: Any) -> str:
    if isinstance(value, bool):
        return "Boolean"
    if isinstance(value, int):
        return "Integer"
    if isinstance(value, float):
        return "Float"
    return "Text"


def _citation(repo: Path) -> dict[str, Any]:
    import yaml

    path = repo / "CITATION.cff"
    if not path.exists():
        raise CompendiumError(f"{path}: missing; the crate takes its authors and title from it")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def person_name(author: dict[str, Any]) -> str:
    """An author's name as CITATION.cff gives it (``name`` or given and family names)."""
    if author.get("name"):
        return str(author["name"])
    return " ".join(str(author[k]) for k in ("given-names", "family-names") if author.get(k))


def _authors(crate, citation: dict[str, Any]) -> list:
    from rocrate.model.contextentity import ContextEntity

    entities = []
    for number, author in enumerate(citation.get("authors", []), start=1):
        orcid = author.get("orcid")
        identifier = orcid if orcid else f"#author-{number}"
        kind = "Person" if author.get("family-names") else "Organization"
        entities.append(crate.add(ContextEntity(crate, identifier, properties={
            "@type": kind, "name": person_name(author)})))
    return entities


def _references(crate, citation: dict[str, Any]) -> list:
    from rocrate.model.contextentity import ContextEntity

    entities = []
    for number, ref in enumerate(citation.get("references", []), start=1):
        identifier = f"https://doi.org/{ref['doi']}" if ref.get("doi") else f"#reference-{number}"
        props = {"@type": "ScholarlyArticle" if ref.get("type") == "article" else "Report",
                 "name": " ".join(str(ref.get("title", "")).split()),
                 "author": [person_name(a) for a in ref.get("authors", [])]}
        if ref.get("year"):
            props["datePublished"] = str(ref["year"])
        entities.append(crate.add(ContextEntity(crate, identifier, properties=props)))
    return entities


def _add_file(crate, source: Path, dest: str, **properties: Any):
    props = {"name": Path(dest).name, "encodingFormat": media_type(dest),
             "contentSize": str(source.stat().st_size), SHA256: sha256_file(source),
             **properties}
    return crate.add_file(source, dest_path=dest, properties=props)


def _dataset_files(crate, data: Path, descriptor: dict[str, Any],
                   transcripts: bool) -> tuple[Any, list]:
    """The dataset folder and its files; transcripts only when allowed."""
    prefix = f"data/{descriptor.get('name', data.name)}/"
    files = [_add_file(crate, data / DESCRIPTOR, prefix + DESCRIPTOR,
                       name="Frictionless Data Package descriptor",
                       conformsTo={"@id": "https://specs.frictionlessdata.io/data-package/"})]
    for resource in descriptor.get("resources", []):
        rel = resource["path"]
        if rel.startswith("transcripts/") and not transcripts:
            continue
        props = {"encodingFormat": resource.get("mediatype", media_type(rel))}
        recorded = str(resource.get("hash", "")).startswith("sha256:")
        if recorded and not file_matches_hash(data / rel, resource):
            raise CompendiumError(f"{data / rel}: its sha256 differs from {DESCRIPTOR}; "
                                  f"run `compendium validate {data}`")
        files.append(_add_file(crate, data / rel, prefix + rel, **props))
    synthetic = is_synthetic(descriptor)
    description = str(descriptor.get("description", ""))
    if synthetic and not description.upper().startswith("SYNTHETIC"):
        description = "SYNTHETIC demonstration data. " + description
    folder = crate.add_dataset(None, prefix, properties={
        "name": descriptor.get("title", data.name), "description": description,
        "hasPart": files,
        "license": {"@id": LICENCES["text"][0]}})
    return folder, files


def _copy_package(package: Path, target: Path) -> None:
    for path in sorted(package.rglob("*")):
        rel = path.relative_to(package)
        if path.is_file() and not any(part == "__pycache__" or part.endswith(".pyc")
                                      for part in rel.parts):
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / rel)


def _single_values(crate) -> None:
    """Write one-element lists as the value itself, as RO-Crate 1.1's JSON-LD style asks."""
    for entity in crate.get_entities():
        for key, value in list(entity.as_jsonld().items()):
            if key != "@type" and isinstance(value, list) and len(value) == 1:
                entity[key] = value[0]


def build_crate(build: Path, registry: Path, data: Path, paper_dir: Path, *,
                transcripts: bool | None = None) -> Path:
    """Write ``BUILD/crate/`` from the finished build; return its metadata file.

    ``transcripts`` None includes the transcripts only when the dataset is the
    synthetic one; True includes them for any dataset, False never.
    """
    from rocrate.model.contextentity import ContextEntity
    from rocrate.rocrate import ROCrate

    paths = Layout(build)
    repo = registry.parent.parent
    manifests = load_runs(build, registry)
    runs = {run["id"]: run for run in load_registry(registry)}
    descriptor = read_descriptor(data)
    synthetic = is_synthetic(descriptor)
    commit = paths.commit.read_text(encoding="utf-8").strip() if paths.commit.exists() \
        else "unknown"
    when = build_time(repo, commit)
    citation = _citation(repo)

    # RO-Crate 1.1: the version the Workflow Run Crate 0.5 profile is written for. The
    # library lists the preview in the metadata; the page itself is replaced below.
    crate = ROCrate(gen_preview=True, version=RO_CRATE_VERSION)
    crate.metadata.extra_terms[SHA256] = "http://schema.org/sha256"
    root = crate.root_dataset
    kind = "synthetic demonstration data" if synthetic else "a real (not synthetic) dataset"
    root["name"] = " ".join(str(citation.get("title", "Research compendium")).split())
    root["description"] = (
        f"Research compendium built from {kind} ({descriptor.get('title', data.name)}): "
        "the notebook runs that make every figure, table and value of the working paper, "
        f"and the paper in PDF, HTML and DOCX, built from commit {commit}.")
    root["datePublished"] = when
    root["version"] = str(citation.get("version", ""))
    root["keywords"] = list(citation.get("keywords", []))
    licences = [crate.add(ContextEntity(crate, url, properties={
        "@type": "CreativeWork", "name": name, "description": f"see {file} in the crate"}))
        for url, name, file in LICENCES.values()]
    root["license"] = licences
    authors = _authors(crate, citation)
    root["author"] = authors
    root["citation"] = _references(crate, citation)
    root["conformsTo"] = [crate.add(ContextEntity(crate, url, properties={
        "@type": "CreativeWork", "name": name, "version": version}))
        for url, (name, version) in PROFILES.items()]
    for url, _, file in LICENCES.values():
        _add_file(crate, repo / file, file, license={"@id": url})
    _add_file(crate, repo / "CITATION.cff", "CITATION.cff")

    data_folder, _ = _dataset_files(crate, data, descriptor,
                                             synthetic if transcripts is None else transcripts)
    # Inputs a run reads besides the dataset (runs.toml `inputs`, e.g. the synthetic class).
    extra_inputs: dict[str, Any] = {}
    for run in runs.values():
        for folder in run.get("inputs", []):
            if folder in extra_inputs:
                continue
            files = [_add_file(crate, p, p.relative_to(repo).as_posix())
                     for p in sorted((repo / folder).rglob("*"))
                     if p.is_file() and not p.name.startswith(".")]
            extra_inputs[folder] = crate.add_dataset(None, folder.rstrip("/") + "/", properties={
                "name": folder, "hasPart": files})

    python = crate.add(ContextEntity(crate, "#python", properties={
        "@type": "ComputerLanguage", "name": "Python", "url": {"@id": "https://www.python.org/"},
        "description": "Jupyter notebooks executed by papermill with the python3 kernel"}))
    make_lang = crate.add(ContextEntity(crate, "#make", properties={
        "@type": "ComputerLanguage", "name": "GNU Make",
        "url": {"@id": "https://www.gnu.org/software/make/"}}))

    notebooks: dict[str, Any] = {}
    parameters: dict[tuple[str, str], Any] = {}
    for run in runs.values():
        name = run["notebook"]
        if name in notebooks:
            continue
        source = registry.parent / name
        inputs = []
        for param in notebook_parameters(source):
            pid = f"#param-{Path(name).stem}-{param}"
            example = next((r["parameters"][param] for r in runs.values()
                            if r["notebook"] == name and param in r["parameters"]), "")
            parameters[(name, param)] = crate.add(ContextEntity(crate, pid, properties={
                "@type": "FormalParameter", "name": param,
                "additionalType": _parameter_type(example),
                "conformsTo": {"@id": FORMAL_PARAMETER}}))
            inputs.append(parameters[(name, param)])
        notebooks[name] = _add_file(
            crate, source, f"notebooks/{name}", name=f"notebook {name}",
            programmingLanguage=python, input=inputs,
            conformsTo={"@id": COMPUTATIONAL_WORKFLOW}, **{"@type": WORKFLOW_TYPE})

    registry_file = _add_file(crate, registry, "notebooks/runs.toml",
                              name="the run registry: every notebook run the paper needs")
    lock = _add_file(crate, repo / "requirements.lock", "requirements.lock",
                     name="exact versions of every Python package the build used")
    package = crate.add_dataset(None, "src/compendium/", properties={
        "@type": ["Dataset", "SoftwareSourceCode"], "name": "the compendium Python package",
        "programmingLanguage": python, "version": str(citation.get("version", ""))})
    main = _add_file(crate, repo / "Makefile", "Makefile",
                     name="the build: make paper", programmingLanguage=make_lang,
                     hasPart=[registry_file, *notebooks.values()],
                     conformsTo={"@id": COMPUTATIONAL_WORKFLOW}, **{"@type": WORKFLOW_TYPE})
    crate.mainEntity = main
    for workflow in (main, *notebooks.values()):
        workflow["version"] = str(citation.get("version", ""))

    run_actions = []
    for manifest in manifests:
        run = manifest["run"]
        run_id = run["id"]
        folder = paths.run(run_id)
        results = [_add_file(crate, p, f"runs/{run_id}/{p.relative_to(folder).as_posix()}")
                   for p in sorted(folder.rglob("*")) if p.is_file()]
        values = [crate.add(ContextEntity(crate, f"#run-{run_id}-{key}", properties={
            "@type": "PropertyValue", "name": key, "value": str(value),
            "exampleOfWork": parameters[(runs[run_id]["notebook"], key)]}))
            for key, value in run["parameters"].items()
            if (runs[run_id]["notebook"], key) in parameters]
        objects = [data_folder, *(extra_inputs[f] for f in runs[run_id].get("inputs", []))]
        action = crate.add_action(notebooks[runs[run_id]["notebook"]], identifier=f"#run-{run_id}",
                                  object=[*objects, *values], result=results, properties={
            "name": f"run {run_id}: {runs[run_id]['notebook']}"
                    + (" (" + ", ".join(f"{k} = {v}" for k, v in run["parameters"].items()) + ")"
                       if run["parameters"] else ""),
            "description": f"papermill executed notebooks/{runs[run_id]['notebook']} with these "
                           "parameter values on the dataset; its results are the executed "
                           "notebook and the figures, tables and values it saved",
            "agent": authors,
            "startTime": run.get("started", when), "endTime": run.get("ended", when)})
        run_actions.append(action)

    paper_sources = [_add_file(crate, paper_dir / name, f"paper/source/{name}")
                     for name in ("paper.md", "references.bib")]
    paper_files = [_add_file(crate, paths.rendered_paper(fmt), f"paper/paper.{fmt}",
                             name=f"the paper ({fmt.upper()})") for fmt in FORMATS]
    provenance = _add_file(crate, paths.provenance, "paper/provenance.json",
                           name="provenance of every display and value of the paper")
    # The HTML paper links each display to its run's executed notebook, rendered beside it.
    pages = [_add_file(crate, page, f"paper/{paths.notebook_pages.name}/{page.name}",
                       name=f"executed notebook of run {page.stem} (HTML)")
             for page in sorted(paths.notebook_pages.glob("*.html"))]
    crate.add_action(main, identifier="#render",
                     object=[*paper_sources, data_folder, lock, package, *extra_inputs.values()],
                     result=[*paper_files, provenance, *pages], properties={
        "name": "make paper: run every notebook and render the paper",
        "description": "the build: every run of notebooks/runs.toml, then the paper rendered "
                       "by pandoc and Typst in three formats, and its provenance",
        "agent": authors,
        "startTime": when, "endTime": when})
    root["mentions"] = [crate.dereference("#render"), *run_actions]
    # Workflow RO-Crate asks the metadata file itself to name its profile too.
    crate.metadata["conformsTo"] = [{"@id": f"https://w3id.org/ro/crate/{RO_CRATE_VERSION}"},
                                    {"@id": WORKFLOW_RO_CRATE}]
    _single_values(crate)

    staging = staging_dir(paths.crate)
    try:
        crate.write(staging)
        _copy_package(Path(__file__).resolve().parent.parent, staging / "src" / "compendium")
        metadata = staging / paths.crate_metadata.name
        # ro-crate-py's preview is not the valid HTML 5 RO-Crate 1.1 asks for (a list of
        # licences comes out as Python's repr, unescaped), escapes no text a dataset's
        # title may hold, and lacks the copy of the JSON-LD 1.1 requires: ours replaces it.
        atomic_write(staging / CRATE_PREVIEW, preview_html(
            json.loads(metadata.read_text(encoding="utf-8")), synthetic=synthetic))
        # The metadata file is make's target: it must be the newest file of the crate.
        os.utime(metadata, None)
        replace_dir(staging, paths.crate)
    except BaseException:
        remove_tree(staging)
        raise
    return paths.crate_metadata


def zip_crate(build: Path) -> Path:
    """``BUILD/crate.zip``: the crate's files in name order with fixed times, atomically."""
    paths = Layout(build)
    if not paths.crate_metadata.exists():
        raise CompendiumError(f"{paths.crate_metadata}: missing; run `make paper` first")
    with staged_file(paths.crate_zip) as staged, \
            zipfile.ZipFile(staged, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for path in sorted(p for p in paths.crate.rglob("*") if p.is_file()):
            info = zipfile.ZipInfo(path.relative_to(paths.crate).as_posix(),
                                   date_time=(2010, 1, 1, 0, 0, 0))
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            archive.writestr(info, path.read_bytes())
    return paths.crate_zip
