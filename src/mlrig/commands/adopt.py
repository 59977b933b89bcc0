"""``mlrig adopt`` and ``mlrig add``: bring mlrig's pipeline into a repository it did not create.

Both render the built-in template into a temporary directory and bring its files
into the repository under three rules: a file the repository lacks is written; a
pipeline file it has (``.github/workflows/<name>.yml`` rendered under the same
name, ``.gitlab-ci.yml``) is merged job by job, keeping every byte of the user's
text (see :mod:`mlrig._yamlmerge`); any other file it has is left alone and
reported. The answers file is written as copier writes it, so ``mlrig update``
works afterwards: copier's 3-way update sees the user's versions of files, and
the template files that were never written, as the project's own edits and
deletions, and keeps them.

Everything is checked and computed before the first byte is written, and the
files are written to temporary names and then renamed into place, so bad input
or a failure leaves the repository unchanged.
"""

from __future__ import annotations

import os
import re
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from mlrig._git import refuse_in_progress, run_git
from mlrig._infer import Inference, infer
from mlrig._record import ANSWERS_FILE, read_record
from mlrig._yamlmerge import job_names, merge_github, merge_gitlab, read_pipeline, select_jobs
from mlrig.answers import QUESTIONS, Answers, load_answers_file, resolve_answers
from mlrig.commands.new import render_template
from mlrig.errors import EnvironmentProblem, Interrupted, InvalidInputError
from mlrig.templates import (
    TemplateInfo,
    TemplateSpec,
    builtin_bundle,
    builtin_template,
    check_trust,
    inspect_template,
    is_builtin,
)
from mlrig.validate import Finding, new_findings, validate_pipelines

__all__ = ["COMPONENTS", "AdoptResult", "FileAction", "add", "adopt", "component_of"]

Component = Literal["ci", "docker", "tests", "monitoring", "sync"]
Action = Literal["write", "merge", "keep"]
#: The components ``mlrig add`` knows, in the order the help lists them.
COMPONENTS: tuple[Component, ...] = ("ci", "docker", "tests", "monitoring", "sync")

# The one map of the template's files and pipeline jobs to components (fnmatch
# patterns, first match wins). Files matching none (the starter package, data,
# pyproject.toml, README) are the "project" itself: only a full adopt brings them.
_FILE_COMPONENTS: tuple[tuple[str, Component], ...] = (
    (".github/workflows/ci.yml", "ci"),
    (".github/workflows/monitor.yml", "monitoring"),
    (".github/workflows/template-sync.yml", "sync"),
    (".github/dependabot.yml", "ci"),
    (".github/actionlint.yaml", "ci"),
    (".gitlab-ci.yml", "ci"),
    ("Dockerfile", "docker"),
    (".dockerignore", "docker"),
    ("tests/*", "tests"),
    ("src/*/monitor.py", "monitoring"),
)
#: Jobs that belong to another component than the pipeline file they are in.
_JOB_COMPONENTS: dict[str, Component] = {
    "docker": "docker",
    "docker-build": "docker",
    "monitor": "monitoring",
    "template-sync": "sync",
}
#: Answers a component cannot do without, and the value used when it is off.
_COMPONENT_ANSWERS: dict[Component, tuple[str, object, object]] = {
    "docker": ("docker", False, True),
    "monitoring": ("monitoring_schedule", "none", "0 6 * * 1"),
}
_PIPELINE = re.compile(r"\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.yml")
_STARTER_ONLY = ("data_command", "train_command", "evaluate_command")
# Components whose files are code that imports the starter package: on a repo
# without it (not adopted) they could only fail.
_NEEDS_STARTER: dict[Component, str] = {"tests": "tests", "monitoring": "monitoring job"}
# The starter's dataset: its data checks, training and monitoring read this file
# and expect its columns.
_STARTER_DATA = "data/train.csv"
_QUESTION_NAMES = frozenset(q.name for q in QUESTIONS)


