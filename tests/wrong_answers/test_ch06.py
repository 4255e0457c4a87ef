"""Known answers for chapter 6 (explicit state): realistic mistakes, and correct alternatives."""

from __future__ import annotations

import dataclasses
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

# 6.1 · right: Welford's update in a NamedTuple -------------------------------------------


class Welford(NamedTuple):
    count: jax.Array
    mean: jax.Array
    m2: jax.Array


def welford_init(shape):
    return Welford(jnp.zeros((), jnp.int32), jnp.zeros(shape), jnp.zeros(shape))


def welford_update(state, x):
    count = state.count + 1
    delta = x - state.mean
    mean = state.mean + delta / count
    return Welford(count, mean, state.m2 + delta * (x - mean))


def welford_result(state):
    return state.mean, state.m2 / state.count


# 6.1 · right: sum and sum of squares in a dict ------------------------------------------


def sums_init(shape):
    return {"n": jnp.float32(0.0), "sum": jnp.zeros(shape), "sum_sq": jnp.zeros(shape)}


def sums_update(state, x):
    return {"n": state["n"] + 1, "sum": state["sum"] + x, "sum_sq": state["sum_sq"] + x * x}


def sums_result(state):
    mean = state["sum"] / state["n"]
    return mean, state["sum_sq"] / state["n"] - mean**2


# 6.1 · right: a frozen dataclass, updated with jax.tree.map-free replace ----------------


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class RunningStats:
    count: jax.Array
    mean: jax.Array
    m2: jax.Array


def dataclass_init(shape):
    return RunningStats(jnp.array(0.0), jnp.zeros(shape), jnp.zeros(shape))


def dataclass_update(state, x):
    count = state.count + 1
    delta = x - state.mean
    mean = state.mean + delta / count
    return dataclasses.replace(state, count=count, mean=mean, m2=state.m2 + delta * (x - mean))


def dataclass_result(state):
    return state.mean, state.m2 / state.count


# 6.1 · wrong: the count is a static (metadata) field: a new cache key at every update ---


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class StaticCountStats:
    mean: jax.Array
    m2: jax.Array
    count: int = dataclasses.field(default=0, metadata=dict(static=True))


def static_count_init(shape):
    return StaticCountStats(jnp.zeros(shape), jnp.zeros(shape))


def static_count_update(state, x):
    count = state.count + 1
    delta = x - state.mean
    mean = state.mean + delta / count
    return StaticCountStats(mean, state.m2 + delta * (x - mean), count)


def static_count_result(state):
    return state.mean, state.m2 / state.count


# 6.1 · wrong: int() on the count, fine eagerly, a ConcretizationTypeError under jit -----


def int_count_update(state, x):
    count = int(state.count) + 1
    delta = x - state.mean
    mean = state.mean + delta / count
    return Welford(jnp.asarray(count), mean, state.m2 + delta * (x - mean))


# 6.1 · wrong: the sample variance (divides by n - 1) ------------------------------------


def sample_var_result(state):
    return state.mean, state.m2 / (state.count - 1)


# 6.1 · wrong: NumPy arrays in a dict, updated in place ----------------------------------


def inplace_init(shape):
    return {"count": np.zeros((), np.float32), "mean": np.zeros(shape, np.float32), "m2": np.zeros(shape, np.float32)}


def inplace_update(state, x):
    state["count"] += 1
    delta = x - state["mean"]
    state["mean"] += delta / state["count"]
    state["m2"] += delta * (x - state["mean"])
    return state


def inplace_result(state):
    return state["mean"].copy(), state["m2"] / state["count"]


# 6.1 · wrong: the sums live in a global; the state only counts --------------------------

_totals: dict = {}


def global_init(shape):
    _totals["sum"] = jnp.zeros(shape)
    _totals["sum_sq"] = jnp.zeros(shape)
    return {"count": jnp.array(0.0)}


def global_update(state, x):
    _totals["sum"] = _totals["sum"] + x
    _totals["sum_sq"] = _totals["sum_sq"] + x * x
    return {"count": state["count"] + 1}


