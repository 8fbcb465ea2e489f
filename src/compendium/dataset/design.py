"""The study's declared design: its two perspectives and three themes.

The analysis compares two groups of interviewees (the *perspectives*) under
three themes (motivations, outcomes, the role of cluster meetings). Those are
the study's own terms; another study, or a real project exported from a
qualitative analysis package, names its groups and codes in its own words. A
dataset therefore declares its design in ``datapackage.json`` under
``compendium.design``:

.. code-block:: json

    {"perspectives": {
        "attribute": "respondent_type",
        "entrepreneur": {"label": "Owner-managers", "noun": "owner-managers",
                         "description": "...", "values": ["owner-manager"]},
        "intermediary": {"label": "Business support", "values": ["agency"]}},
     "themes": {
        "motivations": {"label": "Why people attend", "codes": ["WHY"]},
        "outcomes": {"label": "What came of it", "codes": ["OUT", "BEN"]},
        "cluster_role": {"label": "Sector meetings", "codes": []}}}

``codes`` are codebook ``code_id`` values; a branch (a theme or sub-theme
entry) brings every code beneath it. Every display, heading and generated
sentence takes its labels from here, and the analysis sees only the codes the
design places under a theme (:func:`analysis_tables`); codes outside every
theme are listed, with their codings, by :func:`unmapped_codes`.

This module holds the design's model and which codes each theme holds. The
block is checked by :mod:`compendium.dataset.design_check`; a design file in
TOML (``compendium import --design``, ``compendium design --apply``), which
says the same with the export's own *names*, is read and resolved into the
block by :mod:`compendium.dataset.design_files`.

This module imports only :mod:`compendium.dataset.datapackage`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import pandas as pd

from .datapackage import PERSPECTIVES

#: The study's three themes, in the order of the paper.
THEMES: tuple[str, str, str] = ("motivations", "outcomes", "cluster_role")

#: The name by which a design block declares the study this compendium reproduces
#: (Lockett, Jack & Larty 2010); the paper interprets codes as that study's only then.
STUDY = "lockett-jack-larty-2010"

#: Labels used where a dataset declares none: the study's own terms.
DEFAULT_PERSPECTIVES: dict[str, dict[str, str]] = {
    "entrepreneur": {"label": "Entrepreneurs", "noun": "entrepreneurs",
                     "description": "Owner-managers of firms who take part in the meetings."},
    "intermediary": {"label": "Intermediaries", "noun": "intermediaries",
                     "description": "Staff of agencies and Higher Education Institutions who "
                                    "organise or fund the meetings."},
}
DEFAULT_THEME_LABELS: dict[str, str] = {
    "motivations": "Motivations for organising or attending meetings",
    "outcomes": "Outcomes of the meetings",
    "cluster_role": "The role of sector-specific cluster meetings",
}

@dataclass(frozen=True)
class Perspective:
    """One side of the comparison: its canonical key and how displays name it."""

    key: str
    label: str
    noun: str
    description: str = ""
    values: tuple[str, ...] = ()
    singular: str = ""
    short_label: str = ""

    @property
    def short(self) -> str:
        """The label for a narrow header: the declared short label, else the label."""
        return self.short_label or self.label

    def count_noun(self, n: int) -> str:
        """The noun for ``n`` members: "1 entrepreneur", "8 entrepreneurs"."""
        return (self.singular or singular_of(self.noun)) if n == 1 else self.noun


@dataclass(frozen=True)
class Theme:
    """One of the study's themes: its label and the codebook entries it is made of."""

    key: str
    label: str
    codes: tuple[str, ...]
    declared: bool
    short_label: str = ""

    @property
    def short(self) -> str:
        """The label for a narrow header: the declared short label, else the label."""
        return self.short_label or self.label

    @property
    def empty(self) -> bool:
        """True when no codebook entry is placed under the theme."""
        return not self.codes


