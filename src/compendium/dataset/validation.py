"""Complete validation of a dataset folder (``compendium validate``).

Validation is complete rather than fail-fast: every problem is collected and
reported as ``FILE:ROW: column: message`` so a researcher can fix a whole export
at once. The checks are vectorised with numpy and pandas, so that a dataset of a
million coded segments validates in seconds: the descriptor and its hashes, each
table's columns and fields, references between tables, the codebook's tree,
segment offsets against their transcripts, the coders, the design block and,
unless turned off, the anonymisation gate (:mod:`compendium.dataset.anonymity`).

How the work is split. On a large dataset (:data:`FORK_FROM_BYTES`) and more than
one core, the independent checks run in workers forked from this process
(:mod:`compendium.dataset.forked`), which see the parsed tables copy-on-write:

1. at once, a worker checks what needs no table (:func:`_check_files`: the
   descriptor, every file's hash, the gate over the transcripts, the interview
   guide and the descriptor's texts, noting each transcript's lead places, see
   below) while this process parses the tables;
2. once participants, codebook and segments are parsed, this process reads
   their integer columns (start and end: :func:`_plain_integers`, read once for
   the offsets and the field checks), and a worker runs the gate over those
   tables, less segments.csv's texts and the columns of plain numbers too short
   to hold a hit (:func:`_gated_here`), and over segment sources outside
   ``transcripts/`` (:func:`_check_gate`), while this process parses codings.csv;
3. then one worker runs the gate over codings.csv (:func:`_check_gate`), and
   another checks the references between the tables and the offsets against the
   transcripts, and runs the gate over the segments' texts
   (:func:`_check_across`), while this process checks every table's fields, the
   coders and the design block.

The segments' texts are gated slice-aware: a text that equals its slice of a
transcript the first worker scanned, where that transcript has no lead place
(a place where a pre-filter's characters stand,
:func:`~compendium.dataset.patterns.lead_places`), cannot hold a pattern hit
and is not scanned again, unless the identifiers list has terms
(:func:`~compendium.dataset.anonymity.hit_free_slices`). On the bench that
leaves about one text in a thousand to scan. While workers run, numpy's arrays
are kept out of transparent huge pages (:func:`_small_pages`).

On the million-segment bench the last worker's job and this process's field
checks are the two longest and end together (the gate over codings.csv, apart,
shares the cores with them); the first two workers' jobs fill
the other core while this process parses (about 10 CPU-seconds in all, against
14-17 before the slice-aware gate).

Each problem is found by exactly one job, and the list is sorted at the end, so
it is the same list the serial run gives (``COMPENDIUM_VALIDATE_WORKERS=1``, no
``os.fork``, one core, or a small dataset: each job called in this process in
the same order); so is an exception, which is the first the serial run meets.

Longer than 500 lines because the checks and the plan that shares them among
the workers belong together: the plan calls each check, and a check moved out
would have to be made public for it.
"""

from __future__ import annotations

import contextlib
import errno
import operator
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..errors import CompendiumError, Problem, shortened
from ..userfile import regular_file_problem
from .datapackage import (
    DESCRIPTOR,
    TABLE_SCHEMAS,
    TABLES,
    dataset_folder_problem,
    descriptor_shape_problems,
    file_matches_hash,
    read_descriptor,
)
from .design_check import design_problems
from .forked import WORKERS_ENV, Jobs, worker_count
from .tableio import (
    default_sources,
    is_inside,
    problem_order,
    read_problem,
    read_table,
    read_transcript_text,
    typed_table,
)
from .textcolumns import column_numbers, fullmatch_all, plain_digits, plain_numbers, whole_numbers

#: Largest CSV field accepted, in characters; larger ones are refused as hostile.
MAX_FIELD_CHARS = 1_000_000

if TYPE_CHECKING:  # the gate is imported where it runs: a validation without it goes without
    from .anonymity import Gate, TextPlaces


