"""The participants of an import: one per case or source, with their attributes.

One participant per case; without cases, one per text source. Case and source
variables become attribute columns (``Perspective`` is read as
``perspective``); a ``--participants`` CSV adds or overrides them
(:func:`apply_attributes`), and every participant needs the
:data:`REQUIRED_ATTRIBUTES`.
"""

from __future__ import annotations

import numbers
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ..dataset.datapackage import PERSPECTIVES, TABLE_SCHEMAS
from ..errors import CompendiumError
from .ids import listing, noted_ids, valid_id
from .model import IdMinter, QdaProject, Value, document_stem
from .safety import one_line

#: Attributes every participant needs; organisation_type is this study's own and optional.
REQUIRED_ATTRIBUTES = ("perspective",)

_PARTICIPANT_COLUMNS = [f["name"] for f in TABLE_SCHEMAS["participants"]["fields"]]
_INTEGER_COLUMNS = {f["name"] for f in TABLE_SCHEMAS["participants"]["fields"]
                    if f["type"] == "integer"}


def column_name(variable: str) -> str:
    """The participants column for a variable: canonical names matched loosely."""
    key = re.sub(r"[\s-]+", "_", variable.strip().lower())
    if key in _PARTICIPANT_COLUMNS and key != "participant_id":
        return key
    if key == "participant_id":
        return "participant_id (variable)"
    return variable.strip()




@dataclass
class Participant:
    """One participant: their id, attributes, and the names a user may know them by."""

    pid: str
    attributes: dict[str, Value]
    names: list[str]


@dataclass
class People:
    """The participants, and whose each source and selection is."""

    participants: list[Participant]
    of_source: dict[str, str]       # source key -> participant id
    of_selection: dict[str, str]    # selection key -> participant id (SelectionRef)


def assign_participants(project: QdaProject, warnings: list[str]) -> People:
    """One participant per case (or per source without a case), with their attributes."""
    sources = {s.key: s for s in project.sources}
    selections = {s.key for s in project.selections}
    noted = noted_ids(project, "participants")
    minter = IdMinter()
    for value in noted.values():
        if valid_id(value):
            minter.claim(value)
    people: list[Participant] = []
    of_source: dict[str, str] = {}
    of_selection: dict[str, str] = {}
    shared: dict[str, list[str]] = defaultdict(list)

    def new_id(key: str, name: str) -> str:
        wanted = noted.get(key)
        return wanted if valid_id(wanted) and wanted not in {p.pid for p in people} \
            else minter.mint(document_stem(name), "participant")

    for case in project.cases:
        own_sources = [k for k in case.sources if k in sources]
        own_selections = [k for k in case.selections if k in selections]
        if (case.sources or case.selections) and not own_sources and not own_selections:
            warnings.append(f"case '{one_line(case.name)}' refers only to sources that were "
                            "skipped; skipped")
            continue
        pid = new_id(case.key, case.name)
        attributes = {column_name(k): v for k, v in case.attributes.items()}
        person = Participant(pid, attributes, [case.name, pid])
        people.append(person)
        for key in own_sources:
            shared[key].append(pid)
            of_source.setdefault(key, pid)
        for key in own_selections:
            of_selection.setdefault(key, pid)
    for key, owners in shared.items():
        if len(set(owners)) > 1 and not any(of_selection.get(s.key) for s in project.selections
                                            if s.source == key):
            warnings.append(f"source '{one_line(sources[key].name)}' belongs to several cases "
                            f"({', '.join(sorted(set(owners)))}); its selections go to "
                            f"{of_source[key]}")
    orphans = [s for s in project.sources if s.key not in of_source]
    if project.cases and orphans:
        warnings.append(f"{len(orphans)} source(s) belong to no case and become participants "
                        f"of their own: {', '.join(one_line(s.name, 40) for s in orphans[:5])}"
                        + (" …" if len(orphans) > 5 else ""))
    noted_sources = noted_ids(project, "sources")
    by_id = {p.pid: p for p in people}
    for source in orphans:
        wanted = (noted_sources.get(source.key) or {}).get("participant_id") \
            if isinstance(noted_sources.get(source.key), dict) else None
        if valid_id(wanted) and wanted in by_id:
            of_source[source.key] = wanted
            continue
        pid = wanted if valid_id(wanted) and minter.claim(wanted) else \
            minter.mint(document_stem(source.name), "participant")
        person = Participant(pid, {}, [pid])
        people.append(person)
        by_id[pid] = person
        of_source[source.key] = pid
    for source in project.sources:
        person = by_id[of_source[source.key]]
        person.names += [source.name, document_stem(source.name)]
        for name, value in source.attributes.items():
            column = column_name(name)
            if column not in person.attributes or person.attributes[column] is None:
                person.attributes[column] = value
            elif value is not None and person.attributes[column] != value:
                warnings.append(f"participant {person.pid}: '{column}' is "
                                f"'{person.attributes[column]}' for the case but '{value}' for "
                                f"source '{one_line(source.name, 40)}'; kept the first")
    return People(people, of_source, of_selection)


