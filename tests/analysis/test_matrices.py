import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.analysis import (
    QUOTE_RULE,
    clustered_matrix,
    framework_matrix,
    quote_candidates,
    select_quotes,
)

MATRIX_COLUMNS = [
    "code_id",
    "name",
    "perspective",
    "n_interviewees",
    "group_size",
    "quote_segment_id",
    "quote_participant_id",
    "quote_text",
]


def test_toy_text_lengths_match_the_hand_calculations(segments):
    # The quote rule calculations below rely on these lengths.
    lengths = dict(zip(segments["segment_id"], segments["text"].str.len(), strict=True))
    assert lengths == {
        "E01-001": 30,
        "E01-002": 20,
        "E02-001": 34,
        "E02-002": 10,
        "I01-001": 25,
        "I01-002": 15,
        "I02-001": 35,
        "I02-002": 50,
    }


def test_clustered_matrix_motivations_by_hand(codings, segments, participants, codebook):
    got = clustered_matrix(codings, segments, participants, codebook, "motivations",
        coder="coder_a")
    assert list(got.columns) == MATRIX_COLUMNS
    assert isinstance(got.index, pd.RangeIndex)
    # Cells are filled in codebook order, entrepreneur then intermediary.
    # (n_codes = codes on the segment; d = |length - median of the cell's candidates|)
    # 1 MOT-LEADS/ent: E01-001 (2 codes, 30), E01-002 (1, 20), E02-001 (1, 34); median 30.
    #   Specific ones first: E02-001 d=4 beats E01-002 d=10 -> E02-001. Used {E02}.
    # 2 MOT-LEADS/int: only I01-001 (2 codes) -> I01-001. Used {E02, I01}.
    # 3 MOT-TARGETS/ent: no candidate -> None.
    # 4 MOT-TARGETS/int: I01-001 (2, 25), I01-002 (1, 15), I02-001 (1, 35); median 25.
    #   Ranking: I01-002 (specific, d=10, smaller id), I02-001 (specific, d=10), I01-001.
    #   I01 already quoted -> I02-001. Used {E02, I01, I02}.
    # 5 MOT-PEER/ent: E01-001 (2, 30), E02-002 (2, 10); median 20; d=10 both -> smaller
    #   id E01-001; E01 not yet used -> E01-001.
    # 6 MOT-PEER/int: no candidate -> None.
    assert got["code_id"].tolist() == ["MOT-LEADS"] * 2 + ["MOT-TARGETS"] * 2 + ["MOT-PEER"] * 2
    assert got["perspective"].tolist() == ["entrepreneur", "intermediary"] * 3
    assert got["name"].tolist()[::2] == ["Finding leads", "Delivering programme targets",
        "Peer support"]
    assert got["n_interviewees"].tolist() == [2, 1, 0, 2, 2, 0]
    assert got["group_size"].tolist() == [2] * 6
    assert got["quote_segment_id"].tolist() == ["E02-001", "I01-001", None, "I02-001", "E01-001",
        None]
    assert got["quote_participant_id"].tolist() == ["E02", "I01", None, "I02", "E01", None]
    assert got.loc[0, "quote_text"] == "You meet buyers you would not meet"
    assert got.loc[2, "quote_text"] is None
    assert got.loc[5, "quote_text"] is None


def test_no_interviewee_is_quoted_twice(codings, segments, participants, codebook):
    for theme in ("motivations", "outcomes"):
        got = clustered_matrix(codings, segments, participants, codebook, theme, min_interviewees=0)
        quoted = got["quote_participant_id"].dropna()
        assert quoted.is_unique


