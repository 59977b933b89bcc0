"""The template renders clean for a sample of its answer combinations.

`mlrig template test` renders each combination with copier and runs mlrig's
validators on it. `--ref HEAD` tests the checked-out commit, uncommitted changes
included, rather than the newest version tag. Set MLRIG_SAMPLE to test more
combinations, or to `all` for every one; a release should pass them all.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_answer_combinations_render_clean(tmp_path: Path) -> None:
    sample = os.environ.get("MLRIG_SAMPLE", "4")
    report = tmp_path / "report.json"
    args = [sys.executable, "-m", "mlrig", "template", "test", str(ROOT)]
    args += ["--ref", "HEAD", "--report", str(report)]
    if sample != "all":
        args += ["--sample", sample]
    proc = subprocess.run(args, capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    assert summary["fail"] == 0
    assert summary["pass"] >= 1
