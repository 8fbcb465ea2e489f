"""A synthetic methods class: 12 students coding the same 8 segments.

Notebook 8 pools a class's CSVs (one per student, as notebook 7's coding
widget writes them). So that it runs out of the box, and so nbval can check
it, the compendium ships a class generated here with a fixed seed into
``data/synthetic-class/``. **It is synthetic**: no student coded anything.

How a synthetic student codes. Each student starts from the primary coder's
codes for the segments and departs from them as real novices do: they miss
a code (with a rate drawn per student, so some are more careful than
others), sometimes putting a sibling code (same sub-theme) in its place, and
now and then add a code the primary coder did not apply, more often one
from the same theme as the segment's codes. Nothing here is calibrated on
real classes; the point is a plausible spread of agreement to read.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from ..dataset import Dataset, load_dataset
from ..dataset.datapackage import check_outside_dataset
from ..errors import CompendiumError
from ..fileio import staged_folder
from .exercise import codebook_by_theme, segments_to_code
from .files import (
    METADATA_FILE,
    SPAN_COLUMNS,
    SPAN_FOLDER,
    class_metadata,
    codings_csv,
    spans_csv,
)

#: The generator's defaults: the class notebook 8 ships with.
DEFAULT_SEED = 2013
DEFAULT_STUDENTS = 12
DEFAULT_SEGMENTS = 8

README = """\
# A synthetic methods class (not real students)

Each `student_NN.csv` here is one *synthetic* student's coding of the same {n_segments} segments
of interview {participant} in `data/synthetic/`, in the format notebook 7's coding widget saves
(`segment_id,code_id,coder`). Nobody coded these: `compendium.synthetic_class` generated them
(seed {seed}) by perturbing the primary coder's codes, so that notebook 8
(`08-class-agreement.ipynb`) runs out of the box. Nothing computed from them says anything about
real students or about the study.

`spans/student_NN.csv` is the same synthetic student in span mode: the same codes, each on a
passage whose start and end the generator moved from the segment's by a random stretch of text (to
a word edge), as students who draw their own boundaries do (`source,start,end,code_id,coder`).

Regenerate byte for byte with:

    {command}

