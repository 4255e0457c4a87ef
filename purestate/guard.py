"""Library modules the reader's code must not change: snapshots, and putting them back.

The checker computes expected values with JAX, NumPy and its own helpers. An answer that
replaces one of them (``jnp.sum = lambda *a, **k: 0``, or ``purestate.compare.mismatch``)
could make a wrong answer look right. At import time the namespaces of the protected
modules (and of the classes the course defines) are copied; after every call of the
reader's code (``runner.call_reader``), after every probe and at the start of every check,
each entry is compared by identity with its copy (a Python function's ``__code__`` and
defaults too), and whatever was replaced, added or deleted is put back. The comparison is
a few thousand identity tests: well under a millisecond.

What is allowed to change: a submodule that gets imported adds a module to its package,
and the interactive shell adds names to ``builtins`` (``_``, ``display``): additions whose
value is a module are accepted, and of ``builtins`` only the functions and types it had are
protected.
"""

from __future__ import annotations

import builtins
import itertools
import operator
import sys
import types
from typing import Any

_MISSING = object()
_FUNCTION = types.FunctionType
_GET_CODE = operator.attrgetter("__code__")
_GET_DEFAULTS = operator.attrgetter("__defaults__")
_GET_KWDEFAULTS = operator.attrgetter("__kwdefaults__")

#: Modules protected from the start (their attribute dicts).
LIBRARY_MODULES = (
    "jax", "jax.numpy", "jax.lax", "jax.random", "jax.tree_util", "jax.tree", "jax.nn",
    "jax.numpy.linalg", "jax.scipy", "numpy", "numpy.linalg", "numpy.random", "math",
    "operator", "functools", "copy", "dataclasses",
)


class _Protected:
    """One namespace (a module's or a class's ``__dict__``) and its copy."""

    __slots__ = ("label", "owner", "saved", "code", "is_class", "only", "keys", "ids", "length",
                 "functions", "code_ids", "ignored", "additions")

    def __init__(self, label: str, owner: Any, only: frozenset[str] | None = None, additions: bool = True):
        self.label = label
        self.owner = owner
        self.is_class = isinstance(owner, type)
        self.only = only
        self.additions = additions  # whether names added later are taken out again
        namespace = owner.__dict__
        self.saved = {k: v for k, v in namespace.items() if only is None or k in only}
        self.ignored = frozenset(namespace.keys() - self.saved.keys())
        self._remember()

    def _remember(self) -> None:
        """Precompute what the fast check compares: identities, in C loops."""
        saved = self.saved
        self.keys = tuple(saved)
        self.ids = list(map(id, saved.values()))
        self.length = len(self.owner.__dict__)
        # A function keeps its identity when its code or defaults are replaced.
        self.code = {
            k: (v.__code__, v.__defaults__, v.__kwdefaults__)
            for k, v in saved.items()
            if type(v) is _FUNCTION
        }
        self.functions = tuple(saved[k] for k in self.code)
        self.code_ids = self._code_ids()

    def _code_ids(self) -> list[int]:
        fns = self.functions
        return [
            *map(id, map(_GET_CODE, fns)),
            *map(id, map(_GET_DEFAULTS, fns)),
            *map(id, map(_GET_KWDEFAULTS, fns)),
        ]

    def current_ids(self) -> Any:
        """The identities of the protected entries now (an iterator; C loops only)."""
        namespace = self.owner.__dict__
        if self.only is None:
            return map(id, namespace.values())
        return map(id, map(namespace.get, self.keys, itertools.repeat(_MISSING)))

    def unchanged(self, deep: bool) -> bool:
        """The fast path: nothing replaced, added or deleted (identity only, no ``==``).

        ``deep`` also compares the code and defaults of the functions.
        """
        namespace = self.owner.__dict__
        if self.additions and namespace.__len__() != self.length:
            return False
        return list(self.current_ids()) == self.ids and (not deep or self._code_ids() == self.code_ids)

    def repair(self, found: list[str], deep: bool) -> None:
        """Put back what changed; append ``module.name`` for each change to ``found``."""
        if self.unchanged(deep):
            return
        namespace = self.owner.__dict__
        saved = self.saved
        for name, value in saved.items():
            if namespace.get(name, _MISSING) is not value:
                found.append(f"{self.label}.{name}")
                self._set(name, value)
        accepted = False
        if self.additions:
            for name in namespace.keys() - saved.keys() - self.ignored:
                value = namespace.get(name, _MISSING)
                if isinstance(value, types.ModuleType) or name == "__warningregistry__":
                    saved[name] = value  # a submodule was imported: accept it
                    accepted = True
                    continue
                found.append(f"{self.label}.{name}")
                self._delete(name)
        for name, (code, defaults, kwdefaults) in self.code.items():
            fn = saved[name]
            if fn.__code__ is not code or fn.__defaults__ is not defaults or fn.__kwdefaults__ is not kwdefaults:
                found.append(f"{self.label}.{name}")
                fn.__code__, fn.__defaults__, fn.__kwdefaults__ = code, defaults, kwdefaults
        if accepted or self.additions:
            self._remember()

    def _set(self, name: str, value: Any) -> None:
        if self.is_class:
            type.__setattr__(self.owner, name, value)
        else:
            self.owner.__dict__[name] = value

    def _delete(self, name: str) -> None:
        try:
            if self.is_class:
                type.__delattr__(self.owner, name)
            else:
                del self.owner.__dict__[name]
        except (AttributeError, KeyError, TypeError):
            pass


