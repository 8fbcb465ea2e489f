"""How often each code was raised, by perspective.

This module also holds the small private helpers the other analysis modules
share (selecting a coder's codings, the code-level part of a codebook, the
perspective of each participant), so that every display applies exactly the
same rules for "who raised what".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: The two sides of the study's dual perspective, in the order used by every
#: result and display.
PERSPECTIVES: tuple[str, str] = ("entrepreneur", "intermediary")


# --------------------------------------------------------------------------
# shared helpers
# --------------------------------------------------------------------------


def _code_entries(codebook: pd.DataFrame) -> pd.DataFrame:
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


def _id_columns(table: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``table[columns]``, with id columns of an empty table made mergeable.

    An empty CSV column or an empty list gives float64 or object dtype, and
    pandas refuses to merge a float key with a string key; an empty table
    must simply give empty results.
    """
    out = table[columns]
    if len(out) == 0:
        out = out.astype(object)
    return out


def _positions(ids: pd.Series | list[str]) -> dict[str, int]:
    """Map each id to its position, so results can be sorted in codebook order."""
    return {code: i for i, code in enumerate(ids)}


def _check_coder(codings: pd.DataFrame, coder: str | None) -> None:
    """Raise ValueError when ``coder`` names nobody in ``codings``."""
    if coder is None:
        return
    known = sorted(codings["coder"].dropna().unique().tolist())
    if coder not in known:
        # A typo in a coder name would otherwise give an all-zero analysis
        # that looks like a genuine (and alarming) finding.
        raise ValueError(f"unknown coder {coder!r}; the codings have coders {known}")


def _select_codings(codings: pd.DataFrame, coder: str | None) -> pd.DataFrame:
    """Distinct (segment_id, code_id) pairs applied by ``coder`` (None: any coder).

    With ``coder=None`` a segment coded with the same code by two coders must
    still count once, hence the de-duplication.
    """
    _check_coder(codings, coder)
    if coder is not None:
        codings = codings[codings["coder"] == coder]
    return _id_columns(codings, ["segment_id", "code_id"]).drop_duplicates().reset_index(drop=True)


def _coded_segments(
    codings: pd.DataFrame, segments: pd.DataFrame, coder: str | None
) -> pd.DataFrame:
    """Distinct (segment_id, code_id, participant_id) rows for ``coder``.

    Codings that point at a segment missing from ``segments`` cannot be
    attributed to an interviewee and are dropped (the dataset validator
    reports them; the analysis must not crash on them).
    """
    selected = _select_codings(codings, coder)
    return selected.merge(
        _id_columns(segments, ["segment_id", "participant_id"]), on="segment_id", how="inner"
    )


def _perspectives(participants: pd.DataFrame) -> pd.DataFrame:
    """participant_id and perspective, checked against :data:`PERSPECTIVES`."""
    table = _id_columns(participants, ["participant_id", "perspective"])
    unknown = sorted(set(table["perspective"].dropna()) - set(PERSPECTIVES))
    if unknown or table["perspective"].isna().any():
        # Dropping an unexpected group silently would change group sizes and
        # therefore every share reported in the paper.
        raise ValueError(
            f"participants have perspectives outside {PERSPECTIVES}: {unknown or ['<missing>']}"
        )
    return table.reset_index(drop=True)


def _group_sizes(participants: pd.DataFrame) -> pd.Series:
    """Number of participants per perspective, both perspectives always present."""
    persp = _perspectives(participants)
    return persp["perspective"].value_counts().reindex(list(PERSPECTIVES), fill_value=0)


def _safe_share(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    """numerator / denominator, 0.0 where the denominator is 0.

    An empty group has raised nothing; reporting 0 (rather than NaN) keeps
    tables printable, and the group size shown next to it makes that explicit.
    """
    num = np.asarray(numerator, dtype=float)
    den = np.asarray(denominator, dtype=float)
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


# --------------------------------------------------------------------------
# public
# --------------------------------------------------------------------------


def code_frequencies(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    codebook: pd.DataFrame,
    coder: str | None = None,
) -> pd.DataFrame:
    """Count, for every code and perspective, the interviewees and segments raising it.

    In a qualitative interview study the natural unit of "how common" is the
    interviewee (how many of the people we spoke to raised this?), reported
    against the size of their group; segment counts are given alongside
    because they show how much was said, not how many said it.

    Parameters
    ----------
    codings, segments, participants, codebook:
        The canonical tables of data/README.md.
    coder:
        Analyse only this coder's codings; ``None`` uses all codings (a
        segment coded with the same code by several coders counts once).

    Returns
    -------
    DataFrame with one row per (code-level codebook entry, perspective), in
    codebook order then ("entrepreneur", "intermediary"), both perspectives
    always present, and columns:

    code_id, theme, name, perspective,
    n_interviewees (distinct participants of that perspective with at least
    one segment carrying the code), group_size (participants of that
    perspective in ``participants``), share (n_interviewees / group_size, 0
    when group_size is 0), n_segments (segments of that perspective carrying
    the code).
    """
    codes = _code_entries(codebook)
    persp = _perspectives(participants)
    carried = _coded_segments(codings, segments, coder).merge(
        persp, on="participant_id", how="inner"
    )
    counts = (
        carried.groupby(["code_id", "perspective"])
        .agg(
            n_interviewees=("participant_id", "nunique"),
            n_segments=("segment_id", "nunique"),
        )
        .reset_index()
    )
    # The full code x perspective grid, so codes nobody raised and empty
    # perspectives still get a (zero) row.
    grid = pd.MultiIndex.from_product(
        [codes["code_id"], list(PERSPECTIVES)], names=["code_id", "perspective"]
    ).to_frame(index=False)
    out = grid.merge(codes, on="code_id", how="left").merge(
        counts, on=["code_id", "perspective"], how="left"
    )
    for column in ("n_interviewees", "n_segments"):
        out[column] = out[column].fillna(0).astype("int64")
    out["group_size"] = out["perspective"].map(_group_sizes(participants)).astype("int64")
    out["share"] = _safe_share(out["n_interviewees"].to_numpy(), out["group_size"].to_numpy())
    columns = [
        "code_id",
        "theme",
        "name",
        "perspective",
        "n_interviewees",
        "group_size",
        "share",
        "n_segments",
    ]
    return out[columns].reset_index(drop=True)
