"""The state doctor: the checker's probes pointed at the reader's own functions.

>>> from purestate import doctor, assert_pure
>>> report = doctor(step, params, batch)   # prints a report; never raises
>>> report.findings                        # tuple of findings, each with .kind and .message
>>> bool(report)                           # True only when there is no finding
>>> assert_pure(step, params, batch)       # AssertionError with the report when there is one

The doctor runs ``fn`` on copies of the example arguments, plainly and under ``jax.jit``,
in the ways that expose hidden state (see ``purestate.doctor.examine`` for what each kind of
finding is based on). It never changes the caller's arguments, and puts back any global,
closed-over or attribute value the calls (or its own probes) changed. ``diagnose`` is the
same with options (a time limit, no printing).

Writing into a ``jax.new_ref`` argument is not reported: a Ref is state made explicit
(chapter 10), and writing into it is its purpose. The doctor passes copies, so the caller's
Ref is left as it was.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from purestate.doctor.report import KINDS, Finding, Report

__all__ = ["doctor", "assert_pure", "diagnose", "Report", "Finding", "KINDS", "DEFAULT_TIME_LIMIT_S"]

DEFAULT_TIME_LIMIT_S = 30.0


def doctor(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Report:
    """Examine ``fn(*args, **kwargs)``; print the report and return it. Never raises."""
    return diagnose(fn, args, kwargs)


def assert_pure(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
    """For test suites: raise ``AssertionError`` with the report when the doctor finds anything."""
    report = diagnose(fn, args, kwargs, show=False)
    if not report:
        raise AssertionError(report.render())


def diagnose(
    fn: Callable[..., Any],
    args: tuple[Any, ...] = (),
    kwargs: dict[str, Any] | None = None,
    *,
    time_limit: float = DEFAULT_TIME_LIMIT_S,
    show: bool = True,
) -> Report:
    """``doctor`` with options: ``time_limit`` in seconds, ``show=False`` to print nothing."""
    try:
        report = _diagnose(fn, tuple(args), dict(kwargs or {}), time_limit)
    except KeyboardInterrupt:
        raise
    except BaseException as error:  # the doctor itself must never raise
        from purestate.runner import format_exception

        report = Report(_title(fn), (Finding("raises", f"the doctor could not examine it: {format_exception(error)}"),))
    if show:
        print(report.render())
    return report


def _diagnose(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], time_limit: float) -> Report:
    from purestate import runner
    from purestate.doctor import args as arglib
    from purestate.doctor import examine, outside

    title = _title(fn)
    name = _name(fn)
    if not callable(fn):
        return Report(title, (Finding("raises", f"{type(fn).__name__} is not callable"),))
    original = arglib.private_copy(args, kwargs)
    reach = outside.Reach(fn)
    exam = examine.Examination(fn, original, reach, name)
    timed_out = False
    try:
        runner.run_with_time_limit(exam.run, time_limit)
    except runner.ProbeTimeout:
        timed_out = True
    except KeyboardInterrupt:
        raise
    except BaseException as error:
        exam.findings.append(Finding("raises", f"`{name}` raised {runner.format_exception(error)}"))
    finally:
        reach.restore()
    findings = list(exam.findings)
    if timed_out:
        findings.append(Finding("time-limit", f"the examination of `{name}` stopped after the time limit of "
                                              f"{time_limit:g} s; the findings above are what it saw until then. "
                                              "Try smaller example arguments, or diagnose(..., time_limit=…)"))
    order = {kind: i for i, kind in enumerate(KINDS)}
    findings.sort(key=lambda f: order.get(f.kind, len(order)))
    return Report(title, tuple(findings), tuple(exam.checked))


def _name(fn: Any) -> str:
    from purestate.doctor import outside

    inner = outside.unwrap(fn)
    return getattr(inner, "__name__", None) or getattr(fn, "__name__", None) or type(fn).__name__


def _title(fn: Any) -> str:
    from purestate.doctor import outside

    name = _name(fn)
    try:
        params = list(inspect.signature(outside.unwrap(fn)).parameters)
    except (TypeError, ValueError):
        return name
    return f"{name}({', '.join(params)})"
