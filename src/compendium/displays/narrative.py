"""Sentences for the paper, generated from results.

Text that interprets results is generated here rather than typed into the
manuscript, so that it stays true for any dataset: if the data change, the
sentence naming the most frequent code or the strongest association changes
with them. Each function is pure and returns plain English.
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from ..dataset.design import Design, default_design
from ..formatting import POOLED

ORGANISATION_PHRASES = {"agency": ("agency", "agencies"), "hei": ("HEI", "HEIs"),
                        "ict_sme": ("ICT SME", "ICT SMEs")}
NUMBER_WORDS = ["no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
                "ten"]


def number_word(n: int) -> str:
    """'three' for 3, '12' for 12: words for small numbers, as house style asks."""
    return NUMBER_WORDS[n] if 0 <= n < len(NUMBER_WORDS) else f"{n:,}"


def join_and(items: list[str]) -> str:
    """'a, b and c': items joined as an English list."""
    if not items:
        return ""
    if len(items) == 1:
        return items[0]
    return ", ".join(items[:-1]) + " and " + items[-1]


def percent(n: int, size: int) -> str:
    """Whole percent, rounded half up like every percentage the project prints."""
    from ..formatting import percent_text

    return "n/a" if size == 0 else percent_text(int(n), int(size))


def organisation_phrase(participants: pd.DataFrame, perspective: str = "intermediary") -> str:
    """'3 from agencies and 3 from HEIs': the make-up of one perspective by organisation type.

    "none" when the dataset records no organisation type for the perspective.
    """
    if "organisation_type" not in participants:
        return "none"
    group = participants.loc[participants["perspective"] == perspective, "organisation_type"]
    counts = group.dropna().value_counts().sort_index()
    parts = []
    for org, n in counts.items():
        singular, plural = ORGANISATION_PHRASES.get(org, (org, org))
        if n == 1:
            parts.append(f"one from {indefinite_article(singular)} {singular}")
        else:
            parts.append(f"{number_word(int(n))} from {plural}")
    return join_and(parts) if parts else "none"


def sample_sentence(participants: pd.DataFrame, design: Design | None = None) -> str:
    """The sample in words: "14 semi-structured interviews: 8 with entrepreneurs and 6 with ...".

    Each perspective is named by its noun and, where organisation types are
    recorded, its make-up ("three from agencies and three from HEIs").
    """
    design = design or default_design()
    parts = []
    for key in ("entrepreneur", "intermediary"):
        n = int((participants["perspective"] == key).sum())
        noun = design.count_noun(key, n)
        text = (f"one with {indefinite_article(noun)} {noun}" if n == 1
                else f"{number_word(n)} with {noun}")
        orgs = organisation_phrase(participants, key)
        if n and orgs != "none" and participants.loc[
                participants["perspective"] == key, "organisation_type"].nunique() > 1:
            text += f" ({orgs})"
        parts.append(text)
    total = len(participants)
    noun = "interview" if total == 1 else "interviews"
    return f"{number_word(total)} semi-structured {noun}: {join_and(parts)}"


def indefinite_article(noun: str) -> str:
    """'a' or 'an' before ``noun`` by its first sound, acronyms read letter by letter."""
    first = noun.split()[0] if noun.split() else noun
    if first.isupper() and len(first) > 1:
        return "an" if first[0] in "AEFHILMNORSX" else "a"
    word = first.lower()
    if word.startswith(("uni", "use", "usu", "eu", "one", "once")):
        return "a"  # a university, a user, a European: the first sound is a consonant
    if word.startswith(("hour", "honest", "honour")):
        return "an"
    return "an" if word[:1] in "aeiou" else "a"


def design_sentence(design: Design) -> str:
    """The two compared groups as the design describes them, in whole sentences."""
    people = [design.perspectives[k] for k in ("entrepreneur", "intermediary")]
    if not any(p.description.strip() for p in people):
        return (f"The dataset's design calls the two sides of the comparison ‘{people[0].label}’ "
                f"and ‘{people[1].label}’.")
    parts = []
    for key in ("entrepreneur", "intermediary"):
        p = design.perspectives[key]
        description = p.description.strip().rstrip(".")
        parts.append(f"{p.label}: {description[:1].lower() + description[1:]}." if description
                     else f"{p.label}.")
    return "The two sides of the comparison are named by the dataset's design. " + " ".join(parts)


def theme_status_sentence(label: str, declared: bool, n_codes: int) -> str:
    """One clear sentence for a theme section whose theme has no codes; "" otherwise."""
    if n_codes:
        return ""
    if declared:
        return (f"The dataset's design declares the theme ‘{label}’ without any codes, so this "
                "section has no matrix to show.")
    return (f"The dataset's design does not place any codes under the theme ‘{label}’, so this "
            "section has no matrix to show; declare the theme's codes with `compendium design "
            "DATASET --apply design.toml` to fill it.")


def unmapped_sentence(unmapped: pd.DataFrame, n_codes: int, declared: bool = True) -> str:
    """Which codes lie outside the three themes, and what the displays do with them.

    ``n_codes`` is the number of codes the displays use. Under a declared
    design the codes outside its themes are left out of every display; a
    dataset without one keeps them under the codebook's own themes, in every
    display across all codes but in no theme section.
    """
    total = n_codes + len(unmapped) if declared else n_codes
    if unmapped.empty:
        return f"All {total:,} codes of the codebook belong to one of the three themes"
    names = [f"‘{n}’" for n in unmapped["name"].head(8)]
    more = len(unmapped) - len(names)
    listed = join_and(names) if not more else ", ".join(names) + f" and {more:,} more"
    codings = int(unmapped["n_codings"].sum())
    verb = "lies" if len(unmapped) == 1 else "lie"
    applied = f"{codings:,} coding{'' if codings == 1 else 's'} in all"
    if not declared:
        return (f"The dataset declares no design, so its codes keep the codebook's own themes: "
                f"{len(unmapped):,} of the {total:,} codes {verb} outside the study's three "
                f"themes and appear in the displays across all codes but in no theme section "
                f"({listed}, with {applied}); `compendium design DATASET --apply design.toml` "
                f"places codes under the three themes")
    return (f"{len(unmapped):,} of the {total:,} codes of the codebook {verb} "
            f"outside the three themes declared in the dataset's design and "
            f"{'is' if len(unmapped) == 1 else 'are'} left out of the displays ({listed}, with "
            f"{applied})")


def top_code_sentence(matrix: pd.DataFrame, perspective: str,
                      design: Design | None = None) -> str:
    """Which code of a theme's matrix the given perspective raised most (ties named together)."""
    design = design or default_design()
    cells = matrix[matrix["perspective"] == perspective]
    who = design.noun(perspective)
    if cells.empty or int(cells["group_size"].iloc[0]) == 0:
        return f"No {who} were interviewed, so the matrix has no column for them."
    best = int(cells["n_interviewees"].max())
    size = int(cells["group_size"].iloc[0])
    if best == 0:
        if size == 1:
            return (f"The one {design.count_noun(perspective, 1)} interviewed raised no code of "
                    "this theme.")
        return f"None of the {size} {who} raised any code of this theme."
    top = cells.loc[cells["n_interviewees"] == best, "name"].tolist()
    names = join_and([f"‘{t}’" for t in top])
    noun = "code" if len(top) == 1 else "codes"
    verb = "was" if len(top) == 1 else "were"
    return (f"Among {who}, the most widely raised {noun} {verb} {names}, "
            f"raised by {best} of {size} ({percent(best, size)}).")


