"""Loading and validating a dataset folder: every problem found, each located."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from compendium.dataset import (
    freeze_dataset,
    load_dataset,
    validate_dataset,
    write_dataset,
)
from compendium.dataset.datapackage import TABLE_SCHEMAS
from compendium.dataset.tableio import read_table
from compendium.errors import CompendiumError, ValidationError

from .conftest import DEMO


def problem_lines(folder: Path) -> list[str]:
    return [str(p) for p in validate_dataset(folder)]


def test_demo_dataset_is_valid():
    assert problem_lines(DEMO) == []


def test_demo_dataset_loads_with_types():
    ds = load_dataset(DEMO)
    assert ds.synthetic is True
    assert ds.primary_coder == "coder_a"
    assert str(ds.segments["start"].dtype) == "Int64"
    assert set(ds.participants["perspective"]) == {"entrepreneur", "intermediary"}
    assert len(ds.hash) == 64


def _edit_csv(path: Path, row: int, column: str, value: str) -> None:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    frame.loc[row - 2, column] = value  # row numbers count the header as row 1
    frame.to_csv(path, index=False, lineterminator="\n")


def test_broken_copy_lists_each_problem_by_file_and_row(demo_copy: Path):
    _edit_csv(demo_copy / "participants.csv", 3, "participant_id", "E01")   # duplicate id
    _edit_csv(demo_copy / "participants.csv", 4, "perspective", "funder")   # not in the enum
    _edit_csv(demo_copy / "segments.csv", 5, "participant_id", "X99")       # dangling reference
    _edit_csv(demo_copy / "segments.csv", 6, "end", "3")                    # end before start
    _edit_csv(demo_copy / "segments.csv", 7, "text", "Not what was said.")  # text != transcript
    _edit_csv(demo_copy / "segments.csv", 8, "start", "twelve")             # not a number
    _edit_csv(demo_copy / "codings.csv", 9, "code_id", "MOT-NOPE")          # code not in codebook
    _edit_csv(demo_copy / "codings.csv", 10, "code_id", "MOT-BUS")          # a sub-theme applied
    lines = problem_lines(demo_copy)
    expected = [
        "participants.csv:3: participant_id: duplicate id 'E01'",
        "participants.csv:4: perspective: 'funder' is not one of entrepreneur, intermediary",
        "segments.csv:5: participant_id: 'X99' is not in participants.csv",
        "segments.csv:6: end: end 3 is not after start",
        "segments.csv:7: text: does not match transcripts/E01.txt[start:end]",
        "segments.csv:8: start: 'twelve' is not a whole number",
        "codings.csv:9: code_id: 'MOT-NOPE' is not in codebook.csv",
        "codings.csv:10: code_id: 'MOT-BUS' is a subtheme in codebook.csv",
    ]
    for prefix in expected:
        assert any(line.startswith(prefix) for line in lines), (prefix, lines)
    # The edits also changed the files after freezing: each file is named once.
    for name in ("participants.csv", "segments.csv", "codings.csv"):
        assert any(line.startswith(f"{name}: changed since the dataset was frozen")
                   for line in lines), name


def test_changed_byte_is_refused_until_frozen(demo_copy: Path):
    transcript = demo_copy / "participants.csv"
    data = transcript.read_bytes()
    transcript.write_bytes(data.replace(b"telephone", b"Telephone", 1))
    lines = problem_lines(demo_copy)
    assert lines == [f"participants.csv: changed since the dataset was frozen (sha256 differs "
                     f"from datapackage.json); if the edit was deliberate, run "
                     f"`compendium freeze {demo_copy}`"]
    assert freeze_dataset(demo_copy) == ["participants.csv"]
    assert problem_lines(demo_copy) == []


def test_missing_required_column_and_undeclared_column(demo_copy: Path):
    frame = pd.read_csv(demo_copy / "codebook.csv", dtype=str, keep_default_na=False)
    frame = frame.drop(columns=["definition"]).assign(colour="red")
    frame.to_csv(demo_copy / "codebook.csv", index=False, lineterminator="\n")
    lines = problem_lines(demo_copy)
    assert "codebook.csv: definition: required column is missing" in lines
    assert any(line.startswith("codebook.csv: colour: column not declared") for line in lines)


def test_offsets_past_end_of_transcript(demo_copy: Path):
    _edit_csv(demo_copy / "segments.csv", 2, "end", "999999")
    lines = problem_lines(demo_copy)
    assert any(line.startswith("segments.csv:2: end: 999999 is past the end of transcripts/E01.txt")
               for line in lines), lines


def test_uncoded_segment_and_dangling_coding(demo_copy: Path):
    codings = pd.read_csv(demo_copy / "codings.csv", dtype=str, keep_default_na=False)
    first = codings.loc[0, "segment_id"]
    codings = codings[codings["segment_id"] != first]
    codings.loc[len(codings) + 10] = ["E99-001", "MOT-LEADS", "coder_a"]
    codings.to_csv(demo_copy / "codings.csv", index=False, lineterminator="\n")
    lines = problem_lines(demo_copy)
    assert f"segments.csv:2: segment_id: segment '{first}' has no coding in codings.csv" in lines
    assert any(line.endswith("segment_id: 'E99-001' is not in segments.csv") for line in lines)


def test_unlisted_file_is_reported(demo_copy: Path):
    (demo_copy / "notes.txt").write_text("stray\n", encoding="utf-8")
    assert problem_lines(demo_copy) == [
        f"notes.txt: not listed in datapackage.json; run `compendium freeze {demo_copy}` to add it"]


@pytest.mark.parametrize("content, message", [
    (b"", "file is empty"),
    ("participant_id,perspective\n".encode("utf-16"), "UTF-16"),
    ("participant_id,perspective,organisation_type\nE01,entrepreneur,caf\xe9\n".encode("latin-1"),
     "not valid UTF-8"),
    (b'a,b\n1,2\n3,4,5\n', "cannot parse CSV"),
    (b'a,b\n"unterminated,2\n', "cannot parse CSV"),
])
def test_read_table_reports_unreadable_files(tmp_path: Path, content: bytes, message: str):
    path = tmp_path / "participants.csv"
    path.write_bytes(content)
    with pytest.raises(CompendiumError) as err:
        read_table(path)
    assert message in str(err.value)
    assert str(err.value).startswith("participants.csv")


def test_read_table_accepts_byte_order_mark(tmp_path: Path):
    path = tmp_path / "t.csv"
    path.write_bytes("\ufeffa,b\n1,2\n".encode("utf-8"))
    assert list(read_table(path).columns) == ["a", "b"]


def test_header_only_table_is_a_problem(demo_copy: Path):
    (demo_copy / "codings.csv").write_text("segment_id,code_id,coder\n", encoding="utf-8")
    lines = problem_lines(demo_copy)
    assert "codings.csv: has a header but no rows" in lines


def test_missing_descriptor(tmp_path: Path):
    (tmp_path / "empty").mkdir()
    assert [str(p) for p in validate_dataset(tmp_path / "empty")][0].startswith(
        "datapackage.json: missing")


def test_write_dataset_is_all_or_nothing(tmp_path: Path):
    ds = load_dataset(DEMO)
    bad = ds.participants.copy()
    bad.loc[0, "perspective"] = "nobody"
    target = tmp_path / "out"
    with pytest.raises(ValidationError):
        write_dataset(target, participants=bad, codebook=ds.codebook, segments=ds.segments,
                      codings=ds.codings, transcripts=ds.transcripts, name="x", title="x",
                      description="x", synthetic=True, primary_coder="coder_a")
    assert not target.exists()
    assert list(tmp_path.iterdir()) == []  # no staging folder left behind


def test_write_dataset_round_trips_the_demo(tmp_path: Path):
    ds = load_dataset(DEMO)
    target = write_dataset(tmp_path / "copy", participants=ds.participants,
                           codebook=ds.raw_codebook, segments=ds.segments,
                           codings=ds.raw_codings, transcripts=ds.transcripts,
                           interview_guide=ds.interview_guide, name=ds.name, title=ds.title,
                           description=ds.descriptor["description"], synthetic=True,
                           primary_coder="coder_a",
                           extra={k: ds.descriptor["compendium"][k]
                                  for k in ("design", "generator")})
    for path in DEMO.rglob("*"):
        if path.is_file():
            assert (target / path.relative_to(DEMO)).read_bytes() == path.read_bytes(), path


def test_cli_validate_reports_problems_without_traceback(demo_copy: Path):
    _edit_csv(demo_copy / "participants.csv", 2, "perspective", "funder")
    result = subprocess.run([sys.executable, "-m", "compendium.cli", "validate", str(demo_copy)],
                            capture_output=True, text=True)
    assert result.returncode == 1
    assert "participants.csv:2: perspective: 'funder' is not one of" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.strip().endswith("the dataset is not valid")


def test_cli_validate_on_missing_folder(tmp_path: Path):
    result = subprocess.run([sys.executable, "-m", "compendium.cli", "validate",
                             str(tmp_path / "nope")], capture_output=True, text=True)
    assert result.returncode == 1
    assert "not a dataset folder" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dataset_folder_that_is_not_there_is_named_with_where_it_was_looked_for(tmp_path):
    """Run outside the compendium, the default ``data/synthetic`` is not found: the line
    names that folder (not a file inside it) and the full path it was looked for at."""
    (tmp_path / "a-file").write_text("x\n", encoding="utf-8")
    for argument, expected in [
            ("data/synthetic",
             f"data/synthetic: not a dataset folder (no such directory: "
             f"{tmp_path / 'data' / 'synthetic'})"),
            ("a-file", f"a-file: not a dataset folder (not a directory: {tmp_path / 'a-file'})")]:
        result = subprocess.run([sys.executable, "-m", "compendium.cli", "validate", argument],
                                cwd=tmp_path, capture_output=True, text=True)
        assert result.returncode == 1
        assert result.stderr.splitlines()[0] == expected, result.stderr
        assert "Traceback" not in result.stderr


# --- the vectorised reference checks against their plain definitions ------------------

_IDS = st.lists(st.sampled_from(["a", "b", "E001-001", "é", " ", None]), max_size=12)


@settings(max_examples=300, deadline=None)
@given(_IDS, _IDS)
def test_one_factorisation_answers_membership_both_ways(left, right):
    # _among_each_other replaces two isin calls over a million segment ids; it must
    # say what Series.isin says in each direction, a missing id matching a missing id.
    from compendium.dataset.validation import _among_each_other

    a, b = pd.Series(left, dtype="str"), pd.Series(right, dtype="str")
    in_b, in_a = _among_each_other(a, b)
    assert in_b.tolist() == a.isin(b).tolist()
    assert in_a.tolist() == b.isin(a).tolist()


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["ab", "a", "", "b\x00a", "é"]),
                          st.sampled_from(["ab", "a", "", "b\x00a", "é", None])), max_size=8))
def test_texts_differ_from_their_slices_exactly_where_a_pairwise_comparison_says(pairs):
    # The joined comparison of _differ must agree with comparing each text with its
    # slice, also when a slice holds a NUL or a text is missing.
    from compendium.dataset.validation import _differ

    slices = [s for s, _ in pairs]
    texts = np.array([np.nan if t is None else t for _, t in pairs], dtype=object)
    assert _differ(texts, slices).tolist() == [t != s for s, t in zip(slices, texts, strict=True)]


_CELLS = st.sampled_from([None, "", " ", "\t", "a", "E1", "E1", "é", "1", "01", "0", "-1", "1.0",
                          "12", " 3", "x y", "entrepreneur", "code", "theme", "E 1"])
_DIGITS = st.sampled_from(["0", "1", "7", "12", "01", "300"])


@settings(max_examples=300, deadline=None)
@given(st.sampled_from(list(TABLE_SCHEMAS)), st.integers(min_value=1, max_value=8), st.data())
def test_field_checks_say_what_their_plain_form_says(table, n_rows, data):
    # _check_fields skips copying a column whose every cell is given; on random
    # small tables (missing, blank, odd numbers, repeats) its problems and the
    # numbers it leaves for the offsets must be those of the form that always copied.
    from compendium.dataset.validation import _check_fields, _plain_integers

    from .validation_plain import check_fields_plain

    names = [f["name"] for f in TABLE_SCHEMAS[table]["fields"]]
    # half the columns plain digits, as offsets usually are
    cells = {name: data.draw(st.sampled_from([_CELLS, _DIGITS])) for name in names}
    frame = pd.DataFrame({name: data.draw(st.lists(cells[name], min_size=n_rows,
                                                   max_size=n_rows))
                          for name in names}, dtype="str")
    fast: dict[str, np.ndarray] = {}
    plain: dict[str, np.ndarray] = {}
    expected = check_fields_plain(table, frame, plain)
    assert _check_fields(table, frame, fast) == expected
    assert fast.keys() == plain.keys()
    for name in fast:
        assert np.array_equal(fast[name], plain[name], equal_nan=True)
    # validation reads such columns once, before the field checks, and hands them in
    known = _plain_integers(table, frame)
    assert known.keys() == plain.keys()
    for name in known:
        assert np.array_equal(known[name], plain[name], equal_nan=True)
    assert _check_fields(table, frame, known=known) == expected


_NUMBER_TEXTS = st.sampled_from(["0", "1", "3", "12", " 2", "02", "x", "", "1.0", "-1", "  "])


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_NUMBER_TEXTS, _NUMBER_TEXTS), min_size=1, max_size=6))
def test_offsets_read_once_are_the_offsets_read_again(pairs):
    # _check_fields leaves start and end for _check_offsets only when it read them
    # as column_numbers would; either way the offset problems are the same.
    import tempfile

    from compendium.dataset.textcolumns import column_numbers
    from compendium.dataset.validation import _check_fields, _check_offsets

    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "transcripts").mkdir()
        (Path(folder) / "transcripts" / "P1.txt").write_text("abcdefghijkl", encoding="utf-8")
        frame = pd.DataFrame({
            "segment_id": [f"S{i}" for i in range(len(pairs))],
            "participant_id": ["P1"] * len(pairs),
            "start": [s or None for s, _ in pairs], "end": [e or None for _, e in pairs],
            "text": ["abc"] * len(pairs)}, dtype="str")
        numbers: dict[str, np.ndarray] = {}
        _check_fields("segments", frame, numbers)
        for name, parsed in numbers.items():
            assert np.array_equal(parsed, column_numbers(frame[name]), equal_nan=True)
        assert _check_offsets(Path(folder), frame, numbers) == _check_offsets(Path(folder), frame)


def test_a_json_values_kind_is_named_as_the_descriptor_checks_name_it():
    from compendium.dataset.datapackage import JSON_NAMES, json_kind_name

    assert [json_kind_name(v) for v in (True, 3, 3.5, "x", [], {}, None, object())] == [
        "true or false", "a whole number", "a number", "a text", "a list", "a JSON object",
        "null", "another value"]
    assert set(JSON_NAMES) == {"object", "array", "string", "null", "boolean", "integer",
                               "number"}  # every type JSON Schema names
