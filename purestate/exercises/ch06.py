"""Chapter 6 · Explicit state: exercises 6.1 and 6.2."""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.compare import mismatch, short
from purestate.probes import Answer, Case, Probe, ProbeFailure, case
from purestate.registry import Exercise, register

# 6.1 ---------------------------------------------------------------------------------
# A running mean and population variance. The reader's state is any pytree of arrays, so
# the probes thread it through stats_init / stats_update / stats_result together (the
# shared fold probes) and compare only what stats_result returns.

_rng = np.random.default_rng(6)
_VECTORS = _rng.normal(2.0, 1.5, size=(6, 3)).round(3).astype(np.float32)
_MATRICES = _rng.normal(-1.0, 0.5, size=(4, 2, 2)).round(3).astype(np.float32)
_OTHER_VECTORS = _rng.normal(0.0, 3.0, size=(4, 3)).round(3).astype(np.float32)

STATS_NAMES = ("stats_init", "stats_update", "stats_result")


def reference_stats_init(shape: tuple[int, ...]) -> dict[str, np.ndarray]:
    return {"n": np.zeros(()), "sum": np.zeros(shape), "sum_sq": np.zeros(shape)}


def reference_stats_update(state: dict[str, np.ndarray], x: Any) -> dict[str, np.ndarray]:
    x = np.asarray(x, dtype=np.float64)
    return {"n": state["n"] + 1, "sum": state["sum"] + x, "sum_sq": state["sum_sq"] + x * x}


def reference_stats_result(state: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
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


STATS_CASES = (case((3,), list(_VECTORS)), case((2, 2), list(_MATRICES)))
STATS_JIT_CASES = (case((3,), list(_VECTORS)),)
TWO_STREAM_CASES = (case((3,), list(_VECTORS[:4]), list(_OTHER_VECTORS)),)

register(Exercise(
    id="6.1",
    signature="stats_init(shape), stats_update(state, x), stats_result(state)",
    objects=STATS_NAMES,
    probes=(
        probes.leaves_are_arrays(
            "stats_init", (case((3,)), case((2, 2))),
            key="state-is-arrays",
            description="stats_init returns a pytree whose leaves are all arrays",
        ),
        probes.fold_matches_reference(
            STATS_NAMES, STATS_REFERENCES, STATS_CASES, drive_running_stats,
            rtol=1e-4, atol=1e-5,
            description="after every update, stats_result gives the mean and population variance so far",
        ),
        probes.fold_inputs_unchanged(
            STATS_NAMES, STATS_CASES, drive_running_stats,
            key="state-unchanged",
            description="stats_update leaves the state it is given unchanged",
        ),
        probes.fold_matches_reference(
            STATS_NAMES, STATS_REFERENCES, TWO_STREAM_CASES, drive_two_streams,
            rtol=1e-4, atol=1e-5,
            key="independent-states",
            description="two states updated in alternation stay independent",
        ),
        probes.fold_matches_reference(
            STATS_NAMES, STATS_REFERENCES, STATS_JIT_CASES, drive_running_stats,
            jit=("stats_update",), rtol=1e-4, atol=1e-5,
            key="jit-fold-matches-reference",
            description="jax.jit(stats_update), fed its own output state, gives the same results",
        ),
        probes.fold_traces_once(
            STATS_NAMES, STATS_JIT_CASES, drive_running_stats, "stats_update",
            key="traces-once",
            description="jax.jit(stats_update) traces once over six updates",
        ),
    ),
    hints=(
        (
            "Keep the count, the mean and the sum of squared deviations (or the sum and the sum of "
            "squares) as arrays in a NamedTuple or a dict; stats_update builds and returns a new "
            "one, and the population variance divides by the count, not count - 1."
        ),
    ),
))

# 6.2 ---------------------------------------------------------------------------------
# The reader's class makes the arguments, so the shared probes are built per answer
# (probes.from_answer) from cases that call the reader's Particle with keyword arguments.

_PARTICLE_VALUES = (
    (np.array([0.0, 1.0, 2.0], np.float32), np.array([1.0, -0.5, 0.25], np.float32), 0.1),
    (np.array([3.0, -1.0, 0.5], np.float32), np.array([0.0, 2.0, -4.0], np.float32), 0.5),
    (np.array([-2.0, 0.0, 8.0], np.float32), np.array([1.5, 1.5, -1.5], np.float32), 0.25),
)


def _particle(answer: Answer, position: Any, velocity: Any) -> Any:
    return answer.call("Particle", position=jnp.asarray(position), velocity=jnp.asarray(velocity))


def particle_cases(answer: Answer) -> tuple[Case, ...]:
    """(Particle(position=…, velocity=…), dt) tuples made with the reader's class."""
    return tuple(
        (lambda pos=pos, vel=vel, dt=dt: (_particle(answer, pos, vel), dt))
        for pos, vel, dt in _PARTICLE_VALUES
    )


def reference_step_for(answer: Answer):
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
        Probe("is-dataclass", "Particle is a dataclass with fields position and velocity", _is_dataclass),
        Probe(
            "is-pytree",
            "position and velocity are the leaves of a Particle (a registered pytree)",
            _position_and_velocity_are_leaves,
        ),
        probes.from_answer(
            "matches-reference",
            "step returns a new Particle with position + dt * velocity, velocity unchanged",
            lambda answer: probes.matches_reference("step", reference_step_for(answer), particle_cases(answer)),
        ),
        probes.from_answer(
            "inputs-unchanged",
            "step leaves the particle it is given unchanged",
            lambda answer: probes.inputs_unchanged("step", particle_cases(answer)),
        ),
        probes.from_answer(
            "returns-new-object",
            "step returns a new Particle",
            lambda answer: probes.returns_fresh_object("step", particle_cases(answer)),
        ),
        probes.from_answer(
            "jit-matches-eager",
            "jax.jit(step) returns what step returns",
            lambda answer: probes.jit_matches_eager("step", particle_cases(answer)),
        ),
        probes.from_answer(
            "traces-once",
            "jax.jit(step) traces once for particles with new values",
            lambda answer: probes.traces_once("step", particle_cases(answer)),
        ),
    ),
    hints=(
        (
            "Decorate a frozen dataclass with @jax.tree_util.register_dataclass (both fields are "
            "data fields), and return dataclasses.replace(p, position=p.position + dt * p.velocity)."
        ),
    ),
))
