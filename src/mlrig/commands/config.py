"""``mlrig config show``: the effective organisation defaults and where each came from."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from mlrig.config import load_config, repo_config_path, user_config_path

__all__ = ["ConfigEntry", "ConfigShowResult", "show_config"]


@dataclass(frozen=True)
class ConfigEntry:
    """One effective setting: its key, its value, and the file that set it (or "default")."""

    key: str
    value: object
    origin: str


@dataclass(frozen=True)
class ConfigShowResult:
    """The effective settings for a directory, and the files that were looked for."""

    entries: tuple[ConfigEntry, ...]
    #: The user config file (``$MLRIG_CONFIG`` or the XDG one) and the repository's
    #: ``.mlrig.yml``, whether or not they exist, lowest precedence first.
    searched: tuple[Path, ...]
    #: The ones that exist and were read.
    read: tuple[Path, ...]

    def as_dict(self) -> dict[str, object]:
        """A JSON-ready view: ``{"settings": {key: {value, origin}}, "files": [...]}``."""
        return {
            "settings": {e.key: {"value": e.value, "origin": e.origin} for e in self.entries},
            "searched": [str(path) for path in self.searched],
            "read": [str(path) for path in self.read],
        }


def show_config(start: Path) -> ConfigShowResult:
    """The effective config for ``start`` (a directory), one entry per setting.

    ``template`` is ``None`` (the built-in template) and ``trusted_prefixes`` empty
    when no file sets them; each preset answer is its own ``answers.NAME`` entry.
    Raises :class:`~mlrig.errors.InvalidInputError` for a bad config file.
    """
    config = load_config(start)
    entries = [
        ConfigEntry("template", config.template, config.origin("template")),
        *(
            ConfigEntry(f"answers.{name}", value, config.origin(f"answers.{name}"))
            for name, value in sorted(config.answers.items())
        ),
        ConfigEntry(
            "trusted_prefixes", list(config.trusted_prefixes), config.origin("trusted_prefixes")
        ),
    ]
    searched = (user_config_path()[0], repo_config_path(Path(os.path.abspath(start))))
    return ConfigShowResult(tuple(entries), searched, config.files)