def validate_dataset(folder: str | Path, identifiers: str | Path | Any = None, *,
                     anonymity: bool = True) -> list[Problem]:
    """Every problem in the dataset at ``folder``; an empty list means valid.

    With ``anonymity`` (the default) the anonymisation gate of
    :mod:`compendium.dataset.anonymity` runs too, so a dataset holding a direct identifier
    is not valid. ``identifiers`` is the identifiers list to check against (a path
    or a parsed list); ``None`` uses ``identifiers.txt`` at the repository root
    when there is one (see :func:`compendium.dataset.identifiers.default_identifiers_path`).
    On a large dataset the checks run in forked workers beside this process
    (see the module's docstring); the list is the same either way.
    """
    folder = Path(folder)
    problem = dataset_folder_problem(folder)
    if problem:  # the folder itself: no file of it to name
        return [Problem(str(folder), None, None, problem)]
    try:
        descriptor = read_descriptor(folder)
    except CompendiumError as err:
        return [Problem(DESCRIPTOR, None, None, str(err).split(": ", 1)[-1])]
    shape = descriptor_shape_problems(descriptor)
    if shape:  # nothing else may read a descriptor of the wrong shape
        return [Problem(DESCRIPTOR, None, where, message) for where, message in shape]
    gate: Gate | None = None
    names: set[str] = set()
    if anonymity:
        from .anonymity import prepare_gate, text_names

        gate, names = prepare_gate(folder, identifiers), text_names(folder)
    problems: list[Problem] = []
    read: dict[str, pd.DataFrame] = {}  # every table parsed, for the gate
    tables: dict[str, pd.DataFrame] = {}  # those whose columns allow the other checks
    parallel = _use_workers(folder)
    with _small_pages(parallel), Jobs(parallel) as jobs:
        files = jobs.start(_check_files, folder, descriptor, gate, names)
        problems += _read_tables(folder, descriptor, TABLES[:-1], read, tables)
        # start and end read once, for the offsets and the field checks alike
        widths: dict[str, dict[str, int]] = {table: {} for table in TABLES}
        known = {table: _plain_integers(table, frame, widths[table])
                 for table, frame in tables.items()}
        # The segments' texts are gated with the offsets (_check_across), which
        # finds the texts that are slices of their transcripts; columns of short
        # plain numbers hold no hit.
        gated = jobs.start(_check_gate, _gated_here(read, gate, widths), gate, names)
        problems += _read_tables(folder, descriptor, TABLES[-1:], read, tables)
        known.update({table: _plain_integers(table, tables[table])
                      for table in TABLES[-1:] if table in tables})
        # The gate over the last table is a job of its own, so that the references,
        # the offsets and the segments' texts (_check_across) end with this process's
        # field checks rather than after them.
        last = jobs.start(_check_gate, _last_table(read), gate, None)
        file_problems, places = files.result()
        across = jobs.start(_check_across, folder, _texts(read), tables, gate, places,
                            known.get("segments"))
        for table, frame in tables.items():
            problems += _check_fields(table, frame, known=known[table])
        if len(tables) == len(TABLES):
            problems += _check_coders(descriptor, tables["codings"])
            problems += design_problems(descriptor,
                                        typed_table("codebook", tables["codebook"].copy()))
        else:
            problems += design_problems(descriptor, None)
    problems += file_problems + gated.result() + last.result() + across.result()
    return sorted(set(problems), key=problem_order)


@contextlib.contextmanager
def _small_pages(forking: bool) -> Iterator[None]:
    """While workers are forked, numpy's large arrays in ordinary pages rather than
    transparent huge pages (numpy asks for those on Linux): a page a worker and this
    process share is copied when either writes to it, and a huge page is copied or
    compacted 2 MiB at a time. On the million-segment bench this halves the
    workers' system time (about 2 CPU-seconds). Only where numpy offers the switch."""
    switch = getattr(getattr(np, "_core", None), "multiarray", None)
    setter = getattr(switch, "_set_madvise_hugepage", None) if forking else None
    if setter is None:
        yield
        return
    before = setter(False)
    try:
        yield
    finally:
        setter(before)


def _gated_here(read: dict[str, pd.DataFrame], gate: Gate | None,
                widths: Mapping[str, Mapping[str, int]]) -> dict[str, pd.DataFrame]:
    """The tables as read, less what :func:`_check_gate` need not scan: segments.csv's
    ``text`` column (:func:`_check_across` gates it) and the columns of plain
    numbers too short to hold a hit (``widths``: each such column's longest value)."""
    if gate is None:
        return {}
    from .anonymity import digits_hold_no_hit

    out = {}
    for table, frame in read.items():
        drop = [name for name, width in widths.get(table, {}).items()
                if digits_hold_no_hit(gate, width)]
        if table == "segments" and "text" in frame:
            drop.append("text")
        out[table] = frame.drop(columns=drop) if drop else frame
    return out


