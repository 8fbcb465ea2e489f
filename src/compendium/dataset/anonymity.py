"""The anonymisation gate: find direct identifiers before a dataset is published.

The gate scans every text field of the four tables, every transcript, the
interview guide and the dataset's title and description for

* e-mail addresses,
* telephone numbers (UK national forms such as ``01524 123456``, ``020 7946 0000``
  and ``07700 900123``, with or without spaces, ``(01524)`` area codes, ``+44`` and
  ``+44 (0)`` forms, and international ``+CC`` or ``00CC`` numbers),
* UK postcodes (``LA1 4YW``, ``EC1A 1BB``, ``M1 1AE``; without the space only in capitals),
* web addresses (``http(s)://``, ``www.`` and bare domains with a common top-level
  domain, such as ``example.co.uk``),
* every term of an identifiers list (names of real people, firms, places and events),
  matched case-insensitively as whole words, with possessives (``'s``, ``s'``) and
  simple plurals (``s``, ``es``).

Each hit is reported as a :class:`~compendium.errors.Problem` printed
``FILE:ROW: column: kind 'matched text'`` (transcripts: ``FILE:LINE: text: ...``).
Reviewed false positives are listed in ``anonymity_allowlist.csv`` in the dataset
folder, one ``kind,text,reason`` row each. The identifiers list is kept outside
version control: ``identifiers.txt`` at the repository root (git-ignored) or a
file passed explicitly; its format is documented in ``data/README.md``.

The gate finds *direct* identifiers only. Indirect ones (a job title plus a small
organisation, a rare event, a combination of attributes) need human judgement.

Finding the hits is ``patterns``'s job and reading the identifiers list is
``identifiers``'s; this module runs the gate over a dataset folder and reads
its allow-list.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CompendiumError, Problem
from ..userfile import is_regular_file
from .datapackage import DESCRIPTOR, INTERVIEW_GUIDE, TABLES, check_dataset_folder, read_descriptor
from .identifiers import NO_IDENTIFIERS, IdentifierList, normal_term, resolve_identifiers

# Term, read_identifiers, repository_root and PATTERN_KINDS are re-exported:
# pseudonymisation works from the gate's interface.
from .identifiers import Term as Term
from .identifiers import read_identifiers as read_identifiers
from .identifiers import repository_root as repository_root
from .patterns import (
    FEWEST_DIGITS_OF_A_HIT,
    KINDS,
    LEADS_HOLD_PREFILTERS,
    Hit,
    find_identifiers,
    resolve_overlaps,
    slices_without_leads,
)
from .patterns import PATTERN_KINDS as PATTERN_KINDS
from .tableio import (
    default_sources,
    is_inside,
    problem_order,
    read_problem,
    read_table,
    read_transcript_text,
)

#: The reviewed allow-list of false positives, in the dataset folder.
ALLOWLIST = "anonymity_allowlist.csv"

# --------------------------------------------------------------------------
# The allow-list


@dataclass(frozen=True)
class AllowList:
    """Reviewed false positives: (kind, normalised text) pairs that are not reported."""

    entries: frozenset[tuple[str, str]] = frozenset()

    def allows(self, hit: Hit) -> bool:
        """Whether a reviewed entry covers this hit (its text, its listed term, or the term
        without its ending)."""
        if not self.entries:
            return False
        candidates = {normal_term(hit.text)}
        if hit.term is not None:
            candidates.add(normal_term(hit.term.text))
            if hit.core_end is not None:
                candidates.add(normal_term(hit.text[: hit.core_end - hit.start]))
        return any((hit.kind, c) in self.entries for c in candidates)


def read_allowlist(folder: str | Path) -> tuple[AllowList, list[Problem]]:
    """The dataset's allow-list and its problems (each row needs a kind, text and reason)."""
    path = Path(folder) / ALLOWLIST
    if not path.exists():
        return AllowList(), []
    try:
        frame = read_table(path, ALLOWLIST)
    except CompendiumError as err:
        return AllowList(), [read_problem(ALLOWLIST, err)]
    missing = [c for c in ("kind", "text", "reason") if c not in frame.columns]
    if missing:
        return AllowList(), [Problem(ALLOWLIST, None, c, "required column is missing")
                             for c in missing]
    problems, entries = [], set()
    for position, (kind, text, reason) in enumerate(
            zip(frame["kind"], frame["text"], frame["reason"], strict=True)):
        row = position + 2
        ok = True
        kind = kind.strip().lower() if isinstance(kind, str) else ""
        if kind not in KINDS:
            problems.append(Problem(ALLOWLIST, row, "kind",
                                    f"'{kind}' is not one of {', '.join(KINDS)}" if kind
                                    else "value is required"))
            ok = False
        if not isinstance(text, str) or not text.strip():
            problems.append(Problem(ALLOWLIST, row, "text", "value is required"))
            ok = False
        if not isinstance(reason, str) or not reason.strip():
            problems.append(Problem(ALLOWLIST, row, "reason",
                                    "a reason is required: say why this match is not an "
                                    "identifier"))
            ok = False
        if ok:
            entries.add((kind, normal_term(text)))
    return AllowList(frozenset(entries)), problems


