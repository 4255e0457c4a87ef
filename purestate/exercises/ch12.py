"""Chapter 12 · Stateful libraries on the pure core: exercises 12.1 (optax) and 12.2 (Equinox).

The ``purestate`` package does not depend on optax or Equinox: this module imports them only
when a probe runs, and a missing library fails every probe with a message that says what to
install (instead of an ``ImportError`` from the middle of a probe).

Speed: an eager optax or Equinox step dispatches and compiles dozens of small operations (4 s
for the first eager step here, under load), and every new ``jax.jit`` wrapper compiles again.
So each exercise runs the reader's step once per check, under one counted jit
(``jax.jit`` for 12.1; ``eqx.filter_jit`` for 12.2, whose model has a string and a bool
leaf that ``jax.jit`` refuses), inside ``jax.checking_leaks()`` and between two fingerprints
of what the step can reach (``hidden_state``); the probes then judge parts of that one
record: results against the reference, trace count, leaks, side effects. The record belongs
to the ``Answer`` of one check, so a later check runs the reader's code again.
"""

from __future__ import annotations

import functools
import importlib
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.compare import mismatch
from purestate.probes import Probe, case
from purestate.probes.core import Answer, _fail
from purestate.probes.purity import first_change, hidden_state
from purestate.probes.tracing import checking_leaks_briefly, is_leak
from purestate.registry import Exercise, register
from purestate.runner import ProbeFailure, call_reader

PINS = {"optax": "optax==0.2.8", "equinox": "equinox==0.13.8"}


def _require(module: str, exercise_id: str) -> Any:
    """The library, or a probe failure that says how to install it."""
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ProbeFailure(
            f"exercise {exercise_id} needs {module}, which is not installed: run "
            f"`%pip install {PINS[module]}` (it keeps your JAX), restart the kernel, and check again"
        ) from None


# The first probe of a check runs every step of the reader's (one or two compilations, and the
# library's import): more than the default limit allows on a busy machine.
_TIME_LIMIT_S = 30.0

_SIDE_EFFECT_HINT = (
    "Calling the step changed something outside it (a global, a list, an attribute, a counter "
    "on the function). Everything a step changes goes out through what it returns."
)
_LEAK_HINT = (
    "Under jit your step runs once, with tracers: anything it keeps outside itself (a global, a "
    "list, an attribute) holds a tracer afterwards. Return the new state instead."
)

_rng = np.random.default_rng(12)


def _floats(*shape: int, scale: float = 1.0) -> np.ndarray:
    return _rng.normal(0.0, scale, size=shape).round(3).astype(np.float32)


class _Record:
    """What one check saw of the reader's step: results per run, traces, leaks, side effects."""

    def __init__(self) -> None:
        self.results: dict[str, Any] = {}
        self.traces = 0
        self.leak = ""
        self.side_effect = ""


def _record_runs(answer: Answer, name: str, label: str, make_jit: Any, runs: dict[str, Any], drive: Any) -> _Record:
    """Run ``drive(step, *case)`` for every case of every run, with one counted jit of ``name``.

    The first pass runs under ``jax.checking_leaks()``; if it finds a leak, the leak is
    recorded and the runs are repeated without the check (a fresh jit), so that the other
    probes still judge the results.
    """
    record = _Record()
    fn = getattr(answer, name)

    def counted(*args: Any) -> Any:
        record.traces += 1
        return fn(*args)

    def attempt(check_leaks: bool) -> None:
        jitted = make_jit(counted)

        def step(*args: Any) -> Any:
            return call_reader(label, jitted, *args)

        for run_name, cases in runs.items():
            try:
                if check_leaks:
                    with checking_leaks_briefly():
                        record.results[run_name] = [drive(answer, step, *make()) for make in cases]
                else:
                    record.results[run_name] = [drive(answer, step, *make()) for make in cases]
            except BaseException as error:  # noqa: BLE001 - replayed to the probes that ask
                cause = getattr(error, "error", None) or error.__cause__ or error
                if check_leaks and (is_leak(error) or is_leak(cause)):
                    record.leak = str(error).splitlines()[0] if str(error) else type(error).__name__
                    record.results.clear()
                    record.traces = 0
                    attempt(False)
                    return
                record.results[run_name] = error

    before = hidden_state(fn, name)
    attempt(True)  # in the probe's thread, where matmuls run at full float32 precision
    where = first_change(before, hidden_state(fn, name))
    if where:
        record.side_effect = f"running {label} changed {where}"
    return record


