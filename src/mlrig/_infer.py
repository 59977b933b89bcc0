"""Infer the built-in template's answers from an existing repository.

A thin mapping from the repository model (:func:`mlrig._repo.scan`) to the
answers of the built-in template: every value carries its source (``file:line``
or a file, or ``"default"``) and, when it differs from what the repository says,
a note saying why. A stage the repository has no command for, or whose command
cannot run as it stands, is left out, with the ``-d`` that turns it on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrig._repo import Repo, get_path, left_out, scan
from mlrig.answers import QUESTIONS

__all__ = ["COMMAND_KINDS", "Inference", "Inferred", "infer"]

#: The repo's own commands adopt looks for, in pipeline order. Each one the
#: template asks about (``<kind>_command``) becomes that answer.
COMMAND_KINDS = ("install", "lint", "test", "data", "train", "evaluate")
_DEFAULTS = {q.name: q.default for q in QUESTIONS}
_TEMPLATE_MANAGERS = ("uv", "pip")


@dataclass(frozen=True)
class Inferred:
    """One inferred value and where it came from (a file, or ``"default"``)."""

    value: str | bool | float
    source: str
    #: Why the value differs from what the file says, when it does (e.g. poetry -> pip).
    note: str = ""


@dataclass(frozen=True)
class Inference:
    """What adopt learnt about a repository."""

    #: Per question of the built-in template; every question is present.
    answers: dict[str, Inferred]
    #: The repo's own commands, per kind in :data:`COMMAND_KINDS` (only those found);
    #: a value may span several lines (a whole install sequence, a whole script).
    commands: dict[str, Inferred]
    #: Per stage in :data:`COMMAND_KINDS` left out: why, and the ``-d KEY=VALUE`` that
    #: turns it on. A command that cannot run as it stands is left out too (its
    #: answer keeps the value found, for the user to see).
    left_out: dict[str, tuple[str, str]] = field(default_factory=dict)
    #: The repository model everything above comes from.
    repo: Repo | None = None

    def values(self) -> dict[str, object]:
        """The answers as raw values, ready for :func:`mlrig.answers.resolve_answers`."""
        return {name: item.value for name, item in self.answers.items()}


def infer(root: Path, repo: Repo | None = None) -> Inference:
    """Infer answers and commands for the repository at ``root``; never raises for content.

    ``repo`` is :func:`mlrig._repo.scan` of ``root`` when the caller has it already.
    """
    repo = repo or scan(root)
    pyproject = repo.pyproject
    answers: dict[str, Inferred] = {}
    answers["project_name"] = _project_name(repo.root, pyproject)
    description = get_path(pyproject, "project", "description") or get_path(
        pyproject, "tool", "poetry", "description"
    )
    answers["description"] = (
        Inferred(description, "pyproject.toml")
        if isinstance(description, str) and description.strip() and "\n" not in description
        else Inferred(_DEFAULTS["description"], "default")
    )
    answers["python_version"] = _python_version(repo)
    answers["ci_provider"] = _ci_provider(repo)
    answers["package_manager"] = _package_manager(repo)
    answers["framework"] = _framework(repo)
    answers["docker"] = (
        Inferred(True, "Dockerfile")
        if "Dockerfile" in repo.files
        else Inferred(_DEFAULTS["docker"], "default")
    )
    commands = {
        kind: Inferred(repo.stages[kind].text, repo.stages[kind].source, _note(repo, kind))
        for kind in COMMAND_KINDS
        if kind in repo.stages
    }
    if repo.metrics_file is not None:
        answers["metrics_file"] = Inferred(repo.metrics_file.text, repo.metrics_file.source)
    for question in QUESTIONS:
        if question.name in answers:
            continue
        kind = question.name.removesuffix("_command")
        item = commands.get(kind) if question.name.endswith("_command") else None
        if item is not None:
            answers[question.name] = Inferred(item.value, item.source, item.note)
        else:
            answers[question.name] = Inferred(question.default, "default")
    for question in QUESTIONS:
        item = answers[question.name]
        try:
            question.parse(item.value)
        except ValueError as exc:
            note = f"{item.value!r} from {item.source} is not usable: {exc}"
            answers[question.name] = Inferred(question.default, "default", note)
    left: dict[str, tuple[str, str]] = {}
    for kind in COMMAND_KINDS:
        reason, flag = left_out(kind, repo.package_manager.name)
        item = answers[f"{kind}_command"]
        if kind in commands and item.source != commands[kind].source:
            left[kind] = (item.note, flag)
        elif kind in commands and not repo.stages[kind].runnable:
            left[kind] = (f"{item.value!r} ({item.source}) {item.note}", flag)
        elif kind not in commands:
            left[kind] = (reason, flag)
    return Inference(answers, commands, left, repo)


def _note(repo: Repo, kind: str) -> str:
    command = repo.stages[kind]
    if command.runnable:
        return command.why
    return f"cannot run as it stands: {command.why}"


def _project_name(root: Path, pyproject: Any) -> Inferred:
    from mlrig.answers import resolve_answers
    from mlrig.errors import InvalidInputError

    def valid(name: str) -> bool:
        try:
            resolve_answers({"project_name": name}, project_default=name, use_defaults=True)
        except InvalidInputError:
            return False
        return True

    for keys in (("project", "name"), ("tool", "poetry", "name")):
        name = get_path(pyproject, *keys)
        if isinstance(name, str) and name:
            fixed = _sanitise(name)
            if fixed and valid(fixed):
                note = "" if fixed == name else f"{name!r} is not a valid project name"
                return Inferred(fixed, "pyproject.toml", note)
    folder = _sanitise(root.name)
    if folder and valid(folder):
        return Inferred(folder, "folder name")
    return Inferred("my-model", "default", f"the folder name {root.name!r} is not usable")


def _sanitise(name: str) -> str:
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-_")
    name = re.sub(r"^[^A-Za-z]+", "", name)
    return name[:64]


def _python_version(repo: Repo) -> Inferred:
    """The repository's Python; one mlrig cannot serve is never replaced silently."""
    python = repo.python
    if python.supported and python.version:
        return Inferred(python.version, python.source, python.why)
    # Unsupported: the default stands in only for the answers' sake; adopt refuses.
    return Inferred(_DEFAULTS["python_version"], "default", python.why)


