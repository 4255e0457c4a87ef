"""`check` on bad input: every kind of broken answer gets a short, specific message."""

from __future__ import annotations

import dataclasses
import time

import pytest

from purestate import check, hint, probes, registry
from purestate.registry import Exercise, broken_modules, evaluate, exercises, register
from purestate.report import Status


def append_in_place(items: list, item: object) -> list:
    items.append(item)
    return items


def raises_key_error(items: list, item: object) -> list:
    return {}["missing"]


def returns_tuple(items: list, item: object) -> tuple:
    return (*items, item)


def returns_too_short(items: list, item: object) -> list:
    return list(items)


def returns_none(items: list, item: object) -> None:
    items + [item]


def loops_forever(items: list, item: object) -> list:
    while True:
        pass


def recurses_forever(items: list, item: object) -> list:
    return recurses_forever(items, item)


class Unprintable:
    def __repr__(self) -> str:
        raise RuntimeError("no repr")

    def __eq__(self, other: object) -> bool:
        raise RuntimeError("no eq")


def returns_unprintable(items: list, item: object) -> Unprintable:
    return Unprintable()


def failure_text(result) -> str:
    return "\n".join(o.message for o in result.outcomes if o.status is Status.FAILED)


def test_mutating_the_input_is_named() -> None:
    result = evaluate("1.1", append_in_place)
    assert "inputs-unchanged" in result.failed_keys
    assert "changed its argument `items`" in failure_text(result)


def test_an_exception_is_reported_with_its_type() -> None:
    result = evaluate("1.1", raises_key_error)
    assert result.status is Status.FAILED
    assert "add_item raised KeyError: 'missing'" in failure_text(result)


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (returns_tuple, "expected a list, got a tuple"),
        (returns_too_short, "expected a list of length 3, got length 2"),
        (returns_none, "expected a list, got a NoneType"),
    ],
)
def test_wrong_type_or_length_is_described(answer, expected: str) -> None:
    result = evaluate("1.1", answer)
    assert "matches-reference" in result.failed_keys
    assert expected in failure_text(result)


def test_an_endless_loop_is_stopped_and_reported() -> None:
    scale = 0.2  # the reader's 10 s would make this the slowest test of the suite
    start = time.perf_counter()
    result = evaluate("1.1", loops_forever, time_limit_scale=scale)
    elapsed = time.perf_counter() - start
    assert result.status is Status.FAILED
    assert f"did not finish within {exercises()['1.1'].time_limit_s * scale:g} s" in failure_text(result)
    assert elapsed < exercises()["1.1"].time_limit_s * scale + 3
    assert {o.status for o in result.outcomes[1:]} == {Status.SKIPPED}


def _gated_exercise(exercise_id: str) -> Exercise:
    def fails(answer) -> None:
        raise probes.ProbeFailure("the structure is wrong")

    def passes(answer) -> None:
        pass

    def must_not_run(answer) -> None:
        raise AssertionError("a probe ran although a probe it requires had failed")

    return Exercise(
        exercise_id, "f(x)", ("f",),
        (
            probes.Probe("structure", "the structure is right", fails),
            probes.Probe("cheap", "a cheap property", passes),
            *probes.after("structure", probes.Probe("slow", "a slow property", must_not_run)),
            *probes.after("cheap", probes.Probe("after-cheap", "runs after the cheap one", passes)),
        ),
        hints=("a hint",),
    )


def test_a_probe_waits_for_the_probes_it_requires() -> None:
    exercise = register(_gated_exercise("99.1"))
    try:
        result = evaluate(exercise.id, lambda x: x)
    finally:
        registry._EXERCISES.pop(exercise.id)
    statuses = {o.key: (o.status, o.message) for o in result.outcomes}
    assert statuses["structure"][0] is Status.FAILED
    assert statuses["slow"] == (Status.SKIPPED, "not run until “the structure is right” passes")
    assert statuses["after-cheap"][0] is Status.PASSED
    assert "(1 not run)" in result.render()


def test_stop_after_runs_the_probes_up_to_the_one_named() -> None:
    exercise = register(_gated_exercise("99.3"))
    try:
        result = evaluate(exercise.id, lambda x: x, stop_after="cheap")
        with pytest.raises(ValueError, match="no probe 'nonesuch'"):
            evaluate(exercise.id, lambda x: x, stop_after="nonesuch")
    finally:
        registry._EXERCISES.pop(exercise.id)
    assert [o.status for o in result.outcomes] == [Status.FAILED, Status.PASSED, Status.SKIPPED, Status.SKIPPED]
    assert result.outcomes[-1].message == "not run (stopped after cheap)"


def test_a_probe_can_only_require_probes_that_run_before_it() -> None:
    exercise = _gated_exercise("99.2")
    backwards = dataclasses.replace(exercise, probes=exercise.probes[2:] + exercise.probes[:2])
    with pytest.raises(ValueError, match="requires"):
        register(backwards)
    assert registry.get("99.2") is None