@dataclass(frozen=True)
class Design:
    """A dataset's design: perspectives and themes, with their display labels."""

    perspectives: dict[str, Perspective]
    themes: dict[str, Theme]
    attribute: str | None = None
    declared: bool = False
    #: The study whose design this is (e.g. :data:`STUDY`), "" when the dataset names none;
    #: the paper keeps the prose that interprets that study's codes only for its own design.
    study: str = ""

    def label(self, perspective: str) -> str:
        """Display label of a perspective, e.g. "Entrepreneurs" (a heading or legend)."""
        return self.perspectives[perspective].label

    def noun(self, perspective: str) -> str:
        """Plural noun of a perspective for sentences, e.g. "entrepreneurs"."""
        return self.perspectives[perspective].noun

    def count_noun(self, perspective: str, n: int) -> str:
        """The perspective's noun for ``n`` members ("1 entrepreneur", "8 entrepreneurs")."""
        return self.perspectives[perspective].count_noun(n)

    def short_label(self, perspective: str) -> str:
        """The perspective's label for a narrow header (its short label, else its label)."""
        return self.perspectives[perspective].short

    @property
    def short_labels(self) -> dict[str, str]:
        """Perspective key -> label for narrow headers, in the order of :data:`PERSPECTIVES`."""
        return {key: self.perspectives[key].short for key in PERSPECTIVES}

    @property
    def labels(self) -> dict[str, str]:
        """Perspective key -> display label, in the order of :data:`PERSPECTIVES`."""
        return {key: self.perspectives[key].label for key in PERSPECTIVES}

    @property
    def nouns(self) -> dict[str, str]:
        """Perspective key -> plural noun, in the order of :data:`PERSPECTIVES`."""
        return {key: self.perspectives[key].noun for key in PERSPECTIVES}

    def theme_label(self, theme: str) -> str:
        """Display label of a theme (its declared label, else the study's term)."""
        found = self.themes.get(theme)
        return found.label if found else DEFAULT_THEME_LABELS.get(theme, theme)

    def theme_short_label(self, theme: str) -> str:
        """A theme's label for a narrow header (its short label, else its label)."""
        found = self.themes.get(theme)
        return found.short if found else self.theme_label(theme)

    def shortened(self) -> list[tuple[str, str]]:
        """(short label, label) of every perspective and theme whose short label differs.

        Captions of displays with narrow headers say what these stand for.
        """
        pairs = [(p.short, p.label) for p in (self.perspectives[k] for k in PERSPECTIVES)]
        pairs += [(t.short, t.label) for t in (self.themes[k] for k in THEMES if k in self.themes)]
        return [(short, label) for short, label in pairs if short != label]


def default_noun(label: str) -> str:
    """The plural noun a sentence uses for a group labelled ``label``.

    A trailing parenthesis is dropped and the first letter lower-cased unless
    the first word is an acronym: "Intermediaries (agencies and HEIs)" gives
    "intermediaries", "SME owners" stays "SME owners".
    """
    text = re.sub(r"\s*\([^)]*\)\s*$", "", label).strip() or label.strip()
    first = text.split()[0] if text.split() else text
    if len(first) > 1 and first[:2].isupper():
        return text
    return text[:1].lower() + text[1:]


def singular_of(noun: str) -> str:
    """A plural noun made singular by the regular English rules: "intermediaries" -> "intermediary".

    Irregular or uncountable nouns are declared with ``singular`` in the design.
    """
    words = noun.split(" ")
    last = words[-1]
    if last.endswith("ies") and len(last) > 3:
        last = last[:-3] + "y"
    elif last.endswith("s") and not last.endswith("ss") and len(last) > 1:
        last = last[:-1]
    return " ".join([*words[:-1], last])


