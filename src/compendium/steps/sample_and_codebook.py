"""Notebook 01 (``01-sample-and-codebook.ipynb``): the sample, the design and the codebook.

A notebook only calls, shows and saves: every choice it makes (which columns
the profile shows, how the data structure is drawn for a large codebook,
which numbers the method section quotes and how they are worded) is made
here, where it is tested with other datasets and parameters than the
defaults nbval runs. Each ``*_values`` function returns
:data:`compendium.steps.common.Values` for ``RunOutputs.record``.
"""

from __future__ import annotations

import pandas as pd
from matplotlib.figure import Figure

from .. import analysis
from ..dataset import Dataset
from ..dataset.design import design_summary
from ..displays import figures, narrative, tables
from .common import Values, perspectives_only
from .notebook import start_run as start_run

#: Relative column widths of the printed profile table, by header.
PROFILE_WIDTHS = {"Interviewee": 1.1, "Perspective": 1.3, "Organisation": 1.1,
                  "Role in cluster": 2.2, "Minutes": 0.9, "Mode": 1.2}
#: Relative column widths of the printed codebook: theme, sub-theme, code, definition.
CODEBOOK_WIDTHS = [1.3, 1.5, 2.0, 4.0]
CODEBOOK_CAPTION = "Codebook: themes, sub-themes and codes with their definitions."


def profile_table(ds: Dataset, coder: str) -> pd.DataFrame:
    """The interviewees' profile, headed with the design's labels."""
    return tables.profile_table(ds.participants, ds.segments, ds.codings, coder, ds.design)


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
    note = narrative.short_label_note(perspectives_only(ds))
    caption = ("Interviewees by perspective, with organisation type, role in the cluster "
               "meetings, interview length and number of coded segments.")
    if not tables.has_organisation_type(ds.participants):
        caption = ("Interviewees by perspective, with the number of coded segments and any "
                   "other attributes recorded; this dataset records no organisation type, so "
                   "that column of the study's profile is left out.")
    return f"{caption} {note}".strip()


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


def data_structure(ds: Dataset, coder: str) -> pd.DataFrame:
    """The data structure (codes -> sub-themes -> themes) with ``coder``'s segment counts."""
    return analysis.data_structure(ds.codebook, ds.codings, coder=coder)


def structure_figure(ds: Dataset, structure: pd.DataFrame) -> Figure:
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


def codebook_table(ds: Dataset, structure: pd.DataFrame) -> pd.DataFrame:
    """The codebook as the paper's appendix prints it, in the data structure's order."""
    return tables.codebook_display(structure, ds.codebook)


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
