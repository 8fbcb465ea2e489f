"""The class exercise as an nbgrader course: the course folder, and each student's feedback.

``compendium class init COURSE_DIR`` (``make class``) writes an nbgrader
course whose one assignment is the coding exercise: notebook 7, its
parameters pointed at a copy of the dataset inside the assignment, so that
what a student fetches runs on its own and what they submit carries their
coding (``my-coding/<name>.csv`` sits beside the notebook, inside the
submission). The teacher then uses nbgrader's own commands: release, collect,
autograde, generate and release feedback.

Feedback is added by :class:`ClassFeedback`, a preprocessor the course's
``nbgrader_config.py`` puts into ``nbgrader generate_feedback``: to each
student's feedback it appends their agreement with the shipped coder and with
the rest of the class, code by code, and the passages where they decided
otherwise than most of the class. The class is read from the course's
``submitted/`` folder with :func:`compendium.classroom.load_class`, so a
malformed submission is left out of everyone's comparison, named.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import sys
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat
import numpy as np
import pandas as pd
from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

from .. import analysis, userfile
from ..dataset import load_dataset
from ..dataset.datapackage import check_outside_dataset
from ..errors import CompendiumError
from ..fileio import remove_tree, replace_dir, staging_dir
from .class_view import ClassView, StudentFileSkipped, class_view
from .exercise import codebook_by_theme, default_participant, segments_to_code
from .files import SAVE_FOLDER
from .spans import ClassSpans, load_class_spans, transcript_to_code

#: The assignment's name in the course, and the notebook it holds.
ASSIGNMENT = "coding-exercise"
NOTEBOOK = "07-code-it-yourself.ipynb"
#: The course's record of what the class codes (read back for feedback and notebook 8).
SETTINGS_FILE = "compendium-class.json"
#: Where, inside the assignment, the dataset is copied.
DATA_FOLDER = "data"

CONFIG = '''\
# nbgrader configuration of a class exercise made by `compendium class init`.
c = get_config()  # noqa: F821 (nbgrader provides get_config)
c.CourseDirectory.course_id = {course!r}
# Each student's feedback gains their agreement with the coder and the class.
c.GenerateFeedback.preprocessors = [
    "nbgrader.preprocessors.GetGrades",
    "compendium.classroom.course.ClassFeedback",
    "nbconvert.preprocessors.CSSHTMLHeaderPreprocessor",
]
# Students' coding folders travel with the notebook; nothing else is needed.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__", "scratch"]
'''


@dataclass(frozen=True)
class ClassSettings:
    """What the class codes: the dataset (inside the assignment) and notebook 7's choices."""

    participant: str | None = None
    n_segments: int = 8
    theme: str | None = None
    coder: str | None = None
    assignment: str = ASSIGNMENT

    def to_json(self) -> str:
        """The settings as the JSON written to :data:`SETTINGS_FILE`."""
        return json.dumps(self.__dict__, indent=2, sort_keys=True) + "\n"


def read_settings(course: str | Path) -> ClassSettings:
    """The course's :data:`SETTINGS_FILE`; a clear error where it is missing."""
    path = Path(course) / SETTINGS_FILE
    if not path.exists():
        raise CompendiumError(f"{path}: missing; is {course} a course made by "
                              "`compendium class init`?")
    return ClassSettings(**json.loads(path.read_text(encoding="utf-8")))


def _set_parameter(source: str, name: str, value: object) -> str:
    """Replace ``name = ...`` in a parameters cell, keeping its comment."""
    pattern = re.compile(rf"^{name} = [^#\n]*?(\s*#.*)?$", re.MULTILINE)
    if not pattern.search(source):
        raise CompendiumError(f"{NOTEBOOK}: parameter {name!r} not found")
    return pattern.sub(lambda m: f"{name} = {value!r}{m.group(1) or ''}", source, count=1)


def exercise_notebook(notebook: str | Path, settings: ClassSettings) -> nbformat.NotebookNode:
    """Notebook 7 as the assignment: outputs cleared, parameters pointing inside the assignment."""
    notebook = Path(notebook)
    nb = userfile.read_notebook(notebook)  # one line when missing or not JSON, no traceback
    cell = next((c for c in nb.cells if "parameters" in c.metadata.get("tags", [])), None)
    if cell is None:
        raise CompendiumError(f"{notebook}: no cell tagged 'parameters'")
    values = {"data": DATA_FOLDER, "output_dir": "scratch", "participant": settings.participant,
              "n_segments": settings.n_segments, "theme": settings.theme,
              "coder": settings.coder, "save_to": SAVE_FOLDER}
    for name, value in values.items():
        cell.source = _set_parameter(cell.source, name, value)
    for c in nb.cells:
        if c.cell_type == "code":
            c.outputs, c.execution_count = [], None
    return nb


