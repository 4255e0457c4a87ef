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
