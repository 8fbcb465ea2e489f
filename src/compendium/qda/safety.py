"""Reading untrusted exports safely: zip archives, XML and text files.

A project file comes from elsewhere and may be hostile or simply broken.
Everything read from one goes through this module, which refuses (with a
one-line :class:`CompendiumError` naming the file or member):

- archives that are not zips, that are corrupt or encrypted, that hold
  members whose paths would escape the archive, that hold too many members,
  that claim an absurd total size, or whose members compress suspiciously
  well (a "zip bomb");
- members larger than the limit for their kind, enforced while reading
  rather than trusting the sizes the archive declares;
- XML with a DTD, entity declarations or external references (parsed with
  ``defusedxml`` only), and XML that is not well-formed.

The limits are module constants so that tests can lower them.
"""

from __future__ import annotations

import lzma
import re
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

import defusedxml
import defusedxml.ElementTree as SafeET

from ..errors import CompendiumError
from ..userfile import decode, read_bytes

#: Most members an archive may hold.
MAX_MEMBERS = 100_000
#: Largest total uncompressed size an archive may declare (media make projects big).
MAX_TOTAL_BYTES = 16 * 2**30
#: Largest project XML read into memory.
MAX_XML_BYTES = 512 * 2**20
#: Largest plain-text source read into memory.
MAX_TEXT_BYTES = 128 * 2**20
#: Largest CSV export read into memory.
MAX_CSV_BYTES = 512 * 2**20
#: Compression ratio above which a member is taken for a zip bomb ...
MAX_RATIO = 200
#: ... once it is larger than this (small members can compress very well).
RATIO_FLOOR_BYTES = 2**20

_DRIVE = re.compile(r"^[A-Za-z]:")


def one_line(text: object, limit: int = 120) -> str:
    """Text fit for a one-line message: control characters shown, long text cut."""
    shown = "".join(ch if ch.isprintable() else repr(ch)[1:-1] for ch in str(text))
    return shown if len(shown) <= limit else shown[: limit - 1] + "…"


def member_escapes(name: str) -> bool:
    """Whether a member name is absolute or climbs out of the archive."""
    if name.startswith(("/", "\\")) or _DRIVE.match(name) or "\x00" in name:
        return True
    parts = re.split(r"[\\/]+", name)
    return any(part == ".." for part in parts)


@dataclass(frozen=True)
class SafeArchive:
    """A zip archive whose member list has been checked; read members with :meth:`read`."""

    path: Path
    members: dict[str, zipfile.ZipInfo]

    @classmethod
    def open(cls, path: Path) -> SafeArchive:
        """Check the archive at ``path`` as a whole and list its members."""
        label = path.name
        if not zipfile.is_zipfile(path):
            raise CompendiumError(f"{label}: not a zip archive, or a damaged one (a .qdpx "
                                  "project must be a zip)")
        try:
            with zipfile.ZipFile(path) as archive:
                infos = archive.infolist()
        except (zipfile.BadZipFile, OSError, ValueError) as err:
            raise CompendiumError(f"{label}: corrupt zip archive ({one_line(err)})") from None
        if len(infos) > MAX_MEMBERS:
            raise CompendiumError(
                f"{label}: holds {len(infos):,} members, more than the limit of {MAX_MEMBERS:,}")
        total = 0
        members: dict[str, zipfile.ZipInfo] = {}
        for info in infos:
            if member_escapes(info.filename):
                raise CompendiumError(
                    f"{label}: member '{one_line(info.filename)}' has a path that escapes "
                    "the archive; refusing the archive")
            if info.flag_bits & 0x1:
                raise CompendiumError(
                    f"{label}: member '{one_line(info.filename)}' is encrypted")
            total += info.file_size
            if info.file_size > RATIO_FLOOR_BYTES and \
                    info.file_size > MAX_RATIO * max(info.compress_size, 1):
                raise CompendiumError(
                    f"{label}: member '{one_line(info.filename)}' would expand "
                    f"{info.file_size // max(info.compress_size, 1):,} times "
                    f"(limit {MAX_RATIO}); refusing a likely zip bomb")
            members[info.filename] = info
        if total > MAX_TOTAL_BYTES:
            raise CompendiumError(
                f"{label}: declares {total / 2**30:.1f} GiB uncompressed, more than the "
                f"limit of {MAX_TOTAL_BYTES / 2**30:.0f} GiB")
        return cls(path, members)

    def read(self, name: str, limit: int) -> bytes:
        """The bytes of one member, refusing it once it grows past ``limit``."""
        info = self.members[name]
        label = f"{self.path.name}: member '{one_line(name)}'"
        if info.file_size > limit:
            raise CompendiumError(f"{label} is {info.file_size:,} bytes, more than the "
                                  f"limit of {limit:,}")
        chunks, size = [], 0
        try:
            with zipfile.ZipFile(self.path) as archive, archive.open(info) as handle:
                while chunk := handle.read(1 << 20):
                    size += len(chunk)
                    if size > limit:  # the header lied about the size
                        raise CompendiumError(f"{label} expands past the limit of "
                                              f"{limit:,} bytes")
                    chunks.append(chunk)
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError, zlib.error,
                lzma.LZMAError, NotImplementedError) as err:
            # a corrupt deflate stream, an unknown compression method, a bad CRC ...
            raise CompendiumError(f"{label} cannot be read ({one_line(err)})") from None
        return b"".join(chunks)


def read_file_limited(path: Path, limit: int, label: str | None = None) -> bytes:
    """The bytes of a file on disk, refusing files larger than ``limit``."""
    return read_bytes(path, label or path.name, limit)


def parse_xml(data: bytes, label: str) -> Any:
    """Parse XML with defusedxml, refusing DTDs, entities and external references."""
    try:
        return SafeET.fromstring(data, forbid_dtd=True, forbid_entities=True,
                                 forbid_external=True)
    except defusedxml.DTDForbidden:
        raise CompendiumError(f"{label}: refused: the XML declares a DTD, which a REFI-QDA "
                              "project never needs (entity expansion or external entities "
                              "could be hidden in it)") from None
    except defusedxml.EntitiesForbidden:
        raise CompendiumError(f"{label}: refused: the XML declares entities (possible "
                              "entity-expansion attack)") from None
    except defusedxml.ExternalReferenceForbidden:
        raise CompendiumError(f"{label}: refused: the XML refers to external resources") \
            from None
    except defusedxml.DefusedXmlException as err:
        raise CompendiumError(f"{label}: refused unsafe XML ({one_line(err)})") from None
    except SafeET.ParseError as err:
        raise CompendiumError(f"{label}: not well-formed XML ({one_line(err)})") from None
    except (LookupError, ValueError) as err:  # an unknown or unusable declared encoding
        raise CompendiumError(f"{label}: cannot decode the XML ({one_line(err)})") from None


def decode_text(data: bytes, label: str) -> str:
    """Decode a plain-text source: UTF-8 (BOM stripped), or UTF-16 with a BOM."""
    return decode(data, label)


def safe_relative(path: str) -> PurePosixPath | None:
    """A relative path inside a folder, or None if it is absolute or climbs out."""
    if not path or member_escapes(path):
        return None
    return PurePosixPath(*[p for p in re.split(r"[\\/]+", path) if p not in ("", ".")])
