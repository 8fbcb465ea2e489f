"""Write ``environment.yml`` from ``requirements.lock`` (standard library only).

Conda and Binder (repo2docker) read ``environment.yml``; pip reads the lock.
Both must pin the same packages, so the environment file is generated from
the lock and a test checks that they agree.
"""

from __future__ import annotations

import sys
from pathlib import Path

HEADER = """\
# Generated from requirements.lock by src/compendium/pipeline/envfile.py (make lock).
# Conda and Binder users get the same exact pins as `make` does with pip.
name: ict-clusters-compendium
channels:
  - conda-forge
dependencies:
  - python=3.11
  - pip
  - make
  - git
  - pip:
"""


def read_lock(path: Path) -> list[str]:
    """The lock file's ``name==version`` pins, comments and blank lines left out."""
    pins = []
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            pins.append(line)
    return pins


def environment_text(pins: list[str]) -> str:
    """``environment.yml``'s text: Python, pip, make and git from conda-forge, every pin via pip."""
    body = "".join(f"      - {pin}\n" for pin in pins)
    return HEADER + body + "      - -e .\n"


def main(argv: list[str]) -> int:
    """``envfile.py LOCK TARGET``: write the environment file for the lock."""
    lock, target = Path(argv[1]), Path(argv[2])
    target.write_text(environment_text(read_lock(lock)), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
