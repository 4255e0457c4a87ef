"""Loops: a loop primitive instead of an unrolled Python loop, and what the loop carries."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

import jax
import jax.extend

from purestate.probes.core import Answer, Case, Probe, _fail


def jaxpr_size(
    fn: Callable[..., Any],
    *args: Any,
    static_argnums: tuple[int, ...] = (),
    recursive: bool = False,
) -> int:
    """The number of equations in ``fn``'s jaxpr: at its top level, or in every sub-jaxpr too.

    ``recursive=True`` adds the equations of every jaxpr held in an equation's parameters (a
    nested ``jax.jit``, a ``custom_jvp``/``custom_vjp`` function, a ``checkpoint``, the
    branches of a ``cond``, a loop body), each time the equation occurs. A loop body is one
    jaxpr however many steps it runs, so it counts once (``unroll`` is a parameter of the
    ``scan`` equation: see ``fully_unrolled_loops``); a Python loop inside a nested
    ``jax.jit`` is unrolled into that ``jit``'s jaxpr and counts step by step, although the
    top level shows a single ``pjit`` equation.
    """
    jaxpr = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args).jaxpr
    if not recursive:
        return len(jaxpr.eqns)

    def count(inner: Any) -> int:
        return sum(
            1 + sum(count(sub) for sub in jax.extend.core.jaxprs_in_params(eqn.params))
            for eqn in inner.eqns
        )

    return count(jaxpr)


def fully_unrolled_loops(
    fn: Callable[..., Any], *args: Any, length: int, static_argnums: tuple[int, ...] = ()
) -> int:
    """How many ``scan`` equations of ``length`` steps in ``fn``'s jaxpr, nested ones included,
    XLA gets unrolled whole.

    The jaxpr keeps one body per ``scan`` whatever its ``unroll``; XLA gets ``unroll`` copies of
    it. On JAX 0.12.0.1 ``unroll=True`` is stored as the length, and a constant factor as
    itself (``unroll=4`` stays 4 at every length): at a length beyond any factor a learner
    writes, ``unroll >= length`` is a whole loop unrolled (``fori_loop(..., unroll=True)``
    with static bounds is such a ``scan``). Loops of other lengths are not counted: a short
    inner loop unrolled whole does not grow with ``length``.
    """
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)
    found = 0

    def visit(inner: Any) -> None:
        nonlocal found
        for eqn in inner.eqns:
            if eqn.primitive.name == "scan" and int(eqn.params.get("length", 0)) == length:
                unroll = eqn.params.get("unroll", 1)
                if int(unroll) >= length > 1:
                    found += 1
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(closed.jaxpr)
    return found


def program_size_independent_of_length(
    name: str,
    make_of_length: Callable[[int], tuple[Any, ...]],
    *,
    lengths: tuple[int, int] = (4, 32),
    static_argnums: tuple[int, ...] = (),
    recursive: bool = False,
    unrolled_at: int = 0,
    key: str = "constant-program-size",
    description: str | None = None,
    hint: str = (
        "Use a loop primitive (lax.scan, lax.fori_loop, lax.while_loop): jit unrolls a "
        "Python loop into a program that grows with the length."
    ),
) -> Probe:
    """The jaxpr does not grow with the input length (a loop primitive, not a Python loop).

    ``static_argnums`` are passed to ``jax.make_jaxpr`` (e.g. when the length is an argument).
    ``recursive=True`` counts the equations of nested jaxprs too (see ``jaxpr_size``), so a
    Python loop hidden inside a nested ``jax.jit`` (one ``pjit`` equation at the top level)
    is seen; a loop primitive's body still counts once. ``unrolled_at=L`` (L larger than any
    constant unroll factor, e.g. 64) also traces the answer at length L, once its size has
    passed, and fails if a loop over the L steps is a ``scan`` with ``unroll=True``: the
    jaxpr keeps one body, but XLA compiles one copy per step (see ``fully_unrolled_loops``).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        short_n, long_n = lengths
        size_of = functools.partial(jaxpr_size, static_argnums=static_argnums, recursive=recursive)
        small = answer.call_transformed(f"jax.make_jaxpr({name})", size_of, fn, *make_of_length(short_n))
        large = answer.call_transformed(f"jax.make_jaxpr({name})", size_of, fn, *make_of_length(long_n))
        if large != small:
            nested = " (nested jaxprs included)" if recursive else ""
            _fail(
                f"the traced program of {name} has {small} equations{nested} for length {short_n} and "
                f"{large} for length {long_n}: a Python loop is unrolled into the trace"
            )
        if unrolled_at:
            unrolled_of = functools.partial(fully_unrolled_loops, length=unrolled_at, static_argnums=static_argnums)
            if answer.call_transformed(f"jax.make_jaxpr({name})", unrolled_of, fn, *make_of_length(unrolled_at)):
                _fail(
                    f"for length {unrolled_at}, {name} loops with a scan (or fori_loop) of unroll=True: "
                    f"its jaxpr holds one body, but XLA compiles {unrolled_at} copies of it, one per step"
                )

    return Probe(
        key,
        description or f"the traced program of {name} does not grow with the sequence length",
        run,
        hint,
    )


