"""Chapter 1 · Mutation in plain Python: exercises 1.1–1.4."""

from __future__ import annotations

from typing import Any

from purestate import probes
from purestate.probes import Answer, Probe, ProbeFailure, case
from purestate.registry import Exercise, register

# 1.1 ---------------------------------------------------------------------------------


@probes.reference
def reference_add_item(items: list[Any], item: Any) -> list[Any]:
    return [*items, item]


ADD_ITEM_CASES = (
    case([1, 2], 3),
    case([3, 1, 2, 1], 0),
    case([], "first"),
    case([[0], [1]], [2]),
    # unordered, duplicated, falsy and mixed items, longer than the others; a tuple item
    case([3, 1, 2, 3, 0, None, "", [], 2.5], (1, 2)),
    case(["a", "b"], None),
    # `item` is already there, last and earlier: it is added again (no set semantics)
    case([0, 1, 2, 1], 1),
    # a dict with a key that is not a string, and a tuple, among the items: they stay as they
    # are (a JSON round trip would turn the key None into the string "null")
    case([{None: "unset"}, (2, 3)], "x"),
)

register(Exercise(
    id="1.1",
    signature="add_item(items, item)",
    objects=("add_item",),
    probes=(
        probes.matches_reference(
            "add_item", reference_add_item, ADD_ITEM_CASES,
            hint="Every element of `items` stays, in its order (duplicates, None and empty "
            "values included), and `item` is added once, at the end, as one element. "
            "The result is a list.",
        ),
        probes.inputs_unchanged(
            "add_item", ADD_ITEM_CASES,
            hint="`append`, `extend` and `+=` change the list they are called on, and that "
            "list is the caller's. Build the result from `items` without changing it.",
        ),
        probes.returns_fresh_object(
            "add_item", ADD_ITEM_CASES,
            hint="Returning `items` itself hands the caller an alias of their own list.",
        ),
        probes.fresh_result_each_call(
            "add_item", ADD_ITEM_CASES[:1],
            hint="A result kept and handed out again (a cache, a memo) is shared by every caller "
            "who gets it: one caller's change shows up in another's list.",
        ),
        probes.globals_unchanged(
            "add_item", ADD_ITEM_CASES,
            hint="A pure function keeps nothing between calls: no counter, history or cache in "
            "a global, a container, a class or the function's own attributes.",
        ),
        probes.deterministic("add_item", ADD_ITEM_CASES),
    ),
    hints=(
        "Build a new list instead of changing `items`: which list operations return a new "
        "list, and which change the list in place (chapter 1, 'In-place updates hide in "
        "ordinary code')?",
        "Unpacking `items` into a list display, list concatenation, or a copy that you then "
        "change all give a new list. The caller's list must not gain an element.",
    ),
))

# 1.2 ---------------------------------------------------------------------------------


@probes.reference
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
    # a path four levels deep, given as a list, with a sibling at every level
    case(
        {"model": {"encoder": {"block": {"width": 32, "depth": 2}, "dropout": 0.1},
                   "decoder": {"width": 16}}, "seed": 0},
        ["model", "encoder", "block", "width"],
        64,
    ),
    # several missing levels below an existing one
    case({"a": {"keep": 1}}, ("a", "b", "c", "d"), "deep"),
    # a dict value replaces the dict that was there (no merging)
    case({"optimizer": {"name": "sgd", "lr": 0.1}}, ("optimizer",), {"name": "adam"}),
    # keys that are not strings: ints, a tuple, and None as the value
    case({0: {1: "a", 2: "b"}, 1: "other"}, (0, 1), None),
    case({("w", 1): {"lr": 0.1}}, [("w", 1), "lr"], 0.2),
)


