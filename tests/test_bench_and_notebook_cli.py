"""The benchmark command and the one-off notebook command, on small inputs."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest

from compendium import bench
from compendium.errors import CompendiumError
from compendium.pipeline.runs import notebook_parameters, parse_parameter

from .conftest import ROOT


def _write_pid(path: Path) -> None:
    path.write_text(str(os.getpid()), encoding="ascii")


def test_the_bench_generates_its_dataset_in_a_process_of_its_own(tmp_path: Path):
    """The generator's heap must not stay in the bench's process, where it counted in
    validation's peak memory on the first run (2,047 MiB against 1,367 MiB cached)."""
    bench.in_own_process(_write_pid, tmp_path / "pid")
    assert int((tmp_path / "pid").read_text(encoding="ascii")) != os.getpid()
    with pytest.raises(CompendiumError, match=r"exit failed in its own process \(exit code 3\)"):
        bench.in_own_process(sys.exit, 3)


def test_a_bench_cache_that_cannot_be_made_is_one_line_each(tmp_path: Path, capfd):
    in_the_way = tmp_path / "cache"
    in_the_way.write_text("a file where the cache folder goes\n", encoding="utf-8")
    assert bench.main(["--interviews", "3", "--segments-per-interview", "5",
                       "--cache", str(in_the_way)]) == 1
    err = capfd.readouterr().err
    assert "Traceback" not in err, err
    lines = err.splitlines()
    assert len(lines) == 2 and all(line.startswith(bench.PROG + ": ") for line in lines), err
    # the path, in the words the command line uses for a file where a folder belongs
    assert lines[0] == f"{bench.PROG}: {in_the_way}: not a folder, where a folder is needed"
    assert "generate_dataset failed in its own process (exit code 1)" in lines[1]


@pytest.mark.parametrize("option, value, least", [("--interviews", "1", 2),
                                                  ("--segments-per-interview", "0", 1),
                                                  ("--n-orders", "-5", 1)])
def test_the_benches_refuse_a_count_out_of_range_before_any_work(option, value, least,
                                                                  tmp_path, capsys):
    from compendium.pipeline import benchbuild

    with pytest.raises(SystemExit) as stopped:
        bench.main([option, value, "--cache", str(tmp_path / "cache")])
    assert stopped.value.code == 2 and not (tmp_path / "cache").exists()
    assert f"error: {option} must be at least {least}, not {value}" in capsys.readouterr().err
    with pytest.raises(SystemExit) as stopped:  # before its fresh copy and minutes of builds
        benchbuild.main(["--repeats", "0"])
    assert stopped.value.code == 2
    assert "error: --repeats must be at least 1, not 0" in capsys.readouterr().err


def test_bench_runs_every_step_on_a_small_dataset(tmp_path: Path, capsys):
    assert bench.main(["--interviews", "6", "--segments-per-interview", "15",
                       "--n-orders", "20", "--cache", str(tmp_path)]) == 0
    table = capsys.readouterr().out
    for step in ("generate dataset", "load tables", "validate (complete)", "code frequencies",
                 "clustered matrix", "perspective comparison", "framework matrix",
                 "co-occurrence (segments)", "saturation (20 orders)", "agreement",
                 "data structure", "analysis steps in all"):
        assert step in table, step
    assert "0 problems" in table  # the generated dataset validates
    # the yardstick, every step with a goal measured against it, and the memory goal
    assert bench.READ_STEP in table
    goals = table[table.index("goals: each step <= 4 x the pandas read"):].splitlines()
    judged = [re.fullmatch(r"  (.+?) +[0-9.]+ x  (met|NOT MET)", line) for line in goals[1:-2]]
    assert all(judged), goals
    assert [m.group(1) for m in judged] == list(bench.RATIO_STEPS)
    assert goals[-2].strip().startswith("peak memory of the bench")
    missed = sum(line.endswith("NOT MET") for line in goals)
    assert goals[-1] == ("all goals met" if not missed else f"{missed} goal(s) not met")
    # the cached dataset is reused: no generation the second time
    bench.main(["--interviews", "6", "--segments-per-interview", "15", "--n-orders", "20",
                "--cache", str(tmp_path)])
    assert "generate dataset" not in capsys.readouterr().out


@pytest.mark.parametrize("text, expected", [
    ("theme=outcomes", ("theme", "outcomes")),
    ("min_interviewees=3", ("min_interviewees", 3)),
    ("fraction=0.8", ("fraction", 0.8)),
    ("perspective=None", ("perspective", None)),
    ("flag=false", ("flag", False)),
])
def test_parameters_from_the_command_line(text, expected):
    assert parse_parameter(text) == expected


@pytest.mark.parametrize("text", ["theme", "not a name=1"])
def test_malformed_parameters_are_refused(text):
    with pytest.raises(CompendiumError):
        parse_parameter(text)


def test_notebook_parameters_are_read_from_the_tagged_cell():
    names = notebook_parameters(ROOT / "notebooks" / "02-theme-matrix.ipynb")
    assert names == ["data", "output_dir", "theme", "coder", "min_interviewees", "perspective"]


def test_bench_build_says_which_goals_are_met():
    from compendium.pipeline.benchbuild import goal_lines

    lines = goal_lines(cold=16.0, noop=0.03, edit=2.5, floor=2.5)
    assert lines[0] == "goals:"
    assert lines[1].endswith("NOT MET")  # 6.4 x the floor
    assert "6.4 x (16.0 s; floor 2.50 s)" in lines[1]
    assert lines[2].endswith(" met") and lines[4].endswith(" met")
    assert lines[3].endswith("NOT MET")  # the paper edit took 2.5 s