def _ci_provider(repo: Repo) -> Inferred:
    github = "github" in repo.ci_providers
    gitlab = "gitlab" in repo.ci_providers
    if github and gitlab:
        return Inferred("both", ".github/workflows/, .gitlab-ci.yml")
    if github:
        return Inferred("github", ".github/workflows/")
    if gitlab:
        return Inferred("gitlab", ".gitlab-ci.yml")
    return Inferred(_DEFAULTS["ci_provider"], "default")


def _package_manager(repo: Repo) -> Inferred:
    manager = repo.package_manager
    if manager.name in _TEMPLATE_MANAGERS:
        return Inferred(manager.name, manager.source)
    if manager.name == "none":
        return Inferred(_DEFAULTS["package_manager"], "default")
    return Inferred(
        "pip",
        manager.source,
        f"{manager.name}: the template supports uv and pip only; the pipeline sets up pip "
        "and runs the repository's own install command",
    )


def _framework(repo: Repo) -> Inferred:
    found = repo.dependencies
    for names, framework in (
        (("torch", "pytorch-lightning", "lightning", "pytorch"), "pytorch"),
        (("scikit-learn", "sklearn"), "sklearn"),
    ):
        for name in names:
            if name in found:
                return Inferred(framework, f"{found[name]} ({name})")
    if found:
        return Inferred("none", "dependencies (no torch or scikit-learn)")
    return Inferred(_DEFAULTS["framework"], "default")
