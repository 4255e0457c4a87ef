"""Running the reader's code: bounded in time, its exceptions turned into feedback.

Each probe runs in a worker thread. JAX's context managers (``jax.checking_leaks``,
``jax.debug_key_reuse``) are thread-local, so a probe enters them inside that thread.
When a probe overruns its budget, a ``ProbeTimeout`` is raised asynchronously in the
worker: that stops a Python loop at its next bytecode. Compiled code that never returns
(an endless ``lax.while_loop``) cannot be interrupted; the thread is abandoned as a daemon
and the check still answers.
"""

from __future__ import annotations

import contextlib
import ctypes
import io
import re
import threading
from collections.abc import Callable
from typing import Any

DEFAULT_TIME_LIMIT_S = 5.0


class ProbeFailure(Exception):
    """Raised by a probe when the answer is wrong; the message is shown to the reader."""


class NotAttempted(Exception):
    """The reader's code raised ``NotImplementedError``: the stub is still in place."""


class ReaderError(Exception):
    """The reader's code raised; carries the original exception."""

    def __init__(self, name: str, error: BaseException):
        super().__init__(f"{name} raised {format_exception(error)}")
        self.name = name
        self.error = error


class ProbeTimeout(BaseException):
    """Injected into a worker thread that ran past its time limit.

    A ``BaseException`` so that a reader's ``except Exception`` cannot swallow it.
    """


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+")


def format_exception(error: BaseException) -> str:
    """``TypeName: first line of the message``, with JAX's public error names.

    Memory addresses (``<function f at 0x7f…>``) are dropped: they change from run to run,
    and this text ends up in reports and stored outputs.
    """
    lines = str(error).strip().splitlines()
    first = _ADDRESS.sub("", lines[0]) if lines else ""
    name = public_name(type(error))
    return f"{name}: {first}" if first else name


def public_name(cls: type) -> str:
    """The name a reader would import the exception class by."""
    module = cls.__module__
    if module == "builtins":
        return cls.__qualname__
    import jax.errors

    if getattr(jax.errors, cls.__name__, None) is cls:
        return f"jax.errors.{cls.__name__}"
    if module.startswith("jax._src") or module.startswith("jaxlib"):
        return cls.__name__
    return f"{module}.{cls.__qualname__}"


def call_reader(name: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call the reader's ``fn``; translate its exceptions for the report."""
    try:
        return fn(*args, **kwargs)
    except NotImplementedError as error:
        raise NotAttempted(str(error)) from error
    except (ProbeFailure, NotAttempted, ReaderError):
        raise
    except RecursionError as error:
        raise ReaderError(name, error) from None
    except Exception as error:
        raise ReaderError(name, error) from error


def run_with_time_limit(fn: Callable[[], Any], seconds: float) -> Any:
    """Run ``fn()`` in a worker thread; raise ``ProbeTimeout`` if it overruns ``seconds``.

    Output the reader's code prints while it is being checked is kept out of the report.
    """
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["value"] = fn()
        except BaseException as error:  # handed to the caller's thread below
            box["error"] = error

    worker = threading.Thread(target=target, name="purestate-probe", daemon=True)
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        worker.start()
        worker.join(seconds)
        if worker.is_alive():
            _raise_in_thread(worker, ProbeTimeout)
            worker.join(1.0)
            raise ProbeTimeout(seconds)
    if "error" in box:
        raise box["error"]
    return box.get("value")


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    if thread.ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type)
    )