def participants_frame(people: list[Participant], integer_variables: Iterable[str],
                       order: list[str] | None = None) -> pd.DataFrame:
    """The participants table: canonical columns first, then the others as first seen."""
    columns: list[str] = ["participant_id", *REQUIRED_ATTRIBUTES]
    for person in people:
        for name in person.attributes:
            if name not in columns:
                columns.append(name)
    known = [c for c in _PARTICIPANT_COLUMNS if c in columns]
    columns = known + [c for c in columns if c not in known]
    if order:
        columns = [c for c in order if c in columns] + [c for c in columns if c not in order]
    rows = [{"participant_id": p.pid, **p.attributes} for p in people]
    frame = pd.DataFrame(rows, columns=columns, dtype=object)
    integers = {column_name(v) for v in integer_variables} | _INTEGER_COLUMNS
    for column in columns:
        if column == "participant_id":
            continue
        values = frame[column]
        if column in integers and all(_is_int(v) for v in values.dropna()):
            frame[column] = pd.array([None if pd.isna(v) else int(v) for v in values],
                                     dtype="Int64")
        else:
            frame[column] = [None if v is None or (isinstance(v, float) and pd.isna(v))
                             else str(v) for v in values]
    for column in REQUIRED_ATTRIBUTES:
        # Tools write "Entrepreneur"; the dataset's allowed values are lower case.
        frame[column] = [v.strip().lower() if isinstance(v, str) and column == "perspective"
                         and v.strip().lower() in PERSPECTIVES else v for v in frame[column]]
    return frame


def _is_int(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, numbers.Integral):
        return True
    return isinstance(value, str) and bool(re.fullmatch(r"\s*-?\d+\s*", value))




def apply_attributes(participants: pd.DataFrame, attributes: pd.DataFrame,
                     aliases: dict[str, str], label: str) -> pd.DataFrame:
    """Add or override participant attributes from a CSV (``--participants``).

    Rows are matched on ``participant_id``, which may also give the case or
    document name as the tool showed it. Empty cells change nothing.
    """
    if "participant_id" not in attributes.columns:
        raise CompendiumError(f"{label}: needs a participant_id column (found: "
                              f"{', '.join(map(str, attributes.columns))})")
    frame = participants.copy().set_index("participant_id", drop=False)
    known = set(frame.index)
    unknown: list[str] = []
    seen: dict[str, int] = {}
    for position, raw in enumerate(attributes["participant_id"], 2):
        text = "" if pd.isna(raw) else str(raw).strip()
        pid = text if text in known else aliases.get(text.lower())
        if pid is None:
            unknown.append(text or f"(empty, row {position})")
            continue
        if pid in seen:
            raise CompendiumError(f"{label}:{position}: participant_id: '{text}' names "
                                  f"{pid} again (first on row {seen[pid]})")
        seen[pid] = position
    if unknown:
        raise CompendiumError(
            f"{label}: {len(unknown)} participant(s) not in the export: "
            f"{listing(unknown)}; the imported participants are {listing(sorted(known))}")
    for column in attributes.columns:
        if column == "participant_id":
            continue
        target = column_name(column)
        if target not in frame.columns:
            frame[target] = pd.Series([None] * len(frame), index=frame.index, dtype=object)
        for position, (raw, value) in enumerate(zip(attributes["participant_id"],
                                                    attributes[column], strict=True), 2):
            if pd.isna(value) or not str(value).strip():
                continue
            text = str(raw).strip()
            pid = text if text in known else aliases[text.lower()]
            frame.at[pid, target] = _checked(target, str(value).strip(), label, position)
    for column in _INTEGER_COLUMNS & set(frame.columns):
        if all(_is_int(v) for v in frame[column].dropna()):
            frame[column] = pd.array([None if pd.isna(v) else int(v) for v in frame[column]],
                                     dtype="Int64")
    return frame.reset_index(drop=True)


def _checked(column: str, value: str, label: str, row: int) -> Value:
    if column == "perspective":
        if value.lower() not in PERSPECTIVES:
            raise CompendiumError(f"{label}:{row}: perspective: '{one_line(value, 40)}' is not "
                                  f"one of {', '.join(PERSPECTIVES)}")
        return value.lower()
    if column in _INTEGER_COLUMNS:
        if not _is_int(value) or int(value) < 1:
            raise CompendiumError(f"{label}:{row}: {column}: '{one_line(value, 40)}' is not a "
                                  "whole number of at least 1")
        return int(value)
    return value


def missing_attributes(participants: pd.DataFrame) -> dict[str, list[str]]:
    """The participants that lack each required attribute."""
    out = {}
    for column in REQUIRED_ATTRIBUTES:
        values = participants[column] if column in participants else \
            pd.Series([None] * len(participants))
        lacking = [pid for pid, v in zip(participants["participant_id"], values, strict=True)
                   if v is None or pd.isna(v) or not str(v).strip()]
        if lacking:
            out[column] = lacking
    return out


def describe_missing(missing: dict[str, list[str]]) -> str:
    """One line saying who lacks what."""
    return "; ".join(f"{len(pids)} lack {column} ({listing(pids)})"
                     for column, pids in missing.items())

