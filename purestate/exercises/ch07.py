"""Chapter 7 · Randomness is state: exercises 7.1–7.3.

Random values differ between JAX versions, so no probe compares against stored samples:
they check shapes, dtypes, statistics, determinism in the key, key reuse (under
``jax.debug_key_reuse``), numbers shared between draws, and the structure of the traced
program. Every statistical probe runs on fixed keys (so its verdict never changes from run
to run) and states its false-reject probability for a right answer.
"""

from __future__ import annotations

import functools
import itertools
import math
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.compare import short
from purestate.probes import case
from purestate.registry import Exercise, register


# Per probe. Each probe compiles the answer once or twice (random samplers are nested jits,
# and a Python loop over the steps unrolls into the program): under 1 s on an idle machine,
# several seconds on a busy one, so the default 5 s would report busy machines as endless loops.
TIME_LIMIT_S = 15.0


def _float_dtype_problem(result: Any, what: str) -> str | None:
    """Floats of at least 32 bits (float16 and bfloat16 lose most digits of a sample)."""
    dtype = jnp.asarray(result).dtype
    if not jnp.issubdtype(dtype, jnp.floating):
        return f"expected floating-point {what}, got dtype {dtype}"
    if dtype.itemsize < 4:
        return f"expected {what} of dtype float32 (the samplers' default), got {dtype}: too few digits"
    return _half_precision_problem(np.asarray(result), what)


def _half_precision_problem(values: np.ndarray, what: str) -> str | None:
    """float32 values that float16 or bfloat16 would hold exactly: drawn in half precision, then cast.

    A float32 sample keeps 23 bits after the point, float16 10 and bfloat16 7: a float32
    normal sample is exact in float16 with probability about 2**-13. With 8 or more values,
    the chance that 90 % of them are is below 1e-25 (false-reject probability).
    """
    values = values.astype(np.float32).ravel()
    values = values[np.isfinite(values)]
    if values.size < 8 or np.array_equal(values, np.round(values)):  # whole numbers: not a sampler's digits
        return None
    for narrow in (jnp.float16, jnp.bfloat16):
        exact = np.mean(values.astype(narrow).astype(np.float32) == values)  # NumPy: nothing to compile
        if exact >= 0.9:
            return (
                f"the {what} are float32, but {exact:.0%} of them are exactly {jnp.dtype(narrow).name} "
                f"numbers: they were drawn in {jnp.dtype(narrow).name} and cast, and keep only its few digits"
            )
    return None


@functools.lru_cache(maxsize=None)
def _binomial_bounds(n: int, p: float, tail: float = 1e-8) -> tuple[int, int]:
    """``(lo, hi)`` with P(X < lo) <= tail and P(X > hi) <= tail for X ~ Binomial(n, p)."""
    k = np.arange(n + 1)
    log_pmf = (
        math.lgamma(n + 1) - np.array([math.lgamma(i + 1) + math.lgamma(n - i + 1) for i in k])
        + k * math.log(p) + (n - k) * math.log1p(-p)
    )
    pmf = np.exp(log_pmf)
    below = np.cumsum(pmf) - pmf  # P(X < k)
    above = np.cumsum(pmf[::-1])[::-1] - pmf  # P(X > k)
    return int(k[below <= tail].max()), int(k[above <= tail].min())


def _tails_problem(values: np.ndarray) -> str | None:
    # How many of n standard normal values lie beyond 1, 2 and 3 in absolute value: each count
    # is Binomial(n, P(|Z| > t)), and each bound is passed with probability at most 1e-8, so a
    # right answer fails with probability below 6e-8. For the 16384 values of exercise 7.1
    # the bounds are [4866, 5535], [601, 900] and [13, 86]: a truncated normal (at 2 or 3),
    # a ±1 coin, a Laplace or uniform sample of variance 1 all fall outside.
    n = values.size
    for t in (1.0, 2.0, 3.0):
        lo, hi = _binomial_bounds(n, math.erfc(t / math.sqrt(2.0)))
        beyond = int(np.sum(np.abs(values) > t))
        if not lo <= beyond <= hi:
            return (
                f"{beyond} of {n} samples lie beyond ±{t:g}; for standard normal samples that "
                f"count lies between {lo} and {hi}: are they drawn from a normal distribution, "
                "with nothing cut off, rounded or rescaled?"
            )
    return None


