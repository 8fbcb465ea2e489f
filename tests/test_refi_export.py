"""Exporting datasets as REFI-QDA projects: schema, content, determinism, round trips, CLI."""

from __future__ import annotations

import sys
import tempfile
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from compendium.cli import main
from compendium.dataset import load_dataset, write_dataset
from compendium.errors import CompendiumError
from compendium.qda.importer import import_dataset
from compendium.qda.refi_export import export_dataset

# The helpers shared by the QDA tests sit beside this file (pytest may not put it on the path).
sys.path.insert(0, str(Path(__file__).resolve().parent))
from qda_helpers import (  # noqa: E402
    SYNTHETIC,
    assert_same_dataset,
    assert_valid_refi,
    element_counts,
    local,
    qde_root,
    refi_fixture,
    write_attributes,
)

# --------------------------------------------------------------------------
# The demonstration dataset


@pytest.fixture(scope="module")
def synthetic_export(tmp_path_factory) -> Path:
    if not (SYNTHETIC / "datapackage.json").exists():
        pytest.skip("data/synthetic is absent")
    dest = tmp_path_factory.mktemp("export") / "synthetic.qdpx"
    export_dataset(SYNTHETIC, dest)
    return dest


def test_synthetic_export_validates_against_the_xsd(synthetic_export):
    assert_valid_refi(synthetic_export)


def test_synthetic_export_content(synthetic_export):
    ds = load_dataset(SYNTHETIC)
    root = qde_root(synthetic_export)
    counts = element_counts(root)
    assert root.get("origin").startswith("compendium")
    assert counts["Code"] == len(ds.raw_codebook)
    assert counts["User"] == len(ds.coders)
    assert counts["Case"] == len(ds.participants)
    assert counts["TextSource"] == len(ds.transcripts)
    assert counts["PlainTextSelection"] == len(ds.raw_codings)  # one per coding, as NVivo
    assert counts["Coding"] == len(ds.raw_codings)
    codes = {c.get("name"): c for c in root.iter() if local(c.tag) == "Code"}
    levels = dict(zip(ds.raw_codebook["name"], ds.raw_codebook["level"], strict=True))
    for name, element in codes.items():  # folders for themes and sub-themes
        assert element.get("isCodable") == ("true" if levels[name] == "code" else "false")
    theme = codes["Motivations"]
    business = next(c for c in theme if local(c.tag) == "Code" and
                    c.get("name") == "Business development")
    assert any(c.get("name") == "Finding customers and leads" for c in business)
    users = {u.get("guid"): u.get("name") for u in root.iter() if local(u.tag) == "User"}
    assert set(users.values()) == set(ds.coders)
    assert all(c.get("creatingUser") in users for c in root.iter() if local(c.tag) == "Coding")
    # Cases carry the participants' variables and point at their transcripts.
    sources = {s.get("guid"): s for s in root.iter() if local(s.tag) == "TextSource"}
    case = next(c for c in root.iter() if local(c.tag) == "Case" and c.get("name") == "E01")
    refs = [r.get("targetGUID") for r in case if local(r.tag) == "SourceRef"]
    assert [sources[r].get("name") for r in refs] == ["E01"]
    assert sum(1 for v in case if local(v.tag) == "VariableValue") == \
        ds.participants.set_index("participant_id").loc["E01"].notna().sum()
    # Selections hold code-point positions into the text stored in the archive.
    with zipfile.ZipFile(synthetic_export) as archive:
        text = archive.read(sources[refs[0]].get("plainTextPath")
                            .replace("internal://", "sources/")).decode("utf-8")
    assert text == ds.transcripts["transcripts/E01.txt"]
    first = ds.segments.iloc[0]
    selection = next(s for s in sources[refs[0]] if local(s.tag) == "PlainTextSelection")
    assert (int(selection.get("startPosition")), int(selection.get("endPosition"))) == \
        (first["start"], first["end"])


