"""Chapter 3 · Stale traces under jit: exercises 3.1–3.3."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import case
from purestate.registry import Exercise, register

# 3.1 ---------------------------------------------------------------------------------


def reference_update_state(value, increment):
    return value + increment


UPDATE_STATE_CASES = (
    case(jnp.float32(10.0), jnp.float32(5.0)),
    case(jnp.float32(15.0), jnp.float32(3.0)),
    case(jnp.array([1.0, 2.0, 3.0]), jnp.float32(0.5)),
    # a NumPy array can be changed in place: `value += increment` would change the caller's array
    case(np.array([1.0, -1.0], dtype=np.float32), np.float32(2.0)),
)

register(Exercise(
    id="3.1",
    signature="update_state(value, increment)",
    objects=("update_state",),
    probes=(
        probes.matches_reference("update_state", reference_update_state, UPDATE_STATE_CASES),
        probes.inputs_unchanged("update_state", UPDATE_STATE_CASES),
        probes.globals_unchanged("update_state", UPDATE_STATE_CASES),
        probes.deterministic("update_state", UPDATE_STATE_CASES),
        probes.jit_matches_eager("update_state", UPDATE_STATE_CASES),
        probes.no_leaked_tracers("update_state", UPDATE_STATE_CASES[:1]),
    ),
    hints=(
        (
            "Take the current value as an argument and return the new one: `return value + increment`. "
            "Store nothing in a global or an attribute; the caller keeps the returned value."
        ),
    ),
))

# 3.2 ---------------------------------------------------------------------------------


def reference_predict(params, x):
    return x * params["scale"] + params["shift"]


def _params(scale: float, shift: float) -> dict:
    return {"scale": jnp.float32(scale), "shift": jnp.float32(shift)}


PREDICT_CASES = (
    case(_params(2.0, 1.0), jnp.arange(3.0)),
    case(_params(-0.5, 4.0), jnp.array([1.0, 2.0, 8.0])),
    case(_params(3.0, -2.0), jnp.array([0.5, 0.0, -1.0])),
)

register(Exercise(
    id="3.2",
    signature="predict(params, x)",
    objects=("predict",),
    probes=(
        probes.matches_reference("predict", reference_predict, PREDICT_CASES),
        probes.inputs_unchanged("predict", PREDICT_CASES),
        probes.globals_unchanged("predict", PREDICT_CASES),
        probes.jit_matches_eager("predict", PREDICT_CASES),
        probes.traces_once("predict", PREDICT_CASES),
    ),
    hints=(
        (
            "Read scale and shift from `params` inside the function, as arrays: never from a global, "
            "and never through `float(...)`, which needs a concrete value that jit does not have."
        ),
    ),
))

# 3.3 ---------------------------------------------------------------------------------


def reference_cumulative_log(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    return history[-1], history


CUMULATIVE_CASES = (  # two shapes only: every new shape costs a compilation per probe
    case(jnp.array([1.0, 2.0, 3.0, 4.0])),
    case(np.array([0.5, -1.5, 2.0, 0.25], dtype=np.float32)),  # NumPy: in-place updates would show
    case(jnp.array([7.0])),
)

register(Exercise(
    id="3.3",
    signature="cumulative_log(xs)",
    objects=("cumulative_log",),
    probes=(
        probes.matches_reference("cumulative_log", reference_cumulative_log, CUMULATIVE_CASES),
        probes.inputs_unchanged("cumulative_log", CUMULATIVE_CASES),
        probes.globals_unchanged("cumulative_log", CUMULATIVE_CASES),
        probes.deterministic("cumulative_log", CUMULATIVE_CASES),
        probes.jit_matches_eager("cumulative_log", CUMULATIVE_CASES),
        probes.no_leaked_tracers("cumulative_log", CUMULATIVE_CASES[:1]),
    ),
    hints=(
        (
            "Return the history instead of appending to a list outside the function: "
            "`history = jnp.cumsum(xs)` gives every running total at once, and `history[-1]` is the total."
        ),
    ),
))
