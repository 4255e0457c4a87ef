"""Side effects and purity: arguments, globals, closures and hidden state left as they were."""

from __future__ import annotations

import array
import collections
import functools
import hashlib
import inspect
import io
import itertools
import random
import sys
import sysconfig
import types
from collections.abc import Callable, Sequence
from typing import Any

import jax
import jax.extend
import numpy as np

from purestate import settings
from purestate.compare import changed, is_key_array, is_ref, short, snapshot
from purestate.probes.core import Answer, Case, Probe, _fail, _param_name, signature_text


def inputs_unchanged(
    name: str,
    cases: Sequence[Case],
    *,
    ignore: Sequence[int] = (),
    key: str = "inputs-unchanged",
    description: str | None = None,
    hint: str = (
        "Leave the arguments alone: build a new list, dict or array (a copy, or JAX's `.at[]` "
        "updates) instead of changing the one you were given, at any depth."
    ),
) -> Probe:
    """Calling the answer leaves every argument as it was, at any depth.

    ``ignore`` lists the positions of arguments the function is meant to change (a Ref it
    writes into): those are not compared, every other one is.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            before = snapshot(args)
            answer.call(name, *args)
            for index, (was, now) in enumerate(zip(before, args)):
                if index in ignore:
                    continue
                found = changed(was, now)
                if found:
                    param = _param_name(fn, index)
                    _fail(
                        f"{name} changed its argument {param}: before the call it was "
                        f"{short(was)}, afterwards {short(now)} ({found})"
                    )

    return Probe(key, description or f"{name} leaves its arguments unchanged", run, hint)




def deterministic(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "same-result-twice",
    description: str | None = None,
    hint: str = (
        "The result may depend only on the arguments: look for state kept between calls "
        "(a global, an attribute, a default value, a random generator)."
    ),
) -> Probe:
    """Two calls with equal arguments return equal results (no hidden state)."""

    def run(answer: Answer) -> None:
        for make in cases:
            first = answer.call(name, *make())
            second = answer.call(name, *make())
            found = changed(first, second)
            if found:
                _fail(
                    f"two calls of {signature_text(name, getattr(answer, name), make())} "
                    f"returned different results: first {short(first)}, then {short(second)}"
                )

    return Probe(key, description or f"{name} returns the same result when called twice", run, hint)


def returns_fresh_object(
    name: str,
    cases: Sequence[Case],
    *,
    argnum: int = 0,
    key: str = "returns-new-object",
    description: str | None = None,
    hint: str = (
        "Return a new object built from the argument rather than the argument itself, so "
        "the caller's value and the result stay independent."
    ),
) -> Probe:
    """The result is not the argument ``argnum`` itself (a new container is returned)."""

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            result = answer.call(name, *args)
            if result is args[argnum]:
                _fail(f"{name} returned its argument {_param_name(fn, argnum)} itself, not a new object")

    return Probe(key, description or f"{name} returns a new object", run, hint)


def globals_unchanged(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "globals-unchanged",
    description: str | None = None,
    hint: str = (
        "Keep everything the function computes in its return value: no global, closed-over "
        "variable, attribute (of the function, a class or an object) or container may change."
    ),
) -> Probe:
    """Calling the answer changes no state outside it: globals, closures, attributes, containers.

    Before and after each plain call, fingerprints what the answer can reach (see
    ``hidden_state``): the globals its code names and its closure cells, the attributes of
    the function itself, its default values, the class attributes of the classes it names,
    the contents of containers (lists, dicts, sets, deques, ``array.array``, bytearrays,
    NumPy arrays), the position of iterators (``iter(range(…))``, ``map``, ``enumerate``)
    and of generators, and the contents of objects (``__dict__`` and ``__slots__``) at any depth, and the same
    for every function of the reader's it calls (named in a global or a closure, methods of
    classes it names), a few levels deep. A ``functools.partial``, a bound method, a
    ``jax.jit``-wrapped function or a callable object passed as the answer is looked through.
    Modules and the libraries' own objects (``jax.jit`` caches included) are not looked into;
    a few global JAX settings are (``jax.config.update`` of x64 or the matmul precision changes
    every later computation of the session): see ``purestate.settings.JAX_SETTINGS``.
    """

    def run(answer: Answer) -> None:
        fn = getattr(answer, name)
        for make in cases:
            args = make()
            before = {**hidden_state(fn, name), **_labelled(settings.snapshot(settings.JAX_SETTINGS))}
            answer.call(name, *args)
            after = {**hidden_state(fn, name), **_labelled(settings.snapshot(settings.JAX_SETTINGS))}
            label = first_change(before, after)
            if label:
                _fail(
                    f"calling {name} changed {label}: a pure function keeps what it computes in "
                    "its return value"
                )

    return Probe(key, description or f"{name} changes no global or closed-over variable", run, hint)


def _labelled(values: dict[str, Any]) -> dict[str, Any]:
    return {f"the JAX setting `{name}` (jax.config.update)": value for name, value in values.items()}


_MISSING = ("<missing>",)


def first_change(before: dict[str, Any], after: dict[str, Any]) -> str | None:
    """The first label (in sorted order) whose fingerprint differs between two
    ``hidden_state`` snapshots, or ``None``."""
    for label in sorted(set(before) | set(after)):
        if before.get(label, _MISSING) != after.get(label, _MISSING):
            return label
    return None
_BUDGET = 20_000  # values fingerprinted per snapshot, at most
_MAX_FOLLOW_DEPTH = 4  # functions followed: the answer, what it calls, … this many levels
_MAX_FOLLOWED = 200
_MAX_DATA_DEPTH = 40
_SMALL_BYTES = 1 << 16  # JAX arrays up to this size are compared by content, larger ones by identity
_SKIPPED_CLASS_ENTRIES = frozenset({"__dict__", "__weakref__", "__doc__", "__module__", "__qualname__"})


# Python's iterators over sequences, ranges, dicts and sets: `next` moves them on, and how
# many items they still hold (`__length_hint__`) shows it. A module-level `iter(range(…))`
# advanced on every call is a counter kept between calls.
_SEQUENCE_ITERATORS = tuple({
    type(iter(x))
    for x in ([], (), range(0), range(2**64), "", b"", bytearray(), {}, {}.values(), {}.items(), set())
} | {type(reversed([])), type(reversed(range(0)))})
# Iterators made of other iterators: `__reduce__` gives what they consume (and, for
# `enumerate`, the next index), fingerprinted in turn.
_COMPOSED_ITERATORS = (map, zip, enumerate, filter)


class _Same:
    """Compares equal only to a ``_Same`` of the very same object (kept alive meanwhile)."""

    __slots__ = ("obj",)

    def __init__(self, obj: Any):
        self.obj = obj

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Same) and other.obj is self.obj

    def __hash__(self) -> int:
        return id(self.obj)

    def __repr__(self) -> str:
        return f"<{type(self.obj).__name__}>"


@functools.lru_cache(maxsize=None)
def _library_module(module: str) -> bool:
    """Whether code of ``module`` belongs to a library (not to the reader): not looked into."""
    top = module.split(".")[0]
    if top == "purestate" or top in sys.stdlib_module_names or top in ("builtins", "__future__"):
        return True
    loaded = sys.modules.get(top)
    file = getattr(loaded, "__file__", None) or ""
    return any(file.startswith(prefix) for prefix in _library_paths())


@functools.lru_cache(maxsize=1)
def _library_paths() -> tuple[str, ...]:
    paths = sysconfig.get_paths()
    return tuple({paths[k] for k in ("stdlib", "platstdlib", "purelib", "platlib") if k in paths})


def _is_library(obj: Any) -> bool:
    if isinstance(obj, types.FunctionType):  # where its code lives (functools.wraps copies __module__)
        module = obj.__globals__.get("__name__")
    else:
        module = getattr(obj, "__module__", None)
    return not isinstance(module, str) or _library_module(module)


class _Walker:
    """Fingerprints of the state the reader's callable can reach, by label."""

    def __init__(self, answer_name: str):
        self.answer_name = answer_name
        self.found: dict[str, Any] = {}
        self.budget = _BUDGET
        self.followed: set[int] = set()
        self.queue: list[tuple[Any, int]] = []
        self.home: dict[str, Any] | None = None  # the answer's module namespace
        self.names_random = False  # whether some code followed names `random`

    # roots -------------------------------------------------------------------------------

    def callable_root(self, obj: Any, label: str, depth: int) -> None:
        """Look through wrappers of a callable passed as the answer."""
        for _ in range(10):
            if isinstance(obj, functools.partial):
                self.add(f"what functools.partial binds in `{label}`", (obj.args, obj.keywords), depth)
                obj = obj.func
            elif isinstance(obj, types.MethodType):
                self.add(f"the object `{label}` is a method of", obj.__self__, depth)
                obj = obj.__func__
            elif not isinstance(obj, (types.FunctionType, type)) and _safe_wrapped(obj) is not None:
                obj = _safe_wrapped(obj)  # jax.jit, functools.wraps, lru_cache
            else:
                break
        if isinstance(obj, types.FunctionType) or isinstance(obj, type):
            self.schedule(obj, depth)
        elif not _is_library(type(obj)):
            self.add(f"the object `{label}`", obj, depth)

    def schedule(self, obj: Any, depth: int) -> None:
        if depth > _MAX_FOLLOW_DEPTH or id(obj) in self.followed or len(self.followed) >= _MAX_FOLLOWED:
            return
        self.followed.add(id(obj))
        if _is_library(obj):
            wrapped = _safe_wrapped(obj)  # a library decorator (jax.checkpoint, functools.wraps)
            if wrapped is not None and not isinstance(obj, type):
                self.schedule(wrapped, depth)
            return
        self.queue.append((obj, depth))

    def run(self, fn: Any) -> dict[str, Any]:
        self.callable_root(fn, self.answer_name, 0)
        while self.queue:
            obj, depth = self.queue.pop(0)
            if isinstance(obj, type):
                self.follow_class(obj, depth)
            else:
                self.follow_function(obj, depth)
        if self.names_random:  # np.random.seed(…), random.random(): the hidden global generators
            self.found["the global random state of NumPy"] = self.fingerprint(np.random.get_state(), 0, 0)
            self.found["the global random state of Python's random module"] = random.getstate()
        return self.found

    def add(self, label: str, value: Any, depth: int) -> None:
        if label not in self.found:
            self.found[label] = self.fingerprint(value, depth, 0)

    def follow_function(self, fn: types.FunctionType, depth: int) -> None:
        fname = getattr(fn, "__qualname__", "?")
        own = " itself" if depth == 0 else ""
        for attr, value in dict(fn.__dict__).items():
            if attr != "__wrapped__":
                self.add(f"the attribute `{attr}` of the function `{fname}`{own}", value, depth + 1)
            else:
                self.schedule(value, depth + 1)
        if fn.__defaults__ or fn.__kwdefaults__:
            self.add(f"the default values of `{fname}`", (fn.__defaults__, fn.__kwdefaults__), depth + 1)
        code = fn.__code__
        of = "" if depth == 0 else f" of `{fname}`"
        for var, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                contents = cell.cell_contents
            except ValueError:  # an empty cell
                contents = _MISSING
            self.add(f"the closed-over variable `{var}`{of}", contents, depth + 1)
        namespace = fn.__globals__
        if self.home is None:
            self.home = namespace
        where = "" if namespace is self.home else f" of module `{namespace.get('__name__', '?')}`"
        names = _names(code)
        self.names_random = self.names_random or "random" in names or "seed" in names
        for global_name in sorted(names):
            if global_name in namespace:
                self.add(f"the global `{global_name}`{where}", namespace[global_name], depth + 1)

    def follow_class(self, cls: type, depth: int) -> None:
        for attr, value in dict(cls.__dict__).items():
            if attr in _SKIPPED_CLASS_ENTRIES:
                continue
            self.add(f"the class attribute `{cls.__qualname__}.{attr}`", value, depth + 1)

    # values ------------------------------------------------------------------------------

    def fingerprint(self, value: Any, depth: int, level: int) -> Any:
        """A comparable summary of ``value``'s contents; reader functions and classes met on
        the way are scheduled to be followed at ``depth``."""
        self.budget -= 1
        if self.budget < 0 or level > _MAX_DATA_DEPTH:
            return "…"
        try:
            return self._fingerprint(value, depth, level)
        except Exception as error:  # a hostile object: the same error before and after
            return ("unreadable", type(value).__name__, type(error).__name__)

    def _fingerprint(self, value: Any, depth: int, level: int) -> Any:
        fp = self.fingerprint
        kind = type(value)
        if value is None or kind in (bool, int, str, bytes):
            return value
        if kind in (float, complex):
            return (kind.__name__, repr(value))
        if isinstance(value, jax.core.Tracer):
            return ("tracer", _Same(value))
        if is_key_array(value):
            return ("key", str(jax.typeof(value)), np.asarray(jax.random.key_data(value)).tobytes())
        if isinstance(value, jax.Array):
            if value.size * value.dtype.itemsize <= _SMALL_BYTES:
                host = np.asarray(value)
                return ("jax array", host.shape, str(host.dtype), host.tobytes())
            return ("jax array", _Same(value))  # immutable: a new value is a new object
        if is_ref(value):  # mutable: its contents are what a write changes
            host = np.asarray(value[...])
            return ("ref", _Same(value), host.shape, str(host.dtype), host.tobytes())
        if isinstance(value, (np.ndarray, np.generic)):
            host = np.ascontiguousarray(value)
            data = host.tobytes() if host.nbytes <= _SMALL_BYTES else hashlib.blake2b(host.data).digest()
            return ("array", host.shape, str(host.dtype), data)
        if isinstance(value, types.ModuleType):
            return ("module", value.__name__)
        if isinstance(value, dict):
            items = self._items(value, depth, level)
            extra = fp(value.default_factory, depth, level + 1) if isinstance(value, collections.defaultdict) else None
            return ("dict", kind.__name__, _Same(value), extra, items)
        if isinstance(value, tuple):
            return (kind.__name__, tuple(fp(v, depth, level + 1) for v in tuple.__iter__(value)))
        if isinstance(value, (list, collections.deque)):
            maxlen = value.maxlen if isinstance(value, collections.deque) else None
            return (kind.__name__, _Same(value), maxlen, tuple(fp(v, depth, level + 1) for v in value))
        if isinstance(value, (set, frozenset)):
            contents = frozenset(fp(v, depth, level + 1) for v in value)
            return (kind.__name__, _Same(value) if isinstance(value, set) else None, contents)
        if isinstance(value, bytearray):
            return ("bytearray", _Same(value), bytes(value))
        if isinstance(value, array.array):
            return ("array.array", _Same(value), value.typecode, value.tobytes())
        if isinstance(value, (io.StringIO, io.BytesIO)):
            return (kind.__name__, _Same(value), value.tell(), value.getvalue()[:_SMALL_BYTES])
        if isinstance(value, random.Random):
            return ("random.Random", _Same(value), value.getstate())
        if isinstance(value, np.random.Generator):
            return ("Generator", _Same(value), fp(value.bit_generator.state, depth, level + 1))
        if isinstance(value, np.random.RandomState):
            return ("RandomState", _Same(value), fp(value.get_state(), depth, level + 1))
        if isinstance(value, itertools.count):
            return ("count", _Same(value), repr(value))
        if kind in _SEQUENCE_ITERATORS:
            return ("iterator", kind.__name__, _Same(value), value.__length_hint__())
        if kind in _COMPOSED_ITERATORS:
            return ("iterator", kind.__name__, _Same(value), fp(value.__reduce__()[1:], depth, level + 1))
        if isinstance(value, types.GeneratorType):
            frame = value.gi_frame
            if frame is None:
                return ("generator", _Same(value), "finished")
            return ("generator", _Same(value), frame.f_lasti, self._items(frame.f_locals, depth, level))
        if isinstance(value, types.FunctionType):
            self.schedule(value, depth)
            return ("function", _Same(value))
        if isinstance(value, functools.partial):
            return ("partial", fp(value.func, depth, level + 1), fp(value.args, depth, level + 1),
                    fp(value.keywords, depth, level + 1))
        if isinstance(value, types.MethodType):
            return ("method", fp(value.__func__, depth, level + 1), fp(value.__self__, depth, level + 1))
        if isinstance(value, (staticmethod, classmethod)):
            return (kind.__name__, fp(value.__func__, depth, level + 1))
        if isinstance(value, property):
            return ("property", tuple(fp(f, depth, level + 1) for f in (value.fget, value.fset, value.fdel)))
        if isinstance(value, type):
            self.schedule(value, depth)
            return ("class", _Same(value))
        if _is_library(kind) and kind is not types.SimpleNamespace:
            wrapped = _safe_wrapped(value) if callable(value) else None
            if wrapped is not None:  # jax.jit, lru_cache: the function inside, not the caches
                return ("wrapper", _Same(value), fp(wrapped, depth, level + 1))
            return ("object", _Same(value))
        # an object of the reader's: its attributes and slots, and its class
        self.schedule(kind, depth)
        attributes = getattr(value, "__dict__", None)
        shown = self._items(attributes, depth, level) if isinstance(attributes, dict) else None
        slots = tuple(
            (slot, fp(_slot_value(value, slot), depth, level + 1)) for slot in _slot_names(kind)
        )
        return ("object", kind.__qualname__, _Same(value), shown, slots)


    def _items(self, mapping: Any, depth: int, level: int) -> tuple[Any, ...]:
        fp = self.fingerprint
        return tuple((fp(k, depth, level + 1), fp(v, depth, level + 1)) for k, v in dict.items(dict(mapping)))


