"""Fleiss' kappa and many-coder Krippendorff's alpha against published and independent answers."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.analysis.multirater import (
    FEWER_THAN_TWO_RATERS,
    NO_SUBJECTS,
    ONE_CATEGORY,
    binary_counts,
    fleiss_category_kappas,
    fleiss_kappa,
    krippendorff_alpha,
    multirater_table,
)

# Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
# Psychological Bulletin 76(5): 378-382. Table 1 (p. 379): 30 patients, each
# diagnosed by 6 of a pool of psychiatrists into 5 categories (depression,
# personality disorder, schizophrenia, neurosis, other). Rows: patients;
# columns: how many of the 6 chose each category.
FLEISS_1971_TABLE_1 = np.array([
    [0, 0, 0, 6, 0], [0, 3, 0, 0, 3], [0, 1, 4, 0, 1], [0, 0, 0, 0, 6], [0, 3, 0, 3, 0],
    [2, 0, 4, 0, 0], [0, 0, 4, 0, 2], [2, 0, 3, 1, 0], [2, 0, 0, 4, 0], [0, 0, 0, 0, 6],
    [1, 0, 0, 5, 0], [1, 1, 0, 4, 0], [0, 3, 3, 0, 0], [1, 0, 0, 5, 0], [0, 2, 0, 3, 1],
    [0, 0, 5, 0, 1], [3, 0, 0, 1, 2], [5, 1, 0, 0, 0], [0, 2, 0, 4, 0], [1, 0, 2, 0, 3],
    [0, 0, 0, 0, 6], [0, 1, 0, 5, 0], [0, 2, 0, 1, 3], [2, 0, 0, 4, 0], [1, 0, 0, 4, 1],
    [0, 5, 0, 1, 0], [4, 0, 0, 0, 2], [0, 2, 0, 4, 0], [1, 0, 5, 0, 0], [0, 0, 0, 0, 6],
])


def test_fleiss_1971_worked_example():
    # The values Fleiss (1971) computes from Table 1 in the text on pp. 379-380:
    # p_j = .144, .144, .167, .306, .239; P-bar = .556; P-bar_e = .220; kappa = .430.
    result = fleiss_kappa(FLEISS_1971_TABLE_1)
    assert result.undefined is None
    assert (result.n_subjects, result.n_raters) == (30, 6)
    assert np.round(result.p_j, 3).tolist() == [0.144, 0.144, 0.167, 0.306, 0.239]
    assert round(result.p_bar, 3) == 0.556
    assert round(result.p_e, 3) == 0.220
    assert round(result.kappa, 3) == 0.430


def test_fleiss_1971_category_kappas():
    # Fleiss (1971), the kappa of each diagnostic category against all others,
    # reported for the Table 1 data (pp. 380-381): .245, .245, .520, .471, .566.
    kappas = fleiss_category_kappas(FLEISS_1971_TABLE_1)
    assert np.round(kappas, 3).tolist() == [0.245, 0.245, 0.520, 0.471, 0.566]


def test_fleiss_agrees_with_statsmodels():
    # A second implementation (statsmodels, a test dependency) on the same published data.
    from statsmodels.stats.inter_rater import fleiss_kappa as sm_fleiss

    assert fleiss_kappa(FLEISS_1971_TABLE_1).kappa == pytest.approx(sm_fleiss(FLEISS_1971_TABLE_1))


@settings(max_examples=60, deadline=None)
@given(st.integers(2, 9).flatmap(lambda n: st.tuples(
    st.just(n), st.lists(st.lists(st.integers(0, 1), min_size=n, max_size=n),
                         min_size=2, max_size=25))))
def test_fleiss_matches_krippendorff_package_through_the_exact_relation(case):
    # A second, independent implementation: for complete nominal data with n raters
    # on each of N subjects, Krippendorff's alpha differs from Fleiss' kappa only by
    # the small-sample correction of the expected disagreement:
    # 1 - alpha = (1 - kappa) * (nN - 1) / (nN)  (Krippendorff 2004, ch. 11).
    n, rows = case
    matrix = np.array(rows)
    kappa = fleiss_kappa(binary_counts(matrix))
    alpha = krippendorff_alpha(matrix)
    if kappa.undefined:
        assert kappa.undefined == ONE_CATEGORY and alpha.undefined == ONE_CATEGORY
        assert math.isnan(kappa.kappa) and math.isnan(alpha.alpha)
        return
    total = n * len(rows)
    assert 1 - alpha.alpha == pytest.approx((1 - kappa.kappa) * (total - 1) / total, abs=1e-9)


def test_two_raters_fleiss_is_scotts_pi():
    # With two raters Fleiss' kappa is Scott's pi: (po - pe) / (1 - pe), with pe from
    # the pooled proportions. 10 subjects: 4 both yes, 4 both no, 2 split.
    matrix = np.array([[1, 1]] * 4 + [[0, 0]] * 4 + [[1, 0], [0, 1]])
    po, p_yes = 0.8, 0.5
    pe = p_yes ** 2 + (1 - p_yes) ** 2
    assert fleiss_kappa(binary_counts(matrix)).kappa == pytest.approx((po - pe) / (1 - pe))


def test_degenerate_cases_say_why():
    assert fleiss_kappa(np.zeros((0, 2))).undefined == NO_SUBJECTS
    assert fleiss_kappa(np.array([[1, 0], [0, 1]])).undefined == FEWER_THAN_TWO_RATERS
    nobody = fleiss_kappa(np.array([[5, 0], [5, 0], [5, 0]]))
    assert nobody.undefined == ONE_CATEGORY and math.isnan(nobody.kappa)
    assert nobody.p_bar == 1.0 and nobody.p_e == 1.0
    assert krippendorff_alpha(np.zeros((3, 1))).undefined == FEWER_THAN_TWO_RATERS
    assert krippendorff_alpha(np.zeros((3, 4))).undefined == ONE_CATEGORY
    perfect = fleiss_kappa(np.array([[3, 0], [0, 3], [3, 0]]))
    assert perfect.kappa == pytest.approx(1.0)


def test_bad_tables_are_refused():
    with pytest.raises(ValueError, match="same number of raters"):
        fleiss_kappa(np.array([[3, 0], [1, 1]]))
    with pytest.raises(ValueError, match="whole numbers"):
        fleiss_kappa(np.array([[1.5, 0.5]]))
    with pytest.raises(ValueError, match="subjects x categories"):
        fleiss_kappa(np.array([1, 2]))


def test_multirater_table_per_code_and_pooled():
    rows = []
    # Three coders, two units, two codes. "A": all agree on unit 1 yes, unit 2 no.
    # "B": nobody applies it, so kappa is undefined.
    for coder in ("s1", "s2", "s3"):
        for unit in ("u1", "u2"):
            rows.append((unit, "A", coder, int(unit == "u1")))
            rows.append((unit, "B", coder, 0))
    table = multirater_table(pd.DataFrame(rows, columns=["unit_id", "code_id", "coder", "applied"]))
    assert table["code_id"].tolist() == ["A", "B", "overall"]
    a, b, overall = (table.iloc[i] for i in range(3))
    assert a["fleiss_kappa"] == pytest.approx(1.0) and a["undefined"] == ""
    assert math.isnan(b["fleiss_kappa"]) and b["undefined"] == ONE_CATEGORY
    assert overall["n_units"] == 4 and overall["n_coders"] == 3 and overall["applied"] == 3
    pooled = fleiss_kappa(binary_counts(np.array([[1, 1, 1], [0, 0, 0], [0, 0, 0], [0, 0, 0]])))
    assert overall["fleiss_kappa"] == pytest.approx(pooled.kappa)


def test_multirater_table_needs_complete_decisions():
    frame = pd.DataFrame([("u1", "A", "s1", 1), ("u2", "A", "s2", 0)],
                         columns=["unit_id", "code_id", "coder", "applied"])
    with pytest.raises(ValueError, match="every coder"):
        multirater_table(frame)
