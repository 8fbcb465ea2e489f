"""The dataset: its descriptor, tables, validation, design, anonymity and generators.

The first floor of the package (see ``src/compendium/README.md``): everything that
describes, reads, checks, writes or generates a dataset folder. Nothing here imports the
analysis, the displays, the steps or the build. The names below are the dataset's public
interface, defined in :mod:`compendium.dataset.core` (loading and writing),
:mod:`compendium.dataset.validation` and :mod:`compendium.dataset.datapackage`.
"""

from .core import Dataset, freeze_dataset, load_dataset, write_csv, write_dataset
from .datapackage import read_descriptor
from .validation import MAX_FIELD_CHARS, validate_dataset

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
