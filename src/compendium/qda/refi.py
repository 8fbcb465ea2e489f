"""Reading a REFI-QDA project: a ``.qdpx`` archive, or a ``.qde`` file beside its sources.

The reader follows the REFI-QDA Project exchange standard (namespace
``urn:QDA-XML:project:1.0``) and the ways real exports stray from it:

- the ``.qde`` may be ``project.qde`` or named after the project, in any
  case; the sources folder is ``Sources/`` or ``sources/``; ``plainTextPath``
  may lack ``internal://``; GUIDs may be braced and in either case;
- text sources may carry a byte-order mark and Windows line endings;
- positions are code points by the standard, UTF-16 code units in NVivo and
  count CR LF as one in ATLAS.ti: the counting is taken from
  ``Project@origin`` and confirmed against the texts (:mod:`.offsets`);
- the coder of a coding is ``Coding@creatingUser``, resolved to the user's
  *name*, since user GUIDs are re-minted on every export;
- ATLAS.ti 8 writes hierarchy into code names (``Parent::child``) and
  document variables as Sets named ``variable: value``;
- cases carry variables and point at their sources (``SourceRef``);
- PDF, picture, audio and video sources are listed and skipped.

The result is a :class:`~.model.QdaProject` with positions in code points.
Finding the project's files is ``refi_files``'s job.

Longer than 500 lines because reading the project is one pass over its XML:
codes, variables, cases, sources and their selections refer to one another by
GUID and are resolved in that pass, and the counting of positions is chosen
from all the sources at once before any selection is placed; split, each
part would take the half-read project from the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import CompendiumError
from ..userfile import parse_json
from .model import (
    GUIDE_NOTE_NAME,
    IDS_NOTE_KEY,
    IDS_NOTE_NAME,
    QdaCase,
    QdaCode,
    QdaCoding,
    QdaProject,
    QdaSelection,
    QdaSource,
    Value,
    normalise_guid,
)
from .offsets import (
    Counting,
    PositionMap,
    SpanProbe,
    choose_counting,
    counting_hint,
    end_past_line_ending,
    strip_bom,
    weigh_counting,
    written_by_compendium,
)
from .refi_files import ProjectFiles, open_project_files
from .refi_files import is_qde_name as is_qde_name  # re-exported for the importer
from .refi_files import zipfile_magic as zipfile_magic
from .safety import (
    MAX_XML_BYTES,
    decode_text,
    one_line,
    parse_xml,
    read_file_limited,
    safe_relative,
)

#: Source elements other than text: listed and skipped.
NON_TEXT_SOURCES = ("PDFSource", "PictureSource", "AudioSource", "VideoSource")
_SET_VARIABLE = re.compile(r"^\s*([^:]+?)\s*:\s*(\S.*?)\s*$")
_EXTERNAL = ("relative://", "absolute://", "file://", "http://", "https://")


# --------------------------------------------------------------------------
# XML helpers (namespace-agnostic: some tools omit or vary the namespace)


def local(tag: Any) -> str:
    """An element's tag without its namespace."""
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def children(element: Any, name: str) -> list[Any]:
    """The direct children of ``element`` with the local tag ``name``."""
    return [child for child in element if local(child.tag) == name]


def child(element: Any, name: str) -> Any | None:
    """The first direct child of ``element`` with the local tag ``name``, or None."""
    found = children(element, name)
    return found[0] if found else None


def child_text(element: Any, name: str) -> str:
    """The text of the first child with the local tag ``name``, or None."""
    found = child(element, name)
    return (found.text or "") if found is not None else ""


# --------------------------------------------------------------------------
# Codes


