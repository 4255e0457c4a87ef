"""Chapter 3 · Stale traces under jit: exercises 3.1–3.4."""

from __future__ import annotations

import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.registry import Exercise, register


case = probes.case  # copies JAX arrays per call: a donating answer deletes only its own

# Hints shared by several exercises: what each jit-related mistake looks like.
_LEAK_HINT = (
    "Under jit your function runs once, with tracers: anything it stores outside itself (a "
    "list, a deque, a global, an attribute, a default argument) keeps a tracer. Return what you "
    "computed instead of storing it."
)
_SIDE_EFFECT_HINT = (
    "Calling the function changed something outside it (a global, a counter, an attribute of "
    "an object or a class, a container). A pure function leaves everything as it was and "
    "returns what it computed."
)


def _drive_updates(update, value, increments):
    """The caller keeps the state: value = update(value, inc), over several calls."""
    values = []
    for increment in increments:
        value = update(value, increment)
        values.append(value)
    return values


# 3.1 ---------------------------------------------------------------------------------


@probes.reference
def reference_update_state(value, increment):
    return value + increment


UPDATE_STATE_CASES = (
    case(jnp.float32(10.0), jnp.float32(5.0)),
    case(jnp.float32(15.0), 3.0),
    case(jnp.array([1.0, 2.0, 3.0]), jnp.float32(0.5)),
    # the same shapes, values of no short form: a sum rounded or taken in half precision misses
    case(jnp.array([0.1234, -2.7183, 3.1416]), jnp.float32(0.0577)),
    case(jnp.ones((2, 3)), jnp.array([0.5, -1.0, 2.0])),
    # an integer state stays integer; a float increment makes it float (the dtype the two
    # arguments give, not the state's: `.astype(value.dtype)` would truncate)
    case(jnp.int32(7), jnp.int32(2)),
    case(jnp.array([3, -2], jnp.int32), jnp.float32(0.5)),
    # NumPy arrays can be changed in place: `value += increment` would change the caller's array
    case(np.array([1.0, -1.0], dtype=np.float32), np.float32(2.0)),
    case(np.array([4, 9], dtype=np.int32), np.int32(3)),
)

# the classic run: a value that starts at 10, six increments, one jax.jit for all of them
UPDATE_STATE_FOLD = (
    case(jnp.float32(10.0), [jnp.float32(v) for v in (5.0, 3.0, 2.0, 4.0, 1.0, 6.0)]),
)

register(Exercise(
    id="3.1",
    signature="update_state(value, increment)",
    objects=("update_state",),
    probes=(
        probes.matches_reference(
            "update_state", reference_update_state, UPDATE_STATE_CASES,
            hint=(
                "Return the new state computed from the two arguments only, with the dtype they "
                "give (an int32 value plus an int32 increment stays int32)."
            ),
        ),
        probes.inputs_unchanged(
            "update_state", UPDATE_STATE_CASES,
            hint=(
                "`value += increment` changes a NumPy array in place, the caller's array too, and "
                "`donate_argnums` deletes the caller's JAX array: leave the argument as it was and "
                "build a new array."
            ),
        ),
        probes.globals_unchanged("update_state", UPDATE_STATE_CASES, hint=_SIDE_EFFECT_HINT),
        probes.deterministic("update_state", UPDATE_STATE_CASES),
        probes.jit_matches_eager(
            "update_state", UPDATE_STATE_CASES,
            hint=(
                "Under jit the arguments are tracers without a value: `float(...)`, `.item()` or "
                "NumPy on them fails. Compute with the arrays themselves."
            ),
        ),
        probes.fold_matches_reference(
            ("update_state",), (reference_update_state,), UPDATE_STATE_FOLD, _drive_updates,
            jit=("update_state",),
            key="jit-follows-arguments",
            description=(
                "one jax.jit(update_state), fed the value it returned, gives 15, 18, 20, 24, 25, 31"
            ),
            hint=(
                "A later call of the jitted function answered with something baked in at the first "
                "trace: the new value must come from the `value` argument on every call."
            ),
        ),
        probes.no_leaked_tracers("update_state", UPDATE_STATE_CASES[:1], hint=_LEAK_HINT),
    ),
    hints=(
        (
            "State in, state out: take the current value as an argument and return the new one. "
            "The caller keeps it, as in `value = update_state(value, increment)`."
        ),
        (
            "Store nothing: no holder object, no global, no attribute, no list. Do not change the "
            "arguments either (a NumPy `value` can be changed in place); build a new array."
        ),
    ),
))