def test_synthetic_round_trip_is_exact(synthetic_export, tmp_path):
    import_dataset(synthetic_export, tmp_path / "back")
    # Same resources and hashes: every table, transcript and the guide, byte for byte.
    assert (tmp_path / "back/datapackage.json").read_bytes() == \
        (SYNTHETIC / "datapackage.json").read_bytes()
    assert_same_dataset(SYNTHETIC, tmp_path / "back")


def test_a_selection_moved_after_export_keeps_its_own_span_and_codings(synthetic_export,
                                                                      tmp_path):
    """``make fuzz`` (seed 8, case 3304) moved one selection's start to 0. It still noted the
    segment id of the selections that share its old span, and the import grouped on that id
    alone: their codings went onto the moved span, and the span they marked was lost."""
    with zipfile.ZipFile(synthetic_export) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    qde = next(name for name in members if name.endswith(".qde"))
    root = qde_root(synthetic_export)
    spans: dict[tuple[str, str, str], list] = {}
    for source in (e for e in root.iter() if local(e.tag) == "TextSource"):
        for sel in (e for e in source if local(e.tag) == "PlainTextSelection"):
            spans.setdefault((source.get("name"), sel.get("startPosition"),
                              sel.get("endPosition")), []).append(sel)
    # the first span two selections share that does not start at 0; move the first of them
    (name, start, end), shared = next((k, v) for k, v in spans.items()
                                      if len(v) >= 2 and k[1] != "0")
    moved, others = shared[0], shared[1:]
    xml = members[qde].decode("utf-8")
    at = xml.index(f'guid="{moved.get("guid")}"')
    members[qde] = (xml[:at] + xml[at:].replace(f'startPosition="{start}"',
                                                'startPosition="0"', 1)).encode("utf-8")
    edited = tmp_path / "edited.qdpx"
    with zipfile.ZipFile(edited, "w") as archive:
        for member, data in members.items():
            archive.writestr(member, data)

    report = import_dataset(edited, tmp_path / "back")
    assert any("kept as segments of their own" in w for w in report.warnings), report.warnings
    back = load_dataset(tmp_path / "back")
    placed = back.raw_codings.merge(back.segments, on="segment_id")
    users = {e.get("guid"): e.get("name") for e in root.iter() if local(e.tag) == "User"}
    code_names = {e.get("guid"): e.get("name") for e in root.iter() if local(e.tag) == "Code"}
    ids = dict(zip(back.raw_codebook["name"], back.raw_codebook["code_id"], strict=True))

    def written(begin: int) -> set[tuple[str, str]]:
        # the source is named for its participant (E01), as the export names it
        rows = placed[(placed["participant_id"] == name) & (placed["start"] == begin)
                      & (placed["end"] == int(end))]
        return set(zip(rows["code_id"], rows["coder"], strict=True))

    def read(selections) -> set[tuple[str, str]]:
        return {(ids[code_names[ref.get("targetGUID")]], users[coding.get("creatingUser")])
                for sel in selections for coding in sel if local(coding.tag) == "Coding"
                for ref in coding if local(ref.tag) == "CodeRef"}

    assert written(int(start)) == read(others)  # still on the span they marked
    assert written(0) == read([moved])  # the moved one on its new span
    assert len(back.raw_codings) == len(load_dataset(SYNTHETIC).raw_codings)


def test_export_is_deterministic_and_atomic(synthetic_export, tmp_path):
    again = tmp_path / "again.qdpx"
    export_dataset(SYNTHETIC, again)
    assert again.read_bytes() == synthetic_export.read_bytes()
    assert [p.name for p in tmp_path.iterdir()] == ["again.qdpx"]  # no temporary file left
    with pytest.raises(CompendiumError, match="already exists"):
        export_dataset(SYNTHETIC, again)
    export_dataset(SYNTHETIC, again, overwrite=True)
    assert again.read_bytes() == synthetic_export.read_bytes()
    with zipfile.ZipFile(again) as archive:
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_failed_export_leaves_nothing(tmp_path, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError):
        export_dataset(SYNTHETIC, tmp_path / "x.qdpx")
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------
# Generated datasets: the round trip as a property


