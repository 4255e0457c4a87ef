"""Known answers for chapter 6 (explicit state): realistic mistakes, and correct alternatives."""

from __future__ import annotations

import collections
import copy
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


# 6.1 · right: sums of deviations from the first reading (a shifted origin: no cancellation)


class Shifted(NamedTuple):
    count: jax.Array
    origin: jax.Array
    sum: jax.Array
    sum_sq: jax.Array


def shifted_init(shape):
    return Shifted(jnp.zeros((), jnp.int32), jnp.zeros(shape), jnp.zeros(shape), jnp.zeros(shape))


def shifted_update(state, x):
    origin = jnp.where(state.count == 0, x, state.origin)
    d = x - origin
    return Shifted(state.count + 1, origin, state.sum + d, state.sum_sq + d * d)


def shifted_result(state):
    mean_d = state.sum / state.count
    return state.origin + mean_d, state.sum_sq / state.count - mean_d**2


# 6.1 · right: a dict, the count as float32, Welford's update written with jax.tree.map-free arithmetic


def float_count_init(shape):
    return {"n": jnp.zeros((), jnp.float32), "mean": jnp.zeros(shape, jnp.float32), "m2": jnp.zeros(shape, jnp.float32)}


def float_count_update(state, x):
    n = state["n"] + 1.0
    delta = jnp.asarray(x) - state["mean"]
    mean = state["mean"] + delta / n
    return {"n": n, "mean": mean, "m2": state["m2"] + delta * delta * (n - 1.0) / n}


def float_count_result(state):
    return state["mean"], state["m2"] / state["n"]


# 6.1 · right: a stats_result that is not traceable (int() on the count): only stats_update
# must work under jit


def guarded_result(state):
    count = max(int(state.count), 1)  # no division by zero before the first update
    return state.mean, state.m2 / count


# 6.1 · wrong: int8 count (wraps after 127 updates) -----------------------------------------


def int8_init(shape):
    return Welford(jnp.zeros((), jnp.int8), jnp.zeros(shape), jnp.zeros(shape))


# 6.1 · wrong: uint8 count (wraps after 255 updates)


def uint8_init(shape):
    return Welford(jnp.zeros((), jnp.uint8), jnp.zeros(shape), jnp.zeros(shape))


# 6.1 · wrong: a half-precision state "to save memory" ---------------------------------------


def half_init(shape):
    return Welford(jnp.zeros((), jnp.int32), jnp.zeros(shape, jnp.float16), jnp.zeros(shape, jnp.float16))


def half_update(state, x):
    x = jnp.asarray(x, jnp.float16)
    count = state.count + 1
    delta = x - state.mean
    mean = state.mean + delta / count.astype(jnp.float16)
    return Welford(count, mean, state.m2 + delta * (x - mean))


# 6.1 · wrong: a hard-coded shape (the first example's) ---------------------------------------


def fixed_shape_init(shape):
    return Welford(jnp.zeros((), jnp.int32), jnp.zeros(3), jnp.zeros(3))


# 6.1 · wrong: side effects the fingerprint of values cannot see -----------------------------

HISTORY = collections.deque(maxlen=1000)


def deque_update(state, x):
    HISTORY.append(x)  # "for debugging"
    return welford_update(state, x)


def attribute_counter_update(state, x):
    attribute_counter_update.calls = getattr(attribute_counter_update, "calls", 0) + 1
    return welford_update(state, x)


class Registry:
    results = []  # a class attribute, shared


def class_attribute_result(state):
    result = welford_result(state)
    Registry.results.append(result)
    return result


_created = {"states": 0}


def counting_init(shape):
    _created["states"] += 1
    return welford_init(shape)


_LAST = {}


def caching_update(state, x):
    new = welford_update(state, x)
    _LAST["state"] = new  # "to inspect the last state"
    return new


# 6.1 · wrong: the mean of squares, updated incrementally, minus the squared mean ------------


def mean_sq_init(shape):
    return {"n": jnp.zeros((), jnp.int32), "mean": jnp.zeros(shape), "mean_sq": jnp.zeros(shape)}


