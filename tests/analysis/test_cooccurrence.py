import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import sparse

from compendium.analysis import cooccurrence, incidence

SEGMENT_IDS = ["E01-001", "E01-002", "E02-001", "E02-002", "I01-001", "I01-002", "I02-001",
    "I02-002"]


def test_incidence_segments_by_hand(codings, segments):
    x, rows, codes = incidence(codings, segments, unit="segment", coder="coder_a")
    assert isinstance(x, sparse.csr_matrix)
    assert rows == SEGMENT_IDS
    # Codes used by coder_a, sorted.
    assert codes == ["MOT-LEADS", "MOT-PEER", "MOT-TARGETS", "OUT-SALES"]
    expected = np.array(
        [
            [1, 1, 0, 0],  # E01-001 LEADS, PEER
            [1, 0, 0, 0],  # E01-002 LEADS
            [1, 0, 0, 0],  # E02-001 LEADS
            [0, 1, 0, 1],  # E02-002 PEER, SALES
            [1, 0, 1, 0],  # I01-001 LEADS, TARGETS
            [0, 0, 1, 0],  # I01-002 TARGETS
            [0, 0, 1, 0],  # I02-001 TARGETS
            [0, 0, 0, 1],  # I02-002 SALES
        ]
    )
    np.testing.assert_array_equal(x.toarray(), expected)


def test_incidence_interviewees_is_binary(codings, segments):
    x, rows, codes = incidence(codings, segments, unit="interviewee", coder="coder_a")
    assert rows == ["E01", "E02", "I01", "I02"]
    # E01 has MOT-LEADS in two segments but the interviewee matrix stays 0/1.
    expected = np.array(
        [
            [1, 1, 0, 0],  # E01 LEADS, PEER
            [1, 1, 0, 1],  # E02 LEADS, PEER, SALES
            [1, 0, 1, 0],  # I01 LEADS, TARGETS
            [0, 0, 1, 1],  # I02 TARGETS, SALES
        ]
    )
    np.testing.assert_array_equal(x.toarray(), expected)
    assert x.max() == 1


def test_incidence_all_coders_is_binary(codings, segments):
    # E01-001 carries MOT-LEADS from coder_a and coder_b: still a single 1.
    x, rows, codes = incidence(codings, segments)
    assert x.max() == 1
    assert x[rows.index("E01-002"), codes.index("MOT-PEER")] == 1  # coder_b only


def test_cooccurrence_segments_by_hand(codings, segments, codebook, code_ids):
    got = cooccurrence(codings, segments, codebook, unit="segment", coder="coder_a")
    assert list(got.columns) == ["code_a", "code_b", "count", "n_a", "n_b", "jaccard"]
    assert isinstance(got.index, pd.RangeIndex)
    assert len(got) == 25
    # Codebook order of a, then b.
    assert got["code_a"].tolist() == [a for a in code_ids for _ in code_ids]
    assert got["code_b"].tolist() == code_ids * 5
    table = got.set_index(["code_a", "code_b"])
    # Segments per code: LEADS 4, TARGETS 3, PEER 2, SALES 2, NONE 0.
    assert table.loc[("MOT-LEADS", "MOT-LEADS"), "count"] == 4
    assert table.loc[("MOT-TARGETS", "MOT-TARGETS"), "count"] == 3
    # Pairs in one segment: LEADS+PEER (E01-001), LEADS+TARGETS (I01-001), PEER+SALES (E02-002).
    # Jaccard: 1/(4+2-1) = 0.2, 1/(4+3-1) = 1/6, 1/(2+2-1) = 1/3.
    assert tuple(table.loc[("MOT-LEADS", "MOT-PEER")]) == pytest.approx((1, 4, 2, 0.2))
    assert tuple(table.loc[("MOT-TARGETS", "MOT-LEADS")]) == pytest.approx((1, 3, 4, 1 / 6))
    assert tuple(table.loc[("OUT-SALES", "MOT-PEER")]) == pytest.approx((1, 2, 2, 1 / 3))
    assert table.loc[("MOT-LEADS", "OUT-SALES"), "count"] == 0
    assert table.loc[("MOT-LEADS", "OUT-SALES"), "jaccard"] == 0.0
    # A code with itself: jaccard 1 if it was used, 0 for the unused OUT-NONE (0/0).
    assert table.loc[("MOT-LEADS", "MOT-LEADS"), "jaccard"] == 1.0
    assert tuple(table.loc[("OUT-NONE", "OUT-NONE")]) == (0, 0, 0, 0.0)
    assert got["count"].sum() == 4 + 3 + 2 + 2 + 2 * 3  # diagonal + each pair twice


