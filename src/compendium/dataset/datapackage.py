"""The Frictionless Data Package descriptor of a dataset folder.

The four tables have fixed Table Schemas (below); extra participant attributes
are declared when a dataset is written. Every file of the dataset is a
resource carrying its sha256, so any change after freezing is detected.

This module is the one reader of the descriptor (:func:`read_descriptor`, through
:mod:`compendium.userfile`, so a byte-order mark or UTF-16 is read alike by
validation, the notebooks and every build step), the one place a resource's
recorded hash is compared with its file (:func:`file_matches_hash`), and where
the names of the files a dataset folder may hold are spelled
(:data:`DESCRIPTOR`, :func:`table_file`, :data:`INTERVIEW_GUIDE`).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..errors import CompendiumError
from ..fileio import atomic_write, sha256_file, sha256_text
from ..userfile import parse_json, read_bytes

#: The descriptor's file name in a dataset folder.
DESCRIPTOR = "datapackage.json"
#: The interview guide's file name in a dataset folder (optional; the paper may print it).
INTERVIEW_GUIDE = "interview_guide.md"
TABLES = ("participants", "codebook", "segments", "codings")
PERSPECTIVES = ("entrepreneur", "intermediary")
LEVELS = ("theme", "subtheme", "code")
ID_PATTERN = "^[A-Za-z0-9][A-Za-z0-9_.-]*$"

_ID = {"pattern": ID_PATTERN}

TABLE_SCHEMAS: dict[str, dict[str, Any]] = {
    "participants": {
        "fields": [
            {"name": "participant_id", "type": "string",
             "description": "Pseudonymous interviewee id.",
             "constraints": {"required": True, "unique": True, **_ID}},
            {"name": "perspective", "type": "string",
             "description": "Side of the dual perspective the interviewee speaks from.",
             "constraints": {"required": True, "enum": list(PERSPECTIVES)}},
            {"name": "organisation_type", "type": "string",
             "description": "Kind of organisation, e.g. ict_sme, agency, hei (optional: "
                            "another study may record nothing like it).",
             "constraints": {"required": False}},
            {"name": "role_in_cluster", "type": "string",
             "description": "The interviewee's part in the cluster's meetings.",
             "constraints": {"required": False}},
            {"name": "interview_minutes", "type": "integer",
             "description": "Length of the interview in minutes.",
             "constraints": {"required": False, "minimum": 1}},
            {"name": "interview_mode", "type": "string",
             "description": "How the interview was held, e.g. face to face, telephone.",
             "constraints": {"required": False}},
        ],
        "primaryKey": ["participant_id"],
    },
    "codebook": {
        "fields": [
            {"name": "code_id", "type": "string",
             "description": "Id of a theme, sub-theme or code.",
             "constraints": {"required": True, "unique": True, **_ID}},
            {"name": "theme", "type": "string",
             "description": "code_id of the theme this entry belongs to.",
             "constraints": {"required": True}},
            {"name": "level", "type": "string",
             "description": "Place in the hierarchy; only 'code' entries are applied.",
             "constraints": {"required": False, "enum": list(LEVELS)}},
            {"name": "parent_id", "type": "string",
             "description": "code_id of the parent entry.",
             "constraints": {"required": False}},
            {"name": "name", "type": "string",
             "description": "Short label used in tables and figures.",
             "constraints": {"required": True}},
            {"name": "definition", "type": "string",
             "description": "When the code applies.",
             "constraints": {"required": True}},
        ],
        "primaryKey": ["code_id"],
        "foreignKeys": [
            {"fields": ["parent_id"], "reference": {"resource": "", "fields": ["code_id"]}},
        ],
    },
    "segments": {
        "fields": [
            {"name": "segment_id", "type": "string",
             "description": "Id of the coded excerpt.",
             "constraints": {"required": True, "unique": True, **_ID}},
            {"name": "participant_id", "type": "string",
             "description": "Interviewee who said it.",
             "constraints": {"required": True}},
            {"name": "source", "type": "string",
             "description": "Transcript file relative to the dataset folder "
                            "(default transcripts/<participant_id>.txt).",
             "constraints": {"required": False}},
            {"name": "start", "type": "integer",
             "description": "Offset of the first character, in Unicode code points.",
             "constraints": {"required": False, "minimum": 0}},
            {"name": "end", "type": "integer",
             "description": "Offset just past the last character (exclusive).",
             "constraints": {"required": False, "minimum": 1}},
            {"name": "text", "type": "string",
             "description": "The excerpt; equals transcript[start:end] where both exist.",
             "constraints": {"required": True}},
        ],
        "primaryKey": ["segment_id"],
        "foreignKeys": [
            {"fields": ["participant_id"],
             "reference": {"resource": "participants", "fields": ["participant_id"]}},
        ],
    },
    "codings": {
        "fields": [
            {"name": "segment_id", "type": "string",
             "description": "The coded segment.", "constraints": {"required": True}},
            {"name": "code_id", "type": "string",
             "description": "The code applied (a 'code'-level codebook entry).",
             "constraints": {"required": True}},
            {"name": "coder", "type": "string",
             "description": "Pseudonymous coder name.", "constraints": {"required": True}},
        ],
        "primaryKey": ["segment_id", "code_id", "coder"],
        "foreignKeys": [
            {"fields": ["segment_id"],
             "reference": {"resource": "segments", "fields": ["segment_id"]}},
            {"fields": ["code_id"],
             "reference": {"resource": "codebook", "fields": ["code_id"]}},
        ],
    },
}

#: Columns every table must have (optional columns may be left out).
REQUIRED_COLUMNS = {
    table: [f["name"] for f in schema["fields"] if f["constraints"].get("required")]
    for table, schema in TABLE_SCHEMAS.items()
}


_TEXT_OR_NULL = {"type": ["string", "null"]}

#: The shape of ``datapackage.json`` that the compendium's code relies on, checked
#: (by :func:`descriptor_shape_problems`) before any other code reads the descriptor,
#: so that a list where an object belongs is one line, never a TypeError deep in
#: a check. Which keys are required, and the design block's content, are checked
#: later with messages of their own; this schema pins types only.
DESCRIPTOR_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",  # type, properties, items only
    "type": "object",
    "properties": {
        "name": {"type": "string"},
        "title": {"type": "string"},
        "description": {"type": "string"},
        "licenses": {"type": "array", "items": {"type": "object"}},
        "compendium": {
            "type": "object",
            "properties": {
                "primary_coder": _TEXT_OR_NULL,
                "design": {"type": ["object", "null"]},
                "generator": {"type": "object"},
            },
        },
        "resources": {
            "type": "array",
            "items": {
                "type": "object",
                "properties": {
                    "path": {"type": "string"},
                    "name": {"type": "string"},
                    "hash": {"type": "string"},
                    "schema": {
                        "type": "object",
                        "properties": {
                            "fields": {"type": "array", "items": {
                                "type": "object",
                                "properties": {"name": {"type": "string"},
                                               "type": {"type": "string"}}}},
                        },
                    },
                },
            },
        },
    },
}


def descriptor_shape_problems(descriptor: Any) -> list[tuple[str, str]]:
    """Where ``descriptor`` departs from :data:`DESCRIPTOR_SCHEMA`: (json path, message) pairs.

    At most 20, in document order; an empty list means every key the code reads
    has the type it expects. The schema uses only ``type``, ``properties`` and
    ``items``, which this checks directly, iteratively (a test holds it to the
    ``jsonschema`` library's verdicts): importing ``jsonschema`` would cost every
    notebook kernel a second.
    """
    found: list[tuple[str, str]] = []
    stack: list[tuple[Any, dict[str, Any], str]] = [(descriptor, DESCRIPTOR_SCHEMA, "")]
    while stack and len(found) < 20:
        value, schema, where = stack.pop()
        kinds = schema.get("type")
        allowed = [kinds] if isinstance(kinds, str) else list(kinds or [])
        if allowed and not any(_is_json_type(value, k) for k in allowed):
            found.append((where or "(top level)",
                          "must be " + " or ".join(JSON_NAMES[k] for k in allowed)))
            continue
        later = []
        if isinstance(value, dict):
            for key, sub in schema.get("properties", {}).items():
                if key in value:
                    later.append((value[key], sub, f"{where}.{key}" if where else key))
        if isinstance(value, list) and "items" in schema:
            later += [(item, schema["items"], f"{where}.{i}" if where else str(i))
                      for i, item in enumerate(value)]
        stack.extend(reversed(later))  # document order
    return found


#: Each JSON Schema type in the words a message uses (the build records' checks use them too).
JSON_NAMES = {"object": "a JSON object", "array": "a list", "string": "a text", "null": "null",
              "boolean": "true or false", "integer": "a whole number", "number": "a number"}
# The Python class of each remaining JSON Schema type ("integer" and "number" exclude bool).
_JSON_CLASSES: dict[str, type] = {"object": dict, "array": list, "string": str,
                                  "null": type(None), "boolean": bool}


def _is_json_type(value: Any, kind: str) -> bool:
    if kind == "integer":
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == "number":
        return isinstance(value, int | float) and not isinstance(value, bool)
    return isinstance(value, _JSON_CLASSES[kind])


def json_kind_name(value: Any) -> str:
    """What a parsed JSON value is, in :data:`JSON_NAMES`' words ("a list", "null", ...)."""
    for kind in ("boolean", "integer", "number", "string", "array", "object", "null"):
        if _is_json_type(value, kind):
            return JSON_NAMES[kind]
    return "another value"


def table_file(table: str) -> str:
    """The file name of one of the four tables (``TABLES``) in a dataset folder."""
    return f"{table}.csv"


#: The file names of the four tables, in ``TABLES`` order.
TABLE_FILES = tuple(table_file(t) for t in TABLES)


def dataset_folder_problem(folder: Path) -> str | None:
    """Why ``folder`` cannot be a dataset folder (missing, or not a folder), or None.

    A relative path is also given in full: a default such as ``data/synthetic`` is
    relative to the folder the command was run in, which may not be the compendium's.
    """
    if folder.is_dir():
        return None
    where = "" if folder.is_absolute() else f": {Path.cwd() / folder}"
    if folder.exists():
        return f"not a dataset folder (not a directory{where})"
    if folder.is_symlink():
        return f"not a dataset folder (a link that leads nowhere, or in a loop{where})"
    return f"not a dataset folder (no such directory{where})"


def check_dataset_folder(folder: Path) -> None:
    """Raise a CompendiumError naming ``folder`` when it cannot be a dataset folder."""
    problem = dataset_folder_problem(folder)
    if problem:
        raise CompendiumError(f"{folder}: {problem}")


def check_outside_dataset(dest: str | Path, dataset: str | Path) -> None:
    """Refuse an output ``dest`` inside the dataset folder ``dataset`` (links followed).

    Raw data are never written: a file added to a dataset folder would also make the
    dataset fail its own validation (a file its descriptor does not list).
    """
    out, data = Path(os.path.realpath(dest)), Path(os.path.realpath(dataset))
    if out == data or data in out.parents:
        raise CompendiumError(f"{dest}: inside the dataset {dataset}; raw data are never "
                              "written, so choose a path outside it")


def read_descriptor(folder: Path) -> dict[str, Any]:
    """The dataset's descriptor as a dict; a CompendiumError says why it cannot be read.

    Every reader of ``datapackage.json`` calls this, so what one accepts (a BOM,
    UTF-16) no other refuses, and a folder, a named pipe or bad JSON is one line.
    """
    path = folder / DESCRIPTOR
    check_dataset_folder(folder)
    if not path.exists() and not path.is_symlink():
        raise CompendiumError(f"{path}: missing; a dataset folder needs a {DESCRIPTOR}")
    descriptor = parse_json(read_bytes(path, str(path)), str(path))
    if not isinstance(descriptor, dict):
        raise CompendiumError(f"{path}: must hold a JSON object")
    return descriptor


def is_synthetic(descriptor: dict[str, Any]) -> bool:
    """Whether the descriptor declares the data synthetic (``compendium.synthetic``)."""
    meta = descriptor.get("compendium")
    return bool(meta.get("synthetic", False)) if isinstance(meta, dict) else False


def recorded_sha256(resource: dict[str, Any]) -> str:
    """The sha256 the descriptor records for a resource, without its ``sha256:`` prefix."""
    return str(resource.get("hash", "")).removeprefix("sha256:")


def resource_hashes(descriptor: dict[str, Any]) -> dict[str, str]:
    """Each resource's path and recorded sha256, as the runs and the diff record them."""
    return {r["path"]: recorded_sha256(r) for r in descriptor.get("resources", [])
            if isinstance(r, dict) and isinstance(r.get("path"), str)}


def file_matches_hash(path: Path, resource: dict[str, Any]) -> bool:
    """Whether ``path`` is a file whose sha256 is the one recorded for ``resource``.

    The one hash check: validation and a notebook trusting the build's
    validation both ask it.
    """
    return path.is_file() and sha256_file(path) == recorded_sha256(resource)


def dataset_hash(descriptor: dict[str, Any]) -> str:
    """One sha256 for the whole dataset, from its resources' paths and hashes.

    Two datasets with the same files have the same hash whatever the order of
    the resources in their descriptors, so two papers can be compared by it.
    """
    lines = sorted(f"{r['path']}\t{recorded_sha256(r)}" for r in descriptor.get("resources", []))
    return sha256_text("\n".join(lines))


def table_schema(table: str, columns: list[str], inferred: dict[str, str] | None = None) -> dict:
    """The Table Schema for ``table`` limited to ``columns``, in their order.

    Columns the fixed schema does not know (extra participant attributes) are
    declared with the type given in ``inferred`` (default string).
    """
    base = TABLE_SCHEMAS[table]
    known = {f["name"]: f for f in base["fields"]}
    fields = []
    for column in columns:
        if column in known:
            fields.append(known[column])
        else:
            fields.append({"name": column, "type": (inferred or {}).get(column, "string"),
                           "description": "Additional attribute.",
                           "constraints": {"required": False}})
    schema: dict[str, Any] = {"fields": fields, "primaryKey": base["primaryKey"]}
    foreign = [fk for fk in base.get("foreignKeys", []) if set(fk["fields"]) <= set(columns)]
    if foreign:
        schema["foreignKeys"] = foreign
    # Frictionless reads empty cells as missing; say so explicitly.
    schema["missingValues"] = [""]
    return schema


def build_descriptor(
    folder: Path,
    *,
    name: str,
    title: str,
    description: str,
    synthetic: bool,
    primary_coder: str | None,
    table_columns: dict[str, list[str]],
    inferred_types: dict[str, dict[str, str]] | None = None,
    extra: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Describe the files now in ``folder``, hashing each of them.

    Tables come first in a fixed order, then every other file (transcripts,
    interview guide) sorted by path, so the descriptor is deterministic.
    """
    resources: list[dict[str, Any]] = []
    for table in TABLES:
        path = folder / table_file(table)
        resources.append({
            "name": table,
            "path": table_file(table),
            "profile": "tabular-data-resource",
            "format": "csv",
            "mediatype": "text/csv",
            "encoding": "utf-8",
            "schema": table_schema(table, table_columns[table],
                                   (inferred_types or {}).get(table)),
            "hash": f"sha256:{sha256_file(path)}",
            "bytes": path.stat().st_size,
        })
    others = sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.name != DESCRIPTOR and p.relative_to(folder).as_posix()
        not in TABLE_FILES
    )
    for path in others:
        rel = path.relative_to(folder).as_posix()
        resources.append({
            "name": _resource_name(rel),
            "path": rel,
            "format": path.suffix.lstrip(".") or "txt",
            "mediatype": "text/markdown" if path.suffix == ".md" else "text/plain",
            "encoding": "utf-8",
            "hash": f"sha256:{sha256_file(path)}",
            "bytes": path.stat().st_size,
        })
    compendium: dict[str, Any] = {"synthetic": synthetic, "primary_coder": primary_coder}
    compendium.update(extra or {})
    return {
        "name": name,
        "title": title,
        "description": description,
        "licenses": [{
            "name": "CC-BY-4.0",
            "title": "Creative Commons Attribution 4.0",
            "path": "https://creativecommons.org/licenses/by/4.0/",
        }],
        "compendium": compendium,
        "resources": resources,
    }


def _resource_name(rel_path: str) -> str:
    """Frictionless resource names are lower-case letters, digits, '-', '_', '.'."""
    stem = rel_path.lower().replace("/", "-")
    return "".join(ch if ch.isalnum() or ch in "-_." else "-" for ch in stem)


def write_descriptor(folder: Path, descriptor: dict[str, Any]) -> None:
    """Write ``datapackage.json`` atomically with stable formatting (key order is meaningful)."""
    text = json.dumps(descriptor, indent=2, ensure_ascii=False) + "\n"
    atomic_write(folder / DESCRIPTOR, text)  # readers see the old or the new descriptor, never half
