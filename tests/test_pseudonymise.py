"""Pseudonymisation: consistent placeholders, offsets that still match, a key kept outside."""

from __future__ import annotations

import csv
import json
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.cli import main
from compendium.dataset import freeze_dataset, load_dataset, validate_dataset
from compendium.dataset.anonymity import PATTERN_KINDS, find_identifiers, parse_identifiers
from compendium.dataset.pseudonymise import (
    Placeholders,
    map_offsets,
    parse_patterns,
    pseudonymise_dataset,
    replace_spans,
    term_spans,
)
from compendium.errors import CompendiumError

from .anonymity_helpers import IDENTIFIERS as BASE_IDENTIFIERS
from .anonymity_helpers import digest, edit_cell, plant, read_csv, write_csv
from .conftest import DEMO, ROOT

IDENTIFIERS = BASE_IDENTIFIERS + "other: I03\n"
NAMES = ("aldershaw", "quillfeather", "thornbeck", "northern digital", "fellgate")


@pytest.fixture(scope="module")
def identifiers_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "identifiers.txt"
    path.write_text(IDENTIFIERS, encoding="utf-8")
    return path


def _cut_segment(folder: Path, row: int, start_shift: int = 0, end_shift: int = 0) -> None:
    """Move a segment's start or end by a few characters, keeping its text a slice."""
    segments = read_csv(folder / "segments.csv")
    i = row - 2
    rel = segments.at[i, "source"]
    transcript = (folder / rel).read_bytes().decode("utf-8")
    s, e = int(segments.at[i, "start"]) + start_shift, int(segments.at[i, "end"]) + end_shift
    segments.loc[i, ["start", "end", "text"]] = [str(s), str(e), transcript[s:e]]
    write_csv(segments, folder / "segments.csv")


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    """A frozen demo copy with listed names in transcripts, segments and other tables,
    two of them cut by a segment boundary."""
    folder = tmp_path_factory.mktemp("raw") / "study"
    shutil.copytree(DEMO, folder)
    plant(folder, 3, "I owe a lot to Mary Aldershaw's advice, and the Aldershaws' help. ")
    plant(folder, 4, "Quillfeather Systems' bid went to the Northern Digital Awards. ")
    plant(folder, 6, "Everyone in THORNBECK knows the Fellgate Trust. ")
    # A segment starting inside a name: plant before segment 2 and pull its start back.
    plant(folder, 2, "Aldershaw said ", at=0)
    _cut_segment(folder, 2, start_shift=-len("Aldershaw said ") + 3)
    # A segment ending inside a name: plant at its end and push its end on.
    text = read_csv(folder / "segments.csv").at[5 - 2, "text"]
    plant(folder, 5, " Thornbeck.", at=len(text))
    _cut_segment(folder, 5, end_shift=len(" Thorn"))
    edit_cell(folder / "participants.csv", 4, "role_in_cluster",
              "steering group member for Quillfeather Systems")
    edit_cell(folder / "codebook.csv", 5, "definition", "Contacts made at Thornbeck's meetings.")
    descriptor = json.loads((folder / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["title"] = "Cluster meetings in Thornbeck"
    descriptor["compendium"]["imported_from"] = {"file": "Fellgate Trust interviews.qdpx"}
    (folder / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    freeze_dataset(folder)
    assert validate_dataset(folder, anonymity=False) == []
    return folder


@pytest.fixture(scope="module")
def result(source: Path, identifiers_file: Path, tmp_path_factory):
    before = digest(source)
    out = tmp_path_factory.mktemp("out")
    report = pseudonymise_dataset(source, out / "pseudo", out / "key.csv", identifiers_file)
    return report, before


def test_offsets_round_trip(result, source: Path, identifiers_file: Path):
    report, _ = result
    # The segments on rows 2 and 5 of segments.csv, whose boundaries the fixture cut.
    ids = read_csv(source / "segments.csv")["segment_id"]
    cut_start, cut_end = ids.iloc[0], ids.iloc[3]
    assert validate_dataset(report.dest, identifiers=identifiers_file) == []
    ds = load_dataset(report.dest, validate=False)
    assert len(ds.transcripts) == 14
    for row in ds.segments.itertuples():
        assert row.text == ds.transcripts[row.source][row.start:row.end], row.segment_id
    texts = ds.segments.set_index("segment_id")["text"]
    # boundaries that cut a name now hold the whole placeholder
    assert texts[cut_start].startswith("[Person 1] said ")
    assert texts[cut_end].endswith(" [Place 1]")


def test_placeholders_are_consistent_across_files(result):
    report, _ = result
    with open(report.key, encoding="utf-8", newline="") as handle:
        key = list(csv.reader(handle))
    assert key == [["kind", "identifier", "placeholder"],
                   ["person", "Mary Aldershaw", "[Person 1]"],
                   ["person", "Aldershaw", "[Person 1]"],
                   ["firm", "Quillfeather Systems", "[Firm 1]"],
                   ["place", "Thornbeck", "[Place 1]"],
                   ["event", "Northern Digital Awards", "[Event 1]"],
                   ["other", "Fellgate Trust", "[Identifier 1]"],
                   ["other", "I03", "[Identifier 2]"]]
    assert stat.S_IMODE(report.key.stat().st_mode) == 0o600
    out = report.dest
    transcript = (out / "transcripts" / "E01.txt").read_text(encoding="utf-8")
    segments = (out / "segments.csv").read_text(encoding="utf-8")
    for phrase in ("[Person 1]'s advice, and the [Person 1]s' help",
                   "[Firm 1]' bid went to the [Event 1]",
                   "Everyone in [Place 1] knows the [Identifier 1]"):
        assert phrase in transcript and phrase in segments, phrase
    assert "steering group member for [Firm 1]" in (out / "participants.csv").read_text("utf-8")
    assert "Contacts made at [Place 1]'s meetings." in (out / "codebook.csv").read_text("utf-8")
    descriptor = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor["title"] == "Cluster meetings in [Place 1]"
    assert descriptor["compendium"]["imported_from"]["file"] == "[Identifier 1] interviews.qdpx"
    # an id is replaced in id form, consistently in every table and the transcript's path
    assert (out / "transcripts" / "Identifier-2.txt").is_file()
    assert not (out / "transcripts" / "I03.txt").exists()
    assert "Identifier-2-001,Identifier-2,transcripts/Identifier-2.txt" in segments
    assert "\n[Identifier 2]: " in (out / "transcripts" / "Identifier-2.txt").read_text("utf-8")
    for path in out.rglob("*"):
        if path.is_file():
            content = path.read_text(encoding="utf-8").casefold()
            assert not any(name in content for name in NAMES), path
    assert report.remaining == []


def test_raw_data_are_unchanged(result, source: Path):
    _, before = result
    assert digest(source) == before


def _attempt(source: Path, out: Path, key: Path, identifiers: Path) -> str:
    with pytest.raises(CompendiumError) as err:
        pseudonymise_dataset(source, out, key, identifiers)
    assert not out.exists() and not key.exists()
    return str(err.value)


def test_key_inside_the_repository_is_refused(source: Path, identifiers_file: Path,
                                              tmp_path: Path):
    key = ROOT / "build" / "pseudonymise-key-must-not-exist.csv"
    message = _attempt(source, tmp_path / "out", key, identifiers_file)
    assert f"inside the working tree of the repository at {ROOT}" in message
    assert list(tmp_path.iterdir()) == []
    # a dataset in another working tree: keys anywhere in that tree are refused too
    repo = tmp_path / "project"
    (repo / ".git").mkdir(parents=True)
    (repo / "keys").mkdir()
    shutil.copytree(source, repo / "data" / "study")
    message = _attempt(repo / "data" / "study", tmp_path / "out", repo / "keys" / "key.csv",
                       identifiers_file)
    assert f"repository at {repo}" in message
    # inside the dataset folders themselves
    message = _attempt(source, tmp_path / "out", source / "key.csv", identifiers_file)
    assert "inside the dataset folder" in message


def test_refuses_existing_key_and_output_inside_the_raw_data(source: Path,
                                                              identifiers_file: Path,
                                                              tmp_path: Path):
    before = digest(source)
    key = tmp_path / "old-key.csv"
    key.write_text("kind,identifier,placeholder\n", encoding="utf-8")
    with pytest.raises(CompendiumError, match="already exists; keys are never overwritten"):
        pseudonymise_dataset(source, tmp_path / "out", key, identifiers_file)
    message = _attempt(source, source / "pseudo", tmp_path / "key.csv", identifiers_file)
    assert "raw data are never written" in message
    assert digest(source) == before


def test_cli_pseudonymise(source: Path, identifiers_file: Path, tmp_path: Path, capsys):
    out, key = tmp_path / "pseudo", tmp_path / "key.csv"
    assert main(["pseudonymise", str(source), "--identifiers", str(identifiers_file),
                 "--to", str(out), "--key", str(key)]) == 0
    assert capsys.readouterr().out.startswith(f"{out}: pseudonymised dataset written (")
    assert main(["check-anonymity", str(out), "--identifiers", str(identifiers_file)]) == 0
    # a second run refuses to overwrite either output, in a real process, without a traceback
    result = subprocess.run([sys.executable, "-m", "compendium.cli", "pseudonymise", str(source),
                             "--identifiers", str(identifiers_file), "--to",
                             str(tmp_path / "other"), "--key", str(key)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.startswith("compendium pseudonymise: ")
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "other").exists()


def test_remaining_pattern_identifiers_are_reported(demo_copy: Path, identifiers_file: Path,
                                                    tmp_path: Path, capsys):
    plant(demo_copy, 2, "Write to jane@example.org, Thornbeck. ")
    freeze_dataset(demo_copy)
    out = tmp_path / "pseudo"
    assert main(["pseudonymise", str(demo_copy), "--identifiers", str(identifiers_file),
                 "--patterns", "phone,url", "--to", str(out),
                 "--key", str(tmp_path / "key.csv")]) == 0
    err = capsys.readouterr().err
    assert "warning: segments.csv:2: text: email 'jane@example.org'" in err
    assert "2 possible identifier(s) remain" in err  # in the segment and the transcript
    assert "Thornbeck" not in (out / "segments.csv").read_text(encoding="utf-8")


PATTERN_TEXT = ("See https://www.linkedin.com/in/jane-doe-12345 or mail jane@example.org; "
                "call 01524 594000. ")


def test_pattern_hits_are_replaced_with_offsets_recomputed(demo_copy: Path, tmp_path: Path,
                                                           capsys):
    """Web addresses, e-mail addresses, telephone numbers: consistent placeholders, offsets
    recomputed, the gate passes, and no identifiers list is needed."""
    plant(demo_copy, 2, PATTERN_TEXT)
    plant(demo_copy, 7, "Again https://www.linkedin.com/in/jane-doe-12345 and "
                        "http://example.com/a. ")
    freeze_dataset(demo_copy)
    assert validate_dataset(demo_copy, identifiers=parse_identifiers(""))  # the gate refuses
    out, key = tmp_path / "pseudo", tmp_path / "key.csv"
    assert main(["pseudonymise", str(demo_copy), "--to", str(out), "--key", str(key)]) == 0
    assert "remain" not in capsys.readouterr().err
    assert validate_dataset(out, identifiers=parse_identifiers("")) == []  # gate and offsets
    segments = read_csv(out / "segments.csv")
    text = segments.iloc[0]["text"]
    assert "[Web address 1]" in text and "[E-mail address 1]" in text \
        and "[Telephone number 1]" in text and "linkedin" not in text
    assert "[Web address 1]" in segments.iloc[5]["text"]  # the same address, the same mark
    assert "[Web address 2]" in segments.iloc[5]["text"]
    rows = list(csv.reader(key.read_text(encoding="utf-8").splitlines()))
    assert rows[0] == ["kind", "identifier", "placeholder"]
    assert ["url", "https://www.linkedin.com/in/jane-doe-12345", "[Web address 1]"] in rows
    assert ["email", "jane@example.org", "[E-mail address 1]"] in rows
    assert ["phone", "01524 594000", "[Telephone number 1]"] in rows


def test_patterns_option_chooses_kinds(demo_copy: Path, tmp_path: Path):
    plant(demo_copy, 2, PATTERN_TEXT)
    freeze_dataset(demo_copy)
    out = tmp_path / "pseudo"
    report = pseudonymise_dataset(demo_copy, out, tmp_path / "key.csv", None, ["url"])
    text = read_csv(out / "segments.csv").iloc[0]["text"]
    assert "[Web address 1]" in text and "jane@example.org" in text
    assert {p.message for p in report.remaining} >= {"email 'jane@example.org'"}
    with pytest.raises(CompendiumError, match="--patterns: unknown kind"):
        parse_patterns("url,fax")
    assert parse_patterns("none") == () and parse_patterns("all") == PATTERN_KINDS
    with pytest.raises(CompendiumError, match="no terms to replace, and no patterns"):
        pseudonymise_dataset(demo_copy, tmp_path / "o2", tmp_path / "k2.csv", None, ())


# --------------------------------------------------------------------------
# Property: wherever identifiers fall, offsets stay consistent

PROPERTY_IDS = parse_identifiers(
    "person: John Smith | Smith\nfirm: Acme Ltd\nplace: Lancaster\nevent: Tech Fest")
FILLERS = ["the", "cluster", "we", "go", "firm", "x", "blacksmith", "Smithy", "Acme", "Ltd.",
           "İstanbul", "Straße", "😀", "_Smith", "1st", "", "'"]
FORMS = ["Smith", "smith's", "SMITHS", "Smiths'", "John Smith", "John\nSmith's", "Acme Ltd",
         "ACME  LTD", "Lancaster", "lancasters", "Tech Fest", "Tech Fest’s"]
SEPARATORS = [" ", "", "\n", ", ", ". ", "-", "'", "\u00a0"]


@st.composite
def texts_and_segments(draw):
    tokens = draw(st.lists(st.tuples(st.sampled_from(FILLERS + FORMS),
                                     st.sampled_from(SEPARATORS)), min_size=1, max_size=30))
    text = "".join(word + sep for word, sep in tokens)
    if not text:
        text = "x"
    bounds = draw(st.lists(st.tuples(st.integers(0, len(text) - 1), st.integers(1, len(text))),
                           max_size=8))
    return text, [(min(a, b - 1), max(a + 1, b)) for a, b in bounds]


@settings(max_examples=150, deadline=None)
@given(texts_and_segments())
def test_random_identifier_placements_keep_offsets_consistent(case):
    text, segments = case
    hits = find_identifiers([text], PROPERTY_IDS, patterns=False).get(0, [])
    placeholders = Placeholders(PROPERTY_IDS, {h.term.entity for h in hits})
    spans = term_spans(text, hits, placeholders.text)
    new, mapping = replace_spans(text, spans)
    # no listed term survives, and undoing the spans restores the text exactly
    assert find_identifiers([new], PROPERTY_IDS, patterns=False) == {}
    restored = new
    for (old_start, old_end, new_start, new_end) in reversed(mapping.tolist()):
        restored = restored[:new_start] + text[old_start:old_end] + restored[new_end:]
    assert restored == text
    if not segments:
        return
    starts = map_offsets(mapping, [a for a, _ in segments], "start")
    ends = map_offsets(mapping, [b for _, b in segments], "end")
    for (a, b), ns, ne in zip(segments, starts, ends, strict=True):
        assert 0 <= ns < ne <= len(new)
        # the new excerpt is the old one, widened to whole names, with the names replaced
        for s, e, _ in spans:
            if s < a < e:
                a = s
            if s < b < e:
                b = e
        inner = [(s - a, e - a, r) for s, e, r in spans if a <= s and e <= b]
        assert new[ns:ne] == replace_spans(text[a:b], inner)[0]
