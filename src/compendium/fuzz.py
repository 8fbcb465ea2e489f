"""``make fuzz``: seeded mutations of real exports, a dataset, a class and the command line.

Each case starts from a seed input (the shared real REFI-QDA exports, a
Taguette CSV, a QualCoder CSV written as QualCoder writes it, a REFI-QDA
project written by ``compendium export``, the demonstration dataset, and the
synthetic class notebook 8 pools),
applies one seeded mutation (bytes flipped or cut, XML elements moved,
duplicated or deleted, attributes out of range, other encodings, CSV columns
and rows changed, file-system oddities such as folders, named pipes, symlink
loops and huge fields) and runs a reader on it in this process under a time
limit. The outcome is one of:

- ``refused``: a :class:`~compendium.errors.CompendiumError` (one line for a
  person) and nothing written;
- ``accepted``: a valid import or a valid dataset, which then passes the
  oracles below;
- a defect: ``internal error`` (any other exception), ``hang`` (past the time
  limit), ``partial output`` (a refused import that left files behind, or an
  accepted one that does not validate), ``silent loss`` (codings dropped or
  moved without a warning) or ``valid input refused`` (a mutation that should
  change nothing, below, refused).

The oracles for an accepted import: every coding the input holds is either
imported or counted in the reader's warnings (``skipped_codings``), the
(document, text, code) of every coded row of a CSV export is found, unmerged,
in what was read, every segment with offsets reads its own text from its
transcript, and the dataset written holds exactly the codings that were read.
A mutation that should change nothing (a byte-order mark, CRLF line endings,
UTF-16 for a CSV; an archive stored rather than deflated or with its members in
another order, a byte-order mark on the project XML) must give exactly the
unmutated import. For ``validate``, a
mutated file of a frozen dataset must be refused (its hash changed), and an
accepted dataset must load. For ``class``, the mutated class is pooled as notebook 8
pools it (its coding agreement, and its span agreement when a span file or
``class.json`` changed): each bad file is skipped with a problem naming it.
For ``cli``, one argument of one ``compendium`` command is given a hostile value
(``fuzz_cli``): the command must exit 0, or exit 1 saying why, and a refusal
must leave nothing written that it does not name.

The seeds' places and the mutations are in ``fuzz_mutations``, the class's
pooling in ``fuzz_class``, the command line's cases in ``fuzz_cli`` and the
outcomes' words in ``fuzz_outcomes``; this module reads the seeds, runs the
cases and holds the oracles.

Run ``python -m compendium.fuzz --cases 5000 --seed 1``; the totals are printed
per target and per outcome, with the first case of every defect signature.
"""

from __future__ import annotations

import argparse
import csv
import io
import math
import random
import re
import shutil
import sys
import tempfile
import time
import traceback
import xml.etree.ElementTree as ET  # noqa: S405 (only our own trusted seeds are parsed with it)
import zipfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from . import fuzz_cli
from .dataset import load_dataset, validate_dataset
from .dataset.datapackage import DESCRIPTOR
from .errors import CompendiumError
from .fuzz_class import pool_class
from .fuzz_mutations import (
    CLASS_SEED,
    DEMO,
    SHARED_REFI,
    TAGUETTE_SEED,
    Seed,
    mutate_class,
    mutate_dataset,
    mutate_export,
    qde_member,
)
from .fuzz_outcomes import (
    ACCEPTED,
    DEFECTS,
    HANG,
    INTERNAL,
    LOSS,
    PARTIAL,
    REFUSED,
    TIME_LIMIT,
    WRONGLY_REFUSED,
    CaseTimeout,
    Outcome,
    Totals,
    time_limit,
)
from .qda.csv_formats import QUALCODER, TAGUETTE, read_rows
from .qda.importer import import_dataset, read_export

# --------------------------------------------------------------------------
# Seeds


