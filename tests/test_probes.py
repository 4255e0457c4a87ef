"""Unit tests of the shared probes: each must pass a right answer and fail a wrong one."""

from __future__ import annotations

import dataclasses
import functools

import jax
import jax.numpy as jnp
import pytest

from purestate import probes
from purestate.probes import Answer, Probe, ProbeFailure, case
from purestate.runner import NotAttempted, ReaderError

_leaked: list[object] = []


def verdict(probe: Probe, fn: object, name: str = "f") -> str | None:
    """None when the probe passes, else the failure message."""
    try:
        probe.run(Answer({name: fn}))
    except ProbeFailure as failure:
        return str(failure)
    except ReaderError as error:
        return str(error)
    return None


AFFINE = [case({"scale": jnp.float32(2.0), "shift": jnp.float32(1.0)}, jnp.arange(3.0))]


def affine(params: dict, x: jax.Array) -> jax.Array:
    return x * params["scale"] + params["shift"]


def test_case_gives_fresh_copies() -> None:
    make = case([1, 2])
    first = make()
    first[0].append(3)
    assert make() == ([1, 2],)


def test_matches_reference() -> None:
    probe = probes.matches_reference("f", affine, AFFINE)
    assert verdict(probe, affine) is None
    assert "expected" in verdict(probe, lambda p, x: x * p["scale"])


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


def test_grad_matches_reference() -> None:
    def loss(params: dict, x: jax.Array) -> jax.Array:
        return jnp.sum(affine(params, x) ** 2)

    probe = probes.grad_matches_reference("f", loss, AFFINE)
    assert verdict(probe, loss) is None
    frozen_shift = {"shift": jnp.float32(1.0)}
    assert "gradient" in verdict(probe, lambda p, x: jnp.sum((x * p["scale"] + frozen_shift["shift"]) ** 2))


def test_vmap_matches_loop() -> None:
    probe = probes.vmap_matches_loop("f", [case(jnp.arange(6.0).reshape(2, 3))])
    assert verdict(probe, jnp.sum) is None


def test_no_key_reuse() -> None:
    def reuses(key: jax.Array) -> jax.Array:
        return jax.random.normal(key, (2,)) + jax.random.normal(key, (2,))

    def splits(key: jax.Array) -> jax.Array:
        a, b = jax.random.split(key)
        return jax.random.normal(a, (2,)) + jax.random.normal(b, (2,))

    probe = probes.no_key_reuse("f", [case(jax.random.key(0))])
    assert verdict(probe, splits) is None
    assert "PRNG key twice" in verdict(probe, reuses)


def python_loop_sum(xs: jax.Array) -> jax.Array:
    total = jnp.float32(0)
    for x in xs:
        total = total + x
    return total


def scan_sum(xs: jax.Array) -> jax.Array:
    return jax.lax.scan(lambda carry, x: (carry + x, None), jnp.float32(0), xs)[0]


def test_loop_structure_probes() -> None:
    uses = probes.uses_primitive("f", case(jnp.ones(5)), {"scan", "while"}, description="a loop primitive")
    size = probes.program_size_independent_of_length("f", lambda n: (jnp.ones(n),))
    assert verdict(uses, scan_sum) is None and verdict(size, scan_sum) is None
    assert "no scan or while" in verdict(uses, python_loop_sum)
    assert "unrolled" in verdict(size, python_loop_sum)


def test_a_stub_is_not_attempted() -> None:
    def stub(*args: object) -> None:
        raise NotImplementedError

    with pytest.raises(NotAttempted):
        probes.matches_reference("f", affine, AFFINE).run(Answer({"f": stub}))


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


_counter = {"calls": 0}


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


# State threaded through init/update (probes.fold_*) -----------------------------------


def running_sum_init(shape: tuple[int, ...]) -> dict:
    return {"total": jnp.zeros(shape), "count": jnp.zeros((), jnp.int32)}


def running_sum_update(state: dict, x: jax.Array) -> dict:
    return {"total": state["total"] + x, "count": state["count"] + 1}


def running_sum_drive(init, update, shape, xs):
    state = init(shape)
    means = []
    for x in xs:
        state = update(state, x)
        means.append(state["total"] / state["count"])
    return means


