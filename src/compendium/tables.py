"""Writing display tables: spreadsheet-safe CSV and pandoc Markdown.

Tables leave the project in two forms. The CSV is for readers who open it in a
spreadsheet, so any text cell that a spreadsheet would run as a formula is
neutralised. The Markdown is a pandoc pipe table whose separator row sets the
relative column widths, so long quotes wrap in the PDF, HTML and DOCX alike.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

#: Characters that make a spreadsheet treat a cell as a formula (OWASP CSV injection).
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_MD_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#+!|$@~^])")


def neutralise_formula(text: str) -> str:
    """Prefix an apostrophe to text a spreadsheet would evaluate as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def spreadsheet_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells cannot run as formulas (numbers are left as numbers)."""
    out = frame.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(
                lambda v: neutralise_formula(v) if isinstance(v, str) else v)
    out.columns = [neutralise_formula(str(c)) for c in out.columns]
    return out


def safe_csv(frame: pd.DataFrame, path: str | Path) -> None:
    """Write ``frame`` as UTF-8 CSV with formulas neutralised and stable formatting."""
    spreadsheet_safe(frame).to_csv(path, index=False, lineterminator="\n",
                                   encoding="utf-8", float_format="%.4g")


def escape_markdown(text: str) -> str:
    """Escape characters that pandoc Markdown would read as markup (including '@' cites)."""
    return _MD_SPECIAL.sub(r"\\\1", text.replace("\n", " ").replace("\r", " "))


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NA:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return escape_markdown(str(value))


def markdown_table(frame: pd.DataFrame, widths: list[float] | dict[str, float] | None = None,
                   align: list[str] | None = None) -> str:
    """A pandoc pipe table for ``frame``; ``widths`` are relative column widths.

    ``widths`` is a list (one per column) or a mapping from column name to
    width, where columns it does not name get 1.0: a mapping keeps working
    when a dataset lacks an optional column. Columns holding only numbers are
    right-aligned unless ``align`` says otherwise ('l', 'r' or 'c' per column).
    """
    columns = [str(c) for c in frame.columns]
    n = len(columns)
    if widths is None:
        widths = [1.0] * n
    elif isinstance(widths, dict):
        widths = [float(widths.get(c, 1.0)) for c in columns]
    if len(widths) != n:
        raise ValueError(f"{n} columns but {len(widths)} widths")
    if align is None:
        align = ["r" if pd.api.types.is_numeric_dtype(frame[c]) else "l" for c in frame.columns]
    total = sum(widths)
    # Pandoc reads relative widths from the dash counts once a row is longer than
    # its column limit; 100 dashes in all gives percent-like precision.
    dashes = [max(3, round(100 * w / total)) for w in widths]
    seps = []
    for count, a in zip(dashes, align):
        bar = "-" * count
        # Explicit alignment: pandoc's default centres cells in Typst output.
        seps.append({"r": bar[:-1] + ":", "c": ":" + bar[2:] + ":"}.get(a, ":" + bar[1:]))
    lines = ["| " + " | ".join(escape_markdown(c) for c in columns) + " |",
             "|" + "|".join(seps) + "|"]
    for row in frame.itertuples(index=False):
        lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------
# Display tables: analysis results turned into the tables a reader sees.

PERSPECTIVE_TITLES = {"entrepreneur": "Entrepreneurs", "intermediary": "Intermediaries"}
ORGANISATION_LABELS = {"ict_sme": "ICT SME", "agency": "Agency", "hei": "HEI"}


def _fraction(n: int, size: int) -> str:
    """'3 of 8 (38%)': counts first, because with groups this small a bare percentage misleads."""
    from .formatting import percent_text

    if size == 0:
        return "0 of 0"
    return f"{int(n)} of {int(size)} ({percent_text(int(n), int(size))})"


def profile_table(participants: pd.DataFrame, segments: pd.DataFrame,
                  codings: pd.DataFrame, coder: str | None) -> pd.DataFrame:
    """The interviewee profile: who was interviewed, from which side, and how much was coded."""
    coded = codings if coder is None else codings[codings["coder"] == coder]
    per_person = (segments[segments["segment_id"].isin(set(coded["segment_id"]))]
                  .groupby("participant_id").size())
    frame = participants.copy()
    out = pd.DataFrame({
        "Interviewee": frame["participant_id"],
        "Perspective": frame["perspective"].str.capitalize(),
        "Organisation": frame["organisation_type"].map(ORGANISATION_LABELS)
                        .fillna(frame["organisation_type"]),
    })
    if "role_in_cluster" in frame:
        out["Role in cluster"] = frame["role_in_cluster"].fillna("")
    if "interview_minutes" in frame:
        out["Minutes"] = frame["interview_minutes"].astype("Int64")
    if "interview_mode" in frame:
        out["Mode"] = frame["interview_mode"].fillna("")
    out["Coded segments"] = frame["participant_id"].map(per_person).fillna(0).astype(int)
    order = frame["perspective"].map({"entrepreneur": 0, "intermediary": 1}).fillna(2)
    return out.assign(_o=order.to_numpy()).sort_values(["_o", "Interviewee"]).drop(
        columns="_o").reset_index(drop=True)


def codebook_display(structure: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Codebook appendix: theme, sub-theme, code and its definition."""
    definitions = codebook.set_index("code_id")["definition"]
    out = pd.DataFrame({
        "Theme": structure["theme_name"],
        "Sub-theme": structure["subtheme_name"],
        "Code": structure["code_name"] + " (" + structure["code_id"] + ")",
        "Definition": structure["code_id"].map(definitions),
    })
    # Print a theme or sub-theme name only where it changes, as in a printed codebook.
    out.loc[out["Theme"].eq(out["Theme"].shift()), "Theme"] = ""
    same_sub = structure["subtheme_name"].eq(structure["subtheme_name"].shift()) & \
        structure["theme_name"].eq(structure["theme_name"].shift())
    out.loc[same_sub.to_numpy(), "Sub-theme"] = ""
    return out.reset_index(drop=True)


