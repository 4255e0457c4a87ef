"""The exercise registry, and the `check` and `hint` the notebooks call."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re
from dataclasses import dataclass
from typing import Any

from purestate.compare import short, type_name
from purestate.probes import Answer, Probe
from purestate.probes.core import course_object_name
from purestate.report import CheckResult, ProbeOutcome, Status
from purestate import guard
from purestate.runner import (
    DEFAULT_TIME_LIMIT_S,
    REFERENCE_MESSAGE,
    CheckerSignal,
    NotAttempted,
    ProbeFailure,
    ProbeTimeout,
    ReaderError,
    WorkerStopped,
    format_exception,
    in_reader_code,
    run_with_time_limit,
)


@dataclass(frozen=True)
class Exercise:
    """One exercise: what the reader passes to `check`, and the probes that judge it."""

    id: str
    signature: str
    objects: tuple[str, ...]
    probes: tuple[Probe, ...]
    hints: tuple[str, ...]  # graded: a nudge first, more detail later, never the solution
    time_limit_s: float = DEFAULT_TIME_LIMIT_S

    @property
    def chapter(self) -> int:
        return int(self.id.split(".")[0])


_EXERCISES: dict[str, Exercise] = {}
_BROKEN_MODULES: dict[str, str] = {}  # chapter module → why it could not be imported
_LOADED: list[bool] = []  # not a rebound flag: purestate.guard restores rebound module names


def register(exercise: Exercise) -> Exercise:
    """Add an exercise; ids are unique."""
    if exercise.id in _EXERCISES:
        raise ValueError(f"exercise {exercise.id} is registered twice")
    if not exercise.hints:
        raise ValueError(f"exercise {exercise.id} has no hint")
    keys = [probe.key for probe in exercise.probes]
    if len(keys) != len(set(keys)):
        raise ValueError(f"exercise {exercise.id} has two probes with the same key: {keys}")
    for position, probe in enumerate(exercise.probes):
        unknown = set(probe.requires) - set(keys[:position])
        if unknown:
            raise ValueError(
                f"exercise {exercise.id}: probe {probe.key!r} requires {sorted(unknown)}, "
                "which are not probes that run before it"
            )
    _EXERCISES[exercise.id] = exercise
    return exercise


def _load() -> None:
    if _LOADED:
        return
    import purestate.exercises as package

    for module in sorted(m.name for m in pkgutil.iter_modules(package.__path__)):
        try:
            importlib.import_module(f"{package.__name__}.{module}")
        except Exception as error:  # one broken chapter must not take every check down
            _BROKEN_MODULES[module] = format_exception(error)
    _LOADED.append(True)
    guard.protect_course_modules()


def broken_modules() -> dict[str, str]:
    """Chapter modules that failed to import, with the error (empty when all is well)."""
    _load()
    return dict(_BROKEN_MODULES)


def _sort_key(exercise_id: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", exercise_id))


def exercises() -> dict[str, Exercise]:
    """Every registered exercise, by id, in course order."""
    _load()
    return {k: _EXERCISES[k] for k in sorted(_EXERCISES, key=_sort_key)}


def get(exercise_id: str) -> Exercise | None:
    _load()
    return _EXERCISES.get(str(exercise_id))


def _unknown(exercise_id: Any) -> CheckResult:
    known = ", ".join(exercises())
    chapter = str(exercise_id).split(".")[0]
    module = f"ch{int(chapter):02d}" if chapter.isdigit() else ""
    if module in _BROKEN_MODULES:
        message = (
            f"The checks of chapter {int(chapter)} could not be loaded "
            f"({_BROKEN_MODULES[module]}). Please report this."
        )
    else:
        message = f"There is no exercise {exercise_id!r}. The exercises are: {known}."
    return CheckResult(str(exercise_id), "", Status.INVALID, message=message)


def _validate(exercise: Exercise, objects: tuple[Any, ...]) -> str | None:
    names = ", ".join(exercise.objects)
    if len(objects) != len(exercise.objects):
        return (
            f'check("{exercise.id}", …) takes {len(exercise.objects)} object(s): {names} '
            f"(in that order); it was given {len(objects)}."
        )
    for name, obj in zip(exercise.objects, objects):
        if not callable(obj):
            return f"{name} should be a function or class; check was given {type_name(obj)}: {short(obj)}."
        kind = _suspended_kind(obj)
        if kind:
            return (
                f"{name} is {kind}: calling it returns an object that has not run yet. Write "
                f"{name} with a plain `def` that returns its result."
            )
    return None


def _suspended_kind(obj: Any) -> str | None:
    """What kind of function ``obj`` is when a call runs none of its body (``async``, ``yield``)."""
    try:
        if inspect.iscoroutinefunction(obj):
            return "an async function (async def)"
        if inspect.isasyncgenfunction(obj):
            return "an async generator function"
        if inspect.isgeneratorfunction(obj):
            return "a generator function (it contains yield)"
    except Exception:  # noqa: BLE001 - a hostile __getattr__: let the probes judge it
        return None
    return None


def evaluate(
    exercise_id: str,
    *objects: Any,
    time_limit_scale: float = 1.0,
    stop_after: str | None = None,
    _restore: Any = guard.restore,
) -> CheckResult:
    """Run the probes of one exercise on the reader's objects, without printing.

    ``time_limit_scale`` multiplies the exercise's time limit per probe: the course's own
    tests run many checks at once on busy cores, where a right answer may take longer than a
    reader's would. ``stop_after`` (a probe key) runs the probes up to that one and reports
    the rest as not run: a test that a wrong answer fails on a given probe needs no more.
    Raises only ``KeyboardInterrupt`` (a real Ctrl-C, after stopping the probe's thread).
    ``_restore`` is bound at import, so that the reader's code cannot switch the guard off
    by replacing ``purestate.guard.restore``.
    """
    repaired = _restore()  # whatever a notebook cell replaced since the last check
    exercise = get(exercise_id)
    if exercise is None:
        return _unknown(exercise_id)
    if stop_after is not None and stop_after not in {probe.key for probe in exercise.probes}:
        raise ValueError(f"exercise {exercise.id} has no probe {stop_after!r} to stop after")
    if in_reader_code():  # the reader's code, being checked, calls check: no checks within checks
        return CheckResult(
            exercise.id, exercise.signature, Status.INVALID,
            message="check was called from inside the code it is checking; call it from a cell of its own.",
        )
    problem = _validate(exercise, objects)
    if problem:
        return CheckResult(exercise.id, exercise.signature, Status.INVALID, message=problem)
    for name, obj in zip(exercise.objects, objects):
        course = course_object_name(obj)
        if course:
            return CheckResult(
                exercise.id, exercise.signature, Status.INVALID,
                message=f"{name}: you passed {course}; {REFERENCE_MESSAGE}.",
            )

    answer = Answer(dict(zip(exercise.objects, objects)))
    outcomes: list[ProbeOutcome] = []
    timed_out = False
    descriptions = {probe.key: probe.description for probe in exercise.probes}
    verdicts: dict[str, Status] = {}
    stopped = False
    for probe in exercise.probes:
        if timed_out or stopped:
            verdicts[probe.key] = Status.SKIPPED
            reason = "not run after the time-out" if timed_out else f"not run (stopped after {stop_after})"
            outcomes.append(ProbeOutcome(probe.key, probe.description, Status.SKIPPED, reason))
            continue
        stopped = probe.key == stop_after
        blocking = [key for key in probe.requires if verdicts[key] is not Status.PASSED]
        if blocking:
            verdicts[probe.key] = Status.SKIPPED
            outcomes.append(ProbeOutcome(
                probe.key, probe.description, Status.SKIPPED,
                f"not run until “{descriptions[blocking[0]]}” passes",
            ))
            continue
        status, message = Status.FAILED, ""
        try:
            run_with_time_limit(lambda: probe.run(answer), exercise.time_limit_s * time_limit_scale)
        except NotAttempted as stub:
            _restore()
            text = str(stub)
            return CheckResult(
                exercise.id, exercise.signature, Status.NOT_ATTEMPTED,
                message=f"The stub still raises NotImplementedError{': ' + text if text else '.'}",
            )
        except (ProbeFailure, ReaderError) as failure:
            message = str(failure)
        except ProbeTimeout as error:
            if isinstance(error, WorkerStopped):  # this evaluate runs inside a stopped worker
                raise
            timed_out = True
            message = f"did not finish within {exercise.time_limit_s * time_limit_scale:g} s (an endless loop?)"
        except RecursionError as error:
            message = format_exception(error)
        except KeyboardInterrupt:
            _restore()
            raise
        except CheckerSignal:  # stopping a worker this evaluate runs in (a check inside a check)
            _restore()
            raise
        except Exception as error:
            message = f"could not use what your code returned: {format_exception(error)}"
        else:
            status = Status.PASSED
        changed = _restore()  # also what probe code did with the reader's objects
        if changed and status is Status.PASSED:
            status, message = Status.FAILED, guard.message(changed)
        verdicts[probe.key] = status
        outcomes.append(ProbeOutcome(probe.key, probe.description, status, message))
    failed = [o.key for o in outcomes if o.status is Status.FAILED]
    note = guard.message(repaired).replace("your code replaced", "Before this check, code had replaced", 1) if repaired else ""
    return CheckResult(
        exercise.id, exercise.signature, Status.FAILED if failed else Status.PASSED,
        outcomes=tuple(outcomes), hint=_hint_after_failure(exercise, failed), message=note,
    )


def _hint_after_failure(exercise: Exercise, failed_keys: list[str]) -> str:
    """The hint of the first probe that failed, or the exercise's first hint."""
    if not failed_keys:
        return ""
    by_key = {probe.key: probe for probe in exercise.probes}
    return by_key[failed_keys[0]].hint or exercise.hints[0]


def check(exercise_id: str, *objects: Any) -> CheckResult:
    """Check the reader's answer to an exercise, print a short report, and return it.

    Never raises: the reader's exceptions, endless loops, wrong types and shapes, and
    mutated inputs all come back as feedback. ``bool(result)`` is True only when every
    probe passed.
    """
    try:
        result = evaluate(exercise_id, *objects)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # a defect of the checker itself must not crash the notebook
        result = CheckResult(
            str(exercise_id), "", Status.INVALID,
            message=f"The checker itself failed ({format_exception(error)}). Please report this.",
        )
    print(result.render())
    return result


def hint(exercise_id: str, level: int = 1) -> None:
    """Print hint number ``level`` of an exercise (1 is a nudge; later ones say more)."""
    exercise = get(exercise_id)
    if exercise is None:
        print(_unknown(exercise_id).message)
        return
    count = len(exercise.hints)
    try:
        level = int(level)
    except (TypeError, ValueError):
        level = 0
    if not 1 <= level <= count:
        print(f"Exercise {exercise.id} has hints 1 to {count}: hint(\"{exercise.id}\", 1) … hint(\"{exercise.id}\", {count}).")
        return
    more = f' More: hint("{exercise.id}", {level + 1}).' if level < count else ""
    print(f"Hint {level} of {count} for {exercise.id} · {exercise.signature}: {exercise.hints[level - 1]}{more}")