def loop_carry_avals(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> list[list[Any]]:
    """The abstract values (shape and dtype) each loop in ``fn``'s jaxpr carries.

    One list per ``scan`` or ``while`` equation, nested loops included. JAX moves a value
    that the loop body passes through unchanged out of the carry and into the loop's
    constants, so what is listed here is state the body updates on every iteration.
    """
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)
    loops: list[list[Any]] = []

    def carried(eqn: Any) -> list[Any]:
        params = eqn.params
        if eqn.primitive.name == "while":
            return list(eqn.invars[params["cond_nconsts"] + params["body_nconsts"]:])
        if "ft_in" in params:  # JAX 0.12: consts, carry and xs as one flat tree
            _, carry, _ = params["ft_in"].update(list(eqn.invars)).unpack()
            return list(carry)
        start = params["num_consts"]
        return list(eqn.invars[start:start + params["num_carry"]])

    def visit(jaxpr: Any) -> None:
        for eqn in jaxpr.eqns:
            if eqn.primitive.name in ("scan", "while"):
                loops.append([var.aval for var in carried(eqn)])
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(closed.jaxpr)
    return loops


def is_prng_key(aval: Any) -> bool:
    """Whether an abstract value is a typed PRNG key array (from ``jax.random.key``)."""
    return jax.dtypes.issubdtype(getattr(aval, "dtype", None), jax.dtypes.prng_key)


def loop_carries(
    name: str,
    make: Case,
    carried: Callable[[Any], bool],
    *,
    what: str,
    static_argnums: tuple[int, ...] = (),
    key: str = "loop-carry",
    description: str,
    hint: str = (
        "Carry the changing state through the loop primitive's carry, not through a Python "
        "variable outside it."
    ),
) -> Probe:
    """Some loop (``scan`` or ``while``) in the answer's jaxpr carries a value with ``carried(aval)``.

    For lessons where the state must travel through the loop, e.g. a PRNG key split on
    every step (``carried=is_prng_key``). ``what`` names that value in the message. A value
    the body never changes does not count as carried (see ``loop_carry_avals``).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        carries_of = functools.partial(loop_carry_avals, static_argnums=static_argnums)
        loops = answer.call_transformed(f"jax.make_jaxpr({name})", carries_of, fn, *make())
        if not loops:
            _fail(f"the jaxpr of {name} contains no loop (scan or while): {what} has no carry to travel in")
        if not any(carried(aval) for avals in loops for aval in avals):
            _fail(
                f"no loop in {name} carries {what} that changes from step to step: "
                "put it in the carry, update it in the body and return the new value"
            )

    return Probe(key, description, run, hint)
