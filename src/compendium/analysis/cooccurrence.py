"""Which codes occur together, in the same segment or the same interview.

Co-occurrence is how the study links motivations to outcomes: a motivation
code that keeps appearing with an outcome code in the same interviews
suggests a relationship worth reading the transcripts for. Counts come from
the sparse product X.T @ X of a binary unit x code incidence matrix.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

if TYPE_CHECKING:  # scipy.sparse is imported where it is used, off the kernels' start-up path
    from scipy import sparse

from ._common import code_entries, coded_segments, positions

UNITS = ("segment", "interviewee")


def _check_unit(unit: str) -> None:
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {UNITS}")


def _incidence(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    unit: str,
    coder: str | None,
    code_ids: Sequence[str] | None,
) -> tuple[sparse.csr_matrix, list[str], list[str]]:
    """Incidence matrix with a caller-chosen column list (see :func:`incidence`)."""
    _check_unit(unit)
    carried = coded_segments(codings, segments, coder)
    key = "segment_id" if unit == "segment" else "participant_id"
    # Every unit of `segments` gets a row, coded or not, so that the number
    # of rows is the number of units (an all-zero row adds nothing to X.T @ X).
    row_ids = sorted(pd.unique(segments[key].dropna()).tolist())
    if code_ids is None:
        code_ids = sorted(pd.unique(carried["code_id"]).tolist())
    col_ids = list(code_ids)
    rows = pd.Index(row_ids).get_indexer(carried[key])
    cols = pd.Index(col_ids).get_indexer(carried["code_id"])
    keep = (rows >= 0) & (cols >= 0)
    # Several segments of one interviewee can carry the same code; keeping
    # unique (row, col) pairs makes the interviewee matrix binary.
    pairs = np.unique(np.column_stack([rows[keep], cols[keep]]), axis=0).reshape(-1, 2)
    from scipy import sparse

    matrix = sparse.csr_matrix(
        (np.ones(len(pairs), dtype=np.int64), (pairs[:, 0], pairs[:, 1])),
        shape=(len(row_ids), len(col_ids)),
        dtype=np.int64,
    )
    return matrix, row_ids, col_ids


def incidence(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    unit: str = "segment",
    coder: str | None = None,
) -> tuple[sparse.csr_matrix, list[str], list[str]]:
    """Binary unit x code incidence matrix.

    Parameters
    ----------
    unit:
        ``"segment"``: one row per segment of ``segments``; ``"interviewee"``:
        one row per participant_id of ``segments`` (1 if any of their
        segments carries the code).
    coder:
        Only this coder's codings; None uses all codings.

    Returns
    -------
    (X, row_ids, code_ids): X is a ``scipy.sparse.csr_matrix`` of int64 0/1
    values (int64 so that X.T @ X cannot overflow), row_ids are the sorted
    unit ids, code_ids the sorted ids of the codes used in the selected
    codings.
    """
    return _incidence(codings, segments, unit, coder, None)


def _ordered_codes(
    requested: Sequence[str] | None, codes: list[str], argument: str
) -> list[str]:
    """Validate a code list and return it de-duplicated in codebook order."""
    if requested is None:
        return codes
    if isinstance(requested, str):
        # A bare string would otherwise be read as a list of characters.
        requested = [requested]
    unknown = sorted(set(requested) - set(codes))
    if unknown:
        raise ValueError(
            f"{argument} has codes that are not code-level codebook entries: {unknown}"
        )
    position = positions(codes)
    return sorted(set(requested), key=position.__getitem__)


def cooccurrence(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    codebook: pd.DataFrame,
    unit: str = "segment",
    coder: str | None = None,
    codes_a: Sequence[str] | None = None,
    codes_b: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Count the units (segments or interviewees) carrying each pair of codes.

    Raw counts favour frequent codes, so the Jaccard index (units with both /
    units with either) is given alongside to show how strongly two codes go
    together relative to how often they occur.

    Parameters
    ----------
    unit:
        ``"segment"`` or ``"interviewee"``.
    codes_a, codes_b:
        Restrict the pairs to these codes (e.g. motivation codes against
        outcome codes). Default: all code-level codebook codes. Unknown codes
        raise ValueError.

    Returns
    -------
    Tidy DataFrame, one row per (code_a, code_b) pair including code_a ==
    code_b, in codebook order of code_a then code_b: code_a, code_b, count
    (units carrying both), n_a, n_b (units carrying each), jaccard
    (count / (n_a + n_b - count); 0 when no unit carries either).
    """
    _check_unit(unit)
    codes = code_entries(codebook)["code_id"].tolist()
    rows_a = _ordered_codes(codes_a, codes, "codes_a")
    rows_b = _ordered_codes(codes_b, codes, "codes_b")
    x, _, _ = _incidence(codings, segments, unit, coder, codes)
    # A code x code matrix is small (tens of codes), so densifying is cheap.
    together = (x.T @ x).toarray()
    n = together.diagonal()
    position = positions(codes)
    ia = np.array([position[c] for c in rows_a], dtype=np.intp)
    ib = np.array([position[c] for c in rows_b], dtype=np.intp)
    grid_a = np.repeat(ia, len(ib))
    grid_b = np.tile(ib, len(ia))
    count = together[grid_a, grid_b]
    union = n[grid_a] + n[grid_b] - count
    jaccard = np.divide(
        count.astype(float), union.astype(float), out=np.zeros(len(count)), where=union > 0
    )
    return pd.DataFrame(
        {
            "code_a": np.asarray(codes, dtype=object)[grid_a],
            "code_b": np.asarray(codes, dtype=object)[grid_b],
            "count": count.astype(np.int64),
            "n_a": n[grid_a].astype(np.int64),
            "n_b": n[grid_b].astype(np.int64),
            "jaccard": jaccard,
        }
    )
