"""Pseudonymisation: replace listed identifiers and pattern hits with consistent placeholders.

``compendium pseudonymise DIR --identifiers LIST --to OUT --key KEYFILE`` writes
a new dataset at ``OUT`` in which every term of the identifiers list (with its
possessive and plural forms) is replaced, in transcripts, the interview guide,
every text field of the four tables and the dataset's title and description, by a
placeholder numbered per kind: ``[Person 1]``, ``[Firm 2]``, ``[Place 1]``,
``[Event 1]``, ``[Identifier 1]``. The same term gets the same placeholder
everywhere; aliases written on one line of the list share one. A possessive or
plural ending is kept after the placeholder (``Smith's`` -> ``[Person 1]'s``).
In id columns (participant, segment and code ids, coder names, transcript paths)
the placeholder has an id's form, ``Person-1``, so references stay consistent.

What the anonymisation gate's patterns find (e-mail addresses, telephone
numbers, postcodes, web addresses) is replaced too, by ``[E-mail address 1]``,
``[Telephone number 1]``, ``[Postcode 1]`` and ``[Web address 1]``, numbered per
kind in order of first appearance, the same text always by the same
placeholder; ``patterns`` (``--patterns`` on the command line) chooses which
kinds, and a hit the dataset's allow-list covers is left as it is. So a
transcript never needs editing by hand, which would shift the offsets of every
later segment.

Segment offsets are recomputed so that every excerpt still equals
``transcript[start:end]`` (in code points); a segment boundary that falls inside a
replaced name is moved to the edge of its placeholder. The raw dataset is never
modified. The key (identifier -> placeholder) re-identifies participants, so it is
refused anywhere inside the repository's working tree and written only once ``OUT``
has been written and validated.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CompendiumError, Problem, ValidationError
from ..fileio import staged_file
from .anonymity import (
    ALLOWLIST,
    NO_IDENTIFIERS,
    PATTERN_KINDS,
    AllowList,
    Hit,
    IdentifierList,
    Term,
    check_anonymity,
    find_identifiers,
    read_allowlist,
    read_identifiers,
    read_texts,
    repository_root,
    resolve_overlaps,
)
from .datapackage import INTERVIEW_GUIDE, TABLES, check_dataset_folder, check_outside_dataset

#: Placeholder labels per kind of listed term.
LABELS = {"person": "Person", "firm": "Firm", "place": "Place", "event": "Event",
          "other": "Identifier"}
#: Placeholder labels per kind of pattern hit.
PATTERN_LABELS = {"email": "E-mail address", "phone": "Telephone number",
                  "postcode": "Postcode", "url": "Web address"}
#: Columns holding ids or paths: placeholders there take the form ``Person-1``.
ID_COLUMNS = {"participant_id", "segment_id", "code_id", "theme", "parent_id", "coder", "source"}
#: Columns with a fixed set of values, left as they are.
ENUM_COLUMNS = {"perspective", "level"}


# --------------------------------------------------------------------------
# Pure text functions


def replace_spans(text: str, spans: Sequence[tuple[int, int, str]]
                  ) -> tuple[str, np.ndarray]:
    """Apply sorted, non-overlapping ``(start, end, replacement)`` spans to ``text``.

    Returns the new text and an array of rows ``(old_start, old_end, new_start,
    new_end)``, one per span, for :func:`map_offsets`.
    """
    pieces, rows = [], []
    last, shift = 0, 0
    for start, end, replacement in spans:
        if start < last or end < start:
            raise ValueError("spans must be sorted and must not overlap")
        pieces += [text[last:start], replacement]
        rows.append((start, end, start + shift, start + shift + len(replacement)))
        shift += len(replacement) - (end - start)
        last = end
    pieces.append(text[last:])
    return "".join(pieces), np.asarray(rows, dtype=np.int64).reshape(-1, 4)


def map_offsets(mapping: np.ndarray, offsets: np.ndarray, side: str) -> np.ndarray:
    """New offsets for old ``offsets`` after :func:`replace_spans` (vectorised).

    An offset strictly inside a replaced span moves to the span's new start
    (``side="start"``) or new end (``side="end"``), so a segment never holds half a
    placeholder.
    """
    offsets = np.asarray(offsets, dtype=np.int64)
    if not len(mapping):
        return offsets.copy()
    old_start, old_end, new_start, new_end = mapping.T
    index = np.searchsorted(old_start, offsets, side="right") - 1
    before = index < 0
    safe = np.where(before, 0, index)
    after = offsets >= old_end[safe]
    at_start = offsets == old_start[safe]
    inside_value = new_start[safe] if side == "start" else new_end[safe]
    result = np.where(after, offsets + (new_end[safe] - old_end[safe]),
                      np.where(at_start, new_start[safe], inside_value))
    return np.where(before, offsets, result)


def term_spans(text: str, hits: Sequence[Hit], placeholder: Callable[[Term], str]
               ) -> list[tuple[int, int, str]]:
    """Replacement spans for the listed terms in ``hits`` (endings kept after the placeholder)."""
    return [(h.start, h.core_end if h.core_end is not None else h.end, placeholder(h.term))
            for h in resolve_overlaps(hits) if h.term is not None]


@dataclass
class Placeholders:
    """Numbers found entities per kind, in the order of the identifiers list."""

    identifiers: IdentifierList
    found: set[int]
    numbers: dict[int, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        counts: dict[str, int] = {}
        for term in self.identifiers.terms:
            if term.entity in self.found and term.entity not in self.numbers:
                counts[term.kind] = counts.get(term.kind, 0) + 1
                self.numbers[term.entity] = f"{LABELS[term.kind]} {counts[term.kind]}"

    def text(self, term: Term) -> str:
        """The placeholder written in text, such as ``[Person 1]``."""
        return f"[{self.numbers[term.entity]}]"

    def id(self, term: Term) -> str:
        """The placeholder written in an id column, such as ``Person-1``."""
        return self.numbers[term.entity].replace(" ", "-")

    def key_rows(self) -> list[tuple[str, str, str]]:
        """(kind, term, placeholder) for the key file, ordered by kind then number."""
        rows = [(t.kind, t.text, self.text(t)) for t in self.identifiers.terms
                if t.entity in self.numbers]
        order = {label: i for i, label in enumerate(LABELS.values())}

        def rank(row: tuple[str, str, str]) -> tuple:
            label, number = row[2][1:-1].rsplit(" ", 1)
            return order[label], int(number)

        return sorted(rows, key=rank)


class _Replacer:
    """Finds listed terms and pattern hits in many strings at once and replaces them consistently.

    ``patterns`` are the pattern kinds to replace; hits ``allowlist`` covers are kept.
    Pattern hits are numbered per kind in the order of ``strings``, then of the
    hits in each string, so the same dataset always gets the same placeholders.
    """

    def __init__(self, identifiers: IdentifierList, strings: Sequence[str],
                 patterns: Sequence[str] = (), allowlist: AllowList | None = None):
        unique = list(dict.fromkeys(s for s in strings if isinstance(s, str)))
        found = find_identifiers(unique, identifiers, patterns=bool(patterns))
        allowlist = allowlist or AllowList()
        self.hits = {}
        for i, hits in found.items():
            wanted = [h for h in hits if h.term is not None or
                      (h.kind in patterns and not allowlist.allows(h))]
            kept = resolve_overlaps(wanted)
            if kept:
                self.hits[unique[i]] = kept
        entities = {h.term.entity for hits in self.hits.values() for h in hits if h.term}
        self.placeholders = Placeholders(identifiers, entities)
        self.patterns: dict[tuple[str, str], str] = {}
        counts: dict[str, int] = {}
        for text in unique:
            for hit in self.hits.get(text, []):
                if hit.term is None and (hit.kind, hit.text) not in self.patterns:
                    counts[hit.kind] = counts.get(hit.kind, 0) + 1
                    self.patterns[(hit.kind, hit.text)] = \
                        f"{PATTERN_LABELS[hit.kind]} {counts[hit.kind]}"
        self.count = 0

    def spans(self, text: str, as_id: bool = False,
              patterns: bool = True) -> list[tuple[int, int, str]]:
        hits = self.hits.get(text, [])
        mark = self.placeholders.id if as_id else self.placeholders.text
        spans = term_spans(text, hits, mark)
        for hit in hits if patterns else []:
            if hit.term is None:
                label = self.patterns[(hit.kind, hit.text)]
                spans.append((hit.start, hit.end,
                              label.replace(" ", "-") if as_id else f"[{label}]"))
        return sorted(spans)

    def key_rows(self) -> list[tuple[str, str, str]]:
        """(kind, text, placeholder) of listed terms, then of pattern hits by kind and number."""
        order = {kind: i for i, kind in enumerate(PATTERN_LABELS)}
        found = sorted(self.patterns.items(),
                       key=lambda item: (order[item[0][0]], int(item[1].rsplit(" ", 1)[1])))
        return self.placeholders.key_rows() + [(kind, text, f"[{label}]")
                                               for (kind, text), label in found]

    @property
    def entities(self) -> int:
        """How many distinct identifiers (listed entities and pattern texts) were found."""
        return len(self.placeholders.numbers) + len(self.patterns)

    def apply(self, value: object, as_id: bool = False) -> tuple[object, int]:
        """The value with its listed terms replaced, and how many were replaced."""
        if not isinstance(value, str) or value not in self.hits:
            return value, 0
        spans = self.spans(value, as_id)
        return replace_spans(value, spans)[0], len(spans)

    def __call__(self, value: object, as_id: bool = False) -> object:
        new, count = self.apply(value, as_id)
        self.count += count
        return new


# --------------------------------------------------------------------------
# The dataset


@dataclass
class PseudonymisationReport:
    """What a pseudonymisation wrote: where, how many replacements and entities."""
    source: Path
    dest: Path
    key: Path
    replacements: int
    entities: int
    terms_listed: int
    remaining: list[Problem]

    def summary(self) -> str:
        """One line saying what was written and how much was replaced."""
        return (f"{self.dest}: pseudonymised dataset written ({self.replacements} "
                f"replacement(s) of {self.entities} identifier(s); "
                f"{self.terms_listed} term(s) listed); key written to {self.key}")


def _check_places(source: Path, dest: Path, key: Path) -> Path:
    """Refuse a key inside the working tree or a dataset, and an output that would
    touch the raw data. Returns the key's absolute path."""
    key = Path(os.path.abspath(key.expanduser()))
    if key.exists():
        raise CompendiumError(f"{key}: already exists; keys are never overwritten, "
                              "choose a new file")
    if not key.parent.is_dir():
        raise CompendiumError(f"{key.parent}: no such folder for the key")
    key = key.parent.resolve() / key.name
    check_outside_dataset(dest, source)
    src, out = source.resolve(), Path(os.path.abspath(dest))
    for folder in (src, out):
        if folder == key.parent or folder in key.parents:
            raise CompendiumError(f"{key}: inside the dataset folder {folder}; the key "
                                  "re-identifies participants: write it outside the "
                                  "repository")
    trees = {repository_root(p) for p in (src, out, Path(__file__).parent)} - {None}
    tree = repository_root(key.parent)
    if tree is not None and tree in trees:
        raise CompendiumError(
            f"{key}: inside the working tree of the repository at {tree}; the key "
            "re-identifies participants, so write it outside the repository (nothing was "
            "written)")
    return key


