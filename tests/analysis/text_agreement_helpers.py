"""Build canonical tables (segments, codings) from lists of coders' spans.

The published worked examples give each coder's units as (begin, length)
on a continuum; these helpers write them as the compendium's segments.csv
and codings.csv rows, one segment per span, so the examples run through the
same code path as a real dataset.
"""

from __future__ import annotations

import pandas as pd


def tables_from_spans(spans: list[tuple[str, str, str, int, int]]) -> tuple[pd.DataFrame,
                                                                          pd.DataFrame]:
    """Segments and codings from (coder, source, code, start, end) rows.

    Each span becomes its own segment (as each coder's own selection does in
    a QDA export); the participant is the source's stem.
    """
    seg_rows, cod_rows = [], []
    for n, (coder, source, code, start, end) in enumerate(spans, start=1):
        sid = f"S{n:04d}"
        pid = source.rsplit("/", 1)[-1].split(".")[0]
        seg_rows.append({"segment_id": sid, "participant_id": pid, "source": source,
                         "start": start, "end": end, "text": "x" * (end - start)})
        cod_rows.append({"segment_id": sid, "code_id": code, "coder": coder})
    segments = pd.DataFrame(seg_rows, columns=["segment_id", "participant_id", "source", "start",
                                               "end", "text"])
    codings = pd.DataFrame(cod_rows, columns=["segment_id", "code_id", "coder"])
    return segments, codings


def units_from_begin_length(rows: list[tuple[int, int]], stretch: float = 1.0):
    """(begin, length) units as sorted (start, end) pairs, scaled like DKPro's examples."""
    out = sorted((int(b * stretch), int(b * stretch) + int(n * stretch)) for b, n in rows)
    return out


# Krippendorff (1995, p. 57): four pairs of observers, each on a continuum of
# 24, one category each (A-D). (begin, length) of each observer's units.
K1995 = {
    "A": {"Bertha": [(2, 8), (14, 6)], "Bill": [(4, 4), (15, 2)]},
    "B": {"John": [(0, 18)],
          "Jill": [(0, 2), (2, 1), (3, 1), (4, 1), (5, 1), (6, 3), (9, 1)]},
    "C": {"Gerret": [(2, 6), (10, 2), (14, 4), (20, 2)],
          "Gill": [(0, 2), (4, 4), (10, 4), (16, 2), (20, 2)]},
    "D": {"Heather": [(0, 2), (2, 8), (10, 4), (14, 6), (20, 4)],
          "Hill": [(0, 4), (4, 4), (8, 7), (15, 2), (17, 7)]},
}

# Krippendorff (2004, p. 254): two observers i and j on the continuum
# [150, 450), categories c and k; (begin, length) as printed.
K2004 = {
    "c": {"i": [(225, 70), (370, 30)], "j": [(220, 80), (355, 20), (400, 20)]},
    "k": {"i": [(180, 60), (300, 50)], "j": [(180, 60), (300, 50)]},
}
K2004_OFFSET = 150
K2004_LENGTH = 300
