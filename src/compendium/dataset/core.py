"""Loading and writing a dataset folder: ``Dataset``, ``load_dataset``, ``write_dataset``
and ``freeze_dataset``.

A dataset is a Frictionless Data Package (see ``data/README.md``). Loading refuses an
invalid folder with every problem at once; the checks themselves live in
:mod:`compendium.dataset.validation`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import CompendiumError, Problem, ValidationError
from ..fileio import staged_folder
from ..userfile import regular_file_problem
from .datapackage import (
    DESCRIPTOR,
    INTERVIEW_GUIDE,
    TABLE_SCHEMAS,
    TABLES,
    build_descriptor,
    dataset_hash,
    descriptor_shape_problems,
    is_synthetic,
    read_descriptor,
    table_file,
    write_descriptor,
)
from .design import Design, analysis_tables, design_from_descriptor, unmapped_codes
from .tableio import (
    default_sources,
    is_inside,
    read_table,
    read_transcript_text,
    typed_table,
)
from .validation import validate_dataset


@dataclass(frozen=True)
class Dataset:
    """A loaded dataset: four tidy tables, the transcripts and the descriptor.

    ``codebook`` and ``codings`` are what the analysis sees: the codebook
    rebuilt around the design's three themes and the codings of the codes under
    them (:func:`compendium.design.analysis_tables`). ``raw_codebook`` and
    ``raw_codings`` are the tables as stored, for export and for the list of
    codes outside every theme (:attr:`unmapped`).
    """

    path: Path
    descriptor: dict[str, Any]
    participants: pd.DataFrame
    codebook: pd.DataFrame
    segments: pd.DataFrame
    codings: pd.DataFrame
    raw_codebook: pd.DataFrame
    raw_codings: pd.DataFrame
    # Required: load_dataset always derives one (the study's by default), and every display
    # reads its labels from it.
    design: Design
    transcripts: dict[str, str] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The dataset's name from its descriptor, else its folder name."""
        return str(self.descriptor.get("name", self.path.name))

    @property
    def title(self) -> str:
        """The dataset's title from its descriptor, else its name."""
        return str(self.descriptor.get("title", self.name))

    @property
    def synthetic(self) -> bool:
        """Whether the descriptor declares the data synthetic."""
        return is_synthetic(self.descriptor)

    @property
    def primary_coder(self) -> str:
        """The coder whose codings are analysed: named in the descriptor, else the busiest."""
        named = self.descriptor.get("compendium", {}).get("primary_coder")
        if named:
            return str(named)
        counts = self.all_codings["coder"].value_counts()
        return str(sorted(counts[counts == counts.max()].index)[0]) if len(counts) else ""

    @property
    def hash(self) -> str:
        """One sha256 for the whole dataset (see :func:`compendium.datapackage.dataset_hash`)."""
        return dataset_hash(self.descriptor)

    @property
    def coders(self) -> list[str]:
        """Every coder in the codings, sorted."""
        return sorted(self.all_codings["coder"].unique().tolist())

    @property
    def all_codings(self) -> pd.DataFrame:
        """Every coding as stored, including those of codes outside the design's themes."""
        return self.raw_codings

    @property
    def unmapped(self) -> pd.DataFrame:
        """Codes outside every theme of the design: code_id, name, n_codings."""
        return unmapped_codes(self.raw_codebook, self.all_codings, self.design)

    @property
    def interview_guide(self) -> str | None:
        """The interview guide (the file ``INTERVIEW_GUIDE``) as text, or None without one."""
        guide = self.path / INTERVIEW_GUIDE
        return read_transcript_text(guide, guide.name) if guide.exists() else None


# --------------------------------------------------------------------------
# Reading


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
    shape = descriptor_shape_problems(descriptor)
    if shape:
        raise ValidationError(str(folder), [Problem(DESCRIPTOR, None, where, message)
                                            for where, message in shape])
    tables = {t: typed_table(t, read_table(folder / f"{t}.csv", f"{t}.csv")) for t in TABLES}
    transcripts = _read_transcripts(folder, tables["segments"])
    design = design_from_descriptor(descriptor, tables["codebook"])
    raw_codebook, raw_codings = tables["codebook"], tables["codings"]
    tables["codebook"], tables["codings"] = analysis_tables(raw_codebook, raw_codings, design)
    return Dataset(path=folder, descriptor=descriptor, transcripts=transcripts,
                   raw_codebook=raw_codebook, raw_codings=raw_codings, design=design, **tables)


def _read_transcripts(folder: Path, segments: pd.DataFrame) -> dict[str, str]:
    transcripts = {}
    sources = set(default_sources(segments).unique()) if len(segments) else set()
    for rel in sorted(sources):
        path = folder / rel
        if is_inside(folder, path) and regular_file_problem(path) is None:
            transcripts[rel] = read_transcript_text(path, rel)
    return transcripts


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
    with staged_folder(dest) as staging:
        frames = {"participants": participants, "codebook": codebook,
                  "segments": segments, "codings": codings}
        columns, inferred = {}, {}
        for table, frame in frames.items():
            frame = _drop_empty_optional(table, frame)
            columns[table] = list(frame.columns)
            inferred[table] = {c: "integer" for c in frame.columns
                               if pd.api.types.is_integer_dtype(frame[c])}
            write_csv(frame, staging / table_file(table))
        for rel, text in sorted({**(transcripts or {}), **(files or {})}.items()):
            target = staging / rel
            if not is_inside(staging, target):
                raise CompendiumError(f"transcript path '{rel}' points outside the dataset")
            target.parent.mkdir(parents=True, exist_ok=True)
            # newline="" keeps the transcript's own line endings, which offsets count
            with open(target, "w", encoding="utf-8", newline="") as handle:
                handle.write(text)
        if interview_guide is not None:
            (staging / INTERVIEW_GUIDE).write_text(interview_guide, encoding="utf-8",
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
    return dest


def _drop_empty_optional(table: str, frame: pd.DataFrame) -> pd.DataFrame:
    """Leave out optional columns that are wholly empty, so exports stay tidy."""
    required = {f["name"] for f in TABLE_SCHEMAS[table]["fields"]
                if f["constraints"].get("required")}
    keep = [c for c in frame.columns if c in required or frame[c].notna().any()]
    return frame[keep]


def write_csv(frame: pd.DataFrame, path: Path) -> None:
    """Write a table as the dataset's CSV files are written (UTF-8, LF, minimal quoting)."""
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
