"""The steps of the paper's notebooks, as tested functions the notebooks call.

A notebook only calls, shows and saves: every choice it makes (which codes a
theme has, what to show when a theme has none, how a filter works, which
numbers the paper quotes and how they are worded) is made here, where it is
tested with other datasets and parameters than the defaults nbval runs. Each
``*_values`` function returns ``{key: (value, text)}`` for
:meth:`compendium.artefacts.RunOutputs.record`, the paper's ``{{key}}``
placeholders.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from .. import analysis
from ..dataset import Dataset
from ..dataset.design import THEMES, design_summary
from ..displays import figures, narrative, tables

Values = dict[str, tuple[Any, str | None]]

#: Columns of a conceptually clustered matrix (analysis.clustered_matrix).
MATRIX_COLUMNS = ["code_id", "name", "perspective", "n_interviewees", "group_size",
                  "quote_segment_id", "quote_participant_id", "quote_text"]


def _check_perspective(perspective: str | None) -> None:
    if perspective not in (None, "entrepreneur", "intermediary"):
        raise ValueError(f"unknown perspective {perspective!r}; use None, 'entrepreneur' or "
                         "'intermediary'")


def _check_theme(theme: str) -> None:
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; the study's themes are {list(THEMES)}")


# --------------------------------------------------------------------------
# 01: the sample and the codebook


def design_values(ds: Dataset) -> Values:
    """The design's labels and nouns, and how each theme is filled, for the paper's text."""
    design = ds.design
    out: Values = {}
    for key in ("entrepreneur", "intermediary"):
        out[f"design.{key}.label"] = (design.label(key), None)
        out[f"design.{key}.noun"] = (design.noun(key), None)
    out["design.sentence"] = (narrative.design_sentence(design), None)
    # The paper keeps its interpretation of the study's codes for the study's own design.
    out["design.study"] = (design.study, None)
    summary = design_summary(ds.raw_codebook, ds.all_codings, design)
    for row in summary.itertuples(index=False):
        out[f"theme.{row.theme}.label"] = (row.label, None)
        out[f"theme.{row.theme}.n_codes"] = (int(row.n_codes), None)
    n_codes = int((ds.codebook["level"] == "code").sum())
    out["design.unmapped"] = (narrative.unmapped_sentence(ds.unmapped, n_codes,
                                                          design.declared), None)
    out["design.n_unmapped"] = (len(ds.unmapped), None)
    return out


def profile_caption(ds: Dataset) -> str:
    """The profile table's caption, saying which of the study's columns the dataset lacks."""
    note = narrative.short_label_note(_perspectives_only(ds))
    caption = ("Interviewees by perspective, with organisation type, role in the cluster "
               "meetings, interview length and number of coded segments.")
    if not tables.has_organisation_type(ds.participants):
        caption = ("Interviewees by perspective, with the number of coded segments and any "
                   "other attributes recorded; this dataset records no organisation type, so "
                   "that column of the study's profile is left out.")
    return f"{caption} {note}".strip()


def _perspectives_only(ds: Dataset):
    """The design with its themes' short labels dropped: for displays that show no theme."""
    from dataclasses import replace

    themes = {key: replace(theme, short_label="") for key, theme in ds.design.themes.items()}
    return replace(ds.design, themes=themes)


