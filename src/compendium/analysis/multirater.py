"""Agreement among many coders: Fleiss' kappa and Krippendorff's alpha.

A methods class codes the same segments, so agreement is no longer a matter
of two coders. Each coding decision is a yes/no for one (segment, code) pair;
with ``n`` students, a pair is one *subject* rated ``n`` times. Fleiss' kappa
(Fleiss 1971) corrects the mean pairwise agreement among the ratings of a
subject for the agreement expected from the overall category proportions.
Krippendorff's alpha (Krippendorff 2004) is reported beside it, computed by
the ``krippendorff`` package, because it is what notebook 6 reports for two
coders and it allows missing ratings.

Both statistics are undefined when every rating falls in one category (the
chance agreement is then 1); the functions return NaN with the reason rather
than a number, so that a table can say *why* a cell is empty.

References
----------
Fleiss, J. L. (1971). Measuring nominal scale agreement among many raters.
*Psychological Bulletin* 76(5): 378-382.
Krippendorff, K. (2004). *Content Analysis: An Introduction to Its
Methodology* (2nd ed.). Sage, ch. 11.
"""

from __future__ import annotations

from dataclasses import dataclass

import krippendorff
import numpy as np
import pandas as pd

#: Reasons a statistic is undefined, shown in tables beside the NaN.
NO_SUBJECTS = "no subjects"
FEWER_THAN_TWO_RATERS = "fewer than two raters per subject"
ONE_CATEGORY = "every rating is in the same category, so chance agreement is 1"


@dataclass(frozen=True)
class FleissKappa:
    """Fleiss' kappa with the numbers it is built from.

    Attributes
    ----------
    kappa:
        ``(p_bar - p_e) / (1 - p_e)``; NaN when undefined.
    p_bar:
        Mean over subjects of the proportion of agreeing rater pairs
        (Fleiss 1971, p. 379).
    p_e:
        Agreement expected by chance, the sum of squared category
        proportions (Fleiss 1971, p. 379).
    p_j:
        Proportion of all ratings in each category (Fleiss 1971, p. 379).
    n_subjects, n_raters:
        N and n of Fleiss (1971).
    undefined:
        ``None`` when kappa is defined, else why it is not.
    """

    kappa: float
    p_bar: float
    p_e: float
    p_j: tuple[float, ...]
    n_subjects: int
    n_raters: int
    undefined: str | None = None


def fleiss_kappa(counts: np.ndarray | pd.DataFrame) -> FleissKappa:
    """Fleiss' kappa from a subjects x categories table of rating counts.

    Parameters
    ----------
    counts:
        ``counts[i, j]`` is how many raters put subject ``i`` in category
        ``j``. Every subject must have the same number of ratings ``n``.

    Returns
    -------
    FleissKappa
        Kappa with P-bar, P-e and the category proportions. Undefined (NaN,
        with the reason) when there are no subjects, fewer than two raters,
        or every rating is in one category.

    Raises
    ------
    ValueError
        For a table that is not two-dimensional, holds negative or
        non-integer counts, or whose rows have different totals.

    References
    ----------
    Fleiss, J. L. (1971). Measuring nominal scale agreement among many
    raters. *Psychological Bulletin* 76(5): 378-382.
    """
    table = np.asarray(counts, dtype=float)
    if table.ndim != 2:
        raise ValueError("counts must be a subjects x categories table, got "
                         f"{table.ndim} dimensions")
    if (table < 0).any() or not np.array_equal(table, np.round(table)):
        raise ValueError("counts must be non-negative whole numbers of ratings")
    n_subjects, n_categories = table.shape
    if n_subjects == 0:
        return FleissKappa(float("nan"), float("nan"), float("nan"), (0.0,) * n_categories,
                           0, 0, NO_SUBJECTS)
    totals = table.sum(axis=1)
    if not (totals == totals[0]).all():
        raise ValueError("every subject must be rated by the same number of raters; "
                         f"row totals range from {int(totals.min())} to {int(totals.max())}")
    n = int(totals[0])
    if n < 2:
        return FleissKappa(float("nan"), float("nan"), float("nan"), (0.0,) * n_categories,
                           n_subjects, n, FEWER_THAN_TWO_RATERS)
    p_j = table.sum(axis=0) / (n_subjects * n)
    # Agreeing ordered pairs of raters on a subject: sum_j n_ij (n_ij - 1).
    p_i = (table * (table - 1)).sum(axis=1) / (n * (n - 1))
    p_bar = float(p_i.mean())
    p_e = float((p_j ** 2).sum())
    proportions = tuple(float(p) for p in p_j)
    # p_e == 1 exactly when all ratings share one category: compare counts,
    # not floats, so the degenerate case is caught without a tolerance.
    if (table.sum(axis=0) == n_subjects * n).any():
        return FleissKappa(float("nan"), p_bar, p_e, proportions, n_subjects, n, ONE_CATEGORY)
    return FleissKappa((p_bar - p_e) / (1 - p_e), p_bar, p_e, proportions, n_subjects, n)


