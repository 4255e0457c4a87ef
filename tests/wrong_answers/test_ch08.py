"""Chapter 8 · known answers to 8.1 (momentum) and 8.2 (Adam)."""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

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
]

test_known_answer = parametrize(CASES)
