"""What the steps of several notebooks share: checks of their parameters and the design's labels.

Each notebook's own decisions live in its steps module (``sample_and_codebook``,
``theme_matrix``, ...); a helper moves here only when more than one of them
needs it, so that no steps module reaches into a sibling.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from ..dataset import Dataset
from ..dataset.design import THEMES, Design

#: What a ``*_values`` step returns: ``{key: (value, text)}`` for
#: :meth:`compendium.steps.artefacts.RunOutputs.record`, the paper's ``{{key}}`` placeholders.
Values = dict[str, tuple[Any, str | None]]


def check_perspective(perspective: str | None) -> None:
    """Refuse a perspective parameter other than ``None``, 'entrepreneur' or 'intermediary'."""
    if perspective not in (None, "entrepreneur", "intermediary"):
        raise ValueError(f"unknown perspective {perspective!r}; use None, 'entrepreneur' or "
                         "'intermediary'")


def check_theme(theme: str) -> None:
    """Refuse a theme parameter that is not one of the study's themes."""
    if theme not in THEMES:
        raise ValueError(f"unknown theme {theme!r}; the study's themes are {list(THEMES)}")


def perspectives_only(ds: Dataset) -> Design:
    """The design with its themes' short labels dropped: for displays that show no theme."""
    themes = {key: replace(theme, short_label="") for key, theme in ds.design.themes.items()}
    return replace(ds.design, themes=themes)
