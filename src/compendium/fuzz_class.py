"""``make fuzz``'s class target: a mutated class pooled as notebook 8 pools it.

The class's folder (students' coding and span CSVs, ``class.json``) comes from
students and may arrive damaged in any of the ways ``fuzz_mutations`` makes. A
case pools it as notebook 8 does (and ``compendium class report`` for the
codings): every bad file is skipped with a problem naming it, a damaged
``class.json`` is a :class:`~compendium.errors.CompendiumError`, and nothing
else may be raised. ``fuzz`` runs the cases and classifies their outcomes.
"""

from __future__ import annotations

import functools
import warnings
from pathlib import Path

from .classroom import (
    StudentFileSkipped,
    class_agreement,
    class_span_agreement,
    class_view,
    codebook_by_theme,
    segment_positions,
    segments_to_code,
)
from .classroom.files import class_metadata
from .dataset import Dataset, load_dataset
from .fuzz_mutations import DEMO
from .steps.class_agreement import class_spans


@functools.cache
def _demo_dataset() -> Dataset:
    """The demonstration dataset, loaded once: the cases mutate the class, never the data."""
    return load_dataset(DEMO)


def pool_class(folder: Path, spans: bool = True) -> str | None:
    """Pool the class in ``folder``; why it cannot be pooled, or None when it is.

    The coding agreement is computed whenever the class pools; the span agreement
    (most of a case's time) only when ``spans`` is set, which the campaign sets
    when a span file or ``class.json`` changed: another file leaves it the
    unmutated class's.
    """
    dataset = _demo_dataset()
    coder = dataset.primary_coder
    segments = segments_to_code(dataset, None, 8, coder)
    themes = codebook_by_theme(dataset.codebook)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", StudentFileSkipped)  # reported in the view instead
        info = class_metadata(folder)
        view = class_view(dataset, folder, segments, themes, coder, info)
        if not view.reason:
            class_agreement(view.decisions)
        drawn = class_spans(dataset, folder, None, coder, themes, info)
        if spans:
            class_span_agreement(drawn, segment_positions(dataset, segments))
    return view.reason or None
