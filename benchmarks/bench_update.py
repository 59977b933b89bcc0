"""Wall time of `mlrig update` against plain `copier update`, and of `mlrig check`.

Fixture, built in a temporary directory: a git template repository holding the
built-in template's source as v1 and a v2 that changes a workflow and adds a file;
a project generated from v1. Measured side by side in one run (interleaved, median
of N; the project is reset with git between runs):

- plain `copier update` and `mlrig update` on the bare project;
- `mlrig update` on the same project plus 10,000 tracked small files and 2 GB of
  gitignored `.venv/` and `data/` (never to be copied or scanned);
- `mlrig check` on the bare project (on its own, as a pre-commit hook runs it).

    python benchmarks/bench_update.py [--runs N]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BIN, ENV

from mlrig import builtin_template, new, resolve_answers


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def make_template(root: Path) -> Path:
    repo = root / "template"
    shutil.copytree(builtin_template(), repo)
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "v1")
    git(repo, "tag", "v1")
    workflows = next((repo / "project").glob("*.github*")) / "workflows"
    ci = workflows / "ci.yml.jinja"
    ci.write_text(ci.read_text().replace("timeout-minutes: 10", "timeout-minutes: 15"))
    (repo / "project" / "CONTRIBUTING.md").write_text("# Contributing\n\nRun the tests.\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "v2")
    git(repo, "tag", "v2")
    return repo


def make_project(template: Path, dest: Path) -> Path:
    answers = resolve_answers({"ci_provider": "both"}, project_default=dest.name, use_defaults=True)
    new(dest, answers=answers, template=template, ref="v1")
    return dest


def add_weight(project: Path) -> None:
    """10,000 tracked small files, and 2 GB of gitignored .venv/ and data/."""
    for index in range(10_000):
        folder = project / "notebooks" / f"batch{index // 500:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"note{index:05d}.txt").write_text(f"note {index}\n")
    git(project, "add", "--all")
    git(project, "commit", "--quiet", "-m", "10,000 files")
    venv = project / ".venv" / "lib" / "site-packages"
    for index in range(5_000):
        pkg = venv / f"pkg{index // 100:03d}"
        pkg.mkdir(parents=True, exist_ok=True)
        (pkg / f"mod{index:05d}.py").write_text("x = 1\n" * 50)
    data = project / "data" / "raw"
    data.mkdir(parents=True)
    block = b"\0" * (1 << 20)
    for part in range(2):
        with (data / f"shard{part}.bin").open("wb") as handle:
            for _ in range(1024):
                handle.write(block)
    with (project / ".gitignore").open("a") as handle:
        handle.write("data/raw/\n")
    git(project, "commit", "--quiet", "-am", "ignore raw data")


def timed(argv: list[str], reset: Path | None) -> float:
    start = time.perf_counter()
    subprocess.run(argv, env=ENV, check=False, capture_output=True, stdin=subprocess.DEVNULL)
    elapsed = time.perf_counter() - start
    if reset is not None:
        git(reset, "reset", "--quiet", "--hard")
        git(reset, "clean", "--quiet", "-fd")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    work = Path(tempfile.mkdtemp(prefix="mlrig-bench-update-"))
    try:
        template = make_template(work)
        bare = make_project(template, work / "bare" / "bench-model")
        heavy = make_project(template, work / "heavy" / "bench-model")
        add_weight(heavy)
        mlrig, copier = str(BIN / "mlrig"), str(BIN / "copier")
        cases = {
            "copier update (bare)": (
                [copier, "update", "--quiet", "--defaults", "--skip-answered", str(bare)],
                bare,
            ),
            "mlrig update (bare)": ([mlrig, "update", str(bare)], bare),
            "mlrig update (10k files + 2 GB ignored)": ([mlrig, "update", str(heavy)], heavy),
        }
        times: dict[str, list[float]] = {name: [] for name in cases}
        for argv, reset in cases.values():  # warm-up
            timed(argv, reset)
        for _ in range(runs):
            for name, (argv, reset) in cases.items():
                times[name].append(timed(argv, reset))
        # On its own, after the updates: a pre-commit hook runs it alone.
        check_times = [timed([mlrig, "check", str(bare)], None) for _ in range(4 * runs)]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(f"median of {runs} interleaved runs, python {sys.version.split()[0]}")
    for name, median in medians.items():
        print(f"{name:<42} {median * 1000:8.1f} ms")
    copier_bare = medians["copier update (bare)"]
    mlrig_bare = medians["mlrig update (bare)"]
    ratio = mlrig_bare / copier_bare
    print(f"mlrig update / copier update (bare): {ratio:5.2f}x (target <= 1.15)")
    heavy_ratio = medians["mlrig update (10k files + 2 GB ignored)"] / mlrig_bare
    print(f"mlrig update heavy / bare:           {heavy_ratio:5.2f}x (target <= 1.5)")
    check_ms = statistics.median(check_times) * 1000
    fastest = min(check_times) * 1000
    print(
        f"mlrig check:                         {check_ms:5.0f} ms median of {len(check_times)}, "
        f"{fastest:.0f} ms fastest (target <= 150)"
    )


if __name__ == "__main__":
    main()