def mean_sq_update(state, x):
    n = state["n"] + 1
    return {
        "n": n,
        "mean": state["mean"] + (x - state["mean"]) / n,
        "mean_sq": state["mean_sq"] + (x * x - state["mean_sq"]) / n,
    }


def mean_sq_result(state):
    return state["mean"], state["mean_sq"] - state["mean"] ** 2


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


def float16_step(p, dt):
    return dataclasses.replace(p, position=(p.position + dt * p.velocity).astype(jnp.float16))


def velocity_nudged_step(p, dt):
    return FrozenParticle(position=p.position + dt * p.velocity, velocity=p.velocity * (1.0 - 1e-3))


def first_three_step(p, dt):
    return dataclasses.replace(p, position=p.position[:3] + dt * p.velocity[:3])


TRAJECTORY = []


def recording_step(p, dt):
    new = dataclasses.replace(p, position=p.position + dt * p.velocity)
    TRAJECTORY.append(new)
    return new


def counting_step(p, dt):
    counting_step.steps = getattr(counting_step, "steps", 0) + 1
    return dataclasses.replace(p, position=p.position + dt * p.velocity)


def setattr_step(p, dt):
    object.__setattr__(p, "position", p.position + dt * p.velocity)  # around frozen=True
    return dataclasses.replace(p)


def positive_dt_step(p, dt):
    if dt > 0:  # a Python branch on a traced value under jit
        return dataclasses.replace(p, position=p.position + dt * p.velocity)
    return p


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class DefaultsParticle:  # keyword arguments with defaults, fields in the other order
    velocity: jax.Array = dataclasses.field(default_factory=lambda: jnp.zeros(3))
    position: jax.Array = dataclasses.field(default_factory=lambda: jnp.zeros(3))


def explicit_step(p, dt):
    moved = jnp.add(p.position, jnp.multiply(dt, p.velocity))
    return DefaultsParticle(velocity=p.velocity, position=moved)


def tree_map_free_step(p, dt):
    new_position = p.position + p.velocity * dt
    return dataclasses.replace(p, position=new_position)


# 6.3 · the given (buggy) code and its fixes ---------------------------------------------

DECAY = 0.9


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class BuggyMeter:
    peak: jax.Array
    count: int = dataclasses.field(default=0, metadata=dict(static=True))


def buggy_meter_init(shape):
    return BuggyMeter(peak=jnp.full(shape, 0.0))


def buggy_meter_update(meter, x):
    meter.peak = jnp.maximum(x, DECAY * meter.peak)
    meter.count += 1
    return meter


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class StaticCountMeter:
    peak: jax.Array
    count: int = dataclasses.field(default=0, metadata=dict(static=True))


def static_meter_init(shape):
    return StaticCountMeter(peak=jnp.zeros(shape, jnp.float32))


def static_meter_update(meter, x):
    return dataclasses.replace(meter, peak=jnp.maximum(x, DECAY * meter.peak), count=meter.count + 1)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Meter:
    peak: jax.Array
    count: jax.Array


def weak_meter_init(shape):
    return Meter(peak=jnp.full(shape, 0.0), count=jnp.zeros((), jnp.int32))  # weakly typed peak


def meter_update(meter, x):
    return dataclasses.replace(meter, peak=jnp.maximum(x, DECAY * meter.peak), count=meter.count + 1)


def meter_init(shape):
    return Meter(peak=jnp.zeros(shape, jnp.float32), count=jnp.zeros((), jnp.int32))


def int8_meter_init(shape):
    return Meter(peak=jnp.zeros(shape, jnp.float32), count=jnp.zeros((), jnp.int8))


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class MutableMeter:
    peak: jax.Array
    count: jax.Array


def mutable_meter_init(shape):
    return MutableMeter(peak=jnp.zeros(shape, jnp.float32), count=jnp.zeros((), jnp.int32))


def mutable_meter_update(meter, x):
    meter.peak = jnp.maximum(x, DECAY * meter.peak)
    meter.count = meter.count + 1
    return meter


def decay_after_max_update(meter, x):
    return dataclasses.replace(meter, peak=DECAY * jnp.maximum(x, meter.peak), count=meter.count + 1)


