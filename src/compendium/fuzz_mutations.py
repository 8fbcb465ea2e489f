"""The inputs of ``make fuzz``: where its seeds are, and the seeded mutations of them.

A mutation takes a seed input (a REFI-QDA project, a Taguette or QualCoder
CSV, the demonstration dataset, or the synthetic class's folder) and a seeded
random generator and writes a mutated copy: bytes flipped or cut, XML elements
moved, duplicated or deleted, attributes out of range, other encodings, CSV
columns and rows changed, and file-system oddities such as folders, named
pipes, symlink loops and huge fields. ``neutral`` mutations (a byte-order
mark, CRLF, UTF-16 for a CSV; a stored or reordered archive, a byte-order mark
on the project XML for a REFI-QDA project) must not change what is read.
``fuzz`` runs the cases and judges them.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import random
import re
import shutil
import xml.etree.ElementTree as ET  # noqa: S405 (only our own trusted seeds are parsed with it)
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .dataset.datapackage import DESCRIPTOR
from .errors import CompendiumError

REPO = Path(__file__).resolve().parents[2]
SHARED_REFI = REPO.parent / "shared" / "fixtures" / "refi"
DEMO = REPO / "data" / "synthetic"
TAGUETTE_SEED = REPO / "tests" / "data" / "taguette-cluster-study.csv"
#: The synthetic class notebook 8 pools (students' coding and span CSVs, class.json).
CLASS_SEED = REPO / "data" / "synthetic-class"


@dataclass
class Seed:
    """One starting input: its kind (``refi``, ``taguette``, ``qualcoder``, ``dataset``,
    ``class``)."""

    name: str
    kind: str
    path: Path
    participants: Path | None = None   # for imports: every document's perspective
    baseline: object = None            # the unmutated reading, for neutral mutations
    # how the unmutated import ends, by whether it writes: None (accepted) or the refusal,
    # which a neutral mutation must give word for word (fuzz.unmutated_refusal fills it)
    refusals: dict[bool, str | None] = field(default_factory=dict)



# --------------------------------------------------------------------------
# Mutations: each takes the random generator and bytes (or a folder) and
# returns the mutated bytes; ``neutral`` ones must not change the codings.


def _flip(rng: random.Random, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(rng.randint(1, 8)):
        if out:
            out[rng.randrange(len(out))] ^= 1 << rng.randrange(8)
    return bytes(out)


def _truncate(rng: random.Random, data: bytes) -> bytes:
    return data[: rng.randrange(len(data) + 1)]


def _splice(rng: random.Random, data: bytes) -> bytes:
    a, b = sorted(rng.randrange(len(data) + 1) for _ in range(2))
    at = rng.randrange(len(data) + 1)
    return data[:at] + data[a:b] + data[at:] if rng.random() < 0.5 else data[:a] + data[b:]


def _junk(rng: random.Random, data: bytes) -> bytes:
    at = rng.randrange(len(data) + 1)
    junk = rng.choice([b"\x00", b"\xff\xfe", b"\r", b'"', b"<", b"&#0;", b"\xc3", b",,,\n",
                       bytes(rng.randrange(256) for _ in range(16))])
    return data[:at] + junk + data[at:]


_BYTE_MUTATIONS = {"byte flips": _flip, "truncation": _truncate, "splice": _splice,
                   "junk bytes": _junk}


def _text(data: bytes) -> str:
    return data.decode("utf-8-sig", errors="replace")


def _to_utf16(rng: random.Random, data: bytes) -> bytes:
    return _text(data).encode("utf-16")


def _to_utf16_odd(rng: random.Random, data: bytes) -> bytes:
    return _text(data).encode("utf-16") + b"\x00"


def _to_latin1(rng: random.Random, data: bytes) -> bytes:
    return _text(data).encode("latin-1", errors="replace")


def _to_bom(rng: random.Random, data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data.removeprefix(b"\xef\xbb\xbf")


def _to_crlf(rng: random.Random, data: bytes) -> bytes:
    return data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")


def _bad_declaration(rng: random.Random, data: bytes) -> bytes:
    name = rng.choice(["no-such-encoding", "utf-7", "cp037", "x-mac-klingon", "utf-32"])
    text = re.sub(r"^\s*<\?xml[^>]*\?>", "", _text(data))
    return f'<?xml version="1.0" encoding="{name}"?>'.encode() + text.encode()


_ENCODING_MUTATIONS = {"UTF-16 odd bytes": _to_utf16_odd, "Latin-1": _to_latin1}
#: Re-encodings after which a CSV export must import exactly as before.
_NEUTRAL_CSV = {"UTF-16": _to_utf16, "BOM": _to_bom, "CRLF": _to_crlf}


def _xml_mutation(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """Move, duplicate or delete an element, or put an attribute out of range."""
    ET.register_namespace("", "urn:QDA-XML:project:1.0")
    root = ET.fromstring(data)  # noqa: S314 (the seeds are our own trusted files)
    parents = {id(c): p for p in root.iter() for c in p}
    elements = [e for e in root.iter() if e is not root]
    interesting = [e for e in elements if e.tag.rsplit("}", 1)[-1] in
                   ("Code", "TextSource", "PlainTextSelection", "Coding", "CodeRef", "User",
                    "Case", "SourceRef", "VariableValue")] or elements
    target = rng.choice(interesting)
    parent = parents[id(target)]
    what = rng.choice(["delete", "duplicate", "move", "attribute", "attribute", "nest"])
    if what == "delete":
        parent.remove(target)
    elif what == "duplicate":
        parent.insert(list(parent).index(target), _copy(target))
    elif what == "move":
        parent.remove(target)
        rng.choice([root, *[e for e in root.iter() if e is not target]]).append(target)
    elif what == "nest":  # the element wrapped in copies of itself, hundreds deep
        depth = rng.choice([50, 400, 1200])
        placeholder = ET.Element("FUZZNEST")
        parent.insert(list(parent).index(target), placeholder)
        parent.remove(target)
        local = target.tag.rsplit("}", 1)[-1]
        opening = "".join(
            f'<{local} guid="{rng.getrandbits(128):032x}"'
            + "".join(f' {k}="{_attr(v)}"' for k, v in target.attrib.items() if k != "guid")
            + ">" for _ in range(depth))
        inner = ET.tostring(target, encoding="unicode").replace(
            ' xmlns="urn:QDA-XML:project:1.0"', "")
        text = ET.tostring(root, encoding="unicode")  # the tree is shallow again here
        text = text.replace("<FUZZNEST />", opening + inner + f"</{local}>" * depth, 1)
        return f"XML {what}", ('<?xml version="1.0" encoding="utf-8"?>\n' + text).encode()
    else:
        attribute = rng.choice(list(target.attrib) or ["startPosition"])
        target.set(attribute, rng.choice(["-1", "999999999", "", "1e3", "x", "0",
                                          "99999999999999999999", "{}", "\u00a0"]))
    return f"XML {what}", ET.tostring(root, encoding="utf-8", xml_declaration=True)


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _copy(element: ET.Element) -> ET.Element:
    return ET.fromstring(ET.tostring(element))  # noqa: S314 (our own serialisation)


def _csv_mutation(rng: random.Random, data: bytes) -> tuple[str, bytes]:
    """Drop, swap or add a column; duplicate, delete or edit a row; reuse an id."""
    rows = list(csv.reader(io.StringIO(_text(data), newline="")))
    header, body = rows[0], rows[1:]
    what = rng.choice(["drop column", "swap columns", "add column", "duplicate row",
                       "delete row", "edit cell", "reuse id", "huge field", "concatenate"])
    if what == "drop column":
        i = rng.randrange(len(header))
        rows = [r[:i] + r[i + 1:] for r in rows]
    elif what == "swap columns":
        i, j = rng.randrange(len(header)), rng.randrange(len(header))
        for r in rows:
            if max(i, j) < len(r):
                r[i], r[j] = r[j], r[i]
    elif what == "add column":
        rows = [r + (["extra"] if n == 0 else [str(n)]) for n, r in enumerate(rows)]
    elif what == "duplicate row" and body:
        rows.insert(rng.randrange(1, len(rows) + 1), list(rng.choice(body)))
    elif what == "delete row" and body:
        rows.pop(rng.randrange(1, len(rows)))
    elif what in ("edit cell", "huge field") and body:
        row = rng.choice(body)
        if row:
            value = "x" * 2_000_000 if what == "huge field" else rng.choice(
                ["", " ", "a.b", "..", "ctid:x", "imid:1", "=cmd()", "\r", "\n", "é", "\t"])
            row[rng.randrange(len(row))] = value
    elif what == "reuse id" and len(body) > 1:
        a, b = rng.sample(range(len(body)), 2)
        if body[a] and body[b]:
            body[b][0] = body[a][0]  # a later row takes an earlier row's id (first column)
    elif what == "concatenate":
        rows = rows + body
    out = io.StringIO()
    csv.writer(out, lineterminator="\n").writerows(rows)
    return f"CSV {what}", out.getvalue().encode("utf-8")


# --------------------------------------------------------------------------
# Building one mutated input


def qde_member(archive: zipfile.ZipFile) -> str:
    """The name of the project XML (``.qde``) inside a REFI-QDA archive."""
    return next(n for n in archive.namelist() if n.lower().endswith(".qde"))


def _rezip(path: Path, out: Path, edit: Callable[[bytes], bytes], *,
           compression: int = zipfile.ZIP_DEFLATED, reverse: bool = False) -> None:
    """Copy an archive member by member, passing its project XML through ``edit``: stored or
    deflated, in its order or reversed."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", compression) as dst:
        qde = qde_member(src)
        members = src.infolist()
        for info in reversed(members) if reverse else members:
            data = src.read(info)
            dst.writestr(info.filename, edit(data) if info.filename == qde else data)


