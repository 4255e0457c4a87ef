"""State the reader defines: classes, pytrees of arrays, init/update sequences."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend

from purestate.compare import changed, is_array, mismatch, short, snapshot, type_name
from purestate.runner import call_reader
from purestate.probes.core import Answer, Case, Probe, _fail, _param_name, signature_text


# Classes and states the reader defines ---------------------------------------------------


def from_answer(key: str, description: str, build: Callable[[Answer], Probe], hint: str = "") -> Probe:
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

    return Probe(key, description, run, hint)


def leaves_are_arrays(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "array-leaves",
    description: str | None = None,
    hint: str = (
        "Build the state from arrays (jnp.zeros, jnp.asarray), and register a class of "
        "yours as a pytree."
    ),
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

    return Probe(key, description or f"every leaf of what {name} returns is an array", run, hint)


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
    hint: str = "",
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

    return Probe(key, description or f"{', '.join(names)} give the reference results over many calls", run, hint)


def fold_traces_once(
    names: Sequence[str],
    cases: Sequence[Case],
    drive: Callable[..., Any],
    name: str,
    *,
    max_traces: int = 1,
    key: str = "traces-once",
    description: str | None = None,
    hint: str = (
        "Keep the state's shapes, dtypes and structure the same from step to step, and keep"
        " changing Python values out of static fields."
    ),
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
        hint,
    )


def fold_inputs_unchanged(
    names: Sequence[str],
    cases: Sequence[Case],
    drive: Callable[..., Any],
    *,
    key: str = "inputs-unchanged",
    description: str | None = None,
    hint: str = (
        "Return a new state (and new containers) instead of changing the one you were "
        "given."
    ),
) -> Probe:
    """No call made during the fold changes an argument it was given (state included)."""

    def run(answer: Answer) -> None:
        fns = _folding_functions(answer, names, guard_inputs=True)
        for make in cases:
            drive(*fns, *make())

    return Probe(key, description or f"{', '.join(names)} leave their arguments unchanged", run, hint)


def scanned_fold_matches(
    init_name: str,
    update_name: str,
    read: Callable[[Answer], Callable[[Any], Any]],
    expected: Callable[[Any, Any, Any], dict[str, Any]],
    cases: Sequence[Case],
    *,
    label: str = "update",
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "scanned-fold",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """Hundreds of updates in one call: the reader's update under one jitted ``lax.scan``.

    Each case is ``(init_arg, xs, at)``. The state comes from the reader's
    ``init_name(init_arg)``; one ``jax.jit`` of a ``lax.scan`` feeds it every ``x`` of ``xs``
    (stacked along a new first axis) through ``update_name`` and keeps the state after every
    update. After the updates numbered in ``at`` (from 1), that state is read, outside ``jit``,
    with ``read(answer)`` (a function of the state, e.g. the reader's ``result``, which need
    not be traceable), and compared with ``expected(init_arg, xs, at)``, a dict keyed
    ``f"{label} {k}"``. For lessons that need
    long folds (a counter past 127, data that drifts far from zero): one compiled call
    instead of hundreds of separate ones, whose per-call bookkeeping would dominate. A state
    whose structure or dtypes change from update to update cannot be scanned, and fails.
    """

    def run(answer: Answer) -> None:
        update, reader = getattr(answer, update_name), read(answer)

        def body(state: Any, x: Any) -> tuple[Any, Any]:
            state = update(state, x)
            return state, state

        scanned = jax.jit(lambda state, xs: jax.lax.scan(body, state, xs)[1])
        for make in cases:
            init_arg, xs, at = make()
            state = answer.call(init_name, init_arg)
            stacked = jax.tree.map(lambda *leaves: jax.numpy.stack(leaves), *xs)
            history = answer.call_transformed(f"jax.lax.scan over {update_name}", scanned, state, stacked)
            got = {
                f"{label} {k}": answer.call_transformed(
                    "reading the state", reader, jax.tree.map(lambda h, k=k: h[k - 1], history)
                )
                for k in at
            }
            found = mismatch(expected(init_arg, xs, at), got, rtol=rtol, atol=atol)
            if found:
                _fail(f"{len(xs)} updates with jax.jit(jax.lax.scan) over {update_name}: {found}")

    return Probe(
        key,
        description or f"{update_name} gives the reference results over a long fold under jax.jit",
        run,
        hint,
    )