WORDS = st.sampled_from(["we", "met", "the", "agency", "café", "naïve", "😀", "𝄞", "ok",
                         "x"])
SEPARATORS = st.sampled_from([" ", " ", "\n", "\r\n", ", ", ". "])
TEXT = st.lists(st.tuples(WORDS, SEPARATORS), min_size=8, max_size=40).map(
    lambda pairs: "".join(w + s for w, s in pairs))
LABEL = st.text(alphabet=st.sampled_from(list("abcXYZ é&<>\"'-/")) | st.just("\n"),
                min_size=1, max_size=12).map(str.strip).filter(bool)


@st.composite
def datasets(draw) -> dict:
    pids = draw(st.lists(st.sampled_from(["E01", "I02", "P-3", "x_4"]), min_size=1, max_size=3,
                         unique=True))
    with_minutes = draw(st.booleans())
    participants = pd.DataFrame({
        "participant_id": pids,
        "perspective": [draw(st.sampled_from(["entrepreneur", "intermediary"])) for _ in pids],
        "organisation_type": [draw(st.sampled_from(["ict_sme", "agency", "hei"])) for _ in pids],
        "interview_minutes": pd.array([draw(st.integers(1, 99)) if with_minutes else None
                                       for _ in pids], dtype="Int64"),
        "region": [draw(st.one_of(st.none(), LABEL)) for _ in pids],
    })
    rows, codes = [], []
    for t in range(draw(st.integers(1, 2))):
        theme = f"T{t}"
        rows.append((theme, theme, "theme", None, draw(LABEL), draw(LABEL)))
        for c in range(draw(st.integers(0, 2))):  # codes straight under the theme
            code = f"{theme}.c{c}"
            rows.append((code, theme, "code", draw(st.sampled_from([None, theme])), draw(LABEL),
                         draw(LABEL)))
            codes.append(code)
        for s in range(draw(st.integers(0 if codes else 1, 2))):
            sub = f"{theme}-S{s}"
            rows.append((sub, theme, "subtheme", theme, draw(LABEL), draw(LABEL)))
            for c in range(draw(st.integers(1, 2))):
                code = f"{sub}_c{c}"
                rows.append((code, theme, "code", sub, draw(LABEL), draw(LABEL)))
                codes.append(code)
    codebook = pd.DataFrame(rows, columns=["code_id", "theme", "level", "parent_id", "name",
                                           "definition"])
    transcripts = {f"transcripts/{p}.txt": draw(TEXT) for p in pids if draw(st.booleans())}
    segments, codings = [], []
    for pid in pids:
        for n in range(draw(st.integers(1, 3))):
            sid = f"{pid}-s{n}"
            source = draw(st.sampled_from(sorted(transcripts))) if transcripts and \
                draw(st.booleans()) else None  # may be another's: a shared transcript
            if source:
                text = transcripts[source]
                start = draw(st.integers(0, len(text) - 2))
                end = draw(st.integers(start + 1, len(text)))
                if not text[start:end].strip():
                    start, end = 0, len(text)
                if text[end - 1:end + 1] == "\r\n":
                    # An excerpt ending in a lone CR does not survive the dataset's CSV
                    # (see the report); the importer extends such ends past the LF too.
                    end += 1
                segments.append((sid, pid, source, start, end, text[start:end]))
            else:
                segments.append((sid, pid, None, None, None, draw(TEXT).strip()))
            for coder in draw(st.lists(st.sampled_from(["coder_a", "coder_b"]), min_size=1,
                                       max_size=2, unique=True)):
                for code in draw(st.lists(st.sampled_from(codes), min_size=1, max_size=2,
                                          unique=True)):
                    codings.append((sid, code, coder))
    segments = pd.DataFrame(segments, columns=["segment_id", "participant_id", "source",
                                               "start", "end", "text"])
    segments["start"] = segments["start"].astype("Int64")
    segments["end"] = segments["end"].astype("Int64")
    return {"participants": participants, "codebook": codebook, "segments": segments,
            "codings": pd.DataFrame(codings, columns=["segment_id", "code_id", "coder"]),
            "transcripts": transcripts}


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(datasets(), st.booleans())
def test_round_trip_of_generated_datasets(tables, synthetic):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "ds"
        write_dataset(folder, **tables, name="generated", title="Generated <test> & co",
                      description="Made by hypothesis.", synthetic=synthetic,
                      primary_coder=sorted(set(tables["codings"]["coder"]))[0])
        archive = Path(tmp) / "ds.qdpx"
        export_dataset(folder, archive)
        assert_valid_refi(archive, required=False)
        import_dataset(archive, Path(tmp) / "back")
        assert_same_dataset(folder, Path(tmp) / "back")
        # One trip puts the tables in the import's order; from there the trip is exact.
        export_dataset(Path(tmp) / "back", Path(tmp) / "again.qdpx")
        import_dataset(Path(tmp) / "again.qdpx", Path(tmp) / "again")
        assert (Path(tmp) / "again/datapackage.json").read_bytes() == \
            (Path(tmp) / "back/datapackage.json").read_bytes()