def read_codes(root: Any, label: str) -> list[QdaCode]:
    """The codebook in document order; nesting gives ``parent``.

    The tree is walked with an explicit stack, so codes nested any depth deep
    (the XML parser accepts thousands of levels) cannot exhaust the interpreter's
    recursion limit.
    """
    codes: list[QdaCode] = []
    seen: set[str] = set()
    book = child(root, "CodeBook")
    holder = child(book, "Codes") if book is not None else None
    # (element, parent key) pairs, reversed so that pops come in document order
    stack: list[tuple[Any, str | None]] = \
        [(c, None) for c in reversed(children(holder, "Code"))] if holder is not None else []
    while stack:
        code, parent = stack.pop()
        key = normalise_guid(code.get("guid"))
        if not key:
            raise CompendiumError(f"{label}: code '{one_line(code.get('name'))}' has no guid")
        if key in seen:
            raise CompendiumError(f"{label}: two codes share the guid {key}")
        seen.add(key)
        codable = (code.get("isCodable") or "true").strip().lower() not in ("false", "0")
        codes.append(QdaCode(key, (code.get("name") or "").strip(),
                             child_text(code, "Description").strip(), codable, parent))
        stack.extend((c, key) for c in reversed(children(code, "Code")))
    return codes


def split_path_names(codes: list[QdaCode]) -> tuple[list[QdaCode], int]:
    """Turn ATLAS.ti's ``Parent::child`` names into nesting.

    Only top-level codes are split. A parent that exists as a top-level code
    of that name is used; a missing one is created as a folder. Returns the
    codes and how many names were split.
    """
    by_path: dict[tuple[str, ...], str] = {(c.name,): c.key for c in codes if c.parent is None
                                          and "::" not in c.name}
    out: list[QdaCode] = []
    split = 0
    for code in codes:
        parts = [p.strip() for p in code.name.split("::")]
        if code.parent is not None or len(parts) < 2 or not all(parts):
            out.append(code)
            continue
        split += 1
        parent: str | None = None
        for depth in range(1, len(parts)):
            path = tuple(parts[:depth])
            if path not in by_path:
                key = "path:" + "::".join(path)
                out.append(QdaCode(key, parts[depth - 1], "", False, parent))
                by_path[path] = key
            parent = by_path[path]
        out.append(QdaCode(code.key, parts[-1], code.description, code.codable, parent))
        by_path.setdefault(tuple(parts), code.key)
    return out, split


# --------------------------------------------------------------------------
# Variables, cases, sets


def read_variables(root: Any) -> dict[str, tuple[str, str]]:
    """Variable guid -> (name, typeOfVariable)."""
    holder = child(root, "Variables")
    return {normalise_guid(v.get("guid")): ((v.get("name") or "").strip(),
                                            (v.get("typeOfVariable") or "Text").strip())
            for v in (children(holder, "Variable") if holder is not None else [])}


def variable_value(element: Any, variables: dict[str, tuple[str, str]]) -> tuple[str, Value] | None:
    """One VariableValue as (variable name, value); None when it cannot be read."""
    ref = child(element, "VariableRef")
    if ref is None:
        return None
    name, kind = variables.get(normalise_guid(ref.get("targetGUID")), ("", "Text"))
    if not name:
        return None
    for tag in ("IntegerValue", "TextValue", "BooleanValue", "FloatValue", "DateValue",
                "DateTimeValue"):
        found = child(element, tag)
        if found is not None:
            text = (found.text or "").strip()
            if not text:
                return name, None
            if tag == "IntegerValue" or kind == "Integer":
                try:
                    return name, int(text)
                except ValueError:
                    return name, text
            return name, text
    return name, None


def read_cases(root: Any, variables: dict[str, tuple[str, str]]) -> list[QdaCase]:
    """The project's cases with their variable values."""
    holder = child(root, "Cases")
    cases = []
    for number, case in enumerate(children(holder, "Case") if holder is not None else [], 1):
        attributes: dict[str, Value] = {}
        for value in children(case, "VariableValue"):
            read = variable_value(value, variables)
            if read is not None:
                attributes.setdefault(read[0], read[1])
        cases.append(QdaCase(
            key=normalise_guid(case.get("guid")) or f"case-{number}",
            name=(case.get("name") or "").strip() or f"case {number}",
            sources=[normalise_guid(r.get("targetGUID")) for r in children(case, "SourceRef")],
            selections=[normalise_guid(r.get("targetGUID"))
                        for r in children(case, "SelectionRef")],
            attributes=attributes,
        ))
    return cases


