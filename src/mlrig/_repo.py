"""The one model of a repository and its pipelines: what it is and what it really runs.

:func:`scan` reads a bounded set of small, well-known files of the repository
(pyproject.toml, setup.*, requirement and environment files, task-runner files,
``dvc.yaml`` and the CI pipelines) and returns a :class:`Repo`: its files, layout,
packages, build, package manager, Python, task runners, CI jobs with their whole
resolved scripts, and one :class:`Command` per pipeline stage that the
repository's own code provides. doctor, adopt, add and the answer inference all
read this model; none keeps its own idea of what a pipeline is.

Only files git would commit are read (tracked, and untracked files that are not
ignored; a folder that is not a git work tree is walked, skipping hidden and
virtual-environment folders), through :mod:`mlrig._files`' bounded reader: files
over :data:`MAX_BYTES`, devices, FIFOs and symlinks that lead out of the repository
are never read (:attr:`Repo.unread` names them), and YAML aliases that stand for
too many values are refused before they are built. Nothing of the repository is
executed: commands are checked with ``bash -n`` (parse only), all in one process.

Classification is by what a command runs (``pytest`` is a test, ``ruff`` a lint,
``python -m pkg.train`` or ``dvc repro`` a training run), following task-runner
calls (``make test``, ``just lint``, ``poe test`` ...) into their recipes, never by
job names or words in paths. Deploy, publish and cleanup lines (``ssh``, ``scp``,
``rm -rf``, ``twine upload``, ``kubectl``, ``eval "$(ssh-agent -s)"`` ...) and
every line of a deploy job (one with an ``environment:``) are never a stage
command.

Stage commands are chosen in this order: the repository's CI (what it really
runs, in file order: GitHub workflows, then GitLab CI, then other CI), then its
task runners (make, just, mise, pixi, hatch, poe, pdm, tox, nox, invoke), then DVC
(``dvc repro`` trains), then ``[project.scripts]``. The install is the whole
install sequence of the job whose test (or lint) command was chosen, else one
derived from the package manager; tools the lint and test commands need that no
dependency list declares are installed after it.
"""

from __future__ import annotations

import fnmatch
import itertools
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mlrig._files import read_bytes
from mlrig._git import git, start_git
from mlrig._yaml import Lined as _Text
from mlrig._yaml import Reference as _Reference
from mlrig._yaml import load_lined
from mlrig._yamlmerge import GITLAB_KEYWORDS
from mlrig.errors import InvalidInputError

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10 needs the tomli backport
    import tomli as tomllib

__all__ = [
    "MAX_BYTES",
    "STAGES",
    "Build",
    "CiJob",
    "Command",
    "Manager",
    "Python",
    "Repo",
    "RepoFiles",
    "Task",
    "left_out",
    "list_files",
    "scan",
]

#: The pipeline stages of the model, in pipeline order.
STAGES = ("install", "lint", "test", "data", "train", "evaluate", "image", "monitor", "deploy")
#: Files bigger than this are never read (no real pipeline or manifest is).
MAX_BYTES = 1 << 20
# Python versions mlrig can serve; the answers' choices (answers.py) are the authority.
_SUPPORTED_RANGE = "3.10-3.14"
# Folders never walked when the root is not a git work tree.
_SKIP_DIRS = frozenset(
    {".git", ".venv", "venv", "env", "node_modules", "__pycache__", ".tox", ".nox", ".mypy_cache"}
    | {".pytest_cache", ".ruff_cache", "build", "dist", ".eggs", "site-packages"}
)
_MAX_WALK = 20_000
_MAX_INCLUDES = 64
_MAX_DEPTH = 11  # GitLab's own limit for extends and nested !reference
_MAX_SCRIPT = 1000  # lines of one job's script

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
_REQUIREMENTS = re.compile(r"(?:[^/]*requirements[^/]*\.(?:txt|in)|requirements/[^/]+\.(?:txt|in))")


@dataclass(frozen=True)
class Command:
    """A shell command of the repository: valid for ``bash -n``, maybe several lines.

    ``source`` is where it comes from (``file:line``, or a description for a derived
    one such as the package manager's install); ``runnable`` is False when it
    cannot run as it stands in a fresh CI checkout, and ``why`` then says why
    (otherwise ``why`` may carry a note, e.g. a tool installed in addition).
    """

    text: str
    source: str
    runnable: bool = True
    why: str = ""


@dataclass(frozen=True)
class Python:
    """The repository's Python: ``version`` (``"3.12"``), where it comes from, and whether
    mlrig can serve it (``why`` says what to do when not). ``requires`` is the
    requires-python specifier, ``""`` when none is declared."""

    version: str
    source: str
    supported: bool
    why: str = ""
    requires: str = ""

    def allows(self, version: str) -> bool:
        """Whether requires-python allows ``version`` (True when there is no specifier)."""
        return _allows(self.requires, version)


@dataclass(frozen=True)
class Manager:
    """The package manager: uv, poetry, pdm, pip, conda or none, and the file that says so."""

    name: str
    source: str


@dataclass(frozen=True)
class Build:
    """How the package is built: ``pyproject`` (with its backend), ``setup.py`` or ``none``."""

    kind: str
    backend: str
    source: str


@dataclass(frozen=True)
class Task:
    """A task of a task runner: its recipe lines, where it is defined, and how to call it."""

    runner: str
    name: str
    lines: tuple[str, ...]
    source: str
    call: str
    depends: tuple[str, ...] = ()


@dataclass(frozen=True)
class CiJob:
    """One CI job with its whole resolved script.

    ``commands`` are the job's scripts in order (a GitHub ``run:`` block whole, each
    GitLab ``before_script`` + ``script`` item after anchors, ``extends``,
    ``!reference`` and includes). ``triggers`` are the GitHub ``on:`` events or the
    GitLab ``rules: if`` / ``only`` conditions. ``scheduled`` is True for a job meant
    for scheduled runs; ``on_schedule`` for every job a scheduled pipeline would run.
    ``deploy`` marks a job with an ``environment:`` or a deploy line. ``covers`` are
    the stages (:data:`STAGES`) its commands run; ``uses`` are GitHub actions it uses.
    """

    provider: str
    file: str
    name: str
    stage: str
    triggers: tuple[str, ...]
    scheduled: bool
    on_schedule: bool
    deploy: bool
    commands: tuple[Command, ...]
    pythons: tuple[str, ...]
    covers: tuple[str, ...]
    uses: tuple[str, ...] = ()


@dataclass(frozen=True)
class RepoFiles:
    """The files git would commit: tracked (with their blob ids) and untracked, not ignored."""

    root: Path
    tracked: dict[str, str]
    untracked: tuple[str, ...]
    git: bool = True

    @property
    def all(self) -> tuple[str, ...]:
        """Tracked and untracked paths, relative to ``root``, sorted."""
        return tuple(sorted([*self.tracked, *self.untracked]))


@dataclass(frozen=True)
class Repo:
    """What a repository is and what its pipelines run (see the module docstring)."""

    root: Path
    #: Paths git tracks or would add (relative, POSIX), and the tracked ones alone.
    files: frozenset[str]
    tracked: frozenset[str]
    layout: str
    packages: tuple[str, ...]
    build: Build
    package_manager: Manager
    python: Python
    task_runners: tuple[Task, ...]
    ci_providers: tuple[str, ...]
    ci_files: tuple[str, ...]
    ci_jobs: tuple[CiJob, ...]
    #: Pipeline files that could not be read or parsed, one line each.
    ci_problems: tuple[str, ...]
    #: GitLab includes from other projects, templates or URLs (not visible offline).
    remote_includes: int
    #: Files (or ``file:job``) that run on a schedule.
    scheduled: tuple[str, ...]
    stages: dict[str, Command]
    #: Per stage with no command: why, and the answer that turns it on.
    missing: dict[str, str]
    #: Every declared dependency (normalised name, all groups and extras) -> its file.
    dependencies: Mapping[str, str]
    #: pyproject.toml as parsed (empty when there is none or it does not parse).
    pyproject: Mapping[str, Any]
    #: The JSON metrics file the train or evaluate command writes, ``""`` when unknown.
    metrics_file: Command | None
    _ignored: dict[str, bool] = field(default_factory=dict, compare=False, repr=False)
    git: bool = True
    #: The files the scan could not read (a symlink out of the repository or to a
    #: device, a FIFO, over :data:`MAX_BYTES`), each with the one-line reason.
    unread: tuple[tuple[str, str], ...] = ()

    def ignored(self, path: str) -> bool:
        """Whether git ignores ``path`` (relative), tracked or not: never write there."""
        return self.ignored_paths([path])[path]

    def ignored_paths(self, paths: Sequence[str]) -> dict[str, bool]:
        """:meth:`ignored` for many paths with one ``git check-ignore`` call."""
        wanted = [p for p in dict.fromkeys(paths) if p not in self._ignored]
        if wanted and self.git:
            stdin = "".join(f"{p}\0" for p in wanted)
            proc = git(self.root, "check-ignore", "--no-index", "--stdin", "-z", input=stdin)
            hits = set(proc.stdout.decode("utf-8", "surrogateescape").split("\0"))
            self._ignored.update({p: p in hits for p in wanted})
        self._ignored.update({p: False for p in wanted if p not in self._ignored})
        return {p: self._ignored[p] for p in paths}

    def task(self, runner: str, name: str) -> Task | None:
        """The task ``name`` of ``runner`` (``make``, ``just``, ...), or None."""
        for task in self.task_runners:
            if task.runner == runner and task.name == name:
                return task
        return None


