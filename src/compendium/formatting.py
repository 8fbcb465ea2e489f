"""How numbers are written in the paper's tables and sentences.

One rounding rule for every percentage the reader sees, shared by the tables,
the generated sentences and the analysis's own descriptions. Imports nothing
of the package, so anything may use it.
"""

from __future__ import annotations


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
