"""Chapter 8 · Optimizer state: exercises 8.1 (heavy-ball momentum) and 8.2 (Adam).

Both are judged over several updates, with the state the reader's own ``init`` returns:
only the parameters after each update are compared with the reference, so the layout of
the state (a dict, a NamedTuple, a dataclass) is the reader's choice.
"""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import ProbeFailure, case
from purestate.registry import Exercise, register

# Shared: the drive and the parameter trees ------------------------------------------


def optimizer_trajectory(
    init: Callable[..., Any],
    update: Callable[..., Any],
    params: Any,
    grads_per_step: list[Any],
    hyperparameters: dict[str, float],
) -> dict[str, Any]:
    """``state = init(params)``, then one ``update`` per gradient; the params after each."""
    state = init(params)
    trajectory = {}
    for step, grads in enumerate(grads_per_step, start=1):
        result = update(grads, state, params, **hyperparameters)
        if not (isinstance(result, (tuple, list)) and len(result) == 2):
            raise ProbeFailure(
                f"update should return (new_params, new_state); update {step} returned "
                f"{type(result).__name__ if not isinstance(result, (tuple, list)) else f'{len(result)} values'}"
            )
        params, state = result
        trajectory[f"update {step}"] = params
    return trajectory


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
# there, eps inside or outside Adam's square root makes a visible difference.
NESTED_PARAMS = {
    "dense": [
        jnp.asarray(np.linspace(-1.0, 1.0, 6).reshape(2, 3), dtype=jnp.float32),
        jnp.asarray([0.5, -0.25, 0.0], dtype=jnp.float32),
    ],
    "scale": jnp.float32(1.5),
}
NESTED_GRADS = _grads_like(NESTED_PARAMS, steps=4, scales=[1.0, 1e-4, 0.5])
LONG_GRADS = _grads_like(NESTED_PARAMS, steps=6, scales=[1.0, 1e-4, 0.5])

# Other layouts, with leaf shapes the nested case already uses (eager ops compile per shape).
OTHER_PYTREES = (
    Linear(weight=jnp.full((2, 3), 0.5, jnp.float32), bias=jnp.asarray([1.0, -2.0, 3.0], jnp.float32)),
    (jnp.asarray([0.3, -0.7, 0.1], jnp.float32), {"inner": [jnp.float32(2.0)]}),
)


def _cases(hyperparameters: dict[str, float]) -> tuple[probes.Case, ...]:
    return (
        case(NESTED_PARAMS, NESTED_GRADS, {}),
        case(NESTED_PARAMS, NESTED_GRADS, hyperparameters),
    )


ANY_PYTREE_CASES = tuple(case(p, _grads_like(p, steps=3), {}) for p in OTHER_PYTREES)
LONG_CASES = (case(NESTED_PARAMS, LONG_GRADS, {}),)


def _optimizer_probes(init: str, update: str, references: tuple[Callable, Callable], cases) -> tuple:
    names = (init, update)
    return (
        probes.fold_matches_reference(
            names, references, cases, optimizer_trajectory,
            key="matches-reference",
            description=f"the params after each of several {update} calls match the reference "
            "(nested params, default and custom hyperparameters)",
        ),
        probes.fold_matches_reference(
            names, references, ANY_PYTREE_CASES, optimizer_trajectory,
            key="any-pytree",
            description="works for any pytree of params: a NamedTuple, a tuple holding an array and a dict with a list",
        ),
        probes.fold_traces_once(
            names, LONG_CASES, optimizer_trajectory, update,
            description=f"jax.jit({update}) traces once over 6 updates",
        ),
        probes.fold_matches_reference(
            names, references, cases[:1], optimizer_trajectory, jit=(update,),
            key="jit-matches-reference",
            description=f"jax.jit({update}) gives the same params, step after step",
        ),
        probes.fold_inputs_unchanged(
            names, cases, optimizer_trajectory,
            description="no call changes its grads, state or params",
        ),
    )


# 8.1 ---------------------------------------------------------------------------------


def reference_momentum_init(params: Any) -> Any:
    return jax.tree.map(jnp.zeros_like, params)


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
    ),
    hints=(
        (
            "The velocity is the state: init returns `jax.tree.map(jnp.zeros_like, params)`; update "
            "computes `v = beta * v + g` and `p - lr * v` with `jax.tree.map` and returns "
            "`(new_params, new_velocity)`. Keep nothing on a global or an object."
        ),
    ),
))

# 8.2 ---------------------------------------------------------------------------------


class ReferenceAdamState(NamedTuple):
    count: jax.Array
    mu: Any
    nu: Any


def reference_adam_init(params: Any) -> ReferenceAdamState:
    zeros = jax.tree.map(jnp.zeros_like, params)
    return ReferenceAdamState(count=jnp.zeros((), jnp.int32), mu=zeros, nu=zeros)


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


register(Exercise(
    id="8.2",
    signature="adam_init(params), adam_update(grads, state, params, lr=1e-3, b1=0.9, b2=0.999, eps=1e-8)",
    objects=("adam_init", "adam_update"),
    probes=_optimizer_probes(
        "adam_init", "adam_update",
        (reference_adam_init, reference_adam_update),
        _cases({"lr": 0.01, "b1": 0.8, "b2": 0.99, "eps": 1e-3}),
    ),
    hints=(
        (
            "Keep m, v and the step count in the state you return, the count as an array "
            "(`jnp.zeros((), jnp.int32)` in init) so that jit sees a new value, not a new program. "
            "Increment it first, so the first update uses t = 1; eps goes outside the square root."
        ),
    ),
))
