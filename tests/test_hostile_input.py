"""Hostile and broken input for validate, check-anonymity and pseudonymise.

Every case goes through the command line: exit status 1, one message per problem
naming the file (and row), no traceback, and nothing written or changed. The
library-level messages for most cases are pinned in test_dataset.py; this file adds
the three commands, the untouched folder, the encodings of transcripts and guide,
huge fields, spreadsheet formulas and generated malformed input.
"""

from __future__ import annotations

import codecs
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from compendium.cli import main
from compendium.dataset import (
    MAX_FIELD_CHARS,
    freeze_dataset,
    load_dataset,
    validate_dataset,
)
from compendium.dataset.anonymity import check_anonymity
from compendium.dataset.identifiers import parse_identifiers
from compendium.dataset.patterns import find_identifiers
from compendium.dataset.tableio import read_table
from compendium.displays.tables import profile_table
from compendium.errors import CompendiumError
from compendium.steps.artefacts import RunOutputs

from .anonymity_helpers import digest, edit_cell, plant, read_csv, write_csv
from .conftest import DEMO, ROOT

IDS = "person: Mary Aldershaw\nplace: Thornbeck\n"


def _append(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes((folder / name).read_bytes() + data)


def _encode(name: str, encoding: str, extra: str = "") -> Callable[[Path], None]:
    def mutate(folder: Path) -> None:
        text = (folder / name).read_text(encoding="utf-8")
        (folder / name).write_bytes((text + extra).encode(encoding))
    return mutate


def _write(name: str, data: bytes) -> Callable[[Path], None]:
    return lambda folder: (folder / name).write_bytes(data)


def _edit(name: str, row: int, column: str, value: str) -> Callable[[Path], None]:
    return lambda folder: edit_cell(folder / name, row, column, value)


HUGE = "word " * (MAX_FIELD_CHARS // 5 + 1) + "jane@example.org"

# (id, corruption, a line validate must print, whether check-anonymity can still scan)
CASES = [
    ("ragged-row", _append("segments.csv", b"E99-001,E01,,1,2,text,surplus\n"),
     "segments.csv: cannot parse CSV", False),
    ("bad-quoting", _append("codebook.csv", b'X-1,motivations,code,,"Unterminated,def\n'),
     "codebook.csv: cannot parse CSV", False),
    ("latin-1-table", _encode("participants.csv", "latin-1", "E99,entrepreneur,caf\xe9,,,\n"),
     "participants.csv:16: not valid UTF-8 (byte 0xe9)", False),
    ("latin-1-table-after-a-bom", lambda folder: (folder / "participants.csv").write_bytes(
        b"\xef\xbb\xbf" + (folder / "participants.csv").read_bytes() + "E99,caf\xe9\n"
        .encode("latin-1")), "participants.csv:16: not valid UTF-8 (byte 0xe9)", False),
    ("utf-16-table", _encode("codings.csv", "utf-16"),
     "codings.csv: file is UTF-16 encoded; save it as UTF-8", False),
    ("latin-1-transcript", _encode("transcripts/E02.txt", "latin-1", "Caf\xe9.\n"),
     "transcripts/E02.txt:77: not valid UTF-8 (byte 0xe9)", False),
    ("latin-1-transcript-after-a-bom", lambda folder: (folder / "transcripts/E02.txt")
     .write_bytes(b"\xef\xbb\xbf" + (folder / "transcripts/E02.txt").read_bytes()
                  + "Caf\xe9.\n".encode("latin-1")),
     "transcripts/E02.txt:77: not valid UTF-8 (byte 0xe9)", False),
    ("utf-16-transcript", _encode("transcripts/I01.txt", "utf-16"),
     "transcripts/I01.txt: not valid UTF-8 (a UTF-16 file)", False),
    ("latin-1-guide", _encode("interview_guide.md", "latin-1", "Caf\xe9.\n"),
     "interview_guide.md:81: not valid UTF-8 (byte 0xe9)", False),
    ("empty-file", _write("codings.csv", b""), "codings.csv: file is empty", False),
    ("header-only", _write("segments.csv", b"segment_id,participant_id,source,start,end,text\n"),
     "segments.csv: has a header but no rows", True),
    ("duplicate-id", _edit("participants.csv", 3, "participant_id", "E01"),
     "participants.csv:3: participant_id: duplicate id 'E01'", True),
    ("dangling-reference", _edit("segments.csv", 5, "participant_id", "X99"),
     "segments.csv:5: participant_id: 'X99' is not in participants.csv", True),
    ("offset-out-of-range", _edit("segments.csv", 2, "end", "999999"),
     "segments.csv:2: end: 999999 is past the end of transcripts/E01.txt", True),
    ("offsets-reversed", _edit("segments.csv", 6, "end", "3"),
     "segments.csv:6: end: end 3 is not after start", True),
    ("text-not-transcript", _edit("segments.csv", 7, "text", "Not what was said."),
     "segments.csv:7: text: does not match transcripts/E01.txt[start:end]", True),
    ("code-not-in-codebook", _edit("codings.csv", 9, "code_id", "MOT-NOPE"),
     "codings.csv:9: code_id: 'MOT-NOPE' is not in codebook.csv", True),
    ("unknown-perspective", _edit("participants.csv", 4, "perspective", "funder"),
     "participants.csv:4: perspective: 'funder' is not one of entrepreneur, intermediary", True),
    ("huge-field", _edit("segments.csv", 2, "text", HUGE),
     "segments.csv:2: text: value longer than 1,000,000 characters", True),
    # a source no system takes as a file name (a part over 255 bytes): found by `make fuzz`
    ("source-name-too-long", _edit("segments.csv", 2, "source", f"transcripts/{'x' * 300}.txt"),
     "segments.csv:2: source: 'transcripts/xxxxx", True),
]

LOCATED = re.compile(r"^(datapackage\.json|[\w-]+\.csv|transcripts/[\w.-]+|interview_guide\.md)"
                     r"(:\d+)?: \S")


def _problem_lines(stderr: str, folder: Path) -> list[str]:
    lines = stderr.strip().splitlines()
    assert lines[-1].startswith(f"{folder}: "), lines[-1]
    body = lines[:-1]
    assert body and len(body) == len(set(body)), body
    for line in body:
        assert LOCATED.match(line), line
    return body


@pytest.fixture(scope="module")
def identifiers_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("secret") / "identifiers.txt"
    path.write_text(IDS, encoding="utf-8")
    return path


@pytest.mark.parametrize("name, corrupt, expected, scannable", CASES, ids=[c[0] for c in CASES])
def test_broken_dataset_through_every_command(name, corrupt, expected, scannable, tmp_path: Path,
                                              identifiers_file: Path, capsys):
    folder = tmp_path / "data"
    shutil.copytree(DEMO, folder)
    corrupt(folder)
    try:
        freeze_dataset(folder)  # so only the corruption itself is reported
    except CompendiumError:
        pass  # unreadable tables cannot be frozen; the hash mismatch is reported too
    before = digest(folder)
    outputs = tmp_path / "outputs"
    outputs.mkdir()
    ids = ["--identifiers", str(identifiers_file)]

    assert main(["validate", str(folder), *ids]) == 1
    lines = _problem_lines(capsys.readouterr().err, folder)
    assert any(line.startswith(expected) for line in lines), (expected, lines)

    code = main(["check-anonymity", str(folder), *ids])
    captured = capsys.readouterr()
    if name == "huge-field":
        assert code == 1
        assert _problem_lines(captured.err, folder) == [
            "segments.csv:2: text: email 'jane@example.org'"]
    elif scannable:  # the gate does not check structure: validate does
        assert code == 0 and "no direct identifiers found" in captured.out
    else:
        assert code == 1
        assert expected.split(":")[0] in _problem_lines(captured.err, folder)[0]

    assert main(["pseudonymise", str(folder), *ids, "--to", str(outputs / "pseudo"),
                 "--key", str(outputs / "key.csv")]) == 1
    lines = _problem_lines(capsys.readouterr().err, folder)
    assert any(line.startswith(expected) for line in lines), (expected, lines)

    assert digest(folder) == before
    assert list(outputs.iterdir()) == []


def test_no_traceback_in_a_real_process(tmp_path: Path):
    folder = tmp_path / "data"
    shutil.copytree(DEMO, folder)
    (folder / "codings.csv").write_bytes("segment_id\n".encode("utf-16"))
    for command in (["validate", str(folder)], ["check-anonymity", str(folder)],
                    ["pseudonymise", str(folder), "--identifiers", str(folder / "none.txt"),
                     "--to", str(tmp_path / "o"), "--key", str(tmp_path / "k.csv")]):
        result = subprocess.run([sys.executable, "-m", "compendium.cli", *command],
                                capture_output=True, text=True)
        assert result.returncode == 1, command
        assert "Traceback" not in result.stderr and result.stderr.strip(), command


def test_byte_order_marks_are_accepted(demo_copy: Path, identifiers_file: Path, tmp_path: Path,
                                       capsys):
    for name in ("participants.csv", "codebook.csv", "segments.csv", "codings.csv",
                 "transcripts/E01.txt", "interview_guide.md"):
        path = demo_copy / name
        path.write_bytes(codecs.BOM_UTF8 + path.read_bytes())
    freeze_dataset(demo_copy)
    ids = ["--identifiers", str(identifiers_file)]
    assert main(["validate", str(demo_copy), *ids]) == 0
    assert main(["check-anonymity", str(demo_copy), *ids]) == 0
    out = tmp_path / "pseudo"
    assert main(["pseudonymise", str(demo_copy), *ids, "--to", str(out),
                 "--key", str(tmp_path / "key.csv")]) == 0
    assert validate_dataset(out, identifiers=identifiers_file) == []
    capsys.readouterr()


def test_missing_folder_and_bad_identifiers_list(tmp_path: Path, capsys):
    assert main(["check-anonymity", str(tmp_path / "nope")]) == 1
    assert "not a dataset folder" in capsys.readouterr().err
    bad = tmp_path / "ids.txt"
    bad.write_text("persn: Smith\n", encoding="utf-8")
    assert main(["validate", str(DEMO), "--identifiers", str(bad)]) == 1
    assert capsys.readouterr().err.strip() == (
        f"compendium validate: {bad}:1: unknown kind 'persn' (use person, firm, place, event or "
        "other; write 'other: persn: Smith' for a term with a colon)")


#: A path the system refuses: one part longer than the 255 bytes a file name may have.
TOO_LONG = "y" * 300


@pytest.mark.parametrize("args, path", [
    (["validate", "{tmp}/" + TOO_LONG], "{tmp}/" + TOO_LONG),
    (["check-anonymity", str(DEMO), "--identifiers", "{tmp}/" + TOO_LONG], "{tmp}/" + TOO_LONG),
    (["validate", str(DEMO), "--stamp", "{tmp}"], "{tmp}"),
    (["import", str(DEMO / "codings.csv"), "--to", "{tmp}/" + TOO_LONG], "{tmp}/" + TOO_LONG),
    (["synthetic", "--to", "{tmp}/" + TOO_LONG + "/data"], "{tmp}/" + TOO_LONG + "/data"),
], ids=["dataset", "identifiers", "stamp-is-a-folder", "import-to", "synthetic-to"])
def test_a_path_the_system_refuses_is_one_line_naming_it(args, path, tmp_path: Path, capsys):
    """The command line's paths were internal errors when the system refused them (found
    by probing every command's arguments); each is now the path, shortened, and why."""
    assert main([a.replace("{tmp}", str(tmp_path)) for a in args]) == 1
    err = capsys.readouterr().err.strip()
    full = path.replace("{tmp}", str(tmp_path))
    shown = full if len(full) <= 120 else f"{full[:60]}…{full[-40:]}"
    assert len(err.splitlines()) == 1 and "internal error" not in err, err
    assert err.startswith(f"compendium {args[0]}: {shown}: "), err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, expected", [
    (["synthetic", "--to", "{tmp}/a-file/under"],
     "{tmp}/a-file: not a folder, where a folder is needed"),
    (["pseudonymise", str(DEMO), "--to", "{tmp}/loop/under", "--key", "{tmp}/key.csv"],
     "{tmp}/loop: a link that leads nowhere, or in a loop, where a folder is needed"),
    (["validate", str(DEMO), "--stamp", "{tmp}/" + "z" * 300], "zzzz: File name too long"),
], ids=["a-file-in-the-way", "a-link-loop-in-the-way", "stamp-name-too-long"])
def test_a_path_in_the_way_is_named_with_what_is_wrong(args, expected, tmp_path: Path,
                                                       capsys):
    """Found by `make fuzz`'s command-line target: the system's words ('File exists'),
    a key 'appeared while writing' when the dataset's folder could not be made, and the
    temporary file's name instead of the path given."""
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert main([a.replace("{tmp}", str(tmp_path)) for a in args]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"compendium {args[0]}: ") and \
        expected.replace("{tmp}", str(tmp_path)) in err, err
    assert len(err.splitlines()) == 1 and ".tmp" not in err and "appeared" not in err, err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file", "loop"]


