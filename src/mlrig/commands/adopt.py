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

This module holds the two commands and their order of work; the rules live in
:mod:`~mlrig.commands._adopt_result` (components and results),
:mod:`~mlrig.commands._adopt_answers` (the answers and the stages left out),
:mod:`~mlrig.commands._adopt_plan` (what happens to each file) and
:mod:`~mlrig.commands._adopt_write` (writing it all or nothing).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from mlrig._git import refuse_in_progress, refuse_uncommitted, toplevel
from mlrig._infer import Inference, infer
from mlrig._progress import Progress, silent
from mlrig._record import ANSWERS_FILE, read_record
from mlrig._yamlmerge import job_names
from mlrig.answers import (
    QUESTIONS,
    RECORDED,
    Answers,
    load_answers_file,
    monitoring_needs,
    resolve_answers,
)
from mlrig.commands._adopt_answers import (
    answer_flags,
    existing_answers,
    left_out_stages,
    own_answers,
    record_own,
)
from mlrig.commands._adopt_plan import PIPELINE, plan_files
from mlrig.commands._adopt_result import (
    COMPONENTS,
    JOB_COMPONENTS,
    AdoptResult,
    Component,
    FileAction,
    LeftOut,
    component_of,
)
from mlrig.commands._adopt_write import write_all
from mlrig.commands.new import render_template
from mlrig.commands.update import update
from mlrig.errors import InvalidInputError
from mlrig.template_info import TemplateInfo, check_trust, inspect_template
from mlrig.templates import TemplateSpec, builtin_bundle, builtin_template, is_builtin
from mlrig.validate import Finding, new_findings, validate_pipelines

__all__ = [
    "COMPONENTS",
    "AdoptResult",
    "Component",
    "FileAction",
    "LeftOut",
    "add",
    "adopt",
    "component_of",
]

#: Answers a component cannot do without, and the value used when it is off.
_COMPONENT_ANSWERS: dict[Component, tuple[str, object, object]] = {
    "docker": ("docker", False, True),
    "monitoring": ("monitoring_schedule", "none", "0 6 * * 1"),
    "sync": ("template_sync", False, True),
}
_QUESTION_NAMES = frozenset(q.name for q in QUESTIONS) | frozenset(RECORDED)


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
        given = existing_answers(project, inference, component, dict(overrides or {}))
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
                f"{ANSWERS_FILE}: set them there ({answer_flags(missing)}), then retry"
            )
        # The component's files and jobs are mlrig's again, unless the repo has the file.
        given["own_files"] = [
            path
            for path in previous.own_files
            if component_of(path) != component or (project / path).exists()
        ]
        given["own_jobs"] = [
            job for job in previous.own_jobs if JOB_COMPONENTS.get(job, "ci") != component
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
    top = toplevel(
        project, "mlrig merges into tracked files so that every change can be reviewed and undone"
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
        plan, contents = plan_files(
            project,
            rendered,
            component,
            write_answers,
            merge_all=managed,
            model=inference.repo if inference is not None else None,
        )
        if isinstance(answers, Answers) and answers.existing_repo and write_answers:
            own = own_answers(answers, plan, rendered, managed, owned)
            if own != answers:
                # The files and jobs the answers name were not brought in anyway: only
                # the answers file changes.
                answers = own
                record_own(rendered / ANSWERS_FILE, own)
        touched = [a.path for a in plan if a.action != "keep" and PIPELINE.fullmatch(a.path)]
        merged = [a.path for a in plan if a.action == "merge"]
        # The user's pipelines may have findings of their own; only new ones are mlrig's.
        before = validate_pipelines(project, only=merged) if merged and not preview else []
        if not preview:
            write_all(project, contents, rendered)
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


def _render(out: Path, answers: Answers | Mapping[str, object], version: str | None) -> None:
    render_template(str(builtin_bundle()), version, out, answers)