def _results(record: _Record, run_name: str) -> list:
    found = record.results[run_name]
    if isinstance(found, BaseException):
        raise found
    return found


# The steps a plain SGD step takes (12.2) are compared to 1e-6: the parameters' own tolerance
# (1e-5, and 1e-4 of values near 1) hides a weight decay of 1e-4 (0.1 * 1e-4 * w a step).
_ATOL = {"sgd steps taken": 1e-6}


def _matches(compute: Any, run_name: str, expected: Any, what: str, parts: tuple[str, ...]) -> Any:
    """A probe's ``run``: the parts ``parts`` of every case of ``run_name`` equal the reference's."""

    def run(answer: Answer) -> None:
        got_all = _results(answer.shared(compute), run_name)
        for index, got in enumerate(got_all):
            want = expected(run_name, index)
            for part in parts:
                found = mismatch(
                    _comparable(want[part]), _comparable(got[part]), rtol=1e-4, atol=_ATOL.get(part, 1e-5)
                )
                if found:
                    _fail(f"{what}, case {index + 1}, {part}: {found}")

    return run


def _traces_at_most(compute: Any, limit: int, label: str, why: str) -> Any:
    def run(answer: Answer) -> None:
        record = answer.shared(compute)
        for run_name in record.results:
            _results(record, run_name)
        if record.traces > limit:
            _fail(f"{label} traced {record.traces} times; expected at most {limit} ({why})")

    return run


def _no_leak(compute: Any, label: str) -> Any:
    def run(answer: Answer) -> None:
        record = answer.shared(compute)
        if record.leak:
            _fail(f"under jax.checking_leaks(), {label} leaked a tracer: {record.leak}")

    return run


def _no_side_effect(compute: Any) -> Any:
    def run(answer: Answer) -> None:
        record = answer.shared(compute)
        if record.side_effect:
            _fail(f"{record.side_effect}: a pure step keeps what it computes in its return value")

    return run


def _comparable(value: Any) -> Any:
    """Equinox ``State`` objects compare by their leaves (the running statistics, the counter)."""
    try:
        import equinox as eqx
    except ImportError:
        return value
    def leaves(state: Any) -> Any:
        found = jax.tree.leaves(state)
        if len(found) == 3:  # one BatchNorm in "batch" mode: its counter, mean and variance
            return dict(zip(("batches counted", "running mean", "running variance"), found))
        return found

    return jax.tree.map(
        lambda v: leaves(v) if isinstance(v, eqx.nn.State) else v,
        value, is_leaf=lambda v: isinstance(v, eqx.nn.State),
    )


# 12.1 --------------------------------------------------------------------------------
# init_opt_state(params) and train_step(params, opt_state, batch) with optax:
# prediction batch["x"] @ params["w"] + params["b"], loss mean((prediction - batch["y"]) ** 2),
# optimizer optax.chain(optax.clip_by_global_norm(1.0),
#                       optax.adam(optax.exponential_decay(0.1, transition_steps=4, decay_rate=0.5))).


@functools.cache
def _optimizer() -> Any:
    optax = _require("optax", "12.1")
    schedule = optax.exponential_decay(0.1, transition_steps=4, decay_rate=0.5)
    return optax.chain(optax.clip_by_global_norm(1.0), optax.adam(schedule))


def _loss(params, batch):
    return jnp.mean((batch["x"] @ params["w"] + params["b"] - batch["y"]) ** 2)


@functools.cache
def _jitted_step() -> Any:
    optimizer = _optimizer()
    optax = _require("optax", "12.1")

    @jax.jit
    def step(params, opt_state, batch):
        with jax.default_matmul_precision("highest"):
            loss, grads = jax.value_and_grad(_loss)(params, batch)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    return step


@probes.reference
def reference_init_opt_state(params):
    return _optimizer().init(params)


@probes.reference
def reference_train_step(params, opt_state, batch):
    return _jitted_step()(params, opt_state, batch)


