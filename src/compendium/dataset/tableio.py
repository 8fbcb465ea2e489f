"""Reading a dataset's files: CSV tables, transcripts, and problems in report order.

These are the readers that validation (:mod:`compendium.dataset`) and the
anonymisation gate (:mod:`compendium.dataset.anonymity`) share, so both read a file the
same way and report a failure in the same ``FILE:ROW: message`` form. This
module imports only :mod:`compendium.datapackage`, :mod:`compendium.errors` and
:mod:`compendium.userfile`, through which every file is read.
"""

from __future__ import annotations

import codecs
import io
import os
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from ..errors import CompendiumError, Problem
from ..userfile import decode, open_regular, read_bytes
from .datapackage import DESCRIPTOR, TABLE_SCHEMAS, TABLES

if TYPE_CHECKING:  # imported where a table is read: the paper's assembly reads only a text
    import pandas as pd


def read_table(path: Path, label: str | None = None) -> pd.DataFrame:
    """Read one CSV as strings, turning every parse failure into a CompendiumError.

    All columns are read as text (empty cells become missing) so that type
    checks can report the offending row instead of pandas guessing types.

    A file that passes every check is parsed as it streams from the disk: one
    pass checks it a few megabytes at a time, and the parser reads it again,
    instead of a copy of the whole file in memory. Any other file (empty,
    UTF-16, not UTF-8, holding NUL, failing to parse, or changed between the
    two passes) is read whole and checked as before, so every message is the
    same whichever way a file is read.
    """
    label = label or path.name
    if not path.exists() and not path.is_symlink():
        raise CompendiumError(f"{label}: file not found")
    with open_regular(path, label) as handle:
        before = os.fstat(handle.fileno())
        if _passes_checks(handle):
            handle.seek(0)
            try:
                frame = _parse_open(handle, label)
            except CompendiumError:
                pass  # read whole below, for the message as it always was
            else:
                after = os.fstat(handle.fileno())
                if (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns):
                    return _named(frame, label)
    raw = read_bytes(path, label)
    if not raw or raw.isspace():  # without copying the file as raw.strip() would
        raise CompendiumError(f"{label}: file is empty (expected a header row and data)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CompendiumError(f"{label}: file is UTF-16 encoded; save it as UTF-8")
    if not raw.isascii():  # ASCII is valid UTF-8; anything else is decoded once to check
        # Past a byte-order mark, decoded from a view (no copy of the file), so that the
        # error's position counts from the start of the file, as the message's line does.
        bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
        try:
            codecs.decode(memoryview(raw)[bom:], "utf-8")
        except UnicodeDecodeError as err:
            start = bom + err.start
            line = raw[:start].count(b"\n") + 1
            raise CompendiumError(
                f"{label}:{line}: not valid UTF-8 (byte 0x{raw[start]:02x}); "
                "save the file as UTF-8"
            ) from None
    if b"\x00" in raw:  # in valid UTF-8 a zero byte is a NUL character and nothing else
        raise CompendiumError(f"{label}: contains NUL characters; not a text CSV file")
    # The checked bytes go to the parser as they are, which decodes them itself.
    return _named(_parse(io.BytesIO(raw), label), label)


#: Bytes read at a time by the check of a file parsed as it streams.
_CHECK_CHUNK = 1 << 22


def _passes_checks(handle: BinaryIO) -> bool:
    """Whether the file at ``handle`` passes the checks :func:`read_table` makes of a
    whole file: not empty or blank, no UTF-16 byte-order mark, valid UTF-8, no NUL."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    blank, first = True, True
    while chunk := handle.read(_CHECK_CHUNK):
        if first and chunk.startswith((b"\xff\xfe", b"\xfe\xff")):
            return False
        first = False
        if b"\x00" in chunk:
            return False
        blank = blank and chunk.isspace()
        if not chunk.isascii() or decoder.getstate()[0]:  # a character may span two chunks
            try:
                decoder.decode(chunk)
            except UnicodeDecodeError:
                return False
    try:
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return not first and not blank


def _parse_open(handle: BinaryIO, label: str) -> pd.DataFrame:
    """:func:`_parse` of the open file ``handle``: on Linux, through a path naming that
    very file (``/proc/self/fd/N``, which opens the file the descriptor holds even if
    its name now points elsewhere); elsewhere, or if that path will not open, from
    the handle itself.

    pandas parses a file it is given by path in chunks, on up to two threads here
    (``mode.max_threads``), and in less CPU time than from a Python file object;
    it parses serially again, for its usual message, whenever a chunk fails. On
    the million-segment bench this takes about half a CPU-second off segments.csv.
    """
    fd_path = f"/proc/self/fd/{handle.fileno()}"
    if os.path.exists(fd_path):
        try:
            return _parse(fd_path, label)
        except OSError:  # the path did not open again (its permissions changed, say)
            handle.seek(0)
    return _parse(handle, label)


def _parse(source: BinaryIO | str, label: str) -> pd.DataFrame:
    """The CSV at ``source`` parsed as text, or a CompendiumError with the parser's message."""
    import pandas as pd

    try:
        return pd.read_csv(
            source, dtype=str, keep_default_na=False, na_values=[""],
            on_bad_lines="error", engine="c", encoding="utf-8-sig",
        )
    except pd.errors.ParserError as err:
        raise CompendiumError(f"{label}: cannot parse CSV ({_parser_message(err)})") from None
    except pd.errors.EmptyDataError:
        raise CompendiumError(f"{label}: file is empty (expected a header row)") from None


def _named(frame: pd.DataFrame, label: str) -> pd.DataFrame:
    """``frame`` with its column names stripped; a header naming a column twice refused."""
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = [c for c in frame.columns if c.rsplit(".", 1)[0] in frame.columns and "." in c]
    if duplicated:
        raise CompendiumError(f"{label}: duplicate column name(s) in header")
    return frame


def _parser_message(err: Exception) -> str:
    message = str(err).strip().splitlines()[-1]
    # pandas counts lines from 1 including the header; say "row" as we do elsewhere
    return message.replace("Error tokenizing data. C error: ", "")


def read_problem(label: str, err: CompendiumError) -> Problem:
    """A read_table error as a Problem, keeping the line it names (``FILE:LINE: message``)."""
    head, _, message = str(err).partition(": ")
    file, _, line = head.partition(":")
    row = int(line) if file == label and line.isdigit() else None
    return Problem(label, row, None, message or str(err))


def problem_order(problem: Problem) -> tuple:
    """Sort key for reports: the descriptor, the tables in data-flow order, then other files."""
    file_rank = {f"{t}.csv": i for i, t in enumerate(TABLES)}
    return (file_rank.get(problem.file, -1 if problem.file == DESCRIPTOR else 99),
            problem.file, problem.row or 0, problem.column or "", problem.message)


def default_sources(segments: pd.DataFrame) -> pd.Series:
    """Each segment's transcript path: its ``source``, else ``transcripts/<participant_id>.txt``."""
    import pandas as pd

    source = segments["source"] if "source" in segments else pd.Series(pd.NA, index=segments.index)
    missing = source.isna().to_numpy()
    if not missing.any():
        return source.astype(str)
    # only the rows without a source need the default (fillna aligns on the index)
    default = "transcripts/" + segments["participant_id"][missing].astype(str) + ".txt"
    return source.fillna(default).astype(str)


def read_transcript_text(path: Path, label: str | None = None) -> str:
    """A transcript as code points: BOM stripped, line endings kept as written.

    A file that cannot be read or is not UTF-8 is a one-line CompendiumError
    (see :mod:`compendium.userfile`).
    """
    label = label or path.name
    data = read_bytes(path, label)
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CompendiumError(f"{label}: not valid UTF-8 (a UTF-16 file); save it as UTF-8")
    return decode(data, label)


def is_inside(folder: Path, path: Path) -> bool:
    """Whether ``path`` resolves to a place inside ``folder`` (no escape by ``..`` or links)."""
    try:
        path.resolve().relative_to(folder.resolve())
    except (ValueError, OSError, RuntimeError):  # outside, or a symlink loop on the way
        return False
    return True


def typed_table(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` (table ``table`` as read) with the schema's integer types and the
    documented defaults for optional columns; changes and returns ``frame``."""
    import pandas as pd

    schema = TABLE_SCHEMAS[table]
    for spec in schema["fields"]:
        name = spec["name"]
        if name in frame and spec["type"] == "integer":
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
    if table == "codebook":
        if "level" not in frame:
            frame["level"] = "code"
        frame["level"] = frame["level"].fillna("code")
        if "parent_id" not in frame:
            frame["parent_id"] = pd.NA
    if table == "segments":
        for optional in ("source", "start", "end"):
            if optional not in frame:
                frame[optional] = pd.NA
        frame["start"] = frame["start"].astype("Int64")
        frame["end"] = frame["end"].astype("Int64")
    return frame