# Listing and reading -------------------------------------------------------------


def list_files(root: Path) -> RepoFiles:
    """Ask git for the files under ``root``; it never enters ignored folders.

    A folder that is not in a git work tree is walked instead (hidden folders and
    virtual environments skipped, at most 20,000 files).
    """
    if git(root, "rev-parse", "--is-inside-work-tree").text != "true":
        return _walk(root)
    # Both listings run at once; -z keeps unusual names unquoted.
    staged = start_git(root, "ls-files", "--stage", "-z")
    others = start_git(root, "ls-files", "--others", "--exclude-standard", "-z")
    tracked: dict[str, str] = {}
    for entry in _finish(staged).split("\0"):
        meta, _, path = entry.partition("\t")
        fields = meta.split()
        # Submodules (160000) and symlinks (120000) are not files of this repository.
        if path and fields and fields[0] not in {"160000", "120000"}:
            tracked[path] = fields[1]
    untracked = tuple(p for p in _finish(others).split("\0") if p)
    return RepoFiles(root, tracked, untracked)


def _walk(root: Path) -> RepoFiles:
    found: list[str] = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = sorted(
            d
            for d in dirs
            if d not in _SKIP_DIRS and (not d.startswith(".") or d in {".github", ".circleci"})
        )
        base = os.path.relpath(folder, root)
        for name in sorted(names):
            path = name if base == "." else f"{base}/{name}".replace(os.sep, "/")
            if not os.path.islink(os.path.join(folder, name)):
                found.append(path)
        if len(found) > _MAX_WALK:
            break
    return RepoFiles(root, {}, tuple(found[:_MAX_WALK]), git=False)


def _finish(proc: subprocess.Popen[bytes]) -> str:
    output, _ = proc.communicate()
    return output.decode("utf-8", "surrogateescape")


class _Reader:
    """Bounded reads of the repository's own files (listed, regular, at most MAX_BYTES)."""

    def __init__(self, root: Path, files: frozenset[str]) -> None:
        self.root = root
        self.files = files
        self._cache: dict[str, str | None] = {}
        #: Why each file that could not be read was not, in one line.
        self.unread: dict[str, str] = {}

    def text(self, path: str) -> str | None:
        if path not in self._cache:
            self._cache[path] = self._load(path)
        return self._cache[path]

    def _load(self, path: str) -> str | None:
        if path not in self.files:
            return None
        try:
            data = read_bytes(self.root / path, what=path, limit=MAX_BYTES, root=self.root)
        except InvalidInputError as exc:
            self.unread[path] = str(exc)
            return None
        return data.decode("utf-8", errors="replace").replace("\r\n", "\n")

    def toml(self, path: str) -> dict[str, Any]:
        text = self.text(path)
        try:
            return tomllib.loads(text) if text else {}
        except tomllib.TOMLDecodeError:
            return {}

    def first(self, *paths: str) -> str | None:
        return next((p for p in paths if p in self.files), None)


def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _line_of(text: str, pattern: str, start: int = 0) -> int:
    """1-based line of the first match of ``pattern`` (multiline) at or after ``start``."""
    match = re.compile(pattern, re.MULTILINE).search(text, start)
    return text.count("\n", 0, match.start()) + 1 if match else 1


# YAML with lines -----------------------------------------------------------------


def _load_yaml(reader: _Reader, path: str) -> object:
    """One YAML file, parsed safely (:func:`mlrig._yaml.load_lined`); ValueError with a reason."""
    text = reader.text(path)
    if text is None:
        raise ValueError(reader.unread.get(path, "cannot be read").removeprefix(f"{path} "))
    try:
        return load_lined(text, file=path)
    except InvalidInputError as exc:
        raise ValueError(str(exc).removeprefix(f"{path} is ").removeprefix(f"{path} ")) from None


def _mapping(value: object) -> dict[Any, Any]:
    return value if isinstance(value, dict) else {}


def _as_list(value: object) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _where(value: object, fallback: str) -> str:
    if isinstance(value, _Text) and value.file:
        return f"{value.file}:{value.line}"
    return fallback


# Shell ---------------------------------------------------------------------------


def _logical_lines(text: str) -> list[tuple[int, str]]:
    """(offset, line) of each logical shell line: continuations joined, comments dropped."""
    lines: list[tuple[int, str]] = []
    pending: list[str] = []
    start = 0
    for number, raw in enumerate(text.split("\n")):
        if not pending:
            start = number
        if raw.rstrip().endswith("\\") and not raw.rstrip().endswith("\\\\"):
            pending.append(raw.rstrip()[:-1])
            continue
        pending.append(raw)
        joined = " ".join(part.strip() for part in pending).strip()
        pending = []
        if joined and not joined.startswith("#"):
            lines.append((start, joined))
    if pending:
        joined = " ".join(part.strip() for part in pending).strip()
        if joined:
            lines.append((start, joined))
    return lines


_TOKEN = re.compile(
    r"""\\.|'[^']*'?|"(?:\\.|[^"\\])*"?|`[^`]*`?|\$\(|[()]|&&|\|\||[;|&]|\s\#|^\#|[^\\'"`$()&|;\s]+|\s+|\$"""
)
_WORD = re.compile(r"""(?:[^\s'"\\]+|\\.|'[^']*'|"(?:\\.|[^"\\])*")+""")


def _segments(line: str) -> list[tuple[str, str]]:
    """(segment, separator after it) at the top level of ``line`` (quotes and ``$()`` kept)."""
    parts: list[tuple[str, str]] = []
    start = 0
    depth = 0
    for match in _TOKEN.finditer(line):
        token = match.group()
        if token == "$(" or (token == "(" and depth):
            depth += 1
        elif token == ")" and depth:
            depth -= 1
        elif depth == 0 and token.lstrip() == "#":
            parts.append((line[start : match.start()].strip(), ""))
            start = len(line)
            break
        elif depth == 0 and token in ("&&", "||", ";", "|", "&"):
            parts.append((line[start : match.start()].strip(), token))
            start = match.end()
    parts.append((line[start:].strip(), ""))
    return [(text, sep) for text, sep in parts if text]


def _words(segment: str) -> list[str]:
    """The words of a segment, quotes removed (a quick shlex.split)."""
    words = []
    for match in _WORD.finditer(segment):
        word = match.group()
        if "'" in word or '"' in word or "\\" in word:
            word = re.sub(
                r"""'([^']*)'|"((?:\\.|[^"\\])*)"|\\(.)""",
                lambda m: (
                    next(g for g in m.groups() if g is not None)
                    if any(g is not None for g in m.groups())
                    else ""
                ),
                word,
            )
        words.append(word)
    return words


# Text without quotes, expansions, redirections or keywords parses as bash whatever it says.
_PLAIN = re.compile(r"[\w \t./:=@,+%-]*(?:(?:&&|\n)[\w \t./:=@,+%-]*)*")


def bash_valid(texts: Iterable[str]) -> dict[str, bool]:
    """Whether each text parses as bash (``bash -n``), all checked by one bash process.

    Nothing is executed. Without bash every text counts as valid.
    """
    unique = list(dict.fromkeys(texts))
    verdicts = {text: True for text in unique if _PLAIN.fullmatch(text)}
    unique = [text for text in unique if text not in verdicts]
    bash = shutil.which("bash")
    if not unique or bash is None:
        return {**verdicts, **{text: True for text in unique}}
    script = (
        'while IFS= read -r -d "" c; do '
        'if bash -n -c "$c" 2>/dev/null; then printf 1; else printf 0; fi; done'
    )
    try:
        proc = subprocess.run(
            [bash, "--noprofile", "--norc", "-c", script],
            input="".join(f"{text}\0" for text in unique),
            capture_output=True,
            text=True,
            check=False,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired):
        return {**verdicts, **{text: True for text in unique}}
    output = proc.stdout.strip()
    if len(output) != len(unique):
        return {**verdicts, **{text: True for text in unique}}
    return {**verdicts, **{text: out == "1" for text, out in zip(unique, output, strict=True)}}


# Classification ------------------------------------------------------------------

