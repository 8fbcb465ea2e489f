"""Benchmark: time and memory of loading, validation and each analysis step at scale.

``make bench`` generates a synthetic dataset of 1,000 interviews (about a
million coded segments) once, caches it under ``build/bench/``, then runs each
step once and prints a table of wall-clock seconds, CPU seconds and peak
resident memory. The reference, pandas reading the two big tables, is timed three
times spread through the run (at the start, after validation and at the end) and
its median is the yardstick, so that a burst of load on a shared machine moves
the yardstick as it moves the steps. Validation forks workers (see
:mod:`compendium.dataset.validation`), so each step is measured with its
children: CPU seconds include those of the workers it reaped
(``os.times()``'s children's user and system time), and memory is this
process's resident set (``/proc/self/statm``, every :data:`SAMPLE_SECONDS`)
plus the pages only its live workers hold (each worker's ``Private_Clean`` and
``Private_Dirty`` in ``/proc/<pid>/smaps_rollup``), sampled by a background
thread. A page a worker shares copy-on-write with this process is counted once,
in this process's resident set; one it copies or makes is counted in the
worker's. Reading ``smaps_rollup`` walks the worker's page tables (about 20 ms
for a worker forked from a 1.5 GiB process), so the workers are looked at no
more often than keeps that under 2 % of one core. The sum includes what numpy
and pandas allocate outside Python's own allocator.
Benchmarks are reported, never asserted in tests: timings depend on the machine.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROG = "python -m compendium.bench"
PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


#: How often the memory sampler looks at this process's resident set.
SAMPLE_SECONDS = 0.01
#: The share of one core the sampler may spend reading the workers' ``smaps_rollup``.
WORKER_LOOK_SHARE = 0.02


def rss_bytes() -> int:
    """Resident memory of this process now, in bytes."""
    try:
        with open("/proc/self/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * PAGE
    except OSError:  # not Linux: fall back to the process's lifetime peak
        import resource

        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def descendants(pid: int) -> list[int]:
    """The live processes below ``pid`` (children, their children, ...), from /proc."""
    found: list[int] = []
    pending = [pid]
    while pending:
        parent = pending.pop()
        try:
            tasks = list(Path(f"/proc/{parent}/task").iterdir())
        except OSError:  # ended meanwhile
            continue
        for task in tasks:
            try:
                children = [int(c) for c in (task / "children").read_text().split()]
            except OSError:
                continue
            found += children
            pending += children
    return found


def private_kib(pid: int) -> int:
    """The memory only process ``pid`` holds (private pages, clean and dirty) in KiB;
    0 when it cannot be read (ended meanwhile, or no ``smaps_rollup`` here)."""
    total = 0
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith(("Private_Clean:", "Private_Dirty:")):
                    total += int(line.split()[1])
    except (OSError, ValueError):
        return 0
    return total


def workers_bytes() -> int:
    """The memory only the live descendants of this process hold, in bytes."""
    return 1024 * sum(map(private_kib, descendants(os.getpid())))


def memory_bytes() -> int:
    """The memory this process and its live workers hold now, in bytes: this process's
    resident set and the pages only its workers hold."""
    return rss_bytes() + workers_bytes()


class PeakSampler:
    """Samples the memory of this process and its workers while a step runs."""

    def __init__(self, interval: float = SAMPLE_SECONDS):
        self.interval = interval
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        workers, next_look = 0, 0.0
        while not self._stop.is_set():
            now = time.monotonic()
            if now >= next_look:
                workers = workers_bytes()
                cost = time.monotonic() - now
                next_look = now + max(self.interval, cost / WORKER_LOOK_SHARE)
            self.peak = max(self.peak, rss_bytes() + workers)
            self._stop.wait(self.interval)

    def __enter__(self) -> PeakSampler:
        self.peak = memory_bytes()
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, memory_bytes())


def cpu_seconds() -> float:
    """CPU seconds (user and system) of this process and of the children it has reaped."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


@dataclass
class Measurement:
    """One benchmark step: its wall and CPU time (its workers' included), peak memory
    (this process's and its workers' own) and a note on its result."""
    step: str
    seconds: float
    peak_mib: float
    detail: str
    cpu_seconds: float = float("nan")


def measure(step: str, func: Callable[[], Any],
            describe: Callable[[Any], str]) -> tuple[Any, Measurement]:
    """Run ``func`` once, timing it and sampling peak memory; its result and the measurement."""
    with PeakSampler() as sampler:
        start, cpu = time.perf_counter(), cpu_seconds()
        result = func()
        seconds, cpu = time.perf_counter() - start, cpu_seconds() - cpu
    return result, Measurement(step, seconds, sampler.peak / 2**20, describe(result), cpu)


