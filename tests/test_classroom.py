"""The coding session and the class view, without a browser."""

from __future__ import annotations

import dataclasses
import math
import os
import warnings
from pathlib import Path

import pandas as pd
import pytest

from compendium import analysis, classroom
from compendium.classroom import CodingSession
from compendium.dataset import load_dataset
from compendium.errors import CompendiumError

from .conftest import DEMO


@pytest.fixture(scope="module")
def ds():
    return load_dataset(DEMO)


@pytest.fixture(scope="module")
def segments(ds):
    return classroom.segments_to_code(ds, n_segments=8)


@pytest.fixture(scope="module")
def themes(ds):
    return classroom.codebook_by_theme(ds.codebook)


def test_headless_is_read_from_the_environment():
    assert classroom.is_headless({"COMPENDIUM_HEADLESS": "1"})
    assert classroom.is_headless({"COMPENDIUM_HEADLESS": "true"})
    assert not classroom.is_headless({"COMPENDIUM_HEADLESS": "0"})
    assert not classroom.is_headless({})
    # the test suite itself runs headless, so nbval kernels never show widgets
    assert classroom.is_headless()


def test_segments_come_with_their_context(ds, segments):
    assert len(segments) == 8
    first = segments[0]
    row = ds.segments.set_index("segment_id").loc[first.segment_id]
    transcript = ds.transcripts[row["source"]]
    assert first.text == transcript[int(row["start"]):int(row["end"])]
    # the context is the transcript on each side, trimmed to about CONTEXT_CHARS
    assert first.before.lstrip("… ") in transcript[:int(row["start"])]
    assert first.after.rstrip(" …") in transcript[int(row["end"]):]
    assert 0 < len(first.after) <= classroom.CONTEXT_CHARS + 2


def test_context_falls_back_to_neighbouring_segments(ds):
    bare = dataclasses.replace(ds, transcripts={})
    segs = classroom.segments_to_code(bare, n_segments=3)
    assert segs[1].before == segs[0].text and segs[1].after == segs[2].text
    assert segs[0].before == ""


def test_codes_grouped_by_theme_in_codebook_order(ds, themes):
    codes = ds.codebook[ds.codebook["level"] == "code"]
    assert [c.code_id for t in themes for c in t.codes] == \
        codes.sort_values("theme", key=lambda s: s.map(
            {t.theme_id: i for i, t in enumerate(themes)}), kind="stable")["code_id"].tolist()
    assert all(c.definition for t in themes for c in t.codes)
    one = classroom.codebook_by_theme(ds.codebook, "outcomes")
    assert [t.theme_id for t in one] == ["outcomes"]
    with pytest.raises(CompendiumError, match="no codes under theme"):
        classroom.codebook_by_theme(ds.codebook, "nonsense")


def test_moving_and_progress(segments, themes):
    session = CodingSession(segments, themes)
    assert session.progress == "segment 1 of 8" and session.at_first
    session.previous()
    assert session.position == 0
    session.next()
    session.next()
    assert session.progress == "segment 3 of 8"
    session.go_to(99)
    assert session.at_last and session.progress == "segment 8 of 8"
    session.next()
    assert session.position == 7


def test_ticking_saves_atomically_and_resumes(tmp_path, segments, themes):
    folder = tmp_path / "my-coding"
    session = CodingSession.resume(segments, themes, "ana", folder)
    assert not session.path.exists()  # nothing saved before the first click
    code_a, code_b = themes[0].codes[0].code_id, themes[1].codes[0].code_id
    assert session.toggle(code_a) is True
    session.next()
    session.set_code(code_b, True)
    session.set_code(code_a, True)
    assert session.toggle(code_a) is False  # un-ticked again
    text = session.path.read_text(encoding="utf-8")
    assert text == (f"segment_id,code_id,coder\n{segments[0].segment_id},{code_a},ana\n"
                    f"{segments[1].segment_id},{code_b},ana\n")
    assert [p.name for p in folder.iterdir()] == ["ana.csv"]  # no temporary file left

    # a kernel restart: a new session from the same folder finds the choices
    again = CodingSession.resume(segments, themes, "ana", folder)
    assert again.choices == session.choices
    assert again.applied(code_a, segments[0].segment_id)
    assert again.n_coded == 2


