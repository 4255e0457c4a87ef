"""Side effects and purity: arguments, globals, closures and hidden state left as they were."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend
import numpy as np

from purestate.compare import changed, is_key_array, short, snapshot
from purestate.probes.core import Answer, Case, Probe, _fail, _param_name, signature_text


def inputs_unchanged(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "inputs-unchanged",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """Calling the answer leaves every argument as it was, at any depth."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            before = snapshot(args)
            answer.call(name, *args)
            for index, (was, now) in enumerate(zip(before, args)):
                found = changed(was, now)
                if found:
                    param = _param_name(fn, index)
                    _fail(
                        f"{name} changed its argument {param}: before the call it was "
                        f"{short(was)}, afterwards {short(now)} ({found})"
                    )

    return Probe(key, description or f"{name} leaves its arguments unchanged", run, hint)




def deterministic(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "same-result-twice",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """Two calls with equal arguments return equal results (no hidden state)."""

    def run(answer: Answer) -> None:
        for make in cases:
            first = answer.call(name, *make())
            second = answer.call(name, *make())
            found = changed(first, second)
            if found:
                _fail(
                    f"two calls of {signature_text(name, getattr(answer, name), make())} "
                    f"returned different results: first {short(first)}, then {short(second)}"
                )

    return Probe(key, description or f"{name} returns the same result when called twice", run, hint)


def returns_fresh_object(
    name: str,
    cases: Sequence[Case],
    *,
    argnum: int = 0,
    key: str = "returns-new-object",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """The result is not the argument ``argnum`` itself (a new container is returned)."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            result = answer.call(name, *args)
            if result is args[argnum]:
                _fail(f"{name} returned its argument {_param_name(fn, argnum)} itself, not a new object")

    return Probe(key, description or f"{name} returns a new object", run, hint)


def globals_unchanged(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "globals-unchanged",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """Calling the answer changes no global or closed-over variable it refers to.

    Before and after each plain call, takes a fingerprint of every global the answer's code
    names (nested functions included) and of its closure cells: numbers, strings, arrays,
    lists, dicts, tuples, sets and the attributes of plain objects, at any depth. Modules,
    classes and callables are not looked into. Catches a counter incremented in a global, a
    list appended to, an attribute of a holder object reassigned, a ``global x; x = …``.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            before = _hidden_state(fn)
            answer.call(name, *args)
            after = _hidden_state(fn)
            for label in sorted(set(before) | set(after)):
                if before.get(label, _MISSING) != after.get(label, _MISSING):
                    _fail(
                        f"calling {name} changed {label}: a pure function keeps what it computes in "
                        "its return value"
                    )

    return Probe(key, description or f"{name} changes no global or closed-over variable", run, hint)


_MISSING = ("<missing>",)


def _hidden_state(fn: Callable[..., Any]) -> dict[str, Any]:
    """Fingerprints of the globals named by ``fn``'s code and of its closure cells."""
    fn = inspect.unwrap(fn)
    code = getattr(fn, "__code__", None)
    if code is None:
        return {}
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        pending.extend(c for c in current.co_consts if inspect.iscode(c))
    namespace = getattr(fn, "__globals__", {})
    found = {f"the global `{n}`": _fingerprint(namespace[n]) for n in names if n in namespace}
    for var, cell in zip(code.co_freevars, getattr(fn, "__closure__", None) or ()):
        try:
            contents = cell.cell_contents
        except ValueError:  # an empty cell
            contents = _MISSING
        found[f"the closed-over variable `{var}`"] = _fingerprint(contents)
    return found


def _fingerprint(value: Any, depth: int = 0) -> Any:
    """A comparable summary of ``value``'s contents (not its identity)."""
    if depth > 20:
        return "…"
    if isinstance(value, jax.core.Tracer):
        return ("tracer", id(value))
    if is_key_array(value):
        return ("key", str(jax.typeof(value)), np.asarray(jax.random.key_data(value)).tobytes())
    if isinstance(value, (jax.Array, np.ndarray, np.generic)):
        array = np.asarray(value)
        return ("array", array.shape, str(array.dtype), array.tobytes())
    if value is None or isinstance(value, (bool, int, float, complex, str, bytes)):
        return value
    if isinstance(value, dict):
        return ("dict", tuple((repr(k), _fingerprint(v, depth + 1)) for k, v in value.items()))
    if isinstance(value, (list, tuple)):
        return (type(value).__name__, tuple(_fingerprint(v, depth + 1) for v in value))
    if isinstance(value, (set, frozenset)):
        return ("set", tuple(sorted(repr(v) for v in value)))
    if inspect.ismodule(value) or isinstance(value, type) or callable(value):
        return ("opaque", id(value))
    attributes = getattr(value, "__dict__", None)
    if isinstance(attributes, dict):
        return (type(value).__name__, _fingerprint(attributes, depth + 1))
    return ("opaque", id(value))
