"""Infer the built-in template's answers, and the repo's own commands, from an existing repo.

Only a handful of small, well-known files are read (pyproject.toml, lock and
requirements files, ``.python-version``, a Makefile, tox.ini, noxfile.py and the
CI files); data and model folders are never walked. Every inferred value carries
its source: a file (with a line or table when it helps) or ``"default"``.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlrig.answers import QUESTIONS

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib

__all__ = ["COMMAND_KINDS", "Inference", "Inferred", "infer"]

#: The repo's own commands adopt looks for, in pipeline order. Each one the
#: template asks about (``<kind>_command``) becomes that answer.
COMMAND_KINDS = ("install", "lint", "test", "data", "train", "evaluate")
_MAX_READ = 1 << 20  # files larger than this are not inspected
_PYTHON_CHOICES = next(q.choices for q in QUESTIONS if q.name == "python_version")
_DEFAULTS = {q.name: q.default for q in QUESTIONS}
_TARGETS = {
    "install": ("install", "setup", "deps", "requirements", "dev"),
    "lint": ("lint", "check", "style", "format-check"),
    "test": ("test", "tests", "pytest", "unit"),
    "data": ("data", "check-data", "validate-data", "data-check"),
    "train": ("train", "training", "fit"),
    "evaluate": ("evaluate", "eval", "evaluation", "metrics"),
}
# How a CI step's command line is recognised, most specific first.
_CI_PATTERNS = (
    ("test", re.compile(r"\b(pytest|tox|nox)\b")),
    ("lint", re.compile(r"\b(ruff|flake8|pylint|mypy|black --check|pre-commit run)\b")),
    ("install", re.compile(r"\b(pip install|uv sync|poetry install|pipenv install|pdm install)\b")),
    ("evaluate", re.compile(r"\beval(uate)?\b")),
    ("data", re.compile(r"\b(validate|check)[-_]data\b")),
    ("train", re.compile(r"\btrain\b")),
)
_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_PY_IN_CI = re.compile(
    r"(?:python-version:\s*[\"']?|image:\s*[\"']?python:|UV_PYTHON:\s*[\"']?)(3\.\d+)"
)
_MAKE_TARGET = re.compile(r"^([A-Za-z0-9][A-Za-z0-9_.-]*)\s*:(?!=)")
_NOX_SESSION = re.compile(r"@nox\.session[^\n]*\n\s*def\s+(\w+)")


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
    #: The repo's own commands, per kind in :data:`COMMAND_KINDS` (only those found).
    commands: dict[str, Inferred]

    def values(self) -> dict[str, object]:
        """The answers as raw values, ready for :func:`mlrig.answers.resolve_answers`."""
        return {name: item.value for name, item in self.answers.items()}


def infer(root: Path) -> Inference:
    """Infer answers and commands for the repository at ``root``; never raises for content."""
    pyproject = _toml(root / "pyproject.toml")
    answers: dict[str, Inferred] = {}
    answers["project_name"] = _project_name(root, pyproject)
    description = _get(pyproject, "project", "description") or _get(
        pyproject, "tool", "poetry", "description"
    )
    answers["description"] = (
        Inferred(description, "pyproject.toml")
        if isinstance(description, str) and description.strip() and "\n" not in description
        else Inferred(_default("description"), "default")
    )
    answers["python_version"] = _python_version(root, pyproject)
    answers["ci_provider"] = _ci_provider(root)
    answers["package_manager"] = _package_manager(root, pyproject)
    answers["framework"] = _framework(root, pyproject)
    answers["docker"] = (
        Inferred(True, "Dockerfile")
        if (root / "Dockerfile").is_file()
        else Inferred(_default("docker"), "default")
    )
    commands = _commands(root, pyproject)
    for question in QUESTIONS:
        if question.name in answers:
            continue
        kind = question.name.removesuffix("_command")
        item = commands.get(kind) if question.name.endswith("_command") else None
        if item is not None:
            try:
                answers[question.name] = Inferred(question.parse(item.value), item.source)
                continue
            except ValueError as exc:
                note = f"{item.value!r} from {item.source} is not usable: {exc}"
                answers[question.name] = Inferred(question.default, "default", note)
                continue
        answers[question.name] = Inferred(question.default, "default")
    for question in QUESTIONS:
        item = answers[question.name]
        try:
            question.parse(item.value)
        except ValueError as exc:
            note = f"{item.value!r} from {item.source} is not usable: {exc}"
            answers[question.name] = Inferred(question.default, "default", note)
    return Inference(answers, commands)


def _default(name: str) -> str | bool | float:
    return _DEFAULTS[name]


def _read(path: Path) -> str | None:
    try:
        if path.is_symlink() or not path.is_file() or path.stat().st_size > _MAX_READ:
            return None
        return path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return None


def _toml(path: Path) -> dict[str, Any]:
    text = _read(path)
    try:
        return tomllib.loads(text) if text else {}
    except tomllib.TOMLDecodeError:
        return {}


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _project_name(root: Path, pyproject: dict[str, Any]) -> Inferred:
    from mlrig.answers import resolve_answers
    from mlrig.errors import InvalidInputError

    def valid(name: str) -> bool:
        try:
            resolve_answers({"project_name": name}, project_default=name, use_defaults=True)
        except InvalidInputError:
            return False
        return True

    for keys in (("project", "name"), ("tool", "poetry", "name")):
        name = _get(pyproject, *keys)
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


def _python_version(root: Path, pyproject: dict[str, Any]) -> Inferred:
    text = _read(root / ".python-version")
    if text:
        match = re.match(r"\s*(?:cpython-|python)?(3\.\d+)", text)
        if match and match.group(1) in _PYTHON_CHOICES:
            return Inferred(match.group(1), ".python-version")
    for keys, where in (
        (("project", "requires-python"), "pyproject.toml [project] requires-python"),
        (("tool", "poetry", "dependencies", "python"), "pyproject.toml [tool.poetry]"),
    ):
        spec = _get(pyproject, *keys)
        version = _lowest_allowed(spec) if isinstance(spec, str) else None
        if version:
            return Inferred(version, where)
    for path in _ci_files(root):
        match = _PY_IN_CI.search(_read(path) or "")
        if match and match.group(1) in _PYTHON_CHOICES:
            return Inferred(match.group(1), path.relative_to(root).as_posix())
    return Inferred(_default("python_version"), "default")


def _lowest_allowed(spec: str) -> str | None:
    """The oldest supported Python that a requires-python (or poetry ``^3.10``) allows."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    spec = re.sub(r"\^\s*(\d+\.\d+)", r">=\1", spec)
    spec = re.sub(r"~\s*(\d+\.\d+)(?!=)", r"~=\1", spec)
    try:
        allowed = SpecifierSet(spec)
    except InvalidSpecifier:
        return None
    for version in _PYTHON_CHOICES:
        if allowed.contains(f"{version}.0", prereleases=True) or allowed.contains(
            f"{version}.99", prereleases=True
        ):
            return version
    return None


