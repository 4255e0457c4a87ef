"""What the doctor found, and how it is printed.

The text holds nothing that changes from run to run (no timings, addresses or random
values), so a notebook cell that runs the doctor has the same output every time.
"""

from __future__ import annotations

from dataclasses import dataclass

from purestate.runner import format_exception  # noqa: F401  (re-exported for the checks)

try:  # the checker's own address scrubber, where it has one
    from purestate.runner import without_addresses as _without_addresses
except ImportError:  # pragma: no cover - older runner
    import re

    _ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")

    def _without_addresses(text: str) -> str:
        return _ADDRESS.sub("", text)


import re

# " at /home/…/file.py:12" in JAX's messages: differs from machine to machine
_PATH = re.compile(r" at (?:[A-Za-z]:)?[/\\][^\s:]*\.py(?::\d+)?")

#: The kinds of finding, in the order a report lists them.
KINDS = (
    "not-traceable",
    "mutates-input",
    "writes-outside",
    "leaks-tracer",
    "bakes-global",
    "recompiles",
    "not-deterministic",
    "jit-differs",
    "reuses-key",
    "python-side-effect",
    # more kinds: the function raised on the example arguments; the doctor ran out of time
    "raises",
    "time-limit",
)


@dataclass(frozen=True)
class Finding:
    """One thing the doctor saw: its ``kind`` (one of ``KINDS``) and the evidence."""

    kind: str
    message: str

    def __str__(self) -> str:
        return f"{self.kind}: {self.message}"


@dataclass(frozen=True)
class Report:
    """What ``doctor`` returns: truthy only when there is no finding."""

    name: str
    findings: tuple[Finding, ...] = ()
    checked: tuple[str, ...] = ()  # what the doctor ran, in words

    def __bool__(self) -> bool:
        return not self.findings

    @property
    def kinds(self) -> tuple[str, ...]:
        """The kinds of the findings, in report order."""
        return tuple(f.kind for f in self.findings)

    def render(self) -> str:
        lines = [f"State doctor · {self.name}"]
        if not self.findings:
            lines.append("  ✓ no finding")
        for finding in self.findings:
            message = finding.message.replace("\n", "\n      ")
            lines.append(f"  ✗ {finding.kind}: {message}")
        if self.checked:
            lines.append(f"  Checked: {', '.join(self.checked)}.")
        count = len(self.findings)
        if count:
            lines.append(f"{count} finding{'s' if count != 1 else ''}.")
        return _PATH.sub("", _without_addresses("\n".join(lines)))

    def __str__(self) -> str:
        return self.render()

    def __repr__(self) -> str:
        return f"Report({self.name!r}, kinds={self.kinds!r})"

    def _ipython_display_(self) -> None:
        """Display nothing in IPython: ``doctor`` has printed the report already."""
