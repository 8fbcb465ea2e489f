"""Figures: one style for every display, and byte-stable saving.

The palette is Okabe & Ito's colour-blind-safe set; the two perspectives also
differ in marker shape and fill so that they stay apart in greyscale print.
Heatmaps use 'cividis', whose lightness rises monotonically. Saving removes
every source of run-to-run difference (dates, SVG ids, software stamps), so
two builds from the same data give identical files.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib
import matplotlib.pyplot as plt
import matplotlib.ticker  # noqa: F401  (used as matplotlib.ticker below)
import numpy as np
import pandas as pd

PERSPECTIVE_COLOURS = {"entrepreneur": "#0072B2", "intermediary": "#E69F00"}
PERSPECTIVE_MARKERS = {"entrepreneur": "o", "intermediary": "s"}
PERSPECTIVE_LABELS = {"entrepreneur": "Entrepreneurs", "intermediary": "Intermediaries"}
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
    """Print the synthetic-data note on the figure itself, so no copy loses it."""
    if synthetic:
        fig.text(0.995, 0.002, SYNTHETIC_NOTE, ha="right", va="bottom", fontsize=6.5,
                 color="#555555", style="italic")


def save_figure(fig, stem: Path, formats=("svg", "pdf", "png")) -> list[str]:
    """Save ``fig`` in each format with metadata that never varies; return file names."""
    names = []
    metadata = {
        "svg": {"Date": None, "Creator": None},
        "pdf": {"CreationDate": None, "ModDate": None, "Creator": None, "Producer": None},
        "png": {"Software": None},
    }
    for fmt in formats:
        path = stem.with_suffix(f".{fmt}")
        tmp = path.with_name(f".{path.name}.tmp")
        fig.savefig(tmp, format=fmt, metadata=metadata[fmt])
        tmp.replace(path)
        names.append(path.name)
    return names


def perspective_dotplot(comparison: pd.DataFrame, synthetic: bool, label_column: str = "name",
                        group_column: str = "theme_name", intervals: bool = True):
    """Share of each perspective raising each code: a Cleveland dot plot with Wilson intervals.

    ``comparison`` has one row per code, with share_<perspective> and
    ci_low_/ci_high_<perspective> columns, and a grouping column for themes.
    """
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
                   label=PERSPECTIVE_LABELS[perspective])
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
            ax.text(1.02, y[s] + 0.05, groups[s], transform=ax.get_yaxis_transform(),
                    ha="left", va="bottom", fontsize=7.5, fontweight="bold", clip_on=False)
    ax.set_ylim(-0.7, n - 0.3)
    ax.legend(loc="lower left", bbox_to_anchor=(0.0, 1.0), ncol=2, frameon=False,
              borderaxespad=0.2)
    mark_synthetic(fig, synthetic)
    return fig


def data_structure_figure(structure: pd.DataFrame, synthetic: bool):
    """Gioia-style data structure: codes -> sub-themes -> themes, left to right.

    ``structure`` is the output of ``analysis.data_structure`` (with
    ``n_segments`` when available, printed beside each code).
    """
    apply_style()
    frame = structure.reset_index(drop=True)
    n = len(frame)
    height = 0.24 * n + 1.0
    fig, ax = plt.subplots(figsize=(7.0, height))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.5, n - 0.5)
    ax.invert_yaxis()
    ax.axis("off")
    x_code, x_sub, x_theme = 0.0, 0.50, 0.80
    box = dict(boxstyle="round,pad=0.25", linewidth=0.6)
    for i, row in frame.iterrows():
        label = row["code_name"]
        if "n_segments" in frame:
            label += f"  [{int(row['n_segments'])}]"
        ax.text(x_code, i, label, va="center", ha="left", fontsize=7.2,
                bbox={**box, "facecolor": "white", "edgecolor": "#999999"})
    key_sub = frame["theme_id"].astype(str) + "|" + frame["subtheme_name"].astype(str)
    sub_centres = frame.groupby(key_sub, sort=False).apply(
        lambda g: g.index.to_numpy().mean(), include_groups=False)
    theme_centres = frame.groupby("theme_id", sort=False).apply(
        lambda g: g.index.to_numpy().mean(), include_groups=False)
    for i, row in frame.iterrows():
        y_sub = sub_centres[f"{row['theme_id']}|{row['subtheme_name']}"]
        ax.plot([x_sub - 0.07, x_sub - 0.01], [i, y_sub], color="#777777", linewidth=0.5)
    for key, y in sub_centres.items():
        theme_id, name = key.split("|", 1)
        ax.text(x_sub, y, name, va="center", ha="left", fontsize=7.5,
                bbox={**box, "facecolor": "#e8eef5", "edgecolor": "#4a6f96"})
        ax.plot([x_sub + 0.235, x_theme - 0.01], [y, theme_centres[theme_id]],
                color="#777777", linewidth=0.5)
    theme_names = frame.drop_duplicates("theme_id").set_index("theme_id")["theme_name"]
    for theme_id, y in theme_centres.items():
        ax.text(x_theme, y, theme_names[theme_id], va="center", ha="left", fontsize=8.5,
                fontweight="bold", wrap=True,
                bbox={**box, "facecolor": "#fdf0d5", "edgecolor": "#b5832a"})
    for x, title in ((x_code, "Codes (first-order concepts)"),
                     (x_sub, "Sub-themes"), (x_theme, "Themes")):
        ax.text(x, -1.1, title, ha="left", va="bottom", fontsize=8.5, fontstyle="italic")
    mark_synthetic(fig, synthetic)
    return fig


def theme_bars(matrix: pd.DataFrame, synthetic: bool, title: str | None = None):
    """Interviewees raising each code of one theme, by perspective (share, labelled n of N)."""
    apply_style()
    codes = matrix.drop_duplicates("code_id")["name"].tolist()
    n = len(codes)
    fig, ax = plt.subplots(figsize=(6.3, 0.42 * n + 1.2))
    y = np.arange(n)[::-1].astype(float)
    height = 0.38
    for k, perspective in enumerate(("entrepreneur", "intermediary")):
        cells = matrix[matrix["perspective"] == perspective].set_index("name").reindex(codes)
        size = cells["group_size"].to_numpy(dtype=float)
        count = cells["n_interviewees"].to_numpy(dtype=float)
        share = np.divide(count, size, out=np.zeros_like(count), where=size > 0)
        yy = y + (height / 2 if k == 0 else -height / 2)
        ax.barh(yy, share, height=height, color=PERSPECTIVE_COLOURS[perspective],
                edgecolor="black", linewidth=0.4, hatch=None if k == 0 else "///",
                label=PERSPECTIVE_LABELS[perspective])
        for yi, s, c, z in zip(yy, share, count, size):
            ax.text(s + 0.01, yi, f"{int(c)}/{int(z)}", va="center", fontsize=7)
    ax.set_yticks(y)
    ax.set_yticklabels(codes)
    ax.set_xlim(0, 1.12)
    ax.xaxis.set_major_formatter(matplotlib.ticker.PercentFormatter(1.0))
    ax.set_xlabel("Share of interviewees in the perspective who raised the code")
    if title:
        ax.set_title(title, loc="left")
    ax.legend(loc="lower right", frameon=False)
    mark_synthetic(fig, synthetic)
    return fig


def framework_heatmap(framework: pd.DataFrame, code_names: dict[str, str],
                      theme_of: dict[str, str], synthetic: bool):
    """Interviewees x codes (segments per cell), perspectives and themes separated by rules."""
    import seaborn as sns

    apply_style()
    codes = [c for c in framework.columns if c != "perspective"]
    values = framework[codes]
    fig, ax = plt.subplots(figsize=(7.0, 0.28 * len(framework) + 2.8))
    sns.heatmap(values, ax=ax, cmap=HEATMAP, annot=True, fmt="d", annot_kws={"fontsize": 6},
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
    """Jaccard similarity of two code sets (colour) with the co-occurrence counts printed."""
    import seaborn as sns

    apply_style()
    jac = pairs.pivot(index="code_a", columns="code_b", values="jaccard").reindex(
        index=rows, columns=columns)
    cnt = pairs.pivot(index="code_a", columns="code_b", values="count").reindex(
        index=rows, columns=columns)
    fig, ax = plt.subplots(figsize=(6.6, 0.36 * len(rows) + 2.6))
    sns.heatmap(jac, ax=ax, cmap=HEATMAP, vmin=0, vmax=max(0.05, float(np.nanmax(jac.to_numpy()))),
                annot=cnt.astype(int), fmt="d", annot_kws={"fontsize": 7},
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
