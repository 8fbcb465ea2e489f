"""Writing files so that nothing half-written is ever seen, and hashing them.

Every writer in the package goes through these helpers: a file or folder is
written under a temporary name beside its target and becomes visible with one
atomic rename, so a reader (or make, or the next build after a crash) sees the
old version or the new one, never a mixture. Standard library only: the build's
rule generator imports this module before the project's environment exists.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterable
from pathlib import Path

#: Read files in blocks of this size when hashing, so large transcripts stay cheap.
BLOCK = 1 << 20


def atomic_write(path: str | Path, data: str | bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` through a temporary file and one atomic rename.

    Text is written as UTF-8 with the line endings it holds. The temporary file
    starts with a dot, so globs for outputs never pick it up; it is removed if
    the write fails.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, mode)  # mkstemp makes owner-only files; outputs are for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_if_changed(path: str | Path, data: str | bytes) -> bool:
    """Atomically write ``data`` unless ``path`` already holds exactly it; say whether it wrote.

    Keeping an unchanged file's time stamp keeps make from rebuilding what depends on it.
    """
    path = Path(path)
    raw = data.encode("utf-8") if isinstance(data, str) else data
    if path.is_file() and path.read_bytes() == raw:
        return False
    atomic_write(path, raw)
    return True


def staging_dir(final: str | Path) -> Path:
    """A fresh, empty staging folder beside ``final`` (``.<name>.staging``).

    The name is fixed, not random, so that a run writing into it records the
    same paths in every build; whatever a killed build left there is removed first.
    """
    final = Path(final)
    staging = final.with_name(f".{final.name}.staging")
    remove_tree(staging)
    staging.mkdir(parents=True)
    return staging


def replace_dir(staging: str | Path, final: str | Path) -> Path:
    """Move the finished folder ``staging`` to ``final``, replacing any old one.

    A folder cannot be renamed over a non-empty one, so the old folder is first
    renamed aside (atomic), the new one renamed into place (atomic), and only
    then is the old one deleted. At every instant ``final`` is either the whole
    old folder, absent, or the whole new folder.
    """
    staging, final = Path(staging), Path(final)
    trash = final.with_name(f".{final.name}.old")
    remove_tree(trash)
    if final.exists():
        os.replace(final, trash)
    os.replace(staging, final)
    remove_tree(trash)
    return final


def remove_tree(path: str | Path) -> None:
    """Delete a file or folder if it exists."""
    path = Path(path)
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path)
    elif path.exists() or path.is_symlink():
        path.unlink()


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes, read in blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(BLOCK), b""):
            digest.update(block)
    return digest.hexdigest()


def sha256_text(text: str | bytes) -> str:
    """Hex sha256 of a string (as UTF-8) or of bytes."""
    return hashlib.sha256(text.encode("utf-8") if isinstance(text, str) else text).hexdigest()


def sha256_tree(files: Iterable[Path], root: Path) -> str:
    """One sha256 over several files: each file's path relative to ``root``, then its bytes.

    Renaming a file changes the hash as well as editing one.
    """
    digest = hashlib.sha256()
    for path in files:
        digest.update(Path(path).relative_to(root).as_posix().encode())
        digest.update(b"\0")
        digest.update(Path(path).read_bytes())
    return digest.hexdigest()
