"""Chapter 3 · Stale traces under jit: known answers to 3.1–3.4."""

from __future__ import annotations

import collections
import itertools
import logging
import operator
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from tests.wrong_answers.helpers import parametrize, right, wrong

# 3.1 · update_state(value, increment) ------------------------------------------------


class StateHolder:
    def __init__(self, value: float) -> None:
        self.value = jnp.array(value)


holder = StateHolder(0.0)
latest = jnp.float32(0.0)
current_value = jnp.float32(10.0)
update_count = 0
recent_values: collections.deque = collections.deque(maxlen=3)


def update_state_sets_holder(value, increment):
    holder.value = value + increment  # the classic mutation, kept "for later"
    return holder.value


def update_state_sets_global(value, increment):
    global latest
    latest = value + increment
    return latest


def update_state_reads_stale_global(value, increment):
    return current_value + increment  # the value the module started with, not the argument


def update_state_in_place(value, increment):
    value += increment  # in place for a NumPy array: the caller's array changes
    return value


def update_state_np_add_out(value, increment):
    return np.add(value, increment, out=value) if isinstance(value, np.ndarray) else value + increment


def update_state_counts_calls(value, increment):
    global update_count
    update_count += 1
    return value + increment


def update_state_counts_on_itself(value, increment):
    update_state_counts_on_itself.calls = getattr(update_state_counts_on_itself, "calls", 0) + 1
    return value + increment


class Tally:
    updates = 0


def update_state_class_attribute(value, increment):
    Tally.updates += 1  # a class attribute: state shared by every caller
    return value + increment


def update_state_remembers_in_deque(value, increment):
    new_value = value + increment
    recent_values.append(new_value)  # "keep the last three for debugging": tracers under jit
    return new_value


def update_state_default_log(value, increment, log=[]):  # noqa: B006 (the mistake)
    log.append(value)
    return value + increment


def update_state_python_floats(value, increment):
    return float(value) + float(increment)  # concrete values: not there under jit


def update_state_float32_always(value, increment):
    return jnp.asarray(value, jnp.float32) + increment  # an int32 state becomes float32


def update_state_half_precision(value, increment):
    return (value + increment).astype(jnp.float16)  # "state is small, halve its memory"


@partial(jax.jit, donate_argnums=0)
def update_state_donates(value, increment):
    return value + increment  # the caller's `value` is deleted by the call


def update_state_float_increment(value, increment):
    return value + jnp.float32(increment)  # "increments are floats": an int32 state becomes float32


logged_values: list = []


def update_state_logs_by_callback(value, increment):
    new_value = value + increment
    jax.debug.callback(lambda v: logged_values.append(v), new_value)  # no tracer kept, still a side effect
    return new_value


def update_state_jnp_add(value, increment):
    return jnp.add(value, increment)


@jax.jit
def update_state_jitted(value, increment):
    new_value = value + increment
    return new_value


def update_state_copy_then_add(value, increment):
    new_value = np.copy(value) if isinstance(value, np.ndarray) else value
    new_value = new_value + increment
    return new_value


def update_state_asarray(value, increment):
    return jnp.asarray(value) + jnp.asarray(increment)


# 3.2 · predict(params, x) ------------------------------------------------------------

SCALE = 2.0
PARAMS = {"scale": jnp.float32(2.0), "shift": jnp.float32(1.0)}
cached_params: dict = {}
last_inputs: list = []


def predict_scale_from_global(params, x):
    return x * SCALE + params["shift"]


def predict_global_params(params, x):
    return x * PARAMS["scale"] + PARAMS["shift"]  # the dict the notebook made, not the argument


def predict_caches_first_params(params, x):
    if not cached_params:  # "load the parameters once"
        cached_params.update(params)
    return x * cached_params["scale"] + cached_params["shift"]


def predict_float_scale(params, x):
    scale = float(params["scale"])
    return x * scale + params["shift"]


def predict_item(params, x):
    return x * params["scale"].item() + params["shift"].item()


@partial(jax.jit, static_argnums=(1, 2))
def _affine_static(x, scale, shift):
    return x * scale + shift


def predict_static_params(params, x):
    # hashable Python tuples as static arguments: one compilation per parameter value
    scale = tuple(np.ravel(params["scale"]).tolist())
    shift = tuple(np.ravel(params["shift"]).tolist())
    return _affine_static(x, jnp.reshape(jnp.array(scale), jnp.shape(params["scale"])), shift[0])


