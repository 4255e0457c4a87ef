"""The example arguments: private copies, new values of the same shapes, jit-able parts.

The doctor never hands the caller's own objects to the function: every call gets a copy
(JAX arrays included, so that a donating ``jax.jit`` cannot delete the caller's buffers, and
PRNG keys rewrapped, so that ``jax.debug_key_reuse`` sees an unconsumed key each call).
"""

from __future__ import annotations

import copy
import functools
import types
from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from purestate.compare import is_key_array, mismatch, short

Call = tuple[tuple[Any, ...], dict[str, Any]]


def private_copy(args: tuple[Any, ...], kwargs: dict[str, Any]) -> Call:
    """A deep copy of the call's arguments (a tree copy of the arrays where deepcopy fails)."""
    try:
        copied = copy.deepcopy((tuple(args), dict(kwargs)))
    except Exception:
        copied = (tuple(args), dict(kwargs))
    return fresh(copied)


def fresh(call: Call) -> Call:
    """``call`` with every array leaf copied and every PRNG key unconsumed.

    Containers that are pytrees (tuples, lists, dicts, NamedTuples, registered classes) are
    rebuilt; other objects (a config object, a string) stay the same object, so that a
    ``jax.jit`` keyed on them by identity sees the same one on every call.
    """
    return jax.tree.map(_copy_leaf, call)


def _copy_leaf(leaf: Any) -> Any:
    if is_key_array(leaf):
        return jax.random.wrap_key_data(jax.random.key_data(leaf), impl=jax.random.key_impl(leaf))
    if isinstance(leaf, jax.Array) and not isinstance(leaf, jax.core.Tracer):
        return jnp.array(leaf, copy=True)
    if isinstance(leaf, np.ndarray):
        return leaf.copy()
    return leaf


def is_dynamic(leaf: Any, scalars_static: bool) -> bool:
    """Whether the doctor's ``jax.jit`` passes ``leaf`` as an argument (else closes over it)."""
    if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
        return True
    if isinstance(leaf, (bool, int, float, complex)):
        return not scalars_static
    return False


def perturbed(call: Call, scalars_static: bool) -> Call:
    """New values of the same shapes and dtypes for the dynamic leaves; the rest unchanged.

    Python ints and bools are left alone (they are sizes, counts and flags more often than
    data); Python floats change only where they are dynamic.
    """

    def change(leaf: Any) -> Any:
        if is_key_array(leaf):
            data = jax.random.key_data(leaf)
            return jax.random.wrap_key_data(data + jnp.asarray(1, data.dtype), impl=jax.random.key_impl(leaf))
        if isinstance(leaf, (jax.Array, np.ndarray, np.generic)):
            return _new_values(leaf)
        if isinstance(leaf, float) and not scalars_static:
            return leaf * 1.5 + 0.5
        return _copy_leaf(leaf)

    return jax.tree.map(change, call)


def _new_values(array: Any) -> Any:
    module = jnp if isinstance(array, jax.Array) else np
    dtype = array.dtype
    if getattr(array, "weak_type", False) and dtype != np.bool_:
        # (a weakly typed array, jnp.array(0) in a library's state, stays weakly typed: a
        # strongly typed int32 in its place is another signature, and jax.jit traces again)
        return array + 1 if np.issubdtype(dtype, np.integer) else array * 1.5 + 0.5
    if dtype == np.bool_:
        out = module.logical_not(array)
    elif np.issubdtype(dtype, np.integer):
        out = array + module.asarray(1, dtype=dtype)
    else:
        out = array * module.asarray(1.5, dtype=dtype) + module.asarray(0.5, dtype=dtype)
    if isinstance(array, np.generic):
        return dtype.type(out)
    return module.asarray(out, dtype=dtype)


