"""``mlrig fleet check|update``: many local clones at once, with a per-repository report.

One repository never stops the others: whatever goes wrong in it (not a git
repository, no answers file, an unreachable template, even a bug in mlrig) is
reported as that repository's ``error`` and the fleet carries on. Only a bad
repository list (missing paths, the same repository twice, nothing at all) is
refused up front, before anything runs.

``fleet check`` runs :func:`mlrig.commands.check.check` in threads: a file read,
one ``git ls-remote`` per template (cached for the run), and for a repository
behind one ``git rev-parse`` to find an update branch waiting for review; it
changes nothing. ``fleet update`` runs each
repository in a worker process, because copier changes the process's working
directory (plumbum's ``local.cwd`` calls ``os.chdir``), so two updates in threads
of one process would render into each other's directories.

The workers never outlive the run, nor the caller's process: see
:mod:`~mlrig.commands._fleet_pool`, which runs them; the statuses and the
report are :mod:`~mlrig.commands._fleet_result`.

An update never touches the repository's work tree or its checked-out branch: it
runs :func:`mlrig.commands.update.update` in a temporary git worktree detached at
``HEAD``, commits the result there and only then creates the branch
``mlrig/update-<version>`` on that commit. A conflict (or merged pipeline files
that do not validate) commits nothing and creates no branch: the repository is
exactly as before and ``mlrig update`` in it reproduces the merge for a person to
resolve. So every repository ends either untouched or with one complete branch; a
stopped worker leaves its repository untouched (making the branch is the one step
a stop waits for).
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from mlrig._files import read_text
from mlrig._git import (
    commit_all,
    refuse_in_progress,
    run_git,
    scratch_worktree,
    toplevel,
    uncommitted,
)
from mlrig._scratch import FLEET_SCRATCH
from mlrig.commands._fleet_pool import (
    in_hand,
    point_of_no_return,
    run_all,
    sigterm_as_interrupt,
    worker_pool,
)
from mlrig.commands._fleet_result import FleetCommand, FleetResult, FleetStatus, RepoStatus
from mlrig.commands.check import CheckResult, check
from mlrig.errors import InvalidInputError, MlrigError

__all__ = [
    "FleetCommand",
    "FleetResult",
    "FleetStatus",
    "RepoStatus",
    "default_jobs",
    "fleet_check",
    "fleet_update",
    "read_repo_list",
    "resolve_repos",
]

BRANCH_PREFIX = "mlrig/update-"
# Ten thousand repositories of a hundred characters; no parser to protect.
_MAX_LIST_BYTES = 1024 * 1024


def default_jobs() -> int:
    """The number of CPUs this process may run on."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def read_repo_list(path: Path) -> tuple[Path, ...]:
    """Read a ``--from`` file: one repository path a line, ``#`` comments and blank lines.

    Relative paths are relative to the file's folder; ``~`` is expanded. Raises
    :class:`InvalidInputError` when the file cannot be read, is not a regular file
    (a FIFO, a device, a folder: refused unread), is over 1 MiB or is not UTF-8.
    """
    text = read_text(path, what=f"the repository list {path}", limit=_MAX_LIST_BYTES)
    base = Path(os.path.abspath(path)).parent
    repos = []
    for line in text.splitlines():
        entry = line.strip()
        if entry and not entry.startswith("#"):
            repos.append(base / Path(entry).expanduser())
    return tuple(repos)