def _every_dict_on_the_path_is_new(answer: Answer) -> None:
    # a new value, then the value already there: the task asks for a new dict either way (an
    # answer that hands back the input's dict when "nothing changes" shares it with the caller)
    for value in (0.5, 0.1):
        config = {
            "train": {"optim": {"lr": 0.1, "decay": 0.0}, "steps": 10},
            "data": {"path": "x.csv", "shuffle": True},
        }
        call = f"set_nested(config, ('train', 'optim', 'lr'), {value!r})"
        result = answer.call("set_nested", config, ("train", "optim", "lr"), value)
        if not isinstance(result, dict):
            raise ProbeFailure(f"{call} returned {type(result).__name__}, not a dict")
        node, original, walked = result, config, "the result"
        for key in ("train", "optim"):
            if node is original:
                raise ProbeFailure(
                    f"{call}: {walked} is the input's dict itself; every dict on the path must be "
                    "new, also when the value is already there"
                )
            node, original, walked = node.get(key), original[key], f"{walked}[{key!r}]"
            if not isinstance(node, dict):
                raise ProbeFailure(f"{call}: {walked} should be a dict, got {type(node).__name__}")
            if node is original:
                raise ProbeFailure(
                    f"{call}: {walked} is the input's dict itself: changing it changes the caller's "
                    "config. Copy every dict on the path, at every depth, also when the value is "
                    "already there"
                )
        if result.get("data") != {"path": "x.csv", "shuffle": True}:
            raise ProbeFailure(f"{call}: the branch ['data'], off the path, should keep its contents")


register(Exercise(
    id="1.2",
    signature="set_nested(config, path, value)",
    objects=("set_nested",),
    probes=(
        probes.matches_reference(
            "set_nested", reference_set_nested, SET_NESTED_CASES,
            hint="Check the cases the message names: a path of one key, a path several levels "
            "deep, levels that are missing (create empty dicts for them), keys that are not "
            "strings, and a value that is itself a dict (it replaces what was there).",
        ),
        probes.inputs_unchanged(
            "set_nested", SET_NESTED_CASES,
            hint="Some dict of the input (or the `path` you were given) changed. `dict(d)` "
            "copies one level only; the dicts inside are still the caller's.",
        ),
        probes.fresh_result_each_call(
            "set_nested", SET_NESTED_CASES[2:3],
            hint="A result kept and handed out again (a cache, a memo) is shared by every caller "
            "who gets it. Build the dicts on the path anew on every call.",
        ),
        Probe(
            "copies-path",
            "set_nested copies every dict on the path",
            _every_dict_on_the_path_is_new,
            hint="A shallow copy of the top-level dict shares the dicts below it with the input. "
            "Make a new dict at each level you walk through, not only at the top.",
        ),
        probes.globals_unchanged(
            "set_nested", SET_NESTED_CASES,
            hint="Keep nothing between calls: no counter, history or cache outside the function.",
        ),
        probes.deterministic("set_nested", SET_NESTED_CASES),
    ),
    hints=(
        "Walk the path level by level. At each level you need a new dict that holds what the "
        "old one held, with one key changed. Where a level is missing, start from an empty dict.",
        "Recursion fits: the new dict at one level is a copy of the old one whose entry for "
        "the first key of the path is the result of the same function on the rest of the path. "
        "Branches off the path may be shared; dicts on the path may not.",
    ),
))

# 1.3 ---------------------------------------------------------------------------------


@probes.reference
def reference_append_log(message: str, log: list[str] | None = None) -> list[str]:
    return [*(log or []), message]


APPEND_LOG_CASES = (
    case("start", ["boot"]),
    case("first", []),
    case("again", ["a", "b"]),
    case("explicit None", None),
    case("dup", ["dup", "dup"]),
    # a long log keeps every message; a message keeps its spaces
    case("  step 12 done ", [f"step {i}" for i in range(12)]),
    # a message need not be a string: it is added as it is (no `str()`, no formatting)
    case({"step": 3, "loss": 0.25}, ["boot"]),
)


