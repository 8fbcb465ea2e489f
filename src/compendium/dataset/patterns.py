"""Finding possible identifiers in texts: the patterns and the listed terms.

The patterns find e-mail addresses, telephone numbers (UK national forms and
international ``+CC`` or ``00CC`` numbers), UK postcodes and web addresses;
the terms of an identifiers list are matched case-insensitively as whole words,
with possessives and simple plurals. :func:`find_identifiers` is pure: the
gate (``anonymity``) and pseudonymisation decide what to do with each hit.

Finding is built for large datasets: the texts are joined into one string
(about 16 million characters of texts at a time, so that memory is reused), cheap
pre-filters (an ``@``, a digit pattern, a dot before a known top-level
domain, a word of the identifiers list) pick the few texts worth a precise
look, and only those are matched with the full patterns. The same scan notes each
text's lead places (:func:`lead_places`), by which validation tells that a slice
of a transcript holds no pattern hit without reading it again.

Longer than 500 lines because the patterns, their pre-filters, the byte scan
that finds the pre-filters' leads and the lead places a slice is judged by
share one set of tables (``_PREFILTERS``, ``_LEADS``) and must change together.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .identifiers import NO_IDENTIFIERS, TERM_KINDS, IdentifierList, Term

#: Kinds found by pattern.
PATTERN_KINDS = ("email", "phone", "postcode", "url")
KINDS = PATTERN_KINDS + TERM_KINDS



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

#: The fewest characters of a text of ASCII digits alone that holds a hit: only a
#: telephone number is made of digits alone, and it has at least nine
#: (``_accept``), so that a column of shorter plain numbers needs no scan.
FEWEST_DIGITS_OF_A_HIT = 9

#: Whether every pre-filter is found from its lead, so that a text's lead places
#: (:func:`lead_places`) hold every place a pre-filter can match.
LEADS_HOLD_PREFILTERS = all((rx if isinstance(rx, str) else rx.pattern) in _LEADS
                            for prefilters in _PREFILTERS.values() for rx in prefilters)

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
    patterns: list[re.Pattern[str]] = []
    by_key: dict[str, tuple[int, ...]] = {}
    always: list[int] = []
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

    def __init__(self, texts: Sequence[str], lengths: np.ndarray | None = None):
        self.texts = texts
        # Two arrays, written in place: on a large corpus every temporary array of
        # this size costs more in fresh memory than its arithmetic.
        self.ends = np.fromiter(map(len, texts), dtype=np.int64, count=len(texts)) \
            if lengths is None else lengths.astype(np.int64, copy=True)
        self.starts = np.zeros(len(texts), np.int64)
        if len(texts) > 1:
            self.ends += 1  # each text and the NUL after it
            np.cumsum(self.ends[:-1], out=self.starts[1:])
            self.ends -= 1
        self.ends += self.starts
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
        return _lead_starts(self.low, _LEADS, self._anywhere)

    @functools.cached_property
    def _anywhere(self) -> list[np.ndarray]:
        return []  # filled by _lead_starts as _leads is worked out

    def lead_places(self) -> list[np.ndarray]:
        """Each text's lead places: the sorted offsets in it at which the characters of
        some pre-filter's lead stand, whatever comes before (see :func:`lead_places`)."""
        self._leads  # noqa: B018 (worked out with the leads, in the same pass)
        places = np.unique(np.concatenate(self._anywhere)) if self._anywhere \
            else np.empty(0, np.int64)
        cells = np.searchsorted(self.starts, places, side="right") - 1
        offsets = places - self.starts[cells]
        bounds = np.searchsorted(cells, np.arange(len(self.texts) + 1))
        return [offsets[bounds[i]:bounds[i + 1]] for i in range(len(self.texts))]

    def _starts(self, rx: re.Pattern[str] | str) -> np.ndarray:
        """Where the pre-filter ``rx`` matches (a cell with a match has one of these)."""
        if isinstance(rx, str):  # a key of _LEADS, found exactly by its ranges
            return self._leads[rx]
        if rx.pattern not in _LEADS:
            return np.fromiter((m.start() for m in rx.finditer(self.low)), np.int64)
        candidates = self._leads[rx.pattern]
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


def _in_range(view: np.ndarray, lo: str, hi: str, scratch: np.ndarray,
              out: np.ndarray) -> np.ndarray:
    """Whether each byte of ``view`` lies in ``lo``-``hi`` (ASCII), written into ``out``
    (and ``scratch``, for a range) at the length of ``view``; the part of ``out`` used."""
    out = out[:len(view)]
    if lo == hi:
        return np.equal(view, np.uint8(ord(lo)), out=out)
    difference = np.subtract(view, np.uint8(ord(lo)), out=scratch[:len(view)])
    return np.less_equal(difference, np.uint8(ord(hi) - ord(lo)), out=out)


