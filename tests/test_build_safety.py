"""A build that survives a crash: atomic writes, staged steps, SIGKILL at several points,
two builds at once; and a build in a clone elsewhere that gives the same bytes."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from compendium import layout
from compendium.errors import CompendiumError
from compendium.fileio import (
    atomic_write,
    replace_dir,
    sha256_file,
    sha256_text,
    staging_dir,
    write_if_changed,
)
from compendium.pipeline.rules import load_registry, rules_text
from compendium.pipeline.warm import RUN_SOCKET_ENV, SOCKET_ENV

from .conftest import DEMO, NOT_COMPARED, ROOT, copy_build, digest_tree

REGISTRY = ROOT / "notebooks" / "runs.toml"


# --------------------------------------------------------------------------- fileio


def test_sha256_known_answers(tmp_path: Path):
    # FIPS 180-2, Appendix B.1 (one-block message "abc") and the empty message.
    abc = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert sha256_text("abc") == abc
    (tmp_path / "abc").write_bytes(b"abc")
    assert sha256_file(tmp_path / "abc") == abc
    assert sha256_text(b"") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"


def test_atomic_write_leaves_nothing_on_failure(tmp_path: Path):
    target = tmp_path / "out.txt"
    atomic_write(target, "old\n")
    with pytest.raises(TypeError):
        atomic_write(target, 42)  # not text or bytes: fails after the temporary file exists
    assert target.read_text() == "old\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.txt"]
    assert oct(target.stat().st_mode & 0o777) == "0o644"


def test_write_if_changed_keeps_an_unchanged_file(tmp_path: Path):
    target = tmp_path / "params.json"
    assert write_if_changed(target, "{}\n")
    before = target.stat().st_mtime_ns
    time.sleep(0.01)
    assert not write_if_changed(target, "{}\n")
    assert target.stat().st_mtime_ns == before
    assert write_if_changed(target, "{\"x\": 1}\n")


def test_replace_dir_swaps_whole_folders(tmp_path: Path):
    final = tmp_path / "site"
    final.mkdir()
    (final / "stale.html").write_text("old")
    staging = staging_dir(final)
    assert staging.name == ".site.staging" and not any(staging.iterdir())
    (staging / "index.html").write_text("new")
    replace_dir(staging, final)
    assert sorted(p.name for p in final.iterdir()) == ["index.html"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


# --------------------------------------------------------------------------- layout


def test_rules_carry_the_layout(tmp_path: Path):
    text = rules_text(load_registry(REGISTRY), REGISTRY, tmp_path)
    assert layout.make_variables() in text
    paths = layout.Layout("$(BUILD)")
    for variable, path in (("VALUES", paths.values), ("RENDERED", paths.rendered),
                           ("SITE_INDEX", paths.site_index), ("BUILD_LOCK", paths.lock)):
        assert f"{variable} = {path.as_posix()}\n" in text
    assert f"{paths.manifest('sample').as_posix()}: notebooks/01-sample-and-codebook.ipynb" in text


def test_the_build_package_does_not_spell_build_paths():
    """Paths inside the build folder are named in compendium.layout only."""
    package = ROOT / "src" / "compendium" / "pipeline"
    for path in package.glob("*.py"):
        text = path.read_text(encoding="utf-8")
        for literal in ('"manifest.json"', '"values.json"', '"provenance.json"',
                        '/ "runs"', '/ "site"', '"validated.stamp"'):
            assert literal not in text, f"{path.name} spells {literal}; use compendium.layout"


# --------------------------------------------------------------------------- trusting validation


def test_start_run_trusts_the_build_validation_only_for_the_same_files(demo_copy, tmp_path,
                                                                       monkeypatch):
    from compendium.dataset import core as dataset_module
    from compendium.dataset import read_descriptor
    from compendium.dataset.datapackage import dataset_hash
    from compendium.steps.notebook import start_run

    digest = dataset_hash(read_descriptor(demo_copy))
    calls = []
    real = dataset_module.validate_dataset
    monkeypatch.setattr(dataset_module, "validate_dataset",
                        lambda *a, **k: calls.append(a) or real(*a, **k))

    monkeypatch.delenv(layout.VALIDATED_HASH_ENV, raising=False)
    start_run(str(demo_copy), str(tmp_path / "a"))
    assert len(calls) == 1, "opened by hand, a notebook validates the whole dataset"

    monkeypatch.setenv(layout.VALIDATED_HASH_ENV, digest)
    ds, out, coder = start_run(str(demo_copy), str(tmp_path / "b"))
    assert len(calls) == 1, "run by the build, it trusts the build's validation"
    assert ds.hash == digest and coder == ds.primary_coder

    monkeypatch.setenv(layout.VALIDATED_HASH_ENV, "0" * 64)
    with pytest.raises(CompendiumError, match="hash differs from the dataset the build"):
        start_run(str(demo_copy), str(tmp_path / "c"))

    monkeypatch.setenv(layout.VALIDATED_HASH_ENV, digest)
    with open(demo_copy / "codings.csv", "a", encoding="utf-8") as handle:
        handle.write("\n")
    with pytest.raises(CompendiumError, match=r"codings.csv changed since .*make paper"):
        start_run(str(demo_copy), str(tmp_path / "d"))


# --------------------------------------------------------------------------- inconsistent builds


def test_an_unfinished_run_is_reported_in_one_line(tmp_path: Path):
    """The state the old build left after a SIGKILL: a manifest the run step never completed."""
    build = tmp_path / "build"
    paths = layout.Layout(build)
    for run in load_registry(REGISTRY):
        paths.run(run["id"]).mkdir(parents=True)
        paths.manifest(run["id"]).write_text(json.dumps(
            {"dataset": {}, "artefacts": [], "values": {}, "run": {"id": run["id"]}}))
    paths.manifest("sample").write_text(json.dumps({"dataset": {}, "artefacts": [],
                                                    "values": {}}))
    result = subprocess.run(
        [sys.executable, "-m", "compendium.cli", "paper", "values", "--data", str(DEMO),
         "--build", str(build), "--registry", str(REGISTRY)],
        capture_output=True, text=True)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1
    assert "incomplete run" in result.stderr and f"rm -rf {paths.run('sample')}" in result.stderr
    assert "internal error" not in result.stderr


# ----------------------------------------------------------------- SIGKILL and concurrency


def _start_make(build: Path, *flags: str, output: bool = False, cwd: Path = ROOT,
                env: dict[str, str] | None = None, build_arg: bool = True) -> subprocess.Popen:
    if env is None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
    # Its own process group, so that one SIGKILL reaches make and every step it started,
    # as a CI timeout or the OOM killer would.
    return subprocess.Popen(["make", "--no-print-directory", *flags, "paper",
                             *([f"BUILD={build}"] if build_arg else [])],
                            cwd=cwd, env=env,
                            stdout=subprocess.PIPE if output else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, start_new_session=True)


def _kill_when(process: subprocess.Popen, condition, timeout: float = 600) -> bool:
    """SIGKILL the build once ``condition()`` holds; False if the build finished first."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
            return True
        if process.poll() is not None:
            assert process.returncode == 0, process.stderr.read()[-2000:]
            return False
        time.sleep(0.02)
    os.killpg(process.pid, signal.SIGKILL)
    raise AssertionError("the build neither reached the kill point nor finished")


