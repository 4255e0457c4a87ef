"""The GitHub workflows cannot run here: their structure is checked instead."""

from __future__ import annotations

import re

import yaml

from scripts.notebooks import ROOT, pages_url

WORKFLOWS = ROOT / ".github" / "workflows"


def load(name: str) -> dict:
    workflow = yaml.safe_load((WORKFLOWS / name).read_text())
    # YAML 1.1 reads the key `on` as True.
    workflow["on"] = workflow.pop(True, workflow.get("on"))
    return workflow


def steps(job: dict) -> list[dict]:
    return job["steps"]


def uses(job: dict) -> list[str]:
    return [s["uses"].split("@")[0] for s in steps(job) if "uses" in s]


def runs(job: dict) -> list[str]:
    return [s["run"] for s in steps(job) if "run" in s]


def test_pages_builds_on_every_push_to_main_and_on_pull_requests() -> None:
    workflow = load("pages.yml")
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "pull_request" in workflow["on"]
    assert workflow["permissions"] == {"contents": "read"}
    build = workflow["jobs"]["build"]
    assert "make book" in runs(build)
    upload = next(s for s in steps(build) if s.get("uses", "").startswith("actions/upload-pages-artifact"))
    assert upload["with"]["path"] == "_build/html"
    assert upload["if"] == "github.event_name != 'pull_request'"
    assert "actions/configure-pages" in uses(build)


def test_pages_deploys_only_from_main_with_the_official_action() -> None:
    deploy = load("pages.yml")["jobs"]["deploy"]
    assert deploy["needs"] == "build"
    assert "github.event_name != 'pull_request'" in deploy["if"] and "refs/heads/main" in deploy["if"]
    assert deploy["permissions"] == {"pages": "write", "id-token": "write"}
    assert deploy["environment"]["name"] == "github-pages"
    assert uses(deploy) == ["actions/deploy-pages"]


def test_the_site_url_derives_from_the_repository_url() -> None:
    url = pages_url()
    assert re.fullmatch(r"https://[a-z0-9-]+\.github\.io/[\w.-]+/", url)
    config = yaml.safe_load((ROOT / "_config.yml").read_text())
    assert config["html"]["baseurl"] == url
    assert f"<{url}>" in (ROOT / "README.md").read_text()


def test_ci_runs_the_ci_script_and_the_jax_matrix() -> None:
    jobs = load("ci.yml")["jobs"]
    assert runs(jobs["cpu"]) == ["bash .ci/run"]
    matrix = jobs["checks-on-jax"]["strategy"]["matrix"]["jax"]
    makefile = (ROOT / "Makefile").read_text()
    oldest = re.search(r"^OLDEST_JAX := (\S+)$", makefile, re.MULTILINE).group(1)
    pinned = re.search(r"^jax==(\S+)$", (ROOT / "requirements.txt").read_text(), re.MULTILINE).group(1)
    assert oldest in matrix and pinned in matrix
    assert any("make test-jax JAX=${{ matrix.jax }}" in r for r in runs(jobs["checks-on-jax"]))
