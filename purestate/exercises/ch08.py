"""Chapter 8 · Optimizer state: exercises 8.1 (heavy-ball momentum), 8.2 (Adam) and 8.3
(gradient accumulation, diagnosed and fixed).

Each is judged over several updates, with the state the reader's own ``init`` returns:
only the parameters after each update are compared with the reference, so the layout of
the state (a dict, a NamedTuple, a dataclass) is the reader's choice.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import Answer, Probe, ProbeFailure, case
from purestate.registry import Exercise, register

# Shared: the drive and the parameter trees ------------------------------------------


def optimizer_trajectory(
    init: Callable[..., Any],
    update: Callable[..., Any],
    params: Any,
    grads_per_step: list[Any],
    hyperparameters: dict[str, float] | tuple[float, ...],
    caller_halves: bool = False,
) -> dict[str, Any]:
    """``state = init(params)``, then one ``update`` per gradient; the params after each.

    ``hyperparameters`` is passed by keyword (a dict) or by position (a tuple). With
    ``caller_halves`` the caller halves the params between two updates (as a projection or
    a weight-decay step would), so an update that moves a copy of the params kept in its
    state, instead of the params it is given, goes wrong.
    """
    state = init(params)
    trajectory = {}
    for step, grads in enumerate(grads_per_step, start=1):
        params, state = _one_update(update, step, grads, state, params, hyperparameters)
        trajectory[f"update {step}"] = params
        if caller_halves:
            params = _halved(params)
    return trajectory


def _halved(params: Any) -> Any:
    """Every leaf times 0.5, in NumPy (no eager compilation), handed back as JAX arrays."""
    return jax.tree.map(lambda p: jnp.asarray(np.asarray(p, np.float32) * np.float32(0.5)), params)


def _one_update(update, step, grads, state, params, hyperparameters):
    if isinstance(hyperparameters, dict):
        result = update(grads, state, params, **hyperparameters)
    else:
        result = update(grads, state, params, *hyperparameters)
    if not (isinstance(result, (tuple, list)) and len(result) == 2):
        raise ProbeFailure(
            f"update should return (new_params, new_state); update {step} returned "
            f"{type(result).__name__ if not isinstance(result, (tuple, list)) else f'{len(result)} values'}"
        )
    return result


def long_trajectory(
    init: Callable[..., Any],
    update: Callable[..., Any],
    params: Any,
    grads_cycle: list[Any],
    n_updates: int,
    recorded: Sequence[int],
) -> dict[str, Any]:
    """``n_updates`` updates, cycling through ``grads_cycle``; the params after the updates in ``recorded``.

    The updates run in one ``lax.scan`` under ``jax.jit`` (one compilation, no per-call
    dispatch), the state being the scan's carry: the state must keep its structure, shapes and
    dtypes from update to update, as it must to trace once under ``jit``.
    """
    state = init(params)
    cycle = jax.tree.map(lambda *leaves: jnp.stack(leaves), *grads_cycle)

    def one(carry: tuple, step: jax.Array) -> tuple:
        params, state = carry
        grads = jax.tree.map(lambda leaves: leaves[step % len(grads_cycle)], cycle)
        params, state = _one_update(update, 0, grads, state, params, {})
        return (params, state), params

    run = jax.jit(lambda p, s: jax.lax.scan(one, (p, s), jnp.arange(1, n_updates + 1))[1])
    history = run(params, state)
    return {f"update {k}": jax.tree.map(lambda h: h[k - 1], history) for k in recorded}


def long_jitted_trajectory(
    init: Callable[..., Any],
    update: Callable[..., Any],
    params: Any,
    grads_cycle: list[Any],
    n_updates: int,
    recorded: Sequence[int],
    hyperparameters: dict[str, float],
) -> dict[str, Any]:
    """As ``long_trajectory`` with ``hyperparameters`` bound, for an update that may hold a
    ``lax.cond``; a reference (marked ``probes.reference``, written in NumPy) runs its
    ``n_updates`` calls as a plain loop instead."""
    if getattr(update, "__purestate_reference__", False):
        state, history = init(params), {}
        for step in range(1, n_updates + 1):
            grads = grads_cycle[step % len(grads_cycle)]  # as long_trajectory cycles them
            params, state = _one_update(update, step, grads, state, params, hyperparameters)
            if step in recorded:
                history[f"update {step}"] = params
        return history
    return long_trajectory(
        init, lambda grads, state, params: update(grads, state, params, **hyperparameters),
        params, grads_cycle, n_updates, recorded,
    )


def jitted_trajectory(
    init: Callable[..., Any],
    update: Callable[..., Any],
    params: Any,
    grads_per_step: list[Any],
    hyperparameters: dict[str, float] | tuple[float, ...],
    caller_halves: bool = False,
) -> dict[str, Any]:
    """As ``optimizer_trajectory``, with ``update`` under one ``jax.jit`` per case.

    The hyperparameters are bound as Python values, as a training step closes over them, so
    they stay static. For updates that may hold ``lax.cond`` or ``lax.scan``: called eagerly,
    such an update traces and compiles its branches at every call. A reference function
    (marked ``probes.reference``, written in NumPy) runs without ``jit``.
    """
    if getattr(update, "__purestate_reference__", False):  # a NumPy reference runs as it is
        return optimizer_trajectory(init, update, params, grads_per_step, hyperparameters, caller_halves)
    if isinstance(hyperparameters, dict):
        bound = jax.jit(lambda grads, state, params: update(grads, state, params, **hyperparameters))
    else:
        bound = jax.jit(lambda grads, state, params: update(grads, state, params, *hyperparameters))
    return optimizer_trajectory(init, bound, params, grads_per_step, {}, caller_halves)


class Linear(NamedTuple):
    """Parameters held in a NamedTuple: a pytree the reader's code must also handle."""

    weight: Any
    bias: Any


