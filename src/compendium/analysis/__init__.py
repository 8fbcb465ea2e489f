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
    agreement_counts,
    agreement_table,
    agreement_table_from_counts,
    agreement_units,
    coders_with_double_coding,
    cohen_kappa_from_counts,
    double_coded_participants,
    krippendorff_alpha_from_counts,
)
from .character import (
    character_agreement,
    character_agreement_many,
    character_counts,
    coverage_runs,
    kappa_from_table,
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
from .measures import (
    POOLED,
    MeasureInputs,
    boundary_differences,
    character_measure,
    choose_measure,
    measure_inputs,
    overlap_measure,
    second_coder_for,
    segment_measure,
    unitized_measure,
    unitized_table,
)
from .multirater import binary_agreement
from .overlap import DEFAULT_THRESHOLD, brennan_prediger, overlap_agreement, overlap_segments
from .saturation import (
    interviews_to_reach,
    new_codes_per_interview,
    saturation_curves,
    saturation_facts,
    saturation_summary,
)
from .spans import (
    AgreementDataError,
    check_coders,
    coder_spans,
    coders_with_overlapping_spans,
    merge_overlapping,
    self_overlaps,
    shared_sources,
    source_lengths,
)
from .structure import NO_SUBTHEME, collapse_codes, data_structure
from .unitized import (
    Coefficient,
    alpha_family,
    alpha_u_category,
    coincidences,
    pooled_category_alpha,
    unitized_multivalued,
    unitized_per_code,
)

__all__ = [
    "AgreementDataError",
    "Coefficient",
    "DEFAULT_THRESHOLD",
    "MeasureInputs",
    "NO_SUBTHEME",
    "PERSPECTIVES",
    "POOLED",
    "QUOTE_RULE",
    "agreement_counts",
    "agreement_table",
    "agreement_table_from_counts",
    "agreement_units",
    "brennan_prediger",
    "alpha_family",
    "alpha_u_category",
    "boundary_differences",
    "binary_agreement",
    "character_agreement",
    "character_measure",
    "character_agreement_many",
    "character_counts",
    "check_coders",
    "choose_measure",
    "clustered_matrix",
    "code_frequencies",
    "collapse_codes",
    "coder_spans",
    "coders_with_double_coding",
    "coders_with_overlapping_spans",
    "cohen_kappa_from_counts",
    "krippendorff_alpha_from_counts",
    "coincidences",
    "coverage_runs",
    "cooccurrence",
    "data_structure",
    "describe_gap",
    "double_coded_participants",
    "framework_matrix",
    "incidence",
    "interviews_to_reach",
    "kappa_from_table",
    "largest_gaps",
    "measure_inputs",
    "merge_overlapping",
    "new_codes_per_interview",
    "overlap_agreement",
    "overlap_measure",
    "overlap_segments",
    "percent_text",
    "pooled_category_alpha",
    "perspective_comparison",
    "quote_candidates",
    "saturation_curves",
    "saturation_facts",
    "saturation_summary",
    "second_coder_for",
    "segment_measure",
    "select_quotes",
    "self_overlaps",
    "shared_sources",
    "source_lengths",
    "unitized_multivalued",
    "unitized_measure",
    "unitized_per_code",
    "unitized_table",
    "wilson_interval",
]
