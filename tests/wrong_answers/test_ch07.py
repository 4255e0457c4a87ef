"""Chapter 7 · Randomness is state: known wrong and right answers to 7.1, 7.2 and 7.3."""

from __future__ import annotations

import collections

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


def sample_one_draw_from_first_step_key(key, n_steps, shape):
    step_keys = jax.random.split(key, n_steps)
    return jax.random.normal(step_keys[0], (n_steps, *shape))  # one key, reshaped into steps


def sample_every_step_from_first_key(key, n_steps, shape):
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.normal(step_keys[0], shape))(step_keys)  # k is never used


def sample_hard_coded_steps(key, n_steps, shape):
    step_keys = jax.random.split(key, 4)  # the length of the first example
    return jax.vmap(lambda k: jax.random.normal(k, shape))(step_keys)


def sample_hard_coded_shape(key, n_steps, shape):
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.normal(k, (256,)))(step_keys)


def sample_half_precision(key, n_steps, shape):
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.normal(k, shape, dtype=jnp.float16))(step_keys)


def sample_alternating_keys(key, n_steps, shape):
    # Two keys, alternated: a "fresh" key on every step, but only two different ones.
    even, odd = jax.random.split(key)
    return jnp.stack([jax.random.normal(even if i % 2 == 0 else odd, shape) for i in range(n_steps)])


SAVED_KEYS = []


def sample_saving_keys(key, n_steps, shape):
    step_keys = jax.random.split(key, n_steps)
    SAVED_KEYS.append(step_keys)  # "to replay the steps later"
    return jax.vmap(lambda k: jax.random.normal(k, shape))(step_keys)


def sample_counting_calls(key, n_steps, shape):
    sample_counting_calls.calls = getattr(sample_counting_calls, "calls", 0) + 1  # an attribute counter
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.normal(k, shape))(step_keys)


RECENT_SAMPLES = collections.deque(maxlen=4)


def sample_logging_to_deque(key, n_steps, shape):
    samples = jax.vmap(lambda k: jax.random.normal(k, shape))(jax.random.split(key, n_steps))
    RECENT_SAMPLES.append(samples)
    return samples


def sample_steps_lax_map(key, n_steps, shape):
    return jax.lax.map(lambda k: jax.random.normal(k, shape), jax.random.split(key, n_steps))


def sample_steps_fold_in_offset(key, n_steps, shape):
    # fold_in only (one scheme), step numbers from 1: still a fresh key per step.
    rows = [jax.random.normal(jax.random.fold_in(key, step + 1), shape, dtype=jnp.float32) for step in range(n_steps)]
    return jnp.stack(rows) if rows else jnp.zeros((0, *shape))


def sample_steps_fori_loop(key, n_steps, shape):
    def body(i, carry):
        key, out = carry
        key, subkey = jax.random.split(key)
        return key, out.at[i].set(jax.random.normal(subkey, shape))

    return jax.lax.fori_loop(0, n_steps, body, (key, jnp.zeros((n_steps, *shape))))[1]


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


def walk_fori_loop_unrolled(key, n):  # "unroll for speed": 2048 steps compile one body each
    def body(i, carry):
        key, position, positions = carry
        key, subkey = jax.random.split(key)
        position = position + 2 * jax.random.bernoulli(subkey).astype(jnp.int32) - 1
        return key, position, positions.at[i].set(position)

    _, _, positions = jax.lax.fori_loop(0, n, body, (key, jnp.int32(0), jnp.zeros(n, jnp.int32)), unroll=True)
    return positions


def _walk_scan(key, n, start):
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + jnp.where(jax.random.bernoulli(subkey), 1, -1).astype(position.dtype)
        return (key, position), position

    return jax.lax.scan(step, (key, start), length=n)[1]


def walk_int8_positions(key, n):
    return _walk_scan(key, n, jnp.int8(0))  # "positions are small numbers": wraps past 127


def walk_float16_positions(key, n):
    return _walk_scan(key, n, jnp.float16(0))


def walk_hard_coded_length(key, n):
    return _walk_scan(key, 12, jnp.int32(0))  # the length of the first example


def walk_carries_used_key(key, n):
    def step(carry, _):
        key, position = carry
        _, subkey = jax.random.split(key)
        position = position + _pm_one(subkey)
        return (subkey, position), position  # carries the key it just drew with

    _, positions = jax.lax.scan(step, (key, 0), length=n)
    return positions


