"""The class view (notebook 8): a class's codings pooled for the many-coder statistics.

The students' CSVs come from a folder or an nbgrader course's ``submitted/``
(:func:`compendium.classroom.files.student_files`); each file is validated
(problems name the file and row), a bad file is skipped with a warning, and
the remaining students' decisions are laid out for
:mod:`compendium.analysis.multirater`.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .. import analysis
from ..analysis.multirater import multirater_table
from ..dataset import Dataset, load_dataset
from ..errors import CompendiumError, Problem
from .exercise import Segment, ThemeCodes, codebook_by_theme, segments_to_code
from .files import CODER_NAME, COLUMNS, class_metadata, read_student_csv, student_files


class StudentFileSkipped(UserWarning):
    """A student's CSV had problems and was left out of the class view."""


@dataclass(frozen=True)
class ClassCodings:
    """The valid students' codings of a class, and what was skipped and why."""

    codings: pd.DataFrame
    students: list[str]
    problems: list[Problem]
    skipped: list[str]

    def problems_table(self) -> pd.DataFrame:
        """One row per problem: file, row, column, message."""
        return pd.DataFrame([(p.file, p.row, p.column, p.message) for p in self.problems],
                            columns=["file", "row", "column", "message"])


def load_class(folder: str | Path, segment_ids: Iterable[str],
               code_ids: Iterable[str]) -> ClassCodings:
    """Read every student's CSV in ``folder``; skip each bad file with a warning naming it.

    ``folder`` is a folder of CSVs or an nbgrader course's collected
    submissions (see :func:`student_files`). Each file must be one student's
    coding (one coder name) of the given segments with the given codes. A
    student whose file is valid but empty applied no code at all and still
    counts. Two files naming the same coder are both skipped, since the class
    cannot tell whose is whose.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise CompendiumError(f"{folder}: not a folder of student CSVs")
    segment_ids, code_ids = list(segment_ids), list(code_ids)
    files, problems = student_files(folder)
    skipped = [p.file for p in problems]
    frames: dict[str, pd.DataFrame] = {}
    owners: dict[str, str] = {}  # coder -> the file that named them
    for problem in problems:
        warnings.warn(f"{problem.file}: skipped; {problem.message}", StudentFileSkipped,
                      stacklevel=3)
    for student, path in files:
        codings, found = read_student_csv(path, segment_ids, code_ids)
        label = path.name if student is None else str(path.relative_to(folder))
        found = [Problem(label, p.row, p.column, p.message) for p in found]
        if student is not None:  # nbgrader knows who submitted, whatever name was typed
            codings = codings.assign(coder=student)
        coder = codings["coder"].iloc[0] if len(codings) else (student or path.stem)
        if not found and not CODER_NAME.match(coder):
            found = [Problem(label, None, None, f"file name {path.stem!r} is not a coder "
                                                "name and the file names no coder")]
        if not found and coder in owners:
            found = [Problem(label, None, "coder",
                             f"{coder!r} also coded in {owners[coder]}")]
            problems.append(Problem(owners[coder], None, "coder",
                                    f"{coder!r} also coded in {label}"))
            skipped.append(owners[coder])
            frames.pop(coder, None)
        if found:
            problems.extend(found)
            skipped.append(label)
            warnings.warn(f"{label}: skipped, {len(found)} problem(s); first: {found[0]}",
                          StudentFileSkipped, stacklevel=3)  # the notebook line that asked
            continue
        owners[coder] = label
        frames[coder] = codings
    students = sorted(frames)
    codings = (pd.concat([frames[s] for s in students], ignore_index=True) if students
               else pd.DataFrame(columns=list(COLUMNS)))
    return ClassCodings(codings, students, problems, sorted(set(skipped)))


def class_decisions(codings: pd.DataFrame, segment_ids: list[str], code_ids: list[str],
                    coders: list[str]) -> pd.DataFrame:
    """Every coder's 0/1 decision for every segment x code: unit_id, code_id, coder, applied."""
    grid = pd.MultiIndex.from_product([segment_ids, code_ids, coders],
                                      names=["unit_id", "code_id", "coder"]).to_frame(index=False)
    applied = pd.MultiIndex.from_frame(codings[list(COLUMNS)])
    grid["applied"] = pd.MultiIndex.from_frame(grid[["unit_id", "code_id", "coder"]]) \
        .isin(applied).astype(np.int64)
    return grid


def codes_in_use(codings: pd.DataFrame, code_ids: list[str]) -> list[str]:
    """The codes (in ``code_ids`` order) that at least one coder applied.

    Codes nobody applied would add only unanimous "no" decisions, which say
    nothing about the codebook and inflate pooled agreement.
    """
    used = set(codings["code_id"])
    return [c for c in code_ids if c in used]


