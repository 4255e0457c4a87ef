"""The state doctor's bug gallery: functions as a learner writes them, and clean ones.

``BUGGY`` lists ``(kind, function, make_args)``: the doctor must report ``kind`` for the
function called with ``make_args()`` (a fresh tuple of arguments on every call), and no
other kind except the ones ``ALSO`` allows (true findings of the same mistake: a tracer
leaked into a global list is also a write outside the function). ``CLEAN``
lists ``(function, make_args)``: the doctor must stay silent. ``tests/test_doctor.py`` runs
them; chapter 14 shows some of them.
"""

from __future__ import annotations

import argparse
import dataclasses
import enum
import functools
import logging
import math
import os
import random
import time
import types
import warnings
from typing import Any, Callable, NamedTuple

import equinox as eqx
import flax.linen as nn
import jax
import jax.flatten_util
import jax.numpy as jnp
import jax.scipy.linalg
import jax.scipy.optimize
import jax.scipy.special
import numpy as np
import optax
from flax import nnx, struct
from flax.training import train_state
from jax import lax
from jax.experimental.ode import odeint

# mutates-input -------------------------------------------------------------------------


def normalize_inplace(x):
    """Standardises a NumPy array, in place."""
    x -= x.mean()
    x /= x.std()
    return x


def add_sample(buffer, sample):
    buffer.append(sample)
    return jnp.stack(buffer)


def sgd_step_inplace(params, grads):
    for name in params:
        params[name] = params[name] - 0.1 * grads[name]
    return params


class Accumulator:
    def __init__(self):
        self.total = 0.0


def accumulate(acc, x):
    acc.total = acc.total + 1.0
    return x * 2


def clip_inplace(x):
    np.clip(x, -1.0, 1.0, out=x)
    return x


# writes-outside ------------------------------------------------------------------------

n_calls = 0


def counted_square(x):
    global n_calls
    n_calls += 1
    return x**2


LOG = []


def logged_double(x):
    LOG.append("double called")
    return 2 * x


class Stats:
    calls = 0


def tally(x):
    Stats.calls += 1
    return jnp.sum(x)


def remember(x):
    remember.last_shape = x.shape
    return x + 1


metrics = {"steps": 0}


def train_step(w, x):
    metrics["steps"] += 1
    return w - 0.1 * x


settings = types.ModuleType("settings")  # as if `import settings`, a module of the reader's
settings.calls = 0
settings.decay = 0.9


def count_in_module(x):
    settings.calls += 1
    return x * 2


def decay_from_module(x):
    return x * settings.decay


# leaks-tracer ---------------------------------------------------------------------------

activations = []


def forward_stash(w, x):
    h = jnp.tanh(w * x)
    activations.append(h)  # kept "for debugging"
    return jnp.sum(h)


class Model:
    def __init__(self):
        self.last_hidden = None


model = Model()


def forward_keep(w, x):
    h = jnp.tanh(w * x)
    model.last_hidden = h
    return jnp.sum(h**2)


def make_tracking_loss():
    last = None

    def loss(w, x):
        nonlocal last
        last = w * x
        return jnp.mean(last**2)

    return loss


tracking_loss = make_tracking_loss()


# bakes-global ---------------------------------------------------------------------------

SCALE = 2.0


def scale(x):
    return x * SCALE


PARAMS = {"w": jnp.array([1.0, -2.0, 0.5]), "b": jnp.float32(0.1)}


def predict(x):
    return x @ PARAMS["w"] + PARAMS["b"]


class StateHolder:
    def __init__(self, value):
        self.value = value


holder = StateHolder(jnp.float32(1.0))


def add_state(x):
    return x + holder.value


class Config:
    learning_rate = 0.1


def sgd(w, g):
    return w - Config.learning_rate * g


def make_predictor():
    weights = {"w": jnp.float32(3.0)}

    def predictor(x):
        return weights["w"] * x

    return predictor


predictor = make_predictor()

training = True


def dropout_or_not(x):
    return x * 0.5 if training else x


# recompiles -----------------------------------------------------------------------------


def double_with_fresh_jit(x):
    return jax.jit(lambda y: 2 * y)(x)


def loss_inner_jit(w, x):
    @jax.jit
    def inner(w, x):
        return jnp.mean((w * x) ** 2)

    return inner(w, x)


@functools.partial(jax.jit, static_argnums=1)
def sgd_static_lr(w, lr):
    return w - lr * w


@functools.partial(jax.jit, static_argnums=1)
def decayed_update(w, step):
    return w * 0.99**step


@functools.partial(jax.jit, static_argnums=1)
def repeat_jitted(x, n):
    for _ in range(n):
        x = jnp.concatenate([x, x[:1]])
    return x


@functools.partial(jax.jit, static_argnums=1)
def power_static(x, n):
    for _ in range(n):
        x = x * x
    return x


@functools.partial(jax.tree_util.register_dataclass, data_fields=["w"], meta_fields=["step"])
@dataclasses.dataclass(frozen=True)
class CountedState:
    w: jax.Array
    step: int  # a static field: part of jit's cache key


def counted_update(state, g):
    return CountedState(w=state.w - 0.1 * g, step=state.step + 1)


def _power(x, p):
    return x**p


def power_with_partial(x):
    return jax.jit(functools.partial(_power, p=3))(x)


# not-deterministic ----------------------------------------------------------------------


def noisy(x):
    return x + np.random.normal(size=x.shape)


def jitter(x):
    return x * (1 + 0.01 * random.random())


def timestamped_noise(x):
    key = jax.random.key(time.perf_counter_ns())
    return x + jax.random.normal(key, x.shape)


# jit-differs ----------------------------------------------------------------------------


def center_big(x):
    """Removes a large offset: exact in float64, lost in float32."""
    return (x + 1e8) - 1e8


def shifted_sum(x):
    y = x * 1
    z = y  # an alias: NumPy's += changes y too, JAX's rebinds z
    z += 1
    return y + z


def in_millis(x):
    """Counts in thousandths: int64 in NumPy, int32 under jit (which wraps around)."""
    return x * 1_000_000


# reuses-key -----------------------------------------------------------------------------


def two_noises(key, x):
    a = jax.random.normal(key, x.shape)
    b = jax.random.normal(key, x.shape)
    return x + a * b


def split_but_reuse(key, x):
    k1, k2 = jax.random.split(key)
    noise = jax.random.normal(key, x.shape)
    mask = jax.random.bernoulli(k1, 0.5, x.shape)
    return jnp.where(mask, x + noise, x)


KEY = jax.random.key(42)


def global_key_noise(x):
    return x + jax.random.normal(KEY, x.shape)


def raw_key_reuse(key, x):
    return jax.random.uniform(key, x.shape) + jax.random.uniform(key, x.shape) * x


def loop_same_key(key, x):
    for _ in range(3):
        x = x + 0.1 * jax.random.normal(key, x.shape)
    return x


def fixed_seed_noise(x):
    key = jax.random.PRNGKey(0)  # "for reproducibility"
    return x + 0.1 * jax.random.normal(key, x.shape)


def seeded_sample(seed, n):
    return jax.random.normal(jax.random.key(seed), (n,))


# python-side-effect ---------------------------------------------------------------------


def loud_loss(w, x):
    loss = jnp.mean((w * x) ** 2)
    print("loss:", loss)
    return loss


logger = logging.getLogger("doctor_gallery")


def logged_step(w, g):
    logger.info("updating weights")
    return w - 0.1 * g


@jax.jit
def jitted_verbose(x):
    print("tracing with", x.shape)
    return x * 3


def warn_on_negative(x):
    logging.warning("checking the input")
    return jnp.abs(x)


# not-traceable --------------------------------------------------------------------------


def relu_if(x):
    if x > 0:
        return x
    return 0.0 * x


def to_python(x):
    return float(x.sum()) * 2


def numpy_inside(x):
    return np.sin(x) + 1


def keep_positive(x):
    return x[x > 0].sum()


def repeat_n(x, n):
    for _ in range(int(n)):
        x = x * 2
    return x


@jax.jit
def jitted_branch(x):
    if x.sum() > 0:
        return x
    return -x


def zero_first(x):
    x[0] = 0.0
    return x


def item_then_log(x):
    return jnp.log(x.max().item() + 1)


# clean ----------------------------------------------------------------------------------


def relu_where(x):
    return jnp.where(x > 0, x, 0.0)


def cumulative(xs):
    def body(total, x):
        total = total + x
        return total, total

    return lax.scan(body, jnp.float32(0.0), xs)


def dropout(key, x, rate):
    keep = jax.random.bernoulli(key, 1 - rate, x.shape)
    return jnp.where(keep, x / (1 - rate), 0.0)


def two_noises_split(key, x):
    k1, k2 = jax.random.split(key)
    return x + jax.random.normal(k1, x.shape) * jax.random.normal(k2, x.shape)


def raw_key_split(key, x):
    k1, k2 = jax.random.split(key)
    return x + jax.random.uniform(k1, x.shape) - jax.random.uniform(k2, x.shape)


class TrainState(NamedTuple):
    w: jax.Array
    step: jax.Array


def train_update(state, x):
    grad = jax.grad(lambda w: jnp.mean((w * x - 1.0) ** 2))(state.w)
    return TrainState(state.w - 0.1 * grad, state.step + 1)


@jax.tree_util.register_dataclass
@dataclasses.dataclass(frozen=True)
class Particle:
    position: jax.Array
    velocity: jax.Array


def move(p, dt):
    return dataclasses.replace(p, position=p.position + dt * p.velocity)


def repeat_static(x, n):
    for _ in range(n):
        x = x * 2
    return x


def zeros_like_shape(x, shape):
    return jnp.zeros(shape) + x.sum()


@jax.jit
def jitted_affine(x):
    return 2 * x + 1


def set_first(x):
    return jnp.asarray(x).at[0].set(1.0)


def make_sgd(lr):
    def update(w, g):
        return w - lr * g

    return update


sgd_closure = make_sgd(0.1)


def debug_printed(x):
    jax.debug.print("x = {}", x)
    return x * 2


def activate(x, kind="relu"):
    return jax.nn.relu(x) if kind == "relu" else jnp.tanh(x)


def fori_power(x):
    return lax.fori_loop(0, 3, lambda i, acc: acc * x, jnp.ones_like(x))


def halve_until_small(x):
    return lax.while_loop(lambda v: jnp.max(jnp.abs(v)) > 1.0, lambda v: v / 2, x)


def value_and_grad_step(params, x, y):
    def loss(p):
        return jnp.mean((p["w"] * x + p["b"] - y) ** 2)

    value, grads = jax.value_and_grad(loss)(params)
    new = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    return new, value


def copy_then_update(x):
    y = jnp.array(x, copy=True)
    return y.at[0].add(1.0)


def vmapped_norms(xs):
    return jax.vmap(jnp.linalg.norm)(xs)


def cond_branch(x):
    return lax.cond(x.sum() > 0, lambda v: v * 2, lambda v: -v, x)



# more, in the styles the hidden sets may use ----------------------------------------------


@dataclasses.dataclass
class OptState:
    step: int
    lr: float


def opt_step_mutates(state, g):
    state.step += 1
    return g * state.lr


def halve_lr(cfg, x):
    cfg["opt"]["lr"] *= 0.5
    return x * cfg["opt"]["lr"]


scan_log = []


def scan_with_log(xs):
    def body(total, x):
        scan_log.append(total)
        return total + x, total

    return lax.scan(body, jnp.float32(0.0), xs)


lr = 0.1


def _shrink(w):
    return w * lr


def weight_decay(w):
    return w - _shrink(w)


class WalkState(NamedTuple):
    position: jax.Array
    key: jax.Array


def walk_step(state, scale):
    key, sub = jax.random.split(state.key)
    return WalkState(state.position + scale * jax.random.normal(sub, state.position.shape), key)


def walk_step_keeps_key(state, scale):
    noise = jax.random.normal(state.key, state.position.shape)
    return WalkState(state.position + scale * noise, state.key)


def sample_and_return_key(key, x):
    return x + jax.random.normal(key, x.shape), key


def is_traced(x):
    if isinstance(x, jax.core.Tracer):
        return x * 2
    return x * 3

def scale_all_inplace(arrays, s):
    """NumPy arrays scaled in place (under jax.jit, `a *= s` only rebinds `a`)."""
    for a in arrays:
        a *= s
    return jnp.stack(arrays)


def pick_random_row(x):
    i = np.random.randint(0, x.shape[0])  # two calls may agree: the doctor calls again
    return x[i]


_generator = np.random.default_rng(0)


def generator_noise(x):
    return x + _generator.normal(size=x.shape).astype(np.float32)


class Scaled:
    def __init__(self):
        self.factor = 2.0

    @functools.partial(jax.jit, static_argnums=0)
    def apply(self, x):
        return x * self.factor


scaled = Scaled()


def fold_in_twice(key, x):
    a = jax.random.normal(jax.random.fold_in(key, 0), x.shape)
    b = jax.random.normal(jax.random.fold_in(key, 0), x.shape)
    return x + a - b


@dataclasses.dataclass(frozen=True)
class FrozenScaler:
    factor: float
    __name__ = "FrozenScaler"  # (scripts/bench.py names each gallery function by __name__)

    def __call__(self, x):
        return x * self.factor


_unused_generator = np.random.default_rng(1)


def noise_if_asked(x, noisy=False):
    return x + _unused_generator.normal() if noisy else x * 2


def fold_in_steps(key, x):
    a = jax.random.normal(jax.random.fold_in(key, 0), x.shape)
    return x + a + jax.random.normal(jax.random.fold_in(key, 1), x.shape)


class Linear:
    """A layer object that is never changed: its method reads `self`, its first argument."""

    __name__ = "Linear"  # (scripts/bench.py names each gallery function by __name__)

    def __init__(self):
        self.w = jnp.array([1.0, 2.0, 3.0])
        self.b = jnp.float32(0.5)

    def __call__(self, x):
        return self.w * x + self.b

    def apply(self, x):
        return jnp.tanh(self(x))


linear = Linear()


class StepCounter:
    def __init__(self):
        self.count = 0
        self.w = jnp.ones(3)

    def step(self, x):
        self.count += 1
        return self.w * x


step_counter = StepCounter()


@jax.jit
def warns_when_traced(x):
    warnings.warn("taking the slow path")  # once per trace, like print
    return x + 1


def marks_environment(x):
    os.environ["PURESTATE_GALLERY_LAST"] = "called"
    return x * 2


def seeded_locally(x):
    rng = np.random.default_rng(0)  # a new generator, same seed: the same numbers every call
    return x + rng.normal(size=x.shape).astype(np.float32)


@functools.lru_cache(maxsize=None)
def _causal_mask(n):
    return np.tril(np.ones((n, n), np.float32))


def causal(x):
    return x * _causal_mask(x.shape[0])


def _sine(x):
    return jnp.sin(x) * 2


def jit_of_module_function(x):
    return jax.jit(_sine)(x)  # a new jax.jit of the same function: JAX's cache is keyed on it


@jax.jit
def noise_drawn_when_traced(x):
    return x + np.random.normal(size=x.shape).astype(np.float32)  # one draw, baked in


MIX = [0.2, 0.8]


def mix_from_list(x):
    return MIX[0] * x + MIX[1]


def scaled_by_default(x, gain=SCALE):
    return x * gain  # the default was read once, when the function was defined


class CountedTuple(NamedTuple):
    w: jax.Array
    step: int  # a leaf: jax.jit traces it as a weakly typed int


def tuple_step(state, g):
    return CountedTuple(state.w - 0.1 * g, state.step + 1)


def raw_key_in_state(state):
    noise = jax.random.normal(state["rng"], (2,))  # a raw PRNGKey, returned as it came
    return {"rng": state["rng"], "x": state["x"] + noise}


def raw_key_threaded(state):
    rng, sub = jax.random.split(state["rng"])
    return {"rng": rng, "x": state["x"] + jax.random.normal(sub, (2,))}


@functools.partial(jax.jit, static_argnums=1)
def warmup(w, step_idx):
    return w * jnp.minimum(1.0, step_idx / 100)


class Activation:
    def apply(self, x):
        return jnp.tanh(x)


activation = Activation()


def jit_of_method_each_call(x):
    return jax.jit(activation.apply)(x)  # a new bound method object on every call: a new cache


@jax.jit
def clock_scaled(x):
    return x * (time.time() % 1.0)  # read once, while tracing


def fill_after_sum(x):
    total = x.sum()
    x.fill(0.0)  # NumPy's in-place fill; a JAX array (a tracer) has no fill
    return total


RECENT = set()


def remember_shape(x):
    RECENT.add(x.shape)
    return x * 2


