"""Notebook 03 (``03-dual-perspective.ipynb``): every code compared between the perspectives.

What the notebook decides: the unit of the comparison, the interviewee
filter, the figure and its fallback, the table, the captions worded with the
design's nouns, and the comparison section's values.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .. import analysis
from ..dataset import Dataset
from ..displays import figures, narrative, tables
from .common import Values
from .notebook import start_run as start_run

#: Relative column widths of the printed comparison table.
COMPARISON_WIDTHS = [1.4, 2.4, 1.5, 1.5, 0.8, 0.8]
#: The comparison's columns the notebook shows before the figure.
SHOWN_COLUMNS = ["code_id", "n_entrepreneur", "n_intermediary", "gap", "fisher_p"]


def theme_names(ds: Dataset) -> dict[str, str]:
    """Theme id -> display label for the themes of the analysis codebook."""
    themes = ds.codebook[ds.codebook["level"] == "theme"]
    return themes.set_index("code_id")["name"].to_dict()


def comparison_for(ds: Dataset, coder: str, unit: str = "interviewee",
                   min_interviewees: int = 1) -> pd.DataFrame:
    """Every code compared between the perspectives, with its theme's label.

    ``min_interviewees`` leaves out codes raised by fewer interviewees (both
    sides together), counted by interviewee whatever the ``unit``.
    """
    comparison = analysis.perspective_comparison(ds.codings, ds.segments, ds.participants,
                                                 ds.codebook, coder=coder, unit=unit)
    if min_interviewees > 1:
        people = analysis.perspective_comparison(ds.codings, ds.segments, ds.participants,
                                                 ds.codebook, coder=coder, unit="interviewee")
        keep = (people["n_entrepreneur"] + people["n_intermediary"]) >= min_interviewees
        comparison = comparison[keep.to_numpy()].reset_index(drop=True)
    comparison["theme_name"] = comparison["theme"].map(theme_names(ds)).fillna(
        comparison["theme"])
    return comparison


def comparison_captions(ds: Dataset, unit: str) -> tuple[str, str]:
    """Captions of the comparison figure and table, naming the perspectives by their nouns."""
    first, second = ds.design.noun("entrepreneur"), ds.design.noun("intermediary")
    share = (f"Share of {first} and of {second} who raised each code" if unit == "interviewee"
             else f"Share of the segments from {first} and from {second} that carry each code")
    return (f"{share}, with 95% Wilson intervals; codes grouped by theme.",
            f"Codes by perspective: counts and shares raising each code, the gap in percentage "
            f"points ({first} minus {second}) and a two-sided Fisher exact test, reported as "
            f"descriptive. {narrative.short_label_note(ds.design)}".strip())


def comparison_figure(ds: Dataset, comparison: pd.DataFrame) -> Figure:
    """The comparison dot plot, or a figure saying there are no codes to compare."""
    if comparison.empty:
        return figures.message_figure("No codes of this dataset are placed under the study's "
                                      "themes, so there is nothing to compare.", ds.synthetic)
    return figures.perspective_dotplot(comparison, ds.synthetic, design=ds.design)


def comparison_table(ds: Dataset, comparison: pd.DataFrame, unit: str) -> pd.DataFrame:
    """The comparison as printed, headed with the design's labels."""
    return tables.comparison_display(comparison, theme_names(ds), unit=unit, design=ds.design)


def comparison_values(ds: Dataset, comparison: pd.DataFrame, unit: str) -> Values:
    """The comparison section's counts and its three generated gap sentences."""
    gaps = analysis.largest_gaps(comparison, n=3)
    out: Values = {"comparison.unit": ("interviewees" if unit == "interviewee" else "segments",
                                       None)}
    for position, key in enumerate(("largest_gap", "second_gap", "third_gap")):
        out[f"comparison.{key}"] = (
            analysis.describe_gap(gaps.iloc[position], unit=unit, largest=position == 0,
                                  design=ds.design) if position < len(gaps) else "", None)
    gap = comparison["gap"]
    both = (comparison["n_entrepreneur"] > 0) & (comparison["n_intermediary"] > 0)
    out.update({
        "comparison.n_codes": (len(comparison), None),
        "comparison.n_more_entrepreneur": (int((gap > 0).sum()), None),
        "comparison.n_more_intermediary": (int((gap < 0).sum()), None),
        "comparison.n_equal": (int((gap == 0).sum()), None),
        "comparison.n_gap_50": (int((gap.abs() >= 0.5).sum()), None),
        "comparison.n_raised_by_both": (int(both.sum()), None),
        "comparison.n_p_below_05": (int((comparison["fisher_p"] < 0.05).sum()), None),
        "comparison.expected_false_positives": (0.05 * len(comparison),
                                                f"{0.05 * len(comparison):.1f}"),
    })
    return out