def _last_table(read: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The last table as read, if it was: what the last :func:`_check_gate` gates."""
    return {TABLES[-1]: read[TABLES[-1]]} if TABLES[-1] in read else {}


def _texts(read: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """segments.csv's ``text`` column alone, as read: what :func:`_check_across` gates."""
    if "segments" in read and "text" in read["segments"]:
        return {"segments": read["segments"][["text"]]}
    return {}


def _read_tables(folder: Path, descriptor: dict[str, Any], names: Iterable[str],
                 read: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame]) -> list[Problem]:
    """Parse the tables ``names`` into ``read`` and those whose columns are sound into
    ``tables``; the problems of reading them and of their columns."""
    problems: list[Problem] = []
    for table in names:
        label = f"{table}.csv"
        try:
            frame = read_table(folder / label, label)
        except CompendiumError as err:
            problems.append(read_problem(label, err))
            continue
        read[table] = frame
        table_problems = _check_columns(table, frame, descriptor)
        problems += table_problems
        if not any(p.row is None for p in table_problems):
            tables[table] = frame
    return problems


#: Bytes of segments.csv and codings.csv together from which validation forks its
#: workers: below it (the demonstration dataset's are about 0.1 MB; the bench's 290 MB)
#: a fork costs about what it saves.
FORK_FROM_BYTES = 8 << 20


def _use_workers(folder: Path) -> bool:
    """Whether to fork workers: more than one core may be used, and the dataset is
    large enough for them to pay (its two big tables' sizes) or :data:`WORKERS_ENV`
    asks for them (a number above 1: on any dataset, as the tests do)."""
    if worker_count() < 2:
        return False
    return bool(os.environ.get(WORKERS_ENV, "").strip()) or _worth_forking(folder)


def _worth_forking(folder: Path) -> bool:
    """Whether the dataset is large enough for workers to pay (its files' sizes)."""
    total = 0
    for table in ("segments", "codings"):
        try:
            total += (folder / f"{table}.csv").stat().st_size
        except OSError:
            pass
    return total >= FORK_FROM_BYTES


def _check_files(folder: Path, descriptor: dict[str, Any], gate: Gate | None,
                 names: set[str]) -> tuple[list[Problem], dict[str, TextPlaces]]:
    """What needs no table: the descriptor and every file's hash, and the gate over
    the texts ``names`` and the descriptor (the first worker's job); with the
    problems, what the gate saw of each text (for :func:`_check_across`)."""
    problems = _check_descriptor(folder, descriptor)
    places: dict[str, TextPlaces] = {}
    if gate is not None:
        from .anonymity import gate_files

        problems += gate_files(gate, names, places)
    return problems, places


def _check_gate(read: dict[str, pd.DataFrame], gate: Gate | None,
                names: set[str]) -> list[Problem]:
    """The gate over the tables ``read`` (all but codings) and over the segments'
    sources not among ``names`` (a worker's job, started once segments.csv is parsed)."""
    if gate is None:
        return []
    from .anonymity import gate_tables

    return gate_tables(gate, read, names)


def _check_across(folder: Path, read: dict[str, pd.DataFrame], tables: dict[str, pd.DataFrame],
                  gate: Gate | None, places: Mapping[str, TextPlaces],
                  numbers: Mapping[str, np.ndarray] | None = None) -> list[Problem]:
    """When all four tables are sound, the references between them and the offsets
    against the transcripts; and the gate over the tables ``read`` (the last table
    and the segments' texts, as read), skipping the texts the offsets show to be
    slices of a transcript without a hit in them (``places``: what the gate saw
    of each transcript). ``numbers``: segments.csv's start and end as
    :func:`_plain_integers` read them. A worker's job, started once every table is parsed."""
    problems: list[Problem] = []
    free = None  # the gate, what it saw of each transcript, and a flag per segment
    if gate is not None and "segments" in read:
        free = (gate, places, np.zeros(len(read["segments"]), dtype=bool))
    if len(tables) == len(TABLES):
        problems += _check_references(tables)
        problems += _check_offsets(folder, tables["segments"], numbers, free=free)
    if gate is not None:
        from .anonymity import gate_tables

        skip = {} if free is None else {("segments.csv", "text"): free[2]}
        problems += gate_tables(gate, read, None, skip)
    return problems


_LONG_QUOTE = re.compile(r'"([^"]{81,})"|\'([^\']{81,})\'')


def _quoted_shortly(message: str) -> str:
    """frictionless's message with each long quoted value cut to its start, the whole to a
    few lines: it quotes the descriptor's values whole, and they may be thousands long."""
    message = _LONG_QUOTE.sub(lambda m: '"' + shortened(m.group(1) or m.group(2), 80) + '"',
                              message)
    return shortened(message, 400)


