"""What a student is given to code: the segments with their context, and the codes by theme.

Notebooks 7 and 8 and ``compendium class`` show the same exercise: the first
segments of one interview (by default one another coder also coded, so a
worked example exists) and the codebook's code-level codes grouped by theme.
Also here: whether anyone is watching (:func:`is_headless`), which decides
between the widgets and the worked examples.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from .. import analysis
from ..dataset import Dataset
from ..errors import CompendiumError

#: Environment variable that says no person is watching: the build, papermill, nbval.
HEADLESS_VARIABLE = "COMPENDIUM_HEADLESS"


#: Characters of transcript shown before and after a segment.
CONTEXT_CHARS = 300


def is_headless(environ: Mapping[str, str] | None = None) -> bool:
    """Whether notebooks run without a person watching (``COMPENDIUM_HEADLESS=1``).

    The build's papermill runner and the test suite set it, so widgets are not
    shown and the notebooks use their worked examples, keeping outputs
    deterministic.
    """
    value = (os.environ if environ is None else environ).get(HEADLESS_VARIABLE, "")
    return value.strip().lower() in {"1", "true", "yes"}


@dataclass(frozen=True)
class Segment:
    """One segment to code, with the transcript around it."""

    segment_id: str
    text: str
    before: str = ""
    after: str = ""


@dataclass(frozen=True)
class Code:
    """A code the student can apply."""

    code_id: str
    name: str
    definition: str


@dataclass(frozen=True)
class ThemeCodes:
    """The codes a student is offered under one theme of the codebook, in codebook order.

    Not the design's :class:`compendium.dataset.design.Theme` (one of the study's
    themes with its label and membership): this is what the exercise shows, a
    codebook theme's id and name with its code-level codes and their definitions.
    """

    theme_id: str
    name: str
    codes: tuple[Code, ...]


def default_participant(dataset: Dataset, coder: str) -> str:
    """The interview to code: the first one another coder also coded, else the first with segments.

    A double-coded interview is chosen so that the worked example (another
    coder's codes) exists for the same segments.
    """
    others = [c for c in dataset.coders if c != coder]
    if others and coder in dataset.coders:
        double = analysis.double_coded_participants(dataset.codings, dataset.segments,
                                                    coder, others[0])
        if double:
            return double[0]
    # An interview nobody has coded yet has no segments to code: take the first that has.
    coded = set(dataset.segments["participant_id"].astype(str))
    with_segments = [p for p in dataset.participants["participant_id"].astype(str) if p in coded]
    return with_segments[0] if with_segments else str(dataset.participants["participant_id"]
                                                      .iloc[0])


def _trim(text: str, keep: int, at_start: bool) -> str:
    """At most ``keep`` characters of ``text``, cut at a word boundary, with an ellipsis."""
    text = text.strip()
    if len(text) <= keep:
        return text
    if at_start:  # keep the end of the text, nearest the segment
        cut = text[-keep:]
        return "… " + cut[cut.find(" ") + 1:] if " " in cut else "… " + cut
    cut = text[:keep]
    return (cut[:cut.rfind(" ")] if " " in cut else cut) + " …"


def segments_to_code(dataset: Dataset, participant: str | None = None,
                     n_segments: int = 8, coder: str | None = None) -> list[Segment]:
    """The first ``n_segments`` segments of one interview, each with its context.

    The context is the transcript just before and after the segment (about
    :data:`CONTEXT_CHARS` characters each side) where the dataset has
    transcripts and offsets; otherwise the neighbouring segments' text.
    """
    if n_segments < 1:
        raise CompendiumError(f"n_segments must be at least 1, got {n_segments}")
    coder = coder or dataset.primary_coder
    participant = participant or default_participant(dataset, coder)
    segs = dataset.segments[dataset.segments["participant_id"] == participant]
    # Where coders marked their own spans, the segments to code are the compared coder's
    # (a second coder's overlapping spans would show the same words twice).
    own = segs["segment_id"].isin(set(dataset.codings.loc[dataset.codings["coder"] == coder,
                                                          "segment_id"]))
    if own.any():
        segs = segs[own]
    if segs.empty:
        raise CompendiumError(f"{dataset.path}: participant {participant!r} has no segments")
    if {"start", "end"} <= set(segs.columns):
        segs = segs.sort_values("start", kind="stable")
    texts = segs["text"].astype(str).tolist()
    out = []
    for i, row in enumerate(segs.head(n_segments).itertuples(index=False)):
        source = getattr(row, "source", None)
        if not isinstance(source, str) or not source:
            source = f"transcripts/{participant}.txt"
        transcript = dataset.transcripts.get(source)
        start, end = getattr(row, "start", None), getattr(row, "end", None)
        if transcript is not None and start is not None and end is not None \
                and pd.notna(start) and pd.notna(end):
            before, after = transcript[:int(start)], transcript[int(end):]
        else:
            before = texts[i - 1] if i > 0 else ""
            after = texts[i + 1] if i + 1 < len(texts) else ""
        out.append(Segment(str(row.segment_id), str(row.text),
                           _trim(before, CONTEXT_CHARS, True), _trim(after, CONTEXT_CHARS, False)))
    return out


def codebook_by_theme(codebook: pd.DataFrame, theme: str | None = None) -> list[ThemeCodes]:
    """The code-level codes grouped by theme, in codebook order; one theme if ``theme`` is given."""
    level = codebook["level"].fillna("code") if "level" in codebook.columns else \
        pd.Series("code", index=codebook.index)
    codes = codebook[level == "code"]
    names = dict(zip(codebook.loc[level == "theme", "code_id"],
                     codebook.loc[level == "theme", "name"], strict=True))
    if theme is not None:
        codes = codes[codes["theme"] == theme]
        if codes.empty:
            raise CompendiumError(f"codebook: no codes under theme {theme!r}")
    themes = []
    for theme_id in pd.unique(codes["theme"]):
        rows = codes[codes["theme"] == theme_id]
        themes.append(ThemeCodes(str(theme_id), str(names.get(theme_id, theme_id)), tuple(
            Code(str(r.code_id), str(r.name), "" if pd.isna(r.definition) else str(r.definition))
            for r in rows.itertuples(index=False))))
    return themes


def segments_table(segments: list[Segment]) -> pd.DataFrame:
    """The segments to code as a table: segment_id, text."""
    return pd.DataFrame([(s.segment_id, s.text) for s in segments],
                        columns=["segment_id", "text"])


def codes_table(themes: list[ThemeCodes]) -> pd.DataFrame:
    """The codes shown, as a table: theme, code_id, name, definition."""
    return pd.DataFrame([(t.name, c.code_id, c.name, c.definition)
                         for t in themes for c in t.codes],
                        columns=["theme", "code_id", "name", "definition"])


def segment_positions(dataset: Dataset, segments: list[Segment]) -> pd.DataFrame:
    """Where the segments to code lie on their transcript: segment_id, start, end."""
    ids = [s.segment_id for s in segments]
    table = dataset.segments[dataset.segments["segment_id"].isin(ids)]
    if not {"start", "end"} <= set(table.columns):
        return pd.DataFrame(columns=["segment_id", "start", "end"])
    return table[["segment_id", "start", "end"]].dropna().reset_index(drop=True)
