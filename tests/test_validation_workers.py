"""Validation in forked workers says exactly what the serial run says, whatever happens.

``validate_dataset`` forks workers on a large dataset (compendium.dataset.forked); the
demonstration dataset is small, so these tests ask for workers by the environment
variable, compare with ``COMPENDIUM_VALIDATE_WORKERS=1`` (the serial path, in the
test's own process), and kill, break and orphan workers on purpose.
"""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from compendium.dataset import validate_dataset, validation
from compendium.dataset.forked import WORKERS_ENV, Jobs
from compendium.dataset.identifiers import parse_identifiers
from compendium.errors import CompendiumError, Problem
from compendium.fuzz_mutations import mutate_dataset

from .anonymity_helpers import edit_cell, plant, read_csv, write_csv
from .conftest import DEMO, ROOT

pytestmark = pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this system")


def children() -> set[int]:
    """The live child processes of this process (every thread's), from /proc."""
    found: set[int] = set()
    for task in Path(f"/proc/{os.getpid()}/task").iterdir():
        found.update(int(p) for p in (task / "children").read_text().split())
    return found


def outcome(folder: Path, workers: str, monkeypatch: pytest.MonkeyPatch, **kwargs: object
            ) -> list[Problem] | tuple[str, str]:
    """Validation's problems with ``workers`` processes, or the exception's type and message."""
    monkeypatch.setenv(WORKERS_ENV, workers)
    try:
        return validate_dataset(folder, **kwargs)  # type: ignore[arg-type]
    except Exception as err:  # compared between the two runs, type and message
        return type(err).__name__, str(err)


def same_either_way(folder: Path, monkeypatch: pytest.MonkeyPatch, **kwargs: object
                    ) -> list[Problem] | tuple[str, str]:
    """Validate ``folder`` serially and with workers; assert the same outcome; return it."""
    before = children()
    serial = outcome(folder, "1", monkeypatch, **kwargs)
    parallel = outcome(folder, "2", monkeypatch, **kwargs)
    assert parallel == serial
    assert children() <= before, "a worker was left running or unreaped"
    return serial


@pytest.fixture(autouse=True)
def _no_workers_left() -> object:
    before = children()
    yield
    assert children() <= before


def test_parallel_equals_serial_on_mutated_datasets(tmp_path, monkeypatch):
    # The fuzzer's own dataset mutations: bad fields, duplicated and dropped rows and
    # columns, wrong encodings, odd files (folders, links, pipes) in a table's place,
    # changed hashes, broken descriptors.
    kinds = set()
    for seed in range(16):
        name, folder, _ = mutate_dataset(random.Random(seed), tmp_path / str(seed))
        result = same_either_way(folder, monkeypatch)
        kinds.add("error" if isinstance(result, tuple) else bool(result))
        shutil.rmtree(folder, ignore_errors=True)
    assert True in kinds, "no mutation gave a problem: the comparison proved nothing"


def test_parallel_equals_serial_on_every_kind_of_problem(demo_copy, monkeypatch):
    plant(demo_copy, 12, " Call 01524 123456.")  # gate, transcript (first: it rewrites texts)
    edit_cell(demo_copy / "participants.csv", 3, "participant_id", "E01")     # duplicate id
    edit_cell(demo_copy / "participants.csv", 4, "perspective", "funder")     # enum
    edit_cell(demo_copy / "segments.csv", 5, "participant_id", "X99")         # reference
    edit_cell(demo_copy / "segments.csv", 6, "end", "3")                      # offsets
    edit_cell(demo_copy / "segments.csv", 7, "text", "Write to ann@example.org")  # gate, text
    edit_cell(demo_copy / "codings.csv", 9, "code_id", "MOT-NOPE")            # reference
    edit_cell(demo_copy / "codings.csv", 10, "coder", "Jane Doe")             # gate, listed term
    # a source outside transcripts/ (read by the tables' half of the gate), with a hit
    segments = read_csv(demo_copy / "segments.csv")
    first = segments.iloc[0]
    extra = demo_copy / "other" / "E01.txt"
    extra.parent.mkdir()
    shutil.copy(demo_copy / first["source"], extra)
    with extra.open("a", encoding="utf-8") as handle:
        handle.write("\nSee www.example.co.uk\n")
    segments.loc[0, "source"] = "other/E01.txt"
    write_csv(segments, demo_copy / "segments.csv")
    (demo_copy / "transcripts" / "E02.txt").write_bytes(b"\xff\xfe not UTF-8")  # unreadable
    descriptor = json.loads((demo_copy / "datapackage.json").read_text(encoding="utf-8"))
    descriptor["description"] += " Contact jane.doe@example.org."
    (demo_copy / "datapackage.json").write_text(json.dumps(descriptor), encoding="utf-8")
    terms = parse_identifiers("person: Jane Doe\n")
    problems = same_either_way(demo_copy, monkeypatch, identifiers=terms)
    assert isinstance(problems, list)
    text = "\n".join(map(str, problems))
    for expected in ("participants.csv:3: participant_id: duplicate id",
                     "participants.csv:4: perspective: 'funder'",
                     "segments.csv:5: participant_id: 'X99' is not in participants.csv",
                     "segments.csv:6: end: end 3 is not after start",
                     "segments.csv:7: text: email 'ann@example.org'",
                     "codings.csv:9: code_id: 'MOT-NOPE' is not in codebook.csv",
                     "codings.csv:10: coder: person 'Jane Doe'",
                     "phone '01524 123456'", "other/E01.txt:", "url 'www.example.co.uk'",
                     "transcripts/E02.txt", "datapackage.json: description: email",
                     "changed since the dataset was frozen"):
        assert expected in text, expected
    # and with the gate turned off, and with a table missing
    same_either_way(demo_copy, monkeypatch, anonymity=False)
    (demo_copy / "codings.csv").unlink()
    assert "codings.csv: file not found" in "\n".join(map(str, same_either_way(
        demo_copy, monkeypatch, identifiers=terms)))