def turns_on_x64(x):
    jax.config.update("jax_enable_x64", True)  # "for precision": changes JAX for everyone
    return x * 2


cli = argparse.Namespace(lr=0.1)  # as parser.parse_args() returns it


def sgd_from_cli(w, g):
    return w - cli.lr * g


CHANNEL_MEAN = (0.485, 0.456, 0.406)


def normalise_channels(x):
    return x - jnp.asarray(CHANNEL_MEAN)


TEMPERATURE = 2.0


@jax.jit
def _soften(x):
    return x / TEMPERATURE  # baked into this jit's trace, even when called from plain code


def soften_scores(x):
    return jax.nn.softmax(_soften(x))


def batched_totals_fresh_jit(xs):
    return jax.jit(jax.vmap(jnp.sum))(xs)  # a new vmap, so a new jit cache, on every call


@functools.partial(jax.jit, static_argnames="step")
def _decay_at(w, step):
    return w * 0.9**step


def decayed(w, step):
    return _decay_at(w, step=step)  # the counter reaches a static argument of a helper


@functools.partial(jax.jit, static_argnums=1)
def _scaled_by(x, factor):
    return x * factor


def scale_by_static_helper(x, factor):
    return _scaled_by(x, factor)


def seeded_by_clock(x):
    key = jax.random.key(int(time.time()))  # the same key for a whole second
    return x + jax.random.normal(key, x.shape)


SLOPE = 0.1


def _leaky(x):
    return jnp.where(x > 0, x, SLOPE * x)


def _dense(w, x):
    return _leaky(w * x)


def _block(w, x):
    return _dense(w, x) + x


class Network:
    """The global is read four calls down: method, block, dense layer, activation."""

    def __init__(self):
        self.w = jnp.array([1.0, 2.0, 3.0])

    def forward(self, x):
        return _block(self.w, x) * 2


network = Network()


@jax.jit
def _announced(x):
    print("compiling the helper")  # runs while _announced is traced: on the first call only
    return x * 2


def calls_announcing_helper(x):
    return _announced(x) + 1


quiet_logger = logging.getLogger("doctor_gallery.private")
quiet_logger.propagate = False  # a handler of its own, nothing reaches the root logger
quiet_logger.addHandler(logging.NullHandler())
quiet_logger.setLevel(logging.INFO)


def logs_privately(x):
    quiet_logger.info("step taken")
    return x - 1


class Gain:
    factor = 2.0  # a class-level default, read through `self`: the object's own data

    def apply(self, x):
        return x * self.factor


gain = Gain()


class Momentum:
    beta = 0.9

    def step(self, velocity, g):
        return Momentum.beta * velocity + g  # the class named: a global, shared by every object


momentum = Momentum()


def scale_from_environment(x):
    return x * float(os.environ.get("GALLERY_SCALE", "2.0"))  # read while traced


OFFSET = jnp.float32(0.5)


def _offset_loss(b, x):
    return jnp.mean((x + b - OFFSET) ** 2)


offset_grad = jax.grad(_offset_loss)  # the doctor is given JAX's wrapper, not the function


def loud_formatted_loss(w, x):
    loss = jnp.mean((w * x) ** 2)
    print(f"loss {loss:.4f}")  # fails under jit (a tracer has no value to format)
    return loss


def loud_item_loss(w, x):
    loss = jnp.mean((w * x) ** 2)
    print("loss", loss.item())
    return loss


@functools.partial(jax.jit, static_argnums=1)
def per_batch_scale(w, batch_idx):
    return w * 0.99**batch_idx


def zeros_shaped_like_double(x):
    return jnp.zeros(jax.eval_shape(lambda v: v * 2, x).shape)  # traces the lambda, compiles nothing


def quiet_log(x):
    np.seterr(divide="ignore")  # silences NumPy for the rest of the program, not just here
    return jnp.log(x)


CLIP_AT = 3.0


@jax.custom_jvp
def _soft_clip(x):
    return jnp.tanh(x / CLIP_AT) * CLIP_AT


@_soft_clip.defjvp
def _soft_clip_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return _soft_clip(x), t * (1 - jnp.tanh(x / CLIP_AT) ** 2)


def soft_clipped(x):
    return _soft_clip(x) * 2


class Thermostat:
    @property
    def setpoint(self):
        return TARGET_TEMPERATURE  # a global behind a property

    def error(self, x):
        return x - self.setpoint


TARGET_TEMPERATURE = 21.5
thermostat = Thermostat()


AUDIT = []


def _audit(x):
    AUDIT.append("seen")  # six calls down from the function the doctor is given
    return x


def _layer1(x):
    return _audit(x) * 1.0


def _layer2(x):
    return _layer1(x) + 0.0


def _layer3(x):
    return _layer2(x) * 1.0


def _layer4(x):
    return _layer3(x) + 0.0


def _layer5(x):
    return _layer4(x) * 1.0


def audited_model(x):
    return _layer5(x) * 2


def rarely_flipped(x):
    if np.random.rand() < 0.05:  # an augmentation applied one time in twenty
        return x[::-1]
    return x


_means = {}


def centre_with_cached_mean(x):
    if x.shape not in _means:  # "the mean only needs computing once per shape"
        _means[x.shape] = float(x.mean())
    return x - _means[x.shape]


class Projection:
    def __init__(self):
        self.w = jnp.array([1.0, 0.5, -1.0])

    @jax.jit  # `self` is not an array: jit cannot take it as data
    def apply(self, x):
        return self.w * x


projection = Projection()


def minibatches(data, size):
    """A generator function: the doctor compares (and jits) what it yields."""
    for start in range(0, data.shape[0], size):
        yield data[start : start + size]


def noisy_minibatches(data):
    for start in range(0, data.shape[0], 2):
        yield data[start : start + 2] + np.random.normal(size=2).astype(np.float32)


class Hyper:
    __slots__ = ("lr",)  # no __dict__: the settings live in slots

    def __init__(self, lr):
        self.lr = lr


hyper = Hyper(0.1)


def sgd_with_slots(w, g):
    return w - hyper.lr * g


def paired(a, b):
    return zip(a, b)  # an iterator: compared by what it yields


# the table ------------------------------------------------------------------------------

V3 = lambda: (jnp.array([0.5, -1.0, 2.0]),)  # noqa: E731



# more clean functions, as a course author writes them (issue: false findings) -------------
# Each ``_clean(fn, make_args, ...)`` adds rows to ``CLEAN``: the doctor must stay silent.

MORE_CLEAN = []


def _clean(fn, *makes):
    MORE_CLEAN.extend((fn, make) for make in makes)


_V = lambda: (jnp.array([0.5, -1.0, 2.0]),)  # noqa: E731
_K = lambda: jax.random.key(0)  # noqa: E731


# (c1) --------------------------------------------------------------------------------

def init_mlp(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [{"w": jax.random.normal(k, (m, n)) / jnp.sqrt(m), "b": jnp.zeros(n)}
            for k, m, n in zip(keys, sizes[:-1], sizes[1:])]
P = lambda: init_mlp(jax.random.key(1), [3, 4, 2])
X = lambda: jnp.ones((5, 3))
Y = lambda: jnp.zeros((5, 2))

@jax.jit
def mlp(params, x):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    last = params[-1]
    return x @ last["w"] + last["b"]
_clean(mlp, lambda: (P(), X()))

_clean(init_mlp, lambda: (_K(), [3, 4, 2]))

def mse(params, x, y):
    return jnp.mean((mlp(params, x) - y) ** 2)
_clean(mse, lambda: (P(), X(), Y()))

@jax.jit
def sgd_step(params, x, y, lr):
    loss, grads = jax.value_and_grad(mse)(params, x, y)
    params = jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads)
    return params, loss
_clean(sgd_step, lambda: (P(), X(), Y(), 0.1))

optimizer = optax.adam(1e-3)
def adam_step(params, opt_state, x, y):
    loss, grads = jax.value_and_grad(mse)(params, x, y)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
    return params, opt_state, loss
_clean(adam_step, lambda: (P(), optimizer.init(P()), X(), Y()))
_clean(jax.jit(adam_step), lambda: (P(), optimizer.init(P()), X(), Y()))

def make_step(opt):
    @jax.jit
    def step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(mse)(params, x, y)
        updates, opt_state = opt.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss
    return step
sgdm = optax.sgd(0.01, momentum=0.9)
_clean(make_step(sgdm), lambda: (P(), sgdm.init(P()), X(), Y()))
chain = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(1e-3, weight_decay=1e-4))
_clean(make_step(chain), lambda: (P(), chain.init(P()), X(), Y()))
sched = optax.warmup_cosine_decay_schedule(0.0, 1e-3, 10, 100)
opt_s = optax.adam(sched)
_clean(make_step(opt_s), lambda: (P(), opt_s.init(P()), X(), Y()))

def optax_step_passed(params, opt_state, x, y, opt):
    loss, grads = jax.value_and_grad(mse)(params, x, y)
    updates, opt_state = opt.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss
_clean(functools.partial(optax_step_passed, opt=optax.sgd(0.1)), lambda: (P(), optax.sgd(0.1).init(P()), X(), Y()))

@functools.partial(jax.jit, static_argnames=("n",))
def sample_normal(key, n):
    return jax.random.normal(key, (n,))
_clean(sample_normal, lambda: (_K(), 4))

def two_draws(key, x):
    k1, k2 = jax.random.split(key)
    return x + jax.random.normal(k1, x.shape), jax.random.uniform(k2, x.shape)
_clean(two_draws, lambda: (_K(), jnp.ones(3)))

def split_many(key, x):
    keys = jax.random.split(key, 4)
    return jnp.stack([jax.random.normal(k, x.shape) for k in keys])
_clean(split_many, lambda: (_K(), jnp.ones(2)))

def key_carry(key, x):
    key, sub = jax.random.split(key)
    x = x + 0.1 * jax.random.normal(sub, x.shape)
    return key, x
_clean(key_carry, lambda: (_K(), jnp.ones(3)))

def vmapped_noise(key, xs):
    keys = jax.random.split(key, xs.shape[0])
    return jax.vmap(lambda k, x: x + jax.random.normal(k, x.shape))(keys, xs)
_clean(vmapped_noise, lambda: (_K(), jnp.ones((3, 2))))

def dropout_train(key, x, rate):
    keep = jax.random.bernoulli(key, 1.0 - rate, x.shape)
    return jnp.where(keep, x / (1.0 - rate), 0.0)
_clean(dropout_train, lambda: (_K(), jnp.ones(6), 0.25))

def bernoulli_mask(key, p, shape):
    return jax.random.bernoulli(key, p, shape)
_clean(bernoulli_mask, lambda: (_K(), 0.3, (4,)))

def permute_rows(key, x):
    return jax.random.permutation(key, x, axis=0)
_clean(permute_rows, lambda: (_K(), jnp.arange(12.0).reshape(4, 3)))

def choice_idx(key, logits):
    return jax.random.categorical(key, logits)
_clean(choice_idx, lambda: (_K(), jnp.array([0.1, 0.5, -1.0])))

def gumbel_noise(key, shape):
    return jax.random.gumbel(key, shape)
_clean(gumbel_noise, lambda: (_K(), (3,)))

def fold_in_step(key, step, x):
    k = jax.random.fold_in(key, step)
    return x + jax.random.normal(k, x.shape)
_clean(fold_in_step, lambda: (_K(), 3, jnp.ones(2)))

def cumsum_scan(xs):
    def body(c, x):
        c = c + x
        return c, c
    return lax.scan(body, 0.0, xs)
_clean(cumsum_scan, _V)

def ema_scan(xs, decay):
    def body(m, x):
        m = decay * m + (1 - decay) * x
        return m, m
    return lax.scan(body, jnp.zeros(()), xs)[1]
_clean(ema_scan, lambda: (jnp.arange(5.0), 0.9))

def rnn(params, xs, h0):
    def cell(h, x):
        h = jnp.tanh(params["wh"] @ h + params["wx"] @ x + params["b"])
        return h, h
    return lax.scan(cell, h0, xs)
_clean(rnn, lambda: ({"wh": jnp.eye(2) * 0.5, "wx": jnp.ones((2, 3)), "b": jnp.zeros(2)}, jnp.ones((4, 3)), jnp.zeros(2)))

def random_walk(key, n):
    steps = jax.random.normal(key, (n,))
    return jnp.cumsum(steps)
_clean(random_walk, lambda: (_K(), 5))

def scan_with_keys(key, x0, n):
    def body(carry, k):
        x = carry + jax.random.normal(k, carry.shape)
        return x, x
    keys = jax.random.split(key, n)
    return lax.scan(body, x0, keys)
_clean(scan_with_keys, lambda: (_K(), jnp.zeros(2), 4))

def scan_key_in_carry(key, x0):
    def body(carry, _):
        k, x = carry
        k, sub = jax.random.split(k)
        x = x + jax.random.normal(sub, x.shape)
        return (k, x), x
    (k, x), xs = lax.scan(body, (key, x0), None, length=3)
    return k, xs
_clean(scan_key_in_carry, lambda: (_K(), jnp.zeros(2)))

def fori_sum(n, x):
    return lax.fori_loop(0, n, lambda i, acc: acc + x * i, jnp.zeros_like(x))
_clean(fori_sum, lambda: (4, jnp.ones(2)))

def newton_sqrt(a):
    def cond(state):
        x, i = state
        return (jnp.abs(x * x - a) > 1e-5) & (i < 50)
    def body(state):
        x, i = state
        return 0.5 * (x + a / x), i + 1
    return lax.while_loop(cond, body, (a, 0))[0]
_clean(newton_sqrt, lambda: (jnp.float32(2.0),))

def piecewise(x):
    return lax.cond(x > 0, lambda v: v * 2, lambda v: -v, x)
_clean(piecewise, lambda: (jnp.float32(1.5),))

def switch_act(i, x):
    return lax.switch(i, [jnp.sin, jnp.cos, jnp.tanh], x)
_clean(switch_act, lambda: (jnp.int32(1), jnp.ones(3)))

def select_where(x):
    return jnp.where(x > 0, jnp.log1p(x), jnp.expm1(x))
_clean(select_where, _V)

def batched_dot(a, b):
    return jax.vmap(jnp.dot)(a, b)
_clean(batched_dot, lambda: (jnp.ones((3, 2)), jnp.ones((3, 2))))

def per_example_grads(params, xs, ys):
    def loss(p, x, y):
        return jnp.sum((x @ p["w"] + p["b"] - y) ** 2)
    return jax.vmap(jax.grad(loss), in_axes=(None, 0, 0))(params, xs, ys)