def median_of(step: str, readings: list[Measurement]) -> Measurement:
    """One row for a step timed several times: the median wall and CPU seconds, the
    highest peak, and each reading's wall seconds in the note."""
    each = ", ".join(f"{r.seconds:.2f}" for r in readings)
    return Measurement(step, statistics.median(r.seconds for r in readings),
                       max(r.peak_mib for r in readings),
                       f"{readings[0].detail}; median of {len(readings)} reads ({each} s)",
                       statistics.median(r.cpu_seconds for r in readings))


def in_own_process(target: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """Call ``target`` in a fresh interpreter (multiprocessing's spawn) and wait for it.

    The bench generates its dataset this way: the generator's heap (1.5 GiB at
    1,000 x 1,000) stayed in this process's resident set, so the first run after
    generating counted it in validation's peak memory (2,047 MiB against 1,367 MiB
    on a cached dataset) and slowed validation with it. A failure in the child is a
    :class:`~compendium.errors.CompendiumError` naming its exit code.
    """
    import multiprocessing

    from .errors import CompendiumError

    process = multiprocessing.get_context("spawn").Process(
        target=_reporting, args=(target, args, kwargs))
    process.start()
    process.join()
    if process.exitcode != 0:
        raise CompendiumError(f"{getattr(target, '__name__', target)} failed in its own "
                              f"process (exit code {process.exitcode}); its error is above")


def _reporting(target: Callable[..., Any], args: tuple, kwargs: dict[str, Any]) -> None:
    """In the child: call ``target``; a user's error is one line and exit code 1."""
    try:
        target(*args, **kwargs)
    except Exception as err:
        problem = _user_error(err)
        if problem is None:
            raise  # a bug: its traceback is the report
        print(f"{PROG}: {problem}", file=sys.stderr, flush=True)
        sys.exit(1)


def _user_error(err: BaseException) -> str | None:
    """The one line for a user's error (ours, or the system refusing a path); None for a bug."""
    from .errors import CompendiumError, os_problem

    if isinstance(err, CompendiumError):
        return str(err)
    if isinstance(err, OSError) and err.filename is not None:
        return os_problem(err)
    return None


def dataset_folder(cache: Path, interviews: int, per_interview: int, seed: int,
                   transcripts: bool) -> Path:
    """Where the cached benchmark dataset of these settings is kept."""
    kind = "transcripts" if transcripts else "no-transcripts"
    return cache / f"synthetic-{interviews}x{per_interview}-seed{seed}-{kind}"


def run(interviews: int, per_interview: int, seed: int, transcripts: bool, cache: Path,
        n_orders: int, validate_only: bool = False) -> list[Measurement]:
    """Generate the dataset (once) and measure every step; the rows of the table.

    With ``validate_only`` only the reads and validation are measured (to work on
    validation's speed without the analysis steps).
    """
    import pandas as pd

    from .dataset import validate_dataset
    from .dataset.datapackage import DESCRIPTOR
    from .dataset.synthetic import generate_dataset

    rows: list[Measurement] = []
    folder = dataset_folder(cache, interviews, per_interview, seed, transcripts)
    if not (folder / DESCRIPTOR).exists():
        def generate() -> Path:
            in_own_process(generate_dataset, folder, seed=seed, interviews=interviews,
                           segments_per_interview=per_interview, transcripts=transcripts,
                           validate=False)
            return folder

        _, m = measure("generate dataset (once, cached)", generate, lambda p: str(p))
        rows.append(m)

    def read() -> Measurement:
        # only the number of rows is kept: the frames are freed before the next step
        return measure(READ_STEP, lambda: sum(len(pd.read_csv(folder / f"{t}.csv"))
                                              for t in ("segments", "codings")),
                       lambda n: f"{n:,} rows")[1]

    # The yardstick of issue 11: validation and the clustered matrices should take
    # at most four times as long as pandas needs to read the two big tables.
    reads = [read()]
    read_row = len(rows)
    # Validation first, as the build runs it (`compendium validate`, a process of
    # its own, before any notebook loads the tables): it does not share memory
    # with a loaded copy of the dataset.
    _, m = measure("validate (complete)", lambda: validate_dataset(folder),
                   lambda problems: f"{len(problems)} problems")
    rows.append(m)
    reads.append(read())
    if not validate_only:
        rows += analysis_steps(folder, seed, n_orders)
    reads.append(read())
    rows.insert(read_row, median_of(READ_STEP, reads))
    return rows


def analysis_steps(folder: Path, seed: int, n_orders: int) -> list[Measurement]:
    """Load the dataset and measure each analysis step; the loaded copy is freed on return."""
    from . import analysis
    from .dataset import load_dataset

    rows: list[Measurement] = []
    ds, m = measure("load tables and transcripts", lambda: load_dataset(folder, validate=False),
                    lambda d: f"{len(d.segments):,} segments, {len(d.codings):,} codings")
    rows.append(m)
    coder = ds.primary_coder
    args = (ds.codings, ds.segments, ds.participants, ds.codebook)
    steps: list[tuple[str, Callable[[], Any], Callable[[Any], str]]] = [
        ("code frequencies", lambda: analysis.code_frequencies(*args, coder=coder),
         lambda r: f"{len(r)} rows"),
        ("clustered matrix x3 themes", lambda: [
            analysis.clustered_matrix(*args, theme=t, coder=coder)
            for t in ("motivations", "outcomes", "cluster_role")],
         lambda r: f"{sum(len(x) for x in r)} cells"),
        ("perspective comparison", lambda: analysis.perspective_comparison(*args, coder=coder),
         lambda r: f"{len(r)} codes"),
        ("framework matrix", lambda: analysis.framework_matrix(*args, coder=coder),
         lambda r: f"{r.shape[0]} x {r.shape[1] - 1}"),
        ("co-occurrence (segments)", lambda: analysis.cooccurrence(
            ds.codings, ds.segments, ds.codebook, unit="segment", coder=coder),
         lambda r: f"{len(r)} pairs"),
        ("co-occurrence (interviewees)", lambda: analysis.cooccurrence(
            ds.codings, ds.segments, ds.codebook, unit="interviewee", coder=coder),
         lambda r: f"{len(r)} pairs"),
        (f"saturation ({n_orders:,} orders)", lambda: analysis.saturation_summary(
            analysis.saturation_curves(ds.codings, ds.segments, n_orders=n_orders, seed=seed,
                                       coder=coder)),
         lambda r: f"{len(r)} positions"),
        ("agreement (segment unit)", lambda: analysis.agreement_table_from_counts(
            analysis.agreement_counts(ds.codings, ds.segments, coder, "coder_b", unit="segment",
                                      codebook=ds.codebook)),
         lambda r: f"{int(r['n_units'].iloc[-1]):,} decisions"),
        ("data structure", lambda: analysis.data_structure(ds.codebook, ds.codings, coder=coder),
         lambda r: f"{len(r)} codes"),
    ]
    for name, func, describe in steps:
        _, m = measure(name, func, describe)
        rows.append(m)
    rows += text_agreement_steps(ds, coder)
    return rows


def text_agreement_steps(ds: Any, coder: str, second: str = "coder_b") -> list[Measurement]:
    """Time the text-based agreement measures (each sorts and sweeps: O(n log n) in spans)."""
    from . import analysis

    rows: list[Measurement] = []
    if ds.segments["start"].isna().all():
        return rows  # no positions without transcripts: nothing text-based to time
    spans, m = measure("agreement: coders' spans", lambda: analysis.coder_spans(
        ds.segments, ds.codings, [coder, second]), lambda r: f"{len(r):,} spans")
    rows.append(m)
    lengths = analysis.source_lengths(spans, ds.transcripts)
    steps: list[tuple[str, Callable[[], Any], Callable[[Any], str]]] = [
        ("agreement: measure choice", lambda: analysis.choose_measure(spans, [coder, second]),
         lambda r: f"{r['measure']} ({r['boundary_differences']:,} boundary differences)"),
        ("agreement: character (NVivo form)", lambda: analysis.character_agreement(
            spans, coder, second, lengths),
         lambda r: f"{int(r['n_chars'].iloc[-1]):,} code x character decisions"),
        ("agreement: unitized alpha (per code, pooled)", lambda: analysis.unitized_table(
            spans, [coder, second], lengths),
         lambda r: f"{int(r['n_units'].iloc[-1]):,} units"),
        ("agreement: segment overlap (90%)", lambda: analysis.overlap_agreement(
            spans, coder, second, 0.9),
         lambda r: f"{int(r['segments_a'].iloc[-1] + r['segments_b'].iloc[-1]):,} segments"),
    ]
    for name, func, describe in steps:
        _, m = measure(name, func, describe)
        rows.append(m)
    return rows


#: The reference step: pandas reading segments.csv and codings.csv.
READ_STEP = "pandas reads the two big tables"
#: Steps with a goal: at most RATIO_GOAL times the reference, measured in the same run.
RATIO_STEPS = ("validate (complete)", "clustered matrix x3 themes", "co-occurrence (segments)",
               "co-occurrence (interviewees)", "agreement (segment unit)",
               "agreement: coders' spans", "agreement: measure choice",
               "agreement: character (NVivo form)",
               "agreement: unitized alpha (per code, pooled)",
               "agreement: segment overlap (90%)")
RATIO_GOAL = 4.0
#: Peak memory of the whole bench, this process's resident set and its workers' own
#: (the one-off generation of the cached dataset aside).
PEAK_GOAL_MIB = 2048.0


def goal_lines(rows: list[Measurement]) -> list[str]:
    """Each goal, the measured value and whether it is met, ending with a summary line."""
    seconds = {r.step: r.seconds for r in rows}
    read = seconds.get(READ_STEP)
    lines, missed = [], 0
    if read:
        lines.append(f"goals: each step <= {RATIO_GOAL:.0f} x the pandas read of the two big "
                     f"tables (median {read:.2f} s in this run); "
                     f"peak memory (workers included) <= {PEAK_GOAL_MIB:,.0f} MiB")
        width = max(len(step) for step in RATIO_STEPS)
        for step in RATIO_STEPS:
            if step not in seconds:
                continue
            ratio = seconds[step] / read
            met = ratio <= RATIO_GOAL
            missed += not met
            lines.append(f"  {step:<{width}}  {ratio:5.1f} x  {'met' if met else 'NOT MET'}")
    measured = [r.peak_mib for r in rows if not r.step.startswith("generate")]
    if measured:
        peak = max(measured)
        met = peak <= PEAK_GOAL_MIB
        missed += not met
        lines.append(f"  {'peak memory of the bench':<{max(len(s) for s in RATIO_STEPS)}}  "
                     f"{peak:,.0f} MiB  {'met' if met else 'NOT MET'}")
    lines.append("all goals met" if not missed else f"{missed} goal(s) not met")
    return lines


def format_table(rows: list[Measurement]) -> str:
    """The measurements as a plain-text table, then each goal and whether it is met."""
    width = max(len(r.step) for r in rows)
    lines = [f"{'step':<{width}}  {'seconds':>8}  {'CPU s':>6}  {'peak mem (MiB)':>14}  result",
             f"{'-' * width}  {'-' * 8}  {'-' * 6}  {'-' * 14}  {'-' * 30}"]
    for r in rows:
        lines.append(f"{r.step:<{width}}  {r.seconds:>8.2f}  {r.cpu_seconds:>6.2f}  "
                     f"{r.peak_mib:>14.0f}  {r.detail}")
    analysis_total = sum(r.seconds for r in rows
                         if not r.step.startswith(("generate", "load", "validate", "pandas")))
    lines.append(f"{'analysis steps in all':<{width}}  {analysis_total:>8.2f}")
    return "\n".join(lines + goal_lines(rows))


def main(argv: list[str] | None = None) -> int:
    """The ``python -m compendium.bench`` command (``make bench``)."""
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__)
    parser.add_argument("--interviews", type=int, default=1000)
    parser.add_argument("--segments-per-interview", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--n-orders", type=int, default=1000)
    parser.add_argument("--no-transcripts", action="store_true",
                        help="generate without transcripts (faster; skips offset checks)")
    parser.add_argument("--cache", default="build/bench", help="where the dataset is kept")
    parser.add_argument("--validate-only", action="store_true",
                        help="measure the reads and validation only")
    args = parser.parse_args(argv)
    # checked before the dataset is generated (a minute at the default size), not after
    for option, value, least in (("--interviews", args.interviews, 2),
                                 ("--segments-per-interview", args.segments_per_interview, 1),
                                 ("--n-orders", args.n_orders, 1)):
        if value < least:
            parser.error(f"{option} must be at least {least}, not {value}")
    print(f"benchmark: {args.interviews:,} synthetic interviews x about "
          f"{args.segments_per_interview:,} segments (seed {args.seed}); "
          f"{os.cpu_count()} CPUs, Python {sys.version.split()[0]}", flush=True)
    try:
        rows = run(args.interviews, args.segments_per_interview, args.seed,
                   not args.no_transcripts, Path(args.cache), args.n_orders, args.validate_only)
    except Exception as err:
        problem = _user_error(err)
        if problem is None:
            raise
        print(f"{PROG}: {problem}", file=sys.stderr)
        return 1
    print(format_table(rows))
    return 0


if __name__ == "__main__":
    sys.exit(main())
