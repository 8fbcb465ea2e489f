"""From a :class:`~.model.QdaProject` to the four canonical tables and the transcripts.

The rules (data/README.md describes the tables):

- **participants**: one per case; without cases, one per text source. Case
  and source variables become attribute columns (``Perspective`` is read as
  ``perspective``); ``--participants`` adds or overrides them.
- **codebook**: a top-level folder is a ``theme``, a folder below it a
  ``subtheme``, every code that is applied, and every leaf, a ``code``.
  Where the export marks folders (REFI ``isCodable="false"``, QualCoder
  categories) that mark decides; otherwise a code with children that is
  never applied is taken for a folder. Codes that sit under no theme (flat
  codebooks) are gathered under an added theme ``ungrouped``. ``parent_id``
  keeps the nesting; the definition is the code's description, or
  "(no definition in the export)".
- **segments**: identical spans of one source are one segment carrying all
  their codings (NVivo repeats a selection per coding); the text is
  ``transcript[start:end]`` in code points. Ids are ``<participant>-NNN``.
- **codings**: one row per (segment, code, coder); the coder is a user name.

A project written by ``compendium export`` carries a note with the
dataset's own ids, which are used where the project still agrees with them,
so that import(export(dataset)) gives back the same dataset.

Participants and their attributes are ``participants``'s; this module maps the
codebook, the segments and the codings, and builds the tables.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ..dataset.datapackage import DESCRIPTOR, INTERVIEW_GUIDE, TABLE_FILES
from ..errors import CompendiumError
from .ids import listing, noted_ids, valid_id
from .model import (
    IdMinter,
    QdaCode,
    QdaCoding,
    QdaProject,
    document_stem,
    slug,
)
from .participants import People, assign_participants, participants_frame

# Re-exported: the importer applies a user's attributes after the mapping.
from .participants import apply_attributes as apply_attributes
from .participants import describe_missing as describe_missing
from .participants import missing_attributes as missing_attributes
from .safety import safe_relative

UNGROUPED_ID = "ungrouped"
UNGROUPED_NAME = "Ungrouped codes"
UNGROUPED_DEFINITION = ("Codes that the imported project did not place under a theme "
                        "(added on import).")
NO_DEFINITION = "(no definition in the export)"
_RESERVED_PATHS = {*TABLE_FILES, DESCRIPTOR, INTERVIEW_GUIDE}
TABLE_COLUMNS = {
    "codebook": ["code_id", "theme", "level", "parent_id", "name", "definition"],
    "segments": ["segment_id", "participant_id", "source", "start", "end", "text"],
    "codings": ["segment_id", "code_id", "coder"],
}


@dataclass
class Tables:
    """The canonical tables built from one project, with what was done to build them."""

    participants: pd.DataFrame
    codebook: pd.DataFrame
    segments: pd.DataFrame
    codings: pd.DataFrame
    transcripts: dict[str, str]
    aliases: dict[str, str]                 # lower-case names a user may know -> participant_id
    primary_coder: str | None
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)



# --------------------------------------------------------------------------
# Codebook


def _name_paths(codes: list[QdaCode]) -> dict[str, tuple[str, ...]]:
    """Each code's names from the top of its tree, case-folded."""
    parent = {c.key: c.parent for c in codes}
    name = {c.key: c.name.casefold() for c in codes}
    paths = {}
    for code in codes:
        parts: list[str] = []
        key: str | None = code.key
        seen: set[str] = set()
        while key is not None and key in name and key not in seen:
            seen.add(key)
            parts.append(name[key])
            key = parent[key]
        paths[code.key] = tuple(reversed(parts))
    return paths