def _step_taken(new: Any, old: Any) -> Any:
    """new - old, leaf by leaf, exactly (float64 from the float32 values); None if the trees differ."""
    try:
        return jax.tree.map(lambda a, b: np.asarray(a, np.float64) - np.asarray(b, np.float64), new, old)
    except Exception:  # another structure: the comparison of the parameters names it
        return None


def _train(init_opt_state, train_step, params, batches) -> dict:
    opt_state = init_opt_state(params)
    out: dict = {"params": [], "losses": [], "steps taken": []}
    for batch in batches:
        old = params
        params, opt_state, loss = train_step(params, opt_state, batch)
        out["params"].append(params)
        out["losses"].append(loss)
        out["steps taken"].append(_step_taken(params, old))
    return out


def _batch(n: int, scale: float = 1.0, shift: float = 0.0) -> dict:
    x = _floats(n, 3, scale=scale)
    y = (x @ np.array([1.5, -2.0, 0.5], np.float32) + 0.8 + shift + _floats(n, scale=0.1)).astype(np.float32)
    return {"x": x, "y": y}


def _params(scale: float = 0.5) -> dict:
    return {"w": _floats(3, scale=scale), "b": np.float32(_floats(1, scale=scale)[0])}


# Batches of 8 and 5 examples (a hard-coded `/ 8` fails); large residuals in the first batch,
# so the gradient's norm is far above 1 and clipping matters. (From these parameters every
# gradient norm stays above 3; the last threaded run, from the true parameters, goes below 1.)
# The first threaded run takes 33 steps: the schedule halves the learning rate every 4 steps,
# down to 0.1 / 256 at the last, so a schedule with a floor (`end_value=1e-3`, reached at
# step 28) fails there, as a staircase or a late start fails early.
_BATCH_BIG, _BATCH_SMALL = _batch(8, scale=2.0, shift=3.0), _batch(5)
_BATCH_A, _BATCH_B = _batch(8), _batch(8, shift=0.5)
_TRUE_PARAMS = {"w": np.array([1.5, -2.0, 0.5], np.float32), "b": np.float32(0.8)}
_BATCH_OFFSET = (lambda x: {"x": x, "y": (x @ _TRUE_PARAMS["w"] + 1.8).astype(np.float32)})(
    np.random.default_rng(1212).normal(size=(8, 3)).round(3).astype(np.float32)
)  # the targets 1.0 above the true line
# Targets 0.001 above the true line: from the true parameters, gradients of 2e-3 and less,
# where Adam's first step is lr * g / (|g| + 1e-8), lr times the sign of g to 1e-5, whatever
# the rounding of g. Adam's eps put under the square root, as in `sqrt(v_hat + 1e-8)`,
# shortens that step by 1e-8 / (2 g**2), 0.1% or more (1e-4 and more of the parameters).
_BATCH_NEAR = {"x": _BATCH_OFFSET["x"], "y": (_BATCH_OFFSET["x"] @ _TRUE_PARAMS["w"] + 0.801).astype(np.float32)}
TRAIN_RUNS = {
    "first step": (
        case(_params(), [_BATCH_BIG]), case(_params(), [_BATCH_SMALL]), case(_TRUE_PARAMS, [_BATCH_NEAR]),
    ),
    "steps": (
        case(_params(), [_BATCH_BIG] + [_BATCH_A, _BATCH_B] * 16),
        case(_params(2.0), [_BATCH_B, _BATCH_A] * 3),
        # Large weights: Adam's steps stay about the learning rate, while a weight decay
        # (optax.adamw's default 1e-4) adds lr * 1e-4 * w, 1e-4 or more here: the steps taken
        # (new - old parameters) show it, where the parameters themselves hide it in rtol.
        case(_params(30.0), [_BATCH_A, _BATCH_B] * 3),
        # From the true parameters, batches without and with an offset: global gradient norms
        # of 0.15, 2.3, 0.5, 1.6, 0.5, 1.2, on both sides of the clipping threshold. In the
        # other runs every norm is above 3, every gradient is clipped to norm 1, and Adam,
        # which is blind to a constant scale of its gradients, hides a gradient of the wrong
        # scale (of the sum of squares, of half the mean) or another threshold (0.5, 2.0).
        case(_TRUE_PARAMS, [_BATCH_A, _BATCH_OFFSET] * 3),
    ),
}


