"""What adopt does with each file of the rendered template: write, merge or keep.

:func:`plan_files` applies adopt's rules to every rendered file (see
:mod:`mlrig.commands.adopt`): a file the repository lacks and git does not ignore
is written; ``ci.yml`` and ``.gitlab-ci.yml`` (every pipeline, for a managed
repository) get mlrig's missing jobs merged in (:mod:`mlrig._yamlmerge`); anything
else is kept and reported. It refuses, before anything is written, a pipeline
reached through a symlink, a symlink out of the repository and a read-only target;
and never writes into a submodule or nested clone. It only reads the repository.
"""

from __future__ import annotations

import os
import re
import stat
from pathlib import Path

from mlrig._git import run_git
from mlrig._record import ANSWERS_FILE
from mlrig._repo import Repo, scan
from mlrig._yamlmerge import job_names, merge_github, merge_gitlab, read_pipeline, select_jobs
from mlrig.commands._adopt_result import Component, FileAction, component_of
from mlrig.errors import EnvironmentProblem, InvalidInputError

PIPELINE = re.compile(r"\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.yml")


# The pipelines whose jobs go into a user's file of the same name. A user's own
# monitor.yml or template-sync.yml is never merged into: its triggers are the user's,
# and mlrig's scheduled jobs must run only on mlrig's schedule.
_MERGED = frozenset({".github/workflows/ci.yml", ".gitlab-ci.yml"})


def _rendered_files(rendered: Path) -> list[str]:
    return sorted(
        p.relative_to(rendered).as_posix()
        for p in rendered.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(rendered).parts
    )


def plan_files(
    project: Path,
    rendered: Path,
    component: Component | None,
    write_answers: bool,
    *,
    merge_all: bool = False,
    model: Repo | None = None,
) -> tuple[list[FileAction], dict[str, str | None]]:
    """What to do with each rendered file; and the new content of each file to write.

    Content ``None`` means "copy the rendered file as it is". ``merge_all``: every
    pipeline file the repository has is mlrig's (a managed repository), so each gets
    the missing jobs; otherwise only ci.yml and .gitlab-ci.yml are merged into.
    ``model`` is the repository model of ``project`` (scanned here when needed).
    """
    plan: list[FileAction] = []
    contents: dict[str, str | None] = {}
    files = _rendered_files(rendered)
    ignored = git_ignored(project, [rel for rel in files if not (project / rel).exists()])
    submodules = _submodules(project)
    for rel in files:
        if rel == ANSWERS_FILE:
            if write_answers:
                _check_writable(project, rel)
                plan.append(FileAction(rel, "write"))
                contents[rel] = None
            continue
        pipeline = bool(PIPELINE.fullmatch(rel))
        source = rendered / rel
        if rel in ignored:
            if component is None or component_of(rel) == component or pipeline:
                plan.append(FileAction(rel, "keep", notes=("gitignored: mlrig writes none",)))
            continue
        jobs: tuple[str, ...] | None = None
        if component is not None:
            # A file of another component that the repository has stays its own.
            other = FileAction(rel, "keep") if (project / rel).exists() else None
            if pipeline:
                text = source.read_text(encoding="utf-8")
                gitlab = rel == ".gitlab-ci.yml"
                jobs = tuple(
                    job
                    for job in job_names(text, gitlab=gitlab, name=rel)
                    if component_of(rel, job) == component
                )
                if not jobs:
                    plan.extend([other] if other and not merge_all else [])
                    continue
                if merge_all and component_of(rel) == component and other is None:
                    # The component's own pipeline, missing from a managed repository,
                    # comes whole, as `new` renders it with the recorded answers: the
                    # jobs of other components that those answers turn on included.
                    jobs = None
            elif component_of(rel) != component:
                plan.extend([other] if other and not merge_all else [])
                continue
        nested = _other_repository(project, rel, submodules)
        if nested is not None:
            plan.append(
                FileAction(
                    rel,
                    "keep",
                    notes=(
                        f"{nested} is another git repository (a submodule): mlrig writes "
                        "nothing inside it",
                    ),
                )
            )
            continue
        target = project / rel
        blocker = _symlink_on_path(project, rel)
        if blocker is not None:
            if pipeline:
                raise InvalidInputError(
                    f"{blocker} is a symlink; mlrig never merges or writes through symlinks: "
                    "replace it with the real file or folder, then retry"
                )
            plan.append(FileAction(rel, "keep", notes=(f"{blocker} is a symlink",)))
            continue
        if target.exists():
            if not pipeline or not target.is_file():
                plan.append(FileAction(rel, "keep"))
                continue
            if not merge_all and rel not in _MERGED:
                plan.append(
                    FileAction(rel, "keep", notes=("your own workflow: mlrig merges nothing in",))
                )
                continue
            user = read_pipeline(target, rel, root=project)
            ours = source.read_text(encoding="utf-8")
            if rel == ".gitlab-ci.yml":
                # The jobs of its local includes (the repository model resolves them).
                model = model or scan(project)
                included = {
                    job.name: job.stage for job in model.ci_jobs if job.provider == "gitlab"
                }
                result = merge_gitlab(user, ours, name=rel, only=jobs, included=included)
            else:
                result = merge_github(user, ours, name=rel, only=jobs)
            if not result.added:
                plan.append(FileAction(rel, "keep", (), result.kept, result.notes))
                continue
            _check_writable(project, rel)
            plan.append(
                FileAction(rel, "merge", result.added, result.kept, result.notes, result.problems)
            )
            contents[rel] = result.text
            continue
        if _blocked_by_file(project, rel):
            plan.append(FileAction(rel, "keep", notes=("a file stands where its folder goes",)))
            continue
        _check_writable(project, rel)
        if jobs is not None:
            text = source.read_text(encoding="utf-8")
            selected = select_jobs(text, jobs, gitlab=rel == ".gitlab-ci.yml", name=rel)
            if not selected:
                continue
            contents[rel] = selected
            plan.append(
                FileAction(rel, "write", tuple(job_names(selected, gitlab=rel == ".gitlab-ci.yml")))
            )
        else:
            contents[rel] = None
            added = (
                tuple(job_names(source.read_text(encoding="utf-8"), gitlab=rel == ".gitlab-ci.yml"))
                if pipeline
                else ()
            )
            plan.append(FileAction(rel, "write", added))
    return plan, contents


