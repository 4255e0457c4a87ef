"""Known answers to exercise 2.1 (`count_traces`), each with the probe that must judge it."""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from tests.wrong_answers.helpers import parametrize, right, wrong

# Wrong answers ----------------------------------------------------------------------


def count_traces_new_wrapper_per_call(f, calls):
    # A new wrapper for every call has a new, empty cache: this counts calls, not traces.
    traces = 0
    for args in calls:
        def counted(*a):
            nonlocal traces
            traces += 1
            return f(*a)

        jax.jit(counted)(*args)
    return traces


def count_traces_by_shape(f, calls):
    # Forgets the dtype: int32[3] and float32[3] look the same here.
    return len({tuple(np.shape(leaf) for leaf in jax.tree.leaves(args)) for args in calls})


def count_traces_ignores_weak_type(f, calls):
    # Shape and (canonical) dtype, but 1.0 and jnp.float32(1.0) are different JAX types.
    return len({
        tuple((np.shape(leaf), jnp.asarray(leaf).dtype) for leaf in jax.tree.leaves(args))
        for args in calls
    })


def count_traces_by_numpy_dtype(f, calls):
    # NumPy's dtype is not JAX's: a float64 NumPy array is traced as float32.
    return len({
        tuple((np.shape(leaf), np.asarray(leaf).dtype) for leaf in jax.tree.leaves(args))
        for args in calls
    })


def count_traces_ignores_tree_structure(f, calls):
    # The leaves' JAX types alone: {"w", "b"} and {"w", "bias"} look the same here.
    return len({tuple(jax.typeof(leaf) for leaf in jax.tree.leaves(args)) for args in calls})


def count_traces_counts_retraces(f, calls):
    # Counts only the traces after the first one.
    traces = 0

    def counted(*args):
        nonlocal traces
        traces += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return max(traces - 1, 0)


_GLOBAL_TRACES = 0


def count_traces_global_counter(f, calls):
    # The counter lives outside the function and is never reset.
    def counted(*args):
        global _GLOBAL_TRACES
        _GLOBAL_TRACES += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return _GLOBAL_TRACES


_JITTED_BY_FUNCTION: dict = {}


def count_traces_memoized_jit(f, calls):
    # Reuses one jitted wrapper (and its cache) per f across calls of count_traces.
    if f not in _JITTED_BY_FUNCTION:
        traces = [0]

        def counted(*args):
            traces[0] += 1
            return f(*args)

        _JITTED_BY_FUNCTION[f] = (jax.jit(counted), traces)
    jitted, traces = _JITTED_BY_FUNCTION[f]
    before = traces[0]
    for args in calls:
        jitted(*args)
    return traces[0] - before


def count_traces_cache_size(f, calls):
    # jax.jit(f) shares its cache with every other jax.jit(f) of the same f, and the size
    # counts compiled entries, which is not the number of traces.
    jitted = jax.jit(f)
    for args in calls:
        jitted(*args)
    return jitted._cache_size()


def count_traces_pops_calls(f, calls):
    # Consumes the caller's list.
    traces = 0

    def counted(*args):
        nonlocal traces
        traces += 1
        return f(*args)

    jitted = jax.jit(counted)
    while calls:
        jitted(*calls.pop(0))
    return traces


# Correct answers --------------------------------------------------------------------


def count_traces_nonlocal(f, calls):
    traces = 0

    def counted(*args):
        nonlocal traces
        traces += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return traces


def count_traces_jit_in_loop(f, calls):
    # jax.jit(counted) built again on every call still finds the same cache: it is keyed on
    # the function `counted`, which is created once per count_traces call.
    log = []

    def counted(*args):
        log.append(args)
        return f(*args)

    for args in calls:
        jax.jit(counted)(*args)
    return len(log)


def count_traces_from_cache_key(f, calls):
    # Models the key instead of observing the traces: tree structure plus each leaf's JAX type.
    keys = set()
    for args in calls:
        leaves, tree = jax.tree.flatten(args)
        keys.add((tree, tuple(jax.typeof(leaf) for leaf in leaves)))
    return len(keys)


CASES = [
    wrong("2.1", "matches-reference", count_traces_new_wrapper_per_call),
    wrong("2.1", "matches-reference", count_traces_by_shape),
    wrong("2.1", "matches-reference", count_traces_ignores_weak_type),
    wrong("2.1", "matches-reference", count_traces_by_numpy_dtype),
    wrong("2.1", "matches-reference", count_traces_ignores_tree_structure),
    wrong("2.1", "matches-reference", count_traces_counts_retraces),
    wrong("2.1", "same-result-twice", count_traces_global_counter),
    wrong("2.1", "fresh-jit", count_traces_global_counter, label="count_traces_global_counter_fresh"),
    wrong("2.1", "fresh-jit", count_traces_memoized_jit),
    wrong("2.1", "fresh-jit", count_traces_cache_size),
    wrong("2.1", "matches-reference", count_traces_cache_size, label="count_traces_cache_size_numpy"),
    wrong("2.1", "inputs-unchanged", count_traces_pops_calls),
    right("2.1", count_traces_nonlocal),
    right("2.1", count_traces_jit_in_loop),
    right("2.1", count_traces_from_cache_key),
]

test_known_answer = parametrize(CASES)
