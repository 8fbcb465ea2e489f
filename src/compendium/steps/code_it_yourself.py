"""Notebook 07 (``07-code-it-yourself.ipynb``): a student codes segments or marks passages.

What the notebook decides: which interview's segments and which codes are
shown (the classroom's :func:`segments_to_code` and :func:`codebook_by_theme`,
re-exported here so the notebook imports this module only), where the
student's choices come from and go (typed, resumed from their CSV, or the
worked example when nobody is watching), and whether a widget is shown. The
session itself lives in :mod:`compendium.classroom.session` and span mode
in :mod:`compendium.classroom.spans`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path

from ..classroom import widget
from ..classroom.exercise import Segment, ThemeCodes, is_headless
from ..classroom.exercise import codebook_by_theme as codebook_by_theme
from ..classroom.exercise import codes_table as codes_table
from ..classroom.exercise import segments_table as segments_table
from ..classroom.exercise import segments_to_code as segments_to_code
from ..classroom.session import CodingSession, start_session
from ..classroom.spans import SpanSession, start_span_session
from ..dataset import Dataset
from .notebook import start_run as start_run

#: The notebook's two modes: tick codes on given segments, or mark one's own passages.
MODES = ("segments", "spans")


def _check_mode(mode: str) -> None:
    if mode not in MODES:
        raise ValueError(f"unknown mode {mode!r}; use one of {list(MODES)}")


def coding_session(ds: Dataset, segments: list[Segment], themes: list[ThemeCodes], *,
                   student: str, folder: str | Path,
                   typed: Mapping[str, Iterable[str]] | None,
                   coder: str) -> tuple[CodingSession, str]:
    """The student's coding session and where its codes come from, watched or not.

    See :func:`compendium.classroom.session.start_session`: typed codes win;
    headless (the build, nbval) shows another coder's codes as the worked
    example; otherwise the student's saved CSV is resumed.
    """
    return start_session(ds, segments, themes, student=student, folder=folder, typed=typed,
                         coder=coder, headless=is_headless())


def show_coding(session: CodingSession, ds: Dataset, coder: str,
                mode: str) -> widget.CodingWidget | None:
    """The coding widget, shown in segment mode when someone is watching."""
    _check_mode(mode)
    return widget.show(session, ds, coder, headless=is_headless() or mode != "segments")


def span_session(ds: Dataset, themes: list[ThemeCodes], *, participant: str | None,
                 student: str, folder: str | Path, coder: str) -> tuple[SpanSession, str]:
    """The student's span-mode session and where its passages come from, watched or not."""
    return start_span_session(ds, themes, participant=participant, student=student,
                              folder=folder, coder=coder, headless=is_headless())


def show_spans(session: SpanSession, mode: str) -> widget.SpanWidget | None:
    """The span panel, shown in span mode when someone is watching."""
    _check_mode(mode)
    return widget.show_spans(session, headless=is_headless() or mode != "spans")
