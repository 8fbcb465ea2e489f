"""Shared test fixtures: paths to the repository, the demo dataset and shared fixtures."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "synthetic"
SHARED = ROOT.parent / "shared"

# Nobody watches the notebooks the tests run (nbval, papermill): they show no
# widgets and use their worked examples (compendium.classroom.is_headless).
# Set before any kernel starts, so every kernel inherits it.
os.environ["COMPENDIUM_HEADLESS"] = "1"


#: The test files that take longest, slowest first (measured with ``--durations``): whole
#: builds of the paper, the browser, nbgrader. `make test` runs pytest-xdist with
#: ``--dist loadfile --no-loadscope-reorder``, which hands files to the workers in
#: collection order; its default order (most tests first) left these few-test files to
#: the end, where the last of them ran on one worker while the other core sat idle.
#: The browser test comes after the whole builds: its 30 s waits for the page to
#: answer a click timed out beside a cold build on a heavily loaded machine.
SLOWEST_FIRST = ("test_build.py", "test_any_dataset_builds.py", "test_design_builds.py",
                 "test_design.py", "test_diff.py", "test_crate.py", "test_build_safety.py",
                 "test_class_course.py", "test_warm_kernels.py", "test_coding_browser.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the slowest files first, each file's tests in their own order (a stable sort)."""
    rank = {name: i for i, name in enumerate(SLOWEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(SLOWEST_FIRST)))


@pytest.fixture
def demo_copy(tmp_path: Path) -> Path:
    """A writable copy of the demonstration dataset."""
    target = tmp_path / "demo"
    shutil.copytree(DEMO, target)
    return target


def make(*args: str, cwd: Path = ROOT, **kwargs) -> subprocess.CompletedProcess:
    """Run make in the repository without the calling make's flags (pytest may run under make)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    return subprocess.run(["make", "--no-print-directory", *args], cwd=cwd, env=env,
                           capture_output=True, text=True, **kwargs)


def shared_tmp(tmp_path_factory) -> Path:
    """A temporary folder shared by every worker of one pytest-xdist run (or this run's own)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> Path:
    """One full build of the paper from the demo dataset, shared by the whole test run.

    Every worker asks make for the same build folder; make's lock on the folder
    lets the first build it and the others find it current. Tests that change a
    build work on a copy (:func:`copy_build`).
    """
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    build = shared_tmp(tmp_path_factory) / "shared-build"
    result = make("paper", f"BUILD={build}")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return build


def copy_build(build: Path, target: Path) -> Path:
    """A copy of a build folder that make takes as current (time stamps kept)."""
    shutil.copytree(build, target, symlinks=True, ignore=shutil.ignore_patterns(".lock"))
    return target


#: Files left out when builds in different folders are compared: make's lock, and the
#: notebook pages' stamp and the crate's metadata (in the crate and its copy in the
#: site), which record hashes of executed notebooks as they are, with their build
#: folder's path (the notebooks and pages themselves are compared; test_crate compares
#: the crate's metadata across folders with that one path normalised).
NOT_COMPARED = (".lock", "paper/notebooks/.rendered", "crate/ro-crate-metadata.json",
                "site/crate/ro-crate-metadata.json")


def digest_tree(folder: Path, *also: Path,
                exclude: tuple[str, ...] = NOT_COMPARED) -> dict[str, str]:
    """sha256 of every file under ``folder``, with the folder's own path written as BUILD.

    Executed notebooks record the build folder relative to the notebooks folder,
    so two builds in different folders are compared with that path normalised;
    ``also`` names other build folders whose path a copied build still holds.
    ``exclude`` lists file names or paths relative to ``folder``.
    """
    notebooks = (ROOT / "notebooks").resolve()
    relatives = [os.path.relpath(f.resolve(), notebooks).encode() for f in (folder, *also)]

    def normalised(data: bytes) -> bytes:
        for relative in relatives:
            data = data.replace(relative, b"BUILD")
        return data

    return {p.relative_to(folder).as_posix(): hashlib.sha256(normalised(p.read_bytes())).hexdigest()
            for p in sorted(folder.rglob("*"))
            if p.is_file() and p.name not in exclude
            and p.relative_to(folder).as_posix() not in exclude}


def paper_text(build: Path) -> dict[str, str]:
    """The built paper's text in each format: HTML, DOCX (document.xml) and PDF (pdftotext)."""
    import zipfile

    paper = build / "paper"
    texts = {"html": (paper / "paper.html").read_text(encoding="utf-8"),
             "docx": zipfile.ZipFile(paper / "paper.docx").read("word/document.xml")
             .decode("utf-8")}
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (Debian's poppler-utils, which .ci/run installs) is not on this "
                    "machine, so the PDF's words cannot be read")
    texts["pdf"] = subprocess.run([pdftotext, "-layout", str(paper / "paper.pdf"), "-"],
                                  capture_output=True, text=True, check=True).stdout
    return texts


def pdf_text(build: Path) -> str:
    """The PDF's words in reading order (pdftotext without -layout), whitespace collapsed."""
    pdftotext = shutil.which("pdftotext")
    if pdftotext is None:
        pytest.skip("pdftotext (Debian's poppler-utils, which .ci/run installs) is not on this "
                    "machine, so the PDF's words cannot be read")
    out = subprocess.run([pdftotext, str(build / "paper" / "paper.pdf"), "-"],
                         capture_output=True, text=True, check=True).stdout
    return " ".join(out.split())


def quote_mark_problems(text: str) -> list[str]:
    """Where ``text`` (a paper's words) has a quotation mark of the wrong form.

    A quote opens with ‘ and closes with ’: an opening mark straight after a
    word or a full stop ("…calling.‘"), an opening mark with no closing one
    before the next, or a straight ' or " is a problem.
    """
    problems = [f"opening mark closes a quote: …{m.string[max(0, m.start() - 40):m.end() + 10]}…"
                for m in re.finditer(r"(?<=[^\s(\[“‘—–/-])‘", text)]
    pieces = text.split("‘")
    problems += [f"‘ not closed by ’ before the next ‘: ‘{piece[:60]}…"
                 for piece in pieces[1:] if "’" not in piece]
    problems += [f"straight quotation mark: …{m.string[max(0, m.start() - 40):m.end() + 10]}…"
                 for m in re.finditer(r"['\"]", text)]
    return problems
