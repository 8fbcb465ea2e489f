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


#: The paragraph style the filter (crossref.lua) gives every table cell of a DOCX.
TABLE_TEXT_STYLE = "Table Text"
#: Its size, the PDF's table size (paper.typ: 8.5 pt), in Word's half-points. At the
#: body's 12 pt a narrow column broke its words letter by letter ("custom|ers") in
#: LibreOffice, as Word breaks any word wider than its cell.
TABLE_TEXT_HALF_POINTS = 17


@functools.cache
def reference_docx_bytes() -> bytes:
    """Pandoc's own reference DOCX with :data:`TABLE_TEXT_STYLE` added, as a zip's bytes.

    Every other style is pandoc's, so the DOCX looks as pandoc's default does but
    for its tables. The zip is written in member order with a fixed time, so the
    bytes are the same on every machine with the lock's pandoc.
    """
    import io
    import zipfile

    default = run_pandoc(["--print-default-data-file", "reference.docx"], cwd=Path.cwd())
    style = (f'<w:style w:type="paragraph" w:customStyle="1" w:styleId="TableText">'
             f'<w:name w:val="{TABLE_TEXT_STYLE}"/><w:basedOn w:val="Compact"/><w:qFormat/>'
             f'<w:rPr><w:sz w:val="{TABLE_TEXT_HALF_POINTS}"/>'
             f'<w:szCs w:val="{TABLE_TEXT_HALF_POINTS}"/></w:rPr></w:style>')
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(default)) as source, \
            zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for name in source.namelist():
            data = source.read(name)
            if name == "word/styles.xml":
                text = data.decode("utf-8")
                if "</w:styles>" not in text or 'w:styleId="Compact"' not in text:
                    raise CompendiumError("pandoc's reference DOCX has no styles to add "
                                          "the table text to; its version is not the lock's")
                data = text.replace("</w:styles>", style + "</w:styles>", 1).encode("utf-8")
            info = zipfile.ZipInfo(name, date_time=(2010, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def reference_docx(path: Path) -> Path:
    """Write :func:`reference_docx_bytes` to ``path``, for pandoc's ``--reference-doc``."""
    path.write_bytes(reference_docx_bytes())
    return path
