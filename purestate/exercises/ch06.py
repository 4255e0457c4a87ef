"""Chapter 6 · Explicit state: exercises 6.1–6.3."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.compare import mismatch, short
from purestate.probes import Answer, Case, Probe, ProbeFailure, case
from purestate.registry import Exercise, register


def _all_of(key: str, description: str, builders: Sequence[Callable[[Answer], Probe]], hint: str = "") -> Probe:
    """One probe that runs several, each built from the answer (e.g. one per function)."""

    def run(answer: Answer) -> None:
        for build in builders:
            build(answer).run(answer)

    return Probe(key, description, run, hint)


# Per probe. A call of the reader's code costs a few milliseconds of bookkeeping, and a fold
# makes dozens: well under 1 s on an idle machine, several seconds on a busy one, so the
# default 5 s would report busy machines as endless loops.
TIME_LIMIT_S = 15.0

# 6.1 ---------------------------------------------------------------------------------
# A running mean and population variance. The reader's state is any pytree of arrays, so
# the probes thread it through stats_init / stats_update / stats_result together (the
# shared fold probes) and compare only what stats_result returns.

_rng = np.random.default_rng(6)
_VECTORS = _rng.normal(2.0, 1.5, size=(6, 3)).round(3).astype(np.float32)
_MATRICES = _rng.normal(-1.0, 0.5, size=(3, 2, 2)).round(3).astype(np.float32)
_OTHER_VECTORS = _rng.normal(0.0, 3.0, size=(4, 3)).round(3).astype(np.float32)
_SCALARS = _rng.normal(0.5, 1.0, size=(3,)).round(3).astype(np.float32)
# 300 updates: a count kept as int8 wraps after 127, as uint8 after 255, as bfloat16 stops at 256.
_MANY = _rng.normal(0.5, 2.0, size=(300, 2)).round(3).astype(np.float32)
_MANY_AT = (1, 2, 127, 128, 129, 255, 256, 257, 300)
# Readings around 10,000 with a spread of 1: in float32, sum_sq / n - mean**2 subtracts two
# numbers near 1e8 whose float32 spacing is 8, so the variance it gives is off by tens of
# units (measured: 60 times the true value); Welford's update, or sums of x - (a first
# reading), stay within 0.05 % (measured), far inside the 1 % allowed.
_LARGE_MEAN = (1.0e4 + _rng.normal(0.0, 1.0, size=(100, 4))).astype(np.float32)
_LARGE_MEAN_AT = (2, 10, 50, 100)

STATS_NAMES = ("stats_init", "stats_update", "stats_result")


@probes.reference
def reference_stats_init(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {"n": np.zeros(()), "sum": np.zeros(shape), "sum_sq": np.zeros(shape)}


@probes.reference
def reference_stats_update(state: dict[str, np.ndarray], x: Any) -> dict[str, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    return {"n": state["n"] + 1, "sum": state["sum"] + x, "sum_sq": state["sum_sq"] + x * x}


@probes.reference
def reference_stats_result(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    # float64 sums of float32 readings: exact enough for the readings near 10,000 too.
    mean = state["sum"] / state["n"]
    return mean.astype(np.float32), (state["sum_sq"] / state["n"] - mean**2).astype(np.float32)


STATS_REFERENCES = (reference_stats_init, reference_stats_update, reference_stats_result)


def drive_running_stats(init, update, result, shape, xs):
    """One state through every x: (mean, var) after each update."""
    state = init(shape)
    seen = {}
    for step, x in enumerate(xs, start=1):
        state = update(state, x)
        seen[f"update {step}"] = result(state)
    return seen


def drive_checkpoints(init, update, result, shape, xs, at):
    """One state through every x: (mean, var) after the updates numbered in ``at``."""
    state = init(shape)
    seen = {}
    for step, x in enumerate(xs, start=1):
        state = update(state, x)
        if step in at:
            seen[f"update {step}"] = result(state)
    return seen


def drive_two_streams(init, update, result, shape, xs, ys):
    """Two states from init, updated in alternation: neither may see the other's inputs."""
    first, second = init(shape), init(shape)
    seen = {}
    for step, (x, y) in enumerate(zip(xs, ys), start=1):
        first = update(first, x)
        seen[f"first state, update {step}"] = result(first)
        second = update(second, y)
        seen[f"second state, update {step}"] = result(second)
    return seen