# 3.2 ---------------------------------------------------------------------------------


@probes.reference
def reference_predict(params, x):
    return x * params["scale"] + params["shift"]


def _params(scale, shift) -> dict:
    return {"scale": jnp.asarray(scale, jnp.float32), "shift": jnp.asarray(shift, jnp.float32)}


PREDICT_CASES = (
    case(_params(2.0, 1.0), jnp.arange(3.0)),
    case(_params(-0.5, 4.0), jnp.array([1.0, 2.0, 8.0, -3.0, 0.5, 6.0, 2.5])),  # seven inputs
    case(_params(3.0, -2.0), jnp.array([0.5])),  # one input
    # a scale per feature and one shift, on a vector and on a batch of rows
    case(_params([1.0, -2.0, 0.5, 3.0], 0.25), jnp.array([2.0, 1.0, -4.0, 0.5])),
    case(_params([1.0, -2.0, 0.5, 3.0], -1.5), jnp.arange(8.0).reshape(2, 4)),
    # the same shapes (nothing new to compile) with values of no short binary or decimal form:
    # inputs cast to float16 or a result rounded to a few decimals miss
    case(
        _params([1.37, -0.29, 2.113, 0.5], 0.0417),
        jnp.array([[0.1234, -2.7183, 3.1416, 1.4142], [0.5772, -1.618, 0.6931, 2.2361]]),
    ),
    # NumPy parameters (float64, as np.array makes them) and inputs: in-place changes would show
    case({"scale": np.array(1.1), "shift": np.array([0.3, -0.7])}, np.array([2.0, 4.0], np.float32)),
    # the keys in the other order: a dict is read by key, not by position (a plain callable, as
    # `case` rebuilds dicts in sorted key order)
    lambda: ({"shift": jnp.float32(0.5), "scale": jnp.float32(-2.0)}, jnp.array([1.0, 3.0])),
)

# new parameter values, the same shapes: one trace
PREDICT_SAME_SHAPES = (
    case(_params([1.0, -2.0, 0.5, 3.0], 0.25), jnp.array([2.0, 1.0, -4.0, 0.5])),
    case(_params([0.5, 0.5, 2.0, -1.0], 3.0), jnp.array([1.0, 1.0, 1.0, 1.0])),
    case(_params([-3.0, 1.0, 1.0, 0.0], -1.0), jnp.array([0.0, 2.0, -2.0, 5.0])),
)

register(Exercise(
    id="3.2",
    signature="predict(params, x)",
    objects=("predict",),
    probes=(
        probes.matches_reference(
            "predict", reference_predict, PREDICT_CASES,
            hint=(
                "The check passes parameters it made itself, a scale per feature among them, and "
                "inputs of several lengths and ranks: read both parameters from `params`, multiply "
                "elementwise, and let broadcasting handle the shapes."
            ),
        ),
        probes.inputs_unchanged(
            "predict", PREDICT_CASES,
            hint="Read from `params`; do not take entries out of it or assign into it: it belongs to the caller.",
        ),
        probes.globals_unchanged("predict", PREDICT_CASES, hint=_SIDE_EFFECT_HINT),
        probes.jit_matches_eager(
            "predict", PREDICT_CASES,
            hint=(
                "Under jit the parameters are tracers: `float(...)` and `.item()` need a concrete "
                "value, which a tracer does not have. Use them as arrays."
            ),
        ),
        probes.traces_once(
            "predict", PREDICT_SAME_SHAPES,
            hint=(
                "New parameter values of the same shapes must not need a new trace: keep them traced "
                "arrays, not static arguments or Python numbers the trace depends on."
            ),
        ),
        probes.no_leaked_tracers("predict", PREDICT_SAME_SHAPES[:1], hint=_LEAK_HINT),
    ),
    hints=(
        (
            "Read scale and shift from `params` inside the function, as arrays: never from a global, "
            "and never through `float(...)`, which needs a concrete value that jit does not have."
        ),
        (
            "Parameters that change between calls are arguments, traced like `x`. Chapter 3's "
            "global `gain` went stale because it was not one."
        ),
    ),
))

# 3.3 ---------------------------------------------------------------------------------