def python_count_meter_init(shape):
    return Meter(peak=jnp.zeros(shape, jnp.float32), count=0)


READINGS_SEEN = [0]


def global_count_meter_update(meter, x):
    READINGS_SEEN[0] += 1
    return meter_update(meter, x)


class MeterTuple(NamedTuple):
    peak: jax.Array
    count: jax.Array


def tuple_meter_init(shape):
    return MeterTuple(jnp.zeros(shape, jnp.float32), jnp.int32(0))


def tuple_meter_update(meter, x):
    return meter._replace(peak=jnp.maximum(jnp.asarray(x), meter.peak * DECAY), count=meter.count + 1)


def new_mutable_meter_update(meter, x):  # not frozen, but never assigns: a new object each time
    return MutableMeter(peak=jnp.maximum(x, DECAY * meter.peak), count=meter.count + jnp.int32(1))


# Found by an adversarial pass (answers written from the task text alone) ---------------------

# 6.1 · wrong: every vector kept, a state that grows (a new shape, so a new trace, every update)


def history_init(shape):
    return {"xs": jnp.zeros((0, *shape))}


def history_update(state, x):
    return {"xs": jnp.concatenate([state["xs"], jnp.asarray(x)[None]])}


def history_result(state):
    return jnp.mean(state["xs"], axis=0), jnp.var(state["xs"], axis=0)


# 6.1 · wrong: a fixed buffer of 64 vectors ("enough for the example")


def buffer_init(shape):
    return {"buffer": jnp.zeros((64, *shape)), "n": jnp.zeros((), jnp.int32)}


def buffer_update(state, x):
    return {"buffer": state["buffer"].at[state["n"]].set(x), "n": state["n"] + 1}  # drops x after 64


def buffer_result(state):
    buffer, n = state["buffer"], state["n"]
    used = (jnp.arange(buffer.shape[0]) < n).reshape((-1,) + (1,) * (buffer.ndim - 1))
    mean = jnp.sum(jnp.where(used, buffer, 0.0), axis=0) / n
    return mean, jnp.sum(jnp.where(used, (buffer - mean) ** 2, 0.0), axis=0) / n


def weak_mean_init(shape):
    return Welford(jnp.zeros((), jnp.int32), jnp.full(shape, 0.0), jnp.full(shape, 0.0))  # weakly typed


def bfloat16_count_init(shape):
    return Welford(jnp.zeros((), jnp.bfloat16), jnp.zeros(shape), jnp.zeros(shape))  # stops at 256


def old_delta_update(state, x):
    count = state.count + 1
    delta = x - state.mean
    return Welford(count, state.mean + delta / count, state.m2 + delta * delta)  # delta twice


def std_result(state):
    return state.mean, jnp.sqrt(state.m2 / state.count)  # the standard deviation


def welford_dict_init(shape):
    return {"count": jnp.zeros((), jnp.int32), "mean": jnp.zeros(shape), "m2": jnp.zeros(shape)}


def welford_dict_update(state, x):
    count = state["count"] + 1
    delta = x - state["mean"]
    mean = state["mean"] + delta / count
    return {"count": count, "mean": mean, "m2": state["m2"] + delta * (x - mean)}


def caches_var_result(state):
    state["var"] = state["m2"] / state["count"]  # "cache it in the state": the caller's dict
    return state["mean"], state["var"]


@jax.tree_util.register_dataclass
@dataclasses.dataclass
class MutableStats:
    n: jax.Array
    mean: jax.Array
    m2: jax.Array


def mutable_stats_init(shape):
    return MutableStats(jnp.array(0.0), jnp.zeros(shape), jnp.zeros(shape))


def mutable_stats_update(state, x):
    delta = x - state.mean
    state.n = state.n + 1  # assigns into the caller's state
    state.mean = state.mean + delta / state.n
    state.m2 = state.m2 + delta * (x - state.mean)
    return state


def copied_stats_update(state, x):
    new = copy.copy(state)  # a shallow copy, then assignments into the copy
    delta = x - state.mean
    new.n = state.n + 1
    new.mean = state.mean + delta / new.n
    new.m2 = state.m2 + delta * (x - new.mean)
    return new


