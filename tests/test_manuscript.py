"""The manuscript is format-neutral: prose, citations and ``{{...}}`` placeholders only.

Everything about one output format's look lives in ``src/compendium/build_assets/``:
the pandoc filter and the Typst header for the PDF, ``paper.css`` for HTML.
"""

from __future__ import annotations

import json
import subprocess

import pypandoc
import pytest

from .conftest import ROOT

ASSETS = ROOT / "src" / "compendium" / "build_assets"


def _pandoc(text: str, *args: str, reader: str = "markdown") -> str:
    result = subprocess.run([pypandoc.get_pandoc_path(), "--from", reader, *args],
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


def test_the_filter_gives_the_pdf_its_look():
    typ = _typst(SKELETON)
    box = typ.index('#block(width: 100%, inset: 9pt, fill: rgb("#fff7e6")')
    notice = typ.index("Notice.")
    outline = typ.index("#outline(depth: 2)")
    introduction = typ.index("Introduction")
    pagebreak = typ.index("#pagebreak()\n#set heading(numbering: none)")
    appendices = typ.index("Appendices")
    assert box < notice < outline < introduction < pagebreak < appendices
    assert typ.count("#outline(") == 1 and typ.count("#pagebreak()") == 1


def test_a_real_dataset_gets_no_notice_but_the_same_outline():
    typ = _typst(SKELETON, synthetic=False)
    assert "#block(" not in typ and "Notice." not in typ
    assert typ.index("#outline(depth: 2)") < typ.index("Introduction")


def test_other_formats_get_no_typst():
    html = _pandoc(SKELETON, "--to", "html5", "--lua-filter", str(ASSETS / "crossref.lua"),
                   "--metadata", "synthetic=true")
    assert "#block" not in html and "#outline" not in html and "#pagebreak" not in html
    assert 'class="synthetic-notice"' in html


def test_the_typst_header_places_the_data_structure_figure():
    header = (ASSETS / "typst-header.typ").read_text(encoding="utf-8")
    assert "#show <fig-data-structure>: set figure(placement: auto)" in header
    assert "fig-data-structure" in (ROOT / "paper" / "paper.md").read_text(encoding="utf-8")
