"""Code saturation: how many new codes each further interview contributed.

Guest, Bunce & Johnson (2006) judged saturation by how quickly new codes
stopped appearing as interviews were added. Because the answer depends on the
order in which interviews are taken, we report both the actual (or any given)
order and the distribution over many random orders.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._common import coded_segments


def _presence(
    codings: pd.DataFrame, segments: pd.DataFrame, coder: str | None
) -> tuple[np.ndarray, list[str], list[str]]:
    """Boolean participant x code presence matrix over the participants with codings.

    Returns (matrix, participant_ids sorted, code_ids sorted).
    """
    carried = coded_segments(codings, segments, coder)
    participants = sorted(pd.unique(carried["participant_id"]).tolist())
    codes = sorted(pd.unique(carried["code_id"]).tolist())
    matrix = np.zeros((len(participants), len(codes)), dtype=bool)
    matrix[
        pd.Index(participants).get_indexer(carried["participant_id"]),
        pd.Index(codes).get_indexer(carried["code_id"]),
    ] = True
    return matrix, participants, codes


def new_codes_per_interview(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    order: Sequence[str] | None = None,
    coder: str | None = None,
) -> pd.DataFrame:
    """Count the codes each interview adds, taking interviews in ``order``.

    A code is new at the first interview (in ``order``) in which any segment
    carries it; when later interviews add nothing new, the codebook has
    saturated for this set of interviews.

    Parameters
    ----------
    order:
        Participant ids in the order the interviews are taken (for example
        the order they were conducted). Every id must occur in ``segments``;
        a participant without codings contributes 0 new codes. Default: the
        sorted ids of the participants that have codings.

    Returns
    -------
    DataFrame, one row per interview in ``order``: position (1..n),
    participant_id, new_codes, cumulative_codes.
    """
    presence, with_codings, _ = _presence(codings, segments, coder)
    if order is None:
        order = with_codings
    else:
        if isinstance(order, str):
            raise ValueError("order must be a list of participant ids, not a single string")
        order = list(order)
        known = set(segments["participant_id"].dropna())
        unknown = sorted(set(order) - known)
        if unknown:
            raise ValueError(f"order has participants with no segments: {unknown}")
        if len(set(order)) != len(order):
            raise ValueError("order lists a participant more than once")
    # Participants without codings map to -1; an all-False row stands in for them.
    padded = np.vstack([presence, np.zeros((1, presence.shape[1]), dtype=bool)])
    index = pd.Index(with_codings).get_indexer(order)
    taken = padded[np.where(index >= 0, index, len(with_codings))]
    seen = np.maximum.accumulate(taken, axis=0) if len(order) else taken
    cumulative = seen.sum(axis=1).astype(np.int64)
    new = np.diff(cumulative, prepend=0).astype(np.int64)
    return pd.DataFrame(
        {
            "position": np.arange(1, len(order) + 1, dtype=np.int64),
            "participant_id": pd.Series(order, dtype=object),
            "new_codes": new,
            "cumulative_codes": cumulative,
        }
    )


def saturation_curves(
    codings: pd.DataFrame,
    segments: pd.DataFrame,
    n_orders: int = 1000,
    seed: int | None = 2010,
    coder: str | None = None,
) -> pd.DataFrame:
    """Cumulative number of distinct codes after each interview, over random interview orders.

    One order can make saturation look early or late by chance; drawing
    ``n_orders`` random permutations of the interviews (with
    ``numpy.random.default_rng(seed)``, so results are reproducible) shows
    the range of curves the data support. Only participants with codings
    take part.

    Returns
    -------
    Tidy DataFrame with columns order (1..n_orders), position (1..n
    interviews), cumulative_codes; sorted by order then position.
    """
    if isinstance(n_orders, bool) or not isinstance(n_orders, (int, np.integer)) or n_orders < 1:
        raise ValueError(f"n_orders must be a positive integer, got {n_orders!r}")
    presence, participants, _ = _presence(codings, segments, coder)
    n = len(participants)
    rng = np.random.default_rng(seed)
    # Row r of `orders` is one random permutation of the interview indices.
    orders = rng.permuted(np.tile(np.arange(n), (n_orders, 1)), axis=1)
    # presence[orders] is (n_orders, n, codes); a running "seen so far" along
    # the interview axis gives every curve at once.
    seen = np.maximum.accumulate(presence[orders], axis=1) if n else presence[orders]
    cumulative = seen.sum(axis=2).astype(np.int64)
    return pd.DataFrame(
        {
            "order": np.repeat(np.arange(1, n_orders + 1, dtype=np.int64), n),
            "position": np.tile(np.arange(1, n + 1, dtype=np.int64), n_orders),
            "cumulative_codes": cumulative.ravel(),
        }
    )


def _check_curves(curves: pd.DataFrame) -> None:
    missing = {"order", "position", "cumulative_codes"} - set(curves.columns)
    if missing:
        raise ValueError(f"curves lacks columns {sorted(missing)}; pass saturation_curves() output")
    if curves.empty:
        raise ValueError("curves is empty: there are no coded interviews")


def saturation_summary(curves: pd.DataFrame) -> pd.DataFrame:
    """Summarise random-order saturation curves position by position.

    The mean curve with its 10th-90th percentile band is what the saturation
    figure plots; min and max show the extreme orders.

    Returns
    -------
    DataFrame, one row per position (ascending): position, mean, min, max,
    q10, q90 (quantiles with numpy's default linear interpolation).
    """
    _check_curves(curves)
    grouped = curves.groupby("position", sort=True)["cumulative_codes"]
    out = grouped.agg(["mean", "min", "max"])
    out["q10"] = grouped.quantile(0.1)
    out["q90"] = grouped.quantile(0.9)
    out = out.reset_index()
    out["mean"] = out["mean"].astype(float)
    return out[["position", "mean", "min", "max", "q10", "q90"]]


def interviews_to_reach(curves: pd.DataFrame, fraction: float = 0.9) -> pd.DataFrame:
    """How many interviews it takes to reach ``fraction`` of all codes, over random orders.

    Following Guest, Bunce & Johnson (2006), saturation is reported as the
    number of interviews after which a given share of the codes has been
    seen. The target is ceil(fraction x total codes), total being the number
    of codes seen once all interviews are in.

    Returns
    -------
    One-row DataFrame: fraction, total_codes, target_codes, mean, median,
    max (over orders, of the first position at which cumulative_codes >=
    target_codes).
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    _check_curves(curves)
    total = int(curves["cumulative_codes"].max())
    # The small tolerance stops float noise (0.7 * 10 = 7.000000000000001)
    # from raising the target by a whole code.
    target = int(np.ceil(fraction * total - 1e-9))
    reached = curves.loc[curves["cumulative_codes"] >= target]
    needed = reached.groupby("order")["position"].min()
    return pd.DataFrame(
        {
            "fraction": [float(fraction)],
            "total_codes": [total],
            "target_codes": [target],
            "mean": [float(needed.mean())],
            "median": [float(needed.median())],
            "max": [int(needed.max())],
        }
    )


def saturation_facts(observed: pd.DataFrame) -> dict[str, int]:
    """The numbers the paper quotes about the observed (id-order) saturation curve.

    Guest, Bunce & Johnson (2006) judge saturation by how many new codes the
    first interviews bring and how few the last ones still add; this reports
    both for the curve of :func:`new_codes_per_interview`.

    Parameters
    ----------
    observed:
        The output of :func:`new_codes_per_interview`.

    Returns
    -------
    dict with total_codes (distinct codes after the last interview),
    first_interview_codes (codes the first interview brings),
    last_third_size (how many interviews make the last third: n // 3, at
    least 1) and new_in_last_third (new codes those interviews add). With no
    interviews every number is 0.

    References
    ----------
    Guest, G., Bunce, A. & Johnson, L. (2006). How many interviews are
    enough? An experiment with data saturation and variability. *Field
    Methods* 18(1): 59-82.
    """
    missing = {"new_codes", "cumulative_codes"} - set(observed.columns)
    if missing:
        raise ValueError(f"observed lacks columns {sorted(missing)}; "
                         "pass new_codes_per_interview() output")
    n = len(observed)
    if n == 0:
        return {"total_codes": 0, "first_interview_codes": 0, "last_third_size": 0,
                "new_in_last_third": 0}
    last_third = observed.tail(max(1, n // 3))
    return {
        "total_codes": int(observed["cumulative_codes"].iloc[-1]),
        "first_interview_codes": int(observed["new_codes"].iloc[0]),
        "last_third_size": len(last_third),
        "new_in_last_third": int(last_third["new_codes"].sum()),
    }
