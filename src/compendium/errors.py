"""The project's own error types, and the words of a one-line message.

Every failure a user can cause (a bad file, a bad argument) is raised as a
:class:`CompendiumError` whose message is written for a person: it names the
file, row or field and says what is wrong. The command-line entry point turns
it into one line on stderr and exit status 1, never a traceback; so do the
benches, and :func:`os_problem` words the system's refusals of a path for both.
"""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass


class CompendiumError(Exception):
    """A problem the user can fix; its message is shown as is."""


@dataclass(frozen=True, order=True)
class Problem:
    """One validation finding, located as precisely as the check allows.

    ``row`` is the record number in the CSV file counting the header as row 1,
    so it matches the row number a spreadsheet shows.
    """

    file: str
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        location = self.file if self.row is None else f"{self.file}:{self.row}"
        column = f" {self.column}:" if self.column else ""
        return f"{location}:{column} {self.message}"


class ValidationError(CompendiumError):
    """A dataset failed validation; carries every problem found."""

    def __init__(self, dataset: str, problems: list[Problem]):
        self.dataset = dataset
        self.problems = problems
        lines = "\n".join(str(p) for p in problems)
        super().__init__(
            f"{lines}\n{dataset}: {len(problems)} problem(s); the dataset is not valid"
        )


def shortened(value: object, limit: int = 60) -> str:
    """``value`` as text for a message: one line, cut to ``limit`` characters with "…".

    A cell of a hostile file may be megabytes long; a message quotes its start.
    """
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown_path(path: str) -> str:
    """A path for a one-line message: whole, or its start and end around an ellipsis."""
    return path if len(path) <= 120 else f"{path[:60]}…{path[-40:]}"


def os_problem(err: OSError) -> str:
    """``PATH: reason`` for an OSError that names a path (the target of a rename, if any)."""
    path = os.fsdecode(err.filename2 if err.filename2 is not None else err.filename)
    reason = err.strerror or type(err).__name__
    if err.errno in (errno.EEXIST, errno.ENOTDIR) and reason == os.strerror(err.errno):
        # the system's words for making a folder where a file or a bad link is in the way
        if os.path.islink(path) and not os.path.exists(path):
            reason = "a link that leads nowhere, or in a loop, where a folder is needed"
        elif os.path.exists(path) and not os.path.isdir(path):
            reason = "not a folder, where a folder is needed"
    return f"{shown_path(path)}: {reason}"
