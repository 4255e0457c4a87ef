"""Chapter 13 · Capstone: exercises 13.1 and 13.2.

13.1 asks for the heart of the loop: ``make_train_step(loss_fn, optimizer)`` returns a
jitted step that donates its state and keeps every piece of it explicit (parameters,
optimizer state, batch-norm statistics, a key and a step counter). The checker hands it a
loss and an optimizer of its own (plain JAX with optax's ``init``/``update`` interface, so
that the check does not need optax), then runs a few steps and compares with its reference.
13.2 asks for several epochs as a scan of scans, ``train_epochs(train_step, state,
batches, epochs)``, whose program does not grow with the number of steps or epochs.

Checker notes (JAX 0.12.0.1): a donated state is deleted by the call, so every probe builds
fresh states from NumPy arrays. A loss that consumes the dropout key itself (instead of a key
folded with the step) and returns the key unchanged raises ``jax.errors.KeyReuseError`` at
the second call under ``jax.debug_key_reuse(True)``: a key consumed inside a jitted function
is marked as used, and passing it again is caught at the call.
"""

from __future__ import annotations

import functools
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.compare import mismatch
from purestate.probes import case
from purestate.registry import Exercise, register
from purestate.probes.purity import first_change, hidden_state
from purestate.probes.tracing import checking_leaks_briefly, is_leak
from purestate.runner import ProbeFailure, ReaderError

_rng = np.random.default_rng(1313)