def sample_values(ds: Dataset, coder: str) -> Values:
    """Counts of the sample and of the coding that the method section quotes."""
    participants = ds.participants
    counts = participants["perspective"].value_counts()
    coded = ds.codings[ds.codings["coder"] == coder]
    n = len(participants)
    n_segments = int(coded["segment_id"].nunique())
    out: Values = {
        "sample.n_interviews": (n, narrative.number_word(n)),
        "sample.n_interviews_digits": (n, None),
        "sample.n_entrepreneurs": (int(counts.get("entrepreneur", 0)), None),
        "sample.n_intermediaries": (int(counts.get("intermediary", 0)), None),
        "sample.intermediary_organisations": (narrative.organisation_phrase(participants), None),
        "sample.sentence": (narrative.sample_sentence(participants, ds.design), None),
        "sample.n_segments": (n_segments, None),
        "sample.n_codings": (len(coded), None),
        "sample.segments_per_interview": (n_segments / n if n else 0.0,
                                          f"{n_segments / n:.1f}" if n else "0"),
        "sample.primary_coder": (coder, None),
        "sample.n_coders": (len(ds.coders), None),
    }
    minutes = participants.get("interview_minutes")
    if minutes is not None and minutes.notna().any():
        out["sample.minutes_mean"] = (float(minutes.mean()), f"{minutes.mean():.0f}")
        out["sample.minutes_range"] = (f"{int(minutes.min())} to {int(minutes.max())}", None)
    else:
        out["sample.minutes_mean"] = (float("nan"), "not recorded")
        out["sample.minutes_range"] = ("not recorded", None)
    return out


def structure_figure(ds: Dataset, structure: pd.DataFrame):
    """The data-structure figure, with codes folded into their sub-themes when there are many."""
    return figures.data_structure_figure(analysis.collapse_codes(structure), ds.synthetic)


def structure_caption(structure: pd.DataFrame) -> str:
    """The data-structure caption, saying whether codes are drawn one by one or folded."""
    if len(analysis.collapse_codes(structure)) == len(structure):
        return ("Data structure: codes (with the number of coded segments in brackets) grouped "
                "into sub-themes and the study's three themes.")
    return (f"Data structure: the {len(structure):,} codes, counted in each sub-theme (with "
            "their codings in brackets), grouped into sub-themes and the study's three themes; "
            "the codebook in Appendix A lists every code.")


def codebook_values(ds: Dataset, structure: pd.DataFrame, coder: str) -> Values:
    """Sizes of the codebook the analysis uses, as the method section quotes them."""
    levels = ds.codebook["level"]
    coded = ds.codings[ds.codings["coder"] == coder]
    n_themes = int(structure["theme_id"].nunique())
    return {
        "codebook.n_codes": (int((levels == "code").sum()), None),
        "codebook.n_codes_used": (int(coded["code_id"].nunique()), None),
        "codebook.n_subthemes": (int((levels == "subtheme").sum()), None),
        "codebook.n_themes": (n_themes, narrative.number_word(n_themes)),
    }


# --------------------------------------------------------------------------
# 02: one theme's conceptually clustered matrix


def theme_matrix(ds: Dataset, theme: str, coder: str, min_interviewees: int = 1,
                 perspective: str | None = None) -> pd.DataFrame:
    """The theme's clustered matrix; empty (with its columns) when the theme has no codes.

    ``perspective`` keeps one side only; ``min_interviewees`` leaves out codes
    raised by fewer interviewees (both sides together).
    """
    _check_theme(theme)
    _check_perspective(perspective)
    if theme not in set(ds.codebook["theme"]):
        return pd.DataFrame(columns=MATRIX_COLUMNS)
    matrix = analysis.clustered_matrix(ds.codings, ds.segments, ds.participants, ds.codebook,
                                       theme=theme, coder=coder,
                                       min_interviewees=min_interviewees)
    if perspective is not None:
        matrix = matrix[matrix["perspective"] == perspective].reset_index(drop=True)
    return matrix


def theme_figure(ds: Dataset, matrix: pd.DataFrame, theme: str):
    """The theme's bar chart, or a figure saying why there is none."""
    if matrix.empty:
        return figures.message_figure(f"No codes of this dataset are placed under the theme "
                                      f"‘{ds.design.theme_label(theme)}’.", ds.synthetic)
    return figures.theme_bars(matrix, ds.synthetic, design=ds.design)


def theme_captions(ds: Dataset, theme: str) -> tuple[str, str]:
    """Captions of the theme's matrix table and bar chart, naming the theme by its label."""
    label = ds.design.theme_label(theme)
    note = narrative.short_label_note(_perspectives_only(ds))
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


