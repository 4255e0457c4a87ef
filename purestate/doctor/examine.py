"""The examination: the calls the doctor makes, and what each finding is based on.

One examination runs in the checker's worker thread (``runner.run_with_time_limit``), so
JAX's thread-local switches (``jax.checking_leaks``, ``jax.debug_key_reuse``) are entered
there, and a time limit can stop it. In order:

1. two plain calls with equal copies of the arguments: ``mutates-input`` (each argument's
   fingerprint before and after), ``writes-outside`` (the checker's ``hidden_state``, plus the
   reader's own modules, before and after), ``not-deterministic`` (the two results; a draw
   from NumPy's or Python's global generator is named there);
2. ``jax.jit`` of the function (Python numbers made static when the traced version fails),
   called three times, the third with new values of the same shapes and dtypes:
   ``not-traceable``, ``jit-differs``, ``python-side-effect`` (output of the first, tracing
   call against the second), ``recompiles`` (traces on later calls), and a tracer left in
   what the function reaches (``leaks-tracer``);
3. a fresh trace under ``jax.checking_leaks()``: ``leaks-tracer``; a PRNG key made from a
   literal seed in its jaxpr: ``reuses-key``;
4. a plain call with new values, then (for an int argument named like a counter) a new
   int: ``recompiles``, counted with JAX's trace and compile events of the reader's own
   functions; the state the function returned fed back in: ``recompiles`` when it retraces;
5. where keys are in reach, a trace under ``jax.debug_key_reuse(True)``, plain calls for
   keys outside the arguments, and the returned key fed back in: ``reuses-key``;
6. each number or array the function reads from outside its arguments (and each environment
   variable it read), changed and put back: ``bakes-global`` when the plain function sees the
   change and the jitted one does not (a method's object is its argument ``self``, probed only
   when the reader's own ``jax.jit`` keeps it static; a frozen dataclass's fields and a
   factory's closed-over numbers are fixed; the reader's own jitted helpers run with jit
   disabled on the plain side);
7. where a plain call wrote state: the same new arguments after the earlier calls and from the
   state before them, ``not-deterministic`` when the results differ (a cache read back).

Also in step 1: a change of JAX's or NumPy's settings is ``writes-outside``; a function that
reads the clock is called once more with ``time.time`` moved on; a draw from a global
generator that agreed twice is tried with the generators reseeded.

A step that cannot run on a function is skipped; the others still run.
"""

from __future__ import annotations

import contextlib
import inspect
import io
import logging
import re
import sys
import threading
import types
import warnings
from collections.abc import Callable, Iterator
from typing import Any

import jax
import jax.extend
import numpy as np

from purestate import settings
from purestate.compare import is_ref, short
from purestate.doctor import args as arglib
from purestate.doctor import outside
from purestate.doctor.report import Finding, format_exception
from purestate.probes import purity
from purestate.probes.tracing import primitives_in

RTOL = 1e-4  # jit against eager: XLA may fuse and reorder float arithmetic
ATOL = 1e-5
# The jitted result against the eager one: a float32 reduction that cancels (a variance as
# E[x²] - E[x]² over 10,000 values near 100) differs by 2e-4 in its last digits; what jax.jit
# changes by mistake (a branch, a stale value, float64 NumPy against float32) is far larger.
JIT_RTOL = 1e-3
SAME_RTOL = 1e-5  # the same call twice
SAME_ATOL = 1e-6

# Names JAX gives the eager dispatch of a primitive (a plain call of ``lax.scan`` compiles
# its body on every call); a compilation under one of these names is not a recompilation of
# the reader's code.
_PRIMITIVE_NAMES = frozenset({
    "scan", "cond", "while", "switch", "fori_loop", "while_loop", "map", "custom_jvp_call",
    "custom_vjp_call", "custom_vjp_call_jaxpr", "checkpoint", "remat", "remat2", "shard_map",
    "xla_pmap", "pmap", "closed_call", "core_call", "run_state", "custom_lin", "pure_callback",
    "io_callback", "debug_callback", "select_n", "random_bits", "random_split", "random_fold_in",
    "random_seed", "random_wrap", "random_unwrap", "threefry2x32", "sort", "argsort",
    "<unnamed function>",  # an eager shard_map
})

_TRACE_EVENT = "/jax/core/compile/jaxpr_trace_duration"
_COMPILE_EVENT = "/jax/core/compile/backend_compile_duration"

# Where the course shows each fix.
FIX = {
    "mutates-input": "chapter 1, “A function that changes its argument”; for arrays, chapter 4, "
                     "“In-place assignment fails loudly; `.at[]` is the replacement”",
    "writes-outside": "chapter 3, “The fix: state in, state out”, and chapter 6, “State in, state out”",
    "leaks-tracer": "chapter 3, “Appending to a Python list inside `jit`” and “Finding leaks early: "
                    "`jax.checking_leaks`”; chapter 4 shows `has_aux` for values you want out",
    "bakes-global": "chapter 3, “Globals are baked into the trace as constants”",
    "recompiles": "chapter 2, “What the cache keys on” and “The function is part of the key”; "
                  "chapter 3, “Watching the cache”",
    "not-deterministic": "chapter 7, “NumPy's generator is hidden state”, and chapter 1, "
                         "“Pure and impure functions”",
    "jit-differs": "chapter 2, “Python runs once per trace”, and chapter 3, “Stale versus mutated, call by call”",
    "reuses-key": "chapter 7, “`split`: new keys from an old one” and “`jax.debug_key_reuse` catches it”",
    "python-side-effect": "chapter 2, “Python runs once per trace”, and chapter 5, "
                          "“`print` sees the tracer, `jax.debug.print` sees each example”",
    "not-traceable": "chapter 2, “A tracer under `jit` has no value” and “Static arguments”",
}