def _floats(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (_rng.normal(0.0, scale, size=shape)).round(3).astype(np.float32)


_SIDE_EFFECT_HINT = (
    "Calling the step changed something outside it (a global, a list, an attribute). "
    "Everything a step produces leaves it through its return value: the new state and the loss."
)

# 13.1 --------------------------------------------------------------------------------
# make_train_step(loss_fn, optimizer) -> train_step, a jax.jit function donating `state`:
#   state = {"params", "stats", "opt_state", "key", "step"}, batch = (x, y)
#   dropout key = fold_in(state["key"], state["step"])
#   (loss, new_stats), grads = value_and_grad(loss_fn, has_aux=True)(params, stats, dropout_key, x, y)
#   updates, new_opt_state = optimizer.update(grads, opt_state, params); params + updates
#   returns ({"params", "stats": new_stats, "opt_state", "key": unchanged, "step": step + 1}, loss)

KEEP = 0.75  # of the checker's dropout
LEARNING_RATE = 0.1
BETA = 0.9


def checker_loss(params, stats, key, x, y):
    """A linear layer, centred by the batch mean (running mean returned), dropout, a sum."""
    h = x @ params["w"]
    mean = h.mean(0)
    new_stats = {"mean": BETA * stats["mean"] + (1 - BETA) * mean}
    keep = jax.random.bernoulli(key, KEEP, h.shape)
    h = jnp.where(keep, (h - mean) / KEEP, 0.0)
    pred = h.sum(1) + params["b"]
    return jnp.mean((pred - y) ** 2), new_stats


class Optimizer(NamedTuple):
    """optax's interface: ``init(params)`` and ``update(grads, state, params=None)``."""

    init: Any
    update: Any


def _momentum_init(params):
    return {"velocity": jax.tree.map(jnp.zeros_like, params), "count": jnp.zeros((), jnp.int32)}


def _momentum_update(grads, state, params=None):
    velocity = jax.tree.map(lambda v, g: BETA * v + g, state["velocity"], grads)
    updates = jax.tree.map(lambda v: -LEARNING_RATE * v, velocity)
    return updates, {"velocity": velocity, "count": state["count"] + 1}


OPTIMIZER = Optimizer(_momentum_init, _momentum_update)


def checker_loss_again(params, stats, key, x, y):
    """``checker_loss`` as another function: a second build of the step, from another loss.

    A ``make_train_step`` that stores its loss in a global for a jitted step defined once, at
    module level, changes that global when it is given another loss (and its step, traced with
    the first loss, keeps using it).
    """
    return checker_loss(params, stats, key, x, y)


@probes.reference
def reference_make_train_step(loss_fn, optimizer):
    def train_step(state, batch):
        x, y = batch
        dropout_key = jax.random.fold_in(state["key"], state["step"])
        (loss, stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(
            state["params"], state["stats"], dropout_key, x, y
        )
        updates, opt_state = optimizer.update(grads, state["opt_state"], state["params"])
        params = jax.tree.map(jnp.add, state["params"], updates)
        new_state = {"params": params, "stats": stats, "opt_state": opt_state,
                     "key": state["key"], "step": state["step"] + 1}
        return new_state, loss

    return train_step


_W0 = _floats(3, 2, scale=0.5)
_B0 = np.float32(0.1)
_XS = _floats(4, 8, 3)
_YS = _floats(4, 8)
_SEED = 7
_START_STEP = 5  # not 0: a step counter that is ignored or restarted shows


def fresh_state() -> dict:
    """A new state of the checker's own (fresh arrays: a donating step deletes them)."""
    params = {"w": jnp.array(_W0), "b": jnp.array(_B0)}
    return {
        "params": params,
        "stats": {"mean": jnp.zeros(2)},
        "opt_state": _momentum_init(params),
        "key": jax.random.key(_SEED),
        "step": jnp.array(_START_STEP, dtype=jnp.int32),
    }


def _batch(t: int) -> tuple[jax.Array, jax.Array]:
    return jnp.asarray(_XS[t]), jnp.asarray(_YS[t])


def _comparable(state: Any) -> Any:
    """The state with its PRNG key as raw key data (compare.mismatch compares numbers)."""
    if isinstance(state, dict) and "key" in state:
        key = state["key"]
        if isinstance(key, jax.Array) and jax.dtypes.issubdtype(key.dtype, jax.dtypes.prng_key):
            state = {**state, "key": jax.random.key_data(key)}
    return state


def _expected(steps: int) -> tuple[dict, jax.Array]:
    step = reference_make_train_step(checker_loss, OPTIMIZER)

    # One small compilation for the whole run: eager steps take seconds, unrolled ones longer.
    return jax.jit(lambda state, xs, ys: jax.lax.scan(step, state, (xs, ys)))(
        fresh_state(), _XS[:steps], _YS[:steps]
    )


_EXPECTED: list = []  # computed once, on the first check (no JAX work at import)


def _expected_run() -> tuple[dict, jax.Array]:
    if not _EXPECTED:
        _EXPECTED.append(_expected(len(_XS)))
    return _EXPECTED[0]


def _build(answer: probes.Answer, loss_fn: Any = checker_loss) -> Any:
    step = answer.call("make_train_step", loss_fn, OPTIMIZER)
    if not callable(step):
        raise ProbeFailure(f"make_train_step returned {type(step).__name__}, not a function")
    return step


def _jitted(step: Any) -> Any:
    """The ``jax.jit`` function of a step, also under ``functools.partial`` (static arguments bound)."""
    while isinstance(step, functools.partial):
        step = step.func
    return step


def _cache_size(step: Any) -> int | None:
    jitted = _jitted(step)
    # eqx.filter_jit (Equinox's jit, which also donates) keeps its jax.jit function in `_cached`.
    size = getattr(jitted, "_cache_size", None) or getattr(getattr(jitted, "_cached", None), "_cache_size", None)
    return size() if callable(size) else None


def _unjitted(step: Any) -> Any:
    """The Python function under the reader's ``jax.jit`` (partial arguments kept), to trace anew.

    The reader's jit has traced its function already, and a later trace through it would reuse
    that trace.
    """
    if isinstance(step, functools.partial):
        return functools.partial(_unjitted(step.func), *step.args, **step.keywords)
    return getattr(step, "__wrapped__", step)


def _run(answer: probes.Answer, step: Any, steps: int) -> tuple[Any, list, int]:
    """``steps`` steps from a fresh state; also how many old arrays the first step left alive."""
    state, losses, alive = fresh_state(), [], 0
    for t in range(steps):
        old = jax.tree.leaves(state["params"]) + jax.tree.leaves(state["opt_state"])
        result = answer.call_transformed("train_step", step, state, _batch(t))
        if not (isinstance(result, tuple) and len(result) == 2):
            raise ProbeFailure("train_step should return a pair (new_state, loss)")
        if t == 0:
            alive = sum(not leaf.is_deleted() for leaf in old)
        state, loss = result
        losses.append(loss)
    return state, losses, alive


def _record_run(answer: probes.Answer) -> dict:
    """One build and one run of the reader's step, under ``jax.debug_key_reuse(True)``.

    The probes that only read its results share it (``answer.shared``): each build is a new
    ``jax.jit`` function, and each compilation costs most of a check. After a key reuse the
    run is repeated without the check, so that the other probes still judge the results.
    """
    step = _build(answer)
    cached = _cache_size(step)  # a jit of the reader's module may hold traces of an earlier check
    reuse = False
    try:
        with jax.debug_key_reuse(True):
            state, losses, alive = _run(answer, step, len(_XS))
    except ReaderError as error:
        if not isinstance(error.error, jax.errors.KeyReuseError):
            raise
        reuse = True
        step = _build(answer)
        cached = _cache_size(step)
        state, losses, alive = _run(answer, step, len(_XS))
    size = _cache_size(step)
    return dict(
        step=step, state=state, losses=losses, alive=alive, reuse=reuse,
        compilations=None if size is None else size - (cached or 0),
    )


def _losses_match() -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        losses = answer.shared(_record_run)["losses"]
        _, expected = _expected_run()
        found = mismatch(expected, jnp.stack([jnp.asarray(v) for v in losses]))
        if found:
            raise ProbeFailure(f"the losses of {len(_XS)} steps from the same state: {found}")

    return probes.Probe(
        "losses-match",
        f"{len(_XS)} steps give the reference's losses",
        run,
        hint=(
            "The loss of a step is the one loss_fn returns for the state's parameters and "
            "statistics, with the dropout key folded from the state's key and step number."
        ),
    )


def _state_matches() -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        state = answer.shared(_record_run)["state"]
        expected, _ = _expected_run()
        if not isinstance(state, dict) or set(state) != set(expected):
            raise ProbeFailure(
                "the new state should be a dict with the keys 'params', 'stats', 'opt_state', "
                f"'key' and 'step'; got {sorted(state) if isinstance(state, dict) else type(state).__name__}"
            )
        for name in ("params", "stats", "opt_state", "key", "step"):
            found = mismatch(_comparable(expected)[name], _comparable(state)[name])
            if found:
                raise ProbeFailure(f"after {len(_XS)} steps, state[{name!r}]: {found}")

    return probes.Probe(
        "state-matches",
        f"after {len(_XS)} steps every part of the state is the reference's",
        run,
        hint=(
            "Every part of the state leaves the step: the updated parameters, the statistics "
            "loss_fn returned (through has_aux), the optimizer's new state, the same key, and "
            "the step number plus one, an int32 like the one you were given."
        ),
    )


def _traces_once() -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        compilations = answer.shared(_record_run)["compilations"]
        if compilations is None:
            raise ProbeFailure(
                "make_train_step returned a plain function, not a jax.jit function: every step "
                "runs eagerly, one operation at a time"
            )
        if compilations > 1:
            raise ProbeFailure(
                f"train_step was compiled {compilations} times for {len(_XS)} steps whose states "
                "differ only in values; expected once"
            )

    return probes.Probe(
        "traces-once",
        "train_step is a jax.jit function, compiled once over steps that differ only in values",
        run,
        hint=(
            "make_train_step returns a `jax.jit` function, and every part of the state is an "
            "array: a Python number in the state, or an argument marked static, makes a new "
            "compilation at every step."
        ),
    )


def _donates_state() -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        alive = answer.shared(_record_run)["alive"]
        if alive:
            raise ProbeFailure(
                f"after one step, {alive} of the arrays of the old parameters and optimizer state "
                "are still alive: the state was not donated"
            )

    return probes.Probe(
        "donates-state",
        "train_step donates the state: the old parameters and optimizer state are deleted by a step",
        run,
        hint=(
            "Donation is an option of `jax.jit`: `donate_argnums` or `donate_argnames` names the "
            "state (not the batch), on the outermost `jax.jit`."
        ),
    )


def _no_key_reuse() -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        if answer.shared(_record_run)["reuse"]:
            raise ProbeFailure(
                f"a PRNG key was used twice over {len(_XS)} steps (jax.errors.KeyReuseError under "
                "jax.debug_key_reuse(True))"
            )

    return probes.Probe(
        "no-key-reuse",
        f"no PRNG key is used twice over {len(_XS)} steps (jax.debug_key_reuse)",
        run,
        hint=(
            "The state's key is the same at every step: it must never be consumed itself. Derive "
            "each step's dropout key from it and the step number with jax.random.fold_in."
        ),
    )


def _globals_unchanged() -> probes.Probe:
    """``globals_unchanged`` over a build, a fresh trace and a compiled call of the step.

    A side effect in a jitted step runs when it is traced, and the shared run has traced it
    already: a trace of the function under the reader's jit (``__wrapped__``, no compilation)
    runs it again. This build is given another loss function than the shared run's, so that a
    loss kept in a global (for a step jitted once, at module level) shows as a change.
    """

    def run(answer: probes.Answer) -> None:
        factory = answer.make_train_step
        before = hidden_state(factory, "make_train_step")
        step = _build(answer, checker_loss_again)
        label = first_change(before, hidden_state(factory, "make_train_step"))
        if label:
            raise ProbeFailure(
                f"calling make_train_step changed {label}: a step made for one loss_fn and "
                "optimizer must not change what another step uses"
            )
        inner = _unjitted(step)
        before = hidden_state(inner, "train_step")
        answer.call_transformed("jax.make_jaxpr(train_step)", jax.make_jaxpr(inner), fresh_state(), _batch(0))
        shared = answer.shared(_record_run)
        with jax.debug_key_reuse(not shared["reuse"]):  # the setting the shared run compiled under
            answer.call_transformed("train_step", shared["step"], fresh_state(), _batch(0))
        label = first_change(before, hidden_state(inner, "train_step"))
        if label:
            raise ProbeFailure(
                f"a step changed {label}: inside a jitted step it runs once per trace, not once per "
                "step, and a pure step keeps what it computes in its return value"
            )

    return probes.Probe(
        "globals-unchanged",
        "make_train_step and train_step change no global, attribute or closed-over variable",
        run,
        hint=_SIDE_EFFECT_HINT,
    )


def _leaks() -> probes.Probe:
    """A trace (no compilation) of the function under the reader's jit (``_unjitted``), under checking_leaks."""

    def run(answer: probes.Answer) -> None:
        step = answer.shared(_record_run)["step"]
        traced = jax.make_jaxpr(_unjitted(step))
        try:
            with checking_leaks_briefly():
                answer.call_transformed("jax.make_jaxpr(train_step)", traced, fresh_state(), _batch(0))
        except ReaderError as error:
            if is_leak(error.error):
                raise ProbeFailure(
                    "tracing train_step leaked a tracer: a value from inside the trace is kept after "
                    "the step returned (in a list, a global or an attribute)"
                ) from None
            raise

    return probes.Probe(
        "no-leaked-tracers",
        "tracing train_step leaks no tracer",
        run,
        hint=(
            "A value computed inside the step (the loss, a gradient) must leave it only through "
            "the return value: do not append it to a list or store it in a global."
        ),
    )


register(Exercise(
    id="13.1",
    signature="make_train_step(loss_fn, optimizer)",
    objects=("make_train_step",),
    probes=(
        _losses_match(),
        _state_matches(),
        _no_key_reuse(),
        _traces_once(),
        _donates_state(),
        _globals_unchanged(),
        _leaks(),
    ),
    hints=(
        (
            "Write the step as a function of (state, batch) inside make_train_step, so that it "
            "closes over loss_fn and optimizer, and return it wrapped in `jax.jit` with the "
            "state donated."
        ),
        (
            "Inside: fold the step number into the state's key for dropout; "
            "`jax.value_and_grad(loss_fn, has_aux=True)` gives the loss, the new statistics and "
            "the gradients; `optimizer.update(grads, opt_state, params)` gives updates to add to "
            "the parameters (`jax.tree.map` or `optax.apply_updates`). Return a new dict with all "
            "five entries, and the loss."
        ),
    ),
))

# 13.2 --------------------------------------------------------------------------------
# train_epochs(train_step, state, batches, epochs) -> (state, losses), losses of shape
# (epochs, steps): `epochs` passes over the stacked batches (leading axis: steps), with
# lax.scan (or another loop primitive), so that the program does not grow with either.


def checker_step(state, batch):
    """A pure step of the checker's: SGD on a linear regression, with a step counter."""
    x, y = batch
    loss, grad = jax.value_and_grad(lambda w: jnp.mean((x @ w - y) ** 2))(state["w"])
    return {"w": state["w"] - 0.05 * grad, "step": state["step"] + 1}, loss


@functools.cache
def _jitted_step(step):
    """The checker's own steps, compiled once (eager steps cost most of a check)."""
    return jax.jit(step)


@probes.reference
def reference_train_epochs(train_step, state, batches, epochs):
    batches = jax.tree.map(np.asarray, batches)  # NumPy indexing: no eager gather to compile
    train_step = _jitted_step(train_step)
    losses = []
    for _ in range(epochs):
        row = []
        steps = jax.tree.leaves(batches)[0].shape[0]
        for t in range(steps):
            state, loss = train_step(state, jax.tree.map(lambda b: b[t], batches))
            row.append(loss)
        losses.append(jnp.stack(row))
    return state, jnp.stack(losses)


def _epoch_state() -> dict:
    return {"w": _floats(3), "step": np.int32(0)}


_EX = _floats(6, 5, 3)
_EY = _floats(6, 5)


def _epoch_batches(steps: int) -> tuple[np.ndarray, np.ndarray]:
    """``steps`` batches: the first rows of ``_EX``, ``_EY``, repeated past six (only traced there)."""
    rows = np.arange(steps) % len(_EX)
    return _EX[rows], _EY[rows]


def checker_step_dict(state, batch):
    """The same step for batches that are dicts ``{"x": ..., "y": ...}``."""
    return checker_step(state, (batch["x"], batch["y"]))


_STATE_E = _epoch_state()
# The batches are JAX arrays, as a training loop has them: an answer that indexes them with a
# traced step number (fori_loop) is right. The third case's batches are a dict, the other
# pytree the task names: an answer that unpacks `xs, ys = batches` fails there.
EPOCH_CASES = (
    case(checker_step, _STATE_E, tuple(map(jnp.asarray, _epoch_batches(4))), 3),
    case(checker_step, _STATE_E, tuple(map(jnp.asarray, _epoch_batches(2))), 1),
    case(checker_step_dict, _STATE_E, {"x": jnp.asarray(_EX[2:5]), "y": jnp.asarray(_EY[2:5])}, 2),
)


def _epochs_match() -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        for make in EPOCH_CASES:
            args = make()
            got = answer.call("train_epochs", *args)
            expected = reference_train_epochs(*make())
            if not (isinstance(got, tuple) and len(got) == 2):
                raise ProbeFailure("train_epochs should return a pair (state, losses)")
            found = mismatch(expected[1], got[1])
            if found:
                steps = jax.tree.leaves(args[2])[0].shape[0]
                raise ProbeFailure(f"losses of {args[3]} epoch(s) of {steps} steps: {found}")
            found = mismatch(expected[0], got[0])
            if found:
                raise ProbeFailure(f"the final state after {args[3]} epoch(s): {found}")

    return probes.Probe(
        "results",
        "train_epochs returns the reference's final state and losses, shaped (epochs, steps), for tuple and dict batches",
        run,
        hint=(
            "Each epoch starts from the state the previous one ended with, and goes through every "
            "batch in order. The losses keep one row per epoch and one column per step."
        ),
    )


_GROWS_HINT = (
    "A Python loop is unrolled into the traced program, also inside a nested jax.jit, and so "
    "is a scan with unroll=True once it is compiled. Use lax.scan (or fori_loop) for the steps "
    "and for the epochs, one inside the other, without unroll=True."
)

register(Exercise(
    id="13.2",
    signature="train_epochs(train_step, state, batches, epochs)",
    objects=("train_epochs",),
    probes=(
        _epochs_match(),
        probes.program_size_independent_of_length(
            "train_epochs",
            lambda n: (checker_step, _epoch_state(), _epoch_batches(2), n),
            lengths=(2, 5), static_argnums=(0, 3), recursive=True, unrolled_at=64,
            key="constant-size-in-epochs",
            description="the traced program of train_epochs does not grow with the number of epochs",
            hint=_GROWS_HINT,
        ),
        probes.program_size_independent_of_length(
            "train_epochs",
            lambda n: (checker_step, _epoch_state(), _epoch_batches(n), 2),
            lengths=(2, 6), static_argnums=(0, 3), recursive=True, unrolled_at=64,
            key="constant-size-in-steps",
            description="the traced program of train_epochs does not grow with the number of steps",
            hint=_GROWS_HINT,
        ),
        probes.inputs_unchanged("train_epochs", EPOCH_CASES[1:]),
        probes.globals_unchanged("train_epochs", EPOCH_CASES[1:2], hint=_SIDE_EFFECT_HINT),
        probes.no_leaked_tracers("train_epochs", EPOCH_CASES[1:2], static_argnums=(0, 3)),
    ),
    hints=(
        (
            "One epoch is a lax.scan of train_step over the batches; several epochs are a "
            "lax.scan over epochs whose body runs that scan."
        ),
        (
            "The outer scan has nothing to scan over but a count: give it `length=epochs` and "
            "`None` as xs. Its carry is the state, and what each epoch returns (the row of losses) "
            "is stacked into the (epochs, steps) array."
        ),
    ),
))
