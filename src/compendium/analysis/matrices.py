"""Matrix displays: the conceptually clustered matrix and the framework matrix.

Both are classic qualitative data displays. The conceptually clustered matrix
(Miles & Huberman 1994) crosses the codes of one theme with the two
perspectives and puts an illustrative quote in each cell; the framework matrix
(Ritchie & Spencer 1994) crosses interviewees with codes.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import (
    PERSPECTIVES,
    check_coder,
    code_entries,
    coded_segments,
    id_columns,
    perspectives,
    positions,
    select_codings,
)
from .frequencies import frequencies_of_coded

#: The quote rule, as printed in the paper. Keep in sync with the code below.
QUOTE_RULE = (
    "Among the segments carrying the code from that perspective, prefer segments "
    "that carry only that code (most specific), then the segment whose length in "
    "characters is closest to the median length of all those candidate segments "
    "(most typical), then the smallest segment id. No interviewee is quoted twice in "
    "one matrix: cells are filled in codebook order, entrepreneur then intermediary, "
    "and an interviewee already quoted is skipped; if all candidates have already "
    "been quoted, the cell has no quote."
)


def _check_theme(codebook: pd.DataFrame, theme: str) -> None:
    """Raise ValueError when ``theme`` is not a theme of the codebook."""
    themes = set(codebook["theme"].dropna())
    if "level" in codebook.columns:
        themes |= set(codebook.loc[codebook["level"] == "theme", "code_id"])
    if theme not in themes:
        raise ValueError(f"unknown theme {theme!r}; the codebook has themes {sorted(themes)}")


def quote_candidates(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    codebook: pd.DataFrame,
    theme: str,
    coder: str | None = None,
) -> pd.DataFrame:
    """Rank, within each (code, perspective) cell of a theme, the segments that could be quoted.

    This is the per-cell half of the quote rule (see :data:`QUOTE_RULE`),
    done for all cells at once: a segment that carries only the code
    illustrates it without distraction, and a segment of median length is
    neither a fragment nor a speech. The no-repeat constraint, which couples
    cells, is applied afterwards by :func:`select_quotes`.

    Returns
    -------
    DataFrame with one row per (code of ``theme``, perspective, candidate
    segment), ordered by codebook order, perspective, then rank; columns:
    code_id, perspective, rank (1 = preferred), segment_id, participant_id,
    text, n_codes (codes the segment carries, all themes, same coder
    selection), only_code (n_codes == 1), length (characters),
    median_length (median length of the cell's candidates), distance
    (|length - median_length|).
    """
    _check_theme(codebook, theme)
    codes = code_entries(codebook)
    theme_codes = codes.loc[codes["theme"] == theme, "code_id"]
    selected = select_codings(codings, coder)
    # Specificity counts every code on the segment, whatever its theme: a
    # segment also coded under another theme is not a clean illustration.
    # (One factorisation and a bincount: a groupby and a map over a million
    # segment ids cost several times more.)
    segment, _ = pd.factorize(selected["segment_id"], use_na_sentinel=False)
    in_theme = selected["code_id"].isin(theme_codes).to_numpy()
    cand = (
        selected[in_theme]
        .assign(_segment=segment[in_theme])
        .merge(
            id_columns(segments, ["segment_id", "participant_id", "text"]),
            on="segment_id",
            how="inner",
        )
    )
    return _ranked(cand, np.bincount(segment), participants, theme_codes)


def _ranked(cand: pd.DataFrame, n_codes: np.ndarray, participants: pd.DataFrame,
            theme_codes: pd.Series, id_order: str = "segment_id") -> pd.DataFrame:
    """Candidates ranked within their cells: the quote rule's per-cell half.

    ``cand`` holds one row per candidate (code_id, segment_id, participant_id,
    text, and ``_segment``, the segment's integer code); ``n_codes[code]`` is how
    many codes that segment carries. Shared by :func:`quote_candidates` and
    :func:`clustered_matrix`, which reach the same rows by different joins.
    ``id_order`` names the column whose order is the segment ids' order: the ids
    themselves, or integers the caller has proven to sort as the ids do (which
    sorts a large table without comparing strings).
    """
    cand = cand.merge(perspectives(participants), on="participant_id", how="inner")
    cand["n_codes"] = n_codes[cand["_segment"].to_numpy()].astype("int64")
    cand["only_code"] = cand["n_codes"].eq(1)
    cand["length"] = cand["text"].fillna("").str.len().astype("int64")
    cell = ["code_id", "perspective"]
    # The median is taken over all candidates of the cell (not only the
    # specific ones), so "typical" means typical of what was coded there.
    cand["median_length"] = cand.groupby(cell)["length"].transform("median").astype(float)
    cand["distance"] = (cand["length"] - cand["median_length"]).abs()

    # Every candidate's code is a code of the theme and its perspective one of
    # PERSPECTIVES (checked above), so each has a position.
    cand["_code_pos"] = pd.Index(theme_codes).get_indexer(cand["code_id"])
    cand["_persp_pos"] = pd.Index(PERSPECTIVES).get_indexer(cand["perspective"])
    cand["_not_only"] = ~cand["only_code"]
    # The keys order every row: a segment is a candidate once per cell (the pairs are
    # distinct), so the order the joins left them in does not matter.
    keys = ["_code_pos", "_persp_pos", "_not_only", "distance", id_order]
    if id_order == "segment_id":
        cand = cand.sort_values(keys, kind="stable")
    else:  # numbers only: numpy sorts them without factorising each key as pandas would
        cand = cand.iloc[np.lexsort([cand[k].to_numpy() for k in reversed(keys)])]
    cand["rank"] = cand.groupby(cell).cumcount().astype("int64") + 1
    columns = [
        "code_id",
        "perspective",
        "rank",
        "segment_id",
        "participant_id",
        "text",
        "n_codes",
        "only_code",
        "length",
        "median_length",
        "distance",
    ]
    return cand[columns].reset_index(drop=True)


def select_quotes(candidates: pd.DataFrame, cells: pd.DataFrame) -> pd.DataFrame:
    """Pick one quote per cell from ranked candidates, never quoting an interviewee twice.

    Quoting the same articulate interviewee in every cell would make one
    voice stand for the whole study, so cells are filled in the order of
    ``cells`` (callers pass codebook order, entrepreneur then intermediary)
    and each takes its best-ranked candidate whose interviewee has not been
    quoted yet. A cell whose candidates are all used gets no quote.

    Parameters
    ----------
    candidates:
        Output of :func:`quote_candidates`.
    cells:
        code_id and perspective of the cells, in filling order.

    Returns
    -------
    DataFrame aligned with ``cells`` (same order, RangeIndex): code_id,
    perspective, quote_segment_id, quote_participant_id, quote_text (None
    when the cell has no quote).
    """
    # Grouping keeps each cell's rows in the order they come, so ordering by rank
    # alone (stable) gives every cell its candidates best first, as sorting by
    # code, perspective and rank would, without sorting a large table by strings.
    ranked = candidates.sort_values("rank", kind="stable")
    by_cell = {key: group for key, group in ranked.groupby(["code_id", "perspective"], sort=False)}
    used: set[str] = set()
    chosen: list[tuple[str | None, str | None, str | None]] = []
    # The loop is over cells (a few dozen at most); the constraint couples
    # them, so this part cannot be a single grouped operation.
    for code_id, perspective in zip(cells["code_id"], cells["perspective"], strict=True):
        group = by_cell.get((code_id, perspective))
        if group is not None:
            free = group[~group["participant_id"].isin(used)]
            if len(free):
                best = free.iloc[0]
                used.add(best["participant_id"])
                chosen.append((best["segment_id"], best["participant_id"], best["text"]))
                continue
        chosen.append((None, None, None))
    out = cells[["code_id", "perspective"]].reset_index(drop=True).copy()
    for i, column in enumerate(("quote_segment_id", "quote_participant_id", "quote_text")):
        # object dtype keeps a genuine None for "no quote" (a string column
        # would turn it into NaN).
        out[column] = pd.Series([row[i] for row in chosen], dtype=object)
    return out


def clustered_matrix(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    codebook: pd.DataFrame,
    theme: str,
    coder: str | None = None,
    min_interviewees: int = 1,
) -> pd.DataFrame:
    """Build the conceptually clustered matrix (Miles & Huberman 1994) of one theme.

    Rows are the theme's codes crossed with the two perspectives, each with
    how many interviewees of that perspective raised the code and one
    illustrative quote, so a reader sees both the pattern and the evidence.

    Codes raised by fewer than ``min_interviewees`` interviewees in total
    (both perspectives together) are dropped, to keep idiosyncratic codes out
    of the display; ``min_interviewees=0`` keeps every code.

    Quote rule (printed in the paper): among the segments carrying the code
    from that perspective, prefer segments that carry only that code (most
    specific), then the segment whose length in characters is closest to the
    median length of all those candidate segments (most typical), then the
    smallest segment id. No interviewee is quoted twice in one matrix: cells
    are filled in codebook order, entrepreneur then intermediary, and an
    interviewee already quoted is skipped; if all candidates have already
    been quoted, the cell has no quote.

    Returns
    -------
    DataFrame, one row per (kept code of ``theme``, perspective) in codebook
    order then ("entrepreneur", "intermediary"): code_id, name, perspective,
    n_interviewees, group_size, quote_segment_id, quote_participant_id,
    quote_text (the last three None when the cell has no quote).

    Raises
    ------
    ValueError
        If ``theme`` is not in the codebook, ``coder`` is unknown, or
        ``min_interviewees`` is negative.
    """
    _check_theme(codebook, theme)
    if isinstance(min_interviewees, bool) or not isinstance(min_interviewees, (int, np.integer)):
        raise ValueError(f"min_interviewees must be an integer, got {min_interviewees!r}")
    if min_interviewees < 0:
        raise ValueError(f"min_interviewees must be >= 0, got {min_interviewees}")
    # Counting only this coder's codings of this theme's codes gives the same counts
    # for the theme's codes as counting everything, at a fraction of the cost.
    coders_codings = codings
    if coder is not None:
        by_coder = (codings["coder"] == coder).to_numpy(dtype=bool, na_value=False)
        if not by_coder.any():
            check_coder(codings, coder)  # names the coders there are
        coders_codings = codings[by_coder]
    codes = code_entries(codebook)
    theme_codes = codes.loc[codes["theme"] == theme, "code_id"]
    in_theme = coders_codings["code_id"].isin(theme_codes).to_numpy()
    mine = coders_codings[in_theme]
    # Only the segments carrying a code of the theme enter the counts and the
    # quotes, and only their codings (of every theme) say how specific a quote
    # is; joining those few instead of the whole tables gives the same matrix
    # at a fraction of the cost on a large dataset. One factorisation of the
    # segment ids of both tables selects them (as ``isin`` would, a missing id
    # matching a missing id) without hashing a million strings twice more.
    on_segments, on_codings = _same_codes(segments["segment_id"], coders_codings["segment_id"])
    carrying = np.zeros(max(on_segments.max(initial=-1), on_codings.max(initial=-1)) + 1, bool)
    carrying[on_codings[in_theme]] = True
    # Rows are taken by position from the columns the matrix uses, once, rather than
    # filtering whole tables of a million rows.
    rows = np.flatnonzero(carrying[on_segments])
    seg_codes = on_segments[rows]
    on_them_mask = carrying[on_codings]
    on_them = coders_codings[on_them_mask]
    # code_frequencies(mine, segments, ...) with the segment ids as integer codes:
    # the same pairs, joins and distinct counts, without hashing the ids again.
    coded = (pd.DataFrame({"segment_id": on_codings[in_theme],
                           "code_id": mine["code_id"].to_numpy()})
             .drop_duplicates()
             .merge(pd.DataFrame({"segment_id": seg_codes,
                                  "participant_id":
                                      segments["participant_id"].to_numpy()[rows]}),
                    on="segment_id", how="inner"))
    freq = frequencies_of_coded(coded, participants, codebook)
    freq = freq[freq["theme"] == theme]
    # Perspectives are disjoint, so summing the two rows counts each
    # interviewee once.
    totals = freq.groupby("code_id", sort=False)["n_interviewees"].transform("sum")
    cells = freq.loc[
        totals >= min_interviewees,
        ["code_id", "name", "perspective", "n_interviewees", "group_size"],
    ].reset_index(drop=True)
    if np.bincount(seg_codes).max(initial=0) <= 1:  # each segment id listed once
        candidates = _candidates_by_code(on_them, on_codings[on_them_mask], segments,
                                         rows, seg_codes, participants, theme_codes)
    else:  # a segment id listed twice (validation refuses it): joined as the rule's own code
        # (Without a coding of the theme, the coder's codings keep the coder known.)
        candidates = quote_candidates(on_them if len(on_them) else coders_codings,
                                      segments.iloc[rows], participants, codebook, theme,
                                      coder=coder)
    quotes = select_quotes(candidates, cells)
    return pd.concat(
        [cells, quotes[["quote_segment_id", "quote_participant_id", "quote_text"]]], axis=1
    )


def _candidates_by_code(codings: pd.DataFrame, codings_segment: np.ndarray,
                        segments: pd.DataFrame, rows: np.ndarray, rows_segment: np.ndarray,
                        participants: pd.DataFrame, theme_codes: pd.Series) -> pd.DataFrame:
    """:func:`quote_candidates` of one coder's ``codings`` (already selected) on the
    ``segments`` at positions ``rows``, whose ids are distinct, joined on the integer
    segment codes the caller made once (``codings_segment``, ``rows_segment``), not on
    the ids' strings again."""
    code, code_ids = pd.factorize(codings["code_id"], use_na_sentinel=False)
    # distinct (segment, code) pairs, first occurrences in order, as drop_duplicates keeps
    pair = codings_segment.astype(np.int64) * (len(code_ids) + 1) + code
    first = np.flatnonzero(~pd.Series(pair, copy=False).duplicated().to_numpy())
    segment = codings_segment[first]
    in_theme = first[pd.Index(code_ids).isin(theme_codes)[code[first]]]
    row_of = np.full(int(max(segment.max(initial=-1), rows_segment.max(initial=-1))) + 1,
                     -1, np.int64)
    row_of[rows_segment] = rows
    picked = row_of[codings_segment[in_theme]]
    joined = picked >= 0  # an inner join: a coding's segment missing from ``segments`` drops
    chosen, picked = in_theme[joined], picked[joined]
    ids = segments["segment_id"].to_numpy(dtype=object)
    cand = pd.DataFrame({
        "segment_id": ids[picked],
        "code_id": codings["code_id"].to_numpy()[chosen],
        "_segment": codings_segment[chosen],
        "participant_id": segments["participant_id"].to_numpy()[picked],
        "text": segments["text"].to_numpy()[picked],
    })
    # Codes the segment carries: its distinct pairs, as the rule's own code counts them.
    n_codes = np.bincount(segment)
    # The ids' order as integers: the candidates' distinct rows ranked by their ids,
    # each id once (the caller checked), so sorting by rank is sorting by id without
    # the strings in the table's sort (ids nearly in order, as exports list them,
    # sort in about one pass). A missing id cannot be compared: sorted as the rule does.
    listed = np.zeros(len(ids), bool)
    listed[picked] = True
    listed = np.flatnonzero(listed)
    try:
        order = np.argsort(ids[listed], kind="stable")
    except TypeError:
        id_order = "segment_id"
    else:
        rank = np.empty(len(ids), np.int64)
        rank[listed[order]] = np.arange(len(listed))
        cand["_id_rank"] = rank[picked]
        id_order = "_id_rank"
    return _ranked(cand, n_codes, participants, theme_codes, id_order=id_order)


def _same_codes(left: pd.Series, right: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Integer codes of two columns' values from one factorisation (equal values, equal codes;
    missing values share a code of their own)."""
    both = np.concatenate([left.to_numpy(dtype=object), right.to_numpy(dtype=object)])
    codes, _ = pd.factorize(both, use_na_sentinel=False)
    return codes[: len(left)], codes[len(left):]


def framework_matrix(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    participants: pd.DataFrame,
    codebook: pd.DataFrame,
    coder: str | None = None,
    value: str = "count",
) -> pd.DataFrame:
    """Build the framework matrix (Ritchie & Spencer 1994): interviewees x codes.

    Reading a row shows one interviewee's account across the codebook;
    reading a column shows how a code is spread across interviewees, which is
    how framework analysis moves between case and theme.

    Parameters
    ----------
    value:
        ``"count"``: number of the interviewee's segments carrying the code;
        ``"presence"``: 1 if at least one does, else 0.

    Returns
    -------
    Wide DataFrame indexed by participant_id (every participant in
    ``participants``, entrepreneurs first, then by id), with a
    ``perspective`` column first and then one int64 column per code-level
    code in codebook order.
    """
    if value not in ("count", "presence"):
        raise ValueError(f"unknown value {value!r}; use 'count' or 'presence'")
    codes = code_entries(codebook)["code_id"].tolist()
    persp = perspectives(participants)
    persp = persp.assign(_pos=persp["perspective"].map(positions(PERSPECTIVES)))
    persp = persp.sort_values(["_pos", "participant_id"], kind="stable")
    ids = pd.Index(persp["participant_id"])

    carried = coded_segments(codings, segments, coder)
    rows = ids.get_indexer(carried["participant_id"])
    cols = pd.Index(codes).get_indexer(carried["code_id"])
    keep = (rows >= 0) & (cols >= 0)
    counts = np.zeros((len(ids), len(codes)), dtype=np.int64)
    # carried holds distinct (segment, code) pairs, so adding 1 per row counts
    # segments; np.add.at accumulates repeated (row, col) positions.
    np.add.at(counts, (rows[keep], cols[keep]), 1)
    if value == "presence":
        counts = (counts > 0).astype(np.int64)

    out = pd.DataFrame(counts, index=pd.Index(ids, name="participant_id"), columns=codes)
    out.insert(0, "perspective", persp["perspective"].to_numpy())
    out.columns.name = None
    return out