def _wave(shape: tuple[int, ...], step: int, scale: float) -> jax.Array:
    """Deterministic gradient values that change sign and size from step to step."""
    n = int(np.prod(shape)) if shape else 1
    values = np.sin(0.7 * (step + 1) * np.arange(1, n + 1) + step) * scale
    return jnp.asarray(values.reshape(shape), dtype=jnp.float32)


def _grads_like(params: Any, steps: int, scales: Any = None) -> list[Any]:
    leaves, treedef = jax.tree.flatten(params)
    scales = scales or [1.0] * len(leaves)
    return [
        jax.tree.unflatten(treedef, [_wave(np.shape(p), step + i, s) for i, (p, s) in enumerate(zip(leaves, scales))])
        for step in range(steps)
    ]


# A dict with a list inside, leaves of three shapes. The bias gradients are tiny (1e-4):
# there, eps inside or outside Adam's square root makes a visible difference. None of the
# values is exactly representable in float16, so a half-precision state shows.
NESTED_PARAMS = {
    "dense": [
        jnp.asarray(np.linspace(-1.0, 1.0, 6).reshape(2, 3), dtype=jnp.float32),
        jnp.asarray([0.5, -0.25, 0.0], dtype=jnp.float32),
    ],
    "scale": jnp.float32(1.5),
}
NESTED_GRADS = _grads_like(NESTED_PARAMS, steps=4, scales=[1.0, 1e-4, 0.5])
LONG_GRADS = _grads_like(NESTED_PARAMS, steps=6, scales=[1.0, 1e-4, 0.5])

# Other layouts, with leaf shapes the nested case already uses (eager ops compile per shape):
# a NamedTuple, a tuple holding an array and a dict with a list, a single scalar array.
OTHER_PYTREES = (
    Linear(weight=jnp.full((2, 3), 0.5, jnp.float32), bias=jnp.asarray([1.0, -2.0, 3.0], jnp.float32)),
    (jnp.asarray([0.3, -0.7, 0.1], jnp.float32), {"inner": [jnp.float32(2.0)]}),
    jnp.float32(-0.75),
)


