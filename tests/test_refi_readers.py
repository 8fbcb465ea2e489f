"""Our REFI-QDA exports as other people's readers see them (pyrefiqda, pyqdpx; QualCoder's rules).

Also the codebook on its own: ``.qdc`` export, its schema, and its import.

Each export (the demo, a re-export of every shared REFI fixture that imports,
and a small two-coder dataset) is read by both third-party readers of
``tests/refi_readers.py``; what they give back is compared with the dataset
itself, not with our importer: sources, code tree, users, every coding with
its coder, every participant as a case with its variables, and each coded
passage sliced from the exported source. The same views check what
QualCoder's importer (``src/qualcoder/refi.py``, ccbogel/QualCoder) relies
on: it credits a coding to ``PlainTextSelection@creatingUser`` (else to the
importing user), calls ``.replace`` on every note's ``creationDateTime``
(so a note without one stops the import), and keeps one coding per code,
source, span and coder.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest

from compendium.cli import main
from compendium.dataset import load_dataset, write_dataset
from compendium.errors import CompendiumError
from compendium.qda.importer import import_dataset
from compendium.qda.refi_export import FALLBACK_TIME, export_codebook, export_dataset, export_time

sys.path.insert(0, str(Path(__file__).resolve().parent))
from qda_helpers import (  # noqa: E402
    SYNTHETIC,
    assert_same_dataset,
    assert_valid_codebook,
    assert_valid_refi,
    code,
    codebook,
    project_xml,
    refi_fixture,
    selection,
    text_source,
    write_attributes,
    write_qdpx,
)
from refi_readers import pyqdpx_view, pyrefiqda_view  # noqa: E402

#: The shared fixtures that import (and the people their sources become), and those that
#: cannot: ATLAS.ti's annex example lacks its source files, MAXQDA's holds no codings.
IMPORTABLE = {"qc-demo.qdpx": ["board_2017", "admin-1"],
              "nvivo-win-oltas.qdpx": ["videos_selection"]}
NOT_IMPORTABLE = {"atlasti-annex-a2.qdpx": "is missing from the export",
                  "maxqda-codebook-only.qdpx": "no codings on text"}


def two_coder_dataset(folder: Path) -> Path:
    """Two coders on shared and own spans; CRLF, accents and a character beyond the BMP."""
    e01 = "Q: Why go?\r\nA: To meet Zoë's partners 😀 and find leads.\r\nQ: And?\r\nA: Peers.\r\n"
    i02 = "We run the café meetings.\nFunding comes from the agency.\n"
    spans = [("E01-001", "E01", e01, "To meet Zoë's partners 😀"),
             ("E01-002", "E01", e01, "find leads."),
             ("I02-001", "I02", i02, "Funding comes from the agency.")]
    segments = pd.DataFrame({
        "segment_id": [s[0] for s in spans], "participant_id": [s[1] for s in spans],
        "source": [f"transcripts/{s[1]}.txt" for s in spans],
        "start": pd.array([s[2].index(s[3]) for s in spans], dtype="Int64"),
        "end": pd.array([s[2].index(s[3]) + len(s[3]) for s in spans], dtype="Int64"),
        "text": [s[3] for s in spans]})
    return write_dataset(
        folder,
        participants=pd.DataFrame({"participant_id": ["E01", "I02"],
                                   "perspective": ["entrepreneur", "intermediary"],
                                   "organisation_type": ["ict_sme", "agency"],
                                   "interview_minutes": pd.array([45, None], dtype="Int64")}),
        codebook=pd.DataFrame({
            "code_id": ["MOT", "MOT-NET", "NET-PEER", "LEADS", "OUT", "FUND"],
            "theme": ["MOT", "MOT", "MOT", "MOT", "OUT", "OUT"],
            "level": ["theme", "subtheme", "code", "code", "theme", "code"],
            "parent_id": [None, "MOT", "MOT-NET", "MOT", None, "OUT"],
            "name": ["Motivations", "Networking", "Meeting peers", "Finding leads",
                     "Outcomes", "Funding"],
            "definition": ["Why people come.", "Meeting others.", "Peers & partners.",
                           "New <business>.", "What came of it.", "Money from outside."]}),
        segments=segments,
        codings=pd.DataFrame(  # one block per coder, as the importer lays codings.csv out
            [("E01-001", "NET-PEER", "coder_a"), ("E01-002", "LEADS", "coder_a"),
             ("I02-001", "FUND", "coder_a"), ("E01-001", "NET-PEER", "coder_b"),
             ("E01-001", "LEADS", "coder_b"), ("I02-001", "FUND", "coder_b")],
            columns=["segment_id", "code_id", "coder"]),
        transcripts={"transcripts/E01.txt": e01, "transcripts/I02.txt": i02},
        interview_guide="1. Why do you go to the meetings?\n",
        name="two-coders", title="Two coders (synthetic test data)",
        description="SYNTHETIC: written for this test.", synthetic=True,
        primary_coder="coder_a")


@pytest.fixture(scope="module", params=["demo", "two-coder", *IMPORTABLE])
def exported(request, tmp_path_factory) -> tuple[Path, Path]:
    """(dataset folder, its export) for each kind of export the issue names."""
    tmp = tmp_path_factory.mktemp("readers")
    if request.param == "demo":
        if not (SYNTHETIC / "datapackage.json").exists():
            pytest.skip("data/synthetic is absent")
        folder = SYNTHETIC
    elif request.param == "two-coder":
        folder = two_coder_dataset(tmp / "ds")
    else:
        attrs = write_attributes(tmp / "a.csv", {p: ("entrepreneur", "ict_sme")
                                                 for p in IMPORTABLE[request.param]})
        folder = tmp / "imported"
        import_dataset(refi_fixture(request.param), folder, participants_csv=attrs)
    archive = tmp / "export.qdpx"
    export_dataset(folder, archive)
    return folder, archive


def expected(folder: Path) -> dict:
    """What every reader should find, computed from the dataset's own tables."""
    ds = load_dataset(folder, anonymity=False)
    book = ds.raw_codebook
    names = dict(zip(book["code_id"], book["name"], strict=True))
    codes = set()
    for row in book.itertuples(index=False):
        under = row.parent_id if isinstance(row.parent_id, str) else \
            (row.theme if row.theme != row.code_id else None)
        codes.add((row.name, names.get(under), row.level == "code", row.definition))
    text = dict(zip(ds.segments["segment_id"], ds.segments["text"], strict=True))
    codings = Counter((text[s], names[c], coder) for s, c, coder in
                      ds.all_codings[["segment_id", "code_id", "coder"]].itertuples(index=False))
    cases = {}
    for row in ds.participants.to_dict("records"):
        cases[row["participant_id"]] = {k: str(v) for k, v in row.items()
                                        if k != "participant_id" and not pd.isna(v)}
    own = ds.segments.groupby("participant_id")["source"].agg(lambda s: set(s.dropna()))
    case_texts = {pid: {ds.transcripts[rel] for rel in own.get(pid, set())}
                  for pid in cases}
    # every transcript of the dataset, also those no segment points at
    transcripts = [(folder / r["path"]).read_bytes().decode("utf-8-sig")
                   for r in ds.descriptor["resources"] if r["path"].startswith("transcripts/")]
    return {"users": set(ds.coders), "transcripts": sorted(transcripts),
            "codes": codes, "codings": codings, "cases": cases, "case_texts": case_texts}


