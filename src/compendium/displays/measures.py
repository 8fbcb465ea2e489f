"""The registry of agreement measures: one entry per measure, read by everything that lists them.

A measure is one analysis module (its compute function, over
:class:`~compendium.analysis.MeasureInputs`) plus one :class:`Measure` entry
here: its id, whether it compares exactly two coders, its compute function,
its printed table's columns and caption, and its sentence. Notebook 06's
steps (:mod:`compendium.steps.agreement`), the choices of ``compendium
agreement --measure``, the printed tables (:func:`tables.measure_display`)
and the tests all iterate over :data:`REGISTRY`; adding a measure is
:func:`register` with a new entry. The registry sits on the displays floor
because an entry words its results (headings, caption, sentence) and so
names :mod:`.narrative`; the computations it names sit on the analysis floor.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .. import analysis
from ..analysis import POOLED, AgreementDataError, MeasureInputs
from . import narrative
from .tables import (
    SEGMENT_COLUMNS,
    Column,
    agreement_display,
    measure_display,
    unitized_agreement_display,
)

#: A paper value: (value, printed text or None).
Value = tuple[Any, str | None]


@dataclass(frozen=True)
class Context:
    """What a measure's caption, sentence and values may say besides its table.

    Parameters
    ----------
    coder, second_coder:
        The coders compared (the second None when nobody else coded).
    double_coded:
        The participants both coded.
    unit:
        The segment measure's unit of analysis.
    threshold:
        The overlap share.
    spans:
        The two coders' spans, when the dataset records positions (the
        segment run says which measure fits them).
    """

    coder: str
    second_coder: str | None
    double_coded: Sequence[str]
    unit: str = "segment"
    threshold: float = analysis.DEFAULT_THRESHOLD
    spans: pd.DataFrame | None = None

    @property
    def who(self) -> str:
        """Who was compared on what, as the captions say it."""
        return (f"between {self.coder} and {self.second_coder or 'a second coder'} on the "
                f"{len(self.double_coded)} double-coded interviews")


def _pooled_row(table: pd.DataFrame | None) -> pd.Series | None:
    return None if table is None else table.iloc[-1]


@dataclass(frozen=True)
class Measure:
    """One agreement measure: how it is computed, printed and described.

    Parameters
    ----------
    id:
        The measure's name (``--measure``, notebook 06's ``measure``, the
        ``agreement.<id>.`` prefix of its paper values).
    pairwise:
        Whether it compares exactly two coders.
    compute:
        Its table from :class:`MeasureInputs`: one row per code, the pooled
        row(s) (``code_id`` :data:`analysis.POOLED`) last.
    columns:
        The printed table's columns (headings, cells, widths).
    caption:
        The table's caption; ``{who}``, ``{unit}`` and ``{threshold}`` are
        filled from the :class:`Context`.
    sentence:
        The pooled result in words, from the table (None when it could not be
        computed) and the :class:`Context`.
    help:
        One line for the command's help.
    needs_spans:
        Whether it needs each span's position (start/end), as text-based
        measures do.
    table_id:
        Artefact id of its table (default ``tbl-agreement-<id>``).
    display:
        Its printed table when it is not one row per code and column
        (default: :func:`tables.measure_display` over ``columns``).
    values:
        Its paper values (default: ``agreement.<id>.sentence``).
    empty:
        The table shown when nothing could be compared (default: none, and
        the display is the headings alone).
    """

    id: str
    pairwise: bool
    compute: Callable[[MeasureInputs], pd.DataFrame]
    columns: tuple[Column, ...]
    caption: str
    sentence: Callable[[pd.DataFrame | None, Context], str]
    help: str
    needs_spans: bool = True
    table_id: str = ""
    display: Callable[[pd.DataFrame, pd.DataFrame], pd.DataFrame] | None = None
    values: Callable[[Measure, pd.DataFrame | None, Context], dict[str, Value]] | None = None
    empty: Callable[[], pd.DataFrame] | None = None

    @property
    def artefact_id(self) -> str:
        """The id its table is saved under."""
        return self.table_id or f"tbl-agreement-{self.id}"

    @property
    def widths(self) -> list[float]:
        """The printed table's relative column widths."""
        return [c.width for c in self.columns]

    def shown(self, table: pd.DataFrame | None, codebook: pd.DataFrame) -> pd.DataFrame:
        """The printed table; the headings alone when there is nothing to show."""
        if table is None and self.empty is not None:
            table = self.empty()
        if table is None:
            return pd.DataFrame(columns=[c.heading for c in self.columns])
        if self.display is not None:
            return self.display(table, codebook)
        return measure_display(table, codebook, self.columns)

    def paper_values(self, table: pd.DataFrame | None, context: Context) -> dict[str, Value]:
        """The values the paper may quote from this measure's run."""
        if table is None and self.empty is not None:
            table = self.empty()
        if self.values is not None:
            return self.values(self, table, context)
        return {f"agreement.{self.id}.sentence": (self.sentence(table, context), None)}