def init_course(course: str | Path, data: str | Path, notebook: str | Path,
                settings: ClassSettings = ClassSettings(), *, generate: bool = True) -> Path:
    """Write an nbgrader course for the coding exercise at ``course`` (which must not exist).

    The course is built in a staging folder and renamed into place, so an
    interrupted run leaves nothing. With ``generate``, nbgrader's
    ``generate_assignment`` then makes the student version in ``release/``.

    Parameters
    ----------
    course:
        The course folder to create.
    data:
        The dataset the class codes (validated first); copied into the assignment.
    notebook:
        Notebook 7.
    settings:
        The interview, number of segments, theme and coder of the exercise.
    generate:
        Whether to run ``nbgrader generate_assignment`` in the new course.

    Returns
    -------
    Path
        The course folder.
    """
    course, data = Path(course), Path(data)
    check_outside_dataset(course, data)
    if course.exists():
        raise CompendiumError(f"{course}: exists; choose a new folder for the course")
    dataset = load_dataset(data)  # stops on any problem, before anything is written
    # Refuses an interview with nothing to code, also before anything is written.
    segments_to_code(dataset, settings.participant, settings.n_segments,
                               settings.coder or dataset.primary_coder)
    settings = ClassSettings(**{**settings.__dict__, "participant": settings.participant
                                or default_participant(
                                    dataset, settings.coder or dataset.primary_coder)})
    assignment = exercise_notebook(notebook, settings)  # also read before anything is written
    course.parent.mkdir(parents=True, exist_ok=True)
    staging = staging_dir(course)
    try:
        source = staging / "source" / settings.assignment
        source.mkdir(parents=True)
        nbformat.write(assignment, source / NOTEBOOK)
        shutil.copytree(data, source / DATA_FOLDER)
        (staging / "nbgrader_config.py").write_text(CONFIG.format(course=course.name),
                                                    encoding="utf-8")
        (staging / SETTINGS_FILE).write_text(settings.to_json(), encoding="utf-8")
        replace_dir(staging, course)
    except BaseException:
        remove_tree(staging)
        raise
    if generate:
        _nbgrader(course, "generate_assignment", settings.assignment)
    return course


def nbgrader_environment() -> dict[str, str]:
    """This environment with its ``bin`` first on PATH: nbgrader runs ``alembic`` by name."""
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    return env


def _nbgrader(course: Path, *args: str) -> None:
    """Run an nbgrader command in ``course``; its own message on failure."""
    done = subprocess.run([str(Path(sys.executable).with_name("nbgrader")), *args], cwd=course,
                          env=nbgrader_environment(), capture_output=True, text=True)
    if done.returncode:
        lines = [ln for ln in (done.stderr or done.stdout).splitlines() if ln.strip()]
        raise CompendiumError(f"{course}: nbgrader {' '.join(args)} failed: "
                              + (lines[-1] if lines else f"exit code {done.returncode}"))


# --- feedback --------------------------------------------------------------------------


@dataclass(frozen=True)
class StudentFeedback:
    """One student's comparison with the coder and the class."""

    student: str
    per_code: pd.DataFrame
    apart: pd.DataFrame
    n_students: int
    skipped: list[str]


def class_of_course(course: str | Path):
    """The course's dataset, its coder, the pooled class view and the class's own spans."""
    course = Path(course)
    settings = read_settings(course)
    dataset = load_dataset(course / "source" / settings.assignment / DATA_FOLDER)
    coder = settings.coder or dataset.primary_coder
    segments = segments_to_code(dataset, settings.participant, settings.n_segments,
                                          coder)
    themes = codebook_by_theme(dataset.codebook, settings.theme)
    transcript = transcript_to_code(dataset, settings.participant, coder)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StudentFileSkipped)  # listed in the view
        view = class_view(dataset, course, segments, themes, coder)
        drawn = load_class_spans(course, transcript, themes)
    return dataset, coder, view, drawn


#: Stretches shorter than this (characters) are not listed as standing apart: a word's
#: difference in where a passage starts is not worth a student's attention.
MIN_APART_CHARS = 20