class Examination:
    """The state of one run of the doctor; ``findings`` is read by the caller's thread."""

    def __init__(self, fn: Callable[..., Any], original: arglib.Call, reach: outside.Reach, name: str):
        self.fn = fn
        self.user_jit = outside.is_jit_wrapped(fn)
        # one layer only: jax.jit(jax.vmap(f)) is checked as jax.vmap(f), not as f
        self.base = fn.__wrapped__ if self.user_jit else fn
        if self.user_jit and isinstance(fn, types.MethodType):
            # a jitted method reached through its object (static_argnums=0 on self): the
            # function inside the jit, bound to the same object
            self.base = types.MethodType(fn.__func__.__wrapped__, fn.__self__)
        self.original = original
        self.reach = reach
        self.name = name
        self.findings: list[Finding] = []
        self.checked: list[str] = []
        self.jitted: arglib.Jitted | None = None
        self.jit_call: arglib.Call | None = None
        self.primitives: set[str] = set()
        self.eager_result: Any = None
        self.jit_result: Any = None
        self.mutation_error = False
        self.set_jax = False
        self.environment: list[str] = []  # the environment variables the first call read

    # helpers ------------------------------------------------------------------------------

    def add(self, kind: str, message: str) -> None:
        if kind in FIX and "Fix:" not in message:
            message = f"{message}\nFix: {FIX[kind]}."
        self.findings.append(Finding(kind, message))

    def has(self, kind: str) -> bool:
        return any(f.kind == kind for f in self.findings)

    def call(self, fn: Callable[..., Any], call: arglib.Call) -> Any:
        args, kwargs = call
        return arglib.materialized(fn(*args, **kwargs))

    @property
    def jit_name(self) -> str:
        return self.name if self.user_jit else f"jax.jit({self.name})"

    # the examination ----------------------------------------------------------------------

    def run(self) -> None:
        if not self.plain_calls():
            return
        for step in (self.jit_calls, self.leak_trace, self.eager_recompile, self.chained_recompile,
                     self.key_reuse, self.baked_globals, self.history_dependence):
            try:
                step()
            except Exception:  # a probe that cannot run on this function: the others still do
                continue

    def plain_calls(self) -> bool:
        first = arglib.private_copy(*self.original)
        second = arglib.private_copy(*self.original)
        self.second_call = second
        self.third_call = arglib.perturbed(second, scalars_static=False)
        before = _argument_states(first)
        state_before = {**outside.hidden_state(self.fn, self.name), **self.reach.module_state(), **_settings()}
        generator_states = self.reach.generator_states()
        saved_settings = settings.snapshot(numpy=True)
        for helper in self.reach.inner_jits:
            # (so that the first plain call traces the reader's jitted helpers, as the first
            # call in a fresh session does, even when the reader has called them before)
            try:
                helper.clear_cache()
            except Exception:
                pass
        try:
            with captured() as out1, outside.environment_reads() as self.environment:
                result1 = self.call(self.fn, first)
        except (Exception, SystemExit) as error:
            self.plain_call_failed(error)
            return False
        self.eager_result = result1
        self.eager_output = out1()
        self.checked.append("two plain calls")
        self.mutations(first, before)
        state_after = {**outside.hidden_state(self.fn, self.name), **self.reach.module_state(), **_settings()}
        settings.put_back(saved_settings)  # (the later calls run with JAX configured as before)
        changed = [label for label in sorted(set(state_before) | set(state_after))
                   if state_before.get(label, _MISSING) != state_after.get(label, _MISSING)]
        self.random_state = [label for label in changed if "random state" in label]
        if changed and self.reach.generators:
            # a generator object of the reader's (np.random.default_rng(0) in a global): what
            # changes with its state alone is a draw, like one from NumPy's global generator
            drawn = self.reach.generator_states()
            self.reach.set_generator_states(generator_states)
            try:
                state_rewound = {**outside.hidden_state(self.fn, self.name), **self.reach.module_state()}
            finally:
                self.reach.set_generator_states(drawn)
            before_of = lambda label: state_before.get(label, _MISSING)  # noqa: E731
            # (a generator's fingerprint differs on every read: compared as text)
            changed = [label for label in changed if not _same_state(before_of(label), state_after.get(label))]
            self.random_state += [label for label in changed if label not in self.random_state
                                  and _same_state(before_of(label), state_rewound.get(label, _MISSING))]
        changed = [label for label in changed if label not in self.random_state]
        if not changed and not self.random_state:
            changed = self.reach.changed()
        # (a changed JAX setting changes what jax.jit traces: its retraces are that write)
        self.set_jax = any("(jax.config.update)" in label for label in changed)
        if changed:
            shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
            shown = _readable(shown, self.name)
            self.add("writes-outside", f"calling `{self.name}` changed {shown}: a pure function keeps what "
                                       "it computes in its return value (the doctor put it back afterwards)")
        try:
            with captured() as out2:
                result2 = self.call(self.fn, second)
        except (Exception, SystemExit) as error:
            self.add("not-deterministic", f"the first call of `{self.name}` returned {arglib.values_text(result1)}, the "
                                          f"second, with equal arguments, raised {format_exception(error)}")
            return True
        self.eager_output2 = out2()
        settings.put_back(saved_settings)
        found = arglib.difference(result1, result2, rtol=SAME_RTOL, atol=SAME_ATOL)
        if not found and self.random_state:
            # a draw from a global generator that happened to agree twice (an index drawn
            # from a few): a few more calls with equal arguments
            found = self._more_calls(result1)
        drew = (f" (each call drew from {' and '.join(self.random_state)})" if self.random_state else "")
        if not found and self.reach.clock:
            # the clock read as a seed or a factor (int(time.time()) changes once a second):
            # one more call with the clock moved on
            found = self._clock_differs(result1)
            if found:
                drew = " (it reads the clock: the doctor moved time.time() on for that call)"
        baked = None
        if not found and self.random_state and self.user_jit:
            baked = self._base_differs()
        if baked:
            self.add("not-deterministic", f"`{self.name}` draws from {' and '.join(self.random_state)} while it "
                                          "is traced: under its jax.jit that happens once, and every later call "
                                          "returns the same numbers, baked in as constants; the function inside "
                                          f"the jit returns different results for equal arguments: {baked}")
        elif found:
            self.add("not-deterministic", f"two calls of `{self.name}` with equal arguments returned "
                                          f"different results: {found}{drew}")
        elif self.random_state:  # a draw that does not show in the result is still a write
            self.add("writes-outside", f"calling `{self.name}` changed {' and '.join(self.random_state)}: "
                                       "it draws from a global generator (the doctor put it back afterwards)")
        if self.user_jit:
            self.side_effects(self.eager_output, self.eager_output2, f"`{self.name}`")
        elif self.reach.inner_jits and not self.has("writes-outside"):
            # a jax.jit function of the reader's that it calls printed while it was traced,
            # on the first plain call only
            self.side_effects(self.eager_output, self.eager_output2,
                              f"`{self.name}` (through the jax.jit function of yours it calls)")
        return True

    def history_dependence(self) -> None:
        """State it writes and reads back (a cache keyed on the shape, a running value): the
        same new arguments, after the earlier calls and from the state before them (run
        last: the other steps see the state the plain calls left)."""
        if not self.has("writes-outside") or self.has("not-deterministic") or self.random_state or self.set_jax:
            return
        try:
            with captured():
                after = self.call(self.fn, arglib.fresh(self.third_call))
            self.reach.restore()
            with captured():
                first = self.call(self.fn, arglib.fresh(self.third_call))
        except (Exception, SystemExit):
            return
        finally:
            self.reach.restore()
        found = arglib.difference(first, after, rtol=SAME_RTOL, atol=SAME_ATOL)
        if found:
            shown = found.replace(" then ", " as the first call, ", 1)
            self.add("not-deterministic", f"`{self.name}` returned different results for the same arguments "
                                          f"depending on the calls before: {shown} "
                                          "after two calls with other values: it reads back state it wrote "
                                          "(a cache, a running value)")

    def _more_calls(self, result: Any, count: int = 12) -> str | None:
        for attempt in range(count):
            if attempt >= 4:
                # a draw that rarely matters (a branch taken one time in ten): the global
                # generators reseeded, first so that the next draw is tiny, then huge
                # (uniform below 0.002, above 0.998), then at random
                seeds = _EXTREME_SEEDS[attempt - 4] if attempt - 4 < len(_EXTREME_SEEDS) else (7919 * attempt,) * 3
                _reseed(self.reach.generators, *seeds)
            try:
                with captured():
                    again = self.call(self.fn, arglib.private_copy(*self.original))
            except (Exception, SystemExit):
                return None
            found = arglib.difference(result, again, rtol=SAME_RTOL, atol=SAME_ATOL)
            if found:
                return found
        return None

    def _clock_differs(self, result: Any) -> str | None:
        try:
            with captured(), advanced_clock(self.reach.clock_globals):
                later = self.call(self.fn, arglib.private_copy(*self.original))
        except (Exception, SystemExit):
            return None
        return arglib.difference(result, later, rtol=SAME_RTOL, atol=SAME_ATOL)

    def _base_differs(self) -> str | None:
        """Two plain calls of the function inside the reader's jax.jit, compared."""
        try:
            with captured():
                first = self.call(self.base, arglib.private_copy(*self.original))
                second = self.call(self.base, arglib.private_copy(*self.original))
        except (Exception, SystemExit):
            return None
        return arglib.difference(first, second, rtol=SAME_RTOL, atol=SAME_ATOL)

    def plain_call_failed(self, error: BaseException) -> None:
        """The first plain call raised: name the kind when the error says what it is."""
        said = format_exception(error)
        if _item_assignment(error):
            self.add("mutates-input", f"`{self.name}` tried to change an array in place and raised {said}: "
                                      "JAX arrays are immutable; x.at[i].set(v) returns a new array")
        elif self.user_jit and self._plain_function_runs():
            # the function inside the reader's jax.jit runs: the jit is what fails
            kind, message = _jit_failure(self.name, error)
            self.add(kind, message.replace(f"`jax.jit({self.name})`", f"`{self.name}` (jitted)", 1))
        elif type(error).__name__ == "KeyReuseError":
            self.add("reuses-key", f"`{self.name}` raised {said}: split a key and use each piece once")
        else:
            self.add("raises", f"`{self.name}` raised {said} on the example arguments, so nothing else "
                               "could be checked")

    def _plain_function_runs(self) -> bool:
        try:
            with captured():
                self.call(self.base, arglib.private_copy(*self.original))
        except (Exception, SystemExit):
            return False
        return True

    def mutations(self, call: arglib.Call, before: list[tuple[str, Any, Any]]) -> None:
        params = _parameter_names(self.base)
        args, kwargs = call
        values = list(args) + [kwargs[k] for k in kwargs]
        labels = [params[i] if i < len(params) else f"number {i + 1}" for i in range(len(args))] + list(kwargs)
        for (fingerprint, shown), value, label in zip(before, values, labels):
            if _donated(value):
                continue  # a buffer donated to a jax.jit (donate_argnums) is consumed by design
            if is_ref(value):
                continue  # writing into a Ref argument is what a Ref is for (chapter 10)
            if _fingerprint(value) != fingerprint:
                self.add("mutates-input", f"`{self.name}` changed its argument `{label}` in place: before the "
                                          f"call it was {shown}, afterwards {_show(value)} (the doctor worked "
                                          "on a copy; yours is unchanged)")

    def jit_calls(self) -> None:
        if _returns_functions(self.eager_result):
            # a factory (it returns a function, an update rule): not a function to jit, and
            # nothing the jit-based checks could compare; its returned function can be examined
            return
        call = arglib.fresh(arglib.private_copy(*self.original))
        try:
            jitted, result, output = self._first_jit(call, scalars_static=False)
        except (Exception, SystemExit) as error:
            # Python numbers used as sizes, axes, slice bounds or flags need to be static:
            # try again with them closed over, as a reader would mark them static
            if arglib.has_python_scalars(call):
                try:
                    jitted, result, output = self._first_jit(call, scalars_static=True)
                except (Exception, SystemExit) as again:
                    self.jit_failed(again)
                    return
            else:
                self.jit_failed(error)
                return
        self.jitted, self.jit_call, self.jit_result = jitted, call, result
        self.checked.append("three calls under jax.jit")
        state = outside.hidden_state(self.fn, self.name)
        leaked = sorted(label for label, fp in state.items() if outside.has_tracer(fp))
        leaked = [_readable(label, self.name) for label in leaked]
        if leaked:
            self.add("leaks-tracer", f"after `{self.jit_name}` was traced, {', '.join(leaked[:3])} held a tracer: "
                                     "a value from inside the trace outlived it")
        try:
            with captured() as out2, compilations() as events2:
                self.jitted(arglib.fresh(call))
            with compilations() as events3:
                self.jitted(arglib.perturbed(call, jitted.scalars_static))
        except (Exception, SystemExit) as error:
            self.add("jit-differs", f"`{self.jit_name}` ran once, then raised {format_exception(error)} "
                                    "on a second call with equal arguments")
            return
        if not self.has("python-side-effect"):  # (a jitted function of yours, already traced before)
            self.side_effects(output, out2(), f"`jax.jit({self.name})`", traced=True)
        again = jitted.traces - 1
        if (again > 0 or events2() or events3()) and not self.set_jax:
            names = sorted({n for _, n in events2() + events3()}) or [self.name]
            self.add("recompiles", f"`{self.jit_name}` traced again on later calls whose arguments differ only "
                                   f"in value ({again} more trace(s); traced: {', '.join(names)})")
        if not self.has("not-deterministic"):
            found = arglib.difference(self.eager_result, result, rtol=JIT_RTOL, atol=ATOL)
            if found and self.has("mutates-input"):
                # the same mistake: the in-place update that NumPy does and a JAX array (a
                # tracer) cannot, so the traced function computes something else
                for index, finding in enumerate(self.findings):
                    if finding.kind == "mutates-input":
                        text = finding.message.replace(
                            "\nFix:", f"\nUnder jax.jit, where arrays cannot change in place, it returned "
                                      f"{found.split(' then ', 1)[-1]} instead of {found.split(' then ', 1)[0]}\nFix:", 1)
                        self.findings[index] = Finding(finding.kind, text)
                        break
            elif found and self.user_jit and (baked := self._base_differs()):
                # the reader's jit froze a value that changes from call to call (time.time())
                self.add("not-deterministic", f"the function inside `{self.name}`'s jax.jit returns different "
                                              f"results for equal arguments: {baked}; its jax.jit read the "
                                              "changing value once, while tracing, and every later call "
                                              "returns the numbers baked in then")
            elif found:
                self.add("jit-differs", f"`{self.name}` and `jax.jit({self.name})` returned different results "
                                        f"for equal arguments: {found.replace(' then ', ' eagerly, ', 1)} under "
                                        "jit")

    def _first_jit(self, call: arglib.Call, *, scalars_static: bool) -> tuple[arglib.Jitted, Any, str]:
        jitted = arglib.Jitted(self.base, call, scalars_static=scalars_static)
        with captured() as output:
            result = jitted(arglib.fresh(call))
        return jitted, result, output()

    def jit_failed(self, error: BaseException) -> None:
        kind, message = _jit_failure(self.name, error)
        in_place_method = isinstance(error, AttributeError) and "has no attribute" in str(error) and (
            "Tracer" in str(error) or "Array" in str(error))  # x.fill(0), x.resize(…), x.put(…)
        if kind == "not-traceable" and self.has("mutates-input") and (
                _item_assignment(error) or type(error).__name__ == "TracerArrayConversionError"
                or in_place_method):
            # the same mistake (NumPy's in-place update), already reported as a mutation
            for index, finding in enumerate(self.findings):
                if finding.kind == "mutates-input":
                    text = finding.message.replace(
                        "\nFix:", f"\nUnder jax.jit it fails: {format_exception(error)}\nFix:", 1)
                    self.findings[index] = Finding(finding.kind, text)
                    break
            return
        self.add(kind, message)
        line = _failing_output_line(error)
        if kind == "not-traceable" and line and not self.has("python-side-effect"):
            shown = line if len(line) <= 70 else line[:69] + "…"
            self.add("python-side-effect", f"`{self.name}` prints or logs a value computed from its arguments "
                                           f"(`{shown}`), which fails under jax.jit; and "
                                           "where it does not fail, Python's print and logging run once per "
                                           "trace, not once per call, and show a tracer. Use "
                                           "jax.debug.print(\"loss {}\", loss), or print outside the "
                                           "function")

    def side_effects(self, first: str, second: str, label: str, traced: bool = False) -> None:
        lines1 = [line for line in first.splitlines() if line.strip()]
        lines2 = [line for line in second.splitlines() if line.strip()]
        if len(lines1) > len(lines2):
            extra = [line for line in lines1 if line not in lines2] or lines1
            quoted = short(extra[0].strip(), limit=70)
            self.add("python-side-effect", f"{label} printed or logged {quoted} while it was traced, and "
                                           f"{'nothing' if not lines2 else 'less'} on the next call with "
                                           "equal arguments: Python's print and logging run once per trace, "
                                           "not once per call (jax.debug.print runs every call)")

    def leak_trace(self) -> None:
        if self.jitted is None or self.has("leaks-tracer") or self.has("mutates-input"):
            # checking_leaks takes seconds to describe a leak already seen; and a tracer put
            # into an argument object (closed over by the doctor's jit) is the mutation again
            return
        self.checked.append("jax.checking_leaks")
        try:
            with captured(), jax.checking_leaks():
                traced = self.jitted.fresh_jit().trace(self.jitted.dynamic(arglib.fresh(self.jit_call)))
        except (Exception, SystemExit) as error:
            if "leak" in str(error).lower() and not self.has("leaks-tracer"):
                first = str(error).strip().splitlines()[0]
                self.add("leaks-tracer", f"under jax.checking_leaks(), tracing `{self.name}` raised “{first}”: a "
                                         "tracer was kept after the trace ended (in a list, a global, an "
                                         "attribute or a closure)")
            return
        try:
            self.primitives = primitives_in(traced.jaxpr)
            # (a seed that changes from call to call is not-deterministic, reported already)
            seeds = ([] if self.jitted.scalars_static or self.has("not-deterministic")
                     else _constant_seeds(traced.jaxpr))
        except Exception:
            self.primitives, seeds = set(), []
        try:
            folded = [] if self.has("not-deterministic") else _repeated_fold_ins(traced.jaxpr)
        except Exception:
            folded = []
        if folded and not seeds:
            self.add("reuses-key", f"`{self.name}` folds the same number ({folded[0]}) into the same key twice "
                                   "(jax.random.fold_in(key, n) with an equal n) and uses both results: they "
                                   "are one key, so both draws are the same numbers. Fold in different numbers, "
                                   "or split the key")
        if seeds:
            self.add("reuses-key", f"`{self.name}` makes its PRNG key from the constant seed {seeds[0]} "
                                   "(jax.random.key or PRNGKey of a literal, inside the function): every "
                                   "call uses that same key again and draws the same numbers. Take the key "
                                   "as an argument, split it, and return the new key")

    def chained_recompile(self) -> None:
        """State in, state out: the returned state fed back must not retrace.

        A step counter kept as pytree metadata (a static field of a registered dataclass, aux
        data) is part of the cache key: every new value traces and compiles again.
        """
        if self.jitted is None or self.has("recompiles") or self.jit_result is None:
            return
        call = arglib.fresh(self.jit_call)
        chained = _chain_state(call, self.jit_result)
        if chained is None:
            return
        leaves = jax.tree.leaves(call)
        if not all(arglib.is_dynamic(leaf, False) for leaf in leaves):
            return
        traces = 0
        base = self.base

        def counted(args: Any, kwargs: Any) -> Any:
            nonlocal traces
            traces += 1
            return base(*args, **kwargs)

        counted.__name__ = self.name
        try:
            with captured(), compilations() as events:
                jitted = jax.jit(counted)
                jitted(*call)
                if self.user_jit:
                    self.call(self.fn, call)
                before = len(events())
                jitted(*chained)
                if self.user_jit:
                    self.call(self.fn, chained)
                again = [name for _, name in events()[before:] if name in (self.reach.code_names | {self.name})]
        except (Exception, SystemExit):
            return
        if traces > 1 or again:
            self.add("recompiles", f"feeding the state `{self.name}` returned back into it traced and compiled "
                                   f"`{self.name}` again: something in the state that jax.jit treats as static "
                                   "(a static field of a registered dataclass, pytree metadata) changed. Keep "
                                   "values that change, such as a step counter, as array fields\n"
                                   "Fix: chapter 6, “Static fields are part of the cache key”; chapter 8, "
                                   "“Step counters: data, not static”.")

    def eager_recompile(self) -> None:
        try:
            with captured(), compilations() as events:
                self.call(self.fn, self.third_call)
        except (Exception, SystemExit):
            return
        # only the reader's own functions count: a library may jit a new closure on every call
        ignored = _PRIMITIVE_NAMES | self.primitives
        mine = self.reach.code_names | {self.name}
        # (a name the reader's code mentions: jax.jit(jax.vmap(jnp.sum)) on every call
        # compiles `sum` again, where jnp.sum alone is compiled once)
        # (a compilation, not a trace alone: jax.eval_shape and jax.make_jaxpr of a lambda
        # trace it on every call and compile nothing)
        names = sorted({name for event, name in events() if event == _COMPILE_EVENT
                        and (name in mine or name in self.reach.referenced) and name not in ignored})
        if not names:
            self.int_recompile(mine - ignored)
            return
        if names:
            traced = ", ".join(f"`{n}`" for n in names)
            floats = _changed_floats(self.second_call, self.third_call, _parameter_names(self.base))
            if self.user_jit or (floats and self.name in names):
                shown = f": {', '.join(floats)}" if floats else ""
                why = (f" (a Python number it treats as static changed{shown}); a static argument "
                       "compiles anew for every value: pass a value that changes as an array")
            else:
                why = (": a jax.jit of a function created anew on every call (a lambda, an inner def, "
                       "a functools.partial) starts with an empty cache")
            self.add("recompiles", f"a third call of `{self.name}` with new values of the same shapes and dtypes "
                                   f"traced and compiled {traced} again{why}")

    def int_recompile(self, mine: set[str]) -> None:
        """A Python int made static that changes from call to call (a step counter).

        Ints are often sizes and settings (a loop count, a number of layers), made static on
        purpose. Only an int argument named like a counter (``step``, ``t``, ``epoch``, …) is
        tried with a new value: when that compiles again and the result keeps its shapes, the
        counter is data made static.
        """
        changed, labels = _perturbed_ints(self.second_call, _parameter_names(self.base))
        if not labels:
            return
        try:
            with captured():
                before = self.call(self.fn, arglib.fresh(self.second_call))
            with captured(), compilations() as events:
                after = self.call(self.fn, changed)
        except (Exception, SystemExit):
            return
        names = sorted({name for _, name in events() if name in mine})
        if not names or not _same_shapes(before, after):
            return
        self.add("recompiles", f"a call of `{self.name}` with {', '.join(labels)} traced and compiled "
                               f"{', '.join(f'`{n}`' for n in names)} again, and the results kept their shapes: "
                               "a Python int marked static (or read as a Python value) that changes from call to "
                               "call, such as a step counter, recompiles every time. Pass it as an array\n"
                               "Fix: chapter 8, “Step counters: data, not static”; chapter 2, “Static arguments”.")

    def key_reuse(self) -> None:
        call, converted = _typed_keys(self.original)
        if not converted and not _has_keys(call) and not self.reach.keys:
            return
        self.checked.append("jax.debug_key_reuse")
        KeyReuseError = getattr(jax.errors, "KeyReuseError", None)
        if KeyReuseError is None:
            return
        where = None
        try:
            with captured(), jax.debug_key_reuse(True):
                # A traced check sees every reuse inside one call (loop bodies included) and is
                # fast; plain calls are needed only for a key outside the arguments, used again
                # by every call.
                if self.jitted is not None:
                    where = "in one call (traced under jax.jit)"
                    # the check runs while tracing: no need to compile
                    self.jitted.fresh_jit().trace(self.jitted.dynamic(arglib.fresh(call)))
                else:
                    where = "in one call"
                    self.call(self.fn, arglib.fresh(call))
                if self.reach.keys:
                    for attempt in ("in one call", "across two calls"):
                        where = attempt
                        self.call(self.fn, arglib.fresh(call))
                # state in, state out: the next call gets the key the function returned
                # (raw uint32 keys made typed: the earlier results hold raw keys, so run again)
                chained = converted or _chain(call, self.jit_result if self.jitted is not None
                                              else self.eager_result) is not None
                if chained:
                    run = self.jitted.fresh_jit() if self.jitted is not None else None
                    first = (run(self.jitted.dynamic(arglib.fresh(call))) if run is not None
                             else self.call(self.fn, arglib.fresh(call)))
                    chained = _chain(call, first)
                    if chained is not None:
                        where = "across two calls"
                        if run is not None:
                            run(self.jitted.dynamic(chained))
                        else:
                            self.call(self.fn, chained)
        except KeyReuseError as error:
            first = str(error).strip().splitlines()[0]
            if where == "across two calls" and not self.reach.keys:
                detail = ("the key it returned had been consumed already, so the next call, fed what "
                          "this one returned, used it again: return a new key from jax.random.split")
            elif where == "across two calls":
                keys = ", ".join(label for label, _, _ in self.reach.keys[:2]) or "a key outside the arguments"
                detail = (f"the first call consumed {keys}, and the second call used it again: every call "
                          "draws the same numbers (and jax.jit bakes that key in as a constant)")
            else:
                detail = f"a key was consumed twice {where}"
            self.add("reuses-key", f"under jax.debug_key_reuse(True), `{self.name}` raised "
                                   f"jax.errors.KeyReuseError (“{first}”): {detail}; split a key and use each "
                                   "piece once")
        except (Exception, SystemExit):
            return
        finally:
            for _, key, consumed in self.reach.keys:
                if not consumed:
                    outside._unconsume(key)

    def baked_globals(self) -> None:
        spots = list(self.reach.spots)
        for name in self.environment[:8]:
            if name.startswith(("JAX_", "XLA_", "TF_", "CUDA", "PURESTATE")):
                continue  # (read by the libraries themselves)
            found = outside.environment_spot(name)
            if found is not None:
                spots.append(found)
        if self.jitted is None or not spots or self.has("not-deterministic"):
            return
        self.checked.append(f"{len(spots)} value(s) outside the arguments changed and put back")
        jit_side = (lambda c: self.call(self.fn, c)) if self.user_jit else self.jitted
        # the reader's own jax.jit helpers it calls bake in what they read, even in a plain
        # call: the plain side runs them with jit disabled
        plain = jax.disable_jit if self.reach.inner_jits else contextlib.nullcontext
        try:
            with captured(), plain():
                eager0 = self.call(self.base, arglib.fresh(self.jit_call))
                jit0 = jit_side(arglib.fresh(self.jit_call))
        except (Exception, SystemExit):
            return
        reported = 0
        for spot in spots:
            try:
                current = spot.get()
            except Exception:
                continue
            if current is not spot.original and not (isinstance(current, str) and current == spot.original):
                continue  # the function changes it itself: writes-outside says so
            try:
                new = spot.change(current) if spot.change is not None else outside.changed_value(current)
            except Exception:
                continue
            try:
                spot.set(new)
                with captured():
                    with plain():
                        eager = self.call(self.base, arglib.fresh(self.jit_call))
                    compiled = jit_side(arglib.fresh(self.jit_call))
            except (Exception, SystemExit):
                continue
            finally:
                spot.set(current)
            sees = arglib.difference(eager0, eager, rtol=RTOL, atol=ATOL)
            stale = arglib.difference(jit0, compiled, rtol=RTOL, atol=ATOL) is None
            if sees and stale and reported < 3:
                reported += 1
                was = "unset" if current is None else short(current)
                self.add("bakes-global", f"after {spot.label} changed from {was} to {short(new)}, "
                                         f"`{self.name}` returned {arglib.values_text(eager)} and "
                                         f"`{self.jit_name}` still returned {arglib.values_text(compiled)}: jax.jit read it once, while tracing, and "
                                         "kept it as a constant. Pass it as an argument")