def test_a_default_path_not_found_says_where_it_was_looked_for(tmp_path: Path, capsys,
                                                              monkeypatch):
    """Defaults (notebooks/runs.toml, notebook 7) are relative to the folder a command runs
    in; outside the compendium the line says where it looked, not just the default."""
    monkeypatch.chdir(tmp_path)
    assert main(["run", "framework", "--data", str(DEMO), "--build", str(tmp_path / "b")]) == 1
    assert capsys.readouterr().err == (f"compendium run: notebooks/runs.toml: no such file "
                                       f"(looked for {tmp_path / 'notebooks' / 'runs.toml'})\n")
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, dest", [
    (["export", "{data}", "--to", "{data}/project.qdpx"], "{data}/project.qdpx"),
    (["export", "{data}", "--codebook", "{data}/codes.qdc"], "{data}/codes.qdc"),
    (["validate", "{data}", "--stamp", "{data}/validated.stamp"], "{data}/validated.stamp"),
    (["synthetic-class", "--data", "{data}", "--to", "{data}/class"], "{data}/class"),
    (["class", "init", "{data}/course", "--data", "{data}"], "{data}/course"),
    (["run", "agreement", "--data", "{data}", "--build", "{data}/build"], "{data}/build"),
    (["notebook", str(ROOT / "notebooks" / "02-theme-matrix.ipynb"), "--data", "{data}",
      "--build", "{data}"], "{data}"),
    (["pseudonymise", "{data}", "--to", "{data}/pseudonymised", "--key", "{tmp}/key.csv"],
     "{data}/pseudonymised"),
], ids=["export", "export-codebook", "validate-stamp", "synthetic-class", "class-init", "run",
        "notebook", "pseudonymise"])
