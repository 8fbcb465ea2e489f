"""Many-coder agreement at segment, character and unitized level: known answers, and the
pairwise measures again at two coders.

Known answers:

* Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
  Psychological Bulletin 76(5): 378-382. The kappa of each category against
  all others for Table 1 (pp. 380-381): .245, .245, .520, .471, .566. Each
  category against the rest is a yes/no decision by six raters, so the same
  numbers come out of the yes/no measure, and out of the character-level
  measure when each patient is one character of a transcript.
* Krippendorff, K. (2011). Computing Krippendorff's alpha-reliability.
  Annenberg School for Communication, University of Pennsylvania, section A
  (binary data, two observers, no missing data): alpha = 0.095.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium import analysis
from compendium.analysis.multirater import binary_agreement, multirater_table

from .test_multirater import FLEISS_1971_TABLE_1

PUBLISHED_CATEGORY_KAPPAS = [0.245, 0.245, 0.520, 0.471, 0.566]


def fleiss_raters(table: np.ndarray) -> np.ndarray:
    """A patients x raters matrix of categories with Fleiss's counts (who is who does not
    matter to Fleiss' kappa or alpha, which only count the ratings of each patient)."""
    return np.array([np.repeat(np.arange(table.shape[1]), row) for row in table])


@pytest.mark.parametrize("category", range(5))
def test_yes_no_fleiss_reproduces_fleiss_1971_category_kappas(category):
    decisions = (fleiss_raters(FLEISS_1971_TABLE_1) == category).astype(int)
    result = binary_agreement(decisions)
    assert round(result.fleiss_kappa, 3) == PUBLISHED_CATEGORY_KAPPAS[category]


def test_character_level_reproduces_fleiss_1971_with_one_character_per_patient():
    raters = fleiss_raters(FLEISS_1971_TABLE_1)
    spans = pd.DataFrame([(f"r{r}", "s", f"C{raters[i, r]}", i, i + 1)
                          for i in range(raters.shape[0]) for r in range(raters.shape[1])],
                         columns=["coder", "source", "code_id", "start", "end"])
    table = analysis.character_agreement_many(spans, lengths={"s": raters.shape[0]})
    kappas = table.set_index("code_id").loc[[f"C{j}" for j in range(5)], "fleiss_kappa"]
    assert np.round(kappas.to_numpy(), 3).tolist() == PUBLISHED_CATEGORY_KAPPAS


def test_krippendorff_2011_binary_two_observers():
    a = [0, 1, 0, 0, 0, 0, 0, 0, 1, 0]
    b = [1, 1, 1, 0, 0, 1, 0, 0, 0, 0]
    result = binary_agreement(np.column_stack([a, b]))
    assert round(result.krippendorff_alpha, 3) == 0.095


@settings(max_examples=40, deadline=None)
@given(st.integers(2, 6).flatmap(lambda m: st.lists(
    st.lists(st.integers(0, 1), min_size=m, max_size=m), min_size=2, max_size=25)),
    st.integers(0, 3))
def test_binary_agreement_against_second_implementations(rows, seed):
    """Weights equal repeated rows; alpha is the krippendorff package's; Conger's kappa is
    the mean pairwise chance agreement written out (Conger 1980, eq. 4)."""
    import krippendorff

    x = np.array(rows)
    weights = np.random.default_rng(seed).integers(1, 4, len(x))
    weighted = binary_agreement(x, weights)
    expanded = binary_agreement(np.repeat(x, weights, axis=0))
    for name in ["percent_agreement", "fleiss_kappa", "conger_kappa", "krippendorff_alpha"]:
        assert getattr(weighted, name) == pytest.approx(getattr(expanded, name), nan_ok=True)
    if weighted.undefined:
        return
    data = np.repeat(x, weights, axis=0)
    assert weighted.krippendorff_alpha == pytest.approx(
        krippendorff.alpha(reliability_data=data.T, level_of_measurement="nominal"))
    m = x.shape[1]
    shares = data.mean(axis=0)
    chance = np.mean([shares[r] * shares[s] + (1 - shares[r]) * (1 - shares[s])
                      for r in range(m) for s in range(r + 1, m)])
    observed = np.mean([np.mean(data[:, r] == data[:, s])
                        for r in range(m) for s in range(r + 1, m)])
    if chance < 1:
        assert weighted.conger_kappa == pytest.approx((observed - chance) / (1 - chance))


@settings(max_examples=30, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["a", "b"]), st.sampled_from(["X", "Y"]),
                          st.integers(0, 90), st.integers(1, 30)), min_size=2, max_size=14))
def test_two_coders_character_measures_are_the_pairwise_ones(marks):
    spans = pd.DataFrame([(c, "s", k, s, s + n) for c, k, s, n in marks],
                         columns=["coder", "source", "code_id", "start", "end"])
    if spans["coder"].nunique() < 2:
        return
    lengths = {"s": 130}
    many = analysis.character_agreement_many(spans, ["a", "b"], lengths).set_index("code_id")
    pair = analysis.character_agreement(spans, "a", "b", lengths).set_index("code_id")
    assert many.index.tolist() == pair.index.tolist()
    np.testing.assert_allclose(many["percent_agreement"], pair["percent_agreement"])
    np.testing.assert_allclose(many["conger_kappa"], pair["cohen_kappa"], equal_nan=True)


def test_two_coders_segment_measures_are_the_pairwise_ones():
    rng = np.random.default_rng(7)
    units = pd.DataFrame([(f"u{i}", code, int(rng.random() < 0.4), int(rng.random() < 0.5))
                          for i in range(30) for code in ["X", "Y"]],
                         columns=["unit_id", "code_id", "a", "b"])
    decisions = units.melt(id_vars=["unit_id", "code_id"], value_vars=["a", "b"],
                           var_name="coder", value_name="applied")
    many = multirater_table(decisions).set_index("code_id")
    pair = analysis.agreement_table(units).set_index("code_id")
    np.testing.assert_allclose(many.loc[["X", "Y", "overall"], "krippendorff_alpha"],
                               pair.loc[["X", "Y", "overall"], "krippendorff_alpha"])


def test_coverage_runs_add_up_to_the_source():
    spans = pd.DataFrame([("a", "s", "X", 2, 8), ("b", "s", "X", 5, 12), ("c", "s", "X", 6, 7)],
                         columns=["coder", "source", "code_id", "start", "end"])
    runs = analysis.coverage_runs(spans, ["a", "b", "c"], ["s"], {"s": 15})
    assert runs[["start", "end", "n_coders"]].values.tolist() == [
        [0, 2, 0], [2, 5, 1], [5, 6, 2], [6, 7, 3], [7, 8, 2], [8, 12, 1], [12, 15, 0]]
