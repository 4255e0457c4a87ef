"""Chapter 7 · Randomness is state: exercises 7.1–7.2.

Random values differ between JAX versions, so no probe compares against stored samples:
they check shapes, statistics, determinism in the key, key reuse (under
``jax.debug_key_reuse``) and the structure of the traced program.
"""

from __future__ import annotations

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


# 7.1 ---------------------------------------------------------------------------------


SAMPLE_CASES = (
    case(jax.random.key(0), 4, (256,)),  # 1024 samples: enough for the mean and standard deviation
    case(jax.random.key(1), 3, (2, 2)),
)
SAMPLE_STATIC = (1, 2)  # n_steps and shape are Python values: static under jax.jit


def _has_shape(args: tuple[Any, ...], result: Any) -> str | None:
    _, n_steps, shape = args
    expected = (n_steps, *shape)
    if np.shape(result) != expected:
        return f"expected an array of shape {expected}, got {short(result)}"
    if not jnp.issubdtype(jnp.asarray(result).dtype, jnp.floating):
        return f"expected floating-point samples, got dtype {jnp.asarray(result).dtype}"
    return None


def _standard_normal(args: tuple[Any, ...], result: Any) -> str | None:
    samples = np.asarray(result, dtype=np.float64).ravel()
    mean, std = samples.mean(), samples.std()
    if abs(mean) > 0.15 or abs(std - 1.0) > 0.12:  # about 5 standard errors for 1024 samples
        return (
            f"{samples.size} samples have mean {mean:.2f} and standard deviation {std:.2f}; "
            "a standard normal has mean 0 and standard deviation 1"
        )
    return None


def _steps_differ(args: tuple[Any, ...], result: Any) -> str | None:
    rows = np.asarray(result).reshape(len(result), -1)
    for i in range(len(rows)):
        for j in range(i):
            if np.array_equal(rows[i], rows[j]):
                return f"steps {j} and {i} hold the same samples: one key was used for both"
    return None


register(Exercise(
    id="7.1",
    signature="sample_steps(key, n_steps, shape)",
    objects=("sample_steps",),
    probes=(
        probes.satisfies(
            "sample_steps", SAMPLE_CASES, _has_shape, jit=True, static_argnums=SAMPLE_STATIC,
            key="shape", description="sample_steps returns floats of shape (n_steps, *shape)",
        ),
        probes.satisfies(
            "sample_steps", SAMPLE_CASES[:1], _standard_normal, jit=True, static_argnums=SAMPLE_STATIC,
            key="standard-normal", description="the samples have mean 0 and standard deviation 1",
        ),
        probes.satisfies(
            "sample_steps", SAMPLE_CASES, _steps_differ, jit=True, static_argnums=SAMPLE_STATIC,
            key="steps-differ", description="every step draws different numbers",
        ),
        probes.uses_primitive(
            "sample_steps", SAMPLE_CASES[0], {"random_split", "random_fold_in"},
            static_argnums=SAMPLE_STATIC, key="key-per-step",
            description="sample_steps derives a key per step (split or fold_in)",
        ),
        # Eagerly only: every reuse shows in the plain call, and jit-matches-eager compiles it.
        probes.no_key_reuse("sample_steps", SAMPLE_CASES[:1], jit=False),
        probes.deterministic("sample_steps", SAMPLE_CASES[:1]),
        probes.varies_with(
            "sample_steps", ((SAMPLE_CASES[0], case(jax.random.key(1), 4, (256,))),),
            key="varies-with-key", description="a different key gives different samples",
        ),
        probes.jit_matches_eager("sample_steps", SAMPLE_CASES[:1], static_argnums=SAMPLE_STATIC),
    ),
    hints=(
        (
            "Make one key per step from the key you are given: `jax.random.split(key, n_steps)` "
            "(then `jax.vmap` a draw over the keys), or `jax.random.fold_in(key, step)`. "
            "Draw each step with its own key and never use `key` itself for a draw."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))

# 7.2 ---------------------------------------------------------------------------------


WALK_CASES = (case(jax.random.key(1), 12),)
WALK_STATIC = (1,)  # n is the scan length: static under jax.jit
LONG_WALKS = (case(jax.random.key(3), 64), case(jax.random.key(4), 64))


def _steps_of(result: Any) -> np.ndarray:
    positions = np.asarray(result)
    return np.diff(np.concatenate([[0], positions.ravel()]))


def _walk_shape(args: tuple[Any, ...], result: Any) -> str | None:
    _, n = args
    if np.shape(result) != (n,):
        return f"expected an array of shape ({n},), got {short(result)}"
    positions = np.asarray(result)
    if not np.issubdtype(positions.dtype, np.number) or not np.array_equal(positions, np.round(positions)):
        return f"expected whole-number positions, got {short(result)}"
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
        return f"the steps (differences of consecutive positions, from 0) take the values {values}; expected only -1 and +1"
    return None


def _steps_vary(args: tuple[Any, ...], result: Any) -> str | None:
    steps = _steps_of(result)
    up = int(np.sum(steps > 0))
    if not 0.25 * steps.size <= up <= 0.75 * steps.size:  # 4 standard deviations for 64 steps
        return (
            f"{up} of {steps.size} steps are +1; a fair ±1 walk has about half: "
            "is the same key used for every step?"
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
        ),
        probes.loop_carries(
            "random_walk", WALK_CASES[0], probes.is_prng_key, what="a PRNG key",
            static_argnums=WALK_STATIC, key="key-in-carry",
            description="the scan carries the PRNG key and splits it on every step",
        ),
        probes.program_size_independent_of_length(
            "random_walk", lambda n: (jax.random.key(0), n), static_argnums=WALK_STATIC,
        ),
        probes.satisfies(
            "random_walk", WALK_CASES + LONG_WALKS, _walk_shape, jit=True, static_argnums=WALK_STATIC,
            key="shape", description="random_walk returns n whole-number positions",
        ),
        probes.satisfies(
            "random_walk", WALK_CASES + LONG_WALKS, _first_is_a_step, jit=True, static_argnums=WALK_STATIC,
            key="first-position", description="positions[0] is the position after the first step",
        ),
        probes.satisfies(
            "random_walk", WALK_CASES + LONG_WALKS, _plus_minus_one, jit=True, static_argnums=WALK_STATIC,
            key="steps-plus-minus-one", description="every step is +1 or -1",
        ),
        probes.satisfies(
            "random_walk", LONG_WALKS, _steps_vary, jit=True, static_argnums=WALK_STATIC,
            key="steps-vary", description="about half of the steps are +1, half -1",
        ),
        probes.deterministic("random_walk", WALK_CASES[:1]),
        # Both under jit: an eager lax.scan compiles its body again on every call.
        probes.varies_with(
            "random_walk", ((case(jax.random.key(0), 12), case(jax.random.key(1), 12)),),
            jit=True, static_argnums=WALK_STATIC,
            key="varies-with-key", description="a different key gives a different walk",
        ),
        probes.no_key_reuse("random_walk", WALK_CASES[:1], eager=False, static_argnums=WALK_STATIC),
        probes.jit_matches_eager("random_walk", WALK_CASES[:1], static_argnums=WALK_STATIC),
    ),
    hints=(
        (
            "Carry `(key, position)` through `jax.lax.scan(step, (key, 0), length=n)`. In `step`, "
            "split the key, draw the step with the subkey (`jnp.where(jax.random.bernoulli(subkey), 1, -1)`), "
            "add it to the position, and return `((new_key, new_position), new_position)`."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))
