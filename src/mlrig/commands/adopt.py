"""``mlrig adopt`` and ``mlrig add``: bring mlrig's pipeline into a repository it did not create.

Both render the built-in template in its existing-repository mode (``existing_repo``:
only the pipelines and mlrig's own tools under ``.mlrig/``, never a starter project)
into a temporary directory, each stage running the repository's own command, and
bring its files into the repository under three rules: a file the repository lacks,
and that is not gitignored, is written; a pipeline it has (``.github/workflows/ci.yml``,
``.gitlab-ci.yml``) is merged job by job, keeping every byte of the user's text (see
:mod:`mlrig._yamlmerge`); any other file it has is left alone and reported. A stage
without a command is left out and named with the answer that turns it on.

What adopt left to the repository is recorded in the answers (``own_files``: files
the template never renders again; ``own_jobs``: mlrig jobs it never renders again,
because the repository has its own job of that name or did not take it), so that
``mlrig update`` (copier's 3-way update) only ever moves mlrig's own files and jobs.

Everything is checked and computed before the first byte is written, and the
files are written to temporary names and then renamed into place, so bad input
or a failure leaves the repository unchanged.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import stat
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, replace
from fnmatch import fnmatch
from pathlib import Path
from typing import Literal

from mlrig._git import refuse_in_progress, refuse_uncommitted, run_git
from mlrig._infer import COMMAND_KINDS, Inference, infer
from mlrig._progress import Progress, silent
from mlrig._record import ANSWERS_FILE, read_record
from mlrig._repo import Repo, left_out, scan
from mlrig._yamlmerge import job_names, merge_github, merge_gitlab, read_pipeline, select_jobs
from mlrig.answers import (
    QUESTIONS,
    RECORDED,
    Answers,
    load_answers_file,
    monitoring_needs,
    resolve_answers,
)
from mlrig.commands.new import render_template
from mlrig.commands.update import update
from mlrig.errors import EnvironmentProblem, Interrupted, InvalidInputError
from mlrig.template_info import TemplateInfo, check_trust, inspect_template
from mlrig.templates import TemplateSpec, builtin_bundle, builtin_template, is_builtin
from mlrig.validate import Finding, new_findings, validate_pipelines

__all__ = ["COMPONENTS", "AdoptResult", "FileAction", "LeftOut", "add", "adopt", "component_of"]

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
    (".mlrig/*", "ci"),
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
    "sync": ("template_sync", False, True),
}
_PIPELINE = re.compile(r"\.github/workflows/[^/]+\.ya?ml|\.gitlab-ci\.yml")
# The pipelines whose jobs go into a user's file of the same name. A user's own
# monitor.yml or template-sync.yml is never merged into: its triggers are the user's,
# and mlrig's scheduled jobs must run only on mlrig's schedule.
_MERGED = frozenset({".github/workflows/ci.yml", ".gitlab-ci.yml"})
# Examples of the answers that turn the metric gate and monitoring on (the stage
# commands' examples are the repository model's: mlrig._repo.left_out).
_EXAMPLES = {
    "metrics_file": "metrics.json",
    "monitoring_schedule": "0 6 * * 1",
}
# mlrig's own tool for the metric gate, written into the repository.
_GATE = ".mlrig/gate.py"
#: The rule a GitLab job needs so that a scheduled pipeline never runs it.
SCHEDULE_RULE = '- if: $CI_PIPELINE_SOURCE == "schedule"\n  when: never'
_QUESTION_NAMES = frozenset(q.name for q in QUESTIONS) | frozenset(RECORDED)


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
class LeftOut:
    """A stage the pipeline leaves out, why, and the answer (or file) that turns it on."""

    stage: str
    reason: str
    #: e.g. ``-d test_command='pytest -q'``.
    hint: str


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
    #: The stages left out, for a repository in existing-repository mode.
    left_out: tuple[LeftOut, ...] = ()

    def by_action(self, action: Action) -> tuple[FileAction, ...]:
        """The files with this action."""
        return tuple(f for f in self.files if f.action == action)

    def as_dict(self) -> dict[str, object]:
        """The stable JSON form of ``mlrig adopt --json`` and ``mlrig add --json``.

        ``answers`` are the values the template was rendered with; ``inferred`` the
        value each answer was inferred as, with its source (absent for a managed repo).
        """
        answers = (
            dict(self.answers) if isinstance(self.answers, Mapping) else self.answers.to_data()
        )
        inferred = (
            {
                name: {"value": item.value, "source": item.source, "note": item.note}
                for name, item in self.inference.answers.items()
            }
            if self.inference is not None
            else None
        )
        return {
            "project": str(self.project),
            "version": self.version,
            "component": self.component,
            "preview": self.preview,
            "answers": answers,
            "inferred": inferred,
            "overrides": dict(self.overrides),
            "files": [
                {
                    "path": f.path,
                    "action": f.action,
                    "added_jobs": list(f.added_jobs),
                    "kept_jobs": list(f.kept_jobs),
                    "notes": list(f.notes),
                    "problems": list(f.problems),
                }
                for f in self.files
            ],
            "left_out": [
                {"stage": left.stage, "reason": left.reason, "hint": left.hint}
                for left in self.left_out
            ],
            "findings": [f.as_dict() for f in self.findings],
        }


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
    progress: Progress = silent,
) -> AdoptResult:
    """Link the repository in ``dest`` to a template: by default the built-in one's newest version.

    Answers are inferred from the repository; ``overrides`` (raw ``-d`` values)
    win and are validated. With ``component`` only that component's files and jobs
    are brought in. With ``template`` (a house template, e.g. one started by
    ``mlrig template init``) the repo is linked to that template instead, at
    ``template.ref`` or its newest version: the inferred answers it asks for are
    passed to copier, which validates them; it runs code only with ``trust``.
    ``progress`` is called as each phase starts (reading the repository, rendering).

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
    progress("reading what the repository runs")
    inference = infer(project)
    info = _house_template(template, trust)
    answers: Answers | Mapping[str, object]
    if info is None:
        python = inference.repo.python if inference.repo is not None else None
        if (
            python is not None
            and not python.supported
            and "python_version" not in (overrides or {})
        ):
            raise InvalidInputError(f"python_version: {python.why}")
        given = _existing_answers(project, inference, component, dict(overrides or {}))
        answers = resolve_answers(given, project_default=project.name, use_defaults=True)
    else:
        given = inference.values()
        given.update(overrides or {})
        asked = {question.name for question in info.questions}
        unknown = sorted(set(overrides or {}) - asked)
        if unknown:
            raise InvalidInputError(
                f"template {info.spec} has no question {', '.join(map(repr, unknown))}; "
                f"its questions are: {', '.join(sorted(asked))}"
            )
        answers = {key: value for key, value in given.items() if key in asked}
    progress("rendering the pipelines and merging them into yours")
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


