"""Unit tests of the gradient probes (`purestate/probes/gradients.py`)."""

from __future__ import annotations


import jax
import jax.numpy as jnp

from purestate import probes
from purestate.probes import case
from tests.probes.helpers import AFFINE, affine, verdict


def test_grad_matches_reference() -> None:
    def loss(params: dict, x: jax.Array) -> jax.Array:
        return jnp.sum(affine(params, x) ** 2)

    probe = probes.grad_matches_reference("f", loss, AFFINE)
    assert verdict(probe, loss) is None
    frozen_shift = {"shift": jnp.float32(1.0)}
    assert "gradient" in verdict(probe, lambda p, x: jnp.sum((x * p["scale"] + frozen_shift["shift"]) ** 2))


def test_grad_of_loss_matches_reference() -> None:
    def scaled_pair(params: dict, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        return affine(params, x), jnp.sum(x) * params["scale"]

    def pair_loss(out: tuple[jax.Array, jax.Array]) -> jax.Array:
        return jnp.sum(out[0] ** 2) + out[1]

    probe = probes.grad_of_loss_matches_reference("f", scaled_pair, AFFINE, pair_loss)
    assert verdict(probe, scaled_pair) is None
    frozen = lambda p, x: jax.lax.stop_gradient(scaled_pair(p, x))  # noqa: E731
    assert "gradient of a loss" in verdict(probe, frozen)

    def while_doubling(x: jax.Array) -> jax.Array:
        return jax.lax.while_loop(lambda c: c[0] < 3, lambda c: (c[0] + 1, c[1] * 2), (0, x))[1]

    by_while = probes.grad_of_loss_matches_reference("f", lambda x: x * 8, [case(jnp.arange(3.0))], jnp.sum)
    assert "Reverse-mode differentiation" in verdict(by_while, while_doubling)

    jitted = probes.grad_of_loss_matches_reference("f", scaled_pair, AFFINE, pair_loss, jit=True)
    assert verdict(jitted, scaled_pair) is None
    assert "jax.jit(jax.grad(loss of f))" in verdict(jitted, lambda p, x: (affine(p, x), float(p["scale"])))
