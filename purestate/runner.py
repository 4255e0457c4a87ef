"""Running the reader's code: bounded in time, its exceptions turned into feedback.

Each probe runs in a worker thread. JAX's context managers (``jax.checking_leaks``,
``jax.debug_key_reuse``) are thread-local, so a probe enters them inside that thread.
When a probe overruns its budget, a ``ProbeTimeout`` is raised asynchronously in the
worker: that stops a Python loop at its next bytecode. Compiled code that never returns
(an endless ``lax.while_loop``) cannot be interrupted; the thread is abandoned as a daemon
and the check still answers.

The code the checker runs is hostile:

- every exception it raises, ``BaseException`` subclasses included (``sys.exit``,
  ``KeyboardInterrupt``, ``SystemExit``), becomes feedback (``ReaderError``); only the
  checker's own signals (time-out, interrupt) pass through;
- a real Ctrl-C (``KeyboardInterrupt`` in the thread waiting for the worker) stops the
  worker too, then reaches the caller;
- after each call, library modules it replaced are put back (``purestate.guard``) and the
  probe fails;
- a course reference it calls fails the probe (see ``probes.reference``);
- what it prints is captured per worker thread, bounded (``CAPTURE_LIMIT`` characters per
  probe, the rest counted and dropped); other threads print as usual.
"""

from __future__ import annotations

import ctypes
import re
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from purestate import guard, settings

# Per probe. A right answer compiles in well under a second; the margin is for a loaded
# machine (a test suite on two busy cores), where a tighter limit rejects right answers.
DEFAULT_TIME_LIMIT_S = 10.0
CAPTURE_LIMIT = 64 * 1024  # characters of output kept per probe; the rest is counted and dropped
REFERENCE_MESSAGE = "this is the course's reference; write your own"


class ProbeFailure(Exception):
    """Raised by a probe when the answer is wrong; the message is shown to the reader."""


class NotAttempted(Exception):
    """The reader's code raised ``NotImplementedError`` from a stub: not written yet."""


class ReaderError(Exception):
    """The reader's code raised; carries the original exception."""

    def __init__(self, name: str, error: BaseException):
        super().__init__(f"{name} raised {format_exception(error)}")
        self.name = name
        self.error = error


class CheckerSignal(BaseException):
    """The checker's own asynchronous signals; the reader's code never turns them into feedback.

    A ``BaseException`` so that a reader's ``except Exception`` cannot swallow them.
    """


class ProbeTimeout(CheckerSignal):
    """Injected into a worker thread that ran past its time limit."""


class WorkerStopped(ProbeTimeout):
    """Injected into a worker thread that ran past its time limit (its caller has moved on).

    The thread that waited raises a plain ``ProbeTimeout``; this one only unwinds the
    worker, through any check the reader's code may have started inside it.
    """


class CheckInterrupted(CheckerSignal):
    """Injected into the worker thread when the reader presses Ctrl-C during a check."""


class ReferenceUsed(BaseException):
    """Raised when the reader's code calls one of the course's reference implementations."""


_ADDRESS = re.compile(r" at 0x[0-9a-fA-F]+|0x[0-9a-fA-F]{6,}")
# JAX names where a traced function was defined ("when tracing f at /tmp/ipykernel_7/123.py:3
# for jit"): a machine path, different in every kernel. The function's name stays.
_DEFINED_AT = re.compile(r" at (?:[A-Za-z]:)?[^\s:]*[/\\][^\s:]*\.py:\d+")


def without_addresses(text: str) -> str:
    """``text`` without memory addresses (``<function f at 0x7f…>`` becomes ``<function f>``)
    and without the source paths JAX gives traced functions (``f at /tmp/…/1.py:3``)."""
    text = _DEFINED_AT.sub("", text)
    return _ADDRESS.sub(lambda m: "" if m.group(0).startswith(" at") else "0x…", text)


def format_exception(error: BaseException) -> str:
    """``TypeName: first line of the message``, with JAX's public error names.

    Memory addresses (``<function f at 0x7f…>``) are dropped: they change from run to run,
    and this text ends up in reports and stored outputs. An exception whose ``str`` fails
    is shown by its type alone.
    """
    try:
        lines = str(error).strip().splitlines()
    except BaseException:  # a hostile __str__
        lines = []
    first = without_addresses(lines[0]) if lines else ""
    try:
        name = public_name(type(error))
    except Exception:
        name = type(error).__name__
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


# The reader's code ----------------------------------------------------------------------


