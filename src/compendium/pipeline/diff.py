"""What changed between two builds of the paper, and why: ``compendium diff OLD NEW``.

The diff has three jobs, each in its own module: comparing the two builds'
values, tables and figures with their causes (``diff_builds``), the
manuscript's word-level diff as HTML and tracked-changes DOCX (``diff_text``),
and building a base revision in a temporary worktree (``diff_base``). This
module writes the reports that bring them together.

Everything is written to a staging folder renamed into place, last.
"""

from __future__ import annotations

import html
import json
from pathlib import Path
from typing import Any

from ..dataset.datapackage import check_dataset_folder
from ..errors import CompendiumError
from ..fileio import (
    atomic_write,
    check_replaceable,
    remove_tree,
    replace_dir,
    staging_dir,
)
from ..layout import Layout
from .diff_base import base_build as base_build  # the command line's entry to the base build
from .diff_builds import TABLES, Build, compare
from .diff_text import commit_date, render_text, word_diff


def _short(commit: str) -> str:
    return commit[:12] if commit != "unknown" else commit


def describe_cause(cause: dict[str, Any]) -> str:
    """One cause in words, for the Markdown and HTML reports."""
    kind = cause["input"]
    if kind == "dataset":
        if "file" not in cause:
            return "the dataset (which files changed was not recorded)"
        text = (f"dataset file {cause['file']} (sha256 {str(cause['old_sha256'])[:12]} → "
                f"{str(cause['new_sha256'])[:12]})")
        rows = cause.get("rows")
        if rows:
            text += ": " + "; ".join(describe_row(r) for r in rows[:5])
            if len(rows) > 5:
                text += f"; and {len(rows) - 5} more rows"
        elif cause.get("file") in TABLES and rows is None:
            text += " (rows not available: a dataset folder no longer holds the recorded file)"
        return text
    if kind == "notebook":
        return f"notebook {cause['new'] or cause['old']}"
    if kind == "parameter":
        return f"parameter {cause['name']}: {cause['old']} → {cause['new']}"
    if kind == "code":
        modules = cause.get("modules")
        return "package modules " + (", ".join(modules) if modules else "(which ones not recorded)")
    if kind == "lock":
        return "the lock (requirements.lock)"
    return f"input folder {cause['folder']}"


def describe_row(row: dict[str, Any]) -> str:
    """A row change as ``codings.csv:57 changed (code_id X → Y)``."""
    key = ", ".join(f"{v}" for v in row["key"].values())
    text = f"{row['file']}:{row['row']} {row['change']} ({key}"
    if row.get("columns"):
        text += "; " + ", ".join(f"{c} {o} → {n}" for c, (o, n) in row["columns"].items())
    return text + ")"


def short_cause(cause: dict[str, Any]) -> str:
    """A cause in a few words (the full one is listed once, under the inputs that changed)."""
    if cause["input"] == "dataset" and "file" in cause:
        rows = cause.get("rows")
        if rows:
            numbers = ", ".join(str(r["row"]) for r in rows[:5])
            numbers += ", ..." if len(rows) > 5 else ""
            return f"{cause['file']} (row{'s' if len(rows) > 1 else ''} {numbers})"
        return cause["file"]
    return describe_cause(cause)


def causes_text(causes: list[dict], short: bool = False) -> str:
    """The causes of one change in words, or a sentence saying none of its inputs changed."""
    describe = short_cause if short else describe_cause
    return "; ".join(describe(c) for c in causes) or "none of its recorded inputs changed"


def _words(n: int) -> str:
    return f"{n} word" + ("" if n == 1 else "s")


def _cell(text: Any) -> str:
    return "—" if text is None else str(text).replace("|", "\\|").replace("\n", " ")