def _existing_answers(
    project: Path,
    inference: Inference,
    component: Component | None,
    overrides: Mapping[str, object],
) -> dict[str, object]:
    """The built-in template's answers for a repository mlrig did not create.

    Every stage runs the repository's own command or is left out ('none'); the image
    stage needs the repository's Dockerfile; monitoring needs its evaluate command
    and metrics file; and on GitLab, monitoring and template sync wait until every
    job of the user's skips scheduled pipelines. ``overrides`` win. Raises
    :class:`InvalidInputError` when ``component`` cannot be brought in.
    """
    given = inference.values()
    given["existing_repo"] = True
    for stage in inference.left_out:
        given[f"{stage}_command"] = "none"
    has_dockerfile = (project / "Dockerfile").is_file()
    given["docker"] = has_dockerfile and bool(given.get("docker", True))
    if component == "docker" and not has_dockerfile:
        raise InvalidInputError(
            f"{project} has no Dockerfile; mlrig builds the repository's own image and "
            "writes no Dockerfile into it: add one, then run `mlrig add docker` again"
        )
    merged = {**given, **overrides}
    if component == "monitoring":
        missing = monitoring_needs(merged)
        if missing:
            raise InvalidInputError(
                "monitoring a repository mlrig did not create runs its evaluate command and "
                f"gates the metrics file it writes; no {' or '.join(missing)} was found: run "
                f"`mlrig adopt {_flags(missing)}`"
            )
        given["monitoring_schedule"] = (
            given["monitoring_schedule"]
            if given.get("monitoring_schedule") != "none"
            else _EXAMPLES["monitoring_schedule"]
        )
    elif monitoring_needs(merged):
        given["monitoring_schedule"] = "none"
    if merged.get("ci_provider") in ("gitlab", "both") and _schedule_blockers(inference.repo):
        given["monitoring_schedule"] = "none"
        given["template_sync"] = False
    if overrides.get("docker") is not None and not has_dockerfile:
        try:
            wants = str(overrides["docker"]).strip().lower() in ("true", "yes", "y", "on", "1")
        except (TypeError, ValueError):
            wants = False
        if wants:
            raise InvalidInputError(
                "docker: the repository has no Dockerfile, and mlrig writes none into a "
                "repository it did not create; add one, or leave out -d docker"
            )
    given.update(overrides)
    if given.get("metrics_file") and _ignored(project, [_GATE]):
        raise InvalidInputError(
            f"metrics_file: the gate runs mlrig's {_GATE}, and git ignores that path here; "
            "stop ignoring .mlrig/ (e.g. add `!.mlrig/` to .gitignore), or leave out "
            "-d metrics_file"
        )
    return given


