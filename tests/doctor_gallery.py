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
import functools
import logging
import os
import random
import time
import types
import warnings
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

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