def _inside_a_notebook_run(build: Path) -> bool:
    # a staging folder in which the notebook has begun to save its outputs
    return any(any(p.suffix in (".svg", ".csv", ".md") for p in staging.iterdir())
               for staging in layout.Layout(build).runs.glob(".*.staging")
               if staging.is_dir())


def _inside_rendering(build: Path) -> bool:
    return (layout.Layout(build).paper / ".render.staging").is_dir()


def _no_unfinished_run_is_visible(build: Path) -> None:
    paths = layout.Layout(build)
    for folder in paths.runs.glob("[!.]*"):
        if folder.is_dir():
            manifest = json.loads((folder / layout.MANIFEST).read_text(encoding="utf-8"))
            assert manifest["run"]["id"] == folder.name


def _normalised_digests(build: Path, repo: Path) -> dict[str, str]:
    """sha256 of every file under paper/ and crate/ (DOCX members compared one by one).

    Executed notebooks record the build folder relative to the notebooks folder
    (``../build/runs/...`` in a clone's own build), and the test's shared build sits
    elsewhere; that one relative path is written BUILD, and the crate's checksums
    of the files that hold it are compared after the same substitution.
    """
    import hashlib

    # the runs' folder only: a notebook's own default may name ../build/scratch
    relative = os.path.relpath(build.resolve(), (repo / "notebooks").resolve()).encode()

    def digest(data: bytes) -> str:
        return hashlib.sha256(data.replace(relative + b"/runs/", b"BUILD/runs/")).hexdigest()

    out = {}
    for folder in ("paper", "crate"):
        for path in sorted((build / folder).rglob("*")):
            rel = path.relative_to(build).as_posix()
            # the preview is its metadata's page (test_crate), the metadata is compared here
            if not path.is_file() or rel in ("paper/notebooks/.rendered",
                                             f"crate/{layout.CRATE_PREVIEW}"):
                continue
            data = path.read_bytes()
            if path.suffix == ".json" and path.name == layout.CRATE_METADATA:
                graph = json.loads(data)
                for entity in graph["@graph"]:
                    # the executed notebooks and their pages, compared above normalised
                    if entity["@id"].endswith("/notebook.ipynb") or \
                            entity["@id"].startswith("paper/notebooks/"):
                        entity.pop("sha256"), entity.pop("contentSize")
                data = json.dumps(graph).encode()
            if path.suffix == ".docx":
                with zipfile.ZipFile(path) as archive:
                    for name in archive.namelist():
                        out[f"{rel}!{name}"] = digest(archive.read(name))
            out[rel] = digest(data)
    return out


