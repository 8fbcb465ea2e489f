"""Loading, validating and writing a dataset folder.

A dataset is a Frictionless Data Package (see ``data/README.md``). Validation
is complete rather than fail-fast: every problem is collected and reported as
``FILE:ROW: column: message`` so a researcher can fix a whole export at once.
The checks are vectorised with pandas so that a dataset of a million coded
segments validates in seconds; the descriptor itself is checked with the
``frictionless`` library.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .datapackage import (
    DESCRIPTOR,
    TABLE_SCHEMAS,
    TABLES,
    build_descriptor,
    dataset_hash,
    write_descriptor,
)
from .errors import CompendiumError, Problem, ValidationError
from .fileio import replace_dir, sha256_file

#: Largest CSV field accepted, in characters; larger ones are refused as hostile.
MAX_FIELD_CHARS = 1_000_000


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: four tidy tables, the transcripts and the descriptor."""

    path: Path
    descriptor: dict[str, Any]
    participants: pd.DataFrame
    codebook: pd.DataFrame
    segments: pd.DataFrame
    codings: pd.DataFrame
    transcripts: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return str(self.descriptor.get("name", self.path.name))

    @property
    def title(self) -> str:
        return str(self.descriptor.get("title", self.name))

    @property
    def synthetic(self) -> bool:
        return bool(self.descriptor.get("compendium", {}).get("synthetic", False))

    @property
    def primary_coder(self) -> str:
        """The coder whose codings are analysed: named in the descriptor, else the busiest."""
        named = self.descriptor.get("compendium", {}).get("primary_coder")
        if named:
            return str(named)
        counts = self.codings["coder"].value_counts()
        return str(sorted(counts[counts == counts.max()].index)[0]) if len(counts) else ""

    @property
    def hash(self) -> str:
        return dataset_hash(self.descriptor)

    @property
    def coders(self) -> list[str]:
        return sorted(self.codings["coder"].unique().tolist())

    @property
    def interview_guide(self) -> str | None:
        guide = self.path / "interview_guide.md"
        return guide.read_text(encoding="utf-8") if guide.exists() else None


# --------------------------------------------------------------------------
# Reading


def read_table(path: Path, label: str | None = None) -> pd.DataFrame:
    """Read one CSV as strings, turning every parse failure into a CompendiumError.

    All columns are read as text (empty cells become missing) so that type
    checks can report the offending row instead of pandas guessing types.
    """
    label = label or path.name
    if not path.exists():
        raise CompendiumError(f"{label}: file not found")
    raw = path.read_bytes()
    if not raw.strip():
        raise CompendiumError(f"{label}: file is empty (expected a header row and data)")
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise CompendiumError(f"{label}: file is UTF-16 encoded; save it as UTF-8")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = raw[: err.start].count(b"\n") + 1
        raise CompendiumError(
            f"{label}:{line}: not valid UTF-8 (byte 0x{raw[err.start]:02x}); "
            "save the file as UTF-8"
        ) from None
    if "\x00" in text:
        raise CompendiumError(f"{label}: contains NUL characters; not a text CSV file")
    import io

    try:
        frame = pd.read_csv(
            io.StringIO(text), dtype=str, keep_default_na=False, na_values=[""],
            on_bad_lines="error", engine="c",
        )
    except pd.errors.ParserError as err:
        raise CompendiumError(f"{label}: cannot parse CSV ({_parser_message(err)})") from None
    except pd.errors.EmptyDataError:
        raise CompendiumError(f"{label}: file is empty (expected a header row)") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    duplicated = [c for c in frame.columns if c.rsplit(".", 1)[0] in frame.columns and "." in c]
    if duplicated:
        raise CompendiumError(f"{label}: duplicate column name(s) in header")
    return frame


def _parser_message(err: Exception) -> str:
    message = str(err).strip().splitlines()[-1]
    # pandas counts lines from 1 including the header; say "row" as we do elsewhere
    return message.replace("Error tokenizing data. C error: ", "")


