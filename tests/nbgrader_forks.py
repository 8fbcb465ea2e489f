"""nbgrader's commands, each in a process of its own forked from one that imported nbgrader.

The class-course test runs ten nbgrader commands. Started alone, each spends about a
second of CPU importing nbgrader, jupyter_server and SQLAlchemy before it does anything
(``/usr/bin/time nbgrader --version``: 1.15 CPU-s). Here each command still runs in a
fresh process of its own and runs exactly what the ``nbgrader`` console script runs,
``sys.exit(nbgrader.apps.nbgraderapp.main())`` with the command's arguments, working
folder and environment; but the process is forked from a multiprocessing forkserver that
imported nbgrader once, as the build's kernels are forked from a warmed server
(compendium.pipeline.warm). Whatever nbgrader itself starts (alembic, kernels) starts as
it would from the console script.
"""

from __future__ import annotations

import multiprocessing
import os
import sys
from pathlib import Path

NBGRADER = Path(sys.executable).with_name("nbgrader")

#: Imported once by the forkserver (this module, so that the children find the target
#: already imported, and nbgrader's command-line application with all it imports).
PRELOAD = [__name__, "nbgrader.apps.nbgraderapp"]


def _as_the_console_script(cwd: str, argv: list[str], env: dict[str, str], log: str) -> None:
    """The body of ``.venv/bin/nbgrader``, in ``cwd`` with ``env``, its output to ``log``."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    sys.stdout.flush()
    sys.stderr.flush()
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.argv = [str(NBGRADER), *argv]
    from nbgrader.apps.nbgraderapp import main

    sys.exit(main())


def run(cwd: Path, argv: list[str], env: dict[str, str], log: Path,
        timeout: float = 600) -> int:
    """Run ``nbgrader ARGV`` in ``cwd``; its exit status, its output (both streams) in ``log``."""
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(PRELOAD)
    process = context.Process(target=_as_the_console_script,
                              args=(str(cwd), list(argv), dict(env), str(log)))
    process.start()
    process.join(timeout)
    if process.exitcode is None:
        process.kill()
        process.join()
        raise TimeoutError(f"nbgrader {' '.join(argv)} did not finish in {timeout} s")
    return process.exitcode
