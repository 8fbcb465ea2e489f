import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.analysis import (
    agreement_table,
    agreement_units,
    coders_with_double_coding,
    cohen_kappa_from_counts,
    double_coded_participants,
)

TABLE_COLUMNS = [
    "code_id",
    "n_units",
    "both",
    "only_a",
    "only_b",
    "neither",
    "percent_agreement",
    "cohen_kappa",
    "krippendorff_alpha",
]


def test_coders_with_double_coding_by_hand(codings, segments):
    # coder_a coded all four interviewees, coder_b E01 and I01, coder_c I02.
    got = coders_with_double_coding(codings, segments)
    assert list(got.columns) == ["coder_a", "coder_b", "participant_id"]
    assert got.values.tolist() == [
        ["coder_a", "coder_b", "E01"],
        ["coder_a", "coder_b", "I01"],
        ["coder_a", "coder_c", "I02"],
    ]
    assert double_coded_participants(codings, segments, "coder_a", "coder_b") == ["E01", "I01"]
    assert double_coded_participants(codings, segments, "coder_b", "coder_c") == []


def test_agreement_units_segments_by_hand(codings, segments, codebook, code_ids):
    got = agreement_units(codings, segments, "coder_a", "coder_b", codebook=codebook)
    assert list(got.columns) == ["unit_id", "code_id", "a", "b"]
    # Units: all segments of E01 and I01; codes: the 5 codebook codes -> 20 rows.
    units = ["E01-001", "E01-002", "I01-001", "I01-002"]
    assert got["unit_id"].tolist() == [u for u in units for _ in code_ids]
    assert got["code_id"].tolist() == code_ids * 4
    # Per segment, codes in codebook order LEADS, TARGETS, PEER, SALES, NONE:
    #   E01-001  a: LEADS, PEER        b: LEADS
    #   E01-002  a: LEADS              b: LEADS, PEER
    #   I01-001  a: LEADS, TARGETS     b: TARGETS
    #   I01-002  a: TARGETS            b: TARGETS
    assert got["a"].tolist() == ([1, 0, 1, 0, 0] + [1, 0, 0, 0, 0]
                                 + [1, 1, 0, 0, 0] + [0, 1, 0, 0, 0])
    assert got["b"].tolist() == ([1, 0, 0, 0, 0] + [1, 0, 1, 0, 0]
                                 + [0, 1, 0, 0, 0] + [0, 1, 0, 0, 0])


def test_agreement_units_interviewees_and_default_codes(codings, segments):
    got = agreement_units(codings, segments, "coder_a", "coder_b", unit="interviewee")
    # No codebook: codes used by either coder in E01/I01, sorted: LEADS, PEER, TARGETS.
    #   E01  a: LEADS, PEER      b: LEADS, PEER
    #   I01  a: LEADS, TARGETS   b: TARGETS
    assert got["unit_id"].tolist() == ["E01"] * 3 + ["I01"] * 3
    assert got["code_id"].tolist() == ["MOT-LEADS", "MOT-PEER", "MOT-TARGETS"] * 2
    assert got["a"].tolist() == [1, 1, 0, 1, 0, 1]
    assert got["b"].tolist() == [1, 1, 0, 0, 0, 1]


def test_agreement_units_other_pair(codings, segments):
    # coder_a and coder_c share I02 only: segments I02-001 (a, c: TARGETS), I02-002 (a: SALES).
    got = agreement_units(codings, segments, "coder_a", "coder_c")
    assert got.values.tolist() == [
        ["I02-001", "MOT-TARGETS", 1, 1],
        ["I02-001", "OUT-SALES", 0, 0],
        ["I02-002", "MOT-TARGETS", 0, 0],
        ["I02-002", "OUT-SALES", 1, 0],
    ]


def test_agreement_units_invalid(codings, segments):
    with pytest.raises(ValueError, match="unknown coder 'coder_z'"):
        agreement_units(codings, segments, "coder_a", "coder_z")
    with pytest.raises(ValueError, match="two coders"):
        agreement_units(codings, segments, "coder_a", "coder_a")
    with pytest.raises(ValueError, match="unknown unit"):
        agreement_units(codings, segments, "coder_a", "coder_b", unit="sentence")