def default_design(codebook: pd.DataFrame | None = None) -> Design:
    """The design of a dataset that declares none.

    Perspectives take the study's labels. A theme is the codebook entry whose
    ``code_id`` is the theme's key (``motivations``...), when there is one,
    with that entry's name as its label; otherwise it is undeclared and empty.
    """
    perspectives = {key: Perspective(key, spec["label"], spec["noun"], spec["description"])
                    for key, spec in DEFAULT_PERSPECTIVES.items()}
    ids = set() if codebook is None else set(codebook["code_id"].dropna())
    names = ({} if codebook is None else
             dict(zip(codebook["code_id"], codebook["name"], strict=True)))
    themes = {}
    for key in THEMES:
        present = key in ids
        themes[key] = Theme(key, str(names.get(key) or DEFAULT_THEME_LABELS[key]) if present
                            else DEFAULT_THEME_LABELS[key], (key,) if present else (), False)
    return Design(perspectives, themes, None, False)


def design_from_descriptor(descriptor: dict[str, Any],
                           codebook: pd.DataFrame | None = None) -> Design:
    """The design declared in a descriptor, or :func:`default_design` when there is none.

    The block is assumed valid (checked by
    :func:`compendium.dataset.design_check.design_problems`); the themes it
    leaves out are undeclared and empty.
    """
    block = (descriptor.get("compendium") or {}).get("design")
    if not isinstance(block, dict):
        return default_design(codebook)
    base = default_design(None)
    perspectives = dict(base.perspectives)
    declared_p = block.get("perspectives") or {}
    for key in PERSPECTIVES:
        spec = declared_p.get(key)
        if isinstance(spec, dict):
            label = str(spec["label"])
            perspectives[key] = Perspective(
                key, label, str(spec.get("noun") or default_noun(label)),
                str(spec.get("description", "")), tuple(spec.get("values", ())),
                str(spec.get("singular", "")), str(spec.get("short_label", "")))
    themes = {}
    declared_t = block.get("themes") or {}
    for key in THEMES:
        spec = declared_t.get(key)
        if isinstance(spec, dict):
            themes[key] = Theme(key, str(spec["label"]), tuple(spec.get("codes", ())), True,
                                str(spec.get("short_label", "")))
        else:
            themes[key] = Theme(key, DEFAULT_THEME_LABELS[key], (), False)
    attribute = declared_p.get("attribute") if isinstance(declared_p, dict) else None
    return Design(perspectives, themes, attribute, True, str(block.get("study", "")))


# --------------------------------------------------------------------------
# Theme membership


def code_children(codebook: pd.DataFrame) -> dict[str, list[str]]:
    """code_id -> the ids nested directly under it (by parent_id, else by theme)."""
    children: dict[str, list[str]] = {}
    ids = set(codebook["code_id"])
    for code_id, theme, parent in zip(codebook["code_id"], codebook["theme"],
                                      codebook["parent_id"], strict=True):
        if isinstance(parent, str) and parent in ids:
            children.setdefault(parent, []).append(code_id)
        elif isinstance(theme, str) and theme in ids and theme != code_id:
            children.setdefault(theme, []).append(code_id)
    return children


def descendants(root: str, children: dict[str, list[str]]) -> list[str]:
    """``root`` and every entry nested beneath it, depth first in codebook order."""
    out, stack, seen = [], [root], set()
    while stack:
        node = stack.pop()
        if node in seen:
            continue
        seen.add(node)
        out.append(node)
        stack.extend(reversed(children.get(node, [])))
    return out


def theme_membership(codebook: pd.DataFrame, design: Design) -> dict[str, tuple[str, str]]:
    """Every codebook entry under a theme: code_id -> (theme key, the root that brought it).

    A root is an entry the design names; it brings itself and every entry
    nested beneath it. An entry reached from two themes keeps the first
    (:func:`compendium.dataset.design_check.design_problems` reports the clash).
    """
    children = code_children(codebook)
    member: dict[str, tuple[str, str]] = {}
    for key in THEMES:
        for root in design.themes[key].codes:
            for code_id in descendants(root, children):
                member.setdefault(code_id, (key, root))
    return member