def mutable_stats_result(state):
    return state.mean, state.m2 / state.n


def tuple_stats_init(shape):
    return (jnp.zeros((), jnp.int32), jnp.zeros(shape), jnp.zeros(shape))


def tuple_stats_update(state, x):
    n, mean, m2 = state
    n = n + 1
    delta = x - mean
    mean = mean + delta / n
    return (n, mean, m2 + delta * (x - mean))


def tuple_stats_result(state):
    n, mean, m2 = state
    return mean, m2 / n


def merge_update(state, x):  # Chan's merge of (count, mean, m2) with (1, x, 0)
    count = state.count + 1
    delta = x - state.mean
    return Welford(count, state.mean + delta / count, state.m2 + delta**2 * state.count / count)


# 6.2 · more answers


def backwards_step(p, dt):
    return dataclasses.replace(p, position=p.position - dt * p.velocity)


def half_dt_step(p, dt):
    return dataclasses.replace(p, position=p.position + jnp.float16(dt) * p.velocity)  # dt rounded


_steps_by_dt = {}


def remembers_dt_step(p, dt):
    _steps_by_dt[dt if isinstance(dt, float) else "traced"] = True  # "which time steps were used"
    return dataclasses.replace(p, position=p.position + dt * p.velocity)


@dataclasses.dataclass
class SwappedLeavesParticle:
    position: jax.Array
    velocity: jax.Array


jax.tree_util.register_pytree_node(
    SwappedLeavesParticle,
    lambda p: ((p.velocity, p.position), None),
    lambda aux, children: SwappedLeavesParticle(*children),  # flattened velocity first: swapped back
)


@dataclasses.dataclass
class NodeParticle:
    position: jax.Array
    velocity: jax.Array


jax.tree_util.register_pytree_node(
    NodeParticle, lambda p: ((p.position, p.velocity), None), lambda aux, children: NodeParticle(*children)
)


def node_step(p, dt):
    return NodeParticle(position=p.position + dt * p.velocity, velocity=p.velocity)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class MethodParticle:
    position: jax.Array
    velocity: jax.Array

    def moved(self, dt):
        return dataclasses.replace(self, position=self.position + dt * self.velocity)


def method_step(p, dt):
    return p.moved(dt)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class MassParticle:  # a third, static field with a default: still two array leaves
    position: jax.Array
    velocity: jax.Array
    mass: float = dataclasses.field(default=1.0, metadata=dict(static=True))


def copy_then_set_step(p, dt):
    moved = copy.copy(p)
    object.__setattr__(moved, "position", p.position + dt * p.velocity)  # on the copy only
    return moved


# 6.3 · more answers


def minus_inf_meter_init(shape):
    return Meter(peak=jnp.full(shape, -jnp.inf, jnp.float32), count=jnp.zeros((), jnp.int32))  # "any reading beats it"


def first_reading_meter_update(meter, x):
    peak = jnp.where(meter.count == 0, x, jnp.maximum(x, DECAY * meter.peak))  # the first reading sets the peak
    return dataclasses.replace(meter, peak=peak, count=meter.count + 1)


def abs_meter_update(meter, x):
    return dataclasses.replace(meter, peak=jnp.maximum(jnp.abs(x), DECAY * meter.peak), count=meter.count + 1)


def float_count_meter_init(shape):
    return Meter(peak=jnp.zeros(shape, jnp.float32), count=jnp.zeros((), jnp.float32))


def compounded_decay_meter_update(meter, x):
    decay = DECAY ** (meter.count + 1)  # decays by 0.9 per reading "since the start"
    return dataclasses.replace(meter, peak=jnp.maximum(x, decay * meter.peak), count=meter.count + 1)


def dict_meter_init(shape):
    return {"peak": jnp.zeros(shape, jnp.float32), "count": jnp.int32(0)}


def dict_meter_update(meter, x):
    return {"peak": jnp.maximum(jnp.asarray(x), DECAY * meter["peak"]), "count": meter["count"] + 1}


def dict_meter_assigns(meter, x):
    meter["peak"] = jnp.maximum(jnp.asarray(x), DECAY * meter["peak"])  # the caller's dict
    meter["count"] += 1
    return meter


