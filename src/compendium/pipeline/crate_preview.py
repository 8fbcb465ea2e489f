"""``ro-crate-preview.html``: the crate's metadata as a page a person reads.

RO-Crate 1.1 (section "RO-Crate Website") asks that the preview, when there is
one, MUST be valid HTML 5, MUST be useful to the crate's users, and MUST carry a
copy of the crate's JSON-LD in a ``script`` element of its ``head``; and that it
SHOULD show the root data entity as static HTML, link each entity it names to
that entity's description and each external URI to itself, link each property to
its definition, and give a "Cite as" text. This page does all of that from the
metadata alone: every entity of the graph with every property, grouped as a
reader looks for them (the crate, its runs, its workflows, its files, their
parameters, the rest).

The page is a function of the metadata (and of whether the data are synthetic),
so two builds whose metadata are the same have the same preview byte for byte.

References
----------
RO-Crate 1.1, "RO-Crate Structure: RO-Crate Website",
https://w3id.org/ro/crate/1.1/structure#ro-crate-website-ro-crate-previewhtml-and-ro-crate-preview_files
"""

from __future__ import annotations

import html
import json
import re
from typing import Any
from urllib.parse import quote

from .webpage import page

#: The sections of the page, in order: a title and the types whose entities it holds
#: (an entity goes to the first section one of its types names; the rest to the last).
SECTIONS = (
    ("runs", "Runs", ("CreateAction",)),
    ("workflows", "Workflows and notebooks", ("ComputationalWorkflow",)),
    ("files", "Data and files", ("File", "Dataset")),
    ("parameters", "Parameters and their values", ("FormalParameter", "PropertyValue")),
    ("context", "People, licences, languages and profiles", ()),
)
#: The preview's own additions to the site's style.
STYLE = """\
dl { display: grid; grid-template-columns: max-content auto; gap: 0.1em 1em; margin: 0.5em 0; }
dt { font-family: Arial, sans-serif; font-size: 0.9em; }
dd { margin: 0; overflow-wrap: anywhere; }
dd ul { margin: 0; padding-left: 1.2em; }
section.entity { border-left: 3px solid #999; padding: 0.1em 0 0.1em 0.8em; margin: 1em 0; }
section.entity h3 { margin: 0.2em 0; font-family: Arial, sans-serif; font-size: 1em; }
.cite { border: 1px solid #444; padding: 0.5em 1em; }
"""
#: RO-Crate 1.1's context, which this crate names.
CONTEXT_1_1 = "https://w3id.org/ro/crate/1.1/context"
#: The URI the 1.1 context gives each term whose URI the 1.3 context (the one ro-crate-py
#: ships) changed or dropped; tests/test_crate.py checks it against the 1.1 context file.
TERMS_1_1 = {
    "AuthenticContent": "http://schema.org/AuthenticContent",
    "MissingContext": "http://schema.org/MissingContext",
    "constrainingProperty": "http://schema.org/constrainingProperty",
    "measuredValue": "http://schema.org/measuredValue",
    "observedNode": "http://schema.org/observedNode",
    "cite-as": "https://www.w3.org/ns/iana/link-relations/relation#cite-as",
    "RepositoryObject": "http://pcdm.org/models#object",
    "ComputationalWorkflow": "https://bioschemas.org/ComputationalWorkflow",
    "input": "https://bioschemas.org/ComputationalWorkflow#input",
    "output": "https://bioschemas.org/ComputationalWorkflow#output",
    "FormalParameter": "https://bioschemas.org/FormalParameter",
}
_ABSOLUTE = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_WEB = re.compile(r"^https?://")


def _link_to_itself(url: str) -> str:
    return f'<a href="{html.escape(url)}">{html.escape(url)}</a>'


def _types(entity: dict[str, Any]) -> list[str]:
    kind = entity.get("@type", [])
    return [kind] if isinstance(kind, str) else list(kind)


