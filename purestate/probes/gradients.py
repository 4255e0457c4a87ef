"""Gradients: `jax.grad` of the answer against a reference."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend

from purestate.compare import mismatch, short
from purestate.probes.core import Answer, Case, Probe, _fail


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
    hint: str = (
        "Every value the result depends on must reach it through the differentiated "
        "arguments and differentiable operations (`.at[]` updates, no NumPy conversion, no "
        "global)."
    ),
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

    return Probe(key, description or f"jax.grad({name}) gives the right gradients", run, hint)


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
    hint: str = (
        "Every value the result depends on must reach it through the differentiated "
        "arguments and differentiable operations (`.at[]` updates, no NumPy conversion, no "
        "global)."
    ),
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

    return Probe(key, description or f"gradients flow through {name}", run, hint)
