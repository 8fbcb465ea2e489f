"""Character-level agreement per code and source (NVivo's coding comparison).

For one code and one source, every character of the source is a unit, and
each of two coders either coded it with the code or not. The 2x2 table of
characters (both, only A, only B, neither) gives percentage agreement and
Cohen's kappa, the form of NVivo's coding comparison query (QSR
International, "Run a coding comparison query", NVivo 10 help). A coder's
overlapping spans of the same code cover their characters once.

References
----------
Cohen, J. (1960). A coefficient of agreement for nominal scales.
*Educational and Psychological Measurement* 20(1), 37-46.
QSR International. Run a Coding Comparison query. NVivo 10 for Windows help,
https://help-nv10.qsrinternational.com/desktop/procedures/run_a_coding_comparison_query.htm
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from .multirater import binary_agreement
from .spans import (
    AgreementDataError,
    check_coders,
    intersection_lengths,
    merge_overlapping,
    shared_continuum,
    shared_sources,
    source_lengths,
)

COUNT_COLUMNS = ["both", "only_a", "only_b", "neither"]


def kappa_from_table(both, only_a, only_b, neither) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Percentage agreement, Cohen's kappa and the reason kappa is undefined.

    Vectorised over 2x2 tables of counts. With n units, agreement
    ``po = (both + neither) / n`` and chance agreement
    ``pe = (a1 b1 + a0 b0) / n**2`` from each coder's marginal counts,
    ``kappa = (po - pe) / (1 - pe)``, computed from integer counts so the
    undefined case ``pe == 1`` is found exactly.

    Returns
    -------
    percent (0-100; NaN for an empty table), kappa (NaN where undefined) and,
    per table, "" or the reason kappa is undefined.
    """
    both, only_a, only_b, neither = (np.asarray(x, dtype=np.float64)
                                     for x in (both, only_a, only_b, neither))
    n = both + only_a + only_b + neither
    a1, b1 = both + only_a, both + only_b
    expected = a1 * b1 + (n - a1) * (n - b1)
    numerator = n * (both + neither) - expected
    denominator = n * n - expected
    percent = np.full(n.shape, np.nan)
    np.divide(100.0 * (both + neither), n, out=percent, where=n > 0)
    kappa = np.full(n.shape, np.nan)
    np.divide(numerator, denominator, out=kappa, where=denominator != 0)
    reasons = []
    for total, x, y in zip(np.atleast_1d(n), np.atleast_1d(a1), np.atleast_1d(b1), strict=True):
        if total == 0:
            reasons.append("no characters to compare")
        elif x == 0 and y == 0:
            reasons.append("neither coder applied the code")
        elif x == total and y == total:
            reasons.append("both coders coded every character")
        elif (x in (0, total)) and (y in (0, total)):
            reasons.append("each coder gave every character the same decision")
        else:
            reasons.append("")
    return percent, kappa, reasons


def character_counts(spans: pd.DataFrame, coder_a: str, coder_b: str,
                     lengths: Mapping[str, int] | None = None) -> pd.DataFrame:
    """The 2x2 character table of two coders, per code and source.

    Parameters
    ----------
    spans:
        Output of :func:`compendium.analysis.coder_spans`.
    coder_a, coder_b:
        The two coders compared.
    lengths:
        Length of each source (e.g. from :func:`source_lengths` with the
        transcripts); by default the end of the last span in the source.

    Returns
    -------
    DataFrame, one row per (code either coder used in the shared sources,
    shared source), sorted by code_id then source: code_id, source,
    n_chars, both, only_a, only_b, neither.
    """
    check_coders(spans, [coder_a, coder_b], exactly=2)
    sources = shared_sources(spans, [coder_a, coder_b])
    if not sources:
        raise AgreementDataError(f"coders {coder_a!r} and {coder_b!r} share no source; "
                                 "agreement needs text both of them coded")
    lengths = dict(lengths) if lengths is not None else source_lengths(spans)
    pair = spans[spans["coder"].isin([coder_a, coder_b]) & spans["source"].isin(sources)]
    keys = ["code_id", "source"]
    merged = merge_overlapping(pair, ["coder"] + keys)
    merged["length"] = merged["end"] - merged["start"]
    a = merged[merged["coder"] == coder_a]
    b = merged[merged["coder"] == coder_b]
    # Every code either coder used, in every shared source: where neither
    # used it in a source, all its characters are agreements on "not coded".
    codes = sorted(pd.unique(merged["code_id"]).tolist())
    index = pd.MultiIndex.from_product([codes, sources], names=keys)
    grid = index.to_frame(index=False)
    coded_a = a.groupby(keys)["length"].sum().reindex(index, fill_value=0).to_numpy()
    coded_b = b.groupby(keys)["length"].sum().reindex(index, fill_value=0).to_numpy()
    both = intersection_lengths(a, b, keys).reindex(index, fill_value=0).to_numpy()
    n_chars = grid["source"].map(lengths).astype(np.int64).to_numpy()
    out = grid.assign(n_chars=n_chars, both=both, only_a=coded_a - both,
                      only_b=coded_b - both)
    out["neither"] = out["n_chars"] - out["both"] - out["only_a"] - out["only_b"]
    if (out["neither"] < 0).any():
        raise AgreementDataError("a span ends beyond its source's length; pass the "
                                 "transcripts' lengths")
    return out.astype({c: np.int64 for c in ["n_chars"] + COUNT_COLUMNS})