def _ci_files(root: Path) -> list[Path]:
    workflows = root / ".github" / "workflows"
    found = sorted(workflows.glob("*.y*ml")) if workflows.is_dir() else []
    return [p for p in [*found, root / ".gitlab-ci.yml"] if p.is_file()]


def _ci_provider(root: Path) -> Inferred:
    workflows = root / ".github" / "workflows"
    github = workflows.is_dir() and any(workflows.glob("*.y*ml"))
    gitlab = (root / ".gitlab-ci.yml").is_file()
    if github and gitlab:
        return Inferred("both", ".github/workflows/, .gitlab-ci.yml")
    if github:
        return Inferred("github", ".github/workflows/")
    if gitlab:
        return Inferred("gitlab", ".gitlab-ci.yml")
    return Inferred(_default("ci_provider"), "default")


def _requirement_files(root: Path) -> list[Path]:
    files = sorted(root.glob("requirements*.txt")) + sorted(root.glob("requirements/*.txt"))
    return [path for path in files if path.is_file()]


def _package_manager(root: Path, pyproject: dict[str, Any]) -> Inferred:
    unsupported = "the template supports uv and pip only; the pipeline installs with pip"
    if (root / "uv.lock").is_file():
        return Inferred("uv", "uv.lock")
    if (root / "poetry.lock").is_file():
        return Inferred("pip", "poetry.lock", f"poetry: {unsupported}")
    if _get(pyproject, "tool", "poetry") is not None:
        return Inferred("pip", "pyproject.toml [tool.poetry]", f"poetry: {unsupported}")
    for lock in ("pdm.lock", "Pipfile.lock", "Pipfile"):
        if (root / lock).is_file():
            return Inferred("pip", lock, f"{lock}: {unsupported}")
    requirements = _requirement_files(root)
    if requirements:
        return Inferred("pip", requirements[0].relative_to(root).as_posix())
    if _get(pyproject, "tool", "uv") is not None:
        return Inferred("uv", "pyproject.toml [tool.uv]")
    return Inferred(_default("package_manager"), "default")


