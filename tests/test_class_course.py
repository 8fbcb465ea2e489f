"""The class exercise through nbgrader's own commands, as a teacher and three students run it.

A course is made by ``compendium class init``; nbgrader then releases it to a
temporary exchange folder, three simulated students fetch it, code (through
the coding session notebook 7 uses, which saves inside the assignment) and
submit; the teacher collects, autogrades and generates feedback. One
student's saved coding is malformed: it is named and left out, and the
other two are pooled by notebook 8 and compared in each one's feedback. Each
nbgrader command runs what its console script runs, in a process of its own forked
from one that imported nbgrader once (tests/nbgrader_forks.py).
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from compendium import classroom
from compendium.classroom import course as class_course
from compendium.dataset import load_dataset

from . import nbgrader_forks
from .conftest import DEMO, NBVAL_KERNEL, ROOT

COMPENDIUM = Path(sys.executable).with_name("compendium")
ASSIGNMENT = class_course.ASSIGNMENT


def nbgrader(cwd: Path, *args: str) -> str:
    """Run one nbgrader command as its console script runs (tests/nbgrader_forks.py); fail
    the test with its output when it fails."""
    env = {k: v for k, v in class_course.nbgrader_environment().items()
           if not k.startswith("MAKE")}
    handle, name = tempfile.mkstemp(prefix="nbgrader-", suffix=".log")
    os.close(handle)
    log = Path(name)
    try:
        status = nbgrader_forks.run(cwd, list(args), env, log)
        output = log.read_text(encoding="utf-8", errors="replace")
    finally:
        log.unlink()
    assert status == 0, f"nbgrader {' '.join(args)} (exit status {status}):\n{output}"
    return output


def code_as(folder: Path, typed: dict[str, list[str]], name: str, shift: int) -> None:
    """A student's coding in both modes, saved by the sessions notebook 7 runs, inside the
    assignment: the typed codes on the segments, and the first segment's passage (its start
    moved by ``shift`` characters) marked with MOT-LEADS."""
    data = load_dataset(folder / class_course.DATA_FOLDER)
    segments = classroom.segments_to_code(data, None, 8, data.primary_coder)
    themes = classroom.codebook_by_theme(data.codebook)
    classroom.CodingSession.from_dict(segments, themes, typed, name,
                                      folder / classroom.SAVE_FOLDER)
    spans = classroom.SpanSession(classroom.transcript_to_code(data), themes, name,
                                  folder / classroom.SAVE_FOLDER)
    first = classroom.segment_positions(data, segments).iloc[0]
    spans.mark(int(first["start"]) + shift, int(first["end"]), ["MOT-LEADS"])


@pytest.fixture(scope="module")
def course_run(tmp_path_factory):
    """Run the whole exchange once: init, release, fetch, submit, collect, autograde, feedback."""
    root = tmp_path_factory.mktemp("nbgrader")
    course = root / "methods101"
    done = subprocess.run([str(COMPENDIUM), "class", "init", str(course),
                           "--data", str(DEMO)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    exchange = root / "exchange"
    exchange.mkdir()
    exchange.chmod(0o777)  # nbgrader's exchange is shared by everyone, as on a real server
    where = f"--Exchange.root={exchange}"
    nbgrader(course, "release_assignment", ASSIGNMENT, where)
    ds = load_dataset(DEMO)
    ids = [s.segment_id for s in classroom.segments_to_code(ds, None, 8, ds.primary_coder)]
    # Two students who agree on most segments and differ on the first; a third whose
    # saved file was edited by hand into something else.
    codings = {"ana": {i: ["MOT-LEADS"] for i in ids},
               "ben": {**{i: ["MOT-LEADS"] for i in ids[1:]}, ids[0]: ["MOT-PARTNERS"]}}
    homes = {student: root / "home" / student for student in ["ana", "ben", "cas"]}
    for home in homes.values():
        home.mkdir(parents=True)
    # The students work at the same time, as in a class (and the suite waits half as long).
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda home: nbgrader(home, "fetch_assignment", ASSIGNMENT, "--course",
                                            course.name, where), homes.values()))
    for student, home in homes.items():
        work = home / ASSIGNMENT
        if student in codings:
            code_as(work, codings[student], f"student_{student}", 0 if student == "ana" else 60)
        else:
            (work / classroom.SAVE_FOLDER).mkdir()
            (work / classroom.SAVE_FOLDER / "cas.csv").write_text("segment,code\nE01-001,X\n")
    with ThreadPoolExecutor(3) as pool:
        list(pool.map(lambda item: nbgrader(item[1], "submit", ASSIGNMENT, "--course",
                                            course.name, f"--student={item[0]}", where),
                      homes.items()))
    nbgrader(course, "collect", ASSIGNMENT, where)
    # The students' notebooks run in kernels forked from the test run's warm server (a
    # fresh kernel gives the same bytes: tests/test_warm_kernels.py), named as any
    # kernel is named to nbgrader's executor.
    nbgrader(course, "autograde", ASSIGNMENT, f"--ExecutePreprocessor.kernel_name={NBVAL_KERNEL}")
    nbgrader(course, "generate_feedback", ASSIGNMENT)
    return course, ids


def _text(html_file: Path) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", html_file.read_text(encoding="utf-8")).split())


def test_collected_submissions_carry_the_students_coding(course_run):
    course, _ = course_run
    for student in ["ana", "ben", "cas"]:
        saved = list((course / "submitted" / student / ASSIGNMENT / "my-coding").glob("*.csv"))
        assert len(saved) == 1, student


def test_feedback_compares_each_student_with_the_coder_and_the_class(course_run):
    course, ids = course_run
    ana = _text(course / "feedback" / "ana" / ASSIGNMENT / class_course.NOTEBOOK.replace(
        ".ipynb", ".html"))
    assert "Your coding beside" in ana and "2 valid submissions" in ana
    # ana and ben differ on the first segment only: there ana stood apart from the class
    # (ben is the whole rest of it), on both codes, and nowhere else.
    apart = ana[ana.index("Where you stood apart"):]
    assert f"{ids[0]} MOT-LEADS applied 0%" in apart
    assert f"{ids[0]} MOT-PARTNERS not applied 0%" in apart
    assert all(f"{i} MOT" not in apart for i in ids[1:])
    assert "submitted/cas" in ana  # the class left out is named
    # Span mode: ben started the passage 60 characters later; those characters are where ana
    # (who marked them) stood apart from the rest of the class.
    spans = ana[ana.index("Your own passages"):]
    assert "MOT-LEADS" in spans and "marked 0%" in spans
    cas = _text(course / "feedback" / "cas" / ASSIGNMENT / class_course.NOTEBOOK.replace(
        ".ipynb", ".html"))
    assert "could not be read" in cas and "header is 'segment,code'" in cas


def test_feedback_numbers_are_the_pooled_class(course_run):
    course, ids = course_run
    dataset, coder, view, drawn = class_course.class_of_course(course)
    assert drawn.students == ["ana", "ben"]
    fb = class_course.feedback_for(view, dataset.codings, coder, "ana")
    overall = fb.per_code.set_index("code_id").loc["overall"]
    # 8 segments x the codes in use; ana and ben disagree on 2 of those decisions.
    n = len(ids) * len(view.codes)
    assert overall["with_class_percent"] == pytest.approx(100 * (n - 2) / n)


def test_notebook_8_pools_the_course_naming_the_malformed_submission(course_run, tmp_path):
    import papermill

    course, _ = course_run
    out = tmp_path / "08.ipynb"
    papermill.execute_notebook(
        str(ROOT / "notebooks" / "08-class-agreement.ipynb"), str(out), cwd=str(tmp_path),
        parameters={"data": str(DEMO), "class_dir": str(course),
                    "output_dir": str(tmp_path / "run")},
        kernel_name=NBVAL_KERNEL, progress_bar=False)  # forked from the warm server
    text = out.read_text(encoding="utf-8")
    assert "2 students" in text
    assert "submitted/cas/coding-exercise/my-coding/cas.csv" in text


def test_class_init_refuses_an_existing_folder_and_a_bad_dataset(tmp_path, capsys):
    from compendium.cli import main

    assert main(["class", "init", str(tmp_path), "--data", str(DEMO)]) == 1
    assert "exists; choose a new folder" in capsys.readouterr().err
    course = tmp_path / "new-course"
    assert main(["class", "init", str(course), "--data", str(tmp_path / "nowhere")]) == 1
    assert "Traceback" not in capsys.readouterr().err
    assert not course.exists() and list(tmp_path.iterdir()) == []


def test_class_init_names_a_missing_or_broken_notebook_and_writes_nothing(tmp_path, capsys):
    # Run from outside the repository, the default `notebooks/07-...` is not there: one line
    # naming it (it was an internal error), and no course, staging folder or half a course.
    from compendium.cli import main

    course = tmp_path / "course"
    missing = tmp_path / "no-notebook.ipynb"
    assert main(["class", "init", str(course), "--data", str(DEMO), "--notebook",
                 str(missing)]) == 1
    assert capsys.readouterr().err == f"compendium class: {missing}: no such file\n"
    broken = tmp_path / "broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    assert main(["class", "init", str(course), "--data", str(DEMO), "--notebook",
                 str(broken)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"compendium class: {broken}: not a notebook (") and err.count("\n") == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["broken.ipynb"]
