"""Chapter 3 · Stale traces under jit: known answers to 3.1–3.3."""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp

from tests.wrong_answers.helpers import parametrize, right, wrong

# 3.1 · update_state(value, increment) ------------------------------------------------


class StateHolder:
    def __init__(self, value: float) -> None:
        self.value = jnp.array(value)


holder = StateHolder(0.0)
latest = jnp.float32(0.0)
current_value = jnp.float32(10.0)
update_count = 0


def update_state_sets_holder(value, increment):
    holder.value = value + increment  # the seed's mutation, kept "for later"
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


def update_state_counts_calls(value, increment):
    global update_count
    update_count += 1
    return value + increment


def update_state_jnp_add(value, increment):
    return jnp.add(value, increment)


@jax.jit
def update_state_jitted(value, increment):
    new_value = value + increment
    return new_value


# 3.2 · predict(params, x) ------------------------------------------------------------

SCALE = 2.0
cached_params: dict = {}


def predict_scale_from_global(params, x):
    return x * SCALE + params["shift"]


def predict_caches_first_params(params, x):
    if not cached_params:  # "load the parameters once"
        cached_params.update(params)
    return x * cached_params["scale"] + cached_params["shift"]


def predict_float_scale(params, x):
    scale = float(params["scale"])
    return x * scale + params["shift"]


@partial(jax.jit, static_argnums=(1, 2))
def _affine_static(x, scale, shift):
    return x * scale + shift


def predict_static_params(params, x):
    # hashable Python floats as static arguments: one compilation per parameter value
    return _affine_static(x, params["scale"].item(), params["shift"].item())


def predict_fma(params, x):
    scale, shift = params["scale"], params["shift"]
    return jnp.add(jnp.multiply(x, scale), shift)


@jax.jit
def predict_jitted(params, x):
    return x * params["scale"] + params["shift"]


# 3.3 · cumulative_log(xs) ------------------------------------------------------------

running_log: list = []


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


def cumulative_log_scan(xs):
    def step(total, x):
        total = total + x
        return total, total

    total, history = jax.lax.scan(step, jnp.zeros((), jnp.result_type(xs)), jnp.asarray(xs))
    return total, history


def cumulative_log_python_loop(xs):
    totals = []
    total = jnp.zeros((), jnp.float32)
    for x in jnp.asarray(xs):  # a local list: it dies with the call
        total = total + x
        totals.append(total)
    history = jnp.stack(totals)
    return history[-1], history


CASES = [
    wrong("3.1", "no-leaked-tracers", update_state_sets_holder),
    wrong("3.1", "globals-unchanged", update_state_sets_holder, label="update_state_sets_holder-eager"),
    wrong("3.1", "no-leaked-tracers", update_state_sets_global),
    wrong("3.1", "matches-reference", update_state_reads_stale_global),
    wrong("3.1", "inputs-unchanged", update_state_in_place),
    wrong("3.1", "globals-unchanged", update_state_counts_calls),
    right("3.1", update_state_jnp_add),
    right("3.1", update_state_jitted),
    wrong("3.2", "matches-reference", predict_scale_from_global),
    wrong("3.2", "matches-reference", predict_caches_first_params),
    wrong("3.2", "jit-matches-eager", predict_float_scale),
    wrong("3.2", "traces-once", predict_static_params),
    right("3.2", predict_fma),
    right("3.2", predict_jitted),
    wrong("3.3", "no-leaked-tracers", cumulative_log_module_list),
    wrong("3.3", "jit-matches-eager", cumulative_log_float_accumulator),
    wrong("3.3", "matches-reference", cumulative_log_off_by_one),
    wrong("3.3", "globals-unchanged", cumulative_log_keeps_appending),
    right("3.3", cumulative_log_scan),
    right("3.3", cumulative_log_python_loop),
]

test_known_answer = parametrize(CASES)