def span_feedback(drawn: ClassSpans, dataset, coder: str,
                  student: str) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Span mode: a student's character-level agreement per code, and where they stood apart.

    Per code: Cohen's kappa over the interview's characters with the coder's
    spans and with each other student's, averaged over them. A stretch stands
    apart where the student marked (or left) it with a code while more than
    half of the other students did the opposite, over at least
    :data:`MIN_APART_CHARS` characters. ``None`` where the student drew no
    spans or nobody else did.
    """
    if student not in drawn.students or len(drawn.students) < 2:
        return None
    source, text = drawn.transcript.source, drawn.transcript.text
    lengths = {source: len(text)}
    spans = drawn.spans[["coder", "source", "code_id", "start", "end"]]
    label = f"{coder} (coder)"
    shipped = analysis.coder_spans(dataset.segments, dataset.codings, [coder])
    shipped = shipped[shipped["source"] == source].assign(coder=label)
    both = pd.concat([spans[spans["coder"] == student], shipped], ignore_index=True)
    with_coder = analysis.character_agreement(both, student, label, lengths).set_index("code_id")
    others = [s for s in drawn.students if s != student]
    kappas = pd.concat([analysis.character_agreement(spans, student, other, lengths)
                        .set_index("code_id")["cohen_kappa"] for other in others], axis=1)
    mine = sorted(set(spans.loc[spans["coder"] == student, "code_id"])) + ["overall"]
    per_code = pd.DataFrame({
        "code_id": mine,
        "with_coder_char_kappa": with_coder["cohen_kappa"].reindex(mine).to_numpy(),
        "with_class_char_kappa": kappas.reindex(mine).mean(axis=1, skipna=True).to_numpy()})
    runs = analysis.coverage_runs(spans, drawn.students, [source], lengths)
    share = runs[others].mean(axis=1)
    yours = runs[student]
    apart = runs[((yours == 1) & (share < 0.5)) | ((yours == 0) & (share > 0.5))]
    apart = apart[apart["end"] - apart["start"] >= MIN_APART_CHARS]
    table = pd.DataFrame({
        "code_id": apart["code_id"], "characters": [f"{a}-{b}" for a, b in
                                                     zip(apart["start"], apart["end"],
                                                         strict=True)],
        "you": ["marked" if v else "not marked" for v in yours[apart.index]],
        "others_agreeing_with_you": [f"{round(100 * (x if v else 1 - x))}%" for v, x in
                                     zip(yours[apart.index], share[apart.index], strict=True)],
        "text": [_excerpt(text[a:b]) for a, b in zip(apart["start"], apart["end"],
                                                     strict=True)]})
    return per_code, table.reset_index(drop=True)


def _excerpt(text: str, keep: int = 160) -> str:
    """At most ``keep`` characters of a passage, its middle elided."""
    text = " ".join(text.split())
    return text if len(text) <= keep else text[:keep // 2] + " … " + text[-keep // 2:]


def span_feedback_markdown(per_code: pd.DataFrame, apart: pd.DataFrame) -> str:
    """Span mode's part of the feedback, as Markdown with HTML tables."""
    lines = ["### Your own passages (span mode)", "",
             "Cohen's kappa over the interview's characters, code by code: with the coder's "
             "passages, and with each other student's, averaged.", "",
             per_code.round(2).to_html(index=False, na_rep="undefined"), ""]
    if apart.empty:
        lines.append("Nowhere did you mark (or leave) a stretch of text against most of the "
                     "class.")
    else:
        lines += [f"Stretches of at least {MIN_APART_CHARS} characters you marked, or left, "
                  "against more than half of the other students: where does the code start "
                  "and stop?", "", apart.to_html(index=False)]
    return "\n".join(lines)


def feedback_for(view: ClassView, shipped: pd.DataFrame, coder: str,
                 student: str) -> StudentFeedback:
    """A student's agreement per code with ``coder`` and the others, and where they stood apart.

    Per code: percent agreement and Cohen's kappa with the coder
    (:func:`compendium.analysis.agreement_table`), and percent agreement and
    Cohen's kappa with each other student, averaged over them (Light's
    kappa). A passage stands apart where the student decided otherwise than
    more than half of the other students.
    """
    decisions = view.decisions
    if student not in view.students:
        raise CompendiumError(f"{student}: no valid coding in the class")
    wide = decisions.pivot_table(index=["unit_id", "code_id"], columns="coder",
                                 values="applied", aggfunc="max", sort=False)
    theirs = set(map(tuple, shipped.loc[shipped["coder"] == coder,
                                        ["segment_id", "code_id"]].to_numpy()))
    units = wide.index.to_frame(index=False)
    units["a"] = [int(k in theirs) for k in wide.index]
    units["b"] = wide[student].to_numpy()
    with_coder = analysis.agreement_table(units[["unit_id", "code_id", "a", "b"]])
    others = [s for s in view.students if s != student]
    rows = []
    for code in [*view.codes, "overall"]:
        pick = slice(None) if code == "overall" else (units["code_id"] == code).to_numpy()
        mine = wide[student].to_numpy()[pick]
        kappas, percents = [], []
        for other in others:
            theirs_o = wide[other].to_numpy()[pick]
            both = int((mine & theirs_o).sum())
            only_a, only_b = int((mine & ~theirs_o.astype(bool)).sum()), \
                int((~mine.astype(bool) & theirs_o.astype(bool)).sum())
            percent, kappa, _ = analysis.kappa_from_table(both, only_a, only_b,
                                                          len(mine) - both - only_a - only_b)
            percents.append(float(percent))
            kappas.append(float(kappa))
        row = with_coder[with_coder["code_id"] == code].iloc[0]
        rows.append({"code_id": code,
                     "with_coder_percent": float(row["percent_agreement"]),
                     "with_coder_kappa": float(row["cohen_kappa"]),
                     "with_class_percent": float(np.mean(percents)),
                     "with_class_kappa": (float(np.nanmean(kappas))
                                          if np.isfinite(kappas).any() else float("nan"))})
    share_yes = wide[others].mean(axis=1)
    mine = wide[student]
    apart = (mine == 1) & (share_yes < 0.5) | (mine == 0) & (share_yes > 0.5)
    text = {s.segment_id: s.text for s in view.segments}
    table = wide.index[apart.to_numpy()].to_frame(index=False).rename(
        columns={"unit_id": "segment_id"})
    table["you"] = ["applied" if v else "not applied" for v in mine[apart]]
    table["others_agreeing_with_you"] = [
        f"{round(100 * (s if v else 1 - s))}%" for v, s in zip(mine[apart], share_yes[apart],
                                                               strict=True)]
    table["text"] = table["segment_id"].map(text)
    return StudentFeedback(student, pd.DataFrame(rows), table, len(view.students),
                           list(view.loaded.skipped))


