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

The workers never outlive the run. They stay in the caller's process group, so a
Ctrl-C at the terminal (or ``kill -- -PGID``) reaches them as it reaches any job;
and each one watches a pipe whose writing end only the parent holds. The parent
closes it when it is interrupted (Ctrl-C, or SIGINT or SIGTERM sent to it alone),
and the kernel closes it when the parent dies, SIGKILL included: either way every
worker stops the repository in hand, removes its scratch worktree and exits. A
pipe rather than Linux's ``PR_SET_PDEATHSIG``: it works on every POSIX system,
does not depend on which thread spawned the worker, lets the worker clean up
instead of being killed, and carries the parent's own "stop" too.

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

import contextlib
import functools
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_futures
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, ParamSpec, TypeVar

from mlrig._files import read_text
from mlrig._git import (
    FLEET_SCRATCH,
    commit_all,
    refuse_in_progress,
    run_git,
    scratch_worktree,
    toplevel,
    uncommitted,
)
from mlrig.commands.check import CheckResult, check
from mlrig.errors import Interrupted, InvalidInputError, MlrigError

if TYPE_CHECKING:
    import multiprocessing.context
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.connection import Connection

_P = ParamSpec("_P")
_T = TypeVar("_T")

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

FleetCommand = Literal["check", "update"]
FleetStatus = Literal["current", "behind", "updated", "conflict", "error", "skipped"]
STATUSES: tuple[FleetStatus, ...] = ("current", "behind", "updated", "conflict", "error", "skipped")
_OK: dict[FleetCommand, frozenset[FleetStatus]] = {
    "check": frozenset({"current"}),
    "update": frozenset({"current", "updated"}),
}
BRANCH_PREFIX = "mlrig/update-"
# Ten thousand repositories of a hundred characters; no parser to protect.
_MAX_LIST_BYTES = 1024 * 1024


@dataclass(frozen=True)
class RepoStatus:
    """What the fleet found in, or did to, one repository."""

    repo: Path
    status: FleetStatus
    #: The project's template version before, and the newest (check) or target (update).
    from_version: str | None
    to_version: str | None
    #: One line for a person: why it was skipped, the error, what was committed.
    message: str
    template: str | None = None
    #: The update branch and its commit: made now (``updated``), or found waiting for
    #: review by ``check`` (``behind``); otherwise ``None``.
    branch: str | None = None
    commit: str | None = None
    #: ``update`` only: files the merge left with conflicts (nothing was committed).
    conflicts: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, object]:
        """One entry of the stable JSON report; every key is always present."""
        return {
            "repo": str(self.repo),
            "status": self.status,
            "template": self.template,
            "from": self.from_version,
            "to": self.to_version,
            "branch": self.branch,
            "commit": self.commit,
            "conflicts": list(self.conflicts),
            "message": self.message,
        }


@dataclass(frozen=True)
class FleetResult:
    """Every repository's status, in the order the repositories were given."""

    command: FleetCommand
    repos: tuple[RepoStatus, ...]

    @property
    def ok(self) -> bool:
        """True when every repository is current (check) or current or updated (update)."""
        return all(r.status in _OK[self.command] for r in self.repos)

    def counts(self) -> dict[FleetStatus, int]:
        """How many repositories have each status (every status, zeros included)."""
        return {s: sum(r.status == s for r in self.repos) for s in STATUSES}

    def as_dict(self) -> dict[str, object]:
        """The stable JSON document of ``mlrig fleet check|update --json``."""
        return {
            "command": self.command,
            "ok": self.ok,
            "counts": self.counts(),
            "repos": [r.as_dict() for r in self.repos],
        }


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
        results = _run(pool, len(paths), _check_repo, paths, on_result, "check")
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
    pool = _worker_pool(workers, context, lifeline)
    with lifeline, hold, _sigterm_as_interrupt(), pool:
        work = functools.partial(_update_repo, trust=trust)
        results = _run(pool, workers, work, paths, on_result, "update", stop=hold.close)
    return FleetResult("update", results)


def _workers(jobs: int | None, count: int) -> int:
    if jobs is not None and jobs < 1:
        raise InvalidInputError(f"--jobs must be at least 1, not {jobs}")
    return max(1, min(jobs or default_jobs(), count))


def _run(
    pool: Executor,
    in_flight: int,
    work: Callable[[Path], RepoStatus],
    paths: Sequence[Path],
    on_result: Callable[[RepoStatus], None] | None,
    command: FleetCommand,
    *,
    stop: Callable[[], None] | None = None,
) -> tuple[RepoStatus, ...]:
    """Run ``work`` over ``paths`` in ``pool``, results in input order.

    At most ``in_flight`` repositories are submitted at a time, the next one as
    one finishes. Executors prefetch what is queued, so for updates this is the
    number of workers: on Ctrl-C only the repositories in hand are involved, and
    ``stop`` (when given) tells their workers to stop them; without it they are
    finished.
    """
    results: list[RepoStatus | None] = [None] * len(paths)
    queue = iter(enumerate(paths))
    running: dict[Future[RepoStatus], int] = {}

    def finish(index: int, status: RepoStatus) -> None:
        results[index] = status
        if on_result is not None:
            on_result(status)

    def hand_out() -> None:
        for index, path in queue:
            try:
                running[pool.submit(work, path)] = index
            except BrokenExecutor:
                finish(index, _died(path))
                continue
            if len(running) >= in_flight:
                return

    try:
        hand_out()
        while running:
            done, _ = wait_futures(running, return_when="FIRST_COMPLETED")
            for future in done:
                index = running.pop(future)
                finish(index, _outcome(future, paths[index]))
            hand_out()
    except KeyboardInterrupt:
        if stop is not None:
            stop()
        pool.shutdown(wait=True, cancel_futures=True)
        late = [f.result() for f in running if not f.cancelled() and f.exception() is None]
        cut = sorted(
            paths[i].name for f, i in running.items() if not f.cancelled() and f.exception()
        )
        finished = sum(r is not None for r in results) + len(late)
        head = f"fleet {command} interrupted after {finished} of {len(paths)} repositories"
        if command == "check":
            raise Interrupted(f"{head}; nothing was changed") from None
        stopping = ", ".join(f"{s.repo.name} {s.status}" for s in late)
        parts = [f"{head}{f' (finished while stopping: {stopping})' if late else ''}"]
        if cut:
            parts.append(f"stopped {_listed(cut)}, left as they were")
        if finished + len(cut) < len(paths):
            parts.append("the others were not started and are unchanged")
        raise Interrupted("; ".join(parts)) from None
    return tuple(r for r in results if r is not None)


