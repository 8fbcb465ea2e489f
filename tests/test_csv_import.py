"""Importing Taguette highlights and QualCoder coded-text CSV exports."""

from __future__ import annotations

import csv
import io
import sys
from pathlib import Path

import pytest

from compendium.cli import main
from compendium.dataset import validate_dataset
from compendium.errors import CompendiumError
from compendium.qda.csv_formats import QUALCODER, TAGUETTE, csv_kind
from compendium.qda.importer import detect_format, import_dataset
from compendium.qda.refi_export import export_dataset

# The helpers shared by the QDA tests sit beside this file (pytest may not put it on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from qda_helpers import read_csv, write_attributes  # noqa: E402

ATTRS = ("entrepreneur", "ict_sme")


def write_rows(path: Path, rows: list[list[str]], *, bom: bool = False,
               delimiter: str = ",", quote_all: bool = False) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as handle:
        csv.writer(handle, delimiter=delimiter,
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerows(rows)
    return path


def load(folder: Path) -> dict:
    assert validate_dataset(folder) == []
    return {t: read_csv(folder / f"{t}.csv") for t in
            ("participants", "codebook", "segments", "codings")}


# --------------------------------------------------------------------------
# Taguette


TAGUETTE_ROWS = [
    ["id", "document", "tag", "content"],
    ["1", "Interview E01", "motivations.leads", "We go to find customers."],
    ["1", "Interview E01", "outcomes", "We go to find customers."],
    ["2", "Interview E01", "motivations.leads", "A second,\r\nmulti-line highlight."],
    ["3", "Interview I02", "motivations.peers", "Peers help."],
    ["4", "Interview I02", "", "Untagged highlight."],
]


def test_taguette_highlights(tmp_path):
    source = write_rows(tmp_path / "highlights.csv", TAGUETTE_ROWS)
    attrs = write_attributes(tmp_path / "a.csv", {"Interview E01": ATTRS,
                                                  "Interview I02": ATTRS})
    report = import_dataset(source, tmp_path / "ds", participants_csv=attrs)
    assert report.format == TAGUETTE
    t = load(tmp_path / "ds")
    assert list(t["participants"]["participant_id"]) == ["Interview-E01", "Interview-I02"]
    # A highlight with two tags is one segment with two codings; no offsets, no transcripts.
    assert len(t["segments"]) == 3
    assert "start" not in t["segments"].columns and not (tmp_path / "ds/transcripts").exists()
    assert "A second,\r\nmulti-line highlight." in set(t["segments"]["text"])
    first = t["segments"].iloc[0]
    assert first["text"] == "We go to find customers."
    assert sorted(t["codings"].loc[t["codings"]["segment_id"] == first["segment_id"],
                                   "code_id"]) == ["leads", "outcomes"]
    assert set(t["codings"]["coder"]) == {"coder_a"}
    # Tag paths split on '.': 'motivations' is a theme over 'leads' and 'peers';
    # 'outcomes' is applied at the top level, so it is a code under the added theme.
    rows = {r.code_id: r for r in t["codebook"].itertuples()}
    assert (rows["motivations"].level, rows["leads"].parent_id) == ("theme", "motivations")
    assert (rows["outcomes"].level, rows["outcomes"].theme) == ("code", "ungrouped")
    assert any("without a tag" in w for w in report.warnings)
    assert any("do not name the coder" in n for n in report.notes)


def test_taguette_coder_option_bom_and_semicolons(tmp_path):
    source = write_rows(tmp_path / "h.csv", TAGUETTE_ROWS[:2], bom=True, delimiter=";")
    attrs = write_attributes(tmp_path / "a.csv", {"Interview E01": ATTRS})
    assert main(["import", str(source), "--to", str(tmp_path / "ds"), "--participants",
                 str(attrs), "--coder", "rater_1"]) == 0
    assert set(load(tmp_path / "ds")["codings"]["coder"]) == {"rater_1"}


def test_taguette_missing_column_is_named(tmp_path):
    source = write_rows(tmp_path / "h.csv", [["id", "document", "tag", "text_of_it"],
                                             ["1", "doc", "x", "y"]])
    with pytest.raises(CompendiumError) as err:
        import_dataset(source, tmp_path / "ds")
    message = str(err.value)
    assert "Taguette" in message and "lacks the column(s) content" in message
    assert "found: id, document, tag, text_of_it" in message
    assert not (tmp_path / "ds").exists()


# --------------------------------------------------------------------------
# QualCoder


QUALCODER_HEADER = ["File/case", "Coder", "Coded", "Id", "Codename", "Coded_Memo", "Category",
                    "Category", "FileVar_age", "CaseVar_role"]


def qualcoder_rows() -> list[list[str]]:
    return [
        QUALCODER_HEADER,
        ["E01.txt", "anna", "We go to find customers.", "ctid:1", "leads", "", "business",
         "motivations", "41", "founder"],
        ["E01.txt", "ben", "We go to find customers.", "ctid:2", "leads", "", "business",
         "motivations", "41", "founder"],
        ["E01.txt", "anna", "We go to find customers.", "ctid:3", "peers", "", "motivations", "",
         "41", "founder"],
        ["I02.txt", "anna", "Nothing came of it.", "ctid:4", "nothing", "memo", "", "", "", ""],
        ["I02.txt", "anna", "image", "imid:5", "leads", "", "business", "motivations", "", ""],
    ]


def test_qualcoder_coded_text(tmp_path):
    source = write_rows(tmp_path / "report.csv", qualcoder_rows(), bom=True, quote_all=True)
    attrs = write_attributes(tmp_path / "a.csv", {"E01": ATTRS, "I02": ATTRS})
    report = import_dataset(source, tmp_path / "ds", participants_csv=attrs)
    assert report.format == QUALCODER
    t = load(tmp_path / "ds")
    people = t["participants"].set_index("participant_id")
    assert people.loc["E01", "age"] == "41" and people.loc["E01", "role"] == "founder"
    # identical excerpts of one file are one segment; coders kept
    assert len(t["segments"]) == 2
    assert sorted(zip(t["codings"]["code_id"], t["codings"]["coder"], strict=True)) == [
        ("leads", "anna"), ("leads", "ben"), ("nothing", "anna"), ("peers", "anna")]
    # Category columns run from the nearest category up: motivations > business > leads
    rows = {r.code_id: r for r in t["codebook"].itertuples()}
    assert (rows["motivations"].level, rows["business"].level) == ("theme", "subtheme")
    assert (rows["leads"].parent_id, rows["leads"].theme) == ("business", "motivations")
    assert rows["peers"].parent_id == "motivations"
    assert rows["nothing"].theme == "ungrouped"
    assert any("images or audio/video" in w for w in report.warnings)


def test_qualcoder_without_coder_column(tmp_path):
    rows = [[c for i, c in enumerate(r) if i != 1] for r in qualcoder_rows()[:2]]
    source = write_rows(tmp_path / "report.csv", rows)
    attrs = write_attributes(tmp_path / "a.csv", {"E01": ATTRS})
    report = import_dataset(source, tmp_path / "ds", participants_csv=attrs, coder="me")
    assert set(load(tmp_path / "ds")["codings"]["coder"]) == {"me"}
    assert any("no Coder column" in w for w in report.warnings)


@pytest.mark.parametrize("drop, missing", [("Codename", "codename"), ("Coded", "coded"),
                                           ("File/case", "file")])
def test_qualcoder_missing_columns_are_named(tmp_path, drop, missing):
    header = QUALCODER_HEADER
    rows = [[c for h, c in zip(header, r, strict=True) if h != drop] for r in qualcoder_rows()]
    source = write_rows(tmp_path / "report.csv", rows)
    with pytest.raises(CompendiumError, match=f"QualCoder.*lacks the column\\(s\\) {missing} "
                                              r"\(found: "):
        import_dataset(source, tmp_path / "ds")


def test_qualcoder_empty_code_name_is_reported_with_its_row(tmp_path):
    rows = qualcoder_rows()
    rows[2][4] = ""
    source = write_rows(tmp_path / "report.csv", rows)
    with pytest.raises(CompendiumError, match=r"report.csv:3: Codename: value is required"):
        import_dataset(source, tmp_path / "ds")


def _text(rows: list[list[str]]) -> str:
    """The CSV text Taguette and QualCoder write: CRLF, quotes only where needed."""
    with io.StringIO(newline="") as handle:
        csv.writer(handle, lineterminator="\r\n").writerows(rows)
        return handle.getvalue()


def _refusal(folder: Path, name: str, text: str) -> str:
    """The import's one-line refusal of ``text`` written as ``name``; nothing is written."""
    source = folder / name
    source.write_text(text, encoding="utf-8")
    with pytest.raises(CompendiumError) as err:
        import_dataset(source, folder / "ds")
    assert not (folder / "ds").exists()
    return str(err.value)


def test_a_stray_quote_that_joins_taguette_rows_is_refused_naming_the_row(tmp_path):
    """``make fuzz`` (seed 7) put one '"' before a tag: the rows after it became one cell,
    and a highlight vanished into another's tag. The line break in the tag gives it away."""
    text = _text(TAGUETTE_ROWS).replace('1,Interview E01,outcomes', '1,Interview E01,"outcomes')
    assert _refusal(tmp_path, "highlights.csv", text) == (
        "highlights.csv:3: tag: holds a line break, which a Taguette highlights CSV never "
        "writes in this column: a quotation mark opened and not closed may have joined rows")
    # the same text without the stray mark imports
    source = tmp_path / "highlights.csv"
    source.write_text(_text(TAGUETTE_ROWS), encoding="utf-8")
    import_dataset(source, tmp_path / "ds",
                   participants_csv=write_attributes(tmp_path / "a.csv", {
                       "Interview E01": ATTRS, "Interview I02": ATTRS}))


def test_a_row_with_text_past_the_header_is_refused_and_empty_cells_there_are_not(tmp_path):
    """A quote opened in the (multi-line) content joins rows with no line break in a name;
    the text after the closing mark then lands in a column the header does not have."""
    text = _text(TAGUETTE_ROWS).replace("Peers help.", '"Peers help.') \
        .replace("Untagged highlight.", 'Untagged highlight.",and more')
    assert _refusal(tmp_path, "highlights.csv", text).startswith(
        "highlights.csv:5: has text in column 5, but the header has 4 columns: a quotation mark ")
    # a spreadsheet's trailing commas are empty cells past the header: still read
    rows = [[*row, "", ""] for row in TAGUETTE_ROWS]
    source = tmp_path / "highlights.csv"
    source.write_text(_text(rows), encoding="utf-8")
    attrs = write_attributes(tmp_path / "a.csv", {"Interview E01": ATTRS, "Interview I02": ATTRS})
    import_dataset(source, tmp_path / "ds", participants_csv=attrs)
    assert len(load(tmp_path / "ds")["codings"]) == 4


def test_rows_a_stray_quote_joins_into_a_text_are_refused(tmp_path):
    """A quote opened in one highlight's text and closed in a later one's joins the rows
    between into that text: no name breaks and nothing lands past the header, but the
    swallowed lines still begin as rows of the file do. Multi-line texts still import."""
    text = _text(TAGUETTE_ROWS).replace("Peers help.", '"Peers help.') \
        .replace("Untagged highlight.", 'Untagged highlight." and more')
    assert _refusal(tmp_path, "highlights.csv", text) == (
        "highlights.csv:5: content: a line inside it reads as a row of the file (document "
        "'Interview I02'): a quotation mark opened and not closed may have joined rows")
    # QualCoder: a quote opened in one coded text swallows the next row into it
    rows = qualcoder_rows()
    lines = _text(rows).split("\r\n")
    lines[1] = lines[1].replace("We go to find customers.", '"We go to find customers.')
    lines[2] = lines[2].replace("We go to find customers.", 'We go to find customers."')
    assert _refusal(tmp_path, "report.csv", "\r\n".join(lines)).startswith(
        "report.csv:2: Coded: a line inside it reads as a row of the file (document 'E01.txt')")


@pytest.mark.parametrize("column", [0, 1, 3, 4, 6])
def test_a_qualcoder_name_holding_a_line_break_is_refused(tmp_path, column):
    rows = qualcoder_rows()
    rows[3][column] += "\r\nI02.txt"
    source = write_rows(tmp_path / "report.csv", rows)
    name = QUALCODER_HEADER[column]
    with pytest.raises(CompendiumError, match=f"^report.csv:4: {name}: holds a line break, "
                                              "which a QualCoder coded-text CSV never writes"):
        import_dataset(source, tmp_path / "ds")
    assert not (tmp_path / "ds").exists()


# --------------------------------------------------------------------------
# Detection, failures and the round trip


def test_format_detection(tmp_path):
    assert csv_kind(["id", "document", "tag", "content"]) == TAGUETTE
    assert csv_kind(QUALCODER_HEADER) == QUALCODER
    assert csv_kind(["a", "b"]) is None
    other = write_rows(tmp_path / "other.csv", [["name", "value"], ["a", "1"]])
    with pytest.raises(CompendiumError, match=r"neither Taguette's .* nor QualCoder's"):
        detect_format(other)
    empty = tmp_path / "empty.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(CompendiumError, match="file is empty"):
        detect_format(empty)


def test_cli_csv_failure_is_one_line(tmp_path, capsys):
    source = write_rows(tmp_path / "h.csv", TAGUETTE_ROWS)
    assert main(["import", str(source), "--to", str(tmp_path / "ds")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "lack perspective" in err and "Traceback" not in err
    assert not (tmp_path / "ds").exists()


def test_csv_import_round_trips_through_refi(tmp_path):
    source = write_rows(tmp_path / "report.csv", qualcoder_rows())
    attrs = write_attributes(tmp_path / "a.csv", {"E01": ATTRS, "I02": ATTRS})
    import_dataset(source, tmp_path / "first", participants_csv=attrs)
    export_dataset(tmp_path / "first", tmp_path / "first.qdpx")
    import_dataset(tmp_path / "first.qdpx", tmp_path / "second")
    assert (tmp_path / "second/datapackage.json").read_bytes() == \
        (tmp_path / "first/datapackage.json").read_bytes()