def _clone_elsewhere(repo: Path) -> Path:
    """A clone of this repository at ``repo``: HEAD, with the working tree's files on top.

    It is as clean or as dirty as this one (the paper prints the commit), and it
    shares the environment (a link to ``.venv``).
    """
    from compendium.pipeline.benchbuild import fresh_copy

    head = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True,
                          text=True, check=True).stdout.strip()
    subprocess.run(["git", "clone", "--quiet", "--shared", "--no-checkout", str(ROOT), str(repo)],
                   check=True)
    subprocess.run(["git", "checkout", "--quiet", head], cwd=repo, check=True)
    return fresh_copy(repo)


@pytest.fixture(scope="module")
def killed_elsewhere(tmp_path_factory) -> Path:
    """A cold build in a clone elsewhere, SIGKILLed inside a notebook run, then inside the
    paper's rendering, then finished by `make paper`; the clone (the build is its build/).

    One build answers two questions (a cold build costs a tenth of the test run): a killed
    build resumes to the clean build's bytes, and a clone elsewhere builds the same bytes.
    Its make uses the clone's code and starts its own kernels, as a user's would.
    """
    repo = _clone_elsewhere(tmp_path_factory.mktemp("elsewhere") / "clone")
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("MAKE") and k not in (SOCKET_ENV, RUN_SOCKET_ENV)}
    env["PYTHONPATH"] = str(repo / "src")  # the copy's code, not the clone's
    build = repo / "build"
    for point in (_inside_a_notebook_run, _inside_rendering):
        process = _start_make(build, cwd=repo, env=env, build_arg=False)
        assert _kill_when(process, lambda p=point: p(build)), f"never reached {point.__name__}"
        _no_unfinished_run_is_visible(build)
    result = subprocess.run(["make", "--no-print-directory", "paper"], cwd=repo, env=env,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "internal error" not in result.stderr
    return repo


def test_a_build_killed_at_any_point_resumes_to_the_same_bytes(killed_elsewhere: Path,
                                                               built: Path):
    """After each kill, `make paper` goes on from where it was, and the finished build is
    byte for byte the clean build (the shared reference build), runs and site included."""
    repo = killed_elsewhere
    resumed = digest_tree(repo / "build", notebooks=repo / "notebooks",
                          exclude=(*NOT_COMPARED, ".rules"))
    assert resumed == digest_tree(built)


def test_two_folders_give_the_same_bytes(killed_elsewhere: Path, built: Path):
    """A build in a copy of the repository elsewhere gives the same files, crate included,
    and names no absolute path of either clone, nor the home folder."""
    repo = killed_elsewhere
    ours, theirs = _normalised_digests(repo / "build", repo), _normalised_digests(built, ROOT)
    assert sorted(ours) == sorted(theirs)
    assert [k for k in ours if ours[k] != theirs[k]] == []
    needles = [str(ROOT).encode(), str(repo).encode(), str(Path.home()).encode()]
    for path in [*(repo / "build" / "paper").rglob("*"), *(repo / "build" / "crate").rglob("*"),
                 repo / "build" / layout.CODECHECK]:
        if path.is_file():
            blobs = [path.read_bytes()]
            if path.suffix == ".docx":
                blobs = [zipfile.ZipFile(path).read(n) for n in zipfile.ZipFile(path).namelist()]
            assert not [n for n in needles for b in blobs if n in b], path


def test_two_builds_at_once_take_turns(built: Path, tmp_path: Path):
    """Two `make paper` at once in one build folder; also a partial rebuild from scratch.

    With the paper and one run deleted, both builds must succeed and leave every
    file byte-identical to the clean build (one with -j2 typed, one on all cores
    by itself), and the run is executed once: the second build waits for the
    lock and finds the first one's work current.
    """
    build = copy_build(built, tmp_path / "build")
    shutil.rmtree(build / "paper")
    shutil.rmtree(build / "runs" / "comparison")
    first, second = _start_make(build, "-j2", output=True), _start_make(build, output=True)
    outputs = []
    for process in (first, second):
        out, err = process.communicate(timeout=600)
        assert process.returncode == 0, err[-2000:]
        outputs.append(out)
    assert sum(out.count("compendium run comparison") for out in outputs) == 1
    assert not any("compendium run sample" in out for out in outputs)
    # every file, the executed notebooks and their pages included; no staging left
    assert digest_tree(build, built) == digest_tree(built)


@pytest.mark.parametrize("name", ["field notes.md", "notes;draft.md", "a|b.md", "ratio:1.md",
                                  "100%.md", "price$1.md", "my transcripts/extra.md"])
def test_a_dataset_file_make_cannot_name_is_refused_naming_it(name: str, tmp_path: Path):
    """A valid dataset with a space (or ':', ';', '|', '%', '$') in a file's path gave
    make's "No rule to make target '.../field'" or "multiple target patterns": the build
    now refuses it before doing anything, naming the file to rename. (The shell's own
    characters, '&' or quotes, are fine in a dataset's files: make hands them on quoted.)"""
    from .conftest import make

    data = tmp_path / "data"
    shutil.copytree(DEMO, data)
    (data / name).parent.mkdir(parents=True, exist_ok=True)
    (data / name).write_text("notes\n", encoding="utf-8")
    from compendium.dataset import freeze_dataset

    freeze_dataset(data)
    result = make("paper", f"DATA={data}", f"BUILD={tmp_path / 'build'}")
    assert result.returncode == 2
    assert "make cannot build from a file whose name holds a space, ':', ';', '|', '%' or " \
        "'$'" in result.stderr and f"'{data / name}'" in result.stderr, result.stderr
    assert not (tmp_path / "build").exists()


@pytest.mark.parametrize("variable, value", [("BUILD", "{tmp}/my build"),
                                             ("DATA", "{tmp}/my data"),
                                             ("BUILD", "{tmp}/a:b"),
                                             ("BUILD", "{tmp}/q&r"),
                                             ("DATA", "{tmp}/study (2010)"),
                                             ("BUILD", "{tmp}/o'brien"),
                                             ("COURSE", "{tmp}/course;x"),
                                             ("NB", "{tmp}/a&b.ipynb")])
def test_a_path_make_cannot_build_with_is_refused(variable: str, value: str, tmp_path: Path):
    """`make paper BUILD="/tmp/a b"` made /tmp/a and failed in a shell test, and
    BUILD="/tmp/q&r" made /tmp/q and ran a command `r`: now make says which variable
    holds what, and makes nothing."""
    from .conftest import make

    value = value.replace("{tmp}", str(tmp_path))
    target = "class" if variable == "COURSE" else "paper"
    result = make(target, f"{variable}={value}")
    assert result.returncode == 2
    assert f"{variable}='{value}' holds a space or one of : ; | % & < > * ? [ ] {{ }} ' \" ` " \
           "\\ # ( ), which make or its shell cannot build with" in result.stderr, result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("base", ["nope;echo INJECTED", "it's", 'a"b'])
def test_make_diff_hands_base_to_the_command_as_one_word(base: str, built: Path,
                                                         tmp_path: Path):
    """BASE reached the shell unquoted: a branch name may hold ';' or a quote, and
    `make diff BASE='nope;echo INJECTED'` ran the echo. Now the revision reaches
    `compendium diff` whole, which says it is not one."""
    from .conftest import make

    build = copy_build(built, tmp_path / "build")  # current: make diff's `paper` does nothing
    result = make("diff", f"BASE={base}", f"BUILD={build}")
    assert result.returncode == 2
    assert f"compendium diff: BASE={base}: not a revision of" in result.stderr, result.stderr
    assert "INJECTED" not in result.stdout.replace("echo INJECTED", "")
    assert not (build / "diff").exists()
