"""Python project metadata: dependencies, package manager, build, layout and Python version."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from mlrig._repo._ci import _PY_VERSION
from mlrig._repo._listing import _as_list, _load_yaml, _mapping, _Reader, get_path
from mlrig._repo._records import Build, CiJob, Manager, Python, _allows

_REQUIREMENTS = re.compile(r"(?:[^/]*requirements[^/]*\.(?:txt|in)|requirements/[^/]+\.(?:txt|in))")


_DEV_NAMES = ("dev", "test", "tests", "testing", "lint", "typing", "check")
_NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "doc", "scripts", "examples", "notebooks"}
    | {"benchmarks", "src", "build", "dist", "tools", "ci"}
)


def _requirement_files(files: Iterable[str]) -> list[str]:
    return sorted(f for f in files if _REQUIREMENTS.fullmatch(f) and f.endswith(".txt"))


def _environment_file(reader: _Reader) -> str | None:
    return reader.first("environment.yml", "environment.yaml", "conda.yml", "conda.yaml")


def _environment(reader: _Reader) -> tuple[list[str], list[str], str]:
    """(conda dependencies, pip dependencies, python spec) of environment.yml."""
    path = _environment_file(reader)
    if path is None:
        return [], [], ""
    try:
        data = _mapping(_load_yaml(reader, path))
    except ValueError:
        return [], [], ""
    conda: list[str] = []
    pip: list[str] = []
    python = ""
    for item in _as_list(data.get("dependencies")):
        if isinstance(item, dict):
            pip.extend(str(p) for p in _as_list(item.get("pip")))
        elif isinstance(item, str):
            name = item.split("::")[-1].strip()
            if re.match(r"python(?:[\s=<>!]|$)", name):
                python = name
            else:
                conda.append(name)
    return conda, pip, python


def _requirement_name(text: str) -> str | None:
    """The normalised project name of one PEP 508 requirement (a pyproject entry or a
    requirements-file line), read by ``packaging``; None for anything else: a comment,
    an option (``-r``, ``-e``), a path or URL, or text that is no requirement."""
    line = text.split(" #", 1)[0].split(" --", 1)[0].strip()
    if not line or line.startswith(("#", "-")):
        return None
    try:
        return canonicalize_name(Requirement(line).name)
    except InvalidRequirement:
        return None


def _conda_name(spec: str) -> str:
    """The package of a conda match spec (``numpy=1.21``, ``conda-forge::pytorch>=2``):
    conda's own grammar, not PEP 508, so ``packaging`` cannot read it."""
    return canonicalize_name(re.split(r"[\s=<>!~\[]", spec.split("::")[-1].strip(), maxsplit=1)[0])


def _dependencies(reader: _Reader, pyproject: dict[str, Any]) -> dict[str, str]:
    """Every declared dependency (normalised name) and the first file that declares it."""
    found: dict[str, str] = {}

    def add(requirements: Iterable[object], source: str) -> None:
        for item in requirements:
            name = _requirement_name(str(item))
            if name:
                found.setdefault(name, source)

    def add_names(names: Iterable[object], source: str) -> None:
        for name in names:
            if str(name).strip():
                found.setdefault(canonicalize_name(str(name)), source)

    declared: list[object] = list(_as_list(get_path(pyproject, "project", "dependencies")))
    for group in _mapping(get_path(pyproject, "project", "optional-dependencies")).values():
        declared.extend(_as_list(group))
    for group in _mapping(get_path(pyproject, "dependency-groups")).values():
        declared.extend(item for item in _as_list(group) if isinstance(item, str))
    for group in _mapping(get_path(pyproject, "tool", "pdm", "dev-dependencies")).values():
        declared.extend(_as_list(group))
    for env in _mapping(get_path(pyproject, "tool", "hatch", "envs")).values():
        declared.extend(_as_list(_mapping(env).get("dependencies")))
        declared.extend(_as_list(_mapping(env).get("extra-dependencies")))
    add(declared, "pyproject.toml")
    # poetry and pixi declare dependencies as tables keyed by name.
    names: list[object] = []
    poetry = _mapping(get_path(pyproject, "tool", "poetry"))
    names += [*_mapping(poetry.get("dependencies")), *_mapping(poetry.get("dev-dependencies"))]
    for group in _mapping(poetry.get("group")).values():
        names.extend(_mapping(_mapping(group).get("dependencies")))
    pixi = _mapping(get_path(pyproject, "tool", "pixi"))
    for table in ("dependencies", "pypi-dependencies"):
        names.extend(_mapping(pixi.get(table)))
    for feature in _mapping(pixi.get("feature")).values():
        for table in ("dependencies", "pypi-dependencies"):
            names.extend(_mapping(_mapping(feature).get(table)))
    add_names(names, "pyproject.toml")
    if "pixi.toml" in reader.files:
        pixi = reader.toml("pixi.toml")
        add_names(
            [*_mapping(pixi.get("dependencies")), *_mapping(pixi.get("pypi-dependencies"))],
            "pixi.toml",
        )
    for path in _requirement_files(reader.files):
        add((reader.text(path) or "").replace("\\\n", " ").split("\n"), path)
    conda, pip, _ = _environment(reader)
    environment = _environment_file(reader) or ""
    add_names([_conda_name(spec) for spec in conda], environment)
    add(pip, environment)
    for path in ("setup.py", "setup.cfg"):
        text = reader.text(path) or ""
        add(re.findall(r"[\"']([A-Za-z][\w.-]*\s*(?:[<>=!~;\[][^\"']*)?)[\"']", text), path)
        if path == "setup.cfg":
            add((line.strip() for line in text.split("\n") if line.startswith((" ", "\t"))), path)
    return found


