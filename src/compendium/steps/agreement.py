"""Everything notebook 06 shows and saves about inter-coder agreement, for one measure.

The notebook only calls :func:`agreement_run` and saves what it returns; the
decisions (which second coder, whether agreement can be assessed, which
measure fits the data, how each family is displayed and described) are made
here and in the modules it calls, where they are tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .. import analysis
from ..dataset import Dataset
from ..displays import narrative, tables

#: Artefact id of each measure's table (the segment table keeps its old id).
TABLE_IDS = {"segment": "tbl-agreement", "character": "tbl-agreement-character",
             "unitized": "tbl-agreement-unitized", "overlap": "tbl-agreement-overlap"}
EMPTY_COLUMNS = {
    "character": ["Code", "Characters", "Both", "Only A", "Only B", "Agreement %", "Cohen's κ"],
    "unitized": ["Code", "Units", "Coded characters", "uα_c (2004)", "|uα (2016)"],
    "overlap": ["Code", "Segments A", "Segments B", "Matched A", "Matched B", "Agreement %",
                "Brennan–Prediger κ"],
}
WIDTHS = {"segment": [2.6, 0.7, 0.6, 0.9, 0.9, 0.9, 1.4, 0.9, 1.4],
          "character": [2.6, 1.3, 0.8, 0.9, 0.9, 1.4, 0.9],
          "unitized": [2.8, 0.7, 1.3, 1.0, 1.0],
          "overlap": [2.6, 0.8, 0.8, 0.8, 0.8, 0.9, 1.0]}


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
        One of :data:`analysis.MEASURES`.
    unit:
        Unit of analysis for the segment measure ("segment" or "interviewee").
    threshold:
        Overlap share for the overlap measure.

    Returns
    -------
    AgreementRun; ``values`` maps each paper value key to (value, printed
    text or None). The segment run also records which measure fits the data.
    """
    if measure not in analysis.MEASURES:
        raise analysis.AgreementDataError(f"unknown measure {measure!r}; use one of "
                                          + ", ".join(analysis.MEASURES))
    second, double = analysis.second_coder_for(ds.codings, ds.segments, coder, second_coder)
    table = None
    lengths = None
    spans = None
    if second is not None and double:  # double-coded participants imply a second coder
        spans = analysis.coder_spans(ds.segments, ds.codings, [coder, second]) \
            if _has_offsets(ds.segments) else None
        if spans is not None and ds.transcripts:
            lengths = analysis.source_lengths(spans, ds.transcripts)
        if measure == "segment" or spans is not None:
            table = analysis.agreement_by_measure(
                ds.segments, ds.codings, measure, coders=[coder, second], threshold=threshold,
                lengths=lengths, codebook=ds.codebook if measure == "segment" else None,
                unit=unit)
    display = _display(measure, table, ds.codebook)
    run = AgreementRun(measure, coder, second, double, table, display, TABLE_IDS[measure],
                       _caption(measure, coder, second, double, unit, threshold),
                       WIDTHS[measure], _message(measure, coder, second, double, table))
    run.values = _values(run, spans, unit, threshold)
    return run


def _has_offsets(segments: pd.DataFrame) -> bool:
    return {"start", "end"} <= set(segments.columns) and bool(
        segments["start"].notna().any())


def _display(measure: str, table: pd.DataFrame | None, codebook: pd.DataFrame) -> pd.DataFrame:
    if measure == "segment":
        if table is None:
            table = analysis.agreement_table(pd.DataFrame({"unit_id": [], "code_id": [],
                                                           "a": [], "b": []}))
        return tables.agreement_display(table, codebook)
    if table is None:
        # Nothing to compare: an empty table with the measure's own columns.
        return pd.DataFrame(columns=EMPTY_COLUMNS[measure])
    if measure == "character":
        return tables.character_agreement_display(table, codebook)
    if measure == "unitized":
        return tables.unitized_agreement_display(table, codebook)
    return tables.overlap_agreement_display(table, codebook)


