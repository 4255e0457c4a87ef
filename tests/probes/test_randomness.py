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


def test_key_draw_count_and_draws_from_keys() -> None:
    def one_draw(key: jax.Array, n: int) -> jax.Array:
        return jax.random.normal(key, (n, 3))

    def vmapped(key: jax.Array, n: int) -> jax.Array:
        return jax.vmap(lambda k: jax.random.normal(k, (3,)))(jax.random.split(key, n))

    def scanned(key: jax.Array, n: int) -> jax.Array:
        def body(k: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
            k, sub = jax.random.split(k)
            return k, jax.random.normal(sub, (3,))

        return jax.lax.scan(body, key, length=n)[1]

    def looped(key: jax.Array, n: int) -> jax.Array:
        return jnp.stack([jax.random.normal(jax.random.fold_in(key, i), (3,)) for i in range(n)])

    key = jax.random.key(0)
    assert probes.key_draw_count(one_draw, key, 5, static_argnums=(1,)) == 1
    for fn in (vmapped, scanned, looped):
        assert probes.key_draw_count(fn, key, 5, static_argnums=(1,)) == 5, fn.__name__
    probe = probes.draws_from_keys(
        "f", [case(key, 5)], lambda args: args[1], static_argnums=(1,), description="a key per step"
    )
    assert verdict(probe, scanned) is None
    assert "from 1 key(s); expected at least 5" in verdict(probe, one_draw)


def test_key_derivations_and_one_derivation_scheme() -> None:
    def split_then_split(key: jax.Array, n: int) -> jax.Array:
        return jax.vmap(lambda k: jax.random.normal(jax.random.split(k)[1], (3,)))(jax.random.split(key, n))

    def fold_then_split(key: jax.Array, n: int) -> jax.Array:
        return jnp.stack([jax.random.normal(jax.random.split(jax.random.fold_in(key, i))[0], (3,)) for i in range(n)])

    def mixed(key: jax.Array, n: int) -> jax.Array:
        # fold_in(key, n + i) never meets split(key, n)[i] here, but the parent has two schemes.
        keys = jax.random.split(key, n)
        return jnp.stack([jax.random.normal(keys[i], (3,)) + jax.random.normal(jax.random.fold_in(key, n + i), (3,)) for i in range(n)])

    def mixed_in_scan(key: jax.Array, n: int) -> jax.Array:
        def body(k: jax.Array, _: None) -> tuple[jax.Array, jax.Array]:
            return jax.random.split(k)[0], jax.random.normal(jax.random.fold_in(k, 7), (3,))

        return jax.lax.scan(body, key, length=n)[1]

    def mixed_raw(key: jax.Array, n: int) -> jax.Array:
        raw = jax.random.key_data(key)  # legacy uint32 keys: the same key, unwrapped
        return jax.random.normal(jax.random.split(raw)[0], (3,)) + jax.random.normal(jax.random.fold_in(raw, 5), (3,))

    key = jax.random.key(0)
    uses = probes.key_derivations(split_then_split, key, 4, static_argnums=(1,))
    assert {"split"} in uses and {"draw"} in uses and not any(u >= {"split", "fold_in"} for u in uses)
    probe = probes.one_derivation_scheme("f", [case(key, 4)], static_argnums=(1,))
    assert verdict(probe, split_then_split) is None
    assert verdict(probe, fold_then_split) is None
    for fn in (mixed, mixed_in_scan, mixed_raw):
        assert "both splits a key and folds numbers into it" in verdict(probe, fn), fn.__name__


def test_varies_with_parts_names_a_part_that_does_not_change() -> None:
    pairs = [(case(jax.random.key(0)), case(jax.random.key(1)))]
    probe = probes.varies_with(
        "f", pairs, description="d",
        parts=((lambda r: r[1], "the {size} flags are the same for both keys"),),
    )

    def flags_from_key(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        noise_key, flag_key = jax.random.split(key)
        return jax.random.normal(noise_key, (4,)), jax.random.bernoulli(flag_key, shape=(64,))

    def fixed_flags(key: jax.Array) -> tuple[jax.Array, jax.Array]:
        return jax.random.normal(key, (4,)), jnp.arange(64) % 2 == 0

    assert verdict(probe, flags_from_key) is None
    assert verdict(probe, fixed_flags) == "the 64 flags are the same for both keys"
