"""Krippendorff's alpha for unitized text: coders who mark their own spans.

The transcripts laid end to end form the continuum; each coder divides it
into units (spans carrying a code) and gaps (text they left uncoded).

Two forms are computed:

* **per code** (this code against the rest of the continuum), for every code
  and always valid, because a coder's spans of *one* code can be merged into
  non-overlapping units (overlapping spans of the same code cover their
  characters once; spans that only touch stay separate units). Two
  coefficients are reported side by side: Krippendorff's (2004, pp. 251-256)
  category coefficient ``alpha_u_c``, whose distances look at how far unit
  boundaries are apart, and the binary coefficient of Krippendorff, Mathet,
  Bouvry & Widlöcher (2016), ``|u alpha`` on the two values "this code" and
  "not this code", which counts the length of text the coders coded
  differently and corrects the 2004 form's behaviour with more than two
  coders.
* **multi-valued** ``u alpha``, ``|u alpha``, ``cu alpha`` and the per-value
  ``(k)u alpha`` (Krippendorff et al. 2016; Krippendorff 2019, sect. 12.6),
  which assume every position carries at most one value per coder. They are
  computed only where no coder's spans overlap one another, as in
  Krippendorff's examples; a qualitative coder's codes usually do overlap, and
  then only the per-code coefficients are given, with the reason stated.

Every coefficient comes with the observed and expected disagreement it is
built from, and an undefined one with the reason (never a division error).
The work is sorting and merging interval lists: O(n log n) in the number of
spans, no n x n table.

Longer than 500 lines because the coefficients are one computation: the
per-code and the multi-valued forms are all read off one private continuum
(``_Line``: the coders' units laid end to end, their gaps and the overlaps of
units), built once per code or per dataset; split, that continuum would have
to become an interface between modules for the sake of length alone.

References
----------
Krippendorff, K. (1995). On the reliability of unitizing continuous data.
*Sociological Methodology* 25, 47-76.
Krippendorff, K. (2004). *Content Analysis: An Introduction to Its
Methodology* (2nd ed.), sect. 11.5. Thousand Oaks, CA: Sage.
Krippendorff, K., Mathet, Y., Bouvry, S. & Widlöcher, A. (2016). On the
reliability of unitizing textual continua: Further developments.
*Quality & Quantity* 50, 2347-2364.
Krippendorff, K. (2019). *Content Analysis* (4th ed.), ch. 12. Sage.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .spans import (
    coders_with_overlapping_spans,
    merge_overlapping,
    shared_continuum,
)

GAP = "\u2205"  # the value of uncoded text (empty set sign)


@dataclass(frozen=True)
class Coefficient:
    """An agreement coefficient with the numbers it is built from.

    ``value`` is ``1 - observed / expected``; when it cannot be computed,
    ``value`` is NaN and ``undefined`` says why.
    """

    value: float
    observed: float
    expected: float
    undefined: str = ""

    @classmethod
    def from_disagreements(cls, observed: float, expected: float, reason: str) -> Coefficient:
        """``1 - observed / expected``, or undefined with ``reason`` when expected is 0."""
        if expected == 0 or not np.isfinite(expected):
            return cls(float("nan"), float(observed), float(expected), reason)
        return cls(float(1.0 - observed / expected), float(observed), float(expected))


# --------------------------------------------------------------------------
# interval helpers


def _overlap_pairs(a_start, a_end, b_start, b_end) -> tuple[np.ndarray, np.ndarray]:
    """Index pairs (i, j) of overlapping intervals of two sorted disjoint lists.

    Both lists are sorted and non-overlapping, so their starts and ends are
    both increasing and the units of ``b`` overlapping ``a[i]`` form one run
    ``[first[i], stop[i])``; the number of pairs is at most len(a) + len(b).
    """
    first = np.searchsorted(b_end, a_start, side="right")
    stop = np.searchsorted(b_start, a_end, side="left")
    count = np.maximum(stop - first, 0)
    i = np.repeat(np.arange(len(a_start)), count)
    offsets = np.arange(count.sum()) - np.repeat(np.cumsum(count) - count, count)
    j = np.repeat(first, count) + offsets
    return i, j


def _gaps(start: np.ndarray, end: np.ndarray, length: int) -> np.ndarray:
    """Lengths of the uncoded stretches between sorted disjoint units of [0, length)."""
    edges_start = np.r_[0, end]
    edges_end = np.r_[start, length]
    gaps = edges_end - edges_start
    return gaps[gaps > 0]


@dataclass(frozen=True)
class _Line:
    """The sources laid end to end (the continuum), with each coder's units placed on it.

    ``offset`` and ``length`` give each source's place (sources in sorted
    order); ``units[coder]`` is (start, end, value, source index), sorted by
    position. A unit stays inside its source, so units of different sources
    never meet, and every interval operation runs once over the whole line
    instead of once per source.
    """

    offset: np.ndarray
    length: np.ndarray
    units: dict

    @property
    def total(self) -> float:
        """The continuum's length L."""
        return float(self.length.sum())

    def gaps(self, coder: str) -> np.ndarray:
        """Lengths of the uncoded stretches of ``coder`` in every source (as :func:`_gaps`)."""
        start, end, _, src = self.units[coder]
        first = np.r_[True, src[1:] != src[:-1]] if len(src) else np.zeros(0, bool)
        before = np.where(first, start - self.offset[src], start - np.r_[0, end[:-1]])
        last = np.r_[src[1:] != src[:-1], True] if len(src) else np.zeros(0, bool)
        after = (self.offset + self.length)[src[last]] - end[last]
        untouched = np.ones(len(self.offset), bool)
        untouched[src] = False
        gaps = np.concatenate([before, after, self.length[untouched]])
        return gaps[gaps > 0]


