import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.analysis import (
    describe_gap,
    largest_gaps,
    perspective_comparison,
    wilson_interval,
)

COLUMNS = [
    "code_id",
    "theme",
    "name",
    "n_entrepreneur",
    "size_entrepreneur",
    "share_entrepreneur",
    "n_intermediary",
    "size_intermediary",
    "share_intermediary",
    "gap",
    "ci_low_entrepreneur",
    "ci_high_entrepreneur",
    "ci_low_intermediary",
    "ci_high_intermediary",
    "fisher_p",
]

# Wilson bounds by hand, z = 1.959964, z^2 = 3.841459:
#   k = n = 2: low = n / (n + z^2) = 2 / 5.841459 = 0.342380, high = 1
#   k = 0, n = 2: low = 0, high = z^2 / (n + z^2) = 3.841459 / 5.841459 = 0.657620
#   k = 1, n = 2: centre = 0.5, half = z / (1 + z^2/2) * sqrt(1/8 + z^2/16)
#                 = 0.671053 * 0.604228 = 0.405469 -> (0.094531, 0.905469)
W22 = (0.342380, 1.0)
W02 = (0.0, 0.657620)
W12 = (0.094531, 0.905469)


@pytest.fixture
def comparison(codings, segments, participants, codebook):
    return perspective_comparison(codings, segments, participants, codebook, coder="coder_a")


def test_interviewee_comparison_by_hand(comparison):
    got = comparison
    assert list(got.columns) == COLUMNS
    assert isinstance(got.index, pd.RangeIndex)
    assert got["code_id"].tolist() == ["MOT-LEADS", "MOT-TARGETS", "MOT-PEER", "OUT-SALES",
        "OUT-NONE"]
    # Interviewees raising each code (coder_a), 2 per group (see conftest):
    assert got["n_entrepreneur"].tolist() == [2, 0, 2, 1, 0]
    assert got["n_intermediary"].tolist() == [1, 2, 0, 1, 0]
    assert got["size_entrepreneur"].tolist() == [2] * 5
    assert got["size_intermediary"].tolist() == [2] * 5
    assert got["share_entrepreneur"].tolist() == [1.0, 0.0, 1.0, 0.5, 0.0]
    assert got["share_intermediary"].tolist() == [0.5, 1.0, 0.0, 0.5, 0.0]
    assert got["gap"].tolist() == [0.5, -1.0, 1.0, 0.0, 0.0]
    # Wilson intervals for k of 2 (see W.. above).
    ent = [W22, W02, W22, W12, W02]
    inter = [W12, W22, W02, W12, W02]
    assert got["ci_low_entrepreneur"].tolist() == pytest.approx([w[0] for w in ent], abs=1e-5)
    assert got["ci_high_entrepreneur"].tolist() == pytest.approx([w[1] for w in ent], abs=1e-5)
    assert got["ci_low_intermediary"].tolist() == pytest.approx([w[0] for w in inter], abs=1e-5)
    assert got["ci_high_intermediary"].tolist() == pytest.approx([w[1] for w in inter], abs=1e-5)
    # Fisher exact, two-sided, margins 2 / 2 per perspective, N = 4:
    #   LEADS [[2,0],[1,1]]: column total 3, P(a=1) = P(a=2) = 3/6 -> p = 1
    #   TARGETS [[0,2],[2,0]]: P(a=0,1,2) = 1/6, 4/6, 1/6; observed 1/6 -> p = 2/6
    #   PEER [[2,0],[0,2]]: same distribution, observed a=2 -> p = 2/6
    #   SALES [[1,1],[1,1]]: observed 4/6 is the most likely table -> p = 1
    #   NONE [[0,2],[0,2]]: nobody raised it -> p = 1
    assert got["fisher_p"].tolist() == pytest.approx([1.0, 1 / 3, 1 / 3, 1.0, 1.0])


