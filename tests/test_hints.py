"""Hints nudge; they never hand over the solution."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from purestate.registry import exercises, hint
from scripts.notebooks import answer_cells, notebooks

EXERCISES = exercises()
MIN_LEVELS = 2
# Solution lines shorter than this (`x = 0`, `return h`) are too generic to give anything away.
MIN_LINE = 14


def _normalise(text: str) -> str:
    return re.sub(r"\s+", "", text.replace("`", ""))


def _solution_lines(chapter: int) -> set[str]:
    """The distinctive code lines of a chapter's solutions, whitespace removed."""
    path = next(p for p in notebooks(("solutions",)) if int(p.name[:2]) == chapter)
    lines: set[str] = set()
    for source in answer_cells(path):
        for line in source.splitlines():
            code = line.split("#", 1)[0].strip()
            if not code or code.startswith(("def ", "class ", "import ", "from ", '"""', "'''", "@")):
                continue
            # A hint that holds the expression alone gives as much away as the whole line.
            parts = {code, code.removeprefix("return ").strip()}
            if re.match(r"^[\w.\[\], ]+ = ", code):
                parts.add(code.split(" = ", 1)[1])
            lines.update(_normalise(part) for part in parts if len(_normalise(part)) >= MIN_LINE)
    return lines


def _hints_of(exercise_id: str) -> list[tuple[str, str]]:
    exercise = EXERCISES[exercise_id]
    found = [(f"hint level {i + 1}", text) for i, text in enumerate(exercise.hints)]
    found += [(f"the hint of probe {p.key!r}", p.hint) for p in exercise.probes if p.hint]
    return found


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_hints_are_graded(exercise_id: str) -> None:
    assert len(EXERCISES[exercise_id].hints) >= MIN_LEVELS, f"give {exercise_id} at least {MIN_LEVELS} hint levels"


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_no_hint_contains_a_line_of_the_solution(exercise_id: str) -> None:
    solution = _solution_lines(EXERCISES[exercise_id].chapter)
    for where, text in _hints_of(exercise_id):
        flat = _normalise(text)
        leaked = sorted(line for line in solution if line in flat)
        assert not leaked, f"{exercise_id}: {where} contains solution code: {leaked}"


def test_hint_levels_are_reachable(capsys: pytest.CaptureFixture[str]) -> None:
    exercise_id, exercise = next(iter(EXERCISES.items()))
    hint(exercise_id)
    first = capsys.readouterr().out
    assert exercise.hints[0] in first and f'hint("{exercise_id}", 2)' in first
    hint(exercise_id, len(exercise.hints))
    assert exercise.hints[-1] in capsys.readouterr().out


def test_a_failed_probe_shows_its_own_hint() -> None:
    from purestate.registry import evaluate

    def add_item(items, item):  # the classic in-place append
        items.append(item)
        return items

    result = evaluate("1.1", add_item)
    assert not result
    first_failed = next(p for p in EXERCISES["1.1"].probes if p.key == result.failed_keys[0])
    assert result.hint == (first_failed.hint or EXERCISES["1.1"].hints[0])
    assert f"Hint: {result.hint}" in result.render()


def test_every_chapter_has_solutions() -> None:
    chapters = {exercise.chapter for exercise in EXERCISES.values()}
    with_solutions = {int(Path(p).name[:2]) for p in notebooks(("solutions",))}
    assert chapters <= with_solutions
