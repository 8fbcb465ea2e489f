"""``compendium import``: recognise an export, map it, and write the dataset all-or-nothing.

The format is recognised from the content, not the file name: a zip
archive holding a ``.qde`` member or an XML file whose root is ``Project``
is REFI-QDA; a CSV is Taguette's or QualCoder's by its header. The dataset
is written with :func:`~compendium.dataset.write_dataset`, which stages it
in a temporary folder, validates it and only then renames it into place, so
on any error the destination is not created.

Every participant needs a perspective (organisation type is optional), but
no QDA export records it under that name: the design file names the
attribute that holds it, and when any participant still lacks one after
``--participants`` has been applied, nothing is written and the message
lists who lacks it, so the user can write the attributes file.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..dataset import write_dataset
from ..dataset.design_files import read_design_file, resolve_design
from ..dataset.tableio import read_table
from ..errors import CompendiumError, ValidationError
from ..userfile import read_bytes, regular_file_problem
from .csv_formats import QUALCODER, TAGUETTE, csv_kind, read_qualcoder, read_taguette
from .mapping import (
    Tables,
    adopt_codebook,
    apply_attributes,
    build_tables,
    describe_missing,
    missing_attributes,
)
from .model import QdaProject, slug
from .refi import is_qde_name, read_codebook, read_refi, zipfile_magic
from .safety import one_line

REFI = "REFI-QDA"
DEFAULT_CODER = "coder_a"
_SNIFF_BYTES = 64 * 1024


@dataclass
class ImportReport:
    """What an import found and wrote, for the command to print."""

    source: Path
    dest: Path
    format: str
    origin: str
    counting: str
    participants: int
    codes: int
    segments: int
    codings: int
    coders: list[str]
    notes: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def found(self) -> str:
        """One line naming what the source was found to be."""
        tool = f", written by {self.origin}" if self.origin else ""
        return f"{self.source.name}: found a {self.format}{tool}"

    def summary(self) -> str:
        """One line saying what the import wrote."""
        return (f"{self.dest}: dataset written ({self.participants} participant(s), "
                f"{self.codes} codebook entries, {self.segments} segment(s), "
                f"{self.codings} coding(s) by {', '.join(self.coders)})")


def detect_format(path: Path) -> str:
    """REFI, TAGUETTE or QUALCODER, from the file's content."""
    if path.is_dir():
        if any(is_qde_name(p.name) for p in path.iterdir() if p.is_file()):
            return REFI
        raise CompendiumError(f"{path.name}: a folder without a .qde project file")
    problem = regular_file_problem(path)
    if problem:
        raise CompendiumError(f"{path.name}: {problem}")
    if zipfile_magic(path):
        return REFI
    if path.suffix.lower() == ".qdpx":
        raise CompendiumError(f"{path.name}: not a zip archive, or a damaged one (a .qdpx "
                              "project must be a zip)")
    head = read_bytes(path, path.name, head=_SNIFF_BYTES)
    if not head.strip():
        raise CompendiumError(f"{path.name}: file is empty")
    encoding = "utf-16" if head.startswith((b"\xff\xfe", b"\xfe\xff")) else "utf-8-sig"
    text = head.decode(encoding, errors="replace")
    if text.lstrip().startswith("<"):
        return REFI
    first = text.lstrip("\ufeff").splitlines()[0] if text.strip() else ""
    delimiter = "," if "," in first else ";" if ";" in first else "\t"
    header = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    kind = csv_kind(header)
    if kind is None:
        raise CompendiumError(
            f"{path.name}: not a format compendium can import: not a zip archive or XML, "
            f"and the CSV header ({one_line(', '.join(header), 80)}) is neither Taguette's "
            "(id, document, tag, content) nor QualCoder's (File/case, Coder, Coded, Id, "
            "Codename)")
    return kind


def read_export(path: Path, coder: str = DEFAULT_CODER) -> QdaProject:
    """Read any supported export into the model."""
    kind = detect_format(path)
    if kind == TAGUETTE:
        return read_taguette(path, coder)
    if kind == QUALCODER:
        return read_qualcoder(path, coder)
    return read_refi(path)


def descriptor_fields(project: QdaProject, source: Path) -> dict[str, Any]:
    """Name, title, description, synthetic flag and extras for the new dataset."""
    noted = (project.identifiers or {}).get("dataset")
    if isinstance(noted, dict) and isinstance(noted.get("name"), str) \
            and isinstance(noted.get("synthetic"), bool):
        extra = noted.get("extra") if isinstance(noted.get("extra"), dict) else {}
        return {"name": noted["name"], "title": str(noted.get("title") or noted["name"]),
                "description": str(noted.get("description") or ""),
                "synthetic": noted["synthetic"], "extra": extra}
    tool = f" written by {project.origin}" if project.origin else ""
    positions = f" Positions were read as {project.counting}." if project.counting else ""
    return {
        "name": slug(project.name, "imported").lower(),
        "title": f"{project.name} (imported from {project.origin or project.format})",
        "description": (f"Codings imported with `compendium import` from {source.name}, a "
                        f"{project.format}{tool}.{positions} Study data, not generated."),
        "synthetic": False,
        "extra": {"imported_from": {"file": source.name, "format": project.format,
                                    "origin": project.origin, "positions": project.counting}},
    }


