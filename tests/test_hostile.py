"""The code the checker runs is hostile: one test per scenario.

An answer may exit, raise any ``BaseException``, loop until Ctrl-C, replace library
functions, pass (or call) the course's own references, print without end, or raise its
own ``NotImplementedError``. ``check`` reports each and stays right for later checks.
"""

from __future__ import annotations

import functools
import signal
import sys
import threading
import time
import tracemalloc

import jax
import jax.numpy as jnp
import pytest

import purestate.compare
import purestate.report
from purestate import check, probes
from purestate.probes import Answer, case
from purestate.registry import evaluate, exercises
from purestate.report import Status
from purestate.runner import ProbeFailure, ReaderError, is_stub, run_with_time_limit


def right_add_item(items: list, item: object) -> list:
    return [*items, item]


def wrong_add_item(items: list, item: object) -> list:
    return [item, *items]


def failures(result) -> str:
    return "\n".join(o.message for o in result.outcomes if o.status is Status.FAILED)


def assert_later_checks_are_right() -> None:
    assert evaluate("1.1", right_add_item).passed
    assert evaluate("1.1", wrong_add_item).status is Status.FAILED


# BaseException from the answer -------------------------------------------------------------


class Custom(BaseException):
    pass


def exits(items: list, item: object) -> list:
    sys.exit("bye")


def raises_system_exit(items: list, item: object) -> list:
    raise SystemExit(2)


def raises_keyboard_interrupt(items: list, item: object) -> list:
    raise KeyboardInterrupt("pressed in the answer")


def raises_custom(items: list, item: object) -> list:
    raise Custom("mine")


def raises_generator_exit(items: list, item: object) -> list:
    raise GeneratorExit


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (exits, "add_item raised SystemExit: bye"),
        (raises_system_exit, "add_item raised SystemExit: 2"),
        (raises_keyboard_interrupt, "add_item raised KeyboardInterrupt: pressed in the answer"),
        (raises_custom, "add_item raised tests.test_hostile.Custom: mine"),
        (raises_generator_exit, "add_item raised GeneratorExit"),
    ],
    ids=lambda x: getattr(x, "__name__", "msg"),
)
def test_base_exceptions_are_reported_and_the_check_goes_on(capsys, answer, expected: str) -> None:
    result = check("1.1", answer)
    assert result.status is Status.FAILED and not result
    assert expected in failures(result)
    assert len(result.outcomes) == len(exercises()["1.1"].probes)  # every probe ran
    assert "Not yet" in capsys.readouterr().out
    assert_later_checks_are_right()


class ExitsWhenMeasured(list):
    def __len__(self) -> int:
        raise SystemExit("measured")


def returns_hostile_object(items: list, item: object) -> list:
    return ExitsWhenMeasured([*items, item])


def test_a_base_exception_from_what_the_answer_returned_is_feedback() -> None:
    result = check("1.1", returns_hostile_object)  # the probe's own code meets the SystemExit
    assert result.status is Status.FAILED
    assert "SystemExit: measured" in failures(result)


def test_run_with_time_limit_turns_a_stray_base_exception_into_feedback() -> None:
    def body() -> None:
        raise SystemExit(1)

    with pytest.raises(ReaderError, match="SystemExit"):
        run_with_time_limit(body, 5.0)


# A real Ctrl-C -----------------------------------------------------------------------------


def loops_forever(items: list, item: object) -> list:
    while True:
        pass


def _probe_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "purestate-probe" and t.is_alive()]


def _interrupt_soon(how: str, delay: float = 0.5) -> threading.Timer:
    main = threading.main_thread().ident

    def fire() -> None:
        if how == "signal":
            signal.pthread_kill(main, signal.SIGINT)
        else:
            import _thread

            _thread.interrupt_main()

    timer = threading.Timer(delay, fire)
    timer.start()
    return timer


@pytest.mark.parametrize("how", ["signal", "interrupt_main"])
def test_a_real_ctrl_c_stops_the_check_and_its_worker(how: str) -> None:
    if threading.current_thread() is not threading.main_thread():
        pytest.skip("signals reach the main thread only")
    assert not _probe_threads()
    start = time.monotonic()
    timer = _interrupt_soon(how)
    with pytest.raises(KeyboardInterrupt):
        check("1.1", loops_forever)
    timer.join()
    assert time.monotonic() - start < exercises()["1.1"].time_limit_s  # not the time-out
    deadline = time.monotonic() + 2
    while _probe_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _probe_threads(), "the probe's worker thread is still running"
    assert sys.stdout.__class__.__name__ != "_ThreadAwareStream"
    assert_later_checks_are_right()


# Monkeypatching --------------------------------------------------------------------------


def patches_jnp_sum(items: list, item: object) -> list:
    jnp.sum = lambda *a, **k: 0
    return [item, *items]


def patches_mismatch(items: list, item: object) -> list:
    purestate.compare.mismatch = lambda *a, **k: None
    purestate.compare.changed = lambda *a, **k: None
    return [item, *items]