_MISSING = ("<missing>",)


# Seeds whose first uniform draw is below 0.002, then above 0.998: (np.random.seed,
# random.seed, np.random.default_rng)
_EXTREME_SEEDS = ((742, 139, 688), (319, 526, 588))


def _reseed(generators: list[Any], legacy: int, python: int, modern: int) -> None:
    """NumPy's and Python's global generators, and the reader's generator objects, seeded
    anew (the doctor puts them all back afterwards)."""
    import random

    np.random.seed(legacy % 2**32)
    random.seed(python)
    for generator in generators:
        try:
            if isinstance(generator, np.random.Generator):
                generator.bit_generator.state = type(generator.bit_generator)(modern).state
            elif isinstance(generator, np.random.RandomState):
                generator.seed(legacy % 2**32)
            else:
                generator.seed(python)
        except Exception:
            continue


def _settings() -> dict[str, Any]:
    def label(name: str) -> str:
        if " (np." in name:  # NumPy's error handling, print options
            return name.replace("numpy", "NumPy's", 1)
        return f"the JAX setting `{name}` (jax.config.update)"

    return {label(name): value for name, value in settings.snapshot(numpy=True).items()}


_CLOCK_SHIFT_S = 400 * 86_400 + 0.5  # a year and more, and half a second


@contextlib.contextmanager
def advanced_clock(bound: list[tuple[dict[str, Any], str]]) -> Iterator[None]:
    """``time.time`` and ``time.perf_counter`` (and the reader's names for them) moved on."""
    import time

    originals = {name: getattr(time, name) for name in ("time", "perf_counter")}
    shifted = {
        "time": lambda: originals["time"]() + _CLOCK_SHIFT_S,
        "perf_counter": lambda: originals["perf_counter"]() + _CLOCK_SHIFT_S,
    }
    ns = {"time_ns": time.time_ns, "perf_counter_ns": time.perf_counter_ns}
    shifted["time_ns"] = lambda: ns["time_ns"]() + int(_CLOCK_SHIFT_S * 1e9)
    shifted["perf_counter_ns"] = lambda: ns["perf_counter_ns"]() + int(_CLOCK_SHIFT_S * 1e9)
    originals.update(ns)
    rebound = []
    for namespace, name in bound:
        value = namespace.get(name)
        for clock, original in originals.items():
            if value is original:
                rebound.append((namespace, name, value))
                namespace[name] = shifted[clock]
    for name, fn in shifted.items():
        setattr(time, name, fn)
    try:
        yield
    finally:
        for name, fn in originals.items():
            setattr(time, name, fn)
        for namespace, name, value in rebound:
            namespace[name] = value


