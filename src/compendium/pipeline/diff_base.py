"""A base revision of the repository, built in a temporary worktree (``make diff BASE=rev``)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ..errors import CompendiumError


def _git(repository: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", *args], cwd=repository, capture_output=True, text=True)


def _make_env() -> dict[str, str]:
    """This process's environment without a calling make's flags and jobserver."""
    return {k: v for k, v in os.environ.items() if not k.startswith("MAKE")}


@contextmanager
def base_build(revision: str, repository: Path, data: Path) -> Iterator[tuple[Path, Path, Path]]:
    """Build ``revision`` in a temporary worktree; yield (build, worktree, dataset), then remove it.

    The base gets its own environment from its own lock file, unless the lock is
    byte-identical to this one: then it shares this ``.venv`` (its time stamps
    set so make takes the shared environment as current) and runs its own code
    through ``PYTHONPATH``. The dataset is the base revision's copy of the same
    folder when it lies inside the repository, else the same folder.
    """
    found = _git(repository, "rev-parse", "--verify", "--quiet", f"{revision}^{{commit}}")
    if found.returncode != 0:
        raise CompendiumError(f"BASE={revision}: not a revision of {repository.resolve()}")
    tmp = Path(tempfile.mkdtemp(prefix="compendium-base-"))
    worktree = tmp / "repo"
    try:
        added = _git(repository, "worktree", "add", "--detach", str(worktree),
                     found.stdout.strip())
        if added.returncode != 0:
            raise CompendiumError(f"BASE={revision}: git worktree add failed: "
                                  f"{added.stderr.strip()}")
        env = _make_env()
        lock, base_lock = repository / "requirements.lock", worktree / "requirements.lock"
        venv = repository / ".venv"
        shared = (venv / ".installed").exists() and base_lock.exists() and \
            base_lock.read_bytes() == lock.read_bytes()
        if shared:
            (worktree / ".venv").symlink_to(venv.resolve())
            for name in ("requirements.lock", "pyproject.toml"):
                if (worktree / name).exists():
                    os.utime(worktree / name, (0, 0))
            env["PYTHONPATH"] = str((worktree / "src").resolve())
        try:
            inside = data.resolve().relative_to(repository.resolve())
            base_data = worktree / inside
        except ValueError:
            base_data = data.resolve()
        print(f"diff: building {revision} ({found.stdout.strip()[:12]}) in {worktree}"
              f"{' with the shared environment' if shared else ' with its own environment'}",
              flush=True)
        built = subprocess.run(["make", "--no-print-directory", "paper",
                                f"DATA={base_data}", "BUILD=build"],
                               cwd=worktree, env=env, capture_output=True, text=True)
        if built.returncode != 0:
            tail = (built.stdout + built.stderr).strip().splitlines()[-5:]
            raise CompendiumError(f"BASE={revision}: its paper did not build: "
                                  + " | ".join(tail))
        yield worktree / "build", worktree, base_data
    finally:
        _git(repository, "worktree", "remove", "--force", str(worktree))
        shutil.rmtree(tmp, ignore_errors=True)
        _git(repository, "worktree", "prune")