@dataclass(frozen=True)
class FileAction:
    """What happens to one file of the rendered template."""

    path: str
    #: ``write``: the repo lacks it; ``merge``: mlrig's jobs go into the user's
    #: pipeline; ``keep``: the repo's own file stays as it is.
    action: Action
    #: For pipeline files: mlrig's jobs added, and mlrig's jobs the user already has.
    added_jobs: tuple[str, ...] = ()
    kept_jobs: tuple[str, ...] = ()
    #: Anything else the user should know about this file.
    notes: tuple[str, ...] = ()
    #: Why the merged file will not be accepted by its CI provider, if it will not.
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class AdoptResult:
    """What adopt or add did (or, with ``preview``, would do)."""

    project: Path
    #: The template version the repo is linked to (the answers file's ``_commit``).
    version: str
    #: The answers: a validated :class:`Answers` for the built-in template; for a
    #: house template, the data copier was given (it validated them).
    answers: Answers | Mapping[str, object]
    #: Inferred answers and commands with their sources; ``None`` for a managed repo.
    inference: Inference | None
    #: The answers given with ``-d``, which win over the inferred ones.
    overrides: Mapping[str, object]
    component: Component | None
    files: tuple[FileAction, ...]
    #: Problems mlrig brought into the written or merged pipeline files (schema,
    #: actionlint, a ``needs:`` the merge could not satisfy); the user's own are left out.
    findings: tuple[Finding, ...]
    preview: bool

    def by_action(self, action: Action) -> tuple[FileAction, ...]:
        """The files with this action."""
        return tuple(f for f in self.files if f.action == action)


def component_of(path: str, job: str | None = None) -> Component | None:
    """The component a template file (or a job in a pipeline file) belongs to."""
    if job is not None and job in _JOB_COMPONENTS:
        return _JOB_COMPONENTS[job]
    for pattern, component in _FILE_COMPONENTS:
        if fnmatch(path, pattern):
            return component
    return None


def adopt(
    dest: Path,
    *,
    overrides: Mapping[str, object] | None = None,
    preview: bool = False,
    component: Component | None = None,
    template: TemplateSpec | None = None,
    trust: bool = False,
) -> AdoptResult:
    """Link the repository in ``dest`` to a template: by default the built-in one's newest version.

    Answers are inferred from the repository; ``overrides`` (raw ``-d`` values)
    win and are validated. With ``component`` only that component's files and jobs
    are brought in. With ``template`` (a house template, e.g. one started by
    ``mlrig template init``) the repo is linked to that template instead, at
    ``template.ref`` or its newest version: the inferred answers it asks for are
    passed to copier, which validates them; it runs code only with ``trust``.

    Raises :class:`InvalidInputError` (exit 2) for a destination that is not the
    top folder of a git work tree, is already linked to a template, or holds a
    pipeline file that is not valid YAML, binary, over 5 MB, or a symlink; for a
    house template that does not exist, lacks copier.yml, runs code untrusted or
    rejects an answer; and :class:`EnvironmentProblem` (exit 3) for uncommitted
    changes, a merge or rebase in progress, a file that must be written but is
    read-only, or a template that cannot be reached.
    """
    project = _check_repo(dest)
    if (project / ANSWERS_FILE).exists() or (project / ANSWERS_FILE).is_symlink():
        raise InvalidInputError(
            f"{project} already has {ANSWERS_FILE}: it is linked to a template; use "
            "`mlrig update` or `mlrig add COMPONENT` instead"
        )
    # The repo's own commands are among the inferred answers (install_command, ...).
    inference = infer(project)
    given = inference.values()
    if component in _COMPONENT_ANSWERS:
        key, off, on = _COMPONENT_ANSWERS[component]
        if given.get(key) == off:
            given[key] = on
    # The starter's data, train and evaluate commands run the starter package on the
    # starter's dataset. Without the package (only a full adopt writes it), or when
    # the repo has a data/train.csv of its own (other columns), they cannot run:
    # leave those stages out unless the repo has its own command. Lint and test are
    # generic. The starter's monitoring job reads that file too.
    own_data = (project / _STARTER_DATA).exists()
    if component is not None or own_data:
        for kind in _STARTER_ONLY:
            if inference.answers[kind].source == "default":
                given[kind] = "none"
    if (
        component is None
        and own_data
        and inference.answers["monitoring_schedule"].source == ("default")
    ):
        given["monitoring_schedule"] = "none"
    given.update(overrides or {})
    info = _house_template(template, trust)
    answers: Answers | Mapping[str, object]
    if info is None:
        answers = resolve_answers(given, project_default=project.name, use_defaults=True)
    else:
        asked = {question.name for question in info.questions}
        unknown = sorted(set(overrides or {}) - asked)
        if unknown:
            raise InvalidInputError(
                f"template {info.spec} has no question {', '.join(map(repr, unknown))}; "
                f"its questions are: {', '.join(sorted(asked))}"
            )
        answers = {key: value for key, value in given.items() if key in asked}
    return _bring_in(
        project,
        answers,
        None,
        component,
        preview,
        inference,
        dict(overrides or {}),
        True,
        info,
        trust=trust,
    )