def walk_fold_in_step_number(key, n):
    def step(position, i):
        position = position + _pm_one(jax.random.fold_in(key, i))  # key closed over, not carried
        return position, position

    _, positions = jax.lax.scan(step, 0, jnp.arange(n))
    return positions


WALK_LOG = []


def walk_logging_final_key(key, n):
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + _pm_one(subkey)
        return (key, position), position

    (last_key, _), positions = jax.lax.scan(step, (key, 0), length=n)
    WALK_LOG.append(last_key)  # "to continue the walk later"
    return positions


@jax.jit
def _unrolled_steps(key, n):
    positions, position = [], 0
    for _ in range(n):
        key, subkey = jax.random.split(key)
        position = position + _pm_one(subkey)
        positions.append(position)
    return jnp.stack(positions)


def walk_jitted_python_loop(key, n):
    # A Python loop hidden in a nested jit, plus a scan that carries the key once around.
    key = jax.lax.scan(lambda k, _: (jax.random.split(k)[0], None), key, length=1)[0]
    return jax.jit(_unrolled_steps, static_argnums=1)(key, n)


def walk_rademacher(key, n):
    def step(carry, _):
        key, position = carry
        step_key, key = jax.random.split(key)
        position = position + jax.random.rademacher(step_key, (), dtype=jnp.int32)
        return (key, position), position

    return jax.lax.scan(step, (key, jnp.zeros((), jnp.int32)), length=n)[1]


def walk_legacy_key_data(key, n):
    # Carries the key's raw uint32 data, as code written for jax.random.PRNGKey does.
    def step(carry, _):
        raw, position = carry
        raw, step_raw = jax.random.split(raw)
        position = position + jnp.where(jax.random.bernoulli(step_raw), 1, -1)
        return (raw, position), position

    return jax.lax.scan(step, (jax.random.key_data(key), jnp.int32(0)), length=n)[1]


def walk_float_position_two_keys(key, n):
    def step(carry, _):
        key, position = carry
        key, coin_key, _unused = jax.random.split(key, 3)
        position = position + 2.0 * jax.random.bernoulli(coin_key).astype(jnp.float32) - 1.0
        return (key, position), position

    return jax.lax.scan(step, (key, jnp.float32(0.0)), length=n)[1]


# 7.3 init_layers(key, sizes) --------------------------------------------------------------


def layers_mixing_split_and_fold_in(key, sizes):
    # The exercise's buggy code: fold_in(key, i) is split(key, n)[i], so b_i repeats w_i.
    w_keys = jax.random.split(key, len(sizes) - 1)
    layers = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append((jax.random.normal(w_keys[i], (m, n)), jax.random.normal(jax.random.fold_in(key, i), (n,))))
    return layers


def layers_fold_in_neighbours(key, sizes):
    # fold_in only, but layer i's bias uses the number of layer i + 1's weights.
    layers = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w = jax.random.normal(jax.random.fold_in(key, i), (m, n))
        b = jax.random.normal(jax.random.fold_in(key, i + 1), (n,))
        layers.append((w, b))
    return layers


def layers_one_split_for_all(key, sizes):
    w_key, b_key = jax.random.split(key)  # outside the loop: every layer gets the same two keys
    return [(jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))) for m, n in zip(sizes[:-1], sizes[1:])]


def layers_bias_from_weight_key(key, sizes):
    layers = []
    for layer_key, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        layers.append((jax.random.normal(layer_key, (m, n)), jax.random.normal(layer_key, (n,))))
    return layers


def layers_split_twice(key, sizes):
    w_keys = jax.random.split(key, len(sizes) - 1)
    b_keys = jax.random.split(key, len(sizes) - 1)  # the same keys again
    pairs = zip(sizes[:-1], sizes[1:])
    return [(jax.random.normal(wk, (m, n)), jax.random.normal(bk, (n,))) for wk, bk, (m, n) in zip(w_keys, b_keys, pairs)]


def layers_zero_bias(key, sizes):
    keys = jax.random.split(key, len(sizes) - 1)
    return [(jax.random.normal(k, (m, n)), jnp.zeros(n)) for k, (m, n) in zip(keys, zip(sizes[:-1], sizes[1:]))]


