"""Known answers for chapter 5 (vmap and pmap races): wrong ones name the probe that catches them.

The 5.4 answers in ``CASES`` are caught on any number of devices (the pytest process has
one). ``MULTI_DEVICE_CASES`` are wrong only when there is more than one device (a psum over
a replicated input counts everything n times); ``test_multi_device_answers`` checks them,
and every 5.4 answer of ``CASES``, in a fresh interpreter split into 8 CPU devices.
"""

from __future__ import annotations

import os
import subprocess
import sys
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jax.experimental import io_callback
from jax.sharding import AxisType
from jax.sharding import PartitionSpec as P

from scripts.notebooks import ROOT
from tests.wrong_answers.helpers import parametrize, right, wrong

# 5.1 count_above ------------------------------------------------------------------------


def count_above_python_counter(x, threshold):
    count = 0
    for value in x:  # a Python `if` on each element needs concrete values
        if value > threshold:
            count += 1
    return count


def count_above_int(x, threshold):
    return int(jnp.sum(x > threshold))  # a tracer under vmap has no int value


def count_above_batch_axis(x, threshold):
    return jnp.sum(x > threshold, axis=1)  # written for the whole batch, not one example


def count_above_last_axis(x, threshold):
    return jnp.sum(x > threshold, axis=-1)  # per row of a 2-D example, not per example


def count_above_boolean_mask(x, threshold):
    return len(x[x > threshold])  # the mask's size is data-dependent


def count_above_float(x, threshold):
    return jnp.sum(jnp.where(x > threshold, 1.0, 0.0))  # a count of 3.0, not 3


def count_above_zeroes_input(x, threshold):
    x[x <= threshold] = 0  # writes into the caller's NumPy array
    return jnp.count_nonzero(x)


def count_above_at_least(x, threshold):
    return jnp.sum(x >= threshold)  # counts the elements equal to the threshold too


def count_above_not_below(x, threshold):
    return jnp.sum(~(jnp.asarray(x) <= threshold))  # NaN <= t is False, so NaN counts


def count_above_size_minus(x, threshold):
    return jnp.size(x) - jnp.sum(jnp.asarray(x) <= threshold)  # NaN is counted as above


def count_above_positive_part(x, threshold):
    return jnp.count_nonzero(jnp.maximum(jnp.asarray(x) - threshold, 0))  # maximum(NaN, 0) is NaN


def count_above_int8(x, threshold):
    return jnp.sum(jnp.asarray(x) > threshold, dtype=jnp.int8)  # "a count is small"


def count_above_uint8(x, threshold):
    return (jnp.asarray(x) > threshold).sum().astype(jnp.uint8)


def count_above_python_sum(x, threshold):
    return sum(jnp.asarray(x) > threshold)  # sums along the first axis only


examples_counted = 0


def count_above_counts_examples(x, threshold):
    global examples_counted
    examples_counted += 1  # under vmap: once per trace, not once per example
    return jnp.sum(jnp.asarray(x) > threshold)


def count_above_counts_on_itself(x, threshold):
    count_above_counts_on_itself.calls = getattr(count_above_counts_on_itself, "calls", 0) + 1
    return jnp.sum(jnp.asarray(x) > threshold)


def count_above_nonzero(x, threshold):
    return jnp.count_nonzero(jnp.asarray(x) > threshold)


def count_above_method(x, threshold):
    return (jnp.asarray(x) > threshold).astype(jnp.int32).sum()


def count_above_where(x, threshold):
    return jnp.sum(jnp.where(jnp.asarray(x) > threshold, 1, 0))


def count_above_nan_to_minus_inf(x, threshold):
    x = jnp.nan_to_num(jnp.asarray(x), nan=-jnp.inf)
    return jnp.sum(jnp.greater(x.ravel(), threshold))


# 5.2 batch_dropout ----------------------------------------------------------------------


def batch_dropout_one_key_per_batch(key, xs, rate):
    def row_dropout(row):
        keep = jax.random.bernoulli(key, 1 - rate, row.shape)  # the same key for every row
        return jnp.where(keep, row / (1 - rate), 0.0)

    return jax.vmap(row_dropout)(xs)


def batch_dropout_loop_same_key(key, xs, rate):
    rows = [jnp.where(jax.random.bernoulli(key, 1 - rate, row.shape), row / (1 - rate), 0.0) for row in xs]
    return jnp.stack(rows)