FOLD_CASES = [case((2,), [jnp.array([1.0, 2.0]), jnp.array([3.0, 0.0]), jnp.array([-1.0, 1.0])])]
FOLD_NAMES = ("init", "update")


def fold_verdict(probe: Probe, init: object, update: object) -> str | None:
    try:
        probe.run(Answer({"init": init, "update": update}))
    except ProbeFailure as failure:
        return str(failure)
    return None


def test_fold_matches_reference_sees_hidden_state_under_jit() -> None:
    hidden: dict = {}

    def init_hidden(shape):
        hidden["total"] = jnp.zeros(shape)
        return running_sum_init(shape)

    def update_hidden(state, x):
        hidden["total"] = hidden["total"] + x  # a global: right eagerly, stale under jit
        return {"total": hidden["total"], "count": state["count"] + 1}

    refs = (running_sum_init, running_sum_update)
    eager = probes.fold_matches_reference(FOLD_NAMES, refs, FOLD_CASES, running_sum_drive)
    jitted = probes.fold_matches_reference(FOLD_NAMES, refs, FOLD_CASES, running_sum_drive, jit=("update",))
    assert fold_verdict(eager, running_sum_init, running_sum_update) is None
    assert fold_verdict(jitted, running_sum_init, running_sum_update) is None
    assert fold_verdict(eager, init_hidden, update_hidden) is None
    assert "with jax.jit(update)" in fold_verdict(jitted, init_hidden, update_hidden)


@functools.partial(jax.tree_util.register_dataclass, data_fields=["total"], meta_fields=["count"])
@dataclasses.dataclass(frozen=True)
class StaticCount:
    total: jax.Array
    count: int  # a meta field: part of the tree structure


def test_fold_traces_once_stops_at_the_first_retrace() -> None:
    def init_leaf(shape):
        return {"total": jnp.zeros(shape), "count": 0}  # a Python int leaf is traced

    def init_static(shape):
        return StaticCount(total=jnp.zeros(shape), count=0)

    def update_static(state, x):
        return StaticCount(total=state.total + x, count=state.count + 1)

    def drive_static(init, update, shape, xs):
        state = init(shape)
        for x in xs:
            state = update(state, x)
        return state.total

    probe = probes.fold_traces_once(FOLD_NAMES, FOLD_CASES, running_sum_drive, "update")
    assert fold_verdict(probe, running_sum_init, running_sum_update) is None
    assert fold_verdict(probe, init_leaf, running_sum_update) is None
    retraces = probes.fold_traces_once(FOLD_NAMES, FOLD_CASES, drive_static, "update")
    assert "traced again at call 2 (2 traces)" in fold_verdict(retraces, init_static, update_static)


def test_fold_inputs_unchanged_names_the_call_and_path() -> None:
    def update_in_place(state, x):
        state["total"] = state["total"] + x
        return {"total": state["total"], "count": state["count"] + 1}

    probe = probes.fold_inputs_unchanged(FOLD_NAMES, FOLD_CASES, running_sum_drive)
    assert fold_verdict(probe, running_sum_init, running_sum_update) is None
    message = fold_verdict(probe, running_sum_init, update_in_place)
    assert "call 1 of update changed its argument `state`: at ['total']" in message


def test_leaves_are_arrays_rejects_python_numbers_and_opaque_objects() -> None:
    import dataclasses

    @dataclasses.dataclass
    class Unregistered:
        total: jax.Array

    cases = [case((3,))]
    probe = probes.leaves_are_arrays("f", cases)
    assert verdict(probe, lambda shape: {"total": jnp.zeros(shape), "count": jnp.int32(0)}) is None
    message = verdict(probe, lambda shape: {"total": jnp.zeros(shape), "count": 0})
    assert "an int at ['count']" in message
    assert "not an array" in verdict(probe, lambda shape: Unregistered(jnp.zeros(shape)))
    assert "without leaves" in verdict(probe, lambda shape: {})