def _flags(keys: list[str]) -> str:
    """``-d KEY=EXAMPLE`` for each answer in ``keys``."""
    return " ".join(
        left_out(key.removesuffix("_command"))[1]
        if key.endswith("_command")
        else f"-d {key}={shlex.quote(_EXAMPLES[key])}"
        for key in keys
    )


def _schedule_blockers(repo: Repo | None, mlrig_jobs: frozenset[str] = frozenset()) -> list[str]:
    """The user's GitLab jobs a scheduled pipeline would run (the repository model's
    ``on_schedule``); ``mlrig_jobs`` are mlrig's own, already in the pipeline."""
    if repo is None:
        return []
    found = (j.name for j in repo.ci_jobs if j.provider == "gitlab" and j.on_schedule)
    return list(dict.fromkeys(name for name in found if name not in mlrig_jobs))


def left_out_stages(
    answers: Answers,
    project: Path,
    inference: Inference | None = None,
    mlrig_jobs: frozenset[str] = frozenset(),
) -> tuple[LeftOut, ...]:
    """The stages an existing repository's pipeline leaves out, each with its hint.

    The reasons of the stage commands are the inference's when there is one (adopt);
    ``mlrig_jobs`` are mlrig's jobs in the repository's GitLab pipeline (``add``).
    """
    if not answers.existing_repo:
        return ()
    found: list[LeftOut] = []
    reasons = inference.left_out if inference is not None else {}
    manager = (
        inference.repo.package_manager.name
        if inference is not None and inference.repo is not None
        else answers.package_manager
    )
    for stage in COMMAND_KINDS:
        if stage != "evaluate" and getattr(answers, f"{stage}_command") == "none":
            found.append(LeftOut(stage, *reasons.get(stage, left_out(stage, manager))))
    if answers.train_command == "none" or not answers.metrics_file:
        needs = [key for key in ("metrics_file",) if not answers.metrics_file]
        if answers.train_command == "none":
            needs.insert(0, "train_command")
        flags = _flags(needs)
        found.append(
            LeftOut(
                "metric gate",
                "no metrics file that the train command writes" if needs else "no train stage",
                flags,
            )
        )
    if not answers.docker:
        found.append(
            LeftOut(
                "image",
                "no Dockerfile" if not (project / "Dockerfile").is_file() else "docker is off",
                "add a Dockerfile, then `mlrig add docker`"
                if not (project / "Dockerfile").is_file()
                else "-d docker=true",
            )
        )
    gitlab = answers.ci_provider in ("gitlab", "both")
    repo = inference.repo if inference is not None else (scan(project) if gitlab else None)
    unsafe = _schedule_blockers(repo, mlrig_jobs) if gitlab else []
    schedule_hint = (
        f"add this rule first in the `rules:` of {', '.join(unsafe)} (or `schedules` to their "
        f"`except:`), then use"
        if unsafe
        else ""
    )
    if answers.monitoring_schedule == "none":
        missing = monitoring_needs(answers.to_data())
        reason = (
            f"a scheduled pipeline would also run your jobs {', '.join(unsafe)}"
            if unsafe
            else f"no {' or '.join(missing)}"
            if missing
            else "no schedule"
        )
        flags = _flags([*missing, "monitoring_schedule"])
        hint = f"{schedule_hint}:\n{SCHEDULE_RULE}\n{flags}" if unsafe else flags
        found.append(LeftOut("monitoring", reason, hint))
    if not answers.template_sync:
        reason = (
            f"a scheduled pipeline would also run your jobs {', '.join(unsafe)}"
            if unsafe
            else "template_sync is off"
        )
        hint = "-d template_sync=true"
        if unsafe:
            hint = f"{schedule_hint}:\n{SCHEDULE_RULE}\n{hint}"
        found.append(LeftOut("template sync", reason, hint))
    return tuple(found)