STATS_CASES = (case((3,), list(_VECTORS)), case((2, 2), list(_MATRICES)), case((), list(_SCALARS)))
STATS_JIT_CASES = (case((3,), list(_VECTORS)),)
TWO_STREAM_CASES = (case((3,), list(_VECTORS[:4]), list(_OTHER_VECTORS)),)
MANY_CASES = (case((2,), list(_MANY), _MANY_AT),)
LARGE_MEAN_CASES = (case((4,), list(_LARGE_MEAN), _LARGE_MEAN_AT),)


def _stats_state(answer: Answer, updates: int = 0) -> Any:
    """A state made by the reader's own functions, after ``updates`` vectors."""
    state = answer.call("stats_init", (3,))
    for x in _VECTORS[:updates]:
        state = answer.call("stats_update", state, x)
    return state


# A state of a few numbers per element: Welford's count, mean and m2 hold 2 per element and
# one more, sums from a first reading 3 and one more. 8 per element (and 8 more) leaves room
# for any such state; a buffer of the past vectors, sized to outlast the check's 300
# updates, holds hundreds.
_STATE_NUMBERS_PER_ELEMENT = 8


def _stats_state_size(answer: Answer) -> None:
    for shape in ((3,), (2, 2), ()):
        state = answer.call("stats_init", shape)
        total = sum(int(np.size(leaf)) for leaf in jax.tree.leaves(state))
        size = int(np.prod(shape))
        if total > _STATE_NUMBERS_PER_ELEMENT * (size + 1):
            raise ProbeFailure(
                f"stats_init({shape}) holds {total} numbers for vectors of {size} element(s): the "
                "state should hold a few numbers per element (a count, a mean, a sum of squares), "
                "not a history of the vectors, which runs out on a long stream"
            )


def _stats_state_width(answer: Answer) -> None:
    """Every number of the state, before and after an update, has at least 32 bits.

    300 updates cannot show an int16 count wrapping (after 32,767 vectors), and a stream long
    enough to show it costs too much: the task text asks for 32 bits, and the dtypes are read.
    """
    for updates in (0, 1):
        state = _stats_state(answer, updates)
        for path, leaf in jax.tree_util.tree_leaves_with_path(state):
            dtype = np.dtype(getattr(leaf, "dtype", None) or np.asarray(leaf).dtype)
            numeric = jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)
            if numeric and dtype.itemsize < 4:
                where = "stats_init" if updates == 0 else "stats_update"
                raise ProbeFailure(
                    f"the state from {where} holds {jax.tree_util.keystr(path) or 'its leaf'} as {dtype}: "
                    "every number of the state needs at least 32 bits (an int16 count wraps after "
                    "32,767 vectors, a float16 mean keeps about three digits)"
                )


def _stats_side_effects(answer: Answer) -> list[Probe]:
    return [
        probes.globals_unchanged("stats_init", (case((5,)),)),  # a shape no earlier probe used
        probes.globals_unchanged("stats_update", (lambda: (_stats_state(answer), _VECTORS[0]),)),
        probes.globals_unchanged("stats_result", (lambda: (_stats_state(answer, 2),),)),
    ]