class _ReaderState(threading.local):
    depth = 0  # how many calls of reader code are running in this thread
    reference: str = ""  # the reference the reader's code called, if any


_reader = _ReaderState()


def in_reader_code() -> bool:
    """True while this thread runs code of the reader's (inside ``call_reader``)."""
    return _reader.depth > 0


def note_reference_used(name: str) -> None:
    """Remember that the reader's code called the reference ``name`` (see ``probes.reference``)."""
    if not _reader.reference:
        _reader.reference = name


def reference_message(name: str) -> str:
    return f"your code calls {name}: {REFERENCE_MESSAGE}"


def _after_reader_call(_restore: Any = guard.restore, _message: Any = guard.message) -> str | None:
    """Undo what the reader's code must not do; say what it did (or ``None``).

    The guard's functions are bound as defaults: replacing ``purestate.guard.restore`` from
    the reader's code does not switch the guard off.
    """
    changed = _restore(deep=False)
    if changed:
        return _message(changed)
    if _reader.reference:
        name, _reader.reference = _reader.reference, ""
        return reference_message(name)
    return None


def call_reader(
    name: str, fn: Callable[..., Any], *args: Any, _purestate_after: Any = _after_reader_call, **kwargs: Any
) -> Any:
    """Call the reader's ``fn``; translate its exceptions for the report.

    Every exception the reader's code raises becomes a ``ReaderError`` (``SystemExit`` and
    other ``BaseException`` subclasses included), except the checker's own signals. A
    ``NotImplementedError`` raised by a stub (a function whose code does nothing but raise
    it) becomes ``NotAttempted``. Afterwards, library modules the call replaced are put
    back, and the probe fails if it replaced any or called a course reference.
    """
    _reader.depth += 1
    try:
        result = fn(*args, **kwargs)
    except BaseException as error:
        _reader.depth -= 1
        problem = _purestate_after()
        if isinstance(error, CheckerSignal):
            raise
        if problem:
            raise ProbeFailure(problem) from None
        raise _translate(name, error) from None
    _reader.depth -= 1
    problem = _purestate_after()
    if problem:
        raise ProbeFailure(problem)
    return result


def _translate(name: str, error: BaseException) -> BaseException:
    if isinstance(error, (ProbeFailure, NotAttempted, ReaderError)):
        return error  # from a nested call_reader
    if isinstance(error, ReferenceUsed):
        _reader.reference = ""
        return ProbeFailure(str(error))
    if isinstance(error, NotImplementedError):
        if is_stub(error):
            return NotAttempted(str(error))
    return ReaderError(name, error)


_STUB_NAMES = frozenset({"NotImplementedError"})


def is_stub(error: BaseException) -> bool:
    """Whether ``error`` was raised by a stub: code that does nothing but raise it.

    The frame that raised it runs code naming nothing but ``NotImplementedError``, with only
    strings (a docstring, a message) and ``None`` as constants, as in::

        def add_item(items, item):
            \"\"\"Doc.\"\"\"
            raise NotImplementedError("write add_item")

    A ``raise NotImplementedError("only 1-D for now")`` inside real code is not a stub.
    """
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    code = tb.tb_frame.f_code
    if not set(code.co_names) <= _STUB_NAMES:
        return False
    return all(c is None or isinstance(c, str) for c in code.co_consts)


# Output capture ---------------------------------------------------------------------------


class _Capture:
    """What one probe's threads printed: the first ``CAPTURE_LIMIT`` characters, and a count."""

    __slots__ = ("parts", "kept", "dropped")

    def __init__(self) -> None:
        self.parts: list[str] = []
        self.kept = 0
        self.dropped = 0

    def write(self, text: str) -> None:
        room = CAPTURE_LIMIT - self.kept
        if room > 0:
            piece = text[:room]
            self.parts.append(piece)
            self.kept += len(piece)
            self.dropped += len(text) - len(piece)
        else:
            self.dropped += len(text)

    @property
    def text(self) -> str:
        return "".join(self.parts)


