"""Chapter 2 · How JAX sees your function: exercises 2.1–2.2."""

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


@probes.reference
def reference_count_traces(f: Callable[..., Any], calls: list[tuple[Any, ...]]) -> int:
    traces: list[None] = []

    def counted(*args: Any) -> Any:  # a new function: a new, empty jit cache
        traces.append(None)
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        # `trace` looks up and fills the same trace cache as a call, without compiling:
        # the count is the same, at a fraction of the time (tests/wrong_answers/test_ch02.py
        # checks it against calls)
        jitted.trace(*args)
    return len(traces)


def _scenario(label: str, make_calls: Callable[[], list[tuple[Any, ...]]]) -> probes.Case:
    """A case with a fresh ``f`` and fresh argument tuples on every use."""
    return lambda: (CaseFunction(label), make_calls())


# Each scenario changes parts of the cache key (or none); comments give the trace count.
# Few scenarios, few traces each: every trace of the answer is a compilation.
COUNT_TRACES_CASES = (
    _scenario(
        "new values, a new shape, int32, the first shape again, a weakly typed JAX array",
        lambda: [
            (jnp.ones(3),), (jnp.arange(3.0),), (jnp.ones(4),), (jnp.arange(3),), (jnp.zeros(3),),
            (jnp.full(3, 0.5),),  # ~float32[3]: weak like a Python scalar, though a JAX array
        ],
    ),  # 4
    _scenario(
        "NumPy and JAX arrays of one JAX type",
        lambda: [(np.full(3, 0.1, np.float32),), (jnp.full(3, 0.1, jnp.float32),), (np.full(3, 0.1),)],
    ),  # 1: float64 NumPy arrays become float32 (x64 is off); 0.1 is not a float32, so an
    # answer that converts the caller's arrays in place shows in `inputs_unchanged`
    _scenario(
        "Python scalars, a float32 scalar, bools",
        lambda: [(1.0,), (2.5,), (jnp.float32(1.0),), (True,), (False,), (1,)],
    ),  # 4: ~float32, float32, bool, ~int32
    _scenario(
        "a dict with other keys",
        lambda: [
            ({"w": jnp.ones(2), "b": 0.0},),
            ({"b": 1.0, "w": jnp.zeros(2)},),
            ({"w": jnp.ones(2), "bias": 0.0},),
        ],
    ),  # 2
    _scenario(
        "shapes of one size and rank",
        lambda: [(jnp.ones((2, 3)),), (jnp.ones((3, 2)),), (jnp.ones(6),)],
    ),  # 3
    _scenario(
        "two arguments, the second changes, then one argument",
        lambda: [(jnp.ones(3), 1.0), (jnp.zeros(3), 2.0), (jnp.ones(3), jnp.ones(2)), (jnp.ones(3),)],
    ),  # 3
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
        if not isinstance(got, (int, np.integer)) or isinstance(got, bool):
            raise ProbeFailure(
                f"count_traces(f, {shown}) returned {type(got).__name__} {got!r}: return the "
                "count as a Python int"
            )
        if got != expected:
            raise ProbeFailure(
                "; then ".join(history) + f", expected {expected}. Each call of count_traces "
                "must start from a fresh jit: jax.jit(f) shares one cache for the same f, and "
                "a counter kept between calls keeps counting"
            )


def _f_left_alone(answer: Answer) -> None:
    """``f`` is the caller's: a count kept on it (``f.traces += 1``) changes it, and fails for
    an ``f`` that takes no attributes (a bound method, a built-in, ``jnp.sin``)."""
    f, calls = COUNT_TRACES_CASES[1]()
    before = dict(vars(f))
    answer.call("count_traces", f, calls)
    after = dict(vars(f))
    touched = sorted(
        k for k in before.keys() | after.keys() if k not in before or k not in after or after[k] is not before[k]
    )
    if touched:
        shown = ", ".join(f"f.{k}" for k in touched)
        raise ProbeFailure(
            f"count_traces set {shown} on the f it was given: f belongs to the caller, and a bound "
            "method or a built-in function takes no attributes. Keep the count in a function of "
            "your own"
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
            hint="Let JAX tell you when it traces instead of predicting it: the Python body of "
            "the function being jitted runs once per trace, and only then. A prediction from "
            "shapes and dtypes misses weak types, tree structure, the number of arguments or "
            "the conversion of NumPy arrays.",
        ),
        Probe(
            "fresh-jit",
            "each call of count_traces starts from a fresh jit, even for an f counted before",
            _fresh_jit_each_call,
            hint="jax.jit keeps its cache per function object, across separate jax.jit calls. "
            "What must be new on every call of count_traces so that its count starts at zero?",
        ),
        Probe(
            "leaves-f-alone",
            "count_traces stores nothing on f",
            _f_left_alone,
            hint="f is the caller's function, and not every callable takes attributes: count in "
            "the wrapper you jit (a list or a nonlocal in the body of count_traces).",
        ),
        probes.deterministic("count_traces", COUNT_TRACES_CASES[1:2]),
        probes.inputs_unchanged("count_traces", COUNT_TRACES_CASES[1:2]),
        probes.keeps_no_tracers(
            "count_traces", COUNT_TRACES_CASES[1:2],
            hint="Record that a trace happened, not what was traced: the arguments the traced "
            "function receives are tracers, and keeping them after the trace leaks them.",
        ),
    ),
    hints=(
        "A Python statement in the body of a jitted function runs only while JAX traces it. "
        "Use that to count, rather than predicting the cache key yourself.",
        "Inside count_traces, jit a function of your own that records each run of its body "
        "and then calls f; call it with every tuple of `calls`. Make that function anew on "
        "every call of count_traces: the jit cache belongs to the function object.",
    ),
))

