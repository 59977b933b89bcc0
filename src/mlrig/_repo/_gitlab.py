"""GitLab CI: local includes, ``extends``, ``!reference`` and the schedule rules, resolved
as GitLab does, into :class:`~mlrig._repo._records.CiJob` records."""

from __future__ import annotations

import fnmatch
import re
from typing import Any

from mlrig._repo._ci import _GITLAB, _Ci, _versions
from mlrig._repo._listing import _as_list, _load_yaml, _mapping, _Reader, _where
from mlrig._repo._records import CiJob, Command
from mlrig._yaml import Reference as _Reference
from mlrig._yamlmerge import GITLAB_KEYWORDS

_MAX_INCLUDES = 64
_MAX_DEPTH = 11  # GitLab's own limit for extends and nested !reference
_MAX_SCRIPT = 1000  # lines of one job's script


def _gitlab(reader: _Reader, ci: _Ci) -> None:
    try:
        merged, included = _gitlab_merged(reader, _GITLAB, ci)
    except ValueError as exc:
        ci.problems.append(f"{_GITLAB}: {exc}")
        return
    ci.files.extend(f for f in included if f not in ci.files)
    default = _mapping(merged.get("default"))
    default_before = default.get("before_script", merged.get("before_script"))
    default_image = default.get("image", merged.get("image"))
    workflow_rules = _mapping(merged.get("workflow")).get("rules")
    # A `workflow:` whose rules never create a scheduled pipeline keeps every job out of one.
    schedules_run = (
        workflow_rules is None
        or _gitlab_schedule([_mapping(rule) for rule in _as_list(workflow_rules)], [], None)[1]
    )
    resolved: dict[str, dict[Any, Any]] = {}

    def job_of(name: str, depth: int = 0) -> dict[Any, Any]:
        if name in resolved:
            return resolved[name]
        raw = _mapping(merged.get(name))
        result: dict[Any, Any] = {}
        if depth < _MAX_DEPTH:
            for parent in _as_list(raw.get("extends")):
                if isinstance(parent, str) and parent in merged and parent != name:
                    result = _deep_merge(result, job_of(parent, depth + 1))
        result = _deep_merge(result, raw)
        resolved[name] = result
        return result

    def expand(value: object, depth: int = 0, items: list[object] | None = None) -> list[object]:
        """A script list with ``!reference`` resolved and nested lists flattened.

        At most :data:`_MAX_SCRIPT` lines: YAML aliases can nest a list into billions.
        """
        items = [] if items is None else items
        for item in _as_list(value):
            if len(items) >= _MAX_SCRIPT:
                break
            if isinstance(item, _Reference) and depth < _MAX_DEPTH:
                target: object = job_of(item.path[0]) if item.path else None
                for key in item.path[1:]:
                    target = _mapping(target).get(key)
                expand(target, depth + 1, items)
            elif isinstance(item, list) and depth < _MAX_DEPTH:
                expand(item, depth + 1, items)
            elif isinstance(item, (str, int, float)) and not isinstance(item, bool):
                items.append(item)
        return items

    for key, raw in merged.items():
        name = str(key)
        if name in GITLAB_KEYWORDS or name.startswith(".") or not isinstance(raw, dict):
            continue
        job = job_of(name)
        if "script" not in job and "trigger" not in job and "run" not in job:
            continue
        before = job.get("before_script", default_before)
        commands = [
            Command(str(item).rstrip("\n"), _where(item, _GITLAB))
            for item in [*expand(before), *expand(job.get("script"))]
            if str(item).strip()
        ]
        rules = [_mapping(rule) for rule in _as_list(job.get("rules"))]
        triggers = tuple(str(rule["if"]) for rule in rules if "if" in rule)
        only = job.get("only")
        only_refs = [
            str(r) for r in _as_list(_mapping(only).get("refs") if isinstance(only, dict) else only)
        ]
        triggers += tuple(f"only: {r}" for r in only_refs)
        scheduled, on_schedule = _gitlab_schedule(rules, only_refs, job.get("except"))
        if scheduled:
            ci.scheduled.append(f"{_GITLAB}:{name}")
        image = job.get("image", default_image)
        image_name = image if isinstance(image, str) else _mapping(image).get("name")
        pythons = _versions(image_name) if "python" in str(image_name) else []
        for variables in (merged.get("variables"), job.get("variables")):
            for key in ("PYTHON_VERSION", "UV_PYTHON", "PY_VERSION"):
                pythons += _versions(_mapping(variables).get(key))
        ci.jobs.append(
            CiJob(
                provider="gitlab",
                file=getattr(key, "file", "") or _GITLAB,
                name=name,
                stage=str(job.get("stage", "test")),
                triggers=triggers,
                scheduled=scheduled,
                on_schedule=on_schedule and schedules_run,
                deploy="environment" in job,
                commands=tuple(commands),
                pythons=tuple(dict.fromkeys(pythons)),
                covers=(),
            )
        )