def _mean_and_std_problem(values: np.ndarray) -> str | None:
    # For n = 1024 standard normal values the mean has standard error 1/32 and the standard
    # deviation about 1/45: 0.17 is 5.4 and 0.12 is 5.4 standard errors, so a right answer
    # fails either with probability below 1e-7 (and the keys are fixed: the verdict is too).
    mean, std = values.mean(), values.std()
    if abs(mean) > 0.17 or abs(std - 1.0) > 0.12:
        return (
            f"{values.size} samples have mean {mean:.2f} and standard deviation {std:.2f}; "
            "a standard normal has mean 0 and standard deviation 1"
        )
    return None


# 7.1 ---------------------------------------------------------------------------------


@probes.reference
def reference_sample_steps(key: jax.Array, n_steps: int, shape: tuple[int, ...]) -> jax.Array:
    step_keys = jax.random.split(key, n_steps)
    return jax.vmap(lambda step_key: jax.random.normal(step_key, shape))(step_keys)


SAMPLE_CASES = (
    case(jax.random.key(0), 4, (4096,)),  # 16384 samples: enough for the mean, standard deviation and tails
    case(jax.random.key(1), 3, (2, 2)),
)
SAMPLE_TINY = case(jax.random.key(1), 2, ())  # for the probes that only need a call: cheap to compile
# For the shape probe alone: one step and an axis of length 1, which a squeeze (or an index
# [0] meant for the key axis) drops.
SAMPLE_ONE_STEP = case(jax.random.key(7), 1, (3, 1))
SAMPLE_STATIC = (1, 2)  # n_steps and shape are Python values: static under jax.jit


def _has_shape(args: tuple[Any, ...], result: Any) -> str | None:
    _, n_steps, shape = args
    expected = (n_steps, *shape)
    if not isinstance(result, jax.Array):
        return f"expected one JAX array of shape {expected}, got {short(result)}: stack the steps into one array"
    if np.shape(result) != expected:
        return f"expected an array of shape {expected}, got {short(result)}"
    return None


def _sample_dtype(args: tuple[Any, ...], result: Any) -> str | None:
    return _float_dtype_problem(result, "samples")


def _standard_normal(args: tuple[Any, ...], result: Any) -> str | None:
    values = np.asarray(result, dtype=np.float64).ravel()
    return _mean_and_std_problem(values) or _tails_problem(values)


def _not_drawn_with_key_itself(args: tuple[Any, ...], result: Any) -> str | None:
    # A normal sample of any shape drawn with `key` itself starts with the numbers of
    # jax.random.normal(key, (size,)). Two independent float32 normal samples share a value
    # with probability about 2**-23 per pair: the 12 values of this case and the 12 drawn here
    # share 3 or more with probability below 1e-15 (false-reject probability).
    key = args[0]
    values = np.asarray(result, dtype=np.float32).ravel()
    from_key = np.asarray(jax.random.normal(key, (values.size,)), dtype=np.float32)
    shared = np.intersect1d(values, from_key).size
    if shared >= 3:
        return (
            f"{shared} of the samples are numbers jax.random.normal draws with `key` itself: a "
            "step was drawn with the key you were given, which also made the keys of the other steps"
        )
    return None


def _steps_independent(args: tuple[Any, ...], result: Any) -> str | None:
    rows = np.asarray(result, dtype=np.float64).reshape(len(result), -1)
    for i, j in itertools.combinations(range(len(rows)), 2):
        if np.array_equal(rows[i], rows[j]):
            return f"steps {i} and {j} hold the same samples: one key was used for both"
        # Rows of 256 independent samples have a correlation with standard deviation 1/16:
        # 0.4 is 6.4 of those, false-reject probability below 1e-9 for the 6 pairs.
        if rows.shape[1] >= 256:
            r = np.corrcoef(rows[i], rows[j])[0, 1]
            if abs(r) > 0.4:
                return (
                    f"steps {i} and {j} have correlation {r:.2f}; independent steps have a "
                    "correlation near 0: are their keys related?"
                )
    return None


