"""Whole papers built from real exports with design files (issue 9's end-to-end checks).

Kept apart from tests/test_build.py so that the test run spreads the long builds over its
workers (the hand-written Taguette study's build is in tests/test_design.py).
"""

from __future__ import annotations

import json
from pathlib import Path

from .conftest import make, paper_text

QC_DESIGN = """\
[perspectives]
attribute = "Role"

[perspectives.entrepreneur]
label = "District administrators"
noun = "administrators"
values = ["district administrator"]

[perspectives.intermediary]
label = "School board"
noun = "board members"
values = ["school board"]

[themes]
motivations  = { label = "Rationales for computer science", codes = ["rationales"] }
outcomes     = { label = "Curriculum and instruction", codes = ["rq2_curriculum_and_instruction"] }
cluster_role = { label = "The policy process", codes = ["rq3_process"] }
"""


def test_paper_builds_from_an_imported_qda_project_with_a_design(tmp_path: Path):
    """Issue 4's end-to-end path, with issue 9's design file: export, import, review, build."""
    from compendium.dataset import freeze_dataset, validate_dataset
    from compendium.qda.importer import import_dataset

    from .qda_helpers import refi_fixture

    source = refi_fixture("qc-demo.qdpx")  # skips, saying why, without shared/
    attrs = tmp_path / "attrs.csv"
    attrs.write_text("participant_id,Role\nboard_2017,school board\n"
                     "admin-1,district administrator\n", encoding="utf-8")
    design = tmp_path / "design.toml"
    design.write_text(QC_DESIGN, encoding="utf-8")
    study = tmp_path / "qc-study"
    import_dataset(source, study, participants_csv=attrs, design_file=design)
    # The transcript names a public website: a reviewer records it as a false positive.
    hits = [p for p in validate_dataset(study) if "url 'code.org'" in p.message]
    assert hits, "the gate should flag the web address before review"
    (study / "anonymity_allowlist.csv").write_text(
        'kind,text,reason\nurl,code.org,"Public educational charity; identifies no participant"\n',
        encoding="utf-8")
    freeze_dataset(study)
    assert validate_dataset(study) == []
    build = tmp_path / "build"
    result = make("paper", f"DATA={study}", f"BUILD={build}")
    assert result.returncode == 0, result.stderr[-3000:]
    record = json.loads((build / "paper" / "provenance.json").read_text(encoding="utf-8"))
    assert record["dataset"]["synthetic"] is False
    values = json.loads((build / "paper" / "values.json").read_text(encoding="utf-8"))
    text = {k: v["text"] for k, v in values.items()}
    assert text["dataset.kind"] == "real (not synthetic)"
    # Every theme section shows the mapped codes, with counts and quotes (all of qc-demo's
    # codings are on the board's transcript, so the board members' column carries them).
    for theme in ("motivations", "outcomes", "cluster_role"):
        assert int(text[f"matrix.{theme}.n_codes"]) > 0
        assert int(text[f"matrix.{theme}.n_quotes"]) > 0
        assert text[f"matrix.{theme}.top_intermediary"].startswith("Among board members, the most")
    assert "42 of the" in text["design.unmapped"]
    assert text["agreement.kappa"] == "not assessable"
    texts = paper_text(build)
    for fmt, body in texts.items():
        flat = " ".join(body.split())
        for words in ("Rationales for computer science", "Curriculum and instruction",
                      "The policy process", "School board"):
            assert words in flat, (fmt, words)
