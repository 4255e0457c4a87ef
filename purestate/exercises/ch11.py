"""Chapter 11 · The cost of functional updates: exercises 11.1 and 11.2.

11.1 asks for a jitted update that donates its state: the probes read the compiled
program's memory analysis (alias bytes at least the buffer's size) and check that a call
deletes the donated input. 11.2 hands the reader's training loop a donated step of the
checker's own, which records what each call receives, so that the probes can tell a loop
that keeps the caller's array alive with one copy from one that copies at every step.

Checker notes (JAX 0.12.0.1): ``probes.case`` keeps JAX arrays as they are (they are
immutable), so a donated JAX array in a case would be deleted for every later use. The
cases hold NumPy arrays; the probes make fresh JAX arrays where a donation must be seen.
Nothing here prints a timing or a byte count that depends on the machine.
"""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate import probes
from purestate.compare import mismatch
from purestate.probes import case
from purestate.registry import Exercise, register
from purestate.runner import ProbeFailure, ReaderError

_rng = np.random.default_rng(11)


def _floats(*shape: int, scale: float = 1.0) -> np.ndarray:
    return (_rng.normal(0.0, scale, size=shape)).round(3).astype(np.float32)


_SIDE_EFFECT_HINT = (
    "Calling the function changed something outside it (a global, a list, an attribute). "
    "Everything a step produces leaves it through its return value."
)

# 11.1 --------------------------------------------------------------------------------
# insert(buffer, step, row): a ring buffer of the last `capacity` rows (capacity =
# buffer.shape[0]); writes `row` at position step % capacity and returns the new buffer.
# A jax.jit function whose buffer is donated, so that the update happens in place.


@probes.reference
def reference_insert(buffer, step, row):
    # In NumPy: no compilation for the checker's own answer (the first check stays fast).
    out = np.array(buffer, dtype=np.float32, copy=True)
    out[step % out.shape[0]] = np.asarray(row)
    return out


# Steps are Python ints (one trace serves them all unless `step` is made static). Steps at
# and beyond the capacity wrap: an update at index `step` without the modulo is dropped by
# JAX (out-of-bounds scatter updates are ignored), which only these cases show. A second
# capacity catches a modulo hard-coded from the first.
_BUF_A = _floats(5, 3)
_BUF_B = _floats(4, 2)
_BUF_INF = _BUF_A.copy()
_BUF_INF[0, 0], _BUF_INF[4, 1], _BUF_INF[1, 2] = np.inf, -np.inf, np.nan
_ROW_INF = np.array([1.5, np.inf, -0.25], np.float32)
INSERT_CASES = (
    case(_BUF_A, 2, _floats(3)),
    case(_BUF_A, 7, _floats(3)),   # wraps to 2
    case(_BUF_A, 5, _floats(3)),   # wraps to 0
    case(_BUF_B, 9, _floats(2)),   # another capacity: wraps to 1
    # The largest step a jitted int32 holds (RL runs reach hundreds of millions of steps):
    # a step cast to int8 or int16 wraps to -1 (position 4), one in float32 or bfloat16
    # rounds to 2**31 (position 3); the right position is 2. Same shapes: no new compilation.
    case(_BUF_A, 2**31 - 1, -2.0 * _BUF_A[0]),
    # A buffer holding an inf and a NaN (a diverged reward, a missing value) and a row with
    # one: "every other row unchanged" holds them as they are. A one-hot blend
    # (buffer * (1 - mask) + mask * row) turns inf * 0 into NaN in the other rows.
    case(_BUF_INF, 8, _ROW_INF),   # wraps to 3
)
INSERT_STEPS = (0, 3, 4, 6, 11, 12)  # same shapes, new steps: one compilation
_INSERT = "insert"


def _compiles_once() -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        fn = answer.insert
        size = getattr(fn, "_cache_size", None)
        if not callable(size):  # not a jax.jit function: the donation probe says so
            return
        before = size()
        for step in INSERT_STEPS:
            answer.call("insert", np.array(_BUF_A), step, _BUF_A[0])
        added = size() - before
        if added > 1:
            raise ProbeFailure(
                f"insert was compiled {added} times for {len(INSERT_STEPS)} calls that differ only in "
                "the value of step; expected at most once"
            )

    return probes.Probe(
        "compiles-once",
        "insert compiles once for calls that differ only in the value of step",
        run,
        hint=(
            "A static `step` (static_argnums or static_argnames) is part of the compilation's "
            "key: every new step value compiles a new program. Leave `step` a traced value; "
            "the modulo and the indexed write work on traced integers."
        ),
    )