def _cases(hyperparameters: dict[str, float]) -> tuple[probes.Case, ...]:
    """Default hyperparameters, others by keyword, the same others by position (there the
    caller halves the params between the two updates: the update moves the params it is
    given, not a copy kept in its state)."""
    return (
        case(NESTED_PARAMS, NESTED_GRADS, {}),
        case(NESTED_PARAMS, NESTED_GRADS, hyperparameters),
        case(NESTED_PARAMS, NESTED_GRADS[:2], tuple(hyperparameters.values()), True),
    )


# Gradients up to 4 in size: an update that clips or squashes large gradients differs here.
ANY_PYTREE_CASES = tuple(
    case(p, _grads_like(p, steps=3, scales=[4.0] * len(jax.tree.leaves(p))), {}) for p in OTHER_PYTREES
)
LONG_CASES = (case(NESTED_PARAMS, LONG_GRADS, {}),)


def _first_state_cases(answer: Answer, init: str, cases: Sequence[probes.Case]) -> list[probes.Case]:
    """``(grads, state, params)`` with the state from the reader's ``init``, for one-call probes."""

    def make(original: probes.Case) -> probes.Case:
        def build() -> tuple[Any, ...]:
            params, grads_per_step, _ = original()
            return grads_per_step[0], answer.call(init, params), params

        return build

    return [make(c) for c in cases]


def _all_of(key: str, description: str, builders: Sequence[Callable[[Answer], Probe]], hint: str = "") -> Probe:
    """One probe that passes when every probe ``builders`` make from the answer passes."""

    def run(answer: Answer) -> None:
        for build in builders:
            build(answer).run(answer)

    return Probe(key, description, run, hint)


SIDE_EFFECT_HINT = (
    "Everything the optimizer remembers goes into the state it returns. A global, an attribute "
    "(of an object, a class or the function itself) or a captured variable is read once when "
    "jax.jit traces, so under jit it goes stale and keeps a tracer."
)


def _optimizer_probes(
    init: str,
    update: str,
    references: tuple[Callable, Callable],
    cases,
    *,
    hints: dict[str, str],
    extra: tuple[Probe, ...] = (),
    drive: Callable[..., Any] = optimizer_trajectory,
    input_cases: Sequence[probes.Case] | None = None,
    pytree_cases: Sequence[probes.Case] = ANY_PYTREE_CASES,
) -> tuple:
    """The probes every init/update exercise shares.

    ``drive`` runs the value folds (``jitted_trajectory`` for updates whose eager calls
    compile); ``input_cases`` (default ``cases``) feed the eager fold that watches the
    arguments.
    """
    names = (init, update)
    return (
        probes.fold_matches_reference(
            names, references, cases, drive,
            key="matches-reference",
            description=f"the params after each of several {update} calls match the reference "
            "(nested params; default hyperparameters, others by keyword and by position, with the "
            "caller halving the params between two updates)"
            + ("" if drive is optimizer_trajectory else f", with jax.jit({update})"),
            hint=hints["matches-reference"],
        ),
        probes.fold_matches_reference(
            names, references, pytree_cases, drive,
            key="any-pytree",
            description="works for any pytree of params: a NamedTuple, a tuple, a dict with a list, "
            "a scalar leaf",
            hint="Go through the parameters with jax.tree.map (several trees at once), never by "
            "looking at their type or keys.",
        ),
        probes.fold_traces_once(
            names, LONG_CASES, optimizer_trajectory, update,
            description=f"jax.jit({update}) traces once over 6 updates",
            hint=hints["traces-once"],
        ),
        probes.fold_matches_reference(
            names, references, cases[:1], optimizer_trajectory, jit=(update,),
            key="jit-matches-reference",
            description=f"jax.jit({update}) gives the same params, step after step",
            hint=SIDE_EFFECT_HINT if "jit-matches-reference" not in hints else hints["jit-matches-reference"],
        ),
        *extra,
        probes.fold_inputs_unchanged(
            names, cases if input_cases is None else input_cases, optimizer_trajectory,
            description="no call changes its grads, state or params",
            hint=(
                "Build new dicts and tuples for the new state; never assign into the state you were "
                "given, and donate no argument to jax.jit (`donate_argnums` deletes the caller's arrays)."
            ),
        ),
        _all_of(
            "globals-unchanged",
            f"{init} and {update} change no global, attribute or closed-over variable",
            [
                lambda answer: probes.globals_unchanged(init, [case(NESTED_PARAMS)]),
                lambda answer: probes.globals_unchanged(update, _first_state_cases(answer, init, cases[:1])),
            ],
            hint=SIDE_EFFECT_HINT,
        ),
        probes.from_answer(
            "no-leaked-tracers",
            f"jax.jit({update}) leaks no tracer",
            lambda answer: probes.no_leaked_tracers(update, _first_state_cases(answer, init, cases[:1])),
            hint=SIDE_EFFECT_HINT,
        ),
    )



