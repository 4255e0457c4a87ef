"""Chapter 4 · Broken gradients: exercises 4.1–4.4."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import case
from purestate.registry import Exercise, register


def _f32(values: Any) -> jax.Array:
    return jnp.asarray(np.asarray(values, dtype=np.float32))


# Two lengths (5 and 3), so that a hard-coded `/ 5` or `x[:5]` shows up (each length costs
# the eager probes their compilations, so no more); values that float16 cannot represent
# exactly, so that a half-precision result differs; every gradient component clearly away
# from zero, so that a parameter read from somewhere other than `params` shows up as a 0.0
# where the reference has a clear non-zero value.
LOSS_CASES = (
    case(
        {"w": jnp.float32(0.5), "b": jnp.float32(-0.25)},
        _f32(np.linspace(-1.0, 1.0, 5)),
        _f32(2.0 * np.linspace(-1.0, 1.0, 5) + 1.0),
    ),
    case(
        {"w": jnp.float32(-1.37), "b": jnp.float32(0.731)},
        _f32([0.3, -1.7, 2.9]),
        _f32([0.11, 0.83, -1.9]),
    ),
    case(
        {"w": jnp.float32(0.913), "b": jnp.float32(1.21)},
        _f32([-2.3, -1.1, 0.17, 1.3, 3.1]),
        _f32([0.3, -0.2, 0.9, 2.7, 0.05]),
    ),
)


def _identity(value: Any) -> Any:
    return value


def _first_element(value: Any) -> Any:
    return value[0]


_LOSS_HINT = (
    "Read both parameters from the `params` argument, never from a variable outside the "
    "function, and use jax.numpy throughout: jax.grad only sees what flows from the "
    "arguments to the return value."
)

# 4.1 ---------------------------------------------------------------------------------


@probes.reference
def reference_mse_loss(params: dict[str, Any], x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((params["w"] * x + params["b"] - y) ** 2)


register(Exercise(
    id="4.1",
    signature="mse_loss(params, x, y)",
    objects=("mse_loss",),
    probes=(
        probes.matches_reference(
            "mse_loss", reference_mse_loss, LOSS_CASES,
            hint=(
                "Compare your formula with the task: the mean over however many points x has "
                "(not a fixed count), of the squared error, in float32."
            ),
        ),
        # Compiled once per shape: much faster than eager jax.grad, and a loss that reads a
        # global, calls np.asarray or float(), or stops a gradient fails the same way.
        probes.grad_of_loss_matches_reference(
            "mse_loss", reference_mse_loss, LOSS_CASES, _identity, jit=True,
            description="jax.grad(mse_loss) gives the right gradient for every parameter",
            hint=(
                "A gradient of exactly 0.0 for one parameter means the loss never reads it from "
                "`params`; an error from jax.grad means a NumPy call or float() asked a tracer "
                "for its value. " + _LOSS_HINT
            ),
        ),
        probes.jit_matches_eager("mse_loss", LOSS_CASES),
        probes.inputs_unchanged(
            "mse_loss", LOSS_CASES,
            hint=(
                "Read from `params`; do not assign into it (no `params[...] = ...`, no pop), and do "
                "not donate the arguments (`donate_argnums` deletes the caller's arrays)."
            ),
        ),
        probes.globals_unchanged(
            "mse_loss", LOSS_CASES,
            hint="A loss is a pure function: no counters, logs or caches outside it.",
        ),
        probes.no_leaked_tracers(
            "mse_loss", LOSS_CASES[:1],
            hint="Keep nothing from inside the function (no list append, no global): return it.",
        ),
    ),
    hints=(
        _LOSS_HINT,
        (
            "Build the predictions from params[\"w\"] and params[\"b\"], subtract y, square, and "
            "average with a jax.numpy reduction. The chapter's model is different; the pattern "
            "is the same."
        ),
    ),
))

# 4.2 ---------------------------------------------------------------------------------


@probes.reference
def reference_set_row(m: Any, i: int, row: Any) -> jax.Array:
    return jnp.asarray(m).at[i].set(row)


_M = np.arange(12, dtype=np.float32).reshape(4, 3)
_M5 = np.linspace(-2.0, 2.5, 10, dtype=np.float32).reshape(5, 2)
_ROW = np.array([-1.0, 0.5, 2.0], dtype=np.float32)
_ROW2 = np.array([7.0, -3.5], dtype=np.float32)

# Two shapes (4 × 3 and 5 × 2), the first and the last row, and negative indices (which
# count from the end, as in NumPy): a mask built with a hard-coded `jnp.arange(4)`, a
# concatenation of `m[:i]` and `m[i + 1:]`, or a clamped dynamic slice go wrong somewhere.
SET_ROW_CASES = (
    case(jnp.asarray(_M), 0, jnp.asarray(_ROW)),
    case(jnp.asarray(_M), 3, jnp.asarray(-_ROW)),
    case(jnp.asarray(_M5), -1, jnp.asarray(_ROW2)),
    case(jnp.asarray(_M5), -4, jnp.asarray(-_ROW2)),
)
# A buffer not filled yet: rows 2 and 3 hold NaN, and row 2 is replaced. Whatever the row
# held is gone, so an update that keeps some of the old row in its arithmetic (`.at[i].add(row
# - m[i])`, `.at[i].multiply(0)` then add, a blend `m * (1 - mask) + row * mask`) gives NaN,
# as it gives a wrong row for large values (1e8 + (0.1 - 1e8) is 0.0 in float32). Same shape
# as `_M`: nothing new to compile under jit.
_M_UNFILLED = np.where(np.arange(4)[:, None] < 2, _M, np.nan).astype(np.float32)
# NumPy matrices first: the answer that assigns into `m` shows up as a changed input.
SET_ROW_NUMPY_CASES = (
    case(_M.copy(), 2, _ROW.copy()),
    case(_M5.copy(), -2, _ROW2.copy()),
    *SET_ROW_CASES,
    case(_M_UNFILLED.copy(), 2, _ROW.copy()),
)

_ROW_WEIGHTS = np.linspace(0.5, 2.0, 12, dtype=np.float32)


def _is_jax_array(args: tuple[Any, ...], result: Any) -> str | None:
    if isinstance(result, jax.Array):
        return None
    kind = "a NumPy array" if isinstance(result, np.ndarray) else type(result).__name__
    return f"returned {kind} for a NumPy `m`; the task asks for a JAX array"


def _weighted_sum(matrix: jax.Array) -> jax.Array:
    """A scalar that depends on every entry of the result with a different weight."""
    weights = jnp.asarray(_ROW_WEIGHTS[: matrix.size]).reshape(matrix.shape)
    return jnp.sum(weights * matrix)


register(Exercise(
    id="4.2",
    signature="set_row(m, i, row)",
    objects=("set_row",),
    probes=(
        probes.matches_reference(
            "set_row", reference_set_row, SET_ROW_NUMPY_CASES,
            hint=(
                "Check the row that changes for every `i`: the first, the last, and negative "
                "indices, which count from the end as in NumPy. Every other row stays as it was, "
                "and row `i` becomes exactly `row`, whatever it held before (NaN included): "
                "arithmetic with the old row, such as adding the difference, does not replace it."
            ),
        ),
        probes.inputs_unchanged(
            "set_row", SET_ROW_NUMPY_CASES,
            hint=(
                "Assigning into `m` changes the caller's NumPy array, and `donate_argnums` deletes "
                "the caller's JAX array. Build a new array instead, with an indexed update on a "
                "JAX array."
            ),
        ),
        # A NumPy copy assigned into gives the right values for a NumPy `m` (the comparison
        # above takes NumPy and JAX arrays of equal values as equal), but the task asks for a
        # JAX array whatever `m` is.
        probes.satisfies(
            "set_row", SET_ROW_NUMPY_CASES[:2], _is_jax_array,
            key="returns-jax-array",
            description="set_row returns a JAX array, for a NumPy `m` too",
            hint=(
                "A NumPy `m` must come back as a JAX array as well: an assignment into a NumPy "
                "copy gives a NumPy array (and no gradient under jax.grad). Convert `m` first "
                "and update the JAX array."
            ),
        ),
        probes.grad_of_loss_matches_reference(
            "set_row", reference_set_row, SET_ROW_CASES, _weighted_sum, argnums=(0, 2),
            description="gradients flow through set_row to `m` and to `row`",
            hint=(
                "jax.grad must see the new row come from `row` and every other row from `m`: no "
                "NumPy copy (a tracer has no NumPy value) and no stop_gradient."
            ),
        ),
        probes.jit_matches_eager("set_row", SET_ROW_CASES, static_argnums=(1,)),
        probes.globals_unchanged("set_row", SET_ROW_CASES[:2]),
        probes.no_leaked_tracers("set_row", SET_ROW_CASES[:1], static_argnums=(1,)),
    ),
    hints=(
        (
            "JAX arrays cannot be assigned into. The `.at[...]` property of a JAX array has "
            "methods that return a new array with some entries replaced."
        ),
        (
            "Convert `m` with jnp.asarray first (it may be a NumPy array, which must stay as it "
            "was), then use the `.at[i]` update that *sets* rather than adds. It handles "
            "negative `i` like NumPy does."
        ),
    ),
))

# 4.3 ---------------------------------------------------------------------------------


@probes.reference
def reference_loss_with_aux(params: dict[str, Any], x: jax.Array, y: jax.Array) -> tuple[jax.Array, jax.Array]:
    preds = params["w"] * x + params["b"]
    return jnp.mean((preds - y) ** 2), preds


register(Exercise(
    id="4.3",
    signature="loss_with_aux(params, x, y)",
    objects=("loss_with_aux",),
    probes=(
        probes.matches_reference(
            "loss_with_aux", reference_loss_with_aux, LOSS_CASES,
            description="loss_with_aux returns (loss, preds)",
            hint=(
                "Return a tuple of two: the loss of exercise 4.1 (a float32 scalar averaged over "
                "all points) and the predictions as a float32 array, one per point."
            ),
        ),
        # The gradient of the pair's first element, as has_aux=True takes it, compiled once
        # per shape.
        probes.grad_of_loss_matches_reference(
            "loss_with_aux", reference_loss_with_aux, LOSS_CASES, _first_element, jit=True,
            description="jax.grad(loss_with_aux, has_aux=True) gives the right gradients",
            hint=(
                "has_aux=True differentiates the first element of the pair: the loss comes "
                "first. " + _LOSS_HINT
            ),
        ),
        probes.jit_matches_eager("loss_with_aux", LOSS_CASES),
        probes.inputs_unchanged("loss_with_aux", LOSS_CASES),
        probes.globals_unchanged(
            "loss_with_aux", LOSS_CASES,
            hint=(
                "Nothing needs to be kept outside the function: the auxiliary output is how "
                "predictions leave a differentiated function."
            ),
        ),
        probes.no_leaked_tracers(
            "loss_with_aux", LOSS_CASES[:1],
            hint="The predictions leave the function through its return value, never a global.",
        ),
    ),
    hints=(
        (
            "Return a pair, the loss first: jax.value_and_grad(..., has_aux=True) "
            "differentiates the first element and hands the second back as a plain array. "
            "Nothing needs to be kept in a global."
        ),
        (
            "Compute the predictions once, from params[\"w\"] and params[\"b\"], then the loss "
            "from them, and return both. Use jax.numpy throughout."
        ),
    ),
))

# 4.4 ---------------------------------------------------------------------------------


def _quadratic(params: dict[str, Any], x: jax.Array) -> jax.Array:
    return params["a"] * x**2 + params["b"] * x + params["c"]


@probes.reference
def reference_train_step(
    params: dict[str, Any], x: jax.Array, y: jax.Array, lr: float
) -> tuple[dict[str, jax.Array], jax.Array]:
    def loss_fn(p: dict[str, Any]) -> jax.Array:
        return jnp.mean((_quadratic(p, x) - y) ** 2)

    loss, grads = jax.value_and_grad(loss_fn)(params)
    return {name: params[name] - lr * grads[name] for name in params}, loss


def _quadratic_data(seed: int, n: int) -> tuple[jax.Array, jax.Array]:
    rng = np.random.default_rng(seed)
    x = rng.uniform(-2.0, 2.0, n).astype(np.float32)
    y = (1.5 * x**2 - 1.0 * x + 0.8 + 0.3 * rng.normal(size=n)).astype(np.float32)
    return jnp.asarray(x), jnp.asarray(y)


# Two batches of 6 points and one of 9, in that order: a feature cached on the first call is
# stale on the second (same shape, other values) and the wrong shape on the third. Every
# parameter's gradient is clearly non-zero in every case. The third dict lists its keys out of
# order: jax.grad returns the gradients in sorted key order, so pairing `params.values()` (or
# `zip(params, grads.values())`) by position gives one parameter another's gradient.
TRAIN_STEP_CASES = (
    case({"a": jnp.float32(0.0), "b": jnp.float32(0.0), "c": jnp.float32(0.0)}, *_quadratic_data(40, 6), 0.05),
    case({"a": jnp.float32(1.2), "b": jnp.float32(-0.4), "c": jnp.float32(0.3)}, *_quadratic_data(41, 6), 0.05),
    case({"c": jnp.float32(1.1), "a": jnp.float32(0.7), "b": jnp.float32(-1.3)}, *_quadratic_data(42, 9), 0.1),
)


def _every_parameter_moves(args: tuple[Any, ...], result: Any) -> str | None:
    params = args[0]
    if not (isinstance(result, (tuple, list)) and len(result) == 2 and isinstance(result[0], dict)):
        return "expected a pair (new_params, loss) whose first element is a dict"
    new_params = result[0]
    stuck = sorted(
        name for name in params
        if name in new_params and np.array_equal(np.asarray(new_params[name]), np.asarray(params[name]))
    )
    if stuck:
        return (
            f"parameter(s) {stuck} did not move: their gradient is exactly 0.0, so the loss never "
            "reads them from the parameters it is differentiated with respect to"
        )
    return None


register(Exercise(
    id="4.4",
    signature="train_step(params, x, y, lr)",
    objects=("train_step",),
    probes=(
        probes.matches_reference(
            "train_step", reference_train_step, TRAIN_STEP_CASES,
            description="train_step returns (new_params, loss) for batch after batch",
            hint=(
                "Each call must compute the loss of *this* batch, from scratch: anything kept from "
                "an earlier call belongs to another batch. And pair each parameter with its own "
                "gradient by name: jax.grad returns the dict with its keys sorted, whatever their "
                "order in `params`."
            ),
        ),
        probes.satisfies(
            "train_step", TRAIN_STEP_CASES, _every_parameter_moves,
            key="every-parameter-trains",
            description="one step moves every parameter",
            hint=(
                "A parameter that never moves has a gradient of exactly 0.0: the loss reads it "
                "from somewhere jax.grad does not differentiate. Find where each of a, b and c "
                "enters the prediction."
            ),
        ),
        probes.inputs_unchanged(
            "train_step", TRAIN_STEP_CASES,
            hint=(
                "Return a new dict of parameters; do not update the caller's dict in place, and do "
                "not donate it (`donate_argnums` deletes the caller's arrays)."
            ),
        ),
        probes.globals_unchanged(
            "train_step", TRAIN_STEP_CASES,
            hint=(
                "A cache outside the function is state the next call reads: under jax.grad or "
                "jax.jit it holds a tracer or a value of another batch. Compute the features "
                "inside, on every call."
            ),
        ),
        probes.jit_matches_eager(
            "train_step", TRAIN_STEP_CASES,
            hint=(
                "Under jax.jit every argument is traced, `lr` too: a learning rate that follows a "
                "schedule changes at every step, so it cannot be a static argument (a tracer is "
                "not hashable), and float() or a Python `if` on a traced value fails."
            ),
        ),
        probes.no_leaked_tracers(
            "train_step", TRAIN_STEP_CASES[:1],
            hint="Nothing computed inside the step may be stored outside it (no cache, no log).",
        ),
    ),
    hints=(
        (
            "Two things are wrong, and neither raises. Print the gradients of one step: one of "
            "them is exactly 0.0. Then call the step on two different batches and compare its "
            "loss with the loss computed by hand."
        ),
        (
            "One parameter is read from a global instead of from the dict being differentiated; "
            "and x ** 2 is cached by name, so every later batch reuses the first batch's "
            "features. Read every parameter from the argument of the function you "
            "differentiate, and compute the features on every call."
        ),
        (
            "Structure: a loss function of the parameters alone, jax.value_and_grad of it, then "
            "a new dict with each parameter minus lr times its gradient."
        ),
    ),
))