def resolve_repos(repos: Iterable[Path]) -> tuple[Path, ...]:
    """Absolute paths of ``repos`` in order; refuse a list that cannot be run as given.

    Raises one :class:`InvalidInputError` naming every path that does not exist or
    is not a directory, and every repository listed more than once (also under
    another spelling or through a symlink); or when the list is empty.
    """
    resolved = [Path(os.path.abspath(os.path.expanduser(r))) for r in repos]
    if not resolved:
        raise InvalidInputError(
            "no repositories given; name them as arguments or list them in a file for --from"
        )
    missing = [str(r) for r in resolved if not r.is_dir()]
    seen: dict[tuple[int, int], Path] = {}
    twice = []
    for repo in resolved:
        if not repo.is_dir():
            continue
        stat = repo.stat()
        key = (stat.st_dev, stat.st_ino)
        if key in seen:
            first = seen[key]
            twice.append(str(repo) if repo == first else f"{repo} (same as {first})")
        else:
            seen[key] = repo
    problems = []
    if missing:
        problems.append(f"not a directory: {', '.join(missing)}")
    if twice:
        problems.append(f"listed twice: {', '.join(twice)}")
    if problems:
        raise InvalidInputError(
            f"bad repository list, {'; '.join(problems)}; fix the list, nothing was run"
        )
    return tuple(resolved)


def fleet_check(
    repos: Iterable[Path],
    *,
    jobs: int | None = None,
    on_result: Callable[[RepoStatus], None] | None = None,
) -> FleetResult:
    """Check every repository: ``current``, ``behind`` or ``error``; never changes anything.

    Runs up to ``jobs`` repositories at once (default: :func:`default_jobs`) and
    calls ``on_result`` in the calling thread as each one finishes. Raises
    :class:`InvalidInputError` for a bad list (see :func:`resolve_repos`) or
    ``jobs`` < 1, and :class:`Interrupted` on Ctrl-C.
    """
    paths = resolve_repos(repos)
    workers = _workers(jobs, len(paths))
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="mlrig-fleet") as pool:
        # All queued at once: a check is milliseconds, and a worker that waits for
        # this thread to hand out the next repository would idle (Ctrl-C cancels).
        results = run_all(pool, len(paths), _check_repo, paths, on_result, "check")
    return FleetResult("check", results)


def fleet_update(
    repos: Iterable[Path],
    *,
    jobs: int | None = None,
    trust: bool = False,
    on_result: Callable[[RepoStatus], None] | None = None,
) -> FleetResult:
    """Update every repository behind its template on a new branch ``mlrig/update-<version>``.

    Per repository: ``current`` (untouched), ``updated`` (a new branch with one
    commit; the checked-out branch and the work tree are untouched), ``conflict``
    (nothing committed, no branch), ``skipped`` (uncommitted changes; untouched)
    or ``error`` (including an existing branch of that name, which is never
    overwritten). Runs up to ``jobs`` worker processes (default:
    :func:`default_jobs`) and calls ``on_result`` as each repository finishes.
    ``trust`` lets the template run its tasks, migrations and Jinja extensions in
    every repository; without it such a template is an ``error``.

    Raises :class:`InvalidInputError` for a bad list or ``jobs`` < 1, and
    :class:`Interrupted` on Ctrl-C or SIGTERM: every worker stops and leaves the
    repository in hand as it was, the rest are not started. Workers never outlive
    this call, nor this process (see the module's docstring).
    """
    # Imported here: multiprocessing costs `fleet check` tens of milliseconds.
    import multiprocessing

    paths = resolve_repos(repos)
    workers = _workers(jobs, len(paths))
    # spawn: a fresh interpreter per worker inherits no threads, locks or cwd, and
    # of this process's descriptors only those handed to it: the lifeline's reading end.
    context = multiprocessing.get_context("spawn")
    lifeline, hold = context.Pipe(duplex=False)
    pool = worker_pool(workers, context, lifeline)
    with lifeline, hold, sigterm_as_interrupt(), pool:
        work = functools.partial(_update_repo, trust=trust)
        results = run_all(pool, workers, work, paths, on_result, "update", stop=hold.close)
    return FleetResult("update", results)


def _workers(jobs: int | None, count: int) -> int:
    if jobs is not None and jobs < 1:
        raise InvalidInputError(f"--jobs must be at least 1, not {jobs}")
    return max(1, min(jobs or default_jobs(), count))


def _guarded(work: Callable[[Path], RepoStatus], project: Path) -> RepoStatus:
    try:
        return work(project)
    except MlrigError as exc:
        return RepoStatus(project, "error", None, None, str(exc))
    except Exception as exc:  # a bug in one repository must not sink the fleet
        return RepoStatus(
            project,
            "error",
            None,
            None,
            f"internal error ({type(exc).__name__}: {exc}); please report this bug",
        )