def test_cooccurrence_interviewees_restricted_by_hand(codings, segments, codebook):
    # Motivations (given out of codebook order, with a duplicate) against outcomes.
    got = cooccurrence(
        codings,
        segments,
        codebook,
        unit="interviewee",
        coder="coder_a",
        codes_a=["OUT-SALES"],
        codes_b=["MOT-PEER", "MOT-LEADS", "MOT-TARGETS", "MOT-PEER"],
    )
    # Interviewees: SALES {E02, I02} (n 2); LEADS {E01, E02, I01} (3);
    # TARGETS {I01, I02} (2); PEER {E01, E02} (2).
    #   SALES & LEADS {E02}: 1/(2+3-1) = 0.25
    #   SALES & TARGETS {I02}: 1/(2+2-1) = 1/3
    #   SALES & PEER {E02}: 1/(2+2-1) = 1/3
    assert got["code_a"].tolist() == ["OUT-SALES"] * 3
    assert got["code_b"].tolist() == ["MOT-LEADS", "MOT-TARGETS", "MOT-PEER"]
    assert got["count"].tolist() == [1, 1, 1]
    assert got["n_a"].tolist() == [2, 2, 2]
    assert got["n_b"].tolist() == [3, 2, 2]
    assert got["jaccard"].tolist() == pytest.approx([0.25, 1 / 3, 1 / 3])


def test_cooccurrence_interviewee_leads_peer(codings, segments, codebook):
    got = cooccurrence(
        codings, segments, codebook, unit="interviewee", coder="coder_a",
        codes_a=["MOT-LEADS"], codes_b=["MOT-PEER"],
    )
    # LEADS {E01, E02, I01}, PEER {E01, E02}: both 2 -> 2/(3+2-2) = 2/3.
    assert got.iloc[0][["count", "n_a", "n_b"]].tolist() == [2, 3, 2]
    assert got.iloc[0]["jaccard"] == pytest.approx(2 / 3)


def test_cooccurrence_invalid_arguments(codings, segments, codebook):
    with pytest.raises(ValueError, match="unknown unit"):
        cooccurrence(codings, segments, codebook, unit="sentence")
    with pytest.raises(ValueError, match="unknown unit"):
        incidence(codings, segments, unit="sentence")
    with pytest.raises(ValueError, match="MOT-NOPE"):
        cooccurrence(codings, segments, codebook, codes_a=["MOT-NOPE"])
    with pytest.raises(ValueError, match="codes_b"):
        cooccurrence(codings, segments, codebook, codes_b=["motivations"])  # a theme, not a code
    with pytest.raises(ValueError, match="unknown coder"):
        cooccurrence(codings, segments, codebook, coder="coder_z")


code_lists = st.lists(
    st.lists(st.sampled_from(["c1", "c2", "c3", "c4"]), unique=True, max_size=4),
    min_size=0,
    max_size=12,
)


@settings(max_examples=40, deadline=None)
@given(code_lists, st.sampled_from(["segment", "interviewee"]))
def test_jaccard_properties(per_segment, unit):
    segs = pd.DataFrame(
        {
            "segment_id": [f"S{i:02d}" for i in range(len(per_segment))],
            "participant_id": [f"P{i % 3}" for i in range(len(per_segment))],
            "text": "x",
        }
    )
    rows = [(f"S{i:02d}", code, "coder_a") for i, codes in enumerate(per_segment) for code in codes]
    cods = pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"], dtype=object)
    book = pd.DataFrame(
        {"code_id": ["c1", "c2", "c3", "c4"], "theme": "t", "name": ["A", "B", "C", "D"],
            "definition": "d"}
    )
    got = cooccurrence(cods, segs, book, unit=unit)
    assert ((got["jaccard"] >= 0) & (got["jaccard"] <= 1)).all()
    assert (got["count"] <= np.minimum(got["n_a"], got["n_b"])).all()
    wide = got.pivot(index="code_a", columns="code_b", values="jaccard")
    np.testing.assert_allclose(wide.to_numpy(), wide.to_numpy().T)
    # Diagonal: 1 for used codes, 0 for unused ones.
    diag = got[got["code_a"] == got["code_b"]]
    np.testing.assert_array_equal(diag["jaccard"], (diag["n_a"] > 0).astype(float))