# `only:` keywords that name pipeline sources other than a schedule.
_NON_SCHEDULE_SOURCES = frozenset(
    {"merge_requests", "pushes", "web", "api", "triggers", "pipelines", "external", "chat", "tags"}
    | {"external_pull_requests"}
)


def _gitlab_schedule(
    rules: list[dict[Any, Any]], only: list[str], except_: object
) -> tuple[bool, bool]:
    """(meant for schedules, may run in a scheduled pipeline) of a GitLab job.

    Rules are taken in order, as GitLab does: a condition on ``$CI_PIPELINE_SOURCE``
    is decided; any other condition may hold in a scheduled pipeline (which runs on
    a branch), so a ``when: never`` rule with one is passed over and any other rule
    with one may run the job. ``only:`` a branch (``main``, ``branches``, a regex)
    matches a scheduled pipeline on it; only the pipeline-source keywords other than
    ``schedules`` keep a job out. A manual job is in the scheduled pipeline too.
    """
    refs = except_.get("refs") if isinstance(except_, dict) else except_
    excepted = "schedules" in [str(e) for e in _as_list(refs)]
    if only:
        runs = "schedules" in only or any(ref not in _NON_SCHEDULE_SOURCES for ref in only)
        return "schedules" in only, runs and not excepted
    if not rules:
        return False, not excepted
    meant = False
    for rule in rules:
        never = str(rule.get("when", "on_success")) == "never"
        sources = re.findall(
            r"\$CI_PIPELINE_SOURCE\s*(==|!=)\s*[\"']?(\w+)", str(rule.get("if", ""))
        )
        if any(op == "==" and value == "schedule" for op, value in sources) and not never:
            meant = True
    for rule in rules:
        never = str(rule.get("when", "on_success")) == "never"
        condition = str(rule.get("if", ""))
        sources = re.findall(r"\$CI_PIPELINE_SOURCE\s*(==|!=)\s*[\"']?(\w+)", condition)
        if not condition:
            return meant, not never
        if sources and "||" not in condition:
            # A condition on the source alone, or ANDed with it, is decided by it.
            decided = all((value == "schedule") == (op == "==") for op, value in sources)
            if decided and ("&&" not in condition or not never):
                return meant, not never
            continue
        if any(op == "==" and value == "schedule" for op, value in sources):
            return meant, not never
        if never:
            continue
        return meant, True
    return meant, False


def _deep_merge(base: dict[Any, Any], extra: dict[Any, Any]) -> dict[Any, Any]:
    """GitLab's merge for ``extends`` and includes: mappings deep, everything else replaced."""
    result = dict(base)
    for key, value in extra.items():
        if key == "extends":
            continue
        if isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _deep_merge(result[key], value)
        else:
            result[key] = value
    return result


def _gitlab_merged(reader: _Reader, path: str, ci: _Ci) -> tuple[dict[Any, Any], list[str]]:
    """The pipeline with its local includes merged in (nested ones too), and those files."""
    data = _load_yaml(reader, path)
    if not isinstance(data, dict):
        raise ValueError("not a pipeline (a mapping of jobs)")
    included: list[str] = []
    merged: dict[Any, Any] = {}
    pending: list[tuple[object, int]] = [(data.get("include"), 0)]
    parts: list[dict[Any, Any]] = []
    while pending:
        entries, depth = pending.pop(0)
        for entry in _as_list(entries):
            local = entry if isinstance(entry, str) else _mapping(entry).get("local")
            if isinstance(entry, dict) and "local" not in entry:
                ci.remote += 1
                continue
            if not isinstance(local, str) or "://" in local:
                ci.remote += 1
                continue
            pattern = local.lstrip("/")
            names = (
                sorted(f for f in reader.files if fnmatch.fnmatch(f, pattern))
                if "*" in pattern
                else [pattern]
            )
            for name in names:
                if name in included or len(included) >= _MAX_INCLUDES or depth > 10:
                    continue
                try:
                    part = _load_yaml(reader, name)
                except ValueError as exc:
                    ci.problems.append(f"{name}: {exc}")
                    continue
                included.append(name)
                part = _mapping(part)
                parts.append(part)
                if "include" in part:
                    pending.append((part["include"], depth + 1))
    for part in parts:
        merged = _deep_merge(merged, {k: v for k, v in part.items() if k != "include"})
    merged = _deep_merge(merged, {k: v for k, v in data.items() if k != "include"})
    return merged, included
