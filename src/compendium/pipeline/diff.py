"""What changed between two builds of the paper, and why: ``compendium diff OLD NEW``.

Each build records, in ``paper/provenance.json`` and its runs' manifests,
which run made every display and value and from which inputs (the dataset's
files by hash, the notebook, the run's parameters, each package module, the
lock). Comparing two builds therefore gives, for every value, table cell and
figure that differs, its old and new form and the inputs of its run that
changed; for a changed table of the dataset, the rows added, removed or changed
(read from the dataset folders the builds recorded, when they still hold the
recorded bytes).

The manuscript as assembled (values filled in) is compared word by word and
written as HTML with ``<ins>``/``<del>`` and as a DOCX with Word's own tracked
changes: pandoc turns ``[text]{.insertion}`` and ``[text]{.deletion}`` spans
into ``w:ins`` and ``w:del``. Their date is the new build's commit date (or
the build's fixed DOCX date), never the clock, so the same builds give the
same bytes.

Everything is written to a staging folder renamed into place, last.
"""

from __future__ import annotations

import csv
import difflib
import html
import io
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dataset.datapackage import (
    DESCRIPTOR,
    TABLE_FILES,
    dataset_hash,
    read_descriptor,
    resource_hashes,
)
from ..errors import CompendiumError
from ..fileio import atomic_write, remove_tree, replace_dir, sha256_file, staging_dir
from ..layout import Layout
from .pandoc import finish_pandoc, run_pandoc, start_pandoc
from .paper import DOCX_EPOCH, assets, conditions, filter_metadata

#: The dataset's four tables, whose rows a cause can name.
TABLES = TABLE_FILES
#: Values that describe the build rather than a result: shown in the header, not as changes.
BUILD_IDENTITY = ("build.commit",)
AUTHOR = "compendium"
#: Markdown characters a deleted word is escaped for, so it reads as the words it was.
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>@$~^:\"'])")
#: Characters that make an inserted run Markdown syntax rather than words; such a run
#: is inserted as it is, unmarked, so the document keeps its structure.
SYNTAX = re.compile(r"[|{}\[\]`<>\\$@]|^[#:!]|!\[")
#: White space; words (hyphenated, with apostrophes, decimals such as 0.45, and
#: cross-references or citation keys such as @fig-x whole); single punctuation marks.
TOKEN = re.compile(r"\s+|@?\w+(?:[-'’:.,/]\w+)*|[^\w\s]")
WORD = re.compile(r"@?\w+(?:[-'’:.,/]\w+)*")


