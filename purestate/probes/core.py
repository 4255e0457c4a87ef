"""The probe machinery: `Probe`, the reader's `Answer`, cases and fresh copies."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import sys
import types
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

import jax
import jax.extend

from purestate.compare import fresh_copy, short, snapshot
from purestate.runner import (
    ProbeFailure,
    ReferenceUsed,
    call_reader,
    in_reader_code,
    note_reference_used,
    reference_message,
)


Case = Callable[[], tuple[Any, ...]]
T = TypeVar("T")


def case(*args: Any) -> Case:
    """A case made of fixed arguments, deep-copied on every use (``compare.fresh_copy``).

    JAX arrays are copied too: an answer that donates an argument deletes the array it is
    given, and every later probe (and later check) must still find its own. PRNG keys are
    unconsumed copies: under ``jax.debug_key_reuse`` a key remembers that it was consumed.
    """
    frozen = snapshot(args)
    return lambda: fresh_copy(frozen)


def fresh_jit(fn: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit`` of a new wrapper around ``fn``.

    ``jax.jit`` caches traces per function object, across separate ``jax.jit`` calls: a
    probe that must see a trace of its own (for leaks, key reuse, trace counts) wraps first.
    """

    def wrapper(*args: Any) -> Any:
        return fn(*args)

    _named_after(wrapper, fn)
    return jax.jit(wrapper, **jit_kwargs)


def _named_after(wrapper: Callable[..., Any], fn: Callable[..., Any]) -> None:
    """Give ``wrapper`` the reader's function name: JAX's errors name the function they trace."""
    name = getattr(fn, "__name__", None)
    if isinstance(name, str) and name.isidentifier():
        wrapper.__name__ = wrapper.__qualname__ = name


class Answer:
    """The reader's objects, by the names the exercise gives them.

    One ``Answer`` lives for one check: ``shared`` keeps what several probes of that check
    judge (one recorded run of the reader's step), and it is gone with the check.
    """

    def __init__(self, objects: dict[str, Any]):
        self._objects = dict(objects)
        self._shared: dict[Callable[..., Any], tuple[bool, Any]] = {}

    def shared(self, compute: Callable[[Answer], T]) -> T:
        """``compute(self)``, run once per check; later calls get the same result.

        For an exercise whose probes all judge one expensive run (a training loop compiled
        once): the first probe to ask runs it, the others read its record. An exception is
        kept too, and raised again to every probe that asks, so that each reports it without
        running the reader's code again.
        """
        if compute not in self._shared:
            try:
                self._shared[compute] = (True, compute(self))
            except Exception as error:  # noqa: BLE001 - replayed below, to every probe that asks
                self._shared[compute] = (False, error)
        ok, value = self._shared[compute]
        if not ok:
            raise value
        return value

    def __getattr__(self, name: str) -> Any:
        try:
            return self._objects[name]
        except KeyError:
            raise AttributeError(name) from None

    def call(self, name: str, *args: Any, **kwargs: Any) -> Any:
        """Call the reader's ``name`` with ``args``; its exceptions become feedback."""
        return call_reader(name, self._objects[name], *args, **kwargs)

    def call_transformed(self, label: str, fn: Callable[..., Any], *args: Any) -> Any:
        """Call ``fn`` (a transformation of the reader's code) and name it ``label`` on error."""
        return call_reader(label, fn, *args)


@dataclass(frozen=True)
class Probe:
    """One property of an answer.

    ``key`` is a stable slug the tests refer to; ``description`` is the line the reader sees;
    ``hint`` is the nudge the report shows when this probe fails (never the solution). An
    empty ``hint`` falls back to the exercise's first hint. ``requires`` names earlier probes
    that must pass before this one runs (see ``after``).
    """

    key: str
    description: str
    run: Callable[[Answer], None]
    hint: str = ""
    requires: tuple[str, ...] = ()


def after(required: str | Sequence[str], *probes: Probe) -> tuple[Probe, ...]:
    """``probes``, run only once the probes keyed ``required`` have passed.

    For probes that are pointless or ruinously slow on an answer that failed a structural
    probe: a Python loop of 256 steps, unrolled under ``jax.jit``, took over 30 s to
    compile, and the reader who wrote one learns more from "loop with lax.scan" than from
    a time-out. A probe left out this way is reported as not run, with the reason.
    """
    keys = (required,) if isinstance(required, str) else tuple(required)
    return tuple(dataclasses.replace(probe, requires=probe.requires + keys) for probe in probes)