def _anchors(graph: list[dict[str, Any]]) -> dict[str, str]:
    """A unique, non-empty HTML id for each entity, readable from its @id."""
    anchors: dict[str, str] = {}
    taken: set[str] = set()
    for entity in graph:
        stem = "entity-" + (re.sub(r"[^A-Za-z0-9_.-]+", "-", entity["@id"]).strip("-.")
                            or "root")
        anchor, n = stem, 2
        while anchor in taken:
            anchor, n = f"{stem}-{n}", n + 1
        taken.add(anchor)
        anchors[entity["@id"]] = anchor
    return anchors


def _term_uris(metadata: dict[str, Any]) -> dict[str, str]:
    """Each term's URI in the context the metadata names: its own extra terms first, then
    RO-Crate's (1.3's as ro-crate-py ships it, with 1.1's URIs where the crate names 1.1)."""
    from rocrate.vocabs import RO_CRATE

    terms = {k: v for k, v in RO_CRATE["@context"].items()
             if isinstance(v, str) and not k.startswith("@")}
    context = metadata.get("@context", [])
    parts = context if isinstance(context, list) else [context]
    if CONTEXT_1_1 in parts:
        terms.update(TERMS_1_1)
    for part in parts:
        if isinstance(part, dict):
            terms.update({k: v for k, v in part.items() if isinstance(v, str)})
    return terms


