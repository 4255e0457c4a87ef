"""The book builds with warnings as errors, as `make book` builds it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from scripts.notebooks import ROOT


def test_book_builds_without_warnings(tmp_path: Path) -> None:
    jupyter_book = Path(sys.executable).parent / "jupyter-book"
    result = subprocess.run(
        [str(jupyter_book), "build", str(ROOT), "--path-output", str(tmp_path), "-W", "-n", "--keep-going"],
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    assert (tmp_path / "_build" / "html" / "chapters" / "01_mutation.html").exists()