class Jitted:
    """``jax.jit`` of the function over the dynamic leaves of one call's arguments.

    Non-array leaves (strings, None-like objects, and with ``scalars_static`` the Python
    numbers) are closed over from the first call, so they act as static arguments without
    having to be hashable. ``traces`` counts how often the doctor's jit traced.
    """

    def __init__(self, fn: Callable[..., Any], call: Call, *, scalars_static: bool):
        leaves, self.treedef = jax.tree.flatten(call)
        self.scalars_static = scalars_static
        self.mask = [is_dynamic(leaf, scalars_static) for leaf in leaves]
        self.static = [None if dynamic else leaf for leaf, dynamic in zip(leaves, self.mask)]
        self.traces = 0
        self.fn = fn

        def wrapper(dynamic: list[Any]) -> Any:
            self.traces += 1
            pieces = iter(dynamic)
            full = [next(pieces) if d else s for d, s in zip(self.mask, self.static)]
            args, kwargs = jax.tree.unflatten(self.treedef, full)
            return materialized(fn(*args, **kwargs))

        name = getattr(fn, "__name__", None)
        if isinstance(name, str):  # JAX's messages then name the reader's function
            wrapper.__name__ = wrapper.__qualname__ = name
        self.wrapper = wrapper
        self.jitted = jax.jit(wrapper)

    def dynamic(self, call: Call) -> list[Any]:
        leaves = jax.tree.leaves(call)
        return [leaf for leaf, d in zip(leaves, self.mask) if d]

    def __call__(self, call: Call) -> Any:
        return self.jitted(self.dynamic(call))

    def fresh_jit(self) -> Callable[[list[Any]], Any]:
        """A new ``jax.jit`` of the same wrapper: a trace of its own (for leak checks)."""

        def again(dynamic: list[Any]) -> Any:
            return self.wrapper(dynamic)

        return jax.jit(again)


def materialized(result: Any, limit: int = 1000) -> Any:
    """An iterator's items as a list (its first ``limit``): what a generator function
    returns is compared, and jitted, by the values it yields."""
    import collections.abc
    import itertools

    # (a generator, or map, zip, filter: an iterator, not a container)
    if isinstance(result, collections.abc.Iterator) and not isinstance(result, (jax.Array, np.ndarray)):
        return list(itertools.islice(result, limit))
    return result


def has_python_scalars(call: Call) -> bool:
    return any(isinstance(leaf, (bool, int, float, complex)) for leaf in jax.tree.leaves(call))


def difference(first: Any, second: Any, *, rtol: float = 0.0, atol: float = 0.0) -> str | None:
    """How two results differ (leaf by leaf, through any pytree), or ``None``."""
    try:
        a_leaves, a_tree = jax.tree_util.tree_flatten_with_path(first)
        b_leaves, b_tree = jax.tree_util.tree_flatten_with_path(second)
    except Exception:
        return None if first is second else _fallback(first, second)
    if a_tree != b_tree and not _same_structure(a_tree, b_tree):
        return f"the results have different structures: {short(first)} and {short(second)}"
    for (path, a), (_, b) in zip(a_leaves, b_leaves):
        where = jax.tree_util.keystr(path)
        where = f" at {where}" if where else ""
        try:
            if _numeric(a) or _numeric(b):
                low = min(_itemsize(a), _itemsize(b)) <= 2 and rtol > 0  # float16, bfloat16
                found = mismatch(a, b, rtol=max(rtol, 1e-2) if low else rtol, atol=max(atol, 1e-2) if low else atol)
                if found:
                    return f"{short(a)} then {short(b)}{where}"
            elif not _same_object_contents(a, b, rtol, atol):
                return f"{values_text(a)} then {values_text(b)}{where}"
        except Exception:
            continue
    return None


def _same_structure(a: Any, b: Any, depth: int = 0) -> bool:
    """Two pytree structures that differ only in equal copies of their static data: a bound
    method kept as a static field (a TrainState's ``apply_fn=model.apply``) compares its object
    by identity, and each call of the doctor's gets its own copy of that object."""
    if a == b:
        return True
    if depth > 100 or a.num_leaves != b.num_leaves or a.num_nodes != b.num_nodes:
        return False
    try:
        data_a, data_b = a.node_data(), b.node_data()
        children_a, children_b = a.children(), b.children()
    except Exception:
        return False
    if data_a is None or data_b is None:
        return data_a is None and data_b is None and not children_a and not children_b
    if data_a[0] is not data_b[0] or not _alike(data_a[1], data_b[1]):
        return False
    return len(children_a) == len(children_b) and all(
        _same_structure(x, y, depth + 1) for x, y in zip(children_a, children_b))


