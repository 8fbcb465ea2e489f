"""Sentences for the paper, generated from results.

Text that interprets results is generated here rather than typed into the
manuscript, so that it stays true for any dataset: if the data change, the
sentence naming the most frequent code or the strongest association changes
with them. Each function is pure and returns plain English.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

ORGANISATION_PHRASES = {"agency": ("agency", "agencies"), "hei": ("HEI", "HEIs"),
                        "ict_sme": ("ICT SME", "ICT SMEs")}
PERSPECTIVE_PLURAL = {"entrepreneur": "entrepreneurs", "intermediary": "intermediaries"}
NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten"]


def number_word(n: int) -> str:
    """'three' for 3, '12' for 12: words for small numbers, as house style asks."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


def join_and(items: list[str]) -> str:
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def percent(n: int, size: int) -> str:
    """Whole percent, rounded half up like every percentage the project prints."""
    from .formatting import percent_text

    return "n/a" if size == 0 else percent_text(int(n), int(size))


def organisation_phrase(participants: pd.DataFrame, perspective: str = "intermediary") -> str:
    """'3 from agencies and 3 from HEIs': the make-up of one perspective by organisation type."""
    group = participants.loc[participants["perspective"] == perspective, "organisation_type"]
    counts = group.value_counts().sort_index()
    parts = []
    for org, n in counts.items():
        singular, plural = ORGANISATION_PHRASES.get(org, (org, org))
        if n == 1:
            # Acronyms read letter by letter: 'an HEI', 'an ICT SME'.
            article = "an" if singular[0] in "aeiouAEIOUHFLMNRSX" else "a"
            parts.append(f"one from {article} {singular}")
        else:
            parts.append(f"{number_word(int(n))} from {plural}")
    return join_and(parts) if parts else "none"


def top_code_sentence(matrix: pd.DataFrame, perspective: str) -> str:
    """Which code of a theme's matrix the given perspective raised most (ties named together)."""
    cells = matrix[matrix["perspective"] == perspective]
    who = PERSPECTIVE_PLURAL[perspective]
    if cells.empty or int(cells["group_size"].iloc[0]) == 0:
        return f"No {who} were interviewed, so the matrix has no {who[:-1]} column."
    best = int(cells["n_interviewees"].max())
    size = int(cells["group_size"].iloc[0])
    if best == 0:
        return f"None of the {size} {who} raised any code of this theme."
    top = cells.loc[cells["n_interviewees"] == best, "name"].tolist()
    names = join_and([f"‘{t}’" for t in top])
    noun = "code" if len(top) == 1 else "codes"
    verb = "was" if len(top) == 1 else "were"
    return (f"Among {who}, the most widely raised {noun} {verb} {names}, "
            f"raised by {best} of {size} ({percent(best, size)}).")


def coverage_sentence(framework: pd.DataFrame) -> str:
    """How full the framework matrix is: the share of interviewee x code cells with any coding."""
    values = framework.drop(columns=["perspective"]).to_numpy()
    filled = int((values > 0).sum())
    total = values.size
    return (f"{filled:,} of the {total:,} interviewee-by-code cells ({percent(filled, total)}) "
            "hold at least one coded segment")


def strongest_pair_sentence(pairs: pd.DataFrame, names: Mapping[str, str], unit: str) -> str:
    """The motivation-outcome pair with the highest Jaccard similarity, ties by count then id."""
    pairs = pairs[pairs["code_a"] != pairs["code_b"]]
    if pairs.empty or float(pairs["jaccard"].max()) == 0:
        return f"No motivation code and outcome code were applied to the same {unit}."
    best = pairs.sort_values(["jaccard", "count", "code_a", "code_b"],
                             ascending=[False, False, True, True]).iloc[0]
    units = "segments" if unit == "segment" else "interviewees"
    return (f"The strongest association was between ‘{names[best['code_a']]}’ and "
            f"‘{names[best['code_b']]}’, which shared {int(best['count'])} {units} "
            f"(Jaccard similarity {best['jaccard']:.2f})")


def saturation_sentence(reach: pd.DataFrame, n_interviews: int) -> str:
    """How many interviews it took, over random orders, to see a share of all codes."""
    row = reach.iloc[0]
    share = round(100 * float(row["fraction"]))
    return (f"Over random interview orders, {share}% of the {int(row['total_codes'])} codes in "
            f"use ({int(row['target_codes'])} codes) had appeared after "
            f"{float(row['mean']):.1f} interviews on average and after at most "
            f"{int(row['max'])} of the {n_interviews}")


def agreement_sentence(overall: Mapping[str, float], unit: str) -> str:
    """Overall agreement in words, with the three statistics and the unit of analysis."""
    kappa = overall["cohen_kappa"]
    alpha = overall["krippendorff_alpha"]
    if pd.isna(kappa):
        return ("Chance-corrected agreement is not defined for these codings, because both "
                "coders made the same decision on every unit")
    return (f"Across all codes, the two coders agreed on {overall['percent_agreement']:.1f}% "
            f"of the {int(overall['n_units']):,} {unit}-by-code decisions "
            f"(Cohen's kappa {kappa:.2f}, Krippendorff's alpha {alpha:.2f})")
