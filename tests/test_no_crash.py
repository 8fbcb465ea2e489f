"""Regression tests for the internal errors and hangs a fuzzing campaign found (issue 18).

Each test rebuilds one signature of the campaign's table: the input that
raised an exception other than a ``CompendiumError`` (or made ``validate`` wait
for ever) now gives one line naming the file, through the library and through
the command line, which exits 1 without a traceback.
"""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.cli import main
from compendium.dataset import validate_dataset
from compendium.errors import CompendiumError
from compendium.qda.importer import read_export
from compendium.qda.refi import read_codes
from compendium.qda.safety import parse_xml
from compendium.userfile import json_depth, read_bytes

from .conftest import DEMO
from .qda_helpers import code, codebook, project_xml, text_source, write_qdpx


@pytest.fixture
def alarm():
    """Fail a test that waits longer than 10 s instead of hanging the suite."""
    def expire(signum, frame):
        raise AssertionError("timed out: the read waited (a named pipe?)")
    previous = signal.signal(signal.SIGALRM, expire)
    signal.alarm(10)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, previous)


def _one_line_refusal(argv: list[str], capsys) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "internal error" not in err and "Traceback" not in err, err
    return err


# --------------------------------------------------------------------------
# Imports


def test_corrupt_deflate_stream_in_the_project_member(tmp_path: Path, capsys):
    """``zlib.error`` from ``SafeArchive.read``."""
    qde = project_xml(codebook(code(1, "A"))).encode() * 50
    path = write_qdpx(tmp_path / "p.qdpx", qde)
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("project.qde")
    body = info.header_offset + 30 + len(info.filename)
    for offset in range(body + 2, body + min(info.compress_size, 40)):
        data[offset] ^= 0xFF  # scramble the deflate stream, not the headers
    path.write_bytes(bytes(data))
    with pytest.raises(zlib.error):  # the corruption is of the kind the campaign found
        with zipfile.ZipFile(path) as archive:
            archive.read("project.qde")
    with pytest.raises(CompendiumError, match=r"p\.qdpx: member 'project\.qde' cannot be read"):
        read_export(path)
    _one_line_refusal(["import", str(path), "--to", str(tmp_path / "out")], capsys)
    assert not (tmp_path / "out").exists()


def test_utf16_csv_with_an_odd_number_of_bytes(tmp_path: Path, capsys):
    """``UnicodeDecodeError`` from ``csv_formats.read_rows``."""
    path = tmp_path / "highlights.csv"
    path.write_bytes("id,document,tag,content\n1,a,t,x\n".encode("utf-16") + b"\x00")
    with pytest.raises(CompendiumError, match=r"highlights\.csv: not valid UTF-16 text"):
        read_export(path)
    _one_line_refusal(["import", str(path), "--to", str(tmp_path / "out")], capsys)


def test_xml_declaring_an_unknown_encoding(tmp_path: Path, capsys):
    """``LookupError`` from ``safety.parse_xml``."""
    xml = project_xml("").replace('encoding="utf-8"', 'encoding="no-such-encoding"')
    with pytest.raises(CompendiumError, match="cannot decode the XML"):
        parse_xml(xml.encode(), "project.qde")
    path = write_qdpx(tmp_path / "p.qdpx", xml)
    _one_line_refusal(["import", str(path), "--to", str(tmp_path / "out")], capsys)


def test_codes_nested_a_thousand_deep(tmp_path: Path, capsys):
    """``RecursionError`` from ``refi.read_codes``: the walk is iterative now."""
    inner = ""
    for n in range(1000, 0, -1):
        inner = code(n, f"level {n}", inner)
    root = parse_xml(project_xml(codebook(inner)).encode(), "deep.qde")
    codes = read_codes(root, "deep.qde")
    assert len(codes) == 1000
    assert codes[0].parent is None and codes[-1].parent == codes[-2].key
    path = write_qdpx(tmp_path / "deep.qdpx", project_xml(
        codebook(inner) + f"<Sources>{text_source(2000, 'a', 'internal://a.txt')}</Sources>"),
        {"sources/a.txt": "some text"})
    attrs = tmp_path / "people.csv"
    attrs.write_text("participant_id,perspective\na,entrepreneur\n", encoding="utf-8")
    # no coding on any code: refused in one line, no traceback
    _one_line_refusal(["import", str(path), "--to", str(tmp_path / "ds"), "--participants",
                       str(attrs)], capsys)
    # with one coding on the deepest code the project imports, exports and imports again
    deepest = (f'<PlainTextSelection guid="{"f" * 32}" startPosition="0" endPosition="4">'
               f'<Coding guid="{"e" * 32}"><CodeRef targetGUID="{codes[-1].key}"/></Coding>'
               "</PlainTextSelection>")
    path = write_qdpx(tmp_path / "deep2.qdpx", project_xml(
        codebook(inner) + "<Sources>" + text_source(2000, "a", "internal://a.txt", deepest)
        + "</Sources>"), {"sources/a.txt": "some text"})
    assert main(["import", str(path), "--to", str(tmp_path / "ds"), "--participants",
                 str(attrs)]) == 0
    assert main(["export", str(tmp_path / "ds"), "--to", str(tmp_path / "again.qdpx")]) == 0
    again = read_export(tmp_path / "again.qdpx")
    assert len(again.codes) >= 1000