def test_cell_without_quote_when_all_candidates_used(codings, segments, participants, codebook):
    # Add MOT-PEER to I01-002 (coder_a). Then MOT-PEER/int has one candidate, I01-002,
    # but I01 was already quoted for MOT-LEADS/int -> no quote although n_interviewees = 1.
    # MOT-TARGETS/int: I01-002 now carries 2 codes, so the only specific candidate is
    # I02-001 -> still I02-001.
    extra = pd.DataFrame([("I01-002", "MOT-PEER", "coder_a")], columns=codings.columns)
    more = pd.concat([codings, extra], ignore_index=True)
    got = clustered_matrix(more, segments, participants, codebook, "motivations", coder="coder_a")
    peer_int = got[(got["code_id"] == "MOT-PEER") & (got["perspective"] == "intermediary")].iloc[0]
    assert peer_int["n_interviewees"] == 1
    assert peer_int["quote_segment_id"] is None
    assert got["quote_segment_id"].tolist() == ["E02-001", "I01-001", None, "I02-001", "E01-001",
        None]


def test_min_interviewees_drops_rare_codes(codings, segments, participants, codebook):
    # Interviewees in total (coder_a): MOT-LEADS 3 (E01, E02, I01), MOT-TARGETS 2, MOT-PEER 2.
    got = clustered_matrix(
        codings, segments, participants, codebook, "motivations", coder="coder_a",
        min_interviewees=3
    )
    assert got["code_id"].tolist() == ["MOT-LEADS", "MOT-LEADS"]
    assert got["quote_segment_id"].tolist() == ["E02-001", "I01-001"]


def test_outcomes_code_nobody_raised(codings, segments, participants, codebook):
    # OUT-SALES: ent E02-002 (only candidate), int I02-002 (only candidate).
    # OUT-NONE: raised by 0 interviewees -> dropped at min_interviewees=1, kept (no quotes) at 0.
    got = clustered_matrix(codings, segments, participants, codebook, "outcomes", coder="coder_a")
    assert got["code_id"].tolist() == ["OUT-SALES", "OUT-SALES"]
    assert got["quote_segment_id"].tolist() == ["E02-002", "I02-002"]
    kept = clustered_matrix(
        codings, segments, participants, codebook, "outcomes", coder="coder_a", min_interviewees=0
    )
    assert kept["code_id"].tolist() == ["OUT-SALES", "OUT-SALES", "OUT-NONE", "OUT-NONE"]
    assert kept["n_interviewees"].tolist() == [1, 1, 0, 0]
    assert kept["quote_segment_id"].tolist() == ["E02-002", "I02-002", None, None]


def test_quote_candidates_ranks_by_hand(codings, segments, participants, codebook):
    got = quote_candidates(codings, segments, participants, codebook, "motivations",
        coder="coder_a")
    cell = got[(got["code_id"] == "MOT-TARGETS") & (got["perspective"] == "intermediary")]
    # median(25, 15, 35) = 25: I01-002 (specific, |15-25| = 10), I02-001 (specific,
    # |35-25| = 10, larger id), I01-001 (2 codes, |25-25| = 0: specificity comes first).
    assert cell["segment_id"].tolist() == ["I01-002", "I02-001", "I01-001"]
    assert cell["rank"].tolist() == [1, 2, 3]
    assert cell["n_codes"].tolist() == [1, 1, 2]
    assert cell["median_length"].tolist() == [25.0] * 3
    assert cell["distance"].tolist() == [10.0, 10.0, 0.0]
    # Cell order follows the codebook, then perspective.
    assert got[["code_id", "perspective"]].drop_duplicates().apply(tuple, axis=1).tolist() == [
        ("MOT-LEADS", "entrepreneur"),
        ("MOT-LEADS", "intermediary"),
        ("MOT-TARGETS", "intermediary"),
        ("MOT-PEER", "entrepreneur"),
    ]


def test_select_quotes_follows_cell_order(codings, segments, participants, codebook):
    candidates = quote_candidates(codings, segments, participants, codebook, "motivations",
        "coder_a")
    # Filling MOT-TARGETS/int first lets it take its best candidate I01-002; then
    # MOT-LEADS/int (only I01-001) has no free interviewee left.
    cells = pd.DataFrame(
        {"code_id": ["MOT-TARGETS", "MOT-LEADS"], "perspective": ["intermediary", "intermediary"]}
    )
    got = select_quotes(candidates, cells)
    assert got["quote_segment_id"].tolist() == ["I01-002", None]


