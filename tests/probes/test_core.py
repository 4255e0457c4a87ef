"""Unit tests of the the probe machinery (`purestate/probes/core.py`)."""

from __future__ import annotations


import jax
import pytest

from purestate import probes
from purestate.probes import Answer, case
from purestate.runner import NotAttempted
from tests.probes.helpers import AFFINE, affine, verdict


def test_case_gives_fresh_copies() -> None:
    make = case([1, 2])
    first = make()
    first[0].append(3)
    assert make() == ([1, 2],)


def test_a_stub_is_not_attempted() -> None:
    def stub(*args: object) -> None:
        raise NotImplementedError

    with pytest.raises(NotAttempted):
        probes.matches_reference("f", affine, AFFINE).run(Answer({"f": stub}))


def test_static_argnums_reach_jit_and_make_jaxpr() -> None:
    def draws(key: jax.Array, n: int) -> jax.Array:
        return jax.random.normal(key, (n,))

    def reuses(key: jax.Array, n: int) -> jax.Array:
        return jax.random.normal(key, (n,)) + jax.random.uniform(key, (n,))

    reuse = probes.no_key_reuse("f", [lambda: (jax.random.key(0), 3)], static_argnums=(1,))
    assert verdict(reuse, draws) is None
    assert "PRNG key twice" in verdict(reuse, reuses)

    def scan_n(key: jax.Array, n: int) -> jax.Array:
        return jax.lax.scan(lambda c, _: (c + 1.0, c), 0.0, length=n)[1]

    uses = probes.uses_primitive("f", lambda: (jax.random.key(0), 3), {"scan"}, static_argnums=(1,), description="d")
    size = probes.program_size_independent_of_length(
        "f", lambda n: (jax.random.key(0), n), static_argnums=(1,)
    )
    assert verdict(uses, scan_n) is None and verdict(size, scan_n) is None
    assert "no scan" in verdict(uses, draws)
