"""What every importer reads a QDA export into, before it becomes a dataset.

The readers (REFI-QDA, Taguette, QualCoder) differ in what their exports
hold, so each fills the part of this model it can; :mod:`.mapping` turns a
:class:`QdaProject` into the canonical tables. Positions here are already in
Unicode code points of the source text as stored in ``QdaSource.text``.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass, field

#: An attribute value: text, a whole number, or missing.
Value = str | int | None

#: Marker of the identifiers note that ``compendium export`` writes into a project.
IDS_NOTE_NAME = "compendium identifiers"
IDS_NOTE_KEY = "compendium_refi_ids"
GUIDE_NOTE_NAME = "Interview guide"


@dataclass(frozen=True)
class QdaCode:
    """One code or folder of the export's codebook, in document order."""

    key: str                 # unique within the project (a normalised GUID, or a path)
    name: str
    description: str
    codable: bool            # False: a folder (REFI isCodable="false", a QualCoder category)
    parent: str | None       # key of the enclosing code, None at top level


@dataclass(frozen=True)
class QdaCoding:
    """One code applied to a selection by one coder."""

    code: str                # QdaCode.key
    coder: str


@dataclass
class QdaSelection:
    """A coded stretch of a source; positions in code points, or None when unknown."""

    key: str
    source: str              # QdaSource.key
    start: int | None
    end: int | None
    text: str
    codings: list[QdaCoding] = field(default_factory=list)


@dataclass
class QdaSource:
    """A text document of the project; ``text`` is None when the export has none."""

    key: str
    name: str
    text: str | None
    attributes: dict[str, Value] = field(default_factory=dict)


@dataclass
class QdaCase:
    """A case (usually a person): its sources, the selections it owns, its variables."""

    key: str
    name: str
    sources: list[str] = field(default_factory=list)
    selections: list[str] = field(default_factory=list)
    attributes: dict[str, Value] = field(default_factory=dict)


@dataclass
class QdaProject:
    """Everything an importer read from one export."""

    label: str                       # the file, for messages
    format: str                      # what the file was found to be
    name: str                        # the project's name
    origin: str = ""                 # the tool that wrote it
    counting: str = ""               # how positions were counted, when there were any
    codes: list[QdaCode] = field(default_factory=list)
    sources: list[QdaSource] = field(default_factory=list)
    selections: list[QdaSelection] = field(default_factory=list)
    cases: list[QdaCase] = field(default_factory=list)
    integer_variables: set[str] = field(default_factory=set)
    folders_marked: bool = False     # the export marks folders (isCodable="false", categories)
    identifiers: dict | None = None  # the note written by ``compendium export``, if any
    interview_guide: str | None = None
    notes: list[str] = field(default_factory=list)       # what the reader did, for the report
    warnings: list[str] = field(default_factory=list)    # what it could not take over
    skipped_codings: int = 0         # codings seen but not taken over, each named in a warning


# --------------------------------------------------------------------------
# Identifiers


_ID_CHARS = re.compile(r"[^A-Za-z0-9_.-]+")
_DOC_SUFFIX = re.compile(r"\.(txt|docx?|odt|rtf|pdf|md|html?)$", re.IGNORECASE)


def slug(name: str, fallback: str = "x", limit: int = 60) -> str:
    """An id made of ASCII letters, digits, '-', '_' and '.', starting with a letter or digit.

    Accents are dropped rather than the letters (``Mabêl`` -> ``Mabel``),
    runs of other characters become one '-'.
    """
    ascii_text = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode()
    text = _ID_CHARS.sub("-", ascii_text)
    text = re.sub(r"-{2,}", "-", text).strip("-_.")[:limit].strip("-_.")
    return text or fallback


def document_stem(name: str) -> str:
    """A document name without a word-processor or text file extension."""
    return _DOC_SUFFIX.sub("", name.strip()) or name.strip()


class IdMinter:
    """Hands out unique ids; uniqueness ignores case, as file systems may."""

    def __init__(self, taken: Iterable[str] = ()):
        self._taken = {t.lower() for t in taken}

    def claim(self, wanted: str) -> bool:
        """Take ``wanted`` as it is if it is free; False if it is not."""
        if wanted.lower() in self._taken:
            return False
        self._taken.add(wanted.lower())
        return True

    def mint(self, name: str, fallback: str = "x") -> str:
        """A fresh id from ``name``, numbered (``-2``, ``-3`` ...) when taken."""
        base = slug(name, fallback)
        candidate, number = base, 2
        while candidate.lower() in self._taken:
            candidate = f"{base}-{number}"
            number += 1
        self._taken.add(candidate.lower())
        return candidate


def normalise_guid(guid: str | None) -> str:
    """A GUID as a lookup key: braces and surrounding space dropped, lower case."""
    return (guid or "").strip().strip("{}").strip().lower()