def _check_descriptor(folder: Path, descriptor: dict[str, Any]) -> list[Problem]:
    problems: list[Problem] = []
    try:
        from frictionless import Package

        # The four tables carry the schemas worth checking; transcripts are plain
        # files whose path and hash are checked below, and listing a thousand of
        # them would make frictionless's schema validation slow.
        tabular = dict(descriptor)
        if isinstance(descriptor.get("resources"), list):
            tabular["resources"] = [r for r in descriptor["resources"]
                                    if not isinstance(r, dict) or "schema" in r]
        report = Package.validate_descriptor(tabular)
        for error in report.flatten(["message"])[:20]:
            problems.append(Problem(DESCRIPTOR, None, None, _quoted_shortly(error[0])))
    except Exception as err:  # frictionless raises its own types for odd descriptors
        problems.append(Problem(DESCRIPTOR, None, None,
                                _quoted_shortly(f"not a valid data package: {err}")))
    meta = descriptor.get("compendium")
    if not isinstance(meta, dict) or not isinstance(meta.get("synthetic"), bool):
        problems.append(Problem(DESCRIPTOR, None, "compendium.synthetic",
                                "must be true or false: say whether the data are synthetic"))
    resources = descriptor.get("resources")
    if not isinstance(resources, list):
        return problems + [Problem(DESCRIPTOR, None, "resources", "must be a list")]
    paths = {r.get("path") for r in resources if isinstance(r, dict)}
    for table in TABLES:
        if f"{table}.csv" not in paths:
            problems.append(Problem(DESCRIPTOR, None, "resources",
                                    f"no resource for {table}.csv"))
    for resource in resources:
        if not isinstance(resource, dict) or not isinstance(resource.get("path"), str):
            problems.append(Problem(DESCRIPTOR, None, "resources", "resource without a path"))
            continue
        rel = resource["path"]
        path = folder / rel
        shown = shortened(rel, 80)  # a hand-edited descriptor may name anything
        if not is_inside(folder, path) or Path(rel).is_absolute():
            problems.append(Problem(DESCRIPTOR, None, "resources",
                                    f"path '{shown}' points outside the dataset folder"))
            continue
        if _name_too_long(path):
            problems.append(Problem(DESCRIPTOR, None, "resources", f"path '{shown}' is longer "
                                    "than this system allows a file name to be"))
            continue
        problem = regular_file_problem(path)
        if problem:
            problems.append(Problem(rel, None, None, "listed in datapackage.json but missing"
                                    if problem == "no such file" else problem))
            continue
        recorded = str(resource.get("hash", ""))
        if not recorded.startswith("sha256:"):
            problems.append(Problem(rel, None, None,
                                    "no sha256 in datapackage.json; run `compendium freeze "
                                    f"{folder}` to record it"))
        elif not file_matches_hash(path, resource):
            problems.append(Problem(rel, None, None,
                                    "changed since the dataset was frozen (sha256 differs from "
                                    "datapackage.json); if the edit was deliberate, run "
                                    f"`compendium freeze {folder}`"))
    listed = {str(folder / p) for p in paths if isinstance(p, str)}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != DESCRIPTOR and str(path) not in listed \
                and not path.name.startswith("."):
            rel = path.relative_to(folder).as_posix()
            problems.append(Problem(rel, None, None,
                                    "not listed in datapackage.json; run `compendium freeze "
                                    f"{folder}` to add it"))
    return problems


def _check_columns(table: str, frame: pd.DataFrame, descriptor: dict) -> list[Problem]:
    label = f"{table}.csv"
    problems = []
    known = {f["name"] for f in TABLE_SCHEMAS[table]["fields"]}
    declared = set()
    for resource in descriptor.get("resources", []) or []:
        if isinstance(resource, dict) and resource.get("path") == label:
            fields = (resource.get("schema") or {}).get("fields") or []
            declared = {f.get("name") for f in fields if isinstance(f, dict)}
    for column in TABLE_SCHEMAS[table]["fields"]:
        if column["constraints"].get("required") and column["name"] not in frame.columns:
            problems.append(Problem(label, None, column["name"], "required column is missing"))
    for column in frame.columns:
        if column not in known and column not in declared:
            problems.append(Problem(label, None, column,
                                    "column not declared in the table's schema in "
                                    "datapackage.json"))
    if len(frame) == 0:
        problems.append(Problem(label, None, None, "has a header but no rows"))
    return problems


