"""Notebook hygiene, read as JSON: nothing here executes a notebook."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from scripts.notebooks import (
    BADGE_CELL,
    BADGE_TAGS,
    FOLDERS,
    KERNELSPEC,
    PREDICTION,
    ROOT,
    SETUP_CELL,
    SETUP_TAGS,
    TITLE_CELL,
    badge_source,
    notebooks,
    read,
    setup_args,
    setup_source,
    tags,
)

NOTEBOOKS = notebooks()
ANSI_ESCAPE = "\x1b["
MACHINE_PATH = re.compile(r"(site-packages|dist-packages|/tmp/|/root/|/home/|\.venv/|/usr/lib/python)")


def toc_files() -> set[str]:
    return set(re.findall(r"^\s*- file:\s*(\S+)\s*$", (ROOT / "_toc.yml").read_text(), re.MULTILINE))


def test_there_are_notebooks() -> None:
    assert NOTEBOOKS


def test_every_notebook_is_in_the_toc_and_back() -> None:
    listed = {f for f in toc_files() if f.split("/")[0] in FOLDERS}
    present = {p.with_suffix("").as_posix() for p in NOTEBOOKS}
    assert present - listed == set(), "notebooks missing from _toc.yml"
    assert listed - present == set(), "_toc.yml lists notebooks that do not exist"


def test_the_three_folders_hold_the_same_chapters() -> None:
    names = {folder: {p.name for p in NOTEBOOKS if p.parts[0] == folder} for folder in FOLDERS}
    assert names["chapters"] == names["exercises"] == names["solutions"]
    for name in names["chapters"]:
        assert re.fullmatch(r"\d\d_[a-z0-9_]+\.ipynb", name), name


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_title_badge_and_setup_cell(path: Path) -> None:
    cells = read(path).cells
    title = cells[TITLE_CELL]
    assert title.cell_type == "markdown" and title.source.startswith("# "), (
        "a page opens with its title: cell 0 is the `# ` heading (run `make sync`)"
    )
    badge = cells[BADGE_CELL]
    assert badge.cell_type == "markdown" and badge.source == badge_source(path), (
        "cell 1 must be the Colab badge for this path: run `make sync`"
    )
    assert set(BADGE_TAGS) <= set(tags(badge)), "the badge is for Colab and GitHub, removed from the book"
    setup = cells[SETUP_CELL]
    args = setup_args(setup.source)
    assert setup.cell_type == "code" and args is not None, "cell 2 must be the setup cell"
    assert setup.source == setup_source(args), "the setup cell differs from the template: run `make sync`"
    assert set(SETUP_TAGS) <= set(tags(setup))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_predictions_are_answered_behind_a_toggle(path: Path) -> None:
    """The cell after a "Predict, then run" prompt hides its output until the reader opens it."""
    cells = read(path).cells
    for index, cell in enumerate(cells[:-1]):
        if cell.cell_type == "markdown" and PREDICTION in cell.source:
            answer = cells[index + 1]
            assert answer.cell_type == "code", f"cell {index} asks for a prediction, but no code cell follows"
            assert "hide-output" in tags(answer), (
                f"cell {index + 1} answers the prediction of cell {index}: tag it `hide-output` (`make sync` does)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_no_output_has_colour_codes(path: Path) -> None:
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type == "code":
            assert not any(ANSI_ESCAPE in text for text in _strings(cell.outputs)), (
                f"cell {index} stores ANSI colour codes (print jaxprs with `.pretty_print(use_color=False)`)"
            )


def _strings(value: object) -> list[str]:
    """Every string inside a cell's outputs (texts, tracebacks, data of every MIME type)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for v in value.values() for s in _strings(v)]
    if isinstance(value, list):
        return [s for v in value for s in _strings(v)]
    return []


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_every_listing_is_executed(path: Path) -> None:
    """Code the course shows runs: no listing in prose stands in for a cell that was not run."""
    for index, cell in enumerate(read(path).cells):
        assert "not executed" not in cell.source.lower(), f"cell {index} shows code marked as not executed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_kernel_metadata_is_standard(path: Path) -> None:
    assert read(path).metadata.get("kernelspec") == KERNELSPEC


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_exception_cells_use_the_tag(path: Path) -> None:
    for cell in read(path).cells:
        if cell.cell_type == "code":
            assert "NBVAL_RAISES_EXCEPTION" not in cell.source, (
                "use the raises-exception tag, not the comment (the comment breaks the book build)"
            )


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_every_code_cell_was_executed_in_order(path: Path) -> None:
    code = [c for c in read(path).cells if c.cell_type == "code" and c.source.strip()]
    counts = [c.execution_count for c in code]
    assert None not in counts, "some code cells have no stored execution: run `make refresh NB=...`"
    assert counts == sorted(counts), "cells were executed out of order: run `make refresh NB=...`"


@pytest.mark.parametrize("path", [p for p in NOTEBOOKS if p.parts[0] != "exercises"], ids=str)
def test_chapters_and_solutions_show_outputs(path: Path) -> None:
    code = [c for c in read(path).cells if c.cell_type == "code"]
    assert sum(bool(c.outputs) for c in code) >= len(code) // 2


@pytest.mark.parametrize("path", NOTEBOOKS, ids=str)
def test_no_output_shows_a_machine_path(path: Path) -> None:
    for index, cell in enumerate(read(path).cells):
        if cell.cell_type != "code":
            continue
        text = re.sub(r"\x1b\[[0-9;]*m", "", json.dumps(cell.outputs))
        found = MACHINE_PATH.search(text)
        assert not found, f"cell {index} shows a machine path ({found.group(0)})"


@pytest.mark.parametrize("name", sorted({p.name for p in NOTEBOOKS if p.parts[0] == "exercises"}))
def test_exercises_and_solutions_differ_only_in_answer_cells(name: str) -> None:
    exercise = read(Path("exercises") / name).cells
    solution = read(Path("solutions") / name).cells
    assert len(exercise) == len(solution)
    for index, (e, s) in enumerate(zip(exercise, solution)):
        assert e.cell_type == s.cell_type and tags(e) == tags(s), f"cell {index} differs in kind or tags"
        if index == TITLE_CELL:
            assert e.source.startswith("# Exercises · "), "the exercises' title starts with '# Exercises · '"
            assert s.source == e.source.replace("# Exercises · ", "# Solutions · ", 1), (
                "the solutions' title cell is the exercises' with 'Solutions' for 'Exercises'"
            )
        elif index != BADGE_CELL and "answer" not in tags(e):
            assert e.source == s.source, f"cell {index} is not an answer cell but differs"
    assert any("answer" in tags(c) for c in exercise), "no cell is tagged `answer`"


@pytest.mark.parametrize("name", sorted({p.name for p in NOTEBOOKS if p.parts[0] == "exercises"}))
def test_stubs_raise_not_implemented(name: str) -> None:
    for cell in read(Path("exercises") / name).cells:
        if "answer" in tags(cell) and "def " in cell.source:
            assert "NotImplementedError" in cell.source