@probes.reference
def reference_cumulative_log(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    return history[-1], history


CUMULATIVE_CASES = (  # three lengths: every new shape costs a compilation per probe
    case(jnp.array([1.0, 2.0, 3.0])),
    case(jnp.array([0.1, -2.5, 1.0 / 3.0])),
    # a NaN makes every later sum NaN, and no earlier one
    case(jnp.array([0.5, jnp.nan, 2.0])),
    case(np.array([0.5, -1.5, 2.0, 0.25, 3.0, -0.75, 1.25], dtype=np.float32)),  # NumPy: in-place updates would show
    case(jnp.array([7.0])),
)

# Half-precision inputs: the running totals stay in the dtype of `xs`, as the task says. A
# history built in a `jnp.zeros(n)` buffer, or from `xs` cast to float32 "for accuracy", comes
# back as float32, which the value comparison accepts (a wider dtype loses nothing): the dtype
# is checked on its own. Values with a short binary form, so that every sum is exact in float16.
CUMULATIVE_HALF_CASES = (
    case(jnp.array([0.5, -1.25, 2.0, 0.75], jnp.float16)),
    case(jnp.array([1.5, 0.25, -3.0], jnp.bfloat16)),
)


def _history_keeps_dtype(args, result):
    xs = args[0]
    allowed = {np.asarray(xs).dtype, jnp.asarray(xs).dtype}
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        return f"expected a pair (total, history), got {type(result).__name__}"
    for label, value in zip(("total", "history"), result):
        dtype = getattr(value, "dtype", None)
        if dtype not in allowed:
            shown = dtype if dtype is not None else type(value).__name__
            return (
                f"{label} has dtype {shown}, xs has dtype {jnp.asarray(xs).dtype}: the running "
                "totals are in the dtype of xs"
            )
    return None


register(Exercise(
    id="3.3",
    signature="cumulative_log(xs)",
    objects=("cumulative_log",),
    probes=(
        probes.matches_reference(
            "cumulative_log", reference_cumulative_log, CUMULATIVE_CASES,
            hint=(
                "`history` is an array with one running total per element of `xs`, whatever its "
                "length, in the dtype of `xs`; `total` is its last element. A NaN is part of every "
                "sum that includes it."
            ),
        ),
        probes.satisfies(
            "cumulative_log", CUMULATIVE_HALF_CASES, _history_keeps_dtype,
            key="keeps-dtype",
            description="total and history are in the dtype of xs (float16 and bfloat16 too)",
            hint=(
                "The running totals are in the dtype of `xs`. A buffer made with `jnp.zeros(n)` "
                "or a cast to float32 gives float32 whatever `xs` is: make the buffer like `xs`, "
                "or let the sums keep the dtype of `xs`."
            ),
        ),
        probes.inputs_unchanged("cumulative_log", CUMULATIVE_CASES),
        probes.globals_unchanged("cumulative_log", CUMULATIVE_CASES, hint=_SIDE_EFFECT_HINT),
        probes.deterministic("cumulative_log", CUMULATIVE_CASES),
        probes.jit_matches_eager(
            "cumulative_log", CUMULATIVE_CASES,
            hint=(
                "Under jit the elements of `xs` are tracers: `float(x)` needs a concrete value. Keep "
                "the running total an array."
            ),
        ),
        probes.no_leaked_tracers("cumulative_log", CUMULATIVE_CASES[:1], hint=_LEAK_HINT),
    ),
    hints=(
        (
            "Return the history instead of appending to a list outside the function: a list made "
            "inside the function dies with the call; one outside it keeps tracers."
        ),
        (
            "`jnp.cumsum` computes every running total at once, and the last of them is the total. "
            "A loop that builds a local list of arrays and stacks it works too."
        ),
    ),
))

# 3.4 ---------------------------------------------------------------------------------


@probes.reference
def reference_smooth(level, reading, weight):
    return level + weight * (reading - level)


def _drive_smoother(smooth, level, readings, weights):
    """The caller keeps the level; the weight changes after a few calls, as `sm.weight = …` did."""
    levels = []
    for reading, weight in zip(readings, weights):
        level = smooth(level, reading, weight)
        levels.append(level)
    return levels


_f32 = jnp.float32

SMOOTH_CASES = (
    case(_f32(0.0), _f32(4.0), 0.5),
    case(_f32(2.0), _f32(4.0), 0.25),
    case(jnp.array([0.0, 1.0, 2.0]), jnp.array([4.0, 4.0, -4.0]), _f32(0.75)),
    case(_f32(3.0), _f32(-1.0), 0.0),  # weight 0: the level stays
    case(_f32(3.0), _f32(-1.0), 1.0),  # weight 1: the level jumps to the reading
    # NumPy arrays can be changed in place: `level += …` would change the caller's array
    case(np.array([1.0, -3.0], np.float32), np.array([2.0, 2.0], np.float32), np.float32(0.5)),
    # values and a weight without a short binary or decimal form: a weight rounded (to a few
    # decimals, to float16) or a level kept in half precision is off by more than the tolerance
    case(jnp.array([0.1234, -2.7183]), jnp.array([3.1416, 0.5772]), 0.3141),
)

SMOOTH_SAME_SHAPES = (
    case(_f32(0.0), _f32(4.0), _f32(0.5)),
    case(_f32(2.0), _f32(4.0), _f32(0.25)),
    case(_f32(-1.0), _f32(3.0), _f32(0.9)),
)

SMOOTH_FOLD = (
    case(_f32(0.0), [_f32(r) for r in (4.0, 4.0, 4.0, 8.0, 8.0)], [_f32(w) for w in (0.5, 0.5, 0.25, 0.25, 1.0)]),
    case(jnp.zeros(2), [jnp.array([2.0, -2.0]), jnp.array([6.0, 2.0])], [_f32(0.5), _f32(0.75)]),
)

register(Exercise(
    id="3.4",
    signature="smooth(level, reading, weight)",
    objects=("smooth",),
    probes=(
        probes.matches_reference(
            "smooth", reference_smooth, SMOOTH_CASES,
            hint=(
                "The new level comes from the three arguments only: weight 0 keeps the level, "
                "weight 1 jumps to the reading. Nothing may come from `sm`, the `Smoother` class or "
                "a constant."
            ),
        ),
        probes.inputs_unchanged(
            "smooth", SMOOTH_CASES,
            hint=(
                "`level += …` changes a NumPy level in place, the caller's array too, and "
                "`donate_argnums` deletes the caller's JAX array: leave the argument as it was and "
                "build a new array."
            ),
        ),
        probes.globals_unchanged(
            "smooth", SMOOTH_CASES,
            hint=(
                "Do not write the new level back to the smoother, a global or a class: return it, and "
                "let the caller keep it."
            ),
        ),
        probes.deterministic("smooth", SMOOTH_CASES),
        probes.jit_matches_eager(
            "smooth", SMOOTH_CASES,
            hint=(
                "Under jit every argument is a tracer, the weight too: `float(weight)` needs a "
                "concrete value. Compute with the weight as it is."
            ),
        ),
        probes.traces_once(
            "smooth", SMOOTH_SAME_SHAPES,
            hint=(
                "A new weight must not need a new trace: keep it a traced argument, not a static "
                "one (a static value is part of the cache key, and each new one compiles again)."
            ),
        ),
        probes.fold_matches_reference(
            ("smooth",), (reference_smooth,), SMOOTH_FOLD, _drive_smoother,
            jit=("smooth",),
            key="jit-follows-arguments",
            description=(
                "one jax.jit(smooth), fed the level it returned, follows every new reading and a "
                "weight changed after the first calls"
            ),
            hint=(
                "A later call of the jitted function answered with a level or a weight from an "
                "earlier trace: something is baked in (an attribute read through a static object, a "
                "cached function). Every value must come from the arguments of this call."
            ),
        ),
        probes.no_leaked_tracers("smooth", SMOOTH_SAME_SHAPES[:1], hint=_LEAK_HINT),
    ),
    hints=(
        (
            "List what `Smoother.update` reads at trace time (with `self` static, every attribute "
            "it reads is baked into the program) and what it writes (an attribute assigned during "
            "the trace keeps a tracer). Both have to become arguments or return values."
        ),
        (
            "State in, state out: the level comes in as an argument and the new level is returned; "
            "the caller stores it. The weight is an argument too, traced like the others, so a new "
            "weight needs no new trace. Nothing reads or writes `sm`."
        ),
        (
            "To test your fix the way the check does: jit it once, call it with weight 0.5, then with "
            "weight 0.25 and the same shapes. The second result must use 0.25."
        ),
    ),
))