def _line_of(units: Mapping, coders: list[str], lengths: Mapping[str, int]) -> _Line:
    """A :class:`_Line` from ``{(coder, source): (start, end[, value])}`` per source."""
    sources = sorted({s for _, s in units})
    length = np.array([lengths[s] for s in sources], dtype=np.int64)
    offset = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64) if len(sources) else length
    empty = np.zeros(0, np.int64)
    placed = {}
    for coder in coders:
        parts = [units.get((coder, s), (empty, empty)) for s in sources]
        src = np.repeat(np.arange(len(sources)), [len(p[0]) for p in parts]).astype(np.int64)

        def column(k: int, parts=parts) -> np.ndarray:
            return np.concatenate([np.asarray(p[k], np.int64) if len(p) > k
                                   else np.ones(len(p[0]), np.int64) for p in parts]) \
                if parts else empty
        placed[coder] = (column(0) + offset[src], column(1) + offset[src], column(2), src)
    return _Line(offset, length, placed)


def _line_from_frame(frame: pd.DataFrame, coders: list[str], sources: list[str],
                     lengths: Mapping[str, int], values: np.ndarray | None = None) -> _Line:
    """A :class:`_Line` from spans sorted by coder, source and start (one code, or
    non-overlapping spans of several with ``values``)."""
    length = np.array([lengths[s] for s in sources], dtype=np.int64)
    offset = np.r_[0, np.cumsum(length)[:-1]].astype(np.int64)
    src = pd.Index(sources).get_indexer(frame["source"]).astype(np.int64)
    start = frame["start"].to_numpy(np.int64) + offset[src]
    end = frame["end"].to_numpy(np.int64) + offset[src]
    value = np.ones(len(frame), np.int64) if values is None else values
    coder = frame["coder"].to_numpy(dtype=object)
    placed = {}
    for name in coders:
        mine = coder == name
        placed[name] = (start[mine], end[mine], value[mine], src[mine])
    return _Line(offset, length, placed)


# --------------------------------------------------------------------------
# Krippendorff (2004): one category against the rest


