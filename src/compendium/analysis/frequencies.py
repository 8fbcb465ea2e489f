"""How often each code was raised, by perspective."""

from __future__ import annotations

import pandas as pd

from ._common import (
    PERSPECTIVES,
    code_entries,
    coded_segments,
    group_sizes,
    perspectives,
    safe_share,
)


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
    return frequencies_of_coded(coded_segments(codings, segments, coder), participants, codebook)


def frequencies_of_coded(
    coded: pd.DataFrame, participants: pd.DataFrame, codebook: pd.DataFrame
) -> pd.DataFrame:
    """:func:`code_frequencies` from the distinct coded segments it counts.

    Parameters
    ----------
    coded:
        Distinct (segment_id, code_id, participant_id) rows, as
        :func:`compendium.analysis._common.coded_segments` gives them; the
        segment ids may be any values that are equal where the ids are (such as
        integer codes of them), since they are only counted.
    participants, codebook:
        The canonical tables of data/README.md.

    Returns
    -------
    DataFrame
        The table :func:`code_frequencies` returns.
    """
    codes = code_entries(codebook)
    persp = perspectives(participants)
    carried = coded.merge(persp, on="participant_id", how="inner")
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
    out["group_size"] = out["perspective"].map(group_sizes(participants)).astype("int64")
    out["share"] = safe_share(out["n_interviewees"].to_numpy(), out["group_size"].to_numpy())
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