def layers_two_hard_coded(key, sizes):
    k1, k2, k3, k4 = jax.random.split(key, 4)
    return [
        (jax.random.normal(k1, (sizes[0], sizes[1])), jax.random.normal(k2, (sizes[1],))),
        (jax.random.normal(k3, (sizes[1], sizes[2])), jax.random.normal(k4, (sizes[2],))),
    ]


def layers_half_precision(key, sizes):
    keys = jax.random.split(key, 2 * (len(sizes) - 1))
    pairs = list(zip(sizes[:-1], sizes[1:]))
    return [
        (jax.random.normal(keys[2 * i], (m, n), jnp.bfloat16), jax.random.normal(keys[2 * i + 1], (n,), jnp.bfloat16))
        for i, (m, n) in enumerate(pairs)
    ]


def layers_scaled_by_fan_in(key, sizes):
    # A habit from real networks ("He initialisation"), where the task asks for standard normal values.
    layers = []
    for layer_key, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w_key, b_key = jax.random.split(layer_key)
        layers.append((jax.random.normal(w_key, (m, n)) * jnp.sqrt(2.0 / m), jax.random.normal(b_key, (n,))))
    return layers


def layers_from_global_key(key, sizes):
    return layers_split_per_layer(GLOBAL_KEY, sizes)


def layers_split_per_layer(key, sizes):
    layers = []
    for layer_key, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w_key, b_key = jax.random.split(layer_key)
        layers.append((jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))))
    return layers


def layers_fold_in_only(key, sizes):
    pairs = zip(sizes[:-1], sizes[1:])
    return [
        (jax.random.normal(jax.random.fold_in(key, 2 * i), (m, n)), jax.random.normal(jax.random.fold_in(key, 2 * i + 1), (n,)))
        for i, (m, n) in enumerate(pairs)
    ]


def layers_nested_fold_in(key, sizes):
    layers = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        layer_key = jax.random.fold_in(key, i)
        layers.append(
            (jax.random.normal(jax.random.fold_in(layer_key, 0), (m, n)), jax.random.normal(jax.random.fold_in(layer_key, 1), (n,)))
        )
    return layers


def layers_carried_key(key, sizes):
    layers = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        key, w_key, b_key = jax.random.split(key, 3)
        layers.append((jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))))
    return tuple(layers)


def layers_one_split_of_all_keys(key, sizes):
    n_layers = len(sizes) - 1
    keys = jax.random.split(key, 2 * n_layers)
    return [
        [jax.random.normal(keys[i], (m, n)), jax.random.normal(keys[n_layers + i], (n,))]
        for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))
    ]



# 7.1 · more answers -------------------------------------------------------------------------


def sample_list_of_rows(key, n_steps, shape):
    return [jax.random.normal(k, shape) for k in jax.random.split(key, n_steps)]  # never stacked


def sample_half_then_cast(key, n_steps, shape):
    # float16 "to save memory", cast back because float32 is asked for: the digits are gone.
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.normal(k, shape, jnp.float16).astype(jnp.float32))(step_keys)


def sample_truncated_normal(key, n_steps, shape):
    # The initialiser's habit: a normal cut at ±2 (standard deviation 0.88, no tails).
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.truncated_normal(k, -2.0, 2.0, shape))(step_keys)


def sample_truncated_at_three(key, n_steps, shape):
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.truncated_normal(k, -3.0, 3.0, shape))(step_keys)


def sample_laplace_unit_variance(key, n_steps, shape):
    # Mean 0 and standard deviation 1, but not normal: far too many values beyond ±3.
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: jax.random.laplace(k, shape) / jnp.sqrt(2.0))(step_keys)


def sample_plus_minus_one(key, n_steps, shape):
    # Mean 0 and standard deviation 1 again, with only two values.
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda k: 2.0 * jax.random.bernoulli(k, 0.5, shape).astype(jnp.float32) - 1.0)(step_keys)


def sample_draw_then_fold_in(key, n_steps, shape):
    # "Advance" the key after each draw: step 0 is drawn with `key` itself, which fold_in
    # does not consume, so jax.debug_key_reuse sees nothing.
    rows = []
    for step in range(n_steps):
        rows.append(jax.random.normal(key, shape))
        key = jax.random.fold_in(key, step)
    return jnp.stack(rows)