def git_ignored(project: Path, paths: list[str]) -> set[str]:
    """Those of ``paths`` that git ignores (``git check-ignore``): mlrig never writes there."""
    if not paths:
        return set()
    out = run_git(project, "check-ignore", "--", *paths, check=False)
    return {line for line in out.splitlines() if line}


def _submodules(project: Path) -> frozenset[str]:
    """The paths of the submodules ``project``'s index records (initialised or not)."""
    out = run_git(project, "ls-files", "--stage", "-z", check=False)
    entries = (entry.partition("\t") for entry in out.split("\0"))
    return frozenset(path for meta, _, path in entries if meta.startswith("160000 "))


def _other_repository(project: Path, rel: str, submodules: frozenset[str]) -> str | None:
    """The folder on the way to ``rel`` that is another repository's work tree, if any.

    That is a submodule of ``project`` (``submodules``), or any folder with a
    ``.git`` of its own (a nested clone): a file written there would change that
    repository, not this one.
    """
    current = project
    for part in Path(rel).parts[:-1]:
        current = current / part
        name = current.relative_to(project).as_posix()
        if name in submodules or os.path.lexists(current / ".git"):
            return name
        if not current.is_dir():
            return None
    return None


def _symlink_on_path(project: Path, rel: str) -> str | None:
    """The first symlink on the way to ``rel`` (the file itself included), if any.

    Raises :class:`InvalidInputError` when it points outside the repository: mlrig
    must never read or write there.
    """
    current = project
    for part in Path(rel).parts:
        current = current / part
        if current.is_symlink():
            name = current.relative_to(project).as_posix()
            target = Path(os.path.realpath(current))
            if not target.is_relative_to(Path(os.path.realpath(project))):
                raise InvalidInputError(
                    f"{name} is a symlink to {target}, outside the repository; mlrig never "
                    "follows it: replace it with a real file or folder, or remove it, then retry"
                )
            return name
        if not current.exists():
            return None
    return None


def _blocked_by_file(project: Path, rel: str) -> bool:
    current = project
    for part in Path(rel).parts[:-1]:
        current = current / part
        if current.exists() and not current.is_dir():
            return True
    return False


def _check_writable(project: Path, rel: str) -> None:
    """Refuse a read-only file, or folder, that would have to change (checked by mode bits too,
    so that it holds for root)."""
    target = project / rel
    probe = target
    while not probe.exists():
        probe = probe.parent
    mode = probe.stat().st_mode
    if not os.access(probe, os.W_OK) or not mode & stat.S_IWUSR:
        what = "file" if probe.is_file() else "folder"
        name = probe.relative_to(project).as_posix() or "."
        raise EnvironmentProblem(
            f"the {what} {name} is read-only and mlrig must write {rel}; make it writable "
            "(chmod u+w), then retry"
        )
