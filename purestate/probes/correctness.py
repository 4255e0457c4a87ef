"""Correctness: the answer returns the reference's values, or satisfies a predicate."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend

from purestate.compare import mismatch
from purestate.probes.core import Answer, Case, Probe, _fail, signature_text


def matches_reference(
    name: str,
    reference: Callable[..., Any],
    cases: Sequence[Case],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "matches-reference",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """The answer returns what ``reference`` returns, on every case."""

    def run(answer: Answer) -> None:
        for make in cases:
            expected = reference(*make())
            args = make()
            got = answer.call(name, *args)
            found = mismatch(expected, got, rtol=rtol, atol=atol)
            if found:
                _fail(f"{signature_text(name, getattr(answer, name), make())}: {found}")

    return Probe(key, description or f"{name} returns the right values", run, hint)


def satisfies(
    name: str,
    cases: Sequence[Case],
    predicate: Callable[[tuple[Any, ...], Any], str | None],
    *,
    jit: bool = False,
    static_argnums: tuple[int, ...] = (),
    key: str,
    description: str,
    hint: str = "",
) -> Probe:
    """``predicate(args, result)`` returns ``None`` on every case, else the failure message.

    For properties a reference value cannot express (a sample's statistics, a
    relationship between outputs).

    ``jit=True`` judges the results of ``jax.jit(answer)`` (with ``static_argnums``) instead
    of the plain call: for answers whose every eager call compiles anew (an eager
    ``lax.scan`` traces and compiles its body on each call). The jitted answer compiles once
    per distinct static arguments, and ``jax.jit`` shares that cache between every probe
    that uses the same function. Pair it with ``jit_matches_eager`` so that the plain call is
    held to the same results, and with ``deterministic`` for hidden state that only an eager
    call shows.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        jitted = jax.jit(fn, static_argnums=static_argnums) if jit else None
        for make in cases:
            if jitted is None:
                result = answer.call(name, *make())
            else:
                result = answer.call_transformed(f"jax.jit({name})", jitted, *make())
            problem = predicate(make(), result)
            if problem:
                _fail(f"{signature_text(name, fn, make())}: {problem}")

    return Probe(key, description, run, hint)


def fresh_result_each_call(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "new-result-each-call",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """Two calls with equal (separately copied) arguments share no list, dict or set.

    A result that is, or contains, a container an earlier call also returned (a memoised
    result, a cached template, a module-level buffer) lets the caller's change to one result
    show up in another. Containers shared with the *arguments* are not flagged: each call
    gets its own copy of them.
    """

    def run(answer: Answer) -> None:
        for make in cases:
            first = answer.call(name, *make())
            second = answer.call(name, *make())
            earlier = {id(c): path for path, c in _containers(first)}
            for path, container in _containers(second):
                if id(container) in earlier:
                    where = f" ({path} of the result)" if path else ""
                    _fail(
                        f"two calls of {signature_text(name, getattr(answer, name), make())} returned "
                        f"the same {type(container).__name__} object{where}: changing one result "
                        "would change the other. Build a new one on every call"
                    )

    return Probe(key, description or f"{name} builds a new result on every call", run, hint)


def _containers(value: Any, path: str = "", depth: int = 0) -> list[tuple[str, Any]]:
    """Every list, dict and set inside ``value`` (itself included), with where it is."""
    if depth > 20:
        return []
    found: list[tuple[str, Any]] = []
    if isinstance(value, (list, dict, set)):
        found.append((path, value))
    if isinstance(value, dict):
        for k, v in value.items():
            found += _containers(v, f"{path}[{k!r}]", depth + 1)
    elif isinstance(value, (list, tuple)):
        for i, v in enumerate(value):
            found += _containers(v, f"{path}[{i}]", depth + 1)
    return found