# Words that only wrap the real command; the value is how many arguments follow them.
_PREFIXES = {"sudo": 0, "time": 0, "env": 0, "exec": 0, "command": 0, "nohup": 0, "xvfb-run": 0}
_WRAPPER_OPTIONS_WITH_VALUE = frozenset(
    {"--extra", "--group", "--with", "--python", "-p", "--project", "--directory", "--package"}
    | {"--env", "-e", "-n", "--name", "--frozen-lockfile", "--only-group", "--environment"}
)
_LINT = frozenset(
    {"ruff", "flake8", "pylint", "mypy", "pyright", "basedpyright", "black", "isort", "pre-commit"}
    | {"prek", "codespell", "pydocstyle", "pycodestyle", "pyflakes", "bandit", "yamllint"}
    | {"interrogate", "vulture", "darglint", "pyupgrade", "autoflake", "ty", "blackdoc"}
)
_TEST = frozenset({"pytest", "py.test", "unittest", "tox", "nox", "ward", "behave", "hypothesis"})
_INSTALL_VERBS = {
    "pip": {"install"},
    "pip3": {"install"},
    "uv": {"sync", "pip"},
    "poetry": {"install", "lock"},
    "pdm": {"install", "sync"},
    "pipenv": {"install", "sync"},
    "conda": {"install", "env", "create"},
    "mamba": {"install", "env", "create"},
    "micromamba": {"install", "env", "create"},
    "pixi": {"install"},
    "pipx": {"install"},
    "pip-sync": set(),
    "hatch": {"env"},
}
_DEPLOY_PROGRAMS = frozenset(
    {"ssh", "scp", "sftp", "ssh-add", "ssh-agent", "ssh-keyscan", "kubectl", "helm", "terraform"}
    | {"ansible", "ansible-playbook", "twine", "heroku", "flyctl", "fly", "vercel", "netlify"}
    | {"firebase", "gsutil", "gcloud", "az", "aws", "skopeo", "crane", "rsync", "sshpass"}
    | {"ghp-import", "mike", "cf", "serverless", "sls", "eb", "kamal", "docker-compose-deploy"}
)
_DEPLOY_VERBS = {
    "docker": {"push", "login", "logout", "tag", "manifest"},
    "podman": {"push", "login"},
    "git": {"push", "tag", "commit", "remote"},
    "gh": {"release", "pr", "workflow", "api"},
    "glab": {"release", "mr"},
    "poetry": {"publish"},
    "uv": {"publish"},
    "hatch": {"publish"},
    "flit": {"publish"},
    "pdm": {"publish"},
    "npm": {"publish"},
    "dvc": {"push"},
    "mlflow": {"deployments", "models"},
}
_DEPLOY_NAME = re.compile(
    r"(?:^|[-_.])(?:deploy|release|publish|upload|rollout|promote)(?:$|[-_.])"
)
_TRAIN_NAME = re.compile(
    r"^(?:train(?:ing)?|fit|finetune|fine[-_]tune)(?:[-_].*)?$|[-_]train(?:ing)?$"
)
_EVAL_NAME = re.compile(
    r"^(?:evaluate|evaluation|eval|metrics|gate|score|scoring|benchmark)(?:[-_].*)?$"
    r"|[-_](?:evaluate|evaluation|eval|gate|metrics)$"
)
_DATA_NAME = re.compile(
    r"^(?:data|validate|validation|expectations|schema)$|validat|data[-_]?(?:check|quality|test)"
    r"|check[-_]?data"
)
_MONITOR_NAME = re.compile(r"^(?:monitor(?:ing)?|drift)(?:[-_].*)?$|[-_](?:monitor|drift)$")
_PY_STEM = re.compile(r"[\w.-]+")


def _program(words: list[str]) -> tuple[str, list[str]]:
    """The program a segment runs and its arguments, wrappers such as ``uv run`` removed."""
    index = 0
    while index < len(words):
        word = words[index]
        if re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*=.*", word) or word in _PREFIXES:
            index += 1
        elif word == "timeout" and index + 1 < len(words):
            index += 2
        else:
            break
    words = words[index:]
    while words:
        name = words[0].rsplit("/", 1)[-1]
        rest = words[1:]
        if name in {
            "uv",
            "poetry",
            "pdm",
            "pipenv",
            "hatch",
            "pixi",
            "conda",
            "mamba",
            "micromamba",
        } and rest[:1] == ["run"]:
            rest = _skip_options(rest[1:])
            if not rest:
                return name, []
            # `pdm run NAME`, `hatch run ENV:NAME`, `pixi run NAME` may be tasks: kept.
            if name in {"pdm", "hatch", "pixi"}:
                return f"{name} run", rest
            words = rest
            continue
        # `uvx TOOL`, `pipx run TOOL`, `uv tool run TOOL` run TOOL; `pipx install` installs.
        if (
            name == "uvx"
            or (name == "pipx" and rest[:1] == ["run"])
            or (name == "uv" and rest[:2] == ["tool", "run"])
        ):
            rest = rest[2:] if name == "uv" else (rest[1:] if name == "pipx" else rest)
            words = _skip_options(rest)
            continue
        if re.fullmatch(
            r"(?:python[\d.]*|py|\$\(PYTHON\)|\$\{?PYTHON\}?|\$\(PY\)|coverage|\$\(VENV\)/bin/python)",
            name,
        ) or name.endswith("/python"):
            if rest[:1] == ["run"] and name == "coverage":
                rest = rest[1:]
            options = list(rest)
            while options and options[0].startswith("-") and options[0] != "-m":
                options = options[1:]
            if options[:1] == ["-m"] and len(options) > 1:
                return f"-m {options[1]}", options[2:]
            if options and options[0].endswith(".py"):
                return f"py {options[0]}", options[1:]
            return "python", options
        return name, rest
    return "", []


def _skip_options(words: list[str]) -> list[str]:
    index = 0
    while index < len(words) and words[index].startswith("-"):
        index += 2 if words[index] in _WRAPPER_OPTIONS_WITH_VALUE else 1
    return words[index:]


def _stem(target: str) -> str:
    """``pkg.sub.train`` -> ``train``; ``scripts/train_model.py`` -> ``train_model``."""
    if target.endswith(".py") or "/" in target:
        return target.rsplit("/", 1)[-1].removesuffix(".py").lower()
    return target.rsplit(".", 1)[-1].lower()


def _by_name(stem: str) -> str | None:
    """The stage a script or task name says it is; deploy names first."""
    stem = stem.lower()
    if _DEPLOY_NAME.search(stem):
        return "deploy"
    for stage, pattern in (
        ("monitor", _MONITOR_NAME),
        ("evaluate", _EVAL_NAME),
        ("train", _TRAIN_NAME),
        ("data", _DATA_NAME),
    ):
        if pattern.search(stem):
            return stage
    return None


def _name_stage(name: str) -> str | None:
    """The stage a task's name says it is, for a task whose recipe says nothing."""
    name = name.lower().rsplit(":", 1)[-1]
    if name in {"test", "tests", "unit", "pytest", "check-tests", "unit-tests"}:
        return "test"
    if name in {"lint", "style", "format-check", "typecheck", "check-format"}:
        return "lint"
    if name in {"install", "setup", "deps", "requirements", "bootstrap"}:
        return "install"
    return _by_name(name)


