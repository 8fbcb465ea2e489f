"""The dataset: its descriptor, tables, validation, design, anonymity and generators.

The first floor of the package (see ``src/compendium/README.md``): everything that
describes, reads, checks, writes or generates a dataset folder. Nothing here imports the
analysis, the displays, the steps or the build. The names below are the dataset's public
interface, defined in :mod:`compendium.dataset.core` (loading and writing),
:mod:`compendium.dataset.validation` and :mod:`compendium.dataset.datapackage`.

They are imported on first use (PEP 562), so that a module that needs only the
descriptor (``compendium.dataset.datapackage``, read by every paper step) does not
pay for pandas through this package.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the same names, for the type checker and the import graph
    from .core import Dataset, freeze_dataset, load_dataset, write_csv, write_dataset
    from .datapackage import read_descriptor
    from .validation import MAX_FIELD_CHARS, validate_dataset

#: Each public name and the module of this package that defines it.
_HOMES = {
    "Dataset": "core",
    "freeze_dataset": "core",
    "load_dataset": "core",
    "write_csv": "core",
    "write_dataset": "core",
    "read_descriptor": "datapackage",
    "MAX_FIELD_CHARS": "validation",
    "validate_dataset": "validation",
}

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


def __getattr__(name: str) -> Any:
    """Import a public name's module on first use, and keep the name here."""
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
    globals()[name] = value
    return value
