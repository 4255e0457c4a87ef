"""Chapter 9 · State through loops: exercises 9.1 (an RNN), 9.2 (a moving average) and 9.3
(a spiking neuron whose loop carries the wrong thing)."""

from __future__ import annotations

from typing import Any

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
from jax import lax

from purestate import probes
from purestate.probes import Answer, Probe, ProbeFailure, case
from purestate.registry import Exercise, register

# Float32 matmuls run in TF32 by default on recent NVIDIA GPUs (docs.jax.dev 201/precision):
# the checker compares them to about three decimals, so a reader on a GPU passes too.
MATMUL_RTOL = 1e-3
MATMUL_ATOL = 1e-4
LOOP_PRIMITIVES = {"scan", "while"}

LOOP_HINT = (
    "A Python `for` loop runs while JAX traces, and every iteration adds its operations to the "
    "program, also inside a nested `jax.jit`. Give the loop to `jax.lax.scan` (or `fori_loop`): "
    "its body is traced once. Leave out `unroll=True`: XLA would compile one copy of the body per "
    "step."
)
SIDE_EFFECT_HINT = (
    "Everything a step computes leaves the loop through the carry or the stacked outputs. "
    "Appending to a list or assigning to a global, an attribute or a captured dict keeps a "
    "tracer alive after the trace ends."
)

# 9.1 ---------------------------------------------------------------------------------


@probes.reference
def reference_rnn_forward(params: dict, h0: jax.Array, xs: jax.Array) -> tuple[jax.Array, jax.Array]:
    def step(h, x):
        h = jnp.tanh(x @ params["Wx"] + h @ params["Wh"] + params["b"])
        return h, h

    return lax.scan(step, h0, xs)


@probes.reference
def reference_rnn_forward_numpy(params: dict, h0: Any, xs: Any) -> tuple[np.ndarray, np.ndarray]:
    """The same recurrence in float32 NumPy: values without compiling a scan per case."""
    wx, wh, b = (np.asarray(params[k], np.float32) for k in ("Wx", "Wh", "b"))
    h, hs = np.asarray(h0, np.float32), []
    for x in np.asarray(xs, np.float32):
        h = np.tanh(x @ wx + h @ wh + b)
        hs.append(h)
    return h, np.stack(hs)


def _rnn_args(seed: int, length: int, n_in: int = 3, n_hidden: int = 4) -> tuple[Any, ...]:
    rng = np.random.default_rng(seed)
    params = {
        "Wx": jnp.asarray(rng.normal(size=(n_in, n_hidden)) * 0.5, dtype=jnp.float32),
        "Wh": jnp.asarray(rng.normal(size=(n_hidden, n_hidden)) * 0.5, dtype=jnp.float32),
        "b": jnp.asarray(rng.normal(size=(n_hidden,)) * 0.5, dtype=jnp.float32),
    }
    h0 = jnp.asarray(rng.normal(size=(n_hidden,)) * 0.5, dtype=jnp.float32)  # never zero
    xs = jnp.asarray(rng.normal(size=(length, n_in)), dtype=jnp.float32)
    return params, h0, xs