def _drive_train(answer: Answer, step: Any, params: dict, batches: list) -> dict:
    return _train(lambda p: answer.call("init_opt_state", p), step, params, batches)


def _compute_train(answer: Answer) -> _Record:
    _require("optax", "12.1")
    return _record_runs(answer, "train_step", "jax.jit(train_step)", jax.jit, TRAIN_RUNS, _drive_train)


@functools.cache
def _expected_train(run_name: str, index: int) -> dict:
    return _train(reference_init_opt_state, reference_train_step, *TRAIN_RUNS[run_name][index]())


def _init_cases() -> list:
    return [case(_params())]


_TRAIN = ("init_opt_state", "train_step")

register(Exercise(
    id="12.1",
    signature="init_opt_state(params), train_step(params, opt_state, batch)",
    objects=_TRAIN,
    time_limit_s=_TIME_LIMIT_S,
    probes=(
        Probe(
            "first-step",
            "one jitted step from init_opt_state(params) gives the reference parameters and loss "
            "(a batch of 8 with a large gradient, a batch of 5 with a small one, a batch of 8 with "
            "a gradient of 0.002)",
            _matches(_compute_train, "first step", _expected_train, "one step", ("losses", "params")),
            hint=(
                "Compare your pieces with the task: the loss is the mean over however many examples "
                "the batch has; the optimizer is the chain of global-norm clipping and Adam with "
                "the decaying learning rate, in that order; the new parameters are the old ones "
                "plus the updates (`optax.apply_updates`). Adam by hand: its eps (1e-8) is added "
                "to the square root of v, not under it."
            ),
        ),
        Probe(
            "state-threaded",
            "33 jitted steps, each given the optimizer state the previous one returned, match "
            "the reference, and so does every step they take (Adam's moments and the schedule's "
            "step count carried over)",
            _matches(_compute_train, "steps", _expected_train, "over many steps", ("losses", "params", "steps taken")),
            hint=(
                "The first step is right and later ones drift: the state your step returns is not "
                "the state the next step needs. Return the new state that `update` gave you, never "
                "make a fresh one inside the step, and keep no step count of your own. If only the "
                "steps taken differ, slightly: the optimizer is not exactly the task's (a schedule "
                "with steps or a floor, a weight decay as in `optax.adamw`, another clipping "
                "norm), or the gradient is not that of the task's loss (of a sum, or with a "
                "factor 1/2: clipping sees its scale when the norm is near 1)."
            ),
        ),
        Probe(
            "traces-once",
            "jax.jit(train_step) traces once per batch size over all the steps",
            _traces_at_most(_compute_train, 2, "jax.jit(train_step)", "one per batch size: 8 and 5"),
            hint=(
                "Something in what the step returns changes type from step to step (a dtype, a "
                "Python number, a structure): return arrays of the same dtypes and structure."
            ),
        ),
        Probe(
            "globals-unchanged", "train_step changes no global or closed-over variable",
            _no_side_effect(_compute_train), hint=_SIDE_EFFECT_HINT,
        ),
        Probe(
            "no-leaked-tracers", "jax.jit(train_step) leaks no tracer",
            _no_leak(_compute_train, "jax.jit(train_step)"), hint=_LEAK_HINT,
        ),
        probes.inputs_unchanged(
            "init_opt_state", _init_cases(), key="init-inputs-unchanged",
            hint="init_opt_state only reads the parameters: make the state, change nothing.",
        ),
        probes.globals_unchanged(
            "init_opt_state", _init_cases(), key="init-globals-unchanged", hint=_SIDE_EFFECT_HINT,
        ),
    ),
    hints=(
        (
            "Needs optax. Build the optimizer once, outside the functions: it holds no state, only "
            "the pair of pure functions `init` and `update`. `init_opt_state` returns what "
            "`init` makes of the parameters; `train_step` computes the loss and its gradient, asks "
            "`update` for the updates and the new state, applies the updates, and returns all three."
        ),
        (
            "`jax.value_and_grad` of the loss gives the loss and the gradient in one call. The "
            "optimizer's `update` takes the gradients, the state and the parameters, and returns "
            "the updates and the new state; `optax.apply_updates` adds the updates to the "
            "parameters. The decaying learning rate needs no code of yours: its step count lives "
            "in the state."
        ),
    ),
))

