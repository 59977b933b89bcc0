"""The last step of ``mlrig update``, writing the result into the project; it survives a kill.

The new contents are first copied into the git directory (never visible in the work
tree), with a plan of what goes where; only when the plan is complete are they
renamed into place, one atomic rename per file, the answers file last, deletions
after. A kill before the plan is written leaves the project as it was; a kill during
the renames leaves the plan, and the next ``mlrig update`` finishes it
(:func:`finish_interrupted`). A Ctrl-C once the plan is written waits for the renames.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import signal
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from mlrig._git import run_git
from mlrig._record import ANSWERS_FILE
from mlrig._scratch import abandoned, claim
from mlrig.commands._update_merge import staged_diff
from mlrig.commands._update_result import FileChange, UpdateResult
from mlrig.errors import EnvironmentProblem

_STAGE = "mlrig-update"
_PLAN = "plan.json"


def _stage_dir(top: Path) -> Path:
    return top / run_git(top, "rev-parse", "--git-path", _STAGE)


def write_result(top: Path, worktree: Path, head: str, result: UpdateResult) -> None:
    """Write ``result``, finished in ``worktree`` (checked out at ``head``), into ``top``.

    Refuses (:class:`EnvironmentProblem`) before anything is written when a file
    cannot be put in place; see the module docstring for what a kill leaves.
    """
    subdir = result.project.relative_to(top)
    entries = staged_diff(worktree, head, subdir)
    answers = (subdir / ANSWERS_FILE).as_posix()
    writes = sorted((p for code, p in entries if code != "D"), key=lambda p: p == answers)
    deletes = [p for code, p in entries if code == "D"]
    _check_room(top, writes, set(deletes))
    stage = _stage_dir(top)
    shutil.rmtree(stage, ignore_errors=True)
    try:
        (stage / "files").mkdir(parents=True)
        claim(stage)
        for index, path in enumerate(writes):
            source, staged = worktree / path, stage / "files" / str(index)
            if source.is_symlink():
                os.symlink(os.readlink(source), staged)
            else:
                shutil.copy2(source, staged)
    except BaseException:
        # Nothing in the project was touched yet: an interruption here changes nothing.
        shutil.rmtree(stage, ignore_errors=True)
        raise
    plan = {
        "project": subdir.as_posix(),
        "template": result.template,
        "from": result.from_version,
        "to": result.to_version,
        "changes": [[c.status, c.path] for c in result.changes],
        "writes": writes,
        "deletes": deletes,
    }
    # From the plan on, the update is committed to: a Ctrl-C waits for the renames.
    with _ctrl_c_deferred():
        (stage / f"{_PLAN}.tmp").write_text(json.dumps(plan), encoding="utf-8")
        os.replace(stage / f"{_PLAN}.tmp", stage / _PLAN)
        _switch(top, stage, plan)


def finish_interrupted(top: Path) -> UpdateResult | None:
    """Finish the last step of an update killed in it; ``None`` when there is none."""
    stage = _stage_dir(top)
    if not stage.is_dir() or not abandoned(stage):
        return None
    try:
        plan = json.loads((stage / _PLAN).read_text(encoding="utf-8"))
    except FileNotFoundError:
        # Killed while copying the new contents aside: the project was not touched.
        shutil.rmtree(stage, ignore_errors=True)
        return None
    with _ctrl_c_deferred():
        _switch(top, stage, plan)
    changes = tuple(FileChange(status, path) for status, path in plan["changes"])
    return UpdateResult(
        top / plan["project"], plan["template"], plan["from"], plan["to"], changes, True, ()
    )


def _check_room(top: Path, writes: list[str], deletes: set[str]) -> None:
    """Refuse, before anything is written, a result whose files cannot be put in place."""
    for path in writes:
        target = top / path
        for parent in reversed(Path(path).parents[:-1]):
            blocker = top / parent
            if (
                not blocker.is_dir()
                and os.path.lexists(blocker)
                and parent.as_posix() not in deletes
            ):
                raise EnvironmentProblem(
                    f"the update writes {path}, but {blocker} is a file git does not "
                    "track; move it away, then update again"
                )
        if target.is_dir() and not target.is_symlink():
            for folder, _, names in os.walk(target):
                for name in names:
                    inside = (Path(folder) / name).relative_to(top).as_posix()
                    if inside not in deletes:
                        raise EnvironmentProblem(
                            f"the update turns the folder {target} into a file, but it holds "
                            f"{inside}; move that away, then update again"
                        )


def _switch(top: Path, stage: Path, plan: dict[str, Any]) -> None:
    """Rename the staged files into place and delete what goes; safe to repeat."""
    deletes: list[str] = plan["deletes"]
    try:
        for index, path in enumerate(plan["writes"]):
            staged, target = stage / "files" / str(index), top / path
            if not os.path.lexists(staged):
                continue  # put in place before an interruption
            for parent in reversed(Path(path).parents[:-1]):
                blocker = top / parent
                if os.path.lexists(blocker) and not blocker.is_dir():
                    blocker.unlink()  # a file the update replaces by a folder
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)  # only deleted files inside (_check_room)
            target.parent.mkdir(parents=True, exist_ok=True)
            _replace(staged, target)
        for path in deletes:
            target = top / path
            if target.is_symlink() or target.is_file():
                target.unlink()
            _remove_empty_folders(top, target.parent)
    except OSError as exc:
        raise EnvironmentProblem(
            f"the update could not write its result into {top}: {exc}; fix that, then run "
            "mlrig update again to finish writing it"
        ) from None
    shutil.rmtree(stage, ignore_errors=True)


def _replace(staged: Path, target: Path) -> None:
    try:
        os.replace(staged, target)
    except OSError as exc:
        if exc.errno != errno.EXDEV:
            raise
        # The git directory is on another filesystem: copy beside the target, then rename.
        beside = target.with_name(f".{target.name}.mlrig-update")
        shutil.copy2(staged, beside, follow_symlinks=False)
        os.replace(beside, target)
        staged.unlink()


def _remove_empty_folders(top: Path, folder: Path) -> None:
    while folder != top and folder.is_dir() and not any(folder.iterdir()):
        folder.rmdir()
        folder = folder.parent


@contextlib.contextmanager
def _ctrl_c_deferred() -> Iterator[None]:
    """Let a Ctrl-C during the renames wait until they are done (the update then completes)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, lambda *_: None)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
