"""The fuzzing harness (``make fuzz``): a short seeded run, and proof that it sees defects.

The short run reads every accepted export without writing it as a dataset, so
it takes seconds; ``make fuzz`` runs 5,000 cases with the full import. The
classification tests break a reader on purpose (monkeypatched) and check that
the harness reports an internal error, a hang and a silent loss for what they are.
"""

from __future__ import annotations

import random
import shutil
import time
from pathlib import Path

import pytest

from compendium import fuzz
from compendium.errors import CompendiumError
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
        kind = found[number % len(found)].kind
        if kind in ("class", "cli") and number >= 10 * len(found):
            continue  # 10 class cases (each pools a whole class) and 10 of the command line
        totals.add(fuzz.run_case(found, number, 18, work, limit=30, write=False))
    assert totals.defects == 0, totals.report()
    targets = {target for target, _ in totals.counts}
    assert targets == {"import", "validate", "class", "cli"}
    assert totals.counts[("import", fuzz.REFUSED)] and totals.counts[("import", fuzz.ACCEPTED)]
    assert totals.counts[("validate", fuzz.REFUSED)] and totals.counts[("class", fuzz.ACCEPTED)]
    assert totals.counts[("cli", fuzz.REFUSED)]
    assert {s.kind for s in found} == {"refi", "taguette", "qualcoder", "dataset", "class", "cli"}


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


def test_a_refused_re_encoding_that_changes_nothing_is_a_defect(seeds, monkeypatch):
    """A reader that refuses a CSV export written in any other bytes than its seed's (a
    byte-order mark, other line endings, UTF-16) refuses valid files: a defect, not a refusal."""
    found, work = seeds
    real = importer.read_export
    as_written = {s.path.read_bytes() for s in found if s.kind in ("taguette", "qualcoder")}

    def picky(path):
        if path.read_bytes() not in as_written:
            raise CompendiumError(f"{path.name}: not as expected")
        return real(path)

    for seed in found:  # how each seed's own import ends is worked out anew, with this reader
        seed.refusals.clear()
    monkeypatch.setattr(fuzz, "read_export", picky)
    csv_cases = [i for i in range(300) if found[i % len(found)].kind in ("taguette", "qualcoder")]
    outcomes = [fuzz.run_case(found, i, 1, work, write=False) for i in csv_cases]
    wrong = [o for o in outcomes if o.kind == fuzz.WRONGLY_REFUSED]
    assert wrong and {o.mutation for o in wrong} <= {"UTF-16", "BOM", "CRLF"}
    assert all(o.detail.endswith("not as expected") for o in wrong)
    # with the real reader, the same cases are not refused
    for seed in found:
        seed.refusals.clear()
    monkeypatch.setattr(fuzz, "read_export", real)
    again = [fuzz.run_case(found, i, 1, work, write=False) for i in csv_cases
             if outcomes[csv_cases.index(i)].kind == fuzz.WRONGLY_REFUSED]
    assert {o.kind for o in again} == {fuzz.ACCEPTED}


def test_every_neutral_rewrite_of_a_refi_project_reads_as_the_project(seeds, tmp_path):
    """Tools zip a project stored or deflated, in any member order, and may put a byte-order
    mark on the XML: each real export the reader accepts reads the same after each rewrite,
    and ``make fuzz`` draws these rewrites as neutral mutations."""
    from compendium.fuzz_mutations import _NEUTRAL_REFI, mutate_export

    found, work = seeds
    accepted = [s for s in found if s.kind == "refi" and s.baseline is not None]
    assert len(accepted) >= 4  # the real exports and our own
    for seed in accepted:
        for name, copy in _NEUTRAL_REFI.items():
            out = tmp_path / f"{name}-{seed.path.name}"
            copy(seed.path, out)
            assert out.read_bytes() != seed.path.read_bytes(), (seed.name, name)
            assert fuzz._project_codings(importer.read_export(out)) == seed.baseline, \
                (seed.name, name)
    drawn = set()
    for i in range(200):  # the mutations a campaign seeded 3 draws for our own export
        folder = tmp_path / f"case{i}"
        folder.mkdir()
        name, _, neutral = mutate_export(accepted[-1], random.Random(f"3:{i}"), folder)
        if neutral:
            drawn.add(name)
    assert drawn == set(_NEUTRAL_REFI)


def test_a_neutral_copy_of_a_seed_refused_whole_is_refused_in_its_words(seeds, tmp_path):
    """The real MAXQDA export holds a codebook and no codings: its import is refused, and
    a stored or reordered copy of it must be refused in the same words, not counted a defect
    (the first campaign with REFI rewrites counted 38 such cases as defects)."""
    from compendium.fuzz_mutations import mutate_export

    found, work = seeds
    seed = next((s for s in found if s.name == "maxqda-codebook-only.qdpx"), None)
    if seed is None:
        pytest.skip("the shared MAXQDA export is not among the fixtures")
    refusal = fuzz.unmutated_refusal(seed, work, True)
    assert refusal is not None and "no codings on text to import" in refusal
    at = found.index(seed)
    probe, case = tmp_path / "probe", None
    for i in range(at, 20000, len(found)):  # the seed's first neutral case in campaign 11
        probe.mkdir()
        neutral = mutate_export(seed, random.Random(f"11:{i}"), probe)[2]
        shutil.rmtree(probe)
        if neutral:
            case = i
            break
    assert case is not None
    outcome = fuzz.run_case(found, case, 11, work)
    assert (outcome.kind, outcome.detail) == (fuzz.REFUSED, refusal.splitlines()[0])


