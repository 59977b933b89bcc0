"""Wall time and peak memory of `mlrig fleet check` over 50 repositories, --jobs 2 against 1.

Fixture, built in a temporary directory: a small git template with tags v1 and v2,
and 50 projects generated from v1 (so all 50 are behind). Two fleets:

- one template: all 50 projects share one template. `fleet check` lists its tags
  once per run (the per-process cache of `template_versions`), then reads 50
  answers files and runs one `git rev-parse` per project (is an update branch
  waiting?).
- 50 templates: each project has its own copy of the template, as a fleet built
  from several house templates would; one `git ls-remote` per project on top.

Each variant runs the CLI in a fresh subprocess, so every run starts with a cold
cache and pays interpreter start-up: the jobs=1 and jobs=2 runs are compared on
equal terms. Runs are interleaved (1, 2, 1, 2, ...) and the median is reported.
Peak memory is the ru_maxrss that wait4 reports for the CLI process, which
includes its waited-for children (git); it is a maximum, not a sum.

To show what dominates, the core `fleet_check` is also timed in-process (cache
cleared before every run) next to the start-up of `mlrig --version`.

    python benchmarks/bench_fleet.py [--runs N] [--repos N]
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from _common import BIN, ENV

from mlrig import new
from mlrig.commands.fleet import fleet_check
from mlrig.templates import template_versions

COPIER_YML = (
    "_subdirectory: project\n_answers_file: .copier-answers.yml\n_templates_suffix: .jinja\n"
    "project:\n  type: str\n  default: demo\n"
)
ANSWERS = "# Written by copier; do not edit.\n{{ _copier_answers|to_nice_yaml -}}\n"


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, env=ENV, check=True, capture_output=True)


def make_template(repo: Path) -> Path:
    project = repo / "project"
    project.mkdir(parents=True)
    (repo / "copier.yml").write_text(COPIER_YML)
    (project / "{{_copier_conf.answers_file}}.jinja").write_text(ANSWERS)
    (project / "README.md.jinja").write_text("# {{ project }}\n")
    git(repo, "init", "--quiet", "--initial-branch=main")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "v1")
    git(repo, "tag", "v1")
    return repo


def release_v2(repo: Path) -> None:
    (repo / "project" / "CONTRIBUTING.md").write_text("Run the tests.\n")
    git(repo, "add", "--all")
    git(repo, "commit", "--quiet", "-m", "v2")
    git(repo, "tag", "v2")


def make_fleet(root: Path, count: int, *, shared: bool) -> Path:
    """``count`` projects made from v1; returns the --from list file."""
    root.mkdir(parents=True)
    template = make_template(root / "template") if shared else None
    templates = []
    names = []
    for index in range(count):
        source = template or make_template(root / "templates" / f"t{index:02d}")
        name = f"repo{index:02d}"
        new(root / name, answers={"project": name}, template=str(source), ref="v1")
        templates.append(source)
        names.append(name)
    for source in set(templates):
        release_v2(source)
    listing = root / "repos.txt"
    listing.write_text("".join(f"{name}\n" for name in names))
    return listing


def run_cli(argv: list[str]) -> tuple[float, int, int]:
    """Wall seconds, exit code and peak RSS in KiB of one CLI run."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        argv,
        env=ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return elapsed, proc.returncode, usage.ru_maxrss


def in_process(listing: Path, jobs: int) -> float:
    from mlrig.commands.fleet import read_repo_list

    repos = read_repo_list(listing)
    template_versions.cache_clear()  # cold, as a fresh `mlrig fleet check` is
    start = time.perf_counter()
    result = fleet_check(repos, jobs=jobs)
    elapsed = time.perf_counter() - start
    assert result.counts()["behind"] == len(repos), result.counts()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--repos", type=int, default=50)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="mlrig-bench-fleet-"))
    mlrig = str(BIN / "mlrig")
    try:
        fleets = {
            "one template": make_fleet(work / "shared", args.repos, shared=True),
            f"{args.repos} templates": make_fleet(work / "own", args.repos, shared=False),
        }
        startup = [run_cli([mlrig, "--version"])[0] for _ in range(args.runs)]
        print(
            f"{args.repos} repositories, median of {args.runs} interleaved runs, "
            f"{os.cpu_count()} CPUs, python {sys.version.split()[0]}"
        )
        print(f"mlrig --version (start-up):  {statistics.median(startup) * 1000:7.1f} ms")
        for label, listing in fleets.items():
            cli: dict[int, list[tuple[float, int, int]]] = {1: [], 2: []}
            core: dict[int, list[float]] = {1: [], 2: []}
            for jobs in (1, 2):  # warm-up: page cache, bytecode
                run_cli([mlrig, "fleet", "check", "--jobs", str(jobs), "--from", str(listing)])
            for _ in range(args.runs):
                for jobs in (1, 2):
                    argv = [mlrig, "fleet", "check", "--jobs", str(jobs), "--from", str(listing)]
                    cli[jobs].append(run_cli(argv))
                    core[jobs].append(in_process(listing, jobs))
            codes = {code for runs in cli.values() for _, code, _ in runs}
            assert codes == {1}, f"fleet check should find every repository behind: {codes}"
            wall = {j: statistics.median(t for t, _, _ in cli[j]) for j in cli}
            rss = {j: max(r for _, _, r in cli[j]) / 1024 for j in cli}
            inner = {j: statistics.median(core[j]) for j in core}
            print(f"\n{label}:")
            for jobs in (1, 2):
                print(
                    f"  mlrig fleet check --jobs {jobs}: {wall[jobs] * 1000:7.1f} ms, "
                    f"peak RSS {rss[jobs]:5.1f} MiB; core alone {inner[jobs] * 1000:6.1f} ms "
                    f"({inner[jobs] / args.repos * 1000:4.1f} ms a repository)"
                )
            print(
                f"  speed-up --jobs 2 / --jobs 1: CLI {wall[1] / wall[2]:4.2f}x (target >= 1.7), "
                f"core alone {inner[1] / inner[2]:4.2f}x"
            )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"\npeak RSS of this benchmark process (in-process runs): {own:.1f} MiB")


if __name__ == "__main__":
    main()
