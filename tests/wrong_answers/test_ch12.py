"""Chapter 12 · Stateful libraries: known answers to 12.1 (optax) and 12.2 (Equinox)."""

from __future__ import annotations

import collections

import jax
import jax.numpy as jnp
import pytest

from tests.wrong_answers.helpers import parametrize, right, wrong

optax = pytest.importorskip("optax")
eqx = pytest.importorskip("equinox")

# 12.1 · init_opt_state(params), train_step(params, opt_state, batch) ---------------------

schedule = optax.exponential_decay(0.1, transition_steps=4, decay_rate=0.5)
optimizer = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))


def loss_fn(params, batch):
    return jnp.mean((batch["x"] @ params["w"] + params["b"] - batch["y"]) ** 2)


def init_opt_state(params):
    return optimizer.init(params)


def train_step_fresh_state(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, optimizer.init(params), params)  # "start clean"
    return optax.apply_updates(params, updates), opt_state, loss


def train_step_old_state(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, new_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss  # the state it was given


def train_step_hard_coded_size(params, opt_state, batch):
    def loss(params):
        return jnp.sum((batch["x"] @ params["w"] + params["b"] - batch["y"]) ** 2) / 8

    value, grads = jax.value_and_grad(loss)(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, value


no_clip = optax.adam(schedule)


def train_step_no_clip(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = no_clip.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


clip_after = optax.chain(optax.adam(schedule), optax.clip_by_global_norm(1.0))


def train_step_clip_after(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = clip_after.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train_step_subtracts(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    # the updates already point downhill: subtracting them climbs
    return jax.tree.map(lambda p, u: p - u, params, updates), opt_state, loss


# a schedule stepped by a Python counter: frozen at trace time under jit
manual = optax.chain(optax.clip_by_global_norm(1.0), optax.scale_by_adam())
step_counter = [0]


def init_manual(params):
    return manual.init(params)


def train_step_python_counter(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = manual.update(grads, opt_state, params)
    lr = schedule(step_counter[0])
    step_counter[0] += 1
    return jax.tree.map(lambda p, u: p - lr * u, params, updates), opt_state, loss


recent_states: collections.deque = collections.deque(maxlen=3)


def train_step_keeps_states(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    recent_states.append(opt_state)  # "to inspect later": tracers under jit
    return optax.apply_updates(params, updates), opt_state, loss


def train_step_bfloat16(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    new = optax.apply_updates(params, updates)
    return jax.tree.map(lambda p: p.astype(jnp.bfloat16), new), opt_state, loss  # "halve the memory"


def train_step_python_loss(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, float(loss)  # for the log: not under jit


def init_mutates(params):
    params["step"] = jnp.zeros((), jnp.int32)  # "keep the step count with the parameters"
    return optimizer.init({"w": params["w"], "b": params["b"]})


def train_step(params, opt_state, batch):
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


# right answers, written differently

explicit = optax.chain(
    optax.clip_by_global_norm(1.0),
    optax.scale_by_adam(),
    optax.scale_by_schedule(schedule),
    optax.scale(-1.0),
)


def init_explicit(params):
    return explicit.init(params)


def train_step_explicit(params, opt_state, batch):
    grads = jax.grad(loss_fn)(params, batch)
    updates, opt_state = explicit.update(grads, opt_state)
    return jax.tree.map(jnp.add, params, updates), opt_state, loss_fn(params, batch)


@jax.jit
def train_step_jitted(params, opt_state, batch):
    def residual_loss(p):
        residual = jnp.dot(batch["x"], p["w"]) + p["b"] - batch["y"]
        return jnp.mean(jnp.square(residual))

    loss, grads = jax.value_and_grad(residual_loss)(params)
    updates, opt_state = optimizer.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss


def make_step(tx):
    def step(params, opt_state, batch):
        loss, grads = jax.value_and_grad(loss_fn)(params, batch)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


# From an adversarial pass: optimizers that are almost the task's, and right ones built otherwise.
adamw = optax.chain(optax.clip_by_global_norm(1.0), optax.adamw(schedule))  # weight decay 1e-4
staircase = optax.chain(  # "halves every 4 steps", read as a staircase
    optax.clip_by_global_norm(1.0),
    optax.adam(optax.exponential_decay(0.1, transition_steps=4, decay_rate=0.5, staircase=True)),
)
clips_each_value = optax.chain(optax.clip(1.0), optax.adam(schedule))  # not the global norm
injected = optax.chain(optax.clip_by_global_norm(1.0), optax.inject_hyperparams(optax.adam)(learning_rate=schedule))
by_pieces = optax.chain(
    optax.clip_by_global_norm(1.0), optax.scale_by_adam(), optax.scale_by_schedule(schedule), optax.scale(-1.0)
)

floored = optax.chain(  # a schedule that stops at a floor: right for the first 27 steps
    optax.clip_by_global_norm(1.0),
    optax.adam(optax.exponential_decay(0.1, transition_steps=4, decay_rate=0.5, end_value=1e-3)),
)
per_step_rate = optax.chain(  # right: the same smooth schedule, as a rate per step
    optax.clip_by_global_norm(1.0), optax.adam(optax.exponential_decay(0.1, transition_steps=1, decay_rate=0.5**0.25))
)


def init_by_hand(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "count": jnp.zeros((), jnp.int32)}


def train_step_by_hand(params, state, batch):  # clipping, Adam and the schedule written out
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    norm = jnp.sqrt(sum(jnp.sum(g**2) for g in jax.tree.leaves(grads)))
    grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, 1.0 / norm), grads)
    count = state["count"] + 1
    m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g * g, state["v"], grads)
    lr = 0.1 * 0.5 ** (state["count"] / 4)
    params = jax.tree.map(
        lambda p, m, v: p - lr * (m / (1 - 0.9**count)) / (jnp.sqrt(v / (1 - 0.999**count)) + 1e-8), params, m, v
    )
    return params, {"m": m, "v": v, "count": count}, loss


CASES = [
    wrong("12.1", "state-threaded", init_opt_state, train_step_fresh_state),
    wrong("12.1", "state-threaded", init_opt_state, train_step_old_state),
    wrong("12.1", "first-step", init_opt_state, train_step_hard_coded_size),
    wrong("12.1", "first-step", init_opt_state, train_step_no_clip),
    wrong("12.1", "first-step", init_opt_state, train_step_clip_after),
    wrong("12.1", "first-step", init_opt_state, train_step_subtracts),
    wrong("12.1", "globals-unchanged", init_manual, train_step_python_counter),
    wrong("12.1", "state-threaded", init_manual, train_step_python_counter),
    wrong("12.1", "no-leaked-tracers", init_opt_state, train_step_keeps_states),
    wrong("12.1", "first-step", init_opt_state, train_step_bfloat16),
    wrong("12.1", "first-step", init_opt_state, train_step_python_loss),
    wrong("12.1", "init-inputs-unchanged", init_mutates, train_step),
    right("12.1", init_opt_state, train_step),
    right("12.1", init_explicit, train_step_explicit),
    right("12.1", optimizer.init, train_step_jitted, label="optimizer.init+train_step_jitted"),
    right("12.1", optimizer.init, make_step(optimizer), label="optimizer.init+make_step"),
    wrong("12.1", "state-threaded", adamw.init, make_step(adamw), label="adamw"),
    wrong("12.1", "state-threaded", staircase.init, make_step(staircase), label="staircase-schedule"),
    wrong("12.1", "state-threaded", clips_each_value.init, make_step(clips_each_value), label="optax.clip"),
    right("12.1", injected.init, make_step(injected), label="inject_hyperparams"),
    right("12.1", by_pieces.init, make_step(by_pieces), label="scale_by_adam-chain"),
    right("12.1", init_by_hand, train_step_by_hand),
    wrong("12.1", "state-threaded", floored.init, make_step(floored), label="schedule-with-floor"),
    right("12.1", per_step_rate.init, make_step(per_step_rate), label="per-step-decay-rate"),
]

# 12.2 · train_step(model, state, x, y) ----------------------------------------------------


def forward(model, state, x):
    return jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))(x, state)


def sgd(model, grads):
    return eqx.apply_updates(model, jax.tree.map(lambda g: -0.1 * g, grads))


def bn_step_drops_state(model, state, x, y):  # the colleague's step
    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.mean((preds - y) ** 2)

    value, grads = eqx.filter_value_and_grad(loss)(model)
    return sgd(model, grads), state, value


def bn_step_state_after_update(model, state, x, y):
    def loss(model):
        preds, _ = forward(model, state, x)
        return jnp.mean((preds - y) ** 2)

    value, grads = eqx.filter_value_and_grad(loss)(model)
    model = sgd(model, grads)
    _, new_state = forward(model, state, x)  # "a second pass for the statistics", after the update
    return model, new_state, value


INITIAL = {}


def bn_step_from_initial_state(model, state, x, y):
    INITIAL.setdefault("state", state)  # "the state to normalise with", kept from the first call

    def loss(model):
        preds, new_state = forward(model, INITIAL["state"], x)
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    return sgd(model, grads), new_state, value


STEPS = {"n": 0}


def bn_step_counts_steps(model, state, x, y):
    STEPS["n"] += 1  # "for the log": runs once per trace, not once per step

    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    return sgd(model, grads), new_state, value


latest = {}


def bn_step_global_state(model, state, x, y):
    def loss(model):
        preds, new_state = forward(model, state, x)
        latest["state"] = new_state  # "read it back after the step": a tracer
        return jnp.mean((preds - y) ** 2)

    value, grads = eqx.filter_value_and_grad(loss)(model)
    return sgd(model, grads), latest["state"], value


def bn_step_inference_mode(model, state, x, y):
    def loss(model):
        preds, new_state = forward(eqx.nn.inference_mode(model), state, x)  # "deterministic"
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    return sgd(model, grads), new_state, value


def bn_step_bfloat16_state(model, state, x, y):
    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    small = jax.tree.map(
        lambda a: a.astype(jnp.bfloat16) if jnp.issubdtype(a.dtype, jnp.floating) else a, new_state
    )
    return sgd(model, grads), small, value


def bn_step_sums_loss(model, state, x, y):
    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.sum((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    return sgd(model, grads), new_state, value


# right answers, written differently


def bn_step(model, state, x, y):
    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    return sgd(model, grads), new_state, value


def bn_step_second_pass(model, state, x, y):
    _, new_state = forward(model, state, x)  # the statistics, from the parameters it was given

    def loss(model):
        preds, _ = forward(model, state, x)
        return jnp.mean((preds - y) ** 2)

    value, grads = eqx.filter_value_and_grad(loss)(model)
    return sgd(model, grads), new_state, value


def bn_step_partitioned(model, state, x, y):
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss(params):
        preds, new_state = forward(eqx.combine(params, static), state, x)
        return jnp.mean(jnp.square(preds - y)), new_state

    (value, new_state), grads = jax.value_and_grad(loss, has_aux=True)(params)
    params = jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
    return eqx.combine(params, static), new_state, value


def bn_step_norm_frozen(model, state, x, y):  # BatchNorm's own weight and bias left out of the step
    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    grads = eqx.tree_at(lambda g: g.norm, grads, replace_fn=lambda norm: jax.tree.map(jnp.zeros_like, norm))
    return sgd(model, grads), new_state, value


def bn_step_folds_twice(model, state, x, y):  # "refresh the statistics": the batch folded in twice
    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    _, new_state = forward(model, new_state, x)
    return sgd(model, grads), new_state, value


def bn_step_optax_sgd(model, state, x, y):
    tx = optax.sgd(0.1)
    params, static = eqx.partition(model, eqx.is_inexact_array)

    def loss(params):
        preds, new_state = forward(eqx.combine(params, static), state, x)
        return 2 * optax.l2_loss(preds, y).mean(), jax.lax.stop_gradient(new_state)

    (value, new_state), grads = jax.value_and_grad(loss, has_aux=True)(params)
    updates, _ = tx.update(grads, tx.init(params))
    return eqx.combine(optax.apply_updates(params, updates), static), new_state, value


CASES += [
    wrong("12.2", "running-stats", bn_step_drops_state),
    wrong("12.2", "inference", bn_step_drops_state),
    wrong("12.2", "running-stats", bn_step_state_after_update),
    wrong("12.2", "running-stats", bn_step_from_initial_state),
    wrong("12.2", "globals-unchanged", bn_step_counts_steps),
    wrong("12.2", "no-leaked-tracers", bn_step_global_state),
    wrong("12.2", "trains", bn_step_inference_mode),
    wrong("12.2", "running-stats", bn_step_bfloat16_state),
    wrong("12.2", "trains", bn_step_sums_loss),
    right("12.2", bn_step),
    right("12.2", bn_step_second_pass),
    right("12.2", bn_step_partitioned),
    wrong("12.2", "trains", bn_step_norm_frozen),
    wrong("12.2", "running-stats", bn_step_folds_twice),
    right("12.2", bn_step_optax_sgd),
]


# Round 3: gradients of the wrong scale, or another clipping threshold. Adam does not see a
# constant scale of its gradients, and clipping every gradient to norm 1 makes any scale
# constant: these pass every run whose gradients are all clipped.


def train_step_gradient_of_sum(params, opt_state, batch):  # reports the mean, follows the sum
    loss = loss_fn(params, batch)
    grads = jax.grad(lambda p: jnp.sum((batch["x"] @ p["w"] + p["b"] - batch["y"]) ** 2))(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train_step_half_mse_gradient(params, opt_state, batch):  # "the 1/2 makes the gradient clean"
    loss = loss_fn(params, batch)
    grads = jax.grad(lambda p: 0.5 * loss_fn(p, batch))(params)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


clips_at_two = optax.chain(optax.clip_by_global_norm(2.0), optax.adam(schedule))
clips_at_half = optax.chain(optax.clip_by_global_norm(0.5), optax.adam(schedule))

CASES += [
    wrong("12.1", "state-threaded", init_opt_state, train_step_gradient_of_sum),
    wrong("12.1", "state-threaded", init_opt_state, train_step_half_mse_gradient),
    wrong("12.1", "state-threaded", clips_at_two.init, make_step(clips_at_two), label="clip-at-2"),
    wrong("12.1", "state-threaded", clips_at_half.init, make_step(clips_at_half), label="clip-at-0.5"),
]


# Round 4: Adam written by hand with its eps under the square root (an eps of 1e-4 where the
# gradients are small); right answers that build the same optimizer from other pieces.


def init_adam_by_hand(params):
    zeros = jax.tree.map(jnp.zeros_like, params)
    return {"m": zeros, "v": zeros, "t": jnp.zeros((), jnp.int32)}


def train_step_eps_under_sqrt(params, state, batch):  # sqrt(v_hat + eps), as some papers write it
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    grads = optax.clip_by_global_norm(1.0).update(grads, optax.EmptyState())[0]
    t = state["t"] + 1
    m = jax.tree.map(lambda m, g: 0.9 * m + 0.1 * g, state["m"], grads)
    v = jax.tree.map(lambda v, g: 0.999 * v + 0.001 * g**2, state["v"], grads)
    lr = schedule(state["t"])
    step = jax.tree.map(lambda m, v: lr * (m / (1 - 0.9**t)) / jnp.sqrt(v / (1 - 0.999**t) + 1e-8), m, v)
    return jax.tree.map(jnp.subtract, params, step), {"m": m, "v": v, "t": t}, loss


eps_root = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule, eps=0.0, eps_root=1e-8))
adam_then_schedule = optax.chain(  # right: Adam at rate 1, then the schedule as a scale
    optax.clip_by_global_norm(1.0), optax.adam(1.0), optax.scale_by_schedule(schedule)
)
by_learning_rate = optax.chain(
    optax.clip_by_global_norm(1.0), optax.scale_by_adam(), optax.scale_by_learning_rate(schedule)
)
lambda_schedule = optax.chain(optax.clip_by_global_norm(1.0), optax.adam(lambda count: 0.1 * 2.0 ** (-count / 4)))
if_finite = optax.apply_if_finite(optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule)), 3)
injected_constant = optax.chain(optax.clip_by_global_norm(1.0), optax.inject_hyperparams(optax.adam)(learning_rate=0.1))


def train_step_sets_injected_rate(params, opt_state, batch):  # right: the rate set from the count
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    opt_state[1].hyperparams["learning_rate"] = schedule(opt_state[1].count)
    updates, opt_state = injected_constant.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train_step_equinox_grad(params, opt_state, batch):  # right: eqx.filter_value_and_grad on a dict
    loss, grads = eqx.filter_value_and_grad(loss_fn)(params, batch)
    updates, opt_state = optimizer.update(grads, opt_state, params)
    return eqx.apply_updates(params, updates), opt_state, loss


def train_step_clip_by_hand(params, opt_state, batch):  # right: divide by max(norm, 1)
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    grads = jax.tree.map(lambda g: g / jnp.maximum(optax.global_norm(grads), 1.0), grads)
    updates, opt_state = adam_only.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


def train_step_clip_each_leaf(params, opt_state, batch):  # a norm per leaf, not the global one
    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    grads = jax.tree.map(lambda g: g * jnp.minimum(1.0, 1.0 / jnp.linalg.norm(g)), grads)
    updates, opt_state = adam_only.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss


adam_only = optax.adam(schedule)

CASES += [
    wrong("12.1", "first-step", init_adam_by_hand, train_step_eps_under_sqrt),
    wrong("12.1", "first-step", eps_root.init, make_step(eps_root), label="adam-eps_root"),
    right("12.1", adam_then_schedule.init, make_step(adam_then_schedule), label="adam-then-scale_by_schedule"),
    right("12.1", by_learning_rate.init, make_step(by_learning_rate), label="scale_by_learning_rate"),
    right("12.1", lambda_schedule.init, make_step(lambda_schedule), label="lambda-schedule"),
    right("12.1", if_finite.init, make_step(if_finite), label="apply_if_finite"),
    right("12.1", injected_constant.init, train_step_sets_injected_rate),
    right("12.1", init_opt_state, train_step_equinox_grad),
    right("12.1", adam_only.init, train_step_clip_by_hand),
    wrong("12.1", "state-threaded", adam_only.init, train_step_clip_each_leaf),
]


# 12.2, round 4: a weight decay of 1e-4, PyTorch's SGD habit (0.1 * 1e-4 * w a step, under the
# weights' tolerance; every step taken is now compared to 1e-6); right answers in other idioms.


def bn_step_weight_decay(model, state, x, y):
    def loss(model):
        preds, new_state = forward(model, state, x)
        return jnp.mean((preds - y) ** 2), new_state

    (value, new_state), grads = eqx.filter_value_and_grad(loss, has_aux=True)(model)
    tx = optax.chain(optax.add_decayed_weights(1e-4), optax.sgd(0.1))  # torch.optim.SGD(weight_decay=1e-4)
    params = eqx.filter(model, eqx.is_inexact_array)
    updates, _ = tx.update(grads, tx.init(params), params)
    return eqx.apply_updates(model, updates), new_state, value


def bn_step_train_mode(model, state, x, y):  # right: "model.train()", which it already is
    model = eqx.nn.inference_mode(model, value=False)
    return bn_step(model, state, x, y)


@eqx.filter_jit(donate="all")
def bn_step_filter_jit_donating(model, state, x, y):  # right: jitted and donating, under the check's jit
    return bn_step(model, state, x, y)


def bn_step_filter_grad_aux(model, state, x, y):  # right: the loss travels in the aux too
    def loss(model):
        preds, new_state = forward(model, state, x)
        value = jnp.mean((preds - y) ** 2)
        return value, (new_state, value)

    grads, (new_state, value) = eqx.filter_grad(loss, has_aux=True)(model)
    return sgd(model, grads), new_state, value


def bn_step_returns_eval_model(model, state, x, y):  # "model.eval()" at the end of the step
    new_model, new_state, value = bn_step(model, state, x, y)
    return eqx.nn.inference_mode(new_model), new_state, value


CASES += [
    wrong("12.2", "trains", bn_step_weight_decay),
    right("12.2", bn_step_train_mode),
    right("12.2", bn_step_filter_jit_donating),
    right("12.2", bn_step_filter_grad_aux),
    wrong("12.2", "trains", bn_step_returns_eval_model),
]

test_known_answer = parametrize(CASES)