def alpha_u_category(units: Mapping, coders: list[str], lengths: Mapping[str, int]) -> Coefficient:
    """Krippendorff's (2004) unitizing alpha for one category, ``alpha_u_c``.

    Parameters
    ----------
    units:
        ``{(coder, source): (start, end)}`` sorted, non-overlapping units of
        the category (end exclusive).
    coders:
        The m >= 2 coders.
    lengths:
        Length of each source; the continuum is the sources end to end, and
        a unit can only be placed inside its own source.

    Notes
    -----
    With L the continuum's length, the observed disagreement is

    ``Do = sum_i sum_{j != i} sum_g sum_h delta^2(g, h) / (m (m-1) L^2)``

    over the segments g of coder i and h of coder j (units and gaps), where a
    unit overlapping a unit contributes ``(b_g - b_h)^2 + (e_g - e_h)^2``
    (b, e: beginning and end), a unit and a gap that wholly contains it
    contribute the unit's squared length ``l^2`` (in either order), and all
    other pairs nothing. The expected disagreement, over all N units
    (lengths l) and all gaps (lengths g) of all coders, is

    ``De = (2 / L) * [ (N-1)/3 * sum_u (2l^3 - 3l^2 + l)
    + sum_u l^2 * sum_{g >= l} (g - l + 1) ] / [ mL (mL - 1) - sum_u l (l-1) ]``

    (Krippendorff 2004, pp. 251-254; the second sum runs over the positions
    a unit could take inside a gap at least as long). Sorting the gap
    lengths once makes the second sum O(n log n).

    Returns
    -------
    Coefficient with ``observed`` = Do and ``expected`` = De.
    """
    return _alpha_u_category(_line_of(units, coders, lengths), coders)


def _alpha_u_category(line: _Line, coders: list[str]) -> Coefficient:
    """:func:`alpha_u_category` over the continuum ``line``."""
    m = len(coders)
    total_length = line.total
    observed = 0.0
    all_lengths, all_gaps = [], []
    for i in coders:
        si, ei = line.units[i][:2]
        all_lengths.append(ei - si)
        all_gaps.append(line.gaps(i))
        for j in coders:
            if i == j:
                continue
            sj, ej = line.units[j][:2]
            a, b = _overlap_pairs(si, ei, sj, ej)
            observed += float(np.sum((si[a] - sj[b]).astype(np.float64) ** 2
                                     + (ei[a] - ej[b]).astype(np.float64) ** 2))
            touched = np.zeros(len(si), bool)
            touched[a] = True
            # The pair (unit of i, gap of j) and the pair (gap of j, unit
            # of i) both enter the double sum over segments g of i and h
            # of j (Krippendorff 2004, p. 253): a unit in a gap counts twice.
            observed += 2.0 * float(np.sum((ei - si)[~touched].astype(np.float64) ** 2))
    lengths_u = np.concatenate(all_lengths).astype(np.float64) if all_lengths else np.zeros(0)
    gaps = np.sort(np.concatenate(all_gaps).astype(np.float64)) if all_gaps else np.zeros(0)
    n_units = len(lengths_u)
    if total_length == 0:
        return Coefficient(float("nan"), 0.0, 0.0, "the continuum is empty")
    do = observed / (m * (m - 1) * total_length ** 2)
    if n_units == 0:
        return Coefficient(float("nan"), do, 0.0, "no coder applied the code")
    lu = lengths_u
    within = (n_units - 1) / 3.0 * np.sum(2 * lu ** 3 - 3 * lu ** 2 + lu)
    # sum over gaps g >= lu of (g - lu + 1) = (sum of those g) - count * (lu - 1)
    suffix = np.r_[np.cumsum(gaps[::-1])[::-1], 0.0]
    k = np.searchsorted(gaps, lu, side="left")
    count = len(gaps) - k
    placements = suffix[k] - count * (lu - 1)
    in_gaps = np.sum(lu ** 2 * placements)
    denominator = m * total_length * (m * total_length - 1) - np.sum(lu * (lu - 1))
    de = (2.0 / total_length) * (within + in_gaps) / denominator if denominator > 0 else 0.0
    return Coefficient.from_disagreements(
        do, de, "the coders' units leave no variation to compare (expected disagreement 0)")


# --------------------------------------------------------------------------
# Krippendorff, Mathet, Bouvry & Widlöcher (2016): the u-alpha family