# output and compilation events ----------------------------------------------------------


class _LogCapture(logging.Handler):
    def __init__(self, sink: io.StringIO):
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        if record.name.split(".")[0] in ("jax", "jaxlib", "absl"):
            return
        try:
            self.sink.write(f"{record.levelname}:{record.name}:{record.getMessage()}\n")
        except Exception:
            pass


@contextlib.contextmanager
def captured() -> Iterator[Callable[[], str]]:
    """What the code prints (stdout, stderr) or logs meanwhile; JAX's warnings are dropped."""
    sink = io.StringIO()
    handler = _LogCapture(sink)
    root = logging.getLogger()
    level = root.level
    # every logger's records, also those of a logger that does not propagate to the root
    # (propagate = False, with a handler of its own made before the capture)
    original_handle = logging.Logger.handle

    def handle(logger: logging.Logger, record: logging.LogRecord) -> Any:
        try:
            if not logger.disabled and logger.filter(record):
                handler.emit(record)
        except Exception:
            pass
        return original_handle(logger, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]
    # the reader's loggers inherit the root's level: let their debug messages through, and
    # keep JAX's own (which would slow tracing down) at their usual level
    libraries = [logging.getLogger(name) for name in ("jax", "jaxlib", "absl")]
    library_levels = [logger.level for logger in libraries]
    for logger in libraries:
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)
    if level > logging.DEBUG or level == logging.NOTSET:
        root.setLevel(logging.DEBUG)
    original_warn = warnings.warn

    def warn(message: Any, category: Any = None, stacklevel: int = 1, source: Any = None, **more: Any) -> None:
        # the reader's own warnings.warn (a caller outside the libraries) is output too
        try:
            caller = sys._getframe(1).f_globals.get("__name__", "") or ""
        except Exception:
            caller = "jax"
        if not _library_module(caller):
            if isinstance(message, Warning):
                kind = type(message).__name__
            else:
                kind = getattr(category, "__name__", None) or "UserWarning"
            sink.write(f"{kind}: {message}\n")
        return original_warn(message, category, stacklevel + 1, source, **more)

    try:
        with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink), \
                warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            warnings.warn = warn
            try:
                yield sink.getvalue
            finally:
                warnings.warn = original_warn
                try:
                    jax.effects_barrier()
                except Exception:
                    pass
                # Warnings are kept out: JAX's own point at the reader's line (stacklevel), so
                # they cannot be told from the reader's warnings.warn.
                del caught
    finally:
        logging.Logger.handle = original_handle  # type: ignore[method-assign]
        root.setLevel(level)
        for logger, previous in zip(libraries, library_levels):
            logger.setLevel(previous)