def fleiss_category_kappas(counts: np.ndarray | pd.DataFrame) -> np.ndarray:
    """Fleiss' kappa for each category against all others (Fleiss 1971, pp. 380-381).

    NaN for a category no rater or every rater used (its kappa is 0/0).
    """
    table = np.asarray(counts, dtype=float)
    n_subjects = table.shape[0]
    n = table.sum(axis=1)[0] if n_subjects else 0
    out = np.full(table.shape[1], np.nan)
    if n_subjects == 0 or n < 2:
        return out
    p_j = table.sum(axis=0) / (n_subjects * n)
    denominator = n_subjects * n * (n - 1) * p_j * (1 - p_j)
    disagreement = (table * (n - table)).sum(axis=0)
    np.divide(disagreement, denominator, out=out, where=denominator > 0)
    return np.where(denominator > 0, 1 - out, np.nan)


def binary_counts(decisions: np.ndarray) -> np.ndarray:
    """Counts table (subjects x [not applied, applied]) from a subjects x raters 0/1 matrix."""
    decisions = np.asarray(decisions, dtype=np.int64)
    applied = decisions.sum(axis=1)
    return np.column_stack([decisions.shape[1] - applied, applied])


@dataclass(frozen=True)
class Alpha:
    """Krippendorff's alpha, or why it is undefined."""

    alpha: float
    undefined: str | None = None


def krippendorff_alpha(decisions: np.ndarray) -> Alpha:
    """Nominal Krippendorff's alpha of a subjects x raters matrix (NaN = missing rating).

    Computed by the ``krippendorff`` package. Undefined when fewer than two
    raters or every rating has the same value.

    References
    ----------
    Krippendorff, K. (2004). *Content Analysis* (2nd ed.), Sage, ch. 11.
    """
    data = np.asarray(decisions, dtype=float)
    if data.ndim != 2 or data.shape[0] == 0:
        return Alpha(float("nan"), NO_SUBJECTS)
    if data.shape[1] < 2:
        return Alpha(float("nan"), FEWER_THAN_TWO_RATERS)
    values = np.unique(data[~np.isnan(data)])
    if len(values) < 2:
        return Alpha(float("nan"), ONE_CATEGORY)
    # The package wants raters in rows and units in columns.
    return Alpha(float(krippendorff.alpha(reliability_data=data.T,
                                          level_of_measurement="nominal")))


def multirater_table(decisions: pd.DataFrame) -> pd.DataFrame:
    """Fleiss' kappa and Krippendorff's alpha per code, and pooled over codes.

    Parameters
    ----------
    decisions:
        One row per (unit_id, code_id, coder) with a 0/1 column ``applied``;
        every coder must have a row for every (unit_id, code_id) pair, as
        :func:`compendium.classroom.class_decisions` returns.

    Returns
    -------
    DataFrame, one row per code (in order of first appearance) and a final
    row ``overall`` that treats every unit x code pair as one subject:
    code_id, n_units, n_coders, applied (number of yes decisions),
    p_bar, p_e, fleiss_kappa, krippendorff_alpha and ``undefined`` (the
    reason kappa is NaN, empty when defined).
    """
    missing = {"unit_id", "code_id", "coder", "applied"} - set(decisions.columns)
    if missing:
        raise ValueError(f"decisions lacks columns {sorted(missing)}")
    if decisions.empty:
        wide = pd.DataFrame(index=pd.MultiIndex.from_tuples([], names=["code_id", "unit_id"]))
    else:
        wide = decisions.pivot_table(index=["code_id", "unit_id"], columns="coder",
                                     values="applied", aggfunc="max", sort=False)
    if wide.isna().any().any():
        raise ValueError("every coder needs a decision for every unit and code")
    codes = list(pd.unique(decisions["code_id"]))
    rows = []
    for code in [*codes, None]:
        matrix = (wide if code is None else wide.loc[[code]]).to_numpy(dtype=np.int64)
        kappa = fleiss_kappa(binary_counts(matrix))
        alpha = krippendorff_alpha(matrix)
        rows.append({
            "code_id": "overall" if code is None else code,
            "n_units": matrix.shape[0],
            "n_coders": matrix.shape[1],
            "applied": int(matrix.sum()),
            "p_bar": kappa.p_bar,
            "p_e": kappa.p_e,
            "fleiss_kappa": kappa.kappa,
            "krippendorff_alpha": alpha.alpha,
            "undefined": kappa.undefined or "",
        })
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class BinaryAgreement:
    """Agreement of many coders on yes/no decisions, with the numbers it is built from.

    Attributes
    ----------
    percent_agreement:
        Share of agreeing coder pairs, averaged over subjects (Fleiss' P-bar),
        as a percentage; with two coders, the share of subjects they agree on.
    fleiss_kappa:
        Fleiss (1971): chance from the pooled share of "yes".
    conger_kappa:
        Conger (1980): chance agreement is the mean over coder pairs of each
        pair's chance agreement from its own two coders' shares of "yes"; with
        two coders it is Cohen's (1960) kappa.
    krippendorff_alpha:
        Nominal alpha (Krippendorff 2004, ch. 11) with no missing decisions.
    p_o, p_e_fleiss, p_e_conger:
        Observed and expected agreement behind the kappas.
    n_subjects, n_coders, applied:
        Total weight of the subjects, coders, total weight of "yes" decisions.
    undefined:
        "" when the coefficients are defined, else why they are not.
    """

    percent_agreement: float
    fleiss_kappa: float
    conger_kappa: float
    krippendorff_alpha: float
    p_o: float
    p_e_fleiss: float
    p_e_conger: float
    n_subjects: float
    n_coders: int
    applied: float
    undefined: str = ""