def theme_spread_sentence(matrix: pd.DataFrame, label: str,
                          design: Design | None = None) -> str:
    """How a theme's codes divide between the perspectives: raised by both, by one, by neither.

    The sentence a dataset of another study gets in place of the prose that
    interprets this study's themes: it says, from the matrix alone, whether
    the theme is shared by the two sides or gathered on one side.
    """
    design = design or default_design()
    raised = matrix[matrix["n_interviewees"] > 0]
    sides = raised.groupby("code_id", sort=False)["perspective"].agg(set)
    codes = list(dict.fromkeys(matrix["code_id"]))
    if not codes:
        return f"The theme ‘{label}’ has no codes in this dataset."
    first, second = "entrepreneur", "intermediary"
    both = sum(1 for c in codes if sides.get(c, set()) >= {first, second})
    only = {p: sum(1 for c in codes if sides.get(c, set()) == {p}) for p in (first, second)}
    neither = len(codes) - both - only[first] - only[second]
    def count(n: int) -> str:
        return "none" if n == 0 else number_word(n)

    parts = [f"{count(both)} {'was' if both == 1 else 'were'} raised by interviewees of "
             "both perspectives",
             f"{count(only[first])} only by {design.noun(first)}",
             f"{count(only[second])} only by {design.noun(second)}"]
    if neither:
        parts.append(f"{count(neither)} by no one")
    noun = "code" if len(codes) == 1 else "codes"
    return (f"Of the {number_word(len(codes))} {noun} of the theme ‘{label}’, "
            f"{join_and(parts)}.")


