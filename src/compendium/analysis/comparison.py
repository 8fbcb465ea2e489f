"""Comparing the two perspectives code by code.

With 14 interviewees, differences between entrepreneurs and intermediaries
are best reported as counts and shares with their uncertainty, not as
significance claims; the Wilson intervals and Fisher exact p-values here are
there to keep the reader (and the authors) honest about how little small
groups can show.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from ..dataset.design import Design, default_design
from ..formatting import percent_text
from ._common import (
    PERSPECTIVES,
    group_sizes,
    id_columns,
    perspectives,
    safe_share,
)
from .frequencies import code_frequencies

UNITS = ("interviewee", "segment")
_CONFIDENCE = 0.95


def wilson_interval(
    k: np.ndarray | int, n: np.ndarray | int, confidence: float = _CONFIDENCE
) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for the proportion k/n, vectorised over arrays.

    The Wilson interval behaves well for small n and for proportions of 0 or
    1 (where the textbook Wald interval collapses to a point), which is
    exactly the situation of a 7-person group. Where n is 0 the proportion is
    undefined and both bounds are NaN.

    Returns
    -------
    (low, high), float arrays clipped to [0, 1].
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    k = np.asarray(k, dtype=float)
    n = np.asarray(n, dtype=float)
    # imported here: scipy.stats costs a second at start-up of every kernel that
    # imports the analysis package, and most runs never test or interval
    from scipy.special import ndtri

    z = ndtri(0.5 + confidence / 2)
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        denominator = 1 + z**2 / n
        centre = (p + z**2 / (2 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2))
    # At k = 0 (k = n) the lower (upper) bound is exactly 0 (1); rounding in
    # centre - half would otherwise leave e.g. 1.7e-18, i.e. a bound above
    # the observed proportion.
    low = np.where(k == 0, 0.0, np.clip(centre - half, 0.0, 1.0))
    high = np.where(k == n, 1.0, np.clip(centre + half, 0.0, 1.0))
    low = np.where(n > 0, low, np.nan)
    high = np.where(n > 0, high, np.nan)
    return low, high


def perspective_comparison(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    codebook: pd.DataFrame,
    coder: str | None = None,
    unit: str = "interviewee",
) -> pd.DataFrame:
    """Compare, for every code, how often entrepreneurs and intermediaries raised it.

    Parameters
    ----------
    unit:
        ``"interviewee"`` (default): n is the number of interviewees of the
        perspective who raised the code and size the number of interviewees
        of that perspective. ``"segment"``: n is the number of segments of
        that perspective carrying the code and size the number of all
        segments of that perspective. Segments from the same interview are
        not independent observations, so with ``unit="segment"`` the
        intervals and p-values are descriptive only and must not be read as
        inference.

    Returns
    -------
    DataFrame, one row per code-level code in codebook order: code_id, theme,
    name, n_entrepreneur, size_entrepreneur, share_entrepreneur,
    n_intermediary, size_intermediary, share_intermediary, gap
    (share_entrepreneur - share_intermediary; shares are 0 for an empty
    group), ci_low_entrepreneur, ci_high_entrepreneur, ci_low_intermediary,
    ci_high_intermediary (95% Wilson score intervals; NaN for an empty
    group), fisher_p (two-sided Fisher exact test of the 2x2 table raised /
    not raised by perspective; NaN when a perspective is empty).
    """
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {UNITS}")
    freq = code_frequencies(codings, segments, participants, codebook, coder=coder)
    if unit == "interviewee":
        n_column = "n_interviewees"
        sizes = group_sizes(participants)
    else:
        n_column = "n_segments"
        # Every segment of the perspective counts in the denominator, coded
        # or not, so the share is "of everything that was said".
        seg_persp = id_columns(segments, ["segment_id", "participant_id"])
        seg_persp = seg_persp.drop_duplicates("segment_id")
        seg_persp = seg_persp.merge(perspectives(participants), on="participant_id", how="inner")
        sizes = seg_persp["perspective"].value_counts().reindex(list(PERSPECTIVES), fill_value=0)

    out = freq.drop_duplicates("code_id")[["code_id", "theme", "name"]].reset_index(drop=True)
    for perspective in PERSPECTIVES:
        # freq lists every code once per perspective, in codebook order, so
        # its rows for one perspective align positionally with `out`.
        n = freq.loc[freq["perspective"] == perspective, n_column].to_numpy(dtype=np.int64)
        size = np.full(len(n), int(sizes[perspective]), dtype=np.int64)
        out[f"n_{perspective}"] = n
        out[f"size_{perspective}"] = size
        out[f"share_{perspective}"] = safe_share(n, size)
    out["gap"] = out["share_entrepreneur"] - out["share_intermediary"]
    for perspective in PERSPECTIVES:
        low, high = wilson_interval(out[f"n_{perspective}"], out[f"size_{perspective}"])
        out[f"ci_low_{perspective}"] = low
        out[f"ci_high_{perspective}"] = high

    n_e, s_e = out["n_entrepreneur"].to_numpy(), out["size_entrepreneur"].to_numpy()
    n_i, s_i = out["n_intermediary"].to_numpy(), out["size_intermediary"].to_numpy()
    from scipy.stats import fisher_exact  # see wilson_interval on why it is imported here

    # One exact test per code (a few dozen at most); scipy has no batched
    # Fisher test for 2x2 tables.
    out["fisher_p"] = [
        fisher_exact([[a, sa - a], [b, sb - b]]).pvalue if sa > 0 and sb > 0 else np.nan
        for a, sa, b, sb in zip(n_e, s_e, n_i, s_i, strict=True)
    ]
    out["fisher_p"] = out["fisher_p"].astype(float)
    return out.reset_index(drop=True)


def largest_gaps(comparison: pd.DataFrame, n: int = 3) -> pd.DataFrame:
    """The ``n`` codes on which the perspectives differ most (largest |gap|).

    Ties are broken by code_id so that the paper's "largest difference"
    sentence is reproducible.
    """
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    ranked = comparison.assign(_abs_gap=comparison["gap"].abs())
    ranked = ranked.sort_values(["_abs_gap", "code_id"], ascending=[False, True], kind="stable")
    return ranked.drop(columns="_abs_gap").head(n).reset_index(drop=True)


def _group_phrase(k: int, n: int, perspective: str, unit: str, decimals: int,
                  design: Design) -> str:
    """E.g. "1 of 8 entrepreneurs (13%)" or "3 of 40 segments from intermediaries (8%)"."""
    if unit == "segment":
        noun = ("segment" if n == 1 else "segments") + f" from {design.noun(perspective)}"
    else:
        noun = design.count_noun(perspective, n)
    return f"{k} of {n} {noun} ({percent_text(k, n, decimals)})"


def describe_gap(
    row: pd.Series | Mapping[str, Any], *, unit: str = "interviewee", largest: bool = True,
    design: Design | None = None,
) -> str:
    """A plain English sentence describing one row of :func:`perspective_comparison`.

    The sentence is generated from the counts (not typed by hand) so the
    paper's text cannot drift from its data. It handles equal shares, either
    side being larger and an empty perspective. Percentages are rounded half
    up to whole percents; if two different shares would print the same,
    as many decimals as needed are shown so the text never shows a
    difference as equality.

    Parameters
    ----------
    row:
        A row of :func:`perspective_comparison` (or of :func:`largest_gaps`).
    unit:
        The ``unit`` the comparison was computed with, which decides the
        wording ("of 8 entrepreneurs" or "of 40 entrepreneur segments").
    largest:
        Whether the row is the largest gap (the row alone cannot tell);
        if False the sentence does not claim it is.
    design:
        The dataset's design, whose nouns name the perspectives; ``None``
        uses the study's own ("entrepreneurs", "intermediaries").

    Example
    -------
    "The largest difference between the perspectives was for 'Delivering
    programme targets', raised by 1 of 8 entrepreneurs (13%) and 6 of 6
    intermediaries (100%)."
    """
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {UNITS}")
    design = design or default_design()
    name = row["name"]
    k_e, n_e = int(row["n_entrepreneur"]), int(row["size_entrepreneur"])
    k_i, n_i = int(row["n_intermediary"]), int(row["size_intermediary"])
    verb = "raised in" if unit == "segment" else "raised by"

    if n_e == 0 or n_i == 0:
        if n_e == 0 and n_i == 0:
            return (
                f"'{name}' cannot be compared between the perspectives: "
                "there are no data from either perspective."
            )
        k, n, present = (k_e, n_e, "entrepreneur") if n_e > 0 else (k_i, n_i, "intermediary")
        missing = design.noun("intermediary" if n_e > 0 else "entrepreneur")
        return (
            f"'{name}' was {verb} {_group_phrase(k, n, present, unit, 0, design)}; it cannot be "
            f"compared between the perspectives because the data include no {missing}."
        )

    # Compare the exact fractions k_e/n_e and k_i/n_i by cross-multiplying,
    # so equal shares are recognised whatever floating point does.
    difference = k_e * n_i - k_i * n_e
    decimals = 0
    # Add decimals until two different shares print differently (1/59 and
    # 1/60 are both "2%" and both "1.7%", but "1.69%" and "1.67%").
    while difference != 0 and decimals < 6 and percent_text(k_e, n_e, decimals) == percent_text(
        k_i, n_i, decimals
    ):
        decimals += 1
    both = (
        f"{_group_phrase(k_e, n_e, 'entrepreneur', unit, decimals, design)} and "
        f"{_group_phrase(k_i, n_i, 'intermediary', unit, decimals, design)}"
    )
    if difference == 0:
        return f"There was no difference between the perspectives for '{name}', {verb} {both}."
    if largest:
        return f"The largest difference between the perspectives was for '{name}', {verb} {both}."
    more = design.noun("entrepreneur" if difference > 0 else "intermediary")
    return f"'{name}' was {verb} {both}, proportionally more often by {more}."