def test_no_command_writes_into_the_dataset_it_reads(args, dest, tmp_path: Path, capsys):
    """Raw data are never written, but `export --to DATA/x.qdpx`, `validate --stamp
    DATA/...` and others wrote into the dataset, which then failed its own validation (a
    file its descriptor does not list). Each is refused at once, naming the path."""
    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    before = sorted(p.relative_to(data) for p in data.rglob("*"))
    fill = {"{data}": str(data), "{tmp}": str(tmp_path)}
    argv = [a.replace("{data}", fill["{data}"]).replace("{tmp}", fill["{tmp}"]) for a in args]
    assert main(argv) == 1
    err = capsys.readouterr().err
    shown = dest.replace("{data}", str(data))
    assert err == (f"compendium {args[0]}: {shown}: inside the dataset {data}; raw data are "
                   "never written, so choose a path outside it\n"), err
    assert sorted(p.relative_to(data) for p in data.rglob("*")) == before
    assert validate_dataset(data, anonymity=False) == []


def test_an_argument_that_is_not_utf8_is_refused_naming_it(tmp_path: Path):
    """A name in bytes that are not UTF-8 reached the JSON and notebook writers as an
    internal error (found by `make fuzz`'s command-line target): it is one line now."""
    raw = os.fsencode(str(tmp_path)) + b"/\xff-not-utf-8"
    for argv in ([b"validate", raw], [b"pseudonymise", os.fsencode(str(DEMO)), b"--to", raw,
                                      b"--key", os.fsencode(str(tmp_path / "key.csv"))]):
        result = subprocess.run([sys.executable.encode(), b"-m", b"compendium.cli", *argv],
                                capture_output=True)
        assert result.returncode == 1
        err = result.stderr.decode("utf-8")
        assert err == (f"compendium {argv[0].decode()}: {tmp_path}/\\xff-not-utf-8: not valid "
                       "UTF-8; the compendium records every path and name as UTF-8 text, so "
                       "rename it\n"), err
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("args, expected", [
    (["synthetic", "--segments-per-interview", "99999999999999999999999"],
     "could make 1,399,999,999,999,999,999,999,986 segments; the generator makes at most "
     "20,000,000"),
    (["synthetic", "--interviews", "300000"], "--interviews 300,000 (up to 80 segments each)"),
    (["synthetic-class", "--students", "10001"], "at most 10,000 students, got 10,001"),
], ids=["segments", "interviews", "students"])
def test_generators_refuse_sizes_they_cannot_make(args, expected, tmp_path: Path, capsys):
    """A huge count reached numpy as an internal error ('lam value too large') or would
    have filled the memory: the generators name their limit instead."""
    assert main([*args, "--to", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert expected in err and "internal error" not in err, err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("path, expected", [
    ("x" * 6000, "datapackage.json: resources: path 'xxxx"),
    ("a/" * 3000 + "b.csv", "datapackage.json: resources: path 'a/a/a/"),
    ("../" + "y" * 600, "datapackage.json: resources: path '../yyyy"),
], ids=["a-name-too-long", "a-path-too-long", "outside-and-long"])
def test_a_long_resource_path_is_named_by_its_start(path: str, expected: str, demo_copy: Path):
    """A hand-edited descriptor's resource path of thousands of characters was quoted whole
    (by validation and by frictionless): each line now quotes its start, and says why."""
    descriptor = demo_copy / "datapackage.json"
    data = json.loads(descriptor.read_text(encoding="utf-8"))
    data["resources"][0]["path"] = path
    descriptor.write_text(json.dumps(data), encoding="utf-8")
    lines = [str(p) for p in validate_dataset(demo_copy, anonymity=False)]
    assert any(line.startswith(expected) for line in lines), lines
    assert all(len(line) <= 400 for line in lines), [len(line) for line in lines]


# --------------------------------------------------------------------------
# Spreadsheet formulas: data keep them, every display CSV neutralises them

FORMULAS = ["=1+2", "+SUM(A1:A2)", "-2+3", "@cmd"]


def test_formulas_in_text_are_neutralised_in_display_tables(demo_copy: Path, tmp_path: Path):
    for row, formula in zip((3, 4, 5, 6), FORMULAS, strict=True):
        edit_cell(demo_copy / "participants.csv", row, "role_in_cluster", formula)
    plant(demo_copy, 2, FORMULAS[0] + " was the sum. ", at=0)
    segments = read_csv(demo_copy / "segments.csv")
    start = int(segments.at[0, "start"]) - len(FORMULAS[0] + " was the sum. ")
    transcript = (demo_copy / "transcripts/E01.txt").read_text(encoding="utf-8")
    segments.loc[0, ["start", "text"]] = [str(start), transcript[start:int(segments.at[0, "end"])]]
    write_csv(segments, demo_copy / "segments.csv")
    freeze_dataset(demo_copy)
    ds = load_dataset(demo_copy)  # formulas are data: the dataset is valid
    assert ds.segments.at[0, "text"].startswith("=1+2")

    outputs = RunOutputs.for_dataset(tmp_path / "run", ds)
    outputs.table("tbl-profile", profile_table(ds.participants, ds.segments, ds.codings,
                                               ds.primary_coder), caption="Profile")
    outputs.table("tbl-quotes", ds.segments[["segment_id", "text"]].head(3), caption="Quotes")
    for name in ("tbl-profile.csv", "tbl-quotes.csv"):
        with open(tmp_path / "run" / name, encoding="utf-8", newline="") as handle:
            cells = [cell for row in csv.reader(handle) for cell in row]
        assert not [c for c in cells if c.startswith(("=", "+", "-", "@"))], name
    quotes = pd.read_csv(tmp_path / "run" / "tbl-quotes.csv", dtype=str)
    assert quotes.at[0, "text"].startswith("'=1+2")
    roles = pd.read_csv(tmp_path / "run" / "tbl-profile.csv", dtype=str)["Role in cluster"]
    assert {"'" + f for f in FORMULAS} <= set(roles)


def test_every_csv_writer_in_the_package_is_accounted_for():
    """Display tables are written only through tables.safe_csv. The other writers hold
    data that must round-trip exactly: the dataset's own tables, the
    pseudonymisation key and a student's coding (classroom: ids only, each checked
    against the dataset and the coder-name pattern, which starts with a letter or digit),
    and the fuzzing harness's mutated exports (throw-away inputs in a temporary folder)."""
    writers = re.compile(r"\.to_csv\(|csv\.writer\(|\.to_excel\(|DictWriter\(")
    found = {p.relative_to(ROOT / "src").as_posix()
             for p in (ROOT / "src" / "compendium").rglob("*.py")
             if writers.search(p.read_text(encoding="utf-8"))}
    assert found <= {"compendium/displays/tables.py", "compendium/dataset/core.py",
                     "compendium/dataset/pseudonymise.py", "compendium/classroom/files.py",
                     "compendium/fuzz.py", "compendium/fuzz_mutations.py"}, found


# --------------------------------------------------------------------------
# Generated malformed input: only the project's own error, never a crash

csv_text = st.lists(
    st.lists(st.text(alphabet=st.sampled_from(list('ab,"\n\r\t =+@\x00é€;\'')), max_size=12),
             max_size=6), max_size=6,
).map(lambda rows: "\n".join(",".join(r) for r in rows))
csv_bytes = st.one_of(
    st.binary(max_size=200),
    st.tuples(csv_text, st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "latin-1", "cp1252"]))
    .map(lambda t: t[0].encode(t[1], errors="replace")),
    st.tuples(st.sampled_from(["participant_id,perspective,organisation_type\n",
                               "segment_id,code_id,coder\n", ""]), csv_text)
    .map(lambda t: (t[0] + t[1]).encode("utf-8")),
)


