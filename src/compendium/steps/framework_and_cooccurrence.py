"""Notebook 04 (``04-framework-and-cooccurrence.ipynb``): framework matrix and co-occurrence.

What the notebook decides: the perspective filter, the framework heatmap and
its fallback, which two themes' codes the co-occurrence heatmap crosses and
what it shows when one has no codes, the captions, and the paragraph's values.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .. import analysis
from ..dataset import Dataset
from ..displays import figures, narrative
from .common import Values, check_perspective
from .notebook import start_run as start_run

FRAMEWORK_CAPTION = ("Framework matrix: coded segments per interviewee (rows, grouped by "
                     "perspective) and code (columns, grouped by theme).")


def restrict(ds: Dataset, perspective: str | None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Participants, segments and codings of one perspective (``None``: everyone)."""
    check_perspective(perspective)
    participants = ds.participants
    if perspective is not None:
        participants = participants[participants["perspective"] == perspective]
    segments = ds.segments[ds.segments["participant_id"].isin(set(participants["participant_id"]))]
    codings = ds.codings[ds.codings["segment_id"].isin(set(segments["segment_id"]))]
    return participants, segments, codings


def framework_for(ds: Dataset, participants: pd.DataFrame, segments: pd.DataFrame,
                  codings: pd.DataFrame, coder: str) -> pd.DataFrame:
    """The framework matrix of the (restricted) tables: coded segments per interviewee x code."""
    return analysis.framework_matrix(codings, segments, participants, ds.codebook, coder=coder)


def code_names(ds: Dataset) -> dict[str, str]:
    """Code id -> name for the code-level entries the analysis uses."""
    codes = ds.codebook[ds.codebook["level"] == "code"]
    return codes.set_index("code_id")["name"].to_dict()


def framework_figure(ds: Dataset, framework: pd.DataFrame) -> Figure:
    """The framework heatmap, or a figure saying there is nothing to chart."""
    if framework.shape[1] <= 1:
        return figures.message_figure("No codes of this dataset are placed under the study's "
                                      "themes.", ds.synthetic)
    codes = ds.codebook[ds.codebook["level"] == "code"]
    return figures.framework_heatmap(framework, code_names(ds),
                                     codes.set_index("code_id")["theme"].to_dict(), ds.synthetic)


def framework_values(framework: pd.DataFrame) -> Values:
    """The framework paragraph's generated sentence on how fully interviewees are covered."""
    return {"framework.coverage": (narrative.coverage_sentence(framework), None)}


def theme_codes(ds: Dataset, theme: str) -> list[str]:
    """Code ids of one theme, in codebook order."""
    codes = ds.codebook[ds.codebook["level"] == "code"]
    return codes.loc[codes["theme"] == theme, "code_id"].tolist()


def cooccurrence_for(ds: Dataset, segments: pd.DataFrame, codings: pd.DataFrame, coder: str,
                     unit: str, row_theme: str, column_theme: str) -> pd.DataFrame:
    """Co-occurrence of the row theme's codes with the column theme's (empty if one has none)."""
    rows, columns = theme_codes(ds, row_theme), theme_codes(ds, column_theme)
    if not (rows and columns):
        return pd.DataFrame(columns=["code_a", "code_b", "count", "n_a", "n_b", "jaccard"])
    return analysis.cooccurrence(codings, segments, ds.codebook, unit=unit, coder=coder,
                                 codes_a=rows, codes_b=columns)


def cooccurrence_figure(ds: Dataset, pairs: pd.DataFrame, unit: str, row_theme: str,
                        column_theme: str) -> Figure:
    """The co-occurrence heatmap, or a figure naming the theme that has no codes."""
    rows, columns = theme_codes(ds, row_theme), theme_codes(ds, column_theme)
    if not (rows and columns):
        empty = row_theme if not rows else column_theme
        return figures.message_figure(f"No codes of this dataset are placed under the theme "
                                      f"‘{ds.design.theme_label(empty)}’.", ds.synthetic)
    return figures.cooccurrence_heatmap(pairs, rows, columns, code_names(ds), ds.synthetic,
                                        unit_label(unit))


def unit_label(unit: str) -> str:
    """'interviewees' or 'segments': the plural a caption uses for a unit of analysis."""
    return "interviewees" if unit == "interviewee" else "segments"


def cooccurrence_caption(ds: Dataset, unit: str, row_theme: str, column_theme: str,
                         pairs: pd.DataFrame | None = None) -> str:
    """Caption of the co-occurrence heatmap, naming the two themes by their labels; with
    ``pairs`` (as the figure was drawn from), it says when the cells are too small to
    print the counts."""
    units = unit_label(unit)
    n_columns = len(theme_codes(ds, column_theme))
    numbers = (f"numbers are counts of {units} carrying both codes"
               if pairs is None or figures.cooccurrence_numbers_fit(pairs, n_columns) else
               f"and the {n_columns} columns leave no room to print in the cells the counts of "
               f"{units} carrying both codes")
    return (f"Co-occurrence of the codes of ‘{ds.design.theme_label(row_theme)}’ (rows) and of "
            f"‘{ds.design.theme_label(column_theme)}’ (columns) within {units}: colour is the "
            f"Jaccard similarity, {numbers}.")


def cooccurrence_values(ds: Dataset, pairs: pd.DataFrame, unit: str) -> Values:
    """The co-occurrence paragraph's numbers and its generated sentence."""
    return {
        "cooccurrence.unit": (unit_label(unit), None),
        "cooccurrence.strongest": (narrative.strongest_pair_sentence(pairs, code_names(ds), unit),
                                   None),
        "cooccurrence.n_pairs": (len(pairs), None),
        "cooccurrence.n_pairs_never": (int((pairs["count"] == 0).sum()), None),
    }