class _Writer:
    """Renders entities and values, knowing every entity's anchor and name."""

    def __init__(self, graph: list[dict[str, Any]], terms: dict[str, str]):
        self.by_id = {entity["@id"]: entity for entity in graph}
        self.anchors = _anchors(graph)
        self.terms = terms

    def label(self, identifier: str) -> str:
        """The entity's name (a value's with its value); its @id when it has none, or when
        the name is only the last part of its path (a crate holds many a ``notebook.ipynb``)."""
        entity = self.by_id.get(identifier, {})
        name = entity.get("name")
        if "PropertyValue" in _types(entity) and "value" in entity and name not in (None, ""):
            return f"{name} = {entity['value']}"
        if not isinstance(name, (str, int, float)) or not str(name) \
                or identifier.rstrip("/").rsplit("/", 1)[-1] == str(name) != identifier:
            return identifier
        return str(name)

    def reference(self, identifier: str) -> str:
        e = html.escape
        if identifier in self.by_id:
            return (f'<a href="#{self.anchors[identifier]}">{e(self.label(identifier))}</a>')
        if _WEB.match(identifier):
            return _link_to_itself(identifier)
        return f"<code>{e(identifier)}</code>"

    def value(self, value: Any) -> str:
        e = html.escape
        if isinstance(value, list):
            if len(value) == 1:
                return self.value(value[0])
            return "<ul>" + "".join(f"<li>{self.value(v)}</li>" for v in value) + "</ul>"
        if isinstance(value, dict):
            if set(value) == {"@id"}:
                return self.reference(str(value["@id"]))
            return f"<code>{e(json.dumps(value, ensure_ascii=False, sort_keys=True))}</code>"
        if isinstance(value, str) and _WEB.match(value):
            return _link_to_itself(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return e(str(value))

    def key(self, key: str) -> str:
        uri = self.terms.get(key)
        if uri and _WEB.match(uri):
            return f'<a href="{html.escape(uri)}">{html.escape(key)}</a>'
        return html.escape(key)

    def properties(self, entity: dict[str, Any]) -> str:
        rows = [f"<dt>{self.key(k)}</dt><dd>{self.value(v)}</dd>"
                for k, v in entity.items() if k not in ("@id", "@type")]
        return "<dl>" + "".join(rows) + "</dl>" if rows else ""

    def entity(self, entity: dict[str, Any]) -> str:
        """One entity: its name, its @id (linking the file it names), its types and properties."""
        e = html.escape
        identifier = entity["@id"]
        if _WEB.match(identifier):
            where = _link_to_itself(identifier)
        elif not identifier.startswith("#") and not _ABSOLUTE.match(identifier) \
                and ("File" in _types(entity) or "Dataset" in _types(entity)):
            where = f'<a href="{e(quote(identifier))}"><code>{e(identifier)}</code></a>'
        else:
            where = f"<code>{e(identifier)}</code>"
        types = ", ".join(self.key(t) for t in _types(entity))
        return (f'<section class="entity" id="{self.anchors[identifier]}">'
                f"<h3>{e(self.label(identifier))}</h3>"
                f"<p>{where} · {types}</p>{self.properties(entity)}</section>\n")


def _names(writer: _Writer, refs: Any) -> list[str]:
    refs = refs if isinstance(refs, list) else [refs] if refs else []
    return [writer.label(r["@id"]) if isinstance(r, dict) and "@id" in r else str(r)
            for r in refs]


def _cite_as(writer: _Writer, root: dict[str, Any]) -> str:
    """A data citation of the crate (FORCE11 style): authors (year). Title. Version. Kind."""
    authors = _names(writer, root.get("author") or root.get("creator"))
    year = str(root.get("datePublished", ""))[:4]
    if not (authors and year and root.get("name")):
        return ""  # not enough metadata to cite it
    who = authors[0] if len(authors) == 1 else ", ".join(authors[:-1]) + " and " + authors[-1]
    version = f" Version {root['version']}." if root.get("version") else ""
    text = (f"{who} ({year}). {str(root['name']).rstrip('.')}.{version} "
            "Research compendium (Workflow Run RO-Crate).")
    return (f'<p class="cite"><strong>Cite as:</strong> {html.escape(text)}</p>\n')


def _json_ld(metadata: dict[str, Any]) -> str:
    """The metadata as JSON inside a script element: ``<``, ``>`` and ``&`` written as
    JSON escapes, so no text in it can end the element, and the JSON reads the same."""
    text = json.dumps(metadata, indent=2, ensure_ascii=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        text = text.replace(char, escape)  # outside strings JSON has none of the three
    return f'<script type="application/ld+json">\n{text}\n</script>\n'


def preview_html(metadata: dict[str, Any], *, synthetic: bool) -> str:
    """The crate's preview page from its metadata (the JSON of ``ro-crate-metadata.json``).

    Parameters
    ----------
    metadata : dict
        The crate's JSON-LD, as written to ``ro-crate-metadata.json``.
    synthetic : bool
        Whether the dataset is synthetic: the page then says so at its top, as every
        page showing the study's results does.

    Returns
    -------
    str
        The whole page.
    """
    graph = metadata["@graph"]
    writer = _Writer(graph, _term_uris(metadata))
    descriptor: dict[str, Any] = next(
        (x for x in graph if x["@id"] == "ro-crate-metadata.json"), {})
    root_id = (descriptor.get("about") or {}).get("@id", "./")
    root = writer.by_id.get(root_id, {"@id": root_id})
    e = html.escape

    grouped: dict[str, list[dict[str, Any]]] = {key: [] for key, _, _ in SECTIONS}
    for entity in graph:
        if entity["@id"] == root_id:
            continue
        types = _types(entity)
        key = next((k for k, _, wanted in SECTIONS if set(wanted) & set(types)), "context")
        grouped[key].append(entity)

    notice = ('<p class="notice"><strong>Synthetic data.</strong> This crate records a build '
              "from data generated to the study's published design; its results are not the "
              "original study's.</p>\n" if synthetic else "")
    contents = "".join(f'<li><a href="#{key}">{e(title)}</a> ({len(grouped[key])})</li>'
                       for key, title, _ in SECTIONS if grouped[key])
    sections = "".join(
        f'<h2 id="{key}">{e(title)}</h2>\n' + "".join(writer.entity(x) for x in grouped[key])
        for key, title, _ in SECTIONS if grouped[key])
    title = writer.label(root_id)
    body = (f"<h1>{e(title)}</h1>\n{notice}"
            f"<p>{e(str(root.get('description', '')))}</p>\n"
            f"{_cite_as(writer, root)}"
            '<p>This page shows every entity of the crate\'s metadata, '
            '<a href="ro-crate-metadata.json">ro-crate-metadata.json</a> '
            "(RO-Crate JSON-LD), with every property; each property name links to its "
            "definition.</p>\n"
            f'<h2>Contents</h2>\n<ul><li><a href="#{writer.anchors[root_id]}">The crate</a>'
            f"</li>{contents}</ul>\n"
            f'<h2 id="{writer.anchors[root_id]}">The crate</h2>\n'
            f"{writer.properties(root)}\n{sections}")
    return page(title, body, style=STYLE, head=_json_ld(metadata))
