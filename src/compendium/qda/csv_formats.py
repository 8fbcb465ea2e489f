"""Reading the coded-text CSV exports of Taguette and QualCoder.

Neither export holds the documents' full text or positions, so segments
imported from them carry their excerpt but no offsets (and the dataset no
transcripts); identical excerpts of one document are one segment.

**Taguette** ("Export highlights" as CSV) writes ``id, document, tag,
content``: one row per (highlight, tag), ``tag`` being the tag's path, in
which Taguette separates levels with a dot (``people.parents``). The export
does not name the coder.

**QualCoder** (coding report, "Export CSV") writes ``File/case, Coder,
Coded, Id, Codename, Coded_Memo``, then one ``Category`` column per level
of the code's categories (nearest first), then ``FileVar_<name>`` and
``CaseVar_<name>`` columns when variables are exported. ``Id`` is
``ctid:N`` for coded text (``imid:``/``avid:`` for images and audio/video,
which are skipped).

Headers are matched loosely (case, spaces and punctuation ignored, a few
aliases), and a missing required column is reported by name together with
the columns that were found. A quotation mark opened and never closed joins
the rows after it into one cell; neither export writes a line break in a
name (document, tag, code, coder, id), text past its header's last column, or
a line inside a text that reads as a row of the file (a document of the file in
its column), so a row showing any of these is refused with its number rather
than read with other rows' codings lost inside it.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..errors import CompendiumError
from .model import QdaCode, QdaCoding, QdaProject, QdaSelection, QdaSource, Value
from .safety import MAX_CSV_BYTES, decode_text, one_line, read_file_limited

TAGUETTE = "Taguette highlights CSV"
QUALCODER = "QualCoder coded-text CSV"

_TAGUETTE_COLUMNS = {
    "id": ("id", "highlightid", "highlight"),
    "document": ("document", "documentname", "doc", "file", "filename"),
    "tag": ("tag", "tags", "tagpath", "tagname"),
    "content": ("content", "text", "highlighttext", "excerpt"),
}
_QUALCODER_COLUMNS = {
    "file": ("filecase", "file", "case", "filename", "document", "fileorcase"),
    "coder": ("coder", "owner"),
    "coded": ("coded", "codedtext", "text", "seltext"),
    "id": ("id",),
    "codename": ("codename", "code"),
    "memo": ("codedmemo", "memo"),
}


def header_key(name: str) -> str:
    """A header for matching: lower case, letters and digits only."""
    return re.sub(r"[^a-z0-9]+", "", name.strip().lstrip("\ufeff").lower())


def csv_kind(header: Sequence[str]) -> str | None:
    """Which export a CSV header looks like (None: neither)."""
    keys = {header_key(h) for h in header}
    taguette = len(keys & {"id", "document", "tag", "content"})
    qualcoder = len(keys & {"filecase", "coder", "coded", "codename", "codedmemo", "category"})
    if taguette >= 3 and taguette >= qualcoder:
        return TAGUETTE
    if qualcoder >= 2:
        return QUALCODER
    return None


def read_rows(path: Path) -> list[list[str]]:
    """All rows of a CSV export (UTF-8 with or without BOM, or UTF-16 with BOM)."""
    return read_table(path)[0]


def read_table(path: Path) -> tuple[list[list[str]], str]:
    """All rows of a CSV export and the delimiter its header uses."""
    text = decode_text(read_file_limited(path, MAX_CSV_BYTES), path.name)
    if "\x00" in text:
        raise CompendiumError(f"{path.name}: contains NUL characters; not a text CSV file")
    first = text.split("\n", 1)[0]
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as err:
        raise CompendiumError(f"{path.name}: cannot parse CSV ({one_line(err)})") from None
    if not rows or not any(cell.strip() for cell in rows[0]):
        raise CompendiumError(f"{path.name}: file is empty (expected a header row)")
    return rows, delimiter


@dataclass(frozen=True)
class _Columns:
    """Positions of the named columns in a header (None: absent)."""

    found: dict[str, int | None]
    header: list[str]

    @classmethod
    def match(cls, header: list[str], wanted: dict[str, tuple[str, ...]]) -> _Columns:
        keys = [header_key(h) for h in header]
        found: dict[str, int | None] = {}
        for name, aliases in wanted.items():
            found[name] = next((keys.index(a) for a in aliases if a in keys), None)
        return cls(found, header)

    def require(self, names: Sequence[str], label: str, kind: str) -> None:
        missing = [n for n in names if self.found.get(n) is None]
        if missing:
            raise CompendiumError(
                f"{label}: looks like a {kind} but lacks the column(s) "
                f"{', '.join(missing)} (found: {', '.join(one_line(h, 30) for h in self.header)})")

    def get(self, row: list[str], name: str) -> str:
        index = self.found.get(name)
        return row[index].strip() if index is not None and index < len(row) else ""


#: Why a name holding a line break, or a row longer than its header, is refused: both
#: are what a quotation mark opened and never closed does to the rows after it.
_UNCLOSED_QUOTE = "a quotation mark opened and not closed may have joined rows"


def check_row_shape(label: str, number: int, row: Sequence[str], header: Sequence[str]) -> None:
    """Refuse a row with text in cells beyond its header's last column.

    An unclosed quotation mark joins the rows after it into one cell, and the
    text after the mark that closes it lands in cells the header does not have;
    left in, the joined rows' codings would be lost without a word. Empty cells
    past the header (a spreadsheet's trailing commas) are allowed.
    """
    extra = [i for i in range(len(header), len(row)) if row[i].strip()]
    if extra:
        raise CompendiumError(
            f"{label}:{number}: has text in column {extra[-1] + 1}, but the header has "
            f"{len(header)} columns: {_UNCLOSED_QUOTE}, or the row uses another delimiter")


def check_one_line(label: str, number: int, column: str, value: str, kind: str) -> None:
    """Refuse a name (document, code, coder, id) holding a line break, which no export writes."""
    if "\n" in value or "\r" in value:
        raise CompendiumError(
            f"{label}:{number}: {column}: holds a line break, which a {kind} never writes "
            f"in this column: {_UNCLOSED_QUOTE}")


def check_no_row_inside(label: str, number: int, column: str, value: str, delimiter: str,
                        document_at: int | None, documents: set[str]) -> None:
    """Refuse a text holding, after its first line, a line that reads as a row of the file.

    A quotation mark opened in a text and closed in a later row's text joins the rows
    between into that text, with no line break in a name and nothing past the header;
    the lines it swallowed still begin as rows do, with a document of the file.
    """
    if document_at is None or ("\n" not in value and "\r" not in value):
        return
    for line in re.split(r"\r\n|\r|\n", value)[1:]:
        try:
            cells = next(csv.reader([line], delimiter=delimiter), [])
        except csv.Error:
            continue
        if len(cells) >= 3 and document_at < len(cells) and cells[document_at].strip() in documents:
            raise CompendiumError(
                f"{label}:{number}: {column}: a line inside it reads as a row of the file "
                f"(document '{one_line(cells[document_at].strip(), 40)}'): {_UNCLOSED_QUOTE}")


def _tag_path(tag: str) -> list[str]:
    parts = [p.strip() for p in tag.split(".")]
    return parts if all(parts) else [tag.strip()]


def _code_chain(path: list[str], codes: dict[str, QdaCode], prefix: str,
                leaf_codable: bool = True) -> str:
    """Make sure every level of ``path`` exists as a code; return the leaf's key."""
    keys = [f"{prefix}:" + "\x1f".join(path[:depth]) for depth in range(1, len(path) + 1)]
    for depth, key in enumerate(keys, 1):
        if key not in codes:
            # levels above the leaf exist only as folders unless used as codes themselves
            codable = leaf_codable if depth == len(path) else False
            parent = keys[depth - 2] if depth > 1 else None
            codes[key] = QdaCode(key, path[depth - 1], "", codable, parent)
    return keys[-1]  # every caller's path has at least one level


def read_taguette(path: Path, coder: str) -> QdaProject:
    """Read a Taguette highlights CSV."""
    rows, delimiter = read_table(path)
    columns = _Columns.match(rows[0], _TAGUETTE_COLUMNS)
    columns.require(["document", "tag", "content"], path.name, TAGUETTE)
    documents = {columns.get(row, "document") for row in rows[1:]} - {""}
    project = QdaProject(label=path.name, format=TAGUETTE, name=path.stem, origin="Taguette")
    codes: dict[str, QdaCode] = {}
    sources: dict[str, QdaSource] = {}
    selections: dict[tuple[str, str, str], QdaSelection] = {}
    first_rows: dict[str, int] = {}
    clashes: list[str] = []
    untagged = 0
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        check_row_shape(path.name, number, row, rows[0])
        document, tag = columns.get(row, "document"), columns.get(row, "tag")
        at = columns.found["content"]
        content = row[at] if at is not None and at < len(row) else ""
        if not document:
            raise CompendiumError(f"{path.name}:{number}: document: value is required")
        for column in ("id", "document", "tag"):
            check_one_line(path.name, number, column, columns.get(row, column), TAGUETTE)
        check_no_row_inside(path.name, number, "content", content, delimiter,
                            columns.found["document"], documents)
        highlight = columns.get(row, "id") or f"row{number}"
        if not tag:
            untagged += 1
            continue
        source = sources.setdefault(document, QdaSource(f"doc:{document}", document, None))
        code = _code_chain(_tag_path(tag), codes, "tag")
        # Taguette writes one row per tag of a highlight: the id ties them together.
        # A row reusing an id with another document or text (two exports pasted
        # together) is another highlight: kept apart, never merged into the first.
        selection = selections.get((highlight, document, content))
        if selection is None:
            clash = highlight in first_rows
            key = f"highlight:{highlight}" if not clash else f"highlight:{highlight}@row{number}"
            if clash:
                clashes.append(f"row {number} (first at row {first_rows[highlight]})")
            first_rows.setdefault(highlight, number)
            selection = selections[(highlight, document, content)] = QdaSelection(
                key, source.key, None, None, content)
        selection.codings.append(QdaCoding(code, coder))
    if untagged:
        project.warnings.append(f"{untagged} highlight(s) without a tag skipped")
    if clashes:
        project.warnings.append(
            f"{len(clashes)} row(s) reuse the id of an earlier highlight with another document "
            f"or text, and are kept as highlights of their own: {'; '.join(clashes[:5])}"
            + (" ..." if len(clashes) > 5 else ""))
    project.notes.append(f"Taguette exports do not name the coder: codings attributed to "
                         f"'{coder}'")
    project.notes.append("tag paths split on '.' into nested codes")
    project.codes = list(codes.values())
    project.sources = list(sources.values())
    project.selections = list(selections.values())
    return project


def read_qualcoder(path: Path, coder: str) -> QdaProject:
    """Read a QualCoder coding report exported as CSV."""
    rows, delimiter = read_table(path)
    header = rows[0]
    columns = _Columns.match(header, _QUALCODER_COLUMNS)
    columns.require(["file", "coded", "codename"], path.name, QUALCODER)
    documents = {columns.get(row, "file") for row in rows[1:]} - {""}
    keys = [header_key(h) for h in header]
    categories = [i for i, k in enumerate(keys) if re.fullmatch(r"category\d*", k)]
    variables = [(i, h.strip().split("_", 1)[1]) for i, h in enumerate(header)
                 if header_key(h).startswith(("filevar", "casevar")) and "_" in h]
    project = QdaProject(label=path.name, format=QUALCODER, name=path.stem, origin="QualCoder",
                         folders_marked=True)
    if columns.found["coder"] is None:
        project.warnings.append(f"no Coder column: codings attributed to '{coder}'")
    codes: dict[str, QdaCode] = {}
    sources: dict[str, QdaSource] = {}
    selections: list[QdaSelection] = []
    media = 0
    for number, row in enumerate(rows[1:], 2):
        if not any(cell.strip() for cell in row):
            continue
        check_row_shape(path.name, number, row, header)
        document = columns.get(row, "file")
        name = columns.get(row, "codename")
        index = columns.found["coded"]
        coded = row[index] if index is not None and index < len(row) else ""
        coding_id = columns.get(row, "id")
        if coding_id.lower().startswith(("imid:", "avid:")) or \
                (not coding_id and coded.strip().lower() in ("image", "a/v")):
            media += 1
            continue
        for column, given in (("File/case", document), ("Codename", name)):
            if not given:
                raise CompendiumError(f"{path.name}:{number}: {column}: value is required")
        for column, given in (("File/case", document), ("Codename", name),
                              ("Coder", columns.get(row, "coder")), ("Id", coding_id),
                              *((header[i].strip(), row[i]) for i in categories if i < len(row))):
            check_one_line(path.name, number, column, given.strip(), QUALCODER)
        for column, key in (("Coded", "coded"), ("Coded_Memo", "memo")):
            at = columns.found[key]
            check_no_row_inside(path.name, number, column,
                                row[at] if at is not None and at < len(row) else "",
                                delimiter, columns.found["file"], documents)
        path_names = [row[i].strip() for i in reversed(categories) if i < len(row)
                      and row[i].strip()]
        parent = _code_chain(path_names, codes, "category", leaf_codable=False) \
            if path_names else None
        key = f"code:{name}"
        if key not in codes:
            codes[key] = QdaCode(key, name, "", True, parent)
        source = sources.setdefault(document, QdaSource(f"doc:{document}", document, None))
        for index, variable in variables:
            value: Value = row[index].strip() if index < len(row) else ""
            if value:
                source.attributes.setdefault(variable, value)
        who = columns.get(row, "coder") or coder
        selections.append(QdaSelection(coding_id or f"row{number}", source.key, None, None,
                                       coded, [QdaCoding(key, who)]))
    if media:
        project.warnings.append(f"skipped {media} coding(s) of images or audio/video, which a "
                                "dataset cannot hold")
    project.codes = list(codes.values())
    project.sources = list(sources.values())
    project.selections = selections
    return project
