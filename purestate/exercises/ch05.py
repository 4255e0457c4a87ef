"""Chapter 5 · vmap and pmap races: exercises 5.1–5.5.

No JAX array is created when this module is imported: chapter 5's notebooks split the CPU
into 8 devices, which must happen before JAX's first operation. Cases that need JAX values
(PRNG keys) are built on first use.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import case
from purestate.registry import Exercise, register


def _lazy(build: Callable[[], probes.Case]) -> probes.Case:
    """A case built on first use (then fresh copies of it on every call)."""
    made: list[probes.Case] = []

    def make() -> tuple[Any, ...]:
        if not made:
            made.append(build())
        return made[0]()

    return make


# 5.1 ---------------------------------------------------------------------------------


@probes.reference
def reference_count_above(x: Any, threshold: Any) -> np.ndarray:
    return np.sum(np.asarray(x) > threshold)


_NAN = np.float32(np.nan)
_INF = np.float32(np.inf)

COUNT_ABOVE_CASES = (
    case(np.array([0.5, 2.0, -1.0, 3.0, 2.0], dtype=np.float32), 1.0),
    case(np.array([1.0, 1.0, 1.5], dtype=np.float32), 1.0),  # equal is not above
    case(np.array([[0.0, 4.0, 5.0], [6.0, -2.0, 0.1]], dtype=np.float32), 0.5),  # one 2-D example
    case(np.array([-3.0, -0.5, -2.0, 0.0, -1.0], dtype=np.float32), -1.0),  # a negative threshold
    # NaN > t is False; inf > t is True (an answer that keeps finite values only misses it).
    case(np.array([_NAN, 2.0, _NAN, -1.0, _INF], dtype=np.float32), 0.0),
    # NaN below a negative threshold: NaN replaced by 0 (nan_to_num) would count as above;
    # -inf is below.
    case(np.array([_NAN, -_INF, _NAN, 0.5, -0.5], dtype=np.float32), -1.0),
    # One 0-d example, just above the threshold: a loop over rows or a sum over axis -1 fails
    # on it, and float16 or bfloat16 rounds 1.0001 to 1.0, which is not above.
    case(np.array(1.0001, dtype=np.float32), 1.0),
    # Values a hair above the threshold: x >= threshold + 1e-6 (or x - threshold > eps) misses
    # 1e-30 above 0 and the next float32 above 1.
    case(np.array([1e-30, -1e-30, 0.0, -0.0, 3e-38], dtype=np.float32), 0.0),
    case(np.array([np.nextafter(np.float32(1), np.float32(2)), 1.0, 0.99999994], dtype=np.float32), 1.0),
    # Integer values and a fractional negative threshold: a threshold cast to the dtype of x
    # (-2.5 truncated to -2) drops the -2.
    case(np.array([-3, -2, -1, 0, 5, 7, 2], dtype=np.int32), -2.5),
)
# (A count returned as int8, uint8 or int16 is rejected for its dtype, whatever its value.)

COUNT_ABOVE_BATCHES = (
    case(np.array([[0.5, 2.0, -1.0, 3.0], [4.0, 5.0, 6.0, 7.0], [_NAN, 9.0, 0.0, _NAN]], dtype=np.float32), 1.0),
    case(np.arange(24, dtype=np.float32).reshape(2, 3, 4), 10.0),
)

register(Exercise(
    id="5.1",
    signature="count_above(x, threshold)",
    objects=("count_above",),
    probes=(
        probes.matches_reference(
            "count_above", reference_count_above, COUNT_ABOVE_CASES,
            hint=(
                "Count over every element of the example, whatever its shape; an element equal to "
                "the threshold is not above it, nor is NaN; and return an integer count of at "
                "least 32 bits (an int8 count wraps after 127)."
            ),
        ),
        probes.vmap_matches_loop(
            "count_above", COUNT_ABOVE_BATCHES, in_axes=(0, None),
            hint=(
                "Under vmap the example is a tracer: a Python `if`, loop over its values, `int(...)` "
                "or boolean-mask indexing needs concrete values. Compare and reduce with array "
                "operations instead."
            ),
        ),
        probes.inputs_unchanged("count_above", COUNT_ABOVE_CASES),
        # Plus a threshold and a shape no earlier probe used: a record keyed by the arguments,
        # filled by the earlier calls, would otherwise look unchanged.
        probes.globals_unchanged(
            "count_above", (*COUNT_ABOVE_CASES[:2], case(np.array([2.0, 7.0, 3.0, 4.0, -1.0, 3.5], np.float32), 3.5)),
            hint=(
                "A counter outside the function runs once per trace under vmap, not once per "
                "example: return what you count instead."
            ),
        ),
    ),
    hints=(
        (
            "Count with array operations on the whole example: a Python `if` or `int(...)` needs a "
            "concrete value, and under `vmap` there is none."
        ),
        (
            "A comparison of an array with a number gives a boolean array; a jax.numpy "
            "reduction over all its elements counts the True entries, as an integer."
        ),
    ),
))

# 5.2 ---------------------------------------------------------------------------------

DROPOUT_SHAPE = (128, 512)  # 65,536 elements per case: enough for a tight keep-rate test
_DROPOUT_EDGE_SHAPE = (3, 8)


def _dropout_case(seed: int, rate: float, shape: tuple[int, int] = DROPOUT_SHAPE, jax_xs: bool = False) -> probes.Case:
    def build() -> probes.Case:
        xs = np.linspace(1.0, 2.0, shape[0] * shape[1], dtype=np.float32).reshape(shape)
        return case(jax.random.key(seed), jnp.asarray(xs) if jax_xs else xs, rate)

    return _lazy(build)


# NumPy batches (an answer that multiplies into `xs` changes the caller's array), except at
# the edges: there `xs / (1 - rate)` divides by 0, and on a NumPy `xs` NumPy would warn
# about it even for a right answer.
DROPOUT_CASES = (_dropout_case(0, 0.25), _dropout_case(1, 0.6))
DROPOUT_EDGE_CASES = (_dropout_case(2, 0.0, jax_xs=True), _dropout_case(3, 1.0, jax_xs=True))
DROPOUT_SMALL_CASES = (_dropout_case(6, 0.5, _DROPOUT_EDGE_SHAPE),)
DROPOUT_KEY_PAIRS = ((_dropout_case(4, 0.25), _dropout_case(5, 0.25)),)


def _as_float_array(result: Any, shape: tuple[int, ...]) -> tuple[np.ndarray | None, str | None]:
    try:
        out = np.asarray(result)
    except Exception:  # noqa: BLE001 — whatever came back, it is not an array
        return None, f"expected an array of shape {shape}, got {type(result).__name__}"
    if out.shape != shape:
        return None, f"expected shape {shape}, got shape {out.shape}"
    if not np.issubdtype(out.dtype, np.floating) or out.dtype.itemsize < 4:
        return None, f"expected float32 values, got dtype {out.dtype}"
    return out, None


def _dropout_shape_and_values(args: tuple[Any, ...], result: Any) -> str | None:
    _, xs, rate = args
    out, problem = _as_float_array(result, xs.shape)
    if problem:
        return problem
    kept = out != 0
    if not kept.any():
        return "every element was dropped"
    ratios = out[kept] / xs[kept]
    expected = 1.0 / (1.0 - rate)
    if not np.allclose(ratios, expected, rtol=1e-4):
        worst = ratios[np.argmax(np.abs(ratios - expected))]
        return (
            f"kept elements should be x * {expected:.4f} (that is x / (1 - rate)); "
            f"found one equal to x * {worst:.4f}"
        )
    return None


# The keep rate of a right answer: each of the N = 65,536 elements of a case is kept
# independently with probability p = 1 - rate, so the kept fraction has standard deviation
# s = sqrt(p (1 - p) / N). The probe rejects a fraction more than 5.3 s away from p. For a
# right answer that happens with probability 1.2e-7 per case (exact binomial tails: 1.16e-7
# at p = 0.75, 1.14e-7 at p = 0.4), 2.3e-7 for the two cases together. A keep probability
# off by 0.02 or more (0.017 at p = 0.75, 0.019 at p = 0.4) is rejected with probability
# above 1 - 1e-6. The keys are fixed, so the verdict on a given answer never changes.
_KEEP_RATE_Z = 5.3


# Independent bits, not a fixed number kept per row (or per column), e.g. a permutation of
# each row keeping exactly round((1 - rate) n) elements: for a right answer the kept counts of
# the 128 rows are binomial with variance n p (1 - p), and their sample variance falls below a
# quarter of that with probability 1.9e-19 (chi-square, 127 degrees of freedom); for the 512
# columns, 8e-73. A fixed count per row has variance 0.
_SPREAD_FRACTION = 0.25


def _dropout_keep_rate(args: tuple[Any, ...], result: Any) -> str | None:
    _, xs, rate = args
    out, problem = _as_float_array(result, xs.shape)
    if problem:
        return problem
    p = 1.0 - rate
    kept = float(np.mean(out != 0))
    tolerance = _KEEP_RATE_Z * np.sqrt(p * (1.0 - p) / out.size)
    if abs(kept - p) > tolerance:
        return (
            f"with rate={rate} each element should be kept with probability {p:.2f}; "
            f"{kept:.4f} of {out.size} elements were kept, more than {tolerance:.4f} away"
        )
    for axis, what in ((1, "row"), (0, "column")):
        counts = np.count_nonzero(out, axis=axis)
        expected = out.shape[axis] * p * (1.0 - p)
        if expected > 0 and counts.var(ddof=1) < _SPREAD_FRACTION * expected:
            return (
                f"every {what} kept about the same number of elements (the counts vary with "
                f"variance {counts.var(ddof=1):.2f}, independent bits give about {expected:.1f}): "
                "keep each element by its own random draw, not a fixed number per "
                f"{what}"
            )
    return None


# Independence, structurally: for a right answer two given rows (512 elements) have the same
# mask with probability at most 0.625**512 < 1e-100, two given columns (128 elements) at
# most 0.625**128 < 1e-26; over every pair of rows and of columns, far below 1e-6. One mask
# row broadcast to the batch, one key reused for every row, or one bit per row (or per
# column) broadcast along it gives equal rows or equal columns.


# A fixed number of kept elements over the whole batch (a permutation of all its elements,
# the first round((1 - rate) N) kept) passes the keep rate and the spread of rows and columns.
# With independent bits the kept count of N = 65,536 elements is binomial with standard
# deviation 110.9 (p = 0.75) or 125.4 (p = 0.4): within 1 of p N with probability at most
# 0.0072 (p = 0.75, one count) or 0.0064 (p = 0.4, two counts). All four batches below (three
# at p = 0.75, one at p = 0.4) land there with probability below 0.0072**3 * 0.0064 = 2.4e-9.
def _kept_count_varies(answer: probes.Answer) -> None:
    counts = []
    for make in (*DROPOUT_CASES, *DROPOUT_KEY_PAIRS[0]):
        key, xs, rate = make()
        out, problem = _as_float_array(answer.call("batch_dropout", key, xs, rate), xs.shape)
        if problem:
            raise probes.ProbeFailure(problem)
        counts.append((int(np.count_nonzero(out)), (1.0 - rate) * out.size, rate))
    if all(abs(kept - expected) < 1.0 for kept, expected, _ in counts):
        found = ", ".join(f"{kept} (rate={rate})" for kept, _, rate in counts)
        raise probes.ProbeFailure(
            f"four batches of {DROPOUT_SHAPE[0] * DROPOUT_SHAPE[1]} elements kept exactly (1 - rate) of "
            f"them each: {found}; independent bits give counts that vary by about a hundred. Keep "
            "each element by its own random draw, not a fixed number of elements"
        )


def _dropout_rows_differ(args: tuple[Any, ...], result: Any) -> str | None:
    _, xs, _ = args
    out, problem = _as_float_array(result, xs.shape)
    if problem:
        return problem
    masks = out != 0
    for axis, what in ((0, "rows"), (1, "columns")):
        lines = masks if axis == 0 else masks.T
        _, first, counts = np.unique(lines, axis=0, return_index=True, return_counts=True)
        if (counts > 1).any():
            i = int(first[np.argmax(counts > 1)])
            j = next(k for k in range(i + 1, len(lines)) if np.array_equal(lines[k], lines[i]))
            hint = (
                "every row drew its mask from the same key, or one mask row was broadcast"
                if what == "rows"
                else "one random bit was shared along a whole row (or column)"
            )
            return f"{what} {i} and {j} have the same dropout mask: {hint}"
    return None


def _dropout_edges(args: tuple[Any, ...], result: Any) -> str | None:
    _, xs, rate = args
    out, problem = _as_float_array(result, xs.shape)
    if problem:
        return problem
    if rate == 0.0 and not np.array_equal(out, xs):
        return "with rate=0 nothing is dropped and the scale is 1: the result must equal xs"
    if rate == 1.0:
        if not np.isfinite(out).all():
            return "with rate=1 the result holds NaN or inf: 0 * (1 / (1 - rate)) is 0 * inf"
        if out.any():
            return "with rate=1 every element is dropped: the result must be all zeros"
    return None


register(Exercise(
    id="5.2",
    signature="batch_dropout(key, xs, rate)",
    objects=("batch_dropout",),
    probes=(
        probes.satisfies(
            "batch_dropout", DROPOUT_CASES, _dropout_shape_and_values,
            key="dropout-scale",
            description="batch_dropout returns 0 or x / (1 - rate) for every element, in float32",
            hint="A kept element is x / (1 - rate), in the dtype of xs; a dropped one is exactly 0.",
        ),
        probes.satisfies(
            "batch_dropout", DROPOUT_CASES, _dropout_keep_rate,
            key="keep-probability",
            description="batch_dropout keeps each element with probability 1 - rate",
            hint=(
                "`rate` is the probability of *dropping* an element. Check which outcome of your "
                "random draw means 'keep', and that its probability is exactly 1 - rate."
            ),
        ),
        probes.satisfies(
            "batch_dropout", DROPOUT_CASES, _dropout_rows_differ,
            key="rows-independent",
            description="every element gets its own random bit: no two rows, no two columns share a mask",
            hint=(
                "One key gives the same bits whoever uses it: every row needs its own randomness, "
                "either one draw of the whole batch's shape or one key per row."
            ),
        ),
        probes.satisfies(
            "batch_dropout", DROPOUT_EDGE_CASES, _dropout_edges,
            key="edge-rates",
            description="rate=0 returns xs unchanged; rate=1 returns all zeros, without NaN",
            hint=(
                "At rate=1 the scale 1 / (1 - rate) is infinite: choose between x / (1 - rate) and "
                "0 instead of multiplying a mask by the scale, and never divide Python floats by 0."
            ),
        ),
        probes.Probe(
            "kept-count-varies", "the number of kept elements varies from batch to batch, as independent bits make it",
            _kept_count_varies,
            hint="Every element gets its own random bit: keep each with probability 1 - rate, not a fixed number of them.",
        ),
        probes.deterministic("batch_dropout", DROPOUT_CASES[:1]),
        probes.varies_with(
            "batch_dropout", DROPOUT_KEY_PAIRS,
            description="different keys give different results",
            hint="Draw the mask from the `key` argument, not from a key you make yourself.",
        ),
        # Run eagerly, on a small batch: the task does not ask for jax.jit, so an answer that
        # turns the mask into a NumPy array (np.where on a NumPy xs) is right and must not fail
        # here; an eager call under jax.debug_key_reuse sees every reuse, a Python loop's
        # included.
        probes.no_key_reuse("batch_dropout", DROPOUT_SMALL_CASES, jit=False),
        probes.inputs_unchanged(
            "batch_dropout", DROPOUT_CASES[:1],
            hint="xs may be a NumPy array: multiply into a new array, never into xs itself.",
        ),
        # A log of keys or calls kept in a global passes every probe above: none reads it.
        # Plus a rate and a key no earlier probe used (a record keyed by them looks unchanged
        # otherwise); the same shape, so nothing new to compile.
        probes.globals_unchanged("batch_dropout", (*DROPOUT_SMALL_CASES, _dropout_case(8, 0.375, _DROPOUT_EDGE_SHAPE))),
    ),
    hints=(
        (
            "Every element needs its own random bit, and no two rows may share their bits: think "
            "about which key each row's bits come from."
        ),
        (
            "Either draw one boolean mask with the shape of the whole batch, or split the key into "
            "one key per row and vmap a one-row function over rows and keys. Then pick, element "
            "by element, between x / (1 - rate) and 0."
        ),
    ),
))

# 5.3 ---------------------------------------------------------------------------------


@probes.reference
def reference_histogram(indices: Any, num_bins: int) -> np.ndarray:
    return np.bincount(np.asarray(indices), minlength=num_bins)


# uint8 indices (the task allows any integer dtype): a counter made in the dtype of the indices
# (jnp.zeros(num_bins, indices.dtype), segment_sum of jnp.ones_like(indices)) wraps at 256.
# 301, not 300: bfloat16 holds 300 exactly (a one-hot sum in bfloat16, cast to int32, gave it
# back), but not 301.
_MANY_TWOS = np.concatenate([np.full(301, 2), [0, 3, 3, 1]]).astype(np.uint8)

# Few shapes (each costs the eager scatter a compilation): five indices into 5 and into 6
# bins, 304 indices, none at all.
HISTOGRAM_CASES = (
    case(np.array([1, 1, 3, 1, 0], dtype=np.int32), 5),
    case(np.array([2, 5, 2, 2, 5], dtype=np.int32), 6),  # bins never hit, between and below
    case(np.array([4, 0, 3, 0, 4], dtype=np.int32), 5),  # unordered, with repeats
    # A count of 301: an int8 or uint8 count wraps, even if it is cast to int32 at the end,
    # and so does a count kept in the dtype of these uint8 indices.
    case(_MANY_TWOS, 4),
    case(np.array([], dtype=np.int32), 3),  # no index at all: every count is 0
)

def _false_scatter_promises(closed: Any, *args: Any) -> str | None:
    """Run a traced program eagerly and test the promises its scatters make about their indices.

    ``.at[i].add(v, unique_indices=True)`` (or ``indices_are_sorted=True``, or the same flags of
    ``jax.ops.segment_sum``) lets the compiler assume the indices are unique (sorted): with
    repeated (unordered) indices the result is undefined. The CPU happens to count right, an
    accelerator need not. A promise the answer keeps (sorting the indices first) passes.
    Scatters inside a ``scan``, ``while`` or ``cond`` body are not followed.
    """

    def evaluate(jaxpr: Any, consts: Any, values: list[Any]) -> list[Any]:
        env: dict[Any, Any] = dict(zip(jaxpr.constvars, consts))
        env.update(zip(jaxpr.invars, values))

        def read(var: Any) -> Any:
            return var.val if isinstance(var, jax.extend.core.Literal) else env[var]

        for eqn in jaxpr.eqns:
            ins = [read(var) for var in eqn.invars]
            name = eqn.primitive.name
            if name.startswith("scatter") and len(ins) > 1:
                rows = np.asarray(ins[1])
                rows = rows.reshape(-1, rows.shape[-1] if rows.ndim else 1)
                if eqn.params.get("unique_indices") and len(np.unique(rows, axis=0)) < len(rows):
                    raise _Broken("unique_indices=True", "repeated")
                if eqn.params.get("indices_are_sorted") and len(rows) > 1:
                    order = np.lexsort(rows.T[::-1])
                    if not (rows[order] == rows).all():
                        raise _Broken("indices_are_sorted=True", "unordered")
            inner = eqn.params.get("jaxpr") if name in ("jit", "pjit", "closed_call", "core_call") else None
            if isinstance(inner, jax.extend.core.ClosedJaxpr):
                outs = evaluate(inner.jaxpr, inner.consts, ins)
            else:
                outs = eqn.primitive.bind(*ins, **eqn.primitive.get_bind_params(eqn.params))
                if not eqn.primitive.multiple_results:
                    outs = [outs]
            env.update(zip(eqn.outvars, outs))
        return [read(var) for var in jaxpr.outvars]

    class _Broken(Exception):
        pass

    try:
        evaluate(closed.jaxpr, closed.consts, jax.tree.leaves(args))
    except _Broken as broken:
        flag, kind = broken.args
        return (
            f"it scatters with {flag} into indices that are {kind}: the compiler may assume the "
            "promise, and the counts are then undefined (the CPU happens to get them right, an "
            "accelerator need not)"
        )
    except Exception:  # noqa: BLE001 — a program this interpreter cannot run: no verdict
        return None
    return None


def _keeps_scatter_promises(name: str, cases: tuple[probes.Case, ...]) -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            closed = answer.call_transformed(
                f"jax.make_jaxpr({name}, static_argnums=1)", jax.make_jaxpr(fn, static_argnums=(1,)), *args
            )
            problem = _false_scatter_promises(closed, args[0])
            if problem:
                raise probes.ProbeFailure(f"{probes.signature_text(name, fn, args)}: {problem}")

    return probes.Probe(
        "scatter-promises", f"{name} makes no false promise about its indices", run,
        hint=(
            "The indices repeat and come in any order: `unique_indices=True` or "
            "`indices_are_sorted=True` promises the opposite, and leaves the result undefined. "
            "Drop the flag (or sort the indices first, for indices_are_sorted)."
        ),
    )


register(Exercise(
    id="5.3",
    signature="histogram(indices, num_bins)",
    objects=("histogram",),
    probes=(
        probes.matches_reference(
            "histogram", reference_histogram, HISTOGRAM_CASES,
            hint=(
                "Every occurrence of an index counts, repeated or not, in any order; bins never hit "
                "stay 0; the result has num_bins entries of an integer type of at least 32 bits, "
                "whatever the dtype of the indices (uint8 indices need an int32 counter too)."
            ),
        ),
        probes.jit_matches_eager(
            "histogram", HISTOGRAM_CASES[:3], static_argnums=(1,),
            hint=(
                "Under jit the indices are a tracer: no Python loop over their values, no int(), "
                "and no output size that depends on the data."
            ),
        ),
        probes.no_leaked_tracers("histogram", HISTOGRAM_CASES[:1], static_argnums=(1,)),
        probes.inputs_unchanged(
            "histogram", HISTOGRAM_CASES[:3],
            hint="Sorting or writing into `indices` changes the caller's array; work on a copy.",
        ),
        # A bin count no earlier probe used: a cache keyed by num_bins (of zeros, say) that
        # earlier calls filled would otherwise look unchanged.
        probes.globals_unchanged("histogram", (*HISTOGRAM_CASES[:2], case(np.array([6, 0, 6, 1, 3], dtype=np.int32), 7))),
        _keeps_scatter_promises("histogram", HISTOGRAM_CASES[2:3]),
    ),
    hints=(
        (
            "Counting is a scatter: start from zeros and apply one update per index. With repeated "
            "indices, `.set` keeps one write per bin; think about which `.at[]` method keeps all "
            "of them."
        ),
        (
            "Start from an integer array of num_bins zeros (int32) and scatter-add 1 at every "
            "index; jnp.bincount works too if you tell it the length, since under jit the size "
            "cannot come from the data."
        ),
    ),
))

# 5.4 ---------------------------------------------------------------------------------


@probes.reference
def reference_device_sum(x: Any) -> np.ndarray:
    return np.sum(np.asarray(x, dtype=np.float64)).astype(np.float32)


def _device_case(per_device: int, offset: float) -> probes.Case:
    """``x`` of length (local devices) × ``per_device``, sized when the probe runs."""

    def make() -> tuple[Any, ...]:
        size = jax.local_device_count() * per_device
        return (np.arange(size, dtype=np.float32) + offset,)

    return make


DEVICE_SUM_CASES = (_device_case(2, 1.0), _device_case(3, -4.0))

# The primitives a device sums its numbers with (jnp.sum and jnp.mean are reduce_sum).
_SUMMING = ("reduce_sum", "psum", "psum_invariant", "cumsum", "dot_general")


def mapped_sum_sizes(fn: Callable[..., Any], *args: Any) -> list[int]:
    """How many numbers each sum inside a ``shard_map`` (or ``pmap``) of ``fn`` adds up.

    Inside the mapped function the shapes are those of one device's block: a device that got
    its own part of ``x`` sums ``x.size / n`` numbers, one that got all of ``x`` (``in_specs=P()``,
    or ``x`` broadcast to every device of a ``pmap``) sums ``x.size``.
    """
    closed = jax.make_jaxpr(fn)(*args)
    sizes: list[int] = []

    def visit(jaxpr: Any, mapped: bool) -> None:
        for eqn in jaxpr.eqns:
            name = eqn.primitive.name
            if mapped and name in _SUMMING:
                sizes.extend(int(np.prod(getattr(v.aval, "shape", ()))) for v in eqn.invars)
            inner = mapped or name in ("shard_map", "xla_pmap")
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub, inner)

    visit(closed.jaxpr, False)
    return sizes


def mapped_input_sizes(fn: Callable[..., Any], *args: Any) -> list[int]:
    """The sizes of the per-device inputs of every ``shard_map`` (or ``pmap``) of ``fn``.

    A device that gets its own part of ``x`` starts from ``x.size / n`` numbers; a program that
    sums the parts before the map (``x.reshape(n, -1).sum(1)``) hands each device one.
    """
    closed = jax.make_jaxpr(fn)(*args)
    sizes: list[int] = []

    def visit(jaxpr: Any) -> None:
        for eqn in jaxpr.eqns:
            mapped = eqn.primitive.name in ("shard_map", "xla_pmap")
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                if mapped:
                    sizes.extend(int(np.prod(getattr(v.aval, "shape", ()))) for v in sub.invars)
                visit(sub)

    visit(closed.jaxpr)
    return sizes


def _sums_own_part(answer: probes.Answer) -> None:
    devices = jax.local_device_count()
    x, = DEVICE_SUM_CASES[0]()
    if devices < 2:
        return  # one device: its own part is all of x
    sizes = answer.call_transformed("jax.make_jaxpr(device_sum)", mapped_sum_sizes, answer.device_sum, x)
    own = x.size // devices
    if sizes and max(sizes) > own:
        raise probes.ProbeFailure(
            f"inside the shard_map (or pmap), a device sums {max(sizes)} numbers; x has {x.size} "
            f"numbers over {devices} devices, {own} each: every device got all of x (in_specs=P(), "
            "or x copied to every device) and summed it, instead of its own part"
        )
    inputs = answer.call_transformed("jax.make_jaxpr(device_sum)", mapped_input_sizes, answer.device_sum, x)
    if inputs and max(inputs) < own:
        raise probes.ProbeFailure(
            f"the shard_map (or pmap) hands each device at most {max(inputs)} number(s); x has "
            f"{x.size} numbers over {devices} devices, {own} each: the parts were summed before the "
            "map, so the devices only add up the totals, and no device sums its own part"
        )

register(Exercise(
    id="5.4",
    signature="device_sum(x)",
    objects=("device_sum",),
    probes=(
        probes.matches_reference(
            "device_sum", reference_device_sum, DEVICE_SUM_CASES,
            description="device_sum returns the sum of x, a single number",
            hint=(
                "Each device must hold a different part of x (a replicated input is counted once per "
                "device), and the result is one number, not one per device."
            ),
        ),
        probes.uses_primitive(
            "device_sum", DEVICE_SUM_CASES[0], {"psum", "psum_invariant"},
            key="uses-psum",
            description="device_sum combines the per-device results with a psum",
            hint=(
                "The devices' partial sums must be combined by a collective inside the mapped "
                "function, jax.lax.psum, not added up afterwards."
            ),
        ),
        probes.psum_over_devices(
            "device_sum", DEVICE_SUM_CASES[0],
            description="the psum sums over the device axis of the shard_map or pmap",
            hint=(
                "The psum must name the axis that spans the devices (the mesh axis of the "
                "shard_map, or pmap's axis_name); a jax.vmap axis lives on one device."
            ),
        ),
        probes.runs_on_devices(
            "device_sum", DEVICE_SUM_CASES[0],
            hint=(
                "jax.vmap with an axis_name runs a psum on one device; the work must be spread with "
                "jax.shard_map (or jax.pmap) over a mesh of every local device."
            ),
        ),
        probes.Probe(
            "sums-own-part", "each device sums its own part of x, not all of it", _sums_own_part,
            hint=(
                "Split x along the device axis (in_specs=P(axis name), or a reshape to (n_devices, "
                "-1) for pmap): a replicated x makes every device sum all of it, and dividing the "
                "psum by the device count only hides that."
            ),
        ),
        probes.globals_unchanged("device_sum", DEVICE_SUM_CASES[:1]),
        probes.keeps_no_tracers("device_sum", DEVICE_SUM_CASES[:1]),
    ),
    hints=(
        (
            "Use jax.shard_map: a mesh of all jax.local_device_count() devices with one named axis, "
            "x split along that axis, a per-shard function that sums its shard and combines the "
            "devices' sums with jax.lax.psum over the axis name. (jax.pmap over a reshaped x "
            "works too.)"
        ),
        (
            "jax.make_mesh makes Explicit axes by default: pass axis_types=(AxisType.Auto,) so that "
            "an unsharded x can be split by shard_map, or place x with jax.device_put first. "
            "out_specs=P() says the result is the same on every device."
        ),
    ),
))

# 5.5 ---------------------------------------------------------------------------------

AUGMENT_SHAPE = (512, 32)
AUGMENT_NOISE = 0.1


def _augment_images(shape: tuple[int, int]) -> np.ndarray:
    """Rows 2 apart element to element: reversing a row changes every element by at least 2."""
    batch, n = shape
    return (np.arange(batch, dtype=np.float32)[:, None] * 0.5 + 2.0 * np.arange(n, dtype=np.float32)).astype(np.float32)


def _augment_case(seed: int, shape: tuple[int, int] = AUGMENT_SHAPE) -> probes.Case:
    return _lazy(lambda: case(jax.random.key(seed), _augment_images(shape)))


# One shape for every probe: each new shape costs an eager answer its compilations again.
AUGMENT_CASES = (_augment_case(0),)
AUGMENT_SMALL_CASES = (_augment_case(1),)
# Another shape for the traced key-reuse probe alone (compiled under jax.jit there anyway, so
# it costs no eager compilation): a batch size or example length written into the answer
# (split(key, 512), noise of shape (32,)) fails on it.
AUGMENT_OTHER_SHAPE_CASES = (_augment_case(1, (24, 10)),)
AUGMENT_KEY_PAIRS = ((_augment_case(2), _augment_case(3)),)
# 32,768 examples of 2 elements, for the flip rate alone (see _augment_flip_rate).
AUGMENT_MANY_CASES = (_augment_case(4, (32768, 2)),)

# The noise of a right answer is 0.1 * N(0, 1): |noise| > 0.75 (7.5 standard deviations) has
# probability 6.4e-14 per element, 1.1e-9 over the 16,384 elements.
_NOISE_BOUND = 0.75


def _decompose(args: tuple[Any, ...], result: Any) -> tuple[tuple[np.ndarray, np.ndarray] | None, str | None]:
    """(noise, flipped) of a result, or why the result is not an augmented batch."""
    _, images = args
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        return None, "expected a pair (augmented, flipped)"
    augmented, flipped = result
    out, problem = _as_float_array(augmented, images.shape)
    if problem:
        return None, f"augmented: {problem}"
    flips = np.asarray(flipped)
    if flips.shape != images.shape[:1]:
        return None, f"flipped: expected shape {images.shape[:1]}, got shape {flips.shape}"
    if flips.dtype != np.bool_ and not (np.issubdtype(flips.dtype, np.integer) and np.isin(flips, (0, 1)).all()):
        return None, f"flipped: expected booleans (True where the example was reversed), got dtype {flips.dtype}"
    flips = flips.astype(bool)
    chosen = np.where(flips[:, None], images[:, ::-1], images)
    noise = out - chosen
    bad = np.flatnonzero(np.abs(noise).max(axis=1) > _NOISE_BOUND)
    if bad.size:
        row = int(bad[0])
        other = np.abs(out[row] - np.where(flips[row], images[row], images[row, ::-1])).max()
        if other <= _NOISE_BOUND:
            return None, (
                f"example {row} was {'not ' if flips[row] else ''}reversed, but flipped[{row}] says "
                f"{bool(flips[row])}"
            )
        return None, (
            f"example {row} is neither itself nor itself reversed, plus noise of scale "
            f"{AUGMENT_NOISE}"
        )
    return (noise, flips), None


def _augment_consistent(args: tuple[Any, ...], result: Any) -> str | None:
    return _decompose(args, result)[1]


# The flips of a right answer: 32,768 independent fair coins (AUGMENT_MANY_CASES, under jax.jit:
# one compilation for the new shape). A flipped fraction more than 5.3 standard deviations
# (0.0146) away from 1/2 rejects a right answer with probability 1.2e-7 (exact binomial tail:
# 1.3e-7). A coin of probability 0.45 or 0.55 is 0.05 away, 12.9 of its standard deviations
# beyond the bound: it passes with probability below 1e-37. (On the 512 examples of the other
# probes the bound would be 0.117, loose enough for a probability of 0.4.)
def _augment_flip_rate(args: tuple[Any, ...], result: Any) -> str | None:
    parts, problem = _decompose(args, result)
    if problem:
        return problem
    _, flips = parts
    tolerance = 5.3 * 0.5 / np.sqrt(flips.size)
    if abs(flips.mean() - 0.5) > tolerance:
        return f"each example should be reversed with probability 1/2; {flips.mean():.3f} of {flips.size} were"
    return None


# The noise of a right answer: 16,384 independent N(0, 0.1**2) values. Its mean is more than
# 5.3 standard errors (0.0041) from 0 with probability 1.2e-7; its root mean square is more
# than 3 % away from 0.1 with probability 5.6e-8 (chi-square with 16,384 degrees of freedom);
# the 32 values of one example span less than 1e-4 with probability below 1e-80. The counts
# of values beyond 1.05, 2.05 and 3.05 standard deviations are each Binomial(16384, p), and
# each is outside its bounds (exact binomial tails of at most 1e-8 on each side) with
# probability below 2e-8, 6e-8 for the three: noise clipped at 3 standard deviations ("no
# outliers"), whose root mean square is only 1.3 % low, has none beyond 3.05 (the clipped
# values pile up at 3, give or take the float32 rounding of image + noise, hence the 0.05).
_NOISE_TAILS = (1.05, 2.05, 3.05)


def _augment_noise(args: tuple[Any, ...], result: Any) -> str | None:
    parts, problem = _decompose(args, result)
    if problem:
        return problem
    noise, flips = parts
    mean = float(noise.mean())
    rms = float(np.sqrt(np.mean(noise.astype(np.float64) ** 2)))
    if abs(mean) > 5.3 * AUGMENT_NOISE / np.sqrt(noise.size):
        return f"the noise should have mean 0; its mean is {mean:.4f}"
    if abs(rms / AUGMENT_NOISE - 1.0) > 0.03:
        return f"the noise should be {AUGMENT_NOISE} * a standard normal; its root mean square is {rms:.4f}"
    from purestate.exercises.ch07 import _binomial_bounds  # imported with every chapter by the registry

    z = np.abs(noise.astype(np.float64).ravel()) / AUGMENT_NOISE
    for t in _NOISE_TAILS:
        lo, hi = _binomial_bounds(z.size, math.erfc(t / math.sqrt(2.0)))
        beyond = int(np.sum(z > t))
        if not lo <= beyond <= hi:
            return (
                f"{beyond} of {z.size} noise values lie beyond ±{t:g} * {AUGMENT_NOISE}; for "
                f"{AUGMENT_NOISE} * standard normal noise that count lies between {lo} and {hi}: is "
                "the noise drawn from a normal distribution, with nothing cut off, rounded or rescaled?"
            )
    flat = np.ptp(noise, axis=1) < 1e-4
    if flat.any():
        return (
            f"every element of example {int(np.argmax(flat))} got the same noise: draw one value per "
            "element, not one per example"
        )
    return _flip_noise_dependence(noise, flips)


# The flips and the noise of a right answer are independent: in each of the 32 positions, the
# mean noise of the reversed examples minus that of the others is normal with standard
# deviation 0.1 * sqrt(1/k + 1/(512 - k)) (k reversed, about 256 for a right answer; the
# bound holds for any k). More than 6 of those in any position: probability below
# 32 * 2.0e-9 = 6.4e-8. A flip decided by the sign of the example's first noise value (what
# one key drawn twice gives) moves that position's difference by about 0.16, 18 of them.
def _flip_noise_dependence(noise: np.ndarray, flips: np.ndarray) -> str | None:
    k = int(flips.sum())
    if k == 0 or k == flips.size:
        return None
    spread = AUGMENT_NOISE * np.sqrt(1.0 / k + 1.0 / (flips.size - k))
    gap = noise[flips].astype(np.float64).mean(axis=0) - noise[~flips].astype(np.float64).mean(axis=0)
    worst = int(np.argmax(np.abs(gap)))
    if abs(gap[worst]) > 6.0 * spread:
        return (
            f"the noise depends on the flip: at position {worst}, the mean noise of the reversed "
            f"examples differs from that of the others by {gap[worst]:+.3f} (independent draws differ "
            f"by about {spread:.3f}); draw the flip and the noise from different keys"
        )
    return None


# Two examples of a right answer share all 32 noise values (within 1e-4) with probability
# below 1e-100 per pair, and all 512 share one flip with probability 2**-511.
def _augment_rows_independent(args: tuple[Any, ...], result: Any) -> str | None:
    parts, problem = _decompose(args, result)
    if problem:
        return problem
    noise, flips = parts
    order = np.argsort(noise[:, 0], kind="stable")
    for a, b in zip(order[:-1], order[1:]):
        if np.abs(noise[a] - noise[b]).max() < 1e-4:
            return (
                f"examples {int(min(a, b))} and {int(max(a, b))} got the same noise: they drew from the "
                "same key"
            )
    if flips.all() or not flips.any():
        return f"all {flips.size} examples made the same flip decision: they share one key"
    return None


def draw_key_data(closed: Any, *args: Any) -> np.ndarray:
    """The key data of every key a traced program draws random bits from, one row per key.

    The program ``closed`` (``jax.make_jaxpr`` of the answer, called with ``args``) is cut
    down to the operations that compute the keys of its ``random_bits`` operations (into the
    nested ``jit`` calls the samplers are made of), and those run eagerly: no compilation beyond the key operations, which an
    eager call of the answer on the same arguments has compiled already. A key array under
    ``vmap`` gives one row per key. Draws inside a ``scan``, ``while`` or ``cond`` body are
    not followed.
    """
    found: list[Any] = []
    plans: dict[int, tuple[list[bool], list[bool]]] = {}

    def inner_of(eqn: Any) -> Any:
        name = eqn.primitive.name
        inner = eqn.params.get("jaxpr") if name in ("jit", "pjit", "closed_call", "core_call") else (
            eqn.params.get("call_jaxpr") if name.startswith("custom_") else None
        )
        return inner if isinstance(inner, jax.extend.core.ClosedJaxpr) else None

    def plan(jaxpr: Any) -> tuple[list[bool], list[bool]]:
        """(which inputs the keys need, which equations to run), by a backward pass."""
        if id(jaxpr) not in plans:
            needed: set[Any] = set()
            run: list[bool] = []
            for eqn in reversed(jaxpr.eqns):
                inner = inner_of(eqn)
                if eqn.primitive.name == "random_bits":
                    wanted = [eqn.invars[0]]
                elif inner is not None:
                    wanted = [v for v, use in zip(eqn.invars, plan(inner.jaxpr)[0]) if use]
                    if any(v in needed for v in eqn.outvars):
                        wanted = list(eqn.invars)
                elif any(v in needed for v in eqn.outvars):
                    wanted = list(eqn.invars)
                else:
                    wanted = []
                run.append(bool(wanted) or any(v in needed for v in eqn.outvars))
                needed.update(v for v in wanted if isinstance(v, jax.extend.core.Var))
            plans[id(jaxpr)] = ([v in needed for v in jaxpr.invars], run[::-1])
        return plans[id(jaxpr)]

    def evaluate(jaxpr: Any, consts: Any, values: list[Any], full: bool = False) -> list[Any]:
        """Run the planned equations (every one if ``full``: its outputs are needed)."""
        env: dict[Any, Any] = dict(zip(jaxpr.constvars, consts))
        env.update(zip(jaxpr.invars, values))

        def read(var: Any) -> Any:
            return var.val if isinstance(var, jax.extend.core.Literal) else env.get(var)

        needed_out = {
            v for eqn, run in zip(jaxpr.eqns, plan(jaxpr)[1]) if run
            for v in eqn.invars if isinstance(v, jax.extend.core.Var)
        }
        for eqn, run in zip(jaxpr.eqns, plan(jaxpr)[1]):
            if not (run or full):
                continue
            ins = [read(var) for var in eqn.invars]
            inner = inner_of(eqn)
            if eqn.primitive.name == "random_bits":
                data = np.asarray(jax.random.key_data(ins[0]))
                found.append(data.reshape(-1, data.shape[-1]))
                if not full:
                    continue
            if inner is not None:
                whole = full or any(v in needed_out for v in eqn.outvars)
                outs = evaluate(inner.jaxpr, inner.consts, ins, full=whole)
            else:
                outs = eqn.primitive.bind(*ins, **eqn.primitive.get_bind_params(eqn.params))
                if not eqn.primitive.multiple_results:
                    outs = [outs]
            env.update(zip(eqn.outvars, outs))
        return [read(var) for var in jaxpr.outvars]

    evaluate(closed.jaxpr, closed.consts, jax.tree.leaves(args))
    if not found:
        return np.zeros((0, 2), np.uint32)
    return np.concatenate(found)


def _draws_use_distinct_keys(name: str, cases: tuple[probes.Case, ...]) -> probes.Probe:
    """No two draws of the program use the same key (``draw_key_data``).

    Keys derived by one call are caught by ``jax.debug_key_reuse`` when drawn with twice; keys
    made by different ``fold_in`` calls are not: flip keys ``fold_in(key, i)`` and noise keys
    ``fold_in(key, i + 1)`` give example i's noise the key of example i + 1's flip, and that
    flip is then the sign of the noise (each is 1 of 512 examples apart, so the statistics see
    nothing). Distinct 64-bit keys of a right answer collide with probability about k**2 / 2**65
    for k keys: 3e-14 for the 1,024 keys of a batch of 512.
    """

    def run(answer: probes.Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            closed = answer.call_transformed(f"jax.make_jaxpr({name})", jax.make_jaxpr(fn), *args)
            try:
                data = draw_key_data(closed, *args)
            except Exception:  # noqa: BLE001 — a program this interpreter cannot run: no verdict
                continue
            _, first, counts = np.unique(data, axis=0, return_index=True, return_counts=True)
            if (counts > 1).any():
                raise probes.ProbeFailure(
                    f"{probes.signature_text(name, fn, args)} draws more than once with the same key "
                    f"({int((counts > 1).sum())} of the {len(first)} keys it draws from are used twice "
                    "or more): two fold_in calls with an equal number, or a fold_in and a split that "
                    "meet, make the same key, and jax.debug_key_reuse cannot see it"
                )

    return probes.Probe(
        "distinct-keys", f"{name} draws every random value from a key no other draw uses", run,
        hint=(
            "Every draw needs a key no other draw uses: if you fold numbers into `key`, the numbers "
            "for the flips and those for the noise must never meet."
        ),
    )


def _flips_of(result: Any) -> Any:
    return result[1] if isinstance(result, (tuple, list)) and len(result) == 2 else None


register(Exercise(
    id="5.5",
    signature="augment_batch(key, images)",
    objects=("augment_batch",),
    probes=(
        probes.satisfies(
            "augment_batch", AUGMENT_CASES, _augment_consistent,
            key="flip-and-noise",
            description="each example is itself or reversed, plus small noise, and `flipped` says which",
            hint=(
                "Return a pair: the augmented batch (float32, the shape of images) and a boolean "
                "array with one entry per example, True where that example was reversed."
            ),
        ),
        probes.satisfies(
            "augment_batch", AUGMENT_CASES, _augment_rows_independent,
            key="examples-independent",
            description="no two examples share their randomness",
            hint=(
                "A key passed to vmap with in_axes=None is the same key for every example: split it "
                "into one key per example."
            ),
        ),
        probes.no_key_reuse(
            "augment_batch", AUGMENT_OTHER_SHAPE_CASES, eager=False,
            hint=(
                "Within one example, the flip and the noise must come from different keys: split the "
                "example's key before drawing twice."
            ),
        ),
        probes.satisfies(
            "augment_batch", AUGMENT_MANY_CASES, _augment_flip_rate, jit=True,
            key="flip-probability",
            description="each example is reversed with probability 1/2",
            hint=(
                "Each example is reversed by a fair coin of its own. This probe runs 32,768 examples "
                "under jax.jit: map over them with jax.vmap, or draw for the whole batch at once (a "
                "Python loop over the examples is unrolled 32,768 times)."
            ),
        ),
        # On the shape the eager probes above ran: the key operations are compiled already.
        # After the flip rate, which stops a Python loop over the examples with a hint of its own.
        _draws_use_distinct_keys("augment_batch", AUGMENT_CASES),
        probes.satisfies(
            "augment_batch", AUGMENT_CASES, _augment_noise,
            key="noise-scale",
            description="the noise is 0.1 times a standard normal, one value per element, independent of the flip",
            hint=(
                "The noise is 0.1 times standard normal values, one per element, from a key that "
                "draws nothing else. A flip that follows the noise came from the same key: "
                "jax.random.fold_in(key, i) is the same key as jax.random.split(key, n)[i], so "
                "derive the flip keys and the noise keys by one scheme."
            ),
        ),
        # Plus a key no earlier call used (a record keyed by the key looks unchanged otherwise);
        # the same shape, so nothing new to compile.
        probes.globals_unchanged(
            "augment_batch", (*AUGMENT_SMALL_CASES, _augment_case(5)),
            hint=(
                "A list appended to inside a vmapped function gets one entry per trace, not one per "
                "example: return the flip decisions instead."
            ),
        ),
        probes.keeps_no_tracers(
            "augment_batch", AUGMENT_SMALL_CASES,
            hint="A value appended to a list inside vmap is a tracer that outlives its trace: return it.",
        ),
        probes.deterministic("augment_batch", AUGMENT_SMALL_CASES),
        # Two keys give equal flips with probability 2**-512 for a right answer.
        probes.varies_with(
            "augment_batch", AUGMENT_KEY_PAIRS,
            description="different keys give different results, and different flips",
            parts=((_flips_of, (
                "two different keys reversed the same examples (all {size} flip decisions equal): "
                "the flips must be drawn from the key, not follow a fixed pattern"
            )),),
            hint="The result should change when that argument changes: derive everything random "
            "from the key you are given, the flips too.",
        ),
        probes.inputs_unchanged("augment_batch", AUGMENT_SMALL_CASES),
    ),
    hints=(
        (
            "Three things go wrong under vmap: the log runs once per trace, not once per example; "
            "every example gets the same key; and each example uses its key twice. Print "
            "len(flip_log) and compare two rows of the output."
        ),
        (
            "Give every example its own key (split the batch key, map over the keys), split each "
            "example's key again for the flip and the noise, and return the flip decisions as a "
            "second output instead of appending them to a list."
        ),
    ),
))
