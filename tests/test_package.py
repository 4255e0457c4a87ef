"""The package as Colab gets it: installed with pip from the repository, used from anywhere."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import sysconfig
from pathlib import Path

import purestate
from scripts.notebooks import ROOT, execute, setup_source


def test_tested_version_matches_the_pin() -> None:
    pins = dict(re.findall(r"^(\S+)==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE))
    assert purestate.TESTED_JAX_VERSION == pins["jax"] == pins["jaxlib"]


def test_the_setup_cell_installs_from_the_configured_repository() -> None:
    assert '%pip install --quiet "purestate @ git+https://github.com/' in setup_source()


def test_pip_installs_the_package_from_a_git_url(tmp_path: Path) -> None:
    """What the setup cell does in Colab, with this clone standing in for the repository."""
    target = tmp_path / "site"
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), f"purestate @ git+file://{ROOT}"],
        check=True,
        timeout=300,
    )
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    probe = (
        "import purestate, sys; from purestate import check; "
        "r = check('1.1', lambda items, item: items + [item]); "
        "print(purestate.__file__); sys.exit(0 if r else 1)"
    )
    # -S: no site processing, so the editable install of this checkout (a .pth hook) is
    # not seen; JAX and NumPy still come from the environment's site-packages.
    search_path = os.pathsep.join([str(target), sysconfig.get_paths()["purelib"]])
    result = subprocess.run(
        [sys.executable, "-S", "-c", probe],
        cwd=elsewhere,
        env={"PYTHONPATH": search_path, "JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().splitlines()[-1].startswith(str(target))


def test_a_notebook_runs_from_another_working_directory(tmp_path: Path) -> None:
    nb, _ = execute(Path("solutions/01_mutation.ipynb"), working_dir=tmp_path)
    outputs = "".join(
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs
    )
    assert "Passed" in outputs and "not attempted" not in outputs
