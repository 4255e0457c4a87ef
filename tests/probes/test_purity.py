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


def test_inputs_unchanged_ignores_the_arguments_meant_to_change() -> None:
    probe = probes.inputs_unchanged("f", [case({"n": 1}, [0])], ignore=(1,))

    def writes_out(params: dict, out: list) -> None:
        out[0] = params["n"]

    def writes_params(params: dict, out: list) -> None:
        out[0] = params["n"]
        params["n"] = 2

    assert verdict(probe, writes_out) is None
    assert "`params`" in verdict(probe, writes_params)
    assert "`out`" in verdict(probes.inputs_unchanged("f", [case({"n": 1}, [0])]), writes_out)


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


# What the fingerprint must see beyond plain globals -------------------------------------

import array
import collections
import functools
import itertools

_CASES = [case(jnp.float32(1.0))]
_deque: collections.deque = collections.deque(maxlen=100)
_tally: collections.Counter = collections.Counter()
_by_key: collections.defaultdict = collections.defaultdict(list)
_samples = array.array("d")
_buffer = bytearray()
_ids = iter(range(10**6))
_labels = map("item-{}".format, itertools.count())
_numbered = enumerate(iter(range(10**6)))
_untouched = iter(range(5))
_seen: set = set()


class _Counter:
    n = 0

    def bump(self) -> None:
        type(self).n += 1


class _Slotted:
    __slots__ = ("count",)

    def __init__(self) -> None:
        self.count = 0


class _Box:
    def __init__(self) -> None:
        self.inner = {"items": [_Slotted()]}


_deep = {"boxes": [_Box()]}
_slotted = _Slotted()


def _helper_that_counts(x: jax.Array) -> jax.Array:
    _tally["helper"] += 1
    return x * 2


def _pure_helper(x: jax.Array) -> jax.Array:
    return x * 2


_jitted_helper = jax.jit(_pure_helper)


def _failure(fn: object) -> str | None:
    return verdict(probes.globals_unchanged("f", _CASES), fn)


def test_globals_unchanged_sees_attributes_of_the_function_itself() -> None:
    def counts_on_itself(x: jax.Array) -> jax.Array:
        counts_on_itself.calls = getattr(counts_on_itself, "calls", 0) + 1
        return x + 1

    def updates_its_dict(x: jax.Array) -> jax.Array:
        updates_its_dict.__dict__.setdefault("log", []).append(1)
        return x + 1

    assert "the function `" in _failure(counts_on_itself) and "itself" in _failure(counts_on_itself)
    assert "`log`" in _failure(updates_its_dict)


def test_globals_unchanged_sees_class_attributes() -> None:
    def bumps_class(x: jax.Array) -> jax.Array:
        _Counter.n += 1
        return x + 1

    def bumps_through_instance(x: jax.Array) -> jax.Array:
        _Counter().bump()
        return x + 1

    assert "the class attribute `_Counter.n`" in _failure(bumps_class)
    assert "_Counter.n" in _failure(bumps_through_instance)


def test_globals_unchanged_sees_containers_by_content() -> None:
    def to_deque(x: jax.Array) -> jax.Array:
        _deque.append(1)
        return x

    def to_counter(x: jax.Array) -> jax.Array:
        _tally["calls"] += 1
        return x

    def to_defaultdict(x: jax.Array) -> jax.Array:
        _by_key["a"].append(1)
        return x

    def to_array(x: jax.Array) -> jax.Array:
        _samples.append(1.0)
        return x

    def to_bytearray(x: jax.Array) -> jax.Array:
        _buffer.extend(b"x")
        return x

    def to_set(x: jax.Array) -> jax.Array:
        _seen.add(len(_seen))
        return x

    for fn, name in [(to_deque, "_deque"), (to_counter, "_tally"), (to_defaultdict, "_by_key"),
                     (to_array, "_samples"), (to_bytearray, "_buffer"), (to_set, "_seen")]:
        assert f"the global `{name}`" in (_failure(fn) or ""), name


def test_globals_unchanged_sees_iterators_move_on() -> None:
    def from_range(x: jax.Array) -> jax.Array:
        next(_ids)
        return x

    def from_map(x: jax.Array) -> jax.Array:
        next(_labels)
        return x

    def from_enumerate(x: jax.Array) -> jax.Array:
        next(_numbered)
        return x

    assert "the global `_ids`" in (_failure(from_range) or "")
    assert "the global `_labels`" in (_failure(from_map) or "")
    assert "the global `_numbered`" in (_failure(from_enumerate) or "")
    assert _failure(lambda x: x if _untouched is not None else -x) is None  # named, not advanced


def test_globals_unchanged_sees_objects_at_any_depth_and_slots() -> None:
    def deep(x: jax.Array) -> jax.Array:
        _deep["boxes"][0].inner["items"][0].count += 1
        return x

    def slots(x: jax.Array) -> jax.Array:
        _slotted.count += 1
        return x

    assert "the global `_deep`" in _failure(deep)
    assert "the global `_slotted`" in _failure(slots)


