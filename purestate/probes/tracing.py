"""Tracing: jit against eager, trace counts, leaked tracers, primitives in the jaxpr."""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from typing import Any

import jax
import jax.extend
import jax.numpy as jnp

from purestate.compare import mismatch
from purestate.runner import ReaderError
from purestate.probes.core import Answer, Case, Probe, _fail, _named_after, fresh_jit


def jit_matches_eager(
    name: str,
    cases: Sequence[Case],
    *,
    static_argnums: tuple[int, ...] = (),
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "jit-matches-eager",
    description: str | None = None,
    hint: str = "",
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

    return Probe(key, description or f"jax.jit({name}) returns what {name} returns", run, hint)


def traces_once(
    name: str,
    cases: Sequence[Case],
    *,
    static_argnums: tuple[int, ...] = (),
    max_traces: int = 1,
    key: str = "traces-once",
    description: str | None = None,
    hint: str = "",
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

        _named_after(counted, fn)
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
        hint,
    )


def no_leaked_tracers(
    name: str,
    cases: Sequence[Case],
    *,
    static_argnums: tuple[int, ...] = (),
    grad: bool = False,
    argnums: int | tuple[int, ...] = 0,
    loss: Callable[[Any], Any] | None = None,
    key: str | None = None,
    description: str | None = None,
    hint: str = (
        "A value computed inside a traced function must leave it only through the return "
        "value: do not keep it in a list, a global, an attribute or a closure."
    ),
) -> Probe:
    """Under ``jax.checking_leaks()``, a fresh ``jax.jit(answer)`` keeps no tracer after tracing.

    ``grad=True`` checks ``jax.grad`` instead (with respect to ``argnums``, through ``loss``
    of the output, by default the sum of every floating-point leaf): a tracer stashed
    while differentiating. The default key is ``no-leaked-tracers`` (``no-leaked-tracers-under-grad``
    with ``grad=True``). On JAX 0.12.0.1 a leak raises a plain ``Exception`` whose message starts
    with ``Leaked trace`` (``DynamicJaxprTrace`` under ``jit``, ``LinearizeTrace`` under
    ``grad``); ``jax.errors.UnexpectedTracerError`` counts as a leak too.
    """
    label = f"jax.grad({name})" if grad else f"jax.jit({name})"

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            if grad:
                to_scalar = loss or _sum_of_outputs

                def scalar(*args: Any) -> Any:
                    return to_scalar(fn(*args))

                transformed = jax.grad(scalar, argnums=argnums)
            else:
                transformed = fresh_jit(fn, static_argnums=static_argnums)
            try:
                with checking_leaks_briefly():
                    answer.call_transformed(label, transformed, *make())
            except ReaderError as error:
                if is_leak(error.error):
                    _fail(
                        f"{label} leaked a tracer: a value from inside the trace is kept "
                        "after the function returned (in a list, a global or an attribute)"
                    )
                raise

    default_key = "no-leaked-tracers-under-grad" if grad else "no-leaked-tracers"
    return Probe(key or default_key, description or f"{label} leaks no tracer", run, hint)


@contextlib.contextmanager
def _brief_leak_reports() -> Iterator[None]:
    """Leak errors without JAX's description of who holds the tracer.

    JAX builds that description with ``gc.get_referrers`` over the whole heap: seconds in a
    large session, and the report never shows it. The error (its type, its ``Leaked trace``
    start) stays the same. Where JAX has no ``leaked_tracer_error``, nothing changes.
    """
    core = sys.modules.get("jax._src.core")
    original = getattr(core, "leaked_tracer_error", None)
    if original is None:
        yield
        return

    def brief(name: str, trace: Any, tracers: list[Any]) -> Exception:
        return Exception(f"Leaked {name} {trace}. Leaked tracer(s): {len(tracers)}")

    core.leaked_tracer_error = brief  # type: ignore[union-attr]
    try:
        yield
    finally:
        core.leaked_tracer_error = original  # type: ignore[union-attr]


@contextlib.contextmanager
def checking_leaks_briefly() -> Iterator[None]:
    """``jax.checking_leaks()`` with brief leak reports (see ``_brief_leak_reports``)."""
    with jax.checking_leaks(), _brief_leak_reports():
        yield


def is_leak(error: BaseException) -> bool:
    """Whether ``error`` is how ``jax.checking_leaks`` (or a later use of a leaked tracer) fails."""
    if isinstance(error, jax.errors.UnexpectedTracerError):
        return True
    text = str(error)
    return text.startswith("Leaked trace") or "leaked tracer" in text.lower()


def _sum_of_outputs(output: Any) -> Any:
    """A scalar that depends on every floating-point leaf of ``output``."""
    total = jnp.float32(0.0)
    for leaf in jax.tree_util.tree_leaves(output):
        leaf = jnp.asarray(leaf)
        if jnp.issubdtype(leaf.dtype, jnp.inexact):
            total = total + jnp.sum(jnp.real(leaf)).astype(jnp.float32)
    return total


def jaxpr_primitives(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> set[str]:
    """Every primitive in ``fn``'s jaxpr, sub-jaxprs (loop bodies, branches) included."""
    return primitives_in(jax.make_jaxpr(fn, static_argnums=static_argnums)(*args))


def primitives_in(jaxpr: Any) -> set[str]:
    """The names of every primitive in a (closed) jaxpr, sub-jaxprs included."""
    found: set[str] = set()

    def visit(inner: Any) -> None:
        for eqn in inner.eqns:
            found.add(eqn.primitive.name)
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(getattr(jaxpr, "jaxpr", jaxpr))
    return found




def uses_primitive(
    name: str,
    make: Case,
    primitives: set[str],
    *,
    static_argnums: tuple[int, ...] = (),
    key: str = "uses-loop-primitive",
    description: str,
    hint: str = "",
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

    return Probe(key, description, run, hint)


def keeps_no_tracers(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "no-leaked-tracers",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """The answer, called as it is under ``jax.checking_leaks()``, keeps no tracer.

    For answers that trace something themselves (call ``jax.jit``, ``jax.grad`` or
    ``jax.make_jaxpr`` inside): a tracer the traced function stores in a list, a closure
    cell or a global outlives its trace, and JAX's leak checker raises when that trace
    ends. ``no_leaked_tracers`` is the probe for answers that the checker jits itself.
    """

    def run(answer: Answer) -> None:
        for make in cases:
            try:
                with jax.checking_leaks():
                    answer.call(name, *make())
            except ReaderError as error:
                if "leak" in str(error.error).lower():
                    _fail(
                        f"{name} leaked a tracer: a value from inside a trace (a tracer) was still "
                        "referenced after the trace ended (in a list, a closure, a global or an "
                        "attribute)"
                    )
                raise

    return Probe(key, description or f"{name} keeps no tracer after a trace ends", run, hint)


def donated_bytes(fn: Callable[..., Any], *args: Any) -> int | None:
    """Bytes of ``fn``'s arguments that its compiled program aliases to outputs (donation).

    ``fn`` is a ``jax.jit`` function; it is lowered and compiled for ``args`` (not run).
    ``None`` when the backend gives no memory analysis. On JAX 0.12.0.1 (CPU) a donated
    ``float32[8, 4]`` argument whose buffer an output reuses gives 128; no donation, or a
    donation the program cannot use, gives 0.
    """
    analysis = fn.lower(*args).compile().memory_analysis()
    if analysis is None:
        return None
    return int(analysis.alias_size_in_bytes)


def donates_argument(
    name: str,
    cases: Sequence[Case],
    argnum: int = 0,
    *,
    key: str = "donates-argument",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """The answer is a ``jax.jit`` function that donates argument ``argnum``, and the donation is used.

    For each case, two checks: the compiled program (``answer.lower(*args).compile()``)
    aliases at least as many bytes as the leaves of argument ``argnum`` hold
    (``memory_analysis().alias_size_in_bytes``), so the output reuses that buffer; and a
    call with fresh JAX arrays for that argument deletes them (``is_deleted()``), so the
    donation happened at run time. A plain function, a ``jax.jit`` without donation, a
    donation of another argument and a donating ``jax.jit`` wrapped in an outer one (where
    the inner donation does nothing) all fail. Arguments are copied into fresh JAX arrays
    first: the case's own values are never deleted.
    """
    label = description or f"{name} is a jax.jit function that donates its argument {argnum + 1}, and the output reuses its buffer"

    def fresh(args: tuple[Any, ...]) -> tuple[Any, ...]:
        donated = jax.tree.map(lambda leaf: jax.numpy.array(leaf, copy=True), args[argnum])
        return (*args[:argnum], donated, *args[argnum + 1:])

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        if not callable(getattr(fn, "lower", None)):
            _fail(
                f"{name} is not a jax.jit function (it has no .lower): donation is an option of "
                "jax.jit (donate_argnums or donate_argnames)"
            )
        for make in cases:
            args = fresh(make())
            leaves = jax.tree.leaves(args[argnum])
            needed = sum(int(leaf.nbytes) for leaf in leaves)
            aliased = answer.call_transformed(f"{name}.lower(...).compile()", donated_bytes, fn, *args)
            if aliased is not None and aliased < needed:
                _fail(
                    f"the compiled {name} reuses {aliased} bytes of its arguments for its outputs; "
                    f"argument {argnum + 1} alone holds {needed} bytes: it is not donated, or its "
                    "donation cannot be used"
                )
            args = fresh(make())
            leaves = jax.tree.leaves(args[argnum])
            answer.call(name, *args)
            kept = [leaf for leaf in leaves if not leaf.is_deleted()]
            if kept:
                _fail(
                    f"after a call, {len(kept)} of the {len(leaves)} arrays of argument {argnum + 1} "
                    "are still alive: the call did not donate them"
                )

    return Probe(key, label, run, hint)