register(Exercise(
    id="7.1",
    signature="sample_steps(key, n_steps, shape)",
    objects=("sample_steps",),
    probes=(
        probes.satisfies(
            "sample_steps", (*SAMPLE_CASES, SAMPLE_ONE_STEP), _has_shape, jit=True, static_argnums=SAMPLE_STATIC,
            key="shape", description="sample_steps returns an array of shape (n_steps, *shape)",
            hint="Read n_steps and shape from the arguments; nothing about the size is fixed.",
        ),
        probes.satisfies(
            "sample_steps", SAMPLE_CASES[:1], _sample_dtype, jit=True, static_argnums=SAMPLE_STATIC,
            key="dtype", description="the samples are float32",
            hint="Keep the sampler's default dtype, float32: half precision keeps only about 3 digits.",
        ),
        probes.satisfies(
            "sample_steps", SAMPLE_CASES[:1], _standard_normal, jit=True, static_argnums=SAMPLE_STATIC,
            key="standard-normal", description="the samples are standard normal: mean 0, standard deviation 1, normal tails",
            hint="Standard normal samples come from jax.random.normal, with no scaling or shift.",
        ),
        probes.satisfies(
            "sample_steps", SAMPLE_CASES, _steps_independent, jit=True, static_argnums=SAMPLE_STATIC,
            key="steps-differ", description="every step draws different, uncorrelated numbers",
            hint=(
                "Two steps with the same numbers were drawn with the same key. Which key does "
                "each step draw with, and is it really a new one each time?"
            ),
        ),
        probes.satisfies(
            "sample_steps", SAMPLE_CASES[1:], _not_drawn_with_key_itself, jit=True, static_argnums=SAMPLE_STATIC,
            key="key-not-drawn-with", description="no step is drawn with `key` itself",
            hint=(
                "The key you were given is the parent of the steps' keys: draw only with the keys "
                "you derive from it, never with `key` itself (also not before folding it)."
            ),
        ),
        probes.draws_from_keys(
            "sample_steps", (SAMPLE_CASES[0], case(jax.random.key(2), 6, ())), lambda args: args[1],
            static_argnums=SAMPLE_STATIC, key="key-per-step",
            description="sample_steps draws from n_steps keys, one per step",
            hint=(
                "One draw of shape (n_steps, *shape) from one key gives random numbers, but "
                "not a key per step: make n_steps keys from `key` and draw each step with one."
            ),
        ),
        # Eagerly only: every reuse shows in the plain call, and jit-matches-eager compiles it.
        probes.no_key_reuse(
            "sample_steps", (SAMPLE_TINY,), jit=False,
            hint="A key that was split or drawn with is used up: draw only with keys that are still fresh.",
        ),
        probes.deterministic("sample_steps", (SAMPLE_TINY,), hint="Draw only from keys derived from `key`."),
        probes.varies_with(
            "sample_steps", ((SAMPLE_TINY, case(jax.random.key(5), 2, ())),),
            key="varies-with-key", description="a different key gives different samples",
            hint="Derive every key from the argument `key`, never from a global or a fixed seed.",
        ),
        probes.jit_matches_eager("sample_steps", (SAMPLE_TINY,), static_argnums=SAMPLE_STATIC),
        # Plus a step count no earlier probe used: a record keyed by n_steps (or by the key),
        # filled by the earlier calls, would otherwise look unchanged.
        probes.globals_unchanged(
            "sample_steps", (SAMPLE_TINY, case(jax.random.key(9), 5, ())),
            hint="Keep no key or sample outside the function: what it computes leaves as the return value.",
        ),
        probes.no_leaked_tracers(
            "sample_steps", (SAMPLE_TINY,), static_argnums=SAMPLE_STATIC,
            hint="Do not store keys or samples in a global or an attribute: under jit they are tracers.",
        ),
    ),
    hints=(
        (
            "Each step needs a key of its own, made from `key`: `jax.random.split` can make "
            "many keys at once, and `jax.random.fold_in` makes the key of one step."
        ),
        (
            "With an array of n_steps keys, `jax.vmap` runs one draw of `shape` per key; a "
            "Python loop over the steps works too. Never draw with `key` itself after splitting it."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))

# 7.2 ---------------------------------------------------------------------------------


WALK_CASES = (case(jax.random.key(1), 12),)
WALK_STATIC = (1,)  # n is the scan length: static under jax.jit
LONG_WALKS = (case(jax.random.key(3), 2048), case(jax.random.key(4), 2048))
SHORT_WALKS = (case(jax.random.key(5), 1),)
# 2**18 steps (0.1 s under jit): a position kept in int8 and cast to int32 at the end wraps
# once the walk leaves [-128, 127], a jump of 255 between two positions. A fair walk of this
# length stays inside with probability below 1e-8 (Brownian motion stays within ±a up to time
# T with probability about 4/π · exp(-π² T / (8 a²)), and T / a² = 16 here).
VERY_LONG_WALK = case(jax.random.key(6), 2**18)


def _carries_a_key(aval: Any) -> bool:
    """A typed key, or the raw data of a threefry key (uint32, last axis 2) carried legacy-style."""
    if probes.is_prng_key(aval):
        return True
    return getattr(aval, "dtype", None) == jnp.uint32 and tuple(getattr(aval, "shape", ()))[-1:] == (2,)


def _narrow_carry(answer: probes.Answer) -> None:
    """No loop of the walk carries a number narrower than 32 bits (the position, in int16 say).

    A position kept in int8 or int16 and cast to int32 at the end gives the right dtype, and
    an int16 one the right values on every walk the check can afford (a walk reaches ±32768
    only after about a billion steps): only the program shows it. Keys, booleans and the
    32-bit counter of a fori_loop are not narrow.
    """
    carries_of = functools.partial(probes.loop_carry_avals, static_argnums=WALK_STATIC)
    loops = answer.call_transformed("jax.make_jaxpr(random_walk)", carries_of, answer.random_walk, *WALK_CASES[0]())
    for avals in loops:
        for aval in avals:
            dtype = getattr(aval, "dtype", None)
            if dtype is None or probes.is_prng_key(aval) or dtype == np.bool_:
                continue
            if jnp.issubdtype(dtype, jnp.number) and jnp.dtype(dtype).itemsize < 4:
                raise probes.ProbeFailure(
                    f"the loop of random_walk carries a {jnp.dtype(dtype).name} value (shape "
                    f"{tuple(aval.shape)}): a position kept in {jnp.dtype(dtype).name} wraps on a long "
                    "enough walk, and casting it to int32 at the end comes too late"
                )


def _steps_of(result: Any) -> np.ndarray:
    positions = np.asarray(result, dtype=np.float64)
    return np.diff(np.concatenate([[0.0], positions.ravel()]))


def _walk_shape(args: tuple[Any, ...], result: Any) -> str | None:
    _, n = args
    if not isinstance(result, jax.Array):
        return f"expected one JAX array of shape ({n},), got {short(result)}"
    if np.shape(result) != (n,):
        return f"expected an array of shape ({n},), got {short(result)}"
    positions = np.asarray(result)
    if not np.issubdtype(positions.dtype, np.number) or not np.array_equal(positions, np.round(positions)):
        return f"expected whole-number positions, got {short(result)}"
    return None


def _walk_dtype(args: tuple[Any, ...], result: Any) -> str | None:
    dtype = jnp.asarray(result).dtype
    if dtype.itemsize < 4:
        return (
            f"the positions have dtype {dtype}, which cannot hold every position of a long walk "
            f"(int8 wraps past 127, float16 skips whole numbers past 2048): use int32 or float32"
        )
    return None


def _first_is_a_step(args: tuple[Any, ...], result: Any) -> str | None:
    first = np.asarray(result).ravel()[:1]
    if first.size and abs(float(first[0])) != 1.0:
        return (
            f"positions[0] is {float(first[0]):g}; it should be the position after the first "
            "step (+1 or -1): the start, 0, is not part of the result"
        )
    return None


def _plus_minus_one(args: tuple[Any, ...], result: Any) -> str | None:
    steps = _steps_of(result)
    values = sorted({float(s) for s in steps})
    if not set(values) <= {-1.0, 1.0}:
        wrapped = (
            ": a jump of 255 or 65535 is a position kept in int8 or int16 wrapping around"
            if {255.0, 65535.0} & {abs(v) for v in values} else ""
        )
        return (
            f"the steps (differences of consecutive positions, from 0) take the values {values}; "
            f"expected only -1 and +1{wrapped}"
        )
    return None


def _steps_vary(args: tuple[Any, ...], result: Any) -> str | None:
    steps = _steps_of(result)
    up = int(np.sum(steps > 0))
    # 2048 fair steps: the number of +1 steps is Binomial(2048, 1/2), outside [897, 1151]
    # with probability below 2e-8 (so a coin with P(+1) = 0.6 or 2/3 fails), and the
    # correlation of consecutive steps has standard deviation 1/45, 0.35 is 15 of those:
    # false-reject probability below 1e-7 for the two walks.
    if steps.size > 10_000:
        # The 2**18-step walk: the normal approximation of Binomial(n, 1/2) is exact to far
        # better than its tails here; more than 6 standard deviations (sqrt(n) / 2 = 256, so
        # a fraction of +1 steps outside 0.5 ± 0.0059) has probability 2e-9. A coin with
        # P(+1) = 0.48 or 0.55, which the 2048-step walks let through, is 20 or 51 of them away.
        half_width = 6.0 * math.sqrt(steps.size) / 2.0
        lo, hi = steps.size / 2.0 - half_width, steps.size / 2.0 + half_width
    else:
        lo, hi = _binomial_bounds(steps.size, 0.5)
    if not lo <= up <= hi:
        return (
            f"{up} of {steps.size} steps are +1; a fair ±1 walk has about half: "
            "is the same key used for every step?"
        )
    if np.all(steps == steps[0]):
        return "every step is the same"
    lag_one = np.corrcoef(steps[:-1], steps[1:])[0, 1]
    if abs(lag_one) > 0.35:
        return (
            f"consecutive steps have correlation {lag_one:.2f}; independent steps have a "
            "correlation near 0: does each step get a new key?"
        )
    return None


register(Exercise(
    id="7.2",
    signature="random_walk(key, n)",
    objects=("random_walk",),
    probes=(
        probes.uses_primitive(
            "random_walk", WALK_CASES[0], {"scan"}, static_argnums=WALK_STATIC,
            key="uses-scan", description="random_walk loops with lax.scan",
            hint="The loop over the steps is a jax.lax.scan (or a lax.fori_loop), not a Python loop or a cumsum.",
        ),
        probes.loop_carries(
            "random_walk", WALK_CASES[0], _carries_a_key, what="a PRNG key",
            static_argnums=WALK_STATIC, key="key-in-carry",
            description="the scan carries the PRNG key and splits it on every step",
            hint=(
                "The key is state: it goes into the scan's carry, and every step puts a new key "
                "back into the carry. Keys made up front and scanned over are not carried."
            ),
        ),
        probes.Probe(
            "carry-dtype", "the loop carries the position as a 32-bit number", _narrow_carry,
            hint="Start the position as a 32-bit number (jnp.int32(0)): a narrow type overflows on long walks.",
        ),
        probes.program_size_independent_of_length(
            "random_walk", lambda n: (jax.random.key(0), n), static_argnums=WALK_STATIC, recursive=True,
            unrolled_at=64,
            hint=(
                "A Python loop is unrolled into the traced program, and a scan with unroll=True "
                "into the compiled one: loop with lax.scan, without unroll=True."
            ),
        ),
        # Walks of 2048 steps and more: a Python loop unrolled under jit would take minutes to compile.
        *probes.after(
            "constant-program-size",
            probes.satisfies(
                "random_walk", WALK_CASES + LONG_WALKS + SHORT_WALKS, _walk_shape, jit=True,
                static_argnums=WALK_STATIC,
                key="shape", description="random_walk returns n whole-number positions",
                hint="One position per step: the scan's length is n, and nothing about it is fixed.",
            ),
            probes.satisfies(
                "random_walk", WALK_CASES, _walk_dtype, jit=True, static_argnums=WALK_STATIC,
                key="dtype", description="the positions are int32 or float32",
                hint="Start the position as a 32-bit number: a narrow type overflows on long walks.",
            ),
            probes.satisfies(
                "random_walk", WALK_CASES + LONG_WALKS + SHORT_WALKS, _first_is_a_step, jit=True,
                static_argnums=WALK_STATIC,
                key="first-position", description="positions[0] is the position after the first step",
                hint="Emit the position after adding the step, not before.",
            ),
            probes.satisfies(
                "random_walk", WALK_CASES + LONG_WALKS + (VERY_LONG_WALK,), _plus_minus_one, jit=True,
                static_argnums=WALK_STATIC,
                key="steps-plus-minus-one", description="every step is +1 or -1",
                hint="A step is +1 or -1, each with probability 1/2: never 0, never 2.",
            ),
            probes.satisfies(
                "random_walk", (*LONG_WALKS, VERY_LONG_WALK), _steps_vary, jit=True, static_argnums=WALK_STATIC,
                key="steps-vary", description="about half of the steps are +1, and consecutive steps are independent",
                hint="Each step must draw with a fresh key: split the carried key in every step.",
            ),
        ),
        probes.deterministic("random_walk", WALK_CASES[:1], hint="Draw only from keys derived from `key`."),
        # Both under jit: an eager lax.scan compiles its body again on every call.
        probes.varies_with(
            "random_walk", ((case(jax.random.key(0), 12), case(jax.random.key(1), 12)),),
            jit=True, static_argnums=WALK_STATIC,
            key="varies-with-key", description="a different key gives a different walk",
            hint="Start the carry from the argument `key`, never from a global or a fixed seed.",
        ),
        probes.no_key_reuse(
            "random_walk", WALK_CASES[:1], eager=False, static_argnums=WALK_STATIC,
            hint="In the body, a key used for a draw must not also go back into the carry.",
        ),
        # A step drawn with fold_in(k, 0) while split(k)[0] goes back into the carry draws with
        # the carried key itself (fold_in(k, i) is split(k, n)[i]): debug_key_reuse does not see
        # it, since fold_in consumes nothing. The task asks for one half of the split.
        probes.one_derivation_scheme(
            "random_walk", WALK_CASES[:1], static_argnums=WALK_STATIC,
            description="no key is both split and folded into",
            hint=(
                "Draw the step with one half of the split and carry the other: "
                "jax.random.fold_in(k, i) is the key jax.random.split(k, n)[i], so a key folded "
                "from the carried key can be the very key that goes back into the carry."
            ),
        ),
        probes.jit_matches_eager("random_walk", WALK_CASES[:1], static_argnums=WALK_STATIC),
        # Plus a length no earlier probe used: a record keyed by n looks unchanged otherwise.
        probes.globals_unchanged(
            "random_walk", (*SHORT_WALKS, case(jax.random.key(9), 3)),
            hint="Keep no key or position outside the function: the walk leaves as the return value.",
        ),
        probes.no_leaked_tracers(
            "random_walk", SHORT_WALKS, static_argnums=WALK_STATIC,
            hint="Do not store keys or positions in a global or an attribute: under jit they are tracers.",
        ),
    ),
    hints=(
        (
            "The scan's carry holds the walk's whole state: the key and the position. Each step "
            "splits the key, draws ±1 with one half, and carries the other half on."
        ),
        (
            "`jax.random.bernoulli` gives a fair coin flip, and `jnp.where` turns it into +1 or "
            "-1. The scan's second output, stacked over the steps, is the positions array: emit "
            "the position after the step. Give the scan `length=n`."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))

# 7.3 ---------------------------------------------------------------------------------
# Diagnose and fix: an initialiser that mixes jax.random.split and jax.random.fold_in. With
# JAX's default (jax_threefry_partitionable), fold_in(key, i) is the same key as
# split(key, n)[i], so the bias of layer i repeats the first numbers of its weights, and
# jax.debug_key_reuse does not see it. The probes prove that no two arrays share numbers.


@probes.reference
def reference_init_layers(key: jax.Array, sizes: tuple[int, ...]) -> list[tuple[jax.Array, jax.Array]]:
    layers = []
    for layer_key, (m, n) in zip(jax.random.split(key, len(sizes) - 1), zip(sizes[:-1], sizes[1:])):
        w_key, b_key = jax.random.split(layer_key)
        layers.append((jax.random.normal(w_key, (m, n)), jax.random.normal(b_key, (n,))))
    return layers


LAYER_SMALL = case(jax.random.key(0), (4, 8, 3))  # arrays of at most 32 values: see _no_shared_numbers
# 17408 values, w and b of 1024 or more each; one layer where LAYER_SMALL has two, so a
# hard-coded number of layers shows.
LAYER_STATS = case(jax.random.key(2), (16, 1024))
LAYER_CASES = (LAYER_SMALL, LAYER_STATS)
LAYER_TINY = case(jax.random.key(3), (2, 3, 1))  # for the probes that compile a fresh jit: smaller, faster
LAYER_STATIC = (1,)  # sizes is a tuple of Python ints: static under jax.jit


def _arrays_of(result: Any) -> list[np.ndarray]:
    return [np.asarray(array) for layer in result for array in layer]


def _layers_shape(args: tuple[Any, ...], result: Any) -> str | None:
    _, sizes = args
    expected = [((m, n), (n,)) for m, n in zip(sizes[:-1], sizes[1:])]
    if not isinstance(result, (list, tuple)) or len(result) != len(expected):
        return f"expected a list of {len(expected)} (w, b) pairs for sizes {sizes}, got {short(result)}"
    for index, (layer, (w_shape, b_shape)) in enumerate(zip(result, expected)):
        if not isinstance(layer, (list, tuple)) or len(layer) != 2:
            return f"layer {index}: expected a pair (w, b), got {short(layer)}"
        got = (np.shape(layer[0]), np.shape(layer[1]))
        if got != (w_shape, b_shape):
            return f"layer {index}: expected w of shape {w_shape} and b of shape {b_shape}, got {got[0]} and {got[1]}"
    return None


def _layers_dtype(args: tuple[Any, ...], result: Any) -> str | None:
    for index, layer in enumerate(result):
        for name, array in zip(("w", "b"), layer):
            problem = _float_dtype_problem(array, "values")
            if problem:
                return f"layer {index}, {name}: {problem}"
    return None


def _layers_standard_normal(args: tuple[Any, ...], result: Any) -> str | None:
    arrays = _arrays_of(result)
    names = [f"{name}{index}" for index in range(len(result)) for name in ("w", "b")]
    values = np.concatenate([a.ravel() for a in arrays]).astype(np.float64)
    problem = _mean_and_std_problem(values) or _tails_problem(values)
    if problem:
        return problem
    # Each array of 1024 values or more on its own (the bounds of _mean_and_std_problem hold
    # for n >= 1024): a bias scaled, shifted or drawn from another sampler shows here. With
    # the pooled checks, a right answer fails with probability below 5e-7.
    for name, array in zip(names, arrays):
        if array.size >= 1024:
            problem = _mean_and_std_problem(array.ravel().astype(np.float64))
            if problem:
                return f"{name}: {problem}"
    return None


def _no_shared_numbers(args: tuple[Any, ...], result: Any) -> str | None:
    # Two float32 normal samples from distinct keys are equal with probability 2**-23 (the
    # uniform behind them has 23 random bits). The arrays here hold at most 32 values, so a
    # pair of arrays has fewer than 1e-4 equal values on average, and 3 or more with
    # probability below 1e-12: the false-reject probability of this probe is below 1e-11.
    # Arrays drawn from one key (or from fold_in(key, i) and split(key, n)[i], the same
    # key) share min(size) values.
    arrays = _arrays_of(result)
    names = [f"{name}{index}" for index in range(len(result)) for name in ("w", "b")]
    for (i, a), (j, b) in itertools.combinations(enumerate(arrays), 2):
        shared = np.intersect1d(a.ravel(), b.ravel()).size
        if shared >= 3:
            return (
                f"{names[i]} and {names[j]} share {shared} numbers: they were drawn from the same "
                "key, or from two keys that are equal"
            )
    for name, a in zip(names, arrays):
        repeated = a.size - np.unique(a.ravel()).size
        if repeated >= 3:
            return (
                f"{name} repeats {repeated} of its numbers: random draws from distinct keys never "
                "do; are its values drawn at all, and is each part drawn from a key of its own?"
            )
    return None


register(Exercise(
    id="7.3",
    signature="init_layers(key, sizes)",
    objects=("init_layers",),
    probes=(
        probes.satisfies(
            "init_layers", LAYER_CASES, _layers_shape,
            key="shape", description="init_layers returns one (w, b) pair per layer, w of shape (m, n), b of shape (n,)",
            hint="Layer i maps sizes[i] inputs to sizes[i + 1] outputs: one pair per consecutive pair of sizes.",
        ),
        probes.satisfies(
            "init_layers", LAYER_CASES[:1], _layers_dtype,
            key="dtype", description="every array is float32",
            hint="Keep the sampler's default dtype, float32.",
        ),
        probes.satisfies(
            "init_layers", (LAYER_STATS,), _layers_standard_normal,
            key="standard-normal", description="the values are standard normal (mean 0, standard deviation 1, normal tails), each large array too",
            hint="Weights and biases are both drawn with jax.random.normal, unscaled.",
        ),
        probes.satisfies(
            # (3, 3, 3, 3): three layers of equal sizes, whose keys must differ all the same (a key
            # made by folding the sizes m and n into `key` repeats across them); arrays of 9 values.
            "init_layers", (LAYER_SMALL, case(jax.random.key(4), (3, 3, 3, 3))), _no_shared_numbers,
            key="independent-draws", description="no two arrays share their random numbers",
            hint=(
                "Two arrays that share numbers were drawn from equal keys. Compare the key data "
                "(jax.random.key_data) of the keys your code makes for w and for b."
            ),
        ),
        # The rule the task states after the exercise: one scheme per parent. Answers that mix
        # split and fold_in with indices that never meet share no numbers, so only the
        # program's structure shows them.
        probes.one_derivation_scheme(
            "init_layers", (case(jax.random.key(1), (2, 5, 5, 1)),), static_argnums=LAYER_STATIC,
            description="no key is both split and folded into (one scheme per parent)",
            hint=(
                "Derive the keys of one parent by one scheme: split it, or fold distinct numbers "
                "into it, never both on the same key."
            ),
        ),
        probes.draws_from_keys(
            "init_layers", (case(jax.random.key(1), (2, 5, 5, 1)),), lambda args: 2 * (len(args[1]) - 1),
            per="array", static_argnums=LAYER_STATIC, key="key-per-array",
            description="init_layers draws from one key per array (two per layer)",
            hint="Every weight matrix and every bias gets a key of its own.",
        ),
        # Under jit only: the traced check sees every reuse, and the eager probes above have
        # already run the plain call.
        probes.no_key_reuse(
            "init_layers", (LAYER_TINY,), eager=False, static_argnums=LAYER_STATIC,
            hint="A key that was split or drawn with is used up: draw only with keys that are still fresh.",
        ),
        probes.deterministic("init_layers", (LAYER_SMALL,), hint="Derive every key from `key`."),
        probes.varies_with(
            "init_layers", ((LAYER_SMALL, case(jax.random.key(5), (4, 8, 3))),),
            key="varies-with-key", description="a different key gives different layers",
            hint="Derive every key from the argument `key`, never from a global or a fixed seed.",
        ),
        # Sizes no earlier probe used: a cache keyed by the sizes, filled by earlier calls, would
        # otherwise look unchanged.
        probes.globals_unchanged(
            "init_layers", (case(jax.random.key(6), (3, 2, 4)),),
            hint="Keep no key or array outside the function: the layers leave as the return value.",
        ),
        probes.no_leaked_tracers(
            "init_layers", (LAYER_TINY,), static_argnums=LAYER_STATIC,
            hint="Do not store keys or arrays in a global or an attribute: under jit they are tracers.",
        ),
    ),
    hints=(
        (
            "Run the given code and print jax.random.key_data of the key it uses for the weights "
            "of layer 0 and of the key it uses for the bias of layer 0. Are they different keys?"
        ),
        (
            "In JAX 0.12, jax.random.fold_in(key, i) is the same key as jax.random.split(key, n)[i], "
            "and jax.debug_key_reuse does not notice. Derive every key from its parent with one "
            "scheme only: split it, or fold in distinct numbers, never both."
        ),
        (
            "One way: split `key` into one key per layer, and split each layer's key into a key "
            "for w and a key for b."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))