def test_export_is_valid_and_the_same_bytes_twice(exported, tmp_path):
    folder, archive = exported
    assert_valid_refi(archive)
    export_dataset(folder, tmp_path / "again.qdpx")
    assert (tmp_path / "again.qdpx").read_bytes() == archive.read_bytes()


def test_pyrefiqda_reads_everything_with_its_coder(exported):
    folder, archive = exported
    want, got = expected(folder), pyrefiqda_view(archive)
    assert sorted(got.sources.values()) == want["transcripts"]
    assert got.codes == want["codes"]
    assert got.users == want["users"]
    # every coding with its coder; each passage is sliced from the exported source text
    assert got.codings == want["codings"]
    assert got.cases == want["cases"]
    for pid, texts in want["case_texts"].items():
        assert {got.sources[name] for name in got.case_sources[pid]} >= texts, pid


def test_pyqdpx_resolves_every_coder(exported):
    folder, archive = exported
    want, got = expected(folder), pyqdpx_view(archive)
    assert "Skipping" not in got.output and "Warning" not in got.output, got.output[:500]
    assert got.users == want["users"]
    assert got.codes == want["codes"]
    # pyqdpx reads positions and coders on its own: the two readers agree on every coding
    assert got.spans == pyrefiqda_view(archive).spans
    assert sum(got.spans.values()) == sum(want["codings"].values())


def test_what_qualcoder_relies_on(exported):
    _, archive = exported
    got = pyrefiqda_view(archive)
    assert got.unresolved_coders == 0          # every selection's creatingUser is a <User>
    assert got.note_dates and all(got.note_dates)  # every note has a creationDateTime
    assert max(got.spans.values()) == 1        # one coding per coder, code and span


def test_two_coder_round_trip(tmp_path):
    folder = two_coder_dataset(tmp_path / "ds")
    export_dataset(folder, tmp_path / "x.qdpx")
    import_dataset(tmp_path / "x.qdpx", tmp_path / "back")
    assert_same_dataset(folder, tmp_path / "back")
    assert (tmp_path / "back/datapackage.json").read_bytes() == \
        (folder / "datapackage.json").read_bytes()


@pytest.mark.parametrize("name", sorted(NOT_IMPORTABLE))
def test_fixtures_that_do_not_import_say_why(tmp_path, name):
    with pytest.raises(CompendiumError, match=NOT_IMPORTABLE[name]):
        import_dataset(refi_fixture(name), tmp_path / "x")


