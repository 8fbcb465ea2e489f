"""Helpers for the anonymisation, pseudonymisation and hostile-input tests."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pandas as pd


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False)


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    frame.to_csv(path, index=False, lineterminator="\n")


def edit_cell(path: Path, row: int, column: str, value: str) -> None:
    """Set one cell; ``row`` counts the header as row 1, as the problems do."""
    frame = read_csv(path)
    frame.loc[row - 2, column] = value
    write_csv(frame, path)


def plant(folder: Path, row: int, text: str, at: int | None = None) -> tuple[str, int]:
    """Insert ``text`` into the transcript inside the segment on CSV ``row``.

    The text goes after the segment's first sentence, clause or word (or at
    ``at`` characters into the segment). Every segment of that transcript is shifted so that its
    text still equals ``transcript[start:end]``. Returns the transcript's path
    relative to ``folder`` and the line the text landed on.
    """
    segments = read_csv(folder / "segments.csv")
    seg = segments.iloc[row - 2]
    rel = seg["source"] or f"transcripts/{seg['participant_id']}.txt"
    path = folder / rel
    transcript = path.read_bytes().decode("utf-8")
    start = int(seg["start"])
    if at is None:  # after the first sentence, clause or word: always inside the segment
        cuts = [seg["text"].find(sep) + len(sep) for sep in (". ", ", ", " ")
                if seg["text"].find(sep) >= 0]
        at = cuts[0]
    position = start + at
    transcript = transcript[:position] + text + transcript[position:]
    path.write_bytes(transcript.encode("utf-8"))
    same = (segments["source"].where(segments["source"] != "",
                                     "transcripts/" + segments["participant_id"] + ".txt")
            == rel)
    for i in segments.index[same]:
        s, e = int(segments.at[i, "start"]), int(segments.at[i, "end"])
        if s >= position:
            s += len(text)
        if e > position:
            e += len(text)
        segments.loc[i, ["start", "end", "text"]] = [str(s), str(e), transcript[s:e]]
    write_csv(segments, folder / "segments.csv")
    return rel, transcript[:position].count("\n") + 1


def digest(folder: Path) -> dict[str, str]:
    """sha256 of every file under ``folder`` (hidden files included), by relative path."""
    return {p.relative_to(folder).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


#: Invented names standing for a research team's identifiers list (test fixture).
IDENTIFIERS = """\
person: Mary Aldershaw | Aldershaw
firm: Quillfeather Systems
place: Thornbeck
event: Northern Digital Awards
Fellgate Trust
"""
