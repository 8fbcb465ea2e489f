"""Notebook 02 (``02-theme-matrix.ipynb``): one theme's conceptually clustered matrix.

What the notebook decides for the theme it is given: which codes the matrix
holds, what to show when the theme has no codes, the perspective and
interviewee filters, the captions and widths, and the section's values.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .. import analysis
from ..analysis import QUOTE_RULE as QUOTE_RULE
from ..dataset import Dataset
from ..displays import figures, narrative, tables
from .common import Values, check_perspective, check_theme, perspectives_only
from .notebook import start_run as start_run

#: Columns of a conceptually clustered matrix (analysis.clustered_matrix).
MATRIX_COLUMNS = ["code_id", "name", "perspective", "n_interviewees", "group_size",
                  "quote_segment_id", "quote_participant_id", "quote_text"]


def theme_matrix(ds: Dataset, theme: str, coder: str, min_interviewees: int = 1,
                 perspective: str | None = None) -> pd.DataFrame:
    """The theme's clustered matrix; empty (with its columns) when the theme has no codes.

    ``perspective`` keeps one side only; ``min_interviewees`` leaves out codes
    raised by fewer interviewees (both sides together).
    """
    check_theme(theme)
    check_perspective(perspective)
    if theme not in set(ds.codebook["theme"]):
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    matrix = analysis.clustered_matrix(ds.codings, ds.segments, ds.participants, ds.codebook,
                                       theme=theme, coder=coder,
                                       min_interviewees=min_interviewees)
    if perspective is not None:
        matrix = matrix[matrix["perspective"] == perspective].reset_index(drop=True)
    return matrix


def matrix_table(ds: Dataset, matrix: pd.DataFrame) -> pd.DataFrame:
    """The matrix as printed: one row per code, a count and a quote per perspective."""
    return tables.matrix_display(matrix, ds.design)


def theme_figure(ds: Dataset, matrix: pd.DataFrame, theme: str) -> Figure:
    """The theme's bar chart, or a figure saying why there is none."""
    if matrix.empty:
        return figures.message_figure(f"No codes of this dataset are placed under the theme "
                                      f"‘{ds.design.theme_label(theme)}’.", ds.synthetic)
    return figures.theme_bars(matrix, ds.synthetic, design=ds.design)


def theme_captions(ds: Dataset, theme: str) -> tuple[str, str]:
    """Captions of the theme's matrix table and bar chart, naming the theme by its label."""
    label = ds.design.theme_label(theme)
    note = narrative.short_label_note(perspectives_only(ds))
    return (f"Conceptually clustered matrix for the theme ‘{label}’: interviewees of each "
            f"perspective who raised each code, with one illustrative quote per cell. {note}"
            .strip(),
            f"Share of each perspective's interviewees who raised each code of the theme "
            f"‘{label}’ (labels give n of N).")


def matrix_widths(ds: Dataset) -> dict[str, float]:
    """Relative column widths of a printed matrix, keyed by its (design-labelled) headers."""
    # The count columns are wide enough for a one-word short label and "6 of 8 (75%)"
    # on one line each at the PDF's table size.
    widths = {"Code": 1.3}
    for key in ("entrepreneur", "intermediary"):
        widths[ds.design.short_label(key)] = 1.4
        widths[f"Quote ({ds.design.noun(key)})"] = 2.8
    return widths


def matrix_values(ds: Dataset, theme: str, matrix: pd.DataFrame,
                  perspective: str | None = None) -> Values:
    """The theme section's numbers and generated sentences."""
    label = ds.design.theme_label(theme)
    out: Values = {
        f"matrix.{theme}.name": (label, None),
        f"matrix.{theme}.n_codes": (int(matrix["code_id"].nunique()), None),
        f"matrix.{theme}.n_quotes": (int(matrix["quote_text"].notna().sum()), None),
    }
    status = narrative.theme_status_sentence(label, ds.design.themes[theme].declared,
                                             int(matrix["code_id"].nunique()))
    shown = [side for side in ("entrepreneur", "intermediary") if perspective in (None, side)]
    for side in shown:
        # A theme without codes is said once, in the first of the section's two sentences.
        sentence = (status if side == shown[0] else "") if status else \
            narrative.top_code_sentence(matrix, side, ds.design)
        out[f"matrix.{theme}.top_{side}"] = (sentence, None)
    out[f"matrix.{theme}.spread"] = (narrative.theme_spread_sentence(matrix, label, ds.design),
                                     None)
    return out