def markdown_report(report: dict[str, Any]) -> str:
    """The changes as Markdown, to paste into a response to reviewers."""
    old, new = report["old"], report["new"]
    lines = [f"# What changed: {_short(old['commit'])} → {_short(new['commit'])}", ""]
    if not report["changes"] and not report["text"]["changed"]:
        return "\n".join(lines + ["No changes: every value, table, figure and word of the "
                                  "paper is the same.", ""])
    if report["inputs"]:
        lines += ["## Inputs that changed", ""]
        lines += [f"- {describe_cause(c)}" for c in report["inputs"]] + [""]
    values = [c for c in report["changes"] if c["kind"] == "value"]
    displays = [c for c in report["changes"] if c["kind"] != "value"]
    if values:
        lines += ["## Values", "", "| value | where | old | new | cause |", "|---|---|---|---|---|"]
        for c in values:
            lines.append(f"| `{c['id']}` | {_cell(', '.join(c['places']) or c['run'])} | "
                         f"{_cell(c['old'])} | {_cell(c['new'])} | "
                         f"{_cell(causes_text(c['causes'], short=True))} |")
        lines.append("")
    if displays:
        lines += ["## Figures and tables", ""]
        for c in displays:
            cause = causes_text(c["causes"], short=True)
            lines += [f"### {c['kind'].capitalize()} `{c['id']}` ({c['change']}; run {c['run']})",
                      "", f"{c['caption']}", "", f"Cause: {cause}.", ""]
            if c.get("cells"):
                lines += ["| row | column | old | new |", "|---|---|---|---|"]
                lines += [f"| {_cell(x['row'])} | {_cell(x['column'])} | {_cell(x['old'])} | "
                          f"{_cell(x['new'])} |" for x in c["cells"]] + [""]
    if not report["changes"]:
        lines += ["No value, table or figure changed.", ""]
    t = report["text"]
    lines += ["## Text", "",
              (f"{_words(t['inserted_words'])} inserted and {_words(t['deleted_words'])} deleted "
               "in the assembled manuscript: see text.html and the tracked-changes "
               "paper-tracked.docx."
               if t["changed"] else "The text is unchanged apart from the values above."), ""]
    return "\n".join(lines)


def html_report(report: dict[str, Any], markdown: str) -> str:
    """The changes as a page: the Markdown's words, and old and new figures side by side."""
    e = html.escape
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
             f"<title>What changed</title><style>{PAGE_STYLE}</style></head><body>"]
    parts.append(f"<h1>What changed: {e(_short(report['old']['commit']))} → "
                 f"{e(_short(report['new']['commit']))}</h1>")
    parts.append('<p><a href="text.html">The text with insertions and deletions marked</a> · '
                 '<a href="paper-tracked.docx">tracked-changes DOCX</a> · '
                 '<a href="changes.md">Markdown</a> · <a href="changes.json">JSON</a></p>')
    if not report["changes"] and not report["text"]["changed"]:
        parts.append("<p>No changes.</p>")
    for c in report["changes"]:
        if c["kind"] == "value":
            parts.append(f"<div class=\"change\"><h3>Value <code>{e(c['id'])}</code></h3>"
                         f"<p><del>{e(str(c['old']))}</del> → <ins>{e(str(c['new']))}</ins></p>"
                         f"<p>Cause: {e(causes_text(c['causes']))}</p></div>")
            continue
        parts.append(f"<div class=\"change\"><h3>{e(c['kind'].capitalize())} "
                     f"<code>{e(c['id'])}</code> ({e(c['change'])})</h3><p>{e(c['caption'])}</p>"
                     f"<p>Cause: {e(causes_text(c['causes']))}</p>")
        if c.get("old_file"):
            parts.append(f"<div class=\"side\"><figure><img src=\"figures/old-{e(c['id'])}.svg\" "
                         f"alt=\"old {e(c['id'])}\"><figcaption>old</figcaption></figure>"
                         f"<figure><img src=\"figures/new-{e(c['id'])}.svg\" "
                         f"alt=\"new {e(c['id'])}\"><figcaption>new</figcaption></figure></div>")
        if c.get("cells"):
            parts.append("<table><tr><th>row</th><th>column</th><th>old</th><th>new</th></tr>")
            parts += [f"<tr><td>{e(str(x['row']))}</td><td>{e(str(x['column']))}</td>"
                      f"<td><del>{e(str(x['old']))}</del></td><td><ins>{e(str(x['new']))}</ins>"
                      f"</td></tr>" for x in c["cells"]]
            parts.append("</table>")
        parts.append("</div>")
    parts.append("</body></html>\n")
    return "".join(parts)