# --------------------------------------------------------------------------
# Scanning a dataset


def _kept(hits: list[Hit], allow: AllowList) -> list[Hit]:
    return resolve_overlaps(h for h in hits if not allow.allows(h))


def _as_strings(values: pd.Series) -> np.ndarray:
    """The values as Python strings in an object array (``values.astype(str)``)."""
    if isinstance(values.dtype, pd.StringDtype):
        return values.to_numpy(dtype=object)
    return values.astype(str).to_numpy(dtype=object)


def _mostly_distinct(strings: np.ndarray, sample: int = 4096) -> bool:
    """Whether most of a column's values differ, judged on its first rows."""
    head = strings[:sample]
    return len(head) > 64 and len(set(head.tolist())) > len(head) // 2


def scan_tables(tables: Mapping[str, pd.DataFrame], identifiers: IdentifierList = NO_IDENTIFIERS,
                allow: AllowList = AllowList(),
                skip: Mapping[tuple[str, str], np.ndarray] | None = None) -> list[Problem]:
    """Hits in every column of ``tables`` (file label -> frame), located by CSV row.

    Each column's distinct values are scanned once, so a coder name on a million
    rows costs one look, and every row holding a hit is reported. ``skip`` maps
    (file label, column) to the rows (a boolean mask) known to hold no hit, which
    are not scanned (see :func:`hit_free_slices`).
    """
    texts: list[str] = []
    # (first text, file, column, each present row's code or None when every row
    # is its own text, which rows are present): positions are worked out only for
    # a column with a hit, as a million-row array per column costs fresh memory
    groups: list[tuple[int, str, str, np.ndarray | None, np.ndarray]] = []
    for label, frame in tables.items():
        for column in frame.columns:
            values = frame[column]
            present = values.notna().to_numpy()
            if skip is not None and (label, str(column)) in skip:
                present = present & ~skip[label, str(column)]
            if not present.any():
                continue
            strings = _as_strings(values if present.all() else values[present])
            codes: np.ndarray | None
            if _mostly_distinct(strings):
                # ids and quotes: finding the few repeats would cost more than
                # scanning them twice, and every row is reported either way
                codes, uniques = None, strings
            else:
                codes, uniques = pd.factorize(strings)
            groups.append((len(texts), label, str(column), codes, present))
            texts.extend(uniques.tolist())
    hits = find_identifiers(texts, identifiers)
    if not hits:
        return []
    offsets = np.array([g[0] for g in groups])
    order_cache: dict[int, tuple[np.ndarray, np.ndarray | None, np.ndarray | None]] = {}
    problems = []
    for cell in sorted(hits):
        kept = _kept(hits[cell], allow)
        if not kept:
            continue
        g = int(np.searchsorted(offsets, cell, side="right") - 1)
        first, label, column, codes, present = groups[g]
        if g not in order_cache:
            positions = np.flatnonzero(present)
            order = None if codes is None else np.argsort(codes, kind="stable")
            order_cache[g] = (positions, order, None if codes is None else codes[order])
        positions, order, sorted_codes = order_cache[g]
        code = cell - first
        if order is None or sorted_codes is None:  # every present row its own text
            rows = positions[code:code + 1] + 2
        else:
            lo, hi = np.searchsorted(sorted_codes, [code, code + 1])
            rows = np.sort(positions[order[lo:hi]]) + 2
        for row in rows.tolist():
            for hit in kept:
                problems.append(Problem(label, int(row), column, hit.message))
    return problems


