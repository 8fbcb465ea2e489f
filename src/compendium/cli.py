"""The ``compendium`` command.

Each subcommand is a thin wrapper: parse arguments, call a library function,
report. Failures a user can fix arrive as :class:`CompendiumError` and are
printed as one line (or one line per problem) with exit status 1, as is a path
the system refuses (an ``OSError`` naming it); anything unexpected is reported
the same way, with the traceback only when ``COMPENDIUM_DEBUG=1`` is set.

Longer than 500 lines because it is the one map of the command line: each
command's handler and its entry in the parser, with every option's help, read
in one place; the work itself is in the library.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from .errors import CompendiumError, os_problem, shown_path
from .layout import BUILD_ROOT, PAPER_STEPS
from .pipeline.warm import run_forked

Handler = Callable[[argparse.Namespace], int]


def _validate(args: argparse.Namespace) -> int:
    from .dataset import validate_dataset
    from .dataset.datapackage import check_outside_dataset

    if args.stamp:  # the stamp goes beside the build, never into the data it vouches for
        check_outside_dataset(args.stamp, args.dataset)
    problems = validate_dataset(args.dataset, identifiers=args.identifiers)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        print(f"{args.dataset}: {len(problems)} problem(s); the dataset is not valid",
              file=sys.stderr)
        return 1
    if args.stamp:
        from .dataset import read_descriptor
        from .dataset.datapackage import dataset_hash
        from .fileio import atomic_write

        # The build's record that this dataset, with this hash, passed validation;
        # notebook runs check the data against it instead of validating again.
        atomic_write(args.stamp, dataset_hash(read_descriptor(Path(args.dataset))) + "\n")
    if not args.quiet:
        print(f"{args.dataset}: valid")
    return 0


def _check_anonymity(args: argparse.Namespace) -> int:
    from .dataset.anonymity import check_anonymity, is_hit, resolve_identifiers

    identifiers = resolve_identifiers(args.identifiers, args.dataset)
    problems = check_anonymity(args.dataset, identifiers)
    if problems:
        for problem in problems:
            print(problem, file=sys.stderr)
        hits = sum(is_hit(p) for p in problems)
        unreadable = f" and {len(problems) - hits} unreadable file(s)" \
            if len(problems) > hits else ""
        print(f"{args.dataset}: {hits} possible direct identifier(s){unreadable}; replace them "
              "(`compendium pseudonymise` for listed names) or record reviewed false positives "
              "with a reason in anonymity_allowlist.csv", file=sys.stderr)
        return 1
    listed = (f"{len(identifiers)} listed term(s) from {identifiers.source}" if identifiers.terms
              else "no identifiers list")
    print(f"{args.dataset}: no direct identifiers found (e-mail, telephone, postcode, web "
          f"address; {listed})")
    return 0


def _pseudonymise(args: argparse.Namespace) -> int:
    from .dataset.pseudonymise import parse_patterns, pseudonymise_dataset

    patterns = parse_patterns(args.patterns)
    report = pseudonymise_dataset(args.dataset, args.to, args.key, args.identifiers, patterns)
    print(report.summary())
    for problem in report.remaining:
        print(f"warning: {problem}", file=sys.stderr)
    if report.remaining:
        print(f"warning: {args.to}: {len(report.remaining)} possible identifier(s) remain: "
              "list them in the identifiers list, or choose their kinds with --patterns, and "
              "pseudonymise the raw dataset again; or, if they are not identifiers, add them "
              f"with a reason to {args.to}/anonymity_allowlist.csv and run `compendium freeze "
              f"{args.to}`", file=sys.stderr)
    return 0


def _freeze(args: argparse.Namespace) -> int:
    from .dataset import freeze_dataset

    changed = freeze_dataset(args.dataset)
    if changed:
        for path in changed:
            print(f"{args.dataset}/{path}: sha256 recorded")
    else:
        print(f"{args.dataset}: nothing changed since the last freeze")
    return 0


def _synthetic(args: argparse.Namespace) -> int:
    from .dataset.synthetic import generate_dataset

    path = generate_dataset(args.to, seed=args.seed, interviews=args.interviews,
                            segments_per_interview=args.segments_per_interview,
                            transcripts=not args.no_transcripts, overwrite=args.force,
                            aligned_coders=args.aligned_coders)
    print(f"{path}: synthetic dataset written (seed {args.seed}, {args.interviews} interviews)")
    return 0


def _synthetic_class(args: argparse.Namespace) -> int:
    from .classroom.synthetic_class import write_class

    path = write_class(args.data, args.to, seed=args.seed, n_students=args.students,
                       n_segments=args.segments)
    print(f"{path}: synthetic class written (seed {args.seed}, {args.students} students)")
    return 0


def _class_init(args: argparse.Namespace) -> int:
    from .classroom.course import ClassSettings, init_course

    settings = ClassSettings(participant=args.participant, n_segments=args.segments,
                             theme=args.theme, coder=args.coder)
    path = init_course(args.course, args.data, args.notebook, settings)
    print(f"{path}: nbgrader course written; assignment {settings.assignment!r} generated in "
          f"{path}/release (next: cd {path} && nbgrader release_assignment "
          f"{settings.assignment})")
    return 0


def _class_report(args: argparse.Namespace) -> int:
    from .classroom.class_view import class_report

    return class_report(args.data, args.folder, participant=args.participant,
                        n_segments=args.segments, theme=args.theme, coder=args.coder)


def _run(args: argparse.Namespace) -> int:
    from .pipeline.runs import execute_run

    execute_run(args.run_id, data=Path(args.data), build=Path(args.build),
                registry=Path(args.registry))
    return 0


def _paper(args: argparse.Namespace) -> int:
    from .pipeline.steps import build_paper_steps

    build_paper_steps(args.step, data=Path(args.data), build=Path(args.build),
                      registry=Path(args.registry), paper_dir=Path(args.paper))
    return 0


def _diff(args: argparse.Namespace) -> int:
    from .pipeline.diff import (
        base_build,
        check_before_base,
        check_given_folders,
        default_output,
        write_diff,
    )

    check_given_folders({"--repository": args.repository,
                         "--old-repository": args.old_repository},
                        {"--old-data": args.old_data, "--new-data": args.new_data})
    if args.base is not None and args.old is not None and args.new == BUILD_ROOT:
        args.old, args.new = None, args.old  # `diff --base REV NEW`: the one folder is NEW
    new = Path(args.new)
    out = Path(args.to) if args.to else default_output(new)
    repository = Path(args.repository)
    if (args.base is None) == (args.old is None):
        raise CompendiumError("give either an OLD build folder or --base REVISION")
    if args.base is not None:
        check_before_base(new, out, repository, Path(args.data))
        with base_build(args.base, repository, Path(args.data)) as (old, worktree, data):
            report = write_diff(old, new, out, old_repository=worktree,
                                new_repository=repository, old_data=data,
                                new_data=Path(args.data))
    else:
        report = write_diff(
            Path(args.old), new, out,
            old_repository=Path(args.old_repository or args.repository),
            new_repository=repository,
            old_data=Path(args.old_data) if args.old_data else None,
            new_data=Path(args.new_data) if args.new_data else None)
    t = report["text"]
    if not report["changes"] and not t["changed"]:
        print(f"{out}: no changes")
    else:
        print(f"{out}: {len(report['changes'])} values, tables or figures changed; text "
              f"+{t['inserted_words']} -{t['deleted_words']} words (changes.md, index.html, "
              "text.html, paper-tracked.docx)")
    return 0


def _notebook(args: argparse.Namespace) -> int:
    from .pipeline.runs import execute_adhoc

    execute_adhoc(Path(args.notebook), args.parameters, data=Path(args.data),
                  build=Path(args.build))
    return 0


def _refresh_notebooks(args: argparse.Namespace) -> int:
    from .pipeline.runs import refresh_committed_notebooks

    refresh_committed_notebooks(Path(args.registry), names=args.notebooks)
    return 0


def _import(args: argparse.Namespace) -> int:
    from .qda.importer import import_dataset

    report = import_dataset(args.source, args.to, participants_csv=args.participants,
                            coder=args.coder, design_file=args.design,
                            codebook_file=args.codebook)
    print(report.found())
    for note in report.notes:
        print(f"  {note}")
    for warning in report.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    print(report.summary())
    return 0


def _design(args: argparse.Namespace) -> int:
    from .dataset.design_files import apply_design_file, describe_design

    if args.apply:
        apply_design_file(args.dataset, args.apply)
        print(f"{args.dataset}: design from {args.apply} declared and the dataset re-frozen")
        print()
    print(describe_design(args.dataset))
    return 0


def _export(args: argparse.Namespace) -> int:
    from .dataset.datapackage import check_outside_dataset
    from .qda.refi_export import check_destination, export_codebook, export_dataset

    if args.to is None and args.codebook is None:
        raise CompendiumError("export: nothing to write; give --to FILE.qdpx for the project, "
                              "--codebook FILE.qdc for the codebook, or both")
    for dest, kind in ((args.to, "project"), (args.codebook, "codebook")):
        if dest is not None:  # both, before either is written
            check_destination(Path(dest), kind, args.force)
            check_outside_dataset(dest, args.dataset)
    if args.to is not None:
        report = export_dataset(args.dataset, args.to, overwrite=args.force)
        for warning in report.warnings:
            print(f"warning: {warning}", file=sys.stderr)
        print(report.summary())
    if args.codebook is not None:
        print(export_codebook(args.dataset, args.codebook, overwrite=args.force).summary())
    return 0


def _agreement(args: argparse.Namespace) -> int:
    from .dataset import load_dataset
    from .displays import measures, tables

    ds = load_dataset(args.dataset)
    # Every code the coders applied, whatever the design places under the study's themes:
    # agreement is a property of the coding, not of the paper's displays.
    table = measures.agreement_by_measure(
        ds.segments, ds.all_codings, args.measure, coders=args.coders, threshold=args.threshold,
        transcripts=ds.transcripts, codebook=ds.raw_codebook)
    print(tables.agreement_cli_table(table, args.format), end="")
    return 0


class _MeasureHelp(str):
    """``--measure``'s help from the registry, which (with pandas) loads only for the help."""

    def __mod__(self, params: object) -> str:
        from .displays.measures import REGISTRY

        return "; ".join(f"{m.id}: {m.help}" for m in REGISTRY.values()) + " (default segment)"


