"""The probe machinery: `Probe`, the reader's `Answer`, cases and fresh copies."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import jax.extend

from purestate.compare import short, snapshot
from purestate.runner import ProbeFailure, call_reader


Case = Callable[[], tuple[Any, ...]]


def case(*args: Any) -> Case:
    """A case made of fixed arguments, deep-copied on every use.

    PRNG key arrays are copied too: under ``jax.debug_key_reuse`` a key remembers that it
    was consumed, and each call must start from an unconsumed key.
    """
    frozen = snapshot(args)
    return lambda: fresh_keys(snapshot(frozen))


def fresh_keys(tree: Any) -> Any:
    """``tree`` with every typed PRNG key array replaced by an unconsumed copy."""

    def copy_key(leaf: Any) -> Any:
        if isinstance(leaf, jax.Array) and jax.dtypes.issubdtype(leaf.dtype, jax.dtypes.prng_key):
            return jax.random.wrap_key_data(jax.random.key_data(leaf), impl=jax.random.key_impl(leaf))
        return leaf

    return jax.tree.map(copy_key, tree)


def fresh_jit(fn: Callable[..., Any], **jit_kwargs: Any) -> Callable[..., Any]:
    """``jax.jit`` of a new wrapper around ``fn``.

    ``jax.jit`` caches traces per function object, across separate ``jax.jit`` calls: a
    probe that must see a trace of its own (for leaks, key reuse, trace counts) wraps first.
    """

    def wrapper(*args: Any) -> Any:
        return fn(*args)

    return jax.jit(wrapper, **jit_kwargs)


class Answer:
    """The reader's objects, by the names the exercise gives them."""

    def __init__(self, objects: dict[str, Any]):
        self._objects = dict(objects)

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
    empty ``hint`` falls back to the exercise's first hint.
    """

    key: str
    description: str
    run: Callable[[Answer], None]
    hint: str = ""


def reference(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Mark ``fn`` as one of the course's reference implementations.

    Reference functions are importable, so a reader could pass one to ``check`` (or call it
    from their own function): the checker recognises the mark and reports it instead of
    passing it.
    """
    fn.__purestate_reference__ = True  # type: ignore[attr-defined]
    return fn


def signature_text(name: str, fn: Callable[..., Any], args: Sequence[Any]) -> str:
    """``name(a=…, b=…)`` with the reader's parameter names, for messages."""
    shown = [short(a, limit=40) for a in args]
    try:
        params = list(inspect.signature(fn).parameters)
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
