"""Character positions as QDA tools count them, converted to and from code points.

The dataset stores offsets in Unicode code points into the transcript as
written (byte-order mark stripped, line endings kept). REFI-QDA says
positions are code points too, but tools disagree in practice:

- NVivo counts UTF-16 code units, so a character outside the Basic
  Multilingual Plane (an emoji, say) counts as two;
- ATLAS.ti counts a Windows line ending (CR LF) as one character.

Each way of counting is a :class:`Counting`. A :class:`PositionMap` built
for one text and one counting converts in both directions in O(log n) per
position. :func:`choose_counting` picks the counting a project used, from a
hint (the exporting tool) confirmed against the texts and selections.
"""

from __future__ import annotations

import bisect
import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import Enum


class Counting(Enum):
    """A way of counting positions in a text."""

    CODE_POINTS = "code points"
    UTF16_UNITS = "UTF-16 code units"
    CRLF_AS_ONE = "code points with CR LF counted as one"

    def describe(self) -> str:
        """How the positions are counted, in words."""
        return self.value


_NON_BMP = re.compile("[\U00010000-\U0010ffff]")
_CRLF = re.compile("\r\n")


@dataclass(frozen=True)
class PositionMap:
    """Converts positions between code points and one tool's counting, for one text.

    ``marks`` are code-point positions where the tool's count diverges from
    the code-point count, each with a ``delta`` (+1: the character at the
    mark counts twice; -1: the character at the mark counts as nothing).
    """

    counting: Counting
    length: int
    marks: tuple[int, ...]
    delta: int

    @classmethod
    def build(cls, text: str, counting: Counting) -> PositionMap:
        """Index ``text`` for conversions in ``counting``."""
        if counting is Counting.UTF16_UNITS:
            marks = tuple(m.start() for m in _NON_BMP.finditer(text))
            return cls(counting, len(text), marks, +1)
        if counting is Counting.CRLF_AS_ONE:
            # The LF of each CR LF is the character that "costs nothing".
            marks = tuple(m.start() + 1 for m in _CRLF.finditer(text))
            return cls(counting, len(text), marks, -1)
        return cls(counting, len(text), (), 0)

    def to_external(self, code_point: int) -> int:
        """The tool's position for a code-point position (0 <= code_point <= length)."""
        if not 0 <= code_point <= self.length:
            raise ValueError(f"position {code_point} is outside the text (0..{self.length})")
        return code_point + self.delta * bisect.bisect_left(self.marks, code_point)

    @property
    def external_length(self) -> int:
        """The length of the whole text as the tool counts it."""
        return self.to_external(self.length)

    def to_code_point(self, external: int) -> int:
        """The code-point position for a position the tool wrote.

        Where two code points map to the same tool position (between CR and
        LF when CR LF counts as one), the one after the LF is returned, so a
        selection never splits a line ending. A position that falls inside
        one character (the second half of a UTF-16 surrogate pair) or outside
        the text raises ValueError.
        """
        if not 0 <= external <= self.external_length:
            raise ValueError(
                f"position {external} is outside the text (0..{self.external_length} "
                f"{self.counting.describe()})"
            )
        low, high = 0, self.length
        # Largest code point whose external position is <= external: the
        # mapping is non-decreasing, so bisect on it.
        while low < high:
            middle = (low + high + 1) // 2
            if self.to_external(middle) <= external:
                low = middle
            else:
                high = middle - 1
        if self.to_external(low) != external:
            raise ValueError(
                f"position {external} falls inside a character "
                f"({self.counting.describe()})"
            )
        return low


def strip_bom(text: str) -> str:
    """Drop a leading byte-order mark: tools count positions after it."""
    return text[1:] if text.startswith("\ufeff") else text


# --------------------------------------------------------------------------
# Choosing the counting a project used


def written_by_compendium(origin: str | None) -> bool:
    """Whether ``compendium export`` wrote the project (it always counts code points)."""
    return (origin or "").strip().lower().startswith("compendium")