def sample_key_data_offsets(key, n_steps, shape):
    # Home-made keys: the key's data plus the step number (step 0 is `key` itself).
    data = jax.random.key_data(key)
    keys = [jax.random.wrap_key_data(data + jnp.array([0, i], jnp.uint32)) for i in range(n_steps)]
    return jnp.stack([jax.random.normal(k, shape) for k in keys])


def sample_steps_one_spare_key(key, n_steps, shape):
    # Right: n_steps + 1 keys, the first one left unused.
    step_keys = jax.random.split(key, n_steps + 1)[1:]
    return jax.vmap(lambda k: jax.random.normal(k, shape))(step_keys)


def sample_steps_box_muller(key, n_steps, shape):
    # Right: normal samples made from two uniforms, two keys per step, all split from `key`.
    def one(step_key):
        k1, k2 = jax.random.split(step_key)
        u1 = jax.random.uniform(k1, shape, minval=1e-7)
        u2 = jax.random.uniform(k2, shape)
        return jnp.sqrt(-2.0 * jnp.log(u1)) * jnp.cos(2.0 * jnp.pi * u2)

    return jax.vmap(one)(jax.random.split(key, n_steps))


def sample_steps_carried_key(key, n_steps, shape):
    # Right: a key carried through a Python loop; the last step draws with the last carried key.
    rows = []
    for _ in range(n_steps - 1):
        key, subkey = jax.random.split(key)
        rows.append(jax.random.normal(subkey, shape))
    rows.append(jax.random.normal(key, shape))
    return jnp.stack(rows)


# 7.2 · more answers -------------------------------------------------------------------------


def _walk_with(step_of, key, n):
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + step_of(subkey).astype(position.dtype)
        return (key, position), position

    return jax.lax.scan(step, (key, jnp.int32(0)), length=n)[1]


def walk_randint_zero_counts_as_up(key, n):
    # randint(-1, 2) gives -1, 0 or 1; mapping 0 to +1 makes +1 twice as likely as -1.
    return _walk_with(lambda k: jnp.where(jax.random.randint(k, (), -1, 2) >= 0, 1, -1), key, n)


def walk_biased_coin(key, n):
    return _walk_with(lambda k: jnp.where(jax.random.bernoulli(k, 0.6), 1, -1), key, n)


def walk_sign_of_normal(key, n):
    # Right: the sign of a normal sample is a fair ±1.
    return _walk_with(lambda k: jnp.sign(jax.random.normal(k)), key, n)


def walk_uniform_threshold(key, n):
    # Right: a uniform below one half steps down.
    return _walk_with(lambda k: jnp.where(jax.random.uniform(k) < 0.5, -1, 1), key, n)


def walk_choice_with_probabilities(key, n):
    # Right: choice with explicit equal probabilities, and a step counter carried along.
    def step(carry, _):
        key, position, count = carry
        key, subkey = jax.random.split(key)
        position = position + jax.random.choice(subkey, jnp.array([-1, 1]), p=jnp.array([0.5, 0.5]))
        return (key, position, count + 1), position

    return jax.lax.scan(step, (key, jnp.int32(0), jnp.int32(0)), length=n)[1]


def walk_int8_then_cast(key, n):
    # The position kept in int8, cast to the int32 the task asks for at the end: too late,
    # the position has already wrapped past 127.
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + jnp.where(jax.random.bernoulli(subkey), 1, -1).astype(jnp.int8)
        return (key, position), position

    return jax.lax.scan(step, (key, jnp.int8(0)), length=n)[1].astype(jnp.int32)


def walk_cumsum_of_int8_steps(key, n):
    # The key carried through a scan, the steps as int8; jnp.cumsum keeps int8.
    def step(key, _):
        key, subkey = jax.random.split(key)
        return key, jnp.where(jax.random.bernoulli(subkey), 1, -1).astype(jnp.int8)

    return jnp.cumsum(jax.lax.scan(step, key, length=n)[1])


# 7.3 · more answers -------------------------------------------------------------------------


def _layers_with(draw_w, draw_b, key, sizes):
    layers = []
    for layer_key, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w_key, b_key = jax.random.split(layer_key)
        layers.append((draw_w(w_key, (m, n)), draw_b(b_key, (n,))))
    return layers