# --------------------------------------------------------------------------
# Validation


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return Path(shutil.copytree(DEMO, tmp_path / "data"))


def _problems(folder: Path) -> list[str]:
    return [str(p) for p in validate_dataset(folder, anonymity=False)]


def test_descriptor_is_a_folder(dataset: Path, capsys):
    (dataset / "datapackage.json").unlink()
    (dataset / "datapackage.json").mkdir()
    assert any("is a folder, not a file" in p for p in _problems(dataset))
    _one_line_refusal(["validate", str(dataset)], capsys)


def test_descriptor_nested_a_thousand_deep(dataset: Path, capsys):
    (dataset / "datapackage.json").write_text("[" * 1000 + "]" * 1000)
    assert json_depth(b'{"a": "[[[[", "b": [[1]]}') == 3  # brackets in strings do not count
    assert any("nested 1000 levels deep" in p for p in _problems(dataset))
    _one_line_refusal(["validate", str(dataset)], capsys)


def _nesting(value) -> int:
    """The depth of a parsed JSON value, counted the obvious (recursive) way."""
    if isinstance(value, dict):
        return 1 + max(map(_nesting, value.values()), default=0)
    if isinstance(value, list):
        return 1 + max(map(_nesting, value), default=0)
    return 0


# Strings full of brackets and quotes, so that only the brackets outside them may count.
_JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(alphabet='[]{}"\\ab,:'),
    lambda inner: st.lists(inner, max_size=4)
    | st.dictionaries(st.text(alphabet='[]{}"\\ab', max_size=4), inner, max_size=4),
    max_leaves=30)


@settings(max_examples=200, deadline=None)
@given(_JSON_VALUES, st.booleans())
def test_json_depth_agrees_with_the_parsed_value(value, indent):
    text = json.dumps(value, indent=1 if indent else None, ensure_ascii=False)
    assert json_depth(text.encode("utf-8")) == _nesting(json.loads(text))


def test_table_path_is_a_folder(dataset: Path, capsys):
    (dataset / "segments.csv").unlink()
    (dataset / "segments.csv").mkdir()
    assert "segments.csv: is a folder, not a file" in _problems(dataset)
    _one_line_refusal(["validate", str(dataset)], capsys)


def _edit_descriptor(folder: Path, edit) -> None:
    path = folder / "datapackage.json"
    descriptor = json.loads(path.read_text())
    edit(descriptor)
    path.write_text(json.dumps(descriptor))


def test_resource_path_is_a_list(dataset: Path, capsys):
    """``TypeError`` from ``dataset._check_descriptor``: the schema check comes first."""
    _edit_descriptor(dataset, lambda d: d["resources"][0].__setitem__("path", ["a", "b"]))
    assert "datapackage.json: resources.0.path: must be a text" in _problems(dataset)
    _one_line_refusal(["validate", str(dataset)], capsys)


def test_compendium_block_is_a_list(dataset: Path, capsys):
    """``AttributeError`` from ``dataset._check_coders``."""
    _edit_descriptor(dataset, lambda d: d.__setitem__("compendium", ["synthetic"]))
    assert "datapackage.json: compendium: must be a JSON object" in _problems(dataset)
    _one_line_refusal(["validate", str(dataset)], capsys)


