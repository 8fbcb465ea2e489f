"""Comparing two builds of the paper: which values, tables and figures changed, and why.

Each build records, in ``paper/provenance.json`` and its runs' manifests,
which run made every display and value and from which inputs (the dataset's
files by hash, the notebook, the run's parameters, each package module, the
lock). Comparing two builds therefore gives, for every value, table cell and
figure that differs, its old and new form and the inputs of its run that
changed; for a changed table of the dataset, the rows added, removed or changed
(read from the dataset folders the builds recorded, when they still hold the
recorded bytes). ``pipeline/diff.py`` writes the result; the text's word-level
diff is ``pipeline/diff_text.py``'s.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..dataset.datapackage import (
    DESCRIPTOR,
    JSON_NAMES,
    TABLE_FILES,
    dataset_hash,
    json_kind_name,
    read_descriptor,
    resource_hashes,
)
from ..errors import CompendiumError
from ..fileio import sha256_file
from ..layout import Layout
from ..userfile import is_regular_file, parse_json, read_bytes, read_text, regular_file_problem

#: The dataset's four tables, whose rows a cause can name.
TABLES = TABLE_FILES
#: Values that describe the build rather than a result: shown in the header, not as changes.
BUILD_IDENTITY = ("build.commit",)

# What the comparison reads of a build's records, checked before any of it is used:
# a build folder named on the command line may be damaged, hand-edited or made by
# another version, and each such record is one line naming the file and the field
# (not an internal error). Keys are optional where older builds lack them.
_TEXT = {"type": "string"}
_HASHES = {"type": "object", "additionalProperties": _TEXT}
#: A path inside the build folder: relative, no ``..`` (the report copies figures from it).
_BUILD_FILE = {"type": "string", "minLength": 1,
               "not": {"pattern": r"^/|(^|/)\.\.(/|$)"}}
_RUN = {"type": "object", "properties": {
    "notebook": _TEXT, "parameters": {"type": "object"}, "code_files": _HASHES,
    "inputs": {"type": "object", "properties": {
        "dataset_sha256": _TEXT, "notebook_sha256": _TEXT, "code_sha256": _TEXT,
        "lock_sha256": _TEXT, "dataset_path": _TEXT, "dataset_files": _HASHES,
        "code_files": _HASHES, "extra_inputs": {"type": "object"}}}}}
PROVENANCE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "commit": {"type": ["string", "null"]},
        "dataset": {"type": ["object", "null"], "properties": {"synthetic": {"type": "boolean"}}},
        "displays": {"type": "array", "items": {"allOf": [_RUN, {
            "required": ["id", "kind", "caption", "run", "files"],
            "properties": {"id": _TEXT, "kind": _TEXT, "caption": _TEXT, "run": _TEXT,
                           "files": {"type": "array", "items": _BUILD_FILE}}}]}},
        "values": {"type": "array", "items": {"allOf": [_RUN, {
            "required": ["id", "run", "text"],
            "properties": {"id": _TEXT, "run": _TEXT, "text": _TEXT,
                           "places": {"type": "array"}}}]}},
        "runs": {"type": "object", "additionalProperties": _RUN},
    },
}
#: ``paper/values.json``: each value's record, of which the text's conditions read two keys.
VALUES_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": {"type": "object", "properties": {"text": _TEXT}},
}


def _checked(path: Path, schema: dict[str, Any]) -> Any:
    """``path``'s JSON, or a one-line CompendiumError naming the first field that is wrong."""
    import jsonschema

    data = parse_json(read_bytes(path, str(path)), str(path))
    error = jsonschema.exceptions.best_match(
        jsonschema.Draft202012Validator(schema).iter_errors(data))
    if error is not None:
        where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        raise CompendiumError(f"{path}: {where.lstrip('.') + ': ' if where else ''}"
                              f"{_said(error)}; not a build record compendium diff can read "
                              "(rebuild it with `make paper`)")
    return data


#: JSON's names for Python's types, for messages.
def _said(error: Any) -> str:
    """A schema error in a few words (jsonschema's own repeat the whole wrong value)."""
    if error.validator == "type":
        wanted = error.validator_value
        names = [JSON_NAMES.get(t, t) for t in ([wanted] if isinstance(wanted, str) else wanted)]
        return f"must be {' or '.join(names)}, not {json_kind_name(error.instance)}"
    if error.validator == "not":
        return f"'{error.instance}' is not a path inside the build folder"
    return str(error.message)[:200]


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
            if regular_file_problem(needed) == "no such file":
                raise CompendiumError(f"{needed}: missing; not a finished build "
                                      f"(run `make paper BUILD={root}`)")
        return cls(root, repository, _checked(paths.provenance, PROVENANCE_SCHEMA),
                   _checked(paths.values, VALUES_SCHEMA),
                   read_text(paths.assembled, str(paths.assembled)))

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
    rows = list(csv.reader(io.StringIO(read_text(path, str(path)))))
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
            if f.endswith(wanted) and is_regular_file(build.root / f)}


def _content_pair(old: Build, a: dict[str, Any], new: Build, b: dict[str, Any],
                  suffix: str) -> tuple[str, str] | None:
    """The first file ending in ``suffix`` of each version of a display, where both exist."""
    old_file, new_file = (next((f for f in d["files"] if f.endswith(suffix)), None)
                          for d in (a, b))
    if old_file is None or new_file is None or not (
            is_regular_file(old.root / old_file) and is_regular_file(new.root / new_file)):
        return None  # one version has no such file: the change is listed without its detail
    return old_file, new_file


def display_changes(old: Build, new: Build, dataset: dict[str, Any]) -> list[dict[str, Any]]:
    """Every display added, removed or with other content, with the causes from its run."""
    before, after = old.displays(), new.displays()
    changes = []
    for ident in list(dict.fromkeys([*after, *before])):
        a, b = before.get(ident), after.get(ident)
        shown = after[ident] if ident in after else before[ident]
        entry: dict[str, Any] = {"id": ident, "kind": shown["kind"],
                                 "caption": shown["caption"], "run": shown["run"]}
        if a is None or b is None:
            entry.update({"change": "added" if a is None else "removed", "causes": []})
            changes.append(entry)
            continue
        if _content_files(old, a) == _content_files(new, b):
            continue
        entry["change"] = "changed"
        if b["kind"] == "table":
            tables = _content_pair(old, a, new, b, ".csv")
            if tables:
                entry["cells"] = table_cells(old.root / tables[0], new.root / tables[1])
        else:
            figures = _content_pair(old, a, new, b, ".svg")
            if figures:
                entry["old_file"], entry["new_file"] = figures
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
        record = after[key] if key in after else before[key]
        entry = {"id": key, "kind": "value", "run": record["run"],
                 "places": record.get("places", []),
                 "old": a["text"] if a else None, "new": b["text"] if b else None}
        if a and b and record["run"] != "build":
            entry["causes"] = run_causes(old.run_record(a), new.run_record(b), dataset)
        else:
            entry["causes"] = build_value_causes(key, dataset, lock_changed)
        changes.append(entry)
    return changes



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