def layers_small_bias(key, sizes):
    # Another habit from real networks: small biases, where the task asks for standard normal ones.
    return _layers_with(jax.random.normal, lambda k, s: 0.01 * jax.random.normal(k, s), key, sizes)


def layers_uniform_bias(key, sizes):
    return _layers_with(jax.random.normal, jax.random.uniform, key, sizes)


def layers_shifted_bias(key, sizes):
    return _layers_with(jax.random.normal, lambda k, s: 0.5 + jax.random.normal(k, s), key, sizes)


def layers_truncated_weights(key, sizes):
    return _layers_with(lambda k, s: jax.random.truncated_normal(k, -2.0, 2.0, s), jax.random.normal, key, sizes)


def layers_half_then_cast(key, sizes):
    return _layers_with(
        lambda k, s: jax.random.normal(k, s, jnp.float16).astype(jnp.float32), jax.random.normal, key, sizes
    )


def layers_split_and_fold_in_apart(key, sizes):
    # The given code "fixed" by folding in numbers that never meet the split's indices: no
    # numbers are shared, but one parent still has two schemes, which the task's rule forbids.
    n_layers = len(sizes) - 1
    w_keys = jax.random.split(key, n_layers)
    pairs = zip(sizes[:-1], sizes[1:])
    return [
        (jax.random.normal(w_keys[i], (m, n)), jax.random.normal(jax.random.fold_in(key, n_layers + i), (n,)))
        for i, (m, n) in enumerate(pairs)
    ]


def layers_fold_in_then_split_each(key, sizes):
    # The same rule broken one level down: the layer key is folded into for w and split for b.
    return _layers_with_keys(lambda layer_key: (jax.random.fold_in(layer_key, 0), jax.random.split(layer_key)[1]), key, sizes)


def _layers_with_keys(keys_of, key, sizes):
    layers = []
    for layer_key, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w_key, b_key = keys_of(layer_key)
        layers.append((jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))))
    return layers


def layers_fold_in_per_layer_then_split(key, sizes):
    # Right: fold_in on `key` (one scheme), split on each layer key (one scheme).
    layers = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w_key, b_key = jax.random.split(jax.random.fold_in(key, i))
        layers.append((jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))))
    return layers


def layers_two_halves_of_one_split(key, sizes):
    # Right: 2L keys from one split, the weights from the first half, the biases from the second.
    n_layers = len(sizes) - 1
    keys = jax.random.split(key, 2 * n_layers)
    pairs = zip(sizes[:-1], sizes[1:])
    return [
        (jax.random.normal(keys[i], (m, n)), jax.random.normal(keys[n_layers + i], (n,)))
        for i, (m, n) in enumerate(pairs)
    ]


def layers_fold_in_far_apart(key, sizes):
    # Right: fold_in only, the biases' numbers far from the weights'.
    pairs = zip(sizes[:-1], sizes[1:])
    return [
        (jax.random.normal(jax.random.fold_in(key, i), (m, n)), jax.random.normal(jax.random.fold_in(key, 1000 + i), (n,)))
        for i, (m, n) in enumerate(pairs)
    ]


def layers_transposed_draw(key, sizes):
    # Right: each weight drawn as (n, m) and transposed.
    return _layers_with(lambda k, s: jax.random.normal(k, s[::-1]).T, jax.random.normal, key, sizes)


def walk_slightly_biased_threshold(key, n):
    # "Up when the draw is positive", from a normal shifted by 0.05: P(+1) = 0.48.
    def body(carry, _):
        key, position = carry
        key, step_key = jax.random.split(key)
        position = position + 2 * (jax.random.normal(step_key) > 0.05).astype(jnp.int32) - 1
        return (key, position), position

    return jax.lax.scan(body, (key, jnp.int32(0)), None, length=n)[1]


def walk_coin_of_055(key, n):
    # A threshold of 0.55 on a uniform: P(+1) = 0.55, inside the bounds of a 2048-step walk.
    def body(carry, _):
        key, position = carry
        key, step_key = jax.random.split(key)
        position = position + jnp.where(jax.random.uniform(step_key) < 0.55, 1, -1)
        return (key, position), position

    return jax.lax.scan(body, (key, jnp.int32(0)), None, length=n)[1]