def dict_copy_meter_update(meter, x):
    meter = dict(meter)  # a new dict: assigning into it is fine
    meter["peak"] = jnp.maximum(jnp.asarray(x), DECAY * meter["peak"])
    meter["count"] += 1
    return meter


def weak_count_meter_init(shape):
    return Meter(peak=jnp.zeros(shape, jnp.float32), count=jnp.array(0))  # weak int32, and stays weak


def uint32_meter_init(shape):
    return Meter(peak=jnp.zeros(shape, jnp.float32), count=jnp.zeros((), jnp.uint32))


@jax.jit
def jitted_meter_update(meter, x):
    return dataclasses.replace(meter, peak=jnp.maximum(x, DECAY * meter.peak), count=meter.count + 1)


def rounded_dt_step(p, dt):
    # dt rounded to a hundredth "to keep the simulation's clock tidy".
    return dataclasses.replace(p, position=p.position + jnp.round(dt, 2) * p.velocity)


# Adversary round 3 --------------------------------------------------------------------------


def big_buffer_init(shape):
    return {"buffer": jnp.zeros((1024, *shape)), "n": jnp.zeros((), jnp.int32)}  # "enough for the check"


def int16_count_init(shape):
    # int16 holds 300 updates, and wraps after 32,767 vectors
    return Welford(jnp.zeros((), jnp.int16), jnp.zeros(shape), jnp.zeros(shape))


def numpy_welford_init(shape):
    # NumPy arrays, float64 zeros: arrays all the same, and jnp makes them float32 on update
    return Welford(np.zeros((), np.int32), np.zeros(shape), np.zeros(shape))


def shapes_seen_init(shape, _seen=set()):
    _seen.add(tuple(shape))  # a record of the shapes asked for, kept between calls
    return welford_init(shape)


def shape_logging_step(p, dt, _shapes=set()):
    _shapes.add(jnp.shape(p.position))  # a record of the particle shapes seen
    return FrozenParticle(position=p.position + dt * p.velocity, velocity=p.velocity)


def shapes_seen_meter_init(shape, _seen=set()):
    _seen.add(tuple(shape))
    return tuple_meter_init(shape)