@pytest.fixture(scope="module")
def table_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("tables")


def _outcome(read: Callable[[Path], pd.DataFrame], path: Path) -> pd.DataFrame | str:
    """The table ``read`` gives for ``path``, or its one-line message."""
    try:
        return read(path)
    except CompendiumError as err:
        return str(err)


def _assert_same_outcome(found: pd.DataFrame | str, expected: pd.DataFrame | str) -> None:
    if isinstance(expected, str):
        assert found == expected
    else:
        pd.testing.assert_frame_equal(found, expected)


@settings(max_examples=150, deadline=None)
@given(data=csv_bytes)
def test_read_table_only_raises_compendium_errors(table_dir: Path, data: bytes):
    path = table_dir / "table.csv"
    path.write_bytes(data)
    try:
        frame = read_table(path)
    except CompendiumError as err:
        assert str(err).startswith("table.csv")
    else:
        assert isinstance(frame, pd.DataFrame)


@settings(max_examples=300, deadline=None)
@given(data=st.one_of(csv_bytes, st.tuples(st.sampled_from([b"", b"\xef\xbb\xbf", b"\xff\xfe"]),
                                          csv_bytes).map(b"".join)),
       chunk=st.integers(min_value=1, max_value=9))
@example(data=b" \n\t\n", chunk=2)  # blank: the parser would give a table of no rows
@example(data=b"a\n\xc3a\xa9\n", chunk=1)  # a lead byte, ASCII, then a continuation byte
def test_a_table_read_as_it_streams_is_the_table_read_whole(table_dir: Path, data: bytes,
                                                             chunk: int):
    # read_table checks a file a chunk at a time and parses it from the disk; the
    # frame or the message must be those of reading the whole file first, also
    # when a character of several bytes spans two chunks.
    from compendium.dataset import tableio

    from .validation_plain import read_table_plain

    path = table_dir / "table.csv"
    path.write_bytes(data)

    expected = _outcome(read_table_plain, path)
    original = tableio._CHECK_CHUNK
    try:
        tableio._CHECK_CHUNK = chunk
        found = _outcome(read_table, path)
    finally:
        tableio._CHECK_CHUNK = original
    _assert_same_outcome(found, expected)