def _listed(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else f"{', '.join(names[:-1])} and {names[-1]}"


def _outcome(future: Future[RepoStatus], path: Path) -> RepoStatus:
    """The worker's status; an ``error`` when the worker process died."""
    try:
        return future.result()
    except (BrokenExecutor, _Stopped):
        return _died(path)


def _died(path: Path) -> RepoStatus:
    """The status of a repository whose worker process died (killed, out of memory)."""
    return RepoStatus(
        path,
        "error",
        None,
        None,
        "the worker process died or was stopped (killed or out of memory?); "
        "run `mlrig update` in it alone",
    )


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """Let a SIGTERM stop the fleet as Ctrl-C does (the main thread's only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


_STOP_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})


def _worker_pool(
    workers: int, context: multiprocessing.context.SpawnContext, lifeline: Connection
) -> ProcessPoolExecutor:
    """The process pool of ``fleet update``, whose workers watch ``lifeline``."""
    from concurrent.futures import ProcessPoolExecutor

    class Pool(ProcessPoolExecutor):
        def submit(
            self, fn: Callable[_P, _T], /, *args: _P.args, **kwargs: _P.kwargs
        ) -> Future[_T]:
            # submit spawns the workers. One started with SIGINT blocked keeps a Ctrl-C
            # pending until _start_worker has its handler in place: a worker still
            # importing would otherwise die of it with a traceback on the caller's
            # terminal. Blocked, not ignored: this process loses no Ctrl-C meanwhile.
            previous = signal.pthread_sigmask(signal.SIG_BLOCK, _STOP_SIGNALS)
            try:
                return super().submit(fn, *args, **kwargs)
            finally:
                signal.pthread_sigmask(signal.SIG_SETMASK, previous)

    return Pool(
        max_workers=workers,
        mp_context=context,
        initializer=_start_worker,
        initargs=(lifeline, os.getpid()),
    )


# A worker's state, module-level because signal handlers and threads share it.
# Set once a stop came (a signal, or the parent gone); from then on the worker exits.
_stopping = threading.Event()
# Set once a SIGTERM came: whoever sent it waits for this worker to exit, not for results.
_terminated = threading.Event()
# Set while a repository in hand may be stopped (before its point of no return).
_interruptible = threading.Event()
# Set while no repository is in hand.
_idle = threading.Event()
# How long a stopped, idle worker whose parent lives waits to be ended in order.
_EXIT_GRACE = 30.0


class _Stopped(BaseException):
    """Unwinds the repository in hand of a worker told to stop; never a repository's error."""


def _start_worker(lifeline: Connection, parent: int) -> None:
    """Initializer of ``fleet update``'s workers: stop when told or when the parent dies."""
    _idle.set()
    for sig in _STOP_SIGNALS:
        signal.signal(sig, _on_stop)
    main = threading.get_ident()
    threading.Thread(target=_watch_parent, args=(lifeline, main), daemon=True).start()
    threading.Thread(target=_exit_when_stopped, args=(parent,), daemon=True).start()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, _STOP_SIGNALS)


def _watch_parent(lifeline: Connection, main: int) -> None:
    # Nothing is ever sent: this returns when the parent closes its end or dies.
    with contextlib.suppress(EOFError, OSError):
        lifeline.recv_bytes()
    # To the main thread: a signal the kernel gave this thread would not wake a wait there.
    signal.pthread_kill(main, signal.SIGINT)


def _on_stop(signum: int, _frame: object) -> None:
    if signum == signal.SIGTERM:
        _terminated.set()
    # Once: a second signal must not cut short the clean-up the first one started.
    if _stopping.is_set():
        return
    _stopping.set()
    if _interruptible.is_set():
        raise _Stopped


def _exit_when_stopped(parent: int) -> None:
    _stopping.wait()
    _idle.wait()
    # A live parent ends its stopped workers in order once their last results are in
    # (exiting first would lose them); without a parent, or told to terminate, exit now.
    deadline = time.monotonic() + _EXIT_GRACE
    while os.getppid() == parent and not _terminated.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(Interrupted.exit_code)


def _point_of_no_return() -> None:
    """From here the repository in hand is finished: a stop waits for its branch."""
    _interruptible.clear()
    if _stopping.is_set():
        raise _Stopped


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

    Raises only :class:`_Stopped`, when the worker was told to stop (the repository
    is then as it was: the scratch worktree is gone with the unwinding).
    """
    _idle.clear()
    _interruptible.set()
    try:
        if _stopping.is_set():
            raise _Stopped
        return _guarded(functools.partial(_update_one, trust=trust), project)
    finally:
        _interruptible.clear()
        _idle.set()


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
        _point_of_no_return()
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