def _key_csv(rows: list[tuple[str, str, str]]) -> str:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["kind", "identifier", "placeholder"])
    writer.writerows(rows)
    return buffer.getvalue()


def _nested_strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _nested_strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _nested_strings(v)]
    return []


def _replace_strings(value: object, replace: _Replacer) -> object:
    if isinstance(value, str):
        return replace(value)
    if isinstance(value, dict):
        return {k: _replace_strings(v, replace) for k, v in value.items()}
    if isinstance(value, list):
        return [_replace_strings(v, replace) for v in value]
    return value


def _text_columns(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in ENUM_COLUMNS
            and not pd.api.types.is_numeric_dtype(frame[c])]


def parse_patterns(text: str) -> tuple[str, ...]:
    """The pattern kinds named in ``--patterns`` (comma-separated; ``all`` or ``none``)."""
    names = [n.strip().lower() for n in text.split(",") if n.strip()]
    if names in (["all"], []):
        return PATTERN_KINDS if names else ()
    if names == ["none"]:
        return ()
    unknown = [n for n in names if n not in PATTERN_KINDS]
    if unknown:
        raise CompendiumError(f"--patterns: unknown kind(s) {', '.join(unknown)} (use "
                              f"{', '.join(PATTERN_KINDS)}, all or none)")
    return tuple(k for k in PATTERN_KINDS if k in names)