def test_agreement_table_by_hand(codings, segments, codebook):
    units = agreement_units(codings, segments, "coder_a", "coder_b", codebook=codebook)
    got = agreement_table(units)
    assert list(got.columns) == TABLE_COLUMNS
    assert isinstance(got.index, pd.RangeIndex)
    assert got["code_id"].tolist() == [
        "MOT-LEADS", "MOT-TARGETS", "MOT-PEER", "OUT-SALES", "OUT-NONE", "overall"]
    # 2x2 counts over the 4 segments (from test_agreement_units_segments_by_hand):
    #   LEADS   a 1,1,1,0  b 1,1,0,0 -> both 2, only_a 1, only_b 0, neither 1
    #   TARGETS a 0,0,1,1  b 0,0,1,1 -> 2, 0, 0, 2
    #   PEER    a 1,0,0,0  b 0,1,0,0 -> 0, 1, 1, 2
    #   SALES, NONE never applied     -> 0, 0, 0, 4
    #   overall (sum)                 -> 4, 2, 1, 13 of 20
    assert got["both"].tolist() == [2, 2, 0, 0, 0, 4]
    assert got["only_a"].tolist() == [1, 0, 1, 0, 0, 2]
    assert got["only_b"].tolist() == [0, 0, 1, 0, 0, 1]
    assert got["neither"].tolist() == [1, 2, 2, 4, 4, 13]
    assert got["n_units"].tolist() == [4, 4, 4, 4, 4, 20]
    assert got["percent_agreement"].tolist() == pytest.approx([75, 100, 50, 100, 100, 85])
    # Cohen's kappa = (po - pe) / (1 - pe), pe = pa1*pb1 + pa0*pb0:
    #   LEADS   po 3/4, pa1 3/4, pb1 1/2: pe = 3/8 + 1/8 = 1/2 -> (3/4-1/2)/(1/2) = 0.5
    #   TARGETS po 1, pe = 1/4 + 1/4 = 1/2 -> 1
    #   PEER    po 1/2, pa1 = pb1 = 1/4: pe = 1/16 + 9/16 = 5/8 -> (1/2-5/8)/(3/8) = -1/3
    #   SALES, NONE: pe = 1 -> undefined (NaN)
    #   overall po 17/20, pa1 6/20, pb1 5/20: pe = 0.075 + 0.525 = 0.6 -> 0.25/0.4 = 0.625
    kappa = got["cohen_kappa"].to_numpy()
    assert kappa[[0, 1, 2, 5]].tolist() == pytest.approx([0.5, 1.0, -1 / 3, 0.625])
    assert np.isnan(kappa[3]) and np.isnan(kappa[4])
    # Krippendorff's alpha (nominal, 2 coders, no missing): with N units, n = 2N values,
    # n1 ones, n0 zeros and d disagreeing units, alpha = 1 - (n - 1) * d / (n0 * n1).
    #   LEADS   n 8, ones 3+2 = 5, zeros 3, d 1: 1 - 7*1/15 = 8/15
    #   TARGETS d 0 -> 1
    #   PEER    n 8, ones 2, zeros 6, d 2: 1 - 7*2/12 = -1/6
    #   SALES, NONE: a single value -> undefined (NaN)
    #   overall n 40, ones 6+5 = 11, zeros 29, d 3: 1 - 39*3/319 = 202/319
    alpha = got["krippendorff_alpha"].to_numpy()
    assert alpha[[0, 1, 2, 5]].tolist() == pytest.approx([8 / 15, 1.0, -1 / 6, 202 / 319])
    assert np.isnan(alpha[3]) and np.isnan(alpha[4])


def test_agreement_table_invalid():
    with pytest.raises(ValueError, match="columns"):
        agreement_table(pd.DataFrame({"unit_id": [], "code_id": []}))
    bad = pd.DataFrame({"unit_id": ["u"], "code_id": ["c"], "a": [2], "b": [0]})
    with pytest.raises(ValueError, match="0/1"):
        agreement_table(bad)


def _sklearn_kappa(a, b):
    # Imported here: scikit-learn takes two seconds to import, which every test worker
    # would pay while collecting, and only the worker running these tests needs it.
    from sklearn.metrics import cohen_kappa_score

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return cohen_kappa_score(a, b, labels=[0, 1])


@pytest.mark.parametrize(
    "both, only_a, only_b, neither",
    [
        (2, 1, 0, 1),
        (10, 3, 2, 25),
        (0, 5, 5, 0),  # total disagreement: kappa -1
        (7, 0, 0, 3),  # perfect agreement: kappa 1
        (0, 3, 0, 0),  # coder_b never applies the code: pe = po -> 0
        (4, 0, 0, 0),  # both always apply it: pe = 1 -> NaN
        (0, 0, 0, 9),  # neither ever applies it: NaN
        (1, 0, 0, 0),
    ],
)
def test_kappa_matches_sklearn_on_tables(both, only_a, only_b, neither):
    a = [1] * both + [1] * only_a + [0] * only_b + [0] * neither
    b = [1] * both + [0] * only_a + [1] * only_b + [0] * neither
    ours = cohen_kappa_from_counts(np.array([both]), np.array([only_a]), np.array([only_b]),
                                   np.array([neither]))[0]
    theirs = _sklearn_kappa(a, b)
    if np.isnan(theirs):
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=1e-12)


def test_kappa_of_an_empty_table_is_nan():
    assert np.isnan(cohen_kappa_from_counts([0], [0], [0], [0])[0])