def set_variables(root: Any) -> dict[str, dict[str, str]]:
    """ATLAS.ti document variables: Sets named ``variable: value``.

    Returns source guid -> {variable: value}.
    """
    holder = child(root, "Sets")
    found: dict[str, dict[str, str]] = {}
    for item in children(holder, "Set") if holder is not None else []:
        match = _SET_VARIABLE.match(item.get("name") or "")
        members = children(item, "MemberSource")
        if not match or "::" in (item.get("name") or "") or not members:
            continue
        for member in members:
            found.setdefault(normalise_guid(member.get("targetGUID")), {}) \
                .setdefault(match.group(1), match.group(2))
    return found


def read_identifiers(root: Any, label: str) -> tuple[dict | None, str | None, list[str]]:
    """The identifiers note of ``compendium export`` (and the interview guide), if present."""
    holder = child(root, "Notes")
    notes = children(holder, "Note") if holder is not None else []
    warnings: list[str] = []
    identifiers = None
    for note in notes:
        if (note.get("name") or "") != IDS_NOTE_NAME:
            continue
        try:
            data = parse_json(child_text(note, "PlainTextContent").encode("utf-8"), label)
        except CompendiumError:
            warnings.append(f"{label}: note '{IDS_NOTE_NAME}' is not valid JSON; ids are derived "
                            "from names instead")
            continue
        if isinstance(data, dict) and data.get(IDS_NOTE_KEY) == 1:
            identifiers = data
    guide = None
    guide_guid = normalise_guid(str((identifiers or {}).get("interview_guide") or ""))
    for note in notes:
        if guide_guid and normalise_guid(note.get("guid")) == guide_guid \
                and (note.get("name") or "") == GUIDE_NOTE_NAME:
            guide = child_text(note, "PlainTextContent")
    return identifiers, guide, warnings


# --------------------------------------------------------------------------
# Sources and selections


@dataclass
class _RawSelection:
    key: str
    name: str
    start: int
    end: int
    codings: list[QdaCoding]
    whole: bool = False


@dataclass
class _RawSource:
    key: str
    name: str
    path: str | None
    content: str | None
    selections: list[_RawSelection] = field(default_factory=list)
    attributes: dict[str, Value] = field(default_factory=dict)
    text: str | None = None


@dataclass
class _Coders:
    """Resolves user GUIDs to user names, noting GUIDs that name no user."""

    users: dict[str, str]
    unknown: set[str] = field(default_factory=set)

    def name(self, *guids: str | None) -> str:
        for guid in guids:
            key = normalise_guid(guid)
            if not key:
                continue
            if self.users.get(key):
                return self.users[key]
            self.unknown.add(key)
            return f"user-{key[:8]}"
        return "unknown"


def _position(element: Any, attribute: str, label: str, where: str) -> int:
    raw = (element.get(attribute) or "").strip()
    try:
        return int(raw)
    except ValueError:
        raise CompendiumError(f"{label}: {where}: {attribute} '{one_line(raw)}' is not a "
                              "whole number") from None


