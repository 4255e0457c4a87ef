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


def count_above_nonzero(x, threshold):
    return jnp.count_nonzero(jnp.asarray(x) > threshold)


def count_above_method(x, threshold):
    return (jnp.asarray(x) > threshold).astype(jnp.int32).sum()


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


def batch_dropout_split_rows(key, xs, rate):
    row_keys = jax.random.split(key, xs.shape[0])

    def row_dropout(row_key, row):
        keep = jax.random.bernoulli(row_key, 1 - rate, row.shape)
        return jnp.where(keep, row / (1 - rate), 0.0)

    return jax.vmap(row_dropout)(row_keys, xs)


def batch_dropout_uniform(key, xs, rate):
    keep = jax.random.uniform(key, xs.shape) >= rate
    return jnp.where(keep, xs / (1 - rate), 0.0)


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


def histogram_add(indices, num_bins):
    return jnp.zeros(num_bins, dtype=jnp.int32).at[indices].add(1)


def histogram_bincount(indices, num_bins):
    return jnp.bincount(jnp.asarray(indices), length=num_bins)


def histogram_one_hot(indices, num_bins):
    return (jnp.asarray(indices)[:, None] == jnp.arange(num_bins)).sum(axis=0)


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


def device_sum_pmap(x):
    return _pmap_sum(lambda shard: jax.lax.psum(shard.sum(), "devices"), x)[0]


def device_sum_shard_map(x):
    mesh = jax.make_mesh((jax.local_device_count(),), ("d",), axis_types=(AxisType.Auto,))

    @partial(jax.shard_map, mesh=mesh, in_specs=P("d"), out_specs=P())
    def total(shard):
        return jax.lax.psum(jnp.sum(shard), "d")

    return total(x)


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
    wrong("5.2", "rows-independent", batch_dropout_one_key_per_batch),
    wrong("5.2", "rows-independent", batch_dropout_loop_same_key),
    wrong("5.2", "dropout-scale", batch_dropout_no_scale),
    wrong("5.2", "keep-probability", batch_dropout_keeps_rate),
    wrong("5.2", "no-key-reuse", batch_dropout_reuses_key),
    wrong("5.2", "varies-with-input", batch_dropout_ignores_key),
    right("5.2", batch_dropout_split_rows),
    right("5.2", batch_dropout_uniform),
    wrong("5.3", "matches-reference", histogram_set),
    wrong("5.3", "matches-reference", histogram_set_plus_one),
    wrong("5.3", "jit-matches-eager", histogram_python_loop),
    wrong("5.3", "matches-reference", histogram_float),
    wrong("5.3", "jit-matches-eager", histogram_bincount_no_length),
    wrong("5.3", "inputs-unchanged", histogram_sorts_input),
    right("5.3", histogram_add),
    right("5.3", histogram_bincount),
    right("5.3", histogram_one_hot),
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
]

MULTI_DEVICE_CASES = [
    wrong("5.4", "matches-reference", device_sum_replicated),
    wrong("5.4", "matches-reference", device_sum_pmean),
    wrong("5.4", "matches-reference", device_sum_no_psum),
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