CASES = [
    right("6.1", welford_init, welford_update, welford_result),
    wrong("6.1", "large-mean", sums_init, sums_update, sums_result),
    wrong("6.1", "large-mean", mean_sq_init, mean_sq_update, mean_sq_result),
    right("6.1", shifted_init, shifted_update, shifted_result),
    right("6.1", float_count_init, float_count_update, float_count_result),
    right("6.1", welford_init, welford_update, guarded_result),
    wrong("6.1", "many-updates", int8_init, welford_update, welford_result),
    wrong("6.1", "many-updates", uint8_init, welford_update, welford_result),
    wrong("6.1", "fold-matches-reference", half_init, half_update, welford_result),
    wrong("6.1", "fold-matches-reference", fixed_shape_init, welford_update, welford_result),
    wrong("6.1", "globals-unchanged", welford_init, deque_update, welford_result),
    wrong("6.1", "globals-unchanged", welford_init, attribute_counter_update, welford_result),
    wrong("6.1", "globals-unchanged", welford_init, welford_update, class_attribute_result),
    wrong("6.1", "globals-unchanged", counting_init, welford_update, welford_result),
    wrong("6.1", "globals-unchanged", welford_init, caching_update, welford_result),
    wrong("6.1", "no-leaked-tracers", welford_init, caching_update, welford_result, label="caching_update_leaks"),
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
    wrong("6.2", "matches-reference", FrozenParticle, float16_step),
    wrong("6.2", "matches-reference", FrozenParticle, velocity_nudged_step),
    wrong("6.2", "matches-reference", FrozenParticle, first_three_step),
    wrong("6.2", "globals-unchanged", FrozenParticle, recording_step),
    wrong("6.2", "no-leaked-tracers", FrozenParticle, recording_step, label="recording_step_leaks"),
    wrong("6.2", "globals-unchanged", FrozenParticle, counting_step),
    wrong("6.2", "inputs-unchanged", FrozenParticle, setattr_step),
    wrong("6.2", "jit-matches-eager", FrozenParticle, positive_dt_step),
    right("6.2", DefaultsParticle, explicit_step),
    right("6.2", FrozenParticle, tree_map_free_step),
    wrong("6.3", "meter-unchanged", buggy_meter_init, buggy_meter_update),
    wrong("6.3", "traces-once", buggy_meter_init, buggy_meter_update, label="buggy_meter_retraces"),
    wrong("6.3", "traces-once", static_meter_init, static_meter_update),
    wrong("6.3", "traces-once", weak_meter_init, meter_update),
    wrong("6.3", "many-updates", int8_meter_init, meter_update),
    wrong("6.3", "meter-unchanged", mutable_meter_init, mutable_meter_update),
    wrong("6.3", "fold-matches-reference", meter_init, decay_after_max_update),
    wrong("6.3", "state-is-arrays", python_count_meter_init, meter_update),
    wrong("6.3", "globals-unchanged", meter_init, global_count_meter_update),
    right("6.3", meter_init, meter_update),
    right("6.3", tuple_meter_init, tuple_meter_update),
    right("6.3", mutable_meter_init, new_mutable_meter_update),
    wrong("6.1", "traces-once", history_init, history_update, history_result),
    wrong("6.1", "many-updates", buffer_init, buffer_update, buffer_result),
    wrong("6.1", "traces-once", weak_mean_init, welford_update, welford_result),
    wrong("6.1", "many-updates", bfloat16_count_init, welford_update, welford_result),
    wrong("6.1", "fold-matches-reference", welford_init, old_delta_update, welford_result),
    wrong("6.1", "fold-matches-reference", welford_init, welford_update, std_result),
    wrong("6.1", "state-unchanged", welford_dict_init, welford_dict_update, caches_var_result),
    wrong("6.1", "state-unchanged", mutable_stats_init, mutable_stats_update, mutable_stats_result),
    right("6.1", mutable_stats_init, copied_stats_update, mutable_stats_result),
    right("6.1", tuple_stats_init, tuple_stats_update, tuple_stats_result),
    right("6.1", welford_init, merge_update, welford_result),
    wrong("6.2", "matches-reference", FrozenParticle, backwards_step),
    wrong("6.2", "matches-reference", FrozenParticle, half_dt_step),
    wrong("6.2", "globals-unchanged", FrozenParticle, remembers_dt_step),
    wrong("6.2", "is-pytree", SwappedLeavesParticle, constructor_step),
    right("6.2", NodeParticle, node_step),
    right("6.2", MethodParticle, method_step),
    right("6.2", MassParticle, replace_step),
    right("6.2", FrozenParticle, copy_then_set_step),
    wrong("6.3", "fold-matches-reference", minus_inf_meter_init, meter_update),
    wrong("6.3", "fold-matches-reference", meter_init, first_reading_meter_update),
    wrong("6.3", "fold-matches-reference", meter_init, abs_meter_update),
    wrong("6.3", "fold-matches-reference", float_count_meter_init, meter_update),
    wrong("6.3", "fold-matches-reference", meter_init, compounded_decay_meter_update),
    wrong("6.3", "meter-unchanged", dict_meter_init, dict_meter_assigns),
    right("6.3", dict_meter_init, dict_meter_update),
    right("6.3", dict_meter_init, dict_copy_meter_update),
    right("6.3", weak_count_meter_init, meter_update),
    right("6.3", uint32_meter_init, meter_update),
    right("6.3", meter_init, jitted_meter_update),
    wrong("6.2", "matches-reference", FrozenParticle, rounded_dt_step),
    wrong("6.1", "state-size", big_buffer_init, buffer_update, buffer_result),
    wrong("6.1", "state-width", int16_count_init, welford_update, welford_result),
    right("6.1", numpy_welford_init, welford_update, welford_result),
    wrong("6.1", "globals-unchanged", shapes_seen_init, welford_update, welford_result),
    wrong("6.2", "globals-unchanged", FrozenParticle, shape_logging_step),
    wrong("6.3", "globals-unchanged", shapes_seen_meter_init, tuple_meter_update),
]

test_known_answer = parametrize(CASES)
