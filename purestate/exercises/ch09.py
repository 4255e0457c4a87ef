"""Chapter 9 · State through loops: exercises 9.1 and 9.2."""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from purestate import probes
from purestate.probes import case
from purestate.registry import Exercise, register

# Float32 matmuls run in TF32 by default on recent NVIDIA GPUs (docs.jax.dev 201/precision):
# the checker compares them to about three decimals, so a reader on a GPU passes too.
MATMUL_RTOL = 1e-3
MATMUL_ATOL = 1e-4
LOOP_PRIMITIVES = {"scan", "while"}

# 9.1 ---------------------------------------------------------------------------------


def reference_rnn_forward(params: dict, h0: jax.Array, xs: jax.Array) -> tuple[jax.Array, jax.Array]:
    def step(h, x):
        h = jnp.tanh(x @ params["Wx"] + h @ params["Wh"] + params["b"])
        return h, h

    return lax.scan(step, h0, xs)


def _rnn_args(seed: int, length: int, n_in: int = 3, n_hidden: int = 4) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    params = {
        "Wx": jnp.asarray(rng.normal(size=(n_in, n_hidden)) * 0.5, dtype=jnp.float32),
        "Wh": jnp.asarray(rng.normal(size=(n_hidden, n_hidden)) * 0.5, dtype=jnp.float32),
        "b": jnp.asarray(rng.normal(size=(n_hidden,)) * 0.5, dtype=jnp.float32),
    }
    h0 = jnp.asarray(rng.normal(size=(n_hidden,)) * 0.5, dtype=jnp.float32)
    xs = jnp.asarray(rng.normal(size=(length, n_in)), dtype=jnp.float32)
    return params, h0, xs


RNN_CASES = (
    case(*_rnn_args(seed=0, length=5)),
    case(*_rnn_args(seed=1, length=1, n_in=2, n_hidden=3)),
)


def _rnn_loss(out: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Every output counts, later steps more: a shifted or frozen state changes the gradient."""
    h_last, hs = out
    steps = jnp.arange(1, hs.shape[0] + 1, dtype=hs.dtype)[:, None]
    return jnp.sum(h_last**2) + jnp.sum(steps * hs)


register(Exercise(
    id="9.1",
    signature="rnn_forward(params, h0, xs)",
    objects=("rnn_forward",),
    probes=(
        probes.uses_primitive(
            "rnn_forward", RNN_CASES[0], LOOP_PRIMITIVES,
            description="the loop is a loop primitive: its jaxpr holds a scan or a while",
        ),
        probes.program_size_independent_of_length(
            "rnn_forward", lambda n: _rnn_args(seed=2, length=n),
        ),
        probes.matches_reference(
            "rnn_forward", reference_rnn_forward, RNN_CASES, rtol=MATMUL_RTOL, atol=MATMUL_ATOL,
            description="rnn_forward returns (h_T, hs) with hs = h_1 … h_T",
        ),
        probes.jit_matches_eager("rnn_forward", RNN_CASES[:1], rtol=MATMUL_RTOL, atol=MATMUL_ATOL),
        probes.grad_of_loss_matches_reference(
            "rnn_forward", reference_rnn_forward, RNN_CASES[:1], _rnn_loss, argnums=(0, 1), jit=True,
            rtol=MATMUL_RTOL, atol=MATMUL_ATOL,
            description="jax.grad flows through rnn_forward to params and h0",
        ),
    ),
    hints=(
        (
            "Write one step `step(h, x) -> (new_h, new_h)` that reads the weights from `params`, "
            "and run it with `jax.lax.scan(step, h0, xs)`: scan returns the last carry and the "
            "stacked outputs, which is exactly (h_T, hs)."
        ),
    ),
))

# 9.2 ---------------------------------------------------------------------------------


def reference_ema(xs: jax.Array, alpha: float) -> jax.Array:
    def step(y, x):
        y = alpha * x + (1 - alpha) * y
        return y, y

    _, rest = lax.scan(step, xs[0], xs[1:])
    return jnp.concatenate([xs[:1], rest])


EMA_CASES = (
    case(jnp.array([4.0, 0.0, 2.0, 8.0, -2.0, 1.0]), 0.25),
    case(jnp.array([1.0, -3.0, 0.5, 7.0]), 0.7),
    case(jnp.array([3.0]), 0.5),
)


register(Exercise(
    id="9.2",
    signature="ema(xs, alpha)",
    objects=("ema",),
    probes=(
        probes.uses_primitive(
            "ema", EMA_CASES[0], LOOP_PRIMITIVES,
            description="the loop is a loop primitive: its jaxpr holds a scan or a while",
        ),
        probes.program_size_independent_of_length(
            "ema", lambda n: (jnp.linspace(-1.0, 1.0, n), 0.3),
        ),
        probes.matches_reference(
            "ema", reference_ema, EMA_CASES,
            description="ema returns every y_t, starting from y_0 = x_0",
        ),
        probes.jit_matches_eager("ema", EMA_CASES),
    ),
    hints=(
        (
            "Carry the previous average: `step(y, x)` returns `(new_y, new_y)`. Start the carry at "
            "`xs[0]`, scan over `xs[1:]`, and put `xs[:1]` in front of the stacked outputs."
        ),
    ),
))
