"""Chapter 8 · known answers to 8.1 (momentum) and 8.2 (Adam)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
try:
    import optax
except ModuleNotFoundError:  # the lean environment of `make test-jax`: those answers are skipped
    optax = None
from jax.flatten_util import ravel_pytree

from tests.wrong_answers.helpers import parametrize, right, wrong

# 8.1 · wrong ---------------------------------------------------------------------------

_velocity: dict[str, Any] = {}


def momentum_init_global(params):
    _velocity["v"] = jax.tree.map(jnp.zeros_like, params)
    return None


def momentum_update_global(grads, state, params, lr=0.1, beta=0.9):
    # the velocity lives on a module-level dict: right eagerly, stale under jit
    _velocity["v"] = jax.tree.map(lambda v, g: beta * v + g, _velocity["v"], grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, _velocity["v"]), state


def momentum_init(params):
    return jax.tree.map(jnp.zeros_like, params)


def momentum_update_ema(grads, state, params, lr=0.1, beta=0.9):
    # the EMA form scales every gradient by (1 - beta): not the heavy ball of the spec
    velocity = jax.tree.map(lambda v, g: beta * v + (1 - beta) * g, state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_update_state_not_returned(grads, state, params, lr=0.1, beta=0.9):
    # the new velocity is computed, but the old state goes back: plain SGD
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), state


def _map_dicts_and_lists(f, *trees):
    # a home-made tree map: dicts and lists only, so tuples and NamedTuples break
    if isinstance(trees[0], dict):
        return {k: _map_dicts_and_lists(f, *(t[k] for t in trees)) for k in trees[0]}
    if isinstance(trees[0], list):
        return [_map_dicts_and_lists(f, *xs) for xs in zip(*trees)]
    return f(*trees)


def momentum_init_homemade(params):
    return _map_dicts_and_lists(jnp.zeros_like, params)


def momentum_update_homemade(grads, state, params, lr=0.1, beta=0.9):
    velocity = _map_dicts_and_lists(lambda v, g: beta * v + g, state, grads)
    return _map_dicts_and_lists(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_init_dict(params):
    return {"velocity": jax.tree.map(jnp.zeros_like, params)}


def momentum_update_in_place(grads, state, params, lr=0.1, beta=0.9):
    # right values, but the caller's state dict is overwritten
    state["velocity"] = jax.tree.map(lambda v, g: beta * v + g, state["velocity"], grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, state["velocity"]), state


# 8.1 · right ---------------------------------------------------------------------------


class MomentumState(NamedTuple):
    velocity: Any


def momentum_init_namedtuple(params):
    return MomentumState(velocity=jax.tree_util.tree_map(jnp.zeros_like, params))


def momentum_update_namedtuple(grads, state, params, lr=0.1, beta=0.9):
    velocity = jax.tree_util.tree_map(lambda v, g: beta * v + g, state.velocity, grads)
    new_params = jax.tree_util.tree_map(lambda p, v: p - lr * v, params, velocity)
    return new_params, MomentumState(velocity)


def momentum_update_dict(grads, state, params, lr=0.1, beta=0.9):
    velocity = jax.tree.map(lambda v, g: beta * v + g, state["velocity"], grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), {"velocity": velocity}


# 8.2 · wrong ---------------------------------------------------------------------------


def adam_init(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}


def _adam_step(params, m, v, t, lr, b1, b2, eps):
    return jax.tree.map(
        lambda p, m_, v_: p - lr * (m_ / (1 - b1**t)) / (jnp.sqrt(v_ / (1 - b2**t)) + eps), params, m, v
    )


def _moments(grads, state, b1, b2):
    m = jax.tree.map(lambda m_, g: b1 * m_ + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v_, g: b2 * v_ + (1 - b2) * g**2, state["v"], grads)
    return m, v


def adam_update_t_from_zero(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # the correction uses t before it is incremented: 1 - b1**0 == 0 on the first update
    m, v = _moments(grads, state, b1, b2)
    new_params = _adam_step(params, m, v, state["t"], lr, b1, b2, eps)
    return new_params, {"m": m, "v": v, "t": state["t"] + 1}


def adam_update_no_bias_correction(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = _moments(grads, state, b1, b2)
    new_params = jax.tree.map(lambda p, m_, v_: p - lr * m_ / (jnp.sqrt(v_) + eps), params, m, v)
    return new_params, {"m": m, "v": v, "t": state["t"] + 1}


def adam_update_eps_in_sqrt(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = _moments(grads, state, b1, b2)
    t = state["t"] + 1
    new_params = jax.tree.map(
        lambda p, m_, v_: p - lr * (m_ / (1 - b1**t)) / jnp.sqrt(v_ / (1 - b2**t) + eps), params, m, v
    )
    return new_params, {"m": m, "v": v, "t": t}


def adam_update_swapped(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = _moments(grads, state, b1, b2)
    t = state["t"] + 1
    new_params = _adam_step(params, v, m, t, lr, b1, b2, eps)
    return new_params, {"m": m, "v": v, "t": t}


@partial(jax.tree_util.register_dataclass, data_fields=["m", "v"], meta_fields=["t"])
@dataclass(frozen=True)
class StaticStepState:
    m: Any
    v: Any
    t: int  # a meta field: part of the tree structure, so every new value retraces


def adam_init_static_step(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return StaticStepState(m=zeros, v=zeros, t=0)


def adam_update_static_step(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = _moments(grads, {"m": state.m, "v": state.v}, b1, b2)
    t = state.t + 1
    return _adam_step(params, m, v, t, lr, b1, b2, eps), StaticStepState(m=m, v=v, t=t)


_step_counter = [0]


def adam_init_global_step(params):
    _step_counter[0] = 0
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros}


def adam_update_global_step(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # the step count lives in a global: right eagerly, frozen at its trace-time value under jit
    _step_counter[0] += 1
    m, v = _moments(grads, state, b1, b2)
    return _adam_step(params, m, v, _step_counter[0], lr, b1, b2, eps), {"m": m, "v": v}


def adam_update_in_place(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    state["m"], state["v"] = _moments(grads, state, b1, b2)
    state["t"] = state["t"] + 1
    return _adam_step(params, state["m"], state["v"], state["t"], lr, b1, b2, eps), state


# 8.2 · right ---------------------------------------------------------------------------


@partial(jax.tree_util.register_dataclass, data_fields=["count", "mu", "nu"], meta_fields=[])
@dataclass(frozen=True)
class AdamState:
    count: jax.Array
    mu: Any
    nu: Any


def adam_init_dataclass(params):
    return AdamState(
        count=jnp.zeros((), jnp.float32),
        mu=jax.tree_util.tree_map(jnp.zeros_like, params),
        nu=jax.tree_util.tree_map(jnp.zeros_like, params),
    )


def adam_update_dataclass(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    count = state.count + 1.0
    mu = jax.tree_util.tree_map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
    nu = jax.tree_util.tree_map(lambda v, g: b2 * v + (1 - b2) * jnp.square(g), state.nu, grads)
    # the bias corrections folded into one step size, as in the Adam paper's last form
    step_size = lr * jnp.sqrt(1 - b2**count) / (1 - b1**count)
    eps_hat = eps * jnp.sqrt(1 - b2**count)
    new_params = jax.tree_util.tree_map(lambda p, m, v: p - step_size * m / (jnp.sqrt(v) + eps_hat), params, mu, nu)
    return new_params, AdamState(count=count, mu=mu, nu=nu)


def adam_init_python_int(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    # a Python int leaf becomes a weakly typed int32 under jit: no retrace
    return {"m": zeros, "v": zeros, "t": 0}


def adam_update_leaf_step(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = _moments(grads, state, b1, b2)
    t = state["t"] + 1
    return _adam_step(params, m, v, t, lr, b1, b2, eps), {"m": m, "v": v, "t": t}



# 8.1 · more wrong answers ------------------------------------------------------------------


def momentum_init_attribute(params):
    momentum_update_attribute.velocity = jax.tree.map(jnp.zeros_like, params)
    return ()


def momentum_update_attribute(grads, state, params, lr=0.1, beta=0.9):
    # the velocity on the function's own attribute: the hidden-velocity bug, in another place
    velocity = jax.tree.map(lambda v, g: beta * v + g, momentum_update_attribute.velocity, grads)
    momentum_update_attribute.velocity = velocity
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), state


class _Slots:
    velocity = None


def momentum_init_class_attribute(params):
    _Slots.velocity = jax.tree.map(jnp.zeros_like, params)
    return ()


def momentum_update_class_attribute(grads, state, params, lr=0.1, beta=0.9):
    _Slots.velocity = jax.tree.map(lambda v, g: beta * v + g, _Slots.velocity, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, _Slots.velocity), state


def _make_closure_momentum():
    memory = {}

    def init(params):
        memory["v"] = jax.tree.map(jnp.zeros_like, params)
        return ()

    def update(grads, state, params, lr=0.1, beta=0.9):
        memory["v"] = jax.tree.map(lambda v, g: beta * v + g, memory["v"], grads)
        return jax.tree.map(lambda p, v: p - lr * v, params, memory["v"]), state

    return init, update


momentum_init_closure, momentum_update_closure = _make_closure_momentum()


def momentum_update_fixed_lr(grads, state, params, lr=0.1, beta=0.9):
    # the learning rate typed in as a number: the lr argument is ignored
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    return jax.tree.map(lambda p, v: p - 0.1 * v, params, velocity), velocity


def momentum_update_beta_first(grads, state, params, beta=0.9, lr=0.1):
    # the keyword defaults in the other order: right by keyword, wrong by position
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_init_half(params):
    return jax.tree.map(lambda p: jnp.zeros_like(p, dtype=jnp.float16), params)


def momentum_update_half(grads, state, params, lr=0.1, beta=0.9):
    # a float16 velocity "to save memory": every step is rounded to three digits
    velocity = jax.tree.map(lambda v, g: (beta * v + g).astype(jnp.float16), state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_init_copies_params(params):
    # the velocity starts at the parameters instead of zero
    return jax.tree.map(jnp.asarray, params)


def momentum_update_items(grads, state, params, lr=0.1, beta=0.9):
    # walks a dict's items: any other pytree (a tuple, a single array) breaks
    velocity = {k: jax.tree.map(lambda v, g: beta * v + g, state[k], grads[k]) for k in params}
    return {k: jax.tree.map(lambda p, v: p - lr * v, params[k], velocity[k]) for k in params}, velocity


# 8.1 · more right answers ------------------------------------------------------------------


def momentum_init_leaves(params):
    return [jnp.zeros_like(p) for p in jax.tree.leaves(params)]


def momentum_update_leaves(grads, state, params, lr=0.1, beta=0.9):
    # flattens by hand and rebuilds the tree: the state is a plain list of leaves
    leaves, treedef = jax.tree.flatten(params)
    velocity = [beta * v + g for v, g in zip(state, jax.tree.leaves(grads))]
    return jax.tree.unflatten(treedef, [p - lr * v for p, v in zip(leaves, velocity)]), velocity


def momentum_update_optax_style(grads, state, params, lr=0.1, beta=0.9):
    # updates first, then applied, as optax splits it
    velocity = jax.tree.map(lambda g, v: g + beta * v, grads, state)
    updates = jax.tree.map(lambda v: -lr * v, velocity)
    return jax.tree.map(jnp.add, params, updates), velocity


# 8.2 · more wrong answers ------------------------------------------------------------------


def _adam_init_count(dtype):
    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        return {"m": zeros, "v": zeros, "t": jnp.zeros((), dtype)}

    init.__name__ = f"adam_init_{jnp.dtype(dtype).name}_count"
    return init


adam_init_int8_count = _adam_init_count(jnp.int8)  # wraps to -128 after 127 updates
adam_init_uint8_count = _adam_init_count(jnp.uint8)  # wraps to 0 after 255 updates
adam_init_bfloat16_count = _adam_init_count(jnp.bfloat16)  # b2 ** t in bfloat16: 0.999 rounds to 1


def adam_update_keeps_count_dtype(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m, v = _moments(grads, state, b1, b2)
    t = state["t"] + 1  # keeps the counter's dtype
    return _adam_step(params, m, v, t, lr, b1, b2, eps), {"m": m, "v": v, "t": t}


def adam_init_half(params):
    zeros = jax.tree.map(lambda p: jnp.zeros_like(p, dtype=jnp.float16), params)
    return {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}


def adam_update_half(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # float16 moments: g**2 of a 1e-4 gradient underflows to 0
    m = jax.tree.map(lambda m_, g: (b1 * m_ + (1 - b1) * g).astype(jnp.float16), state["m"], grads)
    v = jax.tree.map(lambda v_, g: (b2 * v_ + (1 - b2) * g**2).astype(jnp.float16), state["v"], grads)
    t = state["t"] + 1
    return _adam_step(params, m, v, t, lr, b1, b2, eps), {"m": m, "v": v, "t": t}


def adam_update_fixed_hyperparameters(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # the paper's values typed in: the arguments are ignored
    m, v = _moments(grads, state, 0.9, 0.999)
    t = state["t"] + 1
    return _adam_step(params, m, v, t, 1e-3, 0.9, 0.999, 1e-8), {"m": m, "v": v, "t": t}


def adam_update_betas_first(grads, state, params, b1=0.9, b2=0.999, lr=1e-3, eps=1e-8):
    m, v = _moments(grads, state, b1, b2)
    t = state["t"] + 1
    return _adam_step(params, m, v, t, lr, b1, b2, eps), {"m": m, "v": v, "t": t}


adam_history = []


def adam_update_logs(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # keeps every new state in a global list "for plotting later": tracers under jit
    m, v = _moments(grads, state, b1, b2)
    t = state["t"] + 1
    adam_history.append(m)
    return _adam_step(params, m, v, t, lr, b1, b2, eps), {"m": m, "v": v, "t": t}


def adam_init_attribute(params):
    adam_update_attribute.t = 0
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros}


def adam_update_attribute(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # the step count on the function's attribute: frozen at its trace-time value under jit
    adam_update_attribute.t += 1
    m, v = _moments(grads, state, b1, b2)
    return _adam_step(params, m, v, adam_update_attribute.t, lr, b1, b2, eps), {"m": m, "v": v}


# 8.2 · more right answers ------------------------------------------------------------------


def adam_init_tuple(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return (jnp.zeros((), jnp.int32), zeros, zeros)


def adam_update_tuple(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # a plain tuple state, and the moments as one tree of pairs
    count, mu, nu = state
    count = count + 1
    mu = jax.tree.map(lambda g, m: (1 - b1) * g + b1 * m, grads, mu)
    nu = jax.tree.map(lambda g, v: (1 - b2) * jnp.square(g) + b2 * v, grads, nu)
    c1, c2 = 1.0 - b1**count, 1.0 - b2**count
    new = jax.tree.map(lambda p, m, v: p - lr * (m / c1) / (jnp.sqrt(v / c2) + eps), params, mu, nu)
    return new, (count, mu, nu)


# 8.3 ---------------------------------------------------------------------------------------

_accumulated = {}


def accumulate_init_global(params):
    _accumulated["count"], _accumulated["total"] = 0, jax.tree.map(jnp.zeros_like, params)
    return ()


def accumulate_update_global(grads, state, params, lr=0.1, every=4):
    # the given class's logic, with the sum and count in a global: right eagerly, under jit
    # the count is frozen at its trace-time value and the params never move
    _accumulated["total"] = jax.tree.map(jnp.add, _accumulated["total"], grads)
    _accumulated["count"] += 1
    if _accumulated["count"] % every == 0:
        params = jax.tree.map(lambda p, s: p - lr * s / every, params, _accumulated["total"])
        _accumulated["total"] = jax.tree.map(jnp.zeros_like, _accumulated["total"])
    return params, state


def accumulate_init(params):
    return {"count": jnp.zeros((), jnp.int32), "total": jax.tree.map(jnp.zeros_like, params)}


def accumulate_update_python_if(grads, state, params, lr=0.1, every=4):
    # pure, but a Python `if` on the count: fine eagerly, a TracerBoolConversionError under jit
    count = state["count"] + 1
    total = jax.tree.map(jnp.add, state["total"], grads)
    if count % every == 0:
        params = jax.tree.map(lambda p, s: p - lr * s / every, params, total)
        total = jax.tree.map(jnp.zeros_like, total)
    return params, {"count": count, "total": total}


def _accumulate(grads, state, params, lr, every, *, divide_by=None, reset=True, when=None):
    count = state["count"] + 1
    total = jax.tree.map(jnp.add, state["total"], grads)
    apply = (count % every == 0) if when is None else when(state["count"], every)
    scale = every if divide_by is None else divide_by(count)
    new_params = jax.tree.map(lambda p, s: jnp.where(apply, p - lr * s / scale, p), params, total)
    if reset:
        total = jax.tree.map(lambda s: jnp.where(apply, 0.0, s), total)
    return new_params, {"count": count, "total": total}


def accumulate_update_no_reset(grads, state, params, lr=0.1, every=4):
    return _accumulate(grads, state, params, lr, every, reset=False)


def accumulate_update_sum_not_mean(grads, state, params, lr=0.1, every=4):
    return _accumulate(grads, state, params, lr, every, divide_by=lambda count: 1)


def accumulate_update_mean_over_count(grads, state, params, lr=0.1, every=4):
    # divides by the number of calls so far: right at the first step only
    return _accumulate(grads, state, params, lr, every, divide_by=lambda count: count)


def accumulate_update_old_count(grads, state, params, lr=0.1, every=4):
    # tests the count before the increment: steps at calls 1, 5, 9, …
    return _accumulate(grads, state, params, lr, every, when=lambda old, k: old % k == 0)


def accumulate_update_fixed_every(grads, state, params, lr=0.1, every=4):
    return _accumulate(grads, state, params, lr, 4)


def accumulate_update_in_place(grads, state, params, lr=0.1, every=4):
    new_params, new_state = _accumulate(grads, state, params, lr, every)
    state.update(new_state)
    return new_params, state


@partial(jax.tree_util.register_dataclass, data_fields=["total"], meta_fields=["count"])
@dataclass(frozen=True)
class StaticCountAccumulator:
    total: Any
    count: int


def accumulate_init_static(params):
    return StaticCountAccumulator(total=jax.tree.map(jnp.zeros_like, params), count=0)


def accumulate_update_static(grads, state, params, lr=0.1, every=4):
    # a Python count in a static field: right values, a new trace at every call
    count = state.count + 1
    total = jax.tree.map(jnp.add, state.total, grads)
    if count % every == 0:
        return (
            jax.tree.map(lambda p, s: p - lr * s / every, params, total),
            StaticCountAccumulator(jax.tree.map(jnp.zeros_like, total), count),
        )
    return params, StaticCountAccumulator(total, count)


def accumulate_update_cond(grads, state, params, lr=0.1, every=4):
    # right: lax.cond between the two outcomes
    count = state["count"] + 1
    total = jax.tree.map(jnp.add, state["total"], grads)

    def apply(operands):
        params, total = operands
        return jax.tree.map(lambda p, s: p - lr * s / every, params, total), jax.tree.map(jnp.zeros_like, total)

    params, total = jax.lax.cond(count % every == 0, apply, lambda operands: operands, (params, total))
    return params, {"count": count, "total": total}


class AccumulatorState(NamedTuple):
    calls_since_step: jax.Array
    total: Any


def accumulate_init_countdown(params):
    return AccumulatorState(jnp.zeros((), jnp.float32), jax.tree.map(jnp.zeros_like, params))


def accumulate_update_countdown(grads, state, params, lr=0.1, every=4):
    # right: a float count reset to 0 at every step, and the mean applied with a 0/1 factor
    calls = state.calls_since_step + 1.0
    total = jax.tree.map(jnp.add, state.total, grads)
    due = (calls >= every).astype(jnp.float32)
    new_params = jax.tree.map(lambda p, s: p - due * lr * s / every, params, total)
    return new_params, AccumulatorState(calls * (1 - due), jax.tree.map(lambda s: s * (1 - due), total))


# 8.1 · more answers ------------------------------------------------------------------------


def momentum_update_clipped(grads, state, params, lr=0.1, beta=0.9):
    # Clips each gradient to [-1, 1] "for stability": the same as heavy ball while gradients are small.
    velocity = jax.tree.map(lambda v, g: beta * v + jnp.clip(g, -1.0, 1.0), state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_update_nesterov(grads, state, params, lr=0.1, beta=0.9):
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    return jax.tree.map(lambda p, v, g: p - lr * (g + beta * v), params, velocity, grads), velocity


def momentum_update_moves_first(grads, state, params, lr=0.1, beta=0.9):
    # Moves by the old velocity, then updates it: every step one update late.
    new_params = jax.tree.map(lambda p, v: p - lr * v, params, state)
    return new_params, jax.tree.map(lambda v, g: beta * v + g, state, grads)


def momentum_init_python_floats(params):
    return jax.tree.map(lambda p: 0.0, params)  # Python floats: the second call's state has arrays


def momentum_init_none(params):
    return None


def momentum_update_lazy_init(grads, state, params, lr=0.1, beta=0.9):
    if state is None:  # the state's structure changes after the first update: a second trace
        state = jax.tree.map(jnp.zeros_like, grads)
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_update_mutable_default(grads, state, params, lr=0.1, beta=0.9, _history=[]):  # noqa: B006
    _history.append(jax.tree.leaves(grads)[0])  # a mutable default remembers every call
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_update_lr_in_velocity(grads, state, params, lr=0.1, beta=0.9):
    # Right for a fixed lr: the velocity is kept already multiplied by lr.
    velocity = jax.tree.map(lambda v, g: beta * v + lr * g, state, grads)
    return jax.tree.map(jnp.subtract, params, velocity), velocity


def momentum_update_transposed(grads, state, params, lr=0.1, beta=0.9):
    # Right: one tree.map returning pairs, split with jax.tree.transpose.
    def leaf(p, v, g):
        v = beta * v + g
        return p - lr * v, v

    pairs = jax.tree.map(leaf, params, state, grads)
    return jax.tree.transpose(jax.tree.structure(params), jax.tree.structure((0, 0)), pairs)


momentum_update_jitted = partial(jax.jit, static_argnames=("lr", "beta"))(momentum_update_lr_in_velocity)


# 8.2 · more answers ------------------------------------------------------------------------


def adam_init_named(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"t": jnp.zeros((), jnp.int32), "m": zeros, "v": zeros}


def _adam_named(grads, state, params, lr, b1, b2, eps, move):
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    return jax.tree.map(lambda p, m, v: p - move(m, v, t, lr, b1, b2, eps), params, m, v), {"t": t, "m": m, "v": v}


def adam_update_corrected_lr(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # The paper's "efficient" form: the corrections folded into lr, eps added to the raw sqrt(v).
    def move(m, v, t, lr, b1, b2, eps):
        return lr * jnp.sqrt(1 - b2**t) / (1 - b1**t) * m / (jnp.sqrt(v) + eps)

    return _adam_named(grads, state, params, lr, b1, b2, eps, move)


def adam_update_eps_squared_inside(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    def move(m, v, t, lr, b1, b2, eps):
        return lr * (m / (1 - b1**t)) / jnp.sqrt(v / (1 - b2**t) + eps**2)

    return _adam_named(grads, state, params, lr, b1, b2, eps, move)


def adam_update_amsgrad(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # AMSGrad: divides by the largest v so far (kept in v itself), not by the current one.
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: jnp.maximum(v, b2 * v + (1 - b2) * g * g), state["v"], grads)
    new_params = jax.tree.map(
        lambda p, m, v: p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps), params, m, v
    )
    return new_params, {"t": t, "m": m, "v": v}


def adam_init_float16_count(params):
    state = adam_init_named(params)
    return {**state, "t": jnp.zeros((), jnp.float16)}  # b1 ** t is then float16 too: 3 digits


def adam_update_named(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    def move(m, v, t, lr, b1, b2, eps):
        return lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps)

    return _adam_named(grads, state, params, lr, b1, b2, eps, move)


def adam_update_split_sqrt(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # Right: sqrt(v / c) written as sqrt(v) / sqrt(c).
    def move(m, v, t, lr, b1, b2, eps):
        return lr * (m / (1 - b1**t)) / (jnp.sqrt(v) / jnp.sqrt(1 - b2**t) + eps)

    return _adam_named(grads, state, params, lr, b1, b2, eps, move)


def adam_init_count_per_leaf(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"t": jax.tree.map(lambda p: jnp.zeros((), jnp.int32), params), "m": zeros, "v": zeros}


def adam_update_count_per_leaf(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # Right: a count for every leaf, all equal.
    t = jax.tree.map(lambda t: t + 1, state["t"])
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    new_params = jax.tree.map(
        lambda p, m, v, t: p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps), params, m, v, t
    )
    return new_params, {"t": t, "m": m, "v": v}


def adam_init_powers(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"powers": (jnp.float32(1.0), jnp.float32(1.0)), "m": zeros, "v": zeros}


def adam_update_powers(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # Right: carries b1**t and b2**t instead of t.
    b1_t, b2_t = state["powers"][0] * b1, state["powers"][1] * b2
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g * g, state["v"], grads)
    new_params = jax.tree.map(lambda p, m, v: p - lr * (m / (1 - b1_t)) / (jnp.sqrt(v / (1 - b2_t)) + eps), params, m, v)
    return new_params, {"powers": (b1_t, b2_t), "m": m, "v": v}


adam_update_jitted = partial(jax.jit, static_argnames=("lr", "b1", "b2", "eps"))(adam_update_named)


# 8.3 · more answers ------------------------------------------------------------------------


def _accumulate_init_count(dtype):
    def accumulate_init_count(params):
        return {"count": jnp.zeros((), dtype), "total": jax.tree.map(jnp.zeros_like, params)}

    accumulate_init_count.__name__ = f"accumulate_init_{jnp.dtype(dtype).name}_count"
    return accumulate_init_count


def accumulate_update_where(grads, state, params, lr=0.1, every=4):
    count = state["count"] + 1  # keeps the count's dtype
    total = jax.tree.map(jnp.add, state["total"], grads)
    apply = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(apply, p - lr * s / every, p), params, total)
    return new_params, {"count": count, "total": jax.tree.map(lambda s: jnp.where(apply, 0.0, s), total)}


def accumulate_update_restarts_from_grad(grads, state, params, lr=0.1, every=4):
    # After a step the sum restarts from the gradient of that step instead of from zero.
    count = state["count"] + 1
    total = jax.tree.map(jnp.add, state["total"], grads)
    apply = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(apply, p - lr * s / every, p), params, total)
    return new_params, {"count": count, "total": jax.tree.map(lambda s, g: jnp.where(apply, g, s), total, grads)}


def accumulate_update_steps_with_old_sum(grads, state, params, lr=0.1, every=4):
    # Moves by the sum before this call's gradient is added.
    count = state["count"] + 1
    apply = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(apply, p - lr * s / every, p), params, state["total"])
    total = jax.tree.map(lambda s, g: jnp.where(apply, 0.0, s + g), state["total"], grads)
    return new_params, {"count": count, "total": total}


def accumulate_update_count_modulo(grads, state, params, lr=0.1, every=4):
    # Right: the count kept modulo every, so it never grows.
    count = (state["count"] + 1) % every
    total = jax.tree.map(jnp.add, state["total"], grads)
    apply = count == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(apply, p - lr * s / every, p), params, total)
    return new_params, {"count": count, "total": jax.tree.map(lambda s: jnp.where(apply, 0.0, s), total)}


def accumulate_update_mask(grads, state, params, lr=0.1, every=4):
    # Right: the choice as a multiplication by a 0/1 mask.
    count = state["count"] + 1
    total = jax.tree.map(jnp.add, state["total"], grads)
    mask = (count % every == 0).astype(jnp.float32)
    new_params = jax.tree.map(lambda p, s: p - mask * lr * s / every, params, total)
    return new_params, {"count": count, "total": jax.tree.map(lambda s: s * (1 - mask), total)}


def accumulate_update_running_mean(grads, state, params, lr=0.1, every=4):
    # Right: a running mean instead of a sum, the count reset at each step.
    count = state["count"] + 1
    mean = jax.tree.map(lambda s, g: s + (g - s) / count, state["total"], grads)
    apply = count >= every
    new_params = jax.tree.map(lambda p, s: jnp.where(apply, p - lr * s, p), params, mean)
    return new_params, {
        "count": jnp.where(apply, 0, count),
        "total": jax.tree.map(lambda s: jnp.where(apply, 0.0, s), mean),
    }


accumulate_update_jitted = partial(jax.jit, static_argnames=("lr", "every"))(accumulate_update_where)


CASES = [
    wrong("8.1", "jit-matches-reference", momentum_init_global, momentum_update_global),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_ema),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_state_not_returned),
    wrong("8.1", "any-pytree", momentum_init_homemade, momentum_update_homemade),
    wrong("8.1", "inputs-unchanged", momentum_init_dict, momentum_update_in_place),
    right("8.1", momentum_init_namedtuple, momentum_update_namedtuple),
    right("8.1", momentum_init_dict, momentum_update_dict),
    wrong("8.2", "matches-reference", adam_init, adam_update_t_from_zero),
    wrong("8.2", "matches-reference", adam_init, adam_update_no_bias_correction),
    wrong("8.2", "matches-reference", adam_init, adam_update_eps_in_sqrt),
    wrong("8.2", "matches-reference", adam_init, adam_update_swapped),
    wrong("8.2", "traces-once", adam_init_static_step, adam_update_static_step),
    wrong("8.2", "jit-matches-reference", adam_init_global_step, adam_update_global_step),
    wrong("8.2", "inputs-unchanged", adam_init, adam_update_in_place),
    right("8.2", adam_init_dataclass, adam_update_dataclass),
    right("8.2", adam_init_python_int, adam_update_leaf_step),
    wrong("8.1", "jit-matches-reference", momentum_init_attribute, momentum_update_attribute),
    wrong("8.1", "globals-unchanged", momentum_init_attribute, momentum_update_attribute,
          label="momentum_attribute_globals"),
    wrong("8.1", "globals-unchanged", momentum_init_class_attribute, momentum_update_class_attribute),
    wrong("8.1", "globals-unchanged", momentum_init_closure, momentum_update_closure),
    wrong("8.1", "no-leaked-tracers", momentum_init_global, momentum_update_global, label="momentum_global_leaks"),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_fixed_lr),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_beta_first),
    wrong("8.1", "matches-reference", momentum_init_half, momentum_update_half),
    wrong("8.1", "matches-reference", momentum_init_copies_params, momentum_update_optax_style),
    wrong("8.1", "any-pytree", momentum_init, momentum_update_items),
    right("8.1", momentum_init_leaves, momentum_update_leaves),
    right("8.1", momentum_init, momentum_update_optax_style),
    wrong("8.2", "long-run", adam_init_int8_count, adam_update_keeps_count_dtype),
    wrong("8.2", "long-run", adam_init_uint8_count, adam_update_keeps_count_dtype),
    wrong("8.2", "matches-reference", adam_init_bfloat16_count, adam_update_keeps_count_dtype),
    wrong("8.2", "matches-reference", adam_init_half, adam_update_half),
    wrong("8.2", "matches-reference", adam_init, adam_update_fixed_hyperparameters),
    wrong("8.2", "matches-reference", adam_init, adam_update_betas_first),
    wrong("8.2", "no-leaked-tracers", adam_init, adam_update_logs),
    wrong("8.2", "globals-unchanged", adam_init, adam_update_logs, label="adam_update_logs_globals"),
    wrong("8.2", "jit-matches-reference", adam_init_attribute, adam_update_attribute),
    right("8.2", adam_init_tuple, adam_update_tuple),
    right("8.2", _adam_init_count(jnp.int32), adam_update_keeps_count_dtype, label="adam_int32_count"),
    wrong("8.3", "jit-matches-reference", accumulate_init_global, accumulate_update_global),
    wrong("8.3", "globals-unchanged", accumulate_init_global, accumulate_update_global,
          label="accumulate_global_globals"),
    wrong("8.3", "jit-matches-reference", accumulate_init, accumulate_update_python_if),
    wrong("8.3", "matches-reference", accumulate_init, accumulate_update_no_reset),
    wrong("8.3", "matches-reference", accumulate_init, accumulate_update_sum_not_mean),
    wrong("8.3", "matches-reference", accumulate_init, accumulate_update_mean_over_count),
    wrong("8.3", "matches-reference", accumulate_init, accumulate_update_old_count),
    wrong("8.3", "matches-reference", accumulate_init, accumulate_update_fixed_every),
    wrong("8.3", "inputs-unchanged", accumulate_init, accumulate_update_in_place),
    wrong("8.3", "traces-once", accumulate_init_static, accumulate_update_static),
    right("8.3", accumulate_init, accumulate_update_cond),
    right("8.3", accumulate_init_countdown, accumulate_update_countdown),
    wrong("8.1", "any-pytree", momentum_init, momentum_update_clipped),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_nesterov),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_moves_first),
    wrong("8.1", "traces-once", momentum_init_python_floats, momentum_update_lr_in_velocity),
    wrong("8.1", "traces-once", momentum_init_none, momentum_update_lazy_init),
    wrong("8.1", "globals-unchanged", momentum_init, momentum_update_mutable_default),
    right("8.1", momentum_init, momentum_update_lr_in_velocity),
    right("8.1", momentum_init, momentum_update_transposed),
    right("8.1", momentum_init, momentum_update_jitted, label="momentum_update_jitted_static"),
    wrong("8.2", "matches-reference", adam_init_named, adam_update_corrected_lr),
    wrong("8.2", "matches-reference", adam_init_named, adam_update_eps_squared_inside),
    wrong("8.2", "matches-reference", adam_init_named, adam_update_amsgrad),
    wrong("8.2", "matches-reference", adam_init_float16_count, adam_update_named),
    right("8.2", adam_init_named, adam_update_split_sqrt),
    right("8.2", adam_init_count_per_leaf, adam_update_count_per_leaf),
    right("8.2", adam_init_powers, adam_update_powers),
    right("8.2", adam_init_named, adam_update_jitted, label="adam_update_jitted_static"),
    wrong("8.3", "long-run", _accumulate_init_count(jnp.int8), accumulate_update_where),
    wrong("8.3", "long-run", _accumulate_init_count(jnp.uint8), accumulate_update_where),
    wrong("8.3", "long-run", _accumulate_init_count(jnp.bfloat16), accumulate_update_where),
    wrong("8.3", "matches-reference", accumulate_init, accumulate_update_restarts_from_grad),
    wrong("8.3", "matches-reference", accumulate_init, accumulate_update_steps_with_old_sum),
    right("8.3", _accumulate_init_count(jnp.int32), accumulate_update_where),
    right("8.3", accumulate_init, accumulate_update_count_modulo),
    right("8.3", accumulate_init, accumulate_update_mask),
    right("8.3", accumulate_init, accumulate_update_running_mean),
    right("8.3", accumulate_init, accumulate_update_jitted, label="accumulate_update_jitted_static"),
]


# 8.3 · round 2: a restart from the current gradient, a count reset at a round number -------


def _accumulate_init_int(params, dtype=jnp.int32):
    return {"total": jax.tree.map(jnp.zeros_like, params), "count": jnp.zeros((), dtype)}


def accumulate_update_restarts_at_grad(grads, state, params, lr=0.1, every=4):
    # After a step the sum "starts again" from this call's gradient: it is counted twice.
    total = jax.tree.map(jnp.add, state["total"], grads)
    count = state["count"] + 1
    move = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(move, p - lr * s / every, p), params, total)
    total = jax.tree.map(lambda s, g: jnp.where(move, g, s), total, grads)
    return new_params, {"total": total, "count": count}


def accumulate_update_count_reset_at_100(grads, state, params, lr=0.1, every=4):
    # "Keep the count small": reset at 100, which is not a multiple of every = 3.
    total = jax.tree.map(jnp.add, state["total"], grads)
    count = state["count"] + 1
    move = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(move, p - lr * s / every, p), params, total)
    total = jax.tree.map(lambda s: jnp.where(move, 0.0, s), total)
    return new_params, {"total": total, "count": jnp.where(count >= 100, 0, count)}


def accumulate_update_running_mean(grads, state, params, lr=0.1, every=4):
    # Right: each gradient divided by every as it comes in.
    total = jax.tree.map(lambda s, g: s + g / every, state["total"], grads)
    count = state["count"] + 1
    move = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(move, p - lr * s, p), params, total)
    total = jax.tree.map(lambda s: jnp.where(move, jnp.zeros_like(s), s), total)
    return new_params, {"total": total, "count": count}


def accumulate_update_count_modulo(grads, state, params, lr=0.1, every=4):
    # Right: the count kept modulo every, so an int8 count never wraps.
    total = jax.tree.map(jnp.add, state["total"], grads)
    count = state["count"] + 1
    move = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(move, p - lr * s / every, p), params, total)
    total = jax.tree.map(lambda s: s * (1 - move), total)
    return new_params, {"total": total, "count": (count % every).astype(state["count"].dtype)}


CASES += [
    wrong("8.3", "matches-reference", _accumulate_init_int, accumulate_update_restarts_at_grad),
    wrong("8.3", "long-run", _accumulate_init_int, accumulate_update_count_reset_at_100),
    right("8.3", _accumulate_init_int, accumulate_update_running_mean),
    right("8.3", partial(_accumulate_init_int, dtype=jnp.int8), accumulate_update_count_modulo,
          label="int8-count-modulo"),
]



# Round 3: a copy of the params kept in the state and moved instead of the params argument.
# It gives the right numbers as long as the caller feeds every output straight back; the
# check's run by position halves the params between two updates, as a projection would.


def momentum_init_keeps_params(params):
    return {"velocity": jax.tree.map(jnp.zeros_like, params), "params": params}


def momentum_update_moves_kept_params(grads, state, params, lr=0.1, beta=0.9):
    velocity = jax.tree.map(lambda v, g: beta * v + g, state["velocity"], grads)
    new_params = jax.tree.map(lambda p, v: p - lr * v, state["params"], velocity)
    return new_params, {"velocity": velocity, "params": new_params}


def adam_init_keeps_params(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"step": jnp.zeros((), jnp.int32), "m": zeros, "v": zeros, "params": params}


def adam_update_moves_kept_params(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    step = state["step"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g**2, state["v"], grads)
    new_params = jax.tree.map(
        lambda p, m, v: p - lr * (m / (1 - b1**step)) / (jnp.sqrt(v / (1 - b2**step)) + eps),
        state["params"], m, v,
    )
    return new_params, {"step": step, "m": m, "v": v, "params": new_params}


def accumulate_init_keeps_params(params):
    # "everything the accumulator remembers", the params included
    return {"count": jnp.zeros((), jnp.int32), "total": jax.tree.map(jnp.zeros_like, params), "params": params}


def accumulate_update_moves_kept_params(grads, state, params, lr=0.1, every=4):
    count = state["count"] + 1
    total = jax.tree.map(jnp.add, state["total"], grads)
    move = count % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(move, p - lr * s / every, p), state["params"], total)
    total = jax.tree.map(lambda s: jnp.where(move, 0.0, s), total)
    return new_params, {"count": count, "total": total, "params": new_params}


CASES += [
    wrong("8.1", "matches-reference", momentum_init_keeps_params, momentum_update_moves_kept_params),
    wrong("8.2", "matches-reference", adam_init_keeps_params, adam_update_moves_kept_params),
    wrong("8.3", "matches-reference", accumulate_init_keeps_params, accumulate_update_moves_kept_params),
]


# Round 4 (five learners: a NumPy veteran, a PyTorch user, a copier of chapter cells, a
# jit and cache enthusiast, a writer of one-liners): no escape; the answers that show the
# checker's reach from those angles.



def momentum_init_numpy(params):
    # Right: NumPy zeros are arrays too; every update returns new jnp arrays.
    return jax.tree.map(lambda p: np.zeros(np.shape(p), np.float32), params)


def momentum_update_numpy_in_place(grads, state, params, lr=0.1, beta=0.9):
    # NumPy habit: `v *= beta; v += g` on the velocity the caller holds.
    for v, g in zip(jax.tree.leaves(state), jax.tree.leaves(grads)):
        if isinstance(v, np.ndarray):
            v *= beta
            v += np.asarray(g)
    return jax.tree.map(lambda p, v: p - lr * v, params, state), state


def _assign_into(tree, f, *others):
    """PyTorch habit: walk the containers and assign the new leaves into them."""
    if isinstance(tree, (dict, list)):
        for k in (tree if isinstance(tree, dict) else range(len(tree))):
            new = _assign_into(tree[k], f, *[o[k] for o in others])
            if new is not None:
                tree[k] = new
        return None
    return f(tree, *others)


def momentum_update_assigns_into_trees(grads, state, params, lr=0.1, beta=0.9):
    if not isinstance(params, dict):  # "the other layouts are immutable anyway"
        velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
        return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity
    _assign_into(state, lambda v, g: beta * v + g, grads)
    _assign_into(params, lambda p, v: p - lr * v, state)
    return params, state


def momentum_init_bfloat16(params):
    return jax.tree.map(lambda p: jnp.zeros_like(p, jnp.bfloat16), params)  # "half the memory"


def momentum_update_keeps_state_dtype(grads, state, params, lr=0.1, beta=0.9):
    velocity = jax.tree.map(lambda v, g: (beta * v + g).astype(v.dtype), state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_update_torch_weight_decay(grads, state, params, lr=0.1, beta=0.9, weight_decay=1e-4):
    # torch.optim.SGD's weight_decay, with a "small" default the task never asked for.
    grads = jax.tree.map(lambda g, p: g + weight_decay * p, grads, params)
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    return jax.tree.map(lambda p, v: p - lr * v, params, velocity), velocity


def momentum_init_optax(params):
    return optax.sgd(0.1, momentum=0.9).init(params)


def momentum_update_optax(grads, state, params, lr=0.1, beta=0.9):
    # Right: optax's heavy ball is v = beta * v + g, then -lr * v; its state ignores lr and beta.
    updates, state = optax.sgd(lr, momentum=beta).update(grads, state, params)
    return optax.apply_updates(params, updates), state


def momentum_init_raveled(params):
    return jnp.zeros_like(ravel_pytree(params)[0])


def momentum_update_raveled(grads, state, params, lr=0.1, beta=0.9):
    # Right: one flat velocity vector; ravel_pytree's unravel rebuilds any layout.
    flat_params, unravel = ravel_pytree(params)
    velocity = beta * state + ravel_pytree(grads)[0]
    return unravel(flat_params - lr * velocity), velocity


def momentum_update_sutskever(grads, state, params, lr=0.1, beta=0.9):
    # Right: the velocity holds -lr times the heavy ball's (v = beta v - lr g, p = p + v).
    velocity = jax.tree.map(lambda v, g: beta * v - lr * g, state, grads)
    return jax.tree.map(jnp.add, params, velocity), velocity


@functools.lru_cache(maxsize=None)
def _compiled_momentum(lr, beta):
    return jax.jit(partial(momentum_update_sutskever, lr=lr, beta=beta))


def momentum_update_cached_jit(grads, state, params, lr=0.1, beta=0.9):
    # Right: one compiled update per (lr, beta), cached by value.
    return _compiled_momentum(lr, beta)(grads, state, params)


def adam_init_optax(params):
    return optax.adam(1e-3).init(params)


def adam_update_optax(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # Right: optax.adam's state (count, mu, nu) does not depend on the hyperparameters.
    updates, state = optax.adam(lr, b1, b2, eps).update(grads, state, params)
    return optax.apply_updates(params, updates), state


def adam_update_torch_form(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # Right: torch.optim.Adam's arrangement: lr / (1 - b1**t) times m over sqrt(v) / sqrt(1 - b2**t) + eps.
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: m * b1 + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: v * b2 + (1 - b2) * g * g, state["v"], grads)
    step_size, root_correction = lr / (1 - b1**t), jnp.sqrt(1 - b2**t)
    new_params = jax.tree.map(lambda p, m, v: p - step_size * m / (jnp.sqrt(v) / root_correction + eps), params, m, v)
    return new_params, {"t": t, "m": m, "v": v}


def adam_init_tmv(params, count_dtype=jnp.int32):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"t": jnp.zeros((), count_dtype), "m": zeros, "v": zeros}


def adam_update_keras_epsilon(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-7):
    # Keras's default epsilon, 1e-7: the task's default is 1e-8.
    return adam_update_torch_form(grads, state, params, lr, b1, b2, eps)


def adam_update_adamw_default(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.01):
    # torch.optim.AdamW's default decoupled weight decay: not in the task.
    new_params, state = adam_update_torch_form(grads, state, params, lr, b1, b2, eps)
    return jax.tree.map(lambda n, p: n - lr * weight_decay * p, new_params, params), state


def adam_update_eps_root(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # optax's eps_root copied with eps's value: sqrt(v_hat + 1e-8) + eps.
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g**2, state["v"], grads)
    new_params = jax.tree.map(
        lambda p, m, v: p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t) + eps) + eps), params, m, v
    )
    return new_params, {"t": t, "m": m, "v": v}


def adam_update_adamax(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # The infinity-norm variant: v is a decaying max of |g|, a different optimizer.
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: jnp.maximum(b2 * v, jnp.abs(g)), state["v"], grads)
    new_params = jax.tree.map(lambda p, m, v: p - lr / (1 - b1**t) * m / (v + eps), params, m, v)
    return new_params, {"t": t, "m": m, "v": v}


def adam_update_count_not_returned(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    new_params, new_state = adam_update_torch_form(grads, state, params, lr, b1, b2, eps)
    return new_params, {**new_state, "t": state["t"]}  # t is 1 at every update


def adam_update_lerp(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    # Right: the moments as interpolations, m + (1 - b1)(g - m).
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: m + (1 - b1) * (g - m), state["m"], grads)
    v = jax.tree.map(lambda v, g: v + (1 - b2) * (g * g - v), state["v"], grads)
    new_params = jax.tree.map(lambda p, m, v: p - lr * (m / (1 - b1**t)) / (jnp.sqrt(v / (1 - b2**t)) + eps), params, m, v)
    return new_params, {"t": t, "m": m, "v": v}


def accumulate_init_every_in_state(params):
    # "init knows every": the default 4, stored once.
    return {"n": jnp.zeros((), jnp.int32), "sum": jax.tree.map(jnp.zeros_like, params), "every": jnp.int32(4)}


def _accumulate_where(grads, state, params, lr, every):
    n = state["n"] + 1
    total = jax.tree.map(jnp.add, state["sum"], grads)
    due = n % every == 0
    new_params = jax.tree.map(lambda p, s: jnp.where(due, p - lr * s / every, p), params, total)
    return new_params, {"n": n, "sum": jax.tree.map(lambda s: jnp.where(due, jnp.zeros_like(s), s), total)}


def accumulate_update_every_from_state(grads, state, params, lr=0.1, every=4):
    new_params, new_state = _accumulate_where(grads, state, params, lr, state["every"])
    return new_params, {**new_state, "every": state["every"]}


def accumulate_init_ns(params, dtype=jnp.float32):
    return {"n": jnp.zeros((), jnp.int32), "sum": jax.tree.map(lambda p: jnp.zeros_like(p, dtype), params)}


def accumulate_update_bfloat16_sum(grads, state, params, lr=0.1, every=4):
    grads = jax.tree.map(lambda g: g.astype(jnp.bfloat16), grads)  # "gradients in half precision"
    return _accumulate_where(grads, state, params, lr, every)


def accumulate_update_lazy_reset(grads, state, params, lr=0.1, every=4):
    # Right: the sum is cleared at the start of the call after a step, not at the step itself.
    n = state["n"]
    total = jax.tree.map(lambda s, g: jnp.where(n % every == 0, 0.0, s) + g, state["sum"], grads)
    n = n + 1
    due = n % every == 0
    return jax.tree.map(lambda p, s: jnp.where(due, p - lr * s / every, p), params, total), {"n": n, "sum": total}


def accumulate_init_multisteps(params):
    return optax.MultiSteps(optax.sgd(0.1), every_k_schedule=4).init(params)


def accumulate_update_multisteps(grads, state, params, lr=0.1, every=4):
    # Right: optax.MultiSteps averages `every` gradients, then runs SGD once.
    updates, state = optax.MultiSteps(optax.sgd(lr), every_k_schedule=every).update(grads, state, params)
    return optax.apply_updates(params, updates), state


def accumulate_init_apply_every(params):
    return optax.apply_every(4).init(params)


def accumulate_update_apply_every(grads, state, params, lr=0.1, every=4):
    # Right: apply_every emits the sum of `every` gradients (zero updates otherwise), scaled by -lr / every.
    chain = optax.chain(optax.apply_every(every), optax.scale(-lr / every))
    updates, (state, _) = chain.update(grads, (state, optax.EmptyState()), params)
    return optax.apply_updates(params, updates), state


CASES += [
    right("8.1", momentum_init_numpy, momentum_update_sutskever),
    wrong("8.1", "inputs-unchanged", momentum_init_numpy, momentum_update_numpy_in_place),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_assigns_into_trees),
    wrong("8.1", "matches-reference", momentum_init_bfloat16, momentum_update_keeps_state_dtype),
    wrong("8.1", "matches-reference", momentum_init, momentum_update_torch_weight_decay),
    right("8.1", momentum_init_optax, momentum_update_optax, needs=("optax",)),
    right("8.1", momentum_init_raveled, momentum_update_raveled),
    right("8.1", momentum_init, momentum_update_cached_jit),
    right("8.2", adam_init_optax, adam_update_optax, needs=("optax",)),
    right("8.2", adam_init_tmv, adam_update_torch_form),
    right("8.2", partial(adam_init_tmv, count_dtype=jnp.int16), adam_update_lerp, label="adam_int16_count_lerp"),
    right("8.2", partial(adam_init_tmv, count_dtype=jnp.float32), adam_update_lerp, label="adam_float32_count_lerp"),
    wrong("8.2", "matches-reference", adam_init_tmv, adam_update_keras_epsilon),
    wrong("8.2", "matches-reference", adam_init_tmv, adam_update_adamw_default),
    wrong("8.2", "matches-reference", adam_init_tmv, adam_update_eps_root),
    wrong("8.2", "matches-reference", adam_init_tmv, adam_update_adamax),
    wrong("8.2", "matches-reference", adam_init_tmv, adam_update_count_not_returned),
    wrong("8.3", "matches-reference", accumulate_init_every_in_state, accumulate_update_every_from_state),
    wrong("8.3", "matches-reference", partial(accumulate_init_ns, dtype=jnp.bfloat16), accumulate_update_bfloat16_sum,
          label="accumulate_bfloat16_sum"),
    right("8.3", accumulate_init_ns, accumulate_update_lazy_reset),
    right("8.3", accumulate_init_multisteps, accumulate_update_multisteps, needs=("optax",)),
    right("8.3", accumulate_init_apply_every, accumulate_update_apply_every, needs=("optax",)),
]


# Round 4: an update jitted once into a module-level dict, "to compile only once": its trace
# froze the hyperparameters of the first call (the keyword case's lr and beta are ignored).
_COMPILED_UPDATES: dict = {}


def momentum_update_compiled_once(grads, state, params, lr=0.1, beta=0.9):
    if "momentum" not in _COMPILED_UPDATES:
        _COMPILED_UPDATES["momentum"] = jax.jit(partial(momentum_update_sutskever, lr=lr, beta=beta))
    return _COMPILED_UPDATES["momentum"](grads, state, params)


def adam_update_compiled_once(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    if "adam" not in _COMPILED_UPDATES:
        _COMPILED_UPDATES["adam"] = jax.jit(partial(adam_update_lerp, lr=lr, b1=b1, b2=b2, eps=eps))
    return _COMPILED_UPDATES["adam"](grads, state, params)


def accumulate_update_compiled_once(grads, state, params, lr=0.1, every=4):
    if "accumulate" not in _COMPILED_UPDATES:
        _COMPILED_UPDATES["accumulate"] = jax.jit(partial(_accumulate_where, lr=lr, every=every))
    return _COMPILED_UPDATES["accumulate"](grads, state, params)


CASES += [
    wrong("8.1", "matches-reference", momentum_init, momentum_update_compiled_once),
    wrong("8.2", "matches-reference", adam_init_tmv, adam_update_compiled_once),
    wrong("8.3", "matches-reference", accumulate_init_ns, accumulate_update_compiled_once),
]


# Round 4: a jitted update that donates the state it is given, "to reuse its buffers": the
# caller's state is deleted (the texts say grads, state and params stay unchanged, no donation).
def adam_init_separate_moments(params):
    return {"t": jnp.zeros((), jnp.int32), "m": jax.tree.map(jnp.zeros_like, params),
            "v": jax.tree.map(jnp.zeros_like, params)}


adam_update_donates_state = jax.jit(adam_update_lerp, donate_argnums=(1,), static_argnames=("lr", "b1", "b2", "eps"))
accumulate_update_donates_state = jax.jit(accumulate_update_lazy_reset, donate_argnums=(1,), static_argnames=("lr", "every"))
momentum_update_donates_state = jax.jit(momentum_update_sutskever, donate_argnums=(1,), static_argnames=("lr", "beta"))

CASES += [
    wrong("8.1", "inputs-unchanged", momentum_init, momentum_update_donates_state, label="momentum_update_donates_state"),
    wrong("8.2", "inputs-unchanged", adam_init_separate_moments, adam_update_donates_state, label="adam_update_donates_state"),
    wrong("8.3", "inputs-unchanged", accumulate_init_ns, accumulate_update_donates_state, label="accumulate_update_donates_state"),
]

test_known_answer = parametrize(CASES)