class _ThreadAwareStream:
    """Stands in for ``sys.stdout``/``sys.stderr`` while probes run.

    Writes from a probe's worker thread (and from threads that ``threading`` does not know,
    such as the runtime's callback threads, while a probe runs) go to that probe's capture;
    every other thread writes to the original stream, unchanged. Everything else (encoding,
    ``fileno``, ``isatty``, an ipykernel ``OutStream``'s own attributes) is the original's.
    """

    def __init__(self, original: Any, captures: dict[int, _Capture]):
        self._original = original
        self._captures = captures

    def _capture(self) -> _Capture | None:
        ident = threading.get_ident()
        capture = self._captures.get(ident)
        if capture is None and self._captures and ident not in threading._active:  # type: ignore[attr-defined]
            try:  # a thread of the runtime's (a JAX callback) while a probe runs
                capture = next(iter(self._captures.values()))
            except (StopIteration, RuntimeError):
                capture = None
        return capture

    def write(self, text: Any) -> int:
        capture = self._capture()
        if capture is None:
            return self._original.write(text)
        text = text if isinstance(text, str) else str(text)
        capture.write(text)
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def flush(self) -> None:
        if self._capture() is None:
            flush = getattr(self._original, "flush", None)
            if flush is not None:
                flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._original, name)


_captures: dict[int, _Capture] = {}
_install_lock = threading.Lock()
_installed: list[tuple[Any, Any, Any, Any]] = []  # (proxy out, proxy err, original out, original err)


def _install() -> None:
    with _install_lock:
        if _installed and sys.stdout is _installed[-1][0] and sys.stderr is _installed[-1][1]:
            _installed.append(_installed[-1])  # already in place: count the nesting
            return
        out, err = sys.stdout, sys.stderr
        _installed.append((_ThreadAwareStream(out, _captures), _ThreadAwareStream(err, _captures), out, err))
        sys.stdout, sys.stderr = _installed[-1][0], _installed[-1][1]


def _uninstall() -> None:
    with _install_lock:
        if not _installed:
            return
        _, _, out, err = _installed.pop()
        if not _installed or _installed[-1][2] is not out:
            # the outermost install (or a nested one of its own): put the streams back, also
            # when the reader's code replaced sys.stdout meanwhile
            sys.stdout, sys.stderr = out, err


def _full_matmul_precision() -> Any:
    """``jax.default_matmul_precision("highest")``, entered in the probe's own thread
    (JAX's configuration contexts are thread-local)."""
    import jax

    return jax.default_matmul_precision("highest")


def run_with_time_limit(fn: Callable[[], Any], seconds: float) -> Any:
    """Run ``fn()`` in a worker thread; raise ``ProbeTimeout`` if it overruns ``seconds``.

    Output the reader's code prints while it is being checked is kept out of the report
    (captured per probe, bounded). A ``KeyboardInterrupt`` while waiting (Ctrl-C) stops the
    worker and is raised again to the caller.
    """
    box: dict[str, Any] = {}
    capture = _Capture()

    def target() -> None:
        ident = threading.get_ident()
        _captures[ident] = capture
        saved_settings = settings.snapshot(settings.JAX_SETTINGS)  # the reader's `jax.config.update`s are undone below
        try:
            # Full float32 matmuls for the reader's code and the references alike: on a GPU the
            # default may be TF32, whose rounding is far above the probes' tolerances.
            with _full_matmul_precision():
                box["value"] = fn()
        except BaseException as error:  # handed to the caller's thread below
            box["error"] = error
        finally:
            settings.put_back(saved_settings)
            if _captures.get(ident) is capture:
                del _captures[ident]

    worker = threading.Thread(target=target, name="purestate-probe", daemon=True)
    _install()
    try:
        worker.start()
        deadline = time.monotonic() + seconds
        try:
            while worker.is_alive():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                worker.join(min(left, 0.1))  # short waits: a Ctrl-C is seen at once
        except KeyboardInterrupt:
            _stop(worker, CheckInterrupted)
            raise
        except CheckerSignal:  # this thread is itself a worker being stopped: stop its worker too
            _stop(worker, WorkerStopped)
            raise
        if worker.is_alive():
            _stop(worker, WorkerStopped)
            raise ProbeTimeout(seconds)
    finally:
        _uninstall()
    if "error" in box:
        error = box["error"]
        if not isinstance(error, (Exception, CheckerSignal)):
            # SystemExit, KeyboardInterrupt, … raised by the reader's code outside a call
            # (a method of what it returned): feedback, never the end of the check
            raise ReaderError("your code", error) from None
        raise error
    return box.get("value")


def _stop(worker: threading.Thread, exc_type: type[BaseException], wait_s: float = 1.0) -> None:
    """Raise ``exc_type`` in ``worker`` (again, if its code swallows it) and wait briefly."""
    deadline = time.monotonic() + wait_s
    while worker.is_alive() and time.monotonic() < deadline:
        _raise_in_thread(worker, exc_type)
        worker.join(0.05)


def _raise_in_thread(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    if thread.ident is None:
        return
    ctypes.pythonapi.PyThreadState_SetAsyncExc(
        ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type)
    )
