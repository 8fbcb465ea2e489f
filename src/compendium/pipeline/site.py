"""The reviewer's view: executed notebooks as HTML, and a small static site.

Every figure and table of the HTML paper links to the executed notebook that
made it, rendered to HTML under ``BUILD/paper/notebooks/<run>.html``. The site
under ``BUILD/site/`` gathers the paper, those notebooks, the dataset's
documentation and the provenance table behind one index page, with relative
links only, so it opens from disk or from any static host.
"""

from __future__ import annotations

import functools
import html
import json
import re
import shutil
from pathlib import Path
from typing import Any

from ..dataset.datapackage import is_synthetic, read_descriptor
from ..errors import CompendiumError
from ..fileio import atomic_write, replace_dir, sha256_file, sha256_text, staging_dir
from ..layout import Layout
from .pandoc import run_pandoc
from .rules import load_registry
from .runs import load_runs
from .webpage import page

#: Script tags that load code from the network. The notebooks use neither maths,
#: widgets nor diagrams, and a site that opens offline must not wait on them.
EXTERNAL_SCRIPT = re.compile(r'<script[^>]*\bsrc="https?://[^"]*"[^>]*>\s*</script>\s*')


@functools.cache
def notebook_exporter() -> Any:
    """The one nbconvert exporter of every page (an ``HTMLExporter`` with the lab template).

    Its templates are compiled when it renders its first page; a new exporter for
    each page compiled them again, a third of the pages' time. It keeps no state
    from one notebook to the next (tests/test_warm_kernels.py compares its pages with
    a fresh process's).
    """
    from nbconvert import HTMLExporter

    return HTMLExporter(template_name="lab")


def render_notebook(notebook: Path) -> str:
    """One executed notebook as a standalone HTML page (images embedded, no network)."""
    body, _ = notebook_exporter().from_filename(str(notebook))
    return EXTERNAL_SCRIPT.sub("", body)


def render_notebooks(build: Path, registry: Path) -> list[Path]:
    """Render every run's executed notebook beside the paper; return the pages written.

    The pages are written into a staging folder, with the ``.rendered`` stamp
    (make's target) last, and the folder replaces the old one in one rename; a
    run removed from the registry loses its page with it. The stamp records the
    sha256 of each executed notebook (with this module and nbconvert's
    version), so a page whose notebook did not change is carried over instead
    of rendered again (one notebook edit, one page).
    """
    from importlib.metadata import version

    paths = Layout(build)
    paths.paper.mkdir(parents=True, exist_ok=True)
    previous = _rendered_hashes(paths.notebook_pages_stamp)
    # A page is the executed notebook put through this module and nbconvert.
    renderer = f"{sha256_file(Path(__file__))} nbconvert {version('nbconvert')}"
    staging = staging_dir(paths.notebook_pages)
    lines = []
    for run in load_registry(registry):
        source = paths.executed_notebook(run["id"])
        if not source.exists():
            raise CompendiumError(f"{source}: missing; run `make paper` to execute run "
                                  f"'{run['id']}'")
        name = f"{run['id']}.html"
        digest = sha256_text(f"{sha256_file(source)} {renderer}")
        old = paths.notebook_pages / name
        if previous.get(name) == digest and old.is_file():
            shutil.copy2(old, staging / name)
        else:
            atomic_write(staging / name, render_notebook(source))
        lines.append(f"{name} {digest}\n")
    atomic_write(staging / paths.notebook_pages_stamp.name, "".join(lines))
    replace_dir(staging, paths.notebook_pages)
    return [paths.notebook_pages / line.split()[0] for line in lines]


def _rendered_hashes(stamp: Path) -> dict[str, str]:
    """Page name -> sha256 of the executed notebook it was rendered from, as last recorded."""
    try:
        pairs = [line.split() for line in stamp.read_text(encoding="utf-8").splitlines()]
    except (FileNotFoundError, UnicodeDecodeError):
        return {}
    return {pair[0]: pair[1] for pair in pairs if len(pair) == 2}


