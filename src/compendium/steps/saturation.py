"""Notebook 05 (``05-saturation.ipynb``): when new interviews stop adding codes.

What the notebook decides: new codes per interview in id order, the seeded
random orders and their spread, how many interviews it takes to see a share
of all codes, the figure and its caption, and the values the paper quotes.
The seed and the number of orders are parameters of the run, so the same
run draws the same orders.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from matplotlib.figure import Figure

from .. import analysis
from ..dataset import Dataset
from ..displays import figures, narrative
from .common import Values
from .notebook import start_run as start_run


@dataclass(frozen=True)
class Saturation:
    """One saturation analysis: the observed curve, the random orders' spread and reach.

    ``observed`` is :func:`compendium.analysis.new_codes_per_interview` in id
    order, ``summary`` the random orders' mean and percentile band, ``reach``
    the interviews it takes to see ``fraction`` of all codes, ``facts``
    :func:`compendium.analysis.saturation_facts`; ``n_orders`` and ``seed``
    say how the orders were drawn.
    """

    observed: pd.DataFrame
    summary: pd.DataFrame
    reach: pd.DataFrame
    facts: dict[str, int]
    n_orders: int
    seed: int
    fraction: float


def saturation(ds: Dataset, coder: str, seed: int, n_orders: int,
               fraction: float) -> Saturation:
    """Saturation of ``coder``'s codes over the interviews, with ``n_orders`` seeded orders."""
    observed = analysis.new_codes_per_interview(ds.codings, ds.segments, coder=coder)
    curves = analysis.saturation_curves(ds.codings, ds.segments, n_orders=n_orders, seed=seed,
                                        coder=coder)
    return Saturation(observed, analysis.saturation_summary(curves),
                      analysis.interviews_to_reach(curves, fraction=fraction),
                      analysis.saturation_facts(observed), n_orders, seed, fraction)


def saturation_figure(ds: Dataset, result: Saturation) -> Figure:
    """Distinct codes after each interview, observed and over the random orders."""
    return figures.saturation_figure(result.observed, result.summary,
                                     result.facts["total_codes"], result.n_orders, ds.synthetic)


def saturation_caption(result: Saturation) -> str:
    """The saturation figure's caption, naming the number of orders and their seed."""
    return (f"Saturation: distinct codes after each interview in id order, with new codes per "
            f"interview (bars) and the mean and 10th to 90th percentiles over "
            f"{result.n_orders:,} random orders (seed {result.seed}).")


def saturation_values(result: Saturation) -> Values:
    """The saturation paragraph's numbers and its generated sentence."""
    facts, reach = result.facts, result.reach
    last_third = facts["last_third_size"]
    return {
        "saturation.total_codes": (facts["total_codes"], None),
        "saturation.sentence": (narrative.saturation_sentence(reach, len(result.observed)),
                                None),
        "saturation.fraction_percent": (round(100 * result.fraction), None),
        "saturation.reach_mean": (float(reach["mean"].iloc[0]), f"{reach['mean'].iloc[0]:.1f}"),
        "saturation.reach_max": (int(reach["max"].iloc[0]), None),
        "saturation.first_interview_codes": (facts["first_interview_codes"], None),
        "saturation.new_in_last_third": (facts["new_in_last_third"], None),
        "saturation.last_third_size": (last_third, narrative.number_word(last_third)),
        "saturation.n_orders": (result.n_orders, None),
        "saturation.seed": (result.seed, str(result.seed)),
    }
