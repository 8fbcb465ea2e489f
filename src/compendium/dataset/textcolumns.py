"""Reading a column of CSV text as numbers or against a pattern, vectorised.

Validation reads a million cells at a time; these helpers do it with numpy on the
text as stored, so that a check and the message it gives read each value the same
way Python's ``int()`` and ``re.fullmatch`` would, without a Python call per cell.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

#: Digit strings this short are exact in a float64 and an int64.
PLAIN_DIGITS = 15


def whole_numbers(texts: np.ndarray, strip: bool = False) -> np.ndarray:
    """``pd.to_numeric(texts, errors="coerce")`` as float64 (NaN where not a number);
    with ``strip``, of the texts with surrounding whitespace removed.

    Columns of plain digits, the usual case, are converted directly; anything
    else goes through pandas, so every odd form is read exactly as before.
    """
    if not len(texts):
        return np.zeros(0)
    plain = plain_numbers(texts)
    if plain is not None:
        return plain
    if strip:
        texts = np.fromiter(map(str.strip, texts), object, len(texts))
    numbers = pd.to_numeric(pd.Series(texts, dtype=object), errors="coerce")
    return numbers.to_numpy(dtype=np.float64, na_value=np.nan)


def plain_numbers(texts: np.ndarray) -> np.ndarray | None:
    """The texts as float64 when every one is plain ASCII digits (at most
    :data:`PLAIN_DIGITS`), else None; what :func:`whole_numbers` gives such texts either way."""
    plain = plain_digits(texts)
    return None if plain is None else plain[0]


def plain_digits(texts: np.ndarray) -> tuple[np.ndarray, int] | None:
    """:func:`plain_numbers` of the texts and the length of the longest, or None."""
    if not len(texts):
        return None
    lengths = np.fromiter(map(len, texts), np.int64, len(texts))
    joined = "".join(texts)
    longest = int(lengths.max())
    if lengths.min() >= 1 and longest <= PLAIN_DIGITS and joined.isascii() \
            and joined.isdigit():
        return np.fromiter(map(int, texts), np.int64, len(texts)).astype(np.float64), longest
    return None


def column_numbers(column: pd.Series) -> np.ndarray:
    """``pd.to_numeric(column, errors="coerce")`` as float64, NaN where missing or not a number."""
    out = np.full(len(column), np.nan)
    filled = np.flatnonzero(~column.isna().to_numpy())
    out[filled] = whole_numbers(column.to_numpy(dtype=object)[filled])
    return out


def fullmatch_all(pattern: str, texts: np.ndarray) -> np.ndarray:
    """Whether each of ``texts`` matches ``pattern`` whole.

    When every text matches, one match of the pattern repeated over all texts
    joined by NUL (which no table holds: read_table refuses it) says so at once.
    The schema's patterns are id patterns, which cannot match a NUL themselves.
    """
    if not len(texts):
        return np.zeros(0, dtype=bool)
    joined = "\x00".join(texts)
    if joined.count("\x00") == len(texts) - 1 and \
            re.fullmatch(f"(?:{pattern})(?:\x00(?:{pattern}))*", joined):
        return np.ones(len(texts), dtype=bool)
    compiled = re.compile(pattern)
    return np.fromiter((compiled.fullmatch(t) is not None for t in texts), bool, len(texts))