class _Classifier:
    """Classifies shell segments by what they run, following task-runner calls."""

    def __init__(self, tasks: Sequence[Task], scripts: Mapping[str, str], reader: _Reader) -> None:
        self.tasks = {(t.runner, t.name): t for t in tasks}
        self.scripts = scripts
        self.reader = reader
        self._seen: dict[tuple[str, int], str | None] = {}

    def task_call(self, program: str, args: list[str]) -> tuple[str, list[str]] | None:
        """(runner, task names) when the segment calls a task runner."""
        runner = {
            "make": "make",
            "gmake": "make",
            "just": "just",
            "mise": "mise",
            "poe": "poe",
            "invoke": "invoke",
            "inv": "invoke",
            "tox": "tox",
            "nox": "nox",
            "pdm run": "pdm",
            "hatch run": "hatch",
            "pixi run": "pixi",
            "-m tox": "tox",
            "-m nox": "nox",
            "-m poethepoet": "poe",
        }.get(program)
        if runner is None:
            return None
        names: list[str] = []
        rest = list(args)
        if runner == "mise":
            if rest[:1] not in (["run"], ["r"]) and not (
                rest and rest[0] in {t[1] for t in self.tasks if t[0] == "mise"}
            ):
                return None
            rest = rest[1:] if rest[:1] in (["run"], ["r"]) else rest
        if runner in {"tox", "nox"}:
            flag = "-e" if runner == "tox" else "-s"
            for i, word in enumerate(rest):
                if word in (flag, "--session", "--sessions", "-k") and i + 1 < len(rest):
                    names.extend(rest[i + 1].split(","))
                elif word.startswith(flag) and len(word) > 2:
                    names.extend(word[2:].split(","))
            return runner, names
        while rest:
            word = rest.pop(0)
            if word in {"-f", "-C", "--file", "--directory", "-j"} and rest:
                rest.pop(0)
            elif word.startswith("-") or "=" in word:
                continue
            else:
                names.append(word)
                if runner not in {"make", "invoke"}:
                    break
        return runner, names

    def classify(self, segment: str, depth: int = 0) -> str | None:
        """The stage of one segment (or ``cleanup``), None for anything else."""
        key = (segment, depth)
        if key not in self._seen:
            self._seen[key] = self._classify(segment, depth)
        return self._seen[key]

    def _classify(self, segment: str, depth: int) -> str | None:
        words = _words(segment)
        if not words:
            return None
        if words[0] == "eval" and "ssh-agent" in segment:
            return "deploy"
        program, args = _program(words)
        verb = args[0] if args else ""
        if program in _DEPLOY_PROGRAMS:
            if program == "rsync" and not any(":" in a and not a.startswith("-") for a in args):
                return None
            if program == "aws" and verb not in {
                "s3",
                "ecr",
                "ecs",
                "lambda",
                "deploy",
                "cloudformation",
                "sagemaker",
            }:
                return None
            return "deploy"
        if verb in _DEPLOY_VERBS.get(program, set()):
            return "deploy"
        if program in {"curl", "wget"} and re.search(
            r"\s(?:-X\s*(?:POST|PUT|PATCH|DELETE)|-T|--upload-file|--data\S*|-d|-F|--form)\b",
            f" {segment}",
        ):
            return "deploy"
        if program == "rm" and any(a.startswith("-") and ("r" in a or "f" in a) for a in args):
            return "cleanup"
        if program in {"docker", "podman", "buildah", "nerdctl"} and (
            verb in {"build", "bud"}
            or args[:2] in (["buildx", "build"], ["compose", "build"], ["image", "build"])
        ):
            return "image"
        if program in {"executor", "/kaniko/executor", "kaniko"} or segment.lstrip().startswith(
            "/kaniko/executor"
        ):
            return "image"
        if program == "-m pip" or program in _INSTALL_VERBS:
            verbs = _INSTALL_VERBS.get("pip" if program == "-m pip" else program, set())
            if not verbs or verb in verbs:
                if program == "uv" and verb == "pip" and args[1:2] not in (["install"], ["sync"]):
                    return None
                return "install"
        call = self.task_call(program, args)
        if call is not None:
            return self._task_stage(call[0], call[1], depth)
        if program in _LINT or (program.startswith("-m ") and program[3:] in _LINT):
            return "lint"
        if program in _TEST or (program.startswith("-m ") and program[3:] in _TEST):
            return "test"
        if program == "hatch" and verb == "test":
            return "test"
        if program == "dvc":
            if verb == "repro" or args[:2] == ["exp", "run"]:
                return "train"
            if args[:2] in (["metrics", "diff"], ["metrics", "show"]):
                return "evaluate"
            return None
        if program in {"great_expectations", "gx", "soda", "pandera", "deepchecks"}:
            return "data"
        if program in {"evidently"}:
            return "monitor"
        if program in {"accelerate", "torchrun", "deepspeed", "lightning", "mlflow"}:
            script = next((a for a in args if a.endswith(".py")), "")
            return _by_name(_stem(script)) or (
                "train" if program != "mlflow" or verb == "run" else None
            )
        if program.startswith("-m "):
            return _by_name(_stem(program[3:]))
        if program.startswith("py "):
            return _by_name(_stem(program[3:])) or self._script_stage(program[3:], depth)
        if program in self.scripts:
            target = self.scripts[program]
            return _by_name(program) or _by_name(target.rpartition(":")[2])
        if program in {"bash", "sh", "zsh"} and args and not args[0].startswith("-"):
            program, args = args[0], args[1:]
        if program.endswith(".sh") or program.startswith(("./", "scripts/", "bin/")):
            path = program.removeprefix("./")
            return _by_name(_stem(path.removesuffix(".sh"))) or self._script_stage(path, depth)
        return None

    def all_stages(self, segment: str, depth: int = 0) -> set[str]:
        """Every stage a segment runs: a task call runs all its recipe does (``make check``
        may test and check data); any other segment its one stage."""
        program, args = _program(_words(segment))
        call = self.task_call(program, args)
        if call is None or depth >= 4:
            stage = self.classify(segment, depth)
            return {stage} if stage else set()
        found: set[str] = set()
        for name in call[1]:
            task = self.tasks.get((call[0], name))
            if task is None:
                continue
            for line in task.lines:
                for _, text in _logical_lines(line):
                    for part, _ in _segments(text):
                        found |= self.all_stages(part, depth + 1)
            for dependency in task.depends:
                found |= self.all_stages(f"{program} {dependency}", depth + 1)
        stage = self.classify(segment, depth)
        return (found | {stage}) if stage else found

    def _task_stage(self, runner: str, names: list[str], depth: int) -> str | None:
        if not names:
            names = {"tox": ["py"], "nox": ["*nox-default*"]}.get(runner, [])
            if runner == "make":
                first = next((t for (r, _), t in self.tasks.items() if r == "make"), None)
                names = [first.name] if first else []
            if runner == "tox":
                return "test"
            if runner == "nox":
                return "test"
        stages: list[str] = []
        for name in names:
            task = self.tasks.get((runner, name))
            # A call of a task that does not exist still says what it means to run.
            stage = self.recipe_stage(task, depth) if task else _name_stage(name)
            if stage:
                stages.append(stage)
        for stage in (
            "deploy",
            "cleanup",
            "test",
            "lint",
            "train",
            "evaluate",
            "data",
            "image",
            "monitor",
            "install",
        ):
            if stage in stages:
                return stage
        return None

    def recipe_stage(self, task: Task, depth: int) -> str | None:
        found: list[str] = []
        if depth < 4:
            for line in task.lines:
                for _, text in _logical_lines(line):
                    for segment, _ in _segments(text):
                        stage = self.classify(segment, depth + 1)
                        if stage:
                            found.append(stage)
            for dependency in task.depends:
                sub = self.tasks.get((task.runner, dependency))
                stage = self.recipe_stage(sub, depth + 1) if sub else None
                if stage:
                    found.append(stage)
        for stage in (
            "deploy",
            "test",
            "lint",
            "train",
            "evaluate",
            "data",
            "image",
            "monitor",
            "install",
        ):
            if stage in found:
                return stage
        if "cleanup" in found and len(set(found)) == 1:
            return "cleanup"
        # A recipe that runs nothing we know: its name says what it is.
        return _name_stage(task.name)

    def _script_stage(self, path: str, depth: int) -> str | None:
        """The stage of a shell script of the repository, from the lines it runs."""
        if depth >= 2 or not path.endswith(".sh"):
            return None
        text = self.reader.text(path)
        if not text:
            return None
        task = Task("script", path, (text,), path, path)
        stage = self.recipe_stage(task, depth)
        return None if stage in {"install"} else stage


# Task runners --------------------------------------------------------------------

# A rule line: targets, prerequisites, then an inline recipe or a comment (`test: ## help`).
_MAKE_RULE = re.compile(r"^([^\s:=#][^:=#]*?)\s*::?(?![=])\s*([^=;#]*)(?:;(.*)|#.*)?$")


def _make_tasks(reader: _Reader) -> list[Task]:
    path = reader.first("Makefile", "makefile", "GNUmakefile")
    text = reader.text(path) if path else None
    if not text or path is None:
        return []
    tasks: dict[str, Task] = {}
    lines = text.split("\n")
    number = 0
    while number < len(lines):
        line = lines[number]
        match = _MAKE_RULE.match(line) if not line.startswith("\t") else None
        number += 1
        rule_line = number
        if (
            not match
            or match.group(1).startswith(".")
            or "$" in match.group(1)
            or "%" in match.group(1)
        ):
            continue
        recipe: list[str] = [match.group(3).strip()] if match.group(3) else []
        while number < len(lines) and (
            lines[number].startswith("\t") or (recipe and recipe[-1].endswith("\\"))
        ):
            if lines[number].startswith("\t#"):
                number += 1
                continue
            text_line = lines[number].strip()
            if recipe and recipe[-1].endswith("\\"):
                recipe[-1] = recipe[-1] + "\n" + text_line
            else:
                recipe.append(text_line.lstrip("@-+").strip())
            number += 1
        depends = tuple(d for d in match.group(2).split() if not d.startswith(("$", ".")))
        for name in match.group(1).split():
            if name not in tasks:
                tasks[name] = Task(
                    "make",
                    name,
                    tuple(r for r in recipe if r),
                    f"{path}:{rule_line}",
                    f"make {name}",
                    depends,
                )
    return list(tasks.values())


_JUST_RECIPE = re.compile(r"^@?([A-Za-z_][\w-]*)((?:\s+[^:=]+)?)\s*:(?!=)\s*([^#]*)")


def _just_tasks(reader: _Reader) -> list[Task]:
    path = reader.first("justfile", "Justfile", ".justfile")
    text = reader.text(path) if path else None
    if not text or path is None:
        return []
    tasks: list[Task] = []
    lines = text.split("\n")
    for number, line in enumerate(lines):
        if line[:1] in (" ", "\t", "#", "[") or line.startswith(
            ("set ", "alias ", "export ", "import ", "mod ")
        ):
            continue
        match = _JUST_RECIPE.match(line)
        if not match:
            continue
        body: list[str] = []
        for follow in lines[number + 1 :]:
            if follow and not follow[0].isspace():
                break
            stripped = follow.strip()
            if stripped and not stripped.startswith("#"):
                body.append(stripped.lstrip("@-").strip())
        depends = tuple(d for d in match.group(3).split() if re.fullmatch(r"[\w-]+", d))
        name = match.group(1)
        tasks.append(
            Task("just", name, tuple(body), f"{path}:{number + 1}", f"just {name}", depends)
        )
    return tasks