#: pandas's bounds on parsing a file in chunks on several threads (pandas >= 3.1): set low,
#: so that the small generated files above are parsed that way and their chunk edges fall
#: inside quoted texts, between the two bytes of a line break and before a bad row.
_CHUNKED_READ = {"_PARALLEL_READ_MIN_BYTES": 1, "_PARALLEL_MIN_CHUNK_ROWS": 1,
                 "_PARALLEL_CHUNK_BYTES": 8}
#: Tables of a header and many short rows, so that there are chunks to make.
chunkable_csv = st.tuples(
    st.lists(st.lists(st.text(alphabet=st.sampled_from(list('ab,"\n\r é')), max_size=6),
                      min_size=3, max_size=3), min_size=3, max_size=40),
    st.sampled_from(["\n", "\r\n"]), st.sampled_from([b"", codecs.BOM_UTF8]),
).map(lambda t: t[2] + t[1].join(["a,b,c", *(",".join(row) for row in t[0])]).encode())


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.one_of(chunkable_csv, csv_bytes), workers=st.integers(min_value=2, max_value=4))
@example(data=b'a,b\n1,"x\ny"\n2,z\n3,"p,q"\n', workers=2)
@example(data=b'a,b\r\n1,2\r\n3,4,5\r\n6,7\r\n', workers=3)
def test_a_table_parsed_in_chunks_is_the_table_read_whole(table_dir: Path, data: bytes,
                                                          workers: int, monkeypatch):
    # read_table hands pandas a path to the file it checked, which pandas parses in
    # chunks on threads; the frame or the message must be those of reading it whole.
    from pandas.io.parsers import readers

    from .validation_plain import read_table_plain

    path = table_dir / "chunked.csv"
    path.write_bytes(data)

    expected = _outcome(read_table_plain, path)
    with monkeypatch.context() as patch:
        for name, value in _CHUNKED_READ.items():
            patch.setattr(readers, name, value, raising=False)
        with pd.option_context("mode.max_threads", workers):
            found = _outcome(read_table, path)
    _assert_same_outcome(found, expected)


