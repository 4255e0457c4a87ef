"""Known answers to exercises 2.1 (`count_traces`) and 2.2 (`clip_norm`), each with the probe that must judge it."""

from __future__ import annotations

import contextlib
import functools
import io
import logging

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

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


def count_traces_counts_key_changes(f, calls):
    # Counts changes from one call to the next: forgets that earlier traces stay cached.
    count, previous = 0, None
    for args in calls:
        leaves, tree = jax.tree.flatten(args)
        key = (tree, tuple(jax.typeof(leaf) for leaf in leaves))
        count += key != previous
        previous = key
    return count


def count_traces_first_argument(f, calls):
    # Models the key from the first argument only.
    return len({jax.typeof(args[0]) for args in calls}) if calls else 0


def count_traces_by_size(f, calls):
    # Shape reduced to a number of elements, with the dtype and weak type.
    return len({
        tuple((jnp.size(leaf), jax.typeof(leaf).dtype, jax.typeof(leaf).weak_type) for leaf in jax.tree.leaves(args))
        for args in calls
    })


def count_traces_distinct_jaxprs(f, calls):
    # One trace per distinct program text: the text shows neither weak types nor dict keys.
    return len({str(jax.make_jaxpr(lambda *a: f(*a))(*args)) for args in calls})


_MODULE_F = [None]
_MODULE_TRACES = [0]


def _module_wrapper(*args):
    _MODULE_TRACES[0] += 1
    return _MODULE_F[0](*args)


def count_traces_module_wrapper(f, calls):
    # The counter is reset, but the jitted wrapper is one module-level function: one cache.
    _MODULE_F[0] = f
    _MODULE_TRACES[0] = 0
    jitted = jax.jit(_module_wrapper)
    for args in calls:
        jitted(*args)
    return _MODULE_TRACES[0]


def count_traces_keeps_arguments(f, calls):
    # Right count, but every traced argument (a tracer) is kept in a list.
    seen = []

    def counted(*args):
        seen.append(args)
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return len(seen)


def count_traces_keeps_last_tracer(f, calls):
    # Keeps the last traced argument "for debugging" in a closure cell.
    traces, last = 0, None

    def counted(*args):
        nonlocal traces, last
        traces += 1
        last = args
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return traces


def count_traces_clear_caches(f, calls):
    # Clears every cache of the process first, then reads the size of jax.jit(f)'s cache.
    jax.clear_caches()
    jitted = jax.jit(f)
    for args in calls:
        jitted(*args)
    return jitted._cache_size()


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
        log.append(len(args))
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


class _TraceCounter:
    def __init__(self, f):
        self.f = f
        self.count = 0

    def __call__(self, *args):
        self.count += 1
        return self.f(*args)


def count_traces_counter_object(f, calls):
    counter = _TraceCounter(f)
    jitted = jax.jit(counter)
    for args in calls:
        jitted(*args)
    return counter.count


def count_traces_wraps(f, calls):
    traces = [0]

    @functools.wraps(f)
    def counted(*args):
        traces[0] += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return traces[0]


def count_traces_aot_trace(f, calls):
    # jitted.trace(*args) uses the jit's trace cache without compiling
    runs = []

    def counted(*args):
        runs.append(1)
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted.trace(*args)
    return sum(runs)


def count_traces_make_jaxpr(f, calls):
    # jax.make_jaxpr of one wrapper shares a trace cache across its calls, as jax.jit does
    seen = [0]

    def counted(*args):
        seen[0] += 1
        return f(*args)

    for args in calls:
        jax.make_jaxpr(counted)(*args)
    return seen[0]


def _counted(counter, f, *args):
    counter.append(1)
    return f(*args)


def count_traces_partial(f, calls):
    # a functools.partial made on every call is a new object for jax.jit's cache too
    counter = []
    jitted = jax.jit(functools.partial(_counted, counter, f))
    for args in calls:
        jitted(*args)
    return len(counter)


def count_traces_counts_prints(f, calls):
    # counts the lines a wrapper prints while tracing
    buffer = io.StringIO()

    def counted(*args):
        print("traced")
        return f(*args)

    jitted = jax.jit(counted)
    with contextlib.redirect_stdout(buffer):
        for args in calls:
            jitted(*args)
    return buffer.getvalue().count("traced\n")


class _TracingRecords(logging.Handler):
    def __init__(self):
        super().__init__()
        self.count = 0

    def emit(self, record):
        if "Finished tracing" in record.getMessage():
            self.count += 1


