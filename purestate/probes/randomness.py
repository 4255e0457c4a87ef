"""Randomness: keys used once, results that change with the key."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend
import numpy as np

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
    hint: str = (
        "Use each PRNG key once: split it (or fold in a number) to get a fresh key for "
        "every draw."
    ),
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
    parts: Sequence[tuple[Callable[[Any], Any], str]] = (),
    hint: str = (
        "The result should change when that argument changes: derive everything random from"
        " the key you are given."
    ),
) -> Probe:
    """For each pair of cases, the two results differ (e.g. different keys → different samples).

    With ``jit=True`` both calls go through one ``jax.jit`` of the answer (one compilation
    for a pair of the same shapes, where each eager call of a ``lax.scan`` compiles anew).
    ``parts`` are ``(part_of, message)`` pairs: ``part_of(result)`` (``None`` where the
    result has no such part; other probes judge its structure) must differ too, or the probe
    fails with ``message``, formatted with ``size``, the number of values of the part (flips
    that follow a fixed pattern while the noise beside them changes).
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
            for part_of, message in parts:
                part_a, part_b = part_of(a), part_of(b)
                if part_a is not None and part_b is not None and changed(np.asarray(part_a), np.asarray(part_b)) is None:
                    _fail(message.format(size=np.size(part_a)))

    return Probe(key, description, run, hint)


def key_draw_count(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> float:
    """How many keys ``fn``'s traced program draws random bits from.

    Every sampler (``normal``, ``uniform``, ``bernoulli``, ``randint`` …) turns keys into
    bits with the ``random_bits`` primitive; one such equation on a key array of shape
    ``(k,)`` (e.g. under ``vmap`` over split keys) draws from ``k`` keys. Equations in a
    ``scan`` body count once per iteration, in a ``cond`` the largest branch counts, and a
    draw inside a ``while`` loop (unknown trip count) counts as ``inf``. One draw of shape
    ``(n, …)`` from one key counts 1, however many numbers it makes.
    """
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)

    def count(jaxpr: Any) -> float:
        total = 0.0
        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            subs = list(jax.extend.core.jaxprs_in_params(eqn.params))
            if name == "random_bits":
                total += math.prod(getattr(eqn.invars[0].aval, "shape", ()))
            elif name == "scan":
                total += eqn.params["length"] * sum(count(sub) for sub in subs)
            elif name == "while":
                total += math.inf if any(count(sub) for sub in subs) else 0.0
            elif name == "cond":
                total += max((count(sub) for sub in subs), default=0.0)
            else:
                total += sum(count(sub) for sub in subs)
        return total

    return count(closed.jaxpr)