def _rows(index: Iterable[int]) -> list[int]:
    """CSV row numbers (header is row 1) for positional indices."""
    return [int(i) + 2 for i in index]


def _plain_integers(table: str, frame: pd.DataFrame,
                    widths: dict[str, int] | None = None) -> dict[str, np.ndarray]:
    """The integer columns of ``table`` whose every given value is plain digits, read
    as :func:`column_numbers` reads them (NaN where missing): what
    :func:`_check_fields` leaves in ``numbers_out``, read before it runs; each such
    column's longest value's length in ``widths``, when given."""
    out: dict[str, np.ndarray] = {}
    for spec in TABLE_SCHEMAS[table]["fields"]:
        name = spec["name"]
        if spec["type"] != "integer" or name not in frame:
            continue
        column = frame[name]
        present = ~column.isna().to_numpy()
        whole = bool(present.all())
        cells = column.to_numpy(dtype=object)
        digits = plain_digits(cells if whole else cells[present])
        if digits is not None:
            plain, longest = digits
            if widths is not None:
                widths[name] = longest
            out[name] = plain if whole else np.full(len(cells), np.nan)
            if not whole:
                out[name][present] = plain
    return out


def _check_fields(table: str, frame: pd.DataFrame,
                  numbers_out: dict[str, np.ndarray] | None = None, *,
                  known: Mapping[str, np.ndarray] | None = None) -> list[Problem]:
    """Types, required values, enums, minimums, patterns, uniqueness and size.

    An integer column whose every given value is plain digits is left in
    ``numbers_out`` as :func:`column_numbers` would read it, so that later checks
    do not convert a million numbers again. ``known`` holds such columns already
    read (:func:`_plain_integers`): plain digits are neither blank nor long nor
    other than whole, so only missing values and minimums are left to check.
    """
    label = f"{table}.csv"
    problems: list[Problem] = []
    frame = frame.reset_index(drop=True)
    for spec in TABLE_SCHEMAS[table]["fields"]:
        name = spec["name"]
        if name not in frame:
            continue
        column = frame[name]
        constraints = spec["constraints"]
        if known is not None and name in known and spec["type"] == "integer" \
                and not {"enum", "pattern", "unique"} & constraints.keys():
            problems += _known_integers(label, name, constraints, known[name],
                                        column.to_numpy(dtype=object))
            if numbers_out is not None:
                numbers_out[name] = known[name]
            continue
        # Plain Python strings in a numpy array: str methods mapped over them are
        # several times faster than pandas' .str accessor on a million cells.
        cells = column.to_numpy(dtype=object)
        present = ~column.isna().to_numpy()
        whole = bool(present.all())
        texts = cells if whole else cells[present]
        lengths = np.fromiter(map(len, texts), np.int64, len(texts))
        # blank: strip() would leave nothing
        blank = (lengths == 0) | np.fromiter(map(str.isspace, texts), bool, len(texts))
        whole = whole and not blank.any()
        if constraints.get("required") and not whole:
            missing = ~present
            missing[present] = blank
            for row in _rows(np.flatnonzero(missing)):
                problems.append(Problem(label, row, name, "value is required"))
        # The values checked below and the row of each (None: every cell, in order).
        # Usually every cell is given: no copy of a million cells is made then.
        positions: np.ndarray | None = None
        values = texts
        if not whole:
            kept = ~blank
            positions, values, lengths = np.flatnonzero(present)[kept], texts[kept], lengths[kept]
        for row in _rows(_at(positions, lengths > MAX_FIELD_CHARS)):
            problems.append(Problem(label, row, name,
                                    f"value longer than {MAX_FIELD_CHARS:,} characters"))
        if spec["type"] == "integer":
            plain = plain_numbers(values)
            numbers = plain if plain is not None else whole_numbers(values, strip=True)
            if plain is not None and numbers_out is not None and len(values) == len(texts):
                # no blank value, so the values are the filled cells, whole
                numbers_out[name] = plain if positions is None else np.full(len(cells), np.nan)
                if positions is not None:
                    numbers_out[name][positions] = plain
            bad = np.isnan(numbers) | (numbers != np.floor(numbers))
            for row, value in zip(_rows(_at(positions, bad)), values[bad], strict=True):
                problems.append(Problem(
                    label, row, name, f"'{shortened(value)}' is not a whole number"))
            if "minimum" in constraints:
                low = (~bad) & (numbers < constraints["minimum"])
                for row, value in zip(_rows(_at(positions, low)), values[low], strict=True):
                    problems.append(Problem(
                        label, row, name, f"{value} is below the minimum {constraints['minimum']}"))
        if "enum" in constraints:
            allowed = constraints["enum"]
            bad = ~pd.Series(values, dtype=object).isin(allowed).to_numpy()
            for row, value in zip(_rows(_at(positions, bad)), values[bad], strict=True):
                problems.append(Problem(label, row, name,
                                        f"'{shortened(value)}' is not one of {', '.join(allowed)}"))
        if "pattern" in constraints:
            bad = ~fullmatch_all(constraints["pattern"].strip("^$"), values)
            for row, value in zip(_rows(_at(positions, bad)), values[bad], strict=True):
                problems.append(Problem(label, row, name,
                                        f"'{shortened(value)}' is not a valid id (letters, digits, "
                                        "'.', '-', '_'; starting with a letter or digit)"))
        if constraints.get("unique"):
            dup = pd.Series(values, dtype=object).duplicated(keep="first").to_numpy()
            for row, value in zip(_rows(_at(positions, dup)), values[dup], strict=True):
                problems.append(Problem(label, row, name, f"duplicate id '{shortened(value)}'"))
    key = TABLE_SCHEMAS[table]["primaryKey"]
    if len(key) > 1 and set(key) <= set(frame.columns):
        dup = frame.duplicated(subset=key, keep="first")
        for row in _rows(np.flatnonzero(dup.to_numpy())):
            problems.append(Problem(label, row, None,
                                    f"duplicate row: the same ({', '.join(key)}) appears earlier"))
    return problems


