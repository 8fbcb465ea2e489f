"""How numbers are written in the paper's tables and sentences.

One rounding rule for every percentage the reader sees, shared by the tables,
the generated sentences and the analysis's own descriptions; and the one name
of an agreement table's pooled row, which the analysis writes and the displays
name. Imports nothing of the package, so anything may use it.
"""

from __future__ import annotations

#: The ``code_id`` of the row pooling every code, in every agreement measure's table.
#: Here rather than in the analysis, so that a display can know it without importing
#: the analysis (and every notebook run with it).
POOLED = "overall"


def percent_text(k: int, n: int, decimals: int = 0) -> str:
    """100*k/n rounded half up, computed exactly in integers: the project's one rounding rule.

    Half-up (12.5% -> 13%) is what readers expect; Python's round() would
    give 12 (round half to even), and floats can misround.
    """
    scale = 10**decimals
    value = (200 * scale * k + n) // (2 * n)
    if decimals == 0:
        return f"{value}%"
    return f"{value // scale}.{value % scale:0{decimals}d}%"
