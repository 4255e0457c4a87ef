"""Chapter 2 · How JAX sees your function: exercise 2.1."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import Answer, Probe, ProbeFailure
from purestate.registry import Exercise, register

# 2.1 ---------------------------------------------------------------------------------


class CaseFunction:
    """The ``f`` the cases hand to ``count_traces``: a new object every time.

    A callable object rather than a ``def`` so that a report names it by what the case is
    about (``<f: int32 then float32>``) instead of by a memory address, which changes from
    run to run. Deep copies return the object itself, as they do for a function.
    """

    def __init__(self, label: str):
        self.label = label
        self.__name__ = "f"
        self.__qualname__ = "f"

    def __call__(self, *args: Any) -> Any:
        return args

    def __repr__(self) -> str:
        return f"<f: {self.label}>"

    def __deepcopy__(self, memo: dict[int, Any]) -> CaseFunction:
        return self


def reference_count_traces(f: Callable[..., Any], calls: list[tuple[Any, ...]]) -> int:
    traces: list[None] = []

    def counted(*args: Any) -> Any:  # a new function: a new, empty jit cache
        traces.append(None)
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return len(traces)


def _scenario(label: str, make_calls: Callable[[], list[tuple[Any, ...]]]) -> probes.Case:
    """A case with a fresh ``f`` and fresh argument tuples on every use."""
    return lambda: (CaseFunction(label), make_calls())


# Each scenario changes one part of the cache key (or none); comments give the trace count.
COUNT_TRACES_CASES = (
    _scenario("new values, same shape", lambda: [(jnp.ones(3),), (jnp.arange(3.0),), (jnp.zeros(3),)]),  # 1
    _scenario("a new shape, then the first again", lambda: [(jnp.ones(3),), (jnp.ones(4),), (jnp.zeros(3),)]),  # 2
    _scenario("int32 then float32", lambda: [(jnp.arange(3),), (jnp.arange(3.0),)]),  # 2
    _scenario("Python floats, then a float32 scalar", lambda: [(1.0,), (2.5,), (jnp.float32(1.0),)]),  # 2
    _scenario(
        "a dict with other keys",
        lambda: [
            ({"w": jnp.ones(2), "b": 0.0},),
            ({"b": 1.0, "w": jnp.zeros(2)},),
            ({"w": jnp.ones(2), "bias": 0.0},),
        ],
    ),  # 2
    _scenario(
        "NumPy and JAX arrays of one JAX type",
        lambda: [(np.ones(3, np.float32),), (jnp.ones(3),), (np.ones(3),)],
    ),  # 1: float64 NumPy arrays become float32 (x64 is off)
    _scenario("no calls", lambda: []),  # 0
)


def _fresh_jit_each_call(answer: Answer) -> None:
    """``count_traces`` twice with the same ``f``: the second count starts from zero."""
    f = CaseFunction("the same f, counted again")
    steps = (
        ([(jnp.ones(2),), (jnp.ones(5),)], "[float32[2], float32[5]]", 2),
        ([(jnp.ones(2),)], "[float32[2]]", 1),
        ([(jnp.ones(2),), (jnp.ones(5),)], "[float32[2], float32[5]]", 2),
    )
    history = []
    for calls, shown, expected in steps:
        got = answer.call("count_traces", f, calls)
        history.append(f"count_traces(f, {shown}) returned {got!r}")
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool) or got != expected:
            raise ProbeFailure(
                "; then ".join(history) + f", expected {expected}. Each call of count_traces "
                "must start from a fresh jit: jax.jit(f) shares one cache for the same f, and "
                "a counter kept between calls keeps counting"
            )


register(Exercise(
    id="2.1",
    signature="count_traces(f, calls)",
    objects=("count_traces",),
    probes=(
        probes.matches_reference(
            "count_traces",
            reference_count_traces,
            COUNT_TRACES_CASES,
            description="count_traces counts the traces of jax.jit(f) "
            "(shape, dtype, weak type, tree structure)",
        ),
        Probe(
            "fresh-jit",
            "each call of count_traces starts from a fresh jit, even for an f counted before",
            _fresh_jit_each_call,
        ),
        probes.deterministic("count_traces", COUNT_TRACES_CASES[1:2]),
        probes.inputs_unchanged("count_traces", COUNT_TRACES_CASES[3:5]),
    ),
    hints=(
        (
            "Inside count_traces, define a new function that adds one to a counter and then "
            "returns f(*args); jax.jit that new function, call it with each tuple of `calls`, and "
            "return the counter. A new wrapper on every call means a new, empty cache."
        ),
    ),
))