def read_text_source(element: Any, number: int, label: str, coders: _Coders,
                     codes: set[str], variables: dict[str, tuple[str, str]],
                     warnings: list[str], skipped: list[int]) -> _RawSource:
    """One TextSource with its selections (positions still as the tool counted them).

    ``skipped[0]`` is increased by the codings left out (each kind named in ``warnings``).
    """
    key = normalise_guid(element.get("guid")) or f"source-{number}"
    name = (element.get("name") or "").strip()
    path = element.get("plainTextPath")
    content = child(element, "PlainTextContent")
    source = _RawSource(key, name or Path(path or f"source {number}").name, path,
                        content.text or "" if content is not None else None)
    dangling = 0
    for index, selection in enumerate(children(element, "PlainTextSelection"), 1):
        sel_key = normalise_guid(selection.get("guid")) or f"{key}#{index}"
        where = f"selection {sel_key} in source '{one_line(source.name)}'"
        start = _position(selection, "startPosition", label, where)
        end = _position(selection, "endPosition", label, where)
        if start < 0 or end < start:
            raise CompendiumError(f"{label}: {where}: positions {start}..{end} are not a "
                                  "span (the start must not be after the end)")
        codings = []
        for coding in children(selection, "Coding"):
            ref = child(coding, "CodeRef")
            code = normalise_guid(ref.get("targetGUID")) if ref is not None else ""
            if code not in codes:
                dangling += 1
                continue
            codings.append(QdaCoding(code, coders.name(coding.get("creatingUser"),
                                                       selection.get("creatingUser"))))
        source.selections.append(_RawSelection(sel_key, selection.get("name") or "", start,
                                               end, codings))
    whole = []
    for coding in children(element, "Coding"):
        ref = child(coding, "CodeRef")
        code = normalise_guid(ref.get("targetGUID")) if ref is not None else ""
        if code in codes:
            whole.append(QdaCoding(code, coders.name(coding.get("creatingUser"))))
        else:
            dangling += 1
    skipped[0] += dangling
    if whole:
        source.selections.append(_RawSelection(f"{key}#whole", "", 0, -1, whole, whole=True))
        warnings.append(f"source '{one_line(source.name)}' is coded as a whole: "
                        f"{len(whole)} coding(s) kept on a segment spanning its whole text")
    if dangling:
        warnings.append(f"source '{one_line(source.name)}': {dangling} coding(s) refer to codes "
                        "that are not in the codebook; skipped")
    for value in children(element, "VariableValue"):
        read = variable_value(value, variables)
        if read is not None:
            source.attributes.setdefault(read[0], read[1])
    return source


def resolve_text(source: _RawSource, files: ProjectFiles) -> str | None:
    """The source's plain text (BOM stripped), or None when the export lacks it."""
    if source.content is not None:
        return strip_bom(source.content)
    path = (source.path or "").strip()
    if not path or path.lower().startswith(_EXTERNAL):
        return None
    relative = path[len("internal://"):] if path.lower().startswith("internal://") else path
    safe = safe_relative(relative)
    if safe is None:
        raise CompendiumError(f"{files.qde_label}: source '{one_line(source.name)}' has a "
                              f"plainTextPath '{one_line(path)}' that escapes the sources folder")
    data = files.fetch_source(safe.as_posix())
    if data is None:
        return None
    return strip_bom(decode_text(data, f"{files.label}: {one_line(safe.as_posix())}"))


def count_codings(element: Any) -> int:
    """How many Coding elements ``element`` holds, at any depth."""
    return sum(1 for e in element.iter() if local(e.tag) == "Coding")


#: Elements that hold codings, and where the REFI-QDA schema puts them.
_CODING_HOLDERS = ("TextSource", "PlainTextSelection", "Coding")
NEWLINE = b"\n"


def _report_stray(root: Any, sources: Any | None, raw: bytes, warnings: list[str]) -> int:
    """Warn of every coding-holding element outside its schema place; the codings so lost.

    The reader takes a ``TextSource`` only directly under ``Sources``, a
    ``PlainTextSelection`` only directly under a ``TextSource`` and a ``Coding``
    only directly under either; one elsewhere (moved by a hand edit, a merge or a
    damaged export) would be passed over without a word. Each outermost such
    element is named, with its line, and the codings it holds are counted lost.
    """
    placed: set[int] = set()
    for source in list(sources) if sources is not None else []:
        if local(source.tag) == "TextSource":
            placed.add(id(source))
            for item in source:
                if local(item.tag) == "PlainTextSelection":
                    placed.add(id(item))
                    placed.update(id(c) for c in item if local(c.tag) == "Coding")
                elif local(item.tag) == "Coding":
                    placed.add(id(item))
        elif local(source.tag) in NON_TEXT_SOURCES:
            placed.update(id(e) for e in source.iter())  # reported with the non-text sources
    lost = 0
    stack = [root]
    while stack:  # iterative, outermost first: a stray element's contents go with it
        element = stack.pop()
        tag = local(element.tag)
        if tag in _CODING_HOLDERS and id(element) not in placed:
            n = count_codings(element)
            lost += n
            guid = (element.get("guid") or "").strip()
            warnings.append(f"skipped <{tag}>{f' {one_line(guid, 40)}' if guid else ''}"
                            f"{_line_of(raw, guid)}: it is not where the REFI-QDA schema "
                            f"puts it, so its {n} coding(s) are not imported")
            continue
        stack.extend(reversed(list(element)))
    return lost


