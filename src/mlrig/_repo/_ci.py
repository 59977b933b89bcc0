"""CI pipelines per provider: GitHub workflows and the providers read as plain command
strings (Jenkins, CircleCI, Azure, Travis, ...); GitLab is :mod:`mlrig._repo._gitlab`."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from mlrig._repo._listing import _as_list, _load_yaml, _mapping, _Reader, _where
from mlrig._repo._records import CiJob, Command

_GITHUB = re.compile(r"\.github/workflows/[^/]+\.ya?ml")
_GITLAB = ".gitlab-ci.yml"
_OTHER_CI = {
    "Jenkinsfile": "jenkins",
    ".circleci/config.yml": "circleci",
    "azure-pipelines.yml": "azure",
    ".travis.yml": "travis",
    "bitbucket-pipelines.yml": "bitbucket",
    ".drone.yml": "drone",
    ".buildkite/pipeline.yml": "buildkite",
}

_PY_VERSION = re.compile(r"(?<![\d.])(3\.\d{1,2})(?!\d)")


def _versions(value: object) -> list[str]:
    return _PY_VERSION.findall(" ".join(str(v) for v in _as_list(value)))


def _strings(value: object, limit: int = 100_000) -> Iterator[str]:
    """Every string inside ``value``; each container is visited once (alias bombs)."""
    seen: set[int] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif id(item) in seen or len(seen) >= limit:
            continue
        elif isinstance(item, (dict, list)):
            seen.add(id(item))
            pending.extend(reversed(list(item.values() if isinstance(item, dict) else item)))


@dataclass
class _Ci:
    jobs: list[CiJob] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    scheduled: list[str] = field(default_factory=list)
    remote: int = 0
    files: list[str] = field(default_factory=list)
    providers: list[str] = field(default_factory=list)


def _github(reader: _Reader, path: str, ci: _Ci) -> None:
    try:
        data = _load_yaml(reader, path)
    except ValueError as exc:
        ci.problems.append(f"{path}: {exc}")
        return
    if not isinstance(data, dict) or not isinstance(data.get("jobs"), dict):
        ci.problems.append(f"{path}: not a workflow (a mapping with jobs:)")
        return
    on = data.get("on", data.get(True))
    triggers = tuple(str(t) for t in (on if isinstance(on, (dict, list)) else _as_list(on)))
    if "schedule" in triggers:
        ci.scheduled.append(path)
    for job_id, job in data["jobs"].items():
        job = _mapping(job)
        matrix = _mapping(_mapping(job.get("strategy")).get("matrix"))
        pythons: list[str] = []
        for key in ("python-version", "python", "python_version", "py"):
            pythons += _versions(matrix.get(key))
        for entry in _as_list(matrix.get("include")):
            for key in ("python-version", "python", "python_version", "py"):
                pythons += _versions(_mapping(entry).get(key))
        container = job.get("container")
        pythons += _versions(
            container if isinstance(container, str) else _mapping(container).get("image")
        )
        commands: list[Command] = []
        uses: list[str] = []
        for step in _as_list(job.get("steps")):
            step = _mapping(step)
            if isinstance(step.get("uses"), str):
                uses.append(step["uses"].split("@", 1)[0])
                version = _mapping(step.get("with")).get("python-version")
                if isinstance(version, str) and "${{" not in version:
                    pythons += _versions(version)
            run = step.get("run")
            if isinstance(run, str) and run.strip():
                commands.append(Command(run.rstrip("\n"), _where(run, path)))
        ci.jobs.append(
            CiJob(
                provider="github",
                file=path,
                name=str(job_id),
                stage="",
                triggers=triggers,
                scheduled="schedule" in triggers,
                on_schedule="schedule" in triggers,
                deploy="environment" in job,
                commands=tuple(commands),
                pythons=tuple(dict.fromkeys(pythons)),
                covers=(),
                uses=tuple(uses),
            )
        )


_SCHEDULE_TEXT = re.compile(
    r"CI_PIPELINE_SOURCE\s*==\s*[\"']?schedule|\bschedules\b|^\s*(?:-\s*)?schedule\s*:|\bcron\b",
    re.IGNORECASE | re.MULTILINE,
)
_JENKINS_SH = re.compile(r"\bsh\s*\(?\s*(?:script:\s*)?('''|\"\"\"|'|\")(.*?)\1", re.DOTALL)


def _other_ci(reader: _Reader, path: str, provider: str, ci: _Ci) -> None:
    """CircleCI, Azure, Travis, ...: their command strings, as one job named by the file."""
    text = reader.text(path) or ""
    commands: list[Command] = []
    if provider == "jenkins":
        for match in _JENKINS_SH.finditer(text):
            line = text.count("\n", 0, match.start(2)) + 1
            commands.append(Command(match.group(2).strip(), f"{path}:{line}"))
        scheduled = bool(re.search(r"triggers\s*\{|cron\(", text))
    else:
        try:
            data = _load_yaml(reader, path)
        except ValueError as exc:
            ci.problems.append(f"{path}: {exc}")
            return
        commands = [
            Command(s.rstrip("\n"), _where(s, path))
            for s in _strings(data)
            if s.strip() and not re.fullmatch(r"[\w./:@-]*", s.strip())
        ]
        scheduled = bool(_SCHEDULE_TEXT.search(text))
    if scheduled:
        ci.scheduled.append(path)
    ci.jobs.append(
        CiJob(provider, path, path, "", (), scheduled, scheduled, False, tuple(commands), (), ())
    )
