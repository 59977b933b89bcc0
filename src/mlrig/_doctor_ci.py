"""Which CI a repository has and which stages of an ML pipeline its jobs cover.

Pipelines are parsed with PyYAML's safe loader (GitLab's ``!reference`` tag is
understood); nothing is executed. A job covers a stage when its name or its
commands say so: ``pytest`` covers tests, ``docker build`` an image build, and
``make TARGET`` counts the commands of that Makefile target too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from mlrig._yamlmerge import GITLAB_KEYWORDS

__all__ = ["STAGES", "CiJob", "CiReport", "find_ci"]

#: Pipeline stages, in the order of mlrig's own pipeline, with their display names.
STAGES: dict[str, str] = {
    "lint": "lint",
    "tests": "tests",
    "data_checks": "data checks",
    "train_smoke": "training smoke run",
    "metric_gate": "metric gate",
    "image_build": "image build",
    "schedule": "scheduled run",
}

_DATA = r"data[-_ ]?(?:checks?|validation|validate|quality|tests?)|(?:validate|check)[-_]data"
# (pattern for job names, pattern for commands), both searched case-insensitively. A
# name part starts after a non-letter, so "constraints" is no training run and
# "aggregate" no metric gate.
_RULES: dict[str, tuple[str, str]] = {
    "lint": (
        r"(?<![a-z])(?:lint|quality|style|static|pre-commit)",
        r"\b(?:ruff|flake8|pylint|black|mypy|pyright|isort|pre-commit)\b|\bmake lint\b",
    ),
    "tests": (
        r"(?<![a-z])(?:test|unit|pytest)",
        r"\b(?:pytest|unittest|tox|nox)\b|\bmake test\b",
    ),
    "data_checks": (
        rf"(?<![a-z])(?:{_DATA})",
        _DATA + r"|great[-_]?expectations|\bgx checkpoint|pandera|deepchecks|evidently|soda scan",
    ),
    "train_smoke": (r"(?<![a-z])train", r"\btrain(?:ing)?\b"),
    "metric_gate": (
        r"(?<![a-z])(?:eval|gate|metric)",
        r"\b(?:evaluate|evaluation|eval|metrics?|threshold|gate|baseline)\b",
    ),
    "image_build": (
        r"(?<![a-z])(?:docker|image|container)",
        r"docker (?:buildx )?build|docker compose build|build-push-action|kaniko|buildah|"
        r"podman build",
    ),
}
_SCHEDULE_TEXT = re.compile(
    r"CI_PIPELINE_SOURCE\s*==\s*[\"']?schedule|\bschedules\b|^\s*(?:-\s*)?schedule\s*:|\bcron\b",
    re.IGNORECASE | re.MULTILINE,
)
_COMPILED = {
    stage: (re.compile(name, re.IGNORECASE), re.compile(command, re.IGNORECASE))
    for stage, (name, command) in _RULES.items()
}
_MAKE_CALL = re.compile(r"\bmake\s+(?:-\S+\s+)*([\w.-]+)")
_MAKE_TARGET = re.compile(r"^([\w.-]+)\s*:(?!=)[^\n]*\n((?:\t[^\n]*\n?)*)", re.MULTILINE)
_OTHER_CI = {
    "Jenkinsfile": "jenkins",
    ".circleci/config.yml": "circleci",
    "azure-pipelines.yml": "azure",
    ".travis.yml": "travis",
    "bitbucket-pipelines.yml": "bitbucket",
    ".drone.yml": "drone",
    ".buildkite/pipeline.yml": "buildkite",
}
_GITHUB = re.compile(r"\.github/workflows/[^/]+\.ya?ml")
_GITLAB = ".gitlab-ci.yml"
# Pipelines bigger than this are not parsed: no real pipeline is, and it bounds the work.
_MAX_PIPELINE_BYTES = 2 * 1024 * 1024


@dataclass(frozen=True)
class CiJob:
    """One CI job and the pipeline stages it covers."""

    file: str
    name: str
    covers: tuple[str, ...]


@dataclass(frozen=True)
class CiReport:
    """The CI systems of a repository, their files and their jobs.

    ``problems`` are pipeline files that could not be parsed (one line each).
    ``remote_includes`` counts GitLab includes from other projects or URLs, whose
    jobs cannot be seen offline.
    """

    providers: tuple[str, ...]
    files: tuple[str, ...]
    jobs: tuple[CiJob, ...]
    scheduled: tuple[str, ...]
    problems: tuple[str, ...]
    remote_includes: int

    def covered(self, stage: str) -> tuple[str, ...]:
        """Names of the jobs (or, for ``schedule``, the files) that cover ``stage``."""
        if stage == "schedule":
            return self.scheduled
        return tuple(job.name for job in self.jobs if stage in job.covers)

    @property
    def missing(self) -> tuple[str, ...]:
        """The stages no job covers, in pipeline order."""
        return tuple(stage for stage in STAGES if not self.covered(stage))


class _Reference:
    """GitLab's ``!reference [job, key, ...]``: resolved against the merged pipeline."""

    def __init__(self, path: list[object]) -> None:
        self.path = [str(part) for part in path]


