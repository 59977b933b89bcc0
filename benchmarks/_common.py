"""What every benchmark script shares: the tools beside this Python, and git's env."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The directory of this Python's console scripts (mlrig, copier, validators).
BIN = Path(sys.executable).parent
#: The environment commands run in: a fixed git identity, bytecode caches on.
ENV = {
    **os.environ,
    "GIT_AUTHOR_NAME": "bench",
    "GIT_AUTHOR_EMAIL": "bench@example.invalid",
    "GIT_COMMITTER_NAME": "bench",
    "GIT_COMMITTER_EMAIL": "bench@example.invalid",
}
ENV.pop("PYTHONDONTWRITEBYTECODE", None)  # measure with bytecode caches, as users run


def git(repo: Path, *args: str) -> None:
    """``git ARGS`` in ``repo`` with :data:`ENV`, unsigned; raises when git fails."""
    subprocess.run(["git", "-c", "commit.gpgsign=false", *args], cwd=repo, env=ENV, check=True)