def test_quote_rule_is_in_the_docstring():
    doc = " ".join(clustered_matrix.__doc__.split()).lower()
    assert " ".join(QUOTE_RULE.split()).lower() in doc


def test_clustered_matrix_invalid_arguments(codings, segments, participants, codebook):
    with pytest.raises(ValueError, match="unknown theme 'motivation'"):
        clustered_matrix(codings, segments, participants, codebook, "motivation")
    with pytest.raises(ValueError, match="min_interviewees"):
        clustered_matrix(codings, segments, participants, codebook, "motivations",
            min_interviewees=-1)
    with pytest.raises(ValueError, match="unknown coder"):
        clustered_matrix(codings, segments, participants, codebook, "motivations", coder="nobody")


def test_clustered_matrix_empty_perspective(codings, segments, participants, codebook):
    entrepreneurs = participants[participants["perspective"] == "entrepreneur"]
    got = clustered_matrix(
        codings, segments, entrepreneurs, codebook, "motivations", coder="coder_a",
        min_interviewees=0
    )
    inter = got[got["perspective"] == "intermediary"]
    assert len(inter) == 3
    assert inter["group_size"].tolist() == [0, 0, 0]
    assert inter["quote_segment_id"].isna().all()


def test_framework_matrix_counts_by_hand(codings, segments, participants, codebook, code_ids):
    got = framework_matrix(codings, segments, participants, codebook, coder="coder_a")
    # Participants are listed E01, I01, E02, I02 in the fixture; entrepreneurs come first.
    assert got.index.tolist() == ["E01", "E02", "I01", "I02"]
    assert got.index.name == "participant_id"
    assert list(got.columns) == ["perspective", *code_ids]
    assert got["perspective"].tolist() == ["entrepreneur"] * 2 + ["intermediary"] * 2
    # Segments per participant and code (coder_a):
    #        LEADS TARGETS PEER SALES NONE
    # E01      2      0     1     0    0   (001: LEADS+PEER, 002: LEADS)
    # E02      1      0     1     1    0   (001: LEADS, 002: PEER+SALES)
    # I01      1      2     0     0    0   (001: LEADS+TARGETS, 002: TARGETS)
    # I02      0      1     0     1    0   (001: TARGETS, 002: SALES)
    expected = np.array(
        [[2, 0, 1, 0, 0], [1, 0, 1, 1, 0], [1, 2, 0, 0, 0], [0, 1, 0, 1, 0]], dtype=np.int64
    )
    np.testing.assert_array_equal(got[code_ids].to_numpy(), expected)
    assert all(got[c].dtype == "int64" for c in code_ids)

    presence = framework_matrix(codings, segments, participants, codebook, "coder_a", "presence")
    np.testing.assert_array_equal(presence[code_ids].to_numpy(), (expected > 0).astype(int))


def test_framework_matrix_keeps_participants_without_segments(codings, segments, participants,
    codebook):
    extra = pd.DataFrame(
        [("E03", "entrepreneur", "ict_sme")], columns=["participant_id", "perspective",
            "organisation_type"]
    )
    more = pd.concat([participants, extra], ignore_index=True)
    got = framework_matrix(codings, segments, more, codebook, coder="coder_a")
    assert got.index.tolist() == ["E01", "E02", "E03", "I01", "I02"]
    assert got.loc["E03"].drop("perspective").sum() == 0


def test_framework_matrix_all_coders(codings, segments, participants, codebook):
    got = framework_matrix(codings, segments, participants, codebook)
    # coder_b adds MOT-PEER to E01-002, so E01 has 2 MOT-PEER segments over all coders.
    assert got.loc["E01", "MOT-PEER"] == 2
    assert got.loc["E01", "MOT-LEADS"] == 2  # E01-001 coded by a and b counts once


def test_framework_matrix_unknown_value(codings, segments, participants, codebook):
    with pytest.raises(ValueError, match="unknown value"):
        framework_matrix(codings, segments, participants, codebook, value="share")


