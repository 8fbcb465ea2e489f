"""Helpers shared by the QDA import/export tests: fixture paths, tiny projects, XML counts.

The real REFI-QDA exports live in ``../shared/fixtures/refi/`` beside the
repository (see its PROVENANCE.md); they are never copied into it. Tests
that need them skip, saying why, when that folder is absent.

The small projects built here spell their XML out in full so that each test
shows the quirk it exercises.
"""

from __future__ import annotations

import functools
import zipfile
from collections import Counter
from pathlib import Path

import defusedxml.ElementTree as SafeET
import pandas as pd
import pytest

from compendium.dataset import load_dataset

REPO = Path(__file__).resolve().parents[1]
REFI_FIXTURES = REPO / ".." / "shared" / "fixtures" / "refi"
SYNTHETIC = REPO / "data" / "synthetic"
NS = "urn:QDA-XML:project:1.0"


def refi_fixture(name: str) -> Path:
    """A real export from the shared fixtures, or skip the test saying why."""
    path = REFI_FIXTURES / name
    if not path.exists():
        pytest.skip(f"shared REFI-QDA fixture {name} not found at {REFI_FIXTURES.resolve()} "
                    "(the shared/ folder beside the repository is absent)")
    return path


def guid(n: int, *, braces: bool = False, upper: bool = False) -> str:
    text = f"00000000-0000-4000-8000-{n:012d}"
    text = text.upper() if upper else text
    return "{" + text + "}" if braces else text


def project_xml(body: str, *, origin: str = "test tool 1.0", name: str = "Test project",
                users: str | None = None) -> str:
    """A REFI-QDA Project document around ``body`` (Users default to one user 'ann')."""
    users = users if users is not None else f'<Users><User guid="{guid(900)}" name="ann"/></Users>'
    return (f'<?xml version="1.0" encoding="utf-8"?>\n<Project xmlns="{NS}" name="{name}" '
            f'origin="{origin}">{users}{body}</Project>')


def code(n: int, name: str, inner: str = "", *, codable: bool = True, description: str = "") -> str:
    desc = f"<Description>{description}</Description>" if description else ""
    return (f'<Code guid="{guid(n)}" name="{name}" isCodable="{"true" if codable else "false"}">'
            f"{desc}{inner}</Code>")


def codebook(*codes: str) -> str:
    return f"<CodeBook><Codes>{''.join(codes)}</Codes></CodeBook>"


def selection(n: int, start: int, end: int, *codings: tuple[int, int], name: str = "",
              creator: int | None = None) -> str:
    """A PlainTextSelection with Codings given as (code n, user n)."""
    made = f' creatingUser="{guid(creator)}"' if creator is not None else ""
    inner = "".join(f'<Coding guid="{guid(5000 + n * 10 + i)}" creatingUser="{guid(u)}">'
                    f'<CodeRef targetGUID="{guid(c)}"/></Coding>'
                    for i, (c, u) in enumerate(codings))
    return (f'<PlainTextSelection guid="{guid(n)}" name="{name}" startPosition="{start}" '
            f'endPosition="{end}"{made}>{inner}</PlainTextSelection>')


def text_source(n: int, name: str, path: str, *selections: str, extra: str = "") -> str:
    return (f'<TextSource guid="{guid(n)}" name="{name}" plainTextPath="{path}">{extra}'
            f"{''.join(selections)}</TextSource>")


def write_qdpx(path: Path, qde: str | bytes, files: dict[str, str | bytes] | None = None,
               qde_name: str = "project.qde") -> Path:
    """A .qdpx archive holding the project XML and the given members."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(qde_name, qde.encode("utf-8") if isinstance(qde, str) else qde)
        for member, data in (files or {}).items():
            archive.writestr(member, data.encode("utf-8") if isinstance(data, str) else data)
    return path


def write_attributes(path: Path, rows: dict[str, tuple[str, str]]) -> Path:
    """A --participants file giving (perspective, organisation_type) per participant."""
    lines = ["participant_id,perspective,organisation_type"]
    lines += [f"{pid},{p},{o}" for pid, (p, o) in rows.items()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def qde_root(archive: Path):
    """The project XML of an archive, parsed with defusedxml (for independent counts)."""
    with zipfile.ZipFile(archive) as zipped:
        name = next(n for n in zipped.namelist() if n.lower().endswith(".qde"))
        return SafeET.fromstring(zipped.read(name))


def element_counts(root) -> Counter:
    return Counter(local(e.tag) for e in root.iter())


def read_csv(path: Path) -> pd.DataFrame:
    return pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""])


def tables_of(folder: Path) -> dict:
    """A dataset's tables in a canonical order, and its transcripts and key metadata."""
    ds = load_dataset(folder)
    segments = ds.segments.copy()
    segments["source"] = segments["source"].fillna(
        "transcripts/" + segments["participant_id"] + ".txt").where(segments["start"].notna())
    return {
        "participants": ds.participants.sort_values("participant_id").reset_index(drop=True),
        "codebook": ds.codebook.sort_values("code_id").reset_index(drop=True),
        "segments": segments.sort_values("segment_id").reset_index(drop=True),
        "codings": ds.codings.sort_values(["segment_id", "code_id", "coder"])
        .reset_index(drop=True),
        "transcripts": ds.transcripts,
        "meta": (ds.name, ds.title, ds.synthetic, ds.primary_coder, ds.interview_guide),
    }


def assert_same_dataset(a: Path, b: Path) -> None:
    left, right = tables_of(a), tables_of(b)
    for key in ("participants", "codebook", "segments", "codings"):
        pd.testing.assert_frame_equal(left[key], right[key], check_dtype=False, obj=key)
    assert left["transcripts"] == right["transcripts"]
    assert left["meta"] == right["meta"]


@functools.lru_cache(maxsize=2)
def refi_schema(name: str = "Project-mrt2019.xsd"):
    """A REFI-QDA schema from the shared fixtures, or the reason it cannot be had."""
    try:
        import xmlschema
    except ImportError:
        return "xmlschema is not installed, so the export cannot be checked against the XSD"
    path = REFI_FIXTURES / "xsd" / name
    if not path.exists():
        return f"the REFI-QDA XSD is absent ({path.resolve()}: no shared/ beside the repository)"
    return xmlschema.XMLSchema(str(path))


def assert_valid_refi(archive: Path, *, required: bool = True) -> None:
    """The archive's project.qde validates against Project-mrt2019.xsd.

    Where the schema cannot be had, a test that is about the schema is
    skipped (saying why); others (``required=False``) go on without the check.
    """
    schema = refi_schema()
    if isinstance(schema, str):
        if required:
            pytest.skip(schema)
        return
    root = qde_root(archive)  # parsed with defusedxml, then checked by xmlschema
    errors = list(schema.iter_errors(root))
    assert not errors, errors[0]


def assert_valid_codebook(path: Path) -> None:
    """A .qdc file validates against the REFI-QDA Codebook.xsd (skip if it cannot be had)."""
    schema = refi_schema("Codebook.xsd")
    if isinstance(schema, str):
        pytest.skip(schema)
    errors = list(schema.iter_errors(SafeET.fromstring(path.read_bytes())))
    assert not errors, errors[0]
