"""State outside the arguments: what the function can reach, kept safe and probed.

``Reach`` walks what a function can reach from its code (the globals it names, its closure
cells, its own attributes and defaults, the classes it names, and the same for the reader's
functions it calls), and

- remembers the contents of every mutable container and object on the way, so that
  ``restore()`` puts back whatever the calls changed (the doctor leaves globals as it found
  them, even after a function that appends to a global list);
- lists the places that hold a number or an array (``Spot``): the candidates of the
  ``bakes-global`` probe, each with a label, a getter and a setter;
- lists the PRNG keys found there.

Change detection itself (``writes-outside``) uses the checker's ``hidden_state``
fingerprint (``purestate.probes.purity``), the same one ``globals_unchanged`` uses.
"""

from __future__ import annotations

import argparse
import builtins
import collections
import contextlib
import functools
import inspect
import os
import sys
import types
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jax
import numpy as np

from purestate import settings
from purestate.compare import is_key_array
from purestate.probes import purity

_MAX_DEPTH = 12
_MAX_CODE_DEPTH = 9  # functions, classes and modules: a loss → model → layer → activation chain
_BUDGET = 5_000
_MAX_SPOTS = 24
_LIBRARIES = frozenset({"jax", "jaxlib", "numpy", "purestate", "builtins", "optax", "flax", "equinox",
                        "scipy", "ml_dtypes", "opt_einsum", "IPython", "ipykernel", "pytest", "_pytest"})


def hidden_state(fn: Callable[..., Any], name: str) -> dict[str, Any]:
    """The checker's fingerprint of what ``fn`` can reach (label → comparable summary)."""
    try:
        return purity.hidden_state(fn, name)
    except Exception:
        return {}


def has_tracer(fingerprint: Any, depth: int = 0) -> bool:
    """Whether a fingerprint holds a tracer (a value left behind by a trace)."""
    if depth > 60:
        return False
    if isinstance(fingerprint, tuple):
        if fingerprint[:1] == ("tracer",):
            return True
        return any(has_tracer(item, depth + 1) for item in fingerprint)
    return False


def _is_library(obj: Any) -> bool:
    if isinstance(obj, types.FunctionType) and not isinstance(obj.__globals__.get("__name__"), str):
        return False  # code run with exec() in a namespace of its own: the reader's
    if isinstance(obj, type) and obj.__module__ == "builtins" and getattr(builtins, obj.__name__, None) is not obj:
        return False  # a class defined by such code (its __module__ falls back to "builtins")
    check = getattr(purity, "_is_library", None)
    if check is not None:
        try:
            return bool(check(obj))
        except Exception:
            pass
    module = getattr(obj, "__module__", None)
    if not isinstance(module, str):
        return True
    top = module.split(".")[0]
    return top in _LIBRARIES or top in sys.stdlib_module_names


def _frozen(value: Any) -> bool:
    """A frozen dataclass, or one a library freezes with its own ``__setattr__`` (a Flax
    ``nn.Module``: its fields cannot be assigned outside ``setup``)."""
    params = getattr(type(value), "__dataclass_params__", None)
    if params is None:
        return False
    if getattr(params, "frozen", False):
        return True
    setter = getattr(type(value), "__setattr__", object.__setattr__)
    return setter is not object.__setattr__ and _is_library(setter)


def user_module(module: types.ModuleType) -> bool:
    """Whether ``module`` is the reader's (not the standard library's or an installed one's)."""
    name = getattr(module, "__name__", "") or ""
    top = name.split(".")[0]
    if top in _LIBRARIES or top in sys.stdlib_module_names or name == "__main__":
        return False
    file = getattr(module, "__file__", None) or ""
    return "site-packages" not in file and "dist-packages" not in file and "/lib/python3" not in file


def unwrap(fn: Any) -> Any:
    """The Python function inside ``jax.jit``, ``functools.wraps`` or a bound method."""
    for _ in range(10):
        if isinstance(fn, functools.partial):
            fn = fn.func
        elif isinstance(fn, types.MethodType):
            fn = fn.__func__
        else:
            wrapped = getattr(fn, "__wrapped__", None)
            if wrapped is None or not callable(wrapped):
                break
            fn = wrapped
    return fn


