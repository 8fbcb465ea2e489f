"""Design files (TOML) and ``compendium design``: a design in the export's own names.

A design file says with the names of an export's codes and participant
attributes what the descriptor's ``compendium.design`` block says with ids:

.. code-block:: toml

    study = "lockett-jack-larty-2010"
    [perspectives]
    attribute = "respondent type"
    entrepreneur = { label = "Owner-managers", values = ["owner-manager"] }
    intermediary = { label = "Business support", values = ["agency"] }
    [themes]
    motivations = { label = "Why people attend", codes = ["Motivations"] }

:func:`read_design_file` parses one, refusing malformed TOML and unknown
sections; :func:`resolve_design` turns it into the block against a codebook and
participants (``compendium import --design``), refusing anything it cannot
match. ``compendium design DATASET --apply design.toml``
(:func:`apply_design_file`) declares it on a dataset folder that already
exists: it writes the block into the descriptor and, when the file maps an
attribute to the perspectives, the ``perspective`` column of
``participants.csv``; the folder is replaced in one rename after the new copy
has been frozen and validated, so an error leaves the dataset as it was.
:func:`describe_design` shows a dataset's design.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import CompendiumError, ValidationError
from ..fileio import staged_folder
from ..userfile import read_bytes, regular_file_problem
from .core import (
    freeze_dataset,
    load_dataset,
    read_table,
    validate_dataset,
    write_csv,
)
from .datapackage import DESCRIPTOR, PERSPECTIVES, read_descriptor, table_file, write_descriptor
from .design import DEFAULT_THEME_LABELS, THEMES, default_noun, design_summary
from .design_check import closest, design_problems


def read_design_file(path: str | Path) -> dict[str, Any]:
    """Parse a design file, refusing malformed TOML and unknown sections in one line each."""
    path = Path(path)
    problem = regular_file_problem(path)
    if problem == "no such file":
        raise CompendiumError(f"{path}: no such design file")
    if problem:
        raise CompendiumError(f"{path}: {problem.replace('not a file', 'not a design file')}")
    raw = read_bytes(path, str(path))
    try:
        data = tomllib.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError:
        raise CompendiumError(f"{path}: not valid UTF-8; save the design file as UTF-8") from None
    except tomllib.TOMLDecodeError as err:
        raise CompendiumError(f"{path}: not valid TOML ({err})") from None
    unknown = sorted(set(data) - {"study", "perspectives", "themes"})
    if unknown:
        raise CompendiumError(f"{path}: unknown section(s) {', '.join(unknown)}; a design file "
                              "has [perspectives] and [themes] (and optionally study = \"...\")")
    if "study" in data and not (isinstance(data["study"], str) and data["study"].strip()):
        raise CompendiumError(f"{path}: study: must be non-empty text naming the study")
    for section in ("perspectives", "themes"):
        if section in data and not isinstance(data[section], dict):
            raise CompendiumError(f"{path}: {section}: must be a table ([{section}])")
    themes = data.get("themes", {})
    outside = sorted(set(themes) - set(THEMES))
    if outside:
        raise CompendiumError(f"{path}: [themes]: '{outside[0]}' is not one of the study's "
                              f"themes ({', '.join(THEMES)})")
    for key, spec in themes.items():
        if not isinstance(spec, dict) or not isinstance(spec.get("codes", []), list) or \
                not all(isinstance(c, str) for c in spec.get("codes", [])):
            raise CompendiumError(f"{path}: themes.{key}: write it as "
                                  f'{{ label = "...", codes = ["code or branch name", ...] }}')
        for field in ("label", "short_label"):
            if field in spec and not (isinstance(spec[field], str) and spec[field].strip()):
                raise CompendiumError(f"{path}: themes.{key}.{field}: must be non-empty text")
        extra = sorted(set(spec) - {"label", "short_label", "codes"})
        if extra:
            raise CompendiumError(f"{path}: themes.{key}: unknown key '{extra[0]}' "
                                  "(use label, short_label and codes)")
    perspectives = data.get("perspectives", {})
    extra = sorted(set(perspectives) - {"attribute", *PERSPECTIVES})
    if extra:
        raise CompendiumError(f"{path}: [perspectives]: '{extra[0]}' is not one of attribute, "
                              f"{', '.join(PERSPECTIVES)}")
    if perspectives and "attribute" in perspectives and \
            not (isinstance(perspectives["attribute"], str) and perspectives["attribute"].strip()):
        raise CompendiumError(f"{path}: perspectives.attribute: must name a participant "
                              "attribute")
    for key in PERSPECTIVES:
        spec = perspectives.get(key)
        if spec is None:
            if perspectives:
                raise CompendiumError(f"{path}: [perspectives]: '{key}' is missing; declare both "
                                      f"{' and '.join(PERSPECTIVES)}")
            continue
        if not isinstance(spec, dict) or not isinstance(spec.get("label"), str) or \
                not spec["label"].strip():
            raise CompendiumError(f"{path}: perspectives.{key}: write it as "
                                  f'{{ label = "...", values = ["...", ...] }}')
        values = spec.get("values", [])
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise CompendiumError(f"{path}: perspectives.{key}.values: must be a list of text")
        if "short_label" in spec and not (isinstance(spec["short_label"], str)
                                          and spec["short_label"].strip()):
            raise CompendiumError(f"{path}: perspectives.{key}.short_label: must be non-empty "
                                  "text")
        bad = sorted(set(spec) - {"label", "short_label", "noun", "singular", "description",
                                  "values"})
        if bad:
            raise CompendiumError(f"{path}: perspectives.{key}: unknown key '{bad[0]}' (use "
                                  "label, short_label, noun, singular, description and values)")
    if perspectives and any(perspectives[k].get("values") for k in PERSPECTIVES) and \
            "attribute" not in perspectives:
        raise CompendiumError(f"{path}: [perspectives]: values are given but no attribute says "
                              "which participant attribute holds them")
    return data


def _match(name: str, candidates: dict[str, list[str]], what: str, source: str,
           suggestions: list[str]) -> list[str]:
    """Ids whose name is ``name``: exact first, then ignoring case; refuse no match.

    The refusal names the closest of ``suggestions`` (the codebook's names).
    """
    if name in candidates:
        return candidates[name]
    folded = [ids for known, ids in candidates.items() if known.casefold() == name.casefold()]
    if folded:
        return [i for ids in folded for i in ids]
    raise CompendiumError(f"{source}: {what}: '{name}' matches no code or branch in the "
                          f"codebook{closest(name, suggestions)}")


def _paths(codebook: pd.DataFrame) -> dict[str, list[str]]:
    """Name, 'Parent/Child' path and code_id of every entry -> the ids they name."""
    entries = zip(codebook["name"], codebook["parent_id"], strict=True)
    by_id = dict(zip(codebook["code_id"], entries, strict=True))
    names: dict[str, list[str]] = {}
    for code_id, (name, parent) in by_id.items():
        names.setdefault(str(name), []).append(code_id)
        path, seen = [str(name)], {code_id}
        while isinstance(parent, str) and parent in by_id and parent not in seen:
            seen.add(parent)
            path.insert(0, str(by_id[parent][0]))
            parent = by_id[parent][1]
        if len(path) > 1:
            names.setdefault("/".join(path), []).append(code_id)
    for code_id in by_id:
        names.setdefault(code_id, [code_id])
    return names


def resolve_design(data: dict[str, Any], codebook: pd.DataFrame, participants: pd.DataFrame,
                   source: str) -> tuple[dict[str, Any], pd.DataFrame]:
    """Turn a parsed design file into a descriptor block and updated participants.

    Theme entries are matched by name (exactly, then ignoring case), by a
    ``Parent/Child`` path, or by code_id; a name shared by several entries is
    refused, naming them. With ``[perspectives] attribute``, each participant's
    value of that attribute (a participants column, matched the same way)
    decides its perspective; a participant whose value is in neither list is
    named in the error.

    Returns
    -------
    (block, participants)
        The ``compendium.design`` block and the participants table with its
        ``perspective`` column set.
    """
    block: dict[str, Any] = {}
    if data.get("study"):
        block["study"] = data["study"].strip()
    participants = participants.copy()
    spec_p = data.get("perspectives") or {}
    if spec_p:
        block["perspectives"] = {}
        attribute = spec_p.get("attribute")
        if attribute is not None:
            column = _attribute_column(attribute, participants, source)
            participants["perspective"] = _perspective_of(participants, column, spec_p, source)
            block["perspectives"]["attribute"] = column
        for key in PERSPECTIVES:
            spec = spec_p[key]
            entry = {"label": spec["label"].strip(),
                     "noun": (spec.get("noun") or default_noun(spec["label"])).strip()}
            if spec.get("short_label"):
                entry["short_label"] = spec["short_label"].strip()
            if spec.get("singular"):
                entry["singular"] = spec["singular"].strip()
            if spec.get("description"):
                entry["description"] = spec["description"].strip()
            if spec.get("values"):
                entry["values"] = list(spec["values"])
            block["perspectives"][key] = entry
    spec_t = data.get("themes") or {}
    if spec_t:
        names = _paths(codebook)
        suggestions = list(dict.fromkeys(codebook["name"].astype(str)))
        block["themes"] = {}
        for key in THEMES:
            if key not in spec_t:
                continue
            spec = spec_t[key]
            codes: list[str] = []
            for name in spec.get("codes", []):
                ids = _match(name, names, f"themes.{key}", source, suggestions)
                if len(ids) > 1:
                    raise CompendiumError(
                        f"{source}: themes.{key}: '{name}' names {len(ids)} codebook entries "
                        f"({', '.join(ids[:5])}); write it as a 'Parent/Child' path or a code_id")
                codes += [i for i in ids if i not in codes]
            label = spec.get("label") or DEFAULT_THEME_LABELS[key]
            block["themes"][key] = {"label": label.strip(), "codes": codes,
                                    "names": list(spec.get("codes", []))}
            if spec.get("short_label"):
                block["themes"][key]["short_label"] = spec["short_label"].strip()
    probe = {"compendium": {"design": block}}
    problems = design_problems(probe, codebook)
    if problems:
        first = problems[0]
        raise CompendiumError(f"{source}: {first.message}")
    return block, participants


def _attribute_column(attribute: str, participants: pd.DataFrame, source: str) -> str:
    columns = [c for c in participants.columns if c != "participant_id"]
    if attribute in columns:
        return attribute
    norm = re.sub(r"[\s_-]+", " ", attribute.strip()).casefold()
    for column in columns:
        if re.sub(r"[\s_-]+", " ", column.strip()).casefold() == norm:
            return column
    raise CompendiumError(
        f"{source}: perspectives.attribute: '{attribute}' is not an attribute of the "
        f"participants{closest(attribute, columns)}; the attributes are "
        f"{', '.join(columns) or '(none)'} (supply it with --participants FILE.csv)")


def _perspective_of(participants: pd.DataFrame, column: str, spec: dict[str, Any],
                    source: str) -> list[str]:
    lookup: dict[str, str] = {}
    for key in PERSPECTIVES:
        for value in spec[key].get("values", []):
            folded = value.strip().casefold()
            if lookup.get(folded, key) != key:
                raise CompendiumError(f"{source}: perspectives: the value '{value}' is listed "
                                      "for both perspectives")
            lookup[folded] = key
    out: list[str] = []
    unmapped: list[str] = []
    for pid, value in zip(participants["participant_id"], participants[column], strict=True):
        text = "" if value is None or (isinstance(value, float) and pd.isna(value)) \
            else str(value).strip()
        key = lookup.get(text.casefold(), "")  # every perspective key is non-empty
        if not key:
            unmapped.append(f"{pid} ('{text}')" if text else f"{pid} (no value)")
        out.append(key)
    if unmapped:
        shown = ", ".join(unmapped[:8]) + (f" and {len(unmapped) - 8} more"
                                           if len(unmapped) > 8 else "")
        raise CompendiumError(f"{source}: perspectives: {len(unmapped)} participant(s) have a "
                              f"{column} in neither list: {shown}")
    return out


# --------------------------------------------------------------------------
# compendium design


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
    participants = read_table(folder / table_file("participants"), table_file("participants"))
    block, updated = resolve_design(data, codebook, participants, Path(design_file).name)
    meta = dict(descriptor.get("compendium") or {})
    merged = dict(meta.get("design") or {})
    merged.update(block)
    meta["design"] = merged
    descriptor["compendium"] = meta
    with staged_folder(folder, start_from=folder, mode=folder.stat().st_mode & 0o777) as staging:
        if "perspectives" in block and "attribute" in block["perspectives"]:
            write_csv(updated, staging / table_file("participants"))
        write_descriptor(staging, descriptor)
        freeze_dataset(staging)
        problems = validate_dataset(staging, anonymity=False)
        if problems:
            raise ValidationError(str(folder), problems)
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
