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


#: Candidate pairs compared at once; bounds memory where long spans overlap many.
_PAIRS_PER_CHUNK = 4_000_000


def _grouped_cummax(values: np.ndarray, group: np.ndarray) -> np.ndarray:
    """Running maximum of ``values`` restarting at each new ``group`` (rows sorted by group)."""
    if not len(values):
        return values.copy()
    # Lifting each group above every earlier one lets one running maximum serve all groups.
    lift = (group - group[0]).astype(np.int64) * (int(values.max()) - int(values.min()) + 1)
    return np.maximum.accumulate(values + lift) - lift


def _best_overlap(group: np.ndarray, start: np.ndarray, end: np.ndarray,
                  mine: np.ndarray) -> np.ndarray:
    """For each span with ``mine`` True, its largest overlap share with a span of the others
    (``mine`` False) in the same ``group``; 0 where none overlaps.

    One sweep for all groups at once: the other spans sorted by (group, start),
    with the running maximum of their ends, bound for each span the run of
    spans that can overlap it (those starting before its end and not all
    ended before its start), so the work is O(n log n + k) for k candidate
    pairs, taken in chunks; no pairwise table is built.
    """
    query = np.flatnonzero(mine)
    target = np.flatnonzero(~mine)
    best = np.zeros(len(query))
    if not len(query) or not len(target):
        return best
    target = target[np.lexsort((start[target], group[target]))]
    t_group, t_start, t_end = group[target], start[target], end[target]
    # Positions within a group lifted by the group's number keep every group's keys apart.
    span = int(max(end.max(), start.max())) + 2
    key_start = t_group * span + t_start
    key_reach = t_group * span + _grouped_cummax(t_end, t_group)
    q_group, q_start, q_end = group[query], start[query], end[query]
    hi = np.searchsorted(key_start, q_group * span + q_end, side="left")
    lo = np.searchsorted(key_reach, q_group * span + q_start, side="right")
    count = np.maximum(hi - lo, 0)
    bounds = np.r_[0, np.cumsum(count)]
    first = 0
    while first < len(query):
        # As many queries as keep the chunk's candidate pairs under the bound (at least one).
        last = max(first + 1, int(np.searchsorted(bounds, bounds[first] + _PAIRS_PER_CHUNK,
                                                  side="right")) - 1)
        c = count[first:last]
        n_pairs = int(c.sum())
        if n_pairs:
            q = np.repeat(np.arange(first, last), c)
            j = np.repeat(lo[first:last], c) + (np.arange(n_pairs)
                                                  - np.repeat(np.cumsum(c) - c, c))
            shared = np.minimum(t_end[j], q_end[q]) - np.maximum(t_start[j], q_start[q])
            union = np.maximum(t_end[j], q_end[q]) - np.minimum(t_start[j], q_start[q])
            share = np.where(shared > 0, shared / np.maximum(union, 1), 0.0)
            np.maximum.at(best, q, share)
        first = last
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
    group = pair.groupby(["code_id", "source"], sort=False).ngroup().to_numpy(np.int64)
    start = pair["start"].to_numpy(np.int64)
    end = pair["end"].to_numpy(np.int64)
    is_a = (pair["coder"] == coder_a).to_numpy()
    best = np.zeros(len(pair))
    best[is_a] = _best_overlap(group, start, end, is_a)
    best[~is_a] = _best_overlap(group, start, end, ~is_a)
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
