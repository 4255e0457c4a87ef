"""Chapter 5 · vmap and pmap races: exercises 5.1–5.4."""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from purestate import probes
from purestate.probes import case
from purestate.registry import Exercise, register

# 5.1 ---------------------------------------------------------------------------------


def reference_count_above(x: Any, threshold: Any) -> np.ndarray:
    return np.sum(np.asarray(x) > threshold)


COUNT_ABOVE_CASES = (
    case(np.array([0.5, 2.0, -1.0, 3.0, 2.0], dtype=np.float32), 1.0),
    case(np.array([1.0, 1.0, 1.5], dtype=np.float32), 1.0),  # equal is not above
    case(np.array([[0.0, 4.0, 5.0], [6.0, -2.0, 0.1]], dtype=np.float32), 0.5),  # one 2-D example
)

COUNT_ABOVE_BATCHES = (
    case(np.array([[0.5, 2.0, -1.0, 3.0], [4.0, 5.0, 6.0, 7.0], [0.0, 0.0, 0.0, 0.0]], dtype=np.float32), 1.0),
    case(np.arange(24, dtype=np.float32).reshape(2, 3, 4), 10.0),
)

register(Exercise(
    id="5.1",
    signature="count_above(x, threshold)",
    objects=("count_above",),
    probes=(
        probes.matches_reference("count_above", reference_count_above, COUNT_ABOVE_CASES),
        probes.vmap_matches_loop("count_above", COUNT_ABOVE_BATCHES, in_axes=(0, None)),
        probes.inputs_unchanged("count_above", COUNT_ABOVE_CASES),
    ),
    hints=(
        (
            "Count with array operations on the whole example, e.g. `jnp.sum(x > threshold)`: a "
            "Python `if` or `int(...)` needs a concrete value, and under `vmap` there is none."
        ),
    ),
))

# 5.2 ---------------------------------------------------------------------------------

DROPOUT_SHAPE = (16, 128)


def _dropout_case(seed: int, rate: float) -> probes.Case:
    xs = np.linspace(1.0, 2.0, DROPOUT_SHAPE[0] * DROPOUT_SHAPE[1], dtype=np.float32).reshape(DROPOUT_SHAPE)
    return case(jax.random.key(seed), xs, rate)


def _lazy(seed: int, rate: float) -> probes.Case:
    """A case built on first use: no JAX array is created when the module is imported."""
    made: list[probes.Case] = []

    def make() -> tuple[Any, ...]:
        if not made:
            made.append(_dropout_case(seed, rate))
        return made[0]()

    return make


DROPOUT_CASES = (_lazy(0, 0.2), _lazy(1, 0.7))
DROPOUT_KEY_PAIRS = ((_lazy(0, 0.5), _lazy(1, 0.5)),)


def _dropout_shape_and_values(args: tuple[Any, ...], result: Any) -> str | None:
    _, xs, rate = args
    out = np.asarray(result)
    if out.shape != xs.shape:
        return f"expected shape {xs.shape}, got shape {out.shape}"
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


def _dropout_keep_rate(args: tuple[Any, ...], result: Any) -> str | None:
    _, _, rate = args
    out = np.asarray(result)
    if out.shape != DROPOUT_SHAPE:
        return f"expected shape {DROPOUT_SHAPE}, got shape {out.shape}"
    kept = float(np.mean(out != 0))
    if abs(kept - (1.0 - rate)) > 0.05:
        return f"with rate={rate} about {1 - rate:.0%} of the elements should be kept; {kept:.0%} were"
    return None


def _dropout_rows_differ(args: tuple[Any, ...], result: Any) -> str | None:
    out = np.asarray(result)
    if out.ndim != 2:
        return f"expected a 2-D result, got shape {out.shape}"
    masks = out != 0
    for i in range(1, masks.shape[0]):
        if np.array_equal(masks[i], masks[0]):
            return (
                f"rows 0 and {i} have the same dropout mask: every row drew its mask from the "
                "same key"
            )
    return None


