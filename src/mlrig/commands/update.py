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

import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from mlrig._git import commit_all, run_git, toplevel
from mlrig._record import ANSWERS_FILE, read_record
from mlrig.errors import EnvironmentProblem, Interrupted, InvalidInputError
from mlrig.templates import NEVER_RENDERED, builtin_bundle, is_builtin, template_versions
from mlrig.validate import Finding, new_findings, validate_pipelines

__all__ = ["ConflictMode", "FileChange", "UpdateResult", "update"]

ConflictMode = Literal["inline", "rej"]
ChangeStatus = Literal["added", "changed", "deleted", "conflict"]
_STATUS: dict[str, ChangeStatus] = {"A": "added", "M": "changed", "D": "deleted", "T": "changed"}
_MARKER = re.compile(r"^(<<<<<<< before updating|>>>>>>> after updating)", re.MULTILINE)
_SRC_LINE = re.compile(r"^_src_path:.*$", re.MULTILINE)


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

    @property
    def conflicts(self) -> tuple[str, ...]:
        """Files that hold conflict markers (or have a ``.rej`` file) after the merge."""
        return tuple(c.path for c in self.changes if c.status == "conflict")


def update(
    dest: Path,
    *,
    to: str | None = None,
    preview: bool = False,
    conflict: ConflictMode = "inline",
    trust: bool = False,
) -> UpdateResult:
    """Update the project in ``dest`` to template version ``to`` (default: the newest).

    ``trust`` lets the template run its tasks, migrations and Jinja extensions.

    Raises :class:`InvalidInputError` for a project that is not in git, has no
    usable answers file, or asks for a version that does not exist or is older;
    :class:`EnvironmentProblem` for uncommitted changes or an unreachable template;
    :class:`Interrupted` on Ctrl-C. Conflicts are reported in the result, not raised.
    """
    project = Path(os.path.abspath(dest))
    if not project.is_dir():
        raise InvalidInputError(f"{project} is not a directory")
    top = toplevel(project, "mlrig update merges template changes with git")
    record = read_record(project)
    source = str(builtin_bundle()) if is_builtin(record.src_path) else record.src_path
    versions = template_versions(source)
    target = _target_version(to, versions, record.version)
    if target == record.version:
        return UpdateResult(project, source, record.version, target, (), False, ())
    dirty = run_git(project, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if dirty:
        first = dirty.splitlines()[0].split(maxsplit=1)[-1]
        raise EnvironmentProblem(
            f"{project} has uncommitted changes ({len(dirty.splitlines())} paths, e.g. {first}); "
            "commit or stash them (git stash --include-untracked), then update again"
        )
    head = run_git(top, "rev-parse", "HEAD")
    scratch = Path(tempfile.mkdtemp(prefix="mlrig-update-", dir=_scratch_root(top)))
    worktree = scratch / "worktree"
    try:
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
            head,
        )
        copy = worktree / project.relative_to(top)
        if source != record.src_path:
            _point_at(copy / ANSWERS_FILE, source)
            commit_all(worktree, "mlrig: use the installed built-in template")
        _copier_update(copy, target, conflict, trust=trust)
        run_git(worktree, "add", "--all")
        changes = _changes(worktree, head, project.relative_to(top))
        changed = [c.path for c in changes if c.status != "deleted"]
        findings = tuple(validate_pipelines(copy, only=changed)) if changed else ()
        if findings:
            # The project's pipelines may have findings of their own (an adopted repo's
            # jobs); only those the update brings in are reported.
            before = _findings_before(worktree, head, project.relative_to(top), changed)
            findings = new_findings(before, findings)
        if changes and not preview:
            patch = scratch / "update.patch"
            patch.write_bytes(
                run_git(worktree, "diff", "--cached", "--binary", head).encode() + b"\n"
            )
            run_git(top, "apply", "--binary", "--whitespace=nowarn", str(patch))
    except KeyboardInterrupt:
        raise Interrupted(
            f"update interrupted; {project} is as before (if `git status` shows changes, "
            "`git checkout -- . && git clean -fd` restores it)"
        ) from None
    finally:
        run_git(top, "worktree", "remove", "--force", str(worktree), check=False)
        run_git(top, "worktree", "prune", check=False)
        shutil.rmtree(scratch, ignore_errors=True)
    return UpdateResult(
        project, source, record.version, target, changes, bool(changes) and not preview, findings
    )


def _findings_before(worktree: Path, head: str, subdir: Path, paths: list[str]) -> list[Finding]:
    """The pipeline findings ``paths`` (relative to ``subdir``) had at ``head``."""
    with tempfile.TemporaryDirectory(prefix="mlrig-before-") as tmp:
        root = Path(tmp)
        for path in paths:
            shown = subprocess.run(
                ["git", "show", f"{head}:{(subdir / path).as_posix()}"],
                cwd=worktree,
                capture_output=True,
                check=False,
                stdin=subprocess.DEVNULL,
            )
            if shown.returncode == 0:  # else the update added the file
                target = root / path
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(shown.stdout)
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


def _point_at(answers_file: Path, source: str) -> None:
    import yaml

    value = yaml.safe_dump(source, default_style=None).removesuffix("\n...\n").strip()
    text = answers_file.read_text(encoding="utf-8")
    answers_file.write_text(_SRC_LINE.sub(f"_src_path: {value}", text, count=1), encoding="utf-8")


def _copier_update(
    project: Path, version: str, conflict: ConflictMode, *, trust: bool = False
) -> None:
    # Imported here: copier takes most of a second to import.
    from copier import run_update
    from copier.errors import CopierError, UnsafeTemplateError

    try:
        run_update(
            str(project),
            vcs_ref=version,
            overwrite=True,
            defaults=True,
            skip_answered=True,
            quiet=True,
            conflict=conflict,
            unsafe=trust,
            # copier runs git in its renders of both versions: never a .git from the template.
            exclude=NEVER_RENDERED,
        )
    except UnsafeTemplateError as exc:
        # copier's first line names the features; its second suggests copier's own flag.
        features = str(exc).splitlines()[0].rstrip(".")
        raise InvalidInputError(
            f"the template of {project.name} would run code on update ({features}); pass "
            "--trust if you trust it, or add its prefix to trusted_prefixes in your mlrig config"
        ) from None
    except CopierError as exc:
        raise EnvironmentProblem(f"copier could not update {project.name}: {exc}") from None


def _changes(worktree: Path, head: str, subdir: Path) -> tuple[FileChange, ...]:
    status = run_git(
        worktree,
        "diff",
        "--cached",
        "--name-status",
        "--no-renames",
        head,
        "--",
        subdir.as_posix() or ".",
    )
    rejected = {
        line[2:].removesuffix(".rej") for line in status.splitlines() if line.endswith(".rej")
    }
    changes = []
    for line in status.splitlines():
        code, name = line.split("\t", 1)
        path = Path(name).relative_to(subdir).as_posix() if subdir.parts else name
        kind = _STATUS.get(code[0], "changed")
        if name.endswith(".rej"):
            continue
        if name in rejected or (kind != "deleted" and _has_markers(worktree / name)):
            kind = "conflict"
        changes.append(FileChange(kind, path))
    return tuple(changes)


def _has_markers(path: Path) -> bool:
    try:
        return bool(_MARKER.search(path.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError):
        return False