def coincidences(units: Mapping, coders: list[str], lengths: Mapping[str, int],
                 values: list[str]) -> dict:
    """Observed and expected coincidence matrices of a unitized continuum.

    Parameters
    ----------
    units:
        ``{(coder, source): (start, end, value_index)}``: each coder's
        non-overlapping units in a source, sorted, with the index (1..K) of
        their value in ``values``; index 0 is the gap value.
    values:
        The values, ``values[0]`` being the gap.

    Notes
    -----
    Krippendorff et al. (2016, eqs. 1-4): the observed coincidence of values
    c and k is ``o_ck = sum_i sum_{j != i} |s_ic intersect s_jk| / (m - 1)``
    summed over the segments s (units and gaps) of coders i and j; the
    margins ``l_c`` are the total lengths given value c. With N = mL and
    ``S_c`` the sum over all segments of value c of their squared lengths
    (for gaps their plain lengths, because a gap has no structure to
    preserve), the expected coincidences are
    ``e_ck = N (l_c l_k - [c == k] S_c) / (N^2 - sum_c S_c)``.
    """
    return _coincidences(_line_of(units, coders, lengths), coders, values)


def _coincidences(line: _Line, coders: list[str], values: list[str]) -> dict:
    """:func:`coincidences` over the continuum ``line``."""
    m = len(coders)
    size = len(values)
    o = np.zeros((size, size))
    s_c = np.zeros(size)
    # Every source's bounds cut the line, as each source's own ends did.
    bounds = np.r_[line.offset, line.offset + line.length]
    for coder in coders:
        start, end, value, _ = line.units[coder]
        np.add.at(s_c, value, (end - start).astype(np.float64) ** 2)
        s_c[0] += float(np.sum(line.gaps(coder)))
    for x in range(m):
        sx, ex, vx, _ = line.units[coders[x]]
        for y in range(x + 1, m):
            sy, ey, vy, _ = line.units[coders[y]]
            cuts = np.unique(np.r_[bounds, sx, ex, sy, ey])
            left, width = cuts[:-1], np.diff(cuts)
            a = _value_at(left, sx, ex, vx)
            b = _value_at(left, sy, ey, vy)
            np.add.at(o, (a, b), width)
            np.add.at(o, (b, a), width)
    o /= max(m - 1, 1)
    margins = o.sum(axis=1)
    n = margins.sum()
    denominator = n * n - s_c.sum()
    e = np.zeros_like(o)
    if denominator > 0:
        e = n * (np.outer(margins, margins) - np.diag(s_c)) / denominator
    return {"values": values, "observed": o, "expected": e, "n": n, "s_c": s_c}


def _value_at(points, start, end, value) -> np.ndarray:
    """Value index at each point: the unit containing it, else 0 (gap)."""
    idx = np.searchsorted(start, points, side="right") - 1
    inside = (idx >= 0) & (points < end[np.maximum(idx, 0)]) if len(start) else np.zeros(
        len(points), bool)
    out = np.zeros(len(points), np.int64)
    out[inside] = value[idx[inside]]
    return out


def alpha_family(units: Mapping, coders: list[str], lengths: Mapping[str, int],
                 values: list[str]) -> dict:
    """uα, |uα, cuα and (k)uα of a continuum with one value per position per coder.

    Krippendorff et al. (2016, sect. 5; Krippendorff 2019, sect. 12.6), nominal
    values. With o and e the matrices of :func:`coincidences`:

    * ``u alpha = 1 - (N - sum_c o_cc) / (N - sum_c e_cc)``: all segments,
      gaps included;
    * ``|u alpha = 1 - (o_0. - o_00) / (e_0. - e_00)``: coded versus uncoded
      only (value 0 is the gap);
    * ``cu alpha``: the coded parts only, where two coders' units intersect:
      observed coincidences ``o_ck`` for c, k != 0, margins ``l_c`` their row
      sums, ``l`` their total, ``S'_c`` the sum over units of value c of
      the squared length each shares with every other coder's units, and
      ``e_ck = (l_c l_k - [c == k] S'_c / (m-1)) / (l - sum S' / (l (m-1)))``;
      ``cu alpha = 1 - (l - sum o_cc) / (l - sum e_cc)``;
    * ``(k)u alpha = 1 - (e_k. / l_k) (l_k - o_kk) / (e_k. - e_kk)`` per value k.

    Returns
    -------
    dict with keys ``u``, ``binary``, ``cu`` (Coefficient each), ``per_value``
    (DataFrame: value, length, coverage, alpha, observed, expected,
    undefined) and the coincidence matrices.
    """
    return _alpha_family(_line_of(units, coders, lengths), coders, values)


