"""A toy agreement measure, the analysis module of tests/test_measure_registry.py.

Exact-span agreement: per code, the spans both coders marked with the same
source, start and end, as a share of the distinct spans either marked. It is
here only to show that a measure is one analysis module plus one registry
entry; the paper does not report it.
"""

from __future__ import annotations

import pandas as pd

from compendium.analysis import POOLED, MeasureInputs


def exact_span_measure(inputs: MeasureInputs) -> pd.DataFrame:
    """Per code and pooled: spans both coders marked exactly alike, of those either marked."""
    a, b = inputs.coders
    spans = inputs.spans[["coder", "code_id", "source", "start", "end"]].drop_duplicates()
    key = ["code_id", "source", "start", "end"]
    mine = spans[spans["coder"] == a][key]
    theirs = spans[spans["coder"] == b][key]
    both = mine.merge(theirs, on=key).groupby("code_id").size()
    either = pd.concat([mine, theirs]).drop_duplicates().groupby("code_id").size()
    table = pd.DataFrame({"both": both.reindex(either.index, fill_value=0), "either": either})
    table.loc[POOLED] = table.sum()
    table["share"] = table["both"] / table["either"]
    return table.rename_axis("code_id").reset_index()