def _oracle_quotes(codings, segments, participants, theme_codes):
    """The quote rule written out with plain loops, as an independent check."""
    import statistics

    perspective = dict(zip(participants["participant_id"], participants["perspective"],
        strict=True))
    text = dict(zip(segments["segment_id"], segments["text"], strict=True))
    owner = dict(zip(segments["segment_id"], segments["participant_id"], strict=True))
    carried: dict[str, set[str]] = {}
    for seg, code in zip(codings["segment_id"], codings["code_id"], strict=True):
        carried.setdefault(seg, set()).add(code)
    used: set[str] = set()
    quotes = []
    for code in theme_codes:
        for side in ("entrepreneur", "intermediary"):
            cands = [s for s in sorted(carried)
                     if code in carried[s] and perspective[owner[s]] == side]
            if not cands:
                quotes.append(None)
                continue
            median = statistics.median(len(text[s]) for s in cands)
            ranked = sorted(cands, key=lambda s: (len(carried[s]) != 1,
                                                  abs(len(text[s]) - median), s))
            free = [s for s in ranked if owner[s] not in used]
            quotes.append(free[0] if free else None)
            if free:
                used.add(owner[free[0]])
    return quotes


@settings(max_examples=30, deadline=None)
@given(
    st.integers(0, 3),
    st.integers(0, 3),
    st.lists(
        st.tuples(
            st.integers(0, 5),  # participant slot
            st.integers(1, 30),  # text length
            st.lists(st.sampled_from(["T-A", "T-B", "T-C", "O-X"]), unique=True, max_size=3),
        ),
        max_size=12,
    ),
)
def test_quotes_match_a_loop_oracle(n_ent, n_int, segs):
    ids = [f"E{i}" for i in range(n_ent)] + [f"I{i}" for i in range(n_int)]
    participants = pd.DataFrame(
        {"participant_id": ids, "perspective": ["entrepreneur"] * n_ent + ["intermediary"] * n_int}
    )
    book = pd.DataFrame(
        {
            "code_id": ["T", "T-A", "T-B", "T-C", "O", "O-X"],
            "theme": ["T", "T", "T", "T", "O", "O"],
            "level": ["theme", "code", "code", "code", "theme", "code"],
            "parent_id": [None, "T", "T", "T", None, "O"],
            "name": ["T", "A", "B", "C", "O", "X"],
            "definition": "d",
        }
    )
    if not ids:
        segs = []
    rows = [(f"S{k:02d}", ids[slot % len(ids)], "x" * length)
            for k, (slot, length, _) in enumerate(segs)]
    segments = pd.DataFrame(rows, columns=["segment_id", "participant_id", "text"], dtype=object)
    coding_rows = [(f"S{k:02d}", c, "coder_a")
                   for k, (_, _, codes) in enumerate(segs) for c in codes]
    codings = pd.DataFrame(coding_rows, columns=["segment_id", "code_id", "coder"], dtype=object)

    got = clustered_matrix(codings, segments, participants, book, "T", min_interviewees=0)
    oracle = _oracle_quotes(codings, segments, participants, ["T-A", "T-B", "T-C"])
    assert got["quote_segment_id"].tolist() == oracle
    assert got["quote_participant_id"].dropna().is_unique
    assert len(got) == 6 and got["perspective"].tolist() == ["entrepreneur", "intermediary"] * 3


def test_select_quotes_does_not_depend_on_the_order_candidates_come_in(
        codings, segments, participants, codebook):
    # select_quotes orders candidates by rank alone; each cell must still take its
    # best free candidate whatever order the rows of the candidates table are in
    # (50 seeded shuffles, each cell order forwards and backwards).
    candidates = quote_candidates(codings, segments, participants, codebook, "motivations",
                                  "coder_a")
    cells = candidates[["code_id", "perspective"]].drop_duplicates()
    for seed in range(50):
        shuffled = candidates.iloc[np.random.default_rng(seed).permutation(len(candidates))]
        for order in (cells, cells.iloc[::-1]):
            assert select_quotes(shuffled, order).equals(select_quotes(candidates, order))


