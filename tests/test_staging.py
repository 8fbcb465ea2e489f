"""One staging helper for every writer: files and folders appear by one rename in fileio.

A writer that stages by hand (its own temporary name and ``os.replace``) is one
more place where a crash can leave a half-written output or a stray temporary
file; every writer goes through :mod:`compendium.fileio` instead.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from compendium.fileio import atomic_write, staged_file, staged_folder

from .conftest import ROOT

PACKAGE = ROOT / "src" / "compendium"

#: Writers allowed to stage by hand (none); a test fails for any listed module that no
#: longer does, so the list cannot go stale.
KNOWN_BY_HAND: frozenset[str] = frozenset()


def renames_by_hand(source: str) -> list[int]:
    """Lines that rename or stage a file themselves: ``os.replace``/``os.rename``,
    ``tempfile.mkstemp`` and ``Path.rename(target)`` (a DataFrame's ``rename(columns=...)``
    is not one). Scratch folders (``mkdtemp`` for a worktree or a fuzz case) are not
    outputs and are not counted."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Call) or not isinstance(node.func, ast.Attribute):
            continue
        owner = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
        name = node.func.attr
        if (owner == "os" and name in ("replace", "rename")) or \
                (owner == "tempfile" and name == "mkstemp") or \
                (name == "rename" and len(node.args) == 1 and not node.keywords):
            found.append(node.lineno)
    return found


def by_hand(package: Path = PACKAGE) -> dict[str, list[int]]:
    """Modules other than fileio.py that stage or rename by hand, with the lines."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        lines = renames_by_hand(path.read_text(encoding="utf-8"))
        if lines and rel != "fileio.py":
            out[rel] = lines
    return out


def test_every_writer_stages_through_fileio():
    found = {rel: lines for rel, lines in by_hand().items() if rel not in KNOWN_BY_HAND}
    assert found == {}, f"stage with fileio.staged_file / staged_folder / atomic_write: {found}"


def test_the_known_list_holds_only_writers_still_by_hand():
    assert sorted(KNOWN_BY_HAND - set(by_hand())) == []


def test_the_check_sees_renames_and_not_dataframes():
    source = ("import os, tempfile\nos.replace(a, b)\nfd, t = tempfile.mkstemp()\n"
              "path.rename(other)\nframe.rename(columns={'a': 'b'})\n")
    assert renames_by_hand(source) == [2, 3, 4]


def test_staged_file_appears_whole_or_not_at_all(tmp_path: Path):
    target = tmp_path / "out.zip"
    with pytest.raises(RuntimeError), staged_file(target) as staged:
        staged.write_bytes(b"half")
        raise RuntimeError("killed half-way")
    assert list(tmp_path.iterdir()) == []
    with staged_file(target) as staged:
        assert staged.parent == tmp_path and staged.name.startswith(".")
        staged.write_bytes(b"whole")
    assert target.read_bytes() == b"whole"
    assert oct(target.stat().st_mode & 0o777) == "0o644"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.zip"]


def test_an_exclusive_staged_file_never_replaces_one(tmp_path: Path):
    key = tmp_path / "key.csv"
    atomic_write(key, "made meanwhile\n")
    with pytest.raises(FileExistsError), staged_file(key, mode=0o600, exclusive=True) as staged:
        staged.write_text("mine\n", encoding="utf-8")
    assert key.read_text(encoding="utf-8") == "made meanwhile\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["key.csv"]
    fresh = tmp_path / "fresh.csv"
    with staged_file(fresh, mode=0o600, exclusive=True) as staged:
        staged.write_text("mine\n", encoding="utf-8")
    assert oct(fresh.stat().st_mode & 0o777) == "0o600"


def test_staged_folder_swaps_in_or_leaves_the_old(tmp_path: Path):
    final = tmp_path / "dataset"
    final.mkdir()
    (final / "a.txt").write_text("old", encoding="utf-8")
    with pytest.raises(ValueError), staged_folder(final, start_from=final) as staging:
        assert (staging / "a.txt").read_text(encoding="utf-8") == "old"
        (staging / "a.txt").write_text("half", encoding="utf-8")
        raise ValueError("invalid")
    assert (final / "a.txt").read_text(encoding="utf-8") == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]
    with staged_folder(final, start_from=final) as staging:
        (staging / "b.txt").write_text("new", encoding="utf-8")
    assert sorted(p.name for p in final.iterdir()) == ["a.txt", "b.txt"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset"]


def _other_kinds(tmp_path: Path) -> dict[str, Path]:
    """A named pipe, and a character device where this user may make one (root): what a
    rename would replace as readily as a file."""
    import os

    made = {"named pipe": tmp_path / "pipe"}
    os.mkfifo(made["named pipe"])
    try:
        os.mknod(tmp_path / "null", 0o666 | __import__("stat").S_IFCHR, os.makedev(1, 3))
        made["device"] = tmp_path / "null"
    except PermissionError:
        pass
    return made


def test_an_output_never_replaces_what_is_not_a_file(tmp_path: Path):
    """As root, `validate --stamp /dev/null` replaced the device with a regular file: an
    output given the path of a device, a pipe or a folder is refused and left as it was."""
    import stat

    from compendium.cli import main

    others = _other_kinds(tmp_path)
    (tmp_path / "folder").mkdir()
    others["folder"] = tmp_path / "folder"
    for kind, path in others.items():
        before = path.lstat()
        with pytest.raises(OSError, match="exists and is not a file, so it is not replaced"):
            atomic_write(path, "x")
        after = path.lstat()
        assert (stat.S_IFMT(after.st_mode), after.st_ino) == \
            (stat.S_IFMT(before.st_mode), before.st_ino), kind
    pipe = others["named pipe"]
    assert main(["validate", str(ROOT / "data" / "synthetic"), "--stamp", str(pipe)]) == 1
    assert stat.S_ISFIFO(pipe.lstat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in others.values())


def test_a_folder_output_never_replaces_a_file(tmp_path: Path, capsys):
    """A report's folder given the path of someone's file deleted the file and put a folder
    in its place: it is refused, naming the path, and the file is kept."""
    from compendium.cli import main

    paper = tmp_path / "paper.md"
    paper.write_text("the manuscript\n", encoding="utf-8")
    others = {"file": paper, **_other_kinds(tmp_path)}
    for kind, path in others.items():
        with pytest.raises(OSError, match="exists and is not a folder"):
            with staged_folder(path) as staging:
                (staging / "report.md").write_text("report\n", encoding="utf-8")
        assert not path.is_dir(), kind
    assert paper.read_text(encoding="utf-8") == "the manuscript\n"
    capsys.readouterr()
    assert main(["synthetic", "--to", str(paper)]) == 1
    assert paper.read_text(encoding="utf-8") == "the manuscript\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(p.name for p in others.values())