def find_ci(root: Path, files: Iterable[str]) -> CiReport:
    """Find and parse the CI pipelines among ``files`` (paths relative to ``root``)."""
    names = sorted(set(files))
    github = [n for n in names if _GITHUB.fullmatch(n)]
    gitlab = [n for n in names if n == _GITLAB]
    other = [n for n in names if n in _OTHER_CI]
    providers = [p for p, found in (("github", github), ("gitlab", gitlab)) if found]
    providers += sorted({_OTHER_CI[n] for n in other})
    make = _make_targets(root)
    jobs: list[CiJob] = []
    scheduled: list[str] = []
    problems: list[str] = []
    remote = 0
    for name in github:
        try:
            data = _load(root / name)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        if not isinstance(data, dict):
            problems.append(f"{name}: not a workflow (a mapping with jobs:)")
            continue
        triggers = data.get("on", data.get(True))
        if isinstance(triggers, dict) and "schedule" in triggers:
            scheduled.append(name)
        for job_id, job in _mapping(data.get("jobs")).items():
            title = str(job.get("name", job_id)) if isinstance(job, dict) else str(job_id)
            jobs.append(_job(name, str(job_id), [title], _strings(job, {}), make))
    for name in gitlab:
        try:
            merged, remote, included = _load_gitlab(root, name)
        except ValueError as exc:
            problems.append(f"{name}: {exc}")
            continue
        for job_id, job in merged.items():
            if job_id in GITLAB_KEYWORDS or job_id.startswith(".") or not isinstance(job, dict):
                continue
            texts = list(_strings(job, merged))
            for template in _extends(job, merged):
                texts.extend(_strings(template, merged))
            jobs.append(_job(name, job_id, [job_id], texts, make))
            if any(_SCHEDULE_TEXT.search(text) for text in texts):
                scheduled.append(f"{name}:{job_id}")
        scheduled.extend(f for f in included if _SCHEDULE_TEXT.search(_read(root / f)))
    for name in other:
        text = _read(root / name)
        jobs.append(_job(name, name, [], [text], make))
        if _SCHEDULE_TEXT.search(text) or re.search(r"triggers\s*\{|cron\(", text):
            scheduled.append(name)
    return CiReport(
        providers=tuple(providers),
        files=tuple(github + gitlab + other),
        jobs=tuple(jobs),
        scheduled=tuple(dict.fromkeys(scheduled)),
        problems=tuple(problems),
        remote_includes=remote,
    )


def _job(
    file: str, job_id: str, titles: list[str], texts: Iterable[str], make: dict[str, str]
) -> CiJob:
    commands = "\n".join(texts)
    commands += "".join("\n" + make.get(t, "") for t in _MAKE_CALL.findall(commands))
    label = " ".join([job_id, *titles])
    covers = tuple(
        stage
        for stage, (by_name, by_command) in _COMPILED.items()
        if by_name.search(label) or by_command.search(commands)
    )
    return CiJob(file, job_id, covers)


