"""The built-in template's answers for a repository mlrig did not create, and what they leave out.

:func:`existing_answers` turns the inference (the repository's own commands) into
existing-repository-mode answers, refusing a component the repository cannot take;
:func:`left_out_stages` names each stage those answers leave out with the ``-d``
answer (or file, or GitLab rule) that turns it on; :func:`own_answers` records what
stays the repository's own (``own_files``, ``own_jobs``) once the plan is made, and
:func:`record_own` writes that into the rendered answers file (in the temporary
render, never into the repository).
"""

from __future__ import annotations

import shlex
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path

from mlrig._infer import COMMAND_KINDS, Inference
from mlrig._record import ANSWERS_FILE
from mlrig._repo import Repo, left_out, scan
from mlrig._yamlmerge import job_names
from mlrig.answers import Answers, monitoring_needs
from mlrig.commands._adopt_plan import PIPELINE, git_ignored
from mlrig.commands._adopt_result import Component, FileAction, LeftOut
from mlrig.errors import InvalidInputError

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


def existing_answers(
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
                f"`mlrig adopt {answer_flags(missing)}`"
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
    if given.get("metrics_file") and git_ignored(project, [_GATE]):
        raise InvalidInputError(
            f"metrics_file: the gate runs mlrig's {_GATE}, and git ignores that path here; "
            "stop ignoring .mlrig/ (e.g. add `!.mlrig/` to .gitignore), or leave out "
            "-d metrics_file"
        )
    return given


def answer_flags(keys: list[str]) -> str:
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
        flags = answer_flags(needs)
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
        flags = answer_flags([*missing, "monitoring_schedule"])
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


def own_answers(
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
        if not managed and action.action != "keep" and PIPELINE.fullmatch(action.path):
            text = (rendered / action.path).read_text(encoding="utf-8")
            every = job_names(text, gitlab=action.path == ".gitlab-ci.yml", name=action.path)
            jobs |= set(every) - set(action.added_jobs)
    return replace(answers, own_files=tuple(sorted(files)), own_jobs=tuple(sorted(jobs)))


def record_own(path: Path, answers: Answers) -> None:
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