def _alpha_family(line: _Line, coders: list[str], values: list[str]) -> dict:
    """:func:`alpha_family` over the continuum ``line``."""
    co = _coincidences(line, coders, values)
    o, e, n = co["observed"], co["expected"], co["n"]
    m = len(coders)
    u = Coefficient.from_disagreements(
        n - np.trace(o), n - np.trace(e),
        "no variation in the continuum (every coder gave every position the same value)")
    binary = Coefficient.from_disagreements(
        o[0].sum() - o[0, 0], e[0].sum() - e[0, 0],
        "no variation between coded and uncoded text")
    # cu alpha: only the intersections of valued units.
    sq = np.zeros(len(values))
    for x in coders:
        sx, ex, vx, _ = line.units[x]
        if not len(sx):
            continue
        for y in coders:
            if x == y:
                continue
            sy, ey = line.units[y][:2]
            a, b = _overlap_pairs(sx, ex, sy, ey)
            shared = np.minimum(ex[a], ey[b]) - np.maximum(sx[a], sy[b])
            per_unit = np.bincount(a, weights=shared, minlength=len(sx))
            np.add.at(sq, vx, per_unit ** 2)
    oc = o[1:, 1:]
    lc = oc.sum(axis=1)
    total = lc.sum()
    sqc = sq[1:]
    ec = np.zeros_like(oc)
    if total > 0 and m > 1:
        denominator = total - sqc.sum() / (total * (m - 1))
        if denominator > 0:
            ec = (np.outer(lc, lc) - np.diag(sqc) / (m - 1)) / denominator
    if total == 0:
        cu = Coefficient(float("nan"), 0.0, 0.0, "no two coders' units intersect")
    else:
        cu = Coefficient.from_disagreements(
            total - np.trace(oc), total - np.trace(ec),
            "the intersecting units carry a single value (no variation among codes)")
    rows = []
    coded_total = np.array([(o[k].sum()) for k in range(len(values))])
    for k in range(1, len(values)):
        l_k, e_k = lc[k - 1], ec[k - 1].sum()
        coverage = float(l_k / coded_total[k]) if coded_total[k] else float("nan")
        if l_k == 0:
            coef = Coefficient(float("nan"), 0.0, 0.0,
                               "no unit of this value intersects another coder's unit")
        else:
            coef = Coefficient.from_disagreements(
                e_k * (l_k - oc[k - 1, k - 1]), l_k * (e_k - ec[k - 1, k - 1]),
                "no variation among the intersecting units")
        rows.append({"value": values[k], "length": float(coded_total[k]), "coverage": coverage,
                     "alpha": coef.value, "observed": coef.observed,
                     "expected": coef.expected, "undefined": coef.undefined})
    per_value = pd.DataFrame(rows, columns=["value", "length", "coverage", "alpha", "observed",
                                            "expected", "undefined"])
    return {"u": u, "binary": binary, "cu": cu, "per_value": per_value, **co}


# --------------------------------------------------------------------------
# From the canonical tables


def _prepare(spans: pd.DataFrame, coders: Iterable[str] | None,
             lengths: Mapping[str, int] | None) -> tuple[pd.DataFrame, list[str], list[str],
                                                          dict[str, int]]:
    chosen, sources, lengths = shared_continuum(spans, coders, lengths)
    pick = spans[spans["coder"].isin(chosen) & spans["source"].isin(sources)]
    return pick, chosen, sources, lengths