def _wrapping_count_hint(what: str) -> str:
    """The hint of the long runs, where a narrow counter wraps (int8 after 127 updates)."""
    return (
        f"Look at the dtype of your {what}: how far can it count? int32 (what "
        "`jnp.zeros((), jnp.int32)` gives) counts past two billion."
    )

# 8.1 ---------------------------------------------------------------------------------


@probes.reference
def reference_momentum_init(params: Any) -> Any:
    return jax.tree.map(jnp.zeros_like, params)


@probes.reference
def reference_momentum_update(grads: Any, state: Any, params: Any, lr: float = 0.1, beta: float = 0.9) -> tuple:
    velocity = jax.tree.map(lambda v, g: beta * v + g, state, grads)
    new_params = jax.tree.map(lambda p, v: p - lr * v, params, velocity)
    return new_params, velocity


register(Exercise(
    id="8.1",
    signature="momentum_init(params), momentum_update(grads, state, params, lr=0.1, beta=0.9)",
    objects=("momentum_init", "momentum_update"),
    probes=_optimizer_probes(
        "momentum_init", "momentum_update",
        (reference_momentum_init, reference_momentum_update),
        _cases({"lr": 0.05, "beta": 0.5}),
        hints={
            "matches-reference": (
                "Check the first two updates by hand with a constant gradient g: the heavy ball moves "
                "by lr·g, then by lr·(1 + beta)·g. Use the lr, beta and params you are given, and return "
                "the new velocity in the state."
            ),
            "traces-once": "Keep only arrays in the state, with the same shapes and dtypes at every update.",
        },
    ),
    hints=(
        "What does heavy-ball momentum remember between two updates? That, and only that, is the state.",
        "init returns zeros shaped like every leaf of params (`jax.tree.map` with `jnp.zeros_like`). "
        "update first computes the new velocity from the old one and the gradient, then moves the "
        "params by lr times the new velocity, and returns both.",
    ),
))

# 8.2 ---------------------------------------------------------------------------------


class ReferenceAdamState(NamedTuple):
    count: jax.Array
    mu: Any
    nu: Any


@probes.reference
def reference_adam_init(params: Any) -> ReferenceAdamState:
    zeros = jax.tree.map(jnp.zeros_like, params)
    return ReferenceAdamState(count=jnp.zeros((), jnp.int32), mu=zeros, nu=zeros)