def test_from_answer_builds_cases_from_the_readers_class() -> None:
    import dataclasses

    @jax.tree_util.register_dataclass
    @dataclasses.dataclass(frozen=True)
    class Point:
        x: jax.Array

    def cases_for(answer: Answer) -> list:
        return [lambda: (answer.call("Point", x=jnp.arange(3.0)),)]

    probe = probes.from_answer(
        "doubles", "f doubles a point",
        lambda answer: probes.matches_reference(
            "f", lambda p: answer.call("Point", x=p.x * 2), cases_for(answer)
        ),
    )
    assert probe.key == "doubles"
    right = Answer({"Point": Point, "f": lambda p: Point(x=p.x * 2)})
    wrong = Answer({"Point": Point, "f": lambda p: Point(x=p.x + 2)})
    probe.run(right)
    with pytest.raises(ProbeFailure, match=r"at \.x"):
        probe.run(wrong)

    def stub(**kwargs: object) -> None:
        raise NotImplementedError

    with pytest.raises(NotAttempted):
        probe.run(Answer({"Point": stub, "f": lambda p: p}))


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


def _walk_carrying_key(key: jax.Array, n: int) -> jax.Array:
    def step(carry: tuple, _: None) -> tuple:
        key, position = carry
        key, subkey = jax.random.split(key)
        position = position + jnp.where(jax.random.bernoulli(subkey), 1, -1)
        return (key, position), position

    return jax.lax.scan(step, (key, 0), length=n)[1]


def _walk_over_split_keys(key: jax.Array, n: int) -> jax.Array:
    def step(position: jax.Array, subkey: jax.Array) -> tuple:
        position = position + jnp.where(jax.random.bernoulli(subkey), 1, -1)
        return position, position

    return jax.lax.scan(step, 0, jax.random.split(key, n))[1]


def _walk_key_passed_through(key: jax.Array, n: int) -> jax.Array:
    def step(carry: tuple, _: None) -> tuple:
        key, position = carry  # the key goes back unchanged: it is a constant, not state
        position = position + jnp.where(jax.random.bernoulli(jax.random.fold_in(key, position)), 1, -1)
        return (key, position), position

    return jax.lax.scan(step, (key, 0), length=n)[1]


def _walk_while_loop(key: jax.Array, n: int) -> jax.Array:
    def body(carry: tuple) -> tuple:
        i, key, positions = carry
        key, subkey = jax.random.split(key)
        step = jnp.where(jax.random.bernoulli(subkey), 1, -1)
        return i + 1, key, positions.at[i].set(positions[i - 1] * (i > 0) + step)

    return jax.lax.while_loop(lambda c: c[0] < n, body, (0, key, jnp.zeros(n, jnp.int32)))[2]


def test_loop_carry_avals_lists_what_the_body_updates() -> None:
    loops = probes.loop_carry_avals(_walk_carrying_key, jax.random.key(0), 4, static_argnums=(1,))
    assert [[probes.is_prng_key(a) for a in avals] for avals in loops] == [[True, False]]
    passed_through = probes.loop_carry_avals(_walk_key_passed_through, jax.random.key(0), 4, static_argnums=(1,))
    assert not any(probes.is_prng_key(a) for avals in passed_through for a in avals)


def test_loop_carries_finds_a_key_in_scan_and_while_carries() -> None:
    probe = probes.loop_carries(
        "f", lambda: (jax.random.key(0), 4), probes.is_prng_key, what="a PRNG key",
        static_argnums=(1,), description="d",
    )
    assert verdict(probe, _walk_carrying_key) is None
    assert verdict(probe, _walk_while_loop) is None
    assert "no loop in f carries a PRNG key" in verdict(probe, _walk_over_split_keys)
    assert "no loop in f carries a PRNG key" in verdict(probe, _walk_key_passed_through)
    no_loop = verdict(probe, lambda key, n: jnp.cumsum(jax.random.randint(key, (n,), 0, 2)))
    assert "contains no loop" in no_loop



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


_GLOBAL_KEY = {"key": jax.random.key(0)}


def test_globals_unchanged_reads_a_global_prng_key() -> None:
    def replaces_global_key(x: jax.Array) -> jax.Array:
        _GLOBAL_KEY["key"], sub = jax.random.split(_GLOBAL_KEY["key"])
        return x + jax.random.normal(sub)

    probe = probes.globals_unchanged("f", [case(jnp.float32(1.0))])
    assert verdict(probe, lambda x: x + 1) is None
    assert verdict(probe, replaces_global_key) is not None