def _house_template(template: TemplateSpec | None, trust: bool) -> TemplateInfo | None:
    """The inspected house template (trust checked); ``None`` for the built-in one."""
    if template is None or template.url in (str(builtin_bundle()), str(builtin_template())):
        return None
    info = inspect_template(template)
    check_trust(info.spec, trusted=trust, info=info)
    return info


def add(component: Component, dest: Path, *, preview: bool = False) -> AdoptResult:
    """Add one component to the repository in ``dest``.

    A project made by ``mlrig new`` whose answers leave the component off (``docker``,
    ``monitoring``, ``sync``) gets it by that answer turned on, at its recorded template
    version: copier's 3-way update (see :func:`~mlrig.commands.update.update`), so every
    file comes out as ``new`` with that answer makes it (triggers, dependabot entries,
    README included) and the project's own edits are kept; conflicts are findings.
    Otherwise a repo linked to the built-in template gets the component's missing files
    and jobs rendered at its recorded version with its recorded answers (turned on when
    the component needs it, for an adopted repository). Any other repo is adopted in
    existing-repository mode with only that component: ``ci`` (the stages running its
    own commands), ``docker`` (building its own Dockerfile), ``monitoring`` (its own
    evaluate command and metrics file, on a schedule), ``sync``. ``tests`` is refused
    there (:class:`InvalidInputError`): mlrig brings no tests into a repository it did
    not create; its test job runs the repository's own. Errors as for :func:`adopt`.
    """
    if component not in COMPONENTS:
        raise InvalidInputError(
            f"unknown component {component!r}; choose one of: {', '.join(COMPONENTS)}"
        )
    project = _check_repo(dest)
    if not (project / ANSWERS_FILE).exists():
        if component == "tests":
            raise InvalidInputError(
                f"mlrig add tests brings the starter project's tests, and {project} is not "
                "an mlrig project: mlrig writes no tests into a repository it did not create. "
                "`mlrig add ci` adds a test job that runs your own test command"
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
    previous = resolve_answers(given, project_default=project.name, use_defaults=True)
    if component in _COMPONENT_ANSWERS:
        key, off, on = _COMPONENT_ANSWERS[component]
        if str(given.get(key)).lower() == str(off).lower():
            if not previous.existing_repo:
                return _turn_on(project, record.version, component, {key: on}, preview)
            given[key] = on
    if previous.existing_repo:
        if component == "docker" and not (project / "Dockerfile").is_file():
            raise InvalidInputError(
                f"{project} has no Dockerfile; mlrig builds the repository's own image and "
                "writes no Dockerfile into it: add one, then run `mlrig add docker` again"
            )
        if component == "monitoring" and monitoring_needs(given):
            missing = monitoring_needs(given)
            raise InvalidInputError(
                "monitoring a repository mlrig did not create runs its evaluate command and "
                f"gates the metrics file it writes; {project} has no {' or '.join(missing)} in "
                f"{ANSWERS_FILE}: set them there ({_flags(missing)}), then retry"
            )
        # The component's files and jobs are mlrig's again, unless the repo has the file.
        given["own_files"] = [
            path
            for path in previous.own_files
            if component_of(path) != component or (project / path).exists()
        ]
        given["own_jobs"] = [
            job for job in previous.own_jobs if _JOB_COMPONENTS.get(job, "ci") != component
        ]
    answers = resolve_answers(given, project_default=project.name, use_defaults=True)
    return _bring_in(
        project,
        answers,
        record.version,
        component,
        preview,
        None,
        {},
        answers != previous,
        owned=previous.own_jobs,
    )


def _turn_on(
    project: Path,
    version: str,
    component: Component,
    data: dict[str, object],
    preview: bool,
) -> AdoptResult:
    """Turn ``component`` on in a project ``mlrig new`` made: its answers ``data`` changed
    by an update at its own template ``version``."""
    result = update(project, to=version, data=data, preview=preview)
    actions = tuple(
        FileAction(
            change.path,
            "write" if change.status == "added" or change.path == ANSWERS_FILE else "merge",
            notes=("deleted",) if change.status == "deleted" else (),
            problems=("conflicts with your edits",) if change.status == "conflict" else (),
        )
        for change in result.changes
    )
    conflicts = tuple(
        Finding("merge", f"{path}: conflicts with your edits (inline markers); resolve them")
        for path in result.conflicts
    )
    answers = resolve_answers(
        {**load_answers_file(project / ANSWERS_FILE), **data},
        project_default=project.name,
        use_defaults=True,
    )
    return AdoptResult(
        project,
        version,
        answers,
        None,
        {},
        component,
        actions,
        (*result.findings, *conflicts),
        preview,
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
    refuse_uncommitted(project, then="retry")
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
    owned: tuple[str, ...] = (),
) -> AdoptResult:
    """Render, plan, check and (unless ``preview``) write; see the module docstring.

    ``owned``: the jobs a managed repository recorded as its own before this ``add``.
    """
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
        managed = version is not None
        plan, contents = _plan(
            project,
            rendered,
            component,
            write_answers,
            merge_all=managed,
            model=inference.repo if inference is not None else None,
        )
        if isinstance(answers, Answers) and answers.existing_repo and write_answers:
            own = _own(answers, plan, rendered, managed, owned)
            if own != answers:
                # The files and jobs the answers name were not brought in anyway: only
                # the answers file changes.
                answers = own
                _record_own(rendered / ANSWERS_FILE, own)
        touched = [a.path for a in plan if a.action != "keep" and _PIPELINE.fullmatch(a.path)]
        merged = [a.path for a in plan if a.action == "merge"]
        # The user's pipelines may have findings of their own; only new ones are mlrig's.
        before = validate_pipelines(project, only=merged) if merged and not preview else []
        if not preview:
            _write(project, contents, rendered)
        ours: frozenset[str] = frozenset()
        pipeline = rendered / ".gitlab-ci.yml"
        if managed and isinstance(answers, Answers) and pipeline.is_file():
            names = job_names(pipeline.read_text(encoding="utf-8"), gitlab=True)
            ours = frozenset(names) - frozenset(answers.own_jobs)
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
        left_out_stages(answers, project, inference, ours) if isinstance(answers, Answers) else (),
    )


