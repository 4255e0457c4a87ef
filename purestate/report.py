"""What a check found, and how it is printed.

A report never contains anything that changes from run to run (timings, addresses, random
values), so that the stored outputs of the exercise notebooks stay identical under nbval.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

from purestate.runner import without_addresses


class Status(str, Enum):
    """The outcome of one probe, or of a whole check."""

    PASSED = "passed"
    FAILED = "failed"
    NOT_ATTEMPTED = "not attempted"
    SKIPPED = "skipped"
    INVALID = "invalid"  # the call to check() itself was wrong (unknown id, missing objects)


@dataclass(frozen=True)
class ProbeOutcome:
    """One probe's verdict on the reader's answer."""

    key: str
    description: str
    status: Status
    message: str = ""


_MARKS = {
    Status.PASSED: "✓",
    Status.FAILED: "✗",
    Status.SKIPPED: "·",
    Status.NOT_ATTEMPTED: "…",
    Status.INVALID: "!",
}


@dataclass(frozen=True)
class CheckResult:
    """What `check` returns: truthy only when every probe passed."""

    exercise_id: str
    signature: str
    status: Status
    outcomes: tuple[ProbeOutcome, ...] = ()
    message: str = ""
    hint: str = field(default="", repr=False)

    def __bool__(self) -> bool:
        return self.status is Status.PASSED

    @property
    def passed(self) -> bool:
        return bool(self)

    @property
    def failed_keys(self) -> tuple[str, ...]:
        """Keys of the probes that failed, in the order they ran."""
        return tuple(o.key for o in self.outcomes if o.status is Status.FAILED)

    def __repr__(self) -> str:
        return f"CheckResult({self.exercise_id!r}, status={self.status.value!r})"

    def _ipython_display_(self) -> None:
        """Display nothing in IPython: `check` has printed the report already.

        A check cell then has the same output whether or not IPython honours its trailing
        `;` (nbval runs cells with store_history=False, and there it does not).
        """

    def render(self) -> str:
        """The report as the reader sees it."""
        header = f"Exercise {self.exercise_id} · {self.signature}".rstrip(" ·")
        if self.status is Status.INVALID:
            return without_addresses(f"{header}\n  {self.message}")
        if self.status is Status.NOT_ATTEMPTED:
            return without_addresses(
                f"{header}: not attempted yet.\n"
                f"  {self.message or 'The stub still raises NotImplementedError.'}\n"
                "  Replace the body of the stub with your code and run this cell again."
            )
        lines = [header]
        for outcome in self.outcomes:
            text = f"  {_MARKS[outcome.status]} {outcome.description}"
            if outcome.message:
                text += f"\n      {_indent(outcome.message)}"
            lines.append(text)
        if self.message:
            lines.append(f"  Note: {_indent(self.message)}")
        total = len(self.outcomes)
        failed = len(self.failed_keys)
        skipped = sum(o.status is Status.SKIPPED for o in self.outcomes)
        if self.status is Status.PASSED:
            lines.append(f"Passed: all {total} probes.")
        else:
            not_run = f" ({skipped} not run)" if skipped else ""
            lines.append(f"Not yet: {failed} of {total} probes failed{not_run}.")
            if self.hint:
                lines.append(f"Hint: {self.hint}")
        return without_addresses("\n".join(lines))


def _indent(message: str) -> str:
    return message.replace("\n", "\n      ")