def _safe_wrapped(obj: Any) -> Any:
    try:
        wrapped = inspect.getattr_static(obj, "__wrapped__", None)
        if wrapped is None and callable(obj) and not isinstance(obj, type):
            wrapped = getattr(obj, "__wrapped__", None)
    except Exception:
        return None
    return wrapped if callable(wrapped) else None


def _names(code: types.CodeType) -> set[str]:
    """Names the code (nested functions included) may look up: its names, and short string
    constants that could name a global (``globals()["count"] += 1``, ``setattr(m, "x", …)``)."""
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        for const in current.co_consts:
            if inspect.iscode(const):
                pending.append(const)
            elif isinstance(const, str) and len(const) < 80 and const.isidentifier():
                names.add(const)
    return names


def _slot_names(cls: type) -> tuple[str, ...]:
    found: list[str] = []
    for klass in cls.__mro__:
        slots = klass.__dict__.get("__slots__", ())
        if isinstance(slots, str):
            slots = (slots,)
        found.extend(s for s in slots if s not in ("__dict__", "__weakref__"))
    return tuple(found)


def _slot_value(value: Any, slot: str) -> Any:
    try:
        return object.__getattribute__(value, slot if not slot.startswith("__") else f"_{type(value).__name__.lstrip('_')}{slot}")
    except AttributeError:
        return _MISSING