def global_result(state):
    mean = _totals["sum"] / state["count"]
    return mean, _totals["sum_sq"] / state["count"] - mean**2


# 6.1 · wrong: a Python int count (not an array leaf) ------------------------------------


def python_count_init(shape):
    return {"count": 0, "mean": jnp.zeros(shape), "m2": jnp.zeros(shape)}


def python_count_update(state, x):
    count = state["count"] + 1
    delta = x - state["mean"]
    mean = state["mean"] + delta / count
    return {"count": count, "mean": mean, "m2": state["m2"] + delta * (x - mean)}


def python_count_result(state):
    return state["mean"], state["m2"] / state["count"]


# 6.2 · right answers -------------------------------------------------------------------


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class FrozenParticle:
    position: jax.Array
    velocity: jax.Array


def replace_step(p, dt):
    return dataclasses.replace(p, position=p.position + dt * p.velocity)


@jax.tree_util.register_pytree_node_class
@dataclasses.dataclass(frozen=True)
class NodeClassParticle:
    position: jax.Array
    velocity: jax.Array

    def tree_flatten(self):
        return (self.position, self.velocity), None

    @classmethod
    def tree_unflatten(cls, aux_data, children):
        return cls(*children)


def constructor_step(p, dt):
    return type(p)(position=p.position + dt * p.velocity, velocity=p.velocity)


@dataclasses.dataclass
class ExplicitFieldsParticle:  # not frozen, registered with explicit field lists
    velocity: jax.Array
    position: jax.Array


jax.tree_util.register_dataclass(
    ExplicitFieldsParticle, data_fields=["velocity", "position"], meta_fields=[]
)

# 6.2 · wrong answers -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class UnregisteredParticle:
    position: jax.Array
    velocity: jax.Array


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class MutableParticle:
    position: jax.Array
    velocity: jax.Array


def mutating_step(p, dt):
    p.position = p.position + dt * p.velocity
    return p


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class StaticVelocityParticle:
    position: jax.Array
    velocity: jax.Array = dataclasses.field(metadata=dict(static=True))


def tree_map_step(p, dt):
    return jax.tree.map(lambda leaf: leaf + dt * p.velocity, p)


def tuple_step(p, dt):
    return p.position + dt * p.velocity, p.velocity


class NamedTupleParticle(NamedTuple):
    position: jax.Array
    velocity: jax.Array


def namedtuple_step(p, dt):
    return p._replace(position=p.position + dt * p.velocity)


CASES = [
    right("6.1", welford_init, welford_update, welford_result),
    right("6.1", sums_init, sums_update, sums_result),
    right("6.1", dataclass_init, dataclass_update, dataclass_result),
    wrong("6.1", "traces-once", static_count_init, static_count_update, static_count_result),
    wrong("6.1", "jit-fold-matches-reference", welford_init, int_count_update, welford_result),
    wrong("6.1", "fold-matches-reference", welford_init, welford_update, sample_var_result),
    wrong("6.1", "state-unchanged", inplace_init, inplace_update, inplace_result),
    wrong("6.1", "independent-states", global_init, global_update, global_result),
    wrong("6.1", "state-is-arrays", python_count_init, python_count_update, python_count_result),
    right("6.2", FrozenParticle, replace_step),
    right("6.2", NodeClassParticle, constructor_step),
    right("6.2", ExplicitFieldsParticle, constructor_step),
    wrong("6.2", "is-pytree", UnregisteredParticle, replace_step),
    wrong("6.2", "jit-matches-eager", UnregisteredParticle, replace_step),
    wrong("6.2", "inputs-unchanged", MutableParticle, mutating_step),
    wrong("6.2", "returns-new-object", MutableParticle, mutating_step),
    wrong("6.2", "traces-once", StaticVelocityParticle, replace_step),
    wrong("6.2", "matches-reference", FrozenParticle, tree_map_step),
    wrong("6.2", "matches-reference", FrozenParticle, tuple_step),
    wrong("6.2", "is-dataclass", NamedTupleParticle, namedtuple_step),
]

test_known_answer = parametrize(CASES)