def test_segment_comparison_by_hand(codings, segments, participants, codebook):
    got = perspective_comparison(
        codings, segments, participants, codebook, coder="coder_a", unit="segment"
    )
    # Segments: 4 entrepreneur (E01-001, E01-002, E02-001, E02-002), 4 intermediary.
    assert got["size_entrepreneur"].tolist() == [4] * 5
    assert got["size_intermediary"].tolist() == [4] * 5
    # LEADS: E01-001, E01-002, E02-001 | I01-001; TARGETS: - | I01-001, I01-002, I02-001;
    # PEER: E01-001, E02-002 | -; SALES: E02-002 | I02-002; NONE: - | -.
    assert got["n_entrepreneur"].tolist() == [3, 0, 2, 1, 0]
    assert got["n_intermediary"].tolist() == [1, 3, 0, 1, 0]
    assert got["gap"].tolist() == pytest.approx([0.5, -0.75, 0.5, 0.0, 0.0])
    # Fisher with margins 4 / 4, N = 8, C(8,4) = 70:
    #   LEADS [[3,1],[1,3]]: P(a) = C(4,a)^2/70 = 1,16,36,16,1 /70; observed 16 -> 34/70
    #   TARGETS [[0,4],[3,1]]: P(a) = C(3,a)C(5,4-a)/70 = 5,30,30,5 /70; observed 5 -> 10/70
    #   PEER [[2,2],[0,4]]: P(a) = C(2,a)C(6,4-a)/70 = 15,40,15 /70; observed 15 -> 30/70
    assert got["fisher_p"].tolist() == pytest.approx([34 / 70, 10 / 70, 30 / 70, 1.0, 1.0])


def test_segment_unit_docstring_warns_about_independence():
    doc = " ".join(perspective_comparison.__doc__.split())
    assert "not independent" in doc and "descriptive only" in doc


def test_empty_perspective_gives_nan_intervals(codings, segments, participants, codebook):
    entrepreneurs = participants[participants["perspective"] == "entrepreneur"]
    got = perspective_comparison(codings, segments, entrepreneurs, codebook, coder="coder_a")
    assert got["size_intermediary"].tolist() == [0] * 5
    assert got["share_intermediary"].tolist() == [0.0] * 5
    assert got["ci_low_intermediary"].isna().all() and got["ci_high_intermediary"].isna().all()
    assert got["fisher_p"].isna().all()
    assert got["ci_low_entrepreneur"].notna().all()


def test_invalid_unit(codings, segments, participants, codebook):
    with pytest.raises(ValueError, match="unknown unit 'sentence'"):
        perspective_comparison(codings, segments, participants, codebook, unit="sentence")


def _binomtest(k: int, n: int):
    # Imported here: scipy.stats takes about two seconds to import, which every test
    # worker would pay while collecting; only the worker running these tests needs it.
    from scipy.stats import binomtest

    return binomtest(k, n)


def test_wilson_matches_scipy_on_a_grid():
    ks, ns = zip(*[(k, n) for n in range(1, 31) for k in range(n + 1)], strict=True)
    low, high = wilson_interval(np.array(ks), np.array(ns))
    for k, n, lo, hi in zip(ks, ns, low, high, strict=True):
        ci = _binomtest(k, n).proportion_ci(method="wilson")
        assert lo == pytest.approx(ci.low, abs=1e-12)
        assert hi == pytest.approx(ci.high, abs=1e-12)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 2000).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))))
def test_wilson_matches_scipy_property(kn):
    k, n = kn
    low, high = wilson_interval(k, n)
    ci = _binomtest(k, n).proportion_ci(method="wilson")
    assert float(low) == pytest.approx(ci.low, abs=1e-12)
    assert float(high) == pytest.approx(ci.high, abs=1e-12)
    assert 0.0 <= low <= k / n <= high <= 1.0


def test_wilson_empty_group_is_nan():
    low, high = wilson_interval(np.array([0]), np.array([0]))
    assert np.isnan(low[0]) and np.isnan(high[0])


def test_largest_gaps_by_hand(comparison):
    # |gap|: LEADS 0.5, TARGETS 1, PEER 1, SALES 0, NONE 0.
    # Tie at 1 broken by code_id: "MOT-PEER" < "MOT-TARGETS".
    got = largest_gaps(comparison, n=3)
    assert got["code_id"].tolist() == ["MOT-PEER", "MOT-TARGETS", "MOT-LEADS"]
    assert isinstance(got.index, pd.RangeIndex)
    assert list(got.columns) == COLUMNS
    assert largest_gaps(comparison, n=0).empty
    assert len(largest_gaps(comparison, n=99)) == 5
    with pytest.raises(ValueError):
        largest_gaps(comparison, n=-1)


def _row(name, k_e, n_e, k_i, n_i):
    share_e = k_e / n_e if n_e else 0.0
    share_i = k_i / n_i if n_i else 0.0
    return pd.Series(
        {
            "name": name,
            "n_entrepreneur": k_e,
            "size_entrepreneur": n_e,
            "share_entrepreneur": share_e,
            "n_intermediary": k_i,
            "size_intermediary": n_i,
            "share_intermediary": share_i,
            "gap": share_e - share_i,
        }
    )


