"""The manuscript's word-level diff, written as HTML and as a tracked-changes DOCX.

The manuscript as assembled (values filled in) is compared word by word and
written as HTML with ``<ins>``/``<del>`` and as a DOCX with Word's own tracked
changes: pandoc turns ``[text]{.insertion}`` and ``[text]{.deletion}`` spans
into ``w:ins`` and ``w:del``. Their date is the new build's commit date (or
the build's fixed DOCX date), never the clock, so the same builds give the
same bytes.
"""

from __future__ import annotations

import difflib
import re
import subprocess
from pathlib import Path

from ..fileio import atomic_write
from ..layout import Layout
from .diff_builds import Build
from .pandoc import finish_pandoc, reference_docx, run_pandoc, start_pandoc
from .paper import DOCX_EPOCH, assets, conditions, filter_metadata

AUTHOR = "compendium"
#: Markdown characters a deleted word is escaped for, so it reads as the words it was.
MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>@$~^:\"'])")
#: Characters that make an inserted run Markdown syntax rather than words; such a run
#: is inserted as it is, unmarked, so the document keeps its structure.
SYNTAX = re.compile(r"[|{}\[\]`<>\\$@]|^[#:!]|!\[")
#: White space; words (hyphenated, with apostrophes, decimals such as 0.45, and
#: cross-references or citation keys such as @fig-x whole); single punctuation marks.
TOKEN = re.compile(r"\s+|@?\w+(?:[-'’:.,/]\w+)*|[^\w\s]")
WORD = re.compile(r"@?\w+(?:[-'’:.,/]\w+)*")
#: A table's rule line (pipe, grid or simple table) or a horizontal rule: never marked.
RULE_LINE = re.compile(r"^[ \t|+:=-]*[-=]{3}[ \t|+:=-]*$")


def _escape(words: str) -> str:
    return MARKDOWN_SPECIALS.sub(r"\\\1", words)


def _mark(kind: str, text: str, date: str) -> str:
    """One tracked insertion or deletion as a pandoc span (words only, one line)."""
    return f"[{text}]{{.{kind} author={AUTHOR} date={date}}}"


def _split_front_matter(text: str) -> tuple[str, str]:
    """The YAML front matter (with its fences) and the body."""
    if text.startswith("---\n"):
        end = text.find("\n---\n", 4)
        if end != -1:
            return text[:end + 5], text[end + 5:]
    return "", text


def word_diff(old: str, new: str, date: str) -> tuple[str, dict[str, int]]:
    """The new text with every word-level edit marked as an insertion or deletion span.

    Only words are marked: a deleted run is escaped so it reads as the words it
    was; a run that is Markdown syntax (a table row, a figure line, a
    cross-reference) is kept as it is now, unmarked, so the document keeps its
    structure; a span never holds a line break. In the YAML front matter only the
    indented Markdown blocks (the abstract) are marked: a quoted YAML string
    cannot hold a span. Returns the marked text and the number of inserted and
    deleted words.
    """
    counts = {"inserted_words": 0, "deleted_words": 0}
    old_front, old_body = _split_front_matter(old)
    new_front, new_body = _split_front_matter(new)
    front = []
    a, b = old_front.splitlines(keepends=True), new_front.splitlines(keepends=True)
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        indented = all(line.startswith("  ") for line in a[i1:i2] + b[j1:j2])
        if op != "equal" and indented:
            front.append(_diff_words("".join(a[i1:i2]), "".join(b[j1:j2]), date, counts))
        else:
            front.append("".join(b[j1:j2]))
    return "".join(front) + _diff_lines(old_body, new_body, date, counts), counts


def _diff_lines(old: str, new: str, date: str, counts: dict[str, int]) -> str:
    """Lines first, then words within each changed block of lines.

    A word-level match over the whole manuscript is quadratic in its many
    repeated tokens (spaces, table rules); matching lines first keeps a diff of
    two builds to a fraction of a second.
    """
    a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op == "equal":
            out.append("".join(b[j1:j2]))
        else:
            out.append(_diff_words("".join(a[i1:i2]), "".join(b[j1:j2]), date, counts))
    return "".join(out)


def _diff_words(old: str, new: str, date: str, counts: dict[str, int]) -> str:
    a, b = TOKEN.findall(old), TOKEN.findall(new)
    a_inside, b_inside = _inside_syntax(a), _inside_syntax(b)
    matcher = difflib.SequenceMatcher(None, a, b, autojunk=False)
    out: list[str] = []
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            out.append("".join(b[j1:j2]))
            continue
        if op in ("delete", "replace"):
            for line, inside in _runs(a[i1:i2], a_inside[i1:i2], keep_breaks=op == "delete"):
                words = line.strip()
                if "\n" in line:
                    out.append(line)  # a deleted paragraph keeps its own paragraph
                elif words and not inside and not SYNTAX.search(words):
                    counts["deleted_words"] += len(WORD.findall(words))
                    out.append(_mark("deletion", _escape(words), date))
                    if op == "delete" and line != line.rstrip():
                        out.append(" ")
        if op in ("insert", "replace"):
            for line, inside in _runs(b[j1:j2], b_inside[j1:j2], keep_breaks=True):
                words = line.strip()
                if not words or "\n" in line or inside or SYNTAX.search(words):
                    out.append(line)
                    continue
                counts["inserted_words"] += len(WORD.findall(words))
                lead = line[:len(line) - len(line.lstrip())]
                tail = line[len(line.rstrip()):]
                out.append(lead + _mark("insertion", words, date) + tail)
    return "".join(out)


