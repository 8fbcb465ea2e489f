"""Identifiers lists: the names of real people, firms, places and events to look for.

An identifiers list is kept outside version control: ``identifiers.txt`` at the
repository root (git-ignored) or a file passed explicitly; its format is
documented in ``data/README.md``. The anonymisation gate (``anonymity``) and
pseudonymisation (``pseudonymise``) look for its terms.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..errors import CompendiumError
from ..userfile import read_bytes

#: The identifiers list looked for at the repository root when none is given.
IDENTIFIERS_FILE = "identifiers.txt"
#: Kinds of listed terms (an identifiers-list line may start with ``kind:``).
TERM_KINDS = ("person", "firm", "place", "event", "other")


@dataclass(frozen=True)
class Term:
    """One listed term; aliases written on one line share their ``entity``."""

    text: str
    kind: str
    entity: int


@dataclass(frozen=True)
class IdentifierList:
    """The terms of an identifiers list and where they came from."""

    terms: tuple[Term, ...] = ()
    source: str | None = None

    def __len__(self) -> int:
        return len(self.terms)


NO_IDENTIFIERS = IdentifierList()

_KIND_PREFIX = re.compile(r"^([A-Za-z]+)\s*:\s*(.*)$", re.S)


def parse_identifiers(text: str, label: str = IDENTIFIERS_FILE) -> IdentifierList:
    """Parse an identifiers list (pure).

    One term per line, optionally ``kind: term`` with kind person, firm, place,
    event or other (the default). Aliases of one person or organisation may share
    a line, separated by ``|``, and then share a placeholder when pseudonymised.
    Blank lines and lines starting with ``#`` are ignored. A mistyped kind is an
    error rather than a silently useless term.
    """
    terms: list[Term] = []
    seen: set[str] = set()
    entity = 0
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        kind = "other"
        prefix = _KIND_PREFIX.match(line)
        if prefix:
            word = prefix.group(1).lower()
            if word not in TERM_KINDS:
                raise CompendiumError(
                    f"{label}:{number}: unknown kind '{prefix.group(1)}' (use person, firm, "
                    f"place, event or other; write 'other: {line}' for a term with a colon)")
            kind, line = word, prefix.group(2).strip()
        aliases = [a.strip() for a in line.split("|")]
        added = False
        for alias in aliases:
            if sum(ch.isalnum() for ch in alias) < 2:
                raise CompendiumError(
                    f"{label}:{number}: term '{alias}' is too short to match safely "
                    "(at least two letters or digits)")
            key = normal_term(alias)
            if key in seen:
                continue
            seen.add(key)
            terms.append(Term(text=" ".join(alias.split()), kind=kind, entity=entity))
            added = True
        entity += added
    return IdentifierList(terms=tuple(terms), source=label)


def read_identifiers(path: str | Path) -> IdentifierList:
    """Read an identifiers list from ``path`` (UTF-8, a byte-order mark accepted)."""
    path = Path(path)
    if not path.exists() and not path.is_symlink():
        raise CompendiumError(f"{path}: identifiers list not found")
    data = read_bytes(path, str(path))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise CompendiumError(f"{path}: not valid UTF-8; save the identifiers list as UTF-8") \
            from None
    return parse_identifiers(text, str(path))


def repository_root(path: str | Path) -> Path | None:
    """The working tree holding ``path``: the nearest folder with a ``.git`` above it."""
    current = Path(path).expanduser().absolute()
    while not current.exists() and current != current.parent:
        current = current.parent
    current = current.resolve()
    for folder in (current, *current.parents):
        if (folder / ".git").exists():
            return folder
    return None


def default_identifiers_path(folder: str | Path) -> Path | None:
    """``identifiers.txt`` at the root of the repository holding the dataset, else
    at the root of the repository holding this package; ``None`` when neither exists."""
    for root in (repository_root(folder), repository_root(Path(__file__).parent)):
        if root is not None and (root / IDENTIFIERS_FILE).is_file():
            return root / IDENTIFIERS_FILE
    return None


def resolve_identifiers(identifiers: str | Path | IdentifierList | None,
                        folder: str | Path) -> IdentifierList:
    """The identifiers list to use for ``folder``: as given, read from a path, or the default."""
    if isinstance(identifiers, IdentifierList):
        return identifiers
    if identifiers is None:
        path = default_identifiers_path(folder)
        return read_identifiers(path) if path is not None else NO_IDENTIFIERS
    return read_identifiers(identifiers)



def normal_term(text: str) -> str:
    """A term or matched text as compared: white space collapsed, case folded."""
    return " ".join(text.split()).casefold()