def adopt_codebook(project: QdaProject, book: list[QdaCode], label: str) -> None:
    """Make ``book`` (a ``.qdc`` codebook) the project's codebook, in place.

    Each code of the export is matched to the book's by GUID, else by its
    path of names from the top, else by a name the book holds once (case
    ignored), and its codings move to that code. Applied codes the book
    lacks are kept at the top level, with a warning; unapplied ones are
    dropped. The book's tree, descriptions and folders are what the dataset
    gets.
    """
    book_keys = {c.key for c in book}
    book_paths = _name_paths(book)
    by_path = {path: key for key, path in book_paths.items()}
    by_name: dict[str, list[str]] = defaultdict(list)
    for code in book:
        by_name[code.name.casefold()].append(code.key)
    target: dict[str, str] = {}
    paths = _name_paths(project.codes)
    for code in project.codes:
        path = paths[code.key]
        named = by_name.get(code.name.casefold(), [])
        if code.key in book_keys:
            target[code.key] = code.key
        elif path in by_path:
            target[code.key] = by_path[path]
        elif len(named) == 1:
            target[code.key] = named[0]
    applied = {c.code for s in project.selections for c in s.codings}
    missing = [c for c in project.codes if c.key in applied and c.key not in target]
    project.codes = list(book) + [QdaCode(c.key, c.name, c.description, True, None)
                                  for c in missing]
    for selection in project.selections:
        selection.codings = [QdaCoding(target.get(c.code, c.code), c.coder)
                             for c in selection.codings]
    project.folders_marked = any(not c.codable for c in project.codes)
    project.notes.append(f"codebook taken from {label} ({len(book)} entries); "
                         f"{len(applied) - len(missing)} of the {len(applied)} applied code(s) "
                         "found in it")
    if missing:
        project.warnings.append(
            f"{len(missing)} applied code(s) are not in {label} and were kept outside its "
            f"tree: {listing([c.name for c in missing])}")


def code_levels(codes: list[QdaCode], applied: set[str], folders_marked: bool) -> dict[str, str]:
    """The level of each code (see the module docstring for the rule)."""
    has_children = {c.parent for c in codes if c.parent is not None}
    levels = {}
    for code in codes:
        if code.key in applied:
            levels[code.key] = "code"
            continue
        folder = (not code.codable) if folders_marked else \
            (code.key in has_children or not code.codable)
        if folder:
            levels[code.key] = "theme" if code.parent is None else "subtheme"
        else:
            levels[code.key] = "code"
    return levels


def preorder(codes: list[QdaCode]) -> list[QdaCode]:
    """Codes with every parent before its children, siblings in document order."""
    kids: dict[str | None, list[QdaCode]] = defaultdict(list)
    keys = {c.key for c in codes}
    for code in codes:
        kids[code.parent if code.parent in keys else None].append(code)
    out: list[QdaCode] = []
    stack = list(reversed(kids[None]))
    while stack:
        code = stack.pop()
        out.append(code)
        stack.extend(reversed(kids[code.key]))
    return out


def codebook_frame(project: QdaProject, applied: set[str],
                   warnings: list[str]) -> tuple[pd.DataFrame, dict[str, str]]:
    """The codebook table and the code_id of each code key."""
    codes = preorder(project.codes)
    levels = code_levels(codes, applied, project.folders_marked)
    noted = noted_ids(project, "codes")
    minter = IdMinter()
    ids: dict[str, str] = {}
    for code in codes:
        wanted = (noted.get(code.key) or {}).get("code_id") if isinstance(noted.get(code.key),
                                                                          dict) else None
        if valid_id(wanted) and minter.claim(wanted):
            ids[code.key] = wanted
    parent_of = {c.key: c.parent for c in codes}

    def top(key: str) -> str:
        while (parent := parent_of.get(key)) is not None:
            key = parent
        return key

    needs_ungrouped = any(levels[top(c.key)] != "theme" for c in codes)
    ungrouped = minter.mint(UNGROUPED_ID) if needs_ungrouped else ""
    for code in codes:
        if code.key not in ids:
            ids[code.key] = minter.mint(code.name, "code")

    rows = []
    if needs_ungrouped:
        rows.append({"code_id": ungrouped, "theme": ungrouped, "level": "theme",
                     "parent_id": None, "name": UNGROUPED_NAME,
                     "definition": UNGROUPED_DEFINITION})
        warnings.append(f"codes outside any theme were placed under an added theme "
                        f"'{ungrouped}'")
    for code in codes:
        level = levels[code.key]
        head = top(code.key)
        theme = ids[head] if levels[head] == "theme" else ungrouped
        if level == "theme":
            theme, parent = ids[code.key], None
        else:
            parent = ids[code.parent] if code.parent is not None else ungrouped
        rows.append({"code_id": ids[code.key], "theme": theme, "level": level,
                     "parent_id": parent, "name": code.name or "(unnamed code)",
                     "definition": code.description or NO_DEFINITION})
    frame = pd.DataFrame(rows, columns=TABLE_COLUMNS["codebook"], dtype=object)
    return in_tree_order(_apply_noted_structure(frame, codes, noted, ids)), ids


