"""Wall time of `mlrig adopt` on a 500-file repository, against a plain `copier copy`.

Fixture, built in a temporary directory: a git repository with 500 tracked files
(a src-layout package of 480 small modules in 24 subpackages, tests, a pyproject,
a Makefile with lint/test targets and a GitHub workflow), all committed. Each run
adopts a fresh clone of it with the installed CLI (``mlrig adopt``, a subprocess, as
users run it); the reference is ``copier copy`` of the built-in template (the same
bundle, newest tag, defaults) into an empty directory, also a subprocess. Prints the
median and minimum wall time of N runs of each, and their ratio (the issue's budget
for adopt is 3 s).

    python benchmarks/bench_adopt.py [--runs N]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

from _common import BIN, ENV, git

from mlrig.templates import builtin_bundle

WORKFLOW = """\
name: CI
on: [push, pull_request]
permissions:
  contents: read
jobs:
  test:
    runs-on: ubuntu-latest
    steps:
      - uses: actions/checkout@v4
      - uses: actions/setup-python@v5
        with:
          python-version: "3.11"
      - name: Install
        run: |
          python -m pip install --upgrade pip
          python -m pip install -e ".[dev]"
      - run: make lint
      - run: make test
"""
TRACKED = 500


def build(root: Path) -> Path:
    """The fixture repository described in the module docstring."""
    repo = root / "big"
    files = {
        ".github/workflows/ci.yml": WORKFLOW,
        ".gitignore": ".venv/\ndata/\n",
        "Makefile": "lint:\n\truff check src tests\n\ntest:\n\tpython -m pytest -q\n",
        "pyproject.toml": (
            '[build-system]\nrequires = ["setuptools>=68"]\n'
            'build-backend = "setuptools.build_meta"\n\n'
            '[project]\nname = "big"\nversion = "1.0"\nrequires-python = ">=3.11"\n'
            '[project.optional-dependencies]\ndev = ["pytest", "ruff"]\n'
        ),
        "README.md": "# big\n",
        "src/big/__init__.py": "",
    }
    for number in range(10):
        files[f"tests/test_part{number}.py"] = f"def test_{number}():\n    assert {number} >= 0\n"
    package = 0
    while len(files) < TRACKED:
        for module in range(20):
            if len(files) >= TRACKED:
                break
            files[f"src/big/sub{package:02d}/mod{module:02d}.py"] = (
                f'"""Module {module} of subpackage {package}."""\n\n\n'
                f"def value() -> int:\n    return {module}\n"
            )
        files.setdefault(f"src/big/sub{package:02d}/__init__.py", "")
        package += 1
    for name, text in list(files.items())[:TRACKED]:
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        (repo / name).write_text(text)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "big")
    return repo


def timed(argv: list[str], cwd: Path) -> float:
    start = time.perf_counter()
    proc = subprocess.run(argv, cwd=cwd, env=ENV, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - start
    if proc.returncode not in (0, 1):
        raise SystemExit(f"{' '.join(argv)} failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs

    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        source = build(root)
        tracked = subprocess.run(
            ["git", "ls-files"], cwd=source, capture_output=True, text=True, check=True
        ).stdout.count("\n")
        adopt_times, copy_times = [], []
        for run in range(runs):
            clone = root / f"adopt-{run}"
            git(root, "clone", "--quiet", str(source), str(clone))
            adopt_times.append(timed([str(BIN / "mlrig"), "adopt", str(clone)], root))
            target = root / f"copy-{run}"
            copy_times.append(
                timed(
                    [
                        str(BIN / "copier"),
                        "copy",
                        "--quiet",
                        "--defaults",
                        "--data",
                        "project_name=big",
                        str(builtin_bundle()),
                        str(target),
                    ],
                    root,
                )
            )
    adopt, copy = statistics.median(adopt_times), statistics.median(copy_times)
    print(f"repository: {tracked} tracked files; {runs} runs each")
    print(f"mlrig adopt : median {adopt:.2f} s, min {min(adopt_times):.2f} s (budget 3 s)")
    print(f"copier copy : median {copy:.2f} s, min {min(copy_times):.2f} s (built-in template)")
    print(f"ratio adopt / copier copy: {adopt / copy:.2f}")


if __name__ == "__main__":
    main()