_clean(per_example_grads, lambda: ({"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}, jnp.ones((4, 3)), jnp.zeros((4, 2))))

def pairwise_dist(x):
    return jax.vmap(lambda a: jax.vmap(lambda b: jnp.linalg.norm(a - b + 1e-9))(x))(x)
_clean(pairwise_dist, lambda: (jnp.arange(6.0).reshape(3, 2),))

def hessian_quad(x):
    return jax.hessian(lambda v: jnp.sum(v ** 3))(x)
_clean(hessian_quad, _V)

def jac(x):
    return jax.jacfwd(jnp.sin)(x)
_clean(jac, _V)

def jvp_fn(x, t):
    return jax.jvp(jnp.tanh, (x,), (t,))
_clean(jvp_fn, lambda: (jnp.ones(3), jnp.ones(3)))

def vjp_fn(x, ct):
    y, back = jax.vjp(jnp.exp, x)
    return y, back(ct)
_clean(vjp_fn, lambda: (jnp.ones(3), jnp.ones(3)))

@jax.custom_jvp
def safe_log(x):
    return jnp.log(jnp.maximum(x, 1e-12))
@safe_log.defjvp
def _safe_log_jvp(primals, tangents):
    (x,), (t,) = primals, tangents
    return safe_log(x), t / jnp.maximum(x, 1e-12)
_clean(safe_log, lambda: (jnp.array([1.0, 2.0]),))
_clean(jax.grad(lambda x: jnp.sum(safe_log(x))), lambda: (jnp.array([1.0, 2.0]),))

@jax.custom_vjp
def clip_grad(x):
    return x
def _cg_fwd(x):
    return x, None
def _cg_bwd(_, g):
    return (jnp.clip(g, -1.0, 1.0),)
clip_grad.defvjp(_cg_fwd, _cg_bwd)
_clean(jax.grad(lambda x: jnp.sum(clip_grad(x) * 5)), _V)

@jax.checkpoint
def heavy_block(x):
    return jnp.sin(jnp.cos(x)) * x
_clean(heavy_block, _V)
_clean(jax.grad(lambda x: jnp.sum(heavy_block(x))), _V)

def remat_mlp(params, x):
    f = jax.checkpoint(lambda p, h: jax.nn.gelu(h @ p["w"] + p["b"]))
    return f(params, x)
_clean(remat_mlp, lambda: ({"w": jnp.ones((3, 3)), "b": jnp.zeros(3)}, jnp.ones((2, 3))))

def softmax_ce(logits, labels):
    return -jnp.mean(jnp.sum(jax.nn.log_softmax(logits) * labels, axis=-1))
_clean(softmax_ce, lambda: (jnp.ones((2, 3)), jax.nn.one_hot(jnp.array([0, 2]), 3)))

def optax_ce(logits, labels):
    return optax.softmax_cross_entropy_with_integer_labels(logits, labels).mean()
_clean(optax_ce, lambda: (jnp.ones((2, 3)), jnp.array([0, 2])))

def one_hot_static(y, num_classes):
    return jax.nn.one_hot(y, num_classes)
_clean(one_hot_static, lambda: (jnp.array([0, 1, 2]), 4))

def layer_norm(x, eps=1e-5):
    mu = x.mean(-1, keepdims=True)
    var = x.var(-1, keepdims=True)
    return (x - mu) / jnp.sqrt(var + eps)
_clean(layer_norm, lambda: (jnp.arange(6.0).reshape(2, 3),))

def rms_norm(x, scale, eps=1e-6):
    return x * lax.rsqrt(jnp.mean(x ** 2, -1, keepdims=True) + eps) * scale
_clean(rms_norm, lambda: (jnp.ones((2, 3)), jnp.ones(3)))

def attention(q, k, v):
    s = q @ k.T / jnp.sqrt(q.shape[-1])
    return jax.nn.softmax(s, axis=-1) @ v
_clean(attention, lambda: (jnp.ones((3, 4)), jnp.ones((3, 4)), jnp.ones((3, 4))))

def causal_attention(q, k, v):
    n = q.shape[0]
    mask = jnp.tril(jnp.ones((n, n), bool))
    s = jnp.where(mask, q @ k.T, -jnp.inf)
    return jax.nn.softmax(s / math.sqrt(q.shape[-1]), axis=-1) @ v
_clean(causal_attention, lambda: (jnp.ones((3, 4)), jnp.ones((3, 4)), jnp.ones((3, 4))))

def gaussian_pdf(x, mu, sigma):
    return jnp.exp(-0.5 * ((x - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
_clean(gaussian_pdf, lambda: (jnp.ones(3), 0.0, 1.0))

def circle_area(r):
    return jnp.pi * r ** 2
_clean(circle_area, _V)

def deg2rad(x):
    return x * math.pi / 180.0
_clean(deg2rad, _V)

def np_shape_arith(x):
    n = int(np.prod(x.shape[1:]))
    return x.reshape(x.shape[0], n)
_clean(np_shape_arith, lambda: (jnp.ones((2, 3, 4)),))

def np_const_table(x):
    table = np.array([1.0, 2.0, 3.0], np.float32)
    return x * table
_clean(np_const_table, _V)

def flatten_params(params):
    flat, unravel = jax.flatten_util.ravel_pytree(params)
    return flat
_clean(flatten_params, lambda: (P(),))

def global_norm(tree):
    return jnp.sqrt(sum(jnp.sum(l ** 2) for l in jax.tree_util.tree_leaves(tree)))
_clean(global_norm, lambda: (P(),))

def clip_by_norm(grads, max_norm):
    n = optax.global_norm(grads)
    s = jnp.minimum(1.0, max_norm / (n + 1e-6))
    return jax.tree.map(lambda g: g * s, grads)
_clean(clip_by_norm, lambda: (P(), 1.0))

def zeros_like_tree(tree):
    return jax.tree.map(jnp.zeros_like, tree)
_clean(zeros_like_tree, lambda: (P(),))

def tree_add(a, b):
    return jax.tree.map(jnp.add, a, b)
_clean(tree_add, lambda: (P(), P()))

class MomentumConfig(NamedTuple):
    lr: float = 0.1
    momentum: float = 0.9

def momentum_step(params, velocity, grads, cfg):
    velocity = jax.tree.map(lambda v, g: cfg.momentum * v + g, velocity, grads)
    params = jax.tree.map(lambda p, v: p - cfg.lr * v, params, velocity)
    return params, velocity
_clean(momentum_step, lambda: (P(), zeros_like_tree(P()), P(), MomentumConfig()))

@dataclasses.dataclass(frozen=True)
class HParams:
    lr: float = 0.05
    wd: float = 1e-4

def wd_step(params, grads, hp):
    return jax.tree.map(lambda p, g: p - hp.lr * (g + hp.wd * p), params, grads)
_clean(wd_step, lambda: (P(), P(), HParams()))

@functools.partial(jax.jit, static_argnames=("hp",))
def wd_step_static(params, grads, hp):
    return jax.tree.map(lambda p, g: p - hp.lr * (g + hp.wd * p), params, grads)
_clean(wd_step_static, lambda: (P(), P(), HParams()))

def scaled_times(x, factor=2.0):
    return x * factor
_clean(functools.partial(scaled_times, factor=3.0), _V)
_clean(jax.jit(functools.partial(scaled_times, factor=0.5)), _V)

def power(x, n):
    return x ** n
_clean(jax.jit(power, static_argnums=1), lambda: (jnp.ones(2), 3))

def make_adder(c):
    def add(x):
        return x + c
    return add
_clean(make_adder(2.0), _V)
_clean(jax.jit(make_adder(jnp.ones(3))), _V)

def local_copy_update(x):
    y = x.copy()
    y[0] = 0.0
    return y

def local_list(xs):
    out = []
    for x in xs:
        out.append(x * 2)
    return out
_clean(local_list, lambda: ([jnp.ones(2), jnp.zeros(2)],))

def local_dict_update(params):
    new = dict(params)
    new["w"] = new["w"] * 2
    return new
_clean(local_dict_update, lambda: ({"w": jnp.ones(2), "b": jnp.zeros(2)},))

def at_set(x, i, v):
    return x.at[i].set(v)
_clean(at_set, lambda: (jnp.zeros(4), 1, 5.0))

def at_add_dupes(x, idx):
    return x.at[idx].add(1.0)
_clean(at_add_dupes, lambda: (jnp.zeros(4), jnp.array([0, 0, 2])))

def returns_dict(x):
    return {"mean": x.mean(), "std": x.std(), "max": x.max()}
_clean(returns_dict, _V)

def returns_tuple_nested(x):
    return (x, (x * 2, [x * 3]))
_clean(returns_tuple_nested, _V)

def batches(x, size):
    for i in range(0, x.shape[0], size):
        yield x[i:i + size]
_clean(batches, lambda: (jnp.arange(6.0), 2))

def gen_of_keys(key, n):
    for k in jax.random.split(key, n):
        yield jax.random.normal(k, (2,))
_clean(gen_of_keys, lambda: (_K(), 3))

@dataclasses.dataclass(frozen=True)
class LinearLayer:
    in_dim: int
    out_dim: int
    def init(self, key):
        return {"w": jax.random.normal(key, (self.in_dim, self.out_dim)), "b": jnp.zeros(self.out_dim)}
    def __call__(self, params, x):
        return x @ params["w"] + params["b"]
lin = LinearLayer(3, 2)
_clean(lin.init, lambda: (_K(),))
_clean(lin, lambda: ({"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}, jnp.ones((4, 3))))
_clean(lin.__call__, lambda: ({"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}, jnp.ones((4, 3))))

@jax.tree_util.register_dataclass
@dataclasses.dataclass
class State:
    params: dict
    step: jax.Array

def state_step(state, grads):
    params = jax.tree.map(lambda p, g: p - 0.1 * g, state.params, grads)
    return dataclasses.replace(state, params=params, step=state.step + 1)
_clean(state_step, lambda: (State({"w": jnp.ones(2)}, jnp.int32(0)), {"w": jnp.ones(2)}))

@jax.tree_util.register_pytree_node_class
class Box:
    def __init__(self, value):
        self.value = value
    def tree_flatten(self):
        return (self.value,), None
    @classmethod
    def tree_unflatten(cls, aux, children):
        return cls(*children)
def box_double(b):
    return Box(b.value * 2)
_clean(box_double, lambda: (Box(jnp.ones(2)),))

def int_ops(x, n):
    return jnp.tile(x, n), jnp.arange(n)
_clean(int_ops, lambda: (jnp.ones(2), 3))

def reshape_static(x, shape):
    return x.reshape(shape)
_clean(reshape_static, lambda: (jnp.arange(6.0), (2, 3)))

def top_k(x, k):
    return lax.top_k(x, k)
_clean(top_k, lambda: (jnp.array([3.0, 1.0, 2.0]), 2))

def sort_desc(x):
    return jnp.sort(x)[::-1]
_clean(sort_desc, _V)

def cumprod_scan(x):
    return lax.associative_scan(jnp.multiply, x)
_clean(cumprod_scan, _V)

def conv1d(x, w):
    return jnp.convolve(x, w, mode="same")
_clean(conv1d, lambda: (jnp.arange(5.0), jnp.array([0.25, 0.5, 0.25])))

def conv2d(x, w):
    return lax.conv_general_dilated(x, w, (1, 1), "SAME")
_clean(conv2d, lambda: (jnp.ones((1, 1, 4, 4)), jnp.ones((2, 1, 3, 3))))

def logsumexp(x):
    return jax.scipy.special.logsumexp(x)
_clean(logsumexp, _V)

def stop_grad_target(params, x, target_params):
    t = lax.stop_gradient(x @ target_params["w"])
    return jnp.mean((x @ params["w"] - t) ** 2)
_clean(stop_grad_target, lambda: ({"w": jnp.ones((3, 1))}, jnp.ones((2, 3)), {"w": jnp.zeros((3, 1))}))

def polyak(target, online, tau):
    return jax.tree.map(lambda t, o: (1 - tau) * t + tau * o, target, online)
_clean(polyak, lambda: (P(), P(), 0.005))

def batchnorm_train(x, state, momentum=0.9):
    mean = x.mean(0)
    var = x.var(0)
    new_state = {"mean": momentum * state["mean"] + (1 - momentum) * mean,
                 "var": momentum * state["var"] + (1 - momentum) * var}
    return (x - mean) / jnp.sqrt(var + 1e-5), new_state
_clean(batchnorm_train, lambda: (jnp.arange(6.0).reshape(3, 2), {"mean": jnp.zeros(2), "var": jnp.ones(2)}))

def counter_step(state):
    return {"count": state["count"] + 1, "total": state["total"] + 2.0}
_clean(counter_step, lambda: ({"count": jnp.int32(0), "total": jnp.float32(0.0)},))

def lr_schedule(step, base_lr, warmup):
    return base_lr * jnp.minimum(1.0, (step + 1) / warmup)
_clean(lr_schedule, lambda: (jnp.int32(3), 0.1, 10))

def cosine_lr(step, total):
    return 0.5 * (1 + jnp.cos(jnp.pi * step / total))
_clean(cosine_lr, lambda: (jnp.int32(5), 100))

def scan_train(params, xs, ys, lr):
    def body(p, batch):
        x, y = batch
        loss, g = jax.value_and_grad(lambda q: jnp.mean((x @ q - y) ** 2))(p)
        return p - lr * g, loss
    return lax.scan(body, params, (xs, ys))
_clean(scan_train, lambda: (jnp.ones(3), jnp.ones((4, 2, 3)), jnp.zeros((4, 2)), 0.1))

def value_and_aux(params, x):
    def loss(p):
        pred = x @ p
        return jnp.mean(pred ** 2), {"pred_mean": pred.mean()}
    (l, aux), g = jax.value_and_grad(loss, has_aux=True)(params)
    return l, aux, g
_clean(value_and_aux, lambda: (jnp.ones(3), jnp.ones((2, 3))))

def debug_print_loss(x):
    loss = jnp.sum(x ** 2)
    jax.debug.print("loss={l}", l=loss)
    return loss
_clean(debug_print_loss, _V)

def assert_shape(x):
    assert x.ndim == 1, "expects a vector"
    return x * 2
_clean(assert_shape, _V)

def shape_branch(x):
    if x.shape[0] > 2:
        return x[:2]
    return x
_clean(shape_branch, _V)

def dtype_branch(x):
    if jnp.issubdtype(x.dtype, jnp.integer):
        return x.astype(jnp.float32)
    return x
_clean(dtype_branch, _V)

def static_bool(x, training):
    return x * 0.5 if training else x
_clean(static_bool, lambda: (jnp.ones(2), True))

def mode_string(x, mode="sum"):
    return x.sum() if mode == "sum" else x.mean()
_clean(mode_string, lambda: (jnp.ones(2), "mean"))

def none_optional(x, mask=None):
    if mask is None:
        return x.sum()
    return (x * mask).sum()
_clean(none_optional, lambda: (jnp.ones(2),))
_clean(none_optional, lambda: (jnp.ones(2), jnp.array([1.0, 0.0])))

def kwargs_fn(x, *, scale):
    return x * scale


def star_args(*xs):
    return sum(xs)
_clean(star_args, lambda: (jnp.ones(2), jnp.ones(2), jnp.ones(2)))

def returns_none_and_value(x):
    return None, x + 1
_clean(returns_none_and_value, _V)

def returns_python_float(x):
    return float(jnp.sum(x))

def list_comp_layers(ws, x):
    for w in ws:
        x = jnp.tanh(x @ w)
    return x
_clean(list_comp_layers, lambda: ([jnp.eye(3), jnp.eye(3)], jnp.ones(3)))

def enumerate_weighted(xs):
    return sum(i * x for i, x in enumerate(xs))
_clean(enumerate_weighted, lambda: ([jnp.ones(2), jnp.ones(2)],))

def int_key_seed(seed, n):
    key = jax.random.key(seed)
    return jax.random.normal(key, (n,))
_clean(int_key_seed, lambda: (3, 2))

def new_key_data(key):
    return jax.random.key_data(jax.random.split(key)[0])
_clean(new_key_data, lambda: (_K(),))

def key_wrap(raw):
    key = jax.random.wrap_key_data(raw)
    return jax.random.uniform(key, (2,))
_clean(key_wrap, lambda: (jax.random.key_data(_K()),))

def legacy_prngkey(key):
    k1, k2 = jax.random.split(key)
    return jax.random.normal(k1, (2,)), k2
_clean(legacy_prngkey, lambda: (jax.random.PRNGKey(42),))

def ensemble_init(key, n):
    return jax.vmap(lambda k: jax.random.normal(k, (3,)))(jax.random.split(key, n))
_clean(ensemble_init, lambda: (_K(), 4))

def mixture(key, weights, means):
    k1, k2 = jax.random.split(key)
    comp = jax.random.categorical(k1, jnp.log(weights))
    return means[comp] + jax.random.normal(k2)
_clean(mixture, lambda: (_K(), jnp.array([0.3, 0.7]), jnp.array([-1.0, 1.0])))

def reparam(key, mu, log_sigma):
    eps = jax.random.normal(key, mu.shape)
    return mu + jnp.exp(log_sigma) * eps
_clean(reparam, lambda: (_K(), jnp.zeros(2), jnp.zeros(2)))

def vae_loss(params, key, x):
    mu, logvar = x @ params["mu"], x @ params["lv"]
    z = mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape)
    kl = -0.5 * jnp.sum(1 + logvar - mu ** 2 - jnp.exp(logvar))
    return jnp.sum((z - 1) ** 2) + kl
_clean(vae_loss, lambda: ({"mu": jnp.ones((3, 2)), "lv": jnp.zeros((3, 2))}, _K(), jnp.ones(3)))
_clean(jax.grad(vae_loss), lambda: ({"mu": jnp.ones((3, 2)), "lv": jnp.zeros((3, 2))}, _K(), jnp.ones(3)))

def sgld(key, params, grads, lr):
    noise = jax.random.normal(key, params.shape)
    return params - lr * grads + jnp.sqrt(2 * lr) * noise
_clean(sgld, lambda: (_K(), jnp.ones(3), jnp.ones(3), 0.01))

def epsilon_greedy(key, q, eps):
    k1, k2 = jax.random.split(key)
    explore = jax.random.uniform(k1) < eps
    rand_a = jax.random.randint(k2, (), 0, q.shape[0])
    return jnp.where(explore, rand_a, jnp.argmax(q))
_clean(epsilon_greedy, lambda: (_K(), jnp.array([0.1, 0.9, 0.3]), 0.1))

def discounted_returns(rewards, gamma):
    def body(g, r):
        g = r + gamma * g
        return g, g
    _, out = lax.scan(body, 0.0, rewards, reverse=True)
    return out
_clean(discounted_returns, lambda: (jnp.ones(4), 0.99))

def gae(rewards, values, gamma, lam):
    deltas = rewards + gamma * values[1:] - values[:-1]
    def body(a, d):
        a = d + gamma * lam * a
        return a, a
    return lax.scan(body, 0.0, deltas, reverse=True)[1]
_clean(gae, lambda: (jnp.ones(3), jnp.zeros(4), 0.99, 0.95))

def euler(x0, dt, n):
    def body(x, _):
        x = x + dt * (-x)
        return x, x
    return lax.scan(body, x0, None, length=n)[1]
_clean(euler, lambda: (jnp.ones(2), 0.1, 5))

def leapfrog(q, p, dt, n):
    def body(i, qp):
        q, p = qp
        p = p - 0.5 * dt * q
        q = q + dt * p
        p = p - 0.5 * dt * q
        return q, p
    return lax.fori_loop(0, n, body, (q, p))
_clean(leapfrog, lambda: (jnp.ones(2), jnp.zeros(2), 0.1, 10))

def gd_while(x0, lr, tol):
    g = jax.grad(lambda x: jnp.sum((x - 3.0) ** 2))
    def cond(s):
        x, i = s
        return (jnp.linalg.norm(g(x)) > tol) & (i < 100)
    def body(s):
        x, i = s
        return x - lr * g(x), i + 1
    return lax.while_loop(cond, body, (x0, 0))
_clean(gd_while, lambda: (jnp.zeros(2), 0.1, 1e-3))

def kmeans_step(x, centroids):
    d = jnp.sum((x[:, None] - centroids[None]) ** 2, -1)
    assign = jnp.argmin(d, 1)
    onehot = jax.nn.one_hot(assign, centroids.shape[0])
    counts = onehot.sum(0)[:, None]
    return (onehot.T @ x) / jnp.maximum(counts, 1.0)
_clean(kmeans_step, lambda: (jnp.arange(8.0).reshape(4, 2), jnp.array([[0.0, 0.0], [5.0, 5.0]])))

def segment_means(data, ids, n):
    s = jax.ops.segment_sum(data, ids, num_segments=n)
    c = jax.ops.segment_sum(jnp.ones_like(data), ids, num_segments=n)
    return s / jnp.maximum(c, 1)
_clean(segment_means, lambda: (jnp.arange(4.0), jnp.array([0, 1, 0, 1]), 2))

def histogram_bincount(x, n):
    return jnp.bincount(x, length=n)
_clean(histogram_bincount, lambda: (jnp.array([0, 1, 1, 3]), 5))

def accuracy(logits, labels):
    return jnp.mean(jnp.argmax(logits, -1) == labels)
_clean(accuracy, lambda: (jnp.eye(3), jnp.array([0, 1, 1])))

def masked_mean(x, mask):
    return jnp.sum(x * mask) / jnp.maximum(jnp.sum(mask), 1)
_clean(masked_mean, lambda: (jnp.ones(3), jnp.array([1.0, 0.0, 1.0])))

def l2_reg(params, lam):
    return lam * sum(jnp.sum(p ** 2) for p in jax.tree_util.tree_leaves(params))
_clean(l2_reg, lambda: (P(), 1e-4))

def huber(x, delta=1.0):
    a = jnp.abs(x)
    return jnp.where(a < delta, 0.5 * x ** 2, delta * (a - 0.5 * delta))
_clean(huber, _V)

def pmap_free_psum(x):
    return jax.vmap(lambda v: lax.psum(v, "i"), axis_name="i")(x)
_clean(pmap_free_psum, lambda: (jnp.arange(4.0),))

def named_vmap_mean(x):
    return jax.vmap(lambda v: v - lax.pmean(v, "b"), axis_name="b")(x)
_clean(named_vmap_mean, lambda: (jnp.arange(4.0),))

def eval_shape_only(x):
    return jax.eval_shape(jnp.sin, x).shape
_clean(eval_shape_only, _V)

def uses_jnp_constants(x):
    return jnp.clip(x, -jnp.inf, jnp.inf) + jnp.e * 0
_clean(uses_jnp_constants, _V)

def finfo_eps(x):
    return x + jnp.finfo(x.dtype).eps
_clean(finfo_eps, _V)

def np_float_literal(x):
    return x * np.float32(0.5) + np.pi
_clean(np_float_literal, _V)

def sigmoid_bce(logits, y):
    return optax.sigmoid_binary_cross_entropy(logits, y).mean()
_clean(sigmoid_bce, lambda: (jnp.zeros(3), jnp.ones(3)))

def nn_funcs(x):
    return jax.nn.silu(x) + jax.nn.softplus(x) + jax.nn.sigmoid(x) + jax.nn.elu(x) + jax.nn.leaky_relu(x)
_clean(nn_funcs, _V)

def init_glorot(key, shape):
    return jax.nn.initializers.glorot_uniform()(key, shape)
_clean(init_glorot, lambda: (_K(), (3, 2)))

def he_init(key, fan_in, fan_out):
    return jax.random.normal(key, (fan_in, fan_out)) * jnp.sqrt(2.0 / fan_in)
_clean(he_init, lambda: (_K(), 3, 2))

def tree_structure_equal(a, b):
    return jax.tree.structure(a) == jax.tree.structure(b)
_clean(tree_structure_equal, lambda: (P(), P()))

def count_params(params):
    return sum(x.size for x in jax.tree.leaves(params))
_clean(count_params, lambda: (P(),))

def string_format_return(x):
    return f"shape={x.shape}"

def lax_map_sq(xs):
    return lax.map(lambda v: v ** 2, xs)
_clean(lax_map_sq, _V)

def dynamic_slice(x, i):
    return lax.dynamic_slice(x, (i,), (2,))
_clean(dynamic_slice, lambda: (jnp.arange(5.0), jnp.int32(1)))

def dyn_update(x, v, i):
    return lax.dynamic_update_slice(x, v, (i,))
_clean(dyn_update, lambda: (jnp.zeros(5), jnp.ones(2), jnp.int32(2)))

def ring_buffer_push(buf, idx, x):
    buf = buf.at[idx % buf.shape[0]].set(x)
    return buf, idx + 1
_clean(ring_buffer_push, lambda: (jnp.zeros((3, 2)), jnp.int32(0), jnp.ones(2)))

def replay_sample(key, buffer, size, batch):
    idx = jax.random.randint(key, (batch,), 0, size)
    return buffer[idx]
_clean(replay_sample, lambda: (_K(), jnp.arange(10.0), jnp.int32(5), 3))

def astype_bf16(x):
    return x.astype(jnp.bfloat16).astype(jnp.float32)
_clean(astype_bf16, _V)

def complex_fft(x):
    return jnp.abs(jnp.fft.rfft(x))
_clean(complex_fft, lambda: (jnp.arange(8.0),))

def linalg_solve(a, b):
    return jnp.linalg.solve(a, b)
_clean(linalg_solve, lambda: (jnp.eye(2) * 2, jnp.ones(2)))

def einsum_bilinear(x, w, y):
    return jnp.einsum("i,ij,j->", x, w, y)
_clean(einsum_bilinear, lambda: (jnp.ones(2), jnp.eye(2), jnp.ones(2)))

def bound_method_np(x):
    return np.asarray(x).sum()

def python_list_input_sum(xs):
    return jnp.asarray(xs).sum()
_clean(python_list_input_sum, lambda: ([1.0, 2.0, 3.0],))

def step_arg_named_step(params, step):
    lr = 0.1 / (1 + step)
    return params * (1 - lr)
_clean(step_arg_named_step, lambda: (jnp.ones(2), jnp.int32(3)))

def epoch_float_step(params, step):
    return params * jnp.exp(-0.01 * step)
_clean(epoch_float_step, lambda: (jnp.ones(2), 5))


# (c2) --------------------------------------------------------------------------------
R = lambda n=1000: (jax.random.normal(jax.random.key(3), (n,)),)

# numerics: jit vs eager
def big_sum_sq(x):
    return jnp.sum(x ** 2)
_clean(big_sum_sq, R)
def softmax_big(x):
    return jax.nn.softmax(x * 10)
_clean(softmax_big, R)
def var_big(x):
    return jnp.var(x), jnp.std(x)
_clean(var_big, lambda: (jax.random.normal(jax.random.key(1), (1000,)) + 1000.0,))
def cancel(x):
    return jnp.exp(x) - jnp.exp(x * (1 + 1e-7))
_clean(cancel, R)
def logcosh(x):
    return jnp.log(jnp.cosh(x))
_clean(logcosh, R)
def gelu_tanh(x):
    return jax.nn.gelu(x, approximate=True) - x * 0.5
_clean(gelu_tanh, R)
def matmul_chain(a):
    return a @ a @ a
_clean(matmul_chain, lambda: (jax.random.normal(jax.random.key(2), (32, 32)),))
def inv(a):
    return jnp.linalg.inv(a)
_clean(inv, lambda: (jax.random.normal(jax.random.key(2), (8, 8)),))
def eigh(a):
    return jnp.linalg.eigh(a @ a.T)[0]
_clean(eigh, lambda: (jax.random.normal(jax.random.key(2), (6, 6)),))
def erf_diff(x):
    return jax.scipy.special.erf(x) - jnp.tanh(x)
_clean(erf_diff, R)
def cumsum_big(x):
    return jnp.cumsum(x)
_clean(cumsum_big, lambda: (jax.random.normal(jax.random.key(3), (5000,)),))
def mlp_big(params, x):
    h = jnp.tanh(x @ params[0])
    return jnp.sum(h @ params[1])
_clean(mlp_big, lambda: ([jax.random.normal(jax.random.key(4), (64, 128)), jax.random.normal(jax.random.key(5), (128, 10))], jax.random.normal(jax.random.key(6), (16, 64))))
_clean(jax.grad(mlp_big), lambda: ([jax.random.normal(jax.random.key(4), (64, 128)), jax.random.normal(jax.random.key(5), (128, 10))], jax.random.normal(jax.random.key(6), (16, 64))))
def sigmoid_sub(x):
    return jax.nn.sigmoid(x) - 0.5
_clean(sigmoid_sub, lambda: (jnp.array([1e-4, -1e-4, 0.0]),))
def rel_err(x, y):
    return jnp.abs(x - y) / jnp.abs(y)
_clean(rel_err, lambda: (jnp.array([1.0, 2.0]), jnp.array([1.0000001, 2.0])))

# NaN / inf outputs
def log_neg(x):
    return jnp.log(x)
_clean(log_neg, _V)
def div_zero(x):
    return x / 0.0
_clean(div_zero, _V)
def sqrt_neg(x):
    return jnp.sqrt(x)
_clean(sqrt_neg, _V)
def nan_mean(x):
    return jnp.nanmean(jnp.where(x > 0, x, jnp.nan))
_clean(nan_mean, _V)
def ints_overflow(x):
    return x * 1000000
_clean(ints_overflow, lambda: (jnp.array([3000, -5000], jnp.int32),))
def int_div(x):
    return x // 3, x % 3
_clean(int_div, lambda: (jnp.array([-7, 7]),))

# globals that are not numbers
ACTIVATIONS = {"relu": jax.nn.relu, "tanh": jnp.tanh}
def act_by_name(x, name):
    return ACTIVATIONS[name](x)
_clean(act_by_name, lambda: (jnp.ones(2), "relu"))
global_activation = jax.nn.gelu
def uses_global_fn(x):
    return global_activation(x)
_clean(uses_global_fn, _V)
DTYPE = jnp.float32
def cast_global_dtype(x):
    return x.astype(DTYPE)
_clean(cast_global_dtype, _V)
adamw_opt = optax.adamw(3e-4)
def global_opt(params, state, grads):
    updates, state = adamw_opt.update(grads, state, params)
    return optax.apply_updates(params, updates), state
_clean(global_opt, lambda: (jnp.ones(3), adamw_opt.init(jnp.ones(3)), jnp.ones(3)))
_clean(jax.jit(global_opt), lambda: (jnp.ones(3), adamw_opt.init(jnp.ones(3)), jnp.ones(3)))
tx = optax.chain(optax.clip(1.0), optax.scale_by_adam(), optax.scale(-1e-3))
def global_chain(params, state, grads):
    updates, state = tx.update(grads, state)
    return optax.apply_updates(params, updates), state
_clean(global_chain, lambda: (jnp.ones(3), tx.init(jnp.ones(3)), jnp.ones(3)))
decay_sched = optax.exponential_decay(0.1, 100, 0.9)
def lr_at(step):
    return decay_sched(step)
_clean(lr_at, lambda: (jnp.int32(5),))

class MLP(nn.Module):
    features: tuple = (4, 2)
    @nn.compact
    def __call__(self, x):
        for f in self.features[:-1]:
            x = nn.relu(nn.Dense(f)(x))
        return nn.Dense(self.features[-1])(x)
flax_mlp = MLP()
fparams = flax_mlp.init(jax.random.key(0), jnp.ones((1, 3)))
def flax_apply(params, x):
    return flax_mlp.apply(params, x)
_clean(flax_apply, lambda: (fparams, jnp.ones((2, 3))))
_clean(flax_mlp.apply, lambda: (fparams, jnp.ones((2, 3))))
def flax_loss(params, x, y):
    return jnp.mean((flax_mlp.apply(params, x) - y) ** 2)
_clean(jax.jit(jax.value_and_grad(flax_loss)), lambda: (fparams, jnp.ones((2, 3)), jnp.zeros((2, 2))))
_clean(flax_mlp.init, lambda: (_K(), jnp.ones((1, 3))))

class DropMLP(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Dense(4)(x)
        x = nn.Dropout(0.5, deterministic=not train)(x)
        return nn.Dense(1)(x)
dm = DropMLP()
dparams = dm.init(jax.random.key(0), jnp.ones((1, 3)), False)
def flax_dropout(params, x, key):
    return dm.apply(params, x, True, rngs={"dropout": key})
_clean(flax_dropout, lambda: (dparams, jnp.ones((2, 3)), _K()))

class BNNet(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool):
        x = nn.Dense(4)(x)
        return nn.BatchNorm(use_running_average=not train)(x)
bn = BNNet()
bvars = bn.init(jax.random.key(0), jnp.ones((2, 3)), False)
def flax_bn_train(variables, x):
    y, updates = bn.apply(variables, x, True, mutable=["batch_stats"])
    return y, updates
_clean(flax_bn_train, lambda: (bvars, jnp.arange(6.0).reshape(2, 3)))

def make_ts():
    return train_state.TrainState.create(apply_fn=flax_mlp.apply, params=fparams, tx=optax.sgd(0.1))
def ts_step(state, x, y):
    def loss(p):
        return jnp.mean((state.apply_fn(p, x) - y) ** 2)
    l, g = jax.value_and_grad(loss)(state.params)
    return state.apply_gradients(grads=g), l
_clean(ts_step, lambda: (make_ts(), jnp.ones((2, 3)), jnp.zeros((2, 2))))
_clean(jax.jit(ts_step), lambda: (make_ts(), jnp.ones((2, 3)), jnp.zeros((2, 2))))

# equinox
emlp = eqx.nn.MLP(3, 2, 8, 2, key=jax.random.key(0))
def eqx_forward(m, x):
    return jax.vmap(m)(x)
_clean(eqx_forward, lambda: (emlp, jnp.ones((4, 3))))
@eqx.filter_jit
def eqx_loss(m, x, y):
    return jnp.mean((jax.vmap(m)(x) - y) ** 2)
_clean(eqx_loss, lambda: (emlp, jnp.ones((4, 3)), jnp.zeros((4, 2))))
@eqx.filter_jit
def eqx_step(m, opt_state, x, y):
    l, g = eqx.filter_value_and_grad(lambda mm: jnp.mean((jax.vmap(mm)(x) - y) ** 2))(m)
    updates, opt_state = eopt.update(g, opt_state, eqx.filter(m, eqx.is_array))
    return eqx.apply_updates(m, updates), opt_state, l
eopt = optax.adam(1e-3)
_clean(eqx_step, lambda: (emlp, eopt.init(eqx.filter(emlp, eqx.is_array)), jnp.ones((4, 3)), jnp.zeros((4, 2))))
class Lin(eqx.Module):
    w: jax.Array
    b: jax.Array
    def __call__(self, x):
        return x @ self.w + self.b
elin = Lin(jnp.ones((3, 2)), jnp.zeros(2))
_clean(elin, lambda: (jnp.ones(3),))
_clean(elin.__call__, lambda: (jnp.ones(3),))
def call_module(m, x):
    return m(x)
_clean(call_module, lambda: (elin, jnp.ones(3)))
class ScaledModule(eqx.Module):
    scale: float = eqx.field(static=True)
    w: jax.Array
    def __call__(self, x):
        return self.scale * (x @ self.w)
_clean(call_module, lambda: (ScaledModule(2.0, jnp.eye(3)), jnp.ones(3)))
_clean(eqx.nn.Linear(3, 2, key=jax.random.key(1)), lambda: (jnp.ones(3),))
def eqx_dropout(key, x):
    d = eqx.nn.Dropout(0.5)
    return d(x, key=key)
_clean(eqx_dropout, lambda: (_K(), jnp.ones(4)))

# int args with counter-ish names that are indices/sizes
def take_layer(params, i):
    return params[i] * 2
_clean(take_layer, lambda: ([jnp.ones(2), jnp.zeros(2)], 1))
def get_batch(data, idx, batch_size):
    return lax.dynamic_slice_in_dim(data, idx * batch_size, batch_size)
_clean(get_batch, lambda: (jnp.arange(10.0), 1, 3))
def sinusoid(t, dim):
    freqs = jnp.exp(-jnp.log(10000.0) * jnp.arange(dim // 2) / (dim // 2))
    return jnp.concatenate([jnp.sin(t * freqs), jnp.cos(t * freqs)])
_clean(sinusoid, lambda: (3, 8))
betas = None
def ddpm_noise(key, x0, t, alphas_bar):
    eps = jax.random.normal(key, x0.shape)
    a = alphas_bar[t]
    return jnp.sqrt(a) * x0 + jnp.sqrt(1 - a) * eps, eps
_clean(ddpm_noise, lambda: (_K(), jnp.ones(3), 2, jnp.linspace(0.99, 0.1, 10)))
def window(x, i, size):
    return x[i:i + size]
_clean(window, lambda: (jnp.arange(10.0), 2, 3))
def nth_row(x, index):
    return x[index]
_clean(nth_row, lambda: (jnp.arange(6.0).reshape(3, 2), 1))
def unroll(x, steps):
    for _ in range(steps):
        x = x * 0.5
    return x
_clean(unroll, lambda: (jnp.ones(2), 3))
def diffuse(x, t):
    return x * jnp.exp(-t)
_clean(diffuse, lambda: (jnp.ones(2), 1))
def roll_by(x, shift):
    return jnp.roll(x, shift)
_clean(roll_by, lambda: (jnp.arange(4.0), 1))

# state dicts with keys, pytrees with None
def with_none(p, x):
    return x * p["w"] + (0 if p["b"] is None else p["b"])
_clean(with_none, lambda: ({"w": jnp.ones(2), "b": None}, jnp.ones(2)))
def rl_env_step(state, action):
    pos = state["pos"] + action
    reward = -jnp.abs(pos)
    return {"pos": pos, "t": state["t"] + 1}, reward
_clean(rl_env_step, lambda: ({"pos": jnp.float32(0.0), "t": jnp.int32(0)}, jnp.float32(1.0)))
def env_reset(key):
    return {"pos": jax.random.uniform(key), "t": jnp.int32(0)}
_clean(env_reset, lambda: (_K(),))
def policy_step(params, state, key):
    key, sub = jax.random.split(key)
    logits = params * state
    a = jax.random.categorical(sub, logits)
    return a, key
_clean(policy_step, lambda: (jnp.ones(3), jnp.ones(3), _K()))
def train_state_keys(state, x):
    rng, sub = jax.random.split(state["rng"])
    noise = jax.random.normal(sub, x.shape)
    return {"rng": rng, "params": state["params"] + noise.mean()}, x
_clean(train_state_keys, lambda: ({"rng": _K(), "params": jnp.ones(2)}, jnp.ones(2)))

# misc jax apis
def tree_partial(x):
    f = jax.tree_util.Partial(jnp.multiply, 2.0)
    return f(x)
_clean(tree_partial, _V)
def compile_time_eval(x):
    with jax.ensure_compile_time_eval():
        c = jnp.arange(3.0)
    return x + c
_clean(compile_time_eval, _V)
def named_scope(x):
    with jax.named_scope("block"):
        return jnp.sin(x)
_clean(named_scope, _V)
def pure_cb(x):
    return jax.pure_callback(lambda v: np.sin(v).astype(v.dtype), jax.ShapeDtypeStruct(x.shape, x.dtype), x)
_clean(pure_cb, _V)
def device_count_scale(x):
    return x / jax.device_count()
_clean(device_count_scale, _V)
def backend_branch(x):
    if jax.default_backend() == "cpu":
        return x * 1.0
    return x
_clean(backend_branch, _V)
def timed(x):
    t0 = time.perf_counter()
    y = jnp.sin(x).block_until_ready()
    _elapsed = time.perf_counter() - t0
    return y
def debug_cb(x):
    jax.debug.callback(lambda v: None, x)
    return x * 2
_clean(debug_cb, _V)
def jnp_unique(x):
    return jnp.unique(x, size=3, fill_value=0)
_clean(jnp_unique, lambda: (jnp.array([1, 1, 2, 5]),))
def vmap_in_axes_none(w, xs):
    return jax.vmap(lambda x, w: x @ w, in_axes=(0, None))(xs, w)
_clean(vmap_in_axes_none, lambda: (jnp.ones((3, 2)), jnp.ones((4, 3))))
def grad_of_grad(x):
    return jax.grad(jax.grad(jnp.sin))(x)
_clean(grad_of_grad, lambda: (jnp.float32(0.3),))
def clip_grads_opt(grads):
    return optax.clip_by_global_norm(1.0).update(grads, optax.EmptyState())[0]
_clean(clip_grads_opt, lambda: ({"a": jnp.ones(3) * 5},))
def x64_free_astype(x):
    return x.astype(jnp.int32).sum()
_clean(x64_free_astype, _V)
def sorted_args(x):
    return jnp.argsort(x), jnp.sort(x)
_clean(sorted_args, _V)
def shape_tuple_return(x):
    return x.shape, x.dtype
def dict_of_lists(batch):
    return {k: jnp.stack(v) for k, v in batch.items()}
_clean(dict_of_lists, lambda: ({"a": [jnp.ones(2), jnp.ones(2)]},))
def np_input_math(x):
    return jnp.asarray(x) * 2
_clean(np_input_math, lambda: (np.arange(3.0),))
def np_int_input(n):
    return jnp.arange(n)
_clean(np_int_input, lambda: (4,))
def bool_arg(x, flag):
    return jnp.where(flag, x, -x)
_clean(bool_arg, lambda: (jnp.ones(2), True))
def complex_in(z):
    return jnp.abs(z) ** 2
_clean(complex_in, lambda: (jnp.array([1 + 1j, 2 - 1j]),))
def float16_fn(x):
    return (x * x).astype(jnp.float16)
_clean(float16_fn, R)
def bf16_mm(a):
    return (a.astype(jnp.bfloat16) @ a.astype(jnp.bfloat16)).astype(jnp.float32)
_clean(bf16_mm, lambda: (jax.random.normal(jax.random.key(2), (32, 32)),))


# (c3) --------------------------------------------------------------------------------

@dataclasses.dataclass(frozen=True)
class Cfg:
    lr: float = 0.1
    hidden: int = 4
    eps: float = 1e-8
CFG = Cfg()
def global_frozen_cfg(x):
    return x * CFG.lr + CFG.eps
_clean(global_frozen_cfg, _V)
_clean(jax.jit(global_frozen_cfg), _V)

class NTCfg(NamedTuple):
    lr: float
    decay: float
def nt_arg(x, cfg):
    return x * cfg.lr * cfg.decay
_clean(nt_arg, lambda: (jnp.ones(2), NTCfg(0.1, 0.9)))

class PlainCfg:
    def __init__(self):
        self.scale = 2.0
def plain_obj_arg(cfg, x):
    return x * cfg.scale
_clean(plain_obj_arg, lambda: (PlainCfg(), jnp.ones(2)))
def ns_arg(cfg, x):
    return x * cfg.scale
_clean(ns_arg, lambda: (types.SimpleNamespace(scale=3.0), jnp.ones(2)))
_clean(ns_arg, lambda: (argparse.Namespace(scale=3.0), jnp.ones(2)))
def dict_cfg_arg(x, cfg):
    act = jax.nn.relu if cfg["act"] == "relu" else jnp.tanh
    return act(x) * cfg["scale"]
_clean(dict_cfg_arg, lambda: (jnp.ones(2), {"act": "relu", "scale": 0.5}))
def dataclass_cfg_arg(x, cfg):
    return x * cfg.lr
_clean(dataclass_cfg_arg, lambda: (jnp.ones(2), Cfg()))
@dataclasses.dataclass
class MutCfg:
    lr: float = 0.1
_clean(dataclass_cfg_arg, lambda: (jnp.ones(2), MutCfg()))

class Net(nn.Module):
    scale: float = 2.0
    rate: float = 0.1
    @nn.compact
    def __call__(self, x):
        return nn.Dense(2)(x) * self.scale
net = Net()
nparams = net.init(jax.random.key(0), jnp.ones(3))
def flax_global_float_field(params, x):
    return net.apply(params, x)
_clean(flax_global_float_field, lambda: (nparams, jnp.ones(3)))
drop = nn.Dropout(rate=0.5)
def global_dropout_layer(x, key):
    return drop.apply({}, x, deterministic=False, rngs={"dropout": key})
_clean(global_dropout_layer, lambda: (jnp.ones(4), _K()))

step_fn = jax.jit(lambda p, g: p - 0.1 * g, donate_argnums=0)
_clean(step_fn, lambda: (jnp.ones(3), jnp.ones(3)))
@functools.partial(jax.jit, donate_argnums=(0,))
def donated_update(params, grads, lr):
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)
_clean(donated_update, lambda: ({"w": jnp.ones(3)}, {"w": jnp.ones(3)}, 0.1))

@functools.partial(jax.jit, static_argnames=("n",))
def static_kw(x, n):
    return jnp.tile(x, n)


def scipy_min(x0):
    return jax.scipy.optimize.minimize(lambda x: jnp.sum((x - 1.0) ** 2), x0, method="BFGS").x
_clean(scipy_min, lambda: (jnp.zeros(2),))
def ode(y0, ts):
    return odeint(lambda y, t: -y, y0, ts)
_clean(ode, lambda: (jnp.ones(2), jnp.linspace(0.0, 1.0, 3)))
def expm(a):
    return jax.scipy.linalg.expm(a)
_clean(expm, lambda: (jnp.eye(2) * 0.1,))
def piecewise_fn(x):
    return jnp.piecewise(x, [x < 0, x >= 0], [lambda v: -v, lambda v: v ** 2])
_clean(piecewise_fn, _V)
def vectorize_fn(x):
    return jnp.vectorize(lambda a: a * 2 + 1)(x)
_clean(vectorize_fn, _V)
def interp_fn(x):
    return jnp.interp(x, jnp.array([0.0, 1.0, 2.0]), jnp.array([0.0, 10.0, 20.0]))
_clean(interp_fn, _V)
def resize(img):
    return jax.image.resize(img, (4, 4), "bilinear")
_clean(resize, lambda: (jnp.ones((2, 2)),))
def rand_zoo(key):
    ks = jax.random.split(key, 7)
    return (jax.random.choice(ks[0], 5, (3,), replace=False), jax.random.gamma(ks[1], 2.0, (2,)),
            jax.random.beta(ks[2], 2.0, 3.0, (2,)), jax.random.dirichlet(ks[3], jnp.ones(3)),
            jax.random.truncated_normal(ks[4], -1.0, 1.0, (2,)),
            jax.random.multivariate_normal(ks[5], jnp.zeros(2), jnp.eye(2)),
            jax.random.poisson(ks[6], 3.0, (2,)))
_clean(rand_zoo, lambda: (_K(),))
def hist(x):
    return jnp.histogram(x, bins=3, range=(-1.0, 2.0))
_clean(hist, _V)
def searchsorted_fn(x):
    return jnp.searchsorted(jnp.array([0.0, 1.0, 2.0]), x)
_clean(searchsorted_fn, _V)
def reduce_window(x):
    return lax.reduce_window(x, -jnp.inf, lax.max, (2,), (1,), "VALID")
_clean(reduce_window, lambda: (jnp.arange(5.0),))
def dpa(q, k, v):
    return jax.nn.dot_product_attention(q, k, v)
_clean(dpa, lambda: (jnp.ones((1, 3, 2, 4)), jnp.ones((1, 3, 2, 4)), jnp.ones((1, 3, 2, 4))))
def eqx_filter_vmap(m, xs):
    return eqx.filter_vmap(m)(xs)
_clean(eqx_filter_vmap, lambda: (eqx.nn.Linear(3, 2, key=jax.random.key(0)), jnp.ones((4, 3))))
def eqx_filter_grad(m, x):
    return eqx.filter_grad(lambda mm: jnp.sum(mm(x)))(m)
_clean(eqx_filter_grad, lambda: (eqx.nn.Linear(3, 2, key=jax.random.key(0)), jnp.ones(3)))
inj = optax.inject_hyperparams(optax.adam)(learning_rate=1e-3)
def inject_step(params, state, grads):
    updates, state = inj.update(grads, state, params)
    return optax.apply_updates(params, updates), state
_clean(inject_step, lambda: (jnp.ones(2), inj.init(jnp.ones(2)), jnp.ones(2)))
ms = optax.MultiSteps(optax.sgd(0.1), every_k_schedule=2)
def multisteps(params, state, grads):
    updates, state = ms.update(grads, state, params)
    return optax.apply_updates(params, updates), state
_clean(multisteps, lambda: (jnp.ones(2), ms.init(jnp.ones(2)), jnp.ones(2)))
def make_opt_inside(params, grads):
    opt = optax.sgd(0.1)
    state = opt.init(params)
    updates, _ = opt.update(grads, state)
    return optax.apply_updates(params, updates)
_clean(make_opt_inside, lambda: (jnp.ones(2), jnp.ones(2)))
def schedule_inside(step):
    return optax.cosine_decay_schedule(1.0, 100)(step)
_clean(schedule_inside, lambda: (jnp.int32(10),))
def scan_unroll(xs):
    return lax.scan(lambda c, x: (c + x, c), 0.0, xs, unroll=2)
_clean(scan_unroll, _V)
def remat_policy(x):
    f = jax.checkpoint(lambda v: jnp.sin(v) ** 2, policy=jax.checkpoint_policies.nothing_saveable)
    return jax.grad(lambda v: jnp.sum(f(v)))(x)
_clean(remat_policy, _V)

nlin = nnx.Linear(3, 2, rngs=nnx.Rngs(0))
def nnx_call(model, x):
    return model(x)
_clean(nnx_call, lambda: (nnx.Linear(3, 2, rngs=nnx.Rngs(0)), jnp.ones(3)))
@nnx.jit
def nnx_jit_call(model, x):
    return model(x)
_clean(nnx_jit_call, lambda: (nnx.Linear(3, 2, rngs=nnx.Rngs(0)), jnp.ones(3)))
def nnx_split_merge(model, x):
    graphdef, state = nnx.split(model)
    m = nnx.merge(graphdef, state)
    return m(x)
_clean(nnx_split_merge, lambda: (nnx.Linear(3, 2, rngs=nnx.Rngs(0)), jnp.ones(3)))

# global ints/tuples/strings/bools (chapter: numbers read from globals count)
MODE = "train"
def global_string(x):
    return x * 2 if MODE == "train" else x
_clean(global_string, _V)
def uses_len_of_global_list_of_fns(x):
    return x
LAYERS = (jnp.tanh, jax.nn.relu)
def global_tuple_of_fns(x):
    for f in LAYERS:
        x = f(x)
    return x
_clean(global_tuple_of_fns, _V)
class Act(enum.Enum):
    RELU = 1
    TANH = 2
def enum_arg(x, act):
    return jax.nn.relu(x) if act is Act.RELU else jnp.tanh(x)
_clean(enum_arg, lambda: (jnp.ones(2), Act.TANH))
def enum_global(x):
    return enum_arg(x, Act.RELU)
_clean(enum_global, _V)
class Kind(enum.IntEnum):
    A = 0
    B = 1
def intenum_global(x):
    return x[Kind.B]
_clean(intenum_global, _V)

# helper functions and methods
def _helper(x, alpha=0.2):
    return jnp.where(x > 0, x, alpha * x)
def uses_helper(x):
    return _helper(x) + _helper(x, 0.1)
_clean(uses_helper, _V)
class PlainModel:
    def __init__(self, w):
        self.w = w
    def __call__(self, x):
        return x @ self.w
    def loss(self, x, y):
        return jnp.mean((self(x) - y) ** 2)
def model_arg_loss(model, x, y):
    return model.loss(x, y)
_clean(model_arg_loss, lambda: (PlainModel(jnp.ones((3, 1))), jnp.ones((2, 3)), jnp.zeros((2, 1))))
class Stat:
    @staticmethod
    def normalize(x):
        return (x - x.mean()) / (x.std() + 1e-6)
    @classmethod
    def build(cls, x):
        return cls.normalize(x)
_clean(Stat.normalize, _V)
_clean(Stat.build, _V)
class Pipeline:
    scale = 2.0
    def run(self, x):
        return x * self.scale
_clean(Pipeline().run, _V)


# (c4) --------------------------------------------------------------------------------

def vjp_returned(x):
    return jax.vjp(jnp.sin, x)
_clean(vjp_returned, _V)
def linearize_returned(x):
    y, f = jax.linearize(jnp.sin, x)
    return y, f(jnp.ones_like(x))
_clean(linearize_returned, _V)
def ravel_returned(p):
    flat, unravel = jax.flatten_util.ravel_pytree(p)
    return flat, unravel
_clean(ravel_returned, lambda: ({"a": jnp.ones(2), "b": jnp.zeros(3)},))
def make_optimizer(lr):
    return optax.adam(lr)
_clean(make_optimizer, lambda: (0.01,))
def build_eqx(key):
    return eqx.nn.MLP(2, 1, 4, 1, key=key)
_clean(build_eqx, lambda: (_K(),))
def build_linear(key):
    return eqx.nn.Linear(2, 1, key=key)
_clean(build_linear, lambda: (_K(),))
def eqx_jit_inside(m, x):
    return eqx.filter_jit(lambda mm, xx: mm(xx))(m, x)

@jax.jit
def _train_step(w, x, y):
    loss, g = jax.value_and_grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)
    return w - 0.1 * g, loss
def fit(w, x, y, num_epochs):
    losses = []
    for _ in range(num_epochs):
        w, loss = _train_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)
_clean(fit, lambda: (jnp.zeros(3), jnp.ones((4, 3)), jnp.ones(4), 3))
def fit_float(w, x, y, num_epochs):
    history = []
    for epoch in range(num_epochs):
        w, loss = _train_step(w, x, y)
        history.append(float(loss))
    return w, history
def fit_keys(key, w, x, n_steps):
    for _ in range(n_steps):
        key, sub = jax.random.split(key)
        w = w + 0.01 * jax.random.normal(sub, w.shape)
    return key, w
_clean(fit_keys, lambda: (_K(), jnp.zeros(3), jnp.ones(3), 3))
def evaluate(w, batches):
    return jnp.mean(jnp.stack([jnp.mean((x @ w - y) ** 2) for x, y in batches]))
_clean(evaluate, lambda: (jnp.ones(3), [(jnp.ones((2, 3)), jnp.zeros(2)), (jnp.ones((2, 3)), jnp.ones(2))]))
def data_iter(key, x, batch_size):
    perm = jax.random.permutation(key, x.shape[0])
    for i in range(0, x.shape[0], batch_size):
        yield x[perm[i:i + batch_size]]
_clean(data_iter, lambda: (_K(), jnp.arange(6.0), 2))
def py_rng_local(seed, n):
    rng = random.Random(seed)
    return [rng.random() for _ in range(n)]
_clean(py_rng_local, lambda: (0, 3))
def np_rng_arg_shuffle(seed, x):
    rng = np.random.default_rng(seed)
    return x[rng.permutation(len(x))]
_clean(np_rng_arg_shuffle, lambda: (0, np.arange(5)))
def fold_loop(key, n):
    return jnp.stack([jax.random.normal(jax.random.fold_in(key, i), ()) for i in range(n)])
_clean(fold_loop, lambda: (_K(), 3))
def fold_two(key, x):
    a = jax.random.normal(jax.random.fold_in(key, 0), x.shape)
    b = jax.random.normal(jax.random.fold_in(key, 1), x.shape)
    return a + b
_clean(fold_two, lambda: (_K(), jnp.ones(2)))
def split_three_unpack(key):
    k1, k2, k3 = jax.random.split(key, 3)
    return jax.random.normal(k1), jax.random.uniform(k2), jax.random.bernoulli(k3)
_clean(split_three_unpack, lambda: (_K(),))
def keys_indexed(key):
    keys = jax.random.split(key)
    return jax.random.normal(keys[0]), jax.random.normal(keys[1])
_clean(keys_indexed, lambda: (_K(),))
def key_unused_eval(params, x, key, train=False):
    if train:
        x = x * jax.random.bernoulli(key, 0.5, x.shape)
    return x @ params
_clean(key_unused_eval, lambda: (jnp.ones(3), jnp.ones(3), _K()))
def return_both_keys(key):
    return jax.random.split(key)
_clean(return_both_keys, lambda: (_K(),))
def sample_and_new_key(key, shape):
    key, sub = jax.random.split(key)
    return jax.random.normal(sub, shape), key
_clean(sample_and_new_key, lambda: (_K(), (2,)))
class Carry(NamedTuple):
    key: jax.Array
    x: jax.Array
    step: jax.Array
def carry_step(c):
    key, sub = jax.random.split(c.key)
    return Carry(key, c.x + jax.random.normal(sub, c.x.shape), c.step + 1)
_clean(carry_step, lambda: (Carry(_K(), jnp.zeros(2), jnp.int32(0)),))
def scan_carry_step(c, n):
    def body(c, _):
        c = carry_step(c)
        return c, c.x
    return lax.scan(body, c, None, length=n)
_clean(scan_carry_step, lambda: (Carry(_K(), jnp.zeros(2), jnp.int32(0)), 3))
def apply_callable(f, x):
    return f(x)
_clean(apply_callable, lambda: (jnp.sin, jnp.ones(2)))
_clean(apply_callable, lambda: (lambda v: v * 2, jnp.ones(2)))
def compose(fs, x):
    for f in fs:
        x = f(x)
    return x
_clean(compose, lambda: ([jnp.sin, jnp.cos], jnp.ones(2)))
def returns_set_shape(x):
    return {"n": x.shape[0], "y": x * 2}
_clean(returns_set_shape, _V)
def many_outputs(x):
    return x, x + 1, x * 2, {"a": [x]}, None
_clean(many_outputs, _V)
def tuple_of_ints_arg(x, axes):
    return jnp.sum(x, axis=axes)
_clean(tuple_of_ints_arg, lambda: (jnp.ones((2, 3, 4)), (0, 2)))
def padding(x, pad):
    return jnp.pad(x, pad)
_clean(padding, lambda: (jnp.ones(3), (1, 2)))
def float_arg_traced(x, temperature):
    return jax.nn.softmax(x / temperature)
_clean(float_arg_traced, lambda: (jnp.ones(3), 0.5))
def float_static_needed(x, p):
    return jnp.linalg.norm(x, ord=p)
_clean(float_static_needed, lambda: (jnp.ones(3), 2))
def int_range_static(n):
    return jnp.array([i * i for i in range(n)])
_clean(int_range_static, lambda: (4,))
def count_arg_size(x, count):
    return jnp.zeros(count) + x.sum()
_clean(count_arg_size, lambda: (jnp.ones(2), 3))
def epoch_lr(epoch, base):
    return base * 0.5 ** (epoch // 10)
_clean(epoch_lr, lambda: (12, 0.1))
def t_schedule(t, T):
    return jnp.cos((t / T) * jnp.pi / 2) ** 2
_clean(t_schedule, lambda: (3, 10))
def step_warmup(step, warmup_steps):
    return jnp.minimum(1.0, step / warmup_steps)
_clean(step_warmup, lambda: (5, 100))
def bias_correct(m, step, beta=0.9):
    return m / (1 - beta ** step)
_clean(bias_correct, lambda: (jnp.ones(2), 3))
def adam_manual(params, grads, m, v, t, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8):
    m = b1 * m + (1 - b1) * grads
    v = b2 * v + (1 - b2) * grads ** 2
    mh = m / (1 - b1 ** t)
    vh = v / (1 - b2 ** t)
    return params - lr * mh / (jnp.sqrt(vh) + eps), m, v
_clean(adam_manual, lambda: (jnp.ones(2), jnp.ones(2), jnp.zeros(2), jnp.zeros(2), 1))
_clean(adam_manual, lambda: (jnp.ones(2), jnp.ones(2), jnp.zeros(2), jnp.zeros(2), jnp.int32(1)))
class AdamState(NamedTuple):
    m: jax.Array
    v: jax.Array
    t: jax.Array
def adam_nt(params, grads, state, lr=1e-3):
    t = state.t + 1
    m = 0.9 * state.m + 0.1 * grads
    v = 0.999 * state.v + 0.001 * grads ** 2
    upd = lr * (m / (1 - 0.9 ** t)) / (jnp.sqrt(v / (1 - 0.999 ** t)) + 1e-8)
    return params - upd, AdamState(m, v, t)
_clean(adam_nt, lambda: (jnp.ones(2), jnp.ones(2), AdamState(jnp.zeros(2), jnp.zeros(2), jnp.int32(0))))



# (c5) --------------------------------------------------------------------------------

def dict_state_py_int(state, g):
    return {"w": state["w"] - 0.1 * g, "step": state["step"] + 1}
_clean(dict_state_py_int, lambda: ({"w": jnp.ones(2), "step": 0}, jnp.ones(2)))
@functools.partial(jax.jit, static_argnames=("training",))
def bn_like(x, training):
    return (x - x.mean()) if training else x
_clean(bn_like, lambda: (jnp.ones(3), True))
@dataclasses.dataclass(frozen=True)
class StaticScale:
    s: float = 2.0
    @functools.partial(jax.jit, static_argnums=0)
    def __call__(self, x):
        return x * self.s
_clean(StaticScale(), _V)
_clean(StaticScale().__call__, _V)
class EqLin(eqx.Module):
    w: jax.Array
    @eqx.filter_jit
    def __call__(self, x):
        return self.w @ x
_clean(EqLin(jnp.eye(3)), _V)
def _sin_twice(x):
    return jnp.sin(x) * 2
batched_sin = jax.jit(jax.vmap(_sin_twice))
def uses_global_batched(xs):
    return batched_sin(xs).sum()
_clean(uses_global_batched, lambda: (jnp.ones((2, 3)),))
@functools.partial(jax.jit, static_argnums=1)
def _pool_by(x, k):
    return x.reshape(-1, k).mean(1)
def pooled_twice(x):
    return _pool_by(x, 2), _pool_by(x, 3)
_clean(pooled_twice, lambda: (jnp.arange(6.0),))
def vmap_dict_axes(p, xs):
    return jax.vmap(lambda p, x: p["w"] * x, in_axes=({"w": None}, 0))(p, xs)
_clean(vmap_dict_axes, lambda: ({"w": jnp.float32(2.0)}, jnp.ones((3, 2))))
def scan_pytree_xs(xs):
    def body(c, x):
        return c + x["a"] * x["b"], None
    return lax.scan(body, 0.0, xs)[0]
_clean(scan_pytree_xs, lambda: ({"a": jnp.ones(3), "b": jnp.arange(3.0)},))
def tree_map_path(p):
    return jax.tree_util.tree_map_with_path(lambda path, x: x * (2.0 if "w" in jax.tree_util.keystr(path) else 1.0), p)
_clean(tree_map_path, lambda: ({"w": jnp.ones(2), "b": jnp.ones(2)},))
def fori_num_iters(x, num_iters):
    return lax.fori_loop(0, num_iters, lambda i, v: v * 0.5, x)
_clean(fori_num_iters, lambda: (jnp.ones(2), 3))
def at_drop(x, idx):
    return x.at[idx].set(1.0, mode="drop")
_clean(at_drop, lambda: (jnp.zeros(3), jnp.array([0, 5])))
model_logger = logging.getLogger("mymodel")
def logs_debug(x):
    model_logger.debug("called with %s", x.shape)
    return x * 2
def warns_never(x):
    if x.ndim > 5:
        warnings.warn("high rank")
    return x
_clean(warns_never, _V)
class Trainer:
    def __init__(self, lr):
        self.lr = lr
        self.opt = optax.sgd(lr)
    def step(self, params, opt_state, grads):
        updates, opt_state = self.opt.update(grads, opt_state)
        return optax.apply_updates(params, updates), opt_state
sgd_trainer = Trainer(0.1)
_clean(sgd_trainer.step, lambda: (jnp.ones(2), sgd_trainer.opt.init(jnp.ones(2)), jnp.ones(2)))
class JitTrainer:
    def __init__(self, lr):
        self.lr = lr
        self.step = jax.jit(self._step)
    def _step(self, w, g):
        return w - self.lr * g
jt = JitTrainer(0.1)
def list_state(xs):
    ys = list(xs)
    ys.append(jnp.zeros(2))
    return ys
_clean(list_state, lambda: ([jnp.ones(2)],))
def sorted_dict_keys(d):
    return [d[k] * 2 for k in sorted(d)]
_clean(sorted_dict_keys, lambda: ({"b": jnp.ones(1), "a": jnp.zeros(1)},))
def unpack_kwargs(params, x):
    return jnp.tanh(x @ params["w"] + params["b"])
_clean(jax.vmap(unpack_kwargs, in_axes=(None, 0)), lambda: ({"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}, jnp.ones((4, 3))))
_clean(jax.jit(jax.value_and_grad(lambda w, x: jnp.sum((x @ w) ** 2))), lambda: (jnp.ones(3), jnp.ones((2, 3))))
_clean(jax.jit(jax.jacrev(jnp.tanh)), _V)
_clean(jax.checkpoint(jnp.sin), _V)
_clean(jax.jit(jnp.cumsum), _V)
_clean(jnp.sum, _V)
_clean(jax.nn.softmax, _V)
_clean(optax.l2_loss, lambda: (jnp.ones(3), jnp.zeros(3)))
def hutchinson(key, x):
    f = lambda v: jnp.sum(jnp.sin(v))
    z = jax.random.rademacher(key, x.shape, dtype=jnp.float32)
    _, hvp = jax.jvp(jax.grad(f), (x,), (z,))
    return jnp.sum(z * hvp)
_clean(hutchinson, lambda: (_K(), jnp.ones(3)))
def mc_estimate(key, n):
    x = jax.random.uniform(key, (n, 2))
    return 4.0 * jnp.mean(jnp.sum(x ** 2, 1) < 1.0)
_clean(mc_estimate, lambda: (_K(), 100))
def importance(key, logp, logq, n):
    xs = jax.random.normal(key, (n,))
    w = jnp.exp(logp(xs) - logq(xs))
    return jnp.mean(w)
_clean(importance, lambda: (_K(), lambda x: -x ** 2 / 2, lambda x: -x ** 2 / 2, 8))
def metropolis(key, x0, n):
    def body(carry, k):
        x = carry
        k1, k2 = jax.random.split(k)
        prop = x + jax.random.normal(k1)
        accept = jnp.log(jax.random.uniform(k2)) < (-prop ** 2 + x ** 2) / 2
        x = jnp.where(accept, prop, x)
        return x, x
    return lax.scan(body, x0, jax.random.split(key, n))[1]
_clean(metropolis, lambda: (_K(), jnp.float32(0.0), 5))
def cross_val_split(key, x, k):
    perm = jax.random.permutation(key, x.shape[0])
    return jnp.array_split(x[perm], k)
_clean(cross_val_split, lambda: (_K(), jnp.arange(6.0), 3))
def label_smoothing(labels, n, eps):
    return optax.smooth_labels(jax.nn.one_hot(labels, n), eps)
_clean(label_smoothing, lambda: (jnp.array([0, 2]), 3, 0.1))
def contrastive(z1, z2, temp):
    z1 = z1 / jnp.linalg.norm(z1, axis=1, keepdims=True)
    z2 = z2 / jnp.linalg.norm(z2, axis=1, keepdims=True)
    logits = z1 @ z2.T / temp
    return optax.softmax_cross_entropy_with_integer_labels(logits, jnp.arange(z1.shape[0])).mean()
_clean(contrastive, lambda: (jnp.eye(3) + 0.1, jnp.eye(3), 0.1))
def ppo_clip(ratio, adv, eps=0.2):
    return -jnp.mean(jnp.minimum(ratio * adv, jnp.clip(ratio, 1 - eps, 1 + eps) * adv))
_clean(ppo_clip, lambda: (jnp.array([0.9, 1.3]), jnp.array([1.0, -1.0])))
def td_target(r, gamma, v_next, done):
    return r + gamma * v_next * (1 - done)
_clean(td_target, lambda: (jnp.ones(2), 0.99, jnp.ones(2), jnp.array([0.0, 1.0])))
def positional_table(seq_len, dim):
    pos = jnp.arange(seq_len)[:, None]
    i = jnp.arange(dim)[None, :]
    angle = pos / jnp.power(10000.0, (2 * (i // 2)) / dim)
    return jnp.where(i % 2 == 0, jnp.sin(angle), jnp.cos(angle))
_clean(positional_table, lambda: (4, 6))
def np_shape_consts(x):
    h, w = x.shape
    n = np.int32(h * w)
    return x.reshape(n) / np.sqrt(n)
_clean(np_shape_consts, lambda: (jnp.ones((2, 3)),))
def math_consts(x):
    return x * math.e + math.log(2.0) + math.inf * 0 + math.tau
_clean(math_consts, _V)
def np_linspace_const(x):
    grid = np.linspace(0.0, 1.0, x.shape[0])
    return x * grid
_clean(np_linspace_const, _V)
def local_constants(x):
    EPS = 1e-8
    SCALE = (1.0, 2.0, 3.0)
    return x * jnp.array(SCALE) + EPS
_clean(local_constants, _V)
def default_tuple(x, scales=(1.0, 2.0, 3.0)):
    return x * jnp.asarray(scales)
_clean(default_tuple, _V)
def default_eps(x, eps=1e-8):
    return x / (jnp.linalg.norm(x) + eps)
_clean(default_eps, _V)



# (c6) --------------------------------------------------------------------------------
def ema_py_float_state(state, x):
    return {"m": 0.9 * state["m"] + 0.1 * x}
_clean(ema_py_float_state, lambda: ({"m": 0.0}, jnp.float32(1.0)))
def running_mean(state, x):
    n = state["n"] + 1
    return {"n": n, "mean": state["mean"] + (x - state["mean"]) / n}
_clean(running_mean, lambda: ({"n": 0, "mean": 0.0}, jnp.float32(2.0)))
_clean(running_mean, lambda: ({"n": 0, "mean": np.zeros(3)}, jnp.ones(3)))
class St(NamedTuple):
    w: jax.Array
    lr: float
    step: int
def nt_state_py(s, g):
    return St(s.w - s.lr * g, s.lr, s.step + 1)
_clean(nt_state_py, lambda: (St(jnp.ones(2), 0.1, 0), jnp.ones(2)))
def grow_buffer(buf, x):
    return jnp.concatenate([buf, x[None]])
_clean(grow_buffer, lambda: (jnp.zeros((1, 2)), jnp.ones(2)))
def f64_state(state, x):
    return state * 0.5 + x
_clean(f64_state, lambda: (np.zeros(3), jnp.ones(3)))
def int_state_to_float(state, x):
    return state + x
_clean(int_state_to_float, lambda: (jnp.zeros(3, jnp.int32), jnp.ones(3)))
class Params(NamedTuple):
    w: jax.Array
    b: jax.Array
    def apply(self, x):
        return x @ self.w + self.b
pp = Params(jnp.ones((3, 2)), jnp.zeros(2))
_clean(pp.apply, lambda: (jnp.ones(3),))
def params_and_key(state, x):
    params, key = state
    key, sub = jax.random.split(key)
    params = params + 0.01 * jax.random.normal(sub, params.shape)
    return (params, key), jnp.sum(params * x)
_clean(params_and_key, lambda: ((jnp.ones(3), _K()), jnp.ones(3)))
def returns_subkey_too(key):
    key, sub = jax.random.split(key)
    return jax.random.normal(sub), key, sub
_clean(returns_subkey_too, lambda: (_K(),))
def optax_state_py_count(params, grads, opt_state):
    updates, opt_state = optax.adam(0.1).update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state
_clean(optax_state_py_count, lambda: (jnp.ones(2), jnp.ones(2), optax.adam(0.1).init(jnp.ones(2))))
def weak_lr_state(state, g):
    return {"w": state["w"] - state["lr"] * g, "lr": state["lr"] * 0.99}
_clean(weak_lr_state, lambda: ({"w": jnp.ones(2), "lr": 0.1}, jnp.ones(2)))
def bool_state(state, x):
    return {"done": state["done"] | (x.sum() > 10), "x": x}
_clean(bool_state, lambda: ({"done": False, "x": jnp.zeros(2)}, jnp.ones(2)))
def env_step_int(state, action):
    return {"t": state["t"] + 1, "pos": state["pos"] + action}, -jnp.abs(state["pos"])
_clean(env_step_int, lambda: ({"t": 0, "pos": 0.0}, 1.0))
def key_in_list_state(state):
    key, x = state
    key, sub = jax.random.split(key)
    return [key, x + jax.random.normal(sub, x.shape)]
_clean(key_in_list_state, lambda: ([_K(), jnp.zeros(2)],))
def counter_t_state(t, x):
    return t + 1, x * 0.5
_clean(counter_t_state, lambda: (0, jnp.ones(2)))
def step_int_returned(params, step):
    return params * 0.9, step + 1
_clean(step_int_returned, lambda: (jnp.ones(2), 0))


# (c7) --------------------------------------------------------------------------------
_clean(lambda x: x * 2, _V)
def no_args():
    return jnp.zeros(3)
_clean(no_args, lambda: ())
def device_put_fn(x):
    return jax.device_put(x) * 2
_clean(device_put_fn, _V)
def bur(x):
    return jax.block_until_ready(jnp.sin(x))
_clean(bur, _V)
@dataclasses.dataclass
class Layer:
    w: jax.Array
    b: jax.Array
    def __call__(self, x):
        return x @ self.w + self.b
    def loss(self, x, y):
        return jnp.mean((self(x) - y) ** 2)
lay = Layer(jnp.ones((3, 2)), jnp.zeros(2))
_clean(lay.loss, lambda: (jnp.ones((2, 3)), jnp.zeros((2, 2))))
_clean(lay, lambda: (jnp.ones(3),))
@dataclasses.dataclass(frozen=True)
class Opt:
    lr: float
    momentum: float
    def init(self, params):
        return jax.tree.map(jnp.zeros_like, params)
    def update(self, params, vel, grads):
        vel = jax.tree.map(lambda v, g: self.momentum * v + g, vel, grads)
        return jax.tree.map(lambda p, v: p - self.lr * v, params, vel), vel
o = Opt(0.1, 0.9)
_clean(o.update, lambda: ({"w": jnp.ones(2)}, {"w": jnp.zeros(2)}, {"w": jnp.ones(2)}))
_clean(o.init, lambda: ({"w": jnp.ones(2)},))
_clean(jax.jit(o.update), lambda: ({"w": jnp.ones(2)}, {"w": jnp.zeros(2)}, {"w": jnp.ones(2)}))
class Model_c7(NamedTuple):
    w: jax.Array
    act: Callable = jnp.tanh
def nt_with_fn(m, x):
    return m.act(x @ m.w)
_clean(nt_with_fn, lambda: (Model_c7(jnp.eye(3)), jnp.ones(3)))
def make_model(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [(jax.random.normal(k, (a, b)) * 0.1, jnp.zeros(b)) for k, a, b in zip(keys, sizes[:-1], sizes[1:])]
def forward(params, x):
    *hidden, (wl, bl) = params
    for w, b in hidden:
        x = jax.nn.relu(x @ w + b)
    return x @ wl + bl
_clean(forward, lambda: (make_model(jax.random.key(0), [3, 5, 5, 1]), jnp.ones((4, 3))))
def loss_fn(params, batch):
    x, y = batch
    return jnp.mean((forward(params, x) - y) ** 2)
@jax.jit
def update(params, batch, lr=0.01):
    grads = jax.grad(loss_fn)(params, batch)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads)
_clean(update, lambda: (make_model(jax.random.key(0), [3, 5, 1]), (jnp.ones((4, 3)), jnp.zeros((4, 1)))))
def train_epoch(params, xs, ys, batch_size):
    n = xs.shape[0] // batch_size
    for i in range(n):
        sl = slice(i * batch_size, (i + 1) * batch_size)
        params = update(params, (xs[sl], ys[sl]))
    return params
_clean(train_epoch, lambda: (make_model(jax.random.key(0), [3, 5, 1]), jnp.ones((8, 3)), jnp.zeros((8, 1)), 4))
def train_scan(params, xs, ys):
    def body(p, b):
        return update(p, b), loss_fn(p, b)
    return lax.scan(body, params, (xs, ys))
_clean(train_scan, lambda: (make_model(jax.random.key(0), [3, 5, 1]), jnp.ones((2, 4, 3)), jnp.zeros((2, 4, 1))))
def predict_batched(params, xs):
    return jax.vmap(forward, in_axes=(None, 0))(params, xs)
_clean(predict_batched, lambda: (make_model(jax.random.key(0), [3, 5, 1]), jnp.ones((2, 4, 3))))
def with_kwargs_default(params, x, *, temperature=1.0):
    return jax.nn.softmax(forward(params, x) / temperature)
_clean(with_kwargs_default, lambda: (make_model(jax.random.key(0), [3, 2]), jnp.ones(3)))
def ensemble(params_stack, x):
    return jax.vmap(forward, in_axes=(0, None))(params_stack, x).mean(0)
_clean(ensemble, lambda: (jax.tree.map(lambda *a: jnp.stack(a), *[make_model(jax.random.key(i), [3, 2]) for i in range(3)]), jnp.ones(3)))
def tree_reduce_sum(t):
    return jax.tree_util.tree_reduce(lambda a, b: a + jnp.sum(b), t, 0.0)
_clean(tree_reduce_sum, lambda: ({"a": jnp.ones(2), "b": [jnp.ones(3)]},))
def scan_dropout(key, xs, rate):
    keys = jax.random.split(key, xs.shape[0])
    def body(c, kx):
        k, x = kx
        keep = jax.random.bernoulli(k, 1 - rate, x.shape)
        return c, jnp.where(keep, x / (1 - rate), 0)
    return lax.scan(body, None, (keys, xs))[1]
_clean(scan_dropout, lambda: (_K(), jnp.ones((3, 2)), 0.5))
def gumbel_softmax(key, logits, tau):
    g = -jnp.log(-jnp.log(jax.random.uniform(key, logits.shape, minval=1e-6, maxval=1.0)))
    return jax.nn.softmax((logits + g) / tau)
_clean(gumbel_softmax, lambda: (_K(), jnp.zeros(4), 0.5))
def noisy_sgd_step(params, grads, key, lr, sigma):
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    noise = jax.tree.unflatten(tree, [jax.random.normal(k, l.shape) for k, l in zip(keys, leaves)])
    return jax.tree.map(lambda p, g, n: p - lr * g + sigma * n, params, grads, noise)
_clean(noisy_sgd_step, lambda: ({"a": jnp.ones(2), "b": jnp.ones(3)}, {"a": jnp.ones(2), "b": jnp.ones(3)}, _K(), 0.1, 0.01))


# (c8) --------------------------------------------------------------------------------
_R = lambda n, off=0.0, s=1: (jax.random.normal(jax.random.key(s), (n,)) + off,)
def var_naive(x):
    return jnp.mean(x ** 2) - jnp.mean(x) ** 2
_clean(var_naive, lambda: _R(10000, 100.0), lambda: _R(100000, 10.0))
def sum_diff(x):
    return jnp.sum(x * 1.0001) - jnp.sum(x)
_clean(sum_diff, lambda: _R(100000))
def lse_manual(x):
    return jnp.log(jnp.sum(jnp.exp(x)))
_clean(lse_manual, lambda: _R(100000))
def softmax_manual(x):
    e = jnp.exp(x - x.max())
    return e / e.sum()
_clean(softmax_manual, lambda: _R(100000))
def mse_big(w, x, y):
    return jnp.mean((x @ w - y) ** 2)
_clean(mse_big, lambda: (jax.random.normal(jax.random.key(1), (256,)), jax.random.normal(jax.random.key(2), (512, 256)), jax.random.normal(jax.random.key(3), (512,))))
_clean(jax.grad(mse_big), lambda: (jax.random.normal(jax.random.key(1), (256,)), jax.random.normal(jax.random.key(2), (512, 256)), jax.random.normal(jax.random.key(3), (512,))))
def layernorm_big(x):
    m = x.mean(-1, keepdims=True)
    v = ((x - m) ** 2).mean(-1, keepdims=True)
    return (x - m) / jnp.sqrt(v + 1e-5)
_clean(layernorm_big, lambda: (jax.random.normal(jax.random.key(1), (64, 512)) * 0.001 + 5.0,))
def tanh_mlp(ws, x):
    for w in ws:
        x = jnp.tanh(x @ w)
    return x
_clean(tanh_mlp, lambda: ([jax.random.normal(jax.random.key(i), (128, 128)) / 11 for i in range(6)], jax.random.normal(jax.random.key(9), (32, 128))))
def cosine_sim(a, b):
    return (a @ b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))
_clean(cosine_sim, lambda: (jnp.ones(1000), jnp.ones(1000) + 1e-4 * jax.random.normal(jax.random.key(0), (1000,))))
def one_minus_cos(a, b):
    return 1 - (a @ b) / (jnp.linalg.norm(a) * jnp.linalg.norm(b))
_clean(one_minus_cos, lambda: (jnp.ones(1000), jnp.ones(1000) + 1e-3 * jax.random.normal(jax.random.key(0), (1000,))))
def grad_norm_nn(ws, x):
    g = jax.grad(lambda ws: jnp.sum(tanh_mlp(ws, x) ** 2))(ws)
    return jnp.sqrt(sum(jnp.sum(t ** 2) for t in g))
_clean(grad_norm_nn, lambda: ([jax.random.normal(jax.random.key(i), (64, 64)) / 8 for i in range(4)], jax.random.normal(jax.random.key(9), (16, 64))))
def rnn_long(w, xs):
    def body(h, x):
        h = jnp.tanh(w @ h + x)
        return h, h
    return jax.lax.scan(body, jnp.zeros(32), xs)[1]
_clean(rnn_long, lambda: (jax.random.normal(jax.random.key(1), (32, 32)) / 4, jax.random.normal(jax.random.key(2), (200, 32))))
def adam_many_steps(p, g):
    opt = __import__("optax").adam(1e-2)
    s = opt.init(p)
    def body(c, _):
        p, s = c
        u, s = opt.update(g * p, s)
        return (p + u, s), None
    return jax.lax.scan(body, (p, s), None, length=100)[0][0]
_clean(adam_many_steps, lambda: (jax.random.normal(jax.random.key(1), (100,)), jax.random.normal(jax.random.key(2), (100,))))


# (c9) --------------------------------------------------------------------------------
_R = lambda n, off=0.0, s=1: (jax.random.normal(jax.random.key(s), (n,)) + off,)
@jax.jit
def var_naive_j(x):
    return jnp.mean(x ** 2) - jnp.mean(x) ** 2
_clean(var_naive_j, lambda: _R(10000, 100.0), lambda: _R(100000, 10.0))
def _vn(x):
    return jnp.mean(x ** 2) - jnp.mean(x) ** 2
_vnj = jax.jit(_vn)
def calls_jitted_var(x):
    return _vnj(x) * 2
_clean(calls_jitted_var, lambda: _R(10000, 100.0))
def std_big(x, w):
    return jnp.std(x @ w)
_clean(std_big, lambda: (jax.random.normal(jax.random.key(1), (500, 300)) + 50, jax.random.normal(jax.random.key(2), (300,))))



# (c14: results that hold functions) --------------------------------------------------
def value_and_closure(x):
    return x * 2, lambda v: v * x
_clean(value_and_closure, _V)
def value_and_partial(x):
    return x * 2, functools.partial(jnp.multiply, 2.0)
_clean(value_and_partial, _V)
def dict_with_fn(x):
    return {"y": x * 2, "act": jnp.tanh}
_clean(dict_with_fn, _V)
def make_loss(x, y):
    def loss(w):
        return jnp.mean((x * w - y) ** 2)
    return loss
_clean(make_loss, lambda: (jnp.ones(3), jnp.zeros(3)))
def make_init_apply(n):
    def init(key):
        return jax.random.normal(key, (n,))
    def apply(w, x):
        return w * x
    return init, apply
_clean(make_init_apply, lambda: (3,))
def unravel_returned(p):
    flat, unravel = jax.flatten_util.ravel_pytree(p)
    return flat * 2, unravel
_clean(unravel_returned, lambda: ({"a": jnp.ones(2)},))
def linearize_fn(x):
    return jax.linearize(jnp.sin, x)
_clean(linearize_fn, _V)



# (c15: Equinox layers) ------------------------------------------------------------
bn_model, bn_state = eqx.nn.make_with_state(eqx.nn.BatchNorm)(3, axis_name="batch", mode="batch")
def eqx_bn(model, state, xs):
    ys, state = jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))(xs, state)
    return ys, state
_clean(eqx_bn, lambda: (bn_model, bn_state, jnp.arange(6.0).reshape(2, 3)))
def eqx_conv(m, x):
    return m(x)
_clean(eqx_conv, lambda: (eqx.nn.Conv2d(1, 2, 3, key=jax.random.key(0)), jnp.ones((1, 5, 5))))
_clean(eqx_conv, lambda: (eqx.nn.LayerNorm(4), jnp.arange(4.0)))
def gru_scan(cell, xs):
    def body(h, x):
        h = cell(x, h)
        return h, h
    return jax.lax.scan(body, jnp.zeros(cell.hidden_size), xs)
_clean(gru_scan, lambda: (eqx.nn.GRUCell(3, 4, key=jax.random.key(1)), jnp.ones((5, 3))))
def mha(m, x):
    return m(x, x, x)
_clean(mha, lambda: (eqx.nn.MultiheadAttention(2, 4, key=jax.random.key(2)), jnp.ones((3, 4))))
def tree_at_scale(m):
    return eqx.tree_at(lambda mm: mm.weight, m, m.weight * 2)
_clean(tree_at_scale, lambda: (eqx.nn.Linear(3, 2, key=jax.random.key(3)),))
def partition_combine(m, x):
    params, static = eqx.partition(m, eqx.is_array)
    return eqx.combine(params, static)(x)
_clean(partition_combine, lambda: (eqx.nn.Linear(3, 2, key=jax.random.key(3)), jnp.ones(3)))
def dropout_inference(key, x):
    d = eqx.nn.Dropout(0.5, inference=False)
    return d(x, key=key), eqx.nn.Dropout(0.5, inference=True)(x)
_clean(dropout_inference, lambda: (_K(), jnp.ones(4)))
def eqx_mlp_grad(m, x, y):
    return eqx.filter_grad(lambda mm: jnp.mean((jax.vmap(mm)(x) - y) ** 2))(m)
_clean(eqx_mlp_grad, lambda: (eqx.nn.MLP(3, 1, 4, 2, key=jax.random.key(4)), jnp.ones((5, 3)), jnp.zeros((5, 1))))
def eqx_embed(m, ids):
    return jax.vmap(m)(ids)
_clean(eqx_embed, lambda: (eqx.nn.Embedding(10, 4, key=jax.random.key(5)), jnp.array([1, 2, 3])))




def count_weak_state(state, x):
    """A counter made with jnp.array(0) is weakly typed: new values keep it so."""
    return {"count": state["count"] + 1, "total": state["total"] + x.sum()}, x * 2


_clean(count_weak_state, lambda: ({"count": jnp.array(0), "total": jnp.array(0.0)}, jnp.ones(3)))


# (c16: Flax) ----------------------------------------------------------------------
class BatchNormCNN(nn.Module):
    @nn.compact
    def __call__(self, x, train: bool = True):
        x = nn.Conv(4, (3, 3))(x)
        x = nn.BatchNorm(use_running_average=not train)(x)
        x = nn.relu(x)
        x = x.reshape((x.shape[0], -1))
        return nn.Dense(2)(x)
cnn = BatchNormCNN()
cvars = cnn.init(jax.random.key(0), jnp.ones((1, 4, 4, 1)), train=False)
class BatchStatsState(train_state.TrainState):
    batch_stats: Any
def make_bn_state():
    return BatchStatsState.create(apply_fn=cnn.apply, params=cvars["params"], batch_stats=cvars["batch_stats"], tx=optax.adam(1e-3))
def bn_train_step(state, x, y):
    def loss_fn(params):
        logits, updates = state.apply_fn({"params": params, "batch_stats": state.batch_stats}, x, train=True, mutable=["batch_stats"])
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean(), updates
    (loss, updates), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    state = state.apply_gradients(grads=grads)
    return state.replace(batch_stats=updates["batch_stats"]), loss
def bn_eval_step(state, x):
    return state.apply_fn({"params": state.params, "batch_stats": state.batch_stats}, x, train=False)
_clean(bn_eval_step, lambda: (make_bn_state(), jnp.ones((2, 4, 4, 1))))
class Encoder(nn.Module):
    @nn.compact
    def __call__(self, ids):
        x = nn.Embed(10, 8)(ids)
        x = nn.MultiHeadDotProductAttention(num_heads=2)(x)
        return nn.LayerNorm()(x)
encoder = Encoder()
evars = encoder.init(jax.random.key(1), jnp.zeros((1, 3), jnp.int32))
def enc_apply(v, ids):
    return encoder.apply(v, ids)
_clean(enc_apply, lambda: (evars, jnp.array([[1, 2, 3]])))
class LSTMModel(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.RNN(nn.LSTMCell(4))(x)
rnnm = LSTMModel()
rvars = rnnm.init(jax.random.key(2), jnp.ones((1, 5, 3)))
def rnn_apply(v, x):
    return rnnm.apply(v, x)
_clean(rnn_apply, lambda: (rvars, jnp.ones((1, 5, 3))))
@struct.dataclass
class Agent:
    params: Any
    apply: Callable = struct.field(pytree_node=False)
    gamma: float = struct.field(pytree_node=False, default=0.99)
def agent_value(agent, x):
    return agent.apply(agent.params, x) * agent.gamma
_clean(agent_value, lambda: (Agent({"w": jnp.ones(3)}, lambda p, x: x @ p["w"]), jnp.ones(3)))
def agent_update(agent, g):
    return agent.replace(params=jax.tree.map(lambda p, q: p - 0.1 * q, agent.params, g))
_clean(agent_update, lambda: (Agent({"w": jnp.ones(3)}, lambda p, x: x @ p["w"]), {"w": jnp.ones(3)}))
class RematDense(nn.Module):
    @nn.compact
    def __call__(self, x):
        return nn.remat(nn.Dense)(3)(x)
remat_dense = RematDense()
rmv = remat_dense.init(jax.random.key(3), jnp.ones(3))
def remat_apply(v, x):
    return remat_dense.apply(v, x)
_clean(remat_apply, lambda: (rmv, jnp.ones(3)))
def cnn_init(key, x):
    return cnn.init(key, x, train=False)
_clean(cnn_init, lambda: (_K(), jnp.ones((1, 4, 4, 1))))



BUGGY = [
    ("mutates-input", normalize_inplace, lambda: (np.array([1.0, 2.0, 4.0]),)),
    ("mutates-input", add_sample, lambda: ([jnp.ones(2)], jnp.zeros(2))),
    ("mutates-input", sgd_step_inplace, lambda: ({"w": jnp.ones(2)}, {"w": jnp.ones(2)})),
    ("mutates-input", accumulate, lambda: (Accumulator(), jnp.ones(2))),
    ("mutates-input", clip_inplace, lambda: (np.array([-3.0, 0.5, 2.0]),)),
    ("mutates-input", opt_step_mutates, lambda: (OptState(0, 0.1), jnp.ones(2))),
    ("mutates-input", halve_lr, lambda: ({"opt": {"lr": 0.1}}, jnp.ones(2))),
    ("writes-outside", counted_square, V3),
    ("writes-outside", logged_double, V3),
    ("writes-outside", tally, V3),
    ("writes-outside", remember, V3),
    ("writes-outside", count_in_module, V3),
    ("writes-outside", train_step, lambda: (jnp.ones(2), jnp.ones(2))),
    ("leaks-tracer", forward_stash, lambda: (jnp.float32(0.5), jnp.ones(3))),
    ("leaks-tracer", forward_keep, lambda: (jnp.float32(0.5), jnp.ones(3))),
    ("leaks-tracer", tracking_loss, lambda: (jnp.float32(0.5), jnp.ones(3))),
    ("leaks-tracer", scan_with_log, V3),
    ("bakes-global", scale, V3),
    ("bakes-global", predict, lambda: (jnp.ones((2, 3)),)),
    ("bakes-global", add_state, V3),
    ("bakes-global", sgd, lambda: (jnp.ones(2), jnp.ones(2))),
    ("bakes-global", predictor, V3),
    ("bakes-global", dropout_or_not, V3),
    ("bakes-global", weight_decay, V3),
    ("bakes-global", decay_from_module, V3),
    ("recompiles", double_with_fresh_jit, V3),
    ("recompiles", loss_inner_jit, lambda: (jnp.float32(0.5), jnp.ones(3))),
    ("recompiles", sgd_static_lr, lambda: (jnp.ones(2), 0.1)),
    ("recompiles", power_with_partial, V3),
    ("recompiles", counted_update, lambda: (CountedState(jnp.ones(2), 0), jnp.ones(2))),
    ("recompiles", decayed_update, lambda: (jnp.ones(2), 0)),
    ("not-deterministic", noisy, V3),
    ("not-deterministic", jitter, V3),
    ("not-deterministic", timestamped_noise, V3),
    ("jit-differs", center_big, lambda: (np.array([0.25, 0.5]),)),
    ("jit-differs", shifted_sum, lambda: (np.array([1.0, 2.0]),)),
    ("jit-differs", is_traced, V3),
    ("jit-differs", in_millis, lambda: (np.array([5_000, 7], dtype=np.int64),)),
    ("reuses-key", two_noises, lambda: (jax.random.key(0), jnp.ones(3))),
    ("reuses-key", split_but_reuse, lambda: (jax.random.key(0), jnp.ones(3))),
    ("reuses-key", global_key_noise, V3),
    ("reuses-key", raw_key_reuse, lambda: (jax.random.PRNGKey(0), jnp.ones(3))),
    ("reuses-key", loop_same_key, lambda: (jax.random.key(1), jnp.ones(3))),
    ("reuses-key", walk_step_keeps_key, lambda: (WalkState(jnp.zeros(2), jax.random.key(0)), 0.5)),
    ("reuses-key", fixed_seed_noise, V3),
    ("reuses-key", sample_and_return_key, lambda: (jax.random.key(3), jnp.ones(2))),
    ("python-side-effect", loud_loss, lambda: (jnp.float32(0.5), jnp.ones(3))),
    ("python-side-effect", logged_step, lambda: (jnp.ones(2), jnp.ones(2))),
    ("python-side-effect", jitted_verbose, V3),
    ("python-side-effect", warn_on_negative, V3),
    ("not-traceable", relu_if, lambda: (jnp.float32(2.0),)),
    ("not-traceable", to_python, V3),
    ("not-traceable", numpy_inside, V3),
    ("not-traceable", keep_positive, V3),
    ("not-traceable", repeat_n, lambda: (jnp.ones(2), jnp.int32(3))),
    ("not-traceable", item_then_log, V3),
    ("not-traceable", jitted_branch, V3),
    ("mutates-input", zero_first, V3),
    ("mutates-input", scale_all_inplace, lambda: ([np.ones(2), np.ones(2)], 0.5)),
    ("not-deterministic", pick_random_row, lambda: (jnp.arange(16.0).reshape(8, 2),)),
    ("not-deterministic", generator_noise, V3),
    ("bakes-global", scaled.apply, V3),
    ("reuses-key", fold_in_twice, lambda: (jax.random.key(0), jnp.ones(3))),
    ("writes-outside", step_counter.step, V3),
    ("python-side-effect", warns_when_traced, V3),
    ("writes-outside", marks_environment, V3),
    ("not-deterministic", noise_drawn_when_traced, V3),
    ("bakes-global", mix_from_list, V3),
    ("not-deterministic", clock_scaled, V3),
    ("mutates-input", fill_after_sum, lambda: (np.ones(3),)),
    ("writes-outside", remember_shape, V3),
    ("recompiles", warmup, lambda: (jnp.ones(3), 0)),
    ("recompiles", jit_of_method_each_call, V3),
    ("reuses-key", raw_key_in_state, lambda: ({"rng": jax.random.PRNGKey(0), "x": jnp.ones(2)},)),
    ("writes-outside", turns_on_x64, V3),
    ("bakes-global", sgd_from_cli, lambda: (jnp.ones(2), jnp.ones(2))),
    ("bakes-global", normalise_channels, V3),
    ("bakes-global", soften_scores, V3),
    ("recompiles", batched_totals_fresh_jit, lambda: (jnp.ones((2, 3)),)),
    ("recompiles", decayed, lambda: (jnp.ones(2), 3)),
    ("recompiles", scale_by_static_helper, lambda: (jnp.ones(2), 0.5)),
    ("not-deterministic", seeded_by_clock, V3),
    ("bakes-global", network.forward, V3),
    ("python-side-effect", calls_announcing_helper, V3),
    ("python-side-effect", logs_privately, V3),
    ("bakes-global", momentum.step, lambda: (jnp.ones(2), jnp.ones(2))),
    ("bakes-global", scale_from_environment, V3),
    ("bakes-global", offset_grad, lambda: (jnp.float32(0.0), jnp.ones(3))),
    ("python-side-effect", loud_formatted_loss, lambda: (jnp.float32(0.5), jnp.ones(3))),
    ("python-side-effect", loud_item_loss, lambda: (jnp.float32(0.5), jnp.ones(3))),
    ("recompiles", per_batch_scale, lambda: (jnp.ones(2), 4)),
    ("writes-outside", quiet_log, lambda: (jnp.array([1.0, 2.0]),)),
    ("bakes-global", soft_clipped, V3),
    ("bakes-global", thermostat.error, V3),
    ("writes-outside", audited_model, V3),
    ("not-deterministic", rarely_flipped, V3),
    ("not-deterministic", centre_with_cached_mean, V3),
    ("not-traceable", projection.apply, V3),
    ("not-deterministic", noisy_minibatches, lambda: (jnp.arange(4.0),)),
    ("bakes-global", sgd_with_slots, lambda: (jnp.ones(2), jnp.ones(2))),
]

# (a print that fails under jit is both: jit cannot trace it, and it would run once per trace)
ALSO = {"leaks-tracer": {"writes-outside"}, "python-side-effect": {"not-traceable"},
        "not-deterministic": {"writes-outside"}}  # (a cache it fills is also a write)

CLEAN = [
    (relu_where, V3),
    (cumulative, V3),
    (dropout, lambda: (jax.random.key(0), jnp.ones(4), 0.5)),
    (two_noises_split, lambda: (jax.random.key(0), jnp.ones(3))),
    (raw_key_split, lambda: (jax.random.PRNGKey(0), jnp.ones(3))),
    (train_update, lambda: (TrainState(jnp.float32(1.0), jnp.int32(0)), jnp.ones(3))),
    (move, lambda: (Particle(position=jnp.zeros(2), velocity=jnp.ones(2)), 0.1)),
    (repeat_static, lambda: (jnp.ones(2), 3)),
    (zeros_like_shape, lambda: (jnp.ones(2), (2, 3))),
    (jitted_affine, V3),
    (set_first, lambda: (np.zeros(3, np.float32),)),
    (sgd_closure, lambda: (jnp.ones(2), jnp.ones(2))),
    (debug_printed, V3),
    (activate, V3),
    (activate, lambda: (jnp.ones(2), "tanh")),
    (fori_power, V3),
    (halve_until_small, lambda: (jnp.array([10.0, -3.0]),)),
    (value_and_grad_step, lambda: ({"w": jnp.float32(1.0), "b": jnp.float32(0.0)}, jnp.ones(3), jnp.ones(3))),
    (copy_then_update, lambda: (np.ones(2, np.float32),)),
    (vmapped_norms, lambda: (jnp.ones((3, 2)),)),
    (cond_branch, V3),
    (repeat_jitted, lambda: (jnp.ones(2), 2)),
    (seeded_sample, lambda: (7, 3)),
    (power_static, lambda: (jnp.array([1.0, 0.5]), 2)),
    (walk_step, lambda: (WalkState(jnp.zeros(2), jax.random.key(0)), 0.5)),
    (jax.jit(jax.vmap(relu_where)), lambda: (jnp.ones((2, 3)),)),
    (jax.jit(jax.grad(lambda w: jnp.sum(w**2))), lambda: (jnp.ones(2),)),
    (FrozenScaler(2.0), V3),
    (noise_if_asked, V3),
    (fold_in_steps, lambda: (jax.random.key(0), jnp.ones(3))),
    (linear, V3),
    (linear.apply, V3),
    (seeded_locally, V3),
    (causal, lambda: (jnp.ones((3, 3)),)),
    (jit_of_module_function, V3),
    (scaled_by_default, V3),
    (tuple_step, lambda: (CountedTuple(jnp.ones(2), 0), jnp.ones(2))),
    (make_sgd, lambda: (0.1,)),  # a factory: it returns the update rule, nothing to jit
    (raw_key_threaded, lambda: ({"rng": jax.random.PRNGKey(0), "x": jnp.ones(2)},)),
    (gain.apply, V3),
    (zeros_shaped_like_double, V3),
    (minibatches, lambda: (jnp.arange(6.0), 2)),
    (paired, lambda: (jnp.ones(3), jnp.zeros(3))),
]

CLEAN += MORE_CLEAN
