"""Unit tests of the purity and side-effect probes (`purestate/probes/purity.py`)."""

from __future__ import annotations


import jax
import jax.numpy as jnp

from purestate import probes
from purestate.probes import case
from tests.probes.helpers import verdict


def test_inputs_unchanged_names_the_argument() -> None:
    probe = probes.inputs_unchanged("f", [case([1, 2], 3)])

    def appends(items: list, item: int) -> list:
        items.append(item)
        return items

    assert verdict(probe, lambda items, item: items + [item]) is None
    assert "`items`" in verdict(probe, appends)


def test_deterministic_catches_hidden_state() -> None:
    calls = []

    def counter(x: int) -> int:
        calls.append(x)
        return len(calls)

    probe = probes.deterministic("f", [case(1)])
    assert verdict(probe, lambda x: x + 1) is None
    assert "different results" in verdict(probe, counter)


_counter = {"calls": 0}
_GLOBAL_KEY = {"key": jax.random.key(0)}


class _Holder:
    def __init__(self) -> None:
        self.value = jnp.float32(0.0)


_holder = _Holder()


def test_globals_unchanged_sees_globals_attributes_and_closures() -> None:
    cases = [case(jnp.float32(1.0), jnp.float32(2.0))]
    probe = probes.globals_unchanged("f", cases)

    def pure(value: jax.Array, increment: jax.Array) -> jax.Array:
        return jnp.add(value, increment) * _counter["calls"]  # reads a global, changes nothing

    def counts(value: jax.Array, increment: jax.Array) -> jax.Array:
        _counter["calls"] += 1
        return value + increment

    def sets_attribute(value: jax.Array, increment: jax.Array) -> jax.Array:
        _holder.value = value + increment
        return _holder.value

    def make_closure() -> object:
        seen: list = []

        def appends(value: jax.Array, increment: jax.Array) -> jax.Array:
            seen.append(value)
            return value + increment

        return appends

    assert verdict(probe, pure) is None
    assert verdict(probe, jax.jit(pure)) is None
    assert "the global `_counter`" in verdict(probe, counts)
    assert "the global `_holder`" in verdict(probe, sets_attribute)
    assert "the closed-over variable `seen`" in verdict(probe, make_closure())
    assert "the global `_counter`" in verdict(probe, jax.jit(counts))  # the body runs once per trace


def test_globals_unchanged_reads_a_global_prng_key() -> None:
    def replaces_global_key(x: jax.Array) -> jax.Array:
        _GLOBAL_KEY["key"], sub = jax.random.split(_GLOBAL_KEY["key"])
        return x + jax.random.normal(sub)

    probe = probes.globals_unchanged("f", [case(jnp.float32(1.0))])
    assert verdict(probe, lambda x: x + 1) is None
    assert verdict(probe, replaces_global_key) is not None
