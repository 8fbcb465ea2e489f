"""Writing display tables: spreadsheet-safe CSV and pandoc Markdown.

Tables leave the project in two forms. The CSV is for readers who open it in a
spreadsheet, so any text cell that a spreadsheet would run as a formula is
neutralised. The Markdown is a pandoc pipe table whose separator row sets the
relative column widths, so long quotes wrap in the PDF, HTML and DOCX alike.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ..dataset.design import Design, default_design
from ..formatting import POOLED

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
    for count, a in zip(dashes, align, strict=True):
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

ORGANISATION_LABELS = {"ict_sme": "ICT SME", "agency": "Agency", "hei": "HEI"}


def _fraction(n: int, size: int) -> str:
    """'3 of 8 (38%)': counts first, because with groups this small a bare percentage misleads."""
    from ..formatting import percent_text

    if size == 0:
        return "0 of 0"
    return f"{int(n)} of {int(size)} ({percent_text(int(n), int(size))})"


def has_organisation_type(participants: pd.DataFrame) -> bool:
    """Whether the dataset records an organisation type for any interviewee.

    ``organisation_type`` belongs to this study's design; another study's
    export often has nothing like it, and the profile then leaves it out.
    """
    return "organisation_type" in participants and bool(
        participants["organisation_type"].notna().any())


def profile_table(participants: pd.DataFrame, segments: pd.DataFrame,
                  codings: pd.DataFrame, coder: str | None,
                  design: Design | None = None) -> pd.DataFrame:
    """The interviewee profile: who was interviewed, from which side, and how much was coded.

    Interviewees are grouped by perspective, whose short label (from
    ``design``; the column is narrow) is printed on the first row of its group
    only, as a group heading.
    """
    design = design or default_design()
    coded = codings if coder is None else codings[codings["coder"] == coder]
    per_person = (segments[segments["segment_id"].isin(set(coded["segment_id"]))]
                  .groupby("participant_id").size())
    order = participants["perspective"].map({"entrepreneur": 0, "intermediary": 1}).fillna(2)
    frame = participants.assign(_o=order.to_numpy()).sort_values(["_o", "participant_id"])
    frame = frame.drop(columns="_o").reset_index(drop=True)
    out = pd.DataFrame({
        "Interviewee": frame["participant_id"],
        "Perspective": frame["perspective"].map(design.short_labels).fillna(frame["perspective"]),
    })
    out.loc[out["Perspective"].eq(out["Perspective"].shift()), "Perspective"] = ""
    if has_organisation_type(frame):
        out["Organisation"] = (frame["organisation_type"].map(ORGANISATION_LABELS)
                               .fillna(frame["organisation_type"]).fillna(""))
    if "role_in_cluster" in frame:
        out["Role in cluster"] = frame["role_in_cluster"].fillna("")
    if "interview_minutes" in frame:
        out["Minutes"] = frame["interview_minutes"].astype("Int64")
    if "interview_mode" in frame:
        out["Mode"] = frame["interview_mode"].fillna("")
    out["Coded segments"] = frame["participant_id"].map(per_person).fillna(0).astype(int)
    return out


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


def matrix_display(matrix: pd.DataFrame, design: Design | None = None) -> pd.DataFrame:
    """The conceptually clustered matrix as printed: a row per code, the perspectives side by side.

    The narrow count columns are headed by the perspectives' short labels and
    the quote columns name their nouns ("Quote (entrepreneurs)"), both from
    ``design``.
    """
    design = design or default_design()
    rows = []
    titles = design.short_labels
    # Only the perspectives the matrix holds (a perspective filter may leave one).
    shown = ({p: t for p, t in titles.items() if p in set(matrix["perspective"])}
             or titles)  # an empty matrix still shows its headers
    quote = {t: f"Quote ({design.noun(p)})" for p, t in titles.items()}
    for _code_id, cells in matrix.groupby("code_id", sort=False):
        cell = dict(zip(cells["perspective"], cells.itertuples(index=False), strict=True))
        row = {"Code": cells["name"].iloc[0]}
        for perspective, title in shown.items():
            c = cell.get(perspective)
            row[title] = _fraction(c.n_interviewees, c.group_size) if c else ""
            row[quote[title]] = (
                _quote(c.quote_text, c.quote_participant_id) if c else "")
        rows.append(row)
    columns = ["Code"] + [c for t in shown.values() for c in (t, quote[t])]
    return pd.DataFrame(rows, columns=columns)


def comparison_display(comparison: pd.DataFrame, theme_names: dict[str, str],
                       unit: str = "interviewee", design: Design | None = None) -> pd.DataFrame:
    """Dual-perspective comparison as printed: counts, shares, gap and exact-test p."""
    design = design or default_design()
    noun = "interviewees" if unit == "interviewee" else "segments"
    # The theme column is narrow: declared themes go by their short labels.
    names = {**theme_names, **{key: theme.short for key, theme in design.themes.items()
                               if theme.declared}}
    out = pd.DataFrame({
        "Theme": comparison["theme"].map(names).fillna(comparison["theme"]),
        "Code": comparison["name"],
        f"{design.short_label('entrepreneur')} ({noun})": [
            _fraction(n, s) for n, s in zip(comparison["n_entrepreneur"],
                                            comparison["size_entrepreneur"], strict=True)],
        f"{design.short_label('intermediary')} ({noun})": [
            _fraction(n, s) for n, s in zip(comparison["n_intermediary"],
                                            comparison["size_intermediary"], strict=True)],
        "Gap (points)": (100 * comparison["gap"]).round().astype(int),
        "Fisher p": comparison["fisher_p"].map(
            lambda p: "" if pd.isna(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")),
    })
    out.loc[out["Theme"].eq(out["Theme"].shift()), "Theme"] = ""
    return out.reset_index(drop=True)


@dataclass(frozen=True)
class Column:
    """One column of an agreement measure's printed table.

    Parameters
    ----------
    heading:
        The column's heading as printed.
    source:
        The column of the measure's table it shows.
    format:
        How a cell is written: ``name`` (a code's name from the codebook, the
        pooled row "All codes (pooled)"), ``int``, ``percent`` (one decimal),
        ``coefficient`` (two decimals) or ``coefficient_or_blank``; undefined
        values are "n/a" (blank for ``coefficient_or_blank``).
    width:
        The column's relative width in the paper.
    """

    heading: str
    source: str
    format: str
    width: float


def _two(x: float) -> str:
    return "n/a" if pd.isna(x) else f"{x:.2f}"


_CELL_FORMATS: dict[str, Callable[[pd.Series], pd.Series]] = {
    "int": lambda column: column.astype(int),
    # No decision to share: no percentage.
    "percent": lambda column: column.map(lambda x: "n/a" if pd.isna(x) else f"{x:.1f}"),
    "coefficient": lambda column: column.map(_two),
    "coefficient_or_blank": lambda column: column.map(
        lambda x: "" if pd.isna(x) else f"{x:.2f}"),
}


def measure_display(table: pd.DataFrame, codebook: pd.DataFrame, columns: Sequence[Column],
                    codebook_order: bool = True) -> pd.DataFrame:
    """An agreement measure's table as printed: one row per code, then the pooled row.

    Parameters
    ----------
    table:
        The measure's table (a ``code_id`` column, :data:`analysis.POOLED` last).
    codebook:
        Names the codes.
    columns:
        The printed columns, from the measure's registry entry.
    codebook_order:
        Put the codes in codebook order (codes missing from it after them);
        False keeps the table's own order.
    """
    if codebook_order:
        table = _codebook_order(table, codebook)
    names = _code_names(codebook)
    cells = {}
    for column in columns:
        values = table[column.source]
        cells[column.heading] = (values.map(names).fillna(values) if column.format == "name"
                                 else _CELL_FORMATS[column.format](values))
    return pd.DataFrame(cells).reset_index(drop=True)


#: The segment measure's columns (also the coding widget's agreement table).
SEGMENT_COLUMNS = (
    Column("Code", "code_id", "name", 2.6),
    Column("Units", "n_units", "int", 0.7),
    Column("Both", "both", "int", 0.6),
    Column("Only A", "only_a", "int", 0.9),
    Column("Only B", "only_b", "int", 0.9),
    Column("Neither", "neither", "int", 0.9),
    Column("Agreement %", "percent_agreement", "percent", 1.4),
    Column("Cohen's κ", "cohen_kappa", "coefficient", 0.9),
    Column("Krippendorff's α", "krippendorff_alpha", "coefficient", 1.4),
)


def agreement_display(agreement: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Segment agreement per code and overall, as printed (kappa and alpha to two decimals)."""
    return measure_display(agreement, codebook, SEGMENT_COLUMNS, codebook_order=False)