def _dependencies(root: Path, pyproject: dict[str, Any]) -> Iterable[tuple[str, str]]:
    """(normalised distribution name, source) of every declared dependency."""
    declared: list[str] = list(_get(pyproject, "project", "dependencies") or [])
    for group in (_get(pyproject, "project", "optional-dependencies") or {}).values():
        declared.extend(group if isinstance(group, list) else [])
    for group in (_get(pyproject, "dependency-groups") or {}).values():
        declared.extend(item for item in group if isinstance(item, str))
    poetry = _get(pyproject, "tool", "poetry") or {}
    poetry_deps = list((_get(poetry, "dependencies") or {}).keys())
    for group in (_get(poetry, "group") or {}).values():
        poetry_deps.extend((_get(group, "dependencies") or {}).keys())
    for item in [*declared, *poetry_deps]:
        match = _REQUIREMENT.match(str(item))
        if match:
            yield _normalise(match.group(1)), "pyproject.toml"
    for path in _requirement_files(root):
        for line in (_read(path) or "").splitlines():
            match = _REQUIREMENT.match(line)
            if match:
                yield _normalise(match.group(1)), path.relative_to(root).as_posix()


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _framework(root: Path, pyproject: dict[str, Any]) -> Inferred:
    found: dict[str, str] = {}
    for name, source in _dependencies(root, pyproject):
        found.setdefault(name, source)
    for names, framework in (
        (("torch", "pytorch-lightning", "lightning"), "pytorch"),
        (("scikit-learn", "sklearn"), "sklearn"),
    ):
        for name in names:
            if name in found:
                return Inferred(framework, f"{found[name]} ({name})")
    if found:
        return Inferred("none", "dependencies (no torch or scikit-learn)")
    return Inferred(_default("framework"), "default")


def _commands(root: Path, pyproject: dict[str, Any]) -> dict[str, Inferred]:
    """The repo's own commands: Makefile, then pyproject scripts, tox/nox, then CI steps."""
    found: dict[str, Inferred] = {}

    def offer(kind: str, command: str, source: str) -> None:
        found.setdefault(kind, Inferred(command, source))

    makefile = _read(root / "Makefile")
    for number, line in enumerate((makefile or "").splitlines(), start=1):
        match = _MAKE_TARGET.match(line)
        if match:
            for kind, names in _TARGETS.items():
                if match.group(1) in names:
                    offer(kind, f"make {match.group(1)}", f"Makefile:{number}")
    scripts = {
        **{k: ("[project.scripts]", k) for k in _get(pyproject, "project", "scripts") or {}},
        **{
            k: ("[tool.poe.tasks]", f"poe {k}")
            for k in _get(pyproject, "tool", "poe", "tasks") or {}
        },
        **{
            k: ("[tool.pdm.scripts]", f"pdm run {k}")
            for k in _get(pyproject, "tool", "pdm", "scripts") or {}
        },
    }
    for name, (table, command) in scripts.items():
        for kind, names in _TARGETS.items():
            if any(part in names for part in re.split(r"[-_:]", name.lower())):
                offer(kind, command, f"pyproject.toml {table}")
    tox = _read(root / "tox.ini") or ""
    for number, line in enumerate(tox.splitlines(), start=1):
        match = re.match(r"\[testenv(?::(\w[\w-]*))?\]", line.strip())
        if match:
            env = match.group(1)
            if env is None:
                offer("test", "tox", f"tox.ini:{number}")
            for kind, names in _TARGETS.items():
                if env in names:
                    offer(kind, f"tox -e {env}", f"tox.ini:{number}")
    nox = _read(root / "noxfile.py") or ""
    for match in _NOX_SESSION.finditer(nox):
        number = nox.count("\n", 0, match.start(1)) + 1
        for kind, names in _TARGETS.items():
            if match.group(1) in names:
                offer(kind, f"nox -s {match.group(1)}", f"noxfile.py:{number}")
    for path in _ci_files(root):
        for number, command in _ci_commands(_read(path) or ""):
            for kind, pattern in _CI_PATTERNS:
                # A command holding a CI expression only works inside that CI.
                if pattern.search(command) and "${{" not in command:
                    offer(kind, command, f"{path.relative_to(root).as_posix()}:{number}")
                    break
    return {kind: found[kind] for kind in COMMAND_KINDS if kind in found}


def _ci_commands(text: str) -> Iterable[tuple[int, str]]:
    """(line, command) of ``run:`` steps (each line of a block) and ``script:`` items."""
    in_script = False
    script_indent = 0
    block_indent: int | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if block_indent is not None:
            if not stripped or indent > block_indent:
                if stripped and not stripped.startswith("#"):
                    yield number, stripped
                continue
            block_indent = None
        run = re.match(r"(-\s*)?run:\s*(.+)$", stripped)
        if run:
            if run.group(2).strip() in ("|", ">", "|-", ">-"):
                block_indent = indent
            else:
                yield number, run.group(2).strip().strip("'\"")
            continue
        if re.match(r"(before_)?script:\s*$", stripped):
            in_script, script_indent = True, indent
            continue
        if in_script:
            if stripped and indent <= script_indent and not stripped.startswith("-"):
                in_script = False
            elif stripped.startswith("- ") and not stripped.startswith("- !"):
                yield number, stripped[2:].strip().strip("'\"")
