"""Known answers for the text-based agreement measures, from published examples.

Sources of the expected values (each test names its own):

* Krippendorff, K. (1995). On the reliability of unitizing continuous data.
  Sociological Methodology 25, 47-76: the four two-observer examples on a
  continuum of 24, p. 57 (per-category alphas .553, -.926, .679, .066, and
  the character-by-character kappas .385, .385, .314, undefined).
* Krippendorff, K. (2004). Content Analysis, 2nd ed., p. 254: two observers
  on [150, 450) with categories c and k (alpha_c = .7286, Do = .0144,
  De = .0532; alpha_k = 1, De = .0490).
  The DKPro Statistics test suite (dkpro/dkpro-statistics, unitizing tests
  Krippendorff1995Test and Krippendorff2004Test) reproduces both and was
  read for the published values; its 1995 expected disagreements are the
  continuous limit, reached by stretching the continuum 50,000 times, with a
  tolerance of .005 (and .02 on the alphas) because the 1995 paper's
  expected disagreement has a small error (l + l + 1 for l - l + 1).
* QSR International, NVivo 10 help, "Run a Coding Comparison query": a
  1000-character source with 50 characters coded by both users, 150 by only
  one and 800 by neither has 85 % agreement.
"""

from __future__ import annotations

import numpy as np
import pytest

from compendium.analysis import (
    alpha_u_category,
    brennan_prediger,
    character_agreement,
    coder_spans,
    overlap_agreement,
    unitized_per_code,
)

from .text_agreement_helpers import (
    K1995,
    K2004,
    K2004_LENGTH,
    K2004_OFFSET,
    tables_from_spans,
    units_from_begin_length,
)


def _units_2004(category):
    units = {}
    for coder, rows in K2004[category].items():
        pairs = units_from_begin_length(rows)
        units[(coder, "s")] = (np.array([b - K2004_OFFSET for b, _ in pairs]),
                               np.array([e - K2004_OFFSET for _, e in pairs]))
    return units


def _units_1995(category, stretch=1.0):
    units, coders = {}, list(K1995[category])
    for coder, rows in K1995[category].items():
        pairs = units_from_begin_length(rows, stretch)
        units[(coder, "s")] = (np.array([b for b, _ in pairs], dtype=np.int64),
                               np.array([e for _, e in pairs], dtype=np.int64))
    return units, coders


def test_krippendorff_2004_p254_category_c():
    """Krippendorff (2004, p. 254): alpha_c = .7286, Do_c = .0144, De_c = .0532."""
    coef = alpha_u_category(_units_2004("c"), ["i", "j"], {"s": K2004_LENGTH})
    assert coef.observed == pytest.approx(0.0144, abs=5e-5)
    assert coef.expected == pytest.approx(0.0532, abs=5e-5)
    assert coef.value == pytest.approx(0.7286, abs=5e-5)
    assert coef.undefined == ""


def test_krippendorff_2004_p254_category_k():
    """Krippendorff (2004, p. 254): identical units of k give alpha_k = 1, De_k = .0490."""
    coef = alpha_u_category(_units_2004("k"), ["i", "j"], {"s": K2004_LENGTH})
    assert coef.observed == 0
    assert coef.expected == pytest.approx(0.0490, abs=5e-5)
    assert coef.value == 1.0


def test_krippendorff_2004_through_the_canonical_tables():
    """The same example written as segments.csv/codings.csv rows gives the same alphas."""
    rows = [(coder, "transcripts/T.txt", cat, b - K2004_OFFSET, b - K2004_OFFSET + n)
            for cat, by_coder in K2004.items() for coder, units in by_coder.items()
            for b, n in units]
    segments, codings = tables_from_spans(rows)
    table = unitized_per_code(coder_spans(segments, codings), lengths={"transcripts/T.txt": 300})
    by_code = table.set_index("code_id")
    assert by_code.loc["c", "alpha_u_c"] == pytest.approx(0.7286, abs=5e-5)
    assert by_code.loc["k", "alpha_u_c"] == 1.0


# Krippendorff (1995, p. 57), as reproduced by DKPro: observed disagreements
# exact at the printed scale; expected ones and alphas in the continuous limit.
K1995_OBSERVED = {"A": 0.03125, "B": 2.26736, "C": 0.02777, "D": 0.38715}
K1995_EXPECTED = {"A": 0.06990, "B": 1.17731, "C": 0.08642, "D": 0.41445}
K1995_ALPHA = {"A": 0.553, "B": -0.926, "C": 0.679, "D": 0.066}


@pytest.mark.parametrize("category", sorted(K1995))
def test_krippendorff_1995_p57_observed(category):
    units, coders = _units_1995(category)
    coef = alpha_u_category(units, coders, {"s": 24})
    assert coef.observed == pytest.approx(K1995_OBSERVED[category], abs=1e-5)


@pytest.mark.parametrize("category", sorted(K1995))
def test_krippendorff_1995_p57_expected_and_alpha(category):
    stretch = 1_200_000 / 24
    units, coders = _units_1995(category, stretch)
    coef = alpha_u_category(units, coders, {"s": int(24 * stretch)})
    assert coef.observed == pytest.approx(K1995_OBSERVED[category], abs=1e-5)
    assert coef.expected == pytest.approx(K1995_EXPECTED[category], abs=0.005)
    assert coef.value == pytest.approx(K1995_ALPHA[category], abs=0.02)


