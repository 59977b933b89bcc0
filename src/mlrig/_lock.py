"""The dependency lock of a new starter project: the one home of uv for locking.

mlrig does not depend on uv: a 20 MB platform wheel would be installed for one
call per ``mlrig new``, and uv, the default package manager, is on the user's
machine anyway to install the project. mlrig uses the ``uv`` on ``PATH`` (or the one
installed beside mlrig's interpreter, e.g. by the ``uv`` wheel) and, without it or
without a reachable package index, writes no lock and says so.

uv projects get ``uv.lock`` (``uv lock``). pip projects get hashed requirement files
written by ``uv pip compile --universal --generate-hashes``, which plain
``pip install --require-hashes -r FILE`` installs: :data:`PIP_LOCK` holds the runtime
dependencies (what the Docker image installs) and :data:`PIP_DEV_LOCK` those plus the
``dev`` extra (what CI and a developer install).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "LOCKED_SINCE",
    "PIP_DEV_LOCK",
    "PIP_LOCK",
    "UV_LOCK",
    "Lock",
    "lock_commands",
    "lock_files",
    "write_lock",
]

UV_LOCK = "uv.lock"
PIP_LOCK = "requirements.lock"
PIP_DEV_LOCK = "requirements-dev.lock"
#: The first built-in template version whose pipelines install the lock (earlier ones
#: install from pyproject.toml, so an update to them needs none).
LOCKED_SINCE = "v0.4.0"
#: How long one locking command may take: a cold resolution of torch takes about a minute.
_TIMEOUT = 600


@dataclass(frozen=True)
class Lock:
    """What :func:`write_lock` did: the lock files written, or why there are none."""

    #: Relative paths of the lock files written; empty when there is no lock.
    files: tuple[str, ...]
    #: Why no lock was written, with the command to run; ``None`` when locked.
    problem: str | None = None


def lock_commands(package_manager: str, python_version: str, framework: str) -> list[list[str]]:
    """The commands, run in the project, that write (or refresh) its lock files.

    The generated README shows the same commands (a test keeps them in step).
    """
    if package_manager == "uv":
        return [["uv", "lock"]]
    common = ["--universal", "--generate-hashes", "--python-version", python_version]
    if framework == "pytorch":
        # PyPI's Linux torch wheel bundles CUDA (several GB): lock the CPU-only build.
        common += ["--torch-backend", "cpu"]
    return [
        ["uv", "pip", "compile", "pyproject.toml", *common, "-o", PIP_LOCK],
        ["uv", "pip", "compile", "pyproject.toml", "--extra", "dev", *common, "-o", PIP_DEV_LOCK],
    ]


def lock_files(package_manager: str) -> tuple[str, ...]:
    """The lock files (relative paths) of a starter project using ``package_manager``."""
    return (UV_LOCK,) if package_manager == "uv" else (PIP_LOCK, PIP_DEV_LOCK)


def write_lock(project: Path, package_manager: str, python_version: str, framework: str) -> Lock:
    """Write the lock files of the starter project in ``project``.

    Never raises for a missing uv, an unreachable index or a failed resolution: the
    result's ``problem`` then says what went wrong and the one command to run, and
    no lock file is left behind (a pip project gets both files or neither).
    """
    commands = lock_commands(package_manager, python_version, framework)
    shown = " && ".join(" ".join(argv) for argv in commands)
    outputs = lock_files(package_manager)
    todo = f"run `{shown}` in the project and commit {' and '.join(outputs)}"
    uv = find_uv()
    if uv is None:
        return Lock((), f"no lock file: uv was not found (https://docs.astral.sh/uv/); {todo}")
    for argv in commands:
        problem = _run(project, [uv, *argv[1:], *_interpreter(argv, python_version)])
        if problem is not None:
            for name in outputs:
                (project / name).unlink(missing_ok=True)
            return Lock((), f"no lock file: `{' '.join(argv)}` failed ({problem}); {todo}")
    return Lock(outputs)


def find_uv() -> str | None:
    """uv on ``PATH``, else the one installed beside this interpreter (the one rule for
    where mlrig finds uv, for the project lock and the sync pin alike)."""
    found = shutil.which("uv")
    if found is not None:
        return found
    beside = Path(sysconfig.get_path("scripts")) / ("uv.exe" if sys.platform == "win32" else "uv")
    return str(beside) if beside.is_file() else None


def _interpreter(argv: list[str], python_version: str) -> list[str]:
    """``--python`` for ``uv lock``: this interpreter when it satisfies the project.

    uv lock needs an interpreter that ``requires-python`` admits; taking this one
    spares a lookup (or a download) of another. ``uv pip compile`` gets its target
    version from ``--python-version`` instead.
    """
    if argv[:2] != ["uv", "lock"]:
        return []
    major, minor = (int(part) for part in python_version.split("."))
    if sys.version_info[:2] >= (major, minor):
        return ["--python", sys.executable]
    return ["--python", python_version]


def _run(project: Path, argv: list[str]) -> str | None:
    """Run one locking command; ``None`` on success, else uv's reason in one line."""
    try:
        proc = subprocess.run(
            argv,
            cwd=project,
            capture_output=True,
            text=True,
            check=False,
            stdin=subprocess.DEVNULL,
            timeout=_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        return f"no answer within {_TIMEOUT} seconds"
    except OSError as exc:
        return exc.strerror or type(exc).__name__
    if proc.returncode == 0:
        return None
    return _reason(proc.stderr) or f"exit code {proc.returncode}"


def _reason(stderr: str) -> str:
    """The gist of uv's error output: its hint when it gives one, else its first line."""
    lines = [line.strip() for line in stderr.splitlines() if line.strip()]
    for line in lines:
        if line.startswith("hint:"):
            return line.removeprefix("hint:").strip().rstrip(".")
    errors = [line for line in lines if not line.startswith(("warning:", "Using ", "Resolved "))]
    if not errors:
        return ""
    first = errors[0].removeprefix("error:").lstrip("\u00d7 ").strip().rstrip(".")
    # uv's first line can be as vague as "Request failed after 3 retries": add what failed.
    cause = next((line for line in errors[1:] if line.startswith("cause:")), None)
    if cause is None:
        return first
    return f"{first}: {cause.removeprefix('cause:').strip().rstrip('.')}"