@probes.reference
def reference_adam_update(
    grads: Any,
    state: ReferenceAdamState,
    params: Any,
    lr: float = 1e-3,
    b1: float = 0.9,
    b2: float = 0.999,
    eps: float = 1e-8,
) -> tuple:
    count = state.count + 1
    mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
    nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * g**2, state.nu, grads)
    mu_correction = 1 - b1**count
    nu_correction = 1 - b2**count
    new_params = jax.tree.map(
        lambda p, m, v: p - lr * (m / mu_correction) / (jnp.sqrt(v / nu_correction) + eps),
        params, mu, nu,
    )
    return new_params, ReferenceAdamState(count=count, mu=mu, nu=nu)


# 300 updates of a single array in one jitted scan, the gradients of 7 steps in turn. A step
# count that wraps goes wrong visibly: int8 turns negative at update 128 (b2 ** -128 > 1, so
# the corrected second moment is negative and its square root NaN), uint8 returns to 0 at
# update 256 (a division by 1 - b ** 0 = 0); both give NaN from there on. Recorded: the
# updates around each.
LONG_RUN_PARAMS = jnp.asarray([0.5, -1.5, 2.0, 0.25], jnp.float32)
LONG_RUN_CASES = (
    case(LONG_RUN_PARAMS, _grads_like(LONG_RUN_PARAMS, steps=7), 300,
         (1, 127, 128, 129, 255, 256, 257, 300)),
)


register(Exercise(
    id="8.2",
    signature="adam_init(params), adam_update(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8)",
    objects=("adam_init", "adam_update"),
    probes=_optimizer_probes(
        "adam_init", "adam_update",
        (reference_adam_init, reference_adam_update),
        _cases({"lr": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-3}),
        hints={
            "matches-reference": (
                "Work out the first update by hand: with the bias correction at t = 1 every parameter "
                "moves by about lr. Count t from 1, divide by 1 - b1**t and 1 - b2**t, add eps outside "
                "the square root, and use the hyperparameters and params you are given."
            ),
            "traces-once": (
                "The step count must be data, not part of the tree structure: an array (or a Python "
                "number) in a leaf, never a static field."
            ),
        },
        extra=(
            probes.fold_matches_reference(
                ("adam_init", "adam_update"),
                (reference_adam_init, reference_adam_update),
                LONG_RUN_CASES, long_trajectory,
                key="long-run",
                description="300 updates under jax.jit match the reference (a step count that wraps does not)",
                hint=_wrapping_count_hint("step count"),
            ),
        ),
    ),
    hints=(
        "Adam remembers two averages per parameter and the number of updates so far: all three "
        "belong in the state, as arrays.",
        "Increment the count first, so that the first update uses t = 1. Update m and v leaf by "
        "leaf with jax.tree.map, divide them by 1 - b1**t and 1 - b2**t, and add eps after the "
        "square root. A count of dtype int32 counts far enough and traces once.",
    ),
))

# 8.3 ---------------------------------------------------------------------------------


@probes.reference
def reference_accumulate_init_numpy(params: Any) -> dict[str, Any]:
    """The same accumulator on float32 NumPy arrays: reference values without compiling."""
    return {"count": np.int32(0), "total": jax.tree.map(lambda p: np.zeros(np.shape(p), np.float32), params)}


@probes.reference
def reference_accumulate_update_numpy(grads: Any, state: dict, params: Any, lr: float = 0.1, every: int = 4) -> tuple:
    count = state["count"] + 1
    total = jax.tree.map(lambda s, g: s + np.asarray(g, np.float32), state["total"], grads)
    if count % every:
        return jax.tree.map(lambda p: np.asarray(p, np.float32), params), {"count": count, "total": total}
    new_params = jax.tree.map(lambda p, s: np.asarray(p, np.float32) - np.float32(lr) * s / np.float32(every), params, total)
    return new_params, {"count": count, "total": jax.tree.map(np.zeros_like, total)}


