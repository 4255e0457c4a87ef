"""Probes: one property of an answer each, written once and shared by every exercise.

A probe is a ``Probe(key, description, run)``. ``run(answer)`` calls the reader's objects
through ``answer.call`` and raises ``ProbeFailure`` with a short, deterministic message
when the property does not hold. The factories below build the probes the exercises
share; an exercise module combines them and adds a reference implementation and cases.

``cases`` everywhere is a sequence of zero-argument callables, each returning a fresh tuple
of arguments (see ``case``), so that one call's mutation cannot leak into the next.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.extend
import numpy as np

from purestate.compare import changed, mismatch, short, snapshot
from purestate.runner import ProbeFailure, ReaderError, call_reader

Case = Callable[[], tuple[Any, ...]]


def case(*args: Any) -> Case:
    """A case made of fixed arguments, deep-copied on every use."""
    frozen = snapshot(args)
    return lambda: snapshot(frozen)


class Answer:
    """The reader's objects, by the names the exercise gives them."""

    def __init__(self, objects: dict[str, Any]):
        self._objects = dict(objects)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._objects[name]
        except KeyError:
            raise AttributeError(name) from None

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the reader's ``name`` with ``args``; its exceptions become feedback."""
        return call_reader(name, self._objects[name], *args, **kwargs)

    def call_transformed(self, label: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn`` (a transformation of the reader's code) and name it ``label`` on error."""
        return call_reader(label, fn, *args)


@dataclass(frozen=True)
class Probe:
    """One property of an answer.

    ``key`` is a stable slug the tests refer to; ``description`` is the line the reader sees.
    """

    key: str
    description: str
    run: Callable[[Answer], None]


def signature_text(name: str, fn: Callable[..., Any], args: Sequence[Any]) -> str:
    """``name(a=…, b=…)`` with the reader's parameter names, for messages."""
    shown = [short(a, limit=40) for a in args]
    try:
        params = list(inspect.signature(fn).parameters)
    except (TypeError, ValueError):
        params = []
    if len(params) >= len(args):
        shown = [f"{p}={s}" for p, s in zip(params, shown)]
    return f"{name}({', '.join(shown)})"


def _fail(message: str) -> None:
    raise ProbeFailure(message)


# Correctness ------------------------------------------------------------------------


def matches_reference(
    name: str,
    reference: Callable[..., Any],
    cases: Sequence[Case],
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "matches-reference",
    description: str | None = None,
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

    return Probe(key, description or f"{name} returns the right values", run)


def satisfies(
    name: str,
    cases: Sequence[Case],
    predicate: Callable[[tuple[Any, ...], Any], str | None],
    *,
    key: str,
    description: str,
) -> Probe:
    """``predicate(args, result)`` returns ``None`` on every case, else the failure message.

    For properties a reference value cannot express (a sample's statistics, a
    relationship between outputs).
    """

    def run(answer: Answer) -> None:
        for make in cases:
            args = make()
            result = answer.call(name, *args)
            problem = predicate(make(), result)
            if problem:
                _fail(f"{signature_text(name, getattr(answer, name), make())}: {problem}")

    return Probe(key, description, run)


# Purity -------------------------------------------------------------------------------


def inputs_unchanged(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "inputs-unchanged",
    description: str | None = None,
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

    return Probe(key, description or f"{name} leaves its arguments unchanged", run)


def _param_name(fn: Callable[..., Any], index: int) -> str:
    try:
        params = list(inspect.signature(fn).parameters)
        return f"`{params[index]}`"
    except (TypeError, ValueError, IndexError):
        return f"number {index + 1}"


def deterministic(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "same-result-twice",
    description: str | None = None,
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

    return Probe(key, description or f"{name} returns the same result when called twice", run)


def returns_fresh_object(
    name: str,
    cases: Sequence[Case],
    *,
    argnum: int = 0,
    key: str = "returns-new-object",
    description: str | None = None,
) -> Probe:
    """The result is not the argument ``argnum`` itself (a new container is returned)."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            result = answer.call(name, *args)
            if result is args[argnum]:
                _fail(f"{name} returned its argument {_param_name(fn, argnum)} itself, not a new object")

    return Probe(key, description or f"{name} returns a new object", run)


# Transformations ------------------------------------------------------------------


def jit_matches_eager(
    name: str,
    cases: Sequence[Case],
    *,
    static_argnums: tuple[int, ...] = (),
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "jit-matches-eager",
    description: str | None = None,
) -> Probe:
    """``jax.jit(answer)`` runs and returns what the plain call returns."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        jitted = jax.jit(fn, static_argnums=static_argnums)
        for make in cases:
            eager = answer.call(name, *make())
            compiled = answer.call_transformed(f"jax.jit({name})", jitted, *make())
            found = mismatch(eager, compiled, rtol=rtol, atol=atol)
            if found:
                _fail(f"jax.jit({name}) and {name} disagree: {found}")

    return Probe(key, description or f"jax.jit({name}) returns what {name} returns", run)


def traces_once(
    name: str,
    cases: Sequence[Case],
    *,
    static_argnums: tuple[int, ...] = (),
    max_traces: int = 1,
    key: str = "traces-once",
    description: str | None = None,
) -> Probe:
    """One ``jax.jit`` of the answer traces at most ``max_traces`` times over all cases.

    The cases should share shapes, dtypes and tree structure, so that only values change.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        traces = 0

        def counted(*args: Any) -> Any:
            nonlocal traces
            traces += 1
            return fn(*args)

        jitted = jax.jit(counted, static_argnums=static_argnums)
        for make in cases:
            answer.call_transformed(f"jax.jit({name})", jitted, *make())
        if traces > max_traces:
            _fail(
                f"jax.jit({name}) traced {traces} times over {len(cases)} calls whose arguments "
                f"differ only in value; expected at most {max_traces}"
            )

    return Probe(
        key,
        description or f"jax.jit({name}) traces once for new values of the same shape",
        run,
    )


def no_leaked_tracers(
    name: str,
    cases: Sequence[Case],
    *,
    static_argnums: tuple[int, ...] = (),
    key: str = "no-leaked-tracers",
    description: str | None = None,
) -> Probe:
    """Under ``jax.checking_leaks()``, ``jax.jit(answer)`` keeps no tracer after tracing."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            jitted = jax.jit(fn, static_argnums=static_argnums)
            try:
                with jax.checking_leaks():
                    jitted(*make())
            except NotImplementedError:
                raise
            except Exception as error:
                if "leak" in str(error).lower():
                    _fail(
                        f"jax.jit({name}) leaked a tracer: a value from inside the trace is kept "
                        "after the function returned (in a list, a global or an attribute)"
                    )
                raise ReaderError(f"jax.jit({name})", error) from error

    return Probe(key, description or f"jax.jit({name}) leaks no tracer", run)


def grad_matches_reference(
    name: str,
    reference: Callable[..., Any],
    cases: Sequence[Case],
    *,
    argnums: int | tuple[int, ...] = 0,
    has_aux: bool = False,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    key: str = "gradient",
    description: str | None = None,
) -> Probe:
    """``jax.grad(answer)`` equals ``jax.grad(reference)`` with respect to ``argnums``."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        grad_answer = jax.grad(fn, argnums=argnums, has_aux=has_aux)
        grad_reference = jax.grad(reference, argnums=argnums, has_aux=has_aux)
        for make in cases:
            expected = grad_reference(*make())
            got = answer.call_transformed(f"jax.grad({name})", grad_answer, *make())
            if has_aux:
                expected, got = expected[0], _first(got)
            found = mismatch(expected, got, rtol=rtol, atol=atol)
            if found:
                _fail(f"the gradient of {name} with respect to argument(s) {argnums} is wrong: {found}")

    return Probe(key, description or f"jax.grad({name}) gives the right gradients", run)


def _first(value: Any) -> Any:
    if isinstance(value, tuple) and len(value) == 2:
        return value[0]
    _fail(f"expected (gradients, aux) from jax.grad(..., has_aux=True), got {short(value)}")


def vmap_matches_loop(
    name: str,
    batched_cases: Sequence[Case],
    *,
    in_axes: int | None | tuple[int | None, ...] = 0,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "vmap-matches-loop",
    description: str | None = None,
) -> Probe:
    """``jax.vmap(answer, in_axes)`` equals calling the answer on each example in a loop."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        vmapped = jax.vmap(fn, in_axes=in_axes)
        for make in batched_cases:
            args = make()
            axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
            size = next(np.shape(a)[0] for a, ax in zip(args, axes) if ax is not None)
            looped = [
                answer.call(
                    name,
                    *(a if ax is None else jax.tree.map(lambda leaf: leaf[i], a) for a, ax in zip(args, axes)),
                )
                for i in range(size)
            ]
            expected = jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *looped)
            got = answer.call_transformed(f"jax.vmap({name})", vmapped, *make())
            found = mismatch(expected, got, rtol=rtol, atol=atol)
            if found:
                _fail(f"jax.vmap({name}) disagrees with a loop over the batch: {found}")

    return Probe(key, description or f"jax.vmap({name}) equals a loop over the examples", run)


def no_key_reuse(
    name: str,
    cases: Sequence[Case],
    *,
    jit: bool = True,
    key: str = "no-key-reuse",
    description: str | None = None,
) -> Probe:
    """Under ``jax.debug_key_reuse(True)``, the answer uses every PRNG key at most once."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            with jax.debug_key_reuse(True):
                try:
                    answer.call(name, *make())
                    if jit:
                        answer.call_transformed(f"jax.jit({name})", jax.jit(fn), *make())
                except ReaderError as error:
                    if isinstance(error.error, jax.errors.KeyReuseError):
                        _fail(
                            f"{name} used a PRNG key twice (jax.errors.KeyReuseError under "
                            "jax.debug_key_reuse(True)): split it and use each piece once"
                        )
                    raise

    return Probe(key, description or f"{name} uses each PRNG key once", run)


def varies_with(
    name: str,
    case_pairs: Sequence[tuple[Case, Case]],
    *,
    key: str = "varies-with-input",
    description: str,
) -> Probe:
    """For each pair of cases, the two results differ (e.g. different keys → different samples)."""

    def run(answer: Answer) -> None:
        for make_a, make_b in case_pairs:
            a = answer.call(name, *make_a())
            b = answer.call(name, *make_b())
            if changed(a, b) is None:
                _fail(
                    f"{signature_text(name, getattr(answer, name), make_a())} and "
                    f"{signature_text(name, getattr(answer, name), make_b())} returned the same result"
                )

    return Probe(key, description, run)


# Program structure ---------------------------------------------------------------


def jaxpr_primitives(fn: Callable[..., Any], *args: Any) -> set[str]:
    """Every primitive in ``fn``'s jaxpr, sub-jaxprs (loop bodies, branches) included."""
    closed = jax.make_jaxpr(fn)(*args)
    found: set[str] = set()

    def visit(jaxpr: Any) -> None:
        for eqn in jaxpr.eqns:
            found.add(eqn.primitive.name)
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(closed.jaxpr)
    return found


def jaxpr_size(fn: Callable[..., Any], *args: Any) -> int:
    """The number of equations at the top level of ``fn``'s jaxpr."""
    return len(jax.make_jaxpr(fn)(*args).jaxpr.eqns)


def uses_primitive(
    name: str,
    make: Case,
    primitives: set[str],
    *,
    key: str = "uses-loop-primitive",
    description: str,
) -> Probe:
    """The answer's jaxpr contains at least one of ``primitives`` (e.g. ``{"scan", "while"}``)."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        found = answer.call_transformed(f"jax.make_jaxpr({name})", jaxpr_primitives, fn, *make())
        if not found & primitives:
            wanted = " or ".join(sorted(primitives))
            _fail(f"the jaxpr of {name} contains no {wanted}")

    return Probe(key, description, run)


def program_size_independent_of_length(
    name: str,
    make_of_length: Callable[[int], tuple[Any, ...]],
    *,
    lengths: tuple[int, int] = (4, 32),
    key: str = "constant-program-size",
    description: str | None = None,
) -> Probe:
    """The jaxpr does not grow with the input length (a loop primitive, not a Python loop)."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        short_n, long_n = lengths
        small = answer.call_transformed(f"jax.make_jaxpr({name})", jaxpr_size, fn, *make_of_length(short_n))
        large = answer.call_transformed(f"jax.make_jaxpr({name})", jaxpr_size, fn, *make_of_length(long_n))
        if large != small:
            _fail(
                f"the traced program of {name} has {small} equations for length {short_n} and "
                f"{large} for length {long_n}: a Python loop is unrolled into the trace"
            )

    return Probe(
        key,
        description or f"the traced program of {name} does not grow with the sequence length",
        run,
    )