def test_describe_gap_example_sentence():
    # 1/8 = 12.5% rounds half up to 13%.
    row = _row("Delivering programme targets", 1, 8, 6, 6)
    assert describe_gap(row) == (
        "The largest difference between the perspectives was for 'Delivering programme "
        "targets', raised by 1 of 8 entrepreneurs (13%) and 6 of 6 intermediaries (100%)."
    )


def test_describe_gap_on_toy_rows(comparison, codings, segments, participants, codebook):
    top = largest_gaps(comparison, n=1).iloc[0]
    assert describe_gap(top) == (
        "The largest difference between the perspectives was for 'Peer support', "
        "raised by 2 of 2 entrepreneurs (100%) and 0 of 2 intermediaries (0%)."
    )
    sales = comparison[comparison["code_id"] == "OUT-SALES"].iloc[0]
    assert describe_gap(sales) == (
        "There was no difference between the perspectives for 'New sales', "
        "raised by 1 of 2 entrepreneurs (50%) and 1 of 2 intermediaries (50%)."
    )
    targets = comparison[comparison["code_id"] == "MOT-TARGETS"].iloc[0]
    assert describe_gap(targets, largest=False) == (
        "'Delivering programme targets' was raised by 0 of 2 entrepreneurs (0%) and "
        "2 of 2 intermediaries (100%), proportionally more often by intermediaries."
    )
    leads = comparison[comparison["code_id"] == "MOT-LEADS"].iloc[0]
    sentence = describe_gap(leads, largest=False)
    assert sentence.endswith("proportionally more often by entrepreneurs.")
    by_segment = perspective_comparison(
        codings, segments, participants, codebook, coder="coder_a", unit="segment"
    )
    targets = by_segment[by_segment["code_id"] == "MOT-TARGETS"].iloc[0]
    assert describe_gap(targets, unit="segment") == (
        "The largest difference between the perspectives was for 'Delivering programme targets', "
        "raised in 0 of 4 segments from entrepreneurs (0%) and 3 of 4 segments from "
        "intermediaries (75%)."
    )


def test_describe_gap_edge_cases():
    # Different shares that round to the same whole percentage get one decimal:
    # 1/3 = 33.33..% -> 33.3%, 33/100 -> 33.0%.
    assert "(33.3%)" in describe_gap(_row("X", 1, 3, 33, 100))
    assert "(33.0%)" in describe_gap(_row("X", 1, 3, 33, 100))
    # Two decimals where one is not enough: 1/59 = 1.695% and 1/60 = 1.667% (both 1.7%).
    assert "(1.69%)" in describe_gap(_row("X", 1, 59, 1, 60))
    assert "(1.67%)" in describe_gap(_row("X", 1, 59, 1, 60))
    # Equal shares with different group sizes: 1/2 and 3/6.
    assert describe_gap(_row("X", 1, 2, 3, 6)).startswith("There was no difference")
    # Singular noun for a group of one.
    assert "1 of 1 entrepreneur (100%)" in describe_gap(_row("X", 1, 1, 0, 3))
    # An empty perspective cannot be compared.
    assert describe_gap(_row("X", 2, 2, 0, 0)) == (
        "'X' was raised by 2 of 2 entrepreneurs (100%); it cannot be compared between the "
        "perspectives because the data include no intermediaries."
    )
    assert "no data from either" in describe_gap(_row("X", 0, 0, 0, 0))
    with pytest.raises(ValueError):
        describe_gap(_row("X", 1, 2, 1, 2), unit="word")


@settings(max_examples=150, deadline=None)
@given(
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.integers(1, 300).flatmap(lambda n: st.tuples(st.integers(0, n), st.just(n))),
    st.booleans(),
)
def test_describe_gap_is_faithful_to_the_counts(ent, inter, largest):
    (k_e, n_e), (k_i, n_i) = ent, inter
    sentence = describe_gap(_row("Code", k_e, n_e, k_i, n_i), largest=largest)
    assert f"{k_e} of {n_e} entrepreneur" in sentence
    assert f"{k_i} of {n_i} intermediar" in sentence
    percents = re.findall(r"\(([\d.]+)%\)", sentence)
    assert len(percents) == 2
    assert float(percents[0]) == pytest.approx(100 * k_e / n_e, abs=0.5)
    assert float(percents[1]) == pytest.approx(100 * k_i / n_i, abs=0.5)
    equal = k_e * n_i == k_i * n_e
    assert sentence.startswith("There was no difference") == equal
    if not equal:
        # A real difference is never printed as two equal percentages.
        assert percents[0] != percents[1]
        if not largest:
            more = "entrepreneurs" if k_e / n_e > k_i / n_i else "intermediaries"
            assert sentence.endswith(f"more often by {more}.")
