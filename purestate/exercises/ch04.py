"""Chapter 4 · Broken gradients: exercises 4.1–4.3."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import case
from purestate.registry import Exercise, register

# Small inputs with every gradient component away from zero: a parameter that the
# answer reads from somewhere else than its argument shows up as a 0.0 where the
# reference has a clear non-zero value.
_X = np.linspace(-1.0, 1.0, 5, dtype=np.float32)

LOSS_CASES = (
    case(
        {"w": jnp.float32(0.5), "b": jnp.float32(-0.25)},
        jnp.asarray(_X),
        jnp.asarray(2.0 * _X + 1.0),
    ),
    case(
        {"w": jnp.float32(-1.5), "b": jnp.float32(0.75)},
        jnp.asarray(_X),
        jnp.asarray(np.array([0.3, -0.2, 0.9, 1.4, -0.6], dtype=np.float32)),
    ),
)

# 4.1 ---------------------------------------------------------------------------------


def reference_mse_loss(params: dict[str, Any], x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean((params["w"] * x + params["b"] - y) ** 2)


register(Exercise(
    id="4.1",
    signature="mse_loss(params, x, y)",
    objects=("mse_loss",),
    probes=(
        probes.matches_reference("mse_loss", reference_mse_loss, LOSS_CASES),
        probes.grad_matches_reference(
            "mse_loss", reference_mse_loss, LOSS_CASES,
            description="jax.grad(mse_loss) gives the right gradient for every parameter",
        ),
        probes.jit_matches_eager("mse_loss", LOSS_CASES),
    ),
    hints=(
        (
            "Read both parameters from the `params` argument (`params[\"w\"]`, `params[\"b\"]`) and "
            "use jax.numpy throughout: a value taken from a global, or passed through "
            "`np.asarray` or `float`, is invisible to jax.grad."
        ),
    ),
))

# 4.2 ---------------------------------------------------------------------------------


def reference_set_row(m: Any, i: int, row: Any) -> jax.Array:
    return jnp.asarray(m).at[i].set(row)


_M = np.arange(12, dtype=np.float32).reshape(4, 3)
_ROW = np.array([-1.0, 0.5, 2.0], dtype=np.float32)

# One shape throughout: every new shape costs the eager probes a compilation of their own.
SET_ROW_CASES = (
    case(jnp.asarray(_M), 0, jnp.asarray(_ROW)),
    case(jnp.asarray(_M), 3, jnp.asarray(-_ROW)),
)
# A NumPy matrix first: the answer that assigns into `m` shows up as a changed input.
SET_ROW_NUMPY_CASES = (case(_M.copy(), 2, _ROW.copy()), *SET_ROW_CASES)

_ROW_WEIGHTS = np.linspace(0.5, 2.0, 12, dtype=np.float32)


def _weighted_sum(matrix: jax.Array) -> jax.Array:
    """A scalar that depends on every entry of the result with a different weight."""
    weights = jnp.asarray(_ROW_WEIGHTS[: matrix.size]).reshape(matrix.shape)
    return jnp.sum(weights * matrix)


register(Exercise(
    id="4.2",
    signature="set_row(m, i, row)",
    objects=("set_row",),
    probes=(
        probes.matches_reference("set_row", reference_set_row, SET_ROW_NUMPY_CASES),
        probes.inputs_unchanged("set_row", SET_ROW_NUMPY_CASES),
        probes.grad_of_loss_matches_reference(
            "set_row", reference_set_row, SET_ROW_CASES, _weighted_sum, argnums=(0, 2),
            description="gradients flow through set_row to `m` and to `row`",
        ),
        probes.jit_matches_eager("set_row", SET_ROW_CASES, static_argnums=(1,)),
    ),
    hints=(
        (
            "JAX arrays cannot be assigned into: `jnp.asarray(m).at[i].set(row)` returns a new "
            "array with the row replaced (and also accepts a NumPy `m`, which it leaves alone)."
        ),
    ),
))

# 4.3 ---------------------------------------------------------------------------------


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
        ),
        probes.grad_matches_reference(
            "loss_with_aux", reference_loss_with_aux, LOSS_CASES, has_aux=True,
            description="jax.grad(loss_with_aux, has_aux=True) gives the right gradients",
        ),
        probes.globals_unchanged("loss_with_aux", LOSS_CASES),
    ),
    hints=(
        (
            "Return the pair `(loss, preds)`, loss first: jax.value_and_grad(..., has_aux=True) "
            "differentiates the first element and hands the second back as a plain array. "
            "Nothing needs to be kept in a global."
        ),
    ),
))
