"""The package's floors (src/compendium/README.md): a module imports only from its own
floor and the floors above it, so the data flow reads top to bottom."""

from __future__ import annotations

from compendium.importgraph import import_graph

from .conftest import ROOT

PACKAGE = ROOT / "src" / "compendium"

#: The floors, top to bottom, as the package map's sections name them. A module
#: belongs to the floor of the longest prefix that names it.
FLOORS: tuple[tuple[str, ...], ...] = (
    ("compendium", "compendium.errors", "compendium.fileio", "compendium.userfile",
     "compendium.importgraph", "compendium.layout", "compendium.formatting"),
    ("compendium.dataset",),
    ("compendium.qda",),
    ("compendium.analysis",),
    ("compendium.displays",),
    ("compendium.classroom",),
    ("compendium.steps",),
    ("compendium.pipeline",),
    ("compendium.cli", "compendium.bench", "compendium.fuzz", "compendium.fuzz_class",
     "compendium.fuzz_cli", "compendium.fuzz_mutations", "compendium.fuzz_outcomes"),
)


def floor_of(module: str) -> int:
    """The floor of `module`, or -1 when no floor names it."""
    best, found = -1, -1
    for number, prefixes in enumerate(FLOORS):
        for prefix in prefixes:
            named = module == prefix or (prefix != "compendium" and module.startswith(prefix + "."))
            if named and len(prefix) > best:
                best, found = len(prefix), number
    return found


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    """Every import of a module on a lower floor by one on a higher floor."""
    return sorted(f"{a} (floor {floor_of(a)}) imports {b} (floor {floor_of(b)})"
                  for a, targets in graph.items() for b in targets
                  if floor_of(b) > floor_of(a))


def test_every_module_has_a_floor():
    graph = import_graph(PACKAGE, "compendium")
    homeless = sorted(m for m in graph if floor_of(m) < 0)
    assert not homeless, f"add these to a floor in FLOORS and the package map: {homeless}"


def test_no_module_imports_a_floor_below_its_own():
    found = upward_imports(import_graph(PACKAGE, "compendium"))
    assert not found, "imports that point up the floors: " + "; ".join(found)


def test_an_upward_import_is_found():
    # The check must be able to fail: the analysis reading a display, and the
    # dataset reaching into the build.
    graph = {"compendium.analysis.matrices": {"compendium.displays.tables"},
             "compendium.dataset.core": {"compendium.pipeline.paper", "compendium.errors"},
             "compendium.cli": {"compendium.steps.notebook"}}
    assert upward_imports(graph) == [
        "compendium.analysis.matrices (floor 3) imports compendium.displays.tables (floor 4)",
        "compendium.dataset.core (floor 1) imports compendium.pipeline.paper (floor 7)"]
