"""A methods class codes segments itself: the coding session and the class view.

Notebook 7 lets a student code a few segments of one interview by clicking
(see :mod:`compendium.coding_widget`, the display) and compare the result with
the shipped coder. Everything the display does is decided here, without any
display code, so it can be tested without a browser: which segments and codes
are shown, moving between segments, ticking codes, saving each change to a
small CSV (``segment_id,code_id,coder``) and resuming from it after a kernel
restart, and the agreement with the shipped coder.

Notebook 8 pools the CSVs of a whole class: each file is validated (problems
name the file and row), a bad file is skipped with a warning, and the
remaining students' decisions are laid out for the many-coder statistics of
:mod:`compendium.analysis.multirater`.
"""

from __future__ import annotations

import csv
import io
import os
import re
import tempfile
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .. import analysis
from ..analysis.multirater import multirater_table
from ..analysis.spans import default_sources
from ..dataset import Dataset
from ..errors import CompendiumError, Problem

#: The columns of a student's CSV, in this order.
COLUMNS = ("segment_id", "code_id", "coder")
#: Environment variable that says no person is watching: the build, papermill, nbval.
HEADLESS_VARIABLE = "COMPENDIUM_HEADLESS"
#: Characters of transcript shown before and after a segment.
CONTEXT_CHARS = 300
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


def is_headless(environ: Mapping[str, str] | None = None) -> bool:
    """Whether notebooks run without a person watching (``COMPENDIUM_HEADLESS=1``).

    The build's papermill runner and the test suite set it, so widgets are not
    shown and the notebooks use their worked examples, keeping outputs
    deterministic.
    """
    value = (os.environ if environ is None else environ).get(HEADLESS_VARIABLE, "")
    return value.strip().lower() in {"1", "true", "yes"}


# --- what is shown --------------------------------------------------------------


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
class Theme:
    """A theme of the codebook and its code-level codes, in codebook order."""

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


def codebook_by_theme(codebook: pd.DataFrame, theme: str | None = None) -> list[Theme]:
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
        themes.append(Theme(str(theme_id), str(names.get(theme_id, theme_id)), tuple(
            Code(str(r.code_id), str(r.name), "" if pd.isna(r.definition) else str(r.definition))
            for r in rows.itertuples(index=False))))
    return themes


def segments_table(segments: list[Segment]) -> pd.DataFrame:
    """The segments to code as a table: segment_id, text."""
    return pd.DataFrame([(s.segment_id, s.text) for s in segments],
                        columns=["segment_id", "text"])


def codes_table(themes: list[Theme]) -> pd.DataFrame:
    """The codes shown, as a table: theme, code_id, name, definition."""
    return pd.DataFrame([(t.name, c.code_id, c.name, c.definition)
                         for t in themes for c in t.codes],
                        columns=["theme", "code_id", "name", "definition"])


# --- reading and writing a student's CSV ---------------------------------------------


def check_coder_name(name: str) -> str:
    """A coder name usable in a file name and a CSV cell (letters, digits, ``-``, ``_``)."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise CompendiumError(
            f"coder name {name!r}: use letters, digits, '-' and '_' only, e.g. 'student_07'")
    return name


def codings_csv(codings: pd.DataFrame) -> str:
    """A student's codings as CSV text, sorted, so the same choices give the same bytes."""
    rows = codings[list(COLUMNS)].drop_duplicates().sort_values(list(COLUMNS))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COLUMNS)
    writer.writerows(rows.itertuples(index=False))
    return buffer.getvalue()


