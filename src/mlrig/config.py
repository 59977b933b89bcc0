"""Organisation defaults: which template to use, preset answers, trusted templates.

Two YAML files are read, the later one winning key by key:

1. the user file, ``$XDG_CONFIG_HOME/mlrig/config.yml`` (``~/.config/mlrig/config.yml``
   by default), or instead the file named by ``$MLRIG_CONFIG`` (which must exist);
2. ``.mlrig.yml`` at the root of the git repository that holds the working
   directory (or in the directory itself when it is not in a repository).

Each file may hold these keys, all optional::

    template: gh:acme/ml-template@v2.1.0   # SRC[@REF], as for `mlrig new --template`
    answers:                               # preset answers, asked no more
      ci_provider: gitlab
    trusted_prefixes:                      # user file only: templates that may run code
      - https://github.com/acme/

A prefix ending in ``/`` trusts every template under it; any other entry trusts
exactly that template. A repository's ``.mlrig.yml`` cannot list trusted
prefixes: cloning a repository must never be enough to run its template's code.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

from mlrig._copier import is_trusted
from mlrig._git import git
from mlrig.errors import EnvironmentProblem, InvalidInputError
from mlrig.templates import git_url, is_local_spec

__all__ = [
    "DEFAULT",
    "REPO_FILE",
    "Config",
    "load_config",
    "repo_config_path",
    "user_config_path",
]

REPO_FILE = ".mlrig.yml"
#: The origin of a value that no config file set.
DEFAULT = "default"
_KEYS = ("template", "answers", "trusted_prefixes")


@dataclass(frozen=True)
class Config:
    """The effective configuration, and where each value came from."""

    #: ``SRC[@REF]`` of the default template, or ``None`` for the built-in one. A
    #: relative path in a config file is resolved against that file's directory.
    template: str | None = None
    #: Preset answers, by question name.
    answers: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))
    trusted_prefixes: tuple[str, ...] = ()
    #: Origin of each value: ``"template"``, ``"trusted_prefixes"`` and
    #: ``"answers.NAME"`` map to the config file that set them; absent means default.
    origins: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    #: The config files that exist and were read, lowest precedence first.
    files: tuple[Path, ...] = ()

    def origin(self, key: str) -> str:
        """Where ``key`` (e.g. ``"template"`` or ``"answers.framework"``) came from."""
        return self.origins.get(key, DEFAULT)

    def is_trusted(self, url: str) -> bool:
        """Whether the template at ``url`` may run tasks, migrations and Jinja extensions.

        ``url`` matches an entry ending in ``/`` that it is under, or an entry equal
        to it; both the URL as given and as git sees it (``gh:`` expanded, ``git+``
        dropped) are compared. copier's own trust check decides: ``.`` and ``..``
        segments are resolved first (git resolves them too, so ``acme/../evil``
        is not under ``acme/``), and a URL whose path holds anything else than
        plain characters (``%2e%2e``, ``@``...) matches an entry only when equal to it.
        """
        return any(
            is_trusted(self.trusted_prefixes, candidate) for candidate in {url, git_url(url)}
        )


def user_config_path() -> tuple[Path, bool]:
    """The user config file, and whether ``$MLRIG_CONFIG`` named it (so it must exist)."""
    named = os.environ.get("MLRIG_CONFIG")
    if named:
        return Path(os.path.abspath(os.path.expanduser(named))), True
    base = os.environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return Path(base) / "mlrig" / "config.yml", False


def repo_config_path(start: Path) -> Path:
    """``.mlrig.yml`` at the root of the git repository holding ``start`` (or beside it).

    ``start`` need not exist; its nearest existing parent is used.
    """
    return _repo_root(_existing(Path(os.path.abspath(start)))) / REPO_FILE


def load_config(start: Path) -> Config:
    """Read the user config and the ``.mlrig.yml`` of the repository holding ``start``.

    ``start`` need not exist (a destination to be created); its nearest existing
    parent is used. Raises :class:`InvalidInputError` naming the file (and key)
    for a missing ``$MLRIG_CONFIG`` file, bad YAML, duplicate or unknown keys,
    and values of the wrong type.
    """
    user_file, required = user_config_path()
    layers: list[tuple[Path, dict[str, object]]] = []
    # exists(), not is_file(): a FIFO or device in a config file's place is refused by
    # the reader rather than silently skipped.
    if required and not user_file.exists():
        raise InvalidInputError(
            f"config file {user_file} named by MLRIG_CONFIG does not exist; "
            "fix the path or unset MLRIG_CONFIG"
        )
    if user_file.exists():
        layers.append((user_file, _read(user_file, repo=False)))
    repo_file = repo_config_path(start)
    if repo_file.exists() and repo_file != user_file:
        layers.append((repo_file, _read(repo_file, repo=True)))

    template: str | None = None
    answers: dict[str, object] = {}
    trusted: tuple[str, ...] = ()
    origins: dict[str, str] = {}
    for path, data in layers:
        if "template" in data:
            template = _resolve_template(str(data["template"]), path)
            origins["template"] = str(path)
        if "trusted_prefixes" in data:
            trusted = tuple(str(p) for p in _list(data["trusted_prefixes"]))
            origins["trusted_prefixes"] = str(path)
        for key, value in _mapping(data.get("answers", {})).items():
            answers[key] = value
            origins[f"answers.{key}"] = str(path)
    return Config(
        template=template,
        answers=MappingProxyType(answers),
        trusted_prefixes=trusted,
        origins=MappingProxyType(origins),
        files=tuple(path for path, _ in layers),
    )


def _list(value: object) -> list[object]:
    return value if isinstance(value, list) else []


def _mapping(value: object) -> dict[str, object]:
    return {str(k): v for k, v in value.items()} if isinstance(value, dict) else {}


def _existing(path: Path) -> Path:
    while not path.exists() and path != path.parent:
        path = path.parent
    return path if path.is_dir() else path.parent


def _repo_root(directory: Path) -> Path:
    try:
        proc = git(directory, "rev-parse", "--show-toplevel")
    except EnvironmentProblem:  # no git: then no repository either
        return directory
    return Path(proc.text) if proc.ok and proc.text else directory


def _resolve_template(spec: str, config_file: Path) -> str:
    if not is_local_spec(spec):
        return spec
    path = Path(os.path.expanduser(spec))
    return spec if path.is_absolute() else str(config_file.parent / path)


def _read(path: Path, *, repo: bool) -> dict[str, object]:
    """Parse and type-check one config file (bounded: see :mod:`mlrig._files`)."""
    from mlrig._files import read_text
    from mlrig._yaml import load as load_yaml

    what = f"config file {path}"
    # A cloned repository must not make mlrig read (and quote, in an error) a file
    # elsewhere on the machine: its config is read only inside it.
    data = load_yaml(read_text(path, what=what, root=path.parent if repo else None), what=what)
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise InvalidInputError(
            f"config file {path} must be a YAML mapping with keys {', '.join(_KEYS)}"
        )
    unknown = sorted(str(key) for key in data if key not in _KEYS)
    if unknown:
        raise InvalidInputError(
            f"config file {path}: unknown key {', '.join(map(repr, unknown))}; "
            f"the keys are: {', '.join(_KEYS)}"
        )
    template = data.get("template")
    if "template" in data and not (isinstance(template, str) and template.strip()):
        raise InvalidInputError(
            f"config file {path}: template must be a template SRC[@REF] (text), e.g. "
            "gh:acme/ml-template@v1.0.0"
        )
    answers = data.get("answers", {})
    if not isinstance(answers, dict):
        raise InvalidInputError(
            f"config file {path}: answers must be a mapping of question: answer"
        )
    for name, value in answers.items():
        if not isinstance(name, str):
            raise InvalidInputError(f"config file {path}: answers key {name!r} must be text")
        if not isinstance(value, (str, bool, int, float, list, dict)):
            raise InvalidInputError(
                f"config file {path}: answers.{name} must be text, a number, yes/no, a list "
                f"or a mapping, not {type(value).__name__}; quote it"
            )
    if "trusted_prefixes" in data:
        if repo:
            raise InvalidInputError(
                f"config file {path}: trusted_prefixes is allowed only in the user config "
                f"({user_config_path()[0]}), since a repository must not be able to trust "
                "code on your behalf; move it there"
            )
        prefixes = data["trusted_prefixes"]
        if not (isinstance(prefixes, list) and all(isinstance(p, str) and p for p in prefixes)):
            raise InvalidInputError(
                f"config file {path}: trusted_prefixes must be a list of URLs or URL prefixes"
            )
    return {str(key): value for key, value in data.items()}