def _library_module(name: str) -> bool:
    top = name.split(".")[0]
    return top in outside._LIBRARIES or top in sys.stdlib_module_names


_listening = threading.Lock()
_collectors: dict[int, list[tuple[str, str]]] = {}
_registered = False


def _on_event(event: str, *args: Any, **kwargs: Any) -> None:
    sink = _collectors.get(threading.get_ident())
    if sink is not None and event in (_TRACE_EVENT, _COMPILE_EVENT):
        name = str(kwargs.get("fun_name", ""))
        if name.startswith("jit(") and name.endswith(")"):
            name = name[4:-1]
        sink.append((event, name))


@contextlib.contextmanager
def compilations() -> Iterator[Callable[[], list[tuple[str, str]]]]:
    """The traces and compilations JAX reports in this thread meanwhile (event, function name)."""
    global _registered
    with _listening:
        if not _registered:
            jax.monitoring.register_event_duration_secs_listener(_on_event)
            _registered = True
    ident = threading.get_ident()
    sink: list[tuple[str, str]] = []
    _collectors[ident] = sink
    try:
        yield lambda: list(sink)
    finally:
        _collectors.pop(ident, None)


# small helpers --------------------------------------------------------------------------


def _returns_functions(result: Any) -> bool:
    try:
        leaves = jax.tree.leaves(result)
    except Exception:
        return False
    return any(callable(leaf) and not isinstance(leaf, (jax.Array, np.ndarray, np.generic, type))
               for leaf in leaves)