def _quote(text: object, participant: object, limit: int = 320) -> str:
    if not isinstance(text, str) or not text:
        return "(no quote available)"
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 1].rsplit(" ", 1)[0] + " …"
    return f"‘{text}’ ({participant})"


def matrix_display(matrix: pd.DataFrame) -> pd.DataFrame:
    """The conceptually clustered matrix as printed: one row per code, both perspectives side by side."""
    rows = []
    # Only the perspectives the matrix holds (a perspective filter may leave one).
    shown = ({p: t for p, t in PERSPECTIVE_TITLES.items() if p in set(matrix["perspective"])}
             or PERSPECTIVE_TITLES)  # an empty matrix still shows its headers
    for code_id, cells in matrix.groupby("code_id", sort=False):
        cell = {p: c for p, c in zip(cells["perspective"], cells.itertuples(index=False))}
        row = {"Code": cells["name"].iloc[0]}
        for perspective, title in shown.items():
            c = cell.get(perspective)
            row[title] = _fraction(c.n_interviewees, c.group_size) if c else ""
            row[f"Quote ({title.lower()})"] = (
                _quote(c.quote_text, c.quote_participant_id) if c else "")
        rows.append(row)
    columns = ["Code"] + [c for t in shown.values() for c in (t, f"Quote ({t.lower()})")]
    return pd.DataFrame(rows, columns=columns)


def comparison_display(comparison: pd.DataFrame, theme_names: dict[str, str],
                       unit: str = "interviewee") -> pd.DataFrame:
    """Dual-perspective comparison as printed: counts, shares, gap and exact-test p."""
    noun = "interviewees" if unit == "interviewee" else "segments"
    out = pd.DataFrame({
        "Theme": comparison["theme"].map(theme_names).fillna(comparison["theme"]),
        "Code": comparison["name"],
        f"Entrepreneurs ({noun})": [
            _fraction(n, s) for n, s in zip(comparison["n_entrepreneur"],
                                            comparison["size_entrepreneur"])],
        f"Intermediaries ({noun})": [
            _fraction(n, s) for n, s in zip(comparison["n_intermediary"],
                                            comparison["size_intermediary"])],
        "Gap (points)": (100 * comparison["gap"]).round().astype(int),
        "Fisher p": comparison["fisher_p"].map(
            lambda p: "" if pd.isna(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")),
    })
    out.loc[out["Theme"].eq(out["Theme"].shift()), "Theme"] = ""
    return out.reset_index(drop=True)


def agreement_display(agreement: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Agreement per code and overall, as printed (kappa and alpha to two decimals)."""
    names = codebook.set_index("code_id")["name"].to_dict()
    names["overall"] = "All codes (pooled)"

    def two(x: float) -> str:
        return "n/a" if pd.isna(x) else f"{x:.2f}"

    return pd.DataFrame({
        "Code": agreement["code_id"].map(names).fillna(agreement["code_id"]),
        "Units": agreement["n_units"].astype(int),
        "Both": agreement["both"].astype(int),
        "Only A": agreement["only_a"].astype(int),
        "Only B": agreement["only_b"].astype(int),
        "Neither": agreement["neither"].astype(int),
        "Agreement %": agreement["percent_agreement"].map(lambda x: f"{x:.1f}"),
        "Cohen's κ": agreement["cohen_kappa"].map(two),
        "Krippendorff's α": agreement["krippendorff_alpha"].map(two),
    }).reset_index(drop=True)
