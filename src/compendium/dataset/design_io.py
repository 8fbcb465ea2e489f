"""Declaring a design on a dataset folder that already exists.

``compendium design DATASET --apply design.toml`` resolves a design file
against the dataset's codebook and participants (:func:`compendium.design.resolve_design`),
writes the design block into ``datapackage.json`` and, when the file maps an
attribute to the perspectives, the ``perspective`` column of ``participants.csv``.
The folder is replaced in one rename, after the new copy has been frozen and
validated, so an error leaves the dataset as it was.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import ValidationError
from .core import (
    freeze_dataset,
    load_dataset,
    read_descriptor,
    read_table,
    validate_dataset,
    write_csv,
)
from .datapackage import DESCRIPTOR, write_descriptor
from .design import THEMES, design_summary, read_design_file, resolve_design


def apply_design_file(folder: str | Path, design_file: str | Path) -> dict[str, Any]:
    """Declare the design in ``design_file`` on the dataset at ``folder``; return the block.

    Sections the file leaves out ([perspectives] or [themes]) keep what the
    dataset already declares. The dataset must be valid in structure and
    hashes first (the gate is not run: the design does not change any text),
    so that freezing the new copy cannot bless an unnoticed edit.
    """
    folder = Path(folder)
    data = read_design_file(design_file)
    before = validate_dataset(folder, anonymity=False)
    if before:
        raise ValidationError(str(folder), before)
    descriptor = read_descriptor(folder)
    codebook = load_dataset(folder, validate=False).raw_codebook
    participants = read_table(folder / "participants.csv", "participants.csv")
    block, updated = resolve_design(data, codebook, participants, Path(design_file).name)
    meta = dict(descriptor.get("compendium") or {})
    merged = dict(meta.get("design") or {})
    merged.update(block)
    meta["design"] = merged
    descriptor["compendium"] = meta
    staging = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=folder.parent))
    try:
        shutil.rmtree(staging)
        shutil.copytree(folder, staging)
        if "perspectives" in block and "attribute" in block["perspectives"]:
            write_csv(updated, staging / "participants.csv")
        write_descriptor(staging, descriptor)
        freeze_dataset(staging)
        problems = validate_dataset(staging, anonymity=False)
        if problems:
            raise ValidationError(str(folder), problems)
        os.chmod(staging, folder.stat().st_mode & 0o777)
        backup = folder.with_name(f".{folder.name}.old")
        shutil.rmtree(backup, ignore_errors=True)
        folder.rename(backup)
        staging.rename(folder)
        shutil.rmtree(backup, ignore_errors=True)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return merged


def describe_design(folder: str | Path) -> str:
    """The dataset's design as a readable report: perspectives, themes and unmapped codes."""
    dataset = load_dataset(folder, validate=False)
    design = dataset.design
    counts = dataset.participants["perspective"].value_counts()
    state = (f"declared in {DESCRIPTOR}" if design.declared
             else "not declared (the study defaults apply)")
    lines = [f"{dataset.name}: design {state}", ""]
    attribute = f" (from the attribute '{design.attribute}')" if design.attribute else ""
    lines.append(f"perspectives{attribute}:")
    for key, perspective in design.perspectives.items():
        n = int(counts.get(key, 0))
        lines.append(f"  {key:<13} {perspective.label}  [{n} participant{'' if n == 1 else 's'}]")
    lines += ["", "themes:"]
    summary = design_summary(dataset.raw_codebook, dataset.all_codings, design)
    table = pd.DataFrame({
        "theme": summary["theme"], "label": summary["label"],
        "codes": summary["n_codes"], "codings": summary["n_codings"],
    })
    widths = {c: max(len(c), *(len(str(v)) for v in table[c])) for c in table.columns}
    lines.append("  " + "  ".join(c.ljust(widths[c]) for c in table.columns))
    for row in table.itertuples(index=False):
        cells = [str(v).rjust(widths[c]) if c in ("codes", "codings") else str(v).ljust(widths[c])
                 for c, v in zip(table.columns, row, strict=True)]
        lines.append("  " + "  ".join(cells).rstrip())
    unmapped = dataset.unmapped
    lines.append("")
    if unmapped.empty:
        lines.append("unmapped codes: none (every code is under one of the "
                     f"{len(THEMES)} themes)")
    else:
        lines.append(f"unmapped codes ({len(unmapped)}; left out of every display):")
        for row in unmapped.itertuples(index=False):
            lines.append(f"  {row.code_id}  {row.name}  [{row.n_codings} "
                         f"coding{'' if row.n_codings == 1 else 's'}]")
    return "\n".join(lines)
