"""For every exercise: the stub in exercises/ is "not attempted", the solution passes."""

from __future__ import annotations

from pathlib import Path

import pytest

from purestate.registry import evaluate, exercises
from purestate.report import Status
from scripts.notebooks import ROOT, load_answers, read
from tests.wrong_answers.helpers import TIME_LIMIT_SCALE

EXERCISES = exercises()


def notebook_for(exercise_id: str, folder: str) -> Path:
    chapter = int(exercise_id.split(".")[0])
    found = sorted((ROOT / folder).glob(f"{chapter:02d}_*.ipynb"))
    assert len(found) == 1, f"expected one {folder} notebook for chapter {chapter}, found {found}"
    return found[0].relative_to(ROOT)


# Libraries that some Part III pages use; the package does not depend on them, and the lean
# environment of `make test-jax` does not have them.
OPTIONAL_LIBRARIES = {"optax", "flax", "equinox", "orbax"}


def objects_from(path: Path, exercise_id: str) -> tuple[object, ...]:
    try:
        namespace = load_answers(path)
    except ModuleNotFoundError as error:
        if (error.name or "").split(".")[0] in OPTIONAL_LIBRARIES:
            pytest.skip(f"{path} needs {error.name}, which this environment does not have")
        raise
    names = EXERCISES[exercise_id].objects
    missing = [n for n in names if n not in namespace]
    assert not missing, f"{path} defines no {missing} in its answer cells"
    return tuple(namespace[n] for n in names)


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_stub_is_not_attempted(exercise_id: str) -> None:
    path = notebook_for(exercise_id, "exercises")
    result = evaluate(exercise_id, *objects_from(path, exercise_id), time_limit_scale=TIME_LIMIT_SCALE)
    assert result.status is Status.NOT_ATTEMPTED, result.render()


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_solution_passes(exercise_id: str) -> None:
    path = notebook_for(exercise_id, "solutions")
    result = evaluate(exercise_id, *objects_from(path, exercise_id), time_limit_scale=TIME_LIMIT_SCALE)
    assert result.passed, result.render()


@pytest.mark.parametrize("exercise_id", list(EXERCISES))
def test_notebooks_check_the_exercise(exercise_id: str) -> None:
    for folder in ("exercises", "solutions"):
        text = "".join(c.source for c in read(notebook_for(exercise_id, folder)).cells)
        assert f'check("{exercise_id}"' in text, f"{folder} notebook never checks {exercise_id}"


def test_every_exercise_of_the_plan_is_registered() -> None:
    planned = {
        "1.1", "1.2", "1.3", "2.1", "3.1", "3.2", "3.3", "4.1", "4.2", "4.3",
        "5.1", "5.2", "5.3", "5.4", "6.1", "6.2", "7.1", "7.2", "8.1", "8.2", "9.1", "9.2",
    }
    chapters_present = {p.name[:2] for p in (ROOT / "chapters").glob("*.ipynb")}
    expected = {e for e in planned if f"{int(e.split('.')[0]):02d}" in chapters_present}
    assert expected <= set(EXERCISES), sorted(expected - set(EXERCISES))


def test_every_exercise_has_known_wrong_answers() -> None:
    from tests.wrong_answers import collect

    wrong_by_id: dict[str, int] = {}
    for known in collect():
        if known.failing_probe is not None:
            wrong_by_id[known.exercise_id] = wrong_by_id.get(known.exercise_id, 0) + 1
    too_few = {e: wrong_by_id.get(e, 0) for e in EXERCISES if wrong_by_id.get(e, 0) < 3}
    assert not too_few, f"exercises with fewer than three known wrong answers: {too_few}"


def test_every_exercise_has_an_alternative_right_answer() -> None:
    from tests.wrong_answers import collect

    with_right = {k.exercise_id for k in collect() if k.failing_probe is None}
    assert set(EXERCISES) <= with_right, sorted(set(EXERCISES) - with_right)
