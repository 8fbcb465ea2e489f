"""``BUILD/codecheck.yml``: the CODECHECK manifest (configuration specification 2.0).

A codechecker re-runs the workflow and compares the outputs the manifest lists.
The build writes the author's part: the ``manifest`` (every display's files,
the paper in each format, its values and provenance, each with a comment naming
the display, notebook and parameters that made it), the ``paper`` metadata from
``CITATION.cff`` and the specification ``version``. The checker's fields
(``codechecker``, ``summary``, ``repository``, ``check_time``, ``certificate``,
``report``) are written empty, for the checker to fill.

:func:`check_codecheck` applies the rules of the specification's rule list
(``rules-2.0.yml`` of codecheckers/register) that can be checked offline on the
author's part, and returns each failure as ``FILE: RULE: message``.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from ..errors import CompendiumError
from ..fileio import atomic_write
from ..layout import FORMATS, Layout

SPEC_VERSION = "https://codecheck.org.uk/spec/config/2.0/"
#: The checker's fields, left empty by the author.
CHECKER_FIELDS = ("codechecker", "summary", "repository", "check_time", "certificate", "report")
PLACEHOLDER = re.compile(r"FIXME|TODO|XXXXX", re.IGNORECASE)
ORCID = re.compile(r"^\d{4}-\d{4}-\d{4}-\d{3}[\dX]$")


def _authors(citation: dict[str, Any]) -> list[dict[str, str]]:
    from .crate import person_name

    authors = []
    for author in citation.get("authors", []):
        entry = {"name": person_name(author)}
        if author.get("orcid"):
            entry["ORCID"] = str(author["orcid"]).rsplit("/", 1)[-1]
        authors.append(entry)
    return authors


def _reference(citation: dict[str, Any]) -> str | None:
    if citation.get("doi"):
        return f"https://doi.org/{citation['doi']}"
    return citation.get("url") or citation.get("repository-code")


def _describe(display: dict[str, Any]) -> str:
    params = ", ".join(f"{k} = {v}" for k, v in display["parameters"].items())
    return (f"{display['kind']} {display['id']}: notebook {Path(display['notebook']).name}"
            f" ({params or 'default parameters'}), run {display['run']}")


def codecheck_config(build: Path, repo: Path) -> dict[str, Any]:
    """The configuration as a mapping, in the order the file lists it."""
    import yaml

    paths = Layout(build)
    record = json.loads(paths.provenance.read_text(encoding="utf-8"))
    citation = yaml.safe_load((repo / "CITATION.cff").read_text(encoding="utf-8"))
    manifest = [{"file": paths.rendered_paper(fmt).relative_to(build).as_posix(),
                 "comment": f"the paper ({fmt.upper()}), rendered from paper/paper.md"}
                for fmt in FORMATS]
    manifest.append({"file": paths.values.relative_to(build).as_posix(),
                      "comment": "every value the paper prints, with the run that computed it"})
    for display in record["displays"]:
        for rel in display["files"]:
            manifest.append({"file": rel, "comment": _describe(display)})
    paper: dict[str, Any] = {"title": " ".join(str(citation.get("title", "")).split()),
                             "authors": _authors(citation)}
    reference = _reference(citation)
    if reference:
        paper["reference"] = reference
    return {"version": SPEC_VERSION, "paper": paper, "manifest": manifest,
            **{field: None for field in CHECKER_FIELDS}}


def write_codecheck(build: Path, repo: Path) -> Path:
    """Write ``BUILD/codecheck.yml`` atomically; return its path."""
    import yaml

    config = codecheck_config(build, repo)
    author = {k: v for k, v in config.items() if k not in CHECKER_FIELDS}
    text = ("---\n"
            "# CODECHECK configuration (specification 2.0), written by `make paper`.\n"
            "# Manifest paths are relative to this file (the build folder).\n"
            + yaml.safe_dump(author, sort_keys=False, allow_unicode=True, width=100)
            + "\n# For the codechecker to fill in:\n"
            + "".join(f"{field}:\n" for field in CHECKER_FIELDS))
    return atomic_write(Layout(build).codecheck, text)


def orcid_checksum_ok(orcid: str) -> bool:
    """ISO 7064 11,2 check digit of an ORCID iD (as ORCID documents it)."""
    digits = orcid.replace("-", "")
    total = 0
    for ch in digits[:-1]:
        total = (total + int(ch)) * 2
    check = (12 - total % 11) % 11
    return digits[-1] == ("X" if check == 10 else str(check))


def check_codecheck(path: Path) -> list[str]:
    """The offline rules of CODECHECK spec 2.0 the author's part breaks, as messages."""
    import yaml

    problems: list[str] = []

    def fail(rule: str, message: str) -> None:
        problems.append(f"{path}: {rule}: {message}")

    text = path.read_bytes().decode("utf-8")
    if path.name != "codecheck.yml":
        fail("CC-CFG-003", "the file must be named codecheck.yml")
    if not text.startswith("---"):
        fail("CC-CFG-002", "the file must start with the document marker ---")
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as err:
        raise CompendiumError(f"{path}: CC-CFG-001: not YAML: {err}") from None
    if config.get("version") != SPEC_VERSION:
        fail("CC-CFG-015", f"version is {config.get('version')!r}, not {SPEC_VERSION}")
    manifest = config.get("manifest")
    if not isinstance(manifest, list) or not manifest:
        fail("CC-CFG-004", "no manifest list")
        manifest = []
    for number, item in enumerate(manifest, start=1):
        rel = item.get("file") if isinstance(item, dict) else None
        if not rel:
            fail("CC-CFG-005", f"manifest item {number} has no file")
        elif Path(rel).is_absolute() or ".." in Path(rel).parts:
            fail("CC-CFG-006", f"manifest file {rel} is not relative to codecheck.yml")
        elif not (path.parent / rel).is_file():
            fail("CC-BUN-001", f"manifest file {rel} does not exist")
    paper = config.get("paper")
    if not isinstance(paper, dict):
        fail("CC-CFG-016", "no paper")
        paper = {}
    if not paper.get("title"):
        fail("CC-CFG-017", "paper.title is missing")
    authors = paper.get("authors")
    if not isinstance(authors, list) or not authors:
        fail("CC-CFG-018", "paper.authors lists nobody")
        authors = []
    for author in authors:
        if not author.get("name"):
            fail("CC-CFG-019", "a paper author has no name")
        orcid = str(author.get("ORCID", ""))
        if not orcid:
            fail("CC-CFG-020", f"paper author {author.get('name')!r} has no ORCID "
                               "(add orcid to the author in CITATION.cff)")
        elif not ORCID.match(orcid) or not orcid_checksum_ok(orcid):
            fail("CC-MET-001", f"ORCID {orcid} is not a valid ORCID iD")
    if not paper.get("reference"):
        fail("CC-CFG-021", "paper.reference is missing (add doi, url or repository-code to "
                           "CITATION.cff)")
    author_part = {k: v for k, v in config.items() if k not in CHECKER_FIELDS}
    if PLACEHOLDER.search(json.dumps(author_part)):
        fail("CC-CFG-023", "a field the author fills still holds a FIXME/TODO/XXXXX placeholder")
    return problems