def sample_steps_squeezed(key, n_steps, shape):
    # A squeeze "to drop the vmap axis" drops every axis of length 1: one step, or a shape
    # such as (3, 1), loses its axes.
    samples = jax.vmap(lambda step_key: jax.random.normal(step_key, shape))(jax.random.split(key, n_steps))
    return jnp.squeeze(samples)


def sample_steps_scan_carries_key(key, n_steps, shape):
    def body(carry_key, _):
        carry_key, step_key = jax.random.split(carry_key)
        return carry_key, jax.random.normal(step_key, shape)

    return jax.lax.scan(body, key, None, length=n_steps)[1]


def walk_step_from_fold_in_of_carried_parent(key, n):
    # The carry gets split(k)[0]; the step is drawn with fold_in(k, 0), which is that very key:
    # each step draws with the key the next step splits (debug_key_reuse sees nothing).
    def body(carry, _):
        k, position = carry
        next_key, _ = jax.random.split(k)
        step = 2 * jax.random.bernoulli(jax.random.fold_in(k, 0)).astype(jnp.int32) - 1
        return (next_key, position + step), position + step

    return jax.lax.scan(body, (key, jnp.int32(0)), None, length=n)[1]


def walk_fold_in_step_index_then_split(key, n):
    # A different parent for each scheme: the step index folded into the carried key, and the
    # result split into the next carry and the step key.
    def body(carry, t):
        k, position = carry
        k, step_key = jax.random.split(jax.random.fold_in(k, t))
        position = position + 2 * jax.random.bernoulli(step_key).astype(jnp.int32) - 1
        return (k, position), position

    return jax.lax.scan(body, (key, jnp.int32(0)), jnp.arange(n))[1]


# Adversary round 3 --------------------------------------------------------------------------


def walk_int16_then_cast(key, n):
    # The position kept in int16 ("walks stay small"), cast to int32 at the end: right on
    # every walk shorter than about a billion steps, wrong past ±32767.
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + jnp.where(jax.random.bernoulli(subkey), 1, -1).astype(jnp.int16)
        return (key, position), position

    return jax.lax.scan(step, (key, jnp.int16(0)), length=n)[1].astype(jnp.int32)


def walk_int8_steps_then_cumsum_int32(key, n):
    # The steps emitted as int8 (±1 fits), summed in int32: right; nothing narrow is carried.
    def step(key, _):
        key, subkey = jax.random.split(key)
        return key, jnp.where(jax.random.bernoulli(subkey), 1, -1).astype(jnp.int8)

    return jnp.cumsum(jax.lax.scan(step, key, length=n)[1], dtype=jnp.int32)


def sample_box_muller(key, n_steps, shape):
    # Normal samples made from two uniforms of each step's own key: right
    def one(step_key):
        u1, u2 = jax.random.uniform(step_key, (2, *shape), minval=1e-7)
        return jnp.sqrt(-2 * jnp.log(u1)) * jnp.cos(2 * jnp.pi * u2)

    return jax.vmap(one)(jax.random.split(key, n_steps))


def walk_randint_minus_one_to_one(key, n):
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + jax.random.randint(subkey, (), -1, 2)  # -1, 0 or 1: a step of 0
        return (key, position), position

    return jax.lax.scan(step, (key, jnp.int32(0)), length=n)[1]


def walk_one_extra_step(key, n):
    # n + 1 steps, each emitting the position before its step; the first (0) dropped: right
    def step(carry, _):
        key, position = carry
        key, subkey = jax.random.split(key)
        new = position + 2 * jax.random.bernoulli(subkey).astype(jnp.int32) - 1
        return (key, new), position

    return jax.lax.scan(step, (key, jnp.int32(0)), length=n + 1)[1][1:]


def layers_fold_in_sizes(key, sizes):
    # Keys named after the layer's sizes: layers of equal sizes get equal keys
    return [
        (jax.random.normal(jax.random.fold_in(key, 2 * (100 * m + n)), (m, n)),
         jax.random.normal(jax.random.fold_in(key, 2 * (100 * m + n) + 1), (n,)))
        for m, n in zip(sizes[:-1], sizes[1:])
    ]


def layers_chained_split(key, sizes):
    layers = []
    for m, n in zip(sizes[:-1], sizes[1:]):
        key, w_key, b_key = jax.random.split(key, 3)
        layers.append((jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))))
    return layers