#: Every measure, by id, in the order the command and the paper list them.
REGISTRY: dict[str, Measure] = {}


def register(measure: Measure) -> Measure:
    """Add ``measure`` to :data:`REGISTRY` (an id may be registered once)."""
    if measure.id in REGISTRY:
        raise ValueError(f"agreement measure {measure.id!r} is already registered")
    REGISTRY[measure.id] = measure
    return measure


def get(measure: str) -> Measure:
    """The registered measure named ``measure``; :class:`AgreementDataError` naming the others."""
    if measure not in REGISTRY:
        raise AgreementDataError(f"unknown measure {measure!r}; use one of "
                                 + ", ".join(REGISTRY))
    return REGISTRY[measure]


def agreement_by_measure(segments: pd.DataFrame, codings: pd.DataFrame, measure: str,
                         coders: Iterable[str] | None = None,
                         threshold: float = analysis.DEFAULT_THRESHOLD,
                         transcripts: Mapping[str, str] | None = None,
                         codebook: pd.DataFrame | None = None,
                         unit: str = "segment") -> pd.DataFrame:
    """The per-code and pooled agreement table of one registered measure.

    Parameters
    ----------
    segments, codings:
        The canonical tables.
    measure:
        A measure's id in :data:`REGISTRY`.
    coders:
        The coders compared (None: all; a pairwise measure needs two).
    threshold:
        The overlap share for ``overlap`` (default 0.9).
    transcripts:
        Transcript texts by source: text-based measures then count each
        source's uncoded tail (default: each source ends at its last span).
    codebook:
        For ``segment``: list every code-level code of the codebook.
    unit:
        For ``segment``: "segment" or "interviewee".

    Returns
    -------
    The measure's table (its compute function's).
    """
    entry = get(measure)
    inputs = analysis.measure_inputs(segments, codings, entry.pairwise, coders,
                                     threshold=threshold, transcripts=transcripts,
                                     codebook=codebook, unit=unit)
    return entry.compute(inputs)


# --------------------------------------------------------------------------
# The four measures the paper reports.

def _empty_segment_table() -> pd.DataFrame:
    return analysis.agreement_table(pd.DataFrame({"unit_id": [], "code_id": [], "a": [],
                                                  "b": []}))


def _segment_values(measure: Measure, table: pd.DataFrame | None,
                    context: Context) -> dict[str, Value]:
    if table is None:  # not reached: the segment measure has an empty table
        table = _empty_segment_table()
    overall = table[table["code_id"] == POOLED].iloc[0]
    per_code = table[table["code_id"] != POOLED]
    defined = per_code["cohen_kappa"].dropna()
    spans, second = context.spans, context.second_coder
    choice = analysis.choose_measure(spans, [context.coder, second]) \
        if spans is not None and len(spans) and second is not None else None
    n_double = len(context.double_coded)
    return {
        "agreement.coder_a": (context.coder, None),
        "agreement.coder_b": (context.second_coder or "none", None),
        "agreement.n_double_coded": (n_double, narrative.number_word(n_double)),
        "agreement.double_coded_ids": (narrative.join_and(list(context.double_coded)), None),
        "agreement.unit": (context.unit, None),
        "agreement.sentence": (measure.sentence(table, context), None),
        "agreement.percent": (float(overall["percent_agreement"]),
                              narrative.statistic_text(overall["percent_agreement"], "{:.1f}%")),
        "agreement.kappa": (float(overall["cohen_kappa"]),
                            narrative.statistic_text(overall["cohen_kappa"], "{:.2f}")),
        "agreement.alpha": (float(overall["krippendorff_alpha"]),
                            narrative.statistic_text(overall["krippendorff_alpha"], "{:.2f}")),
        "agreement.n_codes_kappa_defined": (len(defined), None),
        "agreement.n_codes_kappa_below_06": (int((defined < 0.6).sum()), None),
        "agreement.kappa_range": (f"{defined.min():.2f} to {defined.max():.2f}"
                                  if len(defined) else "not defined", None),
        "agreement.measure_used": ((choice or {}).get("measure", "none"), None),
        "agreement.choice_sentence": (narrative.measure_choice_sentence(choice), None),
    }


