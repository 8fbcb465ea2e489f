"""The study's declared design: labels, theme membership, design files, import and apply."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from html import unescape
from pathlib import Path

import pandas as pd
import pytest

from compendium import analysis
from compendium.dataset import freeze_dataset, load_dataset, validate_dataset
from compendium.dataset.design import (
    analysis_tables,
    default_design,
    default_noun,
    design_from_descriptor,
    singular_of,
    unmapped_codes,
)
from compendium.dataset.design_files import apply_design_file, describe_design, read_design_file
from compendium.displays import figures, narrative, tables
from compendium.errors import CompendiumError
from compendium.qda.importer import import_dataset
from compendium.steps import dual_perspective as dual
from compendium.steps import framework_and_cooccurrence as framework
from compendium.steps import theme_matrix as matrices

from .conftest import DEMO, ROOT, make, paper_text, pdf_text, quote_mark_problems

DATA = ROOT / "tests" / "data"
TAGUETTE = DATA / "taguette-cluster-study.csv"
TAGUETTE_PEOPLE = DATA / "taguette-cluster-study-participants.csv"
TAGUETTE_DESIGN = DATA / "taguette-cluster-study-design.toml"


def relabelled_demo(tmp_path: Path, first: str = "Students", second: str = "Tutors") -> Path:
    """A copy of the demonstration dataset whose design calls the two groups something else."""
    copy = tmp_path / "relabelled"
    shutil.copytree(DEMO, copy)
    descriptor = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    perspectives = descriptor["compendium"]["design"]["perspectives"]
    perspectives["entrepreneur"] = {"label": first, "description": "People who study."}
    perspectives["intermediary"] = {"label": second, "description": "People who teach."}
    (copy / "datapackage.json").write_text(json.dumps(descriptor, indent=2), encoding="utf-8")
    freeze_dataset(copy)
    return copy


# --------------------------------------------------------------------------- the demo design


def test_demo_dataset_declares_its_design():
    ds = load_dataset(DEMO)
    assert ds.design.declared
    assert ds.design.labels == {"entrepreneur": "Entrepreneurs",
                                "intermediary": "Intermediaries (agencies and HEIs)"}
    assert ds.design.nouns == {"entrepreneur": "entrepreneurs", "intermediary": "intermediaries"}
    assert [t.codes for t in ds.design.themes.values()] == [("motivations",), ("outcomes",),
                                                            ("cluster_role",)]
    assert ds.unmapped.empty
    # The analysis view of the demo codebook is the stored codebook: the design maps each
    # theme to its own branch, so only the theme labels come from the design.
    raw = ds.raw_codebook.reset_index(drop=True)
    assert ds.codebook["code_id"].tolist() == raw["code_id"].tolist()
    assert ds.codebook["parent_id"].fillna("").tolist() == raw["parent_id"].fillna("").tolist()
    assert len(ds.codings) == len(ds.raw_codings)


def test_nouns_and_singulars():
    assert default_noun("Intermediaries (agencies and HEIs)") == "intermediaries"
    assert default_noun("SME owners") == "SME owners"
    assert default_noun("Owner-managers") == "owner-managers"
    assert singular_of("intermediaries") == "intermediary"
    assert singular_of("business-support staff") == "business-support staff"
    assert singular_of("students") == "student"


# --------------------------------------------------------------------------- labels everywhere


def test_other_labels_reach_every_display_and_sentence(tmp_path):
    ds = load_dataset(relabelled_demo(tmp_path))
    coder = ds.primary_coder
    profile = tables.profile_table(ds.participants, ds.segments, ds.codings, coder, ds.design)
    assert set(profile["Perspective"]) == {"Students", "Tutors", ""}
    matrix = matrices.theme_matrix(ds, "outcomes", coder)
    shown = tables.matrix_display(matrix, ds.design)
    assert list(shown.columns) == ["Code", "Students", "Quote (students)", "Tutors",
                                   "Quote (tutors)"]
    comparison = dual.comparison_for(ds, coder)
    table = tables.comparison_display(comparison, dual.theme_names(ds), design=ds.design)
    assert "Students (interviewees)" in table.columns and "Tutors (interviewees)" in table.columns
    sentences = [v for v, _ in dual.comparison_values(ds, comparison, "interviewee").values()
                 if isinstance(v, str)]
    sentences += [narrative.top_code_sentence(matrix, "entrepreneur", ds.design),
                  narrative.sample_sentence(ds.participants, ds.design),
                  *dual.comparison_captions(ds, "interviewee")]
    text = " ".join(sentences)
    assert "students" in text and "tutors" in text
    assert "entrepreneur" not in text.lower() and "intermediar" not in text.lower()
    legend = figures.theme_bars(matrix, ds.synthetic, design=ds.design).axes[0].get_legend()
    assert [t.get_text() for t in legend.get_texts()] == ["Students", "Tutors"]
    dots = dual.comparison_figure(ds, comparison).axes[0].get_legend()
    assert [t.get_text() for t in dots.get_texts()] == ["Students", "Tutors"]


def test_gap_sentence_counts_one_member_in_the_singular():
    row = {"name": "X", "n_entrepreneur": 1, "size_entrepreneur": 1, "n_intermediary": 0,
           "size_intermediary": 3}
    design = design_from_descriptor({"compendium": {"design": {"perspectives": {
        "entrepreneur": {"label": "Owner-managers"},
        "intermediary": {"label": "Business support", "noun": "business-support staff"}}}}})
    text = analysis.describe_gap(row, design=design)
    assert "1 of 1 owner-manager (100%)" in text and "0 of 3 business-support staff" in text


# --------------------------------------------------------------------------- theme membership


def codebook(*rows):
    return pd.DataFrame(rows, columns=["code_id", "theme", "level", "parent_id", "name",
                                       "definition"])


TREE = codebook(
    ("WHY", "WHY", "theme", None, "Why attend", "d"),
    ("BIZ", "WHY", "subtheme", "WHY", "Business", "d"),
    ("LEADS", "WHY", "code", "BIZ", "Leads", "d"),
    ("PEERS", "WHY", "code", "WHY", "Peers", "d"),
    ("OUT", "OUT", "theme", None, "Outcomes", "d"),
    ("SALES", "OUT", "code", "OUT", "Sales", "d"),
    ("BEN", "BEN", "theme", None, "Benefits", "d"),
    ("LEARN", "BEN", "code", "BEN", "Learning", "d"),
    ("MISC", "MISC", "theme", None, "Misc", "d"),
    ("LOGS", "MISC", "code", "MISC", "Logistics", "d"),
)
CODINGS = pd.DataFrame({"segment_id": ["s1", "s1", "s2", "s3", "s4"],
                        "code_id": ["LEADS", "SALES", "LEARN", "LOGS", "PEERS"],
                        "coder": ["a"] * 5})


def tree_design(themes: dict) -> object:
    return design_from_descriptor({"compendium": {"design": {"themes": themes}}}, TREE)


def test_a_sole_branch_becomes_the_theme_and_several_roots_become_subthemes():
    design = tree_design({"motivations": {"label": "Why", "codes": ["BIZ"]},
                          "outcomes": {"label": "What came", "codes": ["OUT", "BEN"]},
                          "cluster_role": {"label": "Role", "codes": ["PEERS"]}})
    view, kept = analysis_tables(TREE, CODINGS, design)
    rows = {r.code_id: r for r in view.itertuples()}
    # motivations: the single branch BIZ is the theme itself; its code hangs from the theme
    assert rows["motivations"].name == "Why" and "BIZ" not in rows
    assert (rows["LEADS"].theme, rows["LEADS"].parent_id) == ("motivations", "motivations")
    # outcomes: two branches, each a sub-theme of the theme
    assert (rows["OUT"].level, rows["OUT"].parent_id) == ("subtheme", "outcomes")
    assert (rows["LEARN"].theme, rows["LEARN"].parent_id) == ("outcomes", "BEN")
    # cluster_role: a single code as the whole theme
    assert (rows["PEERS"].theme, rows["PEERS"].parent_id) == ("cluster_role", "cluster_role")
    structure = analysis.data_structure(view, kept)
    assert structure.set_index("code_id").loc["LEARN", "subtheme_name"] == "Benefits"
    assert sorted(kept["code_id"]) == ["LEADS", "LEARN", "PEERS", "SALES"]
    unmapped = unmapped_codes(TREE, CODINGS, design)
    assert unmapped.to_dict("records") == [{"code_id": "LOGS", "name": "Logistics",
                                            "n_codings": 1}]


def test_a_code_in_two_themes_is_a_problem():
    from compendium.dataset.design_check import design_problems

    descriptor = {"compendium": {"design": {"themes": {
        "motivations": {"label": "Why", "codes": ["WHY"]},
        "cluster_role": {"label": "Role", "codes": ["PEERS"]}}}}}
    problems = design_problems(descriptor, TREE)
    assert len(problems) == 1
    assert "'PEERS' is placed under both motivations and cluster_role" in problems[0].message


def test_undeclared_design_uses_the_study_ids_and_else_says_the_theme_is_empty():
    design = default_design(TREE)
    assert all(t.empty and not t.declared for t in design.themes.values())
    sentence = narrative.theme_status_sentence(design.theme_label("outcomes"), False, 0)
    assert "does not place any codes under the theme ‘Outcomes of the meetings’" in sentence
    assert "compendium design DATASET --apply" in sentence


# --------------------------------------------------------------------------- validation


def test_validation_checks_the_design_block(tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(DEMO, copy)
    descriptor = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    themes = descriptor["compendium"]["design"]["themes"]
    themes["outcomes"]["codes"] = ["OUT-TANGIBLE"]
    themes["cluster_role"]["colour"] = "red"
    (copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    problems = [str(p) for p in validate_dataset(copy, anonymity=False)]
    assert any("compendium.design.themes.cluster_role" in p and "colour" in p for p in problems)
    themes["cluster_role"].pop("colour")
    (copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    problems = [str(p) for p in validate_dataset(copy, anonymity=False)]
    assert problems == ["datapackage.json: compendium.design.themes.outcomes.codes: "
                        "'OUT-TANGIBLE' is not a code_id in codebook.csv (closest: 'OUT-TANG', "
                        "'OUT-TIME', 'OUT-SALES')"]


# --------------------------------------------------------------------------- design files


def import_taguette(dest: Path, design: Path | None = TAGUETTE_DESIGN):
    return import_dataset(TAGUETTE, dest, participants_csv=TAGUETTE_PEOPLE, design_file=design)


def test_taguette_export_imports_with_a_design_file(tmp_path):
    import_taguette(tmp_path / "ds")
    ds = load_dataset(tmp_path / "ds", validate=False)
    assert validate_dataset(tmp_path / "ds") == []
    people = ds.participants.set_index("participant_id")["perspective"]
    assert people.to_dict() == {"Interview-Ann": "entrepreneur", "Interview-Bilal": "entrepreneur",
                                "Interview-Chen": "entrepreneur", "Interview-Dana": "intermediary",
                                "Interview-Eli": "intermediary", "Interview-Fay": "intermediary"}
    summary = {t: ds.codebook[(ds.codebook["theme"] == t) & (ds.codebook["level"] == "code")]
               ["name"].tolist() for t in ("motivations", "outcomes", "cluster_role")}
    assert summary == {"motivations": ["Customers", "Peers", "Targets"],
                       "outcomes": ["Contracts", "Short term", "Learning"],
                       "cluster_role": ["Trust", "Format", "Broker"]}
    assert ds.unmapped["name"].tolist() == ["Logistics"]
    assert ds.design.label("intermediary") == "Business support"
    assert ds.design.count_noun("intermediary", 1) == "member of business-support staff"
    matrix = matrices.theme_matrix(ds, "motivations", ds.primary_coder)
    cells = matrix.set_index(["code_id", "perspective"])["n_interviewees"]
    assert cells.loc[("Customers", "entrepreneur")] == 2  # Ann and Bilal
    assert cells.loc[("Customers", "intermediary")] == 1  # Fay
    report = describe_design(tmp_path / "ds")
    assert "Why people attend" in report and "Logistics" in report


BAD_DESIGNS = {
    "unknown code": ('[themes]\nmotivations = { label = "Why", codes = ["Why atend"] }\n',
                     "themes.motivations: 'Why atend' matches no code or branch in the codebook "
                     "(closest: 'Why attend')"),
    "unknown attribute": ('[perspectives]\nattribute = "Respondent kind"\n'
                          'entrepreneur = { label = "A", values = ["founder"] }\n'
                          'intermediary = { label = "B", values = ["agency"] }\n',
                          "perspectives.attribute: 'Respondent kind' is not an attribute of the "
                          "participants"),
    "unmapped participant": ('[perspectives]\nattribute = "Respondent type"\n'
                             'entrepreneur = { label = "A", '
                             'values = ["owner-manager", "founder"] }\n'
                             'intermediary = { label = "B", values = ["agency"] }\n',
                             "perspectives: 1 participant(s) have a Respondent type in neither "
                             "list: Interview-Eli ('University')"),
    "theme outside the three": ('[themes]\nbarriers = { label = "B", codes = ["Benefits"] }\n',
                                "[themes]: 'barriers' is not one of the study's themes "
                                "(motivations, outcomes, cluster_role)"),
    "malformed TOML": ('[themes\nmotivations = 1\n', "not valid TOML"),
}


@pytest.mark.parametrize("case", sorted(BAD_DESIGNS))
def test_bad_design_files_fail_with_one_line_and_write_nothing(tmp_path, case):
    text, expected = BAD_DESIGNS[case]
    design = tmp_path / "design.toml"
    design.write_text(text, encoding="utf-8")
    dest = tmp_path / "ds"
    result = subprocess.run(
        [sys.executable, "-m", "compendium.cli", "import", str(TAGUETTE), "--to", str(dest),
         "--participants", str(TAGUETTE_PEOPLE), "--design", str(design)],
        capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    assert expected in lines[0]
    assert not dest.exists() and not any(tmp_path.glob(".ds*"))


def test_design_file_section_checks():
    with pytest.raises(CompendiumError, match="values are given but no attribute"):
        read_design_file_from('[perspectives]\nentrepreneur = { label = "A", values = ["x"] }\n'
                              'intermediary = { label = "B", values = ["y"] }\n')
    with pytest.raises(CompendiumError, match="'intermediary' is missing"):
        read_design_file_from('[perspectives]\nentrepreneur = { label = "A" }\n')


def read_design_file_from(text: str):
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "d.toml"
        path.write_text(text, encoding="utf-8")
        return read_design_file(path)


def test_design_apply_on_an_imported_dataset(tmp_path):
    dest = tmp_path / "ds"
    import_dataset(TAGUETTE, dest, participants_csv=write_people(tmp_path))
    before = load_dataset(dest, validate=False)
    # without a design the codebook's own themes stay, and no code is under the study's
    assert not before.design.declared and len(before.codebook) == len(before.raw_codebook)
    assert not set(before.codebook["theme"]) & {"motivations", "outcomes", "cluster_role"}
    # A failing apply leaves the dataset exactly as it was.
    bad = tmp_path / "bad.toml"
    bad.write_text('[themes]\noutcomes = { label = "O", codes = ["Nope"] }\n', encoding="utf-8")
    snapshot = {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()}
    with pytest.raises(CompendiumError, match="'Nope' matches no code"):
        apply_design_file(dest, bad)
    assert {p.name: p.read_bytes() for p in dest.iterdir() if p.is_file()} == snapshot
    apply_design_file(dest, TAGUETTE_DESIGN)
    after = load_dataset(dest)  # valid, frozen, gate passed
    assert after.design.declared and after.design.label("entrepreneur") == "Owner-managers"
    assert after.participants.set_index("participant_id").loc["Interview-Eli",
                                                              "perspective"] == "intermediary"
    assert len(after.codings) == 20 and len(after.raw_codings) == 22


def write_people(tmp_path: Path) -> Path:
    """Participants with a placeholder perspective, and the attribute the design reads."""
    people = pd.read_csv(TAGUETTE_PEOPLE)
    people.insert(1, "perspective", "entrepreneur")
    path = tmp_path / "people.csv"
    people.to_csv(path, index=False)
    return path


def test_a_theme_without_codes_gets_one_sentence(tmp_path):
    copy = tmp_path / "ds"
    shutil.copytree(DEMO, copy)
    descriptor = json.loads((copy / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["compendium"]["design"]["themes"]["cluster_role"]["codes"] = []
    (copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    ds = load_dataset(copy, validate=False)
    matrix = matrices.theme_matrix(ds, "cluster_role", ds.primary_coder)
    assert matrix.empty and list(matrix.columns) == matrices.MATRIX_COLUMNS
    values = matrices.matrix_values(ds, "cluster_role", matrix)
    assert values["matrix.cluster_role.top_entrepreneur"][0] == (
        "The dataset's design declares the theme ‘The role of sector-specific cluster meetings’ "
        "without any codes, so this section has no matrix to show.")
    assert values["matrix.cluster_role.top_intermediary"][0] == ""
    message = matrices.theme_figure(ds, matrix, "cluster_role").axes[0].texts[0].get_text()
    assert message.startswith("No codes of this dataset are placed under the theme")
    # the codes of the emptied theme are now outside every theme, and listed
    assert "ROLE-TRUST" in set(ds.unmapped["code_id"])
    assert not set(framework.theme_codes(ds, "cluster_role"))


def test_steps_filters_of_notebooks_2_to_4(tmp_path):
    ds = load_dataset(DEMO)
    coder = ds.primary_coder
    everyone = dual.comparison_for(ds, coder)
    common = dual.comparison_for(ds, coder, min_interviewees=5)
    raised = everyone["n_entrepreneur"] + everyone["n_intermediary"]
    assert common["code_id"].tolist() == everyone.loc[raised >= 5, "code_id"].tolist()
    participants, segments, codings = framework.restrict(ds, "intermediary")
    assert set(participants["perspective"]) == {"intermediary"}
    assert set(segments["participant_id"]) <= set(participants["participant_id"])
    assert set(codings["segment_id"]) <= set(segments["segment_id"])
    one_side = matrices.theme_matrix(ds, "outcomes", coder, perspective="entrepreneur")
    assert set(one_side["perspective"]) == {"entrepreneur"}
    with pytest.raises(ValueError, match="unknown perspective"):
        framework.restrict(ds, "entrepreneurs")
    with pytest.raises(ValueError, match="unknown theme"):
        matrices.theme_matrix(ds, "barriers", coder)


def test_paper_from_a_hand_written_taguette_export_uses_the_declared_labels(tmp_path: Path):
    """A Taguette highlights export with its own group and code names, built with a design."""
    data = ROOT / "tests" / "data"
    study = tmp_path / "taguette-study"
    import_dataset(data / "taguette-cluster-study.csv", study,
                   participants_csv=data / "taguette-cluster-study-participants.csv",
                   design_file=data / "taguette-cluster-study-design.toml")
    build = tmp_path / "build"
    result = make("paper", f"DATA={study}", f"BUILD={build}")
    assert result.returncode == 0, result.stderr[-3000:]
    values = json.loads((build / "paper" / "values.json").read_text(encoding="utf-8"))
    text = {k: v["text"] for k, v in values.items()}
    for theme in ("motivations", "outcomes", "cluster_role"):
        assert int(text[f"matrix.{theme}.n_codes"]) == 3
        assert int(text[f"matrix.{theme}.n_quotes"]) > 0
    assert text["matrix.motivations.top_entrepreneur"] == (
        "Among owner-managers, the most widely raised codes were ‘Customers’ and ‘Peers’, raised "
        "by 2 of 3 (67%).")
    assert "business-support staff" in text["comparison.largest_gap"]
    assert text["design.unmapped"].startswith("1 of the 10 codes of the codebook lies outside")
    texts = paper_text(build)
    for fmt, body in texts.items():
        flat = " ".join(body.split())
        for words in ("Owner-managers", "Business support", "Why people attend", "What came of it",
                      "Sector-specific meetings"):
            assert words in flat, (fmt, words)
        # the generated parts never fall back on the study's own group names
        assert "Intermediaries (" not in flat and "Quote (entrepreneurs)" not in flat, fmt
    # Issue 17: the PDF's quotation marks, and no prose interpreting the study's own groups.
    assert quote_mark_problems(pdf_text(build)) == []
    descriptor = json.loads((study / "datapackage.json").read_text(encoding="utf-8"))
    design = design_from_descriptor(descriptor)
    assert design.study == ""
    assert study_words_outside_framing(texts["html"], design) == []
    # the design's short labels head the narrow columns, and the captions spell them out
    html = " ".join(texts["html"].split())
    assert ">Owners</th>" in html and ">Support</th>" in html
    assert "‘Support’ stands for ‘Business support’" in html


#: Words that name the study's own groups and setting (issue 17).
STUDY_WORDS = re.compile(r"\b(entrepreneurs?|intermediar(?:y|ies)|owner-managers?|agenc(?:y|ies)|"
                         r"meetings?|ICT)\b", re.IGNORECASE)


def study_words_outside_framing(html: str, design) -> list[str]:
    """Sentences of the paper's HTML, outside the front matter, introduction, literature and
    references, that name the study's groups or setting when the design's labels do not."""
    allowed = {word.casefold() for text in [*design.labels.values(), *design.nouns.values(),
                                            *(t.label for t in design.themes.values())]
               for word in text.split()}
    body = html[html.index('id="method"'):]
    body = re.sub(r'id="references".*?(?=id="appendices")', ">", body, flags=re.S)
    text = " ".join(unescape(re.sub(r"<[^>]+>", " ", body)).split())
    return [sentence for sentence in re.split(r"(?<=[.?!])\s+", text)
            if any(m.group(0).casefold() not in allowed for m in STUDY_WORDS.finditer(sentence))]


def test_heatmaps_of_a_large_codebook_leave_out_numbers_that_cannot_fit(tmp_path):
    # A real codebook of many codes gives cells narrower than a digit: numbers printed there
    # overlap into an unreadable band, so the colour carries the value alone, and the
    # co-occurrence caption, which mentions the numbers, says why they are absent. The
    # demo's heatmaps keep their numbers.
    import numpy as np
    from matplotlib import pyplot as plt

    def cell_numbers(fig) -> list[str]:
        texts = [t.get_text() for t in fig.axes[0].texts]
        plt.close(fig)
        return [t for t in texts if t.isdigit()]

    ds = load_dataset(DEMO)
    for n_codes, shown in ((13, True), (70, False)):
        rows, columns = [f"R{i}" for i in range(5)], [f"C{j:02d}" for j in range(n_codes)]
        pairs = pd.DataFrame([(r, c, 2, 3, 3, 0.5) for r in rows for c in columns],
                             columns=["code_a", "code_b", "count", "n_a", "n_b", "jaccard"])
        fig = figures.cooccurrence_heatmap(pairs, rows, columns, {}, True, "interviewees")
        assert bool(cell_numbers(fig)) == shown
        assert figures.cooccurrence_numbers_fit(pairs, n_codes) == shown
        grid = pd.DataFrame(np.full((3, n_codes), 4), columns=columns, index=["P1", "P2", "P3"])
        grid.insert(0, "perspective", ["entrepreneur", "entrepreneur", "intermediary"])
        fig = figures.framework_heatmap(grid, {}, {}, True)
        assert bool(cell_numbers(fig)) == shown
    # the caption follows the figure: the demo's counts fit, a 70-column theme's do not
    pairs = framework.cooccurrence_for(ds, ds.segments, ds.codings, ds.primary_coder,
                                       "interviewee", "motivations", "outcomes")
    caption = framework.cooccurrence_caption(ds, "interviewee", "motivations", "outcomes", pairs)
    assert "numbers are counts of interviewees carrying both codes" in caption
    wide = pd.DataFrame({"count": [1], "code_a": ["x"], "code_b": ["y"]})
    assert not figures.cooccurrence_numbers_fit(wide, 70)
