"""The manuscript is format-neutral: prose, citations and ``{{...}}`` placeholders only.

Everything about one output format's look lives in ``src/compendium/build_assets/``:
``paper.typ`` for the PDF (the pandoc filter marks where its parts go), ``paper.css`` for
HTML.
"""

from __future__ import annotations

import json
import subprocess

import pytest

from compendium.pipeline.pandoc import pandoc_path

from .conftest import ROOT

ASSETS = ROOT / "src" / "compendium" / "build_assets"


def _pandoc(text: str, *args: str, reader: str = "markdown") -> str:
    result = subprocess.run([pandoc_path(), "--from", reader, *args],
                            input=text, capture_output=True, text=True, check=True)
    return result.stdout


def raw_elements(markdown: str) -> list[str]:
    """Raw output-format code in ``markdown``: raw blocks and inlines (Typst, HTML, LaTeX...)."""
    found: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if node.get("t") in ("RawBlock", "RawInline"):
                fmt, code = node["c"]
                found.append(f"{node['t']} ({fmt}): {code.strip()[:60]}")
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    # Without native divs and spans, HTML <div> and <span> stay raw HTML too.
    walk(json.loads(_pandoc(markdown, "--to", "json",
                            reader="markdown-native_divs-native_spans")))
    return found


def test_the_manuscript_holds_no_raw_typst_or_html():
    found = raw_elements((ROOT / "paper" / "paper.md").read_text(encoding="utf-8"))
    assert not found, "format-specific code in paper/paper.md (move it to build_assets/): " + \
        "; ".join(found)


@pytest.mark.parametrize("text", [
    "```{=typst}\n#pagebreak()\n```\n",
    "Text `#v(1em)`{=typst} here.\n",
    "<div class=\"box\">\n\nInside.\n\n</div>\n",
    "A <b>bold</b> word.\n",
    "A <span style=\"color: red\">red</span> word.\n",
    "<!-- a comment -->\n",
])
def test_raw_code_is_found(text: str):
    assert raw_elements(text)


def test_code_spans_and_placeholders_are_not_raw_code():
    assert raw_elements("Writes to `build/<dataset>/`; {{dataset.name}} and @fig-x.\n") == []


def _typst(markdown: str, synthetic: bool = True) -> str:
    return _pandoc(markdown, "--to", "typst", "--lua-filter", str(ASSETS / "crossref.lua"),
                   "--metadata", f"synthetic={'true' if synthetic else 'false'}")


SKELETON = """:::: if-synthetic
::: synthetic-notice
**Notice.** Synthetic.
:::
::::

# Introduction

Text.

# References {.unnumbered}

# Appendices {#appendices .unnumbered}

## Appendix A
"""


def test_the_filter_marks_where_the_pdfs_parts_go():
    typ = _typst(SKELETON)
    notice_box = typ.index("#notice[")
    notice = typ.index("Notice.")
    outline = typ.index("#contents()")
    introduction = typ.index("Introduction")
    appendix_pages = typ.index("#show: appendices")
    appendices = typ.index("Appendices")
    assert notice_box < notice < outline < introduction < appendix_pages < appendices
    assert typ.count("#contents()") == 1 and typ.count("#show: appendices") == 1


def test_a_real_dataset_gets_no_notice_but_the_same_outline():
    typ = _typst(SKELETON, synthetic=False)
    assert "#notice[" not in typ and "Notice." not in typ
    assert typ.index("#contents()") < typ.index("Introduction")


def test_other_formats_get_no_typst():
    html = _pandoc(SKELETON + FIGURES, "--to", "html5", "--lua-filter",
                   str(ASSETS / "crossref.lua"), "--metadata", "synthetic=true")
    assert "#notice" not in html and "#contents" not in html and "#show" not in html
    assert 'class="synthetic-notice"' in html
    # a figure's classes are the PDF's only: the HTML figure is written as without them
    assert "float" not in html and "classed" not in html and 'id="fig-tall"' in html


FIGURES = """
![A tall figure.](tall.svg){#fig-tall .float}

![A small figure.](small.svg){#fig-small}
"""


def test_the_pdf_look_is_one_typst_file_and_floats_figures_by_class(tmp_path):
    # Typst itself is the judge: compile the filter's Typst with paper.typ and
    # ask it for each figure's placement and the page's size.
    import typst

    for name in ("tall.svg", "small.svg"):
        (tmp_path / name).write_text('<svg xmlns="http://www.w3.org/2000/svg" width="10" '
                                     'height="10"/>', encoding="utf-8")
    source = tmp_path / "paper.typ"
    source.write_text(_pandoc(SKELETON + FIGURES, "--to", "typst", "--standalone",
                              "--lua-filter", str(ASSETS / "crossref.lua"),
                              "--include-in-header", str(ASSETS / "paper.typ"),
                              "--metadata", "synthetic=true", "--metadata", "title=T"),
                      encoding="utf-8")
    figures = json.loads(typst.query(str(source), "figure", root=str(tmp_path)))
    placement = {f["label"]: f.get("placement") for f in figures if f.get("label")}
    assert placement == {"<fig-tall>": "auto", "<fig-small>": None}
    headings = json.loads(typst.query(str(source), "heading", root=str(tmp_path)))
    numbered = {h["body"]["text"]: h.get("numbering") for h in headings
                if h.get("body", {}).get("text")}
    assert numbered["Introduction"] == "1.1" and numbered["Appendix A"] is None
    assert "#classed(\"float\")[" in source.read_text(encoding="utf-8")
    # the paper's data-structure figure floats by its class: no style picks a figure by id
    assert "{{figure fig-data-structure .float}}" in (
        ROOT / "paper" / "paper.md").read_text(encoding="utf-8")
    assert "<fig-" not in (ASSETS / "paper.typ").read_text(encoding="utf-8")
