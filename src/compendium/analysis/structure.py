"""The data structure: themes, sub-themes and codes (Gioia, Corley & Hamilton 2013).

Gioia et al. present qualitative findings as a data structure that runs from
first-order concepts (our codes) through second-order themes (our sub-themes)
to aggregate dimensions (our themes). This module flattens the codebook
hierarchy into that display.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import code_entries, positions, select_codings

NO_SUBTHEME = "(no sub-theme)"


def data_structure(
    codebook: pd.DataFrame, codings: pd.DataFrame | None = None, coder: str | None = None
) -> pd.DataFrame:
    """Flatten the codebook into one row per code with its theme and sub-theme.

    The sub-theme of a code is its parent entry (its nearest ancestor below
    the theme, via ``parent_id``). If the parent is the theme itself, or
    parent_id is missing, the code has no sub-theme: subtheme_id is None and
    subtheme_name is "(no sub-theme)". A theme's name is the name of the
    codebook entry whose code_id is the theme (the theme id if there is none).

    Parameters
    ----------
    codings, coder:
        If codings are given, an ``n_segments`` column counts the distinct
        segments carrying each code (``coder`` only, or all coders if None),
        which the data-structure figure prints next to each code.

    Returns
    -------
    DataFrame with columns theme_id, theme_name, subtheme_id, subtheme_name,
    code_id, code_name (and n_segments if codings given). Rows are grouped as
    the display is drawn: themes in codebook order, within a theme its
    sub-themes in codebook order and the codes without a sub-theme last,
    and codes in codebook order within each group.

    Raises
    ------
    ValueError
        If a parent_id names no codebook entry, or ``coder`` is unknown.
    """
    codes = code_entries(codebook)
    entries = codebook.reset_index(drop=True)
    names = dict(zip(entries["code_id"], entries["name"], strict=True))
    position = positions(entries["code_id"])

    if "parent_id" in entries.columns:
        parents = entries.set_index("code_id")["parent_id"]
        parent = codes["code_id"].map(parents)
    else:
        parent = pd.Series(np.nan, index=codes.index, dtype=object)
    dangling = sorted(set(parent.dropna()) - set(entries["code_id"]))
    if dangling:
        raise ValueError(f"codebook parent_id refers to unknown entries: {dangling}")
    has_sub = parent.notna() & (parent != codes["theme"])

    out = pd.DataFrame(
        {
            "theme_id": codes["theme"],
            "theme_name": codes["theme"].map(lambda t: names.get(t, t)),
            "subtheme_id": pd.Series(np.where(has_sub, parent, None), dtype=object),
            "subtheme_name": pd.Series(
                np.where(has_sub, parent.map(names), NO_SUBTHEME), dtype=object
            ),
            "code_id": codes["code_id"],
            "code_name": codes["name"],
        }
    )

    # Theme order is that of the theme's own entry, or of its first code
    # when the theme has no entry of its own.
    first_code = codes.drop_duplicates("theme").set_index("theme")["code_id"].map(position)
    theme_pos = codes["theme"].map(lambda t: position.get(t, first_code[t]))
    # Codes without a sub-theme sort after every sub-theme of their theme.
    sub_pos = out["subtheme_id"].map(lambda s: position[s] if s is not None else len(position))
    code_pos = codes["code_id"].map(position)
    order = np.lexsort((code_pos.to_numpy(), sub_pos.to_numpy(), theme_pos.to_numpy()))
    out = out.iloc[order].reset_index(drop=True)

    if codings is not None:
        counts = select_codings(codings, coder).groupby("code_id")["segment_id"].nunique()
        out["n_segments"] = out["code_id"].map(counts).fillna(0).astype(np.int64)
    return out


def collapse_codes(structure: pd.DataFrame, max_codes: int = 60) -> pd.DataFrame:
    """The data structure with each sub-theme's codes folded into one row, when there are many.

    A codebook of a few dozen codes can be drawn code by code; a real
    project's hundreds of codes cannot be read at a page's height. Above
    ``max_codes`` codes, each (theme, sub-theme) group becomes one row whose
    ``code_name`` says how many codes it holds ("14 codes"), with
    ``n_segments`` summed over them (so a segment carrying two of its codes
    counts twice: the number of codings). At or below ``max_codes`` the
    structure is returned unchanged.

    Returns
    -------
    DataFrame with the columns of ``structure`` (``code_id`` holds the
    sub-theme id, or the theme id for codes without a sub-theme), in the
    order of ``structure``.
    """
    if len(structure) <= max_codes:
        return structure
    keys = ["theme_id", "theme_name", "subtheme_name"]
    groups = structure.groupby(keys, sort=False, dropna=False)
    out = groups.agg(subtheme_id=("subtheme_id", "first"), n_codes=("code_id", "size"),
                     **({"n_segments": ("n_segments", "sum")} if "n_segments" in structure
                        else {})).reset_index()
    out["code_id"] = out["subtheme_id"].fillna(out["theme_id"])
    out["code_name"] = [f"{n} code" if n == 1 else f"{n} codes" for n in out["n_codes"]]
    return out[list(structure.columns)].reset_index(drop=True)