def scan_texts(texts: Mapping[str, str], identifiers: IdentifierList = NO_IDENTIFIERS,
               allow: AllowList = AllowList(), column: str = "text",
               places: dict[str, TextPlaces] | None = None) -> list[Problem]:
    """Hits in whole text files (label -> text), located by line number; ``places``,
    when given, receives each text's :class:`TextPlaces`, found in the same pass."""
    labels = list(texts)
    found: list[np.ndarray] | None = [] if places is not None else None
    hits = find_identifiers([texts[label] for label in labels], identifiers, places=found)
    if places is not None and found is not None:
        for label, led in zip(labels, found, strict=True):
            text = texts[label]
            # a text full of lead places gains nothing from them and would send a
            # large array back from a worker: its slices are scanned instead
            kept = led if len(led) <= MAX_PLACES_PER_CHARACTER * len(text) + 1024 else None
            places[label] = TextPlaces(len(text), hash(text), kept)
    problems = []
    for cell, cell_hits in sorted(hits.items()):
        text = texts[labels[cell]]
        for hit in _kept(cell_hits, allow):
            line = text.count("\n", 0, hit.start) + 1
            problems.append(Problem(labels[cell], line, column, hit.message))
    return problems


def text_names(folder: str | Path, segments: pd.DataFrame | None = None) -> set[str]:
    """The texts the gate reads, by path relative to ``folder``: every file under
    ``transcripts/``, every segment source of ``segments`` and the interview guide."""
    folder = Path(folder)
    names: set[str] = set()
    transcripts = folder / "transcripts"
    if transcripts.is_dir():
        names.update(p.relative_to(folder).as_posix() for p in transcripts.rglob("*")
                     if p.is_file() and not p.name.startswith("."))
    if segments is not None and len(segments) and "participant_id" in segments:
        names.update(str(s) for s in default_sources(segments).unique())
    if (folder / INTERVIEW_GUIDE).is_file():
        names.add(INTERVIEW_GUIDE)
    return names


def read_texts(folder: str | Path, segments: pd.DataFrame | None = None,
               names: set[str] | None = None) -> tuple[dict[str, str], list[Problem]]:
    """Transcripts (every file under ``transcripts/`` and every segment source) and
    the interview guide, by path relative to ``folder``; unreadable files as problems.

    ``names`` reads those texts instead (as :func:`text_names` lists them).
    """
    folder = Path(folder)
    if names is None:
        names = text_names(folder, segments)
    texts, problems = {}, []
    for rel in sorted(names):
        path = folder / rel
        if not is_inside(folder, path) or not is_regular_file(path):
            continue  # validation reports sources outside the folder, missing or odd
        try:
            texts[rel] = read_transcript_text(path, rel)
        except CompendiumError as err:
            problems.append(read_problem(rel, err))
    return texts, problems


def _descriptor_texts(folder: Path) -> dict[str, str]:
    try:
        descriptor = read_descriptor(folder)
    except CompendiumError:
        return {}  # validation reports an unreadable descriptor
    return {key: descriptor[key] for key in ("title", "description")
            if isinstance(descriptor.get(key), str)}


#: The most lead places per character of a text that the gate keeps for
#: :func:`hit_free_slices` (prose holds about one in two thousand).
MAX_PLACES_PER_CHARACTER = 1 / 64


@dataclass(frozen=True)
class TextPlaces:
    """What the gate saw of one text, for telling which slices of it hold no hit:
    its length and ``hash`` (to know it is the same text read again) and its lead
    places (:func:`~compendium.dataset.patterns.lead_places`)."""

    length: int
    digest: int
    #: None when the text had too many to keep (:data:`MAX_PLACES_PER_CHARACTER`)
    places: np.ndarray | None

    def matches(self, text: str) -> bool:
        """Whether ``text`` is the text these places were found in."""
        return self.length == len(text) and self.digest == hash(text)


def hit_free_slices(gate: Gate, seen: TextPlaces, text: str, starts: np.ndarray,
                    ends: np.ndarray) -> np.ndarray:
    """Whether each slice ``text[starts[i]:ends[i]]``, scanned as a cell of its own,
    provably holds no hit: ``text`` is the one ``seen`` describes, the slice holds
    none of its lead places (so no pattern's pre-filter can match in it), and the
    identifiers list has no terms (a term needs no lead). All False otherwise."""
    if gate.terms.terms or not LEADS_HOLD_PREFILTERS or seen.places is None \
            or not seen.matches(text):
        return np.zeros(len(starts), dtype=bool)
    return slices_without_leads(seen.places, starts, ends)


