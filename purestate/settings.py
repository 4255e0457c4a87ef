"""Process-wide settings that the reader's code can change for the whole session.

``jax.config.update`` (x64, the matmul precision, the promotion rules …), ``np.seterr`` and
``np.set_printoptions`` change every later computation or printout of the session, not just
the call that made them. The checker compares a few JAX settings around each call of the
reader's code (``probes.globals_unchanged``) and the runner puts them back after each probe;
the state doctor compares all of them, NumPy's included, and puts them back after each call.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

import jax
import numpy as np

#: The JAX settings a reader plausibly changes from inside a function ("sums in double
#: precision"), each of which changes every later computation of the session.
JAX_SETTINGS = (
    "jax_enable_x64",
    "jax_default_matmul_precision",
    "jax_numpy_rank_promotion",
    "jax_numpy_dtype_promotion",
    "jax_default_prng_impl",
    "jax_debug_nans",
    "jax_debug_infs",
    "jax_disable_jit",
    "jax_enable_checks",
    "jax_debug_key_reuse",
)
NUMPY_ERRORS = "numpy error handling (np.seterr)"
NUMPY_PRINT = "numpy print options (np.set_printoptions)"


def snapshot(names: Collection[str] | None = None, *, numpy: bool = False) -> dict[str, Any]:
    """The global values of JAX's settings ``names`` (every setting when ``None``), by name.

    Global values, not those of a context entered in this thread (the probes run under
    ``jax.default_matmul_precision``): a context ends by itself, ``jax.config.update`` does
    not. Names this JAX does not have are left out. ``numpy=True`` adds NumPy's error
    handling and print options, under ``NUMPY_ERRORS`` and ``NUMPY_PRINT``.
    """
    found: dict[str, Any] = {}
    try:
        values = dict(jax.config.values)
    except Exception:  # noqa: BLE001 - a JAX without the mapping: nothing to compare
        values = {}
    holders = getattr(jax.config, "_value_holders", {})
    for name in values if names is None else names:
        if name not in values:
            continue
        holder = holders.get(name)
        try:
            found[name] = holder.get_global() if hasattr(holder, "get_global") else values[name]
        except Exception:  # noqa: BLE001 - an unreadable setting is not compared
            continue
    if numpy:
        found[NUMPY_ERRORS] = dict(np.geterr())
        found[NUMPY_PRINT] = {k: v for k, v in np.get_printoptions().items() if k != "formatter"}
    return found


def put_back(saved: dict[str, Any]) -> None:
    """Undo the changes made since ``saved = snapshot(…)``, to the settings ``saved`` holds."""
    now = snapshot([name for name in saved if name not in (NUMPY_ERRORS, NUMPY_PRINT)],
                   numpy=NUMPY_ERRORS in saved or NUMPY_PRINT in saved)
    for name, value in saved.items():
        if name not in now or now[name] == value:
            continue
        try:
            if name == NUMPY_ERRORS:
                np.seterr(**value)
            elif name == NUMPY_PRINT:
                np.set_printoptions(**value)
            else:
                jax.config.update(name, value)
        except Exception:  # noqa: BLE001 - a setting JAX refuses to take back stays as it is
            continue