@settings(max_examples=100, deadline=None)
@given(
    st.integers(1, 60).flatmap(
        lambda n: st.tuples(
            st.lists(st.integers(0, 1), min_size=n, max_size=n),
            st.lists(st.integers(0, 1), min_size=n, max_size=n),
        )
    )
)
def test_kappa_matches_sklearn_property(vectors):
    a, b = (np.array(v) for v in vectors)
    ours = cohen_kappa_from_counts(
        [np.sum(a & b)], [np.sum(a & (1 - b))], [np.sum((1 - a) & b)], [np.sum((1 - a) & (1 - b))]
    )[0]
    theirs = _sklearn_kappa(a, b)
    if np.isnan(theirs):
        assert np.isnan(ours)
    else:
        assert ours == pytest.approx(theirs, abs=1e-9)
        assert -1 - 1e-12 <= ours <= 1 + 1e-12


@settings(max_examples=40, deadline=None)
@given(
    st.integers(1, 30).flatmap(
        lambda n: st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=n, max_size=n)
    )
)
def test_table_alpha_matches_package_property(pairs):
    units = pd.DataFrame(
        {
            "unit_id": [f"u{i:02d}" for i in range(len(pairs))],
            "code_id": "c",
            "a": [p[0] for p in pairs],
            "b": [p[1] for p in pairs],
        }
    )
    got = agreement_table(units)
    data = np.array([units["a"], units["b"]], dtype=float)
    if len(np.unique(data)) < 2:
        assert np.isnan(got["krippendorff_alpha"]).all()
    else:
        expected = krippendorff.alpha(reliability_data=data, level_of_measurement="nominal")
        assert got["krippendorff_alpha"].tolist() == pytest.approx([expected, expected])


# Krippendorff (2011), "Computing Krippendorff's alpha-reliability", section C:
# nominal data, 4 observers, 12 units, missing values. Published result: alpha = 0.743.
_ = np.nan
KRIPPENDORFF_2011 = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, _, _, _],  # observer A
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, _, 3],  # observer B
        [_, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, _],  # observer C
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, _],  # observer D
    ]
)


def _alpha_by_coincidences(data: np.ndarray) -> float:
    """Nominal alpha from the coincidence matrix, written out as in Krippendorff (2011)."""
    values = np.unique(data[~np.isnan(data)])
    o = np.zeros((len(values), len(values)))
    for unit in data.T:
        present = unit[~np.isnan(unit)]
        m = len(present)
        if m < 2:
            continue  # units with fewer than two values are not pairable
        for i, c in enumerate(present):
            for j, k in enumerate(present):
                if i != j:
                    o[values == c, values == k] += 1 / (m - 1)
    n_c = o.sum(axis=1)
    n = n_c.sum()
    disagree_observed = o.sum() - np.trace(o)
    disagree_expected = (n * n - np.sum(n_c**2)) / (n - 1)
    return 1 - disagree_observed / disagree_expected


def test_krippendorff_2011_published_example():
    alpha = krippendorff.alpha(reliability_data=KRIPPENDORFF_2011, level_of_measurement="nominal")
    assert round(alpha, 3) == 0.743
    # The same value from the coincidence matrix written out by hand (n = 40 pairable
    # values; unit 12 has a single value and is dropped).
    assert _alpha_by_coincidences(KRIPPENDORFF_2011) == pytest.approx(alpha, abs=1e-12)
    assert round(_alpha_by_coincidences(KRIPPENDORFF_2011), 3) == 0.743


def test_no_double_coded_participants(codings, segments, codebook):
    # coder_b (E01, I01) and coder_c (I02) share no interviewee.
    units = agreement_units(codings, segments, "coder_b", "coder_c", codebook=codebook)
    assert units.empty and list(units.columns) == ["unit_id", "code_id", "a", "b"]
    table = agreement_table(units)
    assert table["code_id"].tolist() == ["overall"]
    assert table.loc[0, "n_units"] == 0
    assert table[["percent_agreement", "cohen_kappa", "krippendorff_alpha"]].isna().all(axis=None)


# --------------------------------------------------------------------------- without the grid

@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["s1", "s2", "s3", "s4", "s5"]),
                          st.sampled_from(["x", "y", "z"]), st.sampled_from(["a", "b"])),
                min_size=1, max_size=25),
       st.sampled_from(["segment", "interviewee"]))
def test_counts_without_the_grid_equal_the_grid_table(rows, unit):
    """agreement_table_from_counts(agreement_counts(...)) == agreement_table(agreement_units(...)),
    its closed-form alpha included (the grid table takes alpha from the krippendorff package)."""
    from compendium.analysis import agreement_counts, agreement_table_from_counts

    segments = pd.DataFrame({"segment_id": ["s1", "s2", "s3", "s4", "s5"],
                             "participant_id": ["P1", "P1", "P2", "P2", "P3"]})
    codings = pd.DataFrame(rows, columns=["segment_id", "code_id", "coder"])
    if set(codings["coder"]) != {"a", "b"}:
        return
    if not double_coded_participants(codings, segments, "a", "b"):
        return
    grid = agreement_table(agreement_units(codings, segments, "a", "b", unit=unit))
    counts = agreement_table_from_counts(agreement_counts(codings, segments, "a", "b",
                                                          unit=unit))
    pd.testing.assert_frame_equal(counts, grid, check_dtype=False, atol=1e-12)