def unitized_per_code(spans: pd.DataFrame, coders: Iterable[str] | None = None,
                      lengths: Mapping[str, int] | None = None) -> pd.DataFrame:
    """Per-code unitized alpha: each code against the rest of the continuum.

    Valid whether or not a coder's spans of different codes overlap: for one
    code, each coder's overlapping spans are merged into units first.

    Parameters
    ----------
    spans:
        Output of :func:`compendium.analysis.coder_spans`.
    coders:
        Two or more coders (all coders when None).
    lengths:
        Length of each source (default: end of its last span).

    Returns
    -------
    DataFrame, one row per code either coder used in the shared sources,
    sorted by code_id: code_id, n_units (all coders), coded_chars (all
    coders), alpha_u_binary, do_binary, de_binary, undefined_binary
    (Krippendorff et al. 2016, code vs rest), alpha_u_c, do_c, de_c,
    undefined_c (Krippendorff 2004).
    """
    pick, chosen, sources, lengths = _prepare(spans, coders, lengths)
    merged = merge_overlapping(pick, ["code_id", "coder", "source"])
    rows = []
    codes, first = np.unique(merged["code_id"].to_numpy(dtype=object), return_index=True)
    stops = np.r_[first[1:], len(merged)]
    # merged is sorted by code: each code's units are one slice, placed on the
    # continuum without a group-by over (coder, source).
    for code, lo, hi in zip(codes, first, stops, strict=True):
        group = merged.iloc[lo:hi]
        line = _line_from_frame(group, chosen, sources, lengths)
        c2004 = _alpha_u_category(line, chosen)
        binary = _alpha_family(line, chosen, [GAP, str(code)])["u"]
        # two values: u alpha here is |u alpha of this code
        rows.append({
            "code_id": code, "n_units": len(group),
            "coded_chars": int((group["end"] - group["start"]).sum()),
            "alpha_u_binary": binary.value, "do_binary": binary.observed,
            "de_binary": binary.expected, "undefined_binary": binary.undefined,
            "alpha_u_c": c2004.value, "do_c": c2004.observed, "de_c": c2004.expected,
            "undefined_c": c2004.undefined,
        })
    columns = ["code_id", "n_units", "coded_chars", "alpha_u_binary", "do_binary", "de_binary",
               "undefined_binary", "alpha_u_c", "do_c", "de_c", "undefined_c"]
    return pd.DataFrame(rows, columns=columns)


def pooled_category_alpha(per_code: pd.DataFrame) -> Coefficient:
    """Krippendorff's (2004, p. 255) alpha over all categories from the per-code table.

    ``alpha_u = 1 - sum_c Do_c / sum_c De_c``, summing the 2004 per-category
    disagreements of :func:`unitized_per_code` over the codes whose expected
    disagreement is defined. Because it works category by category it stays
    valid when a coder's codes overlap.
    """
    usable = per_code[per_code["de_c"] > 0]
    if not len(usable):
        return Coefficient(float("nan"), 0.0, 0.0, "no code has an expected disagreement")
    return Coefficient.from_disagreements(float(usable["do_c"].sum()),
                                          float(usable["de_c"].sum()),
                                          "no code has an expected disagreement")


def unitized_multivalued(spans: pd.DataFrame, coders: Iterable[str] | None = None,
                         lengths: Mapping[str, int] | None = None) -> pd.DataFrame:
    """uα, |uα and cuα over all codes, where no coder's spans overlap.

    The multi-valued coefficients assume one value per position per coder
    (Krippendorff et al. 2016). When a coder's spans overlap, each row is
    undefined with that reason and only :func:`unitized_per_code` applies.

    Returns
    -------
    DataFrame with rows ``u_alpha``, ``binary_u_alpha`` (|uα) and
    ``cu_alpha``: measure, value, observed, expected, undefined.
    """
    pick, chosen, sources, lengths = _prepare(spans, coders, lengths)
    overlapping = coders_with_overlapping_spans(pick)
    names = ["u_alpha", "binary_u_alpha", "cu_alpha"]
    if overlapping:
        who = (f"coder {overlapping[0]}" if len(overlapping) == 1 else
               "coders " + ", ".join(overlapping[:-1]) + f" and {overlapping[-1]}")
        reason = (f"{who} gave some text more than one code (spans overlap); only the "
                  "per-code coefficients apply")
        return pd.DataFrame({"measure": names, "value": np.nan, "observed": np.nan,
                             "expected": np.nan, "undefined": reason})
    values = [GAP] + sorted(pd.unique(pick["code_id"]).astype(str).tolist())
    ordered = pick.sort_values(["coder", "source", "start"], kind="stable")
    value = pd.Index(values).get_indexer(ordered["code_id"].astype(str)).astype(np.int64)
    fam = _alpha_family(_line_from_frame(ordered, chosen, sources, lengths, value), chosen,
                        values)
    return pd.DataFrame([{"measure": name, "value": fam[key].value,
                          "observed": fam[key].observed, "expected": fam[key].expected,
                          "undefined": fam[key].undefined}
                         for name, key in zip(names, ["u", "binary", "cu"], strict=True)])
