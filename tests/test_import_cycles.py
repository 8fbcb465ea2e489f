"""Dependencies point one way: no module of the package imports, even inside a
function, a module that imports it back (see src/compendium/README.md)."""

from __future__ import annotations

from pathlib import Path

from compendium.importgraph import cycles, import_graph

from .conftest import ROOT

PACKAGE = ROOT / "src" / "compendium"

#: Import edges left out of the cycle check, each with its reason (none). The test
#: below fails when a listed edge no longer exists, so the list cannot go stale.
KNOWN_EDGES: frozenset[tuple[str, str]] = frozenset()


def test_the_package_has_no_import_cycles():
    graph = import_graph(PACKAGE, "compendium")
    found = cycles(graph, KNOWN_EDGES)
    assert not found, "import cycles (module groups that import each other): " + "; ".join(
        " <-> ".join(group) for group in found)


def test_every_allowed_edge_still_exists():
    graph = import_graph(PACKAGE, "compendium")
    stale = sorted((a, b) for a, b in KNOWN_EDGES if b not in graph.get(a, set()))
    assert not stale, f"remove these from KNOWN_EDGES, they are gone: {stale}"


def test_the_graph_sees_imports_at_module_level_and_inside_functions():
    graph = import_graph(PACKAGE, "compendium")
    assert "compendium.dataset.tableio" in graph["compendium.dataset.core"]  # module level
    # inside validate_dataset
    assert "compendium.dataset.anonymity" in graph["compendium.dataset.validation"]
    assert "compendium.analysis" in graph["compendium.bench"]  # `from . import analysis`
    assert "compendium.analysis._common" in graph["compendium.analysis.comparison"]
    assert "compendium.formatting" in graph["compendium.analysis.comparison"]  # `..formatting`


def _package(tmp_path: Path, files: dict[str, str]) -> Path:
    root = tmp_path / "pkg"
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_a_cycle_put_back_is_found(tmp_path):
    # The shape this package had: a reads helpers from b inside a function,
    # and b imports a at module level.
    root = _package(tmp_path, {
        "__init__.py": "",
        "a.py": "def f():\n    from .b import _helper\n    return _helper()\n",
        "b.py": "from . import a\n\ndef _helper():\n    return 1\n",
        "c.py": "from .a import f\n",
        "sub/__init__.py": "",
        "sub/x.py": "import pkg.sub.y\n",
        "sub/y.py": "from ..c import f\n",
    })
    graph = import_graph(root, "pkg")
    assert cycles(graph) == [["pkg.a", "pkg.b"]]
    assert cycles(graph, frozenset({("pkg.a", "pkg.b")})) == []
    # a longer cycle through a subpackage, with absolute and `..` imports
    (root / "a.py").write_text("import pkg.sub.x\n", encoding="utf-8")
    (root / "b.py").write_text("", encoding="utf-8")
    assert cycles(import_graph(root, "pkg")) == [["pkg.a", "pkg.c", "pkg.sub.x", "pkg.sub.y"]]


def test_the_real_package_fails_when_a_cycle_is_put_back(tmp_path):
    # Copy the package, put anonymity's old reach back into dataset, and check.
    import shutil

    copy = tmp_path / "compendium"
    shutil.copytree(PACKAGE, copy, ignore=shutil.ignore_patterns("__pycache__"))
    tableio = copy / "dataset" / "tableio.py"
    tableio.write_text(tableio.read_text(encoding="utf-8")
                       + "\n\ndef _back():\n    from .core import load_dataset\n",
                       encoding="utf-8")
    found = cycles(import_graph(copy, "compendium"), KNOWN_EDGES)
    assert any({"compendium.dataset.core", "compendium.dataset.tableio"} <= set(group)
               for group in found)


def test_imports_at_every_depth_are_found_and_an_edited_file_is_read_again(tmp_path):
    """The graph reads import statements wherever they stand (function, class, try, with,
    match, loop); a process keeps each file's imports only while the file is unchanged,
    so an edit that keeps the file's size is seen too."""
    import os

    body = ("import pkg.a\n"
            "class K:\n    def m(self):\n        from . import b\n"
            "try:\n    pass\nexcept ImportError:\n    from .c import x\n"
            "with open(__file__):\n    import pkg.d\n"
            "match 1:\n    case 1:\n        from . import e\n"
            "for _ in ():\n    if True:\n        import pkg.f\n")
    files = {"__init__.py": "", "main.py": body}
    files.update({f"{name}.py": "" for name in "abcdefg"})
    root = _package(tmp_path, files)
    graph = import_graph(root, "pkg")
    assert graph["pkg.main"] == {"pkg", "pkg.a", "pkg.b", "pkg.c", "pkg.d", "pkg.e", "pkg.f"}
    main = root / "main.py"
    before = main.stat()
    main.write_text(body.replace("pkg.f\n", "pkg.g\n"), encoding="utf-8")  # same size
    os.utime(main, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000))
    assert main.stat().st_size == before.st_size
    assert "pkg.g" in import_graph(root, "pkg")["pkg.main"]
