"""Wall time of `mlrig template test` on the built-in template.

Runs the core function on the built-in template's source with a deterministic
sample (or every combination with --all), once per --jobs value, and prints the
enumeration size, the time per rendered combination and the total. Prints
figures; asserts nothing. The machine's load average is printed too: on a
shared machine the figures move with it.

    python benchmarks/bench_template_test.py [--sample N | --all] [--jobs 1 2 ...]
"""

from __future__ import annotations

import argparse
import os
import time

from mlrig.commands.template_test import template_test
from mlrig.templates import builtin_template


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sample", type=int, default=12)
    parser.add_argument("--all", action="store_true", help="render every combination")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    args = parser.parse_args()
    sample = None if args.all else args.sample
    print(f"cpus {os.cpu_count()}, load average before {os.getloadavg()[0]:.1f}")
    for jobs in args.jobs:
        start = time.perf_counter()
        result = template_test(builtin_template(), sample=sample, seed=args.seed, jobs=jobs)
        wall = time.perf_counter() - start
        rendered = result.count("pass") + result.count("fail")
        print(
            f"jobs {jobs}: {result.enumerated} combinations enumerated, {rendered} rendered "
            f"({result.count('fail')} failed) in {wall:.1f} s = {wall / rendered:.2f} s each; "
            f"load average {os.getloadavg()[0]:.1f}"
        )


if __name__ == "__main__":
    main()
