"""Display tables and generated sentences, checked against values worked out by hand."""

from __future__ import annotations

import pandas as pd
import pytest

from compendium.displays import narrative
from compendium.displays.tables import (
    escape_markdown,
    markdown_table,
    neutralise_formula,
    profile_table,
    spreadsheet_safe,
)


@pytest.mark.parametrize("text, safe", [
    ("=SUM(A1:A2)", "'=SUM(A1:A2)"), ("+44 1524", "'+44 1524"), ("-1", "'-1"),
    ("@cmd", "'@cmd"), ("plain", "plain"), ("a=b", "a=b"),
])
def test_formulas_are_neutralised(text: str, safe: str):
    assert neutralise_formula(text) == safe


def test_spreadsheet_safe_leaves_numbers_alone():
    frame = pd.DataFrame({"text": ["=1+1", "ok"], "gap": [-0.5, 0.25]})
    safe = spreadsheet_safe(frame)
    assert safe["text"].tolist() == ["'=1+1", "ok"]
    assert safe["gap"].tolist() == [-0.5, 0.25]


def test_markdown_escape_stops_citations_and_pipes():
    assert escape_markdown("a|b @key *x*") == r"a\|b \@key \*x\*"


def test_markdown_table_widths_and_alignment():
    frame = pd.DataFrame({"Code": ["A"], "n": [3]})
    text = markdown_table(frame, widths=[3, 1])
    header, rule, row = text.splitlines()
    assert header == "| Code | n |"
    # 75 and 25 dashes: left-aligned text column, right-aligned number column
    assert rule == "|:" + "-" * 74 + "|" + "-" * 24 + ":|"
    assert row == "| A | 3 |"


def test_profile_table_counts_segments_of_the_chosen_coder():
    participants = pd.DataFrame({
        "participant_id": ["I01", "E01"], "perspective": ["intermediary", "entrepreneur"],
        "organisation_type": ["hei", "ict_sme"]})
    segments = pd.DataFrame({"segment_id": ["s1", "s2", "s3"],
                             "participant_id": ["E01", "E01", "I01"]})
    codings = pd.DataFrame({"segment_id": ["s1", "s2", "s3", "s3"],
                            "code_id": ["a", "b", "a", "b"],
                            "coder": ["x", "x", "y", "y"]})
    table = profile_table(participants, segments, codings, coder="x")
    # entrepreneurs first; E01 has two segments coded by x, I01 none
    assert table.to_dict("list") == {
        "Interviewee": ["E01", "I01"], "Perspective": ["Entrepreneurs", "Intermediaries"],
        "Organisation": ["ICT SME", "HEI"], "Coded segments": [2, 0]}


def test_organisation_phrase():
    participants = pd.DataFrame({"perspective": ["intermediary"] * 4 + ["entrepreneur"],
                                 "organisation_type": ["agency", "hei", "hei", "hei", "ict_sme"]})
    assert narrative.organisation_phrase(participants) == "one from an agency and three from HEIs"


def test_top_code_sentence_names_ties_together():
    matrix = pd.DataFrame({
        "code_id": ["a", "a", "b", "b"], "name": ["Alpha", "Alpha", "Beta", "Beta"],
        "perspective": ["entrepreneur", "intermediary"] * 2,
        "n_interviewees": [3, 1, 3, 2], "group_size": [4, 2, 4, 2]})
    assert narrative.top_code_sentence(matrix, "entrepreneur") == (
        "Among entrepreneurs, the most widely raised codes were ‘Alpha’ and ‘Beta’, "
        "raised by 3 of 4 (75%).")
    assert narrative.top_code_sentence(matrix, "intermediary") == (
        "Among intermediaries, the most widely raised code was ‘Beta’, raised by 2 of 2 (100%).")


def test_strongest_pair_sentence_ignores_self_pairs():
    pairs = pd.DataFrame({"code_a": ["a", "a", "b"], "code_b": ["a", "c", "c"],
                          "count": [5, 2, 2], "jaccard": [1.0, 0.4, 0.5]})
    sentence = narrative.strongest_pair_sentence(pairs, {"a": "A", "b": "B", "c": "C"}, "segment")
    assert sentence == ("The strongest association was between ‘B’ and ‘C’, which shared "
                        "2 segments (Jaccard similarity 0.50)")


def test_coverage_sentence():
    framework = pd.DataFrame({"perspective": ["e", "i"], "a": [1, 0], "b": [2, 0]})
    assert narrative.coverage_sentence(framework) == (
        "2 of the 4 interviewee-by-code cells (50%) hold at least one coded segment")


def test_agreement_sentence_when_kappa_undefined():
    sentence = narrative.agreement_sentence(
        {"cohen_kappa": float("nan"), "krippendorff_alpha": float("nan"),
         "percent_agreement": 100.0, "n_units": 10}, "segment")
    assert sentence.startswith("Chance-corrected agreement is not defined")


def test_profile_table_leaves_out_an_unrecorded_organisation_type_and_groups_by_label():
    participants = pd.DataFrame({"participant_id": ["B", "A", "C"],
                                 "perspective": ["entrepreneur", "entrepreneur", "intermediary"]})
    segments = pd.DataFrame({"segment_id": ["s1"], "participant_id": ["A"]})
    codings = pd.DataFrame({"segment_id": ["s1"], "code_id": ["a"], "coder": ["x"]})
    table = profile_table(participants, segments, codings, coder="x")
    assert list(table.columns) == ["Interviewee", "Perspective", "Coded segments"]
    # the label heads its group once, as in a printed table
    assert table["Perspective"].tolist() == ["Entrepreneurs", "", "Intermediaries"]
