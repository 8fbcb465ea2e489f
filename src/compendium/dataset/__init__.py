"""The dataset: its descriptor, tables, validation, design, anonymity and generators.

The first floor of the package (see ``src/compendium/README.md``): everything that
describes, reads, checks, writes or generates a dataset folder. Nothing here imports the
analysis, the displays, the steps or the build. The names below are the dataset's public
interface, defined in :mod:`compendium.dataset.core`.
"""

from .core import (
    MAX_FIELD_CHARS,
    Dataset,
    freeze_dataset,
    load_dataset,
    read_descriptor,
    validate_dataset,
    write_csv,
    write_dataset,
)

__all__ = [
    "MAX_FIELD_CHARS",
    "Dataset",
    "read_descriptor",
    "load_dataset",
    "validate_dataset",
    "write_dataset",
    "write_csv",
    "freeze_dataset",
]
