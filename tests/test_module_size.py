"""No module of the package is over 500 lines without saying why in its docstring.

A long module usually does several jobs; one that must be long says so in a
sentence starting "Longer than 500 lines because", so a reader knows it was
decided, not grown.
"""

from __future__ import annotations

import ast
from pathlib import Path

from .conftest import ROOT

PACKAGE = ROOT / "src" / "compendium"
LIMIT = 500
REASON = "Longer than 500 lines because"

#: Modules allowed over the limit without a stated reason (none); the test below fails
#: for any module listed here that is within the limit or says why, so it cannot go stale.
KNOWN_OVER: frozenset[str] = frozenset()


def lines_of(path: Path) -> int:
    """The number of lines in a file."""
    return len(path.read_text(encoding="utf-8").splitlines())


def says_why(source: str) -> bool:
    """Whether a module's docstring states why it is longer than the limit."""
    return REASON in (ast.get_docstring(ast.parse(source)) or "")


def over_without_reason(package: Path = PACKAGE) -> list[str]:
    """Modules (relative to the package) over ``LIMIT`` lines whose docstring gives no reason."""
    return sorted(path.relative_to(package).as_posix() for path in package.rglob("*.py")
                  if lines_of(path) > LIMIT and not says_why(path.read_text(encoding="utf-8")))


def test_no_module_is_over_500_lines_without_a_reason():
    found = set(over_without_reason())
    assert sorted(found - KNOWN_OVER) == [], (
        f"over {LIMIT} lines: split the module by job, or say in its docstring "
        f'"{REASON} ..."')


def test_the_known_list_holds_only_modules_still_over():
    fixed = sorted(KNOWN_OVER - set(over_without_reason()))
    assert fixed == [], f"within the limit or with a reason now; remove from KNOWN_OVER: {fixed}"


def test_the_check_can_fail(tmp_path):
    long_body = "x = 1\n" * LIMIT
    (tmp_path / "short.py").write_text('"""Short."""\n', encoding="utf-8")
    (tmp_path / "long.py").write_text('"""Long."""\n' + long_body, encoding="utf-8")
    (tmp_path / "said.py").write_text(f'"""Said.\n\n{REASON} it must be."""\n' + long_body,
                                      encoding="utf-8")
    (tmp_path / "comment.py").write_text(f'"""Not said."""\n# {REASON} a comment.\n'
                                         + long_body, encoding="utf-8")
    assert over_without_reason(tmp_path) == ["comment.py", "long.py"]
