"""Comparing what the reader's code returned with what was expected.

`mismatch` answers with a short sentence that names the first difference (structure, type,
shape, dtype, value), or ``None`` when the two agree. Values are formatted briefly and
deterministically: the sentence ends up in a report that nbval compares.
"""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import jax
import numpy as np

_ARRAY_TYPES = (np.ndarray, np.generic, jax.Array)


def is_array(value: Any) -> bool:
    return isinstance(value, _ARRAY_TYPES)


def is_number(value: Any) -> bool:
    return isinstance(value, (bool, int, float, complex)) or is_array(value)


_REF_TYPE = getattr(jax, "Ref", None)  # jax.new_ref's arrays (absent from older JAX)


def is_ref(value: Any) -> bool:
    """A mutable JAX array from ``jax.new_ref``: compared by its contents, copied as a new Ref."""
    return _REF_TYPE is not None and isinstance(value, _REF_TYPE)


def is_key_array(value: Any) -> bool:
    """A typed PRNG key array (``jax.random.key``), which NumPy cannot convert."""
    return isinstance(value, jax.Array) and jax.dtypes.issubdtype(value.dtype, jax.dtypes.prng_key)


def _plain(value: Any) -> Any:
    """An array NumPy can read: typed PRNG keys become their key data."""
    return jax.random.key_data(value) if is_key_array(value) else value


def short(value: Any, limit: int = 80) -> str:
    """A brief, deterministic rendering of a value for a report."""
    if is_key_array(value):
        return f"a PRNG key {jax.typeof(value)} with data {short(jax.random.key_data(value))}"
    if is_array(value):
        array = np.asarray(value)
        text = np.array2string(array, precision=4, threshold=8, edgeitems=3, separator=", ")
        if array.ndim:
            text = f"{text} (shape {array.shape}, {array.dtype})"
    else:
        text = repr(value)
        text = text if len(text) <= limit else text[: limit - 1] + "…"
    return " ".join(text.split())


def type_name(value: Any) -> str:
    if isinstance(value, jax.Array):
        return "a JAX array"
    if isinstance(value, np.ndarray):
        return "a NumPy array"
    name = type(value).__name__
    return f"{'an' if name[:1].lower() in 'aeiou' else 'a'} {name}"


def _where(path: str) -> str:
    return f" at {path}" if path else ""


def mismatch(
    expected: Any,
    got: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    path: str = "",
) -> str | None:
    """The first difference between ``expected`` and ``got``, or ``None``."""
    if isinstance(expected, dict):
        if not isinstance(got, dict):
            return f"expected a dict{_where(path)}, got {type_name(got)}"
        if set(expected) != set(got):
            return f"expected keys {_keys(expected)}{_where(path)}, got {_keys(got)}"
        for key in expected:
            found = mismatch(expected[key], got[key], rtol=rtol, atol=atol, path=f"{path}[{key!r}]")
            if found:
                return found
        return None
    if isinstance(expected, (list, tuple)) and not is_array(expected):
        kind = "list" if isinstance(expected, list) else "tuple"
        if isinstance(expected, list) and not isinstance(got, list):
            return f"expected a list{_where(path)}, got {type_name(got)}"
        if isinstance(expected, tuple) and not isinstance(got, (tuple, list)):
            return f"expected a tuple{_where(path)}, got {type_name(got)}"
        if len(expected) != len(got):
            return f"expected a {kind} of length {len(expected)}{_where(path)}, got length {len(got)}"
        for index, (e, g) in enumerate(zip(expected, got)):
            found = mismatch(e, g, rtol=rtol, atol=atol, path=f"{path}[{index}]")
            if found:
                return found
        return None
    if dataclasses.is_dataclass(expected) and not isinstance(expected, type):
        if type(got) is not type(expected):
            return f"expected a {type(expected).__name__}{_where(path)}, got {type_name(got)}"
        for field in dataclasses.fields(expected):
            found = mismatch(
                getattr(expected, field.name),
                getattr(got, field.name),
                rtol=rtol,
                atol=atol,
                path=f"{path}.{field.name}",
            )
            if found:
                return found
        return None
    if is_ref(expected):
        if not is_ref(got):
            return f"expected a Ref{_where(path)}, got {type_name(got)}"
        return _array_mismatch(expected[...], got[...], rtol=rtol, atol=atol, path=path)
    if is_number(expected):
        return _array_mismatch(expected, got, rtol=rtol, atol=atol, path=path)
    if expected != got:
        return f"expected {short(expected)}{_where(path)}, got {short(got)}"
    return None


def _keys(mapping: dict) -> str:
    """A dict's keys, sorted, each as ``repr`` shows it: ``['a', 'b']``, and ``['0', 0]``
    where a key that is not a string would print like one that is."""
    return "[" + ", ".join(sorted(repr(key) for key in mapping)) + "]"


