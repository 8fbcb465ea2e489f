"""The fuzzing harness (``make fuzz``): a short seeded run, and proof that it sees defects.

The short run reads every accepted export without writing it as a dataset, so
it takes seconds; ``make fuzz`` runs 5,000 cases with the full import. The
classification tests break a reader on purpose (monkeypatched) and check that
the harness reports an internal error, a hang and a silent loss for what they are.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from compendium import fuzz
from compendium.qda import importer

from .qda_helpers import REFI_FIXTURES


@pytest.fixture(scope="module")
def seeds(tmp_path_factory) -> tuple[list[fuzz.Seed], Path]:
    if not REFI_FIXTURES.exists():
        pytest.skip(f"shared REFI-QDA fixtures not found at {REFI_FIXTURES.resolve()}")
    work = tmp_path_factory.mktemp("fuzz")
    return fuzz.make_seeds(work), work


def test_short_seeded_run_finds_no_defect(seeds):
    found, work = seeds
    totals = fuzz.Totals()
    # every seed in turn: the real exports, the CSVs, the dataset (validate) and the class
    for number in range(25 * len(found)):  # 25 cases a seed
        if found[number % len(found)].kind == "class" and number >= 10 * len(found):
            continue  # 10 class cases: each pools a whole class, the costliest case
        totals.add(fuzz.run_case(found, number, 18, work, limit=30, write=False))
    assert totals.defects == 0, totals.report()
    targets = {target for target, _ in totals.counts}
    assert targets == {"import", "validate", "class"}
    assert totals.counts[("import", fuzz.REFUSED)] and totals.counts[("import", fuzz.ACCEPTED)]
    assert totals.counts[("validate", fuzz.REFUSED)] and totals.counts[("class", fuzz.ACCEPTED)]
    assert {s.kind for s in found} == {"refi", "taguette", "qualcoder", "dataset", "class"}


def _first_import(found: list[fuzz.Seed], kind: str) -> int:
    return next(i for i, s in enumerate(found) if s.kind == kind)


def test_an_exception_is_an_internal_error(seeds, monkeypatch):
    found, work = seeds
    monkeypatch.setattr(fuzz, "read_export", lambda path: {}["boom"])
    outcome = fuzz.run_case(found, _first_import(found, "taguette"), 1, work, write=False)
    assert outcome.kind == fuzz.INTERNAL and outcome.detail.startswith("KeyError")


def test_a_slow_reader_is_a_hang(seeds, monkeypatch):
    found, work = seeds
    monkeypatch.setattr(fuzz, "read_export", lambda path: time.sleep(5))
    outcome = fuzz.run_case(found, _first_import(found, "taguette"), 1, work, limit=0.5,
                            write=False)
    assert outcome.kind == fuzz.HANG


def test_a_dropped_coding_is_a_silent_loss(seeds, monkeypatch):
    found, work = seeds
    real = importer.read_export

    def lossy(path):
        project = real(path)
        if project.selections:
            project.selections.pop()  # no warning, no count: what the merge bug did
        return project

    monkeypatch.setattr(fuzz, "read_export", lossy)
    kinds = [fuzz.run_case(found, i, 1, work, write=False).kind
             for i in range(len(found)) if found[i].kind in ("taguette", "qualcoder", "refi")]
    assert fuzz.LOSS in kinds