# Lengths 5, 1 and 9; n_in != n_hidden in every case, both ways round, so that Wx and Wh
# swapped raise instead of computing something; no hidden size of 4 in the second and third
# cases, so a hard-coded buffer shape shows.
RNN_CASES = (
    case(*_rnn_args(seed=0, length=5)),
    case(*_rnn_args(seed=1, length=1, n_in=2, n_hidden=3)),
    case(*_rnn_args(seed=3, length=9, n_in=5, n_hidden=2)),
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
            hint=LOOP_HINT,
        ),
        probes.program_size_independent_of_length(
            "rnn_forward", lambda n: _rnn_args(seed=2, length=n), recursive=True, unrolled_at=64,
            description="the traced program of rnn_forward, nested jaxprs included, does not grow with the sequence length",
            hint=LOOP_HINT,
        ),
        probes.matches_reference(
            "rnn_forward", reference_rnn_forward_numpy, RNN_CASES, rtol=MATMUL_RTOL, atol=MATMUL_ATOL,
            description="rnn_forward returns (h_T, hs) with hs = h_1 … h_T (lengths 1, 5, 9; several sizes)",
            hint=(
                "Compare `hs[0]` with one step of the formula from `h0`: hs starts at h_1, not h_0. "
                "Read every size from the arguments, and start from the h0 you were given."
            ),
        ),
        probes.jit_matches_eager("rnn_forward", RNN_CASES[:1], rtol=MATMUL_RTOL, atol=MATMUL_ATOL),
        probes.inputs_unchanged(
            "rnn_forward", RNN_CASES[:1],
            hint="Leave the params dict as you got it: keep anything you derive from it in a local variable.",
        ),
        probes.globals_unchanged("rnn_forward", RNN_CASES[:1], hint=SIDE_EFFECT_HINT),
        probes.grad_of_loss_matches_reference(
            "rnn_forward", reference_rnn_forward, RNN_CASES[:1], _rnn_loss, argnums=(0, 1), jit=True,
            rtol=MATMUL_RTOL, atol=MATMUL_ATOL,
            description="jax.grad flows through rnn_forward to params and h0",
            hint=(
                "The weights must come from the `params` argument (a global is a constant of the "
                "trace, with zero gradient), and reverse mode needs a scan or a fori_loop with "
                "static bounds, not a while_loop."
            ),
        ),
        probes.no_leaked_tracers("rnn_forward", RNN_CASES[:1], hint=SIDE_EFFECT_HINT),
    ),
    hints=(
        "The hidden state is the loop's carry. What does one step take, and what should it hand "
        "to the next step and to the stacked output?",
        "Write one step function `step(h, x)` that reads the weights from `params` and returns a "
        "pair (carry, output); `jax.lax.scan` runs it over the rows of `xs` and returns the last "
        "carry and the stacked outputs, which is the pair the exercise asks for.",
    ),
))

# 9.2 ---------------------------------------------------------------------------------


def _scan_carries(eqn: Any) -> bool:
    """Whether a ``scan`` equation has a carry (or reads and writes a Ref, state held outside
    the carry). JAX 0.12 describes the operands in ``ft_in`` (consts, carry, xs); older JAX
    counts them in ``num_carry``. When neither can be read, the scan counts as carrying: the
    probe never rejects an answer it cannot read."""
    ref_type = getattr(getattr(jax, "ref", None), "AbstractRef", None)  # absent from older JAX
    if ref_type is not None and any(isinstance(getattr(v, "aval", None), ref_type) for v in eqn.invars):
        return True
    if "num_carry" in eqn.params:
        return eqn.params["num_carry"] > 0
    try:
        return len(list(eqn.params["ft_in"].unpack()[1].vals)) > 0
    except Exception:  # another JAX's layout
        return True


def _has_carried_loop(closed: Any) -> bool:
    """A ``while`` loop, or a ``scan`` that carries something, anywhere in the jaxpr."""

    def visit(inner: Any) -> bool:
        for eqn in inner.eqns:
            name = eqn.primitive.name
            if name == "while" or (name == "scan" and _scan_carries(eqn)):
                return True
            if any(visit(sub) for sub in jax.extend.core.jaxprs_in_params(eqn.params)):
                return True
        return False

    return visit(closed.jaxpr)


