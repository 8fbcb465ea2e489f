"""The plain forms of validation's vectorised checks, kept to compare with them.

Each function here is the check as it was before it was made faster, kept
unchanged so that a hypothesis test can show the faster form says the same on
random small tables.
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pandas as pd

from compendium.dataset.datapackage import TABLE_SCHEMAS
from compendium.dataset.tableio import _parser_message
from compendium.dataset.textcolumns import fullmatch_all, plain_numbers, whole_numbers
from compendium.dataset.validation import MAX_FIELD_CHARS, _rows
from compendium.errors import CompendiumError, Problem
from compendium.errors import shortened as _short
from compendium.userfile import read_bytes


def check_fields_plain(table: str, frame: pd.DataFrame,
                       numbers_out: dict[str, np.ndarray] | None = None) -> list[Problem]:
    """``validation._check_fields`` as it was before it skipped copying a column whose
    every cell is given (each column copied, and its rows listed, whatever it holds)."""
    label = f"{table}.csv"
    problems: list[Problem] = []
    frame = frame.reset_index(drop=True)
    for spec in TABLE_SCHEMAS[table]["fields"]:
        name = spec["name"]
        if name not in frame:
            continue
        column = frame[name]
        constraints = spec["constraints"]
        # Plain Python strings in a numpy array: str methods mapped over them are
        # several times faster than pandas' .str accessor on a million cells.
        cells = column.to_numpy(dtype=object)
        filled = np.flatnonzero(~column.isna().to_numpy())
        texts = cells[filled]
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        # blank: strip() would leave nothing
        blank = (lengths == 0) | np.fromiter(map(str.isspace, texts), bool, len(texts))
        if constraints.get("required"):
            missing = np.ones(len(cells), dtype=bool)
            missing[filled[~blank]] = False
            for row in _rows(np.flatnonzero(missing)):
                problems.append(Problem(label, row, name, "value is required"))
        positions, values, lengths = filled[~blank], texts[~blank], lengths[~blank]
        for row in _rows(positions[lengths > MAX_FIELD_CHARS]):
            problems.append(Problem(label, row, name,
                                    f"value longer than {MAX_FIELD_CHARS:,} characters"))
        if spec["type"] == "integer":
            plain = plain_numbers(values)
            numbers = plain if plain is not None else whole_numbers(values, strip=True)
            if plain is not None and numbers_out is not None and len(values) == len(texts):
                # no blank value, so the values are the filled cells, whole
                numbers_out[name] = np.full(len(cells), np.nan)
                numbers_out[name][positions] = plain
            bad = np.isnan(numbers) | (numbers != np.floor(numbers))
            for row, value in zip(_rows(positions[bad]), values[bad], strict=True):
                problems.append(Problem(
                    label, row, name, f"'{_short(value)}' is not a whole number"))
            if "minimum" in constraints:
                low = (~bad) & (numbers < constraints["minimum"])
                for row, value in zip(_rows(positions[low]), values[low], strict=True):
                    problems.append(Problem(
                        label, row, name, f"{value} is below the minimum {constraints['minimum']}"))
        if "enum" in constraints:
            allowed = constraints["enum"]
            bad = ~pd.Series(values, dtype=object).isin(allowed).to_numpy()
            for row, value in zip(_rows(positions[bad]), values[bad], strict=True):
                problems.append(Problem(label, row, name,
                                        f"'{_short(value)}' is not one of {', '.join(allowed)}"))
        if "pattern" in constraints:
            bad = ~fullmatch_all(constraints["pattern"].strip("^$"), values)
            for row, value in zip(_rows(positions[bad]), values[bad], strict=True):
                problems.append(Problem(label, row, name,
                                        f"'{_short(value)}' is not a valid id (letters, digits, "
                                        "'.', '-', '_'; starting with a letter or digit)"))
        if constraints.get("unique"):
            dup = pd.Series(values, dtype=object).duplicated(keep="first").to_numpy()
            for row, value in zip(_rows(positions[dup]), values[dup], strict=True):
                problems.append(Problem(label, row, name, f"duplicate id '{_short(value)}'"))
    key = TABLE_SCHEMAS[table]["primaryKey"]
    if len(key) > 1 and set(key) <= set(frame.columns):
        dup = frame.duplicated(subset=key, keep="first")
        for row in _rows(np.flatnonzero(dup.to_numpy())):
            problems.append(Problem(label, row, None,
                                    f"duplicate row: the same ({', '.join(key)}) appears earlier"))
    return problems


def read_table_plain(path: Path, label: str | None = None) -> pd.DataFrame:
    """``tableio.read_table`` as it was before it parsed a file as it streams (the
    whole file read into memory, checked, and parsed from there)."""
    label = label or path.name
    if not path.exists() and not path.is_symlink():
        raise CompendiumError(f"{label}: file not found")
    raw = read_bytes(path, label)
    if not raw or raw.isspace():  # without copying the file as raw.strip() would
        raise CompendiumError(f"{label}: file is empty (expected a header row and data)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CompendiumError(f"{label}: file is UTF-16 encoded; save it as UTF-8")
    if not raw.isascii():  # ASCII is valid UTF-8; anything else is decoded once to check
        bom = 3 if raw.startswith(b"\xef\xbb\xbf") else 0  # positions count the BOM too
        try:
            raw[bom:].decode("utf-8")
        except UnicodeDecodeError as err:
            line = raw[: bom + err.start].count(b"\n") + 1
            raise CompendiumError(
                f"{label}:{line}: not valid UTF-8 (byte 0x{raw[bom + err.start]:02x}); "
                "save the file as UTF-8"
            ) from None
    if b"\x00" in raw:  # in valid UTF-8 a zero byte is a NUL character and nothing else
        raise CompendiumError(f"{label}: contains NUL characters; not a text CSV file")
    try:
        # The checked bytes go to the parser as they are, which decodes them itself.
        frame = pd.read_csv(
            io.BytesIO(raw), dtype=str, keep_default_na=False, na_values=[""],
            on_bad_lines="error", engine="c", encoding="utf-8-sig",
        )
    except pd.errors.ParserError as err:
        raise CompendiumError(f"{label}: cannot parse CSV ({_parser_message(err)})") from None
    except pd.errors.EmptyDataError:
        raise CompendiumError(f"{label}: file is empty (expected a header row)") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = [c for c in frame.columns if c.rsplit(".", 1)[0] in frame.columns and "." in c]
    if duplicated:
        raise CompendiumError(f"{label}: duplicate column name(s) in header")
    return frame