def batch_dropout_no_scale(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.where(keep, xs, 0.0)  # forgot 1 / (1 - rate)


DROPOUT_RATES_SEEN = []


def batch_dropout_logs_rates(key, xs, rate):
    DROPOUT_RATES_SEEN.append(rate)  # "for debugging": a log nothing ever clears
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.where(keep, xs / jnp.where(keep, 1 - rate, 1.0), 0.0)


def batch_dropout_keeps_rate(key, xs, rate):
    keep = jax.random.bernoulli(key, rate, xs.shape)  # keeps with probability `rate`
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_reuses_key(key, xs, rate):
    rows = []
    for row in xs:
        key, subkey = jax.random.split(key)
        keep = jax.random.bernoulli(key, 1 - rate, row.shape)  # `key`, then split again
        rows.append(jnp.where(keep, row / (1 - rate), 0.0))
    return jnp.stack(rows)


def batch_dropout_ignores_key(key, xs, rate):
    keep = jax.random.bernoulli(jax.random.key(0), 1 - rate, xs.shape)  # a fixed key
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_multiplies_mask(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return keep * xs / (1 - rate)  # at rate=1: 0 * inf is NaN


def batch_dropout_python_scale(key, xs, rate):
    scale = 1.0 / (1.0 - rate)  # ZeroDivisionError at rate=1
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.where(keep, xs * scale, 0.0)


def batch_dropout_randint(key, xs, rate):
    keep = jax.random.randint(key, xs.shape, 0, 10) >= int(rate * 10)  # rate 0.25 keeps 80 %
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_row_bits(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, (xs.shape[0], 1))  # one bit per row
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_one_mask_row(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape[1:])  # one row of bits, broadcast
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_key_per_pair(key, xs, rate):
    pair_keys = jax.random.split(key, (xs.shape[0] + 1) // 2)
    row_keys = jnp.repeat(pair_keys, 2, axis=0)[: xs.shape[0]]  # two rows per key
    keep = jax.vmap(lambda k: jax.random.bernoulli(k, 1 - rate, xs.shape[1:]))(row_keys)
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_in_place(key, xs, rate):
    keep = np.asarray(jax.random.bernoulli(key, 1 - rate, xs.shape))
    xs *= keep / (1 - rate)  # multiplies the caller's NumPy array
    return xs


def batch_dropout_float16(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.where(keep, xs / (1 - rate), 0.0).astype(jnp.float16)


def batch_dropout_numpy_rng(key, xs, rate):
    keep = np.random.random(xs.shape) >= rate  # NumPy's global generator, not the key
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_split_rows(key, xs, rate):
    row_keys = jax.random.split(key, xs.shape[0])

    def row_dropout(row_key, row):
        keep = jax.random.bernoulli(row_key, 1 - rate, row.shape)
        return jnp.where(keep, row / (1 - rate), 0.0)

    return jax.vmap(row_dropout)(row_keys, xs)


def batch_dropout_uniform(key, xs, rate):
    keep = jax.random.uniform(key, xs.shape) >= rate
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_fold_in(key, xs, rate):
    if rate == 1.0:  # as flax does: nothing is kept
        return jnp.zeros_like(xs)

    def row_dropout(i, row):
        keep = jax.random.uniform(jax.random.fold_in(key, i), row.shape) < 1.0 - rate
        return jnp.where(keep, row * (1.0 / (1.0 - rate)), 0.0)

    return jax.vmap(row_dropout)(jnp.arange(xs.shape[0]), jnp.asarray(xs))


# 5.3 histogram --------------------------------------------------------------------------


def histogram_set(indices, num_bins):
    return jnp.zeros(num_bins, dtype=jnp.int32).at[indices].set(1)  # duplicates collapse


def histogram_set_plus_one(indices, num_bins):
    counts = jnp.zeros(num_bins, dtype=jnp.int32)
    return counts.at[indices].set(counts[indices] + 1)  # every duplicate reads the old 0


def histogram_python_loop(indices, num_bins):
    counts = [0] * num_bins
    for index in indices:
        counts[int(index)] += 1  # int() of a tracer fails under jit
    return jnp.array(counts)


def histogram_float(indices, num_bins):
    return jnp.zeros(num_bins).at[indices].add(1.0)  # float counts


def histogram_bincount_no_length(indices, num_bins):
    return jnp.bincount(indices)  # length from the data: wrong size, and no jit


def histogram_sorts_input(indices, num_bins):
    indices.sort()  # sorts the caller's NumPy array in place
    edges = jnp.searchsorted(jnp.asarray(indices), jnp.arange(num_bins + 1))
    return jnp.diff(edges)


def histogram_uint8(indices, num_bins):
    return jnp.zeros(num_bins, dtype=jnp.uint8).at[indices].add(1)  # "counts are small"


def histogram_int8_cast(indices, num_bins):
    counts = jnp.zeros(num_bins, dtype=jnp.int8).at[indices].add(1)
    return counts.astype(jnp.int32)  # the cast comes after the wrap-around


def histogram_fixed_bins(indices, num_bins):
    return (jnp.asarray(indices)[:, None] == jnp.arange(5)).sum(axis=0)  # the example had 5 bins


def histogram_assumes_sorted(indices, num_bins):
    edges = jnp.searchsorted(jnp.asarray(indices), jnp.arange(num_bins + 1))
    return jnp.diff(edges)  # right only when the indices come sorted


histogram_calls = 0


def histogram_counts_calls(indices, num_bins):
    global histogram_calls
    histogram_calls += 1
    return jnp.zeros(num_bins, dtype=jnp.int32).at[indices].add(1)


class HistogramStats:
    calls = 0  # a class attribute: "how often did we histogram?"


def histogram_counts_on_class(indices, num_bins):
    HistogramStats.calls += 1
    return jnp.zeros(num_bins, dtype=jnp.int32).at[indices].add(1)


def histogram_add(indices, num_bins):
    return jnp.zeros(num_bins, dtype=jnp.int32).at[indices].add(1)


def histogram_bincount(indices, num_bins):
    return jnp.bincount(jnp.asarray(indices), length=num_bins)


def histogram_one_hot(indices, num_bins):
    return (jnp.asarray(indices)[:, None] == jnp.arange(num_bins)).sum(axis=0)


def histogram_nn_one_hot(indices, num_bins):
    return jnp.sum(jax.nn.one_hot(jnp.asarray(indices), num_bins, dtype=jnp.int32), axis=0)


def histogram_segment_sum(indices, num_bins):
    indices = jnp.asarray(indices)
    return jax.ops.segment_sum(jnp.ones(indices.shape, jnp.int32), indices, num_segments=num_bins)


def histogram_sorted(indices, num_bins):
    edges = jnp.searchsorted(jnp.sort(jnp.asarray(indices)), jnp.arange(num_bins + 1))
    return jnp.diff(edges)


# 5.4 device_sum -------------------------------------------------------------------------


def _pmap_sum(shard_fn, x):
    n = jax.local_device_count()
    return jax.pmap(shard_fn, axis_name="devices")(x.reshape(n, -1))


def device_sum_plain(x):
    return jnp.sum(x)


def device_sum_no_psum(x):
    return _pmap_sum(lambda shard: shard.sum(), x)[0]  # device 0's partial sum only


def device_sum_vmap(x):
    n = jax.local_device_count()
    per_row = jax.vmap(lambda row: jax.lax.psum(row.sum(), "rows"), axis_name="rows")
    return per_row(x.reshape(n, -1))[0]  # right value, but everything runs on one device


def device_sum_psum_of_means(x):
    return _pmap_sum(lambda shard: jax.lax.psum(shard.mean(), "devices"), x)[0]


def device_sum_every_device(x):
    return _pmap_sum(lambda shard: jax.lax.psum(shard.sum(), "devices"), x)  # one copy per device


def device_sum_first_elements(x):
    return _pmap_sum(lambda shard: jax.lax.psum(shard[0], "devices"), x)[0]


def _auto_mesh(shape=None, names=("d",)):
    shape = shape or (jax.local_device_count(),)
    return jax.make_mesh(shape, names, axis_types=(AxisType.Auto,) * len(names))


def device_sum_host_adds(x):
    # each device returns its partial sum; the host adds them up (no psum)
    partials = jax.shard_map(lambda s: jnp.sum(s, keepdims=True), mesh=_auto_mesh(), in_specs=P("d"), out_specs=P("d"))(x)
    return jnp.sum(partials)


def device_sum_psum_over_rows(x):
    def per_device(shard):  # a psum, but over the rows of one device's shard
        return jax.vmap(lambda row: jax.lax.psum(row, "rows"), axis_name="rows")(shard)[:1]

    partials = jax.shard_map(per_device, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P("d"), check_vma=False)(x)
    return jnp.sum(partials)


def device_sum_pmap_vmap(x):
    n = jax.local_device_count()

    def per_device(shard):
        return jax.vmap(lambda value: jax.lax.psum(value, "inner"), axis_name="inner")(shard)[0]

    return jnp.sum(jax.pmap(per_device)(x.reshape(n, -1)))


kept_shards = []


def device_sum_keeps_shards(x):
    def total(shard):
        kept_shards.append(shard)  # "to look at each device's part later"
        return jax.lax.psum(jnp.sum(shard), "d")

    return jax.shard_map(total, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P())(x)


def device_sum_pmap(x):
    return _pmap_sum(lambda shard: jax.lax.psum(shard.sum(), "devices"), x)[0]


def device_sum_shard_map(x):
    mesh = jax.make_mesh((jax.local_device_count(),), ("d",), axis_types=(AxisType.Auto,))

    @partial(jax.shard_map, mesh=mesh, in_specs=P("d"), out_specs=P())
    def total(shard):
        return jax.lax.psum(jnp.sum(shard), "d")

    return total(x)


def device_sum_pmean_times_n(x):
    n = jax.local_device_count()
    return _pmap_sum(lambda shard: jax.lax.pmean(shard.sum(), "devices") * n, x)[0]


def device_sum_jit_shard_map(x):
    mesh = _auto_mesh(names=("shards",))
    summed = jax.jit(jax.shard_map(lambda s: jax.lax.psum(s.sum(), "shards"), mesh=mesh, in_specs=P("shards"), out_specs=P()))
    return summed(jnp.asarray(x))


def device_sum_explicit_mesh(x):
    mesh = jax.make_mesh((jax.local_device_count(),), ("d",))  # Explicit axes by default
    x = jax.device_put(x, jax.NamedSharding(mesh, P("d")))  # so x must carry its sharding
    return jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d"), mesh=mesh, in_specs=P("d"), out_specs=P())(x)


# Wrong only on more than one device: run in a subprocess with 8 CPU devices.


def device_sum_replicated(x):
    mesh = jax.make_mesh((jax.local_device_count(),), ("d",), axis_types=(AxisType.Auto,))
    # in_specs=P(): every device gets all of x, and the psum counts it n times
    return jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d"), mesh=mesh, in_specs=P(), out_specs=P())(x)


def device_sum_pmean(x):
    return _pmap_sum(lambda shard: jax.lax.pmean(shard.sum(), "devices"), x)[0]


def device_sum_psum_over_part_of_mesh(x):
    n = jax.local_device_count()
    mesh = _auto_mesh((2, n // 2), ("a", "b"))
    # the psum runs over "b" only; the two rows of the mesh are added on the host
    partials = jax.shard_map(
        lambda s: jax.lax.psum(jnp.sum(s), "b")[None], mesh=mesh, in_specs=P(("a", "b")), out_specs=P("a")
    )(x)
    return jnp.sum(partials)


# 5.5 augment_batch ----------------------------------------------------------------------

flip_log = []


def _augment(key, image):  # the exercise's buggy per-example function
    flip = jax.random.bernoulli(key)
    flip_log.append(flip)
    image = jnp.where(flip, image[::-1], image)
    return image + 0.1 * jax.random.normal(key, image.shape)


def augment_batch_as_given(key, images):
    augmented = jax.vmap(_augment, in_axes=(None, 0))(key, images)
    flipped = jnp.all(augmented[:, :1] > images[:, -1:] - 1.0, axis=1)  # "recover the flips"
    return augmented, flipped


def augment_batch_shared_key(key, images):
    def one(image):
        flip_key, noise_key = jax.random.split(key)  # the batch key, in every example
        flip = jax.random.bernoulli(flip_key)
        return jnp.where(flip, image[::-1], image) + 0.1 * jax.random.normal(noise_key, image.shape), flip

    return jax.vmap(one)(images)


def augment_batch_key_twice(key, images):
    def one(k, image):
        flip = jax.random.bernoulli(k)
        return jnp.where(flip, image[::-1], image) + 0.1 * jax.random.normal(k, image.shape), flip  # k again

    return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)


augment_log = []


def augment_batch_still_logs(key, images):
    def one(k, image):
        flip_key, noise_key = jax.random.split(k)
        flip = jax.random.bernoulli(flip_key)
        augment_log.append(flip)  # the log is kept "as well"
        return jnp.where(flip, image[::-1], image) + 0.1 * jax.random.normal(noise_key, image.shape), flip

    return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)


def _augment_with(label, draw_noise, draw_flip=lambda k: jax.random.bernoulli(k), invert=False):
    def augment_batch(key, images):
        def one(k, image):
            flip_key, noise_key = jax.random.split(k)
            flip = draw_flip(flip_key)
            out = jnp.where(flip, image[::-1], image) + draw_noise(noise_key, image.shape)
            return out, (~flip if invert else flip)

        return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)

    augment_batch.__name__ = augment_batch.__qualname__ = label
    return augment_batch


augment_batch_inverted_flags = _augment_with("augment_batch_inverted_flags", lambda k, s: 0.1 * jax.random.normal(k, s), invert=True)
augment_batch_unit_noise = _augment_with("augment_batch_unit_noise", lambda k, s: jax.random.normal(k, s) * 0.3)
augment_batch_uniform_noise = _augment_with("augment_batch_uniform_noise", lambda k, s: 0.1 * jax.random.uniform(k, s, minval=-1.0, maxval=1.0))
augment_batch_one_noise_value = _augment_with("augment_batch_one_noise_value", lambda k, s: 0.1 * jax.random.normal(k) * jnp.ones(s))
augment_batch_flips_at_40_percent = _augment_with(
    "augment_batch_flips_at_40_percent",
    lambda k, s: 0.1 * jax.random.normal(k, s), draw_flip=lambda k: jax.random.uniform(k) < 0.4
)
augment_batch_flips_at_55_percent = _augment_with(
    "augment_batch_flips_at_55_percent",
    lambda k, s: 0.1 * jax.random.normal(k, s), draw_flip=lambda k: jax.random.bernoulli(k, 0.55)
)
augment_batch_third_flipped = _augment_with(
    "augment_batch_third_flipped",
    lambda k, s: 0.1 * jax.random.normal(k, s), draw_flip=lambda k: jax.random.randint(k, (), 0, 3) == 0
)


def augment_batch_float_flags(key, images):
    augmented, flipped = augment_batch_vectorised(key, images)
    return augmented, flipped.astype(jnp.float32)


def augment_batch_numpy_flips(key, images):
    flips = np.random.random(images.shape[0]) < 0.5  # NumPy's global generator
    noise = 0.1 * jax.random.normal(key, images.shape)
    return jnp.where(flips[:, None], images[:, ::-1], images) + noise, jnp.asarray(flips)


def augment_batch_in_place(key, images):
    flip_key, noise_key = jax.random.split(key)
    flips = np.asarray(jax.random.bernoulli(flip_key, 0.5, images.shape[:1]))
    images[flips] = images[flips, ::-1]  # reverses rows of the caller's NumPy array
    return jnp.asarray(images) + 0.1 * jax.random.normal(noise_key, images.shape), jnp.asarray(flips)


def augment_batch_per_example(key, images):
    def one(k, image):
        flip_key, noise_key = jax.random.split(k)
        flip = jax.random.bernoulli(flip_key)
        return jnp.where(flip, jnp.flip(image), image) + 0.1 * jax.random.normal(noise_key, image.shape), flip

    return jax.vmap(one)(jax.random.split(key, images.shape[0]), images)


def augment_batch_vectorised(key, images):
    flip_key, noise_key = jax.random.split(key)  # one draw for the batch: every element its own bits
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    chosen = jnp.where(flipped[:, None], jnp.asarray(images)[:, ::-1], images)
    return chosen + 0.1 * jax.random.normal(noise_key, images.shape), flipped


def augment_batch_fold_in(key, images):
    def one(i, image):
        k = jax.random.fold_in(key, i)
        flip_key, noise_key = jax.random.split(k)
        flip = jax.random.uniform(flip_key) < 0.5
        return jnp.where(flip, image[::-1], image) + jax.random.normal(noise_key, image.shape) / 10, flip.astype(jnp.int32)

    return jax.vmap(one)(jnp.arange(images.shape[0]), jnp.asarray(images))


# Found by an adversarial pass (answers written from the task text alone) ---------------------


def count_above_nan_to_zero(x, threshold):
    return jnp.sum(jnp.nan_to_num(jnp.asarray(x)) > threshold)  # NaN becomes 0, above a negative threshold


def count_above_float16(x, threshold):
    return jnp.sum(jnp.asarray(x).astype(jnp.float16) > threshold)  # 1.0001 rounds to 1.0


def count_above_row_sums(x, threshold):
    return jnp.sum(jnp.sum(jnp.asarray(x) > threshold, axis=-1))  # a 0-d example has no axis -1


def count_above_loops_rows(x, threshold):
    return sum(jnp.sum(row > threshold) for row in jnp.asarray(x))  # a 0-d example has no rows


def count_above_subtract(x, threshold):
    return jnp.sum((jnp.asarray(x) - threshold) > 0)


def count_above_fmax(x, threshold):
    return jnp.count_nonzero(jnp.fmax(jnp.asarray(x), threshold) > threshold)  # fmax ignores NaN


def count_above_lax_reduce(x, threshold):
    x = jnp.asarray(x)
    above = jax.lax.convert_element_type(x > threshold, jnp.int32)
    return jax.lax.reduce(above, jnp.int32(0), jax.lax.add, tuple(range(x.ndim)))


def batch_dropout_fixed_count_per_row(key, xs, rate):
    xs = jnp.asarray(xs)
    kept = round((1 - rate) * xs.shape[1])  # exactly this many per row

    def row_dropout(row_key, row):
        keep = jax.random.permutation(row_key, row.shape[0]) < kept
        return jnp.where(keep, row / (1 - rate), 0.0)

    return jax.vmap(row_dropout)(jax.random.split(key, xs.shape[0]), xs)


def batch_dropout_tiled_half(key, xs, rate):
    half = jax.random.bernoulli(key, 1 - rate, (xs.shape[0], xs.shape[1] // 2))
    keep = jnp.concatenate([half, half], axis=1)  # "half the random numbers"
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_caps_rate(key, xs, rate):
    rate = min(rate, 0.99)  # "avoids the division by zero"
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_epsilon(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.where(keep, xs / (1 - rate + 1e-6), 0.0)  # "epsilon for stability"


def batch_dropout_column_keys(key, xs, rate):
    xs = jnp.asarray(xs)
    column_keys = jax.random.split(key, xs.shape[1])
    keep = jax.vmap(lambda k: jax.random.bernoulli(k, 1 - rate, (xs.shape[0],)))(column_keys).T
    return jnp.where(keep, xs / (1 - rate), 0.0)


def batch_dropout_nan_to_num(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.nan_to_num(keep * xs / (1 - rate))  # 0 * inf = NaN at rate=1, then 0


_zeros_by_bins = {}


def histogram_cached_zeros(indices, num_bins):
    if num_bins not in _zeros_by_bins:  # "allocate once per size"
        _zeros_by_bins[num_bins] = jnp.zeros(num_bins, jnp.int32)
    return _zeros_by_bins[num_bins].at[indices].add(1)


def histogram_unique_counts(indices, num_bins):
    _, counts = jnp.unique(jnp.asarray(indices), return_counts=True, size=num_bins, fill_value=0)
    return counts  # per distinct value present, not per bin


def histogram_minlength(indices, num_bins):
    return jnp.bincount(jnp.asarray(indices), minlength=num_bins)  # the NumPy spelling: no jit


def histogram_jnp_histogram(indices, num_bins):
    counts, _ = jnp.histogram(jnp.asarray(indices), bins=num_bins, range=(0, num_bins))
    return counts.astype(jnp.int32)


def histogram_per_bin(indices, num_bins):
    indices = jnp.asarray(indices)
    return jnp.stack([jnp.sum(indices == b) for b in range(num_bins)])


def histogram_float_then_int(indices, num_bins):
    return jnp.zeros(num_bins).at[indices].add(1).astype(int)


def device_sum_all_gather(x):
    def total(shard):  # every device gathers the partial sums: no psum
        return jax.lax.all_gather(jnp.sum(shard), "d").sum()

    return jax.shard_map(total, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P())(x)


def device_sum_keeps_dims(x):
    def total(shard):
        return jax.lax.psum(jnp.sum(shard, keepdims=True), "d")

    return jax.shard_map(total, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P())(x)  # shape (1,)


def device_sum_half_precision(x):
    def total(shard):
        return jax.lax.psum(shard.astype(jnp.float16).sum(), "d")

    return jax.shard_map(total, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P())(x)


def device_sum_first_of_totals(x):
    def total(shard):
        return jax.lax.psum(jnp.sum(shard, keepdims=True), "d")

    return jax.shard_map(total, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P("d"))(x)[0]


def device_sum_psum_elementwise(x):
    def total(shard):
        return jnp.sum(jax.lax.psum(shard, "d"))

    return jax.shard_map(total, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P())(x)


def device_sum_pmap_strided(x):
    n = jax.local_device_count()  # device i gets x[i::n]
    return jax.pmap(lambda s: jax.lax.psum(s.sum(), "i"), axis_name="i")(x.reshape(-1, n).T)[0]


def device_sum_python_float(x):
    total = jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d"), mesh=_auto_mesh(), in_specs=P("d"), out_specs=P())(x)
    return float(total)  # "a single number": the task asks for a JAX array the check can trace


def device_sum_set_mesh(x):
    mesh = jax.make_mesh((jax.local_device_count(),), ("d",))
    with jax.set_mesh(mesh):  # not allowed while jax.make_jaxpr traces device_sum
        x = jax.device_put(x, P("d"))
        return jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d"), in_specs=P("d"), out_specs=P())(x)


def device_sum_mesh_constructor(x):
    mesh = jax.sharding.Mesh(np.array(jax.devices()), ("d",))
    return jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d"), mesh=mesh, in_specs=P("d"), out_specs=P())(x)


def augment_batch_fixed_batch(key, images):
    def one(k, image):
        flip_key, noise_key = jax.random.split(k)
        flip = jax.random.bernoulli(flip_key)
        return jnp.where(flip, image[::-1], image) + 0.1 * jax.random.normal(noise_key, image.shape), flip

    return jax.vmap(one)(jax.random.split(key, 512), jnp.asarray(images))  # the check's batch size


def augment_batch_fixed_length(key, images):
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    noise = 0.1 * jax.random.normal(noise_key, (images.shape[0], 32))  # the check's example length
    return jnp.where(flipped[:, None], jnp.flip(images, 1), images) + noise, flipped


def augment_batch_one_key(key, images):
    flipped = jax.random.bernoulli(key, 0.5, (images.shape[0],))
    noise = 0.1 * jax.random.normal(key, images.shape)  # the same key again
    return jnp.where(flipped[:, None], jnp.flip(images, 1), images) + noise, flipped


def augment_batch_truncated_noise(key, images):
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    noise = 0.1 * jax.random.truncated_normal(noise_key, -2.0, 2.0, images.shape)  # "no outliers"
    return jnp.where(flipped[:, None], jnp.flip(images, 1), images) + noise, flipped


def augment_batch_rolls(key, images):
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    noise = 0.1 * jax.random.normal(noise_key, images.shape)
    return jnp.where(flipped[:, None], jnp.roll(images, 1, axis=1), images) + noise, flipped


def augment_batch_flips_whole_batch(key, images):
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    noise = 0.1 * jax.random.normal(noise_key, images.shape)
    return jnp.where(flipped[:, None], jnp.flip(images), images) + noise, flipped  # no axis: rows too


def augment_batch_flip_after_noise(key, images):
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    noisy = images + 0.1 * jax.random.normal(noise_key, images.shape)
    return jnp.where(flipped[:, None], jnp.flip(noisy, 1), noisy), flipped


def augment_batch_two_keys_per_example(key, images):
    images = jnp.asarray(images)
    batch = images.shape[0]
    keys = jax.random.split(key, 2 * batch)  # the first half for flips, the second for noise
    flipped = jax.vmap(jax.random.bernoulli)(keys[:batch])
    noise = jax.vmap(lambda k: jax.random.normal(k, images.shape[1:]))(keys[batch:])
    return jnp.where(flipped[:, None], images[:, ::-1], images) + 0.1 * noise, flipped


def augment_batch_randint(key, images):
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.randint(flip_key, (images.shape[0],), 0, 2) == 1
    return jnp.where(flipped[:, None], jnp.fliplr(images), images) + jax.random.normal(noise_key, images.shape) * 0.1, flipped


# Wrong (or right) only on more than one device.


def device_sum_half_the_devices(x):
    n = jax.local_device_count()
    mesh = jax.make_mesh((n // 2,), ("d",), axis_types=(AxisType.Auto,), devices=jax.devices()[: n // 2])
    return jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d"), mesh=mesh, in_specs=P("d"), out_specs=P())(x)


def device_sum_pmap_rows_of_n(x):
    n = jax.local_device_count()  # (k, n): pmap maps over k devices, not n
    return jax.pmap(lambda s: jax.lax.psum(s.sum(), "i"), axis_name="i")(x.reshape(-1, n))[0]


def device_sum_adds_totals(x):
    def total(shard):
        return jax.lax.psum(jnp.sum(shard, keepdims=True), "d")

    totals = jax.shard_map(total, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P("d"))(x)
    return jnp.sum(totals)  # n copies of the total


def device_sum_psum_over_n(x):
    n = jax.local_device_count()
    return jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d") / n, mesh=_auto_mesh(), in_specs=P("d"), out_specs=P())(x)


def device_sum_two_axes(x):
    n = jax.local_device_count()
    mesh = _auto_mesh((2, n // 2), ("a", "b"))
    return jax.shard_map(lambda s: jax.lax.psum(s.sum(), ("a", "b")), mesh=mesh, in_specs=P(("a", "b")), out_specs=P())(x)


_histograms_seen = []


def histogram_io_callback(indices, num_bins):
    counts = jnp.zeros(num_bins, jnp.int32).at[indices].add(1)
    io_callback(lambda c: _histograms_seen.append(c), None, counts, ordered=True)  # "a log that survives jit"
    return counts


@partial(jax.jit, static_argnums=2)
def batch_dropout_jitted(key, xs, rate):
    keep = jax.random.bernoulli(key, 1 - rate, xs.shape)
    return jnp.where(keep, xs / (1 - rate), 0.0)


def augment_batch_flip_from_noise_sign(key, images):
    # One key per example, one draw: the flip is read off the first noise value, so an
    # example is reversed exactly when that value is negative (the buggy version's coupling,
    # without a key used twice).
    def one(example_key, image):
        noise = jax.random.normal(example_key, image.shape)
        flip = noise[0] < 0
        return jnp.where(flip, image[::-1], image) + 0.1 * noise, flip

    return jax.vmap(one)(jax.random.split(key, images.shape[0]), jnp.asarray(images))


def augment_batch_flipped_noise_sign(key, images):
    # Independent keys, but the first noise value's sign is then tied to the flip "so the
    # report can double-check it".
    images = jnp.asarray(images)
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, images.shape[:1])
    noise = jax.random.normal(noise_key, images.shape)
    noise = noise.at[:, 0].set(jnp.where(flipped, -1.0, 1.0) * jnp.abs(noise[:, 0]))
    return jnp.where(flipped[:, None], images[:, ::-1], images) + 0.1 * noise, flipped


def augment_batch_alternating_flips(key, images):
    # "Probability 1/2" as every other example: the same examples are reversed for every key.
    images = jnp.asarray(images)
    flipped = jnp.arange(images.shape[0]) % 2 == 1
    noise = jax.random.normal(key, images.shape)
    return jnp.where(flipped[:, None], images[:, ::-1], images) + 0.1 * noise, flipped


def augment_batch_noise_before_flip(key, images):
    # Noise first, then the (noisy) example reversed: the same distribution.
    images = jnp.asarray(images)
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, images.shape[:1])
    noisy = images + 0.1 * jax.random.normal(noise_key, images.shape)
    return jnp.where(flipped[:, None], jnp.flip(noisy, axis=1), noisy), flipped


def augment_batch_uniform_coins(key, images):
    keys = jax.random.split(key, 2 * images.shape[0]).reshape(images.shape[0], 2)

    def one(pair, image):
        flip = jax.random.uniform(pair[0]) < 0.5
        return jnp.where(flip, jnp.flip(image), image) + 0.1 * jax.random.normal(pair[1], image.shape), flip

    return jax.vmap(one)(keys, jnp.asarray(images))


def augment_batch_fold_in_flips_split_noise(key, images):
    # Flip keys by fold_in(key, i), noise keys by split(key, batch): fold_in(key, i) is
    # split(key, n)[i], so example i draws its flip and its noise from one key, and
    # jax.debug_key_reuse does not see it (fold_in consumes nothing).
    images = jnp.asarray(images)
    batch = images.shape[0]
    flip_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(jnp.arange(batch))
    flipped = jax.vmap(jax.random.bernoulli)(flip_keys)
    noise = jax.vmap(lambda k: jax.random.normal(k, images.shape[1:]))(jax.random.split(key, batch))
    return jnp.where(flipped[:, None], images[:, ::-1], images) + 0.1 * noise, flipped


# Adversary round 3 --------------------------------------------------------------------------


def histogram_counter_in_index_dtype(indices, num_bins):
    indices = jnp.asarray(indices)
    return jnp.zeros(num_bins, dtype=indices.dtype).at[indices].add(1)  # uint8 indices: wraps at 256


def histogram_segment_sum_ones_like(indices, num_bins):
    indices = jnp.asarray(indices)
    return jax.ops.segment_sum(jnp.ones_like(indices), indices, num_segments=num_bins)  # counts in uint8


def histogram_uint32(indices, num_bins):
    return jnp.zeros(num_bins, jnp.uint32).at[indices].add(1)


def histogram_scan(indices, num_bins):
    def body(counts, i):
        return counts.at[i].add(1), None

    return jax.lax.scan(body, jnp.zeros(num_bins, jnp.int32), jnp.asarray(indices))[0]


def _augment_from_keys(flip_keys, noise_keys, images):
    images = jnp.asarray(images)
    flipped = jax.vmap(jax.random.bernoulli)(flip_keys)
    noise = jax.vmap(lambda k: jax.random.normal(k, images.shape[1:]))(noise_keys)
    return jnp.where(flipped[:, None], images[:, ::-1], images) + 0.1 * noise, flipped


def augment_batch_fold_in_neighbours(key, images):
    # "A different number for the noise": fold_in(key, i + 1) is the flip key of example
    # i + 1, so that example is reversed exactly when example i's first noise value is
    # negative; each key is made by its own fold_in, so debug_key_reuse sees nothing.
    steps = jnp.arange(images.shape[0])
    flip_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(steps)
    noise_keys = jax.vmap(lambda i: jax.random.fold_in(key, i + 1))(steps)
    return _augment_from_keys(flip_keys, noise_keys, images)


def augment_batch_fold_in_odd_numbers(key, images):
    # Noise keys on the odd numbers, flip keys on all numbers below the batch size: they meet.
    steps = jnp.arange(images.shape[0])
    flip_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(steps)
    noise_keys = jax.vmap(lambda i: jax.random.fold_in(key, 2 * i + 1))(steps)
    return _augment_from_keys(flip_keys, noise_keys, images)


def augment_batch_fold_in_far_apart(key, images):
    batch = images.shape[0]
    steps = jnp.arange(batch)
    flip_keys = jax.vmap(lambda i: jax.random.fold_in(key, i))(steps)
    noise_keys = jax.vmap(lambda i: jax.random.fold_in(key, batch + i))(steps)
    return _augment_from_keys(flip_keys, noise_keys, images)


def count_above_finite_only(x, threshold):
    x = jnp.asarray(x)
    return jnp.sum((x > threshold) & jnp.isfinite(x))  # "leave NaN out": drops inf too


def count_above_nan_to_threshold(x, threshold):
    return jnp.sum(jnp.nan_to_num(jnp.asarray(x), nan=threshold) > threshold)


def batch_dropout_numpy_where(key, xs, rate):
    # The mask drawn with JAX, the rest in NumPy: right, though jax.jit cannot trace it.
    keep = np.asarray(jax.random.bernoulli(key, 1 - rate, xs.shape))
    scale = 1 / (1 - rate) if rate < 1 else 0.0
    return np.where(keep, np.asarray(xs) * scale, 0).astype(np.float32)


def batch_dropout_flax(key, xs, rate):
    from flax import linen as nn

    return nn.Dropout(rate).apply({}, jnp.asarray(xs), deterministic=False, rngs={"dropout": key})


def augment_batch_numpy_finish(key, images):
    # Draws with JAX, the rest in NumPy: the task asks for an answer that also runs under jax.jit.
    images = np.asarray(images)
    flip_key, noise_key = jax.random.split(key)
    flipped = np.asarray(jax.random.bernoulli(flip_key, 0.5, (images.shape[0],)))
    noise = np.asarray(jax.random.normal(noise_key, images.shape))
    return np.where(flipped[:, None], images[:, ::-1], images) + 0.1 * noise, flipped


def histogram_bfloat16_one_hot(indices, num_bins):
    one_hot = jax.nn.one_hot(indices, num_bins, dtype=jnp.bfloat16)  # "saves memory"
    return jnp.sum(one_hot, axis=0).astype(jnp.int32)  # 301 is not a bfloat16 number


def augment_batch_clipped_noise(key, images):
    flip_key, noise_key = jax.random.split(key)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    noise = 0.1 * jnp.clip(jax.random.normal(noise_key, images.shape), -3.0, 3.0)  # "no outliers"
    return jnp.where(flipped[:, None], jnp.flip(images, 1), images) + noise, flipped


def device_sum_replicated_over_n(x):
    n = jax.local_device_count()
    # in_specs=P(): every device sums all of x; dividing the psum by n gives the right number
    return jax.shard_map(lambda s: jax.lax.psum(s.sum(), "d") / n, mesh=_auto_mesh(), in_specs=P(), out_specs=P())(x)


def device_sum_pmap_broadcast_pmean(x):
    n = jax.local_device_count()
    copies = jnp.broadcast_to(x, (n, *x.shape))  # every device gets all of x
    return jax.pmap(lambda s: jax.lax.pmean(s.sum(), "i"), axis_name="i")(copies)[0]


def device_sum_slices_replicated_x(x):
    # x replicated, but each device slices out and sums its own part: right.
    n = jax.local_device_count()

    def total(s):
        k = s.shape[0] // n
        return jax.lax.psum(jax.lax.dynamic_slice(s, (jax.lax.axis_index("d") * k,), (k,)).sum(), "d")

    return jax.shard_map(total, mesh=_auto_mesh(), in_specs=P(), out_specs=P())(x)


def batch_dropout_exact_count(key, xs, rate):
    xs = jnp.asarray(xs)
    kept = round((1 - rate) * xs.size)  # exactly (1 - rate) of the whole batch
    keep = (jax.random.permutation(key, xs.size) < kept).reshape(xs.shape)
    return jnp.where(keep, xs / (1 - rate) if rate < 1 else 0.0, 0.0)


def count_above_plus_epsilon(x, threshold):
    return jnp.sum(x >= threshold + 1e-6)  # "strictly above" with a margin: misses values a hair above


def count_above_threshold_in_x_dtype(x, threshold):
    return jnp.sum(x > jnp.asarray(threshold).astype(x.dtype))  # -2.5 becomes -2 for integer x


def count_above_np_sum(x, threshold):
    return np.sum(x > threshold)  # np.sum calls the array's own .sum: right, under vmap too


def count_above_sign(x, threshold):
    return jnp.sum(jnp.sign(x - threshold) > 0)


def histogram_unique_indices(indices, num_bins):
    # "the scatter is faster with unique indices": the indices repeat, so the result is undefined
    return jnp.zeros(num_bins, jnp.int32).at[indices].add(1, unique_indices=True)


def histogram_indices_are_sorted(indices, num_bins):
    return jnp.zeros(num_bins, jnp.int32).at[indices].add(1, indices_are_sorted=True)


def histogram_segment_sum_unique(indices, num_bins):
    return jax.ops.segment_sum(jnp.ones(jnp.shape(indices), jnp.int32), indices, num_bins, unique_indices=True)


def histogram_sorted_then_promised(indices, num_bins):
    # The promise is kept: the indices are sorted first.
    return jnp.zeros(num_bins, jnp.int32).at[jnp.sort(jnp.asarray(indices))].add(1, indices_are_sorted=True)


def histogram_fori_loop(indices, num_bins):
    # idx[i] is traced even for a loop of length 0: no indices at all raises an IndexError
    idx = jnp.asarray(indices)
    return jax.lax.fori_loop(0, idx.shape[0], lambda i, c: c.at[idx[i]].add(1), jnp.zeros(num_bins, jnp.int32))


def histogram_compare_all_bins(indices, num_bins):
    return jnp.sum(jnp.asarray(indices)[:, None] == jnp.arange(num_bins), axis=0)


def augment_batch_take_along_axis(key, images):
    flip_key, noise_key = jax.random.split(key)
    images = jnp.asarray(images)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    n = images.shape[1]
    order = jnp.where(flipped[:, None], n - 1 - jnp.arange(n), jnp.arange(n))
    return jnp.take_along_axis(images, order, axis=1) + 0.1 * jax.random.normal(noise_key, images.shape), flipped


def augment_batch_flips_both_axes(key, images):
    flip_key, noise_key = jax.random.split(key)
    images = jnp.asarray(images)
    flipped = jax.random.bernoulli(flip_key, 0.5, (images.shape[0],))
    reversed_ = jnp.flip(images)  # no axis: the batch order is reversed too
    return jnp.where(flipped[:, None], reversed_, images) + 0.1 * jax.random.normal(noise_key, images.shape), flipped


@partial(jax.jit, static_argnums=1)
def histogram_jitted_unique_indices(indices, num_bins):
    # The same false promise inside a jitted function: the probe follows the nested jit
    return jnp.zeros(num_bins, jnp.int32).at[indices].add(1, unique_indices=True)


def histogram_promise_in_bounds(indices, num_bins):
    # A promise that holds: every index is between 0 and num_bins - 1
    return jnp.zeros(num_bins, jnp.int32).at[indices].add(1, mode="promise_in_bounds")


def augment_batch_split_and_fold_in_meet(key, images):
    # split(key)[0] for the flips, fold_in(key, 0) for the noise: the same key
    images = jnp.asarray(images)
    flipped = jax.random.bernoulli(jax.random.split(key)[0], 0.5, (images.shape[0],))
    noise = jax.random.normal(jax.random.fold_in(key, 0), images.shape)
    return jnp.where(flipped[:, None], images[:, ::-1], images) + 0.1 * noise, flipped


def device_sum_presummed(x):
    # Each part summed before the map (on the default device): the pmap only adds up n totals
    n = jax.local_device_count()
    partials = jnp.asarray(x).reshape(n, -1).sum(axis=1)
    return jax.pmap(lambda s: jax.lax.psum(s, "i"), axis_name="i")(partials)[0]


def device_sum_presummed_shard_map(x):
    partials = jnp.asarray(x).reshape(jax.local_device_count(), -1).sum(axis=1)
    return jax.shard_map(
        lambda s: jax.lax.psum(s[0], "d"), mesh=_auto_mesh(), in_specs=P("d"), out_specs=P()
    )(partials)


def device_sum_mean_times_part_size(x):
    # The mean of the device's part times its size is the part's sum: right
    x = jnp.asarray(x)
    k = x.shape[0] // jax.local_device_count()
    return jax.shard_map(
        lambda s: jax.lax.psum(jnp.mean(s) * k, "d"), mesh=_auto_mesh(), in_specs=P("d"), out_specs=P()
    )(x)


def count_above_thresholds_seen(x, threshold, _seen=set()):
    # A record of the thresholds asked for, in a default argument: a change outside the function
    _seen.add(float(threshold))
    return jnp.sum(x > threshold)


def batch_dropout_rates_seen(key, xs, rate, _seen=set()):
    _seen.add(rate)  # a record of the rates used, kept between calls
    keep = jax.random.bernoulli(key, 1 - rate, jnp.shape(xs))
    return jnp.where(keep, xs / (1 - rate), 0.0)


CASES = [
    wrong("5.1", "vmap-matches-loop", count_above_python_counter),
    wrong("5.1", "vmap-matches-loop", count_above_int),
    wrong("5.1", "matches-reference", count_above_batch_axis),
    wrong("5.1", "matches-reference", count_above_last_axis),
    wrong("5.1", "vmap-matches-loop", count_above_boolean_mask),
    wrong("5.1", "matches-reference", count_above_float),
    wrong("5.1", "inputs-unchanged", count_above_zeroes_input),
    right("5.1", count_above_nonzero),
    right("5.1", count_above_method),
    wrong("5.1", "matches-reference", count_above_at_least),
    wrong("5.1", "matches-reference", count_above_not_below),
    wrong("5.1", "matches-reference", count_above_size_minus),
    wrong("5.1", "matches-reference", count_above_positive_part),
    wrong("5.1", "matches-reference", count_above_int8),
    wrong("5.1", "matches-reference", count_above_uint8),
    wrong("5.1", "matches-reference", count_above_python_sum),
    wrong("5.1", "globals-unchanged", count_above_counts_examples),
    wrong("5.1", "globals-unchanged", count_above_counts_on_itself),
    right("5.1", count_above_where),
    right("5.1", count_above_nan_to_minus_inf),
    wrong("5.2", "rows-independent", batch_dropout_one_key_per_batch),
    wrong("5.2", "rows-independent", batch_dropout_loop_same_key),
    wrong("5.2", "dropout-scale", batch_dropout_no_scale),
    wrong("5.2", "globals-unchanged", batch_dropout_logs_rates),
    wrong("5.2", "keep-probability", batch_dropout_keeps_rate),
    wrong("5.2", "no-key-reuse", batch_dropout_reuses_key),
    wrong("5.2", "varies-with-input", batch_dropout_ignores_key),
    right("5.2", batch_dropout_split_rows),
    right("5.2", batch_dropout_uniform),
    wrong("5.2", "edge-rates", batch_dropout_multiplies_mask),
    wrong("5.2", "edge-rates", batch_dropout_python_scale),
    wrong("5.2", "keep-probability", batch_dropout_randint),
    wrong("5.2", "rows-independent", batch_dropout_row_bits),
    wrong("5.2", "rows-independent", batch_dropout_one_mask_row),
    wrong("5.2", "rows-independent", batch_dropout_key_per_pair),
    wrong("5.2", "inputs-unchanged", batch_dropout_in_place),
    wrong("5.2", "dropout-scale", batch_dropout_float16),
    wrong("5.2", "same-result-twice", batch_dropout_numpy_rng),
    right("5.2", batch_dropout_fold_in),
    wrong("5.3", "matches-reference", histogram_set),
    wrong("5.3", "matches-reference", histogram_set_plus_one),
    wrong("5.3", "jit-matches-eager", histogram_python_loop),
    wrong("5.3", "matches-reference", histogram_float),
    wrong("5.3", "jit-matches-eager", histogram_bincount_no_length),
    wrong("5.3", "inputs-unchanged", histogram_sorts_input),
    right("5.3", histogram_add),
    right("5.3", histogram_bincount),
    right("5.3", histogram_one_hot),
    wrong("5.3", "matches-reference", histogram_uint8),
    wrong("5.3", "matches-reference", histogram_int8_cast),
    wrong("5.3", "matches-reference", histogram_fixed_bins),
    wrong("5.3", "matches-reference", histogram_assumes_sorted),
    wrong("5.3", "globals-unchanged", histogram_counts_calls),
    wrong("5.3", "globals-unchanged", histogram_counts_on_class),
    right("5.3", histogram_nn_one_hot),
    right("5.3", histogram_segment_sum),
    right("5.3", histogram_sorted),
    wrong("5.4", "uses-psum", device_sum_plain),
    wrong("5.4", "runs-on-all-devices", device_sum_plain),
    wrong("5.4", "uses-psum", device_sum_no_psum),
    wrong("5.4", "runs-on-all-devices", device_sum_vmap),
    wrong("5.4", "matches-reference", device_sum_psum_of_means),
    wrong("5.4", "matches-reference", device_sum_every_device),
    wrong("5.4", "matches-reference", device_sum_first_elements),
    right("5.4", device_sum_pmap),
    right("5.4", device_sum_shard_map),
    right("5.4", device_sum_explicit_mesh),
    wrong("5.4", "uses-psum", device_sum_host_adds),
    wrong("5.4", "psum-over-devices", device_sum_host_adds, label="device_sum_host_adds_no_device_psum"),
    wrong("5.4", "psum-over-devices", device_sum_psum_over_rows),
    wrong("5.4", "psum-over-devices", device_sum_pmap_vmap),
    wrong("5.4", "globals-unchanged", device_sum_keeps_shards),
    right("5.4", device_sum_pmean_times_n),
    right("5.4", device_sum_jit_shard_map),
    wrong("5.5", "examples-independent", augment_batch_as_given),
    wrong("5.5", "globals-unchanged", augment_batch_as_given, label="augment_batch_as_given_log"),
    wrong("5.5", "examples-independent", augment_batch_shared_key),
    wrong("5.5", "no-key-reuse", augment_batch_key_twice),
    wrong("5.5", "globals-unchanged", augment_batch_still_logs),
    wrong("5.5", "flip-and-noise", augment_batch_inverted_flags),
    wrong("5.5", "noise-scale", augment_batch_unit_noise),
    wrong("5.5", "noise-scale", augment_batch_uniform_noise),
    wrong("5.5", "noise-scale", augment_batch_one_noise_value),
    wrong("5.5", "flip-probability", augment_batch_third_flipped),
    wrong("5.5", "flip-probability", augment_batch_flips_at_40_percent),
    wrong("5.5", "flip-probability", augment_batch_flips_at_55_percent),
    wrong("5.5", "flip-and-noise", augment_batch_float_flags),
    wrong("5.5", "same-result-twice", augment_batch_numpy_flips),
    wrong("5.5", "inputs-unchanged", augment_batch_in_place),
    right("5.5", augment_batch_per_example),
    right("5.5", augment_batch_vectorised),
    right("5.5", augment_batch_fold_in),
    wrong("5.1", "matches-reference", count_above_nan_to_zero),
    wrong("5.1", "matches-reference", count_above_float16),
    wrong("5.1", "matches-reference", count_above_row_sums),
    wrong("5.1", "matches-reference", count_above_loops_rows),
    right("5.1", count_above_subtract),
    right("5.1", count_above_fmax),
    right("5.1", count_above_lax_reduce),
    wrong("5.2", "keep-probability", batch_dropout_fixed_count_per_row),
    wrong("5.2", "rows-independent", batch_dropout_tiled_half),
    wrong("5.2", "edge-rates", batch_dropout_caps_rate),
    wrong("5.2", "edge-rates", batch_dropout_epsilon),
    right("5.2", batch_dropout_column_keys),
    right("5.2", batch_dropout_nan_to_num),
    wrong("5.3", "globals-unchanged", histogram_cached_zeros),
    wrong("5.3", "matches-reference", histogram_unique_counts),
    wrong("5.3", "jit-matches-eager", histogram_minlength),
    right("5.3", histogram_jnp_histogram),
    right("5.3", histogram_per_bin),
    right("5.3", histogram_float_then_int),
    wrong("5.4", "uses-psum", device_sum_all_gather),
    wrong("5.4", "matches-reference", device_sum_keeps_dims),
    wrong("5.4", "matches-reference", device_sum_half_precision),
    right("5.4", device_sum_first_of_totals),
    right("5.4", device_sum_psum_elementwise),
    right("5.4", device_sum_pmap_strided),
    wrong("5.4", "uses-psum", device_sum_python_float),
    wrong("5.4", "uses-psum", device_sum_set_mesh),
    right("5.4", device_sum_mesh_constructor),
    wrong("5.5", "no-key-reuse", augment_batch_fixed_batch),
    wrong("5.5", "no-key-reuse", augment_batch_fixed_length),
    wrong("5.5", "no-key-reuse", augment_batch_one_key),
    wrong("5.5", "noise-scale", augment_batch_truncated_noise),
    wrong("5.5", "flip-and-noise", augment_batch_rolls),
    wrong("5.5", "flip-and-noise", augment_batch_flips_whole_batch),
    right("5.5", augment_batch_flip_after_noise),
    right("5.5", augment_batch_two_keys_per_example),
    right("5.5", augment_batch_randint),
    wrong("5.3", "globals-unchanged", histogram_io_callback),
    right("5.2", batch_dropout_jitted),
    wrong("5.5", "noise-scale", augment_batch_flip_from_noise_sign),
    wrong("5.5", "noise-scale", augment_batch_flipped_noise_sign),
    wrong("5.5", "varies-with-input", augment_batch_alternating_flips),
    right("5.5", augment_batch_noise_before_flip),
    right("5.5", augment_batch_uniform_coins),
    wrong("5.5", "noise-scale", augment_batch_fold_in_flips_split_noise),
    wrong("5.3", "matches-reference", histogram_counter_in_index_dtype),
    wrong("5.3", "matches-reference", histogram_segment_sum_ones_like),
    right("5.3", histogram_uint32),
    right("5.3", histogram_scan),
    wrong("5.5", "distinct-keys", augment_batch_fold_in_neighbours),
    wrong("5.5", "distinct-keys", augment_batch_fold_in_odd_numbers),
    right("5.5", augment_batch_fold_in_far_apart),
    wrong("5.1", "matches-reference", count_above_finite_only),
    right("5.1", count_above_nan_to_threshold),
    right("5.2", batch_dropout_numpy_where),
    right("5.2", batch_dropout_flax, needs=("flax",)),
    wrong("5.5", "no-key-reuse", augment_batch_numpy_finish),
    wrong("5.3", "matches-reference", histogram_bfloat16_one_hot),
    wrong("5.5", "noise-scale", augment_batch_clipped_noise),
    wrong("5.2", "kept-count-varies", batch_dropout_exact_count),
    wrong("5.1", "matches-reference", count_above_plus_epsilon),
    wrong("5.1", "matches-reference", count_above_threshold_in_x_dtype),
    right("5.1", count_above_np_sum),
    right("5.1", count_above_sign),
    wrong("5.3", "scatter-promises", histogram_unique_indices),
    wrong("5.3", "scatter-promises", histogram_indices_are_sorted),
    wrong("5.3", "scatter-promises", histogram_segment_sum_unique),
    right("5.3", histogram_sorted_then_promised),
    wrong("5.3", "matches-reference", histogram_fori_loop),
    right("5.3", histogram_compare_all_bins),
    right("5.5", augment_batch_take_along_axis),
    wrong("5.5", "flip-and-noise", augment_batch_flips_both_axes),
    wrong("5.3", "scatter-promises", histogram_jitted_unique_indices),
    right("5.3", histogram_promise_in_bounds),
    wrong("5.5", "distinct-keys", augment_batch_split_and_fold_in_meet),
    right("5.4", device_sum_mean_times_part_size),
    wrong("5.1", "globals-unchanged", count_above_thresholds_seen),
    wrong("5.2", "globals-unchanged", batch_dropout_rates_seen),
]

MULTI_DEVICE_CASES = [
    wrong("5.4", "sums-own-part", device_sum_presummed),
    wrong("5.4", "sums-own-part", device_sum_presummed_shard_map),
    wrong("5.4", "matches-reference", device_sum_replicated),
    wrong("5.4", "matches-reference", device_sum_pmean),
    wrong("5.4", "matches-reference", device_sum_no_psum),
    wrong("5.4", "psum-over-devices", device_sum_psum_over_part_of_mesh),
    wrong("5.4", "psum-over-devices", device_sum_half_the_devices),
    wrong("5.4", "psum-over-devices", device_sum_pmap_rows_of_n),
    wrong("5.4", "matches-reference", device_sum_adds_totals),
    wrong("5.4", "matches-reference", device_sum_psum_over_n),
    right("5.4", device_sum_two_axes),
    wrong("5.4", "sums-own-part", device_sum_replicated_over_n),
    wrong("5.4", "sums-own-part", device_sum_pmap_broadcast_pmean),
    right("5.4", device_sum_slices_replicated_x),
]

test_known_answer = parametrize(CASES)


def _verify_on_eight_devices() -> None:
    """Run in the subprocess: every 5.4 answer, with the CPU split into 8 devices."""
    jax.config.update("jax_num_cpu_devices", 8)
    assert jax.local_device_count() == 8, jax.devices()
    for known in [c for c in CASES if c.exercise_id == "5.4"] + MULTI_DEVICE_CASES:
        known.verify()


def test_multi_device_answers() -> None:
    env = dict(os.environ, JAX_PLATFORMS="cpu")
    code = "from tests.wrong_answers.test_ch05 import _verify_on_eight_devices as v; v()"
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]