def _toml_tasks(
    runner: str, path: str, table: Any, text: str, call: str, header: str
) -> list[Task]:
    """Tasks of a TOML table whose values are a command, a list, or a table of one."""
    tasks: list[Task] = []
    for name, value in _mapping(table).items():
        lines: list[str] = []
        depends: list[str] = []
        if isinstance(value, str):
            lines = [value]
        elif isinstance(value, list):
            lines = [v for v in value if isinstance(v, str)]
            if runner == "poe":
                depends = [v for v in lines if re.fullmatch(r"[\w-]+", v)]
                lines = [] if depends else lines
        elif isinstance(value, dict):
            for key in ("cmd", "shell", "run", "script", "call"):
                item = value.get(key)
                if isinstance(item, str):
                    lines = [
                        item if key != "script" else f"python -c 'import {item.split(':')[0]}'"
                    ]
                    break
                if isinstance(item, list):
                    lines = (
                        [" ".join(map(str, item))]
                        if key == "cmd" and runner == "pixi"
                        else [str(i) for i in item]
                    )
                    break
            for key in ("depends", "depends-on", "depends_on", "sequence", "deps"):
                items = value.get(key)
                for item in _as_list(items):
                    if isinstance(item, str):
                        depends.append(item)
                    elif isinstance(item, dict) and isinstance(item.get("task"), str):
                        depends.append(item["task"])
        escaped = re.escape(str(name))
        # [ \t]*, not \s*: the match must not begin on a blank line before the header.
        line = _line_of(text, rf"^[ \t]*(?:\[{header}\.\"?{escaped}\"?\]|\"?{escaped}\"?\s*=)")
        tasks.append(
            Task(
                runner,
                str(name),
                tuple(lines),
                f"{path}:{line}",
                call.format(name=name),
                tuple(depends),
            )
        )
    return tasks


def _pyproject_tasks(reader: _Reader, pyproject: dict[str, Any]) -> list[Task]:
    text = reader.text("pyproject.toml") or ""
    tasks = _toml_tasks(
        "poe",
        "pyproject.toml",
        _get(pyproject, "tool", "poe", "tasks"),
        text,
        "poe {name}",
        r"tool\.poe\.tasks",
    )
    tasks += _toml_tasks(
        "pdm",
        "pyproject.toml",
        {k: v for k, v in _mapping(_get(pyproject, "tool", "pdm", "scripts")).items() if k != "_"},
        text,
        "pdm run {name}",
        r"tool\.pdm\.scripts",
    )
    tasks += _toml_tasks(
        "pixi",
        "pyproject.toml",
        _get(pyproject, "tool", "pixi", "tasks"),
        text,
        "pixi run {name}",
        r"tool\.pixi\.tasks",
    )
    envs = dict(_mapping(_get(pyproject, "tool", "hatch", "envs")))
    hatch_path = "pyproject.toml"
    if "hatch.toml" in reader.files:
        envs.update(_mapping(reader.toml("hatch.toml").get("envs")))
        hatch_path = "hatch.toml"
    hatch_text = reader.text(hatch_path) or ""
    for env, config in envs.items():
        prefix = "" if env == "default" else f"{env}:"
        for task in _toml_tasks(
            "hatch",
            hatch_path,
            _mapping(config).get("scripts"),
            hatch_text,
            f"hatch run {prefix}{{name}}",
            rf"(?:tool\.hatch\.)?envs\.{re.escape(str(env))}\.scripts",
        ):
            tasks.append(
                Task(
                    "hatch",
                    f"{prefix}{task.name}",
                    task.lines,
                    task.source,
                    task.call,
                    task.depends,
                )
            )
    pixi = reader.first("pixi.toml")
    if pixi:
        tasks += _toml_tasks(
            "pixi",
            pixi,
            reader.toml(pixi).get("tasks"),
            reader.text(pixi) or "",
            "pixi run {name}",
            "tasks",
        )
    mise = reader.first(
        "mise.toml", ".mise.toml", "mise/config.toml", ".config/mise.toml", ".mise/config.toml"
    )
    if mise:
        tasks += _toml_tasks(
            "mise",
            mise,
            reader.toml(mise).get("tasks"),
            reader.text(mise) or "",
            "mise run {name}",
            "tasks",
        )
    return tasks


def _tox_tasks(reader: _Reader, pyproject: dict[str, Any]) -> list[Task]:
    path = "tox.ini"
    text = reader.text(path)
    legacy = _get(pyproject, "tool", "tox", "legacy_tox_ini")
    if text is None and isinstance(legacy, str):
        path, text = "pyproject.toml", legacy
    tasks: list[Task] = []
    if text is not None:
        section = ""
        start = 0
        commands: dict[str, list[str]] = {}
        where: dict[str, int] = {}
        in_commands = False
        for number, line in enumerate(text.split("\n"), start=1):
            header = re.match(r"\s*\[([^\]]+)\]", line)
            if header:
                section, start, in_commands = header.group(1).strip(), number, False
                if section == "testenv" or section.startswith("testenv:"):
                    commands.setdefault(section, [])
                    where[section] = start
                continue
            if section not in commands:
                continue
            key = re.match(r"(\w[\w-]*)\s*=\s*(.*)", line)
            if key and not line[:1].isspace():
                in_commands = key.group(1) == "commands"
                if in_commands and key.group(2).strip():
                    commands[section].append(key.group(2).strip())
            elif in_commands and line[:1].isspace() and line.strip():
                commands[section].append(line.strip())
        for section, lines in commands.items():
            name = section.partition(":")[2] or "py"
            # `-e py` is the default environment with the interpreter tox runs on: a bare
            # `tox` would run every envlist Python, which a CI job does not have.
            call = "tox -e py" if section == "testenv" else f"tox -e {name}"
            tasks.append(Task("tox", name, tuple(lines), f"{path}:{where[section]}", call))
        return tasks
    table = _get(pyproject, "tool", "tox")
    toml_path, toml = (
        ("pyproject.toml", table)
        if isinstance(table, dict)
        else ("tox.toml", reader.toml("tox.toml"))
    )
    if toml:
        source_text = reader.text(toml_path) or ""
        for name, env in _mapping(toml.get("env")).items():
            lines = [
                " ".join(map(str, c))
                for c in _as_list(_mapping(env).get("commands"))
                if isinstance(c, list)
            ]
            at = _line_of(source_text, rf"^\[(?:tool\.tox\.)?env\.{re.escape(str(name))}\]")
            tasks.append(
                Task("tox", str(name), tuple(lines), f"{toml_path}:{at}", f"tox -e {name}")
            )
    return tasks


def _python_tasks(reader: _Reader, runner: str, path: str) -> list[Task]:
    """nox sessions (``session.run``) or invoke tasks (``c.run``) of a Python file."""
    text = reader.text(path)
    if not text:
        return []
    decorator = r"@nox\.session" if runner == "nox" else r"@(?:invoke\.)?task"
    pattern = re.compile(rf"^{decorator}\b[^\n]*\n(?:@[^\n]*\n)*def\s+(\w+)", re.MULTILINE)
    matches = list(pattern.finditer(text))
    tasks: list[Task] = []
    for index, match in enumerate(matches):
        end = matches[index + 1].start() if index + 1 < len(matches) else len(text)
        body = text[match.end() : end]
        if runner == "nox":
            lines = [
                " ".join(re.findall(r"[\"']([^\"']*)[\"']", call))
                for call in re.findall(r"session\.run\(([^)]*)\)", body)
            ]
        else:
            lines = re.findall(r"\.run\(\s*f?[\"']([^\"']+)[\"']", body)
        name = match.group(1)
        shown = name.replace("_", "-") if runner == "invoke" else name
        call = f"nox -s {name}" if runner == "nox" else f"invoke {shown}"
        line = text.count("\n", 0, match.start(1)) + 1
        tasks.append(Task(runner, shown, tuple(lines), f"{path}:{line}", call))
    return tasks


def _dvc_stages(reader: _Reader) -> tuple[list[Task], list[str], list[str]]:
    """DVC stages as tasks, the paths their stages write, and the metrics files."""
    if "dvc.yaml" not in reader.files:
        return [], [], []
    try:
        data = _load_yaml(reader, "dvc.yaml")
    except ValueError:
        return [], [], []
    tasks: list[Task] = []
    outs: list[str] = []
    metrics: list[str] = []
    for name, stage in _mapping(_mapping(data).get("stages")).items():
        stage = _mapping(stage)
        commands = [str(c) for c in _as_list(stage.get("cmd"))]
        for key in ("outs", "metrics", "plots"):
            for item in _as_list(stage.get(key)):
                path = item if isinstance(item, str) else next(iter(_mapping(item)), None)
                if isinstance(path, str):
                    outs.append(path)
                    if key == "metrics" and path.endswith(".json"):
                        metrics.append(path)
        deps = tuple(str(d) for d in _as_list(stage.get("deps")) if isinstance(d, str))
        source = _where(name, "dvc.yaml")
        tasks.append(Task("dvc", str(name), tuple(commands), source, f"dvc repro {name}", deps))
    return tasks, outs, metrics


