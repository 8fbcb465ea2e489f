"""Shared test fixtures: paths to the repository, the demo dataset and shared fixtures."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

import pytest

from compendium.pipeline.warm import RUN_SOCKET_ENV, SOCKET_ENV

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "data" / "synthetic"
SHARED = ROOT.parent / "shared"

# Nobody watches the notebooks the tests run (nbval, papermill): they show no
# widgets and use their worked examples (compendium.classroom.is_headless).
# Set before any kernel starts, so every kernel inherits it.
os.environ["COMPENDIUM_HEADLESS"] = "1"

_SERVERS = pytest.StashKey[subprocess.Popen]()

#: nbval runs the committed notebooks in this kernelspec (tests/kernels/): the kernelspec
#: ``python3`` with jupyter_client's provisioner ``compendium-warm`` (pyproject.toml), so
#: that its kernels too are forked from the test run's kernel server, with the libraries
#: imported, instead of each importing them again; the notebooks' outputs are the same
#: bytes (tests/test_warm_kernels.py), and nbval compares every one of them.
NBVAL_KERNEL = "compendium-warm"
os.environ["JUPYTER_PATH"] = os.pathsep.join(
    filter(None, [str(ROOT / "tests"), os.environ.get("JUPYTER_PATH")]))


#: The test files that take longest, slowest first (measured with ``--durations``): whole
#: builds of the paper, the browser, nbgrader. `make test` runs pytest-xdist with
#: ``--dist loadfile --no-loadscope-reorder``, which hands files to the workers in
#: collection order; its default order (most tests first) left these few-test files to
#: the end, where the last of them ran on one worker while the other core sat idle.
#: The browser test comes after the whole builds: its 30 s waits for the page to
#: answer a click timed out beside a cold build on a heavily loaded machine.
SLOWEST_FIRST = ("test_build.py", "test_any_dataset_builds.py", "test_design_builds.py",
                 "test_build_safety.py", "test_diff.py", "test_design.py",
                 "test_class_course.py", "test_warm_kernels.py", "test_coding_browser.py",
                 "test_crate.py")


#: The command the test run's fork servers run beside them: it names their sockets and
#: waits until the test run closes its standard input (or ends, however it ends).
HOLD_SERVERS = (f"import os, sys; print(os.environ['{SOCKET_ENV}'], "
                f"os.environ['{RUN_SOCKET_ENV}'], flush=True); sys.stdin.read()")


def pytest_configure(config: pytest.Config) -> None:
    """Start one kernel server and one run server (compendium.pipeline.warm) for the test run.

    A dozen tests build a paper and each `make paper` would start its own pair,
    importing pandas, matplotlib, papermill and the rest again; with the sockets in
    the environment every build (and every `compendium run`) of every worker forks
    from these two instead, as `make paper` forks from its own. Tests of the
    servers themselves, and of a user's build in a clone elsewhere, take the
    variables out of their commands' environment.
    """
    option = config.option
    if (getattr(option, "nbval", False) or getattr(option, "nbval_lax", False)) and not (
            option.nbval_kernel_name or option.nbval_current_env or option.current_env):
        option.nbval_kernel_name = NBVAL_KERNEL
    if hasattr(config, "workerinput") or os.environ.get(SOCKET_ENV):
        return  # an xdist worker inherits the controller's; a run inside a run keeps its own
    wrapper = subprocess.Popen([sys.executable, "-m", "compendium.pipeline.warm", "--",
                                sys.executable, "-c", HOLD_SERVERS],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert wrapper.stdout is not None
    os.environ[SOCKET_ENV], os.environ[RUN_SOCKET_ENV] = wrapper.stdout.readline().split()
    config.stash[_SERVERS] = wrapper


def pytest_unconfigure(config: pytest.Config) -> None:
    """Stop the test run's servers: their command ends when its input closes."""
    wrapper = config.stash.get(_SERVERS, None)
    if wrapper is not None:
        assert wrapper.stdin is not None
        wrapper.stdin.close()
        wrapper.wait(timeout=120)
        for variable in (SOCKET_ENV, RUN_SOCKET_ENV):
            os.environ.pop(variable, None)


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
#: notebook pages' stamp and the crate's metadata and preview (in the crate and its copy
#: in the site), which record hashes of executed notebooks as they are, with their build
#: folder's path (the notebooks and pages themselves are compared; test_build_safety
#: compares the crate's metadata across folders with that one path normalised, and
#: test_crate checks that the preview is a function of the metadata alone).
NOT_COMPARED = (".lock", "paper/notebooks/.rendered", "crate/ro-crate-metadata.json",
                "site/crate/ro-crate-metadata.json", "crate/ro-crate-preview.html",
                "site/crate/ro-crate-preview.html")


def digest_tree(folder: Path, *also: Path, notebooks: Path = ROOT / "notebooks",
                exclude: tuple[str, ...] = NOT_COMPARED) -> dict[str, str]:
    """sha256 of every file under ``folder``, with the runs' folder's path written BUILD/runs/.

    Executed notebooks (and their pages) record the runs' folder relative to the
    notebooks folder, so two builds in different folders are compared with that
    path normalised; ``also`` names other build folders whose path a copied build
    still holds, and ``notebooks`` the notebooks folder of the clone that built
    ``folder``. Only the runs' folder is rewritten: a notebook's own default may
    name ``../build/scratch``, which a clone's own ``../build`` must not swallow.
    ``exclude`` lists file names, or paths (of files or folders) relative to ``folder``.
    """
    notebooks = notebooks.resolve()
    relatives = [os.path.relpath(f.resolve(), notebooks).encode() + b"/runs/"
                 for f in (folder, *also)]

    def normalised(data: bytes) -> bytes:
        for relative in relatives:
            data = data.replace(relative, b"BUILD/runs/")
        return data

    def excluded(path: Path) -> bool:
        rel = path.relative_to(folder)
        return path.name in exclude or any(
            PurePosixPath(*rel.parts[:i]).as_posix() in exclude
            for i in range(1, len(rel.parts) + 1))

    return {p.relative_to(folder).as_posix(): hashlib.sha256(normalised(p.read_bytes())).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file() and not excluded(p)}


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


W_NS = "{http://schemas.openxmlformats.org/wordprocessingml/2006/main}"


def docx_table_styles(docx: Path) -> tuple[Counter, Counter, dict[str, str]]:
    """Paragraph styles inside and outside tables, and Table Text's size (from styles.xml)."""
    from xml.etree import ElementTree

    archive = zipfile.ZipFile(docx)
    document = ElementTree.fromstring(archive.read("word/document.xml"))
    inside, outside = Counter(), Counter()
    in_tables = {id(p) for table in document.iter(f"{W_NS}tbl") for p in table.iter(f"{W_NS}p")}
    for paragraph in document.iter(f"{W_NS}p"):
        style = paragraph.find(f"{W_NS}pPr/{W_NS}pStyle")
        name = style.get(f"{W_NS}val") if style is not None else None
        (inside if id(paragraph) in in_tables else outside)[name] += 1
    styles = ElementTree.fromstring(archive.read("word/styles.xml"))
    table_text = next(s for s in styles.iter(f"{W_NS}style")
                      if s.get(f"{W_NS}styleId") == "TableText")
    size = table_text.find(f"{W_NS}rPr/{W_NS}sz")
    return inside, outside, {"size": size.get(f"{W_NS}val"),
                             "based_on": table_text.find(f"{W_NS}basedOn").get(f"{W_NS}val")}