def feedback_markdown(feedback: StudentFeedback, coder: str) -> str:
    """The feedback as Markdown (HTML tables), appended to the student's feedback notebook."""
    per_code = feedback.per_code.round(2).to_html(index=False, na_rep="undefined")
    lines = [f"## Your coding beside {html.escape(coder)}'s and the class's",
             "",
             f"Computed from the {feedback.n_students} valid submissions of the class. "
             "*with_coder*: agreement with the dataset's coder; *with_class*: your agreement "
             "with each other student, averaged (Cohen's kappa per pair). Each segment x "
             "code is one decision.",
             "", per_code, "", "### Where you stood apart from most of the class", ""]
    if feedback.apart.empty:
        lines.append("Nowhere: on every segment and code you decided as most of the class did.")
    else:
        lines += ["Where you decided otherwise than more than half of the other students. "
                  "Read the segment and the code's definition again: which reading is "
                  "better supported?", "", feedback.apart.to_html(index=False)]
    if feedback.skipped:
        lines += ["", "Left out of the class (could not be read): "
                  + ", ".join(html.escape(s) for s in feedback.skipped) + "."]
    return "\n".join(lines)


class ClassFeedback(Preprocessor):
    """nbgrader ``generate_feedback`` step: append the class comparison to a student's feedback.

    The course folder is nbgrader's ``CourseDirectory.root``; the student's id
    comes from nbgrader. A student whose own coding could not be read gets a
    sentence saying so.
    """

    enabled = Bool(True, help="nbconvert runs a preprocessor only when enabled").tag(config=True)
    # The course folder and its class_of_course(), kept for the next student of that course.
    _class: tuple[Path, Any] | None = None

    def preprocess(self, nb, resources):
        """Append one Markdown cell with the student's comparison (nbconvert's interface)."""
        info = resources.get("nbgrader", {})
        student = info.get("student")
        # nbgrader's gradebook lives at the course root (its default); else the working folder,
        # where nbgrader's commands run.
        db_url = str(info.get("db_url", ""))
        course = (Path(db_url.removeprefix("sqlite:///")).parent
                  if db_url.startswith("sqlite:///") else Path.cwd())
        if self._class is None or self._class[0] != course:
            self._class = (course, class_of_course(course))  # one pooling for all students
        dataset, coder, view, drawn = self._class[1]
        spans = span_feedback(drawn, dataset, coder, student)
        if spans is not None and student not in view.students:  # a student of span mode only
            text = "## Your coding beside the class's\n\n" + span_feedback_markdown(*spans)
        elif view.reason:
            text = f"## Your coding beside the class's\n\nNo class comparison: {view.reason}."
        elif student not in view.students:
            mine = [f"{p.file}: {p.message}" for p in view.loaded.problems
                    if p.file.startswith(f"submitted/{student}/")]
            text = ("## Your coding beside the class's\n\nYour coding could not be read, so it "
                    "is not compared: " + ("; ".join(mine) or "no coding saved") + ".")
        else:
            text = feedback_markdown(feedback_for(view, dataset.codings, coder, student), coder)
            if spans is not None:
                text += "\n\n" + span_feedback_markdown(*spans)
        nb.cells.append(nbformat.v4.new_markdown_cell(text))
        return nb, resources
