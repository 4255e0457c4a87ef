"""Unit tests of the loop probes (`purestate/probes/loops.py`)."""

from __future__ import annotations


import jax
import jax.numpy as jnp

from purestate import probes
from purestate.probes import case
from tests.probes.helpers import verdict


def python_loop_sum(xs: jax.Array) -> jax.Array:
    total = jnp.float32(0)
    for x in xs:
        total = total + x
    return total


def scan_sum(xs: jax.Array) -> jax.Array:
    return jax.lax.scan(lambda carry, x: (carry + x, None), jnp.float32(0), xs)[0]


def test_loop_structure_probes() -> None:
    uses = probes.uses_primitive("f", case(jnp.ones(5)), {"scan", "while"}, description="a loop primitive")
    size = probes.program_size_independent_of_length("f", lambda n: (jnp.ones(n),))
    assert verdict(uses, scan_sum) is None and verdict(size, scan_sum) is None
    assert "no scan or while" in verdict(uses, python_loop_sum)
    assert "unrolled" in verdict(size, python_loop_sum)


def _walk_carrying_key(key: jax.Array, n: int) -> jax.Array:
    def step(carry: tuple, _: None) -> tuple:
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + jnp.where(jax.random.bernoulli(subkey), 1, -1)
        return (key, position), position

    return jax.lax.scan(step, (key, 0), length=n)[1]


def _walk_over_split_keys(key: jax.Array, n: int) -> jax.Array:
    def step(position: jax.Array, subkey: jax.Array) -> tuple:
        position = position + jnp.where(jax.random.bernoulli(subkey), 1, -1)
        return position, position

    return jax.lax.scan(step, 0, jax.random.split(key, n))[1]


def _walk_key_passed_through(key: jax.Array, n: int) -> jax.Array:
    def step(carry: tuple, _: None) -> tuple:
        key, position = carry  # the key goes back unchanged: it is a constant, not state
        position = position + jnp.where(jax.random.bernoulli(jax.random.fold_in(key, position)), 1, -1)
        return (key, position), position

    return jax.lax.scan(step, (key, 0), length=n)[1]


def _walk_while_loop(key: jax.Array, n: int) -> jax.Array:
    def body(carry: tuple) -> tuple:
        i, key, positions = carry
        key, subkey = jax.random.split(key)
        step = jnp.where(jax.random.bernoulli(subkey), 1, -1)
        return i + 1, key, positions.at[i].set(positions[i - 1] * (i > 0) + step)

    return jax.lax.while_loop(lambda c: c[0] < n, body, (0, key, jnp.zeros(n, jnp.int32)))[2]


def test_loop_carry_avals_lists_what_the_body_updates() -> None:
    loops = probes.loop_carry_avals(_walk_carrying_key, jax.random.key(0), 4, static_argnums=(1,))
    assert [[probes.is_prng_key(a) for a in avals] for avals in loops] == [[True, False]]
    passed_through = probes.loop_carry_avals(_walk_key_passed_through, jax.random.key(0), 4, static_argnums=(1,))
    assert not any(probes.is_prng_key(a) for avals in passed_through for a in avals)


def test_loop_carries_finds_a_key_in_scan_and_while_carries() -> None:
    probe = probes.loop_carries(
        "f", lambda: (jax.random.key(0), 4), probes.is_prng_key, what="a PRNG key",
        static_argnums=(1,), description="d",
    )
    assert verdict(probe, _walk_carrying_key) is None
    assert verdict(probe, _walk_while_loop) is None
    assert "no loop in f carries a PRNG key" in verdict(probe, _walk_over_split_keys)
    assert "no loop in f carries a PRNG key" in verdict(probe, _walk_key_passed_through)
    no_loop = verdict(probe, lambda key, n: jnp.cumsum(jax.random.randint(key, (n,), 0, 2)))
    assert "contains no loop" in no_loop


def _jitted_python_loop_sum(xs: jax.Array) -> jax.Array:
    # a Python loop inside a nested jax.jit: the top level is one pjit equation
    return jax.jit(python_loop_sum)(xs)


def _python_loop_in_checkpoint(xs: jax.Array) -> jax.Array:
    return jax.checkpoint(python_loop_sum)(xs)


def _scan_in_nested_jit(xs: jax.Array) -> jax.Array:
    return jax.jit(scan_sum)(xs)


def test_recursive_program_size_sees_loops_inside_nested_jaxprs() -> None:
    top = probes.program_size_independent_of_length("f", lambda n: (jnp.ones(n),))
    deep = probes.program_size_independent_of_length("f", lambda n: (jnp.ones(n),), recursive=True)
    assert verdict(top, _jitted_python_loop_sum) is None  # the hole the option closes
    assert "nested jaxprs included" in verdict(deep, _jitted_python_loop_sum)
    assert "unrolled" in verdict(deep, _python_loop_in_checkpoint)
    assert "unrolled" in verdict(deep, python_loop_sum)
    assert verdict(deep, scan_sum) is None and verdict(deep, _scan_in_nested_jit) is None
    # a loop body counts once: the scan equation plus its body's equations, at every length
    assert probes.jaxpr_size(scan_sum, jnp.ones(3), recursive=True) == probes.jaxpr_size(
        scan_sum, jnp.ones(50), recursive=True
    ) > probes.jaxpr_size(scan_sum, jnp.ones(3))


def _scan_unrolled(xs: jax.Array) -> jax.Array:
    return jax.lax.scan(lambda c, x: (c + x, c), 0.0, xs, unroll=True)[0]


def _scan_unrolled_by_two(xs: jax.Array) -> jax.Array:
    return jax.lax.scan(lambda c, x: (c + x, c), 0.0, xs, unroll=2)[0]


def _fori_unrolled(xs: jax.Array) -> jax.Array:
    return jax.lax.fori_loop(0, xs.shape[0], lambda i, c: c + xs[i], 0.0, unroll=True)


def _scan_unrolled_by_four_inner_unrolled(xs: jax.Array) -> jax.Array:
    def step(c: jax.Array, x: jax.Array) -> tuple:
        inner = jax.lax.scan(lambda a, b: (a + b, a), c, jnp.arange(3.0), unroll=True)[0]
        return inner + x, c

    return jax.lax.scan(step, 0.0, xs, unroll=4)[0]


def test_unrolled_at_rejects_a_loop_unrolled_whole_and_accepts_a_constant_factor() -> None:
    deep = probes.program_size_independent_of_length("f", lambda n: (jnp.ones(n),), recursive=True)
    unrolled = probes.program_size_independent_of_length(
        "f", lambda n: (jnp.ones(n),), lengths=(2, 5), recursive=True, unrolled_at=64
    )
    assert verdict(deep, _scan_unrolled) is None  # one scan equation in the jaxpr
    assert "unroll=True" in verdict(unrolled, _scan_unrolled)  # XLA gets one body per step
    assert "unroll=True" in verdict(unrolled, _fori_unrolled)
    # factors beyond the short length (4 > 2) and a short inner loop unrolled whole: constant
    assert verdict(unrolled, _scan_unrolled_by_two) is None
    assert verdict(unrolled, _scan_unrolled_by_four_inner_unrolled) is None
    assert probes.fully_unrolled_loops(_scan_unrolled, jnp.ones(64), length=64) == 1
    assert probes.fully_unrolled_loops(_scan_unrolled_by_two, jnp.ones(64), length=64) == 0