def character_agreement(spans: pd.DataFrame, coder_a: str, coder_b: str,
                        lengths: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Character-level percentage agreement and Cohen's kappa per code, pooled.

    Each code's row pools its sources by adding their 2x2 tables (every
    character of every shared source is one unit); the final ``overall`` row
    pools every code and source. NVivo reports the per-source rows
    (:func:`character_counts`); pooling by summing counts weights each
    source by its length, as NVivo's help suggests for an average.

    Returns
    -------
    DataFrame: code_id, n_sources, n_chars, both, only_a, only_b, neither,
    percent_agreement (0-100), cohen_kappa (NaN where undefined) and
    ``undefined`` ("" or the reason kappa is undefined).
    """
    counts = character_counts(spans, coder_a, coder_b, lengths)
    per_code = counts.groupby("code_id", sort=True).agg(
        n_sources=("source", "nunique"), n_chars=("n_chars", "sum"),
        **{c: (c, "sum") for c in COUNT_COLUMNS}).reset_index()
    overall = {"code_id": "overall", "n_sources": counts["source"].nunique(),
               **{c: int(per_code[c].sum()) for c in ["n_chars"] + COUNT_COLUMNS}}
    table = pd.concat([per_code, pd.DataFrame([overall])], ignore_index=True)
    percent, kappa, reasons = kappa_from_table(*(table[c] for c in COUNT_COLUMNS))
    table["percent_agreement"] = percent
    table["cohen_kappa"] = kappa
    table["undefined"] = reasons
    return table.astype({c: np.int64 for c in ["n_sources", "n_chars"] + COUNT_COLUMNS})


def coverage_runs(spans: pd.DataFrame, coders: list[str], sources: list[str],
                  lengths: Mapping[str, int]) -> pd.DataFrame:
    """Each code's sources cut into runs of characters that every coder coded alike.

    Between two consecutive span boundaries (of any coder, for one code and
    source) every character has the same coders on it, so one run stands for
    all its characters: the work grows with the number of spans, not with the
    length of the text. Runs no coder coded are included, so the runs of a
    source add up to its length.

    Returns
    -------
    DataFrame sorted by code_id, source, start: code_id, source, start, end,
    n_coders (how many coders coded the run) and one 0/1 column per coder.
    """
    merged = merge_overlapping(spans[spans["coder"].isin(coders)
                                     & spans["source"].isin(sources)],
                               ["code_id", "source", "coder"])
    rows = []
    # Every code in every shared source: where no coder used it in a source, that
    # source is one run everybody left uncoded, as in :func:`character_counts`.
    groups = dict(list(merged.groupby(["code_id", "source"], sort=True)))
    for code in sorted(pd.unique(merged["code_id"]).tolist()):
        for source in sources:
            group = groups.get((code, source), merged.iloc[:0])
            rows.append(_runs_of(group, code, source, int(lengths[source]), coders))
    columns = ["code_id", "source", "start", "end", *coders]
    if not rows:
        return pd.DataFrame(columns=[*columns, "n_coders"])
    out = pd.concat(rows, ignore_index=True)
    out["n_coders"] = out[coders].sum(axis=1)
    return out[["code_id", "source", "start", "end", "n_coders", *coders]]


def _runs_of(group: pd.DataFrame, code: str, source: str, length: int,
             coders: list[str]) -> pd.DataFrame:
    """One code's runs in one source (see :func:`coverage_runs`)."""
    cuts = np.unique(np.r_[0, length, group["start"], group["end"]].clip(0, length))
    starts, ends = cuts[:-1], cuts[1:]
    covered = np.zeros((len(starts), len(coders)), dtype=np.int64)
    for column, coder in enumerate(coders):
        mine = group[group["coder"] == coder]
        if mine.empty:
            continue
        # A run lies inside a span exactly when the span starts at or before it and
        # ends at or after its end; the spans of one coder do not overlap once merged.
        at = np.searchsorted(mine["start"].to_numpy(), starts, side="right") - 1
        inside = (at >= 0) & (mine["end"].to_numpy()[at.clip(0)] >= ends)
        covered[:, column] = inside
    frame = pd.DataFrame(covered, columns=coders)
    frame.insert(0, "end", ends)
    frame.insert(0, "start", starts)
    frame.insert(0, "source", source)
    frame.insert(0, "code_id", code)
    return frame


def character_agreement_many(spans: pd.DataFrame, coders: list[str] | None = None,
                             lengths: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Character-level agreement of many coders per code, and pooled over codes.

    Every character of every shared source is one subject per code, and each
    coder coded it or not; the coefficients are those of
    :func:`compendium.analysis.multirater.binary_agreement`. With two coders,
    ``percent_agreement`` and ``conger_kappa`` are exactly the percentage and
    Cohen's kappa of :func:`character_agreement`.

    Returns
    -------
    DataFrame, one row per code any coder used and a final ``overall`` row:
    code_id, n_chars, n_coders, coded_chars (summed over coders),
    percent_agreement, fleiss_kappa, conger_kappa, krippendorff_alpha,
    undefined.
    """
    chosen, sources, lengths = shared_continuum(spans, coders, lengths)
    runs = coverage_runs(spans, chosen, sources, lengths)
    weight = (runs["end"] - runs["start"]).to_numpy(np.float64)
    rows = []
    for code in [*pd.unique(runs["code_id"]), None]:
        pick = np.ones(len(runs), bool) if code is None else (runs["code_id"] == code).to_numpy()
        result = binary_agreement(runs.loc[pick, chosen].to_numpy(), weight[pick])
        rows.append({"code_id": "overall" if code is None else code,
                     "n_chars": int(result.n_subjects), "n_coders": result.n_coders,
                     "coded_chars": int(result.applied),
                     "percent_agreement": result.percent_agreement,
                     "fleiss_kappa": result.fleiss_kappa, "conger_kappa": result.conger_kappa,
                     "krippendorff_alpha": result.krippendorff_alpha,
                     "undefined": result.undefined})
    return pd.DataFrame(rows)
