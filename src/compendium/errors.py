"""The project's own error types.

Every failure a user can cause (a bad file, a bad argument) is raised as a
:class:`CompendiumError` whose message is written for a person: it names the
file, row or field and says what is wrong. The command-line entry point turns
it into one line on stderr and exit status 1, never a traceback.
"""

from __future__ import annotations

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

