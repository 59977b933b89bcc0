"""Wall time of a generated project's GitHub pipeline run locally by act, cold and warm.

The project is the default one (GitHub Actions, uv, scikit-learn, Docker image) on this
interpreter's Python. The jobs that need no Docker engine run as GitHub runs them:
``lint``, ``test`` and ``train`` (which needs ``data``) in parallel, one act process each, in host
mode with the offline action stubs of tests/act_stubs. It is the harness of
tests/test_e2e_github.py; the docker job is never run (no Docker engine).

- cold: an empty uv cache, so every package comes from the registry;
- warm: the same cache again (``--warm-runs`` times; the median is shown).

Method. Wall time is measured around the three act processes, from start to the last
exit. Step durations come from act's JSON log (``--json``): each step-result event
carries ``executionTime`` in nanoseconds. "Installing dependencies" is the steps named
"Install dependencies" (``uv sync --extra dev``, one per job). Two shares are printed:
of runner time (the sum of every job's step durations, what a CI bill counts) and of
the critical path's wall time (the longer of test alone and data then train: what a
developer waits for).

    python benchmarks/bench_pipeline_github.py [--warm-runs N]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.test_e2e_github import ActRun, generate, run_pipeline

INSTALL_STEP = "Install dependencies"


@dataclass
class Figures:
    """The timings of one pipeline run, in seconds."""

    wall: float
    jobs: dict[str, float]  # job -> sum of its step durations
    installs: dict[str, float]  # job -> its install step's duration

    @property
    def runner(self) -> float:
        return sum(self.jobs.values())

    @property
    def install(self) -> float:
        return sum(self.installs.values())

    @property
    def critical_install(self) -> float:
        chains = (("test",), ("data", "train"))
        longest = max(chains, key=lambda chain: sum(self.jobs.get(job, 0.0) for job in chain))
        return sum(self.installs.get(job, 0.0) for job in longest)


def measure(project: Path, workdir: Path, cache: Path) -> Figures:
    start = time.monotonic()
    runs = run_pipeline(project, workdir, cache)
    wall = time.monotonic() - start
    jobs: dict[str, float] = {}
    installs: dict[str, float] = {}
    for run in runs.values():
        _require_success(run)
        for step in run.steps():
            jobs[step.job] = jobs.get(step.job, 0.0) + step.seconds
            if step.name == INSTALL_STEP:
                installs[step.job] = installs.get(step.job, 0.0) + step.seconds
    return Figures(wall, jobs, installs)


def _require_success(run: ActRun) -> None:
    if run.returncode != 0 or set(run.job_results.values()) != {"success"}:
        sys.exit(f"act -j {run.job} failed:\n{run.log()}")


def report(label: str, figures: Figures) -> None:
    print(
        f"{label:<6} wall {figures.wall:6.1f} s | runner {figures.runner:6.1f} s, "
        f"installing {figures.install:5.1f} s ({figures.install / figures.runner:4.0%}) | "
        f"critical path installing {figures.critical_install:5.1f} s "
        f"({figures.critical_install / figures.wall:4.0%} of wall)"
    )
    for job in ("lint", "test", "data", "train"):
        print(
            f"         {job:<6} {figures.jobs.get(job, 0.0):5.1f} s, "
            f"of which installing {figures.installs.get(job, 0.0):5.1f} s"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--warm-runs", type=int, default=1, help="warm runs (median shown)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pipeline-") as tmp:
        root = Path(tmp)
        project = generate(root / "demo-model")
        cache = root / "package-cache"
        cache.mkdir()
        print(f"act, host mode; Python {sys.version.split()[0]}; jobs lint | test | data -> train")
        report("cold", measure(project, root / "cold", cache))
        warm = [measure(project, root / f"warm-{i}", cache) for i in range(args.warm_runs)]
        median = sorted(warm, key=lambda f: f.wall)[len(warm) // 2]
        label = "warm" if len(warm) == 1 else f"warm~{len(warm)}"
        report(label, median)
        if len(warm) > 1:
            walls = ", ".join(f"{f.wall:.1f}" for f in warm)
            print(f"         warm walls: {walls} s")


if __name__ == "__main__":
    main()
