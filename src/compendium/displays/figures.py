"""Figures: one style for every display, and byte-stable saving.

The palette is Okabe & Ito's colour-blind-safe set; the two perspectives also
differ in marker shape and fill so that they stay apart in greyscale print.
Heatmaps use 'cividis', whose lightness rises monotonically. Saving removes
every source of run-to-run difference (dates, SVG ids, software stamps), so
two builds from the same data give identical files.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker  # noqa: F401  (used as matplotlib.ticker below)
import numpy as np
import pandas as pd

from ..dataset.design import Design, default_design

PERSPECTIVE_COLOURS = {"entrepreneur": "#0072B2", "intermediary": "#E69F00"}
PERSPECTIVE_MARKERS = {"entrepreneur": "o", "intermediary": "s"}
HEATMAP = "cividis"
SYNTHETIC_NOTE = "Synthetic demonstration data: illustrates the method, not the study's results"


def apply_style() -> None:
    """Project-wide matplotlib settings (fonts, sizes, deterministic SVG ids)."""
    plt.rcParams.update({
        "font.family": "DejaVu Sans",
        "font.size": 9,
        "axes.titlesize": 10,
        "axes.labelsize": 9,
        "legend.fontsize": 8,
        "xtick.labelsize": 8,
        "ytick.labelsize": 8,
        "axes.spines.top": False,
        "axes.spines.right": False,
        "figure.dpi": 100,
        "savefig.dpi": 200,
        "savefig.bbox": "tight",
        "svg.hashsalt": "compendium",  # fixed ids inside SVG files
        "svg.fonttype": "path",
        "pdf.fonttype": 42,
    })


def mark_synthetic(fig, synthetic: bool) -> None:
    """Print the synthetic-data note on the figure itself, so no copy loses it.

    The note is anchored below the x-axis label of the figure's first axes,
    and placed when the figure is drawn, so it follows the final layout and
    never overlaps tick labels whatever the backend or resolution.
    """
    if not synthetic:
        return
    ax = fig.axes[0]
    anchor: str | tuple[str, object]
    if ax.axison:
        anchor = ("axes fraction", ax.xaxis.label)
        xy = (1.0, 0.0)
    else:  # axes without a visible axis (the data-structure diagram)
        anchor = "axes fraction"
        xy = (1.0, 0.0)
    ax.annotate(SYNTHETIC_NOTE, xy=xy, xycoords=anchor, xytext=(0, -3),
                textcoords="offset points", ha="right", va="top", fontsize=6.5,
                color="#555555", style="italic", annotation_clip=False)


def save_figure(fig, stem: Path, formats=("svg", "png")) -> list[str]:
    """Save ``fig`` in each format with metadata that never varies; return file names.

    Every format is cropped to the same box, the figure's tight bounding box (as
    ``savefig.bbox: tight`` would crop it) padded by ``savefig.pad_inches``. Each
    file is rendered in memory and written with one atomic rename.
    """
    import io

    from ..fileio import atomic_write

    names = []
    # One layout for every file. With savefig's "tight" box each format lays the whole
    # figure out again (a draw without rendering) before rendering it; the box found
    # once, at the resolution the PNG is saved at, is given to every format instead.
    shown_dpi = fig.dpi
    fig.dpi = plt.rcParams["savefig.dpi"]
    try:
        fig.draw_without_rendering()
        box = fig.get_tightbbox().padded(plt.rcParams["savefig.pad_inches"])
    finally:
        fig.dpi = shown_dpi
    metadata = {
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
        "png": {"Software": None},
    }
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        buffer = io.BytesIO()
        fig.savefig(buffer, format=fmt, metadata=metadata[fmt], bbox_inches=box)
        atomic_write(path, buffer.getvalue())
        names.append(path.name)
    return names


def perspective_dotplot(comparison: pd.DataFrame, synthetic: bool, label_column: str = "name",
                        group_column: str = "theme_name", intervals: bool = True,
                        design: Design | None = None):
    """Share of each perspective raising each code: a Cleveland dot plot with Wilson intervals.

    ``comparison`` has one row per code, with share_<perspective> and
    ci_low_/ci_high_<perspective> columns, and a grouping column for themes.
    The legend names the perspectives by their labels in ``design``.
    """
    labels = (design or default_design()).labels
    apply_style()
    frame = comparison.reset_index(drop=True)
    n = len(frame)
    fig, ax = plt.subplots(figsize=(6.3, 0.26 * n + 1.4))
    y = np.arange(n)[::-1].astype(float)
    offsets = {"entrepreneur": 0.14, "intermediary": -0.14}
    for perspective, colour in PERSPECTIVE_COLOURS.items():
        share = frame[f"share_{perspective}"].to_numpy()
        yy = y + offsets[perspective]
        if intervals:
            low = frame[f"ci_low_{perspective}"].to_numpy()
            high = frame[f"ci_high_{perspective}"].to_numpy()
            ax.hlines(yy, low, high, color=colour, linewidth=1.0, alpha=0.8)
        filled = perspective == "entrepreneur"
        ax.scatter(share, yy, marker=PERSPECTIVE_MARKERS[perspective], s=26, zorder=3,
                   facecolor=colour if filled else "white", edgecolor=colour, linewidth=1.3,
                   label=labels[perspective])
    ax.set_yticks(y)
    ax.set_yticklabels(frame[label_column])
    ax.set_xlim(-0.02, 1.02)
    ax.set_xlabel("Share of interviewees in the perspective who raised the code"
                  + (" (95% Wilson interval)" if intervals else ""))
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.grid(axis="x", color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    if group_column in frame:
        groups = frame[group_column].to_numpy()
        boundaries = [i for i in range(1, n) if groups[i] != groups[i - 1]]
        for b in boundaries:
            ax.axhline(y[b] + 0.5, color="#888888", linewidth=0.6, linestyle="--")
        starts = [0] + boundaries
        for s in starts:
            # A declared theme label can be long; wrapped, it keeps the plot its width.
            label = "\n".join(textwrap.wrap(str(groups[s]), 22))
            ax.text(1.02, y[s] + 0.4, label,
                    transform=ax.get_yaxis_transform(), ha="left", va="top", fontsize=7.5,
                    fontweight="bold", clip_on=False)
    ax.set_ylim(-0.7, n - 0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False,
              borderaxespad=0.2)
    mark_synthetic(fig, synthetic)
    return fig


def data_structure_figure(structure: pd.DataFrame, synthetic: bool):
    """Gioia-style data structure: codes -> sub-themes -> themes, left to right.

    ``structure`` is the output of ``analysis.data_structure`` (with
    ``n_segments`` when available, printed beside each code). Connecting lines
    are drawn after the boxes are laid out, from each box's measured right
    edge, so long names never run under a line.
    """
    import textwrap

    apply_style()
    frame = structure.reset_index(drop=True)
    n = len(frame)
    fig, ax = plt.subplots(figsize=(7.2, 0.19 * n + 0.8))
    ax.set_xlim(0, 1)
    ax.set_ylim(n - 0.4, -1.6)
    ax.axis("off")
    fig.subplots_adjust(left=0.01, right=0.99, top=0.99, bottom=0.03)
    x_code, x_sub, x_theme = 0.0, 0.45, 0.80
    box = dict(boxstyle="round,pad=0.25", linewidth=0.6)
    code_boxes = []
    for i, row in frame.iterrows():
        label = row["code_name"]
        if "n_segments" in frame:
            label += f"  [{int(row['n_segments'])}]"
        code_boxes.append(ax.text(x_code, i, label, va="center", ha="left", fontsize=7,
                                  bbox={**box, "facecolor": "white", "edgecolor": "#999999"}))
    key_sub = frame["theme_id"].astype(str) + "|" + frame["subtheme_name"].astype(str)
    sub_rows = {k: g.index.to_numpy() for k, g in frame.groupby(key_sub, sort=False)}
    theme_rows = {k: g.index.to_numpy() for k, g in frame.groupby("theme_id", sort=False)}
    theme_names = frame.drop_duplicates("theme_id").set_index("theme_id")["theme_name"]
    sub_boxes = {}
    for key, rows in sub_rows.items():
        name = key.split("|", 1)[1]
        sub_boxes[key] = ax.text(x_sub, rows.mean(), "\n".join(textwrap.wrap(name, 24)),
                                 va="center", ha="left", fontsize=7.3,
                                 bbox={**box, "facecolor": "#e8eef5", "edgecolor": "#4a6f96"})
    for theme_id, rows in theme_rows.items():
        ax.text(x_theme, rows.mean(), "\n".join(textwrap.wrap(str(theme_names[theme_id]), 16)),
                va="center", ha="left", fontsize=8.5, fontweight="bold",
                bbox={**box, "facecolor": "#fdf0d5", "edgecolor": "#b5832a"})
    fig.canvas.draw()  # lay out the text so the boxes' extents can be measured
    to_data = ax.transData.inverted()

    def right_edge(text) -> float:
        extent = text.get_bbox_patch().get_window_extent()
        return float(to_data.transform((extent.x1, extent.y0))[0])

    for i, row in frame.iterrows():
        key = f"{row['theme_id']}|{row['subtheme_name']}"
        ax.plot([right_edge(code_boxes[i]) + 0.005, x_sub - 0.012],
                [i, sub_rows[key].mean()], color="#777777", linewidth=0.5)
    for key, rows in sub_rows.items():
        theme_id = key.split("|", 1)[0]
        ax.plot([right_edge(sub_boxes[key]) + 0.005, x_theme - 0.012],
                [rows.mean(), theme_rows[theme_id].mean()], color="#777777", linewidth=0.5)
    for x, title in ((x_code, "Codes (first-order concepts)"),
                     (x_sub, "Sub-themes"), (x_theme, "Themes")):
        ax.text(x, -1.2, title, ha="left", va="center", fontsize=8.5, fontstyle="italic")
    mark_synthetic(fig, synthetic)
    return fig


def theme_bars(matrix: pd.DataFrame, synthetic: bool, title: str | None = None,
               design: Design | None = None):
    """Interviewees raising each code of one theme, by perspective (share, labelled n of N).

    The legend names the perspectives by their labels in ``design``.
    """
    labels = (design or default_design()).labels
    apply_style()
    codes = matrix.drop_duplicates("code_id")["name"].tolist()
    n = len(codes)
    fig, ax = plt.subplots(figsize=(6.3, 0.42 * n + 1.2))
    y = np.arange(n)[::-1].astype(float)
    height = 0.38
    shown = [p for p in ("entrepreneur", "intermediary") if p in set(matrix["perspective"])]
    for k, perspective in enumerate(shown):
        cells = matrix[matrix["perspective"] == perspective].set_index("name").reindex(codes)
        size = cells["group_size"].to_numpy(dtype=float)
        count = cells["n_interviewees"].to_numpy(dtype=float)
        share = np.divide(count, size, out=np.zeros_like(count), where=size > 0)
        yy = y if len(shown) == 1 else y + (height / 2 if k == 0 else -height / 2)
        ax.barh(yy, share, height=height, color=PERSPECTIVE_COLOURS[perspective],
                edgecolor="black", linewidth=0.4, hatch=None if k == 0 else "///",
                label=labels[perspective])
        for yi, s, c, z in zip(yy, share, count, size, strict=True):
            ax.text(s + 0.01, yi, f"{int(c)}/{int(z)}", va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels(codes)
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("Share of interviewees in the perspective who raised the code")
    if title:
        ax.set_title(title, loc="left")
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False,
              borderaxespad=0.2)
    mark_synthetic(fig, synthetic)
    return fig


#: Share of a heatmap figure's width its cells take (the rest: labels and colour bar).
_CELLS_SHARE = 0.65


def numbers_fit(n_columns: int, largest: float, figure_width: float, fontsize: float) -> bool:
    """Whether a heatmap can print its numbers in its cells: the widest number (of
    ``largest``'s digits) at ``fontsize`` points, with a little room, fits in a cell's width.

    A heatmap ``figure_width`` inches wide keeps its width whatever the number of columns,
    so a large codebook's cells shrink below a digit's width, and numbers printed there
    overlap into an unreadable band (and cost the drawing of thousands of texts); the
    colour then carries the value alone, and a caption that mentions the numbers says so.
    """
    if n_columns <= 0:
        return True
    digits = len(str(int(largest))) if np.isfinite(largest) and largest > 0 else 1
    cell = _CELLS_SHARE * figure_width * 72 / n_columns  # points
    return cell >= 0.62 * fontsize * digits + 2.0


#: Width (inches) and number size (points) of the co-occurrence heatmap.
COOCCURRENCE_WIDTH, COOCCURRENCE_FONTSIZE = 6.4, 7


def cooccurrence_numbers_fit(pairs: pd.DataFrame, n_columns: int) -> bool:
    """Whether :func:`cooccurrence_heatmap` prints the counts of ``pairs`` in its cells."""
    largest = float(pairs["count"].max()) if len(pairs) else 0.0
    return numbers_fit(n_columns, largest, COOCCURRENCE_WIDTH, COOCCURRENCE_FONTSIZE)


def framework_heatmap(framework: pd.DataFrame, code_names: dict[str, str],
                      theme_of: dict[str, str], synthetic: bool):
    """Interviewees x codes (segments per cell, printed where they fit: :func:`numbers_fit`),
    perspectives and themes separated by rules."""
    import seaborn as sns

    apply_style()
    codes = [c for c in framework.columns if c != "perspective"]
    values = framework[codes]
    width, fontsize = 7.0, 6
    fig, ax = plt.subplots(figsize=(width, 0.22 * len(framework) + 2.4))
    # Empty cells stay blank so the eye finds the coded ones.
    labels = values.astype(int).astype(str).where(values > 0, "")
    largest = float(values.to_numpy().max()) if values.size else 0.0
    annot: pd.DataFrame | bool = labels if numbers_fit(len(codes), largest, width, fontsize) \
        else False
    sns.heatmap(values, ax=ax, cmap=HEATMAP, annot=annot, fmt="", annot_kws={"fontsize": fontsize},
                cbar_kws={"label": "Coded segments", "shrink": 0.6}, linewidths=0.3,
                linecolor="white", xticklabels=[code_names.get(c, c) for c in codes])
    ax.set_ylabel("Interviewee")
    ax.set_xlabel("")
    ax.tick_params(axis="x", labelrotation=90, labelsize=6.5)
    ax.tick_params(axis="y", labelrotation=0)
    perspectives = framework["perspective"].tolist()
    for i in range(1, len(perspectives)):
        if perspectives[i] != perspectives[i - 1]:
            ax.axhline(i, color="white", linewidth=3)
            ax.axhline(i, color="black", linewidth=1)
    themes = [theme_of.get(c) for c in codes]
    for j in range(1, len(themes)):
        if themes[j] != themes[j - 1]:
            ax.axvline(j, color="white", linewidth=3)
            ax.axvline(j, color="black", linewidth=1)
    mark_synthetic(fig, synthetic)
    return fig


def cooccurrence_heatmap(pairs: pd.DataFrame, rows: list[str], columns: list[str],
                         code_names: dict[str, str], synthetic: bool, unit_label: str):
    """Jaccard similarity of two code sets (colour) with the co-occurrence counts printed
    where they fit (:func:`cooccurrence_numbers_fit`)."""
    import seaborn as sns

    apply_style()
    jac = pairs.pivot(index="code_a", columns="code_b", values="jaccard").reindex(
        index=rows, columns=columns)
    cnt = pairs.pivot(index="code_a", columns="code_b", values="count").reindex(
        index=rows, columns=columns)
    fig, ax = plt.subplots(figsize=(COOCCURRENCE_WIDTH, 0.3 * len(rows) + 2.2))
    annot = cnt.astype(int) if cooccurrence_numbers_fit(pairs, len(columns)) else False
    sns.heatmap(jac, ax=ax, cmap=HEATMAP, vmin=0, vmax=max(0.05, float(np.nanmax(jac.to_numpy()))),
                annot=annot, fmt="d", annot_kws={"fontsize": COOCCURRENCE_FONTSIZE},
                linewidths=0.3, linecolor="white",
                cbar_kws={"label": f"Jaccard similarity ({unit_label})", "shrink": 0.7},
                xticklabels=[code_names.get(c, c) for c in columns],
                yticklabels=[code_names.get(c, c) for c in rows])
    ax.set_xlabel("Outcome codes")
    ax.set_ylabel("Motivation codes")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.tick_params(axis="y", labelsize=7)
    mark_synthetic(fig, synthetic)
    return fig


def saturation_figure(observed: pd.DataFrame, summary: pd.DataFrame, total_codes: int,
                      n_orders: int, synthetic: bool):
    """Cumulative codes by interview: the observed order and the spread over random orders."""
    apply_style()
    fig, ax = plt.subplots(figsize=(6.0, 3.4))
    ax.fill_between(summary["position"], summary["q10"], summary["q90"], color="#999999",
                    alpha=0.35, linewidth=0,
                    label=f"10th to 90th percentile of {n_orders:,} random orders")
    ax.plot(summary["position"], summary["mean"], color="black", linestyle="--", linewidth=1.2,
            label="Mean of random orders")
    ax.plot(observed["position"], observed["cumulative_codes"], color="#0072B2", marker="o",
            markersize=3.5, linewidth=1.4, label="Interviews in id order")
    ax.bar(observed["position"], observed["new_codes"], color="#E69F00", alpha=0.8, width=0.6,
           edgecolor="black", linewidth=0.3, label="New codes in that interview (id order)")
    ax.axhline(total_codes, color="#555555", linewidth=0.8, linestyle=":")
    ax.text(observed["position"].max(), total_codes, f" {total_codes} codes in use",
            va="bottom", ha="right", fontsize=7)
    ax.set_xlabel("Interviews analysed")
    ax.set_ylabel("Distinct codes")
    ax.set_xticks(observed["position"])
    ax.set_ylim(0, total_codes * 1.12 + 1)
    ax.legend(loc="center right", frameon=False, fontsize=7)
    mark_synthetic(fig, synthetic)
    return fig


def message_figure(message: str, synthetic: bool):
    """A small figure that says why a display is empty, so the paper keeps its numbering.

    Used when a dataset cannot support a display (a theme its codebook lacks, a
    single coder): the reader sees the reason where the display would be.
    """
    import textwrap

    apply_style()
    fig, ax = plt.subplots(figsize=(6.0, 1.2))
    ax.set_axis_off()
    ax.text(0.5, 0.5, "\n".join(textwrap.wrap(message, 80)), ha="center", va="center",
            fontsize=9, style="italic", transform=ax.transAxes)
    mark_synthetic(fig, synthetic)
    return fig


def student_agreement_heatmap(kappa: pd.DataFrame, synthetic: bool, empty_message: str = ""):
    """Cohen's kappa between every two students of a class (notebook 8); blank where undefined.

    With no students (``kappa`` empty) the figure says ``empty_message`` instead.
    """
    import seaborn as sns

    if kappa.empty:
        return message_figure(empty_message or "No students to compare.", synthetic)
    apply_style()
    n = len(kappa)
    fig, ax = plt.subplots(figsize=(0.42 * n + 2.4, 0.36 * n + 1.6))
    values = kappa.astype(float)
    sns.heatmap(values, ax=ax, cmap=HEATMAP, vmin=min(0.0, float(np.nanmin(values.to_numpy()))
                                                      if values.notna().any().any() else 0.0),
                vmax=1.0, annot=True, fmt=".2f", annot_kws={"fontsize": 6}, square=True,
                linewidths=0.3, linecolor="white",
                cbar_kws={"label": "Cohen's kappa over all segment x code decisions",
                          "shrink": 0.7})
    ax.set_xlabel("Student")
    ax.set_ylabel("Student")
    ax.tick_params(axis="x", labelrotation=90, labelsize=7)
    ax.tick_params(axis="y", labelrotation=0, labelsize=7)
    mark_synthetic(fig, synthetic)
    return fig


def class_coverage_figure(coverage: pd.DataFrame, n_students: int,
                          segments: pd.DataFrame, synthetic: bool, empty_message: str = ""):
    """How many students marked each character of the interview, in span mode (notebook 8).

    ``coverage`` holds consecutive runs (start, end, students); ``segments``
    the coder's segments (segment_id, start, end), shaded behind the curve so
    the class's boundaries can be read against the coder's.
    """
    if n_students < 2 or coverage.empty:
        return message_figure(empty_message or "No class drew its own passages.", synthetic)
    apply_style()
    fig, ax = plt.subplots(figsize=(7.5, 2.8))
    for row in segments.itertuples(index=False):
        ax.axvspan(row.start, row.end, color="#E69F00", alpha=0.18, linewidth=0)
    x = np.r_[coverage["start"].to_numpy(), coverage["end"].to_numpy()[-1]]
    y = np.r_[coverage["students"].to_numpy(), coverage["students"].to_numpy()[-1]]
    ax.step(x, y, where="post", color="#0072B2", linewidth=1.2)
    ax.fill_between(x, y, step="post", color="#0072B2", alpha=0.25)
    ax.set_xlim(float(segments["start"].min()) - 200 if len(segments) else 0,
                float(segments["end"].max()) + 200 if len(segments) else float(x[-1]))
    ax.set_ylim(0, n_students + 0.5)
    ax.set_xlabel("Position in the interview (characters); shaded: the coder's segments")
    ax.set_ylabel(f"Students marking it (of {n_students})")
    mark_synthetic(fig, synthetic)
    return fig
