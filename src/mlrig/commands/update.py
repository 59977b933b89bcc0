"""``mlrig update``: bring a generated project to a newer template version.

The update is copier's 3-way update (render the recorded version with the recorded
answers, diff it against the project, render the new version, re-apply the
project's own changes), run in a temporary git worktree of the project. The worktree
holds only tracked files, so gitignored folders (``.venv``, ``data/``, models) are
never copied or scanned; and the project itself is touched only at the very end,
by one ``git apply`` of the finished result, so an interrupted update changes
nothing. The result is left uncommitted for review.

This module holds the order of work; the result types are in
:mod:`~mlrig.commands._update_result`, the settling of copier's merge in
:mod:`~mlrig.commands._update_merge`, and the kill-safe last step in
:mod:`~mlrig.commands._update_write`.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator, Mapping
from pathlib import Path

from mlrig import _copier
from mlrig._git import (
    commit_all,
    refuse_in_progress,
    refuse_uncommitted,
    remove_stale_worktrees,
    run_git,
    scratch_worktree,
    toplevel,
)
from mlrig._progress import Progress, silent
from mlrig._record import (
    ANSWERS_FILE,
    read_record,
    refuse_ahead,
    require_project,
    write_src_path,
)
from mlrig._scratch import UPDATE_SCRATCH
from mlrig.commands._update_merge import (
    findings_before,
    settle_binaries,
    settle_conflicts,
    staged_changes,
    to_crlf,
    to_lf,
)
from mlrig.commands._update_result import ConflictMode, FileChange, UpdateResult
from mlrig.commands._update_write import finish_interrupted, write_result
from mlrig.errors import Interrupted, InvalidInputError
from mlrig.template_info import check_rendered
from mlrig.templates import (
    builtin_data,
    is_builtin,
    recorded_source,
    template_source,
    template_versions,
)
from mlrig.validate import new_findings, validate_pipelines

__all__ = ["ConflictMode", "FileChange", "UpdateResult", "update"]


def update(
    dest: Path,
    *,
    to: str | None = None,
    data: Mapping[str, object] | None = None,
    preview: bool = False,
    conflict: ConflictMode = "inline",
    trust: bool = False,
    progress: Progress = silent,
) -> UpdateResult:
    """Update the project in ``dest`` to template version ``to`` (default: the newest).

    ``data`` changes answers (raw values, as ``-d KEY=VALUE`` gives them): copier's
    3-way update renders the new version with them, so the project's own edits are
    kept and the rest comes out as ``mlrig new`` with those answers would make it.
    For the built-in template they are validated like ``new``'s; a custom template's
    copier validates them. ``--to`` the current version changes only the answers.
    A project that records the built-in template by the path of an installed bundle
    (made by mlrig 0.3 or earlier) is moved to :data:`~mlrig.templates.BUILTIN_URL`.

    ``trust`` lets the template run its tasks, migrations and Jinja extensions.
    ``progress`` is called as each phase starts (listing versions, merging, validating).
    When a previous update of ``dest`` was killed while writing its result, this
    call finishes writing it and returns that update's result instead. The
    answers file is left recording its template URL without credentials.

    A built-in-template starter project (not an existing repository's) that the
    update brings to pipelines installing a dependency lock, and that has none, gets
    it written (:func:`~mlrig._lock.write_lock`) and listed as added; when uv or the
    package index is not there, the update goes ahead without it and the result's
    ``lock_problem`` says what to run. A preview never locks.

    Raises :class:`InvalidInputError` for a folder that is not a project (the
    error names the project's root when it is inside one), a project that is not
    in git or has no usable answers file, or asks for a version that does not exist
    or is older (or records one newer than the template's newest), and for an
    invalid answer;
    :class:`EnvironmentProblem` for uncommitted changes, a merge or rebase in
    progress, or an unreachable template; :class:`Interrupted` on Ctrl-C.
    Conflicts are reported in the result, not raised.
    """
    project = Path(os.path.abspath(dest))
    if not project.is_dir():
        raise InvalidInputError(f"{project} is not a directory")
    # Before git: outside any project, "not in a git repository" would hide the cause.
    require_project(project, "update")
    top = toplevel(project, "mlrig update merges template changes with git")
    refuse_in_progress(top)
    remove_stale_worktrees(top)
    resumed = finish_interrupted(top)
    if resumed is not None:
        return resumed
    record = read_record(project)
    builtin = is_builtin(record.src_path)
    source = template_source(record.src_path)
    changed_answers = _answers_data(project, data or {}) if builtin else dict(data or {})
    progress("listing the template's versions")
    versions = template_versions(source)
    refuse_ahead(project, record, versions, builtin=builtin)
    target = _target_version(to, versions, record.version)
    rerender = target != record.version or bool(changed_answers)
    recorded = recorded_source(record.src_path)
    if not rerender and recorded == record.src_path:
        return UpdateResult(project, recorded, record.version, target, (), False, ())
    refuse_uncommitted(project, then="update again")
    head = run_git(top, "rev-parse", "HEAD")
    subdir = project.relative_to(top)
    progress(f"copying {project.name} to a scratch worktree")
    lock_problem: str | None = None
    try:
        with (
            scratch_worktree(top, head, prefix=UPDATE_SCRATCH, root=_scratch_root(top)) as (
                scratch,
                worktree,
            ),
            _temporary_files_in(scratch),
        ):
            copy = worktree / subdir
            if rerender:
                if source != record.src_path:
                    write_src_path(copy / ANSWERS_FILE, source)
                    commit_all(worktree, "mlrig: use the installed built-in template")
                crlf = to_lf(copy)
                if crlf:
                    commit_all(worktree, "mlrig: LF line endings for the merge")
                progress(
                    f"merging template {record.version} -> {target} with your changes (copier)"
                )
                _copier_update(
                    copy,
                    target,
                    name=project.name,
                    builtin=builtin,
                    trust=trust,
                    data=changed_answers,
                )
                to_crlf(crlf)
                if builtin and not preview:
                    lock_problem = _add_lock(copy, target, name=project.name, progress=progress)
            # copier recorded what it rendered from (the installed bundle, or a URL an
            # older mlrig kept a token in): a machine path or a token must not be committed.
            write_src_path(copy / ANSWERS_FILE, recorded)
            conflicts = settle_conflicts(worktree, subdir, conflict)
            run_git(worktree, "add", "--all")
            conflicts |= settle_binaries(
                worktree, subdir, head, source, version=record.version, trust=trust
            )
            # --force: a project's `*.rej` ignore rule must not hide the template's side.
            rejected = [f"{p}.rej" for p in sorted(conflicts) if (worktree / f"{p}.rej").exists()]
            if rejected:
                run_git(worktree, "add", "--force", "--", *rejected)
            changes = staged_changes(worktree, head, subdir, conflicts)
            changed = [c.path for c in changes if c.status != "deleted"]
            check_rendered(copy, source, trusted=trust, only=changed)
            if changed:
                progress("validating the merged pipelines")
            findings = tuple(validate_pipelines(copy, only=changed)) if changed else ()
            if findings:
                # The project's pipelines may have findings of their own (an adopted repo's
                # jobs); only those the update brings in are reported.
                before = findings_before(worktree, head, subdir, changed)
                findings = new_findings(before, findings)
            result = UpdateResult(
                project,
                recorded,
                record.version,
                target,
                changes,
                bool(changes) and not preview,
                findings,
                lock_problem,
            )
            if result.applied:
                progress(f"writing the result into {project.name}")
                write_result(top, worktree, head, result)
    except KeyboardInterrupt:
        raise Interrupted(
            f"update interrupted; {project} is as before (if `git status` shows changes, "
            "`git checkout -- . && git clean -fd` restores it)"
        ) from None
    return result


def _add_lock(copy: Path, version: str, *, name: str, progress: Progress) -> str | None:
    """Write the lock the merged starter project ``copy`` (of ``name``) lacks.

    Only from template ``version`` :data:`~mlrig._lock.LOCKED_SINCE` on (earlier
    pipelines install no lock), never in an existing repository (mlrig writes no build
    config into a repository it did not create), and never beside any lock file the
    project already has. Returns why the lock could not be written, or ``None``.
    """
    from packaging.version import Version

    from mlrig._lock import LOCKED_SINCE, lock_files, write_lock
    from mlrig.answers import load_answers_file, resolve_answers

    recorded = load_answers_file(copy / ANSWERS_FILE)
    if recorded.get("existing_repo") is True or Version(version) < Version(LOCKED_SINCE):
        return None
    answers = resolve_answers(recorded, project_default=name, use_defaults=True)
    if any(os.path.lexists(copy / path) for path in lock_files(answers.package_manager)):
        return None
    progress("locking the dependencies (uv)")
    return write_lock(
        copy, answers.package_manager, answers.python_version, answers.framework
    ).problem


def _scratch_root(top: Path) -> str | None:
    """Where to put the scratch worktree: RAM-backed /dev/shm when the checkout fits.

    Checking out thousands of small files is several times faster in memory than on
    a disk; ``None`` means the system's temporary directory.
    """
    shm = Path("/dev/shm")
    if not (shm.is_dir() and os.access(shm, os.W_OK)):
        return None
    listing = run_git(top, "ls-tree", "-r", "-l", "--full-tree", "HEAD")
    tracked = sum(int(size) for size in re.findall(r"^\S+ blob \S+ +(\d+)\t", listing, re.M))
    return str(shm) if shutil.disk_usage(shm).free > 2 * tracked + (256 << 20) else None


def _target_version(to: str | None, versions: tuple[str, ...], current: str) -> str:
    if to is None:
        return versions[-1]
    target = to if to in versions else f"v{to}" if f"v{to}" in versions else None
    if target is None:
        raise InvalidInputError(
            f"template version {to!r} does not exist; available: {', '.join(versions)}"
        )
    if current in versions and versions.index(target) < versions.index(current):
        raise InvalidInputError(
            f"{target} is older than the project's template version {current}; "
            "downgrades are not supported"
        )
    return target


def _answers_data(project: Path, data: Mapping[str, object]) -> dict[str, object]:
    """The changed answers of a built-in-template project, as copier data.

    Each is validated against the project's recorded answers, as ``mlrig new``
    validates its own (:func:`~mlrig.answers.resolve_answers`).
    """
    if not data:
        return {}
    from mlrig.answers import load_answers_file, resolve_answers

    recorded = load_answers_file(project / ANSWERS_FILE)
    answers = resolve_answers(
        {**recorded, **data}, project_default=project.name, use_defaults=True
    ).to_data()
    return {name: answers[name] for name in data}


def _copier_update(
    copy: Path,
    version: str,
    *,
    name: str,
    builtin: bool,
    trust: bool = False,
    data: Mapping[str, object] | None = None,
) -> None:
    """copier's 3-way update of ``copy`` (of project ``name``) with the changed answers
    ``data``; conflicts are left inline.

    The ``builtin`` template also gets :func:`~mlrig.templates.builtin_data`.
    """
    _copier.update(
        copy,
        ref=version,
        data={**(builtin_data() if builtin else {}), **(data or {})},
        unsafe=trust,
        name=name,
    )


@contextlib.contextmanager
def _temporary_files_in(scratch: Path) -> Iterator[None]:
    """Point Python's temporary files (copier's clones and renders) into ``scratch``.

    Removing ``scratch`` then removes them too, also after a Ctrl-C that copier's own
    clean-up misses; and in /dev/shm they are as fast as the worktree.
    """
    tmp = scratch / "tmp"
    tmp.mkdir()
    saved = tempfile.tempdir
    tempfile.tempdir = str(tmp)
    try:
        yield
    finally:
        tempfile.tempdir = saved