@dataclass
class Build:
    """What one build folder recorded, read once."""

    root: Path
    repository: Path
    provenance: dict[str, Any]
    values: dict[str, Any]
    assembled: str

    @classmethod
    def read(cls, root: Path, repository: Path) -> Build:
        """Read a finished build; a missing part is one line saying what to run."""
        paths = Layout(root)
        for needed in (paths.provenance, paths.values, paths.assembled):
            if not needed.exists():
                raise CompendiumError(f"{needed}: missing; not a finished build "
                                      f"(run `make paper BUILD={root}`)")
        try:
            provenance = json.loads(paths.provenance.read_text(encoding="utf-8"))
            values = json.loads(paths.values.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as err:
            raise CompendiumError(f"{root}: unreadable provenance or values ({err})") from None
        return cls(root, repository, provenance, values,
                   paths.assembled.read_text(encoding="utf-8"))

    @property
    def commit(self) -> str:
        """The git commit the build was made from, or 'unknown'."""
        return str(self.provenance.get("commit") or "unknown")

    def displays(self) -> dict[str, dict[str, Any]]:
        """The build's figures and tables by id, as its provenance records them."""
        return {d["id"]: d for d in self.provenance.get("displays", [])}

    def value_records(self) -> dict[str, dict[str, Any]]:
        """The build's values by key, as its provenance records them."""
        return {v["id"]: v for v in self.provenance.get("values", [])}

    def run_record(self, record: dict[str, Any]) -> dict[str, Any]:
        """The full record of the run that made a display or value (older builds: its own)."""
        return self.provenance.get("runs", {}).get(record.get("run"), record)

    def all_inputs(self) -> list[dict[str, Any]]:
        """Every run's inputs, from ``runs`` or, in older builds, from the displays."""
        runs = self.provenance.get("runs") or {d["run"]: d for d in
                                               self.provenance.get("displays", [])}
        return [r.get("inputs", {}) for r in runs.values()]

    @property
    def synthetic(self) -> bool:
        """Whether the build's runs recorded their dataset as synthetic."""
        return bool((self.provenance.get("dataset") or {}).get("synthetic"))

    def dataset_folder(self, override: Path | None) -> Path | None:
        """The dataset the build was made from: given, or as its runs recorded it."""
        if override is not None:
            return override
        for inputs in self.all_inputs():
            if inputs.get("dataset_path"):
                return (self.repository / inputs["dataset_path"]).resolve()
        return None


# --------------------------------------------------------------------------
# The dataset: files and rows


def dataset_files(build: Build, folder: Path | None) -> dict[str, str]:
    """Each dataset file's sha256, as the runs recorded it or, failing that, its descriptor."""
    for inputs in build.all_inputs():
        if inputs.get("dataset_files"):
            return dict(inputs["dataset_files"])
    if folder is None or not (folder / DESCRIPTOR).exists():
        return {}
    data = read_descriptor(folder)
    # only a folder that still holds the dataset the build was made from answers for it
    recorded = {i.get("dataset_sha256") for i in build.all_inputs()}
    if dataset_hash(data) not in recorded:
        return {}
    return resource_hashes(data)


def _primary_key(folder: Path, name: str) -> list[str]:
    data = read_descriptor(folder)
    for resource in data.get("resources", []):
        if resource.get("path") == name:
            key = resource.get("schema", {}).get("primaryKey") or []
            return [key] if isinstance(key, str) else list(key)
    return []


def _read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    with open(path, encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def row_changes(name: str, old: Path, new: Path) -> list[dict[str, Any]]:
    """Rows added, removed or changed in one table, matched by the table's primary key.

    A row whose key itself changed (a coding moved to another code, say) sits
    at the same row number in both files; it is reported as one changed row,
    with the columns that differ, rather than as one removed and one added.
    Rows are numbered as the validator numbers them (the header is row 1).
    """
    key = _primary_key(new, name) or _primary_key(old, name)
    old_cols, old_rows = _read_rows(old / name)
    new_cols, new_rows = _read_rows(new / name)
    if not key:
        key = new_cols[:1]

    def keyed(rows):
        return {tuple(r.get(k, "") for k in key): (n, r) for n, r in enumerate(rows, start=2)}

    before, after = keyed(old_rows), keyed(new_rows)
    columns = list(dict.fromkeys(new_cols + old_cols))

    def differing(r_old, r_new):
        return {c: [r_old.get(c, ""), r_new.get(c, "")] for c in columns
                if r_old.get(c, "") != r_new.get(c, "")}

    changes = []
    for k in after.keys() & before.keys():
        (_, r_old), (n_new, r_new) = before[k], after[k]
        differ = differing(r_old, r_new)
        if differ:
            changes.append({"file": name, "row": n_new, "change": "changed",
                            "key": dict(zip(key, k, strict=True)), "columns": differ})
    removed = {before[k][0]: before[k][1] for k in before.keys() - after.keys()}
    added = {after[k][0]: after[k][1] for k in after.keys() - before.keys()}
    for row in sorted(removed.keys() & added.keys()):
        r_old, r_new = removed.pop(row), added.pop(row)
        changes.append({"file": name, "row": row, "change": "changed",
                        "key": {k: r_new.get(k, "") for k in key},
                        "columns": differing(r_old, r_new)})
    for row, record in removed.items():
        changes.append({"file": name, "row": row, "change": "removed",
                        "key": {k: record.get(k, "") for k in key}})
    for row, record in added.items():
        changes.append({"file": name, "row": row, "change": "added",
                        "key": {k: record.get(k, "") for k in key}})
    return sorted(changes, key=lambda c: (c["row"], c["change"]))


def dataset_changes(old: Build, new: Build, old_data: Path | None,
                    new_data: Path | None) -> dict[str, Any]:
    """Which dataset files changed, by hash, and for the four tables which rows."""
    old_folder, new_folder = old.dataset_folder(old_data), new.dataset_folder(new_data)
    before, after = dataset_files(old, old_folder), dataset_files(new, new_folder)
    files = []
    for name in sorted(before.keys() | after.keys()):
        if before.get(name) == after.get(name):
            continue
        entry: dict[str, Any] = {"file": name, "old_sha256": before.get(name),
                                 "new_sha256": after.get(name)}
        if name in TABLES and before.get(name) and after.get(name):
            entry["rows"] = _rows_if_available(name, old_folder, new_folder,
                                               before[name], after[name])
        files.append(entry)
    return {"old_path": str(old_folder) if old_folder else None,
            "new_path": str(new_folder) if new_folder else None, "files": files}


def _rows_if_available(name, old_folder, new_folder, old_hash, new_hash):
    """The table's row changes, or None when either folder no longer holds the recorded bytes."""
    for folder, digest in ((old_folder, old_hash), (new_folder, new_hash)):
        if folder is None or not (folder / name).exists() or sha256_file(folder / name) != digest:
            return None
    return row_changes(name, old_folder, new_folder)


# --------------------------------------------------------------------------
# Causes


def run_causes(old: dict[str, Any], new: dict[str, Any], dataset: dict[str, Any]) -> list[dict]:
    """The inputs of a run (from a display's or value's provenance) that changed."""
    causes: list[dict[str, Any]] = []
    oi, ni = old.get("inputs", {}), new.get("inputs", {})
    if oi.get("dataset_sha256") != ni.get("dataset_sha256"):
        if dataset["files"]:
            causes += [{"input": "dataset", **f} for f in dataset["files"]]
        else:
            causes.append({"input": "dataset", "old_sha256": oi.get("dataset_sha256"),
                           "new_sha256": ni.get("dataset_sha256")})
    if old.get("notebook") != new.get("notebook") or \
            oi.get("notebook_sha256") != ni.get("notebook_sha256"):
        causes.append({"input": "notebook", "old": old.get("notebook"),
                       "new": new.get("notebook")})
    op, np_ = old.get("parameters") or {}, new.get("parameters") or {}
    for name in sorted(op.keys() | np_.keys()):
        if op.get(name) != np_.get(name):
            causes.append({"input": "parameter", "name": name, "old": op.get(name),
                           "new": np_.get(name)})
    if oi.get("code_sha256") != ni.get("code_sha256"):
        # each module's hash, where the build recorded it (beside the inputs, or among them)
        oc = old.get("code_files") or oi.get("code_files")
        nc = new.get("code_files") or ni.get("code_files")
        modules = sorted(m for m in (oc or {}).keys() | (nc or {}).keys()
                         if (oc or {}).get(m) != (nc or {}).get(m)) if oc and nc else None
        causes.append({"input": "code", "modules": modules})
    # The lock and the extra folders are compared only where both builds recorded them.
    if "lock_sha256" in oi and "lock_sha256" in ni and oi["lock_sha256"] != ni["lock_sha256"]:
        causes.append({"input": "lock", "old_sha256": oi.get("lock_sha256"),
                       "new_sha256": ni.get("lock_sha256")})
    both = "extra_inputs" in oi and "extra_inputs" in ni
    oe, ne = (oi["extra_inputs"], ni["extra_inputs"]) if both else ({}, {})
    for folder in sorted(oe.keys() | ne.keys()):
        if oe.get(folder) != ne.get(folder):
            causes.append({"input": "folder", "folder": folder})
    return causes


def build_value_causes(key: str, dataset: dict[str, Any], lock_changed: bool) -> list[dict]:
    """Causes of a value the build itself computes (dataset hash, package versions)."""
    if key.startswith("dataset."):
        return [{"input": "dataset", **f} for f in dataset["files"]] or [{"input": "dataset"}]
    if key in ("build.versions", "build.pandoc") and lock_changed:
        return [{"input": "lock"}]
    return []


# --------------------------------------------------------------------------
# Displays and values


def _csv_cells(path: Path) -> tuple[list[str], list[list[str]]]:
    rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    return (rows[0] if rows else []), rows[1:]


def table_cells(old: Path, new: Path) -> list[dict[str, Any]]:
    """Cells that differ between two versions of a table, rows named by their first column."""
    old_head, old_rows = _csv_cells(old)
    new_head, new_rows = _csv_cells(new)

    def labelled(rows):
        # a row is named by its first column, or its first two or three where one repeats
        for width in (1, 2, 3):
            labels = [" / ".join(r[:width]) for r in rows]
            if len(set(labels)) == len(labels):
                return dict(zip(labels, rows, strict=True))
        return {f"row {i}": r for i, r in enumerate(rows, start=1)}

    before, after = labelled(old_rows), labelled(new_rows)
    cells = []
    for label in list(dict.fromkeys([*after, *before])):
        r_old, r_new = before.get(label), after.get(label)
        if r_old is None or r_new is None:
            cells.append({"row": label, "column": None,
                          "old": None if r_old is None else ", ".join(r_old),
                          "new": None if r_new is None else ", ".join(r_new)})
            continue
        for column in dict.fromkeys([*new_head, *old_head]):
            a = r_old[old_head.index(column)] if column in old_head and \
                old_head.index(column) < len(r_old) else None
            b = r_new[new_head.index(column)] if column in new_head and \
                new_head.index(column) < len(r_new) else None
            if a != b:
                cells.append({"row": label, "column": column, "old": a, "new": b})
    return cells


def _content_files(build: Build, display: dict[str, Any]) -> dict[str, str]:
    """sha256 of the files that hold a display's content (CSV for tables, SVG for figures)."""
    wanted = ".csv" if display["kind"] == "table" else ".svg"
    return {Path(f).name: sha256_file(build.root / f) for f in display["files"]
            if f.endswith(wanted) and (build.root / f).exists()}


def display_changes(old: Build, new: Build, dataset: dict[str, Any]) -> list[dict[str, Any]]:
    """Every display added, removed or with other content, with the causes from its run."""
    before, after = old.displays(), new.displays()
    changes = []
    for ident in list(dict.fromkeys([*after, *before])):
        a, b = before.get(ident), after.get(ident)
        entry: dict[str, Any] = {"id": ident, "kind": (b or a)["kind"],
                                 "caption": (b or a)["caption"], "run": (b or a)["run"]}
        if a is None or b is None:
            entry.update({"change": "added" if a is None else "removed", "causes": []})
            changes.append(entry)
            continue
        if _content_files(old, a) == _content_files(new, b):
            continue
        entry["change"] = "changed"
        if b["kind"] == "table":
            csv_name = next(f for f in b["files"] if f.endswith(".csv"))
            old_csv = next(f for f in a["files"] if f.endswith(".csv"))
            entry["cells"] = table_cells(old.root / old_csv, new.root / csv_name)
        else:
            entry["old_file"] = next(f for f in a["files"] if f.endswith(".svg"))
            entry["new_file"] = next(f for f in b["files"] if f.endswith(".svg"))
        entry["causes"] = run_causes(old.run_record(a), new.run_record(b), dataset)
        changes.append(entry)
    return changes


def value_changes(old: Build, new: Build, dataset: dict[str, Any],
                  lock_changed: bool) -> list[dict[str, Any]]:
    """Every value whose printed text differs, with where the paper prints it and why."""
    before, after = old.value_records(), new.value_records()
    changes = []
    for key in sorted(before.keys() | after.keys()):
        a, b = before.get(key), after.get(key)
        if key in BUILD_IDENTITY or (a and b and a["text"] == b["text"]):
            continue
        record = b or a
        entry = {"id": key, "kind": "value", "run": record["run"],
                 "places": record.get("places", []),
                 "old": a["text"] if a else None, "new": b["text"] if b else None}
        if a and b and record["run"] != "build":
            entry["causes"] = run_causes(old.run_record(a), new.run_record(b), dataset)
        else:
            entry["causes"] = build_value_causes(key, dataset, lock_changed)
        changes.append(entry)
    return changes


# --------------------------------------------------------------------------
# The text


def _escape(words: str) -> str:
    return MARKDOWN_SPECIALS.sub(r"\\\1", words)


def _mark(kind: str, text: str, date: str) -> str:
    """One tracked insertion or deletion as a pandoc span (words only, one line)."""
    return f"[{text}]{{.{kind} author={AUTHOR} date={date}}}"


def _split_front_matter(text: str) -> tuple[str, str]:
    """The YAML front matter (with its fences) and the body."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[:end + 5], text[end + 5:]
    return "", text


def word_diff(old: str, new: str, date: str) -> tuple[str, dict[str, int]]:
    """The new text with every word-level edit marked as an insertion or deletion span.

    Only words are marked: a deleted run is escaped so it reads as the words it
    was; a run that is Markdown syntax (a table row, a figure line, a
    cross-reference) is kept as it is now, unmarked, so the document keeps its
    structure; a span never holds a line break. In the YAML front matter only the
    indented Markdown blocks (the abstract) are marked: a quoted YAML string
    cannot hold a span. Returns the marked text and the number of inserted and
    deleted words.
    """
    counts = {"inserted_words": 0, "deleted_words": 0}
    old_front, old_body = _split_front_matter(old)
    new_front, new_body = _split_front_matter(new)
    front = []
    a, b = old_front.splitlines(keepends=True), new_front.splitlines(keepends=True)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        indented = all(line.startswith("  ") for line in a[i1:i2] + b[j1:j2])
        if op != "equal" and indented:
            front.append(_diff_words("".join(a[i1:i2]), "".join(b[j1:j2]), date, counts))
        else:
            front.append("".join(b[j1:j2]))
    return "".join(front) + _diff_lines(old_body, new_body, date, counts), counts


def _diff_lines(old: str, new: str, date: str, counts: dict[str, int]) -> str:
    """Lines first, then words within each changed block of lines.

    A word-level match over the whole manuscript is quadratic in its many
    repeated tokens (spaces, table rules); matching lines first keeps a diff of
    two builds to a fraction of a second.
    """
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(b[j1:j2]))
        else:
            out.append(_diff_words("".join(a[i1:i2]), "".join(b[j1:j2]), date, counts))
    return "".join(out)


def _diff_words(old: str, new: str, date: str, counts: dict[str, int]) -> str:
    a, b = TOKEN.findall(old), TOKEN.findall(new)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append("".join(b[j1:j2]))
            continue
        if op in ("delete", "replace"):
            for line in _runs(a[i1:i2], keep_breaks=op == "delete"):
                words = line.strip()
                if "\n" in line:
                    out.append(line)  # a deleted paragraph keeps its own paragraph
                elif words and not SYNTAX.search(words):
                    counts["deleted_words"] += len(WORD.findall(words))
                    out.append(_mark("deletion", _escape(words), date))
                    if op == "delete" and line != line.rstrip():
                        out.append(" ")
        if op in ("insert", "replace"):
            for line in _runs(b[j1:j2], keep_breaks=True):
                words = line.strip()
                if not words or "\n" in line or SYNTAX.search(words):
                    out.append(line)
                    continue
                counts["inserted_words"] += len(WORD.findall(words))
                lead = line[:len(line) - len(line.lstrip())]
                tail = line[len(line.rstrip()):]
                out.append(lead + _mark("insertion", words, date) + tail)
    return "".join(out)


def _runs(tokens: list[str], keep_breaks: bool = False) -> list[str]:
    """Tokens joined into runs that never cross a line break (breaks kept as their own runs)."""
    runs, current = [], ""
    for token in tokens:
        if "\n" in token:
            if current:
                runs.append(current)
            current = ""
            if keep_breaks:
                runs.append(token)
            continue
        current += token
    if current:
        runs.append(current)
    return runs


def commit_date(repository: Path, commit: str) -> str:
    """The commit's date (ISO 8601) from git, or the build's fixed DOCX date when unknown."""
    sha = commit.removesuffix("-dirty")
    if re.fullmatch(r"[0-9a-f]{7,40}", sha):
        found = subprocess.run(["git", "show", "-s", "--format=%cI", sha], cwd=repository,
                               capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    return "2010-01-01T00:00:00Z"  # the same instant as paper.DOCX_EPOCH


def render_text(marked: str, new: Build, out: Path) -> None:
    """The marked manuscript as HTML (``<ins>``/``<del>``) and as a tracked-changes DOCX."""
    source = out / "text.md"
    atomic_write(source, marked)
    paper_dir = new.provenance.get("paper_dir")
    bib = (new.repository / paper_dir / "references.bib") if paper_dir else None
    filters = ["--lua-filter", str(assets() / "crossref.lua"),
               "--lua-filter", str(assets() / "trackchanges.lua")]
    # the same metadata the paper's render gives its filter, so conditional blocks agree
    parse = [str(source.resolve()), "--from", "markdown", *filters,
             *filter_metadata(*conditions(new.values, new.synthetic)),
             "--resource-path", ".", "--to", "json"]
    if bib is not None and bib.exists():
        parse[1:1] = ["--citeproc", "--bibliography", str(bib.resolve())]
    # pandoc runs in the new build's paper folder, where '../runs/...' finds the figures
    cwd = Layout(new.root).paper
    tree = out / ".text.json"
    tree.write_bytes(run_pandoc(parse, cwd=cwd))
    common = [str(tree.resolve()), "--from", "json", *filters, "--resource-path", ".",
              "--standalone"]
    writers = [
        start_pandoc([*common, "--to", "html5", "--embed-resources",
                      "--css", str(assets() / "paper.css"),
                      "--metadata", "title=Tracked changes",
                      "--output", str((out / "text.html").resolve())], cwd=cwd),
        start_pandoc([*common, "--to", "docx",
                      "--output", str((out / "paper-tracked.docx").resolve())], cwd=cwd,
                     env={"SOURCE_DATE_EPOCH": DOCX_EPOCH}),
    ]
    for writer in writers:
        finish_pandoc(writer)
    tree.unlink()


# --------------------------------------------------------------------------
# Reports


def _short(commit: str) -> str:
    return commit[:12] if commit != "unknown" else commit


def describe_cause(cause: dict[str, Any]) -> str:
    """One cause in words, for the Markdown and HTML reports."""
    kind = cause["input"]
    if kind == "dataset":
        if "file" not in cause:
            return "the dataset (which files changed was not recorded)"
        text = (f"dataset file {cause['file']} (sha256 {str(cause['old_sha256'])[:12]} → "
                f"{str(cause['new_sha256'])[:12]})")
        rows = cause.get("rows")
        if rows:
            text += ": " + "; ".join(describe_row(r) for r in rows[:5])
            if len(rows) > 5:
                text += f"; and {len(rows) - 5} more rows"
        elif cause.get("file") in TABLES and rows is None:
            text += " (rows not available: a dataset folder no longer holds the recorded file)"
        return text
    if kind == "notebook":
        return f"notebook {cause['new'] or cause['old']}"
    if kind == "parameter":
        return f"parameter {cause['name']}: {cause['old']} → {cause['new']}"
    if kind == "code":
        modules = cause.get("modules")
        return "package modules " + (", ".join(modules) if modules else "(which ones not recorded)")
    if kind == "lock":
        return "the lock (requirements.lock)"
    return f"input folder {cause['folder']}"


def describe_row(row: dict[str, Any]) -> str:
    """A row change as ``codings.csv:57 changed (code_id X → Y)``."""
    key = ", ".join(f"{v}" for v in row["key"].values())
    text = f"{row['file']}:{row['row']} {row['change']} ({key}"
    if row.get("columns"):
        text += "; " + ", ".join(f"{c} {o} → {n}" for c, (o, n) in row["columns"].items())
    return text + ")"


def short_cause(cause: dict[str, Any]) -> str:
    """A cause in a few words (the full one is listed once, under the inputs that changed)."""
    if cause["input"] == "dataset" and "file" in cause:
        rows = cause.get("rows")
        if rows:
            numbers = ", ".join(str(r["row"]) for r in rows[:5])
            numbers += ", ..." if len(rows) > 5 else ""
            return f"{cause['file']} (row{'s' if len(rows) > 1 else ''} {numbers})"
        return cause["file"]
    return describe_cause(cause)


def causes_text(causes: list[dict], short: bool = False) -> str:
    """The causes of one change in words, or a sentence saying none of its inputs changed."""
    describe = short_cause if short else describe_cause
    return "; ".join(describe(c) for c in causes) or "none of its recorded inputs changed"


def _words(n: int) -> str:
    return f"{n} word" + ("" if n == 1 else "s")


def _cell(text: Any) -> str:
    return "—" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def markdown_report(report: dict[str, Any]) -> str:
    """The changes as Markdown, to paste into a response to reviewers."""
    old, new = report["old"], report["new"]
    lines = [f"# What changed: {_short(old['commit'])} → {_short(new['commit'])}", ""]
    if not report["changes"] and not report["text"]["changed"]:
        return "\n".join(lines + ["No changes: every value, table, figure and word of the "
                                  "paper is the same.", ""])
    if report["inputs"]:
        lines += ["## Inputs that changed", ""]
        lines += [f"- {describe_cause(c)}" for c in report["inputs"]] + [""]
    values = [c for c in report["changes"] if c["kind"] == "value"]
    displays = [c for c in report["changes"] if c["kind"] != "value"]
    if values:
        lines += ["## Values", "", "| value | where | old | new | cause |", "|---|---|---|---|---|"]
        for c in values:
            lines.append(f"| `{c['id']}` | {_cell(', '.join(c['places']) or c['run'])} | "
                         f"{_cell(c['old'])} | {_cell(c['new'])} | "
                         f"{_cell(causes_text(c['causes'], short=True))} |")
        lines.append("")
    if displays:
        lines += ["## Figures and tables", ""]
        for c in displays:
            cause = causes_text(c["causes"], short=True)
            lines += [f"### {c['kind'].capitalize()} `{c['id']}` ({c['change']}; run {c['run']})",
                      "", f"{c['caption']}", "", f"Cause: {cause}.", ""]
            if c.get("cells"):
                lines += ["| row | column | old | new |", "|---|---|---|---|"]
                lines += [f"| {_cell(x['row'])} | {_cell(x['column'])} | {_cell(x['old'])} | "
                          f"{_cell(x['new'])} |" for x in c["cells"]] + [""]
    if not report["changes"]:
        lines += ["No value, table or figure changed.", ""]
    t = report["text"]
    lines += ["## Text", "",
              (f"{_words(t['inserted_words'])} inserted and {_words(t['deleted_words'])} deleted "
               "in the assembled manuscript: see text.html and the tracked-changes "
               "paper-tracked.docx."
               if t["changed"] else "The text is unchanged apart from the values above."), ""]
    return "\n".join(lines)


def html_report(report: dict[str, Any], markdown: str) -> str:
    """The changes as a page: the Markdown's words, and old and new figures side by side."""
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>What changed</title><style>{PAGE_STYLE}</style></head><body>"]
    parts.append(f"<h1>What changed: {e(_short(report['old']['commit']))} → "
                 f"{e(_short(report['new']['commit']))}</h1>")
    parts.append('<p><a href="text.html">The text with insertions and deletions marked</a> · '
                 '<a href="paper-tracked.docx">tracked-changes DOCX</a> · '
                 '<a href="changes.md">Markdown</a> · <a href="changes.json">JSON</a></p>')
    if not report["changes"] and not report["text"]["changed"]:
        parts.append("<p>No changes.</p>")
    for c in report["changes"]:
        if c["kind"] == "value":
            parts.append(f"<div class=\"change\"><h3>Value <code>{e(c['id'])}</code></h3>"
                         f"<p><del>{e(str(c['old']))}</del> → <ins>{e(str(c['new']))}</ins></p>"
                         f"<p>Cause: {e(causes_text(c['causes']))}</p></div>")
            continue
        parts.append(f"<div class=\"change\"><h3>{e(c['kind'].capitalize())} "
                     f"<code>{e(c['id'])}</code> ({e(c['change'])})</h3><p>{e(c['caption'])}</p>"
                     f"<p>Cause: {e(causes_text(c['causes']))}</p>")
        if c.get("old_file"):
            parts.append(f"<div class=\"side\"><figure><img src=\"figures/old-{e(c['id'])}.svg\" "
                         f"alt=\"old {e(c['id'])}\"><figcaption>old</figcaption></figure>"
                         f"<figure><img src=\"figures/new-{e(c['id'])}.svg\" "
                         f"alt=\"new {e(c['id'])}\"><figcaption>new</figcaption></figure></div>")
        if c.get("cells"):
            parts.append("<table><tr><th>row</th><th>column</th><th>old</th><th>new</th></tr>")
            parts += [f"<tr><td>{e(str(x['row']))}</td><td>{e(str(x['column']))}</td>"
                      f"<td><del>{e(str(x['old']))}</del></td><td><ins>{e(str(x['new']))}</ins>"
                      f"</td></tr>" for x in c["cells"]]
            parts.append("</table>")
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts)


PAGE_STYLE = ("body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}"
              ".side{display:flex;gap:1em}.side figure{flex:1;margin:0}"
              ".side img{width:100%;border:1px solid #ccc}"
              "ins{background:#dfd;text-decoration:none}del{background:#fdd}"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}")


# --------------------------------------------------------------------------
# The whole diff


def compare(old_root: Path, new_root: Path, *, old_repository: Path, new_repository: Path,
            old_data: Path | None = None, new_data: Path | None = None) -> dict[str, Any]:
    """The changes between two builds (without the rendered text), as one JSON-ready record."""
    old = Build.read(old_root, old_repository)
    new = Build.read(new_root, new_repository)
    dataset = dataset_changes(old, new, old_data, new_data)
    old_locks = {i["lock_sha256"] for i in old.all_inputs() if "lock_sha256" in i}
    new_locks = {i["lock_sha256"] for i in new.all_inputs() if "lock_sha256" in i}
    lock_changed = bool(old_locks and new_locks) and old_locks != new_locks
    changes = display_changes(old, new, dataset) + value_changes(old, new, dataset,
                                                                  lock_changed)
    inputs: list[dict[str, Any]] = []
    for change in changes:
        for cause in change["causes"]:
            if cause not in inputs:
                inputs.append(cause)
    return {"old": {"build": str(old_root), "commit": old.commit},
            "new": {"build": str(new_root), "commit": new.commit},
            "inputs": inputs, "changes": changes, "_builds": (old, new)}


def write_diff(old_root: Path, new_root: Path, out: Path, *, old_repository: Path,
               new_repository: Path, old_data: Path | None = None,
               new_data: Path | None = None) -> dict[str, Any]:
    """Compare two builds and write ``out/``: changes.{md,json}, index.html, text.html, DOCX.

    Everything is written in a staging folder renamed to ``out`` last.
    """
    report = compare(old_root, new_root, old_repository=old_repository,
                     new_repository=new_repository, old_data=old_data, new_data=new_data)
    old, new = report.pop("_builds")
    date = commit_date(new.repository, new.commit)
    marked, counts = word_diff(old.assembled, new.assembled, date)
    report["text"] = {"changed": old.assembled != new.assembled, "date": date, **counts}
    staging = staging_dir(out)
    try:
        render_text(marked, new, staging)
        figures = staging / "figures"
        for change in report["changes"]:
            if change.get("old_file"):
                figures.mkdir(exist_ok=True)
                (figures / f"old-{change['id']}.svg").write_bytes(
                    (old.root / change["old_file"]).read_bytes())
                (figures / f"new-{change['id']}.svg").write_bytes(
                    (new.root / change["new_file"]).read_bytes())
        markdown = markdown_report(report)
        atomic_write(staging / "changes.md", markdown)
        atomic_write(staging / "changes.json",
                     json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        atomic_write(staging / "index.html", html_report(report, markdown))
        replace_dir(staging, out)
    except BaseException:
        remove_tree(staging)
        raise
    return report


def default_output(new_root: Path) -> Path:
    """Where a diff of ``new_root`` against another build goes: beside its paper."""
    return Layout(new_root).diff



# --------------------------------------------------------------------------
# A base revision, built in a temporary worktree


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True)


def _make_env() -> dict[str, str]:
    """This process's environment without a calling make's flags and jobserver."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}


@contextmanager
def base_build(revision: str, repository: Path, data: Path) -> Iterator[tuple[Path, Path, Path]]:
    """Build ``revision`` in a temporary worktree; yield (build, worktree, dataset), then remove it.

    The base gets its own environment from its own lock file, unless the lock is
    byte-identical to this one: then it shares this ``.venv`` (its time stamps
    set so make takes the shared environment as current) and runs its own code
    through ``PYTHONPATH``. The dataset is the base revision's copy of the same
    folder when it lies inside the repository, else the same folder.
    """
    found = _git(repository, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise CompendiumError(f"BASE={revision}: not a revision of {repository.resolve()}")
    tmp = Path(tempfile.mkdtemp(prefix="compendium-base-"))
    worktree = tmp / "repo"
    try:
        added = _git(repository, "worktree", "add", "--detach", str(worktree),
                     found.stdout.strip())
        if added.returncode != 0:
            raise CompendiumError(f"BASE={revision}: git worktree add failed: "
                                  f"{added.stderr.strip()}")
        env = _make_env()
        lock, base_lock = repository / "requirements.lock", worktree / "requirements.lock"
        venv = repository / ".venv"
        shared = (venv / ".installed").exists() and base_lock.exists() and \
            base_lock.read_bytes() == lock.read_bytes()
        if shared:
            (worktree / ".venv").symlink_to(venv.resolve())
            for name in ("requirements.lock", "pyproject.toml"):
                if (worktree / name).exists():
                    os.utime(worktree / name, (0, 0))
            env["PYTHONPATH"] = str((worktree / "src").resolve())
        try:
            inside = data.resolve().relative_to(repository.resolve())
            base_data = worktree / inside
        except ValueError:
            base_data = data.resolve()
        print(f"diff: building {revision} ({found.stdout.strip()[:12]}) in {worktree}"
              f"{' with the shared environment' if shared else ' with its own environment'}",
              flush=True)
        built = subprocess.run(["make", "--no-print-directory", "paper",
                                f"DATA={base_data}", "BUILD=build"],
                               cwd=worktree, env=env, capture_output=True, text=True)
        if built.returncode != 0:
            tail = (built.stdout + built.stderr).strip().splitlines()[-5:]
            raise CompendiumError(f"BASE={revision}: its paper did not build: "
                                  + " | ".join(tail))
        yield worktree / "build", worktree, base_data
    finally:
        _git(repository, "worktree", "remove", "--force", str(worktree))
        shutil.rmtree(tmp, ignore_errors=True)
        _git(repository, "worktree", "prune")