PAGE_STYLE = ("body{font-family:sans-serif;max-width:70em;margin:auto;padding:1em}"
              ".side{display:flex;gap:1em}.side figure{flex:1;margin:0}"
              ".side img{width:100%;border:1px solid #ccc}"
              "ins{background:#dfd;text-decoration:none}del{background:#fdd}"
              "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:.2em .5em}")




def write_diff(old_root: Path, new_root: Path, out: Path, *, old_repository: Path,
               new_repository: Path, old_data: Path | None = None,
               new_data: Path | None = None) -> dict[str, Any]:
    """Compare two builds and write ``out/``: changes.{md,json}, index.html, text.html, DOCX.

    Everything is written in a staging folder renamed to ``out`` last.
    """
    report = compare(old_root, new_root, old_repository=old_repository,
                     new_repository=new_repository, old_data=old_data, new_data=new_data)
    old, new = report.pop("_builds")
    date = commit_date(new.repository, new.commit)
    marked, counts = word_diff(old.assembled, new.assembled, date)
    report["text"] = {"changed": old.assembled != new.assembled, "date": date, **counts}
    staging = staging_dir(out)
    try:
        render_text(marked, new, staging)
        figures = staging / "figures"
        for change in report["changes"]:
            if change.get("old_file"):
                figures.mkdir(exist_ok=True)
                (figures / f"old-{change['id']}.svg").write_bytes(
                    (old.root / change["old_file"]).read_bytes())
                (figures / f"new-{change['id']}.svg").write_bytes(
                    (new.root / change["new_file"]).read_bytes())
        markdown = markdown_report(report)
        atomic_write(staging / "changes.md", markdown)
        atomic_write(staging / "changes.json",
                     json.dumps(report, indent=2, ensure_ascii=False) + "\n")
        atomic_write(staging / "index.html", html_report(report, markdown))
        replace_dir(staging, out)
    except BaseException:
        remove_tree(staging)
        raise
    return report


def check_given_folders(repositories: dict[str, str | None],
                        datasets: dict[str, str | None]) -> None:
    """Refuse a repository or dataset folder given by option (``{"--repository": ...}``)
    that is not there: a comparison that never reads it would otherwise accept it, and
    one that does would say less than it could, or later."""
    for option, value in repositories.items():
        if value is not None and not Path(value).is_dir():
            raise CompendiumError(f"{option} {value}: no such folder")
    for option, value in datasets.items():
        if value is not None:
            try:
                check_dataset_folder(Path(value))
            except CompendiumError as err:
                raise CompendiumError(f"{option} {err}") from None


def check_before_base(new_root: Path, out: Path, new_repository: Path, data: Path) -> None:
    """Refuse now what would stop the report only after the base revision is built.

    Building a base revision takes minutes; a NEW that is not a finished build, a
    dataset folder that is not there, or an output folder that cannot be written
    would each be found only then. A staging folder is made and removed at ``out``
    (as :func:`write_diff` will make one), so a path the system refuses is named now;
    folders made for it are removed again.
    """
    Build.read(new_root, new_repository)
    check_dataset_folder(data)
    made = [folder for folder in out.parents if not folder.exists()]  # nearest first
    try:
        check_replaceable(out, folder=True)
        remove_tree(staging_dir(out))
    except OSError as error:
        raise CompendiumError(f"{out}: the report cannot be written there "
                              f"({error.strerror or error})") from None
    finally:
        for folder in made:
            if folder.is_dir():
                folder.rmdir()


def default_output(new_root: Path) -> Path:
    """Where a diff of ``new_root`` against another build goes: beside its paper."""
    return Layout(new_root).diff
