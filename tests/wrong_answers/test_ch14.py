"""Known answers to exercises 14.1 (`fit_step`) and 14.2 (`add_noise`), each with the probe that must judge it."""

from __future__ import annotations

import logging

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


# From an adversarial pass -----------------------------------------------------------

_first_lr: dict = {}
collected_losses: list = []


def fit_step_logs(params, x, y, lr):  # logging is a Python side effect too: once per trace
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    logging.getLogger("purestate.tests.fit_step").warning("fit_step traced")
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def fit_step_first_lr_kept(params, x, y, lr):  # "the schedule starts from the first lr"
    lr = _first_lr.setdefault("lr", lr)
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def fit_step_float_lr(params, x, y, lr):  # a Python float: a tracer cannot become one
    lr = float(lr)
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def fit_step_alias_then_assign(params, x, y, lr):  # `new = params` is not a copy
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    new = params
    new["w"] = params["w"] - lr * grads["w"]
    new["b"] = params["b"] - lr * grads["b"]
    return dict(new), loss


def fit_step_sum_gradient(params, x, y, lr):  # the gradient of the sum, the loss of the mean
    loss, grads = jax.value_and_grad(lambda p: jnp.sum((p["w"] * x + p["b"] - y) ** 2))(params)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss / x.shape[0]


def fit_step_gradient_without_two(params, x, y, lr):  # d/dw of a mean square, the 2 forgotten
    r = params["w"] * x + params["b"] - y
    return {"w": params["w"] - lr * jnp.mean(r * x), "b": params["b"] - lr * jnp.mean(r)}, jnp.mean(r**2)


def fit_step_callback_collects(params, x, y, lr):  # a callback that still fills a global list
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    jax.debug.callback(lambda value: collected_losses.append(float(value)), loss)
    return jax.tree.map(lambda p, g: p - lr * g, params, grads), loss


def fit_step_copies_dict(params, x, y, lr):
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    new = dict(params)
    for name in ("w", "b"):
        new[name] = new[name] - lr * grads[name]
    return new, loss


def fit_step_grad_with_aux(params, x, y, lr):
    def loss_fn(p):
        value = _loss(p, x, y)
        return value, value

    grads, loss = jax.grad(loss_fn, has_aux=True)(params)
    return jax.tree_util.tree_map(lambda p, g: p - lr * g, params, grads), loss


def add_noise_mask_above_half(key, x, scale):  # uniform > 0.5 is not bernoulli(0.5)'s mask
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.uniform(mask_key, x.shape) > 0.5
    return new_key, jnp.where(keep, x + scale * jax.random.normal(noise_key, x.shape), x)


def add_noise_inverted_mask(key, x, scale):  # noise where the mask is false
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    return new_key, jnp.where(keep, x, x + scale * jax.random.normal(noise_key, x.shape))


def add_noise_scale_as_variance(key, x, scale):  # sqrt(scale): scale read as a variance
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    return new_key, jnp.where(keep, x + jnp.sqrt(scale) * jax.random.normal(noise_key, x.shape), x)


def add_noise_nested_splits(key, x, scale):  # two splits, not the one split of three
    key, sub = jax.random.split(key)
    noise_key, mask_key = jax.random.split(sub)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    return key, jnp.where(keep, x + scale * jax.random.normal(noise_key, x.shape), x)


def add_noise_mask_from_noise(key, x, scale):  # "positive noise only": one draw for two uses
    new_key, noise_key, _ = jax.random.split(key, 3)
    noise = jax.random.normal(noise_key, x.shape)
    return new_key, jnp.where(noise > 0, x + scale * noise, x)


def add_noise_randint_mask(key, x, scale):  # a fair coin, but not bernoulli's
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.randint(mask_key, x.shape, 0, 2).astype(bool)
    return new_key, jnp.where(keep, x + scale * jax.random.normal(noise_key, x.shape), x)


def add_noise_uniform_below_half(key, x, scale):  # right: bernoulli(k, 0.5) is uniform(k) < 0.5
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.uniform(mask_key, x.shape) < 0.5
    return new_key, jnp.where(keep, x + scale * jax.random.normal(noise_key, x.shape), x)