def _house_template(template: TemplateSpec | None, trust: bool) -> TemplateInfo | None:
    """The inspected house template (trust checked); ``None`` for the built-in one."""
    if template is None or template.url in (str(builtin_bundle()), str(builtin_template())):
        return None
    info = inspect_template(template)
    check_trust(info.spec, trusted=trust, info=info)
    return info


def add(component: Component, dest: Path, *, preview: bool = False) -> AdoptResult:
    """Add one component to the repository in ``dest``.

    A repo linked to the built-in template gets the component's files and jobs
    rendered at its recorded template version with its recorded answers (turned
    on when the component needs it, e.g. ``docker``); any other repo is adopted
    with only that component, except ``tests`` and ``monitoring``, whose code
    imports the starter package (:class:`InvalidInputError`: adopt first).
    Errors as for :func:`adopt`.
    """
    if component not in COMPONENTS:
        raise InvalidInputError(
            f"unknown component {component!r}; choose one of: {', '.join(COMPONENTS)}"
        )
    project = _check_repo(dest)
    if not (project / ANSWERS_FILE).exists():
        if component in _NEEDS_STARTER:
            raise InvalidInputError(
                f"mlrig add {component} brings the starter project's {_NEEDS_STARTER[component]}, "
                f"whose code imports the starter package; {project} is not linked to mlrig, so run "
                "`mlrig adopt` to bring both (it never overwrites your files), or "
                "`mlrig add ci` for the pipeline alone"
            )
        return adopt(project, preview=preview, component=component)
    record = read_record(project)
    if not is_builtin(record.src_path):
        raise InvalidInputError(
            f"{project} uses the template {record.src_path}; mlrig add knows the components "
            "of the built-in template only"
        )
    recorded = load_answers_file(project / ANSWERS_FILE)
    given = {key: value for key, value in recorded.items() if key in _QUESTION_NAMES}
    if component in _COMPONENT_ANSWERS:
        key, off, on = _COMPONENT_ANSWERS[component]
        if str(given.get(key)).lower() == str(off).lower():
            given[key] = on
    answers = resolve_answers(given, project_default=project.name, use_defaults=True)
    previous = resolve_answers(
        {k: v for k, v in recorded.items() if k in _QUESTION_NAMES},
        project_default=project.name,
        use_defaults=True,
    )
    return _bring_in(
        project, answers, record.version, component, preview, None, {}, answers != previous
    )


