"""Span mode: students mark their own passages of one interview, and the class's spans.

A student selects passages of the transcript and gives each one or more
codes (:class:`SpanSession`, saved to ``spans/<coder>.csv``); a class's span
files are pooled and compared at segment, character and unitized level
(:func:`class_span_agreement`), and :func:`class_coverage` says how many
students marked each stretch of the interview.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import analysis
from ..analysis.multirater import multirater_table
from ..analysis.spans import default_sources
from ..dataset import Dataset
from ..errors import CompendiumError, Problem
from ..fileio import atomic_write
from .class_view import StudentFileSkipped, class_decisions
from .exercise import ThemeCodes, default_participant
from .files import (
    COLUMNS,
    SPAN_COLUMNS,
    SPAN_FOLDER,
    check_coder_name,
    read_span_csv,
    spans_csv,
    student_files,
)


@dataclass(frozen=True)
class Transcript:
    """The interview a student marks passages in: its source name and full text."""

    source: str
    text: str


def transcript_to_code(dataset: Dataset, participant: str | None = None,
                       coder: str | None = None) -> Transcript:
    """The transcript of one interview (notebook 7's default interview), for span mode.

    The text is empty where the dataset ships no transcript for it.
    """
    coder = coder or dataset.primary_coder
    participant = participant or default_participant(dataset, coder)
    segs = dataset.segments[dataset.segments["participant_id"] == participant]
    sources = default_sources(segs) if len(segs) else \
        pd.Series([f"transcripts/{participant}.txt"])
    source = str(sources.iloc[0])
    # Without the transcript there is nothing to select: an empty text, on which no span can
    # be marked and every span file is reported, so the notebooks still run and say so.
    return Transcript(source, dataset.transcripts.get(source) or "")


def spans_on_segments(segments: pd.DataFrame, spans: pd.DataFrame) -> pd.DataFrame:
    """Which spans count for which segments: segment_id, code_id (and coder, if given).

    A span counts for a segment when the two share at least half of the
    shorter one's text. Both tables need source, start and end.
    """
    extra = ["coder"] if "coder" in spans.columns else []
    pairs = segments[["segment_id", "source", "start", "end"]].merge(
        spans[["source", "start", "end", "code_id", *extra]], on="source", suffixes=("", "_o"))
    shared = (pairs[["end", "end_o"]].min(axis=1) - pairs[["start", "start_o"]].max(axis=1))
    shorter = pd.concat([pairs["end"] - pairs["start"], pairs["end_o"] - pairs["start_o"]],
                        axis=1).min(axis=1)
    return pairs[(shared > 0) & (2 * shared >= shorter)][["segment_id", "code_id", *extra]]


@dataclass
class SpanSession:
    """One student's own passages in one interview, each with the codes they picked.

    Parameters
    ----------
    transcript, themes:
        The interview and the codes (:func:`transcript_to_code`,
        :func:`codebook_by_theme`).
    coder:
        The student's name.
    folder:
        The save folder: spans go to ``<folder>/spans/<coder>.csv`` after every
        change (``None`` keeps them in memory).
    """

    transcript: Transcript
    themes: list[ThemeCodes]
    coder: str = "you"
    folder: Path | None = None
    spans: list[tuple[int, int, str]] = field(default_factory=list)

    def __post_init__(self) -> None:
        check_coder_name(self.coder)
        if self.folder is not None:
            self.folder = Path(self.folder)

    @property
    def path(self) -> Path | None:
        """The student's span CSV, or ``None`` when nothing is saved."""
        return None if self.folder is None else self.folder / SPAN_FOLDER / f"{self.coder}.csv"

    @property
    def code_ids(self) -> list[str]:
        """Every code offered, theme by theme, in codebook order."""
        return [c.code_id for t in self.themes for c in t.codes]

    def mark(self, start: int, end: int, codes: Iterable[str]) -> list[tuple[int, int, str]]:
        """Mark ``[start, end)`` with each of ``codes``, then save; return the new spans.

        Spaces and line breaks at either end are left out. A passage already
        marked with a code is not marked twice.
        """
        start, end, codes = int(start), int(end), list(codes)
        text = self.transcript.text
        if not 0 <= start < end <= len(text) or not text[start:end].strip():
            raise CompendiumError(f"{start}-{end} is not a passage of {self.transcript.source} "
                                  f"(0-{len(text)}); select some text first")
        # A selection dragged past a word takes the spaces or line break with it; where a
        # passage starts and ends is its first and last character of text.
        start += len(text[start:end]) - len(text[start:end].lstrip())
        end -= len(text[start:end]) - len(text[start:end].rstrip())
        if not codes:
            raise CompendiumError("pick at least one code for the passage")
        unknown = [c for c in codes if c not in self.code_ids]
        if unknown:
            raise CompendiumError(f"{', '.join(map(repr, unknown))}: not among the codes shown")
        new = [(start, end, c) for c in codes if (start, end, c) not in self.spans]
        self.spans = sorted([*self.spans, *new])
        if new:
            self.save()
        return new

    def unmark(self, start: int, end: int, code: str) -> None:
        """Remove one marked passage-code pair, then save."""
        if (start, end, code) in self.spans:
            self.spans.remove((start, end, code))
            self.save()

    def table(self) -> pd.DataFrame:
        """The spans as tidy rows: source, start, end, code_id, coder, plus the passage's text."""
        frame = pd.DataFrame([(self.transcript.source, s, e, c, self.coder)
                              for s, e, c in self.spans], columns=list(SPAN_COLUMNS))
        frame["text"] = [self.transcript.text[s:e] for s, e, _ in self.spans]
        return frame

    def save(self) -> Path | None:
        """Write the spans to :attr:`path` atomically (nothing without a folder)."""
        if self.path is None:
            return None
        atomic_write(self.path, spans_csv(self.table()))
        return self.path

    @classmethod
    def resume(cls, transcript: Transcript, themes: list[ThemeCodes], coder: str,
               folder: str | Path | None) -> SpanSession:
        """A session that continues from the saved span CSV when there is one.

        Raises CompendiumError naming the file and rows when it is not valid.
        """
        session = cls(transcript, themes, check_coder_name(coder),
                      None if folder is None else Path(folder))
        if session.path is not None and session.path.exists():
            spans, problems = read_span_csv(session.path,
                                            {transcript.source: len(transcript.text)},
                                            session.code_ids)
            if problems:
                raise CompendiumError("\n".join(str(p).replace(p.file, str(session.path), 1)
                                                for p in problems))
            session.spans = sorted((int(r.start), int(r.end), str(r.code_id))
                                   for r in spans.itertuples(index=False))
        return session


@dataclass(frozen=True)
class ClassSpans:
    """The valid students' spans of a class, and the files skipped and why."""

    spans: pd.DataFrame
    students: list[str]
    problems: list[Problem]
    transcript: Transcript

    def problems_table(self) -> pd.DataFrame:
        """One row per problem: file, row, column, message."""
        return pd.DataFrame([(p.file, p.row, p.column, p.message) for p in self.problems],
                            columns=["file", "row", "column", "message"])


def load_class_spans(folder: str | Path, transcript: Transcript, themes: list[ThemeCodes],
                     unless: str = "") -> ClassSpans:
    """Every student's span file in ``folder`` (``spans/`` of a class folder, or a course's).

    The spans must lie in ``transcript`` and carry codes of ``themes``.
    ``unless`` is a reason not to read the folder at all (e.g.
    :func:`coded_another_dataset`); nothing is loaded then. Bad
    files are skipped with a warning naming them, as in :func:`load_class`;
    in an nbgrader course the student is the one nbgrader names.
    """
    folder = Path(folder)
    code_ids = [c.code_id for t in themes for c in t.codes]
    files, problems = student_files(folder, SPAN_FOLDER) if not unless else ([], [])
    frames: dict[str, pd.DataFrame] = {}
    lengths = {transcript.source: len(transcript.text)}
    for student, path in files:
        spans, found = read_span_csv(path, lengths, code_ids)
        label = str(path.relative_to(folder))
        if student is not None:
            spans = spans.assign(coder=student)
        coder = spans["coder"].iloc[0] if len(spans) else (student or path.stem)
        if not found and coder in frames:
            found = [Problem(label, None, "coder", f"{coder!r} has another span file")]
        if found:
            problems.extend(Problem(label, p.row, p.column, p.message) for p in found)
            warnings.warn(f"{label}: skipped, {len(found)} problem(s)", StudentFileSkipped,
                          stacklevel=2)
            continue
        frames[coder] = spans
    students = sorted(frames)
    spans = (pd.concat([frames[s] for s in students], ignore_index=True) if students
             else pd.DataFrame(columns=list(SPAN_COLUMNS)))
    return ClassSpans(spans.astype({"start": np.int64, "end": np.int64}), students, problems,
                      transcript)


def class_span_agreement(loaded: ClassSpans, positions: pd.DataFrame) -> pd.DataFrame:
    """The class's agreement on its own spans at segment, character and unitized level.

    - segment (``segment_kappa``, ``segment_alpha``): each student's spans are
      laid on the coder's segments at ``positions`` (segment_id, start, end
      on the transcript; a span counts for a segment sharing at least half of
      the shorter one's text, :func:`spans_on_segments`), then Fleiss' kappa
      and Krippendorff's alpha
      (:func:`compendium.analysis.multirater.multirater_table`);
    - character (``char_percent``, ``char_fleiss``, ``char_conger``,
      ``char_alpha``): every character is a decision per code
      (:func:`compendium.analysis.character_agreement_many`);
    - unitized (``u_alpha_binary``, ``u_alpha_c``): Krippendorff's ``|u_alpha``
      of the code against the rest and his 2004 ``u_alpha_c``
      (:func:`compendium.analysis.unitized_per_code`), defined for any number
      of coders; the ``overall`` row pools ``u_alpha_c`` (2004, p. 255).

    Returns
    -------
    DataFrame, one row per code any student used and ``overall``; NaN where a
    coefficient is undefined. Empty when fewer than two students drew spans.
    """
    columns = ["code_id", "segment_kappa", "segment_alpha", "char_percent", "char_fleiss",
               "char_conger", "char_alpha", "u_alpha_binary", "u_alpha_c"]
    students = loaded.students
    if len(students) < 2:
        return pd.DataFrame(columns=columns)
    spans = loaded.spans[["coder", "source", "code_id", "start", "end"]]
    lengths = {loaded.transcript.source: len(loaded.transcript.text)}
    segs = positions.assign(source=loaded.transcript.source)
    on = spans_on_segments(segs, spans)
    codes = sorted(set(spans["code_id"]))
    decisions = class_decisions(on[list(COLUMNS)], list(segs["segment_id"]), codes, students)
    segment = multirater_table(decisions).set_index("code_id")
    character = analysis.character_agreement_many(spans, students, lengths).set_index("code_id")
    unitized = analysis.unitized_per_code(spans, students, lengths).set_index("code_id")
    pooled = analysis.pooled_category_alpha(unitized.reset_index())
    table = pd.DataFrame(index=pd.Index([*codes, "overall"], name="code_id"))
    table["segment_kappa"] = segment["fleiss_kappa"]
    table["segment_alpha"] = segment["krippendorff_alpha"]
    table["char_percent"] = character["percent_agreement"]
    table["char_fleiss"] = character["fleiss_kappa"]
    table["char_conger"] = character["conger_kappa"]
    table["char_alpha"] = character["krippendorff_alpha"]
    table["u_alpha_binary"] = unitized["alpha_u_binary"]
    table["u_alpha_c"] = unitized["alpha_u_c"]
    table.loc["overall", "u_alpha_c"] = pooled.value
    return table.reset_index()[columns]


def class_coverage(loaded: ClassSpans, code: str | None = None) -> pd.DataFrame:
    """How many students marked each stretch of the transcript (with ``code``, or with any code).

    Returns
    -------
    DataFrame of consecutive runs: start, end, students (how many marked it).
    """
    spans = loaded.spans if code is None else loaded.spans[loaded.spans["code_id"] == code]
    spans = spans.assign(code_id="any")[["coder", "source", "code_id", "start", "end"]]
    length = len(loaded.transcript.text)
    runs = analysis.coverage_runs(spans, loaded.students, [loaded.transcript.source],
                                  {loaded.transcript.source: length})
    if runs.empty:
        return pd.DataFrame({"start": [0], "end": [length], "students": [0]})
    return runs[["start", "end", "n_coders"]].rename(columns={"n_coders": "students"})


def start_span_session(dataset: Dataset, themes: list[ThemeCodes], *, participant: str | None,
                       student: str, folder: str | Path, coder: str,
                       headless: bool) -> tuple[SpanSession, str]:
    """The span-mode session notebook 7 shows, and one sentence saying where its spans come from.

    Headless (the build, nbval): another coder's own spans in the same
    interview serve as the worked example, saved nowhere. Otherwise the
    student's saved span file is resumed (or a new one started).
    """
    transcript = transcript_to_code(dataset, participant, coder)
    if not headless:
        session = SpanSession.resume(transcript, themes, student, folder)
        return session, (f"Your passages are saved to {session.path} after every mark; "
                         f"{len(session.spans)} already marked.")
    others = [c for c in dataset.coders if c != coder]
    example = others[0] if others else coder
    session = SpanSession(transcript, themes, check_coder_name(student), None)
    try:
        spans = analysis.coder_spans(dataset.segments, dataset.codings, [example])
    except CompendiumError:  # no offsets: nothing to show as an example
        spans = pd.DataFrame(columns=["source", "start", "end", "code_id"])
    mine = spans[(spans["source"] == transcript.source) & spans["code_id"].isin(session.code_ids)]
    session.spans = sorted((int(r.start), int(r.end), str(r.code_id))
                           for r in mine.itertuples(index=False))
    return session, (f"Worked example: the notebook runs without a person watching, so it "
                     f"shows {example}'s own passages instead of the span panel.")
