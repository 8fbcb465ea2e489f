"""A student's coding session (notebook 7): moving, ticking, saving, resuming, agreement.

Everything the coding widget (:mod:`compendium.classroom.widget`) does is
decided here, without any display code, so it can be tested without a
browser: moving between segments, ticking codes, saving each change to the
student's CSV and resuming from it after a kernel restart, and the agreement
with the shipped coder.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .. import analysis
from ..dataset import Dataset
from ..errors import CompendiumError
from ..fileio import atomic_write
from .exercise import Segment, ThemeCodes
from .files import COLUMNS, check_coder_name, codings_csv, read_student_csv
from .spans import spans_on_segments


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
    themes: list[ThemeCodes]
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
        atomic_write(self.path, codings_csv(self.codings()))
        return self.path

    # starting

    @classmethod
    def resume(cls, segments: list[Segment], themes: list[ThemeCodes], coder: str,
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
    def from_dict(cls, segments: list[Segment], themes: list[ThemeCodes],
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


def start_session(dataset: Dataset, segments: list[Segment], themes: list[ThemeCodes], *,
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