def test_globals_unchanged_follows_the_functions_it_calls() -> None:
    def calls_helper(x: jax.Array) -> jax.Array:
        return _helper_that_counts(x)

    def make_closure() -> object:
        helper = _helper_that_counts

        def through_closure(x: jax.Array) -> jax.Array:
            return helper(x)

        return through_closure

    assert "the global `_tally`" in _failure(calls_helper)
    assert "the global `_tally`" in _failure(make_closure())


def test_globals_unchanged_looks_through_partials_methods_and_callable_objects() -> None:
    class Model:
        def __init__(self) -> None:
            self.calls = 0

        def __call__(self, x: jax.Array) -> jax.Array:
            self.calls += 1
            return x

        def apply(self, x: jax.Array) -> jax.Array:
            self.calls += 1
            return x

    def with_log(log: list, x: jax.Array) -> jax.Array:
        log.append(x)
        return x

    assert "`f`" in _failure(Model())
    assert "method of" in _failure(Model().apply)
    assert "functools.partial" in _failure(functools.partial(with_log, []))
    assert _failure(functools.partial(lambda scale, x: x * scale, 2.0)) is None


def test_globals_unchanged_accepts_jitted_answers_and_jitted_helpers() -> None:
    @jax.jit
    def jitted(x: jax.Array) -> jax.Array:
        return _pure_helper(x) + 1

    def calls_jitted(x: jax.Array) -> jax.Array:
        return _jitted_helper(x) + jnp.sum(x)

    jitted(jnp.float32(0.0))  # a cached trace: the jit caches fill up between snapshots
    assert _failure(jitted) is None
    assert _failure(calls_jitted) is None
    assert _failure(jax.jit(calls_jitted)) is None
    assert _failure(functools.partial(jax.jit(_pure_helper))) is None


def test_globals_unchanged_sees_a_mutable_default() -> None:
    def remembers(x: jax.Array, seen: list = []) -> jax.Array:  # noqa: B006
        seen.append(1)
        return x

    assert "the default values of" in _failure(remembers)


def test_every_purity_probe_has_a_default_hint() -> None:
    cases = [case(1)]
    for probe in (probes.inputs_unchanged("f", cases), probes.deterministic("f", cases),
                  probes.returns_fresh_object("f", cases), probes.globals_unchanged("f", cases)):
        assert probe.hint, probe.key


def test_globals_unchanged_looks_through_library_decorators() -> None:
    @jax.checkpoint
    def remat(x: jax.Array) -> jax.Array:
        _tally["remat"] += 1
        return x * 2

    @jax.checkpoint
    def remat_again(x: jax.Array) -> jax.Array:  # a trace of its own: jax.checkpoint caches traces
        _tally["remat"] += 1
        return x * 2

    def calls_remat(x: jax.Array) -> jax.Array:
        return remat_again(x)

    assert "the global `_tally`" in (_failure(remat) or "")
    assert "the global `_tally`" in (_failure(calls_remat) or "")


count_by_name = 0


def test_globals_unchanged_sees_globals_changed_by_name_and_the_global_generators() -> None:
    import random

    import numpy as np

    def through_globals(x: jax.Array) -> jax.Array:
        globals()["count_by_name"] += 1
        return x

    def seeds_numpy(x: jax.Array) -> jax.Array:
        np.random.seed(int(np.random.randint(1000)))
        return x

    def draws_python(x: jax.Array) -> jax.Array:
        return x + random.random() * 0

    assert "the global `count_by_name`" in (_failure(through_globals) or "")
    assert "random state of NumPy" in (_failure(seeds_numpy) or "")
    assert "random module" in (_failure(draws_python) or "")
    assert _failure(lambda x: jax.random.normal(jax.random.key(0)) + x) is None


def test_doctor_silent_names_the_first_finding() -> None:
    probe = probes.doctor_silent("f", [case(jnp.arange(3.0))])
    seen: list = []

    def keeps_inputs(x: jax.Array) -> jax.Array:
        seen.append(x)
        return x * 2.0

    assert verdict(probe, lambda x: x * 2.0) is None
    found = verdict(probe, keeps_inputs)
    assert found is not None and found.startswith("the doctor reports writes-outside:"), found


def test_globals_unchanged_sees_jax_settings_and_the_runner_puts_them_back() -> None:
    from purestate.runner import run_with_time_limit

    probe = probes.globals_unchanged("f", [case(jnp.float32(1.0), jnp.float32(2.0))])

    def turns_on_x64(value: jax.Array, increment: jax.Array) -> jax.Array:
        jax.config.update("jax_enable_x64", True)  # "double precision": for the whole process
        return value + increment

    before = jax.config.jax_enable_x64
    try:
        found = run_with_time_limit(lambda: verdict(probe, turns_on_x64), 60.0)
        assert found is not None and "the JAX setting `jax_enable_x64`" in found
        assert jax.config.jax_enable_x64 == before  # put back after the probe
        run_with_time_limit(lambda: verdict(probe, turns_on_x64), 60.0)  # idempotent: seen again
        assert jax.config.jax_enable_x64 == before
    finally:
        jax.config.update("jax_enable_x64", before)