def _segment_sentence(table: pd.DataFrame | None, context: Context) -> str:
    if table is None or not context.double_coded:
        return ("Inter-coder agreement could not be assessed, because no interview in this "
                f"dataset was coded by a second coder besides {context.coder}")
    return narrative.agreement_sentence(table.iloc[-1], context.unit)


def _headline(key: str, pick: Callable[[pd.DataFrame], float], template: str
              ) -> Callable[[Measure, pd.DataFrame | None, Context], dict[str, Value]]:
    """Values of a measure that quotes one pooled statistic beside its sentence."""
    def values(measure: Measure, table: pd.DataFrame | None,
               context: Context) -> dict[str, Value]:
        value = float("nan") if table is None else pick(table)
        return {f"agreement.{measure.id}.{key}": (value, narrative.statistic_text(value,
                                                                                  template)),
                f"agreement.{measure.id}.sentence": (measure.sentence(table, context), None)}
    return values


def _pooled_unitized_alpha(table: pd.DataFrame) -> float:
    pooled = table[(table["code_id"] == POOLED) & (table["coefficient"] == "u_alpha_c")]
    return float(pooled["value"].iloc[0])


def _overlap_values(measure: Measure, table: pd.DataFrame | None,
                    context: Context) -> dict[str, Value]:
    return {f"agreement.{measure.id}.threshold": (context.threshold, f"{context.threshold:.0%}"),
            f"agreement.{measure.id}.sentence": (measure.sentence(table, context), None)}


register(Measure(
    id="segment", pairwise=True, compute=analysis.segment_measure, columns=SEGMENT_COLUMNS,
    caption="Agreement {who}, per code and overall; the unit of analysis is the {unit} and "
            "each decision is whether a code was applied to it.",
    sentence=_segment_sentence, help="kappa/alpha on shared segments", needs_spans=False,
    # Its table keeps the analysis's order of codes (the coding widget shows it too).
    table_id="tbl-agreement", display=agreement_display, values=_segment_values,
    empty=_empty_segment_table))

register(Measure(
    id="character", pairwise=True, compute=analysis.character_measure,
    columns=(Column("Code", "code_id", "name", 2.6),
             Column("Characters", "n_chars", "int", 1.3),
             Column("Both", "both", "int", 0.8),
             Column("Only A", "only_a", "int", 0.9),
             Column("Only B", "only_b", "int", 0.9),
             Column("Agreement %", "percent_agreement", "percent", 1.4),
             Column("Cohen's κ", "cohen_kappa", "coefficient", 0.9)),
    caption="Character-level agreement {who}, per code and pooled: each character of each "
            "transcript both coders coded is a unit, coded with the code or not.",
    sentence=lambda table, _: narrative.character_sentence(_pooled_row(table)),
    help="NVivo-style per-character kappa",
    values=_headline("kappa", lambda table: float(table.iloc[-1]["cohen_kappa"]), "{:.2f}")))

register(Measure(
    id="unitized", pairwise=False, compute=analysis.unitized_measure,
    # The printed table is one row per code and pooled coefficient (its display).
    columns=(Column("Code", "code_id", "name", 2.8),
             Column("Units", "n_units", "int", 0.7),
             Column("Coded characters", "coded_chars", "int", 1.3),
             Column("uα_c (2004)", "u_alpha_c", "coefficient", 1.0),
             Column("|uα (2016)", "|u_alpha", "coefficient", 1.0)),
    caption="Krippendorff's unitized alpha {who}: each code against the rest of the text "
            "(uα_c, Krippendorff 2004; |uα, Krippendorff et al. 2016), then pooled.",
    sentence=lambda table, _: narrative.unitized_sentence(table),
    help="Krippendorff's unitized alpha", display=unitized_agreement_display,
    values=_headline("alpha", _pooled_unitized_alpha, "{:.2f}")))

register(Measure(
    id="overlap", pairwise=True, compute=analysis.overlap_measure,
    columns=(Column("Code", "code_id", "name", 2.6),
             Column("Segments A", "segments_a", "int", 0.8),
             Column("Segments B", "segments_b", "int", 0.8),
             Column("Matched A", "agree_a", "int", 0.8),
             Column("Matched B", "agree_b", "int", 0.8),
             Column("Agreement %", "percent_agreement", "percent", 0.9),
             Column("Brennan–Prediger κ", "bp_kappa", "coefficient_or_blank", 1.0)),
    caption="Segment overlap {who}: a segment agrees when the other coder has a segment with "
            "the same code overlapping it by at least {threshold:.0%}.",
    sentence=lambda table, context: narrative.overlap_sentence(_pooled_row(table),
                                                               context.threshold),
    help="MAXQDA-style segment overlap", values=_overlap_values))