def nesting(codebook: pd.DataFrame) -> dict[str, str | None]:
    """Where each entry sits in a tree: under its parent_id, else its theme, else at the top.

    The exporter nests codes this way, and the importer lists the codebook
    in the same tree order, so a codebook survives export and import.
    """
    ids = set(codebook["code_id"])
    nest: dict[str, str | None] = {}
    for code_id, theme, parent in zip(codebook["code_id"], codebook["theme"],
                                      codebook["parent_id"], strict=True):
        if isinstance(parent, str) and parent in ids and parent != code_id:
            nest[code_id] = parent
        elif isinstance(theme, str) and theme in ids and theme != code_id:
            nest[code_id] = theme
        else:
            nest[code_id] = None
    # Break any loop the theme fallback could close by lifting one member to the top.
    for code_id in list(nest):
        seen: set[str] = set()
        current: str | None = code_id
        while current is not None and current not in seen:
            seen.add(current)
            current = nest[current]
        if current is not None:
            nest[current] = None
    return nest


def in_tree_order(codebook: pd.DataFrame) -> pd.DataFrame:
    """The codebook with every entry after its parent, siblings in their present order."""
    nest = nesting(codebook)
    kids: dict[str | None, list[str]] = defaultdict(list)
    for code_id in codebook["code_id"]:
        kids[nest[code_id]].append(code_id)
    order: list[str] = []
    stack = list(reversed(kids[None]))
    while stack:
        code_id = stack.pop()
        order.append(code_id)
        stack.extend(reversed(kids[code_id]))
    rank = {code_id: i for i, code_id in enumerate(order)}
    return codebook.iloc[sorted(range(len(codebook)),
                                key=lambda i: rank[codebook["code_id"].iat[i]])] \
        .reset_index(drop=True)


def _apply_noted_structure(frame: pd.DataFrame, codes: list[QdaCode], noted: dict[str, Any],
                           ids: dict[str, str]) -> pd.DataFrame:
    """Take theme, parent_id and level from the identifiers note where the project agrees.

    ``compendium export`` nests a code under its parent_id, or under its
    theme when it has none; if the project still nests it there (and still
    marks it codable exactly when it is a code), the note's values are the
    dataset's own and are restored.
    """
    if not noted:
        return frame
    frame = frame.set_index("code_id", drop=False)
    derived = frame.copy()
    parent_of = {ids[c.key]: (ids[c.parent] if c.parent in ids else None) for c in codes}
    for code in codes:
        entry = noted.get(code.key)
        code_id = ids[code.key]
        if not isinstance(entry, dict) or entry.get("code_id") != code_id:
            continue
        level, theme, parent = entry.get("level"), entry.get("theme"), entry.get("parent_id")
        if level not in ("theme", "subtheme", "code") or not valid_id(theme) or \
                (parent is not None and not valid_id(parent)):
            continue
        nested_under = parent if parent else (theme if theme != code_id else None)
        if nested_under != parent_of[code_id] or (level == "code") != code.codable:
            continue
        frame.loc[code_id, ["level", "theme", "parent_id"]] = [level, theme, parent]
    themes = set(frame.loc[frame["level"] == "theme", "code_id"])
    present = set(frame["code_id"])
    bad = ~frame["theme"].isin(themes) | (frame["parent_id"].notna()
                                          & ~frame["parent_id"].isin(present))
    frame.loc[bad, ["level", "theme", "parent_id"]] = derived.loc[bad, ["level", "theme",
                                                                       "parent_id"]]
    return frame.reset_index(drop=True)