def patches_bool(items: list, item: object) -> list:
    purestate.report.CheckResult.__bool__ = lambda self: True
    purestate.report.CheckResult.passed = property(lambda self: True)
    return [item, *items]


def patches_code(items: list, item: object) -> list:
    purestate.compare.mismatch.__code__ = (lambda *a, **k: None).__code__
    return [item, *items]


def patches_the_guard(items: list, item: object) -> list:
    import purestate.guard

    purestate.guard.restore = lambda deep=True: []
    return [item, *items]


def patches_builtin(items: list, item: object) -> list:
    import builtins

    builtins.len = lambda x: 0
    return [item, *items]


@pytest.mark.parametrize(
    ("answer", "replaced"),
    [
        (patches_jnp_sum, "jax.numpy.sum"),
        (patches_mismatch, "purestate.compare.mismatch"),
        (patches_bool, "purestate.report.CheckResult.__bool__"),
        (patches_code, "purestate.compare.mismatch"),
        (patches_builtin, "builtins.len"),
        (patches_the_guard, "purestate.guard.restore"),
    ],
    ids=lambda x: getattr(x, "__name__", x),
)
def test_a_monkeypatching_answer_fails_and_later_checks_stay_right(answer, replaced: str) -> None:
    original_sum, original_mismatch = jnp.sum, purestate.compare.mismatch
    result = evaluate("1.1", answer)
    assert result.status is Status.FAILED and not result
    assert f"your code replaced {replaced}" in failures(result)
    assert "the checker put it back" in failures(result)
    assert jnp.sum is original_sum and purestate.compare.mismatch is original_mismatch
    assert "__bool__" not in vars(purestate.report.CheckResult) or purestate.report.CheckResult.__bool__(result) is False
    assert_later_checks_are_right()


def test_a_patch_made_before_the_check_is_put_back(capsys) -> None:
    original = jnp.mean
    jnp.mean = lambda *a, **k: 0.0
    try:
        result = check("1.1", right_add_item)
    finally:
        jnp.mean = original
    assert result.passed
    assert "jax.numpy.mean" in capsys.readouterr().out
    assert jnp.mean is original


def test_importing_a_submodule_is_not_a_patch() -> None:
    def imports(items: list, item: object) -> list:
        import jax.scipy.special  # noqa: F401  (adds a module attribute to a package)
        import numpy.polynomial  # noqa: F401

        return [*items, item]

    assert evaluate("1.1", imports).passed


# References --------------------------------------------------------------------------------


@probes.reference
def marked_double(x: jax.Array) -> jax.Array:
    """Twice x."""
    return 2 * x


DOUBLE_CASES = [case(jnp.arange(3.0))]


def _verdict(probe, fn) -> str | None:
    try:
        run_with_time_limit(lambda: probe.run(Answer({"f": fn})), 5.0)
    except (ProbeFailure, ReaderError) as failure:
        return str(failure)
    return None


def test_a_marked_reference_stays_a_plain_callable() -> None:
    x = jnp.arange(3.0)
    assert marked_double.__name__ == "marked_double" and marked_double.__doc__ == "Twice x."
    assert str(jax.numpy.asarray(marked_double(x))) == str(2 * x)
    assert float(jax.grad(lambda v: jnp.sum(marked_double(v)))(x)[0]) == 2.0
    assert float(jax.jit(marked_double)(x)[1]) == 2.0
    assert functools.wraps(marked_double)(lambda v: v).__name__ == "marked_double"
    assert marked_double.__purestate_reference__ is True
    assert list(__import__("inspect").signature(marked_double).parameters) == ["x"]
    # probes call references to compute expected values, in the worker thread too
    assert _verdict(probes.matches_reference("f", marked_double, DOUBLE_CASES), lambda x: x + x) is None


def test_a_reference_called_from_the_answer_fails_the_probe() -> None:
    probe = probes.matches_reference("f", marked_double, DOUBLE_CASES)

    def calls_it(x: jax.Array) -> jax.Array:
        return marked_double(x)

    def hides_the_call(x: jax.Array) -> jax.Array:
        try:
            return marked_double(x)
        except BaseException:
            return 2 * x

    for answer in (calls_it, hides_the_call, jax.jit(calls_it), lambda x: jax.jit(lambda v: marked_double(v))(x)):
        message = _verdict(probe, answer)
        assert message and "this is the course's reference; write your own" in message, answer


@pytest.mark.parametrize(
    "passed",
    [
        marked_double,
        jax.jit(marked_double),
        functools.partial(marked_double),
        functools.wraps(marked_double)(lambda x: x),
        purestate.compare.mismatch,
        purestate.report.CheckResult,
    ],
    ids=["marked", "jitted", "partial", "wraps", "course-function", "course-class"],
)
def test_the_courses_own_code_passed_as_an_answer_is_refused(passed) -> None:
    from purestate.probes.core import course_object_name

    assert course_object_name(passed)
    result = evaluate("1.1", passed)
    assert not result and result.status is Status.INVALID
    assert "this is the course's reference; write your own" in result.render()