def _default_not_shared(answer: Answer) -> None:
    messages = ("a", "b", "a", "checkpoint saved")
    results = []
    for message in messages:
        got = answer.call("append_log", message)
        if got != [message]:
            before = ", ".join(repr(m) for m in messages[: len(results)])
            after = f" after append_log({before})" if before else ""
            raise ProbeFailure(
                f"append_log({message!r}){after} returned {got!r}, expected {[message]!r}: "
                "a call without `log` must start from a new, empty list"
            )
        results.append(got)
    for i in range(len(results)):
        for j in range(i + 1, len(results)):
            if results[i] is results[j]:
                raise ProbeFailure(
                    f"append_log({messages[i]!r}) and append_log({messages[j]!r}) returned the "
                    "same list object: changing one result changes the other"
                )
    results[0].append("changed by the caller")
    again = answer.call("append_log", "a")
    if again != ["a"]:
        raise ProbeFailure(
            f"after the caller appended to the list returned by append_log('a'), "
            f"append_log('a') returned {again!r}: the returned list is kept and reused"
        )


register(Exercise(
    id="1.3",
    signature="append_log(message, log=None)",
    objects=("append_log",),
    probes=(
        probes.matches_reference(
            "append_log", reference_append_log, APPEND_LOG_CASES,
            hint="The result is a list: the messages of `log` in order, then `message`. "
            "`log` may be a list (possibly empty) or None, passed explicitly or not.",
        ),
        probes.inputs_unchanged(
            "append_log", APPEND_LOG_CASES,
            hint="The caller's `log` gained an element: `append` on it changes the caller's list.",
        ),
        Probe(
            "default-not-shared",
            "calls without `log` never share a list",
            _default_not_shared,
            hint="A default value is created once, when `def` runs, and every call that uses it "
            "gets that same object. So does anything kept outside the function.",
        ),
        probes.returns_fresh_object(
            "append_log", APPEND_LOG_CASES, argnum=1,
            hint="Returning the `log` you were given hands the caller an alias of their own list.",
        ),
        probes.globals_unchanged(
            "append_log", APPEND_LOG_CASES,
            hint="Keep nothing between calls: no history in a global, a deque, a class or the "
            "function's own attributes. The log lives in the return value.",
        ),
    ),
    hints=(
        "Two things to avoid: a mutable default (created once, shared by every call) and "
        "changing the list the caller passed in.",
        "Keep `None` as the default and decide inside the body which messages come first; "
        "then build a new list from them and `message`.",
    ),
))

# 1.4 ---------------------------------------------------------------------------------
#
# Diagnose and fix. The exercise notebook gives this buggy pair:
#
#     def new_history(names):
#         return dict.fromkeys(names, [])       # one list shared by every name
#
#     def record(history, name, value):
#         updated = history.copy()              # a shallow copy: the lists are the caller's
#         updated[name].append(value)
#         return updated


@probes.reference
def reference_new_history(names: Any) -> dict:
    return {name: [] for name in names}


@probes.reference
def reference_record(history: dict, name: Any, value: Any) -> dict:
    return {**history, name: [*history.get(name, []), value]}


NEW_HISTORY_CASES = (
    case(["loss", "accuracy"]),
    case(("loss",)),
    case([]),
    case(["a", "b", "c", "d"]),
)

RECORD_CASES = (
    case({"loss": [0.9], "accuracy": [0.5]}, "loss", 0.7),
    case({"loss": [], "accuracy": []}, "accuracy", 0.5),
    case({"loss": [0.9, 0.9]}, "loss", 0.9),  # duplicates stay
    case({"loss": [0.9]}, "lr", 0.1),  # a name not there yet
    case({}, "loss", 1.0),
    case({0: ["x"], 1: [1, 2, 3]}, 0, None),
    # an int value stays an int; a long list keeps every value
    case({"epoch": list(range(9)), "loss": [0.5]}, "epoch", 9),
    # a list value is appended as one element, not spliced in
    case({"grads": [[0.1, 0.2]]}, "grads", [0.3, 0.4]),
)