def _own(
    answers: Answers,
    plan: list[FileAction],
    rendered: Path,
    managed: bool,
    owned: tuple[str, ...] = (),
) -> Answers:
    """``answers`` with what stays the repository's own: the files left alone, and the
    jobs of the written or merged pipelines that mlrig did not add.

    On a managed repository (``mlrig add``) the jobs already there are mlrig's, except
    those ``owned`` before: only the jobs added now stop being the repository's.
    """
    files = set(answers.own_files)
    kept = {job for action in plan for job in action.kept_jobs}
    jobs = set(answers.own_jobs) | (set(owned) & kept)
    for action in plan:
        if action.path == ANSWERS_FILE:
            continue
        if action.action == "keep" and not managed:
            files.add(action.path)
        elif action.action != "keep":
            files.discard(action.path)
        jobs -= set(action.added_jobs)
        if not managed and action.action != "keep" and _PIPELINE.fullmatch(action.path):
            text = (rendered / action.path).read_text(encoding="utf-8")
            every = job_names(text, gitlab=action.path == ".gitlab-ci.yml", name=action.path)
            jobs |= set(every) - set(action.added_jobs)
    return replace(answers, own_files=tuple(sorted(files)), own_jobs=tuple(sorted(jobs)))


def _record_own(path: Path, answers: Answers) -> None:
    """Set ``own_files`` and ``own_jobs`` in the built-in template's rendered answers file.

    The file is rendered with the template's ``to_nice_yaml`` filter, and is
    re-dumped with it: the result is what copier writes for these answers.
    """
    from mlrig._yaml import dump_like_copier, load_copier

    text = path.read_text(encoding="utf-8")
    header = "".join(line for line in text.splitlines(keepends=True) if line.startswith("#"))
    data = load_copier(text, what=str(path))
    data.update(own_files=list(answers.own_files), own_jobs=list(answers.own_jobs))
    path.write_text(header + dump_like_copier(data), encoding="utf-8")


def _render(out: Path, answers: Answers | Mapping[str, object], version: str | None) -> None:
    render_template(str(builtin_bundle()), version, out, answers)


def _rendered_files(rendered: Path) -> list[str]:
    return sorted(
        p.relative_to(rendered).as_posix()
        for p in rendered.rglob("*")
        if p.is_file() and ".git" not in p.relative_to(rendered).parts
    )


def _plan(
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
    ignored = _ignored(project, [rel for rel in files if not (project / rel).exists()])
    submodules = _submodules(project)
    for rel in files:
        if rel == ANSWERS_FILE:
            if write_answers:
                _check_writable(project, rel)
                plan.append(FileAction(rel, "write"))
                contents[rel] = None
            continue
        pipeline = bool(_PIPELINE.fullmatch(rel))
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


def _ignored(project: Path, paths: list[str]) -> set[str]:
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