def test_a_failed_write_leaves_the_previous_file(tmp_path, segments, themes, monkeypatch):
    session = CodingSession.resume(segments, themes, "ana", tmp_path)
    code = themes[0].codes[0].code_id
    session.toggle(code)
    before = session.path.read_bytes()

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError):
        session.toggle(code)
    monkeypatch.undo()
    assert session.path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["ana.csv"]


def test_resume_refuses_a_damaged_file_naming_file_and_row(tmp_path, segments, themes):
    (tmp_path / "ana.csv").write_text(
        f"segment_id,code_id,coder\n{segments[0].segment_id},NOT-A-CODE,ana\n", encoding="utf-8")
    with pytest.raises(CompendiumError, match=r"ana\.csv:2: code_id: 'NOT-A-CODE'"):
        CodingSession.resume(segments, themes, "ana", tmp_path)


def test_bad_names_and_codes_are_refused(tmp_path, segments, themes):
    with pytest.raises(CompendiumError, match="coder name"):
        CodingSession.resume(segments, themes, "../evil", tmp_path)
    session = CodingSession(segments, themes)
    with pytest.raises(CompendiumError, match="not one of the codes shown"):
        session.set_code("NOPE", True)


def test_typed_dictionary_builds_a_session(tmp_path, segments, themes):
    first, second = segments[0].segment_id, segments[1].segment_id
    code = themes[0].codes[1].code_id
    session = CodingSession.from_dict(segments, themes, {first: [code], second: code},
                                      coder="ben", folder=tmp_path)
    assert session.choices[first] == {code} and session.choices[second] == {code}
    assert (tmp_path / "ben.csv").exists()
    with pytest.raises(CompendiumError) as err:
        CodingSession.from_dict(segments, themes, {first: ["MOT-LEEDS"], "X-999": []})
    assert "'MOT-LEEDS' is not one of the codes shown" in str(err.value)
    assert "'X-999' is not one of the segments" in str(err.value)
    with pytest.raises(CompendiumError, match="dictionary"):
        CodingSession.from_dict(segments, themes, [first])


def test_agreement_uses_the_project_functions(ds, segments, themes):
    coder = ds.primary_coder
    session = CodingSession(segments, themes)
    assert session.agreement(ds, coder) is None  # nothing coded yet
    shipped = ds.codings[(ds.codings["coder"] == coder)
                         & ds.codings["segment_id"].isin([s.segment_id for s in segments])]
    for row in shipped.itertuples(index=False):
        session.set_code(row.code_id, True, row.segment_id)
    table = session.agreement(ds, coder)
    overall = table.iloc[-1]
    assert overall["code_id"] == "overall" and overall["percent_agreement"] == 100.0
    assert overall["cohen_kappa"] == pytest.approx(1.0)
    # one extra code on one segment: exactly one disagreement among the decisions
    extra = next(c.code_id for t in themes for c in t.codes
                 if not session.applied(c.code_id, segments[0].segment_id))
    session.set_code(extra, True, segments[0].segment_id)
    table = session.agreement(ds, coder)
    assert table.iloc[-1]["only_b"] == 1 and table.iloc[-1]["only_a"] == 0
    side = session.side_by_side(ds, coder)
    assert side["agree"].tolist() == [False] + [True] * 7


def test_start_session_decides_where_codes_come_from(tmp_path, ds, segments, themes):
    coder = ds.primary_coder
    headless, note = classroom.start_session(ds, segments, themes, student="you", folder=tmp_path,
                                             typed=None, coder=coder, headless=True)
    assert "Worked example" in note and headless.path is None
    assert headless.n_coded > 0
    assert not any(tmp_path.iterdir())  # a headless run writes nothing
    live, note = classroom.start_session(ds, segments, themes, student="you", folder=tmp_path,
                                         typed=None, coder=coder, headless=False)
    assert live.path == tmp_path / "you.csv" and live.n_coded == 0 and "saved to" in note
    typed, note = classroom.start_session(
        ds, segments, themes, student="you", folder=tmp_path,
        typed={segments[0].segment_id: [themes[0].codes[0].code_id]}, coder=coder,
        headless=False)
    assert typed.n_coded == 1 and "my_codes" in note


