"""The install stage: one job's install steps, the package manager's own install, and the
tools the lint and test commands need that no dependency list declares."""

from __future__ import annotations

import os
import re
import shlex
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from packaging.utils import canonicalize_name

from mlrig._repo._classify import _LINT, _Classifier
from mlrig._repo._listing import _mapping, _Reader, get_path
from mlrig._repo._project import (
    _DEV_NAMES,
    _environment,
    _environment_file,
    _requirement_files,
)
from mlrig._repo._records import Build, Command, Manager
from mlrig._repo._shell import _logical_lines, _program, _segments, _words

# Tools a command may need, by program name -> distribution.
_TOOLS = {
    **{name: name for name in _LINT - {"ty"}},
    "pytest": "pytest",
    "py.test": "pytest",
    "tox": "tox",
    "nox": "nox",
    "poe": "poethepoet",
    "invoke": "invoke",
    "inv": "invoke",
    "hatch": "hatch",
    "hatch run": "hatch",
    "pdm": "pdm",
    "pdm run": "pdm",
    "dvc": "dvc",
    "just": "rust-just",
    "coverage": "coverage",
}
_PIPX_INSTALL = re.compile(r"^(\s*)pipx install(?= )", re.MULTILINE)


def _whole_install(steps: list[Command]) -> Command:
    """One job's install steps as the one sequence they are, in their order."""
    text = "\n".join(step.text for step in steps)
    portable = _PIPX_INSTALL.sub(r"\1python -m pip install", text)
    why = "pipx install as python -m pip install" if portable != text else ""
    return Command(portable, steps[0].source, True, why)


def _install(
    reader: _Reader, pyproject: dict[str, Any], manager: Manager, build: Build
) -> Command | None:
    """The install sequence the package manager implies, when CI shows none."""
    files = reader.files
    name = manager.name
    if name == "uv":
        groups = list(_mapping(get_path(pyproject, "dependency-groups")))
        extras = list(_mapping(get_path(pyproject, "project", "optional-dependencies")))
        words = ["uv", "sync"]
        if "uv.lock" in files:
            words.append("--locked")
        dev = [g for g in groups if g in _DEV_NAMES]
        words += [f"--group {g}" for g in dev] if dev else (["--all-groups"] if groups else [])
        words += [f"--extra {e}" for e in extras if e in _DEV_NAMES]
        return Command(" ".join(words), f"{manager.source} (uv)")
    if name == "poetry":
        groups = [
            g for g in _mapping(get_path(pyproject, "tool", "poetry", "group")) if g in _DEV_NAMES
        ]
        with_ = f" --with {','.join(groups)}" if groups else ""
        return Command(f"pip install poetry\npoetry install{with_}", f"{manager.source} (poetry)")
    if name == "pdm":
        return Command("pip install pdm\npdm install", f"{manager.source} (pdm)")
    lines: list[str] = []
    sources: list[str] = []
    requirements = _requirement_files(files)
    chained: set[str] = set()
    installs_project = False
    for path in requirements:
        for line in (reader.text(path) or "").split("\n"):
            line = line.split(" #")[0].strip()
            ref = re.match(r"(?:-r|--requirement)\s*=?\s*(\S+)", line)
            if ref:
                chained.add(os.path.normpath(os.path.join(os.path.dirname(path), ref.group(1))))
            if re.match(r"(?:-e|--editable)\s+\.(?:\[.*\])?$|\.(?:\[.*\])?$", line):
                installs_project = True
    dev = [
        p
        for p in requirements
        if re.search(r"dev|test|lint|ci", p.rsplit("/", 1)[-1]) and p.endswith(".txt")
    ]
    base = [
        p
        for p in requirements
        if p
        in (
            "requirements.txt",
            "requirements/base.txt",
            "requirements/main.txt",
            "requirements/prod.txt",
        )
    ]
    chosen = [p for p in [*base, *dev] if p not in chained]
    if chosen:
        lines.append("pip install " + " ".join(f"-r {p}" for p in chosen))
        sources.extend(chosen)
    environment = _environment_file(reader)
    if name == "conda" and environment:
        conda, pip, _ = _environment(reader)
        packages = [_conda_to_pip(c) for c in conda]
        packages = [p for p in packages if p]
        if pip:
            lines.append("pip install " + " ".join(shlex.quote(p) for p in pip))
        elif packages and not chosen:
            lines.append("pip install " + " ".join(shlex.quote(p) for p in packages))
        sources.append(environment)
    if build.kind != "none" and not installs_project:
        extras = list(_mapping(get_path(pyproject, "project", "optional-dependencies")))
        setup_extras = re.findall(
            r"[\"'](dev|test|tests|testing)[\"']\s*:", reader.text("setup.py") or ""
        )
        wanted = [e for e in extras if e in _DEV_NAMES] or setup_extras[:1]
        lines.append(f"pip install -e '.[{','.join(wanted)}]'" if wanted else "pip install -e .")
        sources.append(build.source)
    if not lines:
        return None
    return Command("\n".join(lines), ", ".join(dict.fromkeys(sources)) + " (pip)")