def _unchanged_bytes(data: bytes) -> bytes:
    return data


def _with_bom(data: bytes) -> bytes:
    return b"\xef\xbb\xbf" + data.removeprefix(b"\xef\xbb\xbf")


#: Ways tools write the same REFI-QDA project, after which it must import exactly as before.
_NEUTRAL_REFI: dict[str, Callable[[Path, Path], None]] = {
    "archive stored, not deflated": lambda p, o: _rezip(p, o, _unchanged_bytes,
                                                        compression=zipfile.ZIP_STORED),
    "archive members in reverse order": lambda p, o: _rezip(p, o, _unchanged_bytes,
                                                            reverse=True),
    "project XML with a byte-order mark": lambda p, o: _rezip(p, o, _with_bom),
}


def _oddity(rng: random.Random, target: Path) -> str:
    """Replace ``target`` with a folder, a named pipe, a symlink loop, nothing or an empty file."""
    what = rng.choice(["folder", "named pipe", "symlink to itself", "symlink loop", "missing",
                       "empty file"] if hasattr(os, "mkfifo") else ["folder", "missing"])
    if target.is_dir() and not target.is_symlink():
        shutil.rmtree(target)
    else:
        target.unlink(missing_ok=True)
    if what == "folder":
        target.mkdir()
    elif what == "named pipe":
        os.mkfifo(target)
    elif what == "symlink to itself":
        os.symlink(target.name, target)
    elif what == "symlink loop":
        os.symlink(target.name + ".other", target)
        os.symlink(target.name, target.parent / (target.name + ".other"))
    elif what == "empty file":
        target.write_bytes(b"")
    return f"file system: {what}"