def _alike(a: Any, b: Any, depth: int = 0) -> bool:
    """Equal static data, a bound method equal to one of an equal copy of its object."""
    if a is b:
        return True
    if depth > 20:
        return False
    if isinstance(a, types.MethodType) and isinstance(b, types.MethodType):
        return a.__func__ is b.__func__ and _alike(a.__self__, b.__self__, depth + 1)
    if type(a) is not type(b):
        return False
    if isinstance(a, (tuple, list)):
        return len(a) == len(b) and all(_alike(x, y, depth + 1) for x, y in zip(a, b))
    if isinstance(a, types.FunctionType):
        # (a function made anew on each call, such as the one jax.vjp returns: the same code)
        return a is b or a.__code__ is b.__code__
    if isinstance(a, functools.partial):
        return (_alike(a.func, b.func, depth + 1) and _alike(a.args, b.args, depth + 1)
                and _alike(a.keywords, b.keywords, depth + 1))
    if type(a).__name__ in ("Jaxpr", "ClosedJaxpr") and type(a).__module__.startswith("jax"):
        return str(a) == str(b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_alike(a[k], b[k], depth + 1) for k in a)
    try:
        if bool(a == b):
            return True
    except Exception:
        pass
    # (an object that compares by identity, such as the wrapper of the function jax.linearize
    # returns: equal when its attributes are)
    mine, theirs = getattr(a, "__dict__", None), getattr(b, "__dict__", None)
    return isinstance(mine, dict) and isinstance(theirs, dict) and _alike(mine, theirs, depth + 1)


def _itemsize(value: Any) -> int:
    dtype = getattr(value, "dtype", None)
    if dtype is None or not np.issubdtype(np.dtype(dtype), np.inexact) and "bfloat16" not in str(dtype):
        return 8
    return np.dtype(dtype).itemsize


def _numeric(value: Any) -> bool:
    return isinstance(value, (bool, int, float, complex, jax.Array, np.ndarray, np.generic))


def _same_object_contents(a: Any, b: Any, rtol: float, atol: float) -> bool:
    """Equal leaves that are not arrays: same type and equal attributes, or ``==``; when
    neither can tell (``==`` of arrays raises), no evidence of a difference."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    mine, theirs = getattr(a, "__dict__", None), getattr(b, "__dict__", None)
    if isinstance(mine, dict) and isinstance(theirs, dict) and type(a).__eq__ is object.__eq__:
        return difference(dict(mine), dict(theirs), rtol=rtol, atol=atol) is None
    try:
        return bool(a == b)
    except Exception:
        if isinstance(mine, dict) and isinstance(theirs, dict):
            return difference(dict(mine), dict(theirs), rtol=rtol, atol=atol) is None
        return True


def _equal(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) or a is b
    except Exception:
        return a is b


def _fallback(first: Any, second: Any) -> str | None:
    return None if _equal(first, second) else f"{short(first)} then {short(second)}"


class _Shown:
    def __init__(self, text: str):
        self.text = text

    def __repr__(self) -> str:
        return self.text


def values_text(value: Any, limit: int = 160) -> str:
    """A short, rounded rendering of a value for a message: arrays inside dicts, lists,
    tuples and other pytrees are shown as ``short`` shows them (4 decimals), not as reprs."""
    if not isinstance(value, (dict, list, tuple)) or _numeric(value):
        return short(value)
    try:
        shown = jax.tree.map(lambda leaf: _Shown(short(leaf)) if _numeric(leaf) else leaf, value)
        text = " ".join(repr(shown).split())
    except Exception:
        return short(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"