def analysis_tables(codebook: pd.DataFrame, codings: pd.DataFrame,
                    design: Design) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The codebook and codings the analysis sees under ``design``.

    The codebook is rebuilt around the three themes: one theme-level entry per
    theme with codes, keyed by the theme (``motivations``...) and named by its
    label, then the entries the design places under it, in codebook order.
    A root that is a branch becomes the theme itself when it is the theme's
    only root (its children hang from the theme), and a sub-theme otherwise; a
    root that is a code sits directly under the theme. Codes outside every
    theme, and their codings, are left out; :func:`unmapped_codes` lists them.

    A dataset that declares no design keeps its codebook and codings as they
    are: its codes stay under the codebook's own themes, so displays across all
    codes still show them, and only the three theme sections depend on the
    study's theme ids (:func:`default_design`).

    Returns
    -------
    (codebook, codings)
        DataFrames with the columns of the canonical tables.
    """
    if not design.declared:
        return codebook, codings
    member = theme_membership(codebook, design)
    rows = []
    for key in THEMES:
        theme = design.themes[key]
        if theme.empty or not any(m[0] == key for m in member.values()):
            continue
        rows.append({"code_id": key, "theme": key, "level": "theme", "parent_id": None,
                     "name": theme.label, "definition": _theme_definition(codebook, theme)})
        sole_root = theme.codes[0] if len(theme.codes) == 1 else None
        for entry in codebook.itertuples(index=False):
            owner = member.get(entry.code_id)
            if owner is None or owner[0] != key:
                continue
            level = entry.level if isinstance(entry.level, str) else "code"
            if entry.code_id == sole_root and level != "code":
                continue  # the branch is the theme itself
            parent = entry.parent_id if isinstance(entry.parent_id, str) else None
            if entry.code_id == owner[1] or parent == sole_root or parent not in member:
                parent = key
            if level == "theme":
                level = "subtheme"
            rows.append({"code_id": entry.code_id, "theme": key, "level": level,
                         "parent_id": parent, "name": entry.name,
                         "definition": entry.definition})
    view = pd.DataFrame(rows, columns=["code_id", "theme", "level", "parent_id", "name",
                                       "definition"])
    codes = set(view.loc[view["level"] == "code", "code_id"])
    kept = codings[codings["code_id"].isin(codes)].reset_index(drop=True)
    return view.astype({"parent_id": object}), kept


def _theme_definition(codebook: pd.DataFrame, theme: Theme) -> str:
    if len(theme.codes) == 1:
        found = codebook.loc[codebook["code_id"] == theme.codes[0], "definition"]
        if len(found) and isinstance(found.iloc[0], str):
            return found.iloc[0]
    return f"The codes the dataset's design places under the theme '{theme.label}'."


def unmapped_codes(codebook: pd.DataFrame, codings: pd.DataFrame, design: Design) -> pd.DataFrame:
    """Code-level entries outside every theme of ``design``, with their use.

    Returns
    -------
    DataFrame in codebook order: code_id, name, n_codings (all coders).
    """
    member = theme_membership(codebook, design)
    level = codebook["level"].fillna("code") if "level" in codebook else "code"
    outside = codebook[(level == "code") & ~codebook["code_id"].isin(member)]
    counts = codings["code_id"].value_counts()
    out = outside[["code_id", "name"]].reset_index(drop=True)
    out["n_codings"] = out["code_id"].map(counts).fillna(0).astype(int)
    return out


def design_summary(codebook: pd.DataFrame, codings: pd.DataFrame, design: Design) -> pd.DataFrame:
    """One row per theme: theme, label, n_codes, n_codings (all coders), declared."""
    member = theme_membership(codebook, design)
    level = dict(zip(codebook["code_id"], codebook["level"].fillna("code"), strict=True))
    counts = codings["code_id"].value_counts()
    rows = []
    for key in THEMES:
        codes = [c for c, (k, _) in member.items() if k == key and level.get(c) == "code"]
        rows.append({"theme": key, "label": design.themes[key].label, "n_codes": len(codes),
                     "n_codings": int(sum(int(counts.get(c, 0)) for c in codes)),
                     "declared": design.themes[key].declared})
    return pd.DataFrame(rows)