def layers_fold_in_then_split(key, sizes):
    # fold_in on `key`, split on each layer's key: one scheme per parent
    layers = []
    for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:])):
        w_key, b_key = jax.random.split(jax.random.fold_in(key, i))
        layers.append((jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))))
    return layers


def layers_one_draw_sliced(key, sizes):
    # One draw of (m + 1, n) per layer, split into w and b: independent numbers, one key for two arrays
    layers = []
    for layer_key, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        wb = jax.random.normal(layer_key, (m + 1, n))
        layers.append((wb[:m], wb[m]))
    return layers


def layers_pytorch_shape(key, sizes):
    keys = jax.random.split(key, 2 * (len(sizes) - 1))
    pairs = enumerate(zip(sizes[:-1], sizes[1:]))
    return [(jax.random.normal(keys[2 * i], (n, m)), jax.random.normal(keys[2 * i + 1], (n,))) for i, (m, n) in pairs]


def layers_he_scaled(key, sizes):
    keys = jax.random.split(key, 2 * (len(sizes) - 1))
    pairs = enumerate(zip(sizes[:-1], sizes[1:]))
    return [
        (jax.random.normal(keys[2 * i], (m, n)) * jnp.sqrt(2.0 / m), jax.random.normal(keys[2 * i + 1], (n,)))
        for i, (m, n) in pairs
    ]


def layers_cache_by_sizes(key, sizes, _built={}):
    # A record of the layer counts by sizes, in a default argument: state outside the function
    keys = jax.random.split(key, 2 * (len(sizes) - 1))
    pairs = enumerate(zip(sizes[:-1], sizes[1:]))
    layers = [(jax.random.normal(keys[2 * i], (m, n)), jax.random.normal(keys[2 * i + 1], (n,))) for i, (m, n) in pairs]
    _built[sizes] = len(layers)
    return layers


def sample_steps_counts_seen(key, n_steps, shape, _seen=set()):
    _seen.add((n_steps, tuple(shape)))  # a record of the sizes asked for, kept between calls
    return jax.vmap(lambda k: jax.random.normal(k, shape))(jax.random.split(key, n_steps))