def test_a_large_table_is_parsed_in_chunks_as_it_is_read_whole(tmp_path: Path, monkeypatch):
    """A 10 MB segments table of quoted texts holding commas, quotes and other scripts,
    with Windows line ends and a byte-order mark, is parsed in chunks and read as when
    read whole; so is the message for a bad row far into it, and the table again when
    its texts span lines (pandas then reads it serially: a chunk may start inside one)."""
    from pandas.io.parsers import readers

    from .validation_plain import read_table_plain

    if not hasattr(readers, "_read_csv_parallel"):
        pytest.skip(f"pandas {pd.__version__} does not parse files in chunks")
    chunked = []
    parse = readers._read_csv_parallel

    def spy(*args, **kwargs):
        chunked.append(None)
        chunked[-1] = parse(*args, **kwargs)
        return chunked[-1]

    monkeypatch.setattr(readers, "_read_csv_parallel", spy)
    path = tmp_path / "segments.csv"
    header = "segment_id,participant_id,start,end,text"

    def write(texts: list[str], bad_row: int | None = None) -> None:
        quoted = ['"' + text.replace('"', '""') + '"' for text in texts]
        rows = [f"S{i:06d},I{i % 9:02d},{i * 3},{i * 3 + 2},{quoted[i % len(quoted)]}"
                + (",an extra field" if i == bad_row else "") for i in range(250_000)]
        path.write_bytes(codecs.BOM_UTF8 + "\r\n".join([header, *rows, ""]).encode())
        assert path.stat().st_size > 6 << 20  # pandas parses in chunks from 5 MB

    with pd.option_context("mode.max_threads", 2):
        write(['He said "we met, twice", then left.', "plain", "Ünïcödé – 中文, ok", ""])
        pd.testing.assert_frame_equal(read_table(path), read_table_plain(path))
        assert chunked and chunked[-1] is not None, "pandas did not parse the file in chunks"
        write(["plain", 'a "quoted" word'], bad_row=200_000)
        assert _outcome(read_table, path) == _outcome(read_table_plain, path)
        assert "line 200002" in _outcome(read_table, path)
        write(['He said "we met"\r\nthen left.', "plain", "a\r\n\r\nb, c"])
        pd.testing.assert_frame_equal(read_table(path), read_table_plain(path))