def atomic_write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` through a temporary file and one rename.

    A kernel killed mid-write leaves the previous file intact, never half of
    a new one.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_student_csv(path: Path, segment_ids: Iterable[str], code_ids: Iterable[str],
                     ) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and validate one student's CSV; return its codings and every problem found.

    Each problem names the file and row (the header is row 1), as
    ``FILE:ROW: column: message``. The codings are empty when there is any
    problem, so a bad file never half-counts.
    """
    path = Path(path)
    segment_ids, code_ids = set(segment_ids), set(code_ids)
    name = path.name
    empty = pd.DataFrame(columns=list(COLUMNS))
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError as err:
        return empty, [Problem(name, None, None, f"not UTF-8 text ({err.reason})")]
    except OSError as err:
        return empty, [Problem(name, None, None, f"cannot be read ({err.strerror})")]
    rows = list(csv.reader(io.StringIO(text)))
    if not rows:
        return empty, [Problem(name, None, None, "empty file; expected the header "
                                                 + ",".join(COLUMNS))]
    if tuple(c.strip() for c in rows[0]) != COLUMNS:
        return empty, [Problem(name, 1, None, f"header is {','.join(rows[0])!r}; expected "
                                              f"{','.join(COLUMNS)}")]
    problems, records, seen, coders = [], [], set(), set()
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(COLUMNS):
            problems.append(Problem(name, number, None,
                                    f"{len(row)} cells; expected {len(COLUMNS)}"))
            continue
        segment, code, coder = (cell.strip() for cell in row)
        if segment not in segment_ids:
            problems.append(Problem(name, number, "segment_id",
                                    f"{segment!r} is not one of the segments to code"))
        if code not in code_ids:
            problems.append(Problem(name, number, "code_id",
                                    f"{code!r} is not a code of the codebook"))
        if not _NAME.match(coder):
            problems.append(Problem(name, number, "coder", f"{coder!r} is not a coder name"))
        if (segment, code, coder) in seen:
            problems.append(Problem(name, number, None, "repeats an earlier row"))
        seen.add((segment, code, coder))
        coders.add(coder)
        records.append((segment, code, coder))
    if len(coders) > 1:
        problems.append(Problem(name, None, "coder",
                                f"names {len(coders)} coders ({', '.join(sorted(coders))}); "
                                "one file holds one student's coding"))
    if problems:
        return empty, problems
    return pd.DataFrame(records, columns=list(COLUMNS)), []


# --- the coding session --------------------------------------------------------------


@dataclass
class CodingSession:
    """One student's coding of a few segments: position, choices and where they are saved.

    Parameters
    ----------
    segments, themes:
        What to code and with which codes (:func:`segments_to_code`,
        :func:`codebook_by_theme`).
    coder:
        The student's name, used in the CSV and its file name.
    folder:
        Where ``<coder>.csv`` is saved after every change; ``None`` keeps the
        choices in memory only (the worked example, headless runs).
    """

    segments: list[Segment]
    themes: list[Theme]
    coder: str = "you"
    folder: Path | None = None
    position: int = 0
    choices: dict[str, set[str]] = field(default_factory=dict)
    #: The furthest segment (0-based) the student has reached; "agreement so far" covers
    #: segments up to it, so segments not yet read do not count as decided "no code".
    reached: int = 0

    def __post_init__(self) -> None:
        check_coder_name(self.coder)
        if not self.segments:
            raise CompendiumError("there are no segments to code")
        if self.folder is not None:
            self.folder = Path(self.folder)
        for segment in self.segments:
            self.choices.setdefault(segment.segment_id, set())
        self._update_reached()

    def _update_reached(self) -> None:
        coded = [i for i, s in enumerate(self.segments) if self.choices[s.segment_id]]
        self.reached = max([self.reached, self.position, *coded])

    # where things are

    @property
    def path(self) -> Path | None:
        """The student's CSV, or ``None`` when nothing is saved."""
        return None if self.folder is None else self.folder / f"{self.coder}.csv"

    @property
    def code_ids(self) -> list[str]:
        """Every code offered, theme by theme, in codebook order."""
        return [c.code_id for t in self.themes for c in t.codes]

    @property
    def current(self) -> Segment:
        """The segment the student is on."""
        return self.segments[self.position]

    @property
    def progress(self) -> str:
        """The progress line, e.g. ``segment 3 of 8``."""
        return f"segment {self.position + 1} of {len(self.segments)}"

    @property
    def n_coded(self) -> int:
        """How many segments carry at least one code."""
        return sum(bool(codes) for codes in self.choices.values())

    # moving

    @property
    def at_first(self) -> bool:
        """Whether the student is on the first segment."""
        return self.position == 0

    @property
    def at_last(self) -> bool:
        """Whether the student is on the last segment."""
        return self.position == len(self.segments) - 1

    def go_to(self, position: int) -> Segment:
        """Move to segment ``position`` (0-based), kept within the segments."""
        self.position = min(max(int(position), 0), len(self.segments) - 1)
        self.reached = max(self.reached, self.position)
        return self.current

    def next(self) -> Segment:
        """Move to the next segment and return it."""
        return self.go_to(self.position + 1)

    def previous(self) -> Segment:
        """Move to the previous segment and return it."""
        return self.go_to(self.position - 1)

    # coding

    def applied(self, code_id: str, segment_id: str | None = None) -> bool:
        """Whether the student applied ``code_id`` to a segment (the current one by default)."""
        return code_id in self.choices[segment_id or self.current.segment_id]

    def set_code(self, code_id: str, applied: bool, segment_id: str | None = None) -> None:
        """Apply or remove one code on a segment (the current one by default), then save."""
        if code_id not in self.code_ids:
            raise CompendiumError(f"{code_id!r} is not one of the codes shown")
        segment_id = segment_id or self.current.segment_id
        if segment_id not in self.choices:
            raise CompendiumError(f"{segment_id!r} is not one of the segments to code")
        chosen = self.choices[segment_id]
        if applied == (code_id in chosen):
            return  # nothing changed; no write
        (chosen.add if applied else chosen.discard)(code_id)
        self._update_reached()
        self.save()

    def toggle(self, code_id: str) -> bool:
        """Flip one code on the current segment; return whether it is now applied."""
        now = not self.applied(code_id)
        self.set_code(code_id, now)
        return now

    def codings(self) -> pd.DataFrame:
        """The choices as tidy codings: segment_id, code_id, coder (segment then codebook order)."""
        order = {c: i for i, c in enumerate(self.code_ids)}
        rows = [(s.segment_id, code, self.coder) for s in self.segments
                for code in sorted(self.choices[s.segment_id], key=order.__getitem__)]
        return pd.DataFrame(rows, columns=list(COLUMNS))

    def save(self) -> Path | None:
        """Write the choices to ``<folder>/<coder>.csv`` atomically (nothing without a folder)."""
        if self.path is None:
            return None
        atomic_write_text(self.path, codings_csv(self.codings()))
        return self.path

    # starting

    @classmethod
    def resume(cls, segments: list[Segment], themes: list[Theme], coder: str,
               folder: str | Path) -> CodingSession:
        """A session that continues from ``<folder>/<coder>.csv`` when it exists.

        Raises CompendiumError naming the file and rows when the saved file is
        not a valid coding of these segments and codes.
        """
        session = cls(segments, themes, check_coder_name(coder), Path(folder))
        if session.path is not None and session.path.exists():
            codings, problems = read_student_csv(session.path, session.choices, session.code_ids)
            if problems:
                raise CompendiumError("\n".join(str(p).replace(p.file, str(session.path), 1)
                                                for p in problems))
            for row in codings.itertuples(index=False):
                session.choices[row.segment_id].add(row.code_id)
            session._update_reached()
        return session

    @classmethod
    def from_dict(cls, segments: list[Segment], themes: list[Theme],
                  typed: Mapping[str, Iterable[str]], coder: str = "you",
                  folder: str | Path | None = None) -> CodingSession:
        """A session from a typed dictionary, e.g. ``{"E01-001": ["MOT-LEADS"]}``.

        Segments left out count as "no code applied". Unknown segment or code
        ids are all reported at once, by name.
        """
        session = cls(segments, themes, coder, None)
        if not isinstance(typed, Mapping):
            raise CompendiumError("my_codes must be a dictionary from segment id to a list of "
                                  'code ids, e.g. {"E01-001": ["MOT-LEADS"]}')
        problems = []
        for segment_id, codes in typed.items():
            if isinstance(codes, str):
                codes = [codes]  # one code typed without brackets
            if segment_id not in session.choices:
                problems.append(f"{segment_id!r} is not one of the segments to code")
                continue
            for code in codes:
                if code not in session.code_ids:
                    problems.append(f"{segment_id}: {code!r} is not one of the codes shown")
                else:
                    session.choices[segment_id].add(code)
        if problems:
            raise CompendiumError("my_codes: " + "; ".join(problems))
        session.folder = None if folder is None else Path(folder)
        session.reached = len(segments) - 1  # a typed dictionary decides every segment
        session.save()
        return session

    # comparing

    def agreement(self, dataset: Dataset, coder: str) -> pd.DataFrame | None:
        """Agreement with ``coder`` per code and pooled (notebook 6's table), or None.

        Computed with :func:`compendium.analysis.agreement_units` and
        :func:`compendium.analysis.agreement_table` over these segments and the
        codes shown, up to the furthest segment reached (:attr:`reached`).
        ``None`` until the student has applied a code (agreement needs
        decisions from both sides).
        """
        ids = [s.segment_id for s in self.segments[:self.reached + 1]]
        mine = self.codings()
        mine = mine[mine["segment_id"].isin(ids)]
        if mine.empty:
            return None
        label = self.coder if self.coder not in dataset.coders else f"{self.coder}-student"
        shipped = dataset.codings[(dataset.codings["coder"] == coder)
                                  & dataset.codings["segment_id"].isin(ids)
                                  & dataset.codings["code_id"].isin(self.code_ids)]
        if shipped.empty:
            return None
        segments = dataset.segments[dataset.segments["segment_id"].isin(ids)]
        both = pd.concat([shipped[list(COLUMNS)], mine.assign(coder=label)], ignore_index=True)
        units = analysis.agreement_units(both, segments, coder, label, unit="segment")
        return analysis.agreement_table(units)

    @property
    def agreement_scope(self) -> str:
        """Which segments "agreement so far" covers, in words."""
        n = self.reached + 1
        return (f"Agreement with the shipped coder over the {n} segment(s) you have reached "
                f"(of {len(self.segments)}); each segment x code is one decision.")

    def agreement_report(self, dataset: Dataset, coder: str) -> pd.DataFrame | str:
        """The agreement table rounded to 3 places for display, or a sentence saying why not."""
        table = self.agreement(dataset, coder)
        if table is None:
            return (f"No agreement yet: apply at least one code (and {coder} must have coded "
                    "these segments).")
        return table.round(3)

    def side_by_side(self, dataset: Dataset, coder: str) -> pd.DataFrame:
        """Per segment: the student's codes, the shipped coder's, and whether they match."""
        shipped = dataset.codings[dataset.codings["coder"] == coder]
        order = {c: i for i, c in enumerate(self.code_ids)}
        rows = []
        for s in self.segments:
            theirs = sorted(set(shipped.loc[shipped["segment_id"] == s.segment_id, "code_id"])
                            & set(order), key=order.__getitem__)
            yours = sorted(self.choices[s.segment_id], key=order.__getitem__)
            rows.append((s.segment_id, ", ".join(yours), ", ".join(theirs), yours == theirs))
        return pd.DataFrame(rows, columns=["segment_id", "yours", coder, "agree"])


def codes_on_segments(dataset: Dataset, segment_ids: list[str], coder: str) -> pd.DataFrame:
    """The codes ``coder`` applied to the text of each given segment: segment_id, code_id.

    A coder who marked their own spans coded other segment ids; their span
    counts for a segment when the two share at least half of the shorter
    one's text (the segment's id is used directly where positions are
    missing).
    """
    segs = dataset.segments
    theirs = dataset.codings[dataset.codings["coder"] == coder].merge(
        segs, on="segment_id")
    direct = theirs[theirs["segment_id"].isin(segment_ids)][["segment_id", "code_id"]]
    located = segs[segs["segment_id"].isin(segment_ids)].dropna(subset=["start", "end"])
    if located.empty or theirs[["start", "end"]].isna().all().all():
        return direct.drop_duplicates().reset_index(drop=True)
    mine = located.assign(source=located["source"].fillna(
        "transcripts/" + located["participant_id"] + ".txt"))
    theirs = theirs.dropna(subset=["start", "end"]).assign(source=lambda f: f["source"].fillna(
        "transcripts/" + f["participant_id"] + ".txt"))
    kept = spans_on_segments(mine, theirs)
    return pd.concat([direct, kept]).drop_duplicates().reset_index(drop=True)


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


def start_session(dataset: Dataset, segments: list[Segment], themes: list[Theme], *,
                  student: str, folder: str | Path, typed: Mapping | None,
                  coder: str, headless: bool) -> tuple[CodingSession, str]:
    """The session notebook 7 shows, and one sentence saying where its codes come from.

    - A typed dictionary wins: it is checked and used (and saved unless headless).
    - Headless (the build, nbval): another coder's codes as the worked example,
      saved nowhere, so the committed outputs are deterministic.
    - Otherwise: the student's saved CSV is resumed (or a new one started).
    """
    if typed is not None:
        session = CodingSession.from_dict(segments, themes, typed, student,
                                          None if headless else folder)
        return session, "Using the codes typed in my_codes."
    if headless:
        others = [c for c in dataset.coders if c != coder]
        example = others[0] if others else coder
        rows = codes_on_segments(dataset, [s.segment_id for s in segments], example)
        codes = {c.code_id for t in themes for c in t.codes}
        typed_example: dict[str, list[str]] = {}
        for row in rows.itertuples(index=False):
            if row.code_id in codes:
                typed_example.setdefault(row.segment_id, []).append(row.code_id)
        session = CodingSession.from_dict(segments, themes, typed_example, student, None)
        return session, (f"Worked example: the notebook runs without a person watching, so it "
                         f"uses {example}'s codes instead of the coding widget.")
    session = CodingSession.resume(segments, themes, student, folder)
    where = f"Your choices are saved to {session.path} after every click."
    if session.n_coded:
        where += f" Resumed: {session.n_coded} segment(s) already coded."
    return session, where


# --- the class view ------------------------------------------------------------------


class StudentFileSkipped(UserWarning):
    """A student's CSV had problems and was left out of the class view."""


@dataclass(frozen=True)
class ClassCodings:
    """The valid students' codings of a class, and what was skipped and why."""

    codings: pd.DataFrame
    students: list[str]
    problems: list[Problem]
    skipped: list[str]

    def problems_table(self) -> pd.DataFrame:
        """One row per problem: file, row, column, message."""
        return pd.DataFrame([(p.file, p.row, p.column, p.message) for p in self.problems],
                            columns=["file", "row", "column", "message"])


#: Where a student's coding is saved, relative to the notebook (and so inside an nbgrader
#: submission, which is the notebook's folder).
SAVE_FOLDER = "my-coding"


def student_files(folder: str | Path, kind: str = "") -> tuple[list[tuple[str | None, Path]],
                                                               list[Problem]]:
    """The students' CSVs in ``folder``: a plain folder of CSVs or an nbgrader course.

    A plain folder gives each ``*.csv`` in it, the student unnamed (the file
    names the coder). An nbgrader course (a folder holding ``submitted/``, or
    the ``submitted/`` folder itself) gives, for each
    ``submitted/<student>/<assignment>/``, the one CSV its ``my-coding/``
    folder holds, the student named by nbgrader, whatever name they typed.
    A submission without exactly one such file is a problem naming it.
    ``kind`` is a subfolder (:data:`SPAN_FOLDER` for span files), where a
    submission without a file is no problem: the student coded segments.

    Returns
    -------
    (student or None, path) pairs in name order, and the problems found.
    """
    folder = Path(folder)
    submitted = folder / "submitted" if (folder / "submitted").is_dir() else folder
    if submitted.name != "submitted":
        return [(None, path) for path in sorted((folder / kind).glob("*.csv"))], []
    found: list[tuple[str | None, Path]] = []
    problems: list[Problem] = []
    for submission in sorted(p for p in submitted.glob("*/*") if p.is_dir()):
        student = submission.parent.name
        where = f"submitted/{student}/{submission.name}"
        csvs = sorted((submission / SAVE_FOLDER / kind).glob("*.csv"))
        if len(csvs) == 1:
            found.append((student, csvs[0]))
        elif not csvs and kind:
            continue
        elif not csvs:
            problems.append(Problem(where, None, None, f"no {SAVE_FOLDER}/*.csv: the coding "
                                                       "was not saved in the submission"))
        else:
            names = ", ".join(p.name for p in csvs)
            problems.append(Problem(where, None, None, f"{len(csvs)} codings in {SAVE_FOLDER}/ "
                                                       f"({names}); expected one"))
    return found, problems


def load_class(folder: str | Path, segment_ids: Iterable[str],
               code_ids: Iterable[str]) -> ClassCodings:
    """Read every student's CSV in ``folder``; skip each bad file with a warning naming it.

    ``folder`` is a folder of CSVs or an nbgrader course's collected
    submissions (see :func:`student_files`). Each file must be one student's
    coding (one coder name) of the given segments with the given codes. A
    student whose file is valid but empty applied no code at all and still
    counts. Two files naming the same coder are both skipped, since the class
    cannot tell whose is whose.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CompendiumError(f"{folder}: not a folder of student CSVs")
    segment_ids, code_ids = list(segment_ids), list(code_ids)
    files, problems = student_files(folder)
    skipped = [p.file for p in problems]
    frames: dict[str, pd.DataFrame] = {}
    owners: dict[str, str] = {}
    for problem in problems:
        warnings.warn(f"{problem.file}: skipped; {problem.message}", StudentFileSkipped,
                      stacklevel=3)
    for student, path in files:
        codings, found = read_student_csv(path, segment_ids, code_ids)
        label = path.name if student is None else str(path.relative_to(folder))
        found = [Problem(label, p.row, p.column, p.message) for p in found]
        if student is not None:  # nbgrader knows who submitted, whatever name was typed
            codings = codings.assign(coder=student)
        coder = codings["coder"].iloc[0] if len(codings) else (student or path.stem)
        if not found and not _NAME.match(coder):
            found = [Problem(label, None, None, f"file name {path.stem!r} is not a coder "
                                                "name and the file names no coder")]
        if not found and coder in owners:
            found = [Problem(label, None, "coder",
                             f"{coder!r} also coded in {owners[coder]}")]
            problems.append(Problem(owners[coder], None, "coder",
                                    f"{coder!r} also coded in {label}"))
            skipped.append(owners[coder])
            frames.pop(coder, None)
        if found:
            problems.extend(found)
            skipped.append(label)
            warnings.warn(f"{label}: skipped, {len(found)} problem(s); first: {found[0]}",
                          StudentFileSkipped, stacklevel=3)  # the notebook line that asked
            continue
        owners[coder] = label
        frames[coder] = codings
    students = sorted(frames)
    codings = (pd.concat([frames[s] for s in students], ignore_index=True) if students
               else pd.DataFrame(columns=list(COLUMNS)))
    return ClassCodings(codings, students, problems, sorted(set(skipped)))


def class_decisions(codings: pd.DataFrame, segment_ids: list[str], code_ids: list[str],
                    coders: list[str]) -> pd.DataFrame:
    """Every coder's 0/1 decision for every segment x code: unit_id, code_id, coder, applied."""
    grid = pd.MultiIndex.from_product([segment_ids, code_ids, coders],
                                      names=["unit_id", "code_id", "coder"]).to_frame(index=False)
    applied = pd.MultiIndex.from_frame(codings[list(COLUMNS)])
    grid["applied"] = pd.MultiIndex.from_frame(grid[["unit_id", "code_id", "coder"]]) \
        .isin(applied).astype(np.int64)
    return grid


def codes_in_use(codings: pd.DataFrame, code_ids: list[str]) -> list[str]:
    """The codes (in ``code_ids`` order) that at least one coder applied.

    Codes nobody applied would add only unanimous "no" decisions, which say
    nothing about the codebook and inflate pooled agreement.
    """
    used = set(codings["code_id"])
    return [c for c in code_ids if c in used]


def contested_pairs(decisions: pd.DataFrame, segments: list[Segment]) -> pd.DataFrame:
    """Per segment x code, how many students applied it; most contested first.

    A pair is the more contested the nearer the share of students applying
    it is to one half (``contested`` = 1 at an even split, 0 when unanimous).
    Pairs nobody applied are left out. Ties keep segment then code order.
    """
    counts = decisions.groupby(["unit_id", "code_id"], sort=False)["applied"].agg(["sum", "size"])
    counts = counts.reset_index().rename(columns={"unit_id": "segment_id", "sum": "applied",
                                                  "size": "students"})
    counts = counts[counts["applied"] > 0].copy()
    counts["share"] = counts["applied"] / counts["students"]
    counts["contested"] = 1 - (2 * counts["share"] - 1).abs()
    text = {s.segment_id: s.text for s in segments}
    counts["text"] = counts["segment_id"].map(text)
    counts = counts.sort_values("contested", ascending=False, kind="stable")
    return counts[["segment_id", "code_id", "applied", "students", "share", "contested", "text"]] \
        .reset_index(drop=True)


def class_agreement(decisions: pd.DataFrame) -> pd.DataFrame:
    """Fleiss' kappa and Krippendorff's alpha across the students, per code and pooled."""
    return multirater_table(decisions)


def student_vs_coder(decisions: pd.DataFrame, shipped: pd.DataFrame, coder: str) -> pd.DataFrame:
    """Each student's agreement with the shipped ``coder`` over all decisions (pooled row).

    Uses :func:`compendium.analysis.agreement_table` on the same segment x
    code grid as the class statistics. Columns: student, percent_agreement,
    cohen_kappa, krippendorff_alpha, applied (student), applied_by_coder.
    """
    theirs = set(map(tuple, shipped.loc[shipped["coder"] == coder,
                                        ["segment_id", "code_id"]].to_numpy()))
    rows = []
    for student, mine in decisions.groupby("coder", sort=True):
        units = mine.rename(columns={"applied": "b"})[["unit_id", "code_id", "b"]].copy()
        pairs = zip(units["unit_id"], units["code_id"], strict=True)
        units["a"] = [int((u, c) in theirs) for u, c in pairs]
        overall = analysis.agreement_table(units[["unit_id", "code_id", "a", "b"]]).iloc[-1]
        rows.append((student, overall["percent_agreement"], overall["cohen_kappa"],
                     overall["krippendorff_alpha"], int(units["b"].sum()), int(units["a"].sum())))
    return pd.DataFrame(rows, columns=["student", "percent_agreement", "cohen_kappa",
                                       "krippendorff_alpha", "applied", "applied_by_coder"])


def pairwise_kappa(decisions: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa between every two students over all their decisions (students x students).

    The diagonal is 1 where a student's kappa with themself is defined; NaN
    marks pairs where kappa is undefined (both students constant and equal).
    """
    if decisions.empty:
        return pd.DataFrame(index=pd.Index([], name="student"),
                            columns=pd.Index([], name="student"), dtype=float)
    wide = decisions.pivot_table(index=["unit_id", "code_id"], columns="coder",
                                 values="applied", aggfunc="max")
    students = list(wide.columns)
    x = wide.to_numpy(dtype=np.int64)
    both = x.T @ x
    only_a = x.T @ (1 - x)
    neither = (1 - x).T @ (1 - x)
    kappa = analysis.cohen_kappa_from_counts(both, only_a, only_a.T, neither)
    return pd.DataFrame(kappa, index=pd.Index(students, name="student"),
                        columns=pd.Index(students, name="student"))


@dataclass(frozen=True)
class ClassView:
    """Everything notebook 8 shows about a class, laid out from the validated files.

    ``reason`` is empty when the class can be pooled; otherwise it says why
    not (the folder codes another dataset, fewer than two valid files), and
    ``decisions`` is empty, so every display can still be made and say so.
    """

    loaded: ClassCodings
    segments: list[Segment]
    codes: list[str]
    decisions: pd.DataFrame
    reason: str = ""

    @property
    def students(self) -> list[str]:
        """The students whose files could be read, in order."""
        return self.loaded.students


def _no_decisions() -> pd.DataFrame:
    return pd.DataFrame({"unit_id": pd.Series(dtype=str), "code_id": pd.Series(dtype=str),
                         "coder": pd.Series(dtype=str), "applied": pd.Series(dtype=np.int64)})


def coded_another_dataset(dataset: Dataset, folder: str | Path,
                          metadata: Mapping | None) -> str:
    """Why a class folder is not this dataset's (its ``class.json`` names another), or ""."""
    made_for = (metadata or {}).get("dataset", {}).get("sha256")
    if not made_for or made_for == dataset.hash:
        return ""
    name = (metadata or {}).get("dataset", {}).get("name", "another dataset")
    # a dataset changed since the class coded it keeps its name: say it is another version
    other = f"another version of {name} (its sha256 differs)" if name == dataset.name \
        else f"the dataset {name}, not {dataset.name}"
    return (f"no class has coded this dataset: the class in {Path(folder).name} "
            f"coded {other}; point class_dir at this dataset's class")


def class_view(dataset: Dataset, folder: str | Path, segments: list[Segment],
               themes: list[Theme], coder: str, metadata: Mapping | None = None) -> ClassView:
    """Load a class's CSVs and lay out every student's decision on the codes in use.

    The codes are those any student or the shipped ``coder`` applied to these
    segments (see :func:`codes_in_use`). ``metadata`` is the folder's
    ``class.json`` if any: a class generated for another dataset is not
    loaded at all (its files would all be wrong here). Fewer than two valid
    files leave nothing to pool; both cases give an empty view with a reason.
    """
    ids = [s.segment_id for s in segments]
    all_codes = [c.code_id for t in themes for c in t.codes]
    other = coded_another_dataset(dataset, folder, metadata)
    if other:
        empty = ClassCodings(pd.DataFrame(columns=list(COLUMNS)), [], [], [])
        return ClassView(empty, segments, [], _no_decisions(), other)
    loaded = load_class(folder, ids, all_codes)
    if len(loaded.students) < 2:
        return ClassView(loaded, segments, [], _no_decisions(),
                         f"{len(loaded.students)} valid student file(s) in {Path(folder).name}; "
                         "pooling agreement needs at least two")
    shipped = dataset.codings[(dataset.codings["coder"] == coder)
                              & dataset.codings["segment_id"].isin(ids)]
    codes = codes_in_use(pd.concat([loaded.codings, shipped[list(COLUMNS)]]), all_codes)
    decisions = class_decisions(loaded.codings, ids, codes, loaded.students)
    return ClassView(loaded, segments, codes, decisions)


# --- span mode: students mark their own passages ------------------------------------

#: The columns of a student's span CSV, in this order (offsets in code points, end exclusive).
SPAN_COLUMNS = ("source", "start", "end", "code_id", "coder")
#: Where span files sit inside a save folder or a class folder.
SPAN_FOLDER = "spans"


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


def read_span_csv(path: Path, lengths: Mapping[str, int], code_ids: Iterable[str],
                  ) -> tuple[pd.DataFrame, list[Problem]]:
    """Read and validate one student's span CSV; return its spans and every problem found.

    Each row is one passage with one code: ``source,start,end,code_id,coder``,
    offsets within the source's text (``0 <= start < end <= length``).
    Problems read ``FILE:ROW: column: message``; any problem empties the spans.
    """
    path, code_ids, name = Path(path), set(code_ids), Path(path).name
    empty = pd.DataFrame(columns=list(SPAN_COLUMNS))
    try:
        rows = list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"))))
    except (UnicodeDecodeError, OSError) as err:
        return empty, [Problem(name, None, None, f"cannot be read ({err})")]
    if not rows or tuple(c.strip() for c in rows[0]) != SPAN_COLUMNS:
        found = ",".join(rows[0]) if rows else "nothing"
        return empty, [Problem(name, 1, None, f"header is {found!r}; expected "
                                              f"{','.join(SPAN_COLUMNS)}")]
    problems, records = [], []
    for number, row in enumerate(rows[1:], start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(SPAN_COLUMNS):
            problems.append(Problem(name, number, None, f"{len(row)} cells; expected "
                                                        f"{len(SPAN_COLUMNS)}"))
            continue
        source, start, end, code, coder = (cell.strip() for cell in row)
        if source not in lengths:
            problems.append(Problem(name, number, "source", f"{source!r} is not the "
                                                            "transcript coded"))
            continue
        if not (start.isdigit() and end.isdigit()) or not \
                0 <= int(start) < int(end) <= lengths[source]:
            problems.append(Problem(name, number, "start", f"{start}-{end} is not a passage "
                                                           f"of {source} (0-{lengths[source]})"))
        if code not in code_ids:
            problems.append(Problem(name, number, "code_id", f"{code!r} is not a code of "
                                                             "the codebook"))
        if not _NAME.match(coder):
            problems.append(Problem(name, number, "coder", f"{coder!r} is not a coder name"))
        records.append((source, start, end, code, coder))
    if len({r[4] for r in records}) > 1:
        problems.append(Problem(name, None, "coder", "names more than one coder; one file "
                                                     "holds one student's spans"))
    if problems:
        return empty, problems
    spans = pd.DataFrame(records, columns=list(SPAN_COLUMNS)).astype({"start": np.int64,
                                                                     "end": np.int64})
    return spans.drop_duplicates().reset_index(drop=True), []


def spans_csv(spans: pd.DataFrame) -> str:
    """A student's spans as CSV text, sorted, so the same passages give the same bytes."""
    rows = spans[list(SPAN_COLUMNS)].drop_duplicates().sort_values(
        ["source", "start", "end", "code_id"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SPAN_COLUMNS)
    writer.writerows(rows.itertuples(index=False))
    return buffer.getvalue()


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
    themes: list[Theme]
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
        atomic_write_text(self.path, spans_csv(self.table()))
        return self.path

    @classmethod
    def resume(cls, transcript: Transcript, themes: list[Theme], coder: str,
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


def load_class_spans(folder: str | Path, transcript: Transcript, themes: list[Theme],
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


def start_span_session(dataset: Dataset, themes: list[Theme], *, participant: str | None,
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


def segment_positions(dataset: Dataset, segments: list[Segment]) -> pd.DataFrame:
    """Where the segments to code lie on their transcript: segment_id, start, end."""
    ids = [s.segment_id for s in segments]
    table = dataset.segments[dataset.segments["segment_id"].isin(ids)]
    if not {"start", "end"} <= set(table.columns):
        return pd.DataFrame(columns=["segment_id", "start", "end"])
    return table[["segment_id", "start", "end"]].dropna().reset_index(drop=True)


def class_summary(view: ClassView, agreement: pd.DataFrame, synthetic: bool) -> str:
    """One sentence for the paper on what the class exercise gave, true for any dataset.

    Says who coded (a synthetic class is called so), how many segments, and the
    pooled Fleiss' kappa and Krippendorff's alpha; or, when there is no class
    to pool, why not (``view.reason``).
    """
    if view.reason or len(view.students) < 2 or agreement.empty:
        reason = view.reason or "fewer than two students' files could be read"
        if reason.startswith("no class has coded this dataset"):
            # the other dataset's name belongs in notebook 8, not in this paper's prose
            reason = ("no class has coded this dataset (the class folder the build was given "
                      "coded another one)")
        return (f"The class exercise of notebooks 7 and 8 has no class to pool for this "
                f"dataset: {reason}")
    pooled = agreement[agreement["code_id"] == "overall"]
    row = pooled.iloc[0] if not pooled.empty else agreement.iloc[-1]

    def two(x: float) -> str:
        return "not defined" if pd.isna(x) else f"{x:.2f}"

    who = ("a synthetic class of {n} students (generated, not real students)" if synthetic
           else "a class of {n} students").format(n=len(view.students))
    return (f"In the class exercise of notebooks 7 and 8, {who} coded the same "
            f"{len(view.segments)} segments with the codebook; pooled over all codes, their "
            f"Fleiss' kappa was {two(row['fleiss_kappa'])} and Krippendorff's alpha "
            f"{two(row['krippendorff_alpha'])}")
