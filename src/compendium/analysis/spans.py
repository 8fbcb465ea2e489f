"""Coders' own spans on the transcripts, as interval lists.

In a real double-coding exercise each coder selects their own stretch of text
before applying a code, so two coders' spans rarely share a start and an end.
The text-based agreement measures (:mod:`.character`, :mod:`.unitized`,
:mod:`.overlap`) therefore compare the positions of the spans on the
transcript, not segment ids. This module turns the canonical tables
(``segments`` with ``source``/``start``/``end``, ``codings`` with ``coder``)
into those interval lists and finds where a coder's own spans overlap.

Every function here sorts once and then works on sorted arrays, so the cost is
O(n log n) in the number of spans; nothing builds an n x n table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np
import pandas as pd

from ..errors import CompendiumError

SPAN_COLUMNS = ["coder", "source", "code_id", "start", "end"]


class AgreementDataError(CompendiumError, ValueError):
    """The data cannot give the agreement asked for (one coder, unknown coder...).

    A :class:`CompendiumError`, so the command line prints its message as
    one line with exit status 1.
    """


def default_sources(segments: pd.DataFrame) -> pd.Series:
    """The ``source`` of each segment, defaulting to ``transcripts/<participant_id>.txt``."""
    default = "transcripts/" + segments["participant_id"].astype(str) + ".txt"
    if "source" not in segments.columns:
        return default
    return segments["source"].astype(object).where(segments["source"].notna(), default)


def coder_spans(segments: pd.DataFrame, codings: pd.DataFrame,
                coders: Iterable[str] | None = None) -> pd.DataFrame:
    """One row per span a coder marked with a code: coder, source, code_id, start, end.

    Parameters
    ----------
    segments, codings:
        The canonical tables (data/README.md). Segments need ``start`` and
        ``end`` offsets on their transcript.
    coders:
        Keep only these coders (all when None).

    Returns
    -------
    DataFrame sorted by coder, source, code_id, start, end; ``start`` and
    ``end`` are int64 code-point offsets, end exclusive. A code applied twice
    to the same span by the same coder appears once.

    Raises
    ------
    AgreementDataError
        When a coded segment has no ``start``/``end``: text-based agreement
        needs the position of every span.
    """
    segs = segments.assign(source=default_sources(segments))
    if "start" not in segs.columns or "end" not in segs.columns:
        raise AgreementDataError(
            "segments.csv has no start/end offsets; text-based agreement needs the position "
            "of every span on its transcript (use --measure segment)")
    pick = codings if coders is None else codings[codings["coder"].isin(list(coders))]
    joined = pick[["segment_id", "code_id", "coder"]].merge(
        segs[["segment_id", "source", "start", "end"]], on="segment_id", how="inner")
    missing = joined["start"].isna() | joined["end"].isna()
    if missing.any():
        example = joined.loc[missing, "segment_id"].iloc[0]
        raise AgreementDataError(
            f"segment {example} (and {int(missing.sum()) - 1} more coded spans) has no "
            "start/end offsets; text-based agreement needs the position of every span "
            "(use --measure segment)")
    out = joined[SPAN_COLUMNS].astype({"start": np.int64, "end": np.int64})
    out = out.drop_duplicates().sort_values(SPAN_COLUMNS, kind="stable")
    return out.reset_index(drop=True)


def source_lengths(spans: pd.DataFrame,
                   transcripts: Mapping[str, str] | None = None) -> dict[str, int]:
    """Length of each source's continuum, in code points.

    The transcript's length when the transcript is known; otherwise the end
    of the last span any coder marked in it (text after the last coded
    character is then left out of the continuum, which makes agreement on
    "not coded" slightly smaller; pass the transcripts to avoid it).
    """
    ends = spans.groupby("source")["end"].max() if len(spans) else pd.Series(dtype=np.int64)
    lengths = {str(s): int(e) for s, e in ends.items()}
    for source, text in (transcripts or {}).items():
        if source in lengths or not len(spans):
            lengths[source] = max(len(text), lengths.get(source, 0))
    return dict(sorted(lengths.items()))


def shared_sources(spans: pd.DataFrame, coders: Iterable[str]) -> list[str]:
    """Sorted sources in which every one of ``coders`` marked at least one span.

    Only these sources are compared: where a coder marked nothing in a
    source, the source was most likely not given to them, and counting it
    would turn "not looked at" into "decided nothing applies".
    """
    coders = list(coders)
    per_source = spans[spans["coder"].isin(coders)].groupby("source")["coder"].nunique()
    return sorted(per_source.index[per_source == len(coders)].astype(str).tolist())


def check_coders(spans_or_codings: pd.DataFrame, coders: Iterable[str] | None,
                 exactly: int | None = None) -> list[str]:
    """The coders to compare, checked; all coders (sorted) when ``coders`` is None.

    Raises AgreementDataError for a single-coder dataset, an unknown coder,
    a repeated coder, or (with ``exactly``) the wrong number of coders.
    """
    known = sorted(pd.unique(spans_or_codings["coder"]).astype(str).tolist())
    if len(known) < 2:
        only = f" (only {known[0]!r})" if known else ""
        raise AgreementDataError(f"agreement needs two coders; the dataset has one{only}"
                                 if known else "agreement needs two coders; there are no codings")
    chosen = known if coders is None else [str(c) for c in coders]
    unknown = [c for c in chosen if c not in known]
    if unknown:
        raise AgreementDataError(f"unknown coder {unknown[0]!r}; the coders are "
                                 + ", ".join(known))
    if len(set(chosen)) != len(chosen):
        raise AgreementDataError("a coder is named twice; agreement compares different coders")
    if len(chosen) < 2:
        raise AgreementDataError("name at least two coders to compare")
    if exactly is not None and len(chosen) != exactly:
        raise AgreementDataError(
            f"this measure compares exactly {exactly} coders; {len(chosen)} were given "
            f"({', '.join(chosen)}); name two with --coders")
    return chosen


def shared_continuum(spans: pd.DataFrame, coders: Iterable[str] | None,
                     lengths: Mapping[str, int] | None) -> tuple[list[str], list[str],
                                                                dict[str, int]]:
    """The coders compared, the sources all of them coded, and each source's length.

    Raises AgreementDataError when the coders share no source.
    """
    chosen = check_coders(spans, coders)
    sources = shared_sources(spans, chosen)
    if not sources:
        raise AgreementDataError("coders " + ", ".join(repr(c) for c in chosen)
                                 + " share no source; agreement needs text all of them coded")
    return chosen, sources, dict(lengths) if lengths is not None else source_lengths(spans)


def merge_overlapping(spans: pd.DataFrame, keys: list[str]) -> pd.DataFrame:
    """Union of each group's overlapping intervals (touching ones stay apart).

    A coder who marks the same code on two overlapping spans has coded the
    characters they share once; merging first keeps those characters from
    counting twice. Spans that only touch (one ends where the next starts)
    are kept as separate units, as in Krippendorff's examples.

    Returns the groups' ``keys`` columns plus ``start`` and ``end``, sorted.
    """
    if not len(spans):
        return spans[keys + ["start", "end"]].copy()
    s = spans.sort_values(keys + ["start", "end"], kind="stable").reset_index(drop=True)
    group = s.groupby(keys, sort=False).ngroup().to_numpy()
    start = s["start"].to_numpy(np.int64)
    end = s["end"].to_numpy(np.int64)
    running = pd.Series(end).groupby(group).cummax().to_numpy()
    previous = np.r_[np.iinfo(np.int64).min, running[:-1]]
    new_block = np.r_[True, group[1:] != group[:-1]] | (start >= previous)
    # A span that only touches the block before it (start == previous end)
    # starts a new unit; one that begins inside it joins it.
    block = np.cumsum(new_block) - 1
    merged = s.loc[new_block, keys].reset_index(drop=True)
    merged["start"] = start[new_block]
    merged["end"] = pd.Series(end).groupby(block).max().to_numpy()
    return merged


def self_overlaps(spans: pd.DataFrame) -> pd.DataFrame:
    """Spans that overlap another span of the same coder in the same source.

    Codes that overlap within one coder are normal in qualitative coding (a
    passage about leads and trust gets both codes), but the multi-valued
    unitized coefficients assume one value per position per coder. Returns
    the overlapping spans (the columns of :func:`coder_spans`), sorted.
    """
    if not len(spans):
        return spans.iloc[0:0]
    s = spans.sort_values(["coder", "source", "start", "end"], kind="stable").reset_index(drop=True)
    group = s.groupby(["coder", "source"], sort=False).ngroup().to_numpy()
    start = s["start"].to_numpy(np.int64)
    end = s["end"].to_numpy(np.int64)
    running = pd.Series(end).groupby(group).cummax().to_numpy()
    first = np.r_[True, group[1:] != group[:-1]]
    previous = np.r_[0, running[:-1]]
    hits_previous = ~first & (start < previous)
    # A span overlapping an earlier one makes both overlapping: mark the
    # earlier ones by a reverse pass on starts (the next start is before my end).
    next_start = np.r_[start[1:], np.iinfo(np.int64).max]
    last = np.r_[group[1:] != group[:-1], True]
    hits_next = ~last & (next_start < end)
    return s[hits_previous | hits_next].reset_index(drop=True)


def coders_with_overlapping_spans(spans: pd.DataFrame) -> list[str]:
    """Sorted coders who have at least two overlapping spans in some source."""
    return sorted(pd.unique(self_overlaps(spans)["coder"]).astype(str).tolist())


def intersection_lengths(a: pd.DataFrame, b: pd.DataFrame, keys: list[str]) -> pd.Series:
    """Total length shared by two interval lists, per group of ``keys``.

    ``a`` and ``b`` must each hold non-overlapping intervals within a group
    (use :func:`merge_overlapping`). A sweep over the sorted boundaries
    counts the stretches covered by both: O(n log n), no pairwise table.
    """
    frames = []
    for frame in (a, b):
        k = frame[keys]
        frames.append(pd.concat([k.assign(pos=frame["start"].to_numpy(), step=1),
                                 k.assign(pos=frame["end"].to_numpy(), step=-1)]))
    events = pd.concat(frames, ignore_index=True)
    if not len(events):
        return pd.Series(dtype=np.int64, index=pd.MultiIndex.from_tuples([], names=keys))
    # Ends before starts at the same position: touching intervals share nothing.
    events = events.sort_values(keys + ["pos", "step"], kind="stable").reset_index(drop=True)
    depth = events["step"].cumsum().to_numpy()  # every group's steps sum to 0
    pos = events["pos"].to_numpy(np.int64)
    gid = events.groupby(keys, sort=False).ngroup().to_numpy()
    width = np.r_[pos[1:] - pos[:-1], 0]
    same = np.r_[gid[1:] == gid[:-1], False]
    shared = np.where((depth == 2) & same, width, 0)
    return pd.Series(shared, index=pd.MultiIndex.from_frame(events[keys])).groupby(
        level=list(range(len(keys)))).sum()