def _write_qualcoder_seed(dataset: Path, path: Path) -> Path:
    """The demo dataset's codings as QualCoder's coding report writes them (BOM, CRLF, quoted).

    The rows are synthetic (the demonstration data), written in QualCoder's layout.
    """
    data = load_dataset(dataset, validate=False)
    names = dict(zip(data.raw_codebook["code_id"], data.raw_codebook["name"], strict=True))
    themes = dict(zip(data.raw_codebook["code_id"], data.raw_codebook["theme"], strict=True))
    segments = data.segments.set_index("segment_id")
    out = io.StringIO()
    writer = csv.writer(out, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerow(["File/case", "Coder", "Coded", "Id", "Codename", "Coded_Memo", "Category"])
    for number, row in enumerate(data.all_codings.head(120).itertuples(), 1):
        segment = segments.loc[row.segment_id]
        writer.writerow([f"{segment.participant_id}.txt", row.coder, segment.text,
                         f"ctid:{number}", names[row.code_id], "",
                         names.get(themes.get(row.code_id), "") or ""])
    path.write_bytes(b"\xef\xbb\xbf" + out.getvalue().encode("utf-8"))
    return path


def _participants_for(project_sources: list[str], path: Path) -> Path:
    """A --participants file putting every document in a perspective, alternately."""
    lines = ["participant_id,perspective"]
    for number, name in enumerate(project_sources):
        cell = '"' + name.replace('"', '""') + '"'
        lines.append(f"{cell},{('entrepreneur', 'intermediary')[number % 2]}")
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_seeds(work: Path) -> list[Seed]:
    """Every seed input, with a participants file for each import."""
    from .qda.refi_export import export_dataset

    seeds: list[Seed] = []
    for path in sorted(SHARED_REFI.glob("*.qdpx")):
        seeds.append(Seed(path.name, "refi", path))
    exported = work / "demo-export.qdpx"
    export_dataset(DEMO, exported)
    seeds.append(Seed("demo-export.qdpx (synthetic)", "refi", exported))
    if TAGUETTE_SEED.exists():
        seeds.append(Seed(TAGUETTE_SEED.name, "taguette", TAGUETTE_SEED))
    seeds.append(Seed("qualcoder-report.csv (synthetic)", "qualcoder",
                      _write_qualcoder_seed(DEMO, work / "qualcoder-report.csv")))
    for seed in seeds:
        try:
            project = read_export(seed.path)
        except CompendiumError:  # a real export the reader refuses whole is still a seed
            continue
        seed.baseline = _project_codings(project)
        seed.participants = _participants_for(
            [s.name for s in project.sources], work / f"{seed.path.stem}-participants.csv")
    seeds.append(Seed("data/synthetic", "dataset", DEMO))
    seeds.append(Seed("data/synthetic-class", "class", CLASS_SEED))
    seeds.append(Seed("compendium's arguments", "cli", exported))
    return seeds


# --------------------------------------------------------------------------
# Oracles


def _project_codings(project) -> Counter:
    """(document, text, code path, coder) of every coding the reader took over."""
    sources = {s.key: s.name for s in project.sources}
    codes = {c.key: c for c in project.codes}

    def path(key: str) -> str:
        names, seen = [], set()
        while key in codes and key not in seen:
            seen.add(key)
            names.append(codes[key].name)
            key = codes[key].parent
        return "\x1f".join(reversed(names))

    return Counter((sources.get(sel.source, "?"), sel.text, path(c.code), c.coder)
                   for sel in project.selections for c in sel.codings)


def _count_xml_codings(path: Path) -> int | None:
    """How many Coding elements the project XML of an export holds (None: unreadable)."""
    try:
        with zipfile.ZipFile(path) as archive:
            data = archive.read(qde_member(archive))
        root = ET.fromstring(data)  # noqa: S314 (counting only, after the reader accepted it)
    except Exception:  # noqa: BLE001 (the oracle is skipped when it cannot count)
        return None
    return sum(1 for e in root.iter() if isinstance(e.tag, str)
               and e.tag.rsplit("}", 1)[-1] == "Coding")


def _csv_expected(path: Path, kind: str) -> Counter | None:
    """(document, text, code path) of every coded row of a CSV export, by its header."""
    try:
        rows = read_rows(path)
    except CompendiumError:
        return None
    keys = [re.sub(r"[^a-z0-9]+", "", h.strip().lstrip("\ufeff").lower()) for h in rows[0]]
    want = ("document", "content", "tag") if kind == TAGUETTE else ("filecase", "coded",
                                                                     "codename")
    if not all(w in keys for w in want) or len(set(keys)) != len(keys):
        return None
    at = [keys.index(w) for w in want]
    expected: Counter = Counter()
    for row in rows[1:]:
        cells = [row[i] if i < len(row) else "" for i in at]
        if not any(c.strip() for c in row) or not cells[0].strip() or not cells[2].strip():
            continue
        if kind == QUALCODER:
            ident = row[keys.index("id")].strip().lower() if "id" in keys and \
                keys.index("id") < len(row) else ""
            if ident.startswith(("imid:", "avid:")) or (not ident and cells[1].strip().lower()
                                                        in ("image", "a/v")):
                continue
        expected[(cells[0].strip(), cells[1], cells[2].strip())] += 1
    return expected


def check_import(seed: Seed, path: Path, dest: Path, neutral: bool,
                 write: bool = True) -> Outcome | None:
    """Read and import one mutated export; None when accepted and every oracle holds.

    Without ``write`` the export is read and checked but no dataset is written.
    """
    project = read_export(path)
    got = _project_codings(project)
    total = sum(got.values())
    if seed.kind == "refi":
        counted = _count_xml_codings(path)
        if counted is not None and counted != total + project.skipped_codings:
            return Outcome("import", seed.name, "", LOSS,
                           f"{counted} Coding element(s), {total} read, "
                           f"{project.skipped_codings} reported skipped")
    else:
        kind = TAGUETTE if seed.kind == "taguette" else QUALCODER
        expected = _csv_expected(path, kind)
        if expected is not None:
            read = Counter((doc, text, code.replace("\x1f", ".") if kind == TAGUETTE
                            else code.rsplit("\x1f", 1)[-1]) for (doc, text, code, _), n
                           in got.items() for _ in range(n))
            if read != expected:
                lost = expected - read
                return Outcome("import", seed.name, "", LOSS,
                               f"{sum(lost.values())} coded row(s) not read as written, "
                               f"e.g. {sorted(lost)[:1]}")
    if neutral and got != seed.baseline:
        return Outcome("import", seed.name, "", LOSS, "a neutral re-encoding changed codings")
    for sel in project.selections:
        text = next((s.text for s in project.sources if s.key == sel.source), None)
        if sel.start is not None and text is not None and text[sel.start:sel.end] != sel.text:
            return Outcome("import", seed.name, "", LOSS, f"selection {sel.key}: text is not "
                                                          "its source's slice")
    if not write:
        return None
    # import_dataset validates what it wrote before renaming it into place
    import_dataset(path, dest, participants_csv=seed.participants)
    data = load_dataset(dest, validate=False)
    written = {(t, c, k) for t, c, k in zip(
        data.segments.set_index("segment_id").loc[data.all_codings["segment_id"], "text"],
        data.raw_codebook.set_index("code_id").loc[data.all_codings["code_id"], "name"],
        data.all_codings["coder"], strict=True)}
    # the mapping skips selections of white space only, with a warning of its own
    # and names a code without a name "(unnamed code)"
    read_set = {(text, code.rsplit("\x1f", 1)[-1] or "(unnamed code)", coder.strip() or "unknown")
                for (_, text, code, coder) in got if text.strip()}
    if written != read_set:
        return Outcome("import", seed.name, "", LOSS,
                       f"the dataset's codings differ from those read "
                       f"({len(read_set - written)} missing, {len(written - read_set)} new)")
    return None


def check_validate(folder: Path, refrozen: bool, mutation: str) -> Outcome | None:
    """Validate one mutated dataset; None when refused, or accepted and loadable."""
    problems = validate_dataset(folder, anonymity=False)
    if problems:
        return Outcome("validate", "data/synthetic", mutation, REFUSED, str(problems[0]))
    if not refrozen and not _unchanged(folder):
        return Outcome("validate", "data/synthetic", mutation, LOSS,
                       "a file edited after freezing was accepted")
    load_dataset(folder, validate=False)
    return None


def _unchanged(folder: Path) -> bool:
    """Whether every frozen file of ``folder`` holds the same bytes as in the demo dataset.

    The descriptor holds the hashes rather than being hashed: an edit of it that
    keeps it valid (a byte-order mark, CRLF, another title) may be accepted.
    """
    for path in DEMO.rglob("*"):
        twin = folder / path.relative_to(DEMO)
        if path.is_file() and path.name != DESCRIPTOR and \
                (not twin.is_file() or twin.read_bytes() != path.read_bytes()):
            return False
    return True


# --------------------------------------------------------------------------
# Running cases


def unmutated_refusal(seed: Seed, work: Path, write: bool) -> str | None:
    """How the seed's own import ends (None: accepted; else its refusal), worked out once.

    A neutral mutation must end as the seed does: a seed refused as a whole (a codebook
    with no codings, say) is refused after a byte-order mark too, in the same words.
    """
    if write not in seed.refusals:
        folder = Path(tempfile.mkdtemp(prefix="unmutated-", dir=work))
        try:
            check_import(seed, seed.path, folder / "dataset", False, write)
            seed.refusals[write] = None
        except CompendiumError as err:
            seed.refusals[write] = str(err)
        except Exception as err:  # noqa: BLE001 (no refusal: every refused copy is judged wrong)
            seed.refusals[write] = f"{type(err).__name__} importing the seed itself: {err}"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
    return seed.refusals[write]


def _leftovers(parent: Path, keep: set[str]) -> list[str]:
    return sorted(p.name for p in parent.iterdir() if p.name not in keep)


def run_case(seeds: list[Seed], number: int, seed: int, work: Path,
             limit: float = TIME_LIMIT, write: bool = True) -> Outcome:
    """Build and run case ``number`` of the campaign seeded by ``seed``.

    ``write=False`` stops an accepted import after reading it (see :func:`check_import`).
    """
    rng = random.Random(f"{seed}:{number}")
    folder = Path(tempfile.mkdtemp(prefix=f"case{number}-", dir=work))
    neutral = False
    try:
        chosen = seeds[number % len(seeds)]
        if chosen.kind == "cli":
            return fuzz_cli.check_case(chosen.name, chosen.path, rng, folder, limit)
        if chosen.kind == "dataset":
            mutation, path, refrozen = mutate_dataset(rng, folder)
            target, name = "validate", chosen.name
        elif chosen.kind == "class":
            mutation, path = mutate_class(rng, folder)
            target, name = "class", chosen.name
        else:
            mutation, path, neutral = mutate_export(chosen, rng, folder)
            target, name = "import", chosen.name
            out = folder / "out"
            out.mkdir()
        before = _leftovers(folder, set())
        try:
            with time_limit(limit):
                if target == "validate":
                    outcome = check_validate(path, refrozen, mutation)
                elif target == "class":
                    reason = pool_class(path, spans=mutation.startswith(("spans/",
                                                                         "class.json")))
                    outcome = None if reason is None else \
                        Outcome(target, name, mutation, REFUSED, reason)
                else:
                    outcome = check_import(chosen, path, out / "dataset", neutral, write)
        except CaseTimeout:
            return Outcome(target, name, mutation, HANG, f"over {limit:.0f} s")
        except CompendiumError as err:
            message = str(err)
            if "\n" in message.strip() and target == "import":
                return Outcome(target, name, mutation, INTERNAL,
                               f"a refusal of several lines: {message[:100]!r}")
            if target == "import" and _leftovers(out, set()):
                return Outcome(target, name, mutation, PARTIAL,
                               f"refused but left {_leftovers(out, set())}")
            if target == "import" and neutral and \
                    message != unmutated_refusal(chosen, work, write):
                return Outcome(target, name, mutation, WRONGLY_REFUSED,
                               f"a re-encoding that changes nothing: {message.splitlines()[0]}")
            outcome = Outcome(target, name, mutation, REFUSED, message.splitlines()[0])
        except Exception as err:  # noqa: BLE001 (the defect this harness looks for)
            where = traceback.extract_tb(err.__traceback__)[-1]
            return Outcome(target, name, mutation, INTERNAL,
                           f"{type(err).__name__} at {Path(where.filename).name}:{where.lineno}"
                           f": {str(err)[:100]}")
        if outcome is None:
            outcome = Outcome(target, name, mutation, ACCEPTED)
        outcome.mutation = outcome.mutation or mutation
        if _leftovers(folder, set(before)):  # anything written beside the input
            return Outcome(target, name, mutation, PARTIAL,
                           f"left {_leftovers(folder, set(before))} beside the input")
        return outcome
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def campaign(cases: int, seed: int = 1, limit: float = TIME_LIMIT,
             progress: Callable[[int, Totals, Outcome], None] | None = None,
             write: bool = True) -> Totals:
    """Run ``cases`` seeded cases over every seed in turn and return the totals.

    ``write=False`` reads accepted imports without writing them as datasets: the
    short run of the test suite.
    """
    totals = Totals()
    with tempfile.TemporaryDirectory(prefix="compendium-fuzz-") as tmp:
        work = Path(tmp)
        seeds = make_seeds(work)
        if write:  # the command line's cases fuzz as much as they seem only if each base works
            for seed_ in (s for s in seeds if s.kind == "cli"):
                for failure in fuzz_cli.check_bases(work, seed_.path):
                    totals.add(Outcome("cli", seed_.name, "the working arguments", INTERNAL,
                                       failure))
        for number in range(cases):
            outcome = run_case(seeds, number, seed, work, limit, write)
            totals.add(outcome)
            if progress is not None:
                progress(number + 1, totals, outcome)
    return totals


def main(argv: list[str] | None = None) -> int:
    """``make fuzz``: run the campaign, print the totals; exit 1 on any defect."""
    parser = argparse.ArgumentParser(prog="python -m compendium.fuzz", description=__doc__
                                     .split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=TIME_LIMIT)
    args = parser.parse_args(argv)
    # A campaign of no cases would report "0 defect(s)", and a time limit that is not a
    # positive number would count every case as a defect of the harness, not the reader.
    if args.cases < 1:
        parser.error(f"--cases must be at least 1, not {args.cases}")
    if not (math.isfinite(args.time_limit) and args.time_limit > 0):
        parser.error(f"--time-limit must be a positive number of seconds, not {args.time_limit}")
    started = time.perf_counter()
    if not any(SHARED_REFI.glob("*.qdpx")):
        print(f"fuzz: no real REFI-QDA exports at {SHARED_REFI} (the shared/ folder beside the "
              "repository); fuzzing the project's own export and the CSVs only", file=sys.stderr)

    def progress(done: int, totals: Totals, outcome: Outcome) -> None:
        if outcome.kind in DEFECTS:
            print(f"  case {done - 1}: {outcome.kind} in {outcome.target}: {outcome.seed} / "
                  f"{outcome.mutation}: {outcome.detail}", file=sys.stderr, flush=True)
        if done % 250 == 0:
            print(f"  {done:,} cases, {totals.defects} defect(s), "
                  f"{time.perf_counter() - started:.0f} s", file=sys.stderr, flush=True)

    totals = campaign(args.cases, args.seed, args.time_limit, progress)
    print(f"fuzz: {totals.cases:,} cases (seed {args.seed}) in "
          f"{time.perf_counter() - started:.0f} s")
    print(totals.report())
    return 1 if totals.defects else 0


if __name__ == "__main__":
    sys.exit(main())

