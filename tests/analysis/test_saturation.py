import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.analysis import (
    interviews_to_reach,
    new_codes_per_interview,
    saturation_curves,
    saturation_facts,
    saturation_summary,
)


def _tables(code_sets: dict[str, list[str]]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One segment per interview carrying the given codes."""
    segments = pd.DataFrame(
        {
            "segment_id": [f"{p}-001" for p in code_sets],
            "participant_id": list(code_sets),
            "text": "x",
        }
    )
    rows = [(f"{p}-001", c, "coder_a") for p, codes in code_sets.items() for c in codes]
    codings = pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"], dtype=object)
    return codings, segments


def test_spec_example_three_interviews():
    # {a, b}, {b, c}, {a}: new 2 (a, b), 1 (c), 0 -> cumulative 2, 3, 3.
    codings, segments = _tables({"P1": ["a", "b"], "P2": ["b", "c"], "P3": ["a"]})
    got = new_codes_per_interview(codings, segments)
    assert list(got.columns) == ["position", "participant_id", "new_codes", "cumulative_codes"]
    assert got["position"].tolist() == [1, 2, 3]
    assert got["participant_id"].tolist() == ["P1", "P2", "P3"]
    assert got["new_codes"].tolist() == [2, 1, 0]
    assert got["cumulative_codes"].tolist() == [2, 3, 3]


def test_new_codes_toy_default_order(codings, segments):
    # Sorted ids; coder_a code sets: E01 {LEADS, PEER}, E02 {LEADS, PEER, SALES},
    # I01 {LEADS, TARGETS}, I02 {TARGETS, SALES}.
    # New: E01 2 (LEADS, PEER); E02 1 (SALES); I01 1 (TARGETS); I02 0.
    got = new_codes_per_interview(codings, segments, coder="coder_a")
    assert got["participant_id"].tolist() == ["E01", "E02", "I01", "I02"]
    assert got["new_codes"].tolist() == [2, 1, 1, 0]
    assert got["cumulative_codes"].tolist() == [2, 3, 4, 4]
    assert isinstance(got.index, pd.RangeIndex)


def test_new_codes_toy_given_order(codings, segments):
    # I02 {TARGETS, SALES} 2; I01 adds LEADS 1; E02 adds PEER 1; E01 adds nothing.
    got = new_codes_per_interview(codings, segments, order=["I02", "I01", "E02", "E01"],
        coder="coder_a")
    assert got["new_codes"].tolist() == [2, 1, 1, 0]
    assert got["cumulative_codes"].tolist() == [2, 3, 4, 4]
    # A subset of interviews is allowed.
    sub = new_codes_per_interview(codings, segments, order=["I01"], coder="coder_a")
    assert sub["new_codes"].tolist() == [2]


def test_new_codes_participant_without_codings(codings, segments):
    # coder_c coded only I02-001 (TARGETS); E01 has segments but no coder_c codings -> 0.
    got = new_codes_per_interview(codings, segments, order=["E01", "I02"], coder="coder_c")
    assert got["new_codes"].tolist() == [0, 1]
    assert got["cumulative_codes"].tolist() == [0, 1]
    # The default order only has interviewees with codings.
    only_c = new_codes_per_interview(codings, segments, coder="coder_c")
    assert only_c["participant_id"].tolist() == ["I02"]


def test_new_codes_invalid_order(codings, segments):
    with pytest.raises(ValueError, match="X99"):
        new_codes_per_interview(codings, segments, order=["E01", "X99"])
    with pytest.raises(ValueError, match="more than once"):
        new_codes_per_interview(codings, segments, order=["E01", "E01"])
    with pytest.raises(ValueError, match="unknown coder"):
        new_codes_per_interview(codings, segments, coder="coder_z")


def test_curves_toy_by_enumeration(codings, segments):
    curves = saturation_curves(codings, segments, n_orders=1000, seed=7, coder="coder_a")
    assert list(curves.columns) == ["order", "position", "cumulative_codes"]
    assert len(curves) == 4000
    assert curves["order"].tolist()[:5] == [1, 1, 1, 1, 2]
    assert curves["position"].tolist()[:5] == [1, 2, 3, 4, 1]
    summary = saturation_summary(curves)
    assert list(summary.columns) == ["position", "mean", "min", "max", "q10", "q90"]
    # Exact values over all orders of E01, E02, I01, I02 (sizes 2, 3, 2, 2 codes):
    #   position 1: |first set| in {2, 3}; expected mean (2+3+2+2)/4 = 2.25
    #   position 2: unions of pairs: E01E02 3, E01I01 3, E01I02 4, E02I01 4, E02I02 4,
    #               I01I02 3 -> range 3..4, expected mean 21/6 = 3.5
    #   positions 3, 4: every triple covers all 4 codes -> 4
    assert summary["position"].tolist() == [1, 2, 3, 4]
    assert summary["min"].tolist() == [2, 3, 4, 4]
    assert summary["max"].tolist() == [3, 4, 4, 4]
    # 1000 orders: standard errors about 0.014 and 0.016, so 0.07 is ~5 SE.
    assert summary["mean"].tolist() == pytest.approx([2.25, 3.5, 4.0, 4.0], abs=0.07)
    # Every curve ends at the total number of codes.
    assert (curves[curves["position"] == 4]["cumulative_codes"] == 4).all()


def test_curves_are_reproducible(codings, segments):
    a = saturation_curves(codings, segments, n_orders=50, seed=3)
    b = saturation_curves(codings, segments, n_orders=50, seed=3)
    pd.testing.assert_frame_equal(a, b)
    with pytest.raises(ValueError, match="n_orders"):
        saturation_curves(codings, segments, n_orders=0)


def test_summary_by_hand():
    # Two orders of three interviews.
    curves = pd.DataFrame(
        {"order": [1, 1, 1, 2, 2, 2], "position": [1, 2, 3, 1, 2, 3],
         "cumulative_codes": [2, 3, 5, 4, 5, 5]}
    )
    got = saturation_summary(curves)
    # position 1: {2, 4} -> mean 3, q10 = 2 + 0.1*2 = 2.2, q90 = 2 + 0.9*2 = 3.8
    # position 2: {3, 5} -> mean 4, q10 3.2, q90 4.8; position 3: {5, 5}
    assert got["mean"].tolist() == [3.0, 4.0, 5.0]
    assert got["min"].tolist() == [2, 3, 5]
    assert got["max"].tolist() == [4, 5, 5]
    assert got["q10"].tolist() == pytest.approx([2.2, 3.2, 5.0])
    assert got["q90"].tolist() == pytest.approx([3.8, 4.8, 5.0])


def test_interviews_to_reach_by_hand():
    # Total 10 codes. 90% -> target 9; 70% -> 7 (not 8: 0.7*10 = 7.000000000000001).
    curves = pd.DataFrame(
        {
            "order": [1] * 4 + [2] * 4 + [3] * 4,
            "position": [1, 2, 3, 4] * 3,
            "cumulative_codes": [5, 9, 10, 10, 3, 6, 8, 10, 7, 8, 9, 10],
        }
    )
    got = interviews_to_reach(curves, fraction=0.9)
    assert list(got.columns) == ["fraction", "total_codes", "target_codes", "mean", "median", "max"]
    # First position with >= 9 codes: order 1 -> 2, order 2 -> 4, order 3 -> 3.
    assert got.iloc[0].tolist() == [0.9, 10, 9, 3.0, 3.0, 4]
    seventy = interviews_to_reach(curves, fraction=0.7)
    # >= 7: order 1 -> 2, order 2 -> 3, order 3 -> 1 -> mean 2, median 2, max 3.
    assert seventy.iloc[0].tolist() == [0.7, 10, 7, 2.0, 2.0, 3]
    full = interviews_to_reach(curves, fraction=1.0)
    # = 10: positions 3, 4, 4 -> mean 11/3, median 4, max 4.
    assert full.iloc[0].tolist() == pytest.approx([1.0, 10, 10, 11 / 3, 4.0, 4])


def test_interviews_to_reach_invalid():
    curves = pd.DataFrame({"order": [1], "position": [1], "cumulative_codes": [1]})
    for bad in (0, -0.5, 1.5):
        with pytest.raises(ValueError, match="fraction"):
            interviews_to_reach(curves, fraction=bad)
    with pytest.raises(ValueError, match="empty"):
        interviews_to_reach(curves.iloc[:0])
    with pytest.raises(ValueError, match="columns"):
        saturation_summary(curves.drop(columns="order").rename(columns={"position": "pos"}))


code_sets = st.lists(
    st.lists(st.sampled_from(list("abcdefg")), unique=True, min_size=0, max_size=5),
    min_size=1,
    max_size=8,
)


@settings(max_examples=40, deadline=None)
@given(code_sets, st.integers(0, 2**32 - 1))
def test_curves_properties(sets, seed):
    codings, segments = _tables({f"P{i}": codes for i, codes in enumerate(sets)})
    total = len({c for codes in sets for c in codes})
    if total == 0:
        assert saturation_curves(codings, segments, n_orders=5, seed=seed).empty
        return
    curves = saturation_curves(codings, segments, n_orders=20, seed=seed)
    wide = curves.pivot(index="order", columns="position", values="cumulative_codes").to_numpy()
    assert (np.diff(wide, axis=1) >= 0).all()  # never decreases
    assert (wide[:, -1] == total).all()  # ends at all codes
    # Random orders agree with new_codes_per_interview on the fixed order.
    fixed = new_codes_per_interview(codings, segments)
    assert fixed["cumulative_codes"].iloc[-1] == total
    assert fixed["new_codes"].sum() == total
    assert (fixed["new_codes"] >= 0).all()


def test_saturation_facts_by_hand():
    # Seven interviews adding 3, 2, 1, 1, 0, 1, 0 codes: 8 codes in all; the last
    # third is 7 // 3 = 2 interviews (positions 6, 7), which add 1 + 0 = 1.
    sets = {"P1": ["a", "b", "c"], "P2": ["a", "d", "e"], "P3": ["f"], "P4": ["b", "g"],
            "P5": ["a"], "P6": ["h", "c"], "P7": ["e"]}
    observed = new_codes_per_interview(*_tables(sets))
    assert observed["new_codes"].tolist() == [3, 2, 1, 1, 0, 1, 0]
    assert saturation_facts(observed) == {"total_codes": 8, "first_interview_codes": 3,
                                          "last_third_size": 2, "new_in_last_third": 1}


def test_saturation_facts_small_and_empty():
    # Two interviews: the "last third" is still one interview, never none.
    observed = new_codes_per_interview(*_tables({"P1": ["a"], "P2": ["a", "b"]}))
    assert saturation_facts(observed) == {"total_codes": 2, "first_interview_codes": 1,
                                          "last_third_size": 1, "new_in_last_third": 1}
    empty = observed.iloc[0:0]
    assert saturation_facts(empty) == {"total_codes": 0, "first_interview_codes": 0,
                                       "last_third_size": 0, "new_in_last_third": 0}
    with pytest.raises(ValueError, match="new_codes_per_interview"):
        saturation_facts(pd.DataFrame({"position": [1]}))
