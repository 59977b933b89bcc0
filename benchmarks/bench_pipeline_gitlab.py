"""Wall time of a generated project's GitLab pipeline run locally by gitlab-ci-local, cold and warm.

The project is the default one with ``ci_provider=gitlab`` (uv, scikit-learn, Docker
image) on this interpreter's Python. The jobs that need no Docker engine (lint, test, data,
train; docker-build needs one) run as tests/test_e2e_gitlab.py runs them, with its
harness: ``gitlab-ci-local --force-shell-executor --shell-isolation --concurrency 1``,
each job in its own copy of the repository, one at a time, ``python`` from a throwaway
virtual environment.

- cold: an empty dependency cache (``UV_CACHE_DIR``), so every package comes from the
  registry;
- warm: the same cache again (``--warm-runs`` times; the median is shown too).

Every run starts from a fresh clone of the project and a fresh throwaway venv, so only
the cache carries over. Note that each job ends with ``uv cache prune --ci`` (as the
template's after_script does on GitLab), which drops the pre-built wheels from the
cache: a warm job still downloads them, and saves only the resolution metadata.

Method. Wall time is measured around the gitlab-ci-local process. Per-job figures come
from its ``--timestamps`` output, where every line carries the time since its job
started: a job's time is its "finished in" stamp; installing dependencies is the job's
before_script, from the stamp of its first command (``python -m pip install uv``) to
the stamp of its first script command: ``python -m pip install uv`` (shown apart; in
this harness only the first job downloads uv, as the jobs share the throwaway venv,
while on GitLab every job does) and ``uv sync --extra dev``. The commands are read from
the expanded configuration gitlab-ci-local writes. The after_script (``uv cache prune
--ci``) is shown apart. gitlab-ci-local prints stamps of 10 s and more in whole
seconds. The install share is given of runner time (the jobs' summed time, what a CI
bill counts) and of wall time (the jobs run one after another here; on GitLab, lint and
test run side by side).

    python benchmarks/bench_pipeline_gitlab.py [--warm-runs N]
"""

from __future__ import annotations

import argparse
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.templaterepo import git
from tests.test_e2e_gitlab import (
    GITLAB_CI_LOCAL,
    LOCAL_JOBS,
    GitlabCiLocal,
    PipelineRun,
    generate_project,
    jobs_venv,
)