def count_traces_log_compiles(f, calls):
    # counts JAX's own "Finished tracing" log records under jax.log_compiles()
    def wrapped(*args):
        return f(*args)

    handler = _TracingRecords()
    logger = logging.getLogger("jax")
    logger.addHandler(handler)
    try:
        with jax.log_compiles():
            jitted = jax.jit(wrapped)
            for args in calls:
                jitted(*args)
    finally:
        logger.removeHandler(handler)
    return handler.count


# 2.2 clip_norm ----------------------------------------------------------------------


def clip_norm_python_if(g, max_norm):  # the version the exercise gives
    norm = jnp.sqrt(jnp.sum(g**2))
    if norm > max_norm:
        g = g * (max_norm / norm)
    return g


def clip_norm_python_min(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    return g * min(1.0, max_norm / norm)


def clip_norm_float(g, max_norm):
    norm = float(jnp.linalg.norm(g))
    return g * (max_norm / norm) if norm > max_norm else g


def clip_norm_numpy(g, max_norm):
    norm = np.linalg.norm(g)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_static_max_norm(g, max_norm):
    return _clip_static(g, max_norm)


@functools.partial(jax.jit, static_argnums=1)
def _clip_static(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_always_scales(g, max_norm):
    return g * (max_norm / jnp.sqrt(jnp.sum(g**2)))


def clip_norm_elementwise(g, max_norm):
    return jnp.clip(g, -max_norm, max_norm)


def clip_norm_per_row(g, max_norm):
    norm = jnp.linalg.norm(g, axis=-1, keepdims=True)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_nan_at_zero(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    return g * (jnp.minimum(norm, max_norm) / norm)


def clip_norm_l1(g, max_norm):
    norm = jnp.sum(jnp.abs(g))
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_spectral(g, max_norm):
    norm = jnp.linalg.norm(g, ord=2) if g.ndim == 2 else jnp.linalg.norm(g)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_fixed_threshold(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    return g * jnp.minimum(1.0, 1.0 / norm)


_NORMS = []


def clip_norm_logs_norm(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    _NORMS.append(norm)  # kept for a plot of the gradient norms
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


_LAST = {"norm": None}


def clip_norm_remembers_norm(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    _LAST["norm"] = norm
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_rms(g, max_norm):
    norm = jnp.sqrt(jnp.mean(g**2))
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_abs_of_sum(g, max_norm):
    norm = jnp.abs(jnp.sum(g))
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_half_precision(g, max_norm):
    # computes in bfloat16 "to save memory": the result is no longer float32
    g16 = g.astype(jnp.bfloat16)
    norm = jnp.sqrt(jnp.sum(g16**2))
    return jnp.where(norm > max_norm, g16 * (max_norm / norm), g16)


def clip_norm_axis0(g, max_norm):
    norm = jnp.linalg.norm(g, axis=0)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_where(g, max_norm):
    norm = jnp.linalg.norm(g)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_minimum(g, max_norm):
    return g * jnp.minimum(1.0, max_norm / jnp.sqrt(jnp.vdot(g, g)))


def clip_norm_maximum(g, max_norm):
    return g * max_norm / jnp.maximum(jnp.linalg.norm(g), max_norm)


def clip_norm_cond(g, max_norm):
    norm = jnp.sqrt(jnp.sum(jnp.square(g)))
    return lax.cond(norm > max_norm, lambda: g / norm * max_norm, lambda: g)


def clip_norm_divides(g, max_norm):
    return g / jnp.maximum(jnp.linalg.norm(g) / max_norm, 1.0)


def clip_norm_eps(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g * g))
    return jnp.where(norm > max_norm, g * max_norm / (norm + 1e-6), g)


# Found by an adversarial pass over the task texts ------------------------------------


def count_traces_converts_calls(f, calls):
    # "normalises" the caller's calls to JAX arrays first, in the caller's list
    for index, args in enumerate(calls):
        calls[index] = jax.tree.map(jnp.asarray, args)
    traces = 0

    def counted(*args):
        nonlocal traces
        traces += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return traces


def count_traces_fresh_cache_size(f, calls):
    # a fresh wrapper, but the compiled-entry count is not the trace count (NumPy float64)
    jitted = jax.jit(lambda *args: f(*args))
    for args in calls:
        jitted(*args)
    return jitted._cache_size()


def count_traces_debug_callback(f, calls):
    # counts runs of the compiled program, not traces
    runs = []

    def counted(*args):
        jax.debug.callback(lambda: runs.append(1))
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    jax.effects_barrier()
    return len(runs)


def count_traces_shape_and_result_type(f, calls):
    # tree structure, shape and jnp.result_type: the weak type is lost
    keys = set()
    for args in calls:
        leaves, tree = jax.tree.flatten(args)
        keys.add((tree, tuple((np.shape(leaf), jnp.result_type(leaf)) for leaf in leaves)))
    return len(keys)


def count_traces_tracer_arguments(f, calls):
    # counts a trace only when a positional argument is a tracer: a dict is not one
    traces = 0

    def counted(*args):
        nonlocal traces
        traces += any(isinstance(a, jax.core.Tracer) for a in args)
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return traces


def count_traces_jax_array(f, calls):
    runs = []

    def counted(*args):
        runs.append(1)
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return jnp.sum(jnp.array(runs, dtype=jnp.int32))  # a JAX array, not an int


def count_traces_lower(f, calls):
    traces = [0]

    def counted(*args):
        traces[0] += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted.lower(*args)
    return traces[0]


def count_traces_eval_shape(f, calls):
    traces = [0]

    def counted(*args):
        traces[0] += 1
        return f(*args)

    for args in calls:
        jax.eval_shape(counted, *args)
    return traces[0]


def count_traces_one_tuple_argument(f, calls):
    # the whole tuple as one argument: the same cache key, tree structure included
    traces = [0]

    def counted(args):
        traces[0] += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(args)
    return traces[0]


def count_traces_numpy_int(f, calls):
    runs = []

    def counted(*args):
        runs.append(1)
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return np.int64(len(runs))


def clip_norm_max_abs(g, max_norm):
    norm = jnp.max(jnp.abs(g))  # the largest element, not the Euclidean norm
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_no_sqrt(g, max_norm):
    norm = jnp.sum(g**2)  # the squared norm
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_margin(g, max_norm):
    norm = jnp.linalg.norm(g)
    return jnp.where(norm > 1.01 * max_norm, g * (max_norm / norm), g)  # "a little slack"


def clip_norm_whole_max_norm(g, max_norm):
    norm = jnp.linalg.norm(g)
    return jnp.where(norm > max_norm, g * (jnp.floor(max_norm) / norm), g)


def clip_norm_callback_log(g, max_norm):
    norm = jnp.linalg.norm(g)
    jax.debug.callback(lambda v: _NORMS.append(v), norm)  # a side effect, even without a tracer
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_safe_division(g, max_norm):
    norm = jnp.linalg.norm(g)
    safe = jnp.where(norm == 0, 1.0, norm)
    return jnp.where(norm > max_norm, g * (max_norm / safe), g)


def clip_norm_select(g, max_norm):
    norm = jnp.sqrt(jnp.vdot(g.ravel(), g.ravel()))
    return lax.select(jnp.broadcast_to(norm > max_norm, g.shape), g * (max_norm / norm), g)


def clip_norm_squared_compare(g, max_norm):
    squared = jnp.sum(g * g)
    return jnp.where(squared > max_norm * max_norm, g * (max_norm * lax.rsqrt(squared)), g)


def clip_norm_tree(g, max_norm):
    leaves = jax.tree.leaves(g)
    norm = jnp.sqrt(sum(jnp.sum(leaf**2) for leaf in leaves))
    factor = jnp.minimum(1.0, max_norm / norm)
    return jax.tree.map(lambda leaf: leaf * factor, g)



def _which_calls_trace(fn, labelled_calls):
    """Chapter 2's helper, copied: which calls of one jitted fn traced."""
    trace_log = []

    def logged(*args):
        trace_log.append(len(args))
        return fn(*args)

    jitted = jax.jit(logged)
    traced = []
    for label, args in labelled_calls:
        traces_before = len(trace_log)
        jitted(*args)
        traced.append(len(trace_log) > traces_before)
        print(f"{label:<34}{'traced' if traced[-1] else 'reused'}")
    return traced


def count_traces_chapter_helper(f, calls):
    return sum(_which_calls_trace(f, [(str(i), args) for i, args in enumerate(calls)]))



def count_traces_python_scalars_weak(f, calls):
    # models the key with "Python scalars are weak": jnp.array(1.0) and jnp.full(3, 0.5) are too
    keys = set()
    for args in calls:
        leaves, tree = jax.tree.flatten(args)
        keys.add((tree, tuple(
            (
                np.shape(leaf),
                jax.dtypes.canonicalize_dtype(np.result_type(leaf)),
                isinstance(leaf, (int, float, complex)) and not isinstance(leaf, bool),
            )
            for leaf in leaves
        )))
    return len(keys)


def clip_norm_half_precision_norm(g, max_norm):
    # The sum of squares in float16 "to save memory": a norm off by 1e-4 of itself.
    norm = jnp.sqrt(jnp.sum(g.astype(jnp.float16) ** 2)).astype(g.dtype)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_rounded(g, max_norm):
    # Rounded "for readable logs": exact on the cases with short decimal values only.
    norm = jnp.sqrt(jnp.sum(g**2))
    return jnp.round(jnp.where(norm > max_norm, g * (max_norm / norm), g), 4)


def clip_norm_large_epsilon(g, max_norm):
    # An epsilon of 1e-3 against division by zero changes every scaled result.
    norm = jnp.sqrt(jnp.sum(g**2))
    return g * jnp.minimum(1.0, max_norm / (norm + 1e-3))


def clip_norm_lax_cond(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    return lax.cond(norm > max_norm, lambda: g * (max_norm / norm), lambda: g)


def clip_norm_rsqrt(g, max_norm):
    squared = jnp.sum(jnp.square(g))
    return jnp.where(squared > max_norm**2, g * (max_norm * lax.rsqrt(squared)), g)


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
    wrong("2.1", "matches-reference", count_traces_counts_key_changes),
    wrong("2.1", "matches-reference", count_traces_first_argument),
    wrong("2.1", "matches-reference", count_traces_by_size),
    wrong("2.1", "matches-reference", count_traces_distinct_jaxprs),
    wrong("2.1", "fresh-jit", count_traces_module_wrapper),
    wrong("2.1", "matches-reference", count_traces_module_wrapper, label="count_traces_module_wrapper_other_f"),
    wrong("2.1", "no-leaked-tracers", count_traces_keeps_arguments),
    wrong("2.1", "no-leaked-tracers", count_traces_keeps_last_tracer),
    wrong("2.1", "matches-reference", count_traces_clear_caches),
    right("2.1", count_traces_from_cache_key),
    right("2.1", count_traces_counter_object),
    right("2.1", count_traces_wraps),
    right("2.1", count_traces_aot_trace),
    right("2.1", count_traces_make_jaxpr),
    right("2.1", count_traces_partial),
    right("2.1", count_traces_counts_prints),
    right("2.1", count_traces_log_compiles),
    wrong("2.2", "jit-matches-eager", clip_norm_python_if),
    wrong("2.2", "jit-matches-eager", clip_norm_python_min),
    wrong("2.2", "jit-matches-eager", clip_norm_float),
    wrong("2.2", "jit-matches-eager", clip_norm_numpy),
    wrong("2.2", "jit-matches-eager", clip_norm_static_max_norm),
    wrong("2.2", "matches-reference", clip_norm_static_max_norm, label="clip_norm_static_max_norm_array"),
    wrong("2.2", "matches-reference", clip_norm_always_scales),
    wrong("2.2", "matches-reference", clip_norm_elementwise),
    wrong("2.2", "matches-reference", clip_norm_per_row),
    wrong("2.2", "matches-reference", clip_norm_nan_at_zero),
    wrong("2.2", "matches-reference", clip_norm_l1),
    wrong("2.2", "matches-reference", clip_norm_spectral),
    wrong("2.2", "matches-reference", clip_norm_fixed_threshold),
    wrong("2.2", "matches-reference", clip_norm_rms),
    wrong("2.2", "matches-reference", clip_norm_half_precision),
    wrong("2.2", "matches-reference", clip_norm_axis0),
    wrong("2.2", "matches-reference", clip_norm_abs_of_sum),
    wrong("2.2", "no-leaked-tracers", clip_norm_logs_norm),
    wrong("2.2", "globals-unchanged", clip_norm_logs_norm, label="clip_norm_logs_norm_globals"),
    wrong("2.2", "no-leaked-tracers", clip_norm_remembers_norm),
    wrong("2.2", "globals-unchanged", clip_norm_remembers_norm, label="clip_norm_remembers_norm_globals"),
    right("2.2", clip_norm_where),
    right("2.2", clip_norm_minimum),
    right("2.2", clip_norm_maximum),
    right("2.2", clip_norm_cond),
    right("2.2", clip_norm_divides),
    right("2.2", clip_norm_eps),
    # adversarial pass
    wrong("2.1", "inputs-unchanged", count_traces_converts_calls),
    wrong("2.1", "matches-reference", count_traces_fresh_cache_size),
    wrong("2.1", "matches-reference", count_traces_debug_callback),
    wrong("2.1", "matches-reference", count_traces_shape_and_result_type),
    wrong("2.1", "matches-reference", count_traces_tracer_arguments),
    wrong("2.1", "fresh-jit", count_traces_jax_array),
    wrong("2.1", "matches-reference", count_traces_python_scalars_weak),
    right("2.1", count_traces_lower),
    right("2.1", count_traces_eval_shape),
    right("2.1", count_traces_one_tuple_argument),
    right("2.1", count_traces_numpy_int),
    right("2.1", count_traces_chapter_helper),
    wrong("2.2", "matches-reference", clip_norm_max_abs),
    wrong("2.2", "matches-reference", clip_norm_no_sqrt),
    wrong("2.2", "matches-reference", clip_norm_margin),
    wrong("2.2", "matches-reference", clip_norm_whole_max_norm),
    wrong("2.2", "globals-unchanged", clip_norm_callback_log),
    right("2.2", clip_norm_safe_division),
    right("2.2", clip_norm_select),
    right("2.2", clip_norm_squared_compare),
    right("2.2", clip_norm_tree),
    wrong("2.2", "matches-reference", clip_norm_half_precision_norm),
    wrong("2.2", "matches-reference", clip_norm_rounded),
    wrong("2.2", "matches-reference", clip_norm_large_epsilon),
    right("2.2", clip_norm_lax_cond),
    right("2.2", clip_norm_rsqrt),
]

# Round 4 ------------------------------------------------------------------------------


def count_traces_counts_on_f(f, calls):
    f.traces = 0  # the count kept on the caller's function, "like a module's counter"

    def counted(*args):
        f.traces += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*args)
    return f.traces


class _TraceCounter:
    """A callable object as the jitted wrapper: a new one, with a new cache, per count."""

    def __init__(self, f):
        self.f, self.count = f, 0

    def __call__(self, *args):
        self.count += 1
        return self.f(*args)


def count_traces_wrapper_object(f, calls):
    counter = _TraceCounter(f)
    jitted = jax.jit(counter)
    for args in calls:
        jitted(*args)
    return counter.count


def count_traces_converts_copies(f, calls):
    count = 0

    def counted(*args):
        nonlocal count
        count += 1
        return f(*args)

    jitted = jax.jit(counted)
    for args in calls:
        jitted(*jax.tree.map(jnp.asarray, args))  # new arrays: the caller's stay as they were
    return count


def clip_norm_max_in_denominator(g, max_norm):
    norm = jnp.sqrt(jnp.sum(g**2))
    return g * (max_norm / jnp.maximum(norm, max_norm))  # 1 below max_norm, no 0 / 0


def clip_norm_keepdims(g, max_norm):
    norm = jnp.linalg.norm(g, keepdims=True)
    return jnp.where(norm > max_norm, g * max_norm / norm, g)


def clip_norm_factor_where(g, max_norm):
    norm = jnp.linalg.norm(g)
    return g * jnp.where(norm > max_norm, max_norm / norm, 1.0)


@functools.partial(jax.jit, donate_argnums=0)  # "clip in place: no copy of a big gradient"
def _clip_in_donated_buffer(g, max_norm):
    norm = jnp.linalg.norm(g)
    return jnp.where(norm > max_norm, g * (max_norm / norm), g)


def clip_norm_donates(g, max_norm):
    return _clip_in_donated_buffer(g, max_norm)  # the caller's g is deleted


CASES += [
    wrong("2.2", "inputs-unchanged", clip_norm_donates),
    wrong("2.1", "leaves-f-alone", count_traces_counts_on_f),
    right("2.1", count_traces_wrapper_object),
    right("2.1", count_traces_converts_copies),
    right("2.2", clip_norm_max_in_denominator),
    right("2.2", clip_norm_keepdims),
    right("2.2", clip_norm_factor_where),
]

test_known_answer = parametrize(CASES)


def test_reference_count_traces_agrees_with_calls() -> None:
    """The reference counts with `jitted.trace` (no compilation); calls give the same counts."""
    from purestate.exercises.ch02 import COUNT_TRACES_CASES, reference_count_traces

    for make in COUNT_TRACES_CASES:
        f, calls = make()
        assert reference_count_traces(f, calls) == count_traces_nonlocal(*make()), repr(f)
