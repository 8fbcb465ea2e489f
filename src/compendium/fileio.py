"""Writing files so that nothing half-written is ever seen, and hashing them.

Every writer in the package goes through these helpers: a file or folder is
written under a temporary name beside its target and becomes visible with one
atomic rename, so a reader (or make, or the next build after a crash) sees the
old version or the new one, never a mixture. Standard library only: the build's
rule generator imports this module before the project's environment exists.
"""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import stat
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

#: Read files in blocks of this size when hashing, so large transcripts stay cheap.
BLOCK = 1 << 20


def atomic_write(path: str | Path, data: str | bytes, *, mode: int = 0o644) -> Path:
    """Write ``data`` to ``path`` through a temporary file and one atomic rename.

    Text is written as UTF-8 with the line endings it holds. The temporary file
    starts with a dot, so globs for outputs never pick it up; it is removed if
    the write fails (see :func:`staged_file`).
    """
    path = Path(path)
    with staged_file(path, mode=mode) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return path


def check_replaceable(final: str | Path, *, folder: bool = False) -> None:
    """Refuse to replace an existing ``final`` that is not a file (``folder``: a folder).

    A rename replaces whatever has the name: run as root, an output given as
    ``/dev/null`` would replace the device with a file, and a report's folder given
    as the path of someone's file would delete that file. Raised as an OSError
    naming the path, which the command line prints as one line. A link is judged by
    its target.
    """
    kind, what = (stat.S_ISDIR, "a folder") if folder else (stat.S_ISREG, "a file")
    try:
        mode = Path(final).stat().st_mode
    except OSError:  # absent, or a dangling link: nothing of anyone's is replaced
        return
    if not kind(mode):
        code = errno.EISDIR if stat.S_ISDIR(mode) else errno.EEXIST
        raise OSError(code, f"exists and is not {what}, so it is not replaced; "
                            "give the path of a new or existing " + what.split()[-1],
                      str(final))


@contextmanager
def staged_file(final: str | Path, *, mode: int = 0o644,
                exclusive: bool = False) -> Iterator[Path]:
    """A temporary path beside ``final`` to write; renamed onto ``final`` when the block ends.

    The one way a writer that cannot hand its bytes to :func:`atomic_write`
    (a zip archive, a file another program writes) stages a file: the
    temporary name starts with a dot and is removed if the block raises. With
    ``exclusive``, an existing ``final`` is never replaced: ``FileExistsError``
    is raised instead (a hard link refuses an existing name; a file system
    without hard links falls back to the rename).

    Yields
    ------
    Path
        The temporary file (created empty, readable only by its owner until
        the block ends, then given ``mode``).
    """
    final = Path(final)
    check_replaceable(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    except OSError as err:  # named by the path given: the temporary name is ours
        raise OSError(err.errno, err.strerror, str(final)) from None
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        os.chmod(tmp, mode)  # mkstemp makes owner-only files; outputs are for everyone to read
        if exclusive:
            try:
                os.link(tmp, final)
            except FileExistsError:
                raise
            except OSError:  # a file system without hard links
                os.replace(tmp, final)
        else:
            os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


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
    try:
        remove_tree(staging)
        staging.mkdir(parents=True)
    except OSError as err:
        if err.filename is None or os.fsdecode(err.filename) != str(staging):
            raise  # a parent folder's problem, named as it is
        raise OSError(err.errno, err.strerror, str(final)) from None  # named by the path given
    return staging


@contextmanager
def staged_folder(final: str | Path, *, start_from: str | Path | None = None,
                  mode: int = 0o755) -> Iterator[Path]:
    """A temporary folder beside ``final`` to fill; swapped in by :func:`replace_dir` at the end.

    The folder's name is unique (``.<name>.<random>``), so two writers of
    the same target never share one; ``start_from`` copies an existing folder
    into it first (to change a few files of a dataset). If the block raises,
    the folder is deleted and ``final`` is left as it was.

    Yields
    ------
    Path
        The staging folder, given ``mode`` before it is renamed into place.
    """
    final = Path(final)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.", dir=final.parent))
    try:
        if start_from is not None:
            staging.rmdir()
            shutil.copytree(start_from, staging)
        yield staging
        os.chmod(staging, mode)
        replace_dir(staging, final)
    except BaseException:
        remove_tree(staging)
        raise


def publish(staged: str | Path, final: str | Path) -> Path:
    """Rename a finished file from a staging folder onto ``final`` (atomic, same file system)."""
    os.replace(staged, final)
    return Path(final)


def replace_dir(staging: str | Path, final: str | Path) -> Path:
    """Move the finished folder ``staging`` to ``final``, replacing any old one.

    A folder cannot be renamed over a non-empty one, so the old folder is first
    renamed aside (atomic), the new one renamed into place (atomic), and only
    then is the old one deleted. At every instant ``final`` is either the whole
    old folder, absent, or the whole new folder.
    """
    staging, final = Path(staging), Path(final)
    check_replaceable(final, folder=True)
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
