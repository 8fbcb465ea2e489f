"""The one place where a user's file is read: regular files only, every failure one line.

A dataset folder or a QDA export comes from elsewhere and may be broken or
hostile in ways no check of its content can see: a path that is a folder, a
named pipe (whose ``open`` would wait for a writer for ever), a symlink that
points at itself, a file that vanishes between two looks, bytes that do not
decode, JSON nested past the interpreter's recursion limit. Every reader of a
user's file (tables, transcripts, the descriptor, exports, notebooks) goes
through :func:`read_bytes` (or :func:`open_regular`), :func:`decode`,
:func:`parse_json` and :func:`read_notebook` here, which turn each of those
causes into a :class:`~compendium.errors.CompendiumError` of one line naming
the file, never another exception and never a wait.

This module imports only :mod:`compendium.errors` (and nbformat, inside
:func:`read_notebook`).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any, BinaryIO

from .errors import CompendiumError

#: Deepest nesting of arrays and objects accepted in a JSON file (a descriptor needs 6).
MAX_JSON_DEPTH = 64

_JSON_STRING = re.compile(rb'"(?:[^"\\]|\\.)*"', re.DOTALL)
#: Outside strings, only the brackets count for depth: every other byte is dropped,
#: and an object's braces are counted as an array's brackets.
_NOT_BRACKETS = bytes(b for b in range(256) if b not in b"[]{}")
_BRACES_AS_BRACKETS = bytes.maketrans(b"{}", b"[]")


def _reason(err: OSError) -> str:
    return str(err.strerror or err).strip() or type(err).__name__


def regular_file_problem(path: Path) -> str | None:
    """Why ``path`` cannot be read as a file (None: it is a regular file, links followed)."""
    try:
        mode = os.stat(path).st_mode
    except OSError as err:  # missing, a symlink loop, a name too long, no permission
        return "no such file" if isinstance(err, FileNotFoundError) else \
            f"cannot be read ({_reason(err)})"
    except ValueError:  # a NUL byte in the path
        return "cannot be read (the path holds a NUL character)"
    if stat.S_ISREG(mode):
        return None
    kind = "a folder" if stat.S_ISDIR(mode) else "a named pipe" if stat.S_ISFIFO(mode) \
        else "a socket" if stat.S_ISSOCK(mode) else "a device" if stat.S_ISCHR(mode) \
        or stat.S_ISBLK(mode) else "not a regular file"
    return f"is {kind}, not a file"


def is_regular_file(path: Path) -> bool:
    """Whether ``path`` is a regular file (symlinks followed; loops and errors: False)."""
    return regular_file_problem(path) is None


@contextlib.contextmanager
def open_regular(path: Path, label: str | None = None, limit: int | None = None
                 ) -> Iterator[BinaryIO]:
    """A regular file opened for reading, or a one-line CompendiumError saying why not.

    The file is opened without blocking and checked with ``fstat`` on the open
    descriptor, so a named pipe or a device swapped in after a first look
    cannot make the read wait. ``limit`` refuses larger files. A failure to
    read inside the ``with`` block is the same one-line error.
    """
    label = label or path.name
    problem = regular_file_problem(path)
    if problem == "no such file" and not Path(path).is_absolute():
        # a relative path (a default such as notebooks/runs.toml) is from the folder the
        # command runs in, which may not be the compendium's: say where it looked
        problem += f" (looked for {Path.cwd() / path})"
    if problem:
        raise CompendiumError(f"{label}: {problem}")
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    except OSError as err:
        raise CompendiumError(f"{label}: cannot be read ({_reason(err)})") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise CompendiumError(f"{label}: is not a regular file")
        if limit is not None and info.st_size > limit:
            raise CompendiumError(f"{label}: {info.st_size:,} bytes, more than the limit of "
                                  f"{limit:,}")
        with os.fdopen(fd, "rb", closefd=False) as handle:
            yield handle
    except OSError as err:
        raise CompendiumError(f"{label}: cannot be read ({_reason(err)})") from None
    finally:
        os.close(fd)


def read_bytes(path: Path, label: str | None = None, limit: int | None = None,
               head: int | None = None) -> bytes:
    """The bytes of a regular file (opened by :func:`open_regular`), or a one-line
    CompendiumError saying why not. ``limit`` refuses larger files; ``head`` reads
    only the first ``head`` bytes.
    """
    label = label or path.name
    with open_regular(path, label, limit) as handle:
        wanted = head if head is not None else (limit + 1 if limit is not None else None)
        data = handle.read() if wanted is None else handle.read(wanted)
        if limit is not None and head is None and len(data) > limit:  # grew while read
            raise CompendiumError(f"{label}: more than the limit of {limit:,} bytes")
    return data


def decode(data: bytes, label: str) -> str:
    """Text of a file: UTF-8 (a BOM dropped), or UTF-16 when it starts with a BOM.

    A decoding failure is one line naming the line (UTF-8) or the fault (UTF-16).
    """
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        if len(data) % 2:
            raise CompendiumError(f"{label}: not valid UTF-16 text (an odd number of bytes; "
                                  "the file is cut short)")
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError as err:
            raise CompendiumError(f"{label}: not valid UTF-16 text ({err.reason} at byte "
                                  f"{err.start})") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        # The codec's position counts from after a byte-order mark; the line from the start.
        start = err.start + (3 if data.startswith(b"\xef\xbb\xbf") else 0)
        line = data[:start].count(b"\n") + 1
        raise CompendiumError(f"{label}:{line}: not valid UTF-8 (byte 0x{data[start]:02x}); "
                              "save the file as UTF-8") from None


def json_depth(data: bytes) -> int:
    """How deeply arrays and objects nest in JSON text (strings ignored), without recursion.

    Pure Python rather than numpy: every paper step reads the dataset's descriptor
    through here, and importing numpy would cost each of them more than the count
    (under half a second for ten megabytes of brackets).
    """
    brackets = _JSON_STRING.sub(b'""', data).translate(_BRACES_AS_BRACKETS, _NOT_BRACKETS)
    steps = itertools.accumulate(1 if byte == ord("[") else -1 for byte in brackets)
    return max(0, max(steps, default=0))


def parse_json(data: bytes, label: str, max_depth: int = MAX_JSON_DEPTH) -> Any:
    """Parse JSON (UTF-8, a BOM allowed) whose nesting is at most ``max_depth``."""
    text = decode(data, label)
    depth = json_depth(text.encode("utf-8"))
    if depth > max_depth:
        raise CompendiumError(f"{label}: JSON nested {depth} levels deep, more than the "
                              f"limit of {max_depth}")
    try:
        return json.loads(text)
    except (ValueError, RecursionError) as err:
        raise CompendiumError(f"{label}: not valid JSON ({str(err).splitlines()[0]})") from None


def read_text(path: Path, label: str | None = None, limit: int | None = None) -> str:
    """A regular file's text (see :func:`read_bytes` and :func:`decode`)."""
    label = label or path.name
    return decode(read_bytes(path, label, limit), label)


def read_notebook(path: Path, label: str | None = None) -> Any:
    """A Jupyter notebook (nbformat 4), or a one-line CompendiumError saying why not.

    nbformat is imported here, not at the top: most readers of this module read
    no notebook.
    """
    import nbformat

    label = label or str(path)
    try:
        return nbformat.reads(read_text(path, label), as_version=4)
    except (ValueError, nbformat.reader.NotJSONError) as err:
        raise CompendiumError(f"{label}: not a notebook ({str(err).splitlines()[0]})") \
            from None

