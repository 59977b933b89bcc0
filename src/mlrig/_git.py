"""The few git calls mlrig makes, with errors a user can act on."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

from mlrig.errors import EnvironmentProblem, InvalidInputError

# Used only when the user has no identity configured, so that a commit never fails.
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlrig",
    "GIT_AUTHOR_EMAIL": "mlrig@localhost",
    "GIT_COMMITTER_NAME": "mlrig",
    "GIT_COMMITTER_EMAIL": "mlrig@localhost",
}


def find_git() -> str:
    """Path of the git executable; :class:`EnvironmentProblem` when git is missing."""
    git_exe = shutil.which("git")
    if git_exe is None:
        raise EnvironmentProblem(
            "git is not installed; install git (or pass --no-git to mlrig new)"
        )
    return git_exe


def run_git(repo: Path, *args: str, check: bool = True, env: dict[str, str] | None = None) -> str:
    """Run ``git ARGS`` in ``repo`` and return its stripped stdout.

    With ``check``, a failure raises :class:`EnvironmentProblem` quoting git's last line.
    Signing is off: a GPG prompt must never block mlrig.
    """
    proc = subprocess.run(
        [find_git(), "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        capture_output=True,
        text=True,
        env=env,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    if check and proc.returncode != 0:
        detail = proc.stderr.strip().splitlines()
        raise EnvironmentProblem(
            f"git {args[0]} failed in {repo}: {detail[-1] if detail else 'no output'}"
        )
    return proc.stdout.strip()


def commit_all(repo: Path, message: str) -> str:
    """Stage everything in ``repo``, commit it without hooks, and return the commit's SHA."""
    env = dict(os.environ)
    if not run_git(repo, "config", "--get", "user.email", check=False):
        env.update(_FALLBACK_IDENTITY)
    run_git(repo, "add", "--all")
    # --no-verify: user-wide hooks must not block or alter mlrig's own commits.
    run_git(repo, "commit", "--quiet", "--no-verify", "--message", message, env=env)
    return run_git(repo, "rev-parse", "HEAD")


def toplevel(project: Path, why: str) -> Path:
    """The top folder of the git work tree holding ``project``, which has a commit.

    ``why`` says in the error why the command needs git, e.g. "mlrig update merges
    template changes with git". Raises :class:`InvalidInputError` otherwise.
    """
    top = run_git(project, "rev-parse", "--show-toplevel", check=False)
    if not top:
        raise InvalidInputError(
            f"{project} is not in a git repository; {why}: run "
            "`git init && git add -A && git commit -m init` first"
        )
    if not run_git(project, "rev-parse", "--verify", "--quiet", "HEAD", check=False):
        raise InvalidInputError(f"{project} has no commit yet; commit the project first")
    return Path(top)