def loop_carries_state(name: str, make: probes.Case, *, key: str, description: str, hint: str) -> Probe:
    """The answer's loop hands something from one step to the next. ``lax.map`` is a scan
    without a carry: an answer that computes every y_t from scratch inside it (a closed form,
    T² work) uses a loop primitive and gives the right values, and fails here."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        closed = answer.call_transformed(f"jax.make_jaxpr({name})", lambda f, *a: jax.make_jaxpr(f)(*a), fn, *make())
        if not _has_carried_loop(closed):
            raise ProbeFailure(
                f"every loop in the jaxpr of {name} is a scan without a carry (what lax.map makes): "
                "its steps share nothing, so each y_t is computed from scratch"
            )

    return Probe(key, description, run, hint)



@probes.reference
def reference_ema_numpy(xs: Any, alpha: float) -> np.ndarray:
    """The same recurrence in float32 NumPy (no scan to compile per case)."""
    xs = np.asarray(xs, np.float32)
    ys = [xs[0]]
    for x in xs[1:]:
        ys.append(np.float32(alpha) * x + np.float32(1 - alpha) * ys[-1])
    return np.asarray(ys, np.float32).reshape(xs.shape)


# Lengths 6, 4, 1 and 23; alpha fractional, 0 (y stays at x_0) and 1 (y = x); a NaN at
# index 20 of the long case, which the recurrence carries to every later y (0 * NaN is NaN,
# even for alpha = 0 or 1). The alpha-0 and alpha-1 cases hold a NaN at index 2 too, so that
# a shortcut for those alphas (`jnp.where(alpha == 1, xs, ys)`, or x_0 repeated for alpha = 0)
# shows: the recurrence gives NaN at indices 2 and 3, the shortcut a number at one of them.
EMA_CASES = (
    case(jnp.array([4.0, 0.0, 2.0, 8.0, -2.0, 1.0]), 0.25),
    case(jnp.array([1.0, -3.0, 0.5, 7.0]), 0.7),
    case(jnp.array([3.0]), 0.5),
    case(jnp.array([2.5, -1.0, np.nan, 0.5]), 0.0),
    case(jnp.array([2.5, -1.0, np.nan, 0.5]), 1.0),
    case(jnp.asarray(np.where(np.arange(23) == 20, np.nan, np.sin(np.arange(23.0)) * 3.0), dtype=jnp.float32), 0.15),
)


register(Exercise(
    id="9.2",
    signature="ema(xs, alpha)",
    objects=("ema",),
    probes=(
        probes.uses_primitive(
            "ema", EMA_CASES[0], LOOP_PRIMITIVES,
            description="the loop is a loop primitive: its jaxpr holds a scan or a while",
            hint=LOOP_HINT,
        ),
        loop_carries_state(
            "ema", EMA_CASES[0],
            key="carries-state",
            description="the loop carries the average from step to step (a scan with a carry, a while_loop or a Ref)",
            hint=(
                "Each y_t follows from y_{t-1}: make the average the loop's carry. A lax.map whose "
                "steps each sum over xs shares nothing between steps and does T² work."
            ),
        ),
        probes.program_size_independent_of_length(
            "ema", lambda n: (jnp.linspace(-1.0, 1.0, n), 0.3), recursive=True, unrolled_at=64,
            description="the traced program of ema, nested jaxprs included, does not grow with the sequence length",
            hint=LOOP_HINT,
        ),
        probes.matches_reference(
            "ema", reference_ema_numpy, EMA_CASES,
            description="ema returns every y_t, from y_0 = x_0 (lengths 1 to 23, alpha 0, 1 and between, a NaN)",
            hint=(
                "Work the small cases by hand: y_0 is x_0 itself, alpha = 0 keeps x_0 for ever and "
                "alpha = 1 returns xs, until a NaN: from there every y_t is NaN, for every alpha "
                "(0 * NaN is NaN), so no shortcut for alpha = 0 or 1. Read alpha and the length "
                "from the arguments, and keep the dtype of xs."
            ),
        ),
        probes.jit_matches_eager("ema", EMA_CASES[:1]),
        probes.globals_unchanged("ema", EMA_CASES[:1], hint=SIDE_EFFECT_HINT),
        probes.no_leaked_tracers("ema", EMA_CASES[:1], hint=SIDE_EFFECT_HINT),
    ),
    hints=(
        "The average is the loop's state. What is it before the first step, and what does "
        "each step emit?",
        "Write `step(y, x)` returning the new average as carry and as output, and run it with "
        "`jax.lax.scan`. Decide where y_0 = x_0 comes from: the initial carry, and whether the "
        "scan then runs over all of `xs` or over `xs[1:]`.",
    ),
))

# 9.3 ---------------------------------------------------------------------------------


@probes.reference
def reference_lif_neuron_numpy(xs: Any, decay: float, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """The same neuron in float32 NumPy (no scan to compile per case)."""
    v, spikes = np.float32(0.0), []
    for x in np.asarray(xs, np.float32):
        v = np.float32(decay) * v + x
        spikes.append(bool(v > np.float32(threshold)))
        v = np.float32(0.0) if spikes[-1] else v
    return np.asarray(v, np.float32), np.asarray(spikes, bool)


# Binary fractions, so that sums are exact: in the first case the potential equals the
# threshold at steps 2 and 3 (no spike: the comparison is strict), spikes at steps 4 and 6,
# and only step 6's input alone is above the threshold. decay 0 (no memory) and 1 (a perfect
# integrator); lengths 8, 5, 1 and 31; thresholds 1, 0.5, 0.2 and 2.
# The decay-0 case's third input is the float32 just above 0.5 (0.5 + 2**-24, exact: with
# decay 0 the potential is the input itself): it spikes, so a comparison with a tolerance
# (`v > threshold + 1e-7`, `v - threshold > 1e-6`, `~jnp.isclose(v, threshold)`) fails.
LIF_CASES = (
    case(jnp.array([0.5, 0.75, 0.5, 0.75, 0.5, 1.25, 0.25, 0.5]), 0.5, 1.0),
    case(jnp.array([0.25, 0.75, 0.5 + 2.0**-24, -0.5, 0.75], dtype=jnp.float32), 0.0, 0.5),
    case(jnp.array([0.75]), 0.5, 0.2),
    case(jnp.array([0.5, 0.5, 0.75, 0.5, 0.25]), 1.0, 1.0),
    case(jnp.asarray(np.round(np.sin(np.arange(31.0) * 1.3) * 4) / 4 + 0.5, dtype=jnp.float32), 0.75, 2.0),
    # Not binary fractions, and a potential that falls below -threshold five times: a
    # potential kept in float16 (its v_T is off by about 1e-3) or a spike on abs(v) fails.
    # Every potential stays at least 0.069 away from the threshold, so rounding in float32
    # cannot move a spike.
    case(jnp.asarray(np.random.default_rng(95).normal(0.05, 0.6, size=40), dtype=jnp.float32), 0.9, 1.1),
)


register(Exercise(
    id="9.3",
    signature="lif_neuron(xs, decay, threshold)",
    objects=("lif_neuron",),
    probes=(
        probes.matches_reference(
            "lif_neuron", reference_lif_neuron_numpy, LIF_CASES,
            description="lif_neuron returns (v_T, spikes) for several inputs, decays (0, 0.5, 0.75, 0.9, 1) and thresholds",
            hint=(
                "Step through the first case by hand. Which value must the body get from the "
                "previous step, and how does it get it inside a scan?"
            ),
        ),
        probes.uses_primitive(
            "lif_neuron", LIF_CASES[0], LOOP_PRIMITIVES,
            description="the loop is a loop primitive: its jaxpr holds a scan or a while",
            hint=LOOP_HINT,
        ),
        probes.program_size_independent_of_length(
            "lif_neuron", lambda n: (jnp.linspace(-1.0, 2.0, n), 0.5, 1.0), recursive=True,
            description="the traced program, nested jaxprs included, does not grow with the sequence length",
            hint=LOOP_HINT,
        ),
        probes.jit_matches_eager("lif_neuron", LIF_CASES[:1]),
        probes.globals_unchanged("lif_neuron", LIF_CASES[:1], hint=SIDE_EFFECT_HINT),
        probes.no_leaked_tracers(
            "lif_neuron", LIF_CASES[:1],
            hint="The potential is assigned to a variable outside the step function: it must travel in the carry.",
        ),
    ),
    hints=(
        "Print what the given code's body sees as the previous potential, then think about when "
        "that line runs: once per step, or once per trace?",
        "A loop primitive hands a step only its carry and its slice of `xs`; anything else the "
        "body reads was fixed when it was traced. Put the potential in the carry (a float32 "
        "scalar from the start), emit the spike as the step's output, and reset with `jnp.where`.",
        "Spike when the integrated potential is strictly greater than the threshold, and emit "
        "that boolean; the carry after a spike is 0.0. The spike count is not needed: "
        "`spikes.sum()` gives it afterwards.",
    ),
))
