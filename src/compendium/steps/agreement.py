"""Everything notebook 06 shows and saves about inter-coder agreement, for one measure.

The notebook imports this module alone: it calls :func:`start_run` and
:func:`agreement_run` and saves what they return. The decisions (which
second coder, whether agreement can be assessed, which measure fits the
data) are made here; how each measure is computed, displayed and described
is its entry in the registry of measures (:mod:`compendium.displays.measures`),
so nothing here names a measure but the segment default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import analysis
from ..dataset import Dataset
from ..displays import measures
from .notebook import start_run

__all__ = ["AgreementRun", "agreement_run", "start_run"]

@dataclass
class AgreementRun:
    """What one run of notebook 06 displays and saves."""

    measure: str
    coder: str
    second_coder: str | None
    double_coded: list[str]
    table: pd.DataFrame | None
    display: pd.DataFrame
    table_id: str
    caption: str
    widths: list[float]
    message: str
    values: dict[str, tuple[Any, str | None]] = field(default_factory=dict)


def agreement_run(ds: Dataset, coder: str, second_coder: str | None = None,
                  measure: str = "segment", unit: str = "segment",
                  threshold: float = analysis.DEFAULT_THRESHOLD) -> AgreementRun:
    """Compute one agreement measure for notebook 06: table, display, caption, values.

    Parameters
    ----------
    ds:
        The loaded dataset.
    coder, second_coder:
        The first coder, and the second (None: the other coder with the most
        double coding, see :func:`analysis.second_coder_for`).
    measure:
        A measure's id in :data:`measures.REGISTRY`.
    unit:
        Unit of analysis for the segment measure ("segment" or "interviewee").
    threshold:
        Overlap share for the overlap measure.

    Returns
    -------
    AgreementRun; ``values`` maps each paper value key to (value, printed
    text or None). The segment run also records which measure fits the data.
    """
    entry = measures.get(measure)
    second, double = analysis.second_coder_for(ds.codings, ds.segments, coder, second_coder)
    table = None
    spans = None
    if double and second is not None:
        spans = analysis.coder_spans(ds.segments, ds.codings, [coder, second]) \
            if _has_offsets(ds.segments) else None
        if not entry.needs_spans or spans is not None:
            table = measures.agreement_by_measure(
                ds.segments, ds.codings, measure, coders=[coder, second], threshold=threshold,
                transcripts=ds.transcripts, codebook=ds.codebook, unit=unit)
    context = measures.Context(coder, second, double, unit, threshold, spans)
    run = AgreementRun(measure, coder, second, double, table,
                       entry.shown(table, ds.codebook), entry.artefact_id,
                       entry.caption.format(who=context.who, unit=unit, threshold=threshold),
                       entry.widths, _message(measure, coder, second, double, table))
    run.values = entry.paper_values(table, context)
    return run


def _has_offsets(segments: pd.DataFrame) -> bool:
    return {"start", "end"} <= set(segments.columns) and bool(
        segments["start"].notna().any())


def _message(measure: str, coder: str, second: str | None, double: list[str],
             table: pd.DataFrame | None) -> str:
    if not double:
        return (f"Agreement cannot be assessed: no interview was coded both by {coder} and by "
                "another coder.")
    if table is None:
        return (f"Coders {coder} and {second}; the {measure} measure needs the position of "
                "every span (start/end), which this dataset does not record.")
    return f"Coders {coder} and {second}; double-coded interviews: {', '.join(double)}"