def draws_from_keys(
    name: str,
    cases: Sequence[Case],
    at_least: Callable[[tuple[Any, ...]], int],
    *,
    per: str = "step",
    static_argnums: tuple[int, ...] = (),
    key: str = "key-per-draw",
    description: str,
    hint: str = (
        "Draw each random value from its own key, derived from the one you are given."
    ),
) -> Probe:
    """The traced program draws from at least ``at_least(args)`` keys (see ``key_draw_count``).

    ``per`` names the unit that needs a key of its own in the message ("step", "layer").

    For lessons where each step (example, layer) must get a key of its own: one draw of
    shape ``(n_steps, …)`` from one key gives numbers just as random, but not one key per
    step. The count is structural, so pair it with a probe that the steps differ (a loop
    that draws every step from the same key counts one key per iteration).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        count_of = functools.partial(key_draw_count, static_argnums=static_argnums)
        for make in cases:
            args = make()
            wanted = at_least(args)
            found = answer.call_transformed(f"jax.make_jaxpr({name})", count_of, fn, *args)
            if found < wanted:
                _fail(
                    f"{signature_text(name, fn, args)} draws its random numbers from {found:g} "
                    f"key(s); expected at least {wanted}, one per {per}: derive a key per {per} "
                    f"(split or fold_in) and draw each {per} with its own key"
                )

    return Probe(key, description, run, hint)


def key_derivations(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> list[set[str]]:
    """For each key of ``fn``'s traced program, how it is used: ``"draw"`` (``random_bits``),
    ``"split"`` (``random_split``), ``"fold_in"`` (``random_fold_in``).

    A key is followed into nested programs (``jit``, ``scan``, ``while``, ``cond``, custom
    derivatives: an argument has the uses of the parameter it becomes) and through
    ``random_wrap``/``random_unwrap`` (raw uint32 key data), never through indexing:
    ``keys[0]`` and ``keys[1]`` of one ``split`` are different keys. One entry per variable
    with a use, in every nested program.
    """
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)
    role_of = {"random_bits": "draw", "random_split": "split", "random_fold_in": "fold_in"}
    found: list[set[str]] = []
    summaries: dict[int, list[set[str]]] = {}

    def summary(jaxpr: Any) -> list[set[str]]:
        """The uses of each input of ``jaxpr`` (each nested program is summarised once)."""
        if id(jaxpr) in summaries:
            return summaries[id(jaxpr)]
        uses: dict[Any, set[str]] = {}

        def add(var: Any, roles: set[str]) -> None:
            if isinstance(var, jax.extend.core.Var) and roles:
                uses.setdefault(var, set()).update(roles)

        for eqn in reversed(jaxpr.eqns):  # a variable's uses come after its definition
            name = eqn.primitive.name
            if name in role_of:
                add(eqn.invars[0], {role_of[name]})
            elif name in ("random_wrap", "random_unwrap"):
                add(eqn.invars[0], uses.get(eqn.outvars[0], set()))
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                sub = getattr(sub, "jaxpr", sub)
                if name == "cond":
                    outer = eqn.invars[1:]  # the first operand is the branch index
                elif name == "while":
                    n_cond, n_body = eqn.params["cond_nconsts"], eqn.params["body_nconsts"]
                    cond = getattr(eqn.params["cond_jaxpr"], "jaxpr", eqn.params["cond_jaxpr"])
                    outer = eqn.invars[:n_cond] + eqn.invars[n_cond + n_body:] if sub is cond else eqn.invars[n_cond:]
                else:
                    outer = eqn.invars
                inner = summary(sub)
                if len(outer) == len(inner):
                    for var, roles in zip(outer, inner):
                        add(var, roles)
        found.extend(roles for roles in uses.values())
        summaries[id(jaxpr)] = [uses.get(var, set()) for var in jaxpr.invars]
        return summaries[id(jaxpr)]

    summary(closed.jaxpr)
    return found


def one_derivation_scheme(
    name: str,
    cases: Sequence[Case],
    *,
    static_argnums: tuple[int, ...] = (),
    key: str = "one-scheme-per-key",
    description: str | None = None,
    hint: str = (
        "Derive the keys of one parent with one scheme: split it, or fold distinct numbers "
        "into it, never both (jax.random.fold_in(key, i) is jax.random.split(key, n)[i])."
    ),
) -> Probe:
    """No key of the traced program is both split and folded into (``key_derivations``).

    With JAX's default ``jax_threefry_partitionable``, ``fold_in(key, i)`` is the key
    ``split(key, n)[i]``: a parent used both ways gives equal keys as soon as two indices
    meet, and ``jax.debug_key_reuse`` does not see it (``fold_in`` does not consume its key).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        uses_of = functools.partial(key_derivations, static_argnums=static_argnums)
        for make in cases:
            args = make()
            uses = answer.call_transformed(f"jax.make_jaxpr({name})", uses_of, fn, *args)
            if any(found >= {"split", "fold_in"} for found in uses):
                _fail(
                    f"{signature_text(name, fn, args)} both splits a key and folds numbers into it: "
                    "fold_in(key, i) is split(key, n)[i], so the two schemes make equal keys"
                )

    return Probe(key, description or f"{name} derives the keys of each parent by one scheme", run, hint)