def is_jit_wrapped(fn: Any) -> bool:
    """Whether ``fn`` is a ``jax.jit`` (or ``pjit``) wrapped function."""
    return callable(fn) and hasattr(fn, "lower") and hasattr(fn, "__wrapped__")


@dataclass
class Spot:
    """A place outside the arguments that holds a number or an array."""

    label: str
    get: Callable[[], Any]
    set: Callable[[Any], None]
    original: Any
    change: Callable[[Any], Any] | None = None  # the new value (default: changed_value)


@contextlib.contextmanager
def environment_reads() -> Any:
    """The names of the environment variables read meanwhile (os.environ[…], .get, os.getenv)."""
    names: list[str] = []
    environ_type = type(os.environ)
    original = environ_type.__getitem__

    def getitem(self: Any, key: Any) -> Any:
        if self is os.environ and isinstance(key, str) and key not in names and _read_by_reader():
            names.append(key)
        return original(self, key)

    environ_type.__getitem__ = getitem  # type: ignore[method-assign]
    try:
        yield names
    finally:
        environ_type.__getitem__ = original  # type: ignore[method-assign]


def _read_by_reader() -> bool:
    """Whether the code reading the environment (past os.getenv and Mapping.get) is the reader's."""
    try:
        frame = sys._getframe(2)
    except ValueError:
        return False
    for _ in range(4):
        if frame is None:
            return False
        module = frame.f_globals.get("__name__", "") or ""
        top = module.split(".")[0]
        if top not in sys.stdlib_module_names:
            return top not in _LIBRARIES
        frame = frame.f_back
    return False


_FLAGS = {"0": "1", "1": "0", "true": "false", "false": "true", "yes": "no", "no": "yes", "on": "off",
          "off": "on"}


def environment_spot(name: str) -> Spot | None:
    """An environment variable the function read, as a spot: a number or a flag changed, an
    unset one set to "3"; ``None`` for other text (a path, a name)."""
    current = os.environ.get(name)
    if current is None:
        new = "3"
    elif current.strip().lower() in _FLAGS:
        new = _FLAGS[current.strip().lower()]
    else:
        try:
            new = str(int(current) + 1)
        except ValueError:
            try:
                new = repr(float(current) * 1.5 + 0.5)
            except ValueError:
                return None

    def put(value: Any) -> None:
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value

    return Spot(f"the environment variable `{name}`", lambda: os.environ.get(name), put, current,
                change=lambda _: new)