def test_a_table_whose_path_will_not_open_again_is_parsed_from_its_handle(tmp_path: Path,
                                                                          monkeypatch):
    from compendium.dataset import tableio

    parse = tableio._parse
    tried = []

    def refuse_paths(source, label):
        if isinstance(source, str):
            tried.append(source)
            raise PermissionError(13, "Permission denied", source)
        return parse(source, label)

    monkeypatch.setattr(tableio, "_parse", refuse_paths)
    path = tmp_path / "t.csv"
    path.write_text("a,b\n1,x\n", encoding="utf-8")
    assert read_table(path).to_dict("list") == {"a": ["1"], "b": ["x"]}
    assert tried or not Path("/proc/self/fd").is_dir()


@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("scratch") / "data"
    shutil.copytree(DEMO, folder)
    return folder


FILES = ["participants.csv", "codebook.csv", "segments.csv", "codings.csv", "datapackage.json",
         "transcripts/E01.txt", "interview_guide.md"]


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.sampled_from(FILES), st.floats(0, 1), st.integers(0, 40), st.binary(max_size=40))
def test_random_edits_give_problems_not_crashes(scratch: Path, name: str, where: float,
                                                cut: int, insert: bytes):
    path = scratch / name
    original = path.read_bytes()
    at = int(where * len(original))
    path.write_bytes(original[:at] + insert + original[at + cut:])
    ids = parse_identifiers(IDS)
    try:
        for check in (lambda: validate_dataset(scratch, identifiers=ids),
                      lambda: check_anonymity(scratch, ids)):
            try:
                problems = check()
            except CompendiumError:
                continue
            assert all(str(p) for p in problems)
    finally:
        path.write_bytes(original)


_ALPHABET = st.sampled_from(list("aZ09 .@+()-/:'’\n\u00a0_İßé😀")
                            + ["www.", "http://", ".co.uk", "Thornbeck", "01524 ", "LA1"])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(_ALPHABET, max_size=40).map("".join), min_size=1, max_size=5))
def test_scan_of_random_text_is_consistent(texts: list[str]):
    hits = find_identifiers(texts, parse_identifiers(IDS))
    for cell, cell_hits in hits.items():
        for hit in cell_hits:
            assert texts[cell][hit.start:hit.end] == hit.text


@pytest.mark.parametrize("unit", ["a", "0", "1.", "a.", "@", "aa@", "Thornbeck", "thornbeckx ",
                                  "+1 ", "LA1 ", "www.", "0 ", "-0"])
def test_scan_of_pathological_text_is_linear(unit: str):
    text = unit * (200_000 // len(unit))
    started = time.perf_counter()
    find_identifiers([text], parse_identifiers(IDS))
    assert time.perf_counter() - started < 5, unit