def test_endless_recursion_is_reported() -> None:
    result = evaluate("1.1", recurses_forever)
    assert "RecursionError" in failure_text(result)


def test_a_result_that_breaks_comparison_does_not_crash_the_checker(capsys) -> None:
    result = check("1.1", returns_unprintable)
    assert result.status is Status.FAILED
    assert "Exercise 1.1" in capsys.readouterr().out


def test_a_stub_is_not_attempted(capsys) -> None:
    def add_item(items: list, item: object) -> list:
        raise NotImplementedError("write add_item")

    result = check("1.1", add_item)
    assert result.status is Status.NOT_ATTEMPTED and not result
    assert "not attempted yet" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("9.9", append_in_place), "There is no exercise '9.9'"),
        (("1.1",), "takes 1 object(s): add_item"),
        (("1.1", append_in_place, append_in_place), "it was given 2"),
        (("1.1", 42), "add_item should be a function or class; check was given an int: 42"),
    ],
)
def test_a_wrong_call_of_check_is_explained(capsys, args, expected: str) -> None:
    result = check(*args)
    assert result.status is Status.INVALID and not result
    assert expected in capsys.readouterr().out


async def add_item_async(items: list, item: object) -> list:
    return items + [item]


def add_item_yielding(items: list, item: object):
    yield items + [item]


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (add_item_async, "add_item is an async function (async def)"),
        (add_item_yielding, "add_item is a generator function (it contains yield)"),
    ],
)
def test_a_function_whose_call_runs_nothing_is_explained(capsys, answer, expected: str) -> None:
    result = check("1.1", answer)
    assert result.status is Status.INVALID and not result
    assert expected in capsys.readouterr().out


def test_jax_errors_name_the_readers_function_not_the_checkers_wrapper() -> None:
    def predict(params, x):
        return "not an array"

    report = evaluate("3.2", predict).render()
    assert "function predict traced for jit" in report
    assert "wrapper" not in report and "counted" not in report


def test_output_of_the_readers_code_stays_out_of_the_report(capsys) -> None:
    def chatty(items: list, item: object) -> list:
        print("debugging!")
        return items + [item]

    assert check("1.1", chatty)
    assert "debugging!" not in capsys.readouterr().out


def test_report_of_a_pass_is_stable(capsys) -> None:
    check("1.1", lambda items, item: items + [item])
    first = capsys.readouterr().out
    check("1.1", lambda items, item: items + [item])
    assert capsys.readouterr().out == first
    assert first.rstrip().endswith(f"Passed: all {len(exercises()['1.1'].probes)} probes.")


def test_hint_prints_for_known_and_unknown_ids(capsys) -> None:
    hint("1.1")
    assert capsys.readouterr().out.startswith("Hint 1 of ")
    hint("1.1", 99)
    assert "has hints 1 to" in capsys.readouterr().out
    hint("0.0")
    assert "There is no exercise" in capsys.readouterr().out


def test_every_exercise_is_well_formed() -> None:
    for exercise_id, exercise in exercises().items():
        assert exercise.hints and exercise.probes and exercise.objects, exercise_id
        assert exercise.signature.split("(")[0] in exercise.objects or len(exercise.objects) > 1


def test_every_chapter_module_imports() -> None:
    assert broken_modules() == {}


def test_check_result_displays_nothing_in_ipython() -> None:
    # nbval runs cells with store_history=False, where IPython ignores the `;` of
    # `check("1.1", add_item);`: the result itself must then display nothing.
    from IPython.core.formatters import DisplayFormatter

    from purestate.report import CheckResult

    assert DisplayFormatter().format(CheckResult("1.1", "add_item(items, item)", Status.PASSED)) == ({}, {})


def test_error_text_drops_memory_addresses() -> None:
    from purestate.runner import format_exception

    def f() -> None: ...

    assert format_exception(TypeError(f"bad value {f!r}")) == "TypeError: bad value <function test_error_text_drops_memory_addresses.<locals>.f>"


def test_prng_keys_are_shown_and_compared_without_numpy_conversion() -> None:
    import jax

    from purestate.compare import mismatch, short

    key = jax.random.key(0)
    assert short(key) == "a PRNG key key<fry>[] with data [0, 0] (shape (2,), uint32)"
    assert mismatch(key, jax.random.key(0)) is None
    assert mismatch(key, jax.random.key(1)) is not None


def _returns_none(*args: object, **kwargs: object) -> None:
    return None


def _raises(*args: object, **kwargs: object) -> None:
    raise ValueError("boom")


def _returns_text(*args: object, **kwargs: object) -> str:
    return "hello"


@pytest.mark.parametrize("exercise_id", list(exercises()))
@pytest.mark.parametrize("broken", [_returns_none, _raises, _returns_text], ids=lambda f: f.__name__)
def test_broken_answers_fail_every_exercise_without_crashing(exercise_id: str, broken) -> None:
    objects = [broken] * len(exercises()[exercise_id].objects)
    result = check(exercise_id, *objects)
    assert result.status is Status.FAILED, result.render()
