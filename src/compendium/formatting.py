"""How numbers are written in the paper's tables and sentences.

The rule here covers every percentage of a count the reader sees, written as
``k of n (p%)`` or ``p%``: :func:`percent_text` rounds ``100*k/n`` half up,
computed exactly in integers, in the tables (:mod:`compendium.displays.tables`),
the generated sentences (:mod:`compendium.displays.narrative`) and the
analysis's own descriptions of a gap (:func:`compendium.analysis.describe_gap`).

It does not cover the other numbers the tables print, which
:mod:`compendium.displays.tables` writes from floats: the comparison table's
gap in percentage points (``round()`` of the float: halves to even, so a gap of
exactly 12.5 points is printed 12 beside shares printed 63% and 50%), agreement
percentages (one decimal), coefficients such as kappa and alpha (two decimals,
three on the command line) and Fisher p-values (three decimals), each by
Python's format of the float. Imports nothing of the package, so anything may
use it.

The module also holds the one name of an agreement table's pooled row
(:data:`POOLED`), which the analysis writes and the displays name.
"""

from __future__ import annotations

#: The ``code_id`` of the row pooling every code, in every agreement measure's table.
#: Here rather than in the analysis, so that a display can know it without importing
#: the analysis (and every notebook run with it).
POOLED = "overall"


def percent_text(k: int, n: int, decimals: int = 0) -> str:
    """100*k/n rounded half up, computed exactly in integers: the rule for shares of a count.

    Half-up (12.5% -> 13%) is what readers expect; Python's round() would
    give 12 (round half to even), and floats can misround.
    """
    scale = 10**decimals
    value = (200 * scale * k + n) // (2 * n)
    if decimals == 0:
        return f"{value}%"
    return f"{value // scale}.{value % scale:0{decimals}d}%"