# "[05:02:50  1.11 s] lint  $ uv sync --extra dev": wall clock, time since the job started.
_STAMPED = re.compile(r"^\[\d\d:\d\d:\d\d +([\d.]+) ?(ms|s|min|h)\] (\S+) +(.*)$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1.0, "min": 60.0, "h": 3600.0}


@dataclass
class Job:
    """One job's timings, in seconds."""

    total: float
    install: float  # the whole before_script
    bootstrap: float  # its first command: installing the package manager
    after_script: float


@dataclass
class Figures:
    """The timings of one pipeline run, in seconds."""

    wall: float
    jobs: dict[str, Job]

    @property
    def runner(self) -> float:
        return sum(job.total for job in self.jobs.values())

    @property
    def install(self) -> float:
        return sum(job.install for job in self.jobs.values())

    @property
    def bootstrap(self) -> float:
        return sum(job.bootstrap for job in self.jobs.values())

    @property
    def after_script(self) -> float:
        return sum(job.after_script for job in self.jobs.values())


def _stamps(output: str, job: str) -> list[tuple[float, str]]:
    """(seconds since the job started, text) of each stamped line of ``job``."""
    stamps = []
    for line in output.splitlines():
        match = _STAMPED.match(line)
        if match and match[3] == job:
            stamps.append((float(match[1]) * _UNIT_SECONDS[match[2]], match[4]))
    return stamps


def _first(stamps: list[tuple[float, str]], prefix: str) -> float:
    found = [seconds for seconds, text in stamps if text.startswith(prefix)]
    if not found:
        sys.exit(f"no line starting with {prefix!r} in the timestamped output")
    return found[0]


def _job_figures(run: PipelineRun, name: str, config: dict[str, object]) -> Job:
    stamps = _stamps(run.output, name)
    before, script = config["before_script"], config["script"]
    if not isinstance(before, list) or not isinstance(script, list) or len(before) < 2:
        sys.exit(f"{name}: expected a before_script of two or more commands and a script")
    install_start = _first(stamps, f"$ {before[0]}")
    bootstrap_end = _first(stamps, f"$ {before[1]}")
    install_end = _first(stamps, f"$ {str(script[0]).splitlines()[0]}")
    after = _first(stamps, "Running after script")
    total = _first(stamps, "finished in")
    return Job(
        total=total,
        install=install_end - install_start,
        bootstrap=bootstrap_end - install_start,
        after_script=total - after,
    )


def measure(gcl: GitlabCiLocal, source: Path, workdir: Path) -> Figures:
    """Run the local jobs once, in a fresh clone of ``source`` with a fresh throwaway venv."""
    workdir.mkdir()
    project = workdir / source.name
    git(workdir, "clone", "--quiet", str(source), str(project))
    git(project, "remote", "remove", "origin")
    venv_bin = jobs_venv(workdir / "jobs-venv")
    start = time.perf_counter()
    run = gcl.run(project, venv_bin, *LOCAL_JOBS)
    wall = time.perf_counter() - start
    if run.statuses != dict.fromkeys(LOCAL_JOBS, "PASS"):
        sys.exit(f"the pipeline failed:\n{run}")
    expanded = yaml.safe_load((project / ".gitlab-ci-local/expanded-gitlab-ci.yml").read_text())
    return Figures(wall, {name: _job_figures(run, name, expanded[name]) for name in LOCAL_JOBS})


def report(label: str, figures: Figures) -> None:
    jobs = ", ".join(f"{name} {job.total:.1f}" for name, job in figures.jobs.items())
    installs = ", ".join(f"{name} {job.install:.1f}" for name, job in figures.jobs.items())
    sync = figures.install - figures.bootstrap
    print(f"{label:<7} wall {figures.wall:.1f} s, jobs {figures.runner:.1f} s ({jobs})")
    print(
        f"{'':<7} installing dependencies {figures.install:.1f} s: "
        f"{figures.install / figures.runner:.0%} of job time, "
        f"{figures.install / figures.wall:.0%} of wall time ({installs})"
    )
    print(f"{'':<9} pip install uv {figures.bootstrap:.1f} s + uv sync --extra dev {sync:.1f} s")
    print(f"{'':<7} after_script (uv cache prune --ci) {figures.after_script:.1f} s")


def _version() -> str:
    out = subprocess.run(
        [str(GITLAB_CI_LOCAL), "--version"], capture_output=True, text=True, check=True
    )
    return out.stdout.strip()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--warm-runs", type=int, default=1)
    warm_runs = parser.parse_args().warm_runs
    if not GITLAB_CI_LOCAL.is_file():
        sys.exit(f"{GITLAB_CI_LOCAL} is missing: run `npm ci` in the repository root")

    work = Path(tempfile.mkdtemp(prefix="mlrig-bench-gitlab-"))
    try:
        # The pipeline installs exactly the lock: generate it, as mlrig new does.
        source = generate_project(work / "demo-model", {}, lock=True)
        (work / "home").mkdir()
        gcl = GitlabCiLocal(GITLAB_CI_LOCAL, home=work / "home", cache=work / "cache")
        print(
            f"gitlab-ci-local {_version()}, Python {sys.version.split()[0]}, default project with "
            f"ci_provider=gitlab; jobs {', '.join(LOCAL_JOBS)}, one at a time "
            "(docker-build needs a Docker engine)"
        )
        cold = measure(gcl, source, work / "cold")
        report("cold", cold)
        warm = [measure(gcl, source, work / f"warm-{i}") for i in range(warm_runs)]
        for i, figures in enumerate(warm, start=1):
            report(f"warm {i}" if warm_runs > 1 else "warm", figures)
    finally:
        shutil.rmtree(work, ignore_errors=True)

    if warm_runs > 1:
        wall = statistics.median(f.wall for f in warm)
        install = statistics.median(f.install for f in warm)
        print(f"warm median of {warm_runs}: wall {wall:.1f} s, installing {install:.1f} s")
    saved = cold.wall - statistics.median(f.wall for f in warm)
    print(f"a warm cache saves {saved:.1f} s of wall time ({saved / cold.wall:.0%})")


if __name__ == "__main__":
    main()