def _new_history_lists_separate(answer: Answer) -> None:
    history = answer.call("new_history", ["loss", "accuracy", "lr"])
    if not isinstance(history, dict) or set(history) != {"loss", "accuracy", "lr"}:
        raise ProbeFailure(f"new_history(['loss', 'accuracy', 'lr']) returned {history!r}")
    lists = list(history.values())
    for i in range(len(lists)):
        for j in range(i + 1, len(lists)):
            if lists[i] is lists[j]:
                names = list(history)
                raise ProbeFailure(
                    f"in new_history(['loss', 'accuracy', 'lr']), the lists of {names[i]!r} and "
                    f"{names[j]!r} are one list object: appending to one appends to both"
                )
    history["loss"].append(0.9)
    again = answer.call("new_history", ["loss", "accuracy", "lr"])
    if again != {"loss": [], "accuracy": [], "lr": []}:
        raise ProbeFailure(
            "after the caller appended to the 'loss' list of one new_history(...), the next "
            f"new_history(['loss', 'accuracy', 'lr']) returned {again!r}: each call must build "
            "new lists"
        )


def _record_keeps_every_version(answer: Answer) -> None:
    """Build a history step by step; every earlier version must stay as it was."""
    versions = [answer.call("new_history", ["loss", "accuracy"])]
    expected = [{"loss": [], "accuracy": []}]
    steps = (("loss", 0.9), ("accuracy", 0.5), ("loss", 0.7), ("lr", 0.01), ("loss", 0.6))
    for name, value in steps:
        versions.append(answer.call("record", versions[-1], name, value))
        expected.append(reference_record(expected[-1], name, value))
    shown = ["new_history(['loss', 'accuracy'])"] + [f"record(…, {n!r}, {v!r})" for n, v in steps]
    for index, (want, got) in enumerate(zip(expected, versions)):
        if got != want:
            raise ProbeFailure(
                f"after {' → '.join(shown)}, version {index} (made by {shown[index]}) is "
                f"{got!r}, expected {want!r}: a later record changed an earlier history"
            )


register(Exercise(
    id="1.4",
    signature="new_history(names), record(history, name, value)",
    objects=("new_history", "record"),
    probes=(
        probes.matches_reference(
            "new_history", reference_new_history, NEW_HISTORY_CASES,
            hint="new_history returns a dict with one empty list per name (an empty dict for no names).",
        ),
        Probe(
            "separate-lists",
            "new_history gives every name its own new list",
            _new_history_lists_separate,
            hint="`dict.fromkeys(names, [])` evaluates `[]` once: every key gets the same list. "
            "Each name needs a list of its own.",
        ),
        probes.matches_reference(
            "record", reference_record, RECORD_CASES, key="record-matches-reference",
            hint="record returns every name of `history` with its values, and `value` appended "
            "to the list of `name` (a new list `[value]` when `name` is not there yet).",
        ),
        probes.inputs_unchanged(
            "record", RECORD_CASES,
            hint="`history.copy()` (or `dict(history)`) copies the dict, not the lists in it: "
            "`append` or `+=` on one of those lists changes the caller's history.",
        ),
        probes.returns_fresh_object(
            "record", RECORD_CASES,
            hint="record must return a new dict, not the history it was given.",
        ),
        probes.fresh_result_each_call(
            "record", RECORD_CASES[3:4],
            hint="A result kept and handed out again (a cache, a memo) is shared by every caller "
            "who gets it. Build the new dict and the new list on every call.",
        ),
        Probe(
            "keeps-every-version",
            "a history built step by step keeps every earlier version intact",
            _record_keeps_every_version,
            hint="Keep every version of the history side by side, as a training loop would, and "
            "print them after a few records: which list is shared between versions?",
        ),
        probes.globals_unchanged(
            "new_history", NEW_HISTORY_CASES, key="new-history-globals-unchanged",
            hint="new_history must build its dict afresh on every call, from nothing kept outside it.",
        ),
        probes.globals_unchanged(
            "record", RECORD_CASES,
            hint="record keeps nothing between calls: the history lives in its return value.",
        ),
        probes.deterministic("record", RECORD_CASES),
    ),
    hints=(
        "Run the buggy pair and print the history before and after one `record`. Two objects "
        "are shared that should not be: find which ones, and where each gets shared.",
        "One bug is in how new_history creates the lists (how often is the default value of "
        "`dict.fromkeys` evaluated?); the other is that copying the dict does not copy the "
        "lists inside it. record must build a new list for `name` instead of appending.",
    ),
))