register(Exercise(
    id="5.2",
    signature="batch_dropout(key, xs, rate)",
    objects=("batch_dropout",),
    probes=(
        probes.satisfies(
            "batch_dropout", DROPOUT_CASES, _dropout_shape_and_values,
            key="dropout-scale",
            description="batch_dropout returns 0 or x / (1 - rate) for every element",
        ),
        probes.satisfies(
            "batch_dropout", DROPOUT_CASES, _dropout_keep_rate,
            key="keep-probability",
            description="batch_dropout keeps each element with probability 1 - rate",
        ),
        probes.satisfies(
            "batch_dropout", DROPOUT_CASES, _dropout_rows_differ,
            key="rows-independent",
            description="the rows of the batch get different dropout masks",
        ),
        probes.deterministic("batch_dropout", DROPOUT_CASES),
        probes.varies_with(
            "batch_dropout", DROPOUT_KEY_PAIRS,
            description="different keys give different results",
        ),
        probes.no_key_reuse("batch_dropout", DROPOUT_CASES[:1], jit=False),
    ),
    hints=(
        (
            "Draw one mask for the whole batch, `jax.random.bernoulli(key, 1 - rate, xs.shape)`, "
            "or split the key into one key per row and `vmap` over the rows; then "
            "`jnp.where(mask, xs / (1 - rate), 0)`."
        ),
    ),
))

# 5.3 ---------------------------------------------------------------------------------


def reference_histogram(indices: Any, num_bins: int) -> np.ndarray:
    return np.bincount(np.asarray(indices), minlength=num_bins)


HISTOGRAM_CASES = (
    case(np.array([1, 1, 3, 1, 0], dtype=np.int32), 5),
    case(np.array([2, 2, 2, 2], dtype=np.int32), 6),  # bins above the largest index stay 0
    case(np.array([4, 0, 3, 1, 2, 0, 4, 4], dtype=np.int32), 5),
)

register(Exercise(
    id="5.3",
    signature="histogram(indices, num_bins)",
    objects=("histogram",),
    probes=(
        probes.matches_reference("histogram", reference_histogram, HISTOGRAM_CASES),
        probes.jit_matches_eager("histogram", HISTOGRAM_CASES, static_argnums=(1,)),
        probes.inputs_unchanged("histogram", HISTOGRAM_CASES),
    ),
    hints=(
        (
            "Scatter-add ones: `jnp.zeros(num_bins, dtype=jnp.int32).at[indices].add(1)`. "
            "`.set(1)` keeps one write per bin, so repeated indices count once."
        ),
    ),
))

# 5.4 ---------------------------------------------------------------------------------


def reference_device_sum(x: Any) -> np.ndarray:
    return np.sum(np.asarray(x, dtype=np.float64)).astype(np.float32)


def _device_case(per_device: int, offset: float) -> probes.Case:
    """``x`` of length (local devices) × ``per_device``, sized when the probe runs."""

    def make() -> tuple[Any, ...]:
        size = jax.local_device_count() * per_device
        return (np.arange(size, dtype=np.float32) + offset,)

    return make


DEVICE_SUM_CASES = (_device_case(2, 1.0), _device_case(3, -4.0))

register(Exercise(
    id="5.4",
    signature="device_sum(x)",
    objects=("device_sum",),
    probes=(
        probes.matches_reference(
            "device_sum", reference_device_sum, DEVICE_SUM_CASES,
            description="device_sum returns the sum of x, a single number",
        ),
        probes.uses_primitive(
            "device_sum", DEVICE_SUM_CASES[0], {"psum", "psum_invariant"},
            key="uses-psum",
            description="device_sum combines the per-device results with a psum",
        ),
        probes.runs_on_devices("device_sum", DEVICE_SUM_CASES[0]),
    ),
    hints=(
        (
            "Reshape x to (jax.local_device_count(), -1), `jax.pmap` a function that returns "
            "`jax.lax.psum(shard.sum(), axis_name)`, and take element 0; or `jax.shard_map` over "
            "a mesh of every device with in_specs=P(axis) and out_specs=P()."
        ),
    ),
))
