"""Notebook 08 (``08-class-agreement.ipynb``): a class's agreement on the coding exercise.

What the notebook decides: the exercise the class coded (as notebook 7 shows
it), whose files are pooled and whether they may be (a class folder made for
another dataset is not read), the agreement table and heatmap, the class's
own passages and their coverage, the captions, and the values the paper
quotes. The class view itself lives in :mod:`compendium.classroom.class_view`
and span mode in :mod:`compendium.classroom.spans`; the names the notebook
calls are re-exported here so that it imports this module only.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from matplotlib.figure import Figure

from ..classroom.class_view import ClassView, class_summary, coded_another_dataset, pairwise_kappa
from ..classroom.class_view import class_agreement as class_agreement
from ..classroom.class_view import class_view as class_view
from ..classroom.class_view import contested_pairs as contested_pairs
from ..classroom.class_view import student_vs_coder as student_vs_coder
from ..classroom.exercise import Segment, ThemeCodes
from ..classroom.exercise import codebook_by_theme as codebook_by_theme
from ..classroom.exercise import segment_positions as segment_positions
from ..classroom.exercise import segments_to_code as segments_to_code
from ..classroom.files import class_metadata as class_metadata
from ..classroom.spans import ClassSpans, class_coverage, load_class_spans, transcript_to_code
from ..classroom.spans import class_span_agreement as class_span_agreement
from ..classroom.synthetic_class import class_banner as class_banner
from ..classroom.synthetic_class import is_synthetic
from ..dataset import Dataset
from ..displays import figures, tables
from .common import Values
from .notebook import start_run as start_run

#: Caption of the heatmap of Cohen's kappa between every two students.
HEATMAP_CAPTION = ("Cohen's kappa between every two students of the class over all their "
                   "segment x code decisions.")
#: Caption of the coverage figure of span mode.
COVERAGE_CAPTION = "How many students marked each character of the interview in span mode."
#: Relative column widths of the printed agreement table, by header.
AGREEMENT_WIDTHS = {"Code": 2.6}


def agreement_table(ds: Dataset, agreement: pd.DataFrame) -> pd.DataFrame:
    """The class's agreement per code (codebook order) and pooled, as the paper prints it."""
    return tables.class_agreement_display(agreement, ds.codebook)


def agreement_caption(view: ClassView) -> str:
    """The agreement table's caption: how many students, on how many segments."""
    return (f"Agreement of {len(view.students)} students on {len(view.segments)} segments: "
            "Fleiss' kappa and Krippendorff's alpha per code and pooled.")


def class_values(ds: Dataset, view: ClassView, agreement: pd.DataFrame,
                 class_info: dict) -> Values:
    """Whether the class could be pooled, and the paper's sentence on what it gave."""
    return {
        "class.pooled": (not view.reason and len(view.students) >= 2, None),
        "class.sentence": (class_summary(view, agreement, is_synthetic(ds, class_info)), None),
    }


def agreement_heatmap(ds: Dataset, view: ClassView, class_info: dict) -> Figure:
    """Cohen's kappa between every two students, or a figure saying why there is none."""
    return figures.student_agreement_heatmap(pairwise_kappa(view.decisions),
                                             is_synthetic(ds, class_info),
                                             empty_message=view.reason)


def class_spans(ds: Dataset, class_dir: str | Path, participant: str | None, coder: str,
                themes: list[ThemeCodes], class_info: dict) -> ClassSpans:
    """The class's own passages in the interview, unless the folder coded another dataset."""
    transcript = transcript_to_code(ds, participant, coder)
    return load_class_spans(class_dir, transcript, themes,
                            unless=coded_another_dataset(ds, class_dir, class_info))


def spans_caption(drawn: ClassSpans) -> str:
    """The span agreement table's caption: how many students marked their own passages."""
    return (f"Agreement of {len(drawn.students)} students who marked their own passages: "
            "segment, character and unitized level.")


def coverage_figure(ds: Dataset, drawn: ClassSpans, segments: list[Segment],
                    class_info: dict) -> Figure:
    """How many students marked each character of the interview, the segments drawn under it."""
    return figures.class_coverage_figure(class_coverage(drawn), len(drawn.students),
                                         segment_positions(ds, segments),
                                         is_synthetic(ds, class_info),
                                         empty_message="No student's span file in class_dir.")
