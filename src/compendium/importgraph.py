"""The import graph of a package, read from its source with ``ast``.

Every ``import`` and ``from ... import`` counts, at module level and inside
functions alike: an import deferred into a function still ties the two modules
together, and a cycle hidden that way is still a cycle for the reader.

Two users: the cycle test (``tests/test_import_cycles.py``) and the build's
generated rules (:mod:`compendium.pipeline.rules`), which give each notebook run
exactly the modules its notebook reaches, so an edit re-runs exactly the runs
that import the edited module. Standard library only: make reads the rules
before the project's environment exists.
"""

from __future__ import annotations

import ast
from pathlib import Path


def module_names(root: Path, package: str) -> dict[str, Path]:
    """Dotted module name -> source file, for every ``.py`` file under ``root``."""
    names = {}
    for path in sorted(root.rglob("*.py")):
        parts = list(path.relative_to(root).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join([package, *parts])] = path
    return names


def _base(module: str, path: Path, level: int) -> str:
    """The package a relative import of ``level`` dots in ``module`` starts from."""
    parts = module.split(".")
    if path.name != "__init__.py":
        parts = parts[:-1]  # a plain module's own package
    return ".".join(parts[: len(parts) - (level - 1)] if level > 1 else parts)


#: Each file's import statements, kept while the file is unchanged (same size, inode and
#: modification time): a process that reads the graph again (the build's run server
#: forks a process per run, each recording the code its run used) parses only what changed.
_STATEMENTS: dict[Path, tuple[tuple[int, int, int], list[ast.stmt]]] = {}


def _import_statements(path: Path) -> list[ast.stmt]:
    """Every ``import`` and ``from ... import`` statement of the file, at any depth."""
    info = path.stat()
    key = (info.st_size, info.st_ino, info.st_mtime_ns)
    cached = _STATEMENTS.get(path)
    if cached is not None and cached[0] == key:
        return cached[1]
    found: list[ast.stmt] = []
    # Imports are statements: only statements (and the clauses holding them) are
    # visited, not the expressions that make up most of a module's tree.
    todo: list[ast.AST] = [ast.parse(path.read_text(encoding="utf-8"), str(path))]
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            found.append(node)
            continue
        todo.extend(child for child in ast.iter_child_nodes(node)
                    if isinstance(child, (ast.stmt, ast.excepthandler, ast.match_case)))
    _STATEMENTS[path] = (key, found)
    return found


def imports_of(module: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``module`` imports, anywhere in its source."""
    found: set[str] = set()
    for node in _import_statements(path):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _base(module, path, node.level) if node.level else ""
            target = ".".join(p for p in (base, node.module or "") if p)
            # `from pkg import name` imports pkg, and pkg.name too when it is a module
            targets = [target] + [f"{target}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            # `import a.b.c` binds through a.b.c; keep the deepest module we know
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != module:
                found.add(target)
    return found


def import_graph(root: Path, package: str) -> dict[str, set[str]]:
    """Module -> the package's modules it imports."""
    names = module_names(root, package)
    known = set(names)
    return {module: imports_of(module, path, known) for module, path in names.items()}


def imports_in_source(source: str, known: set[str], origin: str = "<source>") -> set[str]:
    """The modules of ``known`` that top-level code ``source`` imports (absolute imports only).

    Used on notebook cells: lines that are IPython magics or shell escapes
    (``%``, ``!``) are not Python and are left out before parsing.
    """
    lines = [line for line in source.splitlines() if not line.lstrip().startswith(("%", "!"))]
    found: set[str] = set()
    for node in ast.walk(ast.parse("\n".join(lines), origin)):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            targets = [node.module] + [f"{node.module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target:
                found.add(target)
    return found


def reachable(graph: dict[str, set[str]], start: set[str]) -> set[str]:
    """Every module ``start`` reaches through imports, itself and its parent packages included.

    Importing ``a.b.c`` executes ``a/__init__.py`` and ``a/b/__init__.py`` first,
    so a module's parent packages count as reached too.
    """
    seen: set[str] = set()
    todo = sorted(start)
    while todo:
        module = todo.pop()
        if module in seen or module not in graph:
            continue
        seen.add(module)
        parent = module.rpartition(".")[0]
        todo.extend([*graph[module], *([parent] if parent else [])])
    return seen


def cycles(graph: dict[str, set[str]],
           allowed: frozenset[tuple[str, str]] = frozenset()) -> list[list[str]]:
    """Strongly connected groups of two or more modules (each one holds a cycle), sorted.

    Edges in ``allowed`` are left out first.
    """
    edges = {a: sorted(b for b in targets if (a, b) not in allowed and b in graph)
             for a, targets in graph.items()}
    # Tarjan's algorithm, iterative so deep packages cannot hit the recursion limit.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups: list[list[str]] = []
    counter = 0
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = counter
                counter += 1
                stack.append(node)
                on_stack.add(node)
            successors = edges[node]
            if i < len(successors):
                work.append((node, i + 1))
                nxt = successors[i]
                if nxt not in index:
                    work.append((nxt, 0))
                elif nxt in on_stack:
                    low[node] = min(low[node], index[nxt])
                continue
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
    return sorted(groups)