def predict_dot(params, x):
    return jnp.dot(x, params["scale"]) + params["shift"]  # a dot product, not a scaling


def predict_fixed_length(params, x):
    out = jnp.zeros(3)
    for i in range(3):  # written and tested with three inputs
        out = out.at[i].set(x[i] * params["scale"] + params["shift"])
    return out


def predict_flattens(params, x):
    return jnp.ravel(x) * params["scale"] + params["shift"]  # "x is a vector"


def predict_pops_shift(params, x):
    shift = params.pop("shift")  # takes the shift out of the caller's dict
    return x * params["scale"] + shift


def predict_stashes_input(params, x):
    last_inputs.append(x)  # "for debugging": a tracer under jit
    return x * params["scale"] + params["shift"]


def predict_half_precision(params, x):
    return (x.astype(jnp.float16) * params["scale"] + params["shift"]).astype(jnp.float16)


def predict_values_in_order(params, x):
    scale, shift = params.values()  # relies on the order the keys were inserted in
    return x * scale + shift


def predict_converts_in_place(params, x):
    for name in params:  # "make sure they are JAX arrays": assigns into the caller's dict
        params[name] = jnp.asarray(params[name], jnp.float32)
    return x * params["scale"] + params["shift"]


def predict_fma(params, x):
    scale, shift = params["scale"], params["shift"]
    return jnp.add(jnp.multiply(x, scale), shift)


@jax.jit
def predict_jitted(params, x):
    return x * params["scale"] + params["shift"]


def predict_unpacks(params, x):
    scale, shift = (params[k] for k in ("scale", "shift"))
    return shift + scale * jnp.asarray(x)


def predict_tree_map(params, x):
    p = jax.tree.map(jnp.asarray, params)
    return p["scale"] * x + p["shift"]


def predict_tree_leaves(params, x):
    scale, shift = jax.tree.leaves(params)  # a dict flattens in sorted key order
    return x * scale + shift


# 3.3 · cumulative_log(xs) ------------------------------------------------------------

running_log: list = []
log_window: collections.deque = collections.deque(maxlen=16)


def cumulative_log_module_list(xs):
    running_log.clear()
    total = 0.0
    for x in xs:
        total = total + x
        running_log.append(total)  # the list outlives the call, tracers and all
    return total, jnp.stack(running_log)


def cumulative_log_float_accumulator(xs):
    total = 0.0
    history = []
    for x in xs:
        total += float(x)
        history.append(total)
    return jnp.float32(total), jnp.array(history)


def cumulative_log_off_by_one(xs):
    history = jnp.cumsum(xs) - xs  # sums of xs[:i], not xs[:i+1]
    return history[-1], history


def cumulative_log_keeps_appending(xs):
    for x in xs:
        running_log.append(x)
    history = jnp.cumsum(jnp.stack(running_log))[-len(xs):]
    return history[-1], history