def add_noise_star_unpack(key, x, scale):
    new_key, *draw_keys = jax.random.split(key, num=3)
    noise = scale * jax.random.normal(draw_keys[0], jnp.shape(x), dtype=x.dtype)
    return new_key, x + jax.random.bernoulli(draw_keys[1], shape=jnp.shape(x)) * noise


def fit_step_unpacks_values(params, x, y, lr):  # w, b by position: the keys may come as b, w
    w, b = params.values()
    loss, (grad_w, grad_b) = jax.value_and_grad(lambda wb: jnp.mean((wb[0] * x + wb[1] - y) ** 2))((w, b))
    return {"w": w - lr * grad_w, "b": b - lr * grad_b}, loss


def add_noise_draws_len(key, x, scale):  # (len(x),): the shape of a 1-D x only
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    noise = jax.random.normal(noise_key, (len(x),))
    keep = jax.random.bernoulli(mask_key, 0.5, (len(x),))
    return new_key, jnp.where(keep, x + scale * noise, x)


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
    wrong("14.1", "doctor-silent", fit_step_logs),
    wrong("14.1", "matches-reference", fit_step_unpacks_values),
    wrong("14.1", "matches-reference", fit_step_first_lr_kept),
    wrong("14.1", "traces-once", fit_step_float_lr),
    wrong("14.1", "inputs-unchanged", fit_step_alias_then_assign),
    wrong("14.1", "matches-reference", fit_step_sum_gradient),
    wrong("14.1", "matches-reference", fit_step_gradient_without_two),
    wrong("14.1", "globals-unchanged", fit_step_callback_collects),
    right("14.1", fit_step_copies_dict),
    right("14.1", fit_step_grad_with_aux),
    wrong("14.2", "matches-reference", add_noise_mask_above_half),
    wrong("14.2", "matches-reference", add_noise_inverted_mask),
    wrong("14.2", "matches-reference", add_noise_scale_as_variance),
    wrong("14.2", "matches-reference", add_noise_nested_splits),
    wrong("14.2", "matches-reference", add_noise_mask_from_noise),
    wrong("14.2", "matches-reference", add_noise_randint_mask),
    wrong("14.2", "matches-reference", add_noise_draws_len),
    right("14.2", add_noise_uniform_below_half),
    right("14.2", add_noise_star_unpack),
]

# Round 3.


def add_noise_returns_key_data(key, x, scale):  # "the caller stores plain arrays"
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    noisy = jnp.where(keep, x + scale * jax.random.normal(noise_key, x.shape), x)
    return jax.random.key_data(new_key), noisy


def add_noise_mask_times_noise(key, x, scale):  # right: the mask as a 0/1 factor
    keys = jax.random.split(key, 3)
    keep = jax.random.bernoulli(keys[2], 0.5, jnp.shape(x))
    return keys[0], x + keep * (scale * jax.random.normal(keys[1], jnp.shape(x)))


def fit_step_callback_print(params, x, y, lr):  # right: a print at run time, like jax.debug.print
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    jax.debug.callback(lambda value: print("loss", value), loss)
    return {name: params[name] - lr * grads[name] for name in params}, loss


CASES += [
    wrong("14.2", "returns-typed-key", add_noise_returns_key_data),
    right("14.2", add_noise_mask_times_noise),
    right("14.1", fit_step_callback_print),
]


# Round 4: jit habits (a donated key, a donated params dict, a static scale), a float16 learning
# rate, and keys drawn otherwise than the task's one split of three.


def _split_three(key, x, scale):
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    return new_key, jnp.where(keep, x + scale * jax.random.normal(noise_key, x.shape), x)


add_noise_donates_key = jax.jit(_split_three, donate_argnums=0)  # right: the key is spent anyway
add_noise_jitted = jax.jit(_split_three)  # right (and checked after the donating one: the case's key survives)
add_noise_static_scale = jax.jit(_split_three, static_argnums=2)  # a new compilation per scale


def add_noise_returns_given_key(key, x, scale):  # "the caller's key": the one the split consumed
    _, noise_key, mask_key = jax.random.split(key, 3)
    keep = jax.random.bernoulli(mask_key, 0.5, x.shape)
    return key, jnp.where(keep, x + scale * jax.random.normal(noise_key, x.shape), x)