def _check_repo(project: Path) -> RepoStatus:
    """Thread worker of ``fleet check``; never raises."""
    return _guarded(_check_one, project)


def _update_repo(project: Path, *, trust: bool) -> RepoStatus:
    """Process worker of ``fleet update``, top-level so spawned workers import it.

    Raises only :class:`~mlrig.commands._fleet_pool.Stopped`, when the worker was
    told to stop (the repository is then as it was: the scratch worktree is gone
    with the unwinding).
    """
    return in_hand(
        functools.partial(_guarded, functools.partial(_update_one, trust=trust)), project
    )


def _current(project: Path, state: CheckResult) -> RepoStatus:
    return RepoStatus(
        project,
        "current",
        state.current,
        state.latest,
        "on the newest template version",
        state.template,
    )


def _check_one(project: Path) -> RepoStatus:
    state = check(project)
    if not state.behind:
        return _current(project, state)
    # A platform team wants to tell "behind" from "behind, update waiting for review".
    branch = f"{BRANCH_PREFIX}{state.latest}"
    waiting = run_git(
        project, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False
    )
    message = (
        f"update waiting on branch {branch}; review and merge it"
        if waiting
        else f"{state.latest} is out; run `mlrig fleet update`"
    )
    return RepoStatus(
        project,
        "behind",
        state.current,
        state.latest,
        message,
        state.template,
        branch=branch if waiting else None,
        commit=waiting or None,
    )


def _update_one(project: Path, *, trust: bool) -> RepoStatus:
    from mlrig.commands.update import update

    top = toplevel(project, "fleet update commits on a new branch")
    # The branch is made from HEAD: a rebase's detached HEAD is no base for it.
    refuse_in_progress(top)
    state = check(project)
    if not state.behind:
        return _current(project, state)
    dirty = uncommitted(project)
    if dirty:
        return RepoStatus(
            project,
            "skipped",
            state.current,
            state.latest,
            f"uncommitted changes ({len(dirty)} path{'s' if len(dirty) > 1 else ''}, "
            f"e.g. {dirty[0]}); commit or stash them",
            state.template,
        )
    branch = f"{BRANCH_PREFIX}{state.latest}"
    if run_git(top, "rev-parse", "--verify", "--quiet", f"refs/heads/{branch}", check=False):
        return RepoStatus(
            project,
            "error",
            state.current,
            state.latest,
            f"branch {branch} exists already; merge or delete it, then run again",
            state.template,
        )
    # scratch_worktree runs no hooks: a post-checkout hook is for the user's checkouts.
    with scratch_worktree(top, "HEAD", prefix=FLEET_SCRATCH) as (_, worktree):
        copy = worktree / Path(os.path.realpath(project)).relative_to(top)
        result = update(copy, to=state.latest, trust=trust)
        if result.conflicts or result.findings:
            problem = (
                f"conflicts in {', '.join(result.conflicts)}"
                if result.conflicts
                else f"the merged pipeline does not validate: {result.findings[0]}"
            )
            return RepoStatus(
                project,
                "conflict",
                state.current,
                state.latest,
                f"{problem}; nothing committed: run `mlrig update` in it and resolve by hand",
                state.template,
                conflicts=result.conflicts,
            )
        commit = commit_all(worktree, f"mlrig: update template {state.current} -> {state.latest}")
        point_of_no_return()
        # Without --force: a branch made meanwhile is reported, never overwritten.
        run_git(top, "branch", branch, commit)
    # Committed all the same: the branch is for review, and the message says what to add.
    unlocked = f"; {result.lock_problem}" if result.lock_problem else ""
    return RepoStatus(
        project,
        "updated",
        state.current,
        state.latest,
        f"committed {commit[:12]} on {branch} ({len(result.changes)} files); "
        f"review and merge it{unlocked}",
        state.template,
        branch=branch,
        commit=commit,
    )