def _die_in_worker(func):
    parent = os.getpid()

    def job(*args):
        if os.getpid() != parent:  # in the worker only: as the OOM killer would
            os.kill(os.getpid(), signal.SIGKILL)
        return func(*args)
    return job


@pytest.mark.parametrize("job", ["_check_files", "_check_gate", "_check_across"])
def test_a_killed_worker_loses_nothing(demo_copy, monkeypatch, job):
    edit_cell(demo_copy / "segments.csv", 5, "participant_id", "X99")
    edit_cell(demo_copy / "segments.csv", 7, "text", "Write to ann@example.org")
    serial = outcome(demo_copy, "1", monkeypatch)
    assert len(serial) >= 3
    monkeypatch.setattr(validation, job, _die_in_worker(getattr(validation, job)))
    assert outcome(demo_copy, "2", monkeypatch) == serial


def test_a_killed_worker_is_run_again_here():
    parent = os.getpid()

    def die_there(value):
        if os.getpid() != parent:
            os.kill(os.getpid(), signal.SIGKILL)
        return value * 2

    with Jobs(parallel=True) as jobs:
        job = jobs.start(die_there, 21)
    assert job.rerun and job.result() == 42


@pytest.mark.parametrize("error", [CompendiumError("codings.csv: boom"), KeyError("x"),
                                   ValueError("no", lambda: 0)])  # the last cannot be pickled
def test_an_exception_in_a_worker_is_the_serial_one(demo_copy, monkeypatch, error):
    def fail(*args):
        raise error

    monkeypatch.setattr(validation, "_check_references", fail)
    serial = outcome(demo_copy, "1", monkeypatch)
    assert serial == (type(error).__name__, str(error))
    assert outcome(demo_copy, "2", monkeypatch) == serial


def test_the_first_failure_in_serial_order_is_raised(demo_copy, monkeypatch):
    # the first worker's job fails, and so does the parent's own work after it
    # started: the serial run meets the worker's failure first
    def fail_files(*args):
        raise CompendiumError("first")

    def fail_fields(*args):
        raise CompendiumError("later")

    monkeypatch.setattr(validation, "_check_files", fail_files)
    monkeypatch.setattr(validation, "_check_fields", fail_fields)
    for workers in ("1", "2"):
        assert outcome(demo_copy, workers, monkeypatch) == ("CompendiumError", "first")


def test_without_fork_validation_is_serial(monkeypatch):
    monkeypatch.delattr(os, "fork")
    monkeypatch.setenv(WORKERS_ENV, "2")
    forks = children()
    assert validate_dataset(DEMO) == []
    assert children() == forks


ORPHAN = """
import os, sys, time
from compendium.dataset import validate_dataset, validation
parent = os.getpid()
def slow(*args):
    if os.getpid() != parent:
        with open(sys.argv[2], "w") as handle:
            handle.write(str(os.getpid()))
        time.sleep(120)
validation._check_files = slow
validate_dataset(sys.argv[1])
"""


