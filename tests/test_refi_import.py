"""Importing REFI-QDA projects: real exports, one small project per quirk, offsets, safety, CLI.

Counts in the real-fixture tests are computed here from the XML (parsed
independently with defusedxml), never taken from a table.
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.cli import main
from compendium.dataset import validate_dataset
from compendium.errors import CompendiumError
from compendium.qda import safety
from compendium.qda.importer import import_dataset, prepare_tables
from compendium.qda.offsets import (
    Counting,
    PositionMap,
    SpanProbe,
    choose_counting,
    counting_hint,
    end_past_line_ending,
    name_matches,
    on_word_boundaries,
)
from compendium.qda.refi import (
    read_cases,
    read_codes,
    set_variables,
    split_path_names,
    variable_value,
)
from compendium.qda.refi_files import open_project_files
from compendium.qda.safety import parse_xml

# The helpers shared by the QDA tests sit beside this file (pytest may not put it on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from qda_helpers import (  # noqa: E402
    code,
    codebook,
    element_counts,
    guid,
    local,
    project_xml,
    qde_root,
    read_csv,
    refi_fixture,
    selection,
    text_source,
    write_attributes,
    write_qdpx,
)

ATTRS = ("intermediary", "agency")


def imported(tmp_path: Path, source: Path, attrs: dict[str, tuple[str, str]] | None = None,
             name: str = "ds"):
    """Import ``source`` into tmp_path/name, with attributes for the given participants."""
    csv = write_attributes(tmp_path / f"{name}-attrs.csv", attrs) if attrs else None
    report = import_dataset(source, tmp_path / name, participants_csv=csv)
    folder = tmp_path / name
    # Real projects quote web addresses; the gate is checked in test_anonymity.py.
    assert validate_dataset(folder, anonymity=False) == []
    tables = {t: read_csv(folder / f"{t}.csv") for t in
              ("participants", "codebook", "segments", "codings")}
    return report, folder, tables


# --------------------------------------------------------------------------
# Real exports


def _coded_spans(root) -> tuple[list, dict[str, str]]:
    """(source guid, start, end, code guid, user name) for every coding on a TextSource."""
    users = {u.get("guid").lower(): u.get("name") for u in root.iter() if local(u.tag) == "User"}
    rows = []
    for source in (e for e in root.iter() if local(e.tag) == "TextSource"):
        for sel in (e for e in source if local(e.tag) == "PlainTextSelection"):
            for coding in (e for e in sel if local(e.tag) == "Coding"):
                ref = next(e for e in coding if local(e.tag) == "CodeRef")
                rows.append((source.get("guid").lower(), int(sel.get("startPosition")),
                             int(sel.get("endPosition")), ref.get("targetGUID").lower(),
                             users[coding.get("creatingUser").lower()]))
    return rows, users


def test_qc_demo_counts_and_excerpts(tmp_path):
    source = refi_fixture("qc-demo.qdpx")
    root = qde_root(source)
    counts = element_counts(root)
    spans, _ = _coded_spans(root)
    report, folder, t = imported(tmp_path, source, {"board_2017": ATTRS, "admin-1": ATTRS})
    assert report.format.startswith("REFI-QDA project archive")
    assert report.origin == root.get("origin")
    assert len(t["participants"]) == counts["TextSource"]  # no cases: one per text source
    assert len(t["codebook"]) == counts["Code"]
    assert "ungrouped" not in set(t["codebook"]["code_id"])
    assert len(t["segments"]) == len({(s, a, b) for s, a, b, _, _ in spans})
    assert len(t["segments"]) == counts["PlainTextSelection"]  # qc never repeats a span
    assert len(t["codings"]) == len(set(spans)) == counts["Coding"]
    assert set(t["codings"]["coder"]) == {u for *_, u in spans}
    # The board transcript is stored as it was, and every excerpt is its slice.
    with zipfile.ZipFile(source) as archive:
        board = archive.read("sources/board_2017.txt").decode("utf-8-sig")
    assert (folder / "transcripts/board_2017.txt").read_text(encoding="utf-8") == board
    raw = {(a, b) for _, a, b, _, _ in spans}
    for row in t["segments"].itertuples():
        start, end = int(row.start), int(row.end)
        assert (start, end) in raw  # code points: positions unchanged
        assert row.text == board[start:end]


def test_nvivo_utf16_bom_crlf_grouping_and_coder(tmp_path):
    source = refi_fixture("nvivo-win-oltas.qdpx")
    root = qde_root(source)
    counts = element_counts(root)
    spans, users = _coded_spans(root)
    report, folder, t = imported(tmp_path, source, {"videos_selection": ATTRS})
    assert "UTF-16" in report.counting
    assert len(t["codebook"]) == counts["Code"]
    distinct_spans = {(a, b) for _, a, b, _, _ in spans}
    assert counts["PlainTextSelection"] > len(distinct_spans)  # NVivo repeats spans ...
    assert len(t["segments"]) == len(distinct_spans)          # ... grouped into one segment
    assert len(t["codings"]) == len({(a, b, c, u) for _, a, b, c, u in spans})
    # The coder is the Coding's creator, not the selection's.
    coding_users = {u for *_, u in spans}
    selection_users = {users[e.get("creatingUser").lower()] for e in root.iter()
                       if local(e.tag) == "PlainTextSelection"}
    assert coding_users != selection_users
    assert set(t["codings"]["coder"]) == coding_users
    # The transcript keeps CRLF and loses the BOM; offsets are code points into it.
    with zipfile.ZipFile(source) as archive:
        member = next(n for n in archive.namelist() if n.lower().endswith(".txt"))
        data = archive.read(member)
    assert data.startswith(b"\xef\xbb\xbf") and b"\r\n" in data
    written = (folder / "transcripts/videos_selection.txt").read_bytes()
    assert written == data[3:]
    text = data[3:].decode("utf-8")
    assert any(ord(ch) > 0xFFFF for ch in text)  # emoji: UTF-16 and code points differ

    def units(position: int) -> int:
        return len(text[:position].encode("utf-16-le")) // 2

    back = set()
    for row in t["segments"].itertuples():
        start, end = int(row.start), int(row.end)
        assert row.text == text[start:end]
        back.add((units(start), units(end)))
        expected = data[3:].decode("utf-8").encode("utf-16-le")[2 * units(start):2 * units(end)]
        assert row.text == expected.decode("utf-16-le")
    assert back == distinct_spans


def test_atlas_annex_fails_clearly_without_its_sources(tmp_path):
    source = refi_fixture("atlasti-annex-a2.qdpx")
    with pytest.raises(CompendiumError, match=r"text of 3 coded source\(s\) is missing") as err:
        import_dataset(source, tmp_path / "ds")
    assert "\n" not in str(err.value)
    assert not (tmp_path / "ds").exists()


def _atlas_units_text(length: int, placed: list[tuple[int, str]]) -> str:
    """A text whose ATLAS.ti positions (CR LF counted as one) hold ``placed`` strings.

    Filler lines end in CR LF, so code-point positions drift from ATLAS.ti's.
    """
    units: list[str] = []
    filler = "lorem ipsum dolor sit amet "
    while len(units) < length + 40:
        units += list(filler) + ["\r\n"]
    for start, text in placed:
        units[start:start + len(text)] = list(text)
    return "".join(units[: length + 40])


def test_atlas_annex_with_reconstructed_sources(tmp_path):
    """The annex XML as ATLAS.ti wrote it, given texts that fit its selections."""
    original = refi_fixture("atlasti-annex-a2.qdpx")
    root = qde_root(original)
    counts = element_counts(root)
    files = {}
    coded_sources = 0
    for src in (e for e in root.iter() if local(e.tag) == "TextSource"):
        sels = [e for e in src if local(e.tag) == "PlainTextSelection"]
        if not sels:
            continue
        placed, taken = [], []
        for sel in sorted(sels, key=lambda s: int(s.get("startPosition"))):
            start, end = int(sel.get("startPosition")), int(sel.get("endPosition"))
            name = sel.get("name").removesuffix("…")[: end - start]
            if all(start >= b or start + len(name) <= a for a, b in taken):
                placed.append((start, name))
                taken.append((start, start + len(name)))
        length = max(int(s.get("endPosition")) for s in sels)
        path = src.get("plainTextPath").removeprefix("internal://")
        files[f"Sources/{path}"] = _atlas_units_text(length, placed)
        coded_sources += any(any(local(c.tag) == "Coding" for c in s) for s in sels)
    with zipfile.ZipFile(original) as archive:
        qde = archive.read("Project.qde")
    source = write_qdpx(tmp_path / "annex.qdpx", qde, files, qde_name="Project.qde")
    # --participants may name participants as the tool showed the documents
    names = [s.get("name") for s in root.iter() if local(s.tag) == "TextSource"
             and f"Sources/{s.get('plainTextPath').removeprefix('internal://')}" in files]
    attrs = write_attributes(tmp_path / "attrs.csv", {n: ATTRS for n in names})
    report, tables, _ = prepare_tables(source, attrs)
    assert "CR LF" in report.counting
    # Participants: one per text source that has text (no cases in the annex).
    assert len(tables.participants) == len(files)
    # Sets named 'gender: male' etc. became attributes.
    people = tables.participants.set_index("participant_id")
    assert people.loc["Simon", "gender"] == "male" and people.loc["Simon", "age"] == "67"
    assert people.loc["Mabel", "gender"] == "female"
    # 'Coke::diet Coke' nests under the existing code 'Coke'.
    book = tables.codebook.set_index("code_id")
    assert book.loc["diet-Coke", "parent_id"] == "Coke"
    assert book.loc["diet-Coke", "name"] == "diet Coke"
    assert len(book) == counts["Code"] + 1  # + the added 'ungrouped' theme for a flat codebook
    assert book.loc["happiness", "theme"] == "ungrouped"
    # Codings on text sources only; the PDF, picture and video codings are skipped.
    text_codings = sum(1 for s in root.iter() if local(s.tag) == "TextSource"
                       for sel in s for c in sel if local(c.tag) == "Coding")
    assert len(tables.codings) == text_codings < counts["Coding"]
    # One segment per coded span; excerpts whose selection name is their text equal it.
    coded = {(s.get("guid"), int(sel.get("startPosition")), int(sel.get("endPosition")))
             for s in root.iter() if local(s.tag) == "TextSource" for sel in s
             if local(sel.tag) == "PlainTextSelection" and any(local(c.tag) == "Coding"
                                                               for c in sel)}
    assert len(tables.segments) == len(coded)
    texts = set(tables.segments["text"])
    assert "Oh, that was great. See you tomorrow? Eleven thirty. Mm." in texts
    assert "I did try the gluten free bread, but it was always so soggy," in texts
    assert any("non-text source" in w and "PDFSource" in w for w in report.warnings)
    assert coded_sources == 3


def test_maxqda_codebook_only_fails_clearly(tmp_path):
    source = refi_fixture("maxqda-codebook-only.qdpx")
    root = qde_root(source)
    counts = element_counts(root)
    assert counts["Coding"] == 0
    with pytest.raises(CompendiumError, match="no codings on text") as err:
        import_dataset(source, tmp_path / "ds")
    assert f"{counts['Code']} code(s)" in str(err.value)
    assert f"{counts['TextSource']} text source(s)" in str(err.value)
    assert not (tmp_path / "ds").exists()


def test_maxqda_codebook_is_read_in_full():
    source = refi_fixture("maxqda-codebook-only.qdpx")
    files = open_project_files(source)
    codes = read_codes(parse_xml(files.qde, "x"), "x")
    assert len(codes) == element_counts(qde_root(source))["Code"]
    assert sum(1 for c in codes if c.description) > 0


# --------------------------------------------------------------------------
# One small project per quirk


TEXT = "Intro line.\nWe met the agency. It was useful.\nThen nothing came of it.\n"


def simple_project(tmp_path: Path, *, path: str = "internal://doc.txt", member: str =
                   "sources/doc.txt", qde_name: str = "project.qde", text: str | bytes = TEXT,
                   origin: str = "test tool", sels: str | None = None,
                   book: str | None = None, extra: str = "") -> Path:
    start = TEXT.index("We met")
    sels = sels if sels is not None else selection(100, start, start + 18, (1, 900))
    book = book if book is not None else codebook(code(10, "Theme", code(1, "Met agency"),
                                                       codable=False))
    xml = project_xml(book + f"<Sources>{text_source(50, 'doc', path, sels)}</Sources>" + extra,
                      origin=origin)
    return write_qdpx(tmp_path / "p.qdpx", xml, {member: text}, qde_name=qde_name)


@pytest.mark.parametrize("qde_name", ["project.qde", "My Study.QDE", "Project.qde"])
@pytest.mark.parametrize("folder", ["sources", "Sources"])
def test_qde_name_and_sources_folder_in_any_case(tmp_path, qde_name, folder):
    source = simple_project(tmp_path, qde_name=qde_name, member=f"{folder}/doc.txt")
    _, _, t = imported(tmp_path, source, {"doc": ATTRS})
    assert list(t["segments"]["text"]) == ["We met the agency."]


@pytest.mark.parametrize("path", ["internal://doc.txt", "doc.txt"])
def test_plain_text_path_with_or_without_internal(tmp_path, path):
    _, _, t = imported(tmp_path, simple_project(tmp_path, path=path), {"doc": ATTRS})
    assert list(t["segments"]["text"]) == ["We met the agency."]


def test_guid_braces_and_case(tmp_path):
    start = TEXT.index("We met")
    book = (f'<CodeBook><Codes><Code guid="{guid(10, braces=True, upper=True)}" name="T" '
            f'isCodable="false"><Code guid="{guid(1, braces=True, upper=True)}" name="Met" '
            'isCodable="true"/></Code></Codes></CodeBook>')
    sels = (f'<PlainTextSelection guid="{guid(100)}" startPosition="{start}" '
            f'endPosition="{start + 18}"><Coding guid="{guid(7)}" creatingUser="'
            f'{guid(900, upper=True)}"><CodeRef targetGUID="{guid(1)}"/></Coding>'
            "</PlainTextSelection>")
    _, _, t = imported(tmp_path, simple_project(tmp_path, book=book, sels=sels), {"doc": ATTRS})
    assert list(t["codings"]["code_id"]) == ["Met"]
    assert list(t["codings"]["coder"]) == ["ann"]


def test_bom_and_crlf_with_code_points(tmp_path):
    text = TEXT.replace("\n", "\r\n")
    start = text.index("We met")
    source = simple_project(tmp_path, text=b"\xef\xbb\xbf" + text.encode("utf-8"),
                            sels=selection(100, start, start + 18, (1, 900)), origin="qc 1.3")
    _, folder, t = imported(tmp_path, source, {"doc": ATTRS})
    assert (folder / "transcripts/doc.txt").read_bytes() == text.encode("utf-8")
    assert list(t["segments"]["start"]) == [str(start)]
    assert list(t["segments"]["text"]) == ["We met the agency."]


def test_nvivo_counts_utf16_units(tmp_path):
    text = "Emoji 😀😀 first.\nWe met the agency. It was useful.\n"
    start_cp = text.index("We met")
    start = len(text[:start_cp].encode("utf-16-le")) // 2
    assert start == start_cp + 2
    source = simple_project(tmp_path, text=text, origin="NVivo 14",
                            sels=selection(100, start, start + 18, (1, 900)))
    report, _, t = imported(tmp_path, source, {"doc": ATTRS})
    assert "UTF-16" in report.counting
    assert list(t["segments"]["text"]) == ["We met the agency."]
    assert list(t["segments"]["start"]) == [str(start_cp)]


def test_counting_confirmed_against_text_overrides_the_hint(tmp_path):
    text = "Emoji 😀 here.\n" * 3 + "We met the agency. It was useful.\n"
    start_cp = text.index("We met")
    start = len(text[:start_cp].encode("utf-16-le")) // 2  # written by a tool counting UTF-16
    sels = "".join([selection(100, start, start + 18, (1, 900)),
                    selection(101, start + 19, start + 33, (1, 900))])
    report, _, t = imported(tmp_path, simple_project(tmp_path, text=text, sels=sels,
                                                      origin="Unknown Tool"), {"doc": ATTRS})
    assert "UTF-16" in report.counting
    assert any("fit UTF-16 code units better" in w for w in report.warnings)
    assert sorted(t["segments"]["text"]) == ["It was useful.", "We met the agency."]


def test_atlas_counts_crlf_as_one(tmp_path):
    text = "First line.\r\nSecond line.\r\nWe met the agency. It was useful.\r\n"
    start_cp = text.index("We met")
    start = start_cp - 2  # two CR LF before it, each counted as one
    sels = selection(100, start, start + 18, (1, 900), name="We met the agency.")
    report, _, t = imported(tmp_path, simple_project(tmp_path, text=text, sels=sels,
                                                      origin="ATLAS.ti 9.1"), {"doc": ATTRS})
    assert "CR LF" in report.counting
    assert list(t["segments"]["text"]) == ["We met the agency."]
    assert list(t["segments"]["start"]) == [str(start_cp)]


def test_identical_spans_become_one_segment_with_several_codings(tmp_path):
    start = TEXT.index("We met")
    users = (f'<Users><User guid="{guid(900)}" name="ann"/><User guid="{guid(901)}" name="bob"/>'
             "</Users>")
    sels = "".join([selection(100, start, start + 18, (1, 900)),
                    selection(101, start, start + 18, (2, 900)),
                    selection(102, start, start + 18, (1, 901)),
                    selection(103, start, start + 18, (1, 900))])  # a repeat of the first
    book = codebook(code(10, "T", code(1, "Met") + code(2, "Useful"), codable=False))
    xml = project_xml(book + "<Sources>" + text_source(50, "doc", "internal://doc.txt", sels)
                      + "</Sources>", users=users)
    source = write_qdpx(tmp_path / "p.qdpx", xml, {"sources/doc.txt": TEXT})
    report, _, t = imported(tmp_path, source, {"doc": ATTRS})
    assert len(t["segments"]) == 1
    assert sorted(zip(t["codings"]["code_id"], t["codings"]["coder"], strict=True)) == \
        [("Met", "ann"), ("Met", "bob"), ("Useful", "ann")]
    assert any("merged" in n for n in report.notes)


def test_coder_is_the_coding_creator_matched_by_name(tmp_path):
    start = TEXT.index("We met")
    # The same person appears twice (GUIDs re-minted on export): one coder.
    users = (f'<Users><User guid="{guid(900)}" name="ann"/><User guid="{guid(901)}" name="ann"/>'
             f'<User guid="{guid(902)}" name="selector"/></Users>')
    sels = "".join([selection(100, start, start + 18, (1, 900), creator=902),
                    selection(101, start + 19, start + 33, (1, 901), creator=902),
                    selection(102, 0, 11, (1, 999), creator=902)])
    xml = project_xml(codebook(code(10, "T", code(1, "Met"), codable=False)) + "<Sources>"
                      + text_source(50, "doc", "internal://doc.txt", sels) + "</Sources>",
                      users=users)
    source = write_qdpx(tmp_path / "p.qdpx", xml, {"sources/doc.txt": TEXT})
    report, _, t = imported(tmp_path, source, {"doc": ATTRS})
    assert Counter(t["codings"]["coder"]) == {"ann": 2, f"user-{guid(999)[:8]}": 1}
    assert any("name no user" in w for w in report.warnings)


def test_nested_codes_folders_and_levels(tmp_path):
    start = TEXT.index("We met")
    book = codebook(
        code(10, "Outcomes", code(11, "Tangible", code(1, "New sales", description="Sales won.")
                                  + code(2, "Referrals"), codable=False), codable=False,
             description="What came of it."),
        code(20, "Empty folder", codable=False))
    sels = selection(100, start, start + 18, (1, 900))
    _, _, t = imported(tmp_path, simple_project(tmp_path, book=book, sels=sels), {"doc": ATTRS})
    rows = {r.code_id: r for r in t["codebook"].itertuples()}
    assert (rows["Outcomes"].level, rows["Outcomes"].theme) == ("theme", "Outcomes")
    assert (rows["Tangible"].level, rows["Tangible"].parent_id) == ("subtheme", "Outcomes")
    assert (rows["New-sales"].level, rows["New-sales"].parent_id,
            rows["New-sales"].theme) == ("code", "Tangible", "Outcomes")
    assert rows["New-sales"].definition == "Sales won."
    assert rows["Referrals"].definition == "(no definition in the export)"
    assert rows["Empty-folder"].level == "theme"
    assert "ungrouped" not in rows


def test_unmarked_hierarchy_applied_parents_and_flat_codes(tmp_path):
    """All codes codable (qc, NVivo): folders are inferred; applied parents stay codes."""
    start = TEXT.index("We met")
    book = codebook(code(10, "Top", code(11, "Group", code(1, "Leaf")) + code(2, "Parent",
                                                                               code(3, "Kid"))),
                    code(4, "Flat"))
    sels = "".join([selection(100, start, start + 18, (1, 900), (2, 900)),
                    selection(101, 0, 11, (4, 900))])
    _, _, t = imported(tmp_path, simple_project(tmp_path, book=book, sels=sels), {"doc": ATTRS})
    level = dict(zip(t["codebook"]["code_id"], t["codebook"]["level"], strict=True))
    assert level == {"ungrouped": "theme", "Top": "theme", "Group": "subtheme", "Leaf": "code",
                     "Parent": "code", "Kid": "code", "Flat": "code"}
    theme = dict(zip(t["codebook"]["code_id"], t["codebook"]["theme"], strict=True))
    assert theme["Flat"] == "ungrouped" and theme["Kid"] == "Top"


def test_atlas_path_names_and_set_variables(tmp_path):
    start = TEXT.index("We met")
    book = codebook(code(1, "Food::Coke::diet"), code(2, "Food::milk"), code(3, "Food"))
    sels = selection(100, start, start + 18, (1, 900), (2, 900))
    sets = (f'<Sets><Set guid="{guid(60)}" name="gender: female"><MemberSource targetGUID="'
            f'{guid(50)}"/></Set><Set guid="{guid(61)}" name="Text files"><MemberSource '
            f'targetGUID="{guid(50)}"/></Set><Set guid="{guid(62)}" name="Perspective: '
            f'Entrepreneur"><MemberSource targetGUID="{guid(50)}"/></Set></Sets>')
    source = simple_project(tmp_path, book=book, sels=sels, extra=sets, origin="ATLAS.ti 8.4")
    csv = tmp_path / "attrs.csv"
    csv.write_text("participant_id,organisation_type\ndoc,ict_sme\n", encoding="utf-8")
    report = import_dataset(source, tmp_path / "ds", participants_csv=csv)
    t = {n: read_csv(tmp_path / "ds" / f"{n}.csv") for n in ("participants", "codebook")}
    person = t["participants"].iloc[0]
    assert person["gender"] == "female" and person["perspective"] == "entrepreneur"
    rows = {r.code_id: r for r in t["codebook"].itertuples()}
    assert rows["Food"].level == "theme"          # the existing code 'Food' is the parent
    assert rows["Coke"].parent_id == "Food" and rows["Coke"].level == "subtheme"  # created
    assert (rows["diet"].parent_id, rows["diet"].name) == ("Coke", "diet")
    assert (rows["milk"].parent_id, rows["milk"].theme) == ("Food", "Food")
    assert any("Parent::child" in n for n in report.notes)


def test_cases_with_variables_become_participants(tmp_path):
    variables = (f'<Variables><Variable guid="{guid(70)}" name="Perspective" '
                 'typeOfVariable="Text"/>'
                 f'<Variable guid="{guid(71)}" name="interview minutes" typeOfVariable="Integer"/>'
                 f'<Variable guid="{guid(72)}" name="Sector" typeOfVariable="Text"/></Variables>')

    def value(var: int, kind: str, text: str) -> str:
        return (f'<VariableValue><VariableRef targetGUID="{guid(var)}"/><{kind}>{text}</{kind}>'
                "</VariableValue>")

    cases = (f'<Cases><Case guid="{guid(80)}" name="Ann Smith">'
             + value(70, "TextValue", "intermediary") + value(71, "IntegerValue", "45")
             + value(72, "TextValue", "public") + f'<SourceRef targetGUID="{guid(50)}"/></Case>'
             f'<Case guid="{guid(81)}" name="Bea">' + value(70, "TextValue", "Entrepreneur")
             + f'<SourceRef targetGUID="{guid(51)}"/></Case></Cases>')
    start = TEXT.index("We met")
    sources = ("<Sources>" + text_source(50, "interview 1.docx", "internal://a.txt",
                                         selection(100, start, start + 18, (1, 900)))
               + text_source(51, "interview 2", "internal://b.txt",
                             selection(101, 0, 11, (1, 900)))
               + text_source(52, "memo", "internal://c.txt") + "</Sources>")
    xml = project_xml(codebook(code(10, "T", code(1, "Met"), codable=False)) + variables + cases
                      + sources)
    source = write_qdpx(tmp_path / "p.qdpx", xml, {"sources/a.txt": TEXT, "sources/b.txt": TEXT,
                                                  "sources/c.txt": "A memo.\n"})
    csv = tmp_path / "attrs.csv"
    # participant_id may be the case or document name as the tool showed it
    csv.write_text("participant_id,organisation_type\nAnn Smith,agency\ninterview 2,ict_sme\n"
                   "memo,hei\n", encoding="utf-8")
    with pytest.raises(CompendiumError, match=r"1 lack perspective \(memo\)"):
        import_dataset(source, tmp_path / "ds", participants_csv=csv)
    csv.write_text("participant_id,perspective,organisation_type\nAnn Smith,,agency\n"
                   "interview 2,,ict_sme\nmemo,intermediary,hei\n", encoding="utf-8")
    report = import_dataset(source, tmp_path / "ds", participants_csv=csv)
    people = read_csv(tmp_path / "ds/participants.csv").set_index("participant_id")
    assert list(people.index) == ["Ann-Smith", "Bea", "memo"]
    assert people.loc["Ann-Smith", "perspective"] == "intermediary"
    assert people.loc["Bea", "perspective"] == "entrepreneur"  # lower-cased to the allowed value
    assert people.loc["Ann-Smith", "interview_minutes"] == "45"
    assert people.loc["Ann-Smith", "Sector"] == "public"
    segments = read_csv(tmp_path / "ds/segments.csv")
    assert set(segments["source"]) == {"transcripts/Ann-Smith.txt", "transcripts/Bea.txt"}
    assert (tmp_path / "ds/transcripts/memo.txt").exists()
    assert any("belong to no case" in w for w in report.warnings)


def test_non_text_sources_are_listed_and_skipped(tmp_path):
    extra_sources = (f'<PDFSource guid="{guid(55)}" name="report.pdf" path="internal://r.pdf">'
                     f'<PDFSelection guid="{guid(56)}" page="0" firstX="1" firstY="1" secondX="2" '
                     f'secondY="2"><Coding guid="{guid(57)}" creatingUser="{guid(900)}"><CodeRef '
                     f'targetGUID="{guid(1)}"/></Coding></PDFSelection></PDFSource>'
                     f'<AudioSource guid="{guid(58)}" name="talk.m4a" path="internal://t.m4a"/>')
    start = TEXT.index("We met")
    xml = project_xml(codebook(code(10, "T", code(1, "Met"), codable=False)) + "<Sources>"
                      + text_source(50, "doc", "internal://doc.txt",
                                    selection(100, start, start + 18, (1, 900)))
                      + extra_sources + "</Sources>")
    source = write_qdpx(tmp_path / "p.qdpx", xml, {"sources/doc.txt": TEXT})
    report, _, t = imported(tmp_path, source, {"doc": ATTRS})
    warning = next(w for w in report.warnings if "non-text" in w)
    assert "PDFSource 'report.pdf' (1 coding(s))" in warning and "AudioSource 'talk.m4a'" in warning
    assert len(t["codings"]) == 1


def test_whole_source_coding_spans_the_text(tmp_path):
    whole = (f'<Coding guid="{guid(7)}" creatingUser="{guid(900)}"><CodeRef '
             f'targetGUID="{guid(1)}"/></Coding>')
    xml = project_xml(codebook(code(10, "T", code(1, "Met"), codable=False)) + "<Sources>"
                      + text_source(50, "doc", "internal://doc.txt", whole) + "</Sources>")
    source = write_qdpx(tmp_path / "p.qdpx", xml, {"sources/doc.txt": TEXT})
    report, _, t = imported(tmp_path, source, {"doc": ATTRS})
    assert list(t["segments"]["text"]) == [TEXT]
    assert any("as a whole" in w for w in report.warnings)


def test_unsafe_names_become_safe_ids(tmp_path):
    start = TEXT.index("We met")
    book = codebook(code(10, "Thème &amp; co", code(1, "Mötley / crüe"), codable=False))
    xml = project_xml(book
                      + "<Sources>" + text_source(50, "Mabêl 2ième.docx", "internal://doc.txt",
                                                  selection(100, start, start + 18, (1, 900)))
                      + "</Sources>")
    source = write_qdpx(tmp_path / "p.qdpx", xml, {"sources/doc.txt": TEXT})
    _, folder, t = imported(tmp_path, source, {"Mabel-2ieme": ATTRS})
    assert list(t["participants"]["participant_id"]) == ["Mabel-2ieme"]
    assert set(t["codebook"]["code_id"]) == {"Theme-co", "Motley-crue"}
    assert (folder / "transcripts/Mabel-2ieme.txt").exists()


def test_qde_file_beside_its_sources_folder_and_unpacked_folder(tmp_path):
    archive = simple_project(tmp_path, member="Sources/doc.txt", qde_name="Study.qde")
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(folder)
    for n, source in enumerate([folder / "Study.qde", folder]):
        report, _, t = imported(tmp_path, source, {"doc": ATTRS}, name=f"ds{n}")
        assert list(t["segments"]["text"]) == ["We met the agency."]
    assert "(.qde)" in import_dataset(folder / "Study.qde", tmp_path / "x",
                                      participants_csv=write_attributes(
                                          tmp_path / "a.csv", {"doc": ATTRS})).format


def test_codebook_file_is_refused_clearly(tmp_path):
    qdc = tmp_path / "book.qdc"
    qdc.write_text('<?xml version="1.0"?><CodeBook xmlns="urn:QDA-XML:codebook:1.0"><Codes/>'
                   "</CodeBook>", encoding="utf-8")
    with pytest.raises(CompendiumError, match=r"REFI-QDA codebook .*--codebook book.qdc"):
        import_dataset(qdc, tmp_path / "ds")


def test_bad_positions_are_refused_with_the_selection_named(tmp_path):
    for sels, message in [(selection(100, 5, 999, (1, 900)), "outside the text"),
                          (selection(100, 9, 5, (1, 900)), "not a span"),
                          ('<PlainTextSelection guid="' + guid(100) + '" startPosition="x" '
                           'endPosition="3"/>', "not a whole number")]:
        source = simple_project(tmp_path, sels=sels)
        with pytest.raises(CompendiumError, match=message) as err:
            import_dataset(source, tmp_path / "ds")
        assert guid(100) in str(err.value) and "\n" not in str(err.value)
        assert not (tmp_path / "ds").exists()


def test_empty_and_uncoded_selections_are_skipped(tmp_path):
    start = TEXT.index("We met")
    sels = "".join([selection(100, start, start + 18, (1, 900)), selection(101, 3, 3, (1, 900)),
                    selection(102, 0, 5)])
    report, _, t = imported(tmp_path, simple_project(tmp_path, sels=sels), {"doc": ATTRS})
    assert len(t["segments"]) == 1
    assert any("empty selection" in w for w in report.warnings)
    assert any("without codings" in n for n in report.notes)


# --------------------------------------------------------------------------
# Participants: required attributes


def test_missing_perspective_writes_nothing_and_names_participants(tmp_path):
    source = simple_project(tmp_path)
    with pytest.raises(CompendiumError) as err:
        import_dataset(source, tmp_path / "ds")
    message = str(err.value)
    assert "nothing written" in message and "lack perspective (doc)" in message
    assert "--participants" in message and "\n" not in message
    assert not (tmp_path / "ds").exists()


@pytest.mark.parametrize("content, message", [
    ("participant_id,perspective,organisation_type\nnobody,intermediary,x\n",
     "not in the export: nobody; the imported participants are doc"),
    ("participant_id,perspective,organisation_type\ndoc,manager,x\n",
     r"attrs.csv:2: perspective: 'manager' is not one of"),
    ("participant_id,perspective,organisation_type,interview_minutes\ndoc,intermediary,x,long\n",
     "interview_minutes: 'long' is not a whole number"),
    ("id,perspective\ndoc,intermediary\n", "needs a participant_id column"),
    ("participant_id,perspective,organisation_type\ndoc,intermediary,x\nDOC,,y\n",
     "'DOC' names doc again"),
])
def test_participants_file_errors(tmp_path, content, message):
    csv = tmp_path / "attrs.csv"
    csv.write_text(content, encoding="utf-8")
    with pytest.raises(CompendiumError, match=message):
        import_dataset(simple_project(tmp_path), tmp_path / "ds", participants_csv=csv)
    assert not (tmp_path / "ds").exists()


# --------------------------------------------------------------------------
# Safety


BILLION_LAUGHS = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
                  '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;">]><Project name="&lol2;"/>')
EXTERNAL = ('<?xml version="1.0"?><!DOCTYPE p [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
            '<Project name="&x;"/>')


DOCTYPE = '<?xml version="1.0"?><!DOCTYPE Project SYSTEM "x.dtd"><Project/>'


@pytest.mark.parametrize("xml", [BILLION_LAUGHS, EXTERNAL, DOCTYPE])
def test_entities_and_dtds_are_refused(tmp_path, xml):
    source = write_qdpx(tmp_path / "p.qdpx", xml)
    with pytest.raises(CompendiumError, match="refused") as err:
        import_dataset(source, tmp_path / "ds")
    assert "p.qdpx: project.qde" in str(err.value)
    qde = tmp_path / "p.qde"
    qde.write_text(xml, encoding="utf-8")
    with pytest.raises(CompendiumError, match="refused"):
        import_dataset(qde, tmp_path / "ds")


def test_malformed_xml_is_reported(tmp_path):
    source = write_qdpx(tmp_path / "p.qdpx", "<Project><Users></Project>")
    with pytest.raises(CompendiumError, match="not well-formed XML"):
        import_dataset(source, tmp_path / "ds")


@pytest.mark.parametrize("member", ["../evil.txt", "sources/../../evil.txt", "/etc/evil",
                                    "C:/evil.txt", "sources\\..\\..\\evil.txt"])
def test_members_escaping_the_archive_are_refused(tmp_path, member):
    source = simple_project(tmp_path)
    with zipfile.ZipFile(source, "a") as archive:
        archive.writestr(member, "x")
    with pytest.raises(CompendiumError, match="escapes the archive") as err:
        import_dataset(source, tmp_path / "ds")
    assert "p.qdpx" in str(err.value)


def test_plain_text_path_escaping_the_sources_folder_is_refused(tmp_path):
    source = simple_project(tmp_path, path="internal://../../../etc/passwd")
    with pytest.raises(CompendiumError, match="escapes the sources folder"):
        import_dataset(source, tmp_path / "ds")


def test_qde_on_disk_never_reads_outside_its_sources_folder(tmp_path):
    archive = simple_project(tmp_path, path="internal://../secret.txt")
    folder = tmp_path / "unpacked"
    with zipfile.ZipFile(archive) as zipped:
        zipped.extractall(folder)
    (folder / "secret.txt").write_text(TEXT, encoding="utf-8")
    with pytest.raises(CompendiumError, match="escapes the sources folder"):
        import_dataset(folder / "project.qde", tmp_path / "ds")
    # a symlink inside the sources folder pointing out of it is not followed
    (folder / "sources" / "doc.txt").unlink()
    (folder / "sources" / "doc.txt").symlink_to(folder / "secret.txt")
    qde = (folder / "project.qde").read_text(encoding="utf-8").replace("../secret.txt",
                                                                       "doc.txt")
    (folder / "project.qde").write_text(qde, encoding="utf-8")
    with pytest.raises(CompendiumError, match="missing from the export"):
        import_dataset(folder / "project.qde", tmp_path / "ds")


def test_zip_bomb_is_refused(tmp_path):
    source = simple_project(tmp_path)
    with zipfile.ZipFile(source, "a", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("sources/huge.txt", b"\0" * (8 * 2**20))
    with pytest.raises(CompendiumError, match="zip bomb") as err:
        import_dataset(source, tmp_path / "ds")
    assert "sources/huge.txt" in str(err.value)


def test_size_limits(tmp_path, monkeypatch):
    source = simple_project(tmp_path)
    monkeypatch.setattr(safety, "MAX_TOTAL_BYTES", 100)
    with pytest.raises(CompendiumError, match="uncompressed, more than the limit"):
        import_dataset(source, tmp_path / "ds")
    monkeypatch.setattr(safety, "MAX_TOTAL_BYTES", 2**30)
    monkeypatch.setattr("compendium.qda.refi_files.MAX_TEXT_BYTES", 10)
    with pytest.raises(CompendiumError, match=r"member 'sources/doc.txt' is \d+ bytes, more "
                                              "than the limit of 10"):
        import_dataset(source, tmp_path / "ds")
    monkeypatch.setattr(safety, "MAX_MEMBERS", 1)
    with pytest.raises(CompendiumError, match="more than the limit of 1"):
        import_dataset(source, tmp_path / "ds")


@pytest.mark.parametrize("content", [b"this is not a zip", b"PK\x03\x04 broken"])
def test_files_that_are_not_zips(tmp_path, content):
    source = tmp_path / "p.qdpx"
    source.write_bytes(content)
    with pytest.raises(CompendiumError, match="not a zip archive"):
        import_dataset(source, tmp_path / "ds")


def test_zip_without_project(tmp_path):
    source = tmp_path / "p.qdpx"
    with zipfile.ZipFile(source, "w") as archive:
        archive.writestr("readme.txt", "hello")
    with pytest.raises(CompendiumError, match="without a .qde project file"):
        import_dataset(source, tmp_path / "ds")


# --------------------------------------------------------------------------
# Offsets: unit tests and properties


def test_counting_hints():
    assert counting_hint("NVivo for Windows 12.6") is Counting.UTF16_UNITS
    assert counting_hint("ATLAS.ti 8.4.0 573 , macOS") is Counting.CRLF_AS_ONE
    assert counting_hint("qc 1.3.2") is Counting.CODE_POINTS
    assert counting_hint(None) is Counting.CODE_POINTS


def test_evidence_helpers():
    assert name_matches("Oh, that was great. See…", "Oh, that was  great. See you tomorrow?")
    assert not name_matches("ab", "abc") and not name_matches("Quotation 6:1", "Oh, that")
    assert on_word_boundaries("one two three", 4, 7)
    assert not on_word_boundaries("one two three", 5, 7)


def test_the_tools_counting_is_kept_unless_the_text_clearly_prefers_another():
    text = "x😀 ab cd ef"
    # one selection that only UTF-16 counting puts on word boundaries: not enough
    probe = SpanProbe("t", 4, 6, "")
    assert choose_counting(Counting.CODE_POINTS, {"t": text}, [probe])[0] is \
        Counting.CODE_POINTS
    # a position that does not fit the text at all rules the hint out
    outside = SpanProbe("t", 0, len(text) + 1, "")
    assert choose_counting(Counting.CODE_POINTS, {"t": text}, [outside])[0] is \
        Counting.UTF16_UNITS


def test_an_end_between_cr_and_lf_is_moved_past_the_lf(tmp_path):
    assert end_past_line_ending("ab\r\ncd", 3) == 4
    assert end_past_line_ending("ab\r\ncd", 2) == 2
    text = "One line.\r\nWe met the agency.\r\nMore.\r\n"
    start = text.index("We met")
    source = simple_project(tmp_path, text=text, origin="qc 1.3",
                            sels=selection(100, start, start + 19, (1, 900)))
    report, _, t = imported(tmp_path, source, {"doc": ATTRS})
    assert list(t["segments"]["text"]) == ["We met the agency.\r\n"]
    assert any("between the CR and LF" in n for n in report.notes)


def test_position_outside_or_inside_a_character():
    mapping = PositionMap.build("a😀b", Counting.UTF16_UNITS)
    assert [mapping.to_code_point(u) for u in (0, 1, 3, 4)] == [0, 1, 2, 3]
    with pytest.raises(ValueError, match="inside a character"):
        mapping.to_code_point(2)
    with pytest.raises(ValueError, match="outside the text"):
        mapping.to_code_point(5)
    crlf = PositionMap.build("a\r\nb", Counting.CRLF_AS_ONE)
    assert crlf.to_code_point(2) == 3  # after the line ending, never between CR and LF


PIECES = st.lists(st.one_of(st.text(alphabet=st.characters(blacklist_categories=("Cs",)),
                                    max_size=4),
                            st.sampled_from(["\r\n", "\n", "😀", "é", "𝄞", " ", "\r"])),
                  max_size=30).map("".join)


@settings(max_examples=200, deadline=None)
@given(PIECES)
def test_utf16_conversion_matches_the_encoding(text):
    mapping = PositionMap.build(text, Counting.UTF16_UNITS)
    assert mapping.external_length == len(text.encode("utf-16-le")) // 2
    for cp in range(len(text) + 1):
        units = mapping.to_external(cp)
        assert units == len(text[:cp].encode("utf-16-le")) // 2
        assert mapping.to_code_point(units) == cp
    encoded = text.encode("utf-16-le")
    for units in range(mapping.external_length + 1):
        head = encoded[: 2 * units]
        try:
            decoded = head.decode("utf-16-le")
        except UnicodeDecodeError:  # half a surrogate pair
            with pytest.raises(ValueError):
                mapping.to_code_point(units)
        else:
            assert mapping.to_code_point(units) == len(decoded)


@settings(max_examples=200, deadline=None)
@given(PIECES)
def test_crlf_as_one_conversion(text):
    mapping = PositionMap.build(text, Counting.CRLF_AS_ONE)
    assert mapping.external_length == len(text.replace("\r\n", "\n"))
    for cp in range(len(text) + 1):
        external = mapping.to_external(cp)
        assert external == len(text[:cp].replace("\r\n", "\n"))
        splits = 0 < cp < len(text) and text[cp - 1:cp + 1] == "\r\n"
        assert mapping.to_code_point(external) == (cp + 1 if splits else cp)


@settings(max_examples=200, deadline=None)
@given(PIECES, st.data())
def test_spans_survive_a_round_trip_through_every_counting(text, data):
    start = data.draw(st.integers(0, len(text)))
    end = data.draw(st.integers(start, len(text)))
    for counting in Counting:
        mapping = PositionMap.build(text, counting)
        a = mapping.to_code_point(mapping.to_external(start))
        b = mapping.to_code_point(mapping.to_external(end))
        if counting is not Counting.CRLF_AS_ONE:
            assert (a, b) == (start, end)
        else:  # a cut between CR and LF moves past the LF
            assert text[a:b] in (text[start:end], text[start + 1:end], text[start:end + 1],
                                 text[start + 1:end + 1])
    assert choose_counting(Counting.CODE_POINTS, {"t": text}, [])[0] is Counting.CODE_POINTS


# --------------------------------------------------------------------------
# Readers' small parts


def test_variable_values_and_cases():
    xml = project_xml(
        f'<Variables><Variable guid="{guid(1)}" name="age" typeOfVariable="Integer"/></Variables>'
        f'<Cases><Case guid="{guid(2)}" name="P"><VariableValue><VariableRef targetGUID="'
        f'{guid(1)}"/><IntegerValue>41</IntegerValue></VariableValue><SourceRef targetGUID="'
        f'{{{guid(3, upper=True)}}}"/></Case></Cases>')
    root = parse_xml(xml.encode(), "x")
    cases = read_cases(root, {guid(1): ("age", "Integer")})
    assert cases[0].attributes == {"age": 41} and cases[0].sources == [guid(3)]
    assert variable_value(next(iter(root.iter(f"{{{'urn:QDA-XML:project:1.0'}}}VariableValue"))),
                          {}) is None


def test_split_path_names_creates_missing_parents():
    root = parse_xml(project_xml(codebook(code(1, "A::B::C"), code(2, "A::D"))).encode(), "x")
    codes, split = split_path_names(read_codes(root, "x"))
    assert split == 2
    assert [(c.name, c.parent) for c in codes] == [
        ("A", None), ("B", "path:A"), ("C", "path:A::B"), ("D", "path:A")]
    assert set_variables(root) == {}


# --------------------------------------------------------------------------
# The command line


def test_cli_import_success_prints_the_format(tmp_path, capsys):
    source = simple_project(tmp_path)
    attrs = write_attributes(tmp_path / "a.csv", {"doc": ATTRS})
    assert main(["import", str(source), "--to", str(tmp_path / "ds"), "--participants",
                 str(attrs)]) == 0
    out = capsys.readouterr().out
    assert "p.qdpx: found a REFI-QDA project archive (.qdpx), written by test tool" in out
    assert "dataset written (1 participant(s)" in out


@pytest.mark.parametrize("make, message", [
    (lambda p: simple_project(p), "lack perspective"),
    (lambda p: write_qdpx(p / "p.qdpx", BILLION_LAUGHS), "refused"),
    (lambda p: (p / "x.qdpx").write_bytes(b"junk") and p / "x.qdpx", "not a zip archive"),
    (lambda p: p / "absent.qdpx", "no such file"),
])
def test_cli_import_failure_is_one_line_and_writes_nothing(tmp_path, capsys, make, message):
    source = make(tmp_path)
    assert main(["import", str(source), "--to", str(tmp_path / "out" / "ds")]) == 1
    captured = capsys.readouterr()
    assert captured.err.count("\n") == 1 and message in captured.err
    assert captured.err.startswith("compendium import: ")
    assert "Traceback" not in captured.err + captured.out
    assert not (tmp_path / "out" / "ds").exists()


def test_cli_import_refuses_an_existing_folder(tmp_path, capsys):
    (tmp_path / "ds").mkdir()
    assert main(["import", str(simple_project(tmp_path)), "--to", str(tmp_path / "ds")]) == 1
    assert "already exists" in capsys.readouterr().err


def test_cli_subprocess_has_no_traceback(tmp_path):
    source = write_qdpx(tmp_path / "p.qdpx", EXTERNAL)
    run = subprocess.run([sys.executable, "-m", "compendium.cli", "import", str(source), "--to",
                          str(tmp_path / "ds")], capture_output=True, text=True, timeout=120)
    assert run.returncode == 1
    assert run.stderr.strip().count("\n") == 0
    assert run.stderr.startswith("compendium import: p.qdpx: project.qde: refused")
    assert "Traceback" not in run.stderr
    assert not (tmp_path / "ds").exists()