_LIBRARY_PACKAGES = frozenset({
    "jax", "jaxlib", "numpy", "scipy", "optax", "flax", "equinox", "functools", "contextlib",
    "threading", "operator", "collections", "typing", "abc", "builtins", "inspect", "copy",
    "dataclasses", "itertools", "concurrent", "asyncio",
})


def _module_of(frame: Any) -> str:
    name = frame.f_globals.get("__name__", "")
    return name if isinstance(name, str) else ""


def _called_by_reader() -> bool:
    """Whether the nearest caller outside the libraries is the reader's code (not the checker's)."""
    frame = sys._getframe(2)  # the reference's caller (0: here, 1: the reference's wrapper)
    while frame is not None:
        module = _module_of(frame)
        top = module.split(".")[0]
        if top == "purestate":
            return False
        if top not in _LIBRARY_PACKAGES:
            return True
        frame = frame.f_back
    return False


def reference(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` as one of the course's reference implementations.

    Reference functions are importable, so a reader could pass one to ``check`` (or call it
    from their own function). ``check`` refuses an answer that is, wraps (``functools.wraps``,
    ``jax.jit``) or is a ``functools.partial`` of a marked function, and a probe fails when the
    reader's code calls one ("this is the course's reference; write your own"). Probes call
    references freely to compute expected values: only a call made from the reader's code
    while it is being checked is refused.

    Returns a plain function (usable with ``jax.jit``, ``jax.grad``, ``functools.wraps``)
    with the same name, docstring and signature; a class is only marked.
    """
    try:
        fn.__purestate_reference__ = True  # type: ignore[attr-defined]
    except (AttributeError, TypeError):
        pass
    if isinstance(fn, type) or not callable(fn):
        return fn
    name = f"{getattr(fn, '__module__', '?')}.{getattr(fn, '__qualname__', getattr(fn, '__name__', '?'))}"

    @functools.wraps(fn)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if in_reader_code() and _called_by_reader():
            note_reference_used(name)
            raise ReferenceUsed(reference_message(name))
        return fn(*args, **kwargs)

    try:
        guarded.__signature__ = inspect.signature(fn)  # type: ignore[attr-defined]
    except (TypeError, ValueError):
        pass
    del guarded.__wrapped__  # the unguarded function is not one attribute away
    guarded.__purestate_reference__ = True  # type: ignore[attr-defined]
    return guarded


def _is_course_module(module: Any) -> bool:
    return isinstance(module, str) and (module == "purestate" or module.startswith("purestate."))


def course_object_name(obj: Any) -> str | None:
    """``module.name`` when ``obj`` is the course's own code, else ``None``.

    The course's own code: a function marked with ``reference``, or any function or class of
    a ``purestate`` module, also when ``obj`` wraps one (``inspect.unwrap``, ``jax.jit``), is
    a ``functools.partial`` or a bound method of one, or an instance of a course class.
    """
    pending = [obj]
    looked = 0
    while pending and looked < 20:
        item = pending.pop()
        looked += 1
        try:
            marked = getattr(item, "__purestate_reference__", False) is True
            module = getattr(item, "__module__", None)
            label = getattr(item, "__qualname__", None) or getattr(item, "__name__", None) or type(item).__name__
            plain = isinstance(item, (type, types.FunctionType, types.BuiltinFunctionType))
            if marked or (plain and _is_course_module(module)):
                return f"{module}.{label}" if isinstance(module, str) else str(label)
            if isinstance(item, functools.partial):
                pending.append(item.func)
            elif isinstance(item, types.MethodType):
                pending.extend((item.__func__, type(item.__self__)))
            elif not plain:
                pending.append(type(item))  # a callable object: its class
            wrapped = getattr(item, "__wrapped__", None)
            if wrapped is not None:
                pending.append(wrapped)
        except BaseException:  # a hostile __getattr__: not the course's
            continue
    return None


def signature_text(name: str, fn: Callable[..., Any], args: Sequence[Any]) -> str:
    """``name(a=…, b=…)`` with the reader's parameter names, for messages."""
    shown = [short(a, limit=40) for a in args]
    try:
        params = [
            p.name for p in inspect.signature(fn).parameters.values()
            if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
        ]
    except (TypeError, ValueError):
        params = []
    if len(params) >= len(args):
        shown = [f"{p}={s}" for p, s in zip(params, shown)]
    return f"{name}({', '.join(shown)})"


def _fail(message: str) -> None:
    raise ProbeFailure(message)



def _param_name(fn: Callable[..., Any], index: int) -> str:
    try:
        params = list(inspect.signature(fn).parameters)
        return f"`{params[index]}`"
    except (TypeError, ValueError, IndexError):
        return f"number {index + 1}"
