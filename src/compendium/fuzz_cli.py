"""``make fuzz``'s command-line target: one argument of one command given a hostile value.

Each case takes one command's working arguments (:data:`BASES`), picks one of the
arguments that command's parser declares (from :func:`compendium.cli.build_parser`,
so a new option is fuzzed without being listed here) and gives it a hostile value:
for a path, one the system refuses (a name over 255 bytes, a path over 4,096), a
device, a named pipe, a symlink loop, a dangling link, a file where a folder is
wanted and a folder where a file is, a name with a newline or bytes that are not
UTF-8; for a number, a negative, zero, NaN, infinity, a huge one or a word. The
command then runs in this process, in the case's own folder as its working folder,
so that a default such as ``data/synthetic`` names nothing of the repository.

Every hostile path lies inside the case's folder or is a device no command may
replace (``/dev/null``: an output given it is refused, see
:func:`compendium.fileio.check_replaceable`), and the working arguments never let
a command reach the repository's own files for writing: ``refresh-notebooks``,
which rewrites the committed notebooks, is not run (:data:`NOT_RUN` says why).

Before the cases, ``make fuzz`` runs every command's working arguments unchanged
(:func:`check_bases`): each must succeed, or its cases would be refused for another
argument's sake and fuzz less than they seem. ``fuzz`` judges each case as it judges
its other targets: exit 0 is accepted; exit 1, or argparse's 2, is refused; saying
"internal error", or printing more than :data:`MAX_STDOUT` characters, is a defect, as
is a refusal that left a file in the case's folder it does not name (partial output)
and a command that runs past the time limit (a hang).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import random
import shutil
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from .fuzz_mutations import CLASS_SEED, DEMO, REPO
from .fuzz_outcomes import (
    ACCEPTED,
    HANG,
    INTERNAL,
    PARTIAL,
    REFUSED,
    TIME_LIMIT,
    CaseTimeout,
    Outcome,
    time_limit,
)
from .layout import Layout

#: Each command's working arguments: positionals in the parser's order, then options.
#: ``{demo}`` is a copy of the demonstration dataset made for the case, ``{case}`` the
#: case's folder, ``{export}`` a REFI-QDA export of the demonstration dataset,
#: ``{class}`` the synthetic class and ``{repo}`` the repository (read, never written);
#: for ``diff``, ``{case}/old`` and ``{case}/new`` are two builds a word apart.
BASES: dict[tuple[str, ...], tuple[list[str], dict[str, str]]] = {
    ("validate",): (["{demo}"], {"--stamp": "{case}/stamp"}),
    ("check-anonymity",): (["{demo}"], {}),
    ("pseudonymise",): (["{demo}"], {"--to": "{case}/pseudo", "--key": "{case}/key.csv",
                                     "--patterns": "email"}),
    ("freeze",): (["{demo}"], {}),
    ("synthetic",): ([], {"--to": "{case}/synthetic", "--interviews": "2",
                          "--segments-per-interview": "3"}),
    ("synthetic-class",): ([], {"--data": "{demo}", "--to": "{case}/class",
                                "--students": "2", "--segments": "2"}),
    ("class", "init"): (["{case}/course"], {"--data": "{demo}", "--notebook":
                                            "{repo}/notebooks/07-code-it-yourself.ipynb"}),
    ("class", "report"): (["{class}"], {"--data": "{demo}"}),
    ("import",): (["{export}"], {"--to": "{case}/imported"}),
    ("design",): (["{demo}"], {}),
    ("export",): (["{demo}"], {"--to": "{case}/project.qdpx"}),
    ("agreement",): (["{demo}"], {"--format": "csv"}),
    ("run",): (["agreement"], {"--data": "{demo}", "--build": "{case}/build",
                               "--registry": "{repo}/notebooks/runs.toml"}),
    ("paper",): (["assemble"], {"--data": "{demo}", "--build": "{case}/build",
                                "--registry": "{repo}/notebooks/runs.toml",
                                "--paper": "{repo}/paper"}),
    ("diff",): (["{case}/old", "{case}/new"], {"--to": "{case}/diff",
                                               "--repository": "{repo}"}),
    ("notebook",): (["{repo}/notebooks/02-theme-matrix.ipynb", "theme=outcomes"],
                    {"--data": "{demo}", "--build": "{case}/build"}),
}

#: Commands the target does not run, and why (a test checks every command is in one list).
NOT_RUN = {
    ("refresh-notebooks",): "rewrites the repository's committed notebooks when its "
                            "arguments are good; its --registry is the one `run` takes",
}

#: The most a command may print for the demonstration dataset (its largest table is a
#: few kilobytes); more is something written to standard output that belongs in a file.
MAX_STDOUT = 100_000

#: Hostile values for an argument that takes text (most name a path).
HOSTILE_TEXT = (
    "", ".", "-", "{case}/absent", "{case}/absent/deeper/still", "{case}/a-file",
    "{case}/a-file/under", "{case}/a-folder", "{case}/pipe", "{case}/loop",
    "{case}/loop/under", "{case}/dangling", "{case}/" + "y" * 300,
    "{case}/" + "a/" * 2100 + "b", "/dev/null", "/dev/null/under", "/proc/self/status",
    "{case}/new\nline", "{case}/\udcff-not-utf-8", "{case}/ünïcödé", "x=y", "=", "NAME=",
    "theme=" + "z" * 5000, "-5", "nan", "1e999",
)
#: Hostile values for an argument that takes a number.
HOSTILE_NUMBERS = ("-1", "0", "-0", "nan", "inf", "-inf", "1e400",
                   "99999999999999999999999", "0.5", "x", "", "0x10", "1_000", " 7 ", "٣")


@dataclass
class CliCase:
    """What the command did with one case's arguments."""

    argv: list[str]
    exit_code: int
    stdout: str
    stderr: str
    left: list[str]


