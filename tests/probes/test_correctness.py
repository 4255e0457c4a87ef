"""Unit tests of the correctness probes (`purestate/probes/correctness.py`)."""

from __future__ import annotations


import jax
import jax.numpy as jnp

from purestate import probes
from purestate.probes import case
from tests.probes.helpers import AFFINE, affine, verdict


def test_matches_reference() -> None:
    probe = probes.matches_reference("f", affine, AFFINE)
    assert verdict(probe, affine) is None
    assert "expected" in verdict(probe, lambda p, x: x * p["scale"])


def test_satisfies_under_jit_checks_the_jitted_result() -> None:
    def positive(args: tuple, result: jax.Array) -> str | None:
        return None if bool(jnp.all(result > 0)) else "not positive"

    cases = [case(jnp.arange(3.0), 2)]
    probe = probes.satisfies("f", cases, positive, jit=True, static_argnums=(1,), key="k", description="d")
    assert verdict(probe, lambda x, n: x[:n] + 1) is None
    assert "not positive" in verdict(probe, lambda x, n: x[:n] - 1)
    # n must be static: a probe without static_argnums reports the reader's error under jit
    unstatic = probes.satisfies("f", cases, positive, jit=True, key="k", description="d")
    assert "jax.jit(f) raised" in verdict(unstatic, lambda x, n: x[:n] + 1)


_MEMO: dict = {}


def test_fresh_result_each_call_sees_a_memoised_result() -> None:
    def memoised(items: list) -> list:
        return _MEMO.setdefault(repr(items), [*items, 0])

    def nested_template(items: list) -> dict:
        return {"items": [*items], "defaults": _MEMO.setdefault("template", [])}

    probe = probes.fresh_result_each_call("f", [case([[1], [2]])])
    assert verdict(probe, lambda items: [*items, 0]) is None  # inner lists come from the argument
    assert "same list object" in verdict(probe, memoised)
    assert "['defaults']" in verdict(probe, nested_template)
    _MEMO.clear()