# CI ------------------------------------------------------------------------------

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


# Packages, dependencies, Python --------------------------------------------------

_REQUIREMENT = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")
_DEV_NAMES = ("dev", "test", "tests", "testing", "lint", "typing", "check")
_NOT_PACKAGES = frozenset(
    {"tests", "test", "docs", "doc", "scripts", "examples", "notebooks"}
    | {"benchmarks", "src", "build", "dist", "tools", "ci"}
)


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


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


def _dependencies(reader: _Reader, pyproject: dict[str, Any]) -> dict[str, str]:
    """Every declared dependency (normalised name) and the first file that declares it."""
    found: dict[str, str] = {}

    def add(items: Iterable[object], source: str) -> None:
        for item in items:
            match = _REQUIREMENT.match(str(item))
            if match:
                found.setdefault(_normalise(match.group(1)), source)

    declared: list[object] = list(_as_list(_get(pyproject, "project", "dependencies")))
    for group in _mapping(_get(pyproject, "project", "optional-dependencies")).values():
        declared.extend(_as_list(group))
    for group in _mapping(_get(pyproject, "dependency-groups")).values():
        declared.extend(item for item in _as_list(group) if isinstance(item, str))
    for group in _mapping(_get(pyproject, "tool", "pdm", "dev-dependencies")).values():
        declared.extend(_as_list(group))
    for env in _mapping(_get(pyproject, "tool", "hatch", "envs")).values():
        declared.extend(_as_list(_mapping(env).get("dependencies")))
        declared.extend(_as_list(_mapping(env).get("extra-dependencies")))
    poetry = _mapping(_get(pyproject, "tool", "poetry"))
    declared += list(_mapping(poetry.get("dependencies"))) + list(
        _mapping(poetry.get("dev-dependencies"))
    )
    for group in _mapping(poetry.get("group")).values():
        declared.extend(_mapping(_mapping(group).get("dependencies")))
    pixi = _mapping(_get(pyproject, "tool", "pixi"))
    for table in ("dependencies", "pypi-dependencies"):
        declared.extend(_mapping(pixi.get(table)))
    for feature in _mapping(pixi.get("feature")).values():
        for table in ("dependencies", "pypi-dependencies"):
            declared.extend(_mapping(_mapping(feature).get(table)))
    add(declared, "pyproject.toml")
    if "pixi.toml" in reader.files:
        pixi = reader.toml("pixi.toml")
        add(
            [*_mapping(pixi.get("dependencies")), *_mapping(pixi.get("pypi-dependencies"))],
            "pixi.toml",
        )
    for path in _requirement_files(reader.files):
        add((reader.text(path) or "").split("\n"), path)
    conda, pip, _ = _environment(reader)
    add([*conda, *pip], _environment_file(reader) or "")
    for path in ("setup.py", "setup.cfg"):
        text = reader.text(path) or ""
        add(re.findall(r"[\"']([A-Za-z][\w.-]*)\s*(?:[<>=!~;\[][^\"']*)?[\"']", text), path)
        if path == "setup.cfg":
            add((line.strip() for line in text.split("\n") if line.startswith((" ", "\t"))), path)
    return found


def _python_choices() -> tuple[str, ...]:
    from mlrig.answers import QUESTIONS

    return next(q.choices for q in QUESTIONS if q.name == "python_version")


def _allows(spec: str, version: str) -> bool:
    """Whether a requires-python (or poetry ``^3.10``) specifier allows a minor version."""
    from packaging.specifiers import InvalidSpecifier, SpecifierSet

    if not spec.strip():
        return True
    spec = re.sub(r"\^\s*(\d+\.\d+)", r">=\1", spec)
    spec = re.sub(r"~\s*(\d+\.\d+)(?!=)", r"~=\1", spec)
    spec = re.sub(r"(?<![<>=!~])=(?!=)\s*(\d+\.\d+)(\.\*)?", r"==\1.*", spec)
    try:
        allowed = SpecifierSet(spec.replace(" ", "") if "," in spec else spec)
    except InvalidSpecifier:
        return True
    return any(allowed.contains(f"{version}.{patch}", prereleases=True) for patch in (0, 99))


def _python(reader: _Reader, pyproject: dict[str, Any], jobs: Sequence[CiJob]) -> Python:
    choices = _python_choices()
    supported_text = f"mlrig's pipelines run Python {choices[0]}-{choices[-1]}"
    requires = _get(pyproject, "project", "requires-python")
    requires_source = "pyproject.toml [project] requires-python"
    if not isinstance(requires, str):
        requires = _get(pyproject, "tool", "poetry", "dependencies", "python")
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
    build = _get(pyproject, "build-system", "build-backend") or ""
    if "uv.lock" in files:
        return Manager("uv", "uv.lock")
    if "poetry.lock" in files:
        return Manager("poetry", "poetry.lock")
    if _get(pyproject, "tool", "poetry") is not None and (
        "poetry" in build or _get(pyproject, "tool", "poetry", "dependencies")
    ):
        return Manager("poetry", "pyproject.toml [tool.poetry]")
    if "pdm.lock" in files:
        return Manager("pdm", "pdm.lock")
    if _get(pyproject, "tool", "pdm") is not None and "pdm" in build:
        return Manager("pdm", "pyproject.toml [tool.pdm]")
    if _get(pyproject, "tool", "uv") is not None:
        return Manager("uv", "pyproject.toml [tool.uv]")
    if _get(pyproject, "dependency-groups") is not None and not _requirement_files(files):
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
    backend = _get(pyproject, "build-system", "build-backend")
    if isinstance(backend, str) or _get(pyproject, "build-system") is not None:
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


# Stages --------------------------------------------------------------------------

_EXCLUDED = frozenset({"deploy", "cleanup"})
# Files pytest collects by default, in a tests folder.
_TEST_FILE = re.compile(r"(?:.*/)?tests?/(?:.*/)?(?:test_[^/]*|[^/]*_test)\.py")
# Task runners, in the order their tasks are offered when CI has no command for a stage.
_RUNNER_ORDER = ("make", "just", "mise", "pixi", "hatch", "poe", "pdm", "tox", "nox", "invoke")
# Runners not on a CI image: their task's recipe is run instead of the runner.
_RECIPE_RUNNERS = frozenset({"mise", "pixi", "just"})
_STAGE_NAMES = {
    "install": ("install", "setup", "deps", "requirements", "dev", "bootstrap"),
    "lint": ("lint", "check", "style", "static", "typecheck", "format-check"),
    "test": ("test", "tests", "pytest", "unit", "unit-tests", "coverage"),
    "data": ("data", "check-data", "validate-data", "data-check", "validate"),
    "train": ("train", "training", "fit"),
    "evaluate": ("evaluate", "eval", "evaluation", "metrics"),
}
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
_OUT_FLAGS = frozenset(
    {
        "-o",
        "--out",
        "--output",
        "--output-dir",
        "--out-dir",
        "--outdir",
        "--save",
        "--model-out",
        "--junitxml",
        "--summary",
        "--cov-report",
    }
)
_DATA_PATH = re.compile(
    r"[\w./-]+\.(?:csv|tsv|parquet|jsonl?|feather|arrow|npy|npz|pkl|pickle|joblib|h5|txt|yaml|yml|xlsx)"
)


_IMAGE_PUBLISH = re.compile(r"^\S*(?:docker|podman)\s+(?:push|login|logout|tag|manifest)\b")


@dataclass
class _Piece:
    stage: str
    text: str
    source: str
    job: CiJob | None


def _split_command(
    command: Command, classifier: _Classifier
) -> tuple[list[tuple[str, str, int]], bool]:
    """(stage, text, line offset) pieces of one script, and whether it ran a deploy line.

    A script whose lines all belong to one stage is kept whole (as in the source);
    otherwise each stage gets its own lines, with the lines of no stage (``cd``,
    ``export``, ``source``) that come before them.
    """
    lines = _logical_lines(command.text)
    staged: list[tuple[int, str, list[tuple[str | None, str, str]]]] = []
    excluded = False
    for offset, line in lines:
        segments = [
            (classifier.classify(segment), segment, sep) for segment, sep in _segments(line)
        ]
        staged.append((offset, line, segments))
        excluded |= any(stage in _EXCLUDED for stage, _, _ in segments)
    stages = {stage for _, _, segments in staged for stage, _, _ in segments if stage}
    if len(stages) == 1 and not excluded:
        (stage,) = stages
        first = next(o for o, _, segs in staged if any(s for s, _, _ in segs))
        return [(stage, command.text, first)], False
    pieces: dict[str, tuple[int, list[str]]] = {}
    context: list[str] = []
    for offset, line, segments in staged:
        kinds = {stage for stage, _, _ in segments if stage}
        if not kinds:
            context.append(line)
            continue
        if len(kinds) == 1 and not kinds & _EXCLUDED:
            (stage,) = kinds
            pieces.setdefault(stage, (offset, list(context)))[1].append(line)
            continue
        prefix: list[str] = []
        for kind, segment, separator in segments:
            if kind is None:
                if separator in ("&&", ";", ""):
                    prefix.append(segment)
                continue
            if kind in _EXCLUDED:
                continue
            text = " && ".join([*prefix, segment])
            pieces.setdefault(kind, (offset, list(context)))[1].append(text)
    return [(stage, "\n".join(body), offset) for stage, (offset, body) in pieces.items()], excluded