def _check_repo(dest: Path) -> Path:
    project = Path(os.path.abspath(dest))
    if not project.is_dir():
        raise InvalidInputError(f"{project} is not a directory; give the repository's path")
    top = run_git(project, "rev-parse", "--show-toplevel", check=False)
    if not top:
        raise InvalidInputError(
            f"{project} is not in a git repository; mlrig merges into tracked files so that "
            "every change can be reviewed and undone: run `git init && git add -A && "
            "git commit -m init` first"
        )
    if Path(os.path.realpath(top)) != Path(os.path.realpath(project)):
        raise InvalidInputError(
            f"{project} is inside the git repository {top}; CI providers read pipelines only "
            "at a repository's top folder: run mlrig there"
        )
    refuse_in_progress(project)
    dirty = run_git(project, "status", "--porcelain", "--untracked-files=all", "--", ".")
    if dirty:
        first = dirty.splitlines()[0].split(maxsplit=1)[-1]
        raise EnvironmentProblem(
            f"{project} has uncommitted changes ({len(dirty.splitlines())} paths, e.g. {first}); "
            "commit or stash them (git stash --include-untracked), then retry"
        )
    return project


def _bring_in(
    project: Path,
    answers: Answers | Mapping[str, object],
    version: str | None,
    component: Component | None,
    preview: bool,
    inference: Inference | None,
    overrides: dict[str, object],
    write_answers: bool,
    template: TemplateInfo | None = None,
    *,
    trust: bool = False,
) -> AdoptResult:
    with tempfile.TemporaryDirectory(prefix="mlrig-adopt-") as tmp:
        rendered = Path(tmp) / project.name
        if template is None:
            _render(rendered, answers, version)
        else:
            # The inspected commit, and copier's own checks on unless the user trusts
            # the template: the inspection alone never licenses running its code.
            render_template(
                template.spec.url,
                template.render_ref,
                rendered,
                answers,
                info=template,
                trust=trust,
            )
        record = read_record(rendered)
        plan, contents = _plan(project, rendered, component, write_answers)
        touched = [a.path for a in plan if a.action != "keep" and _PIPELINE.fullmatch(a.path)]
        merged = [a.path for a in plan if a.action == "merge"]
        # The user's pipelines may have findings of their own; only new ones are mlrig's.
        before = validate_pipelines(project, only=merged) if merged and not preview else []
        if not preview:
            _write(project, contents, rendered)
    findings = (
        new_findings(before, validate_pipelines(project, only=touched))
        if touched and not preview
        else ()
    )
    findings += tuple(
        Finding("merge", f"{action.path}: {problem}")
        for action in plan
        for problem in action.problems
    )
    return AdoptResult(
        project,
        record.version,
        answers,
        inference,
        overrides,
        component,
        tuple(plan),
        findings,
        preview,
    )


def _render(out: Path, answers: Answers | Mapping[str, object], version: str | None) -> None:
    # Imported here: copier takes most of a second to import.
    from copier.errors import CopierError

    try:
        render_template(str(builtin_bundle()), version, out, answers)
    except CopierError as exc:
        raise EnvironmentProblem(f"cannot render the built-in template: {exc}") from None


def _rendered_files(rendered: Path) -> list[str]:
    return sorted(
        p.relative_to(rendered).as_posix()
        for p in rendered.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(rendered).parts
    )


def _plan(
    project: Path, rendered: Path, component: Component | None, write_answers: bool
) -> tuple[list[FileAction], dict[str, str | None]]:
    """What to do with each rendered file; and the new content of each file to write.

    Content ``None`` means "copy the rendered file as it is".
    """
    plan: list[FileAction] = []
    contents: dict[str, str | None] = {}
    for rel in _rendered_files(rendered):
        if rel == ANSWERS_FILE:
            if write_answers:
                _check_writable(project, rel)
                plan.append(FileAction(rel, "write"))
                contents[rel] = None
            continue
        pipeline = bool(_PIPELINE.fullmatch(rel))
        source = rendered / rel
        jobs: tuple[str, ...] | None = None
        if component is not None:
            if pipeline:
                text = source.read_text(encoding="utf-8")
                gitlab = rel == ".gitlab-ci.yml"
                jobs = tuple(
                    job
                    for job in job_names(text, gitlab=gitlab, name=rel)
                    if component_of(rel, job) == component
                )
                if not jobs:
                    continue
            elif component_of(rel) != component:
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
            user = read_pipeline(target, rel)
            ours = source.read_text(encoding="utf-8")
            if rel == ".gitlab-ci.yml":
                included = _included_jobs(project, user)
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