# --------------------------------------------------------------------------
# Real projects: import, export, import again


@pytest.mark.parametrize("name, people", [("qc-demo.qdpx", ["board_2017", "admin-1"]),
                                          ("nvivo-win-oltas.qdpx", ["videos_selection"])])
def test_imported_real_projects_export_and_come_back(tmp_path, name, people):
    source = refi_fixture(name)
    attrs = write_attributes(tmp_path / "a.csv", {p: ("entrepreneur", "ict_sme") for p in people})
    import_dataset(source, tmp_path / "first", participants_csv=attrs)
    export_dataset(tmp_path / "first", tmp_path / "first.qdpx")
    assert_valid_refi(tmp_path / "first.qdpx", required=False)
    import_dataset(tmp_path / "first.qdpx", tmp_path / "second")
    assert (tmp_path / "second/datapackage.json").read_bytes() == \
        (tmp_path / "first/datapackage.json").read_bytes()


def test_shared_transcript_and_excerpt_only_segments(tmp_path):
    """A focus-group transcript shared by two people, and a segment with no offsets."""
    text = "MOD: Why come?\r\nANN: For leads 😀.\r\nBOB: For peers.\r\n"
    a, b = text.index("For leads"), text.index("For peers")
    folder = write_dataset(
        tmp_path / "ds",
        participants=pd.DataFrame({"participant_id": ["ANN", "BOB"],
                                   "perspective": ["entrepreneur", "intermediary"],
                                   "organisation_type": ["ict_sme", "agency"]}),
        codebook=pd.DataFrame({"code_id": ["T", "C"], "theme": ["T", "T"],
                               "level": ["theme", "code"], "parent_id": [None, None],
                               "name": ["Theme", "Code"], "definition": ["A theme.", "A code."]}),
        segments=pd.DataFrame({
            "segment_id": ["g1", "g2", "x1"], "participant_id": ["ANN", "BOB", "BOB"],
            "source": ["transcripts/group.txt", "transcripts/group.txt", None],
            "start": pd.array([a, b, None], dtype="Int64"),
            "end": pd.array([a + 11, b + 9, None], dtype="Int64"),
            "text": [text[a:a + 11], text[b:b + 9], "Said later, by email."]}),
        codings=pd.DataFrame({"segment_id": ["g1", "g2", "x1"], "code_id": ["C"] * 3,
                              "coder": ["a"] * 3}),
        transcripts={"transcripts/group.txt": text},
        name="group", title="Group", description="Focus group.", synthetic=True,
        primary_coder="a")
    archive = tmp_path / "group.qdpx"
    export_dataset(folder, archive)
    assert_valid_refi(archive)
    root = qde_root(archive)
    cases = {c.get("name"): c for c in root.iter() if local(c.tag) == "Case"}
    assert sum(1 for r in cases["ANN"] if local(r.tag) == "SelectionRef") == 1
    sources = [s.get("name") for s in root.iter() if local(s.tag) == "TextSource"]
    assert sources == ["group", "BOB (excerpts)"]
    # the code with no parent_id is nested under its theme and comes back without one
    import_dataset(archive, tmp_path / "back")
    assert_same_dataset(folder, tmp_path / "back")


