"""Every git command mlrig runs, with errors a user can act on: the only module running git.

Each runs with :func:`git_env` (never prompting) and stdin closed or fed; results
are typed (:class:`GitResult`, paths). The checks commands share live here too: a
work tree's top folder, an operation in progress, uncommitted changes, and the
scratch worktrees of ``update`` and ``fleet update`` (whose ownership is :mod:`mlrig._scratch`'s).
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from mlrig._scratch import abandoned_in_temp, claim
from mlrig.errors import EnvironmentProblem, InvalidInputError

# Used only when the user has no identity configured, so that a commit never fails.
_FALLBACK_IDENTITY = {
    "GIT_AUTHOR_NAME": "mlrig",
    "GIT_AUTHOR_EMAIL": "mlrig@localhost",
    "GIT_COMMITTER_NAME": "mlrig",
    "GIT_COMMITTER_EMAIL": "mlrig@localhost",
}
_DUBIOUS = re.compile(r"detected dubious ownership in repository at '(.+)'")


def find_git() -> str:
    """Path of the git executable; :class:`EnvironmentProblem` when git is missing."""
    git_exe = shutil.which("git")
    if git_exe is None:
        raise EnvironmentProblem(
            "git is not installed; install git (or pass --no-git to mlrig new)"
        )
    return git_exe


# git must never wait for a person: mlrig runs in CI, in hooks and in fleets.
_NON_INTERACTIVE = {"GIT_TERMINAL_PROMPT": "0", "GCM_INTERACTIVE": "never"}


def git_env(extra: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment of every git mlrig runs: the user's, with ``extra``, never prompting.

    No password prompt (``GIT_TERMINAL_PROMPT``, Git Credential Manager), and ssh in
    batch mode unless the user set ``GIT_SSH_COMMAND`` themselves.
    """
    env = {**os.environ, **(extra or {}), **_NON_INTERACTIVE}
    env.setdefault("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
    return env


@dataclass(frozen=True)
class GitResult:
    """What one git command answered."""

    returncode: int
    #: stdout as git wrote it (contents, ``-z`` listings).
    stdout: bytes
    stderr: str

    @property
    def ok(self) -> bool:
        """Whether git exited with 0."""
        return self.returncode == 0

    @property
    def text(self) -> str:
        """stdout stripped; bytes that are not UTF-8 as surrogate escapes (:func:`os.fsdecode`)."""
        return self.stdout.decode("utf-8", "surrogateescape").strip()

    @property
    def last_error(self) -> str:
        """The last line git wrote to stderr, ``""`` when it wrote none."""
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


def git(
    repo: Path | None,
    *args: str,
    env: Mapping[str, str] | None = None,
    input: bytes | str | None = None,
) -> GitResult:
    """Run ``git ARGS`` in ``repo`` (any folder for ``ls-remote``) and say what it answered.

    A failure is the caller's to judge: only a missing git raises
    (:class:`EnvironmentProblem`). ``env`` adds to :func:`git_env`; ``input`` is
    written to git's stdin, which is empty otherwise. Signing is off: a GPG prompt
    must never block mlrig.
    """
    data = input.encode("utf-8", "surrogateescape") if isinstance(input, str) else input
    proc = subprocess.run(
        [find_git(), "-c", "commit.gpgsign=false", *args],
        cwd=repo,
        input=data,
        capture_output=True,
        env=git_env(env),
        check=False,
        stdin=subprocess.DEVNULL if data is None else None,
    )
    return GitResult(proc.returncode, proc.stdout, proc.stderr.decode(errors="replace"))


def start_git(repo: Path, *args: str) -> subprocess.Popen[bytes]:
    """Start ``git ARGS`` in ``repo`` in the background; read its stdout with ``communicate``.

    For listings that run while mlrig does other work; stderr is dropped.
    """
    return subprocess.Popen(
        [find_git(), *args],
        cwd=repo,
        env=git_env(),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )


def run_git(
    repo: Path,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input: bytes | str | None = None,
) -> str:
    """Run ``git ARGS`` in ``repo`` and return its stripped stdout (:attr:`GitResult.text`).

    With ``check``, a failure raises :class:`EnvironmentProblem` quoting git's last line.
    A repository git refuses for its owner raises it in any case (see :func:`git_output`).
    """
    return _checked(repo, args, check, env, input).text


def git_output(
    repo: Path,
    *args: str,
    check: bool = True,
    env: Mapping[str, str] | None = None,
    input: bytes | str | None = None,
) -> bytes:
    """Like :func:`run_git`, but stdout as git wrote it: bytes, unstripped (contents, ``-z``).

    A repository owned by another user, which git refuses ("dubious ownership"),
    raises :class:`EnvironmentProblem` naming the ``safe.directory`` command even
    without ``check``: git then answers nothing there, and a caller's "not a git
    repository" would hide the cause.
    """
    return _checked(repo, args, check, env, input).stdout


def _checked(
    repo: Path,
    args: tuple[str, ...],
    check: bool,
    env: Mapping[str, str] | None,
    input: bytes | str | None,
) -> GitResult:
    result = git(repo, *args, env=env, input=input)
    if not result.ok:
        refused = _DUBIOUS.search(result.stderr)
        if refused:
            owned = refused.group(1)
            raise EnvironmentProblem(
                f"git refuses to work in {owned}: it belongs to another user (dubious "
                "ownership); if you trust it, run `git config --global --add safe.directory "
                f"{shlex.quote(owned)}`, then retry"
            )
    if check and not result.ok:
        raise EnvironmentProblem(
            f"git {args[0]} failed in {repo}: {result.last_error or 'no output'}"
        )
    return result


def commit_all(repo: Path, message: str) -> str:
    """Stage everything in ``repo``, commit it without hooks, and return the commit's SHA."""
    env: dict[str, str] = {}
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


# git's markers of an operation in progress, relative to the git directory.
_IN_PROGRESS = {
    "MERGE_HEAD": "a merge",
    "rebase-merge": "a rebase",
    "rebase-apply": "a rebase or git am",
    "CHERRY_PICK_HEAD": "a cherry-pick",
    "REVERT_HEAD": "a revert",
    "sequencer": "a cherry-pick or revert of several commits",
    "BISECT_LOG": "a bisect",
}


def refuse_in_progress(repo: Path) -> None:
    """Raise :class:`EnvironmentProblem` when ``repo`` is mid-merge, -rebase, -cherry-pick...

    Writing into a work tree git is half-way through rewriting (a rebase stopped at
    ``edit``, a detached HEAD of a bisect) would mix mlrig's change into that operation.
    """
    args = [arg for marker in _IN_PROGRESS for arg in ("--git-path", marker)]
    paths = run_git(repo, "rev-parse", *args).splitlines()
    for path, what in zip(paths, _IN_PROGRESS.values(), strict=True):
        if (repo / path).exists():
            raise EnvironmentProblem(
                f"{repo} is in the middle of {what}; finish or abort it, then retry"
            )


def uncommitted(folder: Path) -> tuple[str, ...]:
    """The paths under ``folder`` (from the top) that differ from HEAD, untracked ones included.

    Ignored files do not count: a build folder never blocks an update.
    """
    out = git_output(folder, "status", "--porcelain", "-z", "--untracked-files=all", "--", ".")
    entries = iter(out.split(b"\0"))
    paths = []
    for entry in entries:
        if entry:
            paths.append(entry[3:].decode("utf-8", "surrogateescape"))
            # A rename or copy is followed by the path it came from.
            if entry[:1] in (b"R", b"C"):
                next(entries, None)
    return tuple(paths)


def refuse_uncommitted(folder: Path, *, then: str) -> None:
    """Raise :class:`EnvironmentProblem` when ``folder`` has :func:`uncommitted` changes.

    mlrig writes only into a clean tree, so that its change can be reviewed and
    undone on its own. ``then`` ends the advice: "commit or stash them ..., then
    {then}".
    """
    paths = uncommitted(folder)
    if paths:
        raise EnvironmentProblem(
            f"{folder} has uncommitted changes ({len(paths)} paths, e.g. {paths[0]}); "
            f"commit or stash them (git stash --include-untracked), then {then}"
        )


@contextlib.contextmanager
def scratch_worktree(
    top: Path, commit: str, *, prefix: str, root: str | None = None
) -> Iterator[tuple[Path, Path]]:
    """A throw-away worktree of ``top`` detached at ``commit``: yields (scratch, worktree).

    ``scratch`` is a fresh folder (in ``root``, default the system's temporary
    directory) named ``prefix…``; ``worktree`` lies inside it. Both, and the
    worktree's registration in the repository, are removed on the way out, also on
    Ctrl-C. A SIGKILL cannot be cleaned up after: the folder records its owner (host
    and process id) so that :func:`remove_stale_worktrees` can recognise it later.
    """
    scratch = Path(tempfile.mkdtemp(prefix=prefix, dir=root))
    worktree = scratch / "worktree"
    try:
        claim(scratch)
        run_git(
            top,
            "-c",
            "checkout.workers=0",
            # The user's hooks (post-checkout...) are not for mlrig's scratch copy.
            "-c",
            f"core.hooksPath={os.devnull}",
            "worktree",
            "add",
            "--quiet",
            "--detach",
            str(worktree),
            commit,
        )
        yield scratch, worktree
    finally:
        run_git(top, "worktree", "remove", "--force", str(worktree), check=False)
        run_git(top, "worktree", "prune", check=False)
        shutil.rmtree(scratch, ignore_errors=True)


def remove_stale_worktrees(top: Path) -> None:
    """Remove scratch worktrees of ``top`` (and scratch folders) left by killed mlrig runs.

    A scratch folder is stale when it is named like :func:`scratch_worktree`'s of
    ``update`` or ``fleet update`` and the process that made it, on this host, is
    gone. Folders of running mlrig processes, of other hosts and of other users are
    left alone.
    """
    listing = run_git(top, "worktree", "list", "--porcelain", "-z", check=False)
    registered = [
        Path(entry.removeprefix("worktree "))
        for entry in listing.split("\0")
        if entry.startswith("worktree ")
    ]
    known = {path.parent for path in registered if path.name == "worktree"}
    for folder in abandoned_in_temp(known):
        run_git(top, "worktree", "remove", "--force", str(folder / "worktree"), check=False)
        shutil.rmtree(folder, ignore_errors=True)
    run_git(top, "worktree", "prune", check=False)