class Reach:
    """What a function reaches: saved for ``restore``, and its number-holding ``spots``."""

    def __init__(self, fn: Any, extra: tuple[Any, ...] = ()):
        self.saved: list[tuple[Any, ...]] = []
        self.spots: list[Spot] = []
        self.keys: list[tuple[str, Any, bool]] = []  # (label, key, consumed before the doctor)
        self.budget = _BUDGET
        self.seen: set[int] = set()
        self.functions: set[int] = set()
        self.spotless: set[int] = set()  # classes walked as a method object's class
        self.code_names: set[str] = set()  # names of the reader's functions, inner ones included
        self.modules: list[types.ModuleType] = []  # the reader's modules it reaches
        self.generators: list[Any] = []  # NumPy and Python generator objects it reaches
        self.inner_jits: list[Any] = []  # the reader's own jax.jit functions it calls
        self.referenced: set[str] = set()  # every name the reader's code mentions (attributes too)
        self.clock = False  # whether the reader's code reads the clock (time, datetime)
        self.clock_globals: list[tuple[dict[str, Any], str]] = []  # `from time import time`
        self._keep: list[Any] = []  # keeps walked objects alive, so ids stay unique
        # the global generators of NumPy and Python: the calls may draw from them
        self.saved.append(("rng", np.random.get_state(), _python_random().getstate()))
        self.saved.append(("environ", dict(os.environ)))
        self.saved.append(("jax-config", settings.snapshot(numpy=True)))
        try:
            self._callable(fn, 0)
            for value in extra:
                self._value(value, "", 1, spots=False)
        except Exception:
            pass

    # walking ------------------------------------------------------------------------------

    def _callable(self, fn: Any, depth: int) -> None:
        # The object of a method (or a callable object) is the function's first argument,
        # `self`: its numbers are data the caller hands over, not globals, unless the
        # reader's own jax.jit keeps the object static (static_argnums=0, jax.jit(obj.method)),
        # where a changed attribute is truly stale. Writes to it are still writes.
        jitted = False
        for _ in range(10):
            jitted = jitted or is_jit_wrapped(fn)
            if isinstance(fn, functools.partial):
                self._value(fn.args, "", depth + 1, spots=False)
                self._value(fn.keywords, "", depth + 1, spots=False)
                fn = fn.func
            elif isinstance(fn, types.MethodType):
                self._value(fn.__self__, "self", depth + 1, spots=jitted or is_jit_wrapped(fn.__func__))
                fn = fn.__func__
            elif not isinstance(fn, (types.FunctionType, type)) and callable(getattr(fn, "__wrapped__", None)):
                fn = fn.__wrapped__
            else:
                break
        if isinstance(fn, types.FunctionType):
            self._function(fn, depth)
        elif isinstance(fn, type):
            self._class(fn, depth)
        elif not _is_library(type(fn)):
            # a callable object: its attributes, its class
            self._value(fn, "self", depth + 1, spots=jitted)
            call = getattr(type(fn), "__call__", None)
            if isinstance(call, types.FunctionType):
                self._function(call, depth + 1)

    def _function(self, fn: types.FunctionType, depth: int) -> None:
        if depth > _MAX_CODE_DEPTH or id(fn) in self.functions:
            return
        if _is_library(fn):
            # jax.grad(f), jax.vmap(f), jax.checkpoint(f): JAX's wrapper around the
            # reader's function (functools.wraps keeps it in __wrapped__)
            inner = getattr(fn, "__wrapped__", None)
            if callable(inner) and inner is not fn:
                self.functions.add(id(fn))
                self._callable(inner, depth + 1)
            return
        self.functions.add(id(fn))
        self._keep.append(fn)
        name = fn.__name__
        self.code_names.add(name)
        pending = [fn.__code__]
        while pending:
            code = pending.pop()
            self.code_names.add(code.co_name)
            pending.extend(c for c in code.co_consts if inspect.iscode(c))
        self._record_dict(fn.__dict__)
        for attr, value in list(fn.__dict__.items()):
            if attr != "__wrapped__":
                self._spot_or_walk(value, f"the attribute `{name}.{attr}`",
                                   lambda a=attr: fn.__dict__[a], lambda v, a=attr: fn.__dict__.__setitem__(a, v),
                                   depth + 1)
        defaults = fn.__defaults__
        self.saved.append(("defaults", fn, defaults, fn.__kwdefaults__ and dict(fn.__kwdefaults__)))
        for value in (defaults or ()):
            self._value(value, "", depth + 1, spots=False)
        code = fn.__code__
        for var, cell in zip(code.co_freevars, fn.__closure__ or ()):
            try:
                contents = cell.cell_contents
            except ValueError:
                continue
            self.saved.append(("cell", cell, contents))
            # a number closed over by a factory is fixed for the life of the closure: not a spot
            self._value(contents, f"`{var}`", depth + 1, spots=False, walk_spots=True)
        namespace = fn.__globals__
        names = _names(code)
        self.referenced.update(names)
        if any(_reads_clock(namespace.get(n)) for n in names):
            self.clock = True
            self.clock_globals.extend((namespace, n) for n in names if _clock_function(namespace.get(n)))
        for global_name in sorted(names):
            present = global_name in namespace
            self.saved.append(("global", namespace, global_name, present, namespace.get(global_name)))
            if present:
                value = namespace[global_name]
                self._spot_or_walk(
                    value, f"the global `{global_name}`",
                    lambda n=global_name: namespace[n], lambda v, n=global_name: namespace.__setitem__(n, v),
                    depth + 1, path=f"`{global_name}`",
                )

    def _module(self, module: types.ModuleType, depth: int) -> None:
        """A module of the reader's (``import settings``): its data attributes are state too."""
        if depth > _MAX_CODE_DEPTH or id(module) in self.functions or not user_module(module):
            return
        self.functions.add(id(module))
        self._keep.append(module)
        self.modules.append(module)
        namespace = vars(module)
        self._record_dict(namespace)
        for attr, value in list(namespace.items()):
            if attr.startswith("__") or inspect.ismodule(value) or callable(value):
                continue
            self._spot_or_walk(value, f"`{module.__name__}.{attr}`",
                               lambda a=attr: namespace[a], lambda v, a=attr: namespace.__setitem__(a, v),
                               depth + 1, path=f"`{module.__name__}.{attr}`")

    def module_state(self) -> dict[str, Any]:
        """Fingerprints of the data attributes of the reader's modules the function reaches
        (and the process's environment variables)."""
        from purestate.doctor.examine import _fingerprint

        found: dict[str, Any] = {f"the environment variable `{name}`": value for name, value in os.environ.items()}
        for module in self.modules:
            for attr, value in list(vars(module).items()):
                if not attr.startswith("__") and not inspect.ismodule(value) and not callable(value):
                    found[f"the module attribute `{module.__name__}.{attr}`"] = _fingerprint(value)
        return found

    def _class(self, cls: type, depth: int, spots: bool = True) -> None:
        """A class: its methods are walked, its attributes saved. Its numbers are spots,
        except for the class of a method's object (``self.factor``, a class-level default,
        is the object's own data) until the code names the class itself."""
        if depth > _MAX_CODE_DEPTH or _is_library(cls):
            return
        if id(cls) in self.functions:
            if spots and id(cls) in self.spotless:
                self.spotless.discard(id(cls))
                for attr, value in list(vars(cls).items()):
                    if not (attr.startswith("__") and attr.endswith("__")) and _is_spot_value(value):
                        self._spot_or_walk(value, f"the class attribute `{cls.__name__}.{attr}`",
                                           lambda a=attr: getattr(cls, a), lambda v, a=attr: setattr(cls, a, v),
                                           depth + 1)
            return
        self.functions.add(id(cls))
        if not spots:
            self.spotless.add(id(cls))
        self._keep.append(cls)
        attrs = {k: v for k, v in vars(cls).items() if not (k.startswith("__") and k.endswith("__"))}
        self.saved.append(("class", cls, attrs))
        for attr, value in attrs.items():
            if not spots and _is_spot_value(value):
                continue
            if isinstance(value, (staticmethod, classmethod)):
                self._callable(value.__func__, depth + 1)
            elif isinstance(value, property):
                for accessor in (value.fget, value.fset):
                    if isinstance(accessor, types.FunctionType):
                        self._function(accessor, depth + 1)
            elif isinstance(value, types.FunctionType):
                self._function(value, depth + 1)
            else:
                self._spot_or_walk(value, f"the class attribute `{cls.__name__}.{attr}`",
                                   lambda a=attr: getattr(cls, a), lambda v, a=attr: setattr(cls, a, v), depth + 1,
                                   path=f"`{cls.__name__}.{attr}`")

    def _spot_or_walk(self, value: Any, label: str, get: Callable[[], Any], put: Callable[[Any], None],
                      depth: int, path: str = "") -> None:
        if isinstance(value, np.ndarray) and id(value) not in self.seen:
            self.seen.add(id(value))
            self._keep.append(value)
            self.saved.append(("array", value, value.copy()))
        if _is_spot_value(value):
            if len(self.spots) < _MAX_SPOTS:
                self.spots.append(Spot(label, get, put, value))
        elif is_key_array(value):
            self._key(label, value)
        elif inspect.ismodule(value):
            self._module(value, depth)
        elif isinstance(value, types.FunctionType):
            self._function(value, depth)
        elif isinstance(value, type):
            self._class(value, depth)
        elif self._inner_jit(value, depth):
            pass
        else:
            self._value(value, path, depth)

    def _inner_jit(self, value: Any, depth: int) -> bool:
        """A ``jax.jit`` function of the reader's (a module-level ``@jax.jit`` helper), or
        another of JAX's wrappers around one (``jax.custom_jvp``, ``jax.custom_vjp``): the
        functions inside (its rules too) are walked like any other. A jitted one is
        remembered (its trace bakes in what it reads, even when its caller runs plainly)."""
        if isinstance(value, (types.FunctionType, type)) or id(value) in self.seen:
            return False
        inner = getattr(value, "__wrapped__", None)
        if not isinstance(inner, types.FunctionType) or _is_library(inner) or not _is_library(type(value)):
            return False
        self.seen.add(id(value))
        self._keep.append(value)
        if is_jit_wrapped(value):
            self.inner_jits.append(value)
        self._callable(value, depth)
        for rule in ("jvp", "fwd", "bwd"):  # a custom derivative's rules
            found = getattr(value, rule, None)
            if isinstance(found, types.FunctionType):
                self._function(found, depth + 1)
        return True

    def _value(self, value: Any, path: str, depth: int, *, spots: bool = True, walk_spots: bool = False) -> None:
        """Save a mutable value's contents; its number-holding items become spots."""
        self.budget -= 1
        if self.budget < 0 or depth > _MAX_DEPTH or value is None:
            return
        if _is_generator(value):
            if id(value) not in self.seen:
                self.seen.add(id(value))
                self._keep.append(value)
                self.generators.append(value)
                self.saved.append(("generator", value, _generator_state(value)))
            return
        if isinstance(value, (bool, int, float, complex, str, bytes, jax.Array)) or inspect.ismodule(value):
            if is_key_array(value):
                self._key(f"the closed-over variable {path}" if path else "a key", value)
            return
        spots = spots or walk_spots
        if isinstance(value, types.FunctionType):
            self._function(value, depth)
            return
        if self._inner_jit(value, depth):
            return
        if isinstance(value, type):
            self._class(value, depth)
            return
        if id(value) in self.seen:
            return
        self.seen.add(id(value))
        self._keep.append(value)
        if isinstance(value, np.ndarray):
            self.saved.append(("array", value, value.copy()))
            return
        if isinstance(value, dict):
            self._record_dict(value)
            for key, item in list(value.items()):
                self._item(value, key, item, f"{path}[{key!r}]" if path else "", depth, spots)
            return
        if isinstance(value, list):
            self.saved.append(("list", value, list(value)))
            for index, item in enumerate(list(value)):
                self._item(value, index, item, f"{path}[{index}]" if path else "", depth, spots)
            return
        if isinstance(value, collections.deque):
            self.saved.append(("deque", value, list(value)))
            for item in list(value):
                self._value(item, "", depth + 1, spots=False)
            return
        if isinstance(value, (set, bytearray)):
            self.saved.append(("set" if isinstance(value, set) else "bytearray", value, value.copy()))
            return
        if isinstance(value, tuple):
            for index, item in enumerate(value):
                self._value(item, f"{path}[{index}]" if path else "", depth + 1, spots=False)
            return
        if _is_library(type(value)) and type(value) not in _ATTRIBUTE_BAGS:
            return
        attributes = getattr(value, "__dict__", None)
        if _frozen(value):
            spots = False  # a frozen dataclass's numbers are fixed for its life, like a closure's
        if isinstance(attributes, dict):
            self._record_dict(attributes)
            for attr, item in list(attributes.items()):
                self._item(attributes, attr, item, f"{path}.{attr}" if path else "", depth, spots)
        slots = _slot_values(value)
        if slots:
            # an object with __slots__: its attributes, as a dict would hold them
            self.saved.append(("slots", value, dict(slots)))
            view = _SlotView(value)
            for attr, item in slots.items():
                self._item(view, attr, item, f"{path}.{attr}" if path else "", depth, spots)
        self._class(type(value), depth + 1, spots=spots)

    def _item(self, container: Any, key: Any, item: Any, path: str, depth: int, spots: bool) -> None:
        if isinstance(item, np.ndarray) and id(item) not in self.seen:
            self.seen.add(id(item))
            self._keep.append(item)
            self.saved.append(("array", item, item.copy()))
        if spots and path and _is_spot_value(item):
            if len(self.spots) < _MAX_SPOTS:
                self.spots.append(Spot(f"{path}", lambda: container[key],
                                       lambda v: container.__setitem__(key, v), item))
        elif is_key_array(item):
            self._key(path or "a key", item)
        else:
            self._value(item, path, depth + 1, spots=spots)

    def _key(self, label: str, key: Any) -> None:
        self.keys.append((label, key, bool(getattr(key, "_consumed", False))))
        self._keep.append(key)

    def _record_dict(self, mapping: dict[Any, Any]) -> None:
        self.saved.append(("dict", mapping, dict(mapping)))

    def generator_states(self) -> list[Any]:
        return [_generator_state(g) for g in self.generators]

    def set_generator_states(self, states: list[Any]) -> None:
        for generator, state in zip(self.generators, states):
            _restore(("generator", generator, state))

    def changed(self) -> list[str]:
        """What the calls changed among the bindings and containers walked (a fallback for
        writes deeper than the checker's own fingerprint reaches), in words."""
        found: list[str] = []
        for record in self.saved:
            kind = record[0]
            try:
                if kind == "global":
                    _, namespace, name, present, value = record
                    if (name in namespace) != present or (present and namespace[name] is not value):
                        found.append(f"the global `{name}`")
                elif kind == "cell":
                    _, cell, contents = record
                    if cell.cell_contents is not contents:
                        found.append("a variable closed over by a function it calls")
                elif kind == "dict":
                    _, mapping, saved = record
                    if mapping.keys() != saved.keys() or any(mapping[k] is not v for k, v in saved.items()):
                        found.append("a dict or object it reaches")
                elif kind in ("list", "deque"):
                    _, container, saved = record
                    if len(container) != len(saved) or any(a is not b for a, b in zip(container, saved)):
                        found.append(f"a {kind} it reaches")
                elif kind == "set":
                    _, container, saved = record
                    if container != saved:
                        found.append("a set it reaches")
            except Exception:
                continue
        return list(dict.fromkeys(found))

    # restoring ----------------------------------------------------------------------------

    def restore(self) -> None:
        """Put back everything the calls changed (bindings, contents, attributes)."""
        for record in reversed(self.saved):
            try:
                _restore(record)
            except Exception:
                continue
        for _, key, consumed in self.keys:
            if not consumed:
                _unconsume(key)


