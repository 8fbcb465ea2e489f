"""Inter-coder agreement on the double-coded interviews.

Agreement is assessed per code as a yes/no decision for each unit (segment or
interviewee): did the coder apply the code? Percent agreement is reported
because readers understand it, Cohen's kappa and Krippendorff's alpha because
they correct for the agreement expected by chance, which for rare codes is
most of the raw agreement.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ._common import check_coder, code_entries, id_columns

UNITS = ("segment", "interviewee")


def coders_with_double_coding(codings: pd.DataFrame, segments: pd.DataFrame) -> pd.DataFrame:
    """List, for every pair of coders, the participants both of them coded.

    A participant counts as double-coded by two coders when each coded at
    least one of the participant's segments. This is the set agreement can be
    computed on, and it should be reported with the agreement figures.

    Returns
    -------
    Tidy DataFrame, one row per (coder pair, participant), sorted by
    coder_a, coder_b, participant_id, with coder_a < coder_b alphabetically.
    """
    coded = id_columns(codings, ["segment_id", "coder"]).merge(
        id_columns(segments, ["segment_id", "participant_id"]), on="segment_id", how="inner"
    )[["coder", "participant_id"]].drop_duplicates()
    pairs = coded.merge(coded, on="participant_id", suffixes=("_a", "_b"))
    # Keep each unordered pair once and drop a coder paired with themself.
    pairs = pairs[pairs["coder_a"] < pairs["coder_b"]]
    pairs = pairs[["coder_a", "coder_b", "participant_id"]]
    return pairs.sort_values(["coder_a", "coder_b", "participant_id"]).reset_index(drop=True)


def double_coded_participants(
    codings: pd.DataFrame, segments: pd.DataFrame, coder_a: str, coder_b: str
) -> list[str]:
    """Sorted ids of the participants both ``coder_a`` and ``coder_b`` coded.

    Raises ValueError for an unknown coder or when the two coders are the same.
    """
    check_coder(codings, coder_a)
    check_coder(codings, coder_b)
    if coder_a == coder_b:
        raise ValueError(f"coder_a and coder_b are both {coder_a!r}; agreement needs two coders")
    pair = codings[codings["coder"].isin([coder_a, coder_b])]
    coded = id_columns(pair, ["segment_id", "coder"]).merge(
        id_columns(segments, ["segment_id", "participant_id"]), on="segment_id", how="inner"
    )
    n_coders = coded.groupby("participant_id")["coder"].nunique()
    return sorted(n_coders.index[n_coders == 2].tolist())


def _decisions(codings: pd.DataFrame, segments: pd.DataFrame, coder_a: str, coder_b: str,
               unit: str, codebook: pd.DataFrame | None) -> tuple[list, list, pd.DataFrame]:
    """The units, the codes and each coder's distinct (unit_id, code_id, coder) applications.

    The one place that decides what :func:`agreement_units` and
    :func:`agreement_counts` compare (their docstrings give the rules).
    """
    if unit not in UNITS:
        raise ValueError(f"unknown unit {unit!r}; use one of {UNITS}")
    participants = double_coded_participants(codings, segments, coder_a, coder_b)
    segs = id_columns(
        segments[segments["participant_id"].isin(participants)], ["segment_id", "participant_id"]
    ).drop_duplicates("segment_id")
    key = "segment_id" if unit == "segment" else "participant_id"
    pair = codings[codings["coder"].isin([coder_a, coder_b])]
    coded = id_columns(pair, ["segment_id", "code_id", "coder"]).merge(
        segs, on="segment_id", how="inner"
    )
    coded = coded.rename(columns={key: "unit_id"})[["unit_id", "code_id", "coder"]]
    coded = coded.drop_duplicates()
    if codebook is not None:
        codes = code_entries(codebook)["code_id"].tolist()
    else:
        codes = sorted(pd.unique(coded["code_id"]).tolist())
    unit_ids = sorted(pd.unique(segs[key]).tolist())
    return unit_ids, codes, coded


def agreement_units(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    coder_a: str,
    coder_b: str,
    unit: str = "segment",
    codebook: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The yes/no coding decisions of two coders, one row per (unit, code).

    Only participants double-coded by the two coders (each coded at least
    one of their segments) are used, because elsewhere the absence of a code
    from one coder means "not looked at", not "decided it does not apply".

    Parameters
    ----------
    unit:
        ``"segment"``: the units are all segments (in ``segments``) of the
        double-coded participants, coded or not; ``"interviewee"``: the
        units are those participants, and a code is present for a coder if
        the coder applied it to any of the participant's segments.
    codebook:
        If given, the codes are its code-level codes (in codebook order);
        otherwise the codes either coder applied within these units (sorted),
        so that codes used only elsewhere do not add all-"no" decisions.

    Returns
    -------
    DataFrame sorted by unit_id then code order: unit_id, code_id, a (0/1
    decision of coder_a), b (0/1 decision of coder_b).
    """
    unit_ids, codes, coded = _decisions(codings, segments, coder_a, coder_b, unit, codebook)
    grid = pd.MultiIndex.from_product([unit_ids, codes], names=["unit_id", "code_id"])
    out = grid.to_frame(index=False)
    for column, coder in (("a", coder_a), ("b", coder_b)):
        applied = pd.MultiIndex.from_frame(
            coded.loc[coded["coder"] == coder, ["unit_id", "code_id"]]
        )
        out[column] = grid.isin(applied).astype(np.int64)
    # from_product already orders by unit then code (codebook order when given).
    return out


