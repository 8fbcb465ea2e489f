"""Text-based agreement: hand-worked cases, a second implementation, properties, errors."""

from __future__ import annotations

import warnings

import krippendorff
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.analysis import (
    AgreementDataError,
    alpha_family,
    alpha_u_category,
    character_agreement,
    choose_measure,
    coder_spans,
    coders_with_overlapping_spans,
    kappa_from_table,
    merge_overlapping,
    overlap_agreement,
    second_coder_for,
    self_overlaps,
    unitized_multivalued,
    unitized_per_code,
    unitized_table,
)
from compendium.displays.measures import agreement_by_measure

from .text_agreement_helpers import tables_from_spans

SRC = "transcripts/T.txt"


def spans_of(rows):
    segments, codings = tables_from_spans(rows)
    return coder_spans(segments, codings)


# --------------------------------------------------------------------------
# hand-worked: continuum of 10, coder 1 codes c on [0, 4), coder 2 on [2, 6)


def test_alpha_family_worked_by_hand():
    """Krippendorff et al. (2016) formulas applied by hand.

    Elementary stretches: [0,2) (c, gap), [2,4) (c, c), [4,6) (gap, c),
    [6,10) (gap, gap). Both orders of the pair, m - 1 = 1:
    o_cc = 4, o_c0 = o_0c = 4, o_00 = 8; N = 20, l_c = 8, l_0 = 12.
    S_c = 4^2 + 4^2 = 32; S_0 = 6 + 2 + 4 = 12 (gaps count their length).
    e_cc = 20 (64 - 32) / 356, e_00 = 20 (144 - 12) / 356, e_c0 = 20 * 96 / 356.
    u alpha = 1 - (20 - 12) / (20 - e_cc - e_00) = 1 - 8 / (20 - 3280/356);
    with two values |u alpha = 1 - 4 / e_0c, the same number.
    """
    units = {("1", "s"): (np.array([0]), np.array([4]), np.array([1])),
             ("2", "s"): (np.array([2]), np.array([6]), np.array([1]))}
    fam = alpha_family(units, ["1", "2"], {"s": 10}, ["gap", "c"])
    assert fam["observed"].tolist() == [[8, 4], [4, 4]]
    expected_u = 1 - 8 / (20 - 3280 / 356)
    assert fam["u"].value == pytest.approx(expected_u)
    assert fam["binary"].value == pytest.approx(1 - 4 / (20 * 96 / 356))
    assert fam["binary"].value == pytest.approx(expected_u)
    # Only one value among the intersecting units: cu alpha has no variation.
    assert np.isnan(fam["cu"].value) and fam["cu"].undefined


def test_cu_alpha_worked_by_hand():
    """cu alpha (Krippendorff et al. 2016, coded parts only), continuum of 10.

    Coder 1: c [0,6), k [6,10); coder 2: c [0,4), k [4,10). Seen from coder 1,
    c meets c on 4 and k on 2, k meets k on 4; seen from coder 2, c meets c on
    4, k meets c on 2 and k on 4. So o_cc = o_kk = 8, o_ck = o_kc = 2, l = 20,
    l_c = l_k = 10. Each unit's length shared with the other coder's units,
    squared: c units 6^2 + 4^2 = 52, k units 4^2 + 6^2 = 52.
    D = 20 - 104 / 20; e_cc = e_kk = (100 - 52) / D;
    cu alpha = 1 - (20 - 16) / (20 - 2 e_cc).
    """
    units = {("1", "s"): (np.array([0, 6]), np.array([6, 10]), np.array([1, 2])),
             ("2", "s"): (np.array([0, 4]), np.array([4, 10]), np.array([1, 2]))}
    fam = alpha_family(units, ["1", "2"], {"s": 10}, ["gap", "c", "k"])
    d = 20 - 104 / 20
    e_cc = (100 - 52) / d
    assert fam["cu"].observed == pytest.approx(4)
    assert fam["cu"].value == pytest.approx(1 - 4 / (20 - 2 * e_cc))
    per_value = fam["per_value"].set_index("value")
    # (k)u alpha for c: 1 - (e_c. / l_c) (l_c - o_cc) / (e_c. - e_cc), e_c. = e_cc + 100 / d
    e_c = e_cc + 100 / d
    assert per_value.loc["c", "alpha"] == pytest.approx(1 - (e_c / 10) * (10 - 8) / (e_c - e_cc))