# --------------------------------------------------------------------------
# Transcripts, segments and codings


def transcript_paths(project: QdaProject, people: People) -> dict[str, str | None]:
    """Where each source's text goes in the dataset (None: it is not a transcript)."""
    noted = noted_ids(project, "sources")
    count = Counter(people.of_source[s.key] for s in project.sources if s.text is not None)
    minter = IdMinter()
    paths: dict[str, str | None] = {}
    for source in project.sources:
        entry = noted.get(source.key)
        if isinstance(entry, dict) and "path" in entry:
            wanted = entry["path"]
            if wanted is None:
                paths[source.key] = None  # an excerpt collection written by the exporter
                continue
            safe = safe_relative(wanted) if isinstance(wanted, str) else None
            if safe is not None and safe.as_posix() == wanted and wanted not in \
                    _RESERVED_PATHS and minter.claim(wanted):
                paths[source.key] = wanted
    for source in project.sources:
        if source.key in paths:
            continue
        if source.text is None:
            paths[source.key] = None
            continue
        pid = people.of_source[source.key]
        wanted = f"transcripts/{pid}.txt"
        if count[pid] == 1 and minter.claim(wanted):
            paths[source.key] = wanted
        else:
            base = slug(document_stem(source.name), "source")
            candidate, number = f"transcripts/{base}.txt", 2
            while not minter.claim(candidate):
                candidate, number = f"transcripts/{base}-{number}.txt", number + 1
            paths[source.key] = candidate
    return paths


