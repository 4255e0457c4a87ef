"""Unit tests of the randomness probes (`purestate/probes/randomness.py`)."""

from __future__ import annotations


import jax
import jax.numpy as jnp

from purestate import probes
from purestate.probes import case
from tests.probes.helpers import verdict


def test_no_key_reuse() -> None:
    def reuses(key: jax.Array) -> jax.Array:
        return jax.random.normal(key, (2,)) + jax.random.normal(key, (2,))

    def splits(key: jax.Array) -> jax.Array:
        a, b = jax.random.split(key)
        return jax.random.normal(a, (2,)) + jax.random.normal(b, (2,))

    probe = probes.no_key_reuse("f", [case(jax.random.key(0))])
    assert verdict(probe, splits) is None
    assert "PRNG key twice" in verdict(probe, reuses)


def test_varies_with_and_no_key_reuse_under_jit_only() -> None:
    def reuses(key: jax.Array) -> jax.Array:
        return jax.random.normal(key, (2,)) + jax.random.normal(key, (2,))

    def ignores_key(key: jax.Array) -> jax.Array:
        return jnp.zeros(2)

    def splits(key: jax.Array) -> jax.Array:
        a, b = jax.random.split(key)
        return jax.random.normal(a, (2,)) + jax.random.normal(b, (2,))

    pair = ((case(jax.random.key(0)), case(jax.random.key(1))),)
    varies = probes.varies_with("f", pair, jit=True, description="a different key gives different samples")
    reuse = probes.no_key_reuse("f", [case(jax.random.key(0))], eager=False)
    assert verdict(varies, splits) is None and verdict(reuse, splits) is None
    assert "returned the same result" in verdict(varies, ignores_key)
    assert "PRNG key twice" in verdict(reuse, reuses)
