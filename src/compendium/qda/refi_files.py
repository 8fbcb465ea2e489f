"""Where a REFI-QDA project's files are: a ``.qdpx`` archive, a ``.qde`` file, or a folder.

The project XML may be ``project.qde`` or named after the project, in any
case, at the top of the archive or inside one folder; the sources folder is
``Sources/`` or ``sources/``. Every file is read with a size limit, and a
source path from the XML is never followed (nor a symlink) out of its folder.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..errors import CompendiumError
from ..userfile import is_regular_file, read_bytes
from .safety import (
    MAX_TEXT_BYTES,
    MAX_XML_BYTES,
    SafeArchive,
    one_line,
    read_file_limited,
)


@dataclass(frozen=True)
class ProjectFiles:
    """The project XML and a way to fetch a source text by its path in the sources folder."""

    label: str                                   # the file the user named
    format: str                                  # what it was found to be
    qde: bytes
    qde_label: str
    fetch_source: Callable[[str], bytes | None]  # None when the file is not there


def is_qde_name(name: str) -> bool:
    """Whether a file name is a project XML (``project.qde``, ``Name.QDE`` ...)."""
    return name.lower().endswith(".qde")


def open_project_files(path: Path) -> ProjectFiles:
    """Locate the project XML and its sources for an archive, a .qde file or a folder."""
    if path.is_dir():
        candidates = sorted(p for p in path.iterdir() if p.is_file() and is_qde_name(p.name))
        if not candidates:
            raise CompendiumError(f"{path.name}: folder holds no .qde project file")
        if len(candidates) > 1:
            raise CompendiumError(f"{path.name}: folder holds several .qde files "
                                  f"({', '.join(p.name for p in candidates)}); name one of them")
        return _folder_files(candidates[0], f"{path.name}/", "REFI-QDA project folder")
    if zipfile_magic(path):
        return _archive_files(path)
    return _folder_files(path, "", "REFI-QDA project file (.qde)")


def zipfile_magic(path: Path) -> bool:
    """Whether a file starts like a zip archive."""
    return read_bytes(path, path.name, head=4) in (b"PK\x03\x04", b"PK\x05\x06")


def _archive_files(path: Path) -> ProjectFiles:
    archive = SafeArchive.open(path)
    qdes = [n for n in archive.members if is_qde_name(n) and not n.endswith("/")]
    # The .qde sits at the top; tolerate archives that wrap everything in one folder.
    top = [n for n in qdes if "/" not in n.strip("/")]
    chosen = top or [n for n in qdes if n.count("/") == 1]
    if not chosen:
        raise CompendiumError(f"{path.name}: zip archive without a .qde project file; "
                              "not a REFI-QDA project")
    if len(chosen) > 1:
        raise CompendiumError(f"{path.name}: archive holds several .qde files "
                              f"({', '.join(one_line(n) for n in chosen)})")
    qde_name = chosen[0]
    root = qde_name.rsplit("/", 1)[0] + "/" if "/" in qde_name else ""
    by_lower = {n.lower(): n for n in archive.members if not n.endswith("/")}

    def fetch(relative: str) -> bytes | None:
        for candidate in (f"{root}sources/{relative}", f"{root}{relative}"):
            member = by_lower.get(candidate.lower())
            if member is not None:
                return archive.read(member, MAX_TEXT_BYTES)
        return None

    return ProjectFiles(path.name, "REFI-QDA project archive (.qdpx)",
                        archive.read(qde_name, MAX_XML_BYTES),
                        f"{path.name}: {qde_name}", fetch)


def _folder_files(qde: Path, prefix: str, kind: str) -> ProjectFiles:
    folder = qde.parent
    sources = [p for p in folder.iterdir() if p.is_dir() and p.name.lower() == "sources"] \
        if folder.is_dir() else []
    base = sources[0].resolve() if sources else None

    def fetch(relative: str) -> bytes | None:
        if base is None:
            return None
        try:
            target = (base / relative).resolve()
        except (OSError, RuntimeError):  # a symlink loop
            return None
        # plainTextPath comes from the file: never follow it (or a symlink) out of the folder
        if not target.is_relative_to(base) or not is_regular_file(target):
            return None
        return read_file_limited(target, MAX_TEXT_BYTES, f"{prefix}{target.name}")

    return ProjectFiles(f"{prefix}{qde.name}", kind,
                        read_file_limited(qde, MAX_XML_BYTES, f"{prefix}{qde.name}"),
                        f"{prefix}{qde.name}", fetch)

