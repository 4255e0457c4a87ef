"""Known answers to exercise 14.1 (`fit_step`), each with the probe that must judge it."""

from __future__ import annotations

import jax
import jax.numpy as jnp

from tests.wrong_answers.helpers import parametrize, right, wrong

LR = 0.1
losses = []


def _loss(p, x, y):
    return jnp.mean((p["w"] * x + p["b"] - y) ** 2)


# Wrong answers ----------------------------------------------------------------------


def fit_step_in_place(params, x, y, lr):
    # The update still goes into the caller's dict.
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    for name in params:
        params[name] = params[name] - lr * grads[name]
    return params, loss


def fit_step_global_lr(params, x, y, lr):
    # lr is accepted and ignored: the global learning rate is baked in.
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return jax.tree.map(lambda p, g: p - LR * g, params, grads), loss


def fit_step_keeps_losses(params, x, y, lr):
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    losses.append(loss)  # the training curve, kept in a global
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def fit_step_prints(params, x, y, lr):
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    print("loss", loss)  # once per trace
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def fit_step_loss_after(params, x, y, lr):
    # The loss of the new parameters, not of the ones given.
    grads = jax.grad(_loss)(params, x, y)
    new = jax.tree.map(lambda p, g: p - lr * g, params, grads)
    return new, _loss(new, x, y)


def fit_step_static_lr(params, x, y, lr):
    # The learning rate read as a Python number: fine eagerly, a new trace per value under jit.
    return jax.jit(_update, static_argnums=3)(params, x, y, float(lr))


def _update(params, x, y, lr):
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def fit_step_only_w(params, x, y, lr):
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return {"w": params["w"] - lr * grads["w"], "b": params["b"]}, loss


# Right answers ----------------------------------------------------------------------


def fit_step_by_hand(params, x, y, lr):
    # The gradients written out: d/dw and d/db of the mean squared error.
    error = params["w"] * x + params["b"] - y
    loss = jnp.mean(error**2)
    grad_w = jnp.mean(2 * error * x)
    grad_b = jnp.mean(2 * error)
    return {"w": params["w"] - lr * grad_w, "b": params["b"] - lr * grad_b}, loss


def fit_step_debug_print(params, x, y, lr):
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    jax.debug.print("loss {}", loss)  # runs on every call: not a Python side effect
    return {k: params[k] - lr * grads[k] for k in params}, loss


GLOBAL_KEY = jax.random.key(0)


def add_noise_one_key(key, x, scale):
    # The same key for the noise and the mask.
    noise = jax.random.normal(key, x.shape)
    keep = jax.random.bernoulli(key, 0.5, x.shape)
    return key, jnp.where(keep, x + scale * noise, x)


def add_noise_global_key(key, x, scale):
    # The key argument is only passed through; the draws still use the global key.
    k1, k2 = jax.random.split(GLOBAL_KEY)
    noise = jax.random.normal(k1, x.shape)
    keep = jax.random.bernoulli(k2, 0.5, x.shape)
    return key, jnp.where(keep, x + scale * noise, x)


def add_noise_returns_used_key(key, x, scale):
    # Splits for the draws, then hands back the key it split: the caller's next call
    # draws from a consumed key.
    _, noise_key, mask_key = jax.random.split(key, 3)
    noise = jax.random.normal(noise_key, x.shape)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    return key, jnp.where(keep, x + scale * noise, x)


def add_noise_two_way_split(key, x, scale):
    # Two keys for three uses: the returned key also draws the mask.
    key, noise_key = jax.random.split(key)
    noise = jax.random.normal(noise_key, x.shape)
    keep = jax.random.bernoulli(key, 0.5, x.shape)
    return key, jnp.where(keep, x + scale * noise, x)


def add_noise_swapped_keys(key, x, scale):
    # The noise and mask keys in the other order.
    new_key, mask_key, noise_key = jax.random.split(key, 3)
    noise = jax.random.normal(noise_key, x.shape)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    return new_key, jnp.where(keep, x + scale * noise, x)


def add_noise_indexed(key, x, scale):
    keys = jax.random.split(key, 3)
    noisy = x + scale * jax.random.normal(keys[1], x.shape)
    return keys[0], jnp.where(jax.random.bernoulli(keys[2], 0.5, x.shape), noisy, x)


def add_noise_uniform_mask(key, x, scale):
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.bernoulli(mask_key, p=0.5, shape=jnp.shape(x))
    return new_key, jnp.where(keep, x + jax.random.normal(noise_key, jnp.shape(x)) * scale, x)


CASES = [
    wrong("14.1", "inputs-unchanged", fit_step_in_place),
    wrong("14.1", "matches-reference", fit_step_global_lr),
    wrong("14.1", "doctor-silent", fit_step_global_lr, label="fit_step_global_lr_doctor"),
    wrong("14.1", "globals-unchanged", fit_step_keeps_losses),
    wrong("14.1", "no-leaked-tracers", fit_step_keeps_losses, label="fit_step_keeps_losses_leak"),
    wrong("14.1", "doctor-silent", fit_step_prints),
    wrong("14.1", "matches-reference", fit_step_loss_after),
    wrong("14.1", "traces-once", fit_step_static_lr),
    wrong("14.1", "matches-reference", fit_step_only_w),
    right("14.1", fit_step_by_hand),
    right("14.1", fit_step_debug_print),
    wrong("14.2", "no-key-reuse", add_noise_one_key),
    wrong("14.2", "matches-reference", add_noise_global_key),
    wrong("14.2", "doctor-silent", add_noise_returns_used_key),
    wrong("14.2", "matches-reference", add_noise_two_way_split),
    wrong("14.2", "matches-reference", add_noise_swapped_keys),
    right("14.2", add_noise_indexed),
    right("14.2", add_noise_uniform_mask),
]

test_known_answer = parametrize(CASES)