def contested_pairs(decisions: pd.DataFrame, segments: list[Segment]) -> pd.DataFrame:
    """Per segment x code, how many students applied it; most contested first.

    A pair is the more contested the nearer the share of students applying
    it is to one half (``contested`` = 1 at an even split, 0 when unanimous).
    Pairs nobody applied are left out. Ties keep segment then code order.
    """
    counts = decisions.groupby(["unit_id", "code_id"], sort=False)["applied"].agg(["sum", "size"])
    counts = counts.reset_index().rename(columns={"unit_id": "segment_id", "sum": "applied",
                                                  "size": "students"})
    counts = counts[counts["applied"] > 0].copy()
    counts["share"] = counts["applied"] / counts["students"]
    counts["contested"] = 1 - (2 * counts["share"] - 1).abs()
    text = {s.segment_id: s.text for s in segments}
    counts["text"] = counts["segment_id"].map(text)
    counts = counts.sort_values("contested", ascending=False, kind="stable")
    return counts[["segment_id", "code_id", "applied", "students", "share", "contested", "text"]] \
        .reset_index(drop=True)


def class_agreement(decisions: pd.DataFrame) -> pd.DataFrame:
    """Fleiss' kappa and Krippendorff's alpha across the students, per code and pooled."""
    return multirater_table(decisions)


def student_vs_coder(decisions: pd.DataFrame, shipped: pd.DataFrame, coder: str) -> pd.DataFrame:
    """Each student's agreement with the shipped ``coder`` over all decisions (pooled row).

    Uses :func:`compendium.analysis.agreement_table` on the same segment x
    code grid as the class statistics. Columns: student, percent_agreement,
    cohen_kappa, krippendorff_alpha, applied (student), applied_by_coder.
    """
    theirs = set(map(tuple, shipped.loc[shipped["coder"] == coder,
                                        ["segment_id", "code_id"]].to_numpy()))
    rows = []
    for student, mine in decisions.groupby("coder", sort=True):
        units = mine.rename(columns={"applied": "b"})[["unit_id", "code_id", "b"]].copy()
        pairs = zip(units["unit_id"], units["code_id"], strict=True)
        units["a"] = [int((u, c) in theirs) for u, c in pairs]
        overall = analysis.agreement_table(units[["unit_id", "code_id", "a", "b"]]).iloc[-1]
        rows.append((student, overall["percent_agreement"], overall["cohen_kappa"],
                     overall["krippendorff_alpha"], int(units["b"].sum()), int(units["a"].sum())))
    return pd.DataFrame(rows, columns=["student", "percent_agreement", "cohen_kappa",
                                       "krippendorff_alpha", "applied", "applied_by_coder"])


def pairwise_kappa(decisions: pd.DataFrame) -> pd.DataFrame:
    """Cohen's kappa between every two students over all their decisions (students x students).

    The diagonal is 1 where a student's kappa with themself is defined; NaN
    marks pairs where kappa is undefined (both students constant and equal).
    """
    if decisions.empty:
        return pd.DataFrame(index=pd.Index([], name="student"),
                            columns=pd.Index([], name="student"), dtype=float)
    wide = decisions.pivot_table(index=["unit_id", "code_id"], columns="coder",
                                 values="applied", aggfunc="max")
    students = list(wide.columns)
    x = wide.to_numpy(dtype=np.int64)
    both = x.T @ x
    only_a = x.T @ (1 - x)
    neither = (1 - x).T @ (1 - x)
    kappa = analysis.cohen_kappa_from_counts(both, only_a, only_a.T, neither)
    return pd.DataFrame(kappa, index=pd.Index(students, name="student"),
                        columns=pd.Index(students, name="student"))


@dataclass(frozen=True)
class ClassView:
    """Everything notebook 8 shows about a class, laid out from the validated files.

    ``reason`` is empty when the class can be pooled; otherwise it says why
    not (the folder codes another dataset, fewer than two valid files), and
    ``decisions`` is empty, so every display can still be made and say so.
    """

    loaded: ClassCodings
    segments: list[Segment]
    codes: list[str]
    decisions: pd.DataFrame
    reason: str = ""

    @property
    def students(self) -> list[str]:
        """The students whose files could be read, in order."""
        return self.loaded.students


def _no_decisions() -> pd.DataFrame:
    return pd.DataFrame({"unit_id": pd.Series(dtype=str), "code_id": pd.Series(dtype=str),
                         "coder": pd.Series(dtype=str), "applied": pd.Series(dtype=np.int64)})