def walk_lengths_seen(key, n, _lengths=set()):
    _lengths.add(n)  # a record of the walk lengths, kept between calls
    return walk_one_extra_step(key, n)


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
    wrong("7.1", "key-per-step", sample_one_draw_from_first_step_key),
    wrong("7.1", "steps-differ", sample_every_step_from_first_key),
    wrong("7.1", "shape", sample_hard_coded_steps),
    wrong("7.1", "shape", sample_hard_coded_shape),
    wrong("7.1", "dtype", sample_half_precision),
    wrong("7.1", "steps-differ", sample_alternating_keys),
    wrong("7.1", "globals-unchanged", sample_saving_keys),
    wrong("7.1", "no-leaked-tracers", sample_saving_keys, label="sample_saving_keys_leaks"),
    wrong("7.1", "globals-unchanged", sample_counting_calls),
    wrong("7.1", "globals-unchanged", sample_logging_to_deque),
    right("7.1", sample_steps_lax_map),
    right("7.1", sample_steps_fold_in_offset),
    right("7.1", sample_steps_fori_loop),
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
    wrong("7.2", "constant-program-size", walk_fori_loop_unrolled),
    wrong("7.2", "dtype", walk_int8_positions),
    wrong("7.2", "dtype", walk_float16_positions),
    wrong("7.2", "shape", walk_hard_coded_length),
    wrong("7.2", "no-key-reuse", walk_carries_used_key, min_jax="0.12",
          why="jax.debug_key_reuse in 0.10 does not follow a used key through a scan's carry"),
    wrong("7.2", "key-in-carry", walk_fold_in_step_number),
    wrong("7.2", "globals-unchanged", walk_logging_final_key),
    wrong("7.2", "no-leaked-tracers", walk_logging_final_key, label="walk_logging_final_key_leaks"),
    wrong("7.2", "constant-program-size", walk_jitted_python_loop),
    right("7.2", walk_rademacher),
    right("7.2", walk_float_position_two_keys),
    right("7.2", walk_legacy_key_data),
    wrong("7.3", "independent-draws", layers_mixing_split_and_fold_in),
    wrong("7.3", "independent-draws", layers_fold_in_neighbours),
    wrong("7.3", "independent-draws", layers_one_split_for_all),
    wrong("7.3", "no-key-reuse", layers_one_split_for_all, label="layers_one_split_for_all_reuse"),
    wrong("7.3", "independent-draws", layers_bias_from_weight_key),
    wrong("7.3", "no-key-reuse", layers_split_twice),
    wrong("7.3", "independent-draws", layers_zero_bias),
    wrong("7.3", "shape", layers_two_hard_coded),
    wrong("7.3", "dtype", layers_half_precision),
    wrong("7.3", "varies-with-key", layers_from_global_key),
    wrong("7.3", "standard-normal", layers_scaled_by_fan_in),
    right("7.3", layers_split_per_layer),
    right("7.3", layers_fold_in_only),
    right("7.3", layers_nested_fold_in),
    right("7.3", layers_carried_key),
    right("7.3", layers_one_split_of_all_keys),
    wrong("7.1", "shape", sample_list_of_rows),
    wrong("7.1", "dtype", sample_half_then_cast),
    wrong("7.1", "standard-normal", sample_truncated_normal),
    wrong("7.1", "standard-normal", sample_truncated_at_three),
    wrong("7.1", "standard-normal", sample_laplace_unit_variance),
    wrong("7.1", "standard-normal", sample_plus_minus_one),
    wrong("7.1", "key-not-drawn-with", sample_draw_then_fold_in),
    wrong("7.1", "key-not-drawn-with", sample_key_data_offsets),
    right("7.1", sample_steps_one_spare_key),
    right("7.1", sample_steps_box_muller),
    right("7.1", sample_steps_carried_key),
    wrong("7.2", "steps-vary", walk_randint_zero_counts_as_up),
    wrong("7.2", "steps-vary", walk_biased_coin),
    wrong("7.2", "steps-plus-minus-one", walk_int8_then_cast),
    wrong("7.2", "dtype", walk_cumsum_of_int8_steps),
    right("7.2", walk_sign_of_normal),
    right("7.2", walk_uniform_threshold),
    right("7.2", walk_choice_with_probabilities),
    wrong("7.3", "standard-normal", layers_small_bias),
    wrong("7.3", "standard-normal", layers_uniform_bias),
    wrong("7.3", "standard-normal", layers_shifted_bias),
    wrong("7.3", "standard-normal", layers_truncated_weights),
    wrong("7.3", "dtype", layers_half_then_cast),
    wrong("7.3", "one-scheme-per-key", layers_split_and_fold_in_apart),
    wrong("7.3", "one-scheme-per-key", layers_fold_in_then_split_each),
    right("7.3", layers_fold_in_per_layer_then_split),
    right("7.3", layers_two_halves_of_one_split),
    right("7.3", layers_fold_in_far_apart),
    right("7.3", layers_transposed_draw),
    wrong("7.2", "steps-vary", walk_slightly_biased_threshold),
    wrong("7.2", "steps-vary", walk_coin_of_055),
    wrong("7.1", "shape", sample_steps_squeezed),
    right("7.1", sample_steps_scan_carries_key),
    wrong("7.2", "one-scheme-per-key", walk_step_from_fold_in_of_carried_parent),
    right("7.2", walk_fold_in_step_index_then_split),
    wrong("7.2", "carry-dtype", walk_int16_then_cast),
    right("7.2", walk_int8_steps_then_cumsum_int32),
    right("7.1", sample_box_muller),
    wrong("7.2", "steps-plus-minus-one", walk_randint_minus_one_to_one),
    right("7.2", walk_one_extra_step),
    wrong("7.3", "independent-draws", layers_fold_in_sizes),
    right("7.3", layers_chained_split),
    right("7.3", layers_fold_in_then_split),
    wrong("7.3", "key-per-array", layers_one_draw_sliced),
    wrong("7.3", "shape", layers_pytorch_shape),
    wrong("7.3", "standard-normal", layers_he_scaled),
    wrong("7.3", "globals-unchanged", layers_cache_by_sizes),
    wrong("7.1", "globals-unchanged", sample_steps_counts_seen),
    wrong("7.2", "globals-unchanged", walk_lengths_seen),
]

test_known_answer = parametrize(CASES)
