"""The worker processes of ``mlrig fleet update``, and the run over a pool of them.

:func:`run_all` hands repositories to a pool (threads for ``check``, the processes
of :func:`worker_pool` for ``update``) and turns a Ctrl-C into one
:class:`~mlrig.errors.Interrupted` that says what finished, what was stopped and
what never started.

The workers never outlive the run. They stay in the caller's process group, so a
Ctrl-C at the terminal (or ``kill -- -PGID``) reaches them as it reaches any job;
and each one watches a pipe whose writing end only the parent holds. The parent
closes it when it is interrupted (Ctrl-C, or SIGINT or SIGTERM sent to it alone),
and the kernel closes it when the parent dies, SIGKILL included: either way every
worker stops the repository in hand, removes its scratch worktree and exits. A
pipe rather than Linux's ``PR_SET_PDEATHSIG``: it works on every POSIX system,
does not depend on which thread spawned the worker, lets the worker clean up
instead of being killed, and carries the parent's own "stop" too.

A worker runs each repository :func:`in_hand`; the repository's own code calls
:func:`point_of_no_return` before the one step a stop must wait for.
"""

from __future__ import annotations

import contextlib
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import BrokenExecutor, Executor, Future
from concurrent.futures import wait as wait_futures
from pathlib import Path
from typing import TYPE_CHECKING, ParamSpec, TypeVar

from mlrig.commands._fleet_result import FleetCommand, RepoStatus
from mlrig.errors import Interrupted

if TYPE_CHECKING:
    import multiprocessing.context
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing.connection import Connection

_P = ParamSpec("_P")


_T = TypeVar("_T")


def run_all(
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
    except (BrokenExecutor, Stopped):
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
def sigterm_as_interrupt() -> Iterator[None]:
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


def worker_pool(
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


class Stopped(BaseException):
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
        raise Stopped


def _exit_when_stopped(parent: int) -> None:
    _stopping.wait()
    _idle.wait()
    # A live parent ends its stopped workers in order once their last results are in
    # (exiting first would lose them); without a parent, or told to terminate, exit now.
    deadline = time.monotonic() + _EXIT_GRACE
    while os.getppid() == parent and not _terminated.is_set() and time.monotonic() < deadline:
        time.sleep(0.05)
    os._exit(Interrupted.exit_code)


def point_of_no_return() -> None:
    """From here the repository in hand is finished: a stop waits for its branch."""
    _interruptible.clear()
    if _stopping.is_set():
        raise Stopped


def in_hand(work: Callable[[Path], RepoStatus], project: Path) -> RepoStatus:
    """Run ``work`` on ``project`` as a worker's repository in hand, stoppable until
    :func:`point_of_no_return`.

    ``work`` must not raise (but for :class:`Stopped`). Raises :class:`Stopped` when
    the worker was told to stop, before or during ``work``.
    """
    _idle.clear()
    _interruptible.set()
    try:
        if _stopping.is_set():
            raise Stopped
        return work(project)
    finally:
        _interruptible.clear()
        _idle.set()
