"""Chapter 7 · Randomness is state: known wrong and right answers to 7.1 and 7.2."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

GLOBAL_KEY = jax.random.key(2024)

# 7.1 sample_steps(key, n_steps, shape) ------------------------------------------------


def sample_same_key_every_step(key, n_steps, shape):
    # The NumPy habit: call the sampler once per step, as if it advanced by itself.
    return jnp.stack([jax.random.normal(key, shape) for _ in range(n_steps)])


def sample_split_result_dropped(key, n_steps, shape):
    rows = []
    for _ in range(n_steps):
        new_key, subkey = jax.random.split(key)  # new_key is never stored back into key
        rows.append(jax.random.normal(subkey, shape))
    return jnp.stack(rows)


def sample_draws_with_the_key_it_splits(key, n_steps, shape):
    rows = []
    for _ in range(n_steps):
        key, subkey = jax.random.split(key)
        rows.append(jax.random.normal(key, shape))  # draws with `key`, which is split again next step
    return jnp.stack(rows)


def sample_parent_key_used_for_step_zero(key, n_steps, shape):
    first = jax.random.normal(key, shape)
    rest = jax.vmap(lambda k: jax.random.normal(k, shape))(jax.random.split(key, n_steps - 1))
    return jnp.concatenate([first[None], rest])


def sample_from_global_key(key, n_steps, shape):
    step_keys = jax.random.split(GLOBAL_KEY, n_steps)  # ignores the key it was given
    return jax.vmap(lambda k: jax.random.normal(k, shape))(step_keys)


def sample_with_numpy(key, n_steps, shape):
    return jnp.asarray(np.random.standard_normal((n_steps, *shape)), dtype=jnp.float32)


def sample_one_draw_for_all_steps(key, n_steps, shape):
    return jax.random.normal(key, (n_steps, *shape))  # no key per step


def sample_uniform(key, n_steps, shape):
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.uniform(k, shape))(step_keys)


def sample_steps_fold_in(key, n_steps, shape):
    return jnp.stack([jax.random.normal(jax.random.fold_in(key, step), shape) for step in range(n_steps)])


def sample_steps_python_loop(key, n_steps, shape):
    rows = []
    for _ in range(n_steps):
        key, subkey = jax.random.split(key)
        rows.append(jax.random.normal(subkey, shape))
    return jnp.stack(rows)


def sample_steps_scan(key, n_steps, shape):
    def step(key, _):
        key, subkey = jax.random.split(key)
        return key, jax.random.normal(subkey, shape)

    _, samples = jax.lax.scan(step, key, length=n_steps)
    return samples


# 7.2 random_walk(key, n) ----------------------------------------------------------------


def _pm_one(key):
    return jnp.where(jax.random.bernoulli(key), 1, -1)


def walk_python_loop(key, n):
    position, positions = 0, []
    for _ in range(n):
        key, subkey = jax.random.split(key)
        position = position + _pm_one(subkey)
        positions.append(position)
    return jnp.stack(positions)


def walk_key_never_split(key, n):
    def step(carry, _):
        key, position = carry
        position = position + _pm_one(key)  # the same key every step: the same step every step
        return (key, position), position

    _, positions = jax.lax.scan(step, (key, 0), length=n)
    return positions


def walk_emits_position_before_step(key, n):
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        return (key, position + _pm_one(subkey)), position  # emits the old position: starts at 0

    _, positions = jax.lax.scan(step, (key, 0), length=n)
    return positions


def walk_steps_zero_or_one(key, n):
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + jax.random.bernoulli(subkey).astype(jnp.int32)
        return (key, position), position

    _, positions = jax.lax.scan(step, (key, 0), length=n)
    return positions


def walk_cumsum_of_one_draw(key, n):
    return jnp.cumsum(2 * jax.random.randint(key, (n,), 0, 2) - 1)


def walk_scan_over_presplit_keys(key, n):
    def step(position, subkey):
        position = position + _pm_one(subkey)
        return position, position

    _, positions = jax.lax.scan(step, 0, jax.random.split(key, n))
    return positions


def walk_from_global_key(key, n):
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + _pm_one(subkey)
        return (key, position), position

    _, positions = jax.lax.scan(step, (GLOBAL_KEY, 0), length=n)
    return positions


def walk_scan_steps_then_cumsum(key, n):
    def step(key, _):
        key, subkey = jax.random.split(key)
        return key, jax.random.choice(subkey, jnp.array([-1, 1]))

    _, steps = jax.lax.scan(step, key, length=n)
    return jnp.cumsum(steps)


def walk_fori_loop(key, n):
    def body(i, carry):
        key, position, positions = carry
        key, subkey = jax.random.split(key)
        position = position + 2.0 * jax.random.bernoulli(subkey) - 1.0
        return key, position, positions.at[i].set(position)

    _, _, positions = jax.lax.fori_loop(0, n, body, (key, 0.0, jnp.zeros(n)))
    return positions


CASES = [
    wrong("7.1", "steps-differ", sample_same_key_every_step),
    wrong("7.1", "no-key-reuse", sample_same_key_every_step, label="same_key_every_step_reuse"),
    wrong("7.1", "steps-differ", sample_split_result_dropped),
    wrong("7.1", "no-key-reuse", sample_draws_with_the_key_it_splits),
    wrong("7.1", "no-key-reuse", sample_parent_key_used_for_step_zero),
    wrong("7.1", "varies-with-key", sample_from_global_key),
    wrong("7.1", "same-result-twice", sample_with_numpy),
    wrong("7.1", "key-per-step", sample_one_draw_for_all_steps),
    wrong("7.1", "standard-normal", sample_uniform),
    right("7.1", sample_steps_fold_in),
    right("7.1", sample_steps_python_loop),
    right("7.1", sample_steps_scan),
    wrong("7.2", "uses-scan", walk_python_loop),
    wrong("7.2", "constant-program-size", walk_python_loop, label="walk_python_loop_grows"),
    wrong("7.2", "steps-vary", walk_key_never_split),
    wrong("7.2", "no-key-reuse", walk_key_never_split, label="walk_key_never_split_reuse"),
    wrong("7.2", "first-position", walk_emits_position_before_step),
    wrong("7.2", "steps-plus-minus-one", walk_steps_zero_or_one),
    wrong("7.2", "uses-scan", walk_cumsum_of_one_draw),
    wrong("7.2", "key-in-carry", walk_scan_over_presplit_keys),
    wrong("7.2", "varies-with-key", walk_from_global_key),
    right("7.2", walk_scan_steps_then_cumsum),
    right("7.2", walk_fori_loop),
]

test_known_answer = parametrize(CASES)
