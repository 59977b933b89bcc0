"""Wall time of `mlrig template test` on the built-in template, against plain copier.

Runs the core function on the built-in template's source, over every combination
(--all) or a deterministic sample, once per --jobs value, and prints the
enumeration size, the time per rendered combination and the total. The
reference is plain ``copier copy --defaults`` run once per combination, one after
the other, on --copier of the same combinations (a sample, since it takes
about a second each): the ratio compares the time per combination of rendering
and validating against rendering alone. Prints figures; asserts nothing. The
machine's load average is printed too: on a shared machine the wall times move
with it, so the CPU time (this process and its children) is printed beside them.

    python benchmarks/bench_template_test.py [--sample N | --all] [--jobs 1 2 ...] [--copier N]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import subprocess
import tempfile
import time
from pathlib import Path

from _common import BIN, ENV

from mlrig.commands.template_test import Combination, template_test
from mlrig.templates import builtin_template


def _cpu() -> float:
    """CPU seconds used so far by this process and its finished children."""
    own, children = (
        resource.getrusage(resource.RUSAGE_SELF),
        resource.getrusage(resource.RUSAGE_CHILDREN),
    )
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _copier_copy(combo: Combination, dest: Path) -> None:
    # A data file keeps the answers typed (`--data docker=false` would be the text "false").
    data = dest.parent / "data.json"
    data.parent.mkdir(parents=True)
    data.write_text(json.dumps(dict(combo.varied)), encoding="utf-8")
    argv = [str(BIN / "copier"), "copy", "--quiet", "--defaults", "--data-file", str(data)]
    subprocess.run([*argv, str(builtin_template()), str(dest)], env=ENV, check=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=24)
    parser.add_argument("--all", action="store_true", help="render every combination")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, nargs="+", default=[2])
    parser.add_argument("--copier", type=int, default=12, help="combinations plain copier renders")
    args = parser.parse_args()
    sample = None if args.all else args.sample
    print(f"cpus {os.cpu_count()}, load average before {os.getloadavg()[0]:.1f}")
    each: dict[int, float] = {}
    rendered: list[Combination] = []
    for jobs in args.jobs:
        start, cpu = time.perf_counter(), _cpu()
        result = template_test(builtin_template(), sample=sample, seed=args.seed, jobs=jobs)
        wall, cpu = time.perf_counter() - start, _cpu() - cpu
        rendered = [c for c in result.combinations if c.status != "skipped"]
        each[jobs] = wall / len(rendered)
        print(
            f"jobs {jobs}: {result.enumerated} combinations enumerated, {len(rendered)} rendered "
            f"({result.count('fail')} failed) in {wall:.1f} s = {each[jobs]:.2f} s each; "
            f"CPU {cpu:.0f} s = {cpu / len(rendered):.2f} s each; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
    reference = random.Random(args.seed).sample(rendered, min(args.copier, len(rendered)))
    with tempfile.TemporaryDirectory() as tmp:
        start, cpu = time.perf_counter(), _cpu()
        for number, combo in enumerate(reference):
            # A default derives the project name from the folder, as in template test.
            _copier_copy(combo, Path(tmp) / str(number) / "project")
        copier_each = (time.perf_counter() - start) / len(reference)
        copier_cpu = (_cpu() - cpu) / len(reference)
    print(
        f"plain copier copy: {copier_each:.2f} s (CPU {copier_cpu:.2f} s) per combination "
        f"({len(reference)} of the same "
        f"combinations, one after the other) = {copier_each * len(rendered):.0f} s for all "
        f"{len(rendered)}; load average {os.getloadavg()[0]:.1f}"
    )
    for jobs, seconds in each.items():
        print(f"ratio template test (jobs {jobs}) / plain copier copy: {seconds / copier_each:.2f}")


if __name__ == "__main__":
    main()