def read_descriptor(folder: Path) -> dict[str, Any]:
    path = folder / DESCRIPTOR
    if not folder.is_dir():
        raise CompendiumError(f"{folder}: not a dataset folder (no such directory)")
    if not path.exists():
        raise CompendiumError(f"{path}: missing; a dataset folder needs a datapackage.json")
    try:
        descriptor = json.loads(path.read_text(encoding="utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as err:
        raise CompendiumError(f"{path}: not valid JSON ({err})") from None
    if not isinstance(descriptor, dict):
        raise CompendiumError(f"{path}: must hold a JSON object")
    return descriptor


def load_dataset(folder: str | Path, *, validate: bool = True,
                 anonymity: bool = True) -> Dataset:
    """Load a dataset folder; with ``validate`` (the default) refuse an invalid one.

    ``anonymity=False`` validates the structure only, without the anonymisation
    gate: for tools that move data within the team (export to a QDA package), not
    for anything that publishes.
    """
    folder = Path(folder)
    if validate:
        problems = validate_dataset(folder, anonymity=anonymity)
        if problems:
            raise ValidationError(str(folder), problems)
    descriptor = read_descriptor(folder)
    tables = {t: _typed(t, read_table(folder / f"{t}.csv", f"{t}.csv")) for t in TABLES}
    transcripts = _read_transcripts(folder, tables["segments"])
    return Dataset(path=folder, descriptor=descriptor, transcripts=transcripts, **tables)


def _typed(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Apply the schema's integer types and the documented defaults."""
    schema = TABLE_SCHEMAS[table]
    for spec in schema["fields"]:
        name = spec["name"]
        if name in frame and spec["type"] == "integer":
            frame[name] = pd.to_numeric(frame[name], errors="coerce").astype("Int64")
    if table == "codebook":
        if "level" not in frame:
            frame["level"] = "code"
        frame["level"] = frame["level"].fillna("code")
        if "parent_id" not in frame:
            frame["parent_id"] = pd.NA
    if table == "segments":
        for optional in ("source", "start", "end"):
            if optional not in frame:
                frame[optional] = pd.NA
        frame["start"] = frame["start"].astype("Int64")
        frame["end"] = frame["end"].astype("Int64")
    return frame


def _default_sources(segments: pd.DataFrame) -> pd.Series:
    source = segments["source"] if "source" in segments else pd.Series(pd.NA, index=segments.index)
    default = "transcripts/" + segments["participant_id"].astype(str) + ".txt"
    return source.fillna(default).astype(str)


def _read_transcripts(folder: Path, segments: pd.DataFrame) -> dict[str, str]:
    transcripts = {}
    sources = set(_default_sources(segments)) if len(segments) else set()
    for rel in sorted(sources):
        path = folder / rel
        if _inside(folder, path) and path.is_file():
            transcripts[rel] = _read_transcript_text(path)
    return transcripts


def _read_transcript_text(path: Path) -> str:
    """A transcript as code points: BOM stripped, line endings kept as written."""
    return path.read_bytes().decode("utf-8-sig")


def _inside(folder: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(folder.resolve())
    except ValueError:
        return False
    return True


# --------------------------------------------------------------------------
# Validation


def validate_dataset(folder: str | Path, identifiers: str | Path | Any = None, *,
                     anonymity: bool = True) -> list[Problem]:
    """Every problem in the dataset at ``folder``; an empty list means valid.

    With ``anonymity`` (the default) the anonymisation gate of
    :mod:`compendium.anonymity` runs too, so a dataset holding a direct identifier
    is not valid. ``identifiers`` is the identifiers list to check against (a path
    or a parsed list); ``None`` uses ``identifiers.txt`` at the repository root
    when there is one (see :func:`compendium.anonymity.default_identifiers_path`).
    """
    folder = Path(folder)
    try:
        descriptor = read_descriptor(folder)
    except CompendiumError as err:
        return [Problem(DESCRIPTOR, None, None, str(err).split(": ", 1)[-1])]
    problems = _check_descriptor(folder, descriptor)
    tables: dict[str, pd.DataFrame] = {}
    read: dict[str, pd.DataFrame] = {}
    for table in TABLES:
        label = f"{table}.csv"
        try:
            frame = read_table(folder / label, label)
        except CompendiumError as err:
            problems.append(_read_problem(label, err))
            continue
        read[table] = frame
        table_problems = _check_columns(table, frame, descriptor)
        problems += table_problems
        if not any(p.row is None for p in table_problems):
            problems += _check_fields(table, frame)
            tables[table] = frame
    if len(tables) == len(TABLES):
        problems += _check_references(tables)
        problems += _check_offsets(folder, tables["segments"])
        problems += _check_coders(descriptor, tables["codings"])
    if anonymity:
        from .anonymity import gate_problems

        problems += gate_problems(folder, read, identifiers)
    return sorted(set(problems), key=_problem_order)


def _read_problem(label: str, err: CompendiumError) -> Problem:
    """A read_table error as a Problem, keeping the line it names (``FILE:LINE: message``)."""
    head, _, message = str(err).partition(": ")
    file, _, line = head.partition(":")
    row = int(line) if file == label and line.isdigit() else None
    return Problem(label, row, None, message or str(err))


def _problem_order(problem: Problem) -> tuple:
    file_rank = {f"{t}.csv": i for i, t in enumerate(TABLES)}
    return (file_rank.get(problem.file, -1 if problem.file == DESCRIPTOR else 99),
            problem.file, problem.row or 0, problem.column or "", problem.message)


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
            problems.append(Problem(DESCRIPTOR, None, None, error[0]))
    except Exception as err:  # frictionless raises its own types for odd descriptors
        problems.append(Problem(DESCRIPTOR, None, None, f"not a valid data package: {err}"))
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
        if not _inside(folder, path) or Path(rel).is_absolute():
            problems.append(Problem(DESCRIPTOR, None, "resources",
                                    f"path '{rel}' points outside the dataset folder"))
            continue
        if not path.is_file():
            problems.append(Problem(rel, None, None, "listed in datapackage.json but missing"))
            continue
        recorded = str(resource.get("hash", ""))
        if not recorded.startswith("sha256:"):
            problems.append(Problem(rel, None, None,
                                    "no sha256 in datapackage.json; run `compendium freeze "
                                    f"{folder}` to record it"))
        elif recorded.removeprefix("sha256:") != sha256_file(path):
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


def _check_fields(table: str, frame: pd.DataFrame) -> list[Problem]:
    """Types, required values, enums, minimums, patterns, uniqueness and size."""
    label = f"{table}.csv"
    problems: list[Problem] = []
    frame = frame.reset_index(drop=True)
    for spec in TABLE_SCHEMAS[table]["fields"]:
        name = spec["name"]
        if name not in frame:
            continue
        column = frame[name]
        constraints = spec["constraints"]
        missing = column.isna() | (column.astype(str).str.strip() == "")
        if constraints.get("required"):
            for row in _rows(np.flatnonzero(missing.to_numpy())):
                problems.append(Problem(label, row, name, "value is required"))
        present = ~missing
        values = column[present].astype(str)
        too_long = values.str.len() > MAX_FIELD_CHARS
        for row in _rows(values.index[too_long]):
            problems.append(Problem(label, row, name,
                                    f"value longer than {MAX_FIELD_CHARS:,} characters"))
        if spec["type"] == "integer":
            numbers = pd.to_numeric(values.str.strip(), errors="coerce")
            bad = numbers.isna() | (numbers != np.floor(numbers))
            for row, value in zip(_rows(values.index[bad]), values[bad]):
                problems.append(Problem(label, row, name, f"'{_short(value)}' is not a whole number"))
            if "minimum" in constraints:
                low = (~bad) & (numbers < constraints["minimum"])
                for row, value in zip(_rows(values.index[low]), values[low]):
                    problems.append(Problem(label, row, name,
                                            f"{value} is below the minimum {constraints['minimum']}"))
        if "enum" in constraints:
            allowed = constraints["enum"]
            bad = ~values.isin(allowed)
            for row, value in zip(_rows(values.index[bad]), values[bad]):
                problems.append(Problem(label, row, name,
                                        f"'{_short(value)}' is not one of {', '.join(allowed)}"))
        if "pattern" in constraints:
            bad = ~values.str.fullmatch(constraints["pattern"].strip("^$"))
            for row, value in zip(_rows(values.index[bad]), values[bad]):
                problems.append(Problem(label, row, name,
                                        f"'{_short(value)}' is not a valid id (letters, digits, "
                                        "'.', '-', '_'; starting with a letter or digit)"))
        if constraints.get("unique"):
            dup = values.duplicated(keep="first")
            for row, value in zip(_rows(values.index[dup]), values[dup]):
                problems.append(Problem(label, row, name, f"duplicate id '{_short(value)}'"))
    key = TABLE_SCHEMAS[table]["primaryKey"]
    if len(key) > 1 and set(key) <= set(frame.columns):
        dup = frame.duplicated(subset=key, keep="first")
        for row in _rows(np.flatnonzero(dup.to_numpy())):
            problems.append(Problem(label, row, None,
                                    f"duplicate row: the same ({', '.join(key)}) appears earlier"))
    return problems


def _short(value: object, limit: int = 60) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _check_references(tables: dict[str, pd.DataFrame]) -> list[Problem]:
    problems: list[Problem] = []
    participants, codebook = tables["participants"], tables["codebook"]
    segments, codings = tables["segments"], tables["codings"]

    def dangling(frame: pd.DataFrame, column: str, valid: pd.Series) -> pd.Series:
        values = frame[column]
        return values.notna() & ~values.isin(set(valid.dropna()))

    bad = dangling(segments, "participant_id", participants["participant_id"])
    for row, value in zip(_rows(np.flatnonzero(bad)), segments["participant_id"][bad]):
        problems.append(Problem("segments.csv", row, "participant_id",
                                f"'{_short(value)}' is not in participants.csv"))
    bad = dangling(codings, "segment_id", segments["segment_id"])
    for row, value in zip(_rows(np.flatnonzero(bad)), codings["segment_id"][bad]):
        problems.append(Problem("codings.csv", row, "segment_id",
                                f"'{_short(value)}' is not in segments.csv"))
    bad = dangling(codings, "code_id", codebook["code_id"])
    for row, value in zip(_rows(np.flatnonzero(bad)), codings["code_id"][bad]):
        problems.append(Problem("codings.csv", row, "code_id",
                                f"'{_short(value)}' is not in codebook.csv"))
    if "level" in codebook:
        levels = codebook.set_index("code_id")["level"].fillna("code")
        levels = levels[~levels.index.duplicated()]
        applied = codings["code_id"].map(levels)
        not_code = applied.notna() & (applied != "code")
        for row, value, level in zip(_rows(np.flatnonzero(not_code)),
                                     codings["code_id"][not_code], applied[not_code]):
            problems.append(Problem("codings.csv", row, "code_id",
                                    f"'{_short(value)}' is a {level} in codebook.csv, "
                                    "not a code that can be applied"))
        themes = set(codebook.loc[codebook["level"] == "theme", "code_id"])
        if themes:
            bad = codebook["theme"].notna() & ~codebook["theme"].isin(themes)
            for row, value in zip(_rows(np.flatnonzero(bad)), codebook["theme"][bad]):
                problems.append(Problem("codebook.csv", row, "theme",
                                        f"'{_short(value)}' is not a theme-level entry"))
    if "parent_id" in codebook:
        bad = dangling(codebook, "parent_id", codebook["code_id"])
        for row, value in zip(_rows(np.flatnonzero(bad)), codebook["parent_id"][bad]):
            problems.append(Problem("codebook.csv", row, "parent_id",
                                    f"'{_short(value)}' is not a code_id in codebook.csv"))
        problems += _check_cycles(codebook)
    uncoded = ~segments["segment_id"].isin(set(codings["segment_id"]))
    for row, value in zip(_rows(np.flatnonzero(uncoded)), segments["segment_id"][uncoded]):
        problems.append(Problem("segments.csv", row, "segment_id",
                                f"segment '{_short(value)}' has no coding in codings.csv"))
    return problems


def _check_cycles(codebook: pd.DataFrame) -> list[Problem]:
    parent = dict(zip(codebook["code_id"], codebook["parent_id"]))
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


def _check_offsets(folder: Path, segments: pd.DataFrame) -> list[Problem]:
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
    start = pd.to_numeric(frame["start"], errors="coerce")
    end = pd.to_numeric(frame["end"], errors="coerce")
    numeric = located & start.notna() & end.notna()
    reversed_ = numeric & (end <= start)
    for row, s, e in zip(_rows(np.flatnonzero(reversed_)), start[reversed_], end[reversed_]):
        problems.append(Problem(label, row, "end", f"end {int(e)} is not after start {int(s)}"))
    ok = numeric & ~reversed_ & (start >= 0)
    sources = _default_sources(frame)
    for rel, index in frame[ok].groupby(sources[ok], sort=True).groups.items():
        path = folder / rel
        rows = np.asarray([frame.index.get_loc(i) for i in index])
        if not _inside(folder, path):
            for row in _rows(rows[:1]):
                problems.append(Problem(label, row, "source",
                                        f"'{rel}' points outside the dataset folder"))
            continue
        if not path.is_file():
            for row in _rows(rows):
                problems.append(Problem(label, row, "source", f"transcript '{rel}' not found"))
            continue
        try:
            transcript = _read_transcript_text(path)
        except UnicodeDecodeError:
            problems.append(Problem(rel, None, None, "not valid UTF-8"))
            continue
        sub = frame.loc[index]
        s = start.loc[index].astype(int).to_numpy()
        e = end.loc[index].astype(int).to_numpy()
        outside = e > len(transcript)
        for row, value in zip(_rows(rows[outside]), e[outside]):
            problems.append(Problem(label, row, "end",
                                    f"{value} is past the end of {rel} ({len(transcript)} characters)"))
        inside = ~outside
        slices = [transcript[a:b] for a, b in zip(s[inside], e[inside])]
        texts = sub["text"].to_numpy()[inside]
        mismatch = np.fromiter((x != y for x, y in zip(texts, slices)), bool, len(slices))
        for row, got in zip(_rows(rows[inside][mismatch]), np.asarray(slices, dtype=object)[mismatch]):
            problems.append(Problem(label, row, "text",
                                    f"does not match {rel}[start:end], which reads "
                                    f"'{_short(got, 50)}'"))
    return problems


def _check_coders(descriptor: dict, codings: pd.DataFrame) -> list[Problem]:
    primary = (descriptor.get("compendium") or {}).get("primary_coder")
    if primary and primary not in set(codings["coder"]):
        return [Problem(DESCRIPTOR, None, "compendium.primary_coder",
                        f"'{primary}' has no codings in codings.csv")]
    return []


# --------------------------------------------------------------------------
# Writing


def write_dataset(
    dest: str | Path,
    *,
    participants: pd.DataFrame,
    codebook: pd.DataFrame,
    segments: pd.DataFrame,
    codings: pd.DataFrame,
    transcripts: dict[str, str] | None = None,
    interview_guide: str | None = None,
    files: dict[str, str] | None = None,
    name: str,
    title: str,
    description: str,
    synthetic: bool,
    primary_coder: str | None,
    extra: dict[str, Any] | None = None,
    overwrite: bool = False,
    validate: bool = True,
) -> Path:
    """Write a complete dataset folder atomically, validate it, and return its path.

    Files are written into a temporary folder beside ``dest`` and renamed into
    place only when everything (including validation) succeeded, so a failure
    never leaves a half-written dataset behind. ``files`` are further text files
    (such as ``anonymity_allowlist.csv``) by path relative to the dataset, written as given.
    """
    dest = Path(dest)
    if dest.exists() and not overwrite:
        raise CompendiumError(f"{dest}: already exists; choose a new folder")
    dest.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{dest.name}.", dir=dest.parent))
    try:
        frames = {"participants": participants, "codebook": codebook,
                  "segments": segments, "codings": codings}
        columns, inferred = {}, {}
        for table, frame in frames.items():
            frame = _drop_empty_optional(table, frame)
            columns[table] = list(frame.columns)
            inferred[table] = {c: "integer" for c in frame.columns
                               if pd.api.types.is_integer_dtype(frame[c])}
            _write_csv(frame, staging / f"{table}.csv")
        for rel, text in sorted({**(transcripts or {}), **(files or {})}.items()):
            target = staging / rel
            if not _inside(staging, target):
                raise CompendiumError(f"transcript path '{rel}' points outside the dataset")
            target.parent.mkdir(parents=True, exist_ok=True)
            # newline="" keeps the transcript's own line endings, which offsets count
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        if interview_guide is not None:
            (staging / "interview_guide.md").write_text(interview_guide, encoding="utf-8",
                                                        newline="\n")
        descriptor = build_descriptor(
            staging, name=name, title=title, description=description, synthetic=synthetic,
            primary_coder=primary_coder, table_columns=columns, inferred_types=inferred,
            extra=extra,
        )
        write_descriptor(staging, descriptor)
        if validate:
            # Structure only: imports and pseudonymisation write data that may still
            # hold identifiers; `compendium validate` and the build run the gate.
            problems = validate_dataset(staging, anonymity=False)
            if problems:
                raise ValidationError(str(dest), problems)
        os.chmod(staging, 0o755)
        replace_dir(staging, dest)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return dest


def _drop_empty_optional(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Leave out optional columns that are wholly empty, so exports stay tidy."""
    required = {f["name"] for f in TABLE_SCHEMAS[table]["fields"]
                if f["constraints"].get("required")}
    keep = [c for c in frame.columns if c in required or frame[c].notna().any()]
    return frame[keep]


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    import csv

    # The csv module quotes a field holding "\n" but not one holding a lone "\r",
    # which readers take for a line break; quote every text field in that case.
    texts = frame.select_dtypes(include=["object", "string"])
    lone_cr = any(texts[c].astype(str).str.contains("\r", regex=False).any() for c in texts)
    frame.to_csv(path, index=False, lineterminator="\n", encoding="utf-8",
                 quoting=csv.QUOTE_NONNUMERIC if lone_cr else csv.QUOTE_MINIMAL)


def freeze_dataset(folder: str | Path) -> list[str]:
    """Re-record the sha256 of every file after a deliberate edit.

    Returns the resources whose hash changed. Table schemas and metadata are
    kept; files added since the last freeze are listed as new resources.
    """
    folder = Path(folder)
    descriptor = read_descriptor(folder)
    old = {r.get("path"): r.get("hash") for r in descriptor.get("resources", [])
           if isinstance(r, dict)}
    tables = {t: read_table(folder / f"{t}.csv", f"{t}.csv") for t in TABLES}
    kept = {r["path"]: r for r in descriptor.get("resources", []) if isinstance(r, dict)}
    compendium = dict(descriptor.get("compendium") or {})
    fresh = build_descriptor(
        folder,
        name=descriptor.get("name", folder.name),
        title=descriptor.get("title", folder.name),
        description=descriptor.get("description", ""),
        synthetic=bool(compendium.pop("synthetic", False)),
        primary_coder=compendium.pop("primary_coder", None),
        table_columns={t: list(f.columns) for t, f in tables.items()},
        extra=compendium,
    )
    for resource in fresh["resources"]:
        previous = kept.get(resource["path"])
        if previous and "schema" in previous and "schema" in resource:
            names = [f.get("name") for f in previous["schema"].get("fields", [])]
            if names == [f["name"] for f in resource["schema"]["fields"]]:
                resource["schema"] = previous["schema"]
    fresh["licenses"] = descriptor.get("licenses", fresh["licenses"])
    write_descriptor(folder, fresh)
    return [r["path"] for r in fresh["resources"] if old.get(r["path"]) != r["hash"]]