`class.json` records how they were made.
"""


#: The most students a synthetic class may have: each is a file, all written at once.
MAX_STUDENTS = 10_000

def _siblings(codebook: pd.DataFrame) -> dict[str, list[str]]:
    """For each code, the other codes with the same parent (sub-theme or theme)."""
    codes = codebook[codebook["level"].fillna("code") == "code"] if "level" in codebook \
        else codebook
    parent = codes["parent_id"].fillna(codes["theme"]) if "parent_id" in codes else codes["theme"]
    groups = codes.groupby(parent, sort=False)["code_id"].agg(list)
    pairs = zip(codes["code_id"], parent, strict=True)
    return {c: [o for o in groups[p] if o != c] for c, p in pairs}


def _word_edge(text: str, at: int, forward: bool) -> int:
    """The nearest word boundary to ``at`` in the given direction (a student selects words)."""
    at = min(max(at, 0), len(text))
    step = 1 if forward else -1
    while 0 < at < len(text) and not text[at - 1 if forward else at].isspace():
        at += step
    return at


def _drawn_spans(dataset: Dataset, rows: list[tuple[str, str, str]],
                 rng: np.random.Generator) -> pd.DataFrame | None:
    """Span mode: the student's codes of each segment, on a passage whose boundaries they drew.

    Each boundary moves from the segment's by up to about a sentence either way
    (a normal draw, sd 60 characters), then to the nearest word edge; the
    segment's start and end being where the coder drew them. ``None`` where
    the segments have no positions on a transcript.
    """
    segs = dataset.segments.set_index("segment_id")
    if not {"start", "end"} <= set(segs.columns):
        return None
    out = []
    for segment_id in dict.fromkeys(r[0] for r in rows):
        seg = segs.loc[segment_id]
        source = seg.get("source") if isinstance(seg.get("source"), str) else \
            f"transcripts/{seg['participant_id']}.txt"
        text = dataset.transcripts.get(source)
        if text is None or pd.isna(seg["start"]) or pd.isna(seg["end"]):
            return None
        start = _word_edge(text, int(seg["start"]) + int(rng.normal(0, 60)), forward=False)
        end = _word_edge(text, int(seg["end"]) + int(rng.normal(0, 60)), forward=True)
        if end - start < 20:  # a student marks a phrase at least
            start, end = int(seg["start"]), int(seg["end"])
        out += [(source, start, end, code, coder) for s, code, coder in rows
                if s == segment_id]
    return pd.DataFrame(out, columns=list(SPAN_COLUMNS))


def generate_class(dataset: Dataset, *, seed: int = DEFAULT_SEED,
                   n_students: int = DEFAULT_STUDENTS, n_segments: int = DEFAULT_SEGMENTS,
                   participant: str | None = None) -> dict[str, str]:
    """The class's files as ``{file name: text}``; the same arguments give the same bytes."""
    if seed < 0:  # numpy's generators take a seed of 0 or more
        raise CompendiumError(f"the seed must be 0 or more, got {seed}")
    if n_students < 2:
        raise CompendiumError(f"a class needs at least two students, got {n_students}")
    if n_students > MAX_STUDENTS:  # one file each, written in one go
        raise CompendiumError(f"a synthetic class has at most {MAX_STUDENTS:,} students, "
                              f"got {n_students:,}")
    coder = dataset.primary_coder
    segments = segments_to_code(dataset, participant, n_segments, coder)
    themes = codebook_by_theme(dataset.codebook)
    theme_of = {c.code_id: t.theme_id for t in themes for c in t.codes}
    all_codes = list(theme_of)
    siblings = _siblings(dataset.codebook)
    ids = [s.segment_id for s in segments]
    shipped = dataset.codings[(dataset.codings["coder"] == coder)
                              & dataset.codings["segment_id"].isin(ids)]
    reference = {s: set(shipped.loc[shipped["segment_id"] == s, "code_id"]) for s in ids}

    rng = np.random.default_rng(seed)
    files = {}
    for number in range(1, n_students + 1):
        name = f"student_{number:02d}"
        miss = rng.uniform(0.08, 0.4)  # how often this student misses a code
        extra = rng.uniform(0.003, 0.02)  # how often they add one the coder did not apply
        rows = []
        for segment_id in ids:
            chosen = set()
            for code in sorted(reference[segment_id], key=all_codes.index):
                if rng.random() >= miss:
                    chosen.add(code)
                elif siblings.get(code) and rng.random() < 0.5:
                    chosen.add(siblings[code][rng.integers(len(siblings[code]))])
            themes_here = {theme_of[c] for c in reference[segment_id] if c in theme_of}
            for code in all_codes:
                if code in reference[segment_id]:
                    continue
                rate = extra * (4 if theme_of[code] in themes_here else 1)
                if rng.random() < rate:
                    chosen.add(code)
            rows += [(segment_id, code, name) for code in sorted(chosen, key=all_codes.index)]
        files[f"{name}.csv"] = codings_csv(pd.DataFrame(rows, columns=["segment_id", "code_id",
                                                                       "coder"]))
        spans = _drawn_spans(dataset, rows, np.random.default_rng([seed, number]))
        if spans is not None:
            files[f"{SPAN_FOLDER}/{name}.csv"] = spans_csv(spans)
    participant = dataset.segments.set_index("segment_id").loc[ids[0], "participant_id"]
    metadata = {
        "synthetic": True,
        "description": "A synthetic methods class: each file is one generated student's coding "
                       "of the same segments; no real student coded anything.",
        "generator": {"module": "compendium.synthetic_class", "seed": seed,
                      "students": n_students, "segments": n_segments},
        "dataset": {"name": dataset.name, "sha256": dataset.hash},
        "participant": str(participant),
        "segment_ids": ids,
        "reference_coder": coder,
    }
    files[METADATA_FILE] = json.dumps(metadata, indent=2, ensure_ascii=False) + "\n"
    command = (".venv/bin/compendium synthetic-class --data data/synthetic "
               f"--seed {seed} --to data/synthetic-class")
    files["README.md"] = README.format(n_segments=n_segments, participant=participant, seed=seed,
                                       command=command)
    return files


def write_class(data: str | Path, target: str | Path, *, seed: int = DEFAULT_SEED,
                n_students: int = DEFAULT_STUDENTS, n_segments: int = DEFAULT_SEGMENTS) -> Path:
    """Generate the class from the dataset ``data`` into ``target``, replacing it whole.

    The files are written to a temporary folder beside ``target`` which then
    takes its place, so an interrupted run leaves the old class intact.
    """
    target = Path(target)
    check_outside_dataset(target, data)
    files = generate_class(load_dataset(data), seed=seed, n_students=n_students,
                           n_segments=n_segments)
    if target.exists() and not (target / METADATA_FILE).exists():
        raise CompendiumError(f"{target}: exists and is not a synthetic class folder; "
                              "choose another --to")
    with staged_folder(target) as staging:  # mode 0755: the class is data to share
        for name, text in files.items():
            (staging / name).parent.mkdir(exist_ok=True)
            (staging / name).write_text(text, encoding="utf-8", newline="\n")
    return target


def is_synthetic(dataset: Dataset, metadata: dict) -> bool:
    """Whether a class view shows synthetic material: a synthetic dataset or a generated class."""
    return bool(dataset.synthetic or metadata.get("synthetic"))


def class_banner(folder: str | Path, n_students: int, reason: str = "") -> str:
    """A Markdown note saying whose codings notebook 8 pools, and whether they are synthetic."""
    metadata = class_metadata(folder)
    if reason:
        return f"**No class to pool:** {reason}."
    if metadata.get("synthetic"):
        return (f"**Synthetic class.** The {n_students} students' files in `{Path(folder).name}` "
                "were generated by `compendium.synthetic_class` (seed "
                f"{metadata['generator']['seed']}); no real student coded them. The displays "
                "below illustrate how to read a class's agreement, nothing more.")
    return f"**Class:** {n_students} students' files from `{Path(folder).name}`."