def _python_random() -> Any:
    import random

    return random


def _is_generator(value: Any) -> bool:
    """A random generator object of NumPy's or Python's (``np.random.default_rng(0)``)."""
    import random

    return isinstance(value, (np.random.Generator, np.random.RandomState, random.Random))


def _generator_state(generator: Any) -> Any:
    if isinstance(generator, np.random.Generator):
        return generator.bit_generator.state
    if isinstance(generator, np.random.RandomState):
        return generator.get_state()
    return generator.getstate()


def _restore(record: tuple[Any, ...]) -> None:
    kind = record[0]
    if kind == "environ":
        saved = record[1]
        if dict(os.environ) != saved:
            for name in set(os.environ) - set(saved):
                del os.environ[name]
            for name, value in saved.items():
                if os.environ.get(name) != value:
                    os.environ[name] = value
    elif kind == "jax-config":
        settings.put_back(record[1])
    elif kind == "slots":
        _, obj, saved = record
        for attr, value in saved.items():
            if getattr(obj, attr, _ABSENT) is not value:
                setattr(obj, attr, value)
    elif kind == "generator":
        _, generator, state = record
        if isinstance(generator, np.random.Generator):
            generator.bit_generator.state = state
        elif isinstance(generator, np.random.RandomState):
            generator.set_state(state)
        else:
            generator.setstate(state)
    elif kind == "rng":
        np.random.set_state(record[1])
        _python_random().setstate(record[2])
    elif kind == "global":
        _, namespace, name, present, value = record
        if present and (name not in namespace or namespace[name] is not value):
            namespace[name] = value
        elif not present and name in namespace:
            del namespace[name]
    elif kind == "cell":
        _, cell, contents = record
        try:
            current = cell.cell_contents
        except ValueError:
            current = None
        if current is not contents:
            cell.cell_contents = contents
    elif kind == "dict":
        _, mapping, saved = record
        if mapping.keys() != saved.keys() or any(mapping[k] is not v for k, v in saved.items()):
            mapping.clear()
            mapping.update(saved)
    elif kind in ("list", "deque"):
        _, container, saved = record
        if len(container) != len(saved) or any(a is not b for a, b in zip(container, saved)):
            if kind == "list":
                container[:] = saved
            else:
                container.clear()
                container.extend(saved)
    elif kind in ("set", "bytearray"):
        _, container, saved = record
        if container != saved:
            if kind == "set":
                container.clear()
                container.update(saved)
            else:
                container[:] = saved
    elif kind == "array":
        _, array, saved = record
        if array.shape == saved.shape and not np.array_equal(array, saved, equal_nan=True):
            array[...] = saved
    elif kind == "class":
        _, cls, saved = record
        current = {k for k in vars(cls) if not (k.startswith("__") and k.endswith("__"))}
        for attr in current - saved.keys():
            delattr(cls, attr)
        for attr, value in saved.items():
            if vars(cls).get(attr, _ABSENT) is not value:
                setattr(cls, attr, value)
    elif kind == "defaults":
        _, fn, defaults, kwdefaults = record
        if fn.__defaults__ is not defaults:
            fn.__defaults__ = defaults
        if kwdefaults is not None and fn.__kwdefaults__ != kwdefaults:
            fn.__kwdefaults__ = kwdefaults