def test_clustered_matrix_with_dangling_and_missing_segment_ids(
        codings, segments, participants, codebook):
    # Codings of a segment not in segments.csv and a missing segment id (an invalid
    # dataset the analysis must not crash on) leave the matrix as the valid part makes it.
    odd = pd.concat([codings, pd.DataFrame({
        "segment_id": ["X99-001", None], "code_id": ["MOT-LEADS", "MOT-PEER"],
        "coder": ["coder_a", "coder_a"]})], ignore_index=True)
    for theme in ("motivations", "outcomes"):
        got = clustered_matrix(odd, segments, participants, codebook, theme, coder="coder_a")
        want = clustered_matrix(codings, segments, participants, codebook, theme,
                                coder="coder_a")
        assert got.equals(want)


@pytest.fixture(scope="module")
def demo():
    from compendium.dataset import load_dataset

    from ..conftest import DEMO

    return load_dataset(DEMO)


def _by_the_rule(codings, segments, participants, codebook, theme, coder):
    """The matrix's quotes as the quote rule's own functions give them (string joins)."""
    cells = clustered_matrix(codings, segments, participants, codebook, theme, coder=coder,
                             min_interviewees=0)
    candidates = quote_candidates(codings, segments, participants, codebook, theme, coder=coder)
    return select_quotes(candidates, cells[["code_id", "perspective"]])


@settings(max_examples=6, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), share=st.floats(0.02, 1.0))
def test_the_matrix_joins_its_quotes_on_integer_codes_as_the_rule_does(demo, seed, share):
    # clustered_matrix joins the candidates on the segment codes it made once, not on the
    # ids' strings as quote_candidates does, and breaks ties by the ids' ranks; on random
    # subsets of the demo's codings (some leaving a theme uncoded, or a coder with
    # nothing), with the segments' rows in a random order (so a row's position says
    # nothing of its id's), both give the same quotes.
    rng = np.random.default_rng(seed)
    keep = rng.random(len(demo.codings)) < share
    codings = demo.codings[keep].reset_index(drop=True)
    segments = demo.segments.iloc[rng.permutation(len(demo.segments))].reset_index(drop=True)
    for coder in [None, *sorted(codings["coder"].unique())]:
        for theme in ("motivations", "outcomes", "cluster_role"):
            got = clustered_matrix(codings, segments, demo.participants, demo.codebook,
                                   theme, coder=coder, min_interviewees=0)
            expected = _by_the_rule(codings, segments, demo.participants, demo.codebook,
                                    theme, coder)
            pd.testing.assert_frame_equal(
                got[["quote_segment_id", "quote_participant_id", "quote_text"]],
                expected[["quote_segment_id", "quote_participant_id", "quote_text"]])


def test_a_segment_id_listed_twice_is_joined_as_the_rule_joins_it(demo):
    # Validation refuses it; the analysis must still not quote differently from the rule.
    segments = pd.concat([demo.segments, demo.segments.iloc[[0, 5]]], ignore_index=True)
    for theme in ("motivations", "outcomes"):
        got = clustered_matrix(demo.codings, segments, demo.participants, demo.codebook, theme,
                               coder=demo.primary_coder, min_interviewees=0)
        expected = _by_the_rule(demo.codings, segments, demo.participants, demo.codebook, theme,
                                demo.primary_coder)
        pd.testing.assert_frame_equal(got[["quote_segment_id"]], expected[["quote_segment_id"]])


def test_a_coded_segment_without_an_id_is_ranked_as_the_rule_ranks_it(demo):
    # A missing id cannot be ranked among strings; the matrix then sorts by the ids as the
    # rule does (missing last) rather than failing.
    segments = demo.segments.copy()
    codings = demo.codings.copy()
    first = segments["segment_id"].iloc[0]
    segments.loc[0, "segment_id"] = None
    codings.loc[codings["segment_id"] == first, "segment_id"] = None
    for theme in ("motivations", "outcomes"):
        got = clustered_matrix(codings, segments, demo.participants, demo.codebook, theme,
                               coder=demo.primary_coder, min_interviewees=0)
        expected = _by_the_rule(codings, segments, demo.participants, demo.codebook, theme,
                                demo.primary_coder)
        pd.testing.assert_frame_equal(got[["quote_segment_id"]], expected[["quote_segment_id"]])
