"""``make bench-build``: how long the build takes, in a fresh copy of the repository.

The repository's tracked files (as they are in the working tree) are copied to
a temporary folder, with their time stamps, beside a link to the environment
``.venv``; then, each repeated (median of 3 by default):

- a cold ``make paper`` (from an empty ``build/``), with its CPU seconds, each
  followed by the floor: the same papermill execution of a notebook that only
  starts its kernel and imports pandas, matplotlib and seaborn, so that both
  meet the same load from other work on the machine; the floor is the fastest of
  its tries, since a stock kernel sometimes hangs in its own shutdown
  (``--cold-only`` stops here);
- a no-op ``make paper``;
- ``make paper`` after a paper-only edit (``touch paper/paper.md``);
- ``make paper`` after a one-notebook edit (``touch`` the saturation notebook);
- ``compendium diff`` of two existing builds: the build as it stands against a copy
  made before one word of ``paper/paper.md`` was changed (goal under 2 s);
- every run of the registry on its own (``compendium run``), against the floor.

Timings depend on the machine and on what else runs on it, so they are
reported, with the load average, and never asserted in tests.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from ..layout import BUILD_ROOT
from .rules import load_registry

ROOT = Path(__file__).resolve().parents[3]
NOTEBOOK_EDIT = "notebooks/05-saturation.ipynb"
FLOOR_SOURCE = "import pandas, matplotlib.pyplot, seaborn"
GOALS = {"cold": 25.0, "paper edit": 2.0, "no-op": 0.05, "diff": 2.0}
#: A cold build should cost at most this many times the floor (one kernel's start and imports).
COLD_FLOOR_GOAL = 6.0


def fresh_copy(target: Path) -> Path:
    """Copy the tracked files of the working tree to ``target``, keeping time stamps.

    The copy shares the environment (a link to ``.venv``); with the time
    stamps kept, make finds the environment current and does not rebuild it.
    """
    listed = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, capture_output=True,
                            check=True).stdout.decode().split("\0")
    for rel in filter(None, listed):
        source = ROOT / rel
        if source.is_file():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / rel)
    (target / ".venv").symlink_to(ROOT / ".venv")
    return target


#: CPU seconds (user + system) of each command :func:`timed` ran, in order.
CPU_SECONDS: list[float] = []


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(command: list[str], cwd: Path, env: dict[str, str]) -> float:
    """Wall-clock seconds of one command, which must succeed.

    Its CPU seconds (user + system, of every process it started and waited for:
    make's steps, the fork servers, their runs and kernels) go to :data:`CPU_SECONDS`;
    they hardly depend on what else the machine runs, unlike the wall-clock time.
    """
    cpu = _children_cpu()
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    CPU_SECONDS.append(_children_cpu() - cpu)
    if result.returncode != 0:
        raise SystemExit(f"{' '.join(command)} failed:\n{result.stderr[-3000:]}")
    return elapsed


def median_of(repeats: int, prepare: Callable[[], None], run: Callable[[], float]) -> float:
    """Median wall-clock time of ``run`` over ``repeats`` tries, each after ``prepare``."""
    times = []
    for _ in range(repeats):
        prepare()
        times.append(run())
    return statistics.median(times)


def touch(path: Path) -> None:
    """Give ``path`` a new modification time, as an editor saving it would."""
    os.utime(path, None)


def floor_notebook(folder: Path) -> Path:
    """A notebook that only imports what the analysis notebooks' kernels need most."""
    import nbformat

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(FLOOR_SOURCE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    path = folder / "floor.ipynb"
    nbformat.write(nb, path)
    return path


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(prog="python -m compendium.pipeline.benchbuild",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="tries per measure (median)")
    parser.add_argument("--cold-only", action="store_true",
                        help="measure only the cold build and the floor")
    args = parser.parse_args(argv)
    if args.repeats < 1:  # checked before minutes of builds, not after
        parser.error(f"--repeats must be at least 1, not {args.repeats}")
    with tempfile.TemporaryDirectory(prefix="bench-build.") as tmp:
        repo = fresh_copy(Path(tmp) / "repo")
        # The kernels must import the copy's code, not the clone's the environment points at.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}
        env["PYTHONPATH"] = str(repo / "src")
        make = ["make", "--no-print-directory", "paper"]
        build = repo / BUILD_ROOT
        rows: list[tuple[str, float, str]] = []

        def clean() -> None:
            shutil.rmtree(build, ignore_errors=True)

        python = str(repo / ".venv" / "bin" / "python")
        floor_nb = floor_notebook(Path(tmp))
        floor_cmd = [python, "-c",
                     "import sys, papermill as pm; pm.execute_notebook(sys.argv[1], sys.argv[2], "
                     "kernel_name='python3', progress_bar=False)",
                     str(floor_nb), str(Path(tmp) / "floor.out.ipynb")]
        # The floor is measured right after each cold build, so that the two meet the
        # same load from whatever else runs on the machine. The cold build is the median of
        # its tries and the floor the fastest of its own: a stock kernel sometimes hangs
        # 2.5 s in its own shutdown (ipykernel 7, about one run in fifteen here), which is
        # no part of starting a kernel and importing, and would flatter the ratio.
        colds, floors, cold_cpus, floor_cpus = [], [], [], []
        for _ in range(args.repeats):
            clean()
            colds.append(timed(make, repo, env))
            cold_cpus.append(CPU_SECONDS[-1])
            floors.append(timed(floor_cmd, repo, env))
            floor_cpus.append(CPU_SECONDS[-1])
        cold, floor = statistics.median(colds), min(floors)
        cold_cpu = statistics.median(cold_cpus)
        rows.append(("floor: papermill + kernel + pandas, matplotlib, seaborn", floor,
                     f"fastest of {len(floors)} ({', '.join(f'{t:.1f}' for t in floors)} s); "
                     f"CPU {statistics.median(floor_cpus):.1f} s"))
        rows.append(("cold make paper", cold, f"{cold / floor:.1f} x floor; "
                                              f"goal <= {COLD_FLOOR_GOAL:.0f} x, "
                                              f"<= {GOALS['cold']:.0f} s"))
        rows.append(("cold make paper, CPU seconds (user + system, all processes)", cold_cpu,
                     f"at best {cold_cpu / (os.cpu_count() or 1):.1f} s of wall clock "
                     f"on {os.cpu_count()} idle cores"))
        if args.cold_only:
            return report(args.repeats, rows, goal_lines(cold, None, None, floor))
        noop = median_of(args.repeats, lambda: None, lambda: timed(make, repo, env))
        rows.append(("no-op make paper", noop, f"goal <= {GOALS['no-op']:.2f} s"))
        edit = median_of(args.repeats, lambda: touch(repo / "paper" / "paper.md"),
                         lambda: timed(make, repo, env))
        rows.append(("paper-only edit (touch paper/paper.md)", edit,
                     f"goal <= {GOALS['paper edit']:.0f} s"))
        notebook = median_of(args.repeats, lambda: touch(repo / NOTEBOOK_EDIT),
                             lambda: timed(make, repo, env))
        rows.append((f"one-notebook edit (touch {NOTEBOOK_EDIT})", notebook, ""))

        compendium = str(repo / ".venv" / "bin" / "compendium")
        before = Path(tmp) / "build-before"
        shutil.copytree(build, before, symlinks=True)
        manuscript = repo / "paper" / "paper.md"
        manuscript.write_text(manuscript.read_text(encoding="utf-8").replace(
            "Introduction", "Introduction and aims", 1), encoding="utf-8")
        timed(make, repo, env)
        diff_cmd = [compendium, "diff", str(before), BUILD_ROOT, "--to", str(Path(tmp) / "diff")]
        diff = median_of(args.repeats, lambda: None, lambda: timed(diff_cmd, repo, env))
        rows.append(("compendium diff of two existing builds (one word edited)", diff,
                     f"goal < {GOALS['diff']:.0f} s"))

        for run in load_registry(repo / "notebooks" / "runs.toml"):
            command = [compendium, "run", run["id"], "--data", "data/synthetic",
                       "--build", BUILD_ROOT]
            seconds = median_of(args.repeats, lambda: None, partial(timed, command, repo, env))
            rows.append((f"run {run['id']}", seconds, f"{seconds / floor:.2f} x floor, "
                                                      f"+{seconds - floor:.1f} s"))
    return report(args.repeats, rows, goal_lines(cold, noop, edit, floor, diff))


def report(repeats: int, rows: list[tuple[str, float, str]], goals: list[str]) -> int:
    """Print the measures and the goals, with the load the machine was under; exit status 0."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (float("nan"),) * 3
    print(f"make bench-build: median of {repeats}, {os.cpu_count()} cores, "
          f"load average at the end {load[0]:.1f} {load[1]:.1f} {load[2]:.1f} "
          "(other work on the machine inflates every wall-clock time; compare ratios)")
    width = max(len(name) for name, _, _ in rows)
    for name, seconds, note in rows:
        shown = f"{seconds:7.3f} s" if seconds < 1 else f"{seconds:7.1f} s"
        print(f"  {name:<{width}}  {shown}  {note}".rstrip())
    print("\n".join(goals))
    return 0


def goal_lines(cold: float, noop: float | None, edit: float | None, floor: float,
               diff: float | None = None) -> list[str]:
    """Each goal of the build, the measured value and whether it is met (those measured)."""
    checks = [
        (f"cold make paper <= {COLD_FLOOR_GOAL:.0f} x the floor", cold / floor,
         COLD_FLOOR_GOAL, f"{cold / floor:.1f} x ({cold:.1f} s; floor {floor:.2f} s)"),
        (f"cold make paper <= {GOALS['cold']:.0f} s", cold, GOALS["cold"], f"{cold:.1f} s"),
    ]
    if edit is not None:
        checks.append((f"paper-only edit <= {GOALS['paper edit']:.0f} s", edit,
                       GOALS["paper edit"], f"{edit:.2f} s"))
    if noop is not None:
        checks.append((f"no-op make paper <= {GOALS['no-op']:.2f} s", noop, GOALS["no-op"],
                       f"{noop:.3f} s"))
    if diff is not None:
        checks.append((f"diff of two builds < {GOALS['diff']:.0f} s", diff, GOALS["diff"],
                       f"{diff:.2f} s"))
    width = max(len(name) for name, *_ in checks)
    lines = ["goals:"]
    for name, value, goal, shown in checks:
        lines.append(f"  {name:<{width}}  {shown}  {'met' if value <= goal else 'NOT MET'}")
    return lines


if __name__ == "__main__":
    sys.exit(main())
