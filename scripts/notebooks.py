"""The course's notebooks as data: paths, the badge and setup cells, the answer cells.

Used by ``scripts/sync_notebooks.py`` (writes the badge and setup cells), the hygiene tests
and the checker tests (which execute the ``answer`` cells), and the benchmark.
"""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

import nbformat

ROOT = Path(__file__).resolve().parent.parent
FOLDERS = ("chapters", "exercises", "solutions")
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
SETUP_CALL = re.compile(r"^purestate\.setup_notebook\((?P<args>[^)]*)\)$", re.MULTILINE)
COLAB_BADGE_IMAGE = "https://colab.research.google.com/assets/colab-badge.svg"
# The opening cells of every notebook (written by scripts/sync_notebooks.py).
TITLE_CELL, BADGE_CELL, SETUP_CELL = 0, 1, 2
BADGE_TAGS = ("remove-cell",)  # Colab and GitHub show the badge; the book has a launch button
SETUP_TAGS = ("hide-input", "nbval-ignore-output")
PREDICTION = "Predict, then run"  # a prompt whose answer cell hides its output in the book


def notebooks(folders: tuple[str, ...] = FOLDERS) -> list[Path]:
    """Every course notebook, relative paths sorted by folder then name."""
    return sorted(
        (p.relative_to(ROOT) for folder in folders for p in (ROOT / folder).glob("*.ipynb")),
        key=lambda p: (FOLDERS.index(p.parts[0]), p.name),
    )


def repository() -> tuple[str, str]:
    """(URL, branch) from ``_config.yml``: the one place the repository is named."""
    text = (ROOT / "_config.yml").read_text()
    url = re.search(r"^\s+url:\s*(https://github\.com/\S+?)/?\s*$", text, re.MULTILINE)
    branch = re.search(r"^\s+branch:\s*(\S+)\s*$", text, re.MULTILINE)
    if not url or not branch:
        raise ValueError("_config.yml needs repository.url (a GitHub URL) and repository.branch")
    return url.group(1), branch.group(1)


def pages_url() -> str:
    """Where the book is published: GitHub Pages of the repository in ``_config.yml``."""
    url, _ = repository()
    owner, name = url.removeprefix("https://github.com/").split("/")[:2]
    return f"https://{owner.lower()}.github.io/{name}/"


def colab_url(path: Path) -> str:
    url, branch = repository()
    github_path = url.removeprefix("https://github.com/")
    return f"https://colab.research.google.com/github/{github_path}/blob/{branch}/{path.as_posix()}"


def badge_source(path: Path) -> str:
    return f"[![Open in Colab]({COLAB_BADGE_IMAGE})]({colab_url(path)})"


def setup_source(setup_args: str = "") -> str:
    url, branch = repository()
    return (
        "# Setup: runs unchanged locally and in Colab, from any working directory.\n"
        "try:\n"
        "    import purestate\n"
        "except ImportError:  # in Colab: install the course helpers from the repository\n"
        f'    %pip install --quiet "purestate @ git+{url}@{branch}"\n'
        "    import purestate\n"
        "\n"
        f"purestate.setup_notebook({setup_args})"
    )


def setup_args(source: str) -> str | None:
    """The arguments of ``purestate.setup_notebook(...)`` in a setup cell, or None."""
    match = SETUP_CALL.search(source)
    return match.group("args") if match else None


def read(path: Path) -> Any:
    return nbformat.read(ROOT / path, as_version=4)


def tags(cell: Any) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def answer_cells(path: Path) -> list[str]:
    return [c.source for c in read(path).cells if c.cell_type == "code" and "answer" in tags(c)]


def execute(path: Path, working_dir: Path | None = None) -> tuple[Any, float]:
    """Run a course notebook in a fresh ``python3`` kernel; return it executed and the seconds.

    The kernel starts in the notebook's folder unless ``working_dir`` says otherwise.
    """
    from nbconvert.preprocessors import ExecutePreprocessor

    nb = read(path)
    start = time.perf_counter()
    # The kernel logs an "unencrypted TCP transport" warning on every start; errors still show.
    quiet = ["--IPKernelApp.log_level=ERROR"]
    ExecutePreprocessor(timeout=600, kernel_name="python3", extra_arguments=quiet).preprocess(
        nb, {"metadata": {"path": str(working_dir or (ROOT / path).parent)}}
    )
    return nb, time.perf_counter() - start


def load_answers(path: Path) -> dict[str, Any]:
    """Execute the ``answer`` cells of a notebook, in order, in a fresh namespace."""
    namespace: dict[str, Any] = {"__name__": f"answers_{path.stem}"}
    for source in answer_cells(path):
        exec(compile(source, f"{path}:answer", "exec"), namespace)
    return namespace
