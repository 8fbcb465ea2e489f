import pandas as pd
import pytest

from compendium.analysis import PERSPECTIVES, code_frequencies

COLUMNS = [
    "code_id",
    "theme",
    "name",
    "perspective",
    "n_interviewees",
    "group_size",
    "share",
    "n_segments",
]


def test_code_frequencies_coder_a_by_hand(codings, segments, participants, codebook):
    got = code_frequencies(codings, segments, participants, codebook, coder="coder_a")
    assert list(got.columns) == COLUMNS
    assert isinstance(got.index, pd.RangeIndex)
    # Hand calculation, coder_a; both groups have 2 interviewees.
    #   MOT-LEADS   ent: E01 (001, 002), E02 (001)   -> 2 interviewees, 3 segments
    #               int: I01 (001)                   -> 1 interviewee, 1 segment
    #   MOT-TARGETS ent: nobody                      -> 0, 0
    #               int: I01 (001, 002), I02 (001)   -> 2, 3
    #   MOT-PEER    ent: E01 (001), E02 (002)        -> 2, 2
    #               int: nobody                      -> 0, 0
    #   OUT-SALES   ent: E02 (002)                   -> 1, 1
    #               int: I02 (002)                   -> 1, 1
    #   OUT-NONE    never applied                    -> 0, 0 in both groups
    expected = pd.DataFrame(
        [
            ("MOT-LEADS", "motivations", "Finding leads", "entrepreneur", 2, 2, 1.0, 3),
            ("MOT-LEADS", "motivations", "Finding leads", "intermediary", 1, 2, 0.5, 1),
            ("MOT-TARGETS", "motivations", "Delivering programme targets", "entrepreneur",
             0, 2, 0.0, 0),
            ("MOT-TARGETS", "motivations", "Delivering programme targets", "intermediary",
             2, 2, 1.0, 3),
            ("MOT-PEER", "motivations", "Peer support", "entrepreneur", 2, 2, 1.0, 2),
            ("MOT-PEER", "motivations", "Peer support", "intermediary", 0, 2, 0.0, 0),
            ("OUT-SALES", "outcomes", "New sales", "entrepreneur", 1, 2, 0.5, 1),
            ("OUT-SALES", "outcomes", "New sales", "intermediary", 1, 2, 0.5, 1),
            ("OUT-NONE", "outcomes", "Nothing concrete", "entrepreneur", 0, 2, 0.0, 0),
            ("OUT-NONE", "outcomes", "Nothing concrete", "intermediary", 0, 2, 0.0, 0),
        ],
        columns=COLUMNS,
    )
    for column in ("code_id", "theme", "name", "perspective"):
        assert got[column].tolist() == expected[column].tolist()
    for column in ("n_interviewees", "group_size", "n_segments"):
        assert got[column].tolist() == expected[column].tolist()
        assert got[column].dtype == "int64"
    assert got["share"].tolist() == pytest.approx(expected["share"].tolist())


def test_all_coders_count_a_segment_once(codings, segments, participants, codebook):
    got = code_frequencies(codings, segments, participants, codebook, coder=None)
    row = got[(got["code_id"] == "MOT-PEER") & (got["perspective"] == "entrepreneur")].iloc[0]
    # Union of coders for MOT-PEER: E01-001 (a), E01-002 (b), E02-002 (a) -> 3 segments,
    # interviewees E01, E02 -> 2.
    assert (row["n_interviewees"], row["n_segments"]) == (2, 3)
    leads = got[(got["code_id"] == "MOT-LEADS") & (got["perspective"] == "entrepreneur")].iloc[0]
    # E01-001 is coded MOT-LEADS by coder_a and coder_b: still one segment, so 3 not 4.
    assert leads["n_segments"] == 3


def test_order_is_codebook_then_perspective(codings, segments, participants, codebook, code_ids):
    got = code_frequencies(codings, segments, participants, codebook, coder="coder_a")
    assert got["code_id"].tolist() == [c for c in code_ids for _ in PERSPECTIVES]
    assert got["perspective"].tolist() == list(PERSPECTIVES) * len(code_ids)


def test_perspective_with_no_participants_keeps_zero_rows(
    codings, segments, participants, codebook, code_ids
):
    entrepreneurs = participants[participants["perspective"] == "entrepreneur"]
    got = code_frequencies(codings, segments, entrepreneurs, codebook, coder="coder_a")
    inter = got[got["perspective"] == "intermediary"]
    assert len(inter) == len(code_ids)
    assert inter["group_size"].tolist() == [0] * 5
    assert inter["n_interviewees"].tolist() == [0] * 5
    assert inter["n_segments"].tolist() == [0] * 5
    assert inter["share"].tolist() == [0.0] * 5  # 0, not NaN, for an empty group


def test_codebook_without_level_column_is_all_codes(codings, segments, participants, codebook):
    flat = codebook[codebook["level"] == "code"].drop(columns=["level", "parent_id"])
    got = code_frequencies(codings, segments, participants, flat, coder="coder_a")
    full = code_frequencies(codings, segments, participants, codebook, coder="coder_a")
    pd.testing.assert_frame_equal(got, full)


def test_missing_level_means_code(codings, segments, participants, codebook):
    book = codebook.copy()
    book["level"] = book["level"].astype(object)
    book.loc[book["code_id"] == "OUT-NONE", "level"] = None
    got = code_frequencies(codings, segments, participants, book, coder="coder_a")
    assert "OUT-NONE" in set(got["code_id"])


def test_empty_codings_give_zero_counts(segments, participants, codebook):
    empty = pd.DataFrame({"segment_id": [], "code_id": [], "coder": []}, dtype=object)
    got = code_frequencies(empty, segments, participants, codebook)
    assert len(got) == 10
    assert got["n_interviewees"].sum() == 0 and got["n_segments"].sum() == 0
    assert got["group_size"].tolist() == [2] * 10


def test_unknown_coder_raises(codings, segments, participants, codebook):
    with pytest.raises(ValueError, match="unknown coder 'coder_z'"):
        code_frequencies(codings, segments, participants, codebook, coder="coder_z")


def test_unknown_perspective_raises(codings, segments, participants, codebook):
    bad = participants.copy()
    bad.loc[0, "perspective"] = "policy maker"
    with pytest.raises(ValueError, match="perspectives outside"):
        code_frequencies(codings, segments, bad, codebook)


def test_duplicated_code_ids_raise(codings, segments, participants, codebook):
    doubled = pd.concat([codebook, codebook.iloc[[2]]], ignore_index=True)
    with pytest.raises(ValueError, match="duplicated code ids"):
        code_frequencies(codings, segments, participants, doubled)


def test_inputs_are_not_modified(codings, segments, participants, codebook):
    before = [t.copy() for t in (codings, segments, participants, codebook)]
    code_frequencies(codings, segments, participants, codebook, coder="coder_a")
    for original, copy in zip((codings, segments, participants, codebook), before, strict=True):
        pd.testing.assert_frame_equal(original, copy)
