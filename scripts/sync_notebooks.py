"""Write the opening cells of every course notebook: the title, the Colab badge, the setup cell.

A page opens with its title (cell 0, the first ``# `` heading). Cell 1 is the Colab badge,
tagged ``remove-cell``: Colab and GitHub readers see it, the book does not (it has its own
launch button, and the badge image is broken offline). Cell 2 is the setup cell, tagged
``hide-input`` (the book shows its one-line output, the code behind a toggle) and
``nbval-ignore-output`` (it prints the machine's JAX version and devices).

The code cell that follows a "Predict, then run" prompt is tagged ``hide-output``: the book
shows the answer behind a toggle, after the reader has made a prediction.

Badge and setup cell derive from the repository URL in ``_config.yml``; the arguments a
notebook passes to ``purestate.setup_notebook`` are kept. Also sets the standard
``python3`` kernel metadata. Run it after changing the URL or adding a notebook:
``make sync``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.notebooks import (  # noqa: E402
    BADGE_CELL,
    BADGE_TAGS,
    KERNELSPEC,
    PREDICTION,
    ROOT,
    SETUP_CELL,
    SETUP_TAGS,
    badge_source,
    notebooks,
    setup_args,
    setup_source,
)

_OPENING = 4  # the title, badge and setup cell are looked for among the first cells


def _find(cells: list, test) -> int | None:
    return next((i for i, c in enumerate(cells[:_OPENING]) if test(c)), None)


def sync(path: Path) -> bool:
    nb = nbformat.read(ROOT / path, as_version=4)
    before = nbformat.writes(nb)
    cells = nb.cells
    setup_index = _find(cells, lambda c: c.cell_type == "code" and setup_args(c.source) is not None)
    badge_index = _find(cells, lambda c: c.cell_type == "markdown" and "colab-badge" in c.source)
    title_index = _find(cells, lambda c: c.cell_type == "markdown" and c.source.startswith("# "))
    if title_index is None:
        raise ValueError(f"{path}: no title cell (a markdown cell starting with '# ') among the first cells")
    # Cells keep their ids, so that a second sync changes nothing.
    title_cell = cells[title_index]
    badge_cell = cells[badge_index] if badge_index is not None else nbformat.v4.new_markdown_cell("")
    setup_cell = cells[setup_index] if setup_index is not None else nbformat.v4.new_code_cell("")
    args = setup_args(setup_cell.source) or ""
    for index in sorted({i for i in (setup_index, badge_index, title_index) if i is not None}, reverse=True):
        del cells[index]
    badge_cell.source = badge_source(path)
    setup_cell.source = setup_source(args)
    cells[:0] = [title_cell, badge_cell, setup_cell]
    assert cells[BADGE_CELL] is badge_cell and cells[SETUP_CELL] is setup_cell
    for cell, wanted in ((badge_cell, BADGE_TAGS), (setup_cell, SETUP_TAGS)):
        cell_tags = cell.metadata.setdefault("tags", [])
        cell_tags.extend(tag for tag in wanted if tag not in cell_tags)
    for prompt, answer in zip(cells, cells[1:]):
        if prompt.cell_type == "markdown" and PREDICTION in prompt.source and answer.cell_type == "code":
            answer_tags = answer.metadata.setdefault("tags", [])
            if "hide-output" not in answer_tags:
                answer_tags.append("hide-output")
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