def coded_another_dataset(dataset: Dataset, folder: str | Path,
                          metadata: Mapping | None) -> str:
    """Why a class folder is not this dataset's (its ``class.json`` names another), or ""."""
    made_for = (metadata or {}).get("dataset", {}).get("sha256")
    if not made_for or made_for == dataset.hash:
        return ""
    name = (metadata or {}).get("dataset", {}).get("name", "another dataset")
    # a dataset changed since the class coded it keeps its name: say it is another version
    other = f"another version of {name} (its sha256 differs)" if name == dataset.name \
        else f"the dataset {name}, not {dataset.name}"
    return (f"no class has coded this dataset: the class in {Path(folder).name} "
            f"coded {other}; point class_dir at this dataset's class")


def class_view(dataset: Dataset, folder: str | Path, segments: list[Segment],
               themes: list[ThemeCodes], coder: str, metadata: Mapping | None = None) -> ClassView:
    """Load a class's CSVs and lay out every student's decision on the codes in use.

    The codes are those any student or the shipped ``coder`` applied to these
    segments (see :func:`codes_in_use`). ``metadata`` is the folder's
    ``class.json`` if any: a class generated for another dataset is not
    loaded at all (its files would all be wrong here). Fewer than two valid
    files leave nothing to pool; both cases give an empty view with a reason.
    """
    ids = [s.segment_id for s in segments]
    all_codes = [c.code_id for t in themes for c in t.codes]
    other = coded_another_dataset(dataset, folder, metadata)
    if other:
        empty = ClassCodings(pd.DataFrame(columns=list(COLUMNS)), [], [], [])
        return ClassView(empty, segments, [], _no_decisions(), other)
    loaded = load_class(folder, ids, all_codes)
    if len(loaded.students) < 2:
        return ClassView(loaded, segments, [], _no_decisions(),
                         f"{len(loaded.students)} valid student file(s) in {Path(folder).name}; "
                         "pooling agreement needs at least two")
    shipped = dataset.codings[(dataset.codings["coder"] == coder)
                              & dataset.codings["segment_id"].isin(ids)]
    codes = codes_in_use(pd.concat([loaded.codings, shipped[list(COLUMNS)]]), all_codes)
    decisions = class_decisions(loaded.codings, ids, codes, loaded.students)
    return ClassView(loaded, segments, codes, decisions)


def class_summary(view: ClassView, agreement: pd.DataFrame, synthetic: bool) -> str:
    """One sentence for the paper on what the class exercise gave, true for any dataset.

    Says who coded (a synthetic class is called so), how many segments, and the
    pooled Fleiss' kappa and Krippendorff's alpha; or, when there is no class
    to pool, why not (``view.reason``).
    """
    if view.reason or len(view.students) < 2 or agreement.empty:
        reason = view.reason or "fewer than two students' files could be read"
        if reason.startswith("no class has coded this dataset"):
            # the other dataset's name belongs in notebook 8, not in this paper's prose
            reason = ("no class has coded this dataset (the class folder the build was given "
                      "coded another one)")
        return (f"The class exercise of notebooks 7 and 8 has no class to pool for this "
                f"dataset: {reason}")
    pooled = agreement[agreement["code_id"] == "overall"]
    row = pooled.iloc[0] if not pooled.empty else agreement.iloc[-1]

    def two(x: float) -> str:
        return "not defined" if pd.isna(x) else f"{x:.2f}"

    who = ("a synthetic class of {n} students (generated, not real students)" if synthetic
           else "a class of {n} students").format(n=len(view.students))
    return (f"In the class exercise of notebooks 7 and 8, {who} coded the same "
            f"{len(view.segments)} segments with the codebook; pooled over all codes, their "
            f"Fleiss' kappa was {two(row['fleiss_kappa'])} and Krippendorff's alpha "
            f"{two(row['krippendorff_alpha'])}")


def class_report(data: str | Path, folder: str | Path, *, participant: str | None = None,
                 n_segments: int = 8, theme: str | None = None,
                 coder: str | None = None) -> int:
    """``compendium class report``: pool a class's folder and print its agreement.

    Prints the students and the class's agreement per code to standard output; each
    skipped file, and the reason no class could be pooled, to standard error.

    Returns
    -------
    int
        The command's exit status: 1 when no class could be pooled, else 0.
    """
    dataset = load_dataset(data)
    coder = coder or dataset.primary_coder
    segments = segments_to_code(dataset, participant, n_segments, coder)
    themes = codebook_by_theme(dataset.codebook, theme)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StudentFileSkipped)  # printed below
        # class.json, as notebook 8 reads it: a class made for another dataset is not pooled
        view = class_view(dataset, folder, segments, themes, coder, class_metadata(folder))
    for problem in view.loaded.problems:
        print(f"{problem} (skipped)", file=sys.stderr)
    if view.reason:
        print(f"{folder}: {view.reason}", file=sys.stderr)
        return 1
    table = class_agreement(view.decisions)
    print(f"{len(view.students)} students: {', '.join(view.students)}")
    print(table.round(3).to_string(index=False))
    return 0