_ABSENT = object()


def _slot_values(obj: Any) -> dict[str, Any]:
    names = []
    for cls in type(obj).__mro__:
        declared = vars(cls).get("__slots__", ())
        names.extend([declared] if isinstance(declared, str) else list(declared))
    found = {}
    for name in names:
        if name not in ("__dict__", "__weakref__") and not name.startswith("__"):
            try:
                found[name] = getattr(obj, name)
            except AttributeError:
                continue
    return found


class _SlotView:
    """An object's slots as a mapping (``view[name]``), for a spot's getter and setter."""

    def __init__(self, obj: Any):
        self.obj = obj

    def __getitem__(self, name: str) -> Any:
        return getattr(self.obj, name)

    def __setitem__(self, name: str, value: Any) -> None:
        setattr(self.obj, name, value)

# the standard library's plain attribute holders: a reader's settings live in them
_ATTRIBUTE_BAGS = (types.SimpleNamespace, argparse.Namespace)


_CLOCK_MODULES = frozenset({"time", "datetime"})


def _clock_function(value: Any) -> bool:
    """``time.time`` and its kind, bound to a name of the reader's (``from time import time``)."""
    import time

    return any(value is getattr(time, name) for name in _CLOCKS)


_CLOCKS = ("time", "time_ns", "perf_counter", "perf_counter_ns", "monotonic", "monotonic_ns")