def pseudonymise_dataset(source: str | Path, dest: str | Path, key: str | Path,
                         identifiers: str | Path | IdentifierList | None,
                         patterns: Sequence[str] = PATTERN_KINDS) -> PseudonymisationReport:
    """Write a pseudonymised copy of the dataset ``source`` to ``dest`` and the key to ``key``.

    Listed ``identifiers`` (a list file or a parsed list; None: none) and the hits of
    the gate's ``patterns`` (by default every kind) outside the allow-list are replaced.

    Nothing is written on any error: the key's place is checked first, the source
    must be a valid dataset (structure and hashes; it may hold identifiers), the new
    dataset is written atomically and validated, and the key is renamed into place last.
    """
    from .core import load_dataset, validate_dataset

    source, dest = Path(source), Path(dest)
    terms = identifiers if isinstance(identifiers, IdentifierList) \
        else NO_IDENTIFIERS if identifiers is None else read_identifiers(identifiers)
    if not terms.terms and not patterns:
        raise CompendiumError(f"{terms.source or 'identifiers list'}: no terms to replace, "
                              "and no patterns chosen")
    check_dataset_folder(source)
    if dest.exists():
        raise CompendiumError(f"{dest}: already exists; choose a new folder")
    key_path = _check_places(source, dest, Path(key))
    problems = validate_dataset(source, anonymity=False)
    if problems:
        raise ValidationError(str(source), problems)
    ds = load_dataset(source, validate=False)
    texts, unreadable = read_texts(source, ds.segments)
    if unreadable:
        raise ValidationError(str(source), unreadable)
    guide = texts.pop(INTERVIEW_GUIDE, None)
    allowlist = None
    if (source / ALLOWLIST).is_file():
        allowlist = (source / ALLOWLIST).read_bytes().decode("utf-8-sig", errors="replace")
    allowed, allow_problems = read_allowlist(source)
    if allow_problems:
        raise ValidationError(str(source), allow_problems)

    frames = {t: getattr(ds, t).copy() for t in TABLES}
    strings: list[str] = list(texts.values()) + list(texts)
    for frame in frames.values():
        for column in _text_columns(frame):
            strings += pd.unique(frame[column].dropna().astype(str)).tolist()
    meta = dict(ds.descriptor.get("compendium") or {})
    strings += [ds.title, str(ds.descriptor.get("description", "")), ds.name,
                allowlist or "", guide or ""] + _nested_strings(meta)
    replace = _Replacer(terms, strings, patterns, allowed)

    # Transcripts first: their replacements decide the segments' new offsets.
    renamed = {rel: str(replace.apply(rel, as_id=True)[0]) for rel in texts}
    new_texts, mappings = {}, {}
    for rel, text in texts.items():
        spans = replace.spans(text)
        replace.count += len(spans)
        new_texts[renamed[rel]], mappings[rel] = replace_spans(text, spans)
    segments = frames["segments"]
    sources = segments["source"].fillna(
        "transcripts/" + segments["participant_id"].astype(str) + ".txt").astype(str)
    located = segments["start"].notna() & segments["end"].notna() & sources.isin(mappings)
    new_text = segments["text"].copy()
    new_text[~located] = segments.loc[~located, "text"].map(replace)
    new_start, new_end = segments["start"].copy(), segments["end"].copy()
    for rel, index in segments[located].groupby(sources[located]).groups.items():
        mapping = mappings[rel]
        starts = map_offsets(mapping, segments.loc[index, "start"].to_numpy(np.int64), "start")
        ends = map_offsets(mapping, segments.loc[index, "end"].to_numpy(np.int64), "end")
        transcript = new_texts[renamed[rel]]
        new_start.loc[index], new_end.loc[index] = starts, ends
        old = segments.loc[index, ["start", "end"]].to_numpy(np.int64)
        replace.count += int((np.searchsorted(mapping[:, 0], old[:, 1], "left")
                              - np.searchsorted(mapping[:, 1], old[:, 0], "right")).sum())
        new_text.loc[index] = [transcript[a:b] for a, b in zip(starts, ends, strict=True)]
    for table, frame in frames.items():
        for column in _text_columns(frame):
            if table == "segments" and column == "text":
                continue
            as_id = column in ID_COLUMNS
            frame[column] = frame[column].map(lambda v, i=as_id: replace(v, as_id=i))
    frames["segments"]["text"] = new_text
    frames["segments"]["start"], frames["segments"]["end"] = new_start, new_end

    extra = {k: _replace_strings(v, replace) for k, v in meta.items()
             if k not in ("synthetic", "primary_coder")}
    extra["pseudonymised"] = {"tool": "compendium pseudonymise",
                              "identifiers": len(replace.placeholders.numbers),
                              "patterns": list(patterns)}
    primary = meta.get("primary_coder")
    # the allow-list's entries stay as reviewed (they are left in the texts too)
    files = {ALLOWLIST: replace_spans(allowlist, replace.spans(allowlist, patterns=False))[0]
             } if allowlist is not None else None
    name = str(replace(ds.name, as_id=True)).lower()
    description = str(replace(str(ds.descriptor.get("description", ""))))
    description = (description + " Pseudonymised with `compendium pseudonymise`: listed "
                   "identifiers and pattern hits are replaced by placeholders; the key is kept "
                   "outside the repository.").strip()

    from .core import write_dataset

    # The key is staged owner-only and linked into place last: it fails rather
    # than overwrite a key made meanwhile, and the dataset is then removed too.
    try:
        with staged_file(key_path, mode=0o600, exclusive=True) as staging_key:
            staging_key.write_bytes(_key_csv(replace.key_rows()).encode("utf-8"))
            write_dataset(dest, participants=frames["participants"],
                          codebook=frames["codebook"], segments=frames["segments"],
                          codings=frames["codings"], transcripts=new_texts,
                          interview_guide=None if guide is None else str(replace(guide)),
                          files=files, name=name, title=str(replace(ds.title)),
                          description=description, synthetic=ds.synthetic,
                          primary_coder=None if primary is None
                          else str(replace(primary, as_id=True)),
                          extra=extra)
    except FileExistsError as err:
        if err.filename2 is None or os.fsdecode(err.filename2) != str(key_path):
            raise  # not the key's link (a folder of --to that is a file, say): said as it is
        shutil.rmtree(dest, ignore_errors=True)
        raise CompendiumError(f"{key_path}: appeared while writing; nothing kept") from None
    remaining = check_anonymity(dest, terms)
    return PseudonymisationReport(source=source, dest=dest, key=key_path,
                                  replacements=replace.count,
                                  entities=replace.entities,
                                  terms_listed=len(terms.terms), remaining=remaining)
