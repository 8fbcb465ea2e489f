"""Pure analysis functions over the dataset's tidy tables.

Every function takes the canonical tables of data/README.md as pandas
DataFrames (participants, codebook, segments, codings), never reads or writes
files, and returns a plain DataFrame with documented columns in a
deterministic order. Perspectives always appear as ("entrepreneur",
"intermediary"), both present even when a group is empty. ``coder=None``
means all codings; callers pass the primary coder.
"""

from ..formatting import percent_text
from ._common import PERSPECTIVES
from .agreement import (
    agreement_table,
    agreement_units,
    coders_with_double_coding,
    cohen_kappa_from_counts,
    double_coded_participants,
)
from .comparison import (
    describe_gap,
    largest_gaps,
    perspective_comparison,
    wilson_interval,
)
from .cooccurrence import cooccurrence, incidence
from .frequencies import code_frequencies
from .matrices import (
    QUOTE_RULE,
    clustered_matrix,
    framework_matrix,
    quote_candidates,
    select_quotes,
)
from .saturation import (
    interviews_to_reach,
    new_codes_per_interview,
    saturation_curves,
    saturation_facts,
    saturation_summary,
)
from .structure import NO_SUBTHEME, data_structure

__all__ = [
    "NO_SUBTHEME",
    "PERSPECTIVES",
    "QUOTE_RULE",
    "agreement_table",
    "agreement_units",
    "clustered_matrix",
    "code_frequencies",
    "coders_with_double_coding",
    "cohen_kappa_from_counts",
    "cooccurrence",
    "data_structure",
    "describe_gap",
    "double_coded_participants",
    "framework_matrix",
    "incidence",
    "interviews_to_reach",
    "largest_gaps",
    "new_codes_per_interview",
    "percent_text",
    "perspective_comparison",
    "quote_candidates",
    "saturation_curves",
    "saturation_facts",
    "saturation_summary",
    "select_quotes",
    "wilson_interval",
]