def subcommands(parser: argparse.ArgumentParser,
                words: tuple[str, ...] = ()) -> dict[tuple[str, ...], argparse.ArgumentParser]:
    """Every leaf command of ``parser`` by its words (``("class", "init")``)."""
    found: dict[tuple[str, ...], argparse.ArgumentParser] = {}
    for action in parser._actions:  # argparse keeps its subparsers only here
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found.update(subcommands(child, (*words, name)))
            return found
    return {words: parser}


def value_arguments(parser: argparse.ArgumentParser) -> list[argparse.Action]:
    """The arguments of one command that take a value (not flags, not help)."""
    return [a for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._StoreTrueAction,
                                  argparse._StoreConstAction, argparse._SubParsersAction))]


def _argv(words: tuple[str, ...], positionals: list[str], options: dict[str, str]) -> list[str]:
    argv = [*words, *positionals]
    for option, value in options.items():
        argv += [option, value]
    return argv


def _hostile_places(case: Path) -> None:
    (case / "a-file").write_text("not what was asked for\n", encoding="utf-8")
    (case / "a-folder").mkdir()
    os.mkfifo(case / "pipe")
    (case / "loop").symlink_to(case / "loop")
    (case / "dangling").symlink_to(case / "nowhere")


def _two_builds(case: Path) -> None:
    """The least that `compendium diff` takes as two finished builds, a word apart."""
    for name, text in (("old", "The text.\n"), ("new", "The new text.\n")):
        paths = Layout(case / name)
        paths.paper.mkdir(parents=True)
        paths.provenance.write_text('{"commit": null, "displays": [], "values": [], '
                                    '"runs": {}}\n', encoding="utf-8")
        paths.values.write_text("{}\n", encoding="utf-8")
        paths.assembled.write_text(text, encoding="utf-8")


def _files(folder: Path) -> set[str]:
    return {p.relative_to(folder).as_posix() for p in folder.rglob("*")
            if p.is_symlink() or p.is_file()}


@contextlib.contextmanager
def _inside(folder: Path) -> Iterator[tuple[io.BytesIO, io.BytesIO]]:
    """Run in ``folder`` with the standard streams captured as a terminal would encode
    them: UTF-8, strict for output (an unencodable name is an error there too)."""
    out, err = io.BytesIO(), io.BytesIO()
    streams = sys.stdout, sys.stderr
    previous = Path.cwd()
    sys.stdout = io.TextIOWrapper(out, encoding="utf-8", errors="strict", write_through=True)
    sys.stderr = io.TextIOWrapper(err, encoding="utf-8", errors="backslashreplace",
                                  write_through=True)
    os.chdir(folder)
    try:
        yield out, err
    finally:
        os.chdir(previous)
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(Exception):
                stream.flush()
            stream.detach()
        sys.stdout, sys.stderr = streams


def make_case(rng: random.Random, case: Path, export: Path) -> tuple[list[str], str]:
    """Fill the empty folder ``case`` and choose one case: (the arguments, what was changed).

    ``export`` is a REFI-QDA export of the demonstration dataset, shared by the cases.
    """
    from .cli import build_parser

    commands = subcommands(build_parser())
    words = rng.choice(sorted(BASES))
    positionals, options = list(BASES[words][0]), dict(BASES[words][1])
    arguments = value_arguments(commands[words])
    action = rng.choice(arguments)
    numeric = action.type in (int, float)
    value = rng.choice(HOSTILE_NUMBERS if numeric and rng.random() < 0.8 else HOSTILE_TEXT)
    if action.option_strings:
        for option in action.option_strings:
            options.pop(option, None)
        where = action.option_strings[-1]
        options[where] = value
    else:
        index = [a for a in arguments if not a.option_strings].index(action)
        while len(positionals) <= index:
            positionals.append(value)
        positionals[index] = value
        where = str(action.metavar or action.dest)
    argv = _prepare(case, words, _argv(words, positionals, options), export)
    shown = value if len(value) <= 40 else f"{value[:30]}…({len(value):,} characters)"
    return argv, f"{' '.join(words)} {where}={shown.replace('{case}', 'CASE')!r}"