def hidden_state(fn: Callable[..., Any], name: str = "the function") -> dict[str, Any]:
    """Fingerprints of the state ``fn`` can reach (see ``globals_unchanged``), by label.

    Two snapshots compare equal label by label when nothing changed; a label names where a
    difference is ("the global `counter`", "the class attribute `Counter.n`", "the attribute
    `calls` of the function `f` itself", "the closed-over variable `seen`").
    """
    return _Walker(name).run(fn)


def doctor_silent(
    name: str,
    cases: Sequence[Case],
    *,
    key: str = "doctor-silent",
    description: str | None = None,
    hint: str = "",
) -> Probe:
    """``purestate.doctor`` finds nothing in the answer on each case (the first finding fails).

    The doctor's ten kinds of state bug in one probe: for exercises whose lesson is that a
    function of the reader's own (not one the course specified) comes out clean.
    """

    def run(answer: Answer) -> None:
        from purestate.doctor import diagnose

        fn = getattr(answer, name)
        for make in cases:
            report = diagnose(fn, make(), show=False, time_limit=15.0)
            if not report:
                finding = report.findings[0]
                first = finding.message.split("\nFix:")[0]
                more = len(report.findings) - 1
                also = f" (and {more} more finding{'s' if more != 1 else ''})" if more else ""
                _fail(f"the doctor reports {finding.kind}: {first}{also}")

    return Probe(key, description or f"purestate.doctor finds nothing in {name}", run, hint)
