"""The registry of agreement measures: a toy measure, registered once, reaches every reader.

A measure is one analysis module (tests/toy_measure.py) plus one registry
entry; the command's choices and help, notebook 06's report (its table, saved
as the notebook saves it, and its values) and the printed tables then list it
with nothing else changed.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from compendium.displays import measures
from compendium.displays.tables import Column
from compendium.steps import agreement

from .test_agreement_cli import canonical_dataset, run
from .toy_measure import exact_span_measure

# Worked by hand: code x, A [0,10) [20,30) and B [0,10) [22,30): 1 of 3 distinct
# spans alike; code y, A [40,50) and B [40,50) [60,70): 1 of 2; pooled 2 of 5.
SPANS = [("coder_a", "P01", "x", 0, 10), ("coder_a", "P01", "x", 20, 30),
         ("coder_a", "P01", "y", 40, 50), ("coder_b", "P01", "x", 0, 10),
         ("coder_b", "P01", "x", 22, 30), ("coder_b", "P01", "y", 40, 50),
         ("coder_b", "P01", "y", 60, 70)]


@pytest.fixture
def toy(monkeypatch: pytest.MonkeyPatch) -> measures.Measure:
    # A copy of the registry, so that the toy leaves with the test.
    monkeypatch.setattr(measures, "REGISTRY", dict(measures.REGISTRY))
    return measures.register(measures.Measure(
        id="exact", pairwise=True, compute=exact_span_measure,
        columns=(Column("Code", "code_id", "name", 2.0), Column("Alike", "both", "int", 1.0),
                 Column("Either", "either", "int", 1.0),
                 Column("Share alike", "share", "coefficient", 1.0)),
        caption="Spans marked exactly alike {who}.",
        sentence=lambda table, _: ("no spans to compare" if table is None else
                                   f"{int(table.iloc[-1]['both'])} of the "
                                   f"{int(table.iloc[-1]['either'])} spans were marked exactly "
                                   "alike"),
        help="spans marked exactly alike (a test's toy)"))


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return canonical_dataset(tmp_path / "toy", SPANS, {"P01": 100})


def test_the_command_lists_and_computes_the_toy(toy, dataset: Path):
    code, out, err = run("agreement", str(dataset), "--measure", "exact")
    assert code == 0, err
    rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
    assert rows == {"x": ["1", "3", "0.333"], "y": ["1", "2", "0.500"],
                    "overall": ["2", "5", "0.400"]}
    code, out, _ = run("agreement", str(dataset), "--measure", "exact", "--format", "json")
    assert [r["share"] for r in json.loads(out)] == pytest.approx([1 / 3, 0.5, 0.4])
    code, _, err = run("agreement", str(dataset), "--measure", "holsti")
    assert code == 1 and "unknown measure 'holsti'" in err and "exact" in err


def test_help_lists_the_toy(toy, capsys: pytest.CaptureFixture[str]):
    from compendium.cli import main

    with pytest.raises(SystemExit):
        main(["agreement", "--help"])
    help_text = " ".join(capsys.readouterr().out.split())
    assert "exact: spans marked exactly alike (a test's toy)" in help_text
    assert "unitized: Krippendorff's unitized alpha" in help_text


def test_the_report_saves_the_toys_table_and_sentence(toy, dataset: Path, tmp_path: Path):
    # The cells of notebook 06, with measure = "exact".
    ds, out, coder = agreement.start_run(str(dataset), str(tmp_path / "run"), None)
    report = agreement.agreement_run(ds, coder, None, measure="exact")
    out.table(report.table_id, report.display, caption=report.caption, widths=report.widths)
    for key, (value, text) in report.values.items():
        out.value(key, value, text)
    out.close()
    assert report.table_id == "tbl-agreement-exact"
    assert report.caption == ("Spans marked exactly alike between coder_a and coder_b on the 1 "
                              "double-coded interviews.")
    saved = (tmp_path / "run" / "tbl-agreement-exact.md").read_text(encoding="utf-8")
    lines = saved.splitlines()
    assert lines[0] == "| Code | Alike | Either | Share alike |"
    assert lines[2:] == ["| Code x | 1 | 3 | 0.33 |", "| Code y | 1 | 2 | 0.50 |",
                         "| All codes (pooled) | 2 | 5 | 0.40 |"]
    manifest = json.loads((tmp_path / "run" / "manifest.json").read_text(encoding="utf-8"))
    assert "2 of the 5 spans were marked exactly alike" in json.dumps(manifest)


def test_without_a_second_coder_the_toy_shows_its_headings(toy, tmp_path: Path):
    single = canonical_dataset(tmp_path / "one", [("coder_a", "P01", "x", 0, 10)], {"P01": 20})
    ds, _, coder = agreement.start_run(str(single), str(tmp_path / "run"), None)
    report = agreement.agreement_run(ds, coder, None, measure="exact")
    assert report.table is None and list(report.display.columns) == [
        "Code", "Alike", "Either", "Share alike"]
    assert report.values == {"agreement.exact.sentence": ("no spans to compare", None)}


def test_every_registered_measure_has_a_column_per_width_and_a_caption():
    for measure in measures.REGISTRY.values():
        assert len(measure.widths) == len(measure.columns) > 1
        assert "{who}" in measure.caption and measure.help
    assert list(measures.REGISTRY) == ["segment", "character", "unitized", "overlap"]
