"""`purestate.settings`: what the reader's code can change for the whole session, and undoing it."""

from __future__ import annotations

import jax
import numpy as np

from purestate import settings


def test_snapshot_reads_global_values_not_a_threads_context() -> None:
    with jax.default_matmul_precision("highest"):
        inside = settings.snapshot(["jax_default_matmul_precision"])
    assert inside == settings.snapshot(["jax_default_matmul_precision"])
    assert set(settings.snapshot(settings.JAX_SETTINGS)) <= set(settings.JAX_SETTINGS)
    assert "no_such_setting" not in settings.snapshot(["no_such_setting"])


def test_put_back_undoes_jax_and_numpy_changes() -> None:
    saved = settings.snapshot(settings.JAX_SETTINGS, numpy=True)
    errors, x64 = np.geterr(), saved["jax_enable_x64"]
    try:
        jax.config.update("jax_enable_x64", not x64)
        np.seterr(all="raise")
        assert settings.snapshot(settings.JAX_SETTINGS, numpy=True) != saved
        settings.put_back(saved)
        assert settings.snapshot(settings.JAX_SETTINGS, numpy=True) == saved
        assert np.geterr() == errors and jax.config.values["jax_enable_x64"] == x64
    finally:
        jax.config.update("jax_enable_x64", x64)
        np.seterr(**errors)
