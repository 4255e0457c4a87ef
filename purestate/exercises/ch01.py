"""Chapter 1 · Mutation in plain Python: exercises 1.1–1.3."""

from __future__ import annotations

from typing import Any

from purestate import probes
from purestate.probes import Answer, Probe, ProbeFailure, case
from purestate.registry import Exercise, register

# 1.1 ---------------------------------------------------------------------------------


def reference_add_item(items: list[Any], item: Any) -> list[Any]:
    return [*items, item]


ADD_ITEM_CASES = (
    case([1, 2], 3),
    case([], "first"),
    case([[0], [1]], [2]),
)

register(Exercise(
    id="1.1",
    signature="add_item(items, item)",
    objects=("add_item",),
    probes=(
        probes.matches_reference("add_item", reference_add_item, ADD_ITEM_CASES),
        probes.inputs_unchanged("add_item", ADD_ITEM_CASES),
        probes.returns_fresh_object("add_item", ADD_ITEM_CASES),
        probes.deterministic("add_item", ADD_ITEM_CASES),
    ),
    hints=("Build a new list (`items + [item]` or `[*items, item]`) instead of calling `items.append`.",),
))

# 1.2 ---------------------------------------------------------------------------------


def reference_set_nested(config: dict, path: tuple, value: Any) -> dict:
    head, *rest = path
    updated = dict(config)
    updated[head] = reference_set_nested(config.get(head, {}), rest, value) if rest else value
    return updated


SET_NESTED_CASES = (
    case({"optimizer": {"lr": 0.1, "beta": 0.9}, "seed": 0}, ("optimizer", "lr"), 0.01),
    case({"a": {"b": {"c": 1}}, "d": {"e": 2}}, ("a", "b", "c"), 5),
    case({"model": {}}, ("model", "layers", "width"), 64),
    case({}, ("seed",), 42),
    case({"a": 1}, ("a",), {"replaced": True}),
)


def _untouched_branches_keep_their_values(answer: Answer) -> None:
    config = {"train": {"lr": 0.1}, "data": {"path": "x.csv", "shuffle": True}}
    result = answer.call("set_nested", config, ("train", "lr"), 0.5)
    if not isinstance(result, dict) or result.get("data") != {"path": "x.csv", "shuffle": True}:
        raise ProbeFailure("the branch that was not on the path should keep its contents")
    result["train"]["lr"] = 99.0
    if config["train"]["lr"] != 0.1:
        raise ProbeFailure(
            "the dict on the path is shared with the input: changing the result's "
            "['train'] also changed the input's ['train']; copy every dict on the path"
        )


register(Exercise(
    id="1.2",
    signature="set_nested(config, path, value)",
    objects=("set_nested",),
    probes=(
        probes.matches_reference("set_nested", reference_set_nested, SET_NESTED_CASES),
        probes.inputs_unchanged("set_nested", SET_NESTED_CASES),
        Probe(
            "copies-path",
            "set_nested copies every dict on the path",
            _untouched_branches_keep_their_values,
        ),
        probes.deterministic("set_nested", SET_NESTED_CASES),
    ),
    hints=("Copy the dict at each level of the path (`dict(d)` or `{**d}`), then set the key in the copy.",),
))

# 1.3 ---------------------------------------------------------------------------------


def reference_append_log(message: str, log: list[str] | None = None) -> list[str]:
    return [*(log or []), message]


APPEND_LOG_CASES = (
    case("start", ["boot"]),
    case("first", []),
    case("again", ["a", "b"]),
)


def _default_not_shared(answer: Answer) -> None:
    first = answer.call("append_log", "a")
    second = answer.call("append_log", "b")
    if second != ["b"]:
        raise ProbeFailure(
            f"append_log('a') then append_log('b') returned {second!r} the second time; "
            "expected ['b']: the default list is shared between calls"
        )
    if first is second:
        raise ProbeFailure("two calls without `log` returned the same list object")


register(Exercise(
    id="1.3",
    signature="append_log(message, log=None)",
    objects=("append_log",),
    probes=(
        probes.matches_reference("append_log", reference_append_log, APPEND_LOG_CASES),
        probes.inputs_unchanged("append_log", APPEND_LOG_CASES),
        Probe("default-not-shared", "calls without `log` never share a list", _default_not_shared),
        probes.returns_fresh_object("append_log", APPEND_LOG_CASES, argnum=1),
    ),
    hints=("Use `None` as the default and build a new list inside: `[*(log or []), message]`.",),
))
