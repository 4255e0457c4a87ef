"""Randomness: keys used once, results that change with the key."""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.extend

from purestate.compare import changed
from purestate.runner import ReaderError
from purestate.probes.core import Answer, Case, Probe, _fail, fresh_jit, signature_text


def no_key_reuse(
    name: str,
    cases: Sequence[Case],
    *,
    jit: bool = True,
    eager: bool = True,
    static_argnums: tuple[int, ...] = (),
    key: str = "no-key-reuse",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """Under ``jax.debug_key_reuse(True)``, the answer uses every PRNG key at most once.

    ``eager`` and ``jit`` choose how the answer is run (both by default). The traced check
    sees every reuse in the function, loop bodies included, so ``eager=False`` loses nothing
    where an eager call is slow (an eager ``lax.scan`` compiles its body on every call).
    ``static_argnums`` are passed to ``jax.jit`` (sizes and shapes the answer needs as
    Python values, e.g. the number of samples).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            with jax.debug_key_reuse(True):
                try:
                    if eager:
                        answer.call(name, *make())
                    if jit:
                        jitted = fresh_jit(fn, static_argnums=static_argnums)
                        answer.call_transformed(f"jax.jit({name})", jitted, *make())
                except ReaderError as error:
                    if isinstance(error.error, jax.errors.KeyReuseError):
                        _fail(
                            f"{name} used a PRNG key twice (jax.errors.KeyReuseError under "
                            "jax.debug_key_reuse(True)): split it and use each piece once"
                        )
                    raise

    return Probe(key, description or f"{name} uses each PRNG key once", run, hint)


def varies_with(
    name: str,
    case_pairs: Sequence[tuple[Case, Case]],
    *,
    jit: bool = False,
    static_argnums: tuple[int, ...] = (),
    key: str = "varies-with-input",
    description: str,
    hint: str = "",
) -> Probe:
    """For each pair of cases, the two results differ (e.g. different keys → different samples).

    With ``jit=True`` both calls go through one ``jax.jit`` of the answer (one compilation
    for a pair of the same shapes, where each eager call of a ``lax.scan`` compiles anew).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        jitted = jax.jit(fn, static_argnums=static_argnums) if jit else None
        for make_a, make_b in case_pairs:
            if jitted is None:
                a = answer.call(name, *make_a())
                b = answer.call(name, *make_b())
            else:
                a = answer.call_transformed(f"jax.jit({name})", jitted, *make_a())
                b = answer.call_transformed(f"jax.jit({name})", jitted, *make_b())
            if changed(a, b) is None:
                _fail(
                    f"{signature_text(name, getattr(answer, name), make_a())} and "
                    f"{signature_text(name, getattr(answer, name), make_b())} returned the same result"
                )

    return Probe(key, description, run, hint)