# --------------------------------------------------------------------------
# The command line's target (compendium.fuzz_cli)


def test_every_command_has_working_arguments_or_says_why_not():
    """A new command is fuzzed once it has a base; the base must parse as the command."""
    from compendium.cli import build_parser
    from compendium.fuzz_cli import BASES, NOT_RUN, subcommands

    commands = subcommands(build_parser())
    assert sorted(commands) == sorted([*BASES, *NOT_RUN])
    assert not set(BASES) & set(NOT_RUN)
    parser = build_parser()
    for words, (positionals, options) in BASES.items():
        argv = [*words, *positionals, *[x for pair in options.items() for x in pair]]
        parser.parse_args(argv)  # argparse exits (2) on arguments the command does not take


def _cli_case(found, work, monkeypatch, words, handler=None, limit=30.0):
    """One case of the command-line target on ``words`` only (its handler replaced)."""
    import random

    from compendium import cli, fuzz_cli

    monkeypatch.setattr(fuzz_cli, "BASES", {words: fuzz_cli.BASES[words]})
    if handler is not None:
        monkeypatch.setattr(cli, f"_{words[0].replace('-', '_')}", handler)
    seed = next(s for s in found if s.kind == "cli")
    folder = work / f"cli-{words[0]}-{time.monotonic_ns()}"
    folder.mkdir()
    return fuzz_cli.check_case(seed.name, seed.path, random.Random(1), folder, limit)


def test_the_command_line_target_sees_each_kind_of_defect(seeds, monkeypatch):
    found, work = seeds

    def crash(args):
        raise KeyError("boom")

    def leave_a_file(args):
        (Path.cwd() / "half-written.csv").write_text("a,b\n", encoding="utf-8")
        raise fuzz.CompendiumError("refused after writing")

    def silent(args):
        return 1

    def flood(args):
        print("{" * 200_000)
        return 0

    def slow(args):
        time.sleep(5)
        return 0

    # the real command, given a hostile folder, refuses it in one line
    outcome = _cli_case(found, work, monkeypatch, ("freeze",))
    assert outcome.kind == fuzz.REFUSED and outcome.detail.startswith("compendium freeze: ")
    assert outcome.mutation.startswith("freeze dataset="), outcome
    # and a command broken on purpose is each kind of defect
    outcome = _cli_case(found, work, monkeypatch, ("freeze",), crash)
    assert outcome.kind == fuzz.INTERNAL and "KeyError" in outcome.detail, outcome
    outcome = _cli_case(found, work, monkeypatch, ("freeze",), leave_a_file)
    assert outcome.kind == fuzz.PARTIAL and "half-written.csv" in outcome.detail, outcome
    assert _cli_case(found, work, monkeypatch, ("freeze",), silent).kind == fuzz.INTERNAL
    outcome = _cli_case(found, work, monkeypatch, ("freeze",), flood)
    assert outcome.kind == fuzz.INTERNAL and "printed 200,001 characters" in outcome.detail
    assert _cli_case(found, work, monkeypatch, ("freeze",), slow, limit=0.5).kind == fuzz.HANG


def test_the_command_line_targets_working_arguments_work(seeds):
    """A base that fails alone would make every case refuse for its sake, fuzzing less than
    it seems; `make fuzz` runs them all first. Here the quick ones (not nbgrader's course,
    nor the two that start a kernel) and one broken on purpose."""
    from compendium import fuzz_cli

    found, work = seeds
    export = next(s for s in found if s.kind == "cli").path
    quick = [w for w in fuzz_cli.BASES if w not in (("class", "init"), ("run",), ("notebook",))]
    assert fuzz_cli.check_bases(work, export, quick) == []
    broken = {("freeze",): (["{case}/absent"], {})}
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(fuzz_cli, "BASES", broken)
        (failure,) = fuzz_cli.check_bases(work, export, [("freeze",)])
    assert failure.startswith("freeze: exit 1 with its working arguments: compendium freeze: ")


@pytest.mark.parametrize("arguments, message", [
    (["--cases", "0"], "--cases must be at least 1, not 0"),
    (["--cases", "-4"], "--cases must be at least 1, not -4"),
    (["--time-limit", "0"], "--time-limit must be a positive number of seconds, not 0.0"),
    (["--time-limit", "nan"], "--time-limit must be a positive number of seconds, not nan")])
def test_a_campaign_that_could_not_find_a_defect_is_refused(arguments, message, capsys):
    """No cases would print "0 defect(s)", and a time limit of NaN made every case an
    internal error of the harness; both stop before the bases run."""
    from compendium.fuzz import main

    with pytest.raises(SystemExit) as stopped:
        main(arguments)
    assert stopped.value.code == 2
    assert f"error: {message}" in capsys.readouterr().err