def _make_targets(root: Path) -> dict[str, str]:
    """Recipes of the top-level Makefile's targets, so that ``make test`` counts as tests."""
    text = _read(root / "Makefile")
    return {match.group(1): match.group(2) for match in _MAKE_TARGET.finditer(text)}


def _read(path: Path) -> str:
    try:
        if path.stat().st_size > _MAX_PIPELINE_BYTES:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""


def _load(path: Path) -> object:
    """Parse one pipeline file safely; ValueError with a one-line reason on failure."""
    import yaml

    try:
        if path.stat().st_size > _MAX_PIPELINE_BYTES:
            raise ValueError("too big to be a pipeline")
        return yaml.load(path.read_bytes(), Loader=_loader())
    except (OSError, yaml.YAMLError) as exc:
        # PyYAML names the input "<byte string>": the file name is given by the caller.
        problem = re.sub(r' in "<[^>]*>",', ",", " ".join(str(exc).split()))
        raise ValueError(f"not valid YAML: {problem}") from None


@cache
def _loader() -> type:
    """PyYAML's safe loader (the C one when available), plus GitLab's ``!reference``."""
    import yaml

    base = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

    class Loader(base):  # type: ignore[misc, valid-type]
        """The safe loader, plus GitLab's ``!reference`` tag."""

    def reference(loader: yaml.SafeLoader, node: yaml.Node) -> _Reference:
        if not isinstance(node, yaml.SequenceNode):
            raise yaml.constructor.ConstructorError(None, None, "!reference needs a list")
        return _Reference(loader.construct_sequence(node))

    Loader.add_constructor("!reference", reference)
    return Loader


def _load_gitlab(root: Path, name: str) -> tuple[dict[str, object], int, list[str]]:
    """The pipeline merged with its local includes; also the count of remote includes."""
    data = _load(root / name)
    if not isinstance(data, dict):
        raise ValueError("not a pipeline (a mapping of jobs)")
    merged: dict[str, object] = {}
    remote = 0
    included: list[str] = []
    entries = data.get("include", [])
    for entry in entries if isinstance(entries, list) else [entries]:
        local = entry if isinstance(entry, str) else _mapping(entry).get("local")
        if not isinstance(local, str) or "://" in local or "*" in local:
            remote += 1
            continue
        path = local.lstrip("/")
        try:
            part = _load(root / path)
        except ValueError:
            continue
        included.append(path)
        merged.update({str(k): v for k, v in _mapping(part).items()})
    merged.update({str(k): v for k, v in data.items()})
    return merged, remote, included


def _mapping(value: object) -> Mapping[object, object]:
    return value if isinstance(value, dict) else {}


def _extends(job: Mapping[object, object], merged: Mapping[str, object]) -> Iterator[object]:
    """The templates a GitLab job extends, transitively (cycles and depth bounded)."""
    seen: set[str] = set()
    pending = [job]
    while pending and len(seen) < 32:
        names = _mapping(pending.pop()).get("extends")
        for parent in names if isinstance(names, list) else [names]:
            if isinstance(parent, str) and parent not in seen and parent in merged:
                seen.add(parent)
                pending.append(merged[parent])  # type: ignore[arg-type]
                yield merged[parent]


def _strings(value: object, merged: Mapping[str, object]) -> Iterator[str]:
    """Every string value inside ``value``; each container is visited once (alias bombs)."""
    seen: set[int] = set()
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            yield item
        elif isinstance(item, (int, float)) and not isinstance(item, bool):
            yield str(item)
        elif id(item) in seen or len(seen) >= 100_000:
            continue
        elif isinstance(item, _Reference):
            seen.add(id(item))
            target: object = merged
            for key in item.path:
                target = _mapping(target).get(key)
            pending.append(target)
        elif isinstance(item, (dict, list)):
            seen.add(id(item))
            pending.extend(item.values() if isinstance(item, dict) else item)
