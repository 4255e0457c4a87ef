"""Benchmark: each notebook's execution time and each exercise's check latency.

    make bench            # or: python scripts/bench.py [--notebooks-only | --checks-only]

Prints a table; asserts nothing (timings depend on the machine, so they are not a test).
Check latency is measured in a fresh process per chapter, as a reader meets it: the first
check of a solution (with JAX's compilations) and a second run of the same check. The state
doctor is timed the same way over its bug gallery (tests/doctor_gallery.py): the first
examination of each function, in one fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path


sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.notebooks import ROOT, execute, notebooks  # noqa: E402

CHECK_TIMER = """
import json, sys, time
from pathlib import Path
sys.path.insert(0, {root!r})
from purestate.registry import evaluate, exercises
from scripts.notebooks import load_answers
namespace = load_answers(Path({path!r}))
rows = []
for exercise_id, exercise in exercises().items():
    if exercise.chapter != {chapter}:
        continue
    objects = [namespace[name] for name in exercise.objects]
    timings = []
    for _ in range(2):
        start = time.perf_counter()
        result = evaluate(exercise_id, *objects)
        timings.append(time.perf_counter() - start)
    rows.append((exercise_id, result.status.value, *timings))
print(json.dumps(rows))
"""


DOCTOR_TIMER = """
import json, statistics, sys, time
sys.path.insert(0, {root!r})
from purestate.doctor import diagnose
from tests.doctor_gallery import BUGGY, CLEAN
rows = []
for label, fn, make_args in [(k, f, m) for k, f, m in BUGGY] + [("clean", f, m) for f, m in CLEAN]:
    start = time.perf_counter()
    diagnose(fn, make_args(), show=False)
    rows.append((label, getattr(fn, '__name__', type(fn).__name__), time.perf_counter() - start))  # callable objects too
print(json.dumps(rows))
"""


def time_notebooks() -> None:
    print(f"{'notebook':44} {'seconds':>8}")
    total = 0.0
    for path in notebooks():
        _, elapsed = execute(path)
        total += elapsed
        print(f"{path.as_posix():44} {elapsed:8.1f}", flush=True)
    print(f"{'total':44} {total:8.1f}")


def time_checks() -> None:
    print(f"\n{'exercise':10} {'verdict':14} {'first check (s)':>16} {'again (s)':>10}")
    for path in notebooks(("solutions",)):
        chapter = int(path.name[:2])
        code = CHECK_TIMER.format(root=str(ROOT), path=str(path), chapter=chapter)
        out = subprocess.run(
            [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout
        for exercise_id, verdict, first, again in json.loads(out.strip().splitlines()[-1]):
            print(f"{exercise_id:10} {verdict:14} {first:16.2f} {again:10.2f}", flush=True)


def time_doctor() -> None:
    code = DOCTOR_TIMER.format(root=str(ROOT))
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    rows = json.loads(out.strip().splitlines()[-1])
    seconds = sorted(row[2] for row in rows)
    median = seconds[len(seconds) // 2]
    print(f"\nstate doctor over {len(rows)} gallery functions: median {median:.2f} s, max {seconds[-1]:.2f} s")
    for label, name, elapsed in sorted(rows, key=lambda row: -row[2])[:5]:
        print(f"  slowest: {name:32} {label:20} {elapsed:6.2f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks-only", action="store_true")
    parser.add_argument("--checks-only", action="store_true")
    parser.add_argument("--doctor-only", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    if args.doctor_only:
        time_doctor()
        return
    if not args.checks_only:
        time_notebooks()
    if not args.notebooks_only:
        time_checks()
        time_doctor()


if __name__ == "__main__":
    main()
