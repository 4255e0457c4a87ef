"""Probes: one property of an answer each, written once and shared by every exercise.

A probe is a ``Probe(key, description, run)``. ``run(answer)`` calls the reader's objects
through ``answer.call`` and raises ``ProbeFailure`` with a short, deterministic message
when the property does not hold. The factories below build the probes the exercises
share; an exercise module combines them and adds a reference implementation and cases.

``cases`` everywhere is a sequence of zero-argument callables, each returning a fresh tuple
of arguments (see ``case``), so that one call's mutation cannot leak into the next.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.extend
import numpy as np

from purestate.compare import changed, is_array, is_key_array, mismatch, short, snapshot, type_name
from purestate.runner import ProbeFailure, ReaderError, call_reader

Case = Callable[[], tuple[Any, ...]]


def case(*args: Any) -> Case:
    """A case made of fixed arguments, deep-copied on every use.

    PRNG key arrays are copied too: under ``jax.debug_key_reuse`` a key remembers that it
    was consumed, and each call must start from an unconsumed key.
    """
    frozen = snapshot(args)
    return lambda: fresh_keys(snapshot(frozen))


def fresh_keys(tree: Any) -> Any:
    """``tree`` with every typed PRNG key array replaced by an unconsumed copy."""

    def copy_key(leaf: Any) -> Any:
        if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(jax.random.key_data(leaf), impl=jax.random.key_impl(leaf))
        return leaf

    return jax.tree.map(copy_key, tree)


def fresh_jit(fn: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit`` of a new wrapper around ``fn``.

    ``jax.jit`` caches traces per function object, across separate ``jax.jit`` calls: a
    probe that must see a trace of its own (for leaks, key reuse, trace counts) wraps first.
    """

    def wrapper(*args: Any) -> Any:
        return fn(*args)

    return jax.jit(wrapper, **jit_kwargs)


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
    jit: bool = False,
    static_argnums: tuple[int, ...] = (),
    key: str,
    description: str,
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


def globals_unchanged(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "globals-unchanged",
    description: str | None = None,
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

    return Probe(key, description or f"{name} changes no global or closed-over variable", run)


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
        jitted = fresh_jit(fn, static_argnums=static_argnums)
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
            jitted = fresh_jit(fn, static_argnums=static_argnums)
            try:
                with jax.checking_leaks():
                    answer.call_transformed(f"jax.jit({name})", jitted, *make())
            except ReaderError as error:
                if "leak" in str(error.error).lower():
                    _fail(
                        f"jax.jit({name}) leaked a tracer: a value from inside the trace is kept "
                        "after the function returned (in a list, a global or an attribute)"
                    )
                raise

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


def grad_of_loss_matches_reference(
    name: str,
    reference: Callable[..., Any],
    cases: Sequence[Case],
    loss: Callable[[Any], Any],
    *,
    argnums: int | tuple[int, ...] = 0,
    jit: bool = False,
    rtol: float = 1e-4,
    atol: float = 1e-5,
    key: str = "gradient",
    description: str | None = None,
) -> Probe:
    """``jax.grad(lambda *a: loss(answer(*a)))`` equals the same for ``reference``.

    For answers whose output is not a scalar (a sequence of states, a tuple): ``loss`` maps
    the output (any pytree the reference returns) to a scalar, e.g. a weighted sum of every
    output, so that a gradient which does not flow through the answer's computation (a
    parameter read from a global, a ``stop_gradient``) or which reverse mode cannot
    compute (a ``lax.while_loop``) shows up as a wrong gradient or as the reader's error.
    ``jit=True`` compiles both gradients once (much faster than eager for loops), for
    exercises whose answers must work under ``jit`` anyway.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        grad_answer = jax.grad(lambda *args: loss(fn(*args)), argnums=argnums)
        grad_reference = jax.grad(lambda *args: loss(reference(*args)), argnums=argnums)
        label = f"jax.grad(loss of {name})"
        if jit:
            grad_answer, grad_reference = jax.jit(grad_answer), jax.jit(grad_reference)
            label = f"jax.jit({label})"
        for make in cases:
            expected = grad_reference(*make())
            got = answer.call_transformed(label, grad_answer, *make())
            found = mismatch(expected, got, rtol=rtol, atol=atol)
            if found:
                _fail(
                    f"the gradient of a loss of {name}'s output with respect to argument(s) "
                    f"{argnums} is wrong: {found}"
                )

    return Probe(key, description or f"gradients flow through {name}", run)


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
    eager: bool = True,
    static_argnums: tuple[int, ...] = (),
    key: str = "no-key-reuse",
    description: str | None = None,
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

    return Probe(key, description or f"{name} uses each PRNG key once", run)


def varies_with(
    name: str,
    case_pairs: Sequence[tuple[Case, Case]],
    *,
    jit: bool = False,
    static_argnums: tuple[int, ...] = (),
    key: str = "varies-with-input",
    description: str,
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

    return Probe(key, description, run)


# Program structure ---------------------------------------------------------------


def jaxpr_primitives(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> set[str]:
    """Every primitive in ``fn``'s jaxpr, sub-jaxprs (loop bodies, branches) included."""
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)
    found: set[str] = set()

    def visit(jaxpr: Any) -> None:
        for eqn in jaxpr.eqns:
            found.add(eqn.primitive.name)
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(closed.jaxpr)
    return found