def counting_hint(origin: str | None) -> Counting:
    """The counting the exporting tool is known to use, from ``Project@origin``."""
    tool = (origin or "").lower()
    if "nvivo" in tool:
        return Counting.UTF16_UNITS
    if "atlas.ti" in tool or "atlasti" in tool:
        return Counting.CRLF_AS_ONE
    return Counting.CODE_POINTS


@dataclass(frozen=True)
class Evidence:
    """How well one counting explains a project's selections."""

    counting: Counting
    selections: int
    outside: int          # selections that do not fit in the text at all
    named: int            # selections whose name is the start of their text
    on_boundaries: int    # selections that start and end on word boundaries

    @property
    def score(self) -> tuple[int, int]:
        """Higher is better: fitting in the text first, then the evidence."""
        return (-self.outside, 2 * self.named + self.on_boundaries)


@dataclass(frozen=True)
class SpanProbe:
    """One selection as written by the tool, for testing countings."""

    text_key: str
    start: int
    end: int
    name: str


def _normalise(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split())


def name_matches(name: str, excerpt: str) -> bool:
    """Whether a selection's name is its excerpt (or the excerpt's beginning).

    ATLAS.ti and others name a quotation by its first words, cut with an
    ellipsis; names of two characters or fewer prove nothing.
    """
    wanted = _normalise(name).removesuffix("…").removesuffix("...").strip()
    return len(wanted) >= 3 and _normalise(excerpt).startswith(wanted)


def on_word_boundaries(text: str, start: int, end: int) -> bool:
    """Whether ``text[start:end]`` neither starts nor ends inside a word."""
    def cuts(position: int) -> bool:
        return 0 < position < len(text) and text[position - 1].isalnum() \
            and text[position].isalnum()

    return not cuts(start) and not cuts(end)


def weigh_counting(counting: Counting, texts: dict[str, str],
                   probes: Sequence[SpanProbe]) -> Evidence:
    """Test one counting against every selection of a project."""
    maps = {key: PositionMap.build(text, counting) for key, text in texts.items()}
    outside = named = bounded = 0
    for probe in probes:
        mapping = maps[probe.text_key]
        try:
            start = mapping.to_code_point(probe.start)
            end = mapping.to_code_point(probe.end)
        except ValueError:
            outside += 1
            continue
        text = texts[probe.text_key]
        if probe.name and name_matches(probe.name, text[start:end]):
            named += 1
        if on_word_boundaries(text, start, end):
            bounded += 1
    return Evidence(counting, len(probes), outside, named, bounded)


def choose_counting(hint: Counting, texts: dict[str, str],
                    probes: Iterable[SpanProbe]) -> tuple[Counting, list[Evidence]]:
    """The counting that best explains the selections; the hint wins ties.

    Countings only differ after a CR LF or a character outside the BMP, so
    for most texts all of them fit equally and the tool's own counting
    (``hint``) is kept. Returns the choice and the evidence for each counting.
    """
    probes = list(probes)
    order = [hint] + [c for c in Counting if c is not hint]
    evidence = [weigh_counting(c, texts, probes) for c in order]
    hinted = evidence[0]
    best = max(evidence, key=lambda e: e.score)  # max keeps the first (the hint) on ties
    if best is hinted or hinted.outside:
        return best.counting, evidence
    # Short or oddly cut selections can land on word boundaries by chance: overrule the
    # tool's known counting only when the text clearly prefers another.
    margin = max(2, len(probes) // 10)
    if best.score[1] - hinted.score[1] >= margin:
        return best.counting, evidence
    return hint, evidence


def end_past_line_ending(text: str, end: int) -> int:
    """Move a span's end that falls between the CR and LF of a line ending past the LF.

    Such an end is an artefact of counting line endings differently, and an
    excerpt ending in a lone CR does not survive a CSV file.
    """
    if 0 < end < len(text) and text[end - 1] == "\r" and text[end] == "\n":
        return end + 1
    return end