def cohen_kappa_from_counts(
    both: np.ndarray, only_a: np.ndarray, only_b: np.ndarray, neither: np.ndarray
) -> np.ndarray:
    """Cohen's kappa of 2x2 agreement tables, vectorised over tables.

    kappa = (po - pe) / (1 - pe), with po the observed agreement and pe the
    agreement expected from each coder's marginal rate. Computed from
    integer counts as (n*agree - e) / (n^2 - e), e = a1*b1 + a0*b0, so the
    undefined case pe == 1 (both coders constant and identical) is detected
    exactly; it returns NaN there and for empty tables.
    """
    both, only_a, only_b, neither = (
        np.asarray(x, dtype=np.int64) for x in (both, only_a, only_b, neither)
    )
    n = both + only_a + only_b + neither
    a1, b1 = both + only_a, both + only_b
    a0, b0 = n - a1, n - b1
    expected = a1 * b1 + a0 * b0  # n^2 * pe
    numerator = n * (both + neither) - expected  # n^2 * (po - pe)
    denominator = n * n - expected  # n^2 * (1 - pe)
    out = np.full(n.shape, np.nan)
    np.divide(numerator, denominator, out=out, where=denominator != 0)
    return out


def _krippendorff_nominal(a: np.ndarray, b: np.ndarray) -> float:
    """Nominal Krippendorff's alpha of two coders' decisions (NaN if undefined).

    The package refuses data with a single value (alpha is 0/0 there), which
    for a code nobody applied is the normal case, so that becomes NaN.
    """
    data = np.vstack([a, b]).astype(float)
    if data.size == 0 or len(np.unique(data)) < 2:
        return float("nan")
    import krippendorff  # imported here to keep it off other runs' start-up

    return float(krippendorff.alpha(reliability_data=data, level_of_measurement="nominal"))


def agreement_table(units: pd.DataFrame) -> pd.DataFrame:
    """Agreement statistics per code, and pooled over all decisions.

    Parameters
    ----------
    units:
        Output of :func:`agreement_units` (columns unit_id, code_id, a, b).

    Returns
    -------
    DataFrame, one row per code (in order of first appearance in ``units``)
    then a final row with code_id "overall" pooling every unit x code
    decision: code_id, n_units, both, only_a, only_b, neither,
    percent_agreement (0-100), cohen_kappa (NaN where undefined),
    krippendorff_alpha (nominal, from the ``krippendorff`` package; NaN
    where only one value occurs).
    """
    missing = {"unit_id", "code_id", "a", "b"} - set(units.columns)
    if missing:
        raise ValueError(f"units lacks columns {sorted(missing)}; pass agreement_units() output")
    if not (units["a"].isin([0, 1]).all() and units["b"].isin([0, 1]).all()):
        raise ValueError("units columns a and b must hold 0/1 decisions")
    a = units["a"].astype(bool)
    b = units["b"].astype(bool)
    cells = pd.DataFrame(
        {
            "code_id": units["code_id"],
            "both": a & b,
            "only_a": a & ~b,
            "only_b": ~a & b,
            "neither": ~a & ~b,
        }
    )
    counted = ["both", "only_a", "only_b", "neither"]
    per_code = cells.groupby("code_id", sort=False)[counted].sum().astype(np.int64)
    # Pooling sums the per-code tables: the overall row treats every unit x
    # code decision as one observation.
    overall = pd.DataFrame([per_code.sum(axis=0)], index=pd.Index(["overall"], name="code_id"))
    table = pd.concat([per_code, overall.astype(np.int64)]).reset_index()
    table["n_units"] = table[counted].sum(axis=1).astype(np.int64)
    agree = table["both"] + table["neither"]
    table["percent_agreement"] = np.divide(
        100.0 * agree,
        table["n_units"].astype(float),
        out=np.full(len(table), np.nan),
        where=table["n_units"].to_numpy() > 0,
    )
    table["cohen_kappa"] = cohen_kappa_from_counts(
        table["both"], table["only_a"], table["only_b"], table["neither"]
    )
    # Alpha has no closed form in the package's API; one call per code (a
    # few dozen) plus the pooled call.
    alphas = [
        _krippendorff_nominal(group["a"].to_numpy(), group["b"].to_numpy())
        for _, group in units.groupby("code_id", sort=False)
    ]
    alphas.append(_krippendorff_nominal(units["a"].to_numpy(), units["b"].to_numpy()))
    table["krippendorff_alpha"] = alphas
    columns = [
        "code_id",
        "n_units",
        "both",
        "only_a",
        "only_b",
        "neither",
        "percent_agreement",
        "cohen_kappa",
        "krippendorff_alpha",
    ]
    return table[columns]