def _known_integers(label: str, name: str, constraints: Mapping[str, Any], numbers: np.ndarray,
                    cells: np.ndarray) -> list[Problem]:
    """:func:`_check_fields`'s problems of an integer column of plain digits, read as
    ``numbers`` (NaN where missing), whose cells are ``cells``."""
    problems: list[Problem] = []
    present = ~np.isnan(numbers)
    if constraints.get("required"):
        for row in _rows(np.flatnonzero(~present)):
            problems.append(Problem(label, row, name, "value is required"))
    if "minimum" in constraints:
        low = present & (numbers < constraints["minimum"])
        for row, value in zip(_rows(np.flatnonzero(low)), cells[low], strict=True):
            problems.append(Problem(
                label, row, name, f"{value} is below the minimum {constraints['minimum']}"))
    return problems


def _at(positions: np.ndarray | None, mask: np.ndarray) -> np.ndarray:
    """The rows (positional) where ``mask`` holds, of values at ``positions`` (None: every row)."""
    return np.flatnonzero(mask) if positions is None else positions[mask]


def _check_references(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    problems: list[Problem] = []
    participants, codebook = tables["participants"], tables["codebook"]
    segments, codings = tables["segments"], tables["codings"]

    def dangling(frame: pd.DataFrame, column: str, valid: pd.Series) -> pd.Series:
        """Rows whose value in ``column`` is given but not among ``valid``."""
        values = frame[column]
        return values.notna() & ~_among(values, valid.dropna())

    bad = dangling(segments, "participant_id", participants["participant_id"])
    for row, value in zip(_rows(np.flatnonzero(bad)), segments["participant_id"][bad], strict=True):
        problems.append(Problem("segments.csv", row, "participant_id",
                                f"'{shortened(value)}' is not in participants.csv"))
    # One factorisation of both tables' segment ids answers both directions: a
    # coding's segment missing from segments.csv, and a segment without a coding.
    in_segments, in_codings = _among_each_other(codings["segment_id"], segments["segment_id"])
    bad = codings["segment_id"].notna() & ~in_segments
    for row, value in zip(_rows(np.flatnonzero(bad)), codings["segment_id"][bad], strict=True):
        problems.append(Problem("codings.csv", row, "segment_id",
                                f"'{shortened(value)}' is not in segments.csv"))
    bad = dangling(codings, "code_id", codebook["code_id"])
    for row, value in zip(_rows(np.flatnonzero(bad)), codings["code_id"][bad], strict=True):
        problems.append(Problem("codings.csv", row, "code_id",
                                f"'{shortened(value)}' is not in codebook.csv"))
    if "level" in codebook:
        levels = codebook.set_index("code_id")["level"].fillna("code")
        levels = levels[~levels.index.duplicated()]
        applied = codings["code_id"].map(levels)
        not_code = applied.notna() & (applied != "code")
        for row, value, level in zip(_rows(np.flatnonzero(not_code)),
                                     codings["code_id"][not_code], applied[not_code], strict=True):
            problems.append(Problem("codings.csv", row, "code_id",
                                    f"'{shortened(value)}' is a {level} in codebook.csv, "
                                    "not a code that can be applied"))
        themes = set(codebook.loc[codebook["level"] == "theme", "code_id"])
        if themes:
            bad = codebook["theme"].notna() & ~codebook["theme"].isin(themes)
            for row, value in zip(_rows(np.flatnonzero(bad)), codebook["theme"][bad], strict=True):
                problems.append(Problem("codebook.csv", row, "theme",
                                        f"'{shortened(value)}' is not a theme-level entry"))
    if "parent_id" in codebook:
        bad = dangling(codebook, "parent_id", codebook["code_id"])
        for row, value in zip(_rows(np.flatnonzero(bad)), codebook["parent_id"][bad], strict=True):
            problems.append(Problem("codebook.csv", row, "parent_id",
                                    f"'{shortened(value)}' is not a code_id in codebook.csv"))
        problems += _check_cycles(codebook)
    uncoded = ~in_codings
    for row, value in zip(_rows(np.flatnonzero(uncoded)), segments["segment_id"][uncoded],
        strict=True):
        problems.append(Problem("segments.csv", row, "segment_id",
                                f"segment '{shortened(value)}' has no coding in codings.csv"))
    return problems


def _among(values: pd.Series, valid: pd.Series) -> pd.Series:
    """``values.isin(set(valid))`` (a missing value is among ``valid`` when one is missing
    there), by one factorisation of both instead of a Python set of a million strings."""
    return _among_each_other(values, valid)[0]


def _among_each_other(left: pd.Series, right: pd.Series) -> tuple[pd.Series, pd.Series]:
    """``(_among(left, right), _among(right, left))`` from one factorisation of both."""
    both = np.concatenate([left.to_numpy(dtype=object), right.to_numpy(dtype=object)])
    codes, uniques = pd.factorize(both)
    codes = np.where(codes < 0, len(uniques), codes)  # missing: one extra slot
    in_left = np.zeros(len(uniques) + 1, dtype=bool)
    in_left[codes[: len(left)]] = True
    in_right = np.zeros(len(uniques) + 1, dtype=bool)
    in_right[codes[len(left):]] = True
    return (pd.Series(in_right[codes[: len(left)]], index=left.index),
            pd.Series(in_left[codes[len(left):]], index=right.index))


def _check_cycles(codebook: pd.DataFrame) -> list[Problem]:
    parent = dict(zip(codebook["code_id"], codebook["parent_id"], strict=True))
    problems = []
    for position, code in enumerate(codebook["code_id"]):
        seen, current = set(), code
        while isinstance(current, str) and current in parent:
            if current in seen:
                problems.append(Problem("codebook.csv", position + 2, "parent_id",
                                        f"'{code}' is its own ancestor (cycle in parent_id)"))
                break
            seen.add(current)
            current = parent[current]
    return problems


def _check_offsets(folder: Path, segments: pd.DataFrame,
                   numbers: Mapping[str, np.ndarray] | None = None,
                   free: tuple[Gate, Mapping[str, TextPlaces], np.ndarray] | None = None
                   ) -> list[Problem]:
    """Offsets given together, in order, inside their transcript and matching its text;
    ``numbers`` holds start and end already read by :func:`_check_fields`, where it did.

    ``free`` (the gate, what it saw of each transcript, and one flag per row) has
    the rows set whose text matches its slice of a transcript the gate scanned and
    holds no hit there (:func:`~compendium.dataset.anonymity.hit_free_slices`).
    """
    problems: list[Problem] = []
    label = "segments.csv"
    frame = segments.reset_index(drop=True)
    has_start = frame["start"].notna() if "start" in frame else pd.Series(False, index=frame.index)
    has_end = frame["end"].notna() if "end" in frame else pd.Series(False, index=frame.index)
    half = has_start ^ has_end
    for row in _rows(np.flatnonzero(half)):
        problems.append(Problem(label, row, "start" if has_end.iloc[row - 2] else "end",
                                "start and end must be given together"))
    located = has_start & has_end
    if not located.any():
        return problems
    numbers = numbers or {}
    start = pd.Series(numbers["start"] if "start" in numbers else column_numbers(frame["start"]),
                      index=frame.index)
    end = pd.Series(numbers["end"] if "end" in numbers else column_numbers(frame["end"]),
                    index=frame.index)
    numeric = located & start.notna() & end.notna()
    reversed_ = numeric & (end <= start)
    for row, s, e in zip(_rows(np.flatnonzero(reversed_)), start[reversed_], end[reversed_],
        strict=True):
        problems.append(Problem(label, row, "end", f"end {int(e)} is not after start {int(s)}"))
    ok = (numeric & ~reversed_ & (start >= 0)).to_numpy(dtype=bool)
    located_rows = np.flatnonzero(ok)
    starts = start[ok].astype(int).to_numpy()
    ends = end[ok].astype(int).to_numpy()
    texts = frame["text"].to_numpy(dtype=object)[located_rows]
    # One transcript at a time, in sorted order, rows in file order: positions
    # into the located rows, grouped by source without a pandas groupby per group.
    groups, sources = pd.factorize(default_sources(frame).to_numpy(dtype=object)[located_rows],
                                   sort=True)
    order = np.argsort(groups, kind="stable")
    bounds = np.searchsorted(groups[order], np.arange(len(sources) + 1))
    for number, rel in enumerate(sources):
        members = order[bounds[number]:bounds[number + 1]]
        rows = located_rows[members]
        path = folder / rel
        shown = shortened(rel, 80)  # a source may be any cell of a hostile table
        if not is_inside(folder, path):
            for row in _rows(rows[:1]):
                problems.append(Problem(label, row, "source",
                                        f"'{shown}' points outside the dataset folder"))
            continue
        if _name_too_long(path):  # Path.exists would raise; the row's cell is at fault
            for row in _rows(rows[:1]):
                problems.append(Problem(label, row, "source", f"'{shown}' is longer than "
                                        "this system allows a file name to be"))
            continue
        # a dangling link is left to the reader, which names it
        if regular_file_problem(path) == "no such file" and not os.path.lexists(path):
            for row in _rows(rows):
                problems.append(Problem(label, row, "source", f"transcript '{shown}' not found"))
            continue
        try:
            transcript = read_transcript_text(path, shown)
        except CompendiumError as err:
            problems.append(read_problem(shown, err))
            continue
        s, e = starts[members], ends[members]
        outside = e > len(transcript)
        for row, value in zip(_rows(rows[outside]), e[outside], strict=True):
            problems.append(Problem(label, row, "end", f"{value} is past the end of {rel} "
                                                       f"({len(transcript)} characters)"))
        within = ~outside
        slices = list(map(transcript.__getitem__, map(slice, s[within].tolist(),
                                                      e[within].tolist())))
        mismatch = _differ(texts[members][within], slices)
        if free is not None and rel in free[1]:
            from .anonymity import hit_free_slices

            same = ~mismatch
            free[2][rows[within][same]] = hit_free_slices(
                free[0], free[1][rel], transcript, s[within][same], e[within][same])
        for row, got in zip(_rows(rows[within][mismatch]),
                            np.asarray(slices, dtype=object)[mismatch], strict=True):
            problems.append(Problem(label, row, "text",
                                    f"does not match {rel}[start:end], which reads "
                                    f"'{shortened(got, 50)}'"))
    return problems


def _name_too_long(path: Path) -> bool:
    """Whether the system refuses ``path`` as a name (ENAMETOOLONG: a part over 255 bytes,
    or the whole over 4,096)."""
    try:
        os.lstat(path)
    except OSError as err:
        return err.errno == errno.ENAMETOOLONG
    return False


def _differ(texts: np.ndarray, slices: list[str]) -> np.ndarray:
    """Whether each of ``texts`` differs from the slice of its transcript beside it.

    Usually none does, and one comparison of the two joined by NUL says so: when
    the texts hold no NUL (read_table refuses it in a table), equal joins have
    their NULs in the same places and therefore equal pieces. Otherwise each pair
    is compared.
    """
    wanted = texts.tolist()
    try:
        joined = "\x00".join(wanted)
        if joined.count("\x00") == len(wanted) - 1 and joined == "\x00".join(slices):
            return np.zeros(len(slices), dtype=bool)
    except TypeError:  # a missing text (NaN) is not a string; it differs from its slice
        pass
    return np.fromiter(map(operator.ne, wanted, slices), bool, len(slices))


def _check_coders(descriptor: dict, codings: pd.DataFrame) -> list[Problem]:
    meta = descriptor.get("compendium")
    primary = meta.get("primary_coder") if isinstance(meta, dict) else None
    if primary and primary not in set(codings["coder"].unique()):
        return [Problem(DESCRIPTOR, None, "compendium.primary_coder",
                        f"'{primary}' has no codings in codings.csv")]
    return []