def prepare_tables(source: Path, participants_csv: Path | None = None,
                   coder: str = DEFAULT_CODER, design_file: Path | None = None,
                   codebook_file: Path | None = None,
                   ) -> tuple[QdaProject, Tables, dict | None]:
    """Read and map an export, apply ``--codebook``, ``--participants`` and ``--design``.

    What is missing is refused. Returns the project, its tables and the
    ``compendium.design`` block (``None`` without a design file).
    """
    if not coder.strip():
        raise CompendiumError("--coder: the coder name must not be empty")
    design = read_design_file(design_file) if design_file is not None else None
    book = read_codebook(codebook_file) if codebook_file is not None else None
    project = read_export(source, coder)
    if book is not None and codebook_file is not None:
        adopt_codebook(project, book, codebook_file.name)
    tables = build_tables(project)
    if participants_csv is not None:
        attributes = read_table(participants_csv, participants_csv.name)
        tables.participants = apply_attributes(tables.participants, attributes, tables.aliases,
                                               participants_csv.name)
    block = None
    if design is not None and design_file is not None:
        block, tables.participants = resolve_design(design, tables.codebook, tables.participants,
                                                    design_file.name)
    missing = missing_attributes(tables.participants)
    if missing:
        raise CompendiumError(
            f"{source.name}: nothing written: {describe_missing(missing)}; every participant "
            "needs one: pass --participants FILE.csv with columns participant_id,perspective "
            "(entrepreneur or intermediary; participant_id may also be the case or document "
            "name), or a --design file whose [perspectives] attribute maps a case variable to "
            "the two perspectives")
    return project, tables, block


def import_dataset(source: str | Path, dest: str | Path, participants_csv: str | Path | None = None,
                   coder: str = DEFAULT_CODER, design_file: str | Path | None = None,
                   codebook_file: str | Path | None = None) -> ImportReport:
    """Import an export into a new dataset folder ``dest``; on any error ``dest`` is not created.

    ``design_file`` (TOML, see :mod:`compendium.design`) maps the export's
    groups and codes onto the study's two perspectives and three themes.
    ``codebook_file`` (a REFI-QDA ``.qdc``) becomes the dataset's codebook:
    the export's codes are matched to it (see
    :func:`~compendium.qda.mapping.adopt_codebook`).
    """
    source, dest = Path(source), Path(dest)
    if dest.exists():
        raise CompendiumError(f"{dest}: already exists; choose a new folder")
    if not source.exists():
        raise CompendiumError(f"{source}: no such file or folder")
    if source.suffix.lower() == ".qdc":
        raise CompendiumError(f"{source.name}: a REFI-QDA codebook (.qdc) holds no codings; "
                              f"give it as --codebook {source.name} beside the export that "
                              "holds the codings")
    if codebook_file is not None and not Path(codebook_file).is_file():
        raise CompendiumError(f"{codebook_file}: no such codebook file")
    project, tables, block = prepare_tables(
        source, Path(participants_csv) if participants_csv else None, coder,
        Path(design_file) if design_file else None,
        Path(codebook_file) if codebook_file else None)
    fields = descriptor_fields(project, source)
    if block is not None:
        fields["extra"] = {**fields["extra"], "design": block}
    try:
        write_dataset(dest, participants=tables.participants, codebook=tables.codebook,
                      segments=tables.segments, codings=tables.codings,
                      transcripts=tables.transcripts, interview_guide=project.interview_guide,
                      primary_coder=tables.primary_coder, **fields)
    except ValidationError as err:
        first = err.problems[0] if err.problems else "unknown problem"
        raise CompendiumError(
            f"{source.name}: nothing written: the imported data do not form a valid dataset "
            f"({len(err.problems)} problem(s), the first: {one_line(first, 200)})") from None
    return ImportReport(
        source=source, dest=dest, format=project.format, origin=project.origin,
        counting=project.counting, participants=len(tables.participants),
        codes=len(tables.codebook), segments=len(tables.segments),
        codings=len(tables.codings), coders=sorted(set(tables.codings["coder"])),
        notes=project.notes + tables.notes, warnings=project.warnings + tables.warnings)