def _line_of(raw: bytes, guid: str) -> str:
    """`` at line N`` of the element carrying ``guid`` in the XML, when it can be found."""
    at = raw.find(f'"{guid}"'.encode()) if guid else -1
    return f" at line {raw.count(NEWLINE, 0, at) + 1}" if at >= 0 else ""


# --------------------------------------------------------------------------
# The whole project


def read_refi(path: Path) -> QdaProject:
    """Read a REFI-QDA project (archive, .qde file or unpacked folder) into the model."""
    files = open_project_files(path)
    root = parse_xml(files.qde, files.qde_label)
    return project_from_xml(root, files)


def project_from_xml(root: Any, files: ProjectFiles) -> QdaProject:
    """Build the model from a parsed project XML and access to its source files."""
    label = files.label
    kind = local(root.tag)
    if kind == "CodeBook":
        raise CompendiumError(f"{label}: a REFI-QDA codebook (.qdc): it holds codes but no "
                              "sources or codings; nothing to import")
    if kind != "Project":
        raise CompendiumError(f"{label}: the XML root is <{one_line(kind)}>, not a REFI-QDA "
                              "<Project>")
    origin = (root.get("origin") or "").strip()
    project = QdaProject(label=label, format=files.format,
                         name=(root.get("name") or "").strip() or Path(label).stem,
                         origin=origin)
    users_holder = child(root, "Users")
    coders = _Coders({normalise_guid(u.get("guid")): (u.get("name") or u.get("id") or "").strip()
                      for u in (children(users_holder, "User") if users_holder is not None
                                else [])})
    codes = read_codes(root, label)
    project.folders_marked = any(not c.codable for c in codes)
    codes, split = split_path_names(codes)
    if split:
        project.notes.append(f"{split} code name(s) of the form 'Parent::child' read as nesting")
    project.codes = codes
    variables = read_variables(root)
    project.integer_variables = {name for name, kind in variables.values() if kind == "Integer"}
    project.cases = read_cases(root, variables)
    project.identifiers, project.interview_guide, warnings = read_identifiers(root, label)
    project.warnings += warnings

    code_keys = {c.key for c in codes}
    raw_sources: list[_RawSource] = []
    skipped: list[str] = []
    lost = [0]
    holder = child(root, "Sources")
    for number, element in enumerate(list(holder) if holder is not None else [], 1):
        tag = local(element.tag)
        if tag == "TextSource":
            raw_sources.append(read_text_source(element, number, label, coders, code_keys,
                                                variables, project.warnings, lost))
        elif tag in NON_TEXT_SOURCES:
            n = count_codings(element)
            lost[0] += n
            skipped.append(f"{tag} '{one_line(element.get('name') or '?', 60)}'"
                           + (f" ({n} coding(s))" if n else ""))
    if skipped:
        project.warnings.append(f"skipped {len(skipped)} non-text source(s), which a dataset "
                                f"cannot hold: {'; '.join(skipped)}")
    lost[0] += _report_stray(root, holder, files.qde, project.warnings)
    project.skipped_codings = lost[0]
    if coders.unknown:
        project.warnings.append(f"{len(coders.unknown)} coder GUID(s) name no user of the "
                                f"project; their codings are attributed to 'user-<guid>'")

    sets = set_variables(root)
    if sets:
        project.notes.append("document variables read from Sets named 'variable: value'")
    for source in raw_sources:
        source.text = resolve_text(source, files)
    missing = [s for s in raw_sources if s.text is None and any(x.codings for x in s.selections)]
    if missing:
        first = missing[0]
        unplaced = sum(len(x.codings) for s in missing for x in s.selections)
        raise CompendiumError(
            f"{label}: the text of {len(missing)} coded source(s) is missing from the export "
            f"(the first: '{one_line(first.name, 60)}', "
            f"{one_line(first.path or 'no plainTextPath', 60)}), so {unplaced} coding(s) cannot "
            "be placed; export the project again with its sources included")
    kept: list[_RawSource] = []
    for source in raw_sources:
        if source.text is None:
            project.warnings.append(f"source '{one_line(source.name)}' has no text in the "
                                    "export and no codings; skipped")
            continue
        for attribute, value in sets.get(source.key, {}).items():
            source.attributes.setdefault(attribute, value)
        kept.append(source)

    _place_selections(project, kept, origin)
    project.sources = [QdaSource(s.key, s.name, s.text, s.attributes) for s in kept]
    return project