def _same_state(a: Any, b: Any) -> bool:
    """Equal fingerprints; a generator's state is a new dict on each read, so its
    fingerprint is compared as text."""
    try:
        return a == b or repr(a) == repr(b)
    except Exception:
        return False


def _donated(value: Any) -> bool:
    try:
        return any(isinstance(leaf, jax.Array) and not isinstance(leaf, jax.core.Tracer) and leaf.is_deleted()
                   for leaf in jax.tree.leaves(value))
    except Exception:
        return False


def _readable(label: str, name: str) -> str:
    """The checker's label for a bound method's object, as a sentence can use it."""
    return label.replace(f"the object `{name}` is a method of", f"the object whose method `{name}` is called")


def _fingerprint(value: Any) -> Any:
    legacy = getattr(purity, "_fingerprint", None)
    try:
        if legacy is not None:
            return legacy(value)
        return purity._Walker("argument").fingerprint(value, 0, 0)  # type: ignore[attr-defined]
    except Exception:
        return ("unreadable", id(value))


def _show(value: Any) -> str:
    if type(value).__repr__ is object.__repr__ and isinstance(getattr(value, "__dict__", None), dict):
        return f"{type(value).__name__} with attributes {arglib.values_text(dict(vars(value)))}"
    return arglib.values_text(value)