def jaxpr_size(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> int:
    """The number of equations at the top level of ``fn``'s jaxpr."""
    return len(jax.make_jaxpr(fn, static_argnums=static_argnums)(*args).jaxpr.eqns)


def uses_primitive(
    name: str,
    make: Case,
    primitives: set[str],
    *,
    static_argnums: tuple[int, ...] = (),
    key: str = "uses-loop-primitive",
    description: str,
) -> Probe:
    """The answer's jaxpr contains at least one of ``primitives`` (e.g. ``{"scan", "while"}``).

    ``static_argnums`` are passed to ``jax.make_jaxpr`` (e.g. a loop length).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        primitives_of = functools.partial(jaxpr_primitives, static_argnums=static_argnums)
        found = answer.call_transformed(f"jax.make_jaxpr({name})", primitives_of, fn, *make())
        if not found & primitives:
            wanted = " or ".join(sorted(primitives))
            _fail(f"the jaxpr of {name} contains no {wanted}")

    return Probe(key, description, run)


def mapped_device_counts(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> list[int]:
    """How many devices each ``shard_map`` in ``fn``'s jaxpr spans, in program order.

    In the pinned JAX, ``jax.pmap`` is built on ``jit`` and ``shard_map``, so a ``pmap``
    shows up here too (the legacy ``xla_pmap`` primitive is counted as well). A ``jax.vmap``
    with an ``axis_name`` runs collectives such as ``psum`` but on one device: it adds nothing.
    """
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)
    sizes: list[int] = []

    def visit(jaxpr: Any) -> None:
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "shard_map" and "mesh" in eqn.params:
                sizes.append(int(np.prod(list(dict(eqn.params["mesh"].shape).values()))))
            elif eqn.primitive.name == "xla_pmap":
                sizes.append(int(eqn.params.get("global_axis_size", eqn.params.get("axis_size", 1))))
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(closed.jaxpr)
    return sizes


def runs_on_devices(
    name: str,
    make: Case,
    *,
    devices: Callable[[], int] | None = None,
    static_argnums: tuple[int, ...] = (),
    key: str = "runs-on-all-devices",
    description: str | None = None,
) -> Probe:
    """The answer maps its work over ``devices()`` devices (default: every local device).

    Passes when the answer's jaxpr holds a ``shard_map`` (or a ``jax.pmap``) whose mesh has
    at least that many devices; the count is read when the probe runs, so the same probe
    works on a 1-device laptop, an 8-device CPU split and a GPU machine.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        wanted = devices() if devices is not None else jax.local_device_count()
        counts_of = functools.partial(mapped_device_counts, static_argnums=static_argnums)
        sizes = answer.call_transformed(f"jax.make_jaxpr({name})", counts_of, fn, *make())
        if not sizes:
            _fail(
                f"the jaxpr of {name} contains no shard_map or pmap: everything runs on one "
                "device (a jax.vmap with an axis_name does not spread work over devices)"
            )
        if max(sizes) < wanted:
            _fail(f"{name} maps over {max(sizes)} device(s); expected all {wanted} local devices")

    return Probe(key, description or f"{name} spreads its work over every local device", run)


def program_size_independent_of_length(
    name: str,
    make_of_length: Callable[[int], tuple[Any, ...]],
    *,
    lengths: tuple[int, int] = (4, 32),
    static_argnums: tuple[int, ...] = (),
    key: str = "constant-program-size",
    description: str | None = None,
) -> Probe:
    """The jaxpr does not grow with the input length (a loop primitive, not a Python loop).

    ``static_argnums`` are passed to ``jax.make_jaxpr`` (e.g. when the length is an argument).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        short_n, long_n = lengths
        size_of = functools.partial(jaxpr_size, static_argnums=static_argnums)
        small = answer.call_transformed(f"jax.make_jaxpr({name})", size_of, fn, *make_of_length(short_n))
        large = answer.call_transformed(f"jax.make_jaxpr({name})", size_of, fn, *make_of_length(long_n))
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

    return Probe(key, description, run)


# Classes and states the reader defines ---------------------------------------------------


def from_answer(key: str, description: str, build: Callable[[Answer], Probe]) -> Probe:
    """A probe assembled, when it runs, from the reader's own objects.

    For arguments only the answer can make: an instance of the reader's class, a state
    from the reader's ``init``. ``build(answer)`` returns a probe (usually one of the shared
    factories, given cases that call ``answer.call("Particle", ...)``); its verdict is this
    probe's. ``key`` and ``description`` are fixed here, so the report does not depend on
    the answer. Example (exercise 6.2)::

        from_answer("jit-matches-eager", "jax.jit(step) returns what step returns",
                    lambda answer: jit_matches_eager("step", particle_cases(answer)))
    """

    def run(answer: Answer) -> None:
        build(answer).run(answer)

    return Probe(key, description, run)


def leaves_are_arrays(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "array-leaves",
    description: str | None = None,
) -> Probe:
    """What the answer returns is a pytree with at least one leaf, and every leaf is an array.

    For states and parameters: a Python number in a state is not an array (it is weakly
    typed under ``jit``), and an object JAX does not know as a pytree (an unregistered class)
    is a single opaque leaf.
    """

    def run(answer: Answer) -> None:
        for make in cases:
            args = make()
            result = answer.call(name, *args)
            leaves = jax.tree_util.tree_leaves_with_path(result)
            shown = signature_text(name, getattr(answer, name), args)
            if not leaves:
                _fail(f"{shown} returned {short(result)}, a pytree without leaves")
            for path, leaf in leaves:
                if not is_array(leaf):
                    where = f" at {jax.tree_util.keystr(path)}" if path else ""
                    _fail(
                        f"{shown} returned {type_name(leaf)}{where} ({short(leaf)}), not an array: "
                        "every leaf should be an array (jnp.zeros, jnp.asarray), and a class "
                        "should be registered as a pytree"
                    )

    return Probe(key, description or f"every leaf of what {name} returns is an array", run)


# State threaded through a sequence of calls -------------------------------------------
#
# An ``init``/``update`` family (running statistics, an optimizer, an RNN cell) is judged
# by what it does over many calls, with the state the reader's own ``init`` made. A *drive*
# says how the state is threaded: ``drive(*functions, *case_args)`` receives the functions
# named by ``names`` (in that order) and a case's arguments, makes the calls (for example
# ``state = init(params)``, then ``params, state = update(grads, state, params)`` for every
# step) and returns what is compared, e.g. ``{"update 1": params_1, "update 2": ...}``.
# The drive runs once with the reference functions and once with the reader's, so the
# state's layout stays the reader's choice: only what the drive returns is compared.


def _folding_functions(
    answer: Answer,
    names: Sequence[str],
    *,
    jit: Sequence[str] = (),
    traces: _TraceLimit | None = None,
    guard_inputs: bool = False,
) -> list[Callable[..., Any]]:
    """The reader's functions, wrapped for a drive.

    Each call goes through ``call_reader`` (exceptions become feedback). Functions named in
    ``jit`` run under one ``jax.jit`` each (a fresh wrapper, so no cached trace is reused),
    their traces counted by ``traces``. ``guard_inputs`` fails the probe as soon as a call
    changes one of its positional arguments.
    """
    wrapped: list[Callable[..., Any]] = []
    for name in names:
        fn = getattr(answer, name)
        if name in jit:
            wrapped.append(_jitted_for_fold(name, fn, traces))
        elif guard_inputs:
            wrapped.append(_guarded_for_fold(name, fn))
        else:
            wrapped.append(lambda *args, _name=name, _fn=fn, **kwargs: call_reader(_name, _fn, *args, **kwargs))
    return wrapped


class _TraceLimit:
    """Counts the traces of ``name``; fails as soon as there are more than ``limit``.

    Failing at the first extra trace keeps the probe fast: every retrace also compiles.
    """

    def __init__(self, name: str, limit: int):
        self.name, self.limit, self.calls, self.traces = name, limit, 0, 0

    def count(self, name: str) -> None:
        if name != self.name:
            return
        self.traces += 1
        if self.traces > self.limit:
            _fail(
                f"jax.jit({name}) traced again at call {self.calls} ({self.traces} traces), although "
                f"the arguments kept their shapes; expected at most {self.limit} trace(s): "
                "something in the state changes the trace from step to step (a static field, "
                "a Python value the code depends on, a shape or dtype that drifts)"
            )


def _jitted_for_fold(name: str, fn: Callable[..., Any], traces: _TraceLimit | None) -> Callable[..., Any]:
    def counted(*args: Any, **kwargs: Any) -> Any:
        if traces is not None:
            traces.count(name)
        return fn(*args, **kwargs)

    jitted = jax.jit(counted)

    def call(*args: Any, **kwargs: Any) -> Any:
        if traces is not None and name == traces.name:
            traces.calls += 1
        return call_reader(f"jax.jit({name})", jitted, *args, **kwargs)

    return call


def _guarded_for_fold(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
    calls = 0

    def guarded(*args: Any, **kwargs: Any) -> Any:
        nonlocal calls
        calls += 1
        before = snapshot(args)
        result = call_reader(name, fn, *args, **kwargs)
        for index, (was, now) in enumerate(zip(before, args)):
            found = _tree_change(was, now)
            if found:
                _fail(
                    f"call {calls} of {name} changed its argument {_param_name(fn, index)}: {found}; "
                    "build new containers instead of assigning into the ones you were given"
                )
        return result

    return guarded


def _tree_change(before: Any, after: Any) -> str | None:
    """How the pytree ``after`` differs from the snapshot ``before`` (exactly), or ``None``.

    Compares leaf by leaf along pytree paths, so any registered pytree (NamedTuple,
    dataclass, custom node) is compared by its contents, not by object identity.
    """
    before_leaves, before_def = jax.tree_util.tree_flatten_with_path(before)
    after_leaves, after_def = jax.tree_util.tree_flatten_with_path(after)
    if before_def != after_def:
        return f"its structure changed from {short(before_def)} to {short(after_def)}"
    for (path, was), (_, now) in zip(before_leaves, after_leaves):
        if changed(was, now):
            return f"at {jax.tree_util.keystr(path)} it was {short(was)} before the call, {short(now)} after it"
    return None


def fold_matches_reference(
    names: Sequence[str],
    references: Sequence[Callable[..., Any]],
    cases: Sequence[Case],
    drive: Callable[..., Any],
    *,
    jit: Sequence[str] = (),
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "fold-matches-reference",
    description: str | None = None,
) -> Probe:
    """Threading state through the reader's functions gives what the references give.

    ``drive(*functions, *case_args)`` runs the whole sequence of calls and returns what is
    compared (see the section comment). The functions named in ``jit`` are handed to the
    reader's drive under ``jax.jit``: hidden state (a global, an attribute, a tracer kept
    between calls) shows up there as stale values even when the eager fold is right.
    """

    expected_by_case: dict[int, Any] = {}  # the references are pure: run them once

    def run(answer: Answer) -> None:
        fns = _folding_functions(answer, names, jit=jit)
        for index, make in enumerate(cases):
            if index not in expected_by_case:
                expected_by_case[index] = drive(*references, *make())
            expected = expected_by_case[index]
            got = drive(*fns, *make())
            found = mismatch(expected, got, rtol=rtol, atol=atol)
            if found:
                how = f" with jax.jit({', '.join(jit)})" if jit else ""
                _fail(f"threading the state through {', '.join(names)}{how}: {found}")

    return Probe(key, description or f"{', '.join(names)} give the reference results over many calls", run)


def fold_traces_once(
    names: Sequence[str],
    cases: Sequence[Case],
    drive: Callable[..., Any],
    name: str,
    *,
    max_traces: int = 1,
    key: str = "traces-once",
    description: str | None = None,
) -> Probe:
    """Over the whole fold, every case included, one ``jax.jit(name)`` traces at most ``max_traces`` times.

    The state the reader's ``update`` returns is fed back into it: a step counter kept as
    a static field, or a state whose dtypes or weak types drift between steps, retraces.
    The cases should share shapes, dtypes and tree structure.
    """

    def run(answer: Answer) -> None:
        traces = _TraceLimit(name, max_traces)
        fns = _folding_functions(answer, names, jit=(name,), traces=traces)
        for make in cases:
            drive(*fns, *make())

    return Probe(
        key,
        description or f"jax.jit({name}) traces once while the state is threaded through it",
        run,
    )


def fold_inputs_unchanged(
    names: Sequence[str],
    cases: Sequence[Case],
    drive: Callable[..., Any],
    *,
    key: str = "inputs-unchanged",
    description: str | None = None,
) -> Probe:
    """No call made during the fold changes an argument it was given (state included)."""

    def run(answer: Answer) -> None:
        fns = _folding_functions(answer, names, guard_inputs=True)
        for make in cases:
            drive(*fns, *make())

    return Probe(key, description or f"{', '.join(names)} leave their arguments unchanged", run)
