"""Write the Colab badge (cell 0) and setup cell (cell 1) of every course notebook.

Both derive from the repository URL in ``_config.yml``; the arguments a notebook passes to
``purestate.setup_notebook`` are kept. Also sets the standard ``python3`` kernel metadata.
Run it after changing the URL or adding a notebook: ``make sync``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.notebooks import KERNELSPEC, ROOT, badge_source, notebooks, setup_args, setup_source  # noqa: E402


def sync(path: Path) -> bool:
    nb = nbformat.read(ROOT / path, as_version=4)
    before = nbformat.writes(nb)
    cells = nb.cells
    if not cells or cells[0].cell_type != "markdown" or "colab-badge" not in cells[0].source:
        cells.insert(0, nbformat.v4.new_markdown_cell(""))
    cells[0].source = badge_source(path)
    has_setup = len(cells) > 1 and cells[1].cell_type == "code" and setup_args(cells[1].source) is not None
    if not has_setup:
        cells.insert(1, nbformat.v4.new_code_cell(""))
    args = setup_args(cells[1].source) or ""
    cells[1].source = setup_source(args)
    cell_tags = cells[1].metadata.setdefault("tags", [])
    if "nbval-ignore-output" not in cell_tags:
        cell_tags.append("nbval-ignore-output")
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    nb.metadata.setdefault("language_info", {})["name"] = "python"
    after = nbformat.writes(nb)
    if after != before:
        nbformat.write(nb, ROOT / path)
        return True
    return False


def main() -> None:
    for path in notebooks():
        if sync(path):
            print(f"updated {path}")


if __name__ == "__main__":
    main()