# --- the class view ------------------------------------------------------------------


def _write(folder: Path, name: str, rows: list[tuple[str, str, str]]) -> None:
    text = "segment_id,code_id,coder\n" + "".join(f"{s},{c},{k}\n" for s, c, k in rows)
    (folder / name).write_text(text, encoding="utf-8")


def test_load_class_skips_a_malformed_file_naming_it(tmp_path, segments, themes):
    ids = [s.segment_id for s in segments]
    codes = [c.code_id for t in themes for c in t.codes]
    _write(tmp_path, "s1.csv", [(ids[0], codes[0], "s1")])
    _write(tmp_path, "s2.csv", [(ids[0], codes[0], "s2"), (ids[1], codes[1], "s2")])
    _write(tmp_path, "s3.csv", [])  # coded nothing: valid, counts as all "no"
    _write(tmp_path, "bad.csv", [(ids[0], codes[0], "bad"), ("E99-001", codes[0], "bad")])
    (tmp_path / "notes.txt").write_text("not a CSV; ignored", encoding="utf-8")
    with pytest.warns(classroom.StudentFileSkipped, match=r"bad\.csv: skipped"):
        loaded = classroom.load_class(tmp_path, ids, codes)
    assert loaded.students == ["s1", "s2", "s3"]
    assert loaded.skipped == ["bad.csv"]
    assert [str(p) for p in loaded.problems] == [
        "bad.csv:3: segment_id: 'E99-001' is not one of the segments to code"]
    assert len(loaded.codings) == 3