def test_alpha_u_category_worked_by_hand():
    """Krippendorff (2004) on the same case.

    Do: the units overlap, (0-2)^2 + (4-6)^2 = 8 in each order, no unit lies
    in a gap: Do = 16 / (2 * 1 * 10^2) = .08. De: N = 2 units of length 4:
    (N-1)/3 * 2 * (2*64 - 3*16 + 4) = 56; gaps 6, 2, 4 take a unit of 4 in
    3 + 1 positions: 2 * 16 * 4 = 128; denominator 20 * 19 - 2 * 12 = 356;
    De = (2/10) * 184 / 356.
    """
    units = {("1", "s"): (np.array([0]), np.array([4])), ("2", "s"): (np.array([2]), np.array([6]))}
    coef = alpha_u_category(units, ["1", "2"], {"s": 10})
    assert coef.observed == pytest.approx(0.08)
    assert coef.expected == pytest.approx(0.2 * 184 / 356)
    assert coef.value == pytest.approx(1 - 0.08 / (0.2 * 184 / 356))


# --------------------------------------------------------------------------
# second implementation: one unit per position is ordinary nominal alpha


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 2), st.integers(0, 2), st.integers(0, 2)),
                min_size=4, max_size=30))
def test_u_alpha_with_one_unit_per_position_is_nominal_alpha(cells):
    """With every unit one position long, u alpha is Krippendorff's nominal alpha.

    Gaps count their length (not its square) in the expected coincidences,
    so single positions and gaps alike behave as separate units of one value;
    the ``krippendorff`` package then computes the same coefficient, the gap
    being one more value.
    """
    data = np.array(cells).T  # coders x positions, 0 = gap
    if len(np.unique(data)) < 2:
        return
    coders = ["a", "b", "c"]
    units = {}
    for x, coder in enumerate(coders):
        pos = np.flatnonzero(data[x])
        units[(coder, "s")] = (pos, pos + 1, data[x][pos])
    fam = alpha_family(units, coders, {"s": data.shape[1]}, ["gap", "one", "two"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        expected = krippendorff.alpha(reliability_data=data.astype(float),
                                      level_of_measurement="nominal")
    assert fam["u"].value == pytest.approx(expected, abs=1e-9)


# --------------------------------------------------------------------------
# properties


span_lists = st.lists(st.tuples(st.sampled_from(["x", "y"]), st.integers(0, 80),
                                st.integers(1, 20)), min_size=1, max_size=8)


def _rows(coder, spans, shift=0):
    return [(coder, SRC, code, s + shift, s + n + shift) for code, s, n in spans]


@settings(max_examples=40, deadline=None)
@given(span_lists, span_lists, st.integers(0, 500))
def test_properties_symmetry_shift_and_bounds(a, b, shift):
    rows = _rows("A", a) + _rows("B", b)
    shifted = _rows("A", a, shift) + _rows("B", b, shift)
    lengths = {SRC: 100}
    spans = spans_of(rows)
    ch_ab = character_agreement(spans, "A", "B", lengths)
    ch_ba = character_agreement(spans, "B", "A", lengths)
    np.testing.assert_allclose(ch_ab["cohen_kappa"], ch_ba["cohen_kappa"])
    assert ch_ab["percent_agreement"].between(0, 100).all()
    assert (ch_ab["cohen_kappa"].dropna() <= 1 + 1e-12).all()
    u_ab = unitized_per_code(spans, ["A", "B"], lengths)
    u_ba = unitized_per_code(spans, ["B", "A"], lengths)
    np.testing.assert_allclose(u_ab["alpha_u_c"], u_ba["alpha_u_c"])
    np.testing.assert_allclose(u_ab["alpha_u_binary"], u_ba["alpha_u_binary"])
    assert (u_ab["alpha_u_c"].dropna() <= 1 + 1e-12).all()
    assert (u_ab["alpha_u_binary"].dropna() <= 1 + 1e-12).all()
    # Segment overlap looks only at the coders' own boundaries: moving every
    # span by the same amount changes nothing.
    moved = spans_of(shifted)
    o_ab = overlap_agreement(spans, "A", "B")
    o_moved = overlap_agreement(moved, "A", "B")
    np.testing.assert_allclose(o_ab["percent_agreement"], o_moved["percent_agreement"])
    assert (o_ab["bp_kappa"].dropna() <= 1).all()


@settings(max_examples=30, deadline=None)
@given(span_lists, st.integers(1, 300))
def test_properties_shift_within_a_padded_continuum(a, shift):
    """Shifting spans inside a continuum padded equally on both sides keeps every value."""
    b = [(c, s + 1, n) for c, s, n in a]
    base = spans_of(_rows("A", a, 300) + _rows("B", b, 300))
    moved = spans_of(_rows("A", a, 300 + shift) + _rows("B", b, 300 + shift))
    lengths = {SRC: 1000}
    for col in ("alpha_u_c", "alpha_u_binary"):
        np.testing.assert_allclose(unitized_per_code(base, None, lengths)[col],
                                   unitized_per_code(moved, None, lengths)[col], rtol=1e-9)
    np.testing.assert_allclose(character_agreement(base, "A", "B", lengths)["cohen_kappa"],
                               character_agreement(moved, "A", "B", lengths)["cohen_kappa"])


@settings(max_examples=30, deadline=None)
@given(span_lists)
def test_identical_codings_agree_perfectly(a):
    spans = spans_of(_rows("A", a) + _rows("B", a))
    lengths = {SRC: 120}
    ch = character_agreement(spans, "A", "B", lengths)
    assert (ch["percent_agreement"] == 100).all()
    assert ((ch["cohen_kappa"] == 1) | (ch["undefined"] != "")).all()
    u = unitized_per_code(spans, None, lengths)
    assert (u["alpha_u_c"] == 1).all() and (u["alpha_u_binary"] == 1).all()
    ov = overlap_agreement(spans, "A", "B")
    assert (ov["percent_agreement"] == 100).all()


# --------------------------------------------------------------------------
# overlapping spans within a coder, undefined cases


def test_self_overlaps_and_merge():
    spans = spans_of([("A", SRC, "x", 0, 10), ("A", SRC, "y", 5, 15), ("A", SRC, "x", 10, 12),
                      ("B", SRC, "x", 0, 10), ("B", SRC, "x", 20, 30)])
    found = self_overlaps(spans)
    assert found[["code_id", "start"]].values.tolist() == [["x", 0], ["y", 5], ["x", 10]]
    assert coders_with_overlapping_spans(spans) == ["A"]
    merged = merge_overlapping(spans[spans["code_id"] == "x"], ["coder", "source"])
    # [0,10) and [10,12) touch: two units, as in Krippendorff's examples.
    assert merged[merged["coder"] == "A"][["start", "end"]].values.tolist() == [[0, 10], [10, 12]]
    multi = unitized_multivalued(spans, None, {SRC: 40})
    assert multi["value"].isna().all()
    assert multi["undefined"].str.contains("coder A gave some text more than one code").all()
    # Per-code coefficients are still given.
    assert unitized_per_code(spans, None, {SRC: 40})["alpha_u_c"].notna().any()


def test_multivalued_defined_without_self_overlap():
    spans = spans_of([("A", SRC, "x", 0, 10), ("A", SRC, "y", 12, 20),
                      ("B", SRC, "x", 1, 10), ("B", SRC, "y", 12, 18)])
    table = unitized_table(spans, None, {SRC: 30})
    pooled = table[table["code_id"] == "overall"].set_index("coefficient")
    assert set(pooled.index) == {"u_alpha_c", "u_alpha", "|u_alpha", "cu_alpha"}
    assert pooled["value"].notna().all()
    assert (pooled["undefined"] == "").all()
    assert pooled.loc["cu_alpha", "value"] == 1.0  # intersections always carry the same code


def test_kappa_undefined_reasons():
    _, kappa, reasons = kappa_from_table([0, 10, 0, 3], [0, 0, 0, 2], [0, 0, 0, 1],
                                         [10, 0, 0, 4])
    assert np.isnan(kappa[:3]).all() and np.isfinite(kappa[3])
    assert reasons == ["neither coder applied the code", "both coders coded every character",
                       "no characters to compare", ""]


def test_unitized_undefined_when_nobody_coded():
    units = {("1", "s"): (np.zeros(0, int), np.zeros(0, int)),
             ("2", "s"): (np.zeros(0, int), np.zeros(0, int))}
    coef = alpha_u_category(units, ["1", "2"], {"s": 10})
    assert np.isnan(coef.value) and coef.undefined == "no coder applied the code"


# --------------------------------------------------------------------------
# choice of measure and errors


def test_choose_measure_coincident_and_own_spans():
    same = spans_of([("A", SRC, "x", 0, 10), ("B", SRC, "y", 0, 10), ("A", SRC, "x", 20, 30)])
    choice = choose_measure(same)
    assert choice["measure"] == "segment" and choice["coincide"]
    own = spans_of([("A", SRC, "x", 0, 10), ("B", SRC, "x", 2, 10)])
    choice = choose_measure(own)
    assert choice["measure"] == "unitized" and choice["boundary_differences"] == 2
    assert "own spans" in choice["reason"]


def test_errors_single_unknown_no_shared_source():
    segments, codings = tables_from_spans([("A", SRC, "x", 0, 10)])
    with pytest.raises(AgreementDataError, match="two coders"):
        agreement_by_measure(segments, codings, "character")
    segments, codings = tables_from_spans([("A", SRC, "x", 0, 10), ("B", SRC, "x", 0, 10)])
    with pytest.raises(AgreementDataError, match="unknown coder 'C'"):
        agreement_by_measure(segments, codings, "unitized", coders=["A", "C"])
    segments, codings = tables_from_spans([("A", SRC, "x", 0, 10),
                                           ("B", "transcripts/U.txt", "x", 0, 10)])
    with pytest.raises(AgreementDataError, match="share no source"):
        agreement_by_measure(segments, codings, "character")
    with pytest.raises(AgreementDataError, match="exactly 2"):
        segs, cods = tables_from_spans([("A", SRC, "x", 0, 9), ("B", SRC, "x", 0, 9),
                                        ("C", SRC, "x", 0, 9)])
        agreement_by_measure(segs, cods, "overlap", coders=["A", "B", "C"])
    with pytest.raises(AgreementDataError, match="unknown measure"):
        agreement_by_measure(segments, codings, "holsti")


def test_missing_offsets_are_a_stated_error():
    segments, codings = tables_from_spans([("A", SRC, "x", 0, 10), ("B", SRC, "x", 0, 10)])
    segments["start"] = pd.NA
    with pytest.raises(AgreementDataError, match="no start/end"):
        agreement_by_measure(segments, codings, "unitized")


def test_second_coder_choice(codings, segments):
    # conftest toy data: coder_b double-coded E01 and I01, coder_c only I02.
    assert second_coder_for(codings, segments, "coder_a") == ("coder_b", ["E01", "I01"])
    assert second_coder_for(codings, segments, "coder_a", "coder_c") == ("coder_c", ["I02"])
    only_a = codings[codings["coder"] == "coder_a"]
    assert second_coder_for(only_a, segments, "coder_a") == (None, [])