_protected: list[_Protected] = []
_known: set[int] = set()


def _protect(label: str, owner: Any, only: frozenset[str] | None = None, additions: bool = True) -> None:
    if id(owner) in _known:
        return
    _known.add(id(owner))
    _protected.append(_Protected(label, owner, only, additions))
    _expected.clear()  # recomputed at the next restore


def protect_libraries() -> None:
    """Snapshot the library modules (those imported so far) and ``builtins``."""
    for name in LIBRARY_MODULES:
        module = sys.modules.get(name)
        if module is not None:
            _protect(name, module)
    only = frozenset(
        k for k, v in vars(builtins).items()
        if isinstance(v, (types.BuiltinFunctionType, type)) and not k.startswith("_")
    )
    _protect("builtins", builtins, only, additions=False)


_STATE_TYPES = (bool, int, float, str, type(None))


def _course_entries(namespace: Any) -> frozenset[str]:
    """The names of a course namespace to protect: all but private flags and counters.

    A module of the course may keep a private flag or counter it rebinds at run time
    (``global _registered``); those are left alone. Functions, classes, containers and
    public names are protected.
    """
    return frozenset(
        k for k, v in namespace.items()
        if not (k.startswith("_") and not k.startswith("__") and type(v) in _STATE_TYPES)
    )


def protect_course_modules() -> None:
    """Snapshot every ``purestate`` module not yet protected, and the classes defined in it."""
    for name, module in list(sys.modules.items()):
        if not (name == "purestate" or name.startswith("purestate.")) or module is None:
            continue
        if id(module) in _known:
            continue
        _protect(name, module, _course_entries(vars(module)))
        for attr, value in list(vars(module).items()):
            if isinstance(value, type) and value.__module__ == name:
                _protect(f"{name}.{value.__qualname__}", value, _course_entries(vars(value)))


def restore(deep: bool = True) -> list[str]:
    """Put back every protected attribute that was replaced, added or deleted.

    Returns the dotted names that had changed (empty when nothing had), in a stable order.
    ``deep=False`` compares the namespaces' entries only (about 0.2 ms in all: it runs after
    every call of the reader's code); ``deep`` also each function's ``__code__`` and
    defaults (after every probe and before every check).
    """
    if _expected and _now(deep) == _expected[deep]:
        return []  # the usual case: one comparison of two lists of ids
    found: list[str] = []
    for entry in _protected:
        entry.repair(found, deep)
    _expected.clear()
    _expected.update({False: _now(False), True: _now(True)})
    return found


_expected: dict[bool, list[int]] = {}  # what _now gives when nothing changed, by deep


def _now(deep: bool) -> list[int]:
    """Lengths of the namespaces that take no additions, then the ids of every entry."""
    found = [entry.owner.__dict__.__len__() for entry in _protected if entry.additions]
    extend = found.extend
    for entry in _protected:
        extend(entry.current_ids())
        if deep:
            extend(entry._code_ids())
    return found


def message(changed: list[str]) -> str:
    """What the report says about ``changed`` (from ``restore``)."""
    names = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
    return (
        f"your code replaced {names}; the checker put it back — a function must not change "
        "library modules"
    )
