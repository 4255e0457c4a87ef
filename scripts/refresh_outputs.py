"""Re-execute notebooks in place, storing the outputs readers see and nbval checks.

    python scripts/refresh_outputs.py [NOTEBOOK ...]   # default: every course notebook

Run it after a deliberate change (``make refresh``), then read the diff of the outputs.
Cells tagged ``raises-exception`` may raise; any other error stops the refresh.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.notebooks import ROOT, execute, notebooks  # noqa: E402


def merge_streams(outputs: list) -> list:
    """Join consecutive stdout (or stderr) chunks: how the kernel flushed them is chance."""
    merged: list = []
    for output in outputs:
        previous = merged[-1] if merged else None
        if (
            output.output_type == "stream"
            and previous is not None
            and previous.output_type == "stream"
            and previous.name == output.name
        ):
            previous.text += output.text
        else:
            merged.append(output)
    return merged


def refresh(path: Path) -> float:
    nb, elapsed = execute(path)
    for cell in nb.cells:  # run timestamps would make every refresh a diff
        cell.metadata.pop("execution", None)
        if cell.cell_type == "code":
            cell.outputs = merge_streams(cell.outputs)
    nbformat.write(nb, ROOT / path)
    return elapsed


def main(argv: list[str]) -> None:
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    paths = [Path(a) for a in argv] or notebooks()
    for path in paths:
        path = path.resolve().relative_to(ROOT) if path.is_absolute() else path
        print(f"{refresh(path):6.1f} s  {path}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
