"""Unit tests of the state and fold probes (`purestate/probes/state.py`)."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import pytest

from purestate import probes
from purestate.probes import Answer, Probe, ProbeFailure, case
from purestate.runner import NotAttempted
from tests.probes.helpers import verdict


FOLD_CASES = [case((2,), [jnp.array([1.0, 2.0]), jnp.array([3.0, 0.0]), jnp.array([-1.0, 1.0])])]
FOLD_NAMES = ("init", "update")


def running_sum_init(shape: tuple[int, ...]) -> dict:
    return {"total": jnp.zeros(shape), "count": jnp.zeros((), jnp.int32)}


def running_sum_update(state: dict, x: jax.Array) -> dict:
    return {"total": state["total"] + x, "count": state["count"] + 1}


def running_sum_drive(init, update, shape, xs):
    state = init(shape)
    means = []
    for x in xs:
        state = update(state, x)
        means.append(state["total"] / state["count"])
    return means


def fold_verdict(probe: Probe, init: object, update: object) -> str | None:
    try:
        probe.run(Answer({"init": init, "update": update}))
    except ProbeFailure as failure:
        return str(failure)
    return None


def test_fold_matches_reference_sees_hidden_state_under_jit() -> None:
    hidden: dict = {}

    def init_hidden(shape):
        hidden["total"] = jnp.zeros(shape)
        return running_sum_init(shape)

    def update_hidden(state, x):
        hidden["total"] = hidden["total"] + x  # a global: right eagerly, stale under jit
        return {"total": hidden["total"], "count": state["count"] + 1}

    refs = (running_sum_init, running_sum_update)
    eager = probes.fold_matches_reference(FOLD_NAMES, refs, FOLD_CASES, running_sum_drive)
    jitted = probes.fold_matches_reference(FOLD_NAMES, refs, FOLD_CASES, running_sum_drive, jit=("update",))
    assert fold_verdict(eager, running_sum_init, running_sum_update) is None
    assert fold_verdict(jitted, running_sum_init, running_sum_update) is None
    assert fold_verdict(eager, init_hidden, update_hidden) is None
    assert "with jax.jit(update)" in fold_verdict(jitted, init_hidden, update_hidden)


@functools.partial(jax.tree_util.register_dataclass, data_fields=["total"], meta_fields=["count"])
@dataclasses.dataclass(frozen=True)
class StaticCount:
    total: jax.Array
    count: int  # a meta field: part of the tree structure


def test_fold_traces_once_stops_at_the_first_retrace() -> None:
    def init_leaf(shape):
        return {"total": jnp.zeros(shape), "count": 0}  # a Python int leaf is traced

    def init_static(shape):
        return StaticCount(total=jnp.zeros(shape), count=0)

    def update_static(state, x):
        return StaticCount(total=state.total + x, count=state.count + 1)

    def drive_static(init, update, shape, xs):
        state = init(shape)
        for x in xs:
            state = update(state, x)
        return state.total

    probe = probes.fold_traces_once(FOLD_NAMES, FOLD_CASES, running_sum_drive, "update")
    assert fold_verdict(probe, running_sum_init, running_sum_update) is None
    assert fold_verdict(probe, init_leaf, running_sum_update) is None
    retraces = probes.fold_traces_once(FOLD_NAMES, FOLD_CASES, drive_static, "update")
    assert "traced again at call 2 (2 traces)" in fold_verdict(retraces, init_static, update_static)


def test_fold_inputs_unchanged_names_the_call_and_path() -> None:
    def update_in_place(state, x):
        state["total"] = state["total"] + x
        return {"total": state["total"], "count": state["count"] + 1}

    probe = probes.fold_inputs_unchanged(FOLD_NAMES, FOLD_CASES, running_sum_drive)
    assert fold_verdict(probe, running_sum_init, running_sum_update) is None
    message = fold_verdict(probe, running_sum_init, update_in_place)
    assert "call 1 of update changed its argument `state`: at ['total']" in message


def test_leaves_are_arrays_rejects_python_numbers_and_opaque_objects() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Unregistered:
        total: jax.Array

    cases = [case((3,))]
    probe = probes.leaves_are_arrays("f", cases)
    assert verdict(probe, lambda shape: {"total": jnp.zeros(shape), "count": jnp.int32(0)}) is None
    message = verdict(probe, lambda shape: {"total": jnp.zeros(shape), "count": 0})
    assert "an int at ['count']" in message
    assert "not an array" in verdict(probe, lambda shape: Unregistered(jnp.zeros(shape)))
    assert "without leaves" in verdict(probe, lambda shape: {})


def test_from_answer_builds_cases_from_the_readers_class() -> None:
    import dataclasses

    @jax.tree_util.register_dataclass
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: jax.Array

    def cases_for(answer: Answer) -> list:
        return [lambda: (answer.call("Point", x=jnp.arange(3.0)),)]

    probe = probes.from_answer(
        "doubles", "f doubles a point",
        lambda answer: probes.matches_reference(
            "f", lambda p: answer.call("Point", x=p.x * 2), cases_for(answer)
        ),
    )
    assert probe.key == "doubles"
    right = Answer({"Point": Point, "f": lambda p: Point(x=p.x * 2)})
    wrong = Answer({"Point": Point, "f": lambda p: Point(x=p.x + 2)})
    probe.run(right)
    with pytest.raises(ProbeFailure, match=r"at \.x"):
        probe.run(wrong)

    def stub(**kwargs: object) -> None:
        raise NotImplementedError

    with pytest.raises(NotAttempted):
        probe.run(Answer({"Point": stub, "f": lambda p: p}))


def test_scanned_fold_matches_runs_many_updates_in_one_call() -> None:
    xs = [jnp.array([1.0, -1.0])] * 200

    def expected(shape, xs, at):
        return {f"update {k}": jnp.asarray(k, jnp.int32) for k in at}

    probe = probes.scanned_fold_matches(
        "init", "update", lambda answer: (lambda state: state["count"]), expected, [case((2,), xs, (1, 127, 128, 200))]
    )

    def int8_init(shape: tuple[int, ...]) -> dict:
        return {"total": jnp.zeros(shape), "count": jnp.zeros((), jnp.int8)}

    assert fold_verdict(probe, running_sum_init, running_sum_update) is None
    assert "200 updates" in fold_verdict(probe, int8_init, running_sum_update)
