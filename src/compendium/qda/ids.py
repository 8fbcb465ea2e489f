"""Ids on import: which values the dataset can use as ids, and the ids an export recorded.

A project written by ``compendium export`` carries a note with the dataset's
own ids (:data:`~.model.IDS_NOTE_NAME`); the mapping (``mapping``,
``participants``) uses them where the project still agrees with them.
"""

from __future__ import annotations

import re
from typing import Any, TypeGuard

from ..dataset.datapackage import ID_PATTERN
from .model import QdaProject, normalise_guid
from .safety import one_line

_ID = re.compile(ID_PATTERN)


def valid_id(value: object) -> TypeGuard[str]:
    """Whether ``value`` can be used as an id in the dataset as it is."""
    return isinstance(value, str) and bool(_ID.fullmatch(value))


def noted_ids(project: QdaProject, part: str) -> dict[str, Any]:
    """One part of the identifiers note, keyed by normalised GUID; empty when absent."""
    section = (project.identifiers or {}).get(part)
    if not isinstance(section, dict):
        return {}
    return {normalise_guid(str(k)): v for k, v in section.items()}



def listing(items: list[str], limit: int = 12) -> str:
    """Items for a message: the first ``limit``, each on one line, and how many more."""
    shown = ", ".join(one_line(i, 40) for i in items[:limit])
    return shown + (f" and {len(items) - limit} more" if len(items) > limit else "")
