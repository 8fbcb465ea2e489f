"""Helpers shared by the analysis modules (internal to :mod:`compendium.analysis`).

Selecting a coder's codings, the code-level part of a codebook and the
perspective of each participant live here, once, so that every display applies
exactly the same rules for "who raised what". Imports nothing of the package.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The two sides of the study's dual perspective, in the order used by every
#: result and display.
PERSPECTIVES: tuple[str, str] = ("entrepreneur", "intermediary")


def code_entries(codebook: pd.DataFrame) -> pd.DataFrame:
    """Code-level codebook entries in codebook order: code_id, theme, name.

    Only code-level entries can be applied to segments (data/README.md), so
    every per-code result is indexed by these rows. A codebook without a
    ``level`` column is a flat list of codes; a missing level means ``code``.
    """
    if "level" in codebook.columns:
        is_code = codebook["level"].fillna("code").eq("code")
    else:
        is_code = pd.Series(True, index=codebook.index)
    codes = codebook.loc[is_code, ["code_id", "theme", "name"]].reset_index(drop=True)
    duplicated = codes["code_id"][codes["code_id"].duplicated()]
    if len(duplicated):
        # A duplicated id would silently double rows in every merge below.
        raise ValueError(f"codebook has duplicated code ids: {sorted(set(duplicated))}")
    return codes


def id_columns(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``table[columns]``, with id columns of an empty table made mergeable.

    An empty CSV column or an empty list gives float64 or object dtype, and
    pandas refuses to merge a float key with a string key; an empty table
    must simply give empty results.
    """
    out = table[columns]
    if len(out) == 0:
        out = out.astype(object)
    return out


def positions(ids: pd.Series | list[str]) -> dict[str, int]:
    """Map each id to its position, so results can be sorted in codebook order."""
    return {code: i for i, code in enumerate(ids)}


def check_coder(codings: pd.DataFrame, coder: str | None) -> None:
    """Raise ValueError when ``coder`` names nobody in ``codings``."""
    if coder is None:
        return
    known = sorted(codings["coder"].dropna().unique().tolist())
    if coder not in known:
        # A typo in a coder name would otherwise give an all-zero analysis
        # that looks like a genuine (and alarming) finding.
        raise ValueError(f"unknown coder {coder!r}; the codings have coders {known}")


def select_codings(codings: pd.DataFrame, coder: str | None) -> pd.DataFrame:
    """Distinct (segment_id, code_id) pairs applied by ``coder`` (None: any coder).

    With ``coder=None`` a segment coded with the same code by two coders must
    still count once, hence the de-duplication.
    """
    check_coder(codings, coder)
    if coder is not None:
        codings = codings[codings["coder"] == coder]
    return id_columns(codings, ["segment_id", "code_id"]).drop_duplicates().reset_index(drop=True)


def coded_segments(
    codings: pd.DataFrame, segments: pd.DataFrame, coder: str | None
) -> pd.DataFrame:
    """Distinct (segment_id, code_id, participant_id) rows for ``coder``.

    Codings that point at a segment missing from ``segments`` cannot be
    attributed to an interviewee and are dropped (the dataset validator
    reports them; the analysis must not crash on them).
    """
    selected = select_codings(codings, coder)
    return selected.merge(
        id_columns(segments, ["segment_id", "participant_id"]), on="segment_id", how="inner"
    )


def perspectives(participants: pd.DataFrame) -> pd.DataFrame:
    """participant_id and perspective, checked against :data:`PERSPECTIVES`."""
    table = id_columns(participants, ["participant_id", "perspective"])
    unknown = sorted(set(table["perspective"].dropna()) - set(PERSPECTIVES))
    if unknown or table["perspective"].isna().any():
        # Dropping an unexpected group silently would change group sizes and
        # therefore every share reported in the paper.
        raise ValueError(
            f"participants have perspectives outside {PERSPECTIVES}: {unknown or ['<missing>']}"
        )
    return table.reset_index(drop=True)


def group_sizes(participants: pd.DataFrame) -> pd.Series:
    """Number of participants per perspective, both perspectives always present."""
    persp = perspectives(participants)
    return persp["perspective"].value_counts().reindex(list(PERSPECTIVES), fill_value=0)


def safe_share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where the denominator is 0.

    An empty group has raised nothing; reporting 0 (rather than NaN) keeps
    tables printable, and the group size shown next to it makes that explicit.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)