def _conda_to_pip(spec: str) -> str:
    """A conda package spec as pip would take it; ``""`` for conda-only packages."""
    match = re.match(r"([A-Za-z0-9][\w.-]*)\s*(.*)", spec.strip())
    if not match:
        return ""
    name, version = match.groups()
    if name in {
        "pip",
        "python",
        "cudatoolkit",
        "cudnn",
        "mkl",
        "nomkl",
        "libgcc",
        "conda",
    } or name.startswith(("_", "lib", "cuda")):
        return ""
    name = {
        "pytorch": "torch",
        "pytorch-lightning": "lightning",
        "tensorflow-gpu": "tensorflow",
    }.get(name, name)
    version = version.strip()
    if re.fullmatch(r"=?\d[\w.]*", version):
        version = "==" + version.lstrip("=") + ("" if version.startswith("==") else ".*")
    return name + version.replace(" ", "")


def _tools(texts: Iterable[str], classifier: _Classifier, depth: int = 0) -> list[str]:
    """The distributions the commands run (ruff, pytest, pytest-cov, tox ...), in order."""
    found: list[str] = []
    for text in texts:
        for _, line in _logical_lines(text):
            for segment, _ in _segments(line):
                program, args = _program(_words(segment))
                bare = program.removeprefix("-m ")
                if bare in _TOOLS:
                    found.append(_TOOLS[bare])
                if bare in {"pytest", "py.test"} and any(a.startswith("--cov") for a in args):
                    found.append("pytest-cov")
                call = classifier.task_call(program, args)
                # tox and nox install what their environments run themselves.
                if call and depth < 3 and call[0] not in {"tox", "nox"}:
                    for name in call[1]:
                        task = classifier.tasks.get((call[0], name))
                        if task:
                            found += _tools(task.lines, classifier, depth + 1)
    return list(dict.fromkeys(found))


def _with_tools(
    install: Command | None, needed: Sequence[str], repo_deps: Mapping[str, str], manager: Manager
) -> Command | None:
    text = install.text if install else ""
    installed = {canonicalize_name(m) for m in re.findall(r"[A-Za-z0-9][\w.-]*", text)}
    missing = [
        tool
        for tool in needed
        if canonicalize_name(tool) not in repo_deps and canonicalize_name(tool) not in installed
    ]
    if not missing:
        return install
    if manager.name == "uv" and "uv " in text:
        line = "uv pip install " + " ".join(missing)
    elif manager.name == "poetry" and "poetry " in text:
        line = "poetry run pip install " + " ".join(missing)
    else:
        line = "pip install " + " ".join(missing)
    note = f"{', '.join(missing)}: in no dependency list; `{line}` added"
    if install is None:
        return Command(line, "tools the lint and test commands run", True, note)
    why = "; ".join(filter(None, [install.why, note]))
    return Command(f"{install.text}\n{line}", install.source, install.runnable, why)
