"""Segment overlap agreement in MAXQDA's form, with Brennan & Prediger's kappa.

Two coders' segments with the same code agree when they overlap by at least
a threshold share (MAXQDA's "min. 90 % overlap of segments" by default).
Every segment of each coder is checked against the other coder's segments
of the same code in the same source; it is an agreement when one of them
covers it to the threshold, and a disagreement otherwise.

The overlap share of two segments s and t is ``|s ∩ t| / |s ∪ t|``, the
shared characters over the characters either covers, so a long segment that
merely contains a short one does not count as the same segment.

Chance correction (Brennan & Prediger 1981): with ``p_o`` the share of
segments in agreement and q the number of codes the coders could choose
among, chance agreement is ``p_c = 1 / q`` and
``kappa_n = (p_o - p_c) / (1 - p_c)``. It needs q >= 2, so it is given for
the pooled row only; for a single code it is undefined.

References
----------
Brennan, R. L. & Prediger, D. J. (1981). Coefficient kappa: Some uses,
misuses, and alternatives. *Educational and Psychological Measurement*
41(3), 687-699.
VERBI Software. MAXQDA manual, "Intercoder agreement".
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .spans import AgreementDataError, check_coders, shared_sources

DEFAULT_THRESHOLD = 0.9


def brennan_prediger(p_o: float, n_categories: int) -> float:
    """Brennan & Prediger's (1981) kappa: ``(p_o - 1/q) / (1 - 1/q)`` for q categories.

    NaN when q < 2 (chance agreement 1/q would be 1) or p_o is not a number.
    """
    if n_categories < 2 or not np.isfinite(p_o):
        return float("nan")
    chance = 1.0 / n_categories
    return float((p_o - chance) / (1.0 - chance))


def _best_overlap(a: pd.DataFrame, b: pd.DataFrame) -> np.ndarray:
    """For each segment of ``a``, its largest overlap share with a segment of ``b``.

    A sweep over both lists sorted by start: each segment of ``b`` stays
    active while it can still overlap; the work is O(n log n + k) for k
    overlapping pairs, and no pairwise table is built.
    """
    best = np.zeros(len(a))
    if not len(a) or not len(b):
        return best
    a_start, a_end = a["start"].to_numpy(np.int64), a["end"].to_numpy(np.int64)
    order_b = np.argsort(b["start"].to_numpy(np.int64), kind="stable")
    b_start = b["start"].to_numpy(np.int64)[order_b]
    b_end = b["end"].to_numpy(np.int64)[order_b]
    # Longest b segment seen so far bounds how far back an overlap can start.
    running_end = np.maximum.accumulate(b_end)
    for i in np.argsort(a_start, kind="stable"):
        s, e = a_start[i], a_end[i]
        hi = np.searchsorted(b_start, e, side="left")  # b starting before my end
        lo = np.searchsorted(running_end, s, side="right")  # first that might reach me
        if hi <= lo:
            continue
        bs, be = b_start[lo:hi], b_end[lo:hi]
        shared = np.minimum(be, e) - np.maximum(bs, s)
        union = np.maximum(be, e) - np.minimum(bs, s)
        share = np.where(shared > 0, shared / union, 0.0)
        best[i] = share.max()
    return best


def overlap_segments(spans: pd.DataFrame, coder_a: str, coder_b: str) -> pd.DataFrame:
    """Every segment of the two coders with its best overlap share with the other.

    Returns
    -------
    DataFrame with the columns of ``spans`` (coder, source, code_id, start,
    end) plus ``best_share`` (0-1), for the sources both coders coded, sorted
    by code_id, source, coder, start.
    """
    check_coders(spans, [coder_a, coder_b], exactly=2)
    sources = shared_sources(spans, [coder_a, coder_b])
    if not sources:
        raise AgreementDataError(f"coders {coder_a!r} and {coder_b!r} share no source; "
                                 "agreement needs text both of them coded")
    pair = spans[spans["coder"].isin([coder_a, coder_b]) & spans["source"].isin(sources)]
    pair = pair.sort_values(["code_id", "source", "coder", "start", "end"], kind="stable")
    pair = pair.reset_index(drop=True)
    best = np.zeros(len(pair))
    for (_, _), group in pair.groupby(["code_id", "source"], sort=False):
        mine = group[group["coder"] == coder_a]
        theirs = group[group["coder"] == coder_b]
        best[mine.index] = _best_overlap(mine, theirs)
        best[theirs.index] = _best_overlap(theirs, mine)
    return pair.assign(best_share=best)


def overlap_agreement(spans: pd.DataFrame, coder_a: str, coder_b: str,
                      threshold: float = DEFAULT_THRESHOLD) -> pd.DataFrame:
    """Segment agreement per code at an overlap threshold, pooled with Brennan & Prediger.

    Parameters
    ----------
    spans:
        Output of :func:`compendium.analysis.coder_spans`.
    coder_a, coder_b:
        The two coders.
    threshold:
        Minimal overlap share ``|s ∩ t| / |s ∪ t|`` (0 < threshold <= 1) for
        two segments to agree; MAXQDA's default is 90 %.

    Returns
    -------
    DataFrame, one row per code used in the shared sources then ``overall``:
    code_id, segments_a, segments_b, agree_a, agree_b (segments of each coder
    matched by the other), percent_agreement (100 (agree_a + agree_b) /
    (segments_a + segments_b)), n_codes (q), bp_kappa (Brennan & Prediger,
    overall row only; NaN elsewhere) and ``undefined`` ("" or the reason).
    """
    if not 0 < threshold <= 1:
        raise AgreementDataError(f"the overlap threshold must be in (0, 1]; got {threshold}")
    segs = overlap_segments(spans, coder_a, coder_b)
    segs["agree"] = segs["best_share"] >= threshold - 1e-12
    rows = []
    codes = sorted(pd.unique(segs["code_id"]).astype(str).tolist())
    for code, group in segs.groupby("code_id", sort=True):
        rows.append(_row(code, group, coder_a, coder_b))
    rows.append(_row("overall", segs, coder_a, coder_b))
    table = pd.DataFrame(rows)
    q = len(codes)
    table["n_codes"] = q
    table["bp_kappa"] = np.nan
    table["undefined"] = "Brennan & Prediger's chance correction needs at least two codes"
    p_o = table["percent_agreement"].iloc[-1] / 100.0
    if q >= 2 and np.isfinite(p_o):
        table.loc[table.index[-1], "bp_kappa"] = brennan_prediger(p_o, q)
        table.loc[table.index[-1], "undefined"] = ""
    elif not np.isfinite(p_o):
        table.loc[table.index[-1], "undefined"] = "no segments to compare"
    return table


def _row(code: str, group: pd.DataFrame, coder_a: str, coder_b: str) -> dict:
    a = group[group["coder"] == coder_a]
    b = group[group["coder"] == coder_b]
    n = len(a) + len(b)
    agree = int(a["agree"].sum()) + int(b["agree"].sum())
    return {"code_id": code, "segments_a": len(a), "segments_b": len(b),
            "agree_a": int(a["agree"].sum()), "agree_b": int(b["agree"].sum()),
            "percent_agreement": 100.0 * agree / n if n else float("nan")}