register(Exercise(
    id="6.1",
    signature="stats_init(shape), stats_update(state, x), stats_result(state)",
    objects=STATS_NAMES,
    probes=(
        probes.leaves_are_arrays(
            "stats_init", (case((3,)), case((2, 2)), case(())),
            key="state-is-arrays",
            description="stats_init returns a pytree whose leaves are all arrays",
            hint="Every piece of the state, the count included, is a JAX array (jnp.zeros, jnp.int32(0)).",
        ),
        Probe(
            "state-size", "the state holds a few numbers per element, no history of the vectors",
            _stats_state_size,
            hint="Keep running quantities (a count, a mean, a sum of squared deviations), not the vectors themselves.",
        ),
        probes.fold_matches_reference(
            STATS_NAMES, STATS_REFERENCES, STATS_CASES, drive_running_stats,
            rtol=1e-4, atol=1e-5,
            description="after every update, stats_result gives the mean and population variance so far",
            hint=(
                "Check the shapes (the vectors can have any shape, even ()) and the variance: the "
                "population variance divides by the count, not by the count minus one."
            ),
        ),
        probes.fold_inputs_unchanged(
            STATS_NAMES, STATS_CASES[:1], drive_running_stats,
            key="state-unchanged",
            description="no call changes the state (or the vector) it is given",
            hint="Build a new state and return it; never assign into the one you were given.",
        ),
        probes.fold_matches_reference(
            STATS_NAMES, STATS_REFERENCES, TWO_STREAM_CASES, drive_two_streams,
            rtol=1e-4, atol=1e-5,
            key="independent-states",
            description="two states updated in alternation stay independent",
            hint="Everything stats_update needs is in the state it is given: nothing lives outside it.",
        ),
        probes.fold_matches_reference(
            STATS_NAMES, STATS_REFERENCES, STATS_JIT_CASES, drive_running_stats,
            jit=("stats_update",), rtol=1e-4, atol=1e-5,
            key="jit-fold-matches-reference",
            description="jax.jit(stats_update), fed its own output state, gives the same results",
            hint="Under jit the state's values are tracers: no int(), float() or Python if on them.",
        ),
        probes.fold_traces_once(
            STATS_NAMES, STATS_JIT_CASES, drive_running_stats, "stats_update",
            key="traces-once",
            description="jax.jit(stats_update) traces once over six updates",
            hint=(
                "The state stats_update returns must have the structure, shapes, dtypes and weak "
                "types of the one it was given: no static field that changes, no dtype that drifts."
            ),
        ),
        probes.scanned_fold_matches(
            "stats_init", "stats_update", lambda answer: answer.stats_result,
            lambda shape, xs, at: drive_checkpoints(*STATS_REFERENCES, shape, xs, at),
            MANY_CASES, label="update", rtol=1e-4, atol=1e-5,
            key="many-updates",
            description="after 300 updates under jax.jit, the mean and variance are still right",
            hint="Count in a type that holds 300 and more: int8 wraps after 127, uint8 after 255.",
        ),
        probes.scanned_fold_matches(
            "stats_init", "stats_update", lambda answer: answer.stats_result,
            lambda shape, xs, at: drive_checkpoints(*STATS_REFERENCES, shape, xs, at),
            LARGE_MEAN_CASES, label="update", rtol=1e-2, atol=1e-3,
            key="large-mean",
            description="for readings near 10,000 with a spread of 1, the variance is right within 1 %",
            hint=(
                "In float32, sum_sq / n - mean**2 subtracts two nearly equal numbers near 1e8. "
                "Keep the sum of squared deviations from the running mean instead (Welford's update)."
            ),
        ),
        _all_of(
            "globals-unchanged",
            "stats_init, stats_update and stats_result change no global, attribute or closed-over variable",
            [lambda answer, i=i: _stats_side_effects(answer)[i] for i in range(3)],
            hint="Keep nothing outside the state: no history list, no call counter, no cache.",
        ),
        probes.from_answer(
            "no-leaked-tracers",
            "jax.jit(stats_update) leaks no tracer",
            lambda answer: probes.no_leaked_tracers("stats_update", (lambda: (_stats_state(answer), _VECTORS[0]),)),
            hint="Under jit the values are tracers: do not keep them in a global or an attribute.",
        ),
        Probe(
            "state-width", "every number of the state has at least 32 bits",
            _stats_state_width,
            hint="Keep the count in int32 (or uint32) and the mean and sums in float32: narrower types wrap or lose digits on a long stream.",
        ),
    ),
    hints=(
        (
            "The state holds just enough to compute the mean and the variance later: a count and "
            "one or two arrays of `shape`, all as JAX arrays in a NamedTuple, a dict or a "
            "registered dataclass. stats_update returns a new state."
        ),
        (
            "Welford's update keeps the count, the mean and m2, the sum of squared deviations "
            "from the mean: with delta = x - mean, the new mean moves by delta / count, and m2 "
            "grows by delta times (x - new mean). The population variance is m2 / count."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))

# 6.2 ---------------------------------------------------------------------------------
# The reader's class makes the arguments, so the shared probes are built per answer
# (probes.from_answer) from cases that call the reader's Particle with keyword arguments.

_PARTICLE_VALUES = (
    (np.array([0.0, 1.0, 2.0], np.float32), np.array([1.0, -0.5, 0.25], np.float32), 0.1),
    (np.array([3.0, -1.0, 0.5], np.float32), np.array([0.0, 2.0, -4.0], np.float32), 0.5),
    (np.array([-2.0, 0.0, 8.0], np.float32), np.array([1.5, 1.5, -1.5], np.float32), 0.25),
)
# Other shapes and a dt given as an array: nothing about the particle's size is fixed. A dt
# of four decimals: one rounded (to a percent, to float16) misses.
_OTHER_PARTICLES = (
    (np.array([[0.5, -1.0], [2.0, 0.3]], np.float32), np.array([[0.2, 0.4], [-1.1, 3.0]], np.float32), 0.3137),
    (np.array(1.7, np.float32), np.array(-0.6, np.float32), np.float32(2.5)),
)


# For the globals probe: values no earlier probe passed (same shapes, so nothing new to
# compile), so that a cache keyed by the arguments, filled by earlier calls, still changes.
_FRESH_PARTICLES = (
    (np.array([0.5, -1.5, 4.0], np.float32), np.array([-2.0, 0.75, 1.0], np.float32), 0.75),
    # A shape and a dt no earlier probe used: a record keyed by them looks unchanged otherwise.
    (np.array([0.5, -1.5, 4.0, 2.0], np.float32), np.array([-2.0, 0.75, 1.0, 0.5], np.float32), 0.625),
)


def _particle(answer: Answer, position: Any, velocity: Any) -> Any:
    return answer.call("Particle", position=jnp.asarray(position), velocity=jnp.asarray(velocity))


def particle_cases(answer: Answer, values: Sequence[tuple[Any, Any, Any]] = _PARTICLE_VALUES) -> tuple[Case, ...]:
    """(Particle(position=…, velocity=…), dt) tuples made with the reader's class."""
    return tuple(
        (lambda pos=pos, vel=vel, dt=dt: (_particle(answer, pos, vel), dt))
        for pos, vel, dt in values
    )


def all_particle_cases(answer: Answer) -> tuple[Case, ...]:
    return particle_cases(answer, _PARTICLE_VALUES + _OTHER_PARTICLES)


def reference_step_for(answer: Answer):
    @probes.reference
    def reference_step(p: Any, dt: float) -> Any:
        position = jnp.asarray(p.position) + dt * jnp.asarray(p.velocity)
        return answer.call("Particle", position=position, velocity=p.velocity)

    return reference_step


def _is_dataclass(answer: Answer) -> None:
    _particle(answer, *_PARTICLE_VALUES[0][:2])  # the constructor takes keyword arguments
    cls = answer.Particle
    if not (isinstance(cls, type) and dataclasses.is_dataclass(cls)):
        raise ProbeFailure(
            f"Particle is {short(cls)}, not a dataclass: decorate the class with @dataclasses.dataclass"
        )
    names = {field.name for field in dataclasses.fields(cls)}
    missing = sorted({"position", "velocity"} - names)
    if missing:
        raise ProbeFailure(f"Particle has no field(s) {missing}; its fields are {sorted(names)}")


def _position_and_velocity_are_leaves(answer: Answer) -> None:
    position, velocity = _PARTICLE_VALUES[0][:2]
    particle = _particle(answer, position, velocity)
    leaves = jax.tree.leaves(particle)
    if len(leaves) != 2:
        raise ProbeFailure(
            f"jax.tree.leaves(Particle(position=…, velocity=…)) has {len(leaves)} leaf/leaves, "
            f"expected 2 (position and velocity): {short(leaves)}. Register the dataclass as a "
            "pytree (jax.tree_util.register_dataclass), with both fields as data fields"
        )
    doubled = jax.tree.map(lambda leaf: leaf * 2, particle)
    if type(doubled) is not type(particle):
        raise ProbeFailure(f"jax.tree.map over a Particle returned {short(doubled)}, not a Particle")
    for field, value in (("position", position), ("velocity", velocity)):
        found = mismatch(2 * value, getattr(doubled, field, None))
        if found:
            raise ProbeFailure(f"jax.tree.map(lambda leaf: leaf * 2, particle).{field}: {found}")


register(Exercise(
    id="6.2",
    signature="Particle, step(p, dt)",
    objects=("Particle", "step"),
    probes=(
        Probe(
            "is-dataclass", "Particle is a dataclass with fields position and velocity", _is_dataclass,
            hint="Particle is a class decorated with @dataclasses.dataclass, with the two fields by these names.",
        ),
        Probe(
            "is-pytree",
            "position and velocity are the leaves of a Particle (a registered pytree)",
            _position_and_velocity_are_leaves,
            hint="Register the dataclass as a pytree, with both fields as data fields (arrays are never static).",
        ),
        probes.from_answer(
            "matches-reference",
            "step returns a new Particle with position + dt * velocity, velocity unchanged",
            lambda answer: probes.matches_reference("step", reference_step_for(answer), all_particle_cases(answer)),
            hint="Only the position moves, by dt times the velocity; the result is a Particle again.",
        ),
        probes.from_answer(
            "inputs-unchanged",
            "step leaves the particle it is given unchanged",
            lambda answer: probes.inputs_unchanged("step", all_particle_cases(answer)),
            hint="Return a new Particle; never assign to a field of the one you were given.",
        ),
        probes.from_answer(
            "returns-new-object",
            "step returns a new Particle",
            lambda answer: probes.returns_fresh_object("step", particle_cases(answer)),
            hint="Return a new Particle; never assign to a field of the one you were given.",
        ),
        probes.from_answer(
            "jit-matches-eager",
            "jax.jit(step) returns what step returns",
            lambda answer: probes.jit_matches_eager("step", all_particle_cases(answer)),
            hint="jax.jit can only take a Particle that is a registered pytree of arrays.",
        ),
        probes.from_answer(
            "traces-once",
            "jax.jit(step) traces once for particles with new values",
            lambda answer: probes.traces_once("step", particle_cases(answer)),
            hint="A static field is part of the jit cache key: position and velocity must be data fields.",
        ),
        probes.from_answer(
            "globals-unchanged",
            "step changes no global, attribute or closed-over variable",
            lambda answer: probes.globals_unchanged("step", particle_cases(answer, _FRESH_PARTICLES)),
            hint="Keep nothing outside the particle: no trajectory list, no step counter.",
        ),
        probes.from_answer(
            "no-leaked-tracers",
            "jax.jit(step) leaks no tracer",
            lambda answer: probes.no_leaked_tracers("step", particle_cases(answer)[:1]),
            hint="Under jit the particle holds tracers: do not keep it in a global or an attribute.",
        ),
    ),
    hints=(
        (
            "Chapter 6 built a frozen dataclass registered as a pytree and updated it with "
            "dataclasses.replace: do the same for a particle."
        ),
        (
            "Put @jax.tree_util.register_dataclass above @dataclasses.dataclass(frozen=True); "
            "step changes only the position and returns the new Particle."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))

# 6.3 ---------------------------------------------------------------------------------
# Diagnose and fix: a peak meter whose count is a static field (a new trace at every
# update), whose initial peak is weakly typed (a second trace) and whose update assigns
# into the meter it is given (the caller's meter moves, eagerly only). The reader keeps the
# meaning and the attributes `peak` and `count`; the probes prove every bug is gone.

DECAY = 0.9
_LEVELS = np.abs(_rng.normal(1.0, 0.8, size=(8, 3))).round(3).astype(np.float32)
# Not made non-negative: a reading below 0 leaves a peak of 0 (from 0, decayed), so a meter
# started at -inf, or one whose first reading sets the peak, or one that takes abs(x), is wrong.
_LEVELS_2D = _rng.normal(0.5, 1.0, size=(3, 2, 2)).round(3).astype(np.float32)
_MANY_LEVELS = np.abs(_rng.normal(1.0, 0.5, size=(300, 2))).round(3).astype(np.float32)

METER_NAMES = ("meter_init", "meter_update")


@probes.reference
def reference_meter_init(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {"peak": np.zeros(shape, np.float32), "count": np.int32(0)}


@probes.reference
def reference_meter_update(meter: dict[str, np.ndarray], x: Any) -> dict[str, np.ndarray]:
    peak = np.maximum(np.asarray(x, np.float32), np.float32(DECAY) * meter["peak"])
    return {"peak": peak.astype(np.float32), "count": np.int32(meter["count"] + 1)}


def _read_meter(meter: Any) -> tuple[Any, Any]:
    if isinstance(meter, dict) and {"peak", "count"} <= set(meter):
        return meter["peak"], meter["count"]
    try:
        return meter.peak, meter.count
    except AttributeError:
        raise ProbeFailure(
            f"the meter is {short(meter)}: keep the attributes `peak` and `count` of the given PeakMeter"
        ) from None


def drive_meter(init, update, shape, xs, at=None):
    """One meter through every reading: (peak, count) after each (or after those in ``at``)."""
    meter = init(shape)
    seen = {}
    for step, x in enumerate(xs, start=1):
        meter = update(meter, x)
        if at is None or step in at:
            seen[f"reading {step}"] = _read_meter(meter)
    return seen


METER_REFERENCES = (reference_meter_init, reference_meter_update)
METER_CASES = (case((3,), list(_LEVELS)), case((2, 2), list(_LEVELS_2D)))
METER_JIT_CASES = (case((3,), list(_LEVELS)),)
METER_MANY = (case((2,), list(_MANY_LEVELS), _MANY_AT),)


def _meter_state(answer: Answer, updates: int = 0) -> Any:
    meter = answer.call("meter_init", (3,))
    for x in _LEVELS[:updates]:
        meter = answer.call("meter_update", meter, x)
    return meter


register(Exercise(
    id="6.3",
    signature="meter_init(shape), meter_update(meter, x)",
    objects=METER_NAMES,
    probes=(
        probes.leaves_are_arrays(
            "meter_init", (case((3,)),), key="state-is-arrays",
            description="meter_init returns a pytree whose leaves are all arrays",
            hint="Every piece of the meter that changes, the count included, is a JAX array.",
        ),
        probes.fold_matches_reference(
            METER_NAMES, METER_REFERENCES, METER_CASES, drive_meter,
            description="after every reading, peak and count are right",
            hint="Keep the meaning: peak = max(x, 0.9 * previous peak), from 0, and count counts readings.",
        ),
        probes.fold_inputs_unchanged(
            METER_NAMES, METER_CASES[:1], drive_meter, key="meter-unchanged",
            description="meter_update leaves the meter it is given unchanged",
            hint=(
                "Assigning to an attribute of the meter moves the caller's meter (eagerly, not under "
                "jit). Return a new meter instead; a frozen dataclass makes the assignment an error."
            ),
        ),
        probes.fold_traces_once(
            METER_NAMES, METER_JIT_CASES, drive_meter, "meter_update", key="traces-once",
            description="jax.jit(meter_update), fed its own output, traces once over eight readings",
            hint=(
                "Count the traces yourself: a static field that changes is a new cache key at every "
                "update, and an initial array without a dtype is weakly typed (chapter 6)."
            ),
        ),
        probes.fold_matches_reference(
            METER_NAMES, METER_REFERENCES, METER_JIT_CASES, drive_meter, jit=("meter_update",),
            key="jit-fold-matches-reference",
            description="jax.jit(meter_update), fed its own output, gives the same results",
            hint="Under jit the values are tracers: no int(), float() or Python if on them.",
        ),
        probes.scanned_fold_matches(
            "meter_init", "meter_update", lambda answer: _read_meter,
            lambda shape, xs, at: drive_meter(*METER_REFERENCES, shape, xs, at),
            METER_MANY, label="reading",
            key="many-updates",
            description="after 300 readings under jax.jit, the count is still right",
            hint="Count in a type that holds 300 and more: int8 wraps after 127, uint8 after 255.",
        ),
        _all_of(
            "globals-unchanged",
            "meter_init and meter_update change no global, attribute or closed-over variable",
            [
                lambda answer: probes.globals_unchanged("meter_init", (case((5,)),)),  # a fresh shape
                lambda answer: probes.globals_unchanged("meter_update", (lambda: (_meter_state(answer, 1), _LEVELS[1]),)),
            ],
            hint="Keep nothing outside the meter: no global counter, no history.",
        ),
        probes.from_answer(
            "no-leaked-tracers",
            "jax.jit(meter_update) leaks no tracer",
            lambda answer: probes.no_leaked_tracers("meter_update", (lambda: (_meter_state(answer, 1), _LEVELS[1]),)),
            hint="Under jit the meter holds tracers: do not keep it, or its fields, outside the function.",
        ),
    ),
    hints=(
        (
            "There is more than one bug. Run the jitted update on a few readings with a trace "
            "counter, and compare the caller's meter before and after an eager update."
        ),
        (
            "A static field is part of the jit cache key, so a count stored there retraces at "
            "every update; jnp.full with a Python float gives a weakly typed array; and an "
            "assignment to meter.peak changes the caller's object."
        ),
        (
            "Make count a data field holding an int32 array, give the initial peak an explicit "
            "float32 dtype, and return a new meter (a frozen dataclass and dataclasses.replace)."
        ),
    ),
    time_limit_s=TIME_LIMIT_S,
))