def short_label_note(design: Design) -> str:
    """What the short labels in narrow headers stand for, as a caption's closing sentence.

    "" when every short label is the label itself.
    """
    pairs = design.shortened()
    if not pairs:
        return ""
    return "Short labels in the headers: " + "; ".join(
        f"‘{short}’ stands for ‘{label}’" for short, label in pairs) + "."


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
    count = int(best["count"])
    units = ("segment" if unit == "segment" else "interviewee") + ("" if count == 1 else "s")
    return (f"The strongest association was between ‘{names[best['code_a']]}’ and "
            f"‘{names[best['code_b']]}’, which shared {count} {units} "
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


def statistic_text(value: float, template: str) -> str:
    """How the paper prints a statistic: the template, or "not assessable" where undefined."""
    return "not assessable" if pd.isna(value) else template.format(value)


def measure_choice_sentence(choice: Mapping[str, object] | None) -> str:
    """Which agreement measure the paper relies on, and why (any dataset)."""
    if choice is None:
        return ("No interview was coded by two coders, so no agreement measure can be "
                "reported")
    if choice["measure"] == "segment":
        return ("Because " + str(choice["reason"]) + ", agreement is judged on the segments: "
                "segment-level kappa and alpha are the measures to read, and the text-based "
                "measures below should tell the same story")
    return ("Because " + str(choice["reason"]) + ", agreement is judged on the text itself: "
            "the unitized alpha and the character-level kappa are the measures to read, with "
            "the segment overlap beside them, and the segment-level figures understate "
            "agreement")


def character_sentence(overall: Mapping[str, object] | None) -> str:
    """The pooled character-level agreement in words (NVivo's coding comparison form)."""
    if overall is None:
        return ("Character-level agreement could not be assessed, because no text was coded by "
                "two coders")
    kappa = overall["cohen_kappa"]
    base = (f"Character by character, the two coders made the same decision on "
            f"{float(overall['percent_agreement']):.1f}% of "
            f"{int(overall['n_chars']):,} code-by-character decisions")
    if pd.isna(kappa):
        return base + f" (Cohen's kappa is undefined: {overall['undefined']})"
    return base + f" (Cohen's kappa {float(kappa):.2f})"


def unitized_sentence(table: pd.DataFrame | None) -> str:
    """The pooled unitized alpha in words, with the range over codes and the multi-valued note."""
    if table is None or not len(table):
        return "Unitized alpha could not be assessed, because no text was coded by two coders"
    pooled = table[table["code_id"] == POOLED].set_index("coefficient")
    per_code = table[(table["code_id"] != POOLED) & (table["coefficient"] == "u_alpha_c")]
    defined = per_code["value"].dropna()
    row = pooled.loc["u_alpha_c"]
    if pd.isna(row["value"]):
        text = f"Krippendorff's unitized alpha is undefined here ({row['undefined']})"
    else:
        text = (f"Krippendorff's unitized alpha, each code against the rest of the text and "
                f"pooled over codes, was {float(row['value']):.2f}")
        if len(defined) > 1:
            text += (f", ranging from {defined.min():.2f} to {defined.max():.2f} across the "
                     f"{len(defined)} codes where it is defined")
    multi = pooled.loc["u_alpha"] if "u_alpha" in pooled.index else None
    if multi is not None and pd.isna(multi["value"]):
        text += (f". The multi-valued coefficients are not reported, because "
                 f"{str(multi['undefined']).split(';')[0]}")
    elif multi is not None:
        text += (f". Over all codes at once, uα was {float(multi['value']):.2f} and |uα "
                 f"{float(pooled.loc['|u_alpha', 'value']):.2f}")
    return text


def overlap_sentence(overall: Mapping[str, object] | None, threshold: float) -> str:
    """The pooled segment-overlap agreement in words (MAXQDA's form)."""
    if overall is None:
        return "Segment overlap could not be assessed, because no text was coded by two coders"
    n = int(overall["segments_a"]) + int(overall["segments_b"])
    matched = int(overall["agree_a"]) + int(overall["agree_b"])
    text = (f"With segments counted as the same when they overlap by at least "
            f"{threshold:.0%} of the text either covers, {matched:,} of the {n:,} coded "
            f"segments ({float(overall['percent_agreement']):.1f}%) had a counterpart with the "
            f"same code from the other coder")
    if pd.isna(overall["bp_kappa"]):
        return text
    return text + f" (Brennan and Prediger's kappa {float(overall['bp_kappa']):.2f})"