def _leaks_no_tracer() -> probes.Probe:
    """``no_leaked_tracers`` on the Python function under the reader's ``jax.jit``.

    A jitted answer is traced once per signature and its trace is cached: the first probe
    that calls it traces it, and a later ``jax.jit`` around it reuses that trace, so a tracer
    stored at trace time would go unseen. The function it wraps (``__wrapped__``) gets a
    trace of its own.
    """
    inner = probes.no_leaked_tracers(_INSERT, INSERT_CASES[:1])

    def run(answer: probes.Answer) -> None:
        fn = answer.insert
        inner.run(probes.Answer({_INSERT: getattr(fn, "__wrapped__", fn)}))

    return probes.Probe(inner.key, inner.description, run, inner.hint)



register(Exercise(
    id="11.1",
    signature="insert(buffer, step, row)",
    objects=(_INSERT,),
    probes=(
        probes.matches_reference(
            _INSERT, reference_insert, INSERT_CASES,
            description="insert writes row at position step % capacity and keeps every other row",
            hint=(
                "The capacity is the buffer's first dimension, whatever its size, and a step at "
                "or past it wraps around. An index past the end is not an error in JAX: the "
                "update is silently dropped. And a long run reaches large steps: keep `step` an "
                "int32, as it comes (a cast to int8 or int16 wraps, a float rounds). Every other row "
                "stays exactly as it was, inf and NaN included: a blend with a 0/1 mask "
                "(buffer * (1 - mask) + ...) makes inf * 0 a NaN."
            ),
        ),
        probes.donates_argument(
            _INSERT, INSERT_CASES[:1], 0,
            key="donates-buffer",
            description=(
                "insert is a jax.jit function that donates buffer: the compiled program aliases "
                "buffer's bytes to its output, and a call deletes the buffer it was given"
            ),
            hint=(
                "Donation is an option of `jax.jit` itself: `donate_argnums` (positions) or "
                "`donate_argnames` (names) must name the buffer, on the outermost `jax.jit`. A "
                "donating function called inside another `jax.jit` donates nothing."
            ),
        ),
        _compiles_once(),
        probes.globals_unchanged(_INSERT, INSERT_CASES[:1], hint=_SIDE_EFFECT_HINT),
        _leaks_no_tracer(),
    ),
    hints=(
        (
            "Write the update with `.at[...].set(...)` on the buffer, at the step modulo the "
            "buffer's first dimension, and make the function a `jax.jit` whose donation names "
            "the buffer."
        ),
        (
            "`donate_argnums` takes positions and `donate_argnames` names; as a decorator, "
            "`functools.partial` hands either to `jax.jit`. The output has "
            "the buffer's shape and dtype, so XLA can write it into the donated buffer; check with "
            "`insert.lower(buffer, 3, row).compile().memory_analysis().alias_size_in_bytes`."
        ),
    ),
))

# 11.2 --------------------------------------------------------------------------------
# Diagnose and fix: train(sgd_step, w, x, y, steps) runs `steps` steps of a donated
# sgd_step(w, x, y) -> (new_w, loss at w) and returns (final w, losses). The caller's w must
# survive the call, and the loop must not copy at every step.

LEARNING_RATE = 0.1


def _mse(w, x, y):
    return jnp.mean((x @ w - y) ** 2)


@functools.partial(jax.jit, donate_argnums=0)
def _sgd_step(w, x, y):
    loss, grad = jax.value_and_grad(_mse)(w, x, y)
    return w - LEARNING_RATE * grad, loss


@probes.reference
def reference_train(sgd_step, w, x, y, steps):
    w = jnp.array(w, copy=True)
    losses = []
    for _ in range(steps):
        w, loss = sgd_step(w, x, y)
        losses.append(loss)
    return w, jnp.stack(losses)


class _Recorder:
    """A donated step that remembers what it was given and what it returned."""

    def __init__(self) -> None:
        self.calls = 0
        self.copies = 0  # calls after the first whose w is not the array the previous call returned
        self.tracer = False
        self.previous: Any = None

    def __call__(self, w, x, y):
        if isinstance(w, jax.core.Tracer):
            self.tracer = True
        elif self.calls and w is not self.previous:
            self.copies += 1
        self.calls += 1
        new_w, loss = _sgd_step(w, x, y)
        self.previous = new_w
        return new_w, loss


def _regression(n: int, d: int):
    x = _floats(n, d)
    y = (x @ _floats(d, scale=1.5) + _floats(n, scale=0.1)).astype(np.float32)
    return x, y


_X_A, _Y_A = _regression(6, 3)
_X_B, _Y_B = _regression(4, 2)
TRAIN_CASES = (
    case(_floats(3), _X_A, _Y_A, 4),
    case(_floats(2), _X_B, _Y_B, 3),
)