# --------------------------------------------------------------------------
# The codebook on its own (.qdc)


def test_codebook_export_is_valid_and_read_whole_by_pyrefiqda(tmp_path):
    folder = two_coder_dataset(tmp_path / "ds")
    assert main(["export", str(folder), "--codebook", str(tmp_path / "book.qdc")]) == 0
    assert not (tmp_path / "book.qdpx").exists()  # only what was asked for
    assert_valid_codebook(tmp_path / "book.qdc")
    export_codebook(folder, tmp_path / "again.qdc")
    assert (tmp_path / "again.qdc").read_bytes() == (tmp_path / "book.qdc").read_bytes()
    try:
        from pyrefiqda import RefiCodebook
    except ImportError:
        pytest.skip("pyrefiqda is not installed (pip install -e '.[test]')")
    found, colours = set(), {}

    def walk(codes, parent):
        for item in codes:
            found.add((item.name, parent, bool(item.is_codable), item.description or ""))
            colours[item.name] = item.color
            walk(item.code, item.name)

    walk(RefiCodebook.load(tmp_path / "book.qdc").codes.code, None)
    assert found == expected(folder)["codes"]
    # a code wears its theme's colour; the two themes differ
    assert colours["Meeting peers"] == colours["Motivations"] != colours["Outcomes"]


def test_codebook_round_trip_through_the_cli(tmp_path, capsys):
    folder = two_coder_dataset(tmp_path / "ds")
    assert main(["export", str(folder), "--to", str(tmp_path / "p.qdpx"),
                 "--codebook", str(tmp_path / "p.qdc")]) == 0
    assert main(["import", str(tmp_path / "p.qdpx"), "--codebook", str(tmp_path / "p.qdc"),
                 "--to", str(tmp_path / "back")]) == 0
    assert "codebook taken from p.qdc (6 entries); 3 of the 3 applied code(s)" in \
        capsys.readouterr().out
    assert_same_dataset(folder, tmp_path / "back")


def test_a_qdc_gives_an_export_its_tree_and_definitions(tmp_path, capsys):
    """A flat project coded by name against a shared codebook (as a class would)."""
    export_codebook(two_coder_dataset(tmp_path / "ds"), tmp_path / "book.qdc")
    text = "We go to meet peers. The agency pays. Lunch is good."
    body = codebook(code(1, "meeting PEERS"), code(2, "Funding"), code(3, "Lunch")) + \
        '<Sources>' + text_source(
            10, "E07.txt", "internal://e07.txt",
            selection(20, 0, 20, (1, 900)), selection(21, 21, 37, (2, 900)),
            selection(22, 38, 52, (3, 900))) + '</Sources>'
    archive = write_qdpx(tmp_path / "class.qdpx", project_xml(body), {"sources/e07.txt": text})
    attrs = write_attributes(tmp_path / "a.csv", {"E07": ("entrepreneur", "ict_sme")})
    assert main(["import", str(archive), "--codebook", str(tmp_path / "book.qdc"),
                 "--participants", str(attrs), "--to", str(tmp_path / "new")]) == 0
    assert "1 applied code(s) are not in book.qdc" in capsys.readouterr().err
    book = load_dataset(tmp_path / "new").raw_codebook.set_index("name")
    parent = book.loc["Meeting peers", "parent_id"]
    assert book.loc[book["code_id"] == parent, :].index[0] == "Networking"
    assert book.loc["Meeting peers", "definition"] == "Peers & partners."
    assert book.loc["Funding", "definition"] == "Money from outside."
    assert "Lunch" in book.index and book.loc["Lunch", "level"] == "code"
    codings = load_dataset(tmp_path / "new").raw_codings
    assert len(codings) == 3 and set(codings["coder"]) == {"ann"}


def test_a_qdc_alone_is_refused_with_advice(tmp_path, capsys):
    folder = two_coder_dataset(tmp_path / "ds")
    export_codebook(folder, tmp_path / "b.qdc")
    assert main(["import", str(tmp_path / "b.qdc"), "--to", str(tmp_path / "x")]) == 1
    err = capsys.readouterr().err
    assert "give it as --codebook b.qdc" in err and err.count("\n") == 1
    assert main(["export", str(folder)]) == 1
    assert "nothing to write" in capsys.readouterr().err
    with pytest.raises(CompendiumError, match="must end in .qdc"):
        export_codebook(folder, tmp_path / "b.xml")
    assert not (tmp_path / "x").exists()


def test_the_date_written_is_the_datasets_own():
    assert export_time({"created": "2010-05-01T10:00:00+01:00"}) == "2010-05-01T09:00:00Z"
    assert export_time({"compendium": {"created": "2013-11-02"}}) == "2013-11-02T00:00:00Z"
    assert export_time({"created": "not a date"}) == FALLBACK_TIME == "1980-01-01T00:00:00Z"
