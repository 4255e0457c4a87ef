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
    # The setup cell is the first code cell calling purestate.setup_notebook(...); anything
    # before it (an old badge, a placeholder) is replaced by the badge.
    setup_index = next(
        (i for i, c in enumerate(cells[:3]) if c.cell_type == "code" and setup_args(c.source) is not None),
        None,
    )
    badge_cell = nbformat.v4.new_markdown_cell("")
    if setup_index is not None and all(c.cell_type == "markdown" for c in cells[:setup_index]):
        args = setup_args(cells[setup_index].source) or ""
        setup_cell = cells[setup_index]
        if setup_index:
            badge_cell = cells[0]  # keeps its cell id, so that a second sync changes nothing
        del cells[: setup_index + 1]
    else:
        args = ""
        setup_cell = nbformat.v4.new_code_cell("")
        if cells and cells[0].cell_type == "markdown" and "colab-badge" in cells[0].source:
            badge_cell = cells.pop(0)
    badge_cell.source = badge_source(path)
    setup_cell.source = setup_source(args)
    cells[:0] = [badge_cell, setup_cell]
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