def test_table_is_a_symlink_to_itself(dataset: Path, capsys):
    """``RuntimeError`` from ``tableio.is_inside`` (Python 3.11's ``resolve`` on a loop)."""
    (dataset / "codings.csv").unlink()
    os.symlink("codings.csv", dataset / "codings.csv")
    problems = _problems(dataset)
    assert any(p.startswith("codings.csv: cannot be read") for p in problems), problems
    _one_line_refusal(["validate", str(dataset)], capsys)


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes need a POSIX system")
def test_table_is_a_named_pipe(dataset: Path, capsys, alarm):
    """``validate`` waited for ever on a FIFO; now it says what the path is."""
    (dataset / "codebook.csv").unlink()
    os.mkfifo(dataset / "codebook.csv")
    assert "codebook.csv: is a named pipe, not a file" in _problems(dataset)
    _one_line_refusal(["validate", str(dataset)], capsys)
    with pytest.raises(CompendiumError, match="is a named pipe"):
        read_bytes(dataset / "codebook.csv")


# --------------------------------------------------------------------------
# Silent losses: rows merged that disagree, elements skipped without a word


def test_taguette_rows_reusing_an_id_are_not_merged(tmp_path: Path):
    """Two exports concatenated: id 1 names two documents; both highlights survive apart."""
    path = tmp_path / "highlights.csv"
    path.write_text("id,document,tag,content\n"
                    "1,Interview Ann,motives.leads,We go to find customers.\n"
                    "1,Interview Ann,motives.peers,We go to find customers.\n"
                    "1,Interview Bob,outcomes,Nothing came of it.\n", encoding="utf-8")
    project = read_export(path)
    by_text = {s.text: (s.source, sorted(c.code for c in s.codings)) for s in project.selections}
    assert by_text == {
        "We go to find customers.": ("doc:Interview Ann", ["tag:motives\x1fleads",
                                                            "tag:motives\x1fpeers"]),
        "Nothing came of it.": ("doc:Interview Bob", ["tag:outcomes"])}
    assert any("reuse the id of an earlier highlight" in w and "row 4 (first at row 2)" in w
               for w in project.warnings), project.warnings
    attrs = tmp_path / "people.csv"
    attrs.write_text("participant_id,perspective\nInterview Ann,entrepreneur\n"
                     "Interview Bob,intermediary\n", encoding="utf-8")
    assert main(["import", str(path), "--to", str(tmp_path / "ds"), "--participants",
                 str(attrs)]) == 0
    with open(tmp_path / "ds" / "segments.csv", encoding="utf-8", newline="") as handle:
        owners = {row["text"]: row["participant_id"] for row in csv.DictReader(handle)}
    assert owners == {"We go to find customers.": "Interview-Ann",
                      "Nothing came of it.": "Interview-Bob"}


def test_refi_elements_out_of_place_are_named_with_their_line(tmp_path: Path):
    """A PlainTextSelection under another selection, a Coding under the Sources element."""
    from .qda_helpers import guid, selection

    inner = selection(11, 0, 4, (1, 900))
    outer = selection(10, 5, 9, (1, 900)).replace("</PlainTextSelection>",
                                                  inner + "</PlainTextSelection>")
    stray_coding = (f'<Coding guid="{guid(77)}" creatingUser="{guid(900)}">'
                    f'<CodeRef targetGUID="{guid(1)}"/></Coding>')
    xml = project_xml(codebook(code(1, "A")) + "<Sources>\n"
                      + text_source(2, "a", "internal://a.txt", outer) + "\n"
                      + stray_coding + "\n</Sources>")
    path = write_qdpx(tmp_path / "p.qdpx", xml, {"sources/a.txt": "some text here"})
    project = read_export(path)
    assert sum(len(s.codings) for s in project.selections) == 1
    assert project.skipped_codings == 2
    stray = [w for w in project.warnings if w.startswith("skipped <")]
    assert len(stray) == 2, project.warnings
    assert any(f"<PlainTextSelection> {guid(11)} at line 3" in w for w in stray), stray
    assert any(f"<Coding> {guid(77)} at line 4" in w for w in stray), stray