# Krippendorff (1995, p. 57) also gives Cohen's kappa of each example taken
# character by character: .385 (A), .385 (B), .314 (C), undefined (D, where
# both observers code every character).
K1995_KAPPA = {"A": 0.385, "B": 0.385, "C": 0.314}


def _spans_1995(category):
    rows = [(coder, "transcripts/P.txt", category, b, b + n)
            for coder, units in K1995[category].items() for b, n in units]
    segments, codings = tables_from_spans(rows)
    return coder_spans(segments, codings), list(K1995[category])


@pytest.mark.parametrize("category", sorted(K1995_KAPPA))
def test_krippendorff_1995_character_kappa(category):
    spans, (a, b) = _spans_1995(category)
    table = character_agreement(spans, a, b, lengths={"transcripts/P.txt": 24})
    row = table.set_index("code_id").loc[category]
    assert row["n_chars"] == 24
    assert row["cohen_kappa"] == pytest.approx(K1995_KAPPA[category], abs=0.001)


def test_krippendorff_1995_character_kappa_undefined_when_all_coded():
    """Example D: both observers code all 24 characters, so kappa is 0/0."""
    spans, (a, b) = _spans_1995("D")
    row = character_agreement(spans, a, b, lengths={"transcripts/P.txt": 24}).iloc[0]
    assert np.isnan(row["cohen_kappa"])
    assert row["undefined"] == "both coders coded every character"
    assert row["percent_agreement"] == 100.0


def test_character_kappa_matches_scikit_learn_on_expanded_characters():
    """Second implementation: sklearn's cohen_kappa_score on per-character 0/1 vectors."""
    from sklearn.metrics import cohen_kappa_score

    for category in ("A", "B", "C"):
        spans, (a, b) = _spans_1995(category)
        ours = character_agreement(spans, a, b, lengths={"transcripts/P.txt": 24})
        vectors = {}
        for coder in (a, b):
            v = np.zeros(24, int)
            for s, e in spans.loc[spans["coder"] == coder, ["start", "end"]].itertuples(
                    index=False):
                v[s:e] = 1
            vectors[coder] = v
        expected = cohen_kappa_score(vectors[a], vectors[b])
        assert ours["cohen_kappa"].iloc[0] == pytest.approx(expected, abs=1e-12)


def test_nvivo_documented_percentage_agreement():
    """NVivo help: 1000 characters, 50 coded by both, 150 by one only -> 85 %.

    Kappa from NVivo's own formula on these counts (150 coded by A only):
    EF1 = 200 * 50 / 1000 = 10, EF2 = 800 * 950 / 1000 = 760,
    K = (850 - 770) / (1000 - 770) = 80 / 230.
    """
    rows = [("A", "transcripts/N.txt", "node", 0, 200),
            ("B", "transcripts/N.txt", "node", 150, 200)]
    segments, codings = tables_from_spans(rows)
    table = character_agreement(coder_spans(segments, codings), "A", "B",
                                lengths={"transcripts/N.txt": 1000})
    row = table.iloc[0]
    assert (row["both"], row["only_a"] + row["only_b"], row["neither"]) == (50, 150, 800)
    assert row["percent_agreement"] == pytest.approx(85.0)
    assert row["cohen_kappa"] == pytest.approx(80 / 230)


@pytest.mark.parametrize("b_end, agrees", [(90, True), (89, False)])
def test_overlap_at_and_just_below_the_threshold(b_end, agrees):
    """A = [0, 100), B = [0, b_end): share 90/100 agrees at 90 %, 89/100 does not."""
    rows = [("A", "transcripts/O.txt", "code", 0, 100),
            ("B", "transcripts/O.txt", "code", 0, b_end)]
    segments, codings = tables_from_spans(rows)
    table = overlap_agreement(coder_spans(segments, codings), "A", "B", threshold=0.9)
    row = table.set_index("code_id").loc["code"]
    assert row["agree_a"] == int(agrees) and row["agree_b"] == int(agrees)
    assert row["percent_agreement"] == (100.0 if agrees else 0.0)


def test_brennan_prediger_1981_p689():
    """Brennan & Prediger (1981, p. 689), as reproduced by DKPro (BrennanPrediger1981Test):
    observed agreement .60 over three categories, chance 1/3, kappa_n = .40."""
    assert brennan_prediger(0.60, 3) == pytest.approx(0.40)
    assert np.isnan(brennan_prediger(0.60, 1))


def test_overlap_pooled_kappa_uses_the_number_of_codes():
    """Three codes (x, y, z); only the two x segments match: p_o = 2/5."""
    rows = [("A", "transcripts/O.txt", "x", 0, 10), ("B", "transcripts/O.txt", "x", 0, 10),
            ("A", "transcripts/O.txt", "y", 20, 30), ("B", "transcripts/O.txt", "z", 40, 50),
            ("A", "transcripts/O.txt", "z", 60, 70)]
    segments, codings = tables_from_spans(rows)
    overall = overlap_agreement(coder_spans(segments, codings), "A", "B").iloc[-1]
    # matched: A's x and B's x (2 of 5 segments) -> p_o = .4; kappa_n = (.4 - 1/3) / (2/3) = .1
    assert overall["percent_agreement"] == pytest.approx(40.0)
    assert overall["bp_kappa"] == pytest.approx(0.1)