@pytest.mark.parametrize("args, expected", [
    (["notebook", str(ROOT / "README.md")],
     f"{ROOT / 'README.md'}: not a notebook (Notebook does not appear to be JSON"),
    (["refresh-notebooks", "no-such-notebook.ipynb"],
     "notebooks: no notebook no-such-notebook.ipynb to refresh"),
    (["run", "sample", "--registry", str(ROOT / "README.md")],
     f"{ROOT / 'README.md'}: not valid TOML (Invalid statement"),
    # found by `make fuzz`'s command-line target: an internal error (UnboundLocalError)
    (["run", "sample", "--data", "{tmp}/loop"],
     "{tmp}/loop: not a dataset folder (a link that leads nowhere, or in a loop)"),
], ids=["notebook-not-json", "refresh-unknown", "registry-not-toml", "data-a-link-loop"])
def test_a_wrong_notebook_or_registry_is_one_line(args, expected, tmp_path: Path, capsys,
                                                  monkeypatch):
    """Each was an internal error, or (refreshing a misspelt notebook) did nothing and
    said nothing; found by probing the commands' arguments."""
    from compendium.cli import main

    monkeypatch.chdir(ROOT)
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    args = [a.replace("{tmp}", str(tmp_path)) for a in args]
    expected = expected.replace("{tmp}", str(tmp_path))
    assert main([*args, *(["--build", str(tmp_path / "build")]
                         if args[0] != "refresh-notebooks" else [])]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith(f"compendium {args[0]}: {expected}"), err


def test_a_notebook_run_appears_whole_and_a_failed_one_keeps_the_last_good(tmp_path: Path,
                                                                           capsys):
    """`compendium notebook` deleted the last result with these parameters, then ran into
    the same folder: a failure left a half-made folder at the result's name. It now runs in
    a staging folder swapped in at the end; a failure keeps the last good result as it was
    and the failed notebook and kernel log beside it, named in the message."""
    from compendium.cli import main

    from .conftest import DEMO, digest_tree

    build = tmp_path / "build"
    argv = ["notebook", str(ROOT / "notebooks" / "02-theme-matrix.ipynb"), "theme=outcomes",
            "--build", str(build)]
    assert main([*argv, "--data", str(DEMO)]) == 0
    adhoc = build / "notebooks"
    folder = adhoc / "02-theme-matrix--theme=outcomes"
    assert (folder / "02-theme-matrix.ipynb").is_file()
    assert (folder / "tbl-matrix-outcomes.csv").is_file()
    assert sorted(p.name for p in adhoc.iterdir()) == [folder.name]
    good = digest_tree(folder)
    assert "staging" not in (folder / "02-theme-matrix.ipynb").read_text(encoding="utf-8")
    capsys.readouterr()

    (tmp_path / "not-a-dataset").mkdir()  # a folder: the run starts, and fails in the notebook
    assert main([*argv, "--data", str(tmp_path / "not-a-dataset")]) == 1
    err = capsys.readouterr().err
    failed, log = adhoc / f"{folder.name}.failed.ipynb", adhoc / f"{folder.name}.kernel.log"
    assert f"kept for inspection: {failed}, {log}" in err
    assert digest_tree(folder) == good
    assert sorted(p.name for p in adhoc.iterdir()) == sorted([folder.name, failed.name, log.name])

    assert main([*argv, "--data", str(DEMO)]) == 0  # fixed: the failure's files go
    assert sorted(p.name for p in adhoc.iterdir()) == [folder.name]
    capsys.readouterr()

    # A dataset folder that is not there is refused before a kernel starts, naming it.
    assert main([*argv, "--data", str(tmp_path / "absent")]) == 1
    assert capsys.readouterr().err == (f"compendium notebook: {tmp_path / 'absent'}: not a "
                                       "dataset folder (no such directory)\n")
    assert sorted(p.name for p in adhoc.iterdir()) == [folder.name]


def test_a_build_folder_named_dash_is_a_folder(tmp_path: Path, capsys, monkeypatch):
    """papermill reads a path starting with "-" as standard output: `run --build -` printed
    the whole executed notebook and then failed (found by `make fuzz`'s command-line
    target). Runs now give papermill absolute paths."""
    from compendium.cli import main

    from .conftest import DEMO

    monkeypatch.chdir(tmp_path)
    assert main(["run", "agreement", "--data", str(DEMO), "--build", "-",
                 "--registry", str(ROOT / "notebooks" / "runs.toml")]) == 0
    out = capsys.readouterr().out
    assert '"cells"' not in out, out[:200]
    assert (tmp_path / "-" / "runs" / "agreement" / "manifest.json").is_file()


def test_a_long_parameter_gives_a_results_folder_the_system_takes():
    """`compendium notebook NB theme=<300 characters>` was refused: its results folder's
    name passed the 255 bytes a file name may have. Long names keep their start and a
    hash of the whole, so two long parameter sets still get folders of their own."""
    from compendium.pipeline.runs import adhoc_folder_name

    notebook = ROOT / "notebooks" / "02-theme-matrix.ipynb"
    assert adhoc_folder_name(notebook, "theme=outcomes") == "02-theme-matrix--theme=outcomes"
    assert adhoc_folder_name(notebook, "theme=a b/c") == "02-theme-matrix--theme=a_b_c"
    one, two = (adhoc_folder_name(notebook, f"theme={'é' * 300}{end}") for end in "xy")
    assert one != two and one.startswith("02-theme-matrix--theme=éé")
    wide = adhoc_folder_name(notebook, "theme=" + "語" * 300)  # three bytes a character
    assert all(len(name.encode("utf-8")) <= 255 for name in (one, two, wide))