def _lead_starts(low: str, leads: Mapping[str, tuple[str, tuple[tuple[str, str], ...]]],
                 anywhere: list[np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """For each of ``leads`` (name -> (characters not allowed before, character
    ranges)), the positions in ``low`` where one character of each range follows
    the other and the character before is not one of those refused.

    ``anywhere``, when given, receives the positions where the ranges hold
    whatever comes before (pieces, unsorted, possibly repeated): the places that
    decide whether a slice of ``low`` could hold a lead, read alone.

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
        raw = piece.encode("utf-8", "surrogatepass")
        data = np.frombuffer(raw, np.uint8)
        # bytes of the character before `first` (none at the very start)
        shift = len(low[begin:first].encode("utf-8", "surrogatepass"))
        scratch = np.empty(len(data), np.uint8)
        first_ok, second_ok = np.empty(len(data), bool), np.empty(len(data), bool)
        continuation = None
        if not piece.isascii():  # the bytes 10xxxxxx, which continue a character
            np.bitwise_and(data, np.uint8(0xC0), out=scratch)
            continuation = np.flatnonzero(np.equal(scratch, np.uint8(0x80), out=first_ok))
        for name, (refused, ranges) in leads.items():
            n = len(data) - shift - len(ranges) + 1
            if n <= 0:
                continue
            # The first two ranges over the whole chunk, into arrays made once a
            # chunk (a temporary array of this size costs more in fresh memory
            # than its arithmetic); the rest, and the character before, only
            # where those hold. A lead that starts with one character is skipped
            # when bytes.find (memchr) does not find it at all.
            lo, hi = ranges[0]
            if lo == hi and raw.find(lo.encode("ascii"), shift, shift + n) < 0:
                continue
            holds = _in_range(data[shift:shift + n], lo, hi, scratch, first_ok)
            if len(ranges) > 1:
                np.logical_and(holds, _in_range(data[shift + 1:shift + 1 + n], *ranges[1],
                                                scratch, second_ok), out=holds)
            hits = np.flatnonzero(holds) + shift
            rest = 2
            for k, (lo, hi) in enumerate(ranges[rest:], rest):
                hits = hits[(data[hits + k] - np.uint8(ord(lo))) <= np.uint8(ord(hi) - ord(lo))]
            if anywhere is not None:
                places = hits - np.searchsorted(continuation, hits) \
                    if continuation is not None else hits
                places = places - (first - begin)
                anywhere.append(places[places < _DIGIT_CHUNK].astype(np.int64) + first)
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
                     patterns: bool = True, places: list[np.ndarray] | None = None
                     ) -> dict[int, list[Hit]]:
    """Every possible identifier in each of ``texts`` (pure): index -> hits, in text order.

    Hits may overlap (an e-mail address holding a listed firm's name); use
    :func:`resolve_overlaps` to keep one per span. ``patterns=False`` finds listed
    terms only. ``places``, when given, receives each text's lead places, in order
    (:func:`lead_places`), found in the same pass over the texts.
    """
    found: dict[int, list[Hit]] = {}
    if not len(texts):
        return found
    # A text's hits depend on that text alone (every pattern, prefilter and term
    # search stops at the NUL between texts), so the texts are scanned a batch of
    # about _BATCH characters at a time: the memory of one batch's corpus is
    # reused by the next instead of a corpus as large as all of them.
    for first, last, lengths in _batches(texts):
        batch = _Corpus(texts[first:last], lengths)
        for cell, hits in _find_in(batch, identifiers, patterns).items():
            found[first + cell] = hits
        if places is not None:
            places += batch.lead_places()
        del batch  # before the next batch is built, so that it reuses the memory
    return found


def lead_places(texts: Sequence[str]) -> list[np.ndarray]:
    """Each text's lead places: the sorted offsets at which the characters of a
    pre-filter's lead (:data:`_LEADS`) stand, lower-cased, whatever comes before.

    Every pattern hit lies in a text where some pre-filter matches, and every
    pre-filter match starts at one of these. So a piece of a text, ``text[a:b]``,
    with no lead place in ``range(a, b)`` holds no pattern hit when scanned as a
    text of its own (:func:`slices_without_leads` says where that holds): a character
    is lower-cased alone (the few that lower to two as their first), and the lead
    characters are ASCII, whose place does not depend on what stands before.
    """
    found: list[np.ndarray] = []
    if len(texts):
        find_identifiers(texts, NO_IDENTIFIERS, places=found)
    return found


def slices_without_leads(places: np.ndarray, starts: np.ndarray, ends: np.ndarray
                         ) -> np.ndarray:
    """Whether each slice ``[starts[i], ends[i])`` of a text holds none of its lead
    ``places`` (sorted, as :func:`lead_places` gives them)."""
    return np.searchsorted(places, starts) == np.searchsorted(places, ends)


#: Characters of texts joined into one corpus at a time by :func:`find_identifiers`
#: (below glibc's largest mmap threshold, so a batch's memory is reused by the next).
_BATCH = 1 << 24
#: Texts measured at a time while batches are formed.
_BLOCK = 1 << 16


def _batches(texts: Sequence[str]) -> Iterable[tuple[int, int, np.ndarray]]:
    """(first, last, lengths of texts[first:last]): whole blocks of texts until a batch
    holds _BATCH characters (with its NULs), measured a block at a time so that no
    array as long as all the texts is made."""
    first, pending, chars = 0, [], 0
    for begin in range(0, len(texts), _BLOCK):
        block = texts[begin:begin + _BLOCK]
        pending.append(np.fromiter(map(len, block), np.int64, len(block)))
        chars += int(pending[-1].sum()) + len(block)
        last = begin + len(block)
        if chars >= _BATCH or last == len(texts):
            yield first, last, np.concatenate(pending)
            first, pending, chars = last, [], 0



def _find_in(corpus: _Corpus, identifiers: IdentifierList, patterns: bool
             ) -> dict[int, list[Hit]]:
    """:func:`find_identifiers` over the texts of one corpus."""
    found: dict[int, list[Hit]] = {}
    texts = corpus.texts
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