def _caption(measure: str, coder: str, second: str | None, double: list[str], unit: str,
             threshold: float) -> str:
    who = (f"between {coder} and {second or 'a second coder'} on the {len(double)} "
           "double-coded interviews")
    return {
        "segment": f"Agreement {who}, per code and overall; the unit of analysis is the {unit} "
                   "and each decision is whether a code was applied to it.",
        "character": f"Character-level agreement {who}, per code and pooled: each character "
                     "of each transcript both coders coded is a unit, coded with the code or not.",
        "unitized": f"Krippendorff's unitized alpha {who}: each code against the rest of the "
                    "text (uα_c, Krippendorff 2004; |uα, Krippendorff et al. 2016), then pooled.",
        "overlap": f"Segment overlap {who}: a segment agrees when the other coder has a "
                   f"segment with the same code overlapping it by at least {threshold:.0%}.",
    }[measure]


def _message(measure: str, coder: str, second: str | None, double: list[str],
             table: pd.DataFrame | None) -> str:
    if not double:
        return (f"Agreement cannot be assessed: no interview was coded both by {coder} and by "
                "another coder.")
    if table is None:
        return (f"Coders {coder} and {second}; the {measure} measure needs the position of "
                "every span (start/end), which this dataset does not record.")
    return f"Coders {coder} and {second}; double-coded interviews: {', '.join(double)}"


def _values(run: AgreementRun, spans: pd.DataFrame | None, unit: str,
            threshold: float) -> dict[str, tuple[Any, str | None]]:
    table, measure = run.table, run.measure
    if measure == "segment":
        if table is None:
            table = analysis.agreement_table(pd.DataFrame({"unit_id": [], "code_id": [],
                                                           "a": [], "b": []}))
        overall = table[table["code_id"] == "overall"].iloc[0]
        per_code = table[table["code_id"] != "overall"]
        defined = per_code["cohen_kappa"].dropna()
        choice = analysis.choose_measure(spans, [run.coder, run.second_coder]) \
            if spans is not None and len(spans) and run.second_coder is not None else None
        sentence = (narrative.agreement_sentence(overall, unit) if run.double_coded else
                    "Inter-coder agreement could not be assessed, because no interview in this "
                    f"dataset was coded by a second coder besides {run.coder}")
        return {
            "agreement.coder_a": (run.coder, None),
            "agreement.coder_b": (run.second_coder or "none", None),
            "agreement.n_double_coded": (len(run.double_coded),
                                         narrative.number_word(len(run.double_coded))),
            "agreement.double_coded_ids": (narrative.join_and(list(run.double_coded)), None),
            "agreement.unit": (unit, None),
            "agreement.sentence": (sentence, None),
            "agreement.percent": (float(overall["percent_agreement"]),
                                  narrative.statistic_text(overall["percent_agreement"],
                                                           "{:.1f}%")),
            "agreement.kappa": (float(overall["cohen_kappa"]),
                                narrative.statistic_text(overall["cohen_kappa"], "{:.2f}")),
            "agreement.alpha": (float(overall["krippendorff_alpha"]),
                                narrative.statistic_text(overall["krippendorff_alpha"],
                                                         "{:.2f}")),
            "agreement.n_codes_kappa_defined": (len(defined), None),
            "agreement.n_codes_kappa_below_06": (int((defined < 0.6).sum()), None),
            "agreement.kappa_range": (f"{defined.min():.2f} to {defined.max():.2f}"
                                      if len(defined) else "not defined", None),
            "agreement.measure_used": ((choice or {}).get("measure", "none"), None),
            "agreement.choice_sentence": (narrative.measure_choice_sentence(choice), None),
        }
    prefix = f"agreement.{measure}"
    if measure == "character":
        overall = None if table is None else table.iloc[-1]
        kappa = float("nan") if overall is None else float(overall["cohen_kappa"])
        return {f"{prefix}.kappa": (kappa, narrative.statistic_text(kappa, "{:.2f}")),
                f"{prefix}.sentence": (narrative.character_sentence(overall), None)}
    if measure == "unitized":
        pooled = float("nan")
        if table is not None:
            pooled = float(table[(table["code_id"] == "all codes")
                                 & (table["coefficient"] == "u_alpha_c")]["value"].iloc[0])
        return {f"{prefix}.alpha": (pooled, narrative.statistic_text(pooled, "{:.2f}")),
                f"{prefix}.sentence": (narrative.unitized_sentence(table), None)}
    overall = None if table is None else table.iloc[-1]
    return {f"{prefix}.threshold": (threshold, f"{threshold:.0%}"),
            f"{prefix}.sentence": (narrative.overlap_sentence(overall, threshold), None)}
