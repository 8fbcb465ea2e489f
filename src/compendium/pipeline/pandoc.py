"""Running pandoc (from the pypandoc-binary wheel) for the paper and the site."""

from __future__ import annotations

import functools
import importlib.util
import os
import subprocess
from pathlib import Path

from ..errors import CompendiumError


@functools.cache
def pandoc_path() -> str:
    """The pandoc executable shipped in the pypandoc-binary wheel, whose version the lock pins.

    It is found in the installed package's folder (``pypandoc/files/``) rather than
    asked of ``pypandoc.get_pandoc_path()``, which takes whichever pandoc it finds
    with the highest version, one on the PATH included: a machine with a newer
    pandoc installed would then build other bytes than the lock's. Not importing
    pypandoc also keeps a tenth of a second (its imports and a ``pandoc
    --version``) off every step that renders.
    """
    spec = importlib.util.find_spec("pypandoc")
    folders = (spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        for name in ("pandoc", "pandoc.exe"):
            path = Path(folder) / "files" / name
            if path.is_file() and os.access(path, os.X_OK):
                return str(path)
    raise CompendiumError("pandoc from the pypandoc-binary wheel is missing from this "
                          "environment; make it again from the lock: rm -rf .venv && make env")


def pandoc_version() -> str:
    """Pandoc's version number, as printed in the paper's colophon."""
    out = subprocess.run([pandoc_path(), "--version"], capture_output=True, text=True,
                         check=True).stdout
    return out.splitlines()[0].split()[-1]


def run_pandoc(args: list[str], cwd: Path, env: dict[str, str] | None = None,
               stdin: bytes | None = None) -> bytes:
    """Run pandoc with ``args`` in ``cwd``; return its output, or stop with its message."""
    result = subprocess.run([pandoc_path(), *args], cwd=cwd, capture_output=True, input=stdin,
                            env={**os.environ, **(env or {})})
    if result.returncode != 0:
        message = " ".join(result.stderr.decode("utf-8", "replace").strip().split())
        raise CompendiumError(f"pandoc failed: {message}")
    return result.stdout


def start_pandoc(args: list[str], cwd: Path, env: dict[str, str] | None = None):
    """Start pandoc without waiting, so several output formats are written at once."""
    return subprocess.Popen([pandoc_path(), *args], cwd=cwd, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env={**os.environ, **(env or {})})


def finish_pandoc(process) -> None:
    """Wait for a pandoc started with :func:`start_pandoc`; stop with its message on failure."""
    _, err = process.communicate()
    if process.returncode != 0:
        message = " ".join(err.decode("utf-8", "replace").strip().split())
        raise CompendiumError(f"pandoc failed: {message}")