def digits_hold_no_hit(gate: Gate, width: int) -> bool:
    """Whether no text of ASCII digits alone, at most ``width`` long, can hold a hit of
    ``gate``: shorter than the shortest pattern hit of digits alone
    (:data:`~compendium.dataset.patterns.FEWEST_DIGITS_OF_A_HIT`), and no listed
    term (a term may be a number)."""
    return not gate.terms.terms and width < FEWEST_DIGITS_OF_A_HIT


@dataclass(frozen=True)
class Gate:
    """The gate made ready for one dataset: its folder, the identifiers list, the
    allow-list and the allow-list's own problems (read once, shared by its halves)."""

    folder: Path
    terms: IdentifierList
    allow: AllowList
    allow_problems: tuple[Problem, ...]


def prepare_gate(folder: str | Path,
                 identifiers: str | Path | IdentifierList | None = None) -> Gate:
    """Resolve the identifiers list and read the allow-list of the dataset at ``folder``."""
    folder = Path(folder)
    terms = resolve_identifiers(identifiers, folder)
    allow, problems = read_allowlist(folder)
    return Gate(folder, terms, allow, tuple(problems))


def gate_files(gate: Gate, names: set[str],
               places: dict[str, TextPlaces] | None = None) -> list[Problem]:
    """The half of the gate that needs no table: the allow-list's problems, the texts
    ``names`` (read and scanned) and the descriptor's title and description;
    ``places``, when given, receives what the gate saw of each text (for
    :func:`hit_free_slices`)."""
    problems = list(gate.allow_problems)
    texts, unreadable = read_texts(gate.folder, names=names)
    problems += unreadable + scan_texts(texts, gate.terms, gate.allow, places=places)
    for key, text in _descriptor_texts(gate.folder).items():
        problems += [Problem(DESCRIPTOR, None, key, p.message)
                     for p in scan_texts({DESCRIPTOR: text}, gate.terms, gate.allow)]
    return problems


def gate_tables(gate: Gate, tables: Mapping[str, pd.DataFrame], done: set[str] | None,
                skip: Mapping[tuple[str, str], np.ndarray] | None = None) -> list[Problem]:
    """The half of the gate over the tables (table name -> frame as read): every
    column but the rows ``skip`` names (as :func:`scan_tables`), and (when segments
    are among them) the segments' sources that are not among ``done`` (read and
    scanned; ``None``: none, another call reads them)."""
    problems = scan_tables({f"{t}.csv": tables[t] for t in TABLES if t in tables},
                           gate.terms, gate.allow, skip)
    rest = set()
    if "segments" in tables and done is not None:
        rest = text_names(gate.folder, tables["segments"]) - done
    if rest:
        texts, unreadable = read_texts(gate.folder, names=rest)
        problems += unreadable + scan_texts(texts, gate.terms, gate.allow)
    return problems


def gate_problems(folder: str | Path, tables: Mapping[str, pd.DataFrame],
                  identifiers: str | Path | IdentifierList | None = None) -> list[Problem]:
    """The gate on a dataset whose tables are already read (table name -> frame).

    ``identifiers`` is a path, a parsed list, or ``None`` for
    :func:`default_identifiers_path`. :func:`compendium.dataset.validate_dataset`
    runs its two halves, :func:`gate_files` and :func:`gate_tables`, side by side;
    a text scanned by one is not scanned by the other, and a text's hits depend on
    that text alone, so the halves find what this finds.
    """
    gate = prepare_gate(folder, identifiers)
    names = text_names(gate.folder)
    return gate_files(gate, names) + gate_tables(gate, tables, names)


def check_anonymity(folder: str | Path,
                    identifiers: str | Path | IdentifierList | None = None) -> list[Problem]:
    """Run the gate on the dataset at ``folder``: every hit, and every file it could not read.

    Unlike :func:`~compendium.dataset.validate_dataset` it does not check the
    dataset's structure or hashes, so it can be run while editing, before freezing.
    """
    folder = Path(folder)
    check_dataset_folder(folder)
    terms = resolve_identifiers(identifiers, folder)
    frames, problems = {}, []
    for table in TABLES:
        label = f"{table}.csv"
        try:
            frames[table] = read_table(folder / label, label)
        except CompendiumError as err:
            problems.append(read_problem(label, err))
    problems += gate_problems(folder, frames, terms)
    return sorted(set(problems), key=problem_order)


_HIT_MESSAGE = re.compile(rf"^(?:{'|'.join(KINDS)}) '")


def is_hit(problem: Problem) -> bool:
    """Whether a problem is a possible identifier (rather than an unreadable file)."""
    return bool(_HIT_MESSAGE.match(problem.message))