def cumulative_log_deque(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    log_window.extend(np.asarray(history).tolist())  # "keep the recent totals around"
    return history[-1], history


def cumulative_log_python_list(xs):
    total = jnp.zeros((), jnp.float32)
    history = []
    for x in jnp.asarray(xs):
        total = total + x
        history.append(total)
    return total, history  # a list of scalars, not an array


def cumulative_log_four(xs):
    history = jnp.cumsum(jnp.asarray(xs)[:4])  # tested on four numbers
    return history[-1], history


def cumulative_log_nancumsum(xs):
    history = jnp.nancumsum(jnp.asarray(xs))  # "robust to missing readings": skips NaN
    return history[-1], history


def cumulative_log_triangle(xs):
    xs = jnp.asarray(xs)
    lower = jnp.tril(jnp.ones((xs.shape[0], xs.shape[0]), xs.dtype))
    history = (lower * xs).sum(axis=1)  # 0 * NaN is NaN: a NaN spoils the sums before it too
    return history[-1], history


def cumulative_log_half_precision(xs):
    history = jnp.cumsum(jnp.asarray(xs), dtype=jnp.float16)
    return history[-1], history


def cumulative_log_total_is_first(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    return history[0], history  # the first running total, not the last


def cumulative_log_numpy(xs):
    history = np.cumsum(xs)  # NumPy hands a JAX array (or a tracer) to its own .cumsum method
    return history[-1], history


def cumulative_log_float_total(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    return float(history[-1]), history  # a Python float: needs a concrete value


def cumulative_log_swapped(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    return history, history[-1]


def cumulative_log_scan(xs):
    def step(total, x):
        total = total + x
        return total, total

    total, history = jax.lax.scan(step, jnp.zeros((), jnp.result_type(xs)), jnp.asarray(xs))
    return total, history


def cumulative_log_python_loop(xs):
    totals = []
    total = jnp.zeros((), jnp.asarray(xs).dtype)
    for x in jnp.asarray(xs):  # a local list: it dies with the call
        total = total + x
        totals.append(total)
    history = jnp.stack(totals)
    return history[-1], history


def cumulative_log_accumulate(xs):
    history = jnp.stack(list(itertools.accumulate(jnp.asarray(xs))))
    return history[-1], history


def cumulative_log_separate_sum(xs):
    xs = jnp.asarray(xs)
    return jnp.sum(xs), jnp.cumsum(xs)


def cumulative_log_slices(xs):
    xs = jnp.asarray(xs)
    history = jnp.array([xs[: i + 1].sum() for i in range(xs.shape[0])])
    return history[-1], history


def cumulative_log_associative_scan(xs):
    history = jax.lax.associative_scan(jnp.add, jnp.asarray(xs))
    return history[-1], history


# 3.4 · smooth(level, reading, weight) ------------------------------------------------


class Smoother:
    """The exercise's buggy class, as the task shows it."""

    def __init__(self, weight):
        self.weight = weight
        self.level = jnp.float32(0.0)

    @partial(jax.jit, static_argnums=0)
    def update(self, reading):
        self.level = self.level + self.weight * (reading - self.level)
        return self.level


sm = Smoother(weight=0.5)
WEIGHT = 0.5
smooth_calls = 0


def smooth_reads_attribute(level, reading, weight):
    return level + sm.weight * (reading - level)  # the weight the object was made with


def smooth_hard_coded_weight(level, reading, weight):
    return level + WEIGHT * (reading - level)


def smooth_via_method(level, reading, weight):
    sm.level, sm.weight = level, weight  # put the state back, then reuse the method
    return sm.update(reading)


def smooth_writes_back(level, reading, weight):
    new_level = level + weight * (reading - level)
    sm.level = new_level  # "so the rest of the code still sees it"
    return new_level


def smooth_counts(level, reading, weight):
    global smooth_calls
    smooth_calls += 1
    return level + weight * (reading - level)


def smooth_class_counter(level, reading, weight):
    Smoother.updates = getattr(Smoother, "updates", 0) + 1
    return level + weight * (reading - level)


def smooth_float_weight(level, reading, weight):
    w = float(weight)  # a Python float, "like the attribute was"
    return level + w * (reading - level)


@partial(jax.jit, static_argnums=2)
def _smooth_static(level, reading, weight):
    return level + weight * (reading - level)


def smooth_static_weight(level, reading, weight):
    return _smooth_static(level, reading, float(weight))  # hashable: one compilation per weight


class FrozenSmoother:
    """A hashable 'config': static, so its weight is baked into each trace."""

    def __init__(self, weight):
        self.weight = weight

    def __hash__(self):
        return 0

    def __eq__(self, other):
        return isinstance(other, FrozenSmoother)  # "all smoothers are alike"

    @partial(jax.jit, static_argnums=0)
    def update(self, level, reading):
        return level + self.weight * (reading - level)


def smooth_hashable_config(level, reading, weight):
    return FrozenSmoother(weight).update(level, reading)


def smooth_swapped_weight(level, reading, weight):
    return weight * level + (1 - weight) * reading  # weight on the old level, not the reading


def smooth_returns_step(level, reading, weight):
    return weight * (reading - level)  # the change, not the new level


def smooth_in_place(level, reading, weight):
    level += weight * (reading - level)  # in place for a NumPy level
    return level


def smooth_half_precision(level, reading, weight):
    return jnp.asarray(level + weight * (reading - level), jnp.float16)


@partial(jax.jit, donate_argnums=0)
def smooth_donates_level(level, reading, weight):
    return level + weight * (reading - level)


def smooth_sets_weight_attribute(level, reading, weight):
    sm.weight = weight  # keeps the object "in sync": a tracer under jit
    return level + sm.weight * (reading - level)


smoothed_levels: list = []


def smooth_logs_by_callback(level, reading, weight):
    new_level = level + weight * (reading - level)
    jax.debug.callback(lambda v: smoothed_levels.append(v), new_level)
    return new_level


def smooth_returns_pair(level, reading, weight):
    new_level = level + weight * (reading - level)
    return new_level, weight  # the state and the weight "for next time"


def smooth_mixes(level, reading, weight):
    return (1 - weight) * level + weight * reading


@jax.jit
def smooth_jitted(level, reading, weight):
    return level + weight * (reading - level)


def smooth_lerp(level, reading, weight):
    level, reading = jnp.asarray(level), jnp.asarray(reading)
    return jnp.where(weight == 1, reading, level + weight * (reading - level))


class SmootherState(NamedTuple):
    level: jax.Array


def _smooth_step(state, reading, weight):
    return state._replace(level=state.level + weight * (reading - state.level))


def smooth_via_named_tuple(level, reading, weight):
    return _smooth_step(SmootherState(jnp.asarray(level)), reading, weight).level


def smooth_clipped(level, reading, weight):
    weight = jnp.clip(weight, 0.0, 1.0)
    return jax.lax.add(jnp.asarray(level), weight * (jnp.asarray(reading) - level))


# Found by an adversarial pass over the task texts ------------------------------------


def update_state_keeps_state_dtype(value, increment):
    return (value + increment).astype(value.dtype)  # "the state keeps its dtype": truncates


def update_state_increment_as_state_dtype(value, increment):
    return value + jnp.asarray(increment, jnp.asarray(value).dtype)


def update_state_at_add(value, increment):
    return jnp.asarray(value).at[...].add(increment)  # a scatter keeps the state's dtype


_UPDATE_JITS: dict = {}


def update_state_cached_closure(value, increment):
    if "update" not in _UPDATE_JITS:  # the first value is baked into the cached function
        _UPDATE_JITS["update"] = jax.jit(lambda inc: value + inc)
    return _UPDATE_JITS["update"](increment)


def update_state_tree_map(value, increment):
    return jax.tree.map(operator.add, value, increment)


def update_state_builtin_sum(value, increment):
    return sum([value, increment])


def update_state_numpy_or_jax(value, increment):
    return np.add(value, increment) if isinstance(value, np.ndarray) else jnp.add(value, increment)


def update_state_where(value, increment):
    return jnp.where(increment == 0, value, value + increment)


def predict_shift_first(params, x):
    return (x + params["shift"]) * params["scale"]


def predict_mean_shift(params, x):
    return x * params["scale"] + jnp.mean(params["shift"])


def predict_always_batch(params, x):
    return jnp.atleast_2d(x) * params["scale"] + params["shift"]


_PREDICT_BY_SHAPE: dict = {}


def predict_jit_per_shape(params, x):
    # one jitted closure per input shape: the parameters of its first call are baked in
    shape = jnp.shape(x)
    if shape not in _PREDICT_BY_SHAPE:
        _PREDICT_BY_SHAPE[shape] = jax.jit(lambda x: x * params["scale"] + params["shift"])
    return _PREDICT_BY_SHAPE[shape](x)


def predict_sums_features(params, x):
    return jnp.sum(x * params["scale"], axis=-1, keepdims=True) + params["shift"]


def predict_first_scale(params, x):
    return x * jnp.ravel(params["scale"])[0] + params["shift"]


def predict_float_when_scalar(params, x):
    scale = params["scale"]
    scale = float(scale) if jnp.ndim(scale) == 0 else scale
    return x * scale + params["shift"]


def predict_get(params, x):
    return params.get("scale", 1.0) * x + params.get("shift", 0.0)


def predict_inner_jit(params, x):
    return jax.jit(lambda x: x * params["scale"] + params["shift"])(x)


def predict_einsum(params, x):
    return jnp.einsum("...i,...i->...i", x, jnp.broadcast_to(params["scale"], jnp.shape(x))) + params["shift"]


def predict_sorted_items(params, x):
    (_, scale), (_, shift) = sorted(params.items())
    return x * scale + shift


def cumulative_log_max_total(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    return jnp.max(history), history  # the largest running total, not the last


def cumulative_log_starts_at_zero(xs):
    xs = jnp.asarray(xs)
    history = jnp.concatenate([jnp.zeros(1, xs.dtype), jnp.cumsum(xs)])
    return history[-1], history


def cumulative_log_nan_as_zero(xs):
    history = jnp.cumsum(jnp.nan_to_num(jnp.asarray(xs)))
    return history[-1], history


def cumulative_log_total_slice(xs):
    history = jnp.cumsum(jnp.asarray(xs))
    return history[-1:], history  # shape (1,), not a scalar


def cumulative_log_running_mean(xs):
    xs = jnp.asarray(xs)
    history = jnp.cumsum(xs) / jnp.arange(1, xs.shape[0] + 1)
    return history[-1], history


def cumulative_log_cummax(xs):
    history = lax.cummax(jnp.asarray(xs))
    return history[-1], history


def cumulative_log_numpy_out(xs):
    if isinstance(xs, np.ndarray):
        np.cumsum(xs, out=xs)  # in place: the caller's array now holds the totals
        history = jnp.asarray(xs)
    else:
        history = jnp.cumsum(xs)
    return history[-1], history


def cumulative_log_scan_python_start(xs):
    def step(total, x):
        total = total + x
        return total, total

    return lax.scan(step, 0.0, jnp.asarray(xs))


def cumulative_log_at_loop(xs):
    xs = jnp.asarray(xs)
    history, total = jnp.zeros_like(xs), jnp.zeros((), xs.dtype)
    for i in range(xs.shape[0]):
        total = total + xs[i]
        history = history.at[i].set(total)
    return total, history


def cumulative_log_fori(xs):
    xs = jnp.asarray(xs)

    def body(i, carry):
        total, history = carry
        total = total + xs[i]
        return total, history.at[i].set(total)

    return lax.fori_loop(0, xs.shape[0], body, (jnp.zeros((), xs.dtype), jnp.zeros_like(xs)))


def cumulative_log_lax_cumsum(xs):
    history = lax.cumsum(jnp.asarray(xs), axis=0)
    return history[-1], history


def smooth_drops_level(level, reading, weight):
    return level + weight * reading - level  # the brackets are missing


def smooth_weighted_mean(level, reading, weight):
    return (level + weight * reading) / (1 + weight)


_FIRST_WEIGHT: dict = {}


def smooth_remembers_weight(level, reading, weight):
    _FIRST_WEIGHT.setdefault("weight", weight)  # "the weight does not change"
    return level + _FIRST_WEIGHT["weight"] * (reading - level)


def smooth_reading_in_place(level, reading, weight):
    reading -= level  # in place for a NumPy reading
    return level + weight * reading


def smooth_fresh_smoother(level, reading, weight):
    # a new Smoother each call: right values, but its level attribute keeps a tracer
    smoother = Smoother(weight)
    smoother.level = level
    return smoother.update(reading)


class _SmoothConfig:
    weight = 0.5


def smooth_sets_class_weight(level, reading, weight):
    _SmoothConfig.weight = weight
    return level + _SmoothConfig.weight * (reading - level)


def smooth_average(level, reading, weight):
    weight = jnp.asarray(weight)
    values = jnp.stack([jnp.asarray(level), jnp.asarray(reading)])
    return jnp.average(values, axis=0, weights=jnp.stack([1 - weight, weight]))


def smooth_cond(level, reading, weight):
    return lax.cond(
        weight == 0,
        lambda: jnp.asarray(level, jnp.float32),
        lambda: jnp.asarray(level + weight * (reading - level), jnp.float32),
    )


class _PlainSmoother:
    """A plain object made on every call, holding arguments only: nothing outlives the call."""

    def __init__(self, weight, level):
        self.weight, self.level = weight, level

    def update(self, reading):
        return self.level + self.weight * (reading - self.level)


def smooth_plain_object(level, reading, weight):
    return _PlainSmoother(weight, level).update(reading)


def smooth_nested_where(level, reading, weight):
    moved = level + weight * (reading - level)
    return jnp.where(weight >= 1.0, reading, jnp.where(weight <= 0.0, level, moved))



_UPDATE_LOGGER = logging.getLogger("purestate.tests.update_state")


def update_state_logs(value, increment):
    _UPDATE_LOGGER.info("update_state")  # runs at trace time under jit; keeps nothing
    return value + increment


def smooth_weight_in_half_precision(level, reading, weight):
    # The weight cast to float16 "since it is only a fraction": 0.3141 becomes 0.31396.
    return level + jnp.asarray(weight, jnp.float16) * (reading - level)


def smooth_rounded_weight(level, reading, weight):
    # The weight rounded to a percent, as a UI slider would show it.
    return level + jnp.round(weight, 2) * (reading - level)


def smooth_bfloat16_level(level, reading, weight):
    # The level kept in bfloat16 "to save memory", handed back as float32.
    return (level + weight * (reading - level)).astype(jnp.bfloat16).astype(jnp.float32)


def smooth_convex_combination(level, reading, weight):
    return (1.0 - weight) * level + weight * reading


def predict_half_precision_inputs(params, x):
    # x cast to float16 "to halve the memory of a batch": exact only on short binary values.
    return (jnp.asarray(x, jnp.float16) * params["scale"] + params["shift"]).astype(jnp.float32)


def predict_rounded(params, x):
    # Rounded to three decimals "for a readable printout".
    return jnp.round(x * params["scale"] + params["shift"], 3)


def predict_leaves_in_sorted_order(params, x):
    # jax.tree.leaves sorts a dict's keys: scale before shift, whatever the dict's order.
    scale, shift = jax.tree.leaves(params)
    return jnp.add(jnp.multiply(x, scale), shift)


def update_state_rounded(value, increment):
    return jnp.round(jnp.asarray(value) + increment, 3)


CASES = [
    # donating answers come first: the answers after them show that the cases survive
    wrong("3.1", "inputs-unchanged", update_state_donates),
    wrong("3.1", "no-leaked-tracers", update_state_sets_holder),
    wrong("3.1", "globals-unchanged", update_state_sets_holder, label="update_state_sets_holder-eager"),
    wrong("3.1", "no-leaked-tracers", update_state_sets_global),
    wrong("3.1", "matches-reference", update_state_reads_stale_global),
    wrong("3.1", "inputs-unchanged", update_state_in_place),
    wrong("3.1", "inputs-unchanged", update_state_np_add_out),
    wrong("3.1", "globals-unchanged", update_state_counts_calls),
    wrong("3.1", "globals-unchanged", update_state_counts_on_itself),
    wrong("3.1", "globals-unchanged", update_state_class_attribute),
    wrong("3.1", "no-leaked-tracers", update_state_remembers_in_deque),
    wrong("3.1", "globals-unchanged", update_state_remembers_in_deque, label="update_state_remembers_in_deque-eager"),
    wrong("3.1", "no-leaked-tracers", update_state_default_log),
    wrong("3.1", "jit-matches-eager", update_state_python_floats),
    wrong("3.1", "matches-reference", update_state_float32_always),
    wrong("3.1", "matches-reference", update_state_half_precision),
    wrong("3.1", "matches-reference", update_state_float_increment),
    wrong("3.1", "globals-unchanged", update_state_logs_by_callback),
    right("3.1", update_state_jnp_add),
    right("3.1", update_state_jitted),
    right("3.1", update_state_copy_then_add),
    right("3.1", update_state_asarray),
    wrong("3.2", "matches-reference", predict_scale_from_global),
    wrong("3.2", "matches-reference", predict_global_params),
    wrong("3.2", "matches-reference", predict_caches_first_params),
    wrong("3.2", "jit-matches-eager", predict_float_scale),
    wrong("3.2", "jit-matches-eager", predict_item),
    wrong("3.2", "traces-once", predict_static_params),
    wrong("3.2", "matches-reference", predict_dot),
    wrong("3.2", "matches-reference", predict_fixed_length),
    wrong("3.2", "matches-reference", predict_flattens),
    wrong("3.2", "inputs-unchanged", predict_pops_shift),
    wrong("3.2", "no-leaked-tracers", predict_stashes_input),
    wrong("3.2", "globals-unchanged", predict_stashes_input, label="predict_stashes_input-eager"),
    wrong("3.2", "matches-reference", predict_half_precision),
    wrong("3.2", "matches-reference", predict_values_in_order),
    wrong("3.2", "inputs-unchanged", predict_converts_in_place),
    right("3.2", predict_fma),
    right("3.2", predict_jitted),
    right("3.2", predict_unpacks),
    right("3.2", predict_tree_map),
    right("3.2", predict_tree_leaves),
    wrong("3.3", "no-leaked-tracers", cumulative_log_module_list),
    wrong("3.3", "jit-matches-eager", cumulative_log_float_accumulator),
    wrong("3.3", "matches-reference", cumulative_log_off_by_one),
    wrong("3.3", "globals-unchanged", cumulative_log_keeps_appending),
    wrong("3.3", "globals-unchanged", cumulative_log_deque),
    wrong("3.3", "matches-reference", cumulative_log_python_list),
    wrong("3.3", "matches-reference", cumulative_log_four),
    wrong("3.3", "matches-reference", cumulative_log_nancumsum),
    wrong("3.3", "matches-reference", cumulative_log_triangle),
    wrong("3.3", "matches-reference", cumulative_log_half_precision),
    wrong("3.3", "matches-reference", cumulative_log_total_is_first),
    wrong("3.3", "jit-matches-eager", cumulative_log_float_total),
    wrong("3.3", "matches-reference", cumulative_log_swapped),
    right("3.3", cumulative_log_scan),
    right("3.3", cumulative_log_python_loop),
    right("3.3", cumulative_log_accumulate),
    right("3.3", cumulative_log_separate_sum),
    right("3.3", cumulative_log_slices),
    right("3.3", cumulative_log_associative_scan),
    right("3.3", cumulative_log_numpy),
    wrong("3.4", "inputs-unchanged", smooth_donates_level),
    wrong("3.4", "matches-reference", smooth_reads_attribute),
    wrong("3.4", "matches-reference", smooth_hard_coded_weight),
    wrong("3.4", "jit-follows-arguments", smooth_via_method),
    wrong("3.4", "globals-unchanged", smooth_via_method, label="smooth_via_method-globals"),
    wrong("3.4", "no-leaked-tracers", smooth_writes_back),
    wrong("3.4", "globals-unchanged", smooth_writes_back, label="smooth_writes_back-eager"),
    wrong("3.4", "globals-unchanged", smooth_counts),
    wrong("3.4", "globals-unchanged", smooth_class_counter),
    wrong("3.4", "jit-matches-eager", smooth_float_weight),
    wrong("3.4", "traces-once", smooth_static_weight),
    wrong("3.4", "jit-follows-arguments", smooth_hashable_config),
    wrong("3.4", "matches-reference", smooth_swapped_weight),
    wrong("3.4", "matches-reference", smooth_returns_step),
    wrong("3.4", "inputs-unchanged", smooth_in_place),
    wrong("3.4", "matches-reference", smooth_half_precision),
    wrong("3.4", "no-leaked-tracers", smooth_sets_weight_attribute),
    wrong("3.4", "globals-unchanged", smooth_logs_by_callback),
    wrong("3.4", "matches-reference", smooth_returns_pair),
    right("3.4", smooth_mixes),
    right("3.4", smooth_jitted),
    right("3.4", smooth_lerp),
    right("3.4", smooth_via_named_tuple),
    right("3.4", smooth_clipped),
    # adversarial pass
    wrong("3.1", "matches-reference", update_state_keeps_state_dtype),
    wrong("3.1", "matches-reference", update_state_increment_as_state_dtype),
    wrong("3.1", "matches-reference", update_state_at_add),
    wrong("3.1", "matches-reference", update_state_cached_closure),
    right("3.1", update_state_tree_map),
    right("3.1", update_state_builtin_sum),
    right("3.1", update_state_numpy_or_jax),
    right("3.1", update_state_where),
    right("3.1", update_state_logs),
    wrong("3.2", "matches-reference", predict_shift_first),
    wrong("3.2", "matches-reference", predict_mean_shift),
    wrong("3.2", "matches-reference", predict_always_batch),
    wrong("3.2", "matches-reference", predict_jit_per_shape),
    wrong("3.2", "matches-reference", predict_sums_features),
    wrong("3.2", "matches-reference", predict_first_scale),
    wrong("3.2", "jit-matches-eager", predict_float_when_scalar),
    right("3.2", predict_get),
    right("3.2", predict_inner_jit),
    right("3.2", predict_einsum),
    right("3.2", predict_sorted_items),
    wrong("3.3", "matches-reference", cumulative_log_max_total),
    wrong("3.3", "matches-reference", cumulative_log_starts_at_zero),
    wrong("3.3", "matches-reference", cumulative_log_nan_as_zero),
    wrong("3.3", "matches-reference", cumulative_log_total_slice),
    wrong("3.3", "matches-reference", cumulative_log_running_mean),
    wrong("3.3", "matches-reference", cumulative_log_cummax),
    wrong("3.3", "inputs-unchanged", cumulative_log_numpy_out),
    right("3.3", cumulative_log_scan_python_start),
    right("3.3", cumulative_log_at_loop),
    right("3.3", cumulative_log_fori),
    right("3.3", cumulative_log_lax_cumsum),
    wrong("3.4", "matches-reference", smooth_drops_level),
    wrong("3.4", "matches-reference", smooth_weighted_mean),
    wrong("3.4", "matches-reference", smooth_remembers_weight),
    wrong("3.4", "inputs-unchanged", smooth_reading_in_place),
    wrong("3.4", "no-leaked-tracers", smooth_fresh_smoother),
    wrong("3.4", "globals-unchanged", smooth_sets_class_weight),
    right("3.4", smooth_average),
    right("3.4", smooth_cond),
    right("3.4", smooth_plain_object),
    right("3.4", smooth_nested_where),
    wrong("3.4", "matches-reference", smooth_weight_in_half_precision),
    wrong("3.4", "matches-reference", smooth_rounded_weight),
    wrong("3.4", "matches-reference", smooth_bfloat16_level),
    right("3.4", smooth_convex_combination),
    wrong("3.2", "matches-reference", predict_half_precision_inputs),
    wrong("3.2", "matches-reference", predict_rounded),
    right("3.2", predict_leaves_in_sorted_order),
    wrong("3.1", "matches-reference", update_state_rounded),
]

# Round 3: the running totals in the dtype of xs ---------------------------------------


def cumulative_log_python_loop_float32_start(xs):
    totals = []
    total = jnp.zeros((), jnp.float32)  # float32 whatever xs is: float16 sums come back float32
    for x in jnp.asarray(xs):
        total = total + x
        totals.append(total)
    history = jnp.stack(totals)
    return history[-1], history


def cumulative_log_zeros_buffer(xs):
    xs = jnp.asarray(xs)

    def body(i, history):
        previous = jnp.where(i > 0, history[i - 1], 0.0)
        return history.at[i].set(previous + xs[i])

    history = lax.fori_loop(0, xs.shape[0], body, jnp.zeros(xs.shape[0]))  # a float32 buffer
    return history[-1], history


def cumulative_log_float32_for_accuracy(xs):
    history = jnp.cumsum(jnp.asarray(xs, jnp.float32))  # "sums are more accurate in float32"
    return history[-1], history


def cumulative_log_zeros_like_buffer(xs):
    xs = jnp.asarray(xs)

    def body(i, history):
        previous = jnp.where(i > 0, history[i - 1], 0)
        return history.at[i].set(previous + xs[i])

    history = lax.fori_loop(0, xs.shape[0], body, jnp.zeros_like(xs))
    return history[-1], history


def cumulative_log_float32_sums_cast_back(xs):
    xs = jnp.asarray(xs)
    history = jnp.cumsum(xs.astype(jnp.float32)).astype(xs.dtype)
    return history[-1], history


CASES += [
    wrong("3.3", "keeps-dtype", cumulative_log_python_loop_float32_start),
    wrong("3.3", "keeps-dtype", cumulative_log_zeros_buffer),
    wrong("3.3", "keeps-dtype", cumulative_log_float32_for_accuracy),
    right("3.3", cumulative_log_zeros_like_buffer),
    right("3.3", cumulative_log_float32_sums_cast_back),
]

# Round 4 ------------------------------------------------------------------------------


def cumulative_log_masked_triangle(xs):
    xs = jnp.asarray(xs)
    n = xs.shape[0]
    # where, not a product: the NaN after position i never enters sum i
    history = jnp.sum(jnp.where(jnp.tril(jnp.ones((n, n), bool)), xs[None, :], 0), axis=1)
    return history[-1], history


def cumulative_log_while_loop(xs):
    xs = jnp.asarray(xs)

    def body(carry):
        i, total, history = carry
        total = total + xs[i]
        return i + 1, total, history.at[i].set(total)

    _, total, history = lax.while_loop(
        lambda carry: carry[0] < xs.shape[0], body, (0, jnp.zeros((), xs.dtype), jnp.zeros_like(xs))
    )
    return total, history


def update_state_broadcast_and_sum(value, increment):
    return jnp.sum(jnp.stack(jnp.broadcast_arrays(value, increment)), axis=0)


def cumulative_log_enables_x64(xs):
    jax.config.update("jax_enable_x64", True)  # "sums in double precision", for the whole session
    xs = jnp.asarray(xs)
    history = jnp.cumsum(xs.astype(jnp.float64)).astype(xs.dtype)
    return history[-1], history


CASES += [
    wrong("3.3", "globals-unchanged", cumulative_log_enables_x64),
    right("3.3", cumulative_log_masked_triangle),
    right("3.3", cumulative_log_while_loop),
    right("3.1", update_state_broadcast_and_sum),
]

test_known_answer = parametrize(CASES)
