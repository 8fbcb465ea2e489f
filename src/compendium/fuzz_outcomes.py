"""What a case of ``make fuzz`` gave: its outcome, the campaign's totals, and the time limit.

Shared by the harness (``fuzz``) and its targets' modules (``fuzz_cli``), so that every
target classifies a case with the same words: refused, accepted, or a defect
(internal error, hang, partial output, silent loss, valid input refused).
"""

from __future__ import annotations

import contextlib
import signal
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field

#: Seconds one case may take before it counts as a hang.
TIME_LIMIT = 20.0
REFUSED, ACCEPTED = "refused", "accepted"
INTERNAL, HANG, PARTIAL, LOSS = "internal error", "hang", "partial output", "silent loss"
#: A mutation that must change nothing (a byte-order mark, CRLF, UTF-16) and was refused.
WRONGLY_REFUSED = "valid input refused"
DEFECTS = (INTERNAL, HANG, PARTIAL, LOSS, WRONGLY_REFUSED)


class CaseTimeout(BaseException):
    """Raised by the alarm; a BaseException so that no ``except Exception`` swallows it."""


@dataclass
class Outcome:
    """What one case gave."""

    target: str
    seed: str
    mutation: str
    kind: str
    detail: str = ""


@dataclass
class Totals:
    """Counts by target and outcome, with the first case of each defect signature."""

    counts: Counter = field(default_factory=Counter)
    examples: dict[tuple[str, str, str], Outcome] = field(default_factory=dict)

    def add(self, outcome: Outcome) -> None:
        """Count one outcome (and keep the first of each defect signature)."""
        self.counts[(outcome.target, outcome.kind)] += 1
        if outcome.kind in DEFECTS:
            signature = (outcome.target, outcome.kind, outcome.detail.split(":")[0][:80])
            self.examples.setdefault(signature, outcome)

    @property
    def defects(self) -> int:
        """How many cases ended in a defect."""
        return sum(n for (_, kind), n in self.counts.items() if kind in DEFECTS)

    @property
    def cases(self) -> int:
        """How many cases ran."""
        return sum(self.counts.values())

    def report(self) -> str:
        """The totals as lines of text."""
        lines = []
        for target in sorted({t for t, _ in self.counts}):
            row = {k: self.counts[(target, k)] for k in (REFUSED, ACCEPTED, *DEFECTS)}
            lines.append(f"{target:<10} {sum(row.values()):>6} cases: " + ", ".join(
                f"{n} {k}" for k, n in row.items()))
        lines.append(f"{'total':<10} {self.cases:>6} cases: {self.defects} defect(s)")
        for (target, kind, _), example in sorted(self.examples.items()):
            lines.append(f"  {kind} in {target}: {example.seed} / {example.mutation}: "
                         f"{example.detail}")
        return "\n".join(lines)


@contextlib.contextmanager
def time_limit(seconds: float) -> Iterator[None]:
    """Raise :class:`CaseTimeout` in this thread after ``seconds`` (a blocking open included)."""
    def expire(signum, frame):
        raise CaseTimeout()
    previous = signal.signal(signal.SIGALRM, expire)
    signal.setitimer(signal.ITIMER_REAL, seconds)
    try:
        yield
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