def _place_selections(project: QdaProject, sources: list[_RawSource], origin: str) -> None:
    """Choose the position counting, then convert every selection to code points."""
    texts = {s.key: s.text or "" for s in sources}
    probes = [SpanProbe(s.key, sel.start, sel.end, sel.name)
              for s in sources for sel in s.selections if not sel.whole]
    hint = counting_hint(origin)
    if written_by_compendium(origin):
        # Our own exporter writes code points: nothing to guess.
        counting = Counting.CODE_POINTS
        evidence = [weigh_counting(counting, texts, probes)]
    else:
        counting, evidence = choose_counting(hint, texts, probes)
    chosen = next(e for e in evidence if e.counting is counting)
    project.counting = counting.describe()
    if probes:
        project.notes.append(
            f"positions read as {counting.describe()} (tool: {origin or 'not named'}; "
            f"{chosen.on_boundaries} of {chosen.selections} selections start and end on word "
            f"boundaries, {chosen.named} match their names)")
    if counting is not hint and probes:
        hinted = next(e for e in evidence if e.counting is hint)
        project.warnings.append(
            f"{origin or 'the exporting tool'} is known to count {hint.describe()}, but the "
            f"texts fit {counting.describe()} better ({chosen.on_boundaries} vs "
            f"{hinted.on_boundaries} selections on word boundaries); using "
            f"{counting.describe()}")
    moved = 0
    for source in sources:
        text = source.text or ""
        mapping = PositionMap.build(text, counting)
        for raw in source.selections:
            if raw.whole:
                start, end = 0, len(text)
            else:
                try:
                    start, end = mapping.to_code_point(raw.start), mapping.to_code_point(raw.end)
                except ValueError as err:
                    raise CompendiumError(
                        f"{project.label}: selection {raw.key} in source "
                        f"'{one_line(source.name)}': {err}") from None
                if end_past_line_ending(text, end) != end:
                    moved += 1
                    end += 1
            project.selections.append(QdaSelection(raw.key, source.key, start, end,
                                                   text[start:end], list(raw.codings)))
    if moved:
        project.notes.append(f"{moved} selection(s) ending between the CR and LF of a line "
                             "ending extended past the LF")


# --------------------------------------------------------------------------
# A codebook on its own (.qdc)


def read_codebook(path: Path) -> list[QdaCode]:
    """The codes of a REFI-QDA codebook file (``.qdc``), in document order.

    The codebook exchange format (namespace ``urn:QDA-XML:codebook:1.0``)
    holds the same ``Code`` tree as a project's ``CodeBook``, as its root.
    """
    label = path.name
    root = parse_xml(read_file_limited(path, MAX_XML_BYTES, label), label)
    if local(root.tag) != "CodeBook":
        raise CompendiumError(f"{label}: the XML root is <{one_line(local(root.tag))}>, not a "
                              "REFI-QDA codebook <CodeBook>")
    holder = root.makeelement("Project", {})  # read_codes finds a CodeBook in a project
    holder.append(root)
    codes, _ = split_path_names(read_codes(holder, label))
    if not codes:
        raise CompendiumError(f"{label}: the codebook holds no codes")
    return codes

