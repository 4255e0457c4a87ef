"""Chapter 14 · The state doctor: exercises 14.1 and 14.2."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp

from purestate import probes
from purestate.registry import Exercise, register


# 14.1 --------------------------------------------------------------------------------
# Given (buggy): a training step that reads the learning rate from a global, updates the
# parameters in place, keeps the losses in a global list and prints the loss.


def _loss(params: dict[str, Any], x: Any, y: Any) -> Any:
    return jnp.mean((params["w"] * x + params["b"] - y) ** 2)


@probes.reference
def reference_fit_step(params: dict[str, Any], x: Any, y: Any, lr: Any) -> tuple[dict[str, Any], Any]:
    value, grads = jax.value_and_grad(_loss)(params, x, y)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), value


def _params(w: float, b: float) -> dict[str, Any]:
    return {"w": jnp.float32(w), "b": jnp.float32(b)}


_X = jnp.array([0.0, 1.0, 2.0, 3.0])
# Same shapes and dtypes throughout, so one trace serves every case; the learning rates
# differ (0.1, 0.05, 0.3), so a learning rate read from anywhere but `lr` is caught.
# The third dict lists its keys as b, w: an answer that unpacks `w, b = params.values()`
# fails there (the task says the keys come in any order; jit sees the same structure).
FIT_CASES = (
    probes.case(_params(0.0, 0.0), _X, 2.0 * _X + 1.0, 0.1),
    probes.case(_params(1.5, -0.5), _X, 2.0 * _X + 1.0, 0.05),
    probes.case({"b": jnp.float32(2.0), "w": jnp.float32(-1.0)}, _X + 1.0, 3.0 - _X, 0.3),
)

register(Exercise(
    id="14.1",
    signature="fit_step(params, x, y, lr)",
    objects=("fit_step",),
    # the doctor makes about ten calls: room for a slow first run (its own limit is 15 s)
    time_limit_s=20.0,
    probes=(
        probes.matches_reference(
            "fit_step", reference_fit_step, FIT_CASES,
            hint="Return (new_params, loss): the loss of the parameters you were given (before "
            "the update), and new parameters p - lr * gradient for w and b, with the lr "
            "argument.",
        ),
        probes.inputs_unchanged(
            "fit_step", FIT_CASES[:1],
            hint="fit_step changed the params dict it was given: build a new dict "
            "(jax.tree.map returns one) instead of assigning into params.",
        ),
        probes.globals_unchanged(
            "fit_step", FIT_CASES[:1],
            hint="fit_step changes something outside itself (a list of losses?): return what "
            "you want to keep, and let the caller collect it.",
        ),
        probes.no_leaked_tracers(
            "fit_step", FIT_CASES[:1],
            hint="A value computed inside fit_step is kept outside it; under jit it is a tracer.",
        ),
        probes.traces_once(
            "fit_step", FIT_CASES,
            hint="New values of the same shapes should not retrace: is the learning rate made "
            "static, or read as a Python number?",
        ),
        probes.doctor_silent(
            "fit_step", FIT_CASES[:1],
            hint="Read the doctor's finding: run doctor(fit_step, params, x, y, 0.1) and fix "
            "what it names (a print, a global, a key) until it is silent.",
        ),
    ),
    hints=(
        "Run the doctor on the given fit_step_buggy and fix each finding in turn: every one "
        "names the chapter with the fix.",
        "The learning rate comes in as lr; the loss list and the print go (jax.debug.print "
        "is fine); the new parameters are a new dict, returned with the loss. "
        "jax.value_and_grad gives the loss and the gradients in one call.",
    ),
))


# 14.2 --------------------------------------------------------------------------------
# Given (buggy): noise drawn with a global key, the same key for the noise and the mask.


@probes.reference
def reference_add_noise(key: Any, x: Any, scale: Any) -> tuple[Any, Any]:
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    noise = jax.random.normal(noise_key, jnp.shape(x))
    keep = jax.random.bernoulli(mask_key, 0.5, jnp.shape(x))
    return new_key, jnp.where(keep, x + scale * noise, x)


# x is 2-D (the task says "each element of x", of any shape): noise or a mask drawn with the
# shape (len(x),) or (x.size,) fails. One shape for every case: each new shape costs eager
# compilations of every draw.
_XN = jnp.linspace(-1.0, 1.0, 8).reshape(4, 2)
NOISE_CASES = (
    probes.case(jax.random.key(0), _XN, 0.5),
    probes.case(jax.random.key(1), _XN, 0.5),
    probes.case(jax.random.key(2), _XN * 3.0, 2.0),
)

def _returns_typed_key(args: tuple[Any, ...], result: Any) -> str | None:
    if not (isinstance(result, tuple) and len(result) == 2):
        return "expected a pair (new_key, noisy_x)"
    new_key = result[0]
    if isinstance(new_key, jax.Array) and jax.dtypes.issubdtype(new_key.dtype, jax.dtypes.prng_key):
        return None
    kind = f"an array of {new_key.dtype}" if hasattr(new_key, "dtype") else type(new_key).__name__
    return f"the new key is {kind}, not a typed key like {jax.typeof(args[0])}"


register(Exercise(
    id="14.2",
    signature="add_noise(key, x, scale)",
    objects=("add_noise",),
    time_limit_s=20.0,
    probes=(
        probes.matches_reference(
            "add_noise", reference_add_noise, NOISE_CASES,
            hint="Split the key you are given into three, in the order the task gives: the key "
            "to return, the key for the noise, the key for the mask.",
        ),
        # Traced only: the trace sees every reuse inside the function (an eager run under
        # jax.debug_key_reuse compiles every draw again, a third of the check's time).
        # scale is static in the probes' own jits (a Python float in every case): an answer
        # that jits itself with a static scale fails the doctor's recompiles, which names it,
        # not a key-reuse probe that cannot trace it.
        probes.no_key_reuse(
            "add_noise", NOISE_CASES[:1], eager=False, static_argnums=(2,),
            hint="A key was used twice: each draw needs a key of its own, and the key you "
            "return must not be one you drew with.",
        ),
        # The raw data of the new key compares equal to the reference's key, number for
        # number, and a legacy uint32 key still splits: only its type tells it from the key.
        probes.satisfies(
            "add_noise", NOISE_CASES[:1], _returns_typed_key,
            key="returns-typed-key",
            description="the key add_noise returns is a typed PRNG key, like the key it was given",
            hint="Return the first key of the split itself, not its jax.random.key_data: the "
            "caller's next call gets it as its key.",
        ),
        probes.varies_with(
            "add_noise", ((NOISE_CASES[0], NOISE_CASES[1]),), jit=True, static_argnums=(2,),
            description="add_noise draws different noise for different keys",
            hint="The result does not depend on the key argument: is a global key still used?",
        ),
        probes.globals_unchanged("add_noise", NOISE_CASES[:1]),
        probes.doctor_silent(
            "add_noise", NOISE_CASES[:1],
            hint="Run doctor(add_noise, jax.random.key(0), x, 0.5) and fix what it names.",
        ),
    ),
    hints=(
        "Run the doctor on add_noise_buggy: the key is outside the arguments, and it is used "
        "for two draws.",
        "Take the key as an argument, split it (jax.random.split can make three keys at once), "
        "use each new key once, and return the one you did not use with the result.",
    ),
))
