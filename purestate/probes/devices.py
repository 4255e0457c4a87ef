"""Batches and devices: `vmap` against a loop, `shard_map` over every device."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend
import numpy as np

from purestate.compare import mismatch
from purestate.probes.core import Answer, Case, Probe, _fail


def vmap_matches_loop(
    name: str,
    batched_cases: Sequence[Case],
    *,
    in_axes: int | None | tuple[int | None, ...] = 0,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    key: str = "vmap-matches-loop",
    description: str | None = None,
    hint: str = (
        "Write the function for one example and let jax.vmap add the batch axis; nothing "
        "may be shared between examples."
    ),
) -> Probe:
    """``jax.vmap(answer, in_axes)`` equals calling the answer on each example in a loop."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        vmapped = jax.vmap(fn, in_axes=in_axes)
        for make in batched_cases:
            args = make()
            axes = in_axes if isinstance(in_axes, tuple) else (in_axes,) * len(args)
            size = next(np.shape(a)[0] for a, ax in zip(args, axes) if ax is not None)
            looped = [
                answer.call(
                    name,
                    *(a if ax is None else jax.tree.map(lambda leaf: leaf[i], a) for a, ax in zip(args, axes)),
                )
                for i in range(size)
            ]
            expected = jax.tree.map(lambda *xs: np.stack([np.asarray(x) for x in xs]), *looped)
            got = answer.call_transformed(f"jax.vmap({name})", vmapped, *make())
            found = mismatch(expected, got, rtol=rtol, atol=atol)
            if found:
                _fail(f"jax.vmap({name}) disagrees with a loop over the batch: {found}")

    return Probe(key, description or f"jax.vmap({name}) equals a loop over the examples", run, hint)




def mapped_device_counts(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> list[int]:
    """How many devices each ``shard_map`` in ``fn``'s jaxpr spans, in program order.

    In the pinned JAX, ``jax.pmap`` is built on ``jit`` and ``shard_map``, so a ``pmap``
    shows up here too (the legacy ``xla_pmap`` primitive is counted as well). A ``jax.vmap``
    with an ``axis_name`` runs collectives such as ``psum`` but on one device: it adds nothing.
    """
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)
    sizes: list[int] = []

    def visit(jaxpr: Any) -> None:
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "shard_map" and "mesh" in eqn.params:
                sizes.append(int(np.prod(list(dict(eqn.params["mesh"].shape).values()))))
            elif eqn.primitive.name == "xla_pmap":
                sizes.append(int(eqn.params.get("global_axis_size", eqn.params.get("axis_size", 1))))
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(closed.jaxpr)
    return sizes


def runs_on_devices(
    name: str,
    make: Case,
    *,
    devices: Callable[[], int] | None = None,
    static_argnums: tuple[int, ...] = (),
    key: str = "runs-on-all-devices",
    description: str | None = None,
    hint: str = (
        "Split the work over every device (pmap or shard_map) and combine the partial "
        "results with a collective such as psum."
    ),
) -> Probe:
    """The answer maps its work over ``devices()`` devices (default: every local device).

    Passes when the answer's jaxpr holds a ``shard_map`` (or a ``jax.pmap``) whose mesh has
    at least that many devices; the count is read when the probe runs, so the same probe
    works on a 1-device laptop, an 8-device CPU split and a GPU machine.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        wanted = devices() if devices is not None else jax.local_device_count()
        counts_of = functools.partial(mapped_device_counts, static_argnums=static_argnums)
        sizes = answer.call_transformed(f"jax.make_jaxpr({name})", counts_of, fn, *make())
        if not sizes:
            _fail(
                f"the jaxpr of {name} contains no shard_map or pmap: everything runs on one "
                "device (a jax.vmap with an axis_name does not spread work over devices)"
            )
        if max(sizes) < wanted:
            _fail(f"{name} maps over {max(sizes)} device(s); expected all {wanted} local devices")

    return Probe(key, description or f"{name} spreads its work over every local device", run, hint)


def psum_device_spans(fn: Callable[..., Any], *args: Any, static_argnums: tuple[int, ...] = ()) -> list[int]:
    """For each ``psum`` inside a ``shard_map`` (or ``pmap``) of ``fn``, how many devices it sums over.

    A ``psum`` names the axes it reduces: mesh axes of the enclosing ``shard_map`` (each
    spanning that axis's devices), or, after ``jax.vmap`` with an ``axis_name``, a positional
    batch axis, which spans no device. The span of a ``psum`` is the product of the sizes of
    the mesh axes it names, 0 when it names none (so that even on one device a ``psum`` over
    a ``vmap`` axis is told apart). A ``psum`` outside every ``shard_map`` is not listed.
    """
    closed = jax.make_jaxpr(fn, static_argnums=static_argnums)(*args)
    spans: list[int] = []

    def visit(jaxpr: Any, axes: dict[str, int]) -> None:
        for eqn in jaxpr.eqns:
            inner = axes
            name = eqn.primitive.name
            if name == "shard_map" and "mesh" in eqn.params:
                inner = {**axes, **{str(k): int(v) for k, v in dict(eqn.params["mesh"].shape).items()}}
            elif name == "xla_pmap":
                size = int(eqn.params.get("global_axis_size", eqn.params.get("axis_size", 1)))
                inner = {**axes, str(eqn.params.get("axis_name")): size}
            elif name in ("psum", "psum_invariant") and axes:
                named = [a for a in eqn.params.get("axes", ()) if isinstance(a, str) and a in axes]
                spans.append(int(np.prod([axes[a] for a in named])) if named else 0)
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub, inner)

    visit(closed.jaxpr, {})
    return spans


def psum_over_devices(
    name: str,
    make: Case,
    *,
    devices: Callable[[], int] | None = None,
    static_argnums: tuple[int, ...] = (),
    key: str = "psum-over-devices",
    description: str | None = None,
    hint: str = (
        "The collective must run over the axis that spans the devices, so that every device"
        " contributes its part."
    ),
) -> Probe:
    """Inside a ``shard_map`` or ``pmap``, a ``psum`` runs over the device axes.

    Passes when some ``psum`` in the answer's jaxpr sums over mesh axes that together span
    ``devices()`` devices (default: every local device). Fails for a ``psum`` over a
    ``jax.vmap`` axis inside the per-device function, a ``psum`` over only part of a 2-D mesh,
    and per-device partial sums added up after the ``shard_map`` (no ``psum`` at all).
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        wanted = devices() if devices is not None else jax.local_device_count()
        spans_of = functools.partial(psum_device_spans, static_argnums=static_argnums)
        spans = answer.call_transformed(f"jax.make_jaxpr({name})", spans_of, fn, *make())
        if not spans:
            _fail(
                f"no psum runs inside a shard_map or pmap of {name}: the per-device results are "
                "combined somewhere else (after the map, on one device)"
            )
        if max(spans) == 0:
            _fail(
                f"the psum(s) inside the shard_map or pmap of {name} name no device axis: a psum "
                "over a jax.vmap axis adds up values on one device, not the devices' results"
            )
        if max(spans) < wanted:
            _fail(
                f"the psum(s) inside the shard_map or pmap of {name} sum over {max(spans)} device(s), "
                f"not over all {wanted}: a psum must name every mesh axis that x is split over"
            )

    return Probe(key, description or f"a psum in {name} sums over the device axis", run, hint)