def _inside_syntax(tokens: list[str]) -> list[bool]:
    """Whether each token is syntax a span would break: inside an attribute block
    ``{...}`` (a figure's ``{#fig-x .float}`` gaining a class, say) or a link's or image's
    target ``](...)``, or on a table's rule line (``|:---|---:|``, whose dashes change
    with a column's width). Such tokens are never marked. Counted from the block's
    start, which is a line's (the blocks compared are whole lines)."""
    flags = _bracketed(tokens)
    start = 0
    for end in [i for i, token in enumerate(tokens) if "\n" in token] + [len(tokens)]:
        if RULE_LINE.match("".join(tokens[start:end])):
            flags[start:end] = [True] * (end - start)
        start = end + 1
    return flags


def _bracketed(tokens: list[str]) -> list[bool]:
    """Whether each token lies inside ``{...}`` or a target ``](...)`` (see _inside_syntax)."""
    flags, braces, parens, previous = [], 0, 0, ""
    for token in tokens:
        if token == "{":
            braces += 1
        elif token == "(" and (parens or previous == "]"):
            parens += 1
        flags.append(braces > 0 or parens > 0)
        if token == "}" and braces:
            braces -= 1
        elif token == ")" and parens:
            parens -= 1
        elif "\n" in token:
            braces = parens = 0  # neither spans a line in the manuscript
        previous = token
    return flags


def _runs(tokens: list[str], inside: list[bool],
          keep_breaks: bool = False) -> list[tuple[str, bool]]:
    """Tokens joined into runs, each all inside syntax or all outside, that never cross a
    line break (breaks kept as their own runs, outside syntax)."""
    runs: list[tuple[str, bool]] = []
    current, current_inside = "", False
    for token, flag in zip(tokens, inside, strict=True):
        if "\n" in token:
            if current:
                runs.append((current, current_inside))
            current = ""
            if keep_breaks:
                runs.append((token, False))
            continue
        if current and flag != current_inside:
            runs.append((current, current_inside))
            current = ""
        if not current:
            current_inside = flag
        current += token
    if current:
        runs.append((current, current_inside))
    return runs


def commit_date(repository: Path, commit: str) -> str:
    """The commit's date (ISO 8601) from git, or the build's fixed DOCX date when unknown."""
    sha = commit.removesuffix("-dirty")
    if re.fullmatch(r"[0-9a-f]{7,40}", sha):
        found = subprocess.run(["git", "show", "-s", "--format=%cI", sha], cwd=repository,
                               capture_output=True, text=True)
        if found.returncode == 0 and found.stdout.strip():
            return found.stdout.strip()
    return "2010-01-01T00:00:00Z"  # the same instant as paper.DOCX_EPOCH


def render_text(marked: str, new: Build, out: Path) -> None:
    """The marked manuscript as HTML (``<ins>``/``<del>``) and as a tracked-changes DOCX."""
    source = out / "text.md"
    atomic_write(source, marked)
    paper_dir = new.provenance.get("paper_dir")
    bib = (new.repository / paper_dir / "references.bib") if paper_dir else None
    filters = ["--lua-filter", str(assets() / "crossref.lua"),
               "--lua-filter", str(assets() / "trackchanges.lua")]
    # the same metadata the paper's render gives its filter, so conditional blocks agree
    parse = [str(source.resolve()), "--from", "markdown", *filters,
             *filter_metadata(*conditions(new.values, new.synthetic)),
             "--resource-path", ".", "--to", "json"]
    if bib is not None and bib.exists():
        parse[1:1] = ["--citeproc", "--bibliography", str(bib.resolve())]
    # pandoc runs in the new build's paper folder, where '../runs/...' finds the figures
    cwd = Layout(new.root).paper
    tree = out / ".text.json"
    tree.write_bytes(run_pandoc(parse, cwd=cwd))
    common = [str(tree.resolve()), "--from", "json", *filters, "--resource-path", ".",
              "--standalone"]
    reference = reference_docx(out / ".reference.docx")  # the paper's table style
    writers = [
        start_pandoc([*common, "--to", "html5", "--embed-resources",
                      "--css", str(assets() / "paper.css"),
                      "--metadata", "title=Tracked changes",
                      "--output", str((out / "text.html").resolve())], cwd=cwd),
        start_pandoc([*common, "--to", "docx",
                      "--reference-doc", str(reference.resolve()),
                      "--output", str((out / "paper-tracked.docx").resolve())], cwd=cwd,
                     env={"SOURCE_DATE_EPOCH": DOCX_EPOCH}),
    ]
    for writer in writers:
        finish_pandoc(writer)
    tree.unlink()
    reference.unlink()