def agreement_counts(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    coder_a: str,
    coder_b: str,
    unit: str = "segment",
    codebook: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The 2x2 tables of :func:`agreement_units`, per code, without building its grid.

    Same units, codes and rules as :func:`agreement_units`; only the counts
    are kept, so memory grows with the codings rather than with units x codes
    (a million segments and two dozen codes is a grid of tens of millions of
    rows).

    Returns
    -------
    DataFrame, one row per code in :func:`agreement_units`'s order: code_id,
    both, only_a, only_b, neither; and the number of units in ``attrs["n_units"]``.
    """
    unit_ids, codes, coded = _decisions(codings, segments, coder_a, coder_b, unit, codebook)
    n_units = len(unit_ids)
    coded = coded[coded["code_id"].isin(codes)]
    a = coded[coded["coder"] == coder_a][["unit_id", "code_id"]]
    b = coded[coded["coder"] == coder_b][["unit_id", "code_id"]]
    joined = a.merge(b, on=["unit_id", "code_id"], how="outer", indicator=True)
    tally = pd.crosstab(joined["code_id"], joined["_merge"]).reindex(
        index=codes, columns=["both", "left_only", "right_only"], fill_value=0)
    out = pd.DataFrame({"code_id": codes,
                        "both": tally["both"].to_numpy(np.int64),
                        "only_a": tally["left_only"].to_numpy(np.int64),
                        "only_b": tally["right_only"].to_numpy(np.int64)})
    out["neither"] = n_units - out["both"] - out["only_a"] - out["only_b"]
    out.attrs["n_units"] = n_units
    return out


def krippendorff_alpha_from_counts(
    both: np.ndarray, only_a: np.ndarray, only_b: np.ndarray, neither: np.ndarray
) -> np.ndarray:
    """Nominal Krippendorff's alpha of two coders' yes/no decisions, from 2x2 tables.

    With two coders and no missing values each unit gives one pair of values,
    so the coincidences are ``o_01 = o_10 = only_a + only_b``, the value totals
    ``n_1 = 2 both + only_a + only_b`` and ``n_0 = 2 neither + only_a + only_b``,
    ``n = n_0 + n_1``, and alpha = 1 - D_o / D_e becomes
    ``1 - (n - 1) o_01 / (n_0 n_1)`` (Krippendorff 2004, sect. 11.3). NaN where
    only one value occurs (``n_0 n_1 = 0``), as the package refuses that case.
    """
    both, only_a, only_b, neither = (np.asarray(x, dtype=np.float64)
                                     for x in (both, only_a, only_b, neither))
    mismatched = only_a + only_b
    n1 = 2 * both + mismatched
    n0 = 2 * neither + mismatched
    n = n0 + n1
    denominator = n0 * n1
    out = np.full(np.shape(n), np.nan)
    np.divide((n - 1) * mismatched, denominator, out=out, where=denominator > 0)
    return np.where(denominator > 0, 1.0 - out, np.nan)


def agreement_table_from_counts(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`agreement_table` from the counts of :func:`agreement_counts`.

    The same columns and rows (one per code, then "overall" pooling every
    decision); alpha from its closed form (:func:`krippendorff_alpha_from_counts`),
    which the tests check against the ``krippendorff`` package.
    """
    counted = ["both", "only_a", "only_b", "neither"]
    per_code = counts[["code_id", *counted]].reset_index(drop=True)
    overall = pd.DataFrame([{"code_id": "overall", **per_code[counted].sum(axis=0).to_dict()}])
    table = pd.concat([per_code, overall], ignore_index=True)
    table[counted] = table[counted].astype(np.int64)
    table["n_units"] = table[counted].sum(axis=1).astype(np.int64)
    agree = table["both"] + table["neither"]
    table["percent_agreement"] = np.divide(
        100.0 * agree, table["n_units"].astype(float), out=np.full(len(table), np.nan),
        where=table["n_units"].to_numpy() > 0)
    args = (table["both"], table["only_a"], table["only_b"], table["neither"])
    table["cohen_kappa"] = cohen_kappa_from_counts(*args)
    table["krippendorff_alpha"] = krippendorff_alpha_from_counts(*args)
    return table[["code_id", "n_units", *counted, "percent_agreement", "cohen_kappa",
                  "krippendorff_alpha"]]
