"""The synthetic dataset's second coder: their codes, and the spans they mark themselves.

The second coder of the demonstration dataset agrees with the first on most
codes and disagrees in the ordinary ways of double coding; with transcripts,
they also select their own text, so that span-level agreement has boundaries
to compare. Used by ``synthetic``, which draws the first coder's codings.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
import pandas as pd

#: Second coder on this share of interviews (5 of 14, at least 4 as the design asks).
DOUBLE_CODED_SHARE = 5 / 14
SECOND_CODER = "coder_b"



def second_coder(codings: pd.DataFrame, participants: pd.DataFrame,
                 codes: list[dict[str, Any]], rng: np.random.Generator) -> pd.DataFrame:
    """Codings of a second coder on a stratified subset of interviews.

    The second coder agrees with the first on most codes, sometimes chooses a
    sibling code of the same sub-theme instead, sometimes leaves a code out and
    occasionally adds one: the ordinary disagreements of double coding.
    ``codes`` are the codebook's codes (``id`` and ``parent`` each).
    """
    n_double = max(min(4, len(participants)), math.ceil(len(participants) * DOUBLE_CODED_SHARE))
    chosen = []
    for perspective, share in (("entrepreneur", 0.6), ("intermediary", 0.4)):
        ids = participants.loc[participants["perspective"] == perspective, "participant_id"]
        take = min(len(ids), max(1, round(n_double * share)))
        chosen += sorted(rng.choice(ids.to_numpy(), size=take, replace=False).tolist())
    mine = codings[codings["participant_id"].isin(chosen)].copy()
    parent = {c["id"]: c["parent"] for c in codes}
    siblings = {cid: [c["id"] for c in codes if c["parent"] == p and c["id"] != cid]
                for cid, p in parent.items()}
    u = rng.random(len(mine))
    pick = rng.integers(0, 1_000_000, size=len(mine))
    new_code = []
    for code, roll, k in zip(mine["code_id"], u, pick, strict=True):
        if roll < 0.84:
            new_code.append(code)
        elif roll < 0.94 and siblings[code]:
            new_code.append(siblings[code][k % len(siblings[code])])
        else:
            new_code.append(None)  # left out
    mine["code_id"] = new_code
    extra = mine.sample(frac=0.05, random_state=np.random.RandomState(int(rng.integers(2**31))))
    all_codes = [c["id"] for c in codes]
    extra = extra.assign(code_id=[all_codes[k % len(all_codes)]
                                  for k in rng.integers(0, 1_000_000, size=len(extra))])
    result = pd.concat([mine, extra]).dropna(subset=["code_id"])
    result = result.drop_duplicates(["segment_id", "code_id"])
    return result.assign(coder=SECOND_CODER)


#: How the second coder's own spans differ from the first coder's segments
#: (shares of the passages the second coder was given, drawn in this order).
MISSED_SHARE = 0.08  # a passage the first coder coded and the second missed
SPLIT_SHARE = 0.08  # one segment marked as two spans
DRIFT_SHARE = 0.40  # boundaries drifting by a few words
MAX_DRIFT_WORDS = 3
MIN_SPLIT_WORDS = 12


def _word_edges(text: str) -> tuple[np.ndarray, np.ndarray]:
    """Offsets where the words of ``text`` start and end (code points)."""
    spans = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    return (np.array([a for a, _ in spans], dtype=np.int64),
            np.array([b for _, b in spans], dtype=np.int64))


def _moved(edges: np.ndarray, pos: int, words: int) -> int:
    """The word edge ``words`` edges away from ``pos`` (an edge itself), clamped to the text."""
    here = int(np.searchsorted(edges, pos))
    return int(edges[min(max(here + words, 0), len(edges) - 1)])


def own_spans(codings_b: pd.DataFrame, segments: pd.DataFrame, transcripts: dict[str, str],
              participants: pd.DataFrame, rng: np.random.Generator) -> tuple[pd.DataFrame,
                                                                            pd.DataFrame]:
    """Give the second coder their own spans, as a real coder selects text.

    Starting from the second coder's decisions on the first coder's segments
    (:func:`second_coder`), each passage is, in turn: missed altogether
    (:data:`MISSED_SHARE`), split into two spans at a word near its middle
    (:data:`SPLIT_SHARE`, passages of at least :data:`MIN_SPLIT_WORDS`
    words), marked with boundaries that drift by one to
    :data:`MAX_DRIFT_WORDS` words at either end (:data:`DRIFT_SHARE`), or
    marked exactly as the first coder did. Spans stay inside their paragraph
    and start and end on word edges, so every span is its transcript's slice.
    A span that coincides with a first-coder segment keeps its segment id, as
    a QDA tool records one selection; the others get ids ``<participant>-B<nnn>``.

    Returns
    -------
    The second coder's codings (segment_id, participant_id, code_id, coder)
    and the new segments (segment_id, participant_id, source, start, end, text).
    """
    where = segments.set_index("segment_id")[["participant_id", "source", "start", "end"]]
    edges = {source: _word_edges(text) for source, text in transcripts.items()}
    spans: list[dict[str, Any]] = []
    for segment_id, group in codings_b.groupby("segment_id", sort=False):
        pid, source, start, end = where.loc[segment_id]
        start, end = int(start), int(end)
        text = transcripts[source]
        starts, ends = edges[source]
        codes = group["code_id"].tolist()
        roll = rng.random()
        drift = rng.integers(-MAX_DRIFT_WORDS, MAX_DRIFT_WORDS + 1, size=2)
        if roll < MISSED_SHARE:
            continue
        n_words = int(np.sum((starts >= start) & (starts < end)))
        if roll < MISSED_SHARE + SPLIT_SHARE and n_words >= MIN_SPLIT_WORDS:
            first_end = _moved(ends, _moved(ends, end, 0), -(n_words // 2))
            second_start = _moved(starts, first_end, 0)
            pieces = [(start, first_end), (second_start, end)]
        elif roll < MISSED_SHARE + SPLIT_SHARE + DRIFT_SHARE:
            new_start = _moved(starts, start, int(drift[0]))
            new_end = _moved(ends, end, int(drift[1]))
            # Keep the span inside its paragraph and non-empty.
            if "\n" in text[min(new_start, start):max(new_start, start)] or new_start >= end:
                new_start = start
            if "\n" in text[min(new_end, end):max(new_end, end)] or new_end <= new_start:
                new_end = end
            pieces = [(new_start, new_end)]
        else:
            pieces = [(start, end)]
        for a, b in pieces:
            spans.append({"same_as": segment_id if (a, b) == (start, end) else None,
                          "participant_id": pid, "source": source, "start": a, "end": b,
                          "codes": codes})
    if not spans:
        empty = codings_b.iloc[0:0].assign(coder=SECOND_CODER)
        return empty[["segment_id", "participant_id", "code_id", "coder"]], segments.iloc[0:0]
    frame = pd.DataFrame(spans)
    rank = {p: i for i, p in enumerate(participants["participant_id"])}
    frame = frame.assign(_r=frame["participant_id"].map(rank)).sort_values(
        ["_r", "start", "end"], kind="stable").reset_index(drop=True)
    own = frame["same_as"].isna()
    number = frame[own].groupby("participant_id").cumcount() + 1
    frame["segment_id"] = frame["same_as"]
    frame.loc[own, "segment_id"] = (frame.loc[own, "participant_id"] + "-B"
                                    + number.astype(str).str.zfill(3))
    new_segments = frame[own].copy()
    new_segments["text"] = [transcripts[s][a:b] for s, a, b in
                            zip(new_segments["source"], new_segments["start"],
                                new_segments["end"], strict=True)]
    codings = frame[["segment_id", "participant_id", "codes"]].explode("codes").rename(
        columns={"codes": "code_id"}).drop_duplicates(["segment_id", "code_id"])
    return (codings.assign(coder=SECOND_CODER).reset_index(drop=True),
            new_segments[["segment_id", "participant_id", "source", "start", "end", "text"]]
            .reset_index(drop=True))