# 12.2 --------------------------------------------------------------------------------
# Diagnose and fix: BatchNorm's running statistics silently dropped.
# bn_train_step(model, state, x, y): one SGD step (learning rate 0.1) on
# mean((preds - y) ** 2), with preds from jax.vmap(model, axis_name="batch",
# in_axes=(0, None), out_axes=(0, None))(x, state); returns (new_model, new_state, loss) with
# new_state the state the forward pass returned (batch statistics of this batch folded in).

LEARNING_RATE = 0.1


@functools.cache
def _model_class() -> type:
    eqx = _require("equinox", "12.2")

    class Regressor(eqx.Module):
        """Linear → BatchNorm → relu → Linear, on one example."""

        hidden: eqx.nn.Linear
        norm: eqx.nn.BatchNorm
        head: eqx.nn.Linear

        def __init__(self, n_in: int, width: int, key: jax.Array):
            k1, k2 = jax.random.split(key)
            self.hidden = eqx.nn.Linear(n_in, width, key=k1)
            self.norm = eqx.nn.BatchNorm(width, axis_name="batch", momentum=0.8, mode="batch")
            self.head = eqx.nn.Linear(width, "scalar", key=k2)

        def __call__(self, x, state):
            h, state = self.norm(self.hidden(x), state)
            return self.head(jax.nn.relu(h)), state

    return Regressor


@functools.cache
def _model_and_state(n_in: int, width: int, seed: int) -> tuple[Any, Any]:
    """The model of seed 0, and for other seeds the same with every array scaled by 1 + seed / 2.

    (Building a model eagerly costs about a second of small compilations; scaling is cheap.)
    """
    eqx = _require("equinox", "12.2")
    if seed == 0:  # one compiled program: cheaper than the initialisers' eager operations
        build = eqx.filter_jit(lambda key: eqx.nn.make_with_state(_model_class())(n_in, width, key))
        return build(jax.random.key(0))
    model, state = _model_and_state(n_in, width, 0)
    arrays = eqx.filter(model, eqx.is_inexact_array)
    return eqx.apply_updates(model, jax.tree.map(lambda a: (seed / 2) * a, arrays)), state


def _batched(model, x, state):
    return jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))(x, state)


@functools.cache
def _reference_jitted() -> Any:
    eqx = _require("equinox", "12.2")

    @eqx.filter_jit
    def step(model, state, x, y):
        def loss_fn(model):
            with jax.default_matmul_precision("highest"):
                preds, new_state = _batched(model, x, state)
            return jnp.mean((preds - y) ** 2), new_state

        (loss, new_state), grads = eqx.filter_value_and_grad(loss_fn, has_aux=True)(model)
        model = eqx.apply_updates(model, jax.tree.map(lambda g: -LEARNING_RATE * g, grads))
        return model, new_state, loss

    return step


@probes.reference
def reference_bn_train_step(model, state, x, y):
    return _reference_jitted()(model, state, x, y)


@functools.cache
def _inference() -> Any:
    eqx = _require("equinox", "12.2")

    @eqx.filter_jit
    def predict(model, state, x):
        with jax.default_matmul_precision("highest"):
            return _batched(eqx.nn.inference_mode(model), x, state)[0]

    return predict