# 2.2 ---------------------------------------------------------------------------------
#
# Diagnose and fix. The exercise notebook gives this version, which works eagerly and raises
# TracerBoolConversionError under jax.jit:
#
#     def clip_norm(g, max_norm):
#         norm = jnp.sqrt(jnp.sum(g ** 2))
#         if norm > max_norm:
#             g = g * (max_norm / norm)
#         return g


@probes.reference
def reference_clip_norm(g: jax.Array, max_norm: Any) -> jax.Array:
    norm = jnp.sqrt(jnp.sum(jnp.square(g)))
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


# Most cases share argument types, so that a jit of the answer compiles only three times.
CLIP_NORM_CASES = (
    probes.case(jnp.array([3.0, 4.0]), 1.0),  # norm 5: scaled to norm 1
    probes.case(jnp.array([0.3, 0.4]), 1.0),  # norm 0.5: unchanged
    probes.case(jnp.zeros(2), 1.0),  # norm 0: unchanged, no NaN
    probes.case(jnp.array([3.0, -4.0]), 6.0),  # Euclidean norm 5 < 6, though |3| + |-4| = 7
    # norm 5 over every element (row norms are 3 and 4); max_norm a float32 scalar
    probes.case(jnp.array([[1.0, 2.0, 2.0], [0.0, 4.0, 0.0]]), jnp.float32(2.0)),
    probes.case(jnp.array([6.0, 8.0]), 2),  # a Python int max_norm
    probes.case(jnp.array([3.0, 4.0]), 4.96),  # norm 5, just above max_norm: scaled by 0.992
    # values without a short binary form (norm 4.5503…): a norm summed in float16 or a result
    # rounded to a few decimals is off by more than the tolerance
    probes.case(jnp.array([[0.1234, -2.7183, 1.618], [0.5772, 3.1416, -0.6931]]), 1.7),
)

register(Exercise(
    id="2.2",
    signature="clip_norm(g, max_norm)",
    objects=("clip_norm",),
    probes=(
        probes.matches_reference(
            "clip_norm", reference_clip_norm, CLIP_NORM_CASES,
            hint="The norm is the Euclidean norm of all elements of g together, whatever its "
            "shape; below or at max_norm, g comes back as it is (an all-zero g too, without "
            "NaN); above it, g is scaled by max_norm / norm, the same factor for every element.",
        ),
        probes.jit_matches_eager(
            "clip_norm", CLIP_NORM_CASES,
            hint="Under jax.jit the norm is a tracer without a value: a Python `if`, `min`, "
            "`float()` or a NumPy function needs the value and fails. Make the choice an array "
            "operation (chapter 2, 'A tracer under jit has no value'). max_norm is traced too, "
            "so it cannot be static.",
        ),
        probes.inputs_unchanged(
            "clip_norm", CLIP_NORM_CASES[:2],
            hint="The caller's `g` must stay usable after the call (to log its norm, say): "
            "`donate_argnums` hands its buffer to the result and deletes it. Return a new array.",
        ),
        probes.globals_unchanged(
            "clip_norm", CLIP_NORM_CASES[:2],
            hint="clip_norm changes something outside itself; return everything it computes instead.",
        ),
        probes.no_leaked_tracers(
            "clip_norm", CLIP_NORM_CASES[:1],
            hint="Something computed inside the function (the norm?) is stored outside it. "
            "Under jit that is a tracer; return what you want to keep.",
        ),
    ),
    hints=(
        "Run the given version under jax.jit and read the error's type: which line asks Python "
        "for the value of a traced array?",
        "Both outcomes can be computed, and an array operation picks one of them (or one "
        "scaling factor, 1 when no clipping is needed). Check what your version returns for an "
        "all-zero g.",
    ),
))
