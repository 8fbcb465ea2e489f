"""Lint: ruff finds nothing in src/, tests/ or the notebooks; mypy finds nothing in src/.

Both are configured in pyproject.toml and pinned in requirements.lock, so this
test, ``make lint`` and CI run the same checks.
"""

from __future__ import annotations

import re
import subprocess
import sys

from .conftest import ROOT

SRC = ROOT / "src"

# A silenced error says which one and why: `# type: ignore[code]  # reason`.
_IGNORE = re.compile(r"#\s*type:\s*ignore(?P<codes>\[[a-z-]+(?:,\s*[a-z-]+)*\])?(?P<rest>.*)$")


def _ruff(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache",
                           "--output-format", "concise", *args],
                          cwd=ROOT, capture_output=True, text=True)


def test_ruff_finds_nothing():
    result = _ruff("src", "tests", "notebooks")
    assert result.returncode == 0, result.stdout + result.stderr


def test_mypy_finds_nothing_in_src():
    # No arguments: the files and options are pyproject.toml's, as `make lint` runs it. The
    # cache (.mypy_cache/, shared with `make lint`) makes a second run take seconds.
    result = subprocess.run([sys.executable, "-m", "mypy"], cwd=ROOT, capture_output=True,
                            text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    # The configuration really reaches every module (a wrong `files` would check nothing).
    n_modules = len(list(SRC.rglob("*.py")))
    assert f"no issues found in {n_modules} source files" in result.stdout, result.stdout


def test_every_type_ignore_names_its_error_and_why():
    bare = []
    for path in sorted(SRC.rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            found = _IGNORE.search(line)
            if found and not (found["codes"] and found["rest"].strip().startswith("#")
                              and found["rest"].strip("# ")):
                bare.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert not bare, "a type: ignore without [code] and a reason:\n" + "\n".join(bare)