def provenance_page(record: dict[str, Any]) -> str:
    """The provenance record as a table a reviewer can read."""
    rows = []
    for display in record["displays"]:
        params = ", ".join(f"{k} = {v}" for k, v in display["parameters"].items()) or "defaults"
        files = ", ".join(Path(f).name for f in display["files"])
        rows.append(
            f"<tr><td><code>{html.escape(display['id'])}</code></td>"
            f"<td>{html.escape(display['kind'])}</td>"
            f"<td><a href=\"notebooks/{html.escape(display['run'])}.html\">"
            f"{html.escape(Path(display['notebook']).name)}</a></td>"
            f"<td>{html.escape(params)}</td><td>{html.escape(files)}</td>"
            f"<td><code>{display['inputs']['notebook_sha256'][:12]}</code></td></tr>")
    values = []
    for value in record["values"]:
        where = (f"<a href=\"notebooks/{html.escape(value['run'])}.html\">"
                 f"{html.escape(Path(value['notebook']).name)}</a>"
                 if "notebook" in value else "the build")
        values.append(f"<tr><td><code>{html.escape(value['id'])}</code></td>"
                      f"<td>{html.escape(str(value['text']))}</td><td>{where}</td></tr>")
    dataset = record.get("dataset") or {}
    kind = "synthetic" if dataset.get("synthetic") else "real"
    body = f"""<p><a href="index.html">Home</a></p>
<h1>Provenance</h1>
<p>Commit <code>{html.escape(record['commit'])}</code>; dataset
<code>{html.escape(str(dataset.get('name')))}</code> ({kind}), sha256
<code>{html.escape(str(dataset.get('hash')))}</code>.</p>
<h2>Figures and tables</h2>
<table><thead><tr><th>Display</th><th>Kind</th><th>Notebook</th><th>Parameters</th>
<th>Files</th><th>Notebook sha256</th></tr></thead>
<tbody>
{chr(10).join(rows)}
</tbody></table>
<h2>Values printed in the paper</h2>
<table><thead><tr><th>Key</th><th>Text</th><th>Made by</th></tr></thead>
<tbody>
{chr(10).join(values)}
</tbody></table>
"""
    return page("Provenance", body)


def data_page(data: Path) -> str:
    """The dataset's documentation: the project's format description and this dataset's files."""
    descriptor = read_descriptor(data)
    readme = Path(__file__).resolve().parents[3] / "data" / "README.md"
    doc = ""
    if readme.exists():
        try:
            # The page has no highlighting styles, so highlighting would only add
            # unstyled spans, and it costs pandoc half a CPU-second to load its syntaxes.
            doc = run_pandoc([str(readme), "--from", "gfm", "--to", "html5",
                              "--syntax-highlighting=none"], cwd=readme.parent).decode("utf-8")
        except CompendiumError:
            doc = ""
    rows = "\n".join(
        f"<tr><td><code>{html.escape(r['path'])}</code></td>"
        f"<td>{r.get('bytes', '')}</td>"
        f"<td><code>{html.escape(str(r.get('hash', '')).removeprefix('sha256:')[:16])}…"
        "</code></td></tr>"
        for r in descriptor.get("resources", []))
    synthetic = is_synthetic(descriptor)
    notice = ('<p class="notice"><strong>Synthetic data.</strong> '
              f'{html.escape(descriptor.get("description", ""))}</p>' if synthetic else
              f'<p>{html.escape(descriptor.get("description", ""))}</p>')
    body = f"""<p><a href="index.html">Home</a></p>
<h1>The dataset: {html.escape(descriptor.get('title', descriptor.get('name', '')))}</h1>
{notice}
<h2>Files</h2>
<table><thead><tr><th>File</th><th>Bytes</th><th>sha256</th></tr></thead>
<tbody>
{rows}
</tbody></table>
<h2>The dataset format</h2>
{doc}
"""
    return page("The dataset", body)


def write_data_page(build: Path, data: Path) -> Path:
    """Write the dataset's page for the site (a step of its own, so a paper edit skips it)."""
    return atomic_write(Layout(build).data_page, data_page(data))


