"""Chapter 10 · Refs: exercises 10.1–10.3.

Exercises 10.1 and 10.2 hand the reader's function a ``jax.Ref`` that it must update in place. The
probes thread one Ref through several calls (the shared fold probes, with a *drive* that
creates the Ref, calls the function and reads the Ref back after every call), eagerly and
under one ``jax.jit``.

Checker notes for Refs (JAX 0.12.0.1): ``copy.deepcopy`` of a Ref makes a new, independent
Ref, so ``probes.case`` gives every call a fresh one. The Ref arguments are judged by their
contents inside the drives; ``probes.inputs_unchanged`` judges the other arguments (the Ref's
position is in its ``ignore``), which the exercise text says belong to the caller.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.probes import case
from purestate.registry import Exercise, register

_SIDE_EFFECT_HINT = (
    "Calling the function changed something outside it other than the Ref it was given (a "
    "global, a list, an attribute). Everything the function records goes into the Ref argument."
)
_LEAK_HINT = (
    "Under jit your function runs once, with tracers: anything it stores outside itself (a list, "
    "a global, an attribute) keeps a tracer. A Ref is the place for values that outlive the call."
)
_INPUTS_HINT = (
    "The Ref is the only argument to change: a dict or NumPy array you were given belongs to the "
    "caller. Build new values (a new dict, `jnp` operations) instead of assigning into them."
)
_JIT_HINT = (
    "Under jit the values are tracers: `float(...)`, `.item()`, `if` on an array value, or a "
    "Python number kept between calls are read once, at trace time. Read the Ref with `[...]` "
    "and write the new value back with array operations only."
)

_rng = np.random.default_rng(10)


def _floats(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (_rng.normal(0.0, scale, size=shape)).round(3).astype(np.float32)


def _read(ref):
    return ref[...]


# 10.1 --------------------------------------------------------------------------------
# dense_logged(params, x, stats_ref): a dense layer that returns tanh(x @ W + b) and adds
# the statistics of its output, [number of elements, sum, sum of squares], into stats_ref.


@jax.jit  # compiled once per shape: cheaper than the same operations run eagerly
def _dense_logged(params, x, stats_ref):
    h = jnp.tanh(x @ params["W"] + params["b"])
    stats_ref[...] += jnp.stack([jnp.float32(h.size), jnp.sum(h), jnp.sum(h * h)])
    return h


@probes.reference
def reference_dense_logged(params, x, stats_ref):
    return _dense_logged(params, x, stats_ref)


def _layer(n_in: int, n_out: int) -> dict:
    return {"W": _floats(n_in, n_out, scale=0.8), "b": _floats(n_out, scale=0.3)}


def drive_dense_logged(dense_logged, params, xs, stats0):
    """One Ref through every batch: what each call returns and what the Ref holds after it."""
    stats_ref = jax.new_ref(jnp.asarray(stats0, jnp.float32))
    seen = {}
    for call, x in enumerate(xs, start=1):
        h = dense_logged(params, x, stats_ref)
        seen[f"call {call}"] = {"returned": h, "stats_ref[...] afterwards": _read(stats_ref)}
    return seen


# The Ref does not start at zero: a write that replaces its contents instead of adding to
# them shows at the first call. The eager probe uses one shape only (every new shape costs
# eager compilations, and the first check must stay fast); the jit folds use two shapes of
# one layer (one trace for both), and another layer whose output has another number of
# elements, so that a count hard-coded from one shape (8, or x.shape[0] * 2) fails.
_LAYER_A, _LAYER_B = _layer(3, 2), _layer(2, 5)
# The eager fold's dict lists its keys as b, W (jit hands the function its dicts with sorted
# keys, W first): an answer that unpacks `W, b = params.values()` fails there.
DENSE_EAGER_FOLDS = (
    case({"b": _LAYER_A["b"], "W": _LAYER_A["W"]}, [_floats(4, 3) for _ in range(2)],
         np.array([8.0, 1.5, 3.25], np.float32)),
)
DENSE_JIT_FOLDS = (
    case(_LAYER_A, [_floats(4, 3) for _ in range(3)], np.array([0.0, 0.0, 0.0], np.float32)),
    case(_LAYER_A, [_floats(4, 3, scale=2.0) for _ in range(3)], np.array([8.0, 1.5, 3.25], np.float32)),
)
# Another layer whose bias has a zero and a batch with a row of zeros: that output holds an
# exact 0.0, so counting the nonzero entries instead of all of them fails.
_LAYER_B_ZERO = {"W": _LAYER_B["W"], "b": _LAYER_B["b"] * np.array([1, 0, 1, 1, 1], np.float32)}
_X_ZERO_ROW = _floats(3, 2)
_X_ZERO_ROW[1] = 0.0
DENSE_OTHER_SHAPE_FOLDS = (
    case(_LAYER_B, [_floats(3, 2) for _ in range(2)], np.array([5.0, -2.0, 4.0], np.float32)),
    case(_LAYER_B_ZERO, [_X_ZERO_ROW], np.array([0.0, 0.0, 0.0], np.float32)),
)


def _dense_case(layer: dict, x: np.ndarray, stats0: list[float]):
    """Arguments for one call, with a fresh Ref (``case`` deep-copies it on every use)."""
    return case(layer, x, jax.new_ref(jnp.asarray(stats0, jnp.float32)))


DENSE_CASES = (_dense_case(_LAYER_A, _floats(4, 3), [0.0, 0.0, 0.0]),)

_DENSE = ("dense_logged",)

register(Exercise(
    id="10.1",
    signature="dense_logged(params, x, stats_ref)",
    objects=_DENSE,
    probes=(
        probes.fold_matches_reference(
            _DENSE, (reference_dense_logged,), DENSE_EAGER_FOLDS, drive_dense_logged,
            key="accumulates",
            description=(
                "over several calls, dense_logged returns tanh(x @ W + b) and stats_ref holds its "
                "starting value plus [elements, sum, sum of squares] of every output so far"
            ),
            hint=(
                "Add to what the Ref already holds (read it with `stats_ref[...]`, or use `+=`) "
                "instead of replacing it, and count the elements of the output, not its rows."
            ),
        ),
        probes.fold_matches_reference(
            _DENSE, (reference_dense_logged,), DENSE_JIT_FOLDS, drive_dense_logged,
            jit=_DENSE,
            key="accumulates-under-jit",
            description="one jax.jit(dense_logged), called three times with the same Ref, gives the same",
            hint=_JIT_HINT,
        ),
        probes.fold_matches_reference(
            _DENSE, (reference_dense_logged,), DENSE_OTHER_SHAPE_FOLDS, drive_dense_logged,
            jit=_DENSE,
            key="other-shapes",
            description="the same with another layer and batch size (outputs of 15 elements, some exactly 0)",
            hint=(
                "The statistics must follow the shapes of the arguments: count the elements of the "
                "output you computed, and use no number that only fits one shape."
            ),
        ),
        probes.fold_traces_once(
            _DENSE, DENSE_JIT_FOLDS, drive_dense_logged, "dense_logged",
            description="jax.jit(dense_logged) traces once for six calls with same-shaped arguments",
            hint=(
                "Something the trace depends on changes from call to call: a Python number "
                "computed from the Ref, or a static value. Keep every value in arrays."
            ),
        ),
        probes.inputs_unchanged(
            "dense_logged", DENSE_CASES, ignore=(2,),
            description="dense_logged leaves params and x unchanged (only the Ref changes)",
            hint=_INPUTS_HINT,
        ),
        probes.globals_unchanged("dense_logged", DENSE_CASES, hint=_SIDE_EFFECT_HINT),
        probes.no_leaked_tracers("dense_logged", DENSE_CASES[:1], hint=_LEAK_HINT),
    ),
    hints=(
        (
            "Compute the output first, then add one array of three statistics to the Ref you were "
            "given: `stats_ref[...]` reads its whole value, and assigning to `stats_ref[...]` (or "
            "`+=` on it) writes it back."
        ),
        (
            "The number of elements is the output's `.size`; the sum and the sum of squares are "
            "`jnp.sum` of the output and of its square. `jnp.stack` makes one float32 array of the "
            "three, which has the Ref's dtype. Return the output itself."
        ),
    ),
))

# 10.2 --------------------------------------------------------------------------------
# Diagnose and fix: a loss that records itself in a Python object is stale under jit.
# sgd_step(w, x, y, log_ref): one gradient step on mean((x @ w - y) ** 2) with learning rate
# 0.1; log_ref holds [number of steps, sum of the losses], and every step adds 1 and the
# loss at the w it was given.

LEARNING_RATE = 0.1


@jax.jit
def _sgd_step(w, x, y, log_ref):
    loss, grad = jax.value_and_grad(lambda w: jnp.mean((x @ w - y) ** 2))(w)
    log_ref[...] += jnp.stack([jnp.float32(1.0), loss])
    return w - LEARNING_RATE * grad


@probes.reference
def reference_sgd_step(w, x, y, log_ref):
    return _sgd_step(w, x, y, log_ref)


def drive_sgd(sgd_step, w, x, y, log0, steps):
    """The caller keeps w; one Ref records every step."""
    log_ref = jax.new_ref(jnp.asarray(log0, jnp.float32))
    seen = {}
    for step in range(1, steps + 1):
        w = sgd_step(w, x, y, log_ref)
        seen[f"step {step}"] = {"returned w": w, "log_ref[...] afterwards": _read(log_ref)}
    return seen


def _regression(n: int, d: int):
    x = _floats(n, d)
    true_w = _floats(d, scale=1.5)
    y = (x @ true_w + _floats(n, scale=0.1)).astype(np.float32)
    return x, y


_X_A, _Y_A = _regression(6, 3)
_X_B, _Y_B = _regression(4, 2)
# As in 10.1: one shape eagerly (a log that does not start at zero); under jit two runs of
# that shape (one trace for both), and one run of another shape (a hard-coded `/ 6` fails).
SGD_EAGER_FOLDS = (
    case(_floats(3), _X_A * 0.5, _Y_A - 1.0, np.array([10.0, 2.5], np.float32), 2),
)
SGD_JIT_FOLDS = (
    case(np.zeros(3, np.float32), _X_A, _Y_A, np.zeros(2, np.float32), 4),
    case(_floats(3), _X_A * 0.5, _Y_A - 1.0, np.array([10.0, 2.5], np.float32), 4),
)
SGD_OTHER_SIZE_FOLDS = (
    case(_floats(2), _X_B, _Y_B, np.array([3.0, 0.75], np.float32), 3),
)
SGD_CASES = (
    case(_floats(3), _X_A * 0.5, _Y_A - 1.0, jax.new_ref(jnp.zeros(2, jnp.float32))),
)

_SGD = ("sgd_step",)

register(Exercise(
    id="10.2",
    signature="sgd_step(w, x, y, log_ref)",
    objects=_SGD,
    probes=(
        probes.fold_matches_reference(
            _SGD, (reference_sgd_step,), SGD_EAGER_FOLDS, drive_sgd,
            key="steps-and-logs",
            description=(
                "step after step, sgd_step returns w - 0.1 * grad and log_ref gains 1 and the loss "
                "at the w it was given"
            ),
            hint=(
                "If this raised an error about a differentiated value and a non-differentiated array "
                "reference: what you write into the Ref must not carry a gradient "
                "(`jax.lax.stop_gradient`), or write it outside the differentiated function. "
                "Otherwise: record the loss before the update, add to the Ref instead of replacing "
                "it, and record once per step."
            ),
        ),
        probes.fold_matches_reference(
            _SGD, (reference_sgd_step,), SGD_JIT_FOLDS, drive_sgd,
            jit=_SGD,
            key="logs-under-jit",
            description="one jax.jit(sgd_step), four steps with the same Ref, gives the same",
            hint=_JIT_HINT,
        ),
        probes.fold_matches_reference(
            _SGD, (reference_sgd_step,), SGD_OTHER_SIZE_FOLDS, drive_sgd,
            jit=_SGD,
            key="other-sizes",
            description="the same with 4 examples of 2 features",
            hint=(
                "The loss is the mean over however many examples `x` has, and `w` has as many "
                "entries as `x` has columns: use no number that only fits one problem size."
            ),
        ),
        probes.fold_traces_once(
            _SGD, SGD_JIT_FOLDS, drive_sgd, "sgd_step",
            description="jax.jit(sgd_step) traces once over eight steps",
            hint=(
                "Something the trace depends on changes from step to step: a Python number kept "
                "between calls, or a value read from the Ref and converted to Python."
            ),
        ),
        probes.inputs_unchanged(
            "sgd_step", SGD_CASES, ignore=(3,),
            description="sgd_step leaves w, x and y unchanged (only the Ref changes)",
            hint=_INPUTS_HINT,
        ),
        probes.globals_unchanged("sgd_step", SGD_CASES, hint=_SIDE_EFFECT_HINT),
        probes.no_leaked_tracers("sgd_step", SGD_CASES, hint=_LEAK_HINT),
    ),
    hints=(
        (
            "The holder's attributes are read once, at trace time, and what the traced code "
            "assigns to them are tracers. Give the function the place to write instead: the Ref "
            "`log_ref`, updated with `log_ref[...] += ...`."
        ),
        (
            "Writing the loss into a Ref from inside the function that `jax.grad` differentiates "
            "raises an error, because the loss carries a gradient: record "
            "`jax.lax.stop_gradient(loss)`, or compute the loss and the gradient together with "
            "`jax.value_and_grad` and write the loss after it. Add 1 and the loss in one write."
        ),
    ),
))

# 10.3 --------------------------------------------------------------------------------
# A Ref kept to itself: highpass(xs, alpha) computes y_n = alpha * (y_{n-1} + x_n - x_{n-1})
# for n = 1 … N-1, from y_0 = 0, and returns [y_1, …, y_{N-1}]. A Ref created inside the
# function is invisible to its callers, so the function must behave as a pure one: same
# result twice, jit, vmap over a batch of signals, gradients with respect to xs and alpha.


@jax.jit  # an eager lax.scan compiles its body on every call
def _highpass(xs, alpha):
    def step(y, pair):
        x, previous = pair
        y = alpha * (y + x - previous)
        return y, y

    return jax.lax.scan(step, jnp.zeros((), xs.dtype), (xs[1:], xs[:-1]))[1]


@probes.reference
def reference_highpass(xs, alpha):
    return _highpass(jnp.asarray(xs), jnp.float32(alpha))


_SIGNAL = np.array([0.0, 1.0, 1.5, 1.25, 2.0, 3.5, 3.0, 2.0], np.float32)
HIGHPASS_CASES = (
    case(jnp.asarray(_SIGNAL), jnp.float32(0.9)),
    case(_SIGNAL[:5] * 2.0 - 1.0, 0.5),  # NumPy and a Python float: an in-place write would show
    case(jnp.asarray(_SIGNAL[::-1].copy()), jnp.float32(1.0)),  # edge: alpha = 1 keeps everything
    case(jnp.asarray(_SIGNAL), jnp.float32(0.0)),  # edge: alpha = 0 gives zeros
    case(jnp.asarray(_SIGNAL[2:4]), jnp.float32(0.9)),  # edge: N = 2 gives one output, shape (1,)
)
HIGHPASS_BATCHES = (
    case(jnp.stack([jnp.asarray(_SIGNAL), jnp.asarray(_SIGNAL[::-1].copy()), jnp.asarray(_SIGNAL) * 0.5]),
         jnp.float32(0.8)),
)
HIGHPASS_GRAD_CASES = (
    case(jnp.asarray(_SIGNAL), jnp.float32(0.9)),
)
_GRAD_WEIGHTS = jnp.linspace(1.0, 2.0, len(_SIGNAL) - 1)


def _highpass_loss(ys):
    return jnp.sum(jnp.asarray(ys) * _GRAD_WEIGHTS[: jnp.shape(ys)[0]])


register(Exercise(
    id="10.3",
    signature="highpass(xs, alpha)",
    objects=("highpass",),
    probes=(
        probes.matches_reference(
            "highpass", reference_highpass, HIGHPASS_CASES,
            hint=(
                "N samples give N - 1 outputs, starting from y_0 = 0: y_1 uses x_1 - x_0. Check "
                "a signal of another length too, and alpha = 0 and 1."
            ),
        ),
        probes.inputs_unchanged(
            "highpass", HIGHPASS_CASES[1:2],
            hint="Do not use the input array as your buffer: a Ref made with jax.new_ref holds a copy.",
        ),
        probes.globals_unchanged("highpass", HIGHPASS_CASES[:1], hint=_SIDE_EFFECT_HINT),
        probes.deterministic(
            "highpass", HIGHPASS_CASES[:2],
            hint=(
                "A second call with the same signal answered differently: the running value survived "
                "the first call. Create the Ref inside the function, on every call."
            ),
        ),
        probes.jit_matches_eager("highpass", HIGHPASS_CASES[:1], hint=_JIT_HINT),
        probes.vmap_matches_loop(
            "highpass", HIGHPASS_BATCHES, in_axes=(0, None),
            hint=(
                "Under vmap each signal writes its own running value: a Ref that lives outside the "
                "function (even one reset at every call) is one place for the whole batch, and vmap "
                "refuses the write. Create the Ref inside the function."
            ),
        ),
        probes.grad_of_loss_matches_reference(
            "highpass", reference_highpass, HIGHPASS_GRAD_CASES, _highpass_loss,
            argnums=(0, 1), jit=True,
            description="gradients with respect to xs and alpha flow through highpass",
            hint=(
                "Refs created inside a function are differentiated like any value: no "
                "stop_gradient here (that is for values written into a Ref from outside), and no "
                "NumPy or float() conversions."
            ),
        ),
        probes.no_leaked_tracers("highpass", HIGHPASS_CASES[:1], hint=_LEAK_HINT),
    ),
    hints=(
        (
            "Create two Refs inside the function, one for the running value y (starting at zero) "
            "and one for the outputs, loop over n from 1 to N - 1 reading the signal at n and n - 1, "
            "and return the outputs' final value (`ref[...]` or `jax.ref.freeze`)."
        ),
        (
            "The Refs must be new on every call, made with `jax.new_ref` in the function body: a Ref "
            "made once at module level keeps its value between calls and cannot be written under "
            "vmap. `lax.scan` over the pairs (x_n, x_{n-1}) is a pure alternative without Refs."
        ),
    ),
))
