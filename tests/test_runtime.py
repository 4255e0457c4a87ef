"""The reader's runtime: the JAX version notice and the choice of devices."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from purestate.runtime import (
    OLDEST_SUPPORTED_JAX,
    TESTED_JAX_VERSION,
    choose_devices,
    version_notice,
    version_tuple,
)
from scripts.notebooks import ROOT


@dataclass(frozen=True)
class FakeDevice:
    platform: str
    id: int


def test_version_tuple_drops_suffixes() -> None:
    assert version_tuple("0.12.0.1") == (0, 12, 0, 1)
    assert version_tuple("0.13.0.dev20261101") == (0, 13, 0)
    assert version_tuple("0.11.0rc1") == (0, 11, 0)


def test_version_notice_says_what_differs_and_what_works() -> None:
    assert version_notice(TESTED_JAX_VERSION) is None
    older = version_notice(OLDEST_SUPPORTED_JAX)
    assert older and "older" in older and "check() and hint() work" in older
    newer = version_notice("0.13.1")
    assert newer and "newer" in newer and "may differ" in newer
    too_old = version_notice("0.9.0")
    assert too_old and too_old.startswith("Warning") and OLDEST_SUPPORTED_JAX in too_old


def test_the_default_backend_is_used_when_it_has_enough_devices() -> None:
    tpu = [FakeDevice("tpu", i) for i in range(8)]
    choice = choose_devices(8, tpu, [FakeDevice("cpu", 0)])
    assert choice.devices == tuple(tpu) and "tpu" in choice.description


def test_the_cpu_is_used_when_the_default_backend_has_too_few() -> None:
    gpu = [FakeDevice("gpu", 0)]
    cpus = [FakeDevice("cpu", i) for i in range(8)]
    choice = choose_devices(8, gpu, cpus)
    assert choice.devices == tuple(cpus) and "CPU" in choice.description and "gpu" in choice.description


def test_too_few_devices_anywhere_says_how_to_fix_it() -> None:
    with pytest.raises(RuntimeError, match="Restart the runtime"):
        choose_devices(8, [FakeDevice("gpu", 0)], [FakeDevice("cpu", 0)])


def test_devices_on_this_machine_in_a_fresh_process() -> None:
    """The real thing: a fresh process splits its CPU into 8 devices and hands them out."""
    code = (
        "import purestate; from purestate.display import setup_notebook; "
        "setup_notebook(cpu_devices=8); "
        "print(len(purestate.devices(8)), sorted({d.platform for d in purestate.devices(8)}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
        env={"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode == 0, result.stderr
    assert "This page runs on 8 cpu device(s)" in result.stdout
    assert result.stdout.strip().splitlines()[-1] == "8 ['cpu']"
