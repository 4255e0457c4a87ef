"""Unit tests of the vmap and device probes (`purestate/probes/devices.py`)."""

from __future__ import annotations


import jax
import jax.numpy as jnp

from purestate import probes
from purestate.probes import case
from tests.probes.helpers import verdict


def test_vmap_matches_loop() -> None:
    probe = probes.vmap_matches_loop("f", [case(jnp.arange(6.0).reshape(2, 3))])
    assert verdict(probe, jnp.sum) is None


def test_runs_on_devices_needs_a_shard_map_over_every_device() -> None:
    n = jax.local_device_count()
    make = lambda: (jnp.arange(2.0 * n),)  # noqa: E731
    probe = probes.runs_on_devices("f", make)
    mesh = jax.make_mesh((n,), ("d",), axis_types=(jax.sharding.AxisType.Auto,))

    def sharded(x: jax.Array) -> jax.Array:
        return jax.shard_map(
            lambda s: jax.lax.psum(s.sum(), "d"), mesh=mesh, in_specs=jax.P("d"), out_specs=jax.P()
        )(x)

    def pmapped(x: jax.Array) -> jax.Array:
        return jax.pmap(lambda s: jax.lax.psum(s.sum(), "i"), axis_name="i")(x.reshape(n, -1))[0]

    def vmapped(x: jax.Array) -> jax.Array:  # a psum, but on one device
        return jax.vmap(lambda s: jax.lax.psum(s.sum(), "i"), axis_name="i")(x.reshape(n, -1))[0]

    assert verdict(probe, sharded) is None
    assert verdict(probe, pmapped) is None
    assert "contains no shard_map or pmap" in verdict(probe, vmapped)
    assert "contains no shard_map or pmap" in verdict(probe, jnp.sum)
    assert "expected all" in verdict(probes.runs_on_devices("f", make, devices=lambda: n + 1), sharded)
    assert probes.mapped_device_counts(jax.jit(pmapped), *make()) == [n]


def test_psum_over_devices_needs_a_psum_that_names_the_device_axis() -> None:
    n = jax.local_device_count()
    make = lambda: (jnp.arange(2.0 * n),)  # noqa: E731
    probe = probes.psum_over_devices("f", make)
    mesh = jax.make_mesh((n,), ("d",), axis_types=(jax.sharding.AxisType.Auto,))

    def sharded(x: jax.Array) -> jax.Array:
        return jax.shard_map(
            lambda s: jax.lax.psum(s.sum(), "d"), mesh=mesh, in_specs=jax.P("d"), out_specs=jax.P()
        )(x)

    def pmapped(x: jax.Array) -> jax.Array:
        return jax.pmap(lambda s: jax.lax.psum(s.sum(), "i"), axis_name="i")(x.reshape(n, -1))[0]

    def partial_sums_added_after(x: jax.Array) -> jax.Array:  # no psum at all
        return jnp.sum(jax.shard_map(lambda s: s.sum(keepdims=True), mesh=mesh, in_specs=jax.P("d"), out_specs=jax.P("d"))(x))

    def psum_over_a_vmap_axis(x: jax.Array) -> jax.Array:  # a psum, but over rows of one device's shard
        def per_device(s: jax.Array) -> jax.Array:
            return jax.vmap(lambda r: jax.lax.psum(r, "rows"), axis_name="rows")(s)[:1]

        return jnp.sum(jax.shard_map(per_device, mesh=mesh, in_specs=jax.P("d"), out_specs=jax.P("d"), check_vma=False)(x))

    assert verdict(probe, sharded) is None
    assert verdict(probe, pmapped) is None
    assert "no psum runs inside" in verdict(probe, partial_sums_added_after)
    assert "no psum runs inside" in verdict(probe, jnp.sum)
    assert "name no device axis" in verdict(probe, psum_over_a_vmap_axis)
    assert f"not over all {n + 1}" in verdict(probes.psum_over_devices("f", make, devices=lambda: n + 1), sharded)
    assert probes.psum_device_spans(sharded, *make()) == [n]
    assert probes.psum_device_spans(psum_over_a_vmap_axis, *make()) == [0]