def index_page(record: dict[str, Any], notebooks: list[dict[str, Any]],
               diff: bool = False) -> str:
    """The site's home page: the paper, the data, the provenance and every executed notebook.

    With ``diff``, it also links the page of what changed since another build (``diff/``).
    """
    dataset = record.get("dataset") or {}
    items = "\n".join(
        f"<li><a href=\"notebooks/{html.escape(run['id'])}.html\">"
        f"{html.escape(run['notebook'])}</a>"
        + (f" ({html.escape(', '.join(f'{k} = {v}' for k, v in run['parameters'].items()))})"
           if run["parameters"] else "") + "</li>"
        for run in notebooks)
    notice = ('<p class="notice"><strong>Synthetic data.</strong> The displays illustrate the '
              "method on data generated to the study's published design; they are not the "
              "original study's results.</p>" if dataset.get("synthetic") else "")
    # The methods class (notebook 8): the paper prints its pooled table; the notebook holds
    # the rest (each student against the coder, span mode), so the site links it directly.
    class_item = "".join(
        f'<li><a href="notebooks/{html.escape(run["id"])}.html">The methods class: a class\'s '
        "agreement in full (Fleiss' kappa, Krippendorff's alpha, each student, span mode)"
        "</a></li>\n"
        for run in notebooks if Path(run["notebook"]).name == "08-class-agreement.ipynb")
    diff_item = ('<li><a href="diff/index.html">What changed since the base revision, and why '
                 "(old and new figures side by side, tracked changes)</a></li>\n" if diff else "")
    commit = html.escape(record["commit"])
    body = f"""<h1>Motivations and outcomes of engaging in regional clusters in the ICT sector</h1>
<p>A reproducible research compendium. Built from commit <code>{commit}</code>
on dataset <code>{html.escape(str(dataset.get('name')))}</code>
(sha256 <code>{html.escape(str(dataset.get('hash', ''))[:12])}…</code>).</p>
{notice}
<ul>
<li><a href="paper.html">The paper</a></li>
<li><a href="data.html">The dataset and its format</a></li>
<li><a href="provenance.html">Provenance of every figure, table and value</a></li>
<li><a href="crate/ro-crate-preview.html">The Workflow Run RO-Crate of this build</a>
(<a href="crate/ro-crate-metadata.json">ro-crate-metadata.json</a>)</li>
{class_item}{diff_item}</ul>
<h2>Executed notebooks</h2>
<ul>
{items}
</ul>
"""
    return page("Research compendium", body)


def build_site(build: Path, registry: Path, data: Path) -> Path:
    """Gather the paper, notebooks, data documentation and provenance under BUILD/site.

    The site is written into a staging folder, its ``index.html`` (make's
    target) last, and replaces the old site in one rename.
    """
    paths = Layout(build)
    staging = staging_dir(paths.site)
    (staging / "notebooks").mkdir()
    record = json.loads(paths.provenance.read_text(encoding="utf-8"))
    shutil.copyfile(paths.rendered_paper("html"), staging / "paper.html")
    for notebook_page in sorted(paths.notebook_pages.glob("*.html")):
        shutil.copyfile(notebook_page, staging / "notebooks" / notebook_page.name)
    (staging / "provenance.html").write_text(provenance_page(record), encoding="utf-8")
    shutil.copyfile(paths.data_page, staging / "data.html")
    if paths.crate_metadata.exists():  # the crate goes with the site, so its link works
        shutil.copytree(paths.crate, staging / "crate")
    runs = [m["run"] for m in load_runs(build, registry)]
    # `make diff` writes BUILD/diff and then rebuilds the site, which carries the diff along.
    diff = (paths.diff / "index.html").exists()
    if diff:
        shutil.copytree(paths.diff, staging / "diff")
    (staging / paths.site_index.name).write_text(index_page(record, runs, diff),
                                                 encoding="utf-8")
    return replace_dir(staging, paths.site)
