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
