"""A student's files: the coding CSV and the span CSV, read, checked and written; a class's files.

A student's coding is ``segment_id,code_id,coder``; their own passages are
``source,start,end,code_id,coder``. Both are written sorted, so the same
choices give the same bytes, and read back with every problem named as
``FILE:ROW: column: message`` (a file with any problem counts for nothing).
:func:`student_files` finds a class's files in a plain folder or in an
nbgrader course's ``submitted/``. Writing goes through
:func:`compendium.fileio.atomic_write`.
"""

from __future__ import annotations

import csv
import io
import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

import numpy as np
import pandas as pd

from .. import userfile
from ..errors import CompendiumError, Problem, shortened

#: The columns of a student's CSV, in this order.
COLUMNS = ("segment_id", "code_id", "coder")


#: A coder name: letters, digits, ``-`` and ``_``, starting with a letter or digit
#: (usable in a file name and a CSV cell).
CODER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


#: Where a student's coding is saved, relative to the notebook (and so inside an nbgrader
#: submission, which is the notebook's folder).
SAVE_FOLDER = "my-coding"


#: The columns of a student's span CSV, in this order (offsets in code points, end exclusive).
SPAN_COLUMNS = ("source", "start", "end", "code_id", "coder")


#: Where span files sit inside a save folder or a class folder.
SPAN_FOLDER = "spans"
#: A generated class's record in its folder: whether it is synthetic, which dataset it coded.
METADATA_FILE = "class.json"


def check_coder_name(name: str) -> str:
    """A coder name usable in a file name and a CSV cell (letters, digits, ``-``, ``_``)."""
    if not isinstance(name, str) or not CODER_NAME.match(name):
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


def _read_text(path: Path) -> str:
    """A student's file as text (UTF-8, a BOM dropped), read only if it is a regular file.

    A class folder is whatever students handed in: a named pipe or a device
    named ``*.csv`` is refused (userfile) rather than read, which would wait forever.
    """
    return userfile.read_bytes(path, path.name).decode("utf-8-sig")


def _reason(err: CompendiumError, name: str) -> str:
    """userfile's message without the file name it starts with (a Problem names the file)."""
    return str(err).removeprefix(f"{name}: ")


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
        text = _read_text(path)
    except UnicodeDecodeError as err:
        return empty, [Problem(name, None, None, f"not UTF-8 text ({err.reason})")]
    except CompendiumError as err:
        return empty, [Problem(name, None, None, _reason(err, name))]
    try:
        rows = _csv_rows(text)
    except csv.Error as err:
        return empty, [Problem(name, None, None, f"cannot parse CSV ({err})")]
    if not rows:
        return empty, [Problem(name, None, None, "empty file; expected the header "
                                                 + ",".join(COLUMNS))]
    if tuple(c.strip() for c in rows[0]) != COLUMNS:
        header = shortened(",".join(rows[0]), 120)
        return empty, [Problem(name, 1, None, f"header is {header!r}; expected "
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
                                    f"{shortened(segment)!r} is not one of the segments to code"))
        if code not in code_ids:
            problems.append(Problem(name, number, "code_id",
                                    f"{shortened(code)!r} is not a code of the codebook"))
        if not CODER_NAME.match(coder):
            problems.append(Problem(name, number, "coder",
                                    f"{shortened(coder)!r} is not a coder name"))
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


def _csv_rows(text: str) -> list[list[str]]:
    """A student's CSV as rows: any line ending a spreadsheet writes (CRLF, LF, a lone CR,
    as the csv module reads them with ``newline=""``); a csv.Error says what else is wrong."""
    return list(csv.reader(io.StringIO(text, newline="")))


def spans_csv(spans: pd.DataFrame) -> str:
    """A student's spans as CSV text, sorted, so the same passages give the same bytes."""
    rows = spans[list(SPAN_COLUMNS)].drop_duplicates().sort_values(
        ["source", "start", "end", "code_id"])
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(SPAN_COLUMNS)
    writer.writerows(rows.itertuples(index=False))
    return buffer.getvalue()


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
        rows = _csv_rows(_read_text(path))
    except UnicodeDecodeError as err:
        return empty, [Problem(name, None, None, f"cannot be read ({err})")]
    except CompendiumError as err:
        return empty, [Problem(name, None, None, _reason(err, name))]
    except csv.Error as err:
        return empty, [Problem(name, None, None, f"cannot parse CSV ({err})")]
    if not rows or tuple(c.strip() for c in rows[0]) != SPAN_COLUMNS:
        found = ",".join(rows[0]) if rows else "nothing"
        return empty, [Problem(name, 1, None, f"header is {shortened(found, 120)!r}; expected "
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
            problems.append(Problem(name, number, "source",
                                    f"{shortened(source)!r} is not the transcript coded"))
            continue
        if not (start.isdigit() and end.isdigit()) or not \
                0 <= int(start) < int(end) <= lengths[source]:
            problems.append(Problem(name, number, "start",
                                    f"{shortened(start, 20)}-{shortened(end, 20)} is not a "
                                    f"passage of {source} (0-{lengths[source]})"))
        if code not in code_ids:
            problems.append(Problem(name, number, "code_id",
                                    f"{shortened(code)!r} is not a code of the codebook"))
        if not CODER_NAME.match(coder):
            problems.append(Problem(name, number, "coder",
                                    f"{shortened(coder)!r} is not a coder name"))
        records.append((source, start, end, code, coder))
    if len({r[4] for r in records}) > 1:
        problems.append(Problem(name, None, "coder", "names more than one coder; one file "
                                                     "holds one student's spans"))
    if problems:
        return empty, problems
    spans = pd.DataFrame(records, columns=list(SPAN_COLUMNS)).astype({"start": np.int64,
                                                                     "end": np.int64})
    return spans.drop_duplicates().reset_index(drop=True), []


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


def class_metadata(folder: str | Path) -> dict:
    """The class's ``class.json`` (empty for a real class's folder, which has none).

    It says whether the class is synthetic and which dataset it coded, so a file
    that cannot be read or holds something else is refused (a CompendiumError
    naming it), never taken as absent.
    """
    path = Path(folder) / METADATA_FILE
    if not os.path.lexists(path):
        return {}
    data = userfile.parse_json(userfile.read_bytes(path, str(path)), str(path))
    if not isinstance(data, dict):
        raise CompendiumError(f"{path}: must hold a JSON object")
    made_for = data.get("dataset", {})
    if not isinstance(made_for, dict) or not all(
            isinstance(made_for.get(key, ""), str) for key in ("name", "sha256")):
        raise CompendiumError(f"{path}: dataset: must be an object with the coded dataset's "
                              "name and sha256 as text")
    if not isinstance(data.get("synthetic", False), bool):
        raise CompendiumError(f"{path}: synthetic: must be true or false")
    return data