def _argument_states(call: arglib.Call) -> list[tuple[Any, str]]:
    args, kwargs = call
    return [(_fingerprint(v), _show(v)) for v in list(args) + [kwargs[k] for k in kwargs]]


def _parameter_names(fn: Callable[..., Any]) -> list[str]:
    try:
        return [p.name for p in inspect.signature(fn).parameters.values()
                if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    except (TypeError, ValueError):
        return []


_OUTPUT_CALL = re.compile(r"(^|[^\w.])print\s*\(|\blog(ger|ging)?\.(debug|info|warning|warn|error|critical|"
                          r"exception|log)\s*\(|\bwarnings\.warn\s*\(|\bsys\.std(out|err)\.write\s*\(|"
                          r"\bpprint\s*\(")


def _failing_output_line(error: BaseException) -> str | None:
    """The reader's line where ``error`` was raised, when it is a print or a logging call
    (``print(f"loss {loss:.4f}")``, ``print(loss.item())``)."""
    import linecache

    tb = error.__traceback__
    line = None
    while tb is not None:
        frame = tb.tb_frame
        module = frame.f_globals.get("__name__", "") or ""
        if not _library_module(module):
            line = linecache.getline(frame.f_code.co_filename, tb.tb_lineno).strip() or None
        tb = tb.tb_next
    if line and _OUTPUT_CALL.search(line.split("#", 1)[0]):
        return line
    return None


def _item_assignment(error: BaseException) -> bool:
    text = str(error)
    return isinstance(error, TypeError) and ("immutable" in text or "item assignment" in text)


def _jit_failure(name: str, error: BaseException) -> tuple[str, str]:
    kind = type(error).__name__
    said = format_exception(error)
    if kind == "UnexpectedTracerError":
        return "leaks-tracer", (f"`jax.jit({name})` raised {said}: the function used a tracer kept from an "
                                "earlier trace (in a global, a list or an attribute)")
    if kind == "TracerBoolConversionError":
        fix = ("Python's `if`, `while`, `and`, `or` or `bool()` met an array value, which is unknown while "
               "tracing. Use jnp.where or jax.lax.cond for data, or mark a setting static "
               "(static_argnums)")
    elif kind == "TracerIntegerConversionError":
        fix = ("an array value was used as a Python int (range, an index, int()). Use jax.lax.fori_loop "
               "or dynamic indexing for data, or mark a size static (static_argnums)")
    elif kind == "TracerArrayConversionError":
        fix = ("a NumPy function (np.asarray, np.sin, …) was called on a tracer. Use jax.numpy instead "
               "(chapter 4, “Converting a tracer to NumPy: which calls work, and why”)")
    elif kind == "NonConcreteBooleanIndexError":
        fix = ("x[mask] has a shape that depends on the data. Use jnp.where(mask, x, 0), or a reduction "
               "with where=mask")
    elif kind == "ConcretizationTypeError":
        fix = ("Python needed a concrete value (float(), .item(), a shape, a loop bound) from an array. "
               "Keep values as arrays (jnp.where, jax.lax.cond, jax.lax.fori_loop), or mark a setting "
               "static (static_argnums)")
    elif _item_assignment(error):
        fix = "an array was changed in place. JAX arrays are immutable: use x.at[i].set(v)"
    elif "as an abstract array" in str(error):
        fix = ("an argument that is not an array (a string, an object, a method's `self`) was passed to "
               "jax.jit as data. Mark it static (static_argnums, static_argnames), or pass its arrays")
    elif "not a valid JAX type" in str(error):
        said = "TypeError: it returned a value that is not an array (a string, an object)"
        fix = "jax.jit can only return arrays and pytrees of arrays; return the numbers and format them outside"
    else:
        fix = "jax.jit cannot trace it as written"
    return "not-traceable", f"`jax.jit({name})` raised {said}: {fix}"


_COUNTER = re.compile(
    r"^(steps_done|num_updates|n_updates|"
    r"(cur_|current_|global_|train_|opt_|this_)?"
    r"(step|t|i|it|iter|iteration|epoch|count|counter|update|round|timestep|time_step|batch|episode|"
    r"generation|frame|sample|idx|index)"
    r"(_?(idx|index|num|number|no|id|count))?)$"
)


def _changed_floats(before: arglib.Call, after: arglib.Call, params: list[str]) -> list[str]:
    """The Python float arguments that differ between two calls, in words."""
    found = []
    (args_a, kwargs_a), (args_b, kwargs_b) = before, after
    for index, (a, b) in enumerate(zip(args_a, args_b)):
        if type(a) is float and a != b:
            name = params[index] if index < len(params) else f"argument {index + 1}"
            found.append(f"`{name}` went from {a:g} to {b:g}")
    for name, a in kwargs_a.items():
        b = kwargs_b.get(name)
        if type(a) is float and a != b:
            found.append(f"`{name}` went from {a:g} to {b:g}")
    return found


def _perturbed_ints(call: arglib.Call, params: list[str]) -> tuple[arglib.Call, list[str]]:
    """``call`` with each top-level Python int argument one larger; what changed, in words."""
    args, kwargs = call
    labels: list[str] = []
    new_args = []
    for index, value in enumerate(args):
        name = params[index] if index < len(params) else ""
        if type(value) is int and _COUNTER.match(name):
            labels.append(f"`{name}` changed from {value} to {value + 1}")
            value = value + 1
        new_args.append(value)
    new_kwargs = {}
    for name, value in kwargs.items():
        if type(value) is int and _COUNTER.match(name):
            labels.append(f"`{name}` changed from {value} to {value + 1}")
            value = value + 1
        new_kwargs[name] = value
    return arglib.fresh((tuple(new_args), new_kwargs)), labels


def _same_shapes(first: Any, second: Any) -> bool:
    try:
        a, ta = jax.tree.flatten(first)
        b, tb = jax.tree.flatten(second)
    except Exception:
        return False
    return ta == tb and all(np.shape(x) == np.shape(y) for x, y in zip(a, b))


def _chain(call: arglib.Call, result: Any) -> arglib.Call | None:
    """``call`` with the argument holding keys replaced by the matching part of ``result``
    (the state a step function returns), or ``None`` when nothing matches."""
    from purestate.compare import is_key_array

    def signature(tree: Any) -> Any:
        leaves, treedef = jax.tree.flatten(tree)
        return treedef, tuple(is_key_array(leaf) for leaf in leaves)

    args, kwargs = call
    parts = [result] + (list(result) if isinstance(result, (tuple, list)) else [])
    for index, arg in enumerate(args):
        try:
            shape = signature(arg)
        except Exception:
            continue
        if not any(shape[1]):
            continue
        for part in parts:
            try:
                if signature(part) == shape:
                    new_args = list(args)
                    new_args[index] = part
                    return tuple(new_args), dict(kwargs)
            except Exception:
                continue
    return None


def _constant_seeds(closed: Any) -> list[Any]:
    """Seeds of ``random_seed`` equations whose input is a literal (a key made from a constant)."""
    found: list[Any] = []

    def visit(jaxpr: Any) -> None:
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "random_seed":
                literal = eqn.invars[0] if eqn.invars else None
                if type(literal).__name__ == "Literal" and not _made_by_library(eqn):
                    found.append(getattr(literal, "val", literal))
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(getattr(closed, "jaxpr", closed))
    return found


def _made_by_library(eqn: Any) -> bool:
    """Whether the innermost frame outside JAX that made ``eqn`` is an installed library's
    (Flax's ``nn.RNN`` makes a key from 0 to initialise a carry of zeros: not the reader's)."""
    try:
        from jax._src import source_info_util

        frame = next(iter(source_info_util.user_frames(eqn.source_info.traceback)), None)
    except Exception:
        return False
    name = getattr(frame, "file_name", "") or ""
    return "site-packages" in name or "dist-packages" in name


def _repeated_fold_ins(closed: Any) -> list[str]:
    """Numbers folded twice into one key within one program (both results used): the
    same new key twice, which ``jax.debug_key_reuse`` does not see."""
    found: list[str] = []

    def visit(jaxpr: Any) -> None:
        source: dict[Any, Any] = {}  # a converted variable → the variable it came from
        used: set[Any] = set()
        for eqn in jaxpr.eqns:
            used.update(v for v in eqn.invars if type(v).__name__ != "Literal")
        used.update(v for v in jaxpr.outvars if type(v).__name__ != "Literal")
        seen: dict[Any, Any] = {}
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "convert_element_type" and type(eqn.invars[0]).__name__ != "Literal":
                source[eqn.outvars[0]] = source.get(eqn.invars[0], eqn.invars[0])
            if eqn.primitive.name == "random_fold_in" and len(eqn.invars) == 2:
                key, data = eqn.invars
                if type(data).__name__ == "Literal":
                    what: Any = ("literal", repr(np.asarray(data.val).tolist()))
                    shown = what[1]
                else:
                    what = ("var", source.get(data, data))
                    shown = "a traced number"
                if type(key).__name__ == "Literal" or eqn.outvars[0] not in used:
                    continue
                signature = (key, what)
                if signature in seen:
                    found.append(shown)
                else:
                    seen[signature] = eqn
            for sub in jax.extend.core.jaxprs_in_params(eqn.params):
                visit(sub)

    visit(getattr(closed, "jaxpr", closed))
    return found


def _chain_state(call: arglib.Call, result: Any) -> arglib.Call | None:
    """``call`` with an argument replaced by the part of ``result`` of its type and number of
    leaves, whose tree structure differs (metadata changed); ``None`` when there is none."""
    args, kwargs = call
    parts = [result] + (list(result) if isinstance(result, (tuple, list)) else [])
    for index, arg in enumerate(args):
        try:
            structure = jax.tree.structure(arg)
            count = len(jax.tree.leaves(arg))
        except Exception:
            continue
        if structure.num_nodes <= 1:
            continue
        for part in parts:
            try:
                if (type(part) is type(arg) and len(jax.tree.leaves(part)) == count
                        and jax.tree.structure(part) != structure):
                    new_args = list(args)
                    new_args[index] = part
                    return tuple(new_args), dict(kwargs)
            except Exception:
                continue
    return None


def _has_keys(tree: Any) -> bool:
    from purestate.compare import is_key_array

    return any(is_key_array(leaf) for leaf in jax.tree.leaves(tree))


def _typed_keys(call: arglib.Call) -> tuple[arglib.Call, bool]:
    """``call`` with raw uint32 keys (``jax.random.PRNGKey``) as typed keys, which
    ``jax.debug_key_reuse`` tracks; and whether any was converted."""
    converted = False

    def convert(leaf: Any) -> Any:
        nonlocal converted
        if (isinstance(leaf, (jax.Array, np.ndarray)) and leaf.dtype == np.uint32 and leaf.ndim >= 1
                and leaf.shape[-1] == 2):
            converted = True
            return jax.random.wrap_key_data(jax.numpy.asarray(leaf))
        return leaf

    return jax.tree.map(convert, call), converted