# --------------------------------------------------------------------------
# 03: the dual perspective


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


def theme_names(ds: Dataset) -> dict[str, str]:
    """Theme id -> display label for the themes of the analysis codebook."""
    themes = ds.codebook[ds.codebook["level"] == "theme"]
    return themes.set_index("code_id")["name"].to_dict()


def comparison_captions(ds: Dataset, unit: str) -> tuple[str, str]:
    """Captions of the comparison figure and table, naming the perspectives by their nouns."""
    first, second = ds.design.noun("entrepreneur"), ds.design.noun("intermediary")
    share = (f"Share of {first} and of {second} who raised each code" if unit == "interviewee"
             else f"Share of the segments from {first} and from {second} that carry each code")
    return (f"{share}, with 95% Wilson intervals; codes grouped by theme.",
            f"Codes by perspective: counts and shares raising each code, the gap in percentage "
            f"points ({first} minus {second}) and a two-sided Fisher exact test, reported as "
            f"descriptive. {narrative.short_label_note(ds.design)}".strip())


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


# --------------------------------------------------------------------------
# 04: framework matrix and co-occurrence


def restrict(ds: Dataset, perspective: str | None = None
             ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """Participants, segments and codings of one perspective (``None``: everyone)."""
    _check_perspective(perspective)
    participants = ds.participants
    if perspective is not None:
        participants = participants[participants["perspective"] == perspective]
    segments = ds.segments[ds.segments["participant_id"].isin(set(participants["participant_id"]))]
    codings = ds.codings[ds.codings["segment_id"].isin(set(segments["segment_id"]))]
    return participants, segments, codings


def code_names(ds: Dataset) -> dict[str, str]:
    """Code id -> name for the code-level entries the analysis uses."""
    codes = ds.codebook[ds.codebook["level"] == "code"]
    return codes.set_index("code_id")["name"].to_dict()


def framework_figure(ds: Dataset, framework: pd.DataFrame):
    """The framework heatmap, or a figure saying there is nothing to chart."""
    if framework.shape[1] <= 1:
        return figures.message_figure("No codes of this dataset are placed under the study's "
                                      "themes.", ds.synthetic)
    codes = ds.codebook[ds.codebook["level"] == "code"]
    return figures.framework_heatmap(framework, code_names(ds),
                                     codes.set_index("code_id")["theme"].to_dict(), ds.synthetic)


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
                        column_theme: str):
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


def cooccurrence_caption(ds: Dataset, unit: str, row_theme: str, column_theme: str) -> str:
    """Caption of the co-occurrence heatmap, naming the two themes by their labels."""
    units = unit_label(unit)
    return (f"Co-occurrence of the codes of ‘{ds.design.theme_label(row_theme)}’ (rows) and of "
            f"‘{ds.design.theme_label(column_theme)}’ (columns) within {units}: colour is the "
            f"Jaccard similarity, numbers are counts of {units} carrying both codes.")


def cooccurrence_values(ds: Dataset, pairs: pd.DataFrame, unit: str) -> Values:
    """The co-occurrence paragraph's numbers and its generated sentence."""
    return {
        "cooccurrence.unit": (unit_label(unit), None),
        "cooccurrence.strongest": (narrative.strongest_pair_sentence(pairs, code_names(ds), unit),
                                   None),
        "cooccurrence.n_pairs": (len(pairs), None),
        "cooccurrence.n_pairs_never": (int((pairs["count"] == 0).sum()), None),
    }


def comparison_figure(ds: Dataset, comparison: pd.DataFrame):
    """The comparison dot plot, or a figure saying there are no codes to compare."""
    if comparison.empty:
        return figures.message_figure("No codes of this dataset are placed under the study's "
                                      "themes, so there is nothing to compare.", ds.synthetic)
    return figures.perspective_dotplot(comparison, ds.synthetic, design=ds.design)