def agreement_cli_table(table: pd.DataFrame, fmt: str = "table") -> str:
    """An agreement table as text for the command line: aligned table, CSV or JSON.

    Numbers keep full precision in CSV and JSON (undefined values are empty /
    null, with the reason in the ``undefined`` column when the table has
    one); the aligned table rounds to three decimals and writes "undefined"
    where a coefficient cannot be computed, never NaN.
    """
    if fmt == "csv":
        return spreadsheet_safe(table).to_csv(index=False, lineterminator="\n")
    if fmt == "json":
        return table.to_json(orient="records", indent=1, force_ascii=False) + "\n"
    if fmt != "table":
        raise ValueError(f"unknown format {fmt!r}; use table, csv or json")
    shown = table.copy()
    for column in shown.columns:
        if pd.api.types.is_float_dtype(shown[column]):
            shown[column] = shown[column].map(
                lambda x: "undefined" if pd.isna(x) else f"{x:.3f}")
    return shown.to_string(index=False) + "\n"


def _code_names(codebook: pd.DataFrame) -> dict[str, str]:
    names = codebook.set_index("code_id")["name"].to_dict()
    names[POOLED] = "All codes (pooled)"
    return names


def _codebook_order(table: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Rows in codebook order, codes missing from the codebook after them, pooled rows last."""
    position = {c: i for i, c in enumerate(codebook["code_id"])}
    pooled = table["code_id"] == POOLED
    rank = table["code_id"].map(position).fillna(len(position)).where(~pooled, len(position) + 1)
    return table.assign(_rank=rank.to_numpy()).sort_values("_rank", kind="stable").drop(
        columns="_rank")


def unitized_agreement_display(table: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """Unitized alpha per code (against the rest of the text) and pooled, as printed.

    One row per code with Krippendorff's (2004) ``uα_c`` and the binary
    ``|uα`` of Krippendorff et al. (2016), then the pooled rows: the 2004
    alpha over all codes and the multi-valued coefficients (n/a where a
    coder's spans overlap).
    """
    names = _code_names(codebook)
    table = _codebook_order(table, codebook)
    per_code = table[table["code_id"] != POOLED]
    wide = per_code.pivot(index="code_id", columns="coefficient", values="value")
    counts = per_code.drop_duplicates("code_id").set_index("code_id")  # keeps codebook order
    rows = [{"Code": names.get(code, code), "Units": int(counts.loc[code, "n_units"]),
             "Coded characters": int(counts.loc[code, "coded_chars"]),
             "uα_c (2004)": _two(wide.loc[code, "u_alpha_c"]),
             "|uα (2016)": _two(wide.loc[code, "|u_alpha"])}
            for code in counts.index]
    pooled = table[table["code_id"] == POOLED].set_index("coefficient")
    labels = {"u_alpha_c": "All codes: uα (2004, pooled over codes)",
              "u_alpha": "All codes: uα (2016, multi-valued)",
              "|u_alpha": "All codes: |uα (2016, coded vs uncoded)",
              "cu_alpha": "All codes: cuα (2016, codes where units meet)"}
    for key, label in labels.items():
        if key in pooled.index:
            row = pooled.loc[key]
            value = _two(row["value"])
            rows.append({"Code": label, "Units": int(row["n_units"]),
                         "Coded characters": int(row["coded_chars"]),
                         "uα_c (2004)": value if key == "u_alpha_c" else "",
                         "|uα (2016)": "" if key == "u_alpha_c" else value})
    return pd.DataFrame(rows, columns=["Code", "Units", "Coded characters", "uα_c (2004)",
                                       "|uα (2016)"])


def class_agreement_display(table: pd.DataFrame, codebook: pd.DataFrame) -> pd.DataFrame:
    """A class's agreement per code (codebook order) and pooled, as printed in the paper.

    ``table`` is :func:`compendium.classroom.class_agreement`'s: the students'
    decisions pooled with Fleiss' kappa and Krippendorff's alpha.
    """
    names = _code_names(codebook)
    table = _codebook_order(table, codebook)
    return pd.DataFrame({
        "Code": table["code_id"].map(names).fillna(table["code_id"]),
        "Segments": table["n_units"].astype(int),
        "Students": table["n_coders"].astype(int),
        "Applied": table["applied"].astype(int),
        "Fleiss' κ": table["fleiss_kappa"].map(_two),
        "Krippendorff's α": table["krippendorff_alpha"].map(_two),
    }).reset_index(drop=True)
