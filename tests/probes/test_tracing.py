"""Unit tests of the tracing probes (`purestate/probes/tracing.py`)."""

from __future__ import annotations


import jax

from purestate import probes
from purestate.probes import case
from tests.probes.helpers import AFFINE, affine, verdict


_leaked: list[object] = []


def test_jit_matches_eager_reports_concretization() -> None:
    probe = probes.jit_matches_eager("f", AFFINE)
    assert verdict(probe, affine) is None
    assert "ConcretizationTypeError" in verdict(probe, lambda p, x: x * float(p["scale"]))


def test_traces_once_counts_retraces() -> None:
    cases = [case(v) for v in (1.0, 2.0, 3.0)]
    probe = probes.traces_once("f", cases, static_argnums=(0,))
    assert "traced 3 times" in verdict(probe, lambda v: v * 2)
    assert verdict(probes.traces_once("f", cases), lambda v: v * 2) is None


def test_no_leaked_tracers_sees_a_stashed_tracer() -> None:
    def stashes(params: dict, x: jax.Array) -> jax.Array:
        _leaked.append(x * 2)
        return affine(params, x)

    probe = probes.no_leaked_tracers("f", AFFINE)
    # jit the leaking function once first: the probe must still see a fresh trace
    jax.jit(stashes)(*AFFINE[0]())
    assert verdict(probe, affine) is None
    assert "leaked a tracer" in verdict(probe, stashes)
    _leaked.clear()


def test_keeps_no_tracers_sees_a_tracer_kept_by_the_answers_own_jit() -> None:
    def counts(x: jax.Array) -> int:
        kept = []

        def body(y: jax.Array) -> jax.Array:
            kept.append(None)
            return y * 2

        jax.jit(body)(x)
        return len(kept)

    def stashes(x: jax.Array) -> int:
        kept = []

        def body(y: jax.Array) -> jax.Array:
            kept.append(y)  # the tracer outlives the trace
            return y * 2

        jax.jit(body)(x)
        return len(kept)

    probe = probes.keeps_no_tracers("f", [case(jax.numpy.ones(3))])
    assert verdict(probe, counts) is None
    assert "leaked a tracer" in verdict(probe, stashes)
    assert "ZeroDivisionError" in verdict(probe, lambda x: 1 / 0)


def test_no_leaked_tracers_under_grad_sees_a_tracer_stashed_during_grad() -> None:
    import jax.numpy as jnp

    def stashes(params: dict, x: jax.Array) -> jax.Array:
        _leaked.append(params["scale"] * 2)
        return jnp.sum(affine(params, x))

    def pure(params: dict, x: jax.Array) -> jax.Array:
        return jnp.sum(affine(params, x))

    probe = probes.no_leaked_tracers("f", AFFINE, grad=True)
    assert probe.key == "no-leaked-tracers-under-grad"
    assert verdict(probe, pure) is None
    assert verdict(probe, affine) is None  # a vector output: differentiated through its sum
    assert "jax.grad(f) leaked a tracer" in verdict(probe, stashes)
    _leaked.clear()
    # with respect to x only: params are plain values there, x is traced
    by_position = probes.no_leaked_tracers("f", AFFINE, grad=True, argnums=1)
    assert verdict(by_position, stashes) is None
    _leaked.clear()

    def stashes_x(params: dict, x: jax.Array) -> jax.Array:
        _leaked.append(x)
        return jnp.sum(affine(params, x))

    assert "leaked a tracer" in verdict(by_position, stashes_x)
    _leaked.clear()


def test_a_leak_is_recognised_by_type_or_by_message() -> None:
    from purestate.probes.tracing import is_leak

    assert is_leak(Exception("Leaked trace LinearizeTrace. Leaked tracer(s): ..."))
    assert not is_leak(ValueError("shapes differ"))
    assert probes.no_leaked_tracers("f", AFFINE).hint


def test_donates_argument_sees_the_alias_and_the_deleted_input() -> None:
    import warnings

    import numpy as np

    def write_first(buffer, value):
        return buffer.at[0].set(value)

    cases = [probes.case(np.zeros((8, 4), np.float32), np.ones(4, np.float32))]
    probe = probes.donates_argument("f", cases, 0)
    assert probe.key == "donates-argument"
    donated = jax.jit(write_first, donate_argnums=0)
    assert verdict(probe, donated) is None
    assert verdict(probe, jax.jit(write_first, donate_argnames="buffer")) is None
    assert probes.donated_bytes(donated, *cases[0]()) == 128
    assert "not a jax.jit function" in verdict(probe, write_first)
    assert "reuses 0 bytes" in verdict(probe, jax.jit(write_first))
    nested = jax.jit(lambda b, v: donated(b, v))  # the inner donation does nothing
    assert "reuses 0 bytes" in verdict(probe, nested)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # "Some donated buffers were not usable"
        wrong_one = jax.jit(write_first, donate_argnums=1)
        assert "reuses 0 bytes" in verdict(probe, wrong_one)
    assert cases[0]()[0].shape == (8, 4)  # the case's own arrays are never donated
