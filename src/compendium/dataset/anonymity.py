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

Scanning is built for large datasets: the distinct values of each column are
joined into one string, cheap pre-filters (an ``@``, a digit pattern, a dot
before a known top-level domain, a word of the identifiers list) pick the few
cells worth a precise look, and only those are matched with the full patterns.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import CompendiumError, Problem
from ..userfile import is_regular_file, read_bytes
from .datapackage import DESCRIPTOR, INTERVIEW_GUIDE, TABLES, read_descriptor
from .tableio import (
    default_sources,
    is_inside,
    problem_order,
    read_problem,
    read_table,
    read_transcript_text,
)

#: The identifiers list looked for at the repository root when none is given.
IDENTIFIERS_FILE = "identifiers.txt"
#: The reviewed allow-list of false positives, in the dataset folder.
ALLOWLIST = "anonymity_allowlist.csv"
#: Kinds of listed terms (an identifiers-list line may start with ``kind:``).
TERM_KINDS = ("person", "firm", "place", "event", "other")
#: Kinds found by pattern.
PATTERN_KINDS = ("email", "phone", "postcode", "url")
KINDS = PATTERN_KINDS + TERM_KINDS

# --------------------------------------------------------------------------
# The identifiers list


@dataclass(frozen=True)
class Term:
    """One listed term; aliases written on one line share their ``entity``."""

    text: str
    kind: str
    entity: int


@dataclass(frozen=True)
class IdentifierList:
    """The terms of an identifiers list and where they came from."""

    terms: tuple[Term, ...] = ()
    source: str | None = None

    def __len__(self) -> int:
        return len(self.terms)


NO_IDENTIFIERS = IdentifierList()

_KIND_PREFIX = re.compile(r"^([A-Za-z]+)\s*:\s*(.*)$", re.S)


def parse_identifiers(text: str, label: str = IDENTIFIERS_FILE) -> IdentifierList:
    """Parse an identifiers list (pure).

    One term per line, optionally ``kind: term`` with kind person, firm, place,
    event or other (the default). Aliases of one person or organisation may share
    a line, separated by ``|``, and then share a placeholder when pseudonymised.
    Blank lines and lines starting with ``#`` are ignored. A mistyped kind is an
    error rather than a silently useless term.
    """
    terms: list[Term] = []
    seen: set[str] = set()
    entity = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind = "other"
        prefix = _KIND_PREFIX.match(line)
        if prefix:
            word = prefix.group(1).lower()
            if word not in TERM_KINDS:
                raise CompendiumError(
                    f"{label}:{number}: unknown kind '{prefix.group(1)}' (use person, firm, "
                    f"place, event or other; write 'other: {line}' for a term with a colon)")
            kind, line = word, prefix.group(2).strip()
        aliases = [a.strip() for a in line.split("|")]
        added = False
        for alias in aliases:
            if sum(ch.isalnum() for ch in alias) < 2:
                raise CompendiumError(
                    f"{label}:{number}: term '{alias}' is too short to match safely "
                    "(at least two letters or digits)")
            key = _normal(alias)
            if key in seen:
                continue
            seen.add(key)
            terms.append(Term(text=" ".join(alias.split()), kind=kind, entity=entity))
            added = True
        entity += added
    return IdentifierList(terms=tuple(terms), source=label)