def _add_build_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", default="data/synthetic", help="dataset folder")
    parser.add_argument("--build", default=BUILD_ROOT, help="build folder for this dataset")
    parser.add_argument("--registry", default="notebooks/runs.toml",
                        help="the list of notebook runs")


def _add_identifiers_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--identifiers", default=None, metavar="FILE",
                        help="identifiers list for the anonymisation gate (default: "
                             "identifiers.txt at the repository root, when present)")


def build_parser() -> argparse.ArgumentParser:
    """The ``compendium`` command's parser, one subcommand per task."""
    parser = argparse.ArgumentParser(
        prog="compendium",
        description="Reproducible research compendium: validate datasets, generate the "
                    "synthetic demonstration data, and build the paper.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("validate", help="check a dataset completely; exit 1 on any problem")
    p.add_argument("dataset", help="dataset folder (holding datapackage.json)")
    p.add_argument("-q", "--quiet", action="store_true", help="print nothing when valid")
    p.add_argument("--stamp", default=None, metavar="FILE",
                   help="(build) when valid, write the dataset's sha256 to FILE")
    _add_identifiers_option(p)
    p.set_defaults(handler=_validate)

    p = sub.add_parser("check-anonymity",
                       help="scan a dataset for direct identifiers; exit 1 on any hit")
    p.add_argument("dataset", help="dataset folder")
    _add_identifiers_option(p)
    p.set_defaults(handler=_check_anonymity)

    p = sub.add_parser("pseudonymise",
                       help="replace listed identifiers, e-mail addresses, telephone numbers, "
                            "postcodes and web addresses with placeholders in a new dataset")
    p.add_argument("dataset", help="dataset folder (never modified)")
    p.add_argument("--identifiers", metavar="LIST",
                   help="identifiers list: the terms to replace (optional with --patterns)")
    p.add_argument("--patterns", default="all", metavar="KINDS",
                   help="which of the gate's patterns to replace: comma-separated email, "
                        "phone, postcode, url; or all (the default) or none")
    p.add_argument("--to", required=True, help="dataset folder to create (not created on error)")
    p.add_argument("--key", required=True, metavar="KEYFILE",
                   help="CSV to write the key (identifier -> placeholder) to; refused inside "
                        "the repository")
    p.set_defaults(handler=_pseudonymise)

    p = sub.add_parser("freeze", help="record the sha256 of every file after a deliberate edit")
    p.add_argument("dataset", help="dataset folder")
    p.set_defaults(handler=_freeze)

    p = sub.add_parser("synthetic", help="generate a synthetic dataset to the study's design")
    p.add_argument("--to", required=True, help="folder to create")
    p.add_argument("--seed", type=int, default=2010, help="random seed (default 2010)")
    p.add_argument("--interviews", type=int, default=14, help="number of interviews (default 14)")
    p.add_argument("--segments-per-interview", type=int, default=None,
                   help="coded segments per interview (default: about 25, as in the design)")
    p.add_argument("--no-transcripts", action="store_true",
                   help="write segments without transcripts (for very large scale tests)")
    p.add_argument("--aligned-coders", action="store_true",
                   help="the second coder codes exactly the first coder's segments instead of "
                        "marking their own spans")
    p.add_argument("--force", action="store_true", help="replace the folder if it exists")
    p.set_defaults(handler=_synthetic)

    p = sub.add_parser("synthetic-class",
                       help="generate the synthetic methods class notebook 8 reads (student CSVs)")
    p.add_argument("--data", default="data/synthetic", help="dataset the students code")
    p.add_argument("--seed", type=int, default=2013, help="random seed (default 2013)")
    p.add_argument("--students", type=int, default=12, help="number of students (default 12)")
    p.add_argument("--segments", type=int, default=8, help="segments each codes (default 8)")
    p.add_argument("--to", default="data/synthetic-class",
                   help="folder to write, replaced whole (default data/synthetic-class)")
    p.set_defaults(handler=_synthetic_class)

    p = sub.add_parser("class", help="the class exercise: an nbgrader course, a class's agreement")
    csub = p.add_subparsers(dest="class_command", required=True, metavar="ACTION")
    q = csub.add_parser("init", help="create an nbgrader course whose assignment is notebook 7")
    q.add_argument("course", help="course folder to create (must not exist)")
    q.add_argument("--data", default="data/synthetic", help="dataset the class codes")
    q.add_argument("--notebook", default="notebooks/07-code-it-yourself.ipynb",
                   help="the coding notebook (default notebook 7)")
    q.add_argument("--participant", help="interview to code (default: notebook 7's)")
    q.add_argument("--segments", type=int, default=8, help="segments to code (default 8)")
    q.add_argument("--theme", help="restrict the codes to one theme")
    q.add_argument("--coder", help="the shipped coder students are compared with")
    q.set_defaults(handler=_class_init)
    q = csub.add_parser("report", help="pool a class: a folder of CSVs or an nbgrader course")
    q.add_argument("folder", help="folder of student CSVs, or an nbgrader course folder")
    q.add_argument("--data", default="data/synthetic", help="dataset the class coded")
    q.add_argument("--participant", help="interview coded (default: notebook 7's)")
    q.add_argument("--segments", type=int, default=8, help="segments coded (default 8)")
    q.add_argument("--theme", help="theme whose codes were used")
    q.add_argument("--coder", help="the shipped coder")
    q.set_defaults(handler=_class_report)

    p = sub.add_parser("import", help="import codings exported by a QDA tool (REFI-QDA .qdpx "
                                      "or .qde, Taguette or QualCoder CSV) as a new dataset")
    p.add_argument("source", help="the export: .qdpx archive, .qde file (beside its sources "
                                  "folder), unpacked project folder, or CSV")
    p.add_argument("--to", required=True, help="dataset folder to create (not created on error)")
    p.add_argument("--participants", default=None,
                   help="CSV with participant_id and attributes to add or override, such as "
                        "perspective, organisation_type or the attribute a --design file names")
    p.add_argument("--design", default=None,
                   help="design file (TOML) mapping the export's groups and codes onto the "
                        "study's two perspectives and three themes (see data/README.md)")
    p.add_argument("--coder", default="coder_a",
                   help="coder name for exports that do not record one (Taguette; default "
                        "coder_a)")
    p.add_argument("--codebook", default=None, metavar="FILE.qdc",
                   help="REFI-QDA codebook to use as the dataset's codebook; the export's "
                        "codes are matched to it by GUID, path of names, or name")
    p.set_defaults(handler=_import)

    p = sub.add_parser("design", help="show a dataset's design (perspectives, themes, codes "
                                      "outside every theme), or declare one with --apply")
    p.add_argument("dataset", help="dataset folder")
    p.add_argument("--apply", default=None, metavar="DESIGN.toml",
                   help="declare the design in this file (written atomically; the dataset is "
                        "re-frozen)")
    p.set_defaults(handler=_design)

    p = sub.add_parser("export", help="export a dataset as a REFI-QDA project (.qdpx) for QDA "
                                      "tools")
    p.add_argument("dataset", help="dataset folder")
    p.add_argument("--to", default=None, help="the .qdpx project file to write")
    p.add_argument("--codebook", default=None, metavar="FILE.qdc",
                   help="also (or only) write the codebook as a REFI-QDA codebook file")
    p.add_argument("--force", action="store_true", help="replace the files if they exist")
    p.set_defaults(handler=_export)

    p = sub.add_parser("agreement", help="inter-coder agreement per code and pooled, by measure")
    p.add_argument("dataset", help="dataset folder")
    p.add_argument("--coders", nargs="+", default=None, metavar="CODER",
                   help="coders to compare (default: all; the pairwise measures need two)")
    p.add_argument("--measure", default="segment", metavar="MEASURE", help=_MeasureHelp("measure"))
    p.add_argument("--threshold", type=float, default=0.9, help="overlap share (default 0.9)")
    p.add_argument("--format", choices=["table", "csv", "json"], default="table",
                   help="output format (default table)")
    p.set_defaults(handler=_agreement)

    p = sub.add_parser("run", help="(build) execute one notebook run from the registry")
    p.add_argument("run_id")
    _add_build_arguments(p)
    p.set_defaults(handler=_run)

    p = sub.add_parser("paper", help="(build) steps of the paper build, in turn in one process")
    p.add_argument("step", nargs="+", metavar="STEP", help=f"of {', '.join(PAPER_STEPS)}")
    _add_build_arguments(p)
    p.add_argument("--paper", default="paper", help="folder with paper.md and references.bib")
    p.set_defaults(handler=_paper)

    p = sub.add_parser("diff", help="what changed between two builds, and why (for reviewers)")
    p.add_argument("old", nargs="?", default=None,
                   help="the earlier build folder (or give --base REVISION instead)")
    p.add_argument("new", nargs="?", default=BUILD_ROOT,
                   help="the later build folder (default build)")
    p.add_argument("--base", default=None, metavar="REVISION",
                   help="build this git revision in a temporary worktree and compare with it")
    p.add_argument("--data", default="data/synthetic",
                   help="with --base: the dataset both builds are made from")
    p.add_argument("--to", default=None, help="output folder (default NEW/diff)")
    p.add_argument("--repository", default=".",
                   help="the repository NEW was built in (its recorded paths are relative to it)")
    p.add_argument("--old-repository", default=None,
                   help="the repository OLD was built in (default: --repository)")
    p.add_argument("--old-data", default=None,
                   help="OLD's dataset folder, where OLD did not record it")
    p.add_argument("--new-data", default=None,
                   help="NEW's dataset folder, where NEW did not record it")
    p.set_defaults(handler=_diff)

    p = sub.add_parser("notebook",
                       help="run one notebook with other parameters into BUILD/notebooks/")
    p.add_argument("notebook", help="notebook file, e.g. notebooks/02-theme-matrix.ipynb")
    p.add_argument("parameters", nargs="*", metavar="NAME=VALUE",
                   help="parameters to change, e.g. theme=outcomes perspective=entrepreneur")
    p.add_argument("--data", default="data/synthetic", help="dataset folder")
    p.add_argument("--build", default=BUILD_ROOT, help="build folder")
    p.set_defaults(handler=_notebook)

    p = sub.add_parser("refresh-notebooks",
                       help="re-execute the committed notebooks on the default dataset")
    p.add_argument("notebooks", nargs="*", help="notebook files (default: all in the registry)")
    p.add_argument("--registry", default="notebooks/runs.toml")
    p.set_defaults(handler=_refresh_notebooks)
    return parser


#: This module by its import name (``__name__`` is ``__main__`` under ``python -m``).
ENTRY_POINT = "compendium.cli"
#: Commands that go on in a fork of the run server (``compendium.pipeline.warm``), if
#: one answers, when they are the program's own: the fork gets the process's streams.
FORKED_COMMANDS = ("validate", "run", "paper")


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``compendium``: each problem as one line, exit code 1, no traceback."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Handler = args.handler
    undecodable = _not_utf8(sys.argv[1:] if argv is None else argv)
    if undecodable:  # every path and name is recorded in UTF-8 (JSON, notebooks, CSV)
        print(f"compendium {args.command}: {undecodable}: not valid UTF-8; the compendium "
              "records every path and name as UTF-8 text, so rename it", file=sys.stderr)
        return 1
    try:
        if args.command in FORKED_COMMANDS and argv is None:
            # Under `make paper` a run server has the build's imports done (pipeline.warm):
            # the command goes on in a process forked from it, instead of this one importing
            # everything again. Ctrl-C before the server forks it ends here, as below.
            forked = run_forked(ENTRY_POINT, sys.argv[1:])
            if forked is not None:
                return forked
        return handler(args)
    except CompendiumError as err:
        print(f"compendium {args.command}: {err}" if "\n" not in str(err) else str(err),
              file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("compendium: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader stopped reading (`| head`): nothing more to say
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())  # nor at exit
        return 1
    except OSError as err:
        if err.filename is None or os.environ.get("COMPENDIUM_DEBUG") == "1":
            return _internal_error(args.command, err)
        # The system refused a path given or written (a name too long, a folder where a
        # file belongs, no permission, a full disk): one line naming the path and why.
        print(f"compendium {args.command}: {os_problem(err)}", file=sys.stderr)
        return 1
    except Exception as err:  # a bug, not a user error: still no traceback by default
        return _internal_error(args.command, err)


def _not_utf8(arguments: Sequence[str]) -> str | None:
    """The first argument the system gave as bytes that are not UTF-8, shown with escapes."""
    for argument in arguments:
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            return shown_path(os.fsencode(argument).decode("utf-8", "backslashreplace"))
    return None


def _internal_error(command: str, err: Exception) -> int:
    """A bug, not a user error: one line without a traceback, unless COMPENDIUM_DEBUG=1."""
    if os.environ.get("COMPENDIUM_DEBUG") == "1":
        raise err
    print(f"compendium {command}: internal error: {type(err).__name__}: {err} "
          "(set COMPENDIUM_DEBUG=1 for details)", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