def _included_jobs(project: Path, text: str) -> dict[str, str | None]:
    """Jobs (name -> stage) defined in the local files a ``.gitlab-ci.yml`` includes.

    Remote, project and template includes cannot be read offline and are skipped;
    so is a local include that is missing, unreadable or outside the repository.
    """
    from mlrig._yamlmerge import GITLAB_KEYWORDS, parse_pipeline

    includes = parse_pipeline(text, ".gitlab-ci.yml") or {}
    entries = includes.get("include", []) if isinstance(includes, dict) else []
    entries = entries if isinstance(entries, list) else [entries]
    patterns = [
        entry if isinstance(entry, str) else entry.get("local")
        for entry in entries
        if isinstance(entry, (str, dict))
    ]
    root = Path(os.path.realpath(project))
    jobs: dict[str, str | None] = {}
    for pattern in patterns:
        if not isinstance(pattern, str) or "://" in pattern or not pattern.strip("/"):
            continue
        try:
            paths = sorted(project.glob(pattern.lstrip("/")))
        except (ValueError, OSError):
            continue
        for path in paths:
            if not Path(os.path.realpath(path)).is_relative_to(root) or not path.is_file():
                continue
            try:
                doc = parse_pipeline(read_pipeline(path, pattern), pattern)
            except InvalidInputError:
                continue
            for key, value in doc.items() if isinstance(doc, dict) else ():
                if str(key) not in GITLAB_KEYWORDS and not str(key).startswith("."):
                    stage = value.get("stage") if isinstance(value, dict) else None
                    jobs[str(key)] = str(stage) if stage is not None else None
    return jobs


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


def _write(project: Path, contents: dict[str, str | None], rendered: Path) -> None:
    """Write every file to a temporary name first, then rename them all into place.

    A failure (or Ctrl-C) before the renames removes the temporary files and any
    folder created for them, leaving the repository as it was.
    """
    staged: list[tuple[Path, Path]] = []
    created: list[Path] = []
    try:
        for rel, text in contents.items():
            target = project / rel
            missing = [p for p in [target.parent, *target.parent.parents] if not p.exists()]
            for folder in reversed(missing):
                folder.mkdir()
                created.append(folder)
            handle, name = tempfile.mkstemp(
                prefix=f".{target.name}.", suffix=".mlrig", dir=target.parent
            )
            temp = Path(name)
            staged.append((temp, target))
            with os.fdopen(handle, "wb") as out:
                source = rendered / rel
                out.write(source.read_bytes() if text is None else text.encode("utf-8"))
            mode = (target if target.exists() else rendered / rel).stat().st_mode
            temp.chmod(stat.S_IMODE(mode))
        for temp, target in staged:
            os.replace(temp, target)
    except KeyboardInterrupt:
        _undo(staged, created)
        raise Interrupted(f"interrupted; {project} is as before") from None
    except OSError as exc:
        _undo(staged, created)
        raise EnvironmentProblem(
            f"cannot write into {project}: {exc.strerror or exc}; nothing was changed"
        ) from None


def _undo(staged: list[tuple[Path, Path]], created: list[Path]) -> None:
    for temp, _ in staged:
        temp.unlink(missing_ok=True)
    for folder in reversed(created):
        shutil.rmtree(folder, ignore_errors=True)
