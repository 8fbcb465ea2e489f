"""The paper as a reader sees it (issue 17): quotation marks, short labels, the widget's table.

The PDF's quotation marks are read back with pdftotext from the shared demo build; the
paper built from a real Taguette export, which checks the same and that no sentence
outside the introduction and the literature interprets this study's groups, is built in
tests/test_design.py.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from compendium.dataset.design import STUDY, design_from_descriptor
from compendium.dataset.design_check import design_problems
from compendium.dataset.design_files import read_design_file
from compendium.displays import narrative, tables

from .conftest import pdf_text, quote_mark_problems


def test_quote_check_catches_the_closing_fault():
    """The check itself fails on what the PDF used to show, and passes on the right marks."""
    wrong = "Quote ‘For me it’s a shop window … than cold calling.‘ (E05) and ‘Peers’."
    assert quote_mark_problems(wrong)
    assert quote_mark_problems("He said 'hello'.")
    assert quote_mark_problems("‘For me it’s a shop window … than cold calling.’ (E05) and "
                               "‘Peers’.") == []


def test_demo_pdf_opens_every_quote_with_a_left_and_closes_it_with_a_right_mark(built: Path):
    text = pdf_text(built)
    assert quote_mark_problems(text) == []
    values = json.loads((built / "paper" / "values.json").read_text(encoding="utf-8"))
    n_quotes = sum(int(values[f"matrix.{t}.n_quotes"]["text"])
                   for t in ("motivations", "outcomes", "cluster_role"))
    assert n_quotes >= 30
    # every illustrative quote in the matrices ends ’ (interviewee)
    assert text.count("’ (") >= n_quotes


def test_demo_keeps_this_studys_prose_and_short_headers(built: Path):
    """The demo declares the study, so its interpretation stays; narrow headers are short."""
    html = " ".join((built / "paper" / "paper.html").read_text(encoding="utf-8").split())
    assert "For entrepreneurs, the question is why an" in html
    assert "concluded that cluster-building activities such as sector networking" in html
    assert "<th" in html and ">Intermediaries</th>" in html
    assert "Intermediaries (agencies and HEIs) (interviewees)" not in html
    assert "‘Intermediaries’ stands for ‘Intermediaries (agencies and HEIs)’" in html


DESIGN_TOML = """\
study = "another-study"
[perspectives]
attribute = "Role"
intermediary = { label = "School board", values = ["board"] }

[perspectives.entrepreneur]
label = "District administrators in charge"
short_label = "Administrators"
values = ["admin"]

[themes.motivations]
label = "Rationales for computer science"
short_label = "Rationales"
codes = ["a"]
"""


def test_design_file_names_the_study_and_short_labels(tmp_path: Path):
    path = tmp_path / "design.toml"
    path.write_text(DESIGN_TOML, encoding="utf-8")
    data = read_design_file(path)
    assert data["study"] == "another-study"
    block = {"study": data["study"],
             "perspectives": {k: {key: v for key, v in spec.items() if key != "values"}
                              for k, spec in data["perspectives"].items() if k != "attribute"},
             "themes": {"motivations": {**data["themes"]["motivations"], "codes": []}}}
    descriptor = {"compendium": {"design": block}}
    assert design_problems(descriptor, None) == []
    design = design_from_descriptor(descriptor)
    assert design.study == "another-study"
    assert design.short_labels == {"entrepreneur": "Administrators",
                                   "intermediary": "School board"}
    assert design.theme_short_label("motivations") == "Rationales"
    assert design.theme_short_label("outcomes") == "Outcomes of the meetings"
    assert narrative.short_label_note(design) == (
        "Short labels in the headers: ‘Administrators’ stands for ‘District administrators in "
        "charge’; ‘Rationales’ stands for ‘Rationales for computer science’.")
    bad = {"compendium": {"design": {**block, "study": ""}}}
    assert [p.column for p in design_problems(bad, None)] == ["compendium.design.study"]
    path.write_text('study = 3\n', encoding="utf-8")
    with pytest.raises(Exception, match="study: must be non-empty text"):
        read_design_file(path)


def test_demo_design_declares_the_study():
    from .conftest import DEMO

    descriptor = json.loads((DEMO / "datapackage.json").read_text(encoding="utf-8"))
    assert design_from_descriptor(descriptor).study == STUDY


def test_matrix_headers_use_short_labels_and_spread_sentence():
    design = design_from_descriptor({"compendium": {"design": {"perspectives": {
        "entrepreneur": {"label": "Founders"},
        "intermediary": {"label": "Business support staff", "short_label": "Support"}}}}})
    matrix = pd.DataFrame({
        "code_id": ["c1", "c1", "c2", "c2", "c3", "c3"], "name": ["A", "A", "B", "B", "C", "C"],
        "perspective": ["entrepreneur", "intermediary"] * 3,
        "n_interviewees": [2, 1, 1, 0, 0, 0], "group_size": [3, 2] * 3,
        "quote_segment_id": [None] * 6, "quote_participant_id": ["P1", "P2"] * 3,
        "quote_text": ["x", "y", None, None, None, None]})
    shown = tables.matrix_display(matrix, design)
    assert list(shown.columns) == ["Code", "Founders", "Quote (founders)", "Support",
                                   "Quote (business support staff)"]
    assert narrative.theme_spread_sentence(matrix, "Why", design) == (
        "Of the three codes of the theme ‘Why’, one was raised by interviewees of both "
        "perspectives, one only by founders, none only by business support staff and one by "
        "no one.")


def test_widget_agreement_table_shows_names_and_worded_headers():
    from compendium import classroom
    from compendium.classroom import widget as coding_widget
    from compendium.dataset import load_dataset

    from .conftest import DEMO

    ds = load_dataset(DEMO)
    segments = classroom.segments_to_code(ds, n_segments=3)
    session = classroom.CodingSession(segments, classroom.codebook_by_theme(ds.codebook))
    first = session.code_ids[0]
    session.choices[segments[0].segment_id] = {first}
    session.reached = 2
    table = session.agreement(ds, ds.primary_coder)
    assert table is not None
    shown = coding_widget.labelled_agreement(table, ds, ds.primary_coder)
    assert list(shown.columns)[:6] == ["Code", "Segments", "Both applied",
                                       f"Only {ds.primary_coder}", "Only you", "Neither applied"]
    names = dict(zip(ds.codebook["code_id"], ds.codebook["name"], strict=True))
    assert names[first] in set(shown["Code"])
    assert first not in set(shown["Code"]) and "All codes (pooled)" in set(shown["Code"])
