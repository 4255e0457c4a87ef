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


def test_a_donated_key_leaves_the_cases_key_alive() -> None:
    # A typed key's copy wraps a copy of its data: key_data is a view of the key's buffer.
    make = case(jax.random.key(3))
    (given,) = make()
    jax.jit(lambda key: jax.random.fold_in(key, 1), donate_argnums=0)(given)  # deletes `given`
    (again,) = make()
    assert given.is_deleted() and not again.is_deleted() and int(jax.random.key_data(again)[1]) == 3


def test_shared_runs_once_per_check_and_replays_an_error() -> None:
    runs: list[str] = []

    def record(answer: Answer) -> int:
        runs.append("ran")
        return runs.count("ran")

    def broken(answer: Answer) -> int:
        runs.append("broken")
        raise ValueError("the reader's step failed")

    answer = Answer({"f": affine})
    assert answer.shared(record) == answer.shared(record) == 1
    for _ in range(2):
        with pytest.raises(ValueError, match="step failed"):
            answer.shared(broken)
    assert runs == ["ran", "broken"]
    assert Answer({"f": affine}).shared(record) == 2  # a new check runs it again


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


@probes.reference
def _reference_scale(x: jax.Array, factor: float = 2.0) -> jax.Array:
    """Scaled x."""
    return x * factor


def test_reference_marks_and_keeps_a_plain_callable() -> None:
    import functools
    import inspect

    import jax.numpy as jnp

    from purestate.probes.core import course_object_name

    assert _reference_scale.__purestate_reference__ is True
    assert _reference_scale.__name__ == "_reference_scale" and _reference_scale.__doc__ == "Scaled x."
    assert list(inspect.signature(_reference_scale).parameters) == ["x", "factor"]
    assert float(jax.grad(_reference_scale)(jnp.float32(1.0))) == 2.0
    assert float(jax.jit(_reference_scale)(jnp.float32(1.0))) == 2.0
    assert not hasattr(_reference_scale, "__wrapped__")
    for wrapped in (_reference_scale, jax.jit(_reference_scale), functools.partial(_reference_scale, factor=3.0)):
        assert course_object_name(wrapped) == "tests.probes.test_core._reference_scale"

    class Marked:
        pass

    assert probes.reference(Marked) is Marked and Marked.__purestate_reference__ is True


def test_a_reference_is_refused_only_when_the_readers_code_calls_it() -> None:
    import jax.numpy as jnp

    cases = [case(jnp.arange(3.0))]
    probe = probes.matches_reference("f", _reference_scale, cases)
    assert verdict(probe, lambda x: x * 2) is None  # the probe's own calls work
    message = verdict(probe, lambda x: _reference_scale(x))
    assert message and "calls tests.probes.test_core._reference_scale" in message
    assert "write your own" in message
    # outside a check, anyone may call it
    assert float(_reference_scale(jnp.float32(2.0))) == 4.0


def test_a_readers_not_implemented_error_is_not_a_stub() -> None:
    from purestate.runner import ReaderError

    def partial_answer(*args: object) -> None:
        if len(args) > 1:
            raise NotImplementedError("only one argument for now")

    with pytest.raises(ReaderError, match="only one argument for now"):
        probes.matches_reference("f", affine, AFFINE).run(Answer({"f": partial_answer}))


def test_signature_text_names_only_parameters_that_take_the_arguments() -> None:
    def named(params, x):
        return x

    def variadic(*args, **kwargs):
        return args

    assert probes.signature_text("predict", named, (1, 2)) == "predict(params=1, x=2)"
    assert probes.signature_text("predict", variadic, (1, 2)) == "predict(1, 2)"
