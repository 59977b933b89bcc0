"""Wall time of `mlrig --help` and of `mlrig new --defaults` against plain `copier copy`.

Both generators render the same built-in template (the newest release in its git
bundle) with its defaults, measured side by side in one run (interleaved, median
of N runs). Prints figures; asserts nothing.

    python benchmarks/bench_new.py [--runs N]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from mlrig.templates import builtin_bundle

BIN = Path(sys.executable).parent
ENV = dict(os.environ)
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with bytecode caches, as users run


def _timed(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stdin=subprocess.DEVNULL, env=ENV)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=9)
    runs = parser.parse_args().runs
    # mlrig new renders the newest release from the bundle; copier gets the same source.
    template = str(builtin_bundle())
    work = Path(tempfile.mkdtemp(prefix="mlrig-bench-"))
    counter = iter(range(10**6))

    def dest() -> str:
        return str(work / f"p{next(counter)}" / "bench-model")

    cases: dict[str, Callable[[], list[str]]] = {
        "mlrig --help": lambda: [str(BIN / "mlrig"), "--help"],
        "copier copy --defaults": lambda: [
            str(BIN / "copier"),
            "copy",
            "--quiet",
            "--defaults",
            template,
            dest(),
        ],
        "mlrig new --defaults --no-git": lambda: [
            str(BIN / "mlrig"),
            "new",
            dest(),
            "--defaults",
            "--no-git",
        ],
        "mlrig new --defaults (with git init+commit)": lambda: [
            str(BIN / "mlrig"),
            "new",
            dest(),
            "--defaults",
        ],
    }
    times: dict[str, list[float]] = {name: [] for name in cases}
    try:
        for make in cases.values():  # warm-up: bytecode caches, page cache
            _timed(make())
        for _ in range(runs):
            for name, make in cases.items():
                times[name].append(_timed(make()))
    finally:
        shutil.rmtree(work, ignore_errors=True)

    medians = {name: statistics.median(values) for name, values in times.items()}
    base = medians["copier copy --defaults"]
    print(f"median of {runs} interleaved runs, python {sys.version.split()[0]}")
    for name, median in medians.items():
        ratio = "" if name == "mlrig --help" else f"  {median / base:5.2f}x copier"
        print(f"{name:<45} {median * 1000:8.1f} ms{ratio}")
    print("targets: mlrig --help <= 150 ms; mlrig new <= 1.15x copier copy")


if __name__ == "__main__":
    main()