def binary_agreement(decisions: np.ndarray, weights: np.ndarray | None = None) -> BinaryAgreement:
    """Percent agreement, Fleiss', Conger's kappa and alpha of a subjects x coders 0/1 matrix.

    Parameters
    ----------
    decisions:
        ``decisions[i, r]`` is 1 when coder ``r`` said yes to subject ``i``.
        Every coder decides every subject.
    weights:
        How many identical subjects each row stands for (default 1 each): a
        run of characters that every coder coded alike is one weighted row,
        so character-level agreement never expands the text character by
        character.

    Returns
    -------
    BinaryAgreement
        NaN coefficients with the reason when there are no subjects, fewer
        than two coders, or every decision is the same.

    References
    ----------
    Cohen, J. (1960). A coefficient of agreement for nominal scales.
    *Educational and Psychological Measurement* 20(1), 37-46.
    Conger, A. J. (1980). Integration and generalization of kappas for
    multiple raters. *Psychological Bulletin* 88(2), 322-328.
    Fleiss, J. L. (1971). *Psychological Bulletin* 76(5), 378-382.
    Krippendorff, K. (2004). *Content Analysis* (2nd ed.), ch. 11. Sage.
    """
    x = np.asarray(decisions, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"decisions must be subjects x coders, got {x.ndim} dimensions")
    w = np.ones(x.shape[0]) if weights is None else np.asarray(weights, dtype=np.float64)
    if w.shape != (x.shape[0],) or (w < 0).any():
        raise ValueError("weights must be one non-negative number per subject")
    m, total = x.shape[1], float(w.sum())
    applied = float(w @ x.sum(axis=1)) if m else 0.0
    nan = float("nan")
    reason = ""
    if total == 0:
        reason = NO_SUBJECTS
    elif m < 2:
        reason = FEWER_THAN_TWO_RATERS
    if reason:
        return BinaryAgreement(nan, nan, nan, nan, nan, nan, nan, total, m, applied, reason)
    k = x.sum(axis=1)  # yes decisions per subject
    disagreeing = float(w @ (k * (m - k)))  # unordered disagreeing coder pairs, summed
    pairs = m * (m - 1) / 2
    p_o = 1 - disagreeing / (pairs * total)
    p = applied / (m * total)
    p_e_fleiss = p * p + (1 - p) * (1 - p)
    share = (w @ x) / total  # each coder's share of yes
    upper = np.triu_indices(m, 1)
    chance = np.outer(share, share) + np.outer(1 - share, 1 - share)
    p_e_conger = float(chance[upper].mean())
    if applied in (0.0, m * total):
        return BinaryAgreement(100 * p_o, nan, nan, nan, p_o, p_e_fleiss, p_e_conger, total,
                               m, applied, ONE_CATEGORY)
    n = m * total  # pairable values
    alpha = 1 - (n - 1) * disagreeing / (m - 1) / (applied * (n - applied))
    conger = nan if p_e_conger == 1 else (p_o - p_e_conger) / (1 - p_e_conger)
    return BinaryAgreement(100 * p_o, (p_o - p_e_fleiss) / (1 - p_e_fleiss), conger, alpha,
                           p_o, p_e_fleiss, p_e_conger, total, m, applied,
                           "" if conger == conger else "each coder made one decision throughout")