def test_descriptor_shape_check_agrees_with_jsonschema():
    """The descriptor's shape check against the jsonschema library's verdicts (a second
    implementation) on the demo descriptor and on every key given a value of each JSON type."""
    from jsonschema import Draft202012Validator

    from compendium.dataset.datapackage import DESCRIPTOR_SCHEMA, descriptor_shape_problems

    judge = Draft202012Validator(DESCRIPTOR_SCHEMA)
    demo = json.loads((DEMO / "datapackage.json").read_text(encoding="utf-8"))
    assert descriptor_shape_problems(demo) == [] and judge.is_valid(demo)
    places = [[], ["name"], ["compendium"], ["compendium", "primary_coder"],
              ["compendium", "design"], ["resources"], ["resources", 0],
              ["resources", 0, "path"], ["resources", 0, "hash"], ["resources", 0, "schema"],
              ["resources", 0, "schema", "fields"], ["resources", 0, "schema", "fields", 0],
              ["resources", 0, "schema", "fields", 0, "name"], ["licenses", 0]]
    for place in places:
        for value in ({}, [], "x", 1, 1.5, True, None, [["a"]]):
            changed = json.loads(json.dumps(demo))
            if place:
                holder = changed
                for step in place[:-1]:
                    holder = holder[step]
                holder[place[-1]] = value
            else:
                changed = value
            ours = descriptor_shape_problems(changed)
            theirs = sorted(".".join(map(str, e.absolute_path)) or "(top level)"
                            for e in judge.iter_errors(changed))
            assert sorted(where for where, _ in ours) == theirs, (place, value, ours)


def test_class_exercise_skips_an_uncoded_interview(dataset: Path):
    """With one coder, the exercise took the first participant, who may have no segments."""
    import pandas as pd

    from compendium.classroom import segments_to_code
    from compendium.dataset import freeze_dataset, load_dataset

    def table(name: str) -> pd.DataFrame:
        return pd.read_csv(dataset / f"{name}.csv", dtype=str, keep_default_na=False)

    def save(name: str, frame: pd.DataFrame) -> None:
        frame.to_csv(dataset / f"{name}.csv", index=False, lineterminator="\n")

    people, codings, segments = table("participants"), table("codings"), table("segments")
    codings = codings[codings["coder"] == "coder_a"]  # one coder: no double coding to follow
    save("codings", codings)
    save("segments", segments[segments["segment_id"].isin(codings["segment_id"])])
    save("participants", pd.concat([people.iloc[[0]].assign(participant_id="A00"), people]))
    freeze_dataset(dataset)
    ds = load_dataset(dataset, anonymity=False)
    segments = segments_to_code(ds)
    first = ds.segments.loc[ds.segments["segment_id"] == segments[0].segment_id,
                            "participant_id"].iloc[0]
    assert first != "A00"
    with pytest.raises(CompendiumError, match="participant 'A00' has no segments"):
        segments_to_code(ds, "A00")


def test_an_unknown_paper_step_is_one_line_before_any_step_runs(tmp_path: Path, capfd):
    # argparse's own refusal was a usage block and exit status 2; a known step given first
    # must not run either (the build folder stays unmade). capfd: under the test run's run
    # server the command goes on in a forked child, which writes to this process's stderr.
    from compendium.cli import main

    build = tmp_path / "build"
    assert main(["paper", "values", "bogus", "--data", str(tmp_path), "--build", str(build)]) == 1
    err = capfd.readouterr().err
    assert err.startswith("compendium paper: unknown build step 'bogus'; the steps are values,")
    assert err.count("\n") == 1 and not build.exists()


# --------------------------------------------------------------------------
# The class exercise's folder (found when `make fuzz` gained the class as a target)


@pytest.mark.parametrize("content, expected", [
    (b"\xef\xbb\xbf{", "not valid JSON"),           # a BOM, then cut short
    ("{}".encode("utf-16"), None),                  # UTF-16 with its BOM: read as it is
    (b'{"dataset": "demo"}', "dataset: must be an object"),
    (b"[1, 2]", "must hold a JSON object"),
    (b'{"synthetic": "yes"}', "synthetic: must be true or false"),
    ("pipe", "is a named pipe, not a file"),
])
def test_a_class_json_that_is_not_the_class_record_is_one_line(tmp_path: Path, alarm,
                                                               content, expected):
    """class.json says whether a class is synthetic and what it coded: read with the json
    module it was an internal error when damaged and a wait for ever when a named pipe."""
    from compendium.classroom.synthetic_class import METADATA_FILE, class_metadata

    path = tmp_path / METADATA_FILE
    if content == "pipe":
        os.mkfifo(path)
    else:
        path.write_bytes(content)
    if expected is None:
        assert class_metadata(tmp_path) == {}
        return
    with pytest.raises(CompendiumError) as raised:
        class_metadata(tmp_path)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and expected in message and "\n" not in message
