"""``mlrig update``: bring a generated project to a newer template version.

The update is copier's 3-way update (render the recorded version with the recorded
answers, diff it against the project, render the new version, re-apply the
project's own changes), run in a temporary git worktree of the project. The worktree
holds only tracked files, so gitignored folders (``.venv``, ``data/``, models) are
never copied or scanned; and the project itself is touched only at the very end,
by one ``git apply`` of the finished result, so an interrupted update changes
nothing. The result is left uncommitted for review.
"""

from __future__ import annotations

import contextlib
import difflib
import errno
import json
import os
import re
import shutil
import signal
import tempfile
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from mlrig import _copier
from mlrig._git import (
    UPDATE_SCRATCH,
    abandoned,
    claim,
    commit_all,
    git,
    git_output,
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
from mlrig.errors import EnvironmentProblem, Interrupted, InvalidInputError
from mlrig.template_info import check_rendered
from mlrig.templates import (
    builtin_data,
    is_builtin,
    recorded_source,
    template_source,
    template_versions,
)
from mlrig.validate import Finding, new_findings, validate_pipelines

__all__ = ["ConflictMode", "FileChange", "UpdateResult", "update"]

ConflictMode = Literal["inline", "rej"]
ChangeStatus = Literal["added", "changed", "deleted", "conflict"]
_STATUS: dict[str, ChangeStatus] = {"A": "added", "M": "changed", "D": "deleted", "T": "changed"}


@dataclass(frozen=True)
class FileChange:
    """One file the update adds, changes or deletes, or leaves with a conflict."""

    status: ChangeStatus
    path: str


@dataclass(frozen=True)
class UpdateResult:
    """What an update did (or, with ``preview``, would do)."""

    project: Path
    template: str
    from_version: str
    to_version: str
    changes: tuple[FileChange, ...]
    #: True when the changes were written to the project.
    applied: bool
    #: Problems in the merged pipeline files (broken YAML, schema, actionlint).
    findings: tuple[Finding, ...]
    #: Why the dependency lock the updated pipelines install could not be added, with
    #: the command to run; ``None`` when it was added or not needed.
    lock_problem: str | None = None

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Files that hold conflict markers (or have a ``.rej`` file) after the merge."""
        return tuple(c.path for c in self.changes if c.status == "conflict")

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form of ``mlrig update --json`` (the template-sync job reads it).

        ``status`` is ``current`` (nothing to do), ``conflicts`` (files are left with
        conflicts) or ``updated``; ``applied`` says whether the project was changed
        (false for a preview), ``findings`` what the merged pipelines got wrong,
        ``lock_problem`` why the lock they install could not be added (or ``null``).
        """
        status = "current" if not self.changes else "conflicts" if self.conflicts else "updated"
        return {
            "project": str(self.project),
            "template": self.template,
            "status": status,
            "from": self.from_version,
            "to": self.to_version,
            "applied": self.applied,
            "conflicts": list(self.conflicts),
            "changes": [{"status": c.status, "path": c.path} for c in self.changes],
            "findings": [f.as_dict() for f in self.findings],
            "lock_problem": self.lock_problem,
        }


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
    resumed = _finish_interrupted(top)
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
                crlf = _to_lf(copy)
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
                _to_crlf(crlf)
                if builtin and not preview:
                    lock_problem = _add_lock(copy, target, name=project.name, progress=progress)
            # copier recorded what it rendered from (the installed bundle, or a URL an
            # older mlrig kept a token in): a machine path or a token must not be committed.
            write_src_path(copy / ANSWERS_FILE, recorded)
            conflicts = _settle_conflicts(worktree, subdir, conflict)
            run_git(worktree, "add", "--all")
            conflicts |= _settle_binaries(
                worktree, subdir, head, source, version=record.version, trust=trust
            )
            # --force: a project's `*.rej` ignore rule must not hide the template's side.
            rejected = [f"{p}.rej" for p in sorted(conflicts) if (worktree / f"{p}.rej").exists()]
            if rejected:
                run_git(worktree, "add", "--force", "--", *rejected)
            changes = _changes(worktree, head, subdir, conflicts)
            changed = [c.path for c in changes if c.status != "deleted"]
            check_rendered(copy, source, trusted=trust, only=changed)
            if changed:
                progress("validating the merged pipelines")
            findings = tuple(validate_pipelines(copy, only=changed)) if changed else ()
            if findings:
                # The project's pipelines may have findings of their own (an adopted repo's
                # jobs); only those the update brings in are reported.
                before = _findings_before(worktree, head, subdir, changed)
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
                _write_result(top, worktree, head, result)
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


def _findings_before(worktree: Path, head: str, subdir: Path, paths: list[str]) -> list[Finding]:
    """The pipeline findings ``paths`` (relative to ``subdir``) had at ``head``."""
    with tempfile.TemporaryDirectory(prefix="mlrig-before-") as tmp:
        root = Path(tmp)
        for path in paths:
            shown = _shown(worktree, head, (subdir / path).as_posix())
            if shown is not None:  # else the update added the file
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(shown)
        return validate_pipelines(root, only=paths)


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


def _to_lf(copy: Path) -> list[Path]:
    """Rewrite the tracked text files of ``copy`` whose every line ends in CRLF with LF.

    copier renders LF, so a file of the project in CRLF (a Windows user's, or an adopted
    repository's pipeline with mlrig's jobs merged in) would differ from its render on
    every line and conflict on the first template change. Returns the files, for
    :func:`_to_crlf` after the merge.
    """
    listed = git_output(copy, "grep", "-z", "-l", "-I", "-e", "\r$", "--", ".", check=False)
    converted = []
    for name in listed.split(b"\0"):
        path = copy / os.fsdecode(name)
        if not name or path.is_symlink() or not path.is_file():
            continue
        data = path.read_bytes()
        if data.count(b"\n") == data.count(b"\r\n"):
            path.write_bytes(data.replace(b"\r\n", b"\n"))
            converted.append(path)
    return converted


def _to_crlf(paths: list[Path]) -> None:
    """Give the files :func:`_to_lf` converted their CRLF line endings back, merge included."""
    for path in paths:
        if path.is_file() and not path.is_symlink():
            data = path.read_bytes()
            if b"\r\n" not in data:
                path.write_bytes(data.replace(b"\n", b"\r\n"))


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


def _diff(worktree: Path, head: str, subdir: Path) -> list[tuple[str, str]]:
    """(status letter, path from the top) of each path staged in ``worktree`` against ``head``."""
    out = git_output(
        worktree,
        "diff",
        "--cached",
        "--name-status",
        "-z",
        "--no-renames",
        head,
        "--",
        subdir.as_posix() or ".",
    )
    fields = [os.fsdecode(f) for f in out.split(b"\0")[:-1]]
    return [(code[0], path) for code, path in zip(fields[::2], fields[1::2], strict=True)]


def _changes(
    worktree: Path, head: str, subdir: Path, conflicts: set[str]
) -> tuple[FileChange, ...]:
    """Each path the update changes, and each conflict (top-relative paths in ``conflicts``).

    A binary conflict keeps the project's bytes, so its file shows no change of its own;
    a conflict's ``.rej`` file is part of the conflict, not a change to list.
    """
    found: dict[str, ChangeStatus] = {path: "conflict" for path in conflicts}
    for code, name in _diff(worktree, head, subdir):
        if not (name.endswith(".rej") and name.removesuffix(".rej") in conflicts):
            found.setdefault(name, _STATUS.get(code, "changed"))
    return tuple(
        FileChange(kind, Path(name).relative_to(subdir).as_posix())
        for name, kind in sorted(found.items())
    )


def _settle_conflicts(worktree: Path, subdir: Path, mode: ConflictMode) -> set[str]:
    """The text files copier left with conflicts (paths from the top of ``worktree``).

    copier records each one in the index with its three versions (1 the last
    update's render, 2 the project's, 3 the new render). With ``rej`` the file keeps
    the project's side of each conflict (and every change that merged cleanly) and
    ``<file>.rej`` holds the template's side as a patch: the user's edit is never lost.
    """
    out = git_output(worktree, "ls-files", "--unmerged", "-z", "--", subdir.as_posix() or ".")
    stages: dict[str, dict[str, str]] = {}
    for entry in out.split(b"\0")[:-1]:
        info, _, name = entry.partition(b"\t")
        _, sha, stage = info.decode().split()
        stages.setdefault(os.fsdecode(name), {})[stage] = sha
    if mode == "rej":
        for path, shas in stages.items():
            blobs = [
                git_output(worktree, "cat-file", "blob", shas[s]) if s in shas else b""
                for s in ("2", "1", "3")
            ]
            ours, theirs = (_merge(worktree, blobs, side) for side in ("--ours", "--theirs"))
            (worktree / path).write_bytes(ours)
            label = os.fsencode(path)
            patch = difflib.diff_bytes(
                difflib.unified_diff,
                ours.splitlines(keepends=True),
                theirs.splitlines(keepends=True),
                b"a/" + label,
                b"b/" + label,
            )
            (worktree / f"{path}.rej").write_bytes(b"".join(patch))
    return set(stages)


def _merge(worktree: Path, blobs: list[bytes], side: str) -> bytes:
    """``git merge-file`` of (ours, base, theirs), each conflict resolved to ``side``."""
    with tempfile.TemporaryDirectory(prefix="mlrig-merge-") as tmp:
        names = []
        for index, blob in enumerate(blobs):
            name = Path(tmp, str(index))
            name.write_bytes(blob)
            names.append(str(name))
        return git_output(worktree, "merge-file", "--stdout", side, *names, check=False)


def _settle_binaries(
    worktree: Path, subdir: Path, head: str, source: str, *, version: str, trust: bool
) -> set[str]:
    """Give back the project's binary files copier overwrote; return the conflicting ones.

    copier's merge is a text patch, so a project's change to a binary file is dropped
    and the new render's bytes win. Against the last update's render of ``version``:
    a file only the template changed takes the new bytes; one only the project changed
    keeps the project's; one both changed keeps the project's bytes in place and gets
    the template's beside it as ``<file>.rej``, and is a conflict.
    """
    out = git_output(
        worktree,
        "diff",
        "--cached",
        "--numstat",
        "-z",
        "--no-renames",
        head,
        "--",
        subdir.as_posix() or ".",
    )
    binary = [
        os.fsdecode(entry.split(b"\t", 2)[2])
        for entry in out.split(b"\0")[:-1]
        if entry.startswith(b"-\t-\t")
    ]
    ours: dict[str, bytes] = {}
    for path in binary:
        if (content := _shown(worktree, head, path)) is not None:
            ours[path] = content
    if not ours:
        return set()
    base = _render(worktree, head, subdir, source, version, trust=trust)
    conflicts = set()
    for path, mine in ours.items():
        target = worktree / path
        theirs = target.read_bytes() if target.is_file() else None
        before = base / Path(path).relative_to(subdir)
        original = before.read_bytes() if before.is_file() else None
        if original == mine or theirs == mine:
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(mine)
        if original != theirs:
            conflicts.add(path)
            if theirs is not None:
                Path(f"{target}.rej").write_bytes(theirs)
        run_git(worktree, "add", "--force", "--", path)
    return conflicts


def _shown(worktree: Path, commit: str, path: str) -> bytes | None:
    """The content of ``path`` at ``commit``; ``None`` when it has no such file."""
    shown = git(worktree, "show", f"{commit}:{path}")
    return shown.stdout if shown.ok else None


def _render(
    worktree: Path, head: str, subdir: Path, source: str, version: str, *, trust: bool
) -> Path:
    """The project as ``version`` of the template rendered it with its recorded answers."""
    from mlrig._yaml import load_copier

    shown = _shown(worktree, head, (subdir / ANSWERS_FILE).as_posix())
    recorded = load_copier(shown or b"{}", what=f"{ANSWERS_FILE} at {head[:12]}")
    answers = {k: v for k, v in recorded.items() if not str(k).startswith("_")}
    dest = Path(tempfile.mkdtemp(prefix="mlrig-base-"))
    _copier.copy(
        source,
        dest,
        data=answers,
        ref=version,
        template=source,
        unsafe=trust,
        skip_tasks=True,
        update_of=f"the last update's render ({version})",
    )
    return dest


# The last step, writing the result into the project. It must survive a kill: the
# new contents are first copied into the git directory (never visible in the work
# tree), with a plan of what goes where; only when the plan is complete are they
# renamed into place, one atomic rename per file, the answers file last, deletions
# after. A kill before the plan is written leaves the project as it was; a kill
# during the renames leaves the plan, and the next `mlrig update` finishes it.
_STAGE = "mlrig-update"
_PLAN = "plan.json"


def _stage_dir(top: Path) -> Path:
    return top / run_git(top, "rev-parse", "--git-path", _STAGE)


def _write_result(top: Path, worktree: Path, head: str, result: UpdateResult) -> None:
    subdir = result.project.relative_to(top)
    entries = _diff(worktree, head, subdir)
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


def _finish_interrupted(top: Path) -> UpdateResult | None:
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