def _run_train(answer: probes.Answer, make) -> dict:
    """Call the reader's train once, with a recording step and a JAX w of the caller's."""
    w0, x, y, steps = make()
    callers_w = jnp.array(w0)
    recorder = _Recorder()
    got = answer.call("train", recorder, callers_w, jnp.asarray(x), jnp.asarray(y), steps)
    expected = reference_train(_sgd_step, jnp.array(w0), jnp.asarray(x), jnp.asarray(y), steps)
    return {
        "got": got, "expected": expected, "recorder": recorder, "steps": steps,
        "callers_w": callers_w, "w0": w0,
    }


def _is_deleted_read(error: BaseException) -> bool:
    return isinstance(error, RuntimeError) and "deleted" in str(error)


def _train_probe(key: str, description: str, judge, hint: str) -> probes.Probe:
    def run(answer: probes.Answer) -> None:
        for make in TRAIN_CASES:
            try:
                seen = _run_train(answer, make)
            except ReaderError as error:
                if key == "no-deleted-reads" and _is_deleted_read(error.error):
                    raise ProbeFailure(
                        "train read an array after it was donated: RuntimeError: "
                        f"{str(error.error).splitlines()[0]}"
                    )
                raise
            problem = judge(seen)
            if problem:
                raise ProbeFailure(problem)

    return probes.Probe(key, description, run, hint)


def _no_problem(seen: dict) -> str | None:
    return None


def _results(seen: dict) -> str | None:
    found = mismatch(seen["expected"], seen["got"])
    if found:
        return f"train(..., steps={seen['steps']}): {found}"
    return None


def _callers_w_survives(seen: dict) -> str | None:
    w = seen["callers_w"]
    if w.is_deleted():
        return (
            "after train returned, the caller's w has been deleted: the first step was given the "
            "caller's own array, and donated it"
        )
    found = mismatch(seen["w0"], w, rtol=0.0, atol=0.0)
    if found:
        return f"the caller's w changed: {found}"
    return None


def _recycles(seen: dict) -> str | None:
    recorder, steps = seen["recorder"], seen["steps"]
    if recorder.tracer:
        return "train called sgd_step with traced values: call it from Python, once per step"
    if recorder.calls != steps:
        return f"train called the sgd_step it was given {recorder.calls} times for steps={steps}"
    if recorder.copies:
        return (
            f"{recorder.copies} of the {steps - 1} steps after the first were given a copy of w, "
            "not the array the previous step returned: two copies of w are alive at every step"
        )
    return None


def _plain_step(w, x, y):
    """The step for the side-effect probe (a plain function: cases deep-copy their arguments)."""
    return _sgd_step(jnp.array(w, copy=True), x, y)


_TRAIN = ("train",)

register(Exercise(
    id="11.2",
    signature="train(sgd_step, w, x, y, steps)",
    objects=_TRAIN,
    probes=(
        _train_probe(
            "no-deleted-reads",
            "train runs without reading an array that a step has donated",
            _no_problem,
            hint=(
                "After a step returns, the array you gave it is deleted: every later "
                "read of it raises RuntimeError. Use only what the step returned, and keep "
                "nothing that refers to a donated array."
            ),
        ),
        _train_probe(
            "results",
            "train returns the final w and the loss of every step, as the reference does",
            _results,
            hint=(
                "The losses are the ones sgd_step returns, one per step, in order, stacked into one "
                "array; the final w is what the last step returned."
            ),
        ),
        _train_probe(
            "callers-w-survives",
            "after train returns, the caller's w is still alive and unchanged",
            _callers_w_survives,
            hint=(
                "The first step donates whatever it is given. If that is the caller's array, the "
                "caller loses it. `jnp.asarray(w)` and `jax.device_put(w)` return the same array "
                "when it already is one: they are not copies."
            ),
        ),
        _train_probe(
            "recycles-buffers",
            "each step after the first is given the very array the previous step returned (no copy per step)",
            _recycles,
            hint=(
                "One copy, before the loop, is enough: after it, the loop owns its array and can "
                "donate it. A copy at every step keeps two arrays alive at once, which is what "
                "donation was meant to avoid."
            ),
        ),
        probes.globals_unchanged(
            "train", (case(_plain_step, _floats(3), _X_A, _Y_A, 2),),
            hint=_SIDE_EFFECT_HINT,
        ),
    ),
    hints=(
        (
            "Find which array the first step donates, and who else still refers to it when "
            "train returns. The fix is one line, before the loop."
        ),
        (
            "Give the loop its own copy of w once (`jnp.copy`, `w.copy()`, `jnp.array(w)`), then "
            "pass each step exactly what the previous one returned. Stack the losses at the end."
        ),
    ),
))
