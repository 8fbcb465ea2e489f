"""Every public function, method and class says in at least one line what it is for."""

from __future__ import annotations

import ast

import pytest

from .conftest import ROOT

PACKAGE = ROOT / "src" / "compendium"
#: Every module of the package is held to the rule.
CHECKED = sorted(PACKAGE.rglob("*.py"))


def undocumented(source: str) -> list[str]:
    """Public module-level functions and classes, and their public methods, without a docstring."""
    missing = []

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) \
                    and not node.name.startswith("_"):
                if not ast.get_docstring(node):
                    missing.append(prefix + node.name)
                if isinstance(node, ast.ClassDef):
                    visit(node.body, f"{prefix}{node.name}.")

    visit(ast.parse(source).body, "")
    return missing


@pytest.mark.parametrize("path", CHECKED, ids=lambda p: str(p.relative_to(PACKAGE)))
def test_public_names_have_docstrings(path):
    assert undocumented(path.read_text(encoding="utf-8")) == []


def test_the_check_sees_functions_methods_and_classes():
    source = ("def f():\n    pass\n\ndef _private():\n    pass\n\n"
              "class A:\n    '''An A.'''\n    def m(self):\n        def inner():\n"
              "            pass\n\n    def _p(self):\n        pass\n\nclass B:\n    pass\n")
    assert undocumented(source) == ["f", "A.m", "B"]