# --------------------------------------------------------------------------
# Failures


def _small_dataset(folder: Path, definition: str = "When it applies.") -> Path:
    return write_dataset(
        folder,
        participants=pd.DataFrame({"participant_id": ["E01"], "perspective": ["entrepreneur"],
                                   "organisation_type": ["ict_sme"]}),
        codebook=pd.DataFrame({"code_id": ["T", "C"], "theme": ["T", "T"],
                               "level": ["theme", "code"], "parent_id": [None, "T"],
                               "name": ["Theme", "Code"], "definition": ["A theme.", definition]}),
        segments=pd.DataFrame({"segment_id": ["E01-001"], "participant_id": ["E01"],
                               "text": ["We met."]}),
        codings=pd.DataFrame({"segment_id": ["E01-001"], "code_id": ["C"], "coder": ["a"]}),
        name="small", title="Small", description="Small.", synthetic=True, primary_coder="a")


def test_control_characters_xml_cannot_hold_are_refused(tmp_path):
    folder = _small_dataset(tmp_path / "ds", definition="Bell \x07 here.")
    with pytest.raises(CompendiumError, match=r"codebook.csv: C: definition: contains the "
                                              r"control character U\+0007"):
        export_dataset(folder, tmp_path / "x.qdpx")
    assert not (tmp_path / "x.qdpx").exists()


def test_invalid_dataset_is_refused_in_one_line(tmp_path):
    folder = _small_dataset(tmp_path / "ds")
    (folder / "codings.csv").write_text("segment_id,code_id,coder\nE01-001,C,b\n",
                                        encoding="utf-8")
    with pytest.raises(CompendiumError, match="not a valid dataset") as err:
        export_dataset(folder, tmp_path / "x.qdpx")
    assert "\n" not in str(err.value)
    with pytest.raises(CompendiumError, match="must end in .qdpx"):
        export_dataset(folder, tmp_path / "x.zip")


def test_cli_export_checks_both_files_before_writing_either(tmp_path, capsys):
    """`export --to p.qdpx --codebook BAD` wrote the project, then refused the codebook
    (found by `make fuzz`'s command-line target): both are checked first."""
    folder = _small_dataset(tmp_path / "ds")
    (tmp_path / "kept.qdc").write_text("someone's codebook\n", encoding="utf-8")
    (tmp_path / "a-folder.qdc").mkdir()
    for codebook, expected in [("book.txt", "must end in .qdc"),
                               ("kept.qdc", "already exists"),
                               ("a-folder.qdc", "already exists")]:
        assert main(["export", str(folder), "--to", str(tmp_path / "p.qdpx"),
                     "--codebook", str(tmp_path / codebook)]) == 1
        assert expected in capsys.readouterr().err
        assert not (tmp_path / "p.qdpx").exists()
    assert main(["export", str(folder), "--to", str(tmp_path / "p.qdpx"),
                 "--codebook", str(tmp_path / "a-folder.qdc"), "--force"]) == 1
    assert "exists and is not a file" in capsys.readouterr().err
    assert not (tmp_path / "p.qdpx").exists()
    assert (tmp_path / "kept.qdc").read_text(encoding="utf-8") == "someone's codebook\n"


def test_cli_export(tmp_path, capsys):
    folder = _small_dataset(tmp_path / "ds")
    assert main(["export", str(folder), "--to", str(tmp_path / "s.qdpx")]) == 0
    assert "REFI-QDA project written (1 case(s), 1 text source(s), 2 code(s)" in \
        capsys.readouterr().out
    assert_valid_refi(tmp_path / "s.qdpx", required=False)
    assert main(["export", str(folder), "--to", str(tmp_path / "s.qdpx")]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main(["export", str(folder), "--to", str(tmp_path / "s.qdpx"), "--force"]) == 0
    capsys.readouterr()
    assert main(["export", str(tmp_path / "missing"), "--to", str(tmp_path / "m.qdpx")]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and "not a valid dataset" in err