def _prepare(case: Path, words: tuple[str, ...], argv: list[str], export: Path) -> list[str]:
    """Fill the empty folder ``case`` for a case of ``words``; ``argv`` with its places."""
    shutil.copytree(DEMO, case / "demo")
    _hostile_places(case)
    if words == ("diff",):
        _two_builds(case)
    places = {"{demo}": case / "demo", "{case}": case, "{export}": export,
              "{class}": CLASS_SEED, "{repo}": REPO}
    filled = []
    for part in argv:
        for name, path in places.items():
            part = part.replace(name, str(path))
        filled.append(part)
    return filled


#: Bases that do not succeed alone, and why: their cases still reach the arguments the
#: command reads before it refuses.
REFUSED_ALONE = {
    ("paper",): "`paper assemble` needs the runs' outputs in the build, which a case has not",
}


def check_bases(work: Path, export: Path,
                commands: list[tuple[str, ...]] | None = None) -> list[str]:
    """Run each command's working arguments unchanged (``commands``, default all): every
    one must succeed, or a case's hostile value is refused for another argument's sake
    and the target fuzzes less than it seems. Returns a line per base that fails."""
    failures = []
    for words in commands or sorted(BASES):
        case = work / f"base-{'-'.join(words)}"
        case.mkdir()
        positionals, options = BASES[words]
        result = run_case(_prepare(case, words, _argv(words, positionals, options), export), case)
        if (result.exit_code == 0) == (words in REFUSED_ALONE):
            said = (result.stderr.strip().splitlines() or ["(nothing)"])[0]
            failures.append(f"{' '.join(words)}: exit {result.exit_code} with its working "
                            f"arguments: {said[:200]}")
        shutil.rmtree(case, ignore_errors=True)
    return failures


def run_case(argv: list[str], case: Path) -> CliCase:
    """Run ``compendium`` with ``argv`` in this process, in ``case``; the time limit is the
    caller's (``fuzz.time_limit``)."""
    from .cli import main

    before = _files(case)
    with _inside(case) as (out, err):
        try:
            code = main(argv)
        except SystemExit as exit_:  # argparse's usage error
            code = exit_.code if isinstance(exit_.code, int) else 1
    left = sorted(_files(case) - before) if code else []
    return CliCase(argv, code, out.getvalue().decode("utf-8", "replace"),
                   err.getvalue().decode("utf-8", "replace"), left)


def check_case(name: str, export: Path, rng: random.Random, folder: Path,
               limit: float = TIME_LIMIT) -> Outcome:
    """Make, run and judge one case in the empty folder ``folder`` (see the module's
    docstring); ``name`` is the seed's name in the report, ``export`` as for
    :func:`make_case`."""
    argv, mutation = make_case(rng, folder, export)

    def outcome(kind: str, detail: str = "") -> Outcome:
        return Outcome("cli", name, mutation, kind, detail)

    try:
        with time_limit(limit):
            case = run_case(argv, folder)
    except CaseTimeout:
        return outcome(HANG, f"over {limit:.0f} s")
    said = case.stderr.strip().splitlines()
    inner = next((line for line in said if "internal error" in line or "Traceback" in line),
                 None)
    if inner is not None:
        return outcome(INTERNAL, inner[:200])
    if case.exit_code not in (0, 1, 2):
        return outcome(INTERNAL, f"exit code {case.exit_code}")
    if len(case.stdout) > MAX_STDOUT:  # (how `run --build -` printed a whole notebook)
        return outcome(INTERNAL, f"printed {len(case.stdout):,} characters: "
                                 f"{case.stdout[:80]!r}")
    if case.exit_code == 0:
        return outcome(ACCEPTED)
    # a failed run keeps its notebook and kernel log for inspection, and says so
    unnamed = [path for path in case.left if path not in case.stderr]
    if unnamed:
        return outcome(PARTIAL, f"refused but left {unnamed[:5]}")
    if not said:
        return outcome(INTERNAL, f"refused (exit {case.exit_code}) without saying why")
    return outcome(REFUSED, said[0][:200])