def mutate_export(seed: Seed, rng: random.Random, folder: Path) -> tuple[str, Path, bool]:
    """A mutated copy of an export in ``folder``: (mutation, path, whether it is neutral)."""
    out = folder / seed.path.name
    roll = rng.random()
    if roll < 0.06:
        shutil.copy(seed.path, out)
        return _oddity(rng, out), out, False
    if seed.kind == "refi":
        if roll < 0.30:
            name, fn = rng.choice(list(_BYTE_MUTATIONS.items()))
            out.write_bytes(fn(rng, seed.path.read_bytes()))  # the archive itself
            return f"archive {name}", out, False
        choice = rng.random()
        if choice < 0.55:
            label: list[str] = []

            def edit(data: bytes) -> bytes:
                name, mutated = _xml_mutation(rng, data)
                label.append(name)
                return mutated
        elif choice < 0.80:
            name, fn = rng.choice(list(_BYTE_MUTATIONS.items()))
            label = [f"project XML {name}"]

            def edit(data: bytes) -> bytes:
                return fn(rng, data)
        elif choice >= 0.9 and seed.baseline is not None:
            # only for a seed the reader accepts whole: its reading is the yardstick
            name, copy = rng.choice(list(_NEUTRAL_REFI.items()))
            copy(seed.path, out)
            return name, out, True
        else:
            name, fn = rng.choice([*_ENCODING_MUTATIONS.items(), ("declared encoding",
                                                                 _bad_declaration)])
            label = [f"project XML {name}"]

            def edit(data: bytes) -> bytes:
                return fn(rng, data)
        _rezip(seed.path, out, edit)
        return label[0], out, False
    data = seed.path.read_bytes()
    if roll < 0.25:
        name, fn = rng.choice(list(_BYTE_MUTATIONS.items()))
        out.write_bytes(fn(rng, data))
        return name, out, False
    if roll < 0.40:
        name, fn = rng.choice(list(_NEUTRAL_CSV.items()))
        out.write_bytes(fn(rng, data))
        return name, out, True
    if roll < 0.50:
        name, fn = rng.choice(list(_ENCODING_MUTATIONS.items()))
        out.write_bytes(fn(rng, data))
        return name, out, False
    name, mutated = _csv_mutation(rng, data)
    out.write_bytes(mutated)
    return name, out, False