def add_noise_one_coin(key, x, scale):  # no shape: one coin for the whole of x
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    return new_key, jnp.where(jax.random.bernoulli(mask_key, 0.5), x + scale * jax.random.normal(noise_key, x.shape), x)


def add_noise_truncated(key, x, scale):  # "no outliers": truncated at ±3, not jax.random.normal
    new_key, noise_key, mask_key = jax.random.split(key, 3)
    noise = jax.random.truncated_normal(noise_key, -3.0, 3.0, x.shape)
    return new_key, jnp.where(jax.random.bernoulli(mask_key, 0.5, x.shape), x + scale * noise, x)


def add_noise_split_then_fold(key, x, scale):  # two keys folded from one split: not the task's keys
    new_key, sub = jax.random.split(key)
    noise_key, mask_key = jax.random.fold_in(sub, 0), jax.random.fold_in(sub, 1)
    return new_key, jnp.where(jax.random.bernoulli(mask_key, 0.5, x.shape), x + scale * jax.random.normal(noise_key, x.shape), x)


def add_noise_select_default_p(key, x, scale):  # right: bernoulli's default p is 0.5
    keys = jax.random.split(jax.random.clone(key), num=3)
    noise = jax.random.normal(keys[1], jnp.shape(x), x.dtype)
    return keys[0], jax.lax.select(jax.random.bernoulli(keys[2], shape=x.shape), x + scale * noise, x)


@jax.jit
def fit_step_jitted(params, x, y, lr):  # right: jitted by the reader
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return {k: params[k] - lr * grads[k] for k in params}, loss


def fit_step_copy_then_subtract(params, x, y, lr):  # right: -= rebinds the copy's entries
    import copy

    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    new = copy.copy(params)
    for name in new:
        new[name] -= lr * grads[name]
    return new, loss


def fit_step_optax_sgd(params, x, y, lr):  # right: optax.sgd with the traced lr
    import optax

    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    tx = optax.sgd(lr)
    updates, _ = tx.update(grads, tx.init(params))
    return optax.apply_updates(params, updates), loss


fit_step_donates_params = jax.jit(  # "no copy of the parameters": the caller's dict is deleted
    lambda params, x, y, lr: fit_step_jitted(params, x, y, lr), donate_argnums=0
)


def fit_step_half_precision_lr(params, x, y, lr):  # "the learning rate needs no precision"
    lr = jnp.asarray(lr, jnp.float16)
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return {k: params[k] - lr * grads[k] for k in params}, loss


CASES += [
    right("14.2", add_noise_donates_key, label="add_noise_donates_key"),
    right("14.2", add_noise_jitted, label="add_noise_jitted"),
    wrong("14.2", "doctor-silent", add_noise_static_scale, label="add_noise_static_scale"),
    wrong("14.2", "matches-reference", add_noise_returns_given_key),
    wrong("14.2", "matches-reference", add_noise_one_coin),
    wrong("14.2", "matches-reference", add_noise_truncated),
    wrong("14.2", "matches-reference", add_noise_split_then_fold),
    right("14.2", add_noise_select_default_p),
    right("14.1", fit_step_jitted),
    right("14.1", fit_step_copy_then_subtract),
    right("14.1", fit_step_optax_sgd, needs=("optax",)),
    wrong("14.1", "inputs-unchanged", fit_step_donates_params, label="fit_step_donates_params"),
    wrong("14.1", "matches-reference", fit_step_half_precision_lr),
]


def fit_step_validates_lr(params, x, y, lr):  # a Python check of a value jit traces
    if lr <= 0:
        raise ValueError("lr must be positive")
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return {k: params[k] - lr * grads[k] for k in params}, loss


def fit_step_asserts_shapes(params, x, y, lr):  # right: shapes are known while tracing
    assert x.shape == y.shape, "x and y differ"
    loss, grads = jax.value_and_grad(_loss)(params, x, y)
    return {k: params[k] - lr * grads[k] for k in params}, loss


CASES += [
    wrong("14.1", "traces-once", fit_step_validates_lr),
    right("14.1", fit_step_asserts_shapes),
]

test_known_answer = parametrize(CASES)