def segment_frames(project: QdaProject, people: People, paths: dict[str, str | None],
                   code_ids: dict[str, str], warnings: list[str],
                   notes: list[str]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Segments (identical spans grouped) and their codings."""
    noted = noted_ids(project, "segments")
    order = {p.pid: i for i, p in enumerate(people.participants)}
    source_rank = {s.key: i for i, s in enumerate(project.sources)}
    groups: dict[tuple, dict[str, Any]] = {}
    placed: dict[Any, tuple] = {}   # the first place of each noted segment id
    moved: list[str] = []           # selections noting an id whose segment is elsewhere
    uncoded = blank = empty = 0
    for index, selection in enumerate(project.selections):
        if not selection.codings:
            uncoded += 1
            continue
        if selection.start is not None and selection.start == selection.end:
            empty += 1
            continue
        if not selection.text.strip():
            blank += 1
            continue
        pid = people.of_selection.get(selection.key) or people.of_source[selection.source]
        path = paths.get(selection.source)
        located = path is not None and selection.start is not None
        wanted = noted.get(selection.key)
        place: tuple = ("span", pid, selection.source, selection.start, selection.end) \
            if located else ("text", pid, selection.source, selection.text)
        # Selections noting one segment id are that segment's only where they also agree
        # on where it is: one whose span was changed after the export (or a note copied
        # onto another selection) keeps its own span, and its codings stay on it.
        key: tuple = place
        if valid_id(wanted):
            key = ("id", wanted, place)
            if key not in groups and wanted in placed:
                moved.append(f"{wanted} (selection {selection.key})")
            placed.setdefault(wanted, place)
        group = groups.setdefault(key, {
            # the id stays with the span first seen with it; the others get new ids
            "noted": wanted if valid_id(wanted) and placed[wanted] == place else None,
            "participant_id": pid,
            "source": path if located else None,
            "start": selection.start if located else None,
            "end": selection.end if located else None, "text": selection.text,
            "rank": (order[pid], source_rank[selection.source],
                     selection.start if located else index, selection.end if located else 0),
            "codings": []})
        group["codings"] += selection.codings
    if moved:
        warnings.append(f"{len(moved)} selection(s) name a segment id noted for another span "
                        f"or text, and are kept as segments of their own: {listing(moved, 5)}")
    if uncoded:
        notes.append(f"{uncoded} selection(s) without codings skipped")
    if empty:
        warnings.append(f"{empty} empty selection(s) (start = end) skipped")
    if blank:
        warnings.append(f"{blank} selection(s) holding only white space skipped")
    merged = sum(1 for s in project.selections if s.codings) - uncoded - empty - blank \
        - len(groups)
    if merged:
        notes.append(f"{merged} selection(s) repeating the span of another were merged into "
                     "one segment each")

    ordered = sorted(groups.values(), key=lambda g: g["rank"])
    minter = IdMinter(g["noted"] for g in ordered if g["noted"])
    taken_noted: set[str] = set()
    per_person = Counter(g["participant_id"] for g in ordered)
    number: Counter = Counter()
    segment_rows, coding_rows = [], []
    seen: set[tuple[str, str, str]] = set()
    duplicates = 0
    for group in ordered:
        pid = group["participant_id"]
        if group["noted"] and group["noted"] not in taken_noted:
            sid = group["noted"]
            taken_noted.add(sid)
        else:
            width = max(3, len(str(per_person[pid])))
            while True:
                number[pid] += 1
                sid = f"{pid}-{number[pid]:0{width}d}"
                if minter.claim(sid):
                    break
        segment_rows.append({"segment_id": sid, "participant_id": pid, "source": group["source"],
                             "start": group["start"], "end": group["end"],
                             "text": group["text"]})
        for coding in group["codings"]:
            triple = (sid, code_ids[coding.code], coding.coder.strip() or "unknown")
            if triple in seen:
                duplicates += 1
                continue
            seen.add(triple)
            coding_rows.append(dict(zip(TABLE_COLUMNS["codings"], triple, strict=True)))
    if duplicates:
        notes.append(f"{duplicates} repeated coding(s) (same segment, code and coder) merged")
    segments = pd.DataFrame(segment_rows, columns=TABLE_COLUMNS["segments"], dtype=object)
    for column in ("start", "end"):
        segments[column] = pd.array(segments[column].tolist(), dtype="Int64")
    # One block per coder (by name), each in segment order, as codings.csv is laid out.
    coding_rows.sort(key=lambda row: row["coder"])
    codings = pd.DataFrame(coding_rows, columns=TABLE_COLUMNS["codings"], dtype=object)
    return segments, codings


def build_tables(project: QdaProject) -> Tables:
    """Map a project onto the canonical tables (participant attributes may still be missing)."""
    warnings: list[str] = []
    notes: list[str] = []
    people = assign_participants(project, warnings)
    applied = {c.code for s in project.selections for c in s.codings}
    codebook, code_ids = codebook_frame(project, applied, warnings)
    paths = transcript_paths(project, people)
    segments, codings = segment_frames(project, people, paths, code_ids, warnings, notes)
    if codings.empty:
        raise CompendiumError(
            f"{project.label}: no codings on text to import ({len(project.codes)} code(s), "
            f"{len(project.sources)} text source(s), {len(project.selections)} selection(s)); "
            "a dataset needs coded segments")
    order = (project.identifiers or {}).get("participant_columns")
    participants = participants_frame(people.participants, project.integer_variables,
                                      order if isinstance(order, list) else None)
    transcripts = {path: s.text for s in project.sources
                   if (path := paths.get(s.key)) and s.text is not None}
    aliases: dict[str, str] = {}
    for person in people.participants:
        for name in person.names:
            aliases.setdefault(name.strip().lower(), person.pid)
    noted_coder = ((project.identifiers or {}).get("dataset") or {}).get("primary_coder") \
        if isinstance((project.identifiers or {}).get("dataset"), dict) else None
    counts = codings["coder"].value_counts()
    busiest = sorted(counts[counts == counts.max()].index)[0]
    primary = noted_coder if noted_coder in set(codings["coder"]) else busiest
    return Tables(participants, codebook, segments, codings, transcripts, aliases, primary,
                  notes, warnings)