# Nine updates: with every = 4 the params move at updates 4 and 8, with every = 3 at 3, 6
# and 9, so a sum that is not reset, a mean over the count instead of `every`, or a first
# step at update 1 all show.
ACCUMULATE_GRADS = _grads_like(NESTED_PARAMS, steps=9, scales=[1.0, 0.5, 2.0])
# Every container at once, for one compilation: a NamedTuple holding a tuple (an array and
# a dict with a list) and a scalar leaf.
MIXED_PYTREE = Linear(
    weight=(jnp.asarray([0.3, -0.7, 0.1], jnp.float32), {"inner": [jnp.float32(2.0)]}),
    bias=jnp.float32(-0.75),
)
ACCUMULATE_PYTREE_CASES = (case(MIXED_PYTREE, _grads_like(MIXED_PYTREE, steps=5), {}),)
# 300 updates with every = 3, in one jitted scan: a count that wraps misses or adds a step.
# An int8 count turns to -128 at update 128 (-127 % 3 = 2, so update 129 does not move), a
# uint8 count to 0 at update 256 (0 % 3 = 0: update 256 moves), a bfloat16 count sticks at
# 256. With every = 4 none of them would show (256 is a multiple of 4).
ACCUMULATE_LONG_CASES = (
    case(LONG_RUN_PARAMS, _grads_like(LONG_RUN_PARAMS, steps=7), 300, (3, 126, 129, 255, 256, 300), {"every": 3}),
)
ACCUMULATE_CASES = (
    case(NESTED_PARAMS, ACCUMULATE_GRADS, {}),
    case(NESTED_PARAMS, ACCUMULATE_GRADS, {"lr": 0.05, "every": 3}),
    case(NESTED_PARAMS, ACCUMULATE_GRADS[:6], (0.05, 3), True),  # the caller halves the params between updates
)


register(Exercise(
    id="8.3",
    signature="accumulate_init(params), accumulate_update(grads, state, params, lr=0.1, every=4)",
    objects=("accumulate_init", "accumulate_update"),
    probes=_optimizer_probes(
        "accumulate_init", "accumulate_update",
        (reference_accumulate_init_numpy, reference_accumulate_update_numpy),
        ACCUMULATE_CASES,
        hints={
            "matches-reference": (
                "Follow the first eight updates by hand with every = 4: the params stay put three "
                "times, move by lr times the mean of four gradients at the fourth update, and the "
                "sum starts again from zero. Read lr, every and params from the arguments. (This check runs "
                "your update under jax.jit: a Python `if` on the count cannot work there.)"
            ),
            "traces-once": "Keep the count as an array in a leaf of the state, not as a static field.",
            "jit-matches-reference": (
                "Under jax.jit the count is a tracer: a Python `if` on it raises, and a count or sum "
                "kept outside the state is frozen at its trace-time value. Choose between the two "
                "outcomes with jnp.where (or lax.cond) and return everything in the state."
            ),
        },
        extra=(
            probes.fold_matches_reference(
                ("accumulate_init", "accumulate_update"),
                (reference_accumulate_init_numpy, reference_accumulate_update_numpy),
                ACCUMULATE_LONG_CASES, long_jitted_trajectory,
                key="long-run",
                description="300 updates with every = 3 under jax.jit match the reference (a count that wraps does not)",
                hint=_wrapping_count_hint("count"),
            ),
        ),
        drive=jitted_trajectory,
        pytree_cases=ACCUMULATE_PYTREE_CASES,
        # two updates with every = 2: both outcomes, each call eager, one leaf (fewer compilations)
        input_cases=(case({"w": LONG_RUN_PARAMS}, _grads_like({"w": LONG_RUN_PARAMS}, steps=2), {"every": 2}),),
    ),
    hints=(
        "Under jit, when does `self.count += 1` run, and what does the compiled program return "
        "at calls 2, 3, 4, …? Everything the accumulator remembers has to become state.",
        "The state holds the running sum (shaped like params) and the number of calls so far, as "
        "an array. update adds the gradient, increments the count, and computes both outcomes: "
        "the moved params and a zero sum when the count is a multiple of every, the old params "
        "and the new sum otherwise, chosen with jnp.where.",
    ),
))