@pytest.mark.parametrize("text, expected", [
    ("segment,code,coder\n", "bad.csv:1: header is"),
    ("segment_id,code_id,coder\nE01-001,MOT-LEADS\n", "bad.csv:2: 2 cells; expected 3"),
    ("segment_id,code_id,coder\nE01-001,MOT-LEADS,a\nE01-002,MOT-LEADS,b\n",
     "bad.csv: coder: names 2 coders"),
    ("segment_id,code_id,coder\nE01-001,MOT-LEADS,a\nE01-001,MOT-LEADS,a\n",
     "bad.csv:3: repeats an earlier row"),
    ("", "bad.csv: empty file"),
    # a lone CR ends a line, as a spreadsheet may write it (it was a csv.Error: internal)
    ("segment_id,code_id,coder\nE01-001,MOT\rLEADS,a\n", "bad.csv:2: 2 cells; expected 3"),
    # a huge cell is quoted by its start (the message was the whole cell)
    ("segment_id,code_id,coder\nE01-001," + "x" * 200_000 + ",a\n",
     "bad.csv:2: code_id: 'xxxxxxxx"),
])
def test_student_csv_problems_name_file_and_row(tmp_path, segments, themes, text, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(text.encode("utf-8"))
    codings, problems = classroom.read_student_csv(
        path, [s.segment_id for s in segments], [c.code_id for t in themes for c in t.codes])
    assert codings.empty
    assert str(problems[0]).startswith(expected), problems
    assert len(str(problems[0])) < 200


def test_a_student_csv_the_csv_module_refuses_is_a_problem(tmp_path, segments, themes):
    import csv

    path = tmp_path / "bad.csv"
    path.write_text("segment_id,code_id,coder\nE01-001," + "x" * 2000 + ",a\n", encoding="utf-8")
    limit = csv.field_size_limit(1000)  # the module's own limit on a field, lowered
    try:
        codings, problems = classroom.read_student_csv(
            path, [s.segment_id for s in segments], [c.code_id for t in themes for c in t.codes])
    finally:
        csv.field_size_limit(limit)
    assert codings.empty
    assert [str(p) for p in problems] == [
        "bad.csv: cannot parse CSV (field larger than field limit (1000))"]


def test_a_named_pipe_handed_in_as_a_csv_is_refused_not_read(tmp_path, segments, themes):
    # Read as a file, a named pipe waits for a writer that never comes: the whole class
    # report would hang on one odd hand-in. Each reader names it and goes on.
    import threading

    from compendium.classroom.files import read_span_csv

    def within_30_s(read, *args):
        # in a daemon thread, so that a reader that does wait fails the test, not the run
        result = []
        reader = threading.Thread(target=lambda: result.append(read(*args)), daemon=True)
        reader.start()
        reader.join(timeout=30)
        assert result, f"{read.__name__} waited on the named pipe"
        return result[0]

    os.mkfifo(tmp_path / "pipe.csv")
    codings = within_30_s(classroom.read_student_csv, tmp_path / "pipe.csv",
                          [s.segment_id for s in segments],
                          [c.code_id for t in themes for c in t.codes])
    spans = within_30_s(read_span_csv, tmp_path / "pipe.csv", {"E01.txt": 10}, ["MOT-LEADS"])
    for frame, problems in (codings, spans):
        assert frame.empty
        assert [str(p) for p in problems] == ["pipe.csv: is a named pipe, not a file"]


def test_two_files_for_one_student_are_both_skipped(tmp_path, segments, themes):
    ids, codes = [segments[0].segment_id], [themes[0].codes[0].code_id]
    _write(tmp_path, "a.csv", [(ids[0], codes[0], "sam")])
    _write(tmp_path, "b.csv", [(ids[0], codes[0], "sam")])
    _write(tmp_path, "c.csv", [(ids[0], codes[0], "kim")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", classroom.StudentFileSkipped)
        loaded = classroom.load_class(tmp_path, ids, codes)
    assert loaded.students == ["kim"] and loaded.skipped == ["a.csv", "b.csv"]


def _toy_class():
    codings = pd.DataFrame(
        [("u1", "A", "s1"), ("u1", "A", "s2"), ("u1", "A", "s3"), ("u1", "A", "s4"),
         ("u2", "A", "s1"), ("u2", "A", "s2"), ("u2", "B", "s3")],
        columns=["segment_id", "code_id", "coder"])
    return classroom.class_decisions(codings, ["u1", "u2"], ["A", "B"], ["s1", "s2", "s3", "s4"])


def test_contested_pairs_most_contested_first():
    segs = [classroom.Segment("u1", "one"), classroom.Segment("u2", "two")]
    table = classroom.contested_pairs(_toy_class(), segs)
    assert table[["segment_id", "code_id", "applied", "students"]].values.tolist() == [
        ["u2", "A", 2, 4], ["u2", "B", 1, 4], ["u1", "A", 4, 4]]
    assert table["contested"].tolist() == [1.0, 0.5, 0.0]
    assert table["text"].tolist() == ["two", "two", "one"]


def test_student_vs_coder_and_pairwise_kappa():
    decisions = _toy_class()
    shipped = pd.DataFrame([("u1", "A", "ref"), ("u2", "A", "ref")],
                           columns=["segment_id", "code_id", "coder"])
    table = classroom.student_vs_coder(decisions, shipped, "ref")
    assert table["student"].tolist() == ["s1", "s2", "s3", "s4"]
    assert table["percent_agreement"].tolist() == [100.0, 100.0, 50.0, 75.0]
    assert table.loc[0, "cohen_kappa"] == pytest.approx(1.0)
    # s3: a=[1,0,1,0] (u1A,u1B,u2A,u2B) vs b=[1,0,0,1]: kappa from the 2x2 table
    expected = analysis.cohen_kappa_from_counts([1], [1], [1], [1])[0]
    assert table.loc[2, "cohen_kappa"] == pytest.approx(expected)
    pair = classroom.pairwise_kappa(decisions)
    assert pair.loc["s1", "s2"] == pytest.approx(1.0)
    assert pair.loc["s1", "s3"] == pytest.approx(pair.loc["s3", "s1"])
    assert pair.loc["s1", "s3"] == pytest.approx(expected)


def test_class_agreement_pools_codes():
    table = classroom.class_agreement(_toy_class())
    assert table["code_id"].tolist() == ["A", "B", "overall"]
    assert table.iloc[-1]["n_units"] == 4 and table.iloc[-1]["n_coders"] == 4
    assert not math.isnan(table.iloc[-1]["fleiss_kappa"])


def test_agreement_so_far_covers_only_the_segments_reached(ds, segments, themes):
    coder = ds.primary_coder
    session = CodingSession(segments, themes)
    first = segments[0].segment_id
    shipped = ds.codings[(ds.codings["coder"] == coder) & (ds.codings["segment_id"] == first)]
    for code in shipped["code_id"]:
        session.set_code(code, True)
    table = session.agreement(ds, coder)
    # only segment 1 reached: its decisions all agree, the unread segments do not count
    assert table.iloc[-1]["percent_agreement"] == 100.0
    assert table.iloc[-1]["n_units"] == len(table.iloc[:-1])
    assert "1 segment(s) you have reached (of 8)" in session.agreement_scope
    session.next()
    assert session.reached == 1
    session.previous()
    assert session.reached == 1  # going back keeps what was reached


def test_segments_are_the_compared_coders_and_the_example_follows_the_text():
    """With coders who mark their own spans, a student codes the compared coder's segments,
    and the worked example carries the other coder's codes over by shared text."""
    from compendium.dataset import load_dataset

    ds = load_dataset(DEMO)
    segments = classroom.segments_to_code(ds, "E01", 8, "coder_a")
    ids = [s.segment_id for s in segments]
    coded_by_a = set(ds.codings.loc[ds.codings["coder"] == "coder_a", "segment_id"])
    assert set(ids) <= coded_by_a
    example = classroom.codes_on_segments(ds, ids, "coder_b")
    assert set(example["segment_id"]) <= set(ids) and len(example) > 0
    # every carried code sits on text that coder_b coded with it and that overlaps the segment
    segs = ds.segments.set_index("segment_id")
    theirs = ds.codings[ds.codings["coder"] == "coder_b"].merge(ds.segments, on="segment_id")
    for row in example.itertuples(index=False):
        mine = segs.loc[row.segment_id]
        same = theirs[(theirs["code_id"] == row.code_id) & (theirs["start"] < mine["end"])
                      & (theirs["end"] > mine["start"])
                      & (theirs["participant_id"] == mine["participant_id"])]
        assert not same.empty, row


# --- an nbgrader course's collected submissions --------------------------------------


def test_load_class_reads_nbgrader_submissions_by_student(tmp_path, segments, themes):
    """``submitted/<student>/<assignment>/my-coding/*.csv``: the student is nbgrader's id,
    whatever name was typed; a submission without its coding, or with two, is named."""
    ids = [s.segment_id for s in segments]
    codes = [c.code_id for t in themes for c in t.codes]
    for student, typed in [("ana", "you"), ("ben", "you"), ("cas", None), ("dan", "x")]:
        folder = tmp_path / "submitted" / student / "coding-exercise" / "my-coding"
        folder.mkdir(parents=True)
        if typed:
            _write(folder, f"{typed}.csv", [(ids[0], codes[0], typed)])
        if student == "dan":
            _write(folder, "y.csv", [(ids[0], codes[0], "y")])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", classroom.StudentFileSkipped)
        loaded = classroom.load_class(tmp_path, ids, codes)
    assert loaded.students == ["ana", "ben"]
    assert set(loaded.codings["coder"]) == {"ana", "ben"}
    assert [str(p) for p in loaded.problems] == [
        "submitted/cas/coding-exercise: no my-coding/*.csv: the coding was not saved in the "
        "submission",
        "submitted/dan/coding-exercise: 2 codings in my-coding/ (x.csv, y.csv); expected one"]


# --- span mode -----------------------------------------------------------------------


def test_span_session_marks_saves_and_resumes(tmp_path, ds, themes):
    transcript = classroom.transcript_to_code(ds)
    session = classroom.SpanSession.resume(transcript, themes, "kim", tmp_path)
    assert session.spans == []
    session.mark(10, 40, ["MOT-LEADS", "OUT-TIME"])
    session.mark(10, 40, ["MOT-LEADS"])  # already marked: no second row
    assert session.path == tmp_path / "spans" / "kim.csv"
    lines = session.path.read_text(encoding="utf-8").splitlines()
    assert lines == ["source,start,end,code_id,coder",
                     f"{transcript.source},10,40,MOT-LEADS,kim",
                     f"{transcript.source},10,40,OUT-TIME,kim"]
    again = classroom.SpanSession.resume(transcript, themes, "kim", tmp_path)
    assert again.spans == [(10, 40, "MOT-LEADS"), (10, 40, "OUT-TIME")]
    assert again.table()["text"].iloc[0] == transcript.text[10:40]
    again.unmark(10, 40, "OUT-TIME")
    assert len(session.path.read_text().splitlines()) == 2
    for bad, match in [((40, 10, ["MOT-LEADS"]), "not a passage"), ((0, 5, []), "at least one"),
                       ((0, 5, ["NOPE"]), "not among the codes")]:
        with pytest.raises(CompendiumError, match=match):
            again.mark(*bad)


@pytest.mark.parametrize("text, expected", [
    ("source,start,end\n", "kim.csv:1: header is"),
    ("source,start,end,code_id,coder\nSRC,5,2,MOT-LEADS,kim\n", "kim.csv:2: start: 5-2"),
    ("source,start,end,code_id,coder\nother.txt,0,2,MOT-LEADS,kim\n", "kim.csv:2: source:"),
    ("source,start,end,code_id,coder\nSRC,0,2,NOPE,kim\n", "kim.csv:2: code_id: 'NOPE'"),
    ("source,start,end,code_id,coder\nSRC,0,2,MOT\rLEADS,kim\n", "kim.csv:2: 4 cells"),
])
def test_span_csv_problems_name_file_and_row(tmp_path, ds, themes, text, expected):
    transcript = classroom.transcript_to_code(ds)
    (tmp_path / "spans").mkdir()
    (tmp_path / "spans" / "kim.csv").write_text(text.replace("SRC", transcript.source))
    with pytest.warns(classroom.StudentFileSkipped):
        loaded = classroom.load_class_spans(tmp_path, transcript, themes)
    assert loaded.students == [] and str(loaded.problems[0]).startswith("spans/" + expected)


def test_class_span_agreement_levels_on_a_class_that_agrees(tmp_path, ds, segments, themes):
    """Students who mark exactly the coder's segments with the coder's codes agree perfectly
    at every level; the coverage is the whole class on those segments."""
    transcript = classroom.transcript_to_code(ds)
    positions = classroom.segment_positions(ds, segments)
    shipped = ds.codings[(ds.codings["coder"] == ds.primary_coder)
                         & ds.codings["segment_id"].isin(positions["segment_id"])]
    for student in ["s1", "s2", "s3"]:
        session = classroom.SpanSession(transcript, themes, student, tmp_path)
        for row in positions.merge(shipped, on="segment_id").itertuples(index=False):
            session.mark(row.start, row.end, [row.code_id])
    loaded = classroom.load_class_spans(tmp_path, transcript, themes)
    table = classroom.class_span_agreement(loaded, positions).set_index("code_id")
    assert loaded.students == ["s1", "s2", "s3"]
    for column in ["segment_kappa", "char_fleiss", "char_conger", "char_alpha", "u_alpha_c"]:
        assert table.loc["overall", column] == pytest.approx(1.0), column
    assert (table.drop(index="overall")["u_alpha_binary"] == 1).all()
    assert table.loc["overall", "char_percent"] == pytest.approx(100.0)
    coverage = classroom.class_coverage(loaded)
    inside = coverage[coverage["start"] >= int(positions["start"].min())]
    assert set(coverage["students"]) == {0, 3} and not inside.empty


def test_a_passage_leaves_out_spaces_at_its_ends(themes):
    transcript = classroom.Transcript("t.txt", "We went.\n  It helped a lot.  \nDone.")
    session = classroom.SpanSession(transcript, themes, "kim")
    session.mark(8, 29, ["MOT-LEADS"])  # dragged from the line break past the last space
    ((start, end, _),) = session.spans
    assert transcript.text[start:end] == "It helped a lot."
    with pytest.raises(CompendiumError, match="select some text"):
        session.mark(8, 11, ["MOT-LEADS"])  # only a line break and spaces