def test_a_worker_ends_when_its_parent_is_killed(tmp_path):
    pid_file = tmp_path / "worker.pid"
    env = dict(os.environ, **{WORKERS_ENV: "2"})
    process = subprocess.Popen([sys.executable, "-c", ORPHAN, str(DEMO), str(pid_file)],
                               cwd=ROOT, env=env)
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        worker = int(pid_file.read_text())
    finally:
        process.kill()
        process.wait()
    deadline = time.monotonic() + 10
    while Path(f"/proc/{worker}").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not Path(f"/proc/{worker}").exists(), "the worker outlived its parent"


def test_the_bench_counts_a_workers_memory_and_cpu():
    from compendium import bench

    before_memory, before_cpu = bench.memory_bytes(), bench.cpu_seconds()
    ready_r, ready_w = os.pipe()
    pid = os.fork()
    if pid == 0:  # a worker that makes 256 MiB of its own and spends CPU
        try:
            block = bytearray(256 << 20)
            block[::4096] = b"x" * len(block[::4096])
            spin = time.process_time() + 0.3
            while time.process_time() < spin:
                pass
            os.write(ready_w, b".")
            time.sleep(30)
        finally:
            os._exit(0)
    os.close(ready_w)
    try:
        assert os.read(ready_r, 1) == b"."
        assert pid in bench.descendants(os.getpid())
        assert bench.memory_bytes() - before_memory > 200 << 20
    finally:
        os.close(ready_r)
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
    assert bench.cpu_seconds() - before_cpu >= 0.25


KERNEL_CHECK = """
import os
from pathlib import Path
from compendium.dataset import validate_dataset
os.environ[{env!r}] = '1'
serial = validate_dataset({folder!r})
os.environ[{env!r}] = '2'
parallel = validate_dataset({folder!r})
me = os.getpid()
left = [c for t in Path(f'/proc/{{me}}/task').iterdir()
        for c in (t / 'children').read_text().split()]
print(len(serial), serial == parallel, left)
"""


def test_workers_in_a_notebook_kernel_forked_from_the_warm_server(demo_copy):
    # the kernelspec nbval uses: a kernel forked from the test run's kernel server
    from jupyter_client.manager import start_new_kernel

    from .conftest import NBVAL_KERNEL

    edit_cell(demo_copy / "segments.csv", 5, "participant_id", "X99")
    km, kc = start_new_kernel(kernel_name=NBVAL_KERNEL)
    out: list[str] = []
    try:
        reply = kc.execute_interactive(
            KERNEL_CHECK.format(env=WORKERS_ENV, folder=str(demo_copy)), timeout=120,
            output_hook=lambda msg: out.append(msg["content"].get("text", "")))
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    assert reply["content"]["status"] == "ok"
    count, same, left = "".join(out).split(" ", 2)
    assert int(count) >= 2 and same == "True" and left.strip() == "[]"


@pytest.mark.parametrize("minutes, terms, found", [
    ("01524123456", "", "phone '01524123456'"), ("90", "", None),
    ("90", "event: 90", "event '90'")])
def test_a_column_of_plain_numbers_is_gated_when_one_could_be_a_hit(
        demo_copy, monkeypatch, minutes, terms, found):
    # Validation leaves a column of plain numbers out of the gate only when every
    # value is too short to be a telephone number and no term is listed; a
    # number as long as one, or a listed number, is scanned and reported, with
    # workers or without.
    from compendium.dataset import freeze_dataset

    edit_cell(demo_copy / "participants.csv", 3, "interview_minutes", minutes)
    freeze_dataset(demo_copy)
    problems = same_either_way(demo_copy, monkeypatch, identifiers=parse_identifiers(terms))
    hits = [p for p in problems if p.file == "participants.csv" and p.row == 3
            and p.column == "interview_minutes"]
    assert [p.message for p in hits] == ([found] if found else [])


def test_numpy_asks_for_huge_pages_again_once_the_workers_are_done(monkeypatch):
    # Validation turns numpy's request for transparent huge pages off while it
    # forks workers (a shared huge page is copied whole); the caller's setting
    # comes back afterwards, whatever it was.
    import numpy as np

    setter = np._core.multiarray._set_madvise_hugepage
    monkeypatch.setenv(WORKERS_ENV, "2")
    original = setter(True)
    try:
        for setting in (True, False):
            setter(setting)
            assert validate_dataset(DEMO) == []
            assert setter(setting) is setting
    finally:
        setter(original)
