"""Wall time of `mlrig doctor` on a big repository with heavy gitignored folders.

Fixture, built in a temporary directory: a git repository with 10,000 tracked
small Python files (in 100 packages), a GitHub workflow, a Dockerfile, tests and
a Makefile, all committed; and, gitignored, a ``.venv/`` with 20,000 files and a
4 GB sparse file under ``data/cache/`` (never to be entered or read). Runs the
installed CLI (``mlrig doctor --json``, a subprocess, as users run it) N times and
prints the median and minimum wall time and the CPU time of the whole process
tree (less sensitive to other load on a shared machine), beside the CLI's bare
start-up (``mlrig --version``) for reference.

    python benchmarks/bench_doctor.py [--runs N]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import BIN, ENV, git

WORKFLOW = """\
name: CI
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    timeout-minutes: 10
    steps:
      - uses: actions/checkout@v4
        with:
          persist-credentials: false
      - run: pip install -e . && ruff check . && pytest -q
"""


def build(root: Path) -> Path:
    """The fixture repository described in the module docstring."""
    repo = root / "big"
    repo.mkdir()
    git(repo, "init", "--quiet", "--initial-branch=main")
    for package in range(100):
        folder = repo / "src" / f"pkg{package:03d}"
        folder.mkdir(parents=True)
        for module in range(100):
            (folder / f"mod{module:03d}.py").write_text(
                f'"""Module {module}."""\n\nTOKEN_NAME = "API_TOKEN"\n\n\n'
                f"def value_{module}() -> int:\n    return {module}\n"
            )
    files = {
        ".github/workflows/ci.yml": WORKFLOW,
        ".gitignore": ".venv/\ndata/cache/\n",
        "Dockerfile": 'FROM python:3.12-slim\nUSER 10001\nCMD ["python"]\n',
        "Makefile": "test:\n\tpytest -q\n",
        "pyproject.toml": '[project]\nname = "big"\nversion = "1"\ndependencies = ["numpy>=1"]\n',
        "tests/test_values.py": "def test_value():\n    assert True\n",
    }
    for name, text in files.items():
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "big")
    # Ignored: a secret here would be reported if doctor ever read these files.
    for dist in range(200):
        site = repo / ".venv" / "lib" / f"dist{dist:03d}"
        site.mkdir(parents=True)
        for module in range(100):
            (site / f"m{module}.py").write_text('password = "hunter2-s3cr3t-v4lue"\n')
    cache = repo / "data" / "cache"
    cache.mkdir(parents=True)
    with (cache / "features.bin").open("wb") as handle:
        handle.truncate(4 * 1024**3)
    return repo


def timed(argv: list[str], cwd: Path) -> tuple[float, float]:
    """Wall time, and CPU time (user + system) of the process and all its children."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in {0, 1}:
        raise SystemExit(f"{argv} failed ({proc.returncode}): {proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return elapsed, cpu


def report(label: str, samples: list[tuple[float, float]]) -> None:
    wall = [w for w, _ in samples]
    cpu = [c for _, c in samples]
    print(
        f"{label:<20} wall median {statistics.median(wall):.3f} s  min {min(wall):.3f} s"
        f"   CPU (user+sys, all processes) median {statistics.median(cpu):.3f} s"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    mlrig = str(BIN / "mlrig")
    with tempfile.TemporaryDirectory(prefix="bench-doctor-") as tmp:
        repo = build(Path(tmp))
        first = subprocess.run(
            [mlrig, "doctor", "--json"], cwd=repo, env=ENV, capture_output=True, text=True
        )
        data = json.loads(first.stdout)
        print(
            "fixture: 10,006 tracked files, "
            f"python_files={data['facts']['python_files']}, "
            f"secrets={len(data['facts']['secrets'])}, "
            f"findings={[f['id'] for f in data['findings']]}"
        )
        startup = [timed([mlrig, "--version"], repo) for _ in range(args.runs)]
        runs = [timed([mlrig, "doctor", "--json"], repo) for _ in range(args.runs)]
    report("mlrig --version", startup)
    report("mlrig doctor --json", runs)
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(
        f"({args.runs} runs each, wall time, CLI subprocess; load average {load} "
        f"on {os.cpu_count()} CPUs)"
    )


if __name__ == "__main__":
    main()
