"""The HTML the build writes itself is valid HTML 5, as the W3C's Nu Html Checker judges it.

The pages: the site's index, dataset and provenance pages, the crate's preview (also
with hostile text in the metadata), and ``compendium diff``'s page with a value, a table
cell and a figure changed (hostile text in the first two). Pandoc's paper is held to
no error. The notebook pages are nbconvert's and JupyterLab's (their CSS, and pandas'
``<style scoped>`` in each table's output) and are not ours to hold.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from compendium import layout
from compendium.pipeline.crate_preview import preview_html
from compendium.pipeline.diff import write_diff

from .conftest import ROOT, copy_build
from .html_checker import HOSTILE, hostile_metadata, shown, vnu_messages


def _changed_copy(built: Path, target: Path) -> Path:
    """A copy of ``built`` with one value, one table cell (both hostile text) and one
    figure changed, as a later build with those changes would hold them."""
    changed = copy_build(built, target)
    run = changed / "runs" / "comparison"
    provenance = changed / "paper" / "provenance.json"
    record = json.loads(provenance.read_text(encoding="utf-8"))
    record["values"][0]["text"] = HOSTILE
    provenance.write_text(json.dumps(record), encoding="utf-8")
    with open(run / "tbl-comparison.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][-1] = HOSTILE
    with open(run / "tbl-comparison.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    svg = run / "fig-comparison.svg"
    svg.write_text(svg.read_text(encoding="utf-8").replace("</svg>", "<!-- later --></svg>"),
                   encoding="utf-8")
    return changed


def test_the_pages_the_build_writes_are_valid_html5(built: Path, tmp_path: Path):
    """The checker finds nothing at all on our pages, and no error in pandoc's paper; it
    faults the preview ro-crate-py writes for this crate, which the build replaces."""
    from rocrate.model.preview import Preview
    from rocrate.rocrate import ROCrate

    paths = layout.Layout(built)
    crate = built / layout.CRATE
    hostile = tmp_path / "hostile-preview.html"
    hostile.write_text(preview_html(hostile_metadata(crate / layout.CRATE_METADATA),
                                    synthetic=True), encoding="utf-8")
    diff = tmp_path / "diff"
    write_diff(built, _changed_copy(built, tmp_path / "changed"), diff,
               old_repository=ROOT, new_repository=ROOT)
    report = json.loads((diff / "changes.json").read_text(encoding="utf-8"))
    assert {c["kind"] for c in report["changes"]} >= {"value", "table", "figure"}
    shown_as_text = "R&amp;D &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt; &lt;b&gt;"
    assert (diff / "index.html").read_text(encoding="utf-8").count(shown_as_text) == 2
    ours = [paths.site / "index.html", paths.site / "data.html",
            paths.site / "provenance.html", crate / layout.CRATE_PREVIEW, hostile,
            diff / "index.html"]
    library = tmp_path / "ro-crate-py-preview.html"
    library.write_text(Preview(ROCrate(str(crate))).generate_html(), encoding="utf-8")
    paper = paths.rendered_paper("html")

    found = vnu_messages(*ours, paper, library)
    for page in ours:
        assert found[page.resolve()] == [], f"{page}:\n{shown(found[page.resolve()])}"
    errors = [m for m in found[paper.resolve()] if m["type"] == "error"]
    assert errors == [], shown(errors)
    # the check can fail: ro-crate-py's page for this crate is not valid HTML 5
    faults = {m["message"] for m in found[library.resolve()] if m["type"] == "error"}
    assert "Duplicate ID “”." in faults
    assert any("not allowed" in m for m in faults)
