"""Checking a dataset's declared design block (``compendium.design`` in the descriptor).

The block's shape is checked against a JSON Schema (:data:`DESIGN_SCHEMA`), then
against the codebook: every code it names exists, and no code sits under two
themes. Validation (:func:`compendium.dataset.validation.validate_dataset`) and the
resolution of a design file (:mod:`compendium.dataset.design_files`) report
what :func:`design_problems` finds.
"""

from __future__ import annotations

import difflib
from typing import Any

import pandas as pd

from ..errors import Problem
from .datapackage import DESCRIPTOR, PERSPECTIVES
from .design import THEMES, code_children, descendants, design_from_descriptor

#: Where the design sits in the descriptor, for messages.
DESIGN_FIELD = "compendium.design"

#: JSON Schema of the design block; :func:`design_problems` checks it.
DESIGN_SCHEMA: dict[str, Any] = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "study": {"type": "string", "minLength": 1},
        "perspectives": {
            "type": "object",
            "additionalProperties": False,
            "required": list(PERSPECTIVES),
            "properties": {
                "attribute": {"type": "string", "minLength": 1},
                **{key: {
                    "type": "object",
                    "additionalProperties": False,
                    "required": ["label"],
                    "properties": {
                        "label": {"type": "string", "minLength": 1},
                        "short_label": {"type": "string", "minLength": 1},
                        "noun": {"type": "string", "minLength": 1},
                        "singular": {"type": "string", "minLength": 1},
                        "description": {"type": "string"},
                        "values": {"type": "array", "items": {"type": "string"}},
                    },
                } for key in PERSPECTIVES},
            },
        },
        "themes": {
            "type": "object",
            "additionalProperties": False,
            "properties": {key: {
                "type": "object",
                "additionalProperties": False,
                "required": ["label", "codes"],
                "properties": {
                    "label": {"type": "string", "minLength": 1},
                    "short_label": {"type": "string", "minLength": 1},
                    "codes": {"type": "array", "items": {"type": "string"}},
                    "names": {"type": "array", "items": {"type": "string"}},
                },
            } for key in THEMES},
        },
    },
}


def design_problems(descriptor: dict[str, Any], codebook: pd.DataFrame | None) -> list[Problem]:
    """Every problem with the descriptor's design block (none when there is no block)."""
    block = (descriptor.get("compendium") or {}).get("design")
    if block is None:
        return []
    import jsonschema

    validator = jsonschema.Draft202012Validator(DESIGN_SCHEMA)
    problems = []
    for error in sorted(validator.iter_errors(block), key=lambda e: list(e.absolute_path)):
        where = ".".join([DESIGN_FIELD, *map(str, error.absolute_path)])
        problems.append(Problem(DESCRIPTOR, None, where, error.message))
    if problems or codebook is None:
        return problems
    ids = list(codebook["code_id"].dropna())
    known = set(ids)
    owner: dict[str, str] = {}
    design = design_from_descriptor(descriptor, codebook)
    children = code_children(codebook)
    for key in THEMES:
        for root in design.themes[key].codes:
            where = f"{DESIGN_FIELD}.themes.{key}.codes"
            if root not in known:
                problems.append(Problem(DESCRIPTOR, None, where,
                                        f"'{root}' is not a code_id in codebook.csv"
                                        f"{closest(root, ids)}"))
                continue
            for code_id in descendants(root, children):
                if code_id in owner and owner[code_id] != key:
                    problems.append(Problem(DESCRIPTOR, None, where,
                                            f"'{code_id}' is placed under both "
                                            f"{owner[code_id]} and {key}; a code belongs to one "
                                            "theme"))
                owner.setdefault(code_id, key)
        if key in known and owner.get(key) not in (None, key):
            problems.append(Problem(DESCRIPTOR, None, f"{DESIGN_FIELD}.themes.{key}.codes",
                                    f"codebook entry '{key}' has the theme's own id but is "
                                    f"placed under {owner[key]}; rename it or map it to {key}"))
    return problems


def closest(name: str, candidates: list[str]) -> str:
    """" (closest: ...)" naming up to three of ``candidates`` like ``name``, else ""."""
    close = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    if not close:
        lowered = {c.lower(): c for c in candidates}
        close = [lowered[c] for c in difflib.get_close_matches(name.lower(), list(lowered), 3,
                                                               0.5)]
    return f" (closest: {', '.join(repr(c) for c in close)})" if close else ""
