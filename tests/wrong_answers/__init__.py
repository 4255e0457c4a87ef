"""Known answers per chapter (``test_chNN.py``, each with a ``CASES`` list)."""

from __future__ import annotations

import importlib
import pkgutil

from tests.wrong_answers.helpers import KnownAnswer


def collect() -> list[KnownAnswer]:
    """Every ``CASES`` entry of every chapter module."""
    found: list[KnownAnswer] = []
    for module in pkgutil.iter_modules(__path__):
        if module.name.startswith("test_ch"):
            found.extend(importlib.import_module(f"{__name__}.{module.name}").CASES)
    return found