def read_identifiers(path: str | Path) -> IdentifierList:
    """Read an identifiers list from ``path`` (UTF-8, a byte-order mark accepted)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise CompendiumError(f"{path}: identifiers list not found")
    data = read_bytes(path, str(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CompendiumError(f"{path}: not valid UTF-8; save the identifiers list as UTF-8") \
            from None
    return parse_identifiers(text, str(path))


def repository_root(path: str | Path) -> Path | None:
    """The working tree holding ``path``: the nearest folder with a ``.git`` above it."""
    current = Path(path).expanduser().absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    current = current.resolve()
    for folder in (current, *current.parents):
        if (folder / ".git").exists():
            return folder
    return None


def default_identifiers_path(folder: str | Path) -> Path | None:
    """``identifiers.txt`` at the root of the repository holding the dataset, else
    at the root of the repository holding this package; ``None`` when neither exists."""
    for root in (repository_root(folder), repository_root(Path(__file__).parent)):
        if root is not None and (root / IDENTIFIERS_FILE).is_file():
            return root / IDENTIFIERS_FILE
    return None


def resolve_identifiers(identifiers: str | Path | IdentifierList | None,
                        folder: str | Path) -> IdentifierList:
    """The identifiers list to use for ``folder``: as given, read from a path, or the default."""
    if isinstance(identifiers, IdentifierList):
        return identifiers
    if identifiers is None:
        path = default_identifiers_path(folder)
        return read_identifiers(path) if path is not None else NO_IDENTIFIERS
    return read_identifiers(identifiers)


def _normal(text: str) -> str:
    return " ".join(text.split()).casefold()


# --------------------------------------------------------------------------
# Patterns, compiled once

#: Bare domains are caught for these top-level domains only (``.md``, ``.py``
#: and other file-name endings are deliberately absent).
TOP_LEVEL_DOMAINS = (
    "com", "org", "net", "edu", "gov", "mil", "int", "info", "biz", "io", "ai", "app",
    "dev", "tech", "online", "site", "xyz", "co", "uk", "eu", "de", "fr", "ie", "nl",
    "es", "ch", "se", "dk", "fi", "au", "nz", "jp", "cn", "ru", "scot", "wales", "london",
)
_TLD = "|".join(sorted(TOP_LEVEL_DOMAINS, key=len, reverse=True))
_URL_CHARS = r"[^\s<>\"'\x00]"

_EMAIL = re.compile(r"(?<![\w.%+-])[\w.%+-]+@[\w-]+(?:\.[\w-]+)*\.[^\W\d_]{2,}(?![\w-])")
_URL = re.compile(
    rf"(?<![\w.])(?:(?:https?|ftp)://|www\.){_URL_CHARS}+"
    rf"|(?<![\w@.\-/])(?:[a-z0-9](?:[a-z0-9-]{{0,61}}[a-z0-9])?\.)+(?:{_TLD})"
    rf"(?![\w-])(?:/{_URL_CHARS}*)?",
    re.IGNORECASE)
_S = r"[ \-]?"  # one optional space or hyphen between digit groups
_UK_BODY = (  # the national number after the trunk 0
    rf"(?:[1-9][0-9]\)?{_S}[0-9]{{4}}{_S}[0-9]{{4}}"            # 020 7946 0000
    rf"|[1-9][0-9]{{2}}\)?{_S}[0-9]{{3}}{_S}[0-9]{{4}}"          # 0113 496 0000, 0800 ...
    rf"|[1-9][0-9]{{3}}\)?{_S}(?:[0-9]{{6}}|[0-9]{{3}}{_S}[0-9]{{3}})"  # 01524 123456, 07700 ...
    rf"|[1-9][0-9]{{4}}\)?{_S}[0-9]{{4,5}})"                       # 016977 4567
)
_PHONE = re.compile(
    r"(?<![\w+/.\-])(?:"
    rf"\(?0{_UK_BODY}"                                              # national
    rf"|(?:\+|(?<![0-9])00)44[ \-]?(?:\(0\)[ \-]?|0[ \-]?)?{_UK_BODY}"  # +44, +44 (0)
    rf"|(?:\+|(?<![0-9])00)[1-9][0-9]{{0,2}}(?:[ \-]?\(?[0-9]{{1,4}}\)?){{2,6}}"  # +CC
    r")(?![0-9])")
_POSTCODE = re.compile(
    r"(?<![A-Za-z0-9])(?:[A-Za-z]{1,2}[0-9][A-Za-z0-9]?[ \u00a0]?[0-9]"
    r"[ABD-HJLNP-UW-Zabd-hjlnp-uw-z]{2}|[Gg][Ii][Rr] ?0[Aa]{2})(?![A-Za-z0-9])")
_ORDINALS = ("st", "nd", "rd", "th")

# Pre-filters run over the lower-cased corpus; a cell they miss cannot hold a hit.
_PREFILTERS: dict[str, tuple[re.Pattern[str] | str, ...]] = {
    "email": (re.compile("@"),),
    "url": (re.compile("://"), re.compile(r"www\."),
            re.compile(rf"\.(?:{_TLD})(?![a-z0-9-])")),
    # Every phone match holds "0" and a digit or "+" and a digit 1-9 (after an
    # optional "("), not preceded by what the precise pattern's left boundary
    # refuses; else every zero-padded id such as "E001-001" would be a candidate.
    # Each begins with a literal character, which the engine finds quickly.
    "phone": (re.compile(r"0(?<![\w+/.\-]0)[0-9]"), re.compile(r"\+(?<![\w+/.\-]\+)[1-9]")),
    "postcode": ("digit-letter-letter",),  # [0-9][a-z]{2}: see _digit_letter_starts
}
_PRECISE = {"email": _EMAIL, "url": _URL, "phone": _PHONE, "postcode": _POSTCODE}

_ASCII_WORD = "".join(chr(i) for i in range(128) if re.fullmatch(r"\w", chr(i)))
#: Where each pre-filter can match, as ASCII character ranges its first characters
#: fall in, and the ASCII characters that cannot come before it (its left
#: boundary). numpy finds such places in the UTF-8 bytes in one pass over the
#: corpus for all pre-filters, and the pre-filter confirms each: a pattern scan
#: over a few hundred million characters costs the engine a second a pattern.
_LEADS: dict[str, tuple[str, tuple[tuple[str, str], ...]]] = {
    "@": ("", (("@", "@"),)),
    "://": ("", ((":", ":"), ("/", "/"), ("/", "/"))),
    r"www\.": ("", (("w", "w"), ("w", "w"), ("w", "w"), (".", "."))),
    rf"\.(?:{_TLD})(?![a-z0-9-])": ("", ((".", "."), ("a", "z"))),
    r"0(?<![\w+/.\-]0)[0-9]": (_ASCII_WORD + "+/.-", (("0", "0"), ("0", "9"))),
    r"\+(?<![\w+/.\-]\+)[1-9]": (_ASCII_WORD + "+/.-", (("+", "+"), ("1", "9"))),
    "digit-letter-letter": ("", (("0", "9"), ("a", "z"), ("a", "z"))),
}

_SUFFIX = r"(?P<suffix>'s|\u2019s|s'|s\u2019|es|s|'|\u2019)?(?!\w)"
_SPLIT = str.maketrans({chr(i): " " for i in range(128) if not chr(i).isalnum()})
_NON_ALNUM = re.compile(r"[\W_]+")
_CHUNK = 1 << 18


@dataclass(frozen=True)
class Hit:
    """A possible identifier at ``text[start:end]`` of one scanned text.

    For listed terms, ``core_end`` marks the end of the term itself (before a
    possessive or plural ending) and ``term`` is the listed term.
    """

    kind: str
    start: int
    end: int
    text: str
    term: Term | None = None
    core_end: int | None = None

    @property
    def message(self) -> str:
        """How the hit is reported: its kind and the matched text, shortened to 200 characters."""
        shown = " ".join(self.text.split())
        if len(shown) > 200:
            shown = shown[:199] + "…"
        return f"{self.kind} '{shown}'"


def _accept(kind: str, text: str) -> bool:
    """Checks a regular expression cannot express simply."""
    if kind == "phone":
        digits = sum(ch.isdigit() for ch in text)
        if text.startswith(("+", "00")):  # E.164: country code and number, at most 15
            return 9 <= digits <= 17 if text.startswith("00") else 9 <= digits <= 15
        return digits in (10, 11)  # UK national: trunk 0 and 9 or 10 digits
    if kind == "postcode":
        if not any(ch.islower() for ch in text):
            return True
        return (" " in text or "\u00a0" in text) and text[-2:].lower() not in _ORDINALS
    if kind == "url":
        return len(text) > 4
    return True


def _trim_url(text: str) -> str:
    """Drop sentence punctuation a URL pattern swallowed at its end."""
    while text and text[-1] in ".,;:!?'\"":
        text = text[:-1]
    while text.endswith(")") and text.count(")") > text.count("("):
        text = text[:-1]
    return text


@dataclass(frozen=True)
class _Matcher:
    """Compiled patterns for the terms of one identifiers list."""

    terms: tuple[Term, ...]
    patterns: tuple[re.Pattern[str], ...]
    by_key: dict[str, tuple[int, ...]]
    always: tuple[int, ...]


def _tokens(text: str) -> list[str]:
    words = text.translate(_SPLIT).split()
    out: list[str] = []
    for word in words:
        out.extend(p for p in _NON_ALNUM.split(word) if p) if not word.isalnum() \
            else out.append(word)
    return out


@functools.lru_cache(maxsize=8)
def _matcher(identifiers: IdentifierList) -> _Matcher:
    patterns, by_key, always = [], {}, []
    for index, term in enumerate(identifiers.terms):
        low = term.text.lower()
        body = r"\s+".join(re.escape(word) for word in low.split())
        patterns.append(re.compile(body + _SUFFIX))
        tokens = _tokens(low)
        if not tokens:
            always.append(index)
            continue
        keys = {tokens[0]}
        if len(tokens) == 1:
            keys |= {tokens[0] + "s", tokens[0] + "es"}
        for key in keys:
            by_key.setdefault(key, ())
            by_key[key] += (index,)
    return _Matcher(identifiers.terms, tuple(patterns), by_key, tuple(always))


def _vocabulary(text: str) -> set[str]:
    words = set(text.translate(_SPLIT).split())
    for word in [w for w in words if not w.isalnum()]:
        words.update(p for p in _NON_ALNUM.split(word) if p)
    return words


def _is_word(ch: str) -> bool:
    return ch.isalnum() or ch == "_"


class _Corpus:
    """Many texts joined by NUL into one string, lower-cased once, with cell offsets."""

    def __init__(self, texts: Sequence[str]):
        self.texts = texts
        lengths = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts))
        self.starts = np.concatenate([[0], np.cumsum(lengths + 1)[:-1]]).astype(np.int64)
        self.ends = self.starts + lengths
        joined = "\x00".join(texts)
        low = joined.lower()
        if len(low) != len(joined):  # a few characters (such as 'İ') lower to two
            odd = {ord(c): c.lower()[0] for c in set(joined) if len(c.lower()) != 1}
            low = joined.translate(odd).lower()
        self.low = low

    def cell_of(self, positions: Iterable[int]) -> np.ndarray:
        """The index of the text holding each corpus position."""
        positions = np.fromiter(positions, dtype=np.int64)
        return np.searchsorted(self.starts, positions, side="right") - 1

    @functools.cached_property
    def _leads(self) -> dict[str, np.ndarray]:
        return _lead_starts(self.low, _LEADS)

    def _starts(self, rx: re.Pattern[str] | str) -> np.ndarray:
        """Where the pre-filter ``rx`` matches (a cell with a match has one of these)."""
        key = rx if isinstance(rx, str) else rx.pattern
        if key not in _LEADS:
            return np.fromiter((m.start() for m in rx.finditer(self.low)), np.int64)
        candidates = self._leads[key]
        if isinstance(rx, str):  # found exactly by its ranges
            return candidates
        low = self.low
        return np.fromiter((p for p in candidates.tolist() if rx.match(low, p)), np.int64)

    def cells_matching(self, prefilters: Iterable[re.Pattern[str] | str]) -> np.ndarray:
        """Indices of the texts in which any of the prefilters matches."""
        found = [self._starts(rx) for rx in prefilters]
        positions = np.concatenate(found) if found else np.empty(0, np.int64)
        if not len(positions):
            return np.empty(0, np.int64)
        return np.unique(np.searchsorted(self.starts, positions, side="right") - 1)

    def chunks(self) -> Iterable[tuple[int, int]]:
        """Character ranges of about ``_CHUNK`` characters that end at cell boundaries."""
        n = len(self.texts)
        first = 0
        while first < n:
            limit = self.starts[first] + _CHUNK
            last = int(np.searchsorted(self.ends, limit, side="right"))
            last = max(last, first + 1)
            yield int(self.starts[first]), int(self.ends[last - 1])
            first = last


#: Characters handled at a time by :func:`_digit_letter_starts`.
_DIGIT_CHUNK = 1 << 24


def _digit_letter_starts(low: str) -> np.ndarray:
    """Where ``[0-9][a-z]{2}`` matches in ``low`` (ASCII digit, two ASCII letters a-z).

    The regular expression engine tries every position of a character class, which
    over a corpus of a few hundred million characters takes seconds; numpy finds
    the same positions in one pass over the UTF-8 bytes. A byte that is a digit or
    a letter a-z is that character, and a character's position is its byte
    position less the continuation bytes (``10xxxxxx``) before it.
    """
    out = [np.empty(0, np.int64)]
    for first in range(0, len(low), _DIGIT_CHUNK):
        piece = low[first:first + _DIGIT_CHUNK + 2]  # two more for the letters after a digit
        data = np.frombuffer(piece.encode("utf-8", "surrogatepass"), np.uint8)
        if len(data) < 3:
            continue
        hits = np.flatnonzero(((data[:-2] - np.uint8(48)) < 10)
                              & ((data[1:-1] - np.uint8(97)) < 26)
                              & ((data[2:] - np.uint8(97)) < 26))
        if not piece.isascii():
            continuation = np.flatnonzero((data & 0xC0) == 0x80)
            hits = hits - np.searchsorted(continuation, hits)
        out.append(hits[hits < _DIGIT_CHUNK].astype(np.int64) + first)
    return np.concatenate(out)


def _lead_starts(low: str, leads: Mapping[str, tuple[str, tuple[tuple[str, str], ...]]]
                 ) -> dict[str, np.ndarray]:
    """For each of ``leads`` (name -> (characters not allowed before, character
    ranges)), the positions in ``low`` where one character of each range follows
    the other and the character before is not one of those refused.

    The same byte arithmetic as :func:`_digit_letter_starts`, for every lead in
    one pass over the UTF-8 bytes (a chunk at a time). The ranges are ASCII, whose
    bytes stand for those characters only; a non-ASCII character before a
    position is never refused here (the pre-filter's own match decides).
    """
    width = max(len(ranges) for _, ranges in leads.values())
    out: dict[str, list[np.ndarray]] = {name: [np.empty(0, np.int64)] for name in leads}
    for first in range(0, len(low), _DIGIT_CHUNK):
        # one character before for the left boundary, and the lead's width after
        begin = max(first - 1, 0)
        piece = low[begin:first + _DIGIT_CHUNK + width - 1]
        data = np.frombuffer(piece.encode("utf-8", "surrogatepass"), np.uint8)
        # bytes of the character before `first` (none at the very start)
        shift = len(low[begin:first].encode("utf-8", "surrogatepass"))
        continuation = None if piece.isascii() else np.flatnonzero((data & 0xC0) == 0x80)
        for name, (refused, ranges) in leads.items():
            n = len(data) - shift - len(ranges) + 1
            if n <= 0:
                continue
            # The first range over the whole chunk; the rest, and the character
            # before, only where the first one holds (a few places in a text).
            lo, hi = ranges[0]
            hits = np.flatnonzero((data[shift:shift + n] - np.uint8(ord(lo)))
                                  <= np.uint8(ord(hi) - ord(lo))) + shift
            for k, (lo, hi) in enumerate(ranges[1:], 1):
                hits = hits[(data[hits + k] - np.uint8(ord(lo))) <= np.uint8(ord(hi) - ord(lo))]
            if refused:
                table = np.zeros(256, bool)
                table[[ord(c) for c in refused]] = True
                hits = hits[(hits == 0) | ~table[data[np.maximum(hits - 1, 0)]]]
            if continuation is not None:
                hits = hits - np.searchsorted(continuation, hits)
            hits = hits - (first - begin)  # character positions counted from `first`
            out[name].append(hits[hits < _DIGIT_CHUNK].astype(np.int64) + first)
    return {name: np.concatenate(parts) for name, parts in out.items()}


def _term_hits(corpus: _Corpus, matcher: _Matcher) -> Iterable[tuple[int, int, int, int]]:
    """(start, end, core_end, term index) in corpus coordinates, for every listed term found."""
    low = corpus.low
    keys = set(matcher.by_key)
    for a, b in corpus.chunks():
        present = set(matcher.always)
        for key in _vocabulary(low[a:b]) & keys:
            present.update(matcher.by_key[key])
        for index in sorted(present):
            pattern, pos = matcher.patterns[index], a
            while True:
                m = pattern.search(low, pos, b)
                if m is None:
                    break
                start = m.start()
                if start > 0 and _is_word(low[start - 1]):
                    pos = start + 1  # not a word start; a match may begin inside
                    continue
                core = m.start("suffix") if m.group("suffix") else m.end()
                yield start, m.end(), core, index
                pos = m.end()


def find_identifiers(texts: Sequence[str], identifiers: IdentifierList = NO_IDENTIFIERS, *,
                     patterns: bool = True) -> dict[int, list[Hit]]:
    """Every possible identifier in each of ``texts`` (pure): index -> hits, in text order.

    Hits may overlap (an e-mail address holding a listed firm's name); use
    :func:`resolve_overlaps` to keep one per span. ``patterns=False`` finds listed
    terms only.
    """
    found: dict[int, list[Hit]] = {}
    if not len(texts):
        return found
    corpus = _Corpus(texts)
    if patterns:
        for kind, prefilters in _PREFILTERS.items():
            precise = _PRECISE[kind]
            for cell in corpus.cells_matching(prefilters):
                text = texts[int(cell)]
                for m in precise.finditer(text):
                    matched = _trim_url(m.group()) if kind == "url" else m.group()
                    if _accept(kind, matched):
                        found.setdefault(int(cell), []).append(
                            Hit(kind, m.start(), m.start() + len(matched), matched))
    if identifiers.terms:
        matcher = _matcher(identifiers)
        for start, end, core, index in _term_hits(corpus, matcher):
            cell = int(corpus.cell_of([start])[0])
            offset = int(corpus.starts[cell])
            text = texts[cell]
            term = matcher.terms[index]
            found.setdefault(cell, []).append(
                Hit(term.kind, start - offset, end - offset, text[start - offset:end - offset],
                    term=term, core_end=core - offset))
    for hits in found.values():
        hits.sort(key=lambda h: (h.start, -(h.end - h.start), KINDS.index(h.kind)))
    return found


def resolve_overlaps(hits: Iterable[Hit]) -> list[Hit]:
    """Keep one hit per span: the earliest, then the longest."""
    kept: list[Hit] = []
    end = -1
    for hit in sorted(hits, key=lambda h: (h.start, -(h.end - h.start), KINDS.index(h.kind))):
        if hit.start >= end:
            kept.append(hit)
            end = hit.end
    return kept


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
        candidates = {_normal(hit.text)}
        if hit.term is not None:
            candidates.add(_normal(hit.term.text))
            if hit.core_end is not None:
                candidates.add(_normal(hit.text[: hit.core_end - hit.start]))
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
            entries.add((kind, _normal(text)))
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
                allow: AllowList = AllowList()) -> list[Problem]:
    """Hits in every column of ``tables`` (file label -> frame), located by CSV row.

    Each column's distinct values are scanned once, so a coder name on a million
    rows costs one look, and every row holding a hit is reported.
    """
    texts: list[str] = []
    groups: list[tuple[int, str, str, np.ndarray, np.ndarray]] = []
    for label, frame in tables.items():
        for column in frame.columns:
            values = frame[column]
            present = values.notna().to_numpy()
            if not present.any():
                continue
            strings = _as_strings(values[present])
            if _mostly_distinct(strings):
                # ids and quotes: finding the few repeats would cost more than
                # scanning them twice, and every row is reported either way
                codes, uniques = np.arange(len(strings)), strings
            else:
                codes, uniques = pd.factorize(strings)
            groups.append((len(texts), label, str(column), codes, np.flatnonzero(present)))
            texts.extend(uniques.tolist())
    hits = find_identifiers(texts, identifiers)
    if not hits:
        return []
    offsets = np.array([g[0] for g in groups])
    order_cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    problems = []
    for cell in sorted(hits):
        kept = _kept(hits[cell], allow)
        if not kept:
            continue
        g = int(np.searchsorted(offsets, cell, side="right") - 1)
        first, label, column, codes, positions = groups[g]
        if g not in order_cache:
            order = np.argsort(codes, kind="stable")
            order_cache[g] = (order, codes[order])
        order, sorted_codes = order_cache[g]
        code = cell - first
        lo, hi = np.searchsorted(sorted_codes, [code, code + 1])
        for row in sorted(positions[order[lo:hi]] + 2):
            for hit in kept:
                problems.append(Problem(label, int(row), column, hit.message))
    return problems


def scan_texts(texts: Mapping[str, str], identifiers: IdentifierList = NO_IDENTIFIERS,
               allow: AllowList = AllowList(), column: str = "text") -> list[Problem]:
    """Hits in whole text files (label -> text), located by line number."""
    labels = list(texts)
    hits = find_identifiers([texts[label] for label in labels], identifiers)
    problems = []
    for cell, cell_hits in sorted(hits.items()):
        text = texts[labels[cell]]
        for hit in _kept(cell_hits, allow):
            line = text.count("\n", 0, hit.start) + 1
            problems.append(Problem(labels[cell], line, column, hit.message))
    return problems


def read_texts(folder: str | Path, segments: pd.DataFrame | None = None
               ) -> tuple[dict[str, str], list[Problem]]:
    """Transcripts (every file under ``transcripts/`` and every segment source) and
    the interview guide, by path relative to ``folder``; unreadable files as problems."""
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


def gate_problems(folder: str | Path, tables: Mapping[str, pd.DataFrame],
                  identifiers: str | Path | IdentifierList | None = None) -> list[Problem]:
    """The gate on a dataset whose tables are already read (table name -> frame).

    This is what :func:`compendium.dataset.validate_dataset` runs. ``identifiers``
    is a path, a parsed list, or ``None`` for :func:`default_identifiers_path`.
    """
    folder = Path(folder)
    terms = resolve_identifiers(identifiers, folder)
    allow, problems = read_allowlist(folder)
    problems += scan_tables({f"{t}.csv": tables[t] for t in TABLES if t in tables}, terms, allow)
    texts, unreadable = read_texts(folder, tables.get("segments"))
    problems += unreadable + scan_texts(texts, terms, allow)
    for key, text in _descriptor_texts(folder).items():
        problems += [Problem(DESCRIPTOR, None, key, p.message)
                     for p in scan_texts({DESCRIPTOR: text}, terms, allow)]
    return problems


def check_anonymity(folder: str | Path,
                    identifiers: str | Path | IdentifierList | None = None) -> list[Problem]:
    """Run the gate on the dataset at ``folder``: every hit, and every file it could not read.

    Unlike :func:`~compendium.dataset.validate_dataset` it does not check the
    dataset's structure or hashes, so it can be run while editing, before freezing.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CompendiumError(f"{folder}: not a dataset folder (no such directory)")
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