def _array_mismatch(expected: Any, got: Any, *, rtol: float, atol: float, path: str) -> str | None:
    if not is_number(got):
        return f"expected a number or array{_where(path)}, got {type_name(got)}: {short(got)}"
    want = np.asarray(_plain(expected))
    have = np.asarray(_plain(got))
    if want.shape != have.shape:
        return f"expected shape {want.shape}{_where(path)}, got shape {have.shape}"
    want_kind, have_kind = _dtype_family(want.dtype), _dtype_family(have.dtype)
    if want_kind != have_kind:
        return f"expected {want_kind} values (dtype {want.dtype}){_where(path)}, got dtype {have.dtype}"
    # Narrower than expected loses values (float16 rounds, int8 wraps); wider than 32 bits
    # is fine (NumPy's int64 against JAX's int32).
    if have.dtype.itemsize < min(want.dtype.itemsize, 4):
        return f"expected dtype {want.dtype}{_where(path)}, got dtype {have.dtype}, which is narrower"
    if want_kind == "boolean" or want_kind == "integer":
        equal = np.array_equal(want, have)
    else:
        equal = bool(np.allclose(have, want, rtol=rtol, atol=atol, equal_nan=True))
    if not equal:
        return f"expected {short(want)}{_where(path)}, got {short(have)}{_difference(want, have)}"
    return None


def _difference(want: np.ndarray, have: np.ndarray) -> str:
    """Where the largest difference is, and how large, for numeric arrays."""
    if want.dtype == np.bool_ or not np.issubdtype(want.dtype, np.number):
        return ""
    with np.errstate(all="ignore"):
        diff = np.abs(have.astype(np.float64) - want.astype(np.float64))
    nan_mismatch = np.isnan(want) != np.isnan(have)
    if nan_mismatch.any():
        index = np.unravel_index(int(np.argmax(nan_mismatch)), want.shape) if want.ndim else ()
        where = f" at index {tuple(int(i) for i in index)}" if want.ndim else ""
        return f"; NaN where a number was expected, or the reverse{where}"
    diff = np.where(np.isnan(diff), 0.0, diff)
    if not diff.size or not diff.max():
        return ""
    worst = float(diff.max())
    if want.ndim == 0:
        return f"; off by {worst:.6g}"
    index = tuple(int(i) for i in np.unravel_index(int(np.argmax(diff)), diff.shape))
    count = int(np.count_nonzero(diff))
    return f"; {count} of {diff.size} element(s) differ, the largest by {worst:.6g} at index {index}"


def _dtype_family(dtype: np.dtype) -> str:
    if dtype == np.bool_:
        return "boolean"
    if np.issubdtype(dtype, np.integer):
        return "integer"
    if np.issubdtype(dtype, np.complexfloating):
        return "complex"
    if np.issubdtype(dtype, np.floating) or dtype.name in ("bfloat16",):
        return "floating-point"
    return dtype.name


def fresh_copy(value: Any) -> Any:
    """A deep copy in which every JAX array is a new buffer and every PRNG key unconsumed.

    For the arguments of a probe's call: an answer that donates an argument
    (``jax.jit(f, donate_argnums=0)``) deletes the array it was given, and under
    ``jax.debug_key_reuse`` a key remembers that it was consumed. Each call gets its own.
    Containers keep their type and order (``jax.tree.map`` would sort a dict's keys).
    """
    return copy.deepcopy(value, memo={id(v): _new_buffer(v) for v in _jax_arrays(value)})


def _new_buffer(array: Any) -> Any:
    if is_key_array(array):
        # key_data is a view of the key's buffer, and wrapping it again shares that buffer:
        # copy the data, or an answer that donates its key deletes the case's own.
        data = jax.numpy.array(jax.random.key_data(array), copy=True)
        return jax.random.wrap_key_data(data, impl=jax.random.key_impl(array))
    return jax.numpy.array(array, copy=True)


def snapshot(value: Any) -> Any:
    """A deep copy to compare against later; JAX arrays are immutable and kept as they are."""
    return copy.deepcopy(value, memo={id(v): v for v in _jax_arrays(value)})


def _jax_arrays(value: Any) -> list[Any]:
    found: list[Any] = []

    def visit(item: Any, depth: int = 0) -> None:
        if depth > 50:
            return
        if isinstance(item, jax.Array):
            found.append(item)
        elif isinstance(item, dict):
            for v in item.values():
                visit(v, depth + 1)
        elif isinstance(item, (list, tuple)):
            for v in item:
                visit(v, depth + 1)

    visit(value)
    return found


def changed(before: Any, after: Any) -> str | None:
    """How ``after`` differs from the snapshot ``before`` (exact, at any depth), or ``None``."""
    return mismatch(before, after, rtol=0.0, atol=0.0)
