"""Which agreement measure fits the data, and the table each measure gives.

Segment-level kappa and alpha (:mod:`.agreement`) treat each coded segment
as a unit, which is right when the coders coded the same segments (their
spans coincide). When each coder marked their own spans, every boundary
difference would count twice as a disagreement there, so the text-based
measures apply: Krippendorff's unitized alpha and the character-level kappa
of NVivo, with MAXQDA's segment overlap beside them.

Every measure's compute function takes one :class:`MeasureInputs` (checked
by :func:`measure_inputs`) and returns its per-code table whose last rows
are :data:`POOLED`; the registry of measures that names them, with their
columns, captions and sentences, is :mod:`compendium.displays.measures`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd

from ..formatting import POOLED
from .agreement import agreement_counts, agreement_table_from_counts, double_coded_participants
from .character import character_agreement
from .overlap import DEFAULT_THRESHOLD, overlap_agreement
from .spans import (
    AgreementDataError,
    check_coders,
    coder_spans,
    merge_overlapping,
    shared_sources,
    source_lengths,
)
from .unitized import pooled_category_alpha, unitized_multivalued, unitized_per_code


def boundary_differences(spans: pd.DataFrame, coder_a: str, coder_b: str) -> int:
    """Number of spans of either coder that overlap a span of the other without matching it.

    Two spans match when they cover the same source, start and end. A span
    that only one coder marked but that overlaps a span of the other coder
    is a boundary difference; 0 means the coders' spans coincide (the codes
    they gave may still differ). Sources both coders coded only.
    """
    sources = shared_sources(spans, [coder_a, coder_b])
    pos = ["source", "start", "end"]
    pair = spans[spans["source"].isin(sources)]
    a = pair.loc[pair["coder"] == coder_a, pos].drop_duplicates()
    b = pair.loc[pair["coder"] == coder_b, pos].drop_duplicates()
    both = a.merge(b, on=pos, how="inner")
    count = 0
    for mine, theirs in ((a, b), (b, a)):
        only = mine.merge(both, on=pos, how="left", indicator=True)
        only = only[only["_merge"] == "left_only"][pos]
        if not len(only):
            continue
        other = merge_overlapping(theirs.assign(k=0), ["k", "source"])
        # For each span only one coder marked, does an interval of the other
        # coder's (merged, disjoint, sorted) coverage in its source intersect it?
        # Positions lifted by the source's number keep sources apart, so one
        # search over all sources answers it.
        names = pd.Index(sorted(set(only["source"]) | set(other["source"])))
        lift = int(max(only["end"].max(), other["end"].max() if len(other) else 0)) + 1
        cover = names.get_indexer(other["source"]).astype(np.int64) * lift
        cs = cover + other["start"].to_numpy(np.int64)
        ce = cover + other["end"].to_numpy(np.int64)
        mine = names.get_indexer(only["source"]).astype(np.int64) * lift
        first = np.searchsorted(ce, mine + only["start"].to_numpy(np.int64), side="right")
        stop = np.searchsorted(cs, mine + only["end"].to_numpy(np.int64), side="left")
        count += int(np.sum(stop > first))
    return count


def choose_measure(spans: pd.DataFrame, coders: Iterable[str] | None = None) -> dict:
    """The agreement measure that fits two coders' spans, and why.

    When no span of one coder overlaps a span of the other without matching
    it exactly, the coders coded the same segments and segment-level kappa
    and alpha are right. Otherwise each coder marked their own spans, and the
    paper reports Krippendorff's unitized alpha and the character-level kappa,
    with the segment overlap at MAXQDA's threshold beside them.

    Parameters
    ----------
    spans:
        Output of :func:`coder_spans`.
    coders:
        The two coders (default: the first two coders by name).

    Returns
    -------
    dict with ``measure`` ("segment" or "unitized"), ``coincide`` (bool),
    ``boundary_differences`` (int), ``coders`` (the two compared) and
    ``reason`` (a sentence true for any dataset).
    """
    pair = check_coders(spans, coders, exactly=None)[:2] if coders is None else \
        check_coders(spans, coders, exactly=2)
    differences = boundary_differences(spans, pair[0], pair[1])
    if differences == 0:
        return {"measure": "segment", "coincide": True, "boundary_differences": 0,
                "coders": pair,
                "reason": "the two coders' spans coincide (every span one coder marked that "
                          "overlaps the other's is the same stretch of text), so each coded "
                          "segment is a unit both coders judged"}
    return {"measure": "unitized", "coincide": False, "boundary_differences": differences,
            "coders": pair,
            "reason": f"the two coders marked their own spans ({differences:,} "
                      f"{'span overlaps' if differences == 1 else 'spans overlap'} a span of "
                      "the other coder without matching it), and segment-level figures count "
                      "each such boundary difference as two disagreements"}


def second_coder_for(codings: pd.DataFrame, segments: pd.DataFrame, coder: str,
                     second_coder: str | None = None) -> tuple[str | None, list[str]]:
    """The coder to compare ``coder`` with, and the participants both coded.

    When ``second_coder`` is None, the other coder who double-coded the most
    participants with ``coder`` (ties: the first by name); None when nobody
    else coded. Returns (second coder or None, sorted participant ids, empty
    when there is no second coder).
    """
    others = sorted(c for c in pd.unique(codings["coder"]).astype(str) if c != coder)
    if second_coder is None and others:
        overlap = {c: len(double_coded_participants(codings, segments, coder, c)) for c in others}
        second_coder = max(others, key=lambda c: overlap[c])
    if second_coder is None:
        return None, []
    return second_coder, double_coded_participants(codings, segments, coder, second_coder)


@dataclass
class MeasureInputs:
    """What every agreement measure's compute function receives.

    A measure reads the fields it needs: the segment measure the codebook and
    the unit, the text-based ones ``spans`` and ``lengths`` (worked out once,
    on first use, for the coders compared), the overlap measure the threshold.

    Parameters
    ----------
    segments, codings:
        The canonical tables.
    coders:
        The coders compared, already checked (two for a pairwise measure).
    threshold:
        The overlap share (MAXQDA's default 0.9).
    transcripts:
        Transcript texts by source, when the dataset has them: the text-based
        measures then count each source's uncoded tail.
    codebook:
        The codebook whose code-level codes a per-code table lists.
    unit:
        "segment" or "interviewee", for measures that decide per unit.
    """

    segments: pd.DataFrame
    codings: pd.DataFrame
    coders: list[str]
    threshold: float = DEFAULT_THRESHOLD
    transcripts: Mapping[str, str] | None = None
    codebook: pd.DataFrame | None = None
    unit: str = "segment"

    @cached_property
    def spans(self) -> pd.DataFrame:
        """Each compared coder's own spans (:func:`coder_spans`)."""
        return coder_spans(self.segments, self.codings, self.coders)

    @cached_property
    def lengths(self) -> dict[str, int] | None:
        """Source lengths from the transcripts (None without them: end of the last span)."""
        return source_lengths(self.spans, self.transcripts) if self.transcripts else None


def measure_inputs(segments: pd.DataFrame, codings: pd.DataFrame, pairwise: bool,
                   coders: Iterable[str] | None = None, **options: Any) -> MeasureInputs:
    """Check the coders a measure compares and gather its inputs.

    Parameters
    ----------
    segments, codings:
        The canonical tables.
    pairwise:
        Whether the measure compares exactly two coders.
    coders:
        The coders to compare (None: all, which must then be two for a
        pairwise measure).
    **options:
        The other fields of :class:`MeasureInputs`.

    Returns
    -------
    MeasureInputs; :class:`AgreementDataError` when the coders do not fit.
    """
    exactly = 2 if pairwise else None
    chosen = check_coders(codings, coders, exactly=exactly) if coders is not None else \
        check_coders(codings, None)
    if pairwise and coders is None and len(chosen) != 2:
        raise AgreementDataError(
            f"the dataset has {len(chosen)} coders ({', '.join(chosen)}); this measure "
            "compares two, so name them with --coders")
    return MeasureInputs(segments, codings, list(chosen), **options)


def segment_measure(inputs: MeasureInputs) -> pd.DataFrame:
    """Segment-level agreement of two coders (:func:`agreement_table`), per code and pooled."""
    a, b = inputs.coders
    # Counts, not the units x codes grid: the same table in memory that grows with
    # the codings (tests check it equals agreement_table(agreement_units(...))).
    counts = agreement_counts(inputs.codings, inputs.segments, a, b, unit=inputs.unit,
                              codebook=inputs.codebook)
    if not counts.attrs["n_units"] or not len(counts):
        raise AgreementDataError(f"coders {a!r} and {b!r} share no "
                                 "interview; agreement needs text both of them coded")
    return agreement_table_from_counts(counts)


def character_measure(inputs: MeasureInputs) -> pd.DataFrame:
    """Character-level agreement of two coders (:func:`character_agreement`)."""
    return character_agreement(inputs.spans, inputs.coders[0], inputs.coders[1], inputs.lengths)


def overlap_measure(inputs: MeasureInputs) -> pd.DataFrame:
    """Segment overlap of two coders at the threshold (:func:`overlap_agreement`)."""
    return overlap_agreement(inputs.spans, inputs.coders[0], inputs.coders[1], inputs.threshold)


def unitized_measure(inputs: MeasureInputs) -> pd.DataFrame:
    """Unitized alphas of any number of coders (:func:`unitized_table`)."""
    return unitized_table(inputs.spans, inputs.coders, inputs.lengths)


def unitized_table(spans: pd.DataFrame, coders: Iterable[str] | None = None,
                   lengths: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Per-code and pooled unitized alphas in one long table.

    Returns
    -------
    DataFrame: code_id (:data:`POOLED` for the pooled rows), coefficient,
    value, observed, expected, n_units, coded_chars, undefined. Per code:
    ``|u_alpha`` (Krippendorff et al. 2016, this code against the rest) and
    ``u_alpha_c`` (Krippendorff 2004). Pooled: ``u_alpha_c``
    (Krippendorff 2004, 1 - sum Do_c / sum De_c, valid with overlapping
    codes), and the multi-valued ``u_alpha``, ``|u_alpha`` and ``cu_alpha``
    (Krippendorff et al. 2016), defined only where no coder's spans overlap.
    """
    per_code = unitized_per_code(spans, coders, lengths)
    rows = []
    for r in per_code.itertuples(index=False):
        rows.append({"code_id": r.code_id, "coefficient": "|u_alpha",
                     "value": r.alpha_u_binary, "observed": r.do_binary,
                     "expected": r.de_binary, "n_units": r.n_units,
                     "coded_chars": r.coded_chars, "undefined": r.undefined_binary})
        rows.append({"code_id": r.code_id, "coefficient": "u_alpha_c",
                     "value": r.alpha_u_c, "observed": r.do_c, "expected": r.de_c,
                     "n_units": r.n_units, "coded_chars": r.coded_chars,
                     "undefined": r.undefined_c})
    totals = {"n_units": int(per_code["n_units"].sum()),
              "coded_chars": int(per_code["coded_chars"].sum())}
    both = pooled_category_alpha(per_code)
    rows.append({"code_id": POOLED, "coefficient": "u_alpha_c", "value": both.value,
                 "observed": both.observed, "expected": both.expected, **totals,
                 "undefined": both.undefined})
    pooled = unitized_multivalued(spans, coders, lengths)
    names = {"u_alpha": "u_alpha", "binary_u_alpha": "|u_alpha", "cu_alpha": "cu_alpha"}
    for r in pooled.itertuples(index=False):
        rows.append({"code_id": POOLED, "coefficient": names[r.measure], "value": r.value,
                     "observed": r.observed, "expected": r.expected,
                     **totals, "undefined": r.undefined})
    columns = ["code_id", "coefficient", "value", "observed", "expected", "n_units",
               "coded_chars", "undefined"]
    return pd.DataFrame(rows, columns=columns)