def test_a_chapter_reference_is_refused() -> None:
    from purestate.exercises import ch01

    result = evaluate("1.1", ch01.reference_add_item)
    assert result.status is Status.INVALID and "write your own" in result.render()
    result = evaluate("1.1", lambda items, item: ch01.reference_add_item(items, item))
    assert not result


def test_the_readers_own_functions_are_not_mistaken_for_references() -> None:
    from purestate.probes.core import course_object_name

    assert course_object_name(right_add_item) is None
    assert course_object_name(jax.jit(right_add_item)) is None
    assert course_object_name(functools.partial(right_add_item, [])) is None


# Output -------------------------------------------------------------------------------------


def test_printing_ten_megabytes_keeps_memory_bounded() -> None:
    line = "x" * 1023

    def chatty() -> int:
        for _ in range(10_000):  # 10 MB in all
            print(line)
        return 1

    tracemalloc.start()
    try:
        assert run_with_time_limit(chatty, 30.0) == 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 2_000_000, peak


def test_a_print_from_another_thread_during_a_probe_reaches_stdout(capsys) -> None:
    printed = threading.Event()

    def elsewhere() -> None:
        print("from another thread")
        printed.set()

    def probe_body() -> None:
        print("from the probe")
        threading.Thread(target=elsewhere).start()
        assert printed.wait(5)

    original = sys.stdout
    run_with_time_limit(probe_body, 10.0)
    assert sys.stdout is original
    out = capsys.readouterr().out
    assert "from another thread" in out and "from the probe" not in out


def test_an_answer_that_replaces_sys_stdout_does_not_keep_it(capsys) -> None:
    import io

    def redirects(items: list, item: object) -> list:
        sys.stdout = io.StringIO()
        return [*items, item]

    original = sys.stdout
    check("1.1", redirects)
    assert sys.stdout is original
    assert "Exercise 1.1" in capsys.readouterr().out


# NotImplementedError -----------------------------------------------------------------------


def stub_with_docstring(items: list, item: object) -> list:
    """Return a new list with item at the end."""
    raise NotImplementedError("write add_item")


def bare_stub(items: list, item: object) -> list:
    raise NotImplementedError


def own_not_implemented(items: list, item: object) -> list:
    if len(items) > 2:
        raise NotImplementedError("only short lists for now")
    return [*items, item]


def test_a_stub_with_a_docstring_and_a_message_is_not_attempted() -> None:
    for stub in (stub_with_docstring, bare_stub):
        result = evaluate("1.1", stub)
        assert result.status is Status.NOT_ATTEMPTED and not result
    assert "write add_item" in evaluate("1.1", stub_with_docstring).render()


def test_the_readers_own_not_implemented_error_is_a_failure() -> None:
    result = evaluate("1.1", own_not_implemented)
    assert result.status is Status.FAILED
    assert "NotImplementedError: only short lists for now" in failures(result)


def test_class_and_multi_function_stubs_are_not_attempted() -> None:
    class Particle:
        def __init__(self, position, velocity):
            raise NotImplementedError("make Particle a dataclass registered as a pytree")

    def step(p, dt):
        raise NotImplementedError("return a new Particle, moved by dt * velocity")

    def stats_init(shape):
        raise NotImplementedError("return the initial state for vectors of this shape")

    def stats_update(state, x):
        raise NotImplementedError("return the state after one more vector x")

    def stats_result(state):
        raise NotImplementedError("return (mean, var) of the vectors seen so far")

    assert evaluate("6.2", Particle, step).status is Status.NOT_ATTEMPTED
    assert evaluate("6.1", stats_init, stats_update, stats_result).status is Status.NOT_ATTEMPTED


def test_is_stub_reads_the_raising_frame() -> None:
    def catch(fn) -> BaseException:
        try:
            fn([], 1)
        except NotImplementedError as error:
            return error
        raise AssertionError("no error")

    assert is_stub(catch(stub_with_docstring)) and is_stub(catch(bare_stub))
    assert not is_stub(catch(lambda items, item: own_not_implemented([1, 2, 3], item)))


# Reports ------------------------------------------------------------------------------------


class Opaque:
    pass


def test_reports_show_no_addresses() -> None:
    def returns_objects(items: list, item: object) -> list:
        return [Opaque(), Opaque()]

    first = evaluate("1.1", returns_objects).render()
    second = evaluate("1.1", returns_objects).render()
    assert "0x" not in first and first == second


# A check inside a check ----------------------------------------------------------------------


_nested: list = []


def checks_itself(items: list, item: object) -> list:
    _nested.append(evaluate("1.1", checks_itself))
    return [*items, item]


def test_an_answer_that_runs_the_checker_on_itself_gets_no_nested_check() -> None:
    result = evaluate("1.1", checks_itself)
    # its values are right, the checks it started were refused at once; only the list it
    # appends to gives it away
    assert result.failed_keys == ("globals-unchanged",)
    assert _nested and {r.status for r in _nested} == {Status.INVALID}
    assert "inside the code it is checking" in _nested[0].message
    assert not _probe_threads()
    assert_later_checks_are_right()