def _offset_source(source: str, offset: int) -> str:
    path, _, line = source.rpartition(":")
    return f"{path}:{int(line) + offset}" if path and line.isdigit() else source


def _job_pieces(job: CiJob, classifier: _Classifier) -> tuple[list[_Piece], set[str], bool]:
    """The stage pieces of a job (merged per stage, in order), what it covers, deploy or not."""
    merged: dict[str, _Piece] = {}
    covers: set[str] = set()
    deploy = job.deploy
    for command in job.commands:
        pieces, excluded = _split_command(command, classifier)
        if excluded:
            kinds = [
                (classifier.classify(segment), segment)
                for _, line in _logical_lines(command.text)
                for segment, _ in _segments(line)
            ]
            if any(kind == "deploy" for kind, _ in kinds):
                covers.add("deploy")
            # Pushing the image it built does not make an image job a deploy job.
            if any(kind == "deploy" and not _IMAGE_PUBLISH.search(seg) for kind, seg in kinds):
                deploy = True
        for _, line in _logical_lines(command.text):
            for segment, _ in _segments(line):
                covers |= classifier.all_stages(segment) - _EXCLUDED
        for stage, text, offset in pieces:
            covers.add(stage)
            source = _offset_source(command.source, offset)
            if stage in merged:
                merged[stage].text += "\n" + text
            else:
                merged[stage] = _Piece(stage, text, source, job)
    for action in job.uses:
        if action in {"docker/build-push-action", "redhat-actions/buildah-build"}:
            covers.add("image")
    if deploy:
        covers = {"deploy"}
    return list(merged.values()), covers, deploy


def _choose_task(tasks: Sequence[Task], stage: str, classifier: _Classifier) -> Task | None:
    fitting = [
        t for t in tasks if t.runner in _RUNNER_ORDER and classifier.recipe_stage(t, 0) == stage
    ]
    if not fitting:
        return None
    fitting.sort(
        key=lambda t: (
            t.name.split(":")[-1] not in _STAGE_NAMES.get(stage, ()),
            _RUNNER_ORDER.index(t.runner),
        )
    )
    return fitting[0]


def _task_command(task: Task) -> str:
    recipe = "\n".join(task.lines)
    # A task that depends only on installing runs as its recipe: the pipeline's install
    # stage has done that part, and the task runner itself need not be on the runner.
    installs_only = all(_name_stage(dep) == "install" for dep in task.depends)
    if task.runner in _RECIPE_RUNNERS and recipe and "{{" not in recipe and installs_only:
        return recipe
    return task.call


