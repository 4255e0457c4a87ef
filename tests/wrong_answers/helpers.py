"""Answers with a known verdict: wrong ones name the probe that must catch them."""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import jax
import pytest

from purestate.registry import evaluate
from purestate.report import Status
from purestate.runtime import version_tuple


# The suite runs two workers on two cores beside notebook kernels and a browser: a right
# answer's probe can take several times what it takes a reader, and must not time out.
TIME_LIMIT_SCALE = 3.0


@dataclass(frozen=True)
class KnownAnswer:
    exercise_id: str
    objects: tuple[Any, ...]
    failing_probe: str | None  # None: a correct answer, which must pass
    label: str
    min_jax: str = ""  # the probe relies on a JAX feature this version introduced
    why: str = ""
    needs: tuple[str, ...] = ()  # libraries the answer itself imports (optax …)

    def verify(self) -> None:
        missing = [name for name in self.needs if importlib.util.find_spec(name) is None]
        if missing:
            pytest.skip(f"the answer uses {', '.join(missing)}, which this environment does not have")
        if self.min_jax and version_tuple(jax.__version__) < version_tuple(self.min_jax):
            pytest.skip(f"JAX {jax.__version__} cannot show this mistake ({self.why}); JAX {self.min_jax} can")
        # A wrong answer must fail on its probe: the probes after that one add nothing to
        # the verdict, and skipping them halves the time of the known answers.
        result = evaluate(
            self.exercise_id, *self.objects, time_limit_scale=TIME_LIMIT_SCALE, stop_after=self.failing_probe
        )
        report = result.render()
        if self.failing_probe is None:
            assert result.passed, f"a correct answer was rejected:\n{report}"
        else:
            assert result.status is Status.FAILED, f"a wrong answer was not rejected:\n{report}"
            assert self.failing_probe in result.failed_keys, (
                f"expected probe {self.failing_probe!r} to fail:\n{report}"
            )


def _label(objects: Sequence[Any]) -> str:
    return "+".join(getattr(o, "__name__", type(o).__name__) for o in objects)


def wrong(
    exercise_id: str,
    failing_probe: str,
    *objects: Any,
    label: str | None = None,
    min_jax: str = "",
    why: str = "",
    needs: tuple[str, ...] = (),
) -> KnownAnswer:
    """A realistic wrong answer, and the key of the probe that must fail on it.

    ``min_jax`` (with ``why``) marks a mistake that older JAX versions cannot detect: the
    test is skipped, with the reason, on a JAX older than that. ``needs`` names libraries
    outside the package that the answer uses (the lean environment of ``make test-jax`` has
    none): the test is skipped where one is missing.
    """
    return KnownAnswer(exercise_id, objects, failing_probe, label or _label(objects), min_jax, why, needs)


def right(exercise_id: str, *objects: Any, label: str | None = None, needs: tuple[str, ...] = ()) -> KnownAnswer:
    """An alternative correct answer: it must pass (``needs`` as for ``wrong``)."""
    return KnownAnswer(exercise_id, objects, None, label or _label(objects), needs=needs)


def sample(cases: Sequence[KnownAnswer]) -> list[KnownAnswer]:
    """One right answer per exercise and one wrong answer per probe that must catch one.

    ``make test-jax`` runs this sample on another JAX (``PURESTATE_KNOWN_ANSWERS=sample``):
    every probe of every exercise is still shown to fail where it should, in a third of the
    time of the full set.
    """
    kept, seen = [], set()
    for known in cases:
        slot = (known.exercise_id, known.failing_probe)
        if slot not in seen:
            seen.add(slot)
            kept.append(known)
    return kept


def parametrize(cases: Sequence[KnownAnswer]) -> Callable[[KnownAnswer], None]:
    """A test function over ``cases``: ``test_known_answer = parametrize(CASES)``."""
    if os.environ.get("PURESTATE_KNOWN_ANSWERS") == "sample":
        cases = sample(cases)

    @pytest.mark.parametrize(
        "known",
        cases,
        ids=[f"{c.exercise_id}-{c.label}-{c.failing_probe or 'passes'}" for c in cases],
    )
    def test_known_answer(known: KnownAnswer) -> None:
        known.verify()

    return test_known_answer