def _python_choices() -> tuple[str, ...]:
    from mlrig.answers import QUESTIONS

    return next(q.choices for q in QUESTIONS if q.name == "python_version")


def _python(reader: _Reader, pyproject: dict[str, Any], jobs: Sequence[CiJob]) -> Python:
    choices = _python_choices()
    supported_text = f"mlrig's pipelines run Python {choices[0]}-{choices[-1]}"
    requires = get_path(pyproject, "project", "requires-python")
    requires_source = "pyproject.toml [project] requires-python"
    if not isinstance(requires, str):
        requires = get_path(pyproject, "tool", "poetry", "dependencies", "python")
        requires_source = "pyproject.toml [tool.poetry]"
    if not isinstance(requires, str):
        match = re.search(
            r"python_requires\s*=\s*[\"']([^\"']+)",
            reader.text("setup.py") or reader.text("setup.cfg") or "",
        )
        requires, requires_source = (
            (match.group(1), "setup.py python_requires") if match else ("", "")
        )
    allowed = [v for v in choices if _allows(requires, v)]

    def verdict(version: str, source: str) -> Python:
        newer = tuple(map(int, version.split("."))) > tuple(map(int, choices[-1].split(".")))
        nearest = choices[-1] if newer else choices[0]
        if version in choices:
            if requires and not _allows(requires, version):
                why = f"{version} from {source} is outside requires-python {requires!r}"
                return Python(version, source, True, why, requires)
            return Python(version, source, True, "", requires)
        hint = (
            f"; requires-python {requires!r} allows {allowed[0]}: -d python_version={allowed[0]}"
            if allowed
            else f"; give one with -d python_version={nearest} if the code runs on it"
        )
        return Python(
            version,
            source,
            False,
            f"{source} says Python {version}; {supported_text}{hint}",
            requires,
        )

    text = reader.text(".python-version")
    if text:
        match = re.match(r"\s*(?:cpython-|python)?(3\.\d+)", text)
        if match:
            return verdict(match.group(1), ".python-version")
    # A version the repository pins (its CI, test and lint jobs first; its conda
    # environment) says more than the lower bound of requires-python.
    pinned = sorted(
        (job for job in jobs if job.pythons and not job.deploy),
        key=lambda job: ("test" not in job.covers, "lint" not in job.covers),
    )
    for job in pinned:
        fitting = [v for v in job.pythons if v in choices and _allows(requires, v)]
        return verdict(fitting[0] if fitting else job.pythons[0], job.file)
    _, _, conda_python = _environment(reader)
    match = _PY_VERSION.search(conda_python)
    if match:
        return verdict(match.group(1), _environment_file(reader) or "environment.yml")
    if requires:
        if allowed:
            return Python(allowed[0], requires_source, True, "", requires)
        nearest = choices[0] if _allows(requires, "3.9") else choices[-1]
        return Python(
            "",
            requires_source,
            False,
            f"requires-python {requires!r} allows no Python mlrig supports ({supported_text}); "
            f"give one with -d python_version={nearest} if the code runs on it",
            requires,
        )
    return Python("", "", True, "nothing in the repository names a Python version", "")


def _manager(reader: _Reader, pyproject: dict[str, Any]) -> Manager:
    files = reader.files
    build = get_path(pyproject, "build-system", "build-backend") or ""
    if "uv.lock" in files:
        return Manager("uv", "uv.lock")
    if "poetry.lock" in files:
        return Manager("poetry", "poetry.lock")
    if get_path(pyproject, "tool", "poetry") is not None and (
        "poetry" in build or get_path(pyproject, "tool", "poetry", "dependencies")
    ):
        return Manager("poetry", "pyproject.toml [tool.poetry]")
    if "pdm.lock" in files:
        return Manager("pdm", "pdm.lock")
    if get_path(pyproject, "tool", "pdm") is not None and "pdm" in build:
        return Manager("pdm", "pyproject.toml [tool.pdm]")
    if get_path(pyproject, "tool", "uv") is not None:
        return Manager("uv", "pyproject.toml [tool.uv]")
    if get_path(pyproject, "dependency-groups") is not None and not _requirement_files(files):
        return Manager("uv", "pyproject.toml [dependency-groups]")
    requirements = _requirement_files(files)
    if requirements:
        return Manager("pip", requirements[0])
    environment = _environment_file(reader)
    if environment:
        return Manager("conda", environment)
    for path in ("pyproject.toml", "setup.py", "setup.cfg", "Pipfile"):
        if path in files:
            return Manager("pip", path)
    return Manager("none", "")


def _build(reader: _Reader, pyproject: dict[str, Any]) -> Build:
    backend = get_path(pyproject, "build-system", "build-backend")
    if isinstance(backend, str) or get_path(pyproject, "build-system") is not None:
        return Build(
            "pyproject",
            str(backend or "setuptools.build_meta:__legacy__"),
            "pyproject.toml [build-system]",
        )
    if "setup.py" in reader.files:
        return Build("setup.py", "setuptools", "setup.py")
    if "setup.cfg" in reader.files and "[metadata]" in (reader.text("setup.cfg") or ""):
        return Build("setup.py", "setuptools", "setup.cfg")
    return Build("none", "", "")


def _layout(files: frozenset[str]) -> tuple[str, tuple[str, ...]]:
    src = sorted(
        {f.split("/")[1] for f in files if re.fullmatch(r"src/[A-Za-z_]\w*/__init__\.py", f)}
    )
    if src:
        return "src", tuple(src)
    flat = sorted(
        {f.split("/")[0] for f in files if re.fullmatch(r"[A-Za-z_]\w*/__init__\.py", f)}
        - _NOT_PACKAGES
    )
    if flat:
        return "flat", tuple(flat)
    return "none", ()