def mutate_dataset(rng: random.Random, folder: Path) -> tuple[str, Path, bool]:
    """A mutated copy of the demo dataset: (mutation, folder, whether it was re-frozen)."""
    out = Path(shutil.copytree(DEMO, folder / "data"))
    files = sorted(p for p in out.rglob("*") if p.is_file())
    # Half the cases edit one of the four tables, which a uniform pick over the
    # twenty files (most of them transcripts) reached one time in five: their cells
    # reach every check. A segment's source too long for a file name was found
    # once in 1,875 uniform cases (three seeds of `make fuzz`).
    tables = [p for p in files if p.suffix == ".csv" and p.parent == out]
    target = rng.choice(tables if rng.random() < 0.5 else files)
    rel = target.relative_to(out).as_posix()
    name = _mutate_file(rng, target)
    if name.startswith("file system:"):
        return f"{rel}: {name}", out, False
    refreeze = rel != DESCRIPTOR and rng.random() < 0.5
    if refreeze:
        from .dataset import freeze_dataset

        with contextlib.suppress(CompendiumError):
            freeze_dataset(out)
    return f"{rel}: {name}" + (" (re-frozen)" if refreeze else ""), out, refreeze


def mutate_class(rng: random.Random, folder: Path) -> tuple[str, Path]:
    """A mutated copy of the synthetic class: (mutation, folder).

    One file changes (a student's coding or span CSV, ``class.json`` or the
    README) as a class's folder may arrive: a CSV's rows and cells edited, bytes
    flipped or cut, another encoding, or a folder, pipe or link in its place.
    """
    out = Path(shutil.copytree(CLASS_SEED, folder / "class"))
    target = rng.choice(sorted(p for p in out.rglob("*") if p.is_file()))
    return f"{target.relative_to(out).as_posix()}: {_mutate_file(rng, target)}", out


def _mutate_file(rng: random.Random, target: Path) -> str:
    """Mutate one file of a folder in place and name the mutation: a file-system oddity
    ("file system: ..."), a CSV's rows or cells, its bytes or its encoding."""
    roll = rng.random()
    if roll < 0.15:
        return _oddity(rng, target)
    data = target.read_bytes()
    if target.suffix == ".csv" and roll < 0.65:
        name, mutated = _csv_mutation(rng, data)
    elif roll < 0.85:
        name, fn = rng.choice(list(_BYTE_MUTATIONS.items()))
        mutated = fn(rng, data)
    else:
        name, fn = rng.choice([*_ENCODING_MUTATIONS.items(), *_NEUTRAL_CSV.items()])
        mutated = fn(rng, data)
    target.write_bytes(mutated)
    return name