def _regression_batches(n_in: int, sizes: list[int], seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    rng = np.random.default_rng(seed)
    w = rng.normal(size=n_in).round(2)
    out = []
    for size in sizes:
        # inputs off-centre and wide, so the running mean and variance move far from 0 and 1
        x = (rng.normal(1.5, 2.0, size=(size, n_in))).round(3).astype(np.float32)
        y = (np.tanh(x @ w) + 0.05 * rng.normal(size=size)).astype(np.float32)
        out.append((x, y))
    return out


_HELD_OUT = _regression_batches(3, [5], 3)[0][0]
# Two runs of the same shapes (one trace for both); the held-out batch is predicted in
# inference mode (from the running statistics) after each run.
BN_RUNS = {
    "training": (
        case(0, _regression_batches(3, [8, 8, 8, 8], 1)),
        case(1, _regression_batches(3, [8, 8, 8], 2)),
    ),
}


def _bn_train(step: Any, seed: int, batches: list) -> dict:
    eqx = _require("equinox", "12.2")
    model, state = _model_and_state(3, 6, seed)
    out: dict = {"losses": [], "running statistics": [], "sgd steps taken": []}
    for x, y in batches:
        old = eqx.filter(model, eqx.is_inexact_array)
        model, state, loss = step(model, state, jnp.asarray(x), jnp.asarray(y))
        out["losses"].append(loss)
        out["running statistics"].append(state)
        out["sgd steps taken"].append(_step_taken(eqx.filter(model, eqx.is_inexact_array), old))
    out["weights"] = eqx.filter(model, eqx.is_inexact_array)
    out["inference"] = _inference()(model, state, jnp.asarray(_HELD_OUT))
    return out


def _drive_bn(answer: Answer, step: Any, seed: int, batches: list) -> dict:
    def checked(*args: Any) -> Any:
        result = step(*args)
        if not (isinstance(result, tuple) and len(result) == 3):
            _fail(f"bn_train_step returned {type(result).__name__}, not a tuple (model, state, loss)")
        return result

    return _bn_train(checked, seed, batches)


def _compute_bn(answer: Answer) -> _Record:
    eqx = _require("equinox", "12.2")
    return _record_runs(answer, "bn_train_step", "eqx.filter_jit(bn_train_step)", eqx.filter_jit, BN_RUNS, _drive_bn)


@functools.cache
def _expected_bn(run_name: str, index: int) -> dict:
    return _bn_train(reference_bn_train_step, *BN_RUNS[run_name][index]())


register(Exercise(
    id="12.2",
    signature="bn_train_step(model, state, x, y)",
    objects=("bn_train_step",),
    time_limit_s=_TIME_LIMIT_S,
    probes=(
        Probe(
            "trains",
            "under eqx.filter_jit, the losses and the trained weights equal the reference, step after step",
            _matches(_compute_bn, "training", _expected_bn, "training", ("losses", "weights", "sgd steps taken")),
            hint=(
                "The loss or the update is off: the loss is the mean squared error of the batch's "
                "predictions, made with the batch statistics (the model in training mode), and the "
                "step moves every floating-point array of the model by -0.1 times its gradient, "
                "and by nothing else (no weight decay, no clipping: every step taken is compared)."
            ),
        ),
        Probe(
            "running-stats",
            "the state returned after every step holds the running statistics the reference holds",
            _matches(_compute_bn, "training", _expected_bn, "training", ("running statistics",)),
            hint=(
                "The loss goes down, but the state your step returns is not the one the forward "
                "pass made: the running statistics never move (or move from the wrong place). Get "
                "the new state out of the differentiated function and return it."
            ),
        ),
        Probe(
            "inference",
            "after training, the model in inference mode predicts what the reference predicts",
            _matches(_compute_bn, "training", _expected_bn, "training", ("inference",)),
            hint=(
                "Inference mode normalises with the running statistics in the state: return the "
                "state that carries this step's batch statistics, computed with the parameters "
                "the step was given."
            ),
        ),
        Probe(
            "traces-once",
            "eqx.filter_jit(bn_train_step) traces once over seven steps",
            _traces_at_most(_compute_bn, 1, "eqx.filter_jit(bn_train_step)", "all steps have the same shapes"),
            hint=(
                "Return the same kinds of things every step: the model, the state as the forward "
                "pass returned it, and the loss as an array."
            ),
        ),
        Probe(
            "globals-unchanged", "bn_train_step changes no global or closed-over variable",
            _no_side_effect(_compute_bn), hint=_SIDE_EFFECT_HINT,
        ),
        Probe(
            "no-leaked-tracers", "eqx.filter_jit(bn_train_step) leaks no tracer",
            _no_leak(_compute_bn, "eqx.filter_jit(bn_train_step)"), hint=_LEAK_HINT,
        ),
    ),
    hints=(
        (
            "Needs Equinox. The forward pass returns two things, the predictions and the new "
            "state, but the loss function may return only the loss to be differentiated, so the "
            "new state is dropped. Let the loss function return the state as auxiliary output."
        ),
        (
            "`eqx.filter_value_and_grad` with `has_aux=True` differentiates the first output "
            "of the loss function and hands back the second untouched, as "
            "`((loss, new_state), grads)`. Return that new state from the step, not the `state` "
            "you were given."
        ),
    ),
))
