"""Puts the repository root on sys.path so that tests can import ``scripts`` and ``tests``.

It also gives the test processes one JAX compilation cache for the run (a fresh temporary
folder, removed at the end). The known answers compile thousands of small programs, and
many compile to the same XLA program (a wrong answer is often the right computation plus a
side effect in Python): the second compilation is read from the cache. Only the pytest
processes use it (``jax.config``, not the environment): the notebooks nbval runs compile as
a reader's kernel does, and no probe depends on XLA compilations (trace counts come from
the tracing cache, which this does not touch). ``PURESTATE_TEST_COMPILATION_CACHE=off``
switches it off.
"""

from __future__ import annotations

import os
import shutil
import tempfile

_CACHE_VARIABLE = "PURESTATE_TEST_COMPILATION_CACHE"


def pytest_configure(config: object) -> None:
    if os.environ.get(_CACHE_VARIABLE) == "off":
        return
    if not os.environ.get(_CACHE_VARIABLE):  # the controller; xdist workers inherit the folder
        os.environ[_CACHE_VARIABLE] = tempfile.mkdtemp(prefix="purestate-jax-cache-")
        config._purestate_cache_owner = True  # type: ignore[attr-defined]
    import jax

    jax.config.update("jax_compilation_cache_dir", os.environ[_CACHE_VARIABLE])
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", 0)


def pytest_unconfigure(config: object) -> None:
    if getattr(config, "_purestate_cache_owner", False):
        shutil.rmtree(os.environ.pop(_CACHE_VARIABLE), ignore_errors=True)