# `pipx install TOOL` puts a tool on PATH; a CI image without pipx does the same with pip.
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
        groups = list(_mapping(_get(pyproject, "dependency-groups")))
        extras = list(_mapping(_get(pyproject, "project", "optional-dependencies")))
        words = ["uv", "sync"]
        if "uv.lock" in files:
            words.append("--locked")
        dev = [g for g in groups if g in _DEV_NAMES]
        words += [f"--group {g}" for g in dev] if dev else (["--all-groups"] if groups else [])
        words += [f"--extra {e}" for e in extras if e in _DEV_NAMES]
        return Command(" ".join(words), f"{manager.source} (uv)")
    if name == "poetry":
        groups = [
            g for g in _mapping(_get(pyproject, "tool", "poetry", "group")) if g in _DEV_NAMES
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
        extras = list(_mapping(_get(pyproject, "project", "optional-dependencies")))
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
    installed = {_normalise(m) for m in re.findall(r"[A-Za-z0-9][\w.-]*", text)}
    missing = [
        tool
        for tool in needed
        if _normalise(tool) not in repo_deps and _normalise(tool) not in installed
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


def _check_runnable(
    command: Command,
    classifier: _Classifier,
    packages: Sequence[str],
    repo: _Reader,
    outputs: Sequence[str],
    ignored: Mapping[str, bool],
) -> Command:
    """``command`` with ``runnable``/``why`` set from what it calls and reads."""
    problems: list[str] = []
    for _, line in _logical_lines(command.text):
        for segment, _ in _segments(line):
            words = _words(segment)
            program, args = _program(words)
            call = classifier.task_call(program, args)
            if call:
                runner, names = call
                known = {n for r, n in classifier.tasks if r == runner}
                if runner in {"tox", "nox"} and not known:
                    problems.append(f"{runner} has no configuration in the repository")
                for name in names:
                    if known and name not in known:
                        problems.append(f"{runner} has no task {name!r}")
                    elif not known and runner not in {"tox", "nox"}:
                        problems.append(f"there is no {runner} configuration with task {name!r}")
            if program.startswith("-m "):
                module = program[3:]
                top = module.split(".")[0]
                if top in packages and not _module_exists(module, repo.files):
                    problems.append(f"module {module} is not in the repository")
            if (
                program.startswith("py ")
                and program[3:] not in repo.files
                and not program[3:].startswith(("$", "/"))
            ):
                problems.append(f"{program[3:]} is not in the repository")
            for index, word in enumerate(args):
                previous = args[index - 1] if index else ""
                value = word.split("=", 1)[1] if word.startswith("--") and "=" in word else word
                if (
                    previous in _OUT_FLAGS
                    or word.split("=", 1)[0] in _OUT_FLAGS
                    or value.startswith(("-", "$", "/", "~"))
                ):
                    continue
                if not _DATA_PATH.fullmatch(value) or ("/" not in value and "." not in value):
                    continue
                path = os.path.normpath(value)
                if path in repo.files or any(
                    path == o or path.startswith(o.rstrip("/") + "/") for o in outputs
                ):
                    continue
                if ignored.get(path):
                    problems.append(
                        f"it reads {path}, which git ignores (a CI checkout does not have it)"
                    )
                elif "/" in path and any(
                    f.startswith(path.rsplit("/", 1)[0] + "/") for f in repo.files
                ):
                    problems.append(f"it reads {path}, which is not in the repository")
    if not problems:
        return command
    why = "; ".join(dict.fromkeys(problems))
    return Command(command.text, command.source, False, why)


def _module_exists(module: str, files: frozenset[str]) -> bool:
    path = module.replace(".", "/")
    return any(
        f"{prefix}{path}{suffix}" in files
        for prefix in ("", "src/")
        for suffix in (".py", "/__init__.py", "/__main__.py")
    )


def _input_paths(texts: Iterable[str]) -> list[str]:
    found: list[str] = []
    for text in texts:
        for word in re.findall(r"[\w./-]+", text):
            if _DATA_PATH.fullmatch(word) and not word.startswith(("-", "/")):
                found.append(os.path.normpath(word))
    return found


def scan(root: Path, listing: RepoFiles | None = None) -> Repo:
    """The model of the repository at ``root`` (see the module docstring); never raises
    for content: unreadable files are skipped, unparsable pipelines are in ``ci_problems``.

    ``listing`` is :func:`list_files` of ``root`` when the caller already has it.
    """
    root = Path(os.path.abspath(root))
    listing = listing or list_files(root)
    files = frozenset(listing.all)
    reader = _Reader(root, files)
    pyproject = reader.toml("pyproject.toml")

    tasks = [
        *_make_tasks(reader),
        *_just_tasks(reader),
        *_pyproject_tasks(reader, pyproject),
        *_tox_tasks(reader, pyproject),
        *_python_tasks(reader, "nox", "noxfile.py"),
        *_python_tasks(reader, "invoke", "tasks.py"),
    ]
    dvc_tasks, dvc_outs, dvc_metrics = _dvc_stages(reader)
    scripts = {str(k): str(v) for k, v in _mapping(_get(pyproject, "project", "scripts")).items()}
    classifier = _Classifier([*tasks, *dvc_tasks], scripts, reader)

    ci = _Ci()
    github = sorted(f for f in files if _GITHUB.fullmatch(f))
    for path in github:
        ci.files.append(path)
        _github(reader, path, ci)
    if _GITLAB in files:
        ci.files.append(_GITLAB)
        _gitlab(reader, ci)
    for path, provider in _OTHER_CI.items():
        if path in files:
            ci.files.append(path)
            _other_ci(reader, path, provider, ci)
    ci.providers = [p for p, found in (("github", github), ("gitlab", _GITLAB in files)) if found]
    ci.providers += sorted({_OTHER_CI[f] for f in ci.files if f in _OTHER_CI})
    # A GitLab include that runs on a schedule schedules the pipeline it belongs to.
    for path in ci.files:
        included = path not in (_GITLAB, *github, *_OTHER_CI)
        if included and _SCHEDULE_TEXT.search(reader.text(path) or "") and path not in ci.scheduled:
            ci.scheduled.append(path)

    jobs: list[CiJob] = []
    pieces: dict[str, list[_Piece]] = {}
    for job in ci.jobs:
        job_pieces, covers, deploy = _job_pieces(job, classifier)
        jobs.append(
            CiJob(
                job.provider,
                job.file,
                job.name,
                job.stage,
                job.triggers,
                job.scheduled,
                job.on_schedule,
                deploy,
                job.commands,
                job.pythons,
                tuple(s for s in STAGES if s in covers),
                job.uses,
            )
        )
        if not deploy:
            for piece in job_pieces:
                piece.job = jobs[-1]
                pieces.setdefault(piece.stage, []).append(piece)

    manager = _manager(reader, pyproject)
    build = _build(reader, pyproject)
    layout, packages = _layout(files)
    python = _python(reader, pyproject, jobs)
    dependencies = _dependencies(reader, pyproject)

    candidates: dict[str, list[Command]] = {stage: [] for stage in STAGES}
    job_of: dict[int, CiJob | None] = {}
    for stage in STAGES:
        for piece in pieces.get(stage, []):
            command = Command(piece.text, piece.source)
            job_of[id(command)] = piece.job
            candidates[stage].append(command)
        if stage in _STAGE_NAMES or stage == "monitor":
            task = _choose_task([*tasks], stage, classifier)
            if task is not None:
                candidates[stage].append(Command(_task_command(task), task.source))
    if dvc_tasks:
        candidates["train"].append(Command("dvc repro", "dvc.yaml"))
        for task in dvc_tasks:
            if classifier.recipe_stage(task, 0) == "data":
                candidates["data"].append(Command(task.call, task.source))
    for name, target in scripts.items():
        script_stage = _by_name(name) or _by_name(target.rpartition(":")[2])
        if script_stage in candidates and script_stage not in _EXCLUDED:
            at = _line_of(
                reader.text("pyproject.toml") or "", rf"^[ \t]*\"?{re.escape(name)}\"?\s*="
            )
            candidates[script_stage].append(Command(name, f"pyproject.toml:{at}"))

    test_files = sorted(f for f in files if _TEST_FILE.fullmatch(f))
    if "pytest" in dependencies and test_files:
        # The last resort: pytest is declared and finds tests in the usual places.
        candidates["test"].append(
            Command("python -m pytest", f"{dependencies['pytest']} (pytest), {test_files[0]}")
        )

    usable = _valid_first(candidates)
    stages: dict[str, Command] = {}
    for stage in ("lint", "test", "data", "train", "evaluate", "image", "monitor"):
        if usable[stage]:
            stages[stage] = usable[stage][0]
    test_job = job_of.get(id(stages["test"])) if "test" in stages else None
    lint_job = job_of.get(id(stages["lint"])) if "lint" in stages else None
    if test_job is not None or lint_job is not None:
        # The install sequence of the job whose commands were chosen is what they need.
        wanted = [job for job in (test_job, lint_job) if job is not None]
        install = None
        for job in wanted:
            steps = [c for c in usable["install"] if job_of.get(id(c)) is job]
            if steps:
                install = _whole_install(steps)
                break
    else:
        install = next(iter(usable["install"]), None)
    if install is None:
        install = _install(reader, pyproject, manager, build)
    elif manager.source in ("", "pyproject.toml", "setup.py", "setup.cfg", "Pipfile"):
        # No lock file decides: the manager the repository's CI installs with does.
        for name, pattern in (
            ("uv", r"\buv (?:sync|pip)\b"),
            ("poetry", r"\bpoetry install\b"),
            ("pdm", r"\bpdm (?:install|sync)\b"),
        ):
            if re.search(pattern, install.text):
                manager = Manager(name, install.source)
                break
    needed = _tools([stages[s].text for s in ("lint", "test") if s in stages], classifier)
    if dvc_tasks and any("dvc" in stages[s].text for s in ("train", "data") if s in stages):
        needed.append("dvc")
    install = _with_tools(install, needed, dependencies, manager)
    if install is not None:
        stages["install"] = install
    deploy_jobs = [job for job in jobs if job.deploy]
    if deploy_jobs:
        first = deploy_jobs[0]
        stages["deploy"] = Command(
            f": {first.name}",
            f"{first.file} job {first.name}",
            False,
            f"the repository's own deploy job{'s' if len(deploy_jobs) > 1 else ''} "
            f"({', '.join(j.name for j in deploy_jobs)}): mlrig never runs them",
        )

    outputs = [*dvc_outs]
    for command in stages.values():
        for _, line in _logical_lines(command.text):
            words = _words(line)
            outputs += [
                os.path.normpath(w) for p, w in itertools.pairwise(words) if p in _OUT_FLAGS
            ]
    probe = [p for p in _input_paths(c.text for c in stages.values()) if p not in files]
    listing_git = listing.git
    temp = Repo(
        root,
        files,
        frozenset(listing.tracked),
        layout,
        packages,
        build,
        manager,
        python,
        (),
        (),
        (),
        (),
        (),
        0,
        (),
        {},
        {},
        {},
        {},
        None,
        git=listing_git,
    )
    ignored = temp.ignored_paths(probe) if probe else {}
    for stage, command in list(stages.items()):
        if stage != "deploy":
            stages[stage] = _check_runnable(command, classifier, packages, reader, outputs, ignored)

    metrics = _metrics_file([stages[s] for s in ("evaluate", "train") if s in stages], dvc_metrics)
    missing = {
        stage: _missing(stage, manager.name)
        for stage in ("install", "lint", "test", "data", "train", "evaluate")
        if stage not in stages
    }
    return Repo(
        root=root,
        files=files,
        tracked=frozenset(listing.tracked),
        layout=layout,
        packages=packages,
        build=build,
        package_manager=manager,
        python=python,
        task_runners=tuple(tasks),
        ci_providers=tuple(ci.providers),
        ci_files=tuple(ci.files),
        ci_jobs=tuple(jobs),
        ci_problems=tuple(ci.problems),
        remote_includes=ci.remote,
        scheduled=tuple(dict.fromkeys(ci.scheduled)),
        stages={stage: stages[stage] for stage in STAGES if stage in stages},
        missing=missing,
        dependencies=dependencies,
        pyproject=pyproject,
        metrics_file=metrics,
        _ignored=temp._ignored,
        git=listing_git,
        unread=tuple(sorted(reader.unread.items())),
    )


# An example command per stage: what a user would write to turn a stage on.
_EXAMPLES = {
    "install": "pip install -r requirements.txt",
    "lint": "ruff check .",
    "test": "pytest -q",
    "data": "python scripts/check_data.py",
    "train": "python train.py --smoke",
    "evaluate": "python evaluate.py",
}
_INSTALL_EXAMPLES = {"uv": "uv sync", "poetry": "poetry install", "pdm": "pdm install"}


def _valid_first(candidates: Mapping[str, list[Command]]) -> dict[str, list[Command]]:
    """The candidates of each stage without GitHub expressions (they run only inside
    GitHub), and with every one that fails ``bash -n`` dropped up to the first valid one.
    Only leading candidates are checked (one bash process per round)."""
    usable = {s: [c for c in cs if "${{" not in c.text] for s, cs in candidates.items()}
    checked: dict[str, bool] = {}
    for _ in range(8):
        heads = [cs[0].text for cs in usable.values() if cs and cs[0].text not in checked]
        if not heads:
            break
        checked.update(bash_valid(heads))
        usable = {s: [c for c in cs if checked.get(c.text, True)] for s, cs in usable.items()}
    return usable


def left_out(stage: str, manager: str = "") -> tuple[str, str]:
    """Why a command stage (install ... evaluate) is left out when the repository has no
    command for it, and the ``-d KEY=VALUE`` that turns it on, with an example value (for
    install, the package ``manager``'s own). The one home of this text: the model's
    ``missing``, the inference and adopt's output all use it."""
    example = _INSTALL_EXAMPLES.get(manager, "") if stage == "install" else ""
    return (
        f"no {stage} command found",
        f"-d {stage}_command={shlex.quote(example or _EXAMPLES[stage])}",
    )


def _missing(stage: str, manager: str) -> str:
    reason, flag = left_out(stage, manager)
    return f"{reason}; {flag} turns it on"


def _metrics_file(commands: Sequence[Command], dvc_metrics: Sequence[str]) -> Command | None:
    for command in commands:
        for match in re.finditer(
            r"(?:^|\s)(?:--metrics(?:[-_]\w+)?[=\s]+)?([\w./-]*metrics[\w./-]*\.json)", command.text
        ):
            return Command(match.group(1), command.source)
    if dvc_metrics:
        return Command(dvc_metrics[0], "dvc.yaml")
    return None