def _reads_clock(value: Any) -> bool:
    if inspect.ismodule(value):
        return getattr(value, "__name__", "") in _CLOCK_MODULES
    if isinstance(value, type):
        return getattr(value, "__module__", "") == "datetime"
    return _clock_function(value)


def _unconsume(key: Any) -> None:
    """Forget that ``jax.debug_key_reuse`` saw ``key`` consumed (the caller's global key)."""
    if getattr(key, "_consumed", False):
        try:
            key._consumed = False
        except Exception:
            pass


def _is_spot_value(value: Any) -> bool:
    if type(value) is tuple:
        # a tuple of numbers with a float among them (MEAN = (0.485, 0.456, 0.406)): the
        # global can be rebound to another tuple. Tuples of ints alone are shapes and axes
        return (0 < len(value) <= 64 and all(isinstance(v, (int, float, np.generic)) for v in value)
                and any(isinstance(v, (float, np.floating)) for v in value))
    if is_key_array(value):
        return False
    if isinstance(value, (bool, int, float)):
        return True
    if isinstance(value, (jax.Array, np.ndarray)) and not isinstance(value, jax.core.Tracer):
        return value.dtype != object and value.size > 0
    return isinstance(value, np.generic)


def _names(code: types.CodeType) -> set[str]:
    names: set[str] = set()
    pending = [code]
    while pending:
        current = pending.pop()
        names.update(current.co_names)
        pending.extend(c for c in current.co_consts if inspect.iscode(c))
    return names


def changed_value(value: Any) -> Any:
    """A different value of the same type, shape and dtype, for the ``bakes-global`` probe."""
    if type(value) is tuple:
        return tuple(changed_value(v) for v in value)
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + 1
    if isinstance(value, float):
        return value * 1.5 + 0.5
    if isinstance(value, np.generic):
        return value.dtype.type(changed_value(value.item()))
    array_module = jax.numpy if isinstance(value, jax.Array) else np
    dtype = value.dtype
    if dtype == np.bool_:
        return array_module.logical_not(value)
    if np.issubdtype(dtype, np.integer):
        return array_module.asarray(value + 1, dtype=dtype)
    return array_module.asarray(value * 1.5 + 0.5, dtype=dtype)
